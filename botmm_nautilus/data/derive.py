"""Derived catalogs: what a venue that publishes a windowed snapshot book would have shown.

``derive_window_snapshots`` replays a full-depth incremental Binance USD-M capture (the book built
exactly as ``data.binance`` builds it: REST snapshot, ``U/u/pu`` sequencing, gaps) and keeps only
what a Hyperliquid-style feed would have published: the top ``levels`` price levels a side,
sampled every ``interval_ms`` of receive time. Those snapshots are turned into deltas by
``engine.book_diff.SnapshotDiffer`` (the same path as the Hyperliquid importers: CLEAR + snapshot
first, then DELETE / ADD / UPDATE per changed level), and the capture's trades are written
unchanged, under the same instrument id. Set against the full-depth import of the same capture
this isolates one effect: how a backtest treats a book it sees only through a window (a level that
leaves the window arrives as a DELETE; beyond the window it sees no size at all).

Sampling rule: sample ``k`` is taken at receive time ``t_k = t_0 + k * interval`` (``t_0`` = the
receive time of the line that first synchronised the book) and shows the book after every line
received at or before ``t_k``; ``ts_init = t_k``, ``ts_event`` = the exchange time of the last
book message applied. While the full book is unknown (a sequence gap before the next REST
snapshot) each sample point is an empty book: one CLEAR, then CLEAR + snapshot once it is known
again.
"""

from __future__ import annotations

import heapq
import os
import time

from botmm_nautilus.data._common import DEFAULT_BATCH_SIZE
from botmm_nautilus.data._common import require_file
from botmm_nautilus.data.binance import _BinanceBookImporter
from botmm_nautilus.data.binance import _capture_notes
from botmm_nautilus.data.binance import _run_capture
from botmm_nautilus.data.catalog_io import StagedCatalogWriter
from botmm_nautilus.data.hl_import import BookStream
from botmm_nautilus.data.summary import ImportSummary
from botmm_nautilus.engine.book_diff import DEFAULT_GAP_THRESHOLD_NS
from botmm_nautilus.engine.book_diff import F_LAST
from botmm_nautilus.errors import ConfigError
from botmm_nautilus.errors import DataImportError

# What Hyperliquid publishes: 20 levels a side, a book message about every 0.5 s.
DEFAULT_WINDOW_LEVELS = 20
DEFAULT_SNAPSHOT_INTERVAL_MS = 500.0
NANOS_PER_MILLI = 1_000_000


def top_levels(levels: dict[int, int], n: int, is_bid: bool) -> list[tuple[int, int]]:
    """The ``n`` best ``(price ticks, size lots)`` levels of one side, best first (bids by
    descending price, asks by ascending price)."""
    pick = heapq.nlargest if is_bid else heapq.nsmallest
    return pick(n, levels.items())


class _WindowSampler:
    """``before_message`` hook of the capture replay: samples the top ``levels`` of the full book
    at every grid point passed and feeds them to a ``BookStream`` (created with the instrument)."""

    def __init__(self, importer: _BinanceBookImporter, writer, levels: int, interval_ns: int, batch_size: int) -> None:
        self.importer = importer
        self.writer = writer
        self.levels = levels
        self.interval_ns = interval_ns
        self.batch_size = batch_size
        self.stream: BookStream | None = None
        self.next_ns: int | None = None  # the next grid point
        self.prev_ns: int | None = None  # receive time of the line applied last
        self.cleared = False  # an empty book was written for the current gap
        self.samples = 0
        self.empty_samples = 0

    def __call__(self, local_ns: int) -> None:
        imp = self.importer
        if self.next_ns is None:
            if not imp.book_valid:
                self.prev_ns = local_ns
                return
            self.next_ns = local_ns if self.prev_ns is None else self.prev_ns  # the line that synchronised it
            # the samples follow each other at the grid interval by construction: only a sequence
            # gap (handled in _sample) makes the book unknown, never the time between two samples
            gap_ns = max(DEFAULT_GAP_THRESHOLD_NS, 2 * self.interval_ns)
            self.stream = BookStream(self.writer, imp.instrument, gap_ns, self.batch_size)
        while self.next_ns < local_ns:
            self._sample(self.next_ns)
            self.next_ns += self.interval_ns
        self.prev_ns = local_ns

    def finish(self) -> None:
        """Sample the grid points up to (and including) the last line's receive time."""
        if self.prev_ns is not None:
            self(self.prev_ns + 1)

    def _sample(self, ts_ns: int) -> None:
        imp = self.importer
        self.samples += 1
        if not imp.book_valid:
            self.empty_samples += 1
            if not self.cleared:
                enc = self.stream.differ.encoder
                self.stream.batcher.extend([enc.clear(F_LAST, 0, ts_ns, ts_ns)])
                self.stream.differ.resync()
                self.cleared = True
            return
        self.cleared = False
        bids = top_levels(imp.bids.levels, self.levels, is_bid=True)
        asks = top_levels(imp.asks.levels, self.levels, is_bid=False)
        self.stream.add(bids, asks, imp.book_ts_event, ts_ns, file=imp.path, row=None)


def derive_window_snapshots(
    capture: str | os.PathLike,
    catalog_path: str | os.PathLike,
    *,
    levels: int = DEFAULT_WINDOW_LEVELS,
    interval_ms: float = DEFAULT_SNAPSHOT_INTERVAL_MS,
    replace: bool = False,
    progress: bool = True,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> ImportSummary:
    """Write into ``catalog_path`` the ``levels``-level book of a Binance USD-M raw capture sampled
    every ``interval_ms`` of receive time (as deltas, see the module doc) and the capture's trades.

    The instrument and the trades are those ``import_binance_raw`` writes for the same capture.
    All-or-nothing like the importers: bad input raises ``DataImportError`` and writes nothing."""
    if not isinstance(levels, int) or isinstance(levels, bool) or levels < 1:
        raise ConfigError(f"levels must be a whole number >= 1, got {levels!r}")
    if not interval_ms > 0:
        raise ConfigError(f"interval_ms must be > 0, got {interval_ms!r}")
    started = time.perf_counter()
    path = require_file(capture)
    summary = ImportSummary(source=str(path), catalog_path=str(catalog_path))
    with StagedCatalogWriter(catalog_path, replace=replace) as writer:
        book = _BinanceBookImporter(path, writer, summary, batch_size, write_book=False)
        sampler = _WindowSampler(book, writer, levels, round(interval_ms * NANOS_PER_MILLI), batch_size)
        book.before_message = sampler
        _run_capture(path, book, progress)
        sampler.finish()
        if sampler.stream is None:
            raise DataImportError(path, "the book was never synchronised (a sequence gap right after every REST snapshot)")
        sampler.stream.finish(summary, book.symbol or "", "samples")
        report = writer.commit()
    counts = summary.counts(book.instrument.id)
    counts.trades = book.trade_batcher.written
    if counts.trades:
        counts.observe(book.trade_batcher.first_ts_init, book.trade_batcher.last_ts_init)
    summary.notes.append(
        f"derived: top {levels} levels a side sampled every {interval_ms:g} ms of receive time "
        f"({sampler.samples} samples, {sampler.empty_samples} while the book was unknown)",
    )
    summary.notes.extend(_capture_notes(book))
    summary.files_added = report.files_added
    summary.files_replaced = report.files_replaced
    summary.elapsed_s = time.perf_counter() - started
    return summary
