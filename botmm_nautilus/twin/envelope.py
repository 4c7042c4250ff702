"""``POST /exchange`` bodies and replies: the signed envelope, the typed action inside it, the reply shapes.

:func:`parse_envelope` checks the body the way the venue's deserializer does (an error is a
:class:`~.wire.DeserializeError`: HTTP 422 with the venue's text) and types the action's content
(:func:`parse_action`); nothing here looks at accounts, signatures or nonces (``auth`` does).
A rejection of a whole action is :class:`ExchangeError`, answered ``{"status": "err", "response": text}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .wire import DeserializeError
from .wire import is_address
from .wire import json_type_name
from .wire import parse_list
from .wire import parse_oid_or_cloid
from .wire import parse_order_wire
from .wire import require_bool
from .wire import require_field
from .wire import require_int
from .wire import require_str

L1_ACTIONS = (
    "order", "cancel", "cancelByCloid", "modify", "batchModify", "scheduleCancel", "updateLeverage",
    "updateIsolatedMargin", "noop", "reserveRequestWeight",
)
USER_SIGNED_ACTIONS = ("approveAgent",)
# Venue action types the twin knows by name but does not implement (answered with status "err").
UNSUPPORTED_ACTIONS = (
    "usdSend", "spotSend", "withdraw3", "usdClassTransfer", "sendAsset", "approveBuilderFee", "twapOrder",
    "twapCancel", "createSubAccount", "subAccountTransfer", "subAccountSpotTransfer", "vaultTransfer",
    "setReferrer", "tokenDelegate", "convertToMultiSigUser", "multiSig", "spotDeploy", "perpDeploy",
    "userDexAbstraction", "userSetAbstraction", "evmUserModify", "createVault", "claimRewards",
)


class ExchangeError(Exception):
    """Whole-action rejection: ``{"status": "err", "response": text}``."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def err_reply(text: str) -> dict:
    return {"status": "err", "response": text}


def ok_default() -> dict:
    return {"status": "ok", "response": {"type": "default"}}


def ok_statuses(kind: str, statuses: list) -> dict:
    return {"status": "ok", "response": {"type": kind, "data": {"statuses": statuses}}}


@dataclass
class Envelope:
    """A deserialized ``/exchange`` body."""

    action: dict  # as sent (signatures are over it)
    kind: str  # action["type"]
    parsed: Any  # typed content, see parse_action
    nonce: int
    signature: dict  # {"r", "s", "v"}
    vault: str | None  # vaultAddress, lowercase
    vault_raw: str | None  # vaultAddress as sent (hashed into the L1 signature)
    expires_after: int | None


def parse_envelope(body: Any) -> Envelope:
    if not isinstance(body, dict):
        raise DeserializeError(f"invalid type: {json_type_name(body)}, expected struct ExchangeRequest")
    action = require_field(body, "action")
    if not isinstance(action, dict):
        raise DeserializeError(f"invalid type: {json_type_name(action)}, expected internally tagged enum Action")
    kind = require_field(action, "type")
    if not isinstance(kind, str):
        raise DeserializeError(f"invalid type: {json_type_name(kind)}, expected a string for `type`")
    known = L1_ACTIONS + USER_SIGNED_ACTIONS + UNSUPPORTED_ACTIONS
    if kind not in known:
        raise DeserializeError(f"unknown variant `{kind}`, expected one of {', '.join('`' + k + '`' for k in known)}")
    nonce = require_int(body, "nonce")
    signature = require_field(body, "signature")
    if not isinstance(signature, dict) or not all(k in signature for k in ("r", "s", "v")):
        raise DeserializeError("invalid value for `signature`, expected struct Signature { r, s, v }")
    vault = body.get("vaultAddress")
    if vault is not None and not is_address(vault):
        raise DeserializeError(f"invalid value: {json_type_name(vault)}, expected an address for `vaultAddress`")
    expires_after = require_int(body, "expiresAfter", optional=True, default=None)
    parsed = parse_action(kind, action)
    return Envelope(
        action=action,
        kind=kind,
        parsed=parsed,
        nonce=nonce,
        signature=signature,
        vault=vault.lower() if vault else None,
        vault_raw=vault,
        expires_after=expires_after,
    )


def parse_action(kind: str, action: dict) -> Any:
    """Typed content of the action (raises DeserializeError like the venue's 422).

    ``order``: ``{"orders": [OrderWire], "grouping"}``; ``cancel``: ``[(asset, oid)]``;
    ``cancelByCloid``: ``[(asset, cloid)]``; ``modify``/``batchModify``: ``[(oid or cloid,
    OrderWire, always_place)]``; ``scheduleCancel``: time or None; ``updateLeverage``: ``(asset,
    is_cross, leverage)``; ``reserveRequestWeight``: weight; ``approveAgent``: ``{"agent", "name"}``;
    others: None.
    """
    if kind == "order":
        orders = [parse_order_wire(o) for o in parse_list(action, "orders")]
        grouping = action.get("grouping", "na")
        if not (grouping in ("na", "normalTpsl", "positionTpsl") or (isinstance(grouping, dict) and "p" in grouping)):
            raise DeserializeError(f"unknown variant for `grouping`: {json_type_name(grouping)}")
        return {"orders": orders, "grouping": grouping}
    if kind == "cancel":
        out = []
        for c in parse_list(action, "cancels"):
            if not isinstance(c, dict):
                raise DeserializeError("invalid type for cancel, expected struct Cancel { a, o }")
            out.append((require_int(c, "a"), require_int(c, "o")))
        return out
    if kind == "cancelByCloid":
        out = []
        for c in parse_list(action, "cancels"):
            if not isinstance(c, dict):
                raise DeserializeError("invalid type for cancel, expected struct CancelByCloid { asset, cloid }")
            cloid = parse_oid_or_cloid(require_field(c, "cloid"), "cloid")
            if not isinstance(cloid, str):
                raise DeserializeError("invalid value for `cloid`, expected a 16-byte hex string")
            out.append((require_int(c, "asset"), cloid))
        return out
    if kind == "modify":
        return [(parse_oid_or_cloid(require_field(action, "oid")), parse_order_wire(require_field(action, "order")),
                 action.get("a") is True)]
    if kind == "batchModify":
        out = []
        for m in parse_list(action, "modifies"):
            if not isinstance(m, dict):
                raise DeserializeError("invalid type for modify, expected struct Modify { oid, order }")
            out.append((parse_oid_or_cloid(require_field(m, "oid")), parse_order_wire(require_field(m, "order")),
                        m.get("a") is True))
        return out
    if kind == "scheduleCancel":
        return require_int(action, "time", optional=True, default=None)
    if kind == "updateLeverage":
        asset = require_int(action, "asset")
        is_cross = require_bool(action, "isCross")
        leverage = require_field(action, "leverage")
        if isinstance(leverage, bool) or not isinstance(leverage, int):
            raise DeserializeError(f"invalid type: {json_type_name(leverage)}, expected u32 for `leverage`")
        return (asset, is_cross, leverage)
    if kind == "reserveRequestWeight":
        return require_int(action, "weight")
    if kind == "approveAgent":
        agent = require_str(action, "agentAddress")
        if not is_address(agent):
            raise DeserializeError(f"invalid value: string \"{agent}\", expected an address for `agentAddress`")
        require_int(action, "nonce")
        require_str(action, "signatureChainId")
        require_str(action, "hyperliquidChain")
        name = action.get("agentName", "")
        if name is not None and not isinstance(name, str):
            raise DeserializeError("invalid type for `agentName`, expected a string")
        return {"agent": agent.lower(), "name": name or ""}
    return None


def batch_length(action: dict) -> int:
    """Number of orders, cancels or modifies in the action (1 for other actions): what rate limits count."""
    for key in ("orders", "cancels", "modifies"):
        if isinstance(action.get(key), list):
            return max(1, len(action[key]))
    return 1
