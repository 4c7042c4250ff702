"""Property tests of the signals (hypothesis): finite and bounded on any price path, and causal.

Paths mix zero moves, small moves, huge jumps (x/÷ 1000 in one step), tiny and huge price levels,
repeated timestamps, empty or one-sided books and zero-size trades. Bounds: imbalances and the
trade flow in [-1, 1], the bias in [-1, 1] (in quarters), the QQE trend in {-1, 0, 1} and its
smoothed RSI in [0, 100], the microprice within [bid, ask], every Kalman state and variance finite,
the fair value finite and positive.
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from botmm_nautilus.core.params import SignalsParams
from botmm_nautilus.core.signals import DirectionalBias
from botmm_nautilus.core.signals import KalmanTrend
from botmm_nautilus.core.signals import Signals

S = 1_000_000_000
T0 = 1_757_000_000 * S
JUMP = math.log(1000.0)
QUARTERS = {-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0}
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def all_on(kalman: str) -> SignalsParams:
    # 1 s bars and short periods, so a path of a few dozen events closes many bars and warms the bias up
    return SignalsParams(
        use_bias=True, bias_weight_bps=3.0, bias_strength=0.5, bias_horizon_s=60.0, bias_bar_interval_s=1.0,
        bias_rsi_period=3, bias_qqe_smoothing=2, bias_slope_window=3, bias_kalman_model=kalman,
        use_imbalance=True, imbalance_weight_bps=2.0, imbalance_depth_levels=4, imbalance_half_life_s=0.5,
        imbalance_level_decay=0.7, use_microprice=True, microprice_weight=0.8,
        use_flow=True, flow_weight_bps=2.0, flow_half_life_s=1.0,
    )


log_move = st.one_of(
    st.just(0.0),
    st.floats(-1e-3, 1e-3, allow_nan=False),
    st.floats(-0.2, 0.2, allow_nan=False),
    st.sampled_from([JUMP, -JUMP, 1e-12, -1e-12]),
)
sizes = st.lists(st.one_of(st.just(0.0), st.floats(0.0, 1e9, allow_nan=False)), max_size=5)
event = st.one_of(
    st.tuples(st.just("mid"), st.integers(0, 3 * S), log_move),
    st.tuples(st.just("levels"), st.integers(0, 2 * S), sizes, sizes),
    st.tuples(
        st.just("trade"), st.integers(0, 2 * S), st.one_of(st.just(0.0), st.floats(0.0, 1e6, allow_nan=False)), st.booleans(),
    ),
)
path = st.tuples(
    st.floats(-18.0, 18.0),  # ln of the first price: 1.5e-8 .. 6.6e7
    st.lists(event, min_size=1, max_size=80),
    st.sampled_from(["level", "trend"]),
)


def replay(log_p0: float, events, sig: Signals):
    """Feed the events; yield (t, bid, ask, mid) after each: the mid now, the touch of the last level sizes."""
    t = T0
    lp = log_p0
    bid = ask = math.nan
    for e in events:
        t += e[1]
        mid = math.exp(lp)
        if e[0] == "mid":
            lp = min(60.0, max(-60.0, lp + e[2]))
            mid = math.exp(lp)
            sig.on_mid(t, mid)
        elif e[0] == "levels":
            bid, ask = mid * (1 - 1e-4), mid * (1 + 1e-4)
            sig.on_levels(t, bid, ask, e[2], e[3])
        else:
            sig.on_trade(t, mid, e[2], e[3])
        yield t, bid, ask, mid


def snapshot(sig: Signals, mid: float) -> tuple:
    return (sig.bias, sig.imbalance, sig.flow, sig.microprice, sig.fair_value(mid, mid * 1e-4))


def check_bounds(sig: Signals, bid: float, ask: float, mid: float) -> None:
    assert sig.bias in QUARTERS
    assert -1.0 <= sig.imbalance <= 1.0 and -1.0 <= sig.flow <= 1.0
    micro = sig.microprice
    assert micro != micro or bid <= micro <= ask  # NaN until level sizes arrive
    model = sig.bias_model
    qqe = model.qqe
    assert qqe.trend in (-1, 0, 1)
    assert qqe.value is None or 0.0 <= qqe.value <= 100.0
    for x in (qqe.long_band, qqe.short_band):
        assert x != x or math.isfinite(x)
    kf = model.kalman
    if isinstance(kf, KalmanTrend):
        if kf.level == kf.level:
            assert all(math.isfinite(x) for x in (kf.level, kf.slope, kf.p00, kf.p01, kf.p11))
            assert kf.p00 >= 0 and kf.p11 >= 0
    elif kf.x == kf.x:
        assert math.isfinite(kf.x) and math.isfinite(kf.P) and kf.P >= 0
    assert math.isfinite(model.slope)
    fv = sig.fair_value(mid, mid * 1e-4)  # σ = 1 bp/√s
    assert math.isfinite(fv) and fv > 0


@SETTINGS
@given(path)
def test_every_signal_stays_finite_and_bounded_on_any_path(p):
    log_p0, events, kalman = p
    sig = Signals(all_on(kalman))
    for _, bid, ask, mid in replay(log_p0, events, sig):
        check_bounds(sig, bid, ask, mid)


@SETTINGS
@given(
    st.floats(-18.0, 18.0),
    st.lists(log_move, min_size=1, max_size=120),
    st.sampled_from(["level", "trend"]),
    st.sampled_from(["wilder", "simple"]),
)
def test_the_bias_on_closed_bars_stays_in_its_quarters_on_any_close_path(log_p0, moves, kalman, rsi):
    p = SignalsParams(
        bias_rsi_period=3, bias_qqe_smoothing=2, bias_slope_window=3, bias_kalman_model=kalman, bias_rsi_smoothing=rsi,
    )
    db = DirectionalBias(p)
    lp = log_p0
    for i, m in enumerate(moves):
        lp = min(60.0, max(-60.0, lp + m))
        b = db.on_bar_close((i + 1) * S, math.exp(lp))
        assert b in QUARTERS and db.qqe.trend in (-1, 0, 1)
        assert db.qqe.value is None or 0.0 <= db.qqe.value <= 100.0
        assert math.isfinite(db.slope)


@SETTINGS
@given(path, st.lists(event, min_size=1, max_size=40), st.integers(0, 80))
def test_changing_the_future_never_changes_a_past_output(p, other_future, cut):
    """Outputs read after each event of a common prefix are the same whatever follows the prefix."""
    log_p0, events, kalman = p
    cut = min(cut, len(events))
    prefix = events[:cut]
    a_sig, b_sig = Signals(all_on(kalman)), Signals(all_on(kalman))
    a = [snapshot(a_sig, mid) for _, _, _, mid in replay(log_p0, events, a_sig)]
    b = [snapshot(b_sig, mid) for _, _, _, mid in replay(log_p0, prefix + other_future, b_sig)]
    assert _same(a[:cut], b[:cut])


def _same(x: list[tuple], y: list[tuple]) -> bool:
    return len(x) == len(y) and all(
        all((u == v) or (u != u and v != v) for u, v in zip(r, s)) for r, s in zip(x, y)
    )


@SETTINGS
@given(
    st.lists(st.tuples(st.integers(1, 3 * S), st.floats(-2e-3, 2e-3, allow_nan=False)), min_size=30, max_size=150),
    st.lists(st.tuples(st.integers(1, S // 2), st.floats(-0.5, 0.5, allow_nan=False)), min_size=1, max_size=5),
    st.sampled_from(["level", "trend"]),
)
def test_the_bias_reads_only_closed_bars(steps, open_bar_mids, kalman):
    """The bias after a stream of mids equals the bias of the bars that closed (each bar's close
    being the last mid strictly before its end), and mids inside the still-open bar, however wild,
    do not move it."""
    p = SignalsParams(
        bias_bar_interval_s=1.0, bias_rsi_period=3, bias_qqe_smoothing=2, bias_slope_window=3, bias_kalman_model=kalman,
    )
    live = DirectionalBias(p)
    t, price = T0, 100.0
    stream = []
    for dt, r in steps:
        t += dt
        price *= math.exp(r)
        stream.append((t, price))
    for ts, mid in stream:
        live.on_mid(ts, mid)
    # reference: bars of 1 s aligned to whole seconds, closed by a later mid at or after their end
    ref = DirectionalBias(p)
    bar_end = (stream[0][0] // S + 1) * S
    close = stream[0][1]
    for ts, mid in stream[1:]:
        while ts >= bar_end:
            ref.on_bar_close(bar_end, close)
            bar_end += S
        close = mid
    assert live.bias == ref.bias and live.bar_count == ref.bar_count
    # mids inside the open bar (strictly before its end): the bias and the bar count stay
    before = (live.bias, live.bar_count, live.qqe.value)
    last_t = stream[-1][0]
    for dt, r in open_bar_mids:
        ts = min(last_t + dt, bar_end - 1)
        last_t = ts
        live.on_mid(ts, price * math.exp(r))
        assert (live.bias, live.bar_count, live.qqe.value) == before


@SETTINGS
@given(
    st.floats(0.0, 1e-2), st.floats(0.0, 1e-2), st.floats(1e-9, 1.0),
    st.lists(st.tuples(st.floats(0.0, 1e3), st.floats(-60.0, 60.0)), min_size=1, max_size=60),
)
def test_kalman_trend_stays_finite_with_any_gaps_and_jumps(q_level, q_slope, r, steps):
    """Any Δt (0 to 1000 units, repeated times included) and any log-price jumps: the state stays
    finite, the variances non-negative and the covariance a covariance (|P01|² ≤ P00·P11)."""
    kf = KalmanTrend(q_level, q_slope, r)
    for dt, z in steps:
        kf.update(z, dt)
        assert math.isfinite(kf.level) and math.isfinite(kf.slope)
        assert kf.p00 >= 0 and kf.p11 >= -1e-12 * max(1.0, kf.p11)
        assert kf.p01 * kf.p01 <= kf.p00 * kf.p11 * (1 + 1e-6) + 1e-18
