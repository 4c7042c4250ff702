"""The venue goes away and comes back while the node trades: the twin stops for 3 s (connections
refused, WebSockets dropped) and restarts on the same port with its state kept (our resting
quotes included), the way a venue's API restart or a network cut looks from the node.

Asserted on the VENUE's state: while the node cannot see the venue it does not add to its quotes;
after the restart it reconnects, resolves what it sent blind, quotes again without ever holding a
cloid twice or more than its ladder, its position agrees with the venue's, and the graceful stop
leaves nothing behind.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal

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


def test_twin_restart_mid_run_resyncs_without_duplicates_and_stops_clean(twin, tmp_path):
    cfg = write_live_yaml(tmp_path, twin.url)
    proc = start_node(cfg, 16, tmp_path / "out.json")
    wait_until(lambda: len(twin.open_orders(WALLET.address)) > 0, timeout_s=30)
    sampler = OpenOrderSampler(twin)
    time.sleep(1.0)
    twin.restart(down_s=3.0)
    t_back = time.monotonic()
    # quoting resumes at the venue after the restart (a fresh order, not only the survivors)
    before = {o["oid"] for o in twin.open_orders(WALLET.address)}
    wait_until(lambda: {o["oid"] for o in twin.open_orders(WALLET.address)} - before, timeout_s=10)
    resumed_s = time.monotonic() - t_back
    rc, text = finish(proc)
    sampler.close()
    assert rc == 0, text[-3000:]
    res = json.loads((tmp_path / "out.json").read_text())
    out = all_output(text, tmp_path)
    assert res["exec_ws_reconnects"] >= 1 and res["data"]["ws_reconnects"] >= 1, res
    assert sampler.max_per_cloid == 1, f"a cloid was open twice at the venue ({sampler.max_per_cloid})"
    assert sampler.max_open <= MAX_LADDER, sampler.max_open
    assert Decimal(str(res["positions"][IID])) == twin_position(twin)
    assert len(twin.fills(WALLET.address)) == res["fills"], (len(twin.fills(WALLET.address)), res["fills"])
    assert twin.open_orders(WALLET.address) == []  # nothing left after the stop
    assert "reconnected" in out
    assert resumed_s < 10.0
