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
  again.
* Idempotent order entry (orders and modifies, :meth:`HLHttpClient._send_resolving`): every
  ``/exchange`` action carries a signed ``expiresAfter`` (``now + expires_after_ms``); the venue
  refuses an action it processes later (``ACTION_EXPIRED``). After an ambiguous failure (timeout,
  5xx, dropped connection: the venue may have executed the action, or may still execute it)
  NOTHING is resent until the venue's state is known: each pending cloid is looked up
  (``orderStatus``) at once; a cloid not found may still be in flight, so it is looked up again
  once the action's ``expiresAfter`` has passed (plus ``expiry_margin_ms`` for clock skew); only
  then does "not found" (also in ``userFillsByTime``, for an IOC that filled) prove the action
  never executed, and only then is the rest sent again, with a NEW ``expiresAfter``. An HTTP 429
  is a definite "not processed" (the IP limit) and is sent again after the backoff. When the
  venue's state cannot be learned (lookups failing too), or retries are exhausted after an
  ambiguous failure, the item's status is ``{"unknown": text, "expiresAfter": ms}``
  (:func:`is_unknown`): never an error, the caller keeps the order pending and finds out later.
* Duplicate cloid: the venue refuses an order whose cloid one of the account's OPEN orders holds
  (``venue.actions.DUPLICATE_CLOID``, [UNCERTAIN], sources there) but accepts the cloid of a
  filled or canceled order again, so the venue is never relied on to drop a resend; the lookups
  above are what make a resend safe.
* Cancels are idempotent by nature (a second cancel of a canceled order is only refused): after an
  ambiguous failure each order is looked up; gone (canceled) = success, still open = sent again;
  when nothing can be learned the item is ``unknown``, never a refusal.
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

from botmm_nautilus.venue.actions import ACTION_EXPIRED
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
from botmm_nautilus.venue.messages import is_rejected_status
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
UNKNOWN: str = "unknown"  # key of an item status whose outcome could not be learned
CANCELED: str = "canceled"  # key of an item status: the order was placed, and is closed now (see place_orders)


def unknown_status(text: str, expires_after_ms: int | None) -> dict:
    """The status of an item whose outcome is unknown (see :func:`is_unknown`)."""
    return {UNKNOWN: text, "expiresAfter": expires_after_ms}


def is_unknown(status) -> bool:
    """True for an item whose outcome the venue could not tell: keep it pending, find out later."""
    return isinstance(status, dict) and UNKNOWN in status


def _wall_ms() -> int:
    return int(time.time() * 1000)
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
        expires_after_ms: int = 5_000,
        expiry_margin_ms: int = 1_000,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # every /exchange action expires this long after it was signed (0 = no expiresAfter)
        self.expires_after_ms = int(expires_after_ms)
        # "not found" after expiresAfter + this (venue clock vs ours) proves an action never executed
        self.expiry_margin_ms = int(expiry_margin_ms)
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
        self.unknown_outcomes = 0  # /exchange attempts whose answer was lost (then looked up)
        self.lookups = 0  # orderStatus/userFills requests made to learn such an outcome
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
    def next_expiry_ms(self) -> int | None:
        """The ``expiresAfter`` of an action signed now (None when ``expires_after_ms`` is 0)."""
        return _wall_ms() + self.expires_after_ms if self.expires_after_ms > 0 else None

    def sign(self, action: dict, nonce: int, expires_after: int | None = None) -> dict:
        """The signed ``/exchange`` body; ``expiresAfter`` (ms) is part of the signed hash."""
        if self._signer is None:
            raise HttpError("no signing key configured")
        signature = self._signer.sign(action, self.vault_address, nonce, expires_after, self.is_mainnet)
        return {"action": action, "nonce": nonce, "signature": signature, "vaultAddress": self.vault_address,
                "expiresAfter": expires_after}

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
                            prepaid: bool = False, expires_after: int | None = None) -> dict:
        """Sign and send one action once (an :class:`HttpError` that should be retried when the
        outcome is unknown). ``expires_after``: the action's signed deadline (ms); by default
        :meth:`next_expiry_ms`, taken when it is signed.

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
        if expires_after is None:
            expires_after = self.next_expiry_ms()
        body = self.sign(action, NonceManager.next(self.signer), expires_after)
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
        if isinstance(resp, dict) and resp.get("status") == "err":
            text = str(resp.get("response"))
            if TOO_MANY_REQUESTS in text:
                self._on_budget_refusal(text)
            elif ACTION_EXPIRED in text:
                self.address_used += 4 * n_items  # an expired action costs 5 requests per item
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

    async def _lookup(self, cloid: str) -> dict | None:
        """``orderStatus`` by cloid: the venue's ``{"order", "status", ...}`` or None (not found).
        Raises :class:`HttpError` when the venue cannot be asked."""
        self.lookups += 1
        return await self.order_status_by_cloid(cloid)

    async def _fills_by_cloid(self, since_ms: int) -> dict[str, list[dict]]:
        """Our fills since ``since_ms`` by cloid (``userFillsByTime``): what tells an IOC that
        filled when ``orderStatus`` cannot."""
        self.lookups += 1
        out: dict[str, list[dict]] = {}
        for f in await self.user_fills_by_time(since_ms) or []:
            if isinstance(f, dict) and f.get("cloid"):
                out.setdefault(str(f["cloid"]).lower(), []).append(f)
        return out

    async def _settle_unknown(self, what: str, cloids: list[str], pending: list[int], resolve, expires_after: int | None,
                              since_ms: int, check_fills: bool, results: dict) -> list[int]:
        """After an ambiguous failure of the action over ``pending``: learn from the venue what it
        did. Each cloid is looked up at once; what is still not found may be in flight, so it is
        looked up again once ``expires_after`` + ``expiry_margin_ms`` has passed (our clock), and,
        for orders, searched in ``userFillsByTime``. Resolved items go to ``results``; returns the
        items PROVEN not executed (safe to send again). Items whose state cannot be learned (the
        lookups fail) get an :func:`unknown_status`."""
        settle_at_ms = (expires_after if expires_after is not None else _wall_ms()) + self.expiry_margin_ms
        remaining = list(pending)
        final = False
        failures = 0
        while True:
            not_found: list[int] = []
            lookup_failed: list[int] = []
            for i in remaining:
                try:
                    status = resolve(i, await self._lookup(cloids[i]))
                except HttpError as exc:
                    self._warn(f"{what}: cannot look up cloid {cloids[i]} ({exc}); will ask again")
                    lookup_failed.append(i)
                    continue
                if status is None:
                    not_found.append(i)
                else:
                    results[i] = status
            if final and not_found and check_fills:
                try:
                    fills = await self._fills_by_cloid(since_ms - 1_000)
                except HttpError as exc:
                    self._warn(f"{what}: cannot read userFills ({exc}); will ask again")
                    lookup_failed += not_found
                    not_found = []
                else:
                    still = []
                    for i in not_found:
                        got = fills.get(cloids[i].lower())
                        if got:
                            total = sum(float(f["sz"]) for f in got)
                            avg = sum(float(f["sz"]) * float(f["px"]) for f in got) / total if total else 0.0
                            results[i] = {"filled": {"totalSz": str(total), "avgPx": str(avg), "oid": got[0].get("oid"),
                                                     "cloid": cloids[i]}}
                        else:
                            still.append(i)
                    not_found = still
            if lookup_failed:
                failures += 1
                if failures > self.max_retries:
                    for i in lookup_failed:
                        results[i] = unknown_status(f"{what}: outcome unknown (the venue could not be asked)", expires_after)
                    lookup_failed = []
            if final and not lookup_failed:
                if expires_after is None:  # no deadline was signed: "not found" proves nothing
                    for i in not_found:
                        results[i] = unknown_status(f"{what}: not found, but the action had no expiresAfter", None)
                    return []
                return not_found
            remaining = not_found + lookup_failed
            if not remaining:
                return []
            wait_s = (settle_at_ms - _wall_ms()) / 1000.0
            if wait_s > 0:
                self._log.info(f"{what}: {len(not_found)} cloid(s) not at the venue yet, {len(lookup_failed)} not "
                               f"looked up; the action may still be in flight: asking again after its expiresAfter "
                               f"in {wait_s:.1f}s, nothing is resent before")
                await asyncio.sleep(wait_s)
            elif lookup_failed:
                await asyncio.sleep(self._backoff(failures))
            final = _wall_ms() >= settle_at_ms

    async def _send_resolving(self, kind: str, build, cloids: list[str], probes: list | None, prepaid: bool,
                              resolve, mismatch_text, check_fills: bool = False) -> list:
        """Send ``build(pending)`` (an action over the pending items); one status per item.

        Policy after an ambiguous failure (timeout, 5xx, dropped connection), which may or may not
        have reached the venue, or may still reach it: nothing is sent again until
        :meth:`_settle_unknown` has learned the venue's state (``resolve(i, found)`` turns what the
        venue holds for the item's cloid into its status, or returns None for "not there / not
        applied"); only items proven not executed are sent again, with a new ``expiresAfter``. An
        HTTP 429 (not processed) is sent again after the backoff. Retries exhausted after an
        ambiguous failure: the remaining items are looked up all the same and, when still not
        found after expiry, get an error (proven never executed); the last attempt never raises
        without looking. A definite refusal (whole-action error, other 4xx) raises as before."""
        what = f"/exchange {kind}"
        results: dict[int, Any] = {}
        pending = list(range(len(cloids)))
        attempt = 0
        first_ms = _wall_ms()
        while pending:
            expires_after = self.next_expiry_ms()
            try:
                resp = await self.exchange_once(build(pending), len(pending),
                                                [probes[i] for i in pending] if probes else None,
                                                prepaid and attempt == 0 and len(pending) < 40, expires_after)
            except HttpError as exc:
                if not exc.should_retry:
                    raise
                attempt += 1
                if exc.status == 429:  # the IP limit: the venue did not process it
                    if attempt > self.max_retries:
                        raise HttpError(f"{what} failed after {attempt} attempts: {exc}", exc.status) from None
                    self.retries += 1
                    delay = self._backoff(attempt - 1)
                    self._warn(f"{what}: {exc}; not processed, sent again in {delay:.2f}s")
                    await asyncio.sleep(delay)
                    continue
                self.retries += 1
                self.unknown_outcomes += 1
                self._warn(f"{what}: {exc}; outcome of {len(pending)} item(s) unknown: looking them up, "
                           "nothing is resent until the venue's state is known")
                await asyncio.sleep(self._backoff(attempt - 1))
                pending = await self._settle_unknown(what, cloids, pending, resolve, expires_after, first_ms,
                                                     check_fills, results)
                if pending and attempt > self.max_retries:
                    for i in pending:
                        results[i] = {"error": f"{what}: not executed by the venue after {attempt} attempts ({exc})"}
                    pending = []
                elif pending:
                    self._warn(f"{what}: {len(pending)} item(s) proven not executed (not found after expiresAfter): "
                               "sending them again with a new expiresAfter")
                continue
            statuses = response_statuses(resp)  # raises ExchangeActionError on a whole-action error
            if len(statuses) != len(pending):
                text = statuses[0].get("error") if statuses and isinstance(statuses[0], dict) else None
                for i in pending:
                    results[i] = {"error": str(text or mismatch_text(statuses))}
            else:
                for i, st in zip(pending, statuses):
                    results[i] = st
            pending = []
        return [results[i] for i in range(len(cloids))]

    async def place_orders(self, wires: list[dict], probes: list | None = None, prepaid: bool = False) -> list:
        """Place orders; returns one status per wire (``resting``/``filled``/``error``; after a lost
        answer also ``canceled``: placed, closed since, e.g. an IOC's rest; or ``unknown``).

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
            if is_rejected_status(status):
                return {"error": f"Order {status} (found after a failed request)", "oid": order["oid"]}
            # placed, then closed (an IOC's rest, a scheduled cancel, ...): not a rejection, it may have filled
            return {CANCELED: {"oid": order["oid"], "cloid": wires[i]["c"], "status": status}}

        return await self._send_resolving("order", lambda pending: order_action([wires[i] for i in pending]),
                                          [w["c"] for w in wires], probes, prepaid, resolve, str, check_fills=True)

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

    async def cancel_by_oid(self, items: list[tuple[int, int]], once: bool = False) -> list:
        """Cancel by oid; ``once``: a single attempt whose failure raises (for a caller that reads
        the venue's open orders again itself, as the stop's sweep does: a cancel sent twice is
        only refused the second time)."""
        if once:
            return response_statuses(await self.exchange_once(cancel_action(items), len(items)))
        return await self._cancel(cancel_action(items), [o for _, o in items])

    async def _cancel(self, action: dict, refs: list, probes: list | None = None) -> list:
        """Cancels are idempotent by nature (a second cancel of a canceled order is only refused),
        but the venue's state still decides: after an ambiguous failure each order is looked up
        (by cloid or oid); canceled = ``"success"``, filled = the venue's "missing order" text,
        still open = sent again. A "missing order" answer to a resend may be our own earlier
        cancel: it counts as a success when ``orderStatus`` shows the order canceled, and is
        :func:`unknown_status` when ``orderStatus`` cannot be asked (not open: canceled or filled,
        never a refusal that would put the order back to open in the node). When the
        retries run out, or the venue cannot be asked, the item is :func:`unknown_status`, never a
        refusal: the caller waits for the venue (orderUpdates, reconciliation) instead of
        resending blindly."""
        what = f"/exchange {action['type']}"
        results: dict[int, Any] = {}
        pending = list(range(len(refs)))
        attempt = 0
        last_exc: HttpError | None = None
        last_expiry: int | None = None

        def cancel_items(idx: list[int]) -> dict:
            if len(idx) == len(refs):
                return action
            key = "cancels"
            return {**action, key: [action[key][i] for i in idx]}

        while pending and attempt <= self.max_retries:
            if attempt > 0 and last_exc is not None and last_exc.status != 429:
                still = []
                for i in pending:
                    try:
                        self.lookups += 1
                        found = await self.order_status(refs[i])
                    except HttpError:
                        still.append(i)
                        continue
                    state = found["order"]["status"] if isinstance(found, dict) and found.get("status") == "order" else None
                    if state is None:
                        results[i] = {"error": f"{MISSING_ORDER} (not found after a failed request)"}
                    elif state == "open":
                        still.append(i)
                    elif state == "filled":
                        results[i] = {"error": f"{MISSING_ORDER} (filled)"}
                    else:
                        results[i] = "success"
                pending = still
                if not pending:
                    break
            last_expiry = self.next_expiry_ms()
            try:
                statuses = response_statuses(await self.exchange_once(cancel_items(pending), len(pending),
                                                                      [probes[i] for i in pending] if probes else None,
                                                                      expires_after=last_expiry))
            except HttpError as exc:
                if not exc.should_retry:
                    raise
                last_exc = exc
                attempt += 1
                self.retries += 1
                if exc.status != 429:
                    self.unknown_outcomes += 1
                delay = self._backoff(attempt - 1)
                self._warn(f"{what}: {exc}; outcome unknown: looking the orders up in {delay:.2f}s before resending")
                await asyncio.sleep(delay)
                continue
            if len(statuses) != len(pending):
                statuses = [statuses[0] if statuses else {"error": "empty cancel response"}] * len(pending)
            for i, st in zip(pending, statuses):
                if attempt > 0 and isinstance(st, dict) and MISSING_ORDER in str(st.get("error", "")):
                    try:
                        found = await self.order_status(refs[i])
                    except HttpError as exc:
                        # not open at the venue: canceled by our lost cancel, or filled; never a refusal
                        self._warn(f"{what}: the resend found {refs[i]} not open at the venue and orderStatus "
                                   f"failed ({exc}): canceled by the lost cancel or filled; left pending, looked up later")
                        results[i] = unknown_status(f"{what}: not open at the venue (canceled or filled), "
                                                    f"the venue could not be asked ({exc})", last_expiry)
                        continue
                    if isinstance(found, dict) and found.get("status") == "order" and found["order"]["status"] != "open" \
                            and found["order"]["status"] != "filled":
                        st = "success"
                results[i] = st
            pending = []
        if pending:  # retries exhausted: the last cancels may still land; look once they have expired
            wait_s = ((last_expiry or _wall_ms()) + self.expiry_margin_ms - _wall_ms()) / 1000.0
            self._warn(f"{what}: {len(pending)} cancel(s) unanswered after {attempt} attempts ({last_exc}); "
                       f"looking the orders up in {max(wait_s, 0):.1f}s")
            if wait_s > 0:
                await asyncio.sleep(wait_s)
            for i in pending:
                try:
                    self.lookups += 1
                    found = await self.order_status(refs[i])
                except HttpError:
                    results[i] = unknown_status(f"{what}: outcome unknown after {attempt} attempts ({last_exc})", None)
                    continue
                state = found["order"]["status"] if isinstance(found, dict) and found.get("status") == "order" else None
                if state == "open" and last_expiry is not None:
                    results[i] = {"error": f"cancel not executed: the order is still open at the venue after {attempt} "
                                           f"attempts ({last_exc})"}
                elif state == "open" or state is None:
                    results[i] = unknown_status(f"{what}: outcome unknown after {attempt} attempts ({last_exc})", None)
                elif state == "filled":
                    results[i] = {"error": f"{MISSING_ORDER} (filled)"}
                else:
                    results[i] = "success"
        return [results[i] for i in range(len(refs))]


__all__ = ["ExchangeActionError", "HLHttpClient", "HttpError", "NonceManager", "TokenBucket", "is_unknown", "unknown_status"]
