"""The adaptive core and its features (core/adaptive.py), without Nautilus.

Base ladder (tests/unit/core/test_decision.py works it out): mid 10,000 on a 0.01 tick / 0.0001 lot
grid with a 10 USD minimum, GLFT with the calibration defaults, flat:
bids (9997.90, 0.0093), (9996.90, 0.0057); asks (10002.10, 0.0093), (10003.10, 0.0057).
"""

from __future__ import annotations

import random

import pytest

from botmm_nautilus.core.adaptive import AdaptiveCore
from botmm_nautilus.core.adaptive import FillRateAdjuster
from botmm_nautilus.core.adaptive import InventoryDecay
from botmm_nautilus.core.adaptive import RegimeAdjuster
from botmm_nautilus.core.adaptive import build_adjusters
from botmm_nautilus.core.adjust import Adjuster
from botmm_nautilus.core.adjust import Adjustment
from botmm_nautilus.core.adjust import OwnFill
from botmm_nautilus.core.adjust import QuoteContext
from botmm_nautilus.core.decision import MarketMakerCore
from botmm_nautilus.core.grid import TickLotGrid
from botmm_nautilus.core.params import AdaptiveParams
from botmm_nautilus.core.params import CalibrationParams
from botmm_nautilus.core.params import QuotingParams
from botmm_nautilus.core.params import RiskParams
from botmm_nautilus.core.params import SignalsParams

S = 1_000_000_000
T0 = 1_757_000_000 * S
MIN = 60 * S


class Fixed(Adjuster):
    """Says the same adjustment every time and records what it is fed."""

    name = "fixed"

    def __init__(self, adj: Adjustment | None = None, book_levels: int = 0) -> None:
        super().__init__()
        self.adj = adj or Adjustment()
        self.book_levels = book_levels
        self.mids: list[tuple[int, float]] = []
        self.trades = 0
        self.fills: list[OwnFill] = []
        self.decisions: list[tuple[int, bool, bool]] = []
        self.ctx: QuoteContext | None = None

    def on_mid(self, ts_ns, mid):
        self.mids.append((ts_ns, mid))

    def on_trade(self, ts_ns, price, size, aggressor_is_buyer):
        self.trades += 1

    def on_fill(self, fill):
        self.fills.append(fill)

    def on_decision(self, ts_ns, quoted_bid, quoted_ask):
        self.decisions.append((ts_ns, quoted_bid, quoted_ask))

    def adjust(self, ctx):
        self.ctx = ctx
        return self.adj


def grid() -> TickLotGrid:
    return TickLotGrid(0.01, 0.0001, min_value_usd=10.0)


def sections(quoting=None, signals=None, risk=None):
    return (quoting or QuotingParams(), CalibrationParams(), risk or RiskParams(), signals or SignalsParams())


def adaptive(*adjusters, quoting=None, signals=None, risk=None) -> AdaptiveCore:
    return AdaptiveCore(*sections(quoting, signals, risk), grid=grid(), capital_usd=10_000.0, maker_fee_bps=1.5,
                        adjusters=list(adjusters))


def base(quoting=None, signals=None, risk=None) -> MarketMakerCore:
    return MarketMakerCore(*sections(quoting, signals, risk), grid=grid(), capital_usd=10_000.0, maker_fee_bps=1.5)


def at_10000(c, ts=T0, bid=9999.5, ask=10000.5):
    c.on_book(ts, bid, ask)
    return c


# ----------------------------------------------------------------------------- the core's plumbing


def test_neutral_adjusters_quote_exactly_like_the_base_core():
    """A random book walk with trades and positions: an AdaptiveCore whose adjuster changes nothing
    (the whole adaptive path runs) and one with no adjuster give the base core's decisions."""
    rng = random.Random(7)
    cores = [base(), adaptive(), adaptive(Fixed())]
    mid = 10_000.0
    ts = T0
    for i in range(600):
        ts += rng.randint(50, 900) * 1_000_000
        mid *= 1 + rng.gauss(0, 2e-5)
        half = rng.choice([0.5, 1.0, 2.5])
        pos = rng.choice([0.0, 0.01, -0.02, 0.035])
        out = []
        for c in cores:
            c.on_book(ts, round(mid - half, 2), round(mid + half, 2))
            if i % 3 == 0:
                c.on_trade(ts, round(mid + half, 2), 0.1, True)
            d = c.decide(ts, pos, 10_000.0, open_buy_qty=0.002 if i % 5 == 0 else 0.0)
            out.append((d.bids, d.asks, d.risk.state))
        assert out[0] == out[1] == out[2]
    assert cores[2].adjusters[0].decisions[-1][0] == ts


def test_events_reach_the_adjusters_mid_only_when_it_changes():
    f = Fixed()
    c = adaptive(f)
    at_10000(c, T0)
    at_10000(c, T0 + S)  # same touch: no mid change
    c.on_book(T0 + 2 * S, 9999.5, 10001.5)  # mid 10000.5
    c.on_trade(T0 + 2 * S, 10001.5, 0.1, True)
    c.on_fill(OwnFill(T0 + 3 * S, True, 9999.5, 0.001, 10000.5))
    assert f.mids == [(T0, 10_000.0), (T0 + 2 * S, 10_000.5)]
    assert f.trades == 1 and len(f.fills) == 1
    c.on_bar(T0 + 300 * S, 10000, 10010, 9990, 10005.0)  # candle mode: the close
    assert f.mids[-1] == (T0 + 300 * S, 10_005.0)


def test_context_and_on_decision():
    f = Fixed(Adjustment(pull_ask=True))
    c = at_10000(adaptive(f))
    d = c.decide(T0 + S, 0.02, 10_050.0)
    ctx = f.ctx
    assert (ctx.ts_ns, ctx.mid, ctx.best_bid, ctx.best_ask, ctx.position_base) == (T0 + S, 10_000.0, 9999.5, 10000.5, 0.02)
    assert ctx.max_position_usd == 500.0 and ctx.inventory_frac == pytest.approx(0.4)  # 0.02 * 10000 / 500
    assert ctx.sigma_price == pytest.approx(1.0)  # default 1 bp/√s of 10,000 until the estimator is ready
    assert d.asks == [] and d.bids
    assert f.decisions == [(T0 + S, True, False)]


def test_book_levels_requested_by_an_adjuster_reach_the_context():
    f = Fixed(book_levels=2)
    c = adaptive(f)
    assert c.book_levels == 2
    at_10000(c)
    c.on_book_levels(T0, [3.0, 1.0, 9.0], [1.0, 2.0, 9.0])
    c.decide(T0, 0.0, 10_000.0)
    assert f.ctx.bid_sizes == (3.0, 1.0) and f.ctx.ask_sizes == (1.0, 2.0)


# ------------------------------------------------------------------------------ applying adjustments


def test_per_side_spread_multipliers_scale_the_distance_from_the_mid():
    # bid x2: 10000 - 2*2.10 = 9995.80, 10000 - 2*3.10 = 9993.80; ask x0.5: 10000 + 1.05, 10000 + 1.55
    c = at_10000(adaptive(Fixed(Adjustment(bid_spread_mult=2.0, ask_spread_mult=0.5))))
    d = c.decide(T0, 0.0, 10_000.0)
    assert d.bids == [(9995.80, 0.0093), (9993.80, 0.0057)]
    assert d.asks == [(10001.05, 0.0093), (10001.55, 0.0057)]


def test_tightening_rounds_away_from_the_mid_keeps_levels_apart_and_post_only():
    # x0.001: bid distances 0.0021 and 0.0031 -> 9999.9979 and 9999.9969 both round down to 9999.99:
    # the second moves one tick out to 9999.98; asks 10000.0021 -> 10000.01, 10000.0031 -> 10000.01 -> 10000.02
    c = at_10000(adaptive(Fixed(Adjustment(bid_spread_mult=0.001, ask_spread_mult=0.001))), bid=9999.99, ask=10000.01)
    d = c.decide(T0, 0.0, 10_000.0)
    assert [p for p, _ in d.bids] == [9999.99, 9999.98]
    assert [p for p, _ in d.asks] == [10000.01, 10000.02]
    assert all(p < 10000.01 for p, _ in d.bids) and all(p > 9999.99 for p, _ in d.asks)


def test_size_multipliers_round_to_lots_and_drop_levels_below_the_minimum_value():
    # x0.5: 0.0093 -> 0.00465 -> 0.0046, 0.0057 -> 0.00285 -> 0.0028; x0.1: 0.0009 (9.0 USD) and 0.0005: dropped
    c = at_10000(adaptive(Fixed(Adjustment(bid_size_mult=0.5, ask_size_mult=0.1))))
    d = c.decide(T0, 0.0, 10_000.0)
    assert d.bids == [(9997.90, 0.0046), (9996.90, 0.0028)]
    assert d.asks == []


def test_fair_shift_composes_with_the_signals_fair_value():
    # microprice with bid size 3, ask size 1 at 9999.5 / 10000.5: (9999.5*1 + 10000.5*3)/4 = 10000.25.
    # fee gate off, GLFT h = 2.0950526: without a shift bid 9998.1549 -> 9998.15, ask 10002.3451 -> 10002.35;
    # +2 bps: fair 10000.25*1.0002 = 10002.25005: bid 10000.1550 -> 10000.15, ask 10004.3451 -> 10004.35
    q = QuotingParams(fee_gate="off")
    sig = SignalsParams(use_microprice=True)
    plain = at_10000(adaptive(Fixed(), quoting=q, signals=sig))
    shifted = at_10000(adaptive(Fixed(Adjustment(fair_shift_bps=2.0)), quoting=q, signals=sig))
    for c in (plain, shifted):
        c.on_book_levels(T0, [3.0], [1.0])
    d0 = plain.decide(T0, 0.0, 10_000.0)
    d1 = shifted.decide(T0, 0.0, 10_000.0)
    assert (d0.bids[0][0], d0.asks[0][0]) == (9998.15, 10002.35)
    assert (d1.bids[0][0], d1.asks[0][0]) == (10000.15, 10004.35)


def test_fair_shift_moves_the_classic_ladder_too():
    q = QuotingParams(model="classic")
    d0 = at_10000(base(quoting=q)).decide(T0, 0.0, 10_000.0)
    d1 = at_10000(adaptive(Fixed(Adjustment(fair_shift_bps=-3.0)), quoting=q)).decide(T0, 0.0, 10_000.0)
    # -3 bps of 10,000 = -3.00: every level 3.00 lower (already on the grid)
    assert [p - 3.0 for p, _ in d0.bids] == pytest.approx([p for p, _ in d1.bids])
    assert [p - 3.0 for p, _ in d0.asks] == pytest.approx([p for p, _ in d1.asks])


def test_position_caps_apply_after_the_adjustments():
    # size x3 on bids: 0.0279 and 0.0171; long 0.03 of the 0.05 limit leaves 0.02: 0.0279 -> 0.02, no second level
    c = at_10000(adaptive(Fixed(Adjustment(bid_size_mult=3.0))))
    d = c.decide(T0, 0.03, 10_000.0)
    assert [s for _, s in d.bids] == [0.02]


# ---------------------------------------------------------------------------------------- features


def params(**kw) -> AdaptiveParams:
    return AdaptiveParams(**kw)


def ctx(ts, position_base=0.0, mid=100.0, max_position_usd=1000.0) -> QuoteContext:
    return QuoteContext(ts_ns=ts, mid=mid, best_bid=mid - 0.01, best_ask=mid + 0.01, sigma_price=0.01,
                        position_base=position_base, max_position_usd=max_position_usd, equity_usd=1000.0,
                        capital_usd=1000.0, order_size_usd=100.0, tick_size=0.01)


def test_fill_rate_steps_by_hand():
    p = params(use_fill_rate=True, fill_rate_window_s=600, fill_rate_min_quoting_s=60, fill_rate_target_low=0.5,
               fill_rate_target_high=2.0, fill_rate_step=0.1, fill_rate_interval_s=30, fill_rate_min_mult=0.6,
               fill_rate_max_mult=2.0)
    f = FillRateAdjuster(p)
    f.on_decision(T0, True, True)
    for i in range(5):  # 5 sells in the first 2 minutes
        f.on_fill(OwnFill(T0 + (10 + 20 * i) * S, False, 100.0, 1.0, 100.0))
    # t = 120 s: both quoted 120 s; bid 0 fills -> 0/min < 0.5: x0.9; ask 5 / 2 min = 2.5/min > 2: x1.1
    a = f.adjust(ctx(T0 + 120 * S))
    assert (a.bid_spread_mult, a.ask_spread_mult) == pytest.approx((0.9, 1.1))
    assert len(f.changes) == 2 and "bid spread x1.000 -> x0.900" in f.changes[0].text
    # 10 s later: within the 30 s interval, no step
    a = f.adjust(ctx(T0 + 130 * S))
    assert (a.bid_spread_mult, a.ask_spread_mult) == pytest.approx((0.9, 1.1))
    # t = 150 s: bid 0.9*0.9 = 0.81; ask 5 / 2.5 min = 2.0/min: inside the band, unchanged
    a = f.adjust(ctx(T0 + 150 * S))
    assert (a.bid_spread_mult, a.ask_spread_mult) == pytest.approx((0.81, 1.1))
    # many intervals later the bid is at its floor 0.6; the ask's fills left the 600 s window: 0/min -> it tightens
    for k in range(6, 40):
        a = f.adjust(ctx(T0 + k * 30 * S))
    assert a.bid_spread_mult == 0.6 and a.ask_spread_mult < 1.1
    assert f.state()["bid_spread_mult"] == 0.6


def test_fill_rate_counts_only_time_quoted():
    p = params(fill_rate_window_s=600, fill_rate_min_quoting_s=60, fill_rate_interval_s=30)
    f = FillRateAdjuster(p)
    f.on_decision(T0, False, True)  # bid not quoted for 100 s
    f.on_decision(T0 + 100 * S, True, True)
    a = f.adjust(ctx(T0 + 130 * S))  # bid quoted 30 s < 60 s: not judged; ask quoted 130 s, no fills: tightens
    assert a.bid_spread_mult == 1.0 and a.ask_spread_mult == pytest.approx(0.95)
    rate, quoted_s = f.bid.rate_per_min(T0 + 130 * S, 600 * S)
    assert quoted_s == pytest.approx(30.0) and rate == 0.0


def test_inventory_decay_by_hand():
    # base 1 bp, +0.5 bp per minute, cap 5; tilt 0.5; max position 1000 USD at mid 100: 4 base = 0.4
    p = params(decay_base_bps=1.0, decay_growth_bps_per_min=0.5, decay_max_bps=5.0, decay_size_tilt=0.5,
               decay_min_size_mult=0.3, decay_flat_frac=0.02)
    d = InventoryDecay(p)
    assert d.adjust(ctx(T0, 0.1)).neutral  # 0.01 of max: flat
    a = d.adjust(ctx(T0 + S, 4.0))  # new long 0.4: coef 1 -> shift -0.4 bps; bid size 1 - 0.5*0.4 = 0.8
    assert a.fair_shift_bps == pytest.approx(-0.4) and a.bid_size_mult == pytest.approx(0.8) and a.ask_size_mult == 1.0
    a = d.adjust(ctx(T0 + S + 4 * MIN, 4.0))  # 4 min: coef 1 + 2 = 3 -> -1.2 bps
    assert a.fair_shift_bps == pytest.approx(-1.2)
    assert not d.changes
    a = d.adjust(ctx(T0 + S + 10 * MIN, 4.0))  # 10 min: 1 + 5 = 6, capped at 5 -> -2.0 bps
    assert a.fair_shift_bps == pytest.approx(-2.0) and len(d.changes) == 1 and "cap" in d.changes[0].text
    a = d.adjust(ctx(T0 + S + 11 * MIN, -6.0))  # flipped short 0.6: age restarts, coef 1 -> +0.6; ask size 0.7
    assert a.fair_shift_bps == pytest.approx(0.6) and a.ask_size_mult == pytest.approx(0.7) and a.bid_size_mult == 1.0
    assert len(d.changes) == 2 and "flipped" in d.changes[1].text
    a = d.adjust(ctx(T0 + S + 12 * MIN, -20.0))  # short 2x the limit: size 1 - 1.0 = 0 -> floor 0.3
    assert a.ask_size_mult == pytest.approx(0.3)


def test_regime_adjuster_maps_regimes_to_multipliers_and_logs_changes():
    p = params(regime_sample_interval_s=1.0, regime_fast_half_life_s=2.0, regime_slow_half_life_s=100.0,
               regime_min_samples=50, regime_high_ratio=1.5, regime_low_ratio=0.7, regime_hysteresis=0.2,
               regime_high_spread_mult=1.5, regime_high_size_mult=0.6, regime_low_spread_mult=0.85, regime_low_size_mult=1.0)
    r = RegimeAdjuster(p)
    ts = T0
    for i in range(400):  # alternating ±1 bp: normal
        ts += S
        r.on_mid(ts, 100.0 * (1.0001 if i % 2 else 1.0))
    assert r.adjust(ctx(ts)).neutral and r.state()["regime"] == "normal"
    for i in range(6):  # ±10 bp burst: high
        ts += S
        r.on_mid(ts, 100.0 * (1.001 if i % 2 else 1.0))
    a = r.adjust(ctx(ts))
    assert (a.bid_spread_mult, a.ask_spread_mult, a.bid_size_mult, a.ask_size_mult) == (1.5, 1.5, 0.6, 0.6)
    assert [c.text.split(" (")[0] for c in r.changes] == ["regime warm-up -> normal", "regime normal -> high"]


def test_build_adjusters_follows_the_switches():
    assert build_adjusters(AdaptiveParams()) == []
    names = [a.name for a in build_adjusters(AdaptiveParams(use_regime=True, use_fill_rate=True, use_inventory_decay=True))]
    assert names == ["regime", "fill_rate", "inventory_decay"]
    assert [a.name for a in build_adjusters(AdaptiveParams(use_inventory_decay=True))] == ["inventory_decay"]


def test_drain_changes_empties_the_adjusters_lists():
    p = params(decay_base_bps=5.0, decay_max_bps=5.0)
    c = at_10000(adaptive(InventoryDecay(p)))
    c.decide(T0, 0.02, 10_000.0)  # coef at its cap at once: one change
    out = c.drain_changes()
    assert [ch.source for ch in out] == ["inventory_decay"] and c.drain_changes() == []
    assert c.adaptive_state()["inventory_decay"]["at_cap"] is True


def test_params_cross_field_rules_name_the_field():
    with pytest.raises(ValueError, match="regime_slow_half_life_s"):
        AdaptiveParams(regime_fast_half_life_s=100.0, regime_slow_half_life_s=50.0)
    with pytest.raises(ValueError, match="fill_rate_target_high"):
        AdaptiveParams(fill_rate_target_low=3.0, fill_rate_target_high=2.0)
    with pytest.raises(ValueError, match="decay_max_bps"):
        AdaptiveParams(decay_base_bps=3.0, decay_max_bps=2.0)
