"""Import a folder of L2 snapshot files (any venue or vendor) and the trades files beside them.

``botmm data import-l2-snapshots DIR --instrument ID --catalog CAT``. Files, chosen by name and
imported in name order (hourly names sort in time order); ``match`` (a glob on the file name)
selects some of them:

* book files ``orderbook*`` / ``order_book*`` (``.parquet``, ``.csv``, ``.csv.gz``): one full
  snapshot per row, either as list columns ``bid_prices``, ``bid_quantities``, ``ask_prices``,
  ``ask_quantities`` (best first; StandX) or as wide columns ``bid_price_i``, ``bid_size_i``,
  ``ask_price_i``, ``ask_size_i`` (i = 0..N-1; the Hyperliquid recorder's CSV);
* trades files ``trade*``: ``price``, a size (``quantity``, ``size`` or ``qty``), optional
  ``side`` (buy/sell, B/A: the aggressor), ``is_buyer_taker``, ``trade_id``.

Times: exchange time = ``exchange_timestamp`` when present, else ``timestamp``; receive time =
``received_at`` (or ``local_timestamp``), else ``timestamp`` when the exchange time came from
``exchange_timestamp``. Numbers (epoch s/ms/us/ns) and datetimes are accepted. ``ts_event`` = exchange
time; ``ts_init`` per ``data.replay_order`` (``order_by``, feed delay; default exchange order + the
median book receive delay).

Book: a snapshot with the same exchange time and levels as the one before is the same snapshot
written twice (StandX writes every snapshot twice) and is dropped. Snapshots go through ``engine.book_diff.SnapshotDiffer``
(only what changed; a gap longer than ``gap_threshold_s`` -> CLEAR + snapshot, logged in the
catalog's gap log for ``botmm data info``). A locked book (best bid = best ask: StandX publishes a
0.1 book of 0.01 prices in floor buckets, so a bucket can hold both the best bid and the best ask;
46% of its snapshots) is stored with the locked ask bucket merged into the bucket one tick up (the
asks of bucket P are above P; the bid side is exact); a crossed one (bid > ask) is skipped. Both
are counted in the summary.

Grid: the tick and lot are ``tick``/``lot`` when given, else inferred from the first book file (the
most decimals seen; increment = greatest common divisor, as ``data.binance`` does). Book values
off that grid are an error naming the file, row and column. Trade prices finer than the tick
(StandX prints at 0.01) are floored onto it (the book bucket they traded in) and counted; trade
sizes must be whole lots.

Aggressor: the recorded side when usable, else inferred from the book before each trade
(``data.aggressor``; counts per rule in the summary). Trades before the first book snapshot are
dropped (a backtest has no book for them). Trade ids: ``trade_id`` when present, else
``<exchange ns>-<n>`` (n-th print of that instant).

Instrument: a ``CryptoPerpetual`` with the given id (e.g. ``BTC-USD-PERP.STANDX``; base = the
symbol's first part), quoted and settled in ``quote_currency`` (default USDC: the backtest account
is USDC, and an instrument quoted in USD on a USDC-base margin account books no PnL in Nautilus
1.231), fees ``maker_fee_bps``/``taker_fee_bps`` (default: Hyperliquid's base tier, ``venue.rules``).
"""

from __future__ import annotations

import fnmatch
import json
import math
import os
import re
from array import array
from decimal import Decimal
from functools import reduce
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from nautilus_trader.model.currencies import USDC
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import CryptoPerpetual
from nautilus_trader.model.objects import Currency

from botmm_nautilus.data import replay_order
from botmm_nautilus.data._common import DEFAULT_BATCH_SIZE
from botmm_nautilus.data._common import NANOS_PER_SECOND
from botmm_nautilus.data._common import CatalogBatcher
from botmm_nautilus.data._common import clamp_monotonic
from botmm_nautilus.data._common import linear_perpetual
from botmm_nautilus.data._common import require_columns
from botmm_nautilus.data._common import time_column_to_ns
from botmm_nautilus.data.aggressor import NO_AGGRESSOR
from botmm_nautilus.data.aggressor import AggressorCounts
from botmm_nautilus.data.aggressor import infer_aggressor
from botmm_nautilus.data.aggressor import recorded_side_is_usable
from botmm_nautilus.data.hl_import import BookStream
from botmm_nautilus.data.hl_import import import_session
from botmm_nautilus.data.hl_import import read_with_progress
from botmm_nautilus.data.summary import ImportSummary
from botmm_nautilus.engine.book_diff import DEFAULT_GAP_THRESHOLD_NS
from botmm_nautilus.engine.ticks import format_ticks
from botmm_nautilus.engine.ticks import to_ticks
from botmm_nautilus.errors import ConfigError
from botmm_nautilus.errors import DataImportError
from botmm_nautilus.venue import rules as hl_rules
from botmm_nautilus.venue.messages import SIDE_SPELLINGS

BOOK_FILE_RE = re.compile(r"^order_?books?[-_.].*\.(parquet|csv|csv\.gz)$", re.IGNORECASE)
TRADES_FILE_RE = re.compile(r"^trades?[-_.].*\.(parquet|csv|csv\.gz)$", re.IGNORECASE)
LIST_COLUMNS = ("bid_prices", "bid_quantities", "ask_prices", "ask_quantities")
SIZE_COLUMNS = ("quantity", "size", "qty")
RECEIVE_COLUMNS = ("received_at", "local_timestamp")
# Book values read to infer the tick and lot (from the first book file).
GRID_SAMPLE_VALUES = 200_000
MAX_DECIMALS = 9
DEFAULT_QUOTE_CURRENCY = "USDC"

_AGGRESSOR_BY_TEXT = {text: 1 if is_buy else 2 for text, is_buy in SIDE_SPELLINGS.items()}  # AggressorSide codes


# ------------------------------------------------------------------------------------ files
def discover_snapshot_files(directory: str | os.PathLike, match: str | None = None) -> tuple[list[Path], list[Path]]:
    """``(book files, trades files)`` of ``directory`` in name order, only names matching the glob ``match``."""
    folder = Path(directory)
    if not folder.is_dir():
        raise DataImportError(folder, f"snapshot folder not found: {folder}")
    books, trades = [], []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or (match and not fnmatch.fnmatch(path.name, match)):
            continue
        if BOOK_FILE_RE.match(path.name):
            books.append(path)
        elif TRADES_FILE_RE.match(path.name):
            trades.append(path)
    if not books:
        raise DataImportError(
            folder, "no book snapshot files (orderbook*.parquet / .csv / .csv.gz)" + (f" matching {match!r}" if match else ""),
        )
    return books, trades


def _read_table(path: Path, columns: list[str] | None = None) -> pa.Table:
    """A Parquet or CSV file as an Arrow table (CSV list cells ``[1.0, 2.0]`` are parsed as lists)."""
    try:
        if path.name.lower().endswith(".parquet"):
            if columns is not None:
                present = set(pq.read_schema(path).names)
                columns = [c for c in columns if c in present]
            return pq.read_table(path, columns=columns)
        frame = pd.read_csv(path, usecols=(lambda c: c in columns) if columns is not None else None)
        for name in LIST_COLUMNS:
            if name in frame.columns and frame[name].dtype == object:
                frame[name] = [np.asarray(json.loads(v), dtype=np.float64) if isinstance(v, str) else v
                               for v in frame[name]]
        return pa.Table.from_pandas(frame, preserve_index=False)
    except DataImportError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad input file
        raise DataImportError(path, f"cannot read the file ({type(exc).__name__}: {exc})") from exc


def _column_names(path: Path) -> list[str]:
    """The column names of a Parquet or CSV file (its schema / header only)."""
    try:
        if path.name.lower().endswith(".parquet"):
            return list(pq.read_schema(path).names)
        return [str(c) for c in pd.read_csv(path, nrows=0).columns]
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad input file
        raise DataImportError(path, f"cannot read the file ({type(exc).__name__}: {exc})") from exc


def _time_columns(path: Path, names) -> tuple[str, str | None]:
    """``(exchange time column, receive time column or None)`` by the rule in the module docstring."""
    names = set(names)
    if "exchange_timestamp" in names:
        exchange = "exchange_timestamp"
        receive = next((c for c in RECEIVE_COLUMNS if c in names), "timestamp" if "timestamp" in names else None)
    elif "timestamp" in names:
        exchange = "timestamp"
        receive = next((c for c in RECEIVE_COLUMNS if c in names), None)
    else:
        require_columns(path, names, ["timestamp"])
        raise AssertionError("unreachable")
    return exchange, receive


def _times(table: pa.Table, path: Path, column: str) -> np.ndarray:
    return time_column_to_ns(table.column(column).to_pandas(), path, column)


# ------------------------------------------------------------------------------------ book levels
class _SideLevels:
    """One side of a file's snapshots: flat prices and sizes with row offsets (row r = [off[r], off[r+1]))."""

    __slots__ = ("offsets", "prices", "sizes", "price_names", "size_names", "wide_index")

    def __init__(self, prices, sizes, offsets, price_names, size_names, wide_index=None) -> None:
        self.prices = prices
        self.sizes = sizes
        self.offsets = offsets
        self.price_names = price_names
        self.size_names = size_names
        self.wide_index = wide_index  # level number of each flat value (wide layout)

    def column_of(self, flat: int, kind: str) -> str:
        names = self.price_names if kind == "price" else self.size_names
        if self.wide_index is None:
            return names
        return f"{names}{int(self.wide_index[flat])}"

    def row_of(self, flat: int) -> int:
        return int(np.searchsorted(self.offsets, flat, side="right")) - 1


def _list_side(table: pa.Table, path: Path, price_col: str, size_col: str) -> _SideLevels:
    def flat(name):
        col = table.column(name).combine_chunks()
        if not pa.types.is_list(col.type) and not pa.types.is_large_list(col.type):
            raise DataImportError(path, f"column '{name}' is not a list column ({col.type})", field=name)
        if col.null_count:
            pos = int(np.argmax(col.is_null().to_numpy(zero_copy_only=False)))
            raise DataImportError(path, f"column '{name}' is empty", row=pos + 1, field=name)
        offsets = col.offsets.to_numpy() - col.offsets[0].as_py()
        values = pc.cast(col.flatten(), pa.float64()).to_numpy(zero_copy_only=False)
        return values, offsets

    prices, p_off = flat(price_col)
    sizes, s_off = flat(size_col)
    if not np.array_equal(p_off, s_off):
        row = int(np.argmax(np.diff(p_off) != np.diff(s_off))) + 1
        raise DataImportError(path, f"'{price_col}' and '{size_col}' have different lengths", row=row, field=size_col)
    return _SideLevels(prices, sizes, p_off.astype(np.int64), price_col, size_col)


def _wide_side(table: pa.Table, path: Path, side: str, n_levels: int) -> _SideLevels:
    def column(name):
        return pc.cast(table.column(name), pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)

    prices = np.column_stack([column(f"{side}_price_{i}") for i in range(n_levels)])
    sizes = np.column_stack([column(f"{side}_size_{i}") for i in range(n_levels)])
    present = ~np.isnan(prices)
    half = present != ~np.isnan(sizes)
    if half.any():
        r, i = np.argwhere(half)[0]
        raise DataImportError(path, f"{side}_price_{i} and {side}_size_{i} must both be present or both empty", row=int(r) + 1)
    counts = present.sum(axis=1)
    holes = present != (np.arange(n_levels)[None, :] < counts[:, None])
    if holes.any():
        r, i = np.argwhere(holes)[0]
        raise DataImportError(path, f"{side} level {i} is present after an empty shallower level", row=int(r) + 1)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    level_index = np.broadcast_to(np.arange(n_levels), prices.shape)[present]
    return _SideLevels(prices[present], sizes[present], offsets, f"{side}_price_", f"{side}_size_", level_index)


def _book_sides(table: pa.Table, path: Path) -> tuple[_SideLevels, _SideLevels]:
    names = table.column_names
    if all(c in names for c in LIST_COLUMNS):
        return _list_side(table, path, "bid_prices", "bid_quantities"), _list_side(table, path, "ask_prices", "ask_quantities")
    n_levels = 0
    while f"bid_price_{n_levels}" in names or f"ask_price_{n_levels}" in names:
        n_levels += 1
    if n_levels == 0:
        raise DataImportError(
            path, "no book columns: expected list columns bid_prices, bid_quantities, ask_prices, ask_quantities or wide "
            "columns bid_price_0, bid_size_0, ask_price_0, ask_size_0, ...", location="header",
        )
    require_columns(path, names, [f"{s}_{k}_{i}" for i in range(n_levels) for s in ("bid", "ask") for k in ("price", "size")])
    return _wide_side(table, path, "bid", n_levels), _wide_side(table, path, "ask", n_levels)


# ------------------------------------------------------------------------------------ grid
def _decimals_of(values: np.ndarray) -> int:
    """The most decimals of any value's shortest representation (capped at ``MAX_DECIMALS``)."""
    best = 0
    for v in np.unique(values[np.isfinite(values)]):
        text = np.format_float_positional(float(v), trim="-")
        best = max(best, len(text.partition(".")[2]))
        if best >= MAX_DECIMALS:
            return MAX_DECIMALS
    return best


def infer_increment(values: np.ndarray) -> tuple[int, int]:
    """``(precision, increment in units of 10**-precision)`` of positive values: the most decimals
    seen and the greatest common divisor of the values in those units."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        raise ValueError("no positive values to infer a grid from")
    precision = _decimals_of(values)
    units, _ = to_ticks(values, precision)
    return precision, int(reduce(math.gcd, np.unique(units).tolist()))


def _given_increment(text, flag: str) -> tuple[int, int]:
    try:
        d = Decimal(str(text))
    except ArithmeticError:
        d = Decimal(-1)
    if not d.is_finite() or d <= 0:
        raise ConfigError(f"{flag} {text!r}: expected a positive decimal number, e.g. 0.1")
    d = d.normalize()
    precision = max(0, -d.as_tuple().exponent)
    if precision > MAX_DECIMALS:
        raise ConfigError(f"{flag} {text!r}: at most {MAX_DECIMALS} decimals")
    return precision, int(d.scaleb(precision))


def make_snapshot_perpetual(
    instrument_id: str,
    price_precision: int,
    price_increment_units: int,
    size_precision: int,
    size_increment_units: int,
    quote_currency: str = DEFAULT_QUOTE_CURRENCY,
    maker_fee_bps: float | None = None,
    taker_fee_bps: float | None = None,
) -> CryptoPerpetual:
    """The ``CryptoPerpetual`` of an imported recording (see the module docstring)."""
    try:
        iid = InstrumentId.from_str(instrument_id)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"--instrument {instrument_id!r}: expected SYMBOL.VENUE, e.g. BTC-USD-PERP.STANDX") from exc
    symbol = iid.symbol.value
    base_code = re.split(r"[-_/]", symbol)[0]
    if not base_code:
        raise ConfigError(f"--instrument {instrument_id!r}: the symbol must start with the base currency, e.g. BTC-USD-PERP")
    try:
        quote = USDC if quote_currency.upper() == "USDC" else Currency.from_str(quote_currency.upper())
    except Exception:  # noqa: BLE001 - unknown codes raise in some builds
        quote = None
    if quote is None:
        raise ConfigError(f"--quote-currency {quote_currency!r}: not a currency Nautilus knows (e.g. USDC, USD, USDT)")
    maker = Decimal(str(hl_rules.BASE_MAKER_FEE if maker_fee_bps is None else maker_fee_bps / 10_000))
    taker = Decimal(str(hl_rules.BASE_TAKER_FEE if taker_fee_bps is None else taker_fee_bps / 10_000))
    tick = Decimal(price_increment_units).scaleb(-price_precision)
    lot = Decimal(size_increment_units).scaleb(-size_precision)
    return linear_perpetual(iid, iid.symbol, base_code, quote, price_precision, tick, size_precision, lot, None, maker, taker)


def _on_grid(values: np.ndarray, precision: int, increment: int, levels: _SideLevels | None, path: Path, kind: str,
             what: str, hint: str, trade_field: str | None = None) -> np.ndarray:
    """``values`` as integer units of ``10**-precision``; an error naming the first value off the grid."""
    units, bad = to_ticks(values, precision)
    bad |= (units <= 0) | (units % increment != 0)
    if bad.any():
        pos = int(np.argmax(bad))
        row = levels.row_of(pos) + 1 if levels is not None else pos + 1
        field = levels.column_of(pos, kind) if levels is not None else trade_field
        raise DataImportError(
            path,
            f"column '{field}' value {float(values[pos])!r} is not a positive multiple of {format_ticks(increment, precision)} "
            f"({what}; {hint})",
            row=row, field=field,
        )
    return units


# ------------------------------------------------------------------------------------ import
class _Importer:
    def __init__(self, instrument_id, tick, lot, quote_currency, maker_fee_bps, taker_fee_bps, order_by,
                 feed_delay_ms, gap_threshold_ns, writer, summary, progress, batch_size) -> None:
        self.instrument_id = instrument_id
        self.tick, self.lot = tick, lot
        self.quote_currency = quote_currency
        self.fees = (maker_fee_bps, taker_fee_bps)
        self.order_by = order_by
        self.feed_delay_ms = feed_delay_ms
        self.gap_threshold_ns = gap_threshold_ns
        self.writer = writer
        self.summary = summary
        self.progress = progress
        self.batch_size = batch_size
        self.instrument = None
        self.stream: BookStream | None = None
        self.feed_delay_ns = 0
        # the recorded book (before the locked-book fix) per kept snapshot, for aggressor inference
        self.book_ns = array("q")
        self.book_bid = array("q")
        self.book_ask = array("q")
        self.message_receive_ns = array("q")
        self._last_snapshot: tuple = (None, None)  # (exchange ns, (bids, asks)) of the last snapshot read
        self.duplicates = 0
        self.locked = 0
        self.crossed = 0
        self.no_receive_time = False

    # ---------------------------------------------------------------------------- pass 0
    def choose_feed_delay(self, book_files: list[Path]) -> None:
        notes = self.summary.notes
        receive_parts, exchange_parts = [], []
        for path in book_files:
            exchange_col, receive_col = _time_columns(path, _column_names(path))
            if receive_col is None:
                self.no_receive_time = True
                break
            if self.order_by == "receive" or self.feed_delay_ms is not None:
                continue
            table = _read_table(path, columns=[exchange_col, receive_col])
            exchange_parts.append(_times(table, path, exchange_col))
            receive_parts.append(_times(table, path, receive_col))
        if self.no_receive_time:
            if self.order_by == "receive":
                raise DataImportError(book_files[0], "order by receive time needs a receive-time column (received_at or local_timestamp)")
            self.feed_delay_ns = int(round((self.feed_delay_ms or 0.0) * 1e6))
            notes.append(f"no receive times in the recording: ts_init = exchange time + {self.feed_delay_ns / 1e6:g} ms")
            return
        if self.order_by == "receive":
            notes.append("replay order: receive time (ts_init = the recorder's receive time)")
            return
        receive = np.concatenate(receive_parts) if receive_parts else np.empty(0, np.int64)
        exchange = np.concatenate(exchange_parts) if exchange_parts else np.empty(0, np.int64)
        self.feed_delay_ns, how = replay_order.resolve_feed_delay_ns(self.feed_delay_ms, receive, exchange)
        notes.append(f"replay order: exchange time + feed delay {self.feed_delay_ns / 1e6:.3f} ms ({how})")

    # ---------------------------------------------------------------------------- books
    def _grid(self, path: Path, bids: _SideLevels, asks: _SideLevels) -> None:
        sample = lambda attr: np.concatenate([getattr(bids, attr)[:GRID_SAMPLE_VALUES], getattr(asks, attr)[:GRID_SAMPLE_VALUES]])  # noqa: E731
        try:
            pp, pinc = _given_increment(self.tick, "--tick") if self.tick is not None else infer_increment(sample("prices"))
            sp, sinc = _given_increment(self.lot, "--lot") if self.lot is not None else infer_increment(sample("sizes"))
        except ValueError as exc:
            raise DataImportError(path, f"cannot infer the tick and lot ({exc}); pass --tick and --lot") from exc
        self.instrument = make_snapshot_perpetual(self.instrument_id, pp, pinc, sp, sinc, self.quote_currency, *self.fees)
        self.price_increment, self.size_increment = pinc, sinc
        how = lambda given: "given" if given is not None else "inferred from the book"  # noqa: E731
        self.summary.notes.append(
            f"{self.instrument.id}: tick {self.instrument.price_increment} ({how(self.tick)}), lot "
            f"{self.instrument.size_increment} ({how(self.lot)}), quoted and settled in {self.instrument.quote_currency}",
        )
        self.writer.write([self.instrument])
        self.stream = BookStream(self.writer, self.instrument, self.gap_threshold_ns, self.batch_size)

    def import_book_file(self, path: Path) -> None:
        table = _read_table(path)
        if table.num_rows == 0:
            self.summary.notes.append(f"{path.name}: no rows")
            return
        exchange_col, receive_col = _time_columns(path, table.column_names)
        exchange_ns = _times(table, path, exchange_col)
        receive_ns = _times(table, path, receive_col) if receive_col is not None else exchange_ns
        bids, asks = _book_sides(table, path)
        if self.instrument is None:
            self._grid(path, bids, asks)
        pp, sp = self.instrument.price_precision, self.instrument.size_precision
        hint = "the instrument's grid; pass --tick/--lot"
        bid_t = _on_grid(bids.prices, pp, self.price_increment, bids, path, "price", "price", hint).tolist()
        bid_l = _on_grid(bids.sizes, sp, self.size_increment, bids, path, "size", "size", hint).tolist()
        ask_t = _on_grid(asks.prices, pp, self.price_increment, asks, path, "price", "price", hint).tolist()
        ask_l = _on_grid(asks.sizes, sp, self.size_increment, asks, path, "size", "size", hint).tolist()
        stream = self.stream
        ts_init = stream.clamp_array(replay_order.book_ts_init(exchange_ns, receive_ns, self.order_by, self.feed_delay_ns))
        ts_init_l, exchange_l, receive_l = ts_init.tolist(), exchange_ns.tolist(), receive_ns.tolist()
        b_off, a_off = bids.offsets.tolist(), asks.offsets.tolist()
        inc = self.price_increment
        last_ns, last_levels = self._last_snapshot
        book_ns, book_bid, book_ask, msg_recv = self.book_ns, self.book_bid, self.book_ask, self.message_receive_ns
        messages = stream.message_ts_init
        for r in range(table.num_rows):
            ts_event = exchange_l[r]
            b = list(zip(bid_t[b_off[r]:b_off[r + 1]], bid_l[b_off[r]:b_off[r + 1]]))
            a = list(zip(ask_t[a_off[r]:a_off[r + 1]], ask_l[a_off[r]:a_off[r + 1]]))
            if ts_event == last_ns and (b, a) == last_levels:
                self.duplicates += 1
                continue
            last_ns, last_levels = ts_event, (b, a)
            if b and a and b[0][0] >= a[0][0]:
                if b[0][0] > a[0][0]:
                    self.crossed += 1
                    continue
                self.locked += 1
                book_ns.append(ts_event)
                book_bid.append(b[0][0] // inc)
                book_ask.append(a[0][0] // inc)
                a = _merge_locked_ask(a, inc)
            else:
                book_ns.append(ts_event)
                book_bid.append(b[0][0] // inc if b else -(1 << 62))
                book_ask.append(a[0][0] // inc if a else 1 << 62)
            before = len(messages)
            stream.add(b, a, ts_event, ts_init_l[r], file=path, row=r + 1)
            if len(messages) != before:
                msg_recv.append(receive_l[r])
        self._last_snapshot = (last_ns, last_levels)

    # ---------------------------------------------------------------------------- trades
    def recorded_sides(self, trade_files: list[Path]) -> bool:
        """Is the recorded side usable for the whole import? (notes say why)."""
        codes = []
        source = None
        for path in trade_files:
            table = _read_table(path, columns=["side", "is_buyer_taker"])
            code, source = _recorded_aggressor(table, path)
            if code is None:
                self.summary.notes.append("trades have no side column (side / is_buyer_taker): aggressor inferred")
                return False
            codes.append(code)
        usable, why = recorded_side_is_usable(np.concatenate(codes) if codes else np.empty(0))
        if not usable:
            self.summary.notes.append(f"trades column '{source}': {why}; aggressor inferred from the book before each trade")
        return usable

    def import_trades(self, trade_files: list[Path], use_recorded: bool) -> None:
        inst = self.instrument
        enc = self.stream.differ.encoder
        pp, sp = inst.price_precision, inst.size_precision
        batcher = CatalogBatcher(self.writer, self.batch_size)
        counts = AggressorCounts()
        book_ns = np.frombuffer(self.book_ns, dtype=np.int64)
        book_bid = np.frombuffer(self.book_bid, dtype=np.int64)
        book_ask = np.frombuffer(self.book_ask, dtype=np.int64)
        first_book_ns = int(book_ns[0])
        prev_price, prev_dir = None, 0
        floor_ts = None
        clamped = before_start = floored = 0
        last_ns, same_ns = None, 0
        all_init, all_event, all_recv = [], [], []
        for path in read_with_progress(trade_files, "trades", " files", self.progress):
            table = _read_table(path)
            n = table.num_rows
            if n == 0:
                continue
            names = table.column_names
            size_col = next((c for c in SIZE_COLUMNS if c in names), None)
            require_columns(path, names, ["price", size_col or SIZE_COLUMNS[0]])
            exchange_col, receive_col = _time_columns(path, names)
            exchange_ns = _times(table, path, exchange_col)
            receive_ns = _times(table, path, receive_col) if receive_col is not None else exchange_ns
            prices = pc.cast(table.column("price"), pa.float64()).to_numpy(zero_copy_only=False)
            sizes = pc.cast(table.column(size_col), pa.float64()).to_numpy(zero_copy_only=False)
            lots = _on_grid(sizes, sp, self.size_increment, None, path, "size", "trade size", "the lot", size_col)
            # prices at their own decimals, then floored onto the book's tick
            tp = max(pp, min(_decimals_of(prices[:50_000]), MAX_DECIMALS))
            units, bad = to_ticks(prices, tp)
            bad |= units <= 0
            if bad.any():
                pos = int(np.argmax(bad))
                raise DataImportError(path, f"trade price {float(prices[pos])!r} is not a positive number with at most {tp} decimals",
                                      row=pos + 1, field="price")
            unit_per_tick = self.price_increment * 10 ** (tp - pp)  # trade units per book tick
            level = units // unit_per_tick
            floored += int(np.count_nonzero(units % unit_per_tick))
            price_ticks = level * self.price_increment  # in units of 10**-pp
            keep = exchange_ns >= first_book_ns
            before_start += int(n - np.count_nonzero(keep))
            if use_recorded:
                aggressor, _ = _recorded_aggressor(table, path)
                counts.recorded += int(np.count_nonzero(keep))
            else:
                aggressor, by_rule, prev_price, prev_dir = infer_aggressor(
                    exchange_ns[keep], units[keep] / unit_per_tick, book_ns, book_bid, book_ask,
                    self.gap_threshold_ns, prev_price, prev_dir,
                )
                counts.add(by_rule, aggressor)
                full = np.full(n, NO_AGGRESSOR, dtype=np.int64)
                full[keep] = aggressor
                aggressor = full
            ts_init, c = clamp_monotonic(
                replay_order.trade_ts_init(exchange_ns, receive_ns, self.order_by, self.feed_delay_ns)[keep], floor_ts,
            )
            clamped += c
            if ts_init.size:
                floor_ts = int(ts_init[-1])
            ids = table.column("trade_id").to_pylist() if "trade_id" in names else None
            out = []
            kept_rows = np.flatnonzero(keep).tolist()
            ev, pt, lt, ag = exchange_ns.tolist(), price_ticks.tolist(), lots.tolist(), aggressor.tolist()
            for k, r in enumerate(kept_rows):
                ts_event = ev[r]
                if ids is not None and ids[r] not in (None, ""):
                    trade_id = str(ids[r]).strip()
                else:
                    same_ns = same_ns + 1 if ts_event == last_ns else 0
                    last_ns = ts_event
                    trade_id = f"{ts_event}-{same_ns}"
                out.append(enc.trade(pt[r], lt[r], AggressorSide(ag[r]), trade_id, ts_event, int(ts_init[k])))
            batcher.extend(out)
            all_init.append(ts_init)
            all_event.append(exchange_ns[keep])
            all_recv.append(receive_ns[keep])
        batcher.flush()
        c = self.summary.counts(inst.id)
        c.trades += batcher.written
        if batcher.written:
            c.observe(batcher.first_ts_init, batcher.last_ts_init)
        notes = self.summary.notes
        if counts.inferred or counts.recorded:
            notes.append(f"aggressor: {counts.describe()}")
        if floored:
            notes.append(f"{floored} trade prices finer than the tick {inst.price_increment} were floored onto it "
                         "(the book bucket they traded in)")
        if before_start:
            notes.append(f"dropped {before_start} trades from before the first book snapshot")
        if clamped:
            notes.append(f"{clamped} trades had ts_init going backwards; clamped")
        self._order_check(all_init, all_event, all_recv)

    def _order_check(self, trade_init, trade_event, trade_recv) -> None:
        if not trade_init:
            return
        stream = self.stream
        t_init, t_event, t_recv = (np.concatenate(x) for x in (trade_init, trade_event, trade_recv))
        b_init = np.frombuffer(stream.message_ts_init, dtype=np.int64)
        b_event = np.frombuffer(stream.message_ts_event, dtype=np.int64)
        now = replay_order.trades_after_later_book(b_init, b_event, t_init, t_event)
        text = f"trades replayed after a book with a later exchange time: {now} of {t_init.size}"
        if self.order_by == "exchange" and not self.no_receive_time:
            b_recv = np.frombuffer(self.message_receive_ns, dtype=np.int64)
            by_receive = replay_order.trades_after_later_book(b_recv, b_event, t_recv, t_event)
            text += f" (ordered by receive time it would be {by_receive})"
        self.summary.notes.append(text)

    def finish_book(self) -> None:
        stream = self.stream
        stream.finish(self.summary, str(self.instrument.id.symbol), "snapshots")
        notes = self.summary.notes
        if self.duplicates:
            notes.append(f"dropped {self.duplicates} repeated snapshots (same exchange time and levels as the one before)")
        if self.locked:
            notes.append(f"{self.locked} locked snapshots (best bid = best ask): the locked ask bucket was merged one tick up")
        if self.crossed:
            notes.append(f"skipped {self.crossed} crossed snapshots (best bid > best ask)")


def _merge_locked_ask(asks: list[tuple[int, int]], increment: int) -> list[tuple[int, int]]:
    """The ask levels with the first (locked) one moved one tick up, merged into a level already there."""
    (price, lots), rest = asks[0], asks[1:]
    up = price + increment
    if rest and rest[0][0] == up:
        return [(up, lots + rest[0][1])] + rest[1:]
    return [(up, lots)] + rest


def _recorded_aggressor(table: pa.Table, path: Path) -> tuple[np.ndarray | None, str | None]:
    """AggressorSide codes of the recorded side (``side`` text, else ``is_buyer_taker``), or ``(None, None)``."""
    names = table.column_names
    if "side" in names:
        texts = table.column("side").to_pylist()
        return np.array([_AGGRESSOR_BY_TEXT.get(str(t).strip().lower(), NO_AGGRESSOR) for t in texts], dtype=np.int64), "side"
    if "is_buyer_taker" in names:
        flags = table.column("is_buyer_taker").to_pylist()
        return np.array([NO_AGGRESSOR if f is None else (1 if f else 2) for f in flags], dtype=np.int64), "is_buyer_taker"
    return None, None


def import_l2_snapshots(
    directory: str | os.PathLike,
    catalog_path: str | os.PathLike,
    instrument_id: str,
    *,
    tick: str | float | None = None,
    lot: str | float | None = None,
    quote_currency: str = DEFAULT_QUOTE_CURRENCY,
    maker_fee_bps: float | None = None,
    taker_fee_bps: float | None = None,
    order_by: str = replay_order.DEFAULT_ORDER_BY,
    feed_delay_ms: float | None = None,
    gap_threshold_s: float = DEFAULT_GAP_THRESHOLD_NS / NANOS_PER_SECOND,
    match: str | None = None,
    replace: bool = False,
    progress: bool = True,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> ImportSummary:
    """Import a folder of L2 snapshot files and its trades files (see the module docstring).

    Returns an ``ImportSummary``; raises ``DataImportError`` for bad input (nothing written),
    ``ConfigError`` for a bad option and ``CatalogConflictError`` when the catalog already holds
    overlapping data and ``replace`` is false.
    """
    replay_order.check_order_by(order_by)
    if not gap_threshold_s > 0:
        raise ConfigError(f"--gap-threshold-s {gap_threshold_s!r}: must be > 0")
    make_snapshot_perpetual(instrument_id, 1, 1, 1, 1, quote_currency, maker_fee_bps, taker_fee_bps)  # options first
    book_files, trade_files = discover_snapshot_files(directory, match)
    with import_session(str(directory), catalog_path, replace) as (summary, writer):
        imp = _Importer(instrument_id, tick, lot, quote_currency, maker_fee_bps, taker_fee_bps, order_by, feed_delay_ms,
                        int(gap_threshold_s * NANOS_PER_SECOND), writer, summary, progress, batch_size)
        imp.choose_feed_delay(book_files)
        for path in read_with_progress(book_files, "book", " files", progress):
            imp.import_book_file(path)
        if imp.stream is None or imp.stream.differ.snapshots == 0:
            raise DataImportError(book_files[0], "no book snapshots in the book files")
        imp.finish_book()
        if trade_files:
            imp.import_trades(trade_files, imp.recorded_sides(trade_files))
        else:
            summary.notes.append("no trades files (trades*): book only")
        summary.notes.append(f"files: {len(book_files)} book, {len(trade_files)} trades")
    return summary
