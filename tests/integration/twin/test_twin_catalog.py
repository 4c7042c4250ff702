"""End to end: the twin replays a small Nautilus ParquetDataCatalog and the SDK trades against it;
plus the blocking ``serve()`` entry point of the ``botmm twin`` command."""

from __future__ import annotations

import threading
from decimal import Decimal as D

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
                    print_fn=lines.append, stop_event=stop),
        daemon=True,
    )
    thread.start()
    try:
        first = wait_until(lambda: lines and lines[0], timeout_s=20)
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
