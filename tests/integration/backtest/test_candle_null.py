"""The null test for candle mode: no edge can exist on a driftless random walk.

BotMM's candle simulator (the bot this project replaces) centred each quote on the same bar's
(H+L)/2 and called a touch a fill; on exactly this kind of data it reported Sharpe ~21. Here:

1. a look-ahead simulator of that kind (written out below in numpy) is run on the generator's
   365 days of driftless 5-minute candles and shows a large, significant positive mean daily PnL:
   the data does expose look-ahead;
2. our candle mode (the same MarketMaker strategy, Nautilus bar execution, quotes built from bar
   t's close and only fillable by later bars, base-tier fees) runs on the same candles, and its
   mean daily PnL must NOT be significantly positive (95 % confidence interval printed).
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from botmm_nautilus.adapters.hyperliquid.instruments import make_perpetual
from botmm_nautilus.backtest.runner import run_backtest
from botmm_nautilus.config.asset import load_config
from botmm_nautilus.data.catalog_io import StagedCatalogWriter
from botmm_nautilus.data.synth import generate_bars

DAYS = 365
START = "2025-01-01"


def _mean_ci(daily: np.ndarray) -> tuple[float, float, float]:
    m = float(np.mean(daily))
    se = float(np.std(daily, ddof=1) / np.sqrt(len(daily)))
    return m, m - 1.96 * se, m + 1.96 * se


@pytest.fixture(scope="module")
def random_walk_catalog(tmp_path_factory):
    cat = tmp_path_factory.mktemp("null_catalog")
    start_ns = int(pd.Timestamp(START, tz="UTC").value)
    bars = generate_bars("BTC", start_ns, DAYS, seed=2024, interval_minutes=5, drift=0.0)
    with StagedCatalogWriter(cat) as w:
        w.write([make_perpetual("BTC")])
        w.write(bars)
        w.commit()
    return cat, bars


def _lookahead_sim(bars, half_spread_bps: float, fee: float, size_usd: float = 150.0) -> np.ndarray:
    """BotMM's rule: centre on this bar's (H+L)/2, fill each side if this bar touched it."""
    high = np.array([b.high.as_double() for b in bars])
    low = np.array([b.low.as_double() for b in bars])
    close = np.array([b.close.as_double() for b in bars])
    ts = np.array([b.ts_event for b in bars])
    mid = 0.5 * (high + low)
    bid = mid * (1 - half_spread_bps * 1e-4)
    ask = mid * (1 + half_spread_bps * 1e-4)
    qty = size_usd / mid
    buy = low <= bid
    sell = high >= ask
    pos = np.cumsum(np.where(buy, qty, 0.0) - np.where(sell, qty, 0.0))
    cash = np.cumsum(np.where(sell, qty * ask, 0.0) - np.where(buy, qty * bid, 0.0)
                     - fee * (np.where(buy, qty * bid, 0.0) + np.where(sell, qty * ask, 0.0)))
    equity = cash + pos * close
    day = (ts - ts[0]) // (86_400 * 10**9)
    eod = pd.Series(equity).groupby(day).last().to_numpy()
    return np.diff(np.concatenate([[0.0], eod]))


def test_lookahead_simulator_finds_fake_edge(random_walk_catalog):
    _, bars = random_walk_catalog
    daily = _lookahead_sim(bars, half_spread_bps=10.0, fee=0.00015)
    m, lo, hi = _mean_ci(daily)
    sharpe = np.mean(daily) / np.std(daily, ddof=1) * np.sqrt(365)
    print(f"\nlook-ahead (seed-style) simulator on {DAYS} d of driftless 5m candles: "
          f"mean daily PnL {m:.2f} USD, 95% CI [{lo:.2f}, {hi:.2f}], Sharpe {sharpe:.1f}", file=sys.stderr)
    assert lo > 0, "the look-ahead rule should show a (fake) significant edge on this data"


def test_candle_mode_has_no_edge_on_a_random_walk(random_walk_catalog, project_root):
    cat, _ = random_walk_catalog
    cfg = load_config(project_root / "configs" / "btc.yaml")
    out = run_backtest(cfg, str(cat), mode="candles", progress=False, data_description="driftless random walk (null test)")
    smp = out.artifacts.samples
    day = (smp["ts_ns"] - smp["ts_ns"].iloc[0]) // (86_400 * 10**9)
    eod = smp.groupby(day)["equity_usd"].last().to_numpy()
    daily = np.diff(np.concatenate([[cfg.capital_usd], eod]))
    m, lo, hi = _mean_ci(daily)
    s = out.summary
    print(f"\ncandle mode (MarketMaker, Nautilus bar execution, base-tier fees) on {DAYS} d of driftless 5m candles: "
          f"mean daily PnL {m:.2f} USD, 95% CI [{lo:.2f}, {hi:.2f}]; net {s['net_pnl_usd']:.2f} USD, "
          f"OrderFilled events {s['order_filled_events']}, fees {s['fees_usd']:.2f}, Sharpe {s['sharpe']}", file=sys.stderr)
    assert s["order_filled_events"] > 1000, "the strategy must actually trade for the null test to mean anything"
    assert lo <= 0, f"significantly positive mean daily PnL {m:.2f} [{lo:.2f}, {hi:.2f}] on a driftless random walk"
    assert s["reconciliation"]["ok"]
