"""``EmitOnce`` (adapters/hyperliquid/event_guard.py) on real Nautilus orders: a cancel or an accept
emitted and not yet applied is outstanding (a second report of it is skipped); applying it, a fill
emitted since, or age end that; memory stays bounded."""

from __future__ import annotations

from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.test_kit.stubs.events import TestEventStubs
from nautilus_trader.test_kit.stubs.execution import TestExecStubs

from botmm_nautilus.adapters.hyperliquid.event_guard import EmitOnce


def _accepted_order(coid: str = "O-1"):
    from nautilus_trader.model.identifiers import ClientOrderId

    order = TestExecStubs.limit_order(client_order_id=ClientOrderId(coid))
    order.apply(TestEventStubs.order_submitted(order))
    order.apply(TestEventStubs.order_accepted(order))
    return order


def test_a_cancel_is_outstanding_until_applied():
    guard = EmitOnce()
    order = _accepted_order()
    assert not guard.cancel_outstanding(order)
    guard.note_cancel(order)
    assert guard.cancel_outstanding(order)  # still queued: a second report is skipped
    order.apply(TestEventStubs.order_canceled(order))
    assert order.status == OrderStatus.CANCELED
    assert not guard.cancel_outstanding(order)  # applied: the guard forgets it


def test_a_fill_after_the_cancel_allows_a_new_cancel():
    guard = EmitOnce()
    order = _accepted_order()
    guard.note_cancel(order)
    guard.note_fill(order.client_order_id)  # queued after the cancel: it reopens the order
    assert not guard.cancel_outstanding(order)


def test_an_old_cancel_is_forgotten():
    guard = EmitOnce(ttl_s=0.0)
    order = _accepted_order()
    guard.note_cancel(order)
    assert not guard.cancel_outstanding(order)


def test_an_accept_is_outstanding_while_the_order_waits():
    from nautilus_trader.model.identifiers import ClientOrderId

    guard = EmitOnce()
    order = TestExecStubs.limit_order(client_order_id=ClientOrderId("O-2"))
    order.apply(TestEventStubs.order_submitted(order))
    guard.note_accept(order)
    assert guard.accept_outstanding(order)
    order.apply(TestEventStubs.order_accepted(order))
    assert not guard.accept_outstanding(order)


def test_memory_is_bounded():
    guard = EmitOnce(max_orders=2)
    orders = [_accepted_order(f"O-{i}") for i in range(3)]
    for o in orders:
        guard.note_cancel(o)
    assert not guard.cancel_outstanding(orders[0])  # the oldest was dropped
    assert guard.cancel_outstanding(orders[1]) and guard.cancel_outstanding(orders[2])
