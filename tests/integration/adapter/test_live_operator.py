"""What ``botmm live`` tells its operator, against the twin: it waits for a venue that is still
starting, prints a status line per coin, ends with a table of the venue's own positions and resting
orders (a leftover position called out), writes ``--json`` into a folder that did not exist, and
keeps the Nautilus INFO log in the log file, not on stdout.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from decimal import Decimal

import pytest
from hyperliquid.exchange import Exchange
from support.live_node import IID
from support.live_node import KEY_HEX
from support.live_node import WALLET
from support.live_node import start_node
from support.live_node import twin_position
from support.live_node import write_live_yaml

from botmm_nautilus.adapters.hyperliquid.http import HLHttpClient
from botmm_nautilus.apps.live import LiveError
from botmm_nautilus.apps.live_status import wait_for_venue
from botmm_nautilus.twin import TwinServer


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_wait_for_venue_waits_for_a_twin_that_starts_late_and_gives_up_in_bounded_time(btc_catalog):
    """Client level (the real HTTP client, a real twin): the twin binds its port 2 s late; the start-up
    check waits with a message instead of failing "unreachable" (the old preflight failed at once)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    twin = TwinServer(catalog=btc_catalog, coins=["BTC"], speed=4.0, port=port)
    lines: list[str] = []

    async def wait(base: str, wait_s: float):
        http = HLHttpClient(base, max_retries=0)
        try:
            return await wait_for_venue(http, base, wait_s, lines.append, LiveError)
        finally:
            await http.close()

    timer = threading.Timer(2.0, twin.start)
    timer.start()
    try:
        t0 = time.monotonic()
        meta = asyncio.run(wait(url, 20))
        assert time.monotonic() - t0 >= 1.9
        assert meta[0]["universe"][0]["name"] == "BTC"  # the venue's answer, once it is up
        assert lines and lines[0].startswith(f"botmm live: venue {url} not answering yet (")
        assert "waiting up to 20 s" in lines[0]
    finally:
        timer.join()
        twin.close()
    lines.clear()
    t0 = time.monotonic()
    with pytest.raises(LiveError, match=r"^venue http://127\.0\.0\.1:9 unreachable after waiting \d s: "):
        asyncio.run(wait("http://127.0.0.1:9", 1.5))
    assert 1.4 <= time.monotonic() - t0 < 5
    assert len(lines) == 1  # one message at once, the next only after 5 s


def test_live_waits_for_a_late_twin_prints_status_and_an_end_table_of_the_venue_state(twin, tmp_path):
    """One node run (~12 s): the twin is down when the node starts and comes back once the node waits; the
    account already holds 0.003 BTC. Stdout: the waiting message, status lines, no Nautilus INFO; the
    end table shows the VENUE's position (equal to the twin's) and calls a leftover out; --json lands
    in a folder that did not exist."""
    res = Exchange(WALLET, base_url=twin.url).market_open("BTC", True, 0.003)
    assert res["status"] == "ok" and "filled" in res["response"]["data"]["statuses"][0], res
    assert twin_position(twin) == Decimal("0.003")
    twin.stop()  # state kept; the same port serves again on start()

    cfg = write_live_yaml(tmp_path, twin.url)
    cfg.write_text(cfg.read_text().replace("log_level: INFO\n", "")  # default: WARNING on stdout
                   + "status_interval_s: 2\nwait_venue_s: 30\n")
    out_json = tmp_path / "not" / "yet" / "there" / "live.json"
    proc = start_node(cfg, 6, out_json)
    out_lines: list[str] = []
    err_lines: list[str] = []
    readers = [threading.Thread(target=lambda s=s, d=d: d.extend(s), daemon=True)
               for s, d in ((proc.stdout, out_lines), (proc.stderr, err_lines))]
    for r in readers:
        r.start()
    # the node is up and waiting for the venue (a few seconds of imports first), then the twin comes
    deadline = time.monotonic() + 30
    while not any("not answering yet" in line for line in out_lines) and time.monotonic() < deadline \
            and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(1.0)
    twin.start()
    try:
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    for r in readers:
        r.join(5)
    out, err = "".join(out_lines), "".join(err_lines)
    assert proc.returncode == 0, (out + err)[-3000:]
    assert re.search(r"^botmm live: venue http://127\.0\.0\.1:\d+ not answering yet \(", out, re.M), out[:2000]
    status = [line for line in out.splitlines() if line.startswith("[status +")]
    assert len(status) >= 2 and all(" BTC " in line and "quotes resting" in line and "address actions left" in line
                                    for line in status), out
    assert "[INFO]" not in out  # the INFO log went to the file
    assert "was cancelled" not in out  # the clients' background loops stop quietly at a graceful stop
    assert "[INFO]" in "".join(p.read_text(errors="replace") for p in (tmp_path / "logs").glob("*.log"))
    # the end table against the venue's state
    venue_pos = twin_position(twin)
    assert twin.open_orders(WALLET.address) == []
    table = out.split("botmm live: end of run (positions and orders as the venue reports them)", 1)[1]
    row = next(line for line in table.splitlines() if line.strip().startswith("BTC"))
    assert Decimal(row.split()[1]) == venue_pos and int(row.split()[3]) == 0
    leftover = re.search(r"^!!! LEFTOVER POSITION: BTC ([+-][\d.e-]+) .*is still open at the venue", table, re.M)
    assert (leftover is not None) == (venue_pos != 0), table
    if leftover:
        assert Decimal(leftover.group(1)) == venue_pos
    result = json.loads(out_json.read_text())
    assert Decimal(str(result["positions"][IID])) == venue_pos
    assert Decimal(str(result["venue_positions"].get("BTC", 0))) == venue_pos
    assert KEY_HEX not in (out + err + out_json.read_text()).lower()
