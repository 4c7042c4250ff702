"""Tick-to-order latency probe: book message received (data client) -> order request sent (exec client).

Process-wide, cheap: the data client stamps ``perf_counter_ns`` per coin on every l2Book message;
the exec client records ``send - last_book`` for each order/modify request it sends.
"""

from __future__ import annotations

import time

last_book_ns: dict[str, int] = {}
samples_ns: list[int] = []


def on_book(coin: str) -> None:
    last_book_ns[coin] = time.perf_counter_ns()


def on_send(coin: str) -> None:
    t = last_book_ns.get(coin)
    if t is not None and len(samples_ns) < 1_000_000:
        samples_ns.append(time.perf_counter_ns() - t)


def summary() -> dict:
    if not samples_ns:
        return {"n": 0}
    xs = sorted(samples_ns)
    q = lambda p: xs[min(len(xs) - 1, int(p * len(xs)))] / 1e6  # noqa: E731
    return {"n": len(xs), "p50_ms": q(0.50), "p99_ms": q(0.99), "max_ms": xs[-1] / 1e6}
