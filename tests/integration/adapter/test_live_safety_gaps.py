"""Live-safety paths of the execution client proven against the twin (real HTTP, WebSocket and
signatures; an in-process ``TradingNode`` on 127.0.0.1, a few seconds each). Each test asserts the
venue's state (the twin's open orders / fills), not only the node's.

* A cancel whose answer is lost while the venue cannot be asked (``/info`` answers 503, the
  WebSocket is stalled): the resend is answered "never placed, already canceled, or filled"; the
  order is NOT reported CancelRejected (which put it back to ACCEPTED in the node while the venue
  had canceled it); it stays PENDING_CANCEL and ends CANCELED once the venue can be asked.
* The running open-order check: (a) an order open at the venue that the node holds CLOSED is
  canceled at the venue; (b) an order placed with our key by another client is taken over by
  the node (an external order in its cache) and left resting.
* A lost answer of an IOC that filled, executed after the client gave up (still in flight): the
  lookups find it filled after its ``expiresAfter``; it is never sent again (one order, one fill
  at the venue). The twin's ``orderStatus`` always finds an order it executed (every placed order,
  an IOC too, stays in its order index), so the ``userFillsByTime`` fallback of the lookup is not
  reachable against the twin; this test proves the lookup path around it.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest
from nautilus_trader.config import LiveExecEngineConfig
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.identifiers import InstrumentId
from support.inprocess_node import book_twin
from support.inprocess_node import pump
from support.inprocess_node import start_node
from support.inprocess_node import stop_node
from support.live_node import KEY
from support.live_node import WALLET

from botmm_nautilus.adapters.hyperliquid.http import HLHttpClient
from botmm_nautilus.venue import actions

IID = InstrumentId.from_str("BTC-USDC-PERP.HL")
NEVER = 2**31 - 1  # as botmm_nautilus.apps.live: the engine's own missing-order fallback kept out
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture
def twin():
    server = book_twin([(99990, "1.0")], [(100010, "0.001"), (100020, "1.0")], fund=WALLET.address)
    yield server
    server.close()


@pytest.fixture
def node_factory(twin, monkeypatch):
    """``make(open_check_s)``: a started node; ``open_check_s``: the running open-order check as the
    live app configures it (``apps.live.exec_engine_config``), settle time 0."""
    monkeypatch.setenv("HYPERLIQUID_TESTNET_PK", KEY)
    built: list[TradingNode] = []

    def make(open_check_s: float | None = None):
        engine = None
        if open_check_s is not None:
            engine = LiveExecEngineConfig(reconciliation=True, open_check_interval_secs=open_check_s,
                                          open_check_open_only=False, open_check_missing_retries=NEVER,
                                          open_check_threshold_ms=0, reconciliation_startup_delay_secs=0)
        n, strategy, client = start_node(twin, "GAPS-001", engine, reconcile_settle_secs=0.0)
        built.append(n)
        return n, strategy, client

    yield make
    twin.faults.clear()  # a failed test must not leave the stop facing its faults
    for n in built:
        stop_node(n)


def _rest_bid(n, strategy, px: str = "99980"):
    inst = n.cache.instrument(IID)
    order = strategy.order_factory.limit(IID, OrderSide.BUY, inst.make_qty(Decimal("0.002")),
                                         inst.make_price(Decimal(px)), time_in_force=TimeInForce.GTC)
    strategy.submit_order(order)
    pump(n, lambda: n.cache.order(order.client_order_id).status == OrderStatus.ACCEPTED)
    return order


@pytest.mark.parametrize(("answers_lost", "info_down"), [(1, True), (100, True), (1, False)],
                         ids=["resend-answered-venue-unaskable", "every-answer-lost-venue-unaskable", "lookup-answers"])
def test_a_cancel_whose_answer_is_lost_is_not_rejected_blindly(twin, node_factory, answers_lost, info_down):
    """The cancel is executed, its answer lost; the WebSocket is stalled (its ``canceled`` update
    cannot tell). ``info_down``: the venue cannot be asked either (503 on /info) until the test
    clears it. ``answers_lost`` = 1: the resend is answered "never placed, already canceled, or
    filled", which says the order is not open: no CancelRejected (before the fix: rejected, the
    node put the order back to ACCEPTED while the venue had canceled it). 100: every resend's
    answer is lost too; after the retries the outcome is unknown. Either way the order stays
    PENDING_CANCEL, is looked up by ``_settle_later`` once the venue answers, and ends CANCELED.
    Without the /info fault the first lookup tells at once."""
    n, strategy, client = node_factory()
    order = _rest_bid(n, strategy)
    twin.faults.stall_ws(30)
    twin.faults.lose_answer(answers_lost, "/exchange", 0, action="cancelByCloid")
    if info_down:
        twin.faults.http_error(503, 10_000, path="/info")
    strategy.cancel_order(order)
    if info_down:
        pump(n, lambda: client.unknown_outcomes >= 1
             or n.cache.order(order.client_order_id).status != OrderStatus.PENDING_CANCEL, timeout_s=15)
        assert twin.open_orders(WALLET.address) == []  # the lost cancel was executed
        assert n.cache.order(order.client_order_id).status == OrderStatus.PENDING_CANCEL  # not CancelRejected
        twin.faults.clear_http_errors()
    pump(n, lambda: n.cache.order(order.client_order_id).status == OrderStatus.CANCELED, timeout_s=10)
    assert client.errors == [] and twin.open_orders(WALLET.address) == []
    assert twin.faults.ws_stall_remaining_s() > 0  # the lookup told, not the WebSocket


def test_running_check_cancels_at_the_venue_an_order_the_node_closed(twin, node_factory):
    """An order the node believes canceled (its event made by the client, as after a cancel it
    believed) but open at the venue is canceled at the venue by the running open-order check."""
    n, strategy, client = node_factory(open_check_s=1.0)
    order = _rest_bid(n, strategy)
    [resting] = twin.open_orders(WALLET.address)
    current = n.cache.order(order.client_order_id)
    client.generate_order_canceled(current.strategy_id, current.instrument_id, current.client_order_id,
                                   current.venue_order_id, n.kernel.clock.timestamp_ns())
    pump(n, lambda: n.cache.order(order.client_order_id).is_closed)
    assert [o["oid"] for o in twin.open_orders(WALLET.address)] == [resting["oid"]]
    pump(n, lambda: twin.open_orders(WALLET.address) == [], timeout_s=6)
    assert client.recon["orders_canceled_at_venue"] >= 1 and client.errors == []
    assert n.cache.order(order.client_order_id).status == OrderStatus.CANCELED


def test_running_check_takes_over_an_order_placed_by_another_client(twin, node_factory):
    """An order placed with our key by another client (``HLHttpClient``) while the node runs
    appears in the node's cache as an external order, open, with the venue's oid; the node does
    not cancel it (it rests at the venue)."""
    n, strategy, client = node_factory(open_check_s=1.0)
    _rest_bid(n, strategy)  # the node is trading
    cloid = actions.cloid_for("OTHER-CLIENT-1")

    async def place():
        http = HLHttpClient(twin.url, wallet=WALLET)
        try:
            return await http.place_orders([actions.order_wire(0, True, "99970", "0.002", False, "Gtc", cloid)])
        finally:
            await http.close()

    [placed] = n.get_event_loop().run_until_complete(place())
    oid = placed["resting"]["oid"]
    coid = ClientOrderId(cloid)
    pump(n, lambda: n.cache.order(coid) is not None, timeout_s=6)
    external = n.cache.order(coid)
    assert external.status == OrderStatus.ACCEPTED and external.venue_order_id.value == str(oid)
    assert external.strategy_id.value == "EXTERNAL"
    assert external.price.as_decimal() == Decimal("99970") and external.quantity.as_decimal() == Decimal("0.002")
    assert client.recon["orders_unknown_to_node"] >= 1 and client.errors == []
    t_end = time.monotonic() + 1.5
    pump(n, lambda: time.monotonic() > t_end)  # the next check (1 s) leaves it resting: it is the node's now
    assert oid in [o["oid"] for o in twin.open_orders(WALLET.address)] and n.cache.order(coid).is_open


def test_a_lost_answer_of_a_filled_ioc_still_in_flight_is_never_resent(twin):
    """The IOC is executed 300 ms after the client lost its answer (the first lookup finds
    nothing): the client looks again after the action's expiresAfter, finds it filled, and never
    sends it again: one order and one fill at the venue, the filled size as the venue booked it.
    The IOC's limit leaves room on the book for a second one (0.001 at 100010, 1.0 at 100020): a
    resend would fill again."""
    cloid = actions.cloid_for("IOC-LOST-1")
    twin.faults.lose_answer(1, "/exchange", 300, action="order")

    async def place():
        http = HLHttpClient(twin.url, wallet=WALLET, retry_delay_initial_ms=10, expires_after_ms=600,
                            expiry_margin_ms=200)
        try:
            statuses = await http.place_orders([actions.order_wire(0, True, "100020", "0.001", False, "Ioc", cloid)])
            await asyncio.sleep(0.4)  # past the delayed execution (300 ms after the send) whenever it returned
            return statuses, http
        finally:
            await http.close()

    [status], http = asyncio.run(place())
    assert http.unknown_outcomes == 1 and http.lookups >= 2  # not found at once, found after expiry
    assert status["filled"]["totalSz"] == "0.001" and status["filled"]["cloid"] == cloid
    fills = twin.fills(WALLET.address)
    assert len(fills) == 1 and fills[0]["cloid"] == cloid and Decimal(fills[0]["sz"]) == Decimal("0.001")
    assert twin.open_orders(WALLET.address) == []
