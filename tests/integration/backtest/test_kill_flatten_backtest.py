"""The kill switch with flatten closes the position with IOC reduce-only LIMIT orders, in Nautilus's
backtest engine (the same strategy code as live).

Hyperliquid has no market order and the live execution client accepts only LIMIT orders
(``HLExecutionClient._check_supported``); the old flatten used ``close_all_positions`` (MARKET),
denied live. A constructed book: the MarketMaker quotes around 100,000, a seller sweeps the bids
through its bid (it buys), then the operator kill with flatten must leave position 0, with every
flatten order an IOC reduce-only limit within ``flatten_max_slippage_bps`` of the touch.
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.backtest.engine import BacktestEngineConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.model.currencies import USDC
from nautilus_trader.model.data import BookOrder
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.enums import AccountType
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import OmsType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderType
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.objects import Money

from botmm_nautilus.adapters.hyperliquid import make_perpetual
from botmm_nautilus.adapters.hyperliquid.execution import HLExecutionClient
from botmm_nautilus.core.params import QuotingParams
from botmm_nautilus.core.params import RiskParams
from botmm_nautilus.strategies.config import MarketMakerConfig
from botmm_nautilus.strategies.market_maker import MarketMaker

S = 1_000_000_000
T0 = 1_756_944_000 * S  # 2025-09-04T00:00:00Z


def _snapshot(instrument, ts: int, bids, asks, seq: int) -> OrderBookDeltas:
    """A full book: CLEAR then the levels (one order per level, as an L2 feed)."""
    iid = instrument.id
    deltas = [OrderBookDelta.clear(iid, seq, ts, ts)]
    for i, (px, sz) in enumerate(bids):
        order = BookOrder(OrderSide.BUY, instrument.make_price(px), instrument.make_qty(sz), 1 + i)
        deltas.append(OrderBookDelta(iid, BookAction.ADD, order, 0, seq, ts, ts))
    for i, (px, sz) in enumerate(asks):
        order = BookOrder(OrderSide.SELL, instrument.make_price(px), instrument.make_qty(sz), 100 + i)
        deltas.append(OrderBookDelta(iid, BookAction.ADD, order, 0, seq, ts, ts))
    return OrderBookDeltas(iid, deltas)


def _book_at(instrument, ts: int, mid: float, seq: int, depth_sz: float = 0.02) -> OrderBookDeltas:
    bids = [(mid - 5 - 10 * i, depth_sz) for i in range(5)]
    asks = [(mid + 5 + 10 * i, depth_sz) for i in range(5)]
    return _snapshot(instrument, ts, bids, asks, seq)


def _position(engine, instrument) -> float:
    return float(sum(p.signed_qty for p in engine.cache.positions_open(instrument_id=instrument.id)))


def _engine(instrument) -> BacktestEngine:
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(bypass_logging=True)))
    engine.add_venue(instrument.id.venue, OmsType.NETTING, AccountType.MARGIN, base_currency=USDC,
                     starting_balances=[Money(10_000, USDC)], book_type=BookType.L2_MBP, default_leverage=Decimal(5))
    engine.add_instrument(instrument)
    return engine


def test_kill_with_flatten_closes_the_position_with_ioc_limits():
    btc = make_perpetual("BTC")
    engine = _engine(btc)
    config = MarketMakerConfig(
        instrument_id=btc.id, capital_usd=10_000.0, maker_fee_bps=1.5, record_tape=False,
        quoting=QuotingParams(fee_gate="off", min_half_spread_bps=0.2, expected_adverse_bps=0.0),
        risk=RiskParams(mid_jump_frac=None, stale_book_s=None, flatten_max_slippage_bps=50.0, flatten_max_tries=5),
    )
    mm = MarketMaker(config)
    engine.add_strategy(mm)
    # stage 1: a calm book at 100,000 for 20 s: the MarketMaker quotes
    data = [_book_at(btc, T0 + i * S // 2, 100_000.0, i + 1) for i in range(40)]
    engine.add_data(data)
    engine.run(streaming=True)
    open_bids = [o for o in engine.cache.orders_open(instrument_id=btc.id) if o.side == OrderSide.BUY]
    assert open_bids, "the MarketMaker did not quote on the constructed book"
    top_bid = max(o.price.as_double() for o in open_bids)
    # stage 2: the asks drop through our bid (a seller sweeps): our bid fills, then the book settles lower
    engine.clear_data()
    t = T0 + 20 * S
    crossed = _snapshot(btc, t, bids=[(top_bid - 50, 0.02)], asks=[(top_bid - 20, 0.5), (top_bid - 10, 0.5)], seq=100)
    settle = [_book_at(btc, t + S + i * S // 2, top_bid - 30, 101 + i) for i in range(4)]
    engine.add_data([crossed, *settle])
    engine.run(streaming=True)
    pos = _position(engine, btc)
    assert pos > 0, "the constructed sweep did not fill our bid"
    # the kill switch with flatten (as the drawdown rule or the operator throws it), then 5 s of a
    # book whose bids within 50 bps hold a third of the position: one IOC cannot close it all
    killed_at = t + 3 * S
    mm.core.risk.kill(killed_at, "test", flatten=True)
    engine.clear_data()
    t2 = t + 4 * S
    third = float(btc.make_qty(pos / 3))
    bids = [(top_bid - 35, third), (top_bid * 0.98, 1.0)]
    asks = [(top_bid - 25, 1.0)]
    engine.add_data([_snapshot(btc, t2 + i * S // 4, bids, asks, 200 + i) for i in range(20)])
    engine.run(streaming=True)
    engine.end()

    # the venue (the backtest's matching engine) holds no position and no order of ours
    assert _position(engine, btc) == 0.0
    assert engine.cache.orders_open(instrument_id=btc.id) == []
    assert mm.core.risk.status()["state"] == "KILLED"
    # every order after the kill is a flatten order, and what Hyperliquid accepts: an IOC
    # reduce-only LIMIT (the live client's gate passes it), within 50 bps of the touch
    flatten = [o for o in engine.cache.orders(instrument_id=btc.id) if o.ts_init > killed_at]
    assert flatten, "no flatten order was sent"
    for order in flatten:
        assert HLExecutionClient._check_supported(None, order) is None, order  # MARKET: "unsupported order type"
        assert order.order_type == OrderType.LIMIT and order.time_in_force == TimeInForce.IOC, order
        assert order.is_reduce_only and not order.is_post_only and order.side == OrderSide.SELL
        assert order.price.as_double() >= (top_bid - 35) * (1 - 50e-4)  # never worse than the slippage bound
    # a third of the position per IOC: three orders, each sent after the previous one resolved
    assert len(flatten) >= 3, flatten
    assert all(o.is_closed for o in flatten)
    assert sum(o.filled_qty.as_double() for o in flatten) == pos
    engine.dispose()


def test_drawdown_kill_with_flatten_on_kill_closes_the_position():
    """``kill_drawdown_frac`` + ``flatten_on_kill``: the automatic kill switch flattens through the same
    IOC path (the old flatten's MARKET order is what the live client denies)."""
    btc = make_perpetual("BTC")
    engine = _engine(btc)
    config = MarketMakerConfig(
        instrument_id=btc.id, capital_usd=10_000.0, maker_fee_bps=1.5, record_tape=False,
        quoting=QuotingParams(fee_gate="off", min_half_spread_bps=0.2, expected_adverse_bps=0.0),
        # any loss halts, a loss of 1/100,000 of the peak kills (the sweep below loses more)
        risk=RiskParams(mid_jump_frac=None, stale_book_s=None, max_drawdown_frac=1e-7, kill_drawdown_frac=1e-5,
                        flatten_on_kill=True),
    )
    mm = MarketMaker(config)
    engine.add_strategy(mm)
    engine.add_data([_book_at(btc, T0 + i * S // 2, 100_000.0, i + 1) for i in range(40)])
    engine.run(streaming=True)
    top_bid = max(o.price.as_double() for o in engine.cache.orders_open(instrument_id=btc.id) if o.side == OrderSide.BUY)
    engine.clear_data()
    t = T0 + 20 * S
    crossed = _snapshot(btc, t, bids=[(top_bid - 50, 0.02)], asks=[(top_bid - 20, 0.5), (top_bid - 10, 0.5)], seq=100)
    # the market falls 1 %: the long loses about 9 USD of 10,000, 1e-5 is 0.1 USD
    falling = [_book_at(btc, t + S + i * S // 4, top_bid * 0.99, 101 + i) for i in range(20)]
    engine.add_data([crossed, *falling])
    engine.run(streaming=True)
    engine.end()
    status = mm.core.risk.status()
    assert status["state"] == "KILLED" and any("(automatic)" in r for r in status["reasons"]), status
    assert _position(engine, btc) == 0.0
    assert engine.cache.orders_open(instrument_id=btc.id) == []
    flatten = [o for o in engine.cache.orders(instrument_id=btc.id) if o.is_reduce_only]
    assert flatten and all(HLExecutionClient._check_supported(None, o) is None for o in flatten), flatten
    engine.dispose()


def test_flatten_stops_after_max_tries_when_the_book_within_the_bound_is_too_thin():
    """The bid at the touch holds a tenth of the position and the next one is beyond
    ``flatten_max_slippage_bps``: each IOC fills the touch and expires, the flatten sends exactly
    ``flatten_max_tries`` of them (each after the previous one resolved), never at a worse price,
    and leaves the rest for the operator (reported, not chased)."""
    btc = make_perpetual("BTC")
    engine = _engine(btc)
    config = MarketMakerConfig(
        instrument_id=btc.id, capital_usd=10_000.0, maker_fee_bps=1.5, record_tape=False,
        quoting=QuotingParams(fee_gate="off", min_half_spread_bps=0.2, expected_adverse_bps=0.0),
        risk=RiskParams(mid_jump_frac=None, stale_book_s=None, flatten_max_slippage_bps=20.0, flatten_max_tries=3),
    )
    mm = MarketMaker(config)
    engine.add_strategy(mm)
    engine.add_data([_book_at(btc, T0 + i * S // 2, 100_000.0, i + 1) for i in range(40)])
    engine.run(streaming=True)
    top_bid = max(o.price.as_double() for o in engine.cache.orders_open(instrument_id=btc.id) if o.side == OrderSide.BUY)
    engine.clear_data()
    t = T0 + 20 * S
    crossed = _snapshot(btc, t, bids=[(top_bid - 50, 0.02)], asks=[(top_bid - 20, 0.5), (top_bid - 10, 0.5)], seq=100)
    engine.add_data([crossed, *[_book_at(btc, t + S + i * S // 2, top_bid - 30, 101 + i) for i in range(4)]])
    engine.run(streaming=True)
    pos = _position(engine, btc)
    assert pos > 0
    killed_at = t + 3 * S
    mm.core.risk.kill(killed_at, "test", flatten=True)
    engine.clear_data()
    touch = top_bid - 100
    sliver = float(btc.make_qty(pos / 10))
    # the touch holds a tenth of the position; the next bid is 3 % lower, beyond the 20 bps bound
    thin = [_snapshot(btc, t + 4 * S + i * S // 4, [(touch, sliver), (touch * 0.97, 1.0)], [(top_bid, 1.0)], 200 + i)
            for i in range(20)]
    engine.add_data(thin)
    engine.run(streaming=True)
    engine.end()
    flatten = [o for o in engine.cache.orders(instrument_id=btc.id) if o.ts_init > killed_at]
    assert len(flatten) == 3, flatten
    for order in flatten:
        assert order.is_closed and order.filled_qty.as_double() == sliver, order
        assert order.price.as_double() >= touch * (1 - 20e-4)
    assert _position(engine, btc) == float(btc.make_qty(pos - 3 * sliver))  # the rest is left for the operator
    assert not mm.flatten_active and mm.core.risk.status()["state"] == "KILLED"
    engine.dispose()
