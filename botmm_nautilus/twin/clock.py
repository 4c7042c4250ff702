"""The twin's clock: one source of "now" (unix milliseconds) for the whole exchange.

Two kinds:

* :meth:`TwinClock.manual` - time only moves when a test (or the admin endpoint) moves it:
  ``set_ms``, ``advance_ms``; ``TwinServer.advance_to``/``step`` move it together with the replay.
* :meth:`TwinClock.running` - follows the wall clock, optionally faster: ``now = start_ms +
  (wall_elapsed_ms * speed)``. ``speed=1.0`` is real time; the replay driver maps catalog time onto
  this clock, so at ``speed=10`` ten minutes of data are replayed per wall minute.

The twin also needs the *wall* time for checks that compare against client-stamped values (nonces
and ``expiresAfter`` are ``time.time()`` in the SDK); :func:`wall_ms` is that.
"""

from __future__ import annotations

import threading
import time


def wall_ms() -> int:
    """Wall-clock unix time in milliseconds (what the SDK stamps nonces with)."""
    return int(time.time() * 1000)


class TwinClock:
    """Thread-safe clock; ``now_ms()`` is the twin's block time in unix milliseconds."""

    def __init__(self, start_ms: int | None = None, speed: float = 1.0, manual: bool = False) -> None:
        if speed <= 0:
            raise ValueError(f"clock speed must be > 0, got {speed!r}")
        self._lock = threading.Lock()
        self._manual = manual
        self._speed = float(speed)
        self._start_ms = int(start_ms if start_ms is not None else wall_ms())
        self._wall_anchor_s = time.monotonic()
        self._manual_now_ms = self._start_ms

    # ---------------------------------------------------------------- constructors
    @classmethod
    def manual(cls, start_ms: int | None = None) -> "TwinClock":
        """A clock that stands still until moved (``start_ms`` defaults to wall time now)."""
        return cls(start_ms=start_ms, manual=True)

    @classmethod
    def running(cls, start_ms: int | None = None, speed: float = 1.0) -> "TwinClock":
        """A clock that runs at ``speed`` x wall time from ``start_ms`` (default: now)."""
        return cls(start_ms=start_ms, speed=speed, manual=False)

    # ---------------------------------------------------------------- reading
    @property
    def is_manual(self) -> bool:
        return self._manual

    @property
    def speed(self) -> float:
        return self._speed

    def now_ms(self) -> int:
        with self._lock:
            if self._manual:
                return self._manual_now_ms
            elapsed_s = time.monotonic() - self._wall_anchor_s
            return self._start_ms + int(elapsed_s * 1000.0 * self._speed)

    # ---------------------------------------------------------------- moving (manual clocks)
    def set_ms(self, now_ms: int) -> None:
        """Jump to ``now_ms`` (manual clocks only; time never goes backwards)."""
        with self._lock:
            self._require_manual()
            if now_ms < self._manual_now_ms:
                raise ValueError(f"clock cannot go backwards: {now_ms} < {self._manual_now_ms}")
            self._manual_now_ms = int(now_ms)

    def advance_ms(self, delta_ms: int) -> int:
        """Move forward by ``delta_ms``; returns the new time."""
        if delta_ms < 0:
            raise ValueError(f"delta_ms must be >= 0, got {delta_ms}")
        with self._lock:
            self._require_manual()
            self._manual_now_ms += int(delta_ms)
            return self._manual_now_ms

    def _require_manual(self) -> None:
        if not self._manual:
            raise RuntimeError("this TwinClock follows the wall clock; use TwinClock.manual() to move time by hand")
