"""VolRegime (core/regime.py): grid sampling, fast/slow EWMA variances, ratio, regime with hysteresis.

Hand-computed case (sample interval 1 s, fast half-life 1 s -> a_f = 1 - 2^-1 = 0.5, slow
half-life 2 s -> a_s = 1 - 2^-0.5 = 0.29289321881):

  t = 0.5 s mid 100; t = 1.5 s mid 101 -> point 1 s complete: first sample 100 (no return yet)
  t = 2.5 s mid 99  -> point 2 s sample 101: r1 = ln(101/100); fast = slow = r1²; ratio 1
  t = 3.5 s mid 99  -> point 3 s sample 99:  r2 = ln(99/101)
                       fast = r1² + 0.5·(r2² − r1²), slow = r1² + a_s·(r2² − r1²)
  t = 5.5 s mid 100 -> point 4 s sample 99: r3 = 0 -> fast·0.5, slow·(1 − a_s);
                       point 5 s saw no mid: one zero return more -> fast·0.5, slow·(1 − a_s)
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from botmm_nautilus.core.regime import VolRegime

S = 1_000_000_000
T0 = 1_757_000_000 * S


def regime(**kw) -> VolRegime:
    args = dict(sample_interval_s=1.0, fast_half_life_s=1.0, slow_half_life_s=2.0, min_samples=2,
                high_ratio=1.5, low_ratio=0.7, hysteresis=0.1)
    args.update(kw)
    return VolRegime(**args)


def test_hand_computed_variances_and_ratio():
    v = regime(min_samples=4)
    a_s = 1 - 2 ** -0.5
    v.update(T0 + S // 2, 100.0)
    v.update(T0 + 3 * S // 2, 101.0)
    assert v.samples == 0 and v.ratio == 1.0 and v.regime is None
    v.update(T0 + 5 * S // 2, 99.0)
    r1 = math.log(101 / 100)
    assert v.samples == 1
    assert v.fast_var == pytest.approx(r1**2) and v.slow_var == pytest.approx(r1**2) and v.ratio == pytest.approx(1.0)
    v.update(T0 + 7 * S // 2, 99.0)
    r2 = math.log(99 / 101)
    fast = r1**2 + 0.5 * (r2**2 - r1**2)  # 2.495180e-4
    slow = r1**2 + a_s * (r2**2 - r1**2)  # 1.871742e-4
    assert v.fast_var == pytest.approx(fast, rel=1e-12)
    assert v.slow_var == pytest.approx(slow, rel=1e-12)
    assert v.ratio == pytest.approx(math.sqrt(fast / slow), rel=1e-12)  # 1.15459
    assert v.regime is None  # 2 samples < min_samples 4
    v.update(T0 + 11 * S // 2, 100.0)
    fast *= 0.25
    slow *= (1 - a_s) ** 2
    assert v.samples == 4
    assert v.fast_var == pytest.approx(fast, rel=1e-12)
    assert v.slow_var == pytest.approx(slow, rel=1e-12)
    assert v.ratio == pytest.approx(math.sqrt(fast / slow), rel=1e-12)
    # fast/slow = 6.23795e-5 / 9.35871e-5 = 0.66654 -> ratio 0.81642: inside (0.7, 1.5): normal
    assert v.ratio == pytest.approx(0.81642, abs=1e-5)
    assert v.regime == 0


def test_several_mids_in_one_interval_sample_the_last():
    v = regime()
    v.update(T0 + 100_000_000, 100.0)
    v.update(T0 + 200_000_000, 150.0)
    v.update(T0 + 900_000_000, 101.0)  # the last mid of interval 0 is 101
    v.update(T0 + S + 1, 101.0)
    v.update(T0 + 2 * S + 1, 101.0)  # interval 1's sample 101: r = ln(101/101) = 0
    assert v.samples == 1 and v.fast_var == 0.0


def test_a_mid_exactly_on_a_grid_point_completes_its_sample_at_once():
    """Candle mode: bar closes stamped on the grid; each is a sample when it arrives (no one-bar lag)."""
    B = 5_000_000 * 300 * S  # on the 300 s grid
    v = regime(sample_interval_s=300.0, fast_half_life_s=600.0, slow_half_life_s=1200.0)
    v.update(B + 300 * S, 100.0)  # first sample
    assert v.samples == 0
    v.update(B + 600 * S, 102.0)  # r = ln 1.02 at once
    assert v.samples == 1 and v.fast_var == pytest.approx(math.log(1.02) ** 2)
    v.update(B + 600 * S, 103.0)  # same stamp after the sample: belongs to the next point
    v.update(B + 900 * S, 101.0)  # next point's sample is 101: r = ln(101/102)
    assert v.samples == 2
    a_f = 1 - 2 ** -0.5  # 300 s step, 600 s half-life
    assert v.fast_var == pytest.approx(math.log(1.02) ** 2 + a_f * (math.log(101 / 102) ** 2 - math.log(1.02) ** 2))


def _drive(v: VolRegime, ts: int, mids) -> int:
    for m in mids:
        ts += S
        v.update(ts, m)
    return ts


def test_burst_enters_high_quiet_enters_low_and_hysteresis_holds():
    # slow half-life 100 s, fast 2 s: a long alternating ±1 bp series, then a burst of ±10 bp
    v = regime(fast_half_life_s=2.0, slow_half_life_s=100.0, min_samples=50, high_ratio=1.5, low_ratio=0.7, hysteresis=0.2)
    ts = _drive(v, T0, [100.0 * (1.0001 if i % 2 else 1.0) for i in range(400)])
    assert v.regime == 0 and v.ratio == pytest.approx(1.0, abs=0.05)
    ts = _drive(v, ts, [100.0 * (1.001 if i % 2 else 1.0) for i in range(6)])
    assert v.regime == 1 and v.ratio >= 1.5
    ts = _drive(v, ts, [100.0] * 60)  # no move: the fast variance decays much faster
    assert v.regime == -1 and v.ratio <= 0.7


def test_hysteresis_band():
    """From high, a ratio between high - h and high keeps the regime; below it is normal."""
    v = regime(min_samples=1, high_ratio=1.5, low_ratio=0.7, hysteresis=0.2)
    v.samples = 1
    for fast, expected in [(1.6**2, 1), (1.4**2, 1), (1.31**2, 1), (1.29**2, 0), (1.4**2, 0), (0.75**2, 0),
                           (0.7**2, -1), (0.85**2, -1), (0.91**2, 0), (1.5**2, 1), (0.5**2, -1)]:
        v.fast_var = fast
        v.slow_var = 1.0
        v._classify()
        assert v.regime == expected, (math.sqrt(fast), expected)


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError):
        regime(fast_half_life_s=10.0, slow_half_life_s=5.0)
    with pytest.raises(ValueError):
        regime(high_ratio=1.1, low_ratio=0.9, hysteresis=0.2)  # 0.9 < 1.1 but the bands overlap


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=0, max_value=5 * S), st.floats(min_value=1e-6, max_value=1e7, allow_nan=False)),
                min_size=1, max_size=200),
       st.floats(min_value=0.01, max_value=10.0))
def test_property_ratio_finite_and_regime_valid(events, interval):
    v = regime(sample_interval_s=interval, fast_half_life_s=interval * 2, slow_half_life_s=interval * 20, min_samples=3)
    ts = T0
    for dt, mid in events:
        ts += dt
        v.update(ts, mid)
        r = v.ratio
        assert math.isfinite(r) and r >= 0
        assert v.regime in (None, -1, 0, 1)
