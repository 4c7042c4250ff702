"""Throughput and memory of the full MarketMaker backtest, and of the full AdaptiveMarketMaker (the
"adaptive" variant of configs/ablation.yaml: regime, fill rate, inventory decay, toxicity, auto-tuner,
dynamic sizer, the fill model of configs/models/, bias, book imbalance, microprice and trade flow),
versus a do-nothing strategy.

All run in the same invocation, each in its own fresh process (so peak RSS is its own), over the
same catalog of at least 1,000,000 synthetic L2 deltas (BTC, diffed Hyperliquid-style snapshots
plus trades), with the same engine settings (L2_MBP, queue position, latency, buffer_deltas).

    python bench/backtest_throughput.py [--deltas 1000000] [--catalog bench/out/catalog]

Prints per run: wall time, data events/s, peak RSS, orders, fills, orders left in the cache (closed
orders are purged periodically, so this stays bounded however long the run), and as its last
lines: ``full/do-nothing throughput ratio: X`` and ``adaptive/do-nothing throughput ratio: Y``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build_catalog(path: Path, n_deltas: int, seed: int) -> dict:
    """Synthetic BTC L2 with at least ``n_deltas`` deltas (hours added until reached)."""
    from botmm_nautilus.data.synth import write_synthetic_catalog

    marker = path / f".bench-{n_deltas}-{seed}.json"
    if marker.exists():
        return json.loads(marker.read_text())
    import shutil

    shutil.rmtree(path, ignore_errors=True)
    hours = 21.0  # synthetic BTC makes ~49k deltas an hour
    while True:
        write_synthetic_catalog(str(path), coins=("BTC",), l2_hours=hours, bar_days=0, seed=seed, progress=False, replace=True)
        from botmm_nautilus.data.info import catalog_info

        info = catalog_info(str(path))
        n = _count(info, "order_book_deltas")
        if n >= n_deltas:
            break
        if n == 0:
            raise SystemExit("the synthetic catalog has no order book deltas")
        hours = hours * (n_deltas / n) * 1.05
        shutil.rmtree(path, ignore_errors=True)
    meta = {"deltas": n, "trades": _count(info, "trade_tick"), "hours": hours}
    marker.write_text(json.dumps(meta))
    return meta


def _count(info: dict, type_name: str) -> int:
    total = 0
    for row in info.get("series", []):
        if row.get("data_type") == type_name:
            total += int(row.get("rows", 0))
    return total


def child(kind: str, catalog: str) -> None:
    """Run one backtest in this process and print a JSON line with its figures."""

    from botmm_nautilus.backtest.runner import build_node
    from botmm_nautilus.backtest.runner import build_run_config
    from botmm_nautilus.config.asset import load_config

    cfg = load_config(ROOT / "configs" / "btc.yaml")
    kwargs = {}
    if kind == "null":
        kwargs = {"strategy": "DoNothing"}
    elif kind == "adaptive":
        # the ablation's "adaptive" variant: every feature on (regime, fill rate, inventory decay,
        # toxicity, auto-tuner, sizer, fill model, bias, imbalance, microprice, flow)
        from botmm_nautilus.config.variants import apply_variant
        from botmm_nautilus.config.variants import load_variants

        variants_path = ROOT / "configs" / "ablation.yaml"
        variant = next(v for v in load_variants(variants_path) if v.name == "adaptive")
        os.chdir(ROOT)  # fill_model.path is relative to the project root
        cfg = apply_variant(cfg, variant, str(variants_path))  # sets cfg.strategy too
    run_cfg = build_run_config(cfg, catalog, mode="book", **kwargs)
    node = build_node(run_cfg)
    t0 = time.perf_counter()
    results = node.run()
    wall = time.perf_counter() - t0
    engine = node.get_engine(run_cfg.id)
    strat = engine.trader.strategies()[0]
    out = {
        "kind": kind,
        "wall_s": wall,
        "events": results[0].iterations,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "orders_total": getattr(strat, "orders_submitted", 0),
        "orders_in_cache": len(engine.cache.orders()),
        "fills": getattr(strat, "fills", 0),
        "book_updates": getattr(strat, "book_updates", 0),
        "modifies": getattr(strat, "orders_modified", 0),
    }
    node.dispose()
    print("RESULT " + json.dumps(out), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--deltas", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--catalog", default=str(ROOT / "bench" / "out" / "catalog"))
    ap.add_argument("--child", choices=["null", "full", "adaptive"], default=None)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.catalog)
        return
    cat = Path(args.catalog)
    t0 = time.perf_counter()
    meta = build_catalog(cat, args.deltas, args.seed)
    print(f"catalog: {meta['deltas']:,} deltas + {meta['trades']:,} trades ({meta['hours']:.1f} h synthetic BTC) "
          f"ready in {time.perf_counter() - t0:.1f} s at {cat}")
    runs = {}
    for kind in ("null", "full", "adaptive"):
        proc = subprocess.run([sys.executable, __file__, "--child", kind, "--catalog", str(cat)],
                              capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if proc.returncode != 0 or line is None:
            print(proc.stdout[-3000:], proc.stderr[-3000:])
            raise SystemExit(f"{kind} run failed")
        r = json.loads(line[7:])
        runs[kind] = r
        print(f"{kind:>10}: {r['wall_s']:7.1f} s  {r['events'] / r['wall_s']:>10,.0f} events/s  peak RSS {r['peak_rss_mb']:,.0f} MB  "
              f"orders submitted {r['orders_total']:,} (left in the cache at the end {r['orders_in_cache']:,}: closed orders are purged)  fills {r['fills']:,}  "
              f"modifies {r['modifies']:,}  book updates {r['book_updates']:,}")
    null_rate = runs["null"]["events"] / runs["null"]["wall_s"]
    for kind in ("full", "adaptive"):
        ratio = (runs[kind]["events"] / runs[kind]["wall_s"]) / null_rate
        print(f"{kind}/do-nothing throughput ratio: {ratio:.2f}")


if __name__ == "__main__":
    main()
