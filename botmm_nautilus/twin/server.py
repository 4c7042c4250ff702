"""HTTP + WebSocket front of the twin (aiohttp): ``POST /info``, ``POST /exchange``, ``GET /ws``.

:class:`TwinServer` runs the app in a background thread with its own event loop (tests, embedding)
and :func:`serve` runs it in the foreground until interrupted (the ``botmm twin`` command).

Admin endpoints (twin only, never affected by faults):

* ``POST /_twin/faults`` - fault injection, see :mod:`.faults`;
* ``POST /_twin/accounts`` ``{"address": "0x..", "usdc": 1000}`` - create or fund an account;
  ``{"master": "0x..", "subAccount": "0x.."}`` registers a vault/sub-account;
* ``POST /_twin/clock`` ``{"advance_ms": n}`` or ``{"set_ms": t}`` - move a manual clock (and the market);
* ``POST /_twin/step`` ``{"n": k}`` - apply the next k replay events;
* ``POST /_twin/restart`` ``{"down_s": 0.5}`` - stop and restart the server on the same port, state kept;
* ``GET /_twin/state`` - clock, replay progress, accounts and open-order counts.

WebSocket behaviour (PROTOCOL section 6): greeting text frame ``Websocket connection established.``
(configurable), ``{"method":"ping"}`` -> ``{"channel":"pong"}``, ``subscribe``/``unsubscribe`` with
``subscriptionResponse`` acks, ``{"channel":"error","data":...}`` for bad requests, optional
``post`` requests, and the idle timeout (no traffic either way for ``ws_idle_timeout_s`` closes).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal
from typing import Any
from typing import Callable

from aiohttp import WSMsgType
from aiohttp import web

from .clock import TwinClock
from .errors import TwinConfigError
from .exchange import TwinExchange
from .faults import FaultInjector
from .faults import apply_admin_request
from .replay import MarketData
from .replay import Scenario
from .replay import load_catalog
from .settings import TwinConfig
from .wire import is_address

log = logging.getLogger("botmm.twin")

GREETING = "Websocket connection established."
WS_SUBSCRIPTION_TYPES = (
    "allMids", "l2Book", "trades", "bbo", "candle", "activeAssetCtx", "orderUpdates", "userFills", "userEvents",
    "userFundings",
)
_COIN_SUBS = ("l2Book", "trades", "bbo", "candle", "activeAssetCtx")
_USER_SUBS = ("orderUpdates", "userFills", "userEvents", "userFundings")


# ========================================================================================= WebSocket hub


@dataclass
class Subscription:
    key: str  # canonical JSON of the subscription (duplicate detection, unsubscribe)
    topic: tuple  # engine event key it listens to
    raw: dict  # the subscription object as the client sent it (echoed in acks)
    params: dict = field(default_factory=dict)
    since_seq: int = 0  # engine events up to this sequence number are already in the snapshot


def parse_subscription(raw: Any, coins: set[str]) -> Subscription:
    """Validate a subscription object; raises ValueError with the venue-style error text."""
    text = json.dumps(raw, separators=(",", ":"))
    if not isinstance(raw, dict) or raw.get("type") not in WS_SUBSCRIPTION_TYPES:
        raise ValueError(f"Invalid subscription {text}")
    kind = raw["type"]
    params: dict = {}
    if kind == "allMids":
        topic: tuple = ("allMids",)
        if raw.get("dex") not in (None, ""):
            raise ValueError(f"Invalid subscription {text}")
    elif kind in _COIN_SUBS:
        coin = raw.get("coin")
        if not isinstance(coin, str) or coin not in coins:
            raise ValueError(f"Invalid subscription {text}")
        topic = (kind, coin)
        if kind == "l2Book":
            n_sig = raw.get("nSigFigs")
            mantissa = raw.get("mantissa")
            if n_sig is not None and (not isinstance(n_sig, int) or not 2 <= n_sig <= 5):
                raise ValueError(f"Invalid subscription {text}")
            if mantissa is not None and (mantissa not in (1, 2, 5) or n_sig != 5):
                raise ValueError(f"Invalid subscription {text}")
            params = {"nSigFigs": n_sig, "mantissa": mantissa}
        elif kind == "candle":
            from .candles import INTERVALS

            interval = raw.get("interval")
            if interval not in INTERVALS:
                raise ValueError(f"Invalid subscription {text}")
            params = {"interval": interval}
    else:
        user = raw.get("user")
        if not is_address(user):
            raise ValueError(f"Invalid subscription {text}")
        user = user.lower()
        topic = ("user" if kind == "userEvents" else kind, user)
        params = {"user": user}
    canonical = {k: (v.lower() if k == "user" and isinstance(v, str) else v) for k, v in raw.items() if v is not None}
    return Subscription(json.dumps(canonical, sort_keys=True), topic, raw, params)


class WsConnection:
    """One client socket: its subscriptions and an ordered outbound queue."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, loop: asyncio.AbstractEventLoop) -> None:
        self.ws = ws
        self.transport = request.transport
        self.subs: dict[str, Subscription] = {}
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.last_activity = loop.time()
        self.closed = False

    def send(self, text: str) -> None:
        if not self.closed:
            self.queue.put_nowait(text)

    def send_json(self, obj: Any) -> None:
        self.send(json.dumps(obj, separators=(",", ":")))

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class WsHub:
    """Routes engine events to subscribed connections (runs on the server loop)."""

    def __init__(self, engine: TwinExchange, faults: FaultInjector) -> None:
        self.engine = engine
        self.faults = faults
        self.conns: set[WsConnection] = set()
        self.by_topic: dict[tuple, list[tuple[WsConnection, Subscription]]] = {}

    # ---------------------------------------------------------------- subscription bookkeeping
    def add(self, conn: WsConnection, sub: Subscription) -> None:
        conn.subs[sub.key] = sub
        self.by_topic.setdefault(sub.topic, []).append((conn, sub))

    def remove(self, conn: WsConnection, sub: Subscription) -> None:
        conn.subs.pop(sub.key, None)
        entries = self.by_topic.get(sub.topic, [])
        self.by_topic[sub.topic] = [(c, s) for c, s in entries if not (c is conn and s is sub)]

    def drop_conn(self, conn: WsConnection) -> None:
        for sub in list(conn.subs.values()):
            self.remove(conn, sub)
        self.conns.discard(conn)

    # ---------------------------------------------------------------- snapshots on subscribe
    def snapshot_messages(self, sub: Subscription) -> list[dict]:
        engine = self.engine
        kind = sub.raw["type"]
        with engine.lock:
            sub.since_seq = engine.emit_seq
            now = engine.now_ms()
            if kind == "allMids":
                return [{"channel": "allMids", "data": {"mids": engine.all_mids()}}]
            if kind == "l2Book":
                coin = sub.topic[1]
                return [{"channel": "l2Book", "data": engine.l2_book_wire(coin, now, sub.params["nSigFigs"], sub.params["mantissa"])}]
            if kind == "bbo":
                return [{"channel": "bbo", "data": engine.bbo_wire(sub.topic[1], now)}]
            if kind == "candle":
                candle = engine.candle_wire(sub.topic[1], sub.params["interval"], now)
                return [{"channel": "candle", "data": candle}] if candle else []
            if kind == "activeAssetCtx":
                return [{"channel": "activeAssetCtx", "data": engine.active_asset_ctx_wire(sub.topic[1], now)}]
            if kind == "trades":
                if engine.config.trades_snapshot_on_subscribe:
                    trades = engine.recent_trades_snapshot(sub.topic[1])
                    return [{"channel": "trades", "data": trades}] if trades else []
                return []
            if kind == "userFills":
                user = sub.params["user"]
                return [{"channel": "userFills", "data": {"user": user, "isSnapshot": True, "fills": engine.user_fills_snapshot(user)}}]
            if kind == "userFundings":
                user = sub.params["user"]
                return [{"channel": "userFundings", "data": {"user": user, "isSnapshot": True,
                                                            "fundings": engine.user_fundings_snapshot(user)}}]
            return []  # orderUpdates, userEvents: no snapshot

    # ---------------------------------------------------------------- dispatch of engine events
    def dispatch(self, seq: int, key: tuple, payload: Any) -> None:
        entries = self.by_topic.get(key)
        if not entries:
            return
        cache: dict[str, str | None] = {}
        for conn, sub in list(entries):
            if seq <= sub.since_seq or conn.closed:
                continue
            cache_key = json.dumps(sub.params, sort_keys=True)
            if cache_key not in cache:
                msg = self._message(key, payload, sub)
                cache[cache_key] = None if msg is None else json.dumps(msg, separators=(",", ":"))
            text = cache[cache_key]
            if text is not None:
                conn.send(text)

    def _message(self, key: tuple, payload: Any, sub: Subscription) -> dict | None:
        channel = key[0]
        engine = self.engine
        if channel == "l2Book":
            if sub.params.get("nSigFigs") is None:
                return {"channel": "l2Book", "data": payload}
            with engine.lock:  # aggregated views are built from the book as it is now
                data = engine.l2_book_wire(key[1], payload["time"], sub.params["nSigFigs"], sub.params.get("mantissa"))
            return {"channel": "l2Book", "data": data}
        if channel == "candle":
            data = engine.candle_wire(key[1], sub.params["interval"], payload)
            return {"channel": "candle", "data": data} if data else None
        if channel == "userFills":
            return {"channel": "userFills", "data": {"user": key[1], "isSnapshot": False, "fills": payload}}
        if channel == "userFundings":
            return {"channel": "userFundings", "data": {"user": key[1], "isSnapshot": False, "fundings": payload}}
        return {"channel": channel, "data": payload}

    def drop_all(self) -> None:
        for conn in list(self.conns):
            conn.abort()


# ========================================================================================= server


def _json_response(status: int, body: Any) -> web.Response:
    if status == 422 and isinstance(body, str):
        return web.Response(status=422, text=body, content_type="text/plain")
    return web.Response(status=status, text=json.dumps(body, separators=(",", ":")), content_type="application/json")


class TwinServer:
    """The twin exchange served on ``host:port`` from a background thread.

    Market source, one of:

    * ``market``: a :class:`~.replay.Scenario` or :class:`~.replay.MarketData` (in-memory events);
    * ``catalog`` + ``coins``: a Nautilus ``ParquetDataCatalog`` folder.

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
    ) -> None:
        if (market is None) == (catalog is None):
            raise ValueError("give exactly one market source: market=Scenario/MarketData or catalog=PATH (with coins)")
        if catalog is not None:
            if not coins:
                raise ValueError("catalog replay needs coins, e.g. coins=['BTC', 'ETH']")
            data = load_catalog(catalog, coins, start_ns=start_ns, end_ns=end_ns)
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
        self.config = self.engine.config
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

        app = web.Application(middlewares=[self._fault_middleware], client_max_size=8 * 1024 * 1024)
        app.router.add_post("/info", self._handle_info)
        app.router.add_post("/exchange", self._handle_exchange)
        app.router.add_get("/ws", self._handle_ws)
        app.router.add_post("/_twin/faults", self._admin_faults)
        app.router.add_post("/_twin/accounts", self._admin_accounts)
        app.router.add_post("/_twin/clock", self._admin_clock)
        app.router.add_post("/_twin/step", self._admin_step)
        app.router.add_post("/_twin/restart", self._admin_restart)
        app.router.add_get("/_twin/state", self._admin_state)
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
            for conn in list(self._hub.conns):
                conn.closed = True
                try:
                    await conn.ws.close(code=1001, message=b"twin stopping")
                except Exception:  # noqa: BLE001
                    conn.abort()
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

    # ================================================================== HTTP
    @web.middleware
    async def _fault_middleware(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        if request.path.startswith("/_twin/"):
            return await handler(request)
        faults = self.faults
        if faults.take_refusal(request.path):
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError()
        if faults.http_delay_ms > 0:
            await asyncio.sleep(faults.http_delay_ms / 1000.0)
        status = faults.take_http_error(request.path)
        if status is not None:
            if status == 429:
                return web.Response(status=429, text="null", content_type="application/json")
            reason = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
            return web.Response(status=status, text=reason.get(status, f"HTTP {status}"), content_type="text/plain")
        return await handler(request)

    @staticmethod
    async def _read_json(request: web.Request) -> tuple[bool, Any]:
        raw = await request.read()
        try:
            return True, json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            return False, f"Failed to deserialize the JSON body into the target type: {exc}"

    def _client_ip(self, request: web.Request) -> str:
        return request.remote or "127.0.0.1"

    async def _handle_info(self, request: web.Request) -> web.Response:
        ok, body = await self._read_json(request)
        if not ok:
            return _json_response(422, body)
        status, result = self.engine.handle_info(body, self._client_ip(request))
        return _json_response(status, result)

    async def _handle_exchange(self, request: web.Request) -> web.Response:
        ok, body = await self._read_json(request)
        if not ok:
            return _json_response(422, body)
        status, result = self.engine.handle_exchange(body, self._client_ip(request))
        return _json_response(status, result)

    # ================================================================== WebSocket
    async def _handle_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=1024 * 1024)
        await ws.prepare(request)
        loop = asyncio.get_running_loop()
        hub = self._hub
        assert hub is not None
        conn = WsConnection(ws, request, loop)
        hub.conns.add(conn)
        if self.config.ws_greeting:
            conn.send(GREETING)
        writer = loop.create_task(self._ws_writer(conn))
        watchdog = loop.create_task(self._ws_watchdog(conn))
        try:
            async for msg in ws:
                conn.last_activity = loop.time()
                if msg.type == WSMsgType.TEXT:
                    self._ws_on_text(conn, msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            conn.closed = True
            hub.drop_conn(conn)
            writer.cancel()
            watchdog.cancel()
        return ws

    async def _ws_writer(self, conn: WsConnection) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                text = await conn.queue.get()
                while (stall := self.faults.ws_stall_remaining_s()) > 0:
                    await asyncio.sleep(stall)
                if conn.closed or conn.ws.closed:
                    return
                await conn.ws.send_str(text)
                conn.last_activity = loop.time()
        except (ConnectionResetError, RuntimeError, asyncio.CancelledError):
            return

    async def _ws_watchdog(self, conn: WsConnection) -> None:
        loop = asyncio.get_running_loop()
        idle_s = self.config.ws_idle_timeout_s
        try:
            while not conn.closed:
                await asyncio.sleep(min(1.0, idle_s / 4))
                if loop.time() - conn.last_activity > idle_s and conn.queue.empty():
                    conn.closed = True
                    await conn.ws.close(code=1000, message=b"idle timeout")
                    return
        except asyncio.CancelledError:
            return

    def _ws_on_text(self, conn: WsConnection, text: str) -> None:
        hub = self._hub
        assert hub is not None
        try:
            msg = json.loads(text)
        except ValueError:
            conn.send_json({"channel": "error", "data": f"Error parsing JSON into valid websocket request: {text}"})
            return
        method = msg.get("method") if isinstance(msg, dict) else None
        if method == "ping":
            conn.send_json({"channel": "pong"})
            return
        if method in ("subscribe", "unsubscribe"):
            raw = msg.get("subscription")
            try:
                sub = parse_subscription(raw, set(self.engine.books))
            except ValueError as exc:
                conn.send_json({"channel": "error", "data": str(exc)})
                return
            ack = {"channel": "subscriptionResponse", "data": {"method": method, "subscription": raw}}
            if method == "subscribe":
                if sub.key in conn.subs:
                    conn.send_json({"channel": "error", "data": f"Already subscribed: {json.dumps(raw, separators=(',', ':'))}"})
                    return
                if sub.topic[0] in ("orderUpdates", "user") and any(s.topic[0] == sub.topic[0] for s in conn.subs.values()):
                    # the SDK allows one per connection; the venue accepts more (different users): so do we
                    pass
                snapshot = hub.snapshot_messages(sub)
                hub.add(conn, sub)
                conn.send_json(ack)
                for m in snapshot:
                    conn.send_json(m)
            else:
                existing = conn.subs.get(sub.key)
                if existing is None:
                    conn.send_json({"channel": "error", "data": f"Already unsubscribed: {json.dumps(raw, separators=(',', ':'))}"})
                    return
                hub.remove(conn, existing)
                conn.send_json(ack)
            return
        if method == "post":
            self._ws_post(conn, msg)
            return
        conn.send_json({"channel": "error", "data": f"Error parsing JSON into valid websocket request: {text}"})

    def _ws_post(self, conn: WsConnection, msg: dict) -> None:
        req_id = msg.get("id")
        request = msg.get("request")
        if not isinstance(req_id, int) or not isinstance(request, dict) or request.get("type") not in ("info", "action"):
            conn.send_json({"channel": "error", "data": f"Error parsing JSON into valid websocket request: {json.dumps(msg)}"})
            return
        payload = request.get("payload")
        if request["type"] == "info":
            status, result = self.engine.handle_info(payload)
            if status == 200:
                response = {"type": "info", "payload": {"type": (payload or {}).get("type"), "data": result}}
            else:
                response = {"type": "error", "payload": result if isinstance(result, str) else json.dumps(result)}
        else:
            status, result = self.engine.handle_exchange(payload)
            if status == 200:
                response = {"type": "action", "payload": result}
            else:
                response = {"type": "error", "payload": result if isinstance(result, str) else json.dumps(result)}
        conn.send_json({"channel": "post", "data": {"id": req_id, "response": response}})

    # ================================================================== admin
    async def _admin_faults(self, request: web.Request) -> web.Response:
        ok, body = await self._read_json(request)
        try:
            if not ok:
                raise ValueError(body)
            applied = apply_admin_request(self.faults, body)
        except (ValueError, TypeError, AttributeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"applied": applied})

    async def _admin_accounts(self, request: web.Request) -> web.Response:
        ok, body = await self._read_json(request)
        try:
            if not ok or not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            if "subAccount" in body:
                self.engine.register_sub_account(body["master"], body["subAccount"], body.get("usdc"))
                address = body["subAccount"].lower()
            else:
                address = self.engine.create_account(body["address"], body.get("usdc")).address
        except (KeyError, ValueError, TypeError, ArithmeticError) as exc:
            return web.json_response({"error": f"bad account request: {exc}"}, status=400)
        return web.json_response({"address": address, "state": self.engine.clearinghouse_state(address)})

    async def _admin_clock(self, request: web.Request) -> web.Response:
        ok, body = await self._read_json(request)
        try:
            if not ok or not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            if "advance_ms" in body:
                now = self.advance_by(int(body["advance_ms"]))
            elif "set_ms" in body:
                now = self.advance_to(int(body["set_ms"]))
            else:
                raise ValueError("give advance_ms or set_ms")
        except (ValueError, RuntimeError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"now_ms": now})

    async def _admin_step(self, request: web.Request) -> web.Response:
        ok, body = await self._read_json(request)
        n = int(body.get("n", 1)) if ok and isinstance(body, dict) else 1
        return web.json_response({"now_ms": self.step(n)})

    async def _admin_restart(self, request: web.Request) -> web.Response:
        ok, body = await self._read_json(request)
        down_s = float(body.get("down_s", 0.0)) if ok and isinstance(body, dict) else 0.0
        threading.Thread(target=self._delayed_restart, args=(down_s,), daemon=True).start()
        return web.json_response({"restarting": True, "down_s": down_s})

    def _delayed_restart(self, down_s: float) -> None:
        time.sleep(0.05)  # let the admin response go out
        self.restart(down_s)

    async def _admin_state(self, request: web.Request) -> web.Response:
        return web.json_response(self.state_summary())

    # ================================================================== accessors for tests and tools
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

    def open_orders(self, address: str) -> list[dict]:
        """Open orders of ``address`` in ``frontendOpenOrders`` form (newest first)."""
        with self.engine.lock:
            return [self.engine.order_wire(o, frontend=True) for o in self.engine.open_orders_of(address)]

    def fills(self, address: str) -> list[dict]:
        """All fills of ``address``, oldest first."""
        with self.engine.lock:
            return self.engine.fills_of(address)

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
            return [sub.raw for conn in hub.conns if not conn.closed for sub in conn.subs.values()]

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


# ========================================================================================= CLI entry


def load_accounts_file(path: str | os.PathLike) -> tuple[dict[str, Decimal], dict[str, list[str]]]:
    """``{"0xaddr": usdc, ...}`` or ``{"accounts": {...}, "subAccounts": {"0xmaster": ["0xsub", ...]}}``.

    Raises ``TwinConfigError`` (a ValueError) naming the file and the bad entry.
    """
    with open(path, encoding="utf-8") as fh:
        try:
            data = json.load(fh)
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
        try:
            accounts[address.lower()] = Decimal(str(usdc))
        except ArithmeticError:
            raise TwinConfigError(f"accounts file {path}: balance of {address} must be a number, got {usdc!r}") from None
    subs: dict[str, list[str]] = {}
    for master, lst in subs_raw.items():
        if not is_address(master) or not isinstance(lst, list) or not all(is_address(x) for x in lst):
            raise TwinConfigError(f"accounts file {path}: subAccounts must map a master address to a list of addresses")
        subs[master.lower()] = [x.lower() for x in lst]
    return accounts, subs


def to_ns(value: int | str | None, name: str) -> int | None:
    """``None``, nanoseconds, or an ISO time (``2025-01-01T00:00:00Z``) as unix nanoseconds."""
    if value is None or isinstance(value, int):
        return value
    import pandas as pd

    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise TwinConfigError(f"{name}: {value!r} is not an ISO time such as 2025-01-01T00:00:00Z") from None
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return int(ts.value)


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
    if speed <= 0:
        raise TwinConfigError(f"--speed must be > 0, got {speed}")
    cfg = config or TwinConfig()
    cfg.starting_balance_usd = Decimal(str(balance))
    cfg.auto_create_accounts = auto_create_accounts
    cfg.loop_replay = loop
    subs: dict[str, list[str]] = {}
    if accounts_file is not None:
        accounts, subs = load_accounts_file(accounts_file)
        cfg.accounts.update(accounts)
    server = TwinServer(catalog=catalog, coins=[c.upper() for c in coins], config=cfg, host=host, port=port, speed=speed,
                        start_ns=to_ns(start, "--start"), end_ns=to_ns(end, "--end"))
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
