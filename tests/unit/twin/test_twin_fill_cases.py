"""The twin's matching (CoinBook) on the shared constructed fill-rule cases (tests/support/fill_cases.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from botmm_nautilus.twin.matching import CoinBook
from botmm_nautilus.twin.matching import TwinOrder
from support.fill_case_data import case_data
from support.fill_case_data import expected_fills
from support.fill_case_data import level_events
from support.fill_cases import CASES


def run_twin(case) -> list[tuple[int, Decimal, Decimal]]:
    book = CoinBook("BTC")
    orders: dict[int, int] = {}  # twin oid -> case order index
    fills = []
    placed = False
    for event in level_events(case_data(case)):
        if event[0] == "clear":
            book.clear_replayed()
        elif event[0] == "level":
            book.set_level(event[1], event[2], event[3])
        elif event[0] == "end":
            book.end_of_update()
            fills += [(orders[f.order.oid], f.px, f.sz) for f in book.fill_crossed_orders()]
            if not placed:
                placed = True
                for i, (side, px, qty) in enumerate(case.orders):
                    order = TwinOrder(oid=100 + i, owner="0xa", coin="BTC", asset=0, side=side, limit_px=Decimal(px),
                                      orig_sz=Decimal(qty), sz=Decimal(qty), tif="Alo", reduce_only=False, cloid=None,
                                      timestamp_ms=0, seq=i)
                    orders[order.oid] = i
                    book.add_resting(order)
        else:
            fills += [(orders[f.order.oid], f.px, f.sz) for f in book.on_market_trade(event[1], event[2], event[3])]
    return fills


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_twin_fill_case(case):
    assert run_twin(case) == expected_fills(case), f"{case.rule}: {case.note}"
