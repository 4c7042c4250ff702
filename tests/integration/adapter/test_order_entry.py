"""Idempotent order entry against the twin on 127.0.0.1 (real HTTP, real signatures, no mocks).

Every case asserts the VENUE's state (the twin's open orders, fills, positions), not only what the
client answered:

* ``lose_answer``: the twin executes the request and drops the connection without an answer, at
  once or with the request still in flight (executed ``delay_ms`` after the drop). Exactly one
  order per cloid must exist at the venue, the client's status is the venue's, and no lost answer
  becomes an exception (which the execution client would turn into ``OrderRejected``).
* ``expiresAfter`` is signed on every action; the twin refuses an expired action (and a tampered
  deadline, which no longer matches the signature).
* duplicate cloid: refused while an open order holds it, accepted again once it is closed.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest
from support.inprocess_node import book_twin
from support.twin_client import post

from botmm_nautilus.adapters.hyperliquid.http import HLHttpClient
from botmm_nautilus.adapters.hyperliquid.http import NonceManager
from botmm_nautilus.twin.clock import wall_ms
from botmm_nautilus.venue import actions

EXPIRES_MS = 400  # short action deadlines keep the "not found after expiresAfter" proofs fast
MARGIN_MS = 200


@pytest.fixture
def twin():
    server = book_twin([(100000, "1.0")], [(100001, "1.5")])
    yield server
    server.close()


def client(twin, wallet, **kw) -> HLHttpClient:
    kw.setdefault("expires_after_ms", EXPIRES_MS)
    kw.setdefault("expiry_margin_ms", MARGIN_MS)
    kw.setdefault("retry_delay_initial_ms", 10)
    kw.setdefault("max_retries", 2)
    return HLHttpClient(twin.url, wallet=wallet, **kw)


def open_cloids(twin, wallet) -> list[str]:
    return sorted(o["cloid"] for o in twin.open_orders(wallet.address))


def position(twin, wallet) -> Decimal:
    for p in twin.account_state(wallet.address)["assetPositions"]:
        if p["position"]["coin"] == "BTC":
            return Decimal(p["position"]["szi"])
    return Decimal(0)


def alo(cloid: str, px: str = "99990", sz: str = "0.001") -> dict:
    return actions.order_wire(0, True, px, sz, False, "Alo", cloid)


@pytest.mark.parametrize("delay_ms", [0, 150])
def test_lost_answers_leave_exactly_one_order_per_cloid_and_the_venues_status(twin, wallet, delay_ms):
    """Three lost answers in a row (more than ``max_retries`` allows): before, every retry was a
    blind resend after one lookup 0.1 s later and the last one raised (-> OrderRejected of orders
    that rest). Now the client looks, waits out ``expiresAfter`` while the action may be in
    flight, and answers what the venue holds."""

    async def scenario():
        http = client(twin, wallet)
        try:
            cloids = [actions.cloid_for(f"O-LOST-{delay_ms}-{i}") for i in range(3)]
            wires = [alo(c, px=str(99990 - 10 * i)) for i, c in enumerate(cloids)]
            twin.faults.lose_answer(3, "/exchange", delay_ms)
            statuses = await http.place_orders(wires)  # must not raise
            await asyncio.sleep((delay_ms + 100) / 1000)  # a late execution would land by now
            venue = {o["cloid"]: o["oid"] for o in twin.open_orders(wallet.address)}
            assert sorted(venue) == sorted(cloids)  # each cloid exactly once (a dict would hide a duplicate:
            assert len(twin.open_orders(wallet.address)) == 3  # so count the orders too)
            assert statuses == [{"resting": {"oid": venue[c], "cloid": c}} for c in cloids]
            assert twin.faults.answers_lost == 1  # one lost answer; the rest was learned, not resent
            assert http.actions_sent == 1 and http.unknown_outcomes == 1
            twin.faults.clear()

            # modify under lost answers: the venue's new oid comes back, the old order is gone
            old = venue[cloids[0]]
            twin.faults.lose_answer(3, "/exchange", delay_ms)
            [mod] = await http.modify_orders([(old, alo(cloids[0], px="99950"))])
            await asyncio.sleep((delay_ms + 100) / 1000)
            after = twin.open_orders(wallet.address)
            assert len(after) == 3 and sorted(o["cloid"] for o in after) == sorted(cloids)
            moved = next(o for o in after if o["cloid"] == cloids[0])
            assert Decimal(moved["limitPx"]) == Decimal("99950") and moved["oid"] != old
            assert mod == {"resting": {"oid": moved["oid"], "cloid": cloids[0]}}
            assert http.actions_sent == 2
            twin.faults.clear()

            # cancel under lost answers: confirmed from the venue, no refusal
            twin.faults.lose_answer(3, "/exchange", delay_ms)
            res = await http.cancel_by_cloid([(0, c) for c in cloids])
            await asyncio.sleep((delay_ms + 100) / 1000)
            assert twin.open_orders(wallet.address) == []
            assert res == ["success"] * 3  # a cancel may be sent again while one is in flight: harmless
        finally:
            await http.close()

    asyncio.run(scenario())


def test_ioc_in_flight_is_not_sent_twice_when_its_cloid_is_free_again(twin, wallet):
    """An IOC whose action is still in flight when the answer is lost: the venue would accept its
    cloid again (the order is closed), so only waiting out ``expiresAfter`` prevents a second
    fill. Before: not found 0.1 s later -> sent again -> filled twice (position doubled)."""

    async def scenario():
        http = client(twin, wallet)
        try:
            cloid = actions.cloid_for("O-IOC-LOST")
            # set over the admin endpoint, as an operator would
            status, text = post(twin.url, "/_twin/faults", {"lose_answer": {"count": 1, "path": "/exchange", "delay_ms": 150}})
            assert status == 200 and "lose_answer" in text
            [st] = await http.place_orders([actions.order_wire(0, True, "100001", "0.002", False, "Ioc", cloid)])
            await asyncio.sleep(0.3)
            fills = [f for f in twin.fills(wallet.address) if f.get("cloid") == cloid]
            assert sum(Decimal(f["sz"]) for f in fills) == Decimal("0.002")
            assert position(twin, wallet) == Decimal("0.002")
            assert "filled" in st and Decimal(st["filled"]["totalSz"]) == Decimal("0.002")
            assert http.actions_sent == 1
        finally:
            await http.close()

    asyncio.run(scenario())


def test_an_action_proven_not_executed_is_sent_again_once_with_a_new_deadline(twin, wallet):
    """A request refused before processing (connection closed, nothing executed): the cloid is
    looked up, still absent after the action's ``expiresAfter``, then sent again (once)."""

    async def scenario():
        http = client(twin, wallet)
        try:
            cloid = actions.cloid_for("O-NEVER-ARRIVED")
            twin.faults.refuse_http(1, "/exchange")
            t0 = time.monotonic()
            [st] = await http.place_orders([alo(cloid)])
            waited = time.monotonic() - t0
            assert open_cloids(twin, wallet) == [cloid]
            assert st["resting"]["oid"] == twin.open_orders(wallet.address)[0]["oid"]
            assert http.actions_sent == 2
            assert waited >= (EXPIRES_MS + MARGIN_MS) / 1000 * 0.9  # nothing resent before the proof
        finally:
            await http.close()

    asyncio.run(scenario())


def test_expires_after_is_signed_and_an_expired_action_is_refused(twin, wallet):
    async def scenario():
        http = client(twin, wallet)
        try:
            # every action carries a deadline a few seconds ahead of the signing time
            body = http.sign({"type": "noop"}, NonceManager.next(http.signer), http.next_expiry_ms())
            assert 0 < body["expiresAfter"] - wall_ms() <= EXPIRES_MS
            # expired: refused, nothing placed, charged 5 requests per item
            cloid = actions.cloid_for("O-EXPIRED")
            used = twin.engine.user_rate_limit(wallet.address)["nRequestsUsed"]
            resp = await http.exchange_once(actions.order_action([alo(cloid)]), 1, expires_after=wall_ms() - 1)
            assert resp["status"] == "err" and actions.ACTION_EXPIRED in resp["response"]
            assert twin.open_orders(wallet.address) == []
            assert twin.engine.user_rate_limit(wallet.address)["nRequestsUsed"] == used + 5
            # a deadline changed after signing is not the signed one: another signer, refused
            body = http.sign(actions.order_action([alo(cloid)]), NonceManager.next(http.signer), wall_ms() + 5_000)
            body["expiresAfter"] += 60_000
            resp = await http._post_once("/exchange", body)
            assert resp["status"] == "err" and "does not exist" in resp["response"]
            assert twin.open_orders(wallet.address) == []
        finally:
            await http.close()

    asyncio.run(scenario())


def test_duplicate_cloid_refused_while_open_accepted_once_closed(twin, wallet):
    async def scenario():
        http = client(twin, wallet)
        try:
            cloid = actions.cloid_for("O-DUP")
            [first] = await http.place_orders([alo(cloid)])
            [dup] = await http.place_orders([alo(cloid, px="99980")])
            assert actions.DUPLICATE_CLOID in dup["error"]
            assert len(twin.open_orders(wallet.address)) == 1
            assert twin.open_orders(wallet.address)[0]["oid"] == first["resting"]["oid"]
            assert await http.cancel_by_cloid([(0, cloid)]) == ["success"]
            [again] = await http.place_orders([alo(cloid, px="99980")])  # closed: the cloid is free again
            assert "resting" in again and again["resting"]["oid"] != first["resting"]["oid"]
            assert [Decimal(o["limitPx"]) for o in twin.open_orders(wallet.address)] == [Decimal("99980")]
        finally:
            await http.close()

    asyncio.run(scenario())
