"""Signals: Kalman (level, level + trend) + QQE bias, depth-weighted book imbalance, microprice, trade-flow
imbalance and the fair value; hand-computed values (the property and causality tests are in
test_signals_properties.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from botmm_nautilus.core.params import SignalsParams
from botmm_nautilus.core.signals import QQE
from botmm_nautilus.core.signals import BookImbalance
from botmm_nautilus.core.signals import DirectionalBias
from botmm_nautilus.core.signals import Kalman1D
from botmm_nautilus.core.signals import KalmanTrend
from botmm_nautilus.core.signals import Signals
from botmm_nautilus.core.signals import TradeFlowImbalance
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


def test_kalman_trend_hand_computed():
    # q_l = 0.1, q_s = 0.02, R = 1, P0 = diag(1, 0.5); first z = 0: level 0, slope 0
    kf = KalmanTrend(0.1, 0.02, 1.0, initial_level_var=1.0, initial_slope_var=0.5)
    assert kf.update(0.0) == 0.0 and kf.slope == 0.0
    # z = 1 after dt = 2. Predict: level 0 + 2*0 = 0;
    #   P00 = 1 + 2*2*0 + 4*0.5 + 0.1*2 + 0.02*8/3 = 3.2 + 0.16/3 = 244/75
    #   P01 = 0 + 2*0.5 + 0.02*4/2 = 1.04 = 78/75 ;  P11 = 0.5 + 0.02*2 = 0.54
    #   S = 244/75 + 1 = 319/75 -> K = (244/319, 78/319); innovation 1 -> level 244/319, slope 78/319
    #   P00 = (1 - K0)*244/75 = 244/319 ; P01 = (1 - K0)*78/75 = 78/319 ; P11 = 0.54 - (78/319)*1.04
    level = kf.update(1.0, dt=2.0)
    assert level == pytest.approx(244 / 319, rel=1e-14) and kf.slope == pytest.approx(78 / 319, rel=1e-14)
    assert kf.gain == pytest.approx((244 / 319, 78 / 319), rel=1e-14)
    assert (kf.p00, kf.p01) == pytest.approx((244 / 319, 78 / 319), rel=1e-14)
    assert kf.p11 == pytest.approx(0.54 - 78 / 319 * 1.04, rel=1e-14)
    # a second z = 1 at the same time (dt = 0): no prediction; S = 244/319 + 1 = 563/319,
    # K = (244/563, 78/563), innovation 1 - 244/319 = 75/319 -> level 244/319 + (244/563)(75/319)
    kf.update(1.0, dt=0.0)
    assert kf.level == pytest.approx(244 / 319 + 244 / 563 * 75 / 319, rel=1e-14)
    assert kf.slope == pytest.approx(78 / 319 + 78 / 563 * 75 / 319, rel=1e-14)


def test_kalman_trend_tracks_a_drift_without_lag_where_the_level_filter_lags():
    # a noiseless line z = 0.001*i: the trend filter converges to level = z and slope = 0.001 exactly;
    # the random-walk filter lags by drift*(1 - K)/K at its steady gain K (about 0.2: 0.004)
    trend = KalmanTrend(5e-8, 1e-8, 1e-6)
    level = Kalman1D(5e-8, 1e-6, 1e-5)
    for i in range(300):
        trend.update(0.001 * i)
        level.update(0.001 * i)
    assert trend.level == pytest.approx(0.299, abs=1e-12) and trend.slope == pytest.approx(0.001, rel=1e-9)
    k = level.gain
    assert 0.299 - level.x == pytest.approx(0.001 * (1 - k) / k, rel=1e-6) and 0.299 - level.x > 0.003


def test_qqe_wilder_rsi_double_smoothed_atr_and_ratchet_by_hand():
    # n = 3, smoothing 2 (EMA alpha 2/3), factor 2; the RSI's ATR uses span 2n - 1 = 5 (alpha 1/3), twice
    q = QQE(rsi_period=3, smoothing=2, factor=2.0)
    for c in (10, 11, 10.5):
        assert q.update(c) is None
    # closes 10, 11, 10.5, 12: changes +1, -0.5, +1.5: Wilder's seed = simple means: gain 2.5/3, loss 0.5/3
    # RS = 5 -> RSI = 100 - 100/6 = 250/3; s seeded with it, no ATR yet
    assert q.update(12) is None and q.rsi == pytest.approx(250 / 3, rel=1e-14)
    # close 11 (change -1): gain = 2.5/3 + (0 - 2.5/3)/3 = 5/9 ; loss = 0.5/3 + (1 - 0.5/3)/3 = 4/9
    # RSI = 100 - 100/(1 + 5/4) = 500/9 (the simple RSI would be 50)
    # s = 250/3 + (2/3)(500/9 - 250/3) = 1750/27 ; |Δs| = 500/27 seeds both ATR EMAs
    # dar = 2*500/27 = 1000/27: long = 750/27, short = 2750/27 (first bands, trend 0)
    s, trend = q.update(11)
    assert q.rsi == pytest.approx(500 / 9, rel=1e-14) and s == pytest.approx(1750 / 27, rel=1e-14) and trend == 0
    assert q.long_band == pytest.approx(750 / 27, rel=1e-13) and q.short_band == pytest.approx(2750 / 27, rel=1e-13)
    # close 11.5 (change +0.5): gain = 5/9 + (0.5 - 5/9)/3 = 29/54 ; loss = (4/9)(2/3) = 16/54
    # RSI = 100 - 100/(1 + 29/16) = 580/9 ; s = 1750/27 + (2/3)(580/9 - 1750/27) = 5230/81
    # |Δs| = 20/81 ; atr = 500/27 + (20/81 - 500/27)/3 = 3020/243 ; ma = 500/27 + (3020/243 - 500/27)/3 = 12020/729
    # dar = 24040/729 ; s stayed inside both bands (27.8 < 64.6 < 101.9): long ratchets up to
    # max(750/27, 5230/81 - 24040/729) ; short down to min(2750/27, 5230/81 + 24040/729)
    s, trend = q.update(11.5)
    assert s == pytest.approx(5230 / 81, rel=1e-14) and trend == 0
    assert q.rsi_atr == pytest.approx(3020 / 243, rel=1e-13) and q.rsi_atr_ma == pytest.approx(12020 / 729, rel=1e-13)
    assert q.long_band == pytest.approx(5230 / 81 - 24040 / 729, rel=1e-13)
    assert q.short_band == pytest.approx(5230 / 81 + 24040 / 729, rel=1e-13)
    # the trend turns only when s crosses the previous bar's band: down through long, then up through short
    seen = []
    for c in (9, 8, 7, 8, 9):
        long_prev, short_prev = q.long_band, q.short_band
        s, trend = q.update(c)
        seen.append(trend)
        if s < long_prev:
            assert trend == -1
        elif s > short_prev:
            assert trend == 1
        else:
            assert trend == (seen[-2] if len(seen) > 1 else 0)
    assert seen == [0, -1, -1, -1, 1]


def test_qqe_flat_prices_read_rsi_50():
    # no gains and no losses: RSI 50 (TradingView reads 100: a flat market would vote "overbought")
    for smoothing in ("wilder", "simple"):
        q = QQE(rsi_period=3, smoothing=2, factor=2.0, rsi_smoothing=smoothing)
        for _ in range(6):
            q.update(5.0)
        assert q.rsi == 50.0 and q.value == 50.0


def test_qqe_rsi_simple_average_by_hand():
    # RSI(3) from simple averages: closes 10, 11, 10.5, 12 -> changes +1, -0.5, +1.5
    # gains = 2.5/3, losses = 0.5/3 -> RS = 5 -> RSI = 100 - 100/6 = 83.3333...
    q = QQE(rsi_period=3, smoothing=5, factor=3.5, rsi_smoothing="simple")
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


@pytest.mark.parametrize("kalman", ["level", "trend"])
def test_directional_bias_scale_free_warmup_and_sign(kalman):
    closes = _trending_closes()
    p = SignalsParams(bias_kalman_model=kalman)
    a, b = DirectionalBias(p), DirectionalBias(p)
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


def test_directional_bias_votes_on_a_steady_drift_by_hand():
    # closes 100·e^{0.001·i}, 60 bars: a log drift of exactly 0.001 per bar
    #   slope vote: the level filter's level moves 0.001 a bar at steady state, over 4 bars 0.004 > 1e-4: +0.25;
    #     the trend filter's slope state is 0.001, x 4 = 0.004: +0.25
    #   price vs Kalman: the random-walk level lags by drift·(1 - K)/K = 0.001·0.8/0.2 ≈ 0.004 > ln 1.0001: +0.25;
    #     the trend filter's level is on the line (lag ~0): 0
    #   QQE: every change a gain: RSI 100, s = 100 > 55: +0.25; s never moves, so ATR 0, bands = s,
    #     and s never crosses above the previous short band (equal to it): trend 0
    # bias: level filter 0.75, trend filter 0.5
    expected = {"level": 0.75, "trend": 0.5}
    for kalman, bias in expected.items():
        db = DirectionalBias(SignalsParams(bias_kalman_model=kalman))
        for i in range(60):
            db.on_bar_close((i + 1) * 3600 * S, 100.0 * math.exp(0.001 * i))
        assert db.slope == pytest.approx(0.004, rel=1e-4)
        assert db.qqe.value == 100.0 and db.qqe.trend == 0
        assert db.bias == bias, kalman


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


def test_book_imbalance_depth_weighted_by_hand():
    # decay ln 2: weights 1, 1/2, 1/4 (levels beyond 3 ignored)
    imb = BookImbalance(levels=3, half_life_s=0.0, level_decay=math.log(2.0))
    # bids 2 + 4/2 + 8/4 = 6 ; asks 4 + 0 + 0 = 4 -> (6 - 4)/10 = 0.2 (unweighted: (14 - 4)/18)
    assert imb.update(0, [2.0, 4.0, 8.0, 100.0], [4.0, 0.0, 0.0, 0.0]) == pytest.approx(0.2, rel=1e-14)
    assert BookImbalance(levels=3, half_life_s=0.0).update(0, [2.0, 4.0, 8.0, 100.0], [4.0, 0.0, 0.0]) == pytest.approx(10 / 18)
    # fewer levels given than configured: the weights of the levels present
    assert imb.update(1, [1.0], [1.0, 2.0]) == pytest.approx((1 - 2.0) / (1 + 2.0), rel=1e-14)


def test_trade_flow_imbalance_by_hand():
    flow = TradeFlowImbalance(half_life_s=1.0)
    assert flow.value == 0.0
    assert flow.on_trade(0, 1.0, True) == 1.0  # one buy of 1
    # a sell of 1 one half-life later: signed 0.5 - 1 = -0.5 ; total 0.5 + 1 = 1.5 -> -1/3
    assert flow.on_trade(1 * S, 1.0, False) == pytest.approx(-1 / 3, rel=1e-14)
    # a buy of 3 two half-lives later: signed -0.5/4 + 3 = 2.875 ; total 1.5/4 + 3 = 3.375 -> 23/27
    assert flow.on_trade(3 * S, 3.0, True) == pytest.approx(23 / 27, rel=1e-14)
    # size 0 or NaN: ignored ; a trade stamped before the last one counts as simultaneous with it
    assert flow.on_trade(4 * S, 0.0, False) == pytest.approx(23 / 27, rel=1e-14)
    assert flow.on_trade(4 * S, math.nan, False) == pytest.approx(23 / 27, rel=1e-14)
    # sell of 1.125 at 2 s (< 3 s): signed 2.875 - 1.125 = 1.75 ; total 3.375 + 1.125 = 4.5 -> 7/18
    assert flow.on_trade(2 * S, 1.125, False) == pytest.approx(7 / 18, rel=1e-14)


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


def test_fair_value_with_the_flow():
    # buys 3, sells 1 at one instant: flow (3 - 1)/4 = 0.5 x 2 bps = 1 bp of 100 -> 100.01
    sig = Signals(SignalsParams(use_flow=True, flow_weight_bps=2.0))
    assert sig.active and sig.book_levels == 0
    sig.on_trade(0, 100.0, 3.0, True)
    sig.on_trade(0, 100.0, 1.0, False)
    assert sig.flow == 0.5 and sig.fair_value(100.0) == pytest.approx(100.01, rel=1e-15)
    off = Signals(SignalsParams(flow_weight_bps=2.0))
    off.on_trade(0, 100.0, 3.0, True)
    assert off.flow == 0.0 and off.flow_model is None


def test_fair_value_bias_strength_times_sigma_over_the_horizon():
    # bias b, weight 1 bp, strength 0.2, horizon 3600 s; σ = 0.005 price/√s at 100 = 0.5 bp/√s:
    # shift = b·(1 + 0.2·0.5·60) = 7·b bps ; without σ (or σ not finite) only the 1 bp weight
    sig = Signals(SignalsParams(use_bias=True, bias_weight_bps=1.0, bias_strength=0.2, bias_horizon_s=3600.0))
    for i, c in enumerate(_trending_closes(140)):
        sig.on_bar_close((i + 1) * 3600 * S, c)
    b = sig.bias
    assert b > 0
    assert sig.bias_shift_bps(0.5) == pytest.approx(7.0 * b, rel=1e-14)
    assert sig.fair_value(100.0, 0.005) == pytest.approx(100.0 * (1 + 7.0 * b * 1e-4), rel=1e-14)
    assert sig.fair_value(100.0) == pytest.approx(100.0 * (1 + b * 1e-4), rel=1e-15)
    assert sig.fair_value(100.0, math.nan) == pytest.approx(100.0 * (1 + b * 1e-4), rel=1e-15)


def test_fair_value_with_the_bias():
    sig = Signals(SignalsParams(use_bias=True, bias_weight_bps=3.0, bias_strength=0.0, bias_bar_interval_s=3600))
    assert sig.book_levels == 0 and sig.active
    for i, c in enumerate(_trending_closes(140)):
        sig.on_bar_close((i + 1) * 3600 * S, c)
    b = sig.bias
    assert b == sig.bias_model.bias and b > 0  # bars 100..139 are an up leg
    assert sig.fair_value(100.0) == pytest.approx(100.0 * (1 + b * 3e-4), rel=1e-15)
