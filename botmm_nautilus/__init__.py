"""botmm-nautilus: Hyperliquid market making on Nautilus Trader.

One import root. The top-level folders ``adapters/`` and ``strategies/`` of the source tree are
installed as ``botmm_nautilus.adapters`` and ``botmm_nautilus.strategies`` (see pyproject.toml).
This module imports nothing, so every layer may read ``__version__``.
"""

__version__ = "0.2.0"
