"""Quote engine: every formula against hand-computed numbers, ladder rounding, bid < ask always."""

from __future__ import annotations

import math
import random

import pytest

from botmm_nautilus.core.params import QuotingParams
from botmm_nautilus.core.quoting import QuoteInputs
from botmm_nautilus.core.quoting import QuotePair
from botmm_nautilus.core.quoting import apply_fee_gate
from botmm_nautilus.core.quoting import avellaneda_stoikov
from botmm_nautilus.core.quoting import build_ladder
from botmm_nautilus.core.quoting import classic_bps
from botmm_nautilus.core.quoting import classic_skew_bps
from botmm_nautilus.core.quoting import classic_spread_bps
from botmm_nautilus.core.quoting import compute_ladder
from botmm_nautilus.core.quoting import glft
from botmm_nautilus.core.quoting import glft_coefficients
from botmm_nautilus.core.quoting import min_profitable_half_spread_bps
from botmm_nautilus.venue import rules as hl_rules
from botmm_nautilus.venue.rules import HyperliquidGrid

APPROX = dict(rel=1e-12, abs=1e-12)


def botmm_defaults(**kw) -> QuotingParams:
    """The classic model with BotMM's defaults: one level of 100 USD, skew factor 0.5."""
    base = dict(model="classic", levels=1, size_weights=(1.0,), order_size_usd=100.0, classic_skew_factor=0.5)
    base.update(kw)
    return QuotingParams(**base)


# compute_ladder's inputs that the quoting section does not hold: an ETH-like grid (szDecimals 4),
# Hyperliquid's base maker fee and a 500 USD position limit
EXTRA = dict(grid=HyperliquidGrid(4), maker_fee=hl_rules.BASE_MAKER_FEE, max_position_usd=500.0)

# ----------------------------------------------------------------------------- Avellaneda & Stoikov


def test_as_hand_computed():
    # gamma=0.1, sigma=2, T-t=1, k=1.5, s=100, q=2
    # r = 100 - 2*0.1*2^2*1 = 100 - 0.8 = 99.2
    # spread = 0.1*4*1 + (2/0.1)*ln(1 + 0.1/1.5) = 0.4 + 20*ln(16/15) = 0.4 + 20*0.0645385211375712
    #        = 0.4 + 1.290770422751424 = 1.690770422751424 ; half = 0.845385211375712
    qp = avellaneda_stoikov(mid=100.0, q=2.0, gamma=0.1, sigma=2.0, k=1.5, time_left=1.0)
    assert qp.reservation_price == pytest.approx(99.2, **APPROX)
    assert qp.half_spread == pytest.approx(0.845385211375712, rel=1e-12)
    assert qp.bid == pytest.approx(99.2 - 0.845385211375712, rel=1e-12)  # 98.354614788624288
    assert qp.ask == pytest.approx(99.2 + 0.845385211375712, rel=1e-12)  # 100.045385211375712


def test_as_flat_inventory_and_zero_horizon():
    # q=0, T-t=0: r = s; spread = (2/gamma) ln(1+gamma/k) = (2/0.5)*ln(1+0.5/2) = 4*ln(1.25) = 0.8925742052568391
    qp = avellaneda_stoikov(mid=50.0, q=0.0, gamma=0.5, sigma=3.0, k=2.0, time_left=0.0)
    assert qp.reservation_price == 50.0
    assert qp.ask - qp.bid == pytest.approx(0.8925742052568391, rel=1e-12)
    # short inventory raises the reservation price: q=-1, gamma=0.5, sigma=3, T-t=2 -> r = 50 + 0.5*9*2 = 59
    assert avellaneda_stoikov(50.0, -1.0, 0.5, 3.0, 2.0, 2.0).reservation_price == pytest.approx(59.0)


def test_as_rejects_bad_parameters():
    with pytest.raises(ValueError):
        avellaneda_stoikov(100.0, 0.0, 0.0, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError):
        avellaneda_stoikov(100.0, 0.0, 0.1, 1.0, -1.0, 1.0)


# --------------------------------------------------------------------------------------------- GLFT


def test_glft_coefficients_hand_computed():
    # gamma = xi = 0.05, Delta = 1, A = 1, k = 0.5  ->  xi*Delta/k = 0.1
    # c1 = (1/0.05) * ln(1.1) = 20 * 0.09531017980432486 = 1.9062035960864972
    # c2 = sqrt(0.05 / (2*1*1*0.5) * 1.1^(0.5/0.05 + 1)) = sqrt(0.05 * 1.1^11)
    #    = sqrt(0.05 * 2.853116706110003) = sqrt(0.14265583530550015) = 0.3776980742676...
    c1, c2 = glft_coefficients(gamma=0.05, A=1.0, k=0.5)
    assert c1 == pytest.approx(20 * 0.09531017980432486, rel=1e-12)
    assert c2 == pytest.approx(math.sqrt(0.05 * 2.853116706110003), rel=1e-12)
    assert c2 == pytest.approx(0.37769807426766, rel=1e-10)


def test_glft_quotes_hand_computed():
    # sigma = 1, q = 2, mid = 100 with the coefficients above:
    # half_spread = c1 + (1/2)*sigma*c2 = 1.9062035960865 + 0.1888490371338 = 2.0950526332203
    # skew = sigma*c2 = 0.3776980742677
    # bid = 100 - (2.0950526332203 + 0.7553961485353) = 100 - 2.8504487817556 = 97.1495512182444
    # ask = 100 + (2.0950526332203 - 0.7553961485353) = 101.3396564846850
    qp = glft(mid=100.0, q=2.0, gamma=0.05, sigma=1.0, A=1.0, k=0.5)
    assert qp.half_spread == pytest.approx(2.0950526332203, rel=1e-11)
    assert qp.bid == pytest.approx(97.1495512182444, rel=1e-12)
    assert qp.ask == pytest.approx(101.3396564846850, rel=1e-12)
    assert qp.reservation_price == pytest.approx(100 - 2 * 0.3776980742677, rel=1e-12)


def test_glft_matches_gueant_eq_4_6_4_7_direct_evaluation():
    # Direct evaluation of Guéant (2017) (4.6)/(4.7) with hftbacktest's illustrative numbers
    # sigma=0.3, A=0.9, k=0.3, gamma=xi=0.01, Delta=1, and with Delta=2 (xi*Delta = 0.02):
    for delta in (1.0, 2.0):
        sigma, A, k, gamma, q = 0.3, 0.9, 0.3, 0.01, 3.0
        xd = gamma * delta
        root = math.sqrt(gamma * sigma**2 / (2 * A * delta * k) * (1 + xd / k) ** (k / xd + 1))
        d_bid = (1 / xd) * math.log(1 + xd / k) + (2 * q + delta) / 2 * root
        d_ask = (1 / xd) * math.log(1 + xd / k) - (2 * q - delta) / 2 * root
        qp = glft(mid=1000.0, q=q, gamma=gamma, sigma=sigma, A=A, k=k, order_size=delta)
        assert 1000.0 - qp.bid == pytest.approx(d_bid, rel=1e-12)
        assert qp.ask - 1000.0 == pytest.approx(d_ask, rel=1e-12)


def test_glft_reduces_to_glft_2013_one_lot():
    # GLFT (2013) asymptotics, one-lot quotes: delta_b(q) = (1/g) ln(1+g/k) + (2q+1)/2 * sqrt(s^2 g/(2kA) (1+g/k)^(1+k/g))
    g, k, A, s, q = 0.1, 1.5, 140.0, 2.0, -1.0
    root = math.sqrt(s * s * g / (2 * k * A) * (1 + g / k) ** (1 + k / g))
    d_b = (1 / g) * math.log(1 + g / k) + (2 * q + 1) / 2 * root
    d_a = (1 / g) * math.log(1 + g / k) - (2 * q - 1) / 2 * root
    qp = glft(100.0, q, g, s, A, k)
    assert 100.0 - qp.bid == pytest.approx(d_b, rel=1e-12)
    assert qp.ask - 100.0 == pytest.approx(d_a, rel=1e-12)


def test_glft_xi_zero_limit_and_adj_factors():
    # xi = 0: c1 = 1/k = 2, c2 = sqrt(gamma/(2 A Delta k) * e) = sqrt(0.05/1 * e) = sqrt(0.1359140914229523)
    c1, c2 = glft_coefficients(0.05, 1.0, 0.5, xi=0.0)
    assert c1 == 2.0
    assert c2 == pytest.approx(math.sqrt(0.05 * math.e), rel=1e-12)
    c1b, c2b = glft_coefficients(0.05, 1.0, 0.5, xi=1e-9)  # continuous at xi -> 0
    assert c1b == pytest.approx(c1, rel=1e-8) and c2b == pytest.approx(c2, rel=1e-7)
    # adj_spread=2, adj_skew=0.05 (hftbacktest's adj1/adj2): half = 2*2.0950526332203, skew = 0.05*0.3776980742677
    qp = glft(0.0, 1.0, 0.05, 1.0, 1.0, 0.5, adj_spread=2.0, adj_skew=0.05)
    assert qp.half_spread == pytest.approx(2 * 2.0950526332203, rel=1e-11)
    assert qp.reservation_price == pytest.approx(-0.05 * 0.3776980742677, rel=1e-11)


# ------------------------------------------------------------------------------------ classic (seed)


def test_classic_point_1_plain():
    # mid=100, vol=0.1%, flat: spread = 2 + 0.001*1e4*1.5 + 0 = 17 bps; no skew, no bias, no imbalance
    # bid = 100*(1 - 0.00085) = 99.915 ; ask = 100.085 ; one level, size = 100 USD / 100 = 1.0
    lad = classic_bps(100.0, 0.001, 0.0, 500.0, 0.0, 0.0, botmm_defaults())
    assert lad.bids[0].price == pytest.approx(99.915, rel=1e-14)
    assert lad.asks[0].price == pytest.approx(100.085, rel=1e-14)
    assert lad.bids[0].size == pytest.approx(1.0) and len(lad.bids) == 1


def test_classic_point_2_clamp_and_fee_gate_after_clamp():
    p = botmm_defaults()
    # vol 0.5%: 2 + 75 = 77 -> clamped to 20 bps; fee gate 2*1.5 = 3 bps does not bind
    assert classic_spread_bps(0.005, 0.0, 500.0, p) == 20.0
    lad = classic_bps(100.0, 0.005, 0.0, 500.0, 0.0, 0.0, p, maker_fee=0.00015)
    assert lad.asks[0].price - lad.bids[0].price == pytest.approx(100 * 20e-4, rel=1e-12)
    # quirk: the gate comes after the clamp, so it can exceed max_spread_bps (2.5 -> 3.0)
    p2 = botmm_defaults(classic_base_spread_bps=2.0, classic_vol_multiplier=0.0, classic_max_spread_bps=2.5)
    lad = classic_bps(100.0, 0.001, 0.0, 500.0, 0.0, 0.0, p2, maker_fee=0.00015)
    assert lad.asks[0].price - lad.bids[0].price == pytest.approx(100 * 3e-4, rel=1e-12)
    # quirk: a rebate is gated as if it were a cost (abs)
    lad = classic_bps(100.0, 0.001, 0.0, 500.0, 0.0, 0.0, p2, maker_fee=-0.00015)
    assert lad.asks[0].price - lad.bids[0].price == pytest.approx(100 * 3e-4, rel=1e-12)
    # inventory penalty: |inv|/max_pos*2 bps, min floor 0.5
    assert classic_spread_bps(0.0, -250.0, 500.0, botmm_defaults(classic_base_spread_bps=0.0)) == pytest.approx(1.0)
    assert classic_spread_bps(0.0, 0.0, 500.0, botmm_defaults(classic_base_spread_bps=0.0)) == 0.5


def test_classic_point_3_skew_amplification_bias_imbalance_levels():
    p = botmm_defaults(classic_skew_factor=0.5, levels=2, size_weights=(1.0, 1.0), level_spacing_bps=1.0, order_size_usd=100.0)
    # inv 400 of 500 -> ratio 0.8 > 0.6: skew = 0.8*0.5*0.002*1e4 = 8 bps, x (1 + 0.2*1.5) = 1.3 -> 10.4 bps
    assert classic_skew_bps(400.0, 500.0, 0.002, 0.5) == pytest.approx(10.4, rel=1e-12)
    assert classic_skew_bps(-400.0, 500.0, 0.002, 0.5) == pytest.approx(-10.4, rel=1e-12)
    assert classic_skew_bps(300.0, 500.0, 0.002, 0.5) == pytest.approx(6.0, rel=1e-12)  # exactly 60 %: no boost
    assert classic_skew_bps(500.0, 500.0, 0.002, 0.5) == pytest.approx(10.0 * 1.6, rel=1e-12)  # 1.6x at 100 %
    # spread = 2 + 30 + 1.6 = 33.6 -> 20 bps; imb_adj = 0.5*0.3*20 = 3 bps (shift, both sides)
    # effective_mid = 100*(1 + 0.4*0.002*0.5) = 100.04
    # bid0 = 100.04*(1 - 0.0010 - 0.00104 + 0.0003) = 100.04*0.99826 = 99.8659304
    # ask0 = 100.04*(1 + 0.0010 - 0.00104 + 0.0003) = 100.04*1.00026 = 100.0660104
    # bid1 = 100.04*0.99816 = 99.8559264 ; ask1 = 100.04*1.00036 = 100.0760144
    lad = classic_bps(100.0, 0.002, 400.0, 500.0, 0.5, 0.4, p)
    assert [q.price for q in lad.bids] == pytest.approx([99.8659304, 99.8559264], rel=1e-13)
    assert [q.price for q in lad.asks] == pytest.approx([100.0660104, 100.0760144], rel=1e-13)
    # weights 0.50/0.30 normalised -> 0.625/0.375 of 100 USD at the raw mid 100
    assert [q.size for q in lad.bids] == pytest.approx([0.625, 0.375])
    # the imbalance shift moves both quotes the same way (a shift, not a widening)
    flat = classic_bps(100.0, 0.002, 400.0, 500.0, 0.0, 0.4, p)
    assert lad.bids[0].price - flat.bids[0].price == pytest.approx(lad.asks[0].price - flat.asks[0].price, rel=1e-9)
    # one-sided
    assert classic_bps(100.0, 0.002, 400.0, 500.0, 0.5, 0.4, p, skip_buy=True).bids == []


def test_classic_four_level_weights_and_rounding():
    p = botmm_defaults(levels=4, size_weights=(1.0,) * 4, order_size_usd=1000.0)
    lad = classic_bps(100.0, 0.0, 0.0, 500.0, 0.0, 0.0, p)
    assert [q.size for q in lad.asks] == pytest.approx([5.0, 3.0, 1.5, 0.5])
    lad5 = classic_bps(100.0, 0.0, 0.0, 500.0, 0.0, 0.0, botmm_defaults(levels=5, size_weights=(1.0,) * 5, order_size_usd=1050.0))
    # 5 levels pad with 0.05: raw 0.5,0.3,0.15,0.05,0.05 (sum 1.05)
    assert [q.size for q in lad5.asks] == pytest.approx([5.0, 3.0, 1.5, 0.5, 0.5])
    # with a grid BotMM's prices are rounded (bids down, asks up): XRP-like at 2.8 (szDecimals 0)
    lad = classic_bps(2.8, 0.001, 0.0, 500.0, 0.0, 0.0, botmm_defaults(order_size_usd=100.0), grid=HyperliquidGrid(0))
    # spread 17 bps: bid 2.8*(1-0.00085) = 2.797620 -> 2.7976 ; ask 2.802380 -> 2.8024 ; size 100/2.8 = 35.7 -> 35
    assert lad.bids[0].price == 2.7976 and lad.asks[0].price == 2.8024 and lad.bids[0].size == 35.0


# ------------------------------------------------------------------------------------------ fee gate


def test_fee_gate_formula_and_modes():
    # delta_min = fee*1e4 + adverse + buffer = 1.5 + 0.5 + 0.25 = 2.25 bps
    assert min_profitable_half_spread_bps(0.00015, 0.5, 0.25) == pytest.approx(2.25)
    assert min_profitable_half_spread_bps(-0.00003, 0.5) == pytest.approx(0.2)  # rebate lowers it
    pair = QuotePair(bid=99.99, ask=100.05, reservation_price=100.02, half_spread=0.03)
    # bid depth 1 bp < 2 bps -> widened to 100*(1-0.0002) = 99.98 ; ask 5 bps passes
    w = apply_fee_gate(pair, 100.0, 0.00015, 0.5)
    assert w.bid == pytest.approx(99.98, rel=1e-14) and w.ask == 100.05
    s = apply_fee_gate(pair, 100.0, 0.00015, 0.5, mode="suppress")
    assert s.bid is None and s.ask == 100.05
    assert apply_fee_gate(pair, 100.0, 0.00015, 0.5, mode="off") is pair
    with pytest.raises(ValueError):
        apply_fee_gate(pair, 100.0, 0.00015, 0.5, mode="bogus")


# -------------------------------------------------------------------------------------- ladder rounding


def test_ladder_btc_integer_prices():
    # BTC szDecimals 5 at 109755.3: 5 significant figures -> integer prices (tick 1)
    lad = build_ladder(109755.3, 109765.7, 0.01, 2, 1.0, (0.625, 0.375), HyperliquidGrid(5))
    # bid0 109755.3 -> down 109755 ; bid1 = 109755.3*(1-1e-4) = 109744.32447 -> 109744
    # ask0 109765.7 -> up 109766 ; ask1 = 109765.7*1.0001 = 109776.67657 -> 109777
    assert [q.price for q in lad.bids] == [109755.0, 109744.0]
    assert [q.price for q in lad.asks] == [109766.0, 109777.0]
    assert [q.size for q in lad.bids] == [0.00625, 0.00375]


def test_ladder_eth_and_xrp_ticks():
    # ETH szDecimals 4 at 3876: tick 0.1 (5 significant figures)
    lad = build_ladder(3876.456, 3876.461, 0.1, 1, 1.0, (1.0,), HyperliquidGrid(4))
    assert lad.bids[0].price == 3876.4 and lad.asks[0].price == 3876.5
    # XRP szDecimals 0 at 2.8: tick 0.0001 (5 sig figs), sizes whole coins
    lad = build_ladder(2.80037, 2.80041, 100.0, 2, 1.0, (0.625, 0.375), HyperliquidGrid(0))
    # sizes: cumulative 62.5 -> 62, 100 -> 100 => 62, 38
    assert lad.bids[0].price == 2.8003 and lad.asks[0].price == 2.8005
    assert [q.size for q in lad.bids] == [62.0, 38.0]
    # bid1 = 2.80037*(1-1e-4) = 2.80009 -> 2.8000 ; ask1 = 2.80041*1.0001 = 2.80069 -> 2.8007
    assert lad.bids[1].price == 2.8 and lad.asks[1].price == 2.8007


def test_ladder_dedup_pushes_out_one_tick():
    # XRP spacing 0.1 bp = 0.000028 < tick 0.0001: levels would collide after rounding
    lad = build_ladder(2.80037, 2.80041, 300.0, 3, 0.1, (1, 1, 1), HyperliquidGrid(0))
    assert [q.price for q in lad.bids] == [2.8003, 2.8002, 2.8001]
    assert [q.price for q in lad.asks] == [2.8005, 2.8006, 2.8007]
    # across a power of ten: 100000 -> the next valid price below is 99999 (finer tick below)
    lad = build_ladder(100000.4, 100001.0, 0.003, 3, 0.0, (1, 1, 1), HyperliquidGrid(5))
    assert [q.price for q in lad.bids] == [100000.0, 99999.0, 99998.0]
    assert [q.price for q in lad.asks] == [100001.0, 100002.0, 100003.0]


def test_ladder_min_value_merge():
    # ETH at ~3876: total 0.004 (= $15.5): 0.0025 ($9.69) is below $10 -> merged with 0.0015 into level 0
    eth = HyperliquidGrid(4)
    lad = build_ladder(3876.4, 3876.6, 0.004, 2, 1.0, (0.625, 0.375), eth)
    assert len(lad.bids) == 1 and lad.bids[0].price == 3876.4 and lad.bids[0].size == 0.004
    # level 0 ok ($13.18), level 1 too small ($8.14): its size goes to the deepest kept level (level 0)
    lad = build_ladder(3876.4, 3876.6, 0.0055, 2, 1.0, (0.625, 0.375), eth)
    assert [(q.price, q.size) for q in lad.asks] == [(3876.6, 0.0055)]
    # 3 levels: 0.004, 0.004, 0.002 ETH -> levels 0,1 kept ($15.5 each), level 2 ($7.75) merged into level 1
    lad = build_ladder(3876.4, 3876.6, 0.01, 3, 1.0, (0.4, 0.4, 0.2), eth)
    assert [q.size for q in lad.bids] == [0.004, 0.006]
    # whole side below $10 -> empty
    lad = build_ladder(3876.4, 3876.6, 0.002, 2, 1.0, (0.5, 0.5), eth)
    assert lad.bids == [] and lad.asks == []


def test_ladder_sides_and_errors():
    sol = HyperliquidGrid(2)
    lad = build_ladder(100.0, 100.1, 1.0, 1, 1.0, (1,), sol, skip_sell=True)
    assert lad.asks == [] and lad.bids[0].price == 100.0
    lad = build_ladder(None, 100.1, 1.0, 1, 1.0, (1,), sol)
    assert lad.bids == [] and lad.asks[0].price == 100.1
    with pytest.raises(ValueError):
        build_ladder(100.1, 100.1, 1.0, 1, 1.0, (1,), sol)
    # a bid ladder that would reach zero is truncated
    lad = build_ladder(0.0002, 0.0004, 1e6, 5, 5000.0, (1,) * 5, HyperliquidGrid(0))
    assert all(q.price > 0 for q in lad.bids)


def test_ladder_on_a_grid_with_a_different_minimum_value():
    # 0.008 ETH split 0.005 (19.38 USD at 3876.4) / 0.003 (11.63 USD at 3876.4*(1-1e-4) = 3876.01 -> 3876.0):
    # both levels pass the venue's 10 USD; with a 20 USD minimum level 0 is below it and merges with level 1
    # into one order of 0.008 ETH at level 0's price
    lad = build_ladder(3876.4, 3876.6, 0.008, 2, 1.0, (0.625, 0.375), HyperliquidGrid(4))
    assert [(q.price, q.size) for q in lad.bids] == [(3876.4, 0.005), (3876.0, 0.003)]
    lad = build_ladder(3876.4, 3876.6, 0.008, 2, 1.0, (0.625, 0.375), HyperliquidGrid(4, min_value_usd=20.0))
    assert [(q.price, q.size) for q in lad.bids] == [(3876.4, 0.008)]


# ------------------------------------------------------------------------------------- compute_ladder


def _inputs(**kw):
    # mid 10000 makes 1 bp = 1 USD, so sigma = 1 USD/sqrt(s) is 1 bp/sqrt(s) and k = 0.5/USD is 0.5/bp
    base = dict(mid=10000.0, position_usd=0.0, sigma=1.0, A=1.0, k=0.5, vol_frac=0.001)
    base.update(kw)
    return QuoteInputs(**base)


def test_compute_ladder_glft_hand_computed():
    # q = 300/150 = 2 lots; in bps: half = 2.0950526332203, skew = 0.3776980742677 (test above)
    # r = 10000 - 2*0.3776980742677 = 9999.2446038514646 ; bid = 9997.1495512 ; ask = 10001.3396565
    # fee gate delta_min = 1.5 + 0.5 = 2 bps = 2 USD: ask depth 1.34 < 2 -> ask = 10002.0; bid depth 2.85 ok
    # rounding (szDecimals 4, 5 significant figures): tick 0.1 below 10000, tick 1 from 10000 up:
    # bid 9997.1495512 -> down 9997.1 ; level 1: 9997.1495512*(1-1e-4) = 9996.1498 -> 9996.1
    # ask 10002 ; level 1: 10002*1.0001 = 10003.0002 -> up 10004 ; sizes: 150/10000 = 0.015 -> 0.0093 / 0.0057
    p = QuotingParams(model="glft", gamma=0.05, levels=2, level_spacing_bps=1.0, order_size_usd=150.0)
    lad = compute_ladder(_inputs(position_usd=300.0), p, **EXTRA)
    assert lad.reservation_price == pytest.approx(9999.2446038514646, rel=1e-13)
    assert lad.half_spread == pytest.approx(2.0950526332203, rel=1e-10)
    assert [q.price for q in lad.bids] == [9997.1, 9996.1]
    assert [q.price for q in lad.asks] == [10002.0, 10004.0]
    assert [q.size for q in lad.bids] == [0.0093, 0.0057]
    # suppress instead of widen: the ask side disappears
    lad = compute_ladder(_inputs(position_usd=300.0), QuotingParams(model="glft", fee_gate="suppress"), **EXTRA)
    assert lad.asks == [] and lad.bids[0].price == 9997.1


def test_compute_ladder_as_hand_computed_and_clamps():
    # horizon 10 s, q=0: spread = 0.05*1*10 + (2/0.05) ln(1 + 0.05/0.5) = 0.5 + 40*0.0953101798 = 4.3124071922
    # half = 2.1562035961 bps = USD -> bid 9997.8438 -> 9997.8 (tick 0.1) ; ask 10002.1562 -> 10003 (tick 1)
    p = QuotingParams(model="as", gamma=0.05, horizon_s=10.0, levels=1, size_weights=(1.0,))
    lad = compute_ladder(_inputs(), p, **EXTRA)
    assert lad.half_spread == pytest.approx(2.1562035960864972, rel=1e-12)
    assert (lad.bids[0].price, lad.asks[0].price) == (9997.8, 10003.0)
    # time_left from the inputs wins over horizon_s: T-t = 0 -> half = 20*ln(1.1) = 1.906 -> gate widens to 2
    lad = compute_ladder(_inputs(time_left_s=0.0), p, **EXTRA)
    assert (lad.bids[0].price, lad.asks[0].price) == (9998.0, 10002.0)
    # max_half_spread clamp 1 bp, gate off -> 9999 / 10001
    p2 = QuotingParams(model="as", gamma=0.05, horizon_s=10.0, levels=1, size_weights=(1.0,), max_half_spread_bps=1.0, fee_gate="off")
    lad = compute_ladder(_inputs(), p2, **EXTRA)
    assert (lad.bids[0].price, lad.asks[0].price) == (9999.0, 10001.0)
    # min_half_spread clamp 5 bps -> 9995 / 10005
    p3 = QuotingParams(model="as", gamma=0.05, horizon_s=10.0, levels=1, size_weights=(1.0,), min_half_spread_bps=5.0)
    lad = compute_ladder(_inputs(), p3, **EXTRA)
    assert (lad.bids[0].price, lad.asks[0].price) == (9995.0, 10005.0)


def test_compute_ladder_fair_value_and_post_only_clamp():
    p = QuotingParams(model="glft", levels=1, size_weights=(1.0,), fee_gate="off", max_half_spread_bps=1.0)
    # fair value 10001 (1 bp above the mid): bid 10000, ask 10002
    lad = compute_ladder(_inputs(fair_value=10001.0), p, **EXTRA)
    assert (lad.bids[0].price, lad.asks[0].price) == (10000.0, 10002.0)
    # fair 10004.0003: bid 10003.0003 -> 10003, ask 10005.0003 -> 10006
    lad = compute_ladder(_inputs(fair_value=10004.0003), p, **EXTRA)
    assert (lad.bids[0].price, lad.asks[0].price) == (10003.0, 10006.0)
    # touch known (9999 / 10001, tick 1 here): a bid at 10003 would cross -> the best valid price below the ask
    # 10001 is 10000
    lad = compute_ladder(_inputs(fair_value=10004.0003, best_bid=9999.0, best_ask=10001.0), p, **EXTRA)
    assert lad.bids[0].price == 10000.0 and lad.asks[0].price == 10006.0
    # no fair value: centred on the mid
    lad = compute_ladder(_inputs(), p, **EXTRA)
    assert (lad.bids[0].price, lad.asks[0].price) == (9999.0, 10001.0)


def test_compute_ladder_classic_dispatch():
    p = QuotingParams(model="classic", levels=2, size_weights=(0.625, 0.375), order_size_usd=150.0, classic_skew_factor=0.3, fee_gate="off")
    # vol 0.1% -> spread 2 + 15 = 17 bps: bid 10000*(1-0.00085) = 9991.5 (valid) ; ask 10008.5 -> up 10009
    lad = compute_ladder(_inputs(), p, **EXTRA)
    assert lad.bids[0].price == 9991.5 and lad.asks[0].price == 10009.0
    with pytest.raises(ValueError):
        QuotingParams(model="nope")


# ------------------------------------------------------------------------- property: always a sane ladder


def test_property_bid_below_ask_and_valid_everywhere():
    rng = random.Random(20240611)
    for _ in range(3000):
        sz = rng.randint(0, 5)
        mid = 10 ** rng.uniform(-0.5, 5.3)
        if hl_rules.tick_size(mid, sz) / mid > 5e-3:  # tick too coarse for the asset (not a real listing)
            continue
        model = rng.choice(("as", "glft", "classic"))
        pos_usd = rng.uniform(-2000, 2000)
        inputs = QuoteInputs(
            mid=mid,
            fair_value=mid * (1.0 + rng.uniform(-6, 6) * 1e-4),
            position_usd=pos_usd,
            sigma=mid * 1e-4 * 10 ** rng.uniform(-1, 1.5),
            A=10 ** rng.uniform(-2, 1),
            k=10 ** rng.uniform(-1.5, 1) / (mid * 1e-4),
            vol_frac=10 ** rng.uniform(-4, -1.5),
            imbalance=rng.uniform(-1, 1),
            bias=rng.uniform(-1, 1),
        )
        grid = HyperliquidGrid(sz)
        params = QuotingParams(
            model=model,
            gamma=10 ** rng.uniform(-3, 0),
            horizon_s=rng.uniform(0, 600),
            levels=rng.randint(1, 4),
            level_spacing_bps=rng.uniform(0, 5),
            size_weights=(0.5, 0.3, 0.15, 0.05),
            order_size_usd=rng.uniform(10, 2000),
            min_half_spread_bps=rng.uniform(0, 2),
            max_half_spread_bps=rng.uniform(2, 100),
            fee_gate=rng.choice(("widen", "suppress", "off")),
            adj_skew=rng.uniform(0, 2),
        )
        lad = compute_ladder(inputs, params, **{**EXTRA, "grid": grid})
        total = params.order_size_usd / mid
        for side, quotes, sign in (("bid", lad.bids, -1), ("ask", lad.asks, 1)):
            prices = [q.price for q in quotes]
            assert all(sign * (b - a) > 0 for a, b in zip(prices, prices[1:])), (side, prices)
            for q in quotes:
                assert hl_rules.is_valid_price(q.price, sz), (q.price, sz)
                assert q.size == grid.round_size(q.size) and q.size > 0
                assert grid.meets_min_value(q.price, q.size)
            assert sum(q.size for q in quotes) <= total + 1e-9
        if lad.bids and lad.asks:
            assert lad.bids[0].price < lad.asks[0].price, (model, lad)
