"""Constructed cases of the fill rules (botmm_nautilus/venue/fill_rules.py), ONE list for every simulator.

Each case: a recorded book at t=0 (a full snapshot), our orders (placed on the first event after
their time), then recorded events, one per second, and the fills the rules give (order index,
price, size). The same list runs against the pure ``QueueTracker``
(tests/unit/venue/test_fill_rules.py), the exchange twin's ``CoinBook``
(tests/unit/twin/test_twin_fill_cases.py) and the real Nautilus backtest with
``QueueFillModule`` (tests/integration/backtest/test_fill_cases_backtest.py).

Prices are integers (BTC-like, tick 1), sizes have at most 3 decimals. Sides: "B" bid, "A" ask;
a trade's side is its aggressor ("A" = a seller hit the bids).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

WINDOW = 3  # levels a side in the recorded snapshots of these cases (the recorder's window)


@dataclass(frozen=True)
class FillCase:
    name: str
    rule: str
    bids: list  # [(px, size)] best first, the snapshot at t=0
    asks: list
    orders: list  # [(side, px, qty)]: placed, in this order, right after the snapshot
    events: list  # [("level", side, px, size) | ("trade", aggressor, px, size) | ("snapshot", bids, asks)]
    fills: list  # expected [(order index, px, qty)] in order
    note: str = field(default="")


BOOK_BIDS = [(100000, "1.0"), (99999, "2.0"), (99998, "1.0")]
BOOK_ASKS = [(100001, "1.5"), (100002, "3.0"), (100003, "1.0")]

CASES = [
    FillCase(
        "print_consumes_queue_ahead_then_fills_us",
        "Q1 Q3",
        BOOK_BIDS,
        BOOK_ASKS,
        [("B", 100000, "0.5")],
        [("trade", "A", 100000, "0.6"), ("trade", "A", 100000, "0.7"), ("trade", "A", 100000, "5")],
        [(0, 100000, "0.3"), (0, 100000, "0.2")],
    ),
    FillCase(
        "buyer_prints_do_not_fill_bids",
        "Q3",
        BOOK_BIDS,
        BOOK_ASKS,
        [("B", 100000, "0.5")],
        [("trade", "B", 100001, "9"), ("trade", "B", 100000, "9")],
        [],
    ),
    FillCase(
        "print_through_fills_up_to_the_print_size",
        "Q4",
        BOOK_BIDS,
        BOOK_ASKS,
        [("B", 100000, "0.5")],
        [("trade", "A", 99999, "0.2"), ("trade", "A", 99999, "2")],
        [(0, 100000, "0.2"), (0, 100000, "0.3")],
    ),
    FillCase(
        "shrink_clamps_queue_growth_joins_behind",
        "Q5 Q6",
        BOOK_BIDS,
        BOOK_ASKS,
        [("B", 100000, "0.5")],
        [
            ("level", "B", 100000, "0.1"),  # cancels: at most 0.1 can be ahead now (credit 0.9)
            ("level", "B", 100000, "4.0"),  # growth: behind us, the credit is dropped
            ("trade", "A", 100000, "0.3"),  # 0.1 ahead, then 0.2 to us
        ],
        [(0, 100000, "0.2")],
    ),
    FillCase(
        "book_already_reflecting_a_print_does_not_count_it_twice",
        "Q5 credit",
        BOOK_BIDS,
        BOOK_ASKS,
        [("B", 100000, "0.5")],
        [
            ("level", "B", 100000, "0.4"),  # the recorder delivers the book after the 0.6 print...
            ("trade", "A", 100000, "0.6"),  # ...then the print: still 0.4 ahead, no fill
            ("trade", "A", 100000, "0.5"),  # 0.4 ahead, 0.1 to us
        ],
        [(0, 100000, "0.1")],
    ),
    FillCase(
        "order_beyond_the_window_waits_and_gets_the_size_that_shows_up",
        "Q2 D1",
        BOOK_BIDS,
        BOOK_ASKS,
        [("B", 99996, "0.5")],  # two ticks beyond the 3-level window
        [
            ("trade", "A", 99996, "1.0"),  # a print at an unknown level cannot reach us
            ("snapshot", [(99998, "1.0"), (99997, "1.0"), (99996, "2.0")], [(99999, "1.0"), (100000, "1.0"), (100001, "1.0")]),
            ("trade", "A", 99996, "2.3"),  # 2.0 ahead (shown when the window arrived), 0.3 to us
        ],
        [(0, 99996, "0.3")],
    ),
    FillCase(
        "level_that_leaves_the_window_keeps_its_size",
        "D1 Q1",
        BOOK_BIDS,
        BOOK_ASKS,
        [("B", 99998, "0.5")],  # behind 1.0 at the window's last bid level
        [
            # the window moves up one tick: 99998 is now beyond it (stale depth, not deleted)
            ("snapshot", [(100001, "1.0"), (100000, "1.0"), (99999, "2.0")], [(100002, "3.0"), (100003, "1.0"), (100004, "1.0")]),
            ("trade", "A", 99998, "1.2"),  # the 1.0 stale depth is still ahead: 0.2 to us
        ],
        [(0, 99998, "0.2")],
    ),
    FillCase(
        "level_deleted_then_shown_again_drops_the_credit",
        "Q5 Q6",
        BOOK_BIDS,
        BOOK_ASKS,
        [("B", 100000, "0.5")],
        [
            ("level", "B", 100000, "0"),  # the level empties: nothing ahead (credit 1.0)
            ("level", "B", 100000, "2.0"),  # size shows again: behind us, the credit is dropped
            ("trade", "A", 100000, "0.3"),  # all of it reaches us
        ],
        [(0, 100000, "0.3")],
        note="found by bench/cross_engine.py against hftbacktest (ETH 1 bps)",
    ),
    FillCase(
        "empty_price_in_the_stale_region_is_unknown_not_empty",
        "Q2 D1",
        BOOK_BIDS,
        BOOK_ASKS,
        [("B", 99997, "0.5")],  # beyond the window; the window moves down over it, then up again
        [
            ("snapshot", [(99999, "1.0"), (99998, "1.0"), (99996, "1.0")], [(100000, "1.0"), (100001, "1.0"), (100002, "1.0")]),
            # 99997 shown empty inside the window: the order is at the front now
            ("trade", "A", 99997, "0.1"),
            ("snapshot", [(100001, "1.0"), (100000, "1.0"), (99999, "1.0")], [(100002, "1.0"), (100003, "1.0"), (100004, "1.0")]),
        ],
        [(0, 99997, "0.1")],
    ),
    FillCase(
        "two_orders_at_one_price_fill_in_time_priority",
        "Q3",
        BOOK_BIDS,
        BOOK_ASKS,
        [("B", 100000, "0.3"), ("B", 100000, "0.3")],
        [("trade", "A", 100000, "1.4")],
        [(0, 100000, "0.3"), (1, 100000, "0.1")],
    ),
    FillCase(
        "order_inside_the_spread_is_first_in_line",
        "Q2",
        BOOK_BIDS,
        [(100003, "1.5"), (100004, "3.0"), (100005, "1.0")],
        [("B", 100001, "0.5")],
        [("trade", "A", 100001, "0.2")],
        [(0, 100001, "0.2")],
    ),
    FillCase(
        "ask_side_mirror",
        "Q1 Q3 Q4",
        BOOK_BIDS,
        BOOK_ASKS,
        [("A", 100001, "0.5")],
        [("trade", "B", 100001, "2.0"), ("trade", "B", 100002, "1.0")],
        [(0, 100001, "0.5")],
        note="1.5 ahead, 0.5 of the 2.0 print reaches us",
    ),
]
