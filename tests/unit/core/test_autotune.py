"""AutoTuner: each rule fires on a scripted run with its reason logged, bounds hold, drift reset, own PnL."""

from __future__ import annotations

import math

import pytest

from botmm_nautilus.core.adjust import OwnFill
from botmm_nautilus.core.adjust import QuoteContext
from botmm_nautilus.core.autotune import AutoTuner
from botmm_nautilus.core.autotune import OwnPnL
from botmm_nautilus.core.params import AutoTuneParams

S = 1_000_000_000


def ctx(ts_s: float, mid: float = 100.0, position_base: float = 0.0, capital: float = 1000.0) -> QuoteContext:
    return QuoteContext(
        ts_ns=int(ts_s * S), mid=mid, best_bid=mid - 0.01, best_ask=mid + 0.01, sigma_price=0.01,
        position_base=position_base, max_position_usd=1000.0, equity_usd=capital, capital_usd=capital,
        order_size_usd=100.0, tick_size=0.01,
    )


def fill(ts_s: float, is_buy: bool, price: float, qty: float = 1.0) -> OwnFill:
    return OwnFill(ts_ns=int(ts_s * S), is_buy=is_buy, price=price, qty=qty, mid=price)


def test_own_pnl_is_cash_plus_position_at_mid_less_the_maker_fee():
    pnl = OwnPnL(maker_fee_bps=1.5)
    pnl.on_fill(fill(0, True, 100.0, 2.0))  # cash −200 − 200·1.5e-4 = −200.03
    pnl.on_fill(fill(1, False, 101.0, 1.0))  # cash +101 − 101·1.5e-4 = −99.04515
    assert pnl.position == 1.0 and pnl.cash == pytest.approx(-99.04515)
    assert pnl.equity(102.0) == pytest.approx(2.95485)  # −99.04515 + 1·102


def test_negative_rolling_sharpe_widens_and_is_logged_with_its_reason():
    tuner = AutoTuner(AutoTuneParams(window_s=300, eval_interval_s=60, min_intervals=3))
    tuner.on_fill(fill(0, True, 100.0))  # long 1 at 100: equity = mid − 100
    mids = [100.0, 99.9, 99.7, 99.6]  # equity 0, −0.1, −0.3, −0.4: interval PnL −0.1, −0.2, −0.1
    for i, m in enumerate(mids[:3]):
        assert tuner.adjust(ctx(60 * i, m, position_base=1.0)).neutral  # fewer than 3 intervals: quiet
    a = tuner.adjust(ctx(180, mids[3], position_base=1.0))
    # mean −0.4/3 = −0.13333, sample std sqrt((0.03333² + 0.06667² + 0.03333²)/2) = 0.057735: Sharpe −2.3094
    assert tuner.last["sharpe"] == pytest.approx(-0.4 / 3 / math.sqrt((2 * (0.1 / 3) ** 2 + (0.2 / 3) ** 2) / 2))
    assert tuner.spread_mult == 1.1 and a.bid_spread_mult == 1.1 and a.ask_spread_mult == 1.1
    assert [c.text for c in tuner.changes] == ["spread_mult 1.00 -> 1.10: rolling Sharpe -2.31 < 0 over 180 s (3 intervals)"]
    assert tuner.changes[0].ts_ns == 180 * S and tuner.changes[0].source == "autotune"


def test_no_evaluation_between_intervals_and_bounds_hold():
    tuner = AutoTuner(AutoTuneParams(window_s=300, eval_interval_s=60, min_intervals=2, spread_step=0.3, max_spread_mult=2.0))
    tuner.on_fill(fill(0, True, 100.0))
    mid = 100.0
    for i in range(12):
        mid -= 0.1 * (1 + i % 2)  # a steady loss with varying steps
        tuner.adjust(ctx(60 * i, mid, position_base=1.0))
        tuner.adjust(ctx(60 * i + 30, mid - 5, position_base=1.0))  # mid-interval: not evaluated
    assert tuner.evaluations == 12
    assert tuner.spread_mult == 2.0  # 1.0 -> 1.3 -> 1.6 -> 1.9 -> 2.0 (bound), then no more changes
    assert [c.text.split(":")[0] for c in tuner.changes] == [
        "spread_mult 1.00 -> 1.30", "spread_mult 1.30 -> 1.60", "spread_mult 1.60 -> 1.90", "spread_mult 1.90 -> 2.00"]


def _quoted_run(tuner: AutoTuner, t0: float, n: int, fills_every: int) -> None:
    """``n`` quoted decisions 1 s apart from ``t0``, a fill at the mid (no PnL) every ``fills_every``."""
    for i in range(n):
        t = t0 + i
        tuner.adjust(ctx(t))
        tuner.on_decision(int(t * S), True, True)
        if fills_every and i % fills_every == fills_every - 1:
            tuner.on_fill(fill(t, i % 2 == 0, 100.0))


def test_low_fill_rate_tightens_down_to_the_bound():
    tuner = AutoTuner(AutoTuneParams(window_s=100, eval_interval_s=50, min_quoted_decisions=20, min_fill_rate=0.15,
                                     spread_step=0.1, min_spread_mult=0.8))
    _quoted_run(tuner, 0, 300, fills_every=20)  # 5 % of quoted decisions filled
    # evaluations at 0, 50, 100, ...: at 50 s, 50 quoted decisions and 2 fills (at 19 s and 39 s) -> 4 %
    assert tuner.changes[0].ts_ns == 50 * S
    assert tuner.changes[0].text == "spread_mult 1.00 -> 0.90: fill rate 4.0% (2 fills / 50 quoted decisions) < 15% over 100 s"
    assert tuner.spread_mult == 0.8 and len(tuner.changes) == 2  # 0.9, then 0.8: the floor


def test_a_healthy_fill_rate_does_not_tighten():
    tuner = AutoTuner(AutoTuneParams(window_s=100, eval_interval_s=50, min_quoted_decisions=20))
    _quoted_run(tuner, 0, 300, fills_every=4)  # 25 %
    assert tuner.changes == [] and tuner.spread_mult == 1.0
    assert tuner.last["fill_rate"] == pytest.approx(0.25, abs=0.02)


def test_inventory_above_threshold_raises_skew_against_it():
    tuner = AutoTuner(AutoTuneParams(eval_interval_s=60, skew_step_bps=0.5, max_skew_bps=1.0))
    a = tuner.adjust(ctx(0, 100.0, position_base=8.0))  # 8 x 100 / 1000 = 80 % > 70 %
    assert tuner.skew_bps == 0.5 and a.fair_shift_bps == pytest.approx(-0.5 * 0.8)
    assert tuner.changes[0].text == "skew_bps 0.00 -> 0.50: |inventory| 80% of max position > 70%"
    a = tuner.adjust(ctx(60, 100.0, position_base=-9.0))  # short 90 %: skew 1.0, shift +0.9 bps (up, against a short)
    assert tuner.skew_bps == 1.0 and a.fair_shift_bps == pytest.approx(0.9)
    tuner.adjust(ctx(120, 100.0, position_base=-9.0))
    assert tuner.skew_bps == 1.0 and len(tuner.changes) == 2  # bound


def test_drawdown_over_the_window_cuts_size():
    tuner = AutoTuner(AutoTuneParams(window_s=300, eval_interval_s=60, drawdown_threshold_frac=0.01, min_intervals=100))
    tuner.on_fill(fill(0, True, 100.0, 10.0))  # long 10
    tuner.adjust(ctx(0, 100.0, position_base=10.0, capital=1000.0))
    tuner.adjust(ctx(60, 100.5, position_base=10.0, capital=1000.0))  # equity +5: the peak
    assert tuner.size_mult == 1.0
    a = tuner.adjust(ctx(120, 99.4, position_base=10.0, capital=1000.0))  # equity −6: drawdown 11 / 1000 = 1.1 %
    assert tuner.size_mult == 0.9 and a.bid_size_mult == 0.9 and a.ask_size_mult == 0.9
    assert tuner.changes[-1].text == "size_mult 1.00 -> 0.90: drawdown 1.10% of capital > 1.00% over 120 s"


def test_drift_reset_returns_to_neutral_after_quiet_time():
    tuner = AutoTuner(AutoTuneParams(eval_interval_s=60, window_s=120, reset_after_s=300, skew_step_bps=0.5))
    tuner.adjust(ctx(0, 100.0, position_base=8.0))
    tuner.adjust(ctx(60, 100.0, position_base=8.0))  # skew 1.0, last firing at 60 s
    assert tuner.skew_bps == 1.0
    for t in range(120, 360, 60):  # 120..300: quiet but < 300 s since the last firing
        tuner.adjust(ctx(t, 100.0))
    assert tuner.skew_bps == 1.0
    tuner.adjust(ctx(360, 100.0))  # 300 s quiet: one step back
    assert tuner.skew_bps == 0.5 and tuner.changes[-1].text == "skew_bps 1.00 -> 0.50: drift reset: no rule fired for 300 s"
    tuner.adjust(ctx(420, 100.0))
    assert tuner.skew_bps == 0.0 and tuner.adjust(ctx(480, 100.0)).neutral
    assert tuner.fired["reset"] == 2 and len(tuner.changes) == 4


def test_tightened_spread_also_drifts_back_up_to_one():
    tuner = AutoTuner(AutoTuneParams(window_s=60, eval_interval_s=60, min_quoted_decisions=5, reset_after_s=120))
    _quoted_run(tuner, 0, 61, fills_every=0)  # no fills: evaluations at 0 (5 needed) and 60 -> 0.9
    assert tuner.spread_mult == 0.9
    for t in (121, 181, 241):  # no quoted decisions anymore: the fill-rate rule is quiet
        tuner.adjust(ctx(t))
    assert tuner.spread_mult == 1.0 and "drift reset" in tuner.changes[-1].text


def test_future_mids_do_not_change_past_adjustments():
    def run(tail):
        tuner = AutoTuner(AutoTuneParams(window_s=300, eval_interval_s=60, min_intervals=2))
        tuner.on_fill(fill(0, True, 100.0))
        path = [(60 * i, 100.0 - 0.05 * i * (i % 3)) for i in range(6)] + tail
        return [(t, tuner.adjust(ctx(t, m, position_base=1.0))) for t, m in path]
    a = run([(360, 100.0), (420, 100.0)])
    b = run([(360, 90.0), (420, 80.0)])
    assert [x for t, x in a if t < 360] == [x for t, x in b if t < 360]
    assert a[-1][1] != b[-1][1]


def test_a_losing_book_is_widened_not_tightened_even_with_a_low_fill_rate():
    tuner = AutoTuner(AutoTuneParams(window_s=300, eval_interval_s=60, min_intervals=2, min_quoted_decisions=100))
    tuner.on_fill(fill(0, True, 100.0))  # long 1; then no fill in 300 quoted decisions (fill rate 1/n < 15 %)
    mid = 100.0
    for i in range(300):
        if i % 60 == 0:
            mid -= 0.1 if i % 120 else 0.2
        tuner.adjust(ctx(i, mid, position_base=1.0))
        tuner.on_decision(i * S, True, True)
    assert tuner.fired["sharpe"] >= 2 and tuner.fired["fill_rate"] == 0
    assert tuner.spread_mult > 1.0 and all("Sharpe" in c.text for c in tuner.changes)
