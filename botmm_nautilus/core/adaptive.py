"""The adaptive decision core and its own adaptive features.

``AdaptiveCore`` is a ``MarketMakerCore`` whose quote is changed, at each decision, by a list of
``Adjuster`` objects (core/adjust.py): the adjustments of the features switched on are combined
(``combine``: multipliers multiply, shifts add, pulls OR) and applied between the steps of
``MarketMakerCore.decide`` (no step is copied):

    risk rules -> fair value (signals) shifted by the features' fair_shift_bps -> the quote model's
    ladder -> the risk rules' level limit and multipliers -> the features' per-side spread
    multipliers (each level's distance from the mid, rounded away from the mid on the grid, never
    at or through the other side's touch: post-only) and size multipliers (lots, minimum order
    value) and pulls -> each feature's ``review`` -> the position caps.

``build_adjusters`` is the one place that turns configuration into the list: one line per feature.

The features defined here: ``RegimeAdjuster`` (the volatility regime of core/regime.py picks a
spread and size multiplier), ``FillRateAdjuster`` (each side's fills per minute of quoting kept in
a target band) and ``InventoryDecay`` (the fair value moves against an ageing position; the side
that adds to it is quoted smaller). Each logs its state changes with the reason (``log_change``);
the strategy drains them (``drain_changes``).

Pure Python: no Nautilus, no I/O.
"""

from __future__ import annotations

import math
from collections import deque

from botmm_nautilus.core.adjust import NEUTRAL
from botmm_nautilus.core.adjust import Adjuster
from botmm_nautilus.core.adjust import Adjustment
from botmm_nautilus.core.adjust import Change
from botmm_nautilus.core.adjust import OwnFill
from botmm_nautilus.core.adjust import QuoteContext
from botmm_nautilus.core.adjust import combine
from botmm_nautilus.core.autotune import AutoTuner
from botmm_nautilus.core.decision import MarketMakerCore
from botmm_nautilus.core.decision import QuoteDecision
from botmm_nautilus.core.fill_model import FillModel
from botmm_nautilus.core.fill_model import FillModelAdjuster
from botmm_nautilus.core.params import AdaptiveParams
from botmm_nautilus.core.params import AutoTuneParams
from botmm_nautilus.core.params import FillModelParams
from botmm_nautilus.core.params import QuotingParams
from botmm_nautilus.core.params import SizingParams
from botmm_nautilus.core.params import ToxicityParams
from botmm_nautilus.core.regime import VolRegime
from botmm_nautilus.core.sizing import DynamicSizer
from botmm_nautilus.core.toxicity import Toxicity

NS_PER_S = 1_000_000_000
BPS = 1e-4
_REGIME_NAMES = {-1: "low", 0: "normal", 1: "high", None: "warm-up"}


# ------------------------------------------------------------------------------------ features


class RegimeAdjuster(Adjuster):
    """The volatility regime (``VolRegime``) -> a spread and size multiplier for both sides:
    ``regime_high_*`` in the high regime, ``regime_low_*`` in the low one, 1 when normal or warming up."""

    name = "regime"

    def __init__(self, p: AdaptiveParams) -> None:
        super().__init__()
        self.p = p
        self.model = VolRegime(
            sample_interval_s=p.regime_sample_interval_s,
            fast_half_life_s=p.regime_fast_half_life_s,
            slow_half_life_s=p.regime_slow_half_life_s,
            min_samples=p.regime_min_samples,
            high_ratio=p.regime_high_ratio,
            low_ratio=p.regime_low_ratio,
            hysteresis=p.regime_hysteresis,
        )
        self._regime: int | None = None
        self._adjustments = {
            None: NEUTRAL,
            0: NEUTRAL,
            1: _both_sides(p.regime_high_spread_mult, p.regime_high_size_mult, "high volatility regime"),
            -1: _both_sides(p.regime_low_spread_mult, p.regime_low_size_mult, "low volatility regime"),
        }
        self.regime_changes = 0

    def on_mid(self, ts_ns: int, mid: float) -> None:
        model = self.model
        model.update(ts_ns, mid)
        regime = model.regime
        if regime != self._regime:
            self.log_change(ts_ns, f"regime {_REGIME_NAMES[self._regime]} -> {_REGIME_NAMES[regime]} "
                                   f"(fast/slow volatility ratio {model.ratio:.3f})")
            self._regime = regime
            self.regime_changes += 1

    def adjust(self, ctx: QuoteContext) -> Adjustment:
        return self._adjustments[self._regime]

    def state(self) -> dict:
        m = self.model
        return {"regime": _REGIME_NAMES[self._regime], "ratio": round(m.ratio, 6), "samples": m.samples,
                "regime_changes": self.regime_changes}


def _both_sides(spread_mult: float, size_mult: float, reason: str) -> Adjustment:
    return Adjustment(bid_spread_mult=spread_mult, ask_spread_mult=spread_mult, bid_size_mult=size_mult,
                      ask_size_mult=size_mult, reason=reason)


class _SideRate:
    """One side's fills and quoting time over a rolling window (fills per minute of quoting)."""

    __slots__ = ("fills", "mult", "last_step_ns", "quoted_since", "segments")

    def __init__(self) -> None:
        self.fills: deque[int] = deque()
        self.segments: deque[list[int]] = deque()  # [start_ns, end_ns] of quoting, merged when contiguous
        self.quoted_since: int | None = None  # start of the current quoting stretch
        self.mult = 1.0
        self.last_step_ns = 0

    def on_decision(self, ts_ns: int, quoted: bool) -> None:
        start = self.quoted_since
        if start is not None:
            segs = self.segments
            if segs and segs[-1][1] == start:
                segs[-1][1] = ts_ns
            else:
                segs.append([start, ts_ns])
        self.quoted_since = ts_ns if quoted else None

    def rate_per_min(self, ts_ns: int, window_ns: int) -> tuple[float, float]:
        """(fills per minute of quoting, seconds quoted) within (ts - window, ts]."""
        lo = ts_ns - window_ns
        fills = self.fills
        while fills and fills[0] <= lo:
            fills.popleft()
        segs = self.segments
        while segs and segs[0][1] <= lo:
            segs.popleft()
        quoted_ns = sum(end - max(start, lo) for start, end in segs)
        if self.quoted_since is not None:
            quoted_ns += ts_ns - max(self.quoted_since, lo)
        quoted_s = quoted_ns / NS_PER_S
        return (len(fills) / (quoted_s / 60.0) if quoted_s > 0 else 0.0), quoted_s


class FillRateAdjuster(Adjuster):
    """Each side's fills per minute of quoting over ``fill_rate_window_s``, against the band
    [``fill_rate_target_low``, ``fill_rate_target_high``]: below it the side's spread multiplier
    steps down (x (1 − step), floor ``fill_rate_min_mult``), above it up (x (1 + step), cap
    ``fill_rate_max_mult``), inside it stays. A side is judged only after ``fill_rate_min_quoting_s``
    of quoting in the window, and steps at most once per ``fill_rate_interval_s``."""

    name = "fill_rate"

    def __init__(self, p: AdaptiveParams) -> None:
        super().__init__()
        self.p = p
        self._window_ns = int(p.fill_rate_window_s * NS_PER_S)
        self._interval_ns = int(p.fill_rate_interval_s * NS_PER_S)
        self.bid = _SideRate()
        self.ask = _SideRate()
        self.steps = 0
        self.fills_seen = 0

    def on_fill(self, fill: OwnFill) -> None:
        self.fills_seen += 1
        (self.bid if fill.is_buy else self.ask).fills.append(fill.ts_ns)

    def on_decision(self, ts_ns: int, quoted_bid: bool, quoted_ask: bool) -> None:
        self.bid.on_decision(ts_ns, quoted_bid)
        self.ask.on_decision(ts_ns, quoted_ask)

    def _step(self, ts_ns: int, side: _SideRate, label: str) -> None:
        p = self.p
        if ts_ns - side.last_step_ns < self._interval_ns:
            return
        rate, quoted_s = side.rate_per_min(ts_ns, self._window_ns)
        if quoted_s < p.fill_rate_min_quoting_s:
            return
        old = side.mult
        if rate < p.fill_rate_target_low:
            new = max(old * (1.0 - p.fill_rate_step), p.fill_rate_min_mult)
            why = f"{rate:.3g} fills/min < {p.fill_rate_target_low:g}"
        elif rate > p.fill_rate_target_high:
            new = min(old * (1.0 + p.fill_rate_step), p.fill_rate_max_mult)
            why = f"{rate:.3g} fills/min > {p.fill_rate_target_high:g}"
        else:
            return
        side.last_step_ns = ts_ns
        if new != old:
            side.mult = new
            self.steps += 1
            self.log_change(ts_ns, f"{label} spread x{old:.3f} -> x{new:.3f}: {why} over {quoted_s:.0f} s quoted")

    def adjust(self, ctx: QuoteContext) -> Adjustment:
        ts = ctx.ts_ns
        self._step(ts, self.bid, "bid")
        self._step(ts, self.ask, "ask")
        b = self.bid.mult
        a = self.ask.mult
        if b == 1.0 and a == 1.0:
            return NEUTRAL
        return Adjustment(bid_spread_mult=b, ask_spread_mult=a, reason=f"fill rate: bid x{b:.3f}, ask x{a:.3f}")

    def state(self) -> dict:
        return {"bid_spread_mult": round(self.bid.mult, 6), "ask_spread_mult": round(self.ask.mult, 6), "steps": self.steps,
                "fills_seen": self.fills_seen}


class InventoryDecay(Adjuster):
    """The older and larger the position, the further the fair value moves against it:

        coef = min(decay_base_bps + decay_growth_bps_per_min x age_min, decay_max_bps)
        fair_shift_bps = −coef x inventory_frac

    ``age``: time since the position took its current sign (|inventory_frac| >= ``decay_flat_frac``;
    below that it is flat and the age restarts). The side that adds to the position is quoted
    smaller: its size multiplier is max(1 − decay_size_tilt x |inventory_frac|, decay_min_size_mult)."""

    name = "inventory_decay"

    def __init__(self, p: AdaptiveParams) -> None:
        super().__init__()
        self.p = p
        self._sign = 0
        self._since_ns = 0
        self._at_cap = False
        self.shift_bps = 0.0

    def adjust(self, ctx: QuoteContext) -> Adjustment:
        p = self.p
        frac = ctx.inventory_frac
        sign = 0 if abs(frac) < p.decay_flat_frac else (1 if frac > 0 else -1)
        ts = ctx.ts_ns
        if sign != self._sign:
            if self._at_cap:
                self.log_change(ts, f"position {'flat' if sign == 0 else 'flipped'} (inventory_frac {frac:+.3f}): decay restarts")
            self._sign = sign
            self._since_ns = ts
            self._at_cap = False
        if sign == 0:
            self.shift_bps = 0.0
            return NEUTRAL
        age_min = (ts - self._since_ns) / (60.0 * NS_PER_S)
        coef = p.decay_base_bps + p.decay_growth_bps_per_min * age_min
        if coef >= p.decay_max_bps:
            coef = p.decay_max_bps
            if not self._at_cap:
                self._at_cap = True
                self.log_change(ts, f"position held {age_min:.1f} min (inventory_frac {frac:+.3f}): fair-value shift at its cap "
                                    f"{coef:g} bps per unit of inventory_frac")
        shift = -coef * frac
        self.shift_bps = shift
        tilt = max(1.0 - p.decay_size_tilt * abs(frac), p.decay_min_size_mult)
        reason = f"inventory decay: shift {shift:+.2f} bps, adding side size x{tilt:.2f}"
        if sign > 0:  # long: buying adds
            return Adjustment(bid_size_mult=tilt, fair_shift_bps=shift, reason=reason)
        return Adjustment(ask_size_mult=tilt, fair_shift_bps=shift, reason=reason)

    def state(self) -> dict:
        return {"position_sign": self._sign, "fair_shift_bps": round(self.shift_bps, 6), "at_cap": self._at_cap}


# ------------------------------------------------------------------------------------ the list


def build_adjusters(
    adaptive: AdaptiveParams,
    toxicity: ToxicityParams | None = None,
    autotune: AutoTuneParams | None = None,
    sizing: SizingParams | None = None,
    fill_model: FillModelParams | None = None,
    *,
    model: FillModel | None = None,
    quoting: QuotingParams | None = None,
    maker_fee_bps: float = 0.0,
) -> list[Adjuster]:
    """The adjusters the configuration switches on, in the order they are applied. Adding a
    feature is one line here. ``quoting``: the strategy's quoting section (the sizer's floor keeps
    its best level above the minimum order value); ``maker_fee_bps``: charged in the PnL the
    auto-tuner and the sizer's streaks see; ``model``: the fill model ``fill_model.path`` holds, read
    by the caller (the core does no I/O), required when ``fill_model.enabled``."""
    p = adaptive
    out: list[Adjuster] = []
    if p.use_regime:
        out.append(RegimeAdjuster(p))
    if p.use_fill_rate:
        out.append(FillRateAdjuster(p))
    if p.use_inventory_decay:
        out.append(InventoryDecay(p))
    tox = Toxicity(toxicity) if toxicity is not None and toxicity.enabled else None
    if tox is not None:
        out.append(tox)
    if autotune is not None and autotune.enabled:
        out.append(AutoTuner.from_params(autotune, maker_fee_bps=maker_fee_bps))
    if sizing is not None and sizing.enabled:
        out.append(DynamicSizer.from_params(sizing, toxicity=tox, maker_fee_bps=maker_fee_bps, quoting=quoting))
    if fill_model is not None and fill_model.enabled:
        if model is None:
            raise ValueError("fill_model.enabled: the model file fill_model.path must be read and given as model")
        out.append(FillModelAdjuster(fill_model, model))
    return out


# ------------------------------------------------------------------------------------ the core


class AdaptiveCore(MarketMakerCore):
    """``MarketMakerCore`` plus a list of adjusters (module docstring).

    ``adjusters``: the features, normally ``build_adjusters(adaptive)``. Events are passed on to
    them after the base core has taken them: ``on_mid`` only when the mid changes (book) or a bar
    closes (its close), ``on_trade``, ``on_fill`` (our fills, from the strategy). Each decision
    ends with every adjuster's ``on_decision``. Only the adjusters that override ``on_mid`` /
    ``on_trade`` are called on those per-event hooks.
    """

    def __init__(self, *args, adjusters: list[Adjuster], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.adjusters = list(adjusters)
        # the per-event hooks (the hottest path) go only to the adjusters that use them
        self._mid_listeners = [a for a in self.adjusters if type(a).on_mid is not Adjuster.on_mid]
        self._trade_listeners = [a for a in self.adjusters if type(a).on_trade is not Adjuster.on_trade]
        self._level_sizes: tuple[tuple, tuple] = ((), ())
        self._adj_levels = max((a.book_levels for a in self.adjusters), default=0)
        self._level_prices: tuple[tuple, tuple] = ((), ())
        self.wants_level_prices = self._adj_levels > 0

    @property
    def book_levels(self) -> int:
        return max(self.signals.book_levels, self._adj_levels)

    # ------------------------------------------------------------------ events
    def on_book(self, ts_ns: int, best_bid: float, best_ask: float) -> None:
        old = self.mid
        super().on_book(ts_ns, best_bid, best_ask)
        mid = self.mid
        if mid != old:
            for a in self._mid_listeners:
                a.on_mid(ts_ns, mid)

    def on_book_levels(self, ts_ns: int, bid_sizes, ask_sizes, bid_prices=(), ask_prices=()) -> None:
        n = self.signals.book_levels
        if n:
            super().on_book_levels(ts_ns, bid_sizes[:n], ask_sizes[:n])
        m = self._adj_levels
        self._level_sizes = (tuple(bid_sizes[:m]), tuple(ask_sizes[:m])) if m else ((), ())
        self._level_prices = (tuple(bid_prices[:m]), tuple(ask_prices[:m])) if m else ((), ())

    def on_trade(self, ts_ns: int, price: float, size: float, aggressor_is_buyer: bool) -> None:
        super().on_trade(ts_ns, price, size, aggressor_is_buyer)
        for a in self._trade_listeners:
            a.on_trade(ts_ns, price, size, aggressor_is_buyer)

    def on_bar(self, ts_ns: int, open_: float, high: float, low: float, close: float) -> None:
        super().on_bar(ts_ns, open_, high, low, close)
        for a in self._mid_listeners:
            a.on_mid(ts_ns, close)

    def on_fill(self, fill: OwnFill) -> None:
        for a in self.adjusters:
            a.on_fill(fill)

    def drain_changes(self) -> list[Change]:
        """The adjusters' logged changes since the last call, in adjuster order."""
        out: list[Change] = []
        for a in self.adjusters:
            if a.changes:
                out.extend(a.changes)
                a.changes.clear()
        return out

    def adaptive_state(self) -> dict:
        """Each feature's ``state()`` by name."""
        return {a.name: a.state() for a in self.adjusters}

    # ------------------------------------------------------------------ decision
    def decide(self, ts_ns: int, position_base: float, equity_usd: float, open_buy_qty: float = 0.0,
               open_sell_qty: float = 0.0) -> QuoteDecision | None:
        adjusters = self.adjusters
        if not adjusters:
            return super().decide(ts_ns, position_base, equity_usd, open_buy_qty, open_sell_qty)
        mid = self.mid
        if not mid > 0:
            return None
        decision, sigma = self._risk_step(ts_ns, position_base, equity_usd, open_buy_qty, open_sell_qty)
        if sigma is None:
            for a in adjusters:
                a.on_decision(ts_ns, False, False)
            return QuoteDecision([], [], decision, mid)
        bid_sizes, ask_sizes = self._level_sizes
        bid_prices, ask_prices = self._level_prices
        ctx = QuoteContext(
            ts_ns=ts_ns, mid=mid, best_bid=self.best_bid, best_ask=self.best_ask, sigma_price=sigma,
            position_base=position_base, max_position_usd=self.risk.max_position_usd, equity_usd=equity_usd,
            capital_usd=self.risk.capital_usd, order_size_usd=self.quoting.order_size_usd,
            tick_size=self.grid.tick_size(mid), bid_sizes=bid_sizes, ask_sizes=ask_sizes,
            bid_prices=bid_prices, ask_prices=ask_prices,
        )
        said = [adj for a in adjusters if (adj := a.adjust(ctx)) is not NEUTRAL]
        adj = NEUTRAL if not said else said[0] if len(said) == 1 else combine(said)
        fair = self._signal_fair_value(sigma)
        if adj.fair_shift_bps and self.quoting.model != "classic":
            fair = (mid if fair is None else fair) * (1.0 + adj.fair_shift_bps * BPS)
        bids, asks = self._base_ladder(decision, sigma, position_base, fair)
        if adj.fair_shift_bps and self.quoting.model == "classic":  # the classic model has no fair value: move its ladder
            bids, asks = self._shift(bids, asks, adj.fair_shift_bps * BPS * mid)
        bids, asks = self._risk_scaling(bids, asks, decision)
        bids = [] if adj.pull_bid else self._side_adjust(bids, adj.bid_spread_mult, adj.bid_size_mult, is_bid=True)
        asks = [] if adj.pull_ask else self._side_adjust(asks, adj.ask_spread_mult, adj.ask_size_mult, is_bid=False)
        for a in adjusters:
            bids, asks = a.review(ctx, bids, asks)
        bids, asks = self._cap_position(bids, asks, position_base, open_buy_qty, open_sell_qty)
        quoted_bid = bool(bids)
        quoted_ask = bool(asks)
        for a in adjusters:
            a.on_decision(ts_ns, quoted_bid, quoted_ask)
        return QuoteDecision(bids, asks, decision, mid)

    def _shift(self, bids, asks, delta: float):
        """Every level moved by ``delta`` (price units), rounded away from the mid, kept post-only."""
        return ([(self._bid_price(p + delta), s) for p, s in bids], [(self._ask_price(p + delta), s) for p, s in asks])

    def _side_adjust(self, levels, spread_mult: float, size_mult: float, *, is_bid: bool):
        """One side's levels with their distance from the mid times ``spread_mult`` (rounded away from
        the mid, post-only, strictly ordered: a level that lands on or inside the previous one moves
        one tick out) and sizes times ``size_mult`` (whole lots; a level below the minimum order value
        is dropped). A level at or beyond the mid keeps its price."""
        if not levels or (spread_mult == 1.0 and size_mult == 1.0):
            return levels
        if spread_mult != 1.0:
            grid = self.grid
            mid = self.mid
            out = []
            prev = math.nan
            for p, s in levels:
                # a level at or beyond the mid (a fair value moved past it) has no distance to scale: kept
                if is_bid:
                    if p < mid:
                        scaled = mid - (mid - p) * spread_mult
                        if not scaled > 0:  # widened below zero: no such bid
                            break
                        p = self._bid_price(scaled)
                    if prev == prev and p >= prev:
                        p = self._bid_price(prev - grid.tick_size(prev))
                else:
                    if p > mid:
                        p = self._ask_price(mid + (p - mid) * spread_mult)
                    if prev == prev and p <= prev:
                        p = self._ask_price(prev + grid.tick_size(prev))
                prev = p
                out.append((p, s))
            levels = out
        return self._scale(levels, size_mult) if size_mult != 1.0 else levels

    def _bid_price(self, price: float) -> float:
        """``price`` rounded down on the grid and kept strictly below the best ask (post-only)."""
        grid = self.grid
        p = grid.round_price(price, "down")
        ask = self.best_ask
        if ask == ask and p >= ask:
            p = grid.round_price(ask - grid.tick_size(ask), "down")
            if p >= ask:  # a price-dependent tick at a boundary
                p = grid.round_price(p - grid.tick_size(p), "down")
        return p

    def _ask_price(self, price: float) -> float:
        """``price`` rounded up on the grid and kept strictly above the best bid (post-only)."""
        grid = self.grid
        p = grid.round_price(price, "up")
        bid = self.best_bid
        if bid == bid and p <= bid:
            p = grid.round_price(bid + grid.tick_size(bid), "up")
        return p


__all__ = ["AdaptiveCore", "FillRateAdjuster", "InventoryDecay", "RegimeAdjuster", "build_adjusters"]
