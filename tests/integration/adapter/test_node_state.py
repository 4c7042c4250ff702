"""Who owns the adapter's shared state: real ``TradingNode``s built with the Hyperliquid factories
(no connection is made; building a node only creates its clients).

The data and execution clients of one node share the IP weight budget of their venue URL (the
venue's limit is per IP), the venue's clock and the tick-to-order probe; clients of another URL or
another node do not; and once a node is disposed nothing of it is left in the adapter's modules.
"""

from __future__ import annotations

import asyncio

import pytest
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.config import TradingNodeConfig
from nautilus_trader.live.node import TradingNode

from botmm_nautilus.adapters.hyperliquid import HL
from botmm_nautilus.adapters.hyperliquid import HLDataClientConfig
from botmm_nautilus.adapters.hyperliquid import HLExecClientConfig
from botmm_nautilus.adapters.hyperliquid import HLLiveDataClientFactory
from botmm_nautilus.adapters.hyperliquid import HLLiveExecClientFactory
from botmm_nautilus.adapters.hyperliquid import node_state
from botmm_nautilus.adapters.hyperliquid.data import HLDataClient
from botmm_nautilus.adapters.hyperliquid.execution import HLExecutionClient

URL_A = "http://127.0.0.1:9"  # never contacted
URL_B = "http://127.0.0.1:8"


def build(url: str, trader_id: str) -> TradingNode:
    ipc = InstrumentProviderConfig(load_all=True)
    config = TradingNodeConfig(
        trader_id=trader_id,
        logging=LoggingConfig(log_level="ERROR"),
        data_clients={HL: HLDataClientConfig(instrument_provider=ipc, base_url_http=url, coins=["BTC"])},
        exec_clients={HL: HLExecClientConfig(instrument_provider=ipc, base_url_http=url, coins=["BTC"])},
    )
    node = TradingNode(config=config, loop=asyncio.new_event_loop())
    node.add_data_client_factory(HL, HLLiveDataClientFactory)
    node.add_exec_client_factory(HL, HLLiveExecClientFactory)
    node.build()
    return node


def dispose(node: TradingNode) -> None:
    node.dispose()
    node.get_event_loop().close()


def clients(node: TradingNode) -> tuple[HLDataClient, HLExecutionClient]:
    state = node_state.find_node_state(node.kernel.clock)
    [data] = [c for c in state.clients if isinstance(c, HLDataClient)]
    [exec_] = [c for c in state.clients if isinstance(c, HLExecutionClient)]
    return data, exec_


def test_one_node_shares_budget_clock_and_probe_and_a_disposed_node_leaves_nothing(monkeypatch):
    monkeypatch.setenv("HYPERLIQUID_TESTNET_PK", "0x" + "5c0ffee0" * 8)
    monkeypatch.delenv("BOTMM_HL_IP_WEIGHT_PER_MIN", raising=False)
    assert node_state._CACHE == {}
    nodes = [build(URL_A, "BOTMM-001"), build(URL_B, "BOTMM-002"), build(URL_A, "BOTMM-003")]
    try:
        (data_a, exec_a), (data_b, exec_b), (data_c, exec_c) = (clients(n) for n in nodes)
        # data + exec of one node: one IP budget, one venue clock, one latency probe
        bucket_a = exec_a._http.bucket
        assert data_a._provider._http.bucket is bucket_a
        assert bucket_a.capacity == 1200
        assert data_a._venue_clock is exec_a._venue_clock
        assert data_a._probe is exec_a._probe
        # what the data client reads off the books is what the execution client sees
        data_a._venue_clock.observe(1_700_000_000_000)
        assert exec_a._venue_clock.recent(2.0)[1] == 1_700_000_000_000
        assert exec_b._venue_clock.recent(2.0) is None and exec_c._venue_clock.recent(2.0) is None
        # another URL, or another node: nothing shared
        for data, exec_ in ((data_b, exec_b), (data_c, exec_c)):
            assert data._provider._http.bucket is exec_._http.bucket
            assert exec_._http.bucket is not bucket_a
            assert exec_._probe is not exec_a._probe
        # the summary accessors read the shared budget: the data client's request counts for the node
        bucket_a.count("info:metaAndAssetCtxs", 20)
        assert exec_a.rate_budget()["weight_by_type"] == {"info:metaAndAssetCtxs": 20}
        assert exec_b.rate_budget()["weight_by_type"] == {}
        assert data_a.counters() == {"book_messages": 0, "crossed_dropped": 0, "resyncs": 0, "ws_reconnects": 0,
                                     "old_books_rejected": 0, "stale_book_holds": 0, "book_resubscribes": 0,
                                     "bad_trades": 0, "malformed_frames": 0}
    finally:
        for node in nodes:
            dispose(node)
    for node in nodes:
        assert node_state.find_node_state(node.kernel.clock) is None
    assert node_state._CACHE == {}


def test_ip_budget_override_applies_per_bucket(monkeypatch):
    monkeypatch.setenv("HYPERLIQUID_TESTNET_PK", "0x" + "5c0ffee0" * 8)
    monkeypatch.setenv("BOTMM_HL_IP_WEIGHT_PER_MIN", "300")
    node = build(URL_A, "BOTMM-004")
    try:
        data, exec_ = clients(node)
        assert exec_._http.bucket.capacity == 300 and data._provider._http.bucket is exec_._http.bucket
    finally:
        dispose(node)
    assert node_state._CACHE == {}


@pytest.mark.parametrize("bad", ["lots", "0"])
def test_ip_budget_override_is_clamped(monkeypatch, bad):
    from botmm_nautilus.adapters.hyperliquid.http import TokenBucket

    monkeypatch.setenv("BOTMM_HL_IP_WEIGHT_PER_MIN", bad)
    assert TokenBucket.for_ip_weight().capacity == (1200 if bad == "lots" else 1)
