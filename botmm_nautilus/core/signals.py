"""Causal trading signals: BotMM's Kalman+QQE directional bias (fixed), L2 book imbalance and microprice.

Pure Python, no Nautilus, no I/O. Every signal is fed events in time order and its output at time t
depends only on events stamped <= t (the bias only on *closed* bars).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

NS_PER_S = 1_000_000_000


# ---------------------------------------------------------------------------- Kalman + QQE bias (fixed)


class Kalman1D:
    """1-D random-walk Kalman filter: x̂⁻ = x̂, P⁻ = P + Q; K = P⁻/(P⁻ + R); x̂ = x̂⁻ + K(z − x̂⁻); P = (1 − K)P⁻.

    The first measurement initialises x̂ with variance ``initial_var``. The gain depends only on Q,
    R and P, never on z, so at steady state this is an EMA whose gain is set by Q/R.
    """

    def __init__(self, process_var: float, measurement_var: float, initial_var: float = 1.0) -> None:
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
    """QQE as in BotMM (``core/signals.py``) with its band ratchet fixed.

    Per closed bar:
      RSI(n) from *simple* averages of the last n gains/losses (the seed's choice, not Wilder's);
      s = EMA_{span=smoothing}(RSI) (seeded with the first RSI); atr = EMA_{span=n}(|Δs|);
      dar = factor·atr; new_long = s − dar; new_short = s + dar;
      long  = max(long₋₁, new_long)   if s₋₁ > long₋₁  and s > long₋₁  else new_long
      short = min(short₋₁, new_short) if s₋₁ < short₋₁ and s < short₋₁ else new_short
      trend = +1 if s > short₋₁, −1 if s < long₋₁, else unchanged   (previous bar's bands).

    The seed's bug (``legacy_ratchet=True`` reproduces it): it overwrote ``_prev_smoothed_rsi`` with
    the current value before the ratchet, so "previous" was the current s, and it then compared s
    with the bands just updated from s itself. Since new_short = s + dar ≥ s and the ratcheted band
    is only kept while s is beyond it, s > short (or s < long) can never hold for dar > 0: in the
    seed the QQE trend vote is stuck at 0. ``value`` is s; ``trend`` ∈ {−1, 0, +1}.
    """

    def __init__(self, rsi_period: int = 14, smoothing: int = 5, factor: float = 3.5, legacy_ratchet: bool = False) -> None:
        self.n = int(rsi_period)
        self.factor = float(factor)
        self.legacy = legacy_ratchet
        self._a_rsi = 2.0 / (smoothing + 1)
        self._a_atr = 2.0 / (rsi_period + 1)
        self._closes: deque[float] = deque(maxlen=self.n + 1)
        self.value: float | None = None  # smoothed RSI s
        self._prev_value: float | None = None
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
        elif self.legacy:
            p = s  # the seed's bug: "previous" already overwritten with the current value
            self.long_band = max(new_long, self.long_band) if p > self.long_band else new_long
            self.short_band = min(new_short, self.short_band) if p < self.short_band else new_short
        else:
            long_prev, short_prev = self.long_band, self.short_band
            if s > short_prev:
                self.trend = 1
            elif s < long_prev:
                self.trend = -1
            self.long_band = max(long_prev, new_long) if (prev > long_prev and s > long_prev) else new_long
            self.short_band = min(short_prev, new_short) if (prev < short_prev and s < short_prev) else new_short
        if self.legacy:
            if s > self.short_band:
                self.trend = 1
            elif s < self.long_band:
                self.trend = -1
        return s, self.trend


@dataclass(slots=True)
class BiasResult:
    bias: float  # score·bias_strength, in [−bias_strength, +bias_strength]
    score: float  # sum of four ±0.25 votes, in [−1, 1]
    regime: int  # +1 bullish, −1 bearish, 0 neutral (|bias| > regime_threshold)
    kalman_price: float
    kalman_slope: float  # log change of the filtered price over the slope window
    qqe_value: float
    qqe_trend: int
    ts_ns: int  # close time of the bar the result is based on


class DirectionalBias:
    """BotMM's Kalman+QQE directional bias (ANCHORS_AND_SEED_REVIEW.md §1.4), scale-free and fixed.

    Updated once per **closed** bar (``on_bar_close`` with the bar's close time, or ``on_mid`` which
    builds bars of ``bar_interval_s`` and closes a bar only when the first mid at or after its end
    arrives; a bar's close is the last mid strictly before its end, gaps repeat the last close).

    Score = four ±0.25 votes, as in the seed:
      Kalman slope  > +thr / < −thr      (slope = x̂ₜ − x̂ₜ₋₍w₋₁₎ on **log** price, thr = 1e-4)
      price vs Kalman: ln p − x̂ > ln(1.0001) / < ln(0.9999)
      QQE trend (fixed ratchet, see ``QQE``) ±1
      QQE level > 55 / < 45
    bias = score·bias_strength; regime ±1 when |bias| > 0.15.

    Differences from the seed (all deliberate): the Kalman runs on ln(price) with Q, R, P₀ in
    log-price units (defaults keep the seed's ratios Q/R = 0.05, P₀/R = 10, so the gain path — about
    0.91 then ≈0.2 at steady state — is the seed's, whatever the price level); the slope is a log
    change instead of (x̂ₜ − x̂ₜ₋₄)/x̂ₜ (equal to first order); the QQE ratchet is fixed
    (``legacy_ratchet=True`` restores it); the warm-up is the seed's max(rsi + smoothing + 5,
    slope_window + 2) bars. Before warm-up ``bias`` is 0.
    """

    def __init__(
        self,
        bar_interval_s: float = 3600.0,
        process_var: float = 5e-8,
        measurement_var: float = 1e-6,
        initial_var: float = 1e-5,
        rsi_period: int = 14,
        qqe_smoothing: int = 5,
        qqe_factor: float = 3.5,
        slope_window: int = 5,
        bias_strength: float = 0.5,
        slope_threshold: float = 1e-4,
        price_threshold: float = 1e-4,
        regime_threshold: float = 0.15,
        legacy_ratchet: bool = False,
    ) -> None:
        self.bar_ns = int(bar_interval_s * NS_PER_S)
        self.kalman = Kalman1D(process_var, measurement_var, initial_var)
        self.qqe = QQE(rsi_period, qqe_smoothing, qqe_factor, legacy_ratchet)
        self.slope_window = int(slope_window)
        self.bias_strength = float(bias_strength)
        self.slope_threshold = float(slope_threshold)
        self.log_price_threshold = math.log1p(price_threshold)
        self.regime_threshold = float(regime_threshold)
        self.warmup_bars = max(rsi_period + qqe_smoothing + 5, slope_window + 2)
        self._hist: deque[float] = deque(maxlen=self.slope_window)
        self.bar_count = 0
        self.last: BiasResult | None = None
        self._last_close_ts = -1
        # mid -> bar aggregation
        self._bar_end = -1
        self._bar_close = math.nan

    @property
    def ready(self) -> bool:
        return self.bar_count >= self.warmup_bars

    @property
    def bias(self) -> float:
        return self.last.bias if self.last is not None else 0.0

    def on_bar_close(self, ts_ns: int, close: float) -> BiasResult | None:
        """Feed one closed bar (``ts_ns`` = its close time). Returns the result once warmed up."""
        if ts_ns <= self._last_close_ts or not (close > 0 and math.isfinite(close)):
            return self.last
        self._last_close_ts = ts_ns
        self.bar_count += 1
        lp = math.log(close)
        x = self.kalman.update(lp)
        self._hist.append(x)
        slope = (self._hist[-1] - self._hist[0]) if len(self._hist) >= self.slope_window and self.bar_count >= self.slope_window + 1 else 0.0
        q = self.qqe.update(close)
        if not self.ready or q is None:
            return None
        qv, qt = q
        score = 0.0
        if slope > self.slope_threshold:
            score += 0.25
        elif slope < -self.slope_threshold:
            score -= 0.25
        dev = lp - x
        if dev > self.log_price_threshold:
            score += 0.25
        elif dev < -self.log_price_threshold:
            score -= 0.25
        if qt == 1:
            score += 0.25
        elif qt == -1:
            score -= 0.25
        if qv > 55:
            score += 0.25
        elif qv < 45:
            score -= 0.25
        bias = score * self.bias_strength
        regime = 1 if bias > self.regime_threshold else (-1 if bias < -self.regime_threshold else 0)
        self.last = BiasResult(bias, score, regime, math.exp(x), slope, qv, qt, ts_ns)
        return self.last

    def on_mid(self, ts_ns: int, mid: float) -> BiasResult | None:
        """Aggregate mids into bars aligned to multiples of ``bar_interval_s``; update on bar close."""
        if not (mid > 0 and math.isfinite(mid)):
            return self.last
        if self._bar_end < 0:
            self._bar_end = (ts_ns // self.bar_ns + 1) * self.bar_ns
            self._bar_close = mid
            return self.last
        while ts_ns >= self._bar_end:
            self.on_bar_close(self._bar_end, self._bar_close)
            self._bar_end += self.bar_ns
        self._bar_close = mid
        return self.last


# ------------------------------------------------------------------------------- book imbalance / microprice


def book_imbalance(bid_sizes, ask_sizes, levels: int = 5) -> float:
    """(Σ bid size − Σ ask size)/(Σ bid + Σ ask) over the top ``levels``; 0 for an empty book."""
    b = float(sum(bid_sizes[:levels]))
    a = float(sum(ask_sizes[:levels]))
    tot = b + a
    return (b - a) / tot if tot > 0 else 0.0


def microprice(best_bid: float, best_ask: float, bid_size: float, ask_size: float) -> float:
    """Size-weighted mid (Stoikov's 'weighted mid'): (bid·ask_size + ask·bid_size)/(bid_size + ask_size).

    Leans toward the ask when the bid queue is larger. Falls back to the mid with no size.
    """
    tot = bid_size + ask_size
    if not tot > 0:
        return 0.5 * (best_bid + best_ask)
    return (best_bid * ask_size + best_ask * bid_size) / tot


class BookImbalance:
    """BotMM's L2 imbalance (§1.5): raw over the top ``levels`` sizes, EMA with ``alpha`` seeded by
    the first reading. ``update`` takes per-level sizes best first (or (price, size) pairs)."""

    def __init__(self, levels: int = 5, alpha: float = 0.3) -> None:
        if not 0 < alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
        self.levels = int(levels)
        self.alpha = float(alpha)
        self.raw = 0.0
        self.value = 0.0
        self._init = False

    @staticmethod
    def _sizes(side) -> list[float]:
        return [x[1] if isinstance(x, (tuple, list)) else x for x in side]

    def update(self, bids, asks) -> float:
        self.raw = book_imbalance(self._sizes(bids[: self.levels]), self._sizes(asks[: self.levels]), self.levels)
        if not self._init:
            self.value = self.raw
            self._init = True
        else:
            self.value = self.alpha * self.raw + (1.0 - self.alpha) * self.value
        return self.value

    def reset(self) -> None:
        self.raw = 0.0
        self.value = 0.0
        self._init = False
