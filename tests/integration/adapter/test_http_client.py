"""The adapter's HTTP client against the Hyperliquid twin on 127.0.0.1 (real HTTP, real signatures):
the one retry loop and each call's policy after an ambiguous failure.

* ``/info``: a 429 / 5xx is retried (and counted in the IP budget each time), a definite 4xx is not,
  and exhausted retries end in an error that must not be retried again.
* orders: after an ambiguous failure an order the venue already has is found by cloid and never
  sent a second time; one the venue does not have is sent again, once, after its action's
  expiresAfter has passed (see test_order_entry.py for lost answers).
* cancels: a resend answered "missing order" because an earlier cancel went through counts as a
  success.
"""

from __future__ import annotations

import asyncio

import pytest
from support.inprocess_node import book_twin

from botmm_nautilus.adapters.hyperliquid.http import HLHttpClient
from botmm_nautilus.adapters.hyperliquid.http import HttpError
from botmm_nautilus.adapters.hyperliquid.latency import LatencyProbe
from botmm_nautilus.errors import BotmmError
from botmm_nautilus.venue import actions
from botmm_nautilus.venue.errors import HyperliquidError


@pytest.fixture
def twin():
    server = book_twin([(100000, "1.0")], [(100001, "1.5")])
    yield server
    server.close()


def client(twin, wallet=None, **kw) -> HLHttpClient:
    # short action deadlines keep the "not found after expiresAfter" proofs fast
    kw.setdefault("expires_after_ms", 400)
    kw.setdefault("expiry_margin_ms", 200)
    return HLHttpClient(twin.url, wallet=wallet, **kw)


def test_info_retries_only_what_may_succeed_and_counts_every_attempt(twin):
    async def scenario():
        http = client(twin, max_retries=2, retry_delay_initial_ms=10)
        try:
            twin.faults.http_error(429, 2, path="/info")
            meta = await http.meta_and_ctxs()
            assert [u["name"] for u in meta[0]["universe"]] == ["BTC"]
            assert http.retries == 2
            # every attempt spent IP weight (metaAndAssetCtxs: 20), all of it in the budget
            assert http.bucket.requests_by_type == {"info:metaAndAssetCtxs": 3}
            assert http.bucket.weight_by_type == {"info:metaAndAssetCtxs": 60.0}
            assert http.bucket.weight_used == 60.0

            twin.faults.http_error(404, 1, path="/info")
            with pytest.raises(HttpError) as definite:
                await http.meta_and_ctxs()
            assert definite.value.status == 404 and not definite.value.should_retry
            assert http.retries == 2  # a definite refusal is not retried

            twin.faults.http_error(503, 3, path="/info")
            with pytest.raises(HttpError, match="/info metaAndAssetCtxs failed after 3 attempts") as exhausted:
                await http.meta_and_ctxs()
            assert not exhausted.value.should_retry  # callers must not loop on it
            assert isinstance(exhausted.value, HyperliquidError) and isinstance(exhausted.value, BotmmError)
            assert http.retries == 4
        finally:
            await http.close()

    asyncio.run(scenario())


def test_ambiguous_order_failure_is_resolved_by_cloid_never_sent_twice(twin, wallet):
    async def scenario():
        http = client(twin, wallet, retry_delay_initial_ms=10)
        probe = LatencyProbe()
        try:
            # 1. the order reached the venue before the failure (its first send went through): the
            #    resend after a 503 finds it by cloid and takes its oid instead of placing it again
            cloid = actions.cloid_for("O-TEST-AMBIGUOUS-1")
            wire = actions.order_wire(0, True, "99990", "0.001", False, "Alo", cloid)
            [first] = await http.place_orders([wire])
            twin.faults.http_error(503, 1, path="/exchange")
            req = probe.new_probe("submit", "BTC", probe.now_ns())
            [again] = await http.place_orders([wire], [req])
            assert again == first == {"resting": {"oid": first["resting"]["oid"], "cloid": cloid}}
            assert [o["cloid"] for o in twin.open_orders(wallet.address)] == [cloid]
            assert http.retries == 1 and http.actions_sent == 2  # the first placement and the failed try
            probe.record(req)
            assert req[7] == 1 and probe.summary()["counts"] == {"book_triggered": 0, "other": 1, "retry": 0}
            # 2. the order never reached the venue: not found by cloid, so it is sent again, once
            cloid2 = actions.cloid_for("O-TEST-AMBIGUOUS-2")
            twin.faults.http_error(502, 1, path="/exchange")
            req2 = probe.new_probe("submit", "BTC", probe.now_ns())
            [placed] = await http.place_orders([actions.order_wire(0, True, "99980", "0.001", False, "Alo", cloid2)],
                                               [req2])
            assert placed["resting"]["cloid"] == cloid2
            assert sorted(o["cloid"] for o in twin.open_orders(wallet.address)) == sorted([cloid, cloid2])
            assert http.retries == 2 and http.actions_sent == 4
            probe.record(req2)
            assert req2[7] == 2 and probe.summary()["counts"]["retry"] == 1  # a resend is no latency sample
        finally:
            await http.close()

    asyncio.run(scenario())


def test_cancel_resent_after_ambiguous_failure_counts_our_own_earlier_cancel(twin, wallet):
    async def scenario():
        http = client(twin, wallet, retry_delay_initial_ms=10)
        try:
            cloid = actions.cloid_for("O-TEST-CANCEL-1")
            [placed] = await http.place_orders([actions.order_wire(0, True, "99990", "0.001", False, "Alo", cloid)])
            assert "resting" in placed
            # the first cancel went through, its answer was lost (here: answered, then a 503 on
            # the next send): the resend is answered "never placed, already canceled, or filled"
            assert await http.cancel_by_cloid([(0, cloid)]) == ["success"]
            assert twin.open_orders(wallet.address) == []
            twin.faults.http_error(503, 1, path="/exchange")
            assert await http.cancel_by_cloid([(0, cloid)]) == ["success"]  # orderStatus: canceled
            assert http.retries == 1
            # without a failure the same answer is the venue's refusal, passed on as it is
            [refused] = await http.cancel_by_cloid([(0, cloid)])
            assert "never placed" in refused["error"]
        finally:
            await http.close()

    asyncio.run(scenario())
