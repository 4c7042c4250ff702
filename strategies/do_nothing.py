"""A strategy that subscribes to the same data as ``MarketMaker`` and does nothing.

The throughput baseline for bench/backtest_throughput.py: the engine's own cost of replaying the
catalog with a subscribed strategy.
"""

from __future__ import annotations

from nautilus_trader.model.enums import BookType
from nautilus_trader.trading.strategy import Strategy

from .config import DoNothingConfig


class DoNothing(Strategy):
    def __init__(self, config: DoNothingConfig) -> None:
        super().__init__(config)
        self.book_updates = 0
        self.trades = 0

    def on_start(self) -> None:
        self.subscribe_order_book_deltas(self.config.instrument_id, BookType.L2_MBP)
        self.subscribe_trade_ticks(self.config.instrument_id)

    def on_order_book_deltas(self, deltas) -> None:
        self.book_updates += 1

    def on_trade_tick(self, tick) -> None:
        self.trades += 1
