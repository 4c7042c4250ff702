"""Background loops of the Hyperliquid clients (account refresh, dead-man refresh, rate budget,
book-age watchdog, instrument refresh, settling an unknown outcome).

Nautilus's ``create_task`` logs a WARNING for every task cancelled, and a client's loops are all
cancelled at each graceful disconnect: the operator's stdout (WARNING and above) would end every run
with a line per loop saying nothing. These tasks are cancelled quietly; a loop that ends with an
exception is still logged, as an error naming the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


def background_task(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], log) -> asyncio.Task:
    """Schedule ``coro`` on ``loop``; a cancellation is silent, an exception is ``log.error``-ed."""
    name = getattr(coro, "__name__", "task")
    task = loop.create_task(coro, name=name)

    def _done(t: asyncio.Task) -> None:
        if t.cancelled():
            return
        exc = t.exception()
        if exc is not None:
            log.error(f"background task '{name}' ended with an error: {exc!r}")

    task.add_done_callback(_done)
    return task
