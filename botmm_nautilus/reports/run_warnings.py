"""Report warnings: what makes a run's figures unreliable, in one list (``summary["warnings"]``).

The JSON carries the list, the HTML report shows it at the top in red and ``botmm backtest`` prints
each one as ``WARNING: ...``. Each rule reads only the summary and the artifacts:

- the figures do not name their data (``data_description`` empty) or do not say whether the period
  was in or out of sample (``sample_label`` 'n/a');
- book mode on a catalog without trade ticks: the queue model fills a resting order only when
  trades at its price have consumed the queue ahead of it (or the book moves through it), so a
  book-only catalog (Hyperliquid's S3 l2Book archive) gives almost no fills;
- the run is shorter than the markout (adverse-selection) horizon of the attribution;
- the estimators ran on their configured defaults (``summary["estimators"]``: ``sigma_fitted`` /
  ``intensity_fitted`` False);
- fewer than ``MIN_VENUE_FILLS`` venue fills: markouts, captured spread and PnL per fill are noise;
- the PnL does not reconcile with the engine.
"""

from __future__ import annotations

from typing import Any

from botmm_nautilus.reports.artifacts import BacktestArtifacts
from botmm_nautilus.reports.tape import find_config_value

MIN_VENUE_FILLS = 30


def honesty_warnings(art: BacktestArtifacts) -> list[str]:
    """Warnings when the figures do not say what data they come from or whether it was in sample."""
    out = []
    if not art.data_description:
        out.append("data_description is empty: these figures do not name their data")
    if art.sample_label == "n/a":
        out.append("sample_label is 'n/a': not stated whether the period was in or out of sample")
    return out


def markout_horizon_s(summary: dict, art: BacktestArtifacts) -> float | None:
    """The adverse-selection horizon of the attribution: the summary's attribution, else the config's."""
    attribution = summary.get("attribution")
    if isinstance(attribution, dict) and attribution.get("markout_horizon_s") is not None:
        return float(attribution["markout_horizon_s"])
    value = find_config_value(art.config, "markout_horizon_s")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def estimator_warnings(estimators: Any) -> list[str]:
    """Warnings for estimators that ran on their configured defaults (``summary["estimators"]``)."""
    if not isinstance(estimators, dict):
        return []
    out = []
    source = estimators.get("source")
    where = f" ({source})" if source else ""
    if estimators.get("sigma_fitted") is False:
        out.append(
            f"volatility estimator not fitted{where}: quotes used the default sigma "
            "(calibration.default_sigma_bps_per_sqrt_s), not the market's",
        )
    if estimators.get("intensity_fitted") is False:
        out.append(
            f"arrival-intensity fit (A, k) not valid{where}: quotes used the defaults "
            "(calibration.default_A_per_s, default_k_per_bps), not the market's",
        )
    return out


def report_warnings(summary: dict, art: BacktestArtifacts) -> list[str]:
    """Every warning of a run (module docstring), most serious first."""
    out = list(honesty_warnings(art))
    if art.mode == "book" and art.has_trades is False:
        out.append(
            f"the catalog holds no trade ticks for {art.instrument}: in book mode a resting order fills only when "
            "trades consume the queue ahead of it (or the book moves through it), so fills are rare and these "
            "figures say little about a live market maker (a book-only source such as Hyperliquid's S3 l2Book "
            "archive needs its trades imported too)",
        )
    venue_fills = summary.get("venue_fills")
    if isinstance(venue_fills, int) and venue_fills < MIN_VENUE_FILLS:
        out.append(
            f"only {venue_fills} venue fill(s) (fewer than {MIN_VENUE_FILLS}): markouts, captured spread, "
            "attribution and PnL statistics are noise",
        )
    duration_s = float(summary.get("duration_hours") or 0.0) * 3600.0
    horizon = markout_horizon_s(summary, art)
    if horizon is not None and duration_s < horizon:
        out.append(
            f"the run lasted {duration_s:.6g} s, shorter than the markout horizon {horizon:g} s: "
            "the adverse-selection part of the attribution and the markouts at that horizon cover few or no fills",
        )
    out += estimator_warnings(summary.get("estimators"))
    rec = summary.get("reconciliation")
    if isinstance(rec, dict) and rec.get("ok") is False:
        out.append("the PnL does not reconcile with the engine: see the reconciliation block")
    return out
