"""Tick-to-order latency and rate budget of the live node against the local Hyperliquid twin.

Starts a twin on 127.0.0.1 replaying ``--catalog`` for ``--coins`` at ``--speed`` (1 = real time),
runs the live node (``python -m botmm_nautilus.apps.live``, the same MarketMaker and per-asset YAML as
production, ``configs/<coin>.yaml`` unchanged) as a subprocess for ``--seconds``, and prints:

* the latency of book-triggered order requests, stage by stage (see adapters/hyperliquid/latency.py:
  parse, nautilus_in, strategy, nautilus_out, build_sign, limiter, send; end_to_end = book frame
  taken off the WebSocket -> HTTP request handed to aiohttp; processing = end_to_end minus the
  limiter wait), p50 / p99 / max, plus the counts of other (timer / order-event / stop) and
  retried requests;
* the rate budget, extrapolated to one hour from the steady part of the run (from the first order
  on): IP weight (the venue allows 1,200 per minute = 72,000 per hour per IP) by request type, and
  address actions (10,000 + 1 per USDC traded, cumulative), with the pacing our limiter applied.

    python bench/live_latency.py --catalog /tmp/cat_syn5 --coins BTC ETH SOL XRP HYPE --seconds 300
    python bench/live_latency.py --catalog /tmp/cat_lat --coins BTC --seconds 120 --env BOTMM_HL_SIGNER=sdk

``--env K=V`` passes switches to the node (benchmarks of the old paths: ``BOTMM_HL_SIGNER=sdk``
signs with the SDK's eth_account path, ``ECC_BACKEND_CLASS=eth_keys.backends.NativeECCBackend``
makes that pure Python as without coincurve, ``BOTMM_HL_BATCH=0`` sends one action per command).
``--profile FILE`` records the node with py-spy --native (speedscope JSON if FILE ends in .json, else
folded stacks).

Last line: ``tick-to-order p99 X ms (book-triggered, n=N); ip weight per hour Y``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

IP_WEIGHT_PER_HOUR = 1200 * 60


def run(catalog: str, coins: list[str], seconds: float, speed: float, workdir: Path, log_level: str,
        env_extra: dict[str, str], profile: str | None, live_extra: str = "", start: str | None = None,
        end: str | None = None) -> tuple[dict, dict]:
    from eth_account import Account

    from botmm_nautilus.twin import TwinServer

    key = Account.create()
    from botmm_nautilus.times import parse_time_ns

    twin = TwinServer(catalog=catalog, coins=coins, speed=speed, start_ns=parse_time_ns(start, "start"), end_ns=parse_time_ns(end, "end"))
    twin.start()
    twin.create_account(key.address, 100_000)
    cfg_dir = workdir / "configs"
    cfg_dir.mkdir(parents=True, exist_ok=True)
    for coin in coins:
        (cfg_dir / f"{coin.lower()}.yaml").write_text((ROOT / "configs" / f"{coin.lower()}.yaml").read_text())
    live_yaml = workdir / "live.yaml"
    live_yaml.write_text(f"venue: twin\nurl: {twin.url}\ncoins: [{', '.join(coins)}]\nconfigs_dir: {cfg_dir}\n"
                         f"log_level: {log_level}\nstate_dir: {workdir / 'state'}\n{live_extra}")
    json_path = workdir / "live.json"
    json_path.unlink(missing_ok=True)
    env = dict(os.environ)
    env.update(env_extra)
    hexkey = key.key.hex()
    env["HYPERLIQUID_TESTNET_PK"] = hexkey if hexkey.startswith("0x") else "0x" + hexkey
    cmd = [sys.executable, "-m", "botmm_nautilus.apps.live", "--config", str(live_yaml), "--json", str(json_path),
           "--run-seconds", str(seconds)]
    if profile:
        fmt = "speedscope" if profile.endswith(".json") else "raw"  # raw: folded stacks, one per line
        cmd = [str(Path(sys.executable).parent / "py-spy"), "record", "--native", "-o", profile, "-f", fmt, "-r", "200",
               "--"] + cmd
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        proc.wait(timeout=seconds + 180)
    except subprocess.TimeoutExpired:
        proc.kill()
    reader.join(5)
    try:
        venue = {"address_actions_used": twin.engine.user_rate_limit(key.address.lower()).get("nRequestsUsed"),
                 "fills": len(twin.fills(key.address)),
                 "volume_usd": sum(float(f["px"]) * float(f["sz"]) for f in twin.fills(key.address))}
    finally:
        twin.close()
    if proc.returncode != 0 or not json_path.is_file():
        raise SystemExit(f"live node failed (exit {proc.returncode}):\n{''.join(lines)[-4000:]}")
    return json.loads(json_path.read_text()), venue


def print_report(res: dict, venue: dict, seconds: float, speed: float, coins: list[str]) -> str:
    lat = res.get("tick_to_order_latency") or {}
    print(f"\nlive node vs twin: coins {' '.join(coins)}, {seconds:g} s at twin speed x{speed:g}; "
          f"orders submitted {res.get('orders_submitted')}, modified {res.get('orders_modified')}, "
          f"canceled {res.get('orders_canceled')}, fills {res.get('fills')}, errors {len(res.get('errors') or [])}")
    stages = lat.get("stages") or {}
    print(f"\ntick-to-order latency, book-triggered requests (n={lat.get('n', 0)}), ms:")
    print(f"  {'stage':14s} {'p50':>9s} {'p99':>9s} {'max':>9s}")
    for name in ("parse", "nautilus_in", "strategy", "nautilus_out", "build_sign", "limiter", "send",
                 "processing", "end_to_end"):
        st = stages.get(name)
        if st:
            print(f"  {name:14s} {st['p50_ms']:9.3f} {st['p99_ms']:9.3f} {st['max_ms']:9.3f}")
    c = lat.get("counts", {})
    print(f"  requests: book-triggered {c.get('book_triggered', 0)}, other (timer/order event/stop) "
          f"{c.get('other', 0)}, retried {c.get('retry', 0)}; by command {lat.get('kinds')}; "
          f"limiter delayed {lat.get('limiter', {}).get('requests_waited', 0)}")
    rl = res.get("rate_limit") or {}
    steady = rl.get("steady") or {}
    per_hour = steady.get("ip_weight_per_hour")
    budget_min = rl.get("ip_weight_budget_per_min") or 1200
    window_h = (steady.get("window_s") or 0) / 3600.0
    print(f"\nrate budget (extrapolated to 1 h from {steady.get('window_s')} s of quoting at twin speed x{speed:g}):")
    print(f"  IP weight: {per_hour} per hour = {steady.get('ip_weight_per_min')} per min "
          f"(venue limit 1200/min, {100.0 * (per_hour or 0) / IP_WEIGHT_PER_HOUR:.0f} % used; our budget "
          f"{budget_min:g}/min); "
          f"whole run incl. start-up {rl.get('ip_weight_used')} in {rl.get('ip_weight_window_min')} min")
    wt = rl.get("weight_by_type") or {}
    tot = sum(wt.values()) or 1.0
    for k, v in sorted(wt.items(), key=lambda kv: -kv[1]):
        print(f"    {k:34s} {v:8.0f} weight {100.0 * v / tot:5.1f} %  ({rl.get('requests_by_type', {}).get(k)} requests)")
    vol_h = venue["volume_usd"] / window_h if window_h else float("nan")
    print(f"  address actions: {steady.get('address_actions_per_hour')} per hour (by action "
          f"{rl.get('address_by_action')}; the twin counted {venue.get('address_actions_used')} in the whole run); "
          f"budget 10,000 + 1 per USDC traded; traded "
          f"{venue['volume_usd']:.0f} USDC in the run (~{vol_h:.0f} USDC per hour)")
    print(f"  pacing: {rl.get('exchange_paced_requests')} order/modify/cancel requests delayed by our IP limiter "
          f"for {rl.get('exchange_paced_s')} s in total; all requests delayed {rl.get('ip_throttled_requests')} "
          f"({rl.get('ip_throttled_s')} s); order batches held open while paced {rl.get('paced_batches')}, "
          f"modify overlaps {rl.get('modify_overlaps')}; batched: {rl.get('batched_commands')} commands in "
          f"{rl.get('batched_requests')} multi-command actions; account refreshes {rl.get('account_refreshes')}")
    last = (f"tick-to-order p99 {lat.get('p99_ms', float('nan')):.2f} ms (book-triggered, n={lat.get('n', 0)}); "
            f"ip weight per hour {per_hour}")
    print(last)
    return last


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--catalog", required=True)
    p.add_argument("--coins", nargs="+", required=True)
    p.add_argument("--seconds", type=float, default=180.0)
    p.add_argument("--speed", type=float, default=1.0)
    p.add_argument("--log-level", default="INFO", help="node log level (configs/live.yaml uses INFO)")
    p.add_argument("--env", action="append", default=[], help="K=V passed to the node's environment")
    p.add_argument("--live-extra", default="", help="extra live.yaml lines, e.g. 'account_min_interval_s: 0.2'")
    p.add_argument("--start", default=None, help="replay from this ISO time (default: the catalog's start)")
    p.add_argument("--end", default=None, help="load the catalog only up to this ISO time (faster start-up)")
    p.add_argument("--workdir", default=str(ROOT / "bench" / "out" / "live_latency"))
    p.add_argument("--profile", default=None, help="py-spy output for the node (.json: speedscope, else folded stacks)")
    p.add_argument("--json", default=None, help="also write the node's summary and the venue's counts here")
    args = p.parse_args(argv)
    coins = [c.upper() for c in args.coins]
    env_extra = dict(kv.split("=", 1) for kv in args.env)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    extra = args.live_extra.replace("\\n", "\n")
    if extra and not extra.endswith("\n"):
        extra += "\n"
    res, venue = run(args.catalog, coins, args.seconds, args.speed, workdir, args.log_level, env_extra, args.profile, extra,
                     args.start, args.end)
    if args.json:
        Path(args.json).write_text(json.dumps({"node": res, "venue": venue, "env": env_extra}, indent=2, default=str))
    print_report(res, venue, args.seconds, args.speed, coins)
    return 0


if __name__ == "__main__":
    sys.exit(main())
