"""PnL attribution of a market-making run: where the money was made and where it was lost.

Components (each a signed contribution to net PnL in USD; negative = a loss or a cost)::

    spread_capture    =  sum_i s_i q_i (m_i   - p_i)      edge against the mid when the fill happened
    adverse_selection =  sum_i s_i q_i (m_i^H - m_i)      how the mid moved against us within H seconds
    inventory_mtm     =  sum_i s_i q_i (M     - m_i^H)    what holding the inventory after H earned
    fees              = -sum_i f_i                        (Hyperliquid base tier: makers pay +1.5 bps)
    funding           =  sum_j P_j                        (positive = received)
    initial_position  =  q_0 (M - m_0)                    only when the run does not start flat

with s_i = +1 buy / -1 sell, q_i > 0 the filled base quantity, p_i the fill price, f_i the fee
(positive = cost), m_i the mid known when the fill happened (the strategy's, recorded with the fill; if
missing, the last mid stamped strictly before the fill: in candle mode a fill is stamped at its bar's
close, and that bar's close was not known while the bar traded), m_i^H the mid at t_i + H (previous-tick
value; the final mid M when t_i + H runs past the end of the data), P_j the funding payments, q_0 the
position held at the start and m_0 the first mid.

Identity (why the components sum exactly to net PnL). Start with cash C_0 and position q_0 valued at
m_0, so the starting mark-to-market equity is E_0 = C_0 + q_0 m_0. Every fill moves cash by
-s_i q_i p_i - f_i, every funding payment by +P_j, and the final position is q_T = q_0 + sum_i s_i q_i.
Marked at the final mid M::

    E_T = C_0 - sum_i s_i q_i p_i - sum_i f_i + sum_j P_j + (q_0 + sum_i s_i q_i) M
    E_T - E_0 = q_0 (M - m_0) + sum_i s_i q_i (M - p_i) - sum_i f_i + sum_j P_j

Starting flat (q_0 = 0) this is the statement cash - sum s q p + position * M = sum s q (M - p).
For every fill, M - p_i = (m_i - p_i) + (m_i^H - m_i) + (M - m_i^H): the three middle terms telescope,
so spread_capture + adverse_selection + inventory_mtm = sum_i s_i q_i (M - p_i) and the five (six)
components add up to E_T - E_0, the change in mark-to-market equity, i.e. net PnL. The split only
moves money between components; the horizon H decides how much of the mid move after a fill is
called "adverse selection" (information we traded against) and how much "inventory" (holding risk).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from botmm_nautilus.reports.tape import fill_arrays
from botmm_nautilus.reports.tape import mid_arrays
from botmm_nautilus.reports.tape import mid_at

COMPONENTS = ("spread_capture_usd", "adverse_selection_usd", "inventory_mtm_usd", "fees_usd", "funding_usd")

IDENTITY = (
    "net PnL = spread_capture + adverse_selection + inventory_mtm + fees + funding (+ initial_position); "
    "spread_capture = sum s*q*(mid_at_fill - price), adverse_selection = sum s*q*(mid(t+H) - mid_at_fill), "
    "inventory_mtm = sum s*q*(final_mid - mid(t+H)), fees = -sum fee_usd, funding = sum payment_usd, "
    "initial_position = q0*(final_mid - first_mid)"
)


def compute_attribution(
    fills: pd.DataFrame,
    mids: pd.DataFrame,
    funding: pd.DataFrame,
    final_mid: float,
    markout_horizon_s: float = 60.0,
    *,
    initial_position_base: float = 0.0,
    initial_mid: float | None = None,
    data_end_ns: int | None = None,
) -> dict:
    """Split net PnL into spread capture, adverse selection, inventory, fees and funding (module docstring).

    ``initial_position_base`` is the position held when the run started (0 for a Nautilus backtest),
    valued at ``initial_mid`` (default: the first mid). ``data_end_ns`` is the end of the market data
    (default: the last mid); fills whose horizon runs past it are marked at ``final_mid`` and counted.
    Returns a JSON-ready dict; ``components`` holds the signed contributions and ``total_usd`` their sum.
    """
    ts, side, price, qty, fee, _maker, mid_fill = fill_arrays(fills)
    mts, mv = mid_arrays(mids)
    final_mid = float(final_mid)
    if not math.isfinite(final_mid):
        if len(mv):
            final_mid = float(mv[-1])
        else:
            raise ValueError("compute_attribution: final_mid is not finite and there are no mids to take it from")
    horizon_ns = int(round(markout_horizon_s * 1e9))
    end_ns = int(data_end_ns) if data_end_ns is not None else (int(mts[-1]) if len(mts) else None)

    # mid at the fill: the recorded one, else the last mid strictly before the fill, else the price itself
    missing_fill_mid = ~np.isfinite(mid_fill)
    if missing_fill_mid.any():
        fallback = mid_at(mts, mv, ts[missing_fill_mid] - 1)
        fallback = np.where(np.isfinite(fallback), fallback, price[missing_fill_mid])
        mid_fill = mid_fill.copy()
        mid_fill[missing_fill_mid] = fallback

    # mid at t + H: previous-tick value; past the data end -> final mid; before any mid -> mid at fill
    t_h = ts + horizon_ns
    past_end = t_h > end_ns if end_ns is not None else np.ones(len(ts), dtype=bool)
    mid_h = mid_at(mts, mv, t_h)
    no_mid = ~np.isfinite(mid_h) & ~past_end
    mid_h = np.where(past_end, final_mid, mid_h)
    mid_h = np.where(no_mid, mid_fill, mid_h)

    sq = side * qty
    spread_capture = float(np.sum(sq * (mid_fill - price)))
    adverse = float(np.sum(sq * (mid_h - mid_fill)))
    inventory = float(np.sum(sq * (final_mid - mid_h)))
    fees = -float(np.sum(fee))
    fund = float(funding["payment_usd"].to_numpy(dtype=float).sum()) if len(funding) else 0.0

    components: dict[str, float] = {
        "spread_capture_usd": spread_capture,
        "adverse_selection_usd": adverse,
        "inventory_mtm_usd": inventory,
        "fees_usd": fees,
        "funding_usd": fund,
    }
    q0 = float(initial_position_base or 0.0)
    if q0 != 0.0:
        m0 = float(initial_mid) if initial_mid is not None else (float(mv[0]) if len(mv) else final_mid)
        components["initial_position_usd"] = q0 * (final_mid - m0)
    total = float(math.fsum(components.values()))
    volume = float(np.sum(qty * price))
    per_volume_bps = {
        k.replace("_usd", "_bps_of_volume"): (v / volume * 1e4 if volume > 0 else math.nan) for k, v in components.items()
    }
    return {
        "components": components,
        "total_usd": total,
        "per_volume_bps": per_volume_bps,
        "volume_usd": volume,
        "markout_horizon_s": float(markout_horizon_s),
        "final_mid": final_mid,
        "n_order_filled_events": int(len(ts)),
        "n_order_filled_events_horizon_past_end": int(past_end.sum()),
        "n_order_filled_events_without_mid": int(no_mid.sum()),
        "n_order_filled_events_mid_at_fill_missing": int(missing_fill_mid.sum()),
        "identity": IDENTITY,
    }


def attribution_sentence(attribution: dict, net_pnl_usd: float | None = None) -> str:
    """A short plain-language account of where money was and was not made (for the HTML report)."""
    c = attribution["components"]
    h = attribution.get("markout_horizon_s", 60.0)
    net = attribution["total_usd"] if net_pnl_usd is None or not math.isfinite(net_pnl_usd) else net_pnl_usd
    if attribution.get("n_order_filled_events", 0) == 0:
        parts = [f"No fills: net PnL {_usd(net)} came from"]
        other = [f"{name} {_usd(c[k])}" for k, name in (("funding_usd", "funding"), ("initial_position_usd", "initial position")) if k in c]
        return " ".join(parts) + (" " + " and ".join(other) if other else " nothing") + "."

    spread = c["spread_capture_usd"]
    adverse = c["adverse_selection_usd"]
    fees = c["fees_usd"]
    inv = c["inventory_mtm_usd"]
    fund = c["funding_usd"]
    bps = attribution.get("per_volume_bps", {})

    def b(key: str) -> str:
        v = bps.get(key.replace("_usd", "_bps_of_volume"), math.nan)
        return f" ({v:+.2f} bps of volume)" if v == v else ""

    costs = [(f"adverse selection {_usd(adverse)}{b('adverse_selection_usd')}", adverse), (f"fees {_usd(fees)}{b('fees_usd')}", fees)]
    eaters = [t for t, v in costs if v < 0]
    eaten = -sum(v for _, v in costs if v < 0)
    first = f"Spread capture {_usd(spread)}{b('spread_capture_usd')}"
    if spread > 0 and eaters:
        if eaten > spread:
            verb = "was more than eaten by"
        elif eaten > 0.9 * spread:
            verb = "was almost entirely eaten by"
        elif eaten > 0.5 * spread:
            verb = "was mostly eaten by"
        else:
            verb = "was only partly eaten by"
        s1 = f"{first} {verb} {' and '.join(eaters)}."
    elif spread > 0:
        s1 = f"{first} was kept in full: fees {_usd(fees)} were a rebate."
    else:
        s1 = f"{first}: the fills earned no edge against the mid, and fees {_usd(fees)} came on top."
    if adverse >= 0:
        s1 += f" Adverse selection was in our favour, {_usd(adverse)}{b('adverse_selection_usd')}: the mid moved our way within {h:g} s of the fills."
    after = spread + adverse + fees
    s2 = (
        f"After {h:g} s markouts and fees the trading edge was {_usd(after)}; "
        f"holding inventory after that horizon {'added' if inv >= 0 else 'cost'} {_usd(abs(inv)).lstrip('+')} "
        f"and funding {'added' if fund >= 0 else 'cost'} {_usd(abs(fund)).lstrip('+')}"
    )
    if "initial_position_usd" in c:
        s2 += f", the position held at the start {_usd(c['initial_position_usd'])}"
    s2 += f", for net PnL {_usd(net)}."
    key, val = max(c.items(), key=lambda kv: abs(kv[1]))
    s3 = f"The largest single term was {_NAMES.get(key, key)} ({_usd(val)})."
    return " ".join((s1, s2, s3))


_NAMES = {
    "spread_capture_usd": "spread capture",
    "adverse_selection_usd": "adverse selection",
    "inventory_mtm_usd": "inventory mark-to-market",
    "fees_usd": "fees",
    "funding_usd": "funding",
    "initial_position_usd": "the starting position",
}


def _usd(v: float) -> str:
    if v is None or not math.isfinite(v):
        return "n/a"
    sign = "+" if v >= 0 else "-"
    return f"{sign}${abs(v):,.2f}"
