"""What happens to twin orders: checks, placement (take and/or rest), fills booked on both sides, cancels.

Used by the ``/exchange`` actions (place, cancel, modify) and by the replay (a replayed print or a
crossing book fills a resting order; a scheduled cancel fires). Every change of an order is
published on ``orderUpdates`` of its owner, every fill on ``userFills`` and ``user`` (userEvents);
cancels the owner did not ask for (self-trade prevention, reduce-only housekeeping, scheduled
cancel) also go out as ``nonUserCancel``.

Rules where the venue's behaviour is unknown or the twin simplifies:

* A post-only (ALO) order that would cross is refused with the venue's text (it names the bbo);
  an IOC that cannot cross is refused; a GTC that crosses takes first and rests the remainder.
* A GTC order that partly fills and rests reports ``resting``; an IOC that partly fills reports
  ``filled`` with the smaller ``totalSz``; the rest of an IOC is ``canceled`` on ``orderUpdates``.
* Reduce-only orders are exempt from the minimum order value (configurable); the minimum uses the
  limit price. A reduce-only order takes at most the position; when the position no longer allows
  it, it is canceled (``reduceOnlyCanceled``).
* Fills of resting twin orders by the replay are maker fills at the order's price (maker fee,
  ``crossed: false``, the replay time).
* Duplicate cloid: an order whose cloid one of the account's OPEN orders already holds is refused
  (``DUPLICATE_CLOID``, see ``botmm_nautilus.venue.actions`` for the sources and the uncertainty);
  a cloid of a filled or canceled order may be used again (a new order; ``orderStatus`` by cloid
  then answers the newest). A modify's replacement keeps its cloid (the old order is canceled first).
"""

from __future__ import annotations

from decimal import Decimal

from botmm_nautilus.venue import rules as hl_rules
from botmm_nautilus.venue.actions import DUPLICATE_CLOID
from botmm_nautilus.venue.actions import POST_ONLY_WOULD_MATCH

from .accounts import Account
from .feed import MarketFeed
from .margin import margin_ok
from .matching import ASK
from .matching import BID
from .matching import TwinOrder
from .state import TwinState
from .wire import ZERO
from .wire import ZERO_ADDRESS
from .wire import ZERO_HASH
from .wire import OrderWire
from .wire import decimal_places
from .wire import fmt_decimal
from .wire import fmt_plain
from .wire import fmt_usd
from .wire import quantize_px
from .wire import to_decimal


def _order_error(asset: int, text: str) -> dict:
    return {"error": f"{text} asset={asset}"}


class Trading:
    """Order placement, matching against the book, fill booking and cancels on one exchange state."""

    def __init__(self, state: TwinState, feed: MarketFeed) -> None:
        self.state = state
        self.feed = feed

    # ------------------------------------------------------------------ placing
    def place(self, account: Account, wire: OrderWire, now: int, modify_mode: bool = False) -> dict:
        """Validate, match and/or rest one order; returns its status entry.

        ``modify_mode`` (the replacement of a modify): the order never takes liquidity (GTC acts as
        ALO) and IOC is refused.
        """
        state = self.state
        injected = state.faults.take_order_rejection()
        if injected is not None:
            return {"error": injected if "asset=" in injected else f"{injected} asset={wire.asset}"}
        checked = self._validate_new_order(account, wire)
        if isinstance(checked, dict):
            return checked
        coin, px, sz = checked
        asset = wire.asset
        if wire.cloid and state.config.refuse_duplicate_cloids:
            held = state.cloid_index.get((account.address, wire.cloid))
            if held is not None and held.is_open:
                return _order_error(asset, f"{DUPLICATE_CLOID} {wire.cloid}.")
        book = state.books[coin]
        side = wire.side
        post_only = wire.tif == "Alo" or modify_mode
        if modify_mode and wire.tif in ("Ioc", "FrontendMarket"):
            return {"error": "Attempted to modify to invalid new order"}
        if post_only and book.would_cross(side, px):
            bid, ask = book.best(BID), book.best(ASK)
            return _order_error(
                asset,
                f"{POST_ONLY_WOULD_MATCH}, bbo was {fmt_plain(bid) if bid is not None else '0'}"
                f"@{fmt_plain(ask) if ask is not None else '0'}.",
            )
        is_ioc = wire.tif in ("Ioc", "FrontendMarket")
        if is_ioc and not book.would_cross(side, px):
            return _order_error(asset, "Order could not immediately match against any resting orders.")
        if not wire.reduce_only and not margin_ok(state, account, coin, side, px, sz):
            return _order_error(asset, "Insufficient margin to place order.")

        order = TwinOrder(
            oid=state.new_oid(), owner=account.address, coin=coin, asset=asset, side=side, limit_px=px, orig_sz=sz,
            sz=sz, tif=wire.tif or "Gtc", reduce_only=wire.reduce_only, cloid=wire.cloid, timestamp_ms=now,
            seq=state.new_order_seq(), status="open", status_ts_ms=now,
        )
        state.orders[order.oid] = order
        if order.cloid:
            state.cloid_index[(account.address, order.cloid)] = order

        if not post_only:
            max_take = sz
            if wire.reduce_only:
                max_take = min(sz, abs(account.szi(coin)))
            self._take(account, order, max_take, now)

        if order.sz > 0 and not is_ioc:
            book.add_resting(order)
            state.open_orders[order.oid] = order
            self._order_update(order, "open", now)
            self.feed.coin_changed(coin, now)
            status: dict = {"resting": {"oid": order.oid}}
            if order.cloid:
                status["resting"]["cloid"] = order.cloid
            return status
        if order.sz > 0:  # IOC remainder
            self._set_status(order, "canceled", now)
            self._order_update(order, "canceled", now)
        self.feed.coin_changed(coin, now)
        if order.filled_sz == 0:
            return _order_error(asset, "Order could not immediately match against any resting orders.")
        status = {"filled": {"totalSz": fmt_decimal(order.filled_sz),
                             "avgPx": fmt_decimal(quantize_px(order.filled_notional / order.filled_sz)), "oid": order.oid}}
        if order.cloid:
            status["filled"]["cloid"] = order.cloid
        return status

    def _validate_new_order(self, account: Account, wire: OrderWire) -> tuple[str, Decimal, Decimal] | dict:
        """``(coin, px, sz)`` or an error status (checks in the venue's order: shape, tick, value, RO)."""
        state = self.state
        cfg = state.config
        asset = wire.asset
        if not 0 <= asset < len(state.coins):
            return {"error": f"Invalid asset. asset={asset}"}
        spec = state.coins[asset]
        if wire.is_trigger:
            return _order_error(asset, "Trigger orders are not supported by the twin.")
        sz = to_decimal(wire.size_text)
        if sz is None or sz < 0 or decimal_places(sz) > spec.sz_decimals:
            return _order_error(asset, "Order has invalid size.")
        if sz == 0:
            return _order_error(asset, "Order has zero size.")
        px = to_decimal(wire.price_text)
        if px is None or px <= 0:
            return _order_error(asset, "Order has invalid price.")
        if not hl_rules.is_valid_price(px, spec.sz_decimals):
            return _order_error(asset, "Price must be divisible by tick size.")
        exempt = wire.reduce_only and cfg.min_value_exempt_reduce_only
        if not exempt and px * sz < Decimal(cfg.min_order_value_usd):
            return _order_error(asset, f"Order must have minimum value of ${fmt_plain(Decimal(cfg.min_order_value_usd))}.")
        if wire.reduce_only:
            szi = account.szi(spec.name)
            if szi == 0 or (szi > 0) == wire.is_buy:
                return _order_error(asset, "Reduce only order would increase position.")
        if sum(1 for o in state.open_orders.values() if o.owner == account.address) >= cfg.max_open_orders:
            return _order_error(asset, f"Too many open orders (max {cfg.max_open_orders}).")
        return spec.name, px, sz

    def _take(self, account: Account, order: TwinOrder, max_take: Decimal, now: int) -> None:
        """Match a crossing twin order against the book and book all resulting fills."""
        state = self.state
        book = state.books[order.coin]
        result = book.take(order.side, order.limit_px, max_take, account.address)
        for canceled in result.self_trade_canceled:
            state.open_orders.pop(canceled.oid, None)
            self._set_status(canceled, "selfTradeCanceled", now)
            self._order_update(canceled, "selfTradeCanceled", now)
            state.emit(("user", canceled.owner), {"nonUserCancel": [{"coin": canceled.coin, "oid": canceled.oid}]})
        taker_fills: list[dict] = []
        trades: list[dict] = []
        touched_accounts: set[str] = {account.address}
        for take in result.takes:
            order.record_fill(take.px, take.sz)
            tid = state.new_tid()
            maker_owner = take.maker.owner if take.maker is not None else ZERO_ADDRESS
            buyer, seller = (account.address, maker_owner) if order.side == BID else (maker_owner, account.address)
            state.record_print(order.coin, order.side, take.px, take.sz, now, trades, users=(buyer, seller), tid=tid)
            taker_fills.append(self._book_fill(account, order, take.px, take.sz, True, now, tid))
            if take.maker is not None:
                maker = take.maker
                maker_account = state.accounts[maker.owner]
                fill = self._book_fill(maker_account, maker, take.px, take.sz, False, now, tid)
                self._publish_fills(maker_account.address, [fill])
                if maker.sz <= 0:
                    state.open_orders.pop(maker.oid, None)
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
            state.emit(("trades", order.coin), trades)
            state.emit(("candle", order.coin), now)
        for address in touched_accounts:
            self._reduce_only_housekeeping(state.accounts[address], order.coin, now)

    # ------------------------------------------------------------------ fills
    def _book_fill(
        self, account: Account, order: TwinOrder, px: Decimal, sz: Decimal, is_taker: bool, now: int, tid: int
    ) -> dict:
        rate = self.state.config.fees.rate(order.coin, is_taker)
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

    def book_maker_fill_from_market(self, order: TwinOrder, px: Decimal, sz: Decimal, now: int, tid: int | None = None) -> None:
        """A replayed print or crossing book filled a resting twin order (the book already reduced its size)."""
        state = self.state
        account = state.accounts[order.owner]
        fill = self._book_fill(account, order, px, sz, False, now, state.new_tid() if tid is None else tid)
        self._publish_fills(account.address, [fill])
        if order.sz <= 0:
            state.open_orders.pop(order.oid, None)
            self._set_status(order, "filled", now)
            self._order_update(order, "filled", now)
        else:
            self._order_update(order, "open", now)
        self._reduce_only_housekeeping(account, order.coin, now)

    def _publish_fills(self, user: str, fills: list[dict]) -> None:
        self.state.emit(("userFills", user), fills)
        self.state.emit(("user", user), {"fills": fills})

    def _reduce_only_housekeeping(self, account: Account, coin: str, now: int) -> None:
        """Cancel reduce-only orders that would now increase the position (``reduceOnlyCanceled``)."""
        state = self.state
        szi = account.szi(coin)
        for order in [o for o in state.open_orders.values() if o.owner == account.address and o.coin == coin and o.reduce_only]:
            if szi == 0 or (szi > 0) == (order.side == BID):
                self.cancel_order(order, "reduceOnlyCanceled", now)
                state.emit(("user", account.address), {"nonUserCancel": [{"coin": order.coin, "oid": order.oid}]})

    # ------------------------------------------------------------------ status changes
    def cancel_order(self, order: TwinOrder, status: str, now: int) -> None:
        """Take a resting order off the book with ``status`` (canceled, scheduledCancel, ...)."""
        state = self.state
        state.books[order.coin].remove_resting(order)
        state.open_orders.pop(order.oid, None)
        self._set_status(order, status, now)
        self._order_update(order, status, now)
        self.feed.coin_changed(order.coin, now)

    @staticmethod
    def _set_status(order: TwinOrder, status: str, now: int) -> None:
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
        self.state.emit(("orderUpdates", order.owner), [{"order": wire, "status": status, "statusTimestamp": now}])
