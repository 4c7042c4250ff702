"""Reports: every figure of a hand-computable run checked against numbers written out by hand.

Scenario ``hand_artifacts`` (synthetic, times from 2025-01-01T00:00:00Z, balance 10,000 USD, fees 0.015%):

    mids      t=0 s: 100.0    t=30 s: 101.0    t=120 s: 101.5       run ends t=130 s (final mid 101.5)
    fill 1    t=5 s    BUY  1 @ 99   mid 100  fee 0.015% * 99  = 0.01485  MAKER
    funding   t=60 s   rate 0.0001, long 1 @ 101: payment -1 * 101 * 0.0001 = -0.0101 (long pays)
    fill 2    t=100 s  SELL 1 @ 102  mid 101  fee 0.015% * 102 = 0.0153   MAKER

    realised 102 - 99 = 3; fees 0.03015; funding -0.0101; net 3 - 0.03015 - 0.0101 = 2.95975 (flat at the end)
"""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pandas as pd
import pytest
from support.report_frames import empty_frames

from botmm_nautilus.reports import ArtifactsError
from botmm_nautilus.reports import BacktestArtifacts
from botmm_nautilus.reports import compute_attribution
from botmm_nautilus.reports import compute_summary
from botmm_nautilus.reports import format_summary_table
from botmm_nautilus.reports import markout_table
from botmm_nautilus.reports import write_html_report
from botmm_nautilus.reports import write_json
from botmm_nautilus.reports.html import minmax_indices
from botmm_nautilus.reports.tape import average_cost

S = 1_000_000_000
T0 = 1_735_689_600 * S  # 2025-01-01T00:00:00Z
DAY = 86_400 * S
START_BAL = 10_000.0


def at(seconds: float) -> int:
    return T0 + int(round(seconds * S))


def make_artifacts(fills, mids, samples, funding, **kw) -> BacktestArtifacts:
    base = dict(
        fills=fills,
        mids=mids,
        samples=samples,
        funding=funding,
        starting_balance_usd=START_BAL,
        final_balance_usd=START_BAL,
        final_position_base=0.0,
        final_mid=float(mids["mid"].iloc[-1]) if len(mids) else math.nan,
        engine_realized_pnl_usd=0.0,
        engine_unrealized_pnl_usd=0.0,
        engine_commissions_usd=0.0,
        instrument="BTC-USD-PERP.HYPERLIQUID",
        coin="BTC",
        start_ns=T0,
        end_ns=int(mids["ts_ns"].iloc[-1]) if len(mids) else T0,
        mode="book",
        data_description="synthetic hand scenario (tests/test_reports.py)",
        sample_label="out-of-sample",
        config={"risk": {"max_position_usd": 120.0}},
        orders_submitted=4,
        orders_modified=1,
        orders_canceled=2,
        post_only_rejects=0,
        wall_seconds=0.5,
        events_processed=100,
    )
    base.update(kw)
    return BacktestArtifacts(**base)


# ------------------------------------------------------------------------------------ hand scenario


def hand_artifacts() -> BacktestArtifacts:
    fills = pd.DataFrame(
        {
            "ts_ns": np.array([at(5), at(100)], dtype=np.int64),
            "side": np.array([1, -1], dtype=np.int8),
            "price": [99.0, 102.0],
            "qty": [1.0, 1.0],
            "fee_usd": [0.00015 * 99.0, 0.00015 * 102.0],
            "liquidity": ["MAKER", "MAKER"],
            "mid_at_fill": [100.0, 101.0],
        },
    )
    mids = pd.DataFrame({"ts_ns": np.array([at(0), at(30), at(120)], dtype=np.int64), "mid": [100.0, 101.0, 101.5]})
    funding = pd.DataFrame(
        {"ts_ns": np.array([at(60)], dtype=np.int64), "rate": [0.0001], "position_base": [1.0], "price": [101.0], "payment_usd": [-0.0101]},
    )
    # samples every 10 s, 0..130 s: equity = balance + position * (mid - 99)
    t = np.arange(0, 140, 10)
    pos = np.where((t >= 10) & (t < 100), 1.0, 0.0)
    mid = np.where(t < 30, 100.0, np.where(t < 120, 101.0, 101.5))
    bal = np.where(t < 60, START_BAL - 0.01485, START_BAL - 0.01485 - 0.0101)
    bal = np.where(t < 10, START_BAL, bal)
    bal = np.where(t >= 100, START_BAL - 0.01485 - 0.0101 + 3.0 - 0.0153, bal)
    equity = bal + pos * (mid - 99.0)
    bid = np.where((t == 100) | (t == 110) | (t == 130), np.nan, mid - 1.0)
    ask = np.where(t == 130, np.nan, mid + 1.0)
    samples = pd.DataFrame(
        {
            "ts_ns": (T0 + t * S).astype(np.int64),
            "equity_usd": equity,
            "position_base": pos,
            "mid": mid,
            "bid_quote": bid,
            "ask_quote": ask,
            "quoting": np.isfinite(bid) | np.isfinite(ask),
        },
    )
    return make_artifacts(
        fills,
        mids,
        samples,
        funding,
        final_balance_usd=START_BAL + 2.95975,
        final_position_base=0.0,
        final_mid=101.5,
        engine_realized_pnl_usd=3.0 - 0.03015,  # Nautilus: commissions inside realised, funding outside
        engine_unrealized_pnl_usd=0.0,
        engine_commissions_usd=0.03015,
        end_ns=at(130),
    )


def test_hand_scenario_pnl():
    s = compute_summary(hand_artifacts())
    assert s["realized_pnl_before_fees_usd"] == pytest.approx(3.0, abs=1e-12)
    assert s["unrealized_pnl_before_fees_usd"] == 0.0
    assert s["fees_usd"] == pytest.approx(0.03015, abs=1e-12)
    assert s["funding_usd"] == pytest.approx(-0.0101, abs=1e-12)
    assert s["net_pnl_usd"] == pytest.approx(2.95975, abs=1e-9)
    assert s["return_pct"] == pytest.approx(2.95975 / 10_000 * 100, rel=1e-9)
    assert s["final_equity_usd"] == pytest.approx(10_002.95975, abs=1e-9)
    assert s["final_position_base"] == 0.0


def test_hand_scenario_trading_and_edge():
    s = compute_summary(hand_artifacts())
    assert s["order_filled_events"] == 2 and s["venue_fills"] == 2
    assert s["maker_order_filled_events"] == 2 and s["taker_order_filled_events"] == 0
    assert s["maker_share_of_order_filled_events"] == 1.0
    assert s["buy_order_filled_events"] == 1 and s["sell_order_filled_events"] == 1
    assert s["volume_usd"] == pytest.approx(201.0)
    assert s["fees_bps_of_volume"] == pytest.approx(1.5, abs=1e-9)
    assert s["turnover_x"] == pytest.approx(201.0 / 10_000)
    assert s["duration_hours"] == pytest.approx(130 / 3600)
    # 130 s is shorter than an hour and a day: no rate is extrapolated from it
    assert math.isnan(s["order_filled_events_per_hour"]) and math.isnan(s["volume_per_day_usd"])
    assert any("volume_per_day_usd and order_filled_events_per_hour not reported" in n for n in s["notes"])
    # captured spread: buy (100-99)/100 = 100 bps, sell (102-101)/101 = 99.0099 bps, qty 1 each
    assert s["avg_captured_spread_bps"] == pytest.approx((100.0 + 1e4 / 101) / 2, rel=1e-12)
    # markouts vs fill price: buy (mid(t+h)-99)/99, sell -(mid(t+h)-102)/102
    # 1 s and 10 s: buy sees 100, sell sees 101; 60 s: buy sees 101, the sell's t+60 = 160 s > 130 s end: excluded
    m_short = (1e4 / 99 + 1e4 / 102) / 2
    assert s["markout_1s_bps"] == pytest.approx(m_short, rel=1e-12)
    assert s["markout_10s_bps"] == pytest.approx(m_short, rel=1e-12)
    assert s["markout_60s_bps"] == pytest.approx(2e4 / 99, rel=1e-12)
    excluded = [s[f"markout_{h}s_order_filled_events_excluded"] for h in (1, 10, 60)]
    assert excluded == [0, 0, 1]
    assert s["markout_60s_order_filled_events_used"] == 1
    # pure mid moves: nothing moves within 10 s; buy at 60 s: 100 -> 101 = +100 bps
    assert s["adverse_1s_bps"] == 0.0 and s["adverse_10s_bps"] == 0.0
    assert s["adverse_60s_bps"] == pytest.approx(100.0, rel=1e-12)


def test_hand_scenario_risk_quoting_inventory():
    s = compute_summary(hand_artifacts())
    # equity peaks at 10,001.98515 (t=30..50 s) and dips by the funding payment 0.0101 at t=60 s
    assert s["max_drawdown_usd"] == pytest.approx(0.0101, abs=1e-9)
    assert s["max_drawdown_pct"] == pytest.approx(0.0101 / 10_001.98515 * 100, rel=1e-6)
    assert math.isnan(s["sharpe"]) and "need at least 2" in s["sharpe_note"]
    assert math.isnan(s["sharpe_intraday_hourly"])
    # 14 samples; bid missing at 100, 110 and 130 s, ask missing at 130 s (nothing quoted at 130 s)
    assert s["samples"] == 14
    assert s["time_quoted_both_frac"] == pytest.approx(11 / 14)
    assert s["time_quoted_any_frac"] == pytest.approx(13 / 14)
    # long 1 at t=10..90 s: 100 USD twice (mid 100), 101 USD seven times (mid 101)
    assert s["inventory_mean_abs_usd"] == pytest.approx((2 * 100 + 7 * 101) / 14)
    assert s["inventory_max_abs_usd"] == pytest.approx(101.0)
    assert s["inventory_time_weighted_mean_base"] == pytest.approx(9 / 14)
    assert s["max_position_usd_config"] == 120.0
    assert s["time_near_max_position_frac"] == pytest.approx(9 / 14)  # |pos| > 96 USD
    assert s["order_filled_events_per_order"] == pytest.approx(0.5)
    assert s["events_per_second"] == pytest.approx(200.0)


def test_hand_scenario_reconciliation():
    rec = compute_summary(hand_artifacts())["reconciliation"]
    assert rec["tape_net_pnl_usd"] == pytest.approx(2.95975, abs=1e-9)
    assert rec["diff_net_vs_tape_usd"] == pytest.approx(0.0, abs=1e-9)
    assert rec["engine_total_pnl_after_fees_usd"] == pytest.approx(2.96985, abs=1e-12)
    assert rec["diff_net_vs_engine_usd"] == pytest.approx(-0.0101, abs=1e-9)  # = funding, outside Nautilus positions
    assert rec["diff_net_vs_engine_ex_funding_usd"] == pytest.approx(0.0, abs=1e-9)
    assert rec["diff_fees_vs_engine_commissions_usd"] == pytest.approx(0.0, abs=1e-12)
    assert rec["last_sample_equity_usd"] == pytest.approx(10_002.95975, abs=1e-9)
    assert rec["ok"] is True


def test_hand_scenario_attribution():
    art = hand_artifacts()
    a = compute_attribution(art.fills, art.mids, art.funding, art.final_mid, markout_horizon_s=60.0)
    c = a["components"]
    # spread: buy 1*(100-99) + sell -1*(101-102) = 2
    assert c["spread_capture_usd"] == pytest.approx(2.0, abs=1e-12)
    # adverse: buy 1*(mid(65 s)=101 - 100) = 1; sell horizon 160 s past the data end -> final mid: -1*(101.5-101) = -0.5
    assert c["adverse_selection_usd"] == pytest.approx(0.5, abs=1e-12)
    # inventory: buy 1*(101.5-101) = 0.5; sell -1*(101.5-101.5) = 0
    assert c["inventory_mtm_usd"] == pytest.approx(0.5, abs=1e-12)
    assert c["fees_usd"] == pytest.approx(-0.03015, abs=1e-12)
    assert c["funding_usd"] == pytest.approx(-0.0101, abs=1e-12)
    assert "initial_position_usd" not in c
    assert a["total_usd"] == pytest.approx(2.95975, abs=1e-12)
    assert a["n_order_filled_events_horizon_past_end"] == 1
    assert a["total_usd"] == pytest.approx(compute_summary(art)["net_pnl_usd"], abs=1e-9)


def test_summary_table_and_json_roundtrip(tmp_path):
    art = hand_artifacts()
    s = compute_summary(art)
    s["attribution"] = compute_attribution(art.fills, art.mids, art.funding, art.final_mid)
    table = format_summary_table(s)
    assert "synthetic hand scenario" in table and "out-of-sample" in table
    line = next(ln for ln in table.splitlines() if ln.strip().startswith("net_pnl_usd"))
    assert line.split()[-1] == "2.96"
    assert "[attribution, H=60s]" in table and "[reconciliation]" in table
    # both columns aligned: every value starts at the same column
    rows = [ln for ln in table.splitlines()[2:] if ln.startswith("  ") and len(ln.split()) >= 2]
    starts = {len(ln) - len(ln[len(ln.split()[0]) + 2 :].lstrip()) for ln in rows}
    assert len(starts) == 1

    p = write_json(s, tmp_path / "out" / "summary.json")
    text = p.read_text()
    assert "NaN" not in text and "Infinity" not in text
    back = json.loads(text)
    assert back["sharpe"] is None  # NaN -> null
    assert back["net_pnl_usd"] == pytest.approx(2.95975, abs=1e-9)
    assert back["order_filled_events"] == 2 and isinstance(back["order_filled_events"], int)
    assert back["reconciliation"]["ok"] is True
    assert back["attribution"]["components"]["spread_capture_usd"] == pytest.approx(2.0)
    assert back["config"] == {"risk": {"max_position_usd": 120.0}}
    assert back["data_description"] == "synthetic hand scenario (tests/test_reports.py)"
    # numpy scalars are written as plain numbers
    p2 = write_json({"a": np.float32(1.5), "b": np.int64(3), "c": np.array([1.0, np.nan]), "d": np.bool_(True)}, tmp_path / "x.json")
    assert json.loads(p2.read_text()) == {"a": 1.5, "b": 3, "c": [1.0, None], "d": True}


# ------------------------------------------------------------------------------ markout edge cases


def test_markout_exclusion_at_data_end():
    mids = pd.DataFrame({"ts_ns": np.array([at(s) for s in range(0, 101)], dtype=np.int64), "mid": 100.0 + np.arange(101) * 0.01})
    fills = pd.DataFrame(
        {
            "ts_ns": np.array([at(-1), at(50), at(99.5), at(100)], dtype=np.int64),
            "side": np.array([1, 1, -1, 1], dtype=np.int8),
            "price": [99.0, 100.4, 101.1, 100.9],
            "qty": [1.0, 2.0, 1.0, 1.0],
            "fee_usd": [0.0] * 4,
            "liquidity": ["MAKER"] * 4,
            "mid_at_fill": [np.nan, 100.5, 100.99, 101.0],
        },
    )
    mk = markout_table(fills, mids, (1.0, 60.0)).set_index("horizon_s")
    # 1 s: the fill at -1 s sees the first mid (0 s: 100.0) and is used; 99.5 s and 100 s run past the 100 s end
    assert mk.loc[1.0, "n_excluded"] == 2
    assert mk.loc[1.0, "n_used"] == 2
    # qty-weighted: (1 * (100-99)/99 + 2 * (100.51-100.4)/100.4) / 3
    exp = (1e4 * (100.0 - 99.0) / 99.0 + 2 * 1e4 * (100.51 - 100.4) / 100.4) / 3
    assert mk.loc[1.0, "markout_bps"] == pytest.approx(exp, rel=1e-9)
    # adverse needs mid_at_fill: only the 50 s fill: (100.51 - 100.5)/100.5
    assert mk.loc[1.0, "adverse_bps"] == pytest.approx(1e4 * 0.01 / 100.5, rel=1e-6)
    # 60 s: only the -1 s (-> 59 s: 100.59) and 50 s (-> 110 s: past the end) -> the 50 s fill is excluded
    assert mk.loc[60.0, "n_excluded"] == 3 and mk.loc[60.0, "n_used"] == 1
    assert mk.loc[60.0, "markout_bps"] == pytest.approx(1e4 * (100.59 - 99.0) / 99.0, rel=1e-9)
    # a fill before the first mid: no mid at t + 0.5 s -> counted as n_no_mid, not used
    mk0 = markout_table(fills.iloc[:1], mids, (0.5,), data_end_ns=at(100)).iloc[0]
    assert mk0["n_no_mid"] == 1 and mk0["n_used"] == 0 and math.isnan(mk0["markout_bps"])


# -------------------------------------------------------------------------------------------- Sharpe


def equity_artifacts(equity_at_hour: np.ndarray, end_ns: int) -> BacktestArtifacts:
    n = len(equity_at_hour)
    ts = (T0 + np.arange(1, n + 1) * 3600 * S).astype(np.int64)
    samples = pd.DataFrame(
        {
            "ts_ns": ts,
            "equity_usd": equity_at_hour,
            "position_base": np.zeros(n),
            "mid": np.full(n, 100.0),
            "bid_quote": np.full(n, 99.0),
            "ask_quote": np.full(n, 101.0),
            "quoting": np.ones(n, dtype=bool),
        },
    )
    mids = pd.DataFrame({"ts_ns": np.array([T0, end_ns], dtype=np.int64), "mid": [100.0, 100.0]})
    f = empty_frames()
    return make_artifacts(f["fills"], mids, samples, f["funding"], final_balance_usd=float(equity_at_hour[-1]), end_ns=end_ns)


def test_sharpe_daily_and_hourly_on_constructed_equity():
    rng = np.random.default_rng(11)
    hours = 5 * 24 + 5  # five complete days and a trailing 5 h partial day, which must be dropped
    equity = START_BAL + np.cumsum(rng.normal(0.5, 3.0, hours))
    day_ends = np.array([10_010.0, 10_005.0, 10_030.0, 10_020.0, 10_050.0])
    equity[np.arange(1, 6) * 24 - 1] = day_ends  # the sample at exactly 24 h, 48 h, ...
    equity[-1] = 1e6  # inside the dropped partial day
    art = equity_artifacts(equity, end_ns=T0 + hours * 3600 * S)
    s = compute_summary(art)
    daily = np.diff(np.concatenate([[START_BAL], day_ends]))  # [10, -5, 25, -10, 30]
    assert daily.tolist() == [10.0, -5.0, 25.0, -10.0, 30.0]
    expected = daily.mean() / daily.std(ddof=1) * np.sqrt(365)
    assert s["sharpe"] == pytest.approx(expected, rel=1e-12)
    assert s["sharpe_days"] == 5
    hourly = np.diff(np.concatenate([[START_BAL], equity[: 5 * 24 + 5]]))
    exp_h = hourly.mean() / hourly.std(ddof=1) * np.sqrt(24 * 365)
    assert s["sharpe_intraday_hourly"] == pytest.approx(exp_h, rel=1e-12)
    assert "noisy" in s["sharpe_intraday_hourly_note"]


def test_sharpe_nan_below_two_days():
    hours = 47  # 1 complete day only
    equity = START_BAL + np.arange(1, hours + 1, dtype=float)
    s = compute_summary(equity_artifacts(equity, end_ns=T0 + hours * 3600 * S))
    assert math.isnan(s["sharpe"]) and s["sharpe_days"] == 1
    assert "fewer than 2 complete days" in s["sharpe_note"]
    assert math.isfinite(s["sharpe_intraday_hourly"]) is False  # constant +1 USD/h: zero spread -> NaN


# ------------------------------------------------------------------------- random scenarios (seeded)


def random_run(seed: int, n_mids: int = 20_000, n_fills: int = 2_000, end_flat: bool = True):
    rng = np.random.default_rng(seed)
    mts = T0 + np.sort(rng.choice(6 * 3600 * S, n_mids, replace=False)).astype(np.int64)
    mid = 100.0 * np.exp(np.cumsum(rng.normal(0, 2e-4, n_mids)))
    fi = np.sort(rng.integers(0, n_mids, n_fills))
    side = rng.choice([1, -1], n_fills)
    qty = rng.uniform(0.01, 1.0, n_fills).round(3)
    mf = mid[fi]
    price = (mf * (1 - side * rng.uniform(-2e-4, 6e-4, n_fills))).round(3)
    fts = mts[fi] + rng.integers(0, 1000, n_fills)  # fill a little after the mid it saw
    if end_flat:
        pos = float(np.sum(side * qty))
        if abs(pos) > 1e-12:
            side = np.append(side, -np.sign(pos))
            qty = np.append(qty, abs(pos))
            price = np.append(price, mid[-2])
            mf = np.append(mf, mid[-2])
            fts = np.append(fts, mts[-2])
    maker = rng.random(len(side)) < 0.85
    fee = qty * price * np.where(maker, 0.00015, 0.00045)
    fills = pd.DataFrame(
        {
            "ts_ns": fts.astype(np.int64),
            "side": side.astype(np.int8),
            "price": price,
            "qty": qty,
            "fee_usd": fee,
            "liquidity": np.where(maker, "MAKER", "TAKER"),
            "mid_at_fill": mf,
        },
    )
    fund_ts = (T0 + np.arange(1, 6) * 3600 * S).astype(np.int64)
    funding = pd.DataFrame(
        {"ts_ns": fund_ts, "rate": rng.normal(0, 1e-5, 5), "position_base": rng.normal(0, 1, 5), "price": 100.0, "payment_usd": rng.normal(0, 0.01, 5)},
    )
    mids = pd.DataFrame({"ts_ns": mts, "mid": mid})
    return fills, mids, funding


def test_attribution_sums_to_net_pnl_random_flat_end():
    fills, mids, funding = random_run(7, end_flat=True)
    final_mid = float(mids["mid"].iloc[-1])
    side, qty, price = fills["side"].to_numpy(float), fills["qty"].to_numpy(), fills["price"].to_numpy()
    assert abs(np.sum(side * qty)) < 1e-9
    # ending flat, the margin balance is start - sum(s q p) - fees + funding, whatever the cost method
    bal = START_BAL - np.sum(side * qty * price) - fills["fee_usd"].sum() + funding["payment_usd"].sum()
    f = empty_frames()
    art = make_artifacts(fills, mids, f["samples"], funding, final_balance_usd=bal, final_position_base=0.0, final_mid=final_mid)
    s = compute_summary(art)
    for h in (1.0, 60.0, 600.0):
        a = compute_attribution(fills, mids, funding, final_mid, markout_horizon_s=h)
        assert math.fsum(a["components"].values()) == pytest.approx(a["total_usd"], abs=1e-12)
        assert a["total_usd"] == pytest.approx(s["net_pnl_usd"], rel=1e-9, abs=1e-8)
    assert s["reconciliation"]["diff_net_vs_tape_usd"] == pytest.approx(0.0, abs=1e-8)
    assert s["maker_order_filled_events"] + s["taker_order_filled_events"] == len(fills) and 0 < s["taker_order_filled_events"] < len(fills)


def test_attribution_sums_to_net_pnl_random_open_position():
    fills, mids, funding = random_run(8, end_flat=False)
    final_mid = float(mids["mid"].iloc[-1])
    side, qty, price = fills["side"].to_numpy(float), fills["qty"].to_numpy(), fills["price"].to_numpy()
    pos = float(np.sum(side * qty))
    assert abs(pos) > 0.01
    f = empty_frames()
    art = make_artifacts(fills, mids, f["samples"], funding, final_balance_usd=math.nan, final_position_base=pos, final_mid=final_mid)
    s = compute_summary(art)  # no balance: net from the fills tape
    direct = np.sum(side * qty * (final_mid - price)) - fills["fee_usd"].sum() + funding["payment_usd"].sum()
    assert s["net_pnl_usd"] == pytest.approx(direct, rel=1e-9)
    assert s["realized_pnl_before_fees_usd"] + s["unrealized_pnl_before_fees_usd"] == pytest.approx(np.sum(side * qty * (final_mid - price)), rel=1e-9)
    a = compute_attribution(fills, mids, funding, final_mid, markout_horizon_s=60.0)
    assert a["total_usd"] == pytest.approx(s["net_pnl_usd"], rel=1e-9, abs=1e-8)
    # the open position is marked at the mid in net PnL (the attribution identity holds on that figure);
    # no taker fee in this config, so no liquidation-adjusted figure is made up
    assert s["final_position_open"] is True and math.isnan(s["net_pnl_liquidation_adjusted_usd"])
    assert any("OPEN position" in n for n in s["notes"])


def test_open_position_liquidation_adjusted_net(tmp_path):
    fills, mids, funding = random_run(8, end_flat=False)
    final_mid = float(mids["mid"].iloc[-1])
    pos = float(np.sum(fills["side"].to_numpy(float) * fills["qty"].to_numpy()))
    f = empty_frames()
    bid, ask = final_mid - 0.01, final_mid + 0.01
    art = make_artifacts(
        fills, mids, f["samples"], funding, final_balance_usd=math.nan, final_position_base=pos, final_mid=final_mid,
        final_market_spread=0.02, taker_fee_frac=0.00045, config={"risk": {"max_position_usd": 120.0}},
        final_best_bid=bid, final_best_ask=ask,
    )
    s = compute_summary(art)
    touch = bid if pos > 0 else ask
    expected = 0.00045 * abs(pos) * touch + abs(pos) * 0.01
    assert s["liquidation_price"] == touch
    assert s["net_pnl_liquidation_adjusted_usd"] == pytest.approx(s["net_pnl_usd"] - expected, rel=1e-12)
    a = compute_attribution(fills, mids, funding, final_mid)
    assert a["total_usd"] == pytest.approx(s["net_pnl_usd"], rel=1e-9, abs=1e-8)  # the identity is on the mid-marked net
    table = format_summary_table(s)
    assert "[open position at the end (closed at the touch as a taker)]" in table and "liquidation_basis" in table
    html = write_html_report(art, s, a, tmp_path / "open.html").read_text()
    assert "OPEN " in html and "liquidation-adjusted net (closed at the touch as a taker)" in html


def test_attribution_initial_position_term():
    fills, mids, funding = random_run(9, n_mids=2_000, n_fills=200, end_flat=False)
    final_mid = float(mids["mid"].iloc[-1])
    first_mid = float(mids["mid"].iloc[0])
    tape_pos = float(np.sum(fills["side"].to_numpy(float) * fills["qty"].to_numpy()))
    f = empty_frames()
    art = make_artifacts(fills, mids, f["samples"], funding, final_balance_usd=math.nan, final_position_base=tape_pos + 2.0, final_mid=final_mid)
    s = compute_summary(art)
    assert s["reconciliation"]["checks"]["position"] is False
    assert any("unexplained" in n for n in s["notes"])
    a = compute_attribution(fills, mids, funding, final_mid, initial_position_base=2.0)
    assert a["components"]["initial_position_usd"] == pytest.approx(2.0 * (final_mid - first_mid))
    assert a["total_usd"] == pytest.approx(s["reconciliation"]["tape_net_pnl_usd"], rel=1e-9, abs=1e-8)


def test_average_cost_with_flip():
    # buy 2 @ 100, buy 1 @ 103 -> avg 101; sell 4 @ 104 -> realise 3*(104-101)=9, short 1 @ 104;
    # buy 0.5 @ 102 -> realise 0.5*(104-102)=1; short 0.5 @ 104
    side = np.array([1.0, 1.0, -1.0, 1.0])
    qty = np.array([2.0, 1.0, 4.0, 0.5])
    price = np.array([100.0, 103.0, 104.0, 102.0])
    realized, pos, avg = average_cost(side, qty, price)
    assert realized == pytest.approx(10.0) and pos == pytest.approx(-0.5) and avg == pytest.approx(104.0)


# ---------------------------------------------------------------------------------------- HTML


def test_html_report_written_and_bounded(tmp_path):
    art = hand_artifacts()
    s = compute_summary(art)
    a = compute_attribution(art.fills, art.mids, art.funding, art.final_mid)
    p = write_html_report(art, s, a, tmp_path / "r" / "report.html")
    html = p.read_text()
    for div in ("fig-attribution", "fig-equity", "fig-inventory", "fig-quotes", "fig-fills", "fig-markouts"):
        assert f'id="{div}"' in html
    assert "synthetic hand scenario (tests/test_reports.py)" in html
    assert "out-of-sample" in html and "2025-01-01T00:00:00Z" in html
    assert "Where money is and is not made" in html
    assert "was only partly eaten by" in html  # spread +2.00 vs adverse +0.50, fees -0.03
    assert "<tr><td>Position at end</td><td>flat</td></tr>" in html
    assert html.count("Plotly.newPlot(") == 6
    assert html.count("<script type='text/javascript'>") == 1  # plotly.js embedded once
    assert 4_000_000 < p.stat().st_size < 6_000_000  # ~4.8 MB is plotly.js itself


def test_html_report_size_on_a_long_run(tmp_path):
    fills, mids, funding = random_run(3, n_mids=400_000, n_fills=40_000, end_flat=False)
    rng = np.random.default_rng(3)
    ts = (T0 + np.arange(0, 6 * 3600) * S).astype(np.int64)
    mid = mids["mid"].to_numpy()[np.clip(np.searchsorted(mids["ts_ns"].to_numpy(), ts, "right") - 1, 0, None)]
    samples = pd.DataFrame(
        {
            "ts_ns": ts,
            "equity_usd": START_BAL + np.cumsum(rng.normal(0, 1, len(ts))),
            "position_base": np.cumsum(rng.normal(0, 0.1, len(ts))),
            "mid": mid,
            "bid_quote": np.where(rng.random(len(ts)) < 0.9, mid - 0.02, np.nan),
            "ask_quote": mid + 0.02,
            "quoting": True,
        },
    )
    art = make_artifacts(fills, mids, samples, funding, final_balance_usd=math.nan,
                         final_position_base=float(np.sum(fills["side"].to_numpy(float) * fills["qty"])))
    s = compute_summary(art)
    a = compute_attribution(fills, mids, funding, art.final_mid)
    p = write_html_report(art, s, a, tmp_path / "long.html")
    assert p.stat().st_size < 10_000_000
    assert "showing 5,000 of" in p.read_text()


def test_minmax_downsampling_keeps_extremes_and_gaps():
    rng = np.random.default_rng(5)
    y = np.cumsum(rng.normal(size=1_000_003))
    y[123_456] = 1e6
    y[777_777] = -1e6
    idx = minmax_indices(y, 5000)
    assert len(idx) <= 5000 and np.all(np.diff(idx) > 0)
    assert {0, 123_456, 777_777, len(y) - 1} <= set(idx.tolist())
    y[500_000:500_010] = np.nan
    idx = minmax_indices(y, 5000)
    assert len(idx) <= 5000 and np.isnan(y[idx]).any()
    assert minmax_indices(np.arange(10.0), 5000).tolist() == list(range(10))


# -------------------------------------------------------------------------------- checks and speed


def test_validation_names_the_field():
    art = hand_artifacts()
    art.sample_label = "oos"
    with pytest.raises(ArtifactsError, match="sample_label"):
        compute_summary(art)
    art = hand_artifacts()
    art.fills = art.fills.drop(columns=["mid_at_fill"])
    with pytest.raises(ArtifactsError, match="fills: missing column"):
        compute_summary(art)


def test_unknown_liquidity_is_not_counted_as_maker():
    art = hand_artifacts()
    art.fills = art.fills.assign(liquidity=["MAKER", "NO_LIQUIDITY_SIDE"])
    s = compute_summary(art)
    assert (s["maker_order_filled_events"], s["taker_order_filled_events"], s["maker_share_of_order_filled_events"]) == (1, 0, 0.5)
    assert any("neither MAKER nor TAKER" in n for n in s["notes"])


def test_empty_run(tmp_path):
    f = empty_frames()
    assert list(f["fills"].columns) == ["ts_ns", "side", "price", "qty", "fee_usd", "liquidity", "mid_at_fill"]
    assert f["fills"]["ts_ns"].dtype == np.int64 and f["samples"]["quoting"].dtype == bool
    mids = pd.DataFrame({"ts_ns": np.array([T0, at(3600)], dtype=np.int64), "mid": [100.0, 100.0]})
    art = make_artifacts(f["fills"], mids, f["samples"], f["funding"], sample_label="n/a")
    s = compute_summary(art)
    assert s["net_pnl_usd"] == 0.0 and s["order_filled_events"] == 0 == s["venue_fills"] and math.isnan(s["markout_1s_bps"])
    assert any("in or out of sample" in w for w in s["warnings"])
    a = compute_attribution(art.fills, art.mids, art.funding, art.final_mid)
    assert a["total_usd"] == 0.0
    html = write_html_report(art, s, a, tmp_path / "empty.html").read_text()
    assert "No fills" in html and 'id="fig-markouts"' in html
    assert "n/a" in format_summary_table(s)


def test_vectorised_speed_1e6_mids_1e5_fills():
    fills, mids, funding = random_run(1, n_mids=1_000_000, n_fills=100_000, end_flat=True)
    f = empty_frames()
    art = make_artifacts(fills, mids, f["samples"], funding, final_balance_usd=math.nan, final_mid=float(mids["mid"].iloc[-1]))
    t0 = time.perf_counter()
    s = compute_summary(art)
    a = compute_attribution(fills, mids, funding, art.final_mid)
    elapsed = time.perf_counter() - t0
    assert a["total_usd"] == pytest.approx(s["net_pnl_usd"], rel=1e-9, abs=1e-8)
    assert elapsed < 5.0
