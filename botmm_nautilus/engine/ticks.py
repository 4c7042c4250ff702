"""Fixed-point conversion: prices and sizes as integer ticks and lots (``value * 10**decimals``).

Prices and sizes travel through the importers, the recorder and the live book path as integers so
that book diffs compare exact integers and Nautilus objects are built with ``from_raw``
(raw = ticks * 10**(FIXED_PRECISION - decimals)), never from floats that could carry noise. Wire
text (Hyperliquid's decimal strings) is parsed exactly by ``venue.messages``; :func:`to_ticks`
converts whole numeric columns (CSV recordings).
"""

from __future__ import annotations

import numpy as np


def to_ticks(values: np.ndarray, decimals: int) -> tuple[np.ndarray, np.ndarray]:
    """``(ticks, bad)``: ``values * 10**decimals`` rounded to int64, and a mask of the values that
    are not finite or not a whole number of ticks (beyond float noise of a few ulps)."""
    values = np.asarray(values, dtype=np.float64)
    scaled = values * (10.0**decimals)
    finite = np.isfinite(scaled)
    rounded = np.rint(np.where(finite, scaled, 0.0))
    noise = 1e-7 + 2e-15 * np.abs(rounded)
    bad = ~finite | (np.abs(scaled - rounded) > noise)
    return rounded.astype(np.int64), bad


def format_ticks(ticks: int, decimals: int) -> str:
    """Integer ticks back to decimal text (for error messages)."""
    if decimals <= 0:
        return str(ticks)
    sign = "-" if ticks < 0 else ""
    whole, frac = divmod(abs(int(ticks)), 10**decimals)
    return f"{sign}{whole}.{frac:0{decimals}d}"
