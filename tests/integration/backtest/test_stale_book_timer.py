"""Blind means flat in a backtest too: the MarketMaker's risk timer applies the stale-book rule on
the engine's clock, so quotes are canceled when the book stops, not when the next update arrives.

A constructed BTC book (the real Nautilus BacktestEngine, Hyperliquid-like venue, L2): a snapshot
every 200 ms for 20 s, then 20 s without any book data, then 5 s of snapshots again. With
``risk.stale_book_s`` 10 s every resting order is canceled between gap start + 10 s and gap start +
10 s + the 1 s timer (+ the venue's processing), and quoting resumes once the book is back. Before
the timer the orders rested through the whole gap (the rule ran only inside a decision, which ran
only on new data).
"""

from __future__ import annotations

from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.backtest.engine import BacktestEngineConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.model.currencies import USDC
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.enums import AccountType
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import OmsType
from nautilus_trader.model.events import OrderCanceled
from nautilus_trader.model.objects import Money

from botmm_nautilus.adapters.hyperliquid import make_perpetual
from botmm_nautilus.core.params import RiskParams
from botmm_nautilus.engine.book_diff import SnapshotDiffer
from botmm_nautilus.strategies.config import MarketMakerConfig
from botmm_nautilus.strategies.market_maker import RISK_CHECK_INTERVAL_S
from botmm_nautilus.strategies.market_maker import MarketMaker

S = 1_000_000_000
T0 = 1_757_000_000 * S
STALE_S = 10.0
GAP_START = T0 + 20 * S  # the last book before the gap is at GAP_START - 200 ms
GAP_END = T0 + 40 * S

def _book_series(inst) -> list[OrderBookDeltas]:
    differ = SnapshotDiffer(inst)
    out = []
    times = [T0 + i * S // 5 for i in range(100)] + [GAP_END + i * S // 5 for i in range(25)]
    for i, ts in enumerate(times):
        bid = 1_100_000 + (i % 3)  # ticks of 0.1: 110000.0 .. 110000.2
        bids = [(bid - k, 20_000 + 1_000 * k) for k in range(5)]
        asks = [(bid + 5 + k, 20_000 + 1_000 * k) for k in range(5)]
        deltas = differ.diff_ticks(bids, asks, ts, ts)
        if deltas:
            out.append(OrderBookDeltas(inst.id, deltas))
    return out

def test_risk_timer_cancels_quotes_during_a_book_gap_and_quoting_resumes_after():
    inst = make_perpetual("BTC", 5)
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR")))
    try:
        engine.add_venue(inst.id.venue, oms_type=OmsType.NETTING, account_type=AccountType.MARGIN,
                         base_currency=USDC, starting_balances=[Money(10_000, USDC)], book_type=BookType.L2_MBP)
        engine.add_instrument(inst)
        engine.add_data(_book_series(inst))
        config = MarketMakerConfig(instrument_id=inst.id, capital_usd=10_000.0, maker_fee_bps=1.5,
                                   risk=RiskParams(stale_book_s=STALE_S), record_tape=False)
        strategy = MarketMaker(config)
        engine.add_strategy(strategy)
        engine.run()
        orders = engine.cache.orders(instrument_id=inst.id)
        canceled_at = sorted(e.ts_event for o in orders for e in o.events if isinstance(e, OrderCanceled))
        submitted_before = [o for o in orders if o.ts_init < GAP_START]
        submitted_after = [o for o in orders if o.ts_init >= GAP_END]
        open_in_gap = [o for o in submitted_before
                       if not any(isinstance(e, OrderCanceled) and e.ts_event <= GAP_START + 12 * S for e in o.events)
                       and not o.is_closed]
        stale_events = [e for e in strategy.core.risk.drain_events() if "stale book" in e.reason]
    finally:
        engine.dispose()
    assert submitted_before, "the strategy never quoted"
    in_gap = [t for t in canceled_at if GAP_START < t < GAP_END]
    assert in_gap, "no order was canceled during the book gap"
    # the last book was at GAP_START - 0.2 s: stale from GAP_START + 9.8 s, seen by the next timer tick
    last_book = GAP_START - S // 5
    assert all(last_book + STALE_S * S <= t <= last_book + (STALE_S + RISK_CHECK_INTERVAL_S) * S + S // 10
               for t in in_gap), [(t - GAP_START) / S for t in in_gap]
    assert open_in_gap == []
    assert stale_events and stale_events[0].ts_ns < GAP_END
    assert submitted_after, "quoting did not resume after the gap"
