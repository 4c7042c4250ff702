"""Factories for the TradingNode.

The data and execution clients of one node share an IP weight budget per venue URL, the venue's
clock and the latency probe: the factories take them from the node's :class:`HLNodeState`
(``node_state.get_cached_node_state``, keyed by the node's clock) and hand them to the clients.

Nautilus 1.231 bug: an exec client declared with an importable ``factory`` crashes
``TradingNode.build()`` (``__name__`` on an instance). Always also call
``node.add_data_client_factory("HL", HLLiveDataClientFactory)`` and
``node.add_exec_client_factory("HL", HLLiveExecClientFactory)`` (``botmm_nautilus.apps.live`` does).
"""

from __future__ import annotations

import asyncio

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.live.factories import LiveDataClientFactory
from nautilus_trader.live.factories import LiveExecClientFactory

from .config import HLDataClientConfig
from .config import HLExecClientConfig
from .config import load_wallet
from .data import HLDataClient
from .execution import HLExecutionClient
from .http import HLHttpClient
from .http import TokenBucket
from .node_state import get_cached_node_state
from .providers import HLInstrumentProvider


def _provider(http: HLHttpClient, config) -> HLInstrumentProvider:
    ipc = config.instrument_provider
    if not ipc.load_all and not ipc.load_ids:
        ipc = InstrumentProviderConfig(load_all=True)
    return HLInstrumentProvider(http, ipc, coins=config.coins)


def make_exec_http(config: HLExecClientConfig, bucket: TokenBucket | None = None) -> HLHttpClient:
    """The signing HTTP client of ``config`` (raises ``HLKeyError`` when the key cannot be loaded);
    ``bucket``: the IP weight budget to draw from (a budget of its own when None)."""
    wallet = load_wallet(config)
    return HLHttpClient(
        config.http_base(), wallet=wallet, is_mainnet=not config.testnet, vault_address=config.vault_address,
        account_address=config.account_address, timeout_s=config.http_timeout_secs, max_retries=config.max_retries,
        retry_delay_initial_ms=config.retry_delay_initial_ms, retry_delay_max_ms=config.retry_delay_max_ms,
        bucket=bucket, expires_after_ms=config.exchange_expires_after_ms,
        expiry_margin_ms=config.exchange_expiry_margin_ms,
    )


class HLLiveDataClientFactory(LiveDataClientFactory):
    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: HLDataClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> HLDataClient:
        state = get_cached_node_state(clock)
        http = HLHttpClient(config.http_base(), timeout_s=config.http_timeout_secs,
                            bucket=state.bucket(config.http_base()))
        return HLDataClient(loop=loop, msgbus=msgbus, cache=cache, clock=clock,
                            instrument_provider=_provider(http, config), config=config, node_state=state, name=name)


class HLLiveExecClientFactory(LiveExecClientFactory):
    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: HLExecClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> HLExecutionClient:
        state = get_cached_node_state(clock)
        http = make_exec_http(config, state.bucket(config.http_base()))
        return HLExecutionClient(loop=loop, msgbus=msgbus, cache=cache, clock=clock,
                                 instrument_provider=_provider(http, config), config=config, http=http,
                                 node_state=state, name=name)
