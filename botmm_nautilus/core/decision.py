"""The market maker's decision core, independent of any engine and of any exchange.

The Nautilus strategy (strategies/market_maker.py) is a thin translator: it feeds market events
into a ``MarketMakerCore`` and turns the ladders it returns into orders. Backtest and live trading
run the same core, and the core is tested without Nautilus (tests/unit/core/test_decision.py). The
instrument's price and size rules come in as a ``PriceGrid`` (core/grid.py).

Causality: every estimator and signal is updated with an event before any quote that depends on
it is built, and nothing reads data stamped after the decision time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from botmm_nautilus.core.estimators import ArrivalIntensityEstimator
from botmm_nautilus.core.estimators import EwmaVolatility
from botmm_nautilus.core.grid import PriceGrid
from botmm_nautilus.core.params import CalibrationParams
from botmm_nautilus.core.params import QuotingParams
from botmm_nautilus.core.params import RiskParams
from botmm_nautilus.core.params import SignalsParams
from botmm_nautilus.core.params import fee_fraction
from botmm_nautilus.core.quoting import QuoteInputs
from botmm_nautilus.core.quoting import compute_ladder
from botmm_nautilus.core.risk import RiskDecision
from botmm_nautilus.core.risk import RiskManager
from botmm_nautilus.core.signals import Signals


@dataclass(slots=True)
class QuoteDecision:
    bids: list[tuple[float, float]]  # (price, size) best first
    asks: list[tuple[float, float]]
    risk: RiskDecision
    mid: float


class MarketMakerCore:
    """Estimators + signals + risk + quote model for one instrument.

    It reads its parameters from the configuration sections themselves (``QuotingParams``,
    ``CalibrationParams``, ``RiskParams``, ``SignalsParams``); the inputs no section holds are
    arguments: ``grid`` (the instrument's prices, lots and minimum order value; the caller may
    replace ``core.grid`` when the instrument's rules change), ``capital_usd`` (what the risk
    limits scale with) and ``maker_fee_bps`` (the fee gates' cost of a maker fill).

    Events: ``on_book`` (touch), ``on_book_levels`` (level sizes, before a decision, when
    ``book_levels`` > 0), ``on_trade``, ``on_bar`` (candle mode). Decision: ``decide``.
    """

    def __init__(
        self,
        quoting: QuotingParams,
        calibration: CalibrationParams,
        risk: RiskParams,
        signals: SignalsParams,
        *,
        grid: PriceGrid,
        capital_usd: float,
        maker_fee_bps: float,
    ) -> None:
        self.quoting = quoting
        self.calibration = calibration
        self.grid = grid
        self.maker_fee = fee_fraction(maker_fee_bps)
        c = calibration
        self.vol = EwmaVolatility(half_life_s=c.vol_half_life_s, sample_interval_s=c.vol_sample_interval_s)
        self.intensity = ArrivalIntensityEstimator(window_s=c.intensity_window_s, refit_every_s=c.intensity_refit_every_s)
        self.signals = Signals(signals)
        self.risk = RiskManager(risk, capital_usd=capital_usd)
        self.mid = math.nan
        self.best_bid = math.nan
        self.best_ask = math.nan
        self.last_book_ts_ns = 0
        # quoting decisions, and how many used the estimators' values rather than the defaults
        self.quotes_built = 0
        self.quotes_sigma_fitted = 0
        self.quotes_intensity_fitted = 0
        self.intensity_fitted = False  # whether the last arrival_params() came from a valid fit
        # levels per side at most (None: the quote model's ladder): set from outside when the
        # venue's action budget runs short, so fewer orders are kept and moved
        self.max_levels: int | None = None

    @property
    def book_levels(self) -> int:
        """Level sizes per side the signals need from ``on_book_levels`` before a decision (0: none)."""
        return self.signals.book_levels

    # ------------------------------------------------------------------ market events
    def on_book(self, ts_ns: int, best_bid: float, best_ask: float) -> None:
        """The touch of the book at ``ts_ns`` (book mode, every book update)."""
        self.last_book_ts_ns = ts_ns
        self.best_bid = best_bid
        self.best_ask = best_ask
        mid = 0.5 * (best_bid + best_ask)
        if mid != self.mid:
            self.mid = mid
            self.vol.update(ts_ns, mid)
            self.intensity.on_mid(ts_ns, mid)
            if self.signals.bias_model is not None:
                self.signals.on_mid(ts_ns, mid)

    # whether ``on_book_levels`` should also be given the levels' prices (an adaptive feature reads them)
    wants_level_prices = False

    def on_book_levels(self, ts_ns: int, bid_sizes, ask_sizes, bid_prices=(), ask_prices=()) -> None:
        """Sizes of the first ``book_levels`` levels of each side, best first, of the book whose touch
        ``on_book`` reported last (book imbalance and microprice); their prices when
        ``wants_level_prices`` (this core does not read them)."""
        self.signals.on_levels(ts_ns, self.best_bid, self.best_ask, bid_sizes, ask_sizes)

    def on_trade(self, ts_ns: int, price: float, size: float, aggressor_is_buyer: bool) -> None:
        if self.mid == self.mid:  # not NaN
            self.intensity.on_trade(ts_ns, price, aggressor_is_buyer, self.mid)
        if self.signals.flow_model is not None:
            self.signals.on_trade(ts_ns, price, size, aggressor_is_buyer)

    def on_bar(self, ts_ns: int, open_: float, high: float, low: float, close: float) -> None:
        """Candle mode: the bar is complete at ``ts_ns`` (its close time); quotes use only its close."""
        self.last_book_ts_ns = ts_ns
        tick = self.grid.tick_size(close)
        self.best_bid = close - 0.5 * tick
        self.best_ask = close + 0.5 * tick
        self.mid = close
        self.vol.update(ts_ns, close)
        self.signals.on_bar_close(ts_ns, close)

    # ------------------------------------------------------------------ decisions
    def arrival_params(self) -> tuple[float, float]:
        """(A per second, k per price unit)."""
        fit = self.intensity.fit()
        self.intensity_fitted = fit is not None and fit.valid
        if self.intensity_fitted:
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
        """The desired ladder now. ``open_*_qty``: quantity in in-flight orders on each side.

        σ is the estimator's once it is ready, else ``default_sigma_bps_per_sqrt_s`` of the mid; the
        classic model's volatility is that σ over an hour, as a fraction of the mid.

        The steps (each a method, so that ``AdaptiveCore`` inserts its own between them without a
        second copy): ``_risk_step`` (risk rules, σ), ``_base_ladder`` (the quote model around the
        fair value), ``_risk_scaling`` (level limit, the risk rules' spread and size multipliers),
        ``_cap_position`` (the position limit with in-flight orders counted).
        """
        mid = self.mid
        if not mid > 0:
            return None
        decision, sigma = self._risk_step(ts_ns, position_base, equity_usd, open_buy_qty, open_sell_qty)
        if sigma is None:
            return QuoteDecision([], [], decision, mid)
        bids, asks = self._base_ladder(decision, sigma, position_base, self._signal_fair_value(sigma))
        bids, asks = self._risk_scaling(bids, asks, decision)
        bids, asks = self._cap_position(bids, asks, position_base, open_buy_qty, open_sell_qty)
        return QuoteDecision(bids, asks, decision, mid)

    def _risk_step(self, ts_ns: int, position_base: float, equity_usd: float, open_buy_qty: float, open_sell_qty: float):
        """The risk rules' decision and the σ to quote with; σ is None when no side may quote
        (cancel all, or both sides stopped). Counts the quoting decision and its estimator use."""
        mid = self.mid
        vol = self.vol
        sigma = vol.sigma_price
        sigma_ready = vol.ready and sigma > 0
        decision = self.risk.update(
            ts_ns,
            equity_usd=equity_usd,
            mid=mid,
            sigma=sigma if sigma_ready else None,
            last_book_ts_ns=self.last_book_ts_ns,
            worst_case_long_usd=(position_base + open_buy_qty) * mid,
            worst_case_short_usd=(position_base - open_sell_qty) * mid,
        )
        if decision.cancel_all or not (decision.can_quote_bid or decision.can_quote_ask):
            return decision, None
        self.quotes_built += 1
        if sigma_ready:
            self.quotes_sigma_fitted += 1
        else:
            sigma = self.calibration.default_sigma_bps_per_sqrt_s * 1e-4 * mid
        return decision, sigma

    def _signal_fair_value(self, sigma: float) -> float | None:
        """The signals' fair value (None while every signal is off: the quote model uses the mid);
        ``sigma``: the volatility quoted with (price per √s; the bias's shift scales with it)."""
        return self.signals.fair_value(self.mid, sigma) if self.signals.active else None

    def _base_ladder(self, decision: RiskDecision, sigma: float, position_base: float, fair_value: float | None):
        """The quote model's ladder around ``fair_value`` (None: the mid), sides the risk rules stop left empty."""
        mid = self.mid
        A, k = self.arrival_params()
        self.quotes_intensity_fitted += self.intensity_fitted
        signals = self.signals
        active = signals.active
        inputs = QuoteInputs(
            mid=mid,
            fair_value=fair_value,
            position_usd=position_base * mid,
            sigma=sigma,
            A=A,
            k=k,
            vol_frac=sigma / mid * 60.0,
            imbalance=signals.imbalance if active else 0.0,
            bias=signals.bias if active else 0.0,
            time_left_s=self.quoting.horizon_s,
            best_bid=self.best_bid if self.best_bid == self.best_bid else None,
            best_ask=self.best_ask if self.best_ask == self.best_ask else None,
            skip_buy=not decision.can_quote_bid,
            skip_sell=not decision.can_quote_ask,
        )
        ladder = compute_ladder(inputs, self.quoting, grid=self.grid, maker_fee=self.maker_fee, max_position_usd=self.risk.max_position_usd)
        bids = [(q.price, q.size) for q in ladder.bids] if decision.can_quote_bid else []
        asks = [(q.price, q.size) for q in ladder.asks] if decision.can_quote_ask else []
        return bids, asks

    def _risk_scaling(self, bids, asks, decision: RiskDecision):
        """At most ``max_levels`` levels a side, then the risk rules' spread and size multipliers."""
        n = self.max_levels
        if n is not None:  # the innermost levels: they earn the spread, the outer ones cost the same actions
            bids = bids[:n]
            asks = asks[:n]
        if decision.spread_multiplier != 1.0:
            bids, asks = self._widen(bids, asks, self.mid, decision.spread_multiplier)
        if decision.size_multiplier != 1.0:
            bids = self._scale(bids, decision.size_multiplier)
            asks = self._scale(asks, decision.size_multiplier)
        return bids, asks

    def _cap_position(self, bids, asks, position_base: float, open_buy_qty: float, open_sell_qty: float):
        """Worst-case exposure: in-flight orders count toward the position limit (the effective
        limit: absolute cap and capital multiple)."""
        max_pos_base = self.risk.max_position_usd / self.mid
        bids = self._cap(bids, max_pos_base - position_base - open_buy_qty)
        asks = self._cap(asks, max_pos_base + position_base - open_sell_qty)
        return bids, asks

    def _widen(self, bids, asks, mid: float, mult: float):
        round_price = self.grid.round_price
        bids = [(round_price(mid - (mid - p) * mult, "down"), s) for p, s in bids]
        asks = [(round_price(mid + (p - mid) * mult, "up"), s) for p, s in asks]
        return bids, asks

    def _scale(self, levels: list[tuple[float, float]], mult: float) -> list[tuple[float, float]]:
        grid = self.grid
        out = []
        for p, s in levels:
            s2 = grid.round_size(s * mult)
            if s2 > 0 and grid.meets_min_value(p, s2):
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
                grid = self.grid
                s = grid.round_size(max(room_base - used, 0.0))
                if s > 0 and grid.meets_min_value(p, s):
                    out.append((p, s))
                break
            out.append((p, s))
            used += s
        return out
