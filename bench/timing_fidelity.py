"""Backtest timing fidelity: order-entry latency, post-only rejects, fills and PnL of one run.

    python bench/timing_fidelity.py --config configs/btc.yaml --catalog CAT --mode candles \
        [--start 2025-04-01] [--end 2025-05-01] [--set backtest.candle_fill=touch]

Runs ``run_backtest`` once and measures, independently of the runner's own latency record, the
realised order-entry latency from the order events on the message bus: submit (``OrderSubmitted``)
-> ``OrderAccepted``/``OrderRejected``, modify (``OrderPendingUpdate``) -> ``OrderUpdated``/
``OrderModifyRejected``, cancel (``OrderPendingCancel``) -> ``OrderCanceled``/``OrderCancelRejected``.
Prints one JSON line: submits, post-only rejects, fills, net PnL, funding and the latency
percentiles in milliseconds, plus ``summary["latency_ms"]`` when the runner provides it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _pcts(values: list[float]) -> dict:
    if not values:
        return {"count": 0}
    a = np.asarray(values, dtype=float)
    return {"count": int(a.size), "min": round(float(a.min()), 3), "p50": round(float(np.percentile(a, 50)), 3),
            "p90": round(float(np.percentile(a, 90)), 3), "p99": round(float(np.percentile(a, 99)), 3), "max": round(float(a.max()), 3)}


class EventLatency:
    """Pairs each request event of an order with the venue's answer to it (FIFO per order)."""

    REQUEST = {"OrderSubmitted": "submit", "OrderPendingUpdate": "modify", "OrderPendingCancel": "cancel"}
    ANSWER = {"OrderAccepted": "submit", "OrderRejected": "submit", "OrderUpdated": "modify",
              "OrderModifyRejected": "modify", "OrderCanceled": "cancel", "OrderCancelRejected": "cancel"}

    def __init__(self) -> None:
        self.pending: dict[tuple, list[int]] = {}
        self.ms: dict[str, list[float]] = {"submit": [], "modify": [], "cancel": []}

    def __call__(self, event) -> None:
        name = type(event).__name__
        kind = self.REQUEST.get(name)
        if kind is not None:
            self.pending.setdefault((kind, event.client_order_id), []).append(event.ts_event)
            return
        kind = self.ANSWER.get(name)
        if kind is None:
            return
        queue = self.pending.get((kind, event.client_order_id))
        if queue:
            self.ms[kind].append((event.ts_event - queue.pop(0)) / 1e6)


def _value(text: str):
    """A --set value: JSON when it parses (numbers, true/false, lists), else the string itself."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default=str(ROOT / "configs" / "btc.yaml"))
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--mode", default="book", choices=["book", "candles"])
    ap.add_argument("--start")
    ap.add_argument("--end")
    ap.add_argument("--set", action="append", default=[], help="config override key=value (repeatable)")
    args = ap.parse_args()

    import botmm_nautilus.backtest.runner as runner
    from botmm_nautilus.config.asset import load_config
    from botmm_nautilus.config.loader import override

    cfg = load_config(args.config)
    if args.set:
        cfg = override(cfg, **{k: _value(v) for k, v in (s.split("=", 1) for s in args.set)})
    meter = EventLatency()
    build_node = runner.build_node

    def build_and_listen(run_cfg):  # subscribe to the order events before the run starts
        node = build_node(run_cfg)
        node.get_engine(run_cfg.id).kernel.msgbus.subscribe(topic="events.order.*", handler=meter)
        return node

    runner.build_node = build_and_listen
    out = runner.run_backtest(cfg, args.catalog, start=args.start, end=args.end, mode=args.mode, progress=False)
    s = out.summary
    print(json.dumps({
        "mode": args.mode, "period": [s.get("start"), s.get("end")], "overrides": args.set,
        "orders_submitted": s["orders_submitted"], "post_only_rejects": s["post_only_rejects"],
        "orders_modified": s["orders_modified"], "orders_canceled": s["orders_canceled"],
        "order_filled_events": s["order_filled_events"], "venue_fills": s.get("venue_fills"),
        "net_pnl_usd": round(s["net_pnl_usd"], 2), "fees_usd": round(s["fees_usd"], 2), "funding_usd": round(s["funding_usd"], 4),
        "measured_latency_ms": {k: _pcts(v) for k, v in meter.ms.items()},
        "summary_latency_ms": s.get("latency_ms"), "summary_estimators": s.get("estimators"),
        "wall_s": s.get("wall_seconds"),
    }, default=str))


if __name__ == "__main__":
    main()
