"""Errors of the venue layer: what Hyperliquid sent (or answered) cannot be used."""

from __future__ import annotations

from botmm_nautilus.errors import BotmmError


class HyperliquidError(BotmmError):
    """Base of the venue layer's errors: a Hyperliquid message or answer the project cannot use."""


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
