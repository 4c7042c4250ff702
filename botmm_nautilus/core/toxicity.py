"""Toxicity of our fills, per side, from their markouts (issue 10 section 3): an ``Adjuster``.

After each of our fills the mid at the fill (``OwnFill.mid``, before the fill moved the book) and
the volatility at that moment are kept. For each horizon h (``ToxicityParams.horizons_s``) the
markout is read at the first mid observed at or after fill + h: in book mode a mid update, in candle
mode a bar close (so h is reached after N bars). Only mids stamped strictly after the fill are ever
used, and only mids already fed (so at or before any decision that follows): the feature is causal.
(In candle mode a fill stamped at a bar's close is therefore measured from the next close on.)

Score of a markout (signed against us: a buy followed by a falling mid is adverse)::

    adverse = (mid_fill − mid_h) for a buy, (mid_h − mid_fill) for a sell
    score   = clamp(adverse / (σ_price · √elapsed), 0, 1)

σ_price is the feature's own EWMA volatility of the mid (``estimators.EwmaVolatility``, price units
per √s) *at the fill time* (so the move being scored does not inflate its own yardstick), floored at
``min_sigma_bps_per_sqrt_s`` × mid so that σ = 0 or an unready estimator never divides by zero;
``elapsed`` is the real time from the fill to the mid used (≥ h). Horizons of one fill reached on
the same mid update count as one observation (in candle mode 1 s and 5 s both land on the next bar),
and fills of one side at the same timestamp (the parts of one fill) count as one fill.

Each observation updates its side's EMA (``ema_alpha``); between observations the score decays
toward ``initial_score`` with ``decay_half_life_s`` (no fills, no evidence). The side's spread is
multiplied by band (``high_score``/``mid_score``/``low_score``) once the side has ``min_markouts``;
an observation that lifts the score above ``pause_threshold`` pulls that side for ``pause_s`` (a
pause begins at that mid's timestamp and ends exactly ``pause_s`` later; both logged).
Bids are our buys ("bid" side), asks our sells. Memory is bounded by ``max_pending`` fills.
"""

from __future__ import annotations

import math
from collections import deque

from botmm_nautilus.core.adjust import NEUTRAL
from botmm_nautilus.core.adjust import Adjuster
from botmm_nautilus.core.adjust import Adjustment
from botmm_nautilus.core.adjust import OwnFill
from botmm_nautilus.core.adjust import QuoteContext
from botmm_nautilus.core.estimators import NS_PER_S
from botmm_nautilus.core.estimators import EwmaVolatility
from botmm_nautilus.core.params import BPS_PER_UNIT
from botmm_nautilus.core.params import ToxicityParams

SIDES = ("bid", "ask")
_NEVER = 2**63 - 1


class _Pending:
    """A fill awaiting markouts: its horizons' due times in order, the next one at ``k``."""

    __slots__ = ("due_ns", "is_buy", "k", "mid", "sigma_price", "ts_ns")

    def __init__(self, ts_ns: int, is_buy: bool, mid: float, sigma_price: float, due_ns: tuple[int, ...]) -> None:
        self.ts_ns = ts_ns
        self.is_buy = is_buy
        self.mid = mid
        self.sigma_price = sigma_price
        self.due_ns = due_ns
        self.k = 0


class _Side:
    __slots__ = ("measured", "pause_active", "paused_until_ns", "pauses", "score", "score_ts_ns")

    def __init__(self, initial_score: float) -> None:
        self.score = initial_score
        self.score_ts_ns = 0
        self.measured = 0
        self.pauses = 0
        self.paused_until_ns = 0
        self.pause_active = False


class Toxicity(Adjuster):
    """Per-side markout toxicity: band spread multipliers and one-sided pauses (see the module doc)."""

    name = "toxicity"

    def __init__(self, params: ToxicityParams) -> None:
        super().__init__()
        self.params = params
        self.horizons_ns = tuple(sorted({int(round(h * NS_PER_S)) for h in params.horizons_s}))
        self._labels = tuple(f"{h / NS_PER_S:g}s" for h in self.horizons_ns)
        self._vol = EwmaVolatility(params.vol_half_life_s, params.vol_sample_interval_s, min_samples=1)
        self._pending: deque[_Pending] = deque(maxlen=params.max_pending)
        self._next_due_ns = _NEVER
        self._sides = {s: _Side(params.initial_score) for s in SIDES}
        self._decay_per_ns = math.log(2.0) / (params.decay_half_life_s * NS_PER_S) if params.decay_half_life_s > 0 else 0.0
        self._last_mid = math.nan
        self._last_ts_ns = 0
        self.dropped = 0
        # per horizon and side: [count, sum of markout bps (+ = in our favour)]
        self._markouts = {lab: {s: [0, 0.0] for s in SIDES} for lab in self._labels}

    # ------------------------------------------------------------------------------------ events

    def on_mid(self, ts_ns: int, mid: float) -> None:
        if not (mid > 0.0 and math.isfinite(mid)):
            return
        self._last_ts_ns = ts_ns
        if ts_ns >= self._next_due_ns:
            self._mature(ts_ns, mid)
        self._end_pauses(ts_ns)
        self._vol.update(ts_ns, mid)
        self._last_mid = mid

    def on_fill(self, fill: OwnFill) -> None:
        last = self._pending[-1] if self._pending else None
        if last is not None and last.ts_ns == fill.ts_ns and last.is_buy == fill.is_buy and last.k == 0:
            return  # another part of the same fill (one trade filling several of our orders or one in parts)
        mid = fill.mid if fill.mid > 0.0 and math.isfinite(fill.mid) else self._last_mid
        if not mid > 0.0:
            return  # no mid known yet: nothing to measure against
        sigma = self._vol.sigma_price if self._vol.n_samples else math.nan
        floor = self.params.min_sigma_bps_per_sqrt_s / BPS_PER_UNIT * mid
        sigma = max(sigma, floor) if sigma == sigma else floor
        if len(self._pending) == self._pending.maxlen:
            self.dropped += 1
        p = _Pending(fill.ts_ns, fill.is_buy, mid, sigma, tuple(fill.ts_ns + h for h in self.horizons_ns))
        self._pending.append(p)
        self._next_due_ns = min(self._next_due_ns, p.due_ns[0])

    def _mature(self, ts_ns: int, mid: float) -> None:
        """Score every pending horizon due at or before ``ts_ns`` with this mid (observed after the fill)."""
        nxt = _NEVER
        done = False
        for p in self._pending:
            if ts_ns > p.ts_ns and p.k < len(p.due_ns) and p.due_ns[p.k] <= ts_ns:
                side = "bid" if p.is_buy else "ask"
                move = (mid - p.mid) if p.is_buy else (p.mid - mid)  # + = in our favour
                while p.k < len(p.due_ns) and p.due_ns[p.k] <= ts_ns:
                    acc = self._markouts[self._labels[p.k]][side]
                    acc[0] += 1
                    acc[1] += move / p.mid * BPS_PER_UNIT
                    p.k += 1
                elapsed_s = (ts_ns - p.ts_ns) / NS_PER_S
                self._observe(side, ts_ns, min(max(-move / (p.sigma_price * math.sqrt(elapsed_s)), 0.0), 1.0))
            if p.k < len(p.due_ns):
                nxt = min(nxt, p.due_ns[p.k])
            else:
                done = True
        if done:
            self._pending = deque((p for p in self._pending if p.k < len(p.due_ns)), maxlen=self.params.max_pending)
        self._next_due_ns = nxt

    def _observe(self, side: str, ts_ns: int, score: float) -> None:
        s = self._sides[side]
        prev = self.score(side, ts_ns)
        s.score = prev + self.params.ema_alpha * (score - prev)
        s.score_ts_ns = ts_ns
        s.measured += 1
        p = self.params
        if p.pause_s > 0 and s.measured >= p.min_markouts and s.score > p.pause_threshold and not s.pause_active:
            s.pause_active = True
            s.pauses += 1
            s.paused_until_ns = ts_ns + int(round(p.pause_s * NS_PER_S))
            self.log_change(
                ts_ns,
                f"{side} paused {p.pause_s:g} s: toxicity {s.score:.3f} > {p.pause_threshold:g} "
                f"(EMA of {s.measured} markouts, last {score:.2f})",
            )

    def _end_pauses(self, ts_ns: int) -> None:
        for side, s in self._sides.items():
            if s.pause_active and ts_ns >= s.paused_until_ns:
                s.pause_active = False
                score = self.score(side, s.paused_until_ns)
                self.log_change(s.paused_until_ns, f"{side} toxicity pause ended (score {score:.2f})")

    # ------------------------------------------------------------------------------------ output

    def score(self, side: str, ts_ns: int) -> float:
        """The side's ("bid" = our buys, "ask" = our sells) score at ``ts_ns``, decayed toward ``initial_score``."""
        s = self._sides[side]
        if self._decay_per_ns == 0.0 or s.measured == 0 or ts_ns <= s.score_ts_ns:
            return s.score
        prior = self.params.initial_score
        return prior + (s.score - prior) * math.exp(-self._decay_per_ns * (ts_ns - s.score_ts_ns))

    def band_mult(self, score: float) -> float:
        """The spread multiplier of a score's band."""
        p = self.params
        if score > p.high_score:
            return p.high_mult
        if score > p.mid_score:
            return p.mid_mult
        if score < p.low_score:
            return p.low_mult
        return 1.0

    def adjust(self, ctx: QuoteContext) -> Adjustment:
        ts = ctx.ts_ns
        self._end_pauses(ts)
        mult = {}
        pulled = {}
        parts = []
        for side, s in self._sides.items():
            active = s.measured >= self.params.min_markouts
            sc = self.score(side, ts)
            mult[side] = self.band_mult(sc) if active else 1.0
            pulled[side] = s.pause_active and ts < s.paused_until_ns
            if mult[side] != 1.0 or pulled[side]:
                parts.append(f"{side} toxicity {sc:.2f}" + (" paused" if pulled[side] else f" x{mult[side]:g}"))
        if not parts:
            return NEUTRAL
        return Adjustment(
            bid_spread_mult=mult["bid"], ask_spread_mult=mult["ask"],
            pull_bid=pulled["bid"], pull_ask=pulled["ask"], reason="; ".join(parts),
        )

    def markout_bps(self) -> dict[str, dict[str, float | None]]:
        """Mean markout per horizon and side in bps of the fill mid (+ = the mid moved in our favour)."""
        return {lab: {s: (a[1] / a[0] if a[0] else None) for s, a in sides.items()} for lab, sides in self._markouts.items()}

    def state(self) -> dict:
        ts = self._last_ts_ns
        out: dict = {
            s: {
                "score": round(self.score(s, ts), 6), "markouts": v.measured, "pauses": v.pauses,
                "paused": v.pause_active,
            }
            for s, v in self._sides.items()
        }
        out["markout_bps"] = self.markout_bps()
        out["markout_counts"] = {lab: {s: a[0] for s, a in sides.items()} for lab, sides in self._markouts.items()}
        out["pending"] = len(self._pending)
        out["dropped"] = self.dropped
        return out


__all__ = ["SIDES", "Toxicity"]
