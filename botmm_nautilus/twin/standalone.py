"""The twin as a standalone process (the ``botmm twin`` command): :func:`serve` over a catalog replay.

Also the parsing of its inputs: the accounts file (:func:`load_accounts_file`) and ISO or
nanosecond times (the project's one time parser, ``botmm_nautilus.times``). Every bad input raises a
one-line user error naming the file or option and what is wrong (``TwinConfigError``; a bad time
``ConfigError``); a missing or empty catalog raises ``CatalogDataError``.
"""

from __future__ import annotations

import json
import math
import os
import signal
import threading
from decimal import Decimal
from typing import Callable

from botmm_nautilus.times import parse_time_ns

from .errors import TwinConfigError
from .server import TwinServer
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


def serve(
    catalog: str | os.PathLike,
    coins: list[str],
    host: str = "127.0.0.1",
    port: int = 3001,
    speed: float = 1.0,
    balance: float | str | Decimal = 100_000,
    *,
    accounts_file: str | os.PathLike | None = None,
    auto_create_accounts: bool = True,
    loop: bool = False,
    start: int | str | None = None,
    end: int | str | None = None,
    config: TwinConfig | None = None,
    print_fn: Callable[[str], None] = print,
    stop_event: threading.Event | None = None,
) -> int:
    """Serve the twin over a catalog replay until interrupted (Ctrl-C / SIGTERM / ``stop_event``).

    Prints the base URL. ``auto_create_accounts`` (default on here: paper trading) gives any key
    that signs an action an account with ``balance`` USDC; ``accounts_file`` preloads accounts.
    ``start``/``end`` (ISO time or unix ns) restrict the replayed data. Returns 0 on a clean stop.

    User errors raise ``CatalogDataError`` (catalog missing or without data for the coins) or
    ``TwinConfigError`` (bad accounts file, bad time, port not available) with one clear message.
    """
    if not (math.isfinite(speed) and speed > 0):
        raise TwinConfigError(f"--speed must be > 0, got {speed}")
    starting_balance = _usdc(balance)
    if starting_balance is None:
        raise TwinConfigError(f"--balance must be a number of USDC >= 0, got {balance!r}")
    cfg = config or TwinConfig()
    cfg.starting_balance_usd = starting_balance
    cfg.auto_create_accounts = auto_create_accounts
    cfg.loop_replay = loop
    subs: dict[str, list[str]] = {}
    if accounts_file is not None:
        accounts, subs = load_accounts_file(accounts_file)
        cfg.accounts.update(accounts)
    server = TwinServer(catalog=catalog, coins=[c.upper() for c in coins], config=cfg, host=host, port=port, speed=speed,
                        start_ns=parse_time_ns(start, "--start"), end_ns=parse_time_ns(end, "--end"))
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
        print_fn(f"Hyperliquid twin listening on {url} (WebSocket {server.ws_url})")
        print_fn(
            f"  coins {', '.join(summary['coins'])}; {summary['events_remaining'] + summary['events_applied']} market events; "
            f"speed x{speed}; {'looping' if loop else 'stops at the end of the data'}; starting balance {balance} USDC"
        )
        print_fn("  point the SDK at it: Exchange(wallet, base_url=" + repr(url) + ")  (signs as testnet)")
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.close()
    return 0
