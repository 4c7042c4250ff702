"""DynamicSizer: each factor hand-computed, clamps, round-trip streaks, and valid orders on the Hyperliquid grid."""

from __future__ import annotations

import math

import pytest

from botmm_nautilus.core.adjust import OwnFill
from botmm_nautilus.core.adjust import QuoteContext
from botmm_nautilus.core.decision import MarketMakerCore
from botmm_nautilus.core.params import CalibrationParams
from botmm_nautilus.core.params import QuotingParams
from botmm_nautilus.core.params import RiskParams
from botmm_nautilus.core.params import SignalsParams
from botmm_nautilus.core.params import SizingParams
from botmm_nautilus.core.params import ToxicityParams
from botmm_nautilus.core.quoting import best_level_share
from botmm_nautilus.core.quoting import build_ladder
from botmm_nautilus.core.sizing import DynamicSizer
from botmm_nautilus.core.sizing import round_order_size
from botmm_nautilus.core.toxicity import Toxicity
from botmm_nautilus.venue.rules import HyperliquidGrid

S = 1_000_000_000


def ctx(ts_s: float, mid: float = 100.0, sigma: float = 0.01, position_base: float = 0.0, equity: float = 1000.0,
        order_size_usd: float = 150.0) -> QuoteContext:
    return QuoteContext(
        ts_ns=int(ts_s * S), mid=mid, best_bid=mid - 0.01, best_ask=mid + 0.01, sigma_price=sigma,
        position_base=position_base, max_position_usd=1000.0, equity_usd=equity, capital_usd=1000.0,
        order_size_usd=order_size_usd, tick_size=0.01,
    )


def fill(ts_s: float, is_buy: bool, price: float, qty: float = 1.0) -> OwnFill:
    return OwnFill(ts_ns=int(ts_s * S), is_buy=is_buy, price=price, qty=qty, mid=price)


def test_neutral_factors_give_equity_times_fraction():
    sizer = DynamicSizer(SizingParams(equity_fraction=0.15))
    a = sizer.adjust(ctx(0))  # 1000 x 0.15 = 150 USD = order_size_usd: x1
    assert a.bid_size_mult == pytest.approx(1.0) and a.ask_size_mult == pytest.approx(1.0)
    assert a.bid_spread_mult == 1.0 and a.fair_shift_bps == 0.0
    a = sizer.adjust(ctx(1, equity=2000.0))  # 300 USD: x2 (the drawdown factor sees a new peak, 1)
    assert a.bid_size_mult == pytest.approx(2.0)


def test_volatility_factor_is_baseline_over_sigma_clamped():
    p = SizingParams(equity_fraction=0.15, vol_factor_min=0.5, vol_factor_max=1.25, vol_baseline_half_life_s=3600)
    sizer = DynamicSizer(p)
    sizer.adjust(ctx(0, sigma=0.01))  # baseline 1e-4 (relative)
    sizer.adjust(ctx(1, sigma=0.016))  # 1e-4 / 1.6e-4 = 0.625
    assert sizer.factors["vol"] == pytest.approx(0.625)
    # the baseline then takes the reading with weight max(1 − 2^(−1 s/3600 s), 1/2) = 1/2 (warm-up): 1.3e-4
    sizer.adjust(ctx(2, sigma=0.03))  # 1.3e-4 / 3e-4 = 0.43 -> clamp 0.5; baseline += (3e-4 − 1.3e-4)/3 = 1.8667e-4
    assert sizer.factors["vol"] == 0.5
    sizer.adjust(ctx(3, sigma=0.005))  # 1.8667e-4 / 0.5e-4 = 3.7 -> clamp 1.25; baseline += (0.5e-4 − base)/4
    assert sizer.factors["vol"] == 1.25
    base = 1.3e-4 + (3e-4 - 1.3e-4) / 3
    base += (0.5e-4 - base) / 4  # 1.525e-4
    sizer.adjust(ctx(4, sigma=base * 100 / 0.8))  # sigma_price = base / 0.8 x mid: factor 0.8
    assert sizer.factors["vol"] == pytest.approx(0.8)
    assert sizer.adjust(ctx(5, sigma=0.0)).bid_size_mult == pytest.approx(1.0)  # σ unknown: factor 1


def test_fill_rate_factor_after_one_window():
    sizer = DynamicSizer(SizingParams(fill_window_s=60, target_fills_per_min=1.0, fill_factor_min=0.5, fill_factor_max=1.25))
    sizer.adjust(ctx(0))
    for t in (10, 20, 30):
        sizer.on_fill(fill(t, t != 20, 100.0))
    sizer.adjust(ctx(59))
    assert sizer.factors["fill"] == 1.0  # less than one window since the first decision
    sizer.adjust(ctx(61))  # 3 fills in (1 s, 61 s]: 3/min -> 1/3 -> clamp 0.5
    assert sizer.factors["fill"] == 0.5
    sizer.adjust(ctx(85))  # fills at 30 s only (10 and 20 left the window): 1/min -> 1
    assert sizer.factors["fill"] == pytest.approx(1.0)
    sizer.adjust(ctx(95))  # none: -> the maximum
    assert sizer.factors["fill"] == 1.25


def test_inventory_factor_smaller_on_the_adding_side():
    sizer = DynamicSizer(SizingParams(equity_fraction=0.15, inventory_strength=0.5))
    a = sizer.adjust(ctx(0, position_base=4.0))  # long 400 / 1000 = 0.4: bid 1 − 0.2 = 0.8, ask 1.2
    assert (a.bid_size_mult, a.ask_size_mult) == (pytest.approx(0.8), pytest.approx(1.2))
    a = sizer.adjust(ctx(1, position_base=-10.0))  # short 100 %: bid 1.5, ask 0.5
    assert (a.bid_size_mult, a.ask_size_mult) == (pytest.approx(1.5), pytest.approx(0.5))
    strong = DynamicSizer(SizingParams(equity_fraction=0.15, inventory_strength=2.0, inventory_factor_min=0.25))
    a = strong.adjust(ctx(0, position_base=10.0))  # 1 − 2 = −1 -> clamp 0.25; 1 + 2 = 3 -> clamp 1.5
    assert (a.bid_size_mult, a.ask_size_mult) == (pytest.approx(0.25), pytest.approx(1.5))


def test_toxicity_factor_per_side_from_the_toxicity_feature():
    tox = Toxicity(ToxicityParams(horizons_s=(1.0,), ema_alpha=1.0, decay_half_life_s=0, initial_score=0.3,
                                  min_sigma_bps_per_sqrt_s=1.0))
    sizer = DynamicSizer(SizingParams(equity_fraction=0.15, toxicity_strength=1.0, toxicity_factor_min=0.5), toxicity=tox)
    tox.on_fill(fill(0, True, 100.0))
    tox.on_mid(1 * S, 99.994)  # bid score 0.006 / 0.01 = 0.6: factor 1 − (0.6 − 0.3) = 0.7
    a = sizer.adjust(ctx(1))
    assert a.bid_size_mult == pytest.approx(0.7) and a.ask_size_mult == pytest.approx(1.0)
    tox.on_fill(fill(1, True, 99.994))
    tox.on_mid(2 * S, 99.984)  # score 1.0: 1 − 0.7 = 0.3 -> clamp 0.5
    assert sizer.adjust(ctx(2)).bid_size_mult == pytest.approx(0.5)


def test_drawdown_factor_from_peak_equity():
    sizer = DynamicSizer(SizingParams(equity_fraction=0.15, drawdown_full_frac=0.05, drawdown_factor_min=0.25))
    sizer.adjust(ctx(0, equity=1000.0))
    sizer.adjust(ctx(1, equity=980.0))  # drawdown 2 %: 1 − 0.02/0.05 = 0.6
    assert sizer.factors["drawdown"] == pytest.approx(0.6)
    a = sizer.adjust(ctx(2, equity=900.0))  # 10 %: −1 -> clamp 0.25; 900·0.15·0.25 = 33.75 USD -> x0.225
    assert sizer.factors["drawdown"] == 0.25 and a.bid_size_mult == pytest.approx(0.225)


def test_round_trip_streaks():
    sizer = DynamicSizer(SizingParams(streak_step=0.05))
    sizer.on_fill(fill(0, True, 100.0))
    sizer.on_fill(fill(1, False, 101.0))  # flat: +1 -> win
    sizer.on_fill(fill(2, True, 100.0, 0.5))
    sizer.on_fill(fill(3, True, 100.0, 0.5))
    sizer.on_fill(fill(4, False, 100.5))  # flat: +0.5 -> 2 wins
    assert sizer.streak == 2
    sizer.adjust(ctx(5))
    assert sizer.factors["streak"] == pytest.approx(1.1)
    sizer.on_fill(fill(6, True, 100.0))
    sizer.on_fill(fill(7, False, 99.0, 2.0))  # through zero: the long loses 1; short 1 opens at 99
    assert sizer.streak == -1
    sizer.on_fill(fill(8, True, 98.0))  # the short closes +1: a win
    assert sizer.streak == 1 and sizer.round_trips == {"wins": 3, "losses": 1, "flat": 0}
    fee = DynamicSizer(SizingParams(), maker_fee_bps=100.0)  # 1 % fee turns a +0.5 % round trip into a loss
    fee.on_fill(fill(0, True, 100.0))
    fee.on_fill(fill(1, False, 100.5))
    assert fee.streak == -1


def test_streak_and_total_clamps():
    p = SizingParams(equity_fraction=0.15, streak_step=0.2, streak_factor_min=0.5, streak_factor_max=1.25, total_max=1.3)
    sizer = DynamicSizer(p)
    for i in range(5):  # five winning round trips: 1 + 0.2·5 = 2 -> clamp 1.25
        sizer.on_fill(fill(2 * i, True, 100.0))
        sizer.on_fill(fill(2 * i + 1, False, 101.0))
    a = sizer.adjust(ctx(10, position_base=-10.0))  # bid (reducing the short) 1.5 x 1.25 = 1.875 -> total 1.3
    assert sizer.factors["streak"] == 1.25 and a.bid_size_mult == pytest.approx(1.3)
    assert a.ask_size_mult == pytest.approx(0.5 * 1.25)


def test_min_side_usd_floor():
    sizer = DynamicSizer(SizingParams(equity_fraction=0.1, min_side_usd=11.0))
    a = sizer.adjust(ctx(0, equity=50.0))  # 5 USD -> floored at 11 USD: 11 / 150
    assert a.bid_size_mult == pytest.approx(11 / 150) and sizer.target_usd["ask"] == 11.0
    assert sizer.adjust(ctx(1, equity=-5.0)).ask_size_mult == pytest.approx(11 / 150)


def test_round_order_size_on_the_hyperliquid_grid():
    g = HyperliquidGrid(5)  # BTC: lot 0.00001, minimum 10 USD
    assert round_order_size(0.000123456, 93000.0, g) == 0.00012  # on the lot, 11.16 USD
    assert round_order_size(0.000105, 93000.0, g) == 0.0  # 0.0001 x 93000 = 9.3 USD < 10
    assert round_order_size(0.000105, 93000.0, g, bump_to_min=True) == 0.00011  # 10/93000 = 0.0001075 -> up: 10.23 USD
    assert round_order_size(0.0, 93000.0, g, bump_to_min=True) == 0.00011
    assert round_order_size(0.00010753, 93000.0, g) == 0.0  # rounded down to 0.0001 (9.3 USD): never up unasked
    sol = HyperliquidGrid(2)
    assert round_order_size(0.1, 100.0, sol, bump_to_min=True) == 0.1  # 10.00 USD exactly meets the minimum


def test_floor_from_the_best_level_share_of_the_quoting_section():
    two = QuotingParams(levels=2, size_weights=(0.625, 0.375))
    assert best_level_share(two) == 0.625
    assert best_level_share(QuotingParams(model="classic", levels=2)) == pytest.approx(0.5 / 0.8)  # BotMM's weights
    sizer = DynamicSizer.from_params(SizingParams(equity_fraction=0.1, min_side_usd=11.0), quoting=two)
    assert sizer.floor_usd == pytest.approx(17.6)  # 11 / 0.625
    a = sizer.adjust(ctx(0, equity=50.0))  # 5 USD -> 17.6 USD: x0.11733
    assert a.bid_size_mult == pytest.approx(17.6 / 150)
    with pytest.raises(ValueError, match="best_level_share"):
        DynamicSizer(SizingParams(), best_level_share=0.0)


def _scaled_side(levels, mult: float, grid) -> list[tuple[float, float]]:
    """The adaptive core's size scaling (``AdaptiveCore._side_adjust`` calls ``MarketMakerCore._scale``):
    each level's size x mult rounded down to the lot, a level below the minimum order value dropped."""
    core = MarketMakerCore(QuotingParams(), CalibrationParams(), RiskParams(), SignalsParams(), grid=grid,
                           capital_usd=10_000.0, maker_fee_bps=1.5)
    return core._scale([(q.price, q.size) for q in levels], mult)


@pytest.mark.parametrize("equity", [50.0, 110.0, 180.0, 400.0, 1500.0, 12_345.0])
@pytest.mark.parametrize("position_base", [-0.009, 0.0, 0.004])
@pytest.mark.parametrize("weights", [(0.625, 0.375), (0.2, 0.8), (1.0,)])
def test_sized_ladders_are_on_the_lot_above_the_minimum_and_never_empty(equity, position_base, weights):
    """A ladder built at order_size_usd on the Hyperliquid BTC grid and scaled by the sizer's
    multipliers as the adaptive core scales it: every level whole lots and >= 10 USD, and the floor
    keeps the best level, so the sizer never empties a side."""
    g = HyperliquidGrid(5)
    mid = 93_012.0
    quoting = QuotingParams(levels=len(weights), size_weights=weights)
    sizer = DynamicSizer.from_params(SizingParams(equity_fraction=0.1), quoting=quoting)
    a = sizer.adjust(ctx(0, mid=mid, sigma=9.3, position_base=position_base, equity=equity))
    base = build_ladder(mid - 5.0, mid + 5.0, 150.0 / mid, quoting.levels, 1.0, weights, g)
    for mult, levels in ((a.bid_size_mult, base.bids), (a.ask_size_mult, base.asks)):
        side = _scaled_side(levels, mult, g)
        assert side, (equity, mult)
        for price, size in side:
            lots = size * 1e5
            assert abs(lots - round(lots)) < 1e-6 and price * size >= 10.0 - 1e-9
    # without the best-level share in the floor (one level assumed) a small side can vanish
    naive = DynamicSizer(SizingParams(equity_fraction=0.1)).adjust(ctx(0, mid=mid, sigma=9.3, equity=50.0))
    if weights == (0.2, 0.8):
        assert _scaled_side(base.bids, naive.bid_size_mult, g) == []


def test_fills_after_a_decision_do_not_change_it():
    def run(extra):
        sizer = DynamicSizer(SizingParams(fill_window_s=10, equity_fraction=0.1))
        out = []
        events = [(0, None), (3, fill(3, True, 100.0)), (5, None), (8, fill(8, False, 101.0)), (12, None)] + extra
        for t, f in events:
            if f is None:
                out.append((t, sizer.adjust(ctx(t, position_base=0.0))))
            else:
                sizer.on_fill(f)
        return out
    a = run([(13, fill(13, True, 100.0)), (14, None)])
    b = run([(13, fill(13, False, 100.0)), (13.5, fill(13.5, True, 110.0)), (14, None)])  # a losing round trip
    assert a[:3] == b[:3] and a[3] != b[3]


def test_every_setting_of_the_three_sections_has_unit_meaning_and_enabled_first():
    from botmm_nautilus.core.params import AutoTuneParams
    from botmm_nautilus.core.params import field_specs

    for cls in (ToxicityParams, AutoTuneParams, SizingParams):
        specs = field_specs(cls)
        assert specs[0].name == "enabled" and specs[0].default is False
        for spec in specs:
            assert spec.unit and spec.description, f"{cls.__name__}.{spec.name} lacks a unit or a meaning"
    with pytest.raises(ValueError, match="total_max: must be >= total_min"):
        SizingParams(total_min=1.5, total_max=1.0)


def test_states_are_plain_json():
    import json

    from botmm_nautilus.core.autotune import AutoTuner
    from botmm_nautilus.core.params import AutoTuneParams

    tox = Toxicity(ToxicityParams())
    tuner = AutoTuner(AutoTuneParams(window_s=300, eval_interval_s=60, min_intervals=2))
    sizer = DynamicSizer(SizingParams(), toxicity=tox)
    for f in (tox, tuner, sizer):
        json.dumps(f.state(), allow_nan=False)  # before any event
    tuner.on_fill(fill(0, True, 100.0))
    tox.on_fill(fill(0, True, 100.0))
    for i in range(4):  # a constant loss per interval: Sharpe −inf, reported as null
        c = ctx(60 * i, mid=100.0 - 0.1 * i)
        tox.on_mid(c.ts_ns, c.mid)
        tuner.adjust(c)
        sizer.adjust(c)
    assert tuner.fired["sharpe"] >= 1 and tuner.last["sharpe"] == -math.inf
    for f in (tox, tuner, sizer):
        json.dumps(f.state(), allow_nan=False)
