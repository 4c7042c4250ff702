"""The Hyperliquid WebSocket client and the data/execution clients' message handling, at the client
level: the real ``HLWebSocketClient`` (and the real ``HLDataClient`` / ``HLExecutionClient`` on a
real Nautilus message bus and cache) against scripted WebSocket servers on 127.0.0.1, in-process.

* a server that accepts and at once closes meets a backoff that keeps growing (it used to reset
  after every handshake: ~4 reconnects a second); the backoff starts over after a connection that
  lived ``stable_s``;
* a ping without an answer within the pong deadline -> the connection is declared dead and rebuilt;
* malformed frames are counted and logged (rate-limited) and the feed goes on;
* an ``l2Book`` older than the last applied one for its coin is rejected; a ``trades`` message
  with one bad item applies the others;
* a coin whose books stop (while the socket stays up) is held ``stale_book`` on the venue-health
  channel, resubscribed, and released by the next fresh book;
* a ``userFills`` message with one bad item applies the others and leaves the bad tid unseen;
* a dead execution WebSocket holds every instrument (``exec_ws``) until it is back and the fills
  missed meanwhile were fetched from the venue (the twin, replaying the real BTC recording).
"""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from types import SimpleNamespace

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.common.factories import OrderFactory
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import StrategyId
from nautilus_trader.model.identifiers import TraderId
from nautilus_trader.model.identifiers import VenueOrderId
from nautilus_trader.test_kit.stubs.events import TestEventStubs
from support.live_node import KEY
from support.live_node import WALLET
from websockets.asyncio.server import serve

from botmm_nautilus.adapters.hyperliquid.config import HLDataClientConfig
from botmm_nautilus.adapters.hyperliquid.config import HLExecClientConfig
from botmm_nautilus.adapters.hyperliquid.data import HLDataClient
from botmm_nautilus.adapters.hyperliquid.execution import HLExecutionClient
from botmm_nautilus.adapters.hyperliquid.factories import make_exec_http
from botmm_nautilus.adapters.hyperliquid.http import HLHttpClient
from botmm_nautilus.adapters.hyperliquid.instruments import make_perpetual
from botmm_nautilus.adapters.hyperliquid.node_state import HLNodeState
from botmm_nautilus.adapters.hyperliquid.providers import HLInstrumentProvider
from botmm_nautilus.adapters.hyperliquid.ws import HLWebSocketClient
from botmm_nautilus.engine.venue_health import VENUE_HEALTH_TOPIC

UNUSED_HTTP = "http://127.0.0.1:9"  # never contacted by these tests


class LogLines:
    """A logger that keeps its lines (what the client logged is part of the behaviour under test)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def info(self, msg: str) -> None:
        self.lines.append(("info", msg))

    def warning(self, msg: str) -> None:
        self.lines.append(("warning", msg))

    def error(self, msg: str) -> None:
        self.lines.append(("error", msg))

    def having(self, text: str) -> list[str]:
        return [m for _, m in self.lines if text in m]


async def _wait(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return bool(predicate())


# ------------------------------------------------------------------------------------------ backoff
def test_accept_then_close_server_meets_a_growing_backoff():
    """A server that accepts every handshake and closes at once: over 4 s the client may connect
    at most 0.25 + 0.5 + 1 + 2 s apart (5 handshakes; the old reset-after-handshake made ~16)."""
    accepted: list[float] = []

    async def handler(conn):
        accepted.append(time.monotonic())
        await conn.close()

    async def main():
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            log = LogLines()
            ws = HLWebSocketClient(f"ws://127.0.0.1:{port}", lambda c, d: None, log=log, reconnect_max_s=10.0)
            await ws.start(timeout_s=5)
            await asyncio.sleep(4.0)
            await ws.stop()
            return ws, log

    ws, log = asyncio.run(main())
    n = len(accepted)
    gaps = [b - a for a, b in zip(accepted, accepted[1:])]
    assert 3 <= n <= 6, (n, gaps)
    # each wait at least the doubled backoff (the handshake itself adds a little)
    assert all(gap >= 0.2 * 2**i for i, gap in enumerate(gaps)), gaps
    assert ws.last_backoff_s >= 2.0
    assert log.having("reconnecting in")


def test_backoff_starts_over_after_a_connection_that_lived_stable_s():
    """Connections that live 0.6 s with ``stable_s`` 0.5: every one counts as stable, so each
    reconnect waits the initial 0.25 s again (no growth)."""
    accepted: list[float] = []

    async def handler(conn):
        accepted.append(time.monotonic())
        await asyncio.sleep(0.6)
        await conn.close()

    async def main():
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            ws = HLWebSocketClient(f"ws://127.0.0.1:{port}", lambda c, d: None, stable_s=0.5)
            await ws.start(timeout_s=5)
            await asyncio.sleep(2.7)
            await ws.stop()
            return ws

    ws = asyncio.run(main())
    gaps = [b - a for a, b in zip(accepted, accepted[1:])]
    assert len(accepted) >= 3, gaps
    assert all(gap < 0.6 + 0.25 + 0.3 for gap in gaps), gaps
    assert ws.last_backoff_s == 0.25


# ------------------------------------------------------------------------------------------ pong deadline
def test_unanswered_ping_declares_the_connection_dead_and_reconnects():
    """The server reads (and ignores) the pings: no pong within 0.5 s -> closed and rebuilt."""
    accepted: list[float] = []
    pings: list[str] = []

    async def handler(conn):
        accepted.append(time.monotonic())
        async for frame in conn:
            pings.append(frame)

    async def main():
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            log = LogLines()
            ws = HLWebSocketClient(f"ws://127.0.0.1:{port}", lambda c, d: None, heartbeat_s=0.3, pong_timeout_s=0.5,
                                   log=log)
            await ws.start(timeout_s=5)
            ok = await _wait(lambda: len(accepted) >= 2, 4.0)
            await ws.stop()
            return ws, log, ok

    ws, log, ok = asyncio.run(main())
    assert ok, accepted
    assert ws.pong_timeouts >= 1 and ws.reconnects >= 1
    assert '{"method":"ping"}' in pings
    assert log.having("no pong")


def test_answered_pings_keep_the_connection():
    async def handler(conn):
        async for frame in conn:
            if "ping" in frame:
                await conn.send('{"channel":"pong"}')

    async def main():
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            ws = HLWebSocketClient(f"ws://127.0.0.1:{port}", lambda c, d: None, heartbeat_s=0.3, pong_timeout_s=0.5)
            await ws.start(timeout_s=5)
            await asyncio.sleep(1.5)
            await ws.stop()
            return ws

    ws = asyncio.run(main())
    assert ws.pong_timeouts == 0 and ws.reconnects == 0


# ------------------------------------------------------------------------------------------ malformed frames
def test_malformed_frames_are_counted_and_logged_once_per_interval():
    got: list[tuple[str, object]] = []

    async def handler(conn):
        await conn.send("Websocket connection established.")  # the venue's greeting: not malformed
        await conn.send("garbage")
        await conn.send('{"channel": "trades", "data": [')
        await conn.send('{"data": 1}')
        await conn.send('{"channel":"trades","data":[{"coin":"BTC"}]}')
        await conn.wait_closed()

    async def main():
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            log = LogLines()
            ws = HLWebSocketClient(f"ws://127.0.0.1:{port}", lambda c, d: got.append((c, d)), log=log)
            await ws.start(timeout_s=5)
            await _wait(lambda: got, 3.0)
            await ws.stop()
            return ws, log

    ws, log = asyncio.run(main())
    assert got == [("trades", [{"coin": "BTC"}])]  # the feed went on after the bad frames
    assert ws.malformed_frames == 3
    lines = log.having("malformed frame")
    assert len(lines) == 1 and "garbage" in lines[0], log.lines  # rate-limited: one line per 10 s


# ------------------------------------------------------------------------------------------ data client
def _kernel():
    clock = LiveClock()
    trader = TraderId("TESTER-001")
    msgbus = MessageBus(trader, clock)
    cache = Cache()
    return clock, trader, msgbus, cache


def _btc(provider: HLInstrumentProvider, cache: Cache):
    inst = make_perpetual("BTC", 5)
    provider.add_currency(inst.base_currency)
    provider.add(inst)
    provider.coin_to_id["BTC"] = inst.id
    provider.asset_of["BTC"] = 0
    cache.add_instrument(inst)
    return inst


def _book(t_ms: int, bid: str = "110000", ask: str = "110001") -> str:
    return json.dumps({"channel": "l2Book", "data": {"coin": "BTC", "time": t_ms, "levels": [
        [{"px": bid, "sz": "1.5", "n": 3}], [{"px": ask, "sz": "2.0", "n": 2}]]}})


def _data_client(ws_url: str, stale: dict | None):
    clock, _, msgbus, cache = _kernel()
    emitted: list = []
    health: list = []
    msgbus.register("DataEngine.process", emitted.append)  # the sink the DataEngine would be
    msgbus.subscribe(VENUE_HEALTH_TOPIC, health.append)
    config = HLDataClientConfig(instrument_provider=InstrumentProviderConfig(load_all=True), base_url_http=UNUSED_HTTP,
                                base_url_ws=ws_url, coins=["BTC"], stale_book_secs=stale, stale_check_secs=0.1)
    provider = HLInstrumentProvider(HLHttpClient(UNUSED_HTTP), coins=["BTC"])
    inst = _btc(provider, cache)
    client = HLDataClient(asyncio.get_running_loop(), msgbus, cache, clock, provider, config, HLNodeState(clock))
    return client, inst, emitted, health


def test_older_book_rejected_and_one_bad_trade_item_skips_only_itself():
    async def handler(conn):
        async for frame in conn:
            sub = json.loads(frame).get("subscription", {})
            if sub.get("type") == "l2Book":
                await conn.send(_book(1_000_000, "110000"))
                await conn.send(_book(999_000, "109990"))  # older than the one applied: rejected
                await conn.send(_book(1_001_000, "110002", "110003"))
            elif sub.get("type") == "trades":
                good = {"coin": "BTC", "side": "B", "px": "110001", "sz": "0.01", "time": 1_000_500, "tid": 1,
                        "hash": "0x0"}
                await conn.send(json.dumps({"channel": "trades", "data": [
                    good, None, {**good, "tid": 2, "px": "not a price"}, {**good, "tid": 3, "side": "A"}]}))

    async def main():
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            client, inst, emitted, _ = _data_client(f"ws://127.0.0.1:{port}", None)
            await client._ws.start(timeout_s=5)
            cmd = SimpleNamespace(instrument_id=inst.id)
            await client._subscribe_order_book_deltas(cmd)
            await client._subscribe_trade_ticks(cmd)
            await _wait(lambda: client.book_messages >= 3 and any(isinstance(d, TradeTick) for d in emitted), 3.0)
            await asyncio.sleep(0.2)
            await client._ws.stop()
            return client, emitted

    client, emitted = asyncio.run(main())
    books = [d for d in emitted if isinstance(d, OrderBookDeltas)]
    trades = [d for d in emitted if isinstance(d, TradeTick)]
    assert client.old_books_rejected == 1
    # the rejected book's bid (109990) never reached the engine; the books applied are 1.000 and 1.001
    prices = {str(d.order.price) for b in books for d in b.deltas if d.order is not None and d.order.size.as_double() > 0}
    assert "109990.0" not in prices and {"110000.0", "110002.0"} <= prices, prices
    assert [b.deltas[-1].ts_event for b in books] == [1_000_000 * 1_000_000, 1_001_000 * 1_000_000]
    assert [t.trade_id.value for t in trades] == ["1", "3"]
    assert client.bad_trades == 2
    assert client.counters()["old_books_rejected"] == 1


def test_silent_coin_is_held_resubscribed_and_released_by_a_fresh_book():
    subs: list[dict] = []

    async def main():
        resume = asyncio.Event()

        async def handler(conn):
            async for frame in conn:
                msg = json.loads(frame)
                subs.append(msg)
                sub = msg.get("subscription", {})
                if msg.get("method") == "subscribe" and sub.get("type") == "l2Book":
                    if not resume.is_set():
                        await conn.send(_book(1_000_000))  # one book, then silence (the socket stays up)
                    else:
                        await conn.send(_book(1_005_000))

        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            client, inst, _, health = _data_client(f"ws://127.0.0.1:{port}", {"BTC": 0.4})
            await client._ws.start(timeout_s=5)
            task = asyncio.get_running_loop().create_task(client._stale_loop())
            await client._subscribe_order_book_deltas(SimpleNamespace(instrument_id=inst.id))
            t0 = time.monotonic()
            held = await _wait(lambda: any(h.blocked for h in health), 2.0)
            t_held = time.monotonic() - t0
            resume.set()  # the next (re)subscription is answered with a fresh book
            released = await _wait(lambda: health and not health[-1].blocked, 3.0)
            task.cancel()
            await client._ws.stop()
            return client, inst, health, held, t_held, released

    client, inst, health, held, t_held, released = asyncio.run(main())
    assert held and t_held < 0.4 + 0.5, t_held
    first = next(h for h in health if h.blocked)
    assert first.key == "stale_book" and first.instrument_id == str(inst.id)
    assert released, health
    assert health[-1].key == "stale_book" and health[-1].instrument_id == str(inst.id)
    methods = [(m.get("method"), m.get("subscription", {}).get("type")) for m in subs]
    assert methods.count(("unsubscribe", "l2Book")) >= 1 and methods.count(("subscribe", "l2Book")) >= 2, methods
    assert client.stale_book_holds == 1 and client.book_resubscribes >= 1


# ------------------------------------------------------------------------------------------ execution client
def test_fills_message_with_one_bad_item_applies_the_others(monkeypatch):
    monkeypatch.setenv("HYPERLIQUID_TESTNET_PK", KEY)

    async def main():
        clock, trader, msgbus, cache = _kernel()
        events: list = []
        msgbus.register("ExecEngine.process", events.append)  # the sink the ExecEngine would be
        config = HLExecClientConfig(instrument_provider=InstrumentProviderConfig(load_all=True),
                                    base_url_http=UNUSED_HTTP, coins=["BTC"])
        http = make_exec_http(config)
        provider = HLInstrumentProvider(http, coins=["BTC"])
        inst = _btc(provider, cache)
        client = HLExecutionClient(asyncio.get_running_loop(), msgbus, cache, clock, provider, config, http,
                                   HLNodeState(clock))
        factory = OrderFactory(trader, StrategyId("MM-001"), clock)
        orders = []
        for side, px in ((OrderSide.BUY, "109990"), (OrderSide.SELL, "110010"), (OrderSide.BUY, "109980")):
            order = factory.limit(inst.id, side, inst.make_qty(0.01), inst.make_price(float(px)), post_only=True)
            cache.add_order(order)
            order.apply(TestEventStubs.order_submitted(order))
            order.apply(TestEventStubs.order_accepted(order, venue_order_id=VenueOrderId(str(100 + len(orders)))))
            cache.update_order(order)
            orders.append(order)

        def fill(i: int, tid: int, sz: str) -> dict:
            o = orders[i]
            return {"coin": "BTC", "px": str(o.price), "sz": sz, "side": "B" if o.side == OrderSide.BUY else "A",
                    "time": 1_700_000_000_000 + tid, "oid": 100 + i, "tid": tid, "crossed": False, "fee": "0.01",
                    "cloid": client._cloid(o.client_order_id)}

        # tid 502 has a zero size: it decodes, but no OrderFilled can be made of it
        client._on_ws("userFills", {"user": http.user, "fills": [
            fill(0, 501, "0.01"), fill(1, 502, "0"), fill(2, 503, "0.004"), "not a fill"]})
        await http.close()
        return client, events

    client, events = asyncio.run(main())
    fills = [e for e in events if isinstance(e, OrderFilled)]
    assert [f.trade_id.value for f in fills] == ["501", "503"]
    assert 502 not in client._seen_tids and {501, 503} <= client._seen_tids
    assert client.bad_fills == 2


# ------------------------------------------------------------------------------------------ exec WebSocket down
def test_dead_exec_ws_holds_quoting_until_reconnected_and_the_missed_fill_is_applied(twin, monkeypatch):
    """The twin drops the execution WebSocket and refuses the next 3 reconnects; meanwhile one of our
    orders fills at the venue. Every instrument is held (``exec_ws``) from the drop until the socket
    is back AND the fills since the drop were fetched: the venue's fill is applied exactly once."""
    from botmm_nautilus.venue import actions as hl_actions

    monkeypatch.setenv("HYPERLIQUID_TESTNET_PK", KEY)
    addr = WALLET.address

    async def main():
        clock, trader, msgbus, cache = _kernel()
        events: list = []
        health: list = []
        msgbus.register("ExecEngine.process", events.append)
        msgbus.subscribe(VENUE_HEALTH_TOPIC, lambda m: health.append((m, client._ws.is_connected)))
        config = HLExecClientConfig(instrument_provider=InstrumentProviderConfig(load_all=True),
                                    base_url_http=twin.url, coins=["BTC"], dead_man_deadline_secs=0)
        http = make_exec_http(config)
        provider = HLInstrumentProvider(http, coins=["BTC"])
        await provider.initialize()
        inst = provider.instrument_for_coin("BTC")
        cache.add_instrument(inst)
        client = HLExecutionClient(asyncio.get_running_loop(), msgbus, cache, clock, provider, config, http,
                                   HLNodeState(clock))
        await client._ws.subscribe({"type": "orderUpdates", "user": http.user})
        await client._ws.subscribe({"type": "userFills", "user": http.user})
        await client._ws.start(timeout_s=5)
        await asyncio.sleep(0.3)
        # an aggressive IOC buy of ours, known to the node (submitted), sent while the socket is down
        book = await http.info({"type": "l2Book", "coin": "BTC"})
        ask = Decimal(book["levels"][1][0]["px"])
        order = OrderFactory(trader, StrategyId("MM-001"), clock).limit(
            inst.id, OrderSide.BUY, inst.make_qty(0.001), inst.make_price(float(int(ask * Decimal("1.002")))),
            time_in_force=TimeInForce.IOC)
        cache.add_order(order)
        order.apply(TestEventStubs.order_submitted(order))
        cache.update_order(order)
        twin.faults.refuse_http(count=3, path="/ws")
        twin.faults.drop_ws()
        await _wait(lambda: health, 2.0)
        wire = hl_actions.order_wire(provider.asset(inst.id), True, order.price.as_decimal(), Decimal("0.001"),
                                     False, "Ioc", client._cloid(order.client_order_id))
        await http.exchange(hl_actions.order_action([wire]))
        released = await _wait(lambda: health and not health[-1][0].blocked, 8.0)
        await client._ws.stop()
        for task in client._hl_tasks:
            task.cancel()
        await http.close()
        return client, events, health, released

    client, events, health, released = asyncio.run(main())
    venue_fills = twin.fills(addr)
    assert len(venue_fills) == 1
    assert released, [(m.key, m.blocked) for m, _ in health]
    blocked = [(m, up) for m, up in health if m.blocked]
    assert blocked and all(m.key == "exec_ws" and m.instrument_id is None for m, _ in blocked)
    assert health[0][0].blocked and not health[0][1]  # held from the drop, while the socket was down
    assert health[-1][0].key == "exec_ws" and health[-1][1]  # released only with the socket back up
    assert client._ws.connect_attempts >= 4  # the refused reconnects (the backoff kept growing)
    fills = [e for e in events if isinstance(e, OrderFilled)]
    assert [f.trade_id.value for f in fills] == [str(venue_fills[0]["tid"])]  # applied once
    assert client.exec_ws_holds == 1
