"""Hyperliquid's rate-limit rules as numbers (venue/limits.py), checked against the documented
figures (HYPERLIQUID_PROTOCOL.md 7.6)."""

from __future__ import annotations

from botmm_nautilus.venue.limits import BUDGET_EXHAUSTED
from botmm_nautilus.venue.limits import BUDGET_OK
from botmm_nautilus.venue.limits import BUDGET_SHORT
from botmm_nautilus.venue.limits import address_budget_state
from botmm_nautilus.venue.limits import cancel_cap
from botmm_nautilus.venue.limits import info_weight


def test_info_weights_with_item_surcharges():
    assert info_weight("l2Book") == info_weight("allMids") == info_weight("orderStatus") == 2
    assert info_weight("userRole") == 60
    assert info_weight("frontendOpenOrders") == info_weight("userRateLimit") == 20
    assert info_weight("userFills", 45) == 20 + 2
    assert info_weight("userFillsByTime", 2000) == 20 + 100
    assert info_weight("candleSnapshot", 130) == 20 + 2
    assert info_weight("candleSnapshot", 59) == 20
    assert info_weight("frontendOpenOrders", 500) == 20  # no surcharge for open orders


def test_cancel_cap_is_the_smaller_of_cap_plus_100000_and_twice_the_cap():
    assert cancel_cap(10_000) == 20_000
    assert cancel_cap(150_000) == 250_000


def test_budget_state_short_by_fraction_or_runway_exhausted_until_resume():
    kw = dict(short_frac=0.1, short_s=3600.0, resume_actions=50)
    assert address_budget_state(5_000, 10_000, 0.0, was_exhausted=False, **kw) == BUDGET_OK
    assert address_budget_state(999, 10_000, 0.0, was_exhausted=False, **kw) == BUDGET_SHORT
    # 5000 left at 2 actions/s lasts 42 min < 60 min: short
    assert address_budget_state(5_000, 10_000, 2.0, was_exhausted=False, **kw) == BUDGET_SHORT
    assert address_budget_state(0, 10_000, 0.0, was_exhausted=False, **kw) == BUDGET_EXHAUSTED
    assert address_budget_state(-3, 10_000, 0.0, was_exhausted=False, **kw) == BUDGET_EXHAUSTED
    # after exhaustion: held until resume_actions are left
    assert address_budget_state(20, 10_000, 0.0, was_exhausted=True, **kw) == BUDGET_EXHAUSTED
    assert address_budget_state(20, 10_000, 0.0, was_exhausted=False, **kw) == BUDGET_SHORT
    assert address_budget_state(60, 10_000, 0.0, was_exhausted=True, **kw) == BUDGET_SHORT
