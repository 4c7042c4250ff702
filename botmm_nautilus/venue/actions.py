"""Hyperliquid ``/exchange`` actions and their answers: order wires, the action builders, client
order ids (cloids), per-item statuses and the venue's error texts.

Actions are signed as msgpack of the exact dicts built here (``venue.signing``), so key order
matters: an order wire is ``a, b, p, s, r, t, c``; prices and sizes are plain decimal strings
without exponent or trailing zeros (``"100000"``, ``"0.0015"``).
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from typing import Final

from botmm_nautilus.venue.errors import ExchangeActionError

# Per-order error texts the venue answers (each followed by details, e.g. ", bbo was 1@2. asset=0").
POST_ONLY_WOULD_MATCH: Final[str] = "Post only order would have immediately matched"
MISSING_ORDER: Final[str] = "Order was never placed, already canceled, or filled"
CANNOT_MODIFY: Final[str] = "Cannot modify canceled or filled order"
# a modify is a cancel and a new order: the cancel went through, the new order was refused (reason follows)
MODIFY_REPLACE_FAILED: Final[str] = "Error placing new order during modify"
# An order whose cloid is already held by one of the account's OPEN orders is refused. [UNCERTAIN]
# The venue's documentation does not state what it does with a reused cloid, nor the text; the
# sources found (Hyperliquid docs "Exchange endpoint": cloid = "an optional 128 bit hex string";
# third-party integrations' submit protocols that resolve a "duplicate cloid" rejection through
# orderStatus, and state that the check guards open orders only, a cloid of a filled or canceled
# order being accepted again as a new order) agree on this rule; the text is ours. Clients must
# therefore never rely on the venue to refuse a resend: a cloid whose first order already filled
# (an IOC) or was canceled would be placed again.
DUPLICATE_CLOID: Final[str] = "Order has a duplicate cloid"
# Whole-action error for an action processed after its signed ``expiresAfter`` (ms) [UNCERTAIN text;
# integrators match "expired"]. Such a refusal costs the address 5 requests per item.
ACTION_EXPIRED: Final[str] = "Action expired"

_CLOID_RE = re.compile(r"^0x[0-9a-f]{32}$")


# ------------------------------------------------------------------------------------ cloids
def is_cloid(text: str | None) -> bool:
    """``0x`` + 32 lower-case hex digits (16 bytes)."""
    return bool(text) and _CLOID_RE.match(text) is not None


def cloid_for(client_order_id: str) -> str:
    """Deterministic 16-byte cloid (``0x`` + 32 hex) of a client order id; a cloid maps to itself.

    Orders recovered from the venue without a local id get the cloid itself as their client order
    id, so the mapping is stable across restarts.
    """
    text = str(client_order_id)
    if is_cloid(text):
        return text
    return "0x" + hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


# ------------------------------------------------------------------------------------ actions
def decimal_to_wire(value) -> str:
    """Plain decimal string without exponent or trailing zeros (``"100000"``, ``"0.0015"``)."""
    d = Decimal(str(value))
    if d == d.to_integral_value():
        return str(d.quantize(Decimal(1)))
    return format(d.normalize(), "f")


def order_wire(asset: int, is_buy: bool, px, sz, reduce_only: bool, tif: str, cloid: str | None) -> dict:
    """Order wire in the exact key order ``a, b, p, s, r, t, c``; ``tif``: ``Alo``, ``Gtc`` or ``Ioc``."""
    wire = {"a": asset, "b": is_buy, "p": decimal_to_wire(px), "s": decimal_to_wire(sz), "r": reduce_only,
            "t": {"limit": {"tif": tif}}}
    if cloid is not None:
        wire["c"] = cloid
    return wire


def order_action(wires: list[dict]) -> dict:
    return {"type": "order", "orders": wires, "grouping": "na"}


def batch_modify_action(modifies: list[tuple[int | str, dict]]) -> dict:
    """``(oid or cloid, new order wire)`` pairs."""
    return {"type": "batchModify", "modifies": [{"oid": oid, "order": w} for oid, w in modifies]}


def cancel_action(cancels: list[tuple[int, int]]) -> dict:
    """``(asset, oid)`` pairs."""
    return {"type": "cancel", "cancels": [{"a": a, "o": o} for a, o in cancels]}


def cancel_by_cloid_action(cancels: list[tuple[int, str]]) -> dict:
    """``(asset, cloid)`` pairs."""
    return {"type": "cancelByCloid", "cancels": [{"asset": a, "cloid": c} for a, c in cancels]}


def schedule_cancel_action(deadline_ms: int | None) -> dict:
    """The dead-man's switch: cancel every open order at ``deadline_ms`` (venue time); None clears it."""
    action: dict = {"type": "scheduleCancel"}
    if deadline_ms is not None:
        action["time"] = int(deadline_ms)
    return action


# ------------------------------------------------------------------------------------ answers
def response_statuses(resp) -> list:
    """Per-item statuses of an ``order``/``cancel``/``batchModify`` answer (``{"resting": {...}}``,
    ``{"filled": {...}}``, ``"success"`` or ``{"error": text}``).

    A whole-action error (``{"status": "err", "response": text}``) raises ``ExchangeActionError``.
    """
    if not isinstance(resp, dict) or resp.get("status") != "ok":
        text = resp.get("response") if isinstance(resp, dict) else resp
        raise ExchangeActionError(str(text))
    inner = resp.get("response") or {}
    data = inner.get("data") if isinstance(inner, dict) else None
    if not data:
        return []
    return list(data.get("statuses") or [])


def error_text(status) -> str | None:
    """The venue's error text of one item status, None when it is not an error."""
    if isinstance(status, dict) and "error" in status:
        return str(status["error"])
    return None


def is_post_only_reject(text: str | None) -> bool:
    """An ALO (post-only) order refused because it would have taken liquidity."""
    return bool(text) and POST_ONLY_WOULD_MATCH in text
