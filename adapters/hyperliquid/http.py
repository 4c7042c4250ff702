"""Async Hyperliquid REST client: ``POST /info`` and signed ``POST /exchange`` (aiohttp).

* Signing: :class:`botmm_nautilus.venue.signing.L1Signer` (EIP-712 phantom agent; source ``"a"``
  on mainnet, ``"b"`` otherwise), byte-identical to the SDK's ``sign_l1_action`` but ~0.1 ms
  instead of ~20 ms (libsecp256k1 via coincurve, precomputed EIP-712 domain). JSON bodies and
  answers go through msgspec (key order kept, which the venue's msgpack re-hash needs).
* Nonces: strictly increasing per signer, ``max(last + 1, now_ms)``, shared by every client of
  the process that signs with the same key (:class:`NonceManager`: the venue keeps the recent
  nonces per signer, so two clients of one key must never reuse a millisecond).
* Rate limits: a :class:`TokenBucket` for the IP weight budget (1200 per minute; ``/info`` costs
  2, 20 or 60 by request type, charged before the request, plus the per-item surcharge of history
  answers (+1 per 20 fills, +1 per 60 candles) charged when the answer tells the count;
  ``/exchange`` ``1 + n // 40`` for n orders; see ``botmm_nautilus.venue.limits``) and a local
  mirror of the address action budget (10000 + 1 per USDC traded; :meth:`HLHttpClient.
  refresh_rate_limit` reads ``userRateLimit``, whose figures replace the mirror's; the owner
  refreshes it as volume grows, and a "Too many cumulative requests" answer asks for a refresh).
  Cancels are held to their own larger cap (``min(cap + 100000, 2 * cap)``). Past the cap the
  venue allows one action per 10 s, so do we (a one-token bucket refilled every 10 s), except
  that while the owner holds quoting for the budget (:attr:`HLHttpClient.orders_refused`) order
  and modify actions are refused unsent (reduce-only orders still go). Wherever actions wait (IP
  bucket or that slot), cancels (and, for the slot, reduce-only orders) go before orders and
  modifies; an order waiting for the slot when the hold starts is refused at once. The IP bucket is
  given by the owner: the factories give the data and execution clients of one node the same
  bucket (the venue's budget is per IP, not per client).
* Retries: one loop (:meth:`HLHttpClient._retrying`) backs off exponentially on HTTP 429, 5xx,
  timeouts and dropped connections (:attr:`HttpError.should_retry`); what a resend does is each
  call's policy. ``/info`` and the idempotent actions (scheduleCancel, noop) are simply sent
  again. An order or modify action is *never blindly resubmitted*: after an ambiguous failure
  ``orderStatus`` by cloid tells which orders the venue already has, and only the rest is sent
  again; a cancel answered "missing order" after a lost request is checked the same way.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import os
import re
import threading
import time
from collections.abc import Awaitable
from collections.abc import Callable
from typing import Any

import aiohttp
import msgspec
from nautilus_trader.common.component import Logger

from botmm_nautilus.venue.actions import CANNOT_MODIFY
from botmm_nautilus.venue.actions import MISSING_ORDER
from botmm_nautilus.venue.actions import batch_modify_action
from botmm_nautilus.venue.actions import cancel_action
from botmm_nautilus.venue.actions import cancel_by_cloid_action
from botmm_nautilus.venue.actions import order_action
from botmm_nautilus.venue.actions import response_statuses
from botmm_nautilus.venue.errors import ExchangeActionError
from botmm_nautilus.venue.errors import HyperliquidError
from botmm_nautilus.venue.limits import ADDRESS_BASE_BUDGET
from botmm_nautilus.venue.limits import IP_WEIGHT_PER_MINUTE
from botmm_nautilus.venue.limits import CANCEL_ACTIONS
from botmm_nautilus.venue.limits import OVER_BUDGET_INTERVAL_MS
from botmm_nautilus.venue.limits import cancel_cap
from botmm_nautilus.venue.limits import exchange_weight
from botmm_nautilus.venue.limits import info_weight
from botmm_nautilus.venue.signing import L1Signer


class HttpError(HyperliquidError):
    """A request to the venue failed. ``status``: the HTTP status, None when no answer came.

    :attr:`should_retry` is True for an outcome that is unknown (HTTP 429 or 5xx, a timeout, a
    dropped connection): the venue may or may not have processed the request, and sending it
    again may succeed. False for a definite refusal (another 4xx), retries exhausted, or a
    request that cannot be made at all (no signing key)."""

    def __init__(self, message: str, status: int | None = None, *, transient: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self._transient = transient

    @property
    def should_retry(self) -> bool:
        return self._transient


class NonceManager:
    """Strictly increasing millisecond nonces per signer address (thread-safe, process-wide).

    Process-wide on purpose: the venue's nonce rule is per signer, so every client of the process
    that signs with one key must draw from the same sequence."""

    _lock = threading.Lock()
    _last: dict[str, int] = {}

    @classmethod
    def next(cls, signer: str) -> int:
        now = int(time.time() * 1000)
        with cls._lock:
            nonce = max(now, cls._last.get(signer, 0) + 1)
            cls._last[signer] = nonce
            return nonce


PRIORITY_CANCEL = 0  # waiting actions: cancels are served first
PRIORITY_NORMAL = 1  # orders, modifies, reads


class TokenBucket:
    """``capacity`` tokens refilled at ``capacity / period_s`` per second; ``acquire(w)`` waits.

    One bucket stands for one IP weight budget (``period_s`` = 60) or, with ``capacity=1`` and
    ``period_s=10``, the venue's one action per 10 s past the address budget. Every HTTP client
    drawing from it also reports what it spent by request type (:meth:`count`), so the budget's
    use can be read in one place.

    Waiting: a request that finds the budget short (or others already waiting) joins a line
    ordered by ``priority`` (:data:`PRIORITY_CANCEL` before :data:`PRIORITY_NORMAL`), then by
    arrival: a cancel queued behind orders goes first, and within one priority a later, smaller
    request never starves an earlier one. The head of the line takes its weight as soon as the
    bucket holds it (a weight above ``capacity`` waits for a full bucket and leaves it in debt)."""

    def __init__(self, capacity: int = IP_WEIGHT_PER_MINUTE, period_s: float = 60.0) -> None:
        self.capacity = float(capacity)
        self.tokens = float(capacity)
        self.rate = capacity / float(period_s)
        self.stamp = time.monotonic()
        self.waited_s = 0.0
        self.created = self.stamp
        self.weight_used = 0.0  # cumulative weight acquired (reports: IP weight per minute)
        self.waits = 0  # acquisitions that had to wait
        self.weight_by_type: dict[str, float] = {}  # "info:<type>" / "exchange:<action>" -> weight
        self.requests_by_type: dict[str, int] = {}
        self._line: list[list] = []  # heap of waiters: [priority, seq, asyncio.Event | None]
        self._seq = itertools.count()

    @classmethod
    def for_ip_weight(cls) -> TokenBucket:
        """A bucket for the venue's IP weight budget (1200 per minute).

        ``BOTMM_HL_IP_WEIGHT_PER_MIN`` in the environment lowers the budget (processes sharing
        one IP split it; benchmarks force pacing with it)."""
        try:
            capacity = int(os.environ.get("BOTMM_HL_IP_WEIGHT_PER_MIN") or IP_WEIGHT_PER_MINUTE)
        except ValueError:
            capacity = IP_WEIGHT_PER_MINUTE
        return cls(max(1, min(capacity, IP_WEIGHT_PER_MINUTE)))

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def _take(self, weight: float) -> None:
        self.tokens -= weight
        self.weight_used += weight

    def _wake_head(self) -> None:
        if self._line and self._line[0][2] is not None:
            self._line[0][2].set()

    @property
    def waiting(self) -> int:
        """Requests waiting in line now."""
        return len(self._line)

    async def acquire(self, weight: float, priority: int = PRIORITY_NORMAL) -> bool:
        """Take ``weight`` tokens, waiting in line for them (see the class); True if it waited."""
        self._refill()
        need = min(weight, self.capacity)
        if not self._line and self.tokens >= need:
            self._take(weight)
            return False
        t0 = time.monotonic()
        entry = [priority, next(self._seq), None]
        heapq.heappush(self._line, entry)
        self.waits += 1
        try:
            while True:
                self._refill()
                if self._line[0] is entry:
                    deficit = need - self.tokens
                    if deficit <= 0:
                        heapq.heappop(self._line)
                        self._take(weight)
                        self._wake_head()
                        return True
                    await asyncio.sleep(deficit / self.rate)
                else:
                    event = entry[2] = asyncio.Event()
                    await event.wait()
                    entry[2] = None
        except BaseException:
            if entry in self._line:
                self._line.remove(entry)
                heapq.heapify(self._line)
                self._wake_head()
            raise
        finally:
            self.waited_s += time.monotonic() - t0

    def charge(self, weight: float) -> None:
        """Take ``weight`` now without waiting (the balance may go negative): a cost learnt only
        from the answer, e.g. the per-item surcharge of a history request; later requests wait
        for it."""
        if weight > 0:
            self._refill()
            self._take(weight)

    async def wait_available(self, weight: float) -> float:
        """Sleep until ``weight`` tokens are there, without taking them; the seconds slept."""
        slept = 0.0
        while True:
            self._refill()
            if self.tokens >= weight:
                return slept
            wait = (weight - self.tokens) / self.rate
            slept += wait
            await asyncio.sleep(wait)

    def count(self, kind: str, weight: float, requests: int = 1) -> None:
        """Note ``requests`` requests of type ``kind`` costing ``weight`` (accounting only)."""
        self.weight_by_type[kind] = self.weight_by_type.get(kind, 0.0) + weight
        self.requests_by_type[kind] = self.requests_by_type.get(kind, 0) + requests


def _reduce_only(kind: str, action: dict) -> bool:
    """An ``order`` action whose every order is reduce-only."""
    orders = action.get("orders") if kind == "order" else None
    return bool(orders) and all(o.get("r") for o in orders)


TOO_MANY_REQUESTS = "Too many cumulative requests"
_BUDGET_FIGURES = re.compile(r"\((\d+) > (\d+)\)")
FILLS_PAGE_LIMIT = 2000  # userFillsByTime answers at most this many fills
_now = time.time_ns
_JSON_HEADERS = {"Content-Type": "application/json"}
_encode = msgspec.json.Encoder().encode  # keeps dict insertion order (the signed msgpack order)
_decode = msgspec.json.Decoder().decode


class HLHttpClient:
    """``bucket``: the IP weight budget to draw from (the factories give the clients of one node
    the same one); a client of its own when None."""

    def __init__(
        self,
        base_url: str,
        *,
        wallet=None,
        is_mainnet: bool = False,
        vault_address: str | None = None,
        account_address: str | None = None,
        timeout_s: float = 10.0,
        max_retries: int = 5,
        retry_delay_initial_ms: int = 100,
        retry_delay_max_ms: int = 3_000,
        bucket: TokenBucket | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._wallet = wallet  # eth_account LocalAccount; never logged
        self._signer = L1Signer(wallet) if wallet is not None else None
        self.is_mainnet = is_mainnet
        self.vault_address = vault_address.lower() if vault_address else None
        signer = wallet.address.lower() if wallet is not None else None
        self.signer = signer
        # the account whose orders/fills/positions we read: vault > explicit master > signer
        self.user = (self.vault_address or (account_address.lower() if account_address else None) or signer)
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.max_retries = max_retries
        self.delay0 = retry_delay_initial_ms / 1000.0
        self.delay_max = retry_delay_max_ms / 1000.0
        self._log = Logger(type(self).__name__)
        self.bucket = bucket if bucket is not None else TokenBucket.for_ip_weight()
        self._session: aiohttp.ClientSession | None = None
        # address action budget (mirrors userRateLimit)
        self.address_used = 0
        self.address_cap = ADDRESS_BASE_BUDGET
        self.cum_vlm_usd = 0.0  # userRateLimit.cumVlm at the last refresh
        self.rate_limit_refreshed: float | None = None  # monotonic s of the last userRateLimit read
        self.refresh_wanted = False  # the venue refused for the budget, or the mirror hit the cap
        self.address_over_budget_actions = 0  # actions sent past the cap, at the venue's 1 per 10 s
        # set by the owner while it judges the budget exhausted (its strategies are held): order
        # and modify actions past the cap are then refused here, not sent late as stale quotes
        self._orders_refused: str | None = None
        self._hold_started: asyncio.Event | None = None  # set when orders_refused is set
        self.address_refused_actions = 0
        self._over_budget_slot = TokenBucket(1, OVER_BUDGET_INTERVAL_MS / 1000.0)
        # counters (reports)
        self.retries = 0
        self.actions_sent = 0
        self.address_by_type: dict[str, int] = {}  # address actions per action type
        self.exchange_waits = 0  # /exchange requests that waited in the IP bucket
        self.exchange_wait_s = 0.0
        # (monotonic s, IP weight used, address actions used) when the first order was sent: the
        # steady-state budget is measured from there (start-up reads are a one-off)
        self.quoting_mark: tuple[float, float, int] | None = None
        self.stop_mark: tuple[float, float, int] | None = None  # the same when the stop was requested

    # ------------------------------------------------------------------ plumbing
    async def _sess(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def _warn(self, msg: str) -> None:
        self._log.warning(msg)

    def _backoff(self, attempt: int) -> float:
        return min(self.delay_max, self.delay0 * (2 ** attempt))

    def mark_stop(self) -> None:
        """Note the budget used when the stop was requested (the steady window ends there)."""
        if self.stop_mark is None:
            self.stop_mark = (time.monotonic(), self.bucket.weight_used, self.address_used)

    async def _post_once(self, path: str, body: Any, data: bytes | None = None) -> Any:
        sess = await self._sess()
        if data is None:
            data = _encode(body)
        try:
            async with sess.post(self.base_url + path, data=data, headers=_JSON_HEADERS) as resp:
                raw = await resp.read()
                if resp.status == 429 or resp.status >= 500:
                    raise HttpError(f"HTTP {resp.status} on {path}", resp.status, transient=True)
                if resp.status != 200:
                    text = raw.decode("utf-8", errors="replace")
                    raise HttpError(f"HTTP {resp.status} on {path}: {text[:200]}", resp.status)
                return _decode(raw) if raw else None
        except (aiohttp.ClientConnectionError, asyncio.TimeoutError, aiohttp.ServerDisconnectedError) as exc:
            raise HttpError(f"{type(exc).__name__} on {path}: {exc}", transient=True) from None

    async def _retrying(self, what: str, attempt_once: Callable[[int], Awaitable[Any]]) -> Any:
        """The one retry loop: ``await attempt_once(attempt)`` for attempt 0, 1, ... and its result.

        When it raises an :class:`HttpError` that :attr:`~HttpError.should_retry`, wait (from
        ``retry_delay_initial_ms``, doubling, at most ``retry_delay_max_ms``) and call it again,
        up to ``max_retries`` times; then raise an HttpError that should not be retried. Other
        errors pass through at once. What a later attempt does is the caller's policy:
        ``attempt_once`` sees the attempt number (0 = the first try) and may, for instance, first
        ask the venue what the lost request already did."""
        attempt = 0
        while True:
            try:
                return await attempt_once(attempt)
            except HttpError as exc:
                if not exc.should_retry:
                    raise
                if attempt >= self.max_retries:
                    raise HttpError(f"{what} failed after {attempt + 1} attempts: {exc}", exc.status) from None
                self.retries += 1
                delay = self._backoff(attempt)
                self._warn(f"{what}: {exc}; retry in {delay:.2f}s")
                await asyncio.sleep(delay)
                attempt += 1

    # ------------------------------------------------------------------ /info
    async def info(self, body: dict) -> Any:
        """``/info``; reads are idempotent: simply sent again after an ambiguous failure."""
        request_type = body.get("type")
        kind = f"info:{request_type}"
        weight = info_weight(request_type)

        async def once(attempt: int) -> Any:
            await self.bucket.acquire(weight)
            self.bucket.count(kind, weight)
            answer = await self._post_once("/info", body)
            if isinstance(answer, list):  # history answers cost more per item returned
                extra = info_weight(request_type, len(answer)) - weight
                if extra > 0:
                    self.bucket.charge(extra)
                    self.bucket.count(kind, extra, requests=0)
            return answer

        return await self._retrying(f"/info {request_type}", once)

    async def meta_and_ctxs(self) -> list:
        return await self.info({"type": "metaAndAssetCtxs"})

    async def clearinghouse_state(self) -> dict:
        return await self.info({"type": "clearinghouseState", "user": self.user})

    async def open_orders(self) -> list:
        return await self.info({"type": "frontendOpenOrders", "user": self.user})

    async def order_status(self, oid_or_cloid: int | str) -> dict:
        return await self.info({"type": "orderStatus", "user": self.user, "oid": oid_or_cloid})

    async def user_fills_by_time(self, start_ms: int, end_ms: int | None = None, page_limit: int = FILLS_PAGE_LIMIT) -> list:
        """Every fill of the user in [start_ms, end_ms] (end None = now), oldest first, once each.

        The venue answers at most ``page_limit`` (2000) fills per ``userFillsByTime``. A full
        answer means more may lie beyond it; which end the venue cut is not documented (its docs
        page forward from the last time returned, recorded answers come newest first), so both
        sides are asked: [newest time, end] and [start, oldest time]. Pages overlap at their
        boundary millisecond and are de-duplicated by ``tid``; a page that brings nothing new ends
        its side (also when more than ``page_limit`` fills share one millisecond: unreachable).
        Only the venue's 10000 most recent fills are reachable at all."""
        seen: dict[int, dict] = {}
        windows: list[tuple[int, int | None]] = [(int(start_ms), None if end_ms is None else int(end_ms))]
        while windows:
            lo_ms, hi_ms = windows.pop()
            body = {"type": "userFillsByTime", "user": self.user, "startTime": lo_ms}
            if hi_ms is not None:
                body["endTime"] = hi_ms
            page = await self.info(body) or []
            fresh = 0
            for f in page:
                tid = f.get("tid")
                if tid not in seen:
                    seen[tid] = f
                    fresh += 1
            if len(page) < page_limit or fresh == 0:
                continue
            times = [int(f["time"]) for f in page]
            newest, oldest = max(times), min(times)
            if hi_ms is None or newest < hi_ms:
                windows.append((newest, hi_ms))
            if oldest > lo_ms:
                windows.append((lo_ms, oldest))
        return sorted(seen.values(), key=lambda f: (int(f["time"]), f.get("tid", 0)))

    async def refresh_rate_limit(self) -> dict | None:
        """Read ``userRateLimit`` and make the local mirror follow the venue's figures
        (``nRequestsUsed``, ``nRequestsCap``, ``cumVlm``); the answer, or None when it failed
        (the mirror then keeps counting on its own)."""
        try:
            data = await self.info({"type": "userRateLimit", "user": self.user})
            used = int(data.get("nRequestsUsed", 0))
            cap = int(data.get("nRequestsCap", ADDRESS_BASE_BUDGET))
            cum_vlm = float(data.get("cumVlm") or 0.0)
        except Exception as exc:  # noqa: BLE001 - the mirror keeps counting locally
            self._warn(f"userRateLimit unavailable ({exc}); the address budget mirror keeps counting locally "
                       f"({self.address_used}/{self.address_cap})")
            return None
        if cap != self.address_cap:
            self._log.info(f"address budget: cap {self.address_cap} -> {cap} (cumulative volume ${cum_vlm:,.0f}), "
                           f"{used} used")
        self.address_used, self.address_cap, self.cum_vlm_usd = used, cap, cum_vlm
        self.rate_limit_refreshed = time.monotonic()
        self.refresh_wanted = False
        return data

    def address_left(self, is_cancel: bool = False) -> int:
        """Actions left in the address budget by the local mirror (cancels: their larger cap)."""
        cap = cancel_cap(self.address_cap) if is_cancel else self.address_cap
        return cap - self.address_used

    # ------------------------------------------------------------------ /exchange
    def sign(self, action: dict, nonce: int) -> dict:
        if self._signer is None:
            raise HttpError("no signing key configured")
        signature = self._signer.sign(action, self.vault_address, nonce, None, self.is_mainnet)
        return {"action": action, "nonce": nonce, "signature": signature, "vaultAddress": self.vault_address,
                "expiresAfter": None}

    @property
    def orders_refused(self) -> str | None:
        """The owner's reason while it holds quoting for an exhausted address budget, else None."""
        return self._orders_refused

    @orders_refused.setter
    def orders_refused(self, reason: str | None) -> None:
        self._orders_refused = reason
        if reason is not None and self._hold_started is not None:
            self._hold_started.set()  # orders waiting for a slot are refused at once

    async def _slot_unless_held(self, n: int, kind: str, action: dict) -> bool:
        """An order or modify waits for the venue's next slot, or until the owner starts holding
        (then :meth:`_refuse_if_held` refuses it without spending the slot)."""
        if self._hold_started is None or self._hold_started.is_set():
            self._hold_started = asyncio.Event()
        slot_task = asyncio.ensure_future(self._over_budget_slot.acquire(1, PRIORITY_NORMAL))
        hold_task = asyncio.ensure_future(self._hold_started.wait())
        try:
            await asyncio.wait({slot_task, hold_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            hold_task.cancel()
            if not slot_task.done():
                slot_task.cancel()
                await asyncio.gather(slot_task, return_exceptions=True)
        waited = slot_task.result() if slot_task.done() and not slot_task.cancelled() else True
        self._refuse_if_held(n, kind, action)
        return waited

    def _refuse_if_held(self, n: int, kind: str, action: dict) -> None:
        """Past the cap while :attr:`orders_refused` is set: an order action that is not wholly
        reduce-only, or a modify, raises :class:`ExchangeActionError` (nothing was sent)."""
        if self.orders_refused is None or kind in CANCEL_ACTIONS or self.address_left() >= n:
            return
        if _reduce_only(kind, action):
            return  # reduce-only (a flatten) still takes the venue's slots
        self.address_refused_actions += 1
        self._warn(f"{kind} of {n} not sent: {self.orders_refused}; the strategies are held until the budget is back")
        raise ExchangeActionError(f"not sent, address budget exhausted: {self.orders_refused}")

    async def _address_budget(self, n: int, kind: str, action: dict | None = None) -> bool:
        """Wait, when the address budget (cancels: the cancel cap) cannot take ``n`` more actions,
        for the venue's one action per 10 s, cancels first; True if it waited. While the owner
        holds quoting (:attr:`orders_refused`) orders and modifies are refused instead, also
        after waiting (the hold may have started meanwhile)."""
        is_cancel = kind in CANCEL_ACTIONS
        if self.address_left(is_cancel) >= n:
            return False
        action = action or {}
        self._refuse_if_held(n, kind, action)
        self.refresh_wanted = True
        cap = cancel_cap(self.address_cap) if is_cancel else self.address_cap
        slot = self._over_budget_slot
        self._warn(f"address action budget exhausted ({self.address_used}/{cap} by the local mirror of userRateLimit): "
                   f"{kind} of {n} waits for the venue's one action per {OVER_BUDGET_INTERVAL_MS // 1000} s "
                   f"({slot.waiting} already waiting; cancels and reduce-only orders go first)")
        self.address_over_budget_actions += 1
        if is_cancel or _reduce_only(kind, action):  # risk-reducing: first in line, never refused
            return await slot.acquire(1, PRIORITY_CANCEL)
        return await self._slot_unless_held(n, kind, action)

    async def exchange_once(self, action: dict, n_items: int = 1, probes: list | None = None,
                            prepaid: bool = False) -> dict:
        """Sign and send one action once (an :class:`HttpError` that should be retried when the
        outcome is unknown).

        ``probes``: latency probe records (``LatencyProbe.new_probe``) of the commands this action
        carries; filled with the limiter wait and the signed / sent stamps. ``prepaid``: the
        caller already took the IP weight from the bucket (:meth:`prepay`)."""
        kind = action.get("type", "")
        if self.quoting_mark is None and kind == "order":
            self.quoting_mark = (time.monotonic(), self.bucket.weight_used, self.address_used)
        t0 = _now()
        waited = await self._address_budget(n_items, kind, action)
        weight = exchange_weight(n_items)
        if not prepaid:
            waited = await self.bucket.acquire(weight, PRIORITY_CANCEL if kind in CANCEL_ACTIONS else PRIORITY_NORMAL) or waited
        t1 = _now()
        body = self.sign(action, NonceManager.next(self.signer))
        t2 = _now()
        data = _encode(body)
        self.actions_sent += 1
        self.bucket.count("exchange:" + kind, weight)
        self.address_by_type[kind] = self.address_by_type.get(kind, 0) + n_items
        if waited:
            self.exchange_waits += 1
            self.exchange_wait_s += (t1 - t0) / 1e9
        t3 = _now()
        if probes:
            wait_ns = (t1 - t0) if waited else 0
            for p in probes:
                p[4] += wait_ns
                p[5] = t2
                p[6] = t3
                p[7] += 1
        resp = await self._post_once("/exchange", body, data)
        self.address_used += n_items
        if isinstance(resp, dict) and resp.get("status") == "err" and TOO_MANY_REQUESTS in str(resp.get("response")):
            self._on_budget_refusal(str(resp.get("response")))
        return resp

    def _on_budget_refusal(self, text: str) -> None:
        """The venue refused an action for the address budget: the mirror takes the figures of
        its text (``(used > cap)``) and asks for a refresh."""
        m = _BUDGET_FIGURES.search(text)
        if m is not None:
            self.address_cap = int(m.group(2))
        self.address_used = max(self.address_used, self.address_cap)
        self.refresh_wanted = True
        self._warn(f"venue refused an action for the address budget ({text[:160]}); userRateLimit will be re-read")

    async def exchange(self, action: dict, n_items: int = 1) -> dict:
        """Send an action that is idempotent by nature (scheduleCancel, noop, leverage): simply
        sent again after an ambiguous failure."""
        return await self._retrying(f"/exchange {action.get('type')}",
                                    lambda attempt: self.exchange_once(action, n_items))

    async def order_status_by_cloid(self, cloid: str) -> dict | None:
        res = await self.order_status(cloid)
        if isinstance(res, dict) and res.get("status") == "order":
            return res["order"]
        return None

    async def prepay(self) -> bool:
        """Take the IP weight of one ``/exchange`` action of up to 39 items now (waiting for it in
        turn); pass ``prepaid=True`` to the helper that sends it. True if it had to wait."""
        return await self.bucket.acquire(1)

    async def _send_resolving(self, kind: str, build, cloids: list[str], probes: list | None, prepaid: bool,
                              resolve, mismatch_text) -> list:
        """Send ``build(pending)`` (an action over the pending items); one status per item.

        Policy after an ambiguous failure (timeout, 5xx, dropped connection), which may or may
        not have reached the venue: before the next attempt every pending item is looked up by
        cloid and ``resolve(i, found)`` turns what the venue holds into the item's status, or
        returns None to send it again; nothing is sent when every item is resolved."""
        results: dict[int, Any] = {}
        pending = list(range(len(cloids)))

        async def once(attempt: int) -> None:
            nonlocal pending
            if attempt > 0:
                still = []
                for i in pending:
                    status = resolve(i, await self.order_status_by_cloid(cloids[i]))
                    if status is None:
                        still.append(i)
                    else:
                        results[i] = status
                pending = still
                if not pending:
                    return
            resp = await self.exchange_once(build(pending), len(pending),
                                            [probes[i] for i in pending] if probes else None,
                                            prepaid and attempt == 0 and len(pending) < 40)
            statuses = response_statuses(resp)  # raises ExchangeActionError on a whole-action error
            if len(statuses) != len(pending):
                text = statuses[0].get("error") if statuses and isinstance(statuses[0], dict) else None
                for i in pending:
                    results[i] = {"error": str(text or mismatch_text(statuses))}
            else:
                for i, st in zip(pending, statuses):
                    results[i] = st

        await self._retrying(f"/exchange {kind}", once)
        return [results[i] for i in range(len(cloids))]

    async def place_orders(self, wires: list[dict], probes: list | None = None, prepaid: bool = False) -> list:
        """Place orders; returns one status per wire (``resting``/``filled``/``error``).

        After an ambiguous failure, orders the venue already knows (by cloid) are not resent.
        Every wire must carry a cloid (``c``).
        """

        def resolve(i: int, found: dict | None) -> dict | None:
            if found is None:
                return None  # never reached the venue: send again
            order, status = found["order"], found["status"]
            if status == "open":
                return {"resting": {"oid": order["oid"], "cloid": wires[i]["c"]}}
            if status == "filled":
                return {"filled": {"totalSz": order.get("origSz", order["sz"]), "avgPx": order["limitPx"],
                                   "oid": order["oid"], "cloid": wires[i]["c"]}}
            return {"error": f"Order {status} (found after a failed request)", "oid": order["oid"]}

        return await self._send_resolving("order", lambda pending: order_action([wires[i] for i in pending]),
                                          [w["c"] for w in wires], probes, prepaid, resolve, str)

    async def modify_order(self, oid: int, wire: dict, probe: list | None = None) -> dict:
        """``batchModify`` of one order (answers the new oid); safe against ambiguous failures."""
        return (await self.modify_orders([(oid, wire)], [probe] if probe is not None else None))[0]

    async def modify_orders(self, items: list[tuple[int, dict]], probes: list | None = None,
                            prepaid: bool = False) -> list:
        """One ``batchModify`` for several orders; one status per item (``resting``/``filled``/
        ``error``). After an ambiguous failure each order is looked up by cloid: a replacement
        that exists means its modify went through, an old order still open is modified again."""

        def resolve(i: int, found: dict | None) -> dict | None:
            oid, wire = items[i]
            if found is None:
                return {"error": CANNOT_MODIFY}
            order, status = found["order"], found["status"]
            if int(order["oid"]) != int(oid):  # the replacement exists: the modify went through
                if status == "open":
                    return {"resting": {"oid": order["oid"], "cloid": wire["c"]}}
                if status == "filled":
                    return {"filled": {"totalSz": order.get("origSz"), "avgPx": order["limitPx"], "oid": order["oid"]}}
                return {"error": f"Order {status} after modify", "oid": order["oid"]}
            if status != "open":
                return {"error": CANNOT_MODIFY}
            return None  # old order still open: the modify was not applied, send it again

        return await self._send_resolving("batchModify", lambda pending: batch_modify_action([items[i] for i in pending]),
                                          [w["c"] for _, w in items], probes, prepaid, resolve,
                                          lambda statuses: "empty batchModify response")

    async def cancel_by_cloid(self, items: list[tuple[int, str]], probes: list | None = None) -> list:
        return await self._cancel(cancel_by_cloid_action(items), [c for _, c in items], probes)

    async def cancel_by_oid(self, items: list[tuple[int, int]]) -> list:
        return await self._cancel(cancel_action(items), [o for _, o in items])

    async def _cancel(self, action: dict, refs: list, probes: list | None = None) -> list:
        """Cancels are sent again after an ambiguous failure; a "missing order" answer to the
        resend may be our own earlier cancel, so it counts as a success when ``orderStatus``
        shows the order canceled."""

        async def once(attempt: int) -> list:
            statuses = response_statuses(await self.exchange_once(action, len(refs), probes))
            if attempt == 0:
                return statuses
            fixed = []
            for ref, st in zip(refs, statuses):
                if isinstance(st, dict) and MISSING_ORDER in str(st.get("error", "")):
                    found = await self.order_status(ref)
                    if isinstance(found, dict) and found.get("status") == "order" and found["order"]["status"] == "canceled":
                        st = "success"
                fixed.append(st)
            return fixed

        return await self._retrying(f"/exchange {action['type']}", once)


__all__ = ["ExchangeActionError", "HLHttpClient", "HttpError", "NonceManager", "TokenBucket"]
