"""``data.derive.derive_window_snapshots``: the Hyperliquid-like view (top N levels every T ms) of a
full-depth Binance capture. Checked against the full-depth import of the same capture, book by
book, on real data; and the sampling rule (book after every line received at or before the grid
point, empty book while a sequence gap lasts) on a constructed capture."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.persistence.catalog import ParquetDataCatalog
from support.captures import write_capture_head

from botmm_nautilus.data.binance import import_binance_raw
from botmm_nautilus.data.derive import derive_window_snapshots
from botmm_nautilus.engine.book_diff import F_LAST
from botmm_nautilus.errors import ConfigError

BTC_ID = "BTCUSDT-PERP.BINANCE"
BTC_ID_OBJ = InstrumentId.from_str(BTC_ID)
LEVELS = 20
INTERVAL_MS = 500


@pytest.fixture(scope="module")
def full_and_window(shared_data, tmp_path_factory):
    """Catalogs A (full depth) and B (window) of the first 2 minutes of the real BTC capture."""
    tmp = tmp_path_factory.mktemp("derive")
    capture = write_capture_head(shared_data / "binance" / "raw_ws" / "usdm_btcusdt_20240808.gz", tmp / "usdm_btcusdt_head.gz", 120)
    full = import_binance_raw(capture, tmp / "full", progress=False)
    window = derive_window_snapshots(capture, tmp / "window", levels=LEVELS, interval_ms=INTERVAL_MS, progress=False)
    return ParquetDataCatalog(str(tmp / "full")), ParquetDataCatalog(str(tmp / "window")), full, window


def _levels(book_side, n=None) -> list[tuple[str, float]]:
    """``(price text, size)`` of the first ``n`` levels of ``OrderBook.bids()`` / ``asks()``."""
    return [(str(level.price), level.size()) for level in book_side[:n]]


def _messages(deltas) -> list[tuple[int, list]]:
    """Deltas grouped into book messages (up to ``F_LAST``): ``(first delta's ts_init, deltas)``.

    The encoder makes ``ts_init`` unique per delta (+1 ns within a message), so a message's time is
    its first delta's; a message can only be later than its receive time when it follows the
    previous one within a few ns (the buffered updates applied with the REST snapshot)."""
    out, current = [], []
    for d in deltas:
        current.append(d)
        if d.flags & F_LAST:
            out.append((current[0].ts_init, current))
            current = []
    assert not current, "deltas after the last F_LAST"
    return out


# A message of A whose first ts_init lies this close after a grid point may have been received at
# or before it (shifted by the unique-ts_init rule); such grid points are not compared.
AMBIGUOUS_NS = 20_000


@pytest.mark.shared_data
def test_each_sample_is_the_top_levels_of_the_full_book_and_never_crossed(full_and_window):
    cat_full, cat_window, _, summary = full_and_window
    full_messages = _messages(cat_full.order_book_deltas(instrument_ids=[BTC_ID]))
    window_messages = _messages(cat_window.order_book_deltas(instrument_ids=[BTC_ID]))
    clears = [d for _, ds in window_messages for d in ds if d.action == BookAction.CLEAR]
    assert clears == [window_messages[0][1][0]]  # one CLEAR, the first delta: no gap in this capture
    start = window_messages[0][0]
    assert start == full_messages[0][0]  # the first sample is taken where the book synchronised
    end = full_messages[-1][0]
    interval_ns = INTERVAL_MS * 1_000_000
    assert all((ts - start) % interval_ns == 0 for ts, _ in window_messages), "a sample off the grid"
    full_book = OrderBook(BTC_ID_OBJ, BookType.L2_MBP)
    window_book = OrderBook(BTC_ID_OBJ, BookType.L2_MBP)
    i = j = 0
    samples = compared = deep_books = stale_books = 0
    t = start
    while t <= end:
        while i < len(full_messages) and full_messages[i][0] <= t:
            for d in full_messages[i][1]:
                full_book.apply_delta(d)
            i += 1
        while j < len(window_messages) and window_messages[j][0] <= t:
            for d in window_messages[j][1]:
                window_book.apply_delta(d)
            j += 1
        samples += 1
        t_sample, t = t, t + interval_ns
        if i < len(full_messages) and full_messages[i][0] <= t_sample + AMBIGUOUS_NS:
            continue
        full_bids, full_asks = full_book.bids(), full_book.asks()
        window_bids, window_asks = window_book.bids(), window_book.asks()
        # the window: B's best LEVELS levels are the full book's; levels that only left the window
        # stay behind them as stale depth (rule D1 of venue/fill_rules.py, SnapshotDiffer)
        assert _levels(window_bids, LEVELS) == _levels(full_bids, LEVELS), f"bids differ at {t_sample}"
        assert _levels(window_asks, LEVELS) == _levels(full_asks, LEVELS), f"asks differ at {t_sample}"
        assert window_book.best_bid_price() < window_book.best_ask_price(), f"crossed at {t_sample}"
        deep_books += len(full_bids) > LEVELS and len(full_asks) > LEVELS
        stale_books += len(window_bids) > LEVELS or len(window_asks) > LEVELS
        compared += 1
    assert j == len(window_messages)
    assert samples == summary.instruments[BTC_ID].snapshots >= 200
    assert compared >= samples - 3  # only the grid points right at the buffered-update pile are skipped
    assert deep_books == compared  # the full book always reached past the window: the test compared truncations
    assert stale_books > 0  # the window moved: levels that left it were kept as stale depth


@pytest.mark.shared_data
def test_trades_and_instrument_are_those_of_the_full_import(full_and_window):
    cat_full, cat_window, full, window = full_and_window
    assert cat_full.instruments() == cat_window.instruments()
    assert cat_window.instruments()[0].price_increment == cat_full.instruments()[0].price_increment
    key = lambda t: (t.price, t.size, t.aggressor_side, str(t.trade_id), t.ts_event, t.ts_init)  # noqa: E731
    full_trades = [key(t) for t in cat_full.trade_ticks(instrument_ids=[BTC_ID])]
    window_trades = [key(t) for t in cat_window.trade_ticks(instrument_ids=[BTC_ID])]
    assert window_trades == full_trades and len(full_trades) > 1_000
    assert window.instruments[BTC_ID].trades == full.instruments[BTC_ID].trades
    # B is a fraction of A's size: that is the point of a window
    assert window.instruments[BTC_ID].deltas < full.instruments[BTC_ID].deltas / 5


# ------------------------------------------------------------------------- constructed capture


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
            "bids": [["100.00", "1.000"], ["99.90", "2.000"], ["99.80", "3.000"]],
            "asks": [["100.10", "1.500"], ["100.20", "0.500"], ["100.30", "4.000"]]}


def _trade(t: int, t_ms: int) -> dict:
    return {"stream": "btcusdt@trade", "data": {"e": "trade", "E": t_ms, "T": t_ms, "s": "BTCUSDT", "t": t,
                                               "p": "100.10", "q": "0.010", "X": "MARKET", "m": False}}


def test_sampling_rule_and_gap_on_a_constructed_capture(tmp_path):
    messages = [
        (1_000, _depth(5, 9, 4, [["100.00", "1.100"]], [], 1)),  # before the snapshot: dropped (u < L)
        (2_000, _snapshot(10, 2)),  # the book is known from here: grid 2000, 4000, ...
        (3_000, _depth(8, 12, 9, [["100.00", "1.200"]], [["100.10", "0.000"]], 3)),
        (4_000, _trade(1, 4)),
        (4_000, _depth(13, 14, 12, [["99.90", "2.500"]], [], 4)),  # at the grid point: in the 4000 sample
        (5_000, _depth(15, 15, 14, [], [["100.20", "0.700"]], 5)),
        (6_000, _depth(20, 22, 19, [["99.80", "1.000"]], [], 6)),  # pu 19 != 15: gap, no book
        (7_000, _trade(2, 7)),  # dropped (no book)
        (8_000, _snapshot(30, 8)),
        (9_000, _depth(29, 31, 28, [], [["100.20", "0.900"]], 9)),
        (10_000, _trade(3, 10)),
    ]
    path = _capture(tmp_path / "usdm_btcusdt_x.gz", messages)
    summary = derive_window_snapshots(path, tmp_path / "cat", levels=2, interval_ms=0.002, progress=False)  # 2000 ns
    catalog = ParquetDataCatalog(str(tmp_path / "cat"))
    deltas = catalog.order_book_deltas(instrument_ids=[BTC_ID])
    book = OrderBook(BTC_ID_OBJ, BookType.L2_MBP)
    seen = {}
    for ts, message in _messages(deltas):
        for d in message:
            book.apply_delta(d)
        seen[ts] = (_levels(book.bids()), _levels(book.asks()))
    snap = ([("100.00", 1.0), ("99.90", 2.0)], [("100.10", 1.5), ("100.20", 0.5)])
    assert seen == {
        2_000: snap,
        4_000: ([("100.00", 1.2), ("99.90", 2.5)], [("100.20", 0.5), ("100.30", 4.0)]),
        6_000: ([], []),  # the gap: one CLEAR
        8_000: snap,  # CLEAR + snapshot again
        10_000: (snap[0], [("100.10", 1.5), ("100.20", 0.9)]),
    }
    assert [d.ts_init for d in deltas if d.action == BookAction.CLEAR] == [2_000, 6_000, 8_000]
    assert [d.ts_event for d in deltas if d.ts_init == 4_000][0] == 4 * 1_000_000  # exchange time of the last update
    assert [str(t.trade_id) for t in catalog.trade_ticks(instrument_ids=[BTC_ID])] == ["1", "3"]
    counts = summary.instruments[BTC_ID]
    assert counts.resyncs == 1 and counts.trades == 2
    assert any("5 samples, 1 while the book was unknown" in n for n in summary.notes)


@pytest.mark.parametrize(("kwargs", "match"), [({"levels": 0}, "levels must be"), ({"interval_ms": 0}, "interval_ms must be")])
def test_bad_window_arguments(tmp_path, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        derive_window_snapshots(tmp_path / "missing.gz", tmp_path / "cat", progress=False, **kwargs)


def test_cli_derive_snapshots(tmp_path, capsys):
    from botmm_nautilus.apps.cli import main

    path = _capture(tmp_path / "usdm_btcusdt_y.gz", [(2_000, _trade(1, 2)), (2_000, _snapshot(10, 2)), (3_000, _trade(2, 3))])
    assert main(["data", "derive-snapshots", str(path), "--catalog", str(tmp_path / "cat"), "--levels", "0"]) == 2
    assert capsys.readouterr().err.strip() == "error: --levels must be > 0, got 0"
    assert not (tmp_path / "cat").exists()
    assert main(["data", "derive-snapshots", str(path), "--catalog", str(tmp_path / "cat"), "--levels", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "top 1 levels a side sampled every 500 ms" in out and BTC_ID in out
    deltas = ParquetDataCatalog(str(tmp_path / "cat")).order_book_deltas(instrument_ids=[BTC_ID])
    assert [(d.action, str(d.order.price)) for d in deltas] == [
        (BookAction.CLEAR, "0.00"), (BookAction.ADD, "100.00"), (BookAction.ADD, "100.10"),
    ]
