"""The run's tapes as sorted numpy arrays, and the small calculations every report shares.

Pure numpy / pandas. ``metrics`` (the summary figures) and ``attribution`` (the PnL split) both read
the fills and mids through these functions, so a fill is sorted, a mid is looked up and a position is
average-costed in one way only. Sign conventions: ``botmm_nautilus.reports.artifacts``.
"""

from __future__ import annotations

import math
from typing import Any
from typing import NamedTuple

import numpy as np
import pandas as pd

NS = 1_000_000_000
HOUR_NS = 3600 * NS
DAY_NS = 86_400 * NS


class FillArrays(NamedTuple):
    """The fills tape as numpy arrays in time order (one row per Nautilus ``OrderFilled`` event)."""

    ts: np.ndarray  # int64 ns
    side: np.ndarray  # +1 buy / -1 sell (float64)
    price: np.ndarray
    qty: np.ndarray  # base, > 0
    fee: np.ndarray  # USD, + = cost
    maker: np.ndarray  # bool: liquidity == 'MAKER'
    mid_fill: np.ndarray  # book mid when the fill happened


def fill_arrays(fills: pd.DataFrame) -> FillArrays:
    """The fills frame as ``FillArrays``, sorted by time (stable)."""
    if len(fills) == 0:
        e = np.empty(0)
        return FillArrays(np.empty(0, dtype=np.int64), e, e, e, e, np.empty(0, dtype=bool), e)
    ts = fills["ts_ns"].to_numpy(dtype=np.int64)
    order = np.argsort(ts, kind="stable") if not (np.diff(ts) >= 0).all() else slice(None)
    return FillArrays(
        ts[order],
        fills["side"].to_numpy(dtype=np.float64)[order],
        fills["price"].to_numpy(dtype=np.float64)[order],
        fills["qty"].to_numpy(dtype=np.float64)[order],
        fills["fee_usd"].to_numpy(dtype=np.float64)[order],
        (fills["liquidity"].astype(str).str.upper() == "MAKER").to_numpy(dtype=bool)[order],
        fills["mid_at_fill"].to_numpy(dtype=np.float64)[order],
    )


def mid_arrays(mids: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(ts_ns, mid) sorted by time, non-finite mids dropped."""
    if len(mids) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    ts = mids["ts_ns"].to_numpy(dtype=np.int64)
    mv = mids["mid"].to_numpy(dtype=np.float64)
    ok = np.isfinite(mv)
    if not ok.all():
        ts, mv = ts[ok], mv[ok]
    if len(ts) > 1 and not (np.diff(ts) >= 0).all():
        order = np.argsort(ts, kind="stable")
        ts, mv = ts[order], mv[order]
    return ts, mv


def mid_at(mts: np.ndarray, mv: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Previous-tick mid at each time in ``t`` (the last mid with ts <= t); NaN before the first mid."""
    t = np.asarray(t, dtype=np.int64)
    if len(mts) == 0:
        return np.full(t.shape, np.nan)
    idx = np.searchsorted(mts, t, side="right") - 1
    out = mv[np.clip(idx, 0, None)]
    return np.where(idx >= 0, out, np.nan)


def wmean(x: np.ndarray, w: np.ndarray) -> float:
    """Weighted mean; NaN when the weights sum to zero or less."""
    sw = float(np.sum(w))
    return float(np.sum(x * w) / sw) if sw > 0 else math.nan


def count_venue_fills(ts: np.ndarray, side: np.ndarray, price: np.ndarray, order_id: np.ndarray | None = None) -> int:
    """Venue-like fills: the ``OrderFilled`` events of one order at one instant count once.

    The Nautilus matching engine reports one match of our order as several ``OrderFilled`` events
    (one per slice of the queue ahead of or behind us), all with the same timestamp; the venue
    would report one fill. With ``order_id`` (the client order id of each event) the key is
    (order, instant); without it, (side, price, instant), which also merges two of our orders at
    the same price.
    """
    if len(ts) == 0:
        return 0
    if order_id is not None:
        keys = pd.DataFrame({"ts": ts, "order_id": np.asarray(order_id, dtype=object)})
        return int(len(keys.drop_duplicates()))
    order = np.lexsort((price, side, ts))
    t, s, p = ts[order], side[order], price[order]
    new = np.ones(len(t), dtype=bool)
    new[1:] = (t[1:] != t[:-1]) | (s[1:] != s[:-1]) | (p[1:] != p[:-1])
    return int(new.sum())


def average_cost(
    side: np.ndarray,
    qty: np.ndarray,
    price: np.ndarray,
    initial_position: float = 0.0,
    initial_price: float = math.nan,
) -> tuple[float, float, float]:
    """Average-cost book-keeping over fills in time order: (realised PnL before fees, final position, average entry).

    A fill that flips the position closes the old one at its price and opens the remainder at the
    same price. The entry is NaN when flat. Sequential by nature (a position that flips resets its
    entry), so a plain loop: ~50 ms per 1e5 fills.
    """
    pos = float(initial_position)
    avg = float(initial_price) if pos != 0.0 else math.nan
    realized = 0.0
    for s, q, p in zip(side.tolist(), qty.tolist(), price.tolist()):
        d = s * q
        if pos == 0.0:
            pos, avg = d, p
            continue
        if (pos > 0.0) == (d > 0.0):
            new = pos + d
            avg = (avg * abs(pos) + p * q) / abs(new)
            pos = new
            continue
        closed = min(q, abs(pos))
        realized += closed * (p - avg) * (1.0 if pos > 0 else -1.0)
        new = pos + d
        tol = 1e-12 * max(1.0, abs(pos), q)
        if abs(new) <= tol:
            pos, avg = 0.0, math.nan
        elif (new > 0.0) != (pos > 0.0):
            pos, avg = new, p
        else:
            pos = new
    return realized, pos, (avg if pos != 0.0 else math.nan)


def periodic_sharpe(
    ts_ns: np.ndarray,
    equity: np.ndarray,
    start_ns: int,
    end_ns: int,
    start_equity: float,
    period_ns: int,
    periods_per_year: float,
    min_periods: int = 2,
) -> tuple[float, int, np.ndarray, str]:
    """Annualised Sharpe of equity changes over complete windows of ``period_ns`` from ``start_ns``.

    Equity at a window end is the last sample at or before it (``start_equity`` at ``start_ns``).
    Returns (sharpe, number of windows, the per-window changes, note). NaN below ``min_periods``.
    """
    n = int((end_ns - start_ns) // period_ns) if end_ns > start_ns else 0
    if n < min_periods:
        return math.nan, n, np.empty(0), f"{n} complete window(s) of {period_ns / HOUR_NS:g} h; need at least {min_periods}"
    bounds = start_ns + period_ns * np.arange(1, n + 1, dtype=np.int64)
    idx = np.searchsorted(ts_ns, bounds, side="right") - 1
    eq_end = np.where(idx >= 0, equity[np.clip(idx, 0, None)] if len(equity) else start_equity, start_equity)
    levels = np.concatenate([[start_equity], eq_end])
    changes = np.diff(levels)
    sd = float(np.std(changes, ddof=1))
    if not sd > 0:
        return math.nan, n, changes, f"{n} windows but the equity changes have zero spread"
    return float(np.mean(changes) / sd * math.sqrt(periods_per_year)), n, changes, f"{n} complete windows"


def time_weights(ts: np.ndarray, end_ns: int | None) -> np.ndarray:
    """How long each sample stood: the gap to the next one; the last one stands until ``end_ns``, at most a typical gap."""
    if len(ts) == 0:
        return np.empty(0)
    if len(ts) == 1:
        return np.ones(1)
    dt = np.diff(ts).astype(np.float64)
    typical = float(np.median(dt)) if len(dt) else 1.0
    last = float(end_ns - ts[-1]) if end_ns is not None and end_ns > ts[-1] else typical
    return np.concatenate([dt, [min(last, typical)]])


class SampleArrays(NamedTuple):
    """The ~1 s samples as numpy arrays in time order."""

    ts: np.ndarray  # int64 ns
    equity: np.ndarray  # mark-to-market equity, USD
    position: np.ndarray  # base, signed
    mid: np.ndarray
    bid: np.ndarray  # our best bid quote, NaN when not quoting that side
    ask: np.ndarray


def sample_arrays(samples: pd.DataFrame) -> SampleArrays:
    """The samples frame as ``SampleArrays``, sorted by time (stable)."""
    s = samples.sort_values("ts_ns", kind="stable") if len(samples) else samples
    return SampleArrays(
        s["ts_ns"].to_numpy(dtype=np.int64),
        s["equity_usd"].to_numpy(dtype=np.float64),
        s["position_base"].to_numpy(dtype=np.float64),
        s["mid"].to_numpy(dtype=np.float64),
        s["bid_quote"].to_numpy(dtype=np.float64),
        s["ask_quote"].to_numpy(dtype=np.float64),
    )


def find_config_value(config: Any, key: str) -> Any:
    """First value of ``key`` anywhere in a nested config dict (sections), else None."""
    if isinstance(config, dict):
        if key in config:
            return config[key]
        for v in config.values():
            found = find_config_value(v, key)
            if found is not None:
                return found
    return None
