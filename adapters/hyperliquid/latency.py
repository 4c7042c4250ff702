"""Tick-to-order latency probe, stage by stage (one per node, cheap).

For every order request (submit, modify, cancel) the execution client records where the time
went between the book frame that triggered it and the HTTP request leaving the process. All
stamps are wall-clock nanoseconds (``time.time_ns()``, the same clock as Nautilus's ``LiveClock``
and therefore as ``command.ts_init``):

==========  ==================================================================================
stage       from -> to
==========  ==================================================================================
parse       book frame taken off the WebSocket by our reader -> ``OrderBookDeltas`` handed to
            Nautilus (JSON decode, level parsing, snapshot diff, delta objects)
nautilus_in handed to Nautilus -> the strategy's handler is about to see it (the DataEngine
            queue, the managed book update)
strategy    -> the strategy's command created (``command.ts_init``: mid/volatility update,
            quote decision, order diff)
nautilus_out command created -> our execution client starts on it (RiskEngine and
            ExecEngine queues, the client's task)
build_sign  -> request signed, *excluding* the limiter wait (wire building, msgpack, keccak,
            EIP-712 signature)
limiter     waiting in our own rate limiter (IP weight bucket, address budget)
send        signed -> request handed to aiohttp (JSON encoding; the socket write follows in
            the same call unless the connection pool must open a connection)
==========  ==================================================================================

``end_to_end`` = frame -> request sent (all stages); ``processing`` = the same minus the limiter
wait (our own processing latency).

Classification: a request is **book-triggered** when its command was created while the strategy
was handling a book message (between the dispatch hooks :meth:`LatencyProbe.on_dispatch_begin` /
:meth:`LatencyProbe.on_dispatch_end` that the data client subscribes around the strategies on the
deltas topic). Anything else (timers, order events, ``on_stop``, reconnects) counts as ``other``, and a
resend of an action after an ambiguous failure as ``retry``; they appear as counts only, so a
requote waiting for a fill or a retry backoff never inflates the book-triggered percentiles.

Cost per book message: two ``time.time_ns()`` calls and a few int stores into a preallocated
per-coin ring; per order request a small list of ints. Frames not handed to the strategy (a
crossed snapshot, an unchanged book) leave nothing behind.

Ownership: the data client stamps books and dispatches, the execution client matches its commands
to them, so both must hold the same :class:`LatencyProbe`: the factories make one per node
(``node_state.HLNodeState``) and hand it to both.
"""

from __future__ import annotations

import time
from collections.abc import Callable

RING = 16  # dispatch windows kept per coin (a command may reach the exec client a few books later)
MAX_SAMPLES = 1_000_000

STAGES = ("parse", "nautilus_in", "strategy", "nautilus_out", "build_sign", "limiter", "send")


class LatencyProbe:
    """Stage stamps of one node's book messages and order requests (see the module docstring).

    ``now``: the wall clock in ns (``time.time_ns``, the clock of ``command.ts_init``)."""

    def __init__(self, now: Callable[[], int] = time.time_ns) -> None:
        self._now = now
        # data side, per coin: the book handed to Nautilus most recently, [recv_ns, handoff_ns]
        # (matched by ts_init, which the data client sets to the frame's receive time), and a
        # ring of dispatch windows [recv_ns, handoff_ns, begin_ns, end_ns]
        self._handoff: dict[str, list[int]] = {}
        self._windows: dict[str, list[list[int]]] = {}
        self._ring_pos: dict[str, int] = {}
        self._current: list = [None, None]  # [coin, window] of the dispatch in progress
        self.dispatch_unmatched = 0  # dispatches whose handoff stamp was already overwritten (queued books)
        # samples: one row per request item (stage ns..., e2e ns) for book-triggered requests
        self._rows: list[tuple] = []
        self.counts: dict[str, int] = {"book_triggered": 0, "other": 0, "retry": 0}
        self.kinds: dict[str, int] = {}
        self.limiter_waits = 0  # requests that waited in the limiter at all
        self.limiter_wait_ns_total = 0

    # -------------------------------------------------------------------------- data side
    def register_coin(self, coin: str) -> None:
        if coin not in self._windows:
            self._handoff[coin] = [0, 0]
            self._windows[coin] = [[0, 0, 0, 0] for _ in range(RING)]
            self._ring_pos[coin] = 0

    def on_book(self, coin: str, recv_ns: int) -> None:
        """The data client hands a book message received at ``recv_ns`` (= its ts_init) to Nautilus."""
        h = self._handoff.get(coin)
        if h is not None:
            h[0] = recv_ns
            h[1] = self._now()

    def on_dispatch_begin(self, coin: str, ts_init: int) -> None:
        """Called on the deltas topic just before the strategies see the message."""
        pos = (self._ring_pos[coin] + 1) % RING
        self._ring_pos[coin] = pos
        w = self._windows[coin][pos]
        h = self._handoff[coin]
        w[0] = ts_init
        if h[0] == ts_init:
            w[1] = h[1]
        else:  # an older message still queued in Nautilus when a newer one was handed over
            self.dispatch_unmatched += 1
            w[1] = 0
        w[3] = 0
        w[2] = self._now()
        self._current[0] = coin
        self._current[1] = w

    def on_dispatch_end(self, coin: str) -> None:
        """Called on the deltas topic after the strategies handled the message."""
        current = self._current
        w = current[1]
        if w is not None and current[0] == coin:
            w[3] = self._now()
        current[0] = current[1] = None

    def window_for(self, coin: str, cmd_ts_ns: int) -> list[int] | None:
        """The dispatch window of ``coin`` during which a command stamped ``cmd_ts_ns`` was created."""
        ring = self._windows.get(coin)
        if ring is None:
            return None
        pos = self._ring_pos[coin]
        for i in range(RING):
            w = ring[(pos - i) % RING]
            if w[2] == 0:
                return None
            if w[2] <= cmd_ts_ns:
                end = w[3]
                if end == 0:  # still dispatching (the strategy created it synchronously: same window)
                    return w if self._current[1] is w else None
                return w if cmd_ts_ns <= end else None
        return None

    # -------------------------------------------------------------------------- exec side
    def now_ns(self) -> int:
        return self._now()

    def new_probe(self, kind: str, coin: str, cmd_ts_ns: int, exec_start_ns: int = 0) -> list:
        """Per command: [kind, window|None, cmd_ts, exec_start, wait_ns, signed_ns, sent_ns, attempts]."""
        return [kind, self.window_for(coin, cmd_ts_ns), cmd_ts_ns, exec_start_ns or self._now(), 0, 0, 0, 0]

    def record(self, probe: list) -> None:
        """After the request carrying this command was sent (probe filled by the HTTP client)."""
        kind, w, cmd_ts, exec_start, wait_ns, signed, sent, attempts = probe
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        if sent == 0:
            return
        if wait_ns > 0:
            self.limiter_waits += 1
            self.limiter_wait_ns_total += wait_ns
        if attempts > 1:
            self.counts["retry"] += 1
            return
        if w is None or w[1] == 0:
            self.counts["other"] += 1
            return
        self.counts["book_triggered"] += 1
        if len(self._rows) >= MAX_SAMPLES:
            return
        recv, handoff, begin = w[0], w[1], w[2]
        self._rows.append((
            handoff - recv,  # parse
            begin - handoff,  # nautilus_in
            cmd_ts - begin,  # strategy
            exec_start - cmd_ts,  # nautilus_out
            signed - exec_start - wait_ns,  # build_sign
            wait_ns,  # limiter
            sent - signed,  # send
            sent - recv,  # end_to_end
        ))

    # -------------------------------------------------------------------------- report
    def summary(self) -> dict:
        """``n``/``p50_ms``/``p99_ms``/``max_ms``: end to end (frame -> request sent) of book-triggered
        requests; ``stages``: the same statistics per stage plus ``processing`` (end to end minus the
        limiter wait); ``counts``: book-triggered / other / retry requests, ``kinds``: per command kind."""
        rows = self._rows
        out: dict = {"n": len(rows)}
        if rows:
            cols = list(zip(*rows))
            out.update(_stats(list(cols[-1])))
            stages = {name: _stats(list(col)) for name, col in zip(STAGES, cols)}
            stages["end_to_end"] = _stats(list(cols[-1]))
            stages["processing"] = _stats([e - w for e, w in zip(cols[-1], cols[5])])
            out["stages"] = stages
        out["counts"] = dict(self.counts)
        out["kinds"] = dict(self.kinds)
        out["limiter"] = {"requests_waited": self.limiter_waits,
                          "wait_s_total": round(self.limiter_wait_ns_total / 1e9, 3)}
        out["dispatch_unmatched"] = self.dispatch_unmatched
        out["definition"] = ("book-triggered requests: WebSocket frame taken by our reader -> HTTP request handed to "
                             "aiohttp; stages parse, nautilus_in, strategy, nautilus_out, build_sign, limiter, send")
        return out


def _pct(xs: list[int], p: float) -> float:
    return xs[min(len(xs) - 1, int(p * len(xs)))] / 1e6


def _stats(xs: list[int]) -> dict:
    xs = sorted(xs)
    return {"p50_ms": round(_pct(xs, 0.50), 4), "p99_ms": round(_pct(xs, 0.99), 4), "max_ms": round(xs[-1] / 1e6, 4)}
