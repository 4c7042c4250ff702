"""``botmm record`` (botmm_nautilus/apps/recorder/): real sockets on 127.0.0.1 against the exchange twin.

The twin replays a small synthetic catalog (BTC and ETH, 120 s of L2 + trades from
``data/synth.generate_l2_day``, looped) at x10 speed; the book/trade comparison also runs on real
Hyperliquid BTC and ETH data (../shared/data ws_2025-09-04, 20 levels a side; skipped when absent). An independent raw WebSocket client
(``WsProbe``) subscribes to the same channels, so what the recorder wrote can be checked against
what the venue sent: the book rebuilt from the recorded deltas against every ``l2Book`` snapshot
the probe saw, and the recorded trades against the probe's trades (tid, side, price, size).
The parser, part rotation at an exact boundary, overlap protection and merge repair are tested by
feeding :class:`Recorder` directly (real catalog files, no exchange mock).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.persistence.catalog import ParquetDataCatalog
from support.twin_client import WsProbe
from support.twin_client import wait_until

from botmm_nautilus.adapters.hyperliquid.instruments import make_perpetual
from botmm_nautilus.apps.cli import main as botmm_main
from botmm_nautilus.apps.recorder import Recorder
from botmm_nautilus.apps.recorder import RecorderError
from botmm_nautilus.apps.recorder import RecordSettings
from botmm_nautilus.apps.recorder import merge_part_files
from botmm_nautilus.apps.recorder import record
from botmm_nautilus.apps.recorder import resolve_urls
from botmm_nautilus.data.catalog_io import file_interval
from botmm_nautilus.data.gaps import read_gaps
from botmm_nautilus.data.hl_ws import import_hyperliquid_ws
from botmm_nautilus.data.info import catalog_info
from botmm_nautilus.data.info import format_catalog_info
from botmm_nautilus.data.synth import generate_l2_day
from botmm_nautilus.engine.book_diff import SnapshotDiffer
from botmm_nautilus.twin import TwinConfig
from botmm_nautilus.twin import TwinServer

COINS = ("BTC", "ETH")
DATA_START_NS = 1_735_689_600_000_000_000  # 2025-01-01T00:00:00Z
SPEED = 10.0
F_LAST = int(RecordFlag.F_LAST)
MS = 1_000_000
HOUR_NS = 3600 * 1_000_000_000
AGGRESSOR = {"B": AggressorSide.BUYER, "A": AggressorSide.SELLER}


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def source_catalog(tmp_path_factory) -> Path:
    """What the twin replays: 120 s of synthetic BTC and ETH (looped by the twin)."""
    path = tmp_path_factory.mktemp("recorder_source")
    catalog = ParquetDataCatalog(str(path))
    catalog.write_data([make_perpetual(c) for c in COINS])
    for coin in COINS:
        deltas, trades = generate_l2_day(coin, DATA_START_NS, 120, seed=7)
        catalog.write_data(deltas)
        catalog.write_data(trades)
    return path


@pytest.fixture(scope="module")
def real_catalog(shared_data, tmp_path_factory) -> Path:
    """Real Hyperliquid BTC and ETH books (20 levels) and trades, 2025-09-04 (skips without ../shared/data)."""
    path = tmp_path_factory.mktemp("recorder_real_source")
    import_hyperliquid_ws(shared_data / "hyperliquid" / "ws_2025-09-04", path, coins=list(COINS), progress=False)
    return path


def start_twin(source_catalog, end_ns: int | None = None, **config) -> TwinServer:
    twin = TwinServer(catalog=source_catalog, coins=list(COINS), speed=SPEED, end_ns=end_ns,
                      config=TwinConfig(loop_replay=True, **config))
    twin.start()
    return twin


def first_five_minutes(catalog_path: Path) -> int:
    """End of the first 5 minutes of a catalog's data (the twin loads only what it replays)."""
    return min(s["start_ns"] for s in catalog_info(catalog_path)["series"]) + 300 * 1_000_000_000


def settings_for(twin: TwinServer, catalog: Path, **kw) -> RecordSettings:
    base = dict(coins=list(COINS), catalog=str(catalog), http_url=twin.url, ws_url=twin.ws_url, flush_seconds=1.0,
                status_seconds=0.0, run_seconds=4.0)
    base.update(kw)
    return RecordSettings(**base)


def run_record(settings: RecordSettings, faults_at: list[tuple[float, callable]] = (), **kw) -> dict:
    def on_started(_rec):
        loop = asyncio.get_running_loop()
        for delay, fn in faults_at:
            loop.call_later(delay, fn)

    return asyncio.run(record(settings, print_fn=lambda _: None, handle_signals=False, on_started=on_started, **kw))


def open_probe(twin: TwinServer) -> WsProbe:
    probe = WsProbe(twin.ws_url)
    for coin in COINS:
        for kind in ("l2Book", "trades"):
            probe.subscribe({"type": kind, "coin": coin})
    wait_until(lambda: all(any(m["data"]["coin"] == c for m in probe.channel("l2Book")) for c in COINS), timeout_s=5)
    return probe


def iid(coin: str) -> str:
    return f"{coin}-USDC-PERP.HL"


def rebuild_states(deltas) -> list[tuple[int, int, tuple, tuple]]:
    """Apply recorded deltas to a Nautilus L2 book; after every message (F_LAST):
    ``(ts_event, ts_init, bids, asks)`` with levels as ``(Decimal px, Decimal sz)``; asserts never crossed."""
    book = OrderBook(deltas[0].instrument_id, BookType.L2_MBP)
    states = []
    for d in deltas:
        book.apply_delta(d)
        if d.flags & F_LAST:
            bids = tuple(_level(lv) for lv in book.bids())
            asks = tuple(_level(lv) for lv in book.asks())
            if bids and asks:
                assert bids[0][0] < asks[0][0], f"crossed book after the message at ts_init {d.ts_init}"
            states.append((d.ts_event, d.ts_init, bids, asks))
    return states


def _level(lv) -> tuple[Decimal, Decimal]:
    return lv.price.as_decimal(), sum((o.size.as_decimal() for o in lv.orders()), Decimal(0))


def wire_levels(snapshot: dict) -> tuple[tuple, tuple]:
    return tuple(tuple((Decimal(lv["px"]), Decimal(lv["sz"])) for lv in side) for side in snapshot["levels"])


def state_at(states, ts_event_ns: int):
    """The book after the last recorded message with ts_event <= ``ts_event_ns`` (None if before all)."""
    found = None
    for state in states:
        if state[0] <= ts_event_ns:
            found = state
        else:
            break
    return found


# ------------------------------------------------------------------------------------------ twin tests


@pytest.mark.parametrize("source", ["synthetic", "real"])
def test_recorded_book_and_trades_match_what_the_venue_sent(source, request, tmp_path):
    source_catalog = request.getfixturevalue("source_catalog" if source == "synthetic" else "real_catalog")
    twin = start_twin(source_catalog, end_ns=first_five_minutes(source_catalog))
    probe = open_probe(twin)
    out = tmp_path / "cat"
    try:
        summary = run_record(settings_for(twin, out, run_seconds=4.0))
    finally:
        probe.close()
        twin.close()
    catalog = ParquetDataCatalog(str(out))
    assert {str(i.id) for i in catalog.instruments()} == {iid(c) for c in COINS}
    probe_books = probe.channel("l2Book")
    probe_trades = {}
    for m in probe.channel("trades"):
        for t in m["data"]:
            probe_trades[str(t["tid"])] = t
    for coin in COINS:
        s = summary["coins"][coin]
        deltas = catalog.order_book_deltas(instrument_ids=[iid(coin)])
        trades = catalog.trade_ticks(instrument_ids=[iid(coin)])
        # what the summary claims is what the catalog holds
        assert len(deltas) == s["deltas"] > 100 and len(trades) == s["trades"] > 20
        assert s["trades"] == s["trades_received"] - s["trades_duplicate"] - s["trades_without_book"] - s["trades_before_book"]
        assert s["gaps"] == 0 and s["malformed"] == 0 and s["clears"] == 1
        # one CLEAR (the first snapshot), timestamps in order
        assert [d.action for d in deltas].count(BookAction.CLEAR) == 1 and deltas[0].action == BookAction.CLEAR
        assert all(a.ts_init <= b.ts_init for a, b in zip(deltas, deltas[1:]))
        assert all(a.ts_event <= b.ts_event for a, b in zip(deltas, deltas[1:]))
        assert all(a.ts_init <= b.ts_init for a, b in zip(trades, trades[1:]))
        # the rebuilt book equals every l2Book snapshot the probe saw inside the recorded span
        states = rebuild_states(deltas)
        snaps = [m["data"] for m in probe_books if m["data"]["coin"] == coin][1:]  # [0] = the probe's own subscribe snapshot
        compared = 0
        for snap in snaps:
            ts = snap["time"] * MS
            if ts > states[-1][0]:
                break
            state = state_at(states, ts)
            if state is None:
                continue
            want_bids, want_asks = wire_levels(snap)
            # the snapshot is the top of the book; levels that left the 20-level window stay beyond it (D1)
            got = (tuple(state[2][: len(want_bids)]), tuple(state[3][: len(want_asks)]))
            assert got == (tuple(want_bids), tuple(want_asks)), f"{coin} book differs from the venue's l2Book at time {snap['time']}"
            for side_got, side_want in ((state[2], want_bids), (state[3], want_asks)):
                if len(side_want) < 20:
                    assert tuple(side_got) == tuple(side_want), f"{coin} thin side differs at {snap['time']}"
            compared += 1
        assert compared >= 20, f"only {compared} {coin} snapshots compared"
        # trades: unique venue ids, the venue's side as aggressor, nothing lost inside the recorded span
        ids = [str(t.trade_id) for t in trades]
        assert len(ids) == len(set(ids))
        for t in trades:
            wire = probe_trades.get(str(t.trade_id))
            if wire is None:
                continue  # printed before the probe subscribed
            assert t.aggressor_side == AGGRESSOR[wire["side"]]
            assert (t.price.as_decimal(), t.size.as_decimal(), t.ts_event) == (Decimal(wire["px"]), Decimal(wire["sz"]), wire["time"] * MS)
        first_ns, last_ns = trades[0].ts_event, trades[-1].ts_event
        expected = {tid for tid, w in probe_trades.items() if w["coin"] == coin and first_ns <= w["time"] * MS <= last_ns}
        assert expected and expected <= set(ids), f"{coin}: {len(expected - set(ids))} venue trades missing"


def test_part_rotation_loses_nothing_and_each_message_lands_in_one_part(source_catalog, tmp_path):
    part_s = 2.0  # exchange time; at x10 a part closes every 0.2 s of wall time
    part_ns = int(part_s * 1e9)
    tapped: list[tuple[str, object, int]] = []
    twin = start_twin(source_catalog)
    out = tmp_path / "cat"
    try:
        summary = run_record(settings_for(twin, out, run_seconds=3.0, part_seconds=part_s, flush_seconds=0.05),
                             tap=lambda ch, data, ts: tapped.append((ch, data, ts)))
    finally:
        twin.close()
    catalog = ParquetDataCatalog(str(out))
    for coin in COINS:
        s = summary["coins"][coin]
        assert s["parts"] >= 8 and s["gaps"] == 0
        # books: replay the received messages through an independent differ -> the same deltas, message by message
        instrument = make_perpetual(coin)
        differ = SnapshotDiffer(instrument)
        pp, sp = instrument.price_precision, instrument.size_precision
        expected_deltas = {}
        for ch, data, ts in tapped:
            if ch == "l2Book" and data["coin"] == coin:
                # ticks and lots by Decimal arithmetic, independently of the venue decoder the recorder uses
                bids = [(int(Decimal(lv["px"]).scaleb(pp)), int(Decimal(lv["sz"]).scaleb(sp))) for lv in data["levels"][0]]
                asks = [(int(Decimal(lv["px"]).scaleb(pp)), int(Decimal(lv["sz"]).scaleb(sp))) for lv in data["levels"][1]]
                out_deltas = differ.diff_ticks(bids, asks, data["time"] * MS, ts)
                if out_deltas:
                    expected_deltas[out_deltas[0].ts_init] = len(out_deltas)
        deltas = catalog.order_book_deltas(instrument_ids=[iid(coin)])
        got = {}  # message (first delta's ts_init; the others are +1 ns each) -> number of deltas
        first = None
        for d in deltas:
            first = d.ts_init if first is None else first
            got[first] = got.get(first, 0) + 1
            if d.flags & int(RecordFlag.F_LAST):
                first = None
        assert got == expected_deltas and len(deltas) == sum(expected_deltas.values()) == s["deltas"]
        # trades: every trade received after the first book message is recorded once
        first_book = min(ts for ch, data, ts in tapped if ch == "l2Book" and data["coin"] == coin)
        floor = next(data["time"] for ch, data, ts in tapped if ch == "l2Book" and ts == first_book)
        expected_tids = {str(t["tid"]) for ch, data, ts in tapped if ch == "trades" and ts > first_book
                         for t in data if t["coin"] == coin and t["time"] >= floor}
        trades = catalog.trade_ticks(instrument_ids=[iid(coin)])
        assert sorted(str(t.trade_id) for t in trades) == sorted(expected_tids)
        # one file per part and stream after the merges; each file holds exactly its part
        for subdir, n_rows in (("order_book_deltas", len(deltas)), ("trade_tick", len(trades))):
            files = sorted((out / "data" / subdir / iid(coin)).glob("*.parquet"))
            assert sum(pq.ParquetFile(f).metadata.num_rows for f in files) == n_rows
            intervals = sorted(file_interval(f) for f in files)
            assert all(a[1] < b[0] for a, b in zip(intervals, intervals[1:])), "file intervals overlap"
            parts_seen = []
            for f in files:
                table = pq.read_table(f, columns=["ts_event"])
                ev = table.column("ts_event").to_pylist()
                part = ev[0] // part_ns  # the first message of a part is the one that opened it
                assert max(ev) < (part + 1) * part_ns, f"{f.name} holds data of a later part"
                parts_seen.append(part)
            assert len(parts_seen) == len(set(parts_seen)), f"{subdir} {coin}: a part split over several files"
    assert summary["merges"] > 0


def test_websocket_drop_is_a_gap_then_clear_and_no_duplicate_trades(source_catalog, tmp_path):
    twin = start_twin(source_catalog, trades_snapshot_on_subscribe=True)  # the venue re-sends recent trades on subscribe
    out = tmp_path / "cat"
    try:
        summary = run_record(settings_for(twin, out, run_seconds=4.0), faults_at=[(1.5, twin.drop_ws)])
    finally:
        twin.close()
    assert summary["ws_reconnects"] >= 1
    gaps, bad = read_gaps(out)
    assert bad == 0 and sorted(g["coin"] for g in gaps) == sorted(COINS)
    assert all(g["reason"] == "disconnect" and g["resolved"] and g["start_ns"] < g["end_ns"] for g in gaps)
    catalog = ParquetDataCatalog(str(out))
    dup = 0
    for gap in gaps:
        coin = gap["coin"]
        s = summary["coins"][coin]
        assert s["gaps"] == 1 and s["clears"] == 2
        dup += s["trades_duplicate"]
        deltas = catalog.order_book_deltas(instrument_ids=[iid(coin)])
        clears = [d.ts_init for d in deltas if d.action == BookAction.CLEAR]
        assert clears == [deltas[0].ts_init, gap["end_ns"]], "the book must restart with CLEAR exactly at the gap's end"
        assert gap["end_exchange_ns"] == next(d.ts_event for d in deltas if d.ts_init == gap["end_ns"])
        assert not [d for d in deltas if gap["start_ns"] < d.ts_init < gap["end_ns"]], "data recorded inside the gap"
        rebuild_states(deltas)  # never crossed, across the gap too
        trades = catalog.trade_ticks(instrument_ids=[iid(coin)])
        ids = [str(t.trade_id) for t in trades]
        assert len(ids) == len(set(ids)) and len(ids) == s["trades"]
        assert not [t for t in trades if gap["start_ns"] < t.ts_init < gap["end_ns"]]
        assert [t for t in trades if t.ts_init > gap["end_ns"]], f"{coin}: no trades recorded after the gap"
    assert dup > 0, "the re-sent recent trades should have been dropped as duplicates"
    text = format_catalog_info(catalog_info(out))
    assert "recorded gaps" in text and text.count("disconnect") == 2


def test_stalled_feed_is_a_stale_gap_and_the_connection_is_rebuilt(source_catalog, tmp_path):
    twin = start_twin(source_catalog)
    out = tmp_path / "cat"
    try:
        summary = run_record(settings_for(twin, out, run_seconds=4.0, stale_seconds=0.6),
                             faults_at=[(1.0, lambda: twin.faults.stall_ws(1.5))])
    finally:
        twin.close()
    gaps, _ = read_gaps(out)
    assert sorted(g["coin"] for g in gaps) == sorted(COINS)
    assert all(g["reason"] == "stale" and g["resolved"] for g in gaps)
    assert all(1.0 <= g["duration_s"] < 3.5 for g in gaps), [g["duration_s"] for g in gaps]
    assert summary["ws_reconnects"] >= 1
    catalog = ParquetDataCatalog(str(out))
    for gap in gaps:
        deltas = catalog.order_book_deltas(instrument_ids=[iid(gap["coin"])])
        assert [d.ts_init for d in deltas if d.action == BookAction.CLEAR][-1] == gap["end_ns"]


def test_botmm_record_cli_end_to_end_and_unknown_coin(source_catalog, tmp_path, capsys):
    twin = start_twin(source_catalog)
    out = tmp_path / "cat"
    try:
        rc = botmm_main(["record", "--coins", "BTC", "eth", "--catalog", str(out), "--url", twin.url, "--run-seconds", "2.5",
                         "--flush-seconds", "1", "--status-seconds", "1", "--json", str(tmp_path / "summary.json")])
        captured = capsys.readouterr()
        assert rc == 0, captured.err
        assert "botmm record summary" in captured.out and "gaps this run: none" in captured.out
        assert "msg/s" in captured.out  # status lines
        summary = json.loads((tmp_path / "summary.json").read_text())
        catalog = ParquetDataCatalog(str(out))
        for coin in COINS:
            assert len(catalog.order_book_deltas(instrument_ids=[iid(coin)])) == summary["coins"][coin]["deltas"] > 0
            assert len(catalog.trade_ticks(instrument_ids=[iid(coin)])) == summary["coins"][coin]["trades"] > 0
        rc = botmm_main(["record", "--coins", "BTC", "DOGE", "--catalog", str(tmp_path / "other"), "--url", twin.url,
                         "--run-seconds", "1"])
        err = capsys.readouterr().err
        assert rc == 2 and "unknown coin(s) DOGE" in err and "available coins (2): BTC, ETH" in err
        assert "Traceback" not in err
    finally:
        twin.close()
    rc = botmm_main(["record", "--coins", "BTC", "--catalog", str(tmp_path / "x"), "--url", twin.url, "--run-seconds", "1"])
    err = capsys.readouterr().err
    assert rc == 2 and "unreachable" in err and "Traceback" not in err


def test_sigint_stops_cleanly_and_flushes(source_catalog, tmp_path):
    twin = start_twin(source_catalog)
    out = tmp_path / "cat"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "botmm_nautilus.apps.cli", "record", "--coins", "BTC", "--catalog", str(out), "--url", twin.url,
         "--flush-seconds", "0", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=Path(__file__).resolve().parents[3],
    )
    try:
        header = proc.stdout.readline()
        assert header.startswith("botmm record: BTC"), header + proc.stderr.read()
        time.sleep(1.5)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        twin.close()
    assert proc.returncode == 0, stderr
    assert "botmm record summary" in stdout and "Traceback" not in stderr
    catalog = ParquetDataCatalog(str(out))
    assert len(catalog.order_book_deltas(instrument_ids=[iid("BTC")])) > 0  # flushed at stop (no periodic flush)


# ------------------------------------------------------------------------------------------ fed directly


class FakeClock:
    def __init__(self, start_ns: int) -> None:
        self.now = start_ns

    def __call__(self) -> int:
        self.now += 1_000_000  # 1 ms per reading
        return self.now


def book(coin: str, time_ms: int, bids, asks) -> dict:
    return {"coin": coin, "time": time_ms,
            "levels": [[{"px": p, "sz": s, "n": 1} for p, s in bids], [{"px": p, "sz": s, "n": 1} for p, s in asks]]}


def trade(coin: str, time_ms: int, tid: int, side: str = "B", px: str = "100001.0", sz: str = "0.01") -> dict:
    return {"coin": coin, "side": side, "px": px, "sz": sz, "time": time_ms, "tid": tid, "hash": "0x0", "users": ["0x0", "0x0"]}


def make_recorder(path: Path, clock_start_ns: int, **kw) -> Recorder:
    kw.setdefault("status_seconds", 0)
    kw.setdefault("flush_seconds", 0)
    rec = Recorder(path, {"BTC": make_perpetual("BTC")}, clock_ns=FakeClock(clock_start_ns), print_fn=lambda _: None, **kw)
    rec.open()
    return rec


def test_malformed_messages_are_counted_logged_and_never_written(tmp_path, caplog):
    t0_ms = 1_735_689_600_000
    rec = make_recorder(tmp_path / "cat", t0_ms * MS)
    good = book("BTC", t0_ms, [("100000.0", "1.0")], [("100001.0", "2.0")])
    rec.on_message("l2Book", good)
    bad_messages = [
        ("l2Book", {"coin": "BTC", "time": t0_ms + 1}),  # no levels
        ("l2Book", book("BTC", t0_ms + 2, [("abc", "1.0")], [("100001.0", "1.0")])),  # not a number
        ("l2Book", book("BTC", t0_ms + 3, [("100000.05", "1.0")], [("100001.0", "1.0")])),  # off the 0.1 tick
        ("l2Book", book("BTC", t0_ms + 4, [("100002.0", "1.0")], [("100001.0", "1.0")])),  # crossed
        ("l2Book", book("BTC", t0_ms + 5, [("100000.0", "1.0"), ("100000.0", "2.0")], [("100001.0", "1.0")])),  # duplicate level
        ("l2Book", {"coin": "BTC", "time": "soon", "levels": [[], []]}),
        ("l2Book", "garbage"),
        ("trades", {"not": "a list"}),
        ("trades", [trade("BTC", t0_ms + 6, 1, side="X")]),
        ("trades", [{"coin": "BTC", "side": "B", "px": "100001.0", "sz": "0.01", "time": t0_ms + 6}]),  # no tid
        ("trades", [trade("BTC", t0_ms + 6, 2, sz="-1")]),
    ]
    for channel, data in bad_messages:
        rec.on_message(channel, data)
    rec.on_message("trades", [trade("BTC", t0_ms + 7, 3, side="A", px="100000.0"), trade("BTC", t0_ms + 7, 4, side="X")])
    rec.on_message("l2Book", book("DOGE", t0_ms + 8, [("1.0", "1")], [("1.1", "1")]))  # not recorded here: ignored
    rec.on_message("allMids", {"mids": {}})
    summary = rec.close()
    assert summary["malformed"] == {"l2Book": 7, "trades": 5}
    assert summary["coins"]["BTC"]["malformed"] == 10  # all but the two messages that name no coin
    assert summary["other_messages"] == 2
    logged = [r.getMessage() for r in caplog.records if r.name == "botmm.recorder"]
    assert any(m.startswith("l2Book: malformed message") and "100002.0" in m and "crossed" in m for m in logged)
    assert any(m.startswith("trades: malformed message") and "'X'" in m for m in logged)
    catalog = ParquetDataCatalog(str(tmp_path / "cat"))
    deltas = catalog.order_book_deltas(instrument_ids=[iid("BTC")])
    assert [d.action for d in deltas] == [BookAction.CLEAR, BookAction.ADD, BookAction.ADD]  # only the good snapshot
    [t] = catalog.trade_ticks(instrument_ids=[iid("BTC")])
    assert (str(t.trade_id), t.aggressor_side, str(t.price)) == ("3", AggressorSide.SELLER, "100000.0")


def test_message_exactly_at_the_hour_goes_to_the_new_part_and_the_book_carries_over(tmp_path):
    hour_ms = (1_735_693_200_000 // 3_600_000) * 3_600_000  # 2025-01-01T01:00:00Z
    rec = make_recorder(tmp_path / "cat", hour_ms * MS - 10 * 1_000_000_000)
    bids = [("100000.0", "1.0")]
    rec.on_message("l2Book", book("BTC", hour_ms - 3000, bids, [("100001.0", "1.0")]))
    rec.flush(wait=True)  # periodic flushes make several files of the first part...
    rec.on_message("trades", [trade("BTC", hour_ms - 2000, 1)])
    rec.on_message("l2Book", book("BTC", hour_ms - 2000, bids, [("100001.0", "0.5")]))
    rec.flush(wait=True)
    rec.on_message("l2Book", book("BTC", hour_ms - 1, bids, [("100001.0", "0.4")]))
    rec.on_message("trades", [trade("BTC", hour_ms, 2)])  # exactly at the boundary: opens the new part
    rec.on_message("l2Book", book("BTC", hour_ms, bids, [("100001.0", "0.3")]))
    rec.on_message("trades", [trade("BTC", hour_ms - 5, 3)])  # late print of the old hour: stays in the open part
    rec.on_message("l2Book", book("BTC", hour_ms + 1, bids, [("100001.0", "0.2")]))
    summary = rec.close()
    parts = rec.part_files()
    first, second = hour_ms * MS // HOUR_NS - 1, hour_ms * MS // HOUR_NS
    assert sorted(parts) == [("BTC", first), ("BTC", second)] and summary["coins"]["BTC"]["parts"] == 2
    assert all(len(files) == 2 for files in parts.values())  # ...merged into one file per data type
    assert summary["merges"] >= 1
    rows = {}
    for key, files in parts.items():
        for f in files:
            table = pq.read_table(f)
            rows[(key[1], f.parent.parent.name)] = table.to_pydict()
    assert [ts // MS for ts in rows[(first, "order_book_deltas")]["ts_event"]] == [hour_ms - 3000] * 3 + [hour_ms - 2000, hour_ms - 1]
    assert [ts // MS for ts in rows[(second, "order_book_deltas")]["ts_event"]] == [hour_ms, hour_ms + 1]
    assert rows[(second, "order_book_deltas")]["action"] == [int(BookAction.UPDATE)] * 2  # no CLEAR at a part boundary
    assert [ts // MS for ts in rows[(first, "trade_tick")]["ts_event"]] == [hour_ms - 2000]
    assert [ts // MS for ts in rows[(second, "trade_tick")]["ts_event"]] == [hour_ms, hour_ms - 5]
    catalog = ParquetDataCatalog(str(tmp_path / "cat"))
    assert len(catalog.order_book_deltas(instrument_ids=[iid("BTC")])) == 7 and len(catalog.trade_ticks()) == 3


def test_overlapping_data_is_refused_kept_or_repaired_never_corrupting_the_catalog(tmp_path):
    t0_ms = 1_735_689_600_000
    path = tmp_path / "cat"
    # data stamped after the local clock: recording would overlap it -> refused before anything is written
    rec = make_recorder(path, t0_ms * MS)
    rec.on_message("l2Book", book("BTC", t0_ms, [("100000.0", "1.0")], [("100001.0", "1.0")]))
    rec.close()
    with pytest.raises(RecorderError, match="after the local clock"):
        make_recorder(path, t0_ms * MS - 60 * 1_000_000_000)
    # a file that appears under the recorder (another writer) makes a flush fail: the data is kept and
    # written by a later flush once the conflict is gone
    rec = make_recorder(path, t0_ms * MS + 10 * 1_000_000_000)
    rec.on_message("l2Book", book("BTC", t0_ms + 10_000, [("100000.0", "1.0")], [("100001.0", "1.0")]))
    rec.on_message("l2Book", book("BTC", t0_ms + 10_001, [("100000.0", "1.0")], [("100001.0", "0.5")]))
    deltas_dir = path / "data" / "order_book_deltas" / iid("BTC")
    blocker = deltas_dir / "2025-01-01T00-00-00-000000000Z_2030-01-01T00-00-00-000000000Z.parquet"
    blocker.write_bytes(b"")
    rec.flush(wait=True)
    assert rec.writer.flush_failures == 1 and "overlapping" in rec.writer.last_flush_error
    blocker.unlink()
    summary = rec.close()
    assert summary["coins"]["BTC"]["deltas"] == 4 and summary["rescue_path"] is None
    deltas = ParquetDataCatalog(str(path)).order_book_deltas(instrument_ids=[iid("BTC")])
    assert len(deltas) == 3 + 4 and [d.action for d in deltas].count(BookAction.CLEAR) == 2
    # a merge interrupted after its rename left the pieces next to the merged file: the next start removes them
    files = sorted(deltas_dir.glob("*.parquet"))
    pieces = [tmp_path / f.name for f in files]
    for f, copy in zip(files, pieces):
        copy.write_bytes(f.read_bytes())
    merged = merge_part_files(files)
    for copy in pieces:
        os.replace(copy, deltas_dir / copy.name)
    (deltas_dir / (merged.name + ".tmp")).write_bytes(b"partial")
    rec = make_recorder(path, t0_ms * MS + 20 * 1_000_000_000)
    assert sorted(Path(p).name for p in rec.repaired) == sorted([merged.name + ".tmp"] + [f.name for f in files])
    rec.close()
    assert sorted(deltas_dir.glob("*")) == [merged]
    assert len(ParquetDataCatalog(str(path)).order_book_deltas(instrument_ids=[iid("BTC")])) == 7


def test_a_second_recorder_for_the_same_coin_is_refused(tmp_path):
    rec = make_recorder(tmp_path / "cat", 1_735_689_600_000 * MS)
    try:
        with pytest.raises(RecorderError, match="another recorder is writing BTC"):
            make_recorder(tmp_path / "cat", 1_735_689_600_000 * MS)
    finally:
        rec.close()
    make_recorder(tmp_path / "cat", 1_735_689_700_000 * MS).close()  # the lock is released on close


def test_url_forms_resolve_like_the_adapter():
    assert resolve_urls(None) == ("https://api.hyperliquid-testnet.xyz", "wss://api.hyperliquid-testnet.xyz/ws")
    assert resolve_urls(None, testnet=False) == ("https://api.hyperliquid.xyz", "wss://api.hyperliquid.xyz/ws")
    assert resolve_urls("http://127.0.0.1:3001/") == ("http://127.0.0.1:3001", "ws://127.0.0.1:3001/ws")
    assert resolve_urls("ws://127.0.0.1:3001/ws") == ("http://127.0.0.1:3001", "ws://127.0.0.1:3001/ws")
    with pytest.raises(RecorderError, match="expected http"):
        resolve_urls("127.0.0.1:3001")
