"""Configs of the Hyperliquid live clients, and private-key loading.

The private key is NEVER a config field: configs are logged, serialised and shown in reprs by
Nautilus. The key comes from an environment variable (default ``HYPERLIQUID_TESTNET_PK`` when
``testnet`` else ``HYPERLIQUID_PK``; ``private_key_env`` renames it) or from an eth-account
encrypted keystore file (``keystore_path``) whose password is read from the environment variable
``keystore_password_env``. :func:`load_wallet` returns an ``eth_account`` ``LocalAccount``;
nothing here logs, prints or stores the key text, and every error message names only the source.
"""

from __future__ import annotations

import json
import os

from nautilus_trader.config import LiveDataClientConfig
from nautilus_trader.config import LiveExecClientConfig

from botmm_nautilus.errors import ConfigError
from botmm_nautilus.venue.urls import http_url
from botmm_nautilus.venue.urls import ws_url_from_http

from .constants import ENV_MAINNET_PK
from .constants import ENV_TESTNET_PK


class HLKeyError(ConfigError):
    """The private key cannot be loaded (missing env var, bad keystore, bad password); a
    ``ConfigError`` (and so a ``ValueError``) whose message names the key's source, never the key."""


class _UrlMixin:
    def http_base(self) -> str:
        return (self.base_url_http or http_url(self.testnet)).rstrip("/")

    def ws_base(self) -> str:
        return self.base_url_ws or ws_url_from_http(self.http_base())


class HLDataClientConfig(LiveDataClientConfig, _UrlMixin, frozen=True):
    """Market data client. ``coins`` limits the instruments loaded (None = the whole universe)."""

    testnet: bool = True
    base_url_http: str | None = None
    base_url_ws: str | None = None
    coins: list[str] | None = None
    http_timeout_secs: float = 10.0
    ws_heartbeat_secs: float = 50.0  # the venue closes a connection idle for 60 s
    ws_pong_timeout_secs: float = 10.0  # nothing received this long after a ping -> dead, reconnect (0 = off)
    ws_stale_secs: float = 30.0  # no message for this long -> reconnect
    ws_reconnect_max_secs: float = 10.0
    ws_stable_secs: float = 30.0  # the reconnect backoff starts over only after a connection lived this long
    instrument_refresh_secs: float = 300.0  # 0 = never (notices szDecimals changes)
    # blind means flat: coin -> max book age (s) before its quotes are pulled (venue health
    # "stale_book"); the live app fills it from each coin's risk.stale_book_s. None/absent = unwatched
    stale_book_secs: dict[str, float] | None = None
    stale_check_secs: float = 0.5  # how often the book ages are checked


class HLExecClientConfig(LiveExecClientConfig, _UrlMixin, frozen=True):
    """Execution client.

    ``account_address``: the master account when an API (agent) wallet signs; ``vault_address``:
    a vault or sub-account traded for (signed as ``vaultAddress``). The key: see module docstring.
    """

    testnet: bool = True
    base_url_http: str | None = None
    base_url_ws: str | None = None
    coins: list[str] | None = None
    private_key_env: str | None = None
    keystore_path: str | None = None
    keystore_password_env: str | None = None
    account_address: str | None = None
    vault_address: str | None = None
    http_timeout_secs: float = 10.0
    max_retries: int = 5
    retry_delay_initial_ms: int = 100
    retry_delay_max_ms: int = 3_000
    # user channels can be silent for long: liveness is the pings' answers (a ping every
    # heartbeat, nothing back within the pong timeout -> dead), and nothing at all (pongs included)
    # for ws_stale_secs; a dead execution WebSocket holds quoting (venue health "exec_ws")
    ws_heartbeat_secs: float = 15.0
    ws_pong_timeout_secs: float = 10.0
    ws_stale_secs: float = 45.0
    # every /exchange action carries expiresAfter = now + this (signed; the venue refuses it later):
    # after a lost answer, a cloid not found once this (+ exchange_expiry_margin_ms) has passed was
    # never placed, and only then is it sent again. 0 = no expiresAfter (then nothing is resent)
    exchange_expires_after_ms: int = 5_000
    exchange_expiry_margin_ms: int = 1_000  # our clock vs the venue's, on top of expiresAfter
    ws_reconnect_max_secs: float = 10.0
    ws_stable_secs: float = 30.0
    account_refresh_secs: float = 10.0
    account_min_interval_secs: float = 2.0  # after fills: at most one clearinghouseState per this
    # dead-man's switch: scheduleCancel(now + deadline) refreshed every refresh interval; 0 = off
    dead_man_deadline_secs: float = 30.0
    dead_man_refresh_secs: float = 15.0
    clear_dead_man_on_stop: bool = True  # only when the stop confirmed that no order is left at the venue
    dead_man_on_failure: str = "stop_quoting"  # or "warn": see botmm_nautilus.config.live.DeadManParams
    stop_cancel_deadline_secs: float = 30.0  # stop: cancel the venue's open orders until none is left or this
    reconcile_settle_secs: float = 5.0  # a difference with the venue is logged once the order was quiet this long
    instrument_refresh_secs: float = 300.0
    # address action budget (userRateLimit): judged every check, re-read every refresh (and at
    # each check when short or after a refusal); short -> fewer levels, exhausted -> hold quoting
    rate_budget_check_secs: float = 5.0
    rate_budget_refresh_secs: float = 60.0
    rate_budget_short_frac: float = 0.10
    rate_budget_short_minutes: float = 60.0
    rate_budget_short_levels: int = 1
    rate_budget_short_requote_mult: float = 4.0
    rate_budget_resume_actions: int = 50

    def key_source(self) -> str:
        if self.keystore_path:
            return f"keystore {self.keystore_path}"
        return f"environment variable {self.private_key_env or (ENV_TESTNET_PK if self.testnet else ENV_MAINNET_PK)}"


def load_wallet(config: HLExecClientConfig):
    """The signing ``LocalAccount`` (raises :class:`HLKeyError` with a one-line message)."""
    from eth_account import Account

    if config.keystore_path:
        path = config.keystore_path
        if not os.path.isfile(path):
            raise HLKeyError(f"keystore file not found: {path}")
        pw_env = config.keystore_password_env or "HYPERLIQUID_KEYSTORE_PASSWORD"
        password = os.environ.get(pw_env)
        if password is None:
            raise HLKeyError(f"keystore {path}: password environment variable {pw_env} is not set")
        try:
            with open(path, encoding="utf-8") as fh:
                blob = json.load(fh)
            key = Account.decrypt(blob, password)
        except ValueError:
            raise HLKeyError(f"keystore {path}: cannot decrypt (wrong password or not a keystore file)") from None
        except OSError as exc:
            raise HLKeyError(f"keystore {path}: cannot read ({exc.strerror})") from None
        return Account.from_key(key)
    env = config.private_key_env or (ENV_TESTNET_PK if config.testnet else ENV_MAINNET_PK)
    raw = os.environ.get(env)
    if not raw or not raw.strip():
        raise HLKeyError(f"no private key: set the environment variable {env} (or keystore_path in the config)")
    try:
        return Account.from_key(raw.strip())
    except Exception:  # noqa: BLE001 - never echo the value
        raise HLKeyError(f"environment variable {env} does not hold a valid 32-byte hex private key") from None
