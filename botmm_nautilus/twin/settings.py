"""The twin's rules in one object: :class:`TwinConfig` (defaults = Hyperliquid's base tier, testnet signing).

Every part of the twin reads its settings from here: the exchange state and handlers (accounts,
fees, signing, nonces, order minimums, scheduled cancels, rate limits, funding, push throttling,
replay looping) and the server's WebSocket front (greeting, idle timeout, trades snapshot).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal

from botmm_nautilus.venue import rules as hl_rules
from botmm_nautilus.venue.limits import IP_WEIGHT_PER_MINUTE

from .accounts import FeeSchedule


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
    min_order_value_usd: Decimal = Decimal(str(hl_rules.MIN_ORDER_VALUE_USD))
    min_value_exempt_reduce_only: bool = True
    funding_rate_hourly: Decimal | None = Decimal("0.0000125")  # used for coins without a funding series
    schedule_cancel_min_delay_ms: int = 5_000
    schedule_cancel_max_triggers_per_day: int = 10
    schedule_cancel_min_volume_usd: Decimal = Decimal(0)  # the venue requires 1_000_000; 0 = no gate
    enforce_rate_limits: bool = False
    ip_weight_per_minute: int = IP_WEIGHT_PER_MINUTE
    max_open_orders: int = 1000
    max_fills_per_answer: int = 2000  # userFills / userFillsByTime answer at most this many (the venue: 2000)
    # an order whose cloid an open order of the account holds is refused (the venue's rule as far as
    # known, [UNCERTAIN]: see venue.actions.DUPLICATE_CLOID); False accepts it (a second order with
    # that cloid): tests use it to prove a client never relies on the venue to drop a resend
    refuse_duplicate_cloids: bool = True
    l2_book_min_interval_ms: int = 500
    market_push_interval_ms: int = 500  # allMids and activeAssetCtx
    loop_replay: bool = False
    ws_idle_timeout_s: float = 60.0
    ws_greeting: bool = True
    trades_snapshot_on_subscribe: bool = False
    recent_trades_kept: int = 100
