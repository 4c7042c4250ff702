"""The plain tick/lot grid and the strategy's choice of grid per venue."""

from __future__ import annotations

from decimal import Decimal

import pytest

from botmm_nautilus.adapters.hyperliquid import make_perpetual
from botmm_nautilus.core.grid import TickLotGrid
from botmm_nautilus.data.binance import make_binance_perpetual
from botmm_nautilus.data.snapshots import make_snapshot_perpetual
from botmm_nautilus.strategies.market_maker import grid_for
from botmm_nautilus.venue.rules import HyperliquidGrid


def test_tick_lot_grid_rounds_on_the_tick_without_float_residue():
    g = TickLotGrid(0.1, 0.0001)
    assert g.tick_size(93869.83) == 0.1
    assert g.round_price(93869.83, "down") == 93869.8
    assert g.round_price(93869.81, "up") == 93869.9
    assert g.round_price(93869.8, "up") == 93869.8  # already on the grid
    assert g.round_price(93869.86) == 93869.9
    assert g.round_size(0.012345) == 0.0123 and g.round_size(0.012345, "up") == 0.0124
    assert g.lots_per_unit == pytest.approx(10_000)
    assert g.meets_min_value(1.0, 0.0001)  # no minimum by default
    assert not TickLotGrid(0.1, 0.001, min_value_usd=5).meets_min_value(1000.0, 0.004)
    with pytest.raises(ValueError):
        TickLotGrid(0.0, 0.1)


def test_strategy_grid_is_hyperliquid_only_on_hyperliquid():
    hl = grid_for(make_perpetual("BTC", 5))
    assert isinstance(hl, HyperliquidGrid)
    assert hl.tick_size(93869.8) == 1.0  # 5 significant figures at 93k

    standx = grid_for(make_snapshot_perpetual("BTC-USD-PERP.STANDX", 1, 1, 4, 1))
    assert isinstance(standx, TickLotGrid)
    # the old rule (HyperliquidGrid for every instrument) quoted a 0.1-tick book on whole dollars
    assert standx.tick_size(93869.8) == 0.1 and standx.round_price(93869.83, "down") == 93869.8
    assert standx.lots_per_unit == pytest.approx(10_000) and standx.min_value_usd == 0.0

    binance = grid_for(make_binance_perpetual("BTCUSDT", 1, Decimal("0.1"), 3, Decimal("0.001")))
    assert isinstance(binance, TickLotGrid)
    assert (binance.tick, binance.lot, binance.min_value_usd) == (0.1, 0.001, 5.0)
