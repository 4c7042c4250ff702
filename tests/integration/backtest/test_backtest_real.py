"""End-to-end book-mode backtests on the real Hyperliquid recording (../shared/data).

The catalog is built once per session from ws_2025-09-04 (BTC and ETH, 35 minutes). The tests
check what a user relies on: the PnL reconciles with Nautilus's own account, the attribution sums
to the net PnL, fees are Hyperliquid's base tier on the traded notional, funding is booked with
Hyperliquid's sign convention, and the CLI writes the JSON and HTML it promises.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal

import pandas as pd
import pytest

from botmm_nautilus.adapters.hyperliquid.instruments import instrument_id_for
from botmm_nautilus.apps.cli import main as cli_main
from botmm_nautilus.backtest.runner import run_backtest
from botmm_nautilus.config.asset import load_config
from botmm_nautilus.config.loader import override
from botmm_nautilus.data.catalog_io import CatalogError
from botmm_nautilus.data.catalog_io import StagedCatalogWriter
from botmm_nautilus.data.hl_ws import import_hyperliquid_ws


@pytest.fixture(scope="session")
def real_catalog(shared_data, tmp_path_factory):
    cat = tmp_path_factory.mktemp("real_catalog")
    import_hyperliquid_ws(shared_data / "hyperliquid" / "ws_2025-09-04", str(cat), coins=["BTC", "ETH"], progress=False)
    return cat


@pytest.fixture(scope="session")
def btc_outcome(real_catalog, project_root, tmp_path_factory):
    cfg = load_config(project_root / "configs" / "btc.yaml")
    out = tmp_path_factory.mktemp("btc_report")
    return run_backtest(cfg, str(real_catalog), json_path=out / "btc.json", report_dir=out, progress=False,
                        data_description="Hyperliquid WS recording 2025-09-04 (test)")


def test_pnl_reconciles_with_engine_account(btc_outcome):
    s = btc_outcome.summary
    rec = s["reconciliation"]
    assert rec["ok"], rec
    # our net PnL (balance + position marked at the final mid) equals Nautilus's realised + unrealised
    assert s["net_pnl_usd"] == pytest.approx(rec["engine_total_pnl_after_fees_usd"] + s["funding_usd"], abs=0.01)
    assert s["venue_fills"] > 0, "the strategy should trade on 35 minutes of real BTC"


def test_attribution_sums_to_net_pnl(btc_outcome):
    comps = btc_outcome.attribution["components"]
    assert {"spread_capture_usd", "adverse_selection_usd", "inventory_mtm_usd", "fees_usd", "funding_usd"} <= set(comps)
    assert sum(comps.values()) == pytest.approx(btc_outcome.summary["net_pnl_usd"], abs=0.01)


def test_open_position_exit_cost_from_the_final_book(btc_outcome, project_root):
    """The run ends short 0.00009 BTC: the estimate is the taker fee on it plus half the book's final spread."""
    s = btc_outcome.summary
    spread = btc_outcome.artifacts.final_market_spread
    assert spread == 1.0  # best ask 110191 - best bid 110190 at the end of the recording
    assert s["final_position_open"] and s["final_position_base"] != 0.0
    size = abs(s["final_position_base"])
    taker = load_config(project_root / "configs" / "btc.yaml").venue.taker_fee_bps / 10_000
    assert s["est_exit_cost_usd"] == pytest.approx(taker * size * s["final_mid"] + size * spread / 2, rel=1e-9)
    assert s["net_pnl_after_est_exit_cost_usd"] == pytest.approx(s["net_pnl_usd"] - s["est_exit_cost_usd"], abs=1e-12)
    assert 0 < s["venue_fills"] < s["order_filled_events"]  # queue slices of one match merged


def test_fees_are_base_tier_maker_on_notional(btc_outcome):
    fills = btc_outcome.artifacts.fills
    assert (fills["liquidity"] == "MAKER").all(), "post-only quotes only make liquidity"
    notional = (fills["price"] * fills["qty"]).sum()
    # Hyperliquid base tier: makers pay +1.5 bps (a cost, not a rebate)
    assert fills["fee_usd"].sum() == pytest.approx(notional * 0.00015, rel=1e-6)
    assert btc_outcome.summary["fees_usd"] == pytest.approx(notional * 0.00015, rel=1e-6)


def test_fills_never_before_the_order_could_reach_the_venue(btc_outcome, project_root):
    """A fill needs a resting order: with 60 ms latency no fill happens in the first 60 ms."""
    fills = btc_outcome.artifacts.fills
    first_mid_ts = btc_outcome.artifacts.mids["ts_ns"].iloc[0]
    assert fills["ts_ns"].min() >= first_mid_ts + 60_000_000


def test_json_and_html_written(btc_outcome):
    data = json.loads(btc_outcome.json_path.read_text())
    for key in ("net_pnl_usd", "realized_pnl_before_fees_usd", "unrealized_pnl_before_fees_usd", "fees_usd", "funding_usd", "sharpe",
                "max_drawdown_usd", "order_filled_events", "venue_fills", "maker_order_filled_events", "volume_usd", "start", "end", "instrument", "attribution"):
        assert key in data, key
    assert data["instrument"] == "BTC-USDC-PERP.HL"
    html = btc_outcome.report_path.read_text()
    assert "Hyperliquid WS recording 2025-09-04 (test)" in html
    assert html.count("plotly-graph-div") >= 4


def test_funding_is_paid_hourly_with_hyperliquid_sign(real_catalog, project_root, tmp_path):
    """Copy the BTC data, add a funding rate at 20:00 UTC, and check the payment the module books."""
    import shutil

    cat = tmp_path / "cat"
    shutil.copytree(real_catalog, cat)
    from nautilus_trader.model.data import FundingRateUpdate

    iid = instrument_id_for("BTC")
    ts = int(pd.Timestamp("2025-09-04T20:00:00Z").value)
    rate = Decimal("0.0005")  # large, so the payment is visible: 5 bps per hour
    with StagedCatalogWriter(cat) as w:
        w.write([FundingRateUpdate(iid, rate, ts_event=ts, ts_init=ts, interval=60)])
        w.commit()
    cfg = load_config(project_root / "configs" / "btc.yaml")
    out = run_backtest(cfg, str(cat), progress=False)
    funding = out.artifacts.funding
    assert len(funding) == 1
    row = funding.iloc[0]
    assert row["ts_ns"] == ts
    # Hyperliquid: payment = -position * price * rate (positive rate: longs pay shorts)
    assert row["payment_usd"] == pytest.approx(-row["position_base"] * row["price"] * 0.0005, rel=1e-9)
    assert out.summary["funding_usd"] == pytest.approx(row["payment_usd"], abs=1e-9)
    assert out.summary["reconciliation"]["ok"]


def test_rebate_is_credited_when_configured(real_catalog, project_root):
    cfg = override(load_config(project_root / "configs" / "btc.yaml"), **{"venue.maker_fee_bps": -0.3})
    out = run_backtest(cfg, str(real_catalog), progress=False)
    assert out.summary["venue_fills"] > 0
    assert out.summary["fees_usd"] < 0, "a negative maker fee is a rebate: fees are a credit"
    assert out.summary["reconciliation"]["ok"]


def test_book_signals_switched_on_move_the_quotes(real_catalog, project_root, btc_outcome):
    """The strategy hands the book's level sizes to the core: imbalance and microprice change the run."""
    base = btc_outcome.summary
    for signals in ({"signals.use_imbalance": True, "signals.imbalance_weight_bps": 1.0},
                    {"signals.use_microprice": True}):
        cfg = override(load_config(project_root / "configs" / "btc.yaml"), **signals)
        out = run_backtest(cfg, str(real_catalog), progress=False)
        s = out.summary
        assert s["reconciliation"]["ok"] and s["venue_fills"] > 0
        # the sampled quotes move (a sub-tick microprice shift may leave fills and modify counts unchanged)
        quotes = ["bid_quote", "ask_quote"]
        assert not out.artifacts.samples[quotes].equals(btc_outcome.artifacts.samples[quotes]), signals
        assert base["reconciliation"]["ok"]


def test_clear_errors_for_missing_data(real_catalog, project_root, tmp_path):
    cfg = load_config(project_root / "configs" / "sol.yaml")
    with pytest.raises(CatalogError, match="no instrument SOL-USDC-PERP.HL"):
        run_backtest(cfg, str(real_catalog), progress=False)
    cfg_btc = load_config(project_root / "configs" / "btc.yaml")
    with pytest.raises(CatalogError, match="not found or empty"):
        run_backtest(cfg_btc, str(tmp_path / "nope"), progress=False)
    with pytest.raises(CatalogError, match="has no bars"):
        run_backtest(cfg_btc, str(real_catalog), mode="candles", progress=False)
    with pytest.raises(CatalogError, match="does not overlap"):
        run_backtest(cfg_btc, str(real_catalog), start="2030-01-01", progress=False)


def test_cli_backtest_user_error_is_one_line(real_catalog, project_root, capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("coin: BTC\nquoting: {model: nope}\n")
    rc = cli_main(["backtest", "--config", str(bad), "--catalog", str(real_catalog)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: ") and "quoting.model" in err and "Traceback" not in err


def test_cli_backtest_eth_window(real_catalog, project_root, capsys, tmp_path):
    rc = cli_main(["backtest", "--config", str(project_root / "configs" / "eth.yaml"), "--catalog", str(real_catalog),
                   "--start", "2025-09-04T19:50:00Z", "--end", "2025-09-04T20:10:00Z", "--json", str(tmp_path / "eth.json"), "--quiet"])
    assert rc == 0
    data = json.loads((tmp_path / "eth.json").read_text())
    assert data["instrument"] == "ETH-USDC-PERP.HL"
    start = pd.Timestamp(data["start"])
    end = pd.Timestamp(data["end"])
    assert start >= pd.Timestamp("2025-09-04T19:50:00Z") and end <= pd.Timestamp("2025-09-04T20:10:00Z")
    assert not math.isnan(data["net_pnl_usd"])
