"""Pure conversions of Hyperliquid messages into Nautilus objects (no I/O, no state).

The messages are decoded (and checked) by ``botmm_nautilus.venue.messages``; fills and orders
arrive here as its typed structs, the smaller channels (``bbo``, ``candle``, ``activeAssetCtx``,
``clearinghouseState``) as the JSON objects the venue sent. Numbers are parsed from the decimal
strings with ``Decimal``, so nothing is rounded on the way in.
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.reports import FillReport
from nautilus_trader.execution.reports import OrderStatusReport
from nautilus_trader.execution.reports import PositionStatusReport
from nautilus_trader.model.currencies import USDC
from nautilus_trader.model.data import Bar
from nautilus_trader.model.data import BarType
from nautilus_trader.model.data import FundingRateUpdate
from nautilus_trader.model.data import MarkPriceUpdate
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BarAggregation
from nautilus_trader.model.enums import LiquiditySide
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import OrderType
from nautilus_trader.model.enums import PositionSide
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.identifiers import AccountId
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.identifiers import VenueOrderId
from nautilus_trader.model.objects import Money

from botmm_nautilus.venue.messages import BUY
from botmm_nautilus.venue.messages import Order
from botmm_nautilus.venue.messages import UserFill
from botmm_nautilus.venue.messages import is_rejected_status

NS_PER_MS = 1_000_000

_HL_STATUS = {
    "open": OrderStatus.ACCEPTED,
    "filled": OrderStatus.FILLED,
    "triggered": OrderStatus.TRIGGERED,
    "rejected": OrderStatus.REJECTED,
}


# ------------------------------------------------------------------------------------ enums
def side_of(hl_side: str) -> OrderSide:
    return OrderSide.BUY if hl_side == BUY else OrderSide.SELL


def aggressor_of(hl_side: str) -> AggressorSide:
    """A trade's side is the aggressor's (``venue.messages``): ``B`` -> BUYER, ``A`` -> SELLER."""
    return AggressorSide.BUYER if hl_side == BUY else AggressorSide.SELLER


def tif_of(hl_tif: str | None) -> TimeInForce:
    return TimeInForce.IOC if hl_tif == "Ioc" else TimeInForce.GTC


def hl_status_to_nautilus(status: str, filled: bool) -> OrderStatus:
    if status == "open":
        return OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.ACCEPTED
    if status in _HL_STATUS:
        return _HL_STATUS[status]
    if is_rejected_status(status):
        return OrderStatus.REJECTED
    return OrderStatus.CANCELED  # canceled, scheduledCancel, marginCanceled, ...


# ------------------------------------------------------------------------------------ market data
def quote_tick(data: dict, instrument, ts_init: int) -> QuoteTick | None:
    bbo = data.get("bbo") or [None, None]
    bid, ask = bbo[0], bbo[1]
    if not bid or not ask:
        return None
    return QuoteTick(
        instrument.id,
        instrument.make_price(Decimal(bid["px"])),
        instrument.make_price(Decimal(ask["px"])),
        instrument.make_qty(Decimal(bid["sz"])),
        instrument.make_qty(Decimal(ask["sz"])),
        int(data["time"]) * NS_PER_MS,
        ts_init,
    )


_INTERVALS = {
    (1, BarAggregation.MINUTE): "1m", (3, BarAggregation.MINUTE): "3m", (5, BarAggregation.MINUTE): "5m",
    (15, BarAggregation.MINUTE): "15m", (30, BarAggregation.MINUTE): "30m", (1, BarAggregation.HOUR): "1h",
    (2, BarAggregation.HOUR): "2h", (4, BarAggregation.HOUR): "4h", (8, BarAggregation.HOUR): "8h",
    (12, BarAggregation.HOUR): "12h", (1, BarAggregation.DAY): "1d",
}


def candle_interval(bar_type: BarType) -> str:
    spec = bar_type.spec
    key = (spec.step, spec.aggregation)
    if key not in _INTERVALS:
        raise ValueError(f"Hyperliquid has no candle interval for {bar_type}; use one of "
                         f"1m 3m 5m 15m 30m 1h 2h 4h 8h 12h 1d")
    return _INTERVALS[key]


def candle_bar(c: dict, bar_type: BarType, instrument, ts_init: int) -> Bar:
    """A candle as a Bar stamped at its close time ``T`` (+1 ms: HL's T is the last ms of the bar)."""
    return Bar(
        bar_type,
        instrument.make_price(Decimal(c["o"])),
        instrument.make_price(Decimal(c["h"])),
        instrument.make_price(Decimal(c["l"])),
        instrument.make_price(Decimal(c["c"])),
        instrument.make_qty(Decimal(c["v"])),
        (int(c["T"]) + 1) * NS_PER_MS,
        ts_init,
    )


def mark_price(ctx: dict, instrument, ts: int) -> MarkPriceUpdate | None:
    px = ctx.get("markPx")
    if px is None:
        return None
    return MarkPriceUpdate(instrument.id, instrument.make_price(Decimal(px)), ts, ts)


def funding_rate(ctx: dict, instrument, ts: int) -> FundingRateUpdate | None:
    rate = ctx.get("funding")
    if rate is None:
        return None
    next_hour = (ts // 3_600_000_000_000 + 1) * 3_600_000_000_000
    return FundingRateUpdate(instrument.id, Decimal(rate), ts, ts, interval=60, next_funding_ns=next_hour)


# ------------------------------------------------------------------------------------ reports
def order_status_report(
    o: Order,
    instrument,
    account_id: AccountId,
    client_order_id: ClientOrderId | None,
    ts_init: int,
    status: str = "open",
    status_ts_ms: int | None = None,
    known_quantity: Decimal | None = None,
) -> OrderStatusReport:
    """From an open order (``openOrders``/``frontendOpenOrders``) or the order of ``orderStatus``.

    ``known_quantity``: the order's quantity in the node, for an open order the node has modified
    after a partial fill. The venue cancel-replaces on a modify: the replacement's ``origSz`` is
    only the rest, unfilled; reported in the node's terms the order keeps its quantity and its
    fills (filled = quantity - the venue's remaining size)."""
    orig = Decimal(o.origSz or o.sz)
    remaining = Decimal(o.sz)
    if known_quantity is not None and status == "open" and known_quantity - remaining > orig - remaining:
        orig = known_quantity
    filled = orig - remaining if status == "open" else (orig if status == "filled" else orig - remaining)
    ts_acc = o.timestamp * NS_PER_MS
    ts_last = int(status_ts_ms) * NS_PER_MS if status_ts_ms else ts_acc
    return OrderStatusReport(
        account_id=account_id,
        instrument_id=instrument.id,
        venue_order_id=VenueOrderId(str(o.oid)),
        order_side=side_of(o.side),
        order_type=OrderType.LIMIT,
        time_in_force=tif_of(o.tif),
        order_status=hl_status_to_nautilus(status, filled > 0),
        quantity=instrument.make_qty(orig),
        filled_qty=instrument.make_qty(filled),
        report_id=UUID4(),
        ts_accepted=ts_acc,
        ts_last=ts_last,
        ts_init=ts_init,
        client_order_id=client_order_id,
        price=instrument.make_price(Decimal(o.limitPx)),
        post_only=o.tif == "Alo",
        reduce_only=o.reduceOnly,
    )


def liquidity_side(f: UserFill) -> LiquiditySide:
    return LiquiditySide.TAKER if f.crossed else LiquiditySide.MAKER


def fill_report(
    f: UserFill,
    instrument,
    account_id: AccountId,
    client_order_id: ClientOrderId | None,
    ts_init: int,
) -> FillReport:
    return FillReport(
        account_id=account_id,
        instrument_id=instrument.id,
        venue_order_id=VenueOrderId(str(f.oid)),
        trade_id=TradeId(str(f.tid)),
        order_side=side_of(f.side),
        last_qty=instrument.make_qty(Decimal(f.sz)),
        last_px=instrument.make_price(Decimal(f.px)),
        commission=Money(Decimal(f.fee), USDC),
        liquidity_side=liquidity_side(f),
        report_id=UUID4(),
        ts_event=f.time * NS_PER_MS,
        ts_init=ts_init,
        client_order_id=client_order_id,
    )


def positions(state: dict) -> dict[str, tuple[Decimal, Decimal | None]]:
    """``clearinghouseState`` -> coin -> (signed size, entry price)."""
    out = {}
    for item in state.get("assetPositions") or []:
        pos = item.get("position") or {}
        szi = Decimal(pos.get("szi", "0"))
        entry = pos.get("entryPx")
        out[pos.get("coin")] = (szi, Decimal(entry) if entry else None)
    return out


def position_report(coin_szi: Decimal, entry: Decimal | None, instrument, account_id: AccountId, ts: int) -> PositionStatusReport:
    side = PositionSide.FLAT if coin_szi == 0 else (PositionSide.LONG if coin_szi > 0 else PositionSide.SHORT)
    return PositionStatusReport(
        account_id=account_id,
        instrument_id=instrument.id,
        position_side=side,
        quantity=instrument.make_qty(abs(coin_szi)),
        report_id=UUID4(),
        ts_last=ts,
        ts_init=ts,
        avg_px_open=entry,
    )


def account_balance_usd(state: dict) -> tuple[Decimal, Decimal]:
    """(cash balance, margin used) from ``clearinghouseState``.

    Cash = ``marginSummary.accountValue`` minus the positions' unrealized PnL, so that Nautilus
    (which adds unrealized PnL itself) does not count it twice.
    """
    summary = state.get("marginSummary") or {}
    value = Decimal(summary.get("accountValue", "0"))
    upnl = sum((Decimal((p.get("position") or {}).get("unrealizedPnl", "0")) for p in state.get("assetPositions") or []),
               Decimal(0))
    used = Decimal(summary.get("totalMarginUsed", "0"))
    return value - upnl, used
