"""Fault injection for the twin (thread-safe state; the HTTP app, the WebSocket hub and order placement consult it).

Set from tests through ``TwinServer.faults`` (an instance of :class:`FaultInjector`) or over HTTP
with ``POST /_twin/faults`` (see :func:`apply_admin_request` for the JSON keys). Admin endpoints
under ``/_twin/`` are never affected by the faults.

| fault | effect |
|---|---|
| ``drop_ws()`` | every open WebSocket is dropped now (transport aborted, no close frame) |
| ``stall_ws(seconds)`` | no WebSocket message is sent for that long; messages queue and flush after |
| ``delay_http(ms)`` | every HTTP response is delayed by ``ms`` (0 clears) |
| ``refuse_http(n)`` | the next ``n`` HTTP requests get their connection closed without an answer (NOT executed) |
| ``lose_answer(n, path, delay_ms, action)`` | the next ``n`` matching requests ARE executed, but their answer is lost: the connection is closed without an answer. ``delay_ms`` = 0: executed, then closed. ``delay_ms`` > 0: the connection is closed at once and the request is executed ``delay_ms`` later (still in flight at the venue when the client learns of the failure: the case where a lookup right after the failure finds nothing) |
| ``http_error(status, n)`` | the next ``n`` requests answer ``status``: 429 with body ``null`` (the venue's IP limit), other codes with a plain-text reason |
| ``reject_orders(n, error)`` | the next ``n`` orders get ``{"error": error}`` as their status |
| ``refuse_schedule_cancel(on)`` | ``scheduleCancel`` (set or clear) is refused with the venue's volume-gate error (mainnet below $1M traded) until turned off |
| ``lose_ws(channel, n)`` | the next ``n`` pushes on ``channel`` (``orderUpdates``, ``userFills``, ...; ``n`` < 0: all) are lost for every subscriber: the node never sees them |
| restart | ``TwinServer.restart(down_s)`` stops and restarts the server on the same port; state is kept |

Each fault can be scoped to a path (``"/info"``, ``"/exchange"``, ``"/ws"``) where relevant.

Order of the HTTP faults on one request (``http_app``): ``refuse_http``, ``delay_http``,
``http_error`` fire BEFORE processing (the request is not executed: a 5xx or a refused
connection here is a request the venue never saw); ``lose_answer`` is the one fault that fires
AFTER processing (the request is executed, only its answer is lost). A request takes at most one
of them, in that order.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass
class _CountedFault:
    remaining: int
    path: str | None  # None = any path
    status: int = 0
    action: str | None = None  # lose_answer only: the /exchange action type it is limited to (None = any)


class FaultInjector:
    """Pending faults; every method is safe to call from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._http_errors: list[_CountedFault] = []
        self._refusals: list[_CountedFault] = []
        self._lost_answers: list[_CountedFault] = []  # status = delay_ms
        self.answers_lost = 0
        self._order_rejections: list[tuple[int, str]] = []  # [remaining, error]
        self.http_delay_ms = 0
        self._ws_stall_until = 0.0  # time.monotonic()
        self._drop_callbacks: list = []
        self.drops_requested = 0
        self.schedule_cancel_refused = False
        self._ws_losses: dict[str, int] = {}  # channel -> pushes still to lose (< 0: all)
        self.ws_pushes_lost = 0

    # ---------------------------------------------------------------- setters
    def http_error(self, status: int = 429, count: int = 1, path: str | None = None) -> None:
        """Answer the next ``count`` requests (to ``path`` or any) with HTTP ``status``."""
        if not 400 <= status <= 599:
            raise ValueError(f"status must be 4xx or 5xx, got {status}")
        with self._lock:
            self._http_errors.append(_CountedFault(count, path, status))

    def refuse_http(self, count: int = 1, path: str | None = None) -> None:
        """Close the connection of the next ``count`` requests without answering."""
        with self._lock:
            self._refusals.append(_CountedFault(count, path))

    def lose_answer(self, count: int = 1, path: str | None = "/exchange", delay_ms: int = 0,
                    action: str | None = None) -> None:
        """Execute the next ``count`` requests (to ``path`` or any; of ``/exchange`` action type
        ``action`` or any) but lose their answers.

        ``delay_ms`` = 0: the request is executed, then the connection is closed without an
        answer. ``delay_ms`` > 0: the connection is closed at once and the request executed
        ``delay_ms`` later (an action still in flight at the venue when the client gives up)."""
        if count < 1 or delay_ms < 0:
            raise ValueError(f"lose_answer: count must be >= 1 and delay_ms >= 0, got {count}, {delay_ms}")
        with self._lock:
            self._lost_answers.append(_CountedFault(int(count), path, int(delay_ms), action))

    def has_lost_answers(self) -> bool:
        with self._lock:
            return bool(self._lost_answers)

    def delay_http(self, ms: int) -> None:
        """Delay every HTTP response by ``ms`` milliseconds (0 clears)."""
        with self._lock:
            self.http_delay_ms = max(0, int(ms))

    def reject_orders(self, count: int = 1, error: str = "Insufficient margin to place order.") -> None:
        """The next ``count`` orders get ``{"error": error}`` (`` asset=N`` is appended if absent)."""
        with self._lock:
            self._order_rejections.append((count, error))

    def refuse_schedule_cancel(self, on: bool = True) -> None:
        """Refuse every ``scheduleCancel`` with the venue's volume-gate error while ``on``."""
        with self._lock:
            self.schedule_cancel_refused = bool(on)

    def lose_ws(self, channel: str, count: int = 1) -> None:
        """Lose the next ``count`` pushes on ``channel`` (every subscriber; ``count`` < 0: all of them
        until cleared; 0 clears)."""
        with self._lock:
            if count == 0:
                self._ws_losses.pop(channel, None)
            else:
                self._ws_losses[channel] = int(count)

    def stall_ws(self, seconds: float) -> None:
        """Hold all WebSocket pushes for ``seconds`` (they are delivered afterwards, in order)."""
        with self._lock:
            self._ws_stall_until = time.monotonic() + float(seconds)

    def drop_ws(self) -> None:
        """Drop every open WebSocket connection now."""
        with self._lock:
            self.drops_requested += 1
            callbacks = list(self._drop_callbacks)
        for callback in callbacks:
            callback()

    def clear_http_errors(self) -> None:
        """Remove the pending ``http_error`` faults only (the venue answers again; other faults stay)."""
        with self._lock:
            self._http_errors.clear()

    def clear(self) -> None:
        """Remove every pending fault."""
        with self._lock:
            self._http_errors.clear()
            self._refusals.clear()
            self._lost_answers.clear()
            self._order_rejections.clear()
            self.http_delay_ms = 0
            self._ws_stall_until = 0.0
            self.schedule_cancel_refused = False
            self._ws_losses.clear()

    # ---------------------------------------------------------------- consumers (http_app, ws_hub, trading)
    def on_drop(self, callback) -> None:
        with self._lock:
            self._drop_callbacks.append(callback)

    def remove_drop_callback(self, callback) -> None:
        with self._lock:
            if callback in self._drop_callbacks:
                self._drop_callbacks.remove(callback)

    def _take(self, queue: list[_CountedFault], path: str) -> _CountedFault | None:
        for fault in queue:
            if fault.path is None or fault.path == path:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.remove(fault)
                return fault
        return None

    def take_http_error(self, path: str) -> int | None:
        with self._lock:
            fault = self._take(self._http_errors, path)
            return fault.status if fault else None

    def take_refusal(self, path: str) -> bool:
        with self._lock:
            return self._take(self._refusals, path) is not None

    def take_lost_answer(self, path: str, action: str | None = None) -> int | None:
        """The execution delay (ms) if this request's answer is to be lost, else None."""
        with self._lock:
            for fault in self._lost_answers:
                if (fault.path is None or fault.path == path) and (fault.action is None or fault.action == action):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._lost_answers.remove(fault)
                    self.answers_lost += 1
                    return fault.status
            return None

    def take_order_rejection(self) -> str | None:
        with self._lock:
            if not self._order_rejections:
                return None
            count, error = self._order_rejections[0]
            if count <= 1:
                self._order_rejections.pop(0)
            else:
                self._order_rejections[0] = (count - 1, error)
            return error

    def take_ws_loss(self, channel: str) -> bool:
        """True if this push on ``channel`` is to be lost (counts it)."""
        if not self._ws_losses:  # the common case, without the lock (a dict read is atomic)
            return False
        with self._lock:
            left = self._ws_losses.get(channel)
            if left is None:
                return False
            if left > 0:
                if left == 1:
                    del self._ws_losses[channel]
                else:
                    self._ws_losses[channel] = left - 1
            self.ws_pushes_lost += 1
            return True

    def ws_stall_remaining_s(self) -> float:
        with self._lock:
            return max(0.0, self._ws_stall_until - time.monotonic())


def apply_admin_request(faults: FaultInjector, body: dict) -> list[str]:
    """Apply a ``POST /_twin/faults`` body; returns what was applied.

    Keys: ``clear`` (bool), ``drop_ws`` (bool), ``stall_ws_s`` (number), ``delay_http_ms`` (int),
    ``refuse_http`` (int or ``{"count", "path"}``), ``http_error`` (``{"status", "count", "path"}``),
    ``reject_orders`` (``{"count", "error"}``), ``refuse_schedule_cancel`` (bool), ``lose_ws``
    (``{"channel", "count"}``), ``lose_answer`` (``{"count", "path", "delay_ms", "action"}``; path
    defaults to ``/exchange``, action (an ``/exchange`` action type) to any).
    """
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    known = {"clear", "drop_ws", "stall_ws_s", "delay_http_ms", "refuse_http", "http_error", "reject_orders",
             "refuse_schedule_cancel", "lose_ws", "lose_answer"}
    unknown = sorted(set(body) - known)
    if unknown:
        raise ValueError(f"unknown fault keys {unknown}; allowed: {sorted(known)}")
    applied: list[str] = []
    if body.get("clear"):
        faults.clear()
        applied.append("clear")
    if "delay_http_ms" in body:
        faults.delay_http(int(body["delay_http_ms"]))
        applied.append("delay_http_ms")
    if "refuse_http" in body:
        spec = body["refuse_http"]
        if isinstance(spec, dict):
            faults.refuse_http(int(spec.get("count", 1)), spec.get("path"))
        else:
            faults.refuse_http(int(spec))
        applied.append("refuse_http")
    if "http_error" in body:
        spec = body["http_error"]
        faults.http_error(int(spec.get("status", 429)), int(spec.get("count", 1)), spec.get("path"))
        applied.append("http_error")
    if "lose_answer" in body:
        spec = body["lose_answer"]
        if isinstance(spec, dict):
            faults.lose_answer(int(spec.get("count", 1)), spec.get("path", "/exchange"), int(spec.get("delay_ms", 0)),
                               spec.get("action"))
        else:
            faults.lose_answer(int(spec))
        applied.append("lose_answer")
    if "reject_orders" in body:
        spec = body["reject_orders"]
        faults.reject_orders(int(spec.get("count", 1)), str(spec.get("error", "Insufficient margin to place order.")))
        applied.append("reject_orders")
    if "refuse_schedule_cancel" in body:
        if not isinstance(body["refuse_schedule_cancel"], bool):
            raise ValueError("refuse_schedule_cancel must be true or false")
        faults.refuse_schedule_cancel(body["refuse_schedule_cancel"])
        applied.append("refuse_schedule_cancel")
    if "lose_ws" in body:
        spec = body["lose_ws"]
        if not isinstance(spec, dict) or not isinstance(spec.get("channel"), str):
            raise ValueError('lose_ws must be {"channel": "<channel>", "count": n}')
        faults.lose_ws(spec["channel"], int(spec.get("count", 1)))
        applied.append("lose_ws")
    if "stall_ws_s" in body:
        faults.stall_ws(float(body["stall_ws_s"]))
        applied.append("stall_ws_s")
    if body.get("drop_ws"):
        faults.drop_ws()
        applied.append("drop_ws")
    return applied
