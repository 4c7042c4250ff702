"""The fill rules of every simulated fill: the ONE place they are written down and implemented.

Both simulators use this module: the backtest (``backtest/queue_fills.py`` drives it from
Nautilus's simulated exchange) and the exchange twin (``twin/matching.py``). Each is tested
against the same constructed cases (``tests/unit/venue/test_fill_rules.py`` and the twin's and the
backtest's own tests of the same cases).

Market data is recorded WITHOUT us: our resting order is a guess at where it would have stood in
the venue's price-time queue. Where the data cannot tell, the rules choose the outcome that fills
us LATER, never earlier. The rules:

Q1  Placement. A resting order joins the BACK of its price level: ``queue_ahead`` = the size the
    book shows at that price when the venue accepts the order (after the configured latency).
    That includes stale depth beyond the recorder's window (D1).
Q2  Unknown depth. An order at a price where the book shows no size is at the front of its level
    (``queue_ahead = 0``) only if the recorder's window covers that price now (fewer levels are
    better than it than the window holds: the price really is empty, e.g. inside the spread or a
    gap between shown levels). Beyond the window (stale region included: a price seen empty earlier
    may have filled up since) the order is *pending*: it cannot be filled by a print at its price;
    when the book shows size there, that size is put ahead of it (as far as anyone can tell it was
    resting there before us); when the window covers the price and shows it empty, the order is at
    the front. The window depth is the number of levels a side of the first full snapshot (after
    each CLEAR) held: 20 for Hyperliquid, 1000 for a Binance REST snapshot.
Q3  Prints at our price. A trade at our price whose aggressor is on the other side (a seller hitting
    bids for our bid) first consumes ``queue_ahead``; what is left of the print fills our orders at
    that price in time priority (partial fills allowed, maker, at our price). Every order's
    ``queue_ahead`` at that price then drops by the size of the print that reached the price.
Q4  Prints through our price. A trade at a worse price than ours for the aggressor (a sell printing
    below our bid) means the aggressor would have met our order first: our orders at better prices
    fill, best price first then time priority, up to the size of the print (an aggressor is not
    assumed to have had more size than it printed). What is left of the print goes on to Q3.
Q5  Level shrinks. A level that shrinks (an update to a smaller size, or a delete inside the
    window) clamps ``queue_ahead`` to the new size: liquidity ahead of us cannot exceed what is
    left at the level, and the cancels are assumed to have come from behind us as far as possible
    (risk-averse: hftbacktest's ``RiskAdverseQueueModel`` does the same). The size a clamp removed
    is kept as a *credit* of the order: a recorder can deliver the book that already reflects a
    print before the print itself, and that print must not consume the same queue twice. Later
    prints at the price use up the credit before they count against ``queue_ahead`` (so a shrink
    that really was cancels costs us at most that much print volume: conservative).
Q6  Level grows (also a level shown again after a delete). New size at our price joins behind us:
    ``queue_ahead`` is unchanged; the credit of Q5 is dropped (the recorder has caught up with the
    level).
Q7  Book through our price. A book whose opposite side reaches our price (an ask at or below our
    bid) means every order at our price was traded: our order fills as a maker at its own price,
    at most the size that crosses it. (Nautilus's L2 matching does this in the backtest; the twin
    implements it in ``CoinBook.fill_crossed_orders``.)
Q8  A modified order (price or size) loses its place: it is treated as a new order (Q1/Q2), as
    Hyperliquid's modify is a cancel-replace.
L1  Latency. Order commands reach the venue ``latency_ms`` after they are sent (the backtest's
    latency model; the twin sees the real network). Venue acknowledgements are instantaneous.

D1  Stale depth (data, not matching). Recorded snapshots show a window of N levels a side. A level
    that only leaves the window (its price is now beyond the window's worst level, while the window
    is full) is NOT deleted: its last size stays as stale depth until the window sees that price
    again (``engine/book_diff.py`` SnapshotDiffer). Otherwise every move of the window would reset
    the queue of orders resting there to zero.

Sides are ``"B"`` (bid) and ``"A"`` (ask); prices and sizes may be ``int`` (Nautilus raw values),
``float`` or ``Decimal``, as long as one tracker uses one type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BID = "B"
ASK = "A"


def other_side(side: str) -> str:
    return ASK if side == BID else BID


def is_better(side: str, a, b) -> bool:
    """Is price ``a`` strictly better than ``b`` for a resting order on ``side``?"""
    return a > b if side == BID else a < b


@dataclass
class QueuedOrder:
    """One resting order as the fill rules see it."""

    key: Any  # the caller's id (a client order id, a twin oid)
    side: str
    price: Any
    leaves: Any  # remaining size
    queue_ahead: Any
    pending: bool  # Q2: at a price the data has not shown yet
    seq: int  # time priority among our orders (lower = earlier)
    credit: Any = 0  # Q5: queue removed by a clamp, not yet matched by a print


@dataclass
class QueueFill:
    key: Any
    side: str
    price: Any
    qty: Any
    rule: str  # "Q3" (print at our price) or "Q4" (print through our price)


class QueueTracker:
    """Our resting orders' queue positions against one instrument's recorded book (rules Q1-Q6, Q8).

    The caller feeds it the recorded book (``on_level`` for every level change it applies, before or
    after applying it) and the recorded trades (``on_trade``), tells it about our orders
    (``place``/``remove``/``set_leaves``) and books the fills ``on_trade`` returns.
    """

    def __init__(self, zero=0) -> None:
        self.zero = zero
        self.orders: dict[Any, QueuedOrder] = {}
        # the recorded book as the tracker knows it: price -> size, per side (stale depth included)
        self.levels: dict[str, dict[Any, Any]] = {BID: {}, ASK: {}}
        self._seq = 0
        self._after_clear = False
        self.window_levels: int | None = None  # levels a side the recorder shows (None: not seen yet)
        self._snapshot_counts: dict[str, int] | None = None  # counting the levels of a snapshot after CLEAR

    # ------------------------------------------------------------------ recorded book
    def on_level(self, side: str, price, size) -> None:
        """The recorded book now shows ``size`` at ``price`` (``size <= 0``: the level is gone). Q2, Q5, Q6."""
        zero = self.zero
        book = self.levels[side]
        growth = book.get(price)  # the previous size (None: the level was not shown)
        if size > zero:
            book[price] = size
            if self._snapshot_counts is not None and growth is None:
                self._snapshot_counts[side] += 1
        else:
            book.pop(price, None)
            size = zero
        for order in self.orders.values():
            if order.side != side or order.price != price:
                continue
            if order.pending:
                if size > zero:  # Q2: the window reached our price; what it shows was there before us
                    order.pending = False
                    order.queue_ahead = size
            elif order.queue_ahead > size:  # Q5
                order.credit += order.queue_ahead - size
                order.queue_ahead = size
            elif size > (zero if growth is None else growth):  # Q6 (a level re-added after a delete grows from 0)
                order.credit = zero

    def clear_book(self) -> None:
        """The recorded book was reset (a CLEAR: a gap or resync); the full new book follows through
        ``on_level``, then the caller calls ``end_of_update``. Orders keep their ``queue_ahead`` (the
        reset is the data's, not the venue's) until the new book says otherwise."""
        self.levels[BID].clear()
        self.levels[ASK].clear()
        self._after_clear = True
        self._snapshot_counts = {BID: 0, ASK: 0}

    def end_of_update(self) -> None:
        """The caller applied one whole recorded update (the last delta of a message).

        After a CLEAR + snapshot, an order at a price inside the new snapshot's range that the
        snapshot does not show had its level emptied (Q5: ``queue_ahead`` -> 0); orders beyond the
        range keep theirs. Pending orders (Q2) whose price the book now covers without size were
        at an empty level: ``queue_ahead`` 0.
        """
        after_clear = self._after_clear
        self._after_clear = False
        if self._snapshot_counts is not None:
            depth = max(self._snapshot_counts.values())
            if depth > 0:
                self.window_levels = depth
            self._snapshot_counts = None
        for order in self.orders.values():
            # only pending orders (and, after a CLEAR, every order) can change here
            if not (order.pending or after_clear):
                continue
            if order.price in self.levels[order.side] or self._outside_window(order.side, order.price):
                continue
            order.pending = False
            order.queue_ahead = self.zero

    def _outside_window(self, side: str, price) -> bool:
        """Q2: is the depth at ``price`` unknown now? True when at least ``window_levels`` shown levels
        are better than it (or, before any snapshot told the window, beyond the deepest known level)."""
        book = self.levels[side]
        if not book:
            return True
        window = self.window_levels
        if window is None:
            return price < min(book) if side == BID else price > max(book)
        better = 0
        for p in book:
            if (p > price) if side == BID else (p < price):
                better += 1
                if better >= window:
                    return True
        return False

    # ------------------------------------------------------------------ our orders
    def place(self, key, side: str, price, qty) -> QueuedOrder:
        """Q1/Q2/Q8: ``key`` rests at the back of ``price`` now (a modified order is placed again)."""
        self.orders.pop(key, None)
        size = self.levels[side].get(price)
        if size is not None:
            ahead, pending = size, False
        elif self._outside_window(side, price):
            ahead, pending = self.zero, True
        else:
            ahead, pending = self.zero, False
        self._seq += 1
        order = QueuedOrder(key, side, price, qty, ahead, pending, self._seq, self.zero)
        self.orders[key] = order
        return order

    def remove(self, key) -> None:
        self.orders.pop(key, None)

    def set_leaves(self, key, leaves) -> None:
        """The order was filled elsewhere down to ``leaves`` (the book crossed it, Q7, or a taker
        reached it): nothing can be ahead of it any more (``queue_ahead``, credit and pending cleared)."""
        order = self.orders.get(key)
        if order is None:
            return
        if leaves <= self.zero:
            del self.orders[key]
        elif leaves < order.leaves:
            order.leaves = leaves
            order.queue_ahead = order.credit = self.zero
            order.pending = False

    def crossed(self, key) -> None:
        """Q7: the book reached the order's price: the queue ahead of it is gone."""
        order = self.orders.get(key)
        if order is not None:
            order.queue_ahead = order.credit = self.zero
            order.pending = False

    def consume_ahead(self, side: str, price, size) -> None:
        """Liquidity at ``price`` was taken by someone other than the recording (the twin's own
        takers take the replayed depth before twin orders): the queue ahead there shrinks by ``size``."""
        zero = self.zero
        for order in self.orders.values():
            if order.side == side and order.price == price and not order.pending:
                order.queue_ahead = order.queue_ahead - size if order.queue_ahead > size else zero

    # ------------------------------------------------------------------ recorded trades
    def on_trade(self, aggressor: str | None, price, size) -> list[QueueFill]:
        """A recorded print (``aggressor`` "B" = a buyer lifted asks, "A" = a seller hit bids). Q3, Q4.

        Returns our fills (our price, maker) and updates our orders' ``leaves``/``queue_ahead``
        (fully filled orders leave the tracker). ``aggressor`` None: the print fills nothing.
        """
        if aggressor is None or not self.orders:
            return []
        maker_side = other_side(aggressor)
        zero = self.zero
        fills: list[QueueFill] = []
        through: list[QueuedOrder] = []
        at_price: list[QueuedOrder] = []
        for order in self.orders.values():
            if order.side != maker_side:
                continue
            if is_better(maker_side, order.price, price):
                through.append(order)
            elif order.price == price and not order.pending:
                at_price.append(order)
        left = size
        # Q4: best price first, then time priority; the print's size is what reached us
        through.sort(key=lambda o: (-o.price if maker_side == BID else o.price, o.seq))
        for order in through:
            if left <= zero:
                break
            qty = left if left < order.leaves else order.leaves
            fills.append(QueueFill(order.key, order.side, order.price, qty, "Q4"))
            order.leaves -= qty
            left -= qty
        reached = left
        at_price.sort(key=lambda o: o.seq)
        for order in at_price:  # Q3, time priority; a Q5 credit absorbs the print first
            absorbed = order.credit if order.credit < reached else reached
            order.credit -= absorbed
            counted = reached - absorbed  # the part of the print that moves this order's queue
            reachable = (left - absorbed) - order.queue_ahead
            if reachable > zero:
                qty = reachable if reachable < order.leaves else order.leaves
                fills.append(QueueFill(order.key, order.side, order.price, qty, "Q3"))
                order.leaves -= qty
                left -= qty
            order.queue_ahead = order.queue_ahead - counted if order.queue_ahead > counted else zero
        for fill in fills:
            order = self.orders.get(fill.key)
            if order is not None and order.leaves <= zero:
                del self.orders[fill.key]
        return fills
