"""Accounts of the twin: balances, positions, fees, margin, funding, nonces, agents, rate limits.

Pure bookkeeping; nothing here does I/O or reads a clock (times are passed in).

Money conventions (Hyperliquid's fee and funding rules):

* ``balance_usd`` is the cash ledger: deposits + realised PnL - fees - funding paid. Every booked
  amount is rounded to 1e-6 USDC.
* fee per fill = ``px * sz * rate`` (maker +0.00015, taker 0.00045 by default; a negative maker
  rate is a rebate and credits the account).
* funding per hour = ``szi * oracle_px * rate``; a positive rate makes longs pay.
* account value = balance + unrealised PnL at the mark price.
* initial margin per coin = ``max(|szi + open buys|, |szi - open sells|) * mark / leverage`` (the
  worst-case position if every open order of one side filled); an order is accepted if the account
  value covers the requirement with the order added. Maintenance margin = half the initial margin
  at max leverage (used for the reported liquidation price; the twin does not liquidate).
"""

from __future__ import annotations

import bisect
import collections
import re
from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal

from botmm_nautilus.venue import rules as hl_rules
from botmm_nautilus.venue.limits import ADDRESS_BASE_BUDGET

from .wire import ZERO
from .wire import quantize_usd

DAY_MS = 86_400_000
NONCE_SET_SIZE = 100
NONCE_PAST_WINDOW_MS = 2 * DAY_MS
NONCE_FUTURE_WINDOW_MS = 1 * DAY_MS
DEFAULT_LEVERAGE = 20


@dataclass(frozen=True)
class FeeSchedule:
    """Maker/taker fee rates (fractions). Per-coin overrides for maker rebates."""

    maker_rate: Decimal = Decimal(str(hl_rules.BASE_MAKER_FEE))
    taker_rate: Decimal = Decimal(str(hl_rules.BASE_TAKER_FEE))
    maker_rate_by_coin: dict[str, Decimal] = field(default_factory=dict)
    taker_rate_by_coin: dict[str, Decimal] = field(default_factory=dict)

    def rate(self, coin: str, is_taker: bool) -> Decimal:
        if is_taker:
            return self.taker_rate_by_coin.get(coin, self.taker_rate)
        return self.maker_rate_by_coin.get(coin, self.maker_rate)


@dataclass
class Leverage:
    is_cross: bool = True
    value: int = DEFAULT_LEVERAGE


@dataclass
class Position:
    coin: str
    szi: Decimal = ZERO  # signed size, long > 0
    entry_px: Decimal = ZERO
    cum_funding_all_time: Decimal = ZERO  # funding *paid* (positive = paid), Hyperliquid's sign
    cum_funding_since_open: Decimal = ZERO
    cum_funding_since_change: Decimal = ZERO


@dataclass
class FillBooking:
    """What booking one fill did to the account (for the fill record)."""

    start_position: Decimal
    direction: str
    closed_pnl: Decimal
    fee: Decimal


def fill_direction(start_szi: Decimal, signed_sz: Decimal) -> str:
    end = start_szi + signed_sz
    if start_szi == 0:
        return "Open Long" if signed_sz > 0 else "Open Short"
    if start_szi > 0:
        if signed_sz > 0:
            return "Open Long"
        return "Long > Short" if end < 0 else "Close Long"
    if signed_sz < 0:
        return "Open Short"
    return "Short > Long" if end > 0 else "Close Short"


class Account:
    """One trading account (a master address or a vault/sub-account it trades for)."""

    def __init__(self, address: str, balance_usd: Decimal, max_leverage: dict[str, int] | None = None) -> None:
        self.address = address.lower()
        self.balance_usd = quantize_usd(Decimal(balance_usd))
        self.positions: dict[str, Position] = {}
        self.leverage: dict[str, Leverage] = {}
        self.max_leverage = dict(max_leverage or {})
        self.fills: list[dict] = []  # wire fill records, oldest first
        self.fundings: list[dict] = []  # userFunding records, oldest first
        self.cum_volume_usd = ZERO
        self.n_requests_used = 0
        self.extra_request_weight = 0  # reserveRequestWeight purchases
        self.last_over_budget_request_ms: int | None = None
        self.schedule_cancel_ms: int | None = None
        self.schedule_cancel_triggers: dict[int, int] = {}  # utc day index -> triggers
        self.schedule_cancel_sets = 0  # deadlines accepted (not clears, not refusals)
        self.owner: str | None = None  # master that controls this account when it is a vault/sub-account

    # ---------------------------------------------------------------- positions and fills
    def position(self, coin: str) -> Position:
        pos = self.positions.get(coin)
        if pos is None:
            pos = self.positions[coin] = Position(coin)
        return pos

    def szi(self, coin: str) -> Decimal:
        pos = self.positions.get(coin)
        return pos.szi if pos else ZERO

    def leverage_for(self, coin: str) -> Leverage:
        lev = self.leverage.get(coin)
        if lev is None:
            lev = self.leverage[coin] = Leverage(True, min(DEFAULT_LEVERAGE, self.max_leverage.get(coin, DEFAULT_LEVERAGE)))
        return lev

    def book_fill(self, coin: str, is_buy: bool, px: Decimal, sz: Decimal, fee_rate: Decimal) -> FillBooking:
        """Update position, entry price, realised PnL, fees and volume for one fill."""
        pos = self.position(coin)
        signed = sz if is_buy else -sz
        start = pos.szi
        direction = fill_direction(start, signed)
        closed_pnl = ZERO
        if start == 0 or (start > 0) == (signed > 0):
            new_abs = abs(start) + sz
            pos.entry_px = (abs(start) * pos.entry_px + sz * px) / new_abs
            pos.szi = start + signed
            if start == 0:
                pos.cum_funding_since_open = ZERO
        else:
            close_sz = min(sz, abs(start))
            closed_pnl = close_sz * (px - pos.entry_px) * (1 if start > 0 else -1)
            pos.szi = start + signed
            if pos.szi == 0:
                pos.entry_px = ZERO
            elif (pos.szi > 0) != (start > 0):  # flipped: the rest opens at px
                pos.entry_px = px
                pos.cum_funding_since_open = ZERO
        pos.cum_funding_since_change = ZERO
        closed_pnl = quantize_usd(closed_pnl)
        fee = quantize_usd(px * sz * fee_rate)
        self.balance_usd += closed_pnl - fee
        self.cum_volume_usd += px * sz
        return FillBooking(start, direction, closed_pnl, fee)

    def book_funding(self, coin: str, oracle_px: Decimal, rate: Decimal) -> Decimal:
        """Pay/receive one funding interval; returns the USDC delta for the account (negative = paid)."""
        pos = self.positions.get(coin)
        if pos is None or pos.szi == 0:
            return ZERO
        paid = quantize_usd(pos.szi * oracle_px * rate)
        self.balance_usd -= paid
        pos.cum_funding_all_time += paid
        pos.cum_funding_since_open += paid
        pos.cum_funding_since_change += paid
        return -paid

    # ---------------------------------------------------------------- valuation and margin
    def unrealized_pnl(self, coin: str, mark_px: Decimal | None) -> Decimal:
        pos = self.positions.get(coin)
        if pos is None or pos.szi == 0 or mark_px is None:
            return ZERO
        return pos.szi * (mark_px - pos.entry_px)

    def account_value(self, marks: dict[str, Decimal | None]) -> Decimal:
        return self.balance_usd + sum((self.unrealized_pnl(c, marks.get(c)) for c in self.positions), ZERO)

    def position_margin(self, coin: str, mark_px: Decimal | None) -> Decimal:
        pos = self.positions.get(coin)
        if pos is None or pos.szi == 0 or mark_px is None:
            return ZERO
        return abs(pos.szi) * mark_px / self.leverage_for(coin).value

    def margin_required(
        self,
        coin: str,
        mark_px: Decimal | None,
        open_buy_sz: Decimal,
        open_sell_sz: Decimal,
        fallback_px: Decimal | None = None,
    ) -> Decimal:
        """Initial margin of ``coin``: worst-case position if all open orders of one side filled."""
        px = mark_px if mark_px is not None else fallback_px
        if px is None:
            return ZERO
        szi = self.szi(coin)
        worst = max(abs(szi + open_buy_sz), abs(szi - open_sell_sz))
        return worst * px / self.leverage_for(coin).value

    # ---------------------------------------------------------------- scheduled cancel
    def schedule_cancel_triggers_on(self, now_ms: int) -> int:
        return self.schedule_cancel_triggers.get(now_ms // DAY_MS, 0)

    def count_schedule_cancel_trigger(self, now_ms: int) -> None:
        day = now_ms // DAY_MS
        self.schedule_cancel_triggers = {day: self.schedule_cancel_triggers.get(day, 0) + 1}


def liquidation_px(szi: Decimal, mark_px: Decimal, account_value: Decimal, max_leverage: int) -> Decimal | None:
    """Price at which ``account_value`` would fall to the maintenance margin, other things fixed (cross)."""
    if szi == 0:
        return None
    mmr = Decimal(1) / (2 * max_leverage)
    denom = szi * (1 - mmr) if szi > 0 else szi * (1 + mmr)
    px = (szi * mark_px - account_value) / denom
    return px if px > 0 else None


# ------------------------------------------------------------------------------------ nonces


class NonceError(ValueError):
    pass


class NonceTracker:
    """Per-signer nonce set: the 100 highest nonces; new ones unique, above the set's minimum when
    full, and within ``(now - 2 days, now + 1 day)`` (the venue's nonce rules)."""

    def __init__(self, set_size: int = NONCE_SET_SIZE) -> None:
        self.set_size = set_size
        self._by_signer: dict[str, list[int]] = {}

    def check(self, signer: str, nonce: int, now_ms: int) -> None:
        """Raise :class:`NonceError` with the venue's message if ``nonce`` is not acceptable."""
        low = now_ms - NONCE_PAST_WINDOW_MS
        high = now_ms + NONCE_FUTURE_WINDOW_MS
        used = self._by_signer.get(signer, [])
        i = bisect.bisect_left(used, nonce)
        if i < len(used) and used[i] == nonce:
            raise NonceError(f"Invalid nonce: duplicate nonce {nonce}")
        if nonce <= low:
            raise NonceError(f"Invalid nonce: nonce too low {nonce} < {low + 1}")
        if nonce >= high:
            raise NonceError(f"Invalid nonce: nonce too high {nonce} > {high - 1}")
        if len(used) >= self.set_size and nonce <= used[0]:
            raise NonceError(f"Invalid nonce: nonce too low {nonce} < {used[0] + 1}")

    def use(self, signer: str, nonce: int) -> None:
        used = self._by_signer.setdefault(signer, [])
        bisect.insort(used, nonce)
        if len(used) > self.set_size:
            del used[0 : len(used) - self.set_size]


# ------------------------------------------------------------------------------------ agents

_VALID_UNTIL_RE = re.compile(r"valid_until\s+(\d+)")
MAX_NAMED_AGENTS = 3


@dataclass
class Agent:
    address: str
    master: str
    name: str  # "" for the unnamed agent
    valid_until_ms: int | None


class AgentRegistry:
    """API wallets: agent address -> master; one unnamed + up to 3 named per master."""

    def __init__(self) -> None:
        self.by_address: dict[str, Agent] = {}

    def approve(self, master: str, agent_address: str, name: str) -> str | None:
        """Register an agent; returns an error text or None."""
        agent_address = agent_address.lower()
        current = self.by_address.get(agent_address)
        if current is not None and current.master != master:
            return "Agent address is already used by another user."
        base_name = _VALID_UNTIL_RE.sub("", name).strip() if name else ""
        match = _VALID_UNTIL_RE.search(name or "")
        valid_until = int(match.group(1)) if match else None
        # pruning: a new unnamed agent replaces the old unnamed one; same for a named one by name
        for addr, agent in list(self.by_address.items()):
            if agent.master == master and agent.name == base_name:
                del self.by_address[addr]
        named = [a for a in self.by_address.values() if a.master == master and a.name]
        if base_name and len(named) >= MAX_NAMED_AGENTS:
            return f"Too many named agents. Maximum is {MAX_NAMED_AGENTS}."
        self.by_address[agent_address] = Agent(agent_address, master, base_name, valid_until)
        return None

    def master_of(self, agent_address: str, now_ms: int) -> str | None:
        agent = self.by_address.get(agent_address.lower())
        if agent is None:
            return None
        if agent.valid_until_ms is not None and now_ms > agent.valid_until_ms:
            return None
        return agent.master

    def agents_of(self, master: str) -> list[Agent]:
        return [a for a in self.by_address.values() if a.master == master]


# ------------------------------------------------------------------------------------ rate limits

def address_request_cap(account: Account) -> int:
    """Cumulative action budget: 10000 + 1 per USDC traded (+ purchased weight)."""
    return ADDRESS_BASE_BUDGET + int(account.cum_volume_usd) + account.extra_request_weight


class IpWeightLimiter:
    """Sliding one-minute window of REST weight per client IP (monotonic seconds passed in)."""

    def __init__(self) -> None:
        self._events: dict[str, collections.deque] = {}

    def used(self, ip: str, now_s: float) -> int:
        q = self._events.get(ip)
        if not q:
            return 0
        while q and q[0][0] <= now_s - 60.0:
            q.popleft()
        return sum(w for _, w in q)

    def add(self, ip: str, weight: int, now_s: float) -> int:
        """Record ``weight``; returns the window total including it."""
        total = self.used(ip, now_s) + weight
        self._events.setdefault(ip, collections.deque()).append((now_s, weight))
        return total
