"""Hyperliquid perpetual market rules: tick and lot sizes, minimum order value, fee tiers.

``HyperliquidGrid`` is the decision core's ``PriceGrid`` for a Hyperliquid perp. No Nautilus
imports. Source: Hyperliquid's API documentation ("Tick and lot size", fees) as of 2025.

* Size: at most ``szDecimals`` decimals (lot = 10**-szDecimals).
* Price (perps): at most 5 significant figures and at most ``6 - szDecimals`` decimals;
  integer prices are always valid whatever their number of significant figures.
* Minimum order value: price * size >= 10 USDC.
"""

from __future__ import annotations

import functools
import math
from decimal import Decimal

from botmm_nautilus.core.grid import PriceGrid

PERP_MAX_PRICE_DECIMALS = 6
MAX_SIG_FIGS = 5
MIN_ORDER_VALUE_USD = 10.0

# Hyperliquid base tier (14-day volume <= $5M): makers pay +1.5 bps, takers 4.5 bps.
BASE_MAKER_FEE = 0.00015
BASE_TAKER_FEE = 0.00045

# szDecimals of the perps this project trades, as published by /info meta (mainnet, 2025).
# The importers infer szDecimals from the data for any other coin.
KNOWN_SZ_DECIMALS: dict[str, int] = {
    "BTC": 5,
    "ETH": 4,
    "SOL": 2,
    "XRP": 0,
    "HYPE": 2,
    "WLFI": 0,
}

# Max leverage per coin (mainnet meta, 2025); used for initial margin in the backtest venue.
KNOWN_MAX_LEVERAGE: dict[str, int] = {
    "BTC": 40,
    "ETH": 25,
    "SOL": 20,
    "XRP": 20,
    "HYPE": 10,
    "WLFI": 5,
}


def price_decimals(sz_decimals: int) -> int:
    """Maximum number of price decimals for a perp with ``sz_decimals``."""
    if not 0 <= sz_decimals <= PERP_MAX_PRICE_DECIMALS:
        raise ValueError(f"szDecimals must be in 0..{PERP_MAX_PRICE_DECIMALS}, got {sz_decimals}")
    return PERP_MAX_PRICE_DECIMALS - sz_decimals


class HyperliquidGrid(PriceGrid):
    """The price and size grid of one Hyperliquid perpetual with ``sz_decimals`` (the core's ``PriceGrid``).

    * tick at a price: 5 significant figures, i.e. 10**(floor(log10(price)) - 4), never finer than
      the decimal cap 10**-(6 - szDecimals) and never coarser than 1 (integers are always valid);
    * lot: 10**-szDecimals; minimum order value ``min_value_usd`` (the venue's 10 USDC).
    """

    __slots__ = ("_min_tick_exp", "lots_per_unit", "min_value_usd", "sz_decimals")

    def __init__(self, sz_decimals: int, min_value_usd: float = MIN_ORDER_VALUE_USD) -> None:
        self._min_tick_exp = -price_decimals(sz_decimals)
        self.sz_decimals = sz_decimals
        self.lots_per_unit = 10.0**sz_decimals
        self.min_value_usd = min_value_usd

    def __repr__(self) -> str:
        return f"HyperliquidGrid(sz_decimals={self.sz_decimals})"

    def tick_size(self, price: float) -> float:
        """The effective (price-dependent) tick at ``price``."""
        if not price > 0 or not math.isfinite(price):
            raise ValueError(f"price must be a positive finite number, got {price!r}")
        return 10.0 ** min(max(math.floor(math.log10(price)) - (MAX_SIG_FIGS - 1), self._min_tick_exp), 0)

    def round_price(self, price: float, mode: str = "nearest") -> float:
        """``price`` rounded to a valid perp price: ``"down"`` (bids), ``"up"`` (asks) or ``"nearest"``.

        Rounding up across a power of ten (99999.5 -> 100000) stays valid; rounding down below one
        (100000 -> 99999) is valid too because the finer tick below still divides the result.
        """
        if not price > 0 or not math.isfinite(price):
            raise ValueError(f"price must be a positive finite number, got {price!r}")
        exp = min(max(math.floor(math.log10(price)) - (MAX_SIG_FIGS - 1), self._min_tick_exp), 0)  # as in tick_size
        scale = 10.0**-exp  # ticks per unit of price
        x = price * scale
        if mode == "down":
            n = math.floor(x + 1e-9)
        elif mode == "up":
            n = math.ceil(x - 1e-9)
        elif mode == "nearest":
            n = math.floor(x + 0.5)
        else:
            raise ValueError(f"mode must be 'down', 'up' or 'nearest', got {mode!r}")
        if n <= 0:
            n = 1
        return round(n / scale, -exp)

    def round_size(self, size: float, mode: str = "down") -> float:
        """``size`` rounded to the lot (``"down"`` by default so limits are never exceeded)."""
        if size < 0 or not math.isfinite(size):
            raise ValueError(f"size must be a non-negative finite number, got {size!r}")
        scale = self.lots_per_unit
        if mode == "down":
            n = math.floor(size * scale + 1e-9)
        elif mode == "up":
            n = math.ceil(size * scale - 1e-9)
        elif mode == "nearest":
            n = math.floor(size * scale + 0.5)
        else:
            raise ValueError(f"mode must be 'down', 'up' or 'nearest', got {mode!r}")
        return round(n / scale, self.sz_decimals)

    def meets_min_value(self, price: float, size: float) -> bool:
        return price * size >= self.min_value_usd - 1e-9


@functools.cache
def _grid(sz_decimals: int) -> HyperliquidGrid:
    return HyperliquidGrid(sz_decimals)


def tick_size(price: float, sz_decimals: int) -> float:
    """The tick at ``price`` of a perp with ``sz_decimals`` (``HyperliquidGrid.tick_size``)."""
    return _grid(sz_decimals).tick_size(price)


def is_valid_price(price: float | str | Decimal, sz_decimals: int) -> bool:
    """The venue's check: > 0, at most 6 - szDecimals decimals, and 5 significant figures unless integral."""
    d = Decimal(str(price))
    if d <= 0:
        return False
    n = d.normalize()
    exp = n.as_tuple().exponent
    decimals = max(0, -exp) if isinstance(exp, int) else 0
    if decimals > price_decimals(sz_decimals):
        return False
    if d == d.to_integral_value():
        return True
    return len(n.as_tuple().digits) <= MAX_SIG_FIGS


def infer_sz_decimals(sizes) -> int:
    """Infer szDecimals from observed sizes (the largest number of decimals seen, capped at 6)."""
    best = 0
    for s in sizes:
        d = Decimal(str(s)).normalize()
        exp = d.as_tuple().exponent
        if isinstance(exp, int) and -exp > best:
            best = -exp
            if best >= PERP_MAX_PRICE_DECIMALS:
                return PERP_MAX_PRICE_DECIMALS
    return best


def sz_decimals_for(coin: str, observed_sizes=None) -> int:
    """szDecimals for ``coin``: the published value when known, else inferred from observed sizes."""
    coin = coin.upper()
    if coin in KNOWN_SZ_DECIMALS:
        return KNOWN_SZ_DECIMALS[coin]
    if observed_sizes is None:
        raise ValueError(
            f"unknown coin {coin!r}: szDecimals not known (known: {sorted(KNOWN_SZ_DECIMALS)}); "
            "pass observed sizes to infer it",
        )
    return infer_sz_decimals(observed_sizes)
