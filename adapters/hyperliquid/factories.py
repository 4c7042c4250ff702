"""Factories for the TradingNode.

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
from .providers import HLInstrumentProvider


def _provider(http: HLHttpClient, config) -> HLInstrumentProvider:
    ipc = config.instrument_provider
    if not ipc.load_all and not ipc.load_ids:
        ipc = InstrumentProviderConfig(load_all=True)
    return HLInstrumentProvider(http, ipc, coins=config.coins)


def make_exec_http(config: HLExecClientConfig, log=None) -> HLHttpClient:
    wallet = load_wallet(config)
    return HLHttpClient(
        config.http_base(), wallet=wallet, is_mainnet=not config.testnet, vault_address=config.vault_address,
        account_address=config.account_address, timeout_s=config.http_timeout_secs, max_retries=config.max_retries,
        retry_delay_initial_ms=config.retry_delay_initial_ms, retry_delay_max_ms=config.retry_delay_max_ms, log=log,
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
        http = HLHttpClient(config.http_base(), timeout_s=config.http_timeout_secs)
        client = HLDataClient(loop=loop, msgbus=msgbus, cache=cache, clock=clock,
                              instrument_provider=_provider(http, config), config=config, name=name)
        http._log = client._log
        return client


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
        http = make_exec_http(config)
        client = HLExecutionClient(loop=loop, msgbus=msgbus, cache=cache, clock=clock,
                                   instrument_provider=_provider(http, config), config=config, http=http, name=name)
        http._log = client._log
        return client
