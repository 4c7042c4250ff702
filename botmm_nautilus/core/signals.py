"""Causal trading signals and the fair value they give: directional bias, book imbalance, microprice.

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


class QQE:
    """BotMM's QQE, with its band ratchet fixed.

    Per closed bar:
      RSI(n) from *simple* averages of the last n gains/losses (BotMM's choice, not Wilder's);
      s = EMA_{span=smoothing}(RSI) (seeded with the first RSI); atr = EMA_{span=n}(|Δs|);
      dar = factor·atr; new_long = s − dar; new_short = s + dar;
      long  = max(long₋₁, new_long)   if s₋₁ > long₋₁  and s > long₋₁  else new_long
      short = min(short₋₁, new_short) if s₋₁ < short₋₁ and s < short₋₁ else new_short
      trend = +1 if s > short₋₁, −1 if s < long₋₁, else unchanged   (previous bar's bands).

    BotMM overwrote its "previous smoothed RSI" with the current value before the ratchet, so it
    compared s with bands just updated from s itself. Since new_short = s + dar ≥ s and the
    ratcheted band is only kept while s is beyond it, s > short (or s < long) could never hold for
    dar > 0: in BotMM the QQE trend vote was stuck at 0. Here the previous bar's bands are used.
    ``value`` is s; ``trend`` ∈ {−1, 0, +1}.
    """

    def __init__(self, rsi_period: int, smoothing: int, factor: float) -> None:
        self.n = int(rsi_period)
        self.factor = float(factor)
        self._a_rsi = 2.0 / (smoothing + 1)
        self._a_atr = 2.0 / (rsi_period + 1)
        self._closes: deque[float] = deque(maxlen=self.n + 1)
        self.value: float | None = None  # smoothed RSI s
        self.rsi_atr: float | None = None
        self.long_band = math.nan
        self.short_band = math.nan
        self.trend = 0

    def _rsi(self) -> float:
        c = self._closes
        gains = 0.0
        losses = 0.0
        for i in range(1, len(c)):
            d = c[i] - c[i - 1]
            if d > 0:
                gains += d
            else:
                losses -= d
        gains /= self.n
        losses /= self.n
        if losses == 0:
            return 100.0
        return 100.0 - 100.0 / (1.0 + gains / losses)

    def update(self, close: float) -> tuple[float, int] | None:
        """Feed a closed bar's close. Returns (s, trend) once bands exist, else None."""
        self._closes.append(close)
        if len(self._closes) < self.n + 1:
            return None
        rsi = self._rsi()
        prev = self.value
        s = rsi if prev is None else prev + self._a_rsi * (rsi - prev)
        self.value = s
        if prev is not None:
            ch = abs(s - prev)
            self.rsi_atr = ch if self.rsi_atr is None else self.rsi_atr + self._a_atr * (ch - self.rsi_atr)
        if self.rsi_atr is None:
            return None
        dar = self.rsi_atr * self.factor
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
      Kalman slope  > +thr / < −thr      (slope = x̂ₜ − x̂ₜ₋₍w₋₁₎ on **log** price, thr = 1e-4)
      price vs Kalman: ln p − x̂ > ln(1.0001) / < ln(0.9999)
      QQE trend (fixed ratchet, see ``QQE``) ±1
      QQE level > 55 / < 45

    Differences from BotMM (all deliberate): the Kalman runs on ln(price) (``KALMAN_*``); the
    slope is a log change instead of (x̂ₜ − x̂ₜ₋₄)/x̂ₜ (equal to first order); the QQE ratchet is
    fixed; the bias is the score itself (BotMM multiplied it by a strength of 0.5: here the
    weight that turns it into a price shift, ``bias_weight_bps``, plays that part). The warm-up is
    BotMM's max(rsi + smoothing + 5, slope_window + 2) bars; before it ``bias`` is 0.
    """

    def __init__(self, params: SignalsParams) -> None:
        self.bar_ns = int(params.bias_bar_interval_s * NS_PER_S)
        self.kalman = Kalman1D(KALMAN_PROCESS_VAR, KALMAN_MEASUREMENT_VAR, KALMAN_INITIAL_VAR)
        self.qqe = QQE(params.bias_rsi_period, params.bias_qqe_smoothing, params.bias_qqe_factor)
        self.slope_window = params.bias_slope_window
        self.warmup_bars = max(params.bias_rsi_period + params.bias_qqe_smoothing + 5, self.slope_window + 2)
        self._hist: deque[float] = deque(maxlen=self.slope_window)
        self.bar_count = 0
        self.bias = 0.0
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
        hist = self._hist
        hist.append(x)
        slope = (hist[-1] - hist[0]) if len(hist) >= self.slope_window and self.bar_count >= self.slope_window + 1 else 0.0
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
    """Depth imbalance (Σ bid size − Σ ask size)/(Σ bid + Σ ask) over the first ``levels`` levels.

    ``update`` takes each side's level sizes best first; an empty book reads 0. With
    ``half_life_s`` > 0 the value is an EMA in time, seeded by the first reading:
    v ← v + (1 − e^{−ln2·Δt/h})·(raw − v); a reading at or before the previous one's time does not
    move it. With ``half_life_s`` = 0 the value is the raw reading.
    """

    def __init__(self, levels: int, half_life_s: float) -> None:
        if levels < 1:
            raise ValueError(f"levels must be >= 1, got {levels!r}")
        if not half_life_s >= 0:
            raise ValueError(f"half_life_s must be >= 0, got {half_life_s!r}")
        self.levels = int(levels)
        self._decay_per_ns = _LN2 / (half_life_s * NS_PER_S) if half_life_s > 0 else 0.0
        self.raw = 0.0
        self.value = 0.0
        self._last_ts = None

    def update(self, ts_ns: int, bid_sizes, ask_sizes) -> float:
        n = self.levels
        b = float(sum(bid_sizes[:n]))
        a = float(sum(ask_sizes[:n]))
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


def microprice(best_bid: float, best_ask: float, bid_size: float, ask_size: float) -> float:
    """Size-weighted mid (Stoikov's 'weighted mid'): (bid·ask_size + ask·bid_size)/(bid_size + ask_size).

    Leans toward the ask when the bid queue is larger. Falls back to the mid with no size.
    """
    tot = bid_size + ask_size
    if not tot > 0:
        return 0.5 * (best_bid + best_ask)
    return (best_bid * ask_size + best_ask * bid_size) / tot


# ---------------------------------------------------------------------------------------- the set


class Signals:
    """The signals ``SignalsParams`` switches on, for one instrument, and the fair value they give.

    Feeding (the decision core does it): ``on_mid`` with every mid change (book mode) and
    ``on_bar_close`` with every closed candle (candle mode) feed the bias; ``on_levels`` with the
    touch and the level sizes of each side, best first, before a decision, feeds the imbalance and
    the microprice. ``book_levels`` is how many levels per side ``on_levels`` needs (0: none).

    ``bias`` and ``imbalance`` read 0 while their signal is off (or warming up);
    ``fair_value(mid)`` is the mid itself while every signal is off.
    """

    def __init__(self, params: SignalsParams) -> None:
        p = params
        self.params = p
        self.active = p.use_bias or p.use_imbalance or p.use_microprice
        self.bias_model = DirectionalBias(p) if p.use_bias else None
        self.imbalance_model = BookImbalance(p.imbalance_depth_levels, p.imbalance_half_life_s) if p.use_imbalance else None
        self.book_levels = max(p.imbalance_depth_levels if p.use_imbalance else 0, 1 if p.use_microprice else 0)
        self.imbalance = 0.0
        self.microprice = math.nan

    @property
    def bias(self) -> float:
        model = self.bias_model
        return 0.0 if model is None else model.bias

    def on_mid(self, ts_ns: int, mid: float) -> None:
        if self.bias_model is not None:
            self.bias_model.on_mid(ts_ns, mid)

    def on_bar_close(self, ts_ns: int, close: float) -> None:
        if self.bias_model is not None:
            self.bias_model.on_bar_close(ts_ns, close)

    def on_levels(self, ts_ns: int, best_bid: float, best_ask: float, bid_sizes, ask_sizes) -> None:
        if self.imbalance_model is not None:
            self.imbalance = self.imbalance_model.update(ts_ns, bid_sizes, ask_sizes)
        if self.params.use_microprice:
            if bid_sizes and ask_sizes:
                self.microprice = microprice(best_bid, best_ask, bid_sizes[0], ask_sizes[0])
            else:
                self.microprice = math.nan

    def fair_value(self, mid: float) -> float:
        """base·(1 + (imbalance·imbalance_weight_bps + bias·bias_weight_bps)·1e-4), base = the mid or
        ``mid + microprice_weight·(microprice − mid)`` (``SignalsParams``)."""
        p = self.params
        base = mid
        micro = self.microprice
        if p.use_microprice and micro > 0:
            base = mid + p.microprice_weight * (micro - mid)
        shift_bps = self.imbalance * p.imbalance_weight_bps + self.bias * p.bias_weight_bps
        return base * (1.0 + shift_bps * BPS)
