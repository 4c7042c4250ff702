"""Order-entry timing of the backtest: commands reach the simulated venue at send time + latency.

Nautilus 1.231's ``SimulatedExchange`` keeps a command sent with a latency model in an in-flight
queue until ``BacktestEngine._process_and_settle_venues(ts)`` runs with ``ts`` at or past the
command's ``ts_init + latency``. That happens after each data event and after each batch of timer
events, so without a timer a command waits for the next data event and is processed only AFTER
the exchange has matched that event: in candle mode a quote built from bar t's close reached the
book after bar t+1 had been matched and could only trade during bar t+2 (one bar late, and
post-only rejected whenever bar t+1 had moved through its price); in book mode the realised
latency was the configured one plus the wait for the next book or trade message.

:class:`OrderEntryTiming` (backtest only; the strategy is unchanged) fixes that with the engine's
own mechanism: every trading command that goes to the execution engine sets a clock alert at
``command.ts_init + latency`` (one alert per distinct due time). The engine fires the alert before
the next data event with a later timestamp and settles the venues at exactly the due time, so the
command is drained into the matching engine at send time + latency, against the book as it was
then. A due time equal to a data timestamp is settled after that data event (Nautilus processes
data before timers of the same timestamp).

It also records the realised latency of every request as the venue answered it: submit ->
``OrderAccepted``/``OrderRejected``, modify -> ``OrderUpdated``/``OrderModifyRejected``, cancel ->
``OrderCanceled``/``OrderCancelRejected`` (``latency_summary``: count, min, p50, p90, p99, max in
milliseconds per kind).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig
from nautilus_trader.execution.messages import BatchCancelOrders
from nautilus_trader.execution.messages import CancelAllOrders
from nautilus_trader.execution.messages import CancelOrder
from nautilus_trader.execution.messages import ModifyOrder
from nautilus_trader.execution.messages import SubmitOrder
from nautilus_trader.execution.messages import SubmitOrderList
from nautilus_trader.model.events import OrderAccepted
from nautilus_trader.model.events import OrderCanceled
from nautilus_trader.model.events import OrderCancelRejected
from nautilus_trader.model.events import OrderModifyRejected
from nautilus_trader.model.events import OrderRejected
from nautilus_trader.model.events import OrderUpdated

EXEC_ENDPOINT = "ExecEngine.execute"
KINDS = ("submit", "modify", "cancel")
_ANSWERS = {
    OrderAccepted: "submit",
    OrderRejected: "submit",
    OrderUpdated: "modify",
    OrderModifyRejected: "modify",
    OrderCanceled: "cancel",
    OrderCancelRejected: "cancel",
}


class OrderEntryTiming(Actor):
    """Backtest-only actor: drains each order command into the venue at ``ts_init + latency``
    (module docstring) and records the realised request -> answer latency per order.

    ``latency_ns``: the venue's latency per request kind (``submit``, ``modify``, ``cancel``),
    the same numbers as the venue's ``LatencyModel`` (see :func:`latency_per_kind_ns`).
    """

    def __init__(self, latency_ns: dict[str, int]) -> None:
        super().__init__(ActorConfig(component_id="BacktestOrderEntryTiming"))
        missing = set(KINDS) - set(latency_ns)
        if missing:
            raise ValueError(f"OrderEntryTiming: latency_ns lacks {sorted(missing)}")
        self.latency_ns = {k: int(latency_ns[k]) for k in KINDS}
        self._scheduled: set[int] = set()
        self._pending: dict[tuple[str, Any], deque[int]] = {}
        self.realised_ns: dict[str, list[int]] = {k: [] for k in KINDS}
        self.alerts_set = 0

    # ------------------------------------------------------------------ wiring
    def install(self, engine) -> None:
        """Add this actor to a built (not yet run) ``BacktestEngine`` and route the execution
        engine's command endpoint through :meth:`on_command`."""
        engine.add_actor(self)
        msgbus = engine.kernel.msgbus
        execute = engine.kernel.exec_engine.execute
        msgbus.deregister(EXEC_ENDPOINT, execute)

        def execute_on_time(command) -> None:
            self.on_command(command)
            execute(command)

        msgbus.register(EXEC_ENDPOINT, execute_on_time)

    def on_start(self) -> None:
        self.msgbus.subscribe(topic="events.order.*", handler=self._on_order_event)

    # ------------------------------------------------------------------ commands
    def on_command(self, command) -> None:
        """Schedule the venue to settle when ``command`` arrives there; note what awaits an answer."""
        if isinstance(command, SubmitOrder):
            kind, ids = "submit", (command.order.client_order_id,)
        elif isinstance(command, ModifyOrder):
            kind, ids = "modify", (command.client_order_id,)
        elif isinstance(command, CancelOrder):
            kind, ids = "cancel", (command.client_order_id,)
        elif isinstance(command, SubmitOrderList):
            kind, ids = "submit", tuple(o.client_order_id for o in command.order_list.orders)
        elif isinstance(command, BatchCancelOrders):
            kind, ids = "cancel", tuple(c.client_order_id for c in command.cancels)
        elif isinstance(command, CancelAllOrders):
            kind, ids = "cancel", self._cancel_all_targets(command)
        else:
            return  # queries and other commands do not go through the venue's latency queue
        ts = command.ts_init
        for cid in ids:
            self._pending.setdefault((kind, cid), deque()).append(ts)
        due = ts + self.latency_ns[kind]
        if due > ts and due not in self._scheduled:
            self._scheduled.add(due)
            self.alerts_set += 1
            self.clock.set_time_alert_ns(f"botmm-order-entry-{due}", due, self._on_due)

    def _cancel_all_targets(self, command: CancelAllOrders) -> tuple:
        side = command.order_side  # NO_ORDER_SIDE: both sides
        orders = self.cache.orders_open(instrument_id=command.instrument_id, strategy_id=command.strategy_id, side=side)
        orders += self.cache.orders_inflight(instrument_id=command.instrument_id, strategy_id=command.strategy_id, side=side)
        return tuple(o.client_order_id for o in orders)

    def _on_due(self, event) -> None:
        # Nothing to do here: the engine settles the venues at this alert's timestamp.
        self._scheduled.discard(event.ts_event)

    # ------------------------------------------------------------------ answers
    def _on_order_event(self, event) -> None:
        kind = _ANSWERS.get(type(event))
        if kind is None:
            return
        queue = self._pending.get((kind, event.client_order_id))
        if queue:
            self.realised_ns[kind].append(event.ts_event - queue.popleft())
            if not queue:
                del self._pending[(kind, event.client_order_id)]

    def latency_summary(self) -> dict:
        """Realised request -> venue answer latency in ms per kind: count, min, p50, p90, p99, max,
        and the configured latency they should equal (within the engine's timestamp resolution)."""
        out: dict[str, Any] = {}
        for kind in KINDS:
            values = np.asarray(self.realised_ns[kind], dtype=np.float64) / 1e6
            row: dict[str, Any] = {"configured_ms": self.latency_ns[kind] / 1e6, "count": int(values.size)}
            if values.size:
                p50, p90, p99 = np.percentile(values, [50, 90, 99])
                row.update(min=float(values.min()), p50=float(p50), p90=float(p90), p99=float(p99), max=float(values.max()))
            out[kind] = row
        return out


def latency_per_kind_ns(latency_model_config: dict) -> dict[str, int]:
    """The latency of each request kind as Nautilus's ``LatencyModel`` computes it from its config:
    base + insert (submit), base + update (modify), base + cancel (cancel)."""
    base = int(latency_model_config.get("base_latency_nanos", 0))
    return {
        "submit": base + int(latency_model_config.get("insert_latency_nanos", 0)),
        "modify": base + int(latency_model_config.get("update_latency_nanos", 0)),
        "cancel": base + int(latency_model_config.get("cancel_latency_nanos", 0)),
    }
