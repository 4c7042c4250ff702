"""Per-asset YAML configuration: loading, validation with clear errors, defaults.

One file per asset (``configs/btc.yaml`` ...). Every section and key is optional except ``coin``;
unknown keys are errors (a typo must not silently fall back to a default). Errors name the file,
the dotted field and what is allowed, e.g.::

    configs/btc.yaml: quoting.model: 'avellaneda' is not one of 'as', 'glft', 'classic'

The loaded ``MMConfig`` is a plain frozen dataclass tree (no Nautilus imports); the strategy and the
backtest runner translate it into Nautilus configs.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import yaml

from botmm_nautilus.errors import ConfigError
from botmm_nautilus.venue import rules as hl_rules

# --------------------------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class VenueSettings:
    """Fees and order-entry realism. Fees are fractions of notional; positive = cost."""

    maker_fee: float = hl_rules.BASE_MAKER_FEE  # Hyperliquid base tier: +1.5 bps (a cost)
    taker_fee: float = hl_rules.BASE_TAKER_FEE  # 4.5 bps
    # One-way latency from the strategy's decision to the matching engine. Default 60 ms: a
    # non-colocated client (network RTT/2 plus Hyperliquid's ~70 ms median block time means an
    # order typically lands one block later).
    latency_ms: float = 60.0
    leverage: float = 5.0
    starting_balance_usd: float = 10_000.0

    def validate(self, where: str) -> None:
        _check_range(where, "maker_fee", self.maker_fee, -0.001, 0.01)
        _check_range(where, "taker_fee", self.taker_fee, -0.001, 0.01)
        _check_range(where, "latency_ms", self.latency_ms, 0.0, 10_000.0)
        _check_range(where, "leverage", self.leverage, 1.0, 50.0)
        _check_range(where, "starting_balance_usd", self.starting_balance_usd, 10.0, 1e12)


@dataclass(frozen=True)
class QuotingSettings:
    model: str = "glft"  # "as" (Avellaneda-Stoikov), "glft" (Gueant closed form), "classic" (BotMM bps)
    gamma: float = 0.05  # risk aversion (per unit of order-size inventory; see quoting.py)
    horizon_s: float = 300.0  # A-S horizon T - t, rolling
    levels: int = 2
    level_spacing_bps: float = 1.0
    size_weights: tuple[float, ...] = (0.625, 0.375)
    order_size_usd: float = 150.0  # total size per side, split across levels by size_weights
    min_half_spread_bps: float = 0.5
    max_half_spread_bps: float = 50.0
    adj_spread: float = 1.0  # GLFT tuning factors (hftbacktest adj1/adj2)
    adj_skew: float = 1.0
    imbalance_weight_bps: float = 0.0  # fair-value shift per unit of book imbalance
    bias_weight_bps: float = 0.0  # fair-value shift per unit of Kalman+QQE bias
    fee_gate: str = "widen"  # "widen" | "suppress" | "off"
    expected_adverse_bps: float = 0.5  # expected adverse selection per fill, for the fee gate
    requote_tolerance_bps: float = 1.0  # do not move a resting order for less than this (keeps queue priority)
    requote_size_tolerance_pct: float = 20.0
    min_requote_interval_ms: float = 250.0  # throttle between two requote decisions
    # BotMM classic bps model knobs (only used when model == "classic")
    classic_base_spread_bps: float = 2.0
    classic_vol_multiplier: float = 1.5
    classic_min_spread_bps: float = 0.5
    classic_max_spread_bps: float = 20.0
    classic_skew_factor: float = 0.3

    def validate(self, where: str) -> None:
        _check_choice(where, "model", self.model, ("as", "glft", "classic"))
        _check_choice(where, "fee_gate", self.fee_gate, ("widen", "suppress", "off"))
        _check_range(where, "gamma", self.gamma, 1e-9, 1e6)
        _check_range(where, "horizon_s", self.horizon_s, 0.0, 86_400.0 * 365)
        _check_range(where, "levels", self.levels, 1, 20)
        _check_range(where, "level_spacing_bps", self.level_spacing_bps, 0.0, 1_000.0)
        _check_range(where, "order_size_usd", self.order_size_usd, 10.0, 1e9)
        _check_range(where, "min_half_spread_bps", self.min_half_spread_bps, 0.0, 10_000.0)
        _check_range(where, "max_half_spread_bps", self.max_half_spread_bps, 0.0, 10_000.0)
        if self.max_half_spread_bps < self.min_half_spread_bps:
            raise ConfigError(f"{where}.max_half_spread_bps: must be >= min_half_spread_bps")
        if len(self.size_weights) < self.levels:
            raise ConfigError(
                f"{where}.size_weights: needs at least `levels` ({self.levels}) weights, got {len(self.size_weights)}",
            )
        if any(w < 0 for w in self.size_weights) or sum(self.size_weights[: self.levels]) <= 0:
            raise ConfigError(f"{where}.size_weights: weights must be >= 0 with a positive sum")
        _check_range(where, "requote_tolerance_bps", self.requote_tolerance_bps, 0.0, 1_000.0)
        _check_range(where, "requote_size_tolerance_pct", self.requote_size_tolerance_pct, 0.0, 100.0)
        _check_range(where, "min_requote_interval_ms", self.min_requote_interval_ms, 0.0, 3_600_000.0)
        _check_range(where, "expected_adverse_bps", self.expected_adverse_bps, 0.0, 1_000.0)


@dataclass(frozen=True)
class CalibrationSettings:
    vol_half_life_s: float = 120.0
    intensity_window_s: float = 600.0
    intensity_refit_every_s: float = 5.0
    # Used until the estimators have enough data (also the candle-mode values).
    default_sigma_bps_per_sqrt_s: float = 1.0
    default_A_per_s: float = 1.0
    default_k_per_bps: float = 0.5

    def validate(self, where: str) -> None:
        _check_range(where, "vol_half_life_s", self.vol_half_life_s, 1.0, 86_400.0)
        _check_range(where, "intensity_window_s", self.intensity_window_s, 10.0, 86_400.0)
        _check_range(where, "intensity_refit_every_s", self.intensity_refit_every_s, 0.1, 86_400.0)
        _check_range(where, "default_sigma_bps_per_sqrt_s", self.default_sigma_bps_per_sqrt_s, 1e-6, 1e4)
        _check_range(where, "default_A_per_s", self.default_A_per_s, 1e-9, 1e6)
        _check_range(where, "default_k_per_bps", self.default_k_per_bps, 1e-9, 1e6)


@dataclass(frozen=True)
class RiskSettings:
    max_position_usd: float = 500.0
    one_side_stop_ratio: float = 0.8
    max_daily_loss_frac: float = 0.05  # of capital, per UTC day
    max_drawdown_frac: float = 0.10  # from peak equity
    vol_spike_ratio: float = 3.0
    vol_spike_cooldown_s: float = 300.0
    stale_book_s: float = 10.0
    post_only_reject_count: int = 20
    post_only_reject_window_s: float = 10.0
    post_only_reject_pause_s: float = 30.0
    flatten_on_stop: bool = False

    def validate(self, where: str) -> None:
        _check_range(where, "max_position_usd", self.max_position_usd, 10.0, 1e12)
        _check_range(where, "one_side_stop_ratio", self.one_side_stop_ratio, 0.0, 1.0)
        _check_range(where, "max_daily_loss_frac", self.max_daily_loss_frac, 1e-6, 1.0)
        _check_range(where, "max_drawdown_frac", self.max_drawdown_frac, 1e-6, 1.0)
        _check_range(where, "vol_spike_ratio", self.vol_spike_ratio, 1.0, 1e3)
        _check_range(where, "vol_spike_cooldown_s", self.vol_spike_cooldown_s, 0.0, 86_400.0)
        _check_range(where, "stale_book_s", self.stale_book_s, 0.1, 86_400.0)
        _check_range(where, "post_only_reject_count", self.post_only_reject_count, 1, 1_000_000)
        _check_range(where, "post_only_reject_window_s", self.post_only_reject_window_s, 0.1, 86_400.0)
        _check_range(where, "post_only_reject_pause_s", self.post_only_reject_pause_s, 0.0, 86_400.0)


@dataclass(frozen=True)
class BacktestSettings:
    catalog: str = "catalog"
    queue_position: bool = True
    liquidity_consumption: bool = True
    chunk_size: int = 200_000  # catalog streaming chunk (data events)
    sample_interval_s: float = 1.0  # equity / inventory / quote sampling for reports
    markout_horizon_s: float = 60.0  # adverse-selection horizon of the PnL attribution
    bar_interval: str = "5-MINUTE"  # candle mode bar step
    sample_label: str = "n/a"  # "in-sample" | "out-of-sample" | "n/a"

    def validate(self, where: str) -> None:
        _check_range(where, "chunk_size", self.chunk_size, 1_000, 100_000_000)
        _check_range(where, "sample_interval_s", self.sample_interval_s, 0.01, 3_600.0)
        _check_range(where, "markout_horizon_s", self.markout_horizon_s, 0.1, 86_400.0)
        _check_choice(where, "bar_interval", self.bar_interval, ("1-MINUTE", "5-MINUTE", "15-MINUTE", "1-HOUR"))
        _check_choice(where, "sample_label", self.sample_label, ("in-sample", "out-of-sample", "n/a"))


@dataclass(frozen=True)
class MMConfig:
    coin: str
    capital_usd: float = 10_000.0
    venue: VenueSettings = field(default_factory=VenueSettings)
    quoting: QuotingSettings = field(default_factory=QuotingSettings)
    calibration: CalibrationSettings = field(default_factory=CalibrationSettings)
    risk: RiskSettings = field(default_factory=RiskSettings)
    backtest: BacktestSettings = field(default_factory=BacktestSettings)
    source: str = "<dict>"  # where it was loaded from (for messages and reports)

    def validate(self) -> "MMConfig":
        where = self.source
        if not isinstance(self.coin, str) or not self.coin.isalnum():
            raise ConfigError(f"{where}: coin: must be a coin name like 'BTC', got {self.coin!r}")
        _check_range(where, "capital_usd", self.capital_usd, 10.0, 1e12)
        self.venue.validate(f"{where}: venue")
        self.quoting.validate(f"{where}: quoting")
        self.calibration.validate(f"{where}: calibration")
        self.risk.validate(f"{where}: risk")
        self.backtest.validate(f"{where}: backtest")
        return self

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("source", None)
        return d


# ------------------------------------------------------------------------------------------- helpers


def _check_range(where: str, name: str, value: Any, lo: float, hi: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (lo <= value <= hi):
        raise ConfigError(f"{where}.{name}: must be a number in [{lo:g}, {hi:g}], got {value!r}")


def _check_choice(where: str, name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ConfigError(f"{where}.{name}: {value!r} is not one of {choices}")


def _coerce(where: str, name: str, tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}.{name}: must be a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(f"{where}.{name}: must be an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}.{name}: must be true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}.{name}: must be a string, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}.{name}: must be a list, got {value!r}")
        inner = typing.get_args(tp)[0]
        return tuple(_coerce(where, f"{name}[{i}]", inner, v) for i, v in enumerate(value))
    raise TypeError(f"unsupported config type {tp!r} for {name}")  # programming error


def _build_section(cls: type, data: Any, where: str) -> Any:
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a mapping of settings, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(names)}")
    kwargs = {k: _coerce(where, k, hints[k], v) for k, v in data.items()}
    return cls(**kwargs)


SECTIONS = {
    "venue": VenueSettings,
    "quoting": QuotingSettings,
    "calibration": CalibrationSettings,
    "risk": RiskSettings,
    "backtest": BacktestSettings,
}


def config_from_dict(raw: Any, source: str = "<dict>") -> MMConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping with at least 'coin', got {type(raw).__name__}")
    allowed = {"coin", "capital_usd", *SECTIONS}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ConfigError(f"{source}: unknown top-level key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(sorted(allowed))}")
    if "coin" not in raw:
        raise ConfigError(f"{source}: coin: missing (e.g. coin: BTC)")
    coin = raw["coin"]
    if not isinstance(coin, str):
        raise ConfigError(f"{source}: coin: must be a string like 'BTC', got {coin!r}")
    capital = raw.get("capital_usd", 10_000.0)
    capital = _coerce(source + ":", "capital_usd", float, capital)
    sections = {name: _build_section(cls, raw.get(name), f"{source}: {name}") for name, cls in SECTIONS.items()}
    return MMConfig(coin=coin.upper(), capital_usd=capital, source=source, **sections).validate()


def load_config(path: str | Path) -> MMConfig:
    """Load and validate a per-asset YAML file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: config file not found")
    try:
        raw = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        pos = f" line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{p}:{pos}: invalid YAML: {problem}") from None
    return config_from_dict(raw, source=str(p))


def override(cfg: MMConfig, **changes: Any) -> MMConfig:
    """A copy with dotted-path overrides, e.g. override(cfg, **{"quoting.gamma": 0.1}); validated."""
    raw = cfg.to_dict()
    for dotted, value in changes.items():
        node = raw
        parts = dotted.split(".")
        for part in parts[:-1]:
            if part not in node or not isinstance(node[part], dict):
                raise ConfigError(f"{cfg.source}: override {dotted!r}: no such section {part!r}")
            node = node[part]
        if parts[-1] not in node:
            raise ConfigError(f"{cfg.source}: override {dotted!r}: no such setting")
        node[parts[-1]] = value
    return config_from_dict(raw, source=cfg.source)
