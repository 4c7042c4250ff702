"""Times given by a user (options, arguments) as Nautilus UTC nanoseconds.

One parser for the backtest's ``start``/``end``, the synthetic market's ``start`` and the command
line's ``--start``/``--end``: ISO 8601 text (``2025-01-01``, ``2025-01-01T00:00:00Z``, with or
without an offset; a time without an offset is UTC) or integer nanoseconds. A bad value is a
``ConfigError`` that names the argument or option it came from.
"""

from __future__ import annotations

from botmm_nautilus.errors import ConfigError

ISO_EXAMPLE = "2025-09-04T19:50:00Z"


def parse_time_ns(value: str | int | None, name: str) -> int | None:
    """``value`` as unix nanoseconds (UTC); ``None`` or ``""`` stays ``None``.

    ``name`` is what the message calls the value (``"--start"``, ``"start"``).
    """
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    import pandas as pd

    try:
        ts = pd.Timestamp(value)
        if ts is pd.NaT:
            raise ValueError(value)
        if ts.tzinfo is None:
            ts = ts.tz_localize("UTC")
        return int(ts.value)
    except (ValueError, TypeError, OverflowError):
        raise ConfigError(f"{name} {value!r} is not a time: use ISO 8601 like {ISO_EXAMPLE}") from None


def parse_period_ns(
    start: str | int | None,
    end: str | int | None,
    names: tuple[str, str] = ("start", "end"),
) -> tuple[int | None, int | None]:
    """``(start_ns, end_ns)``; a ``ConfigError`` when either is not a time or ``start`` is not
    before ``end``. ``names`` are what the messages call the two values."""
    start_ns = parse_time_ns(start, names[0])
    end_ns = parse_time_ns(end, names[1])
    if start_ns is not None and end_ns is not None and start_ns >= end_ns:
        relation = "after" if start_ns > end_ns else "the same time as"
        raise ConfigError(f"{names[0]} {start} is {relation} {names[1]} {end}")
    return start_ns, end_ns
