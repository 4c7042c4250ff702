"""The twin's aiohttp application: routes, fault middleware, ``/info``, ``/exchange`` and the admin endpoints.

``POST /info`` and ``POST /exchange`` hand the parsed JSON body to the exchange and answer its
``(status, body)``: JSON, except a 422 (plain text, the venue's deserializer message) and a 429
(``null``). ``GET /ws`` is the WebSocket hub (``ws_hub``). Faults (``faults``) act on these routes:
``refuse_http``, ``delay_http`` and ``http_error`` fire BEFORE processing (the request is never
executed), ``lose_answer`` AFTER it (executed, answer lost; see :mod:`.faults`).

Admin endpoints (twin only, never affected by faults):

* ``POST /_twin/faults`` - fault injection, see :mod:`.faults`;
* ``POST /_twin/accounts`` ``{"address": "0x..", "usdc": 1000}`` - create or fund an account;
  ``{"master": "0x..", "subAccount": "0x.."}`` registers a vault/sub-account;
* ``POST /_twin/clock`` ``{"advance_ms": n}`` or ``{"set_ms": t}`` - move a manual clock (and the market);
* ``POST /_twin/step`` ``{"n": k}`` - apply the next k replay events;
* ``POST /_twin/restart`` ``{"down_s": 0.5}`` - stop and restart the server on the same port, state kept;
* ``GET /_twin/state`` - clock, replay progress, accounts and open-order counts.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import TYPE_CHECKING
from typing import Any
from typing import Callable

from aiohttp import web

from .faults import apply_admin_request
from .wire import DESERIALIZE_PREFIX
from .ws_hub import WsHub

if TYPE_CHECKING:
    from .server import TwinServer

CLIENT_MAX_SIZE = 8 * 1024 * 1024  # bytes of one request body
HTTP_ERROR_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def json_response(status: int, body: Any) -> web.Response:
    """The exchange's ``(status, body)`` as an HTTP response (a 422 body is the venue's plain-text message)."""
    if status == 422 and isinstance(body, str):
        return web.Response(status=422, text=body, content_type="text/plain")
    return web.Response(status=status, text=json.dumps(body, separators=(",", ":")), content_type="application/json")


async def read_json(request: web.Request) -> tuple[bool, Any]:
    """``(True, parsed body)`` or ``(False, the venue's 422 text)``."""
    raw = await request.read()
    try:
        return True, json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return False, f"{DESERIALIZE_PREFIX}{exc}"


class TwinHttpApp:
    """Request handlers of one :class:`~.server.TwinServer`; :meth:`build` makes the aiohttp application."""

    def __init__(self, server: TwinServer) -> None:
        self.server = server
        self.engine = server.engine
        self.faults = server.faults
        self._late: set[asyncio.Task] = set()  # requests executed after their connection was dropped

    def build(self, hub: WsHub) -> web.Application:
        app = web.Application(middlewares=[self._fault_middleware], client_max_size=CLIENT_MAX_SIZE)
        app.router.add_post("/info", self._handle_info)
        app.router.add_post("/exchange", self._handle_exchange)
        app.router.add_get("/ws", hub.handle)
        app.router.add_post("/_twin/faults", self._admin_faults)
        app.router.add_post("/_twin/accounts", self._admin_accounts)
        app.router.add_post("/_twin/clock", self._admin_clock)
        app.router.add_post("/_twin/step", self._admin_step)
        app.router.add_post("/_twin/restart", self._admin_restart)
        app.router.add_get("/_twin/state", self._admin_state)
        return app

    # ------------------------------------------------------------------ faults, /info, /exchange
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
            return web.Response(status=status, text=HTTP_ERROR_REASONS.get(status, f"HTTP {status}"), content_type="text/plain")
        delay_ms = None
        if faults.has_lost_answers():
            try:
                action = json.loads(await request.read()).get("action", {}).get("type")
            except (ValueError, AttributeError, UnicodeDecodeError):
                action = None
            delay_ms = faults.take_lost_answer(request.path, action)
        if delay_ms is None:
            return await handler(request)
        # lose_answer: the request IS executed; only its answer never reaches the client
        if delay_ms > 0:  # dropped now, executed later: still in flight at the venue
            await request.read()  # the body is cached on the request for the late execution
            task = asyncio.get_running_loop().create_task(self._execute_late(request, handler, delay_ms / 1000.0))
            self._late.add(task)
            task.add_done_callback(self._late.discard)
        else:
            await handler(request)
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError()

    @staticmethod
    async def _execute_late(request: web.Request, handler: Callable, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        try:
            await handler(request)  # the answer is thrown away
        except Exception:  # noqa: BLE001 - nobody is listening; the twin's state is what counts
            pass

    @staticmethod
    def _client_ip(request: web.Request) -> str:
        return request.remote or "127.0.0.1"

    async def _handle_info(self, request: web.Request) -> web.Response:
        ok, body = await read_json(request)
        if not ok:
            return json_response(422, body)
        status, result = self.engine.handle_info(body, self._client_ip(request))
        return json_response(status, result)

    async def _handle_exchange(self, request: web.Request) -> web.Response:
        ok, body = await read_json(request)
        if not ok:
            return json_response(422, body)
        status, result = self.engine.handle_exchange(body, self._client_ip(request))
        return json_response(status, result)

    # ------------------------------------------------------------------ admin
    async def _admin_faults(self, request: web.Request) -> web.Response:
        ok, body = await read_json(request)
        try:
            if not ok:
                raise ValueError(body)
            applied = apply_admin_request(self.faults, body)
        except (ValueError, TypeError, AttributeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"applied": applied})

    async def _admin_accounts(self, request: web.Request) -> web.Response:
        ok, body = await read_json(request)
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
        ok, body = await read_json(request)
        try:
            if not ok or not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            if "advance_ms" in body:
                now = self.server.advance_by(int(body["advance_ms"]))
            elif "set_ms" in body:
                now = self.server.advance_to(int(body["set_ms"]))
            else:
                raise ValueError("give advance_ms or set_ms")
        except (ValueError, RuntimeError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"now_ms": now})

    async def _admin_step(self, request: web.Request) -> web.Response:
        ok, body = await read_json(request)
        n = int(body.get("n", 1)) if ok and isinstance(body, dict) else 1
        return web.json_response({"now_ms": self.server.step(n)})

    async def _admin_restart(self, request: web.Request) -> web.Response:
        ok, body = await read_json(request)
        down_s = float(body.get("down_s", 0.0)) if ok and isinstance(body, dict) else 0.0
        threading.Thread(target=self._delayed_restart, args=(down_s,), daemon=True).start()
        return web.json_response({"restarting": True, "down_s": down_s})

    def _delayed_restart(self, down_s: float) -> None:
        time.sleep(0.05)  # let the admin response go out
        self.server.restart(down_s)

    async def _admin_state(self, request: web.Request) -> web.Response:
        return web.json_response(self.server.state_summary())
