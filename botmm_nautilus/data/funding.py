"""Import Hyperliquid funding history as Nautilus ``FundingRateUpdate`` objects.

Inputs (one coin per call):

* Feather ``{COIN}_USDC_USDC-1h-funding_rate.feather`` (freqtrade's layout): ``date`` = funding
  time, the rate in ``open`` (the other OHLCV columns are zero);
* CSV (or Feather/Parquet) with a time column (``time``, ``date`` or ``timestamp``) and a rate
  column (``rate``, ``funding_rate`` or ``fundingRate``);
* Hyperliquid ``fundingHistory`` JSON: a list of ``{"coin", "fundingRate", "premium", "time"}``.

Each record becomes ``FundingRateUpdate(instrument_id, rate, ts_event=ts_init=funding time,
interval=minutes, next_funding_ns=None)``. Sign convention (Hyperliquid's): a positive rate means
longs pay shorts; the rate is per funding interval, so ``payment = -position * price * rate`` at
each record (what ``backtest.venue_models.PerpFundingModule`` books).

``interval`` is 60 minutes (Hyperliquid funds hourly) except where the records themselves are
8 hours apart: Hyperliquid's earliest history (spring 2023) was recorded every 8 hours, and
those rows get ``interval=480``. A missing hour in hourly data does not change the interval.

Checks (``DataImportError`` naming file and row): times sorted and unique, rates finite and
within +-4 % (Hyperliquid caps funding at 4 % per hour; a larger value means the file holds
percentages or something else). A file whose name names another coin than ``coin`` is refused
unless ``force`` (``data.readers.check_file_coin``).
"""

from __future__ import annotations

import os
import time
from decimal import Decimal
from decimal import InvalidOperation
from pathlib import Path

import numpy as np
from nautilus_trader.model.data import FundingRateUpdate

from botmm_nautilus.adapters.hyperliquid import make_perpetual
from botmm_nautilus.data._common import NANOS_PER_MILLI
from botmm_nautilus.data._common import NANOS_PER_SECOND
from botmm_nautilus.data._common import first_bad
from botmm_nautilus.data._common import numeric_column
from botmm_nautilus.data._common import require_file
from botmm_nautilus.data._common import time_column_to_ns
from botmm_nautilus.data.catalog_io import StagedCatalogWriter
from botmm_nautilus.data.readers import check_file_coin
from botmm_nautilus.data.readers import read_json
from botmm_nautilus.data.readers import read_table
from botmm_nautilus.data.summary import ImportSummary
from botmm_nautilus.errors import DataImportError

MAX_ABS_HOURLY_RATE = Decimal("0.04")
HOURLY_INTERVAL_MIN = 60
EIGHT_HOUR_INTERVAL_MIN = 480
_EIGHT_HOURS_NS = 8 * 3600 * NANOS_PER_SECOND
_INTERVAL_TOLERANCE_NS = 5 * 60 * NANOS_PER_SECOND

# accepted column names, the first one is the name shown when missing
FUNDING_COLUMNS = {
    "time": ("time", "date", "timestamp"),
    "rate": ("rate", "funding_rate", "fundingrate", "open"),
}


def import_funding(
    file: str | os.PathLike,
    coin: str,
    catalog_path: str | os.PathLike,
    replace: bool = False,
    *,
    force: bool = False,
) -> ImportSummary:
    """Import one funding history file of ``coin``.

    A file whose name names another coin (``ETH_USDC_USDC-1h-funding_rate.feather`` imported as
    BTC) is refused unless ``force``."""
    started = time.perf_counter()
    coin = coin.upper()
    path = require_file(file)
    coin_note = check_file_coin(path, coin, force)
    times_ns, rates = _read(path, coin)
    _validate(path, times_ns, rates)
    instrument = make_perpetual(coin)
    intervals = _intervals_min(times_ns)
    updates = [
        FundingRateUpdate(instrument.id, rate, ts_event=ts, ts_init=ts, interval=interval, next_funding_ns=None)
        for ts, rate, interval in zip(times_ns.tolist(), rates, intervals)
    ]
    summary = ImportSummary(source=str(path), catalog_path=str(catalog_path))
    if coin_note:
        summary.notes.append(coin_note)
    with StagedCatalogWriter(catalog_path, replace=replace) as writer:
        writer.write([instrument])
        writer.write(updates)
        report = writer.commit()
    counts = summary.counts(instrument.id)
    counts.funding = len(updates)
    counts.observe(updates[0].ts_init, updates[-1].ts_init)
    eight_hourly = intervals.count(EIGHT_HOUR_INTERVAL_MIN)
    if eight_hourly:
        summary.notes.append(f"{coin}: {eight_hourly} records are 8 hours apart (early history); stored with interval=480 min")
    summary.files_added = report.files_added
    summary.files_replaced = report.files_replaced
    summary.elapsed_s = time.perf_counter() - started
    return summary


def _read(path: Path, coin: str) -> tuple[np.ndarray, list[Decimal]]:
    """``(funding times ns, rates as Decimal)`` in file order."""
    if path.name.lower().endswith(".json"):
        return _read_json(path, coin)
    frame, found = read_table(path, FUNDING_COLUMNS)
    time_col, rate_col = found["time"], found["rate"]
    if len(frame) == 0:
        raise DataImportError(path, "no funding records in the file", row=1)
    times_ns = time_column_to_ns(frame[time_col], path, time_col)
    values = numeric_column(frame, rate_col, path, 1)
    # repr() is the shortest text that round-trips the float: 1.25e-05 -> Decimal("0.0000125")
    rates = [Decimal(repr(float(v))) for v in values.tolist()]
    return times_ns, rates


def _read_json(path: Path, coin: str) -> tuple[np.ndarray, list[Decimal]]:
    payload = read_json(path)
    if not isinstance(payload, list) or not payload:
        raise DataImportError(path, "expected a non-empty JSON list of funding records (Hyperliquid fundingHistory)")
    times, rates = [], []
    for i, rec in enumerate(payload, start=1):
        if not isinstance(rec, dict) or "fundingRate" not in rec or "time" not in rec:
            raise DataImportError(path, "record must be an object with 'fundingRate' and 'time'", row=i)
        if "coin" in rec and str(rec["coin"]).upper() != coin:
            raise DataImportError(path, f"record of coin {rec['coin']!r}, expected {coin!r}", row=i, field="coin")
        try:
            rates.append(Decimal(str(rec["fundingRate"])))
        except InvalidOperation as exc:
            raise DataImportError(path, f"fundingRate {rec['fundingRate']!r} is not a number", row=i, field="fundingRate") from exc
        if not isinstance(rec["time"], int):
            raise DataImportError(path, f"time {rec['time']!r} is not epoch milliseconds", row=i, field="time")
        times.append(rec["time"] * NANOS_PER_MILLI)
    return np.asarray(times, dtype=np.int64), rates


def _validate(path: Path, times_ns: np.ndarray, rates: list[Decimal]) -> None:
    pos = first_bad(np.diff(times_ns) <= 0)
    if pos is not None:
        raise DataImportError(
            path, f"funding times must be sorted and unique: row {pos + 2} is not after row {pos + 1}", row=pos + 2,
        )
    for i, rate in enumerate(rates, start=1):
        if not rate.is_finite() or abs(rate) > MAX_ABS_HOURLY_RATE:
            raise DataImportError(
                path,
                f"funding rate {rate} is outside +-{MAX_ABS_HOURLY_RATE} (Hyperliquid's cap of 4% per hour); "
                "is the file in percent?",
                row=i,
            )


def _intervals_min(times_ns: np.ndarray) -> list[int]:
    """Funding interval of each record in minutes: 480 where records are 8 h apart, else 60."""
    if times_ns.size < 2:
        return [HOURLY_INTERVAL_MIN] * int(times_ns.size)
    gaps = np.diff(times_ns)
    gap_before = np.concatenate(([gaps[0]], gaps))  # the first record takes the next spacing
    eight = np.abs(gap_before - _EIGHT_HOURS_NS) <= _INTERVAL_TOLERANCE_NS
    return np.where(eight, EIGHT_HOUR_INTERVAL_MIN, HOURLY_INTERVAL_MIN).tolist()
