"""Import Hyperliquid's official S3 archive ``l2Book`` hour files into a Parquet catalog.

Archive files (``s3://hyperliquid-archive/market_data/{YYYYMMDD}/{H}/l2Book/{COIN}.lz4``) are one
LZ4 frame of JSON lines, one full book snapshot per line::

    {"time": "2024-01-01T12:00:01.138942031", "ver_num": 1,
     "raw": {"channel": "l2Book", "data": {"coin": "BTC", "time": 1704110399915,
                                           "levels": [[{"px": "42727.0", "sz": "0.02265", "n": 1}, ...],
                                                      [... asks ...]]}}}

``raw.data`` is an ``l2Book`` message, decoded by ``botmm_nautilus.venue.messages`` (prices and
sizes straight to integer ticks and lots on the instrument's grid). ``raw.data.time`` (exchange ms)
becomes ``ts_event``; the top-level ``time`` (the archiver's UTC
receive time, nanosecond ISO text) becomes ``ts_init`` (made non-decreasing). Coin and date come
from the content, not the file name. Files may hold different coins; each coin's files are
processed in time order through one ``SnapshotDiffer``, so consecutive hours continue as
incremental deltas and a missing hour (a gap longer than ``gap_threshold_s``) produces a fresh
CLEAR + snapshot.

Truncation: a download cut short ends the LZ4 frame before its end mark (the last block cannot be
decoded), or ends a line mid-JSON. By default (strict) that is a ``DataImportError`` naming the
file and the first unreadable line, and nothing is written. ``allow_truncated=True``
(``--allow-truncated``) keeps every complete line before the cut and reports the loss in the
summary notes: useful for a partial archive hour when the rest of the hour is not needed.

The frame is decompressed incrementally (``lz4.frame.LZ4FrameDecompressor`` over 1 MiB reads)
rather than with ``lz4.frame.open``: the buffered file object loses the decoded lines of a
truncated frame, while the decompressor hands back every complete block it has seen.
"""

from __future__ import annotations

import calendar
import os
import time
from pathlib import Path

import lz4.frame
import msgspec

from botmm_nautilus.adapters.hyperliquid import make_perpetual
from botmm_nautilus.data._common import DEFAULT_BATCH_SIZE
from botmm_nautilus.data._common import NANOS_PER_MILLI
from botmm_nautilus.data._common import NANOS_PER_SECOND
from botmm_nautilus.data._common import as_path_list
from botmm_nautilus.data.hl_import import BookStream
from botmm_nautilus.data.hl_import import coin_sz_decimals
from botmm_nautilus.data.hl_import import import_session
from botmm_nautilus.data.hl_import import read_with_progress
from botmm_nautilus.data.summary import ImportSummary
from botmm_nautilus.engine.book_diff import DEFAULT_GAP_THRESHOLD_NS
from botmm_nautilus.errors import DataImportError
from botmm_nautilus.venue.errors import MalformedMessage
from botmm_nautilus.venue.messages import TickGrid
from botmm_nautilus.venue.messages import decode_l2book
from botmm_nautilus.venue.messages import l2book_coin_time
from botmm_nautilus.venue.rules import PERP_MAX_PRICE_DECIMALS

READ_BYTES = 1 << 20
# Sizes sampled from a coin's first file to infer szDecimals when the coin is not in the table.
SZ_SAMPLE_LINES = 200


class _Truncated(Exception):
    """The LZ4 frame (or the last line) ends early; ``complete_lines`` lines were whole."""

    def __init__(self, complete_lines: int, reason: str) -> None:
        super().__init__(reason)
        self.complete_lines = complete_lines
        self.reason = reason


def iter_lz4_lines(path: Path):
    """Yield ``(line_number, bytes)`` for each newline-terminated line of an LZ4-framed file.

    Raises ``_Truncated`` when a frame ends before its end mark or the last line is cut off
    (no newline and not whole JSON), and ``DataImportError`` for data that is not LZ4.
    """
    line_no = 0
    pending = b""
    decompressor = lz4.frame.LZ4FrameDecompressor()
    frame_in_progress = False  # bytes of the current frame were consumed, its end mark not yet seen
    with open(path, "rb") as fh:
        while chunk := fh.read(READ_BYTES):
            while chunk:
                frame_in_progress = True
                try:
                    out = decompressor.decompress(chunk)
                except RuntimeError as exc:
                    what = "not LZ4-compressed data" if line_no == 0 else f"corrupt LZ4 data after line {line_no}"
                    raise DataImportError(path, f"{what} ({exc})", row=line_no + 1, row_label="line") from exc
                chunk = b""
                if decompressor.eof:  # the frame ended; a concatenated frame may follow
                    chunk = decompressor.unused_data or b""
                    decompressor = lz4.frame.LZ4FrameDecompressor()
                    frame_in_progress = False
                if out:
                    pending += out
                    lines = pending.split(b"\n")
                    pending = lines.pop()
                    for line in lines:
                        line_no += 1
                        yield line_no, line
    if frame_in_progress:
        raise _Truncated(line_no, "the LZ4 frame ends before its end mark (file cut short)")
    if pending.strip():  # a last line without newline is fine if it is whole
        try:
            msgspec.json.decode(pending)
        except msgspec.DecodeError:
            raise _Truncated(line_no, "the last line is cut off (incomplete JSON, no newline)") from None
        yield line_no + 1, pending


def _parse_receive_time(text: str, cache: dict) -> int:
    """``"2024-01-01T12:00:01.138942031"`` (UTC, up to 9 decimals, optional ``Z``) -> ns."""
    text = text.rstrip("Z")
    head, _, frac = text.partition(".")
    base = cache.get(head)
    if base is None:
        parsed = time.strptime(head, "%Y-%m-%dT%H:%M:%S")
        base = calendar.timegm(parsed) * NANOS_PER_SECOND
        cache.clear()
        cache[head] = base
    return base + (int(frac[:9].ljust(9, "0")) if frac else 0)


class _Line(msgspec.Struct):
    raw: dict
    time: str | None = None


_decode_line = msgspec.json.Decoder(_Line).decode


def _read_line(path: Path, line_no: int, line: bytes, time_cache: dict):
    """``(l2Book message, ts_init ns or None)`` of one archive line."""
    try:
        rec = _decode_line(line)
    except msgspec.DecodeError as exc:
        raise DataImportError(path, f"not a valid archive JSON line ({exc})", row=line_no, row_label="line") from exc
    raw = rec.raw
    if raw.get("channel") != "l2Book":
        raise DataImportError(
            path, f"channel is {raw.get('channel')!r}, expected 'l2Book' (only book files are supported)",
            row=line_no, row_label="line", field="raw.channel",
        )
    ts_init = None
    if rec.time is not None:
        try:
            ts_init = _parse_receive_time(rec.time, time_cache)
        except ValueError as exc:
            raise DataImportError(
                path, f"time {rec.time!r} is not an ISO UTC time", row=line_no, row_label="line", field="time",
            ) from exc
    return raw.get("data"), ts_init


def _bad_message(path: Path, line_no: int, exc: MalformedMessage, context: str = "") -> DataImportError:
    field = "raw.data" + (f".{exc.field}" if exc.field else "")
    return DataImportError(path, f"{field}: {exc.reason}{context}", row=line_no, row_label="line", field=field)


def _peek(path: Path) -> tuple[str, int]:
    """Coin and first exchange time of a file (to group files by coin and order them in time)."""
    time_cache: dict = {}
    try:
        for line_no, line in iter_lz4_lines(path):
            if line.strip():
                data, _ = _read_line(path, line_no, line, time_cache)
                try:
                    coin, time_ms = l2book_coin_time(data)
                except MalformedMessage as exc:
                    raise _bad_message(path, line_no, exc) from None
                return coin.upper(), time_ms * NANOS_PER_MILLI
    except _Truncated as exc:
        raise DataImportError(
            path, f"no complete line: {exc.reason}", row=exc.complete_lines + 1, row_label="line",
        ) from exc
    raise DataImportError(path, "the file holds no book snapshot", row=1, row_label="line")


def _sample_sizes(path: Path) -> list[str]:
    """The level sizes of a file's first ``SZ_SAMPLE_LINES`` lines (as sent), to infer szDecimals."""
    sizes: list[str] = []
    any_grid = TickGrid(PERP_MAX_PRICE_DECIMALS, PERP_MAX_PRICE_DECIMALS)  # every valid book fits
    time_cache: dict = {}
    try:
        for line_no, line in iter_lz4_lines(path):
            if line.strip():
                data, _ = _read_line(path, line_no, line, time_cache)
                try:
                    decode_l2book(data, any_grid)
                except MalformedMessage as exc:
                    raise _bad_message(path, line_no, exc) from None
                sizes.extend(level["sz"] for side in data["levels"] for level in side)
            if line_no >= SZ_SAMPLE_LINES:
                break
    except _Truncated:
        pass
    return sizes


def import_hyperliquid_s3(
    files,
    catalog_path: str | os.PathLike,
    replace: bool = False,
    progress: bool = True,
    *,
    allow_truncated: bool = False,
    gap_threshold_s: float = DEFAULT_GAP_THRESHOLD_NS / NANOS_PER_SECOND,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> ImportSummary:
    """Import one or more S3 archive ``l2Book`` files (any coins, any hours) as book deltas.

    Strict by default: a truncated or malformed file raises ``DataImportError`` (file and line)
    and nothing is written. ``allow_truncated`` keeps the complete lines of a cut-off file.
    """
    paths = as_path_list(files)
    gap_threshold_ns = int(gap_threshold_s * NANOS_PER_SECOND)
    with import_session(", ".join(str(p) for p in paths), catalog_path, replace) as (summary, writer):
        by_coin: dict[str, list[tuple[int, Path]]] = {}
        for path in paths:
            coin, first_ts = _peek(path)
            by_coin.setdefault(coin, []).append((first_ts, path))
        for coin in sorted(by_coin):
            coin_files = [p for _, p in sorted(by_coin[coin], key=lambda item: (item[0], str(item[1])))]
            first_file = coin_files[0]
            instrument = make_perpetual(coin, coin_sz_decimals(coin, lambda f=first_file: _sample_sizes(f), summary))
            writer.write([instrument])
            stream = BookStream(writer, instrument, gap_threshold_ns, batch_size)
            for path in coin_files:
                _import_file(path, coin, stream, summary, allow_truncated, progress)
            stream.finish(summary, coin, "lines")
    return summary


def _import_file(path, coin, stream: BookStream, summary, allow_truncated, progress) -> None:
    """Diff one file's snapshots into ``stream``."""
    enc = stream.differ.encoder
    grid = TickGrid(enc.price_precision, enc.size_precision)
    precision = f" (precision of {enc.instrument_id})"
    time_cache: dict = {}
    try:
        for line_no, line in read_with_progress(iter_lz4_lines(path), path.name, " lines", progress):
            if not line.strip():
                continue
            data, ts_init = _read_line(path, line_no, line, time_cache)
            try:
                book = decode_l2book(data, grid)
            except MalformedMessage as exc:
                raise _bad_message(path, line_no, exc, precision if exc.field.endswith(("px", "sz")) else "") from None
            if book.coin.upper() != coin:
                raise DataImportError(
                    path, f"coin {book.coin.upper()!r} in a file of {coin!r} (one coin per file)", row=line_no,
                    row_label="line", field="raw.data.coin",
                )
            ts_event = book.time * NANOS_PER_MILLI
            ts_init = stream.clamp(ts_event if ts_init is None else ts_init)
            stream.add(book.bids, book.asks, ts_event, ts_init, file=path, row=line_no, row_label="line")
    except _Truncated as exc:
        if not allow_truncated:
            raise DataImportError(
                path,
                f"{exc.reason}: lines 1..{exc.complete_lines} are complete; nothing was written. "
                f"Re-download the file, or pass allow_truncated=True (--allow-truncated) to keep the "
                f"{exc.complete_lines} complete lines",
                row=exc.complete_lines + 1,
                row_label="line",
            ) from exc
        summary.notes.append(
            f"{path.name}: {exc.reason}; kept the {exc.complete_lines} complete lines (allow_truncated)",
        )
