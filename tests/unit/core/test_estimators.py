"""Online calibration: hand-computed values, recovery of known parameters, strict causality."""

from __future__ import annotations

import math

import numpy as np
import pytest

from botmm_nautilus.core.estimators import ArrivalIntensityEstimator
from botmm_nautilus.core.estimators import EwmaVolatility
from botmm_nautilus.core.estimators import fit_exponential_intensity

S = 1_000_000_000  # ns per second

# ------------------------------------------------------------------------------------------ volatility


def test_ewma_vol_hand_computed_irregular_sampling():
    v = EwmaVolatility(half_life_s=1.0, min_samples=1, warmup_s=0.0)
    v.update(0, 100.0)
    assert math.isnan(v.sigma_price)
    # t=1 s, mid 101: N = ln(1.01)^2, D = 1 s -> var rate = ln(1.01)^2 per s
    v.update(1 * S, 101.0)
    r1 = math.log(1.01)
    assert v.variance_rate == pytest.approx(r1 * r1, rel=1e-12)
    # t=3 s, mid 100: dt = 2 s, decay = exp(-ln2*2/1) = 0.25
    # N = 0.25*r1^2 + ln(100/101)^2 = 1.25*r1^2 ; D = 0.25*1 + 2 = 2.25
    v.update(3 * S, 100.0)
    assert v.variance_rate == pytest.approx(1.25 * r1 * r1 / 2.25, rel=1e-12)
    assert v.sigma_frac == pytest.approx(math.sqrt(1.25 / 2.25) * r1, rel=1e-12)
    assert v.sigma_price == pytest.approx(100.0 * math.sqrt(1.25 / 2.25) * r1, rel=1e-12)
    # ignored: stale timestamp, non-positive mid
    v.update(2 * S, 50.0)
    v.update(4 * S, 0.0)
    assert v.variance_rate == pytest.approx(1.25 * r1 * r1 / 2.25, rel=1e-12)


def _random_walk(sigma_frac, seconds, mean_dt, seed, mid0=3000.0):
    rng = np.random.default_rng(seed)
    dts = rng.exponential(mean_dt, size=int(seconds / mean_dt * 1.2))
    ts = np.cumsum(dts)
    ts = ts[ts < seconds]
    dts = np.diff(np.concatenate([[0.0], ts]))
    logp = math.log(mid0) + np.cumsum(sigma_frac * np.sqrt(dts) * rng.standard_normal(ts.size))
    return (ts * S).astype(np.int64), np.exp(logp)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ewma_vol_recovers_known_sigma(seed):
    # log-price random walk with sigma = 1 bp per sqrt(s), irregular (exponential) spacing, mean 0.25 s
    sigma = 1e-4
    ts, mids = _random_walk(sigma, 4 * 3600, 0.25, seed)
    v = EwmaVolatility(half_life_s=900.0)
    for t, m in zip(ts.tolist(), mids.tolist()):
        v.update(t, m)
    assert v.ready
    assert v.sigma_frac == pytest.approx(sigma, rel=0.05)
    assert v.sigma_price == pytest.approx(sigma * mids[-1], rel=0.05)
    # subsampled at >= 1 s (previous tick) the same sigma is recovered (longer half-life: fewer samples)
    v1 = EwmaVolatility(half_life_s=3600.0, sample_interval_s=1.0)
    for t, m in zip(ts.tolist(), mids.tolist()):
        v1.update(t, m)
    assert v1.sigma_frac == pytest.approx(sigma, rel=0.05)


def test_ewma_vol_warmup_flag():
    v = EwmaVolatility(half_life_s=10.0)  # warm-up = one half-life and 10 returns
    for i in range(10):
        v.update(i * S, 100.0 + i % 2)
    assert not v.ready  # 9 s elapsed, 9 returns
    v.update(10 * S, 100.0)
    assert v.ready


def test_ewma_vol_strictly_causal():
    ts, mids = _random_walk(1e-4, 600, 0.5, 7)
    cut = len(ts) // 2
    mids2 = mids.copy()
    mids2[cut:] *= np.exp(np.random.default_rng(99).normal(0, 1e-3, len(ts) - cut))
    out1, out2 = [], []
    va, vb = EwmaVolatility(60.0), EwmaVolatility(60.0)
    for i, t in enumerate(ts.tolist()):
        out1.append(va.update(t, float(mids[i])))
        out2.append(vb.update(t, float(mids2[i])))
    np.testing.assert_array_equal(out1[:cut], out2[:cut])  # NaN-aware: the first output is NaN in both
    assert out1[cut:] != out2[cut:]


# ----------------------------------------------------------------------------------- arrival intensity


def test_fit_exponential_exact_points():
    # lambda = 2 e^{-0.5 d} exactly on d = 0..5 -> OLS of ln lambda gives A = 2, k = 0.5, R^2 = 1
    d = np.arange(6.0)
    A, k, r2 = fit_exponential_intensity(d, 2.0 * np.exp(-0.5 * d))
    assert A == pytest.approx(2.0, rel=1e-12) and k == pytest.approx(0.5, rel=1e-12) and r2 == pytest.approx(1.0)


def test_intensity_counts_by_hand():
    # step 1 s, window 10 s, grid 0, 1, 2, 3 (price units), raw counts (hftbacktest: count / window seconds)
    est = ArrivalIntensityEstimator(window_s=10, refit_every_s=1, step_s=1.0, depth_unit="price", depth_step=1.0, max_depth=3.0, poisson_correction=False, min_window_frac=0.0, min_points=2, min_count=1)
    est.on_mid(0, 100.0)
    # step 0 (ref 100): buyer at 102.5 (ask depth 2.5) and 100.5; seller at 99.2 (bid depth 0.8)
    est.on_trade(int(0.2 * S), 102.5, True, 100.0)
    est.on_trade(int(0.4 * S), 100.5, True, 100.0)
    est.on_trade(int(0.5 * S), 99.2, False, 100.0)
    est.on_mid(int(0.9 * S), 101.0)  # mid moves inside step 0: step 1 is measured from 101
    # step 1 (ref 101): buyer at 102.2 (ask depth 1.2); seller at 101.5 is *above* the ref: depth -0.5 (never counted)
    est.on_trade(int(1.3 * S), 102.2, True, 101.0)
    est.on_trade(int(1.6 * S), 101.5, False, 101.0)
    # steps 2..9 empty; now = 10 s -> 10 completed steps
    est.on_mid(10 * S, 101.0)
    fits = est.refit()
    grid, lam_ask = est.grid, fits["ask"].lambdas
    # ask depths per step: [2.5, 1.2]; counts of depth > 0,1,2,3: [2, 2, 1, 0] / 10 s
    assert grid.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert lam_ask.tolist() == pytest.approx([0.2, 0.2, 0.1, 0.0])
    # the fit uses depths 0..2 (count >= min_count 1): OLS of ln(0.2), ln(0.2), ln(0.1) on 0, 1, 2 has
    # slope (ln 0.1 - ln 0.2)/2, so k = ln(2)/2 per price unit
    assert fits["ask"].n_points == 3 and fits["ask"].k == pytest.approx(math.log(2.0) / 2, rel=1e-12)
    lam_bid = fits["bid"].lambdas
    assert lam_bid.tolist() == pytest.approx([0.1, 0.0, 0.0, 0.0])  # only the 0.8 at step 0
    lam_pool = fits["pooled"].lambdas
    assert lam_pool.tolist() == pytest.approx([0.15, 0.1, 0.05, 0.0])
    # after the window rolls past step 0 only the step-1 arrival remains: window [1, 11) at t = 11 s
    est.on_mid(11 * S, 101.0)
    lam_ask = est.refit()["ask"].lambdas
    assert lam_ask.tolist() == pytest.approx([0.1, 0.1, 0.0, 0.0])


def test_intensity_poisson_correction_by_hand():
    # p = 1 step of 2 hit -> lambda = -ln(1 - 1/2)/1 s = ln 2
    est = ArrivalIntensityEstimator(window_s=2, step_s=1.0, depth_unit="price", depth_step=1.0, max_depth=1.0, min_window_frac=0.0)
    est.on_mid(0, 100.0)
    est.on_trade(int(0.5 * S), 100.5, True, 100.0)
    est.on_mid(2 * S, 100.0)
    lam = est.refit()["ask"].lambdas
    assert lam[0] == pytest.approx(math.log(2.0), rel=1e-12)


def _simulate_tape(est, A=2.0, k=0.5, seconds=700.0, step=0.1, mid=1000.0, seed=1, change_after_s=None):
    """Both sides: Poisson(A*step) market orders per step, depth ~ Exp(k) from the step's mid, so the rate
    of arrivals beyond depth d is A e^{-k d} (tick = 1 price unit). Returns the end time in ns."""
    rng = np.random.default_rng(seed)
    alt = np.random.default_rng(seed + 1000)
    n = int(round(seconds / step))
    for i in range(n):
        ts0 = int(round(i * step * S))
        use = alt if (change_after_s is not None and i * step >= change_after_s) else rng
        est.on_mid(ts0, mid)
        events = []
        for buyer in (True, False):
            for _ in range(use.poisson(A * step)):
                d = use.exponential(1.0 / k)
                off = use.uniform(0.001, 0.999) * step
                events.append((ts0 + int(off * S), mid + d if buyer else mid - d, buyer))
        events.sort()
        for ts, p, b in events:
            est.on_trade(ts, p, b, mid)
    return int(round(n * step * S))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_intensity_recovers_known_A_k(seed):
    # lambda(d) = 2.0/s * exp(-0.5 d), d in ticks; window 600 s of 100 ms steps, fit on d <= 6 ticks
    est = ArrivalIntensityEstimator(window_s=600, refit_every_s=5, step_s=0.1, depth_unit="price", depth_step=0.5, max_depth=20, fit_max_depth=6)
    end = _simulate_tape(est, seed=seed)
    fits = est.refit(end)
    pooled = fits["pooled"]
    assert pooled.valid and pooled.n_steps == 6000
    assert pooled.A == pytest.approx(2.0, rel=0.10)
    assert pooled.k == pytest.approx(0.5, rel=0.10)
    for side in ("bid", "ask"):
        assert fits[side].valid
        assert fits[side].A == pytest.approx(2.0, rel=0.15)
        assert fits[side].k == pytest.approx(0.5, rel=0.15)


def test_intensity_bps_units_convert_k_to_price():
    # same tape with depths measured in bps of the mid 1000 (1 tick = 10 bps): k_native per bp = 0.05, k per price 0.5
    est = ArrivalIntensityEstimator(window_s=600, step_s=0.1, depth_unit="bps", depth_step=5.0, max_depth=200, fit_max_depth=60)
    end = _simulate_tape(est, seed=4)
    f = est.fit("pooled", end)
    assert f.valid
    assert f.k_native == pytest.approx(0.05, rel=0.10)
    assert f.k == pytest.approx(f.k_native / (1000.0 * 1e-4), rel=1e-12)
    assert f.A == pytest.approx(2.0, rel=0.10)


def test_intensity_hyperliquid_side_convention():
    # a buyer-initiated print (side "B") above the mid lifts asks: it feeds the ask curve only
    est = ArrivalIntensityEstimator(window_s=10, step_s=1.0, depth_unit="price", depth_step=1.0, max_depth=2.0, min_window_frac=0.0)
    est.on_mid(0, 100.0)
    est.on_trade(int(0.5 * S), 101.5, True, 100.0)
    est.on_mid(5 * S, 100.0)
    fits = est.refit()
    assert fits["ask"].lambdas[0] > 0 and fits["bid"].lambdas[0] == 0


def test_intensity_validity_flags():
    est = ArrivalIntensityEstimator(window_s=600, step_s=0.1, depth_unit="price", depth_step=0.5, max_depth=20, fit_max_depth=6)
    assert est.fit() is None  # no event yet
    end = _simulate_tape(est, seconds=100.0, seed=5)  # only 1/6 of the window observed
    assert not est.fit("pooled", end).valid
    quiet = ArrivalIntensityEstimator(window_s=60, step_s=0.1, depth_unit="price", depth_step=0.5, max_depth=20)
    for i in range(700):
        quiet.on_mid(i * S // 10, 1000.0)  # no trades at all
    f = quiet.fit()
    assert not f.valid and f.n_points == 0


def test_intensity_strictly_causal():
    # two tapes identical for the first 400 s, different afterwards: every fit up to 400 s is identical,
    # including the one at 400 s itself, taken at the start of the first step whose trades differ
    # (the step containing the fit time is never used).
    kw = dict(window_s=300, refit_every_s=5, step_s=0.1, depth_unit="price", depth_step=0.5, max_depth=20, fit_max_depth=6)

    class Recorder(ArrivalIntensityEstimator):
        def __init__(self):
            super().__init__(**kw)
            self.log = []

        def on_mid(self, ts_ns, mid):
            super().on_mid(ts_ns, mid)
            if ts_ns % (5 * S) == 0:
                f = self.fit("pooled")
                self.log.append((ts_ns, f.A, f.k, f.n_points))

    a, b = Recorder(), Recorder()
    _simulate_tape(a, seconds=600, seed=11)
    _simulate_tape(b, seconds=600, seed=11, change_after_s=400.0)
    before_a = [x for x in a.log if x[0] <= 400 * S]
    before_b = [x for x in b.log if x[0] <= 400 * S]
    assert before_a == before_b and len(before_a) == 81
    assert [x for x in a.log if x[0] > 400 * S] != [x for x in b.log if x[0] > 400 * S]
