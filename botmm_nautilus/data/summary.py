"""``ImportSummary``: what an importer put into the catalog, printed by the ``botmm data`` commands."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timezone


def format_ns(ts_ns: int | None) -> str:
    """UTC ISO text of a nanosecond timestamp to the microsecond (``-`` when unknown)."""
    if ts_ns is None:
        return "-"
    seconds, rest_ns = divmod(int(ts_ns), 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{rest_ns // 1000:06d}Z"


@dataclass
class InstrumentImportCounts:
    """Counts for one instrument (or bar type owner) written by one import."""

    instrument_id: str
    snapshots: int = 0  # full book snapshots read from the source
    deltas: int = 0  # OrderBookDelta rows written
    book_messages: int = 0  # non-empty delta groups (each ends with F_LAST)
    resyncs: int = 0  # CLEAR + full snapshot after the first one (time gaps, sequence gaps)
    trades: int = 0
    bars: int = 0
    funding: int = 0
    start_ns: int | None = None  # first ts_init written
    end_ns: int | None = None  # last ts_init written

    def observe(self, first_ts_ns: int, last_ts_ns: int) -> None:
        """Widen the written time range to include ``[first_ts_ns, last_ts_ns]``."""
        if self.start_ns is None or first_ts_ns < self.start_ns:
            self.start_ns = int(first_ts_ns)
        if self.end_ns is None or last_ts_ns > self.end_ns:
            self.end_ns = int(last_ts_ns)


@dataclass
class ImportSummary:
    """Result of one importer call: per-instrument counts, time ranges and catalog files."""

    source: str
    catalog_path: str
    instruments: dict[str, InstrumentImportCounts] = field(default_factory=dict)
    files_added: list[str] = field(default_factory=list)
    files_replaced: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    # gaps found in the input (``data.gaps.gap_record`` dicts), appended to the catalog's gap log on commit
    gaps: list[dict] = field(default_factory=list)

    def counts(self, instrument_id) -> InstrumentImportCounts:
        key = str(instrument_id)
        if key not in self.instruments:
            self.instruments[key] = InstrumentImportCounts(key)
        return self.instruments[key]

    def __str__(self) -> str:
        lines = [f"imported {self.source} into {self.catalog_path} in {self.elapsed_s:.1f}s"]
        header = f"  {'instrument':<28} {'snapshots':>9} {'deltas':>9} {'resyncs':>7} {'trades':>8} {'bars':>8} {'funding':>7}  time range (UTC, ts_init)"
        lines.append(header)
        for key in sorted(self.instruments):
            c = self.instruments[key]
            lines.append(
                f"  {key:<28} {c.snapshots:>9} {c.deltas:>9} {c.resyncs:>7} {c.trades:>8} {c.bars:>8} {c.funding:>7}  "
                f"{format_ns(c.start_ns)} .. {format_ns(c.end_ns)}",
            )
        lines.append(f"  catalog files added: {len(self.files_added)}, replaced: {len(self.files_replaced)}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)
