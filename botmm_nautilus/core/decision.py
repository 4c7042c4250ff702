"""The market maker's decision core, independent of any engine.

The Nautilus strategy (strategies/market_maker.py) is a thin translator: it feeds market events
and fills into a ``MarketMakerCore`` and turns the ladders it returns into orders. Backtest and
live trading run the same core, and the core can be tested without Nautilus.

Causality: every estimator is updated with an event before any quote that depends on it is built,
and nothing reads data stamped after the decision time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from botmm_nautilus.core.estimators import ArrivalIntensityEstimator
from botmm_nautilus.core.estimators import EwmaVolatility
from botmm_nautilus.core.params import CalibrationParams
from botmm_nautilus.core.params import QuotingParams
from botmm_nautilus.core.params import RiskParams
from botmm_nautilus.core.params import fee_fraction
from botmm_nautilus.core.quoting import QuoteInputs
from botmm_nautilus.core.quoting import compute_ladder
from botmm_nautilus.core.risk import RiskDecision
from botmm_nautilus.core.risk import RiskManager
from botmm_nautilus.venue import rules as hl_rules


@dataclass(slots=True)
class QuoteDecision:
    bids: list[tuple[float, float]]  # (price, size) best first
    asks: list[tuple[float, float]]
    risk: RiskDecision
    mid: float


class MarketMakerCore:
    """Estimators + risk + quote model for one instrument.

    It reads its parameters from the configuration sections themselves (``QuotingParams``,
    ``CalibrationParams``, ``RiskParams``); the inputs no section holds are arguments:
    ``capital_usd`` (what the risk limits scale with), ``maker_fee_bps`` (the fee gates' cost of a
    maker fill) and ``sz_decimals`` (the instrument's lot rule).
    """

    def __init__(
        self,
        quoting: QuotingParams,
        calibration: CalibrationParams,
        risk: RiskParams,
        *,
        capital_usd: float,
        maker_fee_bps: float,
        sz_decimals: int,
    ) -> None:
        self.quoting = quoting
        self.calibration = calibration
        self.maker_fee = fee_fraction(maker_fee_bps)
        self.sz_decimals = sz_decimals
        c = calibration
        self.vol = EwmaVolatility(half_life_s=c.vol_half_life_s, sample_interval_s=c.vol_sample_interval_s)
        self.intensity = ArrivalIntensityEstimator(window_s=c.intensity_window_s, refit_every_s=c.intensity_refit_every_s)
        self.risk = RiskManager(risk, capital_usd=capital_usd)
        self.mid = math.nan
        self.best_bid = math.nan
        self.best_ask = math.nan
        self.imbalance = 0.0
        self.bias = 0.0
        self.last_book_ts_ns = 0
        self._bar_vol_frac = math.nan

    # ------------------------------------------------------------------ market events
    def on_book(self, ts_ns: int, best_bid: float, best_ask: float, bid_depth: float = 0.0, ask_depth: float = 0.0) -> None:
        self.last_book_ts_ns = ts_ns
        self.best_bid = best_bid
        self.best_ask = best_ask
        mid = 0.5 * (best_bid + best_ask)
        if mid != self.mid:
            self.mid = mid
            self.vol.update(ts_ns, mid)
            self.intensity.on_mid(ts_ns, mid)
        tot = bid_depth + ask_depth
        if tot > 0:
            self.imbalance = (bid_depth - ask_depth) / tot

    def on_trade(self, ts_ns: int, price: float, size: float, aggressor_is_buyer: bool) -> None:
        if self.mid == self.mid:  # not NaN
            self.intensity.on_trade(ts_ns, price, aggressor_is_buyer, self.mid)

    def on_bar(self, ts_ns: int, open_: float, high: float, low: float, close: float) -> None:
        """Candle mode: the bar is complete at ``ts_ns`` (its close time); quotes use only its close."""
        self.last_book_ts_ns = ts_ns
        tick = hl_rules.tick_size(close, self.sz_decimals)
        self.best_bid = close - 0.5 * tick
        self.best_ask = close + 0.5 * tick
        self.mid = close
        self.vol.update(ts_ns, close)

    # ------------------------------------------------------------------ decisions
    def sigma_price_per_sqrt_s(self) -> float:
        s = self.vol.sigma_price
        if not self.vol.ready or not s > 0:
            return self.calibration.default_sigma_bps_per_sqrt_s * 1e-4 * self.mid
        return s

    def arrival_params(self) -> tuple[float, float]:
        """(A per second, k per price unit)."""
        fit = self.intensity.fit()
        if fit is not None and fit.valid:
            return fit.A, fit.k
        c = self.calibration
        k_per_price = c.default_k_per_bps / (1e-4 * self.mid)
        return c.default_A_per_s, k_per_price

    def decide(
        self,
        ts_ns: int,
        position_base: float,
        equity_usd: float,
        open_buy_qty: float = 0.0,
        open_sell_qty: float = 0.0,
    ) -> QuoteDecision | None:
        """The desired ladder now. ``open_*_qty``: quantity in in-flight orders on each side."""
        mid = self.mid
        if not mid > 0:
            return None
        sigma_ready = self.vol.ready and self.vol.sigma_price > 0
        decision = self.risk.update(
            ts_ns,
            equity_usd=equity_usd,
            mid=mid,
            sigma=self.vol.sigma_price if sigma_ready else None,
            last_book_ts_ns=self.last_book_ts_ns,
            worst_case_long_usd=(position_base + open_buy_qty) * mid,
            worst_case_short_usd=(position_base - open_sell_qty) * mid,
        )
        if decision.cancel_all or not (decision.can_quote_bid or decision.can_quote_ask):
            return QuoteDecision([], [], decision, mid)
        A, k = self.arrival_params()
        inputs = QuoteInputs(
            mid=mid,
            position_base=position_base,
            position_usd=position_base * mid,
            sigma=self.sigma_price_per_sqrt_s(),
            A=A,
            k=k,
            vol_frac=self.vol_frac_hourly(),
            imbalance=self.imbalance,
            bias=self.bias,
            time_left_s=self.quoting.horizon_s,
            sz_decimals=self.sz_decimals,
            best_bid=self.best_bid if self.best_bid == self.best_bid else None,
            best_ask=self.best_ask if self.best_ask == self.best_ask else None,
            skip_buy=not decision.can_quote_bid,
            skip_sell=not decision.can_quote_ask,
        )
        max_pos_usd = self.risk.max_position_usd  # the effective limit (absolute cap and capital multiple)
        ladder = compute_ladder(inputs, self.quoting, maker_fee=self.maker_fee, max_position_usd=max_pos_usd)
        bids = [(q.price, q.size) for q in ladder.bids] if decision.can_quote_bid else []
        asks = [(q.price, q.size) for q in ladder.asks] if decision.can_quote_ask else []
        if decision.spread_multiplier != 1.0:
            bids, asks = self._widen(bids, asks, mid, decision.spread_multiplier)
        if decision.size_multiplier != 1.0:
            bids = self._scale(bids, decision.size_multiplier)
            asks = self._scale(asks, decision.size_multiplier)
        # Worst-case exposure: in-flight orders count toward the position limit.
        max_pos_base = max_pos_usd / mid
        bids = self._cap(bids, max_pos_base - position_base - open_buy_qty)
        asks = self._cap(asks, max_pos_base + position_base - open_sell_qty)
        return QuoteDecision(bids, asks, decision, mid)

    def vol_frac_hourly(self) -> float:
        """Hourly volatility as a fraction of price (the classic model's ``vol`` input)."""
        return self.sigma_price_per_sqrt_s() / self.mid * 60.0

    def _widen(self, bids, asks, mid: float, mult: float):
        sz = self.sz_decimals
        bids = [(hl_rules.round_price(mid - (mid - p) * mult, sz, "down"), s) for p, s in bids]
        asks = [(hl_rules.round_price(mid + (p - mid) * mult, sz, "up"), s) for p, s in asks]
        return bids, asks

    def _scale(self, levels: list[tuple[float, float]], mult: float) -> list[tuple[float, float]]:
        out = []
        for p, s in levels:
            s2 = hl_rules.round_size(s * mult, self.sz_decimals)
            if s2 > 0 and hl_rules.meets_min_value(p, s2):
                out.append((p, s2))
        return out

    def _cap(self, levels: list[tuple[float, float]], room_base: float) -> list[tuple[float, float]]:
        """Trim a side's ladder so that position + ladder + untouchable orders stay within the limit.

        The desired ladder replaces the side's open orders, so only orders the ladder cannot
        replace (in flight: submitted but unacknowledged, or with a pending modify/cancel) are
        subtracted from the room by the caller.
        """
        out = []
        used = 0.0
        for p, s in levels:
            if used + s > room_base + 1e-12:
                s = hl_rules.round_size(max(room_base - used, 0.0), self.sz_decimals)
                if s > 0 and hl_rules.meets_min_value(p, s):
                    out.append((p, s))
                break
            out.append((p, s))
            used += s
        return out
