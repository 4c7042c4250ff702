"""The recorder's user-facing error."""

from __future__ import annotations

from botmm_nautilus.errors import BotmmError


class RecorderError(BotmmError):
    """A user-facing problem (unknown coin, venue unreachable, catalog conflict): one line ``error: ...``."""
