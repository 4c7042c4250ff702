"""Dynamic order sizing (issue 10 section 5): an ``Adjuster`` that sets each side's size.

Per side::

    target_usd = max(equity_usd × equity_fraction × clamp(Π factors, total_min, total_max), floor_usd)
    size_mult  = target_usd / order_size_usd          (the core scales the configured size by it)

Factors, each clamped to its own [min, max] (``SizingParams``):

* volatility: baseline / σ, σ the relative volatility ``sigma_price / mid`` at the decision and the
  baseline its slow time-decayed EWMA over earlier decisions (weight at least 1/(n+1) for the n-th
  reading while warming up: a running mean at first); high σ -> smaller; 1 while σ is unknown;
* fill rate: target / observed fills per minute over ``fill_window_s`` (fills arriving faster than
  the target build inventory faster than it is worked off -> smaller); 1 until one window has passed;
* inventory: the side adding to the position 1 − strength·|inventory_frac|, the side reducing it
  1 + strength·|inventory_frac|;
* toxicity (when a ``Toxicity`` is given): 1 − strength·(side score − its initial score);
* drawdown from the peak equity seen at decisions: 1 − drawdown / drawdown_full_frac;
* streak of round trips (position flat -> flat, or through zero; PnL from our own fills at their
  prices, less the maker fee): 1 + streak_step × streak, streak +n after n wins in a row, −n after n losses.

Venue rules: the ladder is built at ``order_size_usd`` on the instrument's ``PriceGrid``
(core/quoting.py ``build_ladder``: whole lots, a level below the minimum order value merged into
its better neighbour); the adaptive core (core/adaptive.py) then scales each level's size by
``size_mult``, rounds it down to the lot and *drops* a level that falls below the minimum. So the
sizer floors a side at ``floor_usd = min_side_usd / best_level_share`` (the best level's share of
the side, from the quoting section's weights): the best level then stays at least ``min_side_usd``
(default 11 USD: Hyperliquid's 10 USD minimum after lot rounding) and a side is never emptied by
the sizer; deeper, smaller levels may drop. ``round_order_size`` is the single-order form of the
rule for callers outside the ladder.
"""

from __future__ import annotations

import math
from collections import deque

from botmm_nautilus.core.adjust import Adjuster
from botmm_nautilus.core.adjust import Adjustment
from botmm_nautilus.core.adjust import OwnFill
from botmm_nautilus.core.adjust import QuoteContext
from botmm_nautilus.core.autotune import OwnPnL
from botmm_nautilus.core.estimators import LN2
from botmm_nautilus.core.estimators import NS_PER_S
from botmm_nautilus.core.grid import PriceGrid
from botmm_nautilus.core.params import QuotingParams
from botmm_nautilus.core.params import SizingParams
from botmm_nautilus.core.quoting import best_level_share
from botmm_nautilus.core.toxicity import Toxicity


def round_order_size(size_base: float, price: float, grid: PriceGrid, bump_to_min: bool = False) -> float:
    """``size_base`` as a valid order at ``price`` on ``grid``: rounded down to the lot; 0 if that is
    below the grid's minimum order value (Hyperliquid: 10 USD), or with ``bump_to_min`` the smallest
    whole-lot size that meets it instead. Uses the grid's own ``round_size`` and ``meets_min_value``."""
    size = grid.round_size(size_base, "down")
    if size > 0 and grid.meets_min_value(price, size):
        return size
    if not bump_to_min:
        return 0.0
    size = grid.round_size(grid.min_value_usd / price, "up")
    if not (size > 0 and grid.meets_min_value(price, size)):
        size = grid.round_size(size + 1.0 / grid.lots_per_unit, "nearest")
    return size


def _clamp(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


class DynamicSizer(Adjuster):
    """Size per side from equity and bounded factors (see the module doc)."""

    name = "sizing"

    def __init__(self, params: SizingParams, toxicity: Toxicity | None = None, maker_fee_bps: float = 0.0,
                 best_level_share: float = 1.0) -> None:
        super().__init__()
        if not 0.0 < best_level_share <= 1.0:
            raise ValueError(f"best_level_share must be in (0, 1], got {best_level_share!r}")
        self.params = params
        self.floor_usd = params.min_side_usd / best_level_share
        self.toxicity = toxicity
        self.pnl = OwnPnL(maker_fee_bps)
        self._fill_ts: deque[int] = deque()
        self._fill_window_ns = int(round(params.fill_window_s * NS_PER_S))
        self._first_ts: int | None = None
        self._vol_base = math.nan
        self._vol_ts = 0
        self._vol_n = 0
        self._vol_decay_per_ns = LN2 / (params.vol_baseline_half_life_s * NS_PER_S)
        self.peak_equity = -math.inf
        self._rt_anchor = 0.0
        self.streak = 0
        self.round_trips = {"wins": 0, "losses": 0, "flat": 0}
        self.factors: dict[str, float] = {}
        self.target_usd = {"bid": math.nan, "ask": math.nan}

    @classmethod
    def from_params(cls, params: SizingParams, toxicity: Toxicity | None = None, maker_fee_bps: float = 0.0,
                    quoting: QuotingParams | None = None) -> DynamicSizer:
        """``toxicity``: the Toxicity feature whose side scores scale the sizes (None: factor 1);
        ``maker_fee_bps``: charged in the round trips' PnL; ``quoting``: the strategy's quoting
        section, whose level weights set the floor (None: one level)."""
        return cls(params, toxicity, maker_fee_bps, best_level_share(quoting) if quoting is not None else 1.0)

    # ------------------------------------------------------------------------------------ events

    def on_fill(self, fill: OwnFill) -> None:
        eps = 1e-9 * max(1.0, fill.qty)
        before = self.pnl.position
        if abs(before) <= eps:
            self._rt_anchor = self.pnl.equity(fill.price)  # a round trip opens: cash before it
        self.pnl.on_fill(fill)
        self._fill_ts.append(fill.ts_ns)
        after = self.pnl.position
        if abs(before) > eps and (abs(after) <= eps or (after > 0) != (before > 0)):
            eq = self.pnl.equity(fill.price)  # what is left over (through zero) opens the next trip at this price
            self._close_round_trip(eq - self._rt_anchor)
            self._rt_anchor = eq

    def _close_round_trip(self, pnl_usd: float) -> None:
        if pnl_usd > 0:
            self.streak = self.streak + 1 if self.streak > 0 else 1
            self.round_trips["wins"] += 1
        elif pnl_usd < 0:
            self.streak = self.streak - 1 if self.streak < 0 else -1
            self.round_trips["losses"] += 1
        else:
            self.round_trips["flat"] += 1

    # ------------------------------------------------------------------------------------ factors

    def _vol_factor(self, ctx: QuoteContext) -> float:
        p = self.params
        rel = ctx.sigma_price / ctx.mid if ctx.mid > 0 else math.nan
        if not (rel > 0 and math.isfinite(rel)):
            return 1.0
        if self._vol_base != self._vol_base:
            self._vol_base, self._vol_ts, self._vol_n = rel, ctx.ts_ns, 1
            return 1.0
        f = _clamp(self._vol_base / rel, p.vol_factor_min, p.vol_factor_max)
        dt = ctx.ts_ns - self._vol_ts
        if dt > 0:
            # time-weighted EWMA; while warming up at least the running-mean weight 1/(n+1), so the
            # first reading does not stand for the baseline for a whole half-life (as RiskManager's)
            self._vol_n += 1
            alpha = max(1.0 - math.exp(-self._vol_decay_per_ns * dt), 1.0 / self._vol_n)
            self._vol_base += alpha * (rel - self._vol_base)
            self._vol_ts = ctx.ts_ns
        return f

    def _fill_factor(self, ts: int) -> float:
        p = self.params
        q = self._fill_ts
        while q and q[0] <= ts - self._fill_window_ns:
            q.popleft()
        if self._first_ts is None or ts - self._first_ts < self._fill_window_ns:
            return 1.0
        rate = len(q) / (p.fill_window_s / 60.0)
        return p.fill_factor_max if rate == 0 else _clamp(p.target_fills_per_min / rate, p.fill_factor_min, p.fill_factor_max)

    def _inventory_factors(self, inv: float) -> tuple[float, float]:
        p = self.params
        adding = _clamp(1.0 - p.inventory_strength * abs(inv), p.inventory_factor_min, p.inventory_factor_max)
        reducing = _clamp(1.0 + p.inventory_strength * abs(inv), p.inventory_factor_min, p.inventory_factor_max)
        if inv > 0:
            return adding, reducing  # long: buying adds
        if inv < 0:
            return reducing, adding
        return 1.0, 1.0

    def _toxicity_factor(self, side: str, ts: int) -> float:
        if self.toxicity is None:
            return 1.0
        p = self.params
        excess = self.toxicity.score(side, ts) - self.toxicity.params.initial_score
        return _clamp(1.0 - p.toxicity_strength * excess, p.toxicity_factor_min, p.toxicity_factor_max)

    def _drawdown_factor(self, equity: float) -> float:
        p = self.params
        self.peak_equity = max(self.peak_equity, equity)
        if not self.peak_equity > 0:
            return 1.0
        dd = (self.peak_equity - equity) / self.peak_equity
        return _clamp(1.0 - dd / p.drawdown_full_frac, p.drawdown_factor_min, 1.0)

    def _streak_factor(self) -> float:
        p = self.params
        return _clamp(1.0 + p.streak_step * self.streak, p.streak_factor_min, p.streak_factor_max)

    # ------------------------------------------------------------------------------------ output

    def adjust(self, ctx: QuoteContext) -> Adjustment:
        p = self.params
        ts = ctx.ts_ns
        if self._first_ts is None:
            self._first_ts = ts
        vol = self._vol_factor(ctx)
        fill = self._fill_factor(ts)
        inv_bid, inv_ask = self._inventory_factors(ctx.inventory_frac)
        tox_bid, tox_ask = self._toxicity_factor("bid", ts), self._toxicity_factor("ask", ts)
        dd = self._drawdown_factor(ctx.equity_usd)
        streak = self._streak_factor()
        common = vol * fill * dd * streak
        base = ctx.equity_usd * p.equity_fraction
        mult = {}
        for side, inv, tox in (("bid", inv_bid, tox_bid), ("ask", inv_ask, tox_ask)):
            total = _clamp(common * inv * tox, p.total_min, p.total_max)
            usd = max(base * total, self.floor_usd) if base > 0 else self.floor_usd
            self.target_usd[side] = usd
            mult[side] = usd / ctx.order_size_usd
        self.factors = {
            "vol": vol, "fill": fill, "inventory_bid": inv_bid, "inventory_ask": inv_ask,
            "toxicity_bid": tox_bid, "toxicity_ask": tox_ask, "drawdown": dd, "streak": streak,
        }
        return Adjustment(
            bid_size_mult=mult["bid"], ask_size_mult=mult["ask"],
            reason=f"sizing bid x{mult['bid']:.2f} ask x{mult['ask']:.2f}",  # the factors: state()
        )

    def state(self) -> dict:
        return {
            "target_usd": {k: (round(v, 4) if v == v else None) for k, v in self.target_usd.items()},
            "factors": {k: round(v, 6) for k, v in self.factors.items()},
            "floor_usd": self.floor_usd, "streak": self.streak, "round_trips": dict(self.round_trips),
            "peak_equity_usd": self.peak_equity if math.isfinite(self.peak_equity) else None,
        }


__all__ = ["DynamicSizer", "round_order_size"]
