"""Import OHLCV candles as Nautilus ``Bar`` objects.

Inputs (one coin per call, any number of files):

* Feather or CSV (``.csv``, ``.csv.gz``) with ``date, open, high, low, close, volume``, where
  ``date`` is the bar's OPEN time (freqtrade's layout, e.g. ``BTC_USDC_USDC-5m-futures.feather``);
  ``time``/``timestamp``/``open_time`` are accepted for ``date``. Volume is in base units.
* Hyperliquid ``candleSnapshot`` JSON: a list of ``{"t": open ms, "T": close ms, "s": coin,
  "i": interval, "o", "c", "h", "l", "v": strings, "n": trades}``.

Bar type: ``{COIN}-USDC-PERP.HL-{N}-{MINUTE|HOUR|DAY}-LAST-EXTERNAL``. ``ts_event = ts_init`` =
bar CLOSE time (open + interval): a bar is only known once it has closed, and stamping it with
its open time would hand a backtest the close price one interval early (the look-ahead behind
the old system's Sharpe 10-17).

The interval is ``interval`` when given (``"5m"``, ``"1h"``, ``"1d"`` or ``"5-MINUTE"``), else the
JSON ``i`` field, else the file name (``-5m-``), else the most common spacing of the bar times.

Checks (``DataImportError`` naming file and row): positive prices, ``high >= max(open, close)``,
``low <= min(open, close)``, non-negative volume, bar times strictly increasing and on the
interval grid; across files, the same bar time twice is an error. Prices are rounded to the
instrument's price precision (real Feather files carry float noise) and checked after rounding.
The last candle of a live ``candleSnapshot`` download may still have been forming; it is kept.
A file whose name names another coin than ``coin`` (``ETH_USDC_USDC-5m-futures.feather``
imported as BTC) is refused unless ``force`` (``data.readers.check_file_coin``).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
from nautilus_trader.model.data import Bar
from nautilus_trader.model.data import BarType
from nautilus_trader.model.objects import FIXED_PRECISION

from botmm_nautilus.adapters.hyperliquid import make_perpetual
from botmm_nautilus.data._common import NANOS_PER_SECOND
from botmm_nautilus.data._common import as_path_list
from botmm_nautilus.data._common import first_bad
from botmm_nautilus.data._common import numeric_column
from botmm_nautilus.data._common import time_column_to_ns
from botmm_nautilus.data.catalog_io import StagedCatalogWriter
from botmm_nautilus.data.readers import check_file_coin
from botmm_nautilus.data.readers import read_json
from botmm_nautilus.data.readers import read_table
from botmm_nautilus.data.summary import ImportSummary
from botmm_nautilus.errors import DataImportError
from botmm_nautilus.venue import rules as hl_rules

_INTERVAL_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_SPEC_RE = re.compile(r"^\s*(\d+)-(SECOND|MINUTE|HOUR|DAY|WEEK)\s*$", re.IGNORECASE)
_FILE_INTERVAL_RE = re.compile(r"(?:^|[-_.])(\d+)([mhdw])(?=[-_.])", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_SPEC_SECONDS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400, "WEEK": 7 * 86400}
# accepted column names, the first one is the name used inside and shown when missing
CANDLE_COLUMNS = {
    "date": ("date", "time", "timestamp", "open_time"),
    **{name: (name,) for name in ("open", "high", "low", "close", "volume")},
}


def parse_interval(text: str) -> int:
    """``"5m"``, ``"1h"``, ``"1d"``, ``"5-MINUTE"`` -> interval in seconds (ValueError otherwise)."""
    m = _INTERVAL_RE.match(str(text))
    if m:
        seconds = int(m.group(1)) * _UNIT_SECONDS[m.group(2).lower()]
    else:
        m = _SPEC_RE.match(str(text))
        if not m:
            raise ValueError(f"interval {text!r} is not like 1m, 5m, 15m, 1h, 4h, 1d or 5-MINUTE")
        seconds = int(m.group(1)) * _SPEC_SECONDS[m.group(2).upper()]
    if seconds <= 0 or seconds % 60:
        raise ValueError(f"interval {text!r} must be a positive whole number of minutes")
    return seconds


def bar_spec(interval_s: int) -> str:
    """Nautilus bar specification step and aggregation: 300 -> ``5-MINUTE``, 3600 -> ``1-HOUR``."""
    if interval_s % 86400 == 0:
        return f"{interval_s // 86400}-DAY"
    if interval_s % 3600 == 0:
        return f"{interval_s // 3600}-HOUR"
    return f"{interval_s // 60}-MINUTE"


def _interval_from_name(path: Path) -> int | None:
    m = _FILE_INTERVAL_RE.search(path.name)
    if not m:
        return None
    return int(m.group(1)) * _UNIT_SECONDS[m.group(2).lower()]


def _read_candle_json(path: Path, coin: str) -> tuple[pd.DataFrame, int | None]:
    payload = read_json(path)
    if not isinstance(payload, list):
        raise DataImportError(path, "expected a JSON list of candles (Hyperliquid candleSnapshot)")
    rows = []
    interval_s = None
    for i, candle in enumerate(payload, start=1):
        if not isinstance(candle, dict):
            raise DataImportError(path, f"candle is {type(candle).__name__}, expected an object", row=i)
        missing = [k for k in ("t", "o", "h", "l", "c", "v") if k not in candle]
        if missing:
            raise DataImportError(path, f"candle lacks field(s) {', '.join(missing)}", row=i, field=missing[0])
        if "s" in candle and str(candle["s"]).upper() != coin:
            raise DataImportError(path, f"candle of coin {candle['s']!r}, expected {coin!r}", row=i, field="s")
        if "i" in candle:
            try:
                this_interval = parse_interval(candle["i"])
            except ValueError as exc:
                raise DataImportError(path, str(exc), row=i, field="i") from exc
            if interval_s is not None and this_interval != interval_s:
                raise DataImportError(path, f"interval {candle['i']!r} differs from earlier candles", row=i, field="i")
            interval_s = this_interval
        rows.append((candle["t"], candle["o"], candle["h"], candle["l"], candle["c"], candle["v"]))
    frame = pd.DataFrame(rows, columns=["date", "open", "high", "low", "close", "volume"])
    return frame, interval_s


def _read_table(path: Path, coin: str) -> tuple[pd.DataFrame, int | None]:
    """``(frame with date/open/high/low/close/volume, interval from content or None)``."""
    if path.name.lower().endswith(".json"):
        return _read_candle_json(path, coin)
    frame, found = read_table(path, CANDLE_COLUMNS)
    return frame.rename(columns={found["date"]: "date"}), None


def import_candles(
    files,
    coin: str,
    catalog_path: str | os.PathLike,
    interval: str | None = None,
    replace: bool = False,
    *,
    sz_decimals: int | None = None,
    force: bool = False,
) -> ImportSummary:
    """Import candle files of one ``coin`` as bars closing at open time + interval.

    A file whose name names another coin (``ETH_USDC_USDC-5m-futures.feather`` imported as BTC)
    is refused unless ``force``."""
    started = time.perf_counter()
    coin = coin.upper()
    paths = as_path_list(files)
    coin_notes = [note for note in (check_file_coin(path, coin, force) for path in paths) if note]
    fixed_interval_s = None
    if interval is not None:
        try:
            fixed_interval_s = parse_interval(interval)
        except ValueError as exc:
            raise DataImportError(None, str(exc)) from exc
    summary = ImportSummary(source=", ".join(str(p) for p in paths), catalog_path=str(catalog_path))
    summary.notes.extend(coin_notes)

    loaded = []  # (path, frame, interval_s)
    for path in paths:
        frame, content_interval_s = _read_table(path, coin)
        interval_s = fixed_interval_s or content_interval_s or _interval_from_name(path)
        loaded.append((path, frame, interval_s))
    if sz_decimals is None:
        sz_decimals = _sz_decimals(coin, loaded, summary)
    instrument = make_perpetual(coin, sz_decimals)

    series: dict[int, list[tuple[Path, dict]]] = {}
    for path, frame, interval_s in loaded:
        columns = _validated_columns(path, frame, instrument, interval_s)
        series.setdefault(columns["interval_s"], []).append((path, columns))

    with StagedCatalogWriter(catalog_path, replace=replace) as writer:
        writer.write([instrument])
        counts = summary.counts(instrument.id)
        for interval_s, parts in sorted(series.items()):
            bar_type = BarType.from_str(f"{instrument.id}-{bar_spec(interval_s)}-LAST-EXTERNAL")
            bars = _bars(bar_type, parts, instrument, interval_s)
            writer.write(bars)
            counts.bars += len(bars)
            counts.observe(bars[0].ts_init, bars[-1].ts_init)
            summary.notes.append(f"{bar_type}: {len(bars)} bars (ts = bar close time)")
        report = writer.commit()
    summary.files_added = report.files_added
    summary.files_replaced = report.files_replaced
    summary.elapsed_s = time.perf_counter() - started
    return summary


def _sz_decimals(coin: str, loaded, summary: ImportSummary) -> int:
    if coin in hl_rules.KNOWN_SZ_DECIMALS:
        return hl_rules.KNOWN_SZ_DECIMALS[coin]
    volumes = []
    for _, frame, _ in loaded:
        volumes.extend(pd.to_numeric(frame["volume"], errors="coerce").dropna().head(5000).tolist())
    inferred = min(hl_rules.infer_sz_decimals(volumes), hl_rules.PERP_MAX_PRICE_DECIMALS - 1)
    summary.notes.append(
        f"{coin}: szDecimals not in the known table; inferred {inferred} from candle volumes (pass sz_decimals to override)",
    )
    return inferred


def _validated_columns(path: Path, frame: pd.DataFrame, instrument, interval_s: int | None) -> dict:
    """Numeric arrays of one file (prices as ticks, volume as lots), checked row by row."""
    open_ns = time_column_to_ns(frame["date"], path, "date")
    if open_ns.size == 0:
        raise DataImportError(path, "no candles in the file", row=1)
    steps = np.diff(open_ns)
    pos = first_bad(steps <= 0)
    if pos is not None:
        raise DataImportError(
            path,
            f"bar times must be sorted and unique: {_iso(open_ns[pos + 1])} follows {_iso(open_ns[pos])} (row {pos + 1})",
            row=pos + 2,
            field="date",
        )
    if interval_s is None:
        if steps.size == 0:
            raise DataImportError(path, "a single candle: pass the interval (e.g. interval='5m')", row=1)
        values, counts = np.unique(steps, return_counts=True)
        mode_ns = int(values[np.argmax(counts)])
        if mode_ns % (60 * NANOS_PER_SECOND):
            raise DataImportError(path, f"cannot infer the interval: the usual bar spacing is {mode_ns / 1e9:g}s; pass interval=")
        interval_s = mode_ns // NANOS_PER_SECOND
    interval_ns = interval_s * NANOS_PER_SECOND
    pos = first_bad(steps % interval_ns != 0)
    if pos is not None:
        raise DataImportError(
            path,
            f"bar time {_iso(open_ns[pos + 1])} is not a whole number of {bar_spec(interval_s)} intervals after "
            f"the previous bar {_iso(open_ns[pos])} (wrong interval or mixed files?)",
            row=pos + 2,
            field="date",
        )
    pp, sp = instrument.price_precision, instrument.size_precision
    out = {"interval_s": interval_s, "open_ns": open_ns}
    for name in ("open", "high", "low", "close"):
        values = numeric_column(frame, name, path, 1)
        ticks = np.rint(values * 10.0**pp)
        pos = first_bad(~np.isfinite(ticks) | (ticks <= 0))
        if pos is not None:
            raise DataImportError(path, f"column '{name}' must be a positive price, got {float(values[pos])!r}", row=pos + 1, field=name)
        out[name] = ticks.astype(np.int64)
    volume = numeric_column(frame, "volume", path, 1)
    lots = np.rint(volume * 10.0**sp)
    pos = first_bad(~np.isfinite(lots) | (lots < 0))
    if pos is not None:
        raise DataImportError(path, f"column 'volume' must be >= 0, got {float(volume[pos])!r}", row=pos + 1, field="volume")
    out["volume"] = lots.astype(np.int64)
    o, h, lo, c = out["open"], out["high"], out["low"], out["close"]
    pos = first_bad(h < np.maximum(o, c))
    if pos is not None:
        raise DataImportError(
            path, f"high {h[pos] / 10**pp:g} is below max(open, close) = {max(o[pos], c[pos]) / 10**pp:g}", row=pos + 1, field="high",
        )
    pos = first_bad(lo > np.minimum(o, c))
    if pos is not None:
        raise DataImportError(
            path, f"low {lo[pos] / 10**pp:g} is above min(open, close) = {min(o[pos], c[pos]) / 10**pp:g}", row=pos + 1, field="low",
        )
    return out


def _bars(bar_type: BarType, parts, instrument, interval_s: int) -> list[Bar]:
    """Bars of one interval from every file, checked for bar times repeated across files."""
    interval_ns = interval_s * NANOS_PER_SECOND
    order = sorted(parts, key=lambda part: int(part[1]["open_ns"][0]))
    for (path_a, a), (path_b, b) in zip(order, order[1:]):
        if int(b["open_ns"][0]) <= int(a["open_ns"][-1]):
            raise DataImportError(
                path_b,
                f"its bars from {_iso(b['open_ns'][0])} overlap {path_a.name} (which runs to {_iso(a['open_ns'][-1])}); "
                "import overlapping files separately with replace, or trim them",
                row=1,
            )
    pp, sp = instrument.price_precision, instrument.size_precision
    raw_per_tick = 10 ** (FIXED_PRECISION - pp)
    raw_per_lot = 10 ** (FIXED_PRECISION - sp)
    bars = []
    for _, cols in order:
        close_ns = (cols["open_ns"] + interval_ns).tolist()
        for o, h, lo, c, v, ts in zip(
            cols["open"].tolist(), cols["high"].tolist(), cols["low"].tolist(), cols["close"].tolist(),
            cols["volume"].tolist(), close_ns,
        ):
            bars.append(
                Bar.from_raw(
                    bar_type, o * raw_per_tick, h * raw_per_tick, lo * raw_per_tick, c * raw_per_tick, pp,
                    v * raw_per_lot, sp, ts, ts,
                ),
            )
    return bars


def _iso(ts_ns) -> str:
    return pd.Timestamp(int(ts_ns), unit="ns", tz="UTC").isoformat().replace("+00:00", "Z")
