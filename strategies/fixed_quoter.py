"""``FixedQuoter``: a fixed-rule quoter, the common strategy of the cross-engine benchmark
(bench/cross_engine.py runs the same rule in hftbacktest).

Rule, evaluated only at multiples of ``requote_interval_s`` of the clock (epoch aligned):

* target bid = the mid minus ``half_spread_bps`` rounded DOWN to the tick grid, target ask = the mid
  plus ``half_spread_bps`` rounded UP (``fixed_quote_ticks``; computed in integer ticks so that two
  engines holding the same book get the same prices);
* per side: an open order at the target price is kept (also when partly filled); otherwise the
  open order is canceled and a new post-only GTC limit order of ``order_size`` is submitted at the
  target (cancel/replace). No inventory skew, no model, no risk rule.

Nothing is quoted while the book has no bid or no ask.
"""

from __future__ import annotations

import math

from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.events import OrderRejected
from nautilus_trader.trading.strategy import Strategy

from .config import FixedQuoterConfig

_TIMER = "fixed-quoter"


def fixed_quote_ticks(best_bid_tick: int, best_ask_tick: int, half_spread_bps: float) -> tuple[int, int]:
    """``(bid, ask)`` in ticks: ``half_spread_bps`` below / above the mid, the bid rounded down and
    the ask rounded up to the grid. Plain arithmetic so that numba can compile it unchanged."""
    mid2 = best_bid_tick + best_ask_tick  # twice the mid, in ticks: an exact integer
    frac = half_spread_bps * 1e-4
    return math.floor(mid2 * (1.0 - frac) / 2.0), math.ceil(mid2 * (1.0 + frac) / 2.0)


class FixedQuoter(Strategy):
    def __init__(self, config: FixedQuoterConfig) -> None:
        super().__init__(config)
        if config.mode != "book":
            raise ValueError(f"FixedQuoter quotes from the order book only (mode='book'), got mode={config.mode!r}")
        self._iid = config.instrument_id
        self._interval_ns = int(round(config.requote_interval_s * 1e9))
        self._book = None
        self._tick = 0.0
        self._qty = None
        self._orders: dict[OrderSide, object] = {OrderSide.BUY: None, OrderSide.SELL: None}
        self._order_ticks: dict[OrderSide, int] = {OrderSide.BUY: 0, OrderSide.SELL: 0}
        # counters read by bench/cross_engine.py and the tests
        self.ticks: list[tuple[int, int, int, int, int]] = []  # (ts_ns, best bid, best ask, bid, ask) in ticks
        self.orders_submitted = 0
        self.orders_canceled = 0
        self.post_only_rejects = 0
        self.fill_events = 0
        self.filled_order_ids: set = set()
        self.filled_qty = 0.0
        self.fees = 0.0
        self.cash = 0.0  # -sum(side * price * qty): the quote currency paid (-) or received (+)
        self.position = 0.0

    def on_start(self) -> None:
        instrument = self.cache.instrument(self._iid)
        if instrument is None:
            self.log.error(f"instrument {self._iid} not found in the cache; stopping")
            self.stop()
            return
        self._tick = instrument.price_increment.as_double()
        size = self.config.order_size if self.config.order_size is not None else instrument.size_increment.as_double()
        self._qty = instrument.make_qty(size)
        self.subscribe_order_book_deltas(self._iid, BookType.L2_MBP)
        self._book = self.cache.order_book(self._iid)
        now = self.clock.timestamp_ns()
        self.clock.set_timer_ns(_TIMER, self._interval_ns, now - now % self._interval_ns, 0, self._on_timer)

    def on_stop(self) -> None:
        self.cancel_all_orders(self._iid)

    def _on_timer(self, event) -> None:
        book = self._book or self.cache.order_book(self._iid)
        self._book = book
        bid = book.best_bid_price() if book is not None else None
        ask = book.best_ask_price() if book is not None else None
        if bid is None or ask is None:
            return
        bid_tick = round(bid.as_double() / self._tick)
        ask_tick = round(ask.as_double() / self._tick)
        target_bid, target_ask = fixed_quote_ticks(bid_tick, ask_tick, self.config.half_spread_bps)
        self.ticks.append((event.ts_event, bid_tick, ask_tick, target_bid, target_ask))
        self._quote(OrderSide.BUY, target_bid)
        self._quote(OrderSide.SELL, target_ask)

    def _quote(self, side: OrderSide, target_tick: int) -> None:
        order = self._orders[side]
        if order is not None and not order.is_closed:
            if self._order_ticks[side] == target_tick:
                return
            if not order.is_pending_cancel:
                self.cancel_order(order)
                self.orders_canceled += 1
        instrument = self.cache.instrument(self._iid)
        new = self.order_factory.limit(
            instrument_id=self._iid,
            order_side=side,
            quantity=self._qty,
            price=instrument.make_price(target_tick * self._tick),
            time_in_force=TimeInForce.GTC,
            post_only=True,
        )
        self._orders[side] = new
        self._order_ticks[side] = target_tick
        self.submit_order(new)
        self.orders_submitted += 1

    def on_order_filled(self, event: OrderFilled) -> None:
        side = 1.0 if event.order_side == OrderSide.BUY else -1.0
        px = event.last_px.as_double()
        qty = event.last_qty.as_double()
        self.fill_events += 1
        self.filled_order_ids.add(event.client_order_id)
        self.filled_qty += qty
        self.fees += event.commission.as_double()
        self.cash -= side * px * qty
        self.position += side * qty

    def on_order_rejected(self, event: OrderRejected) -> None:
        if event.due_post_only:
            self.post_only_rejects += 1
