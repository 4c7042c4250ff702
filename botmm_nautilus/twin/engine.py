"""The twin exchange core: state, ``/info`` answers, ``/exchange`` actions and the replay loop.

No sockets here: the server passes parsed JSON bodies in and gets ``(http_status, body)`` back;
market and account events go out through ``publisher(seq, key, payload)`` (the server's WebSocket
hub; ``seq`` increases by one per event so a subscription snapshot can skip events it already holds).
Every public method takes the exchange lock, so tests may call them from any thread.

Event keys given to the publisher:

====================================  ==========================================================
``("allMids",)``                      ``{"mids": {...}}`` (throttled)
``("l2Book", coin)``                  full-precision book (throttled, >= ``l2_book_min_interval_ms`` apart)
``("bbo", coin)``                     ``{"coin", "time", "bbo": [...]}`` when the touch changes
``("trades", coin)``                  list of trades of one block
``("candle", coin)``                  time of the print that updated the open candles
``("activeAssetCtx", coin)``          ``{"coin", "ctx"}`` (throttled)
``("orderUpdates", user)``            list of order updates
``("userFills", user)``               list of fills (the hub wraps them with ``isSnapshot: false``)
``("user", user)``                    one userEvents payload (``{"fills"}``, ``{"funding"}``, ``{"nonUserCancel"}``)
``("userFundings", user)``            list of funding payments
====================================  ==========================================================

Design decisions where the venue's behaviour is unknown or the twin simplifies (see also
``matching`` for the queue model and ``accounts`` for money):

* Replayed fills of twin orders (``matching`` rules 3-5) are maker fills at the order's price
  (maker fee, ``crossed: false``, the replay time). A fill because the replayed book moved to or
  through the order (rule 5) is also printed on ``trades`` (aggressor = the replayed crossing
  side, ``users`` = the twin account and the zero address), as the venue would print it; a fill
  by a replayed print is not printed again (the replayed print itself is published).
* ``modify``/``batchModify`` cancel the old order and place a new one with a **new oid** (same
  cloid); the replacement never takes liquidity (GTC is treated as ALO, IOC is refused).
* A GTC order that partly fills and rests reports ``resting``; an IOC that partly fills reports
  ``filled`` with the smaller ``totalSz``; the rest of an IOC is ``canceled`` on ``orderUpdates``.
* Reduce-only orders are exempt from the $10 minimum (configurable); the minimum uses the limit price.
* Accounts: known addresses only (preloaded, ``create_account`` or the admin endpoint); with
  ``auto_create_accounts`` any recovered signer that is not an agent gets an account. Without
  it a wrong signature recovers an unknown address and gets ``User or API Wallet 0x... does not exist.``
* ``vaultAddress``: the action acts on that address's account. It must be a vault/sub-account
  of the signer's master (``register_sub_account``); with ``auto_register_vaults`` an unknown
  vault is created on first use and owned by that master. Otherwise ``Vault not registered``.
* Nonces and ``expiresAfter`` are compared with the **wall clock** by default (the SDK stamps both
  from ``time.time()``); set ``nonce_clock="twin"`` to use the twin clock instead.
* Funding: coins with a funding series in the data pay at each published rate; the others pay
  ``funding_rate_hourly`` on every whole hour of twin time. Oracle price = the replayed mid.
* No liquidations, no trigger/TP-SL orders, no isolated-margin accounting (``isCross: false`` is
  recorded and reported, margin is computed the same way), no spot.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal
from typing import Any
from typing import Callable

from botmm_nautilus.venue import rules as hl_rules

from . import signing
from .accounts import Account
from .accounts import AgentRegistry
from .accounts import FeeSchedule
from .accounts import IpWeightLimiter
from .accounts import NonceError
from .accounts import NonceTracker
from .accounts import address_request_cap
from .accounts import exchange_weight
from .accounts import info_weight
from .accounts import liquidation_px
from .candles import INTERVALS
from .candles import CandleStore
from .clock import TwinClock
from .clock import wall_ms
from .faults import FaultInjector
from .matching import ASK
from .matching import BID
from .matching import CoinBook
from .matching import TwinOrder
from .replay import BookLevel
from .replay import BookSnapshot
from .replay import CoinSpec
from .replay import FundingRate
from .replay import MarketData
from .replay import MarketEvent
from .replay import MarketTrade
from .replay import ReplayCursor
from .wire import ZERO
from .wire import ZERO_ADDRESS
from .wire import ZERO_HASH
from .wire import DeserializeError
from .wire import OrderWire
from .wire import decimal_places
from .wire import fmt_decimal
from .wire import fmt_plain
from .wire import fmt_usd
from .wire import is_address
from .wire import json_type_name
from .wire import parse_list
from .wire import parse_oid_or_cloid
from .wire import parse_order_wire
from .wire import quantize_px
from .wire import require_address
from .wire import require_bool
from .wire import require_field
from .wire import require_int
from .wire import require_str
from .wire import to_decimal

HOUR_MS = 3_600_000
DAY_MS = 86_400_000

INFO_TYPES = (
    "meta", "metaAndAssetCtxs", "spotMeta", "allMids", "l2Book", "candleSnapshot", "clearinghouseState",
    "openOrders", "frontendOpenOrders", "orderStatus", "userFills", "userFillsByTime", "fundingHistory",
    "userFunding", "userRateLimit", "userFees", "historicalOrders", "extraAgents", "perpDexs", "exchangeStatus",
)
L1_ACTIONS = (
    "order", "cancel", "cancelByCloid", "modify", "batchModify", "scheduleCancel", "updateLeverage",
    "updateIsolatedMargin", "noop", "reserveRequestWeight",
)
USER_SIGNED_ACTIONS = ("approveAgent",)
# Venue action types the twin knows by name but does not implement (answered with status "err").
UNSUPPORTED_ACTIONS = (
    "usdSend", "spotSend", "withdraw3", "usdClassTransfer", "sendAsset", "approveBuilderFee", "twapOrder",
    "twapCancel", "createSubAccount", "subAccountTransfer", "subAccountSpotTransfer", "vaultTransfer",
    "setReferrer", "tokenDelegate", "convertToMultiSigUser", "multiSig", "spotDeploy", "perpDeploy",
    "userDexAbstraction", "userSetAbstraction", "evmUserModify", "createVault", "claimRewards",
)

Publisher = Callable[[int, tuple, Any], None]  # (sequence number, key, payload)


@dataclass
class TwinConfig:
    """Rules of the twin (defaults = Hyperliquid's base tier and testnet signing)."""

    starting_balance_usd: Decimal = Decimal(100_000)
    accounts: dict[str, Decimal] = field(default_factory=dict)  # preloaded address -> USDC
    auto_create_accounts: bool = False
    auto_register_vaults: bool = True
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    signature_source: str = "b"  # "a" = mainnet phantom agent, "b" = testnet (any non-mainnet URL)
    hyperliquid_chain: str = "Testnet"  # expected in user-signed actions
    strict_key_order: bool = False
    nonce_clock: str = "wall"  # "wall" | "twin"
    min_order_value_usd: Decimal = Decimal(10)
    min_value_exempt_reduce_only: bool = True
    funding_rate_hourly: Decimal | None = Decimal("0.0000125")  # used for coins without a funding series
    schedule_cancel_min_delay_ms: int = 5_000
    schedule_cancel_max_triggers_per_day: int = 10
    schedule_cancel_min_volume_usd: Decimal = Decimal(0)  # the venue requires 1_000_000; 0 = no gate
    enforce_rate_limits: bool = False
    ip_weight_per_minute: int = 1200
    max_open_orders: int = 1000
    l2_book_min_interval_ms: int = 500
    market_push_interval_ms: int = 500  # allMids and activeAssetCtx
    loop_replay: bool = False
    echo_rejections_on_ws: bool = False
    ws_idle_timeout_s: float = 60.0
    ws_greeting: bool = True
    trades_snapshot_on_subscribe: bool = False
    recent_trades_kept: int = 100


class ExchangeError(Exception):
    """Whole-action rejection: ``{"status": "err", "response": text}``."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _err(text: str) -> dict:
    return {"status": "err", "response": text}


def _ok_default() -> dict:
    return {"status": "ok", "response": {"type": "default"}}


def _ok(kind: str, statuses: list) -> dict:
    return {"status": "ok", "response": {"type": kind, "data": {"statuses": statuses}}}


class TwinExchange:
    """The exchange: replayed market + twin accounts. Thread-safe (one re-entrant lock)."""

    def __init__(
        self,
        market: MarketData,
        config: TwinConfig | None = None,
        clock: TwinClock | None = None,
        rebase_to_ms: int | None = None,
        faults: FaultInjector | None = None,
    ) -> None:
        self.config = config or TwinConfig()
        self.clock = clock or TwinClock.manual()
        self.faults = faults or FaultInjector()
        self.lock = threading.RLock()
        self.publisher: Publisher | None = None
        self.emit_seq = 0  # sequence number of the last emitted event (snapshots record it)

        self.coins: list[CoinSpec] = list(market.coins)
        if not self.coins:
            raise ValueError("the twin needs at least one coin")
        self.asset_of: dict[str, int] = {c.name: i for i, c in enumerate(self.coins)}
        self.spec_of: dict[str, CoinSpec] = {c.name: c for c in self.coins}
        self.max_leverage = {c.name: c.max_leverage for c in self.coins}
        self.books: dict[str, CoinBook] = {c.name: CoinBook(c.name) for c in self.coins}
        self.candles: dict[str, CandleStore] = {c.name: CandleStore() for c in self.coins}
        self.last_trade_px: dict[str, Decimal] = {}
        self.recent_trades: dict[str, deque] = {c.name: deque(maxlen=self.config.recent_trades_kept) for c in self.coins}

        events = [e for e in market.sorted_events() if e.coin in self.asset_of]
        self.cursor = ReplayCursor(events, rebase_to_ms=rebase_to_ms, loop=self.config.loop_replay)
        self.funding_series_coins = {e.coin for e in events if isinstance(e, FundingRate)}
        self.current_funding_rate: dict[str, Decimal] = {}
        self.funding_history: dict[str, list[dict]] = {c.name: [] for c in self.coins}
        shift = self.cursor.offset_ms
        for coin, rows in market.minute_bars.items():
            if coin in self.candles:
                for open_ms, o, h, low, c, v in rows:
                    self.candles[coin].add_minute_bar(open_ms + shift, o, h, low, c, v)

        self.accounts: dict[str, Account] = {}
        self.nonces = NonceTracker()
        self.agents = AgentRegistry()
        self.ip_limiter = IpWeightLimiter(self.config.ip_weight_per_minute)
        self.orders: dict[int, TwinOrder] = {}
        self.open_orders: dict[int, TwinOrder] = {}
        self.cloid_index: dict[tuple[str, str], TwinOrder] = {}
        self._next_oid = 1_000_000
        self._next_seq = 0
        self._next_tid = 1
        self.events_applied = 0

        start = self.clock.now_ms()
        first = self.cursor.first_twin_ms
        self.processed_ms = min(start, first) - 1 if first is not None else start
        self.next_funding_ms = (self.processed_ms // HOUR_MS + 1) * HOUR_MS

        # push throttling state
        self._l2_dirty: set[str] = set()
        self._l2_last_push: dict[str, int] = {}
        self._ctx_dirty: set[str] = set()
        self._ctx_last_push: dict[str, int] = {}
        self._mids_dirty = False
        self._mids_last_push = -(10**15)
        self._last_bbo: dict[str, tuple] = {}
        self._cross_check: set[str] = set()  # coins whose replayed book changed since the last rule-5 check

        for address, usd in self.config.accounts.items():
            self.create_account(address, usd)

    # ================================================================== publishing
    def _emit(self, key: tuple, payload: Any) -> None:
        self.emit_seq += 1
        publisher = self.publisher
        if publisher is not None:
            publisher(self.emit_seq, key, payload)

    def _coin_changed(self, coin: str, now_ms: int) -> None:
        """A coin's displayed book may have changed: bbo now, l2Book/allMids/ctx throttled."""
        bbo = self._bbo_tuple(coin)
        if bbo != self._last_bbo.get(coin):
            self._last_bbo[coin] = bbo
            self._emit(("bbo", coin), self.bbo_wire(coin, now_ms))
        self._l2_dirty.add(coin)
        self._ctx_dirty.add(coin)
        self._mids_dirty = True

    def _flush_throttled(self, now_ms: int) -> None:
        cfg = self.config
        for coin in list(self._l2_dirty):
            if now_ms - self._l2_last_push.get(coin, -(10**15)) >= cfg.l2_book_min_interval_ms:
                self._l2_dirty.discard(coin)
                self._l2_last_push[coin] = now_ms
                self._emit(("l2Book", coin), self.l2_book_wire(coin, now_ms))
        for coin in list(self._ctx_dirty):
            if now_ms - self._ctx_last_push.get(coin, -(10**15)) >= cfg.market_push_interval_ms:
                self._ctx_dirty.discard(coin)
                self._ctx_last_push[coin] = now_ms
                self._emit(("activeAssetCtx", coin), self.active_asset_ctx_wire(coin, now_ms))
        if self._mids_dirty and now_ms - self._mids_last_push >= cfg.market_push_interval_ms:
            self._mids_dirty = False
            self._mids_last_push = now_ms
            self._emit(("allMids",), {"mids": self.all_mids()})

    # ================================================================== time and replay
    def now_ms(self) -> int:
        return self.clock.now_ms()

    def nonce_now_ms(self) -> int:
        return self.clock.now_ms() if self.config.nonce_clock == "twin" else wall_ms()

    def sync(self) -> None:
        """Bring the market up to the clock (called before every request)."""
        self.advance_to(self.clock.now_ms())

    def _next_timer_ms(self) -> int | None:
        candidates = [a.schedule_cancel_ms for a in self.accounts.values() if a.schedule_cancel_ms is not None]
        if self.config.funding_rate_hourly and len(self.funding_series_coins) < len(self.coins):
            candidates.append(self.next_funding_ms)
        return min(candidates) if candidates else None

    def advance_to(self, target_ms: int) -> int:
        """Apply every replay event and timer due at or before ``target_ms``; returns events applied."""
        applied = 0
        with self.lock:
            while True:
                event_ms = self.cursor.peek_ms()
                if self.cursor.pending_reset:
                    self.cursor.pending_reset = False
                    for book in self.books.values():
                        book.clear_replayed()
                timer_ms = self._next_timer_ms()
                due = [t for t in (event_ms, timer_ms) if t is not None]
                if not due or min(due) > target_ms:
                    break
                if timer_ms is not None and (event_ms is None or timer_ms <= event_ms):
                    self._run_timers(timer_ms)
                else:
                    applied += self._apply_block(event_ms)
            self.processed_ms = max(self.processed_ms, target_ms)
            self._flush_throttled(target_ms)
        return applied

    def step(self, n_events: int = 1) -> int:
        """Apply the next ``n_events`` replay events (and timers before them); returns the twin time reached.

        With a manual clock the clock moves to the last event's time.
        """
        with self.lock:
            reached = self.processed_ms
            for _ in range(n_events):
                event_ms = self.cursor.peek_ms()
                if event_ms is None:
                    break
                target = max(event_ms, self.processed_ms)
                if self.clock.is_manual and target > self.clock.now_ms():
                    self.clock.set_ms(target)
                # timers due before this event
                while True:
                    timer_ms = self._next_timer_ms()
                    if timer_ms is None or timer_ms > target:
                        break
                    self._run_timers(timer_ms)
                if self.cursor.pending_reset:
                    self.cursor.pending_reset = False
                    for book in self.books.values():
                        book.clear_replayed()
                ts, event = self.cursor.pop()
                touched: dict[str, list] = {}
                self._apply_event(ts, event, touched)
                self._after_block(ts, touched)
                self.events_applied += 1
                reached = target
                self.processed_ms = max(self.processed_ms, target)
            self._flush_throttled(reached)
            return reached

    def _apply_block(self, block_ms: int) -> int:
        """Apply all events with twin time ``block_ms`` (one "block": bbo checked once at the end)."""
        touched: dict[str, list] = {}
        n = 0
        while self.cursor.peek_ms() == block_ms and not self.cursor.pending_reset:
            ts, event = self.cursor.pop()
            self._apply_event(ts, event, touched)
            n += 1
        self._after_block(block_ms, touched)
        self.events_applied += n
        self.processed_ms = max(self.processed_ms, block_ms)
        return n

    def _apply_event(self, ts: int, event: MarketEvent, touched: dict[str, list]) -> None:
        coin = event.coin
        book = self.books[coin]
        trades = touched.setdefault(coin, [])
        if isinstance(event, BookLevel):
            if event.clear:
                book.clear_replayed()
            else:
                book.set_level(event.side, event.px, event.sz)
            self._cross_check.add(coin)
        elif isinstance(event, BookSnapshot):
            book.apply_snapshot(list(event.bids), list(event.asks))
            self._cross_check.add(coin)
        elif isinstance(event, MarketTrade):
            self._fill_crossed(coin, ts, trades)  # the block's book updates come first (rule 5)
            side = event.side or book.classify_aggressor(event.px)
            maker_fills = book.on_market_trade(side, event.px, event.sz)
            for fill in maker_fills:
                self._book_maker_fill_from_market(fill.order, fill.px, fill.sz, ts)
            self._record_print(coin, side or "B", event.px, event.sz, ts, trades, users=(ZERO_ADDRESS, ZERO_ADDRESS))
        elif isinstance(event, FundingRate):
            self.current_funding_rate[coin] = event.hourly_rate
            self._pay_funding(coin, event.rate, ts)

    def _fill_crossed(self, coin: str, ts: int, trades: list) -> None:
        """Rule 5 of ``matching``: fill the twin orders the replayed book now crosses (maker, own price).

        Runs once per coin after the replayed book updates of a block (before the block's trades).
        Each fill is booked like a print-driven maker fill and printed on the trades feed with the
        crossing (replayed) side as aggressor.
        """
        if coin not in self._cross_check:
            return
        self._cross_check.discard(coin)
        for fill in self.books[coin].fill_crossed_orders():
            order = fill.order
            tid = self._new_tid()
            users = (order.owner, ZERO_ADDRESS) if order.side == BID else (ZERO_ADDRESS, order.owner)
            aggressor = ASK if order.side == BID else BID
            self._record_print(coin, aggressor, fill.px, fill.sz, ts, trades, users=users, tid=tid)
            self._book_maker_fill_from_market(order, fill.px, fill.sz, ts, tid=tid)

    def _after_block(self, ts: int, touched: dict[str, list]) -> None:
        for coin, trades in touched.items():
            self._fill_crossed(coin, ts, trades)
            if trades:
                self._emit(("trades", coin), trades)
                self._emit(("candle", coin), ts)
            self._coin_changed(coin, ts)

    def _record_print(
        self, coin: str, side: str, px: Decimal, sz: Decimal, ts: int, out: list, users: tuple, tid: int | None = None
    ) -> dict:
        """Record a print on the market (trades feed, candles, last price)."""
        tid = self._new_tid() if tid is None else tid
        trade = {
            "coin": coin,
            "side": side,
            "px": fmt_decimal(px),
            "sz": fmt_decimal(sz),
            "hash": ZERO_HASH,
            "time": ts,
            "tid": tid,
            "users": list(users),
        }
        self.candles[coin].add_trade(ts, px, sz)
        self.last_trade_px[coin] = px
        self.recent_trades[coin].append(trade)
        out.append(trade)
        return trade

    def _run_timers(self, now_ms: int) -> None:
        for account in list(self.accounts.values()):
            if account.schedule_cancel_ms is not None and account.schedule_cancel_ms <= now_ms:
                account.schedule_cancel_ms = None
                account.count_schedule_cancel_trigger(now_ms)
                orders = [o for o in self.open_orders.values() if o.owner == account.address]
                for order in orders:
                    self._cancel_order(order, "scheduledCancel", now_ms)
                if orders:
                    self._emit(("user", account.address), {"nonUserCancel": [{"coin": o.coin, "oid": o.oid} for o in orders]})
        if self.config.funding_rate_hourly and now_ms >= self.next_funding_ms:
            hour = self.next_funding_ms
            self.next_funding_ms = hour + HOUR_MS
            for spec in self.coins:
                if spec.name not in self.funding_series_coins:
                    self._pay_funding(spec.name, Decimal(self.config.funding_rate_hourly), hour)
        self.processed_ms = max(self.processed_ms, now_ms)

    def _pay_funding(self, coin: str, rate: Decimal, ts: int) -> None:
        oracle = self.mark_px(coin)
        self.funding_history[coin].append({"coin": coin, "fundingRate": fmt_decimal(rate), "premium": "0.0", "time": ts})
        if oracle is None:
            return
        for account in self.accounts.values():
            szi = account.szi(coin)
            if szi == 0:
                continue
            usdc = account.book_funding(coin, oracle, rate)
            record = {"time": ts, "coin": coin, "usdc": fmt_usd(usdc), "szi": fmt_decimal(szi), "fundingRate": fmt_decimal(rate)}
            account.fundings.append(
                {"time": ts, "hash": ZERO_HASH, "delta": {"type": "funding", "coin": coin, "usdc": record["usdc"],
                                                         "szi": record["szi"], "fundingRate": record["fundingRate"],
                                                         "nSamples": None}}
            )
            self._emit(("user", account.address), {"funding": {**record, "nSamples": None}})
            self._emit(("userFundings", account.address), [record])

    # ================================================================== prices
    def mark_px(self, coin: str) -> Decimal | None:
        """Mark = oracle in the twin: the replayed mid, else the last print."""
        mid = self.books[coin].replayed_mid()
        if mid is not None:
            return mid
        return self.last_trade_px.get(coin)

    def mid_px(self, coin: str) -> Decimal | None:
        book = self.books[coin]
        bid, ask = book.best(BID), book.best(ASK)
        if bid is not None and ask is not None and bid < ask:
            return (bid + ask) / 2
        return self.mark_px(coin)

    def all_mids(self) -> dict[str, str]:
        out = {}
        for spec in self.coins:
            mid = self.mid_px(spec.name)
            if mid is not None:
                out[spec.name] = fmt_decimal(mid)
        return out

    def _bbo_tuple(self, coin: str) -> tuple:
        book = self.books[coin]
        bids, asks = book.levels(BID), book.levels(ASK)
        return (bids[0] if bids else None, asks[0] if asks else None)

    # ================================================================== accounts
    def create_account(self, address: str, balance_usd: Decimal | float | str | None = None) -> Account:
        """Register (or top up to) an account with ``balance_usd`` USDC (default: the starting balance)."""
        if not is_address(address):
            raise ValueError(f"not an address: {address!r}")
        address = address.lower()
        balance = Decimal(str(balance_usd)) if balance_usd is not None else Decimal(self.config.starting_balance_usd)
        with self.lock:
            account = self.accounts.get(address)
            if account is None:
                account = self.accounts[address] = Account(address, balance, self.max_leverage)
            else:
                account.balance_usd = Decimal(balance)
            return account

    def register_sub_account(self, master: str, sub_account: str, balance_usd=None) -> Account:
        """Make ``sub_account`` a vault/sub-account that ``master`` (or its agents) may trade via ``vaultAddress``."""
        with self.lock:
            account = self.create_account(sub_account, balance_usd)
            account.owner = master.lower()
            return account

    def _signer_master(self, signer: str, now_ms: int) -> str | None:
        if signer in self.accounts:
            return signer
        return self.agents.master_of(signer, now_ms)

    # ================================================================== /info
    def handle_info(self, body: Any, client_ip: str = "127.0.0.1") -> tuple[int, Any]:
        """``POST /info``: ``(http_status, json body or str for 422)``."""
        with self.lock:
            try:
                if not isinstance(body, dict):
                    raise DeserializeError(f"invalid type: {json_type_name(body)}, expected internally tagged enum InfoRequest")
                kind = require_field(body, "type")
                if not isinstance(kind, str):
                    raise DeserializeError(f"invalid type: {json_type_name(kind)}, expected a string for `type`")
                if kind not in INFO_TYPES:
                    expected = ", ".join(f"`{t}`" for t in INFO_TYPES)
                    raise DeserializeError(f"unknown variant `{kind}`, expected one of {expected}")
                dex = body.get("dex")
                if dex not in (None, ""):
                    raise DeserializeError(f"invalid value: string \"{dex}\", the twin has only the default perp dex \"\"")
                if self._ip_limited(client_ip, info_weight(kind)):
                    return 429, None
                self.sync()
                result = getattr(self, "_info_" + kind)(body)
                n_items = len(result) if isinstance(result, list) else 0
                if n_items >= 20:
                    self.ip_limiter.add(client_ip, info_weight(kind, n_items) - info_weight(kind), time.monotonic())
                return 200, result
            except DeserializeError as exc:
                return 422, exc.http_text

    def _ip_limited(self, client_ip: str, weight: int) -> bool:
        total = self.ip_limiter.add(client_ip, weight, time.monotonic())
        return self.config.enforce_rate_limits and total > self.config.ip_weight_per_minute

    def meta(self) -> dict:
        return {
            "universe": [
                {"name": c.name, "szDecimals": c.sz_decimals, "maxLeverage": c.max_leverage, "marginTableId": c.max_leverage}
                for c in self.coins
            ],
            "marginTables": [
                [lev, {"description": "", "marginTiers": [{"lowerBound": "0.0", "maxLeverage": lev}]}]
                for lev in sorted({c.max_leverage for c in self.coins})
            ],
            "collateralToken": 0,
        }

    def _info_meta(self, body: dict) -> dict:
        return self.meta()

    def _info_metaAndAssetCtxs(self, body: dict) -> list:
        now = self.now_ms()
        return [self.meta(), [self.asset_ctx(c.name, now) for c in self.coins]]

    def _info_spotMeta(self, body: dict) -> dict:
        return {"universe": [], "tokens": []}

    def _info_perpDexs(self, body: dict) -> list:
        return [None]

    def _info_exchangeStatus(self, body: dict) -> dict:
        return {"time": self.now_ms(), "specialStatuses": None}

    def _info_allMids(self, body: dict) -> dict:
        return self.all_mids()

    def _coin_arg(self, body: dict, name: str = "coin") -> str | None:
        coin = require_str(body, name)
        return coin if coin in self.books else None

    def _info_l2Book(self, body: dict) -> dict | None:
        coin = self._coin_arg(body)
        n_sig = body.get("nSigFigs")
        mantissa = body.get("mantissa")
        if n_sig is not None and (not isinstance(n_sig, int) or isinstance(n_sig, bool) or not 2 <= n_sig <= 5):
            raise DeserializeError(f"invalid value: {json_type_name(n_sig)}, expected nSigFigs in 2..5 or null")
        if mantissa is not None and (mantissa not in (1, 2, 5) or n_sig != 5):
            raise DeserializeError(f"invalid value: {json_type_name(mantissa)}, mantissa must be 1, 2 or 5 and needs nSigFigs 5")
        if coin is None:
            return None
        return self.l2_book_wire(coin, self.now_ms(), n_sig, mantissa)

    def l2_book_wire(self, coin: str, now_ms: int, n_sig_figs: int | None = None, mantissa: int | None = None) -> dict:
        book = self.books[coin]
        levels = []
        for side in (BID, ASK):
            levels.append(
                [{"px": fmt_decimal(px), "sz": fmt_decimal(sz), "n": n} for px, sz, n in book.l2_levels(side, 20, n_sig_figs, mantissa)]
            )
        return {"coin": coin, "time": now_ms, "levels": levels}

    def bbo_wire(self, coin: str, now_ms: int) -> dict:
        best = self._bbo_tuple(coin)
        return {
            "coin": coin,
            "time": now_ms,
            "bbo": [None if lv is None else {"px": fmt_decimal(lv[0]), "sz": fmt_decimal(lv[1]), "n": lv[2]} for lv in best],
        }

    def _info_candleSnapshot(self, body: dict) -> list:
        req = require_field(body, "req")
        if not isinstance(req, dict):
            raise DeserializeError(f"invalid type: {json_type_name(req)}, expected struct CandleSnapshotReq for `req`")
        coin = require_str(req, "coin")
        interval = require_str(req, "interval")
        if interval not in INTERVALS:
            raise DeserializeError(f"unknown variant `{interval}`, expected one of {', '.join('`' + i + '`' for i in INTERVALS)}")
        start = require_int(req, "startTime")
        end = require_int(req, "endTime", optional=True, default=None)
        now = self.now_ms()
        end = now if end is None else min(end, now)
        if coin not in self.candles:
            return []
        return [c.to_wire(coin, interval) for c in self.candles[coin].candles(interval, start, end)]

    def candle_wire(self, coin: str, interval: str, now_ms: int) -> dict | None:
        with self.lock:
            candle = self.candles[coin].current(interval, now_ms)
            return candle.to_wire(coin, interval) if candle else None

    def asset_ctx(self, coin: str, now_ms: int) -> dict:
        mark = self.mark_px(coin)
        book = self.books[coin]
        bid, ask = book.best_replayed(BID), book.best_replayed(ASK)
        base_vlm, ntl_vlm, first_open = self.candles[coin].window_stats(now_ms - DAY_MS, now_ms)
        open_interest = sum((a.szi(coin) for a in self.accounts.values() if a.szi(coin) > 0), ZERO)
        rate = self.current_funding_rate.get(coin)
        if rate is None:
            rate = Decimal(self.config.funding_rate_hourly or 0)
        px_text = fmt_decimal(quantize_px(mark)) if mark is not None else None
        return {
            "funding": fmt_decimal(rate),
            "openInterest": fmt_decimal(open_interest),
            "prevDayPx": fmt_decimal(first_open) if first_open is not None else (px_text or "0.0"),
            "dayNtlVlm": fmt_decimal(quantize_px(ntl_vlm)),
            "premium": "0.0",
            "oraclePx": px_text,
            "markPx": px_text,
            "midPx": fmt_decimal(quantize_px((bid + ask) / 2)) if bid is not None and ask is not None else None,
            "impactPxs": [fmt_decimal(bid), fmt_decimal(ask)] if bid is not None and ask is not None else None,
            "dayBaseVlm": fmt_decimal(base_vlm),
        }

    def active_asset_ctx_wire(self, coin: str, now_ms: int) -> dict:
        return {"coin": coin, "ctx": self.asset_ctx(coin, now_ms)}

    def _marks(self) -> dict[str, Decimal | None]:
        return {c.name: self.mark_px(c.name) for c in self.coins}

    def clearinghouse_state(self, user: str) -> dict:
        now = self.now_ms()
        account = self.accounts.get(user.lower())
        zero_summary = {"accountValue": "0.0", "totalMarginUsed": "0.0", "totalNtlPos": "0.0", "totalRawUsd": "0.0"}
        if account is None:
            return {
                "assetPositions": [],
                "crossMaintenanceMarginUsed": "0.0",
                "crossMarginSummary": dict(zero_summary),
                "marginSummary": dict(zero_summary),
                "time": now,
                "withdrawable": "0.0",
            }
        marks = self._marks()
        account_value = account.account_value(marks)
        positions = []
        total_margin = ZERO
        total_ntl = ZERO
        signed_ntl = ZERO
        maintenance = ZERO
        for coin, pos in account.positions.items():
            if pos.szi == 0:
                continue
            mark = marks.get(coin) or pos.entry_px
            lev = account.leverage_for(coin)
            value = abs(pos.szi) * mark
            margin = value / lev.value
            upnl = pos.szi * (mark - pos.entry_px)
            max_lev = self.max_leverage.get(coin, 10)
            liq = liquidation_px(pos.szi, mark, account_value, max_lev)
            total_margin += margin
            total_ntl += value
            signed_ntl += pos.szi * mark
            maintenance += value / (2 * max_lev)
            leverage = {"type": "cross" if lev.is_cross else "isolated", "value": lev.value}
            if not lev.is_cross:
                leverage["rawUsd"] = fmt_usd(margin - pos.szi * mark)
            entry_margin = abs(pos.szi) * pos.entry_px / lev.value
            positions.append(
                {
                    "type": "oneWay",
                    "position": {
                        "coin": coin,
                        "szi": fmt_decimal(pos.szi),
                        "entryPx": fmt_decimal(quantize_px(pos.entry_px)),
                        "leverage": leverage,
                        "liquidationPx": fmt_decimal(quantize_px(liq)) if liq is not None else None,
                        "marginUsed": fmt_usd(margin),
                        "maxLeverage": max_lev,
                        "positionValue": fmt_usd(value),
                        "returnOnEquity": fmt_decimal(quantize_px(upnl / entry_margin)) if entry_margin else "0.0",
                        "unrealizedPnl": fmt_usd(upnl),
                        "cumFunding": {
                            "allTime": fmt_usd(pos.cum_funding_all_time),
                            "sinceChange": fmt_usd(pos.cum_funding_since_change),
                            "sinceOpen": fmt_usd(pos.cum_funding_since_open),
                        },
                    },
                }
            )
        summary = {
            "accountValue": fmt_usd(account_value),
            "totalMarginUsed": fmt_usd(total_margin),
            "totalNtlPos": fmt_usd(total_ntl),
            "totalRawUsd": fmt_usd(account_value - signed_ntl),
        }
        return {
            "assetPositions": positions,
            "crossMaintenanceMarginUsed": fmt_usd(maintenance),
            "crossMarginSummary": dict(summary),
            "marginSummary": dict(summary),
            "time": now,
            "withdrawable": fmt_usd(max(ZERO, account_value - total_margin)),
        }

    def _info_clearinghouseState(self, body: dict) -> dict:
        return self.clearinghouse_state(require_address(body))

    def order_wire(self, order: TwinOrder, frontend: bool = False) -> dict:
        out = {
            "coin": order.coin,
            "side": order.side,
            "limitPx": fmt_decimal(order.limit_px),
            "sz": fmt_decimal(order.sz),
            "oid": order.oid,
            "timestamp": order.timestamp_ms,
            "origSz": fmt_decimal(order.orig_sz),
        }
        if frontend:
            out.update(
                {
                    "orderType": "Limit",
                    "tif": order.tif,
                    "reduceOnly": order.reduce_only,
                    "isTrigger": False,
                    "triggerPx": "0.0",
                    "triggerCondition": "N/A",
                    "isPositionTpsl": False,
                    "children": [],
                    "cloid": order.cloid,
                }
            )
        else:
            if order.cloid:
                out["cloid"] = order.cloid
            if order.reduce_only:
                out["reduceOnly"] = True
        return out

    def open_orders_of(self, user: str) -> list[TwinOrder]:
        """Open orders of ``user``, newest first."""
        user = user.lower()
        with self.lock:
            return sorted((o for o in self.open_orders.values() if o.owner == user), key=lambda o: -o.seq)

    def _info_openOrders(self, body: dict) -> list:
        return [self.order_wire(o) for o in self.open_orders_of(require_address(body))]

    def _info_frontendOpenOrders(self, body: dict) -> list:
        return [self.order_wire(o, frontend=True) for o in self.open_orders_of(require_address(body))]

    def find_order(self, user: str, oid_or_cloid: int | str) -> TwinOrder | None:
        user = user.lower()
        if isinstance(oid_or_cloid, int):
            order = self.orders.get(oid_or_cloid)
            return order if order is not None and order.owner == user else None
        return self.cloid_index.get((user, oid_or_cloid.lower()))

    def _info_orderStatus(self, body: dict) -> dict:
        user = require_address(body)
        ref = parse_oid_or_cloid(require_field(body, "oid"))
        order = self.find_order(user, ref)
        if order is None:
            return {"status": "unknownOid"}
        return {"status": "order", "order": {"order": self.order_wire(order, frontend=True), "status": order.status,
                                             "statusTimestamp": order.status_ts_ms}}

    def _info_historicalOrders(self, body: dict) -> list:
        user = require_address(body)
        orders = sorted((o for o in self.orders.values() if o.owner == user), key=lambda o: -o.seq)[:2000]
        return [{"order": self.order_wire(o, frontend=True), "status": o.status, "statusTimestamp": o.status_ts_ms} for o in orders]

    def fills_of(self, user: str) -> list[dict]:
        account = self.accounts.get(user.lower())
        return list(account.fills) if account else []

    def _info_userFills(self, body: dict) -> list:
        return list(reversed(self.fills_of(require_address(body))))[:2000]

    def _info_userFillsByTime(self, body: dict) -> list:
        user = require_address(body)
        start = require_int(body, "startTime")
        end = require_int(body, "endTime", optional=True, default=None)
        end = self.now_ms() if end is None else end
        fills = [f for f in self.fills_of(user) if start <= f["time"] <= end]
        return list(reversed(fills))[:2000]

    def _info_fundingHistory(self, body: dict) -> list | None:
        coin = require_str(body, "coin")
        start = require_int(body, "startTime")
        end = require_int(body, "endTime", optional=True, default=None)
        end = self.now_ms() if end is None else end
        if coin not in self.funding_history:
            return []
        return [r for r in self.funding_history[coin] if start <= r["time"] <= end][:500]

    def _info_userFunding(self, body: dict) -> list:
        user = require_address(body)
        start = require_int(body, "startTime")
        end = require_int(body, "endTime", optional=True, default=None)
        end = self.now_ms() if end is None else end
        account = self.accounts.get(user)
        if account is None:
            return []
        return [r for r in account.fundings if start <= r["time"] <= end][:500]

    def user_rate_limit(self, user: str) -> dict:
        account = self.accounts.get(user.lower())
        if account is None:
            return {"cumVlm": "0.0", "nRequestsUsed": 0, "nRequestsCap": 10_000, "nRequestsSurplus": 0}
        return {
            "cumVlm": fmt_usd(account.cum_volume_usd),
            "nRequestsUsed": account.n_requests_used,
            "nRequestsCap": address_request_cap(account),
            "nRequestsSurplus": 0,
        }

    def _info_userRateLimit(self, body: dict) -> dict:
        return self.user_rate_limit(require_address(body))

    def _info_userFees(self, body: dict) -> dict:
        user = require_address(body)
        fees = self.config.fees
        account = self.accounts.get(user)
        return {
            "dailyUserVlm": [],
            "feeSchedule": {"cross": fmt_decimal(fees.taker_rate), "add": fmt_decimal(fees.maker_rate), "tiers": {}, "referralDiscount": "0.0"},
            "userCrossRate": fmt_decimal(fees.taker_rate),
            "userAddRate": fmt_decimal(fees.maker_rate),
            "activeReferralDiscount": "0.0",
            "cumVlm": fmt_usd(account.cum_volume_usd) if account else "0.0",
        }

    def _info_extraAgents(self, body: dict) -> list:
        user = require_address(body)
        return [
            {"name": a.name, "address": a.address, "validUntil": a.valid_until_ms}
            for a in self.agents.agents_of(user)
            if a.name
        ]

    # ================================================================== /exchange
    def handle_exchange(self, body: Any, client_ip: str = "127.0.0.1") -> tuple[int, Any]:
        """``POST /exchange``: ``(http_status, json body or str for 422)``."""
        with self.lock:
            try:
                envelope = self._parse_envelope(body)
            except DeserializeError as exc:
                return 422, exc.http_text
            action = envelope["action"]
            if self._ip_limited(client_ip, exchange_weight(self._batch_length(action))):
                return 429, None
            self.sync()
            try:
                return 200, self._execute(envelope)
            except ExchangeError as exc:
                return 200, _err(exc.text)

    @staticmethod
    def _batch_length(action: dict) -> int:
        for key in ("orders", "cancels", "modifies"):
            if isinstance(action.get(key), list):
                return max(1, len(action[key]))
        return 1

    def _parse_envelope(self, body: Any) -> dict:
        if not isinstance(body, dict):
            raise DeserializeError(f"invalid type: {json_type_name(body)}, expected struct ExchangeRequest")
        action = require_field(body, "action")
        if not isinstance(action, dict):
            raise DeserializeError(f"invalid type: {json_type_name(action)}, expected internally tagged enum Action")
        kind = require_field(action, "type")
        if not isinstance(kind, str):
            raise DeserializeError(f"invalid type: {json_type_name(kind)}, expected a string for `type`")
        known = L1_ACTIONS + USER_SIGNED_ACTIONS + UNSUPPORTED_ACTIONS
        if kind not in known:
            raise DeserializeError(f"unknown variant `{kind}`, expected one of {', '.join('`' + k + '`' for k in known)}")
        nonce = require_int(body, "nonce")
        signature = require_field(body, "signature")
        if not isinstance(signature, dict) or not all(k in signature for k in ("r", "s", "v")):
            raise DeserializeError("invalid value for `signature`, expected struct Signature { r, s, v }")
        vault = body.get("vaultAddress")
        if vault is not None and not is_address(vault):
            raise DeserializeError(f"invalid value: {json_type_name(vault)}, expected an address for `vaultAddress`")
        expires_after = require_int(body, "expiresAfter", optional=True, default=None)
        parsed = self._parse_action(kind, action)
        return {
            "action": action,
            "kind": kind,
            "parsed": parsed,
            "nonce": nonce,
            "signature": signature,
            "vault": vault.lower() if vault else None,
            "vault_raw": vault,
            "expires_after": expires_after,
        }

    def _parse_action(self, kind: str, action: dict) -> Any:
        """Typed content of the action (raises DeserializeError like the venue's 422)."""
        if kind == "order":
            orders = [parse_order_wire(o) for o in parse_list(action, "orders")]
            grouping = action.get("grouping", "na")
            if not (grouping in ("na", "normalTpsl", "positionTpsl") or (isinstance(grouping, dict) and "p" in grouping)):
                raise DeserializeError(f"unknown variant for `grouping`: {json_type_name(grouping)}")
            return {"orders": orders, "grouping": grouping}
        if kind == "cancel":
            out = []
            for c in parse_list(action, "cancels"):
                if not isinstance(c, dict):
                    raise DeserializeError("invalid type for cancel, expected struct Cancel { a, o }")
                out.append((require_int(c, "a"), require_int(c, "o")))
            return out
        if kind == "cancelByCloid":
            out = []
            for c in parse_list(action, "cancels"):
                if not isinstance(c, dict):
                    raise DeserializeError("invalid type for cancel, expected struct CancelByCloid { asset, cloid }")
                cloid = parse_oid_or_cloid(require_field(c, "cloid"), "cloid")
                if not isinstance(cloid, str):
                    raise DeserializeError("invalid value for `cloid`, expected a 16-byte hex string")
                out.append((require_int(c, "asset"), cloid))
            return out
        if kind == "modify":
            return [(parse_oid_or_cloid(require_field(action, "oid")), parse_order_wire(require_field(action, "order")),
                     action.get("a") is True)]
        if kind == "batchModify":
            out = []
            for m in parse_list(action, "modifies"):
                if not isinstance(m, dict):
                    raise DeserializeError("invalid type for modify, expected struct Modify { oid, order }")
                out.append((parse_oid_or_cloid(require_field(m, "oid")), parse_order_wire(require_field(m, "order")),
                            m.get("a") is True))
            return out
        if kind == "scheduleCancel":
            return require_int(action, "time", optional=True, default=None)
        if kind == "updateLeverage":
            asset = require_int(action, "asset")
            is_cross = require_bool(action, "isCross")
            leverage = require_field(action, "leverage")
            if isinstance(leverage, bool) or not isinstance(leverage, int):
                raise DeserializeError(f"invalid type: {json_type_name(leverage)}, expected u32 for `leverage`")
            return (asset, is_cross, leverage)
        if kind == "reserveRequestWeight":
            return require_int(action, "weight")
        if kind == "approveAgent":
            agent = require_str(action, "agentAddress")
            if not is_address(agent):
                raise DeserializeError(f"invalid value: string \"{agent}\", expected an address for `agentAddress`")
            require_int(action, "nonce")
            require_str(action, "signatureChainId")
            require_str(action, "hyperliquidChain")
            name = action.get("agentName", "")
            if name is not None and not isinstance(name, str):
                raise DeserializeError("invalid type for `agentName`, expected a string")
            return {"agent": agent.lower(), "name": name or ""}
        return None

    def _execute(self, env: dict) -> dict:
        kind = env["kind"]
        if kind in UNSUPPORTED_ACTIONS:
            raise ExchangeError(f"Action type {kind} is not supported by the twin.")
        now = self.now_ms()
        nonce_now = self.nonce_now_ms()
        user_signed = kind in USER_SIGNED_ACTIONS
        try:
            if user_signed:
                signer = signing.recover_user_signed_signer(env["action"], env["signature"])
            else:
                signer = signing.recover_l1_signer(
                    env["action"], env["signature"], env["nonce"], env["vault_raw"], env["expires_after"],
                    source=self.config.signature_source, strict_key_order=self.config.strict_key_order,
                )
        except signing.SignatureError:
            raise ExchangeError("Unable to recover signer.") from None

        if user_signed:
            if env["expires_after"] is not None:
                raise ExchangeError("expiresAfter is not allowed on user-signed actions.")
            if env["action"].get("nonce") != env["nonce"]:
                raise ExchangeError("Invalid nonce: the action nonce must equal the request nonce.")
            if env["action"].get("hyperliquidChain") != self.config.hyperliquid_chain:
                raise ExchangeError(
                    f"Invalid hyperliquidChain {env['action'].get('hyperliquidChain')!r}; the twin expects {self.config.hyperliquid_chain!r}."
                )
            if signer not in self.accounts:
                if self.config.auto_create_accounts and self.agents.master_of(signer, now) is None:
                    self.create_account(signer)
                else:
                    raise ExchangeError(f"Must deposit before performing actions. User: {signer}")
            master = signer
            account = self.accounts[master]
        else:
            master = self._signer_master(signer, now)
            if master is None and self.config.auto_create_accounts and signer not in self.agents.by_address:
                self.create_account(signer)
                master = signer
            if master is None:
                raise ExchangeError(f"User or API Wallet {signer} does not exist.")
            account = self.accounts[master]
            if env["vault"] is not None and env["vault"] != master:
                vault_account = self.accounts.get(env["vault"])
                if vault_account is None and self.config.auto_register_vaults:
                    vault_account = self.register_sub_account(master, env["vault"])
                if vault_account is None or vault_account.owner != master:
                    raise ExchangeError("Vault not registered")
                account = vault_account

        if env["expires_after"] is not None and env["expires_after"] < nonce_now:
            account.n_requests_used += 5 * self._batch_length(env["action"])
            raise ExchangeError(f"Action expired: expiresAfter {env['expires_after']} < current time {nonce_now}")
        try:
            self.nonces.check(signer, env["nonce"], nonce_now)
        except NonceError as exc:
            raise ExchangeError(str(exc)) from None
        self._check_address_budget(account, self._batch_length(env["action"]), now)
        self.nonces.use(signer, env["nonce"])
        handler = getattr(self, "_action_" + kind)
        result = handler(account, env["parsed"], now)
        self._flush_throttled(now)
        return result

    def _check_address_budget(self, account: Account, n: int, now_ms: int) -> None:
        cap = address_request_cap(account)
        used_after = account.n_requests_used + n
        if self.config.enforce_rate_limits and used_after > cap:
            last = account.last_over_budget_request_ms
            if last is not None and now_ms - last < 10_000:
                raise ExchangeError(
                    f"Too many cumulative requests sent ({used_after} > {cap}) for cumulative volume traded "
                    f"${account.cum_volume_usd.quantize(Decimal('0.01'))}."
                )
            account.last_over_budget_request_ms = now_ms
        account.n_requests_used = used_after

    # ------------------------------------------------------------------ orders
    def _new_oid(self) -> int:
        self._next_oid += 1
        return self._next_oid

    def _new_tid(self) -> int:
        self._next_tid += 1
        return self._next_tid

    def _action_order(self, account: Account, parsed: dict, now: int) -> dict:
        if parsed["grouping"] in ("normalTpsl", "positionTpsl"):
            raise ExchangeError("Only grouping \"na\" is supported by the twin (no TP/SL orders).")
        statuses = [self._place(account, wire, now) for wire in parsed["orders"]]
        return _ok("order", statuses)

    def _order_error(self, asset: int, text: str) -> dict:
        return {"error": f"{text} asset={asset}"}

    def _validate_new_order(self, account: Account, wire: OrderWire) -> tuple[str, Decimal, Decimal] | dict:
        """``(coin, px, sz)`` or an error status (checks in the venue's order: shape, tick, value, RO)."""
        asset = wire.asset
        if not 0 <= asset < len(self.coins):
            return {"error": f"Invalid asset. asset={asset}"}
        spec = self.coins[asset]
        if wire.is_trigger:
            return self._order_error(asset, "Trigger orders are not supported by the twin.")
        sz = to_decimal(wire.size_text)
        if sz is None or sz < 0 or decimal_places(sz) > spec.sz_decimals:
            return self._order_error(asset, "Order has invalid size.")
        if sz == 0:
            return self._order_error(asset, "Order has zero size.")
        px = to_decimal(wire.price_text)
        if px is None or px <= 0:
            return self._order_error(asset, "Order has invalid price.")
        if not hl_rules.is_valid_price(px, spec.sz_decimals):
            return self._order_error(asset, "Price must be divisible by tick size.")
        exempt = wire.reduce_only and self.config.min_value_exempt_reduce_only
        if not exempt and px * sz < Decimal(self.config.min_order_value_usd):
            return self._order_error(asset, f"Order must have minimum value of ${fmt_plain(Decimal(self.config.min_order_value_usd))}.")
        if wire.reduce_only:
            szi = account.szi(spec.name)
            if szi == 0 or (szi > 0) == wire.is_buy:
                return self._order_error(asset, "Reduce only order would increase position.")
        if sum(1 for o in self.open_orders.values() if o.owner == account.address) >= self.config.max_open_orders:
            return self._order_error(asset, f"Too many open orders (max {self.config.max_open_orders}).")
        return spec.name, px, sz

    def _margin_ok(self, account: Account, coin: str, side: str, px: Decimal, sz: Decimal) -> bool:
        marks = self._marks()
        open_by_coin: dict[str, list[Decimal]] = {}
        for o in self.open_orders.values():
            if o.owner == account.address and not o.reduce_only:
                entry = open_by_coin.setdefault(o.coin, [ZERO, ZERO])
                entry[0 if o.side == BID else 1] += o.sz
        before = ZERO
        after = ZERO
        coins = set(open_by_coin) | {c for c, p in account.positions.items() if p.szi != 0} | {coin}
        for c in coins:
            buys, sells = open_by_coin.get(c, [ZERO, ZERO])
            req = account.margin_required(c, marks.get(c), buys, sells, fallback_px=px if c == coin else None)
            before += req
            if c == coin:
                buys, sells = (buys + sz, sells) if side == BID else (buys, sells + sz)
                req = account.margin_required(c, marks.get(c), buys, sells, fallback_px=px)
            after += req
        return after <= before or after <= account.account_value(marks)

    def _place(self, account: Account, wire: OrderWire, now: int, modify_mode: bool = False) -> dict:
        """Validate, match and/or rest one order; returns its status entry."""
        injected = self.faults.take_order_rejection()
        if injected is not None:
            return {"error": injected if "asset=" in injected else f"{injected} asset={wire.asset}"}
        checked = self._validate_new_order(account, wire)
        if isinstance(checked, dict):
            return checked
        coin, px, sz = checked
        asset = wire.asset
        book = self.books[coin]
        side = wire.side
        post_only = wire.tif == "Alo" or modify_mode
        if modify_mode and wire.tif in ("Ioc", "FrontendMarket"):
            return {"error": "Attempted to modify to invalid new order"}
        if post_only and book.would_cross(side, px):
            bid, ask = book.best(BID), book.best(ASK)
            return self._order_error(
                asset,
                f"Post only order would have immediately matched, bbo was {fmt_plain(bid) if bid is not None else '0'}"
                f"@{fmt_plain(ask) if ask is not None else '0'}.",
            )
        is_ioc = wire.tif in ("Ioc", "FrontendMarket")
        if is_ioc and not book.would_cross(side, px):
            return self._order_error(asset, "Order could not immediately match against any resting orders.")
        if not wire.reduce_only and not self._margin_ok(account, coin, side, px, sz):
            return self._order_error(asset, "Insufficient margin to place order.")

        self._next_seq += 1
        order = TwinOrder(
            oid=self._new_oid(), owner=account.address, coin=coin, asset=asset, side=side, limit_px=px, orig_sz=sz,
            sz=sz, tif=wire.tif or "Gtc", reduce_only=wire.reduce_only, cloid=wire.cloid, timestamp_ms=now,
            seq=self._next_seq, status="open", status_ts_ms=now,
        )
        self.orders[order.oid] = order
        if order.cloid:
            self.cloid_index[(account.address, order.cloid)] = order

        if not post_only:
            max_take = sz
            if wire.reduce_only:
                max_take = min(sz, abs(account.szi(coin)))
            self._take(account, order, max_take, now)

        if order.sz > 0 and not is_ioc:
            book.add_resting(order)
            self.open_orders[order.oid] = order
            self._order_update(order, "open", now)
            self._coin_changed(coin, now)
            status: dict = {"resting": {"oid": order.oid}}
            if order.cloid:
                status["resting"]["cloid"] = order.cloid
            return status
        if order.sz > 0:  # IOC remainder
            self._set_status(order, "canceled", now)
            self._order_update(order, "canceled", now)
        self._coin_changed(coin, now)
        if order.filled_sz == 0:
            return self._order_error(asset, "Order could not immediately match against any resting orders.")
        status = {"filled": {"totalSz": fmt_decimal(order.filled_sz),
                             "avgPx": fmt_decimal(quantize_px(order.filled_notional / order.filled_sz)), "oid": order.oid}}
        if order.cloid:
            status["filled"]["cloid"] = order.cloid
        return status

    def _take(self, account: Account, order: TwinOrder, max_take: Decimal, now: int) -> None:
        """Match a crossing twin order against the book and book all resulting fills."""
        book = self.books[order.coin]
        result = book.take(order.side, order.limit_px, max_take, account.address)
        for canceled in result.self_trade_canceled:
            self.open_orders.pop(canceled.oid, None)
            self._set_status(canceled, "selfTradeCanceled", now)
            self._order_update(canceled, "selfTradeCanceled", now)
            self._emit(("user", canceled.owner), {"nonUserCancel": [{"coin": canceled.coin, "oid": canceled.oid}]})
        taker_fills: list[dict] = []
        trades: list[dict] = []
        touched_accounts: set[str] = {account.address}
        for take in result.takes:
            order.record_fill(take.px, take.sz)
            tid = self._new_tid()
            maker_owner = take.maker.owner if take.maker is not None else ZERO_ADDRESS
            buyer, seller = (account.address, maker_owner) if order.side == BID else (maker_owner, account.address)
            self._record_print(order.coin, order.side, take.px, take.sz, now, trades, users=(buyer, seller), tid=tid)
            taker_fills.append(self._book_fill(account, order, take.px, take.sz, True, now, tid))
            if take.maker is not None:
                maker = take.maker
                maker_account = self.accounts[maker.owner]
                fill = self._book_fill(maker_account, maker, take.px, take.sz, False, now, tid)
                self._publish_fills(maker_account.address, [fill])
                if maker.sz <= 0:
                    self.open_orders.pop(maker.oid, None)
                    self._set_status(maker, "filled", now)
                    self._order_update(maker, "filled", now)
                else:
                    self._order_update(maker, "open", now)
                touched_accounts.add(maker.owner)
        if taker_fills:
            self._publish_fills(account.address, taker_fills)
        if order.sz <= 0:
            self._set_status(order, "filled", now)
            self._order_update(order, "filled", now)
        if trades:
            self._emit(("trades", order.coin), trades)
            self._emit(("candle", order.coin), now)
        for address in touched_accounts:
            self._reduce_only_housekeeping(self.accounts[address], order.coin, now)

    def _book_fill(self, account: Account, order: TwinOrder, px: Decimal, sz: Decimal, is_taker: bool, now: int, tid: int) -> dict:
        rate = self.config.fees.rate(order.coin, is_taker)
        booking = account.book_fill(order.coin, order.side == BID, px, sz, rate)
        fill = {
            "coin": order.coin,
            "px": fmt_decimal(px),
            "sz": fmt_decimal(sz),
            "side": order.side,
            "time": now,
            "startPosition": fmt_decimal(booking.start_position),
            "dir": booking.direction,
            "closedPnl": fmt_usd(booking.closed_pnl),
            "hash": ZERO_HASH,
            "oid": order.oid,
            "crossed": is_taker,
            "fee": fmt_usd(booking.fee),
            "tid": tid,
            "feeToken": "USDC",
        }
        if order.cloid:
            fill["cloid"] = order.cloid
        account.fills.append(fill)
        return fill

    def _book_maker_fill_from_market(self, order: TwinOrder, px: Decimal, sz: Decimal, now: int, tid: int | None = None) -> None:
        """A replayed print or crossing book filled a resting twin order (the book already reduced its size)."""
        account = self.accounts[order.owner]
        fill = self._book_fill(account, order, px, sz, False, now, self._new_tid() if tid is None else tid)
        self._publish_fills(account.address, [fill])
        if order.sz <= 0:
            self.open_orders.pop(order.oid, None)
            self._set_status(order, "filled", now)
            self._order_update(order, "filled", now)
        else:
            self._order_update(order, "open", now)
        self._reduce_only_housekeeping(account, order.coin, now)

    def _publish_fills(self, user: str, fills: list[dict]) -> None:
        self._emit(("userFills", user), fills)
        self._emit(("user", user), {"fills": fills})

    def _reduce_only_housekeeping(self, account: Account, coin: str, now: int) -> None:
        """Cancel reduce-only orders that would now increase the position (``reduceOnlyCanceled``)."""
        szi = account.szi(coin)
        for order in [o for o in self.open_orders.values() if o.owner == account.address and o.coin == coin and o.reduce_only]:
            if szi == 0 or (szi > 0) == (order.side == BID):
                self._cancel_order(order, "reduceOnlyCanceled", now)
                self._emit(("user", account.address), {"nonUserCancel": [{"coin": order.coin, "oid": order.oid}]})

    def _set_status(self, order: TwinOrder, status: str, now: int) -> None:
        order.status = status
        order.status_ts_ms = now

    def _order_update(self, order: TwinOrder, status: str, now: int) -> None:
        wire = {
            "coin": order.coin,
            "side": order.side,
            "limitPx": fmt_decimal(order.limit_px),
            "sz": fmt_decimal(max(order.sz, ZERO)),
            "oid": order.oid,
            "timestamp": order.timestamp_ms,
            "origSz": fmt_decimal(order.orig_sz),
        }
        if order.cloid:
            wire["cloid"] = order.cloid
        self._emit(("orderUpdates", order.owner), [{"order": wire, "status": status, "statusTimestamp": now}])

    def _cancel_order(self, order: TwinOrder, status: str, now: int) -> None:
        self.books[order.coin].remove_resting(order)
        self.open_orders.pop(order.oid, None)
        self._set_status(order, status, now)
        self._order_update(order, status, now)
        self._coin_changed(order.coin, now)

    # ------------------------------------------------------------------ cancels and modifies
    def _action_cancel(self, account: Account, parsed: list, now: int) -> dict:
        statuses = []
        for asset, oid in parsed:
            order = self.open_orders.get(oid)
            if order is None or order.owner != account.address or order.asset != asset:
                statuses.append({"error": f"Order was never placed, already canceled, or filled. asset={asset}"})
                continue
            self._cancel_order(order, "canceled", now)
            statuses.append("success")
        return _ok("cancel", statuses)

    def _action_cancelByCloid(self, account: Account, parsed: list, now: int) -> dict:
        statuses = []
        for asset, cloid in parsed:
            order = self.cloid_index.get((account.address, cloid))
            if order is None or not order.is_open or order.asset != asset:
                statuses.append({"error": f"Order was never placed, already canceled, or filled. asset={asset}"})
                continue
            self._cancel_order(order, "canceled", now)
            statuses.append("success")
        return _ok("cancel", statuses)

    def _modify_one(self, account: Account, ref: int | str, wire: OrderWire, now: int, always_place: bool = False) -> dict:
        """Cancel the old order and place the replacement (new oid). Without ``always_place`` (the
        optional ``"a": true`` flag) the replacement is post-only: it never takes liquidity."""
        order = self.find_order(account.address, ref)
        if order is None or not order.is_open:
            return {"error": "Cannot modify canceled or filled order"}
        if wire.is_trigger or wire.asset != order.asset:
            return {"error": "Attempted to modify to invalid new order"}
        self._cancel_order(order, "canceled", now)
        status = self._place(account, wire, now, modify_mode=not always_place)
        if "error" in status:
            return {"error": f"Error placing new order during modify: {status['error']}"}
        return status

    def _action_batchModify(self, account: Account, parsed: list, now: int) -> dict:
        return _ok("order", [self._modify_one(account, ref, wire, now, always) for ref, wire, always in parsed])

    def _action_modify(self, account: Account, parsed: list, now: int) -> dict:
        ref, wire, always = parsed[0]
        status = self._modify_one(account, ref, wire, now, always)
        if "error" in status:
            raise ExchangeError(status["error"])
        return _ok_default()

    # ------------------------------------------------------------------ other actions
    def _action_scheduleCancel(self, account: Account, deadline_ms: int | None, now: int) -> dict:
        gate = Decimal(self.config.schedule_cancel_min_volume_usd)
        if gate > 0 and account.cum_volume_usd < gate:
            raise ExchangeError(
                f"Cannot set scheduled cancel time until enough volume traded. Required: ${fmt_plain(gate)}. "
                f"Traded: ${fmt_plain(account.cum_volume_usd)}."
            )
        if deadline_ms is None:
            account.schedule_cancel_ms = None
            return _ok_default()
        if deadline_ms < now + self.config.schedule_cancel_min_delay_ms:
            raise ExchangeError("Scheduled cancel time too early, must be at least 5 seconds after current time.")
        if account.schedule_cancel_triggers_on(now) >= self.config.schedule_cancel_max_triggers_per_day:
            raise ExchangeError(
                f"Too many scheduled cancel triggers today (max {self.config.schedule_cancel_max_triggers_per_day} per day)."
            )
        account.schedule_cancel_ms = deadline_ms
        return _ok_default()

    def _action_updateLeverage(self, account: Account, parsed: tuple, now: int) -> dict:
        asset, is_cross, leverage = parsed
        if not 0 <= asset < len(self.coins):
            raise ExchangeError(f"Invalid asset: {asset}")
        coin = self.coins[asset].name
        if not 1 <= leverage <= self.max_leverage[coin]:
            raise ExchangeError("Invalid leverage value")
        current = account.leverage_for(coin)
        if current.is_cross != is_cross and account.szi(coin) != 0:
            raise ExchangeError("Cannot switch leverage type with open position.")
        current.is_cross = is_cross
        current.value = leverage
        return _ok_default()

    def _action_updateIsolatedMargin(self, account: Account, parsed: Any, now: int) -> dict:
        return _ok_default()  # accepted; the twin does not keep isolated margin apart

    def _action_noop(self, account: Account, parsed: Any, now: int) -> dict:
        return _ok_default()

    def _action_reserveRequestWeight(self, account: Account, weight: int, now: int) -> dict:
        cost = Decimal(weight) * Decimal("0.0005")
        if cost > account.balance_usd:
            raise ExchangeError("Insufficient balance to reserve request weight.")
        account.balance_usd -= cost
        account.extra_request_weight += weight
        return _ok_default()

    def _action_approveAgent(self, account: Account, parsed: dict, now: int) -> dict:
        if parsed["agent"] in self.accounts:
            raise ExchangeError("Cannot approve an existing user as an agent.")
        error = self.agents.approve(account.address, parsed["agent"], parsed["name"])
        if error:
            raise ExchangeError(error)
        return _ok_default()

    # ================================================================== snapshots for the WS hub
    def user_fills_snapshot(self, user: str) -> list[dict]:
        with self.lock:
            return list(reversed(self.fills_of(user)))[:2000]

    def user_fundings_snapshot(self, user: str) -> list[dict]:
        with self.lock:
            account = self.accounts.get(user.lower())
            if account is None:
                return []
            return [{"time": r["time"], **{k: r["delta"][k] for k in ("coin", "usdc", "szi", "fundingRate")}} for r in account.fundings]

    def recent_trades_snapshot(self, coin: str) -> list[dict]:
        with self.lock:
            return list(self.recent_trades.get(coin, []))
