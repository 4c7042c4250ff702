"""The ablation table builder (reports/ablation.py) on hand-made run records."""

from __future__ import annotations

import numpy as np
import pytest

from botmm_nautilus.reports.ablation import build_ablation_table
from botmm_nautilus.reports.ablation import format_ablation_table

S = 1_000_000_000
WINDOW = {"name": "out", "sample_label": "out-of-sample", "start": "t0", "end": "t0+4m", "start_ns": 0, "end_ns": 240 * S}
VARIANTS = [{"name": "base"}, {"name": "wide", "set": {"quoting.gamma": 0.1}}]


def _record(variant: str, equity: list[float], net: float, fills: int) -> dict:
    # one equity sample every 60 s, at 30, 90, 150, 210 s
    return {
        "variant": variant, "window": "out", "wall_seconds": 1.0,
        "sample_ts_ns": np.array([30, 90, 150, 210]) * S, "equity_usd": np.array(equity),
        "summary": {"net_pnl_usd": net, "starting_balance_usd": 100.0, "venue_fills": fills, "volume_usd": 1000.0,
                    "markout_10s_bps": -1.5, "warnings": [],
                    "attribution": {"per_volume_bps": {"adverse_selection_bps_of_volume": -2.0}, "markout_horizon_s": 60.0},
                    "breakeven_maker_fee_bps": 0.7},
    }


def test_rows_intervals_and_paired_difference():
    runs = [_record("base", [100.0, 101.0, 102.0, 103.0], 4.0, 10), _record("wide", [100.0, 100.5, 101.0, 101.5], 2.0, 5)]
    res = build_ablation_table(runs, VARIANTS, [WINDOW], bucket_s=60)
    base, wide = res["rows"]
    # buckets of 60 s, edges 0/60/120/180/240 s: base equity at the edges 100, 100 (sample of 30 s), 101, 102, then
    # 100 + 4 = 104 at the end -> increments 0, 1, 1, 2; wide: 0, 0.5, 0.5, 100 + 2 - 101 = 1
    assert base["ci_buckets"] == wide["ci_buckets"] == 4
    assert base["net_pnl_usd"] == 4.0 and base["net_pnl_ci_low_usd"] <= 4.0 <= base["net_pnl_ci_high_usd"]
    # the blocks (length round(4 ** (1/3)) = 2) of base are (0,1), (1,1), (1,2): a resample sums two of them,
    # so every resampled total lies in [1 + 1, 3 + 3] = [2, 6]
    assert 2.0 <= base["net_pnl_ci_low_usd"] and base["net_pnl_ci_high_usd"] <= 6.0
    # paired differences wide - base per bucket: 0, -0.5, -0.5, -1 (sum -2 = 2 - 4)
    assert wide["diff_vs_baseline_usd"] == pytest.approx(-2.0)
    assert wide["diff_ci_low_usd"] <= -2.0 <= wide["diff_ci_high_usd"] and wide["diff_ci_high_usd"] <= -1.0
    assert base["diff_vs_baseline_usd"] is None
    assert (wide["adverse_selection_bps"], wide["breakeven_maker_fee_bps"], wide["venue_fills"]) == (-2.0, 0.7, 5)
    assert "only 4 PnL buckets" in wide["warnings"][0]  # fewer than 12: flagged
    text = format_ablation_table(res)
    assert text.splitlines()[2].split()[:2] == ["base", "out"]
    assert "-2.00 [" in text.splitlines()[3]


def test_every_pair_needs_exactly_one_run():
    runs = [_record("base", [100.0] * 4, 0.0, 0)]
    with pytest.raises(ValueError, match=r"no run for \(variant, window\) \[\('wide', 'out'\)\]"):
        build_ablation_table(runs, VARIANTS, [WINDOW], bucket_s=60)
    with pytest.raises(ValueError, match="two runs"):
        build_ablation_table(runs * 2, VARIANTS[:1], [WINDOW], bucket_s=60)
