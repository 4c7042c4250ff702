"""Async Hyperliquid REST client: ``POST /info`` and signed ``POST /exchange`` (aiohttp).

* Signing: the SDK's pure helper ``hyperliquid.utils.signing.sign_l1_action`` (EIP-712 phantom
  agent; source ``"a"`` on mainnet, ``"b"`` otherwise).
* Nonces: strictly increasing per signer, ``max(last + 1, now_ms)``, shared by every client of
  the process that signs with the same key (:class:`NonceManager`).
* Rate limits: a token bucket for the IP weight budget (1200/min, PROTOCOL 7.6: /info weight 2 or
  20, /exchange ``1 + n // 40``) and a local mirror of the address action budget (10000 + 1 per
  USDC traded; read from ``userRateLimit``): when exhausted the venue allows one action per 10 s,
  so do we.
* Retries: HTTP 429, 5xx, timeouts and dropped connections back off exponentially. ``/info`` is
  simply repeated. An ``/exchange`` action is *never blindly resubmitted*: after an ambiguous
  failure the caller-level helpers (:meth:`place_orders`, :meth:`modify_order`, :meth:`cancel_*`)
  ask ``orderStatus`` by cloid which orders the venue already has, and resubmit only the rest.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import aiohttp

from adapters.hyperliquid.constants import ADDRESS_BASE_BUDGET
from adapters.hyperliquid.constants import CANNOT_MODIFY
from adapters.hyperliquid.constants import INFO_WEIGHT_2
from adapters.hyperliquid.constants import IP_WEIGHT_PER_MINUTE
from adapters.hyperliquid.constants import MISSING_ORDER
from adapters.hyperliquid.parsing import ExchangeActionError
from adapters.hyperliquid.parsing import batch_modify_action
from adapters.hyperliquid.parsing import cancel_action
from adapters.hyperliquid.parsing import cancel_by_cloid_action
from adapters.hyperliquid.parsing import order_action
from adapters.hyperliquid.parsing import response_statuses


class HLHttpError(Exception):
    """Non-retriable HTTP answer (4xx other than 429) or retries exhausted."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TransientError(Exception):
    """429 / 5xx / timeout / connection error: the request may or may not have been processed."""


class NonceManager:
    """Strictly increasing millisecond nonces per signer address (thread-safe, process-wide)."""

    _lock = threading.Lock()
    _last: dict[str, int] = {}

    @classmethod
    def next(cls, signer: str) -> int:
        now = int(time.time() * 1000)
        with cls._lock:
            nonce = max(now, cls._last.get(signer, 0) + 1)
            cls._last[signer] = nonce
            return nonce


class TokenBucket:
    """``capacity`` tokens refilled at ``capacity / 60`` per second; ``acquire(w)`` waits."""

    def __init__(self, capacity: int = IP_WEIGHT_PER_MINUTE) -> None:
        self.capacity = float(capacity)
        self.tokens = float(capacity)
        self.rate = capacity / 60.0
        self.stamp = time.monotonic()
        self.waited_s = 0.0
        self.created = self.stamp
        self.weight_used = 0.0  # cumulative weight acquired (reports: IP weight per minute)

    async def acquire(self, weight: float) -> None:
        while True:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= weight:
                self.tokens -= weight
                self.weight_used += weight
                return
            wait = (weight - self.tokens) / self.rate
            self.waited_s += wait
            await asyncio.sleep(wait)


_SHARED_BUCKETS: dict[str, TokenBucket] = {}


def shared_bucket(base_url: str) -> TokenBucket:
    """One IP-weight bucket per venue URL for the whole process: the venue's 1200/min budget is per
    IP, so the data and execution clients must draw from the same bucket, not 1200/min each."""
    key = base_url.rstrip("/")
    bucket = _SHARED_BUCKETS.get(key)
    if bucket is None:
        bucket = _SHARED_BUCKETS[key] = TokenBucket()
    return bucket


def info_weight(body: dict) -> int:
    kind = body.get("type") if isinstance(body, dict) else None
    return 2 if kind in INFO_WEIGHT_2 else 20


class HLHttpClient:
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
        log=None,
        bucket: TokenBucket | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._wallet = wallet  # eth_account LocalAccount; never logged
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
        self._log = log
        self.bucket = bucket or shared_bucket(self.base_url)
        self._session: aiohttp.ClientSession | None = None
        # address action budget (mirrors userRateLimit)
        self.address_used = 0
        self.address_cap = ADDRESS_BASE_BUDGET
        self._last_throttled_action = 0.0
        # counters (tests, reports)
        self.retries = 0
        self.actions_sent = 0
        self.last_send_perf_ns = 0

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
        if self._log is not None:
            self._log.warning(msg)

    def _backoff(self, attempt: int) -> float:
        return min(self.delay_max, self.delay0 * (2 ** attempt))

    async def _post_once(self, path: str, body: Any) -> Any:
        sess = await self._sess()
        try:
            async with sess.post(self.base_url + path, data=json.dumps(body, separators=(",", ":")),
                                 headers={"Content-Type": "application/json"}) as resp:
                text = await resp.text()
                if resp.status == 429 or resp.status >= 500:
                    raise TransientError(f"HTTP {resp.status} on {path}")
                if resp.status != 200:
                    raise HLHttpError(f"HTTP {resp.status} on {path}: {text[:200]}", resp.status)
                return json.loads(text) if text else None
        except (aiohttp.ClientConnectionError, asyncio.TimeoutError, aiohttp.ServerDisconnectedError) as exc:
            raise TransientError(f"{type(exc).__name__} on {path}: {exc}") from None

    # ------------------------------------------------------------------ /info
    async def info(self, body: dict) -> Any:
        """``/info`` with backoff on 429/5xx/connection errors (reads are idempotent)."""
        for attempt in range(self.max_retries + 1):
            await self.bucket.acquire(info_weight(body))
            try:
                return await self._post_once("/info", body)
            except TransientError as exc:
                if attempt >= self.max_retries:
                    raise HLHttpError(f"/info {body.get('type')} failed after {attempt + 1} attempts: {exc}") from None
                self.retries += 1
                delay = self._backoff(attempt)
                self._warn(f"/info {body.get('type')}: {exc}; retry in {delay:.2f}s")
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def meta_and_ctxs(self) -> list:
        return await self.info({"type": "metaAndAssetCtxs"})

    async def clearinghouse_state(self) -> dict:
        return await self.info({"type": "clearinghouseState", "user": self.user})

    async def open_orders(self) -> list:
        return await self.info({"type": "frontendOpenOrders", "user": self.user})

    async def order_status(self, oid_or_cloid: int | str) -> dict:
        return await self.info({"type": "orderStatus", "user": self.user, "oid": oid_or_cloid})

    async def user_fills_by_time(self, start_ms: int, end_ms: int | None = None) -> list:
        body = {"type": "userFillsByTime", "user": self.user, "startTime": int(start_ms)}
        if end_ms is not None:
            body["endTime"] = int(end_ms)
        return await self.info(body)

    async def refresh_rate_limit(self) -> None:
        try:
            data = await self.info({"type": "userRateLimit", "user": self.user})
            self.address_used = int(data.get("nRequestsUsed", 0))
            self.address_cap = int(data.get("nRequestsCap", ADDRESS_BASE_BUDGET))
        except Exception as exc:  # noqa: BLE001 - informative only
            self._warn(f"userRateLimit unavailable: {exc}")

    # ------------------------------------------------------------------ /exchange
    def sign(self, action: dict, nonce: int) -> dict:
        from hyperliquid.utils.signing import sign_l1_action

        if self._wallet is None:
            raise HLHttpError("no signing key configured")
        signature = sign_l1_action(self._wallet, action, self.vault_address, nonce, None, self.is_mainnet)
        return {"action": action, "nonce": nonce, "signature": signature, "vaultAddress": self.vault_address,
                "expiresAfter": None}

    async def _address_budget(self, n: int, is_cancel: bool) -> None:
        cap = self.address_cap if not is_cancel else min(self.address_cap + 100_000, 2 * self.address_cap)
        if self.address_used + n > cap:
            wait = 10.0 - (time.monotonic() - self._last_throttled_action)
            if wait > 0:
                self._warn(f"address action budget exhausted ({self.address_used}/{cap}); waiting {wait:.1f}s")
                await asyncio.sleep(wait)
            self._last_throttled_action = time.monotonic()

    async def exchange_once(self, action: dict, n_items: int = 1) -> dict:
        """Sign and send one action once (raises TransientError when the outcome is unknown)."""
        await self._address_budget(n_items, action.get("type", "").startswith("cancel"))
        await self.bucket.acquire(1 + n_items // 40)
        body = self.sign(action, NonceManager.next(self.signer))
        self.actions_sent += 1
        self.last_send_perf_ns = time.perf_counter_ns()
        resp = await self._post_once("/exchange", body)
        self.address_used += n_items
        if isinstance(resp, dict) and resp.get("status") == "err" and "Too many cumulative requests" in str(resp.get("response")):
            self.address_used = max(self.address_used, self.address_cap)
        return resp

    async def exchange(self, action: dict, n_items: int = 1) -> dict:
        """Send an action that is idempotent by nature (scheduleCancel, noop, leverage): plain retries."""
        for attempt in range(self.max_retries + 1):
            try:
                return await self.exchange_once(action, n_items)
            except TransientError as exc:
                if attempt >= self.max_retries:
                    raise HLHttpError(f"/exchange {action.get('type')} failed after {attempt + 1} attempts: {exc}") from None
                self.retries += 1
                delay = self._backoff(attempt)
                self._warn(f"/exchange {action.get('type')}: {exc}; retry in {delay:.2f}s")
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def order_status_by_cloid(self, cloid: str) -> dict | None:
        res = await self.order_status(cloid)
        if isinstance(res, dict) and res.get("status") == "order":
            return res["order"]
        return None

    async def place_orders(self, wires: list[dict], before_send=None) -> list:
        """Place orders; returns one status per wire (``resting``/``filled``/``error``).

        After an ambiguous failure, orders the venue already knows (by cloid) are not resent.
        Every wire must carry a cloid (``c``).
        """
        results: dict[int, Any] = {}
        pending = list(range(len(wires)))
        for attempt in range(self.max_retries + 1):
            action = order_action([wires[i] for i in pending])
            if before_send is not None:
                before_send()
            try:
                resp = await self.exchange_once(action, len(pending))
            except TransientError as exc:
                if attempt >= self.max_retries:
                    raise HLHttpError(f"order failed after {attempt + 1} attempts: {exc}") from None
                self.retries += 1
                delay = self._backoff(attempt)
                self._warn(f"/exchange order: {exc}; checking cloids, retry in {delay:.2f}s")
                await asyncio.sleep(delay)
                still = []
                for i in pending:
                    found = await self.order_status_by_cloid(wires[i]["c"])
                    if found is None:
                        still.append(i)
                        continue
                    order, status = found["order"], found["status"]
                    if status == "open":
                        results[i] = {"resting": {"oid": order["oid"], "cloid": wires[i]["c"]}}
                    elif status == "filled":
                        results[i] = {"filled": {"totalSz": order.get("origSz", order["sz"]), "avgPx": order["limitPx"],
                                                 "oid": order["oid"], "cloid": wires[i]["c"]}}
                    else:
                        results[i] = {"error": f"Order {status} (found after a failed request)", "oid": order["oid"]}
                pending = still
                if not pending:
                    break
                continue
            statuses = response_statuses(resp)  # raises ExchangeActionError on a whole-action error
            if len(statuses) != len(pending):
                text = statuses[0].get("error") if statuses and isinstance(statuses[0], dict) else str(statuses)
                for i in pending:
                    results[i] = {"error": str(text)}
            else:
                for i, st in zip(pending, statuses):
                    results[i] = st
            break
        return [results[i] for i in range(len(wires))]

    async def modify_order(self, oid: int, wire: dict, before_send=None) -> dict:
        """``batchModify`` of one order (answers the new oid); safe against ambiguous failures."""
        for attempt in range(self.max_retries + 1):
            if before_send is not None:
                before_send()
            try:
                resp = await self.exchange_once(batch_modify_action([(oid, wire)]), 1)
            except TransientError as exc:
                if attempt >= self.max_retries:
                    raise HLHttpError(f"modify failed after {attempt + 1} attempts: {exc}") from None
                self.retries += 1
                delay = self._backoff(attempt)
                self._warn(f"/exchange batchModify: {exc}; checking cloid, retry in {delay:.2f}s")
                await asyncio.sleep(delay)
                found = await self.order_status_by_cloid(wire["c"])
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
                continue  # old order still open: the modify was not applied, send it again
            statuses = response_statuses(resp)
            return statuses[0] if statuses else {"error": "empty batchModify response"}
        raise AssertionError("unreachable")

    async def cancel_by_cloid(self, items: list[tuple[int, str]]) -> list:
        return await self._cancel(cancel_by_cloid_action(items), [c for _, c in items])

    async def cancel_by_oid(self, items: list[tuple[int, int]]) -> list:
        return await self._cancel(cancel_action(items), [o for _, o in items])

    async def _cancel(self, action: dict, refs: list) -> list:
        retried = False
        for attempt in range(self.max_retries + 1):
            try:
                resp = await self.exchange_once(action, len(refs))
            except TransientError as exc:
                if attempt >= self.max_retries:
                    raise HLHttpError(f"cancel failed after {attempt + 1} attempts: {exc}") from None
                self.retries += 1
                retried = True
                delay = self._backoff(attempt)
                self._warn(f"/exchange {action['type']}: {exc}; retry in {delay:.2f}s")
                await asyncio.sleep(delay)
                continue
            statuses = response_statuses(resp)
            if retried:  # a "missing order" answer after a lost request may be our own earlier cancel
                fixed = []
                for ref, st in zip(refs, statuses):
                    if isinstance(st, dict) and MISSING_ORDER in str(st.get("error", "")):
                        found = await self.order_status(ref)
                        if isinstance(found, dict) and found.get("status") == "order" and found["order"]["status"] == "canceled":
                            st = "success"
                    fixed.append(st)
                statuses = fixed
            return statuses
        raise AssertionError("unreachable")


__all__ = ["ExchangeActionError", "HLHttpClient", "HLHttpError", "NonceManager", "TokenBucket", "TransientError"]
