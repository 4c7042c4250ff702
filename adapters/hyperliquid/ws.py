"""Hyperliquid WebSocket client: subscriptions, heartbeat, stale-feed detection, reconnects.

* Heartbeat: ``{"method":"ping"}`` every ``heartbeat_s`` (< 60 s: the venue closes a connection
  with no traffic for 60 s); the ``pong`` answer is swallowed.
* Stale feed: no message at all for ``stale_s`` (0 = off) -> the connection is closed and rebuilt.
* Reconnect: exponential backoff from 0.25 s up to ``reconnect_max_s``, then every subscription is
  sent again and ``on_reconnect()`` is called (the data client resyncs its books: the next
  snapshot becomes CLEAR + full book).
* Messages are ``{"channel", "data"}`` JSON; the greeting text frame and acks are ignored.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from typing import Callable

import msgspec
from websockets.asyncio.client import connect

_now_ns = time.time_ns
_decode = msgspec.json.Decoder().decode


class HLWebSocketClient:
    def __init__(
        self,
        url: str,
        on_message: Callable[[str, Any], None],
        *,
        on_reconnect: Callable[[], None] | None = None,
        heartbeat_s: float = 50.0,
        stale_s: float = 0.0,
        reconnect_max_s: float = 10.0,
        log=None,
        name: str = "hl-ws",
    ) -> None:
        self.url = url
        self._on_message = on_message
        self._on_reconnect = on_reconnect
        self.heartbeat_s = heartbeat_s
        self.stale_s = stale_s
        self.reconnect_max_s = reconnect_max_s
        self._log = log
        self._name = name
        self._subs: dict[str, dict] = {}
        self._conn = None
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._connected = asyncio.Event()
        self.last_msg_monotonic = 0.0
        self.frame_ns = 0  # wall-clock ns when the frame being dispatched was taken off the socket
        self.connects = 0
        self.reconnects = 0

    # ------------------------------------------------------------------ public
    @property
    def is_connected(self) -> bool:
        return self._connected.is_set()

    async def start(self, timeout_s: float = 10.0) -> None:
        """Connect (first connection must succeed within ``timeout_s``) and keep the feed alive."""
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self._name)
        try:
            await asyncio.wait_for(self._connected.wait(), timeout_s)
        except asyncio.TimeoutError:
            await self.stop()
            raise ConnectionError(f"WebSocket {self.url} not reachable within {timeout_s:.0f} s") from None

    async def stop(self) -> None:
        self._stopping = True
        if self._conn is not None:
            try:
                await self._conn.close()
            except Exception:  # noqa: BLE001
                pass
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
            self._task = None
        self._connected.clear()

    async def subscribe(self, sub: dict) -> None:
        key = json.dumps(sub, sort_keys=True)
        if key in self._subs:
            return
        self._subs[key] = sub
        await self._send({"method": "subscribe", "subscription": sub})

    async def unsubscribe(self, sub: dict) -> None:
        key = json.dumps(sub, sort_keys=True)
        if self._subs.pop(key, None) is not None:
            await self._send({"method": "unsubscribe", "subscription": sub})

    def force_reconnect(self) -> None:
        """Close the current connection; the run loop reconnects and resubscribes."""
        if self._conn is not None:
            asyncio.ensure_future(self._conn.close())

    # ------------------------------------------------------------------ internals
    def _info(self, msg: str) -> None:
        if self._log is not None:
            self._log.info(msg)

    def _warn(self, msg: str) -> None:
        if self._log is not None:
            self._log.warning(msg)

    async def _send(self, obj: dict) -> None:
        conn = self._conn
        if conn is None or not self._connected.is_set():
            return  # sent on (re)connect
        try:
            await conn.send(json.dumps(obj, separators=(",", ":")))
        except Exception as exc:  # noqa: BLE001 - the run loop notices the dead connection
            self._warn(f"{self._name}: send failed ({exc})")

    async def _run(self) -> None:
        attempt = 0
        while not self._stopping:
            try:
                # compression=None: no permessage-deflate (as the SDK's websocket-client): inflating
                # every book frame costs CPU on the one event loop for bytes that are small anyway
                async with connect(self.url, open_timeout=5, close_timeout=1, ping_interval=None,
                                   max_size=8 * 1024 * 1024, compression=None) as conn:
                    self._conn = conn
                    self.last_msg_monotonic = time.monotonic()
                    for sub in list(self._subs.values()):
                        await conn.send(json.dumps({"method": "subscribe", "subscription": sub}))
                    self._connected.set()
                    self.connects += 1
                    if self.connects > 1:
                        self.reconnects += 1
                        self._info(f"{self._name}: reconnected, {len(self._subs)} subscriptions restored")
                        if self._on_reconnect is not None:
                            self._on_reconnect()
                    attempt = 0
                    aux = asyncio.get_running_loop().create_task(self._keepalive(conn))
                    try:
                        async for frame in conn:
                            self.frame_ns = _now_ns()
                            self.last_msg_monotonic = time.monotonic()
                            self._dispatch(frame)
                    finally:
                        aux.cancel()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure -> reconnect
                if not self._stopping:
                    self._warn(f"{self._name}: connection error {type(exc).__name__}: {exc}")
            self._connected.clear()
            self._conn = None
            if self._stopping:
                break
            delay = min(self.reconnect_max_s, 0.25 * (2 ** attempt))
            attempt += 1
            self._warn(f"{self._name}: disconnected; reconnecting in {delay:.2f}s")
            await asyncio.sleep(delay)

    async def _keepalive(self, conn) -> None:
        last_ping = time.monotonic()
        try:
            while True:
                await asyncio.sleep(0.5)
                now = time.monotonic()
                if now - last_ping >= self.heartbeat_s:
                    last_ping = now
                    await conn.send('{"method":"ping"}')
                if self.stale_s > 0 and now - self.last_msg_monotonic > self.stale_s:
                    self._warn(f"{self._name}: no message for {now - self.last_msg_monotonic:.1f}s; reconnecting")
                    await conn.close()
                    return
        except asyncio.CancelledError:
            pass
        except Exception:  # noqa: BLE001
            pass

    def _dispatch(self, frame) -> None:
        if not frame or frame[0] not in ("{", 123):
            return  # greeting
        try:
            msg = _decode(frame)
        except (msgspec.DecodeError, ValueError):
            return
        channel = msg.get("channel")
        if channel in ("pong", "subscriptionResponse", None):
            return
        if channel == "error":
            self._warn(f"{self._name}: venue error: {msg.get('data')}")
            return
        try:
            self._on_message(channel, msg.get("data"))
        except Exception as exc:  # noqa: BLE001 - never kill the reader
            if self._log is not None:
                self._log.error(f"{self._name}: handler error on {channel}: {type(exc).__name__}: {exc}")
