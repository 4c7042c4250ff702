"""``AdaptiveMarketMaker`` through the backtest runner on the real Nautilus engine (synthetic BTC:
18 minutes of L2 + trades, one day of 5-minute bars).

With every feature off it is the ``MarketMaker``: the same orders, fills and PnL. With all of its
features on, every fill reaches the core (``fills_seen``), the regime is fed by the mids (book) or
once a bar (candles), and the JSON carries each feature's state and its number of logged changes.
"""

from __future__ import annotations

import json

import pytest

from botmm_nautilus.apps.cli import main as cli_main
from botmm_nautilus.backtest.runner import run_backtest
from botmm_nautilus.config.asset import config_from_dict
from botmm_nautilus.data.synth import write_synthetic_catalog
from botmm_nautilus.reports import format_summary_table

ALL_ON = {"use_regime": True, "use_fill_rate": True, "use_inventory_decay": True,
          "regime_min_samples": 30, "fill_rate_min_quoting_s": 30, "fill_rate_window_s": 300}


@pytest.fixture(scope="module")
def synth_catalog(tmp_path_factory):
    cat = tmp_path_factory.mktemp("adaptive_synth")
    write_synthetic_catalog(str(cat), coins=("BTC",), l2_hours=0.3, bar_days=1, seed=11, progress=False)
    return str(cat)


def _run(catalog, strategy, mode="book", adaptive=None, json_path=None):
    cfg = config_from_dict({"coin": "BTC", "strategy": "MarketMaker", "adaptive": adaptive or {}})
    return run_backtest(cfg, catalog, mode=mode, strategy=strategy, progress=False, json_path=json_path)


@pytest.fixture(scope="module")
def book_runs(synth_catalog, tmp_path_factory):
    out = tmp_path_factory.mktemp("adaptive_json")
    return {
        "mm": _run(synth_catalog, "MarketMaker"),
        "off": _run(synth_catalog, "AdaptiveMarketMaker"),
        "on": _run(synth_catalog, "AdaptiveMarketMaker", adaptive=ALL_ON, json_path=out / "on.json"),
    }


def test_all_features_off_is_the_market_maker(book_runs):
    mm, off = book_runs["mm"], book_runs["off"]
    cols = ["ts_ns", "side", "price", "qty", "fee_usd"]
    assert len(mm.artifacts.fills) > 0
    assert mm.artifacts.fills[cols].equals(off.artifacts.fills[cols])
    for key in ("net_pnl_usd", "order_filled_events", "volume_usd"):
        assert off.summary[key] == mm.summary[key], key
    assert (off.artifacts.orders_submitted, off.artifacts.orders_modified) == (mm.artifacts.orders_submitted, mm.artifacts.orders_modified)
    assert off.summary["adaptive"]["features"] == [] and "adaptive" not in mm.summary


def test_features_on_book_mode(book_runs):
    on = book_runs["on"]
    s = on.summary
    a = s["adaptive"]
    assert s["strategy"] == "AdaptiveMarketMaker"
    assert a["features"] == ["regime", "fill_rate", "inventory_decay"]
    assert s["order_filled_events"] > 0
    assert a["state"]["fill_rate"]["fills_seen"] == s["order_filled_events"]  # every OrderFilled reached the core
    # the regime samples the mid once a second over the 18 minutes (it needs mids, which arrive all along)
    assert 0.9 * 18 * 60 <= a["state"]["regime"]["samples"] <= 18 * 60
    assert a["state"]["regime"]["regime"] in ("low", "normal", "high")
    assert set(a["changes_logged"]) <= {"regime", "fill_rate", "inventory_decay"} and sum(a["changes_logged"].values()) >= 1
    assert s["reconciliation"]["ok"]
    assert s["net_pnl_usd"] != book_runs["off"].summary["net_pnl_usd"]  # the features changed the quotes
    written = json.loads(on.json_path.read_text())
    assert written["adaptive"]["changes_logged"] == a["changes_logged"]
    table = format_summary_table(s)
    assert "[adaptive features]" in table
    assert "  fill_rate" in table and f"{a['changes_logged'].get('fill_rate', 0):,} changes logged" in table


def test_features_on_candle_mode_through_the_cli(synth_catalog, tmp_path, capsys):
    """``botmm backtest --strategy AdaptiveMarketMaker`` overrides the YAML's ``strategy: MarketMaker``."""
    cfg = tmp_path / "btc.yaml"
    cfg.write_text("coin: BTC\nstrategy: MarketMaker\nadaptive:\n" + "".join(f"  {k}: {str(v).lower()}\n" for k, v in ALL_ON.items()))
    out = tmp_path / "candles.json"
    rc = cli_main(["backtest", "--config", str(cfg), "--catalog", synth_catalog, "--mode", "candles",
                   "--strategy", "AdaptiveMarketMaker", "--json", str(out), "--quiet"])
    assert rc == 0
    assert "[adaptive features]" in capsys.readouterr().out
    s = json.loads(out.read_text())
    a = s["adaptive"]
    assert s["strategy"] == "AdaptiveMarketMaker" and a["features"] == ["regime", "fill_rate", "inventory_decay"]
    # one day of 5-minute bars = 24 * 12 = 288 closes; candle mode samples the regime once a bar
    # (candle_adaptive): the first close is the first sample, each later one a return -> 287
    assert a["state"]["regime"]["samples"] == 24 * 12 - 1
    assert a["state"]["fill_rate"]["fills_seen"] == s["order_filled_events"] > 0
    assert s["reconciliation"]["ok"]


def test_toxicity_autotune_and_sizing_from_the_yaml(synth_catalog, book_runs):
    """The per-asset YAML's toxicity:, autotune: and sizing: sections reach the core: the features
    run, see every fill, and every order the sizer shaped is on the lot and worth at least 10 USD."""
    cfg = config_from_dict({
        "coin": "BTC", "strategy": "AdaptiveMarketMaker",
        "toxicity": {"enabled": True, "horizons_s": [1, 5, 30]},
        "autotune": {"enabled": True, "window_s": 300, "eval_interval_s": 30, "min_intervals": 3},
        # 0.03 of 10,000 USD = 300 USD a side: twice the configured 150, so the sizes visibly change
        "sizing": {"enabled": True, "equity_fraction": 0.03},
    })
    run = run_backtest(cfg, synth_catalog, mode="book", progress=False)
    s = run.summary
    a = s["adaptive"]
    assert a["features"] == ["toxicity", "autotune", "sizing"]
    fills = s["order_filled_events"]
    assert fills > 0
    tox = a["state"]["toxicity"]
    measured = tox["bid"]["markouts"] + tox["ask"]["markouts"]
    assert 0 < measured <= 3 * fills  # each fill is scored at each of its 3 horizons once a mid after it is seen
    for side in ("bid", "ask"):
        assert 0.0 <= tox[side]["score"] <= 1.0
    assert a["state"]["autotune"]["evaluations"] >= 18 * 60 // 30 - 2  # every 30 s over the 18 minutes
    assert a["state"]["sizing"]["round_trips"] is not None
    f = run.artifacts.fills
    lots = f["qty"] / 1e-5  # BTC: 5 size decimals
    assert ((lots - lots.round()).abs() < 1e-6).all()
    # sizes grew with the equity fraction: the mean fill is larger than the basic maker's
    mm = book_runs["mm"].artifacts.fills
    assert (f["qty"] * f["price"]).mean() > (mm["qty"] * mm["price"]).mean()
    assert s["reconciliation"]["ok"]
    # partial fills: an order filled in parts keeps its remaining size resting (it is modified to
    # filled + the new size), and the position stays within max_position_usd (500) at every fill,
    # although each side quotes 300 USD
    per_order = f.groupby("order_id").size()
    assert (per_order > 1).any(), "no order was filled in parts: the partial-fill path is not exercised"
    position = (f["qty"] * f["side"]).cumsum()  # side: +1 buy, -1 sell
    assert (position.abs() * f["price"]).max() <= 500.0 + 1e-6
