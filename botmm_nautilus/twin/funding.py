"""Funding payments: at each replayed funding rate, and hourly for coins without a funding series.

Coins with a funding series in the market data pay at each published rate (the replay calls
:func:`pay_funding`); the others pay ``funding_rate_hourly`` on every whole hour of twin time
(:func:`pay_hourly_funding`). The oracle price is the mark (the replayed mid); per position the
payment is ``szi * oracle * rate`` (``accounts``), published on ``user`` (userEvents ``funding``)
and ``userFundings``; the rate is recorded for ``fundingHistory`` even when no price is known yet.
"""

from __future__ import annotations

from decimal import Decimal

from .state import HOUR_MS
from .state import TwinState
from .wire import ZERO_HASH
from .wire import fmt_decimal
from .wire import fmt_usd


def pay_funding(state: TwinState, coin: str, rate: Decimal, ts: int) -> None:
    """Every open position in ``coin`` pays (or receives) one funding payment at ``rate``."""
    oracle = state.mark_px(coin)
    state.funding_history[coin].append({"coin": coin, "fundingRate": fmt_decimal(rate), "premium": "0.0", "time": ts})
    if oracle is None:
        return
    for account in state.accounts.values():
        szi = account.szi(coin)
        if szi == 0:
            continue
        usdc = account.book_funding(coin, oracle, rate)
        record = {"time": ts, "coin": coin, "usdc": fmt_usd(usdc), "szi": fmt_decimal(szi), "fundingRate": fmt_decimal(rate)}
        account.fundings.append(
            {"time": ts, "hash": ZERO_HASH, "delta": {"type": "funding", "coin": coin, "usdc": record["usdc"],
                                                     "szi": record["szi"], "fundingRate": record["fundingRate"],
                                                     "nSamples": None}}
        )
        state.emit(("user", account.address), {"funding": {**record, "nSamples": None}})
        state.emit(("userFundings", account.address), [record])


def next_hourly_funding_ms(state: TwinState) -> int | None:
    """Twin time of the next hourly payment, or None if every coin has a funding series (or the rate is off)."""
    if state.config.funding_rate_hourly and len(state.funding_series_coins) < len(state.coins):
        return state.next_funding_ms
    return None


def pay_hourly_funding(state: TwinState, now_ms: int) -> None:
    """Pay the hourly rate for the coins without a funding series if a whole hour was reached."""
    rate = state.config.funding_rate_hourly
    if rate and now_ms >= state.next_funding_ms:
        hour = state.next_funding_ms
        state.next_funding_ms = hour + HOUR_MS
        for spec in state.coins:
            if spec.name not in state.funding_series_coins:
                pay_funding(state, spec.name, Decimal(rate), hour)
