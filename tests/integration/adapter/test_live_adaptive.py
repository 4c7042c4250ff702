"""``botmm live`` runs the per-asset YAML's strategy: ``AdaptiveMarketMaker`` (all of its features on)
in a real TradingNode subprocess against the Hyperliquid twin replaying the real BTC recording of
2025-09-04 at 4x. It quotes at the venue, fills, logs its features' changes, and its positions
equal the venue's after the graceful stop.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal

import yaml
from support.live_node import IID
from support.live_node import MAX_LADDER
from support.live_node import WALLET
from support.live_node import OpenOrderSampler
from support.live_node import all_output
from support.live_node import ensure_a_fill
from support.live_node import finish
from support.live_node import start_node
from support.live_node import twin_position
from support.live_node import write_live_yaml
from support.twin_client import wait_until

# fast-acting settings so that 12 s of quoting shows the features at work (the fill rate judges a
# side after 2 s of quoting and steps every 0.5 s; the regime declares itself after 5 samples)
ADAPTIVE = {"use_regime": True, "use_fill_rate": True, "use_inventory_decay": True, "regime_min_samples": 5,
            "fill_rate_min_quoting_s": 2.0, "fill_rate_interval_s": 0.5, "fill_rate_window_s": 60.0}


def test_adaptive_market_maker_live_quotes_fills_and_agrees_with_venue(twin, tmp_path):
    cfg = write_live_yaml(tmp_path, twin.url)
    btc = tmp_path / "configs" / "btc.yaml"
    asset = yaml.safe_load(btc.read_text())
    asset["strategy"] = "AdaptiveMarketMaker"
    asset["adaptive"] = ADAPTIVE
    btc.write_text(yaml.safe_dump(asset))
    sampler = OpenOrderSampler(twin)
    proc = start_node(cfg, 12, tmp_path / "out.json")
    wait_until(lambda: len(twin.open_orders(WALLET.address)) > 0, timeout_s=30)  # quoting at the venue
    time.sleep(4.0)
    ensure_a_fill(twin)
    rc, text = finish(proc)
    sampler.close()
    assert rc == 0, text[-3000:]
    res = json.loads((tmp_path / "out.json").read_text())
    assert res["orders_submitted"] > 0 and res["fills"] >= 1, res
    assert len(twin.fills(WALLET.address)) == res["fills"]
    assert twin.open_orders(WALLET.address) == []  # the graceful stop canceled every quote
    assert Decimal(str(res["positions"][IID])) == twin_position(twin)
    assert 0 < sampler.max_open <= MAX_LADDER
    assert res["errors"] == []
    log = all_output(text, tmp_path)
    assert "AdaptiveMarketMaker" in log  # the YAML's strategy ran (its id is in every log line)
    assert "adaptive fill_rate:" in log  # a feature's logged change reached the node's log
    adaptive = res["adaptive"][IID]  # the --json summary: the features' state and changes per coin
    assert adaptive["features"] == ["regime", "fill_rate", "inventory_decay"]
    assert adaptive["changes_logged"]["fill_rate"] >= 1
    assert adaptive["state"]["fill_rate"]["fills_seen"] >= 1
