"""Errors of the Hyperliquid layers (venue knowledge and the adapter built on it)."""

from __future__ import annotations

from botmm_nautilus.errors import BotmmError


class HyperliquidError(BotmmError):
    """Base of every error about talking to Hyperliquid (transport, refused requests, keys)."""
