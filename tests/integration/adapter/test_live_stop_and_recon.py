"""Live safety at the edges of a session (issue 9, items 2-4): a real TradingNode
(``python -m botmm_nautilus.apps.live``) against the twin replaying the real BTC recording of
2025-09-04 (../shared/data); every assertion is about the VENUE's state (the twin's open orders,
dead-man's switch, fills and position).

1. The venue refuses the dead-man's switch (mainnet's $1M volume gate): with
   ``dead_man.on_failure: stop_quoting`` the node holds no order at the venue and says why; once a
   set succeeds it quotes. Then the stop meets an outage (HTTP 503 on every ``/exchange`` for
   3.4 s, longer than the cancels' own retries): the node keeps canceling by the venue's open
   orders until none is left, and only then clears the switch.
   ``dead_man_sets`` equals the sets the venue accepted.
2. Reconciliation while running: every ``userFills`` push is lost and an order is canceled at the
   venue behind the node's back (its push lost too); the open-order and position checks repair
   both within their interval: the node ends with the venue's fills and position.
"""

from __future__ import annotations

import json
import signal
import time
from decimal import Decimal

import yaml

from support.live_node import IID
from support.live_node import MAX_LADDER
from support.live_node import WALLET
from support.live_node import OpenOrderSampler
from support.live_node import all_output
from support.live_node import finish
from support.live_node import start_node
from support.live_node import twin_position
from support.live_node import write_live_yaml
from support.twin_client import wait_until


def _exchange_actions(twin) -> int:
    return twin.engine.user_rate_limit(WALLET.address.lower())["nRequestsUsed"]


def test_refused_dead_man_holds_quoting_and_a_stop_through_an_outage_leaves_nothing(twin, tmp_path):
    twin.faults.refuse_schedule_cancel(True)
    cfg = write_live_yaml(tmp_path, twin.url, deadline_s=20, refresh_s=2,
                          extra="stop_cancel_deadline_s: 20\n")  # dead_man.on_failure: stop_quoting (the default)
    sampler = OpenOrderSampler(twin)
    proc = start_node(cfg, None, tmp_path / "out.json")
    try:
        # preflight noop, the set at connect, then refreshes: all refused; the strategy runs meanwhile
        wait_until(lambda: _exchange_actions(twin) >= 4, timeout_s=20, interval_s=0.05)
        time.sleep(1.0)
        assert sampler.max_open == 0, "quoted although the dead-man's switch could not be set"
        twin.faults.refuse_schedule_cancel(False)
        wait_until(lambda: len(twin.open_orders(WALLET.address)) > 0, timeout_s=10)  # a set succeeded: quoting
        assert twin.schedule_cancel(WALLET.address)["deadline_ms"] is not None
        # the stop meets an /exchange outage: 503s for 3.4 s, longer than the cancels' retry schedule
        # (3.1 s); the old node cleared the dead-man's switch right after it and left the quotes resting
        twin.faults.http_error(503, 100_000, path="/exchange")
        proc.send_signal(signal.SIGTERM)
        time.sleep(3.4)
        twin.faults.clear()
        rc, text = finish(proc, timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        sampler.close()
    out = all_output(text, tmp_path)
    assert rc == 0, text[-3000:]
    assert twin.open_orders(WALLET.address) == [], out[-3000:]  # nothing left behind at the venue
    switch = twin.schedule_cancel(WALLET.address)
    assert switch["deadline_ms"] is None  # cleared, because the venue confirmed every cancel
    res = json.loads((tmp_path / "out.json").read_text())
    assert res["stop"]["confirmed"] and res["stop"]["dead_man"] == "cleared", res["stop"]
    assert res["dead_man_sets"] == switch["sets"] >= 1, (res, switch)  # confirmed sets only
    assert res["dead_man_failures"] >= 2, res
    assert "dead-man's switch not set (refused: Cannot set scheduled cancel time" in out
    assert "quoting held (dead_man)" in out and "quoting resumes (dead_man)" in out
    assert Decimal(str(res["positions"][IID])) == twin_position(twin)


def test_running_reconciliation_repairs_a_silent_cancel_and_a_missed_fill(twin, tmp_path):
    cfg = write_live_yaml(tmp_path, twin.url, deadline_s=0, extra=(
        "reconcile:\n  open_orders_interval_s: 2\n  positions_interval_s: 2\n  settle_s: 1\n  startup_delay_s: 1\n"))
    # quotes are never moved once placed: only the running checks can find what the venue did
    mm_path = tmp_path / "configs" / "btc.yaml"
    mm = yaml.safe_load(mm_path.read_text())
    mm["quoting"].update({"requote_tolerance_bps": 1000, "requote_size_tolerance_pct": 100})
    mm_path.write_text(yaml.safe_dump(mm))
    proc = start_node(cfg, None, tmp_path / "out.json")
    try:
        wait_until(lambda: len(twin.open_orders(WALLET.address)) >= 2, timeout_s=20)
        # behind the node's back, with every push of it lost: one quote filled, another canceled
        filled = canceled = None
        for _ in range(50):
            resting = twin.open_orders(WALLET.address)
            if filled is None and resting:
                filled = twin.fill_at_venue(WALLET.address, resting[0]["oid"], silent=True)
            resting = [o for o in twin.open_orders(WALLET.address) if filled is None or o["oid"] != filled["oid"]]
            if canceled is None and resting and twin.cancel_at_venue(WALLET.address, resting[-1]["oid"], silent=True):
                canceled = resting[-1]
            if filled is not None and canceled is not None:
                break
            time.sleep(0.1)
        assert filled is not None and canceled is not None
        # open-order / position checks every 2 s, acting on differences 1 s old: once the node knows
        # both quotes are gone it places their replacements (the old node waited forever)
        wait_until(lambda: len(twin.open_orders(WALLET.address)) >= MAX_LADDER, timeout_s=12)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        rc, text = finish(proc, timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    out = all_output(text, tmp_path)
    assert rc == 0, text[-3000:]
    res = json.loads((tmp_path / "out.json").read_text())
    # the node ends with the venue's fills and position, although it was told of neither
    assert res["fills"] == len(twin.fills(WALLET.address)) >= 1, (res, out[-3000:])
    assert Decimal(str(res["positions"][IID])) == twin_position(twin) != 0
    recon = res["reconciliation"]
    # both found by the open-order check (closed as the venue says, the filled one with its real fill)
    assert recon["orders_missing_at_venue"] >= 2 and recon["orders_closed"] >= 2 and recon["missed_fills"] >= 1, recon
    assert "missed by the node" in out and f"{filled['tid']}" in out
    assert twin.open_orders(WALLET.address) == []
