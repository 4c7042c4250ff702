"""``botmm kill`` without a running node, and the risk state restored at start (files in a real
state folder, real MarketMaker objects, the real RiskManager; no node).

A kill queued while no node runs is applied at the next start before any quote (the strategy
starts KILLED); ``--reset`` lifts it; a state file of another account is ignored; a corrupt one is
one error naming the file.
"""

from __future__ import annotations

import json
import os

import pytest

from botmm_nautilus.adapters.hyperliquid import instrument_id_for
from botmm_nautilus.apps.cli import main
from botmm_nautilus.apps.control import restore_state
from botmm_nautilus.apps.control import risk_path
from botmm_nautilus.apps.control import running_pid
from botmm_nautilus.errors import ConfigError
from botmm_nautilus.strategies.config import MarketMakerConfig
from botmm_nautilus.strategies.market_maker import MarketMaker

ACCOUNT = "0x" + "ab" * 20


def _mm(coin: str = "BTC") -> MarketMaker:
    return MarketMaker(MarketMakerConfig(instrument_id=instrument_id_for(coin), capital_usd=1000.0, maker_fee_bps=1.5))


def _cfg(tmp_path):
    path = tmp_path / "live.yaml"
    path.write_text(f"venue: testnet\ncoins: [BTC, ETH]\nstate_dir: {tmp_path / 'state'}\n")
    return path


def test_a_kill_queued_while_no_node_runs_is_applied_at_start_and_reset_lifts_it(tmp_path, capsys):
    cfg = _cfg(tmp_path)
    state = tmp_path / "state"
    assert main(["kill", "--config", str(cfg), "--flatten", "--reason", "weekend", "--coins", "btc"]) == 0
    out = capsys.readouterr().out
    assert "no node running" in out and "queued" in out
    btc, eth = _mm("BTC"), _mm("ETH")
    lines: list[str] = []
    assert restore_state(state, [btc, eth], "testnet", ACCOUNT, log=lines.append) == {"BTC": "KILLED"}
    assert btc.risk_restore["kill"]["flatten"] is True and "operator: weekend" in btc.risk_restore["kill"]["reason"]
    assert eth.risk_restore["kill"] is None  # --coins btc
    assert any("BTC is KILLED" in line and "botmm kill --reset" in line for line in lines), lines
    # the command was answered and is not applied twice; the kill is on disk
    done = list((state / "control" / "done").glob("*.json"))
    assert len(done) == 1 and json.loads(done[0].read_text())["applied"] == "at start"
    assert list((state / "control").glob("*.json")) == []
    assert json.loads(risk_path(state, "BTC", "testnet", ACCOUNT).read_text())["risk"]["kill"] is not None
    # a restart without a reset stays killed
    again = _mm("BTC")
    assert restore_state(state, [again], "testnet", ACCOUNT, log=lines.append) == {"BTC": "KILLED"}
    # botmm kill --reset (queued as well) lifts it at the next start
    assert main(["kill", "--config", str(cfg), "--reset"]) == 0
    lifted = _mm("BTC")
    assert restore_state(state, [lifted], "testnet", ACCOUNT, log=lines.append) == {}
    assert lifted.risk_restore["kill"] is None
    assert json.loads(risk_path(state, "BTC", "testnet", ACCOUNT).read_text())["risk"]["kill"] is None


def test_state_is_kept_per_venue_and_account_and_a_corrupt_file_is_one_error(tmp_path, capsys):
    state = tmp_path / "state"
    cfg = _cfg(tmp_path)
    assert main(["kill", "--config", str(cfg)]) == 0
    assert restore_state(state, [_mm("BTC")], "testnet", ACCOUNT, log=lambda _l: None) == {"BTC": "KILLED"}
    # another account, or the same account on the twin: its own state, not this kill, and this one is kept
    other = _mm("BTC")
    assert restore_state(state, [other], "testnet", "0x" + "cd" * 20, log=lambda _l: None) == {}
    assert restore_state(state, [_mm("BTC")], "twin", ACCOUNT, log=lambda _l: None) == {}
    assert other.risk_restore["kill"] is None
    assert restore_state(state, [_mm("BTC")], "testnet", ACCOUNT, log=lambda _l: None) == {"BTC": "KILLED"}
    lines: list[str] = []
    risk_path(state, "BTC", "testnet", ACCOUNT).write_text("{not json")
    with pytest.raises(ConfigError, match=r"risk_testnet_0x(ab)+_BTC.json"):
        restore_state(state, [_mm("BTC")], "testnet", ACCOUNT, log=lines.append)
    risk_path(state, "BTC", "testnet", ACCOUNT).write_text(json.dumps({"risk": {"version": 1, "peak_equity_usd": -5}}))
    with pytest.raises(ConfigError, match="_BTC.json: risk.peak_equity_usd"):
        restore_state(state, [_mm("BTC")], "testnet", ACCOUNT, log=lines.append)


def test_pid_file_and_option_errors(tmp_path, capsys):
    state = tmp_path / "state"
    state.mkdir()
    assert running_pid(state) is None
    (state / "node.pid").write_text(f"{os.getpid()}\n")
    assert running_pid(state) == os.getpid()
    (state / "node.pid").write_text("999999999\n")  # no such process: a stale file
    assert running_pid(state) is None
    cfg = _cfg(tmp_path)
    assert main(["kill", "--config", str(cfg), "--reset", "--flatten"]) == 2
    assert "--reset and --flatten" in capsys.readouterr().err
    nostate = tmp_path / "nostate.yaml"
    nostate.write_text("venue: testnet\nstate_dir: null\n")
    assert main(["kill", "--config", str(nostate)]) == 2
    assert "state_dir: null" in capsys.readouterr().err
