"""Errors a user can cause in the ``botmm`` command line: one ``error:`` line, exit status 2.

The commands run for real (``botmm_nautilus.apps.cli.main`` in this process, or the installed
``botmm`` script in a subprocess) against a small synthetic catalog, real Hyperliquid candle files
from ../shared/data and files written here. Every case checks the exit status, that stderr holds
exactly one line starting with ``error:`` (the expected message) and no traceback, and where the
command would write, that nothing was written.
"""

from __future__ import annotations

import importlib.metadata
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import botmm_nautilus
from botmm_nautilus.apps.cli import main

BOTMM = Path(sys.executable).with_name("botmm")


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """``(exit status, stdout, stderr)`` of ``botmm ARGV`` run in this process."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_user_error(code: int, err: str, expected: str) -> None:
    """Exit status 2, exactly one stderr line starting with ``error:``, equal to ``expected``
    (or starting with it when ``expected`` ends with ``...``), and no traceback."""
    assert "Traceback" not in err, err
    error_lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, err
    if expected.endswith("..."):
        assert error_lines[0].startswith(f"error: {expected[:-3]}"), error_lines[0]
    else:
        assert error_lines[0] == f"error: {expected}"
    assert code == 2


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Path:
    """A small synthetic catalog (BTC: 1.2 h of book and trades, a day of bars and funding)."""
    path = tmp_path_factory.mktemp("cli_errors") / "catalog"
    code = main(["data", "synth", "--catalog", str(path), "--coins", "BTC", "--days", "0.05", "--bar-days", "1", "--quiet"])
    assert code == 0 and (path / "data" / "order_book_deltas").is_dir()
    return path


def catalog_files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


# ------------------------------------------------------------------------------------- version


def test_version_is_the_package_version():
    result = subprocess.run([str(BOTMM), "--version"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"botmm-nautilus {botmm_nautilus.__version__}\n"
    # pyproject reads the version from botmm_nautilus.__version__: the installed metadata agrees
    assert importlib.metadata.version("botmm-nautilus") == botmm_nautilus.__version__


# ------------------------------------------------------------------------------------ backtest


def test_backtest_start_after_end(capsys, catalog, project_root):
    code, _, err = run_cli(capsys, "backtest", "--config", project_root / "configs" / "btc.yaml", "--catalog", catalog,
                           "--start", "2025-01-02", "--end", "2025-01-01", "--quiet")
    assert_user_error(code, err, "--start 2025-01-02 is after --end 2025-01-01")


def test_backtest_start_equal_to_end_inside_the_data(capsys, catalog, project_root):
    code, _, err = run_cli(capsys, "backtest", "--config", project_root / "configs" / "btc.yaml", "--catalog", catalog,
                           "--start", "2025-01-01T00:30:00Z", "--end", "2025-01-01T00:30:00Z", "--quiet")
    assert_user_error(code, err, "--start 2025-01-01T00:30:00Z is the same time as --end 2025-01-01T00:30:00Z")


def test_backtest_unparsable_time(capsys, catalog, project_root):
    code, _, err = run_cli(capsys, "backtest", "--config", project_root / "configs" / "btc.yaml", "--catalog", catalog,
                           "--end", "yesterday-ish", "--quiet")
    assert_user_error(code, err, "--end 'yesterday-ish' is not a time: use ISO 8601 like 2025-09-04T19:50:00Z")


def test_backtest_report_names_an_existing_file(capsys, catalog, project_root, tmp_path):
    report = tmp_path / "x.html"
    report.write_text("an earlier report")
    code, _, err = run_cli(capsys, "backtest", "--config", project_root / "configs" / "btc.yaml", "--catalog", catalog,
                           "--start", "2025-01-01T00:00:00Z", "--end", "2025-01-01T00:10:00Z", "--report", report, "--quiet")
    assert_user_error(code, err, f"--report {report} is an existing file; give a folder")
    assert report.read_text() == "an earlier report"


def test_backtest_json_names_a_folder(capsys, catalog, project_root, tmp_path):
    code, _, err = run_cli(capsys, "backtest", "--config", project_root / "configs" / "btc.yaml", "--catalog", catalog,
                           "--json", tmp_path, "--quiet")
    assert_user_error(code, err, f"--json {tmp_path} is a folder; give a file name")


def test_usage_error_is_one_line(capsys, project_root):
    code, _, err = run_cli(capsys, "backtest", "--config", project_root / "configs" / "btc.yaml", "--mode", "ticks")
    assert_user_error(code, err, "botmm backtest: argument --mode: invalid choice: 'ticks' ...")
    assert "usage:" not in err


# ---------------------------------------------------------------------------------- data synth


def test_synth_unknown_coin(capsys, tmp_path):
    code, _, err = run_cli(capsys, "data", "synth", "--catalog", tmp_path / "cat", "--coins", "BTC", "DOGE")
    assert_user_error(code, err, "--coins DOGE: no synthetic parameters; known: BTC, ETH, SOL, XRP, HYPE")
    assert not (tmp_path / "cat").exists()


@pytest.mark.parametrize(("option", "value", "expected"), [
    ("--days", "-1", "--days must be > 0, got -1"),
    ("--days", "0", "--days must be > 0, got 0"),
    ("--bar-days", "-2", "--bar-days must be >= 0, got -2"),
    ("--seed", "-1", "--seed must be >= 0, got -1"),
    ("--start", "2025-01-01T00:30", "--start '2025-01-01T00:30' must be a time on a whole hour (UTC)"),
    ("--start", "soon", "--start 'soon' is not a time: use ISO 8601 like 2025-09-04T19:50:00Z"),
])
def test_synth_bad_numbers_and_start(capsys, tmp_path, option, value, expected):
    code, _, err = run_cli(capsys, "data", "synth", "--catalog", tmp_path / "cat", "--coins", "BTC", option, value)
    assert_user_error(code, err, expected)
    assert not (tmp_path / "cat").exists()


def test_catalog_that_is_a_file(capsys, tmp_path):
    not_a_folder = tmp_path / "catalog.txt"
    not_a_folder.write_text("x")
    code, _, err = run_cli(capsys, "data", "synth", "--catalog", not_a_folder, "--coins", "BTC", "--days", "0.01",
                           "--bar-days", "0")
    assert_user_error(code, err, f"--catalog {not_a_folder} is an existing file; give a folder")
    code, _, err = run_cli(capsys, "data", "synth", "--catalog", not_a_folder / "sub", "--coins", "BTC")
    assert_user_error(code, err, f"--catalog {not_a_folder / 'sub'}: {not_a_folder} is a file, not a folder")
    code, _, err = run_cli(capsys, "data", "info", "--catalog", not_a_folder)
    assert_user_error(code, err, f"catalog {not_a_folder} not found (it is a file)")


# ------------------------------------------------------------------------- import-candles coin


def test_import_candles_refuses_a_file_named_for_another_coin(capsys, shared_data, tmp_path):
    eth = shared_data / "hyperliquid" / "candles" / "ETH_USDC_USDC-1h-futures.feather"
    cat = tmp_path / "cat"
    code, out, err = run_cli(capsys, "data", "import-candles", eth, "--coin", "BTC", "--catalog", cat)
    assert_user_error(
        code, err,
        "ETH_USDC_USDC-1h-futures.feather: the file name names ETH but the coin to import is BTC (--coin); "
        "nothing was written (check --coin, or pass --force to import it as BTC anyway)",
    )
    assert catalog_files(cat) == []

    # --force imports it under the given coin and says so in the summary
    code, out, err = run_cli(capsys, "data", "import-candles", eth, "--coin", "BTC", "--catalog", cat, "--force")
    assert code == 0, err
    assert "note: ETH_USDC_USDC-1h-futures.feather: imported as BTC although the file name names ETH (force)" in out
    assert (cat / "data" / "bar" / "BTC-USDC-PERP.HL-1-HOUR-LAST-EXTERNAL").is_dir()

    # the right coin needs no --force
    code, out, err = run_cli(capsys, "data", "import-candles", eth, "--coin", "eth", "--catalog", tmp_path / "eth")
    assert code == 0, err
    assert "although" not in out


def test_import_candles_refuses_a_csv_named_for_another_coin(capsys, tmp_path):
    path = tmp_path / "candles_ETH_5m.csv"
    pd.DataFrame({
        "date": pd.date_range("2025-01-01", periods=3, freq="5min", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ"),
        "open": 3000.0, "high": 3001.0, "low": 2999.0, "close": 3000.5, "volume": 1.5,
    }).to_csv(path, index=False)
    code, _, err = run_cli(capsys, "data", "import-candles", path, "--coin", "SOL", "--catalog", tmp_path / "cat")
    assert_user_error(code, err, "candles_ETH_5m.csv: the file name names ETH but the coin to import is SOL (--coin); ...")
    assert catalog_files(tmp_path / "cat") == []


def test_import_funding_refuses_a_file_named_for_another_coin(capsys, shared_data, tmp_path):
    sol = shared_data / "hyperliquid" / "candles" / "SOL_USDC_USDC-1h-funding_rate.feather"
    code, _, err = run_cli(capsys, "data", "import-funding", sol, "--coin", "XRP", "--catalog", tmp_path / "cat")
    assert_user_error(
        code, err, "SOL_USDC_USDC-1h-funding_rate.feather: the file name names SOL but the coin to import is XRP (--coin); ...",
    )
    assert catalog_files(tmp_path / "cat") == []


# ------------------------------------------------------------------------ twin, record, live


def test_twin_accounts_file_missing(capsys, catalog, tmp_path):
    missing = tmp_path / "accounts.json"
    code, _, err = run_cli(capsys, "twin", "--catalog", catalog, "--coins", "BTC", "--port", "0", "--accounts", missing)
    assert_user_error(code, err, f"--accounts {missing}: file not found")


def test_twin_start_after_end(capsys, catalog):
    code, _, err = run_cli(capsys, "twin", "--catalog", catalog, "--coins", "BTC", "--port", "0",
                           "--start", "2025-01-01T01:00:00Z", "--end", "2025-01-01T00:00:00Z")
    assert_user_error(code, err, "--start 2025-01-01T01:00:00Z is after --end 2025-01-01T00:00:00Z")


def test_twin_fund_and_auto_account_values(capsys, catalog):
    code, _, err = run_cli(capsys, "twin", "--catalog", catalog, "--coins", "BTC", "--port", "0", "--fund", "0x12=100")
    assert_user_error(code, err, "--fund 0x12=100: expected ADDRESS=USD with a 0x-prefixed 40-hex-digit address")
    address = "0x" + "ab" * 20
    code, _, err = run_cli(capsys, "twin", "--catalog", catalog, "--coins", "BTC", "--port", "0", "--fund", f"{address}=lots")
    assert_user_error(code, err, f"--fund {address}=lots: USD must be a number >= 0, got 'lots'")
    code, _, err = run_cli(capsys, "twin", "--catalog", catalog, "--coins", "BTC", "--port", "0", "--auto-account", "-5")
    assert_user_error(code, err, "--auto-account must be >= 0, got -5")


def test_live_yaml_nested_unknown_key_names_file_and_key_path(capsys, tmp_path):
    live_yaml = tmp_path / "live.yaml"
    live_yaml.write_text("venue: twin\nurl: http://127.0.0.1:9\ndead_man:\n  deadline_s: 30\n  refresh: 10\n")
    code, _, err = run_cli(capsys, "live", "--config", live_yaml)
    assert_user_error(code, err, f"{live_yaml}: dead_man.refresh: unknown setting; allowed: deadline_s, refresh_s, on_failure")
    live_yaml.write_text("venue: twin\nurl: http://127.0.0.1:9\nkey:\n  env: [A, B]\n")
    code, _, err = run_cli(capsys, "live", "--config", live_yaml)
    assert_user_error(code, err, f"{live_yaml}: key.env: ...")


def test_record_bad_numbers_and_catalog(capsys, tmp_path):
    code, _, err = run_cli(capsys, "record", "--coins", "BTC", "--catalog", tmp_path / "rec", "--url", "http://127.0.0.1:9",
                           "--part-seconds", "0")
    assert_user_error(code, err, "--part-seconds must be > 0, got 0")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run_cli(capsys, "record", "--coins", "BTC", "--catalog", blocker, "--url", "http://127.0.0.1:9")
    assert_user_error(code, err, f"--catalog {blocker} is an existing file; give a folder")


def test_live_yaml_value_of_the_wrong_type(capsys, tmp_path):
    live_yaml = tmp_path / "live.yaml"
    live_yaml.write_text("venue: testnet\ncoins: [BTC]\ndead_man:\n  deadline_s: thirty\n")
    code, _, err = run_cli(capsys, "live", "--config", live_yaml)
    assert_user_error(code, err, f"{live_yaml}: ...")
    assert "deadline_s" in err and "thirty" in err


def test_live_run_seconds_and_json(capsys, tmp_path):
    code, _, err = run_cli(capsys, "live", "--venue", "twin", "--url", "http://127.0.0.1:9", "--run-seconds", "-5")
    assert_user_error(code, err, "--run-seconds must be > 0, got -5")
    code, _, err = run_cli(capsys, "live", "--venue", "twin", "--url", "http://127.0.0.1:9", "--json", tmp_path)
    assert_user_error(code, err, f"--json {tmp_path} is a folder; give a file name")


# --------------------------------------------------------------------- installed script, Ctrl-C


def test_installed_script_prints_one_line_not_a_traceback(tmp_path):
    result = subprocess.run(
        [str(BOTMM), "data", "synth", "--catalog", str(tmp_path / "cat"), "--coins", "DOGE"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr == "error: --coins DOGE: no synthetic parameters; known: BTC, ETH, SOL, XRP, HYPE\n"


def test_ctrl_c_exits_130_without_a_traceback(tmp_path):
    cat = tmp_path / "cat"
    proc = subprocess.Popen(
        [str(BOTMM), "data", "synth", "--catalog", str(cat), "--coins", "BTC", "--days", "3", "--bar-days", "1", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # a child of a background job inherits SIGINT ignored; give it the default disposition
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 120
        while not list(cat.glob(".staging-*")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # wait until it is writing
        assert proc.poll() is None, proc.communicate()
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert "Traceback" not in err and err.strip() == "interrupted"
    assert catalog_files(cat) == []  # the staged part was discarded
