"""``botmm screen`` on a hand-made Hyperliquid recording, written into a catalog by the real importer.

The recording (BTC, one level a side, exchange times from 2025-01-01T00:00:00Z; ``a`` = 1e4 / 100001
and ``b`` = 1e4 / 99992 are bps per 1 USD at mids 100001 and 99992):

    book  t=0 s   bid 100000 x 1  ask 100002 x 2   mid 100001  spread 2 USD = 2a bps
    book  t=10 s  bid 100010 x 1  ask 100012 x 2   mid 100011
    book  t=20 s  bid  99990 x 1  ask  99994 x 2   mid  99992  spread 4 USD = 4b bps
    book  t=50 s  bid  99980 x 1  ask  99984 x 2   mid  99982
    book  t=70 s  bid 100000 x 1  ask 100002 x 2   mid 100001  (last book)

    T1  t=5 s   buyer  0.5 @ 100002          mid before 100001 (book 0 s), half-spread 1 USD = a
    T3  t=10 s  buyer  0.1 @ 100002          same ms as the 10 s book: mid before = the 0 s book's 100001, half a
    T2  t=25 s  seller 1.0 @ 99990 and 0.5 @ 99990 (one taker order)   mid before 99992, half 2 USD = 2b

Adverse against the maker = aggressor * (mid(t+h) - mid before) / mid before * 1e4, per taker order:

    h=1:  T1 6 s -> 100001: 0     T3 11 s -> 100011: +10a   T2 26 s -> 99992: 0       mean 10a/3
    h=5:  T1 10 s -> 100011: 10a  T3 15 s -> 100011: 10a    T2 30 s -> 99992: 0       mean 20a/3
    h=30: T1 35 s -> 99992: -9a   T3 40 s -> 99992: -9a     T2 55 s -> 99982: -(-10)b  mean (-18a + 10b)/3
    h=60: T1 65 s -> 99982: -19a  T3 70 s -> 100001: 0      T2 85 s > 70 s: left out   mean -19a/2 (2 orders)

captured half-spread = (a + a + 2b)/3; edge (30 s, fee 1.5) = captured - adverse_30s - 1.5.
Spreads over the 5 books: 2a, 2e4/100011, 4b, 4e4/99982, 2a -> median 2a. Touch depth: median bid
1 x 100000 = 100000 USD, median ask 2 x 100002 = 200004 USD, mean 150002. 4 prints over 70 s =
4 / (70/60) per minute.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from botmm_nautilus.apps.cli import main
from botmm_nautilus.data.hl_ws import import_hyperliquid_ws
from botmm_nautilus.data.screen import screen_catalog
from botmm_nautilus.data.screen import sort_rows

T0_MS = 1_735_689_600_000
A = 1e4 / 100001
B = 1e4 / 99992

BOOKS = [  # t s, bid, ask
    (0, 100000, 100002),
    (10, 100010, 100012),
    (20, 99990, 99994),
    (50, 99980, 99984),
    (70, 100000, 100002),
]
TRADES = [  # t s, side, price, size
    (5, "B", 100002, 0.5),
    (10, "B", 100002, 0.1),
    (25, "A", 99990, 1.0),
    (25, "A", 99990, 0.5),
]


def write_recording(folder, coin="BTC", price_shift=0, books=BOOKS, trades=TRADES):
    """``orderbooks_{coin}.csv.gz`` and ``trades_{coin}.csv.gz`` in the recorder's format (receive time 50 ms
    after exchange time)."""
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "timestamp": [(T0_MS + t * 1000) / 1000 + 0.05 for t, _, _ in books],
            "sequence": range(len(books)),
            "exchange_timestamp": [T0_MS + t * 1000 for t, _, _ in books],
            "bid_price_0": [b + price_shift for _, b, _ in books],
            "bid_size_0": [1.0] * len(books),
            "ask_price_0": [a + price_shift for _, _, a in books],
            "ask_size_0": [2.0] * len(books),
        },
    ).to_csv(folder / f"orderbooks_{coin}.csv.gz", index=False)
    pd.DataFrame(
        {
            "timestamp": [(T0_MS + t * 1000) / 1000 + 0.05 for t, *_ in trades],
            "price": [p + price_shift for _, _, p, _ in trades],
            "size": [s for *_, s in trades],
            "side": [side for _, side, _, _ in trades],
            "trade_id": range(1, len(trades) + 1),
            "exchange_timestamp": [T0_MS + t * 1000 for t, *_ in trades],
        },
    ).to_csv(folder / f"trades_{coin}.csv.gz", index=False)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    root = tmp_path_factory.mktemp("screen")
    write_recording(root / "rec")
    cat = root / "cat"
    import_hyperliquid_ws(root / "rec", cat, progress=False, feed_delay_ms=0)
    return cat


def test_hand_computed_row(catalog):
    result = screen_catalog(catalog, progress=False)
    assert result["horizons_s"] == [1.0, 5.0, 30.0, 60.0]
    (row,) = result["instruments"]
    assert row["instrument_id"] == "BTC-USDC-PERP.HL"
    assert row["median_spread_bps"] == pytest.approx(2 * A, rel=1e-12)
    assert row["touch_depth_bid_usd"] == pytest.approx(100000.0)
    assert row["touch_depth_ask_usd"] == pytest.approx(200004.0)
    assert row["touch_depth_usd"] == pytest.approx(150002.0)
    assert row["n_trades"] == 4 and row["n_taker_orders"] == 3
    assert row["trades_per_min"] == pytest.approx(4 / (70 / 60))
    assert row["span_h"] == pytest.approx(70 / 3600)
    assert row["captured_half_spread_bps"] == pytest.approx((2 * A + 2 * B) / 3, rel=1e-12)
    assert row["adverse_bps_1s"] == pytest.approx(10 * A / 3, rel=1e-12)
    assert row["adverse_bps_5s"] == pytest.approx(20 * A / 3, rel=1e-12)
    assert row["adverse_bps_30s"] == pytest.approx((-18 * A + 10 * B) / 3, rel=1e-12)
    assert row["adverse_bps_60s"] == pytest.approx(-19 * A / 2, rel=1e-12)
    assert row["n_orders_60s"] == 2 and row["n_orders_30s"] == 3
    assert np.isnan(row["edge_se_bps"])  # orders at 5, 10, 25 s: one 60 s block, no standard error
    # notional-weighted: T1 50001 USD, T3 10000.2 USD, T2 1.5 x 99990 = 149985 USD
    w = np.array([0.5 * 100002, 0.1 * 100002, 1.5 * 99990])
    assert row["adverse_vw_bps_30s"] == pytest.approx(np.dot(w, [-9 * A, -9 * A, 10 * B]) / w.sum(), rel=1e-12)
    # Hyperliquid: the base-tier maker fee of venue.rules
    assert row["maker_fee_bps"] == pytest.approx(1.5)
    captured = (2 * A + 2 * B) / 3
    adverse_30 = (-18 * A + 10 * B) / 3
    assert row["breakeven_maker_fee_bps"] == pytest.approx(captured - adverse_30, rel=1e-12)
    assert row["edge_bps"] == pytest.approx(captured - adverse_30 - 1.5, rel=1e-12)


def test_edge_horizon_fee_and_period(catalog):
    # edge at 60 s with a 0.5 bps fee; the period cut at 30 s leaves books 0, 10, 20 s and all trades up to 25 s
    result = screen_catalog(catalog, edge_horizon_s=60, maker_fee_bps=0.5, horizons_s=[1], progress=False,
                            end_ns=(T0_MS + 30_000) * 1_000_000)
    (row,) = result["instruments"]
    assert result["horizons_s"] == [1.0, 60.0]
    assert row["maker_fee_bps"] == 0.5 and row["maker_fee_source"] == "--maker-fee-bps"
    assert row["span_h"] == pytest.approx(20 / 3600)
    # every 60 s horizon runs past the last book (20 s): no adverse figure, no edge
    assert row["n_orders_60s"] == 0 and np.isnan(row["edge_bps"])
    # mid before T2 (25 s) is still 99992: the trade after the last book of the period is dropped
    assert row["n_trades"] == 2 and row["n_trades_left_out"] == 2


def test_rows_sorted_best_edge_first_and_cli_json(catalog, tmp_path, capsys):
    # a second coin (ETH, same book shifted down) so the sort has two rows to order
    write_recording(tmp_path / "rec", coin="ETH", price_shift=-96000)
    import_hyperliquid_ws(tmp_path / "rec", catalog, progress=False, feed_delay_ms=0)
    out = tmp_path / "screen.json"
    assert main(["screen", "--catalog", str(catalog), "--json", str(out), "--report", str(tmp_path / "rep"), "--quiet"]) == 0
    data = json.loads(out.read_text())
    rows = data["instruments"]
    assert [r["instrument_id"] for r in rows] == ["ETH-USDC-PERP.HL", "BTC-USDC-PERP.HL"]
    # the same dollar moves are 25x more bps at a ~4000 price: ETH's edge is larger (its captured half-spread
    # grows by the same factor as its adverse selection, and the sum is positive before the fee)
    assert rows[0]["edge_bps"] > rows[1]["edge_bps"]
    for key in ("instrument_id", "median_spread_bps", "touch_depth_usd", "volatility_bps_per_sqrt_s",
                "volatility_bps_per_hour", "trades_per_min", "adverse_bps_1s", "adverse_bps_5s", "adverse_bps_30s",
                "adverse_bps_60s", "adverse_vw_bps_30s", "maker_fee_bps", "edge_bps", "breakeven_maker_fee_bps",
                "n_trades", "span_h", "captured_half_spread_bps"):
        assert key in rows[0], key
    printed = capsys.readouterr().out
    assert printed.index("ETH-USDC-PERP.HL") < printed.index("BTC-USDC-PERP.HL")
    page = (tmp_path / "rep" / "screen.html").read_text()
    assert "fig-edge" in page and "fig-markouts" in page


def test_period_start_replays_the_book_from_its_first_snapshot(tmp_path):
    # the bid 100000 is sent once (the 0 s snapshot) and stays: the 10 s and 20 s messages only move the ask
    books = [(0, 100000, 100002), (10, 100000, 100004), (20, 100000, 100002)]
    write_recording(tmp_path / "rec", books=books, trades=[(15, "B", 100004, 0.1)])
    import_hyperliquid_ws(tmp_path / "rec", tmp_path / "cat", progress=False, feed_delay_ms=0)
    result = screen_catalog(tmp_path / "cat", start_ns=(T0_MS + 5_000) * 1_000_000, progress=False)
    (row,) = result["instruments"]
    # messages kept: 10 s (spread 4 USD at mid 100002) and 20 s (2 USD at 100001), both with the 0 s bid
    assert row["book_messages"] == 2
    assert row["median_spread_bps"] == pytest.approx((4e4 / 100002 + 2e4 / 100001) / 2, rel=1e-12)
    # the trade at 15 s: mid before = 100002 (10 s book), half-spread 2 USD
    assert row["captured_half_spread_bps"] == pytest.approx(2e4 / 100002, rel=1e-12)


def test_sort_puts_nan_edges_last():
    rows = [{"edge_bps": float("nan")}, {"edge_bps": -1.0}, {"edge_bps": 2.0}]
    assert [r["edge_bps"] for r in sort_rows(rows)][:2] == [2.0, -1.0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--catalog", "{tmp}/missing"], "catalog {tmp}/missing not found"),
        (["--catalog", "{tmp}"], "no order book data"),
        (["--catalog", "{cat}", "--instruments", "XRP-USDC-PERP.HL"], "--instruments XRP-USDC-PERP.HL: no order book data"),
        (["--catalog", "{cat}", "--horizons", "-5"], "--horizons must be >= 0"),
        (["--catalog", "{cat}", "--start", "2025-01-02", "--end", "2025-01-01"], "--start 2025-01-02 is after --end"),
        (["--catalog", "{cat}", "--start", "2030-01-01"], "nothing to screen in the period"),
    ],
)
def test_cli_errors_name_the_input(catalog, tmp_path, capsys, argv, message):
    argv = [a.format(tmp=tmp_path, cat=catalog) for a in argv]
    assert main(["screen", *argv, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message.format(tmp=tmp_path) in err, err


def test_other_venue_fee_is_marked_assumed():
    from botmm_nautilus.data.screen import maker_fee_for
    from botmm_nautilus.data.snapshots import make_snapshot_perpetual

    inst = make_snapshot_perpetual("BTC-USD-PERP.STANDX", 1, 1, 4, 1, "USDC", 2.0, 5.0)
    fee, source = maker_fee_for(inst, None)
    assert fee == pytest.approx(2.0) and source.startswith("assumed")
    assert maker_fee_for(inst, -0.5) == (-0.5, "--maker-fee-bps")


def test_cluster_standard_error_by_hand():
    from botmm_nautilus.data.screen import cluster_se

    # x = 1, 3 | 2, 6: mean 3, residual sums per block -2 and +2; sqrt(2/1 * 8) / 4 = 1
    assert cluster_se(np.array([1.0, 3.0, 2.0, 6.0]), np.array([0, 0, 1, 1])) == pytest.approx(1.0)
    # one block: no standard error (the hand recording's orders at 5, 10, 25 s all fall in one 60 s block)
    assert np.isnan(cluster_se(np.array([1.0, 2.0]), np.array([4, 4])))
