"""The ablation table: one row per (variant, window) of backtests on the same market data.

``build_ablation_table`` turns the compact run records of ``backtest/ablation.py`` (each: the run's
summary figures, its attribution and its equity tape) into a JSON-ready result::

    {"variants": [{name, strategy, set}], "windows": [{name, sample_label, start, end}],
     "rows": [...], "baseline": NAME, "ci": {method, bucket_s, resamples, seed, level}}

Row figures (USD unless the key says otherwise): ``net_pnl_usd`` with its 95 % interval
(``reports/bootstrap.py``: block bootstrap over per-bucket equity increments), the difference against
the first (baseline) variant on the same window with its paired interval, fills (venue fills and
engine ``OrderFilled`` events), traded volume, adverse selection per traded volume (the attribution's
``adverse_selection_bps_of_volume`` at ``backtest.markout_horizon_s``: mid move within the horizon
after our fills, negative = against us), spread capture and fees per volume, markouts at 1/10/60 s
(``markout_{h}s_bps``: our edge h seconds after the fill, spread included) and the break-even maker
fee when the backtest reports one. ``format_ablation_table`` prints it aligned;
``write_ablation_html`` writes a page with the table and bar charts with error bars.
"""

from __future__ import annotations

import html as _html
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from botmm_nautilus.reports.bootstrap import CI_METHOD
from botmm_nautilus.reports.bootstrap import DEFAULT_LEVEL
from botmm_nautilus.reports.bootstrap import DEFAULT_RESAMPLES
from botmm_nautilus.reports.bootstrap import DEFAULT_SEED
from botmm_nautilus.reports.bootstrap import MIN_BUCKETS_FOR_CI
from botmm_nautilus.reports.bootstrap import auto_bucket_s
from botmm_nautilus.reports.bootstrap import block_bootstrap_sum_ci
from botmm_nautilus.reports.bootstrap import bucket_edges_ns
from botmm_nautilus.reports.bootstrap import pnl_increments

# summary keys copied into a row as they are (None when the run's summary lacks them)
SUMMARY_KEYS = (
    "venue_fills",
    "order_filled_events",
    "volume_usd",
    "markout_1s_bps",
    "markout_10s_bps",
    "markout_60s_bps",
    "net_pnl_liquidation_adjusted_usd",
    "max_drawdown_usd",
    "final_position_base",
    "time_quoted_both_frac",
)

def _ci_text(v, lo, hi) -> str:
    if v is None:
        return "-"
    return f"{v:+,.2f} [{lo:+,.2f}, {hi:+,.2f}]"


# the printed table: (header, the cell text of a row)
TABLE_COLUMNS = (
    ("variant", lambda r: r["variant"]),
    ("window", lambda r: f"{r['window']} ({r['sample_label']})"),
    ("net USD [95% CI]", lambda r: _ci_text(r["net_pnl_usd"], r["net_pnl_ci_low_usd"], r["net_pnl_ci_high_usd"])),
    ("vs baseline USD [95% CI]", lambda r: _ci_text(r["diff_vs_baseline_usd"], r["diff_ci_low_usd"], r["diff_ci_high_usd"])),
    ("fills", lambda r: _num(r["venue_fills"], "{:,d}")),
    ("volume USD", lambda r: _num(r["volume_usd"], "{:,.0f}")),
    ("AS bps/vol", lambda r: _num(r["adverse_selection_bps"], "{:+.2f}")),
    ("mk 1s", lambda r: _num(r["markout_1s_bps"], "{:+.2f}")),
    ("mk 10s", lambda r: _num(r["markout_10s_bps"], "{:+.2f}")),
    ("mk 60s", lambda r: _num(r["markout_60s_bps"], "{:+.2f}")),
    ("BE fee bps", lambda r: _num(r["breakeven_maker_fee_bps"], "{:+.2f}")),
)


def _num(v, fmt: str) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    try:
        return fmt.format(v)
    except (ValueError, TypeError):
        return str(v)


def _finite_or_none(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def resolve_bucket_s(windows: list[dict], bucket_s: float | None) -> float:
    """``bucket_s`` if given, else the automatic choice for the shortest window (``auto_bucket_s``)."""
    if bucket_s is not None:
        return float(bucket_s)
    shortest = min((w["end_ns"] - w["start_ns"]) / 1e9 for w in windows)
    return float(auto_bucket_s(shortest))


def run_increments(run: dict, window: dict, bucket_ns: int) -> np.ndarray:
    """Per-bucket equity increments of one run record over its window (they sum to its net PnL)."""
    s = run["summary"]
    edges = bucket_edges_ns(int(window["start_ns"]), int(window["end_ns"]), bucket_ns)
    start_equity, net = float(s["starting_balance_usd"]), float(s["net_pnl_usd"])
    return pnl_increments(run["sample_ts_ns"], run["equity_usd"], edges, start_equity, net)


def build_ablation_table(
    runs: list[dict],
    variants: list[dict],
    windows: list[dict],
    *,
    bucket_s: float | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    level: float = DEFAULT_LEVEL,
) -> dict:
    """The ablation result (module docstring) from run records ``{"variant", "window", "summary",
    "sample_ts_ns", "equity_usd", "wall_seconds"}``; ``variants[0]`` is the baseline.

    Every (variant, window) pair must have exactly one run record (a ``ValueError`` otherwise)."""
    if not variants or not windows:
        raise ValueError("an ablation needs at least one variant and one window")
    by_key: dict[tuple[str, str], dict] = {}
    for run in runs:
        key = (run["variant"], run["window"])
        if key in by_key:
            raise ValueError(f"two runs for variant {key[0]!r} on window {key[1]!r}")
        by_key[key] = run
    missing = [(v["name"], w["name"]) for w in windows for v in variants if (v["name"], w["name"]) not in by_key]
    if missing:
        raise ValueError(f"no run for (variant, window) {missing}")
    bucket = resolve_bucket_s(windows, bucket_s)
    bucket_ns = int(round(bucket * 1e9))
    baseline = variants[0]["name"]
    rows = []
    for w in windows:
        base_inc = run_increments(by_key[(baseline, w["name"])], w, bucket_ns)
        for i, v in enumerate(variants):
            run = by_key[(v["name"], w["name"])]
            inc = base_inc if i == 0 else run_increments(run, w, bucket_ns)
            boot = {"resamples": resamples, "seed": seed, "level": level}
            ci = block_bootstrap_sum_ci(inc, **boot)
            diff = None if i == 0 else block_bootstrap_sum_ci(inc - base_inc, **boot)
            rows.append(_row(run, v, w, ci, diff, bucket))
    return {
        "variants": [{"name": v["name"], "strategy": v.get("strategy"), "set": dict(v.get("set") or {})} for v in variants],
        "windows": [
            {"name": w["name"], "sample_label": w["sample_label"], "start": w["start"], "end": w["end"],
             "start_ns": int(w["start_ns"]), "end_ns": int(w["end_ns"]), "clipped_to_data": bool(w.get("clipped_to_data"))}
            for w in windows
        ],
        "baseline": baseline,
        "rows": rows,
        "ci": {"method": CI_METHOD, "level": level, "bucket_s": bucket, "resamples": resamples, "seed": seed,
               "min_buckets_trusted": MIN_BUCKETS_FOR_CI},
    }


def _row(run: dict, variant: dict, window: dict, ci, diff, bucket_s: float) -> dict:
    s = run["summary"]
    attribution = s.get("attribution") or {}
    per_vol = attribution.get("per_volume_bps") or {}
    row: dict[str, Any] = {
        "variant": variant["name"],
        "strategy": s.get("strategy") or variant.get("strategy"),
        "window": window["name"],
        "sample_label": window["sample_label"],
        "start": s.get("start"),
        "end": s.get("end"),
        "net_pnl_usd": float(s["net_pnl_usd"]),
        "net_pnl_ci_low_usd": ci.low,
        "net_pnl_ci_high_usd": ci.high,
        "diff_vs_baseline_usd": None if diff is None else diff.estimate,
        "diff_ci_low_usd": None if diff is None else diff.low,
        "diff_ci_high_usd": None if diff is None else diff.high,
    }
    for key in SUMMARY_KEYS:
        row[key] = s.get(key)
    row["adverse_selection_bps"] = _finite_or_none(per_vol.get("adverse_selection_bps_of_volume"))
    row["adverse_selection_horizon_s"] = attribution.get("markout_horizon_s")
    row["spread_capture_bps"] = _finite_or_none(per_vol.get("spread_capture_bps_of_volume"))
    row["fees_bps"] = _finite_or_none(per_vol.get("fees_bps_of_volume"))
    row["breakeven_maker_fee_bps"] = _finite_or_none(s.get("breakeven_maker_fee_bps"))
    row["ci_buckets"] = ci.n
    row["ci_bucket_s"] = bucket_s
    row["ci_block_len"] = ci.block_len
    row["wall_seconds"] = run.get("wall_seconds")
    row["warnings"] = list(s.get("warnings") or [])
    if ci.n < MIN_BUCKETS_FOR_CI:
        row["warnings"].append(f"only {ci.n} PnL buckets of {bucket_s:g} s: the confidence interval is too narrow to trust")
    return row


def format_ablation_table(result: dict) -> str:
    """The rows as an aligned text table, with the CI method and the baseline named under it."""
    header = [h for h, _ in TABLE_COLUMNS]
    body = [[str(f(r)) for _, f in TABLE_COLUMNS] for r in result["rows"]]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)]

    def line(cells):
        return "  ".join(c.ljust(widths[i]) if i < 2 else c.rjust(widths[i]) for i, c in enumerate(cells)).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    last_window = None
    for r, cells in zip(result["rows"], body):
        if last_window is not None and r["window"] != last_window:
            out.append("")
        last_window = r["window"]
        out.append(line(cells))
    ci = result["ci"]
    out.append("")
    out.append(f"baseline: {result['baseline']}; windows: " + "; ".join(
        f"{w['name']} = {w['sample_label']} {w['start']} .. {w['end']}{' (cut to the data)' if w.get('clipped_to_data') else ''}"
        for w in result["windows"]))
    out.append(f"CI: {ci['method']}; buckets of {ci['bucket_s']:g} s, {ci['resamples']} resamples, seed {ci['seed']}.")
    out.append("AS bps/vol: adverse selection per traded volume at the markout horizon (negative = the mid moved against "
               "our fills); mk Ns: markout N s after the fill incl. the captured spread (bps); BE fee: break-even maker fee.")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------- HTML


_CSS = (
    "body{font-family:sans-serif;margin:1.5em} table{border-collapse:collapse} "
    "td,th{border:1px solid #ccc;padding:3px 7px;font-size:13px} "
    ".warn{background:#fff3cd;padding:.5em;border:1px solid #e0c060} .small{font-size:12px;color:#555}"
)


def _e(x) -> str:
    return _html.escape(str(x))


def _tr(*cells) -> str:
    return "<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>"


def _bar_figure(result: dict, value: str, low: str, high: str, title: str, ytitle: str, skip_baseline: bool = False):
    import plotly.graph_objects as go

    fig = go.Figure()
    names = [v["name"] for v in result["variants"]]
    if skip_baseline:
        names = names[1:]
    for w in result["windows"]:
        rows = {r["variant"]: r for r in result["rows"] if r["window"] == w["name"]}
        y = [rows[n][value] for n in names]
        lo = [rows[n][low] for n in names] if low else None
        hi = [rows[n][high] for n in names] if high else None
        err = None
        if lo is not None:
            err = dict(
                type="data", symmetric=False,
                array=[(h - v) if v is not None and h is not None else 0 for v, h in zip(y, hi)],
                arrayminus=[(v - lo_) if v is not None and lo_ is not None else 0 for v, lo_ in zip(y, lo)],
            )
        fig.add_trace(go.Bar(x=names, y=y, name=f"{w['name']} ({w['sample_label']})", error_y=err))
    fig.update_layout(title=title, yaxis_title=ytitle, barmode="group", height=420, template="plotly_white")
    return fig


def ablation_figures(result: dict) -> list[tuple[str, Any]]:
    """(title, plotly figure): net PnL with its CI, the difference vs the baseline with its CI, adverse
    selection per volume and the 10 s markout, each variant grouped by window."""
    base = result["baseline"]
    net = _bar_figure(result, "net_pnl_usd", "net_pnl_ci_low_usd", "net_pnl_ci_high_usd", "Net PnL per variant", "USD")
    figs = [("Net PnL (USD) with 95% CI", net)]
    if len(result["variants"]) > 1:
        diff = _bar_figure(
            result, "diff_vs_baseline_usd", "diff_ci_low_usd", "diff_ci_high_usd", f"Net PnL minus {base}", "USD", skip_baseline=True,
        )
        figs.append((f"Difference vs {base} (USD) with paired 95% CI", diff))
    adverse = _bar_figure(result, "adverse_selection_bps", None, None, "Adverse selection per traded volume", "bps")
    figs.append(("Adverse selection per volume (bps)", adverse))
    figs.append(("Markout 10 s (bps)", _bar_figure(result, "markout_10s_bps", None, None, "Markout 10 s after the fill", "bps")))
    return figs


def write_ablation_html(result: dict, path: str | Path, title: str = "Ablation") -> Path:
    """One self-contained HTML page: the data named, the table, the bar charts with error bars."""
    from plotly.offline import get_plotlyjs

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame([{h: f(r) for h, f in TABLE_COLUMNS} for r in result["rows"]])
    data = result.get("data") or {}
    warnings = sorted({w for r in result["rows"] for w in r["warnings"]})
    warn_items = "".join(f"<li>{_e(w)}</li>" for w in warnings)
    warn_html = f"<div class='warn'><b>Warnings of the runs</b><ul>{warn_items}</ul></div>" if warnings else ""
    figs = "".join(
        f"<h2>{_e(t)}</h2>" + fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})
        for t, fig in ablation_figures(result)
    )
    variants = "".join(
        _tr(v["name"], v.get("strategy") or "(config)", ", ".join(f"{k}={val}" for k, val in v["set"].items()) or "-")
        for v in result["variants"]
    )
    windows = "".join(_tr(w["name"], w["sample_label"], f"{w['start']} .. {w['end']}") for w in result["windows"])
    ci = result["ci"]
    page = f"""<!DOCTYPE html><html><head><meta charset='utf-8'><title>{_e(title)}</title>
<style>{_CSS}</style>
<script type='text/javascript'>{get_plotlyjs()}</script></head><body>
<h1>{_e(title)}</h1>
<p>Data: <b>{_e(data.get('catalog', '?'))}</b>, instrument <b>{_e(data.get('instrument', '?'))}</b>,
config {_e(data.get('config', '?'))}, mode {_e(data.get('mode', '?'))}, variants file {_e(data.get('variants_file', '?'))}.
Baseline: <b>{_e(result['baseline'])}</b>.</p>
<table><tr><th>window</th><th>sample</th><th>period (UTC)</th></tr>{windows}</table>
<h2>Variants</h2><table><tr><th>name</th><th>strategy</th><th>settings on top of the config</th></tr>{variants}</table>
<h2>Table</h2>{frame.to_html(index=False, escape=True)}
<p class='small'>CI: {_e(ci['method'])}; buckets of {ci['bucket_s']:g} s, {ci['resamples']} resamples, seed {ci['seed']}.</p>
{warn_html}{figs}
<p class='small'>Generated {_e(pd.Timestamp.now(tz='UTC').isoformat(timespec='seconds'))} by botmm_nautilus.reports.ablation.</p>
</body></html>"""
    path.write_text(page, encoding="utf-8")
    return path
