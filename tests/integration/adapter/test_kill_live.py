"""``botmm kill --flatten`` against a running live node (a real TradingNode subprocess trading the
twin): every order of ours canceled and the position closed AT THE VENUE; a restart without
``--reset`` does not quote and says why, until ``botmm kill --reset`` reaches it.

Before: no operator command existed, and the flatten sent MARKET orders that the execution client
denies ("unsupported order type MARKET"), so the position stayed open; the kill state was lost on
restart (the node quoted again).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from decimal import Decimal

from support.live_node import ROOT
from support.live_node import WALLET
from support.live_node import OpenOrderSampler
from support.live_node import all_output
from support.live_node import finish
from support.live_node import start_node
from support.live_node import twin_position
from support.live_node import write_live_yaml
from support.twin_client import post
from support.twin_client import signed_exchange_body
from support.twin_client import wait_until

from botmm_nautilus.venue import actions
from botmm_nautilus.venue.rules import HyperliquidGrid

BTC_SZ_DECIMALS = 5


def _buy_at_the_venue(twin, qty: str) -> None:
    """Open a long directly at the venue (IOC through the ask), as an earlier session would have left it."""
    ask = float(twin.book("BTC")["levels"][1][0]["px"])
    px = HyperliquidGrid(BTC_SZ_DECIMALS).round_price(ask * 1.002, "down")
    wire = actions.order_wire(0, True, Decimal(str(px)), Decimal(qty), False, "Ioc", None)
    status, text = post(twin.url, "/exchange", signed_exchange_body(WALLET, actions.order_action([wire])))
    assert status == 200 and "filled" in text, text


def _kill(cfg, *extra) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "botmm_nautilus.apps.cli", "kill", "--config", str(cfg), *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_botmm_kill_flatten_cancels_and_closes_at_the_venue_and_a_restart_stays_killed(twin, tmp_path):
    wait_until(lambda: twin.book("BTC")["levels"][1], timeout_s=10)
    _buy_at_the_venue(twin, "0.003")
    assert twin_position(twin) == Decimal("0.003")
    cfg = write_live_yaml(tmp_path, twin.url)
    proc = start_node(cfg, 30, None)  # stopped by SIGTERM below
    try:
        wait_until(lambda: len(twin.open_orders(WALLET.address)) > 0, timeout_s=15)  # quoting
        t0 = time.monotonic()
        done = _kill(cfg, "--flatten", "--reason", "test drill")
        kill_s = time.monotonic() - t0
        # the venue's state: nothing of ours rests, the position is closed
        assert twin.open_orders(WALLET.address) == [], done.stdout + done.stderr
        assert twin_position(twin) == 0, done.stdout + done.stderr
        assert done.returncode == 0, done.stdout + done.stderr
        answer = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("{")))
        assert answer["coins"]["BTC"]["state"] == "KILLED" and answer["coins"]["BTC"]["position"] == 0.0, answer
        assert answer["coins"]["BTC"]["open_orders"] == 0 and answer["coins"]["BTC"]["flatten_orders"] >= 1, answer
        assert kill_s < 10, kill_s
        # the command itself reads the venue's state (public /info) and reports it
        assert re.search(r"botmm kill: the venue \(0x[0-9a-fA-F]{40}\): BTC position 0(\.0*)?, open orders 0$", done.stdout, re.M), done.stdout
        # the flatten took liquidity at the venue (our quotes are post-only: every other fill is a maker fill)
        fills = twin.fills(WALLET.address)
        taker_sells = [f for f in fills[1:] if f["crossed"]]
        assert taker_sells and all(f["side"] == "A" for f in taker_sells), fills
        # killed: it stays without orders for the rest of the run
        sampler = OpenOrderSampler(twin)
        time.sleep(2.0)
        proc.send_signal(signal.SIGTERM)
        rc, text = finish(proc)
        sampler.close()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rc == 0, text[-3000:]
    assert sampler.max_open == 0
    out = all_output(text, tmp_path)
    assert "KILLED (operator: test drill)" in out and "flatten try 1/5" in out, out[-3000:]
    (path,) = (tmp_path / "state").glob("risk_twin_0x*_BTC.json")
    state = json.loads(path.read_text())
    assert state["risk"]["kill"] is not None and "test drill" in state["risk"]["kill"]["reason"]

    # a restart without --reset: still KILLED, says why, and the venue shows no order of ours ...
    wait_until(lambda: not any(sub.get("type") == "l2Book" for sub in twin.ws_subscriptions()), timeout_s=5)
    proc = start_node(cfg, 30, None)  # stopped by SIGTERM below
    try:
        twin.wait_for_subscription("l2Book", timeout_s=20)
        sampler = OpenOrderSampler(twin)
        time.sleep(2.0)  # a node that is not killed quotes within a second of its book
        sampler.close()
        assert sampler.max_open == 0 and twin.open_orders(WALLET.address) == []
        # ... until the operator's reset, sent to the running node: quoting resumes at the venue
        reset = _kill(cfg, "--reset", "--reason", "drill over")
        assert reset.returncode == 0, reset.stdout + reset.stderr
        assert '"state": "QUOTING"' in reset.stdout, reset.stdout
        wait_until(lambda: len(twin.open_orders(WALLET.address)) > 0, timeout_s=10)
        proc.send_signal(signal.SIGTERM)
        rc, text = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rc == 0, text[-3000:]
    assert "BTC is KILLED (restored from state: kill switch: operator: test drill" in text, text[-3000:]
    assert "not quote until `botmm kill --reset`" in text
    assert twin.open_orders(WALLET.address) == []  # the graceful stop canceled the resumed quotes
    assert json.loads(path.read_text())["risk"]["kill"] is None


def test_flatten_on_stop_closes_the_position_at_the_venue_before_the_node_exits(twin, tmp_path):
    """``risk.flatten_on_stop``: a graceful stop flattens (IOC limits) before the node stops; before,
    ``on_stop`` sent a MARKET order, denied by the execution client, and the position stayed."""
    import yaml

    wait_until(lambda: twin.book("BTC")["levels"][1], timeout_s=10)
    _buy_at_the_venue(twin, "0.003")
    cfg = write_live_yaml(tmp_path, twin.url)
    asset = tmp_path / "configs" / "btc.yaml"
    mm = yaml.safe_load(asset.read_text())
    mm["risk"]["flatten_on_stop"] = True
    asset.write_text(yaml.safe_dump(mm))
    rc, text = finish(start_node(cfg, 4, None))
    assert rc == 0, text[-3000:]
    assert twin_position(twin) == 0, all_output(text, tmp_path)[-3000:]
    assert twin.open_orders(WALLET.address) == []
    assert "flatten (flatten_on_stop)" in all_output(text, tmp_path)
