"""``POST /exchange``: from the body to the reply; one handler per action type.

:meth:`ActionHandlers.handle` deserializes the envelope (``envelope``; HTTP 422 if it does not
fit), counts the request against the client IP's weight (429 when over, with
``enforce_rate_limits``), brings the market up to the clock, admits the action (``auth``) and runs
its handler. A handler either answers per item (``order``, ``cancel``, ``cancelByCloid``,
``batchModify``: ``{"statuses": [...]}``) or rejects the whole action
(:class:`~.envelope.ExchangeError` -> ``{"status": "err"}``).

Rules where the venue's behaviour is unknown or the twin simplifies:

* ``modify``/``batchModify`` cancel the old order and place a new one with a **new oid** (same
  cloid); the replacement never takes liquidity (GTC is treated as ALO, IOC is refused) unless
  the modify carries ``"a": true``.
* ``order`` supports grouping ``"na"`` only (no TP/SL); trigger orders are refused per order.
* ``scheduleCancel``: at least 5 s ahead, at most 10 triggers per day; the venue's traded-volume
  gate is off unless ``schedule_cancel_min_volume_usd`` is set (or the ``refuse_schedule_cancel``
  fault applies the venue's $1M gate at runtime). ``updateIsolatedMargin`` is
  accepted and does nothing (no isolated-margin accounting). ``reserveRequestWeight`` costs
  0.0005 USDC per request.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from typing import Callable

from botmm_nautilus.venue.actions import CANNOT_MODIFY
from botmm_nautilus.venue.actions import MISSING_ORDER
from botmm_nautilus.venue.actions import MODIFY_REPLACE_FAILED
from botmm_nautilus.venue.limits import exchange_weight

from .accounts import Account
from .auth import Authenticator
from .envelope import UNSUPPORTED_ACTIONS
from .envelope import Envelope
from .envelope import ExchangeError
from .envelope import batch_length
from .envelope import err_reply
from .envelope import ok_default
from .envelope import ok_statuses
from .envelope import parse_envelope
from .feed import MarketFeed
from .state import TwinState
from .trading import Trading
from .wire import DeserializeError
from .wire import OrderWire
from .wire import fmt_plain

RESERVED_WEIGHT_PRICE_USD = Decimal("0.0005")  # per request of reserveRequestWeight
SCHEDULE_CANCEL_MAINNET_VOLUME_USD = Decimal(1_000_000)  # the venue's traded-volume gate (protocol notes 4.4)


class ActionHandlers:
    """Runs admitted ``/exchange`` actions on the exchange state."""

    def __init__(
        self,
        state: TwinState,
        trading: Trading,
        feed: MarketFeed,
        auth: Authenticator,
        sync: Callable[[], None],
    ) -> None:
        self.state = state
        self.trading = trading
        self.feed = feed
        self.auth = auth
        self.sync = sync

    def handle(self, body: Any, client_ip: str = "127.0.0.1") -> tuple[int, Any]:
        """``(http_status, json body or str for 422)``."""
        state = self.state
        with state.lock:
            try:
                env = parse_envelope(body)
            except DeserializeError as exc:
                return 422, exc.http_text
            if state.ip_limited(client_ip, exchange_weight(batch_length(env.action))):
                return 429, None
            self.sync()
            try:
                return 200, self._execute(env)
            except ExchangeError as exc:
                return 200, err_reply(exc.text)

    def _execute(self, env: Envelope) -> dict:
        kind = env.kind
        if kind in UNSUPPORTED_ACTIONS:
            raise ExchangeError(f"Action type {kind} is not supported by the twin.")
        now = self.state.now_ms()
        account = self.auth.admit(env, now, self.state.nonce_now_ms())
        result = getattr(self, "_action_" + kind)(account, env.parsed, now)
        self.feed.flush(now)
        return result

    # ------------------------------------------------------------------ orders
    def _action_order(self, account: Account, parsed: dict, now: int) -> dict:
        if parsed["grouping"] in ("normalTpsl", "positionTpsl"):
            raise ExchangeError("Only grouping \"na\" is supported by the twin (no TP/SL orders).")
        return ok_statuses("order", [self.trading.place(account, wire, now) for wire in parsed["orders"]])

    def _action_cancel(self, account: Account, parsed: list, now: int) -> dict:
        statuses = []
        for asset, oid in parsed:
            order = self.state.open_orders.get(oid)
            if order is None or order.owner != account.address or order.asset != asset:
                statuses.append({"error": f"{MISSING_ORDER}. asset={asset}"})
                continue
            self.trading.cancel_order(order, "canceled", now)
            statuses.append("success")
        return ok_statuses("cancel", statuses)

    def _action_cancelByCloid(self, account: Account, parsed: list, now: int) -> dict:
        statuses = []
        for asset, cloid in parsed:
            order = self.state.cloid_index.get((account.address, cloid))
            if order is None or not order.is_open or order.asset != asset:
                statuses.append({"error": f"{MISSING_ORDER}. asset={asset}"})
                continue
            self.trading.cancel_order(order, "canceled", now)
            statuses.append("success")
        return ok_statuses("cancel", statuses)

    def _modify_one(self, account: Account, ref: int | str, wire: OrderWire, now: int, always_place: bool = False) -> dict:
        """Cancel the old order and place the replacement (new oid). Without ``always_place`` (the
        optional ``"a": true`` flag) the replacement is post-only: it never takes liquidity."""
        order = self.state.find_order(account.address, ref)
        if order is None or not order.is_open:
            return {"error": CANNOT_MODIFY}
        if wire.is_trigger or wire.asset != order.asset:
            return {"error": "Attempted to modify to invalid new order"}
        self.trading.cancel_order(order, "canceled", now)
        status = self.trading.place(account, wire, now, modify_mode=not always_place)
        if "error" in status:
            return {"error": f"{MODIFY_REPLACE_FAILED}: {status['error']}"}
        return status

    def _action_batchModify(self, account: Account, parsed: list, now: int) -> dict:
        return ok_statuses("order", [self._modify_one(account, ref, wire, now, always) for ref, wire, always in parsed])

    def _action_modify(self, account: Account, parsed: list, now: int) -> dict:
        ref, wire, always = parsed[0]
        status = self._modify_one(account, ref, wire, now, always)
        if "error" in status:
            raise ExchangeError(status["error"])
        return ok_default()

    # ------------------------------------------------------------------ account settings
    def _action_scheduleCancel(self, account: Account, deadline_ms: int | None, now: int) -> dict:
        cfg = self.state.config
        gate = Decimal(cfg.schedule_cancel_min_volume_usd)
        if self.state.faults.schedule_cancel_refused:  # the fault: the venue's (mainnet) gate, at its figure
            gate = max(gate, SCHEDULE_CANCEL_MAINNET_VOLUME_USD)
        if gate > 0 and account.cum_volume_usd < gate:
            raise ExchangeError(
                f"Cannot set scheduled cancel time until enough volume traded. Required: ${fmt_plain(gate)}. "
                f"Traded: ${fmt_plain(account.cum_volume_usd)}."
            )
        if deadline_ms is None:
            account.schedule_cancel_ms = None
            return ok_default()
        if deadline_ms < now + cfg.schedule_cancel_min_delay_ms:
            raise ExchangeError("Scheduled cancel time too early, must be at least 5 seconds after current time.")
        if account.schedule_cancel_triggers_on(now) >= cfg.schedule_cancel_max_triggers_per_day:
            raise ExchangeError(
                f"Too many scheduled cancel triggers today (max {cfg.schedule_cancel_max_triggers_per_day} per day)."
            )
        account.schedule_cancel_ms = deadline_ms
        account.schedule_cancel_sets += 1
        return ok_default()

    def _action_updateLeverage(self, account: Account, parsed: tuple, now: int) -> dict:
        state = self.state
        asset, is_cross, leverage = parsed
        if not 0 <= asset < len(state.coins):
            raise ExchangeError(f"Invalid asset: {asset}")
        coin = state.coins[asset].name
        if not 1 <= leverage <= state.max_leverage[coin]:
            raise ExchangeError("Invalid leverage value")
        current = account.leverage_for(coin)
        if current.is_cross != is_cross and account.szi(coin) != 0:
            raise ExchangeError("Cannot switch leverage type with open position.")
        current.is_cross = is_cross
        current.value = leverage
        return ok_default()

    def _action_updateIsolatedMargin(self, account: Account, parsed: Any, now: int) -> dict:
        return ok_default()  # accepted; the twin does not keep isolated margin apart

    def _action_noop(self, account: Account, parsed: Any, now: int) -> dict:
        return ok_default()

    def _action_reserveRequestWeight(self, account: Account, weight: int, now: int) -> dict:
        cost = Decimal(weight) * RESERVED_WEIGHT_PRICE_USD
        if cost > account.balance_usd:
            raise ExchangeError("Insufficient balance to reserve request weight.")
        account.balance_usd -= cost
        account.extra_request_weight += weight
        return ok_default()

    def _action_approveAgent(self, account: Account, parsed: dict, now: int) -> dict:
        if parsed["agent"] in self.state.accounts:
            raise ExchangeError("Cannot approve an existing user as an agent.")
        error = self.state.agents.approve(account.address, parsed["agent"], parsed["name"])
        if error:
            raise ExchangeError(error)
        return ok_default()
