"""The desired-vs-live order diff: tolerance, in-flight orders, surplus and missing levels."""

from __future__ import annotations

from botmm_nautilus.core.order_diff import CANCEL
from botmm_nautilus.core.order_diff import MODIFY
from botmm_nautilus.core.order_diff import SUBMIT
from botmm_nautilus.core.order_diff import LiveOrder
from botmm_nautilus.core.order_diff import diff_ladder
from botmm_nautilus.core.order_diff import diff_side

MID = 100_000.0  # 1 bp = 10.0


def test_empty_book_submits_every_level():
    acts = diff_side(1, [(99_990.0, 0.01), (99_980.0, 0.01)], [], MID, 0.5, 0.2)
    assert [(a.kind, a.price) for a in acts] == [(SUBMIT, 99_990.0), (SUBMIT, 99_980.0)]


def test_within_tolerance_no_action_beyond_it_modify():
    live = [LiveOrder("o1", 99_990.0, 0.01)]
    # 4.0 away = 0.4 bp < 0.5 bp tolerance: leave it (keeps queue position)
    assert diff_side(1, [(99_994.0, 0.01)], live, MID, 0.5, 0.2) == []
    # 6.0 away = 0.6 bp: modify
    acts = diff_side(1, [(99_996.0, 0.01)], live, MID, 0.5, 0.2)
    assert len(acts) == 1 and acts[0].kind == MODIFY and acts[0].key == "o1" and acts[0].price == 99_996.0


def test_size_tolerance():
    live = [LiveOrder("o1", 99_990.0, 0.0085)]
    assert diff_side(1, [(99_990.0, 0.01)], live, MID, 0.5, 0.2) == []  # 15% off < 20%
    acts = diff_side(1, [(99_990.0, 0.01)], live, MID, 0.5, 0.1)  # 15% off > 10%
    assert acts[0].kind == MODIFY and acts[0].qty == 0.01


def test_in_flight_orders_are_left_alone_and_keep_their_slot():
    live = [LiveOrder("o1", 99_000.0, 0.01, in_flight=True), LiveOrder("o2", 98_000.0, 0.01, in_flight=True)]
    # far off the desired prices, but in flight: no modify, no duplicate submit, no cancel
    assert diff_side(1, [(99_990.0, 0.01), (99_980.0, 0.01)], live, MID, 0.5, 0.2) == []
    assert diff_side(1, [], live, MID, 0.5, 0.2) == []


def test_surplus_cancelled_and_order_of_actions():
    live_b = [LiveOrder("b1", 99_990.0, 0.01), LiveOrder("b2", 99_980.0, 0.01)]
    live_a = []
    acts = diff_ladder([(99_990.0, 0.01)], [(100_010.0, 0.01)], live_b, live_a, MID, 0.5, 0.2)
    assert [a.kind for a in acts] == [CANCEL, SUBMIT]
    assert acts[0].key == "b2" and acts[1].side == -1
