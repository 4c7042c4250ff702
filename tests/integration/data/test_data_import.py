"""Importers on the real data in ../shared/data: what lands in the catalog matches the source.

Imports use small ``batch_size`` values so that batch boundaries (several Parquet files per
stream) are exercised too.
"""

from __future__ import annotations

import gzip
import json
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import FundingRateUpdate
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from botmm_nautilus.data.binance import import_binance_raw
from botmm_nautilus.data.candles import import_candles
from botmm_nautilus.data.catalog_io import CatalogConflictError
from botmm_nautilus.data.funding import import_funding
from botmm_nautilus.data.hl_s3 import import_hyperliquid_s3
from botmm_nautilus.data.hl_ws import import_hyperliquid_ws
from botmm_nautilus.data.info import catalog_info
from botmm_nautilus.data.info import format_catalog_info
from botmm_nautilus.data.replay_order import BOOK_AFTER_TRADE_NS
from botmm_nautilus.errors import DataImportError

pytestmark = pytest.mark.shared_data

F_LAST = int(RecordFlag.F_LAST)
F_SNAPSHOT = int(RecordFlag.F_SNAPSHOT)
BTC_ID = "BTC-USDC-PERP.HL"
N_LEVELS = 20


def level_ticks(book: OrderBook, price_decimals: int, size_decimals: int, depth: int = N_LEVELS):
    """Top ``depth`` levels as integer (price ticks, size lots) per side."""
    def side(levels):
        return [
            (round(lvl.price.as_double() * 10**price_decimals), round(lvl.size() * 10**size_decimals))
            for lvl in list(levels)[:depth]
        ]
    return side(book.bids()), side(book.asks())


# --------------------------------------------------------------------------- Hyperliquid ws


@pytest.fixture(scope="module")
def ws_dir(shared_data):
    return shared_data / "hyperliquid" / "ws_2025-09-04"


@pytest.fixture(scope="module")
def ws_catalog(ws_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("ws_catalog")
    summary = import_hyperliquid_ws(ws_dir, path, coins=["BTC"], progress=False, batch_size=30_000)
    return path, summary


@pytest.fixture(scope="module")
def ws_deltas(ws_catalog):
    return ParquetDataCatalog(str(ws_catalog[0])).order_book_deltas(instrument_ids=[BTC_ID])


@pytest.fixture(scope="module")
def btc_book_csv(ws_dir):
    return pd.read_csv(ws_dir / "orderbooks_BTC.csv.gz")


def test_ws_summary_and_files(ws_catalog, ws_deltas):
    path, summary = ws_catalog
    counts = summary.instruments[BTC_ID]
    assert counts.snapshots == 3785
    assert counts.deltas == len(ws_deltas)
    assert len(list((path / "data" / "order_book_deltas" / BTC_ID).glob("*.parquet"))) >= 3  # batched
    assert not list(path.glob(".staging-*"))
    text = str(summary)
    assert BTC_ID in text and "3785" in text


def test_ws_book_rebuilt_from_catalog_equals_each_snapshot(ws_deltas, btc_book_csv):
    """(a) Replaying the catalog deltas reproduces the top 20 levels of every snapshot row."""
    frame = btc_book_csv
    # the default replay order: exchange time + the median book receive delay (books 1 ns after trades)
    receive_ns = np.rint(frame["timestamp"].to_numpy() * 1e6).astype(np.int64) * 1000
    exchange_ns = frame["exchange_timestamp"].to_numpy().astype(np.int64) * 1_000_000
    delay_ns = int(np.median(receive_ns - exchange_ns))
    ts_init = np.maximum.accumulate(exchange_ns + delay_ns + BOOK_AFTER_TRADE_NS)
    # rows sharing a ts_init are replayed together: compare the last row of each group
    last_of_group = np.append(ts_init[1:] != ts_init[:-1], True)
    wanted = {int(ts): i for i, ts in enumerate(ts_init) if last_of_group[i]}
    cols_bid_p = [f"bid_price_{i}" for i in range(N_LEVELS)]
    cols_bid_s = [f"bid_size_{i}" for i in range(N_LEVELS)]
    cols_ask_p = [f"ask_price_{i}" for i in range(N_LEVELS)]
    cols_ask_s = [f"ask_size_{i}" for i in range(N_LEVELS)]
    bid_p = np.rint(frame[cols_bid_p].to_numpy() * 10).astype(np.int64)
    bid_s = np.rint(frame[cols_bid_s].to_numpy() * 1e5).astype(np.int64)
    ask_p = np.rint(frame[cols_ask_p].to_numpy() * 10).astype(np.int64)
    ask_s = np.rint(frame[cols_ask_s].to_numpy() * 1e5).astype(np.int64)

    book = OrderBook(ws_deltas[0].instrument_id, BookType.L2_MBP)
    compared = set()
    # ts_init is unique per delta (+1 ns within a message, BookDeltaEncoder.unique_ts_init): a message
    # starts at its row's ts_init; messages of rows sharing a ts_init follow within a few ns
    starts = [0] + [i + 1 for i, d in enumerate(ws_deltas[:-1]) if d.flags & F_LAST]
    group_ts = None
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(ws_deltas)
        first_ts = ws_deltas[start].ts_init
        if group_ts is None or first_ts > group_ts + 1000:
            group_ts = first_ts
        for delta in ws_deltas[start:end]:
            book.apply_delta(delta)
        next_ts = ws_deltas[end].ts_init if end < len(ws_deltas) else None
        if (next_ts is None or next_ts > group_ts + 1000) and group_ts in wanted:
            r = wanted[group_ts]
            bids, asks = level_ticks(book, 1, 5)
            assert bids == list(zip(bid_p[r].tolist(), bid_s[r].tolist())), f"row {r + 1}"
            assert asks == list(zip(ask_p[r].tolist(), ask_s[r].tolist())), f"row {r + 1}"
            compared.add(r)
    # every group whose snapshot changed the book was checked; the rest repeat an earlier book
    assert len(compared) >= 3700


def test_ws_delta_flags_and_ordering(ws_deltas, btc_book_csv):
    """(c) One CLEAR (the first delta); F_LAST count == non-empty snapshot diffs; ts ordered."""
    actions = [d.action for d in ws_deltas]
    assert actions[0] == BookAction.CLEAR
    assert actions.count(BookAction.CLEAR) == 1
    snapshot_flagged = [d for d in ws_deltas if d.flags & F_SNAPSHOT]
    assert len(snapshot_flagged) == 1 + 2 * N_LEVELS and snapshot_flagged[-1].flags & F_LAST

    frame = btc_book_csv
    level_cols = [c for c in frame.columns if c.startswith(("bid_", "ask_"))]
    values = frame[level_cols].to_numpy()
    changed = 1 + int(np.count_nonzero((values[1:] != values[:-1]).any(axis=1)))
    assert sum(1 for d in ws_deltas if d.flags & F_LAST) == changed

    ts_init = np.array([d.ts_init for d in ws_deltas])
    assert np.all(np.diff(ts_init) >= 0)
    exchange_ns = set((frame["exchange_timestamp"].astype(np.int64) * 1_000_000).tolist())
    assert {d.ts_event for d in ws_deltas} <= exchange_ns


def test_ws_trades_match_csv_with_aggressor(ws_catalog, ws_dir, btc_book_csv):
    """(b) Trades: pre-recording snapshot dropped, de-duplicated, buy -> BUYER, sell -> SELLER."""
    path, summary = ws_catalog
    trades = ParquetDataCatalog(str(path)).trade_ticks(instrument_ids=[BTC_ID])
    csv = pd.read_csv(ws_dir / "trades_BTC.csv.gz", dtype={"trade_id": str})
    first_book_ms = int(btc_book_csv["exchange_timestamp"].iloc[0])
    expected = csv[csv["exchange_timestamp"] >= first_book_ms].drop_duplicates("trade_id")
    assert len(trades) == len(expected) == summary.instruments[BTC_ID].trades
    assert len(csv) - len(expected) == 30  # the recent-trades snapshot sent on subscribe

    by_id = {str(t.trade_id): t for t in trades}
    for row in expected.itertuples():
        t = by_id[row.trade_id]
        want = AggressorSide.BUYER if row.side == "buy" else AggressorSide.SELLER
        assert t.aggressor_side == want
        assert t.price.as_decimal() == Decimal(str(row.price)).quantize(Decimal("0.1"))
        assert t.size.as_decimal() == Decimal(str(row.size)).quantize(Decimal("0.00001"))
        assert t.ts_event == row.exchange_timestamp * 1_000_000
    assert sum(t.aggressor_side == AggressorSide.BUYER for t in trades) == int((expected["side"] == "buy").sum())
    assert all(a.ts_init <= b.ts_init for a, b in zip(trades, trades[1:]))


def test_ws_catalog_replays_in_a_backtest_engine(ws_catalog, ws_deltas):
    """Deltas and trades merged by ts_init are consumable by Nautilus's engine."""
    from nautilus_trader.backtest.engine import BacktestEngine
    from nautilus_trader.backtest.engine import BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig
    from nautilus_trader.model.currencies import USDC
    from nautilus_trader.model.enums import AccountType
    from nautilus_trader.model.enums import OmsType
    from nautilus_trader.model.identifiers import Venue
    from nautilus_trader.model.objects import Money

    catalog = ParquetDataCatalog(str(ws_catalog[0]))
    instrument = catalog.instruments()[0]
    trades = catalog.trade_ticks(instrument_ids=[BTC_ID])
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR")))
    engine.add_venue(
        venue=Venue("HL"), oms_type=OmsType.NETTING, account_type=AccountType.MARGIN, base_currency=USDC,
        starting_balances=[Money(100_000, USDC)], book_type=BookType.L2_MBP, trade_execution=True,
    )
    engine.add_instrument(instrument)
    engine.add_data(ws_deltas)
    engine.add_data(trades)
    engine.run()
    assert engine.get_result().iterations == len(ws_deltas) + len(trades)
    engine.dispose()


def test_ws_reimport_conflicts_unless_replace(ws_dir, tmp_path):
    import_hyperliquid_ws(ws_dir, tmp_path, coins=["WLFI"], progress=False)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.parquet"))
    with pytest.raises(CatalogConflictError):
        import_hyperliquid_ws(ws_dir, tmp_path, coins=["WLFI"], progress=False)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.parquet")) == before
    summary = import_hyperliquid_ws(ws_dir, tmp_path, coins=["wlfi"], progress=False, replace=True)
    assert summary.files_replaced and summary.instruments["WLFI-USDC-PERP.HL"].trades > 0


# -------------------------------------------------------------------------------- S3 archive


@pytest.fixture(scope="module")
def s3_sample(shared_data):
    return shared_data / "hyperliquid" / "s3_sample" / "market_data_20240101_12_l2Book_BTC_first300.lz4"


def test_s3_sample_books_match_every_line(s3_sample, tmp_path):
    summary = import_hyperliquid_s3([s3_sample], tmp_path, progress=False, batch_size=500)
    assert summary.instruments[BTC_ID].snapshots == 300
    deltas = ParquetDataCatalog(str(tmp_path)).order_book_deltas(instrument_ids=[BTC_ID])
    assert len(deltas) == summary.instruments[BTC_ID].deltas
    _assert_s3_books_match(s3_sample, deltas, n_lines=300)


def test_s3_truncated_strict_names_line_and_writes_nothing(s3_sample, tmp_path):
    cut = tmp_path / "market_data_cut.lz4"
    cut.write_bytes(s3_sample.read_bytes()[:-4])  # end mark and checksum missing
    catalog = tmp_path / "catalog"
    with pytest.raises(DataImportError) as err:
        import_hyperliquid_s3([cut], catalog, progress=False)
    message = str(err.value)
    assert message.startswith("market_data_cut.lz4 line 301:") and "truncated" not in message.split(":")[0]
    assert "--allow-truncated" in message
    assert not list(catalog.rglob("*.parquet")) and not list(catalog.glob(".staging-*"))

    summary = import_hyperliquid_s3([cut], catalog, progress=False, allow_truncated=True)
    assert any("kept the 300 complete lines" in note for note in summary.notes)
    deltas = ParquetDataCatalog(str(catalog)).order_book_deltas(instrument_ids=[BTC_ID])
    _assert_s3_books_match(s3_sample, deltas, n_lines=300)


def _assert_s3_books_match(path, deltas, n_lines: int) -> None:
    import lz4.frame

    lines = lz4.frame.decompress(path.read_bytes()).decode().splitlines()[:n_lines]
    wanted = {}
    for line in lines:
        rec = json.loads(line)
        bids, asks = rec["raw"]["data"]["levels"]
        ts = pd.Timestamp(rec["time"] + "Z").value
        wanted[ts] = (
            [(round(float(lv["px"]) * 10), round(float(lv["sz"]) * 1e5)) for lv in bids],
            [(round(float(lv["px"]) * 10), round(float(lv["sz"]) * 1e5)) for lv in asks],
        )
    book = OrderBook(deltas[0].instrument_id, BookType.L2_MBP)
    checked = 0
    message_ts = None  # ts_init of a message's first delta (the line's time; later deltas are +1 ns each)
    for i, delta in enumerate(deltas):
        if message_ts is None:
            message_ts = delta.ts_init
        book.apply_delta(delta)
        if not delta.flags & F_LAST:
            continue
        next_ts = deltas[i + 1].ts_init if i + 1 < len(deltas) else None
        # lines sharing one time are replayed together: compare after the last of them
        if message_ts in wanted and (next_ts is None or next_ts > message_ts + 1000):
            bids, asks = level_ticks(book, 1, 5, depth=1000)
            want_bids, want_asks = wanted[message_ts]
            # the snapshot is the top of the book; levels that left the 20-level window stay beyond it (D1)
            assert (bids[: len(want_bids)], asks[: len(want_asks)]) == (want_bids, want_asks)
            for got, want in ((bids, want_bids), (asks, want_asks)):
                if len(want) < N_LEVELS:
                    assert got == want
            checked += 1
        message_ts = None
    assert checked >= 250


# ----------------------------------------------------------------------------------- candles


def test_candles_5m_bars_close_stamped(shared_data, tmp_path):
    path = shared_data / "hyperliquid" / "candles" / "BTC_USDC_USDC-5m-futures.feather"
    summary = import_candles([path], "btc", tmp_path)
    source = pd.read_feather(path)
    bar_type = f"{BTC_ID}-5-MINUTE-LAST-EXTERNAL"
    bars = ParquetDataCatalog(str(tmp_path)).bars(bar_types=[bar_type])
    assert len(bars) == len(source) == summary.instruments[BTC_ID].bars == 38531
    first_open_ns = source["date"].iloc[0].value
    assert bars[0].ts_event == bars[0].ts_init == first_open_ns + 5 * 60 * 1_000_000_000
    assert str(bars[0].bar_type) == bar_type
    for i in (0, 1, len(source) // 2, len(source) - 1):
        row = source.iloc[i]
        bar = bars[i]
        assert bar.ts_init == row["date"].value + 300 * 10**9
        assert [float(bar.open), float(bar.high), float(bar.low), float(bar.close)] == [
            row["open"], row["high"], row["low"], row["close"],
        ]
        assert float(bar.volume) == pytest.approx(row["volume"], abs=1e-5)


def test_candles_interval_from_timestamps_and_candle_snapshot_json(tmp_path):
    t0 = 1_700_000_000_000 - 1_700_000_000_000 % 900_000
    candles = [
        {"t": t0 + i * 900_000, "T": t0 + (i + 1) * 900_000 - 1, "s": "ETH", "i": "15m",
         "o": "2000.5", "c": "2001.0", "h": "2002.25", "l": "1999.0", "v": "12.3456", "n": 10}
        for i in range(4)
    ]
    json_path = tmp_path / "eth_candles.json"
    json_path.write_text(json.dumps(candles))
    summary = import_candles(json_path, "ETH", tmp_path / "cat")
    bars = ParquetDataCatalog(str(tmp_path / "cat")).bars(bar_types=["ETH-USDC-PERP.HL-15-MINUTE-LAST-EXTERNAL"])
    assert len(bars) == 4 == summary.instruments["ETH-USDC-PERP.HL"].bars
    assert bars[0].ts_init == (t0 + 900_000) * 1_000_000
    assert bars[0].high.as_decimal() == Decimal("2002.25") and bars[0].volume.as_decimal() == Decimal("12.3456")

    csv_path = tmp_path / "sol_hourly.csv"  # no interval in the name: inferred from the spacing
    pd.DataFrame(
        {"date": pd.date_range("2025-01-01", periods=5, freq="1h", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ"),
         "open": 100.0, "high": 101.0, "low": 99.0, "close": 100.5, "volume": 3.0},
    ).drop(index=2).to_csv(csv_path, index=False)  # a missing hour is a gap, not a new interval
    import_candles(csv_path, "SOL", tmp_path / "cat")
    bars = ParquetDataCatalog(str(tmp_path / "cat")).bars(bar_types=["SOL-USDC-PERP.HL-1-HOUR-LAST-EXTERNAL"])
    assert len(bars) == 4 and bars[0].ts_init == pd.Timestamp("2025-01-01T01:00Z").value


# ----------------------------------------------------------------------------------- funding


def test_funding_feather_and_json(shared_data, tmp_path):
    path = shared_data / "hyperliquid" / "candles" / "BTC_USDC_USDC-1h-funding_rate.feather"
    summary = import_funding(path, "BTC", tmp_path)
    source = pd.read_feather(path)
    updates = ParquetDataCatalog(str(tmp_path)).query(FundingRateUpdate, identifiers=[BTC_ID])
    assert len(updates) == len(source) == summary.instruments[BTC_ID].funding
    for i in (0, 100, len(source) - 1):
        assert updates[i].ts_event == updates[i].ts_init == source["date"].iloc[i].value
        assert float(updates[i].rate) == source["open"].iloc[i]
    assert updates[-1].interval == 60
    assert updates[0].interval == 480  # the spring-2023 history is 8-hourly

    fixture = shared_data / "hyperliquid" / "fixtures" / "http_funding_history.json"
    import_funding(fixture, "BTC", tmp_path / "json")
    updates = ParquetDataCatalog(str(tmp_path / "json")).query(FundingRateUpdate, identifiers=[BTC_ID])
    assert [Decimal(str(u.rate)) for u in updates] == [Decimal("0.0000125"), Decimal("-0.0000081"), Decimal("0.0000033")]
    assert updates[0].ts_event == 1769908800000 * 1_000_000


# ----------------------------------------------------------------------------------- Binance


def test_binance_book_sequenced_never_crossed_and_matches_book_ticker(shared_data, tmp_path):
    path = shared_data / "binance" / "raw_ws" / "usdm_btcusdt_20240808.gz"
    summary = import_binance_raw(path, tmp_path, progress=False, batch_size=150_000)
    inst_id = "BTCUSDT-PERP.BINANCE"
    counts = summary.instruments[inst_id]
    assert counts.snapshots == 1 and counts.resyncs == 0 and not any("sequence gap" in n for n in summary.notes)
    catalog = ParquetDataCatalog(str(tmp_path))
    instrument = catalog.instruments()[0]
    assert str(instrument.quote_currency) == "USDT" and instrument.price_increment.as_decimal() == Decimal("0.1")
    deltas = catalog.order_book_deltas(instrument_ids=[inst_id])
    assert len(deltas) == counts.deltas

    tickers = {}
    trade_sides = {}
    with gzip.open(path, "rt") as fh:
        for line in fh:
            msg = json.loads(line.split(" ", 1)[1])
            data = msg.get("data", {})
            if data.get("e") == "bookTicker":
                tickers[data["u"]] = (Decimal(data["b"]), Decimal(data["a"]))
            elif data.get("e") == "trade":
                trade_sides[str(data["t"])] = AggressorSide.SELLER if data["m"] else AggressorSide.BUYER

    book = OrderBook(deltas[0].instrument_id, BookType.L2_MBP)
    matched = 0
    previous_sequence = 0
    for delta in deltas:
        assert delta.sequence >= previous_sequence
        previous_sequence = delta.sequence
        book.apply_delta(delta)
        if delta.flags & F_LAST:
            bid, ask = book.best_bid_price(), book.best_ask_price()
            assert bid < ask, f"crossed at sequence {delta.sequence}"
            if delta.sequence in tickers:
                assert (bid.as_decimal(), ask.as_decimal()) == tickers[delta.sequence]
                matched += 1
    assert matched > 500  # best bid/ask equals Binance's own bookTicker at the same update id

    trades = catalog.trade_ticks(instrument_ids=[inst_id])
    assert len(trades) == counts.trades > 20_000
    assert all(t.aggressor_side == trade_sides[str(t.trade_id)] for t in trades)


# -------------------------------------------------------------------------------------- info


def test_catalog_info_counts_from_metadata(ws_catalog, ws_deltas):
    path, summary = ws_catalog
    info = catalog_info(path)
    assert [i["instrument_id"] for i in info["instruments"]] == [BTC_ID]
    series = {(s["data_type"], s["identifier"]): s for s in info["series"]}
    deltas = series[("order_book_deltas", BTC_ID)]
    assert deltas["rows"] == len(ws_deltas) and deltas["files"] >= 3
    assert deltas["start_ns"] == ws_deltas[0].ts_init and deltas["end_ns"] == ws_deltas[-1].ts_init
    assert series[("trade_tick", BTC_ID)]["rows"] == summary.instruments[BTC_ID].trades
    text = format_catalog_info(info)
    assert "order_book_deltas" in text and BTC_ID in text and f"{len(ws_deltas):,}" in text
