"""``EmitOnce``: one ``OrderAccepted`` (or ``OrderRejected``) per order and one ``OrderCanceled`` per close of an order,
however many venue messages report it.

Why: the live execution engine applies order events from a queue. Between the moment this client
emits an event and the moment the engine applies it, the cache still shows the order as before.
Hyperliquid reports the same change twice: the HTTP answer of our action and the ``orderUpdates``
push (and ``userFills`` for an accept implied by a fill). When both arrive before the engine's
queue has run (a busy node), each path saw an open (or still SUBMITTED) order in the cache and
emitted: ``InvalidStateTrigger: CANCELED -> CANCELED`` / ``PARTIALLY_FILLED -> ACCEPTED``, and the
strategy received the event twice (the engine forwards an event it could not apply).

Rules (the order's state in the cache is the engine's; the guard adds what is still queued):

* Cancel: once a cancel is emitted for an order, another one is skipped while it is
  *outstanding*: the cache holds no more applied ``OrderCanceled`` events than when it was
  emitted, no fill was emitted by this client since (a late fill reopens a canceled order:
  the cancel that follows it is a new close and is emitted), and it is younger than ``ttl_s``
  (the engine drains its queue within milliseconds; the age limit only guarantees that a lost
  event cannot block the order forever). ``event_count`` alone would not do: an event queued
  before our cancel (a fill) raises it while our cancel is still queued.
* Accept / reject (the venue's answer to a submit): an order is answered once in its life. Once
  an accept or a reject is emitted, another of either is skipped while the cache still shows the
  order waiting (INITIALIZED/SUBMITTED) and within ``ttl_s``.
* Memory: at most ``max_orders`` orders are remembered (oldest dropped first; by then their
  events were applied long ago).
"""

from __future__ import annotations

import time
from collections import OrderedDict

from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.events import OrderCanceled

WAITING = (OrderStatus.INITIALIZED, OrderStatus.SUBMITTED)  # orders not yet answered by the venue


def applied_cancels(order) -> int:
    """How many ``OrderCanceled`` events the engine has applied to ``order`` (the cache's order)."""
    return sum(1 for e in order.events if isinstance(e, OrderCanceled))


class EmitOnce:
    """Remembers the accepts and cancels this client emitted and not yet seen applied."""

    def __init__(self, ttl_s: float = 5.0, max_orders: int = 4096) -> None:
        self.ttl_s = ttl_s
        self.max_orders = max_orders
        self._cancels: OrderedDict = OrderedDict()  # ClientOrderId -> (applied cancels at emission, monotonic s)
        self._accepts: OrderedDict = OrderedDict()  # ClientOrderId -> monotonic s of the emission

    def _remember(self, table: OrderedDict, key, value) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > self.max_orders:
            table.popitem(last=False)

    # ------------------------------------------------------------------ cancel
    def cancel_outstanding(self, order) -> bool:
        """True if a cancel of ``order`` (the cache's order) emitted earlier is still queued: skip another."""
        seen = self._cancels.get(order.client_order_id)
        if seen is None:
            return False
        n_applied, t = seen
        if time.monotonic() - t > self.ttl_s or applied_cancels(order) > n_applied:
            del self._cancels[order.client_order_id]
            return False
        return True

    def note_cancel(self, order) -> None:
        self._remember(self._cancels, order.client_order_id, (applied_cancels(order), time.monotonic()))

    def note_fill(self, client_order_id) -> None:
        """A fill was emitted: a cancel after it is a new close (the fill may reopen a canceled order)."""
        self._cancels.pop(client_order_id, None)

    # ------------------------------------------------------------------ accept
    def accept_outstanding(self, order) -> bool:
        """True if ``order`` (the cache's order) is still waiting but an accept (or reject) of it is already queued."""
        t = self._accepts.get(order.client_order_id)
        if t is None:
            return False
        if order.status not in WAITING or time.monotonic() - t > self.ttl_s:
            del self._accepts[order.client_order_id]
            return False
        return True

    def note_accept(self, order) -> None:
        self._remember(self._accepts, order.client_order_id, time.monotonic())
