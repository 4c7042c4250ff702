"""SnapshotDiffer: full L2 snapshots -> incremental deltas (synthetic books, no shared data)."""

from __future__ import annotations

import random

import pytest
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import RecordFlag

from botmm_nautilus.adapters.hyperliquid.instruments import make_perpetual
from botmm_nautilus.engine.book_diff import SnapshotDiffer
from botmm_nautilus.errors import DataImportError

F_LAST = int(RecordFlag.F_LAST)
F_SNAPSHOT = int(RecordFlag.F_SNAPSHOT)
SEC = 1_000_000_000


@pytest.fixture()
def btc():
    return make_perpetual("BTC", 5)


def ticks(levels: dict) -> list[tuple[int, int]]:
    """BTC levels price -> size (0.1 tick, 1e-5 lot) as ``(ticks, lots)``, in the given order."""
    return [(round(p * 10), round(q * 1e5)) for p, q in levels.items()]


def diff(differ, bids: dict, asks: dict, ts_event: int, ts_init: int, **where):
    return differ.diff_ticks(ticks(bids), ticks(asks), ts_event, ts_init, **where)


def book_levels(book: OrderBook) -> tuple[dict, dict]:
    bids = {round(lvl.price.as_double(), 1): round(lvl.size(), 5) for lvl in book.bids()}
    asks = {round(lvl.price.as_double(), 1): round(lvl.size(), 5) for lvl in book.asks()}
    return bids, asks


def test_first_snapshot_is_clear_plus_adds_flagged_snapshot(btc):
    differ = SnapshotDiffer(btc)
    out = diff(differ, {100.0: 1.0, 99.9: 2.0}, {100.1: 3.0}, 1, 2)
    assert [d.action for d in out] == [BookAction.CLEAR, BookAction.ADD, BookAction.ADD, BookAction.ADD]
    assert all(d.flags & F_SNAPSHOT for d in out)
    assert [bool(d.flags & F_LAST) for d in out] == [False, False, False, True]
    assert all(d.ts_event == 1 for d in out)
    # ts_init unique and increasing (+1 ns per delta) so that no catalog query can reorder a message
    assert [d.ts_init for d in out] == [2, 3, 4, 5]


def test_incremental_diff_deletes_first_and_flags_last_only(btc):
    differ = SnapshotDiffer(btc)
    diff(differ, {100.0: 1.0, 99.9: 2.0}, {100.1: 3.0, 100.2: 1.0}, 1, 1)
    # bid 100.0 removed, 99.9 resized, ask 100.0 appears (level moved sides), 100.2 unchanged
    out = diff(differ, {99.9: 2.5}, {100.0: 0.5, 100.1: 3.0, 100.2: 1.0}, 2, 2)
    actions = [d.action for d in out]
    assert actions[0] == BookAction.DELETE
    assert set(actions[1:]) == {BookAction.ADD, BookAction.UPDATE}
    assert [bool(d.flags & F_LAST) for d in out] == [False] * (len(out) - 1) + [True]
    assert not any(d.flags & F_SNAPSHOT for d in out)


def test_identical_snapshot_emits_nothing(btc):
    differ = SnapshotDiffer(btc)
    diff(differ, {100.0: 1.0}, {100.1: 1.0}, 1, 1)
    assert diff(differ, {100.0: 1.0}, {100.1: 1.0}, 2, 2) == []
    assert differ.messages == 1 and differ.snapshots == 2


def test_gap_longer_than_threshold_resends_snapshot(btc):
    differ = SnapshotDiffer(btc, gap_threshold_ns=60 * SEC)
    diff(differ, {100.0: 1.0}, {100.1: 1.0}, 0, 0)
    assert diff(differ, {100.0: 2.0}, {100.1: 1.0}, 59 * SEC, 59 * SEC)[0].action == BookAction.UPDATE
    out = diff(differ, {100.0: 2.0}, {100.1: 1.0}, 200 * SEC, 200 * SEC)
    assert out[0].action == BookAction.CLEAR and len(out) == 3
    assert differ.gaps == 1 and differ.resyncs == 1
    differ.resync()
    assert diff(differ, {100.0: 2.0}, {100.1: 1.0}, 201 * SEC, 201 * SEC)[0].action == BookAction.CLEAR
    assert differ.resyncs == 2


def test_crossed_book_names_file_and_row(btc):
    differ = SnapshotDiffer(btc)
    with pytest.raises(DataImportError) as err:
        diff(differ, {100.2: 1.0}, {100.1: 1.0}, 1, 1, file="/x/orderbooks_BTC.csv.gz", row=17)
    assert str(err.value).startswith("orderbooks_BTC.csv.gz row 17: crossed book")


def test_unsorted_or_duplicate_levels_rejected(btc):
    differ = SnapshotDiffer(btc)
    with pytest.raises(DataImportError, match=r"row 3: bid levels not sorted"):
        diff(differ, {99.9: 1.0, 100.0: 1.0}, {100.1: 1.0}, 1, 1, file="f.csv", row=3)
    with pytest.raises(DataImportError, match=r"ask levels not sorted"):
        differ.diff_ticks([(999, 1)], [(1001, 1), (1001, 2)], 1, 1, file="f.csv", row=4)


def test_non_positive_levels_rejected(btc):
    differ = SnapshotDiffer(btc)
    with pytest.raises(DataImportError, match=r"f.csv row 1: bid level 0 has non-positive size 0.00000"):
        differ.diff_ticks([(1000, 0)], [(1001, 1)], 1, 1, file="f.csv", row=1)
    with pytest.raises(DataImportError, match=r"line 2: ask level 1 has non-positive price -0.1"):
        differ.diff_ticks([(1000, 1)], [(1001, 1), (-1, 1)], 1, 1, file="f.lz4", row=2, row_label="line")


def test_random_walk_book_matches_every_snapshot(btc):
    """Replaying the deltas into a Nautilus OrderBook reproduces each snapshot exactly."""
    differ = SnapshotDiffer(btc)
    book = OrderBook(btc.id, BookType.L2_MBP)
    rnd = random.Random(7)
    mid = 1_000_000  # in ticks of 0.1
    sizes: dict[int, int] = {}
    n_deltas = 0
    for t in range(1_500):
        mid += rnd.choice((-2, -1, 0, 0, 0, 1, 2))
        for p in rnd.sample(range(mid - 25, mid + 26), 5):
            sizes[p] = rnd.randint(1, 300_000)
        depth_bid, depth_ask = rnd.randint(5, 20), rnd.randint(5, 20)
        bids = {p / 10: sizes.setdefault(p, 1000) / 1e5 for p in range(mid - 1, mid - 1 - depth_bid, -1)}
        asks = {p / 10: sizes.setdefault(p, 1000) / 1e5 for p in range(mid + 1, mid + 1 + depth_ask)}
        deltas = diff(differ, bids, asks, t, t)
        for d in deltas:
            book.apply_delta(d)
        n_deltas += len(deltas)
        got_bids, got_asks = book_levels(book)
        # the snapshot is the top of the book; beyond a full window (20 levels here) stale depth may follow (D1)
        assert dict(list(got_bids.items())[: len(bids)]) == bids, t
        assert dict(list(got_asks.items())[: len(asks)]) == asks, t
        if len(bids) < 20:
            assert got_bids == bids, t
        if len(asks) < 20:
            assert got_asks == asks, t
    assert differ.messages <= 1_500
    assert n_deltas < 1_500 * 40 / 2  # far fewer than full rebuilds


def test_level_leaving_a_full_window_stays_as_stale_depth_until_seen_again(btc):
    """Rule D1 of venue/fill_rules.py: only a level inside the window's range can be deleted."""
    differ = SnapshotDiffer(btc, window_levels=3)
    book = OrderBook(btc.id, BookType.L2_MBP)

    def apply(bids, asks, t):
        for d in diff(differ, bids, asks, t, t):
            book.apply_delta(d)
        return book_levels(book)

    apply({100.0: 1.0, 99.9: 2.0, 99.8: 3.0}, {100.1: 1.0, 100.2: 2.0, 100.3: 3.0}, 1)
    # the window moves up a tick: 99.8 leaves it (kept), 100.3 ask is still inside (kept as data says)
    bids, asks = apply({100.1: 1.0, 100.0: 1.0, 99.9: 2.0}, {100.2: 2.0, 100.3: 3.0, 100.4: 1.0}, 2)
    assert bids == {100.1: 1.0, 100.0: 1.0, 99.9: 2.0, 99.8: 3.0}  # stale 99.8
    assert asks == {100.2: 2.0, 100.3: 3.0, 100.4: 1.0}  # 100.1 was inside the range: deleted
    # the window comes back over 99.8 and shows it empty: now it is deleted
    bids, _ = apply({100.0: 1.0, 99.9: 2.0, 99.7: 1.0}, {100.1: 1.0, 100.2: 2.0, 100.3: 3.0}, 3)
    assert bids == {100.0: 1.0, 99.9: 2.0, 99.7: 1.0}
    # a side with fewer levels than the window is the whole book: missing levels are deleted
    bids, _ = apply({100.0: 1.0}, {100.1: 1.0, 100.2: 2.0, 100.3: 3.0}, 4)
    assert bids == {100.0: 1.0}


def test_catalog_query_with_a_time_filter_keeps_the_order_of_a_message(btc, tmp_path):
    """Nautilus's filtered catalog queries shuffled records with equal ts_init (the deltas of one
    message): with unique ts_init the written order survives a query with start/end."""
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    differ = SnapshotDiffer(btc)
    rnd = random.Random(3)
    deltas = []
    for t in range(300):
        bids = {round(100.0 - 0.1 * i, 1): rnd.randint(1, 9) / 10 for i in range(20)}
        asks = {round(100.1 + 0.1 * i, 1): rnd.randint(1, 9) / 10 for i in range(20)}
        deltas += diff(differ, bids, asks, 1_000_000_000 * (t + 1), 1_000_000_000 * (t + 1))
    catalog = ParquetDataCatalog(str(tmp_path))
    catalog.write_data([btc])
    catalog.write_data(deltas)
    got = catalog.query(type(deltas[0]), identifiers=[str(btc.id)], start=1, end=10**12)
    assert [d.sequence for d in got] == [d.sequence for d in deltas]
