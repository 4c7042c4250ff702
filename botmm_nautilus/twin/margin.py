"""Margin across an account's coins: the check a new order must pass and the ``clearinghouseState`` report.

The per-coin rules (initial margin of the worst-case side, maintenance margin, liquidation price)
are in ``accounts``; this module adds them up over the coins an account trades, at the marks of the
exchange state. The twin reports isolated leverage but computes margin the same way as cross.
"""

from __future__ import annotations

from decimal import Decimal

from .accounts import Account
from .accounts import liquidation_px
from .matching import BID
from .state import TwinState
from .wire import ZERO
from .wire import fmt_decimal
from .wire import fmt_usd
from .wire import quantize_px


def margin_ok(state: TwinState, account: Account, coin: str, side: str, px: Decimal, sz: Decimal) -> bool:
    """May ``account`` add an order of ``sz`` at ``px`` on ``side``? Yes if it does not raise the initial
    margin required over the open orders (not reduce-only) and positions, or the account value covers it."""
    marks = state.marks()
    open_by_coin: dict[str, list[Decimal]] = {}
    for o in state.open_orders.values():
        if o.owner == account.address and not o.reduce_only:
            entry = open_by_coin.setdefault(o.coin, [ZERO, ZERO])
            entry[0 if o.side == BID else 1] += o.sz
    before = ZERO
    after = ZERO
    coins = set(open_by_coin) | {c for c, p in account.positions.items() if p.szi != 0} | {coin}
    for c in coins:
        buys, sells = open_by_coin.get(c, [ZERO, ZERO])
        req = account.margin_required(c, marks.get(c), buys, sells, fallback_px=px if c == coin else None)
        before += req
        if c == coin:
            buys, sells = (buys + sz, sells) if side == BID else (buys, sells + sz)
            req = account.margin_required(c, marks.get(c), buys, sells, fallback_px=px)
        after += req
    return after <= before or after <= account.account_value(marks)


def clearinghouse_state(state: TwinState, user: str) -> dict:
    """``clearinghouseState`` of ``user`` now (an unknown user gets an empty, zero state)."""
    now = state.now_ms()
    account = state.accounts.get(user.lower())
    zero_summary = {"accountValue": "0.0", "totalMarginUsed": "0.0", "totalNtlPos": "0.0", "totalRawUsd": "0.0"}
    if account is None:
        return {
            "assetPositions": [],
            "crossMaintenanceMarginUsed": "0.0",
            "crossMarginSummary": dict(zero_summary),
            "marginSummary": dict(zero_summary),
            "time": now,
            "withdrawable": "0.0",
        }
    marks = state.marks()
    account_value = account.account_value(marks)
    positions = []
    total_margin = ZERO
    total_ntl = ZERO
    signed_ntl = ZERO
    maintenance = ZERO
    for coin, pos in account.positions.items():
        if pos.szi == 0:
            continue
        mark = marks.get(coin) or pos.entry_px
        lev = account.leverage_for(coin)
        value = abs(pos.szi) * mark
        margin = value / lev.value
        upnl = pos.szi * (mark - pos.entry_px)
        max_lev = state.max_leverage.get(coin, 10)
        liq = liquidation_px(pos.szi, mark, account_value, max_lev)
        total_margin += margin
        total_ntl += value
        signed_ntl += pos.szi * mark
        maintenance += value / (2 * max_lev)
        leverage = {"type": "cross" if lev.is_cross else "isolated", "value": lev.value}
        if not lev.is_cross:
            leverage["rawUsd"] = fmt_usd(margin - pos.szi * mark)
        entry_margin = abs(pos.szi) * pos.entry_px / lev.value
        positions.append(
            {
                "type": "oneWay",
                "position": {
                    "coin": coin,
                    "szi": fmt_decimal(pos.szi),
                    "entryPx": fmt_decimal(quantize_px(pos.entry_px)),
                    "leverage": leverage,
                    "liquidationPx": fmt_decimal(quantize_px(liq)) if liq is not None else None,
                    "marginUsed": fmt_usd(margin),
                    "maxLeverage": max_lev,
                    "positionValue": fmt_usd(value),
                    "returnOnEquity": fmt_decimal(quantize_px(upnl / entry_margin)) if entry_margin else "0.0",
                    "unrealizedPnl": fmt_usd(upnl),
                    "cumFunding": {
                        "allTime": fmt_usd(pos.cum_funding_all_time),
                        "sinceChange": fmt_usd(pos.cum_funding_since_change),
                        "sinceOpen": fmt_usd(pos.cum_funding_since_open),
                    },
                },
            }
        )
    summary = {
        "accountValue": fmt_usd(account_value),
        "totalMarginUsed": fmt_usd(total_margin),
        "totalNtlPos": fmt_usd(total_ntl),
        "totalRawUsd": fmt_usd(account_value - signed_ntl),
    }
    return {
        "assetPositions": positions,
        "crossMaintenanceMarginUsed": fmt_usd(maintenance),
        "crossMarginSummary": dict(summary),
        "marginSummary": dict(summary),
        "time": now,
        "withdrawable": fmt_usd(max(ZERO, account_value - total_margin)),
    }
