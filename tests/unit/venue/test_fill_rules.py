"""The fill rules (venue/fill_rules.py) on the shared constructed cases (tests/support/fill_cases.py).

The same cases run against the twin (tests/unit/twin/test_twin_fill_cases.py) and the Nautilus
backtest (tests/integration/backtest/test_fill_cases_backtest.py).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from botmm_nautilus.venue.fill_rules import QueueTracker
from support.fill_case_data import case_data
from support.fill_case_data import expected_fills
from support.fill_case_data import level_events
from support.fill_cases import CASES


def run_tracker(case) -> list[tuple[int, Decimal, Decimal]]:
    tracker = QueueTracker(zero=Decimal(0))
    events = list(level_events(case_data(case)))
    fills = []
    placed = False
    for event in events:
        if event[0] == "clear":
            tracker.clear_book()
        elif event[0] == "level":
            tracker.on_level(event[1], event[2], event[3])
        elif event[0] == "end":
            tracker.end_of_update()
            if not placed:  # the orders rest right after the first snapshot
                placed = True
                for i, (side, px, qty) in enumerate(case.orders):
                    tracker.place(i, side, Decimal(px), Decimal(qty))
        else:
            fills += [(f.key, f.price, f.qty) for f in tracker.on_trade(event[1], event[2], event[3])]
    return fills


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fill_rules_case(case):
    assert run_tracker(case) == expected_fills(case), f"{case.rule}: {case.note}"


def test_pending_order_is_not_filled_by_prints_and_window_arrival_puts_size_ahead():
    tracker = QueueTracker()
    tracker.on_level("B", 100, 5)
    tracker.end_of_update()
    order = tracker.place("x", "B", 97, 2)
    assert order.pending
    assert tracker.on_trade("A", 97, 10) == []
    tracker.on_level("B", 97, 4)
    assert not order.pending and order.queue_ahead == 4
    assert [(f.qty, f.rule) for f in tracker.on_trade("A", 97, 5)] == [(1, "Q3")]


def test_pending_order_at_an_empty_price_the_window_covers_has_no_queue():
    tracker = QueueTracker()
    tracker.on_level("B", 100, 5)
    order = tracker.place("x", "B", 97, 2)
    tracker.on_level("B", 96, 1)  # the window now reaches below our price and shows nothing at 97
    tracker.end_of_update()
    assert not order.pending and order.queue_ahead == 0


def test_fill_elsewhere_clears_the_queue_and_the_credit():
    tracker = QueueTracker()
    tracker.on_level("A", 101, 5)
    order = tracker.place("x", "A", 101, 3)
    tracker.on_level("A", 101, 1)
    assert (order.queue_ahead, order.credit) == (1, 4)
    tracker.set_leaves("x", 2)  # the book crossed us (Q7)
    assert (order.queue_ahead, order.credit, order.leaves) == (0, 0, 2)
    assert [(f.qty, f.rule) for f in tracker.on_trade("B", 101, 1)] == [(1, "Q3")]


def test_window_depth_comes_from_the_snapshot_and_stale_region_prices_are_unknown():
    """Q2: the window is the first snapshot's depth; an empty price with that many levels better
    than it is pending even inside the range of stale levels (it was empty once, may not be now)."""
    tracker = QueueTracker()
    tracker.clear_book()
    for px in (100, 98, 97):
        tracker.on_level("B", px, 1)
    tracker.end_of_update()
    assert tracker.window_levels == 3
    front = tracker.place("inside", "B", 99, 1)  # two levels better: inside the window, really empty
    assert not front.pending and front.queue_ahead == 0
    for px in (103, 102, 101):  # the window moves up; 100, 98, 97 stay as stale depth (D1)
        tracker.on_level("B", px, 1)
    tracker.end_of_update()
    unknown = tracker.place("stale", "B", 99, 1)  # between stale levels: 4 better -> unknown
    assert unknown.pending
    # a print at 99 reaches the order placed when the window showed 99 empty, not the pending one
    assert [f.key for f in tracker.on_trade("A", 99, 5)] == ["inside"]
    assert tracker.orders["stale"].pending
