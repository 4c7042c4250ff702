"""The volatility regime: is the market quieter or busier than usual, right now?

``VolRegime`` samples the mid on a time grid of step ``sample_interval_s``: each grid point's sample
is the last mid stamped at or before it, taken once a mid of a later point shows it complete (or
at once when a mid is stamped exactly on the point: a bar's close in candle mode). It keeps two
EWMA variances of the log returns between consecutive samples, a fast and a slow one:

    a = 1 − 2^(−Δ/half_life)          (Δ = sample_interval_s)
    var ← (1 − a)·var + a·r²          (both seeded with the first r²)
    ratio = sqrt(var_fast / var_slow)

A grid point with no new mid is a zero return (a quiet market is low volatility); n of them in a
row decay both variances by (1 − a)ⁿ at once. The regime is +1 (high) when the ratio reaches
``high_ratio``, −1 (low) when it falls to ``low_ratio``, 0 (normal) otherwise; a regime is left
only when the ratio is ``hysteresis`` back inside its threshold, so a ratio hovering at a threshold
does not flip it every sample. Until ``min_samples`` returns were seen there is no regime (None).

Causal: a sample at a grid point uses only mids stamped at or before it. Pure Python.
"""

from __future__ import annotations

import math

NS_PER_S = 1_000_000_000
# the ratio reported when the slow variance is zero but the fast one is not (cannot happen with
# both seeded together unless the slow one underflows); keeps the ratio finite
MAX_RATIO = 1e6


def ewma_alpha(interval_s: float, half_life_s: float) -> float:
    """The EWMA weight of one sample: a = 1 − 2^(−interval/half_life)."""
    return 1.0 - 2.0 ** (-interval_s / half_life_s)


class VolRegime:
    """Fast/slow volatility ratio and its regime (module docstring)."""

    __slots__ = (
        "_a_fast", "_a_slow", "_interval_ns", "_last_mid", "_open_k", "_sample_mid", "fast_var", "high_ratio",
        "hysteresis", "low_ratio", "min_samples", "regime_value", "samples", "slow_var",
    )

    def __init__(
        self,
        *,
        sample_interval_s: float,
        fast_half_life_s: float,
        slow_half_life_s: float,
        min_samples: int,
        high_ratio: float,
        low_ratio: float,
        hysteresis: float = 0.0,
    ) -> None:
        if not (sample_interval_s > 0 and fast_half_life_s > 0 and slow_half_life_s > fast_half_life_s):
            raise ValueError("need sample_interval_s > 0 and 0 < fast_half_life_s < slow_half_life_s")
        if not (0 < low_ratio < 1 < high_ratio) or hysteresis < 0 or high_ratio - hysteresis <= low_ratio + hysteresis:
            raise ValueError("need 0 < low_ratio < 1 < high_ratio, hysteresis >= 0 and bands that do not overlap")
        self._interval_ns = int(round(sample_interval_s * NS_PER_S))
        self._a_fast = ewma_alpha(sample_interval_s, fast_half_life_s)
        self._a_slow = ewma_alpha(sample_interval_s, slow_half_life_s)
        self.min_samples = int(min_samples)
        self.high_ratio = float(high_ratio)
        self.low_ratio = float(low_ratio)
        self.hysteresis = float(hysteresis)
        self._open_k: int | None = None  # grid index of the sample being collected
        self._last_mid = math.nan  # the last mid seen
        self._sample_mid = math.nan  # the mid of the last grid sample
        self.fast_var = math.nan
        self.slow_var = math.nan
        self.samples = 0  # returns seen
        self.regime_value = 0

    def update(self, ts_ns: int, mid: float) -> None:
        """A mid at ``ts_ns`` (time order). It belongs to the sample of the first grid point at or
        after it; a sample is complete when a mid of a later point arrives (the points between saw
        no mid: zero returns) or at once when a mid is stamped exactly on its point (candle mode:
        a bar's close at its close time)."""
        if not (mid > 0 and math.isfinite(mid)):
            return
        interval = self._interval_ns
        k = -(-ts_ns // interval)  # the grid point at or after ts
        open_k = self._open_k
        if open_k is None:
            self._open_k = open_k = k
        elif k > open_k:
            self._take_sample(self._last_mid)
            zeros = k - open_k - 1
            if zeros:
                self._add_zero_returns(zeros)
            self._open_k = open_k = k
        self._last_mid = mid
        if k == open_k and ts_ns == k * interval:
            self._take_sample(mid)
            self._open_k = k + 1

    def _take_sample(self, mid: float) -> None:
        prev = self._sample_mid
        self._sample_mid = mid
        if prev == prev:  # not the first sample
            self._add_return(math.log(mid / prev))

    def _add_return(self, r: float) -> None:
        r2 = r * r
        if self.samples == 0:
            self.fast_var = r2
            self.slow_var = r2
        else:
            self.fast_var += self._a_fast * (r2 - self.fast_var)
            self.slow_var += self._a_slow * (r2 - self.slow_var)
        self.samples += 1
        self._classify()

    def _add_zero_returns(self, n: int) -> None:
        if self.samples == 0:
            self._add_return(0.0)
            n -= 1
        if n:
            self.fast_var *= (1.0 - self._a_fast) ** n
            self.slow_var *= (1.0 - self._a_slow) ** n
            self.samples += n
            self._classify()

    @property
    def ratio(self) -> float:
        """sqrt(fast/slow): 1 before any sample and while both variances are zero; finite, >= 0."""
        fast = self.fast_var
        slow = self.slow_var
        if not slow > 0:
            return MAX_RATIO if fast > 0 else 1.0
        return min(math.sqrt(max(fast, 0.0) / slow), MAX_RATIO)

    @property
    def ready(self) -> bool:
        return self.samples >= self.min_samples

    @property
    def regime(self) -> int | None:
        """+1 high, 0 normal, −1 low; None during the warm-up."""
        return self.regime_value if self.ready else None

    def _classify(self) -> None:
        ratio = self.ratio
        h = self.hysteresis
        current = self.regime_value
        if ratio >= self.high_ratio:
            new = 1
        elif ratio <= self.low_ratio:
            new = -1
        elif current == 1 and ratio > self.high_ratio - h or current == -1 and ratio < self.low_ratio + h:
            new = current  # inside the hysteresis band: stay
        else:
            new = 0
        self.regime_value = new


__all__ = ["VolRegime", "ewma_alpha"]
