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

    serve("catalog", ["BTC", "ETH"], port=3001, speed=10, auto_create_accounts=True)   # blocking; ``botmm twin``

The twin is an independent check of the project's Hyperliquid client: it imports only the venue
rules (``botmm_nautilus.venue``), the error base (``botmm_nautilus.errors``) and third-party
libraries, and keeps its own signature recovery and wire formatting.

Module map:

* rules and formats: ``settings`` (:class:`TwinConfig`), ``wire`` (number formats, request
  parsing), ``signing`` (signer recovery), ``errors`` (user-facing errors, :class:`TwinError`);
* market and money: ``replay`` (market data: events, :class:`Scenario`, replay cursor),
  ``catalog_reader`` (a Nautilus catalog's Parquet files read as columns),
  ``matching`` (one coin's book, queue model, fills), ``accounts`` (balances, positions, fees,
  nonces, agents, rate limits), ``candles``, ``clock``, ``faults``;
* the exchange, parts over one shared ``state``: ``feed`` (throttled market pushes), ``views``
  (wire forms of books, contexts, orders), ``margin``, ``trading`` (place, match, fill, cancel),
  ``funding``, ``timeline`` (replay events and timers), ``info`` (``/info``), ``envelope`` and
  ``auth`` (``/exchange`` bodies, signer, account, nonces), ``actions`` (``/exchange``), and
  ``exchange`` (:class:`TwinExchange`, the facade that puts them together);
* serving: ``ws_hub`` (WebSocket), ``http_app`` (HTTP routes, admin endpoints), ``server``
  (:class:`TwinServer`), ``standalone`` (:func:`serve`, the ``botmm twin`` command).
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
