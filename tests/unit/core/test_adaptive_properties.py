"""Property tests (hypothesis) of Toxicity, AutoTuner and DynamicSizer: on any event sequence their
outputs stay finite and inside their documented bounds."""

from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from botmm_nautilus.core.adjust import OwnFill
from botmm_nautilus.core.adjust import QuoteContext
from botmm_nautilus.core.autotune import AutoTuner
from botmm_nautilus.core.params import AutoTuneParams
from botmm_nautilus.core.params import SizingParams
from botmm_nautilus.core.params import ToxicityParams
from botmm_nautilus.core.sizing import DynamicSizer
from botmm_nautilus.core.toxicity import Toxicity

S = 1_000_000_000

# one event: (seconds since the previous event, kind, log-return of the mid, side, qty, position in lots)
event = st.tuples(
    st.floats(0.0, 20.0), st.sampled_from(["mid", "fill", "decide"]), st.floats(-0.05, 0.05),
    st.booleans(), st.floats(1e-4, 5.0), st.floats(-12.0, 12.0),
)


def _run(events):
    tox = Toxicity(ToxicityParams(horizons_s=(1.0, 5.0), min_markouts=1, pause_s=10.0, max_pending=16))
    tuner = AutoTuner(AutoTuneParams(window_s=120, eval_interval_s=5, min_intervals=2, min_quoted_decisions=2,
                                     spread_step=0.5, size_step=0.3, skew_step_bps=2.0, drawdown_threshold_frac=0.001))
    sizer = DynamicSizer(SizingParams(fill_window_s=30), toxicity=tox)
    ts = 0
    mid = 100.0
    out = []
    for dt, kind, r, is_buy, qty, pos in events:
        ts += int(dt * S)
        if kind == "mid":
            mid = min(max(mid * math.exp(r), 1e-3), 1e9)
            tox.on_mid(ts, mid)
            tuner.on_mid(ts, mid)
        elif kind == "fill":
            f = OwnFill(ts, is_buy, mid * (1 - r / 10), qty, mid)
            for a in (tox, tuner, sizer):
                a.on_fill(f)
        else:
            c = QuoteContext(ts_ns=ts, mid=mid, best_bid=mid * 0.9999, best_ask=mid * 1.0001, sigma_price=abs(r) * mid,
                             position_base=pos * 10.0 / mid, max_position_usd=100.0, equity_usd=1000.0 + pos * r * 100,
                             capital_usd=1000.0, order_size_usd=150.0, tick_size=0.01)
            scores = (tox.score("bid", ts), tox.score("ask", ts))
            out.append((c, scores, tox.adjust(c), tuner.adjust(c), sizer.adjust(c)))
            tuner.on_decision(ts, is_buy or qty > 1, not is_buy)
    return tox, tuner, sizer, out


@settings(max_examples=60, deadline=None)
@given(st.lists(event, min_size=40, max_size=300))
def test_outputs_stay_finite_and_bounded(events):
    tox, tuner, sizer, out = _run(events)
    tp, ap, sp = tox.params, tuner.params, sizer.params
    bands = {1.0, tp.low_mult, tp.mid_mult, tp.high_mult}
    for c, scores, t, a, z in out:
        assert all(0.0 <= x <= 1.0 for x in scores)
        assert t.bid_spread_mult in bands and t.ask_spread_mult in bands
        assert ap.min_spread_mult <= a.bid_spread_mult <= ap.max_spread_mult
        assert ap.min_size_mult <= a.bid_size_mult <= 1.0
        assert 0.0 <= tuner.skew_bps <= ap.max_skew_bps and math.isfinite(a.fair_shift_bps)
        lo = sp.min_side_usd / c.order_size_usd
        hi = max(c.equity_usd * sp.equity_fraction * sp.total_max, sp.min_side_usd) / c.order_size_usd
        for m in (z.bid_size_mult, z.ask_size_mult):
            assert lo - 1e-12 <= m <= hi + 1e-12
    assert len(tox._pending) <= tp.max_pending
    for f in (tox, tuner, sizer):
        json.dumps(f.state(), allow_nan=False)
