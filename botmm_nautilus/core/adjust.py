"""The contract between the adaptive features and the adaptive decision core.

Each adaptive feature (volatility regime, fill-rate tracking, inventory decay, toxicity, the
adverse-selection model, the auto-tuner, the dynamic sizer) is an ``Adjuster``: it is fed market
events and our own fills in time order and, at each quoting decision, says how the quote the base
model built should change, as an ``Adjustment``. The adaptive core (core/adaptive.py) combines the
adjustments of the features switched on (``combine``) and applies them; a feature switched off is
simply not in the list, so its effect can be measured by running with and without it.

Causality: an adjuster sees only events stamped at or before the decision time it is asked about.
Pure Python: no Nautilus, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Adjustment:
    """One feature's say on the next quote.

    Spread multipliers scale each side's distance from the mid (1 = unchanged, 1.5 = 50 % wider);
    size multipliers scale each side's sizes; ``fair_shift_bps`` moves the price both sides are
    built around (+ = up, in bps of the mid); ``pull_*`` removes that side's quotes. ``reason``
    says why, for the log (empty when nothing changes).
    """

    bid_spread_mult: float = 1.0
    ask_spread_mult: float = 1.0
    bid_size_mult: float = 1.0
    ask_size_mult: float = 1.0
    fair_shift_bps: float = 0.0
    pull_bid: bool = False
    pull_ask: bool = False
    reason: str = ""

    @property
    def neutral(self) -> bool:
        return (
            self.bid_spread_mult == 1.0 and self.ask_spread_mult == 1.0 and self.bid_size_mult == 1.0
            and self.ask_size_mult == 1.0 and self.fair_shift_bps == 0.0 and not self.pull_bid and not self.pull_ask
        )


NEUTRAL = Adjustment()


def combine(adjustments) -> Adjustment:
    """Multipliers multiply, shifts add, pulls OR; reasons are joined with '; '."""
    out = Adjustment()
    reasons = []
    for a in adjustments:
        out.bid_spread_mult *= a.bid_spread_mult
        out.ask_spread_mult *= a.ask_spread_mult
        out.bid_size_mult *= a.bid_size_mult
        out.ask_size_mult *= a.ask_size_mult
        out.fair_shift_bps += a.fair_shift_bps
        out.pull_bid = out.pull_bid or a.pull_bid
        out.pull_ask = out.pull_ask or a.pull_ask
        if a.reason:
            reasons.append(a.reason)
    out.reason = "; ".join(reasons)
    return out


@dataclass(slots=True, frozen=True)
class OwnFill:
    """One of our fills: ``mid`` is the market mid when it happened (before it moved the book)."""

    ts_ns: int
    is_buy: bool
    price: float
    qty: float
    mid: float
    maker: bool = True


@dataclass(slots=True)
class QuoteContext:
    """What an adjuster may read at a decision (all known at ``ts_ns``).

    ``sigma_price``: volatility of the mid in price units per √s; ``bid_sizes``/``ask_sizes``: sizes
    of the first levels of each side, best first (as many as the adjusters asked for with
    ``book_levels``; empty in candle mode), ``bid_prices``/``ask_prices`` their prices (same length, or
empty when the caller gave none); ``order_size_usd``: the configured size per side.
    """

    ts_ns: int
    mid: float
    best_bid: float
    best_ask: float
    sigma_price: float
    position_base: float
    max_position_usd: float
    equity_usd: float
    capital_usd: float
    order_size_usd: float
    tick_size: float
    bid_sizes: tuple = ()
    ask_sizes: tuple = ()
    bid_prices: tuple = ()
    ask_prices: tuple = ()

    @property
    def inventory_frac(self) -> float:
        """Position value / max position, in [-1, 1] when within the limit (+ = long)."""
        return self.position_base * self.mid / self.max_position_usd if self.max_position_usd > 0 else 0.0


@dataclass(slots=True)
class Change:
    """A logged change of an adjuster's state (a parameter moved, a pause began or ended)."""

    ts_ns: int
    source: str
    text: str


class Adjuster:
    """Base class: every hook is a no-op. Subclasses override what they need.

    ``name``: the feature's name in logs and in the ablation table. ``book_levels``: level sizes
    per side the feature needs in ``QuoteContext`` (0 = none). ``changes``: state changes with their
    reason, appended by the feature and drained (logged) by the strategy.
    """

    name: str = "adjuster"
    book_levels: int = 0

    def __init__(self) -> None:
        self.changes: list[Change] = []

    def log_change(self, ts_ns: int, text: str) -> None:
        self.changes.append(Change(ts_ns, self.name, text))

    def on_mid(self, ts_ns: int, mid: float) -> None:
        """The mid changed (book mode) or a bar closed (candle mode: its close)."""

    def on_trade(self, ts_ns: int, price: float, size: float, aggressor_is_buyer: bool) -> None:
        """A market trade (book mode)."""

    def on_fill(self, fill: OwnFill) -> None:
        """One of our orders filled (fully or partly)."""

    def on_decision(self, ts_ns: int, quoted_bid: bool, quoted_ask: bool) -> None:
        """A quoting decision was made; whether each side ended up quoted."""

    def adjust(self, ctx: QuoteContext) -> Adjustment:
        """How the next quote should change."""
        return NEUTRAL

    def review(self, ctx: QuoteContext, bids: list[tuple[float, float]], asks: list[tuple[float, float]]):
        """A last look at the final ladder ((price, size) best first): may drop or shrink levels.
        Returns ``(bids, asks)``."""
        return bids, asks

    def state(self) -> dict:
        """The feature's current state for reports (plain JSON-able values)."""
        return {}


__all__ = ["NEUTRAL", "Adjuster", "Adjustment", "Change", "OwnFill", "QuoteContext", "combine"]
