"""Running the live node against the twin in tests: the test key, the btc twin fixture's catalog,
a live.yaml writer, the node as a subprocess (``python -m botmm_nautilus.apps.live``) and probes
of the venue's state (open-order sampler, position). The fixtures themselves are in
``tests/integration/adapter/conftest.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

from eth_account import Account

ROOT = Path(__file__).resolve().parents[2]
KEY_HEX = "5c0ffee0" * 8  # test-only key; must never appear in any output
KEY = "0x" + KEY_HEX
WALLET = Account.from_key(KEY)
IID = "BTC-USDC-PERP.HL"


def write_live_yaml(tmp_path: Path, url: str, deadline_s: float = 30, refresh_s: float = 15, extra: str = "") -> Path:
    # configs/btc.yaml, quoting tighter so that a short replay fills (the strategy code is unchanged)
    import yaml

    mm = yaml.safe_load((ROOT / "configs" / "btc.yaml").read_text())
    mm["quoting"].update({"fee_gate": "off", "min_half_spread_bps": 0.2, "expected_adverse_bps": 0.0, "gamma": 0.01})
    (tmp_path / "configs").mkdir(exist_ok=True)
    (tmp_path / "configs" / "btc.yaml").write_text(yaml.safe_dump(mm))
    path = tmp_path / "live.yaml"
    path.write_text(
        f"venue: twin\nurl: {url}\ncoins: [BTC]\nconfigs_dir: {tmp_path / 'configs'}\n"
        f"dead_man:\n  deadline_s: {deadline_s}\n  refresh_s: {refresh_s}\nlog_level: INFO\nlog_dir: {tmp_path / 'logs'}\n"
        f"state_dir: {tmp_path / 'state'}\n"
        + extra
    )
    return path


def start_node(cfg: Path, run_seconds: float | None, json_path: Path | None, key: str | None = KEY, extra=()):
    env = dict(os.environ)
    env.pop("HYPERLIQUID_TESTNET_PK", None)
    if key is not None:
        env["HYPERLIQUID_TESTNET_PK"] = key
    cmd = [sys.executable, "-m", "botmm_nautilus.apps.live", "--config", str(cfg)]
    if run_seconds:
        cmd += ["--run-seconds", str(run_seconds)]
    if json_path:
        cmd += ["--json", str(json_path)]
    cmd += list(extra)
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc, timeout=90) -> tuple[int, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out + err


def all_output(text: str, tmp_path: Path) -> str:
    logs = "".join(p.read_text(errors="replace") for p in (tmp_path / "logs").glob("*") if p.is_file()) \
        if (tmp_path / "logs").is_dir() else ""
    return text + logs


class OpenOrderSampler:
    """Samples the twin's open-order count in the background (duplicate detection)."""

    def __init__(self, twin) -> None:
        self.twin = twin
        self.max_open = 0
        self.max_per_cloid = 0  # most open orders seen at once with one cloid (1 = no duplicate)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            orders = self.twin.open_orders(WALLET.address)
            self.max_open = max(self.max_open, len(orders))
            cloids = [o.get("cloid") for o in orders if o.get("cloid")]
            if cloids:
                self.max_per_cloid = max(self.max_per_cloid, max(cloids.count(c) for c in set(cloids)))
            time.sleep(0.05)

    def close(self):
        self.stop.set()
        self.thread.join(2)


def twin_position(twin, address: str = WALLET.address) -> Decimal:
    """The BTC position of ``address`` as the twin (the venue) reports it."""
    for p in twin.account_state(address)["assetPositions"]:
        if p["position"]["coin"] == "BTC":
            return Decimal(p["position"]["szi"])
    return Decimal(0)


MAX_LADDER = 4  # configs/btc.yaml: 2 levels per side


def ensure_a_fill(twin) -> None:
    """Quoting at the venue: if no market trade has filled one of our resting quotes yet, a market
    trade at the venue fills one (a quote may be replaced, new oid, between the read and the fill:
    retried for 5 s), so the fill path is always exercised."""
    from support.twin_client import wait_until

    if not twin.fills(WALLET.address):
        wait_until(lambda: any(twin.fill_at_venue(WALLET.address, o["oid"]) for o in twin.open_orders(WALLET.address)),
                   timeout_s=5)
