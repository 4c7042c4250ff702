"""``MarketMaker``: the Nautilus strategy that runs the same in a backtest and live.

Thin by design: it feeds book, trade and bar events into ``botmm_nautilus.core.decision.MarketMakerCore``
(with the instrument's price/size grid, ``grid_for``) and turns the desired ladder into post-only
(ALO) limit orders through the pure order diff (``botmm_nautilus.core.order_diff``). Its config
(``MarketMakerConfig``, strategies/config.py) carries the core's parameter sections, which the core
reads as they are. There is no backtest-only branch: the only mode switch is the data it subscribes
to (L2 book + trades, or bars for candle mode).

Order errors feed the core's risk rules: post-only rejects the post-only storm, any other reject
and a refused modify or cancel of an order still on the book the API-error storm. Conditions
found below the strategy (stale data, a dead execution WebSocket, a dead-man's switch that cannot
be set, an exhausted rate budget, an operator pause) arrive as ``VenueHealth`` messages
(``engine/venue_health.py``) and hold the risk manager (cancel all) until they clear. In book mode
a 1 s timer re-runs the stale-book rule on the strategy's clock (``RiskManager.check_stale``), so
a book that stops arriving pulls the quotes without waiting for an event, in a backtest as live.

Flatten (the kill switch with flatten, ``halt_flatten``, ``flatten_on_stop``, the operator's
``botmm kill --flatten``): Hyperliquid has no market order, so the position is closed with IOC
reduce-only LIMIT orders priced ``risk.flatten_max_slippage_bps`` through the touch (rounded on the
grid toward the touch: never worse than that), one at a time: the next is sent only after the
previous one is resolved (closed, or unresolved after ``_FLATTEN_RESOLVE_S`` with the position
read again), up to ``risk.flatten_max_tries``; each order and its outcome is a log line and what
is left after the last one is an error line. Reduce-only bounds any overlap: the venue never lets
a flatten order flip the position.

Persistence: ``risk_restore`` (set by the live app before the start; a ``RiskManager.snapshot``)
is restored into the risk manager when the core is built. The strategy does no file I/O.

It also keeps a small "tape" (mid changes, fills with the mid at fill time, and 1 s samples of
equity, inventory and quotes) that the backtest runner turns into reports. Recording a mid change
is a list append; nothing on the per-event path allocates more than that.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from nautilus_trader.model.currencies import USDC
from nautilus_trader.model.data import Bar
from nautilus_trader.model.data import BarType
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.events import OrderCancelRejected
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.events import OrderModifyRejected
from nautilus_trader.model.events import OrderRejected
from nautilus_trader.trading.strategy import Strategy

from botmm_nautilus.adapters.hyperliquid.instruments import VENUE_NAME as HL_VENUE_NAME
from botmm_nautilus.core.decision import MarketMakerCore
from botmm_nautilus.core.grid import TickLotGrid
from botmm_nautilus.core.order_diff import CANCEL
from botmm_nautilus.core.order_diff import MODIFY
from botmm_nautilus.core.order_diff import SUBMIT
from botmm_nautilus.core.order_diff import LiveOrder
from botmm_nautilus.core.order_diff import diff_ladder
from botmm_nautilus.engine.venue_health import QUOTE_BUDGET_TOPIC
from botmm_nautilus.engine.venue_health import VENUE_HEALTH_TOPIC
from botmm_nautilus.engine.venue_health import QuoteBudget
from botmm_nautilus.engine.venue_health import VenueHealth
from botmm_nautilus.venue import actions as hl_actions
from botmm_nautilus.venue.rules import HyperliquidGrid

from .config import MarketMakerConfig

# an IOC flatten order not closed after this long is judged by the position (the venue resolves an
# IOC within its one request; only a lost answer leaves it open in the cache)
_FLATTEN_RESOLVE_S = 3.0
_FLATTEN_TIMER = "botmm-flatten"

# levels a side scanned for the market's touch when the book shows our own orders (we rest a few)
_TOUCH_SCAN_LEVELS = 10

# Book mode with ``risk.stale_book_s`` set: the risk rules' stale-book check runs on a timer this
# often (the strategy's clock: the backtest clock in a backtest, the node's live), so a book that
# stops arriving pulls the quotes within stale_book_s + this, even when no event arrives.
RISK_CHECK_INTERVAL_S = 1.0

# A refused modify or cancel is a race, not an API error, when the order had already left the book
# (filled or canceled while the request was on its way) or when the new price would have crossed
# (a post-only refusal: the order keeps its old price). Orders closed in the cache are races
# whatever the text (Nautilus's backtest engine then answers "... not found"); these reasons say it
# of orders the cache still holds open.
_RACE_REASONS = (
    hl_actions.MISSING_ORDER,  # cancel: never placed, already canceled, or filled
    hl_actions.CANNOT_MODIFY,  # modify of a canceled or filled order
    hl_actions.MODIFY_REPLACE_FAILED,  # modify: the old order canceled, its replacement refused
    hl_actions.POST_ONLY_WOULD_MATCH,  # the modified ALO price would have crossed
    "would have been a TAKER",  # the same refusal from Nautilus's backtest matching engine
)


def grid_for(instrument) -> HyperliquidGrid | TickLotGrid:
    """The price/size grid the core quotes on. One rule: an instrument of Hyperliquid's venue gets
    ``HyperliquidGrid`` (5 significant figures, szDecimals lots, 10 USDC minimum); any other venue's
    (an imported StandX or Binance perp) the plain grid of its ``price_increment`` and
    ``size_increment`` with its ``min_notional`` (0 when it has none)."""
    if instrument.id.venue.value == HL_VENUE_NAME:
        return HyperliquidGrid(instrument.size_precision)
    min_notional = instrument.min_notional
    return TickLotGrid(
        float(instrument.price_increment),
        float(instrument.size_increment),
        min_value_usd=min_notional.as_double() if min_notional is not None else 0.0,
    )


class MarketMaker(Strategy):
    def __init__(self, config: MarketMakerConfig) -> None:
        super().__init__(config)
        quoting = config.quoting
        self.instrument = None
        self.core: MarketMakerCore | None = None
        self._iid = config.instrument_id
        self._iid_str = str(config.instrument_id)
        self._book = None
        self._min_requote_ns = int(quoting.min_requote_interval_ms * 1e6)
        self._base_min_requote_ns = self._min_requote_ns
        self._last_requote_ns = 0
        self._last_requote_mid = math.nan
        # A requote decision is skipped when nothing it depends on changed: the mid moved less
        # than half the requote tolerance (quotes are mid-relative, so the diff would keep every
        # order), no order event since the last decision, and less than max idle since the last.
        self._max_idle_ns = 5_000_000_000
        self._mid_move_frac = 0.5 * quoting.requote_tolerance_bps * 1e-4
        self._dirty = True
        self._live: dict = {}  # client_order_id -> Order, our open or in-flight orders
        self._own_in_book = config.book_includes_own_orders and config.mode == "book"
        self._half_lot = 0.0  # set from the instrument at start
        self._samples_since_refresh = 0
        self._refresh_every_samples = max(1, int(60.0 / config.sample_interval_s))
        self._tol_bps = quoting.requote_tolerance_bps
        self._size_tol = quoting.requote_size_tolerance_pct / 100.0
        self._balance = 0.0
        self._position = 0.0
        self._avg_px = 0.0
        # flatten state (see the module docstring)
        self.flatten_active = False
        self._flatten_reason = ""
        self._flatten_tries = 0
        self._flatten_order = None  # the ClientOrderId of the IOC order in flight
        self._flatten_sent_ns = 0
        self._flatten_gave_up = False
        self.flatten_orders: list = []  # every flatten order sent (ClientOrderId), for reports and tests
        self.risk_restore: dict | None = None  # a RiskManager.snapshot to restore at start (live app)
        # counters
        self.orders_submitted = 0
        self.orders_modified = 0
        self.orders_canceled = 0
        self.post_only_rejects = 0
        self.fills = 0
        self.book_updates = 0
        # tape for reports (plain lists: cheap appends)
        self.tape_mid_ts: list[int] = []
        self.tape_mid: list[float] = []
        self.tape_fills: list[tuple] = []
        self.tape_samples: list[tuple] = []
        self.risk_events: list[Any] = []

    # ------------------------------------------------------------------------------ lifecycle
    def on_start(self) -> None:
        self.instrument = self.cache.instrument(self._iid)
        if self.instrument is None:
            self.log.error(f"instrument {self._iid} not found in the cache; stopping")
            self.stop()
            return
        self._half_lot = self.instrument.size_increment.as_double() / 2
        c = self.config
        self.core = self._make_core()
        if self.risk_restore is not None:
            state = self.core.risk.restore(self.clock.timestamp_ns(), self.risk_restore)
            if state.value in ("KILLED", "HALTED"):
                reasons = "; ".join(self.core.risk.status()["reasons"])
                self.log.warning(f"{self._iid}: {state.value} (restored from the state folder): {reasons}; "
                                 "not quoting until reset (botmm kill --reset)")
        self._refresh_account()
        # orders of this strategy already known (live: reconciled from the venue at start)
        for order in self.cache.orders_open(instrument_id=self._iid, strategy_id=self.id):
            self._live[order.client_order_id] = order
        self.subscribe_instrument(self._iid)  # live: the venue may change szDecimals
        if self.config.mode == "candles":
            if not self.config.bar_type:
                raise ValueError("candle mode needs bar_type")
            self.subscribe_bars(BarType.from_str(self.config.bar_type))
        else:
            self.subscribe_order_book_deltas(self._iid, BookType.L2_MBP)
            self.subscribe_trade_ticks(self._iid)
            self._book = self.cache.order_book(self._iid)
        self.msgbus.subscribe(topic=VENUE_HEALTH_TOPIC, handler=self._on_venue_health)
        if self.config.mode == "book" and c.risk.stale_book_s is not None:
            self.clock.set_timer(
                "botmm-risk-check",
                interval=timedelta(seconds=min(RISK_CHECK_INTERVAL_S, c.risk.stale_book_s)),
                callback=self._on_risk_timer,
            )
        self.msgbus.subscribe(topic=QUOTE_BUDGET_TOPIC, handler=self._on_quote_budget)
        if self.config.record_tape:
            self.clock.set_timer(
                "botmm-sample",
                interval=timedelta(seconds=self.config.sample_interval_s),
                callback=self._on_sample_timer,
            )

    def _make_core(self, core_cls: type[MarketMakerCore] = MarketMakerCore, **extra: Any) -> MarketMakerCore:
        """The decision core for the instrument: ``core_cls`` (a subclass of ``MarketMakerCore``)
        built from the config's sections, with ``extra`` keyword arguments of that subclass."""
        c = self.config
        return core_cls(
            c.quoting,
            c.calibration,
            c.risk,
            c.signals,
            grid=grid_for(self.instrument),
            capital_usd=c.capital_usd,
            maker_fee_bps=c.maker_fee_bps,
            **extra,
        )

    def on_stop(self) -> None:
        self.cancel_all_orders(self._iid)
        if self.config.risk.flatten_on_stop and not self.flatten_active:
            # a stopped strategy gets no more events or timers: one IOC now (the live app flattens
            # before it stops the node, so this finds nothing left there)
            self.flatten("flatten_on_stop")

    # ------------------------------------------------------------------------------ kill and flatten
    def kill(self, reason: str, flatten: bool = False) -> None:
        """The kill switch: KILLED until reset, cancel every order (the execution client's
        cancel-all also sweeps the venue's open orders), and close the position if ``flatten``."""
        core = self.core
        if core is None:
            return
        ts = self.clock.timestamp_ns()
        core.risk.kill(ts, reason, flatten)
        self.log.warning(f"{self._iid}: KILLED ({reason}): canceling all orders{' and flattening' if flatten else ''}; "
                         "not quoting until reset")
        self.cancel_all_orders(self._iid)
        self._flatten_gave_up = False
        if flatten:
            self.flatten(f"kill: {reason}")

    def reset_risk(self, why: str) -> str:
        """The operator's reset: lift a kill, a drawdown halt and a daily-loss pause, and take the
        next equity as the day's baseline and the peak (``RiskManager.rebase``); returns the state."""
        core = self.core
        if core is None:
            return "NOT_STARTED"
        ts = self.clock.timestamp_ns()
        core.risk.reset_kill(ts, why)
        core.risk.reset_halt(ts, why)
        state = core.risk.rebase(ts, why)
        self.log.warning(f"{self._iid}: kill/halt reset ({why}): state {state.value}")
        self._flatten_gave_up = False
        self._dirty = True
        return state.value

    def risk_snapshot(self) -> dict | None:
        """The risk manager's persistent state (``RiskManager.snapshot``), None before the start."""
        return self.core.risk.snapshot() if self.core is not None else None

    def venue_position(self) -> float:
        """The instrument's net open position in the cache (every strategy's and any reconciled
        external one: what the venue holds on the account)."""
        return float(sum(p.signed_qty for p in self.cache.positions_open(instrument_id=self._iid)))

    def flatten(self, reason: str) -> None:
        """Close the position with IOC reduce-only limit orders (module docstring); no-op while one
        is under way."""
        if self.flatten_active or self.instrument is None or self.core is None:
            return
        if abs(self.venue_position()) <= self._half_lot:
            self.log.info(f"{self._iid}: flatten ({reason}): no position")
            return
        self.flatten_active = True
        self._flatten_reason = reason
        self._flatten_tries = 0
        self._flatten_order = None
        self.log.warning(f"{self._iid}: flatten ({reason}): position {self.venue_position():g}; canceling orders, "
                         f"then IOC reduce-only limits {self.config.risk.flatten_max_slippage_bps:g} bps through the touch, "
                         f"up to {self.config.risk.flatten_max_tries}")
        self.cancel_all_orders(self._iid)
        self._flatten_step()
        if self.flatten_active and self.is_running and _FLATTEN_TIMER not in self.clock.timer_names:
            self.clock.set_timer(_FLATTEN_TIMER, interval=timedelta(milliseconds=250),
                                 callback=self._on_flatten_timer)

    def _on_flatten_timer(self, _event) -> None:
        self._flatten_step()

    def _flatten_done(self) -> None:
        self.flatten_active = False
        self._flatten_order = None
        if _FLATTEN_TIMER in self.clock.timer_names:
            self.clock.cancel_timer(_FLATTEN_TIMER)

    def _flatten_step(self) -> None:
        """One step: wait while the last IOC is unresolved, else stop when flat or out of tries,
        else send the next IOC."""
        if not self.flatten_active:
            return
        now = self.clock.timestamp_ns()
        last = self._flatten_order
        if last is not None:
            order = self.cache.order(last)
            age_s = (now - self._flatten_sent_ns) / 1e9
            if order is not None and not order.is_closed and age_s < _FLATTEN_RESOLVE_S:
                return  # still in flight: find out before acting again
            filled = order.filled_qty.as_double() if order is not None else 0.0
            status = order.status.name if order is not None else "UNKNOWN"
            self.log.warning(f"{self._iid}: flatten try {self._flatten_tries}: {last} {status}, filled {filled:g}"
                             + ("" if order is None or order.is_closed
                                else f" (unresolved after {age_s:.1f}s: judged by the position)"))
            self._flatten_order = None
        pos = self.venue_position()
        if abs(pos) <= self._half_lot:
            self.log.warning(f"{self._iid}: flatten ({self._flatten_reason}) done: position 0 after "
                             f"{self._flatten_tries} IOC order(s)")
            self._flatten_done()
            return
        risk = self.config.risk
        if self._flatten_tries >= risk.flatten_max_tries:
            self.log.error(f"{self._iid}: FLATTEN INCOMPLETE ({self._flatten_reason}): position {pos:g} remains after "
                           f"{self._flatten_tries} IOC orders within {risk.flatten_max_slippage_bps:g} bps; "
                           "no more orders are sent: close it by hand or run botmm kill --flatten again")
            self._flatten_gave_up = True
            self._flatten_done()
            return
        sell = pos > 0
        touch = self._flatten_touch(sell)
        if touch is None:
            self.log.warning(f"{self._iid}: flatten: no {'bid' if sell else 'ask'} to price against; retrying")
            return
        grid = self.core.grid
        slip = risk.flatten_max_slippage_bps * 1e-4
        if sell:
            px = grid.round_price(touch * (1.0 - slip), "up")
        else:
            px = grid.round_price(touch * (1.0 + slip), "down")
        qty = grid.round_size(abs(pos), "down")
        if qty <= 0.0:
            self.log.error(f"{self._iid}: FLATTEN INCOMPLETE: position {pos:g} is below one lot; close it by hand")
            self._flatten_gave_up = True
            self._flatten_done()
            return
        order = self.order_factory.limit(
            instrument_id=self._iid,
            order_side=OrderSide.SELL if sell else OrderSide.BUY,
            quantity=self.instrument.make_qty(qty),
            price=self.instrument.make_price(px),
            time_in_force=TimeInForce.IOC,
            post_only=False,
            reduce_only=True,
        )
        self._flatten_tries += 1
        self._flatten_order = order.client_order_id
        self._flatten_sent_ns = now
        self.flatten_orders.append(order.client_order_id)
        self.log.warning(f"{self._iid}: flatten try {self._flatten_tries}/{risk.flatten_max_tries}: "
                         f"{'SELL' if sell else 'BUY'} {qty:g} IOC reduce-only limit {px:g} "
                         f"(touch {touch:g}, {risk.flatten_max_slippage_bps:g} bps through); position {pos:g}")
        self.submit_order(order)

    def _flatten_touch(self, sell: bool) -> float | None:
        """The price a flatten order crosses: the best bid to sell into, the best ask to buy from."""
        book = self._book if self._book is not None else self.cache.order_book(self._iid)
        if book is not None:
            px = book.best_bid_price() if sell else book.best_ask_price()
            if px is not None:
                return px.as_double()
        mid = self.core.mid
        return mid if mid == mid and mid > 0 else None

    def _on_venue_health(self, msg: VenueHealth) -> None:
        """The venue side is (no longer) safe to quote on: hold / release the risk manager on the
        message's key and act at once (a held strategy cancels all)."""
        if msg.instrument_id is not None and msg.instrument_id != self._iid_str:
            return
        core = self.core
        if core is None:
            return
        ts = self.clock.timestamp_ns()
        if msg.blocked:
            if msg.key in core.risk.held():
                return
            self.log.warning(f"quoting held ({msg.key}): {msg.reason}")
            core.risk.hold(ts, msg.key, msg.reason)
        else:
            if msg.key not in core.risk.held():
                return
            self.log.warning(f"quoting resumes ({msg.key}): {msg.reason}")
            core.risk.release(ts, msg.key, msg.reason)
        self._requote(ts)

    def _on_risk_timer(self, event) -> None:
        """Blind means flat: the stale-book rule at the clock's time; when it (or any pause) stops
        quoting while orders of ours rest, requote now (the decision cancels them)."""
        core = self.core
        if core is None or not self._live:
            return
        if core.risk.check_stale(event.ts_event, core.last_book_ts_ns or None).cancel_all:
            self._requote(event.ts_event)

    def _on_quote_budget(self, msg: QuoteBudget) -> None:
        """The venue's action budget allows less (or again full) quoting: at most
        ``msg.max_levels`` levels a side and the minimum requote interval times
        ``msg.requote_interval_mult``; a change is logged and applied at once."""
        if msg.instrument_id is not None and msg.instrument_id != self._iid_str:
            return
        core = self.core
        if core is None:
            return
        min_requote_ns = int(self._base_min_requote_ns * msg.requote_interval_mult)
        if msg.max_levels == core.max_levels and min_requote_ns == self._min_requote_ns:
            return
        if msg.max_levels is None:
            self.log.warning(f"full ladder again: {msg.reason}")
        else:
            self.log.warning(f"quoting at most {msg.max_levels} level(s) a side, requotes "
                             f"{msg.requote_interval_mult:g}x less often: {msg.reason}")
        core.max_levels = msg.max_levels
        self._min_requote_ns = min_requote_ns
        ts = self.clock.timestamp_ns()
        if core.mid == core.mid:  # a market to quote on
            self._requote(ts)

    def on_instrument(self, instrument) -> None:
        """A changed lot/tick rule (Hyperliquid szDecimals): quote on the new grid from now on. Live
        orders sized on the old grid are canceled (a modify of them would be refused) and requoted."""
        old = self.instrument
        if instrument.id != self._iid or old is None or self.core is None:
            return
        if (instrument.size_precision, instrument.price_precision) == (old.size_precision, old.price_precision):
            self.instrument = instrument
            return
        self.log.warning(
            f"{self._iid}: size/price precision {old.size_precision}/{old.price_precision} -> "
            f"{instrument.size_precision}/{instrument.price_precision}; canceling quotes and requoting on the new grid",
        )
        self.instrument = instrument
        self.core.grid = grid_for(instrument)
        self.cancel_all_orders(self._iid)
        self._dirty = True

    # ------------------------------------------------------------------------------ market data
    def on_order_book_deltas(self, deltas: OrderBookDeltas) -> None:
        book = self._book
        if book is None:
            book = self._book = self.cache.order_book(self._iid)
        bid = book.best_bid_price()
        ask = book.best_ask_price()
        if bid is None or ask is None:
            return
        self.book_updates += 1
        ts = deltas.ts_init  # when we know it (engine clock); ts_event is the venue stamp
        bid_f = bid.as_double()
        ask_f = ask.as_double()
        if self._own_in_book and self._live:
            bid_f, ask_f = self._market_touch(book, bid_f, ask_f)
            if not (bid_f == bid_f and ask_f == ask_f):
                return  # only our own orders on a side: no market touch to quote against
        core = self.core
        old_mid = core.mid
        core.on_book(ts, bid_f, ask_f)
        if core.mid != old_mid and self.config.record_tape:
            self.tape_mid_ts.append(ts)
            self.tape_mid.append(core.mid)
        since = ts - self._last_requote_ns
        if since >= self._min_requote_ns and (
            self._dirty
            or since >= self._max_idle_ns
            or not abs(core.mid - self._last_requote_mid) <= core.mid * self._mid_move_frac
        ):
            n = core.book_levels
            if n:  # a book signal (imbalance, microprice) is on
                bids = book.bids()[:n]
                asks = book.asks()[:n]
                prices = ([lv.price.as_double() for lv in bids], [lv.price.as_double() for lv in asks]) if core.wants_level_prices else ()
                core.on_book_levels(ts, [lv.size() for lv in bids], [lv.size() for lv in asks], *prices)
            self._requote(ts)

    def _market_touch(self, book, bid: float, ask: float) -> tuple[float, float]:
        """Best bid and ask of the market without this strategy's own resting orders (a live book
        shows them): a level whose size is all ours is skipped. NaN when a side has nothing else.

        ``bid``/``ask``: the book's touch. The levels are read only for a side where one of our
        orders rests at the touch (per book update, usually neither)."""
        own_bid: dict[float, float] = {}
        own_ask: dict[float, float] = {}
        for order in self._live.values():
            if not order.is_open:
                continue
            own = own_bid if order.side == OrderSide.BUY else own_ask
            px = order.price.as_double()
            own[px] = own.get(px, 0.0) + order.leaves_qty.as_double()
        if bid in own_bid:
            bid = self._first_level_not_ours(book.bids(), own_bid)
        if ask in own_ask:
            ask = self._first_level_not_ours(book.asks(), own_ask)
        return bid, ask

    def _first_level_not_ours(self, levels, own: dict[float, float]) -> float:
        for level in levels[:_TOUCH_SCAN_LEVELS]:
            px = level.price.as_double()
            if level.size() - own.get(px, 0.0) > self._half_lot:
                return px
        return float("nan")

    def on_trade_tick(self, tick: TradeTick) -> None:
        self.core.on_trade(
            tick.ts_init,
            tick.price.as_double(),
            tick.size.as_double(),
            tick.aggressor_side == AggressorSide.BUYER,
        )

    def on_bar(self, bar: Bar) -> None:
        core = self.core
        core.on_bar(bar.ts_init, bar.open.as_double(), bar.high.as_double(), bar.low.as_double(), bar.close.as_double())
        if self.config.record_tape:
            self.tape_mid_ts.append(bar.ts_init)
            self.tape_mid.append(core.mid)
        self._requote(bar.ts_init)

    # ------------------------------------------------------------------------------ quoting
    def _requote(self, ts: int) -> None:
        self._last_requote_ns = ts
        self._last_requote_mid = self.core.mid
        self._dirty = False
        live_bids: list[LiveOrder] = []
        live_asks: list[LiveOrder] = []
        inflight_buy = 0.0
        inflight_sell = 0.0
        for order in self._live.values():
            in_flight = order.is_inflight or order.is_pending_update or order.is_pending_cancel
            lo = LiveOrder(order, order.price.as_double(), order.leaves_qty.as_double(), in_flight)
            if order.side == OrderSide.BUY:
                live_bids.append(lo)
                if in_flight:
                    inflight_buy += lo.qty
            else:
                live_asks.append(lo)
                if in_flight:
                    inflight_sell += lo.qty
        equity = self._balance + self._position * (self.core.mid - self._avg_px) if self._position else self._balance
        decision = self.core.decide(ts, self._position, equity, inflight_buy, inflight_sell)
        if decision is None:
            return
        risk = decision.risk
        if (risk.flatten and not self.flatten_active and not self._flatten_gave_up
                and abs(self.venue_position()) > self._half_lot):
            self.flatten("; ".join(risk.reasons) or "risk rule")
        if self.flatten_active:
            return  # no quotes while flattening (the risk state cancels them anyway)
        if len(live_bids) > 1:
            live_bids.sort(key=lambda o: -o.price)
        if len(live_asks) > 1:
            live_asks.sort(key=lambda o: o.price)
        actions = diff_ladder(decision.bids, decision.asks, live_bids, live_asks, decision.mid, self._tol_bps, self._size_tol)
        for act in actions:
            if act.kind == CANCEL:
                self.cancel_order(act.key)
                self.orders_canceled += 1
            elif act.kind == MODIFY:
                order = act.key
                qty = act.qty + order.filled_qty.as_double()
                self.modify_order(order, quantity=self.instrument.make_qty(qty), price=self.instrument.make_price(act.price))
                self.orders_modified += 1
            elif act.kind == SUBMIT:
                order = self.order_factory.limit(
                    instrument_id=self._iid,
                    order_side=OrderSide.BUY if act.side > 0 else OrderSide.SELL,
                    quantity=self.instrument.make_qty(act.qty),
                    price=self.instrument.make_price(act.price),
                    time_in_force=TimeInForce.GTC,
                    post_only=True,
                )
                self._live[order.client_order_id] = order
                self.submit_order(order)
                self.orders_submitted += 1

    # ------------------------------------------------------------------------------ events
    def on_order_event(self, event) -> None:
        """Any order event changes what the next decision sees; closed orders leave the live set."""
        self._dirty = True
        order = self._live.get(event.client_order_id)
        if order is not None and order.is_closed:
            del self._live[event.client_order_id]
        elif event.client_order_id == self._flatten_order:
            order = self.cache.order(event.client_order_id)
            if order is not None and order.is_closed and not order.filled_qty.as_double():
                self._flatten_step()  # refused or canceled unfilled: no position event follows

    def on_order_filled(self, event: OrderFilled) -> None:
        self.fills += 1
        side = 1 if event.order_side == OrderSide.BUY else -1
        px = event.last_px.as_double()
        qty = event.last_qty.as_double()
        fee = event.commission.as_double()
        if self.config.record_tape:
            self.tape_fills.append(
                (event.ts_event, side, px, qty, fee, event.liquidity_side.name, self.core.mid,
                 event.client_order_id.value, event.venue_order_id.value if event.venue_order_id is not None else "",
                 event.trade_id.value),
            )
        self._on_own_fill(event, side > 0, px, qty)
        self._refresh_account()

    def _on_own_fill(self, event: OrderFilled, is_buy: bool, price: float, qty: float) -> None:
        """Hook: one of our fills, before the account is re-read (``core.mid`` is still the mid
        before the fill moved the book). No-op here."""

    def on_order_rejected(self, event: OrderRejected) -> None:
        if event.client_order_id in self.flatten_orders:
            self.log.warning(f"flatten order rejected: {event.reason}")  # not an API error: the flatten retries
            return
        if event.due_post_only:
            self.post_only_rejects += 1
            self.core.risk.on_post_only_reject(event.ts_event)
        else:
            self.log.warning(f"order rejected: {event.reason}")
            self.core.risk.on_api_error(event.ts_event)

    def on_order_modify_rejected(self, event: OrderModifyRejected) -> None:
        self.log.warning(f"modify rejected: {event.reason}")
        if not self._is_race(event):
            self.core.risk.on_api_error(event.ts_event)

    def on_order_cancel_rejected(self, event: OrderCancelRejected) -> None:
        self.log.warning(f"cancel rejected: {event.reason}")
        if not self._is_race(event):
            self.core.risk.on_api_error(event.ts_event)

    def _is_race(self, event) -> bool:
        order = self.cache.order(event.client_order_id)
        if order is None or order.is_closed:
            return True
        reason = event.reason or ""
        return any(text in reason for text in _RACE_REASONS)

    def on_position_changed(self, event) -> None:
        if self.flatten_active:
            self._flatten_step()

    def on_position_closed(self, event) -> None:
        self._refresh_account()
        if self.flatten_active:
            self._flatten_step()

    def _refresh_account(self) -> None:
        account = self.portfolio.account(self._iid.venue)
        if account is not None:
            # the instrument's settlement currency (USDC on Hyperliquid; USDT for an imported Binance perp)
            currency = self.instrument.settlement_currency if self.instrument is not None else USDC
            bal = account.balance_total(currency)
            self._balance = bal.as_double() if bal is not None else 0.0
        pos_qty = 0.0
        avg = 0.0
        for position in self.cache.positions_open(instrument_id=self._iid, strategy_id=self.id):
            pos_qty += position.signed_qty
            avg = position.avg_px_open
        self._position = pos_qty
        self._avg_px = avg

    def _on_sample_timer(self, event) -> None:
        core = self.core
        mid = core.mid
        if not mid == mid:
            return
        # fills refresh the account as they happen; funding (booked by the venue without an order
        # event) is picked up by this periodic refresh
        self._samples_since_refresh += 1
        if self._samples_since_refresh >= self._refresh_every_samples:
            self._samples_since_refresh = 0
            self._refresh_account()
        equity = self._balance + self._position * (mid - self._avg_px)
        best_bid = math.nan
        best_ask = math.nan
        for order in self._live.values():
            if not order.is_open:
                continue
            px = order.price.as_double()
            if order.side == OrderSide.BUY:
                if not best_bid >= px:
                    best_bid = px
            elif not best_ask <= px:
                best_ask = px
        quoting = best_bid == best_bid or best_ask == best_ask
        self.tape_samples.append((event.ts_event, equity, self._position, mid, best_bid, best_ask, quoting))
        events = core.risk.drain_events()
        if events:
            for ev in events:
                self.risk_events.append(ev)
                self.log.info(f"risk: {ev}")
            self.log.info(f"risk status: {core.risk.status()}")
