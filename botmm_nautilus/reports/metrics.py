"""Summary figures of one backtest run, from ``BacktestArtifacts`` (pure numpy/pandas, vectorised).

Definitions (all USD unless the name says otherwise):

- ``net_pnl_usd``: change in mark-to-market equity,
  ``final_balance_usd + final_position_base * (final_mid - avg_entry) - starting_balance_usd``.
  The balance already holds realised PnL, fees and funding; ``avg_entry`` is the average-cost entry
  price of the open position rebuilt from the fills tape. Without a finite final balance the figure
  falls back to the fills tape (``reconciliation.tape_net_pnl_usd``).
- ``realized_pnl_usd``: average-cost realised trading PnL from the fills, before fees and funding;
  ``unrealized_pnl_usd``: the final position marked at ``final_mid`` against ``avg_entry``;
  ``fees_usd``: sum of fees (positive = cost); ``funding_usd``: sum of payments (positive = received).
  From the fills tape: ``net = realized + unrealized - fees + funding``.
- ``sharpe``: mean / std (ddof=1) of daily mark-to-market equity changes times sqrt(365). Days are
  complete 24 h windows from the run start (a trailing partial window is dropped); equity at a
  window end is the last sample at or before it, and the run starts at ``starting_balance_usd``.
  NaN, with ``sharpe_note``, below 2 complete days. Changes are in USD (not returns), so the ratio
  does not depend on the starting balance. ``sharpe_intraday_hourly``: the same on 1 h
  windows times sqrt(24 * 365); noisy (inventory marks are autocorrelated), not a substitute.
- markouts at h seconds (bps, qty-weighted over fills): ``markout_{h}s_bps`` = mean of
  ``side * (mid(t+h) - price) / price * 1e4`` (our edge h seconds later, spread included) and
  ``adverse_{h}s_bps`` = mean of ``side * (mid(t+h) - mid_at_fill) / mid_at_fill * 1e4`` (the pure
  mid move; negative = adverse). ``mid(t+h)`` is the previous-tick mid at t+h; fills whose horizon
  runs past the data end are excluded and counted in ``markout_{h}s_excluded``.
- ``max_drawdown_usd`` / ``max_drawdown_pct``: largest fall of the sampled equity from its running
  peak (the starting balance counts as the first point), in USD and in percent of that peak.
- ``avg_captured_spread_bps``: qty-weighted mean of ``side * (mid_at_fill - price) / mid_at_fill * 1e4``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from botmm_nautilus.reports.artifacts import BacktestArtifacts

NS = 1_000_000_000
HOUR_NS = 3600 * NS
DAY_NS = 86_400 * NS
SUMMARY_MARKOUT_HORIZONS_S = (1.0, 10.0, 60.0)
CURVE_MARKOUT_HORIZONS_S = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
NEAR_MAX_POSITION_FRAC = 0.8


# ----------------------------------------------------------------------------------- array helpers


def fill_arrays(fills: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """(ts_ns, side, price, qty, fee_usd, is_maker, mid_at_fill) as numpy arrays, sorted by time (stable)."""
    if len(fills) == 0:
        e = np.empty(0)
        return np.empty(0, dtype=np.int64), e, e, e, e, np.empty(0, dtype=bool), e
    ts = fills["ts_ns"].to_numpy(dtype=np.int64)
    order = np.argsort(ts, kind="stable") if not (np.diff(ts) >= 0).all() else slice(None)
    side = fills["side"].to_numpy(dtype=np.float64)[order]
    price = fills["price"].to_numpy(dtype=np.float64)[order]
    qty = fills["qty"].to_numpy(dtype=np.float64)[order]
    fee = fills["fee_usd"].to_numpy(dtype=np.float64)[order]
    maker = (fills["liquidity"].astype(str).str.upper() == "MAKER").to_numpy(dtype=bool)[order]
    mid_fill = fills["mid_at_fill"].to_numpy(dtype=np.float64)[order]
    return ts[order], side, price, qty, fee, maker, mid_fill


def mid_arrays(mids: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(ts_ns, mid) sorted by time, non-finite mids dropped."""
    if len(mids) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    ts = mids["ts_ns"].to_numpy(dtype=np.int64)
    mv = mids["mid"].to_numpy(dtype=np.float64)
    ok = np.isfinite(mv)
    if not ok.all():
        ts, mv = ts[ok], mv[ok]
    if len(ts) > 1 and not (np.diff(ts) >= 0).all():
        order = np.argsort(ts, kind="stable")
        ts, mv = ts[order], mv[order]
    return ts, mv


def mid_at(mts: np.ndarray, mv: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Previous-tick mid at each time in ``t`` (the last mid with ts <= t); NaN before the first mid."""
    t = np.asarray(t, dtype=np.int64)
    if len(mts) == 0:
        return np.full(t.shape, np.nan)
    idx = np.searchsorted(mts, t, side="right") - 1
    out = mv[np.clip(idx, 0, None)]
    return np.where(idx >= 0, out, np.nan)


def _wmean(x: np.ndarray, w: np.ndarray) -> float:
    sw = float(np.sum(w))
    return float(np.sum(x * w) / sw) if sw > 0 else math.nan


def markout_table(
    fills: pd.DataFrame,
    mids: pd.DataFrame,
    horizons_s=CURVE_MARKOUT_HORIZONS_S,
    data_end_ns: int | None = None,
) -> pd.DataFrame:
    """Qty-weighted markouts per horizon: horizon_s, markout_bps, adverse_bps, buy/sell variants, n_used, n_excluded.

    ``markout_bps`` = side*(mid(t+h) - price)/price*1e4; ``adverse_bps`` = side*(mid(t+h) - mid_at_fill)/mid_at_fill*1e4.
    A fill is excluded at horizon h when t+h is past ``data_end_ns`` (default: the last mid) or no mid exists at t+h.
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
                "markout_bps": _wmean(mark[use], qty[use]),
                "adverse_bps": _wmean(adv[adv_ok], qty[adv_ok]),
                "markout_buy_bps": _wmean(mark[use & buy], qty[use & buy]),
                "markout_sell_bps": _wmean(mark[use & ~buy], qty[use & ~buy]),
                "n_used": int(use.sum()),
                "n_excluded": int(past.sum()),
                "n_no_mid": int((~past & ~np.isfinite(mh)).sum()),
            },
        )
    return pd.DataFrame(rows)


def average_cost(
    side: np.ndarray,
    qty: np.ndarray,
    price: np.ndarray,
    initial_position: float = 0.0,
    initial_price: float = math.nan,
) -> tuple[float, float, float]:
    """Average-cost book-keeping over fills in time order: (realised PnL, final position, average entry).

    Realised PnL is before fees. A fill that flips the position closes the old one at its price and
    opens the remainder at the same price. The entry is NaN when flat. Sequential by nature (a
    position that flips resets its entry), so a plain loop: ~50 ms per 1e5 fills.
    """
    pos = float(initial_position)
    avg = float(initial_price) if pos != 0.0 else math.nan
    realized = 0.0
    for s, q, p in zip(side.tolist(), qty.tolist(), price.tolist()):
        d = s * q
        if pos == 0.0:
            pos, avg = d, p
            continue
        if (pos > 0.0) == (d > 0.0):
            new = pos + d
            avg = (avg * abs(pos) + p * q) / abs(new)
            pos = new
            continue
        closed = min(q, abs(pos))
        realized += closed * (p - avg) * (1.0 if pos > 0 else -1.0)
        new = pos + d
        tol = 1e-12 * max(1.0, abs(pos), q)
        if abs(new) <= tol:
            pos, avg = 0.0, math.nan
        elif (new > 0.0) != (pos > 0.0):
            pos, avg = new, p
        else:
            pos = new
    return realized, pos, (avg if pos != 0.0 else math.nan)


def periodic_sharpe(
    ts_ns: np.ndarray,
    equity: np.ndarray,
    start_ns: int,
    end_ns: int,
    start_equity: float,
    period_ns: int,
    periods_per_year: float,
    min_periods: int = 2,
) -> tuple[float, int, np.ndarray, str]:
    """Annualised Sharpe of equity changes over complete windows of ``period_ns`` from ``start_ns``.

    Equity at a window end is the last sample at or before it (``start_equity`` at ``start_ns``).
    Returns (sharpe, number of windows, the per-window changes, note). NaN below ``min_periods``.
    """
    n = int((end_ns - start_ns) // period_ns) if end_ns > start_ns else 0
    if n < min_periods:
        return math.nan, n, np.empty(0), f"{n} complete window(s) of {period_ns / HOUR_NS:g} h; need at least {min_periods}"
    bounds = start_ns + period_ns * np.arange(1, n + 1, dtype=np.int64)
    idx = np.searchsorted(ts_ns, bounds, side="right") - 1
    eq_end = np.where(idx >= 0, equity[np.clip(idx, 0, None)] if len(equity) else start_equity, start_equity)
    levels = np.concatenate([[start_equity], eq_end])
    changes = np.diff(levels)
    sd = float(np.std(changes, ddof=1))
    if not sd > 0:
        return math.nan, n, changes, f"{n} windows but the equity changes have zero spread"
    return float(np.mean(changes) / sd * math.sqrt(periods_per_year)), n, changes, f"{n} complete windows"


def _time_weights(ts: np.ndarray, end_ns: int | None) -> np.ndarray:
    if len(ts) == 0:
        return np.empty(0)
    if len(ts) == 1:
        return np.ones(1)
    dt = np.diff(ts).astype(np.float64)
    typical = float(np.median(dt)) if len(dt) else 1.0
    last = float(end_ns - ts[-1]) if end_ns is not None and end_ns > ts[-1] else typical
    return np.concatenate([dt, [min(last, typical)]])


def _find_key(d: Any, key: str) -> Any:
    """First value of ``key`` anywhere in a nested dict (config sections), else None."""
    if isinstance(d, dict):
        if key in d:
            return d[key]
        for v in d.values():
            found = _find_key(v, key)
            if found is not None:
                return found
    return None


def _iso(ns: int | None) -> str | None:
    if ns is None:
        return None
    try:
        text = pd.Timestamp(int(ns), unit="ns", tz="UTC").isoformat(timespec="milliseconds")
    except (ValueError, OverflowError):
        return None
    return text.replace("+00:00", "Z").replace(".000Z", "Z")


# ----------------------------------------------------------------------------------------- summary


def compute_summary(art: BacktestArtifacts) -> dict:
    """All summary figures of a run (module docstring for definitions). JSON-ready via ``write_json``."""
    art.validate()
    ts, side, price, qty, fee, maker, mid_fill = fill_arrays(art.fills)
    mts, mv = mid_arrays(art.mids)
    samples = art.samples.sort_values("ts_ns", kind="stable") if len(art.samples) else art.samples
    s_ts = samples["ts_ns"].to_numpy(dtype=np.int64)
    s_eq = samples["equity_usd"].to_numpy(dtype=np.float64)
    s_pos = samples["position_base"].to_numpy(dtype=np.float64)
    s_mid = samples["mid"].to_numpy(dtype=np.float64)
    s_bid = samples["bid_quote"].to_numpy(dtype=np.float64)
    s_ask = samples["ask_quote"].to_numpy(dtype=np.float64)
    notes: list[str] = []
    honesty: list[str] = []

    stamps = [x for x in (mts, s_ts, ts) if len(x)]
    start_ns = int(art.start_ns) if art.start_ns else (min(int(x[0]) for x in stamps) if stamps else 0)
    end_ns = int(art.end_ns) if art.end_ns else (max(int(x[-1]) for x in stamps) if stamps else 0)
    duration_h = (end_ns - start_ns) / HOUR_NS if end_ns > start_ns else 0.0
    # end of the market data for markouts: the last mid, or the run end if later (the mid holds until then)
    data_end_ns = max(int(mts[-1]), end_ns) if len(mts) else None

    final_mid = float(art.final_mid)
    if not math.isfinite(final_mid) and len(mv):
        final_mid = float(mv[-1])
        notes.append("final_mid was not finite: used the last recorded mid")
    start_bal = float(art.starting_balance_usd)

    if not art.data_description:
        honesty.append("data_description is empty: these figures do not name their data")
    if art.sample_label == "n/a":
        honesty.append("sample_label is 'n/a': not stated whether the period was in or out of sample")

    out: dict[str, Any] = {
        "label": (
            f"{art.instrument} {art.mode} mode | {art.data_description or 'UNNAMED DATA'} | "
            f"{_iso(start_ns)} .. {_iso(end_ns)} | {art.sample_label}"
        ),
        "instrument": art.instrument,
        "coin": art.coin,
        "mode": art.mode,
        "data_description": art.data_description,
        "sample_label": art.sample_label,
        "start": _iso(start_ns),
        "end": _iso(end_ns),
        "start_ns": start_ns,
        "end_ns": end_ns,
        "duration_hours": duration_h,
    }

    # ---- PnL
    tape_pos = float(np.sum(side * qty))
    final_pos = float(art.final_position_base) if math.isfinite(art.final_position_base) else tape_pos
    tol_pos = 1e-8 + 1e-9 * float(np.sum(qty))
    q0 = final_pos - tape_pos
    m0 = float(mv[0]) if len(mv) else final_mid
    if abs(q0) <= tol_pos:
        q0 = 0.0
    else:
        notes.append(
            f"the fills tape ends at position {tape_pos:g} but the engine reports {final_pos:g}: "
            f"{q0:+g} base unexplained (fills missing from the tape, or the run did not start flat); "
            f"treated as a starting position valued at the first mid {m0:g}",
        )
    realized, _pos, avg_entry = average_cost(side, qty, price, q0, m0)
    unrealized = final_pos * (final_mid - avg_entry) if final_pos != 0.0 and math.isfinite(avg_entry) else 0.0
    fees = float(np.sum(fee))
    funding = float(art.funding["payment_usd"].to_numpy(dtype=float).sum()) if len(art.funding) else 0.0
    tape_net = realized + unrealized - fees + funding
    final_bal = float(art.final_balance_usd)
    if math.isfinite(final_bal):
        net = final_bal + unrealized - start_bal
        net_source = "engine balance + final position marked at final mid vs average entry"
    else:
        net = tape_net
        net_source = "fills tape + funding (engine balance missing)"
        notes.append("final_balance_usd is not finite: net PnL rebuilt from the fills tape and funding")
    final_equity = start_bal + net
    out.update(
        {
            "net_pnl_usd": net,
            "net_pnl_source": net_source,
            "return_pct": net / start_bal * 100.0 if start_bal else math.nan,
            "realized_pnl_usd": realized,
            "unrealized_pnl_usd": unrealized,
            "fees_usd": fees,
            "funding_usd": funding,
            "starting_balance_usd": start_bal,
            "final_balance_usd": final_bal,
            "final_equity_usd": final_equity,
            "final_position_base": final_pos,
            "final_position_usd": final_pos * final_mid,
            "avg_entry_price": avg_entry,
            "final_mid": final_mid,
        },
    )

    # ---- risk: Sharpe and drawdown from the sampled MTM equity
    eq_ok = np.isfinite(s_eq)
    e_ts, e_eq = s_ts[eq_ok], s_eq[eq_ok]
    sharpe, n_days, _, d_note = periodic_sharpe(e_ts, e_eq, start_ns, end_ns, start_bal, DAY_NS, 365.0)
    sharpe_h, n_hours, _, h_note = periodic_sharpe(e_ts, e_eq, start_ns, end_ns, start_bal, HOUR_NS, 24 * 365.0)
    out["sharpe"] = sharpe
    out["sharpe_days"] = n_days
    out["sharpe_note"] = (
        f"daily MTM equity changes, annualised sqrt(365); {d_note}"
        + ("" if math.isfinite(sharpe) else " -> not reported (fewer than 2 complete days)" if n_days < 2 else "")
    )
    out["sharpe_intraday_hourly"] = sharpe_h
    out["sharpe_intraday_hourly_note"] = (
        f"hourly MTM equity changes, annualised sqrt(24*365); {h_note}; noisy and inflated by intraday "
        "autocorrelation of inventory marks: not comparable to a daily Sharpe"
    )
    if len(e_eq):
        curve = np.concatenate([[start_bal], e_eq])
        peak = np.maximum.accumulate(curve)
        dd = peak - curve
        out["max_drawdown_usd"] = float(dd.max())
        out["max_drawdown_pct"] = float(np.max(np.where(peak > 0, dd / np.where(peak > 0, peak, 1.0), 0.0)) * 100.0)
    else:
        out["max_drawdown_usd"] = math.nan
        out["max_drawdown_pct"] = math.nan
        notes.append("no equity samples: drawdown and Sharpe not available")

    # ---- trading
    n_fills = int(len(ts))
    taker_n = int((art.fills["liquidity"].astype(str).str.upper() == "TAKER").sum()) if n_fills else 0
    if n_fills - int(maker.sum()) - taker_n:
        notes.append(f"{n_fills - int(maker.sum()) - taker_n} fill(s) with liquidity neither MAKER nor TAKER")
    notional = qty * price
    volume = float(notional.sum())
    out.update(
        {
            "fills": n_fills,
            "maker_fills": int(maker.sum()),
            "taker_fills": taker_n,
            "maker_share": float(maker.mean()) if n_fills else math.nan,
            "maker_volume_share": float(notional[maker].sum() / volume) if volume > 0 else math.nan,
            "buy_fills": int((side > 0).sum()),
            "sell_fills": int((side < 0).sum()),
            "volume_usd": volume,
            "avg_fill_usd": volume / n_fills if n_fills else math.nan,
            "fees_bps_of_volume": fees / volume * 1e4 if volume > 0 else math.nan,
            "turnover_x": volume / start_bal if start_bal else math.nan,
            "volume_per_day_usd": volume / (duration_h / 24.0) if duration_h > 0 else math.nan,
            "fills_per_hour": n_fills / duration_h if duration_h > 0 else math.nan,
            "n_funding_payments": int(len(art.funding)),
        },
    )
    ok = np.isfinite(mid_fill) & (mid_fill > 0)
    out["avg_captured_spread_bps"] = _wmean((side * (mid_fill - price) / np.where(ok, mid_fill, 1.0) * 1e4)[ok], qty[ok])

    # ---- markouts
    mk = markout_table(art.fills, art.mids, SUMMARY_MARKOUT_HORIZONS_S, data_end_ns)
    for row in mk.itertuples(index=False):
        h = f"{row.horizon_s:g}s"
        out[f"markout_{h}_bps"] = row.markout_bps
        out[f"adverse_{h}_bps"] = row.adverse_bps
        out[f"markout_{h}_fills_used"] = row.n_used
        out[f"markout_{h}_excluded"] = row.n_excluded
    if art.mode == "candles":
        notes.append("candle mode: mids are bar closes, so markouts shorter than the bar interval are not meaningful")

    # ---- quoting and inventory (samples)
    n_s = len(s_ts)
    has_bid = np.isfinite(s_bid)
    has_ask = np.isfinite(s_ask)
    out["samples"] = int(n_s)
    out["time_quoted_both_frac"] = float((has_bid & has_ask).mean()) if n_s else math.nan
    out["time_quoted_any_frac"] = float((has_bid | has_ask).mean()) if n_s else math.nan
    pos_usd = s_pos * s_mid
    w = _time_weights(s_ts, end_ns)
    fin = np.isfinite(pos_usd)
    max_pos_cfg = _find_key(art.config, "max_position_usd")
    out["inventory_mean_abs_usd"] = float(np.mean(np.abs(pos_usd[fin]))) if fin.any() else math.nan
    out["inventory_max_abs_usd"] = float(np.max(np.abs(pos_usd[fin]))) if fin.any() else math.nan
    out["inventory_time_weighted_mean_base"] = _wmean(s_pos[fin], w[fin]) if fin.any() else math.nan
    out["inventory_time_weighted_mean_usd"] = _wmean(pos_usd[fin], w[fin]) if fin.any() else math.nan
    out["max_position_usd_config"] = float(max_pos_cfg) if isinstance(max_pos_cfg, (int, float)) else None
    if out["max_position_usd_config"] and fin.any():
        near = np.abs(pos_usd[fin]) > NEAR_MAX_POSITION_FRAC * out["max_position_usd_config"]
        out["time_near_max_position_frac"] = _wmean(near.astype(float), w[fin])
    else:
        out["time_near_max_position_frac"] = math.nan

    # ---- orders and engine
    out.update(
        {
            "orders_submitted": int(art.orders_submitted),
            "orders_modified": int(art.orders_modified),
            "orders_canceled": int(art.orders_canceled),
            "post_only_rejects": int(art.post_only_rejects),
            "fills_per_order": n_fills / art.orders_submitted if art.orders_submitted else math.nan,
            "events_processed": int(art.events_processed),
            "wall_seconds": float(art.wall_seconds),
            "events_per_second": art.events_processed / art.wall_seconds if art.wall_seconds and art.wall_seconds > 0 else math.nan,
        },
    )

    # ---- reconciliation with the engine's own figures
    eng_r = float(art.engine_realized_pnl_usd)
    eng_u = float(art.engine_unrealized_pnl_usd)
    eng_total = eng_r + eng_u
    scale = max(1.0, abs(start_bal)) * 1e-9 + 0.01
    last_eq = float(e_eq[-1]) if len(e_eq) else math.nan
    rec = {
        "net_pnl_usd": net,
        "tape_net_pnl_usd": tape_net,
        "diff_net_vs_tape_usd": net - tape_net,
        "engine_realized_pnl_usd": eng_r,
        "engine_unrealized_pnl_usd": eng_u,
        "engine_total_pnl_usd": eng_total,
        "diff_net_vs_engine_usd": net - eng_total,
        "funding_usd": funding,
        "diff_net_vs_engine_ex_funding_usd": net - eng_total - funding,
        "engine_commissions_usd": float(art.engine_commissions_usd),
        "diff_fees_vs_engine_commissions_usd": fees - float(art.engine_commissions_usd),
        "tape_position_base": tape_pos,
        "engine_position_base": final_pos,
        "last_sample_equity_usd": last_eq,
        "diff_final_equity_vs_last_sample_usd": final_equity - last_eq,
        "note": (
            "Nautilus position realised PnL includes commissions but not funding (the funding module books "
            "it to the account balance), so diff_net_vs_engine_usd is expected to equal funding_usd; "
            "diff_net_vs_engine_ex_funding_usd is the unexplained remainder. The last sample can lag the "
            "end of the run by up to one sample interval."
        ),
    }
    checks = {
        "net_vs_tape": abs(rec["diff_net_vs_tape_usd"]) <= scale,
        "net_vs_engine_ex_funding": (
            abs(rec["diff_net_vs_engine_ex_funding_usd"]) <= scale if math.isfinite(eng_total) else None
        ),
        "fees_vs_engine": (
            abs(rec["diff_fees_vs_engine_commissions_usd"]) <= scale if math.isfinite(art.engine_commissions_usd) else None
        ),
        "position": abs(q0) == 0.0,
    }
    rec["checks"] = checks
    rec["ok"] = all(v for v in checks.values() if v is not None)
    rec["tolerance_usd"] = scale
    if not rec["ok"]:
        failed = ", ".join(k for k, v in checks.items() if v is False)
        notes.append(f"reconciliation failed ({failed}): see the reconciliation block")
    out["reconciliation"] = rec
    out["notes"] = notes
    out["honesty_warnings"] = honesty
    out["config"] = art.config
    return out


# ------------------------------------------------------------------------------------ presentation

_SKIP_IN_TABLE = {"config", "start_ns", "end_ns", "label", "attribution"}
_TABLE_SECTIONS: list[tuple[str, tuple[str, ...]]] = [
    ("run", ("instrument", "mode", "data_description", "sample_label", "start", "end", "duration_hours")),
    (
        "pnl",
        (
            "net_pnl_usd", "return_pct", "realized_pnl_usd", "unrealized_pnl_usd", "fees_usd", "funding_usd",
            "starting_balance_usd", "final_balance_usd", "final_equity_usd", "final_position_base",
            "final_position_usd", "avg_entry_price", "final_mid", "net_pnl_source",
        ),
    ),
    (
        "risk",
        ("sharpe", "sharpe_days", "sharpe_note", "sharpe_intraday_hourly", "max_drawdown_usd", "max_drawdown_pct"),
    ),
    (
        "trading",
        (
            "fills", "maker_fills", "taker_fills", "maker_share", "maker_volume_share", "buy_fills", "sell_fills",
            "volume_usd", "avg_fill_usd", "turnover_x", "volume_per_day_usd", "fills_per_hour",
            "fees_bps_of_volume", "n_funding_payments",
        ),
    ),
    (
        "edge (bps, qty-weighted)",
        (
            "avg_captured_spread_bps",
            "markout_1s_bps", "markout_10s_bps", "markout_60s_bps",
            "adverse_1s_bps", "adverse_10s_bps", "adverse_60s_bps",
            "markout_1s_excluded", "markout_10s_excluded", "markout_60s_excluded",
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
            "orders_submitted", "orders_modified", "orders_canceled", "post_only_rejects", "fills_per_order",
            "events_processed", "wall_seconds", "events_per_second",
        ),
    ),
]
# shown in the JSON, not in the terminal table (too long or redundant)
_SKIP_IN_TABLE |= {"sharpe_intraday_hourly_note", "markout_1s_fills_used", "markout_10s_fills_used", "markout_60s_fills_used"}


def format_value(key: str, v: Any) -> str:
    """Human formatting by the unit in the key name (``_usd``, ``_bps``, ``_frac``, ``_pct``, ...)."""
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
        if key.endswith(("_frac", "_share")) or key == "maker_share":
            return f"{v * 100:.1f}%"
        if key.endswith("_pct"):
            return f"{v:.3f}%"
        if key.endswith("_base") or key in ("final_mid", "avg_entry_price"):
            return f"{v:.6g}"
        return f"{v:,.3f}" if abs(v) < 1e6 else f"{v:,.0f}"
    if isinstance(v, (list, tuple)):
        return "; ".join(map(str, v)) if v else "-"
    return str(v)


def format_summary_table(summary: dict) -> str:
    """Aligned two-column text table for the terminal (sections, then reconciliation and attribution)."""
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    label = summary.get("label")
    for title, keys in _TABLE_SECTIONS:
        present = [k for k in keys if k in summary]
        if not present:
            continue
        rows.append((f"[{title}]", ""))
        for k in present:
            rows.append((f"  {k}", format_value(k, summary[k])))
            seen.add(k)
    rest = [k for k in summary if k not in seen and k not in _SKIP_IN_TABLE and not isinstance(summary[k], dict)]
    rest = [k for k in rest if k not in ("notes", "honesty_warnings")]
    if rest:
        rows.append(("[other]", ""))
        rows.extend((f"  {k}", format_value(k, summary[k])) for k in rest)
    attribution = summary.get("attribution")
    if isinstance(attribution, dict) and "components" in attribution:
        rows.append((f"[attribution, H={attribution.get('markout_horizon_s', float('nan')):g}s]", ""))
        for k, v in attribution["components"].items():
            rows.append((f"  {k}", format_value(k, v)))
        rows.append(("  total_usd", format_value("total_usd", attribution.get("total_usd"))))
    rec = summary.get("reconciliation")
    if isinstance(rec, dict):
        rows.append(("[reconciliation]", ""))
        for k, v in rec.items():
            if k in ("note", "checks"):
                continue
            rows.append((f"  {k}", format_value(k, v)))
    for k in ("honesty_warnings", "notes"):
        for i, msg in enumerate(summary.get(k) or []):
            rows.append((f"[{k}]" if i == 0 else "", str(msg)))
    width = max((len(a) for a, _ in rows), default=10) + 2
    lines = []
    if label:
        lines.append(str(label))
        lines.append("-" * min(len(str(label)), 120))
    for a, b in rows:
        lines.append(f"{a:<{width}}{b}".rstrip())
    return "\n".join(lines)


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
