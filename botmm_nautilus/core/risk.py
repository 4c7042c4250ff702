"""Risk rules for one market-making strategy: limits, pauses, halts and the kill switch.

Pure, deterministic and clock-injected: every method takes the caller's ``ts_ns`` (UNIX
nanoseconds, UTC; the backtest clock in a backtest, the node clock live). Nothing reads a wall
clock, does I/O or imports Nautilus. The strategy calls ``RiskManager.update`` before each requote
decision and obeys the returned ``RiskDecision``; it reports post-only rejections and API errors
as they happen; an operator (or the supervisor) can ``kill`` and ``reset_kill``.

States, from least to most severe (the most severe active condition wins):

* ``QUOTING``      both sides may be quoted.
* ``REDUCE_ONLY``  one side is disabled by the position rules (one-side stop / max position);
                   only the side that reduces inventory may be quoted. No pause is active.
* ``PAUSED``       cancel all, quote nothing, resume automatically when the pause's resume
                   condition holds (each pause names it in its reason).
* ``HALTED``       drawdown from peak equity: cancel all; needs ``reset_halt`` unless
                   ``RiskParams.drawdown_resume_after_s`` is set. Flattens if ``halt_flatten``.
* ``KILLED``       kill switch (manual via ``kill`` or automatic via ``kill_drawdown_frac``):
                   cancel all, optionally flatten, until ``reset_kill``.

The rules (and how each one ends):

=================  =============================================  =====================================
rule               trigger                                        resume
=================  =============================================  =====================================
one-side stop      worst-case long (position + all open buys)     the worst-case exposure falls back
                   >= ``one_side_stop_ratio`` x max position ->   under the stop ratio
                   bids off (mirror for shorts -> asks off)
daily loss         equity fell >= ``max_daily_loss_frac`` x       first update of the next UTC day,
                   capital below the equity at the first update   with that update's equity as the
                   of the current UTC day (a *daily* figure,      new day's baseline
                   not cumulative PnL) -> PAUSED
drawdown           (peak equity - equity) / peak >=               ``reset_halt`` (or after
                   ``max_drawdown_frac``; the peak trails the     ``drawdown_resume_after_s``); the
                   highest equity seen -> HALTED                  peak is re-based to current equity
auto kill          drawdown >= ``kill_drawdown_frac`` (optional)  ``reset_kill``
                   -> KILLED, flatten = ``flatten_on_kill``
vol spike          sigma >= ``vol_spike_ratio`` x slow EWMA       ``vol_spike_cooldown_s`` after the
                   baseline (after ``vol_min_samples``) ->        last spiking reading AND sigma <
                   PAUSED                                         ``vol_resume_ratio`` x baseline
mid jump           |mid / reference - 1| >= ``mid_jump_frac``,    ``mid_jump_pause_s`` later
                   reference re-taken every ``mid_jump_window_s``
stale book         no book update for ``stale_book_s``            a book update younger than that
post-only storm    ``post_only_reject_count`` rejects within      ``post_only_reject_pause_s`` later
                   ``post_only_reject_window_s``
API errors         ``api_error_count`` errors within              ``api_error_pause_s`` later
                   ``api_error_window_s``
invalid input      equity or mid not a positive finite number     the next valid input
=================  =============================================  =====================================

The volatility baseline is an EWMA of ``sigma`` with half-life ``vol_baseline_halflife_s``, fed at
most once per ``vol_baseline_sample_s`` (so it does not depend on how often ``update`` is called),
weighted at least ``1/(n+1)`` for the n-th sample (a running mean while warming up), and each
sample is clipped at ``vol_spike_ratio`` x baseline so a spike cannot drag its own baseline up.

Elevated but not spiking volatility widens instead of pausing: with ``r = sigma / baseline``,
``spread_multiplier`` rises linearly from 1 at ``r = vol_widen_start_ratio`` to
``vol_max_spread_multiplier`` at ``r = vol_spike_ratio`` and ``size_multiplier`` falls linearly
from 1 to ``vol_min_size_multiplier`` over the same range. Both are 1 before the baseline is warm.

Decisions are level-triggered, not edges: while paused every decision says ``cancel_all`` and
(while killed with flatten) ``flatten``; the strategy acts idempotently on them. A side whose
``can_quote_*`` is False must have no resting orders. Every state change, and every start or end
of a pause/halt/kill or of a one-side stop, is recorded as a ``RiskEvent`` for ``drain_events``.

Timestamps that go backwards are clamped to the latest one seen (the rules never run backwards).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone
from enum import Enum
from typing import NamedTuple

from botmm_nautilus.core.params import RiskParams

__all__ = [
    "NS_PER_DAY",
    "RiskDecision",
    "RiskEvent",
    "RiskManager",
    "RiskState",
]

NS_PER_S = 1_000_000_000
NS_PER_DAY = 86_400 * NS_PER_S
_LN2 = math.log(2.0)
_INF = math.inf


class RiskState(Enum):
    QUOTING = "QUOTING"
    REDUCE_ONLY = "REDUCE_ONLY"
    PAUSED = "PAUSED"
    HALTED = "HALTED"
    KILLED = "KILLED"

    def __str__(self) -> str:
        return self.value


_SEVERITY = {
    RiskState.QUOTING: 0,
    RiskState.REDUCE_ONLY: 1,
    RiskState.PAUSED: 2,
    RiskState.HALTED: 3,
    RiskState.KILLED: 4,
}
_STOPPED = frozenset((RiskState.PAUSED, RiskState.HALTED, RiskState.KILLED))


def _iso(ts_ns: int) -> str:
    return datetime.fromtimestamp(ts_ns // NS_PER_S, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


class RiskDecision(NamedTuple):
    """What the strategy may do now.

    Immutable; an unchanged decision is returned as the same object. A NamedTuple rather than a
    frozen dataclass because it is built on the requote hot path (0.6 us instead of 2 us).
    """

    can_quote_bid: bool
    can_quote_ask: bool
    cancel_all: bool
    flatten: bool
    spread_multiplier: float  # >= 1: multiply half-spreads by this (elevated volatility)
    size_multiplier: float  # in (0, 1]: multiply quote sizes by this (elevated volatility)
    reasons: tuple[str, ...]
    state: RiskState


@dataclass(frozen=True, slots=True)
class RiskEvent:
    ts_ns: int
    old_state: RiskState
    new_state: RiskState
    reason: str


class _Condition:
    __slots__ = ("key", "state", "reason", "start_ns", "until_ns", "flatten", "meta")

    def __init__(
        self,
        key: str,
        state: RiskState,
        reason: str,
        start_ns: int,
        until_ns: int | None,
        flatten: bool,
        meta: str = "",
    ) -> None:
        self.key = key
        self.state = state
        self.reason = reason
        self.start_ns = start_ns
        self.until_ns = until_ns  # for timed conditions; informational for the others
        self.flatten = flatten
        self.meta = meta


# Conditions that end by themselves when ``until_ns`` passes (checked in update).
_TIMED = frozenset(("mid_jump", "post_only_storm", "api_errors", "drawdown"))


class RiskManager:
    """Stateful evaluator of the ``RiskParams`` rules (core/params.py) for one strategy with ``capital_usd``."""

    def __init__(self, config: RiskParams, capital_usd: float, max_events: int = 10_000) -> None:
        self.config = config
        c = self.config
        self._stop_ratio = c.one_side_stop_ratio
        self._cooldown_ns = int(c.vol_spike_cooldown_s * NS_PER_S)
        self._vol_decay_per_ns = _LN2 / (c.vol_baseline_halflife_s * NS_PER_S)
        self._vol_sample_ns = int(c.vol_baseline_sample_s * NS_PER_S)
        self._vol_spike = c.vol_spike_ratio
        self._vol_resume = c.effective_vol_resume_ratio
        self._vol_widen = c.effective_vol_widen_start_ratio
        self._vol_widen_span = c.vol_spike_ratio - self._vol_widen
        self._vol_spread_gain = c.vol_max_spread_multiplier - 1.0
        self._vol_size_loss = 1.0 - c.vol_min_size_multiplier
        self._vol_min_n = c.vol_min_samples
        self._jump_frac = c.mid_jump_frac
        self._jump_window_ns = int(c.mid_jump_window_s * NS_PER_S)
        self._jump_pause_ns = int(c.mid_jump_pause_s * NS_PER_S)
        self._stale_ns = None if c.stale_book_s is None else int(c.stale_book_s * NS_PER_S)
        self._dd_frac = c.max_drawdown_frac
        self._kill_dd = c.kill_drawdown_frac
        self._dd_resume_ns = None if c.drawdown_resume_after_s is None else int(c.drawdown_resume_after_s * NS_PER_S)

        self.capital_usd = 0.0
        self.max_position_usd = 0.0
        self.daily_loss_limit_usd = 0.0
        self.set_capital(capital_usd)

        self._events: deque[RiskEvent] = deque(maxlen=max_events)
        self._conds: dict[str, _Condition] = {}
        self._state = RiskState.QUOTING
        self._flatten = False
        self._next_expiry_ns = _INF
        self._last_ts_ns = -(2**62)

        # equity
        self._last_equity: float | None = None
        self._peak_equity: float | None = None
        self._day: int | None = None
        self._day_start_equity: float | None = None
        # volatility
        self._vol_base = 0.0
        self._vol_n = 0
        self._vol_last_sample_ns = 0
        self._vol_ratio: float | None = None
        self._vol_last_spike_ns = 0
        self._spread_mult = 1.0
        self._size_mult = 1.0
        # mid jump
        self._ref_mid: float | None = None
        self._ref_mid_ns = 0
        # book freshness
        self._last_book_ns: int | None = None
        # storms
        self._rejects: deque[int] = deque()
        self._api_errors: deque[int] = deque()
        # position
        self._wc_long_usd: float | None = None
        self._wc_short_usd: float | None = None
        self._bid_blocked = False
        self._ask_blocked = False
        self._side_reasons: tuple[str, ...] = ()

        self._reasons: tuple[str, ...] = ()
        self._decision = RiskDecision(True, True, False, False, 1.0, 1.0, (), RiskState.QUOTING)

    # ------------------------------------------------------------------ configuration

    def set_capital(self, capital_usd: float) -> None:
        """Change the capital the limits scale with (daily-loss limit, capital-relative max position)."""
        if not (capital_usd > 0 and math.isfinite(capital_usd)):
            raise ValueError(f"capital_usd must be a positive finite number, got {capital_usd!r}")
        c = self.config
        self.capital_usd = float(capital_usd)
        limit = _INF
        if c.max_position_usd is not None:
            limit = c.max_position_usd
        if c.max_position_capital_mult is not None:
            limit = min(limit, c.max_position_capital_mult * self.capital_usd)
        self.max_position_usd = float(limit)
        self.daily_loss_limit_usd = c.max_daily_loss_frac * self.capital_usd

    # ------------------------------------------------------------------ reads

    @property
    def state(self) -> RiskState:
        return self._state

    @property
    def decision(self) -> RiskDecision:
        """The most recent decision (also returned by ``update``)."""
        return self._decision

    @property
    def peak_equity_usd(self) -> float | None:
        return self._peak_equity

    @property
    def day_start_equity_usd(self) -> float | None:
        return self._day_start_equity

    @property
    def vol_baseline(self) -> float | None:
        return self._vol_base if self._vol_n else None

    def active_conditions(self) -> dict[str, str]:
        """Active pause/halt/kill conditions: key -> reason."""
        return {k: c.reason for k, c in self._conds.items()}

    def drain_events(self) -> list[RiskEvent]:
        """Return and forget the events recorded since the last drain (oldest first)."""
        out = list(self._events)
        self._events.clear()
        return out

    def status(self) -> dict[str, object]:
        """A plain dict for logs, dashboards and the supervisor."""
        eq = self._last_equity
        peak = self._peak_equity
        day0 = self._day_start_equity
        return {
            "state": self._state.value,
            "capital_usd": self.capital_usd,
            "max_position_usd": self.max_position_usd,
            "equity_usd": eq,
            "peak_equity_usd": peak,
            "drawdown_frac": (peak - eq) / peak if eq is not None and peak else None,
            "day_start_equity_usd": day0,
            "daily_loss_frac": (day0 - eq) / self.capital_usd if eq is not None and day0 is not None else None,
            "vol_baseline": self.vol_baseline,
            "vol_ratio": self._vol_ratio,
            "conditions": self.active_conditions(),
            "reasons": self._decision.reasons,
        }

    # ------------------------------------------------------------------ position rules

    def _position_allows(self, side: int, position_usd: float, order_usd: float) -> bool:
        lim = self.max_position_usd
        adding = position_usd if side > 0 else -position_usd
        return adding < self._stop_ratio * lim and adding + order_usd <= lim

    def side_allowed(self, side: int, position_usd: float, order_usd: float = 0.0) -> bool:
        """May an order on ``side`` (+1 bid, -1 ask) of ``order_usd`` notional be placed now?

        ``position_usd`` should be the worst-case exposure on that side (``Inventory.worst_case_long_usd``
        for bids, ``worst_case_short_usd`` for asks). False while PAUSED/HALTED/KILLED; otherwise
        False when that exposure is at or past ``one_side_stop_ratio`` x max position on the
        adding side, or when the order would take it past the max position. Reducing is always allowed.
        """
        if side != 1 and side != -1:
            raise ValueError(f"side must be +1 (bid) or -1 (ask), got {side!r}")
        if self._state in _STOPPED:
            return False
        return self._position_allows(side, position_usd, order_usd)

    def room_usd(self, side: int, position_usd: float) -> float:
        """Notional that ``side`` may still add before the max position (0 when the side is stopped)."""
        if not self.side_allowed(side, position_usd):
            return 0.0
        adding = position_usd if side > 0 else -position_usd
        return max(0.0, self.max_position_usd - adding)

    # ------------------------------------------------------------------ conditions and events

    def _clock(self, ts_ns: int) -> int:
        if ts_ns < self._last_ts_ns:
            return self._last_ts_ns
        self._last_ts_ns = ts_ns
        return ts_ns

    def _recompute(self, ts_ns: int, reason: str, force_event: bool) -> None:
        sev = 0
        state = RiskState.QUOTING
        flatten = False
        next_exp = _INF
        for cond in self._conds.values():
            s = _SEVERITY[cond.state]
            if s > sev:
                sev = s
                state = cond.state
            if cond.flatten:
                flatten = True
            if cond.key in _TIMED and cond.until_ns is not None and cond.until_ns < next_exp:
                next_exp = cond.until_ns
        if sev == 0 and (self._bid_blocked or self._ask_blocked):
            state = RiskState.REDUCE_ONLY
        self._flatten = flatten
        self._next_expiry_ns = next_exp
        ordered = sorted(self._conds.values(), key=lambda c: (-_SEVERITY[c.state], c.start_ns))
        self._reasons = tuple(c.reason for c in ordered) + self._side_reasons
        old = self._state
        self._state = state
        if force_event or old is not state:
            self._events.append(RiskEvent(ts_ns, old, state, reason))

    def _add(self, ts_ns: int, key: str, state: RiskState, reason: str, until_ns: int | None = None,
             flatten: bool = False, meta: str = "") -> None:
        self._conds[key] = _Condition(key, state, reason, ts_ns, until_ns, flatten, meta)
        self._recompute(ts_ns, reason, True)

    def _clear(self, ts_ns: int, key: str, why: str) -> None:
        if self._conds.pop(key, None) is not None:
            self._recompute(ts_ns, f"{key.replace('_', ' ')} cleared: {why}", True)

    def _expire(self, ts_ns: int) -> None:
        for key in [k for k, c in self._conds.items() if k in _TIMED and c.until_ns is not None and c.until_ns <= ts_ns]:
            if key == "drawdown":
                # Auto-resume after drawdown_resume_after_s: re-base the peak so it does not re-trigger at once.
                self._peak_equity = self._last_equity
                self._clear(ts_ns, key, f"drawdown_resume_after_s elapsed; peak re-based to {self._last_equity:.2f}")
            else:
                self._clear(ts_ns, key, f"pause elapsed at {_iso(ts_ns)}")

    # ------------------------------------------------------------------ event inputs

    def on_book_update(self, ts_ns: int) -> None:
        """Record that a book update was received at ``ts_ns`` (same clock as ``update``)."""
        if self._last_book_ns is None or ts_ns > self._last_book_ns:
            self._last_book_ns = ts_ns

    def on_post_only_reject(self, ts_ns: int) -> RiskState:
        """A post-only order was rejected because it would have crossed ("would have immediately matched")."""
        ts_ns = self._clock(ts_ns)
        c = self.config
        self._storm(
            ts_ns, self._rejects, "post_only_storm", "post-only reject storm", c.post_only_reject_count,
            c.post_only_reject_window_s, c.post_only_reject_pause_s,
        )
        return self._state

    def on_api_error(self, ts_ns: int) -> RiskState:
        """An exchange request failed (HTTP error, timeout, rate limit, unexpected reject)."""
        ts_ns = self._clock(ts_ns)
        c = self.config
        self._storm(ts_ns, self._api_errors, "api_errors", "API error storm", c.api_error_count,
                    c.api_error_window_s, c.api_error_pause_s)
        return self._state

    def _storm(self, ts_ns: int, hits: deque[int], key: str, label: str, n_max: int, window_s: float,
               pause_s: float) -> None:
        window_ns = int(window_s * NS_PER_S)
        hits.append(ts_ns)
        while hits and hits[0] <= ts_ns - window_ns:
            hits.popleft()
        if len(hits) >= n_max:
            n = len(hits)
            hits.clear()
            until = ts_ns + int(pause_s * NS_PER_S)
            existing = self._conds.get(key)
            if existing is not None and existing.until_ns is not None and existing.until_ns >= until:
                return
            self._add(ts_ns, key, RiskState.PAUSED,
                      f"{label}: {n} in {window_s:g}s >= {n_max}; paused until {_iso(until)}", until)
        elif self._next_expiry_ns <= ts_ns:
            self._expire(ts_ns)

    def kill(self, ts_ns: int, reason: str, flatten: bool = False) -> RiskState:
        """Kill switch: cancel all, flatten if asked, quote nothing until ``reset_kill``."""
        ts_ns = self._clock(ts_ns)
        self._add(ts_ns, "kill", RiskState.KILLED,
                  f"kill switch: {reason}; cancel all{' and flatten' if flatten else ''} until reset_kill",
                  None, bool(flatten), "manual")
        return self._state

    def reset_kill(self, ts_ns: int) -> RiskState:
        """Clear the kill switch.

        If the drawdown is still at or past ``kill_drawdown_frac`` the peak is re-based to current
        equity (else the automatic kill would fire again at the next update). A drawdown halt that
        is also active stays until ``reset_halt``.
        """
        ts_ns = self._clock(ts_ns)
        if "kill" in self._conds:
            why = "reset_kill"
            eq = self._last_equity
            peak = self._peak_equity
            if self._kill_dd is not None and eq is not None and peak and (peak - eq) / peak >= self._kill_dd:
                self._peak_equity = eq
                why += f"; peak re-based to {eq:.2f}"
            self._clear(ts_ns, "kill", why)
        return self._state

    def reset_halt(self, ts_ns: int) -> RiskState:
        """Clear a drawdown halt (operator acknowledgement); the peak is re-based to current equity."""
        ts_ns = self._clock(ts_ns)
        if "drawdown" in self._conds:
            if self._last_equity is not None:
                self._peak_equity = self._last_equity
            self._clear(ts_ns, "drawdown", f"reset_halt; peak re-based to {self._peak_equity:.2f}")
        return self._state

    def on_transfer(self, ts_ns: int, amount_usd: float) -> None:
        """A deposit (> 0) or withdrawal (< 0) changes equity without being PnL: shift the baselines.

        Call it before the first ``update`` whose equity includes the transfer.
        """
        self._clock(ts_ns)
        if self._peak_equity is not None:
            self._peak_equity += amount_usd
        if self._day_start_equity is not None:
            self._day_start_equity += amount_usd
        if self._last_equity is not None:
            self._last_equity += amount_usd

    def set_baselines(self, ts_ns: int, day_start_equity_usd: float | None = None,
                      peak_equity_usd: float | None = None) -> None:
        """Restore the day-start and peak equity after a restart (else a restart forgets today's loss)."""
        ts_ns = self._clock(ts_ns)
        if day_start_equity_usd is not None:
            self._day = ts_ns // NS_PER_DAY
            self._day_start_equity = float(day_start_equity_usd)
        if peak_equity_usd is not None:
            self._peak_equity = float(peak_equity_usd)

    # ------------------------------------------------------------------ the per-requote check

    def update(
        self,
        ts_ns: int,
        equity_usd: float,
        mid: float,
        sigma: float | None = None,
        last_book_ts_ns: int | None = None,
        worst_case_long_usd: float | None = None,
        worst_case_short_usd: float | None = None,
    ) -> RiskDecision:
        """Evaluate every rule at ``ts_ns`` and return what the strategy may do.

        ``equity_usd``: mark-to-market equity (unrealised PnL included) of the capital this
        manager guards. ``mid``: current mid price. ``sigma``: current volatility estimate (any
        unit, always the same one; None = no new reading). ``last_book_ts_ns``: receive time of
        the latest book update (or report them with ``on_book_update``). ``worst_case_long_usd`` /
        ``worst_case_short_usd``: signed exposure if all open buys / all open sells fill (see
        ``Inventory``); None keeps the last values given. Without them the position rules are off.
        """
        if ts_ns < self._last_ts_ns:
            ts_ns = self._last_ts_ns
        else:
            self._last_ts_ns = ts_ns

        if self._next_expiry_ns <= ts_ns:
            self._expire(ts_ns)

        # ---- input sanity
        eq_ok = equity_usd > 0.0 and equity_usd < _INF
        mid_ok = mid > 0.0 and mid < _INF
        if not (eq_ok and mid_ok):
            if "invalid_input" not in self._conds:
                what = "equity" if not eq_ok else "mid"
                value = equity_usd if not eq_ok else mid
                self._add(ts_ns, "invalid_input", RiskState.PAUSED,
                          f"invalid {what} {value!r}; paused until a valid reading")
        elif "invalid_input" in self._conds:
            self._clear(ts_ns, "invalid_input", "valid equity and mid")

        # ---- equity rules
        if eq_ok:
            day = ts_ns // NS_PER_DAY
            if day != self._day:
                self._day = day
                self._day_start_equity = equity_usd
                if "daily_loss" in self._conds:
                    self._clear(ts_ns, "daily_loss", f"new UTC day {_iso(day * NS_PER_DAY)[:10]}, "
                                                     f"day baseline equity {equity_usd:.2f}")
            self._last_equity = equity_usd
            peak = self._peak_equity
            if peak is None or equity_usd > peak:
                self._peak_equity = peak = equity_usd
            loss = self._day_start_equity - equity_usd
            if loss >= self.daily_loss_limit_usd and "daily_loss" not in self._conds:
                until = (day + 1) * NS_PER_DAY
                self._add(ts_ns, "daily_loss", RiskState.PAUSED,
                          f"daily loss {_pct(loss / self.capital_usd)} >= {_pct(self.config.max_daily_loss_frac)} "
                          f"of capital {self.capital_usd:.2f}; paused until {_iso(until)}", until)
            dd = (peak - equity_usd) / peak
            if dd >= self._dd_frac:
                if "drawdown" not in self._conds:
                    if self._dd_resume_ns is None:
                        until = None
                        resume = "reset_halt"
                    else:
                        until = ts_ns + self._dd_resume_ns
                        resume = _iso(until)
                    self._add(ts_ns, "drawdown", RiskState.HALTED,
                              f"drawdown {_pct(dd)} from peak {peak:.2f} >= {_pct(self._dd_frac)}; halted until {resume}",
                              until, self.config.halt_flatten)
                if self._kill_dd is not None and dd >= self._kill_dd and "kill" not in self._conds:
                    flat = self.config.flatten_on_kill
                    self._add(ts_ns, "kill", RiskState.KILLED,
                              f"kill switch (auto): drawdown {_pct(dd)} from peak {peak:.2f} >= {_pct(self._kill_dd)}; "
                              f"cancel all{' and flatten' if flat else ''} until reset_kill", None, flat, "auto_drawdown")

        # ---- volatility
        if sigma is not None and sigma > 0.0 and sigma < _INF:
            n = self._vol_n
            if n == 0:
                self._vol_base = sigma
                self._vol_n = 1
                self._vol_last_sample_ns = ts_ns
            else:
                base = self._vol_base
                ratio = sigma / base
                if n >= self._vol_min_n:
                    self._vol_ratio = ratio
                dt = ts_ns - self._vol_last_sample_ns
                if dt >= self._vol_sample_ns:
                    # Clip the sample at the spike level so one outlier cannot drag the baseline up.
                    x = sigma if ratio < self._vol_spike else self._vol_spike * base
                    # Time-weighted EWMA; while warming up, at least the running-mean weight 1/(n+1)
                    # so the first reading (perhaps taken in a spike) does not dominate for an hour.
                    alpha = 1.0 - math.exp(-dt * self._vol_decay_per_ns)
                    warm = 1.0 / (n + 1)
                    if warm > alpha:
                        alpha = warm
                    self._vol_base = base + alpha * (x - base)
                    self._vol_n = n + 1
                    self._vol_last_sample_ns = ts_ns
        ratio = self._vol_ratio
        if ratio is not None:
            if ratio >= self._vol_spike:
                self._vol_last_spike_ns = ts_ns
                if "vol_spike" not in self._conds:
                    self._add(ts_ns, "vol_spike", RiskState.PAUSED,
                              f"vol spike: sigma {ratio:.2f}x baseline >= {self._vol_spike:g}x; paused until "
                              f"{self.config.vol_spike_cooldown_s:g}s after the last spike and sigma < "
                              f"{self._vol_resume:g}x baseline", ts_ns + self._cooldown_ns)
                self._spread_mult = self.config.vol_max_spread_multiplier
                self._size_mult = self.config.vol_min_size_multiplier
            else:
                if ("vol_spike" in self._conds and ratio < self._vol_resume
                        and ts_ns - self._vol_last_spike_ns >= self._cooldown_ns):
                    self._clear(ts_ns, "vol_spike", f"cooldown elapsed and sigma {ratio:.2f}x baseline")
                if ratio > self._vol_widen:
                    w = (ratio - self._vol_widen) / self._vol_widen_span
                    self._spread_mult = 1.0 + self._vol_spread_gain * w
                    self._size_mult = 1.0 - self._vol_size_loss * w
                else:
                    self._spread_mult = 1.0
                    self._size_mult = 1.0

        # ---- mid jump
        if mid_ok and self._jump_frac is not None:
            ref = self._ref_mid
            if ref is None:
                self._ref_mid = mid
                self._ref_mid_ns = ts_ns
            else:
                move = mid / ref - 1.0
                if move >= self._jump_frac or -move >= self._jump_frac:
                    until = ts_ns + self._jump_pause_ns
                    age_s = (ts_ns - self._ref_mid_ns) / NS_PER_S
                    self._ref_mid = mid
                    self._ref_mid_ns = ts_ns
                    self._add(ts_ns, "mid_jump", RiskState.PAUSED,
                              f"mid jump {move * 100:+.2f}% from {ref:g} ({age_s:.0f}s ago) to {mid:g} "
                              f">= {_pct(self._jump_frac)}; paused until {_iso(until)}", until)
                elif ts_ns - self._ref_mid_ns >= self._jump_window_ns:
                    self._ref_mid = mid
                    self._ref_mid_ns = ts_ns

        # ---- book freshness
        if last_book_ts_ns is not None and (self._last_book_ns is None or last_book_ts_ns > self._last_book_ns):
            self._last_book_ns = last_book_ts_ns
        if self._stale_ns is not None and self._last_book_ns is not None:
            age = ts_ns - self._last_book_ns
            if age >= self._stale_ns:
                if "stale_book" not in self._conds:
                    self._add(ts_ns, "stale_book", RiskState.PAUSED,
                              f"stale book: no update for {age / NS_PER_S:.1f}s >= {self.config.stale_book_s:g}s; "
                              "paused until a fresh book update")
            elif "stale_book" in self._conds:
                self._clear(ts_ns, "stale_book", f"book update {age / NS_PER_S:.1f}s old")

        # ---- position (one-side stop / max position)
        if worst_case_long_usd is not None:
            self._wc_long_usd = worst_case_long_usd
        if worst_case_short_usd is not None:
            self._wc_short_usd = worst_case_short_usd
        wl = self._wc_long_usd
        ws = self._wc_short_usd
        bid_blocked = wl is not None and not self._position_allows(1, wl, 0.0)
        ask_blocked = ws is not None and not self._position_allows(-1, ws, 0.0)
        if bid_blocked is not self._bid_blocked or ask_blocked is not self._ask_blocked:
            self._side_change(ts_ns, bid_blocked, ask_blocked)

        # ---- decision
        state = self._state
        prev = self._decision
        if state in _STOPPED:
            bid = ask = False
            cancel_all = True
            flatten = self._flatten
        else:
            bid = not self._bid_blocked
            ask = not self._ask_blocked
            cancel_all = False
            flatten = False
        spread = self._spread_mult
        size = self._size_mult
        if (state is prev.state and bid is prev.can_quote_bid and ask is prev.can_quote_ask
                and cancel_all is prev.cancel_all and flatten is prev.flatten
                and spread == prev.spread_multiplier and size == prev.size_multiplier
                and self._reasons is prev.reasons):
            return prev
        self._decision = d = RiskDecision(bid, ask, cancel_all, flatten, spread, size, self._reasons, state)
        return d

    def _side_change(self, ts_ns: int, bid_blocked: bool, ask_blocked: bool) -> None:
        lim = self.max_position_usd
        stop = _pct(self._stop_ratio)
        msgs: list[str] = []
        reasons: list[str] = []
        if bid_blocked:
            r = f"bids off: worst-case long {_pct(self._wc_long_usd / lim)} of max position {lim:.2f} >= {stop} one-side stop"
            reasons.append(r)
            if not self._bid_blocked:
                msgs.append(r)
        elif self._bid_blocked:
            msgs.append(f"bids back on: worst-case long {_pct(self._wc_long_usd / lim)} of max position < {stop}")
        if ask_blocked:
            r = f"asks off: worst-case short {_pct(-self._wc_short_usd / lim)} of max position {lim:.2f} >= {stop} one-side stop"
            reasons.append(r)
            if not self._ask_blocked:
                msgs.append(r)
        elif self._ask_blocked:
            msgs.append(f"asks back on: worst-case short {_pct(-self._wc_short_usd / lim)} of max position < {stop}")
        self._bid_blocked = bid_blocked
        self._ask_blocked = ask_blocked
        self._side_reasons = tuple(reasons)
        self._recompute(ts_ns, "; ".join(msgs), True)
