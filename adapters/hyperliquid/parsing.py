"""Pure conversions between Hyperliquid wire JSON and Nautilus objects (no I/O, no state).

Everything takes the wire dicts of HYPERLIQUID_PROTOCOL.md and an instrument; numbers are parsed
from strings with ``Decimal`` so nothing is rounded on the way in.
"""

from __future__ import annotations

import hashlib
import re
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
from nautilus_trader.model.data import TradeTick
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

NS_PER_MS = 1_000_000
_CLOID_RE = re.compile(r"^0x[0-9a-f]{32}$")

_HL_STATUS = {
    "open": OrderStatus.ACCEPTED,
    "filled": OrderStatus.FILLED,
    "triggered": OrderStatus.TRIGGERED,
    "rejected": OrderStatus.REJECTED,
}


# ------------------------------------------------------------------------------------ identifiers
def is_cloid(text: str | None) -> bool:
    return bool(text) and _CLOID_RE.match(text) is not None


def cloid_for(client_order_id: str) -> str:
    """Deterministic 16-byte cloid (``0x`` + 32 hex) of a ClientOrderId; a cloid maps to itself.

    Orders recovered from the venue without a local id get the cloid itself as ClientOrderId, so
    the mapping is stable across restarts.
    """
    text = str(client_order_id)
    if is_cloid(text):
        return text
    return "0x" + hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def side_of(hl_side: str) -> OrderSide:
    return OrderSide.BUY if hl_side == "B" else OrderSide.SELL


def aggressor_of(hl_side: str) -> AggressorSide:
    """Hyperliquid trade side is the aggressor: ``B`` buyer lifted the ask, ``A`` seller hit the bid."""
    if hl_side == "B":
        return AggressorSide.BUYER
    if hl_side == "A":
        return AggressorSide.SELLER
    return AggressorSide.NO_AGGRESSOR


def tif_of(hl_tif: str | None) -> TimeInForce:
    return TimeInForce.IOC if hl_tif == "Ioc" else TimeInForce.GTC


def hl_status_to_nautilus(status: str, filled: bool) -> OrderStatus:
    if status == "open":
        return OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.ACCEPTED
    if status in _HL_STATUS:
        return _HL_STATUS[status]
    if status.endswith("Rejected"):
        return OrderStatus.REJECTED
    return OrderStatus.CANCELED  # canceled, scheduledCancel, marginCanceled, ...


# ------------------------------------------------------------------------------------ wire out
def decimal_to_wire(value) -> str:
    """Plain decimal string without exponent or trailing zeros (``"100000"``, ``"0.0015"``)."""
    d = Decimal(str(value))
    if d == d.to_integral_value():
        return str(d.quantize(Decimal(1)))
    return format(d.normalize(), "f")


def order_wire(asset: int, is_buy: bool, px, sz, reduce_only: bool, tif: str, cloid: str | None) -> dict:
    """Order wire in the exact key order ``a, b, p, s, r, t, c`` (signing hashes msgpack)."""
    wire = {"a": asset, "b": is_buy, "p": decimal_to_wire(px), "s": decimal_to_wire(sz), "r": reduce_only,
            "t": {"limit": {"tif": tif}}}
    if cloid is not None:
        wire["c"] = cloid
    return wire


def order_action(wires: list[dict]) -> dict:
    return {"type": "order", "orders": wires, "grouping": "na"}


def batch_modify_action(modifies: list[tuple[int | str, dict]]) -> dict:
    return {"type": "batchModify", "modifies": [{"oid": oid, "order": w} for oid, w in modifies]}


def cancel_action(cancels: list[tuple[int, int]]) -> dict:
    return {"type": "cancel", "cancels": [{"a": a, "o": o} for a, o in cancels]}


def cancel_by_cloid_action(cancels: list[tuple[int, str]]) -> dict:
    return {"type": "cancelByCloid", "cancels": [{"asset": a, "cloid": c} for a, c in cancels]}


def schedule_cancel_action(deadline_ms: int | None) -> dict:
    action: dict = {"type": "scheduleCancel"}
    if deadline_ms is not None:
        action["time"] = int(deadline_ms)
    return action


# ------------------------------------------------------------------------------------ responses
def response_statuses(resp) -> list:
    """Per-item statuses of an ``order``/``cancel``/``batchModify`` response.

    A whole-action error (``{"status":"err"}``) raises ``ExchangeActionError``.
    """
    if not isinstance(resp, dict) or resp.get("status") != "ok":
        text = resp.get("response") if isinstance(resp, dict) else resp
        raise ExchangeActionError(str(text))
    inner = resp.get("response") or {}
    data = inner.get("data") if isinstance(inner, dict) else None
    if not data:
        return []
    return list(data.get("statuses") or [])


class ExchangeActionError(Exception):
    """The venue rejected a whole action (signature, nonce, rate limit, ...)."""


def error_text(status) -> str | None:
    if isinstance(status, dict) and "error" in status:
        return str(status["error"])
    return None


def is_post_only_reject(text: str | None) -> bool:
    return bool(text) and "Post only order would have immediately matched" in text


# ------------------------------------------------------------------------------------ market data
def book_levels(data: dict) -> tuple[dict[str, str], dict[str, str]]:
    """l2Book ``levels`` -> (bids, asks) as ordered dicts px -> sz (best first)."""
    levels = data.get("levels") or [[], []]
    bids = {lv["px"]: lv["sz"] for lv in levels[0]}
    asks = {lv["px"]: lv["sz"] for lv in levels[1]}
    return bids, asks


def decimal_text_to_ticks(text, decimals: int) -> int | None:
    """``"110234.5"`` -> ``1102345`` at 1 decimal: exact integer parsing of a plain decimal string
    (about 0.3 us; the generic float route costs ~4 us). None when it is not a plain decimal with
    at most ``decimals`` significant decimals (then the caller falls back to the generic route)."""
    if text.__class__ is not str:
        return None
    i = text.find(".")
    if i < 0:
        if not text.isdigit():
            return None
        return int(text) * 10**decimals
    whole, frac = text[:i], text[i + 1:]
    if len(frac) > decimals:
        frac = frac.rstrip("0")
        if len(frac) > decimals:
            return None
    if not (whole.isdigit() and (frac.isdigit() or not frac)):
        return None
    return int(whole + frac + "0" * (decimals - len(frac)))


def book_level_ticks(levels: list, price_decimals: int, size_decimals: int,
                     px_cache: dict | None = None, sz_cache: dict | None = None) -> list[tuple[int, int]] | None:
    """l2Book levels of one side (``[{"px","sz","n"}, ...]``, best first) as ``(ticks, lots)``;
    None if any price or size is not a plain decimal string on the instrument's grid.

    ``px_cache`` / ``sz_cache``: text -> ticks memos kept by the caller per instrument (the same
    prices and sizes come back message after message; a hit is a dict lookup). Cleared when
    they grow past 8,192 entries."""
    out = []
    append = out.append
    if px_cache is None:
        px_cache = {}
    if sz_cache is None:
        sz_cache = {}
    for lv in levels:
        px = lv["px"]
        t = px_cache.get(px)
        if t is None:
            t = decimal_text_to_ticks(px, price_decimals)
            if t is None:
                return None
            if len(px_cache) >= 8192:
                px_cache.clear()
            px_cache[px] = t
        sz = lv["sz"]
        q = sz_cache.get(sz)
        if q is None:
            q = decimal_text_to_ticks(sz, size_decimals)
            if q is None:
                return None
            if len(sz_cache) >= 8192:
                sz_cache.clear()
            sz_cache[sz] = q
        append((t, q))
    return out


def is_crossed(bids: dict, asks: dict) -> bool:
    if not bids or not asks:
        return False
    best_bid = max(Decimal(p) for p in bids)
    best_ask = min(Decimal(p) for p in asks)
    return best_bid >= best_ask


def trade_tick(t: dict, instrument, ts_init: int) -> TradeTick:
    return TradeTick(
        instrument.id,
        instrument.make_price(Decimal(t["px"])),
        instrument.make_qty(Decimal(t["sz"])),
        aggressor_of(t.get("side")),
        TradeId(str(t["tid"])),
        int(t["time"]) * NS_PER_MS,
        ts_init,
    )


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
    o: dict,
    instrument,
    account_id: AccountId,
    client_order_id: ClientOrderId | None,
    ts_init: int,
    status: str = "open",
    status_ts_ms: int | None = None,
) -> OrderStatusReport:
    """From a ``frontendOpenOrders``/``openOrders`` entry (or the ``order`` of ``orderStatus``)."""
    orig = Decimal(o.get("origSz") or o["sz"])
    remaining = Decimal(o["sz"])
    filled = orig - remaining if status == "open" else (orig if status == "filled" else orig - remaining)
    ts_acc = int(o.get("timestamp", 0)) * NS_PER_MS
    ts_last = int(status_ts_ms) * NS_PER_MS if status_ts_ms else ts_acc
    return OrderStatusReport(
        account_id=account_id,
        instrument_id=instrument.id,
        venue_order_id=VenueOrderId(str(o["oid"])),
        order_side=side_of(o["side"]),
        order_type=OrderType.LIMIT,
        time_in_force=tif_of(o.get("tif")),
        order_status=hl_status_to_nautilus(status, filled > 0),
        quantity=instrument.make_qty(orig),
        filled_qty=instrument.make_qty(filled),
        report_id=UUID4(),
        ts_accepted=ts_acc,
        ts_last=ts_last,
        ts_init=ts_init,
        client_order_id=client_order_id,
        price=instrument.make_price(Decimal(o["limitPx"])),
        post_only=o.get("tif") == "Alo",
        reduce_only=bool(o.get("reduceOnly", False)),
    )


def fill_report(
    f: dict,
    instrument,
    account_id: AccountId,
    client_order_id: ClientOrderId | None,
    ts_init: int,
) -> FillReport:
    return FillReport(
        account_id=account_id,
        instrument_id=instrument.id,
        venue_order_id=VenueOrderId(str(f["oid"])),
        trade_id=TradeId(str(f["tid"])),
        order_side=side_of(f["side"]),
        last_qty=instrument.make_qty(Decimal(f["sz"])),
        last_px=instrument.make_price(Decimal(f["px"])),
        commission=Money(Decimal(f.get("fee", "0")), USDC),
        liquidity_side=LiquiditySide.TAKER if f.get("crossed") else LiquiditySide.MAKER,
        report_id=UUID4(),
        ts_event=int(f["time"]) * NS_PER_MS,
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
