"""Serving the twin on ``host:port``: :class:`TwinServer` runs it in a background thread with its own event loop.

Tests and tools embed it (``with TwinServer(scenario) as twin: ...``), move a manual clock with
:meth:`TwinServer.advance_to` / :meth:`~TwinServer.advance_by` / :meth:`~TwinServer.step`, and read
the exchange through the accessors (``account_state``, ``open_orders``, ``fills``, ``order``,
``book``, ``ws_subscriptions``, ...). With a running clock a ticker applies the replay every
``tick_interval_ms``. :meth:`TwinServer.restart` stops and starts the sockets with the state kept.

The routes are in ``http_app`` (``/info``, ``/exchange``, admin ``/_twin/*``) and ``ws_hub``
(``/ws``); :func:`~.standalone.serve` runs a server in the foreground (the ``botmm twin`` command).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import threading
import time
from decimal import Decimal
from typing import Any
from typing import Callable

from aiohttp import web

from .clock import TwinClock
from .errors import TwinConfigError
from .exchange import TwinExchange
from .faults import FaultInjector
from .http_app import TwinHttpApp
from .replay import MarketData
from .replay import Scenario
from .replay import load_catalog
from .settings import TwinConfig
from .ws_hub import WsHub

log = logging.getLogger("botmm.twin")


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (127.0.0.0/8, ::1); other hosts are reachable from outside."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


class TwinServer:
    """The twin exchange served on ``host:port`` from a background thread.

    Market source, one of:

    * ``market``: a :class:`~.replay.Scenario` or :class:`~.replay.MarketData` (in-memory events);
    * ``catalog`` + ``coins``: a Nautilus ``ParquetDataCatalog`` folder (``progress`` receives the
      loading steps).

    ``host`` must be a loopback address unless ``allow_remote``: the admin endpoints have no
    authentication.

    ``clock`` defaults to a manual clock for in-memory scenarios (tests move time with
    :meth:`advance_to` / :meth:`advance_by` / :meth:`step`) and to a running clock at ``speed``
    for catalogs. ``rebase`` shifts the data so that its first event happens at the clock's start
    (default: True for catalogs, False for scenarios, whose times are already absolute).
    """

    def __init__(
        self,
        market: Scenario | MarketData | None = None,
        *,
        catalog: str | os.PathLike | None = None,
        coins: list[str] | None = None,
        config: TwinConfig | None = None,
        clock: TwinClock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        speed: float = 1.0,
        rebase: bool | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        tick_interval_ms: int = 20,
        faults: FaultInjector | None = None,
        allow_remote: bool = False,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        if (market is None) == (catalog is None):
            raise ValueError("give exactly one market source: market=Scenario/MarketData or catalog=PATH (with coins)")
        if not allow_remote and not is_loopback_host(host):
            raise TwinConfigError(f"host {host} is not a loopback address and the /_twin/* admin endpoints are "
                                  "unauthenticated; pass allow_remote=True (--allow-remote) to serve on it anyway")
        if catalog is not None:
            if not coins:
                raise ValueError("catalog replay needs coins, e.g. coins=['BTC', 'ETH']")
            data = load_catalog(catalog, coins, start_ns=start_ns, end_ns=end_ns, progress=progress)
            if clock is None:
                clock = TwinClock.running(speed=speed)
            if rebase is None:
                rebase = True
        else:
            data = market.market_data() if isinstance(market, Scenario) else market
            if clock is None:
                clock = TwinClock.manual(market.start_ms if isinstance(market, Scenario) else None)
            if rebase is None:
                rebase = False
        self.clock = clock
        self.faults = faults or FaultInjector()
        self.engine = TwinExchange(
            data, config or TwinConfig(), clock, rebase_to_ms=clock.now_ms() if rebase else None, faults=self.faults
        )
        self.host = host
        self.port = int(port)
        self.tick_interval_ms = tick_interval_ms
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._hub: WsHub | None = None
        self._ticker: asyncio.Task | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._lifecycle_lock = threading.Lock()
        self._drop_callback = self._request_drop
        self.faults.on_drop(self._drop_callback)
        self.engine.advance_to(self.clock.now_ms())

    # ================================================================== lifecycle
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> str:
        """Start serving in a background thread; returns the base URL (``http://127.0.0.1:PORT``)."""
        with self._lifecycle_lock:
            if self.running:
                return self.url
            self._ready.clear()
            self._start_error = None
            self._thread = threading.Thread(target=self._thread_main, name="hl-twin", daemon=True)
            self._thread.start()
            self._ready.wait(timeout=30)
            if self._start_error is not None:
                self._thread.join(timeout=5)
                self._thread = None
                raise RuntimeError(f"twin server failed to start on {self.host}:{self.port}: {self._start_error}")
            if not self._ready.is_set():
                raise RuntimeError("twin server did not start within 30 s")
            return self.url

    def stop(self) -> None:
        """Stop serving (accounts, orders and the market are kept; :meth:`start` resumes on the same port)."""
        with self._lifecycle_lock:
            loop, thread = self._loop, self._thread
            if loop is None or thread is None:
                return
            try:
                asyncio.run_coroutine_threadsafe(self._astop(), loop).result(timeout=15)
            finally:
                loop.call_soon_threadsafe(loop.stop)
                thread.join(timeout=15)
                self._thread = None
                self._loop = None

    def restart(self, down_s: float = 0.0) -> str:
        """Stop, wait ``down_s`` seconds and start again on the same port with all state kept."""
        self.stop()
        if down_s > 0:
            time.sleep(down_s)
        return self.start()

    def close(self) -> None:
        self.stop()
        self.faults.remove_drop_callback(self._drop_callback)

    def __enter__(self) -> "TwinServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._astart())
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self._start_error = exc
            self._ready.set()
            loop.close()
            self._loop = None
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    async def _astart(self) -> None:
        loop = asyncio.get_running_loop()
        self._hub = WsHub(self.engine, self.faults)
        hub = self._hub

        def publish(seq: int, key: tuple, payload: Any) -> None:
            try:
                loop.call_soon_threadsafe(hub.dispatch, seq, key, payload)
            except RuntimeError:  # loop closed while stopping
                pass

        app = TwinHttpApp(self).build(hub)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]
        self.engine.publisher = publish
        if not self.clock.is_manual:
            self._ticker = loop.create_task(self._tick_forever())

    async def _astop(self) -> None:
        self.engine.publisher = None
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        if self._hub is not None:
            await self._hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _tick_forever(self) -> None:
        while True:
            try:
                self.engine.advance_to(self.clock.now_ms())
            except Exception:  # noqa: BLE001 - keep serving; the error is logged
                log.exception("twin replay tick failed")
            await asyncio.sleep(self.tick_interval_ms / 1000.0)

    def _request_drop(self) -> None:
        loop, hub = self._loop, self._hub
        if loop is not None and hub is not None:
            try:
                loop.call_soon_threadsafe(hub.drop_all)
            except RuntimeError:
                pass

    # ================================================================== accessors for tests and tools
    def replay_span_ms(self) -> tuple[int | None, int | None]:
        """Data times (unix ms) of the first and last replayed event (before any rebase)."""
        cursor = self.engine.cursor
        return cursor.first_data_ms, cursor.last_data_ms

    def state_summary(self) -> dict:
        engine = self.engine
        with engine.lock:
            return {
                "now_ms": self.clock.now_ms(),
                "manual_clock": self.clock.is_manual,
                "events_applied": engine.events_applied,
                "events_remaining": engine.cursor.remaining,
                "loops_done": engine.cursor.loops_done,
                "coins": [c.name for c in engine.coins],
                "accounts": {a: {"balance_usd": str(acc.balance_usd),
                                 "open_orders": sum(1 for o in engine.open_orders.values() if o.owner == a)}
                             for a, acc in engine.accounts.items()},
            }

    def create_account(self, address: str, usdc: float | str | Decimal | None = None) -> str:
        """Create (or reset the balance of) an account; returns the lowercase address."""
        return self.engine.create_account(address, usdc).address

    def register_sub_account(self, master: str, sub_account: str, usdc=None) -> str:
        return self.engine.register_sub_account(master, sub_account, usdc).address

    def account_state(self, address: str) -> dict:
        """``clearinghouseState`` of ``address`` (as ``/info`` would answer it now)."""
        with self.engine.lock:
            return self.engine.clearinghouse_state(address)

    def rate_limit(self, address: str) -> dict:
        """``userRateLimit`` of ``address`` (as ``/info`` would answer it now)."""
        with self.engine.lock:
            return self.engine.user_rate_limit(address)

    def set_requests_used(self, address: str, n: int) -> None:
        """Set the address budget ``address`` has used (an account that has sent ``n`` actions)."""
        with self.engine.lock:
            self.engine.accounts[address.lower()].n_requests_used = int(n)

    def open_orders(self, address: str) -> list[dict]:
        """Open orders of ``address`` in ``frontendOpenOrders`` form (newest first)."""
        with self.engine.lock:
            return [self.engine.order_wire(o, frontend=True) for o in self.engine.open_orders_of(address)]

    def fills(self, address: str) -> list[dict]:
        """All fills of ``address``, oldest first."""
        with self.engine.lock:
            return self.engine.fills_of(address)

    def schedule_cancel(self, address: str) -> dict:
        """The dead-man's switch of ``address``: ``{"deadline_ms": venue ms or None (not armed),
        "triggers_today": n, "sets": deadlines accepted so far, "now_ms": the twin's time}``."""
        with self.engine.lock:
            account = self.engine.accounts.get(address.lower())
            now = self.clock.now_ms()
            if account is None:
                return {"deadline_ms": None, "triggers_today": 0, "sets": 0, "now_ms": now}
            return {"deadline_ms": account.schedule_cancel_ms, "triggers_today": account.schedule_cancel_triggers_on(now),
                    "sets": account.schedule_cancel_sets, "now_ms": now}

    def cancel_at_venue(self, address: str, oid_or_cloid: int | str, silent: bool = False) -> bool:
        """Cancel one open order of ``address`` as the venue would on its own (an operator in the
        UI, another session of the account): status ``canceled``. ``silent``: no push at all (the
        node never hears of it, as when a push is lost). False if the order is not open."""
        with self.engine.lock, self._muted(silent):
            order = self.engine.find_order(address, oid_or_cloid)
            if order is None or order.oid not in self.engine.open_orders:
                return False
            self.engine.trading.cancel_order(order, "canceled", self.clock.now_ms())
            return True

    def fill_at_venue(self, address: str, oid_or_cloid: int | str, silent: bool = False) -> dict | None:
        """Fill one open order of ``address`` completely at its limit price, as a market trade would
        (a maker fill). ``silent``: neither the fill nor the order update is pushed. Returns the
        fill record, None if the order is not open."""
        with self.engine.lock, self._muted(silent):
            order = self.engine.find_order(address, oid_or_cloid)
            if order is None or order.oid not in self.engine.open_orders:
                return None
            self.engine.books[order.coin].remove_resting(order)
            sz, order.sz = order.sz, Decimal(0)
            self.engine.trading.book_maker_fill_from_market(order, order.limit_px, sz, self.clock.now_ms())
            return self.engine.fills_of(address)[-1]

    @contextlib.contextmanager
    def _muted(self, silent: bool):
        """No exchange event reaches the WebSocket hub inside (caller holds the engine lock)."""
        publisher = self.engine.publisher
        if silent:
            self.engine.publisher = None
        try:
            yield
        finally:
            if silent:
                self.engine.publisher = publisher

    def order(self, address: str, oid_or_cloid: int | str):
        """The twin's order object (``matching.TwinOrder``) or None."""
        with self.engine.lock:
            return self.engine.find_order(address, oid_or_cloid)

    def queue_ahead(self, address: str, oid_or_cloid: int | str) -> Decimal | None:
        order = self.order(address, oid_or_cloid)
        return None if order is None else order.queue_ahead

    def book(self, coin: str) -> dict:
        with self.engine.lock:
            return self.engine.l2_book_wire(coin, self.clock.now_ms())

    def advance_to(self, ts_ms: int) -> int:
        """Move a manual clock to ``ts_ms`` and apply everything due; returns the new time."""
        if self.clock.is_manual:
            with self.engine.lock:
                if ts_ms > self.clock.now_ms():
                    self.clock.set_ms(ts_ms)
        self.engine.advance_to(ts_ms)
        return self.clock.now_ms()

    def advance_by(self, delta_ms: int) -> int:
        return self.advance_to(self.clock.now_ms() + int(delta_ms))

    def step(self, n_events: int = 1) -> int:
        """Apply the next ``n_events`` replay events (moving a manual clock with them)."""
        return self.engine.step(n_events)

    def drop_ws(self) -> None:
        self.faults.drop_ws()

    def ws_subscriptions(self) -> list[dict]:
        """Subscription objects currently active on open WebSocket connections (as the clients sent them)."""
        loop, hub = self._loop, self._hub
        if loop is None or hub is None:
            return []

        async def collect() -> list[dict]:
            return hub.subscriptions()

        return asyncio.run_coroutine_threadsafe(collect(), loop).result(timeout=5)

    def wait_for_subscription(self, subscription_type: str, timeout_s: float = 5.0) -> dict:
        """Block until a client holds a subscription of ``subscription_type`` (e.g. before an event without snapshot)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for sub in self.ws_subscriptions():
                if sub.get("type") == subscription_type:
                    return sub
            time.sleep(0.01)
        raise TimeoutError(f"no {subscription_type!r} WebSocket subscription within {timeout_s} s")
