"""Constructed candle series and a scripted strategy for backtest timing tests.

``write_bar_catalog`` writes the BTC instrument, hand-made 5-minute bars (each stamped at its
close) and optional funding rates into a catalog. ``run_probe`` runs the project's candle-mode
venue (``build_run_config`` + ``build_node``, i.e. the real fill model, latency, order-entry timing
and funding module) with ``ScriptedOrders`` added next to the do-nothing strategy: at the bar
closing at a scripted time it sends the scripted orders, priced from that bar's close.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

import pandas as pd
from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import Bar
from nautilus_trader.model.data import BarType
from nautilus_trader.model.data import FundingRateUpdate
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy

from botmm_nautilus.adapters.hyperliquid.instruments import make_perpetual
from botmm_nautilus.backtest.runner import build_node
from botmm_nautilus.backtest.runner import build_run_config
from botmm_nautilus.data.catalog_io import StagedCatalogWriter

BAR_NS = 300 * 10**9
BAR_TYPE = "BTC-USDC-PERP.HL-5-MINUTE-LAST-EXTERNAL"


def bar_close_ns(start: str, index: int) -> int:
    """Close time (= ts) of bar ``index`` (0-based) of a series whose first bar opens at ``start``."""
    return int(pd.Timestamp(start, tz="UTC").value) + (index + 1) * BAR_NS


def write_bar_catalog(path, start: str, ohlc: list[tuple[float, float, float, float]], funding: list[tuple[int, str]] = (),
                      volume: float = 10.0) -> list[Bar]:
    """Write the BTC instrument, one 5-minute bar per ``(open, high, low, close)`` and the
    ``(ts_ns, rate)`` funding updates; returns the bars."""
    inst = make_perpetual("BTC")
    bar_type = BarType.from_str(BAR_TYPE)
    bars = []
    for i, (o, h, lo, c) in enumerate(ohlc):
        ts = bar_close_ns(start, i)
        bars.append(Bar(bar_type, inst.make_price(o), inst.make_price(h), inst.make_price(lo), inst.make_price(c),
                        inst.make_qty(volume), ts, ts))
    with StagedCatalogWriter(path) as w:
        w.write([inst])
        w.write(bars)
        if funding:
            from decimal import Decimal

            w.write([FundingRateUpdate(inst.id, Decimal(rate), ts_event=ts, ts_init=ts, interval=60) for ts, rate in funding])
        w.commit()
    return bars


class ScriptedOrdersConfig(StrategyConfig, frozen=True):
    instrument_id: str
    bar_type: str
    # (bar close ts, "BUY"|"SELL", price offset from that bar's close, quantity, "LIMIT"|"MARKET")
    script: tuple[tuple[int, str, float, float, str], ...] = ()


@dataclass
class ProbeRecord:
    fills: list[tuple[int, str, float, float]] = field(default_factory=list)  # ts, side, price, qty
    rejects: list[tuple[int, str]] = field(default_factory=list)  # ts, reason
    accepted: list[int] = field(default_factory=list)
    submitted: list[int] = field(default_factory=list)


class ScriptedOrders(Strategy):
    def __init__(self, config: ScriptedOrdersConfig) -> None:
        super().__init__(config)
        self.record = ProbeRecord()
        self._iid = InstrumentId.from_str(config.instrument_id)

    def on_start(self) -> None:
        self.subscribe_bars(BarType.from_str(self.config.bar_type))

    def on_bar(self, bar: Bar) -> None:
        inst = self.cache.instrument(self._iid)
        for ts, side, offset, qty, kind in self.config.script:
            if ts != bar.ts_init:
                continue
            order_side = OrderSide.BUY if side == "BUY" else OrderSide.SELL
            if kind == "MARKET":
                order = self.order_factory.market(self._iid, order_side, inst.make_qty(qty))
            else:
                order = self.order_factory.limit(self._iid, order_side, inst.make_qty(qty), inst.make_price(bar.close.as_double() + offset),
                                                 time_in_force=TimeInForce.GTC, post_only=True)
            self.record.submitted.append(bar.ts_init)
            self.submit_order(order)

    def on_order_accepted(self, event) -> None:
        self.record.accepted.append(event.ts_event)

    def on_order_rejected(self, event) -> None:
        self.record.rejects.append((event.ts_event, event.reason))

    def on_order_filled(self, event) -> None:
        self.record.fills.append((event.ts_event, event.order_side.name, event.last_px.as_double(), event.last_qty.as_double()))


def run_probe(cfg, catalog, script) -> tuple[ProbeRecord, list[dict]]:
    """Run candle mode over ``catalog`` with ``script``; returns the probe's record and the funding
    payments the venue's funding module published."""
    from botmm_nautilus.backtest.venue_models import FUNDING_TOPIC

    run_cfg = build_run_config(cfg, str(catalog), mode="candles", strategy="DoNothing")
    node = build_node(run_cfg)
    engine = node.get_engine(run_cfg.id)
    funding: list[dict] = []
    engine.kernel.msgbus.subscribe(topic=FUNDING_TOPIC, handler=funding.append)
    probe = ScriptedOrders(ScriptedOrdersConfig(instrument_id="BTC-USDC-PERP.HL", bar_type=BAR_TYPE, script=tuple(script),
                                                order_id_tag="PROBE"))
    engine.add_strategy(probe)
    try:
        node.run()
    finally:
        node.dispose()
    return probe.record, funding
