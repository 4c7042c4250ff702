"""End to end: the twin replays a small Nautilus ParquetDataCatalog and the SDK trades against it;
plus the blocking ``serve()`` entry point of the ``botmm twin`` command."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from decimal import Decimal as D
from pathlib import Path

import pytest
from eth_account import Account
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from nautilus_trader.model.data import Bar
from nautilus_trader.model.data import BarType
from nautilus_trader.model.data import BookOrder
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity
from nautilus_trader.persistence.catalog import ParquetDataCatalog
from support.twin_client import wait_until

from botmm_nautilus.adapters.hyperliquid.instruments import make_perpetual
from botmm_nautilus.twin import TwinClock
from botmm_nautilus.twin import TwinServer
from botmm_nautilus.twin import serve
from botmm_nautilus.twin.clock import wall_ms
from botmm_nautilus.twin.errors import TwinConfigError
from botmm_nautilus.twin.replay import CatalogDataError
from botmm_nautilus.twin.replay import load_catalog

DATA_START_NS = 1_735_689_600_000_000_000  # 2025-01-01T00:00:00Z
STEP_NS = 100_000_000  # 100 ms
N_STEPS = 300


def _delta(iid, action, side, px, sz, ts, flags=0):
    order = BookOrder(side, Price(px, 1), Quantity(sz, 5), 0)
    return OrderBookDelta(iid, action, order, flags, 0, ts, ts)


def write_catalog(path) -> None:
    """BTC: 5 bid levels 100000..99996 and 5 ask levels 100001..100005 (1.0 each), then 300 steps of
    size updates at 100 ms; sellers print 0.3 at 100000 every 10 steps and, from step 200, 0.3 at 99999."""
    inst = make_perpetual("BTC")
    iid = inst.id
    deltas = [OrderBookDelta.clear(iid, 0, DATA_START_NS, DATA_START_NS)]
    levels = [(OrderSide.BUY, 100000 - i) for i in range(5)] + [(OrderSide.SELL, 100001 + i) for i in range(5)]
    for j, (side, px) in enumerate(levels):
        flags = int(RecordFlag.F_SNAPSHOT) | (int(RecordFlag.F_LAST) if j == len(levels) - 1 else 0)
        deltas.append(_delta(iid, BookAction.ADD, side, px, 1.0, DATA_START_NS, flags))
    trades = []
    for step in range(1, N_STEPS + 1):
        ts = DATA_START_NS + step * STEP_NS
        side, px = levels[step % len(levels)]
        if px in (100000, 99999):  # keep the two top bids displayed at 1.0 so the test's queue is known
            side, px = OrderSide.SELL, 100005
        deltas.append(_delta(iid, BookAction.UPDATE, side, px, 1.0 + (step % 7) / 10, ts, int(RecordFlag.F_LAST)))
        if step % 10 == 0:
            trade_px = 100000 if step < 200 else 99999
            trades.append(TradeTick(iid, Price(trade_px, 1), Quantity(0.3, 5), AggressorSide.SELLER,
                                    TradeId(f"T{step}"), ts, ts))
    # three 1-minute bars that close before the replay starts: candle history for warm-up
    bar_type = BarType.from_str(f"{iid}-1-MINUTE-LAST-EXTERNAL")
    bars = [Bar(bar_type, Price(99990 + k, 1), Price(99995 + k, 1), Price(99980 + k, 1), Price(99991 + k, 1),
                Quantity(2.5, 5), DATA_START_NS - (2 - k) * 60 * 10**9, DATA_START_NS - (2 - k) * 60 * 10**9)
            for k in range(3)]
    catalog = ParquetDataCatalog(str(path))
    catalog.write_data([inst])
    catalog.write_data(deltas)
    catalog.write_data(trades)
    catalog.write_data(bars)


@pytest.fixture(scope="module")
def catalog_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("twin_catalog")
    write_catalog(path)
    return path


def test_catalog_replay_end_to_end_with_sdk(catalog_path):
    data = load_catalog(catalog_path, ["BTC"])
    assert data.coins[0].sz_decimals == 5 and data.coins[0].max_leverage == 40
    assert len(data.events) == 1 + 10 + N_STEPS + N_STEPS // 10
    start = wall_ms() // 1000 * 1000
    twin = TwinServer(catalog=catalog_path, coins=["BTC"], clock=TwinClock.manual(start))  # rebased onto `start`
    try:
        url = twin.start()
        wallet = Account.create()
        twin.create_account(wallet.address)
        ex = Exchange(wallet, base_url=url)
        info = Info(url, skip_ws=True)
        assert info.l2_snapshot("BTC")["levels"][0][0] == {"px": "100000.0", "sz": "1.0", "n": 1}
        res = ex.order("BTC", True, 0.01, 99999, {"limit": {"tif": "Alo"}})
        oid = res["response"]["data"]["statuses"][0]["resting"]["oid"]
        assert twin.queue_ahead(wallet.address, oid) == D("1.0")
        # steps 10..190 print at 100000 (above our bid): nothing for us
        twin.advance_to(start + 19_000)
        assert twin.fills(wallet.address) == []
        # from step 200 sellers print 0.3 at 99999: prints at 20, 21, 22 s consume 0.9 of the 1.0 ahead,
        # the fourth (23 s) consumes the last 0.1 and fills our 0.01
        twin.advance_to(start + 22_999)
        assert twin.fills(wallet.address) == [] and twin.queue_ahead(wallet.address, oid) == D("0.1")
        twin.advance_to(start + 23_000)
        [fill] = twin.fills(wallet.address)
        assert (fill["px"], fill["sz"], fill["crossed"], fill["time"]) == ("99999.0", "0.01", False, start + 23_000)
        twin.advance_to(start + 40_000)  # past the end of the data: the market stops
        summary = twin.state_summary()
        assert summary["events_remaining"] == 0 and summary["events_applied"] == len(data.events)
        candles = info.candles_snapshot("BTC", "1m", start - 600_000, start + 60_000)
        history, replayed = candles[:3], candles[3:]
        minute = (start - 180_000) // 60_000 * 60_000  # rebased like the data, floored to the twin's minutes
        assert [c["t"] for c in history] == [minute, minute + 60_000, minute + 120_000]
        assert history[0]["o"] == "99990.0" and history[2]["c"] == "99993.0"
        assert sum(D(c["v"]) for c in replayed) == D("0.3") * (N_STEPS // 10)
        assert info.user_state(wallet.address)["assetPositions"][0]["position"]["szi"] == "0.01"
    finally:
        twin.close()


def test_missing_catalog_and_coin_give_clear_errors(catalog_path, tmp_path):
    with pytest.raises(CatalogDataError, match="catalog folder not found"):
        load_catalog(tmp_path / "nope", ["BTC"])
    with pytest.raises(CatalogDataError, match="no order book deltas or trades for ETH-USDC-PERP.HL"):
        load_catalog(catalog_path, ["ETH"])


def test_serve_prints_url_and_serves_until_stopped(catalog_path):
    lines: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=serve,
        kwargs=dict(catalog=catalog_path, coins=["btc"], port=0, speed=50.0, balance=2500, loop=True,
                    auto_create_accounts=True, print_fn=lines.append, stop_event=stop),
        daemon=True,
    )
    thread.start()
    try:
        first = wait_until(lambda: next((x for x in lines if "listening on" in x), None), timeout_s=20)
        assert first.startswith("Hyperliquid twin listening on http://127.0.0.1:")
        url = first.split(" ")[4]
        info = Info(url, skip_ws=True)
        assert info.meta()["universe"][0]["name"] == "BTC"
        assert "BTC" in info.all_mids()
        wallet = Account.create()  # paper-trading mode: any key gets an account with the given balance
        ex = Exchange(wallet, base_url=url)
        res = ex.order("BTC", True, 0.001, 90000, {"limit": {"tif": "Alo"}})
        assert "resting" in res["response"]["data"]["statuses"][0]
        assert info.user_state(wallet.address)["marginSummary"]["accountValue"] == "2500.0"
        # the replay runs on its own at x50 and loops: 30 s of data pass in well under 2 s
        wait_until(lambda: len(info.candles_snapshot("BTC", "1m", 0, 2**62)) > 0, timeout_s=10)
    finally:
        stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive()


def test_serve_reports_user_errors_in_one_line(catalog_path, tmp_path):
    from botmm_nautilus.twin.errors import TwinConfigError as ConfigError

    with pytest.raises(CatalogDataError, match="catalog folder not found"):
        serve(tmp_path / "missing", ["BTC"], port=0, print_fn=lambda _: None)
    with TwinServer(catalog=catalog_path, coins=["BTC"]) as busy:
        with pytest.raises(ConfigError, match="cannot serve the twin"):
            serve(catalog_path, ["BTC"], port=busy.port, print_fn=lambda _: None, stop_event=threading.Event())
    (tmp_path / "accounts.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="accounts.json: expected a JSON object"):
        serve(catalog_path, ["BTC"], port=0, accounts_file=tmp_path / "accounts.json", print_fn=lambda _: None)


# ------------------------------------------------------------------ ``botmm twin``: accounts, host, start-up lines


def _serve_in_thread(**kwargs) -> tuple[threading.Thread, threading.Event, list[str]]:
    lines: list[str] = []
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            serve(print_fn=lines.append, stop_event=stop, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
            lines.append(f"raised {exc!r}")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, stop, lines


def _listening(lines: list[str]) -> str:
    return wait_until(lambda: next((x for x in lines if "listening on" in x or x.startswith("raised")), None),
                      timeout_s=30)


def test_serve_refuses_an_unknown_or_tampered_signer_unless_auto_account(catalog_path):
    """A signature that recovers an address the twin does not know gets the venue's error and creates
    no account (the old ``botmm twin`` gave every recovered signer a funded account, so a tampered
    order rested on a new random account and a signing bug passed paper trading)."""
    import requests

    from support.twin_client import post
    from support.twin_client import signed_exchange_body

    funded = Account.create()
    thread, stop, lines = _serve_in_thread(catalog=catalog_path, coins=["BTC"], port=0, speed=1.0,
                                           fund={funded.address.lower(): D(5000)})
    try:
        url = _listening(lines).split(" ")[4]
        action = {"type": "order", "orders": [{"a": 0, "b": True, "p": "99990", "s": "0.01", "r": False,
                                               "t": {"limit": {"tif": "Alo"}}}], "grouping": "na"}
        body = signed_exchange_body(funded, action)
        body["action"]["orders"][0]["p"] = "99991"  # tampered after signing: recovers some other address
        status, text = post(url, "/exchange", body)
        assert status == 200
        err = json.loads(text)
        assert err["status"] == "err" and re.fullmatch(r"User or API Wallet 0x[0-9a-f]{40} does not exist\.", err["response"])
        stranger = Account.create()
        res = Exchange(stranger, base_url=url).order("BTC", True, 0.01, 99990, {"limit": {"tif": "Alo"}})
        assert res == {"status": "err", "response": f"User or API Wallet {stranger.address.lower()} does not exist."}
        # the venue's state: only the funded account exists, and nothing rests anywhere
        state = requests.get(url + "/_twin/state", timeout=5).json()
        assert set(state["accounts"]) == {funded.address.lower()}
        acct = state["accounts"][funded.address.lower()]
        assert D(acct["balance_usd"]) == 5000 and acct["open_orders"] == 0
        # the funded key trades normally
        ok = Exchange(funded, base_url=url).order("BTC", True, 0.01, 99990, {"limit": {"tif": "Alo"}})
        assert "resting" in ok["response"]["data"]["statuses"][0]
    finally:
        stop.set()
        thread.join(timeout=20)


def test_non_loopback_host_is_refused_without_allow_remote(catalog_path):
    """``botmm twin --host 0.0.0.0`` would expose the unauthenticated /_twin/* endpoints: one error line,
    exit status 2, nothing served (the old command served on it)."""
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("botmm")), "twin", "--catalog", str(catalog_path), "--coins", "BTC",
         "--host", "0.0.0.0", "--port", "0"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("error: --host 0.0.0.0 is not a loopback address") and "--allow-remote" in proc.stderr
    assert "listening" not in proc.stdout
    with pytest.raises(TwinConfigError, match="not a loopback address"):
        TwinServer(catalog=catalog_path, coins=["BTC"], host="0.0.0.0")
    # with the flag it serves
    thread, stop, lines = _serve_in_thread(catalog=catalog_path, coins=["BTC"], host="0.0.0.0", port=0,
                                           allow_remote=True)
    try:
        assert _listening(lines).startswith("Hyperliquid twin listening on http://0.0.0.0:")
    finally:
        stop.set()
        thread.join(timeout=20)


def test_listening_line_names_the_replay_window_and_it_starts_at_the_first_book_data(tmp_path):
    """A catalog that also holds funding from 2023 (and after the market data) replays the book data:
    the first replayed event is the first book delta, the last the last book/trade, funding only
    inside (the old loader started the replay at the first funding record, in 2023)."""
    from nautilus_trader.model.data import FundingRateUpdate

    write_catalog(tmp_path)
    iid = make_perpetual("BTC").id
    hour_ns = 3_600 * 10**9
    times = [1_682_899_200 * 10**9, DATA_START_NS - 24 * hour_ns,  # 2023-05-01 and the day before the book
             DATA_START_NS + 10 * 10**9,  # inside the 30 s of book data
             DATA_START_NS + 5 * hour_ns]  # after it
    ParquetDataCatalog(str(tmp_path)).write_data(
        [FundingRateUpdate(iid, D("0.0000125"), ts_event=t, ts_init=t, interval=60, next_funding_ns=None) for t in times])
    data = load_catalog(tmp_path, ["BTC"])
    events = list(data.events)
    assert min(e.ts_ms for e in events) == events[0].ts_ms == DATA_START_NS // 1_000_000
    assert type(events[0]).__name__ == "BookLevel"
    assert max(e.ts_ms for e in events) == events[-1].ts_ms == (DATA_START_NS + N_STEPS * STEP_NS) // 1_000_000
    assert [e.ts_ms for e in events if type(e).__name__ == "FundingRate"] == [(DATA_START_NS + 10 * 10**9) // 1_000_000]
    # an explicit --start still reaches the older funding
    early = load_catalog(tmp_path, ["BTC"], start_ns=DATA_START_NS - 25 * hour_ns)
    assert next(iter(early.events)).ts_ms == (DATA_START_NS - 24 * hour_ns) // 1_000_000

    thread, stop, lines = _serve_in_thread(catalog=tmp_path, coins=["BTC"], port=0, speed=2.5, progress_interval_s=0.01)
    try:
        line = _listening(lines)
        assert re.fullmatch(r"Hyperliquid twin listening on http://127\.0\.0\.1:\d+ "
                            r"\(replay 2025-01-01T00:00:00\.000Z \.\. 2025-01-01T00:00:30\.000Z, speed 2\.5\)", line), line
        assert lines[0].startswith("Hyperliquid twin: loading BTC from ")  # said before the (long) load
        # the replay at the venue: the book is the catalog's first book, not an empty 2023 market
        url = line.split(" ")[4]
        book = Info(url, skip_ws=True).l2_snapshot("BTC")
        assert book["levels"][0][0]["px"] == "100000.0" and book["levels"][1][0]["px"] == "100001.0"
    finally:
        stop.set()
        thread.join(timeout=20)


def test_columnar_reader_gives_the_events_of_the_nautilus_objects(shared_data, tmp_path):
    """The Parquet columns decode to exactly the prices and sizes Nautilus's own objects print (real
    BTC recording: CLEAR + ADD blocks, UPDATE/DELETE, buyer and seller prints)."""
    from nautilus_trader.model.enums import AggressorSide
    from nautilus_trader.model.enums import BookAction
    from nautilus_trader.model.enums import OrderSide

    from botmm_nautilus.data.hl_ws import import_hyperliquid_ws
    from botmm_nautilus.twin.replay import BookLevel
    from botmm_nautilus.twin.replay import MarketTrade

    import_hyperliquid_ws(shared_data / "hyperliquid" / "ws_2025-09-04", tmp_path, coins=["BTC"], replace=True,
                          progress=False)
    catalog = ParquetDataCatalog(str(tmp_path))
    iid = "BTC-USDC-PERP.HL"
    start = 1_757_015_400 * 10**9  # 2025-09-04T19:50:00Z: eight minutes of the recording
    window = {"start": start, "end": start + 480 * 10**9}
    expected = []
    for d in catalog.order_book_deltas(instrument_ids=[iid], **window):
        ts = d.ts_event // 1_000_000
        if d.action == BookAction.CLEAR:
            expected.append(BookLevel(ts, "BTC", "B", D(0), D(0), clear=True))
        else:
            sz = D(0) if d.action == BookAction.DELETE else D(str(d.order.size))
            expected.append(BookLevel(ts, "BTC", "B" if d.order.side == OrderSide.BUY else "A", D(str(d.order.price)), sz))
    side = {AggressorSide.BUYER: "B", AggressorSide.SELLER: "A"}
    expected += [MarketTrade(t.ts_event // 1_000_000, "BTC", side.get(t.aggressor_side), D(str(t.price)), D(str(t.size)))
                 for t in catalog.trade_ticks(instrument_ids=[iid], **window)]
    expected.sort(key=lambda e: (e.ts_ms, isinstance(e, MarketTrade)))
    got = list(load_catalog(tmp_path, ["BTC"], start_ns=window["start"], end_ns=window["end"]).events)
    assert len(got) == len(expected) > 20_000
    assert got == expected
    assert [str(e.px) for e in got[:2000]] == [str(e.px) for e in expected[:2000]]  # same text, not only value
