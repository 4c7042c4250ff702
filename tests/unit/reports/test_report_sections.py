"""The section functions of ``compute_summary`` on tiny hand-built inputs, each expected value worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from support.report_frames import empty_frames

from botmm_nautilus.reports.artifacts import BacktestArtifacts
from botmm_nautilus.reports.metrics import TapePnL
from botmm_nautilus.reports.metrics import captured_spread_bps
from botmm_nautilus.reports.metrics import drawdown_figures
from botmm_nautilus.reports.metrics import fill_count_figures
from botmm_nautilus.reports.metrics import find_config_value
from botmm_nautilus.reports.metrics import inventory_figures
from botmm_nautilus.reports.metrics import liquidation_figures
from botmm_nautilus.reports.metrics import markout_figures
from botmm_nautilus.reports.metrics import order_figures
from botmm_nautilus.reports.metrics import per_period_rate
from botmm_nautilus.reports.metrics import pnl_figures
from botmm_nautilus.reports.metrics import quoting_figures
from botmm_nautilus.reports.metrics import reconciliation
from botmm_nautilus.reports.metrics import resolve_final_mid
from botmm_nautilus.reports.metrics import run_header
from botmm_nautilus.reports.metrics import run_period
from botmm_nautilus.reports.metrics import sharpe_figures
from botmm_nautilus.reports.metrics import tape_pnl
from botmm_nautilus.reports.metrics import volume_figures
from botmm_nautilus.reports.output import format_summary_table
from botmm_nautilus.reports.output import format_value
from botmm_nautilus.reports.run_warnings import honesty_warnings
from botmm_nautilus.reports.tape import SampleArrays
from botmm_nautilus.reports.tape import count_venue_fills
from botmm_nautilus.reports.tape import fill_arrays

S = 1_000_000_000
T0 = 1_735_689_600 * S  # 2025-01-01T00:00:00Z


def fills_frame(rows: list[tuple]) -> pd.DataFrame:
    """rows of (seconds after T0, side, price, qty, fee_usd, liquidity, mid_at_fill)."""
    cols = ["ts_ns", "side", "price", "qty", "fee_usd", "liquidity", "mid_at_fill"]
    f = pd.DataFrame(rows, columns=cols)
    f["ts_ns"] = (T0 + (f["ts_ns"] * S).round()).astype(np.int64)
    return f.astype({"side": "int8", "price": "float64", "qty": "float64", "fee_usd": "float64", "mid_at_fill": "float64"})


def artifacts(**kw) -> BacktestArtifacts:
    f = empty_frames()
    base = {
        "fills": f["fills"], "mids": f["mids"], "samples": f["samples"], "funding": f["funding"],
        "starting_balance_usd": 1_000.0, "final_balance_usd": 1_000.0, "final_position_base": 0.0, "final_mid": 100.0,
        "engine_realized_pnl_usd": 0.0, "engine_unrealized_pnl_usd": 0.0, "engine_commissions_usd": 0.0,
        "instrument": "BTC-USDC-PERP.HL", "coin": "BTC", "start_ns": T0, "end_ns": T0 + 3600 * S, "mode": "book",
        "data_description": "hand-built unit scenario", "sample_label": "in-sample",
    }
    base.update(kw)
    return BacktestArtifacts(**base)


# --------------------------------------------------------------------------------- run and period


def test_run_period_from_artifacts_or_tapes():
    p = run_period(artifacts(), np.array([T0 + 5 * S, T0 + 7200 * S]), np.empty(0, np.int64), np.empty(0, np.int64))
    assert (p.start_ns, p.end_ns, p.duration_h) == (T0, T0 + 3600 * S, 1.0)
    assert p.data_end_ns == T0 + 7200 * S  # the mids run past the run end: markouts may use them
    # no start / end in the artifacts: the first and last stamp of any tape (samples 2 s .. 10 s, fill at 30 s)
    p = run_period(artifacts(start_ns=0, end_ns=0), np.empty(0, np.int64), np.array([T0 + 2 * S, T0 + 10 * S]), np.array([T0 + 30 * S]))
    assert (p.start_ns, p.end_ns) == (T0 + 2 * S, T0 + 30 * S)
    assert p.duration_h == pytest.approx(28 / 3600) and p.data_end_ns is None


def test_run_header_and_honesty_warnings():
    art = artifacts()
    h = run_header(art, run_period(art, np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)))
    assert h["label"] == (
        "BTC-USDC-PERP.HL book mode | hand-built unit scenario | 2025-01-01T00:00:00Z .. 2025-01-01T01:00:00Z | in-sample"
    )
    assert honesty_warnings(art) == []
    warnings = honesty_warnings(artifacts(data_description="", sample_label="n/a"))
    assert len(warnings) == 2 and "do not name their data" in warnings[0] and "in or out of sample" in warnings[1]


def test_resolve_final_mid():
    assert resolve_final_mid(101.0, np.array([99.0, 100.0])) == (101.0, [])
    mid, notes = resolve_final_mid(math.nan, np.array([99.0, 100.0]))
    assert mid == 100.0 and "last recorded mid" in notes[0]


# ------------------------------------------------------------------------------------------- PnL


def test_tape_pnl_average_cost_fees_and_funding():
    # buy 2 @ 100 (fee 0.03), sell 1 @ 103 (fee 0.02); funding +0.5; engine still long 1; final mid 104
    fa = fill_arrays(fills_frame([(1, 1, 100.0, 2.0, 0.03, "MAKER", 100.0), (2, -1, 103.0, 1.0, 0.02, "MAKER", 103.0)]))
    tp, notes = tape_pnl(fa, 0.5, 1.0, 99.0, 104.0)
    assert notes == []
    assert tp.realized_before_fees == pytest.approx(3.0)  # 1 * (103 - 100)
    assert tp.avg_entry == pytest.approx(100.0)
    assert tp.unrealized_before_fees == pytest.approx(4.0)  # 1 * (104 - 100)
    assert tp.fees == pytest.approx(0.05) and tp.funding == 0.5
    assert tp.net == pytest.approx(3.0 + 4.0 - 0.05 + 0.5)
    assert (tp.tape_position, tp.final_position, tp.start_position) == (1.0, 1.0, 0.0)


def test_tape_pnl_unexplained_position_is_held_from_the_start():
    # the engine ends long 3 but the tape only explains 1: 2 held from the start at the first mid 99
    fa = fill_arrays(fills_frame([(1, 1, 100.0, 2.0, 0.0, "MAKER", 100.0), (2, -1, 103.0, 1.0, 0.0, "MAKER", 103.0)]))
    tp, notes = tape_pnl(fa, 0.0, 3.0, 99.0, 104.0)
    assert tp.start_position == pytest.approx(2.0) and "+2 base unexplained" in notes[0]
    # 2 @ 99 + 2 @ 100 -> 4 @ 99.5; sell 1 @ 103 realises 3.5; 3 left @ 99.5 marked at 104: 13.5
    assert tp.realized_before_fees == pytest.approx(3.5)
    assert tp.unrealized_before_fees == pytest.approx(13.5)


def test_pnl_figures_engine_balance_or_tape():
    tp = TapePnL(3.0, 4.0, 100.0, 0.05, 0.5, 1.0, 1.0, 0.0)
    f, notes = pnl_figures(tp, 1_003.45, 1_000.0, 104.0)
    # balance holds realised, fees and funding: 1000 + 3 - 0.05 + 0.5; the open long adds 4 at the mid
    assert f["net_pnl_usd"] == pytest.approx(7.45) and notes == []
    assert f["final_equity_usd"] == pytest.approx(1_007.45) and f["return_pct"] == pytest.approx(0.745)
    assert f["realized_pnl_before_fees_usd"] == 3.0 and f["unrealized_pnl_before_fees_usd"] == 4.0
    assert f["final_position_usd"] == pytest.approx(104.0)
    f, notes = pnl_figures(tp, math.nan, 1_000.0, 104.0)
    assert f["net_pnl_usd"] == pytest.approx(7.45) and f["net_pnl_source"].startswith("fills tape")
    assert "not finite" in notes[0]


def test_liquidation_at_the_touch_for_an_open_position():
    # short 0.5, final mid 200, book 199.9 / 200.1: buy back at the best ask 200.1 -> spread cost 0.5 * 0.1 = 0.05;
    # taker 4.5 bps on 0.5 * 200.1 = 100.05 USD -> 0.0450225; net 10 - 0.05 - 0.0450225
    f, notes = liquidation_figures(10.0, -0.5, 200.0, 0.00045, 199.9, 200.1, 0.2)
    assert f["final_position_open"] is True and f["liquidation_price"] == 200.1
    assert f["liquidation_spread_cost_usd"] == pytest.approx(0.05)
    assert f["liquidation_taker_fee_usd"] == pytest.approx(0.0450225)
    assert f["net_pnl_liquidation_adjusted_usd"] == pytest.approx(10.0 - 0.05 - 0.0450225)
    assert "best ask 200.1" in f["liquidation_basis"]
    assert "OPEN position of -0.5 base" in notes[0] and "no exit cost" in notes[0]
    # a long sells at the best bid (not at the ask, not at the mid)
    f, _ = liquidation_figures(10.0, 0.5, 200.0, 0.00045, 199.9, 200.1, 0.2)
    assert f["liquidation_price"] == 199.9 and f["liquidation_spread_cost_usd"] == pytest.approx(0.05)
    # touch unknown (candle mode) but spread known: mid +/- half of it
    f, _ = liquidation_figures(10.0, -0.5, 200.0, 0.00045, math.nan, math.nan, 0.2)
    assert f["liquidation_price"] == pytest.approx(200.1) and "touch unknown" in f["liquidation_basis"]
    # neither: the mid, and the basis says no spread cost is included
    f, _ = liquidation_figures(10.0, -0.5, 200.0, 0.00045, math.nan, math.nan, math.nan)
    assert f["liquidation_spread_cost_usd"] == 0.0 and "no spread cost" in f["liquidation_basis"]
    # no taker fee in the config: no figure rather than a made-up one
    f, _ = liquidation_figures(10.0, -0.5, 200.0, None, 199.9, 200.1, 0.2)
    assert math.isnan(f["net_pnl_liquidation_adjusted_usd"])


def test_liquidation_when_flat():
    f, notes = liquidation_figures(10.0, 0.0, 200.0, 0.00045, 199.9, 200.1, 0.2)
    assert notes == [] and f["final_position_open"] is False
    assert f["liquidation_taker_fee_usd"] == 0.0 and f["net_pnl_liquidation_adjusted_usd"] == 10.0


def test_find_config_value_in_nested_sections():
    cfg = {"venue": {"maker_fee": 0.00015, "taker_fee": 0.00045}, "risk": {"max_position_usd": 500.0}}
    assert find_config_value(cfg, "taker_fee") == 0.00045
    assert find_config_value(cfg, "max_position_usd") == 500.0
    assert find_config_value(cfg, "nothing") is None


# -------------------------------------------------------------------------------- Sharpe, drawdown


def test_drawdown_from_running_peak():
    f, notes = drawdown_figures(np.array([1_010.0, 1_005.0, 1_020.0, 1_000.0]), 1_000.0)
    # peaks 1000, 1010, 1010, 1020, 1020 -> falls 0, 0, 5, 0, 20
    assert f["max_drawdown_usd"] == pytest.approx(20.0) and notes == []
    assert f["max_drawdown_pct"] == pytest.approx(20.0 / 1_020.0 * 100)
    f, notes = drawdown_figures(np.empty(0), 1_000.0)
    assert math.isnan(f["max_drawdown_usd"]) and "no equity samples" in notes[0]


def test_sharpe_on_three_days():
    # day ends at 24 h, 48 h, 72 h: equity 1010, 1000, 1030 -> daily changes +10, -10, +30
    ts = T0 + np.array([24, 48, 72]) * 3600 * S
    f = sharpe_figures(ts, np.array([1_010.0, 1_000.0, 1_030.0]), T0, T0 + 72 * 3600 * S, 1_000.0)
    changes = np.array([10.0, -10.0, 30.0])
    assert f["sharpe_days"] == 3
    assert f["sharpe"] == pytest.approx(changes.mean() / changes.std(ddof=1) * math.sqrt(365))
    f = sharpe_figures(ts[:1], np.array([1_010.0]), T0, T0 + 30 * 3600 * S, 1_000.0)
    assert math.isnan(f["sharpe"]) and f["sharpe_days"] == 1 and "fewer than 2 complete days" in f["sharpe_note"]


def test_hourly_sharpe_not_annualised_from_less_than_a_day():
    # 3 complete hours (equity +1, -1, +2 USD): an hourly Sharpe annualised by sqrt(24*365) would be an extrapolation
    ts = T0 + np.array([1, 2, 3]) * 3600 * S
    eq = np.array([1_001.0, 1_000.0, 1_002.0])
    f = sharpe_figures(ts, eq, T0, T0 + 3 * 3600 * S, 1_000.0)
    assert math.isnan(f["sharpe_intraday_hourly"]) and "not reported" in f["sharpe_intraday_hourly_note"]
    # from a day on it is given (still with its caveat)
    ts = T0 + np.arange(1, 25) * 3600 * S
    eq = 1_000.0 + np.cumsum(np.where(np.arange(24) % 2 == 0, 1.0, -0.5))
    f = sharpe_figures(ts, eq, T0, T0 + 24 * 3600 * S, 1_000.0)
    assert math.isfinite(f["sharpe_intraday_hourly"]) and "not comparable" in f["sharpe_intraday_hourly_note"]


# ----------------------------------------------------------------------------------- fills, volume


def test_venue_fills_merge_one_side_price_and_instant():
    ts = np.array([T0, T0, T0, T0, T0 + 1], dtype=np.int64)
    side = np.array([1.0, 1.0, 1.0, -1.0, 1.0])
    price = np.array([100.0, 100.0, 101.0, 100.0, 100.0])
    # (t0, buy, 100) twice -> one; (t0, buy, 101); (t0, sell, 100); (t0 + 1 ns, buy, 100): 4 venue fills
    assert count_venue_fills(ts, side, price) == 4
    assert count_venue_fills(ts[:0], side[:0], price[:0]) == 0


def test_fill_counts_events_and_venue_fills():
    fills = fills_frame([
        (1, 1, 100.0, 0.1, 0.0, "MAKER", 100.0),
        (1, 1, 100.0, 0.2, 0.0, "MAKER", 100.0),  # a second queue slice of the same match
        (2, -1, 101.0, 0.3, 0.0, "TAKER", 100.9),
        (3, -1, 101.0, 0.1, 0.0, "NO_LIQUIDITY_SIDE", 100.9),
    ])
    f, notes = fill_count_figures(fill_arrays(fills), fills["liquidity"])
    assert f["order_filled_events"] == 4 and f["venue_fills"] == 3
    assert (f["maker_order_filled_events"], f["taker_order_filled_events"]) == (2, 1)
    assert f["maker_share_of_order_filled_events"] == 0.5
    assert (f["buy_order_filled_events"], f["sell_order_filled_events"]) == (2, 2)
    assert notes == ["1 fill(s) with liquidity neither MAKER nor TAKER"]


def test_volume_and_rates_only_for_periods_long_enough():
    # 2 maker events of one buy (30 USD) and a taker sell of 50 USD; fees 0.012 + 0.0225
    fills = fills_frame([
        (1, 1, 100.0, 0.1, 0.0015, "MAKER", 100.0),
        (1, 1, 100.0, 0.2, 0.003, "MAKER", 100.0),
        (2, -1, 100.0, 0.5, 0.0225, "TAKER", 100.0),
    ])
    fa = fill_arrays(fills)
    f, notes = volume_figures(fa, 2, 1_000.0, 48.0)
    assert f["volume_usd"] == pytest.approx(80.0) and notes == []
    assert f["maker_volume_share"] == pytest.approx(30.0 / 80.0)
    assert f["avg_order_filled_event_usd"] == pytest.approx(80.0 / 3) and f["avg_venue_fill_usd"] == pytest.approx(40.0)
    assert f["fees_bps_of_volume"] == pytest.approx(0.027 / 80.0 * 1e4)
    assert f["turnover_x"] == pytest.approx(0.08)
    assert f["volume_per_day_usd"] == pytest.approx(40.0) and f["order_filled_events_per_hour"] == pytest.approx(3 / 48)
    # 2 h: an hourly rate, no daily one
    f, notes = volume_figures(fa, 2, 1_000.0, 2.0)
    assert math.isnan(f["volume_per_day_usd"]) and f["order_filled_events_per_hour"] == pytest.approx(1.5)
    assert "volume_per_day_usd not reported" in notes[0] and "per_hour" not in notes[0]
    # 0.58 h: neither; the volume itself is still there
    f, notes = volume_figures(fa, 2, 1_000.0, 0.58)
    assert math.isnan(f["volume_per_day_usd"]) and math.isnan(f["order_filled_events_per_hour"])
    assert f["volume_usd"] == pytest.approx(80.0) and "0.58 h" in notes[0]


def test_per_period_rate():
    assert per_period_rate(240.0, 48.0, 24.0) == 120.0
    assert per_period_rate(240.0, 24.0, 24.0) == 240.0
    assert math.isnan(per_period_rate(240.0, 23.9, 24.0)) and math.isnan(per_period_rate(1.0, 0.0, 1.0))


def test_captured_spread_qty_weighted():
    fills = fills_frame([
        (1, 1, 99.0, 1.0, 0.0, "MAKER", 100.0),  # bought 1 below the mid: +100 bps
        (2, -1, 100.5, 3.0, 0.0, "MAKER", 100.0),  # sold 3 above: +50 bps
        (3, 1, 100.0, 5.0, 0.0, "MAKER", math.nan),  # no mid at the fill: left out
    ])
    assert captured_spread_bps(fill_arrays(fills)) == pytest.approx((100.0 * 1 + 50.0 * 3) / 4)


def test_markout_figures_and_exclusion_at_the_data_end():
    fills = fills_frame([(0, 1, 100.0, 1.0, 0.0, "MAKER", 100.0)])
    mids = pd.DataFrame({"ts_ns": np.array([T0, T0 + S], dtype=np.int64), "mid": [100.0, 101.0]})
    f = markout_figures(fills, mids, T0 + 5 * S)
    assert f["markout_1s_bps"] == pytest.approx(100.0) and f["adverse_1s_bps"] == pytest.approx(100.0)
    assert f["markout_1s_order_filled_events_used"] == 1 and f["markout_1s_order_filled_events_excluded"] == 0
    assert math.isnan(f["markout_10s_bps"]) and f["markout_10s_order_filled_events_excluded"] == 1


# --------------------------------------------------------------------------- quoting, inventory, orders


def test_quoting_shares():
    f = quoting_figures(np.array([1.0, np.nan, 1.0, np.nan]), np.array([2.0, 2.0, np.nan, np.nan]))
    assert f == {"samples": 4, "time_quoted_both_frac": 0.25, "time_quoted_any_frac": 0.75}


def test_inventory_time_weighted():
    # samples at 0, 10, 20, 40 s; the last stands until the 50 s end (capped at the median gap 10 s)
    ts = T0 + np.array([0, 10, 20, 40]) * S
    pos = np.array([0.0, 1.0, -2.0, 0.0])
    s = SampleArrays(ts, np.full(4, 1_000.0), pos, np.full(4, 100.0), np.full(4, 99.0), np.full(4, 101.0))
    f = inventory_figures(s, T0 + 50 * S, 150.0)
    assert f["inventory_mean_abs_usd"] == pytest.approx(75.0)  # (0 + 100 + 200 + 0) / 4
    assert f["inventory_max_abs_usd"] == pytest.approx(200.0)
    assert f["inventory_time_weighted_mean_base"] == pytest.approx((1 * 10 - 2 * 20) / 50)
    assert f["inventory_time_weighted_mean_usd"] == pytest.approx(-60.0)
    assert f["time_near_max_position_frac"] == pytest.approx(20 / 50)  # |-200| > 0.8 * 150 for 20 of 50 s
    assert math.isnan(inventory_figures(s, T0 + 50 * S, None)["time_near_max_position_frac"])


def test_order_figures():
    f = order_figures(artifacts(orders_submitted=4, orders_modified=7, events_processed=100, wall_seconds=0.5), 10)
    assert f["order_filled_events_per_order"] == 2.5 and f["events_per_second"] == 200.0
    assert (f["orders_submitted"], f["orders_modified"]) == (4, 7)
    assert math.isnan(order_figures(artifacts(), 10)["order_filled_events_per_order"])


# ----------------------------------------------------------------------------------- reconciliation


def test_reconciliation_engine_after_fees_funding_apart():
    # tape: realised 2.5 before fees, open 1.0, fees 0.5, funding 0.3 -> net 3.3; Nautilus: realised 2.0 after fees
    tp = TapePnL(2.5, 1.0, 100.0, 0.5, 0.3, 1.0, 1.0, 0.0)
    art = artifacts(engine_realized_pnl_usd=2.0, engine_unrealized_pnl_usd=1.0, engine_commissions_usd=0.5)
    rec, notes = reconciliation(3.3, 1_003.3, tp, art, 1_003.3)
    assert rec["engine_realized_pnl_after_fees_usd"] == 2.0 and rec["engine_total_pnl_after_fees_usd"] == 3.0
    assert rec["diff_net_vs_engine_usd"] == pytest.approx(0.3)  # = funding
    assert rec["diff_net_vs_engine_ex_funding_usd"] == pytest.approx(0.0, abs=1e-12)
    assert rec["diff_net_vs_tape_usd"] == pytest.approx(0.0, abs=1e-12)
    assert rec["ok"] is True and notes == []
    # the engine's commissions 0.1 off the tape's fees: beyond the 0.01 USD tolerance
    rec, notes = reconciliation(3.3, 1_003.3, tp, artifacts(engine_realized_pnl_usd=2.0, engine_unrealized_pnl_usd=1.0,
                                                            engine_commissions_usd=0.6), 1_003.3)
    assert rec["checks"]["fees_vs_engine"] is False and rec["ok"] is False
    assert notes == ["reconciliation failed (fees_vs_engine): see the reconciliation block"]


# ------------------------------------------------------------------------------------------- output


def test_format_value_by_unit():
    assert format_value("maker_share_of_order_filled_events", 0.25) == "25.0%"
    assert format_value("maker_volume_share", 0.5) == "50.0%"
    assert format_value("liquidation_taker_fee_usd", 0.0951) == "0.10"
    assert format_value("final_market_spread", 1.0) == "1"
    assert format_value("final_position_open", True) == "yes"
    assert format_value("volume_per_day_usd", math.nan) == "n/a"


def test_table_shows_the_open_position_section():
    summary = {"label": "x", "net_pnl_usd": 10.0, "final_position_open": True, "liquidation_taker_fee_usd": 0.095,
               "net_pnl_liquidation_adjusted_usd": 9.9051, "order_filled_events": 4, "venue_fills": 3}
    table = format_summary_table(summary)
    assert "[open position at the end (closed at the touch as a taker)]" in table
    line = next(ln for ln in table.splitlines() if ln.strip().startswith("net_pnl_liquidation_adjusted_usd"))
    assert line.split()[-1] == "9.91"
    assert "[trading]" in table and "venue_fills" in table
