"""Summary figures of one backtest run, from ``BacktestArtifacts`` (pure numpy/pandas, vectorised).

``compute_summary`` validates the artifacts and puts together the figures of small section functions
(run and period, PnL, liquidation-adjusted net, Sharpe, drawdown, fill counts, volume, captured spread,
markouts, quoting, inventory, orders, reconciliation); each takes plain arrays or numbers and
can be checked on its own.

Naming: every PnL figure says whether fees are in it. ``net`` means after fees and funding;
any other PnL figure is ``..._before_fees_usd`` or ``..._after_fees_usd``. A count of fills says
what it counts: ``order_filled_events`` are Nautilus ``OrderFilled`` events (the backtest matching
engine splits one match into one event per queue slice), ``venue_fills`` merges the events of one
order at one instant into one fill, as the venue would report it. Rates per hour and per day, and
annualised ratios, are given only when the run lasted at least that long (no extrapolation).
``warnings`` (``botmm_nautilus.reports.run_warnings``) lists what makes the figures unreliable.

Definitions (all USD unless the name says otherwise):

- ``net_pnl_usd``: change in mark-to-market equity, after fees and funding,
  ``final_balance_usd + final_position_base * (final_mid - avg_entry) - starting_balance_usd``.
  The balance already holds realised PnL, fees and funding; ``avg_entry`` is the average-cost entry
  price of the open position rebuilt from the fills tape. Without a finite final balance the figure
  falls back to the fills tape (``reconciliation.tape_net_pnl_usd``). An open final position is
  marked at the mid with no exit cost.
- ``realized_pnl_before_fees_usd``: average-cost realised trading PnL from the fills, before fees and
  funding; ``unrealized_pnl_before_fees_usd``: the final position marked at ``final_mid`` against
  ``avg_entry``; ``fees_usd``: sum of fees (positive = cost); ``funding_usd``: sum of payments
  (positive = received). From the fills tape: ``net = realized + unrealized - fees + funding``.
- ``realized_pnl_after_fees_usd`` = ``realized_pnl_before_fees_usd - fees_usd`` (every fee of the run,
  those of the still-open position included, as Nautilus's position realised PnL counts them).
- ``net_pnl_liquidation_adjusted_usd``: ``net_pnl_usd`` with the final position closed as a taker at
  the touch (best bid for a long, best ask for a short, from the final book) plus the taker fee (the
  simulated venue's, ``BacktestArtifacts.taker_fee_frac``) on that notional; the parts are
  ``liquidation_spread_cost_usd`` and ``liquidation_taker_fee_usd``, the basis in
  ``liquidation_basis``. Equal to net when the run ends flat.
- ``sharpe``: mean / std (ddof=1) of daily mark-to-market equity changes times sqrt(365). Days are
  complete 24 h windows from the run start (a trailing partial window is dropped); equity at a
  window end is the last sample at or before it, and the run starts at ``starting_balance_usd``.
  NaN, with ``sharpe_note``, below 2 complete days. Changes are in USD (not returns), so the ratio
  does not depend on the starting balance. ``sharpe_intraday_hourly``: the same on 1 h
  windows times sqrt(24 * 365); noisy (inventory marks are autocorrelated), not a substitute; NaN for a
  run shorter than a day (an annualised figure from less would be an extrapolation).
- markouts at h seconds (bps, qty-weighted over fill events): ``markout_{h}s_bps`` = mean of
  ``side * (mid(t+h) - price) / price * 1e4`` (our edge h seconds later, spread included) and
  ``adverse_{h}s_bps`` = mean of ``side * (mid(t+h) - mid_at_fill) / mid_at_fill * 1e4`` (the pure
  mid move; negative = adverse). ``mid(t+h)`` is the previous-tick mid at t+h; fill events whose
  horizon runs past the data end are excluded and counted in ``markout_{h}s_order_filled_events_excluded``.
- ``max_drawdown_usd`` / ``max_drawdown_pct``: largest fall of the sampled equity from its running
  peak (the starting balance counts as the first point), in USD and in percent of that peak.
- ``breakeven_maker_fee_bps``: the maker fee (bps, + = a cost) at which the run's net PnL would have been
  zero, every fill and position unchanged: ``maker_fee_bps + net_pnl_usd / maker_volume_usd * 1e4``
  (taker fills keep their fee, funding stays). ``maker_fee_bps`` is the simulated venue's
  (``BacktestArtifacts.maker_fee_frac``), else the tape's maker fees over maker volume
  (``maker_fee_source`` says which); NaN without maker volume. What the strategy would have done at
  another fee (its fee gates quote from ``venue.maker_fee_bps``) is not in it.
- ``avg_captured_spread_bps``: qty-weighted mean of ``side * (mid_at_fill - price) / mid_at_fill * 1e4``.
"""

from __future__ import annotations

import math
from typing import Any
from typing import NamedTuple

import numpy as np
import pandas as pd

from botmm_nautilus.reports.artifacts import BacktestArtifacts
from botmm_nautilus.reports.run_warnings import report_warnings
from botmm_nautilus.reports.tape import DAY_NS
from botmm_nautilus.reports.tape import HOUR_NS
from botmm_nautilus.reports.tape import NS
from botmm_nautilus.reports.tape import FillArrays
from botmm_nautilus.reports.tape import SampleArrays
from botmm_nautilus.reports.tape import average_cost
from botmm_nautilus.reports.tape import count_venue_fills
from botmm_nautilus.reports.tape import fill_arrays
from botmm_nautilus.reports.tape import find_config_value
from botmm_nautilus.reports.tape import mid_arrays
from botmm_nautilus.reports.tape import mid_at
from botmm_nautilus.reports.tape import periodic_sharpe
from botmm_nautilus.reports.tape import sample_arrays
from botmm_nautilus.reports.tape import time_weights
from botmm_nautilus.reports.tape import wmean

SUMMARY_MARKOUT_HORIZONS_S = (1.0, 10.0, 60.0)
CURVE_MARKOUT_HORIZONS_S = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
NEAR_MAX_POSITION_FRAC = 0.8
RECONCILIATION_NOTE = (
    "Nautilus position realised PnL is after fees (commissions included) but does not hold funding (the "
    "funding module books it to the account balance), so diff_net_vs_engine_usd is expected to equal "
    "funding_usd; diff_net_vs_engine_ex_funding_usd is the unexplained remainder. The last sample can lag "
    "the end of the run by up to one sample interval."
)


def markout_table(
    fills: pd.DataFrame,
    mids: pd.DataFrame,
    horizons_s=CURVE_MARKOUT_HORIZONS_S,
    data_end_ns: int | None = None,
) -> pd.DataFrame:
    """Qty-weighted markouts per horizon: horizon_s, markout_bps, adverse_bps, buy/sell variants, n_used, n_excluded.

    ``markout_bps`` = side*(mid(t+h) - price)/price*1e4; ``adverse_bps`` = side*(mid(t+h) - mid_at_fill)/mid_at_fill*1e4.
    A fill event is excluded at horizon h when t+h is past ``data_end_ns`` (default: the last mid) or no
    mid exists at t+h. The counts (``n_used``, ``n_excluded``, ``n_no_mid``) are of ``OrderFilled`` events.
    """
    ts, side, price, qty, _fee, _maker, mid_fill = fill_arrays(fills)
    mts, mv = mid_arrays(mids)
    end = data_end_ns if data_end_ns is not None else (int(mts[-1]) if len(mts) else None)
    rows = []
    for h in horizons_s:
        t_h = ts + int(round(h * NS))
        mh = mid_at(mts, mv, t_h)
        past = t_h > end if end is not None else np.ones(len(ts), dtype=bool)
        use = ~past & np.isfinite(mh) & np.isfinite(price)
        mark = side * (mh - price) / price * 1e4
        adv_ok = use & np.isfinite(mid_fill) & (mid_fill > 0)
        adv = side * (mh - mid_fill) / np.where(mid_fill > 0, mid_fill, np.nan) * 1e4
        buy = side > 0
        rows.append(
            {
                "horizon_s": float(h),
                "markout_bps": wmean(mark[use], qty[use]),
                "adverse_bps": wmean(adv[adv_ok], qty[adv_ok]),
                "markout_buy_bps": wmean(mark[use & buy], qty[use & buy]),
                "markout_sell_bps": wmean(mark[use & ~buy], qty[use & ~buy]),
                "n_used": int(use.sum()),
                "n_excluded": int(past.sum()),
                "n_no_mid": int((~past & ~np.isfinite(mh)).sum()),
            },
        )
    return pd.DataFrame(rows)


def _number_or_none(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def iso_utc(ns: int | None) -> str | None:
    """``2025-01-01T00:00:00.123Z`` (milliseconds dropped when zero); None for None or out of range."""
    if ns is None:
        return None
    try:
        text = pd.Timestamp(int(ns), unit="ns", tz="UTC").isoformat(timespec="milliseconds")
    except (ValueError, OverflowError):
        return None
    return text.replace("+00:00", "Z").replace(".000Z", "Z")


def per_period_rate(amount: float, duration_h: float, period_h: float) -> float:
    """``amount`` per ``period_h`` hours, only when the run lasted at least that long; else NaN (no extrapolation)."""
    return amount / (duration_h / period_h) if duration_h >= period_h and duration_h > 0 else math.nan


# ----------------------------------------------------------------------------------- run and period


class Period(NamedTuple):
    start_ns: int
    end_ns: int
    duration_h: float
    data_end_ns: int | None  # end of the market data for markouts: the last mid, or the run end if later


def run_period(art: BacktestArtifacts, mid_ts: np.ndarray, sample_ts: np.ndarray, fill_ts: np.ndarray) -> Period:
    """The run's start and end (the artifacts' own, else the first and last time stamp of any tape)."""
    stamps = [x for x in (mid_ts, sample_ts, fill_ts) if len(x)]
    start_ns = int(art.start_ns) if art.start_ns else (min(int(x[0]) for x in stamps) if stamps else 0)
    end_ns = int(art.end_ns) if art.end_ns else (max(int(x[-1]) for x in stamps) if stamps else 0)
    duration_h = (end_ns - start_ns) / HOUR_NS if end_ns > start_ns else 0.0
    data_end_ns = max(int(mid_ts[-1]), end_ns) if len(mid_ts) else None
    return Period(start_ns, end_ns, duration_h, data_end_ns)


def run_header(art: BacktestArtifacts, period: Period) -> dict:
    """What ran on which data over which period (the label every chart and table carries)."""
    start, end = iso_utc(period.start_ns), iso_utc(period.end_ns)
    return {
        "label": (
            f"{art.instrument} {art.mode} mode | {art.data_description or 'UNNAMED DATA'} | "
            f"{start} .. {end} | {art.sample_label}"
        ),
        "instrument": art.instrument,
        "coin": art.coin,
        "mode": art.mode,
        "data_description": art.data_description,
        "sample_label": art.sample_label,
        "start": start,
        "end": end,
        "start_ns": period.start_ns,
        "end_ns": period.end_ns,
        "duration_hours": period.duration_h,
    }


def resolve_final_mid(final_mid: float, mids: np.ndarray) -> tuple[float, list[str]]:
    """The mid the final position is marked at: the artifacts' one, else the last recorded mid."""
    final_mid = float(final_mid)
    if not math.isfinite(final_mid) and len(mids):
        return float(mids[-1]), ["final_mid was not finite: used the last recorded mid"]
    return final_mid, []


# ---------------------------------------------------------------------------------------------- PnL


class TapePnL(NamedTuple):
    """PnL rebuilt from the fills tape and funding payments (average cost)."""

    realized_before_fees: float
    unrealized_before_fees: float
    avg_entry: float
    fees: float
    funding: float
    tape_position: float  # sum of signed fill quantities
    final_position: float  # the engine's, else the tape's
    start_position: float  # final - tape position when they disagree (treated as held from the start), else 0

    @property
    def net(self) -> float:
        return self.realized_before_fees + self.unrealized_before_fees - self.fees + self.funding


def tape_pnl(
    fa: FillArrays,
    funding_usd: float,
    final_position_base: float,
    first_mid: float,
    final_mid: float,
) -> tuple[TapePnL, list[str]]:
    """Average-cost PnL of the fills; a position the tape does not explain is held from the start at ``first_mid``."""
    notes = []
    tape_pos = float(np.sum(fa.side * fa.qty))
    final_pos = float(final_position_base) if math.isfinite(final_position_base) else tape_pos
    q0 = final_pos - tape_pos
    if abs(q0) <= 1e-8 + 1e-9 * float(np.sum(fa.qty)):
        q0 = 0.0
    else:
        notes.append(
            f"the fills tape ends at position {tape_pos:g} but the engine reports {final_pos:g}: "
            f"{q0:+g} base unexplained (fills missing from the tape, or the run did not start flat); "
            f"treated as a starting position valued at the first mid {first_mid:g}",
        )
    realized, _pos, avg_entry = average_cost(fa.side, fa.qty, fa.price, q0, first_mid)
    unrealized = final_pos * (final_mid - avg_entry) if final_pos != 0.0 and math.isfinite(avg_entry) else 0.0
    pnl = TapePnL(realized, unrealized, avg_entry, float(np.sum(fa.fee)), funding_usd, tape_pos, final_pos, q0)
    return pnl, notes


def pnl_figures(tp: TapePnL, final_balance_usd: float, starting_balance_usd: float, final_mid: float) -> tuple[dict, list[str]]:
    """Net PnL (engine balance + the open position at the mid, else the tape) and its parts."""
    notes = []
    final_bal = float(final_balance_usd)
    start_bal = float(starting_balance_usd)
    if math.isfinite(final_bal):
        net = final_bal + tp.unrealized_before_fees - start_bal
        source = "engine balance + final position marked at final mid vs average entry"
    else:
        net = tp.net
        source = "fills tape + funding (engine balance missing)"
        notes.append("final_balance_usd is not finite: net PnL rebuilt from the fills tape and funding")
    figures = {
        "net_pnl_usd": net,
        "net_pnl_source": source,
        "return_pct": net / start_bal * 100.0 if start_bal else math.nan,
        "realized_pnl_before_fees_usd": tp.realized_before_fees,
        "realized_pnl_after_fees_usd": tp.realized_before_fees - tp.fees,
        "unrealized_pnl_before_fees_usd": tp.unrealized_before_fees,
        "fees_usd": tp.fees,
        "funding_usd": tp.funding,
        "starting_balance_usd": start_bal,
        "final_balance_usd": final_bal,
        "final_equity_usd": start_bal + net,
        "final_position_base": tp.final_position,
        "final_position_usd": tp.final_position * final_mid,
        "avg_entry_price": tp.avg_entry,
        "final_mid": final_mid,
    }
    return figures, notes


def liquidation_figures(
    net_pnl_usd: float,
    position_base: float,
    final_mid: float,
    taker_fee_rate: float | None,
    best_bid: float,
    best_ask: float,
    final_market_spread: float,
) -> tuple[dict, list[str]]:
    """Net PnL if the final position were closed at the end as a taker: at the touch (best bid for a
    long, best ask for a short) plus the taker fee, next to ``net_pnl_usd`` (marked at the mid).

    Without a known touch (candle mode) the touch is the mid -/+ half ``final_market_spread`` when
    that is known, else the mid itself (no spread cost: said in ``liquidation_basis``).
    """
    pos = float(position_base)
    size = abs(pos)
    if size == 0.0:
        return {
            "final_position_open": False,
            "final_market_spread": final_market_spread,
            "liquidation_price": math.nan,
            "liquidation_spread_cost_usd": 0.0,
            "liquidation_taker_fee_usd": 0.0,
            "net_pnl_liquidation_adjusted_usd": net_pnl_usd,
            "liquidation_basis": "flat at the end: nothing to close",
        }, []
    touch = best_bid if pos > 0 else best_ask
    side_name = "best bid" if pos > 0 else "best ask"
    if math.isfinite(touch):
        price_text = f"{side_name} {touch:g} of the final book"
    elif math.isfinite(final_market_spread):
        touch = final_mid - math.copysign(final_market_spread / 2.0, pos)
        price_text = f"final mid -/+ half the final market spread {final_market_spread:g} (touch unknown)"
    else:
        touch = final_mid
        price_text = "final mid (touch and spread unknown: no spread cost included)"
    spread_cost = size * abs(final_mid - touch)
    if taker_fee_rate is None:
        fee = math.nan
        fee_text = "taker fee unknown (the artifacts carry no taker fee)"
    else:
        fee = taker_fee_rate * size * touch
        fee_text = f"taker fee {taker_fee_rate * 1e4:g} bps on {size * touch:,.2f} USD"
    adjusted = net_pnl_usd - spread_cost - fee
    basis = f"close {pos:g} base at the {price_text} + {fee_text}"
    figures = {
        "final_position_open": True,
        "final_market_spread": final_market_spread,
        "liquidation_price": touch,
        "liquidation_spread_cost_usd": spread_cost,
        "liquidation_taker_fee_usd": fee,
        "net_pnl_liquidation_adjusted_usd": adjusted,
        "liquidation_basis": basis,
    }
    note = (
        f"the run ends with an OPEN position of {pos:g} base ({pos * final_mid:,.2f} USD at the final mid): "
        f"net_pnl_usd marks it at the mid with no exit cost; net_pnl_liquidation_adjusted_usd = {adjusted:,.4f} USD "
        f"({basis})"
    )
    return figures, [note]


# -------------------------------------------------------------------------------------- Sharpe, drawdown


def sharpe_figures(ts: np.ndarray, equity: np.ndarray, start_ns: int, end_ns: int, start_equity: float) -> dict:
    """Daily Sharpe (NaN below 2 complete days) and the hourly one, with notes saying what they rest on."""
    sharpe, n_days, _, d_note = periodic_sharpe(ts, equity, start_ns, end_ns, start_equity, DAY_NS, 365.0)
    sharpe_h, _, _, h_note = periodic_sharpe(ts, equity, start_ns, end_ns, start_equity, HOUR_NS, 24 * 365.0)
    if end_ns - start_ns < DAY_NS and math.isfinite(sharpe_h):
        sharpe_h = math.nan
        h_note += " -> not reported: an annualised figure from a run shorter than a day would be an extrapolation"
    return {
        "sharpe": sharpe,
        "sharpe_days": n_days,
        "sharpe_note": (
            f"daily MTM equity changes, annualised sqrt(365); {d_note}"
            + ("" if math.isfinite(sharpe) else " -> not reported (fewer than 2 complete days)" if n_days < 2 else "")
        ),
        "sharpe_intraday_hourly": sharpe_h,
        "sharpe_intraday_hourly_note": (
            f"hourly MTM equity changes, annualised sqrt(24*365); {h_note}; noisy and inflated by intraday "
            "autocorrelation of inventory marks: not comparable to a daily Sharpe"
        ),
    }


def drawdown_figures(equity: np.ndarray, start_equity: float) -> tuple[dict, list[str]]:
    """Largest fall of the equity samples from their running peak (the start counts as the first point)."""
    if len(equity) == 0:
        return (
            {"max_drawdown_usd": math.nan, "max_drawdown_pct": math.nan},
            ["no equity samples: drawdown and Sharpe not available"],
        )
    curve = np.concatenate([[start_equity], equity])
    peak = np.maximum.accumulate(curve)
    dd = peak - curve
    pct = float(np.max(np.where(peak > 0, dd / np.where(peak > 0, peak, 1.0), 0.0)) * 100.0)
    return {"max_drawdown_usd": float(dd.max()), "max_drawdown_pct": pct}, []


# ------------------------------------------------------------------------------------ fills and volume


def fill_count_figures(fa: FillArrays, liquidity: pd.Series, order_id: np.ndarray | None = None) -> tuple[dict, list[str]]:
    """Counts of venue-like fills (``venue_fills``: one per order per matching instant, see
    ``count_venue_fills``) and of the engine's ``OrderFilled`` events (by liquidity and side)."""
    n = int(len(fa.ts))
    makers = int(fa.maker.sum())
    takers = int((liquidity.astype(str).str.upper() == "TAKER").sum()) if n else 0
    notes = []
    if n - makers - takers:
        notes.append(f"{n - makers - takers} fill(s) with liquidity neither MAKER nor TAKER")
    figures = {
        "order_filled_events": n,
        "venue_fills": count_venue_fills(fa.ts, fa.side, fa.price, order_id),
        "venue_fills_key": "order id and time" if order_id is not None else "side, price and time (no order ids in the tape)",
        "maker_order_filled_events": makers,
        "taker_order_filled_events": takers,
        "maker_share_of_order_filled_events": float(fa.maker.mean()) if n else math.nan,
        "buy_order_filled_events": int((fa.side > 0).sum()),
        "sell_order_filled_events": int((fa.side < 0).sum()),
    }
    return figures, notes


def volume_figures(fa: FillArrays, n_venue_fills: int, starting_balance_usd: float, duration_h: float) -> tuple[dict, list[str]]:
    """Traded volume over the whole run, its shares and sizes, and rates per hour / day when the run was that long."""
    n = int(len(fa.ts))
    notional = fa.qty * fa.price
    volume = float(notional.sum())
    fees = float(np.sum(fa.fee))
    figures = {
        "volume_usd": volume,
        "maker_volume_share": float(notional[fa.maker].sum() / volume) if volume > 0 else math.nan,
        "avg_order_filled_event_usd": volume / n if n else math.nan,
        "avg_venue_fill_usd": volume / n_venue_fills if n_venue_fills else math.nan,
        "fees_bps_of_volume": fees / volume * 1e4 if volume > 0 else math.nan,
        "turnover_x": volume / starting_balance_usd if starting_balance_usd else math.nan,
        "volume_per_day_usd": per_period_rate(volume, duration_h, 24.0),
        "order_filled_events_per_hour": per_period_rate(n, duration_h, 1.0),
    }
    unreported = [name for name, period_h in (("volume_per_day_usd", 24.0), ("order_filled_events_per_hour", 1.0))
                  if 0 < duration_h < period_h]
    notes = []
    if unreported:
        notes.append(
            f"the run lasted {duration_h:.6g} h: {' and '.join(unreported)} not reported (a rate is given only "
            "for a run at least that long, never extrapolated); volume_usd and the counts cover the whole run",
        )
    return figures, notes


def breakeven_fee_figures(fa: FillArrays, net_pnl_usd: float, maker_fee_frac: float) -> dict:
    """The maker fee at which net PnL would have been zero (module docstring), with its inputs."""
    notional = fa.qty * fa.price
    maker_volume = float(notional[fa.maker].sum())
    if math.isfinite(maker_fee_frac):
        fee_bps, source = float(maker_fee_frac) * 1e4, "simulated venue"
    elif maker_volume > 0:
        fee_bps, source = float(fa.fee[fa.maker].sum()) / maker_volume * 1e4, "fills tape (maker fees / maker volume)"
    else:
        fee_bps, source = math.nan, "unknown"
    breakeven = fee_bps + net_pnl_usd / maker_volume * 1e4 if maker_volume > 0 else math.nan
    return {
        "maker_volume_usd": maker_volume,
        "maker_fee_bps": fee_bps,
        "maker_fee_source": source,
        "breakeven_maker_fee_bps": breakeven,
    }


def captured_spread_bps(fa: FillArrays) -> float:
    """Qty-weighted edge of the fill price against the mid at the fill, in bps of that mid."""
    ok = np.isfinite(fa.mid_fill) & (fa.mid_fill > 0)
    edge = fa.side * (fa.mid_fill - fa.price) / np.where(ok, fa.mid_fill, 1.0) * 1e4
    return wmean(edge[ok], fa.qty[ok])


def markout_figures(fills: pd.DataFrame, mids: pd.DataFrame, data_end_ns: int | None) -> dict:
    """Markout and pure mid move at the summary horizons, with the fill events used and excluded."""
    out = {}
    for row in markout_table(fills, mids, SUMMARY_MARKOUT_HORIZONS_S, data_end_ns).itertuples(index=False):
        h = f"{row.horizon_s:g}s"
        out[f"markout_{h}_bps"] = row.markout_bps
        out[f"adverse_{h}_bps"] = row.adverse_bps
        out[f"markout_{h}_order_filled_events_used"] = row.n_used
        out[f"markout_{h}_order_filled_events_excluded"] = row.n_excluded
    return out


# --------------------------------------------------------------------------- quoting, inventory, orders


def quoting_figures(bid: np.ndarray, ask: np.ndarray) -> dict:
    """Share of samples with both sides quoted and with at least one side quoted."""
    n = len(bid)
    has_bid, has_ask = np.isfinite(bid), np.isfinite(ask)
    return {
        "samples": int(n),
        "time_quoted_both_frac": float((has_bid & has_ask).mean()) if n else math.nan,
        "time_quoted_any_frac": float((has_bid | has_ask).mean()) if n else math.nan,
    }


def inventory_figures(s: SampleArrays, end_ns: int, max_position_usd: float | None) -> dict:
    """Inventory size (per sample and time-weighted) and the time spent near the configured maximum."""
    pos_usd = s.position * s.mid
    w = time_weights(s.ts, end_ns)
    fin = np.isfinite(pos_usd)
    any_fin = bool(fin.any())
    near = math.nan
    if max_position_usd and any_fin:
        near = wmean((np.abs(pos_usd[fin]) > NEAR_MAX_POSITION_FRAC * max_position_usd).astype(float), w[fin])
    return {
        "inventory_mean_abs_usd": float(np.mean(np.abs(pos_usd[fin]))) if any_fin else math.nan,
        "inventory_max_abs_usd": float(np.max(np.abs(pos_usd[fin]))) if any_fin else math.nan,
        "inventory_time_weighted_mean_base": wmean(s.position[fin], w[fin]) if any_fin else math.nan,
        "inventory_time_weighted_mean_usd": wmean(pos_usd[fin], w[fin]) if any_fin else math.nan,
        "max_position_usd_config": max_position_usd,
        "time_near_max_position_frac": near,
    }


def order_figures(art: BacktestArtifacts, n_order_filled_events: int) -> dict:
    """Order commands, fill events per submitted order and engine throughput."""
    wall = art.wall_seconds
    return {
        "orders_submitted": int(art.orders_submitted),
        "orders_modified": int(art.orders_modified),
        "orders_canceled": int(art.orders_canceled),
        "post_only_rejects": int(art.post_only_rejects),
        "order_filled_events_per_order": n_order_filled_events / art.orders_submitted if art.orders_submitted else math.nan,
        "events_processed": int(art.events_processed),
        "wall_seconds": float(wall),
        "events_per_second": art.events_processed / wall if wall and wall > 0 else math.nan,
    }


# -------------------------------------------------------------------------------------- reconciliation


def reconciliation(
    net_pnl_usd: float,
    final_equity_usd: float,
    tp: TapePnL,
    art: BacktestArtifacts,
    last_sample_equity_usd: float,
) -> tuple[dict, list[str]]:
    """Net PnL against the fills tape and against the engine's own figures, with pass/fail checks."""
    eng_r = float(art.engine_realized_pnl_usd)
    eng_u = float(art.engine_unrealized_pnl_usd)
    eng_total = eng_r + eng_u
    eng_fees = float(art.engine_commissions_usd)
    scale = max(1.0, abs(float(art.starting_balance_usd))) * 1e-9 + 0.01
    rec: dict[str, Any] = {
        "net_pnl_usd": net_pnl_usd,
        "tape_net_pnl_usd": tp.net,
        "diff_net_vs_tape_usd": net_pnl_usd - tp.net,
        "engine_realized_pnl_after_fees_usd": eng_r,
        "engine_unrealized_pnl_before_fees_usd": eng_u,
        "engine_total_pnl_after_fees_usd": eng_total,
        "diff_net_vs_engine_usd": net_pnl_usd - eng_total,
        "funding_usd": tp.funding,
        "diff_net_vs_engine_ex_funding_usd": net_pnl_usd - eng_total - tp.funding,
        "engine_commissions_usd": eng_fees,
        "diff_fees_vs_engine_commissions_usd": tp.fees - eng_fees,
        "tape_position_base": tp.tape_position,
        "engine_position_base": tp.final_position,
        "last_sample_equity_usd": last_sample_equity_usd,
        "diff_final_equity_vs_last_sample_usd": final_equity_usd - last_sample_equity_usd,
        "note": RECONCILIATION_NOTE,
    }
    checks = {
        "net_vs_tape": abs(rec["diff_net_vs_tape_usd"]) <= scale,
        "net_vs_engine_ex_funding": abs(rec["diff_net_vs_engine_ex_funding_usd"]) <= scale if math.isfinite(eng_total) else None,
        "fees_vs_engine": abs(rec["diff_fees_vs_engine_commissions_usd"]) <= scale if math.isfinite(eng_fees) else None,
        "position": abs(tp.start_position) == 0.0,
    }
    rec["checks"] = checks
    rec["ok"] = all(v for v in checks.values() if v is not None)
    rec["tolerance_usd"] = scale
    notes = []
    if not rec["ok"]:
        failed = ", ".join(k for k, v in checks.items() if v is False)
        notes.append(f"reconciliation failed ({failed}): see the reconciliation block")
    return rec, notes


# ----------------------------------------------------------------------------------------- summary


def compute_summary(art: BacktestArtifacts) -> dict:
    """All summary figures of a run (module docstring for definitions). JSON-ready via ``write_json``."""
    art.validate()
    fa = fill_arrays(art.fills)
    mts, mv = mid_arrays(art.mids)
    smp = sample_arrays(art.samples)
    period = run_period(art, mts, smp.ts, fa.ts)
    notes: list[str] = []

    out: dict[str, Any] = run_header(art, period)
    final_mid, n = resolve_final_mid(art.final_mid, mv)
    notes += n
    funding = float(art.funding["payment_usd"].to_numpy(dtype=float).sum()) if len(art.funding) else 0.0
    first_mid = float(mv[0]) if len(mv) else final_mid
    tp, n = tape_pnl(fa, funding, art.final_position_base, first_mid, final_mid)
    notes += n
    pnl, n = pnl_figures(tp, art.final_balance_usd, art.starting_balance_usd, final_mid)
    notes += n
    out.update(pnl)
    taker_fee = float(art.taker_fee_frac) if math.isfinite(art.taker_fee_frac) else None
    liquidation, n = liquidation_figures(
        pnl["net_pnl_usd"], tp.final_position, final_mid, taker_fee,
        float(art.final_best_bid), float(art.final_best_ask), float(art.final_market_spread),
    )
    notes += n
    out.update(liquidation)

    eq_ok = np.isfinite(smp.equity)
    e_ts, e_eq = smp.ts[eq_ok], smp.equity[eq_ok]
    start_bal = pnl["starting_balance_usd"]
    out.update(sharpe_figures(e_ts, e_eq, period.start_ns, period.end_ns, start_bal))
    drawdown, n = drawdown_figures(e_eq, start_bal)
    notes += n
    out.update(drawdown)

    order_ids = art.fills["order_id"].to_numpy(dtype=object) if "order_id" in art.fills.columns else None
    counts, n = fill_count_figures(fa, art.fills["liquidity"], order_ids)
    notes += n
    out.update(counts)
    volume, n = volume_figures(fa, counts["venue_fills"], start_bal, period.duration_h)
    notes += n
    out.update(volume)
    out.update(breakeven_fee_figures(fa, pnl["net_pnl_usd"], float(art.maker_fee_frac)))
    out["n_funding_payments"] = int(len(art.funding))
    out["avg_captured_spread_bps"] = captured_spread_bps(fa)
    out.update(markout_figures(art.fills, art.mids, period.data_end_ns))
    if art.mode == "candles":
        notes.append("candle mode: mids are bar closes, so markouts shorter than the bar interval are not meaningful")

    out.update(quoting_figures(smp.bid, smp.ask))
    out.update(inventory_figures(smp, period.end_ns, _number_or_none(find_config_value(art.config, "max_position_usd"))))
    out.update(order_figures(art, counts["order_filled_events"]))

    last_eq = float(e_eq[-1]) if len(e_eq) else math.nan
    out["reconciliation"], n = reconciliation(pnl["net_pnl_usd"], pnl["final_equity_usd"], tp, art, last_eq)
    notes += n
    out["notes"] = notes
    if art.estimators is not None and "estimators" not in out:
        out["estimators"] = art.estimators
    out["config"] = art.config
    out["warnings"] = report_warnings(out, art)
    return out
