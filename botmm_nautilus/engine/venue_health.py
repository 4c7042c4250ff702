"""The venue's health as the node's clients see it, told to the strategies on the message bus.

One channel for every "stop quoting, the venue side is not safe" condition found below the
strategy: a coin's book has gone stale, the execution WebSocket is dead (our fills would be
unknown), the dead-man's switch cannot be set, the address rate budget is exhausted, an operator
pause. The adapter (or an app-level actor) publishes a :class:`VenueHealth` on
:data:`VENUE_HEALTH_TOPIC` when a condition starts (``blocked=True``) and when it ends
(``blocked=False``); each ``MarketMaker`` whose instrument it concerns (``instrument_id=None``: every instrument)
holds its risk manager on ``key`` (``RiskManager.hold``: PAUSED, cancel all) and releases it
when the condition ends. Conditions are level-triggered: publishing the same state again is
harmless, and a strategy started later asks nothing (the publisher repeats a held condition at
least every few seconds while it lasts, see :func:`publish_health`).

``key`` names the condition (``"stale_book"``, ``"exec_ws"``, ``"dead_man"``,
``"rate_budget"``, ``"operator"``); ``reason`` is one human line for the log and the risk events.

Between "quote" and "blocked" there is one graded signal: :class:`QuoteBudget` on
:data:`QUOTE_BUDGET_TOPIC`, published by the execution client while the address action budget
runs short: quote at most ``max_levels`` levels a side and requote at most every
``requote_interval_mult`` times the configured minimum interval (fewer actions rather than stale
quotes). ``max_levels=None`` and ``requote_interval_mult=1`` lift it. Also level-triggered.
"""

from __future__ import annotations

from dataclasses import dataclass

VENUE_HEALTH_TOPIC = "botmm.venue.health"
QUOTE_BUDGET_TOPIC = "botmm.venue.quote_budget"


@dataclass(frozen=True, slots=True)
class VenueHealth:
    key: str
    blocked: bool
    reason: str
    ts_ns: int
    instrument_id: str | None = None  # str(InstrumentId); None: every instrument of the node


def publish_health(msgbus, key: str, blocked: bool, reason: str, ts_ns: int,
                   instrument_id: str | None = None) -> VenueHealth:
    """Publish one :class:`VenueHealth` on the node's message bus and return it."""
    msg = VenueHealth(key, blocked, reason, ts_ns, instrument_id)
    msgbus.publish(VENUE_HEALTH_TOPIC, msg)
    return msg


@dataclass(frozen=True, slots=True)
class QuoteBudget:
    max_levels: int | None  # levels per side at most; None: the strategy's own ladder
    requote_interval_mult: float  # >= 1: the minimum requote interval is multiplied by this
    reason: str
    ts_ns: int
    instrument_id: str | None = None  # str(InstrumentId); None: every instrument of the node


def publish_quote_budget(msgbus, max_levels: int | None, requote_interval_mult: float, reason: str, ts_ns: int,
                         instrument_id: str | None = None) -> QuoteBudget:
    """Publish one :class:`QuoteBudget` on the node's message bus and return it."""
    msg = QuoteBudget(max_levels, max(1.0, float(requote_interval_mult)), reason, ts_ns, instrument_id)
    msgbus.publish(QUOTE_BUDGET_TOPIC, msg)
    return msg
