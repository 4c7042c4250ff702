"""The per-asset YAML (``configs/btc.yaml`` ...): one schema, loaded by ``botmm_nautilus.config.loader``.

Layout (every key optional except ``coin``; unknown keys are errors)::

    coin: BTC
    strategy: MarketMaker     # a name of botmm_nautilus.strategies.STRATEGIES
    capital_usd: 10000        # the backtest account's starting balance and what the risk limits scale with
    venue:       ...          # VenueParams: fees (bps), order latency, leverage
    quoting:     ...          # core QuotingParams
    calibration: ...          # core CalibrationParams
    signals:     ...          # core SignalsParams (all off by default)
    risk:        ...          # core RiskParams
    adaptive:    ...          # core AdaptiveParams (read by AdaptiveMarketMaker only)
    toxicity:    ...          # core ToxicityParams (AdaptiveMarketMaker only)
    autotune:    ...          # core AutoTuneParams (AdaptiveMarketMaker only)
    sizing:      ...          # core SizingParams (AdaptiveMarketMaker only)
    fill_model:  ...          # core FillModelParams (AdaptiveMarketMaker only; the model file of botmm train-fill-model)
    backtest:    ...          # BacktestParams: catalog, queue model, report sampling

``quoting``, ``calibration``, ``signals``, ``risk`` and ``adaptive`` are the core's own sections (core/params.py): the strategy
config carries them as they are and the core reads them, so each default exists once.
``AssetConfig.strategy_config`` builds the Nautilus config of the chosen strategy. Errors name the
file and the dotted field::

    configs/btc.yaml: quoting.model: 'avellaneda' is not one of 'as', 'classic', 'glft'

docs/CONFIG.md lists every key with its type, unit, default and meaning (generated from these classes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from typing import Any
from typing import Literal

import msgspec

from botmm_nautilus.config import loader
from botmm_nautilus.core.params import AdaptiveParams
from botmm_nautilus.core.params import AutoTuneParams
from botmm_nautilus.core.params import CalibrationParams
from botmm_nautilus.core.params import FeeBps
from botmm_nautilus.core.params import FillModelParams
from botmm_nautilus.core.params import QuotingParams
from botmm_nautilus.core.params import RiskParams
from botmm_nautilus.core.params import Section
from botmm_nautilus.core.params import SignalsParams
from botmm_nautilus.core.params import SizingParams
from botmm_nautilus.core.params import ToxicityParams
from botmm_nautilus.core.params import candle_adaptive
from botmm_nautilus.core.params import candle_calibration
from botmm_nautilus.core.params import setting
from botmm_nautilus.strategies import STRATEGIES
from botmm_nautilus.strategies import AdaptiveMarketMakerConfig
from botmm_nautilus.strategies import MarketMakerConfig
from botmm_nautilus.strategies import strategy_classes
from botmm_nautilus.strategies.config import DEFAULT_SAMPLE_INTERVAL_S
from botmm_nautilus.venue import rules as hl_rules

# seconds per bar of each ``backtest.bar_interval``
BAR_SECONDS = {"1-SECOND": 1, "1-MINUTE": 60, "5-MINUTE": 300, "15-MINUTE": 900, "1-HOUR": 3600}


class VenueParams(Section, frozen=True, kw_only=True):
    """The venue the backtest simulates; the maker fee is also what the quoting's fee gates assume (live too)."""

    maker_fee_bps: Annotated[FeeBps, setting("bps", "maker fee, + = a cost, - = a rebate (Hyperliquid base tier: makers pay 1.5)")] = round(
        hl_rules.BASE_MAKER_FEE * 10_000, 9,
    )
    taker_fee_bps: Annotated[FeeBps, setting("bps", "taker fee, + = a cost (Hyperliquid base tier: 4.5)")] = round(hl_rules.BASE_TAKER_FEE * 10_000, 9)
    latency_ms: Annotated[
        float,
        setting("ms", "one-way latency from the strategy's decision to the matching engine (a non-colocated client: about one ~70 ms block)", ge=0, le=10_000),
    ] = 60.0
    leverage: Annotated[float, setting("x", "account leverage of the backtest venue", ge=1, le=50)] = 5.0


class BacktestParams(Section, frozen=True, kw_only=True):
    """How ``botmm backtest`` reads the catalog, models the queue and samples its reports."""

    catalog: Annotated[str, setting("path", "catalog directory when --catalog is not given")] = "catalog"
    queue_position: Annotated[
        bool,
        setting(
            "-",
            "book mode: resting orders queue and fill under the fill rules of venue/fill_rules.py (behind the "
            "displayed size, stale depth beyond the window, prints at and through the price); false: every print "
            "at the price fills them (optimistic, for comparison only)",
        ),
    ] = True
    liquidity_consumption: Annotated[bool, setting("-", "a fill consumes the displayed liquidity it takes (book mode)")] = True
    chunk_size: Annotated[int, setting("events", "catalog streaming chunk (book mode)", ge=1_000, le=100_000_000)] = 200_000
    sample_interval_s: Annotated[
        float, setting("s", "equity / inventory / quote sampling for the reports (book mode; candle mode samples once per bar)", ge=0.01, le=3_600),
    ] = DEFAULT_SAMPLE_INTERVAL_S
    markout_horizon_s: Annotated[float, setting("s", "adverse-selection horizon of the PnL attribution", ge=0.1, le=86_400)] = 60.0
    bar_interval: Annotated[Literal[tuple(BAR_SECONDS)], setting("-", "bar step of candle mode")] = "5-MINUTE"
    candle_fill: Annotated[
        Literal["through", "touch"],
        setting(
            "-",
            "candle mode fill rule of a resting limit order: through = only when a bar trades through its price by at least "
            "one tick (the queue ahead at that price is assumed to absorb a touch); touch = when a bar reaches its price "
            "(optimistic: front of the queue)",
        ),
    ] = "through"
    sample_label: Annotated[Literal["in-sample", "out-of-sample", "n/a"], setting("-", "whether the period was used to choose the parameters (shown in reports)")] = "n/a"


class AssetConfig(Section, frozen=True, kw_only=True):
    """One per-asset YAML file."""

    coin: Annotated[str, setting("-", "the Hyperliquid perpetual, e.g. BTC (upper-cased)")]
    strategy: Annotated[str, setting("-", "the strategy class: " + ", ".join(STRATEGIES))] = "MarketMaker"
    capital_usd: Annotated[
        float,
        setting("USD", "the capital traded: the backtest account's starting balance, and what the risk limits scale with", ge=10, le=1e12),
    ] = 10_000.0
    venue: VenueParams = VenueParams()
    quoting: QuotingParams = QuotingParams()
    calibration: CalibrationParams = CalibrationParams()
    signals: SignalsParams = SignalsParams()
    risk: RiskParams = RiskParams()
    adaptive: AdaptiveParams = AdaptiveParams()
    toxicity: ToxicityParams = ToxicityParams()
    autotune: AutoTuneParams = AutoTuneParams()
    sizing: SizingParams = SizingParams()
    fill_model: FillModelParams = FillModelParams()
    backtest: BacktestParams = BacktestParams()

    def _check(self) -> None:
        if not self.coin.isalnum():
            raise ValueError(f"coin: must be a coin name like 'BTC', got {self.coin!r}")
        msgspec.structs.force_setattr(self, "coin", self.coin.upper())
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy: {self.strategy!r} is not one of {', '.join(map(repr, STRATEGIES))}")

    def strategy_config(
        self,
        instrument_id: Any,
        *,
        strategy: str | None = None,
        mode: str = "book",
        bar_type: str | None = None,
        sample_interval_s: float = DEFAULT_SAMPLE_INTERVAL_S,
        **nautilus: Any,
    ):
        """The Nautilus config of ``strategy`` (default: this file's) for ``instrument_id``.

        ``nautilus``: fields of Nautilus's ``StrategyConfig`` (``order_id_tag``, ``log_events``, ...).
        Candle mode runs with ``candle_calibration`` (estimator windows of at least 20 bars). The
        ``adaptive`` section goes only to an adaptive strategy's config (``AdaptiveMarketMakerConfig``);
        candle mode runs it with ``candle_adaptive`` (regime sampled once a bar, windows of bars).
        """
        _, config_cls = strategy_classes(strategy or self.strategy)
        fields: dict[str, Any] = {
            "instrument_id": instrument_id,
            "mode": mode,
            "bar_type": bar_type,
            "sample_interval_s": sample_interval_s,
        }
        if issubclass(config_cls, MarketMakerConfig):
            fields.update(
                capital_usd=self.capital_usd,
                maker_fee_bps=self.venue.maker_fee_bps,
                quoting=self.quoting,
                calibration=candle_calibration(self.calibration, BAR_SECONDS[self.backtest.bar_interval]) if mode == "candles" else self.calibration,
                signals=self.signals,
                risk=self.risk,
            )
        if issubclass(config_cls, AdaptiveMarketMakerConfig):
            fields["adaptive"] = candle_adaptive(self.adaptive, BAR_SECONDS[self.backtest.bar_interval]) if mode == "candles" else self.adaptive
            fields.update(toxicity=self.toxicity, autotune=self.autotune, sizing=self.sizing, fill_model=self.fill_model)
        return config_cls(**fields, **nautilus)


def config_from_dict(raw: Any, source: str = "<dict>") -> AssetConfig:
    """A per-asset config from YAML data (``source`` names it in messages)."""
    return loader.convert(raw, AssetConfig, source)


def load_config(path: str | Path) -> AssetConfig:
    """Load and validate a per-asset YAML file."""
    return loader.load_file(path, AssetConfig)
