"""A live book shows our own resting orders: the strategy reads the market's touch without them.

Before ``book_includes_own_orders`` the live MarketMaker took its own bid at the top of the twin's
(or the venue's) l2Book as the market's best bid, so its mid moved with its own quotes and the
quotes chased themselves; a recorded catalog never shows our orders, so backtest and live saw
different mids for the same market (bench/parity.py: live filled 1.29x the backtest's volume).
"""

from __future__ import annotations

from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import BookOrder
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.test_kit.stubs.execution import TestExecStubs
from nautilus_trader.test_kit.stubs.identifiers import TestIdStubs

from botmm_nautilus.adapters.hyperliquid import make_perpetual
from botmm_nautilus.strategies.config import MarketMakerConfig
from botmm_nautilus.strategies.market_maker import MarketMaker


def _book(instrument, bids, asks) -> OrderBook:
    book = OrderBook(instrument.id, BookType.L2_MBP)
    for i, (px, sz) in enumerate(bids):
        book.add(BookOrder(OrderSide.BUY, instrument.make_price(px), instrument.make_qty(sz), i + 1), 0, 0)
    for i, (px, sz) in enumerate(asks):
        book.add(BookOrder(OrderSide.SELL, instrument.make_price(px), instrument.make_qty(sz), 100 + i), 0, 0)
    return book


def _strategy(instrument, own_in_book: bool) -> MarketMaker:
    config = MarketMakerConfig(instrument_id=instrument.id, capital_usd=1000.0, maker_fee_bps=1.5,
                               book_includes_own_orders=own_in_book)
    strategy = MarketMaker(config)
    strategy._half_lot = instrument.size_increment.as_double() / 2
    return strategy


def _accepted(instrument, side, px, qty, n):
    return TestExecStubs.make_accepted_order(
        instrument=instrument, order_side=side, price=instrument.make_price(px), quantity=instrument.make_qty(qty),
        client_order_id=TestIdStubs.client_order_id(n),
    )


def test_touch_skips_levels_that_are_only_our_orders_and_keeps_shared_ones():
    btc = make_perpetual("BTC")
    strategy = _strategy(btc, own_in_book=True)
    ours_bid = _accepted(btc, OrderSide.BUY, 100001, 0.001, 1)  # alone at the top of the bid side
    ours_ask = _accepted(btc, OrderSide.SELL, 100003, 0.001, 2)  # shares its level with 0.5 of others
    strategy._live = {o.client_order_id: o for o in (ours_bid, ours_ask)}
    book = _book(btc, bids=[(100001, 0.001), (100000, 1.0)], asks=[(100003, 0.501), (100004, 1.0)])
    assert strategy._market_touch(book, 100001.0, 100003.0) == (100000.0, 100003.0)


def test_a_side_with_only_our_orders_has_no_market_touch():
    btc = make_perpetual("BTC")
    strategy = _strategy(btc, own_in_book=True)
    ours = _accepted(btc, OrderSide.SELL, 100003, 0.2, 3)
    strategy._live = {ours.client_order_id: ours}
    touch = _strategy(btc, True)._market_touch(_book(btc, bids=[(100000, 1.0)], asks=[(100003, 0.2)]), 100000.0, 100003.0)
    assert touch == (100000.0, 100003.0)  # a strategy without live orders reads the book as it is
    bid, ask = strategy._market_touch(_book(btc, bids=[(100000, 1.0)], asks=[(100003, 0.2)]), 100000.0, 100003.0)
    assert bid == 100000.0 and ask != ask  # NaN: nothing but us on the ask side
