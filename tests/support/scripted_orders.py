"""A test strategy that places fixed post-only limit orders once, after the first book, and records its fills."""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy


class ScriptedOrdersConfig(StrategyConfig, frozen=True):
    instrument_id: InstrumentId
    orders: list  # [[side "B"/"A", price, qty], ...] as text


class ScriptedOrders(Strategy):
    def __init__(self, config: ScriptedOrdersConfig) -> None:
        super().__init__(config)
        self.placed = False
        self.index: dict = {}  # client order id -> case order index
        self.fills: list[tuple[int, Decimal, Decimal]] = []

    def on_start(self) -> None:
        self.subscribe_order_book_deltas(self.config.instrument_id)

    def on_order_book_deltas(self, deltas) -> None:
        if self.placed:
            return
        self.placed = True
        instrument = self.cache.instrument(self.config.instrument_id)
        for i, (side, px, qty) in enumerate(self.config.orders):
            order = self.order_factory.limit(
                instrument_id=instrument.id,
                order_side=OrderSide.BUY if side == "B" else OrderSide.SELL,
                quantity=instrument.make_qty(Decimal(qty)),
                price=instrument.make_price(Decimal(px)),
                time_in_force=TimeInForce.GTC,
                post_only=True,
            )
            self.index[order.client_order_id] = i
            self.submit_order(order)

    def on_order_filled(self, event) -> None:
        self.fills.append((self.index[event.client_order_id], event.last_px.as_decimal(), event.last_qty.as_decimal()))
