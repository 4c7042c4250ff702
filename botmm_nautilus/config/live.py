"""``configs/live.yaml``: the live node's settings (``botmm live``), loaded by ``botmm_nautilus.config.loader``.

The same machinery as the per-asset YAML: unknown keys at any level are errors, wrong types and
out-of-range values name the dotted field (``configs/live.yaml: dead_man.deadline_s: ...``), and
``botmm config show/check`` and docs/CONFIG.md cover this file too. The per-asset strategy settings
stay in ``<configs_dir>/<coin>.yaml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from typing import Any
from typing import Literal

import msgspec

from botmm_nautilus.config import loader
from botmm_nautilus.core.params import Section
from botmm_nautilus.core.params import setting

VENUES = ("testnet", "mainnet", "twin")
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "OFF")


class KeyParams(Section, frozen=True, kw_only=True):
    """Where the signing key comes from (it is never logged, printed or written)."""

    env: Annotated[str | None, setting("-", "environment variable holding the private key; null = HYPERLIQUID_TESTNET_PK (HYPERLIQUID_PK on mainnet)")] = None
    keystore: Annotated[str | None, setting("path", "an eth-account encrypted keystore file instead of env")] = None
    keystore_password_env: Annotated[str | None, setting("-", "environment variable holding the keystore's password")] = "HYPERLIQUID_KEYSTORE_PASSWORD"


class DeadManParams(Section, frozen=True, kw_only=True):
    """Hyperliquid's scheduleCancel dead-man's switch: the venue cancels every order if the node stops refreshing it."""

    deadline_s: Annotated[float, setting("s", "orders are canceled this long after the last refresh; 0 = off (the venue's minimum is 5)", ge=0, le=86_400)] = 30.0
    refresh_s: Annotated[float, setting("s", "refresh interval of the deadline (below deadline_s)", gt=0, le=86_400)] = 15.0

    def _check(self) -> None:
        if self.deadline_s and self.deadline_s < 5:
            raise ValueError(f"deadline_s: must be 0 (off) or >= 5 (the venue's minimum), got {self.deadline_s:g}")
        if self.deadline_s and self.refresh_s >= self.deadline_s:
            raise ValueError(f"refresh_s: must be below deadline_s ({self.deadline_s:g}), got {self.refresh_s:g}")


class LiveConfig(Section, frozen=True, kw_only=True):
    """The live node: venue, coins, key, dead-man's switch, account polling and logging."""

    venue: Annotated[Literal[VENUES], setting("-", "where to trade (mainnet also needs --mainnet and a confirmation)")] = "testnet"
    url: Annotated[str | None, setting("URL", "HTTP base URL override; required for twin, e.g. http://127.0.0.1:3001")] = None
    ws_url: Annotated[str | None, setting("URL", "WebSocket URL override; null = derived from url (ws://host:port/ws)")] = None
    coins: Annotated[tuple[str, ...], setting("-", "coins to quote, one MarketMaker each (upper-cased)")] = ("BTC",)
    configs_dir: Annotated[str, setting("path", "folder of the per-asset YAML files: <configs_dir>/<coin lowercase>.yaml")] = "configs"
    trader_id: Annotated[str, setting("-", "Nautilus trader id")] = "BOTMM-001"
    key: KeyParams = KeyParams()
    account_address: Annotated[str | None, setting("address", "master address when an API (agent) wallet signs")] = None
    vault_address: Annotated[str | None, setting("address", "vault or sub-account to trade for")] = None
    dead_man: DeadManParams = DeadManParams()
    account_refresh_s: Annotated[float, setting("s", "periodic account (clearinghouseState) refresh", gt=0, le=86_400)] = 10.0
    account_min_interval_s: Annotated[float, setting("s", "after fills, at most one account refresh per this interval", ge=0, le=86_400)] = 2.0
    instrument_refresh_s: Annotated[float, setting("s", "metadata reload that notices szDecimals changes", gt=0, le=86_400)] = 300.0
    reconciliation_lookback_mins: Annotated[int, setting("min", "how far back orders and fills are reconciled at start", ge=0, le=525_600)] = 1440
    log_level: Annotated[str, setting("-", "node log level: " + ", ".join(LOG_LEVELS) + " (upper-cased)")] = "INFO"
    log_dir: Annotated[str | None, setting("path", "also write the node log (level DEBUG) to this folder")] = None
    state_dir: Annotated[str | None, setting("path", "the node's state folder: per-coin risk state (day baseline, peak equity, KILL/HALT) kept across restarts, and the control files of `botmm kill`; null = nothing persisted and no `botmm kill`")] = "state"

    def _check(self) -> None:
        msgspec.structs.force_setattr(self, "coins", tuple(c.upper() for c in self.coins))
        msgspec.structs.force_setattr(self, "log_level", self.log_level.upper())
        if not self.coins:
            raise ValueError("coins: must name at least one coin")
        if self.log_level not in LOG_LEVELS:
            raise ValueError(f"log_level: {self.log_level!r} is not one of {', '.join(LOG_LEVELS)}")
        if self.venue == "twin" and not self.url:
            raise ValueError("url: venue twin needs url (e.g. --url http://127.0.0.1:3001)")

    @property
    def testnet(self) -> bool:
        return self.venue != "mainnet"


def load_live_config(path: str | Path | None, **overrides: Any) -> LiveConfig:
    """``configs/live.yaml`` (or only the defaults when ``path`` is None) with command-line ``overrides``.

    An override that is None is not given; the overrides are validated like the file's own keys.
    """
    raw: Any = {} if path is None else loader.read_yaml(path)
    source = str(path) if path is not None else "<live settings>"
    if isinstance(raw, dict):
        raw = {**raw, **{k: v for k, v in overrides.items() if v is not None}}
    return loader.convert(raw, LiveConfig, source)
