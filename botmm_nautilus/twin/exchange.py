"""The twin exchange: :class:`TwinExchange` puts the parts together behind the interface the server uses.

No sockets here: the server passes parsed JSON bodies in and gets ``(http_status, body)`` back;
market and account events go out through ``publisher(seq, key, payload)`` (the server's WebSocket
hub; ``seq`` increases by one per event so a subscription snapshot can skip events it already holds).

The parts, each over one shared :class:`~.state.TwinState`:

================  ===========================================================================
``state``         market, accounts, orders, id counters, the lock, the event outlet
``feed``          throttled market pushes (bbo, l2Book, activeAssetCtx, allMids)
``trading``       order checks, placement, matching, fills, cancels (with ``margin``)
``funding``       replayed and hourly funding payments
``timeline``      replay events and timers (scheduled cancels, hourly funding) up to a time
``info``          ``/info`` handlers (with ``views`` and ``margin`` for the wire forms)
``auth``          signer, acting account, vault, ``expiresAfter``, nonces, request budget
``actions``       ``/exchange`` handlers (with ``envelope`` for the body and reply shapes)
================  ===========================================================================

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

Not simulated: liquidations, trigger/TP-SL orders, isolated-margin accounting (``isCross: false``
is recorded and reported, margin is computed the same way), spot.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from . import views
from .accounts import Account
from .actions import ActionHandlers
from .auth import Authenticator
from .clock import TwinClock
from .faults import FaultInjector
from .feed import MarketFeed
from .info import InfoHandlers
from .margin import clearinghouse_state
from .matching import CoinBook
from .matching import TwinOrder
from .replay import CoinSpec
from .replay import MarketData
from .replay import ReplayCursor
from .settings import TwinConfig
from .state import Publisher
from .state import TwinState
from .timeline import Timeline
from .trading import Trading


class TwinExchange:
    """The exchange: replayed market + twin accounts. Thread-safe (one re-entrant lock, :attr:`lock`).

    ``handle_info``, ``handle_exchange``, ``advance_to``, ``step``, the account methods and the
    snapshots take the lock; the wire views (``l2_book_wire``, ``clearinghouse_state``, ...) expect
    the caller to hold it.
    """

    def __init__(
        self,
        market: MarketData,
        config: TwinConfig | None = None,
        clock: TwinClock | None = None,
        rebase_to_ms: int | None = None,
        faults: FaultInjector | None = None,
    ) -> None:
        self.state = state = TwinState(
            market, config or TwinConfig(), clock or TwinClock.manual(), rebase_to_ms, faults or FaultInjector()
        )
        self.feed = MarketFeed(state)
        self.trading = Trading(state, self.feed)
        self.timeline = Timeline(state, self.feed, self.trading)
        self.info = InfoHandlers(state, self.timeline.sync)
        self.actions = ActionHandlers(state, self.trading, self.feed, Authenticator(state), self.timeline.sync)

    # ------------------------------------------------------------------ shared state
    @property
    def config(self) -> TwinConfig:
        return self.state.config

    @property
    def lock(self):
        return self.state.lock

    @property
    def publisher(self) -> Publisher | None:
        return self.state.publisher

    @publisher.setter
    def publisher(self, publisher: Publisher | None) -> None:
        self.state.publisher = publisher

    @property
    def emit_seq(self) -> int:
        return self.state.emit_seq

    @property
    def coins(self) -> list[CoinSpec]:
        return self.state.coins

    @property
    def spec_of(self) -> dict[str, CoinSpec]:
        return self.state.spec_of

    @property
    def books(self) -> dict[str, CoinBook]:
        return self.state.books

    @property
    def accounts(self) -> dict[str, Account]:
        return self.state.accounts

    @property
    def open_orders(self) -> dict[int, TwinOrder]:
        return self.state.open_orders

    @property
    def cursor(self) -> ReplayCursor:
        return self.state.cursor

    @property
    def events_applied(self) -> int:
        return self.state.events_applied

    def now_ms(self) -> int:
        return self.state.now_ms()

    # ------------------------------------------------------------------ requests
    def handle_info(self, body: Any, client_ip: str = "127.0.0.1") -> tuple[int, Any]:
        """``POST /info``: ``(http_status, json body or str for 422)``."""
        return self.info.handle(body, client_ip)

    def handle_exchange(self, body: Any, client_ip: str = "127.0.0.1") -> tuple[int, Any]:
        """``POST /exchange``: ``(http_status, json body or str for 422)``."""
        return self.actions.handle(body, client_ip)

    # ------------------------------------------------------------------ time
    def advance_to(self, target_ms: int) -> int:
        """Apply every replay event and timer due at or before ``target_ms``; returns events applied."""
        return self.timeline.advance_to(target_ms)

    def step(self, n_events: int = 1) -> int:
        """Apply the next ``n_events`` replay events; returns the twin time reached (see ``Timeline.step``)."""
        return self.timeline.step(n_events)

    # ------------------------------------------------------------------ accounts and orders
    def create_account(self, address: str, balance_usd: Decimal | float | str | None = None) -> Account:
        """Register (or top up to) an account with ``balance_usd`` USDC (default: the starting balance)."""
        return self.state.create_account(address, balance_usd)

    def register_sub_account(self, master: str, sub_account: str, balance_usd=None) -> Account:
        """Make ``sub_account`` a vault/sub-account that ``master`` (or its agents) may trade via ``vaultAddress``."""
        return self.state.register_sub_account(master, sub_account, balance_usd)

    def find_order(self, user: str, oid_or_cloid: int | str) -> TwinOrder | None:
        return self.state.find_order(user, oid_or_cloid)

    def open_orders_of(self, user: str) -> list[TwinOrder]:
        """Open orders of ``user``, newest first."""
        return self.state.open_orders_of(user)

    def fills_of(self, user: str) -> list[dict]:
        """All fills of ``user``, oldest first."""
        return self.state.fills_of(user)

    def user_rate_limit(self, user: str) -> dict:
        """``userRateLimit`` of ``user``."""
        return views.user_rate_limit(self.state, user)

    # ------------------------------------------------------------------ wire views (caller holds the lock)
    def clearinghouse_state(self, user: str) -> dict:
        return clearinghouse_state(self.state, user)

    @staticmethod
    def order_wire(order: TwinOrder, frontend: bool = False) -> dict:
        return views.order_wire(order, frontend)

    def l2_book_wire(self, coin: str, now_ms: int, n_sig_figs: int | None = None, mantissa: int | None = None) -> dict:
        return views.l2_book_wire(self.state, coin, now_ms, n_sig_figs, mantissa)

    def bbo_wire(self, coin: str, now_ms: int) -> dict:
        return views.bbo_wire(self.state, coin, now_ms)

    def active_asset_ctx_wire(self, coin: str, now_ms: int) -> dict:
        return views.active_asset_ctx_wire(self.state, coin, now_ms)

    def all_mids(self) -> dict[str, str]:
        return views.all_mids(self.state)

    def candle_wire(self, coin: str, interval: str, now_ms: int) -> dict | None:
        """The open candle (takes the lock)."""
        return views.candle_wire(self.state, coin, interval, now_ms)

    # ------------------------------------------------------------------ WebSocket snapshots (take the lock)
    def user_fills_snapshot(self, user: str) -> list[dict]:
        return views.user_fills_snapshot(self.state, user)

    def user_fundings_snapshot(self, user: str) -> list[dict]:
        return views.user_fundings_snapshot(self.state, user)

    def recent_trades_snapshot(self, coin: str) -> list[dict]:
        return views.recent_trades_snapshot(self.state, coin)
