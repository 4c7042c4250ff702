"""Adapters of botmm-nautilus (installed as ``botmm_nautilus.adapters``): ``hyperliquid``."""
