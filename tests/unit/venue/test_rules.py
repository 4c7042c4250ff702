"""Hyperliquid's price and size grid (``HyperliquidGrid``) against hand-worked ticks and roundings."""

from __future__ import annotations

import random

import pytest

from botmm_nautilus.venue import rules
from botmm_nautilus.venue.rules import HyperliquidGrid


def test_tick_is_five_significant_figures_capped_by_price_decimals():
    btc, eth, xrp = HyperliquidGrid(5), HyperliquidGrid(4), HyperliquidGrid(0)
    assert btc.tick_size(109_755.3) == 1.0  # 6 integer digits: integers only (never coarser than 1)
    assert btc.tick_size(9_999.9) == 0.1  # 4 integer digits: 5 sig figs -> 0.1
    assert btc.tick_size(999.0) == 0.1  # 5 sig figs would be 0.01; BTC allows 6 - 5 = 1 decimal
    assert eth.tick_size(3_876.4) == 0.1  # 5 sig figs
    assert eth.tick_size(99.0) == 0.01  # 5 sig figs would be 0.001; ETH allows 2 decimals
    assert xrp.tick_size(2.8) == 0.0001  # 5 sig figs
    assert xrp.tick_size(0.05) == 0.000001  # 5 sig figs -> 1e-6, the 6-decimal cap
    assert rules.tick_size(3_876.4, 4) == eth.tick_size(3_876.4)
    with pytest.raises(ValueError, match="positive finite"):
        eth.tick_size(0.0)


def test_round_price_modes():
    eth = HyperliquidGrid(4)
    assert eth.round_price(3876.46, "down") == 3876.4
    assert eth.round_price(3876.41, "up") == 3876.5
    assert eth.round_price(3876.45, "nearest") == 3876.5
    assert eth.round_price(3876.4 + 1e-12, "up") == 3876.4  # float residue of a valid price stays put
    btc = HyperliquidGrid(5)
    assert btc.round_price(99_999.5, "up") == 100_000.0  # across a power of ten
    assert btc.round_price(0.00001, "down") == 0.1  # never rounds to zero: the smallest tick
    with pytest.raises(ValueError, match="mode"):
        eth.round_price(100.0, "sideways")


def test_round_size_lots_and_min_value():
    sol = HyperliquidGrid(2)
    assert sol.lots_per_unit == 100.0
    assert sol.round_size(1.239) == 1.23 and sol.round_size(1.231, "up") == 1.24 and sol.round_size(1.235, "nearest") == 1.24
    assert sol.round_size(0.3 - 0.1 - 0.2 + 0.07) == 0.07  # float residue below a lot does not lose it
    assert sol.min_value_usd == rules.MIN_ORDER_VALUE_USD == 10.0
    assert sol.meets_min_value(200.0, 0.05) and not sol.meets_min_value(199.0, 0.05)
    assert HyperliquidGrid(2, min_value_usd=20.0).meets_min_value(200.0, 0.1)
    assert not HyperliquidGrid(2, min_value_usd=20.0).meets_min_value(199.0, 0.1)
    with pytest.raises(ValueError, match="non-negative"):
        sol.round_size(-1.0)
    with pytest.raises(ValueError, match="szDecimals"):
        HyperliquidGrid(7)


def test_rounded_prices_pass_the_venue_check():
    rng = random.Random(5)
    for _ in range(5_000):
        sz = rng.randint(0, 6)
        grid = HyperliquidGrid(sz)
        price = 10 ** rng.uniform(-3, 6)
        for mode in ("down", "up", "nearest"):
            p = grid.round_price(price, mode)
            assert rules.is_valid_price(p, sz), (price, sz, mode, p)
            if mode == "down":
                assert p <= price * (1 + 1e-12) or p == grid.tick_size(p)
            elif mode == "up":
                assert p >= price * (1 - 1e-12)
