"""Import Hyperliquid's official S3 archive ``l2Book`` hour files into a Parquet catalog.

Archive files (``s3://hyperliquid-archive/market_data/{YYYYMMDD}/{H}/l2Book/{COIN}.lz4``) are one
LZ4 frame of JSON lines, one full book snapshot per line::

    {"time": "2024-01-01T12:00:01.138942031", "ver_num": 1,
     "raw": {"channel": "l2Book", "data": {"coin": "BTC", "time": 1704110399915,
                                           "levels": [[{"px": "42727.0", "sz": "0.02265", "n": 1}, ...],
                                                      [... asks ...]]}}}

``raw.data.time`` (exchange ms) becomes ``ts_event``; the top-level ``time`` (the archiver's UTC
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
from botmm_nautilus.data._common import CatalogBatcher
from botmm_nautilus.data._common import as_path_list
from botmm_nautilus.data._common import progress_bar
from botmm_nautilus.data.catalog_io import StagedCatalogWriter
from botmm_nautilus.data.summary import ImportSummary
from botmm_nautilus.engine.book_diff import DEFAULT_GAP_THRESHOLD_NS
from botmm_nautilus.engine.book_diff import SnapshotDiffer
from botmm_nautilus.engine.ticks import value_to_ticks
from botmm_nautilus.errors import DataImportError
from botmm_nautilus.venue import rules as hl_rules

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


def _parse_snapshot(path: Path, line_no: int, line: bytes, time_cache: dict):
    """``(coin, ts_event_ns, ts_init_ns or None, bids, asks)`` of one archive line."""
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
    data = raw.get("data")
    if not isinstance(data, dict):
        raise DataImportError(path, "raw.data is missing", row=line_no, row_label="line", field="raw.data")
    coin, exchange_ms, levels = data.get("coin"), data.get("time"), data.get("levels")
    if not isinstance(coin, str) or not coin:
        raise DataImportError(path, "raw.data.coin is missing", row=line_no, row_label="line", field="raw.data.coin")
    if not isinstance(exchange_ms, int):
        raise DataImportError(
            path, f"raw.data.time is {exchange_ms!r}, expected epoch milliseconds", row=line_no, row_label="line", field="raw.data.time",
        )
    if not (isinstance(levels, list) and len(levels) == 2 and all(isinstance(side, list) for side in levels)):
        raise DataImportError(
            path, "raw.data.levels must be [bids, asks]", row=line_no, row_label="line", field="raw.data.levels",
        )
    ts_init = None
    if rec.time is not None:
        try:
            ts_init = _parse_receive_time(rec.time, time_cache)
        except ValueError as exc:
            raise DataImportError(
                path, f"time {rec.time!r} is not an ISO UTC time", row=line_no, row_label="line", field="time",
            ) from exc
    return coin.upper(), exchange_ms * NANOS_PER_MILLI, ts_init, levels[0], levels[1]


def _levels_to_ticks(path, line_no, side_name, levels, price_decimals, size_decimals, instrument_id):
    out = []
    for i, level in enumerate(levels):
        try:
            px, sz = level["px"], level["sz"]
        except (TypeError, KeyError) as exc:
            raise DataImportError(
                path, f"{side_name} level {i} must be {{'px', 'sz', 'n'}}, got {level!r}", row=line_no, row_label="line",
            ) from exc
        ticks = value_to_ticks(px, price_decimals)
        lots = value_to_ticks(sz, size_decimals)
        if ticks is None or lots is None:
            what, value, decimals = ("px", px, price_decimals) if ticks is None else ("sz", sz, size_decimals)
            raise DataImportError(
                path,
                f"{side_name} level {i} {what} {value!r} is not a number with at most {decimals} decimals "
                f"(precision of {instrument_id})",
                row=line_no,
                row_label="line",
                field=what,
            )
        out.append((ticks, lots))
    return out


def _peek(path: Path) -> tuple[str, int]:
    """Coin and first exchange time of a file (to group files by coin and order them in time)."""
    time_cache: dict = {}
    try:
        for line_no, line in iter_lz4_lines(path):
            if line.strip():
                coin, ts_event, _, _, _ = _parse_snapshot(path, line_no, line, time_cache)
                return coin, ts_event
    except _Truncated as exc:
        raise DataImportError(
            path, f"no complete line: {exc.reason}", row=exc.complete_lines + 1, row_label="line",
        ) from exc
    raise DataImportError(path, "the file holds no book snapshot", row=1, row_label="line")


def _sz_decimals(coin: str, path: Path, summary: ImportSummary) -> int:
    if coin in hl_rules.KNOWN_SZ_DECIMALS:
        return hl_rules.KNOWN_SZ_DECIMALS[coin]
    sizes = []
    time_cache: dict = {}
    try:
        for line_no, line in iter_lz4_lines(path):
            if line.strip():
                _, _, _, bids, asks = _parse_snapshot(path, line_no, line, time_cache)
                sizes.extend(level["sz"] for level in bids + asks if isinstance(level, dict) and "sz" in level)
            if line_no >= SZ_SAMPLE_LINES:
                break
    except _Truncated:
        pass
    sz_decimals = hl_rules.infer_sz_decimals(sizes)
    summary.notes.append(f"{coin}: szDecimals not in the known table; inferred {sz_decimals} from {len(sizes)} sizes")
    return sz_decimals


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
    started = time.perf_counter()
    paths = as_path_list(files)
    summary = ImportSummary(source=", ".join(str(p) for p in paths), catalog_path=str(catalog_path))
    by_coin: dict[str, list[tuple[int, Path]]] = {}
    for path in paths:
        coin, first_ts = _peek(path)
        by_coin.setdefault(coin, []).append((first_ts, path))
    gap_threshold_ns = int(gap_threshold_s * NANOS_PER_SECOND)
    with StagedCatalogWriter(catalog_path, replace=replace) as writer:
        for coin in sorted(by_coin):
            coin_files = [p for _, p in sorted(by_coin[coin], key=lambda item: (item[0], str(item[1])))]
            instrument = make_perpetual(coin, _sz_decimals(coin, coin_files[0], summary))
            writer.write([instrument])
            differ = SnapshotDiffer(instrument, gap_threshold_ns=gap_threshold_ns)
            batcher = CatalogBatcher(writer, batch_size)
            ts_floor = 0
            clamped = 0
            for path in coin_files:
                ts_floor, file_clamped = _import_file(
                    path, coin, differ, batcher, summary, ts_floor, allow_truncated, progress,
                )
                clamped += file_clamped
            batcher.flush()
            counts = summary.counts(instrument.id)
            counts.snapshots += differ.snapshots
            counts.deltas += batcher.written
            counts.book_messages += differ.messages
            counts.resyncs += differ.resyncs
            if batcher.written:
                counts.observe(batcher.first_ts_init, batcher.last_ts_init)
            if differ.gaps:
                summary.notes.append(
                    f"{coin}: {differ.gaps} gap(s) longer than {gap_threshold_s:g}s between snapshots; "
                    "the book was re-sent as CLEAR + snapshot after each",
                )
            if clamped:
                summary.notes.append(f"{coin}: {clamped} lines had a receive time going backwards; ts_init clamped")
        report = writer.commit()
    summary.files_added = report.files_added
    summary.files_replaced = report.files_replaced
    summary.elapsed_s = time.perf_counter() - started
    return summary


def _import_file(path, coin, differ, batcher, summary, ts_floor, allow_truncated, progress) -> tuple[int, int]:
    """Diff one file's snapshots into ``batcher``; returns the new ts_init floor and clamp count."""
    enc = differ.encoder
    pp, sp = enc.price_precision, enc.size_precision
    instrument_id = enc.instrument_id
    time_cache: dict = {}
    clamped = 0
    bar = progress_bar(f"{path.name}", " lines", progress)
    try:
        for line_no, line in iter_lz4_lines(path):
            if not line.strip():
                continue
            line_coin, ts_event, ts_init, bids, asks = _parse_snapshot(path, line_no, line, time_cache)
            if line_coin != coin:
                raise DataImportError(
                    path, f"coin {line_coin!r} in a file of {coin!r} (one coin per file)", row=line_no, row_label="line",
                    field="raw.data.coin",
                )
            if ts_init is None:
                ts_init = ts_event
            if ts_init < ts_floor:
                ts_init = ts_floor
                clamped += 1
            ts_floor = ts_init
            bid_levels = _levels_to_ticks(path, line_no, "bid", bids, pp, sp, instrument_id)
            ask_levels = _levels_to_ticks(path, line_no, "ask", asks, pp, sp, instrument_id)
            batcher.extend(
                differ.diff_ticks(bid_levels, ask_levels, ts_event, ts_init, file=path, row=line_no, row_label="line"),
            )
            bar.update(1)
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
    finally:
        bar.close()
    return ts_floor, clamped
