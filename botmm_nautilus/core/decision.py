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

from botmm_nautilus.config.asset import MMConfig
from botmm_nautilus.core.estimators import ArrivalIntensityEstimator
from botmm_nautilus.core.estimators import EwmaVolatility
from botmm_nautilus.core.quoting import QuoteInputs
from botmm_nautilus.core.quoting import QuoteParams
from botmm_nautilus.core.quoting import compute_ladder
from botmm_nautilus.core.risk import RiskConfig
from botmm_nautilus.core.risk import RiskDecision
from botmm_nautilus.core.risk import RiskManager
from botmm_nautilus.venue import rules as hl_rules


@dataclass(slots=True)
class QuoteDecision:
    bids: list[tuple[float, float]]  # (price, size) best first
    asks: list[tuple[float, float]]
    risk: RiskDecision
    mid: float


def quote_params_from_config(cfg: MMConfig) -> QuoteParams:
    q = cfg.quoting
    return QuoteParams(
        gamma=q.gamma,
        horizon_s=q.horizon_s,
        levels=q.levels,
        level_spacing_bps=q.level_spacing_bps,
        size_weights=tuple(q.size_weights[: q.levels]),
        order_size_usd=q.order_size_usd,
        max_position_usd=cfg.risk.max_position_usd,
        min_half_spread_bps=q.min_half_spread_bps,
        max_half_spread_bps=q.max_half_spread_bps,
        adj_spread=q.adj_spread,
        adj_skew=q.adj_skew,
        imbalance_weight_bps=q.imbalance_weight_bps,
        bias_weight_bps=q.bias_weight_bps,
        fee_gate=q.fee_gate,
        maker_fee=cfg.venue.maker_fee,
        expected_adverse_bps=q.expected_adverse_bps,
        classic_base_spread_bps=q.classic_base_spread_bps,
        classic_vol_multiplier=q.classic_vol_multiplier,
        classic_min_spread_bps=q.classic_min_spread_bps,
        classic_max_spread_bps=q.classic_max_spread_bps,
        classic_skew_factor=q.classic_skew_factor,
    )


def risk_config_from_config(cfg: MMConfig) -> RiskConfig:
    r = cfg.risk
    return RiskConfig(
        max_position_usd=r.max_position_usd,
        one_side_stop_ratio=r.one_side_stop_ratio,
        max_daily_loss_frac=r.max_daily_loss_frac,
        max_drawdown_frac=r.max_drawdown_frac,
        vol_spike_ratio=r.vol_spike_ratio,
        vol_spike_cooldown_s=r.vol_spike_cooldown_s,
        stale_book_s=r.stale_book_s,
        post_only_reject_count=r.post_only_reject_count,
        post_only_reject_window_s=r.post_only_reject_window_s,
        post_only_reject_pause_s=r.post_only_reject_pause_s,
        flatten_on_kill=r.flatten_on_stop,
    )


class MarketMakerCore:
    """Estimators + risk + quote model for one instrument."""

    def __init__(self, cfg: MMConfig, sz_decimals: int) -> None:
        self.cfg = cfg
        self.sz_decimals = sz_decimals
        self.params = quote_params_from_config(cfg)
        c = cfg.calibration
        # 1 s sampling: at tick level the bid-ask bounce of the mid inflates sigma
        self.vol = EwmaVolatility(half_life_s=c.vol_half_life_s, sample_interval_s=1.0)
        self.intensity = ArrivalIntensityEstimator(window_s=c.intensity_window_s, refit_every_s=c.intensity_refit_every_s)
        self.risk = RiskManager(risk_config_from_config(cfg), capital_usd=cfg.capital_usd)
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
            return self.cfg.calibration.default_sigma_bps_per_sqrt_s * 1e-4 * self.mid
        return s

    def arrival_params(self) -> tuple[float, float]:
        """(A per second, k per price unit)."""
        fit = self.intensity.fit()
        if fit is not None and fit.valid:
            return fit.A, fit.k
        c = self.cfg.calibration
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
            time_left_s=self.cfg.quoting.horizon_s,
            sz_decimals=self.sz_decimals,
            best_bid=self.best_bid if self.best_bid == self.best_bid else None,
            best_ask=self.best_ask if self.best_ask == self.best_ask else None,
            skip_buy=not decision.can_quote_bid,
            skip_sell=not decision.can_quote_ask,
        )
        ladder = compute_ladder(self.cfg.quoting.model, inputs, self.params)
        bids = [(q.price, q.size) for q in ladder.bids] if decision.can_quote_bid else []
        asks = [(q.price, q.size) for q in ladder.asks] if decision.can_quote_ask else []
        if decision.spread_multiplier != 1.0:
            bids, asks = self._widen(bids, asks, mid, decision.spread_multiplier)
        if decision.size_multiplier != 1.0:
            bids = self._scale(bids, decision.size_multiplier)
            asks = self._scale(asks, decision.size_multiplier)
        # Worst-case exposure: in-flight orders count toward the position limit.
        max_pos_base = self.cfg.risk.max_position_usd / mid
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
