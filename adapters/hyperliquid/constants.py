"""Constants of the botmm Hyperliquid live adapter: the Nautilus ids (venue ``HL``, client id,
account id), the private-key environment variables and the request-weight budget the HTTP client
paces itself by. Hyperliquid's own wire facts (URLs, actions, error texts, message formats) are in
``botmm_nautilus.venue``."""

from __future__ import annotations

from typing import Final

from nautilus_trader.model.identifiers import ClientId
from nautilus_trader.model.identifiers import Venue

from .instruments import VENUE_NAME

HL: Final[str] = VENUE_NAME  # "HL"
HL_VENUE: Final[Venue] = Venue(HL)
HL_CLIENT_ID: Final[ClientId] = ClientId(HL)
ACCOUNT_ID: Final[str] = f"{HL}-master"

ENV_TESTNET_PK: Final[str] = "HYPERLIQUID_TESTNET_PK"
ENV_MAINNET_PK: Final[str] = "HYPERLIQUID_PK"

# The venue's budgets: 1200 IP weight per minute; 10,000 address actions (+1 per USDC traded)
IP_WEIGHT_PER_MINUTE: Final[int] = 1200
ADDRESS_BASE_BUDGET: Final[int] = 10_000

# /info request types of weight 2 (all others weigh 20)
INFO_WEIGHT_2: Final[frozenset] = frozenset(
    {"l2Book", "allMids", "clearinghouseState", "orderStatus", "spotClearinghouseState", "exchangeStatus"},
)
