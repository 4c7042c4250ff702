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
DEAD_MAN_POLICIES = ("stop_quoting", "warn")


class KeyParams(Section, frozen=True, kw_only=True):
    """Where the signing key comes from (it is never logged, printed or written)."""

    env: Annotated[str | None, setting("-", "environment variable holding the private key; null = HYPERLIQUID_TESTNET_PK (HYPERLIQUID_PK on mainnet)")] = None
    keystore: Annotated[str | None, setting("path", "an eth-account encrypted keystore file instead of env")] = None
    keystore_password_env: Annotated[str | None, setting("-", "environment variable holding the keystore's password")] = "HYPERLIQUID_KEYSTORE_PASSWORD"


class DeadManParams(Section, frozen=True, kw_only=True):
    """Hyperliquid's scheduleCancel dead-man's switch: the venue cancels every order if the node stops refreshing it."""

    deadline_s: Annotated[float, setting("s", "orders are canceled this long after the last refresh; 0 = off (the venue's minimum is 5)", ge=0, le=86_400)] = 30.0
    refresh_s: Annotated[float, setting("s", "refresh interval of the deadline (below deadline_s)", gt=0, le=86_400)] = 15.0
    on_failure: Annotated[
        Literal[DEAD_MAN_POLICIES],
        setting("-", "when the switch cannot be set or refreshed (refused: mainnet needs $1M traded volume, 10 triggers a "
                     "day; or the request fails): stop_quoting = cancel all and hold quoting until a set succeeds; "
                     "warn = keep quoting with a loud warning every refresh"),
    ] = "stop_quoting"

    def _check(self) -> None:
        if self.deadline_s and self.deadline_s < 5:
            raise ValueError(f"deadline_s: must be 0 (off) or >= 5 (the venue's minimum), got {self.deadline_s:g}")
        if self.deadline_s and self.refresh_s >= self.deadline_s:
            raise ValueError(f"refresh_s: must be below deadline_s ({self.deadline_s:g}), got {self.refresh_s:g}")


class RateBudgetParams(Section, frozen=True, kw_only=True):
    """The address action budget (10000 + 1 per USDC traded, read from userRateLimit): when it runs short the node quotes fewer levels and requotes less often; exhausted, it stops quoting until the budget is back."""

    check_s: Annotated[float, setting("s", "how often the budget is judged (and published to the strategies)", gt=0, le=3_600)] = 5.0
    refresh_s: Annotated[float, setting("s", "userRateLimit re-read interval (also at each check when short, and after a refusal)", gt=0, le=86_400)] = 60.0
    short_frac: Annotated[float, setting("frac", "budget short below this fraction of the cap left", ge=0, le=1)] = 0.10
    short_minutes: Annotated[float, setting("min", "budget short when the current rate would use the rest within this", ge=0, le=100_000)] = 60.0
    short_levels: Annotated[int, setting("-", "levels per side at most while short", ge=1, le=100)] = 1
    short_requote_mult: Annotated[float, setting("x", "minimum requote interval multiplied by this while short", ge=1, le=1_000)] = 4.0
    resume_actions: Annotated[int, setting("-", "after exhaustion, quoting resumes once this many actions are left", ge=1, le=1_000_000)] = 50


class ReconcileParams(Section, frozen=True, kw_only=True):
    """Reconciliation while running (Nautilus's own checks, ``LiveExecEngineConfig``): the venue's open
    orders and positions are compared with the node's; differences are logged and repaired."""

    open_orders_interval_s: Annotated[float, setting("s", "compare open orders with the venue's (frontendOpenOrders: IP weight 20, 120 a minute at 10 s of the 1200 budget); 0 = off", ge=0, le=3_600)] = 10.0
    positions_interval_s: Annotated[float, setting("s", "compare positions with the venue's (clearinghouseState, weight 2; missing fills fetched with userFillsByTime on a difference); 0 = off", ge=0, le=3_600)] = 15.0
    settle_s: Annotated[float, setting("s", "act on a difference only when the order's / position's last local event is at least this old (an update may be in flight)", ge=0, le=600)] = 5.0
    fills_lookback_mins: Annotated[int, setting("min", "how far back missing fills are looked for on a position difference", ge=1, le=1_440)] = 60
    startup_delay_s: Annotated[float, setting("s", "first check this long after the start-up reconciliation", gt=0, le=3_600)] = 10.0


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
    rate_budget: RateBudgetParams = RateBudgetParams()
    account_refresh_s: Annotated[float, setting("s", "periodic account (clearinghouseState) refresh", gt=0, le=86_400)] = 10.0
    account_min_interval_s: Annotated[float, setting("s", "after fills, at most one account refresh per this interval", ge=0, le=86_400)] = 2.0
    instrument_refresh_s: Annotated[float, setting("s", "metadata reload that notices szDecimals changes", gt=0, le=86_400)] = 300.0
    reconciliation_lookback_mins: Annotated[int, setting("min", "how far back orders and fills are reconciled at start", ge=0, le=525_600)] = 1440
    reconcile: ReconcileParams = ReconcileParams()
    stop_cancel_deadline_s: Annotated[float, setting("s", "on stop, cancel every order the venue holds for our coins, retried until its open orders are empty or this deadline (then the dead-man's switch stays armed)", gt=0, le=600)] = 30.0
    log_level: Annotated[str, setting("-", "node log level on stdout: " + ", ".join(LOG_LEVELS) + " (upper-cased)")] = "WARNING"
    log_level_file: Annotated[str, setting("-", "node log level of the log file in log_dir (upper-cased)")] = "INFO"
    log_dir: Annotated[str | None, setting("path", "folder of the node's log file (created); null = no log file")] = "logs"
    status_interval_s: Annotated[float, setting("s", "a status line per coin on stdout every this many s (position, PnL, quotes, fills, rate budget left); 0 = off", ge=0, le=86_400)] = 10.0
    wait_venue_s: Annotated[float, setting("s", "at start, wait this long for a venue or twin that does not answer yet (a message every few s); 0 = fail at once", ge=0, le=86_400)] = 120.0
    state_dir: Annotated[str | None, setting("path", "the node's state folder: per-coin risk state (day baseline, peak equity, KILL/HALT) kept across restarts, and the control files of `botmm kill`; null = nothing persisted and no `botmm kill`")] = "state"

    def _check(self) -> None:
        msgspec.structs.force_setattr(self, "coins", tuple(c.upper() for c in self.coins))
        msgspec.structs.force_setattr(self, "log_level", self.log_level.upper())
        msgspec.structs.force_setattr(self, "log_level_file", self.log_level_file.upper())
        if not self.coins:
            raise ValueError("coins: must name at least one coin")
        for name in ("log_level", "log_level_file"):
            if getattr(self, name) not in LOG_LEVELS:
                raise ValueError(f"{name}: {getattr(self, name)!r} is not one of {', '.join(LOG_LEVELS)}")
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
