"""Backtest / live parity: the same MarketMaker config on the same data slice, twice.

1. ``run_backtest`` (Nautilus BacktestEngine, L2_MBP, queue_position, 60 ms latency model) over
   ``[start, end]`` of the catalog;
2. a real ``TradingNode`` (``python -m botmm_nautilus.apps.live`` in a subprocess) trading against the
   Hyperliquid twin replaying exactly the same ``[start, end]`` at ``--speed`` x real time.

    python bench/parity.py [--catalog CAT] [--start 2025-09-04T19:50:00Z] [--end 2025-09-04T20:20:00Z]
        [--speed 1] [--coin BTC] [--workdir DIR]

The twin's clock is *gated*: it stands at the first event of the slice until the node has
subscribed to the book (plus ``--release-delay`` wall seconds), then runs at ``speed``; the node is
stopped (SIGTERM: quotes canceled, JSON written) as soon as the twin has applied the last event of
the slice. So both runs see the same market from the same first book; what differs is the
matching (both apply the fill rules of ``venue/fill_rules.py``: the backtest through
``backtest/queue_fills.py`` and Nautilus's book matching, the twin through its ``CoinBook``), the latency (a fixed 60 ms model
vs real HTTP/WS round trips) and time: the strategy's clock is the data clock in the backtest and
the node's wall clock live, so at ``speed`` S every wall-clock quantity of the strategy (volatility
and intensity per second, refit interval, min requote interval, horizon, latency in market time)
is off by S (or sqrt(S) for volatility).

Prints a table, then ``parity venue fills ratio X, pnl backtest A live B`` and, as its last line,
``parity fill-volume ratio: Y`` (ratios are live / backtest).
Nautilus reports one match as several ``OrderFilled`` events (one per book level / queue slice); the
twin fills once per print. Venue fills (``OrderFilled`` events of one side and price at one instant
merged) are what the two engines have in common.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The strategy config: configs/<coin>.yaml with the quoting tightened exactly as the live adapter
# tests do (tests/integration/adapter/test_live_adapter.py), so that 30 minutes give enough fills to compare. The
# same dict goes to both runs.
TIGHTEN = {"fee_gate": "off", "min_half_spread_bps": 0.2, "expected_adverse_bps": 0.0, "gamma": 0.01}


def mm_config(coin: str) -> dict:
    import yaml

    mm = yaml.safe_load((ROOT / "configs" / f"{coin.lower()}.yaml").read_text())
    mm["quoting"].update(TIGHTEN)
    return mm


# ------------------------------------------------------------------------------------ backtest
def run_backtest_leg(mm: dict, catalog: str, start: str, end: str) -> dict:
    from botmm_nautilus.backtest.runner import run_backtest
    from botmm_nautilus.config.asset import config_from_dict

    cfg = config_from_dict(mm, source="parity")
    t0 = time.perf_counter()
    out = run_backtest(cfg, catalog, start=start, end=end, mode="book", progress=False)
    s = out.summary
    return {
        "order_filled_events": int(s["order_filled_events"]),
        "venue_fills": int(s["venue_fills"]),
        "filled_base": float(out.artifacts.fills["qty"].sum()),
        "maker_order_filled_events": int(s["maker_order_filled_events"]),
        "buy_order_filled_events": int(s["buy_order_filled_events"]),
        "sell_order_filled_events": int(s["sell_order_filled_events"]),
        "volume_usd": float(s["volume_usd"]),
        "fees_usd": float(s["fees_usd"]),
        "net_pnl_usd": float(s["net_pnl_usd"]),
        "final_position": float(s["final_position_base"]),
        "orders_submitted": _orders(out),
        "wall_s": time.perf_counter() - t0,
    }


def _orders(outcome) -> int | None:
    art = outcome.artifacts if hasattr(outcome, "artifacts") else None
    for name in ("orders_submitted", "n_orders"):
        v = getattr(art, name, None) if art is not None else None
        if v is not None:
            return int(v)
    return None


# ------------------------------------------------------------------------------------ live
class GatedClock:
    """A twin clock that stands at ``start_ms`` until :meth:`release`, then runs at ``speed``."""

    def __init__(self, start_ms: int, speed: float) -> None:
        self._start_ms = start_ms
        self._speed = float(speed)
        self._anchor: float | None = None
        self._lock = threading.Lock()

    is_manual = False

    @property
    def speed(self) -> float:
        return self._speed

    def release(self) -> None:
        with self._lock:
            if self._anchor is None:
                self._anchor = time.monotonic()

    def now_ms(self) -> int:
        with self._lock:
            if self._anchor is None:
                return self._start_ms
            return self._start_ms + int((time.monotonic() - self._anchor) * 1000.0 * self._speed)


def run_live_leg(mm: dict, catalog: str, start: str, end: str, coin: str, speed: float, workdir: Path,
                 release_delay: float, delay_ms: float = 0.0) -> dict:
    import yaml
    from eth_account import Account

    from botmm_nautilus.config.asset import config_from_dict
    from botmm_nautilus.times import parse_time_ns
    from botmm_nautilus.twin import TwinServer
    from botmm_nautilus.twin.settings import TwinConfig
    from botmm_nautilus.twin.clock import wall_ms

    key = Account.create()
    addr = key.address
    starting = config_from_dict(mm, source="parity").capital_usd
    clock = GatedClock(wall_ms(), speed)
    # the recording already has the venue's book rate: publish every replayed book change (the twin's
    # default throttle of 500 ms would delay the node's view of the book by up to half a second
    # against the backtest's, and quotes that react later are run over more often)
    twin = TwinServer(catalog=catalog, coins=[coin], speed=speed, clock=clock, start_ns=parse_time_ns(start, "--start"),
                      end_ns=parse_time_ns(end, "--end"), config=TwinConfig(l2_book_min_interval_ms=0))
    twin.start()
    twin.create_account(addr, starting)
    (workdir / "configs").mkdir(parents=True, exist_ok=True)
    (workdir / "configs" / f"{coin.lower()}.yaml").write_text(yaml.safe_dump(mm))
    live_yaml = workdir / "live.yaml"
    live_yaml.write_text(
        f"venue: twin\nurl: {twin.url}\ncoins: [{coin}]\nconfigs_dir: {workdir / 'configs'}\n"
        f"log_level: WARNING\nlog_dir: {workdir / 'logs'}\nstate_dir: {workdir / 'state'}\n"
    )
    json_path = workdir / "live.json"
    json_path.unlink(missing_ok=True)
    env = dict(os.environ)
    env["HYPERLIQUID_TESTNET_PK"] = key.key.hex() if key.key.hex().startswith("0x") else "0x" + key.key.hex()
    cmd = [sys.executable, "-m", "botmm_nautilus.apps.live", "--config", str(live_yaml), "--json", str(json_path)]
    t_launch = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out_lines: list[str] = []
    reader = threading.Thread(target=lambda: out_lines.extend(proc.stdout), daemon=True)
    reader.start()
    t_sub = None
    t_release = None
    t_end = None
    try:
        while proc.poll() is None:
            now = time.monotonic()
            if t_release is None:
                if t_sub is None and any(s.get("type") == "l2Book" for s in twin.ws_subscriptions()):
                    t_sub = now
                if (t_sub is not None and now - t_sub >= release_delay) or now - t_launch > 120:
                    twin.faults.delay_http(int(round(delay_ms)))  # the node is up: orders now take the configured latency
                    clock.release()
                    t_release = now
            elif t_end is None and twin.engine.cursor.remaining == 0:
                t_end = now
                proc.send_signal(signal.SIGTERM)
            if now - t_launch > 4 * 3600:
                proc.kill()
            time.sleep(0.05)
        reader.join(5)
        state = twin.account_state(addr)
        fills = twin.fills(addr)
        rate = twin.engine.user_rate_limit(addr.lower())
        open_left = len(twin.open_orders(addr))
    finally:
        twin.close()
    if proc.returncode != 0 or not json_path.is_file():
        tail = "".join(out_lines)[-3000:]
        raise SystemExit(f"live node failed (exit {proc.returncode}):\n{tail}")
    res = json.loads(json_path.read_text())
    vol = sum(float(f["px"]) * float(f["sz"]) for f in fills)
    fees = sum(float(f["fee"]) for f in fills)
    account_value = float(state["marginSummary"]["accountValue"])
    return {
        "order_filled_events": int(res["fills"]),  # the live node's OrderFilled events: one per twin fill
        "twin_fills": len(fills),
        "venue_fills": len({(f["time"], f["side"], f["px"]) for f in fills}),
        "filled_base": sum(float(f["sz"]) for f in fills),
        "maker_order_filled_events": sum(1 for f in fills if not f.get("crossed")),
        "buy_order_filled_events": sum(1 for f in fills if f["side"] == "B"),
        "sell_order_filled_events": sum(1 for f in fills if f["side"] == "A"),
        "volume_usd": vol,
        "fees_usd": fees,
        "net_pnl_usd": float(res["net_pnl_usd"]) if res.get("net_pnl_usd") is not None else account_value - starting,
        "twin_pnl_usd": account_value - starting,
        "final_position": sum(float(v) for v in res["positions"].values()),
        "orders_submitted": int(res["orders_submitted"]),
        "orders_modified": int(res.get("orders_modified", 0)),
        "post_only_rejects": int(res.get("post_only_rejects", 0)),
        "errors": res.get("errors", []),
        "latency": res.get("tick_to_order_latency"),
        "node_startup_s": (t_sub - t_launch) if t_sub else None,
        "replay_wall_s": (t_end - t_release) if (t_end and t_release) else None,
        "address_actions": rate.get("nRequestsUsed"),
        "open_orders_left": open_left,
    }


# ------------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--catalog", default=str(ROOT / "bench" / "out" / "parity_catalog"))
    p.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "hyperliquid" / "ws_2025-09-04"),
                   help="imported into --catalog when the catalog does not exist yet")
    p.add_argument("--coin", default="BTC")
    p.add_argument("--start", default="2025-09-04T19:50:00Z")
    p.add_argument("--end", default="2025-09-04T20:20:00Z")
    p.add_argument("--speed", type=float, default=1.0,
                   help="twin replay speed; above 1 every wall-clock quantity of the strategy is distorted (docstring)")
    p.add_argument("--release-delay", type=float, default=0.5, help="wall s between the book subscription and the replay start")
    p.add_argument("--twin-delay-ms", type=float, default=None,
                   help="the twin holds every HTTP request this long before handling it (inbound latency, like the "
                        "backtest's latency model); default: the config's venue.latency_ms")
    p.add_argument("--workdir", default=str(ROOT / "bench" / "out" / "parity"))
    p.add_argument("--json", default=None, help="also write both results here")
    args = p.parse_args(argv)
    coin = args.coin.upper()
    if not Path(args.catalog).is_dir():
        from botmm_nautilus.data.hl_ws import import_hyperliquid_ws

        import_hyperliquid_ws(Path(args.data_dir), Path(args.catalog), coins=[coin], replace=True, progress=False)
    mm = mm_config(coin)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"parity {coin} {args.start} .. {args.end}; catalog {args.catalog}; twin speed x{args.speed:g}; "
          f"config configs/{coin.lower()}.yaml + {TIGHTEN}", flush=True)
    bt = run_backtest_leg(mm, args.catalog, args.start, args.end)
    print(f"backtest done in {bt['wall_s']:.1f} s", flush=True)
    delay_ms = float(mm.get("venue", {}).get("latency_ms", 60.0)) if args.twin_delay_ms is None else args.twin_delay_ms
    lv = run_live_leg(mm, args.catalog, args.start, args.end, coin, args.speed, workdir, args.release_delay, delay_ms)
    print(f"live done: node startup {lv['node_startup_s']:.1f} s, replay {lv['replay_wall_s']:.1f} s wall", flush=True)

    def ratio(a, b):
        return (a / b) if b else float("nan")

    rows = [
        ("OrderFilled events", bt["order_filled_events"], lv["order_filled_events"]),
        ("venue fills", bt["venue_fills"], lv["venue_fills"]),
        ("filled base qty", round(bt["filled_base"], 6), round(lv["filled_base"], 6)),
        ("maker OrderFilled", bt["maker_order_filled_events"], lv["maker_order_filled_events"]),
        ("buy / sell OrderFilled", f"{bt['buy_order_filled_events']}/{bt['sell_order_filled_events']}",
         f"{lv['buy_order_filled_events']}/{lv['sell_order_filled_events']}"),
        ("volume USD", round(bt["volume_usd"], 2), round(lv["volume_usd"], 2)),
        ("fees USD", round(bt["fees_usd"], 4), round(lv["fees_usd"], 4)),
        ("net PnL USD", round(bt["net_pnl_usd"], 4), round(lv["net_pnl_usd"], 4)),
        ("final position", bt["final_position"], lv["final_position"]),
        ("orders submitted", bt["orders_submitted"], lv["orders_submitted"]),
    ]
    print(f"{'':20s} {'backtest':>14s} {'live/twin':>14s} {'live/bt':>8s}")
    for name, a, b in rows:
        r = f"{ratio(float(b), float(a)):8.3f}" if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a else ""
        print(f"{name:20s} {str(a):>14s} {str(b):>14s} {r}")
    print(f"live extra: twin fills {lv['twin_fills']}, twin PnL (accountValue - start) {lv['twin_pnl_usd']:.4f}, "
          f"orders modified {lv['orders_modified']}, post-only rejects {lv['post_only_rejects']}, "
          f"errors {len(lv['errors'])}, address actions {lv['address_actions']}, open orders left {lv['open_orders_left']}")
    print(f"live tick_to_order_latency: {json.dumps(lv['latency'])}")
    if args.json:
        Path(args.json).write_text(json.dumps({"backtest": bt, "live": lv, "speed": args.speed}, indent=2, default=str))
    print(f"parity venue fills ratio {ratio(lv['venue_fills'], bt['venue_fills']):.3f}, "
          f"pnl backtest {bt['net_pnl_usd']:.2f} live {lv['net_pnl_usd']:.2f}")
    print(f"parity fill-volume ratio: {ratio(lv['volume_usd'], bt['volume_usd']):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
