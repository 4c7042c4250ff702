"""Hyperliquid knowledge without Nautilus: market rules, wire messages and request signing."""
