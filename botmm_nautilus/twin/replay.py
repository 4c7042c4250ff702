"""Market data for the twin: event types, an in-memory scenario builder, a catalog loader and the
replay cursor.

Events carry their *data* time in unix ms; the :class:`ReplayCursor` maps data time to twin time
with an offset (``rebase_to_ms``: make the first event happen at that twin time; the CLI rebases
the catalog onto "now" so the market looks live to SDK clients, whose nonces are wall-clock).
When the data ends the cursor either stops (the market freezes) or loops: the whole series is
replayed again, shifted by its span, and the replayed books are cleared first.

Catalog data (Nautilus ``ParquetDataCatalog``): ``OrderBookDelta`` (ADD/UPDATE set a level,
DELETE removes it, CLEAR empties the book), ``TradeTick`` (``aggressor_side`` BUYER -> ``"B"``,
SELLER -> ``"A"``, NO_AGGRESSOR -> classified against the book), ``FundingRateUpdate`` (rate per
``interval`` minutes) and 1-minute bars for candle history before the replay starts. At equal
timestamps book events come before trades (stable order otherwise).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal
from typing import Iterable
from typing import Union

from botmm_nautilus.venue import rules as hl_rules

from .errors import CatalogDataError

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


@dataclass
class MarketData:
    """Everything the twin replays: the universe, the event series and optional candle history."""

    coins: list[CoinSpec]
    events: list[MarketEvent] = field(default_factory=list)
    minute_bars: dict[str, list[tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal]]] = field(default_factory=dict)

    def sorted_events(self) -> list[MarketEvent]:
        return sorted(self.events, key=lambda e: (e.ts_ms, _kind_rank(e)))


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
) -> MarketData:
    """Read deltas, trades, funding and 1-minute bars of ``coins`` (instrument ``{COIN}-USDC-PERP.{venue}``)."""
    from nautilus_trader.model.enums import AggressorSide
    from nautilus_trader.model.enums import BookAction
    from nautilus_trader.model.enums import OrderSide
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    path = os.fspath(catalog_path)
    if not os.path.isdir(path):
        raise CatalogDataError(f"catalog folder not found: {path}")
    catalog = ParquetDataCatalog(path)
    coins = [c.upper() for c in coins]
    ids = [f"{c}-USDC-PERP.{venue}" for c in coins]
    kwargs = {}
    if start_ns is not None:
        kwargs["start"] = start_ns
    if end_ns is not None:
        kwargs["end"] = end_ns

    instruments = {}
    try:
        for inst in catalog.instruments(instrument_ids=ids):
            instruments[str(inst.id)] = inst
    except Exception:  # noqa: BLE001 - no instrument files
        pass

    specs: list[CoinSpec] = []
    for coin, iid in zip(coins, ids):
        inst = instruments.get(iid)
        if inst is not None:
            sz_dec = int(inst.size_precision)
            try:
                max_lev = int(round(1 / float(inst.margin_init))) if float(inst.margin_init) > 0 else 10
            except Exception:  # noqa: BLE001
                max_lev = hl_rules.KNOWN_MAX_LEVERAGE.get(coin, 10)
        else:
            sz_dec = hl_rules.KNOWN_SZ_DECIMALS.get(coin)
            if sz_dec is None:
                raise CatalogDataError(f"catalog {path} has no instrument {iid} and szDecimals of {coin} is unknown")
            max_lev = hl_rules.KNOWN_MAX_LEVERAGE.get(coin, 10)
        specs.append(CoinSpec(coin, sz_dec, max_lev))

    coin_of_id = dict(zip(ids, coins))
    events: list[MarketEvent] = []
    try:
        deltas = catalog.order_book_deltas(instrument_ids=ids, **kwargs)
    except Exception:  # noqa: BLE001 - no delta files
        deltas = []
    side_code = {OrderSide.BUY: "B", OrderSide.SELL: "A"}
    for delta in deltas:
        coin = coin_of_id.get(str(delta.instrument_id))
        if coin is None:
            continue
        ts = delta.ts_event // NANOS_PER_MS
        action = delta.action
        if action == BookAction.CLEAR:
            events.append(BookLevel(ts, coin, "B", Decimal(0), Decimal(0), clear=True))
            continue
        order = delta.order
        side = side_code.get(order.side)
        if side is None:
            continue
        px = Decimal(str(order.price))
        sz = Decimal(0) if action == BookAction.DELETE else Decimal(str(order.size))
        events.append(BookLevel(ts, coin, side, px, sz))

    try:
        trades = catalog.trade_ticks(instrument_ids=ids, **kwargs)
    except Exception:  # noqa: BLE001
        trades = []
    aggressor_code = {AggressorSide.BUYER: "B", AggressorSide.SELLER: "A"}
    for tick in trades:
        coin = coin_of_id.get(str(tick.instrument_id))
        if coin is None:
            continue
        events.append(
            MarketTrade(
                tick.ts_event // NANOS_PER_MS,
                coin,
                aggressor_code.get(tick.aggressor_side),
                Decimal(str(tick.price)),
                Decimal(str(tick.size)),
            )
        )

    try:
        from nautilus_trader.model.data import FundingRateUpdate

        fundings = catalog.query(FundingRateUpdate, identifiers=ids, **kwargs)
    except Exception:  # noqa: BLE001
        fundings = []
    for upd in fundings:
        coin = coin_of_id.get(str(upd.instrument_id))
        if coin is None:
            continue
        interval = int(getattr(upd, "interval", 60) or 60)
        events.append(FundingRate(upd.ts_event // NANOS_PER_MS, coin, Decimal(str(upd.rate)), interval))

    if not any(isinstance(e, (BookLevel, BookSnapshot, MarketTrade)) for e in events):
        raise CatalogDataError(
            f"catalog {path} holds no order book deltas or trades for {', '.join(ids)}"
            + (" in the requested time range" if kwargs else "")
        )

    data = MarketData(specs, events)
    first_ms = min(e.ts_ms for e in events)
    for coin, iid in zip(coins, ids):
        try:
            bars = catalog.bars(bar_types=[f"{iid}-1-MINUTE-LAST-EXTERNAL"])
        except Exception:  # noqa: BLE001
            bars = []
        rows = []
        for bar in bars:
            open_ms = bar.ts_event // NANOS_PER_MS - 60_000
            if open_ms + 60_000 <= first_ms:  # history strictly before the replay: no look-ahead
                rows.append(
                    (open_ms, Decimal(str(bar.open)), Decimal(str(bar.high)), Decimal(str(bar.low)),
                     Decimal(str(bar.close)), Decimal(str(bar.volume)))
                )
        if rows:
            data.minute_bars[coin] = rows
    return data


# ------------------------------------------------------------------------------------ cursor


class ReplayCursor:
    """Walks a time-sorted event list in twin time (``data ts + offset_ms``); loops or stops at the end."""

    def __init__(self, events: list[MarketEvent], rebase_to_ms: int | None = None, loop: bool = False) -> None:
        self.events = sorted(events, key=lambda e: (e.ts_ms, _kind_rank(e)))
        self.loop = loop
        self.index = 0
        self.loops_done = 0
        first = self.events[0].ts_ms if self.events else 0
        last = self.events[-1].ts_ms if self.events else 0
        # one loop lasts the data's span (at least 1 s, so a tiny series cannot spin the replay)
        self.span_ms = max(last - first + 1, 1000)
        self.offset_ms = (rebase_to_ms - first) if rebase_to_ms is not None else 0
        self.pending_reset = False  # set when a loop restarts: the caller clears the replayed books

    @property
    def exhausted(self) -> bool:
        return not self.events or (self.index >= len(self.events) and not self.loop)

    @property
    def first_twin_ms(self) -> int | None:
        return self.events[0].ts_ms + self.offset_ms if self.events else None

    def peek_ms(self) -> int | None:
        """Twin time of the next event, or None when the data is exhausted."""
        if not self.events:
            return None
        if self.index >= len(self.events):
            if not self.loop:
                return None
            self.index = 0
            self.offset_ms += self.span_ms
            self.loops_done += 1
            self.pending_reset = True
        return self.events[self.index].ts_ms + self.offset_ms

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
