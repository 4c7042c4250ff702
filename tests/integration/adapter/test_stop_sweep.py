"""The stop that leaves nothing behind, at the client level: the real ``HLHttpClient`` against the
Hyperliquid twin on 127.0.0.1 (real HTTP, real signatures, a manual venue clock).

* Cancels that fail at stop (503s on ``/exchange``) are retried by the venue's open orders until the
  venue lists none of ours; only then is the dead-man's switch cleared.
* When the deadline passes with orders still resting, the switch is armed a few seconds ahead and
  the venue itself cancels them when its clock gets there.
* The twin's ``refuse_schedule_cancel`` and ``lose_ws`` faults (admin endpoint) behave as documented.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest
from nautilus_trader.common.component import Logger
from support.inprocess_node import book_twin
from support.twin_client import WsProbe
from support.twin_client import post
from support.twin_client import wait_until

from botmm_nautilus.adapters.hyperliquid.http import HLHttpClient
from botmm_nautilus.adapters.hyperliquid.stop_sweep import NEAR_DEADLINE_S
from botmm_nautilus.adapters.hyperliquid.stop_sweep import cancel_venue_orders
from botmm_nautilus.adapters.hyperliquid.stop_sweep import finish_dead_man
from botmm_nautilus.venue import actions


@pytest.fixture
def twin():
    server = book_twin([(100000, "1.0")], [(100001, "1.5")])
    yield server
    server.close()


LOG = Logger("test_stop_sweep")


async def _rest_orders(http: HLHttpClient, n: int, tag: str) -> None:
    wires = [actions.order_wire(0, True, Decimal(99_990 - i), Decimal("0.001"), False, "Alo", actions.cloid_for(f"{tag}-{i}"))
             for i in range(n)]
    statuses = await http.place_orders(wires)
    assert all("resting" in st for st in statuses), statuses


async def _venue_ms(http: HLHttpClient, ahead_s: float) -> int:
    return int((await http.clearinghouse_state())["time"]) + int(ahead_s * 1000)


def test_failing_cancels_at_stop_are_retried_until_the_venue_lists_none_then_the_switch_is_cleared(twin, wallet):
    async def scenario():
        http = HLHttpClient(twin.url, wallet=wallet, max_retries=2, retry_delay_initial_ms=10)
        try:
            await _rest_orders(http, 3, "a")
            assert (await http.exchange(actions.schedule_cancel_action(await _venue_ms(http, 30))))["status"] == "ok"
            # a duplicate of a known cloid (what a resend after a lost answer leaves): same cloid, new oid
            dup = actions.order_wire(0, True, Decimal(99_980), Decimal("0.001"), False, "Alo", actions.cloid_for("a-0"))
            await http.exchange_once(actions.order_action([dup]))
            held = len(twin.open_orders(wallet.address))
            assert held >= 3
            twin.faults.http_error(503, 6, path="/exchange")  # every cancel attempt fails for a while
            sweep = await cancel_venue_orders(http, {"BTC": 0}, 30.0, LOG)
            assert sweep.confirmed, sweep
            assert twin.open_orders(wallet.address) == []  # the venue holds nothing of ours
            assert sweep.canceled == held and sweep.rounds >= 2 and sweep.last_error is not None
            outcome = await finish_dead_man(http, sweep, lambda s: _venue_ms(http, s), True, LOG)
            assert outcome == "cleared"
            assert twin.schedule_cancel(wallet.address)["deadline_ms"] is None
        finally:
            await http.close()

    asyncio.run(scenario())


def test_unconfirmed_stop_arms_the_switch_near_and_the_venue_cancels_what_is_left(twin, wallet):
    async def scenario():
        http = HLHttpClient(twin.url, wallet=wallet, max_retries=1, retry_delay_initial_ms=10)
        try:
            await _rest_orders(http, 2, "b")
            far = await _venue_ms(http, 600)
            assert (await http.exchange(actions.schedule_cancel_action(far)))["status"] == "ok"
            twin.faults.http_error(503, 10_000, path="/exchange")
            sweep = await cancel_venue_orders(http, {"BTC": 0}, 1.0, LOG)
            assert not sweep.confirmed and len(sweep.left) == 2 and "503" in sweep.last_error
            assert sweep.elapsed_s < 3.0  # bounded by the deadline (plus one request)
            assert len(twin.open_orders(wallet.address)) == 2
            twin.faults.clear()  # the venue answers again in time for the last word
            outcome = await finish_dead_man(http, sweep, lambda s: _venue_ms(http, s), True, LOG)
            assert outcome == "armed"
            state = twin.schedule_cancel(wallet.address)
            assert state["now_ms"] + 5_000 <= state["deadline_ms"] <= state["now_ms"] + NEAR_DEADLINE_S * 1000 + 500
            # the venue's clock reaches the deadline: the switch cancels what the stop could not
            twin.advance_by(int(NEAR_DEADLINE_S * 1000) + 500)
            assert twin.open_orders(wallet.address) == []
            assert twin.schedule_cancel(wallet.address)["triggers_today"] == 1
        finally:
            await http.close()

    asyncio.run(scenario())


def test_twin_refuses_schedule_cancel_and_loses_pushes_on_request(twin, wallet):
    status, text = post(twin.url, "/_twin/faults",
                        {"refuse_schedule_cancel": True, "lose_ws": {"channel": "orderUpdates", "count": 1}})
    assert status == 200 and json.loads(text)["applied"] == ["refuse_schedule_cancel", "lose_ws"]
    status, text = post(twin.url, "/_twin/faults", {"lose_ws": {"channel": 3}})
    assert status == 400 and "lose_ws" in text
    probe = WsProbe(twin.url.replace("http", "ws") + "/ws")

    async def scenario():
        http = HLHttpClient(twin.url, wallet=wallet, max_retries=0)
        try:
            resp = await http.exchange(actions.schedule_cancel_action(await _venue_ms(http, 30)))
            assert resp["status"] == "err"
            assert resp["response"].startswith("Cannot set scheduled cancel time until enough volume traded. Required: $1000000.")
            assert twin.schedule_cancel(wallet.address)["deadline_ms"] is None
            probe.subscribe({"type": "orderUpdates", "user": wallet.address})
            probe.wait_channel("subscriptionResponse")
            await _rest_orders(http, 2, "c")  # two "open" pushes: the first is lost
            wait_until(lambda: probe.channel("orderUpdates"), timeout_s=5)
            await asyncio.sleep(0.3)
            pushed = [u["order"]["cloid"] for m in probe.channel("orderUpdates") for u in m["data"]]
            assert pushed == [actions.cloid_for("c-1")]
            assert twin.faults.ws_pushes_lost == 1
            twin.faults.refuse_schedule_cancel(False)
            assert (await http.exchange(actions.schedule_cancel_action(await _venue_ms(http, 30))))["status"] == "ok"
        finally:
            await http.close()

    try:
        asyncio.run(scenario())
    finally:
        probe.close()
