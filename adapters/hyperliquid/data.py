"""``HLDataClient``: Hyperliquid market data -> Nautilus data objects.

| subscription | channel | Nautilus data |
|---|---|---|
| order book deltas / depth | ``l2Book`` | ``OrderBookDeltas`` via ``SnapshotDiffer`` (incremental, ``F_LAST`` on the last) |
| quote ticks | ``bbo`` | ``QuoteTick`` |
| trade ticks | ``trades`` | ``TradeTick`` (``B`` = BUYER aggressor, ``A`` = SELLER) |
| bars | ``candle`` | ``Bar`` (on candle close) |
| mark prices / funding rates | ``activeAssetCtx`` | ``MarkPriceUpdate`` / ``FundingRateUpdate`` |

``l2Book`` and ``trades`` messages are decoded by ``botmm_nautilus.venue.messages`` (prices and
sizes straight to integer ticks and lots on the instrument's grid, memoised per coin); a message
that does not decode is dropped and logged.

Book safety: after a (re)connect every differ is resynced, so the first snapshot is CLEAR + full
book; a crossed snapshot (best bid >= best ask) is dropped and logged and never reaches the
engine; a snapshot whose venue ``time`` is older than the last one applied for its coin is
rejected and counted (``old_books_rejected``). ``trades`` messages are handled item by item: a bad
item is logged and skipped, the others are applied.

Blind means flat: every ``stale_check_secs`` a timer looks at each book coin's age (the local
receive time of the last ``l2Book`` of THAT coin; since the subscription while none arrived).
Past the coin's ``stale_book_secs`` (``HLDataClientConfig.stale_book_secs``, the per-asset
``risk.stale_book_s``) the client publishes venue health ``"stale_book"`` blocked for that
instrument (``engine/venue_health.py``: its ``MarketMaker`` cancels its quotes), repeated every
``_HEALTH_REPEAT_S`` while it lasts, and resubscribes that coin's ``l2Book`` at most once per
threshold (one coin silent while the others flow: the venue answers a resubscription with a fresh
snapshot). The first fresh book releases it (``blocked=False``).
"""

from __future__ import annotations

import asyncio
import time

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.common.data_topics import TopicCache
from nautilus_trader.data.messages import RequestInstrument
from nautilus_trader.data.messages import RequestInstruments
from nautilus_trader.live.data_client import LiveMarketDataClient
from nautilus_trader.model.data import OrderBookDeltas

from botmm_nautilus.engine.book_diff import BookDeltaEncoder
from botmm_nautilus.engine.book_diff import SnapshotDiffer
from botmm_nautilus.engine.venue_health import publish_health
from botmm_nautilus.venue.messages import TickGrid
from botmm_nautilus.venue.messages import decode_l2book
from botmm_nautilus.venue.messages import decode_trade

from . import parsing
from .config import HLDataClientConfig
from .constants import HL_CLIENT_ID
from .constants import HL_VENUE
from .instruments import coin_of
from .node_state import HLNodeState
from .providers import HLInstrumentProvider
from .tasks import background_task
from .ws import HLWebSocketClient

_TOPICS = TopicCache()
_HEALTH_REPEAT_S = 2.0  # a held stale_book is published again this often (strategies started later)
STALE_BOOK = "stale_book"


class HLDataClient(LiveMarketDataClient):
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        instrument_provider: HLInstrumentProvider,
        config: HLDataClientConfig,
        node_state: HLNodeState,
        name: str | None = None,
    ) -> None:
        super().__init__(
            loop=loop,
            client_id=HL_CLIENT_ID if name is None else type(HL_CLIENT_ID)(name),
            venue=HL_VENUE,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            instrument_provider=instrument_provider,
            config=config,
        )
        self._config = config
        self._provider = instrument_provider
        # shared with the node's execution client (made by the factories): the venue's clock read
        # off the books, and the tick-to-order probe
        self._node_state = node_state
        self._venue_clock = node_state.venue_clock(config.http_base())
        self._probe = node_state.probe
        node_state.attach(self)
        self._ws = HLWebSocketClient(
            config.ws_base(), self._on_ws, on_reconnect=self._on_reconnect, heartbeat_s=config.ws_heartbeat_secs,
            pong_timeout_s=config.ws_pong_timeout_secs, stale_s=config.ws_stale_secs,
            reconnect_max_s=config.ws_reconnect_max_secs, stable_s=config.ws_stable_secs, log=self._log, name="hl-data-ws",
        )
        self._differs: dict[str, SnapshotDiffer] = {}
        self._book_coins: set[str] = set()
        self._quote_coins: set[str] = set()
        self._trade_coins: set[str] = set()
        self._mark_coins: set[str] = set()
        self._funding_coins: set[str] = set()
        self._bar_types: dict[tuple[str, str], list] = {}
        self._last_candle: dict[tuple[str, str], dict] = {}
        self._refresh_task: asyncio.Task | None = None
        self._probe_hooks: dict[str, tuple] = {}
        self._grids: dict[str, TickGrid] = {}  # per coin: the instrument's grid (books and trades share its memos)
        self._trade_encoders: dict[str, BookDeltaEncoder] = {}
        # book freshness per coin (time.monotonic() of the last l2Book received; of the
        # subscription while none arrived), coins held stale (-> when last published), the last
        # resubscription per coin, and the venue time of the last applied book per coin
        self._book_rx: dict[str, float] = {}
        self._stale_held: dict[str, float] = {}
        self._resubscribed_at: dict[str, float] = {}
        self._last_book_ms: dict[str, int] = {}
        self._stale_task: asyncio.Task | None = None
        # counters (read through counters())
        self.crossed_dropped = 0
        self.book_messages = 0
        self.resyncs = 0
        self.old_books_rejected = 0
        self.stale_book_holds = 0
        self.book_resubscribes = 0
        self.bad_trades = 0

    def counters(self) -> dict:
        """Book messages handled, crossed snapshots dropped, book resyncs, WebSocket reconnects,
        older books rejected, stale-book holds published, per-coin resubscriptions, trade items
        skipped, malformed WebSocket frames."""
        return {"book_messages": self.book_messages, "crossed_dropped": self.crossed_dropped,
                "resyncs": self.resyncs, "ws_reconnects": self._ws.reconnects,
                "old_books_rejected": self.old_books_rejected, "stale_book_holds": self.stale_book_holds,
                "book_resubscribes": self.book_resubscribes, "bad_trades": self.bad_trades,
                "malformed_frames": self._ws.malformed_frames}

    # ------------------------------------------------------------------ lifecycle
    async def _connect(self) -> None:
        await self._provider.initialize()
        if not self._provider.list_all():
            raise RuntimeError(f"no instruments loaded from {self._config.http_base()} (coins={self._config.coins})")
        for inst in self._provider.list_all():
            self._handle_data(inst)
        await self._ws.start()
        if self._config.instrument_refresh_secs > 0:
            self._refresh_task = background_task(self._loop, self._refresh_loop(), self._log)
        if self._config.stale_book_secs and self._config.stale_check_secs > 0:
            self._stale_task = background_task(self._loop, self._stale_loop(), self._log)
        self._log.info(f"connected to {self._config.ws_base()} ({len(self._provider.list_all())} instruments)")

    async def _disconnect(self) -> None:
        if self._refresh_task is not None:
            self._refresh_task.cancel()
            self._refresh_task = None
        if self._stale_task is not None:
            self._stale_task.cancel()
            self._stale_task = None
        await self._ws.stop()
        await self._provider._http.close()

    def _dispose(self) -> None:
        super()._dispose()
        self._node_state.release(self)

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self._config.instrument_refresh_secs)
            try:
                changed = await self._provider.refresh()
            except Exception as exc:  # noqa: BLE001
                self._log.warning(f"instrument refresh failed: {exc}")
                continue
            for coin in changed:
                inst = self._provider.instrument_for_coin(coin)
                self._log.warning(f"{coin}: szDecimals changed to {inst.size_precision}; instrument updated")
                self._differs.pop(coin, None)
                self._trade_encoders.pop(coin, None)
                self._grids.pop(coin, None)
                self._handle_data(inst)

    def _on_reconnect(self) -> None:
        for differ in self._differs.values():
            differ.resync()
        self.resyncs += 1

    # ------------------------------------------------------------------ blind means flat
    def stale_book_secs(self, coin: str) -> float | None:
        """The coin's book-age limit (``stale_book_secs``; None = not watched)."""
        limits = self._config.stale_book_secs
        return limits.get(coin) if limits else None

    async def _stale_loop(self) -> None:
        while True:
            await asyncio.sleep(self._config.stale_check_secs)
            try:
                await self.check_stale_books(time.monotonic())
            except Exception as exc:  # noqa: BLE001 - the watchdog must keep running
                self._log.error(f"stale-book check failed: {type(exc).__name__}: {exc}")

    async def check_stale_books(self, now: float) -> None:
        """One pass of the book-age watchdog at ``now`` (``time.monotonic()``): hold every book coin
        older than its limit (publish ``stale_book`` blocked, again every ``_HEALTH_REPEAT_S``) and
        resubscribe it at most once per limit while the connection is up."""
        for coin in list(self._book_coins):
            limit = self.stale_book_secs(coin)
            rx = self._book_rx.get(coin)
            if limit is None or rx is None:
                continue
            age = now - rx
            if age < limit:
                continue
            inst = self._provider.instrument_for_coin(coin)
            if inst is None:
                continue
            last_pub = self._stale_held.get(coin)
            if last_pub is None:
                self.stale_book_holds += 1
                self._log.warning(f"{coin}: no l2Book for {age:.1f}s >= stale_book_s {limit:g}s: the node is blind on "
                                  f"{coin}; its quotes are pulled (venue health stale_book) until a fresh book arrives")
            if last_pub is None or now - last_pub >= _HEALTH_REPEAT_S:
                self._stale_held[coin] = now
                publish_health(self._msgbus, STALE_BOOK, True, f"{coin} book {age:.1f}s old >= {limit:g}s",
                               self._clock.timestamp_ns(), str(inst.id))
            if self._ws.is_connected and now - self._resubscribed_at.get(coin, rx) >= limit:
                self._resubscribed_at[coin] = now
                self.book_resubscribes += 1
                differ = self._differs.get(coin)
                if differ is not None:
                    differ.resync()
                self._log.warning(f"{coin}: l2Book silent for {age:.1f}s; resubscribing {coin} (book resynced)")
                await self._ws.resubscribe({"type": "l2Book", "coin": coin})

    def _book_fresh(self, coin: str, inst) -> None:
        """A book of a held coin arrived: release its ``stale_book`` hold."""
        if self._stale_held.pop(coin, None) is None:
            return
        self._resubscribed_at.pop(coin, None)
        self._log.warning(f"{coin}: fresh l2Book received; quoting on {coin} may resume (venue health stale_book released)")
        publish_health(self._msgbus, STALE_BOOK, False, f"{coin} book fresh again", self._clock.timestamp_ns(), str(inst.id))

    # ------------------------------------------------------------------ subscriptions
    def _coin(self, instrument_id) -> str:
        return coin_of(instrument_id)

    async def _subscribe_order_book_deltas(self, command) -> None:
        coin = self._coin(command.instrument_id)
        self._book_coins.add(coin)
        self._book_rx.setdefault(coin, time.monotonic())  # blind until the first book arrives
        self._differs.pop(coin, None)
        self._hook_latency_probe(coin, command.instrument_id)
        await self._ws.subscribe({"type": "l2Book", "coin": coin})

    def _hook_latency_probe(self, coin: str, instrument_id) -> None:
        """Latency probe: stamp the start and the end of the strategies' handling of each book
        message of ``coin`` (``latency.LatencyProbe``). ``begin`` runs after the
        DataEngine's book update (priority 10) and before the strategies (priority 0); ``end``
        has priority 0 too and, subscribed after them (a strategy subscribes its handler before
        its subscribe command reaches this client), runs after them."""
        if coin in self._probe_hooks:
            return
        probe = self._probe
        probe.register_coin(coin)
        topic = _TOPICS.get_deltas_topic(instrument_id)

        def begin(deltas, _coin=coin, _on=probe.on_dispatch_begin):
            _on(_coin, deltas.ts_init)

        def end(deltas, _coin=coin, _on=probe.on_dispatch_end):
            _on(_coin)

        self._msgbus.subscribe(topic=topic, handler=begin, priority=9)
        self._msgbus.subscribe(topic=topic, handler=end, priority=0)
        self._probe_hooks[coin] = (topic, begin, end)

    async def _subscribe_order_book_depth(self, command) -> None:
        await self._subscribe_order_book_deltas(command)

    async def _unsubscribe_order_book_deltas(self, command) -> None:
        coin = self._coin(command.instrument_id)
        self._book_coins.discard(coin)
        self._book_rx.pop(coin, None)
        await self._ws.unsubscribe({"type": "l2Book", "coin": coin})

    async def _unsubscribe_order_book_depth(self, command) -> None:
        await self._unsubscribe_order_book_deltas(command)

    async def _subscribe_quote_ticks(self, command) -> None:
        coin = self._coin(command.instrument_id)
        self._quote_coins.add(coin)
        await self._ws.subscribe({"type": "bbo", "coin": coin})

    async def _unsubscribe_quote_ticks(self, command) -> None:
        coin = self._coin(command.instrument_id)
        self._quote_coins.discard(coin)
        await self._ws.unsubscribe({"type": "bbo", "coin": coin})

    async def _subscribe_trade_ticks(self, command) -> None:
        coin = self._coin(command.instrument_id)
        self._trade_coins.add(coin)
        await self._ws.subscribe({"type": "trades", "coin": coin})

    async def _unsubscribe_trade_ticks(self, command) -> None:
        coin = self._coin(command.instrument_id)
        self._trade_coins.discard(coin)
        await self._ws.unsubscribe({"type": "trades", "coin": coin})

    async def _subscribe_mark_prices(self, command) -> None:
        coin = self._coin(command.instrument_id)
        self._mark_coins.add(coin)
        await self._ws.subscribe({"type": "activeAssetCtx", "coin": coin})

    async def _unsubscribe_mark_prices(self, command) -> None:
        self._mark_coins.discard(self._coin(command.instrument_id))

    async def _subscribe_funding_rates(self, command) -> None:
        coin = self._coin(command.instrument_id)
        self._funding_coins.add(coin)
        await self._ws.subscribe({"type": "activeAssetCtx", "coin": coin})

    async def _unsubscribe_funding_rates(self, command) -> None:
        self._funding_coins.discard(self._coin(command.instrument_id))

    async def _subscribe_bars(self, command) -> None:
        bar_type = command.bar_type
        coin = self._coin(bar_type.instrument_id)
        interval = parsing.candle_interval(bar_type)
        self._bar_types.setdefault((coin, interval), []).append(bar_type)
        await self._ws.subscribe({"type": "candle", "coin": coin, "interval": interval})

    async def _unsubscribe_bars(self, command) -> None:
        bar_type = command.bar_type
        coin = self._coin(bar_type.instrument_id)
        interval = parsing.candle_interval(bar_type)
        lst = self._bar_types.get((coin, interval), [])
        if bar_type in lst:
            lst.remove(bar_type)
        if not lst:
            await self._ws.unsubscribe({"type": "candle", "coin": coin, "interval": interval})

    async def _subscribe_instrument(self, command) -> None:
        pass  # instruments are published on connect and on refresh

    async def _subscribe_instruments(self, command) -> None:
        pass

    async def _request_instrument(self, request: RequestInstrument) -> None:
        inst = self._provider.find(request.instrument_id)
        if inst is not None:
            self._handle_instrument(inst, request.id, request.start, request.end, request.params)

    async def _request_instruments(self, request: RequestInstruments) -> None:
        self._handle_instruments(request.venue, self._provider.list_all(), request.id, request.start, request.end,
                                 request.params)

    # ------------------------------------------------------------------ messages
    def _on_ws(self, channel: str, data) -> None:
        if channel == "l2Book":
            self._on_book(data)
        elif channel == "trades":
            self._on_trades(data)
        elif channel == "bbo":
            self._on_bbo(data)
        elif channel == "candle":
            self._on_candle(data)
        elif channel == "activeAssetCtx":
            self._on_ctx(data)

    def _on_book(self, data: dict) -> None:
        coin = data.get("coin")
        if coin not in self._book_coins:
            return
        inst = self._provider.instrument_for_coin(coin)
        if inst is None:
            return
        self.book_messages += 1
        time_ms = data.get("time")
        last_ms = self._last_book_ms.get(coin)
        if last_ms is not None and time_ms.__class__ is int and time_ms < last_ms:
            self.old_books_rejected += 1
            if self.old_books_rejected % 100 == 1:  # the first, then one line per 100
                self._log.warning(f"{coin}: l2Book of venue time {time_ms} is older than the last applied ({last_ms}); "
                                  f"rejected ({self.old_books_rejected} so far), the book stays as it was")
            return
        # ts_init: when the frame came off the socket (wall clock, as the LiveClock), not after parsing
        ts_init = self._ws.frame_ns or self._clock.timestamp_ns()
        differ = self._differs.get(coin)
        if differ is None:
            differ = self._differs[coin] = SnapshotDiffer(inst)
            self._grids[coin] = TickGrid(differ.encoder.price_precision, differ.encoder.size_precision)
        try:
            book = decode_l2book(data, self._grids[coin])
            bids, asks = book.bids, book.asks
            if bids and asks and max(t for t, _ in bids) >= min(t for t, _ in asks):
                self._drop_crossed(coin)
                return
            deltas = differ.diff_ticks(bids, asks, book.time * parsing.NS_PER_MS, ts_init)
        except Exception as exc:  # noqa: BLE001 - malformed or invalid snapshot: drop it, start over cleanly
            self._log.warning(f"{coin}: invalid l2Book snapshot dropped ({exc})")
            differ.resync()
            return
        self._last_book_ms[coin] = book.time
        self._book_rx[coin] = time.monotonic()  # fresh: a valid book of this coin was applied
        if self._stale_held:
            self._book_fresh(coin, inst)
        self._venue_clock.observe(book.time)
        if deltas:
            book_deltas = OrderBookDeltas(inst.id, deltas)
            # the message's ts_init is its last delta's (frame time + a few ns: unique per delta)
            self._probe.on_book(coin, book_deltas.ts_init)
            self._handle_data(book_deltas)

    def _drop_crossed(self, coin: str) -> None:
        self.crossed_dropped += 1
        self._log.warning(f"{coin}: crossed l2Book snapshot dropped (best bid >= best ask)")

    def _on_trades(self, data: list) -> None:
        ts_init = self._clock.timestamp_ns()
        for item in data or []:
            if item.__class__ is not dict:
                self.bad_trades += 1
                self._log.warning(f"trade item {item!r:.80} is not an object; skipped, the message's other trades are applied")
                continue
            coin = item.get("coin")
            if coin not in self._trade_coins:
                continue
            inst = self._provider.instrument_for_coin(coin)
            if inst is None:
                continue
            enc = self._trade_encoders.get(coin)
            if enc is None:
                enc = self._trade_encoders[coin] = BookDeltaEncoder(inst)
            grid = self._grids.get(coin)
            if grid is None:
                grid = self._grids[coin] = TickGrid(enc.price_precision, enc.size_precision)
            try:
                t = decode_trade(item)
                ticks = grid.price(t.px, "trades", "px")
                lots = grid.size(t.sz, "trades", "sz")
                tick = enc.trade(ticks, lots, parsing.aggressor_of(t.side), str(t.tid), t.time * parsing.NS_PER_MS,
                                 ts_init)
            except Exception as exc:  # noqa: BLE001 - one bad item: skip it, apply the others
                self.bad_trades += 1
                self._log.warning(f"{coin}: malformed trade skipped ({exc}); the message's other trades are applied")
                continue
            self._handle_data(tick)

    def _on_bbo(self, data: dict) -> None:
        coin = data.get("coin")
        if coin not in self._quote_coins:
            return
        inst = self._provider.instrument_for_coin(coin)
        if inst is None:
            return
        tick = parsing.quote_tick(data, inst, self._clock.timestamp_ns())
        if tick is not None and tick.bid_price < tick.ask_price:
            self._handle_data(tick)

    def _on_candle(self, c: dict) -> None:
        key = (c.get("s"), c.get("i"))
        bar_types = self._bar_types.get(key)
        if not bar_types:
            return
        prev = self._last_candle.get(key)
        self._last_candle[key] = c
        if prev is None or prev["t"] == c["t"]:
            return  # only a closed candle becomes a Bar (the open one keeps changing)
        inst = self._provider.instrument_for_coin(key[0])
        ts_init = self._clock.timestamp_ns()
        for bt in bar_types:
            self._handle_data(parsing.candle_bar(prev, bt, inst, ts_init))

    def _on_ctx(self, data: dict) -> None:
        coin = data.get("coin")
        inst = self._provider.instrument_for_coin(coin)
        if inst is None:
            return
        ctx = data.get("ctx") or {}
        ts = self._clock.timestamp_ns()
        if coin in self._mark_coins:
            mp = parsing.mark_price(ctx, inst, ts)
            if mp is not None:
                self._handle_data(mp)
        if coin in self._funding_coins:
            fr = parsing.funding_rate(ctx, inst, ts)
            if fr is not None:
                self._handle_data(fr)
