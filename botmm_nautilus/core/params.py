"""The parameters the decision core reads: the ``quoting``, ``calibration``, ``signals`` and ``risk`` sections.

Each section is a frozen ``msgspec.Struct`` (unknown fields rejected). Every field carries its type,
its one default, its allowed range and, in ``Meta(description=..., extra={"unit": ...})``, its unit
and meaning. The per-asset YAML (``botmm_nautilus.config.asset``), the strategy's Nautilus config
(``strategies/config.py``) and the core (``MarketMakerCore``, ``RiskManager``, ``compute_ladder``)
all use these very objects: there is no second copy of a parameter and no second default.
``docs/CONFIG.md`` is generated from them.

Ranges are checked when msgspec decodes a section (YAML, JSON) *and* when one is built in code
(``__post_init__``), so a bad value always fails with ``field: must be ...``; rules that tie two
fields together (``max_half_spread_bps >= min_half_spread_bps``, ...) live in each section's
``_check``.

Units: ``_bps`` basis points (1e-4), ``_frac`` a plain fraction (0.05 = 5 %), ``_pct`` percent,
``_s`` / ``_ms`` seconds / milliseconds, ``_usd`` US dollars (USDC). A name without a unit states it
in its description.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Annotated
from typing import Any
from typing import Literal

import msgspec
import msgspec.inspect as mi
from msgspec import Meta

BPS_PER_UNIT = 10_000


# A fee in basis points of notional: + = a cost, - = a rebate (Hyperliquid's base tier: maker +1.5, taker +4.5).
FeeBps = Annotated[float, Meta(ge=-10, le=100)]


def fee_fraction(fee_bps: float) -> float:
    """A fee in basis points as the fraction of notional the fee and quote formulas use (1.5 -> 0.00015)."""
    return fee_bps / BPS_PER_UNIT


def float_or_none(**bounds: float) -> Any:
    """The type of an optional number with a range (msgspec needs the range on the number, not on the union)."""
    return Annotated[float, Meta(**bounds)] | None


def setting(unit: str, description: str, **bounds: float) -> Meta:
    """The ``Meta`` of one setting: its unit (shown in docs/CONFIG.md and ``botmm config show``), meaning and range."""
    return Meta(description=description, extra={"unit": unit}, **bounds)


# ------------------------------------------------------------------------------------ field specs


@dataclass(frozen=True)
class FieldSpec:
    """One field of a section, as read from its type annotation (for checks, messages and docs).

    ``kind``: "float", "int", "bool", "str", "choice", "list" (of ``item``) or "section" (a nested
    struct, ``section``). ``bounds``: msgspec's gt/ge/lt/le. ``nullable``: None is allowed.
    """

    name: str
    kind: str
    default: Any
    required: bool
    nullable: bool = False
    bounds: tuple[tuple[str, float], ...] = ()
    choices: tuple[Any, ...] = ()
    item: FieldSpec | None = None
    section: type | None = None
    unit: str = ""
    description: str = ""


_BOUND_OPS = (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))


def _spec_of(name: str, t: Any, default: Any, required: bool) -> FieldSpec:
    unit = ""
    description = ""
    while isinstance(t, mi.Metadata):
        unit = (t.extra or {}).get("unit", unit)
        description = (t.extra_json_schema or {}).get("description", description)
        t = t.type
    nullable = False
    if isinstance(t, mi.UnionType):
        others = [x for x in t.types if not isinstance(x, mi.NoneType)]
        nullable = len(others) < len(t.types)
        if len(others) != 1:
            raise TypeError(f"{name}: unsupported union type {t!r}")
        t = others[0]
        while isinstance(t, mi.Metadata):
            t = t.type
    kw: dict[str, Any] = {}
    if isinstance(t, (mi.FloatType, mi.IntType)):
        kind = "float" if isinstance(t, mi.FloatType) else "int"
        kw["bounds"] = tuple((op, getattr(t, op)) for op, _ in _BOUND_OPS if getattr(t, op) is not None)
    elif isinstance(t, mi.BoolType):
        kind = "bool"
    elif isinstance(t, mi.StrType):
        kind = "str"
    elif isinstance(t, mi.LiteralType):
        kind = "choice"
        kw["choices"] = tuple(t.values)
    elif isinstance(t, (mi.VarTupleType, mi.ListType)):
        kind = "list"
        kw["item"] = _spec_of(f"{name}[]", t.item_type, None, True)
    elif isinstance(t, mi.StructType):
        kind = "section"
        kw["section"] = t.cls
    else:
        kind = "other"
    return FieldSpec(name, kind, default, required, nullable, unit=unit, description=description, **kw)


@functools.cache
def field_specs(cls: type) -> tuple[FieldSpec, ...]:
    """The fields of a msgspec struct class in declaration order, with kind, range, unit and meaning."""
    info = mi.type_info(cls)
    out = []
    for f in info.fields:
        default = None if f.required else (f.default_factory() if f.default is msgspec.NODEFAULT else f.default)
        out.append(_spec_of(f.name, f.type, default, f.required))
    return tuple(out)


def format_number(x: float) -> str:
    """``1e+06`` style for big/small bounds, plain otherwise (messages and docs)."""
    if isinstance(x, int) or float(x).is_integer() and abs(x) < 1e6:
        return str(int(x))
    return f"{x:g}"


def expected(spec: FieldSpec) -> str:
    """What a field accepts, in words: 'a number > 0 and <= 1e+06', 'one of 'as', 'glft'', ..."""
    if spec.kind in ("float", "int"):
        text = "a number" if spec.kind == "float" else "an integer"
        if spec.bounds:
            text += " " + " and ".join(f"{dict(_BOUND_OPS)[op]} {format_number(v)}" for op, v in spec.bounds)
    elif spec.kind == "bool":
        text = "true or false"
    elif spec.kind == "str":
        text = "a string"
    elif spec.kind == "choice":
        text = "one of " + ", ".join(repr(c) for c in spec.choices)
    elif spec.kind == "list":
        text = f"a list (each item {expected(spec.item)})" if spec.item is not None else "a list"
    elif spec.kind == "section":
        text = "a mapping of settings"
    else:
        text = "a value"
    return text + (" or null" if spec.nullable else "")


def field_problem(spec: FieldSpec, value: Any, name: str | None = None) -> str | None:
    """None if ``value`` is allowed for ``spec``, else ``"name: must be ..., got ..."`` (``name[i]`` for a list item)."""
    name = spec.name if name is None else name
    if value is None:
        return None if spec.nullable else f"{name}: must be {expected(spec)}, got null"
    ok = True
    if spec.kind == "float":
        ok = not isinstance(value, bool) and isinstance(value, (int, float)) and not math.isnan(value)
    elif spec.kind == "int":
        ok = not isinstance(value, bool) and isinstance(value, int)
    elif spec.kind == "bool":
        ok = isinstance(value, bool)
    elif spec.kind == "str":
        ok = isinstance(value, str)
    elif spec.kind == "choice":
        ok = value in spec.choices and type(value) is type(spec.choices[0])
    elif spec.kind == "list":
        ok = isinstance(value, (list, tuple))
        if ok and spec.item is not None:
            for i, v in enumerate(value):
                problem = field_problem(spec.item, v, f"{name}[{i}]")
                if problem is not None:
                    return problem
    elif spec.kind == "section":
        ok = spec.section is not None and isinstance(value, spec.section)
    if ok and spec.kind in ("float", "int"):
        for op, bound in spec.bounds:
            if not {"gt": value > bound, "ge": value >= bound, "lt": value < bound, "le": value <= bound}[op]:
                ok = False
                break
    if ok:
        return None
    if spec.kind == "choice":
        return f"{name}: {value!r} is not {expected(spec)}"
    return f"{name}: must be {expected(spec)}, got {value!r}"


class Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every configuration section: frozen, unknown fields rejected, ranges checked on construction."""

    def __post_init__(self) -> None:
        for spec in field_specs(type(self)):
            problem = field_problem(spec, getattr(self, spec.name))
            if problem is not None:
                raise ValueError(problem)
        self._check()

    def _check(self) -> None:
        """Rules across fields; raise ``ValueError("field: message")``."""


# ---------------------------------------------------------------------------------------- quoting


class QuotingParams(Section, frozen=True, kw_only=True):
    """The quote model, its ladder and the requote policy (``compute_ladder`` and the strategy's order diff)."""

    model: Annotated[
        Literal["glft", "as", "classic"],
        setting("-", "quote model: 'glft' (Gueant closed form), 'as' (Avellaneda-Stoikov), 'classic' (BotMM's bps heuristic, for comparison)"),
    ] = "glft"
    gamma: Annotated[float, setting("1/(bp·lot)", "risk aversion γ per bp of mid and per lot (one lot = order_size_usd of inventory); A-S and GLFT", gt=0, le=1e6)] = 0.05
    horizon_s: Annotated[float, setting("s", "A-S horizon T - t (rolling)", ge=0, le=31_536_000)] = 300.0
    levels: Annotated[int, setting("orders per side", "price levels quoted on each side", ge=1, le=20)] = 2
    level_spacing_bps: Annotated[float, setting("bps", "distance between two levels of a side, relative to the best level", ge=0, le=1_000)] = 1.0
    size_weights: Annotated[
        tuple[Annotated[float, Meta(ge=0, le=1e6)], ...],
        setting("relative weights", "share of order_size_usd per level, best level first (normalised over the first `levels`; A-S and GLFT)"),
    ] = (0.625, 0.375)
    order_size_usd: Annotated[float, setting("USD", "total size quoted per side, split over the levels; also the inventory lot of gamma", ge=10, le=1e9)] = 150.0
    min_half_spread_bps: Annotated[float, setting("bps", "lower clamp of the model half-spread (A-S and GLFT)", ge=0, le=10_000)] = 0.5
    max_half_spread_bps: Annotated[float, setting("bps", "upper clamp of the model half-spread (A-S and GLFT)", ge=0, le=10_000)] = 50.0
    adj_spread: Annotated[float, setting("factor", "GLFT half-spread tuning factor (hftbacktest adj1)", ge=0, le=1_000)] = 1.0
    adj_skew: Annotated[float, setting("factor", "GLFT inventory-skew tuning factor (hftbacktest adj2)", ge=0, le=1_000)] = 1.0
    xi: Annotated[float_or_none(ge=0, le=1e6), setting("1/(bp·lot)", "GLFT ξ of the objective; null = gamma (CARA), 0 = risk-neutral limit")] = None
    fee_gate: Annotated[
        Literal["widen", "suppress", "off"],
        setting("-", "a quote closer to the mid than maker fee + expected_adverse_bps + fee_gate_buffer_bps is moved out ('widen'), dropped ('suppress') or kept ('off')"),
    ] = "widen"
    expected_adverse_bps: Annotated[float, setting("bps", "expected adverse selection per fill, for the fee gate", ge=0, le=1_000)] = 0.5
    fee_gate_buffer_bps: Annotated[float, setting("bps", "extra margin the fee gate adds", ge=0, le=1_000)] = 0.0
    requote_tolerance_bps: Annotated[float, setting("bps", "a resting order is not moved for less than this (keeps queue priority)", ge=0, le=1_000)] = 1.0
    requote_size_tolerance_pct: Annotated[float, setting("%", "a resting order is not resized for less than this share of its size", ge=0, le=100)] = 20.0
    min_requote_interval_ms: Annotated[float, setting("ms", "minimum time between two requote decisions", ge=0, le=3_600_000)] = 250.0
    # BotMM's classic bps heuristic (model: classic); defaults as in BotMM except the skew factor
    classic_base_spread_bps: Annotated[float, setting("bps", "classic: base total spread", ge=0, le=10_000)] = 2.0
    classic_vol_multiplier: Annotated[float, setting("bps per bp of hourly volatility", "classic: spread added per unit of volatility", ge=0, le=1_000)] = 1.5
    classic_min_spread_bps: Annotated[float, setting("bps", "classic: lower clamp of the total spread", ge=0, le=10_000)] = 0.5
    classic_max_spread_bps: Annotated[float, setting("bps", "classic: upper clamp of the total spread (its own fee gate may exceed it)", ge=0, le=10_000)] = 20.0
    classic_skew_factor: Annotated[float, setting("factor", "classic: inventory skew per unit of inventory / max position and of volatility (BotMM used 0.5)", ge=0, le=1_000)] = 0.3

    def _check(self) -> None:
        if self.max_half_spread_bps < self.min_half_spread_bps:
            raise ValueError(
                f"max_half_spread_bps: must be >= min_half_spread_bps ({self.min_half_spread_bps:g}), got {self.max_half_spread_bps:g}",
            )
        if self.classic_max_spread_bps < self.classic_min_spread_bps:
            raise ValueError(
                f"classic_max_spread_bps: must be >= classic_min_spread_bps ({self.classic_min_spread_bps:g}), "
                f"got {self.classic_max_spread_bps:g}",
            )
        if len(self.size_weights) < self.levels:
            raise ValueError(f"size_weights: needs at least `levels` ({self.levels}) weights, got {len(self.size_weights)}")
        if not sum(self.size_weights[: self.levels]) > 0:
            raise ValueError("size_weights: the first `levels` weights must have a positive sum")


# ------------------------------------------------------------------------------------ calibration


class CalibrationParams(Section, frozen=True, kw_only=True):
    """The estimators of volatility and fill intensity, and the values used until they are ready.

    Candle mode: a window shorter than a few bars is degenerate (a 120 s half-life on 300 s bars
    makes σ the last bar's return), so ``candle_calibration`` raises ``vol_half_life_s`` and
    ``intensity_window_s`` to at least ``CANDLE_MIN_WINDOW_BARS`` bars.
    """

    vol_half_life_s: Annotated[float, setting("s", "half-life of the EWMA volatility of the mid (candle mode: at least 20 bars)", ge=1, le=86_400)] = 120.0
    vol_sample_interval_s: Annotated[float, setting("s", "the volatility takes at most one mid sample per this interval (tick-level bid-ask bounce inflates it)", ge=0, le=3_600)] = 1.0
    intensity_window_s: Annotated[float, setting("s", "trailing window of trades the fill-intensity fit uses (candle mode: at least 20 bars)", ge=10, le=86_400)] = 600.0
    intensity_refit_every_s: Annotated[float, setting("s", "how often the fill intensity A·exp(-k·depth) is refitted", ge=0.1, le=86_400)] = 5.0
    default_sigma_bps_per_sqrt_s: Annotated[float, setting("bps/√s", "volatility used until the estimator is ready (and in candle mode)", ge=1e-6, le=1e4)] = 1.0
    default_A_per_s: Annotated[float, setting("1/s", "fill intensity at zero depth, per side, until a fit is valid", ge=1e-9, le=1e6)] = 1.0
    default_k_per_bps: Annotated[float, setting("1/bps", "decay of the fill intensity with depth, until a fit is valid", ge=1e-9, le=1e6)] = 0.5


# Candle mode: the fewest bars an estimator window (EWMA half-life, intensity window) may span.
CANDLE_MIN_WINDOW_BARS = 20


def candle_calibration(calibration: CalibrationParams, bar_seconds: float) -> CalibrationParams:
    """The calibration candle mode runs with: ``vol_half_life_s`` and ``intensity_window_s`` raised
    to ``CANDLE_MIN_WINDOW_BARS`` bars of ``bar_seconds`` when shorter (capped at the fields' 1-day
    maximum); every other field as configured."""
    floor_s = min(CANDLE_MIN_WINDOW_BARS * float(bar_seconds), 86_400.0)
    return msgspec.structs.replace(
        calibration,
        vol_half_life_s=max(calibration.vol_half_life_s, floor_s),
        intensity_window_s=max(calibration.intensity_window_s, floor_s),
    )


# ---------------------------------------------------------------------------------------- signals


class SignalsParams(Section, frozen=True, kw_only=True):
    """Signals that move the fair value the A-S and GLFT quotes are centred on (core/signals.py); each is off by default.

    fair = base·(1 + shift_bps·1e-4), where base is the mid, or with ``use_microprice``
    mid + microprice_weight·(microprice − mid), and
    shift_bps = imbalance·imbalance_weight_bps + flow·flow_weight_bps
                + bias·(bias_weight_bps + bias_strength·σ_bps·√bias_horizon_s)
    (σ_bps: the decision core's volatility in bps of the mid per √s). The σ term is the
    Cartea-Jaimungal-Ricci short-term alpha read as "the bias's expected move over its horizon":
    a bias of +1 believed at strength 0.2 lifts the fair value by 0.2 of one horizon's σ. A signal
    that is off reads 0 (the microprice: the mid). The classic model reads the imbalance and the
    bias in its own (BotMM's) formula and ignores the weights. In candle mode there is no book and
    no trade tape: only the bias (on the candles' closes) can act.
    """

    # --- directional bias: Kalman filter + QQE votes on closed bars
    use_bias: Annotated[bool, setting("-", "compute the directional bias in [-1, 1] (four votes of 0.25: Kalman slope, price vs Kalman, QQE trend, QQE level) and shift the fair value by it")] = False
    bias_weight_bps: Annotated[float, setting("bps", "fixed fair-value shift per unit of directional bias (a bias of +1 moves both quotes up by this many bps of the mid), added to the volatility-scaled bias_strength term", ge=-1_000, le=1_000)] = 0.0
    bias_strength: Annotated[float, setting("x σ over bias_horizon_s", "volatility-scaled fair-value shift per unit of bias: a bias of +1 moves both quotes up by bias_strength·σ·√bias_horizon_s (BotMM's bias_strength default 0.2); 0 = only bias_weight_bps", ge=-10, le=10)] = 0.2
    bias_horizon_s: Annotated[float, setting("s", "horizon of the bias's expected move (σ·√horizon scales bias_strength): how long a quote stays exposed to the predicted drift, about the A-S horizon (quoting.horizon_s, 300 s) and at most one bias bar", gt=0, le=604_800)] = 300.0
    bias_bar_interval_s: Annotated[float, setting("s", "book mode: the mid is sampled into bars of this length, a bar's close being the last mid before its end (candle mode uses the candles)", ge=1, le=604_800)] = 3600.0
    bias_rsi_period: Annotated[int, setting("bars", "RSI period n of the QQE; the RSI's ATR is smoothed twice with Wilder's period 2n - 1", ge=2, le=1_000)] = 14
    bias_rsi_smoothing: Annotated[
        Literal["wilder", "simple"],
        setting("-", "RSI averages of gains and losses: 'wilder' (the standard QQE: Wilder's running average, seeded by the simple mean) or 'simple' (BotMM's: plain means of the last n)"),
    ] = "wilder"
    bias_qqe_smoothing: Annotated[int, setting("bars", "EMA span smoothing the RSI in the QQE", ge=1, le=1_000)] = 5
    bias_qqe_factor: Annotated[float, setting("x RSI ATR", "width of the QQE bands around the smoothed RSI", gt=0, le=100)] = 3.5
    bias_slope_window: Annotated[int, setting("bars", "bars spanned by the Kalman slope vote (the filtered log price now minus its value bias_slope_window - 1 bars earlier; with the trend filter: its slope x (bias_slope_window - 1))", ge=2, le=1_000)] = 5
    bias_kalman_model: Annotated[
        Literal["level", "trend"],
        setting("-", "Kalman filter of the bias's two Kalman votes: 'level' (BotMM's random-walk level on log price, slope = change of the level over the window) or 'trend' (local linear trend: level and slope states, slope read from the filter)"),
    ] = "level"
    bias_kalman_level_var: Annotated[float, setting("(log price)²/bar", "trend filter: process variance of the level per bar", ge=0, le=1)] = 5e-8
    bias_kalman_slope_var: Annotated[float, setting("(log price/bar)²/bar", "trend filter: process variance of the slope per bar (1e-8 with the other defaults: the slope reaches 90 % of a new steady drift in about 9 bars)", ge=0, le=1)] = 1e-8
    bias_kalman_measurement_var: Annotated[float, setting("(log price)²", "trend filter: measurement variance of a bar's log close", gt=0, le=1)] = 1e-6
    # --- book imbalance
    use_imbalance: Annotated[bool, setting("-", "compute the book imbalance (Σ w_i·bid_i − Σ w_i·ask_i)/(Σ w_i·bid_i + Σ w_i·ask_i) of the sizes on the first imbalance_depth_levels levels (w_i = exp(-imbalance_level_decay·i), i = 0 at the touch), at each decision, and shift the fair value by it")] = False
    imbalance_weight_bps: Annotated[float, setting("bps", "fair-value shift per unit of book imbalance in [-1, 1] (+ = more size on the bid)", ge=-1_000, le=1_000)] = 0.0
    imbalance_depth_levels: Annotated[int, setting("book levels", "book levels per side summed into the imbalance", ge=1, le=1_000)] = 5
    imbalance_half_life_s: Annotated[float, setting("s", "half-life of the EMA smoothing the imbalance over time; 0 = the raw reading", ge=0, le=86_400)] = 0.0
    imbalance_level_decay: Annotated[float, setting("1/level", "depth weighting of the imbalance: level i (0 = touch) weighs exp(-imbalance_level_decay·i); 0 = every level alike", ge=0, le=100)] = 0.0
    # --- trade-flow imbalance
    use_flow: Annotated[bool, setting("-", "compute the trade-flow imbalance (EMA over time of aggressor-signed traded size / EMA of traded size, in [-1, 1], + = buyers lifting the ask) and shift the fair value by it")] = False
    flow_weight_bps: Annotated[float, setting("bps", "fair-value shift per unit of trade-flow imbalance in [-1, 1]", ge=-1_000, le=1_000)] = 0.0
    flow_half_life_s: Annotated[float, setting("s", "half-life of the time EMAs of the trade-flow imbalance", gt=0, le=86_400)] = 5.0
    # --- microprice
    use_microprice: Annotated[bool, setting("-", "base the fair value on the microprice (bid·ask_size + ask·bid_size)/(bid_size + ask_size) of the touch instead of the mid")] = False
    microprice_weight: Annotated[float, setting("fraction", "how far from the mid toward the microprice the base moves (1 = the microprice)", ge=0, le=1)] = 1.0


# ------------------------------------------------------------------------------------------- risk


class RiskParams(Section, frozen=True, kw_only=True):
    """Every rule of ``RiskManager`` (core/risk.py has the table of triggers and resumes), and the stop policy.

    Max position: the effective limit is the smaller of ``max_position_usd`` (absolute cap) and
    ``max_position_capital_mult`` x capital; either may be null (not both).
    """

    # --- position (worst-case exposure, USD notional)
    max_position_usd: Annotated[float_or_none(ge=10, le=1e12), setting("USD", "absolute cap of the worst-case position (position + open orders of a side)")] = 500.0
    max_position_capital_mult: Annotated[float_or_none(gt=0, le=1_000), setting("x capital", "cap of the worst-case position as a multiple of capital_usd")] = 1.0
    one_side_stop_ratio: Annotated[float, setting("fraction of max position", "at this worst-case exposure the side that adds to it stops quoting", gt=0, le=1)] = 0.8
    # --- losses
    max_daily_loss_frac: Annotated[float, setting("fraction of capital", "loss since the first update of the UTC day that pauses quoting until the next day", gt=0, le=1)] = 0.05
    max_drawdown_frac: Annotated[float, setting("fraction of peak equity", "drawdown from the peak that halts quoting", gt=0, le=1)] = 0.10
    drawdown_resume_after_s: Annotated[float_or_none(gt=0, le=31_536_000), setting("s", "a drawdown halt ends by itself after this long (the peak is re-based to current equity); null = not before `botmm kill --reset` (live: the halt is kept across restarts in state_dir) or, without state_dir, a restart")] = None
    halt_flatten: Annotated[bool, setting("-", "close the position when the drawdown halt starts")] = False
    kill_drawdown_frac: Annotated[float_or_none(gt=0, le=1), setting("fraction of peak equity", "drawdown that triggers the kill switch (must exceed max_drawdown_frac); null = off")] = None
    flatten_on_kill: Annotated[bool, setting("-", "the automatic kill switch also closes the position (IOC limits, see flatten_max_slippage_bps)")] = False
    flatten_on_stop: Annotated[bool, setting("-", "stopping the strategy also closes the position (after canceling its orders)")] = False
    flatten_max_slippage_bps: Annotated[float, setting("bps", "a flatten order is an IOC reduce-only limit this far through the touch (Hyperliquid has no market order): the worst price accepted", gt=0, le=2_000)] = 50.0
    flatten_max_tries: Annotated[int, setting("orders", "a flatten sends at most this many IOC orders (each after the previous one is resolved); what is left is reported", ge=1, le=100)] = 5
    # --- volatility
    vol_spike_ratio: Annotated[float, setting("x baseline", "volatility at this multiple of its slow baseline pauses quoting", gt=1, le=1_000)] = 3.0
    vol_resume_ratio: Annotated[float_or_none(ge=1, le=1_000), setting("x baseline", "a volatility pause ends below this multiple (after the cooldown); null = 2/3 of vol_spike_ratio, at least 1")] = None
    vol_spike_cooldown_s: Annotated[float, setting("s", "a volatility pause lasts at least this long after the last spiking reading", ge=0, le=86_400)] = 300.0
    vol_baseline_halflife_s: Annotated[float, setting("s", "half-life of the slow volatility baseline", gt=0, le=31_536_000)] = 3600.0
    vol_baseline_sample_s: Annotated[float, setting("s", "the baseline takes at most one sample per this interval", gt=0, le=86_400)] = 1.0
    vol_min_samples: Annotated[int, setting("samples", "baseline samples before the volatility rules act", ge=1, le=100_000_000)] = 60
    vol_widen_start_ratio: Annotated[float_or_none(ge=1, le=1_000), setting("x baseline", "from this multiple up spreads widen and sizes shrink linearly until vol_spike_ratio; null = half of vol_spike_ratio, at least 1")] = None
    vol_max_spread_multiplier: Annotated[float, setting("x", "spread multiplier reached at vol_spike_ratio", ge=1, le=1_000)] = 2.0
    vol_min_size_multiplier: Annotated[float, setting("x", "size multiplier reached at vol_spike_ratio", gt=0, le=1)] = 0.5
    # --- mid jump circuit breaker
    mid_jump_frac: Annotated[float_or_none(gt=0, le=1), setting("fraction of mid", "a mid move this large from the reference pauses quoting; null = off")] = 0.02
    mid_jump_window_s: Annotated[float, setting("s", "the mid-jump reference is re-taken this often", gt=0, le=86_400)] = 60.0
    mid_jump_pause_s: Annotated[float, setting("s", "length of a mid-jump pause", ge=0, le=86_400)] = 120.0
    # --- market data freshness
    stale_book_s: Annotated[float_or_none(ge=0.1, le=86_400), setting("s", "no book update for this long pauses quoting; null = off")] = 10.0
    # --- post-only reject storm
    post_only_reject_count: Annotated[int, setting("rejects", "this many post-only rejects within post_only_reject_window_s pause quoting", ge=1, le=1_000_000)] = 20
    post_only_reject_window_s: Annotated[float, setting("s", "window of the post-only reject count", ge=0.1, le=86_400)] = 10.0
    post_only_reject_pause_s: Annotated[float, setting("s", "length of a post-only reject pause", ge=0, le=86_400)] = 30.0
    # --- API error storm
    api_error_count: Annotated[int, setting("errors", "this many API errors within api_error_window_s pause quoting", ge=1, le=1_000_000)] = 5
    api_error_window_s: Annotated[float, setting("s", "window of the API error count", gt=0, le=86_400)] = 60.0
    api_error_pause_s: Annotated[float, setting("s", "length of an API error pause", ge=0, le=86_400)] = 120.0

    def _check(self) -> None:
        if self.max_position_usd is None and self.max_position_capital_mult is None:
            raise ValueError("max_position_usd: set max_position_usd or max_position_capital_mult (both are null)")
        if self.kill_drawdown_frac is not None and self.kill_drawdown_frac <= self.max_drawdown_frac:
            raise ValueError(
                f"kill_drawdown_frac: must be > max_drawdown_frac ({self.max_drawdown_frac:g}), got {self.kill_drawdown_frac:g}",
            )
        if not (1 <= self.effective_vol_resume_ratio <= self.vol_spike_ratio):
            raise ValueError(
                f"vol_resume_ratio: must be in [1, vol_spike_ratio ({self.vol_spike_ratio:g})] or null, got {self.vol_resume_ratio!r}",
            )
        if not (1 <= self.effective_vol_widen_start_ratio < self.vol_spike_ratio):
            raise ValueError(
                f"vol_widen_start_ratio: must be in [1, vol_spike_ratio ({self.vol_spike_ratio:g})) or null, "
                f"got {self.vol_widen_start_ratio!r}",
            )

    @property
    def effective_vol_resume_ratio(self) -> float:
        if self.vol_resume_ratio is not None:
            return self.vol_resume_ratio
        return max(1.0, self.vol_spike_ratio * 2.0 / 3.0)

    @property
    def effective_vol_widen_start_ratio(self) -> float:
        if self.vol_widen_start_ratio is not None:
            return self.vol_widen_start_ratio
        return max(1.0, self.vol_spike_ratio * 0.5)


# --------------------------------------------------------------------------------------- adaptive


class AdaptiveParams(Section, frozen=True, kw_only=True):
    """The adaptive features of ``AdaptiveMarketMaker`` (core/adaptive.py, core/regime.py); each is off by default.

    Every feature is an ``Adjuster`` (core/adjust.py) that scales each side's distance from the mid
    and its sizes, or shifts the fair value; their multipliers multiply and their shifts add.
    ``use_regime``: the volatility regime (fast vs slow EWMA variance of the mid's log returns on a
    time grid) picks a spread and size multiplier. ``use_fill_rate``: each side's fills per minute of
    quoting over a rolling window, kept in a target band by tightening or widening that side.
    ``use_inventory_decay``: the longer and larger the position, the further the fair value moves
    against it, and the side that adds to it is quoted smaller.
    """

    # --- volatility regime
    use_regime: Annotated[bool, setting("-", "quote wider and smaller in a high-volatility regime, tighter in a low one (core/regime.py)")] = False
    regime_sample_interval_s: Annotated[float, setting("s", "the regime samples the mid (the last one before each point) on a grid of this step; candle mode: at least the bar", gt=0, le=3_600)] = 1.0
    regime_fast_half_life_s: Annotated[float, setting("s", "half-life of the fast EWMA variance of the sampled log returns", gt=0, le=86_400)] = 60.0
    regime_slow_half_life_s: Annotated[float, setting("s", "half-life of the slow EWMA variance (the baseline); must exceed the fast one", gt=0, le=604_800)] = 1800.0
    regime_min_samples: Annotated[int, setting("samples", "grid samples before a regime is declared (warm-up: no adjustment)", ge=2, le=10_000_000)] = 300
    regime_high_ratio: Annotated[float, setting("x", "sqrt(fast/slow) at or above which the regime is high", gt=1, le=1_000)] = 1.5
    regime_low_ratio: Annotated[float, setting("x", "sqrt(fast/slow) at or below which the regime is low", gt=0, lt=1)] = 0.7
    regime_hysteresis: Annotated[float, setting("x", "a regime is left only when the ratio is this far back inside its threshold", ge=0, le=10)] = 0.1
    regime_high_spread_mult: Annotated[float, setting("x", "spread multiplier of both sides in the high regime", gt=0, le=20)] = 1.5
    regime_low_spread_mult: Annotated[float, setting("x", "spread multiplier of both sides in the low regime", gt=0, le=20)] = 0.85
    regime_high_size_mult: Annotated[float, setting("x", "size multiplier of both sides in the high regime", gt=0, le=10)] = 0.6
    regime_low_size_mult: Annotated[float, setting("x", "size multiplier of both sides in the low regime", gt=0, le=10)] = 1.0
    # --- fill rate
    use_fill_rate: Annotated[bool, setting("-", "keep each side's fills per minute of quoting within [fill_rate_target_low, fill_rate_target_high] by tightening or widening that side")] = False
    fill_rate_window_s: Annotated[float, setting("s", "rolling window of fills and quoting time", ge=10, le=86_400)] = 900.0
    fill_rate_min_quoting_s: Annotated[float, setting("s", "a side is judged only after it was quoted this long within the window", ge=1, le=86_400)] = 120.0
    fill_rate_target_low: Annotated[float, setting("fills/min", "below this a side's spread tightens one step", ge=0, le=10_000)] = 0.2
    fill_rate_target_high: Annotated[float, setting("fills/min", "above this a side's spread widens one step", gt=0, le=10_000)] = 2.0
    fill_rate_step: Annotated[float, setting("fraction", "one step multiplies a side's spread multiplier by 1 - step (tighten) or 1 + step (widen)", gt=0, lt=1)] = 0.05
    fill_rate_interval_s: Annotated[float, setting("s", "at most one step per side per this interval", ge=0.1, le=86_400)] = 30.0
    fill_rate_min_mult: Annotated[float, setting("x", "floor of a side's spread multiplier (tightest)", gt=0, le=1)] = 0.6
    fill_rate_max_mult: Annotated[float, setting("x", "cap of a side's spread multiplier (widest)", ge=1, le=20)] = 2.0
    # --- inventory decay
    use_inventory_decay: Annotated[bool, setting("-", "shift the fair value against the position, more the older it is, and quote the side that adds to it smaller")] = False
    decay_base_bps: Annotated[float, setting("bps per unit of inventory_frac", "fair-value shift per unit of position / max position when the position is new", ge=0, le=1_000)] = 1.0
    decay_growth_bps_per_min: Annotated[float, setting("bps per unit of inventory_frac per minute", "growth of that shift per minute the position has kept its sign", ge=0, le=1_000)] = 0.5
    decay_max_bps: Annotated[float, setting("bps per unit of inventory_frac", "cap of the shift per unit of inventory_frac", ge=0, le=1_000)] = 5.0
    decay_size_tilt: Annotated[float, setting("fraction per unit of inventory_frac", "the adding side's size multiplier is 1 - tilt x |inventory_frac|", ge=0, le=10)] = 0.5
    decay_min_size_mult: Annotated[float, setting("x", "floor of the adding side's size multiplier", gt=0, le=1)] = 0.3
    decay_flat_frac: Annotated[float, setting("fraction of max position", "a position below this |inventory_frac| counts as flat (its age restarts)", ge=0, lt=1)] = 0.02

    def _check(self) -> None:
        if self.regime_slow_half_life_s <= self.regime_fast_half_life_s:
            raise ValueError(
                f"regime_slow_half_life_s: must be > regime_fast_half_life_s ({self.regime_fast_half_life_s:g}), got {self.regime_slow_half_life_s:g}",
            )
        if self.regime_high_ratio - self.regime_hysteresis <= self.regime_low_ratio + self.regime_hysteresis:
            raise ValueError(
                f"regime_hysteresis: the bands overlap: regime_high_ratio - hysteresis ({self.regime_high_ratio - self.regime_hysteresis:g}) "
                f"must exceed regime_low_ratio + hysteresis ({self.regime_low_ratio + self.regime_hysteresis:g})",
            )
        if self.fill_rate_target_high <= self.fill_rate_target_low:
            raise ValueError(
                f"fill_rate_target_high: must be > fill_rate_target_low ({self.fill_rate_target_low:g}), got {self.fill_rate_target_high:g}",
            )
        if self.decay_max_bps < self.decay_base_bps:
            raise ValueError(f"decay_max_bps: must be >= decay_base_bps ({self.decay_base_bps:g}), got {self.decay_max_bps:g}")


# Candle mode: the fewest bars the regime's fast half-life spans (its slow one: CANDLE_MIN_WINDOW_BARS).
CANDLE_MIN_REGIME_FAST_BARS = 4


def candle_adaptive(adaptive: AdaptiveParams, bar_seconds: float) -> AdaptiveParams:
    """The adaptive features candle mode runs with: the mid moves once a bar, so the regime samples
    once a bar (``regime_sample_interval_s`` raised to the bar; a finer grid would read the bar's
    flat stretch as zero returns), its fast half-life spans at least ``CANDLE_MIN_REGIME_FAST_BARS``
    bars and its slow one at least ``CANDLE_MIN_WINDOW_BARS``; the fill rate's window spans at least
    ``CANDLE_MIN_WINDOW_BARS`` bars and it steps at most once a bar. Each raised only when shorter
    (capped at the fields' maxima); every other field as configured."""
    bar = float(bar_seconds)
    fast = min(max(adaptive.regime_fast_half_life_s, CANDLE_MIN_REGIME_FAST_BARS * bar), 86_400.0)
    slow = min(max(adaptive.regime_slow_half_life_s, CANDLE_MIN_WINDOW_BARS * bar, 2.0 * fast), 604_800.0)
    return msgspec.structs.replace(
        adaptive,
        regime_sample_interval_s=min(max(adaptive.regime_sample_interval_s, bar), 3_600.0),
        regime_fast_half_life_s=fast,
        regime_slow_half_life_s=slow,
        fill_rate_window_s=min(max(adaptive.fill_rate_window_s, CANDLE_MIN_WINDOW_BARS * bar), 86_400.0),
        fill_rate_interval_s=min(max(adaptive.fill_rate_interval_s, bar), 86_400.0),
    )


# ------------------------------------------------------------------------------------- toxicity


class ToxicityParams(Section, frozen=True, kw_only=True):
    """Per-side toxicity of our fills from their markouts (core/toxicity.py ``Toxicity``).

    After each fill the mid at the fill is kept; at each horizon h the first mid observed at or after
    fill + h (book mode: a mid update; candle mode: a bar close, so h is reached after N bars) gives
    the adverse move (a buy followed by a falling mid is adverse), scored adverse / (σ·√elapsed)
    clamped to [0, 1], σ being the feature's own EWMA volatility of the mid at the fill time (at least
    ``min_sigma_bps_per_sqrt_s``). Each score updates the side's EMA; horizons of one fill reached on
    the same mid update count once. The side's spread is multiplied by band; above
    ``pause_threshold`` the side is pulled for ``pause_s``.
    """

    enabled: Annotated[bool, setting("-", "switch the toxicity feature on")] = False
    horizons_s: Annotated[
        tuple[Annotated[float, Meta(gt=0, le=86_400)], ...],
        setting("s", "markout horizons after each fill (candle mode: use multiples of the bar length)"),
    ] = (1.0, 5.0, 30.0)
    ema_alpha: Annotated[float, setting("weight", "weight of a new markout score in the side's EMA", gt=0, le=1)] = 0.2
    initial_score: Annotated[float, setting("score in [0, 1]", "a side's score before its first markout, and the level it decays back to", ge=0, le=1)] = 0.3
    decay_half_life_s: Annotated[float, setting("s", "half-life of the decay of a side's score toward initial_score while no new markout comes in; 0 = no decay", ge=0, le=604_800)] = 600.0
    min_markouts: Annotated[int, setting("markouts", "a side's bands and pause act only after this many markouts of that side", ge=0, le=1_000_000)] = 3
    vol_half_life_s: Annotated[float, setting("s", "half-life of the EWMA volatility of the mid that scales the markouts", ge=1, le=86_400)] = 300.0
    vol_sample_interval_s: Annotated[float, setting("s", "the volatility takes at most one mid sample per this interval", ge=0, le=3_600)] = 1.0
    min_sigma_bps_per_sqrt_s: Annotated[float, setting("bps/√s", "floor of the volatility in the score (σ = 0 or unknown never divides by zero)", gt=0, le=1e4)] = 0.2
    high_score: Annotated[float, setting("score", "above this score a side's spread is multiplied by high_mult", ge=0, le=1)] = 0.6
    high_mult: Annotated[float, setting("x", "spread multiplier above high_score", ge=0.1, le=100)] = 1.5
    mid_score: Annotated[float, setting("score", "above this score (up to high_score) the spread is multiplied by mid_mult", ge=0, le=1)] = 0.4
    mid_mult: Annotated[float, setting("x", "spread multiplier above mid_score", ge=0.1, le=100)] = 1.25
    low_score: Annotated[float, setting("score", "below this score the spread is multiplied by low_mult (between low_score and mid_score: 1)", ge=0, le=1)] = 0.2
    low_mult: Annotated[float, setting("x", "spread multiplier below low_score", ge=0.1, le=100)] = 0.9
    pause_threshold: Annotated[float, setting("score", "a markout that lifts a side's score above this pulls that side for pause_s", ge=0, le=1)] = 0.8
    pause_s: Annotated[float, setting("s", "length of a one-sided toxicity pause; 0 = never pause", ge=0, le=86_400)] = 30.0
    max_pending: Annotated[int, setting("fills", "fills awaiting markouts kept at most (the oldest is dropped beyond)", ge=1, le=1_000_000)] = 2_000

    def _check(self) -> None:
        if not self.horizons_s:
            raise ValueError("horizons_s: needs at least one horizon")
        if not self.low_score <= self.mid_score <= self.high_score:
            raise ValueError(
                f"mid_score: bands must satisfy low_score <= mid_score <= high_score, got "
                f"{self.low_score:g}, {self.mid_score:g}, {self.high_score:g}",
            )


# ------------------------------------------------------------------------------------ auto-tuner


class AutoTuneParams(Section, frozen=True, kw_only=True):
    """Runtime rules over a rolling window (core/autotune.py ``AutoTuner``), evaluated every ``eval_interval_s``.

    PnL is the feature's own mark-to-mid PnL of our fills (cash + position × mid, less the maker fee
    it is given), sampled at each evaluation. Rules: the Sharpe ratio of the per-interval PnL over the
    window below ``sharpe_threshold`` widens (spread_mult += spread_step); otherwise a fill rate
    (fills / decisions with at least one side quoted, over the window) below ``min_fill_rate``
    tightens (spread_mult -= spread_step); |inventory_frac| above ``inventory_threshold`` raises the
    skew (fair shift of −skew_bps × inventory_frac); a drawdown over the window (peak − current
    equity, fraction of capital) above ``drawdown_threshold_frac`` cuts size_mult by size_step. When
    no rule has fired for ``reset_after_s`` each tuned value moves one step back to neutral per
    evaluation. Every change is logged with its reason.
    """

    enabled: Annotated[bool, setting("-", "switch the auto-tuner on")] = False
    window_s: Annotated[float, setting("s", "rolling window the rules read", gt=0, le=604_800)] = 600.0
    eval_interval_s: Annotated[float, setting("s", "the rules are evaluated at most once per this interval (also the PnL sampling interval)", gt=0, le=86_400)] = 60.0
    min_intervals: Annotated[int, setting("intervals", "PnL intervals in the window before the Sharpe rule acts", ge=2, le=100_000)] = 5
    sharpe_threshold: Annotated[float, setting("Sharpe per interval", "rolling Sharpe (mean / std of the interval PnL) below this widens", ge=-100, le=100)] = 0.0
    min_fill_rate: Annotated[float, setting("fills per quoted decision", "fill rate below this tightens; the seed's 0.15 was per 5-minute bar (candle mode), book mode decides every few hundred ms and fills 1.5-5 % of its quoted decisions (HL recording), hence 0.02", ge=0, le=100)] = 0.02
    min_quoted_decisions: Annotated[int, setting("decisions", "quoted decisions in the window before the fill-rate rule acts", ge=1, le=10_000_000)] = 20
    inventory_threshold: Annotated[float, setting("fraction of max position", "|inventory_frac| above this raises the skew", gt=0, le=1)] = 0.7
    drawdown_threshold_frac: Annotated[float, setting("fraction of capital", "drawdown of our PnL over the window above this cuts size", gt=0, le=1)] = 0.01
    spread_step: Annotated[float, setting("x", "change of spread_mult per rule firing", gt=0, le=10)] = 0.1
    min_spread_mult: Annotated[float, setting("x", "lower bound of the tuned spread multiplier", gt=0, le=1)] = 0.8
    max_spread_mult: Annotated[float, setting("x", "upper bound of the tuned spread multiplier", ge=1, le=100)] = 2.0
    skew_step_bps: Annotated[float, setting("bps per unit inventory_frac", "raise of the skew per firing", gt=0, le=1_000)] = 0.5
    max_skew_bps: Annotated[float, setting("bps per unit inventory_frac", "upper bound of the tuned skew", ge=0, le=10_000)] = 5.0
    size_step: Annotated[float, setting("x", "cut of size_mult per firing", gt=0, le=1)] = 0.1
    min_size_mult: Annotated[float, setting("x", "lower bound of the tuned size multiplier", gt=0, le=1)] = 0.5
    reset_after_s: Annotated[float, setting("s", "after this long with no rule firing the tuned values step back to neutral (one step per evaluation)", gt=0, le=604_800)] = 1_800.0


# ---------------------------------------------------------------------------------- dynamic sizer


class SizingParams(Section, frozen=True, kw_only=True):
    """Order size per side from equity and bounded factors (core/sizing.py ``DynamicSizer``).

    target_usd(side) = equity_usd × equity_fraction × clamp(vol × fill × inventory(side) ×
    toxicity(side) × drawdown × streak, total_min, total_max), at least ``min_side_usd`` / the best
    level's share of the side; given to the core as a size multiplier target_usd / order_size_usd.
    Each factor is clamped to its own [min, max]. The core keeps every level on the lot and drops a
    level below the venue's minimum order value, so the sizer never produces an invalid order.
    """

    enabled: Annotated[bool, setting("-", "switch the dynamic sizer on")] = False
    equity_fraction: Annotated[float, setting("fraction of equity", "base size per side before the factors (0.015 of the default 10,000 USD capital = the default order_size_usd of 150)", gt=0, le=100)] = 0.015
    min_side_usd: Annotated[float, setting("USD", "floor of the best level's size: a side's target is at least this / the best level's share of the side (keeps the best level above the venue's 10 USD minimum after lot rounding)", ge=0, le=1e9)] = 11.0
    total_min: Annotated[float, setting("x", "lower clamp of the product of the factors", gt=0, le=100)] = 0.25
    total_max: Annotated[float, setting("x", "upper clamp of the product of the factors", gt=0, le=100)] = 2.0
    # volatility: baseline / sigma
    vol_baseline_half_life_s: Annotated[float, setting("s", "half-life of the slow baseline of sigma (of the relative volatility sigma_price / mid)", gt=0, le=31_536_000)] = 3_600.0
    vol_factor_min: Annotated[float, setting("x", "lower clamp of the volatility factor baseline / sigma", gt=0, le=100)] = 0.5
    vol_factor_max: Annotated[float, setting("x", "upper clamp of the volatility factor", gt=0, le=100)] = 1.25
    # fill rate: target / observed fills per minute
    fill_window_s: Annotated[float, setting("s", "window of the fill-rate count", gt=0, le=604_800)] = 600.0
    target_fills_per_min: Annotated[float, setting("fills/min", "fill rate at which the fill factor is 1 (faster: smaller, slower: larger)", gt=0, le=1e6)] = 1.0
    fill_factor_min: Annotated[float, setting("x", "lower clamp of the fill factor target / observed rate", gt=0, le=100)] = 0.5
    fill_factor_max: Annotated[float, setting("x", "upper clamp of the fill factor", gt=0, le=100)] = 1.25
    # inventory: 1 -/+ strength x |inventory_frac|
    inventory_strength: Annotated[float, setting("x per unit inventory_frac", "the side adding to the position gets 1 − strength·|inv|, the side reducing it 1 + strength·|inv|", ge=0, le=100)] = 0.5
    inventory_factor_min: Annotated[float, setting("x", "lower clamp of the inventory factor", gt=0, le=100)] = 0.25
    inventory_factor_max: Annotated[float, setting("x", "upper clamp of the inventory factor", gt=0, le=100)] = 1.5
    # toxicity: 1 - strength x (score - initial score), when a Toxicity feature is given
    toxicity_strength: Annotated[float, setting("x per unit score", "a side's factor is 1 − strength·(score − the toxicity's initial_score)", ge=0, le=100)] = 1.0
    toxicity_factor_min: Annotated[float, setting("x", "lower clamp of the toxicity factor", gt=0, le=100)] = 0.5
    toxicity_factor_max: Annotated[float, setting("x", "upper clamp of the toxicity factor", gt=0, le=100)] = 1.2
    # drawdown from peak equity: 1 - drawdown / drawdown_full_frac
    drawdown_full_frac: Annotated[float, setting("fraction of peak equity", "drawdown at which the drawdown factor reaches its minimum (linear from 1 at no drawdown)", gt=0, le=1)] = 0.05
    drawdown_factor_min: Annotated[float, setting("x", "lower clamp of the drawdown factor", gt=0, le=1)] = 0.25
    # streaks of round trips (flat to flat): 1 + streak_step x streak (+n wins, -n losses)
    streak_step: Annotated[float, setting("x per round trip", "factor change per round trip of the current win (+) or loss (−) streak", ge=0, le=10)] = 0.05
    streak_factor_min: Annotated[float, setting("x", "lower clamp of the streak factor", gt=0, le=100)] = 0.5
    streak_factor_max: Annotated[float, setting("x", "upper clamp of the streak factor", gt=0, le=100)] = 1.25

    def _check(self) -> None:
        for lo, hi in (
            ("total_min", "total_max"), ("vol_factor_min", "vol_factor_max"), ("fill_factor_min", "fill_factor_max"),
            ("inventory_factor_min", "inventory_factor_max"), ("toxicity_factor_min", "toxicity_factor_max"),
            ("streak_factor_min", "streak_factor_max"),
        ):
            if getattr(self, hi) < getattr(self, lo):
                raise ValueError(f"{hi}: must be >= {lo} ({getattr(self, lo):g}), got {getattr(self, hi):g}")


# ------------------------------------------------------------------------------------- fill model


class FillModelParams(Section, frozen=True, kw_only=True):
    """The adverse-selection model's say on the ladder (core/fill_model.py ``FillModelAdjuster``).

    The model file is written by ``botmm train-fill-model``; at each quoting decision every level's
    probability that a fill there is adverse (``p_adverse``, given a fill) is predicted: at or above
    ``widen_threshold`` the level's distance from the mid is multiplied by ``widen_mult``, at or
    above ``pull_threshold`` the level is removed.
    """

    enabled: Annotated[bool, setting("-", "use the fill / adverse-selection model to widen or pull levels")] = False
    path: Annotated[str, setting("path", "model file written by `botmm train-fill-model --out` (JSON); required when enabled")] = ""
    widen_threshold: Annotated[float, setting("probability", "p_adverse (given a fill) at or above which a level is widened", ge=0, le=1)] = 0.8
    pull_threshold: Annotated[float, setting("probability", "p_adverse (given a fill) at or above which a level is pulled (>= widen_threshold)", ge=0, le=1)] = 0.95
    widen_mult: Annotated[float, setting("x distance", "a widened level's distance from the mid is multiplied by this", ge=1, le=100)] = 1.5

    def _check(self) -> None:
        if self.pull_threshold < self.widen_threshold:
            raise ValueError(
                f"pull_threshold: must be >= widen_threshold ({self.widen_threshold:g}), got {self.pull_threshold:g}",
            )
        if self.enabled and not self.path:
            raise ValueError("path: the model file is required when enabled is true")
