"""The recorder's gap log: ``CAT/gaps/recorder_gaps.jsonl``, one JSON object per line.

A gap is a time span in which the recorder does not know a coin's book: the WebSocket dropped,
the feed went stale, or the exchange time jumped. Nothing is written for the span (no trades are
invented, the book is not carried over); the first book message after it is stored as CLEAR + full
snapshot. Each line::

    {"coin": "BTC", "instrument_id": "BTC-USDC-PERP.HL", "reason": "disconnect",
     "start_ns": ..., "end_ns": ..., "start": "2025-...Z", "end": "2025-...Z", "duration_s": 1.25,
     "start_exchange_ns": ..., "end_exchange_ns": ..., "resolved": true}

``start_ns``/``end_ns`` are local receive times (``ts_init`` of the last message recorded before
the gap and of the first book message after it), the ``*_exchange_ns`` fields the venue's times of
the same messages (``null`` when unknown). ``resolved: false`` marks a gap still open when the
recorder stopped (its ``end_ns`` is the stop time). Lines are appended and fsynced one at a time,
so a crash loses at most the line being written; readers skip lines that are not valid JSON.

Importers (``botmm data import-hyperliquid-ws``, ``import-l2-snapshots``, ...) log the gaps they
find in a recording the same way (``reason`` ``"import: no book for more than N s"``, ``source``
the input file), after their data is committed; a gap already in the log (same instrument, start
and end) is not written twice, so re-importing with ``--replace`` does not duplicate it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from botmm_nautilus.data.summary import format_ns

GAPS_DIR = "gaps"
GAPS_FILE = "recorder_gaps.jsonl"


def gaps_path(catalog_path: str | os.PathLike) -> Path:
    return Path(catalog_path) / GAPS_DIR / GAPS_FILE


def append_gap(catalog_path: str | os.PathLike, record: dict) -> None:
    """Append one gap record (one line, flushed and fsynced)."""
    path = gaps_path(catalog_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


def gap_record(coin: str, instrument_id: str, reason: str, start_ns: int, end_ns: int,
               start_exchange_ns: int | None, end_exchange_ns: int | None, **extra) -> dict:
    """One gap-log record (the fields listed above; ``extra`` fields are added as given)."""
    record = {
        "coin": coin,
        "instrument_id": instrument_id,
        "reason": reason,
        "start_ns": int(start_ns),
        "end_ns": int(end_ns),
        "start": format_ns(start_ns),
        "end": format_ns(end_ns),
        "duration_s": round((int(end_ns) - int(start_ns)) / 1e9, 6),
        "start_exchange_ns": None if start_exchange_ns is None else int(start_exchange_ns),
        "end_exchange_ns": None if end_exchange_ns is None else int(end_exchange_ns),
        "resolved": True,
    }
    record.update(extra)
    return record


def append_new_gaps(catalog_path: str | os.PathLike, records: list[dict]) -> int:
    """Append the ``records`` not already in the log (same ``instrument_id``, ``start_ns``,
    ``end_ns``); returns how many were written."""
    if not records:
        return 0
    existing, _ = read_gaps(catalog_path)
    known = {(g.get("instrument_id"), g["start_ns"], g["end_ns"]) for g in existing}
    written = 0
    for record in records:
        key = (record.get("instrument_id"), record["start_ns"], record["end_ns"])
        if key in known:
            continue
        append_gap(catalog_path, record)
        known.add(key)
        written += 1
    return written


def read_gaps(catalog_path: str | os.PathLike) -> tuple[list[dict], int]:
    """``(gap records in file order, number of unreadable lines)``; no file gives ``([], 0)``."""
    path = gaps_path(catalog_path)
    if not path.is_file():
        return [], 0
    gaps: list[dict] = []
    bad = 0
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                bad += 1
                continue
            if isinstance(record, dict) and all(
                isinstance(record.get(k), int) and not isinstance(record.get(k), bool) for k in ("start_ns", "end_ns")
            ):
                gaps.append(record)
            else:
                bad += 1
    return gaps, bad
