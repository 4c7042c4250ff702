"""The decision core without Nautilus: scripted books, trades and positions in, ladders out.

Expected ladders are hand computed from the formulas in core/quoting.py's docstrings. Until the
estimators are ready the core uses the calibration defaults: σ = 1 bp/√s, A = 1/s, k = 0.5/bp. At
a mid of 10,000 one basis point is one dollar, so with γ = 0.05 and one lot = order_size_usd:

  GLFT: c₁ = (1/γ)·ln(1 + γ/k) = 20·ln 1.1 = 1.906203596, c₂ = √(γ/(2·A·k)·1.1¹¹) = 0.377698074,
        half-spread h = c₁ + σ·c₂/2 = 2.095052633, skew per lot = σ·c₂ = 0.377698074 (bps = USD);
  A-S:  spread = γσ²T + (2/γ)·ln(1 + γ/k) = 15 + 3.812407192 (T = 300 s), half = 9.406203596,
        reservation r = mid − q·γ·σ²·T = mid − 15·q.

The grid is a plain one (tick 0.01, lot 0.0001, minimum order 10 USD): bids round down, asks up.
The ladder is 2 levels 1 bp apart, 150 USD per side split 0.625 / 0.375 -> 0.0093 and 0.0057.
"""

from __future__ import annotations

import math
import random

import pytest

from botmm_nautilus.core.decision import MarketMakerCore
from botmm_nautilus.core.params import CalibrationParams
from botmm_nautilus.core.params import QuotingParams
from botmm_nautilus.core.params import RiskParams
from botmm_nautilus.core.params import SignalsParams
from botmm_nautilus.core.risk import RiskState

S = 1_000_000_000
T0 = 1_757_000_000 * S


class TickGrid:
    """A constant-tick grid (any exchange's shape; the core knows no exchange): tick 0.01, lot 0.0001."""

    lots_per_unit = 10_000.0
    min_value_usd = 10.0

    def tick_size(self, price: float) -> float:
        return 0.01

    def round_price(self, price: float, mode: str = "nearest") -> float:
        x = price * 100.0
        n = math.floor(x + 1e-9) if mode == "down" else math.ceil(x - 1e-9) if mode == "up" else math.floor(x + 0.5)
        return round(max(n, 1) / 100.0, 2)

    def round_size(self, size: float, mode: str = "down") -> float:
        x = size * self.lots_per_unit
        n = math.floor(x + 1e-9) if mode == "down" else math.ceil(x - 1e-9) if mode == "up" else math.floor(x + 0.5)
        return round(n / self.lots_per_unit, 4)

    def meets_min_value(self, price: float, size: float) -> bool:
        return price * size >= self.min_value_usd - 1e-9


def core(quoting: QuotingParams | None = None, signals: SignalsParams | None = None, risk: RiskParams | None = None,
         maker_fee_bps: float = 1.5) -> MarketMakerCore:
    return MarketMakerCore(
        quoting or QuotingParams(), CalibrationParams(), risk or RiskParams(), signals or SignalsParams(),
        grid=TickGrid(), capital_usd=10_000.0, maker_fee_bps=maker_fee_bps,
    )


def at_10000(c: MarketMakerCore, ts: int = T0) -> MarketMakerCore:
    c.on_book(ts, 9999.5, 10000.5)  # mid 10,000
    return c


# ------------------------------------------------------------------------------------- quote models


def test_glft_flat_ladder_by_hand():
    d = at_10000(core()).decide(T0, 0.0, 10_000.0)
    # bid 10000 - 2.0950526 = 9997.9049474 -> 9997.90 ; level 1: 9997.9049474*(1 - 1e-4) = 9996.9051569 -> 9996.90
    # ask 10002.0950526 -> 10002.10 ; level 1: 10002.0950526*(1 + 1e-4) = 10003.0952621 -> 10003.10
    assert d.mid == 10_000.0 and d.risk.state is RiskState.QUOTING
    assert d.bids == [(9997.90, 0.0093), (9996.90, 0.0057)]
    assert d.asks == [(10002.10, 0.0093), (10003.10, 0.0057)]


def test_glft_long_inventory_skews_down_and_the_fee_gate_widens_the_ask():
    # long 0.03 = 300 USD = 2 lots: r = 10000 - 2*0.3776981 = 9999.2446039
    # bid r - h = 9997.1495512 -> 9997.14 ; level 1: 9996.1498363 -> 9996.14
    # ask r + h = 10001.3396565 is 1.34 bps from the mid < fee 1.5 + adverse 0.5 = 2 bps -> 10002.00 ;
    # level 1: 10002*(1 + 1e-4) = 10003.0002 -> 10003.01
    d = at_10000(core()).decide(T0, 0.03, 10_000.0)
    assert d.bids == [(9997.14, 0.0093), (9996.14, 0.0057)]
    assert d.asks == [(10002.00, 0.0093), (10003.01, 0.0057)]


def test_avellaneda_stoikov_by_hand():
    c = at_10000(core(QuotingParams(model="as", horizon_s=300.0)))
    d = c.decide(T0, 0.0, 10_000.0)
    # half 9.4062036: bid 9990.5937964 -> 9990.59 (level 1 9989.5947370 -> 9989.59) ;
    # ask 10009.4062036 -> 10009.41 (level 1 10010.4071442 -> 10010.41)
    assert d.bids == [(9990.59, 0.0093), (9989.59, 0.0057)]
    assert d.asks == [(10009.41, 0.0093), (10010.41, 0.0057)]
    # long 2 lots: r = 10000 - 2*0.05*1*300 = 9970 -> bid 9960.5937964 -> 9960.59 ; the ask 9979.41 would sit
    # below the mid: the fee gate moves it to 2 bps above the mid, 10002.00
    d = c.decide(T0, 0.03, 10_000.0)
    assert d.bids[0] == (9960.59, 0.0093) and d.asks[0] == (10002.00, 0.0093)


def test_fee_gate_widen_and_suppress():
    # maker fee 3 bps + adverse 0.5 = 3.5 bps > GLFT's 2.095: both sides at 10000*(1 -/+ 3.5e-4)
    d = at_10000(core(maker_fee_bps=3.0)).decide(T0, 0.0, 10_000.0)
    assert d.bids == [(9996.50, 0.0093), (9995.50, 0.0057)]  # level 1: 9995.50035 -> down
    assert d.asks == [(10003.50, 0.0093), (10004.51, 0.0057)]  # level 1: 10004.50035 -> up
    d = at_10000(core(QuotingParams(fee_gate="suppress"), maker_fee_bps=3.0)).decide(T0, 0.0, 10_000.0)
    assert d.bids == [] and d.asks == [] and d.risk.state is RiskState.QUOTING
    d = at_10000(core(QuotingParams(fee_gate="off"), maker_fee_bps=3.0)).decide(T0, 0.0, 10_000.0)
    assert d.bids[0] == (9997.90, 0.0093) and d.asks[0] == (10002.10, 0.0093)  # the model's own quotes


# ---------------------------------------------------------------------------------- inventory and risk


def test_in_flight_orders_count_toward_the_position_cap():
    # max position 500 USD = 0.05 at 10,000. Long 0.03 with 0.008 in unacknowledged buys: the bids may add
    # 0.05 - 0.03 - 0.008 = 0.012: level 0 keeps 0.0093, level 1 is cut to 0.0027
    c = at_10000(core())
    d = c.decide(T0, 0.03, 10_000.0, open_buy_qty=0.008)
    assert d.risk.state is RiskState.QUOTING  # worst-case long 380 USD < 80 % of 500
    assert d.bids == [(9997.14, 0.0093), (9996.14, 0.0027)]
    assert d.asks == [(10002.00, 0.0093), (10003.01, 0.0057)]  # selling reduces: room 0.05 + 0.03
    # short 0.03 with 0.008 in flight to sell: the mirror image on the asks
    d = c.decide(T0, -0.03, 10_000.0, open_sell_qty=0.008)
    assert [s for _, s in d.asks] == [0.0093, 0.0027] and [s for _, s in d.bids] == [0.0093, 0.0057]
    # room below the minimum order value: nothing on that side. With the one-side stop at 100 % of the
    # limit, worst-case long (0.03 + 0.0191) * 10000 = 491 USD still quotes bids, but the room 0.0009 is
    # 0.0009 * 9997.14 = 9.0 USD < 10: the bid side is empty while the risk rules allow it
    c = at_10000(core(risk=RiskParams(one_side_stop_ratio=1.0)))
    d = c.decide(T0, 0.03, 10_000.0, open_buy_qty=0.0191)
    assert d.risk.can_quote_bid and d.bids == [] and d.asks[0] == (10002.00, 0.0093)
    d = c.decide(T0, 0.03, 10_000.0, open_buy_qty=0.0189)  # room 0.0011 = 11.0 USD: one small bid
    assert d.bids == [(9997.14, 0.0011)]


def test_risk_removes_the_side_that_adds_to_a_large_position():
    c = at_10000(core())
    # worst-case long (0.03 + 0.012) * 10000 = 420 USD >= 80 % of 500: bids off, asks on (reduce only)
    d = c.decide(T0, 0.03, 10_000.0, open_buy_qty=0.012)
    assert d.risk.state is RiskState.REDUCE_ONLY and not d.risk.can_quote_bid and d.risk.can_quote_ask
    assert d.bids == [] and d.asks == [(10002.00, 0.0093), (10003.01, 0.0057)]
    # back under the stop: both sides again
    d = c.decide(T0 + S, 0.03, 10_000.0)
    assert d.risk.state is RiskState.QUOTING and d.bids and d.asks


def test_risk_pauses_empty_both_sides():
    c = at_10000(core())
    assert c.decide(T0, 0.0, 10_000.0).bids
    d = c.decide(T0 + 11 * S, 0.0, 10_000.0)  # no book for 11 s >= stale_book_s 10
    assert d.risk.state is RiskState.PAUSED and d.risk.cancel_all and d.bids == [] and d.asks == []
    at_10000(c, T0 + 12 * S)
    assert c.decide(T0 + 12 * S, 0.0, 10_000.0).bids
    # the automatic kill switch: 30 % below the peak equity with kill_drawdown_frac 0.25
    c = at_10000(core(risk=RiskParams(max_drawdown_frac=0.2, kill_drawdown_frac=0.25, max_daily_loss_frac=0.9)))
    c.decide(T0, 0.0, 10_000.0)
    d = c.decide(T0 + S, 0.0, 7_000.0)
    assert d.risk.state is RiskState.KILLED and d.bids == [] and d.asks == []
    assert c.decide(T0 + 3600 * S, 0.0, 10_000.0).risk.state is RiskState.KILLED


def test_no_decision_without_a_mid():
    assert core().decide(T0, 0.0, 10_000.0) is None


# ------------------------------------------------------------------------------------------- signals


def test_signals_off_by_default_ignore_the_book():
    c = at_10000(core())
    assert c.book_levels == 0
    c.on_book_levels(T0, [9.0, 9.0], [0.1, 0.1])  # a heavy bid would move quotes if a signal were on
    d = c.decide(T0, 0.0, 10_000.0)
    assert d.bids[0] == (9997.90, 0.0093) and d.asks[0] == (10002.10, 0.0093)


def test_imbalance_shifts_the_fair_value():
    # bids 3 + 0, asks 1 + 0 over 2 levels: imbalance (3 - 1)/4 = 0.5 x 4 bps = 2 bps: fair 10002
    # bid 10002 - 2.0950526 = 9999.9049474 -> 9999.90 ; ask 10004.0950526 -> 10004.10 (fee gate off)
    sig = SignalsParams(use_imbalance=True, imbalance_weight_bps=4.0, imbalance_depth_levels=2)
    c = at_10000(core(QuotingParams(fee_gate="off"), sig))
    assert c.book_levels == 2
    c.on_book_levels(T0, [3.0, 0.0, 50.0], [1.0, 0.0, 0.0])
    d = c.decide(T0, 0.0, 10_000.0)
    assert d.bids == [(9999.90, 0.0093), (9998.90, 0.0057)]
    assert d.asks == [(10004.10, 0.0093), (10005.10, 0.0057)]
    # the fee gate still measures from the book mid: the bid 0.1 bp below it goes out to 2 bps
    c = at_10000(core(QuotingParams(), sig))
    c.on_book_levels(T0, [3.0, 0.0], [1.0, 0.0])
    assert c.decide(T0, 0.0, 10_000.0).bids[0] == (9998.00, 0.0093)


def test_microprice_as_the_fair_value():
    # touch 9999.5 x 3 / 10000.5 x 1: microprice (9999.5*1 + 10000.5*3)/4 = 10000.25
    # bid 10000.25 - 2.0950526 = 9998.1549474 -> 9998.15 ; ask 10002.3450526 -> 10002.35
    c = at_10000(core(QuotingParams(fee_gate="off"), SignalsParams(use_microprice=True)))
    assert c.book_levels == 1
    c.on_book_levels(T0, [3.0], [1.0])
    d = c.decide(T0, 0.0, 10_000.0)
    assert d.bids[0] == (9998.15, 0.0093) and d.asks[0] == (10002.35, 0.0093)
    # half way to the microprice: 10000.125 -> 9998.0299474 -> 9998.02 ; 10002.2200526 -> 10002.23
    c = at_10000(core(QuotingParams(fee_gate="off"), SignalsParams(use_microprice=True, microprice_weight=0.5)))
    c.on_book_levels(T0, [3.0], [1.0])
    d = c.decide(T0, 0.0, 10_000.0)
    assert d.bids[0] == (9998.02, 0.0093) and d.asks[0] == (10002.23, 0.0093)


def _trend_then_10000(c: MarketMakerCore) -> int:
    """Mids sampled into 60 s bars: 30 bars down 0.1 %, 21 up 0.2 % (bias +1), then a mid of 10,000 inside
    the next, unclosed bar. Returns the time of that last book."""
    p = 10_000.0
    for i in range(51):
        p *= 0.999 if i < 30 else 1.002
        c.on_book(T0 + i * 60 * S, p - 0.5, p + 0.5)
    t = T0 + 51 * 60 * S + 30 * S
    c.on_book(t, 9999.5, 10000.5)
    return t


def test_bias_shifts_both_quotes_by_its_weight():
    q = QuotingParams(fee_gate="off")
    # bias_strength 0: only the fixed bps weight (the σ-scaled term has its own test below)
    with_bias = core(q, SignalsParams(use_bias=True, bias_weight_bps=2.0, bias_strength=0.0, bias_bar_interval_s=60.0))
    without = core(q)
    t = _trend_then_10000(with_bias)
    _trend_then_10000(without)
    assert with_bias.signals.bias == 1.0
    assert with_bias.book_levels == 0  # the bias needs no level sizes
    d1 = with_bias.decide(t, 0.0, 10_000.0)
    d0 = without.decide(t, 0.0, 10_000.0)
    # a bias of +1 with weight 2 bps moves both quotes up by 2 bps of the mid = 2.00 (same σ, A, k in both)
    assert len(d1.bids) == len(d0.bids) == 2 and len(d1.asks) == len(d0.asks) == 2
    for (p1, s1), (p0, s0) in zip(d1.bids + d1.asks, d0.bids + d0.asks):
        assert p1 - p0 == pytest.approx(2.0, abs=0.011) and s1 == s0
    assert d1.bids[0][0] - d0.bids[0][0] == pytest.approx(2.0, abs=1e-9)
    # a weight of 0 leaves the quotes alone even with the bias computed
    zero = core(q, SignalsParams(use_bias=True, bias_weight_bps=0.0, bias_strength=0.0, bias_bar_interval_s=60.0))
    _trend_then_10000(zero)
    assert zero.signals.bias == 1.0 and zero.decide(t, 0.0, 10_000.0).bids == d0.bids


def test_bias_strength_scales_the_shift_by_sigma_over_the_horizon():
    # bias +1, strength 0.2, horizon 4 s, plus a fixed 0.5 bp: shift = 1·(0.5 + 0.2·σ_bps·√4) bps of the mid.
    # σ_bps is the decision's own σ (the estimator's once ready, else the 1 bp/√s default), read back
    # from the estimator here (about 8.4 bp/√s on this path: shift about 3.9 bps, which keeps the
    # bid below the 10000.5 ask touch, where the ladder would hold it); at σ = 1 bp/√s it would be
    # 0.5 + 0.4 = 0.9 bps = 0.90 at a mid of 10,000.
    q = QuotingParams(fee_gate="off")
    sig = SignalsParams(use_bias=True, bias_weight_bps=0.5, bias_strength=0.2, bias_horizon_s=4.0, bias_bar_interval_s=60.0)
    with_bias, without = core(q, sig), core(q)
    t = _trend_then_10000(with_bias)
    _trend_then_10000(without)
    assert with_bias.signals.bias == 1.0
    vol = with_bias.vol
    sigma_bps = vol.sigma_price / 10_000.0 * 1e4 if vol.ready and vol.sigma_price > 0 else 1.0
    expected = 10_000.0 * (0.5 + 0.2 * sigma_bps * 2.0) * 1e-4
    assert expected > 0.5 + 1e-6  # the σ term is there
    d1 = with_bias.decide(t, 0.0, 10_000.0)
    d0 = without.decide(t, 0.0, 10_000.0)
    for (p1, _), (p0, _) in zip(d1.bids + d1.asks, d0.bids + d0.asks):
        assert p1 - p0 == pytest.approx(expected, abs=0.011)  # 0.01 ticks of rounding


def test_trades_feed_the_flow_imbalance_and_shift_the_fair_value():
    # three buys of 1 and one sell of 1 at the same instant: flow (3 - 1)/4 = 0.5 x 4 bps = 2 bps: fair 10002,
    # bid 10002 - 2.0950526 -> 9999.90 ; ask 10004.0950526 -> 10004.10 (as the imbalance test above)
    c = at_10000(core(QuotingParams(fee_gate="off"), SignalsParams(use_flow=True, flow_weight_bps=4.0)))
    assert c.book_levels == 0
    for buy in (True, True, True, False):
        c.on_trade(T0, 10_000.0, 1.0, buy)
    assert c.signals.flow == 0.5
    d = c.decide(T0, 0.0, 10_000.0)
    assert d.bids[0] == (9999.90, 0.0093) and d.asks[0] == (10004.10, 0.0093)


def test_bias_in_candle_mode_follows_the_bar_closes():
    c = core(signals=SignalsParams(use_bias=True, bias_weight_bps=1.0))
    p = 10_000.0
    for i in range(51):
        p *= 0.999 if i < 30 else 1.002
        c.on_bar(T0 + (i + 1) * 300 * S, p, p, p, p)
    assert c.signals.bias == 1.0
    assert c.mid == p and c.best_bid == p - 0.005 and c.best_ask == p + 0.005  # half a tick around the close


# ------------------------------------------------------------------------------------------- causality


ALL_SIGNALS = SignalsParams(
    use_bias=True, bias_weight_bps=1.5, bias_bar_interval_s=30.0, bias_rsi_period=5, bias_qqe_smoothing=3,
    use_imbalance=True, imbalance_weight_bps=1.0, imbalance_half_life_s=5.0, imbalance_level_decay=0.5, use_microprice=True,
    use_flow=True, flow_weight_bps=1.0, flow_half_life_s=3.0, bias_kalman_model="trend",
)


def _events(rng: random.Random, t: int, mid: float, n: int) -> list[tuple]:
    """n random events from time t: books, level sizes, trades and decisions with positions."""
    out = []
    pos = 0.0
    for _ in range(n):
        t += int(rng.expovariate(2.0) * S) + 1
        r = rng.random()
        if r < 0.5:
            mid = round(mid + rng.choice((-1.0, -0.5, 0.0, 0.5, 1.0)), 2)
            out.append(("book", t, mid - 0.5, mid + 0.5))
        elif r < 0.6:
            out.append(("levels", t, [rng.uniform(0, 5) for _ in range(5)], [rng.uniform(0, 5) for _ in range(5)]))
        elif r < 0.85:
            out.append(("trade", t, mid + rng.choice((-1, 1)) * rng.expovariate(0.5), rng.random() < 0.5))
        else:
            pos = max(-0.04, min(0.04, round(pos + rng.choice((-1, 1)) * 0.002, 4)))
            out.append(("decide", t, pos, 10_000.0 + rng.uniform(-5, 5), rng.choice((0.0, 0.003)), rng.choice((0.0, 0.003))))
    return out


def _run(events: list[tuple]) -> list[tuple]:
    c = core(signals=ALL_SIGNALS)
    out = []
    for e in events:
        kind, t = e[0], e[1]
        if kind == "book":
            c.on_book(t, e[2], e[3])
        elif kind == "levels":
            c.on_book_levels(t, e[2], e[3])
        elif kind == "trade":
            c.on_trade(t, e[2], 0.01, e[3])
        else:
            d = c.decide(t, e[2], e[3], e[4], e[5])
            out.append((t, None if d is None else (d.bids, d.asks, d.risk.state, d.risk.reasons, c.signals.bias)))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_a_decision_never_depends_on_later_inputs(seed):
    rng = random.Random(seed)
    prefix = _events(rng, T0, 10_000.0, 4_000)
    cut = prefix[-1][1]
    last_mid = next(e[2] + 0.5 for e in reversed(prefix) if e[0] == "book")
    a = _run(prefix + _events(random.Random(1000 + seed), cut, last_mid, 2_000))
    b = _run(prefix + _events(random.Random(2000 + seed), cut, last_mid + 30.0, 2_000))
    before_a = [x for x in a if x[0] <= cut]
    assert before_a == [x for x in b if x[0] <= cut]
    assert a != b  # the futures differ, and so do the decisions made in them
    # the script exercised the core: ladders on both sides, a bias that moved, more than one risk state
    decided = [x[1] for x in before_a if x[1] is not None]
    assert sum(1 for bids, asks, *_ in decided if bids and asks) > 100
    assert len({bias for *_, bias in decided}) > 1
    assert {state for _, _, state, _, _ in decided} >= {RiskState.QUOTING, RiskState.REDUCE_ONLY}
    assert _run(prefix) == before_a  # and without any future at all


def test_max_levels_keeps_the_innermost_levels_of_each_side():
    """A short venue action budget caps the ladder (core.max_levels): the best level of each side
    stays exactly what the full ladder quotes there; None gives the full ladder back."""
    c = at_10000(core())
    full = c.decide(T0, 0.0, 10_000.0)
    assert len(full.bids) == len(full.asks) == 2
    c.max_levels = 1
    short = c.decide(T0 + S, 0.0, 10_000.0)
    assert short.bids == full.bids[:1] and short.asks == full.asks[:1]
    c.max_levels = None
    assert c.decide(T0 + 2 * S, 0.0, 10_000.0).bids == full.bids
