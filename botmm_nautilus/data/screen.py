"""Where a maker can earn: per instrument of a catalog, the touch, the flow and what a passive fill
at the touch suffered (``botmm screen``).

Per instrument with order-book data (times are exchange times, ``ts_event``):

* ``median_spread_bps``: median over book messages of ``(ask - bid) / mid * 1e4`` at the touch;
* ``touch_depth_bid_usd`` / ``touch_depth_ask_usd``: median size x price at the best bid / ask over
  book messages; ``touch_depth_usd`` is the mean of the two medians;
* ``volatility_bps_per_sqrt_s``: standard deviation of mid log returns on a ``VOL_GRID_S`` grid
  (``market_stats.mid_vol_bps``, previous-tick) divided by sqrt(``VOL_GRID_S``);
  ``volatility_bps_per_hour`` = that x 60 (sqrt(3600 s)) — a diffusion scaling, not a measured
  hourly figure;
* ``trades_per_min`` (prints) and ``taker_orders_per_min`` over the book span (``span_h``: first to
  last book message, gaps included);
* the adverse selection of a passive fill at the touch. For every trade the maker's side is the
  opposite of the aggressor's. Prints that share one exchange time and one aggressor side are one
  taker order (Hyperliquid prints one trade per maker fill), and each taker order fills a maker
  resting at the touch once. ``mid_before`` is the mid of the last book message strictly before the
  trade; ``mid(t+h)`` the mid of the last message at or before t+h. Against the maker, in bps:

      adverse_bps(h) = aggressor_side * (mid(t+h) - mid_before) / mid_before * 1e4

  (aggressor_side +1 = a buyer lifted the ask, so the maker sold; positive = the maker lost).
  ``adverse_bps_<h>s`` (the HEADLINE) is the plain mean over taker orders: what a fixed-size maker
  at the touch suffered per fill; ``adverse_vw_bps_<h>s`` is the notional-weighted mean over prints.
  An order whose t+h lies past the last book message is left out at that horizon
  (``n_orders_<h>s`` counts those used). ``adverse_se_bps_<h>s``: standard error of the headline
  mean, cluster-robust over time blocks of max(2h, 1 s) (the markouts of orders close in time share
  one mid path, so a plain standard error would be far too small);
* ``captured_half_spread_bps``: mean over taker orders of the half-spread just before the order,
  ``(ask - bid) / 2 / mid_before * 1e4`` = what the touch maker's fill price was away from
  ``mid_before``; ``realised_half_spread_vw_bps``: notional-weighted
  ``aggressor_side * (price - mid_before) / mid_before * 1e4`` over prints (sweeps through deeper
  levels make it larger than the touch's; for information);
* ``maker_fee_bps`` (+ = a cost): ``--maker-fee-bps`` when given; else Hyperliquid (venue ``HL``):
  the base tier of ``venue.rules``; any other venue: the catalog instrument's maker fee, marked
  ``maker_fee_source = "assumed ..."`` (the snapshot importer writes Hyperliquid's base tier unless
  told otherwise: for StandX that is an assumption, not its published schedule);
* ``edge_bps = captured_half_spread_bps - adverse_bps_<H>s - maker_fee_bps`` and
  ``breakeven_maker_fee_bps = captured_half_spread_bps - adverse_bps_<H>s`` at the edge horizon H
  (``edge_horizon_s``, default ``DEFAULT_EDGE_HORIZON_S``); ``edge_se_bps`` is the adverse term's
  standard error at H (the captured half-spread's own scatter is small and not in it).

What this is not: it ignores queue position (a real maker at the touch is filled only after the
queue ahead of it), inventory risk and the fills a maker would get away from the touch. It says
whether the touch paid for its adverse selection and fee in the data, not what a strategy would net.

The measuring functions (``touch_figures``, ``flow_figures``, ``screen_instrument``) take numpy
arrays; ``screen_catalog`` reads a Nautilus catalog (books replayed through a Nautilus
``OrderBook`` by ``market_stats.BookReplay``, one Parquet file at a time).
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from botmm_nautilus.data.market_stats import NANOS_PER_SECOND
from botmm_nautilus.data.market_stats import BookReplay
from botmm_nautilus.data.market_stats import mid_vol_bps
from botmm_nautilus.errors import ConfigError
from botmm_nautilus.errors import DataError
from botmm_nautilus.venue import rules as hl_rules

DEFAULT_HORIZONS_S = (1.0, 5.0, 30.0, 60.0)
DEFAULT_EDGE_HORIZON_S = 30.0
CURVE_HORIZONS_S = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
VOL_GRID_S = 10.0
HL_VENUE = "HL"
HEADLINE = (
    "adverse_bps_<h>s: plain mean over taker orders (prints sharing exchange time and aggressor side), i.e. per "
    "fill of a fixed-size maker at the touch; adverse_vw_bps_<h>s: notional-weighted over prints"
)
ASSUMED_FEE_NOTE = (
    "assumed: the catalog instrument's maker fee (the importer's default is Hyperliquid's base tier), not the "
    "venue's published schedule; pass --maker-fee-bps for the real one"
)


def horizon_key(h: float) -> str:
    """``1`` -> ``1s``, ``0.5`` -> ``0.5s``: the horizon as it appears in the JSON keys."""
    return f"{h:g}s"


# ------------------------------------------------------------------------------------ measures


@dataclass
class TouchSeries:
    """Best bid/ask (price, size) at each book message boundary, in time order (exchange ns)."""

    ts: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    bid_size: np.ndarray
    ask_size: np.ndarray

    def valid(self) -> "TouchSeries":
        """Only the messages with a two-sided, uncrossed, finite touch."""
        ok = np.isfinite(self.bid) & np.isfinite(self.ask) & (self.bid > 0) & (self.ask > self.bid)
        return TouchSeries(self.ts[ok], self.bid[ok], self.ask[ok], self.bid_size[ok], self.ask_size[ok])


@dataclass
class TradeSeries:
    """Trade prints in time order: exchange ns, price, size (base) and aggressor (+1 buyer, -1 seller, 0 unknown)."""

    ts: np.ndarray
    price: np.ndarray
    size: np.ndarray
    aggressor: np.ndarray


def touch_figures(touch: TouchSeries) -> dict:
    """Spread, touch depth and volatility of a valid touch series (see the module docstring)."""
    mid = (touch.bid + touch.ask) / 2
    spread_bps = (touch.ask - touch.bid) / mid * 1e4
    bid_usd = float(np.median(touch.bid_size * touch.bid))
    ask_usd = float(np.median(touch.ask_size * touch.ask))
    vol = mid_vol_bps(touch.ts, mid, VOL_GRID_S) / math.sqrt(VOL_GRID_S) if len(mid) > 1 else math.nan
    span_s = float(touch.ts[-1] - touch.ts[0]) / NANOS_PER_SECOND
    return {
        "median_spread_bps": float(np.median(spread_bps)),
        "mean_spread_bps": float(np.mean(spread_bps)),
        "touch_depth_usd": (bid_usd + ask_usd) / 2,
        "touch_depth_bid_usd": bid_usd,
        "touch_depth_ask_usd": ask_usd,
        "volatility_bps_per_sqrt_s": vol,
        "volatility_bps_per_hour": vol * 60.0,
        "mid_mean": float(np.mean(mid)),
        "book_messages": int(len(mid)),
        "span_h": span_s / 3600.0,
    }


def _mean(x: np.ndarray, w: np.ndarray | None = None) -> float:
    if len(x) == 0:
        return math.nan
    if w is None:
        return float(np.mean(x))
    total = float(np.sum(w))
    return float(np.sum(x * w) / total) if total > 0 else math.nan


def cluster_se(x: np.ndarray, block: np.ndarray) -> float:
    """Standard error of ``mean(x)`` robust to correlation inside blocks (cluster-robust):
    ``sqrt(G / (G - 1) * sum_b (sum_{i in b} (x_i - mean))^2) / N`` over G blocks; NaN below 2 blocks."""
    x = np.asarray(x, dtype=float)
    _, inverse = np.unique(np.asarray(block), return_inverse=True)
    groups = int(inverse.max()) + 1 if len(x) else 0
    if groups < 2:
        return math.nan
    sums = np.bincount(inverse, weights=x - x.mean(), minlength=groups)
    return float(math.sqrt(groups / (groups - 1) * np.sum(sums**2)) / len(x))


def taker_orders(trades: TradeSeries) -> tuple[np.ndarray, np.ndarray]:
    """``(first print index, order notional)`` of each taker order: consecutive prints with the same
    exchange time and aggressor side."""
    n = len(trades.ts)
    if n == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    new = np.ones(n, dtype=bool)
    new[1:] = (trades.ts[1:] != trades.ts[:-1]) | (trades.aggressor[1:] != trades.aggressor[:-1])
    starts = np.flatnonzero(new)
    notional = np.add.reduceat(trades.price * trades.size, starts)
    return starts, notional


def flow_figures(
    touch: TouchSeries,
    trades: TradeSeries,
    horizons_s=DEFAULT_HORIZONS_S,
    curve_horizons_s=CURVE_HORIZONS_S,
) -> dict:
    """Trade rate, captured half-spread and adverse selection at each horizon (module docstring).

    ``touch`` must be valid (``TouchSeries.valid``); trades with unknown aggressor or without a book
    message strictly before them, or after the last book message, are left out (counted).
    """
    span_s = float(touch.ts[-1] - touch.ts[0]) / NANOS_PER_SECOND if len(touch.ts) else 0.0
    known = trades.aggressor != 0
    before = np.searchsorted(touch.ts, trades.ts, side="left") - 1
    inside = known & (before >= 0) & (trades.ts <= (touch.ts[-1] if len(touch.ts) else -1))
    t = TradeSeries(trades.ts[inside], trades.price[inside], trades.size[inside], trades.aggressor[inside])
    before = before[inside]
    starts, order_notional = taker_orders(t)
    out: dict = {
        "n_trades": int(len(t.ts)),
        "n_trades_left_out": int(len(trades.ts) - len(t.ts)),
        "n_taker_orders": int(len(starts)),
        "trades_per_min": len(t.ts) / (span_s / 60.0) if span_s > 0 else math.nan,
        "taker_orders_per_min": len(starts) / (span_s / 60.0) if span_s > 0 else math.nan,
        "buy_aggressor_share": float(np.mean(t.aggressor > 0)) if len(t.ts) else math.nan,
    }
    mid = (touch.bid + touch.ask) / 2
    mid_b = mid[before]
    side = t.aggressor.astype(float)
    notional = t.price * t.size
    realised = side * (t.price - mid_b) / mid_b * 1e4
    out["realised_half_spread_vw_bps"] = _mean(realised, notional)
    o_before = before[starts]
    o_mid_b = mid[o_before]
    o_side = side[starts]
    o_ts = t.ts[starts]
    out["captured_half_spread_bps"] = _mean((touch.ask[o_before] - touch.bid[o_before]) / 2 / o_mid_b * 1e4)

    def adverse_at(h: float) -> tuple[float, float, int, float]:
        t_h = o_ts + int(round(h * NANOS_PER_SECOND))
        use = t_h <= touch.ts[-1]
        idx = np.searchsorted(touch.ts, t_h[use], side="right") - 1
        adv = o_side[use] * (mid[idx] - o_mid_b[use]) / o_mid_b[use] * 1e4
        block_ns = int(max(2.0 * h, 1.0) * NANOS_PER_SECOND)
        se = cluster_se(adv, (o_ts[use] - o_ts[0]) // block_ns) if len(adv) else math.nan
        return _mean(adv), _mean(adv, order_notional[use]), int(use.sum()), se

    at = {h: adverse_at(h) for h in sorted(set(curve_horizons_s) | set(horizons_s))}
    for h in horizons_s:
        plain, vw, n, se = at[h]
        key = horizon_key(h)
        out[f"adverse_bps_{key}"] = plain
        out[f"adverse_se_bps_{key}"] = se
        out[f"adverse_vw_bps_{key}"] = vw
        out[f"n_orders_{key}"] = n
    curve = []
    for h, (plain, vw, n, _se) in at.items():
        curve.append({"horizon_s": float(h), "adverse_bps": plain, "adverse_vw_bps": vw, "n_orders": n})
    out["adverse_curve"] = curve
    return out


def edge_figures(row: dict, edge_horizon_s: float, maker_fee_bps: float) -> dict:
    """``edge_bps`` and ``breakeven_maker_fee_bps`` from a row's captured half-spread and its
    adverse selection at ``edge_horizon_s`` (the headline, plain mean)."""
    adverse = row[f"adverse_bps_{horizon_key(edge_horizon_s)}"]
    breakeven = row["captured_half_spread_bps"] - adverse
    return {
        "edge_horizon_s": float(edge_horizon_s),
        "edge_se_bps": row[f"adverse_se_bps_{horizon_key(edge_horizon_s)}"],
        "maker_fee_bps": float(maker_fee_bps),
        "breakeven_maker_fee_bps": breakeven,
        "edge_bps": breakeven - maker_fee_bps,
    }


def screen_instrument(
    touch: TouchSeries,
    trades: TradeSeries,
    maker_fee_bps: float,
    horizons_s=DEFAULT_HORIZONS_S,
    edge_horizon_s: float = DEFAULT_EDGE_HORIZON_S,
) -> dict:
    """One screener row (without ``instrument_id``) from raw arrays; NaN figures where data is missing."""
    horizons = tuple(sorted(set(map(float, horizons_s)) | {float(edge_horizon_s)}))
    touch = touch.valid()
    if len(touch.ts) < 2:
        raise DataError("fewer than two two-sided book messages: no touch to screen")
    row = touch_figures(touch)
    row.update(flow_figures(touch, trades, horizons))
    row.update(edge_figures(row, edge_horizon_s, maker_fee_bps))
    return row


def sort_rows(rows: list[dict]) -> list[dict]:
    """Best edge first; rows without an edge (NaN) last."""
    return sorted(rows, key=lambda r: (not math.isfinite(r.get("edge_bps", math.nan)), -(r.get("edge_bps") or 0.0)))


# ------------------------------------------------------------------------------ the terminal table

TABLE_COLUMNS = (
    ("instrument_id", "instrument", "{}"),
    ("median_spread_bps", "spread_bps", "{:.2f}"),
    ("touch_depth_usd", "touch_usd", "{:,.0f}"),
    ("volatility_bps_per_sqrt_s", "vol_bps/sqrt_s", "{:.3f}"),
    ("trades_per_min", "trades/min", "{:.1f}"),
    ("captured_half_spread_bps", "half_spr_bps", "{:.3f}"),
)


def format_screen_table(result: dict) -> str:
    """The rows of ``screen_catalog``'s result as an aligned text table, with its definitions."""
    horizons = result["horizons_s"]
    cols = list(TABLE_COLUMNS)
    cols += [(f"adverse_bps_{horizon_key(h)}", f"adv_{horizon_key(h)}", "{:.3f}") for h in horizons]
    cols += [
        ("maker_fee_bps", "fee_bps", "{:.2f}"),
        ("edge_bps", "edge_bps", "{:.3f}"),
        ("edge_se_bps", "+-se", "{:.3f}"),
        ("breakeven_maker_fee_bps", "be_fee_bps", "{:.3f}"),
        ("n_trades", "n_trades", "{:,}"),
        ("span_h", "span_h", "{:.2f}"),
    ]
    cells = [[title for _, title, _ in cols]]
    for row in result["instruments"]:
        line = []
        for key, _, fmt in cols:
            v = row.get(key)
            ok = v is not None and not (isinstance(v, float) and not math.isfinite(v))
            line.append(fmt.format(v) if ok else "n/a")
        cells.append(line)
    widths = [max(len(r[i]) for r in cells) for i in range(len(cols))]
    lines = []
    for k, r in enumerate(cells):
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
        if k == 0:
            lines.append("-" * len(lines[0]))
    h = horizon_key(result["edge_horizon_s"])
    lines.append("")
    lines.append(f"catalog {result['catalog']} | period {result.get('start') or 'all'} .. {result.get('end') or 'all'} | "
                 f"sorted by edge, best first")
    lines.append(f"edge_bps = half_spr_bps - adv_{h} - fee_bps; be_fee_bps = half_spr_bps - adv_{h} (the maker fee at "
                 "which the touch breaks even)")
    lines.append("adv_<h>: adverse selection of a maker at the touch, mid move h seconds after a taker order against "
                 "the maker (+ = the maker lost), plain mean over taker orders (adverse_vw_bps_<h>s in the JSON: "
                 "notional-weighted); +-se: standard error of adv at the edge horizon, cluster-robust over time blocks "
                 "of twice the horizon")
    for row in result["instruments"]:
        if row.get("maker_fee_source", "").startswith("assumed"):
            lines.append(f"{row['instrument_id']}: maker fee {row['maker_fee_bps']:g} bps {row['maker_fee_source']}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- catalog (Nautilus)


def _catalog_instruments(catalog_path: Path) -> list[str]:
    deltas_dir = catalog_path / "data" / "order_book_deltas"
    if not deltas_dir.is_dir():
        return []
    return sorted(p.name for p in deltas_dir.iterdir() if p.is_dir() and any(p.glob("*.parquet")))


def resolve_instruments(catalog_path: str | os.PathLike, instruments: list[str] | None) -> list[str]:
    """The instruments to screen: ``instruments`` (each must have book data) or every one with book
    data; a ``DataError`` naming the catalog / instrument otherwise."""
    path = Path(catalog_path)
    if not path.is_dir():
        raise DataError(f"catalog {catalog_path} not found" + (" (it is a file)" if path.exists() else ""))
    known = _catalog_instruments(path)
    if not known:
        raise DataError(f"catalog {catalog_path}: no order book data (data/order_book_deltas is empty or missing); "
                        "screen needs L2 books and trades")
    if not instruments:
        return known
    unknown = [i for i in instruments if i not in known]
    if unknown:
        raise DataError(f"--instruments {' '.join(unknown)}: no order book data in catalog {catalog_path}; "
                        f"instruments with books: {', '.join(known)}")
    return list(dict.fromkeys(instruments))


def read_touch_series(catalog, catalog_path: Path, instrument_id: str, start_ns: int | None, end_ns: int | None,
                      log: Callable[[str], None] | None = None) -> TouchSeries:
    """The touch at every book message boundary in [start_ns, end_ns] (``market_stats.BookReplay``:
    replayed from the first file, so the book is whole at ``start_ns``)."""
    replay = BookReplay(catalog, catalog_path, instrument_id, start_ns, end_ns, log)
    ts: list[int] = []
    cols: list[list[float]] = [[], [], [], []]
    nan = math.nan
    for ts_event, book in replay.messages():
        bid = book.best_bid_price()
        ask = book.best_ask_price()
        ts.append(ts_event)
        cols[0].append(bid.as_double() if bid is not None else nan)
        cols[1].append(ask.as_double() if ask is not None else nan)
        cols[2].append(book.best_bid_size().as_double() if bid is not None else nan)
        cols[3].append(book.best_ask_size().as_double() if ask is not None else nan)
    order = np.argsort(np.asarray(ts, dtype=np.int64), kind="stable")
    arrays = [np.asarray(c, dtype=float)[order] for c in cols]
    return TouchSeries(np.asarray(ts, dtype=np.int64)[order], *arrays)


def read_trades(catalog, instrument_id: str, start_ns: int | None, end_ns: int | None) -> TradeSeries:
    """The instrument's trade ticks in [start_ns, end_ns] (exchange time order)."""
    from nautilus_trader.model.enums import AggressorSide

    trades = catalog.trade_ticks(instrument_ids=[instrument_id], start=start_ns, end=end_ns)
    n = len(trades)
    ts = np.fromiter((t.ts_event for t in trades), dtype=np.int64, count=n)
    price = np.fromiter((t.price.as_double() for t in trades), dtype=float, count=n)
    size = np.fromiter((t.size.as_double() for t in trades), dtype=float, count=n)
    agg = {AggressorSide.BUYER: 1, AggressorSide.SELLER: -1}
    aggressor = np.fromiter((agg.get(t.aggressor_side, 0) for t in trades), dtype=np.int8, count=n)
    order = np.argsort(ts, kind="stable")
    keep = np.ones(n, dtype=bool)
    if start_ns is not None:
        keep &= ts[order] >= start_ns
    if end_ns is not None:
        keep &= ts[order] <= end_ns
    order = order[keep]
    return TradeSeries(ts[order], price[order], size[order], aggressor[order])


def maker_fee_for(instrument, override_bps: float | None) -> tuple[float, str]:
    """``(maker fee bps, where it came from)`` for a catalog instrument (module docstring)."""
    if override_bps is not None:
        return float(override_bps), "--maker-fee-bps"
    if str(instrument.id.venue) == HL_VENUE:
        return hl_rules.BASE_MAKER_FEE * 1e4, "Hyperliquid base tier (venue.rules)"
    return float(instrument.maker_fee) * 1e4, ASSUMED_FEE_NOTE


def screen_catalog(
    catalog_path: str | os.PathLike,
    instruments: list[str] | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
    horizons_s=DEFAULT_HORIZONS_S,
    edge_horizon_s: float = DEFAULT_EDGE_HORIZON_S,
    maker_fee_bps: float | None = None,
    progress: bool = True,
) -> dict:
    """The screener's result: ``{"instruments": [row, ...] (best edge first), "catalog", "start",
    "end", "horizons_s", "edge_horizon_s", "headline", ...}``; JSON-ready via ``reports.write_json``."""
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    if maker_fee_bps is not None and not math.isfinite(maker_fee_bps):
        raise ConfigError(f"--maker-fee-bps {maker_fee_bps}: must be a finite number of bps")
    horizons = tuple(sorted(set(map(float, horizons_s))))
    if not horizons or any(not math.isfinite(h) or h < 0 for h in horizons):
        raise ConfigError(f"--horizons {' '.join(map(str, horizons_s))}: give one or more horizons >= 0 seconds")
    if not math.isfinite(edge_horizon_s) or edge_horizon_s < 0:
        raise ConfigError(f"--edge-horizon {edge_horizon_s}: must be >= 0 seconds")
    horizons = tuple(sorted(set(horizons) | {float(edge_horizon_s)}))
    ids = resolve_instruments(catalog_path, instruments)
    path = Path(catalog_path)
    catalog = ParquetDataCatalog(str(path))
    log = (lambda line: print(line, file=sys.stderr, flush=True)) if progress else None
    rows = []
    skipped = []
    for instrument_id in ids:
        found = catalog.instruments(instrument_ids=[instrument_id])
        if not found:
            raise DataError(f"catalog {catalog_path}: book data for {instrument_id} but no instrument definition")
        fee, fee_source = maker_fee_for(found[0], maker_fee_bps)
        touch = read_touch_series(catalog, path, instrument_id, start_ns, end_ns, log)
        trades = read_trades(catalog, instrument_id, start_ns, end_ns)
        try:
            row = screen_instrument(touch, trades, fee, horizons, edge_horizon_s)
        except DataError as exc:
            skipped.append(f"{instrument_id}: {exc}")
            continue
        row = {"instrument_id": instrument_id, **row, "maker_fee_source": fee_source,
               "start": _iso(int(touch.ts[0])), "end": _iso(int(touch.ts[-1]))}
        if row["n_trades"] == 0:
            skipped.append(f"{instrument_id}: no trades with a known aggressor side in the period (no markouts)")
        rows.append(row)
        if log is not None:
            log(f"screen {instrument_id}: {row['book_messages']:,} book messages, {row['n_trades']:,} trades, "
                f"edge {row['edge_bps']:.3f} bps")
    if not rows:
        raise DataError(f"catalog {catalog_path}: nothing to screen in the period ({'; '.join(skipped)})")
    return {
        "catalog": str(catalog_path),
        "start": _iso(start_ns) if start_ns is not None else None,
        "end": _iso(end_ns) if end_ns is not None else None,
        "horizons_s": list(horizons),
        "edge_horizon_s": float(edge_horizon_s),
        "headline": HEADLINE,
        "edge_formula": "edge_bps = captured_half_spread_bps - adverse_bps_<edge_horizon_s> - maker_fee_bps; "
                        "breakeven_maker_fee_bps = captured_half_spread_bps - adverse_bps_<edge_horizon_s>",
        "notes": skipped,
        "instruments": sort_rows(rows),
    }


def _iso(ns: int) -> str:
    import pandas as pd

    return pd.Timestamp(ns, unit="ns", tz="UTC").isoformat()
