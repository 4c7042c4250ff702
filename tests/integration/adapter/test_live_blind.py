"""Blind means flat, end to end: a live node (``python -m botmm_nautilus.apps.live`` subprocess)
quoting BTC on the twin (the real 2025-09-04 recording at 4x) with ``risk.stale_book_s`` 2 s; the
twin stalls every WebSocket push for 6 s. Asserted on the VENUE (the twin's open orders and fills):
within stale_book_s + 1.5 s of the stall none of our orders rests, none comes back and nothing
fills while the node is blind, and after the stall quoting resumes with new orders.
"""

from __future__ import annotations

import json
import time

import yaml
from support.live_node import WALLET
from support.live_node import all_output
from support.live_node import finish
from support.live_node import start_node
from support.live_node import write_live_yaml
from support.twin_client import wait_until

STALE_S = 2.0
STALL_S = 6.0


def test_ws_stall_pulls_every_quote_within_stale_book_s_and_quoting_resumes_after(twin, tmp_path):
    cfg = write_live_yaml(tmp_path, twin.url)
    asset = tmp_path / "configs" / "btc.yaml"
    mm = yaml.safe_load(asset.read_text())
    mm["risk"]["stale_book_s"] = STALE_S
    asset.write_text(yaml.safe_dump(mm))
    addr = WALLET.address
    proc = start_node(cfg, 10, tmp_path / "out.json")
    try:
        before = wait_until(lambda: twin.open_orders(addr), timeout_s=8)
        oids_before = {o["oid"] for o in before}
        t0 = time.monotonic()
        twin.faults.stall_ws(STALL_S)
        # the venue holds no order of ours within stale_book_s + 1.5 s
        wait_until(lambda: not twin.open_orders(addr), timeout_s=STALE_S + 1.5, interval_s=0.05)
        t_flat = time.monotonic() - t0
        fills_flat = len(twin.fills(addr))
        # ... and none comes back, nothing fills, while the node is blind
        resting_while_blind = []
        while time.monotonic() - t0 < STALL_S - 0.3:
            resting_while_blind += twin.open_orders(addr)
            time.sleep(0.05)
        fills_blind = len(twin.fills(addr)) - fills_flat
        # the stall ends: books flow again, quoting resumes with new orders at the venue
        after = wait_until(lambda: [o for o in twin.open_orders(addr) if o["oid"] not in oids_before], timeout_s=4)
    finally:
        rc, text = finish(proc)
    assert t_flat <= STALE_S + 1.5, t_flat
    assert resting_while_blind == [], resting_while_blind
    assert fills_blind == 0
    assert after, "quoting did not resume after the stall"
    assert rc == 0, text[-3000:]
    assert twin.open_orders(addr) == []  # and the graceful stop left nothing behind
    res = json.loads((tmp_path / "out.json").read_text())
    assert res["data"]["stale_book_holds"] >= 1, res["data"]
    log = all_output(text, tmp_path)
    assert "quoting held (stale_book)" in log and "quoting resumes (stale_book)" in log
