"""Signals: Kalman + QQE bias, book imbalance, microprice and the fair value; hand-computed values and causality."""

from __future__ import annotations

import math

import numpy as np
import pytest

from botmm_nautilus.core.params import SignalsParams
from botmm_nautilus.core.signals import QQE
from botmm_nautilus.core.signals import BookImbalance
from botmm_nautilus.core.signals import DirectionalBias
from botmm_nautilus.core.signals import Kalman1D
from botmm_nautilus.core.signals import Signals
from botmm_nautilus.core.signals import microprice

S = 1_000_000_000  # ns per second

# ----------------------------------------------------------------------------------------- Kalman + QQE


def test_kalman_hand_computed():
    # BotMM's constants: Q = 0.005, R = 0.1, P0 = 1
    kf = Kalman1D(0.005, 0.1, 1.0)
    assert kf.update(100.0) == 100.0
    # P- = 1.005, K = 1.005/1.105 = 0.9095022624434389 ; x = 100 + K*(101-100) ; P = (1-K)*1.005
    x = kf.update(101.0)
    assert kf.gain == pytest.approx(1.005 / 1.105, rel=1e-14)
    assert x == pytest.approx(100.0 + 1.005 / 1.105, rel=1e-14)
    assert kf.P == pytest.approx((1 - 1.005 / 1.105) * 1.005, rel=1e-14)
    for _ in range(200):
        kf.update(101.0)
    p_pred = kf.P + kf.Q
    assert kf.gain == pytest.approx(p_pred / (p_pred + kf.R), rel=1e-9)
    assert 0.19 < kf.gain < 0.21  # "in practice an EMA with gain of about 0.2"


def test_qqe_rsi_simple_average_by_hand():
    # RSI(3) from simple averages: closes 10, 11, 10.5, 12 -> changes +1, -0.5, +1.5
    # gains = 2.5/3, losses = 0.5/3 -> RS = 5 -> RSI = 100 - 100/6 = 83.3333...
    q = QQE(rsi_period=3, smoothing=5, factor=3.5)
    for c in (10, 11, 10.5):
        assert q.update(c) is None
    assert q.update(12) is None  # first RSI: smoothed value seeded, no RSI-ATR yet
    assert q.value == pytest.approx(100 - 100 / 6, rel=1e-14)
    # next close 11: changes -0.5, +1.5, -1 -> gains 1.5/3, losses 1.5/3 -> RSI 50
    # s = 83.333 + (2/6)*(50 - 83.333) = 72.2222 ; atr = |72.2222 - 83.3333| = 11.1111
    s, trend = q.update(11)
    assert s == pytest.approx(83.33333333333333 + (50 - 83.33333333333333) / 3, rel=1e-13)
    assert q.rsi_atr == pytest.approx(100 / 9, rel=1e-12)
    assert q.long_band == pytest.approx(s - 3.5 * 100 / 9) and q.short_band == pytest.approx(s + 3.5 * 100 / 9)
    assert trend == 0  # first bands: no vote yet


def _trending_closes(n=400, seed=3):
    rng = np.random.default_rng(seed)
    # alternating up and down trends so a working QQE must flip
    drift = np.where((np.arange(n) // 50) % 2 == 0, 0.004, -0.004)
    return (100.0 * np.exp(np.cumsum(drift + 0.002 * rng.standard_normal(n)))).tolist()


def test_qqe_trend_follows_alternating_trends():
    # BotMM's ratchet compared s with bands built from s itself, so its trend vote never fired; with the
    # previous bar's bands the trend flips with the legs of the series (eight legs of 50 bars)
    qqe = QQE(rsi_period=14, smoothing=5, factor=3.5)
    trends = [r[1] for r in (qqe.update(c) for c in _trending_closes()) if r]
    assert {1, -1} <= set(trends)
    flips = sum(1 for a, b in zip(trends, trends[1:]) if a != b)
    assert 2 <= flips < 60


def test_directional_bias_scale_free_warmup_and_sign():
    closes = _trending_closes()
    a, b = DirectionalBias(SignalsParams()), DirectionalBias(SignalsParams())
    assert a.warmup_bars == 24  # max(14 + 5 + 5, 5 + 2)
    ra, rb = [], []
    for i, c in enumerate(closes):
        ts = (i + 1) * 3600 * S
        ra.append(a.on_bar_close(ts, c))
        rb.append(b.on_bar_close(ts, c * 1000.0))  # same series at 1000x the price
    assert ra == rb  # scale-free
    assert all(x == 0.0 for x in ra[: a.warmup_bars - 1])
    assert all(x in (-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0) for x in ra)  # four votes of 0.25
    # inside the strong up leg (bars 100..149) the bias is mostly positive, in the down legs negative
    assert np.mean(ra[110:150]) > 0.4 and np.mean(ra[160:200]) < -0.4
    assert max(ra) == 1.0 and min(ra) == -1.0


def test_directional_bias_updates_only_on_closed_bars():
    # mids every minute, hourly bars: the bias can change only at bar boundaries, and a bar's close is
    # the last mid strictly before its end (a mid stamped exactly at the boundary opens the next bar)
    closes = _trending_closes(200)
    db = DirectionalBias(SignalsParams(bias_bar_interval_s=3600))
    ref = DirectionalBias(SignalsParams(bias_bar_interval_s=3600))
    seen = []
    changes = 0
    for h, c in enumerate(closes):
        for m in range(60):
            ts = (h * 3600 + m * 60) * S
            mid = c * (1 + 0.0001 * math.sin(m))  # intra-bar wiggle; the minute-59 mid is the close
            before = db.bias
            db.on_mid(ts, mid)
            if m != 0:
                assert db.bias == before  # nothing changes inside a bar
            elif db.bias != before:
                changes += 1
            if m == 59:
                seen.append(mid)
    for h, c in enumerate(seen[:-1]):
        ref.on_bar_close((h + 1) * 3600 * S, c)
    assert db.bias == ref.bias and db.bar_count == ref.bar_count == len(seen) - 1
    assert changes > 5


# ------------------------------------------------------------------------------ book imbalance / microprice


def test_book_imbalance_by_hand_raw_and_smoothed():
    raw = BookImbalance(levels=5, half_life_s=0.0)
    # bids 3+2+1, asks 1+1 over the top 5 -> (6-2)/8 = 0.5 ; levels beyond 5 are ignored
    assert raw.update(0, [3, 2, 1], [1, 1]) == 0.5
    assert raw.update(1, [1, 1, 1, 1, 1, 100], [5]) == 0.0
    assert raw.update(2, [], []) == 0.0  # empty book
    ema = BookImbalance(levels=5, half_life_s=1.0)
    assert ema.update(10 * S, [3, 2, 1], [1, 1]) == 0.5  # seeded by the first reading
    # 1 s later (one half-life), raw -0.5: v = 0.5 + (1 - 1/2)*(-0.5 - 0.5) = 0.0
    assert ema.update(11 * S, [1], [3]) == pytest.approx(0.0, abs=1e-15)
    assert ema.update(11 * S, [1], [0]) == pytest.approx(0.0, abs=1e-15)  # same time: no move
    assert ema.raw == 1.0
    # 2 s later (two half-lives), raw 1.0: v = 0 + (1 - 1/4)*(1 - 0) = 0.75
    assert ema.update(13 * S, [1], [0]) == pytest.approx(0.75, rel=1e-14)


def test_microprice_by_hand():
    # (bid*ask_sz + ask*bid_sz)/(bid_sz + ask_sz) = (100*1 + 101*3)/4 = 100.75
    assert microprice(100.0, 101.0, 3.0, 1.0) == 100.75
    assert microprice(100.0, 101.0, 0.0, 0.0) == 100.5


# --------------------------------------------------------------------------------------- the fair value


def test_signals_off_give_the_mid_and_need_no_book():
    sig = Signals(SignalsParams())
    assert not sig.active and sig.book_levels == 0 and sig.bias_model is None and sig.imbalance_model is None
    sig.on_levels(0, 99.0, 101.0, [5.0], [1.0])
    sig.on_mid(0, 100.0)
    assert sig.fair_value(100.0) == 100.0 and sig.imbalance == 0.0 and sig.bias == 0.0


def test_fair_value_with_each_signal():
    # imbalance: (3 - 1)/(3 + 1) = 0.5 x 2 bps = +1 bp of 100 -> 100.01
    sig = Signals(SignalsParams(use_imbalance=True, imbalance_weight_bps=2.0, imbalance_depth_levels=2))
    assert sig.book_levels == 2
    sig.on_levels(0, 99.5, 100.5, [2.0, 1.0, 50.0], [0.5, 0.5, 50.0])
    assert sig.imbalance == 0.5
    assert sig.fair_value(100.0) == pytest.approx(100.01, rel=1e-15)
    # microprice (99.5*1 + 100.5*3)/4 = 100.25; weight 0.5 -> base 100.125
    sig = Signals(SignalsParams(use_microprice=True, microprice_weight=0.5))
    assert sig.book_levels == 1
    assert sig.fair_value(100.0) == 100.0  # no level sizes yet: the mid
    sig.on_levels(0, 99.5, 100.5, [3.0], [1.0])
    assert sig.fair_value(100.0) == 100.125
    sig.on_levels(1, 99.5, 100.5, [], [])  # one side empty: back to the mid
    assert sig.fair_value(100.0) == 100.0
    # both: the shift applies to the microprice base: 100.25*(1 + 0.5*2e-4) = 100.260025
    sig = Signals(SignalsParams(use_microprice=True, use_imbalance=True, imbalance_weight_bps=2.0, imbalance_depth_levels=1))
    assert sig.book_levels == 1
    sig.on_levels(0, 99.5, 100.5, [3.0], [1.0])
    assert sig.fair_value(100.0) == pytest.approx(100.25 * (1 + 0.5 * 2e-4), rel=1e-15)


def test_fair_value_with_the_bias():
    sig = Signals(SignalsParams(use_bias=True, bias_weight_bps=3.0, bias_bar_interval_s=3600))
    assert sig.book_levels == 0 and sig.active
    for i, c in enumerate(_trending_closes(140)):
        sig.on_bar_close((i + 1) * 3600 * S, c)
    b = sig.bias
    assert b == sig.bias_model.bias and b > 0  # bars 100..139 are an up leg
    assert sig.fair_value(100.0) == pytest.approx(100.0 * (1 + b * 3e-4), rel=1e-15)
