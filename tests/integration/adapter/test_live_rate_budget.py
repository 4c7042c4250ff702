"""The live node (a real TradingNode subprocess) against the twin while the account's address action
budget runs short, runs out and comes back: what the VENUE holds at each stage.

The twin enforces the venue's rule (10000 + 1 per USDC traded; past it one action per 10 s, cancels
up to min(cap + 100000, 2 cap)); the test moves the account's figures as another process of the
same account and a purchase of request weight would."""

from __future__ import annotations

import json
import signal
import time

from support.live_node import MAX_LADDER
from support.live_node import WALLET
from support.live_node import all_output
from support.live_node import finish
from support.live_node import start_node
from support.live_node import write_live_yaml
from support.twin_client import wait_until

from botmm_nautilus.venue.limits import ADDRESS_BASE_BUDGET

RATE_BUDGET_YAML = ("rate_budget:\n  check_s: 0.3\n  refresh_s: 1.0\n  short_frac: 0.1\n  short_minutes: 0\n"
                    "  short_levels: 1\n  resume_actions: 20\n")


def _open(twin) -> list[dict]:
    return twin.open_orders(WALLET.address)


def _sides(orders) -> dict[str, int]:
    out = {"B": 0, "A": 0}
    for o in orders:
        out[o["side"]] += 1
    return out


def _max_open_over(twin, seconds: float) -> int:
    worst = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        worst = max(worst, len(_open(twin)))
        time.sleep(0.03)
    return worst


def test_short_budget_quotes_fewer_levels_exhausted_holds_refilled_resumes(twin, tmp_path):
    twin.engine.state.config.enforce_rate_limits = True
    account = twin.engine.accounts[WALLET.address.lower()]
    cfg = write_live_yaml(tmp_path, twin.url, extra=RATE_BUDGET_YAML)
    proc = start_node(cfg, 10, tmp_path / "out.json")
    try:
        # 1. plenty of budget: the full ladder (2 levels a side) rests at the venue
        wait_until(lambda: len(_open(twin)) == MAX_LADDER, timeout_s=12)
        # 2. short: 500 of ~10000 left (< 10 %) -> one level a side at the venue
        twin.set_requests_used(WALLET.address, twin.rate_limit(WALLET.address)["nRequestsCap"] - 500)
        wait_until(lambda: (s := _sides(_open(twin)))["B"] <= 1 and s["A"] <= 1 and sum(s.values()) >= 1, timeout_s=3)
        assert _max_open_over(twin, 0.8) <= 2
        # 3. exhausted: past the cap -> every order canceled (cancels have their own cap), none placed
        twin.set_requests_used(WALLET.address, twin.rate_limit(WALLET.address)["nRequestsCap"] + 500)
        wait_until(lambda: _open(twin) == [], timeout_s=3)
        assert _max_open_over(twin, 1.0) == 0
        # 4. refilled (20000 actions of request weight bought): quoting resumes with the full ladder
        with twin.engine.lock:
            account.extra_request_weight += 20_000
        wait_until(lambda: len(_open(twin)) == MAX_LADDER, timeout_s=4)
        proc.send_signal(signal.SIGTERM)  # graceful stop (as at the end of --run-seconds)
    finally:
        rc, text = finish(proc, timeout=30)
    assert rc == 0, text[-3000:]
    assert _open(twin) == []  # the graceful stop canceled the quotes
    res = json.loads((tmp_path / "out.json").read_text())
    rl = res["rate_limit"]
    assert rl["address_budget_state"] == "ok" and rl["address_budget_changes"] >= 3, rl
    assert rl["address_requests_cap"] == ADDRESS_BASE_BUDGET + 20_000 + int(account.cum_volume_usd), rl
    log = all_output(text, tmp_path)
    assert "address budget short" in log and "address budget exhausted" in log and "address budget back" in log
    assert "quoting held (rate_budget)" in log and "quoting resumes (rate_budget)" in log
    assert "quoting at most 1 level(s) a side" in log
