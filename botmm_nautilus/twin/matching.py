"""Order book and matching for one coin (pure: no I/O, no clock, no accounts).

The twin's book is the union of two things:

* the **replayed book**: price levels driven by the market data (catalog or in-memory scenario);
  the twin cannot change what the data says, it only remembers how much of a level its own
  takers consumed (``consumed``) until the data next updates that level;
* **twin orders**: resting orders of the twin's accounts, in price-time priority.

Fill rules: the project's ONE set, ``botmm_nautilus/venue/fill_rules.py`` (rules Q1-Q8, D1), shared
with the backtest. The queue positions of twin orders against the replayed depth live in a
``QueueTracker`` (``CoinBook.queue``): a twin order joins behind the replayed size at its price
(Q1), an order beyond any depth the replay has shown waits for the window (Q2), replayed prints at
and through its price fill it (Q3, Q4), a shrinking replayed level clamps the queue ahead (Q5).
This module adds what only the twin has:

* Q7, the replayed book moving to or through a twin order: once the replayed book updates of a
  coin in one replay block are applied (a block = the events of one timestamp, or one event when
  stepping; checked before the block's trades), every twin order crossed by the replayed opposite
  side (replayed asks with available size at prices ``<=`` a twin bid, or replayed bids ``>=`` a
  twin ask) is filled as a **maker at its own price**: twin orders best price first, then time
  priority; each order takes ``min(its size, the replayed size still available at the prices that
  cross it)``, and that replayed size is recorded in ``consumed``, starting with the level nearest
  the order's price. Replayed depth on our side at a crossed price cannot still be there (a
  recorded book is never locked or crossed), so every twin order at a crossed price gets
  ``queue_ahead = 0``. A partly filled order leaves the crossing levels fully consumed: they are
  hidden until the data next updates them, which resets ``consumed`` like any data update. The
  exchange books these fills like print-driven maker fills (maker fee, ``crossed: false``) and
  publishes each as a trade at the order's price, aggressor = the crossing (replayed) side.
* A replayed trade without an aggressor side is classified against the replayed touch (price >=
  best ask -> buyer, <= best bid -> seller); inside the spread it fills nothing.
* Several twin accounts: twin orders at one price keep time priority among themselves.

Twin takers (GTC/IOC orders that cross) walk the book best price first; within a price level they
take the replayed depth first and then twin orders in time priority. Taking replayed depth
records it in ``consumed`` and moves the queue of twin orders at that level forward by the same
amount. Self-trade prevention is *expire maker*: a taker that reaches a resting order of the same
account cancels that order (no fill, no fee) and continues behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from decimal import ROUND_CEILING
from decimal import ROUND_FLOOR
from decimal import Decimal

from botmm_nautilus.venue.fill_rules import QueueTracker

ZERO = Decimal(0)
BID = "B"
ASK = "A"


def opposite(side: str) -> str:
    return ASK if side == BID else BID


@dataclass
class TwinOrder:
    """An order of a twin account (resting or historical)."""

    oid: int
    owner: str  # acting account address, lowercase
    coin: str
    asset: int
    side: str  # "B" buy | "A" sell
    limit_px: Decimal
    orig_sz: Decimal
    sz: Decimal  # remaining size
    tif: str  # "Alo" | "Gtc" | "Ioc" | "FrontendMarket"
    reduce_only: bool
    cloid: str | None
    timestamp_ms: int
    seq: int  # time priority inside the twin (lower = earlier)
    queue_ahead: Decimal = ZERO
    status: str = "open"
    status_ts_ms: int = 0
    filled_sz: Decimal = ZERO
    filled_notional: Decimal = ZERO

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def record_fill(self, px: Decimal, sz: Decimal) -> None:
        self.sz -= sz
        self.filled_sz += sz
        self.filled_notional += px * sz


@dataclass
class BookTake:
    """One piece of liquidity a twin taker took: from the replayed book (maker None) or a twin order."""

    px: Decimal
    sz: Decimal
    maker: TwinOrder | None


@dataclass
class TakeResult:
    takes: list[BookTake] = field(default_factory=list)
    self_trade_canceled: list[TwinOrder] = field(default_factory=list)

    @property
    def filled_sz(self) -> Decimal:
        return sum((t.sz for t in self.takes), ZERO)


@dataclass
class MakerFill:
    """A twin resting order filled by the replayed market (a print, rules 3-4, or a crossing book, rule 5)."""

    order: TwinOrder
    px: Decimal
    sz: Decimal


def _better(side: str, a: Decimal, b: Decimal) -> bool:
    """Is price ``a`` strictly better than ``b`` for a resting order on ``side``?"""
    return a > b if side == BID else a < b


class CoinBook:
    """Replayed depth plus twin orders for one coin."""

    def __init__(self, coin: str) -> None:
        self.coin = coin
        self.replayed: dict[str, dict[Decimal, Decimal]] = {BID: {}, ASK: {}}
        self.consumed: dict[str, dict[Decimal, Decimal]] = {BID: {}, ASK: {}}
        self.resting: dict[str, dict[Decimal, list[TwinOrder]]] = {BID: {}, ASK: {}}
        self.queue = QueueTracker(zero=ZERO)  # queue positions of twin orders (venue/fill_rules.py)
        self._by_oid: dict[int, TwinOrder] = {}

    # ------------------------------------------------------------------ replayed data
    def set_level(self, side: str, px: Decimal, sz: Decimal) -> None:
        """Replayed level update: ``sz`` <= 0 removes the level. Resets the twin's consumption there."""
        levels = self.replayed[side]
        if sz > 0:
            levels[px] = sz
        else:
            levels.pop(px, None)
        self.consumed[side].pop(px, None)
        self.queue.on_level(side, px, sz if sz > 0 else ZERO)
        for order in self.resting[side].get(px, ()):
            self._sync_queue_ahead(order)

    def clear_replayed(self, side: str | None = None) -> None:
        for s in (BID, ASK) if side is None else (side,):
            self.replayed[s].clear()
            self.consumed[s].clear()
        if side is None:
            self.queue.clear_book()

    def end_of_update(self) -> None:
        """One replayed update (or block of updates) is fully applied (``QueueTracker.end_of_update``)."""
        self.queue.end_of_update()
        for order in self._by_oid.values():
            self._sync_queue_ahead(order)

    def apply_snapshot(self, bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]]) -> None:
        self.clear_replayed()
        for side, levels in ((BID, bids), (ASK, asks)):
            for px, sz in levels:
                if sz > 0:
                    self.replayed[side][px] = sz
                    self.queue.on_level(side, px, sz)
        self.end_of_update()

    def replayed_available(self, side: str, px: Decimal) -> Decimal:
        size = self.replayed[side].get(px)
        if size is None:
            return ZERO
        return max(ZERO, size - self.consumed[side].get(px, ZERO))

    def best_replayed(self, side: str) -> Decimal | None:
        prices = [px for px in self.replayed[side] if self.replayed_available(side, px) > 0]
        if not prices:
            return None
        return max(prices) if side == BID else min(prices)

    def replayed_mid(self) -> Decimal | None:
        bid, ask = self.best_replayed(BID), self.best_replayed(ASK)
        if bid is None or ask is None:
            return None
        return (bid + ask) / 2

    # ------------------------------------------------------------------ combined view
    def best(self, side: str) -> Decimal | None:
        """Best price on ``side`` counting replayed depth and twin orders."""
        candidates = [px for px in self.replayed[side] if self.replayed_available(side, px) > 0]
        candidates += [px for px, orders in self.resting[side].items() if orders]
        if not candidates:
            return None
        return max(candidates) if side == BID else min(candidates)

    def levels(self, side: str) -> list[tuple[Decimal, Decimal, int]]:
        """All displayed levels ``(px, size, n_orders)`` best first (replayed depth counts as one order)."""
        out: dict[Decimal, list] = {}
        for px in self.replayed[side]:
            avail = self.replayed_available(side, px)
            if avail > 0:
                out[px] = [avail, 1]
        for px, orders in self.resting[side].items():
            for order in orders:
                entry = out.setdefault(px, [ZERO, 0])
                entry[0] += order.sz
                entry[1] += 1
        prices = sorted(out, reverse=(side == BID))
        return [(px, out[px][0], out[px][1]) for px in prices]

    def l2_levels(
        self, side: str, depth: int = 20, n_sig_figs: int | None = None, mantissa: int | None = None
    ) -> list[tuple[Decimal, Decimal, int]]:
        levels = self.levels(side)
        if n_sig_figs is not None:
            levels = aggregate_levels(levels, side, n_sig_figs, mantissa)
        return levels[:depth]

    def would_cross(self, side: str, limit_px: Decimal) -> bool:
        best_opp = self.best(opposite(side))
        if best_opp is None:
            return False
        return limit_px >= best_opp if side == BID else limit_px <= best_opp

    # ------------------------------------------------------------------ twin orders
    def add_resting(self, order: TwinOrder) -> None:
        """Rest ``order`` at the back of its level, behind the replayed depth there now (Q1, Q2)."""
        self.queue.place(order.oid, order.side, order.limit_px, order.sz)
        self._by_oid[order.oid] = order
        self._sync_queue_ahead(order)
        self.resting[order.side].setdefault(order.limit_px, []).append(order)

    def _sync_queue_ahead(self, order: TwinOrder) -> None:
        queued = self.queue.orders.get(order.oid)
        order.queue_ahead = queued.queue_ahead if queued is not None else ZERO

    def _after_fill(self, order: TwinOrder) -> None:
        """Keep the queue tracker's remaining size in step after a fill booked here."""
        self.queue.set_leaves(order.oid, order.sz)
        if order.sz <= 0:
            self.remove_resting(order)

    def remove_resting(self, order: TwinOrder) -> bool:
        self.queue.remove(order.oid)
        self._by_oid.pop(order.oid, None)
        level = self.resting[order.side].get(order.limit_px)
        if not level:
            return False
        for i, o in enumerate(level):
            if o is order:
                del level[i]
                if not level:
                    del self.resting[order.side][order.limit_px]
                return True
        return False

    def resting_orders(self) -> list[TwinOrder]:
        return [o for side in (BID, ASK) for orders in self.resting[side].values() for o in orders]

    # ------------------------------------------------------------------ replayed trades fill twin makers
    def classify_aggressor(self, px: Decimal) -> str | None:
        ask, bid = self.best_replayed(ASK), self.best_replayed(BID)
        if ask is not None and px >= ask:
            return BID
        if bid is not None and px <= bid:
            return ASK
        return None

    def on_market_trade(self, aggressor: str | None, px: Decimal, sz: Decimal) -> list[MakerFill]:
        """Apply a replayed print to the twin's resting orders (Q3, Q4 of ``venue/fill_rules.py``).

        ``aggressor`` None: classified against the replayed touch first. Mutates the filled orders'
        remaining size and removes fully filled ones from the book.
        """
        if aggressor is None:
            aggressor = self.classify_aggressor(px)
            if aggressor is None:
                return []
        fills: list[MakerFill] = []
        for fill in self.queue.on_trade(aggressor, px, sz):
            order = self._by_oid.get(fill.key)
            if order is not None:
                fills.append(MakerFill(order, order.limit_px, fill.qty))
        for fill in fills:
            fill.order.record_fill(fill.px, fill.sz)
            if fill.order.sz <= 0:
                self.remove_resting(fill.order)
        for order in self.resting[opposite(aggressor)].get(px, []):
            self._sync_queue_ahead(order)
        return fills

    # ------------------------------------------------------------------ replayed book crossing twin makers
    def _crosses(self, maker_side: str, order_px: Decimal, book_px: Decimal) -> bool:
        """Does replayed opposite-side liquidity at ``book_px`` cross a twin order on ``maker_side`` at ``order_px``?"""
        return book_px <= order_px if maker_side == BID else book_px >= order_px

    def fill_crossed_orders(self) -> list[MakerFill]:
        """Rule 5 of the module doc: fill twin orders that the replayed opposite side crosses.

        Call after replayed book updates. Mutates the filled orders' remaining size, removes fully
        filled ones from the book, zeroes ``queue_ahead`` at crossed prices and records the replayed
        size used in ``consumed``. Afterwards no twin order is crossed by the displayed book.
        """
        fills: list[MakerFill] = []
        for maker_side in (BID, ASK):
            book = self.resting[maker_side]
            if not book:
                continue
            book_side = opposite(maker_side)
            best_opp = self.best_replayed(book_side)
            if best_opp is None:
                continue
            # best-priced twin orders first; only prices the replayed opposite touch reaches
            crossed_prices = sorted(
                (p for p in book if self._crosses(maker_side, p, best_opp)), reverse=(maker_side == BID)
            )
            for level_px in crossed_prices:
                for order in book[level_px]:
                    order.queue_ahead = ZERO  # replayed depth ahead of us here was cancelled
                    self.queue.crossed(order.oid)
            for level_px in crossed_prices:
                # levels nearest our price first: the ones worse-priced twin orders cannot reach
                crossing = sorted(
                    (p for p in self.replayed[book_side]
                     if self._crosses(maker_side, level_px, p) and self.replayed_available(book_side, p) > 0),
                    reverse=(maker_side == BID),
                )
                for order in sorted(book[level_px], key=lambda o: o.seq):
                    fill_sz = ZERO
                    while crossing and fill_sz < order.sz:
                        p = crossing[0]
                        take = min(self.replayed_available(book_side, p), order.sz - fill_sz)
                        self.consumed[book_side][p] = self.consumed[book_side].get(p, ZERO) + take
                        fill_sz += take
                        if self.replayed_available(book_side, p) <= 0:
                            crossing.pop(0)
                    if fill_sz > 0:
                        fills.append(MakerFill(order, order.limit_px, fill_sz))
                    if not crossing:
                        break
        for fill in fills:
            fill.order.record_fill(fill.px, fill.sz)
            self._after_fill(fill.order)
        return fills

    def crossed_against_twin(self) -> bool:
        """Is any twin order crossed by the displayed replayed book? (False after :meth:`fill_crossed_orders`.)"""
        for maker_side in (BID, ASK):
            best_opp = self.best_replayed(opposite(maker_side))
            if best_opp is None:
                continue
            if any(orders and self._crosses(maker_side, p, best_opp) for p, orders in self.resting[maker_side].items()):
                return True
        return False

    # ------------------------------------------------------------------ twin takers
    def take(self, side: str, limit_px: Decimal, max_sz: Decimal, owner: str) -> TakeResult:
        """A twin order on ``side`` takes liquidity up to ``limit_px`` (walks replayed depth and twin orders).

        Mutates the book: replayed consumption, the remaining size of twin makers (fully filled
        makers leave the book) and self-trade cancellations (removed). The caller books the fills
        on the accounts and sets order statuses.
        """
        result = TakeResult()
        remaining = max_sz
        book_side = opposite(side)
        while remaining > 0:
            px = self.best(book_side)
            if px is None or (px > limit_px if side == BID else px < limit_px):
                break
            avail = self.replayed_available(book_side, px)
            if avail > 0:  # replayed depth first
                take_sz = min(avail, remaining)
                self.consumed[book_side][px] = self.consumed[book_side].get(px, ZERO) + take_sz
                self.queue.consume_ahead(book_side, px, take_sz)
                for order in self.resting[book_side].get(px, []):
                    self._sync_queue_ahead(order)
                result.takes.append(BookTake(px, take_sz, None))
                remaining -= take_sz
                continue
            maker = min(self.resting[book_side][px], key=lambda o: o.seq)  # then twin orders
            if maker.owner == owner:  # self-trade prevention: expire maker
                self.remove_resting(maker)
                result.self_trade_canceled.append(maker)
                continue
            take_sz = min(maker.sz, remaining)
            maker.record_fill(px, take_sz)
            self._after_fill(maker)
            result.takes.append(BookTake(px, take_sz, maker))
            remaining -= take_sz
        return result


def aggregate_levels(
    levels: list[tuple[Decimal, Decimal, int]], side: str, n_sig_figs: int, mantissa: int | None
) -> list[tuple[Decimal, Decimal, int]]:
    """Group levels into buckets of ``n_sig_figs`` significant figures (bids round down, asks up)."""
    out: dict[Decimal, list] = {}
    for px, sz, n in levels:
        step = Decimal(1).scaleb(px.adjusted() - n_sig_figs + 1)
        if mantissa and n_sig_figs == 5:
            step *= mantissa
        if step < 1 and px == px.to_integral_value() and px.adjusted() + 1 <= n_sig_figs:
            bucket = px
        else:
            rounding = ROUND_FLOOR if side == BID else ROUND_CEILING
            bucket = (px / step).to_integral_value(rounding=rounding) * step
        entry = out.setdefault(bucket.normalize(), [ZERO, 0])
        entry[0] += sz
        entry[1] += n
    prices = sorted(out, reverse=(side == BID))
    return [(px, out[px][0], out[px][1]) for px in prices]
