"""The synthetic market (``data/synth.py``) against real Hyperliquid data.

The synthetic catalog is written to a temporary folder and read back the way a backtest reads it
(``market_stats.stats_from_catalog`` replays the deltas through a Nautilus ``OrderBook``); the
same statistics are measured on ../shared/data (``stats_from_hl_ws_recording``,
``stats_from_candles``, ``stats_from_funding``). Each comparison prints a measured-vs-synthetic
table (visible in the terminal, and under ``pytest -rA``) and asserts the stated tolerances.

Structural tests (determinism, never-crossed books, ``F_LAST`` grouping, bars stamped at their
close, driftless bars) need no shared data.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import Bar
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from botmm_nautilus.adapters.hyperliquid.instruments import instrument_id_for
from botmm_nautilus.data import market_stats
from botmm_nautilus.data.synth import bar_type_for
from botmm_nautilus.data.synth import generate_bars
from botmm_nautilus.data.synth import generate_funding
from botmm_nautilus.data.synth import generate_l2_day
from botmm_nautilus.data.synth import write_synthetic_catalog
from botmm_nautilus.data.synth_params import params_for

START = "2025-01-01"
START_NS = 1_735_689_600_000_000_000  # 2025-01-01T00:00:00Z
SEED = 7
L2_HOURS = 2
BAR_DAYS = 365
COINS = ("BTC", "ETH", "SOL", "XRP", "HYPE")
RECORDED = ("BTC", "ETH", "SOL")
DERIVED = ("XRP", "HYPE")
F_LAST = int(RecordFlag.F_LAST)
F_SNAPSHOT = int(RecordFlag.F_SNAPSHOT)
FIVE_MINUTES_NS = 300_000_000_000


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def synth_catalog(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("synth") / "catalog"
    write_synthetic_catalog(path, coins=COINS, l2_hours=L2_HOURS, bar_days=BAR_DAYS, seed=SEED, start=START, progress=False)
    return path


@pytest.fixture(scope="module")
def synth_stats(synth_catalog) -> dict[str, dict]:
    return {coin: market_stats.stats_from_catalog(synth_catalog, str(instrument_id_for(coin))) for coin in COINS}


@pytest.fixture(scope="module")
def catalog(synth_catalog) -> ParquetDataCatalog:
    return ParquetDataCatalog(str(synth_catalog))


def _recording(shared_data: Path) -> Path:
    return shared_data / "hyperliquid" / "ws_2025-09-04"


def _candles(shared_data: Path, coin: str, kind: str) -> Path:
    return shared_data / "hyperliquid" / "candles" / f"{coin}_USDC_USDC-{kind}.feather"


# ---------------------------------------------------------------------------------- comparisons


def _within_pct(measured: float, synthetic: float, pct: float) -> tuple[str, bool]:
    return f"+-{pct:.0f} %", abs(synthetic - measured) <= pct / 100 * abs(measured)


def _within_factor(measured: float, synthetic: float, factor: float) -> tuple[str, bool]:
    ratio = synthetic / measured
    return f"factor {factor:g}", 1 / factor <= ratio <= factor


def _row(name, measured, synthetic, check=None, **kw) -> tuple:
    if check is None:
        return (name, measured, synthetic, "(reported)", True)
    tolerance, ok = check(measured, synthetic, **kw)
    return (name, measured, synthetic, tolerance, ok)


def _correlation_row(name, measured, synthetic, minimum: float) -> tuple:
    corr = float(np.corrcoef(measured, synthetic)[0, 1])
    return (name, 1.0, corr, f"correlation > {minimum:g}", corr > minimum)


def _show(text: str, capsys) -> None:
    """Print to the captured stdout (shown by ``pytest -rA``) and, capture suspended, to stderr."""
    print(text)
    with capsys.disabled():
        sys.stderr.write("\n" + text + "\n")


def _assert_rows(rows: list[tuple], title: str, capsys) -> None:
    _show(market_stats.format_comparison(rows, title), capsys)
    failed = [r[0] for r in rows if not r[4]]
    assert not failed, f"{title}: outside tolerance: {', '.join(failed)}"


def _book_rows(real: dict, synth: dict) -> list[tuple]:
    depth_real = np.add(real["depth_bid_usd"], real["depth_ask_usd"]) / 2
    depth_synth = np.add(synth["depth_bid_usd"], synth["depth_ask_usd"]) / 2
    return [
        _row("book interval (s)", real["book_interval_s"], synth["book_interval_s"], _within_pct, pct=10),
        _row("tick (bps of price)", real["tick_bps"], synth["tick_bps"], _within_pct, pct=10),
        _row("spread mean (ticks)", real["spread_ticks_mean"], synth["spread_ticks_mean"], _within_pct, pct=30),
        _row("spread share at 1 tick", real["spread_share_1tick"], synth["spread_share_1tick"], _within_pct, pct=5),
        _row("touch size median (base)", real["touch_size_median_base"], synth["touch_size_median_base"], _within_factor, factor=1.5),
        _row("touch depth mean (USD)", depth_real[0], depth_synth[0], _within_pct, pct=30),
        _row("20-level depth mean (USD)", depth_real.sum(), depth_synth.sum(), _within_pct, pct=30),
        _correlation_row("depth profile shape (20 levels)", real["depth_profile"], synth["depth_profile"], 0.8),
        _row("level 19 distance (ticks)", real["level_distance_ticks"][-1], synth["level_distance_ticks"][-1], _within_pct, pct=10),
        _row("mid moves (share of messages)", real["mid_move_share"], synth["mid_move_share"], _within_pct, pct=30),
        _row("1 s mid vol (bps)", real["vol_1s_bps"], synth["vol_1s_bps"], _within_pct, pct=25),
        _row("deltas per message", real["deltas_per_message"], synth["deltas_per_message"]),
        _row("5 m mid vol (bps)", real["vol_5m_mid_bps"], synth["vol_5m_mid_bps"]),
    ]


def _trade_rows(real: dict, synth: dict) -> list[tuple]:
    return [
        _row("trade prints per s", real["trade_rate_per_s"], synth["trade_rate_per_s"], _within_pct, pct=30),
        _row("taker orders per s", real["taker_orders_per_s"], synth["taker_orders_per_s"], _within_pct, pct=30),
        _row("prints per taker order", real["prints_per_order_mean"], synth["prints_per_order_mean"], _within_pct, pct=30),
        _row("trade size median (base)", real["trade_size_median_base"], synth["trade_size_median_base"], _within_factor, factor=1.5),
        _row("trade size mean (base)", real["trade_size_mean_base"], synth["trade_size_mean_base"], _within_pct, pct=30),
        _row("trade size p90 (base)", real["trade_size_p90_base"], synth["trade_size_p90_base"], _within_pct, pct=30),
        _row("trade size median (USD)", real["trade_size_median_usd"], synth["trade_size_median_usd"], _within_factor, factor=1.5),
        _row("trade count dispersion (1 s)", real["trade_count_dispersion"], synth["trade_count_dispersion"]),
        _row("buyer-aggressor share", real["buy_share"], synth["buy_share"]),
    ]


@pytest.mark.shared_data
@pytest.mark.parametrize("coin", RECORDED)
def test_l2_matches_recording(coin, shared_data, synth_stats, capsys):
    real = market_stats.stats_from_hl_ws_recording(_recording(shared_data), coin)
    synth = synth_stats[coin]
    title = (
        f"{coin}: recording ws_2025-09-04 ({real['book_span_s'] / 60:.0f} min) vs synthetic "
        f"({synth['book_span_s'] / 3600:.1f} h, seed {SEED}, read back from the catalog)"
    )
    _assert_rows(_book_rows(real, synth) + _trade_rows(real, synth), title, capsys)


@pytest.mark.parametrize("coin", DERIVED)
def test_l2_of_derived_coins_matches_params(coin, synth_stats, capsys):
    """XRP and HYPE have no recording: their output is checked against their (derived) parameters."""
    p = params_for(coin)
    synth = synth_stats[coin]
    touch_synth = (synth["depth_bid_base"][0] + synth["depth_ask_base"][0]) / 2
    rows = [
        _row("spread share at 1 tick", p.spread_ticks_probs[0], synth["spread_share_1tick"], _within_pct, pct=5),
        _row("touch depth mean (base)", p.level_size_mean_base[0], touch_synth, _within_pct, pct=30),
        _correlation_row("depth profile shape (20 levels)", p.level_size_mean_base, synth["depth_profile"], 0.8),
        _row("1 s mid vol (bps)", p.vol_1s_bps, synth["vol_1s_bps"], _within_pct, pct=25),
        _row("trade prints per s", p.trade_rate_per_s, synth["trade_rate_per_s"], _within_pct, pct=30),
        _row("trade size median (base)", float(np.exp(p.trade_size_log_q[7])), synth["trade_size_median_base"], _within_factor, factor=1.5),
    ]
    _assert_rows(rows, f"{coin}: parameters (derived from SOL) vs synthetic ({synth['book_span_s'] / 3600:.1f} h)", capsys)


@pytest.mark.shared_data
@pytest.mark.parametrize("coin", COINS)
def test_bars_and_funding_match_history(coin, shared_data, synth_stats, capsys):
    real = market_stats.stats_from_candles(_candles(shared_data, coin, "5m-futures"))
    funding = market_stats.stats_from_funding(_candles(shared_data, coin, "1h-funding_rate"), last_days=365)
    synth = synth_stats[coin]
    rows = [
        _row("5 m vol (bps)", real["bar_vol_bps"], synth["bar_vol_bps_5m"], _within_pct, pct=25),
        _row("5 m range / vol", real["bar_range_to_vol"], synth["bar_range_to_vol_5m"], _within_pct, pct=25),
        _row("5 m volume median (base)", real["bar_volume_median"], synth["bar_volume_median_5m"], _within_factor, factor=2),
        _row("5 m excess kurtosis", real["bar_excess_kurtosis"], synth["bar_excess_kurtosis_5m"]),
        _row("funding mean (per hour)", funding["funding_mean"], synth["funding_mean"], _within_pct, pct=25),
        _row("funding std", funding["funding_std"], synth["funding_std"], _within_pct, pct=25),
        _row("funding lag-1 autocorrelation", funding["funding_phi"], synth["funding_phi"], _within_pct, pct=15),
    ]
    title = f"{coin}: candles {real['first'][:10]}..{real['last'][:10]} and funding (last 365 d) vs synthetic {BAR_DAYS} d"
    _assert_rows(rows, title, capsys)


# ---------------------------------------------------------------------------- structure checks


@pytest.mark.parametrize("coin", COINS)
def test_catalog_books_never_crossed_and_grouped_by_f_last(coin, catalog):
    """First message CLEAR + ADDs (F_SNAPSHOT, F_LAST on the last); later messages diffs only with
    F_LAST on their last delta; 20 levels a side, best bid < best ask at every message end;
    trades at or through the touch of the book they hit."""
    iid = str(instrument_id_for(coin))
    deltas = catalog.order_book_deltas(instrument_ids=[iid])
    trades = catalog.trade_ticks(instrument_ids=[iid])
    assert deltas[0].action == BookAction.CLEAR and deltas[0].flags & F_SNAPSHOT
    first_last = next(i for i, d in enumerate(deltas) if d.flags & F_LAST)
    assert first_last == 40
    assert all(d.action == BookAction.ADD and d.flags & F_SNAPSHOT for d in deltas[1 : first_last + 1])

    book = OrderBook(deltas[0].instrument_id, BookType.L2_MBP)
    trade_index = 0
    message_ts = None
    messages = 0
    previous_sequence = -1
    for i, delta in enumerate(deltas):
        if message_ts is None:
            message_ts = delta.ts_init
            # trades stamped before this message hit the book as it stood after the last one
            while trade_index < len(trades) and trades[trade_index].ts_init < message_ts:
                trade = trades[trade_index]
                price = trade.price.as_double()
                if trade.aggressor_side == AggressorSide.BUYER:
                    assert price >= book.best_ask_price().as_double()
                else:
                    assert price <= book.best_bid_price().as_double()
                trade_index += 1
        assert delta.ts_init == message_ts, "a message's deltas share one timestamp"
        assert delta.sequence > previous_sequence
        previous_sequence = delta.sequence
        if i > first_last:
            assert delta.action != BookAction.CLEAR and not delta.flags & F_SNAPSHOT
        book.apply_delta(delta)
        if delta.flags & F_LAST:
            messages += 1
            assert book.best_bid_price() < book.best_ask_price(), f"crossed or locked book at {delta.ts_init}"
            assert len(book.bids()) == 20 and len(book.asks()) == 20
            message_ts = None
    assert deltas[-1].flags & F_LAST
    assert messages > L2_HOURS * 3600 / 0.6
    assert trade_index > 0


def _delta_dicts(deltas) -> list[dict]:
    return [d.to_dict(d) for d in deltas]


def test_same_seed_same_output_different_seed_differs():
    deltas_a, trades_a = generate_l2_day("ETH", START_NS, 1200, seed=11)
    deltas_b, trades_b = generate_l2_day("ETH", START_NS, 1200, seed=11)
    deltas_c, trades_c = generate_l2_day("ETH", START_NS, 1200, seed=12)
    assert _delta_dicts(deltas_a) == _delta_dicts(deltas_b)
    assert [t.to_dict(t) for t in trades_a] == [t.to_dict(t) for t in trades_b]
    assert _delta_dicts(deltas_a) != _delta_dicts(deltas_c)
    assert [t.to_dict(t) for t in trades_a] != [t.to_dict(t) for t in trades_c]
    # a longer span starts with the same data (the stream is drawn in one-hour blocks)
    longer, _ = generate_l2_day("ETH", START_NS, 4000, seed=11)
    assert _delta_dicts(longer[: len(deltas_a)]) == _delta_dicts(deltas_a)
    bars_a = generate_bars("SOL", START_NS, 3, seed=11)
    bars_b = generate_bars("SOL", START_NS, 3, seed=11)
    assert [Bar.to_dict(b) for b in bars_a] == [Bar.to_dict(b) for b in bars_b]
    assert [Bar.to_dict(b) for b in bars_a] != [Bar.to_dict(b) for b in generate_bars("SOL", START_NS, 3, seed=12)]
    funding_a = [(f.rate, f.ts_event) for f in generate_funding("XRP", START_NS, 48, seed=11)]
    assert funding_a == [(f.rate, f.ts_event) for f in generate_funding("XRP", START_NS, 48, seed=11)]
    assert funding_a != [(f.rate, f.ts_event) for f in generate_funding("XRP", START_NS, 48, seed=12)]


def test_coins_get_independent_streams():
    btc = generate_bars("BTC", START_NS, 10, seed=SEED)
    eth = generate_bars("ETH", START_NS, 10, seed=SEED)
    r_btc = np.diff(np.log([b.close.as_double() for b in btc]))
    r_eth = np.diff(np.log([b.close.as_double() for b in eth]))
    assert abs(np.corrcoef(r_btc, r_eth)[0, 1]) < 0.1


def test_bars_stamped_at_close_and_consistent():
    bars_5m = generate_bars("HYPE", START_NS, 2, seed=SEED)
    bars_1h = generate_bars("HYPE", START_NS, 2, seed=SEED, interval_minutes=60)
    assert str(bars_5m[0].bar_type) == "HYPE-USDC-PERP.HL-5-MINUTE-LAST-EXTERNAL"
    assert str(bars_1h[0].bar_type) == "HYPE-USDC-PERP.HL-1-HOUR-LAST-EXTERNAL"
    assert len(bars_5m) == 2 * 288 and len(bars_1h) == 48
    for i, bar in enumerate(bars_5m):
        assert bar.ts_event == bar.ts_init == START_NS + (i + 1) * FIVE_MINUTES_NS
        assert bar.high >= max(bar.open, bar.close) and bar.low <= min(bar.open, bar.close)
        assert bar.volume.as_double() > 0
        if i:
            assert bar.open == bars_5m[i - 1].close
    # 1-hour bars aggregate the same path
    for h, bar in enumerate(bars_1h):
        group = bars_5m[12 * h : 12 * h + 12]
        assert bar.ts_event == group[-1].ts_event
        assert bar.open == group[0].open and bar.close == group[-1].close
        assert bar.high == max(b.high for b in group) and bar.low == min(b.low for b in group)


def test_driftless_bars_have_zero_mean_return(capsys):
    closes = np.array([b.close.as_double() for b in generate_bars("BTC", START_NS, 365, seed=SEED)])
    returns = np.diff(np.log(closes))
    t_stat = returns.mean() / (returns.std() / np.sqrt(len(returns)))
    _show(f"BTC 365 d of 5 m bars, drift 0: mean log return {returns.mean() * 1e4:.4f} bps, t = {t_stat:.2f}", capsys)
    assert abs(t_stat) < 3
    # the drift parameter is an annual log drift
    drifted = np.array([b.close.as_double() for b in generate_bars("BTC", START_NS, 365, seed=SEED, drift=1.0)])
    assert np.log(drifted[-1] / closes[-1]) == pytest.approx(1.0, abs=0.01)


def test_catalog_bars_over_the_l2_window_come_from_its_trades(catalog):
    iid = str(instrument_id_for("SOL"))
    trades = catalog.trade_ticks(instrument_ids=[iid])
    bars = catalog.bars(bar_types=[str(bar_type_for("SOL", 5))])
    ts = np.array([t.ts_init for t in trades])
    prices = np.array([t.price.as_double() for t in trades])
    for i, bar in enumerate(bars[: L2_HOURS * 12]):
        inside = (ts >= bar.ts_event - FIVE_MINUTES_NS) & (ts < bar.ts_event)
        assert bar.high.as_double() == prices[inside].max() and bar.low.as_double() == prices[inside].min()
        assert bar.close.as_double() == prices[inside][-1]
    # the bar random walk continues from the last L2 trade
    assert bars[L2_HOURS * 12].open.as_double() == prices[-1]


def test_funding_hourly_at_top_of_hour():
    updates = generate_funding("HYPE", START_NS + 1, 24, seed=SEED)
    assert len(updates) == 24
    assert all(u.ts_event % 3_600_000_000_000 == 0 and u.interval == 60 for u in updates)
    assert updates[0].ts_event == START_NS + 3_600_000_000_000


@pytest.mark.shared_data
def test_params_table_is_what_the_data_measures(shared_data):
    """``SYNTH_PARAMS`` (written into synth_params.py) equals a fresh measurement, to its rounding."""
    from botmm_nautilus.data.synth_params import SYNTH_PARAMS
    from botmm_nautilus.data.synth_params import measure_params

    measured = measure_params(shared_data)
    for coin, stored in SYNTH_PARAMS.items():
        fresh = measured[coin]
        for name, value in vars(stored).items():
            again = getattr(fresh, name)
            if isinstance(value, (int, str)):
                assert value == again, (coin, name)
            else:
                assert np.allclose(value, again, rtol=1e-3, atol=1e-12), (coin, name)


def test_trades_consume_the_touch_in_the_next_message():
    """With random size updates, spread changes and price jumps switched off, the book changes
    only through trades (and the price move that follows an exhausted touch): a traded level that
    is still its side's best in the next message shows exactly the size left by the trades, and
    an exhausted level is deleted (or refilled) by the next message."""
    from dataclasses import replace

    from nautilus_trader.model.enums import OrderSide

    quiet = replace(params_for("SOL"), level_update_prob=(0.0,) * 20, spread_ticks_probs=(1.0,) + (0.0,) * 9, vol_1s_bps=1e-9)
    deltas, trades = generate_l2_day("SOL", START_NS, 1800, seed=SEED, params=quiet)
    messages: list[list] = [[]]
    for delta in deltas:
        messages[-1].append(delta)
        if delta.flags & F_LAST:
            messages.append([])
    messages.pop()

    book: dict = {OrderSide.BUY: {}, OrderSide.SELL: {}}
    trade_index = 0
    checked_reduced = checked_exhausted = 0
    for k, message in enumerate(messages):
        if k:  # compare with what the trades since the previous message left
            changed = {(d.order.side, d.order.price.as_double()) for d in message}
        for d in message:
            side_book = book.get(d.order.side)
            if d.action == BookAction.DELETE:
                side_book.pop(d.order.price.as_double())
            elif d.action != BookAction.CLEAR:
                side_book[d.order.price.as_double()] = d.order.size.as_double()
        if k:
            for (side, price), left in traded.items():
                best = max(book[side]) if side == OrderSide.BUY else min(book[side])
                if left < 1e-9:
                    assert (side, price) in changed, f"exhausted level {price} untouched by the next message"
                    checked_exhausted += 1
                elif price == best:
                    assert book[side][price] == pytest.approx(left), f"level {price} not reduced by the traded size"
                    checked_reduced += 1
        next_ts = messages[k + 1][0].ts_init if k + 1 < len(messages) else 2**63
        shadow = {side: dict(levels) for side, levels in book.items()}
        traded = {}
        while trade_index < len(trades) and trades[trade_index].ts_init < next_ts:
            trade = trades[trade_index]
            side = OrderSide.SELL if trade.aggressor_side == AggressorSide.BUYER else OrderSide.BUY
            price = trade.price.as_double()
            left = shadow[side][price] - trade.size.as_double()
            assert left > -1e-9, "a print larger than the visible level"
            shadow[side][price] = left
            traded[(side, price)] = left
            trade_index += 1
    assert checked_reduced > 100 and checked_exhausted > 10
