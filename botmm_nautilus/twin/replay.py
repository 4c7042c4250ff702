"""Market data for the twin: event types, an in-memory scenario builder, a catalog loader and the
replay cursor.

Events carry their *data* time in unix ms; the :class:`ReplayCursor` maps data time to twin time
with an offset (``rebase_to_ms``: make the first event happen at that twin time; the CLI rebases
the catalog onto "now" so the market looks live to SDK clients, whose nonces are wall-clock).
When the data ends the cursor either stops (the market freezes) or loops: the whole series is
replayed again, shifted by its span, and the replayed books are cleared first.

Catalog data (Nautilus ``ParquetDataCatalog``, read by ``catalog_reader``): ``OrderBookDelta``
(ADD/UPDATE set a level, DELETE removes it, CLEAR empties the book), ``TradeTick``
(``aggressor_side`` BUYER -> ``"B"``, SELLER -> ``"A"``, NO_AGGRESSOR -> classified against the
book), ``FundingRateUpdate`` (rate per ``interval`` minutes) and 1-minute bars for candle history
before the replay starts. At equal timestamps book events come before trades, trades before funding
(stable order otherwise). A catalog's events are held as columns (:class:`EventTable`, about 30
bytes an event) and built as objects only when the replay reaches them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal
from typing import Callable
from typing import Iterable
from typing import Iterator
from typing import Union

import numpy as np

from botmm_nautilus.venue import rules as hl_rules

from .errors import CatalogDataError  # noqa: F401 - re-exported (callers catch it from here)

NANOS_PER_MS = 1_000_000


def _d(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass(frozen=True)
class BookSnapshot:
    """Replace a coin's replayed book with these levels."""

    ts_ms: int
    coin: str
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]


@dataclass(frozen=True)
class BookLevel:
    """One replayed level update (``sz`` 0 = delete); ``side`` ``"B"``/``"A"``; ``clear`` empties the book."""

    ts_ms: int
    coin: str
    side: str
    px: Decimal
    sz: Decimal
    clear: bool = False


@dataclass(frozen=True)
class MarketTrade:
    """A replayed print; ``side`` is the aggressor (``"B"`` buyer lifted the ask, ``"A"`` seller hit the bid) or None."""

    ts_ms: int
    coin: str
    side: str | None
    px: Decimal
    sz: Decimal


@dataclass(frozen=True)
class FundingRate:
    """Funding rate per ``interval_min`` minutes published at ``ts_ms`` (positive: longs pay)."""

    ts_ms: int
    coin: str
    rate: Decimal
    interval_min: int = 60

    @property
    def hourly_rate(self) -> Decimal:
        return self.rate * 60 / self.interval_min if self.interval_min else self.rate


MarketEvent = Union[BookSnapshot, BookLevel, MarketTrade, FundingRate]


def _kind_rank(event: MarketEvent) -> int:
    return 0 if isinstance(event, (BookSnapshot, BookLevel)) else 1 if isinstance(event, MarketTrade) else 2


@dataclass
class CoinSpec:
    """A perp of the twin's universe (its index in ``coins`` is the asset id)."""

    name: str
    sz_decimals: int
    max_leverage: int


class EventTable:
    """A time-sorted event series stored as columns; ``table[i]`` builds event ``i`` (a :data:`MarketEvent`).

    One row per event: ``ts_ms``, ``kind`` (:attr:`LEVEL`, :attr:`CLEAR`, :attr:`TRADE`,
    :attr:`FUNDING`), ``coin`` (index into ``coins``), ``side`` (0 ``"B"``, 1 ``"A"``, -1 none),
    ``px`` and ``sz`` as integers with ``px_dp`` / ``sz_dp`` decimals (price ``px * 10**-px_dp``).
    A FUNDING row's ``px`` is the index of its :class:`FundingRate` in ``fundings``. The rows must
    already be in replay order (:meth:`sort` puts them there).
    """

    LEVEL, CLEAR, TRADE, FUNDING = 0, 1, 2, 3
    SIDES = ("B", "A")

    def __init__(self, coins: list[str], ts_ms, kind, coin, side, px, sz, px_dp, sz_dp,
                 fundings: list[FundingRate]) -> None:
        self.coins = list(coins)
        self.ts_ms = np.asarray(ts_ms, dtype=np.int64)
        self.kind = np.asarray(kind, dtype=np.int8)
        self.coin = np.asarray(coin, dtype=np.int16)
        self.side = np.asarray(side, dtype=np.int8)
        self.px = np.asarray(px, dtype=np.int64)
        self.sz = np.asarray(sz, dtype=np.int64)
        self.px_dp = np.asarray(px_dp, dtype=np.int8)
        self.sz_dp = np.asarray(sz_dp, dtype=np.int8)
        self.fundings = list(fundings)

    def sort(self) -> "EventTable":
        """The rows in replay order: by time, then book < trade < funding, then their current order."""
        rank = np.where(self.kind <= self.CLEAR, 0, np.where(self.kind == self.TRADE, 1, 2))
        order = np.argsort(self.ts_ms * 4 + rank, kind="stable")  # one key: time, then rank; ties keep their order
        return EventTable(self.coins, self.ts_ms[order], self.kind[order], self.coin[order], self.side[order],
                          self.px[order], self.sz[order], self.px_dp[order], self.sz_dp[order], self.fundings)

    def __len__(self) -> int:
        return int(self.ts_ms.shape[0])

    def ts_at(self, i: int) -> int:
        """Data time of row ``i`` (without building the event)."""
        return int(self.ts_ms[i])

    def __getitem__(self, i: int) -> MarketEvent:
        kind = int(self.kind[i])
        if kind == self.FUNDING:
            return self.fundings[int(self.px[i])]
        ts = int(self.ts_ms[i])
        coin = self.coins[int(self.coin[i])]
        if kind == self.CLEAR:
            return BookLevel(ts, coin, "B", Decimal(0), Decimal(0), clear=True)
        px = Decimal(int(self.px[i])).scaleb(-int(self.px_dp[i]))
        raw_sz = int(self.sz[i])
        sz = Decimal(raw_sz).scaleb(-int(self.sz_dp[i])) if raw_sz else Decimal(0)
        side = int(self.side[i])
        if kind == self.LEVEL:
            return BookLevel(ts, coin, self.SIDES[side], px, sz)
        return MarketTrade(ts, coin, self.SIDES[side] if side >= 0 else None, px, sz)

    def __iter__(self) -> Iterator[MarketEvent]:
        return (self[i] for i in range(len(self)))

    def first_ms(self, kinds: tuple[int, ...]) -> int | None:
        """Data time of the first row of one of ``kinds``, or None."""
        hits = np.flatnonzero(np.isin(self.kind, kinds))
        return int(self.ts_ms[hits[0]]) if hits.size else None


@dataclass
class MarketData:
    """Everything the twin replays: the universe, the event series and optional candle history.

    ``events`` is a list (in-memory scenarios, any order) or an :class:`EventTable` (a catalog,
    already in replay order).
    """

    coins: list[CoinSpec]
    events: list[MarketEvent] | EventTable = field(default_factory=list)
    minute_bars: dict[str, list[tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal]]] = field(default_factory=dict)

    def sorted_events(self) -> list[MarketEvent] | EventTable:
        if isinstance(self.events, EventTable):
            return self.events
        return sorted(self.events, key=lambda e: (e.ts_ms, _kind_rank(e)))

    def funding_coins(self) -> set[str]:
        """Coins with a funding series in the data."""
        if isinstance(self.events, EventTable):
            return {f.coin for f in self.events.fundings}
        return {e.coin for e in self.events if isinstance(e, FundingRate)}


class Scenario:
    """In-memory market for tests: chain ``book``, ``level``, ``trade`` and ``funding`` calls.

    >>> s = Scenario(["BTC"], start_ms=T0)
    >>> s.book("BTC", 0, bids=[(100000, 1.5)], asks=[(100001, 2.0)]).trade("BTC", 1000, "A", 100000, 0.5)

    Times are offsets in ms from ``start_ms``; prices and sizes may be numbers or strings.
    """

    def __init__(self, coins: Iterable[str | CoinSpec], start_ms: int = 0) -> None:
        self.start_ms = int(start_ms)
        self.coins: list[CoinSpec] = []
        for c in coins:
            if isinstance(c, CoinSpec):
                self.coins.append(c)
            else:
                name = c.upper()
                self.coins.append(
                    CoinSpec(name, hl_rules.sz_decimals_for(name), hl_rules.KNOWN_MAX_LEVERAGE.get(name, 10))
                )
        self.events: list[MarketEvent] = []

    def book(self, coin: str, at_ms: int, bids, asks) -> "Scenario":
        self.events.append(
            BookSnapshot(
                self.start_ms + at_ms,
                coin.upper(),
                tuple((_d(p), _d(s)) for p, s in bids),
                tuple((_d(p), _d(s)) for p, s in asks),
            )
        )
        return self

    def level(self, coin: str, at_ms: int, side: str, px, sz) -> "Scenario":
        self.events.append(BookLevel(self.start_ms + at_ms, coin.upper(), side, _d(px), _d(sz)))
        return self

    def trade(self, coin: str, at_ms: int, side: str | None, px, sz) -> "Scenario":
        self.events.append(MarketTrade(self.start_ms + at_ms, coin.upper(), side, _d(px), _d(sz)))
        return self

    def funding(self, coin: str, at_ms: int, rate, interval_min: int = 60) -> "Scenario":
        self.events.append(FundingRate(self.start_ms + at_ms, coin.upper(), _d(rate), interval_min))
        return self

    def market_data(self) -> MarketData:
        return MarketData(list(self.coins), list(self.events))


# ------------------------------------------------------------------------------------ catalog


def load_catalog(
    catalog_path: str | os.PathLike,
    coins: Iterable[str],
    start_ns: int | None = None,
    end_ns: int | None = None,
    venue: str = "HL",
    progress: Callable[[str], None] | None = None,
) -> MarketData:
    """Deltas, trades, funding and 1-minute bars of ``coins`` (instrument ``{COIN}-USDC-PERP.{venue}``).

    The replay window is ``[start_ns, end_ns]`` in ``ts_init``; by default it starts at the first
    order book data of the coins (the first trade when there is none) and ends at the last book or
    trade data, so funding history that reaches years before or after the market data is not
    replayed. ``progress`` receives a line of text at each loading step. See ``catalog_reader``.
    """
    from .catalog_reader import read_catalog

    return read_catalog(catalog_path, coins, start_ns=start_ns, end_ns=end_ns, venue=venue, progress=progress)


# ------------------------------------------------------------------------------------ cursor


class ReplayCursor:
    """Walks a time-sorted event list in twin time (``data ts + offset_ms``); loops or stops at the end."""

    def __init__(self, events: list[MarketEvent] | EventTable, rebase_to_ms: int | None = None, loop: bool = False) -> None:
        if isinstance(events, EventTable):  # already in replay order; events are built when reached
            self.events: list[MarketEvent] | EventTable = events
            self._ts_at = events.ts_at
        else:
            self.events = sorted(events, key=lambda e: (e.ts_ms, _kind_rank(e)))
            self._ts_at = lambda i: self.events[i].ts_ms
        self.loop = loop
        self.index = 0
        self.loops_done = 0
        first = self.first_data_ms or 0
        last = self.last_data_ms or 0
        # one loop lasts the data's span (at least 1 s, so a tiny series cannot spin the replay)
        self.span_ms = max(last - first + 1, 1000)
        self.offset_ms = (rebase_to_ms - first) if rebase_to_ms is not None else 0
        self.pending_reset = False  # set when a loop restarts: the caller clears the replayed books

    @property
    def exhausted(self) -> bool:
        return not len(self.events) or (self.index >= len(self.events) and not self.loop)

    @property
    def first_data_ms(self) -> int | None:
        """Data time (unix ms) of the first event, or None without events."""
        return self._ts_at(0) if len(self.events) else None

    @property
    def last_data_ms(self) -> int | None:
        """Data time (unix ms) of the last event, or None without events."""
        return self._ts_at(len(self.events) - 1) if len(self.events) else None

    @property
    def first_twin_ms(self) -> int | None:
        return self._ts_at(0) + self.offset_ms if len(self.events) else None

    def peek_ms(self) -> int | None:
        """Twin time of the next event, or None when the data is exhausted."""
        if not len(self.events):
            return None
        if self.index >= len(self.events):
            if not self.loop:
                return None
            self.index = 0
            self.offset_ms += self.span_ms
            self.loops_done += 1
            self.pending_reset = True
        return self._ts_at(self.index) + self.offset_ms

    def pop(self) -> tuple[int, MarketEvent]:
        """Next ``(twin_ms, event)``; call :meth:`peek_ms` first."""
        ts = self.peek_ms()
        if ts is None:
            raise IndexError("replay exhausted")
        event = self.events[self.index]
        self.index += 1
        return ts, event

    @property
    def remaining(self) -> int:
        return len(self.events) - self.index
