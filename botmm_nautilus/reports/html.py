"""One self-contained HTML report of a backtest run (plotly.js embedded once, in the page head).

Every chart carries the run label (data, period, in/out of sample) in its subtitle, so a screenshot
of one chart still names what it shows. Long series are reduced to at most ``MAX_POINTS`` points per
trace with a min/max-preserving downsampler (spikes and drawdown troughs survive); the page says so.
"""

from __future__ import annotations

import html as _html
import math
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from botmm_nautilus.reports.artifacts import BacktestArtifacts
from botmm_nautilus.reports.attribution import attribution_sentence
from botmm_nautilus.reports.metrics import CURVE_MARKOUT_HORIZONS_S
from botmm_nautilus.reports.metrics import markout_table
from botmm_nautilus.reports.output import TABLE_SECTIONS
from botmm_nautilus.reports.output import format_value

MAX_POINTS = 5000
FIG_HEIGHT = 430
BUY_COLOR = "#1a9850"
SELL_COLOR = "#d73027"
COMPONENT_NAMES = {
    "spread_capture_usd": "spread capture",
    "adverse_selection_usd": "adverse selection",
    "inventory_mtm_usd": "inventory MTM",
    "fees_usd": "fees",
    "funding_usd": "funding",
    "initial_position_usd": "initial position",
}


# ------------------------------------------------------------------------------------ downsampling


def minmax_indices(y: np.ndarray, max_points: int = MAX_POINTS) -> np.ndarray:
    """Indices of at most ``max_points`` points of ``y`` keeping each bucket's min and max (and first/last).

    Buckets are equal runs of consecutive points. When ``y`` has NaN gaps, one NaN per bucket that has
    any is kept too, so plotted lines still break where the series had no value.
    """
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    if n <= max_points:
        return np.arange(n)
    nan = np.isnan(y)
    has_nan = bool(nan.any())
    buckets = max(1, (max_points - 2) // (3 if has_nan else 2))
    k = math.ceil(n / buckets)
    buckets = math.ceil(n / k)
    pad = buckets * k - n
    yy = np.concatenate([y, np.full(pad, np.nan)]).reshape(buckets, k)
    isn = np.isnan(yy)
    lo = np.where(isn, np.inf, yy).argmin(axis=1)
    hi = np.where(isn, -np.inf, yy).argmax(axis=1)
    base = np.arange(buckets) * k
    parts = [base + lo, base + hi, np.array([0, n - 1])]
    if has_nan:
        real_nan = np.concatenate([nan, np.zeros(pad, dtype=bool)]).reshape(buckets, k)
        rows = np.flatnonzero(real_nan.any(axis=1))
        parts.append(base[rows] + real_nan[rows].argmax(axis=1))
    idx = np.unique(np.concatenate(parts))
    return idx[idx < n]


def even_indices(n: int, max_points: int = MAX_POINTS) -> np.ndarray:
    """At most ``max_points`` evenly spaced indices of ``range(n)`` (for scatter markers)."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))


def _ms(ts_ns: np.ndarray) -> np.ndarray:
    """Epoch milliseconds (plotly date axes take numbers: compact typed arrays instead of date strings)."""
    return np.asarray(ts_ns, dtype=np.int64) / 1e6


def _line(ts_ns: np.ndarray, y: np.ndarray, name: str, **kw) -> go.Scattergl | go.Scatter:
    idx = minmax_indices(y)
    return go.Scatter(x=_ms(ts_ns[idx]), y=np.asarray(y, dtype=np.float64)[idx], name=name, mode="lines", **kw)


# ----------------------------------------------------------------------------------------- figures


def _layout(fig: go.Figure, title: str, label: str, ytitle: str, date_x: bool = True) -> go.Figure:
    fig.update_layout(
        title={"text": f"{_html.escape(title)}<br><sup>{_html.escape(label)}</sup>", "x": 0.01},
        template="plotly_white",
        height=FIG_HEIGHT,
        margin={"l": 60, "r": 20, "t": 70, "b": 40},
        legend={"orientation": "h", "y": -0.15},
        hovermode="x unified" if date_x else "closest",
    )
    if date_x:
        fig.update_xaxes(type="date")
    fig.update_yaxes(title_text=ytitle)
    return fig


def fig_waterfall(summary: dict, attribution: dict, label: str) -> go.Figure:
    comps = attribution["components"]
    names = [COMPONENT_NAMES.get(k, k) for k in comps]
    values = [float(v) for v in comps.values()]
    measures = ["relative"] * len(values)
    net = summary.get("net_pnl_usd", attribution["total_usd"])
    if net is None or not math.isfinite(net):
        net = attribution["total_usd"]
    gap = net - attribution["total_usd"]
    tol = (summary.get("reconciliation") or {}).get("tolerance_usd", 0.01)
    if abs(gap) > tol:
        names.append("unreconciled (engine vs fills tape)")
        values.append(gap)
        measures.append("relative")
    names.append("net PnL")
    values.append(net)
    measures.append("total")
    fig = go.Figure(
        go.Waterfall(
            x=names,
            y=values,
            measure=measures,
            text=[f"{v:+,.2f}" for v in values],
            textposition="outside",
            increasing={"marker": {"color": BUY_COLOR}},
            decreasing={"marker": {"color": SELL_COLOR}},
            totals={"marker": {"color": "#4575b4"}},
            connector={"line": {"color": "#999"}},
        ),
    )
    h = attribution.get("markout_horizon_s", 60.0)
    return _layout(fig, f"PnL attribution (USD), adverse-selection horizon {h:g} s", label, "USD", date_x=False)


def fig_equity(art: BacktestArtifacts, label: str) -> go.Figure:
    s = art.samples.sort_values("ts_ns", kind="stable")
    ts = s["ts_ns"].to_numpy(dtype=np.int64)
    eq = s["equity_usd"].to_numpy(dtype=np.float64)
    pnl = eq - float(art.starting_balance_usd)
    curve = np.concatenate([[0.0], pnl])
    peak = np.maximum.accumulate(np.where(np.isnan(curve), -np.inf, curve))[1:]
    dd = pnl - peak
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.05)
    if len(ts):
        fig.add_trace(_line(ts, pnl, "MTM PnL (equity - starting balance)", line={"color": "#4575b4"}), row=1, col=1)
        fig.add_trace(
            _line(ts, dd, "drawdown from peak", line={"color": SELL_COLOR}, fill="tozeroy"), row=2, col=1,
        )
    _layout(fig, "Mark-to-market equity (USD, fees and funding included)", label, "")
    fig.update_yaxes(title_text="PnL USD", row=1, col=1)
    fig.update_yaxes(title_text="drawdown USD", row=2, col=1)
    fig.update_xaxes(type="date")
    return fig


def fig_inventory(art: BacktestArtifacts, summary: dict, label: str) -> go.Figure:
    s = art.samples.sort_values("ts_ns", kind="stable")
    ts = s["ts_ns"].to_numpy(dtype=np.int64)
    pos_usd = s["position_base"].to_numpy(dtype=np.float64) * s["mid"].to_numpy(dtype=np.float64)
    fig = go.Figure()
    if len(ts):
        fig.add_trace(_line(ts, pos_usd, "position (USD at mid)", line={"color": "#542788"}, fill="tozeroy"))
        cap = summary.get("max_position_usd_config")
        if cap:
            for sign in (1, -1):
                fig.add_hline(y=sign * cap, line={"color": "#999", "dash": "dash"})
                fig.add_hline(y=sign * 0.8 * cap, line={"color": "#ccc", "dash": "dot"})
    return _layout(fig, "Inventory over time (dashed: max position, dotted: 80%)", label, "USD")


def fig_quotes(art: BacktestArtifacts, label: str) -> go.Figure:
    s = art.samples.sort_values("ts_ns", kind="stable")
    ts = s["ts_ns"].to_numpy(dtype=np.int64)
    fig = go.Figure()
    if len(ts):
        fig.add_trace(_line(ts, s["mid"].to_numpy(dtype=np.float64), "mid", line={"color": "#333", "width": 1}))
        fig.add_trace(_line(ts, s["bid_quote"].to_numpy(dtype=np.float64), "best bid quote", line={"color": BUY_COLOR, "width": 1}))
        fig.add_trace(_line(ts, s["ask_quote"].to_numpy(dtype=np.float64), "best ask quote", line={"color": SELL_COLOR, "width": 1}))
    return _layout(fig, "Our best quotes against the mid (sampled; gaps = side not quoted)", label, "price")


def fig_fills(art: BacktestArtifacts, label: str) -> tuple[go.Figure, str]:
    mids = art.mids.sort_values("ts_ns", kind="stable")
    fills = art.fills.sort_values("ts_ns", kind="stable")
    fig = go.Figure()
    if len(mids):
        fig.add_trace(_line(mids["ts_ns"].to_numpy(dtype=np.int64), mids["mid"].to_numpy(dtype=np.float64), "mid", line={"color": "#333", "width": 1}))
    shown = []
    for side, name, color, symbol in ((1, "buys", BUY_COLOR, "triangle-up"), (-1, "sells", SELL_COLOR, "triangle-down")):
        f = fills[fills["side"].to_numpy() == side]
        idx = even_indices(len(f))
        shown.append(f"{len(idx):,} of {len(f):,} {name}")
        if len(idx) == 0:
            continue
        f = f.iloc[idx]
        fig.add_trace(
            go.Scatter(
                x=_ms(f["ts_ns"].to_numpy(dtype=np.int64)),
                y=f["price"].to_numpy(dtype=np.float64),
                mode="markers",
                name=name,
                marker={"color": color, "symbol": symbol, "size": 7, "line": {"width": 0}},
                customdata=np.column_stack([f["qty"].to_numpy(dtype=np.float64), (f["liquidity"].astype(str) == "MAKER").to_numpy(dtype=float)]),
                hovertemplate="%{y}<br>qty %{customdata[0]}<br>maker %{customdata[1]}<extra>" + name + "</extra>",
            ),
        )
    caption = "showing " + ", ".join(shown) + " (OrderFilled events)"
    return _layout(fig, f"Fills at their prices on the mid ({caption})", label, "price"), caption


def fig_markouts(art: BacktestArtifacts, label: str) -> go.Figure:
    mk = markout_table(art.fills, art.mids, CURVE_MARKOUT_HORIZONS_S, _data_end(art))
    fig = go.Figure()
    x = mk["horizon_s"].to_numpy()
    n = mk["n_used"].to_numpy()
    series = (
        ("markout_bps", "markout vs fill price (all)", "#4575b4", "solid"),
        ("markout_buy_bps", "markout vs fill price (buys)", BUY_COLOR, "dot"),
        ("markout_sell_bps", "markout vs fill price (sells)", SELL_COLOR, "dot"),
        ("adverse_bps", "mid-to-mid move after the fill (adverse if < 0)", "#fdae61", "dash"),
    )
    for col, name, color, dash in series:
        fig.add_trace(
            go.Scatter(
                x=x, y=mk[col].to_numpy(), name=name, mode="lines+markers", line={"color": color, "dash": dash},
                customdata=n, hovertemplate="%{x} s: %{y:.2f} bps (OrderFilled events used %{customdata})<extra>" + name + "</extra>",
            ),
        )
    fig.add_hline(y=0.0, line={"color": "#999"})
    _layout(fig, "Markouts by horizon (bps, qty-weighted over OrderFilled events; those past the data end excluded)", label, "bps", date_x=False)
    fig.update_xaxes(type="log", title_text="horizon (s)")
    return fig


def _data_end(art: BacktestArtifacts) -> int | None:
    if len(art.mids) == 0:
        return None
    return max(int(art.mids["ts_ns"].max()), int(art.end_ns or 0))


# -------------------------------------------------------------------------------------------- page

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1200px;color:#222}
h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
.run{background:#f4f6fa;border:1px solid #ccd;padding:10px 14px;border-radius:4px}
.run td{padding:2px 12px 2px 0} .warn{background:#fdecea;border:1px solid #f5c2c0;padding:8px 12px;border-radius:4px}
.note{background:#fff8e1;border:1px solid #f0e0a0;padding:8px 12px;border-radius:4px}
table.s{border-collapse:collapse;font-size:13px} table.s td{padding:2px 14px 2px 4px;border-bottom:1px solid #eee}
table.s td.v{text-align:right;font-variant-numeric:tabular-nums} .cols{display:flex;gap:40px;flex-wrap:wrap}
.sec{font-weight:bold;background:#fafafa} .story{font-size:15px;line-height:1.5} .small{font-size:12px;color:#666}
.oos{color:#1a7f37;font-weight:bold} .open{color:#b35900} .ins{color:#b35900;font-weight:bold} .na{color:#c00;font-weight:bold}
"""


def _e(x) -> str:
    return _html.escape(str(x))


def _summary_tables(summary: dict, attribution: dict) -> str:
    blocks = []
    for title, keys in TABLE_SECTIONS:
        rows = [f"<tr><td>{_e(k)}</td><td class='v'>{_e(format_value(k, summary[k]))}</td></tr>" for k in keys if k in summary]
        if rows:
            blocks.append(f"<table class='s'><tr class='sec'><td colspan=2>{_e(title)}</td></tr>{''.join(rows)}</table>")
    rows = [
        f"<tr><td>{_e(COMPONENT_NAMES.get(k, k))}</td><td class='v'>{_e(format_value(k, v))}</td>"
        f"<td class='v'>{_e(format_value('b_bps', attribution.get('per_volume_bps', {}).get(k.replace('_usd', '_bps_of_volume'))))}</td></tr>"
        for k, v in attribution["components"].items()
    ]
    rows.append(f"<tr><td><b>total</b></td><td class='v'><b>{_e(format_value('t_usd', attribution['total_usd']))}</b></td><td></td></tr>")
    blocks.append(
        "<table class='s'><tr class='sec'><td>attribution</td><td class='v'>USD</td><td class='v'>bps of volume</td></tr>"
        + "".join(rows) + "</table>",
    )
    rec = summary.get("reconciliation") or {}
    rrows = [
        f"<tr><td>{_e(k)}</td><td class='v'>{_e(format_value(k, v))}</td></tr>"
        for k, v in rec.items() if k not in ("note", "checks")
    ]
    if rrows:
        blocks.append(
            "<table class='s'><tr class='sec'><td colspan=2>reconciliation with the engine</td></tr>" + "".join(rrows)
            + f"</table><p class='small'>{_e(rec.get('note', ''))}</p>",
        )
    return "<div class='cols'>" + "".join(f"<div>{b}</div>" for b in blocks) + "</div>"


def _open_position_row(summary: dict) -> str:
    """The run-box row for the final position: flat, or open with the estimated exit cost (highlighted)."""
    if not summary.get("final_position_open"):
        return "<tr><td>Position at end</td><td>flat</td></tr>"
    pos = format_value("final_position_base", summary.get("final_position_base"))
    usd = format_value("final_position_usd", summary.get("final_position_usd"))
    after = format_value("net_pnl_liquidation_adjusted_usd", summary.get("net_pnl_liquidation_adjusted_usd"))
    return (
        f"<tr><td>Position at end</td><td class='open'><b>OPEN {_e(pos)} base ({_e(usd)} USD at the final mid)</b>: "
        f"net PnL marks it at the mid with no exit cost; liquidation-adjusted net (closed at the touch as a taker): "
        f"<b>{_e(after)} USD</b> <span class='small'>({_e(summary.get('liquidation_basis', ''))})</span></td></tr>"
    )


def write_html_report(art: BacktestArtifacts, summary: dict, attribution: dict, path: str | Path) -> Path:
    """Write one self-contained HTML report (plotly.js embedded once) and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    label = summary.get("label") or f"{art.instrument} {art.mode} | {art.data_description} | {art.sample_label}"
    sample_cls = {"out-of-sample": "oos", "in-sample": "ins"}.get(art.sample_label, "na")

    fills_fig, fills_caption = fig_fills(art, label)
    figures = [
        ("fig-attribution", "Where the money was made", fig_waterfall(summary, attribution, label)),
        ("fig-equity", "Equity", fig_equity(art, label)),
        ("fig-inventory", "Inventory", fig_inventory(art, summary, label)),
        ("fig-quotes", "Quotes", fig_quotes(art, label)),
        ("fig-fills", "Fills", fills_fig),
        ("fig-markouts", "Markouts", fig_markouts(art, label)),
    ]
    config = {"displaylogo": False, "responsive": True}
    fig_html = [
        f"<h2>{_e(title)}</h2>" + fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=config)
        for div_id, title, fig in figures
    ]

    warnings = list(summary.get("warnings") or [])
    warn_html = (
        f"<div class='warn' id='warnings'><b>{len(warnings)} warning(s): read before any figure</b><ul>"
        + "".join(f"<li>{_e(w)}</li>" for w in warnings) + "</ul></div>"
    ) if warnings else ""
    notes = summary.get("notes") or []
    notes_html = ("<div class='note'><b>Notes</b><ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul></div>") if notes else ""
    story = attribution_sentence(attribution, summary.get("net_pnl_usd"))
    dur = summary.get("duration_hours", float("nan"))
    head = f"""
<h1>Backtest report: {_e(art.instrument)} ({_e(art.mode)} mode)</h1>
{warn_html}
<div class="run"><table>
<tr><td>Data</td><td><b>{_e(art.data_description or 'UNNAMED DATA')}</b></td></tr>
<tr><td>Period</td><td><b>{_e(summary.get('start'))} .. {_e(summary.get('end'))}</b> ({_e(format_value('h', dur))} h)</td></tr>
<tr><td>Sample</td><td class="{sample_cls}">{_e(art.sample_label)}</td></tr>
<tr><td>Instrument / coin</td><td>{_e(art.instrument)} / {_e(art.coin)}</td></tr>
<tr><td>Fills</td><td><b>{_e(format_value('venue_fills', summary.get('venue_fills')))} venue fills</b>
 ({_e(format_value('order_filled_events', summary.get('order_filled_events')))} engine OrderFilled events)</td></tr>
<tr><td>Mode</td><td>{_e(art.mode)} {'(order-book replay with queue position and latency)' if art.mode == 'book' else '(bars only: coarse, see notes)'}</td></tr>
<tr><td>Net PnL</td><td><b>{_e(format_value('net_pnl_usd', summary.get('net_pnl_usd')))} USD</b>
 (after fees and funding; starting balance {_e(format_value('x_usd', summary.get('starting_balance_usd')))} USD)</td></tr>
<tr><td>Break-even maker fee</td><td><b>{_e(format_value('breakeven_maker_fee_bps', summary.get('breakeven_maker_fee_bps')))} bps</b>
 (net PnL would have been zero at this maker fee, fills unchanged; this run: {_e(format_value('maker_fee_bps', summary.get('maker_fee_bps')))} bps
 on {_e(format_value('maker_volume_usd', summary.get('maker_volume_usd')))} USD maker volume)</td></tr>
{_open_position_row(summary)}
</table></div>
<h2>Where money is and is not made</h2>
<p class="story">{_e(story)}</p>
<h2>Summary</h2>
{_summary_tables(summary, attribution)}
{notes_html}
<p class="small">Charts: at most {MAX_POINTS:,} points per line (min/max-preserving downsampling); fills chart {_e(fills_caption)}.</p>
"""
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{_e(art.coin)} backtest | {_e(art.data_description)} | {_e(art.sample_label)}</title>"
        f"<style>{_CSS}</style><script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
        + head + "".join(fig_html)
        + f"<p class='small'>Generated {_e(pd.Timestamp.now(tz='UTC').isoformat(timespec='seconds'))} by botmm_nautilus.reports.</p>"
        + "</body></html>"
    )
    path.write_text(page, encoding="utf-8")
    return path
