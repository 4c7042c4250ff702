"""Hyperliquid's public endpoints and how a WebSocket URL follows from an HTTP base."""

from __future__ import annotations

from typing import Final

MAINNET_HTTP: Final[str] = "https://api.hyperliquid.xyz"
TESTNET_HTTP: Final[str] = "https://api.hyperliquid-testnet.xyz"


def http_url(testnet: bool) -> str:
    return TESTNET_HTTP if testnet else MAINNET_HTTP


def ws_url_from_http(base_url_http: str) -> str:
    """``http(s)://host[:port]`` -> ``ws(s)://host[:port]/ws``."""
    base = base_url_http.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base[len("https://"):] + "/ws"
    if base.startswith("http://"):
        return "ws://" + base[len("http://"):] + "/ws"
    return base + "/ws"


def http_url_from_ws(ws_url: str) -> str:
    """``ws(s)://host[:port][/ws]`` -> ``http(s)://host[:port]`` (the inverse of :func:`ws_url_from_http`)."""
    base = "http" + ws_url.rstrip("/")[len("ws"):]
    return base.removesuffix("/ws")
