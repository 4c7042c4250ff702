"""How a run summary leaves the program: the terminal table (sections shared with the HTML report) and strict JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TABLE_SECTIONS: list[tuple[str, tuple[str, ...]]] = [
    ("run", ("instrument", "mode", "data_description", "sample_label", "start", "end", "duration_hours")),
    (
        "pnl (net = after fees and funding)",
        (
            "net_pnl_usd", "net_pnl_liquidation_adjusted_usd", "return_pct", "realized_pnl_before_fees_usd",
            "realized_pnl_after_fees_usd", "unrealized_pnl_before_fees_usd", "fees_usd",
            "funding_usd", "starting_balance_usd", "final_balance_usd", "final_equity_usd", "final_position_base",
            "final_position_usd", "avg_entry_price", "final_mid", "net_pnl_source",
        ),
    ),
    (
        "break-even maker fee (net = 0; taker fees and funding unchanged)",
        ("breakeven_maker_fee_bps", "maker_fee_bps", "maker_fee_source", "maker_volume_usd"),
    ),
    (
        "open position at the end (closed at the touch as a taker)",
        (
            "final_position_open", "final_market_spread", "liquidation_price", "liquidation_spread_cost_usd",
            "liquidation_taker_fee_usd", "net_pnl_liquidation_adjusted_usd", "liquidation_basis",
        ),
    ),
    (
        "risk",
        ("sharpe", "sharpe_days", "sharpe_note", "sharpe_intraday_hourly", "max_drawdown_usd", "max_drawdown_pct"),
    ),
    (
        "trading",
        (
            "venue_fills", "order_filled_events", "venue_fills_key", "maker_order_filled_events", "taker_order_filled_events",
            "maker_share_of_order_filled_events", "maker_volume_share", "buy_order_filled_events",
            "sell_order_filled_events", "volume_usd", "avg_order_filled_event_usd", "avg_venue_fill_usd", "turnover_x",
            "volume_per_day_usd", "order_filled_events_per_hour", "fees_bps_of_volume", "n_funding_payments",
        ),
    ),
    (
        "edge (bps, qty-weighted)",
        (
            "avg_captured_spread_bps",
            "markout_1s_bps", "markout_10s_bps", "markout_60s_bps",
            "adverse_1s_bps", "adverse_10s_bps", "adverse_60s_bps",
            "markout_1s_order_filled_events_excluded", "markout_10s_order_filled_events_excluded",
            "markout_60s_order_filled_events_excluded",
        ),
    ),
    (
        "quoting / inventory",
        (
            "samples", "time_quoted_both_frac", "time_quoted_any_frac", "inventory_mean_abs_usd",
            "inventory_max_abs_usd", "inventory_time_weighted_mean_base", "inventory_time_weighted_mean_usd",
            "max_position_usd_config", "time_near_max_position_frac",
        ),
    ),
    (
        "orders / engine",
        (
            "orders_submitted", "orders_modified", "orders_canceled", "post_only_rejects",
            "order_filled_events_per_order", "events_processed", "wall_seconds", "events_per_second",
        ),
    ),
]
# in the JSON, not in the terminal table (too long, redundant or shown elsewhere)
_SKIP_IN_TABLE = {
    "config", "start_ns", "end_ns", "label", "attribution", "notes", "warnings", "sharpe_intraday_hourly_note",
    "markout_1s_order_filled_events_used", "markout_10s_order_filled_events_used", "markout_60s_order_filled_events_used",
}
_PRICE_KEYS = ("final_mid", "avg_entry_price", "final_market_spread", "liquidation_price")


def format_value(key: str, v: Any) -> str:
    """Human formatting by the unit in the key name (``_usd``, ``_bps``, ``_frac``, ``_share``, ``_pct``, ...)."""
    if v is None:
        return "n/a"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if not math.isfinite(v):
            return "n/a"
        if key.endswith("_usd"):
            return f"{v:,.2f}"
        if key.endswith("_bps") or "_bps_" in key:
            return f"{v:,.2f}"
        if key.endswith(("_frac", "_share")) or "_share_of_" in key:
            return f"{v * 100:.1f}%"
        if key.endswith("_pct"):
            return f"{v:.3f}%"
        if key.endswith("_base") or key in _PRICE_KEYS:
            return f"{v:.6g}"
        return f"{v:,.3f}" if abs(v) < 1e6 else f"{v:,.0f}"
    if isinstance(v, (list, tuple)):
        return "; ".join(map(str, v)) if v else "-"
    return str(v)


def format_summary_table(summary: dict) -> str:
    """Aligned two-column text table for the terminal: the label, the warnings, the sections, then attribution,
    reconciliation and notes."""
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    for title, keys in TABLE_SECTIONS:
        present = [k for k in keys if k in summary]
        if present:
            rows.append((f"[{title}]", ""))
            rows.extend((f"  {k}", format_value(k, summary[k])) for k in present)
            seen.update(present)
    rest = [k for k in summary if k not in seen and k not in _SKIP_IN_TABLE and not isinstance(summary[k], dict)]
    if rest:
        rows.append(("[other]", ""))
        rows.extend((f"  {k}", format_value(k, summary[k])) for k in rest)
    rows += _attribution_rows(summary.get("attribution"))
    rows += _adaptive_rows(summary.get("adaptive"))
    rows += _reconciliation_rows(summary.get("reconciliation"))
    for i, msg in enumerate(summary.get("notes") or []):
        rows.append(("[notes]" if i == 0 else "", str(msg)))
    width = max((len(a) for a, _ in rows), default=10) + 2
    lines = []
    label = summary.get("label")
    if label:
        lines.append(str(label))
        lines.append("-" * min(len(str(label)), 120))
    # warnings first, before any figure they qualify
    lines.extend(f"WARNING: {w}" for w in summary.get("warnings") or [])
    lines.extend(f"{a:<{width}}{b}".rstrip() for a, b in rows)
    return "\n".join(lines)


def _attribution_rows(attribution: Any) -> list[tuple[str, str]]:
    if not isinstance(attribution, dict) or "components" not in attribution:
        return []
    rows = [(f"[attribution, H={attribution.get('markout_horizon_s', float('nan')):g}s]", "")]
    rows += [(f"  {k}", format_value(k, v)) for k, v in attribution["components"].items()]
    rows.append(("  total_usd", format_value("total_usd", attribution.get("total_usd"))))
    return rows


def _adaptive_rows(adaptive: Any) -> list[tuple[str, str]]:
    """An adaptive strategy's features: changes logged and end state, one row each."""
    if not isinstance(adaptive, dict):
        return []
    counts = adaptive.get("changes_logged") or {}
    states = adaptive.get("state") or {}
    rows = [("[adaptive features]", "" if adaptive.get("features") else "none on")]
    for name in adaptive.get("features") or []:
        state = ", ".join(f"{k} {v}" for k, v in (states.get(name) or {}).items())
        rows.append((f"  {name}", f"{counts.get(name, 0):,} changes logged; end: {state}"))
    return rows


def _reconciliation_rows(rec: Any) -> list[tuple[str, str]]:
    if not isinstance(rec, dict):
        return []
    return [("[reconciliation]", "")] + [(f"  {k}", format_value(k, v)) for k, v in rec.items() if k not in ("note", "checks")]


def to_jsonable(obj: Any) -> Any:
    """Recursively turn numpy / pandas values into plain Python; NaN and infinities become None."""
    if obj is None or isinstance(obj, (str, bool)):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    if isinstance(obj, pd.DataFrame):
        return to_jsonable(obj.to_dict(orient="list"))
    if isinstance(obj, Path):
        return str(obj)
    if obj is pd.NA or obj is pd.NaT:
        return None
    return str(obj)


def write_json(summary: dict, path: str | Path) -> Path:
    """Write the summary as strict JSON (NaN -> null, numpy types -> Python). Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(to_jsonable(summary), indent=2, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


FILLS_CSV_COLUMNS = (
    "ts", "ts_ns", "side", "price", "qty", "order_id", "venue_order_id", "trade_id", "liquidity", "fee_usd", "mid_at_fill",
)


def iso_utc_ns(ts_ns: np.ndarray) -> np.ndarray:
    """``2025-09-04T19:46:00.123456789Z`` for each int64 nanosecond time stamp (always nine digits)."""
    ts_ns = np.asarray(ts_ns, dtype=np.int64)
    if len(ts_ns) == 0:
        return np.empty(0, dtype=object)
    secs = pd.to_datetime(ts_ns // 1_000_000_000, unit="s", utc=True).strftime("%Y-%m-%dT%H:%M:%S")
    frac = pd.Series(ts_ns % 1_000_000_000).map("{:09d}".format)
    return (pd.Series(secs) + "." + frac.to_numpy() + "Z").to_numpy(dtype=object)


def fills_table(fills: pd.DataFrame) -> pd.DataFrame:
    """Every ``OrderFilled`` event of a run in time order, one row each, with the ``FILLS_CSV_COLUMNS``.

    ``side`` BUY/SELL; ``fee_usd`` + = a cost; ``mid_at_fill`` the strategy's mid when the fill
    arrived; id columns are '' when the tape does not hold them (hand-built artifacts).
    """
    f = fills.sort_values("ts_ns", kind="stable")
    ts = f["ts_ns"].to_numpy(dtype=np.int64)
    n = len(f)
    out = pd.DataFrame(
        {
            "ts": iso_utc_ns(ts),
            "ts_ns": ts,
            "side": np.where(f["side"].to_numpy() > 0, "BUY", "SELL"),
            "price": f["price"].to_numpy(dtype=np.float64),
            "qty": f["qty"].to_numpy(dtype=np.float64),
        },
    )
    for col in ("order_id", "venue_order_id", "trade_id"):
        out[col] = f[col].astype(str).to_numpy() if col in f.columns else np.full(n, "", dtype=object)
    out["liquidity"] = f["liquidity"].astype(str).to_numpy()
    out["fee_usd"] = f["fee_usd"].to_numpy(dtype=np.float64)
    out["mid_at_fill"] = f["mid_at_fill"].to_numpy(dtype=np.float64)
    return out[list(FILLS_CSV_COLUMNS)]


def write_fills_csv(fills: pd.DataFrame, path: str | Path) -> Path:
    """Write ``fills_table(fills)`` as CSV (header, full float precision). Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fills_table(fills).to_csv(path, index=False)
    return path
