"""Candles built from the twin's trade prints (pure).

One-minute buckets are the store; every Hyperliquid interval is aggregated from them on request:
``1m 3m 5m 15m 30m 1h 2h 4h 8h 12h 1d`` are epoch-aligned, ``3d`` is epoch-aligned in 3-day
blocks, ``1w`` starts on Monday 00:00 UTC and ``1M`` on the first of the calendar month (UTC).
Only prints the twin has seen are in a candle (no look-ahead: a candle is built while it is open).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from .wire import fmt_decimal

MINUTE_MS = 60_000
INTERVAL_MS: dict[str, int] = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "2h": 120 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "8h": 480 * MINUTE_MS,
    "12h": 720 * MINUTE_MS,
    "1d": 1440 * MINUTE_MS,
    "3d": 3 * 1440 * MINUTE_MS,
    "1w": 7 * 1440 * MINUTE_MS,
}
INTERVALS = (*INTERVAL_MS, "1M")
_MONDAY_OFFSET_MS = 4 * 1440 * MINUTE_MS  # 1970-01-01 was a Thursday; Monday 1970-01-05
MAX_CANDLES = 5000


@dataclass
class Candle:
    open_ms: int
    close_ms: int  # inclusive end: next open - 1
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    n_trades: int
    notional: Decimal = Decimal(0)  # sum of px * sz (for day notional volume)

    def merge(self, other: "Candle") -> None:
        self.high = max(self.high, other.high)
        self.low = min(self.low, other.low)
        self.close = other.close
        self.volume += other.volume
        self.n_trades += other.n_trades
        self.notional += other.notional

    def to_wire(self, coin: str, interval: str) -> dict:
        return {
            "t": self.open_ms,
            "T": self.close_ms,
            "s": coin,
            "i": interval,
            "o": fmt_decimal(self.open),
            "c": fmt_decimal(self.close),
            "h": fmt_decimal(self.high),
            "l": fmt_decimal(self.low),
            "v": fmt_decimal(self.volume),
            "n": self.n_trades,
        }


def bucket_bounds(ts_ms: int, interval: str) -> tuple[int, int]:
    """``(open_ms, close_ms)`` of the ``interval`` candle containing ``ts_ms``."""
    if interval == "1M":
        d = dt.datetime.fromtimestamp(ts_ms / 1000, tz=dt.timezone.utc)
        start = dt.datetime(d.year, d.month, 1, tzinfo=dt.timezone.utc)
        days = calendar.monthrange(d.year, d.month)[1]
        open_ms = int(start.timestamp() * 1000)
        return open_ms, open_ms + days * 1440 * MINUTE_MS - 1
    if interval not in INTERVAL_MS:
        raise ValueError(f"unknown candle interval {interval!r}; allowed: {', '.join(INTERVALS)}")
    width = INTERVAL_MS[interval]
    offset = _MONDAY_OFFSET_MS if interval == "1w" else 0
    open_ms = ((ts_ms - offset) // width) * width + offset
    return open_ms, open_ms + width - 1


class CandleStore:
    """One-minute candles of one coin, aggregated to any interval on request."""

    def __init__(self) -> None:
        self.minutes: dict[int, Candle] = {}

    def add_trade(self, ts_ms: int, px: Decimal, sz: Decimal) -> None:
        open_ms, close_ms = bucket_bounds(ts_ms, "1m")
        candle = self.minutes.get(open_ms)
        if candle is None:
            self.minutes[open_ms] = Candle(open_ms, close_ms, px, px, px, px, sz, 1, px * sz)
        else:
            candle.merge(Candle(open_ms, close_ms, px, px, px, px, sz, 1, px * sz))

    def add_minute_bar(self, open_ms: int, o: Decimal, h: Decimal, low: Decimal, c: Decimal, v: Decimal, n: int = 1) -> None:
        """Preload history (e.g. catalog 1-minute bars that end before the replay starts).

        ``open_ms`` is floored to the minute (a rebased replay shifts data time by any offset).
        """
        open_ms -= open_ms % MINUTE_MS
        self.minutes[open_ms] = Candle(open_ms, open_ms + MINUTE_MS - 1, o, h, low, c, v, n, v * (h + low + c) / 3)

    def _minutes_between(self, lo_ms: int, hi_ms: int) -> list[int]:
        """Sorted keys of the one-minute candles with ``lo_ms <= open <= hi_ms``."""
        span = (hi_ms - lo_ms) // MINUTE_MS + 1
        if span <= len(self.minutes):
            first = lo_ms - lo_ms % MINUTE_MS
            keys = (first + i * MINUTE_MS for i in range(span + 1))
            return [k for k in keys if k in self.minutes and lo_ms <= k <= hi_ms]
        return sorted(k for k in self.minutes if lo_ms <= k <= hi_ms)

    def candles(self, interval: str, start_ms: int, end_ms: int) -> list[Candle]:
        """Candles of ``interval`` whose open time lies in ``[start_ms, end_ms]``, oldest first (<= 5000)."""
        out: dict[int, Candle] = {}
        lo, _ = bucket_bounds(start_ms, interval)
        _, hi = bucket_bounds(end_ms, interval)
        for minute_ms in self._minutes_between(lo, hi):
            m = self.minutes[minute_ms]
            open_ms, close_ms = bucket_bounds(minute_ms, interval)
            if open_ms < start_ms or open_ms > end_ms:
                continue
            candle = out.get(open_ms)
            if candle is None:
                out[open_ms] = Candle(open_ms, close_ms, m.open, m.high, m.low, m.close, m.volume, m.n_trades, m.notional)
            else:
                candle.merge(m)
        return [out[k] for k in sorted(out)][-MAX_CANDLES:]

    def current(self, interval: str, now_ms: int) -> Candle | None:
        open_ms, _ = bucket_bounds(now_ms, interval)
        found = self.candles(interval, open_ms, now_ms)
        return found[-1] if found else None

    def last_close(self) -> Decimal | None:
        if not self.minutes:
            return None
        return self.minutes[max(self.minutes)].close

    def window_stats(self, start_ms: int, end_ms: int) -> tuple[Decimal, Decimal, Decimal | None]:
        """``(base volume, notional volume, first open)`` over the window."""
        base = Decimal(0)
        notional = Decimal(0)
        first_open = None
        for minute_ms in self._minutes_between(start_ms, end_ms):
            m = self.minutes[minute_ms]
            base += m.volume
            notional += m.notional
            if first_open is None:
                first_open = m.open
        return base, notional, first_open
