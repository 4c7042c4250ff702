"""A year of 5-minute bars for five assets through candle mode: wall time.

    python bench/candles_year.py [--days 365] [--workers 2] [--catalog bench/out/candles]

Generates (once) 365 days of synthetic 5-minute bars for BTC, ETH, SOL, XRP and HYPE, then runs
the MarketMaker strategy in candle mode (Nautilus bar execution, per-asset configs) for every asset,
``--workers`` processes at a time, and prints per-asset and total figures. The last line is
``five-asset candle year: X s wall``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
COINS = ("BTC", "ETH", "SOL", "XRP", "HYPE")


def build_catalog(path: Path, days: int, seed: int) -> None:
    marker = path / f".bench-candles-{days}-{seed}"
    if marker.exists():
        return
    import shutil

    import pandas as pd

    from botmm_nautilus.adapters.hyperliquid import make_perpetual
    from botmm_nautilus.data.catalog_io import StagedCatalogWriter
    from botmm_nautilus.data.synth import generate_bars

    shutil.rmtree(path, ignore_errors=True)
    start_ns = int(pd.Timestamp("2025-01-01", tz="UTC").value)
    with StagedCatalogWriter(path) as w:
        for i, coin in enumerate(COINS):
            w.write([make_perpetual(coin)])
            w.write(generate_bars(coin, start_ns, days, seed=seed + i, interval_minutes=5))
        w.commit()
    marker.write_text("ok")


def child(coin: str, catalog: str) -> None:
    from botmm_nautilus.backtest.runner import run_backtest
    from botmm_nautilus.config.asset import load_config

    if coin.endswith(":null"):  # the floor: Nautilus reading the same bars into a do-nothing strategy
        from botmm_nautilus.backtest.runner import build_node
        from botmm_nautilus.backtest.runner import build_run_config

        coin = coin[:-5]
        cfg = load_config(ROOT / "configs" / f"{coin.lower()}.yaml")
        run_cfg = build_run_config(cfg, catalog, mode="candles", strategy="DoNothing")
        node = build_node(run_cfg)
        t0 = time.perf_counter()
        res = node.run()
        print("RESULT " + json.dumps({"coin": coin + " (do-nothing)", "wall_s": time.perf_counter() - t0,
                                      "bars": res[0].iterations, "order_filled_events": 0, "orders": 0, "net_pnl_usd": 0.0}), flush=True)
        return
    cfg = load_config(ROOT / "configs" / f"{coin.lower()}.yaml")
    t0 = time.perf_counter()
    out = run_backtest(cfg, catalog, mode="candles", progress=False)
    s = out.summary
    print("RESULT " + json.dumps({
        "coin": coin, "wall_s": time.perf_counter() - t0, "bars": s.get("events_processed"),
        "order_filled_events": s["order_filled_events"], "orders": s["orders_submitted"] + s["orders_modified"] + s["orders_canceled"],
        "net_pnl_usd": s["net_pnl_usd"],
    }), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--catalog", default=str(ROOT / "bench" / "out" / "candles"))
    ap.add_argument("--child", default=None)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.catalog)
        return
    t0 = time.perf_counter()
    build_catalog(Path(args.catalog), args.days, args.seed)
    print(f"catalog: {args.days} d of 5-minute bars x {len(COINS)} coins ready in {time.perf_counter() - t0:.1f} s")

    def run(coin: str) -> dict:
        proc = subprocess.run([sys.executable, __file__, "--child", coin, "--catalog", args.catalog], capture_output=True, text=True)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if proc.returncode != 0 or line is None:
            raise SystemExit(f"{coin} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        return json.loads(line[7:])

    t1 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        results = list(pool.map(run, COINS))
    wall = time.perf_counter() - t1
    for r in results:
        print(f"{r['coin']:>5}: {r['wall_s']:6.1f} s  {r['bars']:,} bars  {r['bars'] / r['wall_s']:,.0f} bars/s  "
              f"orders {r['orders']:,}  OrderFilled events {r['order_filled_events']:,}  net {r['net_pnl_usd']:,.2f} USD")
    total_bars = sum(r["bars"] for r in results)
    print(f"{total_bars:,} bars, {args.workers} worker process(es), sum of per-asset times {sum(r['wall_s'] for r in results):.1f} s")
    floor = run(COINS[0] + ":null")
    mm = results[0]
    print(f"floor: a do-nothing strategy reads {COINS[0]}'s {floor['bars']:,} bars in {floor['wall_s']:.1f} s "
          f"({floor['wall_s'] / floor['bars'] * 1e3:.3f} ms/bar); the MarketMaker takes {mm['wall_s'] / mm['bars'] * 1e3:.3f} ms/bar "
          f"with {mm['orders'] / mm['bars']:.2f} order commands and {mm['order_filled_events'] / mm['bars']:.2f} OrderFilled events per bar")
    print(f"five-asset candle year: {wall:.1f} s wall")


if __name__ == "__main__":
    main()
