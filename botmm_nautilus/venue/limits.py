"""Hyperliquid's rate limits: what a request costs and the budgets it is drawn from.

* IP budget: 1200 weight per minute per IP, shared by every ``/info`` and ``/exchange`` request.
  ``/info`` costs 2 for the cheap requests (books, mids, account state, order status), 60 for
  ``userRole`` and 20 for the rest; history requests add 1 per 20 items returned, ``candleSnapshot``
  1 per 60 candles. An ``/exchange`` action costs ``1 + n // 40`` for a batch of n orders/cancels.
* Address budget: 10,000 actions plus one per USDC of cumulative traded volume (plus purchased
  weight); once it is used up the venue allows one action per 10 seconds. Cancels have a larger
  cap of their own, ``min(cap + 100000, 2 * cap)`` (:func:`cancel_cap`), so an account out of
  budget can still take its orders off the book.

Used by the adapter (its token bucket and address-budget mirror) and by the exchange twin (which
enforces them), so both count the same way.
"""

from __future__ import annotations

IP_WEIGHT_PER_MINUTE = 1200
ADDRESS_BASE_BUDGET = 10_000
OVER_BUDGET_INTERVAL_MS = 10_000  # over the address budget: one action per 10 s
CANCEL_CAP_EXTRA = 100_000  # cancels: min(cap + 100000, 2 * cap)
CANCEL_ACTIONS = frozenset({"cancel", "cancelByCloid"})

INFO_WEIGHT_2 = frozenset({"l2Book", "allMids", "clearinghouseState", "orderStatus", "spotClearinghouseState", "exchangeStatus"})
INFO_WEIGHT_60 = frozenset({"userRole"})
INFO_PER_ITEMS_20 = frozenset({"userFills", "userFillsByTime", "fundingHistory", "userFunding", "historicalOrders"})
EXCHANGE_ITEMS_PER_WEIGHT = 40


def info_weight(request_type: str | None, n_items: int = 0) -> int:
    """IP weight of an ``/info`` request of ``request_type`` that returns ``n_items`` items."""
    if request_type in INFO_WEIGHT_2:
        base = 2
    elif request_type in INFO_WEIGHT_60:
        base = 60
    else:
        base = 20
    if request_type in INFO_PER_ITEMS_20:
        base += n_items // 20
    elif request_type == "candleSnapshot":
        base += n_items // 60
    return base


def cancel_cap(cap: int) -> int:
    """The address budget cancels may use when the account's budget is ``cap``."""
    return min(cap + CANCEL_CAP_EXTRA, 2 * cap)


def exchange_weight(batch_length: int) -> int:
    """IP weight of an ``/exchange`` action carrying ``batch_length`` orders, modifies or cancels."""
    return 1 + batch_length // EXCHANGE_ITEMS_PER_WEIGHT


BUDGET_OK = "ok"
BUDGET_SHORT = "short"
BUDGET_EXHAUSTED = "exhausted"


def address_budget_state(left: int, cap: int, actions_per_s: float, *, short_frac: float, short_s: float,
                         resume_actions: int, was_exhausted: bool) -> str:
    """How the address budget stands: :data:`BUDGET_EXHAUSTED`, :data:`BUDGET_SHORT` or :data:`BUDGET_OK`.

    * exhausted: no action left (``left <= 0``); once exhausted it stays so until at least
      ``resume_actions`` are left again (a requote must not use up a sliver of budget at once);
    * short: less than ``short_frac`` of ``cap`` left, or the current rate (``actions_per_s``)
      would use up what is left within ``short_s`` seconds;
    * ok otherwise.
    """
    if left <= 0 or (was_exhausted and left < resume_actions):
        return BUDGET_EXHAUSTED
    if left < short_frac * cap or (actions_per_s > 0 and left / actions_per_s < short_s):
        return BUDGET_SHORT
    return BUDGET_OK
