"""``import-l2-snapshots`` on the real StandX recording (two hourly files) and on the Hyperliquid
recorder's wide CSV; the Hyperliquid WS importer's replay order read back from the catalog.

Expected figures are computed here from the raw files with pandas (an independent path), never
copied from a run.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.book import OrderBook
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from botmm_nautilus.apps.cli import main as cli_main
from botmm_nautilus.data.hl_ws import import_hyperliquid_ws
from botmm_nautilus.data.info import catalog_info
from botmm_nautilus.data.replay_order import trades_after_later_book
from botmm_nautilus.data.snapshots import import_l2_snapshots
from botmm_nautilus.errors import DataImportError

IID = "BTC-USD-PERP.STANDX"
HOURS = ("2026-01-06_00", "2026-01-06_01")


@pytest.fixture(scope="module")
def standx_dir(shared_data):
    folder = shared_data / "standx" / "btc_usd_perp"
    if not folder.is_dir():
        pytest.skip(f"StandX recording not found at {folder}")
    return folder


@pytest.fixture(scope="module")
def standx_import(standx_dir, tmp_path_factory):
    cat = tmp_path_factory.mktemp("standx_cat")
    summary = import_l2_snapshots(standx_dir, cat, IID, match="*2026-01-06_0[01].parquet", progress=False)
    return cat, summary


def _raw(standx_dir, kind):
    return pd.concat([pd.read_parquet(standx_dir / f"{kind}_BTC-USD_{h}.parquet") for h in HOURS], ignore_index=True)


def _stored(cat, cls):
    return ParquetDataCatalog(str(cat)).query(cls, identifiers=[IID])


def test_snapshots_deduplicated_and_book_replays_to_the_last_snapshot(standx_import, standx_dir):
    cat, summary = standx_import
    raw = _raw(standx_dir, "orderbook")
    unique = raw.drop_duplicates("timestamp")
    counts = summary.instruments[IID]
    assert counts.snapshots == len(unique) and len(raw) == 2 * len(unique)  # StandX writes every snapshot twice
    deltas = _stored(cat, OrderBookDelta)
    assert len(deltas) == counts.deltas
    assert sum(1 for d in deltas if d.flags & RecordFlag.F_LAST) == counts.book_messages
    book = OrderBook(deltas[0].instrument_id, BookType.L2_MBP)
    for d in deltas:
        book.apply_delta(d)
    last = unique.iloc[-1]
    # the snapshot is the top of the book; levels that left the 20-level window stay behind it (D1)
    n_bids, n_asks = len(last.bid_prices), len(last.ask_prices)
    assert [float(lvl.price) for lvl in book.bids()][:n_bids] == pytest.approx(list(last.bid_prices))
    assert [lvl.size() for lvl in book.bids()][:n_bids] == pytest.approx(list(last.bid_quantities))
    asks = [float(lvl.price) for lvl in book.asks()][:n_asks]
    if last.bid_prices[0] == last.ask_prices[0]:  # locked: its ask bucket is stored one tick up
        assert asks[0] == pytest.approx(last.ask_prices[0] + 0.1)
    else:
        assert asks == pytest.approx(list(last.ask_prices))
    assert ParquetDataCatalog(str(cat)).instruments()[0].quote_currency.code == "USDC"


def test_aggressor_inferred_by_the_quote_rule_against_the_book_before(standx_import, standx_dir):
    cat, summary = standx_import
    trades = _stored(cat, TradeTick)
    raw_trades = _raw(standx_dir, "trades")
    assert (raw_trades.side == "SELL").all()  # the recorder bug the inference is for
    book = _raw(standx_dir, "orderbook").drop_duplicates("timestamp")[["timestamp", "best_bid", "best_ask"]]
    merged = pd.merge_asof(raw_trades[["timestamp", "price"]], book, on="timestamp", allow_exact_matches=False)
    merged = merged.dropna(subset=["best_bid"])  # trades before the first book are dropped
    assert len(trades) == len(merged)
    level = np.floor(merged.price.to_numpy() * 10 + 1e-6)
    bid, ask = np.rint(merged.best_bid.to_numpy() * 10), np.rint(merged.best_ask.to_numpy() * 10)
    expect_buy = (level >= ask) & (level > bid)
    expect_sell = (level <= bid) & (level < ask)
    got = np.array([t.aggressor_side for t in trades])
    assert (got[expect_buy] == AggressorSide.BUYER).all() and (got[expect_sell] == AggressorSide.SELLER).all()
    note = next(n for n in summary.notes if n.startswith("aggressor:"))
    assert f"{int(expect_buy.sum())} by quote ask" in note and f"{int(expect_sell.sum())} by quote bid" in note
    assert any("constant" in n for n in summary.notes)
    buyers = np.count_nonzero(got == AggressorSide.BUYER) / len(got)
    assert 0.3 < buyers < 0.7, "a real market has both sides"
    # prices floored onto the 0.1 book grid; sizes exact
    assert [float(t.price) for t in trades[:8]] == pytest.approx(list(np.floor(merged.price[:8] * 10 + 1e-6) / 10))
    assert sum(float(t.size) for t in trades) == pytest.approx(merged.shape[0] and raw_trades.loc[merged.index, "quantity"].sum())


def test_exchange_order_removes_misordered_trades(standx_import):
    cat, _ = standx_import
    deltas = [d for d in _stored(cat, OrderBookDelta) if d.flags & RecordFlag.F_LAST]
    trades = _stored(cat, TradeTick)
    assert all(b.ts_init <= a.ts_init for b, a in zip(trades, trades[1:]))
    count = trades_after_later_book([d.ts_init for d in deltas], [d.ts_event for d in deltas],
                                    [t.ts_init for t in trades], [t.ts_event for t in trades])
    assert count == 0


def test_the_108s_gap_is_logged_and_listed_by_info(standx_dir, tmp_path, capsys):
    cat = tmp_path / "cat"
    code = cli_main(["data", "import-l2-snapshots", str(standx_dir), "--instrument", IID, "--catalog", str(cat),
                     "--match", "*2026-01-06_19.parquet", "--quiet"])
    assert code == 0
    book = pd.read_parquet(standx_dir / "orderbook_BTC-USD_2026-01-06_19.parquet", columns=["timestamp"])
    ts = book.timestamp.drop_duplicates().astype("int64").to_numpy()
    longest = int(np.diff(ts).max())
    assert longest > 60e9  # the MANIFEST's 108 s gap
    gaps = catalog_info(cat)["gaps"]
    assert len(gaps) == 1 and gaps[0]["end_ns"] - gaps[0]["start_ns"] == longest
    assert gaps[0]["instrument_id"] == IID
    capsys.readouterr()
    assert cli_main(["data", "info", "--catalog", str(cat)]) == 0
    assert "import: no book for more than 60 s" in capsys.readouterr().out
    # re-importing with --replace does not duplicate the gap
    assert cli_main(["data", "import-l2-snapshots", str(standx_dir), "--instrument", IID, "--catalog", str(cat),
                     "--match", "*2026-01-06_19.parquet", "--quiet", "--replace"]) == 0
    assert len(catalog_info(cat)["gaps"]) == 1


def test_wide_csv_gives_the_same_book_as_the_hyperliquid_importer(shared_data, tmp_path):
    ws = shared_data / "hyperliquid" / "ws_2025-09-04"
    folder = tmp_path / "btc"
    folder.mkdir()
    for name in ("orderbooks_BTC.csv.gz", "trades_BTC.csv.gz"):
        shutil.copy(ws / name, folder / name)
    ref = import_hyperliquid_ws(ws, tmp_path / "ref", coins=["BTC"], progress=False).instruments["BTC-USDC-PERP.HL"]
    summary = import_l2_snapshots(folder, tmp_path / "cat", "BTC-USDC-PERP.HLX", progress=False)
    got = summary.instruments["BTC-USDC-PERP.HLX"]
    assert (got.deltas, got.book_messages, got.trades) == (ref.deltas, ref.book_messages, ref.trades)
    # identical repeats (same exchange time and levels) are dropped here; the HL importer diffs them to nothing
    repeats = sum(int(n.split()[1]) for n in summary.notes if n.startswith("dropped") and "repeated snapshots" in n)
    assert got.snapshots + repeats == ref.snapshots
    assert any(n.startswith("aggressor:") and n.endswith(f"{ref.trades} from the recorded side") for n in summary.notes)


def test_off_grid_book_value_names_file_row_and_column(tmp_path):
    folder = tmp_path / "rec"
    folder.mkdir()
    frame = pd.DataFrame({
        "timestamp": pd.to_datetime([1_700_000_000_000, 1_700_000_000_500], unit="ms", utc=True),
        "bid_prices": [[100.0, 99.9], [100.0, 99.95]],
        "bid_quantities": [[1.0, 2.0], [1.0, 2.0]],
        "ask_prices": [[100.1, 100.2], [100.1, 100.2]],
        "ask_quantities": [[1.0, 1.0], [1.0, 1.0]],
    })
    frame.to_parquet(folder / "orderbook_X_1.parquet")
    with pytest.raises(DataImportError, match=r"orderbook_X_1.parquet row 2: column 'bid_prices' value 99.95 is not .* multiple of 0.1"):
        import_l2_snapshots(folder, tmp_path / "cat", "X-PERP.TEST", tick="0.1", progress=False)
    assert not (tmp_path / "cat" / "data").exists()


def test_hyperliquid_ws_default_order_replays_no_trade_after_a_later_book(shared_data, tmp_path):
    ws = shared_data / "hyperliquid" / "ws_2025-09-04"
    figures = {}
    for order_by in ("exchange", "receive"):
        cat = tmp_path / order_by
        summary = import_hyperliquid_ws(ws, cat, coins=["BTC"], progress=False, **({} if order_by == "exchange" else {"order_by": order_by}))
        catalog = ParquetDataCatalog(str(cat))
        every = catalog.query(OrderBookDelta, identifiers=["BTC-USDC-PERP.HL"])
        # one per message: its first delta (the message's ts_init; the others are +1 ns each)
        deltas = [d for i, d in enumerate(every) if i == 0 or every[i - 1].flags & RecordFlag.F_LAST]
        trades = catalog.query(TradeTick, identifiers=["BTC-USDC-PERP.HL"])
        figures[order_by] = trades_after_later_book([d.ts_init for d in deltas], [d.ts_event for d in deltas],
                                                    [t.ts_init for t in trades], [t.ts_event for t in trades])
        assert any(f"later exchange time: {figures[order_by]} of {len(trades)}" in n for n in summary.notes)
    assert figures["exchange"] == 0
    assert figures["receive"] > 0.05 * len(trades)  # trades reach the recorder later than books
