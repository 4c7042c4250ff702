"""``HLExecutionClient``: orders, fills, reconciliation and account state for Hyperliquid.

* NETTING, MARGIN, base currency USDC, account id ``HL-master``.
* Orders: LIMIT only, ALO (``post_only``) / GTC / IOC, reduce-only. Every order carries a cloid
  derived from its ClientOrderId (``venue.actions.cloid_for``, a deterministic 16-byte hash; orders
  recovered from the venue get the cloid itself as ClientOrderId), so retries are idempotent.
* Modify = ``batchModify`` (the twin and the venue cancel-replace and assign a NEW oid;
  ``batchModify`` answers that oid synchronously, plain ``modify`` does not): an ``OrderUpdated``
  with ``venue_order_id_modified=True``. The cancel of the old oid on ``orderUpdates`` is ignored.
* Batching: the single-order submits and the modifies that reach the client in the same event
  loop turn (one strategy decision, often several coins' decisions) go out as ONE signed
  ``order`` / ``batchModify`` action (:meth:`HLExecutionClient._batched`): one signature, one
  request, one unit of IP weight instead of one per order. Under IP pacing the batch stays open
  while it waits its turn, so later commands join it instead of queueing.
* Fills come from the ``userFills`` WebSocket channel, deduplicated by ``tid`` (and against the
  order's trade ids, so a reconnect snapshot never double counts); order state changes from
  ``orderUpdates``. HTTP responses drive accept/reject/modify/cancel; the WS confirms.
  Each fill of a message is applied on its own: one that cannot be applied is logged, counted
  (``bad_fills``) and its tid left unseen; the others go on.
* Execution WebSocket liveness: pinged every ``ws_heartbeat_secs``, nothing back within
  ``ws_pong_timeout_secs`` (or nothing at all for ``ws_stale_secs``) -> dead, rebuilt. While it is
  down our fills are unknown: venue health ``exec_ws`` holds every instrument (repeated every 2 s)
  until it is back and the fills since the drop were fetched (``userFillsByTime``) and applied.
* Errors: every per-order error text becomes ``OrderRejected`` (``due_post_only`` for "Post only
  order would have immediately matched"), ``OrderModifyRejected`` or ``OrderCancelRejected`` with
  the venue's reason; whole-action errors (signature, nonce, rate limit) likewise.
* Unknown outcomes (money safety): an order, modify or cancel whose answer was lost and whose
  fate the HTTP client could not learn (``http.is_unknown``; see ``http`` for the lookups and the
  signed ``expiresAfter`` that make a resend safe) is NEVER reported rejected: the order stays
  SUBMITTED (a modify / cancel stays pending) until the venue's state is known, from
  ``orderUpdates``/``userFills`` or from a lookup by cloid every few seconds
  (:meth:`HLExecutionClient._settle_later`); only a cloid not found after its action's
  ``expiresAfter`` is rejected ("never reached the venue"). Duplicate cloid: the venue refuses an
  order whose cloid an open order of the account holds, but accepts a used cloid again once its
  order is closed; this client never sends a cloid again before the lookups proved it absent.
* Fills: every fill of ours is applied whatever the local state, with a log line when the order
  was closed locally (Nautilus 1.231 accepts ``OrderFilled`` on a CANCELED order: "real world
  possibility"); a fill for an order the node closed otherwise (rejected, filled) is logged as an
  error naming the trade, for reconciliation. A ``canceled`` (or rejected) ``orderUpdate`` that
  arrives before the HTTP answer of our submit closes the order (accepted, then canceled).
* One report per change (``event_guard.EmitOnce``): the engine applies our events from a queue,
  and the venue reports one change on several paths (the HTTP answer, ``orderUpdates``,
  ``userFills``). An ``OrderAccepted``/``OrderRejected`` or ``OrderCanceled`` already emitted and
  still queued is not emitted again (counted in ``duplicate_events_skipped``); a fill emitted after
  a queued cancel is followed by a new cancel (Nautilus reopens a canceled order on a partial fill).
* Dead-man's switch: ``scheduleCancel(now + dead_man_deadline_secs)`` on connect and every
  ``dead_man_refresh_secs``. ``dead_man_sets`` counts sets the venue confirmed (answer ok),
  ``dead_man_failures`` the rest (refused: mainnet needs $1M traded volume, 10 triggers a day;
  or the request failed). On a failure ``dead_man_on_failure`` decides: ``stop_quoting`` publishes
  the venue-health key ``dead_man`` blocked (every MarketMaker cancels all and holds; repeated to
  a strategy that starts later) until a set succeeds; ``warn`` keeps quoting with a loud log line
  every refresh. The deadline is placed on the venue's clock read from the newest ``l2Book`` time
  (the node's ``VenueClock``, fed by the data client), ``clearinghouseState`` only when no book
  arrived in the last 2 s. If the process dies, the venue cancels every open order at the
  deadline. (The venue's 10/day limit counts triggers, not sets.)
* Rate budget (:meth:`HLExecutionClient._rate_budget_loop`): every ``rate_budget_check_secs`` the
  address action budget is judged from the local mirror (re-read from ``userRateLimit`` every
  ``rate_budget_refresh_secs``, at each check while short or exhausted, and after the venue
  refused an action for it): short (less than ``rate_budget_short_frac`` of the cap left, or the
  current rate uses it up within ``rate_budget_short_minutes``) publishes a ``QuoteBudget`` (at
  most ``rate_budget_short_levels`` levels a side, requotes ``rate_budget_short_requote_mult``
  times less often); exhausted holds every strategy on ``"rate_budget"`` (cancel all; cancels
  have their own cap) until ``rate_budget_resume_actions`` are left, and meanwhile the HTTP
  client refuses order and modify actions past the cap before sending them (reduce-only orders
  and cancels still go). Each change is logged.
* Stop (``_disconnect``): every order of our coins the VENUE lists is canceled, by oid, until its
  open orders are empty or ``stop_cancel_deadline_secs`` (``stop_sweep``); the switch is cleared
  only then, otherwise armed a few seconds ahead, with a loud log line.
* Reconciliation while running: Nautilus's open-order and position checks call the report
  methods below; each difference is logged here in one line (what differed, what is done): an
  order the venue closed is closed with the fills the node missed, an order the node closed but
  the venue still lists is canceled at the venue, an order unknown to the node is taken over.
* Account: **reported** (``generate_account_state(reported=True)``) from ``clearinghouseState`` on
  connect, after fills (at most once per ``account_min_interval_secs``, yielding to paced orders)
  and every ``account_refresh_secs``. Balance = account value
  minus unrealized PnL (Nautilus adds unrealized PnL itself); locked = margin used. Chosen over a
  calculated account because the venue is the authority on funding, fees and margin.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from decimal import Decimal

import msgspec
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.common.enums import ComponentState
from nautilus_trader.common.messages import ComponentStateChanged
from nautilus_trader.execution.messages import BatchCancelOrders
from nautilus_trader.execution.messages import CancelAllOrders
from nautilus_trader.execution.messages import CancelOrder
from nautilus_trader.execution.messages import GenerateFillReports
from nautilus_trader.execution.messages import GenerateOrderStatusReport
from nautilus_trader.execution.messages import GenerateOrderStatusReports
from nautilus_trader.execution.messages import GeneratePositionStatusReports
from nautilus_trader.execution.messages import ModifyOrder
from nautilus_trader.execution.messages import SubmitOrder
from nautilus_trader.execution.messages import SubmitOrderList
from nautilus_trader.execution.reports import FillReport
from nautilus_trader.execution.reports import OrderStatusReport
from nautilus_trader.execution.reports import PositionStatusReport
from nautilus_trader.live.execution_client import LiveExecutionClient
from nautilus_trader.model.currencies import USDC
from nautilus_trader.model.enums import AccountType
from nautilus_trader.model.enums import OmsType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import OrderType
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.identifiers import AccountId
from nautilus_trader.model.identifiers import ClientId
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.identifiers import StrategyId
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.identifiers import VenueOrderId
from nautilus_trader.model.objects import AccountBalance
from nautilus_trader.model.objects import Money

from botmm_nautilus.engine.venue_health import publish_health
from botmm_nautilus.engine.venue_health import publish_quote_budget
from botmm_nautilus.venue import actions
from botmm_nautilus.venue.errors import ExchangeActionError
from botmm_nautilus.venue.errors import HyperliquidError
from botmm_nautilus.venue.errors import MalformedMessage
from botmm_nautilus.venue.limits import BUDGET_EXHAUSTED
from botmm_nautilus.venue.limits import BUDGET_OK
from botmm_nautilus.venue.limits import BUDGET_SHORT
from botmm_nautilus.venue.limits import EXCHANGE_ITEMS_PER_WEIGHT
from botmm_nautilus.venue.limits import address_budget_state
from botmm_nautilus.venue.messages import UserFill
from botmm_nautilus.venue.messages import decode_fill
from botmm_nautilus.venue.messages import decode_order
from botmm_nautilus.venue.messages import decode_order_update
from botmm_nautilus.venue.messages import is_rejected_status

from . import parsing
from .config import HLExecClientConfig
from .constants import ACCOUNT_ID
from .constants import HL_VENUE
from .event_guard import WAITING as _WAITING
from .event_guard import EmitOnce
from .http import HLHttpClient
from .http import HttpError
from .http import is_unknown
from .instruments import coin_of
from .node_state import HLNodeState
from .providers import HLInstrumentProvider
from .stop_sweep import cancel_venue_orders
from .stop_sweep import finish_dead_man
from .tasks import background_task
from .ws import HLWebSocketClient

EXEC_WS = "exec_ws"  # venue health key: the execution WebSocket is dead
_EXEC_WS_REPEAT_S = 2.0
_MAX_BATCH = EXCHANGE_ITEMS_PER_WEIGHT - 1  # /exchange weight is 1 + n // 40: up to 39 items cost one unit
_MAX_STATUS_QUERIES = 10  # orderStatus look-ups (weight 2 each) of orders missing at the venue, per open-order check


class HLSignerError(HyperliquidError):
    """The venue does not know the signing key (wrong key, unfunded account, unapproved agent)."""


class HLExecutionClient(LiveExecutionClient):
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        instrument_provider: HLInstrumentProvider,
        config: HLExecClientConfig,
        http: HLHttpClient,
        node_state: HLNodeState,
        name: str | None = None,
    ) -> None:
        super().__init__(
            loop=loop,
            client_id=ClientId(name or HL_VENUE.value),
            venue=HL_VENUE,
            oms_type=OmsType.NETTING,
            account_type=AccountType.MARGIN,
            base_currency=USDC,
            instrument_provider=instrument_provider,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            config=config,
        )
        self._config = config
        self._provider = instrument_provider
        self._http = http
        # shared with the node's data client (made by the factories): the venue's clock read off
        # the books, and the tick-to-order probe
        self._node_state = node_state
        self._venue_clock = node_state.venue_clock(config.http_base())
        self._probe = node_state.probe
        node_state.attach(self)
        self._set_account_id(AccountId(ACCOUNT_ID))
        self._ws = HLWebSocketClient(
            config.ws_base(), self._on_ws, on_reconnect=self._on_ws_reconnect, on_disconnect=self._on_ws_disconnect,
            heartbeat_s=config.ws_heartbeat_secs, pong_timeout_s=config.ws_pong_timeout_secs,
            stale_s=config.ws_stale_secs, reconnect_max_s=config.ws_reconnect_max_secs,
            stable_s=config.ws_stable_secs, log=self._log, name="hl-exec-ws",
        )
        self._ws_down_since_ms: int | None = None  # the execution WebSocket is dead since (epoch ms)
        self._ws_health_task: asyncio.Task | None = None
        self.exec_ws_holds = 0
        self.bad_fills = 0
        self._cloid_to_coid: dict[str, ClientOrderId] = {}
        self._replaced_oids: set[int] = set()  # old oids of modifies the venue confirmed
        self._modifying: set[int] = set()  # oids with a modify in flight
        self._deferred_cancels: dict[int, str] = {}  # "canceled" updates seen for those oids
        self._dead_man_sample: tuple[float, int] | None = None
        self._venue_clock_rate = 1.0
        self._seen_tids: set[int] = set()
        self._hl_tasks: list[asyncio.Task] = []
        self._account_dirty = asyncio.Event()
        self._batches: dict[str, list] = {}  # key -> commands of this loop turn (see _batched)
        self._batching = os.environ.get("BOTMM_HL_BATCH", "1") != "0"  # "0": one action per command (benchmarks)
        self.batched_requests = 0  # actions that carried more than one command
        self.batched_items = 0
        self.account_refreshes = 0
        self.paced_batches = 0  # batches held open while the IP budget refilled
        self.modify_overlaps = 0  # a modify for an order whose previous modify was still in flight
        self.venue_clock_polls = 0  # clearinghouseState calls made only to read the venue's clock
        self._open_orders_task: asyncio.Future | None = None
        self._open_orders_t = 0.0
        self.dead_man_sets = 0  # sets the venue confirmed
        self.dead_man_failures = 0  # refused or failed sets
        self._dead_man_down: str | None = None  # why the last set failed (None: the switch is set)
        # differences met by the running reconciliation (see the report methods)
        self.recon = {"orders_missing_at_venue": 0, "orders_closed": 0, "orders_unknown_to_node": 0,
                      "orders_canceled_at_venue": 0, "missed_fills": 0, "position_differences": 0}
        self.stop_result: dict = {}
        self._trading = False  # a strategy runs: the start-up reconciliation is over
        self.budget_state = BUDGET_OK  # the address budget as last judged (ok / short / exhausted)
        self.budget_changes: list[tuple[int, str, str]] = []  # (ts_ns, state, reason)
        self._budget_samples: deque = deque()  # (monotonic s, actions sent) over the rate window
        self.modify_races = 0  # modifies refused because the order had just left the book
        self.unknown_outcomes = 0  # orders/modifies/cancels whose fate was unknown after the HTTP call
        self.late_fills = 0  # fills applied to an order the node had already closed
        self._emitted = EmitOnce()  # accepts / cancels emitted and still queued in the engine
        self.duplicate_events_skipped = {"accepted": 0, "canceled": 0, "rejected": 0}  # second reports of one change, not emitted
        self.errors: list[str] = []

    # ================================================================== reports (read-only)
    def counters(self) -> dict:
        """Errors recorded (up to 1000) and the client's counters."""
        return {
            "errors": list(self.errors),
            "http_retries": self._http.retries,
            "ws_reconnects": self._ws.reconnects,
            "dead_man_sets": self.dead_man_sets,
            "dead_man_failures": self.dead_man_failures,
            "reconciliation": dict(self.recon),
            "stop": dict(self.stop_result),
            "venue_clock_rate": round(self._venue_clock_rate, 3),  # venue ms per wall ms (a replay may run faster)
            "modify_races": self.modify_races,
            "exec_ws_holds": self.exec_ws_holds,  # times the dead execution WebSocket held quoting
            "bad_fills": self.bad_fills,  # userFills items that could not be applied (logged)
            "exec_ws_malformed_frames": self._ws.malformed_frames,
            "unknown_outcomes": self.unknown_outcomes,
            "late_fills": self.late_fills,
            "duplicate_events_skipped": dict(self.duplicate_events_skipped),
            "http_lookups": self._http.lookups,
        }

    def rate_budget(self) -> dict:
        """The venue's rate budgets as this client saw them: the IP weight budget (shared with the
        node's data client: its requests are in it too) by request type, the address action budget
        by action type, and what our limiter delayed; ``steady``: the same per hour from the first
        order to the stop (:meth:`mark_stop`), start-up and stop excluded."""
        http = self._http
        bucket = http.bucket
        now = time.monotonic()
        minutes = max((now - bucket.created) / 60.0, 1e-9)
        out = {
            "ip_weight_budget_per_min": bucket.capacity,
            "ip_weight_used": round(bucket.weight_used, 1),
            "ip_weight_per_min": round(bucket.weight_used / minutes, 1),
            "ip_weight_window_min": round(minutes, 3),
            "ip_throttled_s": round(bucket.waited_s, 3),
            "ip_throttled_requests": bucket.waits,
            "exchange_actions_sent": http.actions_sent,
            "address_requests_used": http.address_used,  # local mirror of userRateLimit.nRequestsUsed
            "address_requests_cap": http.address_cap,
            "address_requests_left": http.address_left(),
            "address_cum_volume_usd": round(http.cum_vlm_usd, 2),
            "address_budget_state": self.budget_state,
            "address_budget_changes": len(self.budget_changes),
            "address_over_budget_actions": http.address_over_budget_actions,
            "address_refused_actions": http.address_refused_actions,  # orders/modifies not sent while exhausted
            "exchange_paced_requests": http.exchange_waits,  # order/modify/cancel actions the limiter delayed
            "exchange_paced_s": round(http.exchange_wait_s, 3),
            "batched_requests": self.batched_requests,  # actions that carried several commands
            "batched_commands": self.batched_items,
            "account_refreshes": self.account_refreshes,
            "venue_clock_polls": self.venue_clock_polls,
            "paced_batches": self.paced_batches,
            "modify_overlaps": self.modify_overlaps,
            # weight / requests by request type ("info:<type>", "exchange:<action>"), both clients
            "weight_by_type": {k: round(v, 1) for k, v in sorted(bucket.weight_by_type.items())},
            "requests_by_type": dict(sorted(bucket.requests_by_type.items())),
            "address_by_action": dict(sorted(http.address_by_type.items())),
        }
        if http.quoting_mark is not None:
            t0, w0, a0 = http.quoting_mark
            # up to the stop request if there was one (the stop's cancel-all sweep is a one-off too)
            t1, w1, a1 = http.stop_mark or (now, bucket.weight_used, http.address_used)
            hours = max((t1 - t0) / 3600.0, 1e-9)
            out["steady"] = {
                "window_s": round(t1 - t0, 1),
                "ip_weight_per_min": round((w1 - w0) / hours / 60.0, 1),
                "ip_weight_per_hour": round((w1 - w0) / hours, 0),
                "address_actions_per_hour": round((a1 - a0) / hours, 0),
            }
        return out

    def mark_stop(self) -> None:
        """Note that a stop was requested: the steady window of :meth:`rate_budget` ends here."""
        self._http.mark_stop()

    # ================================================================== lifecycle
    async def _connect(self) -> None:
        await self._provider.initialize()
        await self.check_rate_budget()  # reads userRateLimit; an exhausted budget refuses orders from the start
        await self._verify_signer()
        user = self._http.user
        await self._ws.subscribe({"type": "orderUpdates", "user": user})
        await self._ws.subscribe({"type": "userFills", "user": user})
        await self._ws.start()
        await self._update_account_state()
        await self._await_account_registered()
        self._hl_tasks.append(background_task(self._loop, self._account_loop(), self._log))
        if self._config.dead_man_deadline_secs > 0:
            self._hl_tasks.append(background_task(self._loop, self._dead_man_loop(), self._log))
        if self._config.rate_budget_check_secs > 0:
            self._hl_tasks.append(background_task(self._loop, self._rate_budget_loop(), self._log))
        # a strategy that starts after a failed dead-man set must hear of it at once; the first one
        # running also ends the start-up reconciliation (differences are logged one by one after it)
        self._msgbus.subscribe(topic="events.system.*", handler=self._on_component_state)
        self._log.info(f"connected: user {user}, signer {self._http.signer}, {self._config.http_base()}")

    async def _disconnect(self) -> None:
        for task in self._hl_tasks:
            task.cancel()
        self._hl_tasks.clear()
        if self._msgbus.is_subscribed("events.system.*", self._on_component_state):
            self._msgbus.unsubscribe(topic="events.system.*", handler=self._on_component_state)
        await self._stop_sweep()
        await self._ws.stop()
        await self._http.close()

    async def _stop_sweep(self) -> None:
        """Cancel what the VENUE holds for our coins until none is left or ``stop_cancel_deadline_secs``,
        then clear the dead-man's switch (confirmed) or arm it a few seconds ahead (see ``stop_sweep``)."""
        assets = {coin: self._provider.asset(iid) for coin, iid in self._provider.coin_to_id.items()}
        if not assets:
            return
        sweep = await cancel_venue_orders(self._http, assets, self._config.stop_cancel_deadline_secs, self._log,
                                          on_canceled=self._on_swept)
        if self._config.dead_man_deadline_secs > 0 or not sweep.confirmed:
            outcome = await finish_dead_man(self._http, sweep, self._dead_man_deadline_ms, self._config.clear_dead_man_on_stop,
                                            self._log)
        else:
            outcome = "off"
            self._log.info(f"stop: confirmed no order of ours left at the venue ({sweep.canceled} canceled)")
        if outcome == "armed":
            self.dead_man_sets += 1
        self.stop_result = {**sweep.summary(), "dead_man": outcome}

    def _on_swept(self, venue_order) -> None:
        """The stop's sweep canceled ``venue_order`` (the venue answered success): close it in the cache."""
        coid = self._coid_for_cloid(venue_order.cloid)
        order = self._cache.order(coid) if coid is not None else None
        if order is None or order.is_closed:
            return
        if order.venue_order_id is not None and order.venue_order_id.value != str(venue_order.oid):
            return  # another incarnation (a duplicate of the cloid): the cached one is not this order
        self._emit_canceled(order, order.venue_order_id, self._clock.timestamp_ns())

    def _dispose(self) -> None:
        super()._dispose()
        self._node_state.release(self)

    async def _verify_signer(self) -> None:
        """A signed action proves the venue knows the key: scheduleCancel (if on) else noop."""
        dead_man = self._config.dead_man_deadline_secs > 0
        if dead_man:
            resp = await self._http.exchange(actions.schedule_cancel_action(await self._dead_man_deadline_ms()))
        else:
            resp = await self._http.exchange({"type": "noop"})
        if isinstance(resp, dict) and resp.get("status") == "err":
            text = str(resp.get("response"))
            if "does not exist" in text or "Must deposit" in text or "recover signer" in text or "Vault not" in text:
                raise HLSignerError(f"venue rejected the signing key from {self._config.key_source()}: {text}")
            if not dead_man:
                self._log.warning(f"signer check: {text}")
        if dead_man:
            self._dead_man_outcome(resp, None)

    def _dead_man_outcome(self, resp, exc: Exception | None) -> bool:
        """Count one scheduleCancel set and apply ``dead_man_on_failure``; True if the venue confirmed it."""
        ok = exc is None and isinstance(resp, dict) and resp.get("status") == "ok"
        ts = self._clock.timestamp_ns()
        if ok:
            self.dead_man_sets += 1
            if self._dead_man_down is not None:
                self._dead_man_down = None
                if self._config.dead_man_on_failure == "warn":
                    self._log.warning("dead-man's switch set again (the venue confirmed it)")
                else:
                    self._log.warning("dead-man's switch set again (the venue confirmed it); quoting may resume")
                    publish_health(self._msgbus, "dead_man", False, "dead-man's switch set again", ts)
            return True
        self.dead_man_failures += 1
        why = f"request failed: {exc}" if exc is not None else \
            f"refused: {resp.get('response') if isinstance(resp, dict) else resp}"
        self._dead_man_down = f"dead-man's switch not set ({why})"
        retry = f"next try in {self._config.dead_man_refresh_secs:g}s"
        if self._config.dead_man_on_failure == "warn":
            self._log.error(f"{self._dead_man_down}; quoting CONTINUES WITHOUT a dead-man's switch: if this node dies "
                            f"its orders stay on the book (dead_man.on_failure: warn); {retry}")
        else:
            self._log.error(f"{self._dead_man_down}; quoting stopped, every order canceled, until a set succeeds "
                            f"(dead_man.on_failure: stop_quoting); {retry}")
            publish_health(self._msgbus, "dead_man", True, self._dead_man_down, ts)
        return False

    def _on_component_state(self, event) -> None:
        """A strategy that starts while the dead-man's switch is down is held at once (stop_quoting)."""
        if (not isinstance(event, ComponentStateChanged) or event.state != ComponentState.RUNNING
                or not isinstance(event.component_id, StrategyId)):
            return
        self._trading = True
        if self._dead_man_down is not None and self._config.dead_man_on_failure != "warn":
            publish_health(self._msgbus, "dead_man", True, self._dead_man_down, self._clock.timestamp_ns())

    async def _dead_man_deadline_ms(self, ahead_s: float | None = None) -> int:
        """Deadline on the venue's clock ``dead_man_deadline_secs`` of OUR time ahead. A replaying
        twin's clock may run at ``speed`` x wall time (or stand still before its replay starts):
        the rate is measured between calls and the deadline scaled by it, so the switch still
        means "cancel everything N wall seconds after we went silent".

        The venue's time comes from the newest ``l2Book`` message when one arrived within the last
        2 s (free), else from ``clearinghouseState.time`` (IP weight 2)."""
        obs = self._venue_clock.recent(2.0)
        if obs is not None:
            wall, venue_ms = obs
        else:
            wall = time.monotonic()
            now_ms = int(time.time() * 1000)
            try:
                venue_ms = int((await self._http.clearinghouse_state()).get("time") or now_ms)
            except Exception:  # noqa: BLE001
                venue_ms = now_ms
            self.venue_clock_polls += 1
        prev = self._dead_man_sample
        if prev is not None and wall - prev[0] >= 0.5:
            self._venue_clock_rate = max(1.0, (venue_ms - prev[1]) / 1000.0 / (wall - prev[0]))
        self._dead_man_sample = (wall, venue_ms)
        venue_now = venue_ms + (time.monotonic() - wall) * 1000.0 * self._venue_clock_rate
        ahead = self._config.dead_man_deadline_secs if ahead_s is None else ahead_s
        return int(venue_now + ahead * 1000 * self._venue_clock_rate)

    async def _dead_man_loop(self) -> None:
        # the first refresh comes early, to measure the venue clock's rate before the first
        # deadline (set on connect at rate 1) can pass on a fast clock; a fast clock is
        # re-measured every few seconds
        delay = min(2.0, self._config.dead_man_refresh_secs)
        while True:
            await asyncio.sleep(delay)
            try:
                resp = await self._http.exchange(actions.schedule_cancel_action(await self._dead_man_deadline_ms()))
            except Exception as exc:  # noqa: BLE001
                self._dead_man_outcome(None, exc)
            else:
                self._dead_man_outcome(resp, None)
            delay = self._config.dead_man_refresh_secs
            if self._venue_clock_rate > 1.05:
                delay = min(delay, self._config.dead_man_deadline_secs / 6.0)

    # ================================================================== rate budget
    def _actions_per_s(self, now: float, window_s: float = 300.0, min_span_s: float = 60.0) -> float:
        """Address actions per second this client sent over the last ``window_s``; 0 until the
        samples span ``min_span_s`` (the first ladder and its first moves are a burst, not a rate)."""
        sent = sum(self._http.address_by_type.values())
        samples = self._budget_samples
        samples.append((now, sent))
        while len(samples) > 2 and samples[1][0] <= now - window_s:
            samples.popleft()
        t0, n0 = samples[0]
        return (sent - n0) / (now - t0) if now - t0 >= min_span_s else 0.0

    async def check_rate_budget(self) -> str:
        """Re-read ``userRateLimit`` when due, judge the address budget and tell the strategies
        (see the module docstring); the state."""
        cfg = self._config
        http = self._http
        now = time.monotonic()
        due = http.rate_limit_refreshed is None or now - http.rate_limit_refreshed >= cfg.rate_budget_refresh_secs
        if due or http.refresh_wanted or self.budget_state != BUDGET_OK:
            await http.refresh_rate_limit()
        left, cap = http.address_left(), http.address_cap
        rate = self._actions_per_s(now)
        state = address_budget_state(
            left, cap, rate, short_frac=cfg.rate_budget_short_frac, short_s=cfg.rate_budget_short_minutes * 60.0,
            resume_actions=cfg.rate_budget_resume_actions, was_exhausted=self.budget_state == BUDGET_EXHAUSTED)
        runway = f", {left / rate / 60.0:.0f} min at {rate * 3600:.0f} actions/h" if rate > 0 and left > 0 else ""
        figures = f"{left} of {cap} address actions left (used {http.address_used}, volume ${http.cum_vlm_usd:,.0f}{runway})"
        ts = self._clock.timestamp_ns()
        if state != self.budget_state:
            self.budget_changes.append((ts, state, figures))
            if state == BUDGET_EXHAUSTED:
                self._log.warning(f"address budget exhausted: {figures}; quoting held, open orders canceled "
                                  f"(cancels have their own cap) until {cfg.rate_budget_resume_actions} actions are left")
            elif state == BUDGET_SHORT:
                self._log.warning(f"address budget short: {figures}; quoting at most {cfg.rate_budget_short_levels} "
                                  f"level(s) a side, requotes {cfg.rate_budget_short_requote_mult:g}x less often")
            else:
                self._log.warning(f"address budget back: {figures}; full quoting resumes")
        self.budget_state = state
        http.orders_refused = f"address budget exhausted ({figures})" if state == BUDGET_EXHAUSTED else None
        # level-triggered: repeated at every check
        publish_health(self._msgbus, "rate_budget", state == BUDGET_EXHAUSTED,
                       f"address budget {state}: {figures}", ts)
        if state == BUDGET_SHORT:
            publish_quote_budget(self._msgbus, cfg.rate_budget_short_levels, cfg.rate_budget_short_requote_mult,
                                 f"address budget short: {figures}", ts)
        else:
            publish_quote_budget(self._msgbus, None, 1.0, f"address budget {state}: {figures}", ts)
        return state

    async def _rate_budget_loop(self) -> None:
        while True:
            await asyncio.sleep(self._config.rate_budget_check_secs)
            try:
                await self.check_rate_budget()
            except Exception as exc:  # noqa: BLE001 - the next check tries again
                self._log.warning(f"rate budget check failed: {exc}; tried again in {self._config.rate_budget_check_secs:g} s")

    async def _account_loop(self) -> None:
        """Refresh the reported account every ``account_refresh_secs`` and soon after fills, but
        at most once per ``account_min_interval_secs``: a busy fill stream would otherwise spend
        a ``clearinghouseState`` (IP weight 2) every 0.2 s, half of the venue's 1,200/min budget
        for five coins. Fills themselves arrive at once on ``userFills``; only the venue's view
        of balance and margin waits for the next refresh. When orders are being paced (less than
        10 % of the IP budget left) the refresh yields to them, for up to ``account_refresh_secs``."""
        min_gap = max(0.2, self._config.account_min_interval_secs)
        last = time.monotonic()
        while True:
            try:
                await asyncio.wait_for(self._account_dirty.wait(), self._config.account_refresh_secs)
                await asyncio.sleep(max(0.2, last + min_gap - time.monotonic()))  # debounce bursts of fills
            except asyncio.TimeoutError:
                pass
            self._account_dirty.clear()
            bucket = self._http.bucket
            try:
                await asyncio.wait_for(bucket.wait_available(0.1 * bucket.capacity), self._config.account_refresh_secs)
            except asyncio.TimeoutError:
                pass
            last = time.monotonic()
            try:
                await self._update_account_state()
            except Exception as exc:  # noqa: BLE001
                self._log.warning(f"account refresh failed: {exc}")

    async def _update_account_state(self) -> None:
        self.account_refreshes += 1
        state = await self._http.clearinghouse_state()
        total, used = parsing.account_balance_usd(state)
        locked = min(max(used, Decimal(0)), max(total, Decimal(0)))
        self.generate_account_state(
            balances=[AccountBalance(Money(total, USDC), Money(locked, USDC), Money(total - locked, USDC))],
            margins=[],
            reported=True,
            ts_event=self._clock.timestamp_ns(),
        )

    async def _query_account(self, command) -> None:
        await self._update_account_state()

    # ================================================================== helpers
    def _coid_for_cloid(self, cloid: str | None) -> ClientOrderId | None:
        if not cloid:
            return None
        coid = self._cloid_to_coid.get(cloid)
        if coid is None and self._cache.order(ClientOrderId(cloid)) is not None:
            coid = ClientOrderId(cloid)
        return coid

    def _cloid(self, client_order_id: ClientOrderId) -> str:
        cloid = actions.cloid_for(client_order_id.value)
        self._cloid_to_coid[cloid] = client_order_id
        return cloid

    def _inst(self, instrument_id):
        """The newest instrument: the cache's (the data client republishes it when szDecimals
        changes; this client's provider is loaded once, at connect)."""
        return self._cache.instrument(instrument_id) or self._provider.find(instrument_id)

    def _inst_for_coin(self, coin: str):
        iid = self._provider.coin_to_id.get(coin)
        return self._inst(iid) if iid is not None else None

    def _wire(self, order, qty, price) -> dict:
        inst = self._inst(order.instrument_id)
        tif = "Alo" if order.is_post_only else ("Ioc" if order.time_in_force == TimeInForce.IOC else "Gtc")
        return actions.order_wire(
            self._provider.asset(order.instrument_id), order.side == OrderSide.BUY,
            Decimal(str(price)), Decimal(str(qty)).quantize(Decimal(1).scaleb(-inst.size_precision)),
            order.is_reduce_only, tif, self._cloid(order.client_order_id),
        )

    def _record_error(self, text: str) -> None:
        if len(self.errors) < 1000:
            self.errors.append(text)

    def _first_report(self, kind: str, order, what: str = "") -> bool:
        """Whether this is the first report of ``kind`` ("accepted" or "rejected": the order's answer;
        "canceled") for ``order`` (the cache's): False, counted in ``duplicate_events_skipped``, when
        one is already queued in the engine (the HTTP answer, ``orderUpdates`` and ``userFills`` all
        report one change; see event_guard), else noted as reported now."""
        g = self._emitted
        cancel = kind == "canceled"
        if (g.cancel_outstanding if cancel else g.accept_outstanding)(order):
            self.duplicate_events_skipped[kind] += 1
            self._log.debug(f"{order.client_order_id}: answered already (queued in the engine); {what or kind} not reported again")
            return False
        (g.note_cancel if cancel else g.note_accept)(order)
        return True

    def _emit_accepted(self, order, venue_order_id, ts: int) -> None:
        """``OrderAccepted`` for ``order`` (the cache's), unless one is already queued in the engine."""
        if self._first_report("accepted", order):
            self.generate_order_accepted(order.strategy_id, order.instrument_id, order.client_order_id,
                                         venue_order_id, ts)

    def _emit_canceled(self, order, venue_order_id, ts: int) -> None:
        """``OrderCanceled`` for ``order`` (the cache's), unless one is already queued in the engine."""
        if self._first_report("canceled", order):
            self.generate_order_canceled(order.strategy_id, order.instrument_id, order.client_order_id,
                                         venue_order_id, ts)

    def _accept_if_waiting(self, order, oid) -> None:
        order = self._cache.order(order.client_order_id)
        if order is not None and order.status in _WAITING:
            self._emit_accepted(order, VenueOrderId(str(oid)), self._clock.timestamp_ns())

    def _apply_status(self, order, status) -> None:
        if is_unknown(status):
            self._pending_unknown(order, "submit", status)
            return
        if isinstance(status, dict) and "resting" in status:
            self._accept_if_waiting(order, status["resting"]["oid"])
        elif isinstance(status, dict) and "filled" in status:
            self._accept_if_waiting(order, status["filled"]["oid"])
            self._account_dirty.set()
        elif isinstance(status, dict) and "canceled" in status:  # placed, closed since (found by a lookup)
            oid = status["canceled"]["oid"]
            self._accept_if_waiting(order, oid)
            current = self._cache.order(order.client_order_id)
            if current is not None and not current.is_closed:
                self._log.info(f"{order.client_order_id}: placed (oid {oid}) and '{status['canceled'].get('status')}' "
                               "at the venue since; closing it (its fills are applied as they come)")
                self._emit_canceled(current, VenueOrderId(str(oid)), self._clock.timestamp_ns())
            self._account_dirty.set()
        else:
            text = actions.error_text(status) or f"unexpected order status {status!r}"
            self._reject(order, text)

    def _reject(self, order, text: str) -> None:
        current = self._cache.order(order.client_order_id)
        if current is not None and current.status in _WAITING:
            if not self._first_report("rejected", current, f"'{text}' as a rejection"):
                return
            post_only = actions.is_post_only_reject(text)
            if not post_only:
                self._record_error(f"order rejected: {text}")
            self.generate_order_rejected(order.strategy_id, order.instrument_id, order.client_order_id, text,
                                         self._clock.timestamp_ns(), due_post_only=post_only)

    # ================================================================== unknown outcomes
    def _pending_unknown(self, order, what: str, status: dict, **modify) -> None:
        """An order / modify / cancel whose outcome the venue could not tell: nothing is reported
        (no reject), the order stays pending, and :meth:`_settle_later` finds out."""
        self.unknown_outcomes += 1
        self._log.warning(f"{order.client_order_id}: {what} outcome unknown ({status.get('unknown')}); the order stays "
                          "pending (not rejected) and is looked up at the venue until its state is known")
        task = background_task(self._loop, self._settle_later(order, what, status.get("expiresAfter"), modify), self._log)
        self._hl_tasks.append(task)
        task.add_done_callback(lambda t: self._hl_tasks.remove(t) if t in self._hl_tasks else None)

    async def _settle_later(self, order, what: str, expires_after: int | None, modify: dict) -> None:
        """Look ``order`` up by cloid (every 1 s, doubling to 10 s) until its state is known, then
        report what the venue holds. Stops as soon as something else (orderUpdates, userFills,
        reconciliation) resolved it."""
        coid = order.client_order_id
        cloid = self._cloid(coid)
        margin_ms = self._http.expiry_margin_ms
        delay = 1.0
        while True:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
            current = self._cache.order(coid)
            if current is None or current.is_closed:
                return
            if what == "submit" and current.status not in _WAITING:
                return
            if what == "cancel" and current.status != OrderStatus.PENDING_CANCEL:
                return
            if what == "modify" and current.venue_order_id is not None \
                    and current.venue_order_id.value != str(modify["old_oid"]):
                return
            try:
                found = await self._http.order_status_by_cloid(cloid)
            except Exception as exc:  # noqa: BLE001
                self._log.warning(f"{coid}: lookup of the unknown {what} failed ({exc}); asking again in {delay:.0f}s")
                continue
            expired = expires_after is not None and int(time.time() * 1000) > expires_after + margin_ms
            upd = None
            if found is not None:
                try:
                    upd = decode_order_update(found)
                except MalformedMessage as exc:
                    self._log.warning(f"{coid}: lookup answer not understood ({exc}); asking again")
                    continue
            ts = self._clock.timestamp_ns()
            current = self._cache.order(coid)
            if current is None or current.is_closed:
                return
            if what == "submit":
                if upd is None:
                    if expired:
                        self._log.warning(f"{coid}: not at the venue after its action expired: it never reached the "
                                          "venue; rejected")
                        self._reject(current, "never reached the venue (not found after its expiresAfter)")
                        return
                    continue
                self._log.info(f"{coid}: the venue holds it as '{upd.status}' (oid {upd.order.oid}); applying that")
                if upd.status == "open" or upd.status == "filled":
                    self._accept_if_waiting(current, upd.order.oid)
                    if upd.status == "filled":
                        self._account_dirty.set()  # the fill itself comes on userFills / reconciliation
                elif is_rejected_status(upd.status):
                    self._reject(current, f"order {upd.status}")
                else:
                    self._accept_if_waiting(current, upd.order.oid)
                    self._emit_canceled(current, VenueOrderId(str(upd.order.oid)), ts)
                return
            if upd is None:
                continue
            if what == "modify":
                if upd.order.oid != modify["old_oid"]:
                    self._replaced_oids.add(modify["old_oid"])
                    self._log.info(f"{coid}: the unknown modify went through (oid {modify['old_oid']} -> {upd.order.oid})")
                    if upd.status == "open":
                        self.generate_order_updated(current.strategy_id, current.instrument_id, coid,
                                                    VenueOrderId(str(upd.order.oid)), modify["quantity"],
                                                    modify["price"], None, ts, venue_order_id_modified=True)
                    return
                if upd.status == "open" and (expired or expires_after is None):
                    self._log.info(f"{coid}: the unknown modify was not executed (oid {upd.order.oid} still open)")
                    self.generate_order_modify_rejected(current.strategy_id, current.instrument_id, coid,
                                                        current.venue_order_id, "modify not executed by the venue", ts)
                    return
                continue
            # cancel
            if upd.status == "open":
                if expired or expires_after is None:
                    self._log.warning(f"{coid}: the unknown cancel was not executed; the order is open at the venue")
                    self.generate_order_cancel_rejected(current.strategy_id, current.instrument_id, coid,
                                                        current.venue_order_id, "cancel not executed by the venue", ts)
                    return
                continue
            if upd.status != "filled":
                self._emit_canceled(current, current.venue_order_id, ts)
            return

    # ================================================================== commands
    def _check_supported(self, order) -> str | None:
        if order.order_type != OrderType.LIMIT:
            return f"unsupported order type {order.order_type.name}: only LIMIT (ALO/GTC/IOC)"
        if order.time_in_force not in (TimeInForce.GTC, TimeInForce.IOC):
            return f"unsupported time in force {order.time_in_force.name}: GTC or IOC (post_only = ALO)"
        return None

    async def _submit_order(self, command: SubmitOrder) -> None:
        await self._submit_orders([command.order], command.ts_init)

    async def _submit_order_list(self, command: SubmitOrderList) -> None:
        await self._submit_orders(list(command.order_list.orders), command.ts_init)

    async def _batched(self, key: str, item, probe: list):
        """Send ``item`` in one action together with the other commands of this loop turn.

        Nautilus has no batch commands for modifies, and the strategy's one decision (a ladder
        moving) arrives here as one command per order, each in its own task. The first of them
        waits a single loop turn (``sleep(0)``: every task scheduled with it runs first) and
        sends them all in one signed action: one signature, one HTTP request and one unit of IP
        weight (``1 + n // 40``) instead of n. The venue counts n address actions either way.

        Pacing: when the IP budget is exhausted the batch stays open while the bucket refills, so
        commands created meanwhile join it (one action) instead of queueing actions of their own.
        A queued modify is never superseded by a newer one for the same order: the strategy acts
        on an order again only after its modify was answered (``order_diff``: in-flight orders are
        left alone); ``modify_overlaps`` counts violations of that.
        Returns this item's status; a whole-action failure raises in every caller."""
        if not self._batching:
            if key == "modify":
                return (await self._http.modify_orders([item], [probe]))[0]
            return (await self._http.place_orders([item], [probe]))[0]
        q = self._batches.get(key)
        if q is not None and len(q) < _MAX_BATCH:
            fut = self._loop.create_future()
            q.append((item, probe, fut))
            return await fut
        q = self._batches[key] = [(item, probe, None)]
        try:
            await asyncio.sleep(0)
            t_wait = time.monotonic()
            if await self._http.prepay():  # the IP weight, taken in turn; the batch stays open meanwhile
                wait_ns = int((time.monotonic() - t_wait) * 1e9)
                for x in q:
                    x[1][4] += wait_ns
                self.paced_batches += 1
            if self._batches.get(key) is q:
                del self._batches[key]
            items = [x[0] for x in q]
            probes = [x[1] for x in q]
            if len(q) > 1:
                self.batched_requests += 1
                self.batched_items += len(q)
            if key == "modify":
                statuses = await self._http.modify_orders(items, probes, prepaid=True)
            else:
                statuses = await self._http.place_orders(items, probes, prepaid=True)
        except BaseException as exc:
            if self._batches.get(key) is q:
                del self._batches[key]
            for _, _, fut in q[1:]:
                if not fut.done():
                    fut.set_exception(exc if isinstance(exc, Exception) else asyncio.CancelledError())
            raise
        for (_, _, fut), st in zip(q[1:], statuses[1:]):
            if not fut.done():
                fut.set_result(st)
        return statuses[0]

    async def _submit_orders(self, orders: list, cmd_ts: int) -> None:
        probe = self._probe
        t_start = probe.now_ns()
        ok = []
        for order in orders:
            reason = self._check_supported(order)
            if reason:
                self.generate_order_denied(order.strategy_id, order.instrument_id, order.client_order_id, reason,
                                           self._clock.timestamp_ns())
                continue
            self.generate_order_submitted(order.strategy_id, order.instrument_id, order.client_order_id,
                                          self._clock.timestamp_ns())
            ok.append(order)
        if not ok:
            return
        wires = [self._wire(o, o.quantity, o.price) for o in ok]
        probes = [probe.new_probe("submit", coin_of(o.instrument_id), cmd_ts, t_start) for o in ok]
        try:
            if len(ok) == 1:
                statuses = [await self._batched("order:" + wires[0]["t"]["limit"]["tif"], wires[0], probes[0])]
            else:  # an order list is one action already
                statuses = await self._http.place_orders(wires, probes)
        except (ExchangeActionError, HttpError) as exc:  # definite refusals only (see http): nothing placed
            for order in ok:
                self._reject(order, str(exc))
            return
        finally:
            for p in probes:
                probe.record(p)
        for order, status in zip(ok, statuses):
            self._apply_status(order, status)

    async def _modify_order(self, command: ModifyOrder) -> None:
        order = self._cache.order(command.client_order_id)
        ts = self._clock.timestamp_ns
        if order is None or order.venue_order_id is None or not order.is_open:
            self.generate_order_modify_rejected(command.strategy_id, command.instrument_id, command.client_order_id,
                                                command.venue_order_id, "order not open at the venue", ts())
            return
        inst = self._inst(order.instrument_id)
        price = command.price or order.price
        quantity = command.quantity or order.quantity
        remaining = quantity.as_decimal() - order.filled_qty.as_decimal()
        if remaining <= 0:
            self.generate_order_modify_rejected(order.strategy_id, order.instrument_id, order.client_order_id,
                                                order.venue_order_id, "new quantity is not above the filled quantity", ts())
            return
        old_oid = int(order.venue_order_id.value)
        probe = self._probe.new_probe("modify", inst.raw_symbol.value, command.ts_init)
        wire = self._wire(order, remaining, price)
        if old_oid in self._modifying:
            self.modify_overlaps += 1
        self._modifying.add(old_oid)
        try:
            try:
                status = await self._batched("modify", (old_oid, wire), probe)
            except (ExchangeActionError, HttpError) as exc:
                status = {"error": str(exc)}
        finally:
            self._modifying.discard(old_oid)
            self._probe.record(probe)
        deferred = self._deferred_cancels.pop(old_oid, None)
        if is_unknown(status):
            self._pending_unknown(order, "modify", status, old_oid=old_oid, quantity=quantity, price=price)
            return
        new_oid = None
        if isinstance(status, dict) and "resting" in status:
            new_oid = status["resting"]["oid"]
        elif isinstance(status, dict) and "filled" in status:
            new_oid = status["filled"]["oid"]
        current = self._cache.order(order.client_order_id)
        if new_oid is not None:
            self._replaced_oids.add(old_oid)  # its cancel on orderUpdates is the modify's own
            if current is None or current.is_closed:
                return
            self.generate_order_updated(order.strategy_id, order.instrument_id, order.client_order_id,
                                        VenueOrderId(str(new_oid)), quantity, price, None, ts(),
                                        venue_order_id_modified=True)
            return
        text = actions.error_text(status) or str(status)
        if current is None or current.is_closed:
            return
        if actions.MODIFY_REPLACE_FAILED in text:
            # old order canceled, replacement refused (e.g. ALO would cross): the order is gone
            self.generate_order_modify_rejected(order.strategy_id, order.instrument_id, order.client_order_id,
                                                order.venue_order_id, text, ts())
            self._emit_canceled(order, order.venue_order_id, ts())
            return
        if actions.CANNOT_MODIFY not in text:
            self._record_error(f"modify rejected: {text}")
            self.generate_order_modify_rejected(order.strategy_id, order.instrument_id, order.client_order_id,
                                                order.venue_order_id, text, ts())
            return
        # "Cannot modify canceled or filled order": the order left the book before our modify got
        # there (a fill, a scheduled cancel, ...). Its update may have arrived while the modify was
        # in flight (deferred above) or not yet: ask the venue, so the order is never left "open"
        # in the cache while the venue has closed it.
        self.generate_order_modify_rejected(order.strategy_id, order.instrument_id, order.client_order_id,
                                            order.venue_order_id, text, ts())
        self.modify_races += 1
        venue_status = deferred
        if venue_status is None:
            try:
                found = await self._http.order_status_by_cloid(self._cloid(order.client_order_id))
            except Exception as exc:  # noqa: BLE001
                found = None
                self._log.warning(f"orderStatus after a refused modify failed: {exc}")
            if found is not None:
                try:
                    update = decode_order_update(found)
                except MalformedMessage as exc:
                    self._log.warning(f"orderStatus after a refused modify: {exc}")
                else:
                    if update.order.oid == old_oid:
                        venue_status = update.status
        current = self._cache.order(order.client_order_id)
        if current is None or current.is_closed or venue_status is None:
            return
        if venue_status == "filled":
            self._account_dirty.set()  # the fill arrives on userFills; reconciliation backs it up
            return
        if venue_status != "open":
            self._emit_canceled(current, current.venue_order_id, ts())

    async def _cancel_order(self, command: CancelOrder) -> None:
        order = self._cache.order(command.client_order_id)
        if order is None:
            return
        await self._cancel_orders([order], command.ts_init)

    async def _batch_cancel_orders(self, command: BatchCancelOrders) -> None:
        orders = [self._cache.order(c.client_order_id) for c in command.cancels]
        await self._cancel_orders([o for o in orders if o is not None], command.ts_init)

    async def _cancel_all_orders(self, command: CancelAllOrders) -> None:
        side = command.order_side
        orders = [o for o in self._cache.orders_open(venue=self.venue, instrument_id=command.instrument_id)
                  if side in (OrderSide.NO_ORDER_SIDE, o.side)]
        orders += [o for o in self._cache.orders_inflight(venue=self.venue, instrument_id=command.instrument_id)
                   if side in (OrderSide.NO_ORDER_SIDE, o.side) and o not in orders]
        await self._cancel_orders(orders)
        if side == OrderSide.NO_ORDER_SIDE:  # also anything the venue holds that the cache does not know
            try:
                coin = coin_of(command.instrument_id)
                asset = self._provider.asset(command.instrument_id)
                # by oid: an order whose cloid the node knows may rest twice (a resend after a lost answer)
                known = {int(o.venue_order_id.value) for o in orders if o.venue_order_id is not None}
                extra = [(asset, o.oid) for o in map(decode_order, await self._open_orders_shared())
                         if o.coin == coin and o.oid not in known]
                if extra:
                    self._log.warning(f"canceling {len(extra)} venue orders unknown to the cache")
                    await self._http.cancel_by_oid(extra)
            except Exception as exc:  # noqa: BLE001
                self._log.warning(f"cancel-all sweep failed: {exc}")

    async def _open_orders_shared(self) -> list:
        """``frontendOpenOrders`` (IP weight 20) shared by the cancel-all sweeps of one moment: on
        stop every coin's strategy cancels all at once, and one answer serves them all."""
        task = self._open_orders_task
        if task is None or (task.done() and time.monotonic() - self._open_orders_t > 1.0):
            self._open_orders_t = time.monotonic()
            task = self._open_orders_task = asyncio.ensure_future(self._http.open_orders())
        return list(await asyncio.shield(task))

    async def _cancel_orders(self, orders: list, cmd_ts: int = 0) -> None:
        if not orders:
            return
        items = [(self._provider.asset(o.instrument_id), self._cloid(o.client_order_id)) for o in orders]
        probes = [self._probe.new_probe("cancel", coin_of(o.instrument_id), cmd_ts) for o in orders]
        try:
            statuses = await self._http.cancel_by_cloid(items, probes)
        except (ExchangeActionError, HttpError) as exc:
            statuses = [{"error": str(exc)}] * len(orders)
        finally:
            for p in probes:
                self._probe.record(p)
        if len(statuses) != len(orders):
            statuses = [statuses[0] if statuses else {"error": "empty cancel response"}] * len(orders)
        ts = self._clock.timestamp_ns()
        for order, st in zip(orders, statuses):
            current = self._cache.order(order.client_order_id)
            if current is None or current.is_closed:
                continue
            if is_unknown(st):
                self._pending_unknown(current, "cancel", st)
                continue
            if st == "success":
                self._emit_canceled(current, current.venue_order_id, ts)
            else:
                text = actions.error_text(st) or str(st)
                self.generate_order_cancel_rejected(current.strategy_id, current.instrument_id,
                                                    current.client_order_id, current.venue_order_id, text, ts)

    # ================================================================== WebSocket
    def _on_ws(self, channel: str, data) -> None:
        if channel == "orderUpdates":
            for item in data or []:
                try:
                    update = decode_order_update(item)
                except MalformedMessage as exc:
                    self._log.error(f"order update not understood, dropped ({exc}); the order's state is only corrected by a "
                                    "reconciliation (at the next start)")
                    continue
                self._on_order_update(update)
        elif channel == "userFills":
            items = data.get("fills") if isinstance(data, dict) else None
            if not isinstance(items, list):
                self.bad_fills += 1
                self._log.error(f"userFills message without a fills list ({data!r:.120}); dropped, the position is "
                                "corrected by reconciliation")
                return
            fills = []
            for item in items:
                try:
                    fills.append(decode_fill(item))
                except MalformedMessage as exc:
                    self.bad_fills += 1
                    self._log.error(f"fill not understood, dropped ({exc}); the message's other fills are applied; "
                                    "the position is only corrected by a reconciliation")
            for f in sorted(fills, key=lambda x: (x.time, x.tid)):
                self._apply_fill_item(f)

    def _apply_fill_item(self, f: UserFill) -> None:
        """One fill of a message, on its own: an error is logged and the fill's tid is NOT left as
        seen (a later snapshot or reconciliation may still apply it); the other fills go on."""
        seen_before = f.tid in self._seen_tids
        try:
            self._on_fill(f)
        except Exception as exc:  # noqa: BLE001 - one bad fill must not abort the others
            if not seen_before:
                self._seen_tids.discard(f.tid)
            self.bad_fills += 1
            self._log.error(f"fill {f.tid} ({f.coin} {f.side} {f.sz} @ {f.px}, oid {f.oid}) could not be applied: "
                            f"{type(exc).__name__}: {exc}; skipped, the message's other fills are applied; "
                            "it is left unseen so a later snapshot or reconciliation can still apply it")

    # ------------------------------------------------------------------ execution WebSocket liveness
    def _on_ws_disconnect(self) -> None:
        """The execution WebSocket died: our fills and order updates are unknown until it is back and
        resynced, so every instrument's quoting is held (venue health ``exec_ws``)."""
        if self._ws_down_since_ms is None:
            self._ws_down_since_ms = int(time.time() * 1000)
            self.exec_ws_holds += 1
            self._log.warning("execution WebSocket lost: fills and order updates unknown; quoting held on every "
                              "instrument until it reconnects and the fills are resynced")
        self._publish_exec_ws(True, "execution WebSocket down (fills unknown)")
        self._start_exec_ws_hold_loop()

    def _on_ws_reconnect(self) -> None:
        if self._ws_down_since_ms is not None:
            self._start_exec_ws_hold_loop()

    def _start_exec_ws_hold_loop(self) -> None:
        if self._ws_health_task is None or self._ws_health_task.done():
            self._ws_health_task = background_task(self._loop, self._exec_ws_hold_loop(), self._log)
            self._hl_tasks[:] = [t for t in self._hl_tasks if not t.done()] + [self._ws_health_task]  # canceled at disconnect

    def _publish_exec_ws(self, blocked: bool, reason: str) -> None:
        publish_health(self._msgbus, EXEC_WS, blocked, reason, self._clock.timestamp_ns(), None)

    async def _exec_ws_hold_loop(self) -> None:
        """While the execution WebSocket is down: repeat the hold every few seconds. Once it is up:
        fetch our fills since it went down (``userFillsByTime``, 5 s margin) and apply the missing
        ones, then release the hold (a failed fetch is retried; the hold stays meanwhile)."""
        while self._ws_down_since_ms is not None:
            if not self._ws.is_connected:
                await asyncio.sleep(_EXEC_WS_REPEAT_S)
                if not self._ws.is_connected:
                    self._publish_exec_ws(True, "execution WebSocket down (fills unknown)")
                continue
            since_ms = self._ws_down_since_ms - 5_000
            try:
                raw = await self._http.user_fills_by_time(since_ms)
            except Exception as exc:  # noqa: BLE001 - stay held, try again
                self._log.warning(f"execution WebSocket back, but the fills resync failed ({exc}); quoting stays held, "
                                  "retrying in 1 s")
                await asyncio.sleep(1.0)
                continue
            n_new = 0
            for item in raw or []:
                try:
                    f = decode_fill(item)
                except MalformedMessage as exc:
                    self.bad_fills += 1
                    self._log.error(f"resync: fill not understood, skipped ({exc})")
                    continue
                if f.tid not in self._seen_tids:
                    n_new += 1
                    self._apply_fill_item(f)
            if not self._ws.is_connected:
                continue  # dropped again while resyncing
            down_s = (time.time() * 1000 - self._ws_down_since_ms) / 1000
            self._ws_down_since_ms = None
            self._log.warning(f"execution WebSocket back after {down_s:.1f}s; {n_new} missed fill(s) applied from the "
                              "venue; quoting may resume (venue health exec_ws released)")
            self._publish_exec_ws(False, f"execution WebSocket resynced ({n_new} missed fills applied)")

    def _on_order_update(self, upd) -> None:
        o = upd.order
        status = upd.status
        coid = self._coid_for_cloid(o.cloid)
        order = self._cache.order(coid) if coid is not None else None
        if order is None:
            return  # external order: reconciliation reports cover it
        oid = o.oid
        ts = self._clock.timestamp_ns()
        if status == "open":
            if order.status in _WAITING:
                self._emit_accepted(order, VenueOrderId(str(oid)), ts)
            return
        if status == "filled" or order.is_closed:
            return
        if status == "canceled" and oid in self._modifying:
            self._deferred_cancels[oid] = status  # our modify's cancel half, or a real cancel: its answer tells
            return
        if status == "canceled" and oid in self._replaced_oids:
            self._replaced_oids.discard(oid)
            return  # the cancel half of our own modify
        if order.venue_order_id is not None and order.venue_order_id.value != str(oid):
            return  # an older incarnation of the order
        if is_rejected_status(status):
            self._reject(order, f"order {status}")
            return
        if order.status in _WAITING:
            # closed before the HTTP answer of our submit arrived (an IOC's unfilled rest, a
            # scheduled cancel, self-trade prevention, ...): the venue's word closes it now
            self._log.info(f"{order.client_order_id}: '{status}' at the venue before the submit's answer; "
                           f"closing it (accepted as oid {oid}, then canceled)")
            self._emit_accepted(order, VenueOrderId(str(oid)), ts)
        self._emit_canceled(order, VenueOrderId(str(oid)), ts)

    def _on_fill(self, f: UserFill) -> None:
        tid = f.tid
        if tid in self._seen_tids:
            return
        self._seen_tids.add(tid)
        coid = self._coid_for_cloid(f.cloid)
        order = self._cache.order(coid) if coid is not None else None
        if order is None:
            self._log.warning(f"fill {tid} for an order unknown to the cache (oid {f.oid}); "
                              "it is picked up by reconciliation")
            return
        trade_id = TradeId(str(tid))
        if trade_id in order.trade_ids:
            return
        # a cancel of ours still queued in the engine closes the order before this fill is applied
        cancel_queued = not order.is_closed and self._emitted.cancel_outstanding(order)
        was_canceled = order.status == OrderStatus.CANCELED or cancel_queued
        if cancel_queued:
            self.late_fills += 1
            self._log.warning(f"fill {tid} ({f.side} {f.sz} @ {f.px}) for {order.client_order_id}, whose cancel is "
                              "being applied: applied after it (the venue filled it before the cancel took effect)")
        if order.is_closed:
            if order.status != OrderStatus.CANCELED:
                self._record_error(f"fill {tid} for {order.client_order_id} closed as {order.status.name}")
                self._log.error(f"fill {tid} ({f.side} {f.sz} @ {f.px}, oid {f.oid}) for {order.client_order_id}, "
                                f"which the node closed as {order.status.name}: it cannot be applied to the order; "
                                "the position is corrected by reconciliation against the venue")
                self._account_dirty.set()
                return
            self.late_fills += 1
            self._log.warning(f"fill {tid} ({f.side} {f.sz} @ {f.px}) for {order.client_order_id}, canceled locally: "
                              "applied (the venue filled it before the cancel took effect)")
        inst = self._inst(order.instrument_id)
        voi = order.venue_order_id or VenueOrderId(str(f.oid))
        if order.status in _WAITING:
            self._emit_accepted(order, voi, self._clock.timestamp_ns())
        self.generate_order_filled(
            strategy_id=order.strategy_id,
            instrument_id=order.instrument_id,
            client_order_id=order.client_order_id,
            venue_order_id=voi,
            venue_position_id=None,
            trade_id=trade_id,
            order_side=order.side,
            order_type=order.order_type,
            last_qty=inst.make_qty(Decimal(f.sz)),
            last_px=inst.make_price(Decimal(f.px)),
            quote_currency=inst.quote_currency,
            commission=Money(Decimal(f.fee), USDC),
            liquidity_side=parsing.liquidity_side(f),
            ts_event=f.time * parsing.NS_PER_MS,
        )
        self._emitted.note_fill(order.client_order_id)  # a cancel after this fill is a new close
        if was_canceled and order.filled_qty.as_decimal() + Decimal(f.sz) < order.quantity.as_decimal():
            # Nautilus reopens a CANCELED order on a partial fill (PARTIALLY_FILLED): at the venue
            # it stays closed, so it is closed again (events are applied in order)
            self._emit_canceled(order, voi, self._clock.timestamp_ns())
        self._account_dirty.set()

    # ================================================================== reconciliation
    def _report_coid(self, cloid: str | None) -> ClientOrderId | None:
        if not cloid:
            return None
        coid = self._coid_for_cloid(cloid)
        if coid is None:
            coid = ClientOrderId(cloid)
            self._cloid_to_coid[cloid] = coid
        return coid

    async def generate_order_status_report(self, command: GenerateOrderStatusReport) -> OrderStatusReport | None:
        ref = None
        if command.client_order_id is not None:
            ref = actions.cloid_for(command.client_order_id.value)
        elif command.venue_order_id is not None:
            ref = int(command.venue_order_id.value)
        if ref is None:
            return None
        res = await self._http.order_status(ref)
        if not isinstance(res, dict) or res.get("status") != "order":
            return None
        found = decode_order_update(res["order"])
        o = found.order
        inst = self._inst_for_coin(o.coin)
        if inst is None:
            return None
        coid = command.client_order_id or self._report_coid(o.cloid)
        report = parsing.order_status_report(o, inst, self.account_id, coid, self._clock.timestamp_ns(),
                                             status=found.status, status_ts_ms=found.statusTimestamp)
        cached = self._cache.order(coid) if coid is not None else None
        if cached is not None and cached.is_open and found.status != "open":
            await self._close_from_venue(cached, o, found.status, report)
        return report

    async def _close_from_venue(self, order, venue_order, status: str, report: OrderStatusReport) -> None:
        """An order open in the node that the venue has closed (``status``): apply the fills of it the
        node missed (``userFillsByTime``, by cloid) before the engine reconciles ``report``, so the
        engine closes it with the real fills instead of one inferred at the limit price."""
        self.recon["orders_closed"] += 1
        missing = report.filled_qty.as_decimal() - order.filled_qty.as_decimal()
        applied = 0
        if missing > 0:
            cloid = self._cloid(order.client_order_id)
            start_ms = max(0, order.ts_init // parsing.NS_PER_MS - 60_000)
            try:
                fills = [f for f in map(decode_fill, await self._http.user_fills_by_time(start_ms)) if f.cloid == cloid]
            except Exception as exc:  # noqa: BLE001 - the engine then infers the fill from the report
                fills = []
                self._log.warning(f"reconcile: fills of {order.client_order_id} unavailable ({exc}); "
                                  "the engine infers them from the venue's order status")
            applied = self._apply_missed_fills(order, fills)
        self._log.warning(f"reconcile: {order.client_order_id} ({venue_order.coin} oid {venue_order.oid}) is {status} at "
                          f"the venue but open in the node: closing it as {status}"
                          + (f", {applied} missed fills applied" if missing > 0 else ""))

    def _apply_missed_fills(self, order, fills: list[UserFill]) -> int:
        """Apply (through the engine's reconciliation, synchronously) the fills of ``order`` it lacks."""
        inst = self._inst(order.instrument_id)
        voi = order.venue_order_id
        applied = 0
        for f in sorted(fills, key=lambda x: (x.time, x.tid)):
            if TradeId(str(f.tid)) in order.trade_ids:
                continue
            if voi is not None:  # the engine finds the order by venue order id: the incarnation it knows
                f = msgspec.structs.replace(f, oid=int(voi.value))
            self._seen_tids.add(f.tid)
            self._log.warning(f"reconcile: fill {f.tid} ({f.coin} {f.side} {f.sz} @ {f.px}) of {order.client_order_id} "
                              "missed by the node: applied")
            self._send_fill_report(parsing.fill_report(f, inst, self.account_id, order.client_order_id,
                                                       self._clock.timestamp_ns()))
            self._emitted.note_fill(order.client_order_id)
            self.recon["missed_fills"] += 1
            applied += 1
        return applied

    async def generate_order_status_reports(self, command: GenerateOrderStatusReports) -> list[OrderStatusReport]:
        """The venue's open orders (``frontendOpenOrders``), at start and in the open-order check.

        While trading, an order open in the node but absent from that list (and quiet for
        ``reconcile_settle_secs``) is looked up here (``orderStatus``, weight 2, at most
        :data:`_MAX_STATUS_QUERIES` a check) and its closed report added, after the fills the node
        missed were applied: the engine then closes it as the venue says. (The engine's own
        fallback for a missing order cannot query: our orders carry no client id in the cache,
        so it would mark them REJECTED unseen; ``open_check_missing_retries`` keeps it out.)
        Every difference is logged in one line."""
        reports = []
        now = self._clock.timestamp_ns()
        venue_coids = set()
        orphans = []  # (asset, oid): open at the venue, closed in the node
        for o in map(decode_order, await self._http.open_orders()):
            inst = self._inst_for_coin(o.coin)
            if inst is None or (command.instrument_id is not None and inst.id != command.instrument_id):
                continue
            coid = self._report_coid(o.cloid)
            venue_coids.add(coid)
            cached = self._cache.order(coid) if coid is not None else None
            what = f"{o.coin} oid {o.oid} ({o.side} {o.sz} @ {o.limitPx}, cloid {o.cloid}) open at the venue"
            if self._trading and cached is not None and cached.is_closed and self._settled(cached, now):
                # the node is done with it (a duplicate of a resent cloid, a cancel it believed): not ours to keep
                self.recon["orders_canceled_at_venue"] += 1
                self._log.warning(f"reconcile: {what} but {cached.status_string()} in the node: canceling it at the venue")
                orphans.append((self._provider.asset(inst.id), o.oid))
                continue
            if self._trading and cached is None:
                self.recon["orders_unknown_to_node"] += 1
                self._log.warning(f"reconcile: {what} but unknown to the node: the engine takes it over "
                                  "(the strategy claiming its instrument then keeps or cancels it)")
            known = None
            if cached is not None and cached.is_open and cached.filled_qty.as_decimal() > 0:
                known = cached.quantity.as_decimal()  # modified after a partial fill (see the parser)
            reports.append(parsing.order_status_report(o, inst, self.account_id, coid, now, known_quantity=known))
        if orphans:
            try:
                await self._http.cancel_by_oid(orphans)
            except Exception as exc:  # noqa: BLE001 - found again at the next check
                self._log.warning(f"reconcile: canceling {len(orphans)} orders at the venue failed ({exc}); "
                                  "tried again at the next check")
        n_open = len(reports)
        if self._trading:
            missing = [o for o in self._cache.orders_open(venue=self.venue)
                       if o.client_order_id not in venue_coids and self._settled(o, now)
                       and (command.instrument_id is None or o.instrument_id == command.instrument_id)]
            for order in missing[:_MAX_STATUS_QUERIES]:
                self.recon["orders_missing_at_venue"] += 1
                self._log.warning(f"reconcile: {order.client_order_id} ({order.status_string()}) open in the node but "
                                  "not at the venue: asking the venue what became of it (orderStatus)")
                report = await self._missing_order_report(order)
                if report is not None:
                    reports.append(report)
        if self._trading:  # the running check, every few seconds: quiet unless something differed (above)
            self._log.debug(f"order status reports: {n_open} open at the venue")
        else:
            self._log.info(f"order status reports: {n_open} open at the venue")
        return reports

    async def _missing_order_report(self, order) -> OrderStatusReport | None:
        """The venue's report of ``order`` (absent from its open orders); a closed one after the
        fills the node missed were applied (:meth:`_close_from_venue`). None if the venue does not know it."""
        try:
            res = await self._http.order_status(self._cloid(order.client_order_id))
        except Exception as exc:  # noqa: BLE001 - asked again at the next check
            self._log.warning(f"reconcile: orderStatus of {order.client_order_id} failed ({exc}); asking again at the next check")
            return None
        if not isinstance(res, dict) or res.get("status") != "order":
            self._log.error(f"reconcile: {order.client_order_id} is open in the node but the venue does not know it "
                            f"({res.get('status') if isinstance(res, dict) else res}); left as it is")
            return None
        found = decode_order_update(res["order"])
        inst = self._inst(order.instrument_id)
        report = parsing.order_status_report(found.order, inst, self.account_id, order.client_order_id,
                                             self._clock.timestamp_ns(), status=found.status,
                                             status_ts_ms=found.statusTimestamp)
        if found.status != "open":
            await self._close_from_venue(order, found.order, found.status, report)
        return report

    def _settled(self, order, now_ns: int) -> bool:
        """No event of ``order`` (None: unknown) for ``reconcile_settle_secs``: a difference is real, not in flight."""
        return order is None or now_ns - order.ts_last >= self._config.reconcile_settle_secs * 1e9

    async def generate_fill_reports(self, command: GenerateFillReports) -> list[FillReport]:
        now_ms = int(time.time() * 1000)
        start_ms = int(command.start.timestamp() * 1000) if command.start is not None else now_ms - 24 * 3_600_000
        end_ms = int(command.end.timestamp() * 1000) if command.end is not None else None
        fills = await self._http.user_fills_by_time(start_ms, end_ms)  # every page
        reports = []
        now = self._clock.timestamp_ns()
        for f in sorted(map(decode_fill, fills), key=lambda x: (x.time, x.tid)):
            inst = self._inst_for_coin(f.coin)
            if inst is None or (command.instrument_id is not None and inst.id != command.instrument_id):
                continue
            coid = self._report_coid(f.cloid)
            if self._trading:
                cached = self._cache.order(coid) if coid is not None else None
                if cached is None or TradeId(str(f.tid)) not in cached.trade_ids:
                    self.recon["missed_fills"] += 1
                    self._log.warning(f"reconcile: fill {f.tid} ({f.coin} {f.side} {f.sz} @ {f.px}, order {coid}) missed by "
                                      "the node: given to the engine to apply")
            self._seen_tids.add(f.tid)
            reports.append(parsing.fill_report(f, inst, self.account_id, coid, now))
        return reports

    async def generate_position_status_reports(self, command: GeneratePositionStatusReports) -> list[PositionStatusReport]:
        state = await self._http.clearinghouse_state()
        held = parsing.positions(state)
        now = self._clock.timestamp_ns()
        reports = []
        for coin, iid in self._provider.coin_to_id.items():
            if command.instrument_id is not None and iid != command.instrument_id:
                continue
            inst = self._inst(iid)
            szi, entry = held.get(coin, (Decimal(0), None))
            reports.append(parsing.position_report(szi, entry, inst, self.account_id, now))
            if self._trading:
                node_qty = sum((p.signed_decimal_qty() for p in self._cache.positions_open(instrument_id=iid)), Decimal(0))
                if node_qty != szi:
                    self.recon["position_differences"] += 1
                    self._log.info(f"reconcile: {coin} position {node_qty} in the node, {szi} at the venue: the engine "
                                   "looks for missed fills once the position has been quiet for a few seconds")
        return reports
