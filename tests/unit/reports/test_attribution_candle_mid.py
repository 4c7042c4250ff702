"""The mid a fill is split against is the one known when it happened, never the fill bar's close."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from botmm_nautilus.reports import compute_attribution

BAR_NS = 300 * 10**9


def _frames(mid_at_fill: float):
    # candle-mode tape: one mid per bar close; a buy filled during bar 2 is stamped at bar 2's close
    mids = pd.DataFrame({"ts_ns": [BAR_NS, 2 * BAR_NS, 3 * BAR_NS], "mid": [100.0, 90.0, 95.0]})
    fills = pd.DataFrame({"ts_ns": [2 * BAR_NS], "side": [1], "price": [99.0], "qty": [1.0], "fee_usd": [0.0],
                          "liquidity": ["MAKER"], "mid_at_fill": [mid_at_fill]})
    funding = pd.DataFrame(columns=["ts_ns", "rate", "position_base", "price", "payment_usd"])
    return fills, mids, funding


def test_missing_fill_mid_falls_back_to_the_last_mid_before_the_fill():
    """Bar 1 closed at 100 (known when the bid at 99 was hit during bar 2); bar 2's close, 90, came
    with the fill's timestamp but after the fill. Spread capture is 100 - 99 = +1, not 90 - 99."""
    fills, mids, funding = _frames(math.nan)
    a = compute_attribution(fills, mids, funding, final_mid=95.0, markout_horizon_s=60.0)
    c = a["components"]
    assert c["spread_capture_usd"] == pytest.approx(1.0)
    assert c["adverse_selection_usd"] == pytest.approx(90.0 - 100.0)  # mid 60 s after the stamp: bar 2's close
    assert a["total_usd"] == pytest.approx(95.0 - 99.0)


def test_recorded_fill_mid_is_used_as_is():
    fills, mids, funding = _frames(100.0)
    a = compute_attribution(fills, mids, funding, final_mid=95.0, markout_horizon_s=60.0)
    assert a["components"]["spread_capture_usd"] == pytest.approx(1.0)
