"""One coin's recording state and its parts: rows buffered per part of ``part_seconds`` of
exchange time, and the rotation to the next part.

A part ends at the first message of the coin whose ``ts_event`` falls in a later part; so every
message goes to exactly one part (one at exactly the boundary opens the new part), parts are
contiguous in receive order and the book carries over (no CLEAR at a part boundary).
"""

from __future__ import annotations

from collections import OrderedDict

from botmm_nautilus.engine.book_diff import SnapshotDiffer
from botmm_nautilus.venue.messages import TickGrid

_NO_DIFFER_GAP = 2**62  # the recorder detects gaps itself (and logs them); the differ must not resync silently


class CoinRecording:
    """Per-coin state (touched only on the event loop thread): the book differ and tick grid, the
    open part's buffers, gap and de-duplication state, and the counters of the summary."""

    def __init__(self, coin: str, instrument, part_ns: int) -> None:
        self.coin = coin
        self.instrument = instrument
        self.instrument_id = str(instrument.id)
        self.part_ns = part_ns
        self.differ = SnapshotDiffer(instrument, gap_threshold_ns=_NO_DIFFER_GAP)
        self.encoder = self.differ.encoder
        self.grid = TickGrid(self.encoder.price_precision, self.encoder.size_precision)
        self.deltas: list = []
        self.trades: list = []
        self.part: int | None = None
        self.awaiting_book = True
        self.open_gap: dict | None = None
        self.trade_floor_ns: int | None = None
        self.seen_tids: OrderedDict[str, int] = OrderedDict()
        self.last_ts_init: int | None = None  # last message recorded (book or trade)
        self.last_exchange_ns: int | None = None
        self.last_book_exchange_ns: int | None = None
        self.last_book_mono: float | None = None
        self.last_stale_action_mono: float | None = None
        # counters
        self.messages = 0  # l2Book + trades messages of this coin
        self.book_messages = 0
        self.book_messages_recorded = 0  # produced deltas
        self.clears = 0  # CLEAR + full snapshot written (start, after gaps)
        self.trades_received = 0
        self.trades_duplicate = 0
        self.trades_without_book = 0  # received while the book was unknown (start, gap)
        self.trades_before_book = 0  # exchange time before the first book message after start/gap
        self.book_time_backwards = 0
        self.malformed = 0
        self.gaps = 0
        self.deltas_buffered = 0
        self.trades_buffered = 0
        self.status_messages = 0

    def take(self) -> tuple[str, int, list, list] | None:
        """The open part's buffered rows as a ``(coin, part, deltas, trades)`` chunk (None if empty)."""
        if not self.deltas and not self.trades:
            return None
        chunk = (self.coin, self.part, self.deltas, self.trades)
        self.deltas = []
        self.trades = []
        return chunk

    def append(self, ts_event: int, deltas, trades) -> tuple[int, tuple | None] | None:
        """Buffer rows stamped ``ts_event``. When they belong to a later part the open part is
        complete: returns ``(its index, its last chunk or None)`` for the writer, else None."""
        part = ts_event // self.part_ns
        finished = None
        if self.part is None:
            self.part = part
        elif part > self.part:
            finished = (self.part, self.take())
            self.part = part
        if deltas:
            self.deltas.extend(deltas)
            self.deltas_buffered += len(deltas)
        if trades:
            self.trades.extend(trades)
            self.trades_buffered += len(trades)
        return finished
