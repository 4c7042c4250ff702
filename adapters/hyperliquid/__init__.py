"""The botmm Hyperliquid adapter for Nautilus (installed as ``botmm_nautilus.adapters.hyperliquid``).

Shaped like Nautilus's own adapters: ``config`` (client configs), ``constants`` (the venue id
``HL`` and the other Nautilus ids), ``instruments`` and ``providers`` (perpetual definitions),
``data`` and ``execution`` (the live clients), ``factories`` (what a ``TradingNode`` registers),
``http`` and ``ws`` (transport), ``parsing`` (decoded messages to Nautilus objects). Hyperliquid's
wire formats themselves (message decoders, actions, URLs, error texts) are in ``botmm_nautilus.venue``.

    node.add_data_client_factory(HL, HLLiveDataClientFactory)
    node.add_exec_client_factory(HL, HLLiveExecClientFactory)
"""

from .config import HLDataClientConfig
from .config import HLExecClientConfig
from .constants import HL
from .constants import HL_VENUE
from .factories import HLLiveDataClientFactory
from .factories import HLLiveExecClientFactory
from .instruments import VENUE
from .instruments import VENUE_NAME
from .instruments import coin_of
from .instruments import instrument_id_for
from .instruments import make_perpetual
from .providers import HLInstrumentProvider

__all__ = [
    "HL",
    "HL_VENUE",
    "VENUE",
    "VENUE_NAME",
    "HLDataClientConfig",
    "HLExecClientConfig",
    "HLInstrumentProvider",
    "HLLiveDataClientFactory",
    "HLLiveExecClientFactory",
    "coin_of",
    "instrument_id_for",
    "make_perpetual",
]
