"""Local Hyperliquid exchange twin: speaks Hyperliquid's HTTP + WebSocket protocol on 127.0.0.1.

The market is replayed from a Nautilus ``ParquetDataCatalog`` (or an in-memory :class:`Scenario`);
accounts, orders, fills, fees, margin, funding, nonces and API wallets are simulated so that the
hyperliquid-python-sdk and the project's live adapter can trade offline (integration tests, paper
trading).

    from botmm_nautilus.twin import Scenario, TwinServer
    scenario = Scenario(["BTC"], start_ms=t0).book("BTC", 0, bids=[(100000, 1)], asks=[(100001, 1)])
    with TwinServer(scenario) as twin:           # manual clock: twin.advance_by(ms) / twin.step(n)
        twin.create_account(wallet.address)
        Exchange(wallet, base_url=twin.url).order("BTC", True, 0.001, 99990, {"limit": {"tif": "Alo"}})

    serve("catalog", ["BTC", "ETH"], port=3001, speed=10)   # blocking; the ``botmm twin`` command

Module map: ``server`` (aiohttp app, :class:`TwinServer`, :func:`serve`), ``engine`` (exchange
state and actions), ``matching`` (book, queue, fills), ``accounts`` (money, nonces, agents, rate
limits), ``signing`` (signature recovery), ``replay`` (market data), ``candles``, ``faults``,
``clock``, ``wire`` (formatting and request parsing).
"""

from .accounts import FeeSchedule
from .clock import TwinClock
from .exchange import TwinExchange
from .faults import FaultInjector
from .replay import CoinSpec
from .replay import MarketData
from .replay import Scenario
from .replay import load_catalog
from .server import TwinServer
from .settings import TwinConfig
from .standalone import serve

__all__ = [
    "CoinSpec",
    "FaultInjector",
    "FeeSchedule",
    "MarketData",
    "Scenario",
    "TwinClock",
    "TwinConfig",
    "TwinExchange",
    "TwinServer",
    "load_catalog",
    "serve",
]
