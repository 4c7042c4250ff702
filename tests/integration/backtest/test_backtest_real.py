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


def test_open_position_liquidation_adjusted_at_the_final_touch(btc_outcome, project_root):
    """The run ends with an open position: closing it crosses the final book (a short lifts the best
    ask, a long hits the best bid) and pays the taker fee."""
    s = btc_outcome.summary
    art = btc_outcome.artifacts
    assert (art.final_best_bid, art.final_best_ask) == (110190.0, 110191.0)  # the recording's last book
    assert s["final_position_open"] and s["final_position_base"] != 0.0
    size = abs(s["final_position_base"])
    touch = 110191.0 if s["final_position_base"] < 0 else 110190.0
    taker = load_config(project_root / "configs" / "btc.yaml").venue.taker_fee_bps / 10_000
    assert s["liquidation_price"] == touch
    expected = s["net_pnl_usd"] - size * abs(touch - s["final_mid"]) - taker * size * touch
    assert s["net_pnl_liquidation_adjusted_usd"] == pytest.approx(expected, rel=1e-12)
    assert 0 < s["venue_fills"] <= s["order_filled_events"]  # queue slices of one match merged


def test_realised_pnl_before_and_after_fees_match_the_engine(btc_outcome):
    """``realized_pnl_after_fees_usd`` (our average cost minus every fee) is what Nautilus's positions
    report as realised (commissions inside); the before-fees figure differs from it by the fees."""
    s = btc_outcome.summary
    rec = s["reconciliation"]
    assert s["realized_pnl_after_fees_usd"] == pytest.approx(rec["engine_realized_pnl_after_fees_usd"], abs=1e-6)
    assert s["realized_pnl_before_fees_usd"] - s["realized_pnl_after_fees_usd"] == pytest.approx(s["fees_usd"], abs=1e-12)
    assert s["fees_usd"] > 0.1
    assert "realized_pnl_usd" not in s  # no bare figure that does not say whether fees are in it


def test_venue_fills_count_one_per_order_per_instant(btc_outcome):
    fills = btc_outcome.artifacts.fills
    s = btc_outcome.summary
    assert fills["order_id"].str.startswith("O-").all() and (fills["venue_order_id"] != "").all()
    assert s["venue_fills"] == fills.groupby(["ts_ns", "order_id"]).ngroups
    assert s["order_filled_events"] == len(fills) > s["venue_fills"]
    assert s["venue_fills_key"] == "order id and time"


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
    """The strategy hands the book's level sizes and the trades to the core: imbalance, microprice and
    trade flow change the run."""
    base = btc_outcome.summary
    for signals in ({"signals.use_imbalance": True, "signals.imbalance_weight_bps": 1.0},
                    {"signals.use_microprice": True},
                    {"signals.use_flow": True, "signals.flow_weight_bps": 1.0}):
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


def test_cli_fills_csv_has_every_fill(real_catalog, project_root, btc_outcome, capsys, tmp_path):
    """``--fills`` writes one row per OrderFilled event: the same rows as the run's tape, with ids."""
    out = tmp_path / "fills.csv"
    rc = cli_main(["backtest", "--config", str(project_root / "configs" / "btc.yaml"), "--catalog", str(real_catalog),
                   "--fills", str(out), "--json", str(tmp_path / "btc.json"), "--quiet"])
    assert rc == 0
    printed = capsys.readouterr()
    csv = pd.read_csv(out, dtype={"order_id": str, "venue_order_id": str, "trade_id": str})
    assert list(csv.columns) == ["ts", "ts_ns", "side", "price", "qty", "order_id", "venue_order_id", "trade_id",
                                 "liquidity", "fee_usd", "mid_at_fill"]
    data = json.loads((tmp_path / "btc.json").read_text())
    assert len(csv) == data["order_filled_events"] and csv.groupby(["ts_ns", "order_id"]).ngroups == data["venue_fills"]
    assert f"{len(csv):,} OrderFilled events, {data['venue_fills']:,} venue fills" in printed.out
    # ISO UTC with all nine nanosecond digits, equal to ts_ns
    assert csv["ts"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z").all()
    assert (pd.to_datetime(csv["ts"], utc=True).astype("int64") == csv["ts_ns"]).all()
    assert set(csv["side"]) <= {"BUY", "SELL"} and set(csv["liquidity"]) == {"MAKER"}
    assert csv["fee_usd"].sum() == pytest.approx(data["fees_usd"], abs=1e-9)
    # the same fills as the in-process run of the same config (deterministic engine), column by column
    tape = btc_outcome.artifacts.fills.sort_values("ts_ns", kind="stable").reset_index(drop=True)
    assert (csv["ts_ns"] == tape["ts_ns"]).all() and (csv["side"] == tape["side"].map({1: "BUY", -1: "SELL"})).all()
    for col in ("price", "qty", "fee_usd", "mid_at_fill"):
        assert (csv[col] == tape[col]).all(), col
    for col in ("order_id", "venue_order_id", "trade_id", "liquidity"):
        assert (csv[col] == tape[col]).all(), col


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


def test_warning_book_mode_catalog_without_trades(real_catalog, project_root, tmp_path):
    """A book-only catalog (like Hyperliquid's S3 l2Book hours) gives almost no fills: the run says so."""
    import shutil

    cat = tmp_path / "books_only"
    shutil.copytree(real_catalog, cat)
    shutil.rmtree(cat / "data" / "trade_tick")
    cfg = load_config(project_root / "configs" / "btc.yaml")
    out = run_backtest(cfg, str(cat), progress=False, data_description="ws_2025-09-04 books only (test)")
    s = out.summary
    assert s["venue_fills"] < 30  # the queue never advances without trades
    assert any("holds no trade ticks for BTC-USDC-PERP.HL" in w for w in s["warnings"]), s["warnings"]
    assert any(f"only {s['venue_fills']} venue fill(s)" in w for w in s["warnings"])
    # the full catalog (with trades) raises neither
    assert not any("trade ticks" in w or "venue fill(s)" in w for w in run_backtest(cfg, str(real_catalog), progress=False).summary["warnings"])


def test_warnings_short_run_printed_in_json_html_and_cli(real_catalog, project_root, capsys, tmp_path):
    """40 s of data: shorter than the 60 s markout horizon, too short for any estimator, few fills."""
    rc = cli_main(["backtest", "--config", str(project_root / "configs" / "btc.yaml"), "--catalog", str(real_catalog),
                   "--start", "2025-09-04T19:50:00Z", "--end", "2025-09-04T19:50:40Z", "--json", str(tmp_path / "s.json"),
                   "--report", str(tmp_path / "rep"), "--data-description", "40 s window (test)", "--quiet"])
    assert rc == 0
    printed = capsys.readouterr()
    warnings = json.loads((tmp_path / "s.json").read_text())["warnings"]
    for text in ("shorter than the markout horizon 60 s", "volatility estimator not fitted",
                 "arrival-intensity fit (A, k) not valid", "venue fill(s) (fewer than 30)"):
        assert any(text in w for w in warnings), (text, warnings)
    # the CLI prints each one (on stderr and at the top of the table), the HTML before any figure
    assert printed.err.count("WARNING: ") == len(warnings)
    table = printed.out.splitlines()
    assert table[2].startswith("WARNING: ") and table.index("[run]") > 2
    html = next((tmp_path / "rep").glob("*.html")).read_text()
    assert f"{len(warnings)} warning(s): read before any figure" in html
    assert html.index("read before any figure") < html.index("Net PnL")
    for w in warnings:
        assert w.replace("'", "&#x27;") in html


def test_orders_reach_the_venue_at_the_configured_latency(real_catalog, project_root, btc_outcome):
    """Measured from the order events themselves (not from the runner's record): every submit is
    accepted and every modify acknowledged exactly ``venue.latency_ms`` after it was sent. Before the
    order-entry timing, a command waited for the next book/trade message (submit p50 ~300 ms)."""
    from botmm_nautilus.backtest.runner import build_node
    from botmm_nautilus.backtest.runner import build_run_config

    cfg = load_config(project_root / "configs" / "btc.yaml")
    run_cfg = build_run_config(cfg, str(real_catalog))
    node = build_node(run_cfg)
    events = []
    node.get_engine(run_cfg.id).kernel.msgbus.subscribe(topic="events.order.*", handler=events.append)
    try:
        node.run()
    finally:
        node.dispose()
    sent: dict = {}
    waits: dict[str, list[float]] = {"submit": [], "modify": []}
    for e in events:
        name = type(e).__name__
        if name in ("OrderSubmitted", "OrderPendingUpdate"):
            sent.setdefault((name, e.client_order_id), []).append(e.ts_event)
        elif name == "OrderAccepted" and sent.get(("OrderSubmitted", e.client_order_id)):
            waits["submit"].append((e.ts_event - sent[("OrderSubmitted", e.client_order_id)].pop(0)) / 1e6)
        elif name == "OrderUpdated" and sent.get(("OrderPendingUpdate", e.client_order_id)):
            waits["modify"].append((e.ts_event - sent[("OrderPendingUpdate", e.client_order_id)].pop(0)) / 1e6)
    configured = cfg.venue.latency_ms
    for kind, ms in waits.items():
        assert len(ms) >= 20, (kind, len(ms))
        assert min(ms) >= configured and max(ms) < configured + 1.0, (kind, min(ms), max(ms))
    # the runner's summary reports the same figures
    lat = btc_outcome.summary["latency_ms"]
    assert lat["submit"]["configured_ms"] == configured
    for kind in ("submit", "modify"):
        assert lat[kind]["count"] >= 20 and configured <= lat[kind]["p50"] <= lat[kind]["max"] < configured + 1.0
