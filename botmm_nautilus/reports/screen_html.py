"""The HTML page of ``botmm screen``: the table, the edge per instrument and the markout curves.

Reads the plain result dict of ``botmm_nautilus.data.screen.screen_catalog`` (its keys are
documented there); self-contained like the backtest report (plotly.js embedded once).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from botmm_nautilus.reports.html import _CSS
from botmm_nautilus.reports.html import _e
from botmm_nautilus.reports.html import _layout
from botmm_nautilus.reports.output import format_value

TABLE_KEYS = (
    "median_spread_bps", "touch_depth_usd", "volatility_bps_per_sqrt_s", "volatility_bps_per_hour", "trades_per_min",
    "taker_orders_per_min", "captured_half_spread_bps", "realised_half_spread_vw_bps",
)
TAIL_KEYS = (
    "maker_fee_bps", "edge_bps", "edge_se_bps", "breakeven_maker_fee_bps", "n_trades", "n_taker_orders", "span_h", "start", "end",
)


def _label(result: dict) -> str:
    return f"catalog {result['catalog']} | {result.get('start') or 'all'} .. {result.get('end') or 'all'}"


def fig_edge(result: dict) -> go.Figure:
    """Edge and break-even maker fee per instrument (best first)."""
    rows = result["instruments"]
    names = [r["instrument_id"] for r in rows]
    fig = go.Figure()
    se = [r.get("edge_se_bps") for r in rows]
    fig.add_bar(x=names, y=[r["edge_bps"] for r in rows], name="edge_bps (after the maker fee) +- standard error",
                error_y={"type": "data", "array": [v if v is not None and math.isfinite(v) else 0.0 for v in se]},
                marker_color=["#1a9850" if (r["edge_bps"] or -1) > 0 else "#d73027" for r in rows])
    fig.add_bar(x=names, y=[r["breakeven_maker_fee_bps"] for r in rows], name="break-even maker fee (bps)", marker_color="#777")
    h = f"{result['edge_horizon_s']:g}"
    return _layout(fig, f"Edge of a maker at the touch (adverse selection at {h} s)", _label(result), "bps", date_x=False)


def fig_markout_curves(result: dict) -> go.Figure:
    """Adverse selection against the maker (bps, plain mean over taker orders) vs horizon, one line per
    instrument, with its captured half-spread as a dotted level of the same colour."""
    fig = go.Figure()
    palette = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
    for i, row in enumerate(result["instruments"]):
        color = palette[i % len(palette)]
        curve = row.get("adverse_curve") or []
        xs = [c["horizon_s"] for c in curve]
        fig.add_scatter(x=xs, y=[c["adverse_bps"] for c in curve], mode="lines+markers", name=row["instrument_id"],
                        line={"color": color})
        half = row.get("captured_half_spread_bps")
        if xs and half is not None and math.isfinite(half):
            fig.add_scatter(x=[min(xs), max(xs)], y=[half, half], mode="lines", line={"color": color, "dash": "dot"},
                            name=f"{row['instrument_id']} captured half-spread", showlegend=True)
    fig = _layout(fig, "Markout of a passive fill at the touch (+ = against the maker)", _label(result), "bps", date_x=False)
    fig.update_xaxes(title_text="horizon (s), evenly spaced", type="category")
    return fig


def _table(result: dict) -> str:
    h = [f"adverse_bps_{x:g}s" for x in result["horizons_s"]]
    keys = ("instrument_id",) + TABLE_KEYS + tuple(h) + TAIL_KEYS
    head = "".join(f"<th>{_e(k)}</th>" for k in keys)
    body = []
    for row in result["instruments"]:
        cells = "".join(
            f"<td class='v'>{_e(row.get(k) if k in ('instrument_id', 'start', 'end') else format_value(k, row.get(k)))}</td>"
            for k in keys
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<div style='overflow-x:auto'><table class='s'><tr>{head}</tr>{''.join(body)}</table></div>"


def write_screen_report(result: dict, path: str | Path) -> Path:
    """Write the screener page (table, edge bars, markout curves) and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    config = {"displaylogo": False, "responsive": True}
    figs = [("fig-edge", fig_edge(result)), ("fig-markouts", fig_markout_curves(result))]
    fig_html = "".join(f.to_html(full_html=False, include_plotlyjs=False, div_id=i, config=config) for i, f in figs)
    fees = "".join(f"<li>{_e(r['instrument_id'])}: {_e(format_value('maker_fee_bps', r['maker_fee_bps']))} bps "
                   f"({_e(r.get('maker_fee_source', ''))})</li>" for r in result["instruments"])
    notes = "".join(f"<li>{_e(n)}</li>" for n in result.get("notes") or [])
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>botmm screen | "
        f"{_e(result['catalog'])}</title><style>{_CSS}</style><script type='text/javascript'>{get_plotlyjs()}</script>"
        f"</head><body><h1>Where a maker can earn</h1><p>{_e(_label(result))}; rows sorted by edge, best first.</p>"
        f"<p class='small'>{_e(result['edge_formula'])}. Headline adverse selection: {_e(result['headline'])}.</p>"
        f"{_table(result)}<h2>Maker fees used</h2><ul>{fees}</ul>"
        + (f"<div class='note'><b>Notes</b><ul>{notes}</ul></div>" if notes else "")
        + fig_html
        + f"<p class='small'>Generated {_e(pd.Timestamp.now(tz='UTC').isoformat(timespec='seconds'))} by botmm screen.</p>"
        + "</body></html>"
    )
    path.write_text(page, encoding="utf-8")
    return path
