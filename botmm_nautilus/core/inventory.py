"""Position and PnL bookkeeping for one perpetual: average-cost inventory.

Pure, deterministic and clock-injected: every mutating method takes the caller's ``ts_ns``; nothing
reads a wall clock or does I/O, and there are no Nautilus imports. The strategy feeds it the fills
it receives (``on_fill``), the hourly funding payments (``on_funding``) and the quantities of its
open or in-flight orders (``set_pending``); the risk rules read position, exposure and worst-case
exposure from it.

Conventions
-----------
* ``position`` is in base units and signed: long > 0, short < 0.
* ``avg_entry_price`` is the average cost of the open position (0.0 when flat). Fills that add
  to the position average in; fills that reduce it realise PnL at ``(price - avg) * closed`` for a
  long (``(avg - price) * closed`` for a short) and leave the average unchanged; a fill that
  crosses zero closes the whole position and opens the remainder at the fill price.
* ``realized_pnl_usd`` is gross trading PnL only: fees and funding are kept apart.
* ``fees_paid_usd``: positive = cost, negative = rebate (Hyperliquid base-tier makers *pay*
  +1.5 bps; a negative maker fee only exists at high maker-volume share).
* ``funding_usd``: net funding credited to the account, positive = received, negative = paid.
  ``on_funding`` takes the payment with the sign Hyperliquid uses in ``userFunding.delta.usdc``
  (a long pays a positive rate: ``usdc < 0``). ``funding_paid_usd`` is the same figure with the
  fee sign (positive = cost). ``funding_payment_usd`` computes a payment from a rate.
* ``net_pnl_usd(mark) = realized + unrealized - fees + funding``.
"""

from __future__ import annotations

import math

__all__ = ["Inventory", "funding_payment_usd"]

BUY = 1
SELL = -1


def funding_payment_usd(position: float, mark: float, funding_rate: float) -> float:
    """Funding credited to an account holding ``position`` (base units) at ``mark`` for one interval.

    Hyperliquid: longs pay shorts when the rate is positive, so the credit is
    ``-position * mark * rate`` (negative = paid). Same sign as ``on_funding`` expects.
    """
    return -position * mark * funding_rate


class Inventory:
    """Average-cost inventory of one instrument, with fees, funding and pending order exposure.

    ``qty_epsilon`` (base units) snaps a position whose magnitude falls below it to exactly zero
    after a reducing fill, so float residue (``0.3 - 0.1 - 0.2``) never leaves a phantom position.
    Keep it well below the instrument's lot size (the smallest Hyperliquid lot is 1e-5).
    """

    __slots__ = (
        "instrument_id",
        "qty_epsilon",
        "position",
        "avg_entry_price",
        "realized_pnl_usd",
        "fees_paid_usd",
        "funding_usd",
        "open_buy_qty",
        "open_sell_qty",
        "fill_count",
        "buy_qty_total",
        "sell_qty_total",
        "traded_notional_usd",
        "last_fill_ts_ns",
        "last_funding_ts_ns",
        "last_pending_ts_ns",
    )

    def __init__(self, instrument_id: str = "", qty_epsilon: float = 1e-9) -> None:
        if not (qty_epsilon >= 0.0 and math.isfinite(qty_epsilon)):
            raise ValueError(f"qty_epsilon must be a finite number >= 0, got {qty_epsilon!r}")
        self.instrument_id = instrument_id
        self.qty_epsilon = float(qty_epsilon)
        self.position = 0.0
        self.avg_entry_price = 0.0
        self.realized_pnl_usd = 0.0
        self.fees_paid_usd = 0.0
        self.funding_usd = 0.0
        self.open_buy_qty = 0.0
        self.open_sell_qty = 0.0
        self.fill_count = 0
        self.buy_qty_total = 0.0
        self.sell_qty_total = 0.0
        self.traded_notional_usd = 0.0
        self.last_fill_ts_ns: int | None = None
        self.last_funding_ts_ns: int | None = None
        self.last_pending_ts_ns: int | None = None

    # ------------------------------------------------------------------ events

    def on_fill(self, ts_ns: int, side: int, price: float, qty: float, fee_usd: float = 0.0) -> float:
        """Apply one fill (a partial fill is one call). Returns the PnL realised by this fill.

        ``side``: +1 buy, -1 sell. ``qty`` > 0 in base units. ``fee_usd``: positive = cost,
        negative = rebate. Fees are not part of the returned realised PnL.
        """
        if side != BUY and side != SELL:
            raise ValueError(f"side must be +1 (buy) or -1 (sell), got {side!r}")
        if not (price > 0.0 and math.isfinite(price)):
            raise ValueError(f"fill price must be a positive finite number, got {price!r}")
        if not (qty > 0.0 and math.isfinite(qty)):
            raise ValueError(f"fill qty must be a positive finite number, got {qty!r}")
        if not math.isfinite(fee_usd):
            raise ValueError(f"fee_usd must be finite, got {fee_usd!r}")

        pos = self.position
        realized = 0.0
        if pos == 0.0 or (pos > 0.0) == (side > 0):
            # Opening or adding: average in.
            abs_pos = abs(pos)
            new_abs = abs_pos + qty
            self.avg_entry_price = (abs_pos * self.avg_entry_price + qty * price) / new_abs
            self.position = pos + side * qty
        else:
            abs_pos = abs(pos)
            closed = qty if qty < abs_pos else abs_pos
            # Long (pos > 0) closed by a sell gains price - avg; short closed by a buy gains avg - price.
            realized = closed * (price - self.avg_entry_price) * (1.0 if pos > 0.0 else -1.0)
            remainder = qty - closed
            new_pos = pos + side * closed
            if abs(new_pos) <= self.qty_epsilon:
                new_pos = 0.0
            if remainder > self.qty_epsilon:
                # Crossed zero: the remainder opens a new position at the fill price.
                self.position = side * remainder
                self.avg_entry_price = price
            elif new_pos == 0.0:
                self.position = 0.0
                self.avg_entry_price = 0.0
            else:
                self.position = new_pos
            self.realized_pnl_usd += realized

        self.fees_paid_usd += fee_usd
        self.fill_count += 1
        if side > 0:
            self.buy_qty_total += qty
        else:
            self.sell_qty_total += qty
        self.traded_notional_usd += price * qty
        if self.last_fill_ts_ns is None or ts_ns > self.last_fill_ts_ns:
            self.last_fill_ts_ns = ts_ns
        return realized

    def on_funding(self, ts_ns: int, payment_usd: float) -> None:
        """Book one funding payment: ``payment_usd`` > 0 received, < 0 paid (Hyperliquid ``usdc`` sign)."""
        if not math.isfinite(payment_usd):
            raise ValueError(f"funding payment_usd must be finite, got {payment_usd!r}")
        self.funding_usd += payment_usd
        if self.last_funding_ts_ns is None or ts_ns > self.last_funding_ts_ns:
            self.last_funding_ts_ns = ts_ns

    def set_pending(self, ts_ns: int, open_buy_qty: float, open_sell_qty: float) -> None:
        """Report the total quantity of open plus in-flight (sent, not yet acknowledged) orders per side.

        Both are unsigned base-unit quantities. Report an order as soon as it is sent (not when it
        is accepted) and keep it until its cancel is confirmed, so worst-case exposure is never
        under-counted.
        """
        if not (open_buy_qty >= 0.0 and math.isfinite(open_buy_qty)):
            raise ValueError(f"open_buy_qty must be a finite number >= 0, got {open_buy_qty!r}")
        if not (open_sell_qty >= 0.0 and math.isfinite(open_sell_qty)):
            raise ValueError(f"open_sell_qty must be a finite number >= 0, got {open_sell_qty!r}")
        self.open_buy_qty = float(open_buy_qty)
        self.open_sell_qty = float(open_sell_qty)
        self.last_pending_ts_ns = ts_ns

    def sync_position(self, ts_ns: int, position: float, avg_entry_price: float) -> None:
        """Overwrite position and average entry with the venue's (reconciliation on start/reconnect).

        PnL, fee and funding totals are kept: the venue's figures for those are account-wide.
        """
        if not math.isfinite(position):
            raise ValueError(f"position must be finite, got {position!r}")
        if abs(position) <= self.qty_epsilon:
            self.position = 0.0
            self.avg_entry_price = 0.0
            return
        if not (avg_entry_price > 0.0 and math.isfinite(avg_entry_price)):
            raise ValueError(
                f"avg_entry_price must be a positive finite number for a non-zero position, got {avg_entry_price!r}"
            )
        self.position = float(position)
        self.avg_entry_price = float(avg_entry_price)

    # ------------------------------------------------------------------ reads

    @property
    def is_flat(self) -> bool:
        return self.position == 0.0

    @property
    def funding_paid_usd(self) -> float:
        """Net funding with the fee sign: positive = paid (a cost), negative = received."""
        return -self.funding_usd

    def unrealized_pnl(self, mark: float) -> float:
        """Mark-to-market PnL of the open position: ``position * (mark - avg_entry_price)``."""
        if self.position == 0.0:
            return 0.0
        return self.position * (mark - self.avg_entry_price)

    def net_pnl_usd(self, mark: float) -> float:
        """Realised + unrealised trading PnL, minus fees, plus funding received."""
        return self.realized_pnl_usd + self.unrealized_pnl(mark) - self.fees_paid_usd + self.funding_usd

    def exposure_usd(self, mark: float) -> float:
        """Signed notional of the position at ``mark`` (long > 0). Use ``abs()`` for gross notional."""
        return self.position * mark

    def inventory_ratio(self, mark: float, max_position_usd: float) -> float:
        """Signed exposure as a fraction of ``max_position_usd``: +1 = long at the limit, |x| > 1 = over it."""
        if not max_position_usd > 0.0:
            raise ValueError(f"max_position_usd must be > 0, got {max_position_usd!r}")
        return self.position * mark / max_position_usd

    def skew(self, mark: float, max_position_usd: float, limit: float = 1.0) -> float:
        """Inventory ratio clipped to [-limit, limit], the normalised ``q`` a quoter skews by.

        Positive when long: the quoter should shift both quotes down (sell more eagerly).
        """
        ratio = self.inventory_ratio(mark, max_position_usd)
        if ratio > limit:
            return limit
        if ratio < -limit:
            return -limit
        return ratio

    def worst_case_long(self, open_buy_qty: float | None = None) -> float:
        """Position (base units) if every open and in-flight buy fills: ``position + open buys``.

        ``open_buy_qty`` defaults to the quantity last reported with ``set_pending``.
        """
        buys = self.open_buy_qty if open_buy_qty is None else open_buy_qty
        if buys < 0.0:
            raise ValueError(f"open_buy_qty must be >= 0, got {buys!r}")
        return self.position + buys

    def worst_case_short(self, open_sell_qty: float | None = None) -> float:
        """Position (base units, signed) if every open and in-flight sell fills: ``position - open sells``."""
        sells = self.open_sell_qty if open_sell_qty is None else open_sell_qty
        if sells < 0.0:
            raise ValueError(f"open_sell_qty must be >= 0, got {sells!r}")
        return self.position - sells

    def worst_case_long_usd(self, mark: float, open_buy_qty: float | None = None) -> float:
        return self.worst_case_long(open_buy_qty) * mark

    def worst_case_short_usd(self, mark: float, open_sell_qty: float | None = None) -> float:
        return self.worst_case_short(open_sell_qty) * mark

    def snapshot(self, mark: float) -> dict[str, float | int | str | None]:
        """Plain dict of the current figures at ``mark`` (for logs, reports and the supervisor)."""
        return {
            "instrument_id": self.instrument_id,
            "position": self.position,
            "avg_entry_price": self.avg_entry_price,
            "mark": mark,
            "exposure_usd": self.exposure_usd(mark),
            "realized_pnl_usd": self.realized_pnl_usd,
            "unrealized_pnl_usd": self.unrealized_pnl(mark),
            "fees_paid_usd": self.fees_paid_usd,
            "funding_usd": self.funding_usd,
            "net_pnl_usd": self.net_pnl_usd(mark),
            "open_buy_qty": self.open_buy_qty,
            "open_sell_qty": self.open_sell_qty,
            "fill_count": self.fill_count,
            "traded_notional_usd": self.traded_notional_usd,
            "last_fill_ts_ns": self.last_fill_ts_ns,
        }

    def __repr__(self) -> str:
        return (
            f"Inventory({self.instrument_id!r}, position={self.position}, avg={self.avg_entry_price}, "
            f"realized={self.realized_pnl_usd}, fees={self.fees_paid_usd}, funding={self.funding_usd})"
        )
