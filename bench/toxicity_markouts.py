"""Replay a backtest's fills and mids through the Toxicity feature: per-side scores, markouts, pauses.

Open loop: the strategy that made the fills did not react to the score (the feature is only
measured here). Also groups the fills by the band their side was in when they happened (what the
feature would have said then, from earlier markouts only) with their markout at --check-horizon,
read from the mid tape: if the score carries information, fills in the high band should have worse
markouts than fills in the low band.

    .venv/bin/python bench/toxicity_markouts.py --config configs/btc.yaml --catalog /work/cats/hl
    .venv/bin/python bench/toxicity_markouts.py --config configs/btc.yaml --catalog /work/cats/hl --fills /tmp/f.csv

The mids are the strategy's mid tape of the run (the book mid at each change, book mode; the bar
closes in candle mode). With --fills, the fills are read from a CSV written by
``botmm backtest ... --fills F.csv`` of the same config/catalog/period instead of this run's.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np
import pandas as pd

from botmm_nautilus.core.adjust import OwnFill
from botmm_nautilus.core.params import ToxicityParams
from botmm_nautilus.core.toxicity import SIDES
from botmm_nautilus.core.toxicity import Toxicity
from botmm_nautilus.reports.tape import NS
from botmm_nautilus.reports.tape import mid_arrays
from botmm_nautilus.reports.tape import mid_at


def replay(fills: pd.DataFrame, mids: pd.DataFrame, params: ToxicityParams, check_horizon_s: float) -> dict:
    """Feed mids and fills in time order; returns the feature's state and the band table."""
    tox = Toxicity(params)
    mts, mv = mid_arrays(mids)
    f = fills.sort_values("ts_ns", kind="stable")
    fts = f["ts_ns"].to_numpy(dtype=np.int64)
    side = f["side"].to_numpy()
    is_buy = side > 0 if side.dtype.kind in "if" else (pd.Series(side).astype(str).str.upper() == "BUY").to_numpy()
    price = f["price"].to_numpy(dtype=np.float64)
    qty = f["qty"].to_numpy(dtype=np.float64)
    mid_fill = f["mid_at_fill"].to_numpy(dtype=np.float64)
    # markout at the check horizon from the tape: first mid at or after fill + h
    idx = np.searchsorted(mts, fts + int(check_horizon_s * NS), side="left")
    later = np.where(idx < len(mv), mv[np.clip(idx, 0, len(mv) - 1)], np.nan)
    sign = np.where(is_buy, 1.0, -1.0)
    markout_bps = sign * (later - mid_fill) / mid_fill * 1e4
    bands = []
    j = 0
    for i in range(len(fts)):
        while j < len(mts) and mts[j] <= fts[i]:
            tox.on_mid(int(mts[j]), float(mv[j]))
            j += 1
        s = "bid" if is_buy[i] else "ask"
        st = tox._sides[s]
        score = tox.score(s, int(fts[i]))
        paused = st.pause_active and fts[i] < st.paused_until_ns
        active = st.measured >= params.min_markouts
        band = "paused" if paused else (f"x{tox.band_mult(score):g}" if active else "warm-up")
        bands.append(band)
        m = mid_fill[i] if math.isfinite(mid_fill[i]) else float(mid_at(mts, mv, np.array([fts[i]]))[0])
        tox.on_fill(OwnFill(int(fts[i]), bool(is_buy[i]), float(price[i]), float(qty[i]), m))
    while j < len(mts):
        tox.on_mid(int(mts[j]), float(mv[j]))
        j += 1
    table = (
        pd.DataFrame({"band": bands, "markout_bps": markout_bps, "side": np.where(is_buy, "bid", "ask")})
        .groupby(["side", "band"])["markout_bps"].agg(["count", "mean"]).reset_index()
    )
    return {"state": tox.state(), "bands": table, "changes": len(tox.changes), "n_fills": len(fts), "n_mids": len(mts)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--start")
    ap.add_argument("--end")
    ap.add_argument("--mode", default="book", choices=("book", "candles"))
    ap.add_argument("--instrument")
    ap.add_argument("--fills", help="fills CSV of `botmm backtest --fills` (default: this run's fills)")
    ap.add_argument("--horizons", type=float, nargs="+", default=list(ToxicityParams().horizons_s))
    ap.add_argument("--check-horizon", type=float, default=5.0, help="markout horizon (s) of the band table")
    args = ap.parse_args(argv)

    from botmm_nautilus.backtest.runner import run_backtest
    from botmm_nautilus.config.asset import load_config

    t0 = time.perf_counter()
    out = run_backtest(load_config(args.config), catalog_path=args.catalog, start=args.start, end=args.end,
                       mode=args.mode, progress=False, instrument=args.instrument)
    fills = pd.read_csv(args.fills) if args.fills else out.artifacts.fills
    params = ToxicityParams(enabled=True, horizons_s=tuple(args.horizons))
    r = replay(fills, out.artifacts.mids, params, args.check_horizon)
    print(f"{r['n_fills']} fills, {r['n_mids']} mids replayed ({time.perf_counter() - t0:.1f} s incl. the backtest); "
          f"data: {args.catalog} {args.start or 'start'} .. {args.end or 'end'} (in-sample, open loop)")
    st = r["state"]
    for s in SIDES:
        mk = ", ".join(
            f"{h} {v:+.2f} bps (n={st['markout_counts'][h][s]})" if v is not None else f"{h} -"
            for h, v in ((h, st["markout_bps"][h][s]) for h in st["markout_bps"])
        )
        print(f"{s}: score {st[s]['score']:.3f}  markouts {st[s]['markouts']}  pauses {st[s]['pauses']}  mean markout: {mk}")
    print(f"logged changes: {r['changes']}; markouts + = in our favour (per fill, parts of one fill at one "
          f"timestamp merged); the backtest's own adverse_1s_bps (mid to mid, qty-weighted, both sides, "
          f"previous-tick mid at t+1 s): "
          f"{out.summary.get('adverse_1s_bps')}")
    print(f"fills by the band their side was in when they happened, markout at {args.check_horizon:g} s:")
    print(r["bands"].to_string(index=False, float_format=lambda x: f"{x:+.3f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
