"""The strategies' Nautilus configs: frozen msgspec structs, unknown fields rejected.

``MarketMakerConfig`` holds the core's own parameter sections (``QuotingParams``,
``CalibrationParams``, ``SignalsParams``, ``RiskParams`` from core/params.py) as nested fields, so the per-asset
YAML, Nautilus's ``ImportableStrategyConfig`` (JSON -> ``MarketMakerConfig.parse``) and the core
all see the same objects. ``botmm_nautilus.config.asset.AssetConfig.strategy_config`` builds these
configs from a per-asset YAML.
"""

from __future__ import annotations

from typing import Annotated
from typing import Literal

from msgspec import Meta
from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.identifiers import InstrumentId

from botmm_nautilus.core.params import AdaptiveParams
from botmm_nautilus.core.params import AutoTuneParams
from botmm_nautilus.core.params import CalibrationParams
from botmm_nautilus.core.params import FeeBps
from botmm_nautilus.core.params import FillModelParams
from botmm_nautilus.core.params import QuotingParams
from botmm_nautilus.core.params import RiskParams
from botmm_nautilus.core.params import SignalsParams
from botmm_nautilus.core.params import SizingParams
from botmm_nautilus.core.params import ToxicityParams

DEFAULT_SAMPLE_INTERVAL_S = 1.0


class BotmmStrategyConfig(StrategyConfig, frozen=True, kw_only=True):
    """The wiring every strategy of this package takes: what it trades and which data it subscribes to.

    ``mode``: "book" (L2 deltas + trades) or "candles" (bars of ``bar_type`` only).
    ``record_tape``: keep mids, fills and periodic samples for the reports, sampled every
    ``sample_interval_s`` seconds.
    ``book_includes_own_orders``: the subscribed book shows this strategy's own resting orders (a
    live venue's book does, the exchange twin's too; a recorded catalog never does). The market's
    touch is then read without them, so that the quotes do not chase their own orders and the same
    market gives the same mid live and in a backtest.
    """

    instrument_id: InstrumentId
    mode: Literal["book", "candles"] = "book"
    bar_type: str | None = None
    record_tape: bool = True
    sample_interval_s: Annotated[float, Meta(gt=0, le=86_400)] = DEFAULT_SAMPLE_INTERVAL_S
    book_includes_own_orders: bool = False


class DoNothingConfig(BotmmStrategyConfig, frozen=True, kw_only=True):
    """``DoNothing`` takes the wiring only."""


class MarketMakerConfig(BotmmStrategyConfig, frozen=True, kw_only=True):
    """``MarketMaker``: the wiring plus the core's parameter sections.

    ``capital_usd``: what the risk limits scale with (daily loss, capital-relative max position).
    ``maker_fee_bps``: the maker fee the fee gates assume (+ = a cost, - = a rebate).
    Both come from the per-asset YAML (``capital_usd`` and ``venue.maker_fee_bps``); they have no
    default here so that they are defined once, there.
    """

    capital_usd: Annotated[float, Meta(gt=0, le=1e12)]
    maker_fee_bps: FeeBps
    quoting: QuotingParams = QuotingParams()
    calibration: CalibrationParams = CalibrationParams()
    signals: SignalsParams = SignalsParams()
    risk: RiskParams = RiskParams()


class FixedQuoterConfig(BotmmStrategyConfig, frozen=True, kw_only=True):
    """``FixedQuoter``: a benchmark quoter with no model (book mode only).

    ``half_spread_bps``: bid and ask this far below and above the mid.
    ``requote_interval_s``: quotes are (re)placed only at multiples of this interval of the clock
    (Unix epoch aligned).
    ``order_size``: size of each quote in base units; ``None`` = the instrument's lot.
    """

    half_spread_bps: Annotated[float, Meta(ge=0, le=10_000)] = 2.0
    requote_interval_s: Annotated[float, Meta(gt=0, le=86_400)] = 1.0
    order_size: Annotated[float, Meta(gt=0)] | None = None


class AdaptiveMarketMakerConfig(MarketMakerConfig, frozen=True, kw_only=True):
    """``AdaptiveMarketMaker``: ``MarketMaker``'s config plus the adaptive features (``AdaptiveParams``,
    the per-asset YAML's ``adaptive:`` section; ``toxicity``, ``autotune``, ``sizing``, ``fill_model``:
    the sections of those features; every feature off by default)."""

    adaptive: AdaptiveParams = AdaptiveParams()
    toxicity: ToxicityParams = ToxicityParams()
    autotune: AutoTuneParams = AutoTuneParams()
    sizing: SizingParams = SizingParams()
    fill_model: FillModelParams = FillModelParams()
