"""Confidence intervals of a run's net PnL: a seeded moving-block bootstrap over PnL increments.

Method (stated in every ablation result as ``CI_METHOD``):

1. The run's mark-to-market equity tape (one sample per ``backtest.sample_interval_s``) is cut into
   ``n`` equal buckets of the window (``bucket_s``; hourly on long windows; the ablation cuts its
   windows to the catalog's data range first, so no bucket lies outside the data). The equity at an inner
   bucket edge is the last sample at or before it (the starting balance before the first sample);
   the equity at the window's end is ``starting balance + net_pnl_usd``. The ``n`` increments
   therefore sum exactly to the run's net PnL (funding and fees included, the final position marked
   at the mid).
2. A moving-block bootstrap (Kunsch 1989) draws ``ceil(n / L)`` blocks of ``L`` consecutive
   increments with replacement (block starts uniform over the ``n - L + 1`` possible ones), keeps
   the first ``n`` values and sums them; ``L = max(1, round(n ** (1/3)))`` keeps short-range
   autocorrelation (inventory carried from one bucket to the next) inside blocks.
3. The 95 % interval is the 2.5 % and 97.5 % percentiles of ``resamples`` such sums (percentile
   method), with a seeded ``numpy.random.default_rng``: the same inputs give the same interval.

The difference of a variant against the baseline on the same window is bootstrapped the same way
on the paired per-bucket differences ``increment_variant - increment_baseline`` (both runs replay
the same market, so the pairing removes the market's common moves).

What it does not cover: the interval is the sampling noise of THIS market path under the
assumption that bucket increments are stationary with short memory; it says nothing about other
regimes, and with fewer than about a dozen buckets it is too narrow to trust.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 20250904
DEFAULT_LEVEL = 0.95
MIN_BUCKETS_FOR_CI = 12  # fewer: the interval is reported but flagged
# candidate bucket lengths (s) of the automatic choice, longest first (hourly when the window allows it)
AUTO_BUCKETS_S = (3600, 1800, 900, 600, 300, 120, 60, 30, 10, 5, 1)

CI_METHOD = (
    "95% percentile interval of a seeded moving-block bootstrap (block length round(n^(1/3))) of the net PnL's "
    "per-bucket increments of the mark-to-market equity tape (they sum exactly to net PnL); differences vs the "
    "baseline variant are bootstrapped on the per-bucket paired differences (same window, same buckets)"
)


class Interval(NamedTuple):
    estimate: float  # the observed sum
    low: float
    high: float
    n: int  # increments (buckets)
    block_len: int


def block_length(n: int) -> int:
    """Moving-block length for ``n`` increments: ``max(1, round(n ** (1/3)))`` (1 for n < 2)."""
    return max(1, round(n ** (1 / 3))) if n >= 2 else 1


def block_bootstrap_sum_ci(
    increments,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    level: float = DEFAULT_LEVEL,
    block_len: int | None = None,
) -> Interval:
    """The ``level`` percentile interval of the sum of ``increments`` (module docstring, step 2-3).

    NaN increments are not allowed (a ``ValueError``); an empty series gives ``(0, 0, 0)``."""
    x = np.asarray(increments, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"increments must be one-dimensional, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("increments must be finite (no NaN or inf)")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    n = len(x)
    total = float(math.fsum(x))
    if n == 0:
        return Interval(0.0, 0.0, 0.0, 0, 1)
    L = block_len if block_len is not None else block_length(n)
    L = max(1, min(int(L), n))
    n_blocks = math.ceil(n / L)
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n - L + 1, size=(resamples, n_blocks))
    idx = (starts[:, :, None] + np.arange(L)[None, None, :]).reshape(resamples, n_blocks * L)[:, :n]
    sums = x[idx].sum(axis=1)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(sums, [alpha, 1.0 - alpha])
    # a constant series: every resample is the same sum; keep the interval exactly degenerate
    if np.all(x == x[0]):
        low = high = total
    return Interval(total, float(low), float(high), n, L)


def auto_bucket_s(window_seconds: float, min_buckets: int = MIN_BUCKETS_FOR_CI) -> int:
    """The longest of ``AUTO_BUCKETS_S`` that cuts a window of ``window_seconds`` into at least
    ``min_buckets`` buckets (hourly for windows of 12 h and more); 1 s for shorter windows."""
    for b in AUTO_BUCKETS_S:
        if window_seconds / b >= min_buckets:
            return b
    return AUTO_BUCKETS_S[-1]


def bucket_edges_ns(start_ns: int, end_ns: int, bucket_ns: int) -> np.ndarray:
    """Edges ``start, start + b, ..., end`` (the last bucket may be shorter; one of less than half a
    bucket is merged into the one before it)."""
    if end_ns <= start_ns:
        raise ValueError(f"window end {end_ns} is not after its start {start_ns}")
    if bucket_ns <= 0:
        raise ValueError(f"bucket length must be > 0 ns, got {bucket_ns}")
    inner = np.arange(start_ns + bucket_ns, end_ns, bucket_ns, dtype=np.int64)
    if len(inner) and end_ns - inner[-1] < bucket_ns / 2:
        inner = inner[:-1]
    return np.concatenate([[start_ns], inner, [end_ns]]).astype(np.int64)


def pnl_increments(
    sample_ts_ns,
    equity_usd,
    edges_ns: np.ndarray,
    starting_equity_usd: float,
    net_pnl_usd: float,
) -> np.ndarray:
    """Per-bucket changes of the mark-to-market equity (module docstring, step 1); they sum to
    ``net_pnl_usd``. NaN equity samples are ignored."""
    ts = np.asarray(sample_ts_ns, dtype=np.int64)
    eq = np.asarray(equity_usd, dtype=np.float64)
    ok = np.isfinite(eq)
    ts, eq = ts[ok], eq[ok]
    order = np.argsort(ts, kind="stable")
    ts, eq = ts[order], eq[order]
    inner = edges_ns[1:-1]
    pos = np.searchsorted(ts, inner, side="right") - 1
    level = np.where(pos >= 0, eq[np.clip(pos, 0, None)] if len(eq) else starting_equity_usd, starting_equity_usd)
    levels = np.concatenate([[starting_equity_usd], level, [starting_equity_usd + net_pnl_usd]])
    return np.diff(levels)
