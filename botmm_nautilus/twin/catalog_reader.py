"""Reading a Nautilus ``ParquetDataCatalog`` into the twin's replay series (:class:`~.replay.EventTable`).

Book deltas and trades are read straight from the catalog's Parquet files as columns (no Nautilus
object per row): a day of five coins (about 7 million rows) loads in seconds into about 30 bytes a
row, where building a Nautilus object and then a Python event per row took over a minute and
4 GB. Funding updates (a few per hour) and the 1-minute bars are read through the catalog's own
queries.

Rules:

* Window: rows with ``start_ns <= ts_init <= end_ns`` (the catalog's own query rule). The default
  start is the first order-book data of the coins (their first trade when the catalog has no book),
  the default end the last book or trade data: a catalog that also holds years of funding or bar
  history replays its market data, not the funding record of 2023.
* Prices and sizes: Nautilus stores them as fixed-point integers (16 bytes with 16 decimals in the
  high-precision build, 8 bytes with 9 decimals otherwise); each file's ``price_precision`` and
  ``size_precision`` give the decimals kept, exactly as ``str(Price)`` would print them.
* Candle history: the 1-minute bars that close before the first replayed event, at most
  ``CANDLE_HISTORY_DAYS`` days of them.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Callable
from typing import Iterable

import numpy as np

from botmm_nautilus.fixed_point import decode_fixed_point
from botmm_nautilus.venue import rules as hl_rules

from .errors import CatalogDataError
from .replay import NANOS_PER_MS
from .replay import CoinSpec
from .replay import EventTable
from .replay import FundingRate
from .replay import MarketData

CANDLE_HISTORY_DAYS = 7  # 1-minute bars before the replay kept as candle history

# Nautilus enum values as stored in the Parquet columns (BookAction, OrderSide, AggressorSide)
_ADD, _UPDATE, _DELETE, _CLEAR = 1, 2, 3, 4
_BUY, _SELL = 1, 2
_BUYER, _SELLER = 1, 2


def read_catalog(
    catalog_path: str | os.PathLike,
    coins: Iterable[str],
    start_ns: int | None = None,
    end_ns: int | None = None,
    venue: str = "HL",
    progress: Callable[[str], None] | None = None,
) -> MarketData:
    """The market data of ``coins`` in the window (see the module rules); ``CatalogDataError`` when none."""
    from nautilus_trader.model.data import OrderBookDelta
    from nautilus_trader.model.data import TradeTick
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    say = progress or (lambda _text: None)
    path = os.fspath(catalog_path)
    if not os.path.isdir(path):
        raise CatalogDataError(f"catalog folder not found: {path}")
    catalog = ParquetDataCatalog(path)
    coins = [c.upper() for c in coins]
    ids = [f"{c}-USDC-PERP.{venue}" for c in coins]
    specs = _coin_specs(catalog, path, coins, ids)
    explicit_window = start_ns is not None or end_ns is not None

    delta_files = {iid: _files(catalog, OrderBookDelta, iid) for iid in ids}
    trade_files = {iid: _files(catalog, TradeTick, iid) for iid in ids}
    if start_ns is None or end_ns is None:
        book_span = _span(catalog, delta_files)
        trade_span = _span(catalog, trade_files)
        if start_ns is None:
            start_ns = (book_span or trade_span or (None, None))[0]
        if end_ns is None:
            ends = [s[1] for s in (book_span, trade_span) if s is not None]
            end_ns = max(ends) if ends else None
    if start_ns is None or end_ns is None:
        raise CatalogDataError(f"catalog {path} holds no order book deltas or trades for {', '.join(ids)}")

    for files_by_iid, cls in ((delta_files, OrderBookDelta), (trade_files, TradeTick)):
        for iid, files in files_by_iid.items():
            files_by_iid[iid] = [f for f in files if catalog.filter_files(cls, [f], None, start_ns, end_ns)]
    columns: list[dict[str, np.ndarray]] = []
    for k, (coin, iid) in enumerate(zip(coins, ids)):
        for i, file in enumerate(delta_files[iid]):
            say(f"reading {coin} order book deltas ({i + 1}/{len(delta_files[iid])} files)")
            columns.append(_read_deltas(catalog, file, k, start_ns, end_ns))
        for i, file in enumerate(trade_files[iid]):
            say(f"reading {coin} trades ({i + 1}/{len(trade_files[iid])} files)")
            columns.append(_read_trades(catalog, file, k, start_ns, end_ns))
    columns = [c for c in columns if c["ts_ms"].size]
    if not columns:
        raise CatalogDataError(
            f"catalog {path} holds no order book deltas or trades for {', '.join(ids)}"
            + (" in the requested time range" if explicit_window else "")
        )
    say("reading funding rates")
    fundings = _read_fundings(catalog, ids, coins, start_ns, end_ns)
    say(f"sorting {sum(c['ts_ms'].size for c in columns) + len(fundings):,} market events")
    table = _table(coins, columns, fundings)
    data = MarketData(specs, table)
    first_ms = table.ts_at(0)
    say("reading 1-minute bars (candle history)")
    for coin, iid in zip(coins, ids):
        rows = _minute_bars(catalog, iid, first_ms)
        if rows:
            data.minute_bars[coin] = rows
    return data


# ------------------------------------------------------------------------------------ parts


def _coin_specs(catalog, path: str, coins: list[str], ids: list[str]) -> list[CoinSpec]:
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
    return specs


def _files(catalog, data_cls, iid: str) -> list[str]:
    """The catalog's Parquet files of ``data_cls`` for ``iid``, oldest first (by the times in their names)."""
    return sorted(catalog.filter_files(data_cls, catalog.get_file_list_from_data_cls(data_cls), [iid]),
                  key=os.path.basename)


def _span(catalog, files_by_iid: dict[str, list[str]]) -> tuple[int, int] | None:
    """(first, last) ``ts_init`` over the files (from the file's own ``ts_init`` column statistics)."""
    import pyarrow.parquet as pq

    lo = hi = None
    for files in files_by_iid.values():
        for file in files:
            with catalog.fs.open(file, "rb") as fh:
                meta = pq.ParquetFile(fh).metadata
                col = meta.schema.to_arrow_schema().get_field_index("ts_init")
                for g in range(meta.num_row_groups):
                    stats = meta.row_group(g).column(col).statistics
                    if stats is None or not stats.has_min_max:
                        lo_g, hi_g = _ts_init_min_max(catalog, file)
                    else:
                        lo_g, hi_g = int(stats.min), int(stats.max)
                    lo = lo_g if lo is None else min(lo, lo_g)
                    hi = hi_g if hi is None else max(hi, hi_g)
    return None if lo is None else (lo, hi)


def _ts_init_min_max(catalog, file: str) -> tuple[int, int]:
    import pyarrow.compute as pc

    ts = _read(catalog, file, ["ts_init"]).column("ts_init")
    mm = pc.min_max(ts)
    return int(mm["min"].as_py()), int(mm["max"].as_py())


def _read(catalog, file: str, columns: list[str]):
    import pyarrow.parquet as pq

    try:
        with catalog.fs.open(file, "rb") as fh:
            return pq.read_table(fh, columns=columns)
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign file
        raise CatalogDataError(f"catalog file {file}: cannot be read as Nautilus data ({exc})") from None


def _window(table, start_ns: int, end_ns: int):
    import pyarrow.compute as pc

    ts = table.column("ts_init")
    mask = pc.and_(pc.greater_equal(ts, start_ns), pc.less_equal(ts, end_ns))
    return table.filter(mask)


def _precision(table, key: str, file: str) -> int:
    meta = table.schema.metadata or {}
    raw = meta.get(key.encode())
    if raw is None:
        raise CatalogDataError(f"catalog file {file}: no {key} in the Parquet metadata")
    return int(raw)


def fixed_point_column(column, precision: int, file: str) -> np.ndarray:
    """A Nautilus fixed-point Price/Quantity column as integers with ``precision`` decimals (``CatalogDataError``
    when it cannot be decoded); see ``botmm_nautilus.fixed_point``."""
    return decode_fixed_point(column, precision, file, CatalogDataError)


def _read_deltas(catalog, file: str, coin_index: int, start_ns: int, end_ns: int) -> dict[str, np.ndarray]:
    table = _window(_read(catalog, file, ["action", "side", "price", "size", "ts_event", "ts_init"]), start_ns, end_ns)
    px_dp = _precision(table, "price_precision", file)
    sz_dp = _precision(table, "size_precision", file)
    action = table.column("action").to_numpy()
    side = table.column("side").to_numpy()
    keep = (action == _CLEAR) | np.isin(side, (_BUY, _SELL))  # a level update without a side is skipped
    clear = action[keep] == _CLEAR
    px = fixed_point_column(table.column("price"), px_dp, file)[keep]
    sz = fixed_point_column(table.column("size"), sz_dp, file)[keep]
    sz[action[keep] == _DELETE] = 0
    px[clear] = 0
    sz[clear] = 0
    n = int(keep.sum())
    return {
        "ts_ms": (table.column("ts_event").to_numpy()[keep] // NANOS_PER_MS).astype(np.int64),
        "kind": np.where(clear, EventTable.CLEAR, EventTable.LEVEL).astype(np.int8),
        "coin": np.full(n, coin_index, dtype=np.int16),
        "side": np.where(side[keep] == _SELL, 1, 0).astype(np.int8),
        "px": px, "sz": sz,
        "px_dp": np.full(n, px_dp, dtype=np.int8), "sz_dp": np.full(n, sz_dp, dtype=np.int8),
    }


def _read_trades(catalog, file: str, coin_index: int, start_ns: int, end_ns: int) -> dict[str, np.ndarray]:
    table = _window(_read(catalog, file, ["price", "size", "aggressor_side", "ts_event", "ts_init"]), start_ns, end_ns)
    px_dp = _precision(table, "price_precision", file)
    sz_dp = _precision(table, "size_precision", file)
    aggressor = table.column("aggressor_side").to_numpy()
    n = len(aggressor)
    return {
        "ts_ms": (table.column("ts_event").to_numpy() // NANOS_PER_MS).astype(np.int64),
        "kind": np.full(n, EventTable.TRADE, dtype=np.int8),
        "coin": np.full(n, coin_index, dtype=np.int16),
        "side": np.where(aggressor == _BUYER, 0, np.where(aggressor == _SELLER, 1, -1)).astype(np.int8),
        "px": fixed_point_column(table.column("price"), px_dp, file),
        "sz": fixed_point_column(table.column("size"), sz_dp, file),
        "px_dp": np.full(n, px_dp, dtype=np.int8), "sz_dp": np.full(n, sz_dp, dtype=np.int8),
    }


def _read_fundings(catalog, ids: list[str], coins: list[str], start_ns: int, end_ns: int) -> list[FundingRate]:
    try:
        from nautilus_trader.model.data import FundingRateUpdate

        updates = catalog.query(FundingRateUpdate, identifiers=ids, start=start_ns, end=end_ns)
    except Exception:  # noqa: BLE001 - no funding files
        updates = []
    coin_of_id = dict(zip(ids, coins))
    out = []
    for upd in updates:
        coin = coin_of_id.get(str(upd.instrument_id))
        if coin is None:
            continue
        interval = int(getattr(upd, "interval", 60) or 60)
        out.append(FundingRate(upd.ts_event // NANOS_PER_MS, coin, Decimal(str(upd.rate)), interval))
    return out


def _table(coins: list[str], columns: list[dict[str, np.ndarray]], fundings: list[FundingRate]) -> EventTable:
    coin_index = {c: i for i, c in enumerate(coins)}
    nf = len(fundings)
    funding_cols = {
        "ts_ms": np.array([f.ts_ms for f in fundings], dtype=np.int64),
        "kind": np.full(nf, EventTable.FUNDING, dtype=np.int8),
        "coin": np.array([coin_index[f.coin] for f in fundings], dtype=np.int16),
        "side": np.full(nf, -1, dtype=np.int8),
        "px": np.arange(nf, dtype=np.int64),  # index into `fundings`
        "sz": np.zeros(nf, dtype=np.int64),
        "px_dp": np.zeros(nf, dtype=np.int8), "sz_dp": np.zeros(nf, dtype=np.int8),
    }
    parts = [*columns, funding_cols]
    cat = {k: np.concatenate([p[k] for p in parts]) for k in funding_cols}
    return EventTable(coins, cat["ts_ms"], cat["kind"], cat["coin"], cat["side"], cat["px"], cat["sz"],
                      cat["px_dp"], cat["sz_dp"], fundings).sort()


def _minute_bars(catalog, iid: str, first_ms: int) -> list[tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal]]:
    """1-minute bars that close at or before the first replayed event (at most CANDLE_HISTORY_DAYS of them)."""
    start_ns = (first_ms - CANDLE_HISTORY_DAYS * 86_400_000) * NANOS_PER_MS
    try:
        bars = catalog.bars(bar_types=[f"{iid}-1-MINUTE-LAST-EXTERNAL"], start=start_ns, end=first_ms * NANOS_PER_MS)
    except Exception:  # noqa: BLE001 - no bar files
        bars = []
    rows = []
    for bar in bars:
        open_ms = bar.ts_event // NANOS_PER_MS - 60_000
        if open_ms + 60_000 <= first_ms:  # history strictly before the replay: no look-ahead
            rows.append((open_ms, Decimal(str(bar.open)), Decimal(str(bar.high)), Decimal(str(bar.low)),
                         Decimal(str(bar.close)), Decimal(str(bar.volume))))
    return rows
