"""Helpers shared by the importers: input checks, time columns, batching.

Fixed-point conversion (prices and sizes as integer ticks and lots) is in ``engine.ticks``.
"""

from __future__ import annotations

import os
import re
import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from botmm_nautilus.adapters.hyperliquid.instruments import base_currency
from botmm_nautilus.errors import DataImportError

NANOS_PER_SECOND = 1_000_000_000
NANOS_PER_MILLI = 1_000_000

# Batches written to the staging catalog: one Parquet file per batch and data type.
DEFAULT_BATCH_SIZE = 200_000
# Rows read from a CSV at a time (the whole file is never loaded).
CSV_CHUNK_ROWS = 20_000


def require_file(path: str | os.PathLike) -> Path:
    """``path`` as a ``Path``; a ``DataImportError`` when it is missing or not a regular file."""
    p = Path(path)
    if not p.exists():
        raise DataImportError(p, f"file not found: {p}")
    if not p.is_file():
        raise DataImportError(p, f"not a regular file: {p}")
    return p


def as_path_list(files) -> list[Path]:
    """One path or an iterable of paths, as a list of existing files (in the given order)."""
    if isinstance(files, (str, os.PathLike)):
        files = [files]
    out = [require_file(f) for f in files]
    if not out:
        raise DataImportError(None, "no input files given")
    return out


def progress_bar(desc: str, unit: str, enabled: bool, total: int | None = None):
    """A tqdm bar on stderr (a no-op object when ``enabled`` is false)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, file=sys.stderr, disable=not enabled, leave=False)


def clamp_monotonic(ts_ns: np.ndarray, floor_ns: int | None) -> tuple[np.ndarray, int]:
    """Make ``ts_ns`` non-decreasing (each value at least every earlier one and ``floor_ns``).

    Returns the clamped array and how many values were raised. Used for ``ts_init``, which a
    backtest requires to be non-decreasing even when the recorder's clock stepped back.
    """
    ts_ns = np.asarray(ts_ns, dtype=np.int64)
    if ts_ns.size == 0:
        return ts_ns, 0
    start = ts_ns if floor_ns is None else np.concatenate(([np.int64(floor_ns)], ts_ns))
    clamped = np.maximum.accumulate(start)
    if floor_ns is not None:
        clamped = clamped[1:]
    return clamped, int(np.count_nonzero(clamped != ts_ns))


def numeric_column(
    frame: pd.DataFrame,
    column: str,
    file: Path,
    first_row: int,
    allow_missing: bool = False,
) -> np.ndarray:
    """``frame[column]`` as float64; a ``DataImportError`` naming the first non-numeric (or, unless
    ``allow_missing``, empty) cell. ``first_row`` is the 1-based data row number of ``frame``'s
    first row."""
    series = frame[column]
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        converted = pd.to_numeric(series, errors="coerce")
        bad = converted.isna() & series.notna()
        if bad.any():
            pos = int(np.argmax(bad.to_numpy()))
            raise DataImportError(
                file,
                f"column '{column}' is not a number ({series.iloc[pos]!r})",
                row=first_row + pos,
                field=column,
            )
        series = converted
    elif series.dtype == bool:
        raise DataImportError(file, f"column '{column}' holds booleans, expected numbers", row=first_row, field=column)
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    if not allow_missing:
        missing = np.isnan(values)
        if missing.any():
            pos = int(np.argmax(missing))
            raise DataImportError(file, f"column '{column}' is empty", row=first_row + pos, field=column)
    return values


def first_bad(mask: np.ndarray) -> int | None:
    """Index of the first true element of a boolean array, or None."""
    if mask.any():
        return int(np.argmax(mask))
    return None


def require_columns(file: Path, columns, required) -> None:
    """Raise naming the header when any of ``required`` is missing from ``columns``."""
    present = set(columns)
    missing = [c for c in required if c not in present]
    if missing:
        shown = ", ".join(repr(c) for c in missing[:6]) + (" ..." if len(missing) > 6 else "")
        found = ", ".join(repr(str(c)) for c in list(columns)[:12]) + (" ..." if len(columns) > 12 else "")
        raise DataImportError(
            file,
            f"missing column(s) {shown}; found {found}",
            location="line 1 (header)",
        )


def time_column_to_ns(values: pd.Series, file: Path, column: str, first_row: int = 1) -> np.ndarray:
    """A time column as int64 UTC nanoseconds.

    Accepts datetimes (timezone-aware or naive = UTC), epoch numbers (seconds, milliseconds,
    microseconds or nanoseconds, chosen by magnitude) and ISO date strings.
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        series = values.dt.tz_convert("UTC") if getattr(values.dt, "tz", None) is not None else values
        if series.isna().any():
            pos = int(np.argmax(series.isna().to_numpy()))
            raise DataImportError(file, f"column '{column}' has an empty time", row=first_row + pos, field=column)
        return series.dt.as_unit("ns").astype("int64").to_numpy()
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        if pd.api.types.is_integer_dtype(values.dtype):
            ints = values.to_numpy(dtype=np.int64)
            if ints.size == 0:
                return ints
            return ints * _epoch_factor(float(np.abs(ints).max()))
        return epoch_to_ns(numeric_column(values.to_frame(column), column, file, first_row))
    parsed = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
    bad = parsed.isna() & values.notna()
    if bad.any() or parsed.isna().any():
        pos = int(np.argmax((bad | parsed.isna()).to_numpy()))
        raise DataImportError(
            file,
            f"column '{column}' is not a time ({values.iloc[pos]!r})",
            row=first_row + pos,
            field=column,
        )
    return parsed.dt.as_unit("ns").astype("int64").to_numpy()


def epoch_to_ns(values: np.ndarray) -> np.ndarray:
    """Float epoch numbers (seconds, ms, us or ns by magnitude) as int64 nanoseconds.

    Seconds and milliseconds are rounded to the microsecond first: a float64 near 1.7e9 s cannot
    carry nanoseconds, and rounding keeps the result identical on every platform.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return values.astype(np.int64)
    factor = _epoch_factor(float(np.nanmax(np.abs(values))))
    if factor >= 1_000:
        return np.rint(values * (factor // 1_000)).astype(np.int64) * 1_000
    return np.rint(values).astype(np.int64)


def iter_csv_chunks(path: Path, chunk_rows: int = CSV_CHUNK_ROWS, dtype=None, usecols=None):
    """Yield ``(first_row, frame)`` for successive chunks of a CSV (plain or compressed).

    ``first_row`` is the 1-based data row number of the chunk's first row. Read failures
    (truncated gzip, corrupt bytes, ragged rows) become a ``DataImportError`` naming the first
    row that cannot be read.
    """
    rows_done = 0
    try:
        with pd.read_csv(path, chunksize=chunk_rows, dtype=dtype, usecols=usecols) as reader:
            for frame in reader:
                yield rows_done + 1, frame
                rows_done += len(frame)
    except pd.errors.EmptyDataError as exc:
        raise DataImportError(path, "the file is empty (no header line)", location="line 1 (header)") from exc
    except pd.errors.ParserError as exc:
        m = re.search(r"line (\d+)", str(exc))  # pandas counts file lines, header included
        raise DataImportError(
            path, f"malformed CSV row ({str(exc).strip()})", row=int(m.group(1)) - 1 if m else rows_done + 1,
        ) from exc
    except (EOFError, OSError, zlib.error, UnicodeDecodeError, ValueError) as exc:
        readable_rows = max(_count_readable_lines(path) - 1, rows_done)  # minus the header line
        raise DataImportError(
            path,
            f"the file is truncated or corrupt: only {readable_rows} complete rows can be read "
            f"({type(exc).__name__}: {exc})",
            row=readable_rows + 1,
        ) from exc


def _count_readable_lines(path: Path) -> int:
    """Complete lines that can be read before a decompression or decoding error (error path only)."""
    import bz2
    import gzip
    import lzma

    openers = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
    opener = openers.get(Path(path).suffix.lower(), open)
    count = 0
    try:
        with opener(path, "rb") as fh:
            for line in fh:
                if line.endswith(b"\n"):
                    count += 1
    except (EOFError, OSError, zlib.error, lzma.LZMAError):
        pass
    return count


def _epoch_factor(magnitude: float) -> int:
    """Nanoseconds per unit of an epoch number of this size (s, ms, us or ns; valid 1973-2286)."""
    if magnitude < 1e11:
        return NANOS_PER_SECOND
    if magnitude < 1e14:
        return NANOS_PER_MILLI
    if magnitude < 1e17:
        return 1_000
    return 1


class CatalogBatcher:
    """Buffers one ts_init-ordered stream (one data type, one instrument) and writes it to a
    ``StagedCatalogWriter`` in batches of about ``batch_size`` objects.

    A batch is only cut where ``ts_init`` strictly increases, so the Parquet files of a stream
    have disjoint ``[first ts_init, last ts_init]`` intervals (the catalog refuses overlaps).
    """

    def __init__(self, writer, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.writer = writer
        self.batch_size = batch_size
        self.buffer: list = []
        self.written = 0
        self.first_ts_init: int | None = None
        self.last_ts_init: int | None = None

    def extend(self, objs: list) -> None:
        """Append ``objs`` (non-decreasing ts_init, continuing the stream)."""
        if not objs:
            return
        if len(self.buffer) >= self.batch_size and objs[0].ts_init > self.buffer[-1].ts_init:
            self.flush()
        self.buffer.extend(objs)

    def flush(self) -> None:
        if not self.buffer:
            return
        if self.first_ts_init is None:
            self.first_ts_init = self.buffer[0].ts_init
        self.last_ts_init = self.buffer[-1].ts_init
        self.writer.write(self.buffer)
        self.written += len(self.buffer)
        self.buffer = []


def linear_perpetual(
    instrument_id,
    raw_symbol,
    base_code: str,
    quote,
    price_precision: int,
    tick,
    size_precision: int,
    lot,
    min_notional,
    maker_fee,
    taker_fee,
    margin_init=None,
    margin_maint=None,
):
    """The ``CryptoPerpetual`` of an imported non-Hyperliquid recording: linear, quote = settlement,
    ``tick``/``lot`` as ``Decimal``; margins default to 5 % / 2.5 % (20x)."""
    from decimal import Decimal

    from nautilus_trader.model.instruments import CryptoPerpetual
    from nautilus_trader.model.objects import Price
    from nautilus_trader.model.objects import Quantity

    return CryptoPerpetual(
        instrument_id=instrument_id,
        raw_symbol=raw_symbol,
        base_currency=base_currency(base_code),
        quote_currency=quote,
        settlement_currency=quote,
        is_inverse=False,
        price_precision=price_precision,
        size_precision=size_precision,
        price_increment=Price(tick, price_precision),
        size_increment=Quantity(lot, size_precision),
        max_quantity=None,
        min_quantity=Quantity(lot, size_precision),
        max_notional=None,
        min_notional=min_notional,
        max_price=None,
        min_price=Price(tick, price_precision),
        margin_init=Decimal("0.05") if margin_init is None else margin_init,
        margin_maint=Decimal("0.025") if margin_maint is None else margin_maint,
        maker_fee=maker_fee,
        taker_fee=taker_fee,
        ts_event=0,
        ts_init=0,
    )
