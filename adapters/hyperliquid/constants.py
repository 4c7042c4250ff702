"""Constants of the botmm Hyperliquid live adapter: the Nautilus ids (venue ``HL``, client id,
account id) and the private-key environment variables. Hyperliquid's own facts (URLs, actions,
error texts, message formats, rate limits) are in ``botmm_nautilus.venue``."""

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
