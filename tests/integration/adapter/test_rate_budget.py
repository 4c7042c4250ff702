"""The adapter's rate budgets against the Hyperliquid twin on 127.0.0.1 (real HTTP, real signatures,
the twin enforcing the venue's limits): the address action budget, cancels first, the per-item
``/info`` surcharges and the paginated ``userFillsByTime``. Each test asserts what the twin (the
venue) holds, not only what the client believes."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest
from eth_account import Account
from support.inprocess_node import book_twin

from botmm_nautilus.adapters.hyperliquid.http import HLHttpClient
from botmm_nautilus.twin import TwinServer
from botmm_nautilus.twin.clock import wall_ms
from botmm_nautilus.venue import actions
from botmm_nautilus.venue.limits import ADDRESS_BASE_BUDGET


def _twin(**config) -> TwinServer:
    return book_twin([(100000, "1.0")], [(100001, "1.5")], **config)


@pytest.fixture
def wallet():
    return Account.create()


def _bid(tag: str, px: int) -> dict:
    return actions.order_wire(0, True, str(px), "0.001", False, "Alo", actions.cloid_for(tag))


def _cloids(twin, wallet) -> set[str]:
    return {o["cloid"] for o in twin.open_orders(wallet.address)}


def test_exhausted_budget_cancels_go_first_orders_wait_and_volume_raises_the_cap(wallet):
    twin = _twin(enforce_rate_limits=True)
    twin.create_account(wallet.address, 100_000)

    async def scenario():
        http = HLHttpClient(twin.url, wallet=wallet, retry_delay_initial_ms=10)
        try:
            resting = [_bid("RB-REST-1", 99990), _bid("RB-REST-2", 99980)]
            assert all("resting" in st for st in await http.place_orders(resting))
            # the account has used its whole budget (10000 actions, no volume yet)
            twin.set_requests_used(wallet.address, ADDRESS_BASE_BUDGET)
            await http.refresh_rate_limit()
            assert (http.address_used, http.address_cap) == (ADDRESS_BASE_BUDGET, ADDRESS_BASE_BUDGET)
            # past the cap the venue lets one action per 10 s through: this IOC buy takes it and
            # trades $20,000.2, which earns 20,000 more actions
            ioc = actions.order_wire(0, True, "100001", "0.2", False, "Ioc", actions.cloid_for("RB-IOC"))
            [filled] = await http.place_orders([ioc])
            assert "filled" in filled
            # the next order must wait for the venue's next slot (the mirror has not seen the volume)
            late = _bid("RB-LATE", 99970)
            waiting = asyncio.ensure_future(http.place_orders([late]))
            await asyncio.sleep(0.3)
            assert not waiting.done() and http.address_over_budget_actions == 2
            # cancels have their own cap (min(cap + 100000, 2 cap)): they go at once, ahead of it
            t0 = time.monotonic()
            assert await http.cancel_by_cloid([(0, w["c"]) for w in resting]) == ["success", "success"]
            assert time.monotonic() - t0 < 2.0
            assert _cloids(twin, wallet) == set()  # the venue: both canceled, the late order not sent
            assert not waiting.done()
            waiting.cancel()
            # the venue counted the volume: a refresh raises the cap, orders go at once again
            venue = twin.rate_limit(wallet.address)
            assert venue["nRequestsCap"] == ADDRESS_BASE_BUDGET + 20_000
            await http.refresh_rate_limit()
            assert http.address_cap == venue["nRequestsCap"] and http.cum_vlm_usd == pytest.approx(20_000.2)
            assert not http.refresh_wanted
            t0 = time.monotonic()
            [st] = await http.place_orders([_bid("RB-AFTER", 99960)])
            assert "resting" in st and time.monotonic() - t0 < 2.0
            assert _cloids(twin, wallet) == {actions.cloid_for("RB-AFTER")}
        finally:
            await http.close()

    try:
        asyncio.run(scenario())
    finally:
        twin.close()


def test_budget_refusal_by_the_venue_corrects_the_mirror_and_asks_for_a_refresh(wallet):
    twin = _twin(enforce_rate_limits=True)
    twin.create_account(wallet.address, 100_000)

    async def scenario():
        http = HLHttpClient(twin.url, wallet=wallet, retry_delay_initial_ms=10)
        try:
            await http.refresh_rate_limit()
            # the venue's count moved on without us (another process of the same account)
            twin.set_requests_used(wallet.address, ADDRESS_BASE_BUDGET + 5)
            # the first over-budget action is let through by the venue, the next refused
            [first] = await http.place_orders([_bid("RF-1", 99990)])
            assert "resting" in first
            resp = await http.exchange_once(actions.order_action([_bid("RF-2", 99980)]), 1)
            assert resp["status"] == "err" and "Too many cumulative requests" in resp["response"]
            assert http.refresh_wanted and http.address_cap == ADDRESS_BASE_BUDGET
            assert http.address_used >= http.address_cap and http.address_left() <= 0
            assert _cloids(twin, wallet) == {actions.cloid_for("RF-1")}
        finally:
            await http.close()

    try:
        asyncio.run(scenario())
    finally:
        twin.close()


def test_twin_holds_cancels_to_their_own_larger_cap(wallet):
    """The venue's rule: past the cap one action per 10 s; cancels until min(cap + 100000, 2 cap)."""
    twin = _twin(enforce_rate_limits=True)
    twin.create_account(wallet.address, 100_000)

    async def scenario():
        http = HLHttpClient(twin.url, wallet=wallet, retry_delay_initial_ms=10)
        try:
            wires = [_bid(f"TC-{i}", 99990 - 10 * i) for i in range(3)]
            assert all("resting" in st for st in await http.place_orders(wires))
            twin.set_requests_used(wallet.address, ADDRESS_BASE_BUDGET + 1)
            # two orders in a row over the cap: the second is refused by the venue
            body = actions.order_action([_bid("TC-X", 99900)])
            assert "resting" in str(await http.exchange_once(body, 1))
            refused = await http.exchange_once(actions.order_action([_bid("TC-Y", 99890)]), 1)
            assert refused["status"] == "err" and "Too many cumulative requests sent" in refused["response"]
            # cancels one after another still pass (cancel cap 20000)
            for w in wires:
                resp = await http.exchange_once(actions.cancel_by_cloid_action([(0, w["c"])]), 1)
                assert resp["status"] == "ok", resp
            assert _cloids(twin, wallet) == {actions.cloid_for("TC-X")}
            # past the cancel cap too: one cancel per 10 s
            twin.set_requests_used(wallet.address, 2 * ADDRESS_BASE_BUDGET)
            # past the cancel cap too, and the one action of these 10 s was TC-X: refused
            r1 = await http.exchange_once(actions.cancel_by_cloid_action([(0, actions.cloid_for("TC-X"))]), 1)
            assert r1["status"] == "err" and "Too many cumulative requests sent (20001 > 20000)" in r1["response"]
            assert _cloids(twin, wallet) == {actions.cloid_for("TC-X")}
        finally:
            await http.close()

    try:
        asyncio.run(scenario())
    finally:
        twin.close()


def test_info_weights_include_the_per_item_surcharge(wallet):
    twin = _twin()
    twin.create_account(wallet.address, 100_000)
    # 130 one-minute candles of history before now
    now = wall_ms()
    first = now - now % 60_000 - 130 * 60_000
    for i in range(130):
        twin.engine.state.candles["BTC"].add_minute_bar(first + i * 60_000, *(Decimal(100000),) * 4, Decimal(1))

    async def scenario():
        http = HLHttpClient(twin.url, wallet=wallet, retry_delay_initial_ms=10)
        try:
            # 45 fills: one action of 45 IOC buys of 0.001 at the ask
            ioc = [actions.order_wire(0, True, "100001", "0.001", False, "Ioc", actions.cloid_for(f"W-{i}"))
                   for i in range(45)]
            assert all("filled" in st for st in await http.place_orders(ioc))
            assert len(twin.fills(wallet.address)) == 45
            before = http.bucket.weight_used
            fills = await http.info({"type": "userFills", "user": http.user})
            assert len(fills) == 45
            assert http.bucket.weight_by_type["info:userFills"] == 20 + 2
            assert http.bucket.requests_by_type["info:userFills"] == 1
            assert http.bucket.weight_used - before == 22
            candles = await http.info({"type": "candleSnapshot",
                                       "req": {"coin": "BTC", "interval": "1m", "startTime": first, "endTime": first + 129 * 60_000}})
            assert len(candles) == 130
            assert http.bucket.weight_by_type["info:candleSnapshot"] == 20 + 2
            # a short answer costs the base weight only
            await http.info({"type": "userFillsByTime", "user": http.user, "startTime": now + 3_600_000})
            assert http.bucket.weight_by_type["info:userFillsByTime"] == 20
        finally:
            await http.close()

    try:
        asyncio.run(scenario())
    finally:
        twin.close()


def test_user_fills_by_time_pages_through_every_fill_once(wallet):
    twin = _twin(max_fills_per_answer=7)
    twin.create_account(wallet.address, 100_000)

    async def scenario():
        http = HLHttpClient(twin.url, wallet=wallet, retry_delay_initial_ms=10)
        try:
            t0 = twin.clock.now_ms()
            # 23 fills in 5 actions, one venue millisecond each: pages of 7 cut through them
            for batch in range(5):
                ioc = [actions.order_wire(0, bool(i % 2), "100001" if i % 2 else "100000", "0.001", False, "Ioc",
                                          actions.cloid_for(f"P-{batch}-{i}")) for i in range(5 if batch < 4 else 3)]
                assert all("filled" in st for st in await http.place_orders(ioc))
                twin.advance_to(twin.clock.now_ms() + 1)
            venue = twin.fills(wallet.address)
            assert len(venue) == 23 and len({f["time"] for f in venue}) == 5
            got = await http.user_fills_by_time(t0 - 1000, page_limit=7)
            assert [f["tid"] for f in got] == [f["tid"] for f in venue]  # all, once each, oldest first
            assert got == venue
            # one answer alone would have missed 16 of them
            assert len(await http.info({"type": "userFillsByTime", "user": http.user, "startTime": t0 - 1000})) == 7
        finally:
            await http.close()

    try:
        asyncio.run(scenario())
    finally:
        twin.close()


def test_cancels_jump_the_orders_waiting_for_ip_weight(wallet):
    """The IP budget is spent (here 120 weight/min: one action per 0.5 s): three orders wait their
    turn; a cancel asked for after them reaches the venue first."""
    from botmm_nautilus.adapters.hyperliquid.http import TokenBucket

    twin = _twin()
    twin.create_account(wallet.address, 100_000)

    async def scenario():
        http = HLHttpClient(twin.url, wallet=wallet, retry_delay_initial_ms=10, bucket=TokenBucket(120))
        try:
            [st] = await http.place_orders([_bid("IP-REST", 99990)])
            assert "resting" in st
            http.bucket.charge(http.bucket.tokens)  # the minute's budget is used up
            queued = [asyncio.ensure_future(http.place_orders([_bid(f"IP-Q{i}", 99980 - 10 * i)])) for i in range(3)]
            await asyncio.sleep(0.05)
            assert http.bucket.waiting == 3
            assert await http.cancel_by_cloid([(0, actions.cloid_for("IP-REST"))]) == ["success"]
            # the venue: the resting order is gone and none of the queued orders has arrived yet
            assert _cloids(twin, wallet) == set()
            assert not any(q.done() for q in queued)
            await asyncio.gather(*queued)
            assert _cloids(twin, wallet) == {actions.cloid_for(f"IP-Q{i}") for i in range(3)}
        finally:
            await http.close()

    try:
        asyncio.run(scenario())
    finally:
        twin.close()


def test_while_held_for_the_budget_orders_are_refused_locally_cancels_and_reduce_only_go(wallet):
    """The owner judged the budget exhausted (its strategies hold): a new quote would only reach
    the venue as one stale action per 10 s, so it is refused before sending; cancels (own cap) and
    a reduce-only flatten order still go."""
    from botmm_nautilus.venue.errors import ExchangeActionError

    twin = _twin(enforce_rate_limits=True)
    twin.create_account(wallet.address, 100_000)

    async def scenario():
        http = HLHttpClient(twin.url, wallet=wallet, retry_delay_initial_ms=10)
        try:
            buy = actions.order_wire(0, True, "100001", "0.002", False, "Ioc", actions.cloid_for("H-BUY"))
            assert "filled" in (await http.place_orders([buy]))[0]
            assert "resting" in (await http.place_orders([_bid("H-REST", 99990)]))[0]
            twin.set_requests_used(wallet.address, twin.rate_limit(wallet.address)["nRequestsCap"])
            await http.refresh_rate_limit()
            http.orders_refused = "address budget exhausted (test)"
            used = twin.rate_limit(wallet.address)["nRequestsUsed"]
            with pytest.raises(ExchangeActionError, match="not sent, address budget exhausted"):
                await http.place_orders([_bid("H-NEW", 99980)])
            with pytest.raises(ExchangeActionError, match="not sent"):
                await http.modify_orders([(twin.open_orders(wallet.address)[0]["oid"], _bid("H-REST", 99970))])
            assert twin.rate_limit(wallet.address)["nRequestsUsed"] == used  # nothing reached the venue
            assert http.address_refused_actions == 2
            assert await http.cancel_by_cloid([(0, actions.cloid_for("H-REST"))]) == ["success"]
            sell = actions.order_wire(0, False, "100000", "0.001", True, "Ioc", actions.cloid_for("H-FLAT"))
            assert "filled" in (await http.place_orders([sell]))[0]
            assert _cloids(twin, wallet) == set()
            [pos] = [p["position"] for p in twin.account_state(wallet.address)["assetPositions"]]
            assert Decimal(pos["szi"]) == Decimal("0.001")
        finally:
            await http.close()

    try:
        asyncio.run(scenario())
    finally:
        twin.close()


def test_an_order_waiting_for_the_venue_slot_is_refused_when_the_hold_starts(wallet):
    from botmm_nautilus.venue.errors import ExchangeActionError

    twin = _twin(enforce_rate_limits=True)
    twin.create_account(wallet.address, 100_000)

    async def scenario():
        http = HLHttpClient(twin.url, wallet=wallet, retry_delay_initial_ms=10)
        try:
            twin.set_requests_used(wallet.address, ADDRESS_BASE_BUDGET)
            await http.refresh_rate_limit()
            assert "resting" in (await http.place_orders([_bid("S-1", 99990)]))[0]  # the slot of these 10 s
            waiting = asyncio.ensure_future(http.place_orders([_bid("S-2", 99980)]))
            await asyncio.sleep(0.2)
            assert not waiting.done()
            t0 = time.monotonic()
            http.orders_refused = "address budget exhausted (test)"  # what the execution client does
            with pytest.raises(ExchangeActionError, match="not sent"):
                await waiting
            assert time.monotonic() - t0 < 1.0  # at once, not after the 10 s slot
            assert _cloids(twin, wallet) == {actions.cloid_for("S-1")}
            assert http._over_budget_slot.waiting == 0
        finally:
            await http.close()

    try:
        asyncio.run(scenario())
    finally:
        twin.close()
