"""Pure unit tests of the Hyperliquid twin: queue model, matching, accounts, nonces, candles, signing.

No sockets here (see test_twin_sdk.py, test_twin_ws.py and test_twin_catalog.py for those).
"""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest
from eth_account import Account
from hyperliquid.utils import signing as sdk

from adapters.hyperliquid.twin.accounts import Account as TwinAccount
from adapters.hyperliquid.twin.accounts import AgentRegistry
from adapters.hyperliquid.twin.accounts import NonceError
from adapters.hyperliquid.twin.accounts import NonceTracker
from adapters.hyperliquid.twin.accounts import fill_direction
from adapters.hyperliquid.twin.candles import CandleStore
from adapters.hyperliquid.twin.candles import bucket_bounds
from adapters.hyperliquid.twin.clock import TwinClock
from adapters.hyperliquid.twin.matching import ASK
from adapters.hyperliquid.twin.matching import BID
from adapters.hyperliquid.twin.matching import CoinBook
from adapters.hyperliquid.twin.matching import TwinOrder
from adapters.hyperliquid.twin.matching import aggregate_levels
from adapters.hyperliquid.twin.replay import MarketTrade
from adapters.hyperliquid.twin.replay import ReplayCursor
from adapters.hyperliquid.twin.signing import recover_l1_signer
from adapters.hyperliquid.twin.signing import recover_user_signed_signer
from adapters.hyperliquid.twin.wire import fmt_decimal
from adapters.hyperliquid.twin.wire import fmt_plain

_seq = iter(range(1, 10_000))


def order(side: str, px, sz, owner: str = "0xa", oid: int | None = None) -> TwinOrder:
    seq = next(_seq)
    return TwinOrder(oid=oid or seq, owner=owner, coin="BTC", asset=0, side=side, limit_px=D(str(px)),
                     orig_sz=D(str(sz)), sz=D(str(sz)), tif="Alo", reduce_only=False, cloid=None, timestamp_ms=0, seq=seq)


def btc_book() -> CoinBook:
    book = CoinBook("BTC")
    book.apply_snapshot([(D(100000), D("1.0")), (D(99999), D("2.0"))], [(D(100001), D("1.5")), (D(100002), D("3"))])
    return book


# ------------------------------------------------------------------------------------- queue model


def test_resting_order_joins_behind_displayed_depth_and_fills_after_queue_consumed():
    book = btc_book()
    bid = order(BID, 100000, "0.5")
    book.add_resting(bid)
    assert bid.queue_ahead == D("1.0")
    # a seller prints 0.6 at our price: only queue ahead consumed
    assert book.on_market_trade(ASK, D(100000), D("0.6")) == []
    assert bid.queue_ahead == D("0.4")
    # next print 0.7: 0.4 ahead, then 0.3 fills us (maker at our price)
    fills = book.on_market_trade(ASK, D(100000), D("0.7"))
    assert [(f.px, f.sz) for f in fills] == [(D(100000), D("0.3"))]
    assert bid.sz == D("0.2") and bid.queue_ahead == 0
    fills = book.on_market_trade(ASK, D(100000), D("5"))
    assert [(f.px, f.sz) for f in fills] == [(D(100000), D("0.2"))]
    assert bid.sz == 0 and book.resting_orders() == []


def test_level_shrink_does_not_advance_queue_and_book_moving_through_without_print_does_not_fill():
    book = btc_book()
    bid = order(BID, 100000, "0.5")
    book.add_resting(bid)
    book.set_level(BID, D(100000), D("0.1"))  # shrink
    assert bid.queue_ahead == D("1.0")
    book.set_level(BID, D(100000), D(0))  # level gone
    book.set_level(ASK, D(99999), D("1"))  # the ask moves through our bid: no print, no fill
    assert bid.sz == D("0.5") and bid.queue_ahead == D("1.0")
    assert book.would_cross(BID, D(100000))  # displayed book now crossed by our own resting order


def test_trade_through_our_price_fills_completely_and_buyer_prints_do_not_fill_bids():
    book = btc_book()
    bid = order(BID, 100000, "0.5")
    book.add_resting(bid)
    assert book.on_market_trade(BID, D(100001), D("9")) == []  # buyer aggressor: asks, not our bid
    fills = book.on_market_trade(ASK, D(99999), D("0.01"))  # seller printed below our bid
    assert [(f.px, f.sz) for f in fills] == [(D(100000), D("0.5"))]


def test_trade_without_aggressor_is_classified_against_the_touch():
    book = btc_book()
    ask = order(ASK, 100001, "0.2")
    book.add_resting(ask)
    assert ask.queue_ahead == D("1.5")
    assert book.classify_aggressor(D(100001)) == BID
    assert book.classify_aggressor(D("100000.5")) is None
    fills = book.on_market_trade(None, D(100001), D("2"))
    assert [(f.px, f.sz) for f in fills] == [(D(100001), D("0.2"))]


def test_two_twin_orders_at_one_level_fill_in_time_priority():
    book = btc_book()
    first, second = order(BID, 100000, "0.3"), order(BID, 100000, "0.3")
    book.add_resting(first)
    book.add_resting(second)
    fills = book.on_market_trade(ASK, D(100000), D("1.4"))  # 1.0 ahead, then 0.3 first, 0.1 second
    assert [(f.order is first, f.sz) for f in fills] == [(True, D("0.3")), (False, D("0.1"))]


def test_taker_walks_replayed_levels_then_twin_orders_with_self_trade_prevention():
    book = btc_book()
    mine = order(ASK, 100001, "0.5", owner="0xa")
    other = order(ASK, 100001, "0.5", owner="0xb")
    book.add_resting(mine)
    book.add_resting(other)
    result = book.take(BID, D(100002), D("2.5"), owner="0xa")
    # 1.5 replayed at 100001, own maker expired, 0.5 from 0xb, then 0.5 replayed at 100002
    assert [(t.px, t.sz, t.maker.owner if t.maker else None) for t in result.takes] == [
        (D(100001), D("1.5"), None), (D(100001), D("0.5"), "0xb"), (D(100002), D("0.5"), None)]
    assert result.self_trade_canceled == [mine]
    assert book.replayed_available(ASK, D(100001)) == 0
    assert book.replayed_available(ASK, D(100002)) == D("2.5")
    book.set_level(ASK, D(100002), D("3"))  # a data update resets the twin's consumption
    assert book.replayed_available(ASK, D(100002)) == D("3")


def test_taker_consumption_moves_queue_of_resting_twin_orders():
    book = btc_book()
    bid = order(BID, 100000, "0.5", owner="0xa")
    book.add_resting(bid)
    book.take(ASK, D(100000), D("0.6"), owner="0xb")
    assert bid.queue_ahead == D("0.4")


def test_l2_levels_include_twin_orders_and_aggregate_by_sig_figs():
    book = btc_book()
    book.add_resting(order(BID, 100000, "0.5"))
    levels = book.l2_levels(BID)
    assert levels[0] == (D(100000), D("1.5"), 2)
    agg = aggregate_levels([(D("1234.5"), D(1), 1), (D("1234.1"), D(2), 1)], BID, 4, None)
    assert agg == [(D("1234"), D(3), 2)]
    agg_ask = aggregate_levels([(D("1234.5"), D(1), 1)], ASK, 4, None)
    assert agg_ask == [(D("1235"), D(1), 1)]


# ------------------------------------------------------------------------------------- accounts


def test_account_fill_booking_entry_pnl_fees_and_flip():
    acct = TwinAccount("0xA", D(1000))
    b1 = acct.book_fill("BTC", True, D(100), D(2), D("0.00015"))
    assert (b1.direction, b1.fee, acct.szi("BTC"), acct.position("BTC").entry_px) == ("Open Long", D("0.03"), D(2), D(100))
    acct.book_fill("BTC", True, D(110), D(2), D(0))
    assert acct.position("BTC").entry_px == D(105)
    b3 = acct.book_fill("BTC", False, D(120), D(5), D("0.00045"))
    assert b3.direction == "Long > Short" and b3.closed_pnl == D(60)  # 4 x (120 - 105)
    assert acct.szi("BTC") == D(-1) and acct.position("BTC").entry_px == D(120)
    assert acct.balance_usd == D(1000) - D("0.03") + D(60) - D("0.27")
    assert acct.cum_volume_usd == D(200) + D(220) + D(600)
    assert fill_direction(D(-1), D(1)) == "Close Short" and fill_direction(D(-1), D(-1)) == "Open Short"


def test_funding_longs_pay_when_rate_positive():
    acct = TwinAccount("0xA", D(1000))
    acct.book_fill("ETH", True, D(3000), D(1), D(0))
    delta = acct.book_funding("ETH", D(3000), D("0.0001"))
    assert delta == D("-0.3") and acct.balance_usd == D("999.7")
    assert acct.position("ETH").cum_funding_all_time == D("0.3")


def test_margin_requirement_uses_worst_case_side():
    acct = TwinAccount("0xA", D(1000))
    acct.leverage_for("BTC").value = 10
    acct.book_fill("BTC", True, D(100), D(1), D(0))
    # long 1, open sells 1 -> worst |1 + 0| vs |1 - 1| = 1 -> 100 / 10
    assert acct.margin_required("BTC", D(100), D(0), D(1)) == D(10)
    assert acct.margin_required("BTC", D(100), D(2), D(0)) == D(30)


def test_nonce_rules():
    tracker = NonceTracker(set_size=3)
    now = 1_700_000_000_000
    tracker.check("s", now, now)
    tracker.use("s", now)
    with pytest.raises(NonceError, match=f"^Invalid nonce: duplicate nonce {now}$"):
        tracker.check("s", now, now)
    with pytest.raises(NonceError, match="nonce too low"):
        tracker.check("s", now - 2 * 86_400_000, now)
    with pytest.raises(NonceError, match="nonce too high"):
        tracker.check("s", now + 86_400_000, now)
    tracker.check("s", now - 1, now)  # out of order is fine while the set is not full
    for n in (now + 1, now + 2):
        tracker.use("s", n)
    # the set (size 3 here, 100 on the venue) is full: a new nonce must exceed its smallest member
    with pytest.raises(NonceError, match=f"^Invalid nonce: nonce too low {now - 1} < {now + 1}$"):
        tracker.check("s", now - 1, now)
    tracker.use("s", now + 3)  # evicts `now` from the set
    with pytest.raises(NonceError, match=f"nonce too low {now} < {now + 2}"):
        tracker.check("s", now, now)
    tracker.check("other", now - 1, now)  # nonces are per signer


def test_agents_unnamed_replaced_named_limited():
    reg = AgentRegistry()
    assert reg.approve("0xm", "0x" + "1" * 40, "") is None
    assert reg.approve("0xm", "0x" + "2" * 40, "") is None
    assert reg.master_of("0x" + "1" * 40, 0) is None  # pruned
    assert reg.master_of("0x" + "2" * 40, 0) == "0xm"
    for i in range(3):
        assert reg.approve("0xm", "0x" + str(3 + i) * 40, f"bot{i} valid_until 1000") is None
    assert reg.approve("0xm", "0x" + "9" * 40, "bot9") is not None
    assert reg.master_of("0x" + "3" * 40, 999) == "0xm" and reg.master_of("0x" + "3" * 40, 1001) is None


# ------------------------------------------------------------------------------------- candles, clock, replay, wire


def test_candles_aggregate_from_minutes():
    store = CandleStore()
    t0 = 1_700_000_000_000 - 1_700_000_000_000 % 3_600_000
    store.add_trade(t0 + 1_000, D(10), D(1))
    store.add_trade(t0 + 61_000, D(12), D(2))
    store.add_trade(t0 + 125_000, D(9), D(1))
    five = store.candles("5m", t0, t0 + 300_000)
    assert len(five) == 1
    c = five[0].to_wire("BTC", "5m")
    assert (c["t"], c["T"], c["o"], c["h"], c["l"], c["c"], c["v"], c["n"]) == (
        t0, t0 + 299_999, "10.0", "12.0", "9.0", "9.0", "4.0", 3)
    assert len(store.candles("1m", t0, t0 + 300_000)) == 3
    assert bucket_bounds(t0, "1w")[0] % 86_400_000 == 0
    assert store.current("1h", t0 + 130_000).close == D(9)


def test_manual_clock_and_cursor_loop():
    clock = TwinClock.manual(1000)
    clock.advance_ms(5)
    assert clock.now_ms() == 1005
    with pytest.raises(ValueError):
        clock.set_ms(1)
    events = [MarketTrade(10, "BTC", "B", D(1), D(1)), MarketTrade(20, "BTC", "A", D(1), D(1))]
    cursor = ReplayCursor(events, rebase_to_ms=1000, loop=True)
    assert [cursor.pop()[0] for _ in range(4)] == [1000, 1010, 2000, 2010]  # loops last >= 1 s
    assert cursor.loops_done == 1


def test_accounts_file(tmp_path):
    from adapters.hyperliquid.twin.server import load_accounts_file

    a, b = "0x" + "a" * 40, "0x" + "B" * 40
    (tmp_path / "flat.json").write_text(json.dumps({a: 5000}))
    assert load_accounts_file(tmp_path / "flat.json") == ({a: D(5000)}, {})
    (tmp_path / "full.json").write_text(json.dumps({"accounts": {a: "12.5"}, "subAccounts": {a: [b]}}))
    assert load_accounts_file(tmp_path / "full.json") == ({a: D("12.5")}, {a: [b.lower()]})
    (tmp_path / "bad.json").write_text(json.dumps({"alice": 1}))
    with pytest.raises(ValueError, match="bad.json: 'alice' is not a 0x-prefixed"):
        load_accounts_file(tmp_path / "bad.json")


def test_wire_number_format():
    assert fmt_decimal(D("100000")) == "100000.0"
    assert fmt_decimal(D("0.01470")) == "0.0147"
    assert fmt_decimal(D("-0")) == "0.0"
    assert fmt_plain(D("90901.0")) == "90901"


# ------------------------------------------------------------------------------------- signing


def test_signing_recovers_sdk_vector_and_detects_tampering():
    key = "0x0123456789012345678901234567890123456789012345678901234567890123"
    wallet = Account.from_key(key)
    req = {"coin": "ETH", "is_buy": True, "sz": 100, "limit_px": 100, "reduce_only": False,
           "order_type": {"limit": {"tif": "Gtc"}}, "cloid": None}
    action = sdk.order_wires_to_order_action([sdk.order_request_to_order_wire(req, 1)])
    sig = sdk.sign_l1_action(wallet, action, None, 0, None, True)
    assert sig["r"] == "0xd65369825a9df5d80099e513cce430311d7d26ddf477f5b3a33d2806b100d78e"
    received = json.loads(json.dumps(action))
    assert recover_l1_signer(received, sig, 0, source="a") == wallet.address.lower()
    assert recover_l1_signer(received, sig, 0, source="b") != wallet.address.lower()
    tampered = json.loads(json.dumps(action))
    tampered["orders"][0]["p"] = "101"
    assert recover_l1_signer(tampered, sig, 0, source="a") != wallet.address.lower()
    # strict mode re-packs in canonical order: a reordered action recovers the right signer only in strict mode
    reordered = {k: received[k] for k in ("grouping", "orders", "type")}
    assert recover_l1_signer(reordered, sig, 0, source="a") != wallet.address.lower()
    assert recover_l1_signer(reordered, sig, 0, source="a", strict_key_order=True) == wallet.address.lower()


def test_user_signed_approve_agent_without_name():
    master, agent = Account.create(), Account.create()
    action = {"type": "approveAgent", "agentAddress": agent.address, "agentName": "", "nonce": 123}
    sig = sdk.sign_agent(master, action, False)
    del action["agentName"]
    assert recover_user_signed_signer(json.loads(json.dumps(action)), sig) == master.address.lower()
