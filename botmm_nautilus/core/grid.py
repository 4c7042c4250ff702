"""The price and size grid of an instrument, as the decision core needs it.

The core never knows an exchange's rules: it is handed a ``PriceGrid`` (the strategy builds the
exchange's grid for the instrument it trades, e.g. ``HyperliquidGrid`` in the Hyperliquid market
rules one layer up) and rounds every price and size it produces through it.
"""

from __future__ import annotations

from typing import Protocol


class PriceGrid(Protocol):
    """Which prices and sizes an instrument accepts.

    Attributes:
        lots_per_unit: size lots per unit of base (1 / lot size, e.g. 1e5 for a lot of 0.00001);
            the ladder builder rounds cumulative sizes in whole lots with it.
        min_value_usd: the smallest order value (price x size) the exchange accepts.

    ``mode`` of the rounding methods: ``"down"`` (bids: never more aggressive than asked; sizes:
    never above a limit), ``"up"`` (asks) or ``"nearest"``.
    """

    lots_per_unit: float
    min_value_usd: float

    def tick_size(self, price: float) -> float:
        """The price step at ``price`` (it may depend on the price)."""
        ...

    def round_price(self, price: float, mode: str = "nearest") -> float:
        """``price`` rounded onto the grid."""
        ...

    def round_size(self, size: float, mode: str = "down") -> float:
        """``size`` rounded to a whole number of lots."""
        ...

    def meets_min_value(self, price: float, size: float) -> bool:
        """Is an order of ``size`` at ``price`` at least ``min_value_usd``?"""
        ...
