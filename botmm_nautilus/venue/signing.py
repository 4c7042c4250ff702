"""Fast L1 action signing (the EIP-712 "phantom agent" signature every ``/exchange`` action
carries), byte-identical to the Hyperliquid Python SDK's ``sign_l1_action``.

The SDK path (``eth_account.sign_message(encode_typed_data(...))``) rebuilds and re-hashes the
EIP-712 domain and types on every call and, with eth_keys' pure-Python backend, derives the public
key and signs with Python big-int arithmetic: about 20 ms per action on this machine, during which
the event loop (book messages of every coin, other orders) stands still. Here the domain separator
and the ``Agent`` type hash are computed once, the per-action work is msgpack + two keccaks, and
the signature comes from libsecp256k1 (``coincurve``): RFC 6979 deterministic nonces and low-s
normalisation, exactly like eth_keys, so the signatures are identical
(tests/unit/adapter/test_hl_hot_path.py checks them against the SDK). Without coincurve, or with
``BOTMM_HL_SIGNER=sdk`` in the environment (benchmarks: the old path), the SDK path is used unchanged.

The private key lives only inside the ``coincurve.PrivateKey``/wallet objects; it is never
formatted, logged or stored elsewhere.
"""

from __future__ import annotations

import os

import msgpack
from Crypto.Hash import keccak as _keccak_mod

try:  # pragma: no cover - import guard
    import coincurve as _coincurve
except Exception:  # noqa: BLE001
    _coincurve = None


def keccak(data: bytes) -> bytes:
    return _keccak_mod.new(digest_bits=256, data=data).digest()


_DOMAIN_TYPEHASH = keccak(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
_DOMAIN_SEPARATOR = keccak(
    _DOMAIN_TYPEHASH + keccak(b"Exchange") + keccak(b"1") + (1337).to_bytes(32, "big") + bytes(32),
)
_AGENT_TYPEHASH = keccak(b"Agent(string source,bytes32 connectionId)")
_SOURCE_HASH = {True: keccak(b"a"), False: keccak(b"b")}  # mainnet "a", anything else "b"


def action_hash(action: dict, vault_address: str | None, nonce: int, expires_after: int | None) -> bytes:
    """``connectionId``: keccak(msgpack(action) || nonce || vault flag [|| 0x00 || expiresAfter])."""
    data = msgpack.packb(action)
    data += nonce.to_bytes(8, "big")
    if vault_address is None:
        data += b"\x00"
    else:
        data += b"\x01" + bytes.fromhex(vault_address[2:] if vault_address.startswith("0x") else vault_address)
    if expires_after is not None:
        data += b"\x00" + int(expires_after).to_bytes(8, "big")
    return keccak(data)


def l1_digest(connection_id: bytes, is_mainnet: bool) -> bytes:
    """The EIP-712 digest of the phantom agent ``{source, connectionId}``."""
    struct_hash = keccak(_AGENT_TYPEHASH + _SOURCE_HASH[bool(is_mainnet)] + connection_id)
    return keccak(b"\x19\x01" + _DOMAIN_SEPARATOR + struct_hash)


class L1Signer:
    """Signs L1 actions for one wallet (an eth_account ``LocalAccount``)."""

    def __init__(self, wallet) -> None:
        self._wallet = wallet
        use_sdk = _coincurve is None or os.environ.get("BOTMM_HL_SIGNER", "").lower() == "sdk"
        self._key = None if use_sdk else _coincurve.PrivateKey(bytes(wallet.key))
        self.backend = "coincurve" if self._key is not None else "eth_account"

    def __repr__(self) -> str:  # never show the key
        return f"L1Signer({self._wallet.address}, {self.backend})"

    def sign(self, action: dict, vault_address: str | None, nonce: int, expires_after: int | None,
             is_mainnet: bool) -> dict:
        if self._key is None:
            from hyperliquid.utils.signing import sign_l1_action

            return sign_l1_action(self._wallet, action, vault_address, nonce, expires_after, is_mainnet)
        digest = l1_digest(action_hash(action, vault_address, nonce, expires_after), is_mainnet)
        sig = self._key.sign_recoverable(digest, hasher=None)
        return {"r": hex(int.from_bytes(sig[:32], "big")), "s": hex(int.from_bytes(sig[32:64], "big")), "v": 27 + sig[64]}
