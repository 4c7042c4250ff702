"""Hyperliquid WebSocket client: subscriptions, heartbeat, stale-feed detection, reconnects.

* Heartbeat: ``{"method":"ping"}`` every ``heartbeat_s`` (< 60 s: the venue closes a connection
  with no traffic for 60 s). Pong deadline: when nothing at all (the ``pong`` or any other frame)
  arrives within ``pong_timeout_s`` of a ping, the connection is declared dead, closed and
  rebuilt (0 = unchecked).
* Stale feed: no message at all for ``stale_s`` (0 = off) -> the connection is closed and rebuilt.
* Reconnect: exponential backoff from 0.25 s up to ``reconnect_max_s``, then every subscription is
  sent again and ``on_reconnect()`` is called (the data client resyncs its books: the next
  snapshot becomes CLEAR + full book). The backoff only starts over after a connection has lived
  ``stable_s``: a server that accepts and at once closes meets the growing delay, not a reconnect
  every 0.25 s. ``on_disconnect()`` is called when a live connection ends (not on a stop).
* Messages are ``{"channel", "data"}`` JSON; the greeting text frame and acks are ignored. A frame
  that is not JSON, or JSON without a ``channel``, is counted in ``malformed_frames`` and logged
  (the first one, then at most one line per ``_MALFORMED_LOG_EVERY_S`` with the count since).
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
_MALFORMED_LOG_EVERY_S = 10.0
_GREETING = "Websocket connection established."  # the venue's first text frame (not JSON)
_GREETING_BYTES = _GREETING.encode()
_BACKOFF_INITIAL_S = 0.25


class HLWebSocketClient:
    def __init__(
        self,
        url: str,
        on_message: Callable[[str, Any], None],
        *,
        on_reconnect: Callable[[], None] | None = None,
        on_disconnect: Callable[[], None] | None = None,
        heartbeat_s: float = 50.0,
        pong_timeout_s: float = 10.0,
        stale_s: float = 0.0,
        reconnect_max_s: float = 10.0,
        stable_s: float = 30.0,
        log=None,
        name: str = "hl-ws",
    ) -> None:
        self.url = url
        self._on_message = on_message
        self._on_reconnect = on_reconnect
        self._on_disconnect = on_disconnect
        self.heartbeat_s = heartbeat_s
        self.pong_timeout_s = pong_timeout_s
        self.stale_s = stale_s
        self.reconnect_max_s = reconnect_max_s
        self.stable_s = stable_s
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
        self.connect_attempts = 0
        self.pong_timeouts = 0
        self.malformed_frames = 0
        self._malformed_logged_at = -1e18
        self._malformed_unlogged = 0
        self.last_backoff_s = 0.0

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

    async def resubscribe(self, sub: dict) -> None:
        """Unsubscribe and subscribe ``sub`` again on the live connection (the venue answers with a
        fresh snapshot): one silent channel while the others flow."""
        key = json.dumps(sub, sort_keys=True)
        if key not in self._subs:
            return
        await self._send({"method": "unsubscribe", "subscription": sub})
        await self._send({"method": "subscribe", "subscription": sub})

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
            opened_at = None
            try:
                self.connect_attempts += 1
                # compression=None: no permessage-deflate (as the SDK's websocket-client): inflating
                # every book frame costs CPU on the one event loop for bytes that are small anyway
                async with connect(self.url, open_timeout=5, close_timeout=1, ping_interval=None,
                                   max_size=8 * 1024 * 1024, compression=None) as conn:
                    opened_at = time.monotonic()
                    self._conn = conn
                    self.last_msg_monotonic = opened_at
                    for sub in list(self._subs.values()):
                        await conn.send(json.dumps({"method": "subscribe", "subscription": sub}))
                    self._connected.set()
                    self.connects += 1
                    if self.connects > 1:
                        self.reconnects += 1
                        self._info(f"{self._name}: reconnected, {len(self._subs)} subscriptions restored")
                        if self._on_reconnect is not None:
                            self._on_reconnect()
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
            was_connected = self._connected.is_set()
            self._connected.clear()
            self._conn = None
            if self._stopping:
                break
            if was_connected and self._on_disconnect is not None:
                try:
                    self._on_disconnect()
                except Exception as exc:  # noqa: BLE001 - never kill the run loop
                    self._warn(f"{self._name}: on_disconnect failed: {type(exc).__name__}: {exc}")
            if opened_at is not None and time.monotonic() - opened_at >= self.stable_s:
                attempt = 0  # the connection lived a while: start the backoff over
            delay = self.backoff_s(attempt)
            self.last_backoff_s = delay
            attempt += 1
            lived = f" after {time.monotonic() - opened_at:.1f}s" if opened_at is not None else ""
            self._warn(f"{self._name}: disconnected{lived}; reconnecting in {delay:.2f}s")
            await asyncio.sleep(delay)

    def backoff_s(self, attempt: int) -> float:
        """The delay before reconnect number ``attempt`` (0-based since the last stable connection):
        0.25 s doubling up to ``reconnect_max_s``."""
        return min(self.reconnect_max_s, _BACKOFF_INITIAL_S * (2 ** min(attempt, 30)))

    async def _keepalive(self, conn) -> None:
        last_ping = time.monotonic()
        ping_at = None  # when the unanswered ping was sent
        try:
            while True:
                await asyncio.sleep(0.5 if self.heartbeat_s >= 2 else 0.1)
                now = time.monotonic()
                if ping_at is not None:
                    if self.last_msg_monotonic >= ping_at:
                        ping_at = None  # answered (the pong, or any frame: the connection is alive)
                    elif self.pong_timeout_s > 0 and now - ping_at > self.pong_timeout_s:
                        self.pong_timeouts += 1
                        self._warn(f"{self._name}: no pong (nor any message) {now - ping_at:.1f}s after a ping "
                                   f"(deadline {self.pong_timeout_s:g}s); connection declared dead, reconnecting")
                        await conn.close()
                        return
                if now - last_ping >= self.heartbeat_s:
                    last_ping = now
                    if ping_at is None:
                        ping_at = now
                    await conn.send('{"method":"ping"}')
                if self.stale_s > 0 and now - self.last_msg_monotonic > self.stale_s:
                    self._warn(f"{self._name}: no message for {now - self.last_msg_monotonic:.1f}s; reconnecting")
                    await conn.close()
                    return
        except asyncio.CancelledError:
            pass
        except Exception:  # noqa: BLE001
            pass

    def _malformed(self, frame, why: str) -> None:
        """Count a frame that is not a venue message; log it, at most one line per
        ``_MALFORMED_LOG_EVERY_S`` (with the number not logged since)."""
        self.malformed_frames += 1
        now = time.monotonic()
        if now - self._malformed_logged_at < _MALFORMED_LOG_EVERY_S:
            self._malformed_unlogged += 1
            return
        more = f" ({self._malformed_unlogged} more since the last line)" if self._malformed_unlogged else ""
        self._malformed_logged_at = now
        self._malformed_unlogged = 0
        text = frame if isinstance(frame, str) else bytes(frame[:200]).decode("utf-8", "replace")
        self._warn(f"{self._name}: malformed frame dropped ({why}): {text[:200]!r}{more}; "
                   f"{self.malformed_frames} so far; the feed continues")

    def _dispatch(self, frame) -> None:
        if not frame:
            return
        if frame[0] not in ("{", 123):
            if frame == _GREETING or frame == _GREETING_BYTES:
                return
            self._malformed(frame, "not a JSON object")
            return
        try:
            msg = _decode(frame)
        except (msgspec.DecodeError, ValueError) as exc:
            self._malformed(frame, f"invalid JSON: {exc}")
            return
        if msg.__class__ is not dict:
            self._malformed(frame, "not a JSON object")
            return
        channel = msg.get("channel")
        if channel in ("pong", "subscriptionResponse"):
            return
        if channel.__class__ is not str:
            self._malformed(frame, "no channel")
            return
        if channel == "error":
            self._warn(f"{self._name}: venue error: {msg.get('data')}")
            return
        try:
            self._on_message(channel, msg.get("data"))
        except Exception as exc:  # noqa: BLE001 - never kill the reader
            if self._log is not None:
                self._log.error(f"{self._name}: handler error on {channel}: {type(exc).__name__}: {exc}")
