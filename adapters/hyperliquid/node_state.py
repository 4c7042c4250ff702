"""What the Hyperliquid clients of one ``TradingNode`` share, and the factories' cache of it.

The data and execution clients of a node must share three things:

* the IP weight budget of each venue URL (a :class:`TokenBucket`): the venue's 1200 per minute
  is per IP, so both clients draw from one bucket instead of 1200 each;
* the venue's clock of each venue URL (a :class:`VenueClock`): the data client reads it off the
  books, the execution client places its dead-man deadline on it;
* the tick-to-order :class:`LatencyProbe`: the data client stamps the books and their dispatch,
  the execution client matches its commands to them.

The factories get them with :func:`get_cached_node_state`, keyed by the node's clock (the one
object every client factory of a node receives; Nautilus's own adapters key their cached HTTP
clients the same way, e.g. ``get_cached_binance_http_client``). Each client attaches itself when
made and releases the state when disposed; the last release drops it from the cache, so nothing
of a disposed node stays in the process. :func:`find_node_state` gives a running node's state
(its clients, for the live summary).
"""

from __future__ import annotations

from typing import Any

from .http import TokenBucket
from .latency import LatencyProbe
from .venue_clock import VenueClock


class HLNodeState:
    def __init__(self, clock: Any) -> None:
        self._clock = clock
        self.probe = LatencyProbe()
        self._buckets: dict[str, TokenBucket] = {}
        self._venue_clocks: dict[str, VenueClock] = {}
        self._clients: list = []

    @property
    def clients(self) -> list:
        """The live clients attached to this node state (data and execution)."""
        return list(self._clients)

    def bucket(self, base_url: str) -> TokenBucket:
        """The IP weight budget for ``base_url`` (one per venue URL)."""
        key = base_url.rstrip("/")
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket.for_ip_weight()
        return bucket

    def venue_clock(self, base_url: str) -> VenueClock:
        """The venue's clock as seen on ``base_url``'s books (one per venue URL)."""
        key = base_url.rstrip("/")
        clock = self._venue_clocks.get(key)
        if clock is None:
            clock = self._venue_clocks[key] = VenueClock()
        return clock

    def attach(self, client: Any) -> None:
        self._clients.append(client)

    def release(self, client: Any) -> None:
        """``client`` is disposed; the last one out drops this state from the factories' cache."""
        self._clients = [c for c in self._clients if c is not client]
        if not self._clients and _CACHE.get(self._clock) is self:
            del _CACHE[self._clock]


_CACHE: dict[Any, HLNodeState] = {}  # node clock -> its state, while a client of the node lives


def get_cached_node_state(clock: Any) -> HLNodeState:
    """The state of the node whose clock is ``clock``: made for its first client, shared by the next."""
    state = _CACHE.get(clock)
    if state is None:
        state = _CACHE[clock] = HLNodeState(clock)
    return state


def find_node_state(clock: Any) -> HLNodeState | None:
    """The state of a node with live Hyperliquid clients (None if it has none, or was disposed)."""
    return _CACHE.get(clock)
