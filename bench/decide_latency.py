"""Time of one ``MarketMakerCore.decide`` call, without Nautilus: the decision core's share of the hot path.

A synthetic BTC book (a random-walk mid, a book every 0.1 s, trades on both sides) is fed to a core
built from configs/btc.yaml on Hyperliquid's BTC grid; ``decide`` is called on every other book
with a position that wanders inside the limits, and only those calls are timed.

    python bench/decide_latency.py [--config configs/btc.yaml] [--books 60000] [--signals] [--adaptive]

``--signals`` switches every signal on (bias, imbalance with level sizes, microprice).
``--adaptive`` times ``AdaptiveCore.decide`` with its features on (regime, fill rate, inventory
decay; ``core/adaptive.py``) instead; every 20th decision is followed by a fill of its best bid or ask. Prints the
mean, median and 90th percentile in microseconds, and a digest of every decision (equal digests:
equal decisions, e.g. before and after a refactoring).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

S = 1_000_000_000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default=str(ROOT / "configs" / "btc.yaml"))
    ap.add_argument("--books", type=int, default=60_000)
    ap.add_argument("--signals", action="store_true")
    ap.add_argument("--adaptive", action="store_true")
    args = ap.parse_args()

    import msgspec

    from botmm_nautilus.config.asset import load_config
    from botmm_nautilus.core.decision import MarketMakerCore
    from botmm_nautilus.venue.rules import HyperliquidGrid
    from botmm_nautilus.venue.rules import sz_decimals_for

    cfg = load_config(args.config)
    signals = cfg.signals
    if args.signals:
        signals = msgspec.structs.replace(
            signals, use_bias=True, bias_weight_bps=1.0, bias_bar_interval_s=60.0,
            use_imbalance=True, imbalance_weight_bps=1.0, use_microprice=True,
        )
    grid = HyperliquidGrid(sz_decimals_for(cfg.coin))
    if args.adaptive:
        from botmm_nautilus.core.adaptive import AdaptiveCore
        from botmm_nautilus.core.adaptive import build_adjusters
        from botmm_nautilus.core.adjust import OwnFill

        adaptive = msgspec.structs.replace(cfg.adaptive, use_regime=True, use_fill_rate=True, use_inventory_decay=True)
        core = AdaptiveCore(cfg.quoting, cfg.calibration, cfg.risk, signals, grid=grid, capital_usd=cfg.capital_usd,
                            maker_fee_bps=cfg.venue.maker_fee_bps, adjusters=build_adjusters(adaptive))
    else:
        core = MarketMakerCore(cfg.quoting, cfg.calibration, cfg.risk, signals, grid=grid,
                               capital_usd=cfg.capital_usd, maker_fee_bps=cfg.venue.maker_fee_bps)
    rng = random.Random(7)
    digest = hashlib.sha256()
    times: list[int] = []
    ts = 1_757_015_216 * S
    mid = 110_000.0
    pos = 0.0
    levels = core.book_levels
    for i in range(args.books):
        ts += S // 10
        mid *= math.exp(rng.gauss(0, 2e-5))
        bid = float(math.floor(mid))
        core.on_book(ts, bid, bid + 1.0)
        if rng.random() < 0.3:
            core.on_trade(ts, bid + 1.0 + rng.expovariate(0.5), 0.01, True)
        if rng.random() < 0.3:
            core.on_trade(ts, bid - rng.expovariate(0.5), 0.01, False)
        if i % 2:
            continue
        if levels:
            core.on_book_levels(ts, [rng.uniform(0, 3) for _ in range(levels)], [rng.uniform(0, 3) for _ in range(levels)])
        pos = max(-0.004, min(0.004, pos + rng.choice((-1, 1)) * 0.0005))
        t = time.perf_counter_ns()
        d = core.decide(ts, pos, cfg.capital_usd, 0.0, 0.0)
        times.append(time.perf_counter_ns() - t)
        if d is not None:
            digest.update(repr((d.bids, d.asks, d.risk.state.value)).encode())
            if args.adaptive and i % 40 == 0 and (d.bids or d.asks):
                is_buy = bool(d.bids) and (not d.asks or rng.random() < 0.5)
                price, qty = (d.bids if is_buy else d.asks)[0]
                core.on_fill(OwnFill(ts, is_buy, price, qty, core.mid))
    warm = times[len(times) // 10:]
    print(
        f"decide(): {len(warm)} calls, mean {statistics.fmean(warm) / 1e3:.2f} us, median {statistics.median(warm) / 1e3:.2f} us, "
        f"p90 {sorted(warm)[int(0.9 * len(warm))] / 1e3:.2f} us; decisions digest {digest.hexdigest()[:16]}",
    )


if __name__ == "__main__":
    main()
