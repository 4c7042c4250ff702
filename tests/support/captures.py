"""Helpers for tests on raw ``<local_ns> <json>`` captures (Binance USD-M in ../shared/data)."""

from __future__ import annotations

import gzip
from pathlib import Path


def write_capture_head(source: Path, target: Path, seconds: float) -> Path:
    """Copy the lines of ``source`` received within ``seconds`` of its first line into ``target``
    (gzip): a short real capture for tests that must stay fast. Written to a test's tmp folder,
    never into the repository."""
    limit_ns = None
    with gzip.open(source, "rb") as src, gzip.open(target, "wb", compresslevel=1) as dst:
        for line in src:
            local_ns = int(line.split(b" ", 1)[0])
            if limit_ns is None:
                limit_ns = local_ns + int(seconds * 1e9)
            if local_ns > limit_ns:
                break
            dst.write(line)
    return target
