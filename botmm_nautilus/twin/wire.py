"""Wire-format helpers: number formatting and request parsing (pure, no I/O).

Hyperliquid sends every price, size and USD amount as a decimal *string*. The twin computes with
``Decimal`` and formats like the venue: integral values keep one decimal (``"113377.0"``), others
use the shortest exact form (``"0.0147"``). USD amounts are booked at 1e-6 (USDC's precision).

Parsing raises :class:`DeserializeError` for bodies that do not fit the request type; the server
turns that into HTTP 422 ``Failed to deserialize the JSON body into the target type: ...`` (the
venue's reply to undeserializable bodies).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any

USD_QUANTUM = Decimal("0.000001")
PX_QUANTUM = Decimal("0.00000001")
ZERO = Decimal(0)
ZERO_ADDRESS = "0x" + "0" * 40
ZERO_HASH = "0x" + "0" * 64

_ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
_CLOID_RE = re.compile(r"^0x[0-9a-fA-F]{32}$")

DESERIALIZE_PREFIX = "Failed to deserialize the JSON body into the target type: "


class DeserializeError(ValueError):
    """The body does not deserialize into the request type (HTTP 422 on the venue)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    @property
    def http_text(self) -> str:
        return DESERIALIZE_PREFIX + self.detail


# ----------------------------------------------------------------------------------- formatting


def fmt_decimal(value: Decimal | int) -> str:
    """Venue style: ``Decimal("100000") -> "100000.0"``, ``Decimal("0.01470") -> "0.0147"``."""
    d = Decimal(value)
    if d.is_zero():
        return "0.0"
    text = format(d.normalize(), "f")
    if "." not in text:
        text += ".0"
    return text


def fmt_plain(value: Decimal | int) -> str:
    """Shortest form without a forced decimal (``"90901"``), used inside error messages."""
    d = Decimal(value)
    if d.is_zero():
        return "0"
    return format(d.normalize(), "f")


def fmt_usd(value: Decimal) -> str:
    return fmt_decimal(quantize_usd(value))


def quantize_usd(value: Decimal) -> Decimal:
    return Decimal(value).quantize(USD_QUANTUM, rounding=ROUND_HALF_EVEN)


def quantize_px(value: Decimal) -> Decimal:
    return Decimal(value).quantize(PX_QUANTUM, rounding=ROUND_HALF_EVEN)


def decimal_places(value: Decimal) -> int:
    exp = value.normalize().as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def to_decimal(value: Any) -> Decimal | None:
    """A wire number (string, or int) as Decimal; ``None`` when it is not a finite number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, str)):
        try:
            d = Decimal(value)
        except (InvalidOperation, ValueError):
            return None
        return d if d.is_finite() else None
    if isinstance(value, float):
        return Decimal(repr(value))
    return None


# ----------------------------------------------------------------------------------- validation


def is_address(value: Any) -> bool:
    return isinstance(value, str) and bool(_ADDRESS_RE.match(value))


def is_cloid(value: Any) -> bool:
    return isinstance(value, str) and bool(_CLOID_RE.match(value))


def json_type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{str(value).lower()}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value}`"
    if isinstance(value, str):
        return f'string "{value}"'
    if isinstance(value, list):
        return "a sequence"
    if isinstance(value, dict):
        return "a map"
    return type(value).__name__


def require_field(body: dict, name: str) -> Any:
    if name not in body:
        raise DeserializeError(f"missing field `{name}`")
    return body[name]


def require_str(body: dict, name: str) -> str:
    value = require_field(body, name)
    if not isinstance(value, str):
        raise DeserializeError(f"invalid type: {json_type_name(value)}, expected a string for `{name}`")
    return value


def require_address(body: dict, name: str = "user") -> str:
    value = require_str(body, name)
    if not is_address(value):
        raise DeserializeError(f"invalid value: string \"{value}\", expected a 0x-prefixed 40-hex-digit address for `{name}`")
    return value.lower()


def require_int(body: dict, name: str, *, optional: bool = False, default: int | None = None) -> int | None:
    if name not in body or body[name] is None:
        if optional:
            return default
        raise DeserializeError(f"missing field `{name}`")
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise DeserializeError(f"invalid type: {json_type_name(value)}, expected u64 for `{name}`")
    if value < 0:
        raise DeserializeError(f"invalid value: integer `{value}`, expected u64 for `{name}`")
    return value


def require_bool(body: dict, name: str) -> bool:
    value = require_field(body, name)
    if not isinstance(value, bool):
        raise DeserializeError(f"invalid type: {json_type_name(value)}, expected a boolean for `{name}`")
    return value


def bad_l2_aggregation(n_sig_figs: Any, mantissa: Any) -> str | None:
    """The invalid one of an l2Book request's ``nSigFigs`` (2..5 or null) and ``mantissa`` (1, 2 or 5,
    only with ``nSigFigs`` 5), or None if both are fine (``/info`` and WebSocket subscriptions alike)."""
    if n_sig_figs is not None and (not isinstance(n_sig_figs, int) or isinstance(n_sig_figs, bool) or not 2 <= n_sig_figs <= 5):
        return "nSigFigs"
    if mantissa is not None and (mantissa not in (1, 2, 5) or n_sig_figs != 5):
        return "mantissa"
    return None


# ----------------------------------------------------------------------------------- order wire


@dataclass(frozen=True)
class OrderWire:
    """One order of an ``order``/``modify`` action as sent (``a, b, p, s, r, t, c``)."""

    asset: int
    is_buy: bool
    price_text: str
    size_text: str
    reduce_only: bool
    tif: str | None  # "Alo" | "Gtc" | "Ioc" | "FrontendMarket"; None for trigger orders
    is_trigger: bool
    cloid: str | None

    @property
    def side(self) -> str:
        return "B" if self.is_buy else "A"


VALID_TIFS = ("Alo", "Gtc", "Ioc", "FrontendMarket")


def parse_order_wire(raw: Any) -> OrderWire:
    if not isinstance(raw, dict):
        raise DeserializeError(f"invalid type: {json_type_name(raw)}, expected struct OrderWire")
    asset = require_int(raw, "a")
    is_buy = require_bool(raw, "b")
    price_text = require_str(raw, "p")
    size_text = require_str(raw, "s")
    reduce_only = require_bool(raw, "r")
    order_type = require_field(raw, "t")
    tif: str | None = None
    is_trigger = False
    if not isinstance(order_type, dict) or len(order_type) != 1:
        raise DeserializeError("invalid value: expected an order type `limit` or `trigger` for `t`")
    if "limit" in order_type:
        limit = order_type["limit"]
        if not isinstance(limit, dict):
            raise DeserializeError("invalid type for `t.limit`, expected struct Limit")
        tif = require_str(limit, "tif")
        if tif not in VALID_TIFS:
            raise DeserializeError(f"unknown variant `{tif}`, expected one of `Alo`, `Ioc`, `Gtc`, `FrontendMarket`")
    elif "trigger" in order_type:
        is_trigger = True
    else:
        key = next(iter(order_type))
        raise DeserializeError(f"unknown variant `{key}`, expected `limit` or `trigger`")
    cloid = raw.get("c")
    if cloid is not None and not is_cloid(cloid):
        raise DeserializeError(f"invalid value: {json_type_name(cloid)}, expected a 16-byte hex cloid for `c`")
    return OrderWire(asset, is_buy, price_text, size_text, reduce_only, tif, is_trigger, cloid.lower() if cloid else None)


def parse_oid_or_cloid(value: Any, field: str = "oid") -> int | str:
    if isinstance(value, bool):
        raise DeserializeError(f"invalid type: {json_type_name(value)}, expected an oid or cloid for `{field}`")
    if isinstance(value, int) and value >= 0:
        return value
    if is_cloid(value):
        return value.lower()
    raise DeserializeError(f"invalid value: {json_type_name(value)}, expected an oid or cloid for `{field}`")


def parse_list(body: dict, name: str) -> list:
    value = require_field(body, name)
    if not isinstance(value, list):
        raise DeserializeError(f"invalid type: {json_type_name(value)}, expected a sequence for `{name}`")
    return value
