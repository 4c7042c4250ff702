"""The net-PnL confidence interval of the ablation table (reports/bootstrap.py) on hand-made series."""

from __future__ import annotations

import numpy as np
import pytest

from botmm_nautilus.reports.bootstrap import auto_bucket_s
from botmm_nautilus.reports.bootstrap import block_bootstrap_sum_ci
from botmm_nautilus.reports.bootstrap import block_length
from botmm_nautilus.reports.bootstrap import bucket_edges_ns
from botmm_nautilus.reports.bootstrap import pnl_increments

S = 1_000_000_000


def test_constant_series_gives_a_zero_width_interval_at_its_sum():
    ci = block_bootstrap_sum_ci([0.25] * 24)
    # 24 * 0.25 = 6.0: every resample of a constant series sums to the same 6.0
    assert (ci.estimate, ci.low, ci.high) == (6.0, 6.0, 6.0)
    assert ci.n == 24 and ci.block_len == 3  # round(24 ** (1/3)) = round(2.88) = 3


def test_interval_contains_the_observed_sum_and_is_reproducible():
    x = np.array([1.0, -2.0, 0.5, 3.0, -1.0, 0.0, 2.5, -0.5, 1.5, -3.0, 0.25, 1.0, -1.25, 2.0, 0.75, -0.25])
    ci = block_bootstrap_sum_ci(x, seed=3)
    # sum by hand: 1 - 2 + 0.5 + 3 - 1 + 0 + 2.5 - 0.5 + 1.5 - 3 + 0.25 + 1 - 1.25 + 2 + 0.75 - 0.25 = 4.5
    assert ci.estimate == 4.5
    assert ci.low < 4.5 < ci.high
    # mean 4.5 / 16 = 0.28125 per bucket lies inside the interval scaled back to one bucket
    assert ci.low / 16 < 0.28125 < ci.high / 16
    assert block_bootstrap_sum_ci(x, seed=3) == ci  # seeded: the same interval again
    other = block_bootstrap_sum_ci(x, seed=4)
    assert other != ci and abs(other.low - ci.low) < 2.0 and abs(other.high - ci.high) < 2.0


def test_interval_width_follows_the_noise():
    rng = np.random.default_rng(0)
    noise = rng.normal(size=48)
    narrow = block_bootstrap_sum_ci(0.1 * noise)
    wide = block_bootstrap_sum_ci(10.0 * noise)
    # the bootstrap is linear in the series: scaling it by 100 scales the interval by 100
    assert wide.high - wide.low == pytest.approx(100 * (narrow.high - narrow.low), rel=1e-9)


def test_coverage_of_iid_increments_is_near_the_nominal_level():
    """The 95 % interval of the sum of 48 iid N(0.1, 1) increments covers the true total 4.8
    in roughly 95 % of independent samples (percentile block bootstrap: a little under)."""
    rng = np.random.default_rng(11)
    trials = 300
    covered = 0
    for i in range(trials):
        x = rng.normal(0.1, 1.0, size=48)
        ci = block_bootstrap_sum_ci(x, resamples=400, seed=i)
        covered += ci.low <= 4.8 <= ci.high
    assert 0.85 <= covered / trials <= 0.99


def test_bad_series_are_refused():
    with pytest.raises(ValueError, match="finite"):
        block_bootstrap_sum_ci([1.0, float("nan")])
    with pytest.raises(ValueError, match="level"):
        block_bootstrap_sum_ci([1.0, 2.0], level=1.5)
    assert block_bootstrap_sum_ci([]) == (0.0, 0.0, 0.0, 0, 1)


def test_block_length_and_automatic_bucket():
    assert [block_length(n) for n in (0, 1, 2, 8, 27, 30, 64)] == [1, 1, 1, 2, 3, 3, 4]
    assert auto_bucket_s(30 * 3600) == 3600  # 30 hourly buckets
    assert auto_bucket_s(12 * 3600) == 3600  # exactly 12
    assert auto_bucket_s(18 * 60) == 60  # 18 one-minute buckets (120 s would give only 9)
    assert auto_bucket_s(6 * 3600) == 1800  # 12 half-hours


def test_bucket_edges_merge_a_short_tail():
    assert bucket_edges_ns(0, 100, 30).tolist() == [0, 30, 60, 100]  # tail 10 < 15 merged into the last bucket
    assert bucket_edges_ns(0, 100, 40).tolist() == [0, 40, 80, 100]  # tail 20 >= 20 kept
    with pytest.raises(ValueError):
        bucket_edges_ns(5, 5, 1)


def test_increments_sum_to_net_pnl_and_use_the_last_sample_before_each_edge():
    ts = np.array([10, 20, 30, 40, 55]) * S
    eq = np.array([100.0, 101.0, 99.0, 102.0, 104.0])
    edges = np.array([0, 25, 50, 60]) * S
    inc = pnl_increments(ts, eq, edges, starting_equity_usd=100.0, net_pnl_usd=3.5)
    # levels: start 100; at 25 s the sample of 20 s (101); at 50 s the sample of 40 s (102); end 100 + 3.5
    assert inc.tolist() == pytest.approx([1.0, 1.0, 1.5])
    assert inc.sum() == pytest.approx(3.5)
    # an edge before the first sample takes the starting equity; NaN samples are skipped
    inc = pnl_increments(np.array([30, 40]) * S, np.array([np.nan, 98.0]), np.array([0, 20, 35, 60]) * S, 100.0, -1.0)
    assert inc.tolist() == pytest.approx([0.0, 0.0, -1.0])
