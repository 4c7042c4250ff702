"""Import a raw Binance USD-M WebSocket capture (incremental depth + trades) into a catalog.

Capture format (``usdm_{symbol}_{date}.gz``), one message per line: ``<local_ns> <json>``:

* a REST depth snapshot ``{"lastUpdateId", "E", "T", "bids", "asks"}`` (1000 levels a side);
* ``{"stream": "<sym>@depth@0ms", "data": {"e": "depthUpdate", "E", "T", "s", "U", "u", "pu",
  "b": [[price, qty], ...], "a": [...]}}``: truly incremental updates, qty 0 = level removed;
* ``@trade`` (``"m": true`` = the buyer was the maker, so the aggressor was the SELLER);
* ``@bookTicker`` (derived from the book; not imported).

Book building follows Binance's USD-M rules. Depth updates that arrive before the snapshot are
buffered; after the snapshot (``lastUpdateId`` = L) updates with ``u < L`` are dropped, the first
applied one must have ``U <= L <= u``, and from then on every update's ``pu`` must equal the
previous update's ``u``. Updates become ``OrderBookDelta`` rows (deletes first, ``F_LAST`` on the
last delta of each update, ``sequence = u``); the snapshot is CLEAR + ADDs flagged ``F_SNAPSHOT``.

Gaps: when ``pu`` does not match (a lost update), the book is unknown from that point. The gap is
recorded in the summary and a CLEAR (empty book, ``F_LAST``) is written at the gap so a backtest
cannot fill against a stale book. If a later REST snapshot exists in the capture, the book is
re-synchronised from it (CLEAR + snapshot, then the same first-update rule); otherwise depth and
trades after the gap are dropped and the summary says so. Trades are only kept while the book is
in sync (before the first snapshot there is no book to trade against).

``ts_event`` = Binance transaction time ``T`` (``E`` when absent); ``ts_init`` = the capture's
local receive time, made non-decreasing (buffered updates applied after the snapshot take the
snapshot's receive time). Note that the capture's local clock may lag Binance's by about a
second, so ``ts_event > ts_init`` is normal in these files.

Instrument: a ``CryptoPerpetual`` ``{SYMBOL}-PERP.BINANCE`` (e.g. ``BTCUSDT-PERP.BINANCE``,
quote and settlement USDT) whose price and size precision and increments are inferred from the
first snapshot (decimals of the price text; increment = greatest common divisor of the levels).
"""

from __future__ import annotations

import gzip
import math
import os
import time
import zlib
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from functools import reduce
from pathlib import Path

import msgspec
from nautilus_trader.model.currencies import USDC
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import Symbol
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.instruments import CryptoPerpetual
from nautilus_trader.model.objects import Money

from botmm_nautilus.data._common import DEFAULT_BATCH_SIZE
from botmm_nautilus.data._common import NANOS_PER_MILLI
from botmm_nautilus.data._common import CatalogBatcher
from botmm_nautilus.data._common import linear_perpetual
from botmm_nautilus.data._common import progress_bar
from botmm_nautilus.data._common import require_file
from botmm_nautilus.data.catalog_io import StagedCatalogWriter
from botmm_nautilus.data.summary import ImportSummary
from botmm_nautilus.engine.book_diff import F_LAST
from botmm_nautilus.engine.book_diff import F_SNAPSHOT
from botmm_nautilus.engine.book_diff import BookDeltaEncoder
from botmm_nautilus.engine.ticks import format_ticks
from botmm_nautilus.errors import DataImportError

BINANCE_VENUE = "BINANCE"
# Binance USD-M VIP 0 fees (maker 0.02 %, taker 0.05 %).
BINANCE_MAKER_FEE = Decimal("0.0002")
BINANCE_TAKER_FEE = Decimal("0.0005")
QUOTE_CURRENCIES = {"USDT": USDT, "USDC": USDC}
# Depth updates kept while waiting for a snapshot (before the first one, or after a gap).
MAX_BUFFERED_UPDATES = 100_000

_SYNCED = "synced"  # book valid, each update must continue the previous one (pu == last u)
_AWAITING_FIRST = "awaiting_first"  # snapshot applied, waiting for the update that spans it
_OUT_OF_SYNC = "out_of_sync"  # no book (before the first snapshot or after a gap)


def make_binance_perpetual(
    symbol: str,
    price_precision: int,
    price_increment: Decimal,
    size_precision: int,
    size_increment: Decimal,
    maker_fee: Decimal = BINANCE_MAKER_FEE,
    taker_fee: Decimal = BINANCE_TAKER_FEE,
    margin_init: Decimal = Decimal("0.05"),
    margin_maint: Decimal = Decimal("0.025"),
) -> CryptoPerpetual:
    """A Binance USD-M linear perpetual ``{SYMBOL}-PERP.BINANCE`` (quote = settlement = USDT/USDC)."""
    symbol = symbol.upper()
    quote_code = next((q for q in QUOTE_CURRENCIES if symbol.endswith(q) and len(symbol) > len(q)), None)
    if quote_code is None:
        raise ValueError(f"symbol {symbol!r} does not end in one of {sorted(QUOTE_CURRENCIES)}")
    quote = QUOTE_CURRENCIES[quote_code]
    return linear_perpetual(
        InstrumentId(Symbol(f"{symbol}-PERP"), Venue(BINANCE_VENUE)), Symbol(symbol), symbol[: -len(quote_code)], quote,
        price_precision, price_increment, size_precision, size_increment, Money(5, quote), maker_fee, taker_fee,
        margin_init, margin_maint,
    )


def _decimals(text) -> int:
    _, _, frac = str(text).partition(".")
    return len(frac)


def _text_to_units(text: str, decimals: int) -> int | None:
    """Exact decimal text -> integer units of 10**-decimals (None when not such a number)."""
    whole, _, frac = text.partition(".")
    extra = len(frac) - decimals
    if extra > 0:
        if frac[decimals:].strip("0"):
            return None
        frac = frac[:decimals]
        extra = 0
    if "_" in text or "e" in text or "E" in text:
        return None
    try:
        return int(whole + frac) * 10**-extra
    except ValueError:
        return None


def instrument_from_snapshot(symbol: str, snapshot: dict) -> CryptoPerpetual:
    """The instrument of a capture, with precisions and increments read from its REST snapshot."""
    levels = list(snapshot.get("bids", [])) + list(snapshot.get("asks", []))
    if not levels:
        raise ValueError("the depth snapshot has no levels")
    price_precision = max(_decimals(level[0]) for level in levels)
    size_precision = max(_decimals(level[1]) for level in levels)
    price_gcd = reduce(math.gcd, (_text_to_units(str(level[0]), price_precision) or 0 for level in levels))
    size_gcd = reduce(math.gcd, (_text_to_units(str(level[1]), size_precision) or 0 for level in levels))
    return make_binance_perpetual(
        symbol,
        price_precision,
        Decimal(price_gcd).scaleb(-price_precision),
        size_precision,
        Decimal(size_gcd or 1).scaleb(-size_precision),
    )


class _SideBook:
    """One side of the book, ticks -> lots, with a cached best price."""

    def __init__(self, is_bid: bool) -> None:
        self.levels: dict[int, int] = {}
        self.is_bid = is_bid
        self._best: int | None = None
        self._dirty = False

    def set(self, ticks: int, lots: int) -> None:
        self.levels[ticks] = lots
        if not self._dirty and (self._best is None or (ticks > self._best if self.is_bid else ticks < self._best)):
            self._best = ticks

    def remove(self, ticks: int) -> None:
        del self.levels[ticks]
        if ticks == self._best:
            self._dirty = True

    def best(self) -> int | None:
        if self._dirty:
            self._best = (max if self.is_bid else min)(self.levels) if self.levels else None
            self._dirty = False
        return self._best

    def reset(self) -> None:
        self.levels = {}
        self._best = None
        self._dirty = False


class _DiscardBatcher:
    """Stands in for the delta ``CatalogBatcher`` when the full book's deltas are not written."""

    written = 0
    first_ts_init = None
    last_ts_init = None

    def extend(self, objs: list) -> None:
        pass

    def flush(self) -> None:
        pass


class _BinanceBookImporter:
    """State machine over one capture: snapshot sync, incremental updates, gaps, trades.

    Hook for derived books (``data.derive``): ``before_message(local_ns)`` is called with each
    line's (clamped) receive time before the line is applied, so the book it can read then
    (``bids.levels``, ``asks.levels``, ``book_valid``, ``book_ts_event``) is the book after every
    earlier line. ``write_book=False`` writes the instrument and the trades but no book deltas.
    """

    def __init__(
        self,
        path: Path,
        writer,
        summary: ImportSummary,
        batch_size: int,
        *,
        write_book: bool = True,
        before_message: Callable[[int], None] | None = None,
    ) -> None:
        self.path = path
        self.writer = writer
        self.summary = summary
        self.write_book = write_book
        self.before_message = before_message
        self.book_ts_event = 0  # exchange time of the last book message applied
        self.delta_batcher = CatalogBatcher(writer, batch_size) if write_book else _DiscardBatcher()
        self.trade_batcher = CatalogBatcher(writer, batch_size)
        self.symbol: str | None = None
        self.instrument = None
        self.encoder: BookDeltaEncoder | None = None
        self.bids = _SideBook(is_bid=True)
        self.asks = _SideBook(is_bid=False)
        self.state = _OUT_OF_SYNC
        self.snapshot_update_id = 0
        self.last_update_id = 0
        self.buffered: deque = deque(maxlen=MAX_BUFFERED_UPDATES)
        self.ts_floor = 0
        self.snapshots = 0
        self.book_messages = 0
        self.gaps: list[str] = []
        self.trades_dropped = 0
        self.updates_unsynced = 0  # depth updates seen since the last gap, not (yet) applied
        self.non_market_trades = 0
        self.clamped = 0

    # ------------------------------------------------------------------------------ dispatch
    def handle(self, line_no: int, local_ns: int, msg: dict) -> None:
        if local_ns < self.ts_floor:
            local_ns = self.ts_floor
            self.clamped += 1
        self.ts_floor = local_ns
        if self.before_message is not None:
            self.before_message(local_ns)
        if "lastUpdateId" in msg:
            self._on_snapshot(line_no, local_ns, msg)
            return
        data = msg.get("data")
        if not isinstance(data, dict):
            raise DataImportError(self.path, "message has neither 'lastUpdateId' nor 'data'", row=line_no, row_label="line")
        event = data.get("e")
        if event == "depthUpdate":
            self._check_symbol(line_no, data)
            self._on_update(line_no, local_ns, data)
        elif event == "trade":
            self._check_symbol(line_no, data)
            self._on_trade(line_no, local_ns, data)

    def _check_symbol(self, line_no: int, data: dict) -> None:
        symbol = data.get("s")
        if self.symbol is None:
            self.symbol = symbol
        elif symbol != self.symbol:
            raise DataImportError(
                self.path, f"symbol {symbol!r} in a capture of {self.symbol!r} (one symbol per file)", row=line_no,
                row_label="line", field="s",
            )

    # ------------------------------------------------------------------------------ snapshot
    def _on_snapshot(self, line_no: int, local_ns: int, snap: dict) -> None:
        if self.instrument is None:
            if self.symbol is None:
                raise DataImportError(
                    self.path, "depth snapshot before any message naming the symbol", row=line_no, row_label="line",
                )
            try:
                self.instrument = instrument_from_snapshot(self.symbol, snap)
            except (ValueError, TypeError, IndexError) as exc:
                raise DataImportError(self.path, f"unusable depth snapshot ({exc})", row=line_no, row_label="line") from exc
            self.encoder = BookDeltaEncoder(self.instrument)
            self.writer.write([self.instrument])
        enc = self.encoder
        ts_event = int(snap.get("T") or snap.get("E") or 0) * NANOS_PER_MILLI
        self.book_ts_event = ts_event
        update_id = int(snap["lastUpdateId"])
        self.bids.reset()
        self.asks.reset()
        levels = []
        for side, book, key in ((OrderSide.BUY, self.bids, "bids"), (OrderSide.SELL, self.asks, "asks")):
            for price, qty in snap.get(key, []):
                ticks, lots = self._units(line_no, price, qty)
                if lots > 0:
                    book.set(ticks, lots)
                    levels.append((side, ticks, lots))
        deltas = [enc.clear(F_SNAPSHOT | (0 if levels else F_LAST), update_id, ts_event, local_ns)]
        for i, (side, ticks, lots) in enumerate(levels):
            flags = F_SNAPSHOT | (F_LAST if i == len(levels) - 1 else 0)
            deltas.append(enc.delta(BookAction.ADD, side, ticks, lots, flags, update_id, ts_event, local_ns))
        self._check_crossed(line_no)
        self.delta_batcher.extend(deltas)
        self.snapshots += 1
        self.book_messages += 1
        self.snapshot_update_id = update_id
        self.state = _AWAITING_FIRST
        self.updates_unsynced = 0
        buffered, self.buffered = list(self.buffered), deque(maxlen=MAX_BUFFERED_UPDATES)
        for buf_line, _, data in buffered:  # updates received before the snapshot, applied now
            self._on_update(buf_line, local_ns, data)

    # ------------------------------------------------------------------------------- updates
    def _on_update(self, line_no: int, local_ns: int, data: dict) -> None:
        try:
            first_id, final_id, prev_final_id = int(data["U"]), int(data["u"]), int(data["pu"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DataImportError(self.path, "depthUpdate lacks U/u/pu", row=line_no, row_label="line") from exc
        if self.state == _OUT_OF_SYNC:
            self.buffered.append((line_no, local_ns, data))
            self.updates_unsynced += 1
            return
        if self.state == _AWAITING_FIRST:
            if final_id < self.snapshot_update_id:
                return  # already contained in the snapshot
            if first_id > self.snapshot_update_id:
                self._gap(line_no, local_ns, f"first update after snapshot {self.snapshot_update_id} starts at U={first_id}")
                self.buffered.append((line_no, local_ns, data))
                return
            self.state = _SYNCED
        elif prev_final_id != self.last_update_id:
            self._gap(line_no, local_ns, f"pu={prev_final_id} != previous u={self.last_update_id}")
            self.buffered.append((line_no, local_ns, data))
            return
        self.last_update_id = final_id
        self._apply(line_no, local_ns, data, final_id)

    def _apply(self, line_no: int, local_ns: int, data: dict, final_id: int) -> None:
        enc = self.encoder
        ts_event = int(data.get("T") or data.get("E") or 0) * NANOS_PER_MILLI
        deletes, upserts = [], []
        for side, book, key in ((OrderSide.BUY, self.bids, "b"), (OrderSide.SELL, self.asks, "a")):
            for price, qty in data.get(key, []):
                ticks, lots = self._units(line_no, price, qty)
                old = book.levels.get(ticks)
                if lots == 0:
                    if old is not None:
                        book.remove(ticks)
                        deletes.append((BookAction.DELETE, side, ticks, 0))
                elif old is None:
                    book.set(ticks, lots)
                    upserts.append((BookAction.ADD, side, ticks, lots))
                elif old != lots:
                    book.set(ticks, lots)
                    upserts.append((BookAction.UPDATE, side, ticks, lots))
        ops = deletes + upserts
        if not ops:
            return
        self._check_crossed(line_no)
        self.book_ts_event = ts_event
        self.book_messages += 1
        if not self.write_book:
            return
        last = len(ops) - 1
        self.delta_batcher.extend(
            [
                enc.delta(action, side, ticks, lots, F_LAST if i == last else 0, final_id, ts_event, local_ns)
                for i, (action, side, ticks, lots) in enumerate(ops)
            ],
        )

    @property
    def book_valid(self) -> bool:
        """True while the full book is known (a snapshot applied and no gap since)."""
        return self.instrument is not None and self.state != _OUT_OF_SYNC

    def _gap(self, line_no: int, local_ns: int, reason: str) -> None:
        self.gaps.append(f"line {line_no}: {reason}")
        self.state = _OUT_OF_SYNC
        self.bids.reset()
        self.asks.reset()
        self.delta_batcher.extend([self.encoder.clear(F_LAST, self.last_update_id, local_ns, local_ns)])
        self.book_messages += 1

    def _check_crossed(self, line_no: int) -> None:
        bid, ask = self.bids.best(), self.asks.best()
        if bid is not None and ask is not None and bid >= ask:
            raise DataImportError(
                self.path,
                f"crossed book after applying this message: best bid {format_ticks(bid, self.encoder.price_precision)} "
                f">= best ask {format_ticks(ask, self.encoder.price_precision)}",
                row=line_no,
                row_label="line",
            )

    def _units(self, line_no: int, price, qty) -> tuple[int, int]:
        enc = self.encoder
        ticks = _text_to_units(str(price), enc.price_precision)
        lots = _text_to_units(str(qty), enc.size_precision)
        if ticks is None or lots is None or ticks <= 0 or lots < 0:
            raise DataImportError(
                self.path,
                f"level [{price!r}, {qty!r}] is not a positive price with at most {enc.price_precision} decimals "
                f"and a size with at most {enc.size_precision} decimals",
                row=line_no,
                row_label="line",
            )
        return ticks, lots

    # -------------------------------------------------------------------------------- trades
    def _on_trade(self, line_no: int, local_ns: int, data: dict) -> None:
        if data.get("X", "MARKET") != "MARKET":
            self.non_market_trades += 1  # insurance-fund / ADL fills never touched the book
            return
        if self.state == _OUT_OF_SYNC:
            self.trades_dropped += 1
            return
        try:
            ticks, lots = self._units(line_no, data["p"], data["q"])
            trade_id = TradeId(str(data["t"]))
            ts_event = int(data.get("T") or data["E"]) * NANOS_PER_MILLI
            aggressor = AggressorSide.SELLER if data["m"] else AggressorSide.BUYER
        except KeyError as exc:
            raise DataImportError(self.path, f"trade lacks field {exc}", row=line_no, row_label="line") from exc
        enc = self.encoder
        self.trade_batcher.extend(
            [
                TradeTick.from_raw(
                    enc.instrument_id, ticks * enc.raw_per_tick, enc.price_precision, lots * enc.raw_per_lot,
                    enc.size_precision, aggressor, trade_id, ts_event, local_ns,
                ),
            ],
        )

    def finish(self) -> None:
        if self.instrument is None:
            raise DataImportError(
                self.path,
                "no REST depth snapshot ({\"lastUpdateId\": ...}) in the capture: the book cannot be built from "
                "incremental updates alone",
            )
        self.delta_batcher.flush()
        self.trade_batcher.flush()


def _iter_capture(path: Path):
    """Yield ``(line_number, local_ns, message)`` of a ``<local_ns> <json>`` capture (gzip or plain)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    line_no = 0
    decode = msgspec.json.decode
    try:
        with opener(path, "rb") as fh:
            for line_no, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                stamp, sep, payload = line.partition(b" ")
                try:
                    local_ns = int(stamp)
                    if not sep:
                        raise ValueError("no space after the timestamp")
                    msg = decode(payload)
                except (ValueError, msgspec.DecodeError) as exc:
                    raise DataImportError(
                        path, f"not '<local_ns> <json>' ({exc})", row=line_no, row_label="line",
                    ) from exc
                if not isinstance(msg, dict):
                    raise DataImportError(path, "the JSON is not an object", row=line_no, row_label="line")
                yield line_no, local_ns, msg
    except (EOFError, OSError, zlib.error) as exc:
        raise DataImportError(
            path,
            f"cannot read past line {line_no}: the file is truncated or corrupt ({type(exc).__name__}: {exc})",
            row=line_no + 1,
            row_label="line",
        ) from exc


def _run_capture(path: Path, book: _BinanceBookImporter, progress: bool) -> None:
    """Feed every line of the capture to ``book`` (with a progress bar), then ``book.finish()``."""
    bar = progress_bar(path.name, " lines", progress)
    try:
        for line_no, local_ns, msg in _iter_capture(path):
            book.handle(line_no, local_ns, msg)
            if line_no % 10_000 == 0:
                bar.update(10_000)
    finally:
        bar.close()
    book.finish()


def _capture_notes(book: _BinanceBookImporter) -> list[str]:
    """The summary notes of one capture: sequence gaps, dropped trades, clamped receive times."""
    notes = [f"sequence gap at {gap}; an empty book (CLEAR) was written there" for gap in book.gaps]
    if book.state == _OUT_OF_SYNC and book.gaps:
        notes.append(
            f"no snapshot after the last gap: {book.updates_unsynced} depth updates and the trades after it were dropped",
        )
    if book.trades_dropped:
        notes.append(f"{book.trades_dropped} trades dropped while no book was in sync (before the first snapshot or in a gap)")
    if book.non_market_trades:
        notes.append(f"{book.non_market_trades} non-MARKET trades (insurance fund / ADL) skipped")
    if book.clamped:
        notes.append(f"{book.clamped} lines had a local timestamp going backwards; ts_init clamped")
    return notes


def import_binance_raw(
    file: str | os.PathLike,
    catalog_path: str | os.PathLike,
    replace: bool = False,
    progress: bool = True,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> ImportSummary:
    """Import one Binance USD-M raw capture: book deltas (sequence-checked) and trades."""
    started = time.perf_counter()
    path = require_file(file)
    summary = ImportSummary(source=str(path), catalog_path=str(catalog_path))
    with StagedCatalogWriter(catalog_path, replace=replace) as writer:
        book = _BinanceBookImporter(path, writer, summary, batch_size)
        _run_capture(path, book, progress)
        report = writer.commit()
    counts = summary.counts(book.instrument.id)
    counts.snapshots = book.snapshots
    counts.deltas = book.delta_batcher.written
    counts.book_messages = book.book_messages
    counts.resyncs = book.snapshots - 1
    counts.trades = book.trade_batcher.written
    for batcher in (book.delta_batcher, book.trade_batcher):
        if batcher.written:
            counts.observe(batcher.first_ts_init, batcher.last_ts_init)
    summary.notes.extend(_capture_notes(book))
    summary.files_added = report.files_added
    summary.files_replaced = report.files_replaced
    summary.elapsed_s = time.perf_counter() - started
    return summary
