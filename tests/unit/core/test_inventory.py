"""Inventory: average cost, flips, fees, funding, exposure, worst case. Expected numbers are hand computed."""

from __future__ import annotations

import pytest

from botmm_nautilus.core.inventory import Inventory
from botmm_nautilus.core.inventory import funding_payment_usd

BUY, SELL = 1, -1
T = 1_735_689_600_000_000_000  # 2025-01-01T00:00:00Z


def test_buys_at_100_and_102_average_101():
    inv = Inventory("ETH")
    assert inv.on_fill(T, BUY, 100.0, 1.0, 0.0) == 0.0
    assert inv.on_fill(T + 1, BUY, 102.0, 1.0, 0.0) == 0.0
    assert inv.position == 2.0
    assert inv.avg_entry_price == pytest.approx(101.0)
    assert inv.realized_pnl_usd == 0.0
    assert inv.unrealized_pnl(105.0) == pytest.approx(8.0)  # 2 * (105 - 101)
    assert inv.exposure_usd(105.0) == pytest.approx(210.0)


def test_weighted_average_for_unequal_sizes():
    inv = Inventory()
    inv.on_fill(T, BUY, 100.0, 1.0, 0.0)
    inv.on_fill(T, BUY, 104.0, 3.0, 0.0)
    assert inv.avg_entry_price == pytest.approx(103.0)  # (100 + 312) / 4


def test_partial_reduce_realises_and_keeps_average():
    inv = Inventory()
    inv.on_fill(T, BUY, 100.0, 1.0, 0.0)
    inv.on_fill(T, BUY, 102.0, 1.0, 0.0)
    realised = inv.on_fill(T, SELL, 105.0, 1.0, 0.0)
    assert realised == pytest.approx(4.0)  # 1 * (105 - 101)
    assert inv.position == pytest.approx(1.0)
    assert inv.avg_entry_price == pytest.approx(101.0)
    assert inv.realized_pnl_usd == pytest.approx(4.0)


def test_sell_more_than_position_flips_to_short_at_fill_price():
    inv = Inventory()
    inv.on_fill(T, BUY, 100.0, 1.0, 0.0)
    inv.on_fill(T, BUY, 102.0, 1.0, 0.0)  # long 2 @ 101
    realised = inv.on_fill(T, SELL, 99.0, 5.0, 0.0)
    assert realised == pytest.approx(-4.0)  # closes 2 at 99 - 101
    assert inv.position == pytest.approx(-3.0)
    assert inv.avg_entry_price == pytest.approx(99.0)
    # buying back 1 of the short at 97 earns 99 - 97
    assert inv.on_fill(T, BUY, 97.0, 1.0, 0.0) == pytest.approx(2.0)
    assert inv.position == pytest.approx(-2.0)
    assert inv.avg_entry_price == pytest.approx(99.0)
    assert inv.realized_pnl_usd == pytest.approx(-2.0)
    assert inv.unrealized_pnl(95.0) == pytest.approx(8.0)  # -2 * (95 - 99)


def test_short_side_average_and_flat_close():
    inv = Inventory()
    inv.on_fill(T, SELL, 50.0, 2.0, 0.0)
    inv.on_fill(T, SELL, 54.0, 2.0, 0.0)
    assert inv.position == pytest.approx(-4.0)
    assert inv.avg_entry_price == pytest.approx(52.0)
    assert inv.on_fill(T, BUY, 51.0, 4.0, 0.0) == pytest.approx(4.0)  # 4 * (52 - 51)
    assert inv.position == 0.0
    assert inv.avg_entry_price == 0.0
    assert inv.is_flat


def test_buy_back_exactly_to_flat_then_long_from_fill_price():
    inv = Inventory()
    inv.on_fill(T, SELL, 50.0, 2.0, 0.0)
    inv.on_fill(T, BUY, 48.0, 3.0, 0.0)  # close 2 (+4), open long 1 @ 48
    assert inv.realized_pnl_usd == pytest.approx(4.0)
    assert inv.position == pytest.approx(1.0)
    assert inv.avg_entry_price == pytest.approx(48.0)


def test_float_residue_snaps_to_flat():
    inv = Inventory()
    inv.on_fill(T, BUY, 10.0, 0.1, 0.0)
    inv.on_fill(T, BUY, 10.0, 0.2, 0.0)
    inv.on_fill(T, SELL, 10.0, 0.3, 0.0)  # 0.1 + 0.2 - 0.3 != 0 in floats
    assert inv.position == 0.0
    assert inv.avg_entry_price == 0.0


def test_fees_cost_and_rebate():
    inv = Inventory()
    inv.on_fill(T, BUY, 100.0, 100.0, 1.5)  # 10,000 notional * 1.5 bps maker fee = 1.5 cost
    inv.on_fill(T, SELL, 100.0, 50.0, -0.1)  # 5,000 notional * -0.2 bps rebate = -0.1
    assert inv.fees_paid_usd == pytest.approx(1.4)
    assert inv.traded_notional_usd == pytest.approx(15_000.0)
    assert inv.fill_count == 2
    assert inv.buy_qty_total == pytest.approx(100.0)
    assert inv.sell_qty_total == pytest.approx(50.0)


def test_funding_sign_and_helper():
    # long 2 at mark 100, rate +0.01%/h: the long pays 0.02; a short receives it
    assert funding_payment_usd(2.0, 100.0, 0.0001) == pytest.approx(-0.02)
    assert funding_payment_usd(-2.0, 100.0, 0.0001) == pytest.approx(0.02)
    inv = Inventory()
    inv.on_funding(T, -0.02)
    inv.on_funding(T + 3_600_000_000_000, 0.05)
    assert inv.funding_usd == pytest.approx(0.03)
    assert inv.funding_paid_usd == pytest.approx(-0.03)
    assert inv.last_funding_ts_ns == T + 3_600_000_000_000


def test_net_pnl_combines_realised_unrealised_fees_funding():
    inv = Inventory()
    inv.on_fill(T, BUY, 100.0, 2.0, 0.03)  # 200 * 1.5 bps
    inv.on_fill(T, SELL, 110.0, 1.0, 0.0165)  # 110 * 1.5 bps; realises +10
    inv.on_funding(T, -0.02)
    # realised 10 + unrealised 1 * (105 - 100) - fees 0.0465 + funding -0.02
    assert inv.net_pnl_usd(105.0) == pytest.approx(14.9335)
    snap = inv.snapshot(105.0)
    assert snap["net_pnl_usd"] == pytest.approx(14.9335)
    assert snap["unrealized_pnl_usd"] == pytest.approx(5.0)


def test_exposure_ratio_and_skew():
    inv = Inventory()
    inv.on_fill(T, BUY, 100.0, 2.0, 0.0)
    assert inv.exposure_usd(101.0) == pytest.approx(202.0)
    assert inv.inventory_ratio(101.0, 400.0) == pytest.approx(0.505)
    assert inv.skew(101.0, 400.0) == pytest.approx(0.505)
    assert inv.inventory_ratio(101.0, 101.0) == pytest.approx(2.0)  # over the limit
    assert inv.skew(101.0, 101.0) == 1.0
    inv.on_fill(T, SELL, 100.0, 5.0, 0.0)  # short 3
    assert inv.exposure_usd(100.0) == pytest.approx(-300.0)
    assert inv.inventory_ratio(100.0, 200.0) == pytest.approx(-1.5)
    assert inv.skew(100.0, 200.0) == -1.0
    assert inv.skew(100.0, 200.0, limit=2.0) == pytest.approx(-1.5)
    with pytest.raises(ValueError):
        inv.inventory_ratio(100.0, 0.0)


def test_worst_case_with_open_orders():
    inv = Inventory()
    inv.on_fill(T, BUY, 100.0, 2.0, 0.0)
    # explicit quantities
    assert inv.worst_case_long(1.5) == pytest.approx(3.5)
    assert inv.worst_case_short(4.0) == pytest.approx(-2.0)
    # reported pending quantities are the default
    inv.set_pending(T, open_buy_qty=1.5, open_sell_qty=4.0)
    assert inv.worst_case_long() == pytest.approx(3.5)
    assert inv.worst_case_short() == pytest.approx(-2.0)
    assert inv.worst_case_long_usd(101.0) == pytest.approx(353.5)
    assert inv.worst_case_short_usd(101.0) == pytest.approx(-202.0)
    # a short position: open sells deepen it, open buys reduce the long-side worst case
    inv.on_fill(T, SELL, 100.0, 3.0, 0.0)  # short 1
    assert inv.worst_case_long() == pytest.approx(0.5)
    assert inv.worst_case_short() == pytest.approx(-5.0)
    with pytest.raises(ValueError):
        inv.set_pending(T, -1.0, 0.0)


def test_sync_position_keeps_totals():
    inv = Inventory()
    inv.on_fill(T, BUY, 100.0, 1.0, 0.015)
    inv.on_fill(T, SELL, 101.0, 1.0, 0.0)
    inv.sync_position(T, -0.5, 99.0)
    assert inv.position == -0.5
    assert inv.avg_entry_price == 99.0
    assert inv.realized_pnl_usd == pytest.approx(1.0)
    assert inv.fees_paid_usd == pytest.approx(0.015)
    inv.sync_position(T, 0.0, 0.0)
    assert inv.is_flat and inv.avg_entry_price == 0.0


@pytest.mark.parametrize(
    "side, price, qty, fee",
    [(0, 100.0, 1.0, 0.0), (2, 100.0, 1.0, 0.0), (1, 0.0, 1.0, 0.0), (1, 100.0, 0.0, 0.0),
     (1, 100.0, -1.0, 0.0), (1, float("nan"), 1.0, 0.0), (1, 100.0, 1.0, float("inf"))],
)
def test_bad_fills_are_rejected(side, price, qty, fee):
    inv = Inventory()
    with pytest.raises(ValueError):
        inv.on_fill(T, side, price, qty, fee)
    assert inv.position == 0.0 and inv.fill_count == 0
