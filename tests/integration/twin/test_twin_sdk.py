"""The Hyperliquid twin driven by the official hyperliquid-python-sdk over real sockets on 127.0.0.1.

Every action is signed by the SDK (testnet / source "b", as for any non-mainnet URL) and verified by
the twin. The market is a tiny deterministic in-memory scenario on a manual clock; tests move time
with ``twin.advance_to``/``advance_by``.
"""

from __future__ import annotations

import threading
import time
from decimal import ROUND_HALF_EVEN
from decimal import Decimal as D

import pytest
import requests
from eth_account import Account
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.error import ClientError
from hyperliquid.utils.error import ServerError
from hyperliquid.utils.types import Cloid
from support.twin_client import post
from support.twin_client import signed_exchange_body
from support.twin_client import wait_until

from botmm_nautilus.twin import Scenario
from botmm_nautilus.twin import TwinConfig
from botmm_nautilus.twin import TwinServer
from botmm_nautilus.twin.clock import wall_ms

MAKER = D("0.00015")
TAKER = D("0.00045")
ALO = {"limit": {"tif": "Alo"}}
GTC = {"limit": {"tif": "Gtc"}}
IOC = {"limit": {"tif": "Ioc"}}


def usd(x: D) -> D:
    return x.quantize(D("0.000001"), rounding=ROUND_HALF_EVEN)


def make_scenario(t0: int) -> Scenario:
    """BTC 100000 / 100001 with depth, ETH 3000.0 / 3000.1; sellers print at 100000 at +1 s and +2 s."""
    s = Scenario(["BTC", "ETH"], start_ms=t0)
    s.book("BTC", 0, bids=[(100000, "1.0"), (99999, "2.0")], asks=[(100001, "1.5"), (100002, "3.0")])
    s.book("ETH", 0, bids=[("3000.0", 10)], asks=[("3000.1", 10)])
    s.trade("BTC", 1000, "A", 100000, "0.6")
    s.trade("BTC", 2000, "A", 100000, "0.7")
    s.trade("BTC", 3000, "B", 100001, "0.5")
    return s


@pytest.fixture
def t0() -> int:
    # 5 s into the current minute, so a scenario's first seconds of prints fall in one 1m candle
    return wall_ms() // 60_000 * 60_000 + 5_000


@pytest.fixture
def twin(t0):
    server = TwinServer(make_scenario(t0), config=TwinConfig(l2_book_min_interval_ms=0, market_push_interval_ms=0))
    server.start()
    yield server
    server.close()


@pytest.fixture
def wallet(twin):
    w = Account.create()
    twin.create_account(w.address)
    return w


@pytest.fixture
def ex(twin, wallet) -> Exchange:
    return Exchange(wallet, base_url=twin.url)


class WsCollector:
    """SDK Info with its WebSocket; records messages per channel."""

    def __init__(self, url: str) -> None:
        self.info = Info(url, skip_ws=False)
        self.messages: list[dict] = []
        self._lock = threading.Lock()

    def subscribe(self, subscription: dict) -> None:
        self.info.subscribe(subscription, self._on)

    def _on(self, msg: dict) -> None:
        with self._lock:
            self.messages.append(msg)

    def channel(self, name: str) -> list[dict]:
        with self._lock:
            return [m for m in self.messages if m["channel"] == name]

    def close(self) -> None:
        self.info.disconnect_websocket()


@pytest.fixture
def ws(twin):
    collector = WsCollector(twin.url)
    yield collector
    collector.close()


def statuses(response: dict) -> list:
    assert response["status"] == "ok", response
    return response["response"]["data"]["statuses"]


# ============================================================================================ bootstrap / info


def test_bootstrap_meta_and_info_queries(twin, t0):
    info = Info(twin.url, skip_ws=True)
    assert info.name_to_asset("BTC") == 0 and info.name_to_asset("ETH") == 1
    assert info.asset_to_sz_decimals[0] == 5 and info.asset_to_sz_decimals[1] == 4
    assert info.spot_meta() == {"universe": [], "tokens": []}
    meta, ctxs = info.meta_and_asset_ctxs()
    assert [u["name"] for u in meta["universe"]] == ["BTC", "ETH"]
    assert ctxs[0]["markPx"] == "100000.5" and ctxs[0]["impactPxs"] == ["100000.0", "100001.0"]
    assert info.all_mids() == {"BTC": "100000.5", "ETH": "3000.05"}
    book = info.l2_snapshot("BTC")
    assert book["levels"][0][0] == {"px": "100000.0", "sz": "1.0", "n": 1}
    assert book["levels"][1][1] == {"px": "100002.0", "sz": "3.0", "n": 1}
    assert info.post("/info", {"type": "perpDexs"}) == [None]
    # unknown request type: HTTP 422 plain text, exactly the venue's prefix
    status, text = post(twin.url, "/info", {"type": "nope"})
    assert status == 422 and text.startswith("Failed to deserialize the JSON body into the target type: ")
    status, text = post(twin.url, "/info", {"type": "clearinghouseState"})
    assert status == 422 and "missing field `user`" in text
    # candles built from the replayed prints (no look-ahead: only what the clock has reached)
    assert info.candles_snapshot("BTC", "1m", t0 - 60_000, t0 + 60_000) == []
    twin.advance_to(t0 + 3000)
    candles = info.candles_snapshot("BTC", "1m", t0 - 60_000, t0 + 60_000)
    assert len(candles) == 1 and candles[0]["v"] == "1.8" and candles[0]["n"] == 3 and candles[0]["s"] == "BTC"
    assert candles[0]["o"] == "100000.0" and candles[0]["c"] == "100001.0"


# ============================================================================================ orders


def test_alo_bid_rests_and_order_update_arrives_on_ws(twin, ex, wallet, ws):
    ws.subscribe({"type": "orderUpdates", "user": wallet.address})
    twin.wait_for_subscription("orderUpdates")  # orderUpdates has no snapshot: be subscribed before acting
    cloid = Cloid.from_int(42)
    [st] = statuses(ex.order("BTC", True, 0.001, 99990, ALO, cloid=cloid))
    oid = st["resting"]["oid"]
    assert st == {"resting": {"oid": oid, "cloid": cloid.to_raw()}}
    update = wait_until(lambda: ws.channel("orderUpdates"))[0]["data"][0]
    assert update["status"] == "open" and update["order"]["oid"] == oid and update["order"]["cloid"] == cloid.to_raw()
    assert update["order"]["sz"] == "0.001" and update["order"]["limitPx"] == "99990.0"
    info = ws.info
    [o] = info.open_orders(wallet.address)
    assert (o["oid"], o["side"], o["limitPx"], o["sz"], o["cloid"]) == (oid, "B", "99990.0", "0.001", cloid.to_raw())
    [fo] = info.frontend_open_orders(wallet.address)
    assert fo["tif"] == "Alo" and fo["orderType"] == "Limit" and fo["reduceOnly"] is False
    by_oid = info.query_order_by_oid(wallet.address, oid)
    by_cloid = info.query_order_by_cloid(wallet.address, cloid)
    assert by_oid == by_cloid and by_oid["status"] == "order" and by_oid["order"]["status"] == "open"
    assert info.query_order_by_oid(wallet.address, 1) == {"status": "unknownOid"}
    # the displayed book now includes the twin order
    assert twin.book("BTC")["levels"][0][2] == {"px": "99990.0", "sz": "0.001", "n": 1}


def test_alo_crossing_is_rejected_with_bbo(ex):
    [st] = statuses(ex.order("BTC", True, 0.001, 100001, ALO))
    assert st == {"error": "Post only order would have immediately matched, bbo was 100000@100001. asset=0"}
    [st] = statuses(ex.order("ETH", False, 0.01, 3000, ALO))
    assert st == {"error": "Post only order would have immediately matched, bbo was 3000@3000.1. asset=1"}


def test_replayed_trades_fill_us_after_the_queue_ahead(twin, ex, wallet, ws, t0):
    ws.subscribe({"type": "userFills", "user": wallet.address})
    snapshot = wait_until(lambda: ws.channel("userFills"))[0]["data"]
    assert snapshot == {"user": wallet.address.lower(), "isSnapshot": True, "fills": []}
    cloid = Cloid.from_int(7)
    [st] = statuses(ex.order("BTC", True, 0.5, 100000, ALO, cloid=cloid))
    oid = st["resting"]["oid"]
    assert twin.queue_ahead(wallet.address, oid) == D("1.0")  # behind the displayed 1.0 BTC
    twin.advance_to(t0 + 1000)  # seller prints 0.6 at 100000: queue ahead 1.0 -> 0.4, no fill
    assert twin.fills(wallet.address) == [] and twin.queue_ahead(wallet.address, oid) == D("0.4")
    twin.advance_to(t0 + 2000)  # seller prints 0.7: 0.4 ahead, 0.3 fills us
    [fill] = twin.fills(wallet.address)
    expected_fee = usd(D("0.3") * 100000 * MAKER)
    assert (fill["px"], fill["sz"], fill["side"], fill["crossed"], D(fill["fee"]), fill["dir"]) == (
        "100000.0", "0.3", "B", False, expected_fee, "Open Long")
    assert fill["oid"] == oid and fill["cloid"] == cloid.to_raw() and fill["time"] == t0 + 2000
    assert fill["feeToken"] == "USDC" and fill["startPosition"] == "0.0"
    live = wait_until(lambda: ws.channel("userFills")[1:])[0]["data"]
    assert live["isSnapshot"] is False and live["fills"] == [fill]
    [o] = ws.info.open_orders(wallet.address)
    assert o["sz"] == "0.2" and o["origSz"] == "0.5"
    state = ws.info.user_state(wallet.address)
    [pos] = state["assetPositions"]
    assert pos["position"]["szi"] == "0.3" and pos["position"]["entryPx"] == "100000.0"
    # a buyer print at the ask does not touch our bid
    twin.advance_to(t0 + 3000)
    assert len(twin.fills(wallet.address)) == 1


def test_modify_and_batch_modify_assign_a_new_oid_and_keep_the_cloid(twin, ex, wallet):
    cloid = Cloid.from_int(9)
    [st] = statuses(ex.order("BTC", True, 0.001, 99990, ALO, cloid=cloid))
    oid1 = st["resting"]["oid"]
    [st] = statuses(ex.modify_order(oid1, "BTC", True, 0.002, 99980, ALO, cloid=cloid))  # SDK sends batchModify
    oid2 = st["resting"]["oid"]
    assert oid2 != oid1 and st["resting"]["cloid"] == cloid.to_raw()
    info = Info(twin.url, skip_ws=True)
    assert info.query_order_by_oid(wallet.address, oid1)["order"]["status"] == "canceled"
    by_cloid = info.query_order_by_cloid(wallet.address, cloid)["order"]
    assert by_cloid["order"]["oid"] == oid2 and by_cloid["order"]["limitPx"] == "99980.0" and by_cloid["order"]["sz"] == "0.002"
    # modify addressed by cloid
    [st] = statuses(ex.modify_order(cloid, "BTC", True, 0.002, 99970, ALO, cloid=cloid))
    oid3 = st["resting"]["oid"]
    assert [o["oid"] for o in info.open_orders(wallet.address)] == [oid3]
    # the old oid can no longer be modified
    [st] = statuses(ex.modify_order(oid1, "BTC", True, 0.002, 99960, ALO))
    assert st == {"error": "Cannot modify canceled or filled order"}
    # a replacement that would take liquidity is refused (GTC is treated as ALO); the old order is gone
    [st] = statuses(ex.modify_order(oid3, "BTC", True, 0.002, 100001, GTC, cloid=cloid))
    assert st["error"].startswith("Error placing new order during modify: Post only order would have immediately matched")
    assert info.open_orders(wallet.address) == []
    # the single "modify" action answers {"type": "default"}
    [st] = statuses(ex.order("BTC", False, 0.001, 100010, ALO, cloid=cloid))
    action = {"type": "modify", "oid": st["resting"]["oid"],
              "order": {"a": 0, "b": False, "p": "100020", "s": "0.001", "r": False, "t": {"limit": {"tif": "Alo"}},
                        "c": cloid.to_raw()}}
    assert ex.post("/exchange", signed_exchange_body(wallet, action)) == {"status": "ok", "response": {"type": "default"}}
    assert info.open_orders(wallet.address)[0]["limitPx"] == "100020.0"
    action["oid"] = 12345
    assert ex.post("/exchange", signed_exchange_body(wallet, action)) == {
        "status": "err", "response": "Cannot modify canceled or filled order"}


def test_cancel_and_cancel_by_cloid(twin, ex, wallet):
    [a, b] = statuses(ex.bulk_orders([
        {"coin": "BTC", "is_buy": True, "sz": 0.001, "limit_px": 99990, "order_type": ALO, "reduce_only": False},
        {"coin": "ETH", "is_buy": False, "sz": 0.01, "limit_px": 3001, "order_type": GTC, "reduce_only": False,
         "cloid": Cloid.from_int(5)},
    ]))
    assert statuses(ex.cancel("BTC", a["resting"]["oid"])) == ["success"]
    assert statuses(ex.cancel("BTC", a["resting"]["oid"])) == [
        {"error": "Order was never placed, already canceled, or filled. asset=0"}]
    assert statuses(ex.cancel_by_cloid("ETH", Cloid.from_int(5))) == ["success"]
    assert statuses(ex.cancel_by_cloid("ETH", Cloid.from_int(5))) == [
        {"error": "Order was never placed, already canceled, or filled. asset=1"}]
    assert twin.open_orders(wallet.address) == []
    assert twin.order(wallet.address, b["resting"]["oid"]).status == "canceled"


def test_schedule_cancel_cancels_all_open_orders_at_the_deadline(twin, ex, wallet, ws):
    ws.subscribe({"type": "orderUpdates", "user": wallet.address})
    twin.wait_for_subscription("orderUpdates")
    now = twin.clock.now_ms()
    for px in (99990, 99980):
        statuses(ex.order("BTC", True, 0.001, px, ALO))
    too_early = ex.schedule_cancel(now + 4000)
    assert too_early["status"] == "err" and "at least 5 seconds" in too_early["response"]
    assert ex.schedule_cancel(now + 6000) == {"status": "ok", "response": {"type": "default"}}
    twin.advance_to(now + 5999)
    assert len(twin.open_orders(wallet.address)) == 2
    twin.advance_to(now + 6000)
    assert twin.open_orders(wallet.address) == []
    updates = wait_until(lambda: (lambda us: us if len(us) >= 2 else None)(
        [u for m in ws.channel("orderUpdates") for u in m["data"] if u["status"] == "scheduledCancel"]))
    assert len(updates) == 2
    # clearing: no cancel happens
    statuses(ex.order("BTC", True, 0.001, 99990, ALO))
    assert ex.schedule_cancel(now + 20_000)["status"] == "ok"
    assert ex.schedule_cancel(None) == {"status": "ok", "response": {"type": "default"}}
    twin.advance_to(now + 30_000)
    assert len(twin.open_orders(wallet.address)) == 1
    assert twin.engine.accounts[wallet.address.lower()].schedule_cancel_triggers_on(twin.clock.now_ms()) == 1


def test_schedule_cancel_trigger_limit_per_day(t0):
    with TwinServer(make_scenario(t0), config=TwinConfig(schedule_cancel_max_triggers_per_day=1)) as twin:
        w = Account.create()
        twin.create_account(w.address)
        ex = Exchange(w, base_url=twin.url)
        now = twin.clock.now_ms()
        assert ex.schedule_cancel(now + 5000)["status"] == "ok"
        twin.advance_to(now + 5000)
        refused = ex.schedule_cancel(twin.clock.now_ms() + 5000)
        assert refused["status"] == "err" and "max 1 per day" in refused["response"]


def test_taker_orders_walk_the_book_and_state_matches_fills_and_fees(twin, ex, wallet):
    start = D(100_000)
    [st] = statuses(ex.order("BTC", True, 0.01, 100002, IOC))
    assert st["filled"]["totalSz"] == "0.01" and st["filled"]["avgPx"] == "100001.0"
    [st] = statuses(ex.order("BTC", False, 0.01, 99999, IOC))
    assert st["filled"]["avgPx"] == "100000.0"
    fills = Info(twin.url, skip_ws=True).user_fills(wallet.address)  # newest first
    assert [f["dir"] for f in fills] == ["Close Long", "Open Long"] and all(f["crossed"] for f in fills)
    fee1, fee2 = usd(D("1000.01") * TAKER), usd(D("1000.00") * TAKER)
    assert [D(f["fee"]) for f in fills] == [fee2, fee1]
    assert fills[0]["closedPnl"] == "-0.01"
    state = Info(twin.url, skip_ws=True).user_state(wallet.address)
    assert state["assetPositions"] == []
    assert D(state["marginSummary"]["accountValue"]) == start - fee1 - fee2 - D("0.01")
    # GTC that crosses: takes the 1.49 left at 100001 and 0.01 ... then rests the remainder
    [st] = statuses(ex.order("BTC", True, 2.0, 100001, GTC, cloid=Cloid.from_int(3)))
    assert "resting" in st
    [o] = twin.open_orders(wallet.address)
    assert o["sz"] == "0.51" and o["origSz"] == "2.0"  # 1.49 of replayed 1.5 was left (0.01 consumed above)
    state = Info(twin.url, skip_ws=True).user_state(wallet.address)
    assert state["assetPositions"][0]["position"]["szi"] == "1.49"
    # IOC that cannot match anything
    [st] = statuses(ex.order("BTC", True, 0.001, 99000, IOC))
    assert st == {"error": "Order could not immediately match against any resting orders. asset=0"}


def test_twin_accounts_trade_with_each_other_and_self_trade_prevention(twin, ex, wallet):
    other = Account.create()
    twin.create_account(other.address)
    ex_other = Exchange(other, base_url=twin.url)
    [st] = statuses(ex_other.order("BTC", False, 0.01, 100001, ALO))
    maker_oid = st["resting"]["oid"]
    [st] = statuses(ex.order("BTC", True, 1.51, 100001, IOC))  # 1.5 replayed, then the twin maker
    assert st["filled"]["totalSz"] == "1.51"
    [maker_fill] = twin.fills(other.address)
    assert maker_fill["crossed"] is False and maker_fill["oid"] == maker_oid and maker_fill["sz"] == "0.01"
    assert twin.order(other.address, maker_oid).status == "filled"
    # self-trade prevention: our own resting ask is expired by our own crossing bid
    [st] = statuses(ex.order("BTC", False, 0.01, 100002, ALO))
    own_oid = st["resting"]["oid"]
    twin.engine.books["BTC"].set_level("A", D(100002), D(0))  # leave only our order at 100002
    [st] = statuses(ex.order("BTC", True, 0.01, 100002, IOC))
    assert st == {"error": "Order could not immediately match against any resting orders. asset=0"}
    assert twin.order(wallet.address, own_oid).status == "selfTradeCanceled"


def test_order_rejections_tick_min_value_size_margin_reduce_only(twin, ex):
    cases = [
        (("BTC", True, 0.001, 100000.5, ALO), "Price must be divisible by tick size. asset=0"),
        (("ETH", True, 0.01, 2999.95, ALO), "Price must be divisible by tick size. asset=1"),
        (("BTC", True, 0.00009, 99990, ALO), "Order must have minimum value of $10. asset=0"),
        (("BTC", True, 0.001, 99990, ALO, True), "Reduce only order would increase position. asset=0"),
    ]
    for args, error in cases:
        assert statuses(ex.order(*args)) == [{"error": error}]
    bad_size = {"type": "order", "orders": [{"a": 0, "b": True, "p": "99990", "s": "0.0000001", "r": False,
                                             "t": {"limit": {"tif": "Alo"}}}], "grouping": "na"}
    assert statuses(ex.post("/exchange", signed_exchange_body(ex.wallet, bad_size))) == [
        {"error": "Order has invalid size. asset=0"}]
    poor = Account.create()
    twin.create_account(poor.address, 10)
    [st] = statuses(Exchange(poor, base_url=twin.url).order("BTC", True, 0.01, 99990, ALO))  # $1000 at 20x = $50
    assert st == {"error": "Insufficient margin to place order. asset=0"}


# ============================================================================================ signatures and nonces


def test_unknown_key_and_bad_signature_are_rejected(twin, wallet):
    stranger = Account.create()
    res = Exchange(stranger, base_url=twin.url).order("BTC", True, 0.001, 99990, ALO)
    assert res == {"status": "err", "response": f"User or API Wallet {stranger.address.lower()} does not exist."}
    action = {"type": "order", "orders": [{"a": 0, "b": True, "p": "99990", "s": "0.001", "r": False,
                                           "t": {"limit": {"tif": "Alo"}}}], "grouping": "na"}
    body = signed_exchange_body(wallet, action)
    body["action"]["orders"][0]["p"] = "99991"  # tampered after signing
    status, text = post(twin.url, "/exchange", body)
    assert status == 200 and "does not exist." in text and wallet.address.lower() not in text
    mainnet_signed = signed_exchange_body(wallet, action, is_mainnet=True)  # wrong phantom-agent source
    assert "does not exist." in post(twin.url, "/exchange", mainnet_signed)[1]


def test_duplicate_and_stale_nonces_are_rejected(twin, wallet):
    action = {"type": "scheduleCancel"}
    nonce = wall_ms()
    body = signed_exchange_body(wallet, action, nonce=nonce)
    assert post(twin.url, "/exchange", body) == (200, '{"status":"ok","response":{"type":"default"}}')
    status, text = post(twin.url, "/exchange", body)
    assert (status, text) == (200, f'{{"status":"err","response":"Invalid nonce: duplicate nonce {nonce}"}}')
    stale = signed_exchange_body(wallet, action, nonce=nonce - 3 * 86_400_000)
    assert "Invalid nonce: nonce too low" in post(twin.url, "/exchange", stale)[1]
    future = signed_exchange_body(wallet, action, nonce=nonce + 2 * 86_400_000)
    assert "Invalid nonce: nonce too high" in post(twin.url, "/exchange", future)[1]


def test_expires_after(twin, ex):
    ex.set_expires_after(wall_ms() - 1000)
    res = ex.order("BTC", True, 0.001, 99990, ALO)
    assert res["status"] == "err" and "expired" in res["response"]
    ex.set_expires_after(wall_ms() + 60_000)
    assert "resting" in statuses(ex.order("BTC", True, 0.001, 99990, ALO))[0]


def test_approve_agent_then_agent_signed_order_acts_on_master(twin, ex, wallet):
    result, agent_key = ex.approve_agent()
    assert result == {"status": "ok", "response": {"type": "default"}}
    agent = Account.from_key(agent_key)
    agent_ex = Exchange(agent, base_url=twin.url, account_address=wallet.address)
    [st] = statuses(agent_ex.order("BTC", True, 0.001, 99990, ALO))
    assert [o["oid"] for o in twin.open_orders(wallet.address)] == [st["resting"]["oid"]]
    info = Info(twin.url, skip_ws=True)
    assert info.open_orders(agent.address) == []  # queries must use the master address
    assert statuses(agent_ex.cancel("BTC", st["resting"]["oid"])) == ["success"]
    # a second unnamed agent replaces the first one
    ex.approve_agent()
    res = agent_ex.order("BTC", True, 0.001, 99990, ALO)
    assert res == {"status": "err", "response": f"User or API Wallet {agent.address.lower()} does not exist."}
    # a key without an account cannot approve agents
    res, _ = Exchange(Account.create(), base_url=twin.url).approve_agent()
    assert res["status"] == "err" and res["response"].startswith("Must deposit before performing actions.")


def test_vault_address_acts_on_a_registered_sub_account(twin, wallet):
    sub = Account.create().address
    twin.register_sub_account(wallet.address, sub, 5_000)
    vault_ex = Exchange(wallet, base_url=twin.url, vault_address=sub)
    [st] = statuses(vault_ex.order("BTC", True, 0.001, 99990, ALO))
    assert [o["oid"] for o in twin.open_orders(sub)] == [st["resting"]["oid"]]
    assert twin.open_orders(wallet.address) == []
    intruder = Account.create()
    twin.create_account(intruder.address)
    res = Exchange(intruder, base_url=twin.url, vault_address=sub).order("BTC", True, 0.001, 99990, ALO)
    assert res == {"status": "err", "response": "Vault not registered"}


# ============================================================================================ funding, limits, faults


def test_hourly_funding_is_paid_on_positions(twin, ex, wallet, t0):
    statuses(ex.order("BTC", True, 0.01, 100001, IOC))
    balance_before = twin.engine.accounts[wallet.address.lower()].balance_usd
    next_hour = (t0 // 3_600_000 + 1) * 3_600_000
    twin.advance_to(next_hour)
    info = Info(twin.url, skip_ws=True)
    [payment] = info.user_funding_history(wallet.address, t0)
    expected = usd(D("0.01") * D("100000.5") * D("0.0000125"))
    assert D(payment["delta"]["usdc"]) == -expected and payment["delta"]["szi"] == "0.01"
    assert payment["time"] == next_hour
    assert twin.engine.accounts[wallet.address.lower()].balance_usd == balance_before - expected
    rows = info.funding_history("ETH", t0)
    assert rows == [{"coin": "ETH", "fundingRate": "0.0000125", "premium": "0.0", "time": next_hour}]
    pos = info.user_state(wallet.address)["assetPositions"][0]["position"]
    assert D(pos["cumFunding"]["allTime"]) == expected


def test_user_rate_limit_and_ip_limit_enforcement(t0):
    cfg = TwinConfig(enforce_rate_limits=True, ip_weight_per_minute=45)
    with TwinServer(make_scenario(t0), config=cfg) as twin:
        w = Account.create()
        twin.create_account(w.address)
        ex = Exchange(w, base_url=twin.url, meta={"universe": [{"name": "BTC", "szDecimals": 5},
                                                                {"name": "ETH", "szDecimals": 4}]},
                      spot_meta={"universe": [], "tokens": []})
        ex.bulk_orders([{"coin": "BTC", "is_buy": True, "sz": 0.001, "limit_px": 99990 - i, "order_type": ALO,
                         "reduce_only": False} for i in range(3)])
        assert twin.engine.user_rate_limit(w.address) == {"cumVlm": "0.0", "nRequestsUsed": 3, "nRequestsCap": 10000,
                                                          "nRequestsSurplus": 0}
        info = Info(twin.url, skip_ws=True, meta={"universe": []}, spot_meta={"universe": [], "tokens": []})
        assert info.user_rate_limit(w.address)["nRequestsUsed"] == 3  # weight 20 (+1 exchange = 21)
        info.meta()  # 20 more -> 41
        with pytest.raises(ClientError) as err:
            info.meta()
        assert err.value.status_code == 429 and err.value.error_message == "null"


def test_http_fault_injection(twin, ex):
    info = Info(twin.url, skip_ws=True)
    twin.faults.http_error(429, count=1)
    with pytest.raises(ClientError) as err:
        info.meta()
    assert err.value.status_code == 429 and err.value.error_code is None and err.value.error_message == "null"
    assert info.meta()["universe"][0]["name"] == "BTC"  # only the next request was affected
    twin.faults.http_error(503, count=1, path="/exchange")
    assert info.all_mids()["BTC"] == "100000.5"  # other paths unaffected
    with pytest.raises(ServerError) as err5:
        ex.order("BTC", True, 0.001, 99990, ALO)
    assert err5.value.status_code == 503
    twin.faults.refuse_http(count=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        info.meta()
    twin.faults.delay_http(150)
    started = time.monotonic()
    info.all_mids()
    assert time.monotonic() - started >= 0.15
    twin.faults.delay_http(0)
    twin.faults.reject_orders(1, "Insufficient margin to place order.")
    assert statuses(ex.order("BTC", True, 0.001, 99990, ALO)) == [{"error": "Insufficient margin to place order. asset=0"}]
    assert "resting" in statuses(ex.order("BTC", True, 0.001, 99990, ALO))[0]
    # the admin endpoint sets the same faults over HTTP
    assert post(twin.url, "/_twin/faults", {"http_error": {"status": 429, "count": 1}})[0] == 200
    with pytest.raises(ClientError):
        info.meta()
    status, text = post(twin.url, "/_twin/faults", {"bogus": 1})
    assert status == 400 and "unknown fault keys" in text


def test_restart_keeps_state_on_the_same_port(twin, ex, wallet):
    [st] = statuses(ex.order("BTC", True, 0.001, 99990, ALO))
    url = twin.url
    twin.restart(down_s=0.05)
    assert twin.url == url
    assert [o["oid"] for o in Info(url, skip_ws=True).open_orders(wallet.address)] == [st["resting"]["oid"]]
    assert statuses(ex.cancel("BTC", st["resting"]["oid"])) == ["success"]


def test_update_leverage_sdk_market_helpers_and_info_extras(twin, ex, wallet, t0):
    ok = {"status": "ok", "response": {"type": "default"}}
    assert ex.update_leverage(40, "BTC") == ok
    assert ex.update_leverage(41, "BTC") == {"status": "err", "response": "Invalid leverage value"}
    [st] = statuses(ex.market_open("BTC", True, 0.01))  # IOC at mid + 5 %, rounded like the SDK does
    assert st["filled"] == {"totalSz": "0.01", "avgPx": "100001.0", "oid": st["filled"]["oid"]}
    info = Info(twin.url, skip_ws=True)
    pos = info.user_state(wallet.address)["assetPositions"][0]["position"]
    assert pos["leverage"] == {"type": "cross", "value": 40} and D(pos["marginUsed"]) == usd(D("0.01") * D("100000.5") / 40)
    assert ex.update_leverage(10, "BTC", is_cross=False) == {
        "status": "err", "response": "Cannot switch leverage type with open position."}
    [st] = statuses(ex.market_close("BTC"))
    assert st["filled"]["totalSz"] == "0.01"
    assert info.user_state(wallet.address)["assetPositions"] == []
    fills = info.user_fills_by_time(wallet.address, t0)  # the SDK sends "endTime": null
    assert [f["dir"] for f in fills] == ["Close Long", "Open Long"]
    assert info.user_fills_by_time(wallet.address, t0 + 10_000) == []
    assert info.user_fees(wallet.address)["userAddRate"] == "0.00015"
    assert [h["status"] for h in info.historical_orders(wallet.address)] == ["filled", "filled"]
    assert info.user_rate_limit(wallet.address)["cumVlm"] == "2000.01"
    malformed = requests.post(twin.url + "/info", data="{not json", headers={"Content-Type": "application/json"}, timeout=5)
    assert malformed.status_code == 422 and malformed.text.startswith("Failed to deserialize the JSON body into the target type: ")
    status, text = post(twin.url, "/exchange", {"action": {"type": "launchRocket"}, "nonce": 1, "signature": {}})
    assert status == 422 and "unknown variant `launchRocket`" in text


def test_funding_follows_the_data_series_where_present(t0):
    s = make_scenario(t0).funding("BTC", 1500, "0.0001")
    with TwinServer(s) as twin:
        w = Account.create()
        twin.create_account(w.address)
        statuses(Exchange(w, base_url=twin.url).order("BTC", False, 0.01, 99999, IOC))  # short 0.01
        twin.advance_to(t0 + 1500)
        info = Info(twin.url, skip_ws=True)
        [payment] = info.user_funding_history(w.address, t0)
        assert D(payment["delta"]["usdc"]) == usd(D("0.01") * D("100000.5") * D("0.0001"))  # shorts receive
        assert payment["time"] == t0 + 1500 and payment["delta"]["fundingRate"] == "0.0001"
        next_hour = (t0 // 3_600_000 + 1) * 3_600_000
        twin.advance_to(next_hour)
        assert [r["time"] for r in info.funding_history("BTC", t0)] == [t0 + 1500]  # no constant-rate row for BTC
        assert [r["time"] for r in info.funding_history("ETH", t0)] == [next_hour]
        assert info.meta_and_asset_ctxs()[1][0]["funding"] == "0.0001"
