"""Causal trading signals and the fair value they give: directional bias (Kalman + QQE), depth-weighted
book imbalance, microprice, trade-flow imbalance.

Pure Python, no Nautilus, no I/O. Every signal is fed events in time order and its value at time t
depends only on events stamped <= t (the bias only on *closed* bars). ``Signals`` holds the ones
``SignalsParams`` switches on and turns them into the fair value the A-S and GLFT quotes are centred
on; the decision core (core/decision.py) feeds it.
"""

from __future__ import annotations

import math
from collections import deque

from botmm_nautilus.core.params import SignalsParams

NS_PER_S = 1_000_000_000
BPS = 1e-4
_LN2 = math.log(2.0)

# The bias's Kalman filter runs on ln(price); its variances are in log-price units and keep the
# BotMM's ratios Q/R = 0.05 and P0/R = 10, so the gain path (about 0.91 on the second bar, then
# about 0.2 at steady state) is BotMM's whatever the price level.
KALMAN_PROCESS_VAR = 5e-8
KALMAN_MEASUREMENT_VAR = 1e-6
KALMAN_INITIAL_VAR = 1e-5
# Vote thresholds of the bias (BotMM's): the Kalman slope and the price's deviation from the
# filtered price, both as log changes.
SLOPE_THRESHOLD = 1e-4
LOG_PRICE_THRESHOLD = math.log1p(1e-4)


# ---------------------------------------------------------------------------- Kalman + QQE bias


class Kalman1D:
    """1-D random-walk Kalman filter: x̂⁻ = x̂, P⁻ = P + Q; K = P⁻/(P⁻ + R); x̂ = x̂⁻ + K(z − x̂⁻); P = (1 − K)P⁻.

    The first measurement initialises x̂ with variance ``initial_var``. The gain depends only on Q,
    R and P, never on z, so at steady state this is an EMA whose gain is set by Q/R.
    """

    def __init__(self, process_var: float, measurement_var: float, initial_var: float) -> None:
        if not (process_var >= 0 and measurement_var > 0 and initial_var >= 0):
            raise ValueError("need process_var >= 0, measurement_var > 0, initial_var >= 0")
        self.Q = float(process_var)
        self.R = float(measurement_var)
        self.P0 = float(initial_var)
        self.x = math.nan
        self.P = self.P0
        self.gain = math.nan

    def update(self, z: float) -> float:
        if self.x != self.x:  # NaN: first measurement
            self.x = z
            self.P = self.P0
            return z
        p_pred = self.P + self.Q
        k = p_pred / (p_pred + self.R)
        self.x = self.x + k * (z - self.x)
        self.P = (1.0 - k) * p_pred
        self.gain = k
        return self.x


class KalmanTrend:
    """Local linear trend Kalman filter: state x = [level, slope], measured z = level + noise.

    With Δt between measurements (any unit; the variances are per that unit):
      F = [[1, Δt], [0, 1]], H = [1, 0],
      Q = [[q_l·Δt + q_s·Δt³/3, q_s·Δt²/2], [q_s·Δt²/2, q_s·Δt]]   (a random-walk level plus an
          integrated random-walk slope: q_l = ``level_var``, q_s = ``slope_var``), R = ``measurement_var``;
      predict x⁻ = F x, P⁻ = F P Fᵀ + Q; S = P⁻₀₀ + R, K = [P⁻₀₀, P⁻₀₁]/S,
      update  x = x⁻ + K (z − x⁻₀), P = (I − K H) P⁻.
    The first measurement initialises level = z, slope = 0, P = diag(initial_level_var,
    initial_slope_var). A Δt ≤ 0 is a second measurement at the same time (no prediction step).
    ``level`` and ``slope`` (per unit of Δt) are the filtered state; ``gain`` = (K₀, K₁).
    """

    def __init__(
        self,
        level_var: float,
        slope_var: float,
        measurement_var: float,
        initial_level_var: float = 1e-5,
        initial_slope_var: float = 1e-6,
    ) -> None:
        if not (level_var >= 0 and slope_var >= 0 and measurement_var > 0 and initial_level_var >= 0 and initial_slope_var >= 0):
            raise ValueError("need level_var >= 0, slope_var >= 0, measurement_var > 0, initial variances >= 0")
        self.q_level = float(level_var)
        self.q_slope = float(slope_var)
        self.R = float(measurement_var)
        self.P0 = (float(initial_level_var), float(initial_slope_var))
        self.level = math.nan
        self.slope = 0.0
        self.p00 = self.p01 = self.p11 = math.nan
        self.gain = (math.nan, math.nan)

    def update(self, z: float, dt: float = 1.0) -> float:
        """Feed one measurement ``dt`` after the previous one; returns the filtered level."""
        if self.level != self.level:  # NaN: first measurement
            self.level = z
            self.slope = 0.0
            self.p00, self.p01, self.p11 = self.P0[0], 0.0, self.P0[1]
            return z
        p00, p01, p11 = self.p00, self.p01, self.p11
        level, slope = self.level, self.slope
        if dt > 0:
            qs = self.q_slope
            level = level + dt * slope
            p00 = p00 + 2.0 * dt * p01 + dt * dt * p11 + self.q_level * dt + qs * dt**3 / 3.0
            p01 = p01 + dt * p11 + qs * dt * dt / 2.0
            p11 = p11 + qs * dt
        s = p00 + self.R
        k0 = p00 / s
        k1 = p01 / s
        innov = z - level
        self.level = level + k0 * innov
        self.slope = slope + k1 * innov
        self.p00 = (1.0 - k0) * p00
        self.p11 = p11 - k1 * p01
        self.p01 = (1.0 - k0) * p01
        self.gain = (k0, k1)
        return self.level


class QQE:
    """The QQE (Quantitative Qualitative Estimation) of closed bars, checked against the standard definition.

    Standard QQE (the TradingView original), per closed bar, with period n, smoothing SF, factor f:
      RSI(n) with Wilder's averages: the first average gain/loss is the simple mean of the first n
        changes, then avg ← avg + (x − avg)/n (``rsi_smoothing="wilder"``; ``"simple"`` is BotMM's
        plain mean of the last n changes);
      s = EMA_{span=SF}(RSI)                      (EMAs are seeded with their first input);
      atr = EMA_{span=2n−1}(|s − s₋₁|);  dar = f·EMA_{span=2n−1}(atr)   (Wilder period 2n − 1, twice);
      new_long = s − dar; new_short = s + dar;
      long  = max(long₋₁, new_long)   if s₋₁ > long₋₁  and s > long₋₁  else new_long
      short = min(short₋₁, new_short) if s₋₁ < short₋₁ and s < short₋₁ else new_short
      trend = +1 when s crosses above short₋₁, −1 when s crosses below long₋₁, else unchanged.

    Crossing vs being beyond: "s > short₋₁" can hold on two bars running only if the first already
    set the trend to +1 (there is no bar in between), so testing the level is the cross.

    What was wrong before (BotMM, then this module): BotMM compared s with bands just updated from s
    itself (its trend vote never fired; fixed earlier); the RSI used simple means (now an option,
    Wilder's by default); the RSI's ATR was one EMA of span n instead of two of span 2n − 1, so
    the bands were about twice as jumpy. Deliberate differences from the original: ``trend`` is 0
    until the first crossing (TradingView starts at +1, a vote on no evidence); a bar with neither
    gains nor losses over the period reads RSI 50, not 100 (a flat market is not overbought).
    ``value`` is s; ``trend`` ∈ {−1, 0, +1}.
    """

    def __init__(self, rsi_period: int, smoothing: int, factor: float, rsi_smoothing: str = "wilder") -> None:
        if rsi_smoothing not in ("wilder", "simple"):
            raise ValueError(f"rsi_smoothing must be 'wilder' or 'simple', got {rsi_smoothing!r}")
        self.n = int(rsi_period)
        self.factor = float(factor)
        self.wilder = rsi_smoothing == "wilder"
        self._a_rsi = 2.0 / (smoothing + 1)
        self._a_atr = 2.0 / (2 * self.n - 1 + 1)  # span 2n − 1: alpha = 1/n
        self._closes: deque[float] = deque(maxlen=self.n + 1)
        self._avg_gain = math.nan
        self._avg_loss = math.nan
        self.rsi: float | None = None
        self.value: float | None = None  # smoothed RSI s
        self.rsi_atr: float | None = None  # EMA of |Δs|
        self.rsi_atr_ma: float | None = None  # EMA of rsi_atr
        self.dar: float | None = None  # factor · rsi_atr_ma
        self.long_band = math.nan
        self.short_band = math.nan
        self.trend = 0

    def _next_rsi(self, close: float) -> float | None:
        c = self._closes
        prev = c[-1] if c else None
        c.append(close)
        n = self.n
        if self.wilder:
            if self._avg_gain == self._avg_gain:  # running
                d = close - prev
                self._avg_gain += (max(d, 0.0) - self._avg_gain) / n
                self._avg_loss += (max(-d, 0.0) - self._avg_loss) / n
            elif len(c) == n + 1:  # seed: simple means of the first n changes
                diffs = [c[i] - c[i - 1] for i in range(1, n + 1)]
                self._avg_gain = sum(d for d in diffs if d > 0) / n
                self._avg_loss = -sum(d for d in diffs if d < 0) / n
            else:
                return None
            gains, losses = self._avg_gain, self._avg_loss
        else:
            if len(c) < n + 1:
                return None
            gains = losses = 0.0
            for i in range(1, n + 1):
                d = c[i] - c[i - 1]
                if d > 0:
                    gains += d
                else:
                    losses -= d
            gains /= n
            losses /= n
        if losses <= 0:
            return 50.0 if gains <= 0 else 100.0
        return 100.0 - 100.0 / (1.0 + gains / losses)

    def update(self, close: float) -> tuple[float, int] | None:
        """Feed a closed bar's close. Returns (s, trend) once bands exist, else None."""
        rsi = self._next_rsi(close)
        if rsi is None:
            return None
        self.rsi = rsi
        prev = self.value
        s = rsi if prev is None else prev + self._a_rsi * (rsi - prev)
        self.value = s
        if prev is None:
            return None
        a = self._a_atr
        ch = abs(s - prev)
        self.rsi_atr = ch if self.rsi_atr is None else self.rsi_atr + a * (ch - self.rsi_atr)
        ma = self.rsi_atr if self.rsi_atr_ma is None else self.rsi_atr_ma + a * (self.rsi_atr - self.rsi_atr_ma)
        self.rsi_atr_ma = ma
        dar = self.factor * ma
        self.dar = dar
        new_long = s - dar
        new_short = s + dar
        if self.long_band != self.long_band:  # first bands
            self.long_band, self.short_band = new_long, new_short
        else:
            long_prev, short_prev = self.long_band, self.short_band
            if s > short_prev:
                self.trend = 1
            elif s < long_prev:
                self.trend = -1
            self.long_band = max(long_prev, new_long) if (prev > long_prev and s > long_prev) else new_long
            self.short_band = min(short_prev, new_short) if (prev < short_prev and s < short_prev) else new_short
        return s, self.trend


class DirectionalBias:
    """BotMM's Kalman + QQE directional bias, scale-free and fixed: ``bias`` in [−1, 1].

    Updated once per **closed** bar (``on_bar_close`` with the bar's close time, or ``on_mid`` which
    builds bars of ``bias_bar_interval_s`` aligned to multiples of it and closes a bar only when the
    first mid at or after its end arrives; a bar's close is the last mid strictly before its end,
    gaps repeat the last close).

    bias = the sum of four ±0.25 votes, as in BotMM:
      Kalman slope  > +thr / < −thr      (log change over w − 1 bars, thr = 1e-4)
      price vs Kalman: ln p − level > ln(1.0001) / < ln(0.9999)
      QQE trend (see ``QQE``) ±1
      QQE level > 55 / < 45

    The Kalman filter (``bias_kalman_model``): 'level' is BotMM's random-walk filter on ln(price)
    (``KALMAN_*``), its slope the change of the filtered level over ``bias_slope_window`` − 1 bars;
    'trend' is ``KalmanTrend`` on ln(price) with Δt = 1 bar, its slope vote reading the filter's
    own slope state × (w − 1) (the same log change over the same span), its price vote the filter's
    level. The level filter lags a trend by construction (a random walk has none), so its price
    vote fires on any drift; the trend filter tracks a steady drift with no lag, so its price vote
    fires only on a move the trend does not explain, and its slope needs no window of history.

    Differences from BotMM (all deliberate): the Kalman runs on ln(price); the slope is a log
    change instead of (x̂ₜ − x̂ₜ₋₄)/x̂ₜ (equal to first order); the QQE follows the standard
    definition (``QQE``); the bias is the score itself (BotMM multiplied it by a strength: here
    ``Signals.fair_value`` turns it into a price shift with ``bias_strength`` and
    ``bias_weight_bps``). The warm-up is BotMM's max(rsi + smoothing + 5, slope_window + 2) bars;
    before it ``bias`` is 0.
    """

    def __init__(self, params: SignalsParams) -> None:
        p = params
        self.bar_ns = int(p.bias_bar_interval_s * NS_PER_S)
        self.trend_filter = p.bias_kalman_model == "trend"
        if self.trend_filter:
            self.kalman = KalmanTrend(p.bias_kalman_level_var, p.bias_kalman_slope_var, p.bias_kalman_measurement_var)
        else:
            self.kalman = Kalman1D(KALMAN_PROCESS_VAR, KALMAN_MEASUREMENT_VAR, KALMAN_INITIAL_VAR)
        self.qqe = QQE(p.bias_rsi_period, p.bias_qqe_smoothing, p.bias_qqe_factor, p.bias_rsi_smoothing)
        self.slope_window = p.bias_slope_window
        self.warmup_bars = max(p.bias_rsi_period + p.bias_qqe_smoothing + 5, self.slope_window + 2)
        self._hist: deque[float] = deque(maxlen=self.slope_window)
        self.bar_count = 0
        self.bias = 0.0
        self.slope = 0.0  # the slope vote's log change over slope_window - 1 bars
        self._last_close_ts = -1
        # mid -> bar aggregation
        self._bar_end = -1
        self._bar_close = math.nan

    def on_bar_close(self, ts_ns: int, close: float) -> float:
        """Feed one closed bar (``ts_ns`` = its close time); returns ``bias``."""
        if ts_ns <= self._last_close_ts or not (close > 0 and math.isfinite(close)):
            return self.bias
        self._last_close_ts = ts_ns
        self.bar_count += 1
        lp = math.log(close)
        x = self.kalman.update(lp)
        if self.trend_filter:
            slope = self.kalman.slope * (self.slope_window - 1) if self.bar_count >= self.slope_window + 1 else 0.0
        else:
            hist = self._hist
            hist.append(x)
            slope = (hist[-1] - hist[0]) if len(hist) >= self.slope_window and self.bar_count >= self.slope_window + 1 else 0.0
        self.slope = slope
        q = self.qqe.update(close)
        if self.bar_count < self.warmup_bars or q is None:
            return self.bias
        qv, qt = q
        score = 0.0
        if slope > SLOPE_THRESHOLD:
            score += 0.25
        elif slope < -SLOPE_THRESHOLD:
            score -= 0.25
        dev = lp - x
        if dev > LOG_PRICE_THRESHOLD:
            score += 0.25
        elif dev < -LOG_PRICE_THRESHOLD:
            score -= 0.25
        if qt == 1:
            score += 0.25
        elif qt == -1:
            score -= 0.25
        if qv > 55:
            score += 0.25
        elif qv < 45:
            score -= 0.25
        self.bias = score
        return score

    def on_mid(self, ts_ns: int, mid: float) -> None:
        """Aggregate mids into bars aligned to multiples of the bar interval; update on bar close."""
        if not (mid > 0 and math.isfinite(mid)):
            return
        if self._bar_end < 0:
            self._bar_end = (ts_ns // self.bar_ns + 1) * self.bar_ns
            self._bar_close = mid
            return
        while ts_ns >= self._bar_end:
            self.on_bar_close(self._bar_end, self._bar_close)
            self._bar_end += self.bar_ns
        self._bar_close = mid


# ------------------------------------------------------------------------------- book imbalance / microprice


class BookImbalance:
    """Depth-weighted imbalance (Σ wᵢ·bidᵢ − Σ wᵢ·askᵢ)/(Σ wᵢ·bidᵢ + Σ wᵢ·askᵢ) over the first ``levels`` levels.

    wᵢ = exp(−``level_decay``·i), i = 0 at the touch (``level_decay`` = 0: every level alike, the
    plain sum). ``update`` takes each side's level sizes best first; an empty book reads 0. With
    ``half_life_s`` > 0 the value is an EMA in time, seeded by the first reading:
    v ← v + (1 − e^{−ln2·Δt/h})·(raw − v); a reading at or before the previous one's time does not
    move it. With ``half_life_s`` = 0 the value is the raw reading.
    """

    def __init__(self, levels: int, half_life_s: float, level_decay: float = 0.0) -> None:
        if levels < 1:
            raise ValueError(f"levels must be >= 1, got {levels!r}")
        if not half_life_s >= 0:
            raise ValueError(f"half_life_s must be >= 0, got {half_life_s!r}")
        if not level_decay >= 0:
            raise ValueError(f"level_decay must be >= 0, got {level_decay!r}")
        self.levels = int(levels)
        self.weights = tuple(math.exp(-level_decay * i) for i in range(self.levels)) if level_decay > 0 else None
        self._decay_per_ns = _LN2 / (half_life_s * NS_PER_S) if half_life_s > 0 else 0.0
        self.raw = 0.0
        self.value = 0.0
        self._last_ts = None

    def update(self, ts_ns: int, bid_sizes, ask_sizes) -> float:
        n = self.levels
        w = self.weights
        if w is None:
            b = float(sum(bid_sizes[:n]))
            a = float(sum(ask_sizes[:n]))
        else:
            b = float(sum(wi * x for wi, x in zip(w, bid_sizes)))
            a = float(sum(wi * x for wi, x in zip(w, ask_sizes)))
        tot = b + a
        raw = (b - a) / tot if tot > 0 else 0.0
        self.raw = raw
        last = self._last_ts
        if last is None or not self._decay_per_ns:
            self.value = raw
            self._last_ts = ts_ns
        elif ts_ns > last:
            self.value += -math.expm1(-(ts_ns - last) * self._decay_per_ns) * (raw - self.value)
            self._last_ts = ts_ns
        return self.value


class TradeFlowImbalance:
    """Trade-flow imbalance: EMA in time of aggressor-signed traded size over EMA of traded size, in [−1, 1].

    Each trade (size q, +1 when the aggressor bought, −1 when it sold) at time t, Δt after the
    previous one: d = e^{−ln2·Δt/h}; signed ← d·signed + sign·q; total ← d·total + q;
    ``value`` = signed/total. Both sums decay alike, so the value is the share of buying minus the
    share of selling in the recent volume, each trade weighing 2^{−age/h}; it moves only on trades
    (with no trade it keeps its last reading). Trades stamped before the previous one are treated as
    simultaneous with it; a size ≤ 0 or not finite is ignored. Before the first trade it reads 0.
    """

    def __init__(self, half_life_s: float) -> None:
        if not half_life_s > 0:
            raise ValueError(f"half_life_s must be > 0, got {half_life_s!r}")
        self._decay_per_ns = _LN2 / (half_life_s * NS_PER_S)
        self.signed = 0.0
        self.total = 0.0
        self.value = 0.0
        self._last_ts: int | None = None

    def on_trade(self, ts_ns: int, size: float, aggressor_is_buyer: bool) -> float:
        if not (size > 0 and math.isfinite(size)):
            return self.value
        last = self._last_ts
        if last is not None and ts_ns > last:
            d = math.exp(-(ts_ns - last) * self._decay_per_ns)
            self.signed *= d
            self.total *= d
        if last is None or ts_ns > last:
            self._last_ts = ts_ns
        self.signed += size if aggressor_is_buyer else -size
        self.total += size
        v = self.signed / self.total if self.total > 0 else 0.0
        self.value = min(1.0, max(-1.0, v))  # rounding only
        return self.value


def microprice(best_bid: float, best_ask: float, bid_size: float, ask_size: float) -> float:
    """Size-weighted mid (Stoikov's 'weighted mid'): (bid·ask_size + ask·bid_size)/(bid_size + ask_size).

    Leans toward the ask when the bid queue is larger. This is the weighted mid, not Stoikov's
    (2018) "micro-price", which is a fitted expectation of future mids given the imbalance and the
    spread; the weighted mid over-reacts to a one-lot touch (it jumps to the far side), which
    ``microprice_weight`` < 1 tempers. Falls back to the mid with no size. Held
    inside [bid, ask] against rounding (a convex combination of the two, up to the last bit).
    """
    tot = bid_size + ask_size
    if not tot > 0:
        return 0.5 * (best_bid + best_ask)
    return min(best_ask, max(best_bid, (best_bid * ask_size + best_ask * bid_size) / tot))


# ---------------------------------------------------------------------------------------- the set


class Signals:
    """The signals ``SignalsParams`` switches on, for one instrument, and the fair value they give.

    Feeding (the decision core does it): ``on_mid`` with every mid change (book mode) and
    ``on_bar_close`` with every closed candle (candle mode) feed the bias; ``on_levels`` with the
    touch and the level sizes of each side, best first, before a decision, feeds the imbalance and
    the microprice; ``on_trade`` with every trade of the tape feeds the trade-flow imbalance.
    ``book_levels`` is how many levels per side ``on_levels`` needs (0: none).

    ``bias``, ``imbalance`` and ``flow`` read 0 while their signal is off (or warming up);
    ``fair_value(mid)`` is the mid itself while every signal is off.
    """

    def __init__(self, params: SignalsParams) -> None:
        p = params
        self.params = p
        self.active = p.use_bias or p.use_imbalance or p.use_microprice or p.use_flow
        self.bias_model = DirectionalBias(p) if p.use_bias else None
        self.imbalance_model = (
            BookImbalance(p.imbalance_depth_levels, p.imbalance_half_life_s, p.imbalance_level_decay) if p.use_imbalance else None
        )
        self.flow_model = TradeFlowImbalance(p.flow_half_life_s) if p.use_flow else None
        self.book_levels = max(p.imbalance_depth_levels if p.use_imbalance else 0, 1 if p.use_microprice else 0)
        self.imbalance = 0.0
        self.microprice = math.nan
        self._bias_sqrt_horizon = math.sqrt(p.bias_horizon_s)

    @property
    def bias(self) -> float:
        model = self.bias_model
        return 0.0 if model is None else model.bias

    @property
    def flow(self) -> float:
        model = self.flow_model
        return 0.0 if model is None else model.value

    def on_mid(self, ts_ns: int, mid: float) -> None:
        if self.bias_model is not None:
            self.bias_model.on_mid(ts_ns, mid)

    def on_bar_close(self, ts_ns: int, close: float) -> None:
        if self.bias_model is not None:
            self.bias_model.on_bar_close(ts_ns, close)

    def on_trade(self, ts_ns: int, price: float, size: float, aggressor_is_buyer: bool) -> None:
        if self.flow_model is not None:
            self.flow_model.on_trade(ts_ns, size, aggressor_is_buyer)

    def on_levels(self, ts_ns: int, best_bid: float, best_ask: float, bid_sizes, ask_sizes) -> None:
        if self.imbalance_model is not None:
            self.imbalance = self.imbalance_model.update(ts_ns, bid_sizes, ask_sizes)
        if self.params.use_microprice:
            if bid_sizes and ask_sizes:
                self.microprice = microprice(best_bid, best_ask, bid_sizes[0], ask_sizes[0])
            else:
                self.microprice = math.nan

    def bias_shift_bps(self, sigma_bps_per_sqrt_s: float = 0.0) -> float:
        """The bias's fair-value shift: bias·(bias_weight_bps + bias_strength·σ_bps·√bias_horizon_s).

        The σ term is Cartea-Jaimungal-Ricci's short-term alpha in the reservation price: the drift
        the bias predicts, integrated over the horizon it holds for, taken as ``bias_strength`` of
        one horizon's standard deviation (a forecast of direction alone gives no size; σ√h is the
        size of a typical move). A σ that is not a positive finite number drops the σ term.
        """
        b = self.bias
        if b == 0.0:
            return 0.0
        p = self.params
        per_unit = p.bias_weight_bps
        if p.bias_strength and sigma_bps_per_sqrt_s > 0 and math.isfinite(sigma_bps_per_sqrt_s):
            per_unit += p.bias_strength * sigma_bps_per_sqrt_s * self._bias_sqrt_horizon
        return b * per_unit

    def fair_value(self, mid: float, sigma: float = 0.0) -> float:
        """base·(1 + shift_bps·1e-4), base = the mid or ``mid + microprice_weight·(microprice − mid)``,
        shift_bps = imbalance·imbalance_weight_bps + flow·flow_weight_bps + ``bias_shift_bps``
        (``sigma``: the volatility in price units per √s, for the bias's σ term; ``SignalsParams``)."""
        p = self.params
        base = mid
        micro = self.microprice
        if p.use_microprice and micro > 0:
            base = mid + p.microprice_weight * (micro - mid)
        sigma_bps = sigma / mid / BPS if mid > 0 else 0.0
        shift_bps = self.imbalance * p.imbalance_weight_bps + self.flow * p.flow_weight_bps + self.bias_shift_bps(sigma_bps)
        return base * (1.0 + shift_bps * BPS)
