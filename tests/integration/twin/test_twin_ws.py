"""The twin's WebSocket protocol with a raw client (acks, errors, channels, faults, post) and admin endpoints."""

from __future__ import annotations

import json
import time
from decimal import Decimal as D

import pytest
from eth_account import Account
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from support.twin_client import WsProbe
from support.twin_client import post
from support.twin_client import signed_exchange_body
from support.twin_client import wait_until

from botmm_nautilus.twin import Scenario
from botmm_nautilus.twin import TwinConfig
from botmm_nautilus.twin import TwinServer
from botmm_nautilus.twin.clock import wall_ms

ZERO_ADDRESS = "0x" + "0" * 40
ALO = {"limit": {"tif": "Alo"}}


@pytest.fixture
def t0() -> int:
    return wall_ms() // 60_000 * 60_000 + 1000  # one second into a minute: all prints share one 1m candle


@pytest.fixture
def twin(t0):
    s = Scenario(["BTC", "ETH"], start_ms=t0)
    s.book("BTC", 0, bids=[(100000, "1.0"), (99999, "2.0")], asks=[(100001, "1.5"), (100002, "3.0")])
    s.book("ETH", 0, bids=[("3000.0", 10)], asks=[("3000.1", 10)])
    s.trade("BTC", 1000, "A", 100000, "0.6")
    s.level("BTC", 1000, "B", 100000, "0.4")
    s.trade("BTC", 2000, "B", 100001, "0.5")
    server = TwinServer(s, config=TwinConfig(l2_book_min_interval_ms=0, market_push_interval_ms=0))
    server.start()
    yield server
    server.close()


@pytest.fixture
def probe(twin):
    p = WsProbe(twin.ws_url)
    yield p
    p.close()


def acked(probe: WsProbe, subscription: dict) -> None:
    probe.subscribe(subscription)
    probe.wait_channel("subscriptionResponse", lambda m: m["data"]["subscription"] == subscription)


def test_greeting_ping_subscribe_ack_and_errors(probe):
    wait_until(lambda: probe.messages)
    assert probe.messages[0] == "Websocket connection established."
    probe.send({"method": "ping"})
    probe.wait_channel("pong")
    sub = {"type": "l2Book", "coin": "BTC"}
    probe.subscribe(sub)
    ack = probe.wait_channel("subscriptionResponse")
    assert ack == {"channel": "subscriptionResponse", "data": {"method": "subscribe", "subscription": sub}}
    snapshot = probe.wait_channel("l2Book")["data"]
    assert snapshot["coin"] == "BTC" and snapshot["levels"][0][0] == {"px": "100000.0", "sz": "1.0", "n": 1}
    probe.subscribe(sub)
    assert probe.wait_channel("error")["data"] == 'Already subscribed: {"type":"l2Book","coin":"BTC"}'
    probe.subscribe({"type": "nope"})
    probe.wait_channel("error", lambda m: m["data"] == 'Invalid subscription {"type":"nope"}')
    probe.subscribe({"type": "l2Book", "coin": "DOGE"})
    probe.wait_channel("error", lambda m: "DOGE" in m["data"])
    probe.send("not json")
    probe.wait_channel("error", lambda m: m["data"].startswith("Error parsing JSON"))
    probe.unsubscribe(sub)
    probe.wait_channel("subscriptionResponse", lambda m: m["data"]["method"] == "unsubscribe")
    probe.unsubscribe(sub)
    probe.wait_channel("error", lambda m: m["data"].startswith("Already unsubscribed"))


def test_market_channels(twin, probe, t0):
    for sub in ({"type": "trades", "coin": "BTC"}, {"type": "bbo", "coin": "BTC"}, {"type": "allMids"},
                {"type": "candle", "coin": "BTC", "interval": "1m"}, {"type": "activeAssetCtx", "coin": "BTC"},
                {"type": "l2Book", "coin": "BTC", "nSigFigs": 2}):
        acked(probe, sub)
    assert probe.wait_channel("allMids")["data"]["mids"] == {"BTC": "100000.5", "ETH": "3000.05"}
    ctx = probe.wait_channel("activeAssetCtx")["data"]
    assert ctx["coin"] == "BTC" and ctx["ctx"]["markPx"] == "100000.5" and ctx["ctx"]["funding"] == "0.0000125"
    agg = probe.wait_channel("l2Book")["data"]["levels"]
    # 2 significant figures per price: bids round down (99999 -> 99000), asks up (100001 -> 110000)
    assert agg[0] == [{"px": "100000.0", "sz": "1.0", "n": 1}, {"px": "99000.0", "sz": "2.0", "n": 1}]
    assert agg[1] == [{"px": "110000.0", "sz": "4.5", "n": 2}]
    twin.advance_to(t0 + 1000)
    [trade] = probe.wait_channel("trades")["data"]
    assert (trade["coin"], trade["side"], trade["px"], trade["sz"], trade["time"]) == ("BTC", "A", "100000.0", "0.6", t0 + 1000)
    assert trade["users"] == [ZERO_ADDRESS, ZERO_ADDRESS] and isinstance(trade["tid"], int)
    bbo = probe.wait_channel("bbo", lambda m: m["data"]["bbo"][0]["sz"] == "0.4")["data"]
    assert bbo["bbo"][1] == {"px": "100001.0", "sz": "1.5", "n": 1}
    candle = probe.wait_channel("candle")["data"]
    assert (candle["s"], candle["i"], candle["o"], candle["v"], candle["n"]) == ("BTC", "1m", "100000.0", "0.6", 1)
    twin.advance_to(t0 + 2000)
    probe.wait_channel("trades", lambda m: m["data"][0]["side"] == "B")
    probe.wait_channel("candle", lambda m: m["data"]["v"] == "1.1" and m["data"]["c"] == "100001.0")


def test_user_channels_order_updates_fills_user_events(twin, probe, t0):
    wallet = Account.create()
    twin.create_account(wallet.address)
    user = wallet.address
    for sub in ({"type": "orderUpdates", "user": user}, {"type": "userEvents", "user": user},
                {"type": "userFills", "user": user}, {"type": "userFundings", "user": user}):
        acked(probe, sub)
    assert probe.wait_channel("userFills")["data"]["isSnapshot"] is True
    assert probe.wait_channel("userFundings")["data"] == {"user": user.lower(), "isSnapshot": True, "fundings": []}
    ex = Exchange(wallet, base_url=twin.url)
    oid = ex.order("BTC", True, 0.2, 100000, ALO)["response"]["data"]["statuses"][0]["resting"]["oid"]
    assert probe.wait_channel("orderUpdates")["data"][0]["status"] == "open"
    twin.advance_to(t0 + 1000)  # 0.6 printed: 1.0 ahead of us -> no fill yet
    ex.order("BTC", False, 0.01, 99999, {"limit": {"tif": "Ioc"}})  # our own IOC takes the replayed bid at 100000 first
    fills_event = probe.wait_channel("user", lambda m: "fills" in m["data"])["data"]["fills"]
    assert fills_event[0]["crossed"] is True and fills_event[0]["side"] == "A"
    live = [m for m in probe.channel("userFills") if not m["data"]["isSnapshot"]]
    assert live and live[0]["data"]["fills"] == fills_event
    ex.cancel("BTC", oid)
    probe.wait_channel("orderUpdates", lambda m: m["data"][0]["status"] == "canceled" and m["data"][0]["order"]["oid"] == oid)


def test_drop_then_reconnect_and_resubscribe(twin, probe):
    acked(probe, {"type": "l2Book", "coin": "ETH"})
    twin.faults.drop_ws()
    assert probe.closed.wait(5)
    again = WsProbe(twin.ws_url)
    try:
        acked(again, {"type": "l2Book", "coin": "ETH"})
        assert again.wait_channel("l2Book")["data"]["coin"] == "ETH"
    finally:
        again.close()
    # the SDK's Info (no reconnect logic of its own) can simply be rebuilt
    info = Info(twin.url, skip_ws=False)
    got = []
    info.subscribe({"type": "allMids"}, got.append)
    wait_until(lambda: got)
    info.disconnect_websocket()


def test_stall_delays_pushes_and_idle_timeout_closes(twin, t0):
    probe = WsProbe(twin.ws_url)
    try:
        wait_until(lambda: probe.messages)
        twin.faults.stall_ws(0.4)
        sent = time.monotonic()
        probe.send({"method": "ping"})
        probe.wait_channel("pong")
        assert time.monotonic() - sent >= 0.3
    finally:
        probe.close()
    s = Scenario(["BTC"], start_ms=t0).book("BTC", 0, bids=[(100000, 1)], asks=[(100001, 1)])
    with TwinServer(s, config=TwinConfig(ws_idle_timeout_s=0.3, ws_greeting=False)) as quiet:
        idle = WsProbe(quiet.ws_url)
        assert idle.closed.wait(3)


def test_ws_post_info_and_action(twin, probe):
    probe.send({"method": "post", "id": 7, "request": {"type": "info", "payload": {"type": "allMids"}}})
    reply = probe.wait_channel("post", lambda m: m["data"]["id"] == 7)["data"]["response"]
    assert reply == {"type": "info", "payload": {"type": "allMids", "data": {"BTC": "100000.5", "ETH": "3000.05"}}}
    wallet = Account.create()
    twin.create_account(wallet.address)
    action = {"type": "order", "orders": [{"a": 0, "b": True, "p": "99990", "s": "0.001", "r": False,
                                           "t": {"limit": {"tif": "Alo"}}}], "grouping": "na"}
    probe.send({"method": "post", "id": 8, "request": {"type": "action", "payload": signed_exchange_body(wallet, action)}})
    reply = probe.wait_channel("post", lambda m: m["data"]["id"] == 8)["data"]["response"]
    assert reply["type"] == "action" and "resting" in reply["payload"]["response"]["data"]["statuses"][0]
    probe.send({"method": "post", "id": 9, "request": {"type": "info", "payload": {"type": "bogus"}}})
    reply = probe.wait_channel("post", lambda m: m["data"]["id"] == 9)["data"]["response"]
    assert reply["type"] == "error" and reply["payload"].startswith("Failed to deserialize")


def test_admin_endpoints(twin, t0):
    addr = Account.create().address
    status, text = post(twin.url, "/_twin/accounts", {"address": addr, "usdc": 1234.5})
    assert status == 200 and json.loads(text)["state"]["marginSummary"]["accountValue"] == "1234.5"
    status, text = post(twin.url, "/_twin/clock", {"advance_ms": 1500})
    assert status == 200 and json.loads(text)["now_ms"] == t0 + 1500
    status, text = post(twin.url, "/_twin/step", {"n": 1})
    assert json.loads(text)["now_ms"] == t0 + 2000
    state = json.loads(__import__("requests").get(twin.url + "/_twin/state", timeout=5).text)
    assert state["events_remaining"] == 0 and addr.lower() in state["accounts"]


def test_admin_restart_keeps_state_and_drops_sockets(twin):
    addr = Account.create().address
    twin.create_account(addr, 777)
    probe = WsProbe(twin.ws_url)
    try:
        acked(probe, {"type": "allMids"})
        status, text = post(twin.url, "/_twin/restart", {"down_s": 0.1})
        assert status == 200 and json.loads(text)["restarting"] is True
        assert probe.closed.wait(5)  # clients see the connection go away and must reconnect

        def answered():
            try:
                return Info(twin.url, skip_ws=True).user_state(addr)
            except Exception:  # noqa: BLE001 - still down
                return None

        state = wait_until(answered, timeout_s=10, interval_s=0.05)
        assert state["marginSummary"]["accountValue"] == "777.0"
    finally:
        probe.close()


def test_book_moving_through_our_bid_fills_us_over_websocket_and_no_crossed_l2book(t0):
    """Rule 5 of the twin's queue model end to end: the replayed ask walks down through our resting bid."""
    s = Scenario(["BTC"], start_ms=t0)
    s.book("BTC", 0, bids=[(100000, "1.0"), (99999, "2.0")], asks=[(100001, "1.5"), (100002, "3.0")])
    s.level("BTC", 1000, "B", 100000, 0).level("BTC", 1000, "A", 100000, "0.1")  # locks our bid: 0.1 of 0.3
    s.level("BTC", 2000, "B", 99999, 0).level("BTC", 2000, "A", 99999, "5")  # through it: the rest fills
    server = TwinServer(s, config=TwinConfig(l2_book_min_interval_ms=0, market_push_interval_ms=0))
    server.start()
    probe = WsProbe(server.ws_url)
    try:
        wallet = Account.create()
        server.create_account(wallet.address)
        user = wallet.address.lower()
        for sub in ({"type": "l2Book", "coin": "BTC"}, {"type": "trades", "coin": "BTC"},
                    {"type": "userFills", "user": wallet.address}):
            acked(probe, sub)
        ex = Exchange(wallet, base_url=server.url)
        status = ex.order("BTC", True, 0.3, 100000, ALO)["response"]["data"]["statuses"][0]
        oid = status["resting"]["oid"]
        server.advance_to(t0 + 1000)
        first = probe.wait_channel("userFills", lambda m: not m["data"]["isSnapshot"])["data"]["fills"]
        assert [(f["px"], f["sz"], f["crossed"], f["oid"]) for f in first] == [("100000.0", "0.1", False, oid)]
        server.advance_to(t0 + 2000)
        fills = wait_until(lambda: [f for m in probe.channel("userFills") if not m["data"]["isSnapshot"]
                                    for f in m["data"]["fills"]] if len(probe.channel("userFills")) >= 3 else None)
        assert [(f["px"], f["sz"], f["crossed"]) for f in fills] == [("100000.0", "0.1", False), ("100000.0", "0.2", False)]
        prints = wait_until(lambda: [t for m in probe.channel("trades") for t in m["data"]]
                            if len(probe.channel("trades")) >= 2 else None)
        assert [(t["side"], t["px"], t["sz"], t["users"][0], t["tid"]) for t in prints] == [
            ("A", "100000.0", "0.1", user, fills[0]["tid"]), ("A", "100000.0", "0.2", user, fills[1]["tid"])]
        probe.wait_channel("l2Book", lambda m: m["data"]["levels"][1][0] == {"px": "99999.0", "sz": "4.8", "n": 1})
        for m in probe.channel("l2Book"):
            bids, asks = m["data"]["levels"]
            assert not (bids and asks) or D(bids[0]["px"]) < D(asks[0]["px"]), m
        assert server.order(user, oid).status == "filled"
    finally:
        probe.close()
        server.close()
