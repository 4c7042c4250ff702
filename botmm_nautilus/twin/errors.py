"""Errors of the exchange twin a user can cause (bad accounts file, bad catalog, bad options).

They derive from the project's ``BotmmError`` so the ``botmm twin`` command prints them as one line;
errors the twin answers to its HTTP/WebSocket clients are protocol replies, not exceptions.
"""

from __future__ import annotations

from botmm_nautilus.errors import BotmmError


class TwinError(BotmmError):
    """Base of the twin's user-facing errors."""


class TwinConfigError(TwinError, ValueError):
    """A bad twin option or accounts file."""


class CatalogDataError(TwinError, ValueError):
    """The catalog cannot drive the twin (missing folder, no data for a coin, ...)."""
