"""The venue's clock as seen on the WebSocket, shared by the data and execution clients of a node.

Every ``l2Book`` message carries the venue's time (ms). The data client records the newest one
with our monotonic receive time (:meth:`VenueClock.observe`, two stores per message), so the
execution client can place its dead-man deadline on the venue's clock without asking
``clearinghouseState`` (IP weight 2) each time: :meth:`VenueClock.recent` gives the newest
``(monotonic_s, venue_ms)`` pair if it is fresh enough, else None (no book flowing, e.g. a replay
that has not started: ask the venue). One instance per node and venue URL, made by the factories
(``node_state.HLNodeState``).
"""

from __future__ import annotations

import time


class VenueClock:
    __slots__ = ("_mono", "_venue_ms")

    def __init__(self) -> None:
        self._mono = 0.0  # monotonic s when the newest venue time was received
        self._venue_ms = 0

    def observe(self, venue_ms: int) -> None:
        if venue_ms > self._venue_ms:
            self._mono = time.monotonic()
            self._venue_ms = venue_ms

    def recent(self, max_age_s: float = 2.0) -> tuple[float, int] | None:
        if self._venue_ms == 0 or time.monotonic() - self._mono > max_age_s:
            return None
        return self._mono, self._venue_ms
