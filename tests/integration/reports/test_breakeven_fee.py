"""The break-even maker fee of a backtest: ``maker_fee_bps + net_pnl_usd / maker_volume_usd * 1e4``.

Hand scenario (balance 10,000 USD, maker fee 1.5 bps, taker fee 4.5 bps):

    fill 1  BUY  1 @ 99   MAKER  fee 99  x 1.5e-4 = 0.01485
    fill 2  SELL 1 @ 102  MAKER  fee 102 x 1.5e-4 = 0.0153
    funding -0.0101 (paid)
    net = 3 - 0.03015 - 0.0101 = 2.95975; maker volume 99 + 102 = 201 USD
    break-even = 1.5 + 2.95975 / 201 x 1e4 = 148.751243... bps
    check, solving net = 0 directly: 3 - 0.0101 - fee x 201 = 0 -> fee = 2.9899 / 201 = 148.751243e-4

With a third fill, TAKER BUY 1 @ 101 and SELL 1 @ 101 (round trip, 0 PnL, fees 2 x 101 x 4.5e-4 = 0.0909),
the taker fee stays: net = 2.95975 - 0.0909 = 2.86885; maker volume still 201:
    break-even = 1.5 + 2.86885 / 201 x 1e4 = 144.2732...; direct: (3 - 0.0101 - 0.0909) / 201 x 1e4 = 144.2732...

Real run: a 15-minute synthetic BTC book backtest (fee gate off, so the quotes do not depend on the
fee) re-run at its break-even maker fee nets zero (to the engine's fee rounding).
"""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pandas as pd
import pytest
from support.report_frames import empty_frames

from botmm_nautilus.reports import BacktestArtifacts
from botmm_nautilus.reports import compute_summary
from botmm_nautilus.reports import format_summary_table

S = 1_000_000_000
T0 = 1_735_689_600 * S


def artifacts(taker_round_trip: bool, maker_fee_frac: float) -> BacktestArtifacts:
    rows = [(5, 1, 99.0, 0.00015 * 99.0, "MAKER"), (100, -1, 102.0, 0.00015 * 102.0, "MAKER")]
    if taker_round_trip:
        rows += [(110, 1, 101.0, 0.00045 * 101.0, "TAKER"), (111, -1, 101.0, 0.00045 * 101.0, "TAKER")]
    fills = pd.DataFrame(
        {
            "ts_ns": np.array([T0 + t * S for t, *_ in rows], dtype=np.int64),
            "side": np.array([s for _, s, *_ in rows], dtype=np.int8),
            "price": [p for _, _, p, _, _ in rows],
            "qty": [1.0] * len(rows),
            "fee_usd": [f for *_, f, _ in rows],
            "liquidity": [liq for *_, liq in rows],
            "mid_at_fill": [100.0, 101.0] + [101.0] * (len(rows) - 2),
        },
    )
    fees = float(fills["fee_usd"].sum())
    net = 3.0 - fees - 0.0101
    frames = empty_frames()
    frames["fills"] = fills
    frames["mids"] = pd.DataFrame({"ts_ns": np.array([T0, T0 + 130 * S], dtype=np.int64), "mid": [100.0, 101.5]})
    frames["funding"] = pd.DataFrame(
        {"ts_ns": np.array([T0 + 60 * S], dtype=np.int64), "rate": [0.0001], "position_base": [1.0], "price": [101.0],
         "payment_usd": [-0.0101]},
    )
    return BacktestArtifacts(
        **frames, starting_balance_usd=10_000.0, final_balance_usd=10_000.0 + net, final_position_base=0.0,
        final_mid=101.5, engine_realized_pnl_usd=3.0 - fees, engine_unrealized_pnl_usd=0.0, engine_commissions_usd=fees,
        instrument="BTC-USDC-PERP.HL", coin="BTC", start_ns=T0, end_ns=T0 + 130 * S, mode="book",
        data_description="hand scenario (test_breakeven_fee.py)", sample_label="n/a", maker_fee_frac=maker_fee_frac,
    )


def test_hand_computed_breakeven_fee():
    s = compute_summary(artifacts(False, 0.00015))
    assert s["net_pnl_usd"] == pytest.approx(2.95975, abs=1e-9)
    assert s["maker_volume_usd"] == pytest.approx(201.0)
    assert s["maker_fee_bps"] == pytest.approx(1.5)
    assert s["breakeven_maker_fee_bps"] == pytest.approx(1.5 + 2.95975 / 201 * 1e4, rel=1e-12)
    assert s["breakeven_maker_fee_bps"] == pytest.approx((3 - 0.0101) / 201 * 1e4, rel=1e-12)
    table = format_summary_table(s)
    assert "break-even maker fee" in table and "148.75" in table


def test_taker_fees_stay_and_fee_falls_back_to_the_tape():
    for frac, source in ((0.00015, "simulated venue"), (math.nan, "fills tape (maker fees / maker volume)")):
        s = compute_summary(artifacts(True, frac))
        assert s["net_pnl_usd"] == pytest.approx(2.86885, abs=1e-9)
        assert s["maker_fee_source"] == source
        assert s["breakeven_maker_fee_bps"] == pytest.approx((3 - 0.0101 - 0.0909) / 201 * 1e4, rel=1e-9)


def test_no_maker_volume_gives_no_breakeven():
    a = artifacts(False, 0.00015)
    a.fills["liquidity"] = "TAKER"
    assert math.isnan(compute_summary(a)["breakeven_maker_fee_bps"])


def test_rerun_at_the_breakeven_fee_nets_zero(tmp_path, project_root):
    from botmm_nautilus.backtest.runner import run_backtest
    from botmm_nautilus.config.asset import load_config
    from botmm_nautilus.data.synth import write_synthetic_catalog

    cat = tmp_path / "synth"
    write_synthetic_catalog(cat, coins=("BTC",), l2_hours=0.25, bar_days=0, progress=False)
    cfg = load_config(project_root / "configs" / "btc.yaml")
    cfg = msgspec.structs.replace(cfg, quoting=msgspec.structs.replace(cfg.quoting, fee_gate="off"))
    first = run_backtest(cfg, str(cat), progress=False).summary
    assert first["maker_volume_usd"] > 0 and first["net_pnl_usd"] != pytest.approx(0.0, abs=1e-3)
    fee_be = first["breakeven_maker_fee_bps"]
    again = run_backtest(msgspec.structs.replace(cfg, venue=msgspec.structs.replace(cfg.venue, maker_fee_bps=fee_be)),
                         str(cat), progress=False).summary
    assert again["maker_volume_usd"] == pytest.approx(first["maker_volume_usd"], rel=1e-12)  # the same fills
    # the engine rounds each commission to the currency precision: at most ~1e-8 USD per fill off
    assert again["net_pnl_usd"] == pytest.approx(0.0, abs=1e-6 * max(1, first["venue_fills"]))
