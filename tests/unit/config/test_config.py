"""The YAML configuration: shipped files, errors that name file and dotted field, defaults, overrides,
the live node's file, the Nautilus round trip of the strategy config and ``botmm config show|check``."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from nautilus_trader.model.identifiers import InstrumentId

from botmm_nautilus.apps.cli import main as cli_main
from botmm_nautilus.config.asset import config_from_dict
from botmm_nautilus.config.asset import load_config
from botmm_nautilus.config.live import load_live_config
from botmm_nautilus.config.loader import override
from botmm_nautilus.core.decision import MarketMakerCore
from botmm_nautilus.core.params import AdaptiveParams
from botmm_nautilus.core.params import AutoTuneParams
from botmm_nautilus.core.params import FillModelParams
from botmm_nautilus.core.params import SizingParams
from botmm_nautilus.core.params import ToxicityParams
from botmm_nautilus.core.params import QuotingParams
from botmm_nautilus.core.params import RiskParams
from botmm_nautilus.core.params import SignalsParams
from botmm_nautilus.errors import ConfigError
from botmm_nautilus.strategies import DoNothingConfig
from botmm_nautilus.strategies import MarketMakerConfig
from botmm_nautilus.venue.rules import HyperliquidGrid

CONFIGS = Path(__file__).resolve().parents[3] / "configs"
ASSETS = ["btc", "eth", "sol", "xrp", "hype"]
IID = InstrumentId.from_str("BTC-USDC-PERP.HL")


def write(tmp_path: Path, text: str, name: str = "cfg.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def error_of(raw, source: str = "x.yaml") -> str:
    with pytest.raises(ConfigError) as exc:
        config_from_dict(raw, source)
    return str(exc.value)


def flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


# ------------------------------------------------------------------------------------- shipped files


@pytest.mark.parametrize("coin", ASSETS)
def test_shipped_configs_load_with_base_tier_fees(coin):
    cfg = load_config(CONFIGS / f"{coin}.yaml")
    assert cfg.coin == coin.upper()
    assert cfg.strategy == "MarketMaker"
    # the real Hyperliquid base tier: makers pay 1.5 bps, takers 4.5 bps
    assert cfg.venue.maker_fee_bps == 1.5 and cfg.venue.taker_fee_bps == 4.5
    # latency on the order of the venue's block time, not zero and not 1 s
    assert 10 <= cfg.venue.latency_ms <= 200


def test_shipped_live_config_loads():
    s = load_live_config(CONFIGS / "live.yaml")
    assert s.venue == "testnet" and s.coins == ("BTC",) and s.testnet
    assert s.dead_man.deadline_s == 30.0 and s.dead_man.refresh_s == 15.0
    assert s.key.env is None and s.key.keystore_password_env == "HYPERLIQUID_KEYSTORE_PASSWORD"


# Every effective value of configs/btc.yaml as the pre-schema code ran it (the YAML value, else the
# per-asset dataclass default, else the RiskConfig/QuoteParams default, else the literal in the code),
# written down by hand: a changed default or a lost key shows up here.
BTC_EFFECTIVE = {
    "coin": "BTC",
    "strategy": "MarketMaker",
    "capital_usd": 10000.0,  # also the backtest's starting balance (was venue.starting_balance_usd: 10000)
    "venue.maker_fee_bps": 1.5,  # was maker_fee: 0.00015
    "venue.taker_fee_bps": 4.5,  # was taker_fee: 0.00045
    "venue.latency_ms": 60.0,
    "venue.leverage": 5.0,
    "quoting.model": "glft",
    "quoting.gamma": 0.05,
    "quoting.horizon_s": 300.0,
    "quoting.levels": 2,
    "quoting.level_spacing_bps": 1.0,
    "quoting.size_weights": (0.625, 0.375),
    "quoting.order_size_usd": 150.0,
    "quoting.min_half_spread_bps": 1.0,
    "quoting.max_half_spread_bps": 50.0,
    "quoting.adj_spread": 1.0,
    "quoting.adj_skew": 1.0,
    "quoting.xi": None,
    "quoting.fee_gate": "widen",
    "quoting.expected_adverse_bps": 0.5,
    "quoting.fee_gate_buffer_bps": 0.0,
    "quoting.requote_tolerance_bps": 1.0,
    "quoting.requote_size_tolerance_pct": 20.0,
    "quoting.min_requote_interval_ms": 250.0,
    "quoting.classic_base_spread_bps": 2.0,
    "quoting.classic_vol_multiplier": 1.5,
    "quoting.classic_min_spread_bps": 0.5,
    "quoting.classic_max_spread_bps": 20.0,
    "quoting.classic_skew_factor": 0.3,
    "calibration.vol_half_life_s": 120.0,
    "calibration.vol_sample_interval_s": 1.0,  # was the literal 1.0 in MarketMakerCore
    "calibration.intensity_window_s": 600.0,
    "calibration.intensity_refit_every_s": 30.0,
    "calibration.default_sigma_bps_per_sqrt_s": 1.0,
    "calibration.default_A_per_s": 1.0,
    "calibration.default_k_per_bps": 0.5,
    "signals.use_bias": False,
    "signals.bias_weight_bps": 0.0,  # was quoting.bias_weight_bps
    "signals.bias_strength": 0.2,  # new (issue 10), acts only with use_bias
    "signals.bias_horizon_s": 300.0,  # new (issue 10)
    "signals.bias_bar_interval_s": 3600.0,
    "signals.bias_rsi_period": 14,
    "signals.bias_rsi_smoothing": "wilder",  # new (issue 10)
    "signals.bias_qqe_smoothing": 5,
    "signals.bias_qqe_factor": 3.5,
    "signals.bias_slope_window": 5,
    "signals.bias_kalman_model": "level",  # new (issue 10)
    "signals.bias_kalman_level_var": 5e-8,
    "signals.bias_kalman_slope_var": 1e-8,
    "signals.bias_kalman_measurement_var": 1e-6,
    "signals.use_imbalance": False,
    "signals.imbalance_weight_bps": 0.0,  # was quoting.imbalance_weight_bps
    "signals.imbalance_depth_levels": 5,  # was quoting.imbalance_depth_levels
    "signals.imbalance_half_life_s": 0.0,
    "signals.imbalance_level_decay": 0.0,  # new (issue 10): every level alike, as before
    "signals.use_flow": False,  # new (issue 10)
    "signals.flow_weight_bps": 0.0,
    "signals.flow_half_life_s": 5.0,
    "signals.use_microprice": False,  # was quoting.use_microprice: true, without effect (no microprice was computed)
    "signals.microprice_weight": 1.0,
    "risk.max_position_usd": 500.0,
    "risk.max_position_capital_mult": 1.0,
    "risk.one_side_stop_ratio": 0.8,
    "risk.max_daily_loss_frac": 0.05,
    "risk.max_drawdown_frac": 0.1,
    "risk.drawdown_resume_after_s": None,
    "risk.halt_flatten": False,
    "risk.kill_drawdown_frac": None,
    "risk.flatten_on_kill": False,  # was copied from flatten_on_stop
    "risk.flatten_on_stop": False,
    "risk.flatten_max_slippage_bps": 50.0,
    "risk.flatten_max_tries": 5,
    "risk.vol_spike_ratio": 3.0,
    "risk.vol_resume_ratio": None,
    "risk.vol_spike_cooldown_s": 300.0,
    "risk.vol_baseline_halflife_s": 3600.0,
    "risk.vol_baseline_sample_s": 1.0,
    "risk.vol_min_samples": 60,
    "risk.vol_widen_start_ratio": None,
    "risk.vol_max_spread_multiplier": 2.0,
    "risk.vol_min_size_multiplier": 0.5,
    "risk.mid_jump_frac": 0.02,
    "risk.mid_jump_window_s": 60.0,
    "risk.mid_jump_pause_s": 120.0,
    "risk.stale_book_s": 10.0,
    "risk.post_only_reject_count": 20,
    "risk.post_only_reject_window_s": 10.0,
    "risk.post_only_reject_pause_s": 30.0,
    "risk.api_error_count": 5,
    "risk.api_error_window_s": 60.0,
    "risk.api_error_pause_s": 120.0,
    "backtest.catalog": "catalog/synth",
    "backtest.queue_position": True,
    "backtest.liquidity_consumption": True,
    "backtest.chunk_size": 200000,
    "backtest.sample_interval_s": 1.0,
    "backtest.markout_horizon_s": 60.0,
    "backtest.bar_interval": "5-MINUTE",
    "backtest.candle_fill": "through",
    "backtest.sample_label": "n/a",
    # configs/btc.yaml has its adaptive: section commented out: every adaptive key at its default
    **{f"adaptive.{k}": v for k, v in msgspec.to_builtins(AdaptiveParams()).items()},
    # no toxicity:, autotune: or sizing: section either (AdaptiveMarketMaker's features)
    **{f"{name}.{k}": v for name, section in (("toxicity", ToxicityParams()), ("autotune", AutoTuneParams()), ("sizing", SizingParams()), ("fill_model", FillModelParams()))
       for k, v in msgspec.to_builtins(section).items()},
}


def test_btc_effective_values_unchanged():
    cfg = load_config(CONFIGS / "btc.yaml")
    values = flat(msgspec.to_builtins(cfg))
    assert values == BTC_EFFECTIVE
    for k, v in values.items():  # same type too: 10000 must be 10000.0 where the code wants a float
        assert type(v) is type(BTC_EFFECTIVE[k]), k
    # what the core derives from them
    core = MarketMakerCore(cfg.quoting, cfg.calibration, cfg.risk, cfg.signals, grid=HyperliquidGrid(5),
                           capital_usd=cfg.capital_usd, maker_fee_bps=cfg.venue.maker_fee_bps)
    assert core.maker_fee == 0.00015  # exactly the former fraction
    assert core.risk.max_position_usd == 500.0 and core.risk.daily_loss_limit_usd == 500.0
    assert core.vol.sample_interval_ns == 1_000_000_000 and core.intensity.refit_every_ns == 30_000_000_000


def test_defaults_fill_missing_sections_and_empty_sections():
    cfg = config_from_dict({"coin": "eth"})
    assert cfg.coin == "ETH"
    assert cfg.quoting == QuotingParams() and cfg.risk == RiskParams() and cfg.signals == SignalsParams()
    assert cfg.capital_usd == 10_000.0 and cfg.venue.maker_fee_bps == 1.5
    # "risk:" with every key commented out is a section of defaults, not an error
    assert config_from_dict({"coin": "BTC", "risk": None}).risk == RiskParams()


# ------------------------------------------------------------------------------------------- errors


def test_bad_yaml_names_file_line_and_column(tmp_path):
    p = write(tmp_path, "coin: BTC\nquoting:\n  gamma: [1, 2\n")
    with pytest.raises(ConfigError) as exc:
        load_config(p)
    msg = str(exc.value)
    assert msg.startswith(f"{p}: line ") and "column" in msg and "invalid YAML" in msg


def test_duplicate_key_is_an_error(tmp_path):
    p = write(tmp_path, "coin: BTC\nquoting:\n  gamma: 0.1\n  gamma: 0.2\n")
    with pytest.raises(ConfigError, match=r"line 4 column 3: invalid YAML: duplicate key 'gamma'"):
        load_config(p)


def test_exponent_numbers_read_as_numbers(tmp_path):
    # plain PyYAML reads 1e-1 as the string '1e-1'
    cfg = load_config(write(tmp_path, "coin: BTC\nquoting:\n  gamma: 1e-1\n"))
    assert cfg.quoting.gamma == 0.1


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        ({"coin": "BTC", "gama": 1}, "x.yaml: gama: unknown setting; allowed: coin, strategy, capital_usd"),
        ({"coin": "BTC", "quoting": {"gama": 0.1}}, "x.yaml: quoting.gama: unknown setting; allowed: model, gamma,"),
        ({"coin": "BTC", "venue": {"maker_fee": 0.00015}}, "x.yaml: venue.maker_fee: unknown setting; allowed: maker_fee_bps,"),
        ({"coin": "BTC", "risk": {"flatten": True}}, "x.yaml: risk.flatten: unknown setting"),
        ({"coin": "BTC", "calibration": {"x": 1}}, "x.yaml: calibration.x: unknown setting"),
        ({"coin": "BTC", "backtest": {"x": 1}}, "x.yaml: backtest.x: unknown setting"),
    ],
)
def test_unknown_key_at_each_level_names_the_dotted_path(raw, where):
    assert where in error_of(raw)


def test_wrong_type_is_named():
    assert error_of({"coin": "BTC", "quoting": {"gamma": "abc"}}) == (
        "x.yaml: quoting.gamma: must be a number > 0 and <= 1e+06, got 'abc'"
    )
    assert error_of({"coin": "BTC", "quoting": {"levels": 2.5}}) == (
        "x.yaml: quoting.levels: must be an integer >= 1 and <= 20, got 2.5"
    )
    assert error_of({"coin": "BTC", "risk": {"halt_flatten": "yes"}}) == "x.yaml: risk.halt_flatten: must be true or false, got 'yes'"
    assert error_of({"coin": "BTC", "quoting": {"size_weights": [1, "x"]}}).startswith("x.yaml: quoting.size_weights[1]: must be a number")
    assert error_of({"coin": "BTC", "quoting": [1]}) == "x.yaml: quoting: must be a mapping of settings, got [1]"
    assert error_of({"coin": 5}) == "x.yaml: coin: must be a string, got 5"
    assert error_of([1, 2]) == "x.yaml: the top level must be a mapping of settings, got list"
    assert error_of({"venue": {}}) == "x.yaml: coin: missing (required)"


def test_bad_choice_names_allowed_values():
    assert error_of({"coin": "BTC", "quoting": {"model": "avellaneda"}}) == (
        "x.yaml: quoting.model: 'avellaneda' is not one of 'as', 'classic', 'glft'"
    )
    assert "strategy: 'Nope' is not one of 'MarketMaker', 'AdaptiveMarketMaker', 'DoNothing'" in error_of({"coin": "BTC", "strategy": "Nope"})


def test_range_violations_are_named():
    assert error_of({"coin": "BTC", "risk": {"max_daily_loss_frac": 2.0}}) == (
        "x.yaml: risk.max_daily_loss_frac: must be a number > 0 and <= 1, got 2.0"
    )
    assert "venue.maker_fee_bps: must be a number >= -10 and <= 100, got 150" in error_of({"coin": "BTC", "venue": {"maker_fee_bps": 150}})
    assert "capital_usd: must be a number >= 10" in error_of({"coin": "BTC", "capital_usd": 5})
    assert "quoting.size_weights[1]: must be a number >= 0" in error_of({"coin": "BTC", "quoting": {"size_weights": [1, -1]}})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"quoting": {"min_half_spread_bps": 2.0, "max_half_spread_bps": 1.0}},
         "quoting.max_half_spread_bps: must be >= min_half_spread_bps (2), got 1"),
        ({"quoting": {"levels": 3}}, "quoting.size_weights: needs at least `levels` (3) weights, got 2"),
        ({"risk": {"kill_drawdown_frac": 0.05}}, "risk.kill_drawdown_frac: must be > max_drawdown_frac (0.1), got 0.05"),
        ({"risk": {"max_position_usd": None, "max_position_capital_mult": None}}, "risk.max_position_usd: set max_position_usd or"),
        ({"risk": {"vol_spike_ratio": 3.0, "vol_resume_ratio": 4.0}}, "risk.vol_resume_ratio: must be in [1, vol_spike_ratio (3)]"),
    ],
)
def test_cross_field_rules_are_named(raw, message):
    assert f"x.yaml: {message}" in error_of({"coin": "BTC", **raw})


def test_sections_built_in_code_are_checked_too():
    # msgspec checks ranges only when decoding; the sections check them on construction as well
    with pytest.raises(ValueError, match=r"^gamma: must be a number > 0"):
        QuotingParams(gamma=-1.0)
    with pytest.raises(ValueError, match=r"^fee_gate: 'maybe' is not one of"):
        QuotingParams(fee_gate="maybe")
    with pytest.raises(ValueError, match=r"^stale_book_s: must be a number >= 0.1 and <= 86400 or null, got 0.0"):
        RiskParams(stale_book_s=0.0)
    with pytest.raises(ValueError, match=r"^microprice_weight: must be a number >= 0 and <= 1, got 2.0"):
        SignalsParams(microprice_weight=2.0)


def test_signal_settings_moved_out_of_quoting_are_named():
    # the former quoting.use_microprice / imbalance / bias keys now live under signals
    assert "quoting.use_microprice" in error_of({"coin": "BTC", "quoting": {"use_microprice": True}})
    assert "quoting.imbalance_weight_bps" in error_of({"coin": "BTC", "quoting": {"imbalance_weight_bps": 1.0}})
    cfg = config_from_dict({"coin": "BTC", "signals": {"use_imbalance": True, "imbalance_weight_bps": 1.0}})
    assert cfg.signals.use_imbalance and cfg.signals.imbalance_weight_bps == 1.0 and not cfg.signals.use_bias
    assert error_of({"coin": "BTC", "signals": {"use_bias": "yes"}}) == "x.yaml: signals.use_bias: must be true or false, got 'yes'"


def test_missing_file():
    with pytest.raises(ConfigError, match="config file not found"):
        load_config("/nonexistent/btc.yaml")


def test_override_round_trips_and_validates():
    cfg = config_from_dict({"coin": "BTC"})
    cfg2 = override(cfg, **{"quoting.gamma": 0.2, "venue.maker_fee_bps": -0.2})
    assert cfg2.quoting.gamma == 0.2 and cfg2.venue.maker_fee_bps == -0.2
    assert cfg.quoting.gamma == 0.05  # original untouched
    with pytest.raises(ConfigError, match=r"override: quoting.nope: no such setting"):
        override(cfg, **{"quoting.nope": 1})
    with pytest.raises(ConfigError, match=r"override: quoting.gamma: must be a number > 0"):
        override(cfg, **{"quoting.gamma": -1})


# ----------------------------------------------------------------------------------- live.yaml


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dead_man:\n  deadline_s: fast\n", "dead_man.deadline_s: must be a number >= 0 and <= 86400, got 'fast'"),
        ("dead_man:\n  deadline_s: 2\n", "dead_man.deadline_s: must be 0 (off) or >= 5 (the venue's minimum), got 2"),
        ("dead_man:\n  deadline_s: 10\n  refresh_s: 12\n", "dead_man.refresh_s: must be below deadline_s (10), got 12"),
        ("dead_man:\n  deadlin_s: 10\n", "dead_man.deadlin_s: unknown setting; allowed: deadline_s, refresh_s"),
        ("key:\n  envv: X\n", "key.envv: unknown setting; allowed: env, keystore, keystore_password_env"),
        ("key:\n  env: 5\n", "key.env: must be a string or null, got 5"),
        ("coins: BTC\n", "coins: must be a list (each item a string), got 'BTC'"),
        ("account_refresh_s: soon\n", "account_refresh_s: must be a number > 0 and <= 86400, got 'soon'"),
        ("venue: twin\n", "url: venue twin needs url"),
        ("venue: moon\n", "venue: 'moon' is not one of 'mainnet', 'testnet', 'twin'"),
        ("log_level: loud\n", "log_level: 'LOUD' is not one of TRACE, DEBUG, INFO, WARNING, ERROR, OFF"),
        ("mm_overrides: {}\n", "mm_overrides: unknown setting"),
        ("rate_budget:\n  short_frac: 2\n", "rate_budget.short_frac: must be a number >= 0 and <= 1, got 2"),
        ("rate_budget:\n  short_level: 1\n", "rate_budget.short_level: unknown setting"),
    ],
)
def test_live_yaml_nested_keys_and_types_validated(tmp_path, text, message):
    p = write(tmp_path, text, "live.yaml")
    with pytest.raises(ConfigError) as exc:
        load_live_config(p)
    assert str(exc.value) == f"{p}: {message}" or str(exc.value).startswith(f"{p}: {message}")


def test_live_command_line_overrides_are_validated_like_the_file(tmp_path):
    p = write(tmp_path, "venue: twin\nurl: http://127.0.0.1:1\ncoins: [btc]\n", "live.yaml")
    s = load_live_config(p, coins=["eth", "sol"], log_level="debug", venue=None)
    assert s.coins == ("ETH", "SOL") and s.log_level == "DEBUG" and s.venue == "twin"
    with pytest.raises(ConfigError, match="venue: 'moon' is not one of"):
        load_live_config(p, venue="moon")


# ---------------------------------------------------------------------- Nautilus strategy config


def test_strategy_config_survives_nautilus_json_round_trip():
    """BacktestNode builds the strategy config with ``config_cls.parse(json)``: the nested sections come back equal."""
    cfg = override(load_config(CONFIGS / "btc.yaml"), **{"quoting.gamma": 0.07, "risk.kill_drawdown_frac": 0.2,
                                                          "signals.use_imbalance": True})
    sc = cfg.strategy_config(IID, log_events=False)
    assert isinstance(sc, MarketMakerConfig)
    assert sc.quoting is cfg.quoting and sc.risk is cfg.risk and sc.calibration is cfg.calibration
    assert sc.signals is cfg.signals and sc.signals.use_imbalance
    assert sc.capital_usd == 10_000.0 and sc.maker_fee_bps == 1.5 and not sc.log_events
    back = MarketMakerConfig.parse(sc.json())
    assert back == sc and back.quoting.gamma == 0.07 and back.risk.kill_drawdown_frac == 0.2
    assert isinstance(back.quoting, QuotingParams) and back.quoting.size_weights == (0.625, 0.375)
    # the nested sections reject unknown fields in JSON too
    bad = sc.json().replace(b'"gamma":0.07', b'"gama":0.07')
    with pytest.raises(msgspec.ValidationError, match=r"unknown field `gama` - at `\$.quoting`"):
        MarketMakerConfig.parse(bad)


def test_do_nothing_takes_the_wiring_only():
    cfg = load_config(CONFIGS / "btc.yaml")
    sc = cfg.strategy_config(IID, strategy="DoNothing", mode="candles", bar_type="BTC-USDC-PERP.HL-5-MINUTE-LAST-EXTERNAL")
    assert type(sc) is DoNothingConfig and sc.mode == "candles"
    assert not hasattr(sc, "quoting")
    with pytest.raises(ConfigError, match="unknown strategy 'Nope'"):
        cfg.strategy_config(IID, strategy="Nope")


# ---------------------------------------------------------------------------- botmm config CLI


@pytest.mark.parametrize("name", [*(f"{c}.yaml" for c in ASSETS), "live.yaml"])
def test_show_output_is_accepted_back_by_check(tmp_path, capsys, name):
    assert cli_main(["config", "show", str(CONFIGS / name)]) == 0
    shown = capsys.readouterr().out
    p = write(tmp_path, shown, name)
    assert cli_main(["config", "check", str(p)]) == 0
    assert capsys.readouterr().out.strip() == f"ok: {p} ({'live' if name == 'live.yaml' else 'asset'} config)"
    # and it means the same configuration, defaults spelled out
    if name == "live.yaml":
        assert load_live_config(p) == load_live_config(CONFIGS / name)
    else:
        assert load_config(p) == load_config(CONFIGS / name)
        assert "  post_only_reject_count: 20  # rejects" in shown  # a default, with its unit


def test_check_reports_each_bad_file_and_exits_2(tmp_path, capsys):
    good = CONFIGS / "btc.yaml"
    bad1 = write(tmp_path, "coin: BTC\nquoting:\n  gamma: abc\n", "bad1.yaml")
    bad2 = write(tmp_path, "venue: testnet\ndead_man:\n  deadline_s: 2\n", "live.yaml")
    rc = cli_main(["config", "check", str(good), str(bad1), str(bad2)])
    out, err = capsys.readouterr()
    assert rc == 2
    assert out.strip() == f"ok: {good} (asset config)"
    assert err.splitlines() == [
        f"error: {bad1}: quoting.gamma: must be a number > 0 and <= 1e+06, got 'abc'",
        f"error: {bad2}: dead_man.deadline_s: must be 0 (off) or >= 5 (the venue's minimum), got 2",
    ]
    assert "Traceback" not in err



def test_live_command_with_a_bad_live_yaml_is_one_line_error(tmp_path, capsys):
    """A wrongly typed nested value of live.yaml: one ``error:`` line before anything connects."""
    p = write(tmp_path, "venue: twin\nurl: http://127.0.0.1:9\ndead_man:\n  refresh_s: often\n", "live.yaml")
    assert cli_main(["live", "--config", str(p)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {p}: dead_man.refresh_s: must be a number > 0 and <= 86400, got 'often'\n"
