"""Book-mode fills from recorded prints under the project's fill rules (``venue/fill_rules.py``).

Nautilus 1.231's own queue model (``queue_position=True``) records no queue ahead of an order
placed where the book shows no size, never adds size that later shows there, and resets the queue
to zero on every DELETE, including a level that merely left a recorder's 20-level window. On the
2025-09-04 BTC recording 65 of 73 fills came from such orders (see issue 8). Its queue state is
private to compiled code, so it cannot be corrected from outside.

``QueueFillModule`` therefore owns the print-driven fills (rules Q1-Q6, Q8 of
``venue/fill_rules.py``): the venue runs with ``trade_execution=False`` and ``queue_position=False``,
so Nautilus's matching engine still accepts, modifies, cancels and rejects orders (post-only
included), applies the latency model, fills orders that the book itself crosses (Q7) and books
every fill, fee, position and account change; this module only decides which prints reach our
resting orders and asks the matching engine to book them (``OrderMatchingEngine.fill_order``, a
maker fill at the order's price).

Order of events at one data timestamp: the module sees each delta and trade before the matching
engine does (``pre_process``), and after the engine has settled the commands due at that time
(``process``) it books the fills of that timestamp's prints, then registers orders the engine
accepted or modified (their queue position is taken from the book as it is at acceptance, Q1).
A cancel that reaches the engine at the same timestamp as a print therefore wins (conservative).
"""

from __future__ import annotations

from nautilus_trader.backtest.config import SimulationModuleConfig
from nautilus_trader.backtest.modules import SimulationModule
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import LiquiditySide
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

from botmm_nautilus.venue.fill_rules import ASK
from botmm_nautilus.venue.fill_rules import BID
from botmm_nautilus.venue.fill_rules import QueueTracker

F_LAST = int(RecordFlag.F_LAST)
_CLEAR = BookAction.CLEAR
_DELETE = BookAction.DELETE
_BUY = OrderSide.BUY
_AGGRESSOR = {AggressorSide.BUYER: BID, AggressorSide.SELLER: ASK}

# Message bus topic on which the module publishes its counters once, at its first ``process`` call:
# the dict itself, which it keeps updating (the runner holds it and reads it after the run).
QUEUE_STATS_TOPIC = "botmm.backtest.queue_stats"


class QueueFillModuleConfig(SimulationModuleConfig, frozen=True):
    instrument_id: str


class QueueFillModule(SimulationModule):
    """Print-driven maker fills for one instrument under ``venue/fill_rules.py`` (see the module doc)."""

    def __init__(self, config: QueueFillModuleConfig) -> None:
        super().__init__(config)
        self._iid = InstrumentId.from_str(config.instrument_id)
        self._tracker = QueueTracker(zero=0)
        self._known: dict = {}  # client order id -> (price raw, quantity raw) as registered
        self._due: list = []  # fills of prints at the current timestamp, booked in process()
        self._engine = None
        self._price_prec = 0
        self._size_prec = 0
        self._published = False
        self.stats = {"print_fills": 0, "through_fills": 0, "placed_pending": 0, "placed_behind_size": 0, "placed_front": 0}

    # ------------------------------------------------------------------ data in
    def pre_process(self, data) -> None:
        if isinstance(data, OrderBookDelta):
            if data.instrument_id == self._iid:
                self._on_delta(data)
        elif isinstance(data, TradeTick):
            if data.instrument_id == self._iid:
                self._on_trade(data)
        elif isinstance(data, OrderBookDeltas):
            if data.instrument_id == self._iid:
                for delta in data.deltas:
                    self._on_delta(delta)

    def _on_delta(self, delta: OrderBookDelta) -> None:
        tracker = self._tracker
        action = delta.action
        if action == _CLEAR:
            tracker.clear_book()
        else:
            order = delta.order
            side = BID if order.side == _BUY else ASK
            tracker.on_level(side, order.price.raw, 0 if action == _DELETE else order.size.raw)
        if delta.flags & F_LAST:
            tracker.end_of_update()

    def _on_trade(self, tick: TradeTick) -> None:
        # orders are already registered: process() ran after the engine settled the previous event
        aggressor = _AGGRESSOR.get(tick.aggressor_side)
        fills = self._tracker.on_trade(aggressor, tick.price.raw, tick.size.raw)
        if fills:
            self._due.extend(fills)

    # ------------------------------------------------------------------ after the engine settled
    def process(self, ts_now: int) -> None:
        if not self._published:
            self._published = True
            self.msgbus.publish(QUEUE_STATS_TOPIC, self.stats, external_pub=False)
        if self._due:
            self._book_due_fills()
        self._sync_orders()

    def _matching_engine(self):
        if self._engine is None:
            self._engine = self.exchange.get_matching_engine(self._iid)
            if self._engine is not None:
                instrument = self._engine.instrument
                self._price_prec = instrument.price_precision
                self._size_prec = instrument.size_precision
        return self._engine

    def _book_due_fills(self) -> None:
        engine = self._matching_engine()
        due, self._due = self._due, []
        if engine is None:
            return
        cache = self.exchange.cache
        for fill in due:
            order = cache.order(fill.key)
            if order is None or not order.is_open or order.price.raw != fill.price:
                continue  # canceled or modified by a command that reached the venue first
            qty = min(fill.qty, order.leaves_qty.raw)
            if qty <= 0:
                continue
            if fill.rule == "Q4":
                self.stats["through_fills"] += 1
            else:
                self.stats["print_fills"] += 1
            engine.fill_order(
                order,
                Price.from_raw(fill.price, self._price_prec),
                Quantity.from_raw(qty, self._size_prec),
                LiquiditySide.MAKER,
            )

    def _sync_orders(self) -> None:
        """Register orders the engine accepted or modified (Q1, Q2, Q8); forget closed ones."""
        engine = self._matching_engine()
        if engine is None:
            return
        tracker = self._tracker
        known = self._known
        seen = set()
        for order in engine.get_open_orders():
            key = order.client_order_id
            seen.add(key)
            state = (order.price.raw, order.quantity.raw)
            if known.get(key) != state:
                known[key] = state
                placed = tracker.place(key, BID if order.side == _BUY else ASK, state[0], order.leaves_qty.raw)
                if placed.pending:
                    self.stats["placed_pending"] += 1
                elif placed.queue_ahead > 0:
                    self.stats["placed_behind_size"] += 1
                else:
                    self.stats["placed_front"] += 1
            else:
                tracker.set_leaves(key, order.leaves_qty.raw)
        if len(known) != len(seen):
            for key in [k for k in known if k not in seen]:
                del known[key]
                tracker.remove(key)

    # ------------------------------------------------------------------ SimulationModule
    def log_diagnostics(self, logger) -> None:
        logger.info(f"QueueFillModule {self._iid}: {self.stats}")

    def reset(self) -> None:
        self._tracker = QueueTracker(zero=0)
        self._known.clear()
        self._due.clear()
        self._engine = None
        self._published = False
        self.stats = dict.fromkeys(self.stats, 0)
