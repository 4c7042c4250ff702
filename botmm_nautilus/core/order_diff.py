"""Desired quote ladder versus live orders: the smallest set of submit / modify / cancel actions.

Pure and engine-independent. The strategy describes its live orders per side (best first), the
core gives the desired ladder per side (best first), and ``diff_side`` pairs them level by level:

* a live order that is in flight (submitted and not yet acknowledged, or with a pending modify or
  cancel) is left alone and keeps its slot: acting on it again would double the exposure or race
  the exchange; its quantity still counts toward exposure in the risk checks;
* a paired order is modified only when its price moved by more than ``price_tolerance_bps`` of the
  mid, or its size by more than ``size_tolerance_frac`` of the desired size (requote tolerance:
  every modify costs queue position and an exchange action);
* surplus live orders are canceled, missing levels submitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SUBMIT = "submit"
MODIFY = "modify"
CANCEL = "cancel"


@dataclass(slots=True)
class LiveOrder:
    key: Any  # the strategy's handle (a Nautilus order, a client order id, ...)
    price: float
    qty: float  # remaining (leaves) quantity
    in_flight: bool = False


@dataclass(slots=True)
class Action:
    kind: str  # SUBMIT | MODIFY | CANCEL
    side: int  # +1 bid, -1 ask
    price: float = 0.0
    qty: float = 0.0
    key: Any = None

    def __repr__(self) -> str:  # compact for logs
        return f"{self.kind}({'B' if self.side > 0 else 'A'} {self.qty}@{self.price} key={self.key!r})"


def needs_update(
    live_price: float,
    live_qty: float,
    price: float,
    qty: float,
    mid: float,
    price_tolerance_bps: float,
    size_tolerance_frac: float,
) -> bool:
    if abs(live_price - price) > mid * price_tolerance_bps * 1e-4:
        return True
    if qty > 0 and abs(live_qty - qty) > size_tolerance_frac * qty:
        return True
    return False


def diff_side(
    side: int,
    desired: list[tuple[float, float]],
    live: list[LiveOrder],
    mid: float,
    price_tolerance_bps: float,
    size_tolerance_frac: float,
) -> list[Action]:
    """Actions turning ``live`` into ``desired`` for one side; both lists best price first."""
    actions: list[Action] = []
    n_live = len(live)
    for i, (price, qty) in enumerate(desired):
        if i < n_live:
            order = live[i]
            if order.in_flight:
                continue
            if needs_update(order.price, order.qty, price, qty, mid, price_tolerance_bps, size_tolerance_frac):
                actions.append(Action(MODIFY, side, price, qty, order.key))
        else:
            actions.append(Action(SUBMIT, side, price, qty, None))
    for order in live[len(desired):]:
        if not order.in_flight:
            actions.append(Action(CANCEL, side, order.price, order.qty, order.key))
    return actions


def diff_ladder(
    desired_bids: list[tuple[float, float]],
    desired_asks: list[tuple[float, float]],
    live_bids: list[LiveOrder],
    live_asks: list[LiveOrder],
    mid: float,
    price_tolerance_bps: float,
    size_tolerance_frac: float,
) -> list[Action]:
    """Both sides. Cancels come first, then modifies, then submits (frees margin and avoids crossing)."""
    acts = diff_side(1, desired_bids, live_bids, mid, price_tolerance_bps, size_tolerance_frac)
    acts += diff_side(-1, desired_asks, live_asks, mid, price_tolerance_bps, size_tolerance_frac)
    order = {CANCEL: 0, MODIFY: 1, SUBMIT: 2}
    acts.sort(key=lambda a: order[a.kind])
    return acts
