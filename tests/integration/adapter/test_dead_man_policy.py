"""The dead-man policy of the execution client in a real (built, not connected) TradingNode: what a
refused or failed ``scheduleCancel`` does on the node's message bus, per ``dead_man_on_failure``.
The venue side (the twin refusing the switch, the node holding no order) is covered by
``test_live_stop_and_recon.py``; here each branch is checked directly and quickly.
"""

from __future__ import annotations

import asyncio

import pytest
from nautilus_trader.common.enums import ComponentState
from nautilus_trader.common.messages import ComponentStateChanged
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.config import TradingNodeConfig
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.identifiers import ComponentId
from nautilus_trader.model.identifiers import StrategyId
from nautilus_trader.model.identifiers import TraderId

from botmm_nautilus.adapters.hyperliquid import HL
from botmm_nautilus.adapters.hyperliquid import HLDataClientConfig
from botmm_nautilus.adapters.hyperliquid import HLExecClientConfig
from botmm_nautilus.adapters.hyperliquid import HLLiveDataClientFactory
from botmm_nautilus.adapters.hyperliquid import HLLiveExecClientFactory
from botmm_nautilus.adapters.hyperliquid import node_state
from botmm_nautilus.adapters.hyperliquid.execution import HLExecutionClient
from botmm_nautilus.engine.venue_health import VENUE_HEALTH_TOPIC

REFUSED = {"status": "err",  # the venue's answer below $1M traded volume (HYPERLIQUID_PROTOCOL.md 4.4)
           "response": "Cannot set scheduled cancel time until enough volume traded. Required: $1000000. Traded: $373.47205."}
OK = {"status": "ok", "response": {"type": "default"}}


@pytest.fixture(params=["stop_quoting", "warn"])
def client(request, monkeypatch):
    monkeypatch.setenv("HYPERLIQUID_TESTNET_PK", "0x" + "5c0ffee0" * 8)
    ipc = InstrumentProviderConfig(load_all=True)
    url = "http://127.0.0.1:9"  # never contacted
    config = TradingNodeConfig(
        trader_id="BOTMM-009",
        logging=LoggingConfig(log_level="ERROR"),
        data_clients={HL: HLDataClientConfig(instrument_provider=ipc, base_url_http=url, coins=["BTC"])},
        exec_clients={HL: HLExecClientConfig(instrument_provider=ipc, base_url_http=url, coins=["BTC"],
                                             dead_man_on_failure=request.param)},
    )
    node = TradingNode(config=config, loop=asyncio.new_event_loop())
    node.add_data_client_factory(HL, HLLiveDataClientFactory)
    node.add_exec_client_factory(HL, HLLiveExecClientFactory)
    node.build()
    [exec_] = [c for c in node_state.find_node_state(node.kernel.clock).clients if isinstance(c, HLExecutionClient)]
    heard: list = []
    node.kernel.msgbus.subscribe(topic=VENUE_HEALTH_TOPIC, handler=heard.append)
    yield request.param, exec_, heard
    node.dispose()
    node.get_event_loop().close()


def _running(component_id) -> ComponentStateChanged:
    return ComponentStateChanged(TraderId("BOTMM-009"), component_id, "MarketMaker", ComponentState.RUNNING, {}, UUID4(), 0, 0)


def test_refused_or_failed_sets_count_as_failures_and_apply_the_policy(client):
    policy, exec_, heard = client
    assert exec_._dead_man_outcome(REFUSED, None) is False
    assert exec_._dead_man_outcome(None, TimeoutError("no answer")) is False
    assert (exec_.dead_man_sets, exec_.dead_man_failures) == (0, 2)  # confirmed sets only
    # a strategy that starts while the switch is down hears of it at once (an engine starting does not count)
    exec_._on_component_state(_running(ComponentId("ExecEngine")))
    exec_._on_component_state(_running(StrategyId("MarketMaker-001")))
    assert exec_._dead_man_outcome(OK, None) is True
    assert (exec_.dead_man_sets, exec_.dead_man_failures) == (1, 2)
    assert exec_.counters()["dead_man_sets"] == 1 and exec_.counters()["dead_man_failures"] == 2
    if policy == "warn":
        assert heard == []  # quoting goes on (with a loud log line every refresh)
        return
    # two failures, the strategy starting while down, the set that succeeded
    assert [(m.key, m.blocked) for m in heard] == [("dead_man", True)] * 3 + [("dead_man", False)]
    assert heard[0].reason.startswith("dead-man's switch not set (refused: Cannot set scheduled cancel time")
    assert heard[1].reason == "dead-man's switch not set (request failed: no answer)"
    assert heard[0].instrument_id is None  # every instrument of the node
