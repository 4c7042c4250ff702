"""Backtest result analysis and reporting: summary metrics, PnL attribution, JSON and a self-contained HTML report.

Pure numpy / pandas / plotly; reads only ``BacktestArtifacts`` (filled by the backtest runner), never Nautilus.
Modules: ``artifacts`` (the input), ``tape`` (sorted arrays and shared calculations), ``metrics`` (the
summary figures), ``run_warnings`` (what makes them unreliable), ``attribution`` (the PnL split), ``output`` (terminal table and JSON), ``html``.
"""

from botmm_nautilus.reports.artifacts import ArtifactsError
from botmm_nautilus.reports.artifacts import BacktestArtifacts
from botmm_nautilus.reports.attribution import attribution_sentence
from botmm_nautilus.reports.attribution import compute_attribution
from botmm_nautilus.reports.html import write_html_report
from botmm_nautilus.reports.metrics import compute_summary
from botmm_nautilus.reports.metrics import markout_table
from botmm_nautilus.reports.output import format_summary_table
from botmm_nautilus.reports.output import write_fills_csv
from botmm_nautilus.reports.output import write_json
from botmm_nautilus.reports.run_warnings import report_warnings

__all__ = [
    "ArtifactsError",
    "BacktestArtifacts",
    "attribution_sentence",
    "compute_attribution",
    "compute_summary",
    "format_summary_table",
    "markout_table",
    "report_warnings",
    "write_fills_csv",
    "write_html_report",
    "write_json",
]
