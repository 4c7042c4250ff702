"""Information coefficients of the signals on a recorded book: which ones say anything about the next mid move.

    python bench/signal_ic.py [--catalog /work/cats/hl] [--instrument BTC-USDC-PERP.HL]
        [--horizon-s 5] [--grid-s 1] [--bias-bar-s 10] [--start ISO] [--end ISO]

The catalog's deltas and trades are replayed in ``ts_init`` order (what the engine would deliver,
book before trade at equal times) through the core's own signal classes (core/signals.py):
depth imbalance (1, 5, 10, 20 levels; flat and exp(-0.5·i) weights; a 2 s EMA), microprice - mid,
trade-flow imbalance (half-lives 1, 5, 30 s), and the directional bias on ``--bias-bar-s`` bars of
the mid (Kalman 'level' and 'trend' variants, plus the trend filter's slope alone).

On a grid every ``--grid-s`` seconds each signal is read as it stood after the last event stamped
at or before the grid time (previous-tick: causal), and paired with the mid's log change over the
next ``--horizon-s`` seconds, in bps. Printed per signal: the number of grid points where the
signal is defined, the Pearson and Spearman correlation (the IC), a rough t = IC·√(N·grid/H)
(overlapping windows: only about N·grid/H of them are independent; a slow signal such as the
bias is autocorrelated well beyond H, so its t is overstated) and beta_bps, the least-squares
slope of the forward move on the signal (bps per unit of signal: what a ``*_weight_bps`` would
be if the fair value were to price in the expected move over H, before any fee or latency). In-sample only: nothing is
fitted, the weights are fixed choices; a 35-minute recording is one short period of one day.
"""

from __future__ import annotations

import argparse
import heapq
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from botmm_nautilus.core.params import SignalsParams  # noqa: E402
from botmm_nautilus.core.signals import BookImbalance  # noqa: E402
from botmm_nautilus.core.signals import DirectionalBias  # noqa: E402
from botmm_nautilus.core.signals import TradeFlowImbalance  # noqa: E402
from botmm_nautilus.core.signals import microprice  # noqa: E402

S = 1_000_000_000


def load(catalog: str, instrument: str, start=None, end=None):
    from nautilus_trader.model.enums import AggressorSide
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    cat = ParquetDataCatalog(catalog)
    deltas = cat.order_book_deltas(instrument_ids=[instrument], start=start, end=end)
    trades = cat.trade_ticks(instrument_ids=[instrument], start=start, end=end)
    if not deltas:
        raise SystemExit(f"{catalog}: no order book deltas for {instrument}")
    trade_rows = [(t.ts_init, 1, t.size.as_double(), t.aggressor_side == AggressorSide.BUYER) for t in trades]
    return deltas, trade_rows


def replay(deltas, trade_rows, bias_bar_s: float):
    """Events in ts_init order -> per-event snapshots (ts, mid, {signal: value})."""
    from nautilus_trader.model.book import OrderBook
    from nautilus_trader.model.enums import BookType
    from nautilus_trader.model.enums import RecordFlag

    f_last = int(RecordFlag.F_LAST)
    book = OrderBook(deltas[0].instrument_id, BookType.L2_MBP)
    imbs = {
        "imb_L1": BookImbalance(1, 0.0),
        "imb_L5": BookImbalance(5, 0.0),
        "imb_L10": BookImbalance(10, 0.0),
        "imb_L20": BookImbalance(20, 0.0),
        "imb_L10_decay0.5": BookImbalance(10, 0.0, 0.5),
        "imb_L20_decay0.5": BookImbalance(20, 0.0, 0.5),
        "imb_L5_ema2s": BookImbalance(5, 2.0),
    }
    flows = {f"flow_h{h:g}s": TradeFlowImbalance(h) for h in (1.0, 5.0, 30.0)}
    common = {"bias_bar_interval_s": bias_bar_s}
    biases = {
        "bias_level": DirectionalBias(SignalsParams(**common, bias_kalman_model="level")),
        "bias_trend": DirectionalBias(SignalsParams(**common, bias_kalman_model="trend")),
    }
    values = {k: math.nan for k in (*imbs, *flows, *biases, "micro_minus_mid_bps", "kalman_trend_slope")}
    ts_out, mid_out, rows = [], [], []
    mid = math.nan
    book_events = ((d.ts_init, 0, d) for d in deltas)
    for ts, kind, *rest in heapq.merge(book_events, trade_rows, key=lambda e: (e[0], e[1])):
        if kind == 0:
            d = rest[0]
            book.apply_delta(d)
            if not d.flags & f_last:
                continue
            bids, asks = book.bids(), book.asks()
            if not bids or not asks:
                continue
            bid, ask = bids[0].price.as_double(), asks[0].price.as_double()
            if bid >= ask:
                continue
            bsz = [lv.size() for lv in bids[:20]]
            asz = [lv.size() for lv in asks[:20]]
            new_mid = 0.5 * (bid + ask)
            for k, m in imbs.items():
                values[k] = m.update(ts, bsz, asz)
            values["micro_minus_mid_bps"] = (microprice(bid, ask, bsz[0], asz[0]) / new_mid - 1.0) * 1e4
            if new_mid != mid:
                mid = new_mid
                for k, b in biases.items():
                    b.on_mid(ts, mid)
                    values[k] = b.bias if b.bar_count >= b.warmup_bars else math.nan
                kt = biases["bias_trend"].kalman
                values["kalman_trend_slope"] = kt.slope if biases["bias_trend"].bar_count > 5 else math.nan
        else:
            size, is_buy = rest
            for k, f in flows.items():
                values[k] = f.on_trade(ts, size, is_buy)
        if mid == mid:
            ts_out.append(ts)
            mid_out.append(mid)
            rows.append(dict(values))
    return np.asarray(ts_out, dtype=np.int64), np.asarray(mid_out), rows


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    rx = np.argsort(np.argsort(x, kind="stable"), kind="stable").astype(float)
    ry = np.argsort(np.argsort(y, kind="stable"), kind="stable").astype(float)
    return float(np.corrcoef(rx, ry)[0, 1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalog", default="/work/cats/hl")
    ap.add_argument("--instrument", default="BTC-USDC-PERP.HL")
    ap.add_argument("--horizon-s", type=float, default=5.0)
    ap.add_argument("--grid-s", type=float, default=1.0)
    ap.add_argument("--bias-bar-s", type=float, default=10.0)
    ap.add_argument("--start", default=None, help="first time read (ISO, UTC), default the catalog's start")
    ap.add_argument("--end", default=None, help="last time read (ISO, UTC), default the catalog's end")
    a = ap.parse_args(argv)
    deltas, trades = load(a.catalog, a.instrument, a.start, a.end)
    ts, mid, rows = replay(deltas, trades, a.bias_bar_s)
    grid = np.arange(ts[0] + int(60 * S), ts[-1] - int(a.horizon_s * S), int(a.grid_s * S))
    at = np.searchsorted(ts, grid, side="right") - 1  # last event at or before the grid time
    ahead = np.searchsorted(ts, grid + int(a.horizon_s * S), side="right") - 1
    fwd_bps = np.log(mid[ahead] / mid[at]) * 1e4
    span_min = (ts[-1] - ts[0]) / S / 60
    print(f"{a.instrument} in {a.catalog}: {span_min:.1f} min, {len(deltas)} deltas, {len(trades)} trades; "
          f"grid {a.grid_s:g} s from +60 s, forward mid change over {a.horizon_s:g} s "
          f"(mean |move| {np.mean(np.abs(fwd_bps)):.2f} bps, {np.mean(fwd_bps == 0):.0%} zero); bias bars {a.bias_bar_s:g} s")
    print(f"{'signal':<22}{'N':>6}{'mean':>9}{'std':>9}{'pearson':>9}{'spearman':>10}{'t~':>7}{'beta_bps':>10}")
    indep = a.grid_s / a.horizon_s
    for name in rows[0]:
        x = np.array([rows[i][name] for i in at])
        ok = np.isfinite(x)
        n = int(ok.sum())
        if n < 30 or np.std(x[ok]) == 0:
            print(f"{name:<22}{n:>6}  (undefined or constant)")
            continue
        p = float(np.corrcoef(x[ok], fwd_bps[ok])[0, 1])
        s = spearman(x[ok], fwd_bps[ok])
        t = p * math.sqrt(n * indep)
        beta = float(np.cov(x[ok], fwd_bps[ok])[0, 1] / np.var(x[ok], ddof=1))
        print(f"{name:<22}{n:>6}{np.mean(x[ok]):>9.3g}{np.std(x[ok]):>9.3g}{p:>9.3f}{s:>10.3f}{t:>7.1f}{beta:>10.3g}")


if __name__ == "__main__":
    main()
