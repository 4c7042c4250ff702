"""A constructed-book twin and a real in-process ``TradingNode`` on it, for adapter tests that need
seconds, not a node subprocess: real HTTP, WebSocket and signatures on 127.0.0.1.

* :func:`book_twin` - a started ``TwinServer`` on one BTC book (pushes unthrottled), optionally
  with an account funded; close it when done (the fixtures do).
* :func:`start_node` / :func:`stop_node` - the Hyperliquid data + execution clients and a bare
  ``Strategy`` in a node on its own loop; exec-client settings and the exec engine are arguments.
* :func:`pump` - run the node's loop until a condition holds.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.config import LiveExecEngineConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.config import StrategyConfig
from nautilus_trader.config import TradingNodeConfig
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy

from support.live_node import twin_position

from botmm_nautilus.adapters.hyperliquid import HL
from botmm_nautilus.adapters.hyperliquid import HLDataClientConfig
from botmm_nautilus.adapters.hyperliquid import HLExecClientConfig
from botmm_nautilus.adapters.hyperliquid import HLLiveDataClientFactory
from botmm_nautilus.adapters.hyperliquid import HLLiveExecClientFactory
from botmm_nautilus.adapters.hyperliquid import node_state
from botmm_nautilus.adapters.hyperliquid.execution import HLExecutionClient
from botmm_nautilus.twin import Scenario
from botmm_nautilus.twin import TwinConfig
from botmm_nautilus.twin import TwinServer
from botmm_nautilus.twin.clock import wall_ms

IID = InstrumentId.from_str("BTC-USDC-PERP.HL")


def book_twin(bids, asks, fund: str | None = None, usd: float = 100_000, **config) -> TwinServer:
    """A started twin whose BTC book is ``bids`` / ``asks`` ([(price, "size"), ...]); ``fund``: an
    address given ``usd`` of paper USDC; ``config``: more ``TwinConfig`` settings."""
    s = Scenario(["BTC"], start_ms=wall_ms())
    s.book("BTC", 0, bids=bids, asks=asks)
    server = TwinServer(s, config=TwinConfig(l2_book_min_interval_ms=0, market_push_interval_ms=0, **config))
    server.start()
    if fund is not None:
        server.create_account(fund, usd)
    return server


def start_node(twin, trader_id: str, engine: LiveExecEngineConfig | None = None, **exec_settings):
    """A started node trading on ``twin`` (the key from ``HYPERLIQUID_TESTNET_PK``): returns
    ``(node, strategy, exec_client)``. ``exec_settings`` override the test defaults (no dead-man's
    switch, 400 ms action expiry + 200 ms margin, 10 ms first retry)."""
    ipc = InstrumentProviderConfig(load_all=True)
    settings = dict(dead_man_deadline_secs=0, exchange_expires_after_ms=400, exchange_expiry_margin_ms=200,
                    retry_delay_initial_ms=10)
    settings.update(exec_settings)
    config = TradingNodeConfig(
        trader_id=trader_id,
        logging=LoggingConfig(log_level="ERROR"),
        exec_engine=engine or LiveExecEngineConfig(reconciliation=True),
        data_clients={HL: HLDataClientConfig(instrument_provider=ipc, base_url_http=twin.url, coins=["BTC"])},
        exec_clients={HL: HLExecClientConfig(instrument_provider=ipc, base_url_http=twin.url, coins=["BTC"], **settings)},
        timeout_connection=10.0,
        timeout_disconnection=2.0,
        timeout_post_stop=0.0,
    )
    n = TradingNode(config=config, loop=asyncio.new_event_loop())
    n.add_data_client_factory(HL, HLLiveDataClientFactory)
    n.add_exec_client_factory(HL, HLLiveExecClientFactory)
    n.build()
    strategy = Strategy(StrategyConfig(strategy_id="S-001"))
    n.trader.add_strategy(strategy)
    n.get_event_loop().run_until_complete(n.kernel.start_async())
    [client] = [c for c in node_state.find_node_state(n.kernel.clock).clients if isinstance(c, HLExecutionClient)]
    return n, strategy, client


def stop_node(n: TradingNode) -> None:
    loop = n.get_event_loop()
    loop.run_until_complete(n.kernel.stop_async())
    n.dispose()  # cancels the node's tasks and closes its loop
    if not loop.is_closed():
        loop.close()


def pump(n: TradingNode, until, timeout_s: float = 5.0):
    """Run the node's loop until ``until()`` is truthy."""
    loop = n.get_event_loop()
    deadline = time.monotonic() + timeout_s
    while not until():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        loop.run_until_complete(asyncio.sleep(0.02))


def node_position(n: TradingNode) -> Decimal:
    return sum((p.signed_decimal_qty() for p in n.cache.positions(instrument_id=IID)), Decimal(0))


venue_position = twin_position  # the BTC position of an address as the twin (the venue) reports it
