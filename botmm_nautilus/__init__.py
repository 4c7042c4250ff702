"""botmm-nautilus: Hyperliquid market making on Nautilus Trader."""
__version__ = "0.1.0"
