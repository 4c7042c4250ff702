"""Hyperliquid venue behaviour that Nautilus 1.231's simulated exchange lacks.

* ``HyperliquidFeeModel``: maker/taker fees from the per-asset config instead of the instrument
  stored in the catalog (base tier maker +0.00015 is a cost; a negative maker fee is a rebate and
  credits the account).
* ``PerpFundingModule``: hourly funding payments on open perp positions (Nautilus 1.231 has no
  funding simulation). At each funding time in the catalog's ``FundingRateUpdate`` series the
  module books ``payment = -signed_position * price * rate`` into the account (positive rate:
  longs pay shorts, Hyperliquid's convention) and publishes a record of the payment on the
  engine's message bus, topic :data:`FUNDING_TOPIC` (the backtest runner subscribes to it before
  the run, as Nautilus's ``BacktestNode.build`` suggests for collecting information). The price
  is the venue book's mid at that moment (the oracle price Hyperliquid uses is not in the data;
  mid and oracle differ by a few bps, a second-order effect on a payment of ~1 bp).

  Timing: the payment is made AT the funding time, on the position held then and at the book as
  it was then (in candle mode: the close of the last bar stamped at or before the funding time).
  The module sets a clock alert at the next funding time; the engine settles the venue at that
  timestamp (orders due by then are processed first) and runs the module's ``process`` there.
  Without the alert a payment waited for the next data event, i.e. in candle mode the position
  and close of the bar ending at HH:05 paid HH:00's funding.
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.backtest.config import FeeModelConfig
from nautilus_trader.backtest.config import SimulationModuleConfig
from nautilus_trader.backtest.models import FeeModel
from nautilus_trader.backtest.modules import SimulationModule
from nautilus_trader.model.currencies import USDC
from nautilus_trader.model.data import FundingRateUpdate
from nautilus_trader.model.enums import LiquiditySide
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Money
from nautilus_trader.persistence.catalog import ParquetDataCatalog


class HyperliquidFeeModelConfig(FeeModelConfig, frozen=True):
    maker_fee: str = "0.00015"
    taker_fee: str = "0.00045"


class HyperliquidFeeModel(FeeModel):
    """Commission = notional * (maker_fee | taker_fee); positive is a cost, negative a rebate."""

    def __init__(self, config: HyperliquidFeeModelConfig | None = None) -> None:
        super().__init__()
        config = config or HyperliquidFeeModelConfig()
        self.maker_fee = Decimal(config.maker_fee)
        self.taker_fee = Decimal(config.taker_fee)

    def get_commission(self, order, fill_qty, fill_px, instrument) -> Money:
        notional = fill_qty.as_decimal() * fill_px.as_decimal() * instrument.multiplier.as_decimal()
        if order.liquidity_side == LiquiditySide.MAKER:
            rate = self.maker_fee
        elif order.liquidity_side == LiquiditySide.TAKER:
            rate = self.taker_fee
        else:
            raise ValueError(f"fill without a liquidity side for order {order.client_order_id}")
        return Money(notional * rate, instrument.quote_currency)


class PerpFundingModuleConfig(SimulationModuleConfig, frozen=True):
    catalog_path: str
    instrument_ids: tuple[str, ...]
    start_ns: int = 0
    end_ns: int = 0  # 0 = no end


# Message bus topic of the funding payment records: dicts with ts_ns, instrument_id, rate,
# position_base, price and payment_usd.
FUNDING_TOPIC = "botmm.backtest.funding_payment"


class PerpFundingModule(SimulationModule):
    def __init__(self, config: PerpFundingModuleConfig) -> None:
        super().__init__(config)
        self._catalog_path = config.catalog_path
        self._ids = [InstrumentId.from_str(i) for i in config.instrument_ids]
        self._start_ns = config.start_ns
        self._end_ns = config.end_ns or None
        self._events: list[tuple[int, InstrumentId, float]] = []
        self._idx = 0
        self._next_ns = 2**63
        self._payments = 0
        self._paid_usd = 0.0
        self._alert_ns = -1  # funding time of the clock alert set last
        self._load()

    def _load(self) -> None:
        catalog = ParquetDataCatalog(self._catalog_path)
        try:
            updates = catalog.query(
                FundingRateUpdate,
                identifiers=[str(i) for i in self._ids],
                start=self._start_ns or None,
                end=self._end_ns,
            )
        except Exception:  # noqa: BLE001 - no funding data in the catalog for these ids
            updates = []
        events = [(u.ts_event, u.instrument_id, float(u.rate)) for u in updates]
        events.sort(key=lambda e: e[0])
        self._events = events
        self._idx = 0
        self._next_ns = events[0][0] if events else 2**63

    def pre_process(self, data) -> None:
        pass

    def process(self, ts_now: int) -> None:
        if ts_now >= self._next_ns:
            events = self._events
            while self._idx < len(events) and events[self._idx][0] <= ts_now:
                ts, iid, rate = events[self._idx]
                self._idx += 1
                self._pay(ts, iid, rate)
            self._next_ns = events[self._idx][0] if self._idx < len(events) else 2**63
        if self._next_ns != self._alert_ns and self._next_ns < 2**63:
            # wake the engine at the next funding time (it then calls process(next_ns))
            self._alert_ns = self._next_ns
            self.clock.set_time_alert_ns(f"botmm-funding-{self._next_ns}", self._next_ns, self._on_funding_time)

    def _on_funding_time(self, event) -> None:
        pass  # the engine settles the venue at this timestamp and calls process()

    def _pay(self, ts: int, iid: InstrumentId, rate: float) -> None:
        signed_qty = 0.0
        for position in self.exchange.cache.positions_open(instrument_id=iid):
            signed_qty += position.signed_qty
        if signed_qty == 0.0:
            return
        book = self.exchange.get_book(iid)
        price = book.midpoint()
        if price is None:
            bid, ask = book.best_bid_price(), book.best_ask_price()
            price = bid if bid is not None else ask
        if price is None:
            return
        price = float(price)
        payment = -signed_qty * price * rate
        self.exchange.adjust_account(Money(payment, USDC))
        self._payments += 1
        self._paid_usd += payment
        self.msgbus.publish(
            FUNDING_TOPIC,
            {
                "ts_ns": int(ts),
                "instrument_id": str(iid),
                "rate": rate,
                "position_base": signed_qty,
                "price": price,
                "payment_usd": payment,
            },
            external_pub=False,
        )

    def log_diagnostics(self, logger) -> None:
        logger.info(f"PerpFundingModule: {self._payments} payments, total {self._paid_usd:.4f} USDC")

    def reset(self) -> None:
        self._payments = 0
        self._paid_usd = 0.0
        self._alert_ns = -1
        self._load()
