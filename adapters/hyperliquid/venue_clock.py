"""The venue's clock as seen on the WebSocket, shared by the data and execution clients.

Every ``l2Book`` message carries the venue's time (ms). The data client records the newest one
with our monotonic receive time (:func:`observe`, two stores per message), so the execution
client can place its dead-man deadline on the venue's clock without asking ``clearinghouseState``
(IP weight 2) each time: :func:`recent` gives the newest ``(monotonic_s, venue_ms)`` pair if it is
fresh enough, else None (no book flowing, e.g. a replay that has not started: ask the venue).
"""

from __future__ import annotations

import time

_sample = [0.0, 0]  # [monotonic s when received, venue ms]


def observe(venue_ms: int) -> None:
    if venue_ms > _sample[1]:
        _sample[0] = time.monotonic()
        _sample[1] = venue_ms


def recent(max_age_s: float = 2.0) -> tuple[float, int] | None:
    mono, venue_ms = _sample
    if venue_ms == 0 or time.monotonic() - mono > max_age_s:
        return None
    return mono, venue_ms


def reset() -> None:
    _sample[0] = 0.0
    _sample[1] = 0
