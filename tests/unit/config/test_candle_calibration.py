"""Candle mode: estimator windows span at least CANDLE_MIN_WINDOW_BARS bars (core.params.candle_calibration)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from botmm_nautilus.config.asset import load_config
from botmm_nautilus.config.loader import override
from botmm_nautilus.core.decision import MarketMakerCore
from botmm_nautilus.core.params import CANDLE_MIN_WINDOW_BARS
from botmm_nautilus.venue.rules import HyperliquidGrid

CONFIGS = Path(__file__).resolve().parents[3] / "configs"


def test_candle_mode_raises_short_windows_to_twenty_bars_and_keeps_longer_ones():
    cfg = load_config(CONFIGS / "btc.yaml")  # vol_half_life_s 120, intensity_window_s 600
    book = cfg.strategy_config("BTC-USDC-PERP.HL", mode="book").calibration
    candles = cfg.strategy_config("BTC-USDC-PERP.HL", mode="candles", bar_type="x", sample_interval_s=300.0).calibration
    assert (book.vol_half_life_s, book.intensity_window_s) == (120.0, 600.0)
    assert (candles.vol_half_life_s, candles.intensity_window_s) == (CANDLE_MIN_WINDOW_BARS * 300.0,) * 2
    long = override(cfg, **{"calibration.vol_half_life_s": 20_000.0, "backtest.bar_interval": "1-MINUTE"})
    c2 = long.strategy_config("BTC-USDC-PERP.HL", mode="candles", bar_type="x", sample_interval_s=60.0).calibration
    assert (c2.vol_half_life_s, c2.intensity_window_s) == (20_000.0, 1_200.0)
    assert c2.default_A_per_s == cfg.calibration.default_A_per_s  # nothing else changes


def _sigma_after_quiet_bar(calibration) -> tuple[float, float]:
    """Feed 60 bars alternating +-10 bps, then one unchanged close: (estimated, true) sigma per bar."""
    cfg = load_config(CONFIGS / "btc.yaml")
    core = MarketMakerCore(cfg.quoting, calibration, cfg.risk, cfg.signals, grid=HyperliquidGrid(5), capital_usd=10_000.0, maker_fee_bps=1.5)
    close, ts = 100_000.0, 0
    for i in range(60):
        ts += 300 * 10**9
        close *= math.exp(1e-3 if i % 2 else -1e-3)
        core.on_bar(ts, close, close, close, close)
    ts += 300 * 10**9
    core.on_bar(ts, close, close, close, close)
    return core.vol.sigma_frac * math.sqrt(300.0), 1e-3


def test_candle_volatility_is_not_the_last_bar_return():
    """With the configured 120 s half-life on 300 s bars one quiet bar cuts sigma to ~40% of the
    true per-bar volatility; with the 20-bar window it stays within a few percent."""
    cfg = load_config(CONFIGS / "btc.yaml")
    est_raw, true = _sigma_after_quiet_bar(cfg.calibration)
    est_candle, _ = _sigma_after_quiet_bar(cfg.strategy_config("BTC-USDC-PERP.HL", mode="candles", bar_type="x", sample_interval_s=300.0).calibration)
    assert est_raw < 0.5 * true  # the degenerate window the audit found
    assert est_candle == pytest.approx(true, rel=0.05)
