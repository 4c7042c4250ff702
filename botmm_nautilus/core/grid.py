"""The price and size grid of an instrument, as the decision core needs it.

The core never knows an exchange's rules: it is handed a ``PriceGrid`` (the strategy builds the
exchange's grid for the instrument it trades, e.g. ``HyperliquidGrid`` in the Hyperliquid market
rules one layer up) and rounds every price and size it produces through it.
"""

from __future__ import annotations

import math
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


class TickLotGrid:
    """A plain fixed grid (the core's ``PriceGrid``): every price a whole number of ``tick``, every
    size a whole number of ``lot``, orders worth at least ``min_value_usd``. The grid of an
    instrument on a venue without Hyperliquid's significant-figure rule (an imported StandX or
    Binance perp): its ``price_increment`` and ``size_increment``.

    Prices and sizes are rounded in whole ticks/lots with a tolerance of 1e-9 of a step and returned
    rounded to the step's decimals, so 93869.8 stays 93869.8 (no float residue).
    """

    __slots__ = ("_lot_decimals", "_tick_decimals", "lot", "lots_per_unit", "min_value_usd", "tick")

    def __init__(self, tick: float, lot: float, min_value_usd: float = 0.0) -> None:
        if not (tick > 0 and math.isfinite(tick)) or not (lot > 0 and math.isfinite(lot)):
            raise ValueError(f"tick and lot must be positive finite numbers, got tick={tick!r}, lot={lot!r}")
        self.tick = float(tick)
        self.lot = float(lot)
        self.lots_per_unit = 1.0 / self.lot
        self.min_value_usd = float(min_value_usd)
        self._tick_decimals = _decimals(self.tick)
        self._lot_decimals = _decimals(self.lot)

    def __repr__(self) -> str:
        return f"TickLotGrid(tick={self.tick!r}, lot={self.lot!r}, min_value_usd={self.min_value_usd!r})"

    def tick_size(self, price: float) -> float:
        """The tick (the same at every price)."""
        return self.tick

    def round_price(self, price: float, mode: str = "nearest") -> float:
        """``price`` on the tick grid: ``"down"`` (bids), ``"up"`` (asks) or ``"nearest"``; at least one tick."""
        if not price > 0 or not math.isfinite(price):
            raise ValueError(f"price must be a positive finite number, got {price!r}")
        n = max(_round_steps(price / self.tick, mode), 1)
        return round(n * self.tick, self._tick_decimals)

    def round_size(self, size: float, mode: str = "down") -> float:
        """``size`` in whole lots (``"down"`` by default so limits are never exceeded)."""
        if size < 0 or not math.isfinite(size):
            raise ValueError(f"size must be a non-negative finite number, got {size!r}")
        return round(_round_steps(size / self.lot, mode) * self.lot, self._lot_decimals)

    def meets_min_value(self, price: float, size: float) -> bool:
        return price * size >= self.min_value_usd - 1e-9


def _round_steps(x: float, mode: str) -> int:
    if mode == "down":
        return math.floor(x + 1e-9)
    if mode == "up":
        return math.ceil(x - 1e-9)
    if mode == "nearest":
        return math.floor(x + 0.5)
    raise ValueError(f"mode must be 'down', 'up' or 'nearest', got {mode!r}")


def _decimals(step: float) -> int:
    """Decimals needed to write ``step`` exactly (0.1 -> 1, 0.0001 -> 4, 5 -> 0); at most 12."""
    for d in range(13):
        if abs(round(step, d) - step) <= 1e-12 * max(1.0, step):
            return d
    return 12
