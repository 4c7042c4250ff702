"""Risk rules: every rule is triggered and then released back to quoting. Numbers are hand computed."""

from __future__ import annotations

import math

import pytest

from botmm_nautilus.core.params import RiskParams
from botmm_nautilus.core.risk import RiskDecision
from botmm_nautilus.core.risk import RiskEvent
from botmm_nautilus.core.risk import RiskManager
from botmm_nautilus.core.risk import RiskState

S = 1_000_000_000
DAY1 = 1_735_689_600 * S  # 2025-01-01T00:00:00Z
DAY2 = DAY1 + 86_400 * S  # 2025-01-02T00:00:00Z


def at(h: int = 0, m: int = 0, s: float = 0.0, day0: int = DAY1) -> int:
    return day0 + h * 3600 * S + m * 60 * S + int(s * S)


# The rules these tests were written against: no absolute position cap (capital x 1 only), a
# post-only storm at 5 rejects, the kill switch flattens. (The shipped defaults differ: 500 USD,
# 20 rejects, no flatten; see docs/CONFIG.md.)
BASE = dict(max_position_usd=None, post_only_reject_count=5, flatten_on_kill=True)


def params(**overrides) -> RiskParams:
    return RiskParams(**{**BASE, **overrides})


def quiet(**overrides) -> RiskParams:
    """A config whose other rules stay out of the way of the rule under test."""
    base = dict(
        max_daily_loss_frac=0.5,
        max_drawdown_frac=0.9,
        mid_jump_frac=None,
        stale_book_s=None,
    )
    base.update(overrides)
    return params(**base)


def assert_quoting(d: RiskDecision) -> None:
    assert d.state is RiskState.QUOTING
    assert d.can_quote_bid and d.can_quote_ask
    assert not d.cancel_all and not d.flatten
    assert d.reasons == ()


def assert_paused(d: RiskDecision, state: RiskState = RiskState.PAUSED) -> None:
    assert d.state is state
    assert not d.can_quote_bid and not d.can_quote_ask
    assert d.cancel_all


# --------------------------------------------------------------------------- daily loss


def test_daily_loss_pauses_until_next_utc_day_then_fresh_baseline():
    rm = RiskManager(quiet(max_daily_loss_frac=0.05), capital_usd=10_000.0)  # limit 500 USD/day
    assert_quoting(rm.update(at(0, 0, 5), 10_000.0, 100.0))
    assert_quoting(rm.update(at(12), 9_600.0, 100.0))  # -400 = 4.0 %
    d = rm.update(at(23), 9_480.0, 100.0)  # -520 = 5.2 %
    assert_paused(d)
    assert any("daily loss 5.2% >= 5.0% of capital" in r and "paused until 2025-01-02T00:00:00Z" in r for r in d.reasons)
    assert_paused(rm.update(at(23, 59), 10_100.0, 100.0))  # recovering intraday does not resume
    d = rm.update(at(0, 0, 1, day0=DAY2), 9_480.0, 100.0)
    assert_quoting(d)
    assert rm.status()["day_start_equity_usd"] == 9_480.0
    # the new day's limit counts from the new baseline, not from the 10,000 start (not cumulative)
    assert_quoting(rm.update(at(1, day0=DAY2), 9_000.0, 100.0))  # -480 today, -1,000 overall
    assert_paused(rm.update(at(2, day0=DAY2), 8_970.0, 100.0))  # -510 today = 5.1 %
    events = rm.drain_events()
    assert [(e.old_state, e.new_state) for e in events] == [
        (RiskState.QUOTING, RiskState.PAUSED),
        (RiskState.PAUSED, RiskState.QUOTING),
        (RiskState.QUOTING, RiskState.PAUSED),
    ]
    assert "new UTC day 2025-01-02" in events[1].reason
    assert events[0].ts_ns == at(23)
    assert rm.drain_events() == []


def test_daily_loss_limit_scales_with_capital():
    # the limit is a fraction of the configured capital, not of the equity: 5 % of 20,000 = 1,000 USD
    rm = RiskManager(quiet(max_daily_loss_frac=0.05), capital_usd=20_000.0)
    assert rm.daily_loss_limit_usd == pytest.approx(1_000.0)
    rm.update(at(1), 10_000.0, 100.0)
    assert_quoting(rm.update(at(2), 9_200.0, 100.0))  # -800 = 4 % of 20,000
    d = rm.update(at(3), 9_000.0, 100.0)  # -1,000 = 5 %
    assert_paused(d)
    assert any("daily loss 5.0% >= 5.0% of capital 20000.00" in r for r in d.reasons)


# --------------------------------------------------------------------------- drawdown from peak


def test_drawdown_trails_peak_and_halts_until_restart():
    rm = RiskManager(quiet(max_drawdown_frac=0.05), capital_usd=100.0)
    assert_quoting(rm.update(at(1), 100.0, 50.0))
    assert_quoting(rm.update(at(2), 110.0, 50.0))
    assert_quoting(rm.update(at(3), 105.0, 50.0))  # 4.5 % below 110
    d = rm.update(at(4), 104.0, 50.0)  # 5.45 % below the peak, though still above the 100 start
    assert_paused(d, RiskState.HALTED)
    assert not d.flatten
    assert any("drawdown 5.5% from peak 110.00 >= 5.0%; halted until reset" in r for r in d.reasons)
    assert_paused(rm.update(at(5), 109.0, 50.0), RiskState.HALTED)  # no automatic resume, even recovered
    assert_paused(rm.update(at(30), 120.0, 50.0), RiskState.HALTED)  # not even at a new peak
    assert rm.status()["peak_equity_usd"] == 120.0
    events = rm.drain_events()
    assert [e.new_state for e in events] == [RiskState.HALTED]
    # a restart is a new manager: it starts from the equity it first sees
    assert_quoting(RiskManager(quiet(max_drawdown_frac=0.05), capital_usd=100.0).update(at(31), 104.0, 50.0))


def test_drawdown_auto_resume_after_configured_time():
    rm = RiskManager(quiet(max_drawdown_frac=0.05, drawdown_resume_after_s=600.0), capital_usd=100.0)
    rm.update(at(1), 110.0, 50.0)
    d = rm.update(at(2), 104.0, 50.0)
    assert_paused(d, RiskState.HALTED)
    assert any("halted until 2025-01-01T02:10:00Z" in r for r in d.reasons)
    assert_paused(rm.update(at(2, 9, 59), 104.0, 50.0), RiskState.HALTED)
    assert_quoting(rm.update(at(2, 10), 104.0, 50.0))
    assert rm.status()["peak_equity_usd"] == 104.0  # re-based, else it would halt again at once
    assert_quoting(rm.update(at(2, 11), 99.5, 50.0))  # 4.3 % below 104
    assert_paused(rm.update(at(2, 12), 98.8, 50.0), RiskState.HALTED)  # 5.0 % below 104


def test_halt_flatten_flag():
    rm = RiskManager(quiet(max_drawdown_frac=0.05, halt_flatten=True), capital_usd=100.0)
    rm.update(at(1), 100.0, 50.0)
    d = rm.update(at(2), 94.0, 50.0)
    assert d.state is RiskState.HALTED and d.flatten


def test_automatic_kill_on_deep_drawdown():
    rm = RiskManager(quiet(max_drawdown_frac=0.05, kill_drawdown_frac=0.08, drawdown_resume_after_s=7200.0), capital_usd=100.0)
    rm.update(at(1), 110.0, 50.0)
    assert_paused(rm.update(at(1, 30), 104.0, 50.0), RiskState.HALTED)  # 5.5 %: halt, no kill
    d = rm.update(at(2), 101.0, 50.0)  # 8.2 % below 110: the kill switch
    assert_paused(d, RiskState.KILLED)
    assert d.flatten  # flatten_on_kill is on in these tests
    assert d.reasons[0] == "kill switch: drawdown 8.2% from peak 110.00 >= 8.0% (automatic); cancel all and flatten until reset"
    assert set(rm.status()["conditions"]) == {"drawdown", "kill"}
    # the halt (from 01:30) ends after drawdown_resume_after_s (2 h); the kill switch does not
    d = rm.update(at(4), 101.0, 50.0)
    assert_paused(d, RiskState.KILLED)
    assert set(rm.status()["conditions"]) == {"kill"}
    assert [e.new_state for e in rm.drain_events()] == [RiskState.HALTED, RiskState.KILLED, RiskState.KILLED]
    # without flatten_on_kill the kill switch cancels only
    rm = RiskManager(quiet(max_drawdown_frac=0.05, kill_drawdown_frac=0.08, flatten_on_kill=False), capital_usd=100.0)
    rm.update(at(1), 110.0, 50.0)
    d = rm.update(at(2), 100.0, 50.0)
    assert d.state is RiskState.KILLED and d.cancel_all and not d.flatten


# --------------------------------------------------------------------------- one-side stop / max position


def test_one_side_stop_long_disables_bids_until_reduced():
    rm = RiskManager(quiet(max_position_usd=1_000.0), capital_usd=10_000.0)
    assert rm.max_position_usd == 1_000.0  # min(1,000, 1.0 x 10,000)
    d = rm.update(at(1), 10_000.0, 100.0, worst_case_long_usd=850.0, worst_case_short_usd=850.0)
    assert d.state is RiskState.REDUCE_ONLY
    assert not d.can_quote_bid and d.can_quote_ask and not d.cancel_all
    assert any("bids off: worst-case long 85.0% of max position 1000.00 >= 80.0% one-side stop" in r for r in d.reasons)
    # still over the stop: unchanged (the last exposures are kept when not given)
    d = rm.update(at(1, 1), 10_000.0, 100.0)
    assert d.state is RiskState.REDUCE_ONLY and not d.can_quote_bid
    assert_quoting(rm.update(at(1, 2), 10_000.0, 100.0, worst_case_long_usd=700.0, worst_case_short_usd=700.0))
    events = rm.drain_events()
    assert [(e.old_state, e.new_state) for e in events] == [
        (RiskState.QUOTING, RiskState.REDUCE_ONLY),
        (RiskState.REDUCE_ONLY, RiskState.QUOTING),
    ]
    assert "bids back on" in events[1].reason


def test_one_side_stop_short_disables_asks():
    rm = RiskManager(quiet(max_position_usd=1_000.0), capital_usd=10_000.0)
    d = rm.update(at(1), 10_000.0, 100.0, worst_case_long_usd=-850.0, worst_case_short_usd=-850.0)
    assert d.state is RiskState.REDUCE_ONLY and d.can_quote_bid and not d.can_quote_ask
    assert_quoting(rm.update(at(2), 10_000.0, 100.0, worst_case_long_usd=-700.0, worst_case_short_usd=-700.0))


def test_open_orders_count_towards_the_limit():
    # long 6 at 100 (600 USD = 60 % of max) with 2.5 to buy and 1 to sell in open orders:
    # worst-case long (6 + 2.5) x 100 = 850 USD >= 800 -> bids off; worst-case short (6 - 1) x 100 = +500
    rm = RiskManager(quiet(max_position_usd=1_000.0), capital_usd=10_000.0)
    d = rm.update(at(1), 10_000.0, 100.0, worst_case_long_usd=(6.0 + 2.5) * 100.0, worst_case_short_usd=(6.0 - 1.0) * 100.0)
    assert not d.can_quote_bid and d.can_quote_ask
    d = rm.update(at(2), 10_000.0, 100.0, worst_case_long_usd=(6.0 + 0.5) * 100.0, worst_case_short_usd=(6.0 - 1.0) * 100.0)
    assert_quoting(d)  # 650 USD


def test_max_position_scales_with_capital():
    rm = RiskManager(quiet(max_position_capital_mult=0.1), capital_usd=10_000.0)
    assert rm.max_position_usd == pytest.approx(1_000.0)
    assert not rm.update(at(1), 10_000.0, 100.0, worst_case_long_usd=850.0).can_quote_bid  # 850 >= 80 % of 1,000
    rm = RiskManager(quiet(max_position_capital_mult=0.1), capital_usd=20_000.0)
    assert rm.max_position_usd == pytest.approx(2_000.0)
    assert rm.update(at(1), 10_000.0, 100.0, worst_case_long_usd=850.0).can_quote_bid
    # an absolute cap wins when smaller
    rm2 = RiskManager(quiet(max_position_usd=500.0, max_position_capital_mult=0.1), capital_usd=20_000.0)
    assert rm2.max_position_usd == pytest.approx(500.0)


def test_no_side_is_quoted_while_killed_even_inside_the_limits():
    rm = RiskManager(quiet(max_position_usd=1_000.0), capital_usd=10_000.0)
    rm.kill(at(1), "test")
    d = rm.update(at(2), 10_000.0, 100.0, worst_case_long_usd=0.0, worst_case_short_usd=0.0)
    assert_paused(d, RiskState.KILLED)


# --------------------------------------------------------------------------- volatility


def vol_rm(**kw) -> RiskManager:
    cfg = quiet(vol_min_samples=5, vol_baseline_sample_s=1.0, vol_spike_cooldown_s=300.0,
                vol_spike_ratio=3.0, vol_resume_ratio=2.0, **kw)
    rm = RiskManager(cfg, capital_usd=10_000.0)
    for k in range(10):  # baseline 1.0 from 10 one-second samples
        assert_quoting(rm.update(at(1, 0, k), 10_000.0, 100.0, sigma=1.0))
    assert rm.status()["vol_baseline"] == pytest.approx(1.0)
    return rm


def test_vol_spike_pauses_then_resumes_after_cooldown_and_normal_vol():
    rm = vol_rm()
    t_spike = at(1, 0, 10)
    d = rm.update(t_spike, 10_000.0, 100.0, sigma=3.5)
    assert_paused(d)
    assert any(r.startswith("vol spike: sigma 3.50x baseline >= 3x") for r in d.reasons)
    assert_paused(rm.update(t_spike + 100 * S, 10_000.0, 100.0, sigma=1.0))  # normal, but cooling down
    assert_paused(rm.update(t_spike + 300 * S, 10_000.0, 100.0, sigma=2.5))  # cooled down, not normal
    d = rm.update(t_spike + 301 * S, 10_000.0, 100.0, sigma=1.2)
    assert_quoting(d)
    events = rm.drain_events()
    assert [(e.old_state, e.new_state) for e in events] == [
        (RiskState.QUOTING, RiskState.PAUSED),
        (RiskState.PAUSED, RiskState.QUOTING),
    ]
    assert "cooldown elapsed" in events[1].reason


def test_vol_spike_cooldown_restarts_on_each_spiking_reading():
    rm = vol_rm()
    t = at(1, 0, 10)
    assert_paused(rm.update(t, 10_000.0, 100.0, sigma=3.5))
    assert_paused(rm.update(t + 200 * S, 10_000.0, 100.0, sigma=4.0))  # spikes again
    assert_paused(rm.update(t + 301 * S, 10_000.0, 100.0, sigma=1.0))  # only 101 s after the last spike
    assert_quoting(rm.update(t + 500 * S, 10_000.0, 100.0, sigma=1.0))


def test_elevated_vol_widens_and_shrinks_without_pausing():
    rm = vol_rm(vol_widen_start_ratio=1.5, vol_max_spread_multiplier=2.0, vol_min_size_multiplier=0.5)
    d = rm.update(at(1, 0, 9.5), 10_000.0, 100.0, sigma=2.25)  # ratio 2.25: halfway from 1.5 to 3.0
    assert d.state is RiskState.QUOTING and d.can_quote_bid and d.can_quote_ask
    assert d.spread_multiplier == pytest.approx(1.5)
    assert d.size_multiplier == pytest.approx(0.75)
    d = rm.update(at(1, 0, 9.6), 10_000.0, 100.0, sigma=1.2)
    assert d.spread_multiplier == 1.0 and d.size_multiplier == 1.0


def test_vol_rule_waits_for_min_samples():
    rm = RiskManager(quiet(vol_min_samples=5), capital_usd=10_000.0)
    rm.update(at(1), 10_000.0, 100.0, sigma=1.0)
    rm.update(at(1, 0, 1), 10_000.0, 100.0, sigma=1.0)
    assert_quoting(rm.update(at(1, 0, 2), 10_000.0, 100.0, sigma=10.0))  # 2 samples < 5


# --------------------------------------------------------------------------- stale book


def test_stale_book_pauses_until_fresh_book():
    rm = RiskManager(quiet(stale_book_s=5.0), capital_usd=10_000.0)
    t = at(1)
    assert_quoting(rm.update(t, 10_000.0, 100.0, last_book_ts_ns=t))
    assert_quoting(rm.update(t + int(4.9 * S), 10_000.0, 100.0))
    d = rm.update(t + 5 * S, 10_000.0, 100.0)
    assert_paused(d)
    assert any(r.startswith("stale book: no update for 5.0s >= 5s") for r in d.reasons)
    assert_paused(rm.update(t + 6 * S, 10_000.0, 100.0))
    assert_quoting(rm.update(t + int(6.1 * S), 10_000.0, 100.0, last_book_ts_ns=t + 6 * S))
    assert_paused(rm.update(t + 20 * S, 10_000.0, 100.0))
    assert_quoting(rm.update(t + 21 * S, 10_000.0, 100.0, last_book_ts_ns=t + 20 * S))


def test_check_stale_between_updates_pauses_without_new_data_and_agrees_with_update():
    rm = RiskManager(quiet(stale_book_s=5.0), capital_usd=10_000.0)
    twin = RiskManager(quiet(stale_book_s=5.0), capital_usd=10_000.0)
    t = at(1)
    for m in (rm, twin):
        assert_quoting(m.update(t, 10_000.0, 100.0, last_book_ts_ns=t))
    assert_quoting(rm.check_stale(t + int(4.9 * S), t))  # a timer tick, no data: still fresh
    d = rm.check_stale(t + 5 * S, t)  # the book stopped: paused by the timer alone
    assert_paused(d)
    assert d.reasons == twin.update(t + 5 * S, 10_000.0, 100.0).reasons  # the same rule as update()
    assert_paused(rm.check_stale(t + 6 * S, None))
    assert_quoting(rm.check_stale(t + int(6.1 * S), t + 6 * S))  # a fresh book's time clears it


# --------------------------------------------------------------------------- post-only reject storm / API errors


def test_post_only_reject_storm_pauses_for_configured_time():
    cfg = quiet(post_only_reject_count=3, post_only_reject_window_s=10.0, post_only_reject_pause_s=30.0)
    rm = RiskManager(cfg, capital_usd=10_000.0)
    t = at(1)
    rm.update(t, 10_000.0, 100.0)
    assert rm.on_post_only_reject(t) is RiskState.QUOTING
    assert rm.on_post_only_reject(t + 2 * S) is RiskState.QUOTING
    assert rm.on_post_only_reject(t + 4 * S) is RiskState.PAUSED
    d = rm.update(t + 5 * S, 10_000.0, 100.0)
    assert_paused(d)
    assert any("post-only reject storm: 3 in 10s >= 3; paused until 2025-01-01T01:00:34Z" in r for r in d.reasons)
    assert_paused(rm.update(t + int(33.9 * S), 10_000.0, 100.0))
    assert_quoting(rm.update(t + 34 * S, 10_000.0, 100.0))


def test_spread_out_post_only_rejects_do_not_pause():
    cfg = quiet(post_only_reject_count=3, post_only_reject_window_s=10.0, post_only_reject_pause_s=30.0)
    rm = RiskManager(cfg, capital_usd=10_000.0)
    t = at(1)
    for k in (0, 6, 12, 18):  # never 3 within 10 s
        assert rm.on_post_only_reject(t + k * S) is RiskState.QUOTING
    assert_quoting(rm.update(t + 19 * S, 10_000.0, 100.0))


def test_api_error_storm_pauses_then_resumes():
    cfg = quiet(api_error_count=5, api_error_window_s=60.0, api_error_pause_s=120.0)
    rm = RiskManager(cfg, capital_usd=10_000.0)
    t = at(1)
    for k in range(4):
        assert rm.on_api_error(t + k * S) is RiskState.QUOTING
    assert rm.on_api_error(t + 4 * S) is RiskState.PAUSED
    assert_paused(rm.update(t + 123 * S, 10_000.0, 100.0))
    assert_quoting(rm.update(t + 124 * S, 10_000.0, 100.0))


# --------------------------------------------------------------------------- mid jump, invalid inputs


def test_mid_jump_pauses_then_resumes():
    rm = RiskManager(quiet(mid_jump_frac=0.02, mid_jump_window_s=60.0, mid_jump_pause_s=120.0), capital_usd=10_000.0)
    t = at(1)
    assert_quoting(rm.update(t, 10_000.0, 100.0))
    assert_quoting(rm.update(t + 10 * S, 10_000.0, 101.0))  # +1 %
    d = rm.update(t + 20 * S, 10_000.0, 102.5)  # +2.5 % from 100 twenty seconds ago
    assert_paused(d)
    assert any(r.startswith("mid jump +2.50% from 100 (20s ago) to 102.5") for r in d.reasons)
    assert_paused(rm.update(t + 139 * S, 10_000.0, 102.5))
    assert_quoting(rm.update(t + 140 * S, 10_000.0, 102.5))


def test_invalid_inputs_pause_until_valid():
    rm = RiskManager(quiet(), capital_usd=10_000.0)
    assert_quoting(rm.update(at(1), 10_000.0, 100.0))
    assert_paused(rm.update(at(2), math.nan, 100.0))
    assert_paused(rm.update(at(3), 10_000.0, 0.0))
    assert_quoting(rm.update(at(4), 10_000.0, 100.0))
    assert rm.status()["peak_equity_usd"] == 10_000.0  # the NaN never reached the peak


# --------------------------------------------------------------------------- kill switch


def test_kill_switch_cancels_flattens_and_stays():
    rm = RiskManager(quiet(), capital_usd=10_000.0)
    assert_quoting(rm.update(at(1), 10_000.0, 100.0))
    assert rm.kill(at(2), "operator request", flatten=True) is RiskState.KILLED
    d = rm.update(at(2, 0, 1), 10_000.0, 100.0)
    assert_paused(d, RiskState.KILLED)
    assert d.flatten
    assert d.reasons == ("kill switch: operator request; cancel all and flatten until reset",)
    assert_paused(rm.update(at(5), 10_000.0, 100.0), RiskState.KILLED)  # no automatic resume
    assert_paused(rm.update(at(0, day0=DAY2), 10_100.0, 100.0), RiskState.KILLED)  # not even on a new day
    events = rm.drain_events()
    assert events == [
        RiskEvent(at(2), RiskState.QUOTING, RiskState.KILLED,
                  "kill switch: operator request; cancel all and flatten until reset"),
    ]


def test_kill_without_flatten_and_precedence_over_pause():
    rm = RiskManager(quiet(stale_book_s=5.0), capital_usd=10_000.0)
    rm.update(at(1), 10_000.0, 100.0, last_book_ts_ns=at(1))
    assert_paused(rm.update(at(1, 0, 10), 10_000.0, 100.0))  # stale
    rm.kill(at(1, 0, 11), "supervisor", flatten=False)
    d = rm.update(at(1, 0, 12), 10_000.0, 100.0)
    assert d.state is RiskState.KILLED and d.cancel_all and not d.flatten
    assert len(d.reasons) == 2 and d.reasons[0].startswith("kill switch: supervisor")
    # the book turns fresh: the stale-book pause ends, the kill switch stays
    d = rm.update(at(1, 0, 14), 10_000.0, 100.0, last_book_ts_ns=at(1, 0, 14))
    assert_paused(d, RiskState.KILLED)
    assert len(d.reasons) == 1


# --------------------------------------------------------------------------- general properties


def test_unchanged_decision_is_the_same_object():
    rm = RiskManager(quiet(), capital_usd=10_000.0)
    d1 = rm.update(at(1), 10_000.0, 100.0)
    d2 = rm.update(at(1, 0, 1), 10_001.0, 100.0)
    assert d1 is d2


def test_clock_going_backwards_is_clamped():
    rm = RiskManager(quiet(stale_book_s=5.0), capital_usd=10_000.0)
    rm.update(at(1), 10_000.0, 100.0, last_book_ts_ns=at(1))
    assert_paused(rm.update(at(1, 0, 6), 10_000.0, 100.0))
    assert_paused(rm.update(at(1, 0, 2), 10_000.0, 100.0))  # an earlier ts does not un-stale the book


def test_deterministic_replay():
    def run() -> tuple[list, list]:
        rm = RiskManager(params(vol_min_samples=3), capital_usd=1_000.0)
        out = []
        for k in range(600):
            eq = 1_000.0 - 0.2 * k if k < 400 else 920.0 + k * 0.01
            sigma = 5.0 if k % 97 == 50 else 1.0 + (k % 5) * 0.05
            out.append(rm.update(at(1, 0, k), eq, 100.0 + (k % 7) * 0.1, sigma=sigma, last_book_ts_ns=at(1, 0, k)))
            if k % 50 == 0:
                rm.on_post_only_reject(at(1, 0, k))
        return out, rm.drain_events()

    a, b = run(), run()
    assert a == b
    kinds = {e.reason.split(":")[0].split(" ")[0] for e in a[1]}
    assert {"vol", "daily"} <= kinds  # the run exercised several rules


def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match="max_daily_loss_frac"):
        params(max_daily_loss_frac=5.0)
    with pytest.raises(ValueError, match="kill_drawdown_frac"):
        params(max_drawdown_frac=0.1, kill_drawdown_frac=0.05)
    with pytest.raises(ValueError, match="vol_resume_ratio"):
        params(vol_spike_ratio=3.0, vol_resume_ratio=4.0)
    with pytest.raises(ValueError, match="max_position"):
        params(max_position_usd=None, max_position_capital_mult=None)
    with pytest.raises(ValueError, match="capital_usd"):
        RiskManager(params(), capital_usd=0.0)


def test_vol_thresholds_default_relative_to_spike_ratio():
    c = params()  # spike 3.0
    assert c.effective_vol_resume_ratio == pytest.approx(2.0)
    assert c.effective_vol_widen_start_ratio == pytest.approx(1.5)
    c = params(vol_spike_ratio=6.0)
    assert c.effective_vol_resume_ratio == pytest.approx(4.0)
    assert c.effective_vol_widen_start_ratio == pytest.approx(3.0)
    c = params(vol_spike_ratio=3.0, vol_resume_ratio=1.2, vol_widen_start_ratio=2.0)
    assert c.effective_vol_resume_ratio == 1.2 and c.effective_vol_widen_start_ratio == 2.0


# --------------------------------------------------------------------------- outside holds


def test_outside_hold_pauses_until_released_and_keys_are_independent():
    rm = RiskManager(quiet(), capital_usd=1000.0)
    assert_quoting(rm.update(at(0), 1000.0, 100.0))
    rm.hold(at(0, 0, 1), "stale_book", "BTC book 12.0 s old")
    rm.hold(at(0, 0, 2), "dead_man", "scheduleCancel refused")
    assert rm.held() == ("stale_book", "dead_man")
    d = rm.update(at(0, 0, 3), 1000.0, 100.0)
    assert_paused(d)
    assert any("BTC book 12.0 s old" in r for r in d.reasons)
    rm.release(at(0, 0, 4), "stale_book", "book fresh")
    assert_paused(rm.update(at(0, 0, 5), 1000.0, 100.0))  # dead_man still held
    rm.release(at(0, 0, 6), "dead_man", "set")
    rm.release(at(0, 0, 7), "never_held", "no-op")
    assert rm.held() == ()
    assert_quoting(rm.update(at(0, 0, 8), 1000.0, 100.0))
    kinds = [(e.old_state, e.new_state) for e in rm.drain_events()]
    assert (RiskState.QUOTING, RiskState.PAUSED) in kinds and kinds[-1] == (RiskState.PAUSED, RiskState.QUOTING)


def test_outside_hold_does_not_lift_a_kill():
    rm = RiskManager(quiet(), capital_usd=1000.0)
    rm.kill(at(0), "operator")
    rm.hold(at(0, 0, 1), "rate_budget", "exhausted")
    rm.release(at(0, 0, 2), "rate_budget", "refilled")
    assert_paused(rm.update(at(0, 0, 3), 1000.0, 100.0), RiskState.KILLED)


# --------------------------------------------------------------------------- persistence (snapshot / restore)


def test_snapshot_restore_round_trip_is_json_and_keeps_baselines():
    import json

    rm = RiskManager(quiet(max_daily_loss_frac=0.05), capital_usd=100.0)
    rm.update(at(0, 10), 100.0, 50.0)  # the day's baseline: 100
    rm.update(at(1), 110.0, 50.0)  # the peak: 110
    rm.update(at(2), 104.0, 50.0)
    snap = json.loads(json.dumps(rm.snapshot()))  # plain data, JSON round trip
    assert snap["day_start_equity_usd"] == 100.0 and snap["peak_equity_usd"] == 110.0
    assert snap["kill"] is None and snap["halt"] is None
    fresh = RiskManager(quiet(max_daily_loss_frac=0.05), capital_usd=100.0)
    assert fresh.restore(at(3), snap) is RiskState.QUOTING
    assert fresh.snapshot() == snap
    # the restored baseline applies: 95 is a 5 % loss from the day's 100 (a fresh manager would
    # take 95 as the new baseline and keep quoting)
    assert_paused(fresh.update(at(3, 0, 1), 95.0, 50.0))
    assert "daily_loss" in fresh.status()["conditions"]
    unrestored = RiskManager(quiet(max_daily_loss_frac=0.05), capital_usd=100.0)
    assert_quoting(unrestored.update(at(3, 0, 1), 95.0, 50.0))


def test_restored_baseline_of_another_day_is_not_applied_but_the_peak_is():
    rm = RiskManager(quiet(max_daily_loss_frac=0.05, max_drawdown_frac=0.2), capital_usd=100.0)
    rm.update(at(1), 120.0, 50.0)
    snap = rm.snapshot()
    fresh = RiskManager(quiet(max_daily_loss_frac=0.05, max_drawdown_frac=0.2), capital_usd=100.0)
    fresh.restore(at(0, day0=DAY2), snap)
    assert_quoting(fresh.update(at(0, 1, day0=DAY2), 100.0, 50.0))  # new day: fresh baseline 100
    assert fresh.status()["day_start_equity_usd"] == 100.0
    # the peak of yesterday still counts: 95 is 20.8 % below 120
    assert_paused(fresh.update(at(0, 2, day0=DAY2), 95.0, 50.0), RiskState.HALTED)


def test_restored_kill_stays_killed_until_reset():
    rm = RiskManager(quiet(), capital_usd=100.0)
    rm.update(at(1), 100.0, 50.0)
    rm.kill(at(1, 5), "operator: test", flatten=True)
    snap = rm.snapshot()
    assert snap["kill"]["flatten"] is True and "operator: test" in snap["kill"]["reason"]
    fresh = RiskManager(quiet(), capital_usd=100.0)
    assert fresh.restore(at(0, day0=DAY2), snap) is RiskState.KILLED
    d = fresh.update(at(0, 1, day0=DAY2), 100.0, 50.0)
    assert_paused(d, RiskState.KILLED)
    assert d.flatten
    assert d.reasons[0].startswith("restored from state: kill switch: operator: test")
    # restored twice: said once
    again = RiskManager(quiet(), capital_usd=100.0)
    again.restore(at(0, day0=DAY2), fresh.snapshot())
    assert again.snapshot()["kill"]["reason"].count("restored from state: ") == 1
    assert_paused(fresh.update(at(5, day0=DAY2), 100.0, 50.0), RiskState.KILLED)
    fresh.reset_kill(at(6, day0=DAY2), "operator reset")
    assert_quoting(fresh.update(at(6, 0, 1, day0=DAY2), 100.0, 50.0))
    assert fresh.snapshot()["kill"] is None


def test_restored_halt_stays_until_reset_or_its_end_and_reset_rebases_the_peak():
    rm = RiskManager(quiet(max_drawdown_frac=0.05), capital_usd=100.0)
    rm.update(at(1), 110.0, 50.0)
    assert_paused(rm.update(at(2), 104.0, 50.0), RiskState.HALTED)
    snap = rm.snapshot()
    assert snap["halt"]["until_ns"] is None
    fresh = RiskManager(quiet(max_drawdown_frac=0.05), capital_usd=100.0)
    fresh.restore(at(3), snap)
    assert_paused(fresh.update(at(3, 0, 1), 108.0, 50.0), RiskState.HALTED)  # within the limit now, still halted
    fresh.reset_halt(at(3, 1), "operator reset")
    assert_quoting(fresh.update(at(3, 2), 108.0, 50.0))
    assert fresh.status()["peak_equity_usd"] == 108.0
    # a timed halt whose end has passed is not restored
    timed = RiskManager(quiet(max_drawdown_frac=0.05, drawdown_resume_after_s=600.0), capital_usd=100.0)
    timed.update(at(1), 110.0, 50.0)
    timed.update(at(2), 104.0, 50.0)
    later = RiskManager(quiet(max_drawdown_frac=0.05, drawdown_resume_after_s=600.0), capital_usd=100.0)
    assert later.restore(at(3), timed.snapshot()) is RiskState.QUOTING
    still = RiskManager(quiet(max_drawdown_frac=0.05, drawdown_resume_after_s=600.0), capital_usd=100.0)
    assert still.restore(at(2, 5), timed.snapshot()) is RiskState.HALTED


def test_restore_rejects_a_bad_snapshot_naming_the_field():
    rm = RiskManager(quiet(), capital_usd=100.0)
    with pytest.raises(ValueError, match="version"):
        rm.restore(at(1), {"version": 99})
    good = rm.snapshot()
    with pytest.raises(ValueError, match="peak_equity_usd"):
        rm.restore(at(1), {**good, "peak_equity_usd": "lots"})
    with pytest.raises(ValueError, match="kill"):
        rm.restore(at(1), {**good, "kill": {"reason": 1}})


def test_a_second_kill_keeps_its_reason_and_adds_the_flatten():
    rm = RiskManager(quiet(), capital_usd=100.0)
    rm.update(at(1), 100.0, 50.0)
    rm.kill(at(1, 1), "first", flatten=False)
    rm.kill(at(1, 2), "second", flatten=True)
    d = rm.update(at(1, 3), 100.0, 50.0)
    assert d.flatten and d.reasons == ("kill switch: first; cancel all and flatten until reset",)


def test_rebase_takes_the_next_equity_as_baseline_and_peak_and_ends_a_daily_loss_pause():
    rm = RiskManager(quiet(max_daily_loss_frac=0.05, max_drawdown_frac=0.2), capital_usd=100.0)
    rm.update(at(1), 120.0, 50.0)
    assert_paused(rm.update(at(2), 110.0, 50.0))  # 10 % of capital lost today: paused until tomorrow
    # a withdrawal of 30 would look like a 25 % drawdown from 120; the operator re-bases
    rm.rebase(at(3), "operator reset after a withdrawal")
    assert_quoting(rm.update(at(3, 0, 1), 80.0, 50.0))
    status = rm.status()
    assert status["peak_equity_usd"] == 80.0 and status["day_start_equity_usd"] == 80.0
    assert_paused(rm.update(at(4), 75.0, 50.0))  # the daily limit counts from the new baseline
