"""The twin as a standalone process (the ``botmm twin`` command): :func:`serve` over a catalog replay.

Also the parsing of its inputs: the accounts file (:func:`load_accounts_file`) and ISO or
nanosecond times (the project's one time parser, ``botmm_nautilus.times``). Every bad input raises a
one-line user error naming the file or option and what is wrong (``TwinConfigError``; a bad time
``ConfigError``); a missing or empty catalog raises ``CatalogDataError``.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import signal
import threading
import time
from decimal import Decimal
from typing import Callable

from botmm_nautilus.times import parse_time_ns

from .errors import TwinConfigError
from .server import TwinServer
from .server import is_loopback_host
from .settings import TwinConfig
from .wire import is_address


def load_accounts_file(path: str | os.PathLike) -> tuple[dict[str, Decimal], dict[str, list[str]]]:
    """``{"0xaddr": usdc, ...}`` or ``{"accounts": {...}, "subAccounts": {"0xmaster": ["0xsub", ...]}}``.

    Raises ``TwinConfigError`` (a ValueError) naming the file and the bad entry.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise TwinConfigError(f"accounts file {path}: cannot be read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise TwinConfigError(f"accounts file {path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise TwinConfigError(f"accounts file {path}: expected a JSON object of address -> USDC balance")
    accounts_raw = data.get("accounts", data if "subAccounts" not in data else {})
    subs_raw = data.get("subAccounts", {})
    accounts: dict[str, Decimal] = {}
    for address, usdc in accounts_raw.items():
        if not is_address(address):
            raise TwinConfigError(f"accounts file {path}: {address!r} is not a 0x-prefixed 40-hex-digit address")
        amount = _usdc(usdc)
        if amount is None:
            raise TwinConfigError(f"accounts file {path}: balance of {address} must be a number >= 0, got {usdc!r}")
        accounts[address.lower()] = amount
    subs: dict[str, list[str]] = {}
    for master, lst in subs_raw.items():
        if not is_address(master) or not isinstance(lst, list) or not all(is_address(x) for x in lst):
            raise TwinConfigError(f"accounts file {path}: subAccounts must map a master address to a list of addresses")
        subs[master.lower()] = [x.lower() for x in lst]
    return accounts, subs


def _usdc(value) -> Decimal | None:
    """``value`` as a finite USDC amount >= 0, or None."""
    if isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def parse_fund(text: str) -> tuple[str, Decimal]:
    """``ADDRESS=USD`` (the ``--fund`` option) as ``(lowercase address, amount)``; ``TwinConfigError`` otherwise."""
    address, sep, usd = text.partition("=")
    address = address.strip()
    if not sep or not is_address(address):
        raise TwinConfigError(f"--fund {text}: expected ADDRESS=USD with a 0x-prefixed 40-hex-digit address")
    amount = _usdc(usd.strip())
    if amount is None:
        raise TwinConfigError(f"--fund {text}: USD must be a number >= 0, got {usd!r}")
    return address.lower(), amount


def check_host(host: str, allow_remote: bool) -> None:
    """Refuse a non-loopback ``host`` unless ``allow_remote``: the admin endpoints ``/_twin/*`` have no authentication."""
    if not allow_remote and not is_loopback_host(host):
        raise TwinConfigError(
            f"--host {host} is not a loopback address: anyone who can reach it could use the twin's unauthenticated "
            "admin endpoints (/_twin/accounts, /_twin/faults, /_twin/clock ...); pass --allow-remote to serve on it anyway"
        )


def _iso_ms(ts_ms: int | None) -> str:
    if ts_ms is None:
        return "-"
    return _dt.datetime.fromtimestamp(ts_ms / 1000, tz=_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class _LoadProgress:
    """Prints the loading step every ``interval_s`` seconds while a catalog loads (a long load is not silent)."""

    def __init__(self, print_fn: Callable[[str], None], interval_s: float) -> None:
        self.print_fn = print_fn
        self.interval_s = interval_s
        self.step = "opening the catalog"
        self.started = time.monotonic()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="twin-load-progress", daemon=True)

    def __call__(self, step: str) -> None:
        self.step = step

    def __enter__(self) -> "_LoadProgress":
        if self.interval_s > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._done.wait(self.interval_s):
            self.print_fn(f"  still loading ({time.monotonic() - self.started:.0f} s): {self.step}")


def serve(
    catalog: str | os.PathLike,
    coins: list[str],
    host: str = "127.0.0.1",
    port: int = 3001,
    speed: float = 1.0,
    balance: float | str | Decimal = 100_000,
    *,
    accounts_file: str | os.PathLike | None = None,
    fund: dict[str, Decimal] | None = None,
    auto_create_accounts: bool = False,
    allow_remote: bool = False,
    loop: bool = False,
    start: int | str | None = None,
    end: int | str | None = None,
    config: TwinConfig | None = None,
    print_fn: Callable[[str], None] | None = None,
    stop_event: threading.Event | None = None,
    progress_interval_s: float = 5.0,
) -> int:
    """Serve the twin over a catalog replay until interrupted (Ctrl-C / SIGTERM / ``stop_event``).

    Accounts: only known addresses trade. ``fund`` (``--fund ADDRESS=USD``) and ``accounts_file``
    (``--accounts``) create them; ``auto_create_accounts`` (``--auto-account``) gives any key that
    signs an action an account with ``balance`` USDC. Without it a signature that recovers an
    unknown address (a wrong key, a tampered or badly signed action) gets the venue's error
    ``User or API Wallet 0x... does not exist.`` and creates nothing.

    ``host`` must be a loopback address unless ``allow_remote`` (the ``/_twin/*`` admin endpoints
    are unauthenticated). While the catalog loads a line every ``progress_interval_s`` s names the
    step; then ``listening on http://HOST:PORT (replay START .. END, speed X)`` with the data times
    replayed. ``start``/``end`` (ISO time or unix ns) restrict the replayed data; by default the
    replay runs from the first order-book data to the last book or trade data. Returns 0 on a
    clean stop.

    User errors raise ``CatalogDataError`` (catalog missing or without data for the coins) or
    ``TwinConfigError`` (bad accounts file, bad time, host or port not allowed or not available)
    with one clear message.
    """
    if print_fn is None:
        def print_fn(line: str) -> None:  # flushed: the lines matter when stdout is a file or a pipe
            print(line, flush=True)
    if not (math.isfinite(speed) and speed > 0):
        raise TwinConfigError(f"--speed must be > 0, got {speed}")
    starting_balance = _usdc(balance)
    if starting_balance is None:
        raise TwinConfigError(f"--balance must be a number of USDC >= 0, got {balance!r}")
    check_host(host, allow_remote)
    cfg = config or TwinConfig()
    cfg.starting_balance_usd = starting_balance
    cfg.auto_create_accounts = auto_create_accounts
    cfg.loop_replay = loop
    subs: dict[str, list[str]] = {}
    if accounts_file is not None:
        accounts, subs = load_accounts_file(accounts_file)
        cfg.accounts.update(accounts)
    cfg.accounts.update(fund or {})
    start_ns, end_ns = parse_time_ns(start, "--start"), parse_time_ns(end, "--end")
    print_fn(f"Hyperliquid twin: loading {', '.join(c.upper() for c in coins)} from {os.fspath(catalog)} ...")
    loaded = time.monotonic()
    with _LoadProgress(print_fn, progress_interval_s) as progress:
        server = TwinServer(catalog=catalog, coins=[c.upper() for c in coins], config=cfg, host=host, port=port,
                            speed=speed, start_ns=start_ns, end_ns=end_ns, allow_remote=allow_remote,
                            progress=progress)
    for master, lst in subs.items():
        for sub in lst:
            server.register_sub_account(master, sub)
    stop = stop_event or threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        try:
            url = server.start()
        except RuntimeError as exc:
            raise TwinConfigError(f"cannot serve the twin (--host/--port): {exc}") from None
        summary = server.state_summary()
        first_ms, last_ms = server.replay_span_ms()
        print_fn(f"  loaded {summary['events_remaining'] + summary['events_applied']:,} market events "
                 f"in {time.monotonic() - loaded:.1f} s")
        if auto_create_accounts:
            accounts_note = f"any signer gets an account with {balance} USDC (--auto-account)"
        else:
            accounts_note = (f"{len(cfg.accounts)} funded account(s); an unknown signer is refused "
                             "(--fund ADDRESS=USD or --auto-account to add)")
        print_fn(f"  coins {', '.join(summary['coins'])}; {'looping' if loop else 'stops at the end of the data'}; "
                 f"{accounts_note}")
        print_fn("  point the SDK at it: Exchange(wallet, base_url=" + repr(url) + ")  (signs as testnet); "
                 f"WebSocket {server.ws_url}")
        print_fn(f"Hyperliquid twin listening on {url} (replay {_iso_ms(first_ms)} .. {_iso_ms(last_ms)}, speed {speed:g})")
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.close()
    return 0
