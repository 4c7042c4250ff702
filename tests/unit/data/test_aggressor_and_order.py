"""Aggressor inference and replay-order counting on constructed series (each rule proven by a case)."""

from __future__ import annotations

import numpy as np

from botmm_nautilus.data.aggressor import BUYER
from botmm_nautilus.data.aggressor import NO_AGGRESSOR
from botmm_nautilus.data.aggressor import SELLER
from botmm_nautilus.data.aggressor import infer_aggressor
from botmm_nautilus.data.aggressor import recorded_side_is_usable
from botmm_nautilus.data.replay_order import BOOK_AFTER_TRADE_NS
from botmm_nautilus.data.replay_order import book_ts_init
from botmm_nautilus.data.replay_order import resolve_feed_delay_ns
from botmm_nautilus.data.replay_order import trade_ts_init
from botmm_nautilus.data.replay_order import trades_after_later_book

STALE = 60_000


def _infer(trade_ns, price, books):
    b_ns, bid, ask = (np.array(c) for c in zip(*books))
    return infer_aggressor(np.array(trade_ns), np.array(price, dtype=float), b_ns, bid, ask, STALE)


def test_quote_rule_uses_the_book_strictly_before_the_trade():
    # book at t=10: 100/102; at t=20 (same instant as the trade): 103/105, which already reflects it
    books = [(10, 100, 102), (20, 103, 105)]
    out, counts, _, _ = _infer([20, 20, 30], [102.0, 100.0, 105.0], books)
    assert out.tolist() == [BUYER, SELLER, BUYER]  # 102 at the t=10 ask, 100 at its bid, 105 at the t=20 ask
    assert counts["quote_ask"] == 2 and counts["quote_bid"] == 1


def test_prints_between_ticks_count_at_the_level_below():
    # a 0.1 book in ticks 1000/1001 (locked-free); prints 1001.3 (inside the ask bucket) and 1000.7 (bid bucket)
    out, counts, _, _ = _infer([5, 6], [1001.3, 1000.7], [(1, 1000, 1001)])
    assert out.tolist() == [BUYER, SELLER]
    assert counts["quote_ask"] == counts["quote_bid"] == 1


def test_inside_the_spread_mid_rule_then_tick_rule_at_the_mid():
    books = [(1, 100, 110)]
    out, counts, last_price, last_dir = _infer([2, 3, 4, 5], [107.0, 102.0, 105.0, 105.0], books)
    # 107 above the mid 105 -> buyer; 102 below -> seller; 105 at the mid: up-tick from 102 -> buyer;
    # 105 again: zero tick -> the last change's direction (up) -> buyer
    assert out.tolist() == [BUYER, SELLER, BUYER, BUYER]
    assert counts["mid"] == 2 and counts["tick"] == 2
    assert (last_price, last_dir) == (105.0, 1)


def test_locked_bucket_and_stale_book_fall_back_to_the_tick_rule():
    books = [(1, 100, 100)]  # locked: bid and ask in the same bucket
    out, counts, _, _ = _infer([2, 3, 2 + STALE + 10], [100.5, 100.2, 90.0], books)
    assert out.tolist() == [NO_AGGRESSOR, SELLER, SELLER]  # first print: no previous price
    assert counts["none"] == 1 and counts["tick"] == 1 and counts["tick_no_book"] == 1


def test_no_book_before_the_trade_and_carry_over_between_calls():
    out, counts, price, direction = _infer([1], [100.0], [(5, 99, 101)])
    assert out.tolist() == [NO_AGGRESSOR] and counts["none"] == 1
    b = (np.array([5]), np.array([99]), np.array([101]))
    out, counts, _, _ = infer_aggressor(np.array([10]), np.array([100.0]), *b, STALE, prev_price_ticks=99.0, prev_direction=0)
    assert out.tolist() == [BUYER] and counts["tick"] == 1  # at the mid, up from the previous call's 99


def test_constant_recorded_side_is_refused():
    sells = np.full(500, SELLER)
    usable, why = recorded_side_is_usable(sells)
    assert not usable and "constant" in why
    mixed = np.array([BUYER] * 200 + [SELLER] * 300)
    assert recorded_side_is_usable(mixed)[0]
    assert not recorded_side_is_usable(np.array([BUYER, NO_AGGRESSOR] * 100))[0]
    # few prints: a one-sided minute is possible, not a bug
    assert recorded_side_is_usable(np.full(20, SELLER))[0]


def test_exchange_order_puts_trades_before_books_of_the_same_instant():
    delay = 400
    b = book_ts_init(np.array([100]), np.array([900]), "exchange", delay)
    t = trade_ts_init(np.array([100]), np.array([950]), "exchange", delay)
    assert b[0] == 100 + delay + BOOK_AFTER_TRADE_NS and t[0] == 100 + delay and t[0] < b[0]
    assert book_ts_init(np.array([100]), np.array([900]), "receive", delay)[0] == 900


def test_trades_after_later_book_counts_each_misordered_trade():
    # books (ts_init, exchange): replayed at 10, 20, 30 with exchange times 1, 5, 9
    b_init, b_event = [10, 20, 30], [1, 5, 9]
    # trade A exchange 4 replayed at 25 (after the book of 5): misordered; B exchange 6 at 22: misordered? no,
    # the book of 5 <= 6; C exchange 2 at 10: tie with the first book (exchange 1 <= 2): fine; D exchange 0 at 10: misordered
    t_init, t_event = [25, 22, 10, 10], [4, 6, 2, 0]
    assert trades_after_later_book(b_init, b_event, t_init, t_event) == 2
    assert trades_after_later_book([], [], t_init, t_event) == 0


def test_feed_delay_is_the_median_book_delay_unless_given():
    receive = np.array([110, 130, 1000])
    exchange = np.array([100, 100, 100])
    assert resolve_feed_delay_ns(None, receive, exchange) == (30, "median book receive delay")
    assert resolve_feed_delay_ns(2.5, receive, exchange) == (2_500_000, "given")
