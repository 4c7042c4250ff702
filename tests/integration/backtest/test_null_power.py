"""A null test with power: no PnL from nothing, and a 1 bp look-ahead is seen.

Data: 3 hours of 1-second bars of a driftless +-1-tick random walk (``lattice_walk_bars``: 100
one-tick steps per bar, about 1 bp of BTC per bar). Zero fees, zero latency, and the touch fill
rule pinned (a resting limit fills when a bar reaches its price). On a lattice the path reaches a
price exactly, so a fill happens at the price the market is at: any causal quoter has zero
expected markout and zero expected PnL (optional stopping on a martingale). A fill rule that needs
the bar to trade THROUGH the price would instead make every fill one tick adverse; that is a
statement about the fill rule, not about causality, so it is held fixed here.

Statistic: the run's PnL = the sum of its per-minute equity changes. Equity is a martingale under
the null, so its increments are uncorrelated and the 95 % interval of the sum is
``sum +- 1.96 * sd(changes) * sqrt(n)`` (no independence assumed beyond that).

1. The real ``MarketMaker`` (quotes from bar t's close): the interval contains 0.
2. ``NextCloseMaker`` (tests/support/peeking.py), identical but centring bar t's quotes on bar
   t+1's close (a look-ahead of one step, ~1 bp): its PnL is significantly positive, and larger
   than the causal interval's half-width, so the test has the power to see such a leak.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
import support.peeking as peeking
from nautilus_trader.config import ImportableFillModelConfig
from support.causality import run_and_record

from botmm_nautilus.adapters.hyperliquid.instruments import make_perpetual
from botmm_nautilus.config.asset import load_config
from botmm_nautilus.config.loader import override
from botmm_nautilus.data.catalog_io import StagedCatalogWriter
from botmm_nautilus.data.synth import lattice_walk_bars

HOURS = 3
SEED = 11
PERIOD_NS = 60_000_000_000
TOUCH_FILLS = {
    "fill_model": ImportableFillModelConfig(
        fill_model_path="nautilus_trader.backtest.models:FillModel",
        config_path="nautilus_trader.backtest.config:FillModelConfig",
        config={"prob_fill_on_limit": 1.0, "prob_slippage": 0.0, "random_seed": 1},
    ),
}


@pytest.fixture(scope="module")
def walk_catalog(tmp_path_factory):
    cat = tmp_path_factory.mktemp("null_walk")
    bars = lattice_walk_bars("BTC", int(pd.Timestamp("2025-01-01", tz="UTC").value), HOURS * 3600, seed=SEED, start_price=100_000.0)
    with StagedCatalogWriter(cat) as w:
        w.write([make_perpetual("BTC")])
        w.write(bars)
        w.commit()
    return cat


@pytest.fixture(scope="module")
def null_cfg(project_root):
    return override(
        load_config(project_root / "configs" / "btc.yaml"),
        **{"venue.maker_fee_bps": 0.0, "venue.taker_fee_bps": 0.0, "venue.latency_ms": 0.0, "backtest.bar_interval": "1-SECOND"},
    )


def pnl_with_ci(samples: pd.DataFrame, start_equity: float) -> tuple[float, float, float, int]:
    """(PnL, 95 % half-width, z, periods) from per-minute equity changes."""
    minute = (samples["ts_ns"] - samples["ts_ns"].iloc[0]) // PERIOD_NS
    ends = samples.groupby(minute)["equity_usd"].last().to_numpy()
    changes = np.diff(np.concatenate([[start_equity], ends]))
    total = float(changes.sum())
    se = float(changes.std(ddof=1) * np.sqrt(len(changes)))
    return total, 1.96 * se, total / se, len(changes)


def _run(cfg, cat, strategy_path=None):
    peeking.CATALOG = str(cat)
    rec = run_and_record(cfg, cat, "candles", strategy_path=strategy_path, venue_overrides=TOUCH_FILLS)
    pnl, half, z, n = pnl_with_ci(rec.samples, cfg.capital_usd)
    volume = float((rec.fills["price"] * rec.fills["qty"]).sum())
    return rec, pnl, half, z, n, volume


def test_causal_market_maker_has_no_edge_and_a_planted_lookahead_is_detected(walk_catalog, null_cfg):
    rec, pnl, half, z, n, volume = _run(null_cfg, walk_catalog)
    print(f"\nnull test, {HOURS} h of 1 s lattice-walk bars, no fees/latency: causal MarketMaker PnL {pnl:+.3f} USD, "
          f"95% CI [{pnl - half:+.3f}, {pnl + half:+.3f}] ({n} one-minute changes), z {z:+.2f}, "
          f"{len(rec.fills)} fills, volume {volume:,.0f} USD ({pnl / volume * 1e4:+.3f} bps of volume)", file=sys.stderr)
    assert len(rec.fills) > 1000, "the strategy must trade for the null test to mean anything"
    assert (rec.fills["fee_usd"] == 0.0).all()
    assert abs(pnl) <= half, f"causal PnL {pnl:+.3f} outside its 95% interval +-{half:.3f} on a driftless walk"

    peek, p_pnl, p_half, p_z, _, p_volume = _run(null_cfg, walk_catalog, "support.peeking:NextCloseMaker")
    print(f"planted look-ahead (quotes centred on the NEXT 1 s close): PnL {p_pnl:+.3f} USD, "
          f"95% CI [{p_pnl - p_half:+.3f}, {p_pnl + p_half:+.3f}], z {p_z:+.2f}, {len(peek.fills)} fills "
          f"({p_pnl / p_volume * 1e4:+.3f} bps of volume)", file=sys.stderr)
    assert p_z > 3.0, f"the look-ahead should be significant: PnL {p_pnl:+.3f}, z {p_z:+.2f}"
    assert p_pnl > half, "power: the leak's PnL must exceed the causal interval's half-width"
