"""Constants of the botmm Hyperliquid live adapter (venue ``HL``, see botmm_nautilus.instruments)."""

from __future__ import annotations

from typing import Final

from nautilus_trader.model.identifiers import ClientId
from nautilus_trader.model.identifiers import Venue

from .instruments import VENUE_NAME

HL: Final[str] = VENUE_NAME  # "HL"
HL_VENUE: Final[Venue] = Venue(HL)
HL_CLIENT_ID: Final[ClientId] = ClientId(HL)
ACCOUNT_ID: Final[str] = f"{HL}-master"

MAINNET_HTTP: Final[str] = "https://api.hyperliquid.xyz"
TESTNET_HTTP: Final[str] = "https://api.hyperliquid-testnet.xyz"

ENV_TESTNET_PK: Final[str] = "HYPERLIQUID_TESTNET_PK"
ENV_MAINNET_PK: Final[str] = "HYPERLIQUID_PK"

POST_ONLY_WOULD_MATCH: Final[str] = "Post only order would have immediately matched"
MISSING_ORDER: Final[str] = "Order was never placed, already canceled, or filled"
CANNOT_MODIFY: Final[str] = "Cannot modify canceled or filled order"

IP_WEIGHT_PER_MINUTE: Final[int] = 1200
ADDRESS_BASE_BUDGET: Final[int] = 10_000

# /info request weights (PROTOCOL 7.6)
INFO_WEIGHT_2: Final[frozenset] = frozenset(
    {"l2Book", "allMids", "clearinghouseState", "orderStatus", "spotClearinghouseState", "exchangeStatus"},
)

CLOSED_STATUSES: Final[frozenset] = frozenset(
    {"filled", "canceled", "rejected", "marginCanceled", "scheduledCancel", "reduceOnlyCanceled",
     "selfTradeCanceled", "siblingFilledCanceled", "liquidatedCanceled", "delistedCanceled",
     "vaultWithdrawalCanceled", "openInterestCapCanceled", "internalCancel", "outcomeSettledCanceled"},
)


def http_url(testnet: bool) -> str:
    return TESTNET_HTTP if testnet else MAINNET_HTTP


def ws_url_from_http(base_url_http: str) -> str:
    """``http(s)://host[:port]`` -> ``ws(s)://host[:port]/ws``."""
    base = base_url_http.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base[len("https://"):] + "/ws"
    if base.startswith("http://"):
        return "ws://" + base[len("http://"):] + "/ws"
    return base + "/ws"
