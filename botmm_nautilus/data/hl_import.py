"""What the two Hyperliquid book importers share (``hl_s3``: archive ``l2Book`` files, ``hl_ws``:
WebSocket recordings): the import session around the staged catalog writer, reading an input with
a progress bar, a coin's szDecimals, and the book stream of one coin (snapshots diffed into
deltas, written in batches, ``ts_init`` kept non-decreasing, counts and notes for the summary).
"""

from __future__ import annotations

import os
import time
from array import array
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from botmm_nautilus.data._common import NANOS_PER_SECOND
from botmm_nautilus.data._common import CatalogBatcher
from botmm_nautilus.data._common import clamp_monotonic
from botmm_nautilus.data._common import progress_bar
from botmm_nautilus.data.catalog_io import StagedCatalogWriter
from botmm_nautilus.data.gaps import append_new_gaps
from botmm_nautilus.data.gaps import gap_record
from botmm_nautilus.data.gaps import gaps_path
from botmm_nautilus.data.summary import ImportSummary
from botmm_nautilus.engine.book_diff import SnapshotDiffer
from botmm_nautilus.venue import rules as hl_rules


@contextmanager
def import_session(source: str, catalog_path: str | os.PathLike, replace: bool) -> Iterator[tuple[ImportSummary, StagedCatalogWriter]]:
    """``(summary, writer)`` for one all-or-nothing import: the staged files are committed when the
    block ends without an error (then the summary gets the files and the elapsed time, and its
    ``gaps`` go to the catalog's gap log), and discarded when it raises."""
    started = time.perf_counter()
    summary = ImportSummary(source=source, catalog_path=str(catalog_path))
    with StagedCatalogWriter(catalog_path, replace=replace) as writer:
        yield summary, writer
        report = writer.commit()
    if summary.gaps:
        written = append_new_gaps(catalog_path, summary.gaps)
        summary.notes.append(
            f"{len(summary.gaps)} gap(s) found; {written} new in the catalog's gap log ({gaps_path(catalog_path)}; "
            "botmm data info lists them)",
        )
    summary.files_added = report.files_added
    summary.files_replaced = report.files_replaced
    summary.elapsed_s = time.perf_counter() - started


def read_with_progress(items: Iterable, desc: str, unit: str, enabled: bool, size: Callable | None = None) -> Iterator:
    """``items`` (lines, chunks of rows, ...) with a progress bar on stderr that advances by
    ``size(item)`` (default 1) once an item has been handled; the bar is closed however the
    reading ends."""
    bar = progress_bar(desc, unit, enabled)
    try:
        for item in items:
            yield item
            bar.update(1 if size is None else size(item))
    finally:
        bar.close()


def coin_sz_decimals(coin: str, sample_sizes: Callable[[], list], summary: ImportSummary) -> int:
    """The published szDecimals of ``coin``, else inferred from ``sample_sizes()`` (noted in the summary)."""
    if coin in hl_rules.KNOWN_SZ_DECIMALS:
        return hl_rules.KNOWN_SZ_DECIMALS[coin]
    sizes = sample_sizes()
    sz_decimals = hl_rules.infer_sz_decimals(sizes)
    summary.notes.append(f"{coin}: szDecimals not in the known table; inferred {sz_decimals} from {len(sizes)} sizes")
    return sz_decimals


class BookStream:
    """One coin's book on its way into the catalog: full snapshots as ``(ticks, lots)`` levels are
    diffed into incremental deltas (``SnapshotDiffer``: CLEAR + snapshot first and after a gap
    longer than ``gap_threshold_ns``) and written in batches of ``batch_size``. ``ts_init`` is
    kept non-decreasing over the whole stream (:meth:`clamp`, :meth:`clamp_array`; raised values
    are counted). Every gap the differ sees becomes a ``gap_record`` in ``gaps`` (from the snapshot
    before it to the one after it); ``message_ts`` keeps ``(ts_init, ts_event)`` of every snapshot
    that changed the book (for ``replay_order.trades_after_later_book``)."""

    def __init__(self, writer: StagedCatalogWriter, instrument, gap_threshold_ns: int, batch_size: int) -> None:
        self.differ = SnapshotDiffer(instrument, gap_threshold_ns=gap_threshold_ns)
        self.batcher = CatalogBatcher(writer, batch_size)
        self.gap_threshold_ns = gap_threshold_ns
        self.ts_floor: int | None = None
        self.clamped = 0
        self.gaps: list[dict] = []
        self.message_ts_init = array("q")
        self.message_ts_event = array("q")
        self._prev_ts: tuple[int, int] | None = None
        self._prev_file = None

    def clamp(self, ts_init: int) -> int:
        if self.ts_floor is not None and ts_init < self.ts_floor:
            ts_init = self.ts_floor
            self.clamped += 1
        self.ts_floor = ts_init
        return ts_init

    def clamp_array(self, ts_init: np.ndarray) -> np.ndarray:
        out, clamped = clamp_monotonic(ts_init, self.ts_floor)
        self.clamped += clamped
        if out.size:
            self.ts_floor = int(out[-1])
        return out

    def add(self, bids: list, asks: list, ts_event: int, ts_init: int, *, file, row: int, row_label: str = "row") -> None:
        """One snapshot; a bad one (unsorted, crossed, ...) raises ``DataImportError`` naming ``file`` and ``row``."""
        differ = self.differ
        gaps_before = differ.gaps
        deltas = differ.diff_ticks(bids, asks, ts_event, ts_init, file=file, row=row, row_label=row_label)
        if differ.gaps != gaps_before and self._prev_ts is not None:
            iid = differ.instrument.id
            self.gaps.append(gap_record(
                iid.symbol.value, str(iid), f"import: no book for more than {self.gap_threshold_ns / NANOS_PER_SECOND:g} s",
                self._prev_ts[0], ts_init, self._prev_ts[1], ts_event, source=str(file),
            ))
        self._prev_ts = (ts_init, ts_event)
        if deltas:
            self.message_ts_init.append(ts_init)
            self.message_ts_event.append(ts_event)
            self.batcher.extend(deltas)

    def finish(self, summary: ImportSummary, coin: str, unit: str) -> None:
        """Write what is buffered; counts and notes (``unit``: what a snapshot is, e.g. ``lines``) into ``summary``."""
        differ, batcher = self.differ, self.batcher
        batcher.flush()
        counts = summary.counts(differ.instrument.id)
        counts.snapshots += differ.snapshots
        counts.deltas += batcher.written
        counts.book_messages += differ.messages
        counts.resyncs += differ.resyncs
        if batcher.written:
            counts.observe(batcher.first_ts_init, batcher.last_ts_init)
        for gap in self.gaps:
            gap["coin"] = coin
        summary.gaps.extend(self.gaps)
        if differ.gaps:
            summary.notes.append(
                f"{coin}: {differ.gaps} gap(s) longer than {self.gap_threshold_ns / NANOS_PER_SECOND:g}s between "
                "snapshots; the book was re-sent as CLEAR + snapshot after each",
            )
        if self.clamped:
            summary.notes.append(f"{coin}: {self.clamped} {unit} had a receive time going backwards; ts_init clamped")
