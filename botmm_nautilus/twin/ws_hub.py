"""The twin's WebSocket front (``GET /ws``): connections, subscriptions, snapshots and event routing.

Behaviour, as the venue's: a greeting text frame ``Websocket connection established.``
(``ws_greeting``), ``{"method":"ping"}`` -> ``{"channel":"pong"}``, ``subscribe``/``unsubscribe``
with ``subscriptionResponse`` acks, ``{"channel":"error","data":...}`` for bad requests,
``post`` requests (``info``/``action`` answered on channel ``post`` with the request ``id``), and
the idle timeout (no traffic either way for ``ws_idle_timeout_s`` closes the socket).

A subscription gets its snapshot (where the channel has one) taken under the exchange lock with
the event sequence number of that moment; later events up to that number are skipped, so a
snapshot and the pushes after it neither miss nor repeat an event. Each connection has one
ordered outbound queue written by one task (fault injection can stall it).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from aiohttp import WSMsgType
from aiohttp import web

from .candles import INTERVALS
from .exchange import TwinExchange
from .faults import FaultInjector
from .wire import bad_l2_aggregation
from .wire import is_address

GREETING = "Websocket connection established."
WS_SUBSCRIPTION_TYPES = (
    "allMids", "l2Book", "trades", "bbo", "candle", "activeAssetCtx", "orderUpdates", "userFills", "userEvents",
    "userFundings",
)
_COIN_SUBS = ("l2Book", "trades", "bbo", "candle", "activeAssetCtx")


@dataclass
class Subscription:
    key: str  # canonical JSON of the subscription (duplicate detection, unsubscribe)
    topic: tuple  # exchange event key it listens to
    raw: dict  # the subscription object as the client sent it (echoed in acks)
    params: dict = field(default_factory=dict)
    since_seq: int = 0  # exchange events up to this sequence number are already in the snapshot


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
            if bad_l2_aggregation(n_sig, mantissa):
                raise ValueError(f"Invalid subscription {text}")
            params = {"nSigFigs": n_sig, "mantissa": mantissa}
        elif kind == "candle":
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
    """The connections and their subscriptions; routes exchange events to them (runs on the server loop)."""

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
                book = engine.l2_book_wire(sub.topic[1], now, sub.params["nSigFigs"], sub.params["mantissa"])
                return [{"channel": "l2Book", "data": book}]
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
                fills = engine.user_fills_snapshot(user)
                return [{"channel": "userFills", "data": {"user": user, "isSnapshot": True, "fills": fills}}]
            if kind == "userFundings":
                user = sub.params["user"]
                return [{"channel": "userFundings", "data": {"user": user, "isSnapshot": True,
                                                            "fundings": engine.user_fundings_snapshot(user)}}]
            return []  # orderUpdates, userEvents: no snapshot

    # ---------------------------------------------------------------- dispatch of exchange events
    def dispatch(self, seq: int, key: tuple, payload: Any) -> None:
        entries = self.by_topic.get(key)
        if not entries:
            return
        if self.faults.take_ws_loss(key[0]):
            return  # the lose_ws fault: this push never reaches anyone
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
        """Cut every connection without a close frame (the ``drop_ws`` fault)."""
        for conn in list(self.conns):
            conn.abort()

    async def close_all(self) -> None:
        """Close every connection with code 1001 (the server is stopping)."""
        for conn in list(self.conns):
            conn.closed = True
            try:
                await conn.ws.close(code=1001, message=b"twin stopping")
            except Exception:  # noqa: BLE001
                conn.abort()

    def subscriptions(self) -> list[dict]:
        """Subscription objects held by open connections, as the clients sent them."""
        return [sub.raw for conn in self.conns if not conn.closed for sub in conn.subs.values()]

    # ---------------------------------------------------------------- one connection
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """Serve one WebSocket client until it or the server closes (the ``/ws`` route)."""
        ws = web.WebSocketResponse(autoping=True, max_msg_size=1024 * 1024)
        await ws.prepare(request)
        loop = asyncio.get_running_loop()
        conn = WsConnection(ws, request, loop)
        self.conns.add(conn)
        if self.engine.config.ws_greeting:
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
            self.drop_conn(conn)
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
        idle_s = self.engine.config.ws_idle_timeout_s
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
                # several orderUpdates/userEvents subscriptions on one connection are accepted: the SDK
                # allows one per connection, the venue accepts more (different users), so does the twin
                snapshot = self.snapshot_messages(sub)
                self.add(conn, sub)
                conn.send_json(ack)
                for m in snapshot:
                    conn.send_json(m)
            else:
                existing = conn.subs.get(sub.key)
                if existing is None:
                    shown = json.dumps(raw, separators=(",", ":"))
                    conn.send_json({"channel": "error", "data": f"Already unsubscribed: {shown}"})
                    return
                self.remove(conn, existing)
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
