"""``botmm ablate`` end to end on the real Hyperliquid recording (BTC, 2025-09-04 19:46-20:21).

Two variants (the btc.yaml GLFT maker and the same with ``quoting.model: as``) on two windows (in
19:46-20:04, out 20:04-20:21): four backtests in fresh worker processes. The table's figures must be
those of the backtests themselves (one run repeated in this process gives the same net PnL, fills and
markouts), the differences are paired per window, the intervals come from the runs' equity tapes,
and the JSON and HTML are written.
"""

from __future__ import annotations

import json

import msgspec
import numpy as np
import pytest

from botmm_nautilus.apps.cli import main as cli_main
from botmm_nautilus.backtest.ablation import RunSpec
from botmm_nautilus.backtest.ablation import execute
from botmm_nautilus.backtest.runner import run_backtest
from botmm_nautilus.config.asset import load_config
from botmm_nautilus.config.loader import override
from botmm_nautilus.errors import BotmmError
from botmm_nautilus.reports.ablation import format_ablation_table

IN = ("2025-09-04T19:46:00Z", "2025-09-04T20:04:00Z")
OUT = ("2025-09-04T20:04:00Z", "2025-09-04T20:21:00Z")
VARIANTS = """
- name: glft
- name: as
  set: {quoting.model: as}
"""


@pytest.fixture(scope="module")
def ablation(btc_catalog, project_root, tmp_path_factory):
    root = tmp_path_factory.mktemp("ablation")
    cat = btc_catalog
    variants = root / "variants.yaml"
    variants.write_text(VARIANTS)
    config = project_root / "configs" / "btc.yaml"
    rc = cli_main([
        "ablate", "--config", str(config), "--catalog", str(cat), "--variants", str(variants),
        "--window", f"in={IN[0]}..{IN[1]}", "--window", f"out={OUT[0]}..{OUT[1]}", "--jobs", "2",
        "--json", str(root / "ablation.json"), "--report", str(root / "report"), "--runs-dir", str(root / "runs"), "--quiet",
    ])
    assert rc == 0
    return {"result": json.loads((root / "ablation.json").read_text()), "catalog": cat, "config": config, "root": root}


def test_every_variant_and_window_ran_in_its_own_process(ablation):
    res = ablation["result"]
    assert [(r["variant"], r["window"], r["sample_label"]) for r in res["rows"]] == [
        ("glft", "in", "in-sample"), ("as", "in", "in-sample"), ("glft", "out", "out-of-sample"), ("as", "out", "out-of-sample"),
    ]
    assert len({r["pid"] for r in res["runs"]}) == 4, "each backtest runs in a fresh worker process"
    assert res["baseline"] == "glft" and res["data"]["instrument"] == "BTC-USDC-PERP.HL"
    assert [w["sample_label"] for w in res["windows"]] == ["in-sample", "out-of-sample"]
    # each run's own backtest JSON, labelled with its window's sample
    run_json = json.loads((ablation["root"] / "runs" / "as__out.json").read_text())
    assert run_json["sample_label"] == "out-of-sample" and run_json["config"]["quoting"]["model"] == "as"
    assert run_json["net_pnl_usd"] == next(r["net_pnl_usd"] for r in res["rows"] if (r["variant"], r["window"]) == ("as", "out"))


def test_rows_hold_the_backtests_own_figures(ablation):
    """The 'as' variant on the out window, run again here in-process, gives the row's figures."""
    cfg = override(load_config(ablation["config"]), **{"quoting.model": "as", "backtest.sample_label": "out-of-sample"})
    direct = run_backtest(cfg, str(ablation["catalog"]), OUT[0], OUT[1], progress=False).summary
    row = next(r for r in ablation["result"]["rows"] if (r["variant"], r["window"]) == ("as", "out"))
    assert direct["venue_fills"] > 0, "the comparison needs fills"
    for key in ("net_pnl_usd", "venue_fills", "volume_usd", "markout_1s_bps", "markout_10s_bps", "breakeven_maker_fee_bps"):
        assert row[key] == pytest.approx(direct[key], rel=1e-12, abs=1e-12), key
    direct_adverse = direct["attribution"]["per_volume_bps"]["adverse_selection_bps_of_volume"]
    assert row["adverse_selection_bps"] == pytest.approx(direct_adverse, rel=1e-12)
    assert row["start"] >= OUT[0][:19] and row["end"] <= OUT[1]


def test_differences_are_paired_and_intervals_bracket_the_estimates(ablation):
    rows = {(r["variant"], r["window"]): r for r in ablation["result"]["rows"]}
    for w in ("in", "out"):
        base, var = rows[("glft", w)], rows[("as", w)]
        assert base["diff_vs_baseline_usd"] is None
        # the paired per-bucket differences sum to the difference of the two net PnLs
        assert var["diff_vs_baseline_usd"] == pytest.approx(var["net_pnl_usd"] - base["net_pnl_usd"], abs=1e-9)
        assert var["diff_ci_low_usd"] <= var["diff_vs_baseline_usd"] <= var["diff_ci_high_usd"]
        for r in (base, var):
            assert r["net_pnl_ci_low_usd"] <= r["net_pnl_usd"] <= r["net_pnl_ci_high_usd"]
    # the in window is cut to the data, which starts at 19:46:56.649 (the recording's first book):
    # 20:04:00 - 19:46:56.649 = 1023.35 s; automatic buckets: 60 s (the shortest window, out, is 1020 s:
    # 17 buckets of 60 s, 8 of 120 s); in: 17 full buckets, the 3.35 s tail merged into the last one
    windows = ablation["result"]["windows"]
    assert windows[0]["clipped_to_data"] and windows[0]["start"].startswith("2025-09-04T19:46:56.649")
    assert not windows[1]["clipped_to_data"] and windows[1]["start"] == OUT[0]
    assert ablation["result"]["ci"]["bucket_s"] == 60
    assert rows[("glft", "in")]["ci_buckets"] == 17 and rows[("glft", "out")]["ci_buckets"] == 17
    fills = [rows[k]["venue_fills"] for k in rows]
    assert all(f > 0 for f in fills), fills
    widths = [rows[k]["net_pnl_ci_high_usd"] - rows[k]["net_pnl_ci_low_usd"] for k in rows]
    assert all(np.isfinite(widths)) and all(wd > 0 for wd in widths), "a run that trades has PnL noise"


def test_table_and_html(ablation):
    text = format_ablation_table(ablation["result"])
    lines = text.splitlines()
    assert lines[0].startswith("variant") and "net USD [95% CI]" in lines[0]
    assert any(line.startswith("as ") and "out (out-of-sample)" in line for line in lines)
    pages = list((ablation["root"] / "report").glob("ablation_*.html"))
    assert len(pages) == 1
    page = pages[0].read_text()
    assert "BTC-USDC-PERP.HL" in page and "out-of-sample" in page
    # error bars on one trace per window in two charts: net PnL, and the difference against the baseline
    assert page.count('"error_y":{"array"') == 2 * 2


def test_a_failing_run_names_its_variant_and_window(tmp_path, project_root):
    """A run that fails inside its worker (here: its catalog vanished after the checks) stops the
    ablation with one error naming the variant and the window."""
    spec = RunSpec(variant="glft", window="out", config=msgspec.to_builtins(load_config(project_root / "configs" / "btc.yaml")),
                   catalog=str(tmp_path / "gone"), start_ns=0, end_ns=1, mode="book", instrument=None, description="test")
    with pytest.raises(BotmmError, match=r"ablation run variant 'glft', window 'out': catalog .*gone not found"):
        execute([spec], jobs=1, progress=None)
