"""Runtime auto-tuning over rolling windows (issue 10 section 5): an ``Adjuster``.

The tuner keeps its own mark-to-mid PnL of our fills: cash (− price × qty for a buy, + for a sell,
less the maker fee it is given) plus position × mid. At most once per ``eval_interval_s``, at a
decision (``adjust``), it samples that equity and evaluates its rules over the last ``window_s``:

=====================  ======================================================  =====================
rule                   condition (over the window)                             action (bounded)
=====================  ======================================================  =====================
Sharpe                 mean / std of the per-interval PnL < sharpe_threshold   spread_mult += step
                       (at least ``min_intervals`` intervals; std 0 counts
                       only when the mean is negative)
fill rate              fills / decisions with a side quoted < min_fill_rate    spread_mult −= step
                       (at least ``min_quoted_decisions``; not while the
                       Sharpe rule fires: a losing book is never tightened)
inventory              |inventory_frac| (at the decision) > threshold          skew_bps += step
drawdown               (peak − current equity) / capital > threshold           size_mult −= step
=====================  ======================================================  =====================

Bounds: spread_mult in [min_spread_mult, max_spread_mult], skew_bps in [0, max_skew_bps],
size_mult in [min_size_mult, 1]. Drift reset: once no rule has fired for ``reset_after_s``, each
evaluation moves every tuned value one step back toward neutral (1, 0, 1). Every change is logged
with ``log_change`` and its reason, e.g. ``spread_mult 1.00 -> 1.10: rolling Sharpe -0.80 < 0 over
600 s (10 intervals)``.

Output: both spreads × spread_mult, both sizes × size_mult, fair value shifted by
−skew_bps × inventory_frac bps (against the inventory: long moves both quotes down).
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
from botmm_nautilus.core.params import AutoTuneParams
from botmm_nautilus.core.params import fee_fraction


class OwnPnL:
    """Mark-to-mid PnL of our fills: cash + position × mid, the maker fee charged on every fill."""

    __slots__ = ("cash", "fee_frac", "fills", "position")

    def __init__(self, maker_fee_bps: float = 0.0) -> None:
        self.fee_frac = fee_fraction(maker_fee_bps)
        self.cash = 0.0
        self.position = 0.0
        self.fills = 0

    def on_fill(self, fill: OwnFill) -> None:
        notional = fill.price * fill.qty
        self.cash += -notional if fill.is_buy else notional
        self.cash -= notional * self.fee_frac
        self.position += fill.qty if fill.is_buy else -fill.qty
        self.fills += 1

    def equity(self, mid: float) -> float:
        return self.cash + self.position * mid if self.position else self.cash


def _sharpe(pnls: list[float]) -> float:
    """mean / sample std of interval PnLs; −inf for a constant loss, NaN for a constant non-loss."""
    n = len(pnls)
    mean = sum(pnls) / n
    var = sum((x - mean) ** 2 for x in pnls) / (n - 1)
    sd = math.sqrt(var)
    if sd <= 1e-12 * max(1.0, abs(mean)):
        return -math.inf if mean < 0 else math.nan
    return mean / sd


def _plain(v):
    """A JSON-able value: floats rounded, non-finite ones as None."""
    if not isinstance(v, float):
        return v
    return round(v, 6) if math.isfinite(v) else None


class AutoTuner(Adjuster):
    """Rolling-window rules that tune spread, skew and size (see the module doc)."""

    name = "autotune"

    def __init__(self, params: AutoTuneParams, maker_fee_bps: float = 0.0) -> None:
        super().__init__()
        self.params = params
        self.pnl = OwnPnL(maker_fee_bps)
        self.spread_mult = 1.0
        self.skew_bps = 0.0
        self.size_mult = 1.0
        self._window_ns = int(round(params.window_s * NS_PER_S))
        self._eval_ns = int(round(params.eval_interval_s * NS_PER_S))
        self._reset_ns = int(round(params.reset_after_s * NS_PER_S))
        self._samples: deque[tuple[int, float]] = deque()  # (ts, equity) at each evaluation in the window
        self._fill_ts: deque[int] = deque()
        self._quoted_ts: deque[int] = deque()
        self._next_eval_ns: int | None = None
        self._last_fired_ns: int | None = None
        self._mid = math.nan
        self.evaluations = 0
        self.fired = {"sharpe": 0, "fill_rate": 0, "inventory": 0, "drawdown": 0, "reset": 0}
        self.last = {"sharpe": None, "fill_rate": None, "drawdown_frac": None, "intervals": 0}

    @classmethod
    def from_params(cls, params: AutoTuneParams, maker_fee_bps: float = 0.0) -> AutoTuner:
        """``maker_fee_bps``: the instrument's maker fee (+ = cost), charged in the tuner's own PnL."""
        return cls(params, maker_fee_bps)

    # ------------------------------------------------------------------------------------ events

    def on_mid(self, ts_ns: int, mid: float) -> None:
        if mid > 0.0 and math.isfinite(mid):
            self._mid = mid

    def on_fill(self, fill: OwnFill) -> None:
        self.pnl.on_fill(fill)
        self._fill_ts.append(fill.ts_ns)

    def on_decision(self, ts_ns: int, quoted_bid: bool, quoted_ask: bool) -> None:
        if quoted_bid or quoted_ask:
            self._quoted_ts.append(ts_ns)

    # -------------------------------------------------------------------------------- evaluation

    def adjust(self, ctx: QuoteContext) -> Adjustment:
        ts = ctx.ts_ns
        if self._next_eval_ns is None or ts >= self._next_eval_ns:
            self._evaluate(ts, ctx)
        if self.spread_mult == 1.0 and self.size_mult == 1.0 and self.skew_bps == 0.0:
            return NEUTRAL
        shift = -self.skew_bps * ctx.inventory_frac
        return Adjustment(
            bid_spread_mult=self.spread_mult, ask_spread_mult=self.spread_mult,
            bid_size_mult=self.size_mult, ask_size_mult=self.size_mult, fair_shift_bps=shift,
            reason=f"autotune spread x{self.spread_mult:.2f} size x{self.size_mult:.2f} skew {self.skew_bps:g} bps/inv",
        )

    def _evaluate(self, ts: int, ctx: QuoteContext) -> None:
        p = self.params
        self._next_eval_ns = ts + self._eval_ns
        if self._last_fired_ns is None:
            self._last_fired_ns = ts
        self.evaluations += 1
        mid = ctx.mid  # > 0: the adaptive core asks only with a mid
        start = ts - self._window_ns
        samples = self._samples
        samples.append((ts, self.pnl.equity(mid)))
        while samples and samples[0][0] < start:
            samples.popleft()
        for q in (self._fill_ts, self._quoted_ts):
            while q and q[0] < start:
                q.popleft()
        span_s = (ts - samples[0][0]) / NS_PER_S
        fired = False

        # Sharpe of the per-interval PnL
        pnls = [b[1] - a[1] for a, b in zip(samples, list(samples)[1:])]
        self.last["intervals"] = len(pnls)
        sharpe_bad = False
        if len(pnls) >= max(p.min_intervals, 2):
            sharpe = _sharpe(pnls)
            self.last["sharpe"] = None if math.isnan(sharpe) else sharpe
            if sharpe < p.sharpe_threshold:  # NaN compares False: a flat book is quiet
                sharpe_bad = fired = True
                self.fired["sharpe"] += 1
                self._set(ts, "spread_mult", min(self.spread_mult + p.spread_step, p.max_spread_mult),
                          f"rolling Sharpe {sharpe:.2f} < {p.sharpe_threshold:g} over {span_s:g} s ({len(pnls)} intervals)")

        # fill rate: fills per quoted decision
        n_quoted = len(self._quoted_ts)
        if n_quoted >= p.min_quoted_decisions:
            rate = len(self._fill_ts) / n_quoted
            self.last["fill_rate"] = rate
            if rate < p.min_fill_rate and not sharpe_bad:
                fired = True
                self.fired["fill_rate"] += 1
                self._set(ts, "spread_mult", max(self.spread_mult - p.spread_step, p.min_spread_mult),
                          f"fill rate {rate:.1%} ({len(self._fill_ts)} fills / {n_quoted} quoted decisions) "
                          f"< {p.min_fill_rate:.0%} over {p.window_s:g} s")

        # inventory
        inv = ctx.inventory_frac
        if abs(inv) > p.inventory_threshold:
            fired = True
            self.fired["inventory"] += 1
            self._set(ts, "skew_bps", min(self.skew_bps + p.skew_step_bps, p.max_skew_bps),
                      f"|inventory| {abs(inv):.0%} of max position > {p.inventory_threshold:.0%}")

        # drawdown of our PnL over the window
        if ctx.capital_usd > 0:
            peak = max(e for _, e in samples)
            dd = (peak - samples[-1][1]) / ctx.capital_usd
            self.last["drawdown_frac"] = dd
            if dd > p.drawdown_threshold_frac:
                fired = True
                self.fired["drawdown"] += 1
                self._set(ts, "size_mult", max(self.size_mult - p.size_step, p.min_size_mult),
                          f"drawdown {dd:.2%} of capital > {p.drawdown_threshold_frac:.2%} over {span_s:g} s")

        if fired:
            self._last_fired_ns = ts
        elif ts - self._last_fired_ns >= self._reset_ns and not self._neutral():
            self.fired["reset"] += 1
            quiet_s = (ts - self._last_fired_ns) / NS_PER_S
            why = f"drift reset: no rule fired for {quiet_s:g} s"
            s = self.spread_mult
            self._set(ts, "spread_mult", max(s - p.spread_step, 1.0) if s > 1.0 else min(s + p.spread_step, 1.0), why)
            self._set(ts, "skew_bps", max(self.skew_bps - p.skew_step_bps, 0.0), why)
            self._set(ts, "size_mult", min(self.size_mult + p.size_step, 1.0), why)

    def _neutral(self) -> bool:
        return self.spread_mult == 1.0 and self.skew_bps == 0.0 and self.size_mult == 1.0

    def _set(self, ts: int, key: str, value: float, reason: str) -> None:
        value = round(value, 10)  # no float residue from repeated steps (1.0 + 0.1 + 0.1 ...)
        old = getattr(self, key)
        if value != old:
            setattr(self, key, value)
            self.log_change(ts, f"{key} {old:.2f} -> {value:.2f}: {reason}")

    def state(self) -> dict:
        return {
            "spread_mult": self.spread_mult, "skew_bps": self.skew_bps, "size_mult": self.size_mult,
            "pnl_usd": self.pnl.equity(self._mid) if self._mid == self._mid else self.pnl.cash,
            "evaluations": self.evaluations, "fired": dict(self.fired),
            "last": {k: _plain(v) for k, v in self.last.items()},
        }


__all__ = ["AutoTuner", "OwnPnL"]
