"""The stop that leaves nothing behind: cancel by the VENUE's open orders, then arm or clear the dead-man's switch.

Rules (issue 9, money safety: judge success by the venue's state, not the node's belief):

* :func:`cancel_venue_orders` reads ``frontendOpenOrders`` for the user and cancels, by oid, every
  order of our coins it lists (known to the node or not: a duplicate from a lost answer, an order
  of an earlier session; one attempt per round, ``cancel_by_oid(once=True)``: the next read
  decides, and a cancel sent twice is only refused the second time), then reads again; it repeats, backing off from 0.25 s to 2 s, until a
  read shows none left (**confirmed**) or ``deadline_s`` has passed. Each request is bounded by
  the time left, so the whole sweep ends by the deadline.
* :func:`finish_dead_man`: the switch is cleared only when the sweep was confirmed; otherwise it
  is (re)armed a few seconds ahead (:data:`NEAR_DEADLINE_S`, the venue's minimum is 5 s), so
  the venue itself cancels whatever is left soon after the node exits, and the log says so loudly.
  If even that fails, the last deadline set while running still stands; the log says that too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

from botmm_nautilus.venue import actions
from botmm_nautilus.venue.messages import Order
from botmm_nautilus.venue.messages import decode_order

NEAR_DEADLINE_S = 6.0  # the dead-man's switch after an unconfirmed stop: the venue's minimum is 5 s ahead
_FIRST_PAUSE_S = 0.25
_MAX_PAUSE_S = 2.0


@dataclass
class StopSweep:
    """What the stop's cancel sweep achieved. ``confirmed``: a read of the venue's open orders showed
    none of our coins; ``left``: the orders the last read still showed (when not confirmed)."""

    confirmed: bool = False
    rounds: int = 0
    canceled: int = 0  # cancel answers "success"
    left: list[Order] = field(default_factory=list)
    last_error: str | None = None
    elapsed_s: float = 0.0

    def summary(self) -> dict:
        return {"confirmed": self.confirmed, "rounds": self.rounds, "canceled": self.canceled,
                "left_at_venue": len(self.left), "last_error": self.last_error, "elapsed_s": round(self.elapsed_s, 2)}


async def cancel_venue_orders(
    http,
    assets: dict[str, int],
    deadline_s: float,
    log,
    on_canceled: Callable[[Order], None] | None = None,
) -> StopSweep:
    """Cancel every open order the venue holds for the coins of ``assets`` (coin -> asset index)
    until a read of ``frontendOpenOrders`` shows none (see the module rules). ``http``: an
    :class:`~.http.HLHttpClient`; ``on_canceled(order)`` is called for each order whose cancel the
    venue answered ``success``."""
    t0 = time.monotonic()
    t_end = t0 + deadline_s
    sweep = StopSweep()
    pause = _FIRST_PAUSE_S

    def left_s() -> float:
        return t_end - time.monotonic()

    while True:
        sweep.rounds += 1
        ours: list[Order] | None = None
        try:
            listed = await asyncio.wait_for(http.open_orders(), max(left_s(), 0.5))
            ours = [o for o in map(decode_order, listed or []) if o.coin in assets]
        except Exception as exc:  # noqa: BLE001 - a read that failed proves nothing; try again
            sweep.last_error = f"reading open orders: {exc}"
        if ours is not None:
            sweep.left = ours
            if not ours:
                sweep.confirmed = True
                break
            try:
                statuses = await asyncio.wait_for(http.cancel_by_oid([(assets[o.coin], o.oid) for o in ours], once=True),
                                                  max(left_s(), 0.5))
                for order, status in zip(ours, statuses):
                    if status == "success":
                        sweep.canceled += 1
                        if on_canceled is not None:
                            on_canceled(order)
                    else:  # refused or outcome unknown: the next read of the venue tells
                        sweep.last_error = f"cancel of {order.coin} oid {order.oid}: {status}"
            except Exception as exc:  # noqa: BLE001 - the next read tells what the venue holds
                sweep.last_error = f"canceling {len(ours)} orders: {type(exc).__name__}: {exc}"
            if sweep.rounds == 1 or sweep.last_error:
                log.warning(f"stop: {len(ours)} orders of ours open at the venue, cancel sent (round {sweep.rounds}"
                            + (f", last error: {sweep.last_error}" if sweep.last_error else "") + "); reading the venue again")
        if left_s() <= 0:
            break
        await asyncio.sleep(min(pause, max(left_s(), 0.0)))
        pause = min(pause * 2, _MAX_PAUSE_S)
    sweep.elapsed_s = time.monotonic() - t0
    return sweep


async def finish_dead_man(
    http,
    sweep: StopSweep,
    near_deadline_ms: Callable[[float], Awaitable[int]],
    clear_when_confirmed: bool,
    log,
    timeout_s: float = 8.0,
) -> str:
    """After the stop's sweep: clear the dead-man's switch if the sweep was confirmed (and
    ``clear_when_confirmed``), else arm it :data:`NEAR_DEADLINE_S` ahead (``near_deadline_ms(s)``:
    that many of our seconds ahead on the venue's clock). Returns what happened: ``"cleared"``,
    ``"kept"`` (confirmed, clearing off), ``"clear_failed"``, ``"armed"`` or ``"arm_failed"``."""
    if sweep.confirmed and not clear_when_confirmed:
        log.info("stop: no order of ours left at the venue; the dead-man's switch is left as it is (clear_dead_man_on_stop off)")
        return "kept"
    try:
        deadline = None if sweep.confirmed else await near_deadline_ms(NEAR_DEADLINE_S)
        resp = await asyncio.wait_for(http.exchange(actions.schedule_cancel_action(deadline)), timeout_s)
        ok = isinstance(resp, dict) and resp.get("status") == "ok"
        why = None if ok else str(resp.get("response") if isinstance(resp, dict) else resp)
    except Exception as exc:  # noqa: BLE001
        ok, why = False, f"{type(exc).__name__}: {exc}"
    if sweep.confirmed:
        if ok:
            log.info(f"stop: confirmed no order of ours left at the venue ({sweep.canceled} canceled, "
                     f"{sweep.rounds} reads); dead-man's switch cleared")
            return "cleared"
        log.warning(f"stop: confirmed no order of ours left at the venue, but clearing the dead-man's switch failed "
                    f"({why}); if it was armed it fires on an empty book (one of the venue's 10 triggers a day)")
        return "clear_failed"
    left = ", ".join(f"{o.coin} oid {o.oid}" for o in sweep.left[:10]) or "unknown (the venue could not be read)"
    if ok:
        log.error(f"STOP INCOMPLETE: after {sweep.elapsed_s:.1f}s the venue still lists orders of ours ({left}; "
                  f"last error: {sweep.last_error}); the dead-man's switch is ARMED to cancel them in "
                  f"{NEAR_DEADLINE_S:g}s. Check the venue's open orders.")
        return "armed"
    log.error(f"STOP INCOMPLETE: after {sweep.elapsed_s:.1f}s the venue still lists orders of ours ({left}; "
              f"last error: {sweep.last_error}) and arming the dead-man's switch failed ({why}); only a deadline "
              "set earlier, if any, will cancel them. CANCEL THEM BY HAND.")
    return "arm_failed"
