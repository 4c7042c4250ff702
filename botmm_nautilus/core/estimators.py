"""Online, strictly causal estimators for the quote engine: volatility and arrival intensity (A, k).

Pure Python (numpy only in the periodic intensity refit), no Nautilus, no I/O. Every estimator is fed
events in time order and its output at time t depends only on events stamped ≤ t (the intensity fit
only on *completed* steps before t).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

NS_PER_S = 1_000_000_000
LN2 = math.log(2.0)

# ------------------------------------------------------------------------------------------ volatility


class EwmaVolatility:
    """Exponentially weighted volatility of the mid from irregularly spaced observations.

    Each accepted sample contributes its squared log return r² = ln(mᵢ/mᵢ₋₁)² over the elapsed
    time dtᵢ. Both sums are decayed by elapsed time with half-life ``half_life_s``:

        N ← N·e^{−ln2·dt/h} + r²,   D ← D·e^{−ln2·dt/h} + dt,   σ²_frac = N / D   (per second)

    so gaps are handled exactly (a 10 s gap counts as 10 s of variance, not as one sample) and the
    drift is taken as zero (standard at these horizons). Outputs:

    * ``sigma_frac``: σ of log price per √second (fraction; ×1e4 for bps per √s);
    * ``sigma_price``: σ_frac × last mid, price units per √second (what A-S/GLFT use).

    ``sample_interval_s`` > 0 subsamples (previous-tick): a mid is taken only once that much time
    has passed since the last accepted one, which damps bid-ask bounce in the tick-by-tick mid.
    ``ready`` once ``warmup_s`` (default: one half-life) of time and ``min_samples`` returns are in.
    Non-positive mids and non-increasing timestamps are ignored.
    """

    def __init__(self, half_life_s: float, sample_interval_s: float = 0.0, warmup_s: float | None = None, min_samples: int = 10) -> None:
        if not half_life_s > 0:
            raise ValueError(f"half_life_s must be > 0, got {half_life_s!r}")
        if sample_interval_s < 0:
            raise ValueError(f"sample_interval_s must be >= 0, got {sample_interval_s!r}")
        self.half_life_s = float(half_life_s)
        self.sample_interval_ns = int(sample_interval_s * NS_PER_S)
        self.warmup_s = self.half_life_s if warmup_s is None else float(warmup_s)
        self.min_samples = int(min_samples)
        self._decay_per_s = LN2 / self.half_life_s
        self._num = 0.0
        self._den = 0.0
        self._last_ts = -1
        self._first_ts = -1
        self._last_log = math.nan
        self.last_mid = math.nan
        self.n_samples = 0

    def update(self, ts_ns: int, mid: float) -> float:
        """Feed one mid; returns ``sigma_price`` (NaN until the first return)."""
        if not (mid > 0.0 and math.isfinite(mid)):
            return self.sigma_price
        if self._last_ts < 0:
            self._last_ts = self._first_ts = ts_ns
            self._last_log = math.log(mid)
            self.last_mid = mid
            return self.sigma_price
        dt_ns = ts_ns - self._last_ts
        if dt_ns <= 0 or dt_ns < self.sample_interval_ns:
            return self.sigma_price
        dt = dt_ns / NS_PER_S
        lg = math.log(mid)
        r = lg - self._last_log
        decay = math.exp(-self._decay_per_s * dt)
        self._num = self._num * decay + r * r
        self._den = self._den * decay + dt
        self._last_ts = ts_ns
        self._last_log = lg
        self.last_mid = mid
        self.n_samples += 1
        return self.sigma_price

    @property
    def variance_rate(self) -> float:
        """σ²_frac per second (NaN before the first return)."""
        return self._num / self._den if self._den > 0 else math.nan

    @property
    def sigma_frac(self) -> float:
        v = self.variance_rate
        return math.sqrt(v) if v == v else math.nan

    @property
    def sigma_price(self) -> float:
        return self.sigma_frac * self.last_mid

    @property
    def ready(self) -> bool:
        return (
            self.n_samples >= self.min_samples
            and self._first_ts >= 0
            and (self._last_ts - self._first_ts) / NS_PER_S >= self.warmup_s
        )


# ----------------------------------------------------------------------------- arrival intensity (A, k)


@dataclass(slots=True)
class IntensityFit:
    """λ(δ) = A·e^{−kδ}. ``A`` per second (per side; the pooled fit is the mean of the two sides).

    ``k`` is per price unit (converted with the mid at fit time when depths are measured in bps);
    ``k_native`` is per ``depth_unit`` ("bps" or "price"). ``valid``: k > 0, A > 0, at least
    ``min_points`` grid points, R² ≥ ``min_r2`` and enough of the window observed. ``lambdas``: the
    measured λ per second at each depth of the estimator's ``grid`` (the fit uses the first
    ``n_points``).
    """

    A: float
    k: float
    k_native: float
    depth_unit: str
    r2: float
    n_points: int
    n_steps: int
    valid: bool
    ts_ns: int
    mid: float
    lambdas: np.ndarray


def fit_exponential_intensity(depths: np.ndarray, lambdas: np.ndarray) -> tuple[float, float, float]:
    """OLS of ln λ = ln A − k·δ. Returns (A, k, R²); NaNs when fewer than two usable points."""
    mask = lambdas > 0
    x = depths[mask]
    y = np.log(lambdas[mask])
    n = x.size
    if n < 2:
        return math.nan, math.nan, math.nan
    xm = x.mean()
    ym = y.mean()
    sxx = float(((x - xm) ** 2).sum())
    if sxx <= 0:
        return math.nan, math.nan, math.nan
    slope = float(((x - xm) * (y - ym)).sum()) / sxx
    intercept = ym - slope * xm
    resid = y - (intercept + slope * x)
    sst = float(((y - ym) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / sst if sst > 0 else 1.0
    return math.exp(intercept), -slope, r2


class ArrivalIntensityEstimator:
    """hftbacktest-style calibration of λ(δ) = A·e^{−kδ} from the trade tape, per side and pooled.

    * Time is cut into steps of ``step_s`` (aligned to multiples of ``step_s`` since the epoch). The
      reference mid of a step is the last mid seen before the step's first event (the "previous mid":
      quotes sent at the step's start were placed around it); until ``on_mid`` has been called the
      ``mid_before`` passed with the trade is used.
    * Per step and side, the arrival depth is the farthest depth reached: buyer-initiated trades
      (they lift **asks**) give price − ref, seller-initiated (they hit **bids**) ref − price;
      in bps of ref (``depth_unit="bps"``) or price units (``"price"``).
    * Over the last ``window_s`` of completed steps, for δᵢ = 0, step, 2·step, … ≤ ``max_depth``:
      pᵢ = (#steps whose depth > δᵢ)/n_steps and
        λ(δᵢ) = −ln(1 − pᵢ)/step_s   (``poisson_correction=True``: inverts P(hit in a step) =
                                       1 − e^{−λ·step} so λ is unbiased when λ·step is not small)
        λ(δᵢ) = pᵢ/step_s             (``False``: hftbacktest's count / window seconds).
    * Fit ln λ = ln A − k·δ by OLS over the shallow range δ ≤ ``fit_max_depth``, stopping at the
      first grid point with fewer than ``min_count`` steps. Refit at most every ``refit_every_s``.
    * Pooled: the mean of the two per-side λ curves (A is then per side, as GLFT expects).
      hftbacktest instead pools the max over both sides per step, which roughly sums the sides and
      gives an A about twice the per-side value.

    Strict causality: a fit at time t uses only steps that ended at or before t; the step containing
    t is excluded (it may still receive trades).
    """

    SIDES = ("pooled", "bid", "ask")

    def __init__(
        self,
        window_s: float = 600.0,
        refit_every_s: float = 5.0,
        step_s: float = 0.1,
        depth_unit: str = "bps",
        depth_step: float = 0.1,
        max_depth: float = 10.0,
        fit_max_depth: float | None = None,
        min_count: int = 3,
        min_points: int = 4,
        min_r2: float = 0.8,
        min_window_frac: float = 0.5,
        poisson_correction: bool = True,
    ) -> None:
        if depth_unit not in ("bps", "price"):
            raise ValueError(f"depth_unit must be 'bps' or 'price', got {depth_unit!r}")
        for name, v in (("window_s", window_s), ("refit_every_s", refit_every_s), ("step_s", step_s), ("depth_step", depth_step), ("max_depth", max_depth)):
            if not v > 0:
                raise ValueError(f"{name} must be > 0, got {v!r}")
        self.window_s = float(window_s)
        self.refit_every_ns = int(refit_every_s * NS_PER_S)
        self.step_s = float(step_s)
        self.step_ns = int(round(step_s * NS_PER_S))
        self.window_steps = max(1, int(round(window_s / step_s)))
        self.depth_unit = depth_unit
        self.grid = np.arange(0.0, max_depth + 0.5 * depth_step, depth_step)
        self.fit_max_depth = max_depth if fit_max_depth is None else float(fit_max_depth)
        self.min_count = int(min_count)
        self.min_points = int(min_points)
        self.min_r2 = float(min_r2)
        self.min_window_frac = float(min_window_frac)
        self.poisson_correction = poisson_correction

        self._mid = math.nan  # latest mid
        self._now_ns = -1  # latest event time
        self._first_step = -1
        self._cur_step = -1
        self._ref_mid = math.nan
        self._cur_bid = -math.inf  # farthest depth this step at our bids (seller-initiated)
        self._cur_ask = -math.inf  # ... at our asks (buyer-initiated)
        self._cur_has_trade = False
        self._steps: deque[tuple[int, float, float]] = deque()  # (step index, bid depth, ask depth)
        self._last_fit_ns = -1
        self._fits: dict[str, IntensityFit] | None = None

    # ---------------------------------------------------------------- events
    def _advance(self, ts_ns: int) -> None:
        if ts_ns < self._now_ns:
            return  # out of order: never rewrite the past
        self._now_ns = ts_ns
        step = ts_ns // self.step_ns
        if self._first_step < 0:
            self._first_step = step
            self._cur_step = step
            self._ref_mid = self._mid
            return
        if step > self._cur_step:
            if self._cur_has_trade:
                self._steps.append((self._cur_step, self._cur_bid, self._cur_ask))
            lo = step - self.window_steps  # keep memory bounded even if nobody asks for a fit
            while self._steps and self._steps[0][0] < lo:
                self._steps.popleft()
            self._cur_step = step
            self._ref_mid = self._mid
            self._cur_bid = -math.inf
            self._cur_ask = -math.inf
            self._cur_has_trade = False

    def on_mid(self, ts_ns: int, mid: float) -> None:
        if ts_ns < self._now_ns:
            return
        self._advance(ts_ns)
        if mid > 0 and math.isfinite(mid):
            self._mid = mid

    def on_trade(self, ts_ns: int, price: float, aggressor_is_buyer: bool, mid_before: float) -> None:
        """One print. ``aggressor_is_buyer``: Hyperliquid side "B" (lifts our ask)."""
        if ts_ns < self._now_ns:
            return
        self._advance(ts_ns)
        ref = self._ref_mid
        if not ref > 0:
            ref = mid_before
            if not (ref > 0 and math.isfinite(ref)):
                return
            self._ref_mid = ref
        d = (price - ref) if aggressor_is_buyer else (ref - price)
        if self.depth_unit == "bps":
            d = d / ref * 1e4
        if aggressor_is_buyer:
            if d > self._cur_ask:
                self._cur_ask = d
        elif d > self._cur_bid:
            self._cur_bid = d
        self._cur_has_trade = True

    # ---------------------------------------------------------------- fitting
    def _window(self, now_ns: int) -> tuple[int, np.ndarray, np.ndarray]:
        """(n completed steps in the window, bid depths, ask depths) of completed steps before now."""
        now_step = now_ns // self.step_ns
        # steps < now_step are complete; the current step is not used even if already flushed
        lo = now_step - self.window_steps  # window = [lo, now_step)
        while self._steps and self._steps[0][0] < lo:
            self._steps.popleft()
        start = max(lo, self._first_step)
        n_steps = max(0, now_step - start)
        rows = [s for s in self._steps if s[0] < now_step]
        if self._cur_has_trade and self._cur_step < now_step and self._cur_step >= lo:
            rows.append((self._cur_step, self._cur_bid, self._cur_ask))
        if not rows:
            return n_steps, np.empty(0), np.empty(0)
        arr = np.asarray(rows, dtype=float)
        return n_steps, arr[:, 1], arr[:, 2]

    def _lambda_curve(self, depths: np.ndarray, n_steps: int) -> np.ndarray:
        """λ on the grid from one side's per-step arrival depths."""
        grid = self.grid
        if depths.size == 0 or n_steps == 0:
            return np.zeros_like(grid)
        srt = np.sort(depths[np.isfinite(depths)])
        counts = srt.size - np.searchsorted(srt, grid, side="right")  # depth > δ strictly
        return self._to_rate(counts.astype(float), n_steps)

    def _to_rate(self, counts: np.ndarray, n_steps: int) -> np.ndarray:
        p = counts / n_steps
        if self.poisson_correction:
            p = np.minimum(p, 1.0 - 0.5 / n_steps)
            return -np.log1p(-p) / self.step_s
        return p / self.step_s

    def _fit_curve(self, lam: np.ndarray, counts_ok: np.ndarray, n_steps: int, mid: float, now_ns: int) -> IntensityFit:
        grid = self.grid
        usable = grid <= self.fit_max_depth + 1e-12
        usable &= counts_ok
        # contiguous shallow range: stop at the first grid point that fails
        stop = int(np.argmin(usable)) if not usable.all() else usable.size
        x = grid[:stop]
        y = lam[:stop]
        A, k_native, r2 = fit_exponential_intensity(x, y)
        if self.depth_unit == "bps":
            k = k_native / (mid * 1e-4) if mid > 0 else math.nan
        else:
            k = k_native
        covered = n_steps * self.step_s >= self.min_window_frac * self.window_s
        valid = bool(
            covered
            and stop >= self.min_points
            and math.isfinite(A)
            and A > 0
            and math.isfinite(k)
            and k > 0
            and r2 >= self.min_r2
        )
        return IntensityFit(
            A=A, k=k, k_native=k_native, depth_unit=self.depth_unit, r2=r2, n_points=stop, n_steps=n_steps, valid=valid,
            ts_ns=now_ns, mid=mid, lambdas=lam,
        )

    def refit(self, ts_ns: int | None = None) -> dict[str, IntensityFit]:
        """Fit now (at ``ts_ns`` or the last event time) regardless of the schedule."""
        now = self._now_ns if ts_ns is None else max(ts_ns, self._now_ns)
        n_steps, d_bid, d_ask = self._window(now)
        mid = self._mid
        lam_bid = self._lambda_curve(d_bid, n_steps)
        lam_ask = self._lambda_curve(d_ask, n_steps)
        cnt_bid = self._counts(d_bid)
        cnt_ask = self._counts(d_ask)
        lam_pool = 0.5 * (lam_bid + lam_ask)
        fits = {
            "bid": self._fit_curve(lam_bid, cnt_bid >= self.min_count, n_steps, mid, now),
            "ask": self._fit_curve(lam_ask, cnt_ask >= self.min_count, n_steps, mid, now),
            "pooled": self._fit_curve(lam_pool, (cnt_bid + cnt_ask) >= 2 * self.min_count, n_steps, mid, now),
        }
        self._fits = fits
        self._last_fit_ns = now
        return fits

    def _counts(self, depths: np.ndarray) -> np.ndarray:
        if depths.size == 0:
            return np.zeros(self.grid.size, dtype=int)
        srt = np.sort(depths[np.isfinite(depths)])
        return srt.size - np.searchsorted(srt, self.grid, side="right")

    def fit(self, side: str = "pooled", ts_ns: int | None = None) -> IntensityFit | None:
        """The latest fit for ``side`` ("pooled", "bid" = our bids, hit by sellers; "ask" = our
        asks, lifted by buyers), refitted first if ``refit_every_s`` has passed. None before any event."""
        if side not in self.SIDES:
            raise ValueError(f"side must be one of {self.SIDES}, got {side!r}")
        now = self._now_ns if ts_ns is None else max(ts_ns, self._now_ns)
        if now < 0:
            return None
        if self._fits is None or now - self._last_fit_ns >= self.refit_every_ns:
            self.refit(now)
        return self._fits[side]
