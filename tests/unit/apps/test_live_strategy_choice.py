"""``botmm live`` runs the per-asset YAML's ``strategy:``: a MarketMaker or an AdaptiveMarketMaker;
any other strategy (no order management of ours, no risk rules) is refused with the file named."""

from __future__ import annotations

import pytest

from botmm_nautilus.apps.live import asset_config
from botmm_nautilus.config.live import LiveConfig
from botmm_nautilus.errors import ConfigError


def _live(tmp_path, strategy: str) -> LiveConfig:
    (tmp_path / "btc.yaml").write_text(f"coin: BTC\nstrategy: {strategy}\nadaptive:\n  use_regime: true\n")
    return LiveConfig(configs_dir=str(tmp_path))


@pytest.mark.parametrize("strategy", ["MarketMaker", "AdaptiveMarketMaker"])
def test_market_makers_are_accepted(tmp_path, strategy):
    cfg = asset_config(_live(tmp_path, strategy), "BTC")
    assert cfg.strategy == strategy and cfg.adaptive.use_regime


def test_another_strategy_is_refused_naming_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"btc\.yaml: strategy: botmm live runs MarketMaker or AdaptiveMarketMaker, got 'DoNothing'"):
        asset_config(_live(tmp_path, "DoNothing"), "BTC")
