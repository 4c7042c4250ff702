"""The live adapter's hot path: fast signing equals the SDK's, the trade path (decoded on the
instrument's tick grid) equals the Decimal route, the latency probe's bookkeeping and the IP
limiter's ordering (no timing assertions). The decoders themselves: tests/unit/venue/."""

from __future__ import annotations

import asyncio
import random

from eth_account import Account
from hyperliquid.utils.signing import sign_l1_action
from nautilus_trader.model.enums import AggressorSide

from botmm_nautilus.adapters.hyperliquid import parsing
from botmm_nautilus.adapters.hyperliquid.http import TokenBucket
from botmm_nautilus.adapters.hyperliquid.latency import LatencyProbe
from botmm_nautilus.venue.signing import L1Signer

SDK_KEY = "0x0123456789012345678901234567890123456789012345678901234567890123"


def test_coincurve_backend_is_installed():
    # pinned in pyproject.toml / requirements.lock: without it signing takes ~20 ms per action
    assert L1Signer(Account.create()).backend == "coincurve"


def test_fast_signer_matches_protocol_vectors_and_sdk():
    wallet = Account.from_key(SDK_KEY)
    signer = L1Signer(wallet)
    order = {"type": "order", "orders": [{"a": 1, "b": True, "p": "100", "s": "100", "r": False,
                                          "t": {"limit": {"tif": "Gtc"}}}], "grouping": "na"}
    # test vectors of the Hyperliquid Python SDK's own signing tests (tests/signing_test.py, mainnet)
    assert signer.sign(order, None, 0, None, True) == {
        "r": "0xd65369825a9df5d80099e513cce430311d7d26ddf477f5b3a33d2806b100d78e",
        "s": "0x2b54116ff64054968aa237c20ca9ff68000f977c93289157748a3162b6ea940e",
        "v": 28,
    }
    dummy = signer.sign({"type": "dummy", "num": 100000000000}, None, 0, None, True)
    assert dummy["r"] == "0x53749d5b30552aeb2fca34b530185976545bb22d0b3ce6f62e31be961a59298"
    rng = random.Random(7)
    for i in range(40):
        action = {"type": "batchModify", "modifies": [
            {"oid": rng.randrange(1 << 40), "order": {"a": rng.randrange(5), "b": rng.random() < 0.5,
                                                      "p": str(rng.randrange(1, 10**6)), "s": "0.0015", "r": False,
                                                      "t": {"limit": {"tif": "Alo"}}, "c": "0x%032x" % rng.getrandbits(128)}}
            for _ in range(1 + i % 3)]}
        vault = None if i % 3 else "0x%040x" % rng.getrandbits(160)
        expires = None if i % 4 else 1_700_000_000_000 + i
        nonce = 1_700_000_000_000 + rng.randrange(10**9)
        mainnet = bool(i % 2)
        assert signer.sign(action, vault, nonce, expires, mainnet) == \
            sign_l1_action(wallet, action, vault, nonce, expires, mainnet), i
    assert SDK_KEY[2:] not in repr(signer)


def test_latency_probe_classifies_and_breaks_down_stages():
    clock = iter(range(1_000_000, 10_000_000_000, 1_000_000))  # +1 ms per stamp
    probe = LatencyProbe(now=lambda: next(clock))
    probe.register_coin("BTC")
    recv = 500_000
    probe.on_book("BTC", recv)  # handoff stamp 1 ms
    probe.on_dispatch_begin("BTC", recv)  # begin 2 ms
    cmd_ts = 2_500_000  # created during the dispatch
    probe.on_dispatch_end("BTC")  # end 3 ms
    req = probe.new_probe("modify", "BTC", cmd_ts)  # exec start 4 ms
    req[4], req[5], req[6], req[7] = 0, 4_600_000, 4_700_000, 1  # no wait, signed, sent, 1 attempt
    probe.record(req)
    timer = probe.new_probe("submit", "BTC", 3_500_000)  # created after the dispatch: a timer / event
    timer[5], timer[6], timer[7] = 6_000_000, 6_100_000, 1
    probe.record(timer)
    retry = probe.new_probe("modify", "BTC", cmd_ts)
    retry[5], retry[6], retry[7] = 7_000_000, 7_100_000, 2
    probe.record(retry)
    s = probe.summary()
    assert s["n"] == 1 and s["counts"] == {"book_triggered": 1, "other": 1, "retry": 1}
    assert s["kinds"] == {"modify": 2, "submit": 1}
    st = s["stages"]
    assert st["parse"]["p50_ms"] == 0.5 and st["nautilus_in"]["p50_ms"] == 1.0 and st["strategy"]["p50_ms"] == 0.5
    assert st["nautilus_out"]["p50_ms"] == 1.5 and st["build_sign"]["p50_ms"] == 0.6 and st["send"]["p50_ms"] == 0.1
    assert s["p99_ms"] == st["end_to_end"]["p99_ms"] == 4.2
    assert set(s) >= {"n", "p50_ms", "p99_ms", "max_ms", "stages", "counts"}
    # another node's probe saw none of it: a command of that node is never matched to these books
    other = LatencyProbe()
    other.register_coin("BTC")
    assert other.new_probe("modify", "BTC", cmd_ts)[1] is None and other.summary()["counts"]["book_triggered"] == 0


def test_token_bucket_serves_waiters_in_arrival_order():
    async def scenario():
        bucket = TokenBucket(capacity=6000)  # 100 weight per second
        assert await bucket.acquire(6000) is False  # the whole budget at once: no wait
        done: list[str] = []

        async def take(name: str, weight: float):
            await bucket.acquire(weight)
            done.append(name)

        await asyncio.gather(take("big", 2), take("small", 1), take("small2", 1))
        return done, bucket

    done, bucket = asyncio.run(scenario())
    assert done == ["big", "small", "small2"]  # a later, smaller request never jumps the queue
    assert bucket.waits == 3 and bucket.weight_used == 6004


def test_trade_path_equals_decimal_route():
    """What the data client builds from a ``trades`` entry (decoded, integer ticks on the grid,
    ``from_raw``) equals the TradeTick built from Decimal prices and sizes."""
    from decimal import Decimal

    from nautilus_trader.model.data import TradeTick
    from nautilus_trader.model.identifiers import TradeId

    from botmm_nautilus.adapters.hyperliquid.instruments import make_perpetual
    from botmm_nautilus.engine.book_diff import BookDeltaEncoder
    from botmm_nautilus.venue.messages import TickGrid
    from botmm_nautilus.venue.messages import decode_trade

    rng = random.Random(3)
    for coin, sz in (("BTC", 5), ("ETH", 4), ("XRP", 0), ("HYPE", 2)):
        inst = make_perpetual(coin, sz_decimals=sz)
        enc = BookDeltaEncoder(inst)
        grid = TickGrid(enc.price_precision, enc.size_precision)
        for i in range(100):
            item = {"coin": coin, "px": f"{rng.uniform(0.5, 120000):.{inst.price_precision}f}",
                    "sz": f"{rng.uniform(1, 50):.{inst.size_precision}f}", "side": "BA"[i % 2], "tid": 7 + i,
                    "time": 1_700_000_000_000, "hash": "0x" + "0" * 64, "users": ["0x1", "0x2"]}
            t = decode_trade(item)
            a = TradeTick(inst.id, inst.make_price(Decimal(item["px"])), inst.make_qty(Decimal(item["sz"])),
                          AggressorSide.BUYER if item["side"] == "B" else AggressorSide.SELLER,
                          TradeId(str(item["tid"])), item["time"] * 1_000_000, 5)
            b = enc.trade(grid.price(t.px, "trades", "px"), grid.size(t.sz, "trades", "sz"), parsing.aggressor_of(t.side),
                          str(t.tid), t.time * parsing.NS_PER_MS, 5)
            assert (a.price, a.size, a.aggressor_side, a.trade_id, a.ts_event) == \
                (b.price, b.size, b.aggressor_side, b.trade_id, b.ts_event)
            assert (a.price.precision, a.size.precision) == (b.price.precision, b.size.precision)


def test_token_bucket_serves_cancels_before_orders_already_waiting():
    from botmm_nautilus.adapters.hyperliquid.http import PRIORITY_CANCEL

    async def scenario():
        bucket = TokenBucket(capacity=1, period_s=0.05)  # one token per 50 ms
        assert await bucket.acquire(1) is False
        done: list[str] = []

        async def take(name: str, priority: int | None = None):
            await (bucket.acquire(1) if priority is None else bucket.acquire(1, priority))
            done.append(name)

        orders = [asyncio.ensure_future(take(f"order{i}")) for i in range(3)]
        await asyncio.sleep(0.01)  # the orders are in line
        cancel = asyncio.ensure_future(take("cancel", PRIORITY_CANCEL))
        # a waiter that gives up leaves the line without blocking the others
        quitter = asyncio.ensure_future(take("quitter"))
        await asyncio.sleep(0)
        quitter.cancel()
        await asyncio.gather(cancel, *orders)
        return done, bucket

    done, bucket = asyncio.run(scenario())
    assert done == ["cancel", "order0", "order1", "order2"]
    assert bucket.waiting == 0 and bucket.weight_used == 5
