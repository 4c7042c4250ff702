"""The ``adaptive:`` section of the per-asset YAML: it reaches an adaptive strategy's config only,
and candle mode runs it on the bar's time scale (``candle_adaptive``)."""

from __future__ import annotations

from nautilus_trader.model.identifiers import InstrumentId

from botmm_nautilus.config.asset import config_from_dict
from botmm_nautilus.strategies import AdaptiveMarketMakerConfig
from botmm_nautilus.strategies import MarketMakerConfig

IID = InstrumentId.from_str("BTC-USDC-PERP.HL")


def test_adaptive_section_goes_to_adaptive_configs_only():
    cfg = config_from_dict({"coin": "BTC", "adaptive": {"use_fill_rate": True, "fill_rate_target_low": 0.3}})
    mm = cfg.strategy_config(IID)
    assert type(mm) is MarketMakerConfig and not hasattr(mm, "adaptive")
    ad = cfg.strategy_config(IID, strategy="AdaptiveMarketMaker")
    assert isinstance(ad, AdaptiveMarketMakerConfig) and ad.adaptive == cfg.adaptive
    # the Nautilus importable config round trip (the backtest runner's path) keeps it
    assert AdaptiveMarketMakerConfig.parse(ad.json()).adaptive.fill_rate_target_low == 0.3


def test_candle_mode_puts_the_features_on_the_bar_scale():
    cfg = config_from_dict({"coin": "BTC", "backtest": {"bar_interval": "5-MINUTE"}})
    a = cfg.strategy_config(IID, strategy="AdaptiveMarketMaker", mode="candles", bar_type="x").adaptive
    # 300 s bars: sample once a bar; fast half-life max(60, 4 bars = 1200); slow max(1800, 20 bars = 6000,
    # 2 x 1200); fill-rate window max(900, 20 bars = 6000), at most one step a bar (max(30, 300))
    assert (a.regime_sample_interval_s, a.regime_fast_half_life_s, a.regime_slow_half_life_s) == (300.0, 1200.0, 6000.0)
    assert (a.fill_rate_window_s, a.fill_rate_interval_s) == (6000.0, 300.0)
    book = cfg.strategy_config(IID, strategy="AdaptiveMarketMaker").adaptive
    assert book == cfg.adaptive  # book mode: as configured
