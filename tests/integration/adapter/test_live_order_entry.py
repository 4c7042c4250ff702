"""Idempotent order entry in a running node: the live node (subprocess) against the twin replaying
the real BTC recording, with the answers of its first order actions lost while the actions are
still in flight at the venue (executed 0.6 s after the connection was dropped).

The twin is set to ACCEPT duplicate cloids here: whatever the venue does with a reused cloid
([UNCERTAIN], see ``venue.actions.DUPLICATE_CLOID``), the node must never place a cloid twice, so
the venue is not allowed to hide a resend. Asserted on the VENUE's state.
"""

from __future__ import annotations

import json
from decimal import Decimal

from support.live_node import IID
from support.live_node import MAX_LADDER
from support.live_node import WALLET
from support.live_node import OpenOrderSampler
from support.live_node import finish
from support.live_node import start_node
from support.live_node import twin_position
from support.live_node import write_live_yaml
from support.twin_client import wait_until


def test_lost_order_answers_never_duplicate_nor_reject_resting_orders(twin, tmp_path):
    twin.engine.config.refuse_duplicate_cloids = False
    cfg = write_live_yaml(tmp_path, twin.url)
    sampler = OpenOrderSampler(twin)
    twin.faults.lose_answer(3, "/exchange", delay_ms=600, action="order")
    proc = start_node(cfg, 7, tmp_path / "out.json")
    wait_until(lambda: len(twin.open_orders(WALLET.address)) > 0, timeout_s=8)
    twin.faults.lose_answer(3, "/exchange", delay_ms=600, action="batchModify")  # then the ladder's moves
    rc, text = finish(proc)
    sampler.close()
    assert rc == 0, text[-3000:]
    res = json.loads((tmp_path / "out.json").read_text())
    assert twin.faults.answers_lost >= 2, f"the faults were not exercised ({twin.faults.answers_lost} answers lost)"
    assert sampler.max_per_cloid == 1, f"a cloid was open twice at the venue ({sampler.max_per_cloid})"
    assert sampler.max_open <= MAX_LADDER, sampler.max_open
    assert not [e for e in res["errors"] if "rejected" in e], res["errors"]  # nothing that rested was rejected
    assert res["unknown_outcomes"] >= 0 and res["http_lookups"] >= 1, res  # the lost answers were looked up
    assert Decimal(str(res["positions"][IID])) == twin_position(twin)
    assert twin.open_orders(WALLET.address) == []  # nothing left after the stop
