"""Errors of the Hyperliquid layers: the venue knowledge and the adapter built on it."""

from __future__ import annotations

from botmm_nautilus.errors import BotmmError


class HyperliquidError(BotmmError):
    """Base of every error about talking to Hyperliquid: malformed messages, refused actions, transport, keys."""


class MalformedMessage(HyperliquidError, ValueError):
    """A wire message that does not fit its kind's structure, e.g.
    ``l2Book levels[0][3].px: '100000.05' is not a plain decimal with at most 1 decimals``.

    ``kind``: the message kind (``l2Book``, ``trades``, ``userFills``, ``orderUpdates``, ...);
    ``field``: the path of the field at fault inside the message (``""`` for the message itself);
    ``reason``: what is wrong with it.
    """

    def __init__(self, kind: str, field: str, reason: str) -> None:
        self.kind = kind
        self.field = field
        self.reason = reason
        super().__init__(f"{kind} {field}: {reason}" if field else f"{kind}: {reason}")

    def __reduce__(self):  # keep the three parts when pickled
        return (type(self), (self.kind, self.field, self.reason))


class ExchangeActionError(HyperliquidError):
    """The venue refused a whole ``/exchange`` action (signature, nonce, rate limit, ...)."""
