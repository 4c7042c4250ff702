"""live.yaml's safety settings (issue 9): the dead-man policy, the stop's cancel deadline and the
running reconciliation, validated like every other key and turned into the node's Nautilus and
client configs as documented."""

from __future__ import annotations

import asyncio

import pytest

from botmm_nautilus.apps.live import NEVER
from botmm_nautilus.apps.live import STOP_MARGIN_S
from botmm_nautilus.apps.live import client_configs
from botmm_nautilus.apps.live import exec_engine_config
from botmm_nautilus.config.live import load_live_config
from botmm_nautilus.errors import ConfigError


def _write(tmp_path, text: str):
    p = tmp_path / "live.yaml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dead_man:\n  on_failure: ignore\n", "dead_man.on_failure: 'ignore' is not one of 'stop_quoting', 'warn'"),
        ("stop_cancel_deadline_s: 0\n", "stop_cancel_deadline_s: must be a number > 0 and <= 600, got 0"),
        ("reconcile:\n  open_orders_interval_s: -1\n", "reconcile.open_orders_interval_s: must be a number >= 0"),
        ("reconcile:\n  startup_delay_s: 0\n", "reconcile.startup_delay_s: must be a number > 0"),
        ("reconcile:\n  every_s: 3\n", "reconcile.every_s: unknown setting; allowed: open_orders_interval_s"),
    ],
)
def test_bad_safety_settings_are_one_clear_error(tmp_path, text, message):
    p = _write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_live_config(p)
    assert str(exc.value).startswith(f"{p}: {message}"), str(exc.value)


def test_defaults_a_professional_would_pick_and_their_mapping():
    s = load_live_config(None)
    assert s.dead_man.on_failure == "stop_quoting" and s.stop_cancel_deadline_s == 30.0
    eng = exec_engine_config(s)
    # the venue's open orders every 10 s (frontendOpenOrders costs 20 of the 1200 IP weight a minute), positions every 15 s
    assert (eng.open_check_interval_secs, eng.position_check_interval_secs) == (10.0, 15.0)
    # closed reports of orders missing at the venue come from the client; the engine's blind fallback never runs
    assert eng.open_check_open_only is False and eng.open_check_missing_retries == NEVER
    assert eng.open_check_threshold_ms == eng.position_check_threshold_ms == 5_000
    _, exec_cfg = client_configs(s)
    assert exec_cfg.dead_man_on_failure == "stop_quoting" and exec_cfg.stop_cancel_deadline_secs == 30.0
    assert STOP_MARGIN_S > 8.0  # the final scheduleCancel is bounded at 8 s inside the disconnect timeout


def test_zero_interval_turns_a_check_off(tmp_path):
    s = load_live_config(_write(tmp_path, "reconcile:\n  open_orders_interval_s: 0\n  positions_interval_s: 0\n"
                                          "dead_man:\n  on_failure: warn\n"))
    eng = exec_engine_config(s)
    assert eng.open_check_interval_secs is None and eng.position_check_interval_secs is None
    assert client_configs(s)[1].dead_man_on_failure == "warn"


def test_the_node_waits_for_the_stop_sweep(monkeypatch, tmp_path):
    """The kernel's disconnect timeout covers the client's stop sweep (it used to be 5 s, less
    than the cancels' own retries)."""
    from botmm_nautilus.apps.live import build_node

    monkeypatch.setenv("HYPERLIQUID_TESTNET_PK", "0x" + "5c0ffee0" * 8)
    s = load_live_config(_write(tmp_path, "venue: twin\nurl: http://127.0.0.1:9\nstop_cancel_deadline_s: 45\n"))
    loop = asyncio.new_event_loop()  # the node takes the current loop (an earlier asyncio.run may have cleared it)
    asyncio.set_event_loop(loop)
    node, _ = build_node(s)
    try:
        assert node.kernel._config.timeout_disconnection == 45 + STOP_MARGIN_S
        assert node.kernel.exec_engine.open_check_interval_secs == 10.0
    finally:
        node.dispose()
        asyncio.set_event_loop(None)
        loop.close()
