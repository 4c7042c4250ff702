"""Full L2 snapshots -> incremental ``OrderBookDelta`` lists.

Hyperliquid publishes every book message as the whole book (about 20 levels a side). Stored as
CLEAR + ADD per level, a catalog replay resets every queue position on each message (Nautilus's
``queue_position`` model resets on CLEAR) and ``buffer_deltas`` cannot group messages; both make
backtest fills optimistic. ``SnapshotDiffer`` keeps the
previous snapshot and emits only what changed:

* the first snapshot (and any resync) is CLEAR + one ADD per level, all flagged ``F_SNAPSHOT``,
  with ``F_LAST`` on the final delta;
* every later snapshot becomes DELETEs (levels gone), then ADDs (new levels) and UPDATEs (size
  changed), ``F_LAST`` only on the last delta of the message. Deletes go first so that the book
  never looks crossed halfway through a message (the intermediate book is a subset of the final,
  uncrossed one);
* a level that only LEFT THE WINDOW is not deleted (rule D1 of ``venue/fill_rules.py``): a
  recorder shows the best N levels a side, so when a side of the new snapshot is full (N levels,
  ``window_levels``; by default the most levels seen on a side so far) a previous level priced
  beyond its worst level keeps its last size as stale depth until the window sees that price again
  (then it is updated or deleted like any level). A side with fewer than N levels is the whole
  book: levels missing from it are deleted. Without this every move of the window would delete the
  levels at its edge and reset the queue position of orders resting there;
* a snapshot identical to the previous one emits nothing;
* a time gap longer than ``gap_threshold_ns`` between consecutive snapshots (the recorder was
  disconnected: what happened to the book in between is unknown) emits a fresh CLEAR + snapshot,
  as does an explicit ``resync()``.

Snapshots arrive as integer ticks and lots on the instrument's grid (the callers convert: the
venue decoder for wire text, ``engine.ticks.to_ticks`` for numeric columns) and are validated:
levels sorted best-first without duplicates, positive prices and sizes, and an uncrossed book
(best bid < best ask). Violations raise ``DataImportError`` with the file and row the caller
passed in.

Deltas are built with ``OrderBookDelta.from_raw`` from integer ticks and lots (raw value =
ticks * 10**(FIXED_PRECISION - precision)): exact and several times faster than building
``Price``/``Quantity`` objects.
"""

from __future__ import annotations

from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.objects import FIXED_PRECISION

from botmm_nautilus.engine.ticks import format_ticks
from botmm_nautilus.errors import DataImportError

DEFAULT_GAP_THRESHOLD_NS = 60 * 1_000_000_000

F_LAST = int(RecordFlag.F_LAST)
F_SNAPSHOT = int(RecordFlag.F_SNAPSHOT)

_ADD = BookAction.ADD
_UPDATE = BookAction.UPDATE
_DELETE = BookAction.DELETE
_CLEAR = BookAction.CLEAR
_BUY = OrderSide.BUY
_SELL = OrderSide.SELL


class BookDeltaEncoder:
    """Builds ``OrderBookDelta`` (and ``TradeTick``) objects for one instrument from integer ticks and lots."""

    def __init__(self, instrument) -> None:
        self.instrument = instrument
        self.instrument_id = instrument.id
        self.price_precision = int(instrument.price_precision)
        self.size_precision = int(instrument.size_precision)
        self.raw_per_tick = 10 ** (FIXED_PRECISION - self.price_precision)
        self.raw_per_lot = 10 ** (FIXED_PRECISION - self.size_precision)
        self._last_delta_ts_init = -1

    def unique_ts_init(self, ts_init: int) -> int:
        """``ts_init`` made strictly increasing over this encoder's deltas (+1 ns where it would repeat).

        Nautilus's catalog queries with a time filter (any ``--start``/``--end``) do not keep the
        order of records with equal ``ts_init``: the deltas of one message came back shuffled, so
        ``F_LAST`` was no longer last and the book was seen half-updated (a backtest's result then
        depended on whether an end time was given). A unique ``ts_init`` per delta keeps the
        written order in every query; the shift is a few ns within a message.
        """
        if ts_init <= self._last_delta_ts_init:
            ts_init = self._last_delta_ts_init + 1
        self._last_delta_ts_init = ts_init
        return ts_init

    def delta(self, action, side, ticks: int, lots: int, flags: int, sequence: int, ts_event: int, ts_init: int) -> OrderBookDelta:
        ts_init = self.unique_ts_init(ts_init)
        return OrderBookDelta.from_raw(
            self.instrument_id,
            action,
            side,
            ticks * self.raw_per_tick,
            self.price_precision,
            lots * self.raw_per_lot,
            self.size_precision,
            0,
            flags,
            sequence,
            ts_event,
            ts_init,
        )

    def clear(self, flags: int, sequence: int, ts_event: int, ts_init: int) -> OrderBookDelta:
        ts_init = self.unique_ts_init(ts_init)
        return OrderBookDelta.from_raw(
            self.instrument_id,
            _CLEAR,
            OrderSide.NO_ORDER_SIDE,
            0,
            self.price_precision,
            0,
            self.size_precision,
            0,
            flags,
            sequence,
            ts_event,
            ts_init,
        )

    def trade(self, ticks: int, lots: int, aggressor, trade_id: str, ts_event: int, ts_init: int) -> TradeTick:
        """A ``TradeTick`` of this instrument from integer ticks and lots (exact, ``from_raw``)."""
        return TradeTick.from_raw(
            self.instrument_id,
            ticks * self.raw_per_tick,
            self.price_precision,
            lots * self.raw_per_lot,
            self.size_precision,
            aggressor,
            TradeId(trade_id),
            ts_event,
            ts_init,
        )

    def price_text(self, ticks: int) -> str:
        return format_ticks(ticks, self.price_precision)

    def size_text(self, lots: int) -> str:
        return format_ticks(lots, self.size_precision)


class SnapshotDiffer:
    """Turns successive full L2 snapshots of one instrument into incremental deltas.

    ``diff_ticks(bids, asks, ts_event, ts_init)`` takes ``(price ticks, size lots)`` levels, best
    first: bids by descending price, asks by ascending price. Counters: ``snapshots`` (inputs),
    ``messages`` (non-empty outputs, each ending with ``F_LAST``), ``resyncs`` (CLEAR + snapshot
    after the first) and ``gaps`` (time gaps seen).
    """

    def __init__(self, instrument, gap_threshold_ns: int = DEFAULT_GAP_THRESHOLD_NS, window_levels: int | None = None) -> None:
        self.encoder = BookDeltaEncoder(instrument)
        self.instrument = instrument
        self.gap_threshold_ns = int(gap_threshold_ns)
        self.window_levels = window_levels  # None: the most levels seen on one side so far
        self._max_levels_seen = 0
        self._bids: dict[int, int] = {}
        self._asks: dict[int, int] = {}
        self._needs_snapshot = True
        self._snapshot_emitted = False
        self._last_ts_init: int | None = None
        self._sequence = 0
        self.snapshots = 0
        self.messages = 0
        self.resyncs = 0
        self.gaps = 0

    def resync(self) -> None:
        """Make the next snapshot a CLEAR + full snapshot (e.g. after a known data gap)."""
        self._needs_snapshot = True

    def diff_ticks(
        self,
        bid_levels: list[tuple[int, int]],
        ask_levels: list[tuple[int, int]],
        ts_event: int,
        ts_init: int,
        *,
        file=None,
        row: int | None = None,
        row_label: str = "row",
    ) -> list[OrderBookDelta]:
        """Deltas that turn the previous snapshot into this one (an empty list if nothing changed)."""
        self._validate(bid_levels, ask_levels, file, row, row_label)
        self.snapshots += 1
        last = self._last_ts_init
        if last is not None and ts_init - last > self.gap_threshold_ns:
            self.gaps += 1
            self._needs_snapshot = True
        self._last_ts_init = ts_init
        self._max_levels_seen = max(self._max_levels_seen, len(bid_levels), len(ask_levels))
        new_bids = dict(bid_levels)
        new_asks = dict(ask_levels)
        if not self._needs_snapshot:
            window = self.window_levels or self._max_levels_seen
            self._keep_stale(self._bids, new_bids, bid_levels, window, below=True)
            self._keep_stale(self._asks, new_asks, ask_levels, window, below=False)
        if self._needs_snapshot:
            out = self._full_snapshot(bid_levels, ask_levels, ts_event, ts_init)
            if self._snapshot_emitted:
                self.resyncs += 1
            self._snapshot_emitted = True
            self._needs_snapshot = False
        else:
            out = self._changes(new_bids, new_asks, ts_event, ts_init)
        self._bids = new_bids
        self._asks = new_asks
        if out:
            self.messages += 1
        return out

    def _keep_stale(self, old: dict, new: dict, levels: list, window: int, below: bool) -> None:
        """D1: previous levels beyond a full window's worst price stay in ``new`` with their last size."""
        if len(levels) < window or not levels:
            return
        edge = levels[-1][0]
        for ticks, lots in old.items():
            if (ticks < edge if below else ticks > edge) and ticks not in new:
                new[ticks] = lots

    def _validate(self, bids, asks, file, row, row_label) -> None:
        enc = self.encoder
        for side, levels, descending in (("bid", bids, True), ("ask", asks, False)):
            prev = None
            for level, (ticks, lots) in enumerate(levels):
                if ticks <= 0:
                    raise DataImportError(
                        file, f"{side} level {level} has non-positive price {enc.price_text(ticks)}", row=row, row_label=row_label,
                    )
                if lots <= 0:
                    raise DataImportError(
                        file, f"{side} level {level} has non-positive size {enc.size_text(lots)}", row=row, row_label=row_label,
                    )
                if prev is not None and (ticks >= prev if descending else ticks <= prev):
                    order = "descending" if descending else "ascending"
                    raise DataImportError(
                        file,
                        f"{side} levels not sorted best-first ({order} prices, no duplicates): level {level} price "
                        f"{enc.price_text(ticks)} after level {level - 1} price {enc.price_text(prev)}",
                        row=row,
                        row_label=row_label,
                    )
                prev = ticks
        if bids and asks and bids[0][0] >= asks[0][0]:
            raise DataImportError(
                file,
                f"crossed book: best bid {enc.price_text(bids[0][0])} >= best ask {enc.price_text(asks[0][0])}",
                row=row,
                row_label=row_label,
            )

    def _full_snapshot(self, bid_levels, ask_levels, ts_event: int, ts_init: int) -> list[OrderBookDelta]:
        enc = self.encoder
        self._sequence += 1
        n_levels = len(bid_levels) + len(ask_levels)
        out = [enc.clear(F_SNAPSHOT | (F_LAST if n_levels == 0 else 0), self._sequence, ts_event, ts_init)]
        remaining = n_levels
        for side, levels in ((_BUY, bid_levels), (_SELL, ask_levels)):
            for ticks, lots in levels:
                remaining -= 1
                self._sequence += 1
                flags = F_SNAPSHOT | (F_LAST if remaining == 0 else 0)
                out.append(enc.delta(_ADD, side, ticks, lots, flags, self._sequence, ts_event, ts_init))
        return out

    def _changes(self, new_bids: dict, new_asks: dict, ts_event: int, ts_init: int) -> list[OrderBookDelta]:
        ops: list[tuple] = []  # (action, side, ticks, lots)
        old_bids, old_asks = self._bids, self._asks
        ops.extend((_DELETE, _BUY, ticks, 0) for ticks in old_bids if ticks not in new_bids)
        ops.extend((_DELETE, _SELL, ticks, 0) for ticks in old_asks if ticks not in new_asks)
        for side, old, new in ((_BUY, old_bids, new_bids), (_SELL, old_asks, new_asks)):
            for ticks, lots in new.items():
                prev = old.get(ticks)
                if prev is None:
                    ops.append((_ADD, side, ticks, lots))
                elif prev != lots:
                    ops.append((_UPDATE, side, ticks, lots))
        if not ops:
            return []
        enc = self.encoder
        last_index = len(ops) - 1
        out = []
        for i, (action, side, ticks, lots) in enumerate(ops):
            self._sequence += 1
            out.append(enc.delta(action, side, ticks, lots, F_LAST if i == last_index else 0, self._sequence, ts_event, ts_init))
        return out
