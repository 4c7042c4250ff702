"""Operator control of a running live node, and the risk state it keeps across restarts.

No network exposure: ``botmm kill`` talks to the node through files in its state folder
(``state_dir`` of live.yaml), which an Actor of the node polls every second:

    <state_dir>/node.pid                the running node's process id (written at start, removed at exit)
    <state_dir>/risk_<venue>_<account>_<COIN>.json
                                        each coin's ``RiskManager.snapshot`` (day baseline equity, peak
                                        equity, KILL / HALT), written atomically when it changes; one
                                        file per venue, account and coin (a twin session's kill
                                        never blocks testnet, another key's state is never overwritten)
    <state_dir>/control/<id>.json       a command of ``botmm kill``:
                                        {"action": "kill" | "reset", "flatten": bool, "reason": str, "coins": [..] | null}
    <state_dir>/control/done/<id>.json  the node's answer: per coin the state, the position and whether
                                        the flatten finished

``kill``: every coin's MarketMaker goes KILLED (cancel all: the execution client's cancel-all also
cancels the venue's open orders the node does not know), optionally flattens with IOC limit orders
(``MarketMaker.flatten``), and stays KILLED, also across restarts, until a ``reset``. The answer is
written once no flatten is under way (at most ``ACK_DEADLINE_S``). A command written while no node
runs waits in ``control/`` and is applied at the next start, before the strategies start (a queued
kill means the node never quotes; a queued reset lifts a persisted kill or halt).

Restore at start: each coin's snapshot goes back into its strategy's risk manager (a restart
mid-day keeps the day's baseline; a killed or halted node stays so and says why).
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from dataclasses import field
from datetime import timedelta
from pathlib import Path

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig

from botmm_nautilus.core.risk import RiskManager
from botmm_nautilus.errors import ConfigError

POLL_S = 1.0
ACK_DEADLINE_S = 30.0
ACTIONS = ("kill", "reset")
FLATTEN_BEFORE_STOP_S = 15.0


# ------------------------------------------------------------------------------------------ files


def write_json_atomic(path: Path, obj) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (a temporary file renamed over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=str))
    os.replace(tmp, path)


def _read_json(path: Path, what: str) -> dict:
    try:
        obj = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: {what} not readable: {exc}") from None
    if not isinstance(obj, dict):
        raise ConfigError(f"{path}: {what}: expected a JSON object")
    return obj


def risk_path(state_dir: Path, coin: str, venue: str, account: str | None) -> Path:
    """The risk state file of ``coin`` traded on ``venue`` by ``account``."""
    return state_dir / f"risk_{venue}_{(account or 'unknown').lower()}_{coin.upper()}.json"


def running_pid(state_dir: Path) -> int | None:
    """The pid of the node running on ``state_dir``, None when none runs (no or a stale pid file)."""
    try:
        pid = int((state_dir / "node.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def queue_command(state_dir: Path, action: str, flatten: bool = False, reason: str = "", coins=None) -> str:
    """Write one command for the node (``botmm kill``); returns its id."""
    if action not in ACTIONS:
        raise ConfigError(f"action: {action!r} is not one of {', '.join(ACTIONS)}")
    cid = f"{time.time_ns()}-{os.getpid()}"
    write_json_atomic(state_dir / "control" / f"{cid}.json",
                      {"action": action, "flatten": bool(flatten), "reason": reason, "coins": coins})
    return cid


def pending_commands(state_dir: Path) -> list[tuple[str, dict]]:
    """The queued commands, oldest first; an unreadable one is answered with its error and dropped."""
    folder = state_dir / "control"
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        cid = path.stem
        try:
            cmd = _read_json(path, "control command")
            if cmd.get("action") not in ACTIONS:
                raise ConfigError(f"{path}: action: {cmd.get('action')!r} is not one of {', '.join(ACTIONS)}")
        except ConfigError as exc:
            answer(state_dir, cid, {"error": str(exc)})
            continue
        out.append((cid, cmd))
    return out


def answer(state_dir: Path, cid: str, result: dict) -> None:
    """The node's answer to command ``cid`` (the command file is removed)."""
    write_json_atomic(state_dir / "control" / "done" / f"{cid}.json", {"id": cid, **result})
    try:
        (state_dir / "control" / f"{cid}.json").unlink()
    except FileNotFoundError:
        pass


def wait_answer(state_dir: Path, cid: str, timeout_s: float) -> dict | None:
    path = state_dir / "control" / "done" / f"{cid}.json"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.is_file():
            return _read_json(path, "control answer")
        time.sleep(0.2)
    return None


def _applies(cmd: dict, coin: str) -> bool:
    coins = cmd.get("coins")
    return not coins or coin.upper() in {str(c).upper() for c in coins}


def _reason(cmd: dict) -> str:
    return f"operator: {cmd.get('reason') or 'botmm kill'}"


# ------------------------------------------------------------------------------------------ start


def restore_state(state_dir: Path, strategies, venue: str, account: str | None, log=print) -> dict[str, str]:
    """Load each coin's snapshot, apply the commands queued while no node ran (through a
    ``RiskManager``: the same rules), and hand the result to the strategies (``risk_restore``).
    Returns coin -> state for the coins not QUOTING (KILLED / HALTED), each also said by ``log``."""
    now = time.time_ns()
    states: dict[str, str] = {}
    managers: dict[str, RiskManager] = {}
    for st in strategies:
        coin = _coin(st)
        rm = managers[coin] = RiskManager(st.config.risk, st.config.capital_usd)
        path = risk_path(state_dir, coin, venue, account)
        if not path.is_file():
            continue
        saved = _read_json(path, "risk state")
        try:
            rm.restore(now, saved.get("risk"))
        except ValueError as exc:
            raise ConfigError(f"{path}: risk.{exc}") from None
    for cid, cmd in pending_commands(state_dir):
        done = {}
        for st in strategies:
            coin = _coin(st)
            if not _applies(cmd, coin):
                continue
            rm = managers[coin]
            if cmd["action"] == "kill":
                rm.kill(now, _reason(cmd), bool(cmd.get("flatten")))
            else:
                rm.reset_kill(now, f"operator reset: {cmd.get('reason') or 'botmm kill --reset'}")
                rm.reset_halt(now, "operator reset")
                rm.rebase(now, "operator reset")
            done[coin] = rm.status()["state"]
        log(f"botmm live: applied the queued {cmd['action']} command {cid} at start: {done}")
        answer(state_dir, cid, {"action": cmd["action"], "applied": "at start", "coins": {c: {"state": v} for c, v in done.items()}})
    for st in strategies:
        coin = _coin(st)
        rm = managers[coin]
        snap = rm.snapshot()
        st.risk_restore = snap
        write_json_atomic(risk_path(state_dir, coin, venue, account), _record(coin, venue, account, snap))
        state = rm.status()["state"]
        if state in ("KILLED", "HALTED"):
            states[coin] = state
            log(f"botmm live: {coin} is {state} ({'; '.join(rm.status()['reasons'])}): it will not quote until "
                f"`botmm kill --reset` (state {risk_path(state_dir, coin, venue, account)})")
    return states


def _coin(strategy) -> str:
    return strategy.config.instrument_id.symbol.value.split("-")[0].upper()


def _record(coin: str, venue: str, account: str | None, snap: dict) -> dict:
    return {"coin": coin, "venue": venue, "account": account, "written_ns": time.time_ns(), "risk": snap}


# ------------------------------------------------------------------------------------------ the actor


@dataclass
class _PendingAck:
    cid: str
    action: str
    deadline: float
    coins: list = field(default_factory=list)


class ControlActor(Actor):
    """Polls ``control/`` every ``POLL_S`` (kill / reset the node's MarketMakers), answers each
    command, and writes each coin's risk snapshot when it changes."""

    def __init__(self, state_dir: Path, strategies, venue: str, account: str | None) -> None:
        super().__init__(ActorConfig(component_id="BotmmControl"))
        self._state_dir = Path(state_dir)
        self._strategies = list(strategies)
        self._account = account
        self._venue = venue
        self._written: dict[str, dict] = {}
        self._acks: list[_PendingAck] = []
        self._applied: set[str] = set()  # a command is applied once; its file goes with the answer

    def on_start(self) -> None:
        self.clock.set_timer("botmm-control", interval=timedelta(seconds=POLL_S), callback=self._on_poll)

    def on_stop(self) -> None:
        self._persist()

    def _on_poll(self, _event) -> None:
        try:
            for cid, cmd in pending_commands(self._state_dir):
                if any(st.core is None for st in self._strategies if _applies(cmd, _coin(st))):
                    continue  # a strategy not started yet: the command waits (it is never dropped)
                if cid not in self._applied:
                    self._applied.add(cid)
                    self._apply(cid, cmd)
            self._answer_due()
            self._persist()
        except Exception as exc:  # noqa: BLE001  (a full disk must not stop the node; it is said loudly)
            self.log.error(f"control: {type(exc).__name__}: {exc}; kill commands and risk state may not be handled")

    def _apply(self, cid: str, cmd: dict) -> None:
        coins = []
        for st in self._strategies:
            coin = _coin(st)
            if not _applies(cmd, coin) or st.core is None:
                continue
            coins.append(coin)
            if cmd["action"] == "kill":
                st.kill(_reason(cmd), bool(cmd.get("flatten")))
            else:
                st.reset_risk(f"operator reset: {cmd.get('reason') or 'botmm kill --reset'}")
        self.log.warning(f"control: {cmd['action']}{' with flatten' if cmd.get('flatten') else ''} "
                         f"({cmd.get('reason') or '-'}) applied to {coins}; answering {cid}")
        self._persist()  # a kill is on disk before the answer
        self._acks.append(_PendingAck(cid, cmd["action"], time.monotonic() + ACK_DEADLINE_S, coins))
        self._answer_due()

    def _answer_due(self) -> None:
        """Answer the commands whose effect has settled (no flatten under way, no open order of
        the coin left in the cache) or whose deadline passed."""
        keep = []
        for ack in self._acks:
            busy = any(st.flatten_active or (ack.action == "kill" and self.cache.orders_open(instrument_id=st.config.instrument_id))
                       for st in self._strategies if _coin(st) in ack.coins)
            if busy and time.monotonic() < ack.deadline:
                keep.append(ack)
                continue
            out = {}
            for st in self._strategies:
                coin = _coin(st)
                if coin not in ack.coins:
                    continue
                iid = st.config.instrument_id
                out[coin] = {
                    "state": st.core.risk.status()["state"],
                    "position": st.venue_position(),
                    "open_orders": len(self.cache.orders_open(instrument_id=iid)),
                    "flatten_orders": len(st.flatten_orders),
                    "flattening": st.flatten_active,
                }
            answer(self._state_dir, ack.cid, {"action": ack.action, "applied": "running", "account": self._account,
                                              "coins": out})
        self._acks = keep

    def _persist(self) -> None:
        for st in self._strategies:
            snap = st.risk_snapshot()
            if snap is None:
                continue
            coin = _coin(st)
            if self._written.get(coin) != snap:
                write_json_atomic(risk_path(self._state_dir, coin, self._venue, self._account),
                                  _record(coin, self._venue, self._account, snap))
                self._written[coin] = snap


def attach_control(node, strategies, state_dir: str | None, venue: str, account: str | None) -> ControlActor | None:
    """Restore the persisted risk state into ``strategies`` and add the control actor to ``node``
    (before it runs). None when ``state_dir`` is null (nothing persisted, no ``botmm kill``)."""
    if not state_dir:
        return None
    folder = Path(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    other = running_pid(folder)
    if other is not None and other != os.getpid():
        raise ConfigError(f"{folder}: state_dir is in use by a running node (pid {other}); one node per state folder")
    restore_state(folder, strategies, venue, account)
    (folder / "node.pid").write_text(f"{os.getpid()}\n")
    actor = ControlActor(folder, strategies, venue, account)
    node.trader.add_actor(actor)
    return actor


def flatten_before_stop(loop, strategies, stop, deadline_s: float = FLATTEN_BEFORE_STOP_S):
    """``stop`` preceded by the flatten of every strategy with ``risk.flatten_on_stop`` (a stopped
    strategy gets no more events, so only its first IOC order could go out in ``on_stop``): the
    node stops once no flatten is under way, or after ``deadline_s`` (what is left is logged by
    the strategy and shows in the summary's positions). A second call while waiting stops at once."""
    state = {"waiting": False}

    def run() -> None:
        if state["waiting"]:
            stop()
            return
        flat = [st for st in strategies if st.config.risk.flatten_on_stop and st.core is not None and st.is_running]
        if not flat:
            stop()
            return
        state["waiting"] = True
        for st in flat:
            st.flatten("flatten_on_stop")
        deadline = time.monotonic() + deadline_s

        def check() -> None:
            if any(st.flatten_active for st in flat) and time.monotonic() < deadline:
                loop.call_later(0.25, check)
            else:
                stop()

        check()

    return run


def detach_control(actor: ControlActor | None) -> None:
    """At exit: the last snapshots are on disk; the pid file goes."""
    if actor is None:
        return
    try:
        actor._persist()
    except Exception:  # noqa: BLE001
        pass
    try:
        (actor._state_dir / "node.pid").unlink()
    except FileNotFoundError:
        pass


# ------------------------------------------------------------------------------------------ CLI


def add_kill_parser(subparsers):
    """Register ``kill`` on the ``botmm`` subparsers; the handler is ``args.func(args)`` -> exit code."""
    p = subparsers.add_parser(
        "kill", help="kill switch of the running live node: cancel everything, optionally flatten, stay KILLED until --reset",
        description="Reaches the live node of --config through its state folder (no network): every coin's "
                    "MarketMaker cancels all orders (the venue's open orders included), flattens with IOC limit "
                    "orders if --flatten, and stays KILLED, across restarts too, until `botmm kill --reset`. "
                    "With no node running the command is queued and applied at the next start.")
    p.add_argument("--config", default="configs/live.yaml", help="live node YAML (its state_dir; default configs/live.yaml)")
    p.add_argument("--flatten", action="store_true", help="also close the positions (IOC limit orders within risk.flatten_max_slippage_bps)")
    p.add_argument("--reason", default="", help="why (logged and kept in the state)")
    p.add_argument("--reset", action="store_true", help="lift a kill or drawdown halt deliberately instead")
    p.add_argument("--coins", nargs="+", help="only these coins (default: all of the node's)")
    p.add_argument("--wait-s", type=float, default=ACK_DEADLINE_S + 5, help="how long to wait for the running node's answer")
    p.set_defaults(func=cmd_kill)
    return p


def cmd_kill(args) -> int:
    from botmm_nautilus.apps import options
    from botmm_nautilus.config.live import load_live_config

    if args.reset and args.flatten:
        raise ConfigError("--reset and --flatten: choose one (a reset lifts the kill; it does not trade)")
    options.positive(args.wait_s, "--wait-s")
    s = load_live_config(args.config if Path(args.config).is_file() or args.config != "configs/live.yaml" else None)
    if not s.state_dir:
        raise ConfigError(f"{args.config}: state_dir: null, so the node has no control folder; set state_dir to use botmm kill")
    folder = Path(s.state_dir)
    action = "reset" if args.reset else "kill"
    cid = queue_command(folder, action, flatten=args.flatten, reason=args.reason,
                        coins=[c.upper() for c in args.coins] if args.coins else None)
    pid = running_pid(folder)
    if pid is None:
        print(f"botmm kill: no node running on {folder} (no live node.pid): the {action} command {cid} is queued "
              "and applied when the node starts")
        return 0
    print(f"botmm kill: {action}{' with flatten' if args.flatten else ''} sent to the node (pid {pid}) via {folder}/control; "
          f"waiting up to {args.wait_s:g} s for its answer", flush=True)
    result = wait_answer(folder, cid, args.wait_s)
    if result is None:
        print(f"error: the node (pid {pid}) did not answer within {args.wait_s:g} s; the command stays queued", file=sys.stderr)
        return 1
    print(json.dumps(result, default=str))
    if result.get("error"):
        print(f"error: the node refused the command: {result['error']}", file=sys.stderr)
        return 1
    coins = sorted(result.get("coins") or {})
    if action != "kill" or not coins or not result.get("account"):
        return 0
    # judged by the venue, not by the node's answer: its open orders and positions for the account
    venue = venue_state(s, result["account"], coins)
    if venue is None:
        return 1
    print(f"botmm kill: the venue ({result['account']}): " + ", ".join(
        f"{c} position {venue[c]['position']}, open orders {venue[c]['open_orders']}" for c in coins))
    bad = {c: v for c, v in venue.items() if v["open_orders"] or (args.flatten and Decimal(v["position"]) != 0)}
    if bad:
        print(f"error: the venue still shows {bad} after the kill; check and close by hand", file=sys.stderr)
        return 1
    return 0


def venue_state(s, account: str, coins: list[str]) -> dict | None:
    """``coin -> {position, open_orders}`` read from the venue's public ``/info`` (clearinghouseState,
    openOrders) for ``account``; None (with an ``error:`` line) when the venue does not answer."""
    import urllib.request

    from botmm_nautilus.apps.live import client_configs

    base = client_configs(s)[1].http_base()

    def info(body: dict):
        req = urllib.request.Request(base + "/info", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    try:
        state = info({"type": "clearinghouseState", "user": account})
        orders = info({"type": "openOrders", "user": account})
    except Exception as exc:  # noqa: BLE001
        print(f"error: could not read the venue's state at {base}: {exc}; check it by hand", file=sys.stderr)
        return None
    held = {(item.get("position") or {}).get("coin"): (item.get("position") or {}).get("szi", "0")
            for item in state.get("assetPositions") or []}
    return {c: {"position": held.get(c, "0"), "open_orders": sum(1 for o in orders if o.get("coin") == c)} for c in coins}
