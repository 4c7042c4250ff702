"""Moving the exchange along twin time: replayed market events, timers and the pushes they cause.

:meth:`Timeline.advance_to` applies, in time order, every replay event and timer due up to a time;
:meth:`Timeline.step` applies the next events one at a time (tests). Timers are scheduled cancels
(``scheduleCancel``: all open orders of the account are canceled with status ``scheduledCancel``
and a ``nonUserCancel`` event) and the hourly funding of coins without a funding series
(``funding``). Request handlers call :meth:`Timeline.sync` first, so the market an answer shows is
the market at the clock's time.

Replayed events of one timestamp form one block: book updates first, then the coin's twin orders
the replayed book now crosses are filled (rule 5 of ``matching``), then the block's trades; the bbo
is checked once at the end of the block. A fill because the replayed book moved to or through a
twin order is also printed on ``trades`` (aggressor = the replayed crossing side, ``users`` = the
twin account and the zero address), as the venue would print it; a fill by a replayed print is not
printed again (the replayed print itself is published).
"""

from __future__ import annotations

from .feed import MarketFeed
from .funding import next_hourly_funding_ms
from .funding import pay_funding
from .funding import pay_hourly_funding
from .matching import ASK
from .matching import BID
from .replay import BookLevel
from .replay import BookSnapshot
from .replay import FundingRate
from .replay import MarketEvent
from .replay import MarketTrade
from .state import TwinState
from .trading import Trading
from .wire import ZERO_ADDRESS


class Timeline:
    """Applies replay events and timers to the exchange state, in twin-time order."""

    def __init__(self, state: TwinState, feed: MarketFeed, trading: Trading) -> None:
        self.state = state
        self.feed = feed
        self.trading = trading
        self._cross_check: set[str] = set()  # coins whose replayed book changed since the last rule-5 check

    def sync(self) -> None:
        """Bring the market up to the clock (called before every request)."""
        self.advance_to(self.state.clock.now_ms())

    def advance_to(self, target_ms: int) -> int:
        """Apply every replay event and timer due at or before ``target_ms``; returns events applied."""
        state = self.state
        cursor = state.cursor
        applied = 0
        with state.lock:
            while True:
                event_ms = cursor.peek_ms()
                if cursor.pending_reset:
                    cursor.pending_reset = False
                    for book in state.books.values():
                        book.clear_replayed()
                timer_ms = self._next_timer_ms()
                due = [t for t in (event_ms, timer_ms) if t is not None]
                if not due or min(due) > target_ms:
                    break
                if timer_ms is not None and (event_ms is None or timer_ms <= event_ms):
                    self._run_timers(timer_ms)
                else:
                    applied += self._apply_block(event_ms)
            state.processed_ms = max(state.processed_ms, target_ms)
            self.feed.flush(target_ms)
        return applied

    def step(self, n_events: int = 1) -> int:
        """Apply the next ``n_events`` replay events (and timers before them); returns the twin time reached.

        With a manual clock the clock moves to the last event's time.
        """
        state = self.state
        cursor = state.cursor
        with state.lock:
            reached = state.processed_ms
            for _ in range(n_events):
                event_ms = cursor.peek_ms()
                if event_ms is None:
                    break
                target = max(event_ms, state.processed_ms)
                if state.clock.is_manual and target > state.clock.now_ms():
                    state.clock.set_ms(target)
                # timers due before this event
                while True:
                    timer_ms = self._next_timer_ms()
                    if timer_ms is None or timer_ms > target:
                        break
                    self._run_timers(timer_ms)
                if cursor.pending_reset:
                    cursor.pending_reset = False
                    for book in state.books.values():
                        book.clear_replayed()
                ts, event = cursor.pop()
                touched: dict[str, list] = {}
                self._apply_event(ts, event, touched)
                self._after_block(ts, touched)
                state.events_applied += 1
                reached = target
                state.processed_ms = max(state.processed_ms, target)
            self.feed.flush(reached)
            return reached

    # ------------------------------------------------------------------ replay events
    def _apply_block(self, block_ms: int) -> int:
        """Apply all events with twin time ``block_ms`` (one "block": bbo checked once at the end)."""
        state = self.state
        cursor = state.cursor
        touched: dict[str, list] = {}
        n = 0
        while cursor.peek_ms() == block_ms and not cursor.pending_reset:
            ts, event = cursor.pop()
            self._apply_event(ts, event, touched)
            n += 1
        self._after_block(block_ms, touched)
        state.events_applied += n
        state.processed_ms = max(state.processed_ms, block_ms)
        return n

    def _apply_event(self, ts: int, event: MarketEvent, touched: dict[str, list]) -> None:
        state = self.state
        coin = event.coin
        book = state.books[coin]
        trades = touched.setdefault(coin, [])
        if isinstance(event, BookLevel):
            if event.clear:
                book.clear_replayed()
            else:
                book.set_level(event.side, event.px, event.sz)
            self._cross_check.add(coin)
        elif isinstance(event, BookSnapshot):
            book.apply_snapshot(list(event.bids), list(event.asks))
            self._cross_check.add(coin)
        elif isinstance(event, MarketTrade):
            self._fill_crossed(coin, ts, trades)  # the block's book updates come first (rule 5)
            side = event.side or book.classify_aggressor(event.px)
            maker_fills = book.on_market_trade(side, event.px, event.sz)
            for fill in maker_fills:
                self.trading.book_maker_fill_from_market(fill.order, fill.px, fill.sz, ts)
            state.record_print(coin, side or "B", event.px, event.sz, ts, trades, users=(ZERO_ADDRESS, ZERO_ADDRESS))
        elif isinstance(event, FundingRate):
            state.current_funding_rate[coin] = event.hourly_rate
            pay_funding(state, coin, event.rate, ts)

    def _fill_crossed(self, coin: str, ts: int, trades: list) -> None:
        """Rule 5 of ``matching``: fill the twin orders the replayed book now crosses (maker, own price).

        Runs once per coin after the replayed book updates of a block (before the block's trades).
        Each fill is booked like a print-driven maker fill and printed on the trades feed with the
        crossing (replayed) side as aggressor.
        """
        if coin not in self._cross_check:
            return
        self._cross_check.discard(coin)
        state = self.state
        state.books[coin].end_of_update()  # the block's replayed book updates are all applied
        for fill in state.books[coin].fill_crossed_orders():
            order = fill.order
            tid = state.new_tid()
            users = (order.owner, ZERO_ADDRESS) if order.side == BID else (ZERO_ADDRESS, order.owner)
            aggressor = ASK if order.side == BID else BID
            state.record_print(coin, aggressor, fill.px, fill.sz, ts, trades, users=users, tid=tid)
            self.trading.book_maker_fill_from_market(order, fill.px, fill.sz, ts, tid=tid)

    def _after_block(self, ts: int, touched: dict[str, list]) -> None:
        for coin, trades in touched.items():
            self._fill_crossed(coin, ts, trades)
            if trades:
                self.state.emit(("trades", coin), trades)
                self.state.emit(("candle", coin), ts)
            self.feed.coin_changed(coin, ts)

    # ------------------------------------------------------------------ timers
    def _next_timer_ms(self) -> int | None:
        state = self.state
        candidates = [a.schedule_cancel_ms for a in state.accounts.values() if a.schedule_cancel_ms is not None]
        funding_ms = next_hourly_funding_ms(state)
        if funding_ms is not None:
            candidates.append(funding_ms)
        return min(candidates) if candidates else None

    def _run_timers(self, now_ms: int) -> None:
        state = self.state
        for account in list(state.accounts.values()):
            if account.schedule_cancel_ms is not None and account.schedule_cancel_ms <= now_ms:
                account.schedule_cancel_ms = None
                account.count_schedule_cancel_trigger(now_ms)
                orders = [o for o in state.open_orders.values() if o.owner == account.address]
                for order in orders:
                    self.trading.cancel_order(order, "scheduledCancel", now_ms)
                if orders:
                    state.emit(("user", account.address), {"nonUserCancel": [{"coin": o.coin, "oid": o.oid} for o in orders]})
        pay_hourly_funding(state, now_ms)
        state.processed_ms = max(state.processed_ms, now_ms)
