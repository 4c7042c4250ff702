"""Turn a ``fill_cases.FillCase`` into recorded data: the same Nautilus deltas and trades for every simulator.

Snapshots go through the project's ``SnapshotDiffer`` (with the cases' window of 3 levels), exactly
as the importers store recordings, so stale depth (rule D1) is the real implementation's.
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import RecordFlag

from botmm_nautilus.adapters.hyperliquid.instruments import make_perpetual
from botmm_nautilus.engine.book_diff import SnapshotDiffer
from support.fill_cases import WINDOW
from support.fill_cases import FillCase

T0_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
SECOND_NS = 1_000_000_000
PLACE_NS = T0_NS + SECOND_NS // 2  # our orders are placed half a second after the first snapshot
LOT = Decimal("0.001")


_INSTRUMENT = None


def case_instrument():
    """A BTC-like Hyperliquid perp with sizes in 0.001 (the cases' prices are whole ticks of it)."""
    global _INSTRUMENT
    if _INSTRUMENT is None:
        _INSTRUMENT = make_perpetual("BTC", sz_decimals=3, maker_fee=0.0, taker_fee=0.0)
    return _INSTRUMENT


def _ticks(px) -> int:
    return int(px) * 10 ** case_instrument().price_precision


def _levels(levels) -> list[tuple[int, int]]:
    return [(_ticks(px), int(Decimal(sz) / LOT)) for px, sz in levels]


def case_data(case: FillCase) -> list:
    """The case as Nautilus data in replay order: ``OrderBookDelta`` (snapshots diffed) and ``TradeTick``."""
    instrument = case_instrument()
    differ = SnapshotDiffer(instrument, window_levels=WINDOW, gap_threshold_ns=10**15)
    out: list = list(differ.diff_ticks(_levels(case.bids), _levels(case.asks), T0_NS, T0_NS))
    for i, event in enumerate(case.events):
        ts = T0_NS + (i + 1) * SECOND_NS
        kind = event[0]
        if kind == "trade":
            _, aggressor, px, sz = event
            side = AggressorSide.SELLER if aggressor == "A" else AggressorSide.BUYER
            out.append(differ.encoder.trade(_ticks(px), int(Decimal(sz) / LOT), side, f"T{i}", ts, ts))
        elif kind == "level":
            out.extend(_level_deltas(differ, event, ts))
        elif kind == "snapshot":
            _, new_bids, new_asks = event
            out.extend(differ.diff_ticks(_levels(new_bids), _levels(new_asks), ts, ts))
        else:
            raise ValueError(f"unknown event kind {kind!r} in case {case.name}")
    return out


def _level_deltas(differ: SnapshotDiffer, event, ts: int) -> list:
    """One level change as a single delta (F_LAST), as an incremental feed would deliver it."""
    _, side, px, sz = event
    lots = int(Decimal(sz) / LOT)
    action = BookAction.UPDATE if lots > 0 else BookAction.DELETE
    order_side = OrderSide.BUY if side == "B" else OrderSide.SELL
    book = differ._bids if side == "B" else differ._asks
    ticks = _ticks(px)
    if lots > 0:
        if ticks not in book:
            action = BookAction.ADD
        book[ticks] = lots
    else:
        book.pop(ticks, None)
    return [differ.encoder.delta(action, order_side, ticks, lots, int(RecordFlag.F_LAST), 0, ts, ts)]


def level_events(data: list):
    """The data as the simulators' inputs: ("clear",) | ("level", side, px, size) | ("end",) |
    ("trade", aggressor, px, size), prices and sizes as ``Decimal``."""
    for item in data:
        if isinstance(item, OrderBookDelta):
            if item.action == BookAction.CLEAR:
                yield ("clear",)
            else:
                side = "B" if item.order.side == OrderSide.BUY else "A"
                size = Decimal(0) if item.action == BookAction.DELETE else item.order.size.as_decimal()
                yield ("level", side, item.order.price.as_decimal(), size)
            if item.flags & int(RecordFlag.F_LAST):
                yield ("end",)
        else:
            aggressor = "A" if item.aggressor_side == AggressorSide.SELLER else "B"
            yield ("trade", aggressor, item.price.as_decimal(), item.size.as_decimal())


def expected_fills(case: FillCase) -> list[tuple[int, Decimal, Decimal]]:
    return [(i, Decimal(px), Decimal(qty)) for i, px, qty in case.fills]
