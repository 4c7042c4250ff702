"""Server-side signature verification for ``/exchange``: who signed an action.

* L1 actions (order, cancel, modify, scheduleCancel, updateLeverage, ...): the action hash is
  ``keccak256(msgpack(action) || nonce_u64_be || vault flag [|| vault20] [|| 0x00 || expiresAfter_u64_be])``
  over the action **exactly as received** (JSON key order == msgpack map order); the signer is
  recovered from the EIP-712 "phantom agent" ``{source, connectionId}`` (``source`` ``"b"`` for
  testnet and any non-mainnet URL, ``"a"`` for mainnet).
* User-signed actions (``approveAgent``): the action fields are the EIP-712 message of domain
  ``HyperliquidSignTransaction`` with ``chainId = int(signatureChainId, 16)``.

A wrong signature never raises: it recovers some *other* address, which the caller then fails to
find ("User or API Wallet 0x... does not exist."). Only an unrecoverable signature (bad ``v``,
``r``/``s`` out of range, malformed hex) raises :class:`SignatureError`.

Optional strict mode re-packs L1 actions in the venue's canonical key order before hashing, so a
client that sends keys in another order fails here the way it fails on the live chain.
"""

from __future__ import annotations

from typing import Any

import msgpack
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from .wire import ZERO_ADDRESS

EIP712_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]

AGENT_TYPE = [
    {"name": "source", "type": "string"},
    {"name": "connectionId", "type": "bytes32"},
]

# Primary type and signed fields of the user-signed actions the twin understands.
USER_SIGNED_TYPES: dict[str, tuple[str, list[dict[str, str]]]] = {
    "approveAgent": (
        "HyperliquidTransaction:ApproveAgent",
        [
            {"name": "hyperliquidChain", "type": "string"},
            {"name": "agentAddress", "type": "address"},
            {"name": "agentName", "type": "string"},
            {"name": "nonce", "type": "uint64"},
        ],
    ),
}

# Canonical key orders for strict mode: the field order of the venue's own action types (and the SDK's).
_ORDER_KEYS = ("a", "b", "p", "s", "r", "t", "c")
_TRIGGER_KEYS = ("isMarket", "triggerPx", "tpsl")
_CANONICAL_TOP = {
    "order": ("type", "orders", "grouping", "builder"),
    "cancel": ("type", "cancels"),
    "cancelByCloid": ("type", "cancels"),
    "modify": ("type", "oid", "order"),
    "batchModify": ("type", "modifies"),
    "scheduleCancel": ("type", "time"),
    "updateLeverage": ("type", "asset", "isCross", "leverage"),
    "updateIsolatedMargin": ("type", "asset", "isBuy", "ntli"),
}


class SignatureError(ValueError):
    """The signature cannot be turned into an address at all."""


def parse_signature(signature: Any) -> tuple[int, int, int]:
    """``(v, r, s)`` from ``{"r": "0x..", "s": "0x..", "v": 27|28}``; ``r``/``s`` may be short hex."""
    if not isinstance(signature, dict):
        raise SignatureError("signature must be an object with r, s, v")
    try:
        r = int(str(signature["r"]), 16)
        s = int(str(signature["s"]), 16)
        v = int(signature["v"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SignatureError(f"malformed signature: {exc}") from exc
    return v, r, s


def l1_action_hash(action: Any, vault_address: str | None, nonce: int, expires_after: int | None) -> bytes:
    """The ``connectionId`` of an L1 action: keccak256 of msgpack(action), nonce, vault flag/address, expiresAfter."""
    data = msgpack.packb(action)
    data += int(nonce).to_bytes(8, "big")
    if vault_address is None:
        data += b"\x00"
    else:
        data += b"\x01" + bytes.fromhex(vault_address[2:] if vault_address.startswith("0x") else vault_address)
    if expires_after is not None:
        data += b"\x00" + int(expires_after).to_bytes(8, "big")
    return keccak(data)


def l1_typed_data(connection_id: bytes, source: str) -> dict:
    return {
        "domain": {"name": "Exchange", "version": "1", "chainId": 1337, "verifyingContract": ZERO_ADDRESS},
        "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, "Agent": AGENT_TYPE},
        "primaryType": "Agent",
        "message": {"source": source, "connectionId": connection_id},
    }


def _recover(typed: dict, signature: Any) -> str:
    v, r, s = parse_signature(signature)
    try:
        address = Account.recover_message(encode_typed_data(full_message=typed), vrs=(v, r, s))
    except Exception as exc:  # noqa: BLE001 - eth_keys raises several types for bad signatures
        raise SignatureError(f"unable to recover signer: {exc}") from exc
    return address.lower()


def canonical_action(action: Any) -> Any:
    """The action with keys in the venue's canonical order (unknown keys keep their place at the end)."""
    if not isinstance(action, dict):
        return action
    order = _CANONICAL_TOP.get(action.get("type"))
    if order is None:
        return action
    out = _reorder(action, order)
    kind = action.get("type")
    if kind == "order" and isinstance(out.get("orders"), list):
        out["orders"] = [_canonical_order(o) for o in out["orders"]]
    elif kind == "modify" and isinstance(out.get("order"), dict):
        out["order"] = _canonical_order(out["order"])
    elif kind == "batchModify" and isinstance(out.get("modifies"), list):
        out["modifies"] = [
            {**_reorder(m, ("oid", "order")), "order": _canonical_order(m.get("order"))} if isinstance(m, dict) else m
            for m in out["modifies"]
        ]
    elif kind == "cancel" and isinstance(out.get("cancels"), list):
        out["cancels"] = [_reorder(c, ("a", "o")) if isinstance(c, dict) else c for c in out["cancels"]]
    elif kind == "cancelByCloid" and isinstance(out.get("cancels"), list):
        out["cancels"] = [_reorder(c, ("asset", "cloid")) if isinstance(c, dict) else c for c in out["cancels"]]
    return out


def _reorder(obj: dict, keys: tuple[str, ...]) -> dict:
    out = {k: obj[k] for k in keys if k in obj}
    out.update({k: v for k, v in obj.items() if k not in out})
    return out


def _canonical_order(order: Any) -> Any:
    if not isinstance(order, dict):
        return order
    out = _reorder(order, _ORDER_KEYS)
    t = out.get("t")
    if isinstance(t, dict) and isinstance(t.get("trigger"), dict):
        out["t"] = {"trigger": _reorder(t["trigger"], _TRIGGER_KEYS)}
    return out


def recover_l1_signer(
    action: Any,
    signature: Any,
    nonce: int,
    vault_address: str | None = None,
    expires_after: int | None = None,
    source: str = "b",
    strict_key_order: bool = False,
) -> str:
    """Lowercase address that signed this L1 action (a wrong signature yields a random address)."""
    hashed = canonical_action(action) if strict_key_order else action
    try:
        connection_id = l1_action_hash(hashed, vault_address, nonce, expires_after)
    except (TypeError, ValueError, OverflowError) as exc:
        raise SignatureError(f"cannot hash action: {exc}") from exc
    return _recover(l1_typed_data(connection_id, source), signature)


def recover_user_signed_signer(action: dict, signature: Any) -> str:
    """Lowercase address that signed a user-signed action (``approveAgent``)."""
    kind = action.get("type")
    if kind not in USER_SIGNED_TYPES:
        raise SignatureError(f"not a user-signed action type: {kind!r}")
    primary_type, fields = USER_SIGNED_TYPES[kind]
    try:
        chain_id = int(str(action["signatureChainId"]), 16)
    except (KeyError, ValueError) as exc:
        raise SignatureError(f"missing or malformed signatureChainId: {exc}") from exc
    # Missing string fields are signed as "" (the SDK signs agentName "" and then drops the key).
    message = {f["name"]: action.get(f["name"], "" if f["type"] == "string" else None) for f in fields}
    if any(v is None for v in message.values()):
        missing = [k for k, v in message.items() if v is None]
        raise SignatureError(f"user-signed action lacks signed fields {missing}")
    typed = {
        "domain": {
            "name": "HyperliquidSignTransaction",
            "version": "1",
            "chainId": chain_id,
            "verifyingContract": ZERO_ADDRESS,
        },
        "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, primary_type: fields},
        "primaryType": primary_type,
        "message": message,
    }
    return _recover(typed, signature)
