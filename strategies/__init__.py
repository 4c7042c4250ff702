"""Nautilus ``Strategy`` classes with their typed configs (installed as ``botmm_nautilus.strategies``).

Thin by design: Nautilus events in, decisions of the pure core (``botmm_nautilus.core``) out as
orders. ``STRATEGIES`` names the strategies a per-asset YAML or ``--strategy`` may choose;
``importable_path`` gives the ``module:Class`` path Nautilus's importable configs need.
"""

from botmm_nautilus.errors import ConfigError

from .adaptive_market_maker import AdaptiveMarketMaker
from .adaptive_market_maker import adaptive_summary
from .config import AdaptiveMarketMakerConfig
from .config import BotmmStrategyConfig
from .config import DoNothingConfig
from .config import FixedQuoterConfig
from .config import MarketMakerConfig
from .do_nothing import DoNothing
from .fixed_quoter import FixedQuoter
from .market_maker import MarketMaker

# name -> (strategy class, its config class)
STRATEGIES: dict[str, tuple[type, type]] = {
    "MarketMaker": (MarketMaker, MarketMakerConfig),
    "AdaptiveMarketMaker": (AdaptiveMarketMaker, AdaptiveMarketMakerConfig),
    "DoNothing": (DoNothing, DoNothingConfig),
    "FixedQuoter": (FixedQuoter, FixedQuoterConfig),
}


def strategy_classes(name: str) -> tuple[type, type]:
    """``(strategy class, config class)`` of the strategy called ``name``; a ``ConfigError`` naming
    the known ones otherwise."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise ConfigError(f"unknown strategy {name!r}; known: {', '.join(STRATEGIES)}") from None


def importable_path(cls: type) -> str:
    """``package.module:Class`` of a class, as Nautilus's ``Importable*Config`` expects."""
    return f"{cls.__module__}:{cls.__qualname__}"


__all__ = ["STRATEGIES", "adaptive_summary", "AdaptiveMarketMaker", "AdaptiveMarketMakerConfig", "BotmmStrategyConfig", "DoNothing", "DoNothingConfig", "FixedQuoter", "FixedQuoterConfig", "MarketMaker", "MarketMakerConfig", "importable_path",
           "strategy_classes"]
