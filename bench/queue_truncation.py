"""Queue truncation: the same strategy on a full-depth book and on a 20-level window of it.

    python bench/queue_truncation.py --capture ../shared/data/binance/raw_ws/usdm_btcusdt_20240808.gz
        [--levels 20] [--interval-ms 500] [--config configs/btc.yaml] [--workdir DIR] [--keep]

Hyperliquid publishes 20 levels a side (for BTC about 1.8 bps from the mid). A backtest on such a
book sees no size beyond the window. With Nautilus 1.231's own queue model a level that left the
window arrived as a DELETE and an order resting there had no queue ahead of it (none recorded at
an empty level, reset to zero by the DELETE), so it filled on the first trade at its price; the
project's fill rules (``venue/fill_rules.py``: stale depth D1, unknown depth Q2) address that. This
bench measures what the window still does to fills, on the one truly incremental full-depth
capture we have:

* catalog A (``full``): the Binance USD-M capture imported as it is (``import_binance_raw``: the
  whole book, every incremental update);
* catalog B (``window``): the same book seen as Hyperliquid shows it
  (``data.derive.derive_window_snapshots``: top ``--levels`` a side every ``--interval-ms`` of
  receive time, diffed into deltas like the Hyperliquid importers do), with the same trades and
  the same instrument id.

The same ``MarketMaker`` config (fees, latency and queue settings from ``--config``) runs on both
with ``run_backtest(..., instrument=<capture's instrument>)``. Printed side by side: venue fills,
``OrderFilled`` events, filled volume, fees, net PnL, orders, the fill rules' placement counters;
then, for each run, its ``OrderFilled`` events at a price where that run's book (stale depth
included) showed no size just before the fill, and B's fills priced beyond its window; the reach
of B's window in bps. The LAST line is exactly

    truncated/full fill-volume ratio: X

with X = filled base volume on B / filled base volume on A (1 = the window does not change what
fills; the aim once the queue model handles the window is 0.9-1.1).
"""

from __future__ import annotations

import argparse
import heapq
import math
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from botmm_nautilus.data.derive import DEFAULT_SNAPSHOT_INTERVAL_MS  # noqa: E402
from botmm_nautilus.data.derive import DEFAULT_WINDOW_LEVELS  # noqa: E402
from botmm_nautilus.engine.book_diff import F_LAST  # noqa: E402


@dataclass
class Leg:
    """One backtest run and the fills it made."""

    name: str
    summary: dict
    fills: pd.DataFrame
    wall_s: float
    empty_level: dict | None = None  # fills at a price the run's own book showed no size


def run_leg(name: str, cfg, catalog: Path, instrument: str, description: str) -> Leg:
    from botmm_nautilus.backtest.runner import run_backtest

    t0 = time.perf_counter()
    out = run_backtest(cfg, str(catalog), instrument=instrument, progress=False, data_description=description)
    return Leg(name, out.summary, out.artifacts.fills, time.perf_counter() - t0)


def load_deltas(catalog: Path, instrument: str) -> list:
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    return ParquetDataCatalog(str(catalog)).order_book_deltas(instrument_ids=[instrument])


def _window_edge(book: dict[float, float], is_bid: bool, levels: int | None) -> float:
    """The worst price of the ``levels`` best levels of one side (all levels when None)."""
    if levels is None or len(book) <= levels:
        return min(book) if is_bid else max(book)
    return (heapq.nlargest if is_bid else heapq.nsmallest)(levels, book)[-1]


def window_depth_bps(deltas: list, levels: int) -> tuple[float, float]:
    """Median and 10th percentile, over the book messages of a windowed catalog, of the distance in
    bps from the mid to the worst of the ``levels`` best levels (the nearer of the two sides): how
    far from the mid the recorder's window reaches. Stale depth kept beyond it does not count."""
    from nautilus_trader.model.enums import BookAction
    from nautilus_trader.model.enums import OrderSide

    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    depths = []
    for d in deltas:
        if d.action == BookAction.CLEAR:
            bids.clear()
            asks.clear()
        else:
            book = bids if d.order.side == OrderSide.BUY else asks
            px = d.order.price.as_double()
            if d.action == BookAction.DELETE:
                book.pop(px, None)
            else:
                book[px] = d.order.size.as_double()
        if d.flags & F_LAST and bids and asks:  # a whole message applied
            mid = (max(bids) + min(asks)) / 2
            reach = min(mid - _window_edge(bids, True, levels), _window_edge(asks, False, levels) - mid)
            depths.append(reach / mid * 1e4)
    if not depths:
        return math.nan, math.nan
    return float(np.median(depths)), float(np.percentile(depths, 10))


def fills_at_empty_levels(deltas: list, fills: pd.DataFrame, levels: int | None = None) -> dict:
    """Fills (count and base volume) at a price where the catalog's book as it stood just before
    the fill (every delta with ``ts_init`` < the fill time applied; stale depth included) showed no
    size on the order's side; and, separately, fills priced beyond the window: worse than the
    ``levels``-th best level of that side (the deepest level when ``levels`` is None)."""
    from nautilus_trader.model.enums import BookAction
    from nautilus_trader.model.enums import OrderSide

    order = np.argsort(fills["ts_ns"].to_numpy(), kind="stable")
    f_ts = fills["ts_ns"].to_numpy()[order]
    f_side = fills["side"].to_numpy()[order]
    f_px = fills["price"].to_numpy()[order]
    f_qty = fills["qty"].to_numpy()[order]
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    out = {"fills": len(order), "volume": float(f_qty.sum()), "no_size": 0, "no_size_volume": 0.0, "beyond": 0, "beyond_volume": 0.0}
    i = 0
    n_deltas = len(deltas)
    clear, delete = BookAction.CLEAR, BookAction.DELETE
    buy = OrderSide.BUY
    for k in range(len(order)):
        ts = f_ts[k]
        while i < n_deltas and deltas[i].ts_init < ts:
            d = deltas[i]
            i += 1
            if d.action == clear:
                bids.clear()
                asks.clear()
                continue
            book = bids if d.order.side == buy else asks
            px = d.order.price.as_double()
            if d.action == delete:
                book.pop(px, None)
            else:
                book[px] = d.order.size.as_double()
        is_bid = f_side[k] > 0
        book = bids if is_bid else asks
        px = f_px[k]
        if book.get(px, 0.0) <= 0:
            out["no_size"] += 1
            out["no_size_volume"] += float(f_qty[k])
        edge = _window_edge(book, is_bid, levels) if book else math.nan
        if not book or (px < edge if is_bid else px > edge):
            out["beyond"] += 1
            out["beyond_volume"] += float(f_qty[k])
    return out


def _fmt(value, digits: int = 2) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def print_table(full: Leg, window: Leg, levels: int, interval_ms: float) -> None:
    rows = [
        ("venue fills", lambda leg: int(leg.summary["venue_fills"])),
        ("OrderFilled events", lambda leg: int(leg.summary["order_filled_events"])),
        ("maker OrderFilled events", lambda leg: int(leg.summary["maker_order_filled_events"])),
        ("filled volume (base)", lambda leg: _fmt(float(leg.fills["qty"].sum()), 6)),
        ("filled volume (quote)", lambda leg: float(leg.summary["volume_usd"])),
        ("fees (quote)", lambda leg: float(leg.summary["fees_usd"])),
        ("net PnL (quote)", lambda leg: float(leg.summary["net_pnl_usd"])),
        ("final position (base)", lambda leg: _fmt(float(leg.summary["final_position_base"]), 6)),
        ("orders submitted", lambda leg: int(leg.summary["orders_submitted"])),
        ("orders modified", lambda leg: int(leg.summary["orders_modified"])),
        ("wall seconds", lambda leg: leg.wall_s),
    ]
    if "fill_rules" in full.summary and "fill_rules" in window.summary:  # the project's queue model ran
        for key in ("placed_front", "placed_behind_size", "placed_pending", "print_fills", "through_fills"):
            rows.append((f"fill rules: {key}", lambda leg, key=key: int(leg.summary["fill_rules"][key])))
    head_b = f"window {levels} lv / {interval_ms:g} ms (B)"
    print(f"{'':<28} {'full depth (A)':>22} {head_b:>30}")
    for label, get in rows:
        a, b = get(full), get(window)
        print(f"{label:<28} {a if isinstance(a, str) else _fmt(a):>22} {b if isinstance(b, str) else _fmt(b):>30}")
    for leg in (full, window):
        e = leg.empty_level
        if e is None:
            continue
        share = e["no_size_volume"] / e["volume"] if e["volume"] else math.nan
        where = f"beyond its {levels}-level window" if leg is window else "beyond its deepest level"
        print(
            f"{leg.name}: fills at a price its book showed no size just before the fill: {e['no_size']} of {e['fills']} "
            f"({share:.1%} of the filled volume); {where}: {e['beyond']} ({e['beyond_volume']:.6g} base)",
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--capture", required=True, help="Binance USD-M raw capture (<local_ns> <json> lines, .gz)")
    ap.add_argument("--levels", type=int, default=DEFAULT_WINDOW_LEVELS, help="levels a side of the window (default 20)")
    ap.add_argument("--interval-ms", type=float, default=DEFAULT_SNAPSHOT_INTERVAL_MS, help="snapshot interval (default 500)")
    ap.add_argument("--config", default=str(ROOT / "configs" / "btc.yaml"), help="per-asset YAML (default configs/btc.yaml)")
    ap.add_argument("--workdir", default=None, help="where the two catalogs go (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the catalogs (default: removed at the end)")
    ap.add_argument("--no-empty-level-share", action="store_true", help="skip the fills-at-empty-levels count")
    args = ap.parse_args(argv)

    from botmm_nautilus.config.asset import load_config
    from botmm_nautilus.data.binance import import_binance_raw
    from botmm_nautilus.data.derive import derive_window_snapshots

    cfg = load_config(args.config)
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="queue_truncation_"))
    workdir.mkdir(parents=True, exist_ok=True)
    cat_full, cat_window = workdir / "full", workdir / "window"
    try:
        t0 = time.perf_counter()
        imported = import_binance_raw(args.capture, cat_full, replace=True, progress=False)
        derived = derive_window_snapshots(
            args.capture, cat_window, levels=args.levels, interval_ms=args.interval_ms, replace=True, progress=False,
        )
        (instrument,) = imported.instruments
        a, b = imported.instruments[instrument], derived.instruments[instrument]
        print(f"capture {args.capture}: {instrument}, receive time {pd.Timestamp(a.start_ns, tz='UTC')} .. "
              f"{pd.Timestamp(a.end_ns, tz='UTC')} (development data, no in/out-of-sample claim)")
        print(f"A full depth: {a.deltas:,} deltas, {a.trades:,} trades; B window: {b.snapshots:,} snapshots -> "
              f"{b.deltas:,} deltas, {b.trades:,} trades (catalogs built in {time.perf_counter() - t0:.1f}s)")
        print(f"config {args.config}: maker {cfg.venue.maker_fee_bps} bps, taker {cfg.venue.taker_fee_bps} bps, "
              f"latency {cfg.venue.latency_ms} ms, queue_position={cfg.backtest.queue_position}")
        full = run_leg("A full depth", cfg, cat_full, instrument, f"{args.capture} full depth")
        window = run_leg(
            f"B window {args.levels} lv", cfg, cat_window, instrument,
            f"{args.capture} top {args.levels} levels every {args.interval_ms:g} ms",
        )
        window_deltas = load_deltas(cat_window, instrument)
        if not args.no_empty_level_share:
            full.empty_level = fills_at_empty_levels(load_deltas(cat_full, instrument), full.fills)
            window.empty_level = fills_at_empty_levels(window_deltas, window.fills, args.levels)
        print_table(full, window, args.levels, args.interval_ms)
        median_bps, p10_bps = window_depth_bps(window_deltas, args.levels)
        print(f"B window: mid to the worst of its {args.levels} best levels (nearer side): median {median_bps:.2f} bps "
              f"(10th percentile {p10_bps:.2f} bps)")
        vol_a, vol_b = float(full.fills["qty"].sum()), float(window.fills["qty"].sum())
        ratio = vol_b / vol_a if vol_a > 0 else math.nan
        print(f"truncated/full fill-volume ratio: {ratio:.3f}")
    finally:
        if not args.keep:
            shutil.rmtree(cat_full, ignore_errors=True)
            shutil.rmtree(cat_window, ignore_errors=True)
            if not args.workdir:
                shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
