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
"""

from __future__ import annotations

import json
import os
from pathlib import Path

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
