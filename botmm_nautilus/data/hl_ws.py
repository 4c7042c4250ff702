"""Import Hyperliquid WebSocket recordings (book snapshots + trades) into a Parquet catalog.

Recording layout (one folder, any date, any coins), e.g. ``ws_2025-09-04/``:

* ``orderbooks_{COIN}.csv.gz``: one full L2 snapshot per row: ``timestamp`` (local receive time,
  epoch seconds), ``sequence``, ``exchange_timestamp`` (epoch ms), then
  ``bid_price_i, bid_size_i, ask_price_i, ask_size_i`` for i = 0..N-1, best level first. Rows of
  a book with fewer than N levels leave the deeper cells empty.
* ``trades_{COIN}.csv.gz``: ``timestamp`` (local s), ``price``, ``size``, ``side``,
  ``trade_id``, ``exchange_timestamp`` (ms). ``side`` is the aggressor (the wire's trade side,
  ``botmm_nautilus.venue.messages``): ``buy``/``B`` = a buyer lifted the ask
  (``AggressorSide.BUYER``), ``sell``/``A`` = a seller hit the bid (``SELLER``).
* ``prices_{COIN}.csv.gz`` (best bid/ask) is derived from the book and is not imported.

What is written, per coin: the instrument (``make_perpetual(coin, szDecimals)``), the book as
incremental ``OrderBookDelta`` rows (``SnapshotDiffer``: first snapshot CLEAR + ADDs, then
ADD/UPDATE/DELETE; a fresh CLEAR + snapshot after a recording gap longer than
``gap_threshold_s``) and ``TradeTick`` rows.

Timestamps: ``ts_event`` = exchange time; ``ts_init`` by ``data.replay_order``: by default
exchange time + a feed delay (``order_by="exchange"``; the delay is ``feed_delay_ms`` or else the
median book receive delay of the coin's book file), so a backtest replays books and trades in the
venue's order; ``order_by="receive"`` keeps the recorder's receive times (trades reach the recorder
later than books: ordered so, 9.3% of BTC and 5.9% of ETH trades of 2025-09-04 replay after a book
that already reflects them). ``ts_init`` is made non-decreasing per stream (clamped; the count is
reported). The summary gives the number of trades replayed after a book with a later exchange time
(and, in exchange order, what receive order would have given).

Trades kept: on subscribe the venue first sends a "recent trades" snapshot whose trades happened
before the recording started (their exchange time precedes the first book snapshot's). A
backtest has no book for them, so trades with exchange time before the first book snapshot's
exchange time are dropped. A reconnect re-sends recent trades; duplicates are dropped by
``trade_id`` (ids are remembered for ``TRADE_DEDUPE_HORIZON_NS`` of exchange time).

Streaming: the CSVs are read in chunks of ``CSV_CHUNK_ROWS`` rows and deltas/trades are written
in batches of ``batch_size``; memory stays flat for recordings of any length. The whole import is
all-or-nothing (``StagedCatalogWriter``). Prices and sizes are read as numbers (whole columns at
a time) and put on the instrument's grid with ``engine.ticks.to_ticks``, which refuses a value
that is not a whole number of ticks or lots.
"""

from __future__ import annotations

import os
import re
from array import array
from pathlib import Path

import numpy as np
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.objects import FIXED_PRECISION

from botmm_nautilus.adapters.hyperliquid import make_perpetual
from botmm_nautilus.data import replay_order
from botmm_nautilus.data._common import DEFAULT_BATCH_SIZE
from botmm_nautilus.data._common import NANOS_PER_SECOND
from botmm_nautilus.data._common import CatalogBatcher
from botmm_nautilus.data._common import clamp_monotonic
from botmm_nautilus.data._common import epoch_to_ns
from botmm_nautilus.data._common import first_bad
from botmm_nautilus.data._common import iter_csv_chunks
from botmm_nautilus.data._common import numeric_column
from botmm_nautilus.data._common import require_columns
from botmm_nautilus.data.hl_import import BookStream
from botmm_nautilus.data.hl_import import coin_sz_decimals
from botmm_nautilus.data.hl_import import import_session
from botmm_nautilus.data.hl_import import read_with_progress
from botmm_nautilus.data.summary import ImportSummary
from botmm_nautilus.engine.book_diff import DEFAULT_GAP_THRESHOLD_NS
from botmm_nautilus.engine.ticks import to_ticks
from botmm_nautilus.errors import DataImportError
from botmm_nautilus.venue.messages import SIDE_SPELLINGS

BOOK_FILE_RE = re.compile(r"^orderbooks_(?P<coin>[A-Za-z0-9]+)\.csv(\.gz)?$")
TRADES_FILE_RE = re.compile(r"^trades_(?P<coin>[A-Za-z0-9]+)\.csv(\.gz)?$")

# trade side text (lower-cased) -> aggressor: the side of a Hyperliquid trade is the taker's
_AGGRESSOR_BY_SIDE = {text: AggressorSide.BUYER if is_buy else AggressorSide.SELLER for text, is_buy in SIDE_SPELLINGS.items()}

# How long (exchange time) a trade id is remembered for de-duplication.
TRADE_DEDUPE_HORIZON_NS = 24 * 3600 * NANOS_PER_SECOND

TRADE_COLUMNS = ("timestamp", "price", "size", "side", "trade_id", "exchange_timestamp")


def discover_recordings(directory: str | os.PathLike) -> dict[str, dict[str, Path]]:
    """``{COIN: {"book": path, "trades": path}}`` for the recording files found in ``directory``."""
    folder = Path(directory)
    found: dict[str, dict[str, Path]] = {}
    for path in sorted(folder.iterdir()):
        for kind, pattern in (("book", BOOK_FILE_RE), ("trades", TRADES_FILE_RE)):
            m = pattern.match(path.name)
            if m and path.is_file():
                found.setdefault(m.group("coin").upper(), {})[kind] = path
    return found


def import_hyperliquid_ws(
    directory: str | os.PathLike,
    catalog_path: str | os.PathLike,
    coins=None,
    replace: bool = False,
    progress: bool = True,
    *,
    gap_threshold_s: float = DEFAULT_GAP_THRESHOLD_NS / NANOS_PER_SECOND,
    batch_size: int = DEFAULT_BATCH_SIZE,
    order_by: str = replay_order.DEFAULT_ORDER_BY,
    feed_delay_ms: float | None = None,
) -> ImportSummary:
    """Import every coin (or ``coins``) of a Hyperliquid WebSocket recording folder.

    Returns an ``ImportSummary``; raises ``DataImportError`` for bad input (nothing written) and
    ``CatalogConflictError`` when the catalog already holds overlapping data and ``replace`` is
    false.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise DataImportError(folder, f"recording folder not found: {folder}")
    replay_order.check_order_by(order_by)
    found = discover_recordings(folder)
    selected = _select_coins(folder, found, coins)
    gap_threshold_ns = int(gap_threshold_s * NANOS_PER_SECOND)
    with import_session(str(folder), catalog_path, replace) as (summary, writer):
        for coin in selected:
            files = found[coin]
            timing = _Timing(order_by, 0)
            if order_by == "exchange":
                timing.feed_delay_ns, how = replay_order.resolve_feed_delay_ns(feed_delay_ms, *_book_times(files["book"]))
                summary.notes.append(f"{coin}: replay order: exchange time + feed delay {timing.feed_delay_ns / 1e6:.3f} ms ({how})")
            else:
                summary.notes.append(f"{coin}: replay order: receive time (ts_init = the recorder's receive time)")
            instrument, first_book_exchange_ns = _import_book(
                coin, files["book"], writer, summary, progress, gap_threshold_ns, batch_size, timing,
            )
            if "trades" in files:
                _import_trades(
                    coin, instrument, files["trades"], writer, summary, progress, first_book_exchange_ns, batch_size, timing,
                )
                timing.report(summary, coin)
            else:
                summary.notes.append(f"{coin}: no trades file (trades_{coin}.csv.gz); book only")
    return summary


class _Timing:
    """One coin's replay order (``order_by``, feed delay) and what is needed to count the trades
    replayed after a book with a later exchange time, in this order and in receive order."""

    def __init__(self, order_by: str, feed_delay_ns: int) -> None:
        self.order_by = order_by
        self.feed_delay_ns = feed_delay_ns
        self.book = None  # (ts_init, ts_event, receive) arrays of the snapshots that changed the book
        self.trades: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def report(self, summary: ImportSummary, coin: str) -> None:
        if self.book is None or not self.trades:
            return
        b_init, b_event, b_recv = self.book
        t_init, t_event, t_recv = (np.concatenate(parts) for parts in zip(*self.trades))
        now = replay_order.trades_after_later_book(b_init, b_event, t_init, t_event)
        text = f"{coin}: trades replayed after a book with a later exchange time: {now} of {t_init.size}"
        if self.order_by != "receive":
            text += f" (ordered by receive time: {replay_order.trades_after_later_book(b_recv, b_event, t_recv, t_event)})"
        summary.notes.append(text)


def _book_times(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(receive ns, exchange ns)`` of every snapshot of a book file (two columns read)."""
    receive, exchange = [], []
    for first_row, frame in iter_csv_chunks(path, chunk_rows=200_000, dtype=None, usecols=["timestamp", "exchange_timestamp"]):
        receive.append(epoch_to_ns(numeric_column(frame, "timestamp", path, first_row)))
        exchange.append(epoch_to_ns(numeric_column(frame, "exchange_timestamp", path, first_row)))
    if not receive:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(receive), np.concatenate(exchange)


def _select_coins(folder: Path, found: dict, coins) -> list[str]:
    with_book = sorted(c for c, files in found.items() if "book" in files)
    if coins:
        wanted = [str(c).upper() for c in ([coins] if isinstance(coins, str) else coins)]
        missing = [c for c in wanted if c not in with_book]
        if missing:
            raise DataImportError(
                folder,
                f"no orderbooks_{{COIN}}.csv(.gz) file for {', '.join(missing)}; "
                f"coins with a book recording here: {', '.join(with_book) or 'none'}",
            )
        return list(dict.fromkeys(wanted))
    if not with_book:
        raise DataImportError(folder, "no Hyperliquid recording here (expected orderbooks_{COIN}.csv.gz files)")
    orphans = sorted(c for c, files in found.items() if "book" not in files)
    if orphans:
        raise DataImportError(
            folder,
            f"trades without a book recording for {', '.join(orphans)} (trades_{{COIN}}.csv.gz needs "
            "orderbooks_{COIN}.csv.gz: the first book snapshot marks where the recording starts); "
            "pass the coins to import explicitly",
        )
    return with_book


def _level_count(path: Path, columns) -> int:
    """Number of book levels N in the header (bid/ask price/size columns 0..N-1 all present)."""
    present = set(columns)
    n_levels = 0
    while f"bid_price_{n_levels}" in present or f"ask_price_{n_levels}" in present:
        n_levels += 1
    if n_levels == 0:
        require_columns(path, columns, ["bid_price_0", "bid_size_0", "ask_price_0", "ask_size_0"])
    required = ["timestamp", "exchange_timestamp"]
    for i in range(n_levels):
        required += [f"bid_price_{i}", f"bid_size_{i}", f"ask_price_{i}", f"ask_size_{i}"]
    require_columns(path, columns, required)
    return n_levels


def _book_sizes(first_chunk, n_levels: int, path: Path) -> list[float]:
    """The distinct book sizes of the first chunk (to infer szDecimals)."""
    sizes = []
    for i in range(n_levels):
        for side in ("bid", "ask"):
            sizes.append(numeric_column(first_chunk, f"{side}_size_{i}", path, 1, allow_missing=True))
    values = np.unique(np.concatenate(sizes))
    return values[np.isfinite(values)].tolist()


def _side_levels(frame, side: str, n_levels: int, path: Path, first_row: int, price_decimals: int, size_decimals: int, instrument_id):
    """``(price ticks, size lots, level counts)`` arrays of one side of a chunk, validated:
    numbers, pairs complete, missing levels only at the deep end, values on the tick/lot grid."""
    prices = np.column_stack([numeric_column(frame, f"{side}_price_{i}", path, first_row, allow_missing=True) for i in range(n_levels)])
    sizes = np.column_stack([numeric_column(frame, f"{side}_size_{i}", path, first_row, allow_missing=True) for i in range(n_levels)])
    present = ~np.isnan(prices)
    half = present != ~np.isnan(sizes)
    if half.any():
        r, i = np.argwhere(half)[0]
        raise DataImportError(
            path, f"level {i}: {side}_price_{i} and {side}_size_{i} must both be present or both empty", row=first_row + int(r),
        )
    counts = present.sum(axis=1)
    holes = present != (np.arange(n_levels)[None, :] < counts[:, None])
    if holes.any():
        r, i = np.argwhere(holes)[0]
        raise DataImportError(
            path, f"{side} level {i} is present after an empty shallower level (levels must be filled best-first)",
            row=first_row + int(r),
        )
    price_ticks, bad_price = to_ticks(np.where(present, prices, 0.0), price_decimals)
    size_lots, bad_size = to_ticks(np.where(present, sizes, 0.0), size_decimals)
    for name, bad, values, decimals, what in (
        ("price", bad_price, prices, price_decimals, "price"),
        ("size", bad_size, sizes, size_decimals, "size"),
    ):
        if bad.any():
            r, i = np.argwhere(bad)[0]
            raise DataImportError(
                path,
                f"column '{side}_{name}_{i}' value {float(values[r, i])!r} is not a multiple of 1e-{decimals} "
                f"(the {what} precision of {instrument_id}; wrong szDecimals?)",
                row=first_row + int(r),
                field=f"{side}_{name}_{i}",
            )
    return price_ticks, size_lots, counts


def _import_book(coin, path, writer, summary, progress, gap_threshold_ns, batch_size, timing: _Timing):
    """Diff and write the book of one coin; returns the instrument and the first snapshot's
    exchange time (ns)."""
    stream = None
    first_exchange_ns = None
    n_levels = 0
    message_receive = array("q")
    for first_row, frame in read_with_progress(iter_csv_chunks(path), f"{coin} book", " rows", progress,
                                               size=lambda chunk: len(chunk[1])):
        if stream is None:
            n_levels = _level_count(path, frame.columns)
            sz_decimals = coin_sz_decimals(coin, lambda f=frame, n=n_levels: _book_sizes(f, n, path), summary)
            instrument = make_perpetual(coin, sz_decimals)
            writer.write([instrument])
            stream = BookStream(writer, instrument, gap_threshold_ns, batch_size)
        enc = stream.differ.encoder
        instrument_id, pp, sp = enc.instrument_id, enc.price_precision, enc.size_precision
        receive = epoch_to_ns(numeric_column(frame, "timestamp", path, first_row))
        ts_event = epoch_to_ns(numeric_column(frame, "exchange_timestamp", path, first_row))
        ts_init = stream.clamp_array(replay_order.book_ts_init(ts_event, receive, timing.order_by, timing.feed_delay_ns))
        receive_list = receive.tolist()
        if first_exchange_ns is None and ts_event.size:
            first_exchange_ns = int(ts_event[0])
        bid_t, bid_l, bid_n = _side_levels(frame, "bid", n_levels, path, first_row, pp, sp, instrument_id)
        ask_t, ask_l, ask_n = _side_levels(frame, "ask", n_levels, path, first_row, pp, sp, instrument_id)
        bid_t, bid_l, ask_t, ask_l = bid_t.tolist(), bid_l.tolist(), ask_t.tolist(), ask_l.tolist()
        bid_n, ask_n = bid_n.tolist(), ask_n.tolist()
        ts_init_list, ts_event_list = ts_init.tolist(), ts_event.tolist()
        add = stream.add
        messages = stream.message_ts_init
        for r in range(len(frame)):
            kb, ka = bid_n[r], ask_n[r]
            bids = list(zip(bid_t[r][:kb], bid_l[r][:kb]))
            asks = list(zip(ask_t[r][:ka], ask_l[r][:ka]))
            before = len(messages)
            add(bids, asks, ts_event_list[r], ts_init_list[r], file=path, row=first_row + r)
            if len(messages) != before:
                message_receive.append(receive_list[r])
    if stream is None or stream.differ.snapshots == 0:
        raise DataImportError(path, "no book snapshots (the file has a header but no rows)", row=1)
    stream.finish(summary, coin, "book rows")
    timing.book = (
        np.frombuffer(stream.message_ts_init, dtype=np.int64),
        np.frombuffer(stream.message_ts_event, dtype=np.int64),
        np.frombuffer(message_receive, dtype=np.int64),
    )
    return stream.differ.instrument, first_exchange_ns


def _import_trades(coin, instrument, path, writer, summary, progress, first_book_exchange_ns: int, batch_size,
                   timing: _Timing) -> None:
    instrument_id = instrument.id
    pp, sp = instrument.price_precision, instrument.size_precision
    raw_per_tick = 10 ** (FIXED_PRECISION - pp)
    raw_per_lot = 10 ** (FIXED_PRECISION - sp)
    header_checked = False
    batcher = CatalogBatcher(writer, batch_size)
    ts_floor = None
    clamped_total = 0
    before_start = 0
    duplicates = 0
    seen: dict[str, int] = {}  # trade_id -> exchange time (ns)
    newest_exchange_ns = 0
    chunks = iter_csv_chunks(path, dtype={"trade_id": str, "side": str})
    for first_row, frame in read_with_progress(chunks, f"{coin} trades", " rows", progress, size=lambda chunk: len(chunk[1])):
        if not header_checked:
            require_columns(path, frame.columns, TRADE_COLUMNS)
            header_checked = True
        n = len(frame)
        receive = epoch_to_ns(numeric_column(frame, "timestamp", path, first_row))
        ts_event = epoch_to_ns(numeric_column(frame, "exchange_timestamp", path, first_row))
        ts_init, clamped = clamp_monotonic(
            replay_order.trade_ts_init(ts_event, receive, timing.order_by, timing.feed_delay_ns), ts_floor,
        )
        clamped_total += clamped
        ts_floor = int(ts_init[-1]) if n else ts_floor
        written = np.zeros(n, dtype=bool)
        prices = numeric_column(frame, "price", path, first_row)
        sizes = numeric_column(frame, "size", path, first_row)
        price_ticks, bad_price = to_ticks(prices, pp)
        size_lots, bad_size = to_ticks(sizes, sp)
        for column, bad, values, ticks, decimals in (
            ("price", bad_price, prices, price_ticks, pp),
            ("size", bad_size, sizes, size_lots, sp),
        ):
            pos = first_bad(bad | (ticks <= 0))
            if pos is not None:
                raise DataImportError(
                    path,
                    f"column '{column}' value {float(values[pos])!r} is not a positive multiple of 1e-{decimals} "
                    f"(the {column} precision of {instrument_id})",
                    row=first_row + pos,
                    field=column,
                )
        sides = frame["side"].tolist()
        trade_ids = frame["trade_id"].tolist()
        keep = (ts_event >= first_book_exchange_ns).tolist()
        ts_init_l, ts_event_l = ts_init.tolist(), ts_event.tolist()
        price_l, size_l = price_ticks.tolist(), size_lots.tolist()
        out = []
        for r in range(n):
            aggressor = _AGGRESSOR_BY_SIDE.get(str(sides[r]).strip().lower())
            if aggressor is None:
                raise DataImportError(
                    path, f"column 'side' is {sides[r]!r}; expected buy/sell (or B/A)", row=first_row + r, field="side",
                )
            trade_id = trade_ids[r]
            if not isinstance(trade_id, str) or not trade_id.strip():
                raise DataImportError(path, "column 'trade_id' is empty", row=first_row + r, field="trade_id")
            if not keep[r]:
                before_start += 1
                continue
            if trade_id in seen:
                duplicates += 1
                continue
            exchange_ns = ts_event_l[r]
            seen[trade_id] = exchange_ns
            written[r] = True
            newest_exchange_ns = max(newest_exchange_ns, exchange_ns)
            out.append(
                TradeTick.from_raw(
                    instrument_id,
                    price_l[r] * raw_per_tick,
                    pp,
                    size_l[r] * raw_per_lot,
                    sp,
                    aggressor,
                    TradeId(trade_id.strip()),
                    exchange_ns,
                    ts_init_l[r],
                ),
            )
        batcher.extend(out)
        timing.trades.append((ts_init[written], ts_event[written], receive[written]))
        if len(seen) > 1_000_000:
            horizon = newest_exchange_ns - TRADE_DEDUPE_HORIZON_NS
            seen = {k: v for k, v in seen.items() if v >= horizon}
    batcher.flush()
    counts = summary.counts(instrument_id)
    counts.trades += batcher.written
    if batcher.written:
        counts.observe(batcher.first_ts_init, batcher.last_ts_init)
    if before_start:
        summary.notes.append(
            f"{coin}: dropped {before_start} trades from before the first book snapshot "
            "(the venue's recent-trades snapshot sent on subscribe)",
        )
    if duplicates:
        summary.notes.append(f"{coin}: dropped {duplicates} duplicate trades (same trade_id, re-sent after a reconnect)")
    if clamped_total:
        summary.notes.append(f"{coin}: {clamped_total} trade rows had a ts_init going backwards (receive time, or exchange time + delay); clamped")
