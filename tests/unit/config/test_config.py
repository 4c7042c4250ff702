"""YAML config loading: defaults, validation errors that name file and field, the shipped configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from botmm_nautilus.config.asset import config_from_dict
from botmm_nautilus.config.asset import load_config
from botmm_nautilus.config.asset import override
from botmm_nautilus.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[3] / "configs"


@pytest.mark.parametrize("coin", ["btc", "eth", "sol", "xrp", "hype"])
def test_shipped_configs_load_with_base_tier_fees(coin):
    cfg = load_config(CONFIGS / f"{coin}.yaml")
    assert cfg.coin == coin.upper()
    # the real Hyperliquid base tier: makers pay 1.5 bps, takers 4.5 bps
    assert cfg.venue.maker_fee == pytest.approx(0.00015)
    assert cfg.venue.taker_fee == pytest.approx(0.00045)
    # latency on the order of the venue's block time, not zero and not 1 s
    assert 10 <= cfg.venue.latency_ms <= 200


def test_defaults_fill_missing_sections():
    cfg = config_from_dict({"coin": "eth"})
    assert cfg.coin == "ETH"
    assert cfg.quoting.model == "glft"
    assert cfg.risk.max_daily_loss_frac == 0.05


def test_bad_yaml_names_file_and_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("coin: BTC\nquoting:\n  gamma: [1, 2\n")
    with pytest.raises(ConfigError) as exc:
        load_config(p)
    msg = str(exc.value)
    assert str(p) in msg and "line" in msg and "invalid YAML" in msg


def test_unknown_key_is_an_error_listing_allowed(tmp_path):
    p = tmp_path / "typo.yaml"
    p.write_text("coin: BTC\nquoting:\n  gama: 0.1\n")
    with pytest.raises(ConfigError) as exc:
        load_config(p)
    msg = str(exc.value)
    assert "quoting" in msg and "'gama'" in msg and "gamma" in msg


def test_bad_choice_names_allowed_values():
    with pytest.raises(ConfigError) as exc:
        config_from_dict({"coin": "BTC", "quoting": {"model": "avellaneda"}}, source="x.yaml")
    assert "x.yaml: quoting.model: 'avellaneda' is not one of 'as', 'glft', 'classic'" in str(exc.value)


def test_out_of_range_and_wrong_type():
    with pytest.raises(ConfigError, match=r"risk.max_daily_loss_frac: must be a number in"):
        config_from_dict({"coin": "BTC", "risk": {"max_daily_loss_frac": 2.0}})
    with pytest.raises(ConfigError, match=r"venue.latency_ms: must be a number"):
        config_from_dict({"coin": "BTC", "venue": {"latency_ms": "fast"}})
    with pytest.raises(ConfigError, match=r"coin: missing"):
        config_from_dict({"venue": {}})


def test_missing_file():
    with pytest.raises(ConfigError, match="config file not found"):
        load_config("/nonexistent/btc.yaml")


def test_override_round_trips_and_validates():
    cfg = config_from_dict({"coin": "BTC"})
    cfg2 = override(cfg, **{"quoting.gamma": 0.2, "venue.maker_fee": -0.00002})
    assert cfg2.quoting.gamma == 0.2 and cfg2.venue.maker_fee == -0.00002
    assert cfg.quoting.gamma != 0.2  # original untouched
    with pytest.raises(ConfigError):
        override(cfg, **{"quoting.nope": 1})
