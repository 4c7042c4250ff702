"""``POST /info``: the request types the twin answers, with the venue's answers and error replies.

A body that is not a known request answers HTTP 422 with the venue's deserializer text (see
``wire``); an IP over its per-minute weight answers 429 with no body (only with
``enforce_rate_limits``); everything else answers 200. Unknown coins answer ``null``/``[]`` as the
venue does; list answers are newest first and capped like the venue's (2000 fills or orders,
500 funding records). Answers of 20 items or more cost extra IP weight.
"""

from __future__ import annotations

import time
from typing import Any
from typing import Callable

from botmm_nautilus.venue.limits import info_weight

from . import views
from .candles import INTERVALS
from .margin import clearinghouse_state
from .state import TwinState
from .wire import DeserializeError
from .wire import bad_l2_aggregation
from .wire import fmt_decimal
from .wire import fmt_usd
from .wire import json_type_name
from .wire import parse_oid_or_cloid
from .wire import require_address
from .wire import require_field
from .wire import require_int
from .wire import require_str

INFO_TYPES = (
    "meta", "metaAndAssetCtxs", "spotMeta", "allMids", "l2Book", "candleSnapshot", "clearinghouseState",
    "openOrders", "frontendOpenOrders", "orderStatus", "userFills", "userFillsByTime", "fundingHistory",
    "userFunding", "userRateLimit", "userFees", "historicalOrders", "extraAgents", "perpDexs", "exchangeStatus",
)
MAX_FUNDING_ITEMS = 500


class InfoHandlers:
    """Answers ``/info`` requests from the exchange state (after ``sync`` brought the market up to now)."""

    def __init__(self, state: TwinState, sync: Callable[[], None]) -> None:
        self.state = state
        self.sync = sync

    def handle(self, body: Any, client_ip: str = "127.0.0.1") -> tuple[int, Any]:
        """``(http_status, json body or str for 422)``."""
        state = self.state
        with state.lock:
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
                if state.ip_limited(client_ip, info_weight(kind)):
                    return 429, None
                self.sync()
                result = getattr(self, "_info_" + kind)(body)
                n_items = len(result) if isinstance(result, list) else 0
                if n_items >= 20:
                    state.ip_limiter.add(client_ip, info_weight(kind, n_items) - info_weight(kind), time.monotonic())
                return 200, result
            except DeserializeError as exc:
                return 422, exc.http_text

    # ------------------------------------------------------------------ market
    def _info_meta(self, body: dict) -> dict:
        return views.meta(self.state)

    def _info_metaAndAssetCtxs(self, body: dict) -> list:
        state = self.state
        now = state.now_ms()
        return [views.meta(state), [views.asset_ctx(state, c.name, now) for c in state.coins]]

    def _info_spotMeta(self, body: dict) -> dict:
        return {"universe": [], "tokens": []}

    def _info_perpDexs(self, body: dict) -> list:
        return [None]

    def _info_exchangeStatus(self, body: dict) -> dict:
        return {"time": self.state.now_ms(), "specialStatuses": None}

    def _info_allMids(self, body: dict) -> dict:
        return views.all_mids(self.state)

    def _info_l2Book(self, body: dict) -> dict | None:
        coin = require_str(body, "coin")
        n_sig = body.get("nSigFigs")
        mantissa = body.get("mantissa")
        bad = bad_l2_aggregation(n_sig, mantissa)
        if bad == "nSigFigs":
            raise DeserializeError(f"invalid value: {json_type_name(n_sig)}, expected nSigFigs in 2..5 or null")
        if bad == "mantissa":
            raise DeserializeError(f"invalid value: {json_type_name(mantissa)}, mantissa must be 1, 2 or 5 and needs nSigFigs 5")
        if coin not in self.state.books:
            return None
        return views.l2_book_wire(self.state, coin, self.state.now_ms(), n_sig, mantissa)

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
        now = self.state.now_ms()
        end = now if end is None else min(end, now)
        candles = self.state.candles.get(coin)
        if candles is None:
            return []
        return [c.to_wire(coin, interval) for c in candles.candles(interval, start, end)]

    def _info_fundingHistory(self, body: dict) -> list:
        coin = require_str(body, "coin")
        start, end = self._time_range(body)
        history = self.state.funding_history.get(coin)
        if history is None:
            return []
        return [r for r in history if start <= r["time"] <= end][:MAX_FUNDING_ITEMS]

    # ------------------------------------------------------------------ accounts
    def _info_clearinghouseState(self, body: dict) -> dict:
        return clearinghouse_state(self.state, require_address(body))

    def _info_openOrders(self, body: dict) -> list:
        return [views.order_wire(o) for o in self.state.open_orders_of(require_address(body))]

    def _info_frontendOpenOrders(self, body: dict) -> list:
        return [views.order_wire(o, frontend=True) for o in self.state.open_orders_of(require_address(body))]

    def _info_orderStatus(self, body: dict) -> dict:
        user = require_address(body)
        ref = parse_oid_or_cloid(require_field(body, "oid"))
        order = self.state.find_order(user, ref)
        if order is None:
            return {"status": "unknownOid"}
        return {"status": "order", "order": {"order": views.order_wire(order, frontend=True), "status": order.status,
                                             "statusTimestamp": order.status_ts_ms}}

    def _info_historicalOrders(self, body: dict) -> list:
        user = require_address(body)
        orders = sorted((o for o in self.state.orders.values() if o.owner == user), key=lambda o: -o.seq)[:views.MAX_LIST_ITEMS]
        return [{"order": views.order_wire(o, frontend=True), "status": o.status, "statusTimestamp": o.status_ts_ms}
                for o in orders]

    def _info_userFills(self, body: dict) -> list:
        return list(reversed(self.state.fills_of(require_address(body))))[:self.state.config.max_fills_per_answer]

    def _info_userFillsByTime(self, body: dict) -> list:
        """The newest ``max_fills_per_answer`` fills in [startTime, endTime], newest first."""
        user = require_address(body)
        start, end = self._time_range(body)
        fills = [f for f in self.state.fills_of(user) if start <= f["time"] <= end]
        return list(reversed(fills))[:self.state.config.max_fills_per_answer]

    def _info_userFunding(self, body: dict) -> list:
        user = require_address(body)
        start, end = self._time_range(body)
        account = self.state.accounts.get(user)
        if account is None:
            return []
        return [r for r in account.fundings if start <= r["time"] <= end][:MAX_FUNDING_ITEMS]

    def _info_userRateLimit(self, body: dict) -> dict:
        return views.user_rate_limit(self.state, require_address(body))

    def _info_userFees(self, body: dict) -> dict:
        user = require_address(body)
        fees = self.state.config.fees
        account = self.state.accounts.get(user)
        return {
            "dailyUserVlm": [],
            "feeSchedule": {"cross": fmt_decimal(fees.taker_rate), "add": fmt_decimal(fees.maker_rate), "tiers": {},
                            "referralDiscount": "0.0"},
            "userCrossRate": fmt_decimal(fees.taker_rate),
            "userAddRate": fmt_decimal(fees.maker_rate),
            "activeReferralDiscount": "0.0",
            "cumVlm": fmt_usd(account.cum_volume_usd) if account else "0.0",
        }

    def _info_extraAgents(self, body: dict) -> list:
        user = require_address(body)
        return [
            {"name": a.name, "address": a.address, "validUntil": a.valid_until_ms}
            for a in self.state.agents.agents_of(user)
            if a.name
        ]

    def _time_range(self, body: dict) -> tuple[int, int]:
        """``startTime`` (required) and ``endTime`` (default: now) of a history request."""
        start = require_int(body, "startTime")
        end = require_int(body, "endTime", optional=True, default=None)
        return start, self.state.now_ms() if end is None else end
