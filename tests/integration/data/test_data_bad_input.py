"""Bad input: one clear DataImportError naming file and row, and the catalog left untouched.

Every test starts from a catalog holding a previous good import and checks that a failed import
adds no file, removes none and leaves no staging folder behind.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from nautilus_trader.model.enums import BookAction
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from botmm_nautilus.data.binance import import_binance_raw
from botmm_nautilus.data.candles import import_candles
from botmm_nautilus.data.funding import import_funding
from botmm_nautilus.data.hl_s3 import import_hyperliquid_s3
from botmm_nautilus.data.hl_ws import import_hyperliquid_ws
from botmm_nautilus.data.readers import coins_in_file_name
from botmm_nautilus.errors import DataImportError

N_LEVELS = 3
LEVEL_COLUMNS = [f"{side}_{kind}_{i}" for i in range(N_LEVELS) for side, kind in
                 (("bid", "price"), ("bid", "size"), ("ask", "price"), ("ask", "size"))]
BOOK_HEADER = ["timestamp", "sequence", "exchange_timestamp", *LEVEL_COLUMNS]


def book_row(t_s: float, mid: float, size: float = 0.5) -> list:
    row = [f"{t_s:.6f}", int(t_s * 1000), int(t_s * 1000) - 300]
    for i in range(N_LEVELS):
        row += [f"{mid - 1 - i:.1f}", f"{size + i / 100:.5f}", f"{mid + 1 + i:.1f}", f"{size:.5f}"]
    return row


def write_book_csv(path: Path, rows: list[list], header=BOOK_HEADER) -> Path:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def good_book_rows(n: int = 5) -> list[list]:
    return [book_row(1_757_000_000 + i * 0.5, 100_000.0 + (i % 2)) for i in range(n)]


@pytest.fixture()
def catalog(tmp_path) -> Path:
    """A catalog holding a previous good import (three funding records)."""
    records = [{"coin": "BTC", "fundingRate": "0.0000125", "time": 1_700_000_000_000 + i * 3_600_000} for i in range(3)]
    funding = tmp_path / "funding.json"
    funding.write_text(json.dumps(records))
    path = tmp_path / "catalog"
    import_funding(funding, "BTC", path)
    return path


def catalog_files(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())


def assert_fails(catalog: Path, call, *fragments: str) -> str:
    """Run ``call``; it must raise DataImportError whose message contains ``fragments``, and the
    catalog must be exactly as before."""
    before = catalog_files(catalog)
    assert any(f.endswith(".parquet") for f in before)
    with pytest.raises(DataImportError) as err:
        call()
    message = str(err.value)
    for fragment in fragments:
        assert fragment in message, message
    assert catalog_files(catalog) == before
    assert not list(catalog.glob(".staging-*"))
    return message


# -------------------------------------------------------------------------------- missing


def test_missing_files(catalog, tmp_path):
    assert_fails(catalog, lambda: import_candles(tmp_path / "nope-5m.feather", "BTC", catalog), "nope-5m.feather", "file not found")
    assert_fails(catalog, lambda: import_funding(tmp_path / "nope.json", "BTC", catalog), "nope.json")
    assert_fails(catalog, lambda: import_binance_raw(tmp_path / "usdm_x.gz", catalog, progress=False), "usdm_x.gz")
    assert_fails(catalog, lambda: import_hyperliquid_s3([tmp_path / "x.lz4"], catalog, progress=False), "x.lz4")
    assert_fails(catalog, lambda: import_hyperliquid_ws(tmp_path / "no_dir", catalog, progress=False), "no_dir", "not found")
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    assert_fails(catalog, lambda: import_hyperliquid_ws(empty, catalog, progress=False), "no Hyperliquid recording")
    ws = tmp_path / "ws"
    ws.mkdir()
    write_book_csv(ws / "orderbooks_BTC.csv.gz", good_book_rows())
    assert_fails(catalog, lambda: import_hyperliquid_ws(ws, catalog, coins=["ETH"], progress=False), "ETH", "BTC")


# ---------------------------------------------------------------------- Hyperliquid ws CSVs


@pytest.mark.shared_data
def test_truncated_gzip_names_file_and_row(catalog, shared_data, tmp_path):
    src = shared_data / "hyperliquid" / "ws_2025-09-04"
    folder = tmp_path / "ws_cut"
    folder.mkdir()
    raw = (src / "orderbooks_BTC.csv.gz").read_bytes()
    (folder / "orderbooks_BTC.csv.gz").write_bytes(raw[: len(raw) // 2])
    (folder / "trades_BTC.csv.gz").write_bytes((src / "trades_BTC.csv.gz").read_bytes())
    message = assert_fails(
        catalog, lambda: import_hyperliquid_ws(folder, catalog, progress=False), "orderbooks_BTC.csv.gz row ", "truncated",
    )
    row = int(message.split(" row ")[1].split(":")[0])
    assert 1000 < row < 3000  # the rows before the cut are readable; the first unreadable one is named


def test_wrong_columns_named_with_header(catalog, tmp_path):
    folder = tmp_path / "ws"
    folder.mkdir()
    header = [c.replace("bid_price_1", "bid_px_1") for c in BOOK_HEADER]
    write_book_csv(folder / "orderbooks_BTC.csv.gz", good_book_rows(), header=header)
    assert_fails(
        catalog, lambda: import_hyperliquid_ws(folder, catalog, progress=False),
        "orderbooks_BTC.csv.gz line 1 (header): missing column(s) 'bid_price_1'",
    )
    write_book_csv(folder / "orderbooks_BTC.csv.gz", good_book_rows())
    (folder / "trades_BTC.csv").write_text("timestamp,price,size,side,exchange_timestamp\n1757000000.1,100000.0,0.1,buy,1757000000000\n")
    assert_fails(
        catalog, lambda: import_hyperliquid_ws(folder, catalog, progress=False),
        "trades_BTC.csv line 1 (header): missing column(s) 'trade_id'",
    )


def test_crossed_book_row_and_nothing_written_for_any_coin(catalog, tmp_path):
    folder = tmp_path / "ws"
    folder.mkdir()
    write_book_csv(folder / "orderbooks_BTC.csv.gz", good_book_rows())  # good, imported first
    rows = good_book_rows()
    rows[2][3 + 2] = "99998.0"  # row 3: ask_price_0 below bid_price_0 = 99999.0
    for row in rows:  # SOL sizes have 2 decimals
        row[4::2] = ["0.50"] * len(row[4::2])
    write_book_csv(folder / "orderbooks_SOL.csv.gz", rows)  # bad, imported after BTC
    assert_fails(
        catalog, lambda: import_hyperliquid_ws(folder, catalog, progress=False),
        "orderbooks_SOL.csv.gz row 3: crossed book: best bid 99999.0000 >= best ask 99998.0000",
    )


def test_not_a_number_and_bad_side(catalog, tmp_path):
    folder = tmp_path / "ws"
    folder.mkdir()
    rows = good_book_rows()
    rows[1][3 + 4] = "abc"  # row 2, bid_price_1
    write_book_csv(folder / "orderbooks_BTC.csv", rows)
    assert_fails(
        catalog, lambda: import_hyperliquid_ws(folder, catalog, progress=False),
        "orderbooks_BTC.csv row 2: column 'bid_price_1' is not a number ('abc')",
    )
    write_book_csv(folder / "orderbooks_BTC.csv", good_book_rows())
    (folder / "trades_BTC.csv").write_text(
        "timestamp,price,size,side,trade_id,exchange_timestamp\n"
        "1757000000.6,100000.0,0.1,buy,11,1757000000500\n"
        "1757000000.7,100000.0,0.1,X,12,1757000000600\n",
    )
    assert_fails(
        catalog, lambda: import_hyperliquid_ws(folder, catalog, progress=False),
        "trades_BTC.csv row 2: column 'side' is 'X'",
    )


def test_unrepresentable_size_names_column(catalog, tmp_path):
    folder = tmp_path / "ws"
    folder.mkdir()
    rows = good_book_rows()
    rows[3][3 + 1] = "0.123456"  # BTC sizes have 5 decimals
    write_book_csv(folder / "orderbooks_BTC.csv.gz", rows)
    assert_fails(
        catalog, lambda: import_hyperliquid_ws(folder, catalog, progress=False),
        "orderbooks_BTC.csv.gz row 4: column 'bid_size_0' value 0.123456 is not a multiple of 1e-5",
    )


# ---------------------------------------------------------------------------- candles, funding


def test_unsorted_candle_times(catalog, tmp_path):
    path = tmp_path / "BTC-5m-candles.csv"
    path.write_text(
        "date,open,high,low,close,volume\n"
        "2025-01-01T00:00:00Z,100,101,99,100.5,1\n"
        "2025-01-01T00:10:00Z,100,101,99,100.5,1\n"
        "2025-01-01T00:05:00Z,100,101,99,100.5,1\n",
    )
    assert_fails(catalog, lambda: import_candles(path, "BTC", catalog), "BTC-5m-candles.csv row 3: bar times must be sorted and unique")


def test_candle_high_below_close_and_wrong_columns(catalog, tmp_path):
    path = tmp_path / "BTC-1h.csv"
    path.write_text("date,open,high,low,close,volume\n2025-01-01T00:00:00Z,100,101,99,100.5,1\n2025-01-01T01:00:00Z,100,101,99,102,1\n")
    assert_fails(catalog, lambda: import_candles(path, "BTC", catalog), "BTC-1h.csv row 2: high 101 is below max(open, close) = 102")
    path.write_text("date,o,h,l,c,v\n2025-01-01T00:00:00Z,100,101,99,100.5,1\n")
    assert_fails(catalog, lambda: import_candles(path, "BTC", catalog), "BTC-1h.csv line 1 (header): missing column(s) 'open'")


def test_funding_in_percent_rejected(catalog, tmp_path):
    path = tmp_path / "funding.csv"
    path.write_text("time,rate\n2025-01-01T00:00:00Z,0.0012\n2025-01-01T01:00:00Z,1.25\n")
    assert_fails(catalog, lambda: import_funding(path, "BTC", catalog), "funding.csv row 2: funding rate 1.25 is outside")


@pytest.mark.parametrize(("name", "coins"), [
    ("ETH_USDC_USDC-5m-futures.feather", ["ETH"]),  # freqtrade's pair: any coin, known or not
    ("DOGE_USDC_USDC-1h-funding_rate.feather", ["DOGE"]),
    ("kPEPE-USDC-PERP.HL-5m.csv", ["KPEPE"]),  # this project's instrument id
    ("candles_ETH_5m.csv", ["ETH"]),  # a coin the venue rules know, as a part of the name
    ("sol_hourly.csv", ["SOL"]),
    ("BTC-5m-candles.csv", ["BTC"]),
    ("funding.csv", []),
    ("console_5m.csv", []),  # "sol" inside a word is no coin
    ("prices_in_USD.csv", []),
    ("candles_DOGE_5m.csv", []),  # unknown coin outside a pair: not recognised
])
def test_coins_in_file_name(name, coins):
    assert coins_in_file_name(Path(name)) == coins


def test_file_named_for_another_coin_refused_unless_forced(catalog, tmp_path):
    path = tmp_path / "ETH-1h.csv"
    path.write_text("date,open,high,low,close,volume\n2025-01-01T00:00:00Z,100,101,99,100.5,1\n"
                    "2025-01-01T01:00:00Z,100,101,99,100,1\n")
    message = "the file name names ETH but the coin to import is BTC"
    assert_fails(catalog, lambda: import_candles(path, "BTC", catalog), f"ETH-1h.csv: {message}")
    summary = import_candles(path, "BTC", catalog, force=True)
    assert summary.instruments["BTC-USDC-PERP.HL"].bars == 2
    assert "ETH-1h.csv: imported as BTC although the file name names ETH (force)" in summary.notes
    funding = tmp_path / "ETH_USDC_USDC-1h-funding_rate.csv"
    funding.write_text("time,rate\n2025-01-01T00:00:00Z,0.0000125\n")
    assert_fails(catalog, lambda: import_funding(funding, "BTC", catalog), message)


# ------------------------------------------------------------------------------------ S3, Binance


def test_s3_wrong_channel_names_line(catalog, tmp_path):
    import lz4.frame

    good = {"time": "2024-01-01T12:00:01.1", "ver_num": 1, "raw": {"channel": "l2Book", "data": {
        "coin": "BTC", "time": 1704110400000, "levels": [[{"px": "42000.0", "sz": "1.0", "n": 1}], [{"px": "42001.0", "sz": "1.0", "n": 1}]]}}}
    bad = json.loads(json.dumps(good))
    bad["raw"]["channel"] = "trades"
    path = tmp_path / "BTC.lz4"
    path.write_bytes(lz4.frame.compress((json.dumps(good) + "\n" + json.dumps(bad) + "\n").encode()))
    assert_fails(catalog, lambda: import_hyperliquid_s3([path], catalog, progress=False), "BTC.lz4 line 2: channel is 'trades'")


def _capture(path: Path, messages: list[tuple[int, dict]]) -> Path:
    with gzip.open(path, "wt") as fh:
        for local_ns, msg in messages:
            fh.write(f"{local_ns} {json.dumps(msg)}\n")
    return path


def _depth(U: int, u: int, pu: int, bids, asks, t_ms: int) -> dict:
    return {"stream": "btcusdt@depth@0ms", "data": {"e": "depthUpdate", "E": t_ms, "T": t_ms, "s": "BTCUSDT",
                                                   "U": U, "u": u, "pu": pu, "b": bids, "a": asks}}


def _snapshot(last_id: int, t_ms: int) -> dict:
    return {"lastUpdateId": last_id, "E": t_ms, "T": t_ms,
            "bids": [["100.00", "1.000"], ["99.90", "2.000"]], "asks": [["100.10", "1.500"], ["100.20", "0.500"]]}


def _trade(t: int, t_ms: int, buyer_is_maker: bool) -> dict:
    return {"stream": "btcusdt@trade", "data": {"e": "trade", "E": t_ms, "T": t_ms, "s": "BTCUSDT", "t": t,
                                               "p": "100.10", "q": "0.010", "X": "MARKET", "m": buyer_is_maker}}


def test_binance_without_snapshot_is_an_error(catalog, tmp_path):
    path = _capture(tmp_path / "usdm_btcusdt_x.gz", [(1, _depth(1, 5, 0, [["100.00", "1.0"]], [], 1))])
    assert_fails(catalog, lambda: import_binance_raw(path, catalog, progress=False), "usdm_btcusdt_x.gz", "no REST depth snapshot")


def test_binance_gap_marks_empty_book_and_resyncs_on_next_snapshot(tmp_path):
    messages = [
        (1_000, _depth(5, 9, 4, [["100.00", "1.100"]], [], 1)),  # before the snapshot: buffered, u < L dropped
        (2_000, _snapshot(10, 2)),
        (3_000, _depth(8, 12, 9, [["100.00", "1.200"]], [["100.10", "0.000"]], 3)),  # spans L=10: first applied
        (4_000, _trade(1, 4, buyer_is_maker=True)),
        (5_000, _depth(13, 15, 12, [], [["100.30", "0.700"]], 5)),
        (6_000, _depth(20, 22, 19, [["99.80", "1.000"]], [], 6)),  # pu 19 != 15: gap
        (7_000, _trade(2, 7, buyer_is_maker=False)),  # no book in sync: dropped
        (8_000, _snapshot(30, 8)),
        (9_000, _depth(29, 31, 28, [], [["100.20", "0.900"]], 9)),
        (10_000, _trade(3, 10, buyer_is_maker=False)),
    ]
    path = _capture(tmp_path / "usdm_btcusdt_gap.gz", messages)
    summary = import_binance_raw(path, tmp_path / "cat", progress=False)
    counts = summary.instruments["BTCUSDT-PERP.BINANCE"]
    assert counts.snapshots == 2 and counts.resyncs == 1
    assert any("sequence gap at line 6: pu=19 != previous u=15" in n for n in summary.notes)
    catalog = ParquetDataCatalog(str(tmp_path / "cat"))
    deltas = catalog.order_book_deltas(instrument_ids=["BTCUSDT-PERP.BINANCE"])
    clears = [d for d in deltas if d.action == BookAction.CLEAR]
    assert [c.ts_init for c in clears] == [2_000, 6_000, 8_000]  # snapshot, gap (empty book), resync
    assert not any(d.ts_init == 6_000 and d.action != BookAction.CLEAR for d in deltas)
    trades = catalog.trade_ticks(instrument_ids=["BTCUSDT-PERP.BINANCE"])
    assert [str(t.trade_id) for t in trades] == ["1", "3"]
    assert [t.aggressor_side.name for t in trades] == ["SELLER", "BUYER"]

    # without the second snapshot the data after the gap is dropped and the summary says so
    path = _capture(tmp_path / "usdm_btcusdt_gap2.gz", messages[:7])
    summary = import_binance_raw(path, tmp_path / "cat2", progress=False)
    assert any("no snapshot after the last gap" in n for n in summary.notes)


@pytest.mark.shared_data
def test_binance_truncated_capture(catalog, shared_data, tmp_path):
    raw = (shared_data / "binance" / "raw_ws" / "usdm_ethusdt_20240808.gz").read_bytes()
    path = tmp_path / "usdm_ethusdt_cut.gz"
    path.write_bytes(raw[:200_000])
    assert_fails(catalog, lambda: import_binance_raw(path, catalog, progress=False), "usdm_ethusdt_cut.gz line ", "truncated")


def test_error_text_and_pickle():
    import pickle

    err = DataImportError("/data/orderbooks_BTC.csv.gz", "column 'bid_price_3' is not a number ('abc')", row=1234, field="bid_price_3")
    assert str(err) == "orderbooks_BTC.csv.gz row 1234: column 'bid_price_3' is not a number ('abc')"
    assert err.file == "/data/orderbooks_BTC.csv.gz" and err.row == 1234 and err.field == "bid_price_3"
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.field == "bid_price_3"
    assert str(DataImportError("x.lz4", "cut", row=7, row_label="line")) == "x.lz4 line 7: cut"
    assert str(DataImportError(None, "no input files given")) == "no input files given"
