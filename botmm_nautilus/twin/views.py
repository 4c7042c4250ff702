"""The twin's state as the venue shows it on the wire: books, mids, asset contexts, candles, orders, limits.

Read-only functions of a :class:`~.state.TwinState`, shared by the ``/info`` handlers, the market
feed (pushed ``l2Book``/``bbo``/``activeAssetCtx``/``allMids``) and the WebSocket subscription
snapshots, so an answer and a push of the same thing are built by the same code. The caller holds
the exchange lock unless a function says it takes it.
"""

from __future__ import annotations

from decimal import Decimal

from botmm_nautilus.venue.limits import ADDRESS_BASE_BUDGET

from .accounts import address_request_cap
from .matching import ASK
from .matching import BID
from .matching import TwinOrder
from .state import TwinState
from .wire import ZERO
from .wire import fmt_decimal
from .wire import fmt_usd
from .wire import quantize_px

DAY_MS = 86_400_000
L2_BOOK_DEPTH = 20  # levels per side in l2Book
MAX_LIST_ITEMS = 2000  # fills or orders in one answer or userFills snapshot, newest first


def meta(state: TwinState) -> dict:
    return {
        "universe": [
            {"name": c.name, "szDecimals": c.sz_decimals, "maxLeverage": c.max_leverage, "marginTableId": c.max_leverage}
            for c in state.coins
        ],
        "marginTables": [
            [lev, {"description": "", "marginTiers": [{"lowerBound": "0.0", "maxLeverage": lev}]}]
            for lev in sorted({c.max_leverage for c in state.coins})
        ],
        "collateralToken": 0,
    }


def all_mids(state: TwinState) -> dict[str, str]:
    out = {}
    for spec in state.coins:
        mid = state.mid_px(spec.name)
        if mid is not None:
            out[spec.name] = fmt_decimal(mid)
    return out


def bbo_tuple(state: TwinState, coin: str) -> tuple:
    """Best displayed ``(px, sz, n)`` of each side (None if empty): what ``bbo`` shows."""
    book = state.books[coin]
    bids, asks = book.levels(BID), book.levels(ASK)
    return (bids[0] if bids else None, asks[0] if asks else None)


def bbo_wire(state: TwinState, coin: str, now_ms: int) -> dict:
    best = bbo_tuple(state, coin)
    return {
        "coin": coin,
        "time": now_ms,
        "bbo": [None if lv is None else {"px": fmt_decimal(lv[0]), "sz": fmt_decimal(lv[1]), "n": lv[2]} for lv in best],
    }


def l2_book_wire(state: TwinState, coin: str, now_ms: int, n_sig_figs: int | None = None, mantissa: int | None = None) -> dict:
    book = state.books[coin]
    levels = []
    for side in (BID, ASK):
        levels.append(
            [{"px": fmt_decimal(px), "sz": fmt_decimal(sz), "n": n}
             for px, sz, n in book.l2_levels(side, L2_BOOK_DEPTH, n_sig_figs, mantissa)]
        )
    return {"coin": coin, "time": now_ms, "levels": levels}


def candle_wire(state: TwinState, coin: str, interval: str, now_ms: int) -> dict | None:
    """The open candle of ``interval`` at ``now_ms`` (takes the lock)."""
    with state.lock:
        candle = state.candles[coin].current(interval, now_ms)
        return candle.to_wire(coin, interval) if candle else None


def asset_ctx(state: TwinState, coin: str, now_ms: int) -> dict:
    mark = state.mark_px(coin)
    book = state.books[coin]
    bid, ask = book.best_replayed(BID), book.best_replayed(ASK)
    base_vlm, ntl_vlm, first_open = state.candles[coin].window_stats(now_ms - DAY_MS, now_ms)
    open_interest = sum((a.szi(coin) for a in state.accounts.values() if a.szi(coin) > 0), ZERO)
    rate = state.current_funding_rate.get(coin)
    if rate is None:
        rate = Decimal(state.config.funding_rate_hourly or 0)
    px_text = fmt_decimal(quantize_px(mark)) if mark is not None else None
    return {
        "funding": fmt_decimal(rate),
        "openInterest": fmt_decimal(open_interest),
        "prevDayPx": fmt_decimal(first_open) if first_open is not None else (px_text or "0.0"),
        "dayNtlVlm": fmt_decimal(quantize_px(ntl_vlm)),
        "premium": "0.0",
        "oraclePx": px_text,
        "markPx": px_text,
        "midPx": fmt_decimal(quantize_px((bid + ask) / 2)) if bid is not None and ask is not None else None,
        "impactPxs": [fmt_decimal(bid), fmt_decimal(ask)] if bid is not None and ask is not None else None,
        "dayBaseVlm": fmt_decimal(base_vlm),
    }


def active_asset_ctx_wire(state: TwinState, coin: str, now_ms: int) -> dict:
    return {"coin": coin, "ctx": asset_ctx(state, coin, now_ms)}


def order_wire(order: TwinOrder, frontend: bool = False) -> dict:
    """An order as ``openOrders`` shows it, or with ``frontend`` as ``frontendOpenOrders``/``orderStatus`` do."""
    out = {
        "coin": order.coin,
        "side": order.side,
        "limitPx": fmt_decimal(order.limit_px),
        "sz": fmt_decimal(order.sz),
        "oid": order.oid,
        "timestamp": order.timestamp_ms,
        "origSz": fmt_decimal(order.orig_sz),
    }
    if frontend:
        out.update(
            {
                "orderType": "Limit",
                "tif": order.tif,
                "reduceOnly": order.reduce_only,
                "isTrigger": False,
                "triggerPx": "0.0",
                "triggerCondition": "N/A",
                "isPositionTpsl": False,
                "children": [],
                "cloid": order.cloid,
            }
        )
    else:
        if order.cloid:
            out["cloid"] = order.cloid
        if order.reduce_only:
            out["reduceOnly"] = True
    return out


def user_rate_limit(state: TwinState, user: str) -> dict:
    account = state.accounts.get(user.lower())
    if account is None:
        return {"cumVlm": "0.0", "nRequestsUsed": 0, "nRequestsCap": ADDRESS_BASE_BUDGET, "nRequestsSurplus": 0}
    return {
        "cumVlm": fmt_usd(account.cum_volume_usd),
        "nRequestsUsed": account.n_requests_used,
        "nRequestsCap": address_request_cap(account),
        "nRequestsSurplus": 0,
    }


# ---------------------------------------------------------------------------- WebSocket snapshots (take the lock)


def user_fills_snapshot(state: TwinState, user: str) -> list[dict]:
    with state.lock:
        return list(reversed(state.fills_of(user)))[:MAX_LIST_ITEMS]


def user_fundings_snapshot(state: TwinState, user: str) -> list[dict]:
    with state.lock:
        account = state.accounts.get(user.lower())
        if account is None:
            return []
        keys = ("coin", "usdc", "szi", "fundingRate")
        return [{"time": r["time"], **{k: r["delta"][k] for k in keys}} for r in account.fundings]


def recent_trades_snapshot(state: TwinState, coin: str) -> list[dict]:
    with state.lock:
        return list(state.recent_trades.get(coin, []))
