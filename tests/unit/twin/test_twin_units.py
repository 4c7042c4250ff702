"""Pure unit tests of the Hyperliquid twin: queue model, matching, accounts, nonces, candles, signing.

No sockets here (see test_twin_sdk.py, test_twin_ws.py and test_twin_catalog.py for those).
"""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest
from eth_account import Account
from hyperliquid.utils import signing as sdk

from botmm_nautilus.twin.accounts import Account as TwinAccount
from botmm_nautilus.twin.accounts import AgentRegistry
from botmm_nautilus.twin.accounts import NonceError
from botmm_nautilus.twin.accounts import NonceTracker
from botmm_nautilus.twin.accounts import fill_direction
from botmm_nautilus.twin.candles import CandleStore
from botmm_nautilus.twin.candles import bucket_bounds
from botmm_nautilus.twin.clock import TwinClock
from botmm_nautilus.twin.matching import ASK
from botmm_nautilus.twin.matching import BID
from botmm_nautilus.twin.matching import CoinBook
from botmm_nautilus.twin.matching import TwinOrder
from botmm_nautilus.twin.matching import aggregate_levels
from botmm_nautilus.twin.replay import MarketTrade
from botmm_nautilus.twin.replay import ReplayCursor
from botmm_nautilus.twin.signing import recover_l1_signer
from botmm_nautilus.twin.signing import recover_user_signed_signer
from botmm_nautilus.twin.wire import fmt_decimal
from botmm_nautilus.twin.wire import fmt_plain

_seq = iter(range(1, 1_000_000))
ZERO_ADDRESS = "0x" + "0" * 40


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


def test_level_shrink_clamps_the_queue_and_book_moving_through_without_print_fills_us():
    """Q5 then Q7 of venue/fill_rules.py (the old twin kept 1.0 ahead after the level shrank to 0.1)."""
    book = btc_book()
    bid = order(BID, 100000, "0.5")
    book.add_resting(bid)
    book.set_level(BID, D(100000), D("0.1"))  # shrink: at most 0.1 can still be ahead of us
    assert book.fill_crossed_orders() == [] and bid.queue_ahead == D("0.1")
    book.set_level(BID, D(100000), D("3"))  # growth joins behind us (Q6)
    assert bid.queue_ahead == D("0.1")
    book.set_level(BID, D(100000), D(0))  # level gone
    assert book.fill_crossed_orders() == [] and bid.queue_ahead == 0
    book.set_level(ASK, D(99999), D("1"))  # the ask moves through our bid without a print (Q7)
    assert book.crossed_against_twin()
    fills = book.fill_crossed_orders()
    assert [(f.order is bid, f.px, f.sz) for f in fills] == [(True, D(100000), D("0.5"))]
    assert bid.sz == 0 and book.resting_orders() == []
    assert book.replayed_available(ASK, D(99999)) == D("0.5") and not book.crossed_against_twin()


def test_trade_through_our_price_fills_up_to_the_print_and_buyer_prints_do_not_fill_bids():
    """Q4: the aggressor meets our better-priced bid first, but only with the size it printed."""
    book = btc_book()
    bid = order(BID, 100000, "0.5")
    book.add_resting(bid)
    assert book.on_market_trade(BID, D(100001), D("9")) == []  # buyer aggressor: asks, not our bid
    fills = book.on_market_trade(ASK, D(99999), D("0.01"))  # seller printed below our bid
    assert [(f.px, f.sz) for f in fills] == [(D(100000), D("0.01"))]
    fills = book.on_market_trade(ASK, D(99999), D("2"))
    assert [(f.px, f.sz) for f in fills] == [(D(100000), D("0.49"))]
    assert book.resting_orders() == []


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


# ------------------------------------------------------------------------------------- rule 5: the book crosses us


def _ask_arrives_at(book: CoinBook, px, sz) -> None:
    """The recorded book cannot be locked: the replayed bid at ``px`` goes, then an ask appears there."""
    book.set_level(BID, D(str(px)), D(0))
    book.set_level(ASK, D(str(px)), D(str(sz)))


@pytest.mark.parametrize("ask_sz, filled, left_on_book", [("0.2", "0.2", "0"), ("0.8", "0.5", "0.3")])
def test_ask_moving_to_our_bid_fills_us_as_maker_up_to_the_crossing_size(ask_sz, filled, left_on_book):
    book = btc_book()
    bid = order(BID, 100000, "0.5")
    book.add_resting(bid)
    assert bid.queue_ahead == D("1.0")  # behind the replayed bid at our price: it was cancelled, we are first
    _ask_arrives_at(book, 100000, ask_sz)
    fills = book.fill_crossed_orders()
    assert [(f.order is bid, f.px, f.sz) for f in fills] == [(True, D(100000), D(filled))]
    assert bid.sz == D("0.5") - D(filled)
    assert book.replayed_available(ASK, D(100000)) == D(left_on_book)
    assert not book.crossed_against_twin()
    if bid.sz > 0:  # partial: still resting, at the front, the crossing level hidden
        assert bid.queue_ahead == 0 and book.best(BID) == D(100000) and book.best(ASK) == D(100001)
    else:
        assert book.resting_orders() == [] and book.best(ASK) == D(100000)
    assert book.fill_crossed_orders() == []  # nothing new in the data: no second fill


def test_ask_moving_through_two_of_our_bid_levels_fills_both_best_first():
    book = btc_book()
    top, second = order(BID, 100000, "0.3"), order(BID, 99999, "0.3")
    book.add_resting(second)
    book.add_resting(top)
    book.set_level(BID, D(100000), D(0))
    book.set_level(BID, D(99999), D(0))
    book.set_level(ASK, D(99998), D("0.5"))
    fills = book.fill_crossed_orders()
    assert [(f.order, f.px, f.sz) for f in fills] == [(top, D(100000), D("0.3")), (second, D(99999), D("0.2"))]
    assert second.sz == D("0.1") and second.queue_ahead == 0
    assert book.replayed_available(ASK, D(99998)) == 0 and not book.crossed_against_twin()


def test_best_twin_order_uses_the_crossing_level_nearest_its_price_first():
    book = CoinBook("BTC")
    book.apply_snapshot([(D(99990), D(1))], [(D(100010), D(1))])
    top, low = order(BID, 100000, "0.3"), order(BID, 99998, "0.3")
    book.add_resting(top)
    book.add_resting(low)
    book.set_level(ASK, D(99999), D("0.3"))  # crosses only `top`
    book.set_level(ASK, D(99997), D("0.3"))  # crosses both
    fills = book.fill_crossed_orders()
    assert [(f.order, f.sz) for f in fills] == [(top, D("0.3")), (low, D("0.3"))]
    assert book.best(ASK) == D(100010)


def test_twin_orders_at_one_crossed_level_fill_in_time_priority():
    book = btc_book()
    first, second = order(BID, 100000, "0.3"), order(BID, 100000, "0.3")
    book.add_resting(first)
    book.add_resting(second)
    _ask_arrives_at(book, 100000, "0.4")
    fills = book.fill_crossed_orders()
    assert [(f.order, f.sz) for f in fills] == [(first, D("0.3")), (second, D("0.1"))]


def test_ask_staying_above_our_bid_fills_nothing():
    book = btc_book()
    bid = order(BID, 100000, "0.5")
    book.add_resting(bid)
    book.set_level(ASK, D(100001), D("0.1"))
    book.set_level(ASK, D("100000.5"), D("0.2"))  # nearer, still above us
    assert book.fill_crossed_orders() == []
    assert bid.sz == D("0.5") and bid.queue_ahead == D("1.0")


def test_bid_moving_to_our_ask_fills_us_symmetrically():
    book = btc_book()
    ask = order(ASK, 100001, "0.5")
    book.add_resting(ask)
    book.set_level(ASK, D(100001), D(0))
    book.set_level(BID, D(100002), D("0.2"))  # through our ask
    fills = book.fill_crossed_orders()
    assert [(f.order is ask, f.px, f.sz) for f in fills] == [(True, D(100001), D("0.2"))]
    assert ask.queue_ahead == 0 and not book.crossed_against_twin()


def test_crossing_level_consumed_until_the_data_updates_it():
    book = btc_book()
    bid = order(BID, 100000, "0.5")
    book.add_resting(bid)
    _ask_arrives_at(book, 100000, "0.2")
    assert [f.sz for f in book.fill_crossed_orders()] == [D("0.2")]
    assert book.consumed[ASK][D(100000)] == D("0.2") and book.replayed_available(ASK, D(100000)) == 0
    book.set_level(ASK, D(100002), D("7"))  # another level: the hidden one stays hidden
    assert book.fill_crossed_orders() == [] and bid.sz == D("0.3")
    book.set_level(ASK, D(100000), D("0.25"))  # the data updates our level: consumed resets (existing mechanism)
    assert book.consumed[ASK].get(D(100000)) is None
    assert [f.sz for f in book.fill_crossed_orders()] == [D("0.25")]
    assert bid.sz == D("0.05") and book.consumed[ASK][D(100000)] == D("0.25")
    book.set_level(ASK, D(100000), D(0))  # level gone: nothing to fill, nothing hidden
    assert book.fill_crossed_orders() == [] and D(100000) not in book.consumed[ASK]


def test_no_twin_order_is_ever_crossed_by_the_displayed_book_after_a_replay_step():
    import random

    rng = random.Random(7)
    book = CoinBook("BTC")
    mid = 1000
    owners = ("0xa", "0xb")
    filled = D(0)
    for step in range(3000):
        # the replayed (recorded) book: uncrossed around a random-walk mid, updated level by level
        mid += rng.choice((-1, 0, 0, 1))
        for side in (BID, ASK):
            for px in list(book.replayed[side]):
                if (side == BID and px >= mid) or (side == ASK and px <= mid):
                    book.set_level(side, px, D(0))  # deletes first, as the importer writes them
        for _ in range(rng.randint(1, 4)):
            side = rng.choice((BID, ASK))
            px = D(mid - rng.randint(1, 5)) if side == BID else D(mid + rng.randint(1, 5))
            book.set_level(side, px, D(rng.choice((0, 1, 2, 3))) / 10)
        filled += sum((f.sz for f in book.fill_crossed_orders()), D(0))
        assert not book.crossed_against_twin(), step
        bids, asks = book.levels(BID), book.levels(ASK)
        if bids and asks:
            assert bids[0][0] < asks[0][0], step
        # twin orders come and go; like ALO they only rest where they do not cross the displayed book
        if rng.random() < 0.5:
            side = rng.choice((BID, ASK))
            px = D(mid + rng.randint(-4, 4))
            if not book.would_cross(side, px):
                book.add_resting(order(side, px, D(rng.randint(1, 4)) / 10, owner=rng.choice(owners)))
        if rng.random() < 0.2 and book.resting_orders():
            book.remove_resting(rng.choice(book.resting_orders()))
    assert filled > 0


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
    from botmm_nautilus.twin.standalone import load_accounts_file

    a, b = "0x" + "a" * 40, "0x" + "B" * 40
    (tmp_path / "flat.json").write_text(json.dumps({a: 5000}))
    assert load_accounts_file(tmp_path / "flat.json") == ({a: D(5000)}, {})
    (tmp_path / "full.json").write_text(json.dumps({"accounts": {a: "12.5"}, "subAccounts": {a: [b]}}))
    assert load_accounts_file(tmp_path / "full.json") == ({a: D("12.5")}, {a: [b.lower()]})
    (tmp_path / "bad.json").write_text(json.dumps({"alice": 1}))
    with pytest.raises(ValueError, match="bad.json: 'alice' is not a 0x-prefixed"):
        load_accounts_file(tmp_path / "bad.json")


def test_bad_accounts_file_balance_and_speed_are_one_line_twin_errors(tmp_path):
    from botmm_nautilus.twin.errors import TwinConfigError
    from botmm_nautilus.twin.standalone import load_accounts_file
    from botmm_nautilus.twin.standalone import serve

    with pytest.raises(TwinConfigError, match=r"missing.json: cannot be read \(No such file or directory\)$"):
        load_accounts_file(tmp_path / "missing.json")
    a = "0x" + "a" * 40
    for bad in (-5, "lots", None, True):
        (tmp_path / "neg.json").write_text(json.dumps({a: bad}))
        with pytest.raises(TwinConfigError, match=f"neg.json: balance of {a} must be a number >= 0, got {bad!r}$"):
            load_accounts_file(tmp_path / "neg.json")
    for balance in (-1, float("nan"), float("inf"), "abc"):  # checked before the catalog is read
        with pytest.raises(TwinConfigError, match=f"^--balance must be a number of USDC >= 0, got {balance!r}$"):
            serve(tmp_path / "no-catalog", ["BTC"], balance=balance, print_fn=lambda _: None)
    for speed in (0, -2.0, float("nan")):
        with pytest.raises(TwinConfigError, match="^--speed must be > 0"):
            serve(tmp_path / "no-catalog", ["BTC"], speed=speed, print_fn=lambda _: None)


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


# ------------------------------------------------------------------------------------- rule 5 in the engine


def _alo_bid(engine, wallet, px: str, sz: str) -> int:
    from support.twin_client import signed_exchange_body

    req = {"coin": "BTC", "is_buy": True, "sz": float(sz), "limit_px": float(px), "reduce_only": False,
           "order_type": {"limit": {"tif": "Alo"}}, "cloid": None}
    action = sdk.order_wires_to_order_action([sdk.order_request_to_order_wire(req, 0)])
    status, body = engine.handle_exchange(signed_exchange_body(wallet, action))
    assert status == 200, body
    return body["response"]["data"]["statuses"][0]["resting"]["oid"]


def test_engine_books_crossing_book_fills_as_maker_prints_them_and_never_publishes_a_crossed_book():
    from botmm_nautilus.twin import Scenario
    from botmm_nautilus.twin import TwinConfig
    from botmm_nautilus.twin import TwinExchange
    from botmm_nautilus.twin.clock import wall_ms

    t0 = wall_ms()
    s = Scenario(["BTC"], start_ms=t0)
    s.book("BTC", 0, bids=[(100000, "1.0"), (99999, "2.0")], asks=[(100001, "1.5"), (100002, "3.0")])
    s.level("BTC", 1000, "B", 100000, 0).level("BTC", 1000, "A", 100000, "0.2")  # partial: 0.2 of our 0.5
    s.trade("BTC", 1000, "A", 100000, "0.1")  # same block, after the book: a seller prints at our price (rule 3)
    s.level("BTC", 2000, "A", 100000, "0.7")  # the data updates the level: 0.2 fills us, 0.5 stays displayed
    events: list = []
    engine = TwinExchange(s.market_data(), TwinConfig(l2_book_min_interval_ms=0, market_push_interval_ms=0),
                          clock=TwinClock.manual(t0))
    engine.publisher = lambda seq, key, payload: events.append((key, payload))
    wallet = Account.create()
    user = wallet.address.lower()
    engine.create_account(user)
    engine.advance_to(t0)
    oid = _alo_bid(engine, wallet, "100000", "0.5")
    assert engine.find_order(user, oid).queue_ahead == D("1.0")

    def l2_not_crossed():
        assert any(key == ("l2Book", "BTC") for key, _ in events)
        for key, payload in events:
            if key == ("l2Book", "BTC"):
                bids, asks = payload["levels"]
                if bids and asks:
                    assert D(bids[0]["px"]) < D(asks[0]["px"]), payload
            if key == ("bbo", "BTC") and all(payload["bbo"]):
                assert D(payload["bbo"][0]["px"]) < D(payload["bbo"][1]["px"]), payload

    events.clear()
    engine.advance_to(t0 + 1000)
    fill, print_fill = engine.fills_of(user)  # rule 5 first (queue ahead gone), then the print (rule 3)
    assert (fill["px"], fill["sz"], fill["side"], fill["crossed"], fill["time"], fill["oid"]) == (
        "100000.0", "0.2", "B", False, t0 + 1000, oid)
    assert (print_fill["sz"], print_fill["crossed"]) == ("0.1", False)
    assert D(fill["fee"]) == D("0.2") * 100000 * D("0.00015") and fill["dir"] == "Open Long"
    [trades] = [p for k, p in events if k == ("trades", "BTC")]
    assert [(t["side"], t["px"], t["sz"], t["users"]) for t in trades] == [
        ("A", "100000.0", "0.2", [user, ZERO_ADDRESS]), ("A", "100000.0", "0.1", [ZERO_ADDRESS, ZERO_ADDRESS])]
    assert trades[0]["tid"] == fill["tid"] and trades[0]["time"] == t0 + 1000
    assert [p for k, p in events if k == ("userFills", user)] == [[fill], [print_fill]]
    updates = [p[0] for k, p in events if k == ("orderUpdates", user)]
    assert [(u["status"], u["order"]["sz"]) for u in updates] == [("open", "0.3"), ("open", "0.2")]
    book = engine.l2_book_wire("BTC", t0 + 1000)["levels"]
    assert book[0][0] == {"px": "100000.0", "sz": "0.2", "n": 1} and book[1][0]["px"] == "100001.0"
    l2_not_crossed()

    events.clear()
    engine.advance_to(t0 + 2000)
    fills = engine.fills_of(user)
    assert [(f["sz"], f["crossed"], f["time"]) for f in fills[2:]] == [("0.2", False, t0 + 2000)]
    assert engine.find_order(user, oid).status == "filled" and oid not in engine.open_orders
    assert engine.accounts[user].szi("BTC") == D("0.5")
    book = engine.l2_book_wire("BTC", t0 + 2000)["levels"]
    assert book[0][0]["px"] == "99999.0" and book[1][0] == {"px": "100000.0", "sz": "0.5", "n": 1}
    l2_not_crossed()
