"""What the twin exchange knows: market, accounts, orders, id counters, the lock and the event outlet.

One :class:`TwinState` is shared by the parts of the exchange (``feed``, ``trading``, ``timeline``,
``info``, ``auth``, ``actions``); none of them keeps exchange state of its own apart from the
feed's push throttling and the timeline's rule-5 bookkeeping. ``lock`` (re-entrant) guards all of
it: request handlers and the replay hold it while they read or change anything.

Events leave through :meth:`TwinState.emit` as ``publisher(seq, key, payload)``; ``seq`` grows by
one per event (also while no publisher is attached), so a WebSocket subscription snapshot taken
under the lock can record ``emit_seq`` and skip the events it already holds.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from decimal import Decimal
from typing import Any
from typing import Callable

from .accounts import Account
from .accounts import AgentRegistry
from .accounts import IpWeightLimiter
from .accounts import NonceTracker
from .candles import CandleStore
from .clock import TwinClock
from .clock import wall_ms
from .faults import FaultInjector
from .matching import ASK
from .matching import BID
from .matching import CoinBook
from .matching import TwinOrder
from .replay import CoinSpec
from .replay import EventTable
from .replay import MarketData
from .replay import ReplayCursor
from .settings import TwinConfig
from .wire import ZERO_HASH
from .wire import fmt_decimal
from .wire import is_address

HOUR_MS = 3_600_000

Publisher = Callable[[int, tuple, Any], None]  # (sequence number, key, payload)


class TwinState:
    """Market (books, candles, prints, funding), accounts, orders and the counters of one twin exchange."""

    def __init__(
        self,
        market: MarketData,
        config: TwinConfig,
        clock: TwinClock,
        rebase_to_ms: int | None,
        faults: FaultInjector,
    ) -> None:
        self.config = config
        self.clock = clock
        self.faults = faults
        self.lock = threading.RLock()
        self.publisher: Publisher | None = None
        self.emit_seq = 0  # sequence number of the last emitted event (snapshots record it)

        # ---- market
        self.coins: list[CoinSpec] = list(market.coins)
        if not self.coins:
            raise ValueError("the twin needs at least one coin")
        self.spec_of: dict[str, CoinSpec] = {c.name: c for c in self.coins}
        self.max_leverage = {c.name: c.max_leverage for c in self.coins}
        self.books: dict[str, CoinBook] = {c.name: CoinBook(c.name) for c in self.coins}
        self.candles: dict[str, CandleStore] = {c.name: CandleStore() for c in self.coins}
        self.last_trade_px: dict[str, Decimal] = {}
        self.recent_trades: dict[str, deque] = {c.name: deque(maxlen=config.recent_trades_kept) for c in self.coins}

        events = market.sorted_events()
        if not isinstance(events, EventTable):  # a catalog's table holds only the twin's coins
            events = [e for e in events if e.coin in self.spec_of]
        self.cursor = ReplayCursor(events, rebase_to_ms=rebase_to_ms, loop=config.loop_replay)
        self.events_applied = 0
        self.funding_series_coins = market.funding_coins() & set(self.spec_of)
        self.current_funding_rate: dict[str, Decimal] = {}
        self.funding_history: dict[str, list[dict]] = {c.name: [] for c in self.coins}
        shift = self.cursor.offset_ms
        for coin, rows in market.minute_bars.items():
            if coin in self.candles:
                for open_ms, o, h, low, c, v in rows:
                    self.candles[coin].add_minute_bar(open_ms + shift, o, h, low, c, v)

        start = clock.now_ms()
        first = self.cursor.first_twin_ms
        self.processed_ms = min(start, first) - 1 if first is not None else start  # twin time applied so far
        self.next_funding_ms = (self.processed_ms // HOUR_MS + 1) * HOUR_MS  # next whole-hour funding payment

        # ---- accounts and orders
        self.accounts: dict[str, Account] = {}
        self.nonces = NonceTracker()
        self.agents = AgentRegistry()
        self.ip_limiter = IpWeightLimiter()
        self.orders: dict[int, TwinOrder] = {}
        self.open_orders: dict[int, TwinOrder] = {}
        self.cloid_index: dict[tuple[str, str], TwinOrder] = {}
        self._last_oid = 1_000_000
        self._last_order_seq = 0
        self._last_tid = 1

        for address, usd in config.accounts.items():
            self.create_account(address, usd)

    # ------------------------------------------------------------------ events and ids
    def emit(self, key: tuple, payload: Any) -> None:
        """Give one event to the publisher (see the event table of ``exchange``)."""
        self.emit_seq += 1
        publisher = self.publisher
        if publisher is not None:
            publisher(self.emit_seq, key, payload)

    def new_oid(self) -> int:
        self._last_oid += 1
        return self._last_oid

    def new_order_seq(self) -> int:
        """Time priority of a new order (also orders ``openOrders`` newest first)."""
        self._last_order_seq += 1
        return self._last_order_seq

    def new_tid(self) -> int:
        self._last_tid += 1
        return self._last_tid

    # ------------------------------------------------------------------ time
    def now_ms(self) -> int:
        return self.clock.now_ms()

    def nonce_now_ms(self) -> int:
        """The time nonces and ``expiresAfter`` are compared with: the wall clock, or the twin clock."""
        return self.clock.now_ms() if self.config.nonce_clock == "twin" else wall_ms()

    # ------------------------------------------------------------------ accounts
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

    def ip_limited(self, client_ip: str, weight: int) -> bool:
        """Count ``weight`` against the client's per-minute IP budget; True if it is over (only when enforced)."""
        total = self.ip_limiter.add(client_ip, weight, time.monotonic())
        return self.config.enforce_rate_limits and total > self.config.ip_weight_per_minute

    # ------------------------------------------------------------------ lookups
    def find_order(self, user: str, oid_or_cloid: int | str) -> TwinOrder | None:
        user = user.lower()
        if isinstance(oid_or_cloid, int):
            order = self.orders.get(oid_or_cloid)
            return order if order is not None and order.owner == user else None
        return self.cloid_index.get((user, oid_or_cloid.lower()))

    def open_orders_of(self, user: str) -> list[TwinOrder]:
        """Open orders of ``user``, newest first."""
        user = user.lower()
        with self.lock:
            return sorted((o for o in self.open_orders.values() if o.owner == user), key=lambda o: -o.seq)

    def fills_of(self, user: str) -> list[dict]:
        account = self.accounts.get(user.lower())
        return list(account.fills) if account else []

    # ------------------------------------------------------------------ prices
    def mark_px(self, coin: str) -> Decimal | None:
        """Mark = oracle in the twin: the replayed mid, else the last print."""
        mid = self.books[coin].replayed_mid()
        if mid is not None:
            return mid
        return self.last_trade_px.get(coin)

    def marks(self) -> dict[str, Decimal | None]:
        return {c.name: self.mark_px(c.name) for c in self.coins}

    def mid_px(self, coin: str) -> Decimal | None:
        """Mid of the displayed book (twin orders included) when it is not crossed, else the mark."""
        book = self.books[coin]
        bid, ask = book.best(BID), book.best(ASK)
        if bid is not None and ask is not None and bid < ask:
            return (bid + ask) / 2
        return self.mark_px(coin)

    # ------------------------------------------------------------------ prints
    def record_print(
        self, coin: str, side: str, px: Decimal, sz: Decimal, ts: int, out: list, users: tuple, tid: int | None = None
    ) -> None:
        """Record a print on the market (trades feed, candles, last price); appends it to ``out``."""
        tid = self.new_tid() if tid is None else tid
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

