"""``FixedQuoter`` (the cross-engine benchmark's quoter) on the real Nautilus engine.

Its rule: at every whole multiple of ``requote_interval_s`` a bid ``half_spread_bps`` below the mid
rounded down to the tick and an ask above rounded up; an open order at the target price is kept,
otherwise replaced by a post-only order of ``order_size``. The run goes through the backtest
runner (``build_run_config(..., strategy_fields=...)``) on 30 s of the real Binance BTC capture;
the expected prices come from an independent replay of the catalog's book deltas and exact
decimal arithmetic.
"""

from __future__ import annotations

from decimal import ROUND_CEILING
from decimal import ROUND_FLOOR
from decimal import Decimal

import pytest
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import OrderType
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from botmm_nautilus.backtest.runner import build_node
from botmm_nautilus.backtest.runner import build_run_config
from botmm_nautilus.config.asset import config_from_dict
from botmm_nautilus.data.binance import import_binance_raw
from botmm_nautilus.strategies.fixed_quoter import fixed_quote_ticks

BINANCE_ID = "BTCUSDT-PERP.BINANCE"
TICK = Decimal("0.1")
BPS = 2.0
SIZE = 0.005
INTERVAL_NS = 1_000_000_000
RUN_S = 30


def test_fixed_quote_ticks_by_hand():
    # mid 1001 ticks, 10 bps: 999.999 -> 999 (down), 1002.001 -> 1003 (up)
    assert fixed_quote_ticks(1000, 1002, 10.0) == (999, 1003)
    # 0 bps: the mid itself, rounded away from it on each side (a half-tick mid -> the touch)
    assert fixed_quote_ticks(1000, 1001, 0.0) == (1000, 1001)
    # BTC at 61815.6 / 61815.7, 2 bps: 61803.287 -> 61803.2, 61828.063 -> 61828.1
    assert fixed_quote_ticks(618156, 618157, 2.0) == (618032, 618281)


def _expected_ticks(bid_tick: int, ask_tick: int) -> tuple[int, int]:
    mid = Decimal(bid_tick + ask_tick) / 2
    frac = Decimal(str(BPS)) / Decimal(10_000)
    return int((mid * (1 - frac)).to_integral_value(ROUND_FLOOR)), int((mid * (1 + frac)).to_integral_value(ROUND_CEILING))


def _replayed_tops(deltas, times: list[int]) -> dict[int, tuple[int, int]]:
    """Best bid / ask (in ticks) after every delta with ts_init <= t, for each t: an independent
    replay of the catalog's book (CLEAR, ADD/UPDATE, DELETE)."""
    bids: dict[int, float] = {}
    asks: dict[int, float] = {}
    out = {}
    i = 0
    for t in sorted(times):
        while i < len(deltas) and deltas[i].ts_init <= t:
            d = deltas[i]
            i += 1
            if d.action == BookAction.CLEAR:
                bids.clear()
                asks.clear()
                continue
            side = bids if d.order.side == OrderSide.BUY else asks
            price = int(Decimal(str(d.order.price)) / TICK)
            if d.action == BookAction.DELETE:
                side.pop(price, None)
            else:
                side[price] = d.order.size.as_double()
        out[t] = (max(bids), min(asks))
    return out


@pytest.fixture(scope="module")
def quoted(shared_data, tmp_path_factory):
    cat = tmp_path_factory.mktemp("fixed_quoter_catalog")
    summary = import_binance_raw(shared_data / "binance" / "raw_ws" / "usdm_btcusdt_20240808.gz", str(cat), progress=False)
    catalog = ParquetDataCatalog(str(cat))
    end_ns = summary.counts(BINANCE_ID).start_ns + RUN_S * 1_000_000_000
    cfg = config_from_dict({"coin": "BTC", "strategy": "FixedQuoter", "capital_usd": 1_000_000})
    run_cfg = build_run_config(
        cfg, str(cat), "book", end_ns=end_ns, instrument=BINANCE_ID,
        strategy_fields={"half_spread_bps": BPS, "requote_interval_s": INTERVAL_NS / 1e9, "order_size": SIZE},
    )
    node = build_node(run_cfg)
    engine = node.get_engine(run_cfg.id)
    node.run()
    strategy = engine.trader.strategies()[0]
    orders = list(engine.cache.orders(strategy_id=strategy.id))
    ticks = list(strategy.ticks)
    node.dispose()
    deltas = sorted(catalog.order_book_deltas(instrument_ids=[BINANCE_ID], end=end_ns), key=lambda d: d.ts_init)
    return ticks, orders, _replayed_tops(deltas, [t[0] for t in ticks])


pytestmark = pytest.mark.shared_data


def test_quotes_only_at_interval_multiples_at_the_rule_prices(quoted):
    ticks, orders, tops = quoted
    assert len(ticks) >= RUN_S - 2, "one decision per second once the book exists"
    for ts, best_bid, best_ask, bid, ask in ticks:
        assert ts % INTERVAL_NS == 0
        assert (best_bid, best_ask) == tops[ts], "the strategy quoted from the engine's book at that instant"
        assert (bid, ask) == _expected_ticks(best_bid, best_ask)
    tick_ts = {t[0] for t in ticks}
    for order in orders:
        assert order.ts_init in tick_ts, "orders are only sent at a decision"
        assert order.order_type == OrderType.LIMIT and order.time_in_force == TimeInForce.GTC and order.is_post_only
        assert order.quantity.as_double() == pytest.approx(SIZE)


def test_an_order_is_replaced_only_when_its_target_moved_or_it_is_gone(quoted):
    ticks, orders, _ = quoted
    by_side = {OrderSide.BUY: {}, OrderSide.SELL: {}}
    for order in orders:
        assert order.ts_init not in by_side[order.side], "at most one new order per side and decision"
        by_side[order.side][order.ts_init] = order
    kept = replaced = 0
    for side, column in ((OrderSide.BUY, 3), (OrderSide.SELL, 4)):
        live = None
        for tick in ticks:
            ts, target = tick[0], tick[column]
            new = by_side[side].get(ts)
            gone = live is not None and live.status in (OrderStatus.FILLED, OrderStatus.REJECTED) and live.ts_last < ts
            expected_new = live is None or gone or live.price.as_decimal() != target * TICK
            assert (new is not None) == expected_new, f"{side.name} at {ts}: new order {new is not None}, expected {expected_new}"
            if new is not None:
                assert new.price.as_decimal() == target * TICK
                if live is not None and not gone:
                    # the replaced order was canceled (or filled before the cancel reached the engine)
                    assert live.status in (OrderStatus.CANCELED, OrderStatus.FILLED)
                    replaced += 1
                live = new
            else:
                kept += 1
    assert kept > 0 and replaced > 0, f"30 s of BTC must both keep and move quotes (kept {kept}, replaced {replaced})"
