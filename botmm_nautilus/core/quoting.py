"""The quote engine: Avellaneda-Stoikov, Guéant (GLFT) closed form, BotMM's classic bps heuristic,
the ladder builder and the fee gate. Pure functions, no Nautilus, no I/O; prices and sizes are
rounded onto the ``PriceGrid`` (core/grid.py) the caller hands in.

Units (hftbacktest convention; every function below states its own):

* prices (``mid``, ``s``, bid, ask, reservation price, half-spread, skew) are in one **price unit**;
  the pure model functions accept any consistent unit (USD, ticks or basis points of the mid);
* ``sigma`` (σ): volatility of the mid in price units per √second (arithmetic, dS = σ dW);
* ``k``: decay of the arrival intensity λ(δ) = A·e^{−kδ}, in 1/price-unit;
* ``A``: arrival intensity at zero depth, per second, **per side**;
* ``time_left`` (T − t): seconds;
* ``q``: inventory in **lots** (multiples of the quoted order size Δ; hftbacktest normalises the
  position by the order quantity the same way); ``order_size`` Δ is in the same lots (1 by default);
* ``gamma`` (γ): risk aversion in 1/(price unit · lot), so that γ·σ²·(T − t) and 1/k are prices.

``compute_ladder`` (what the strategy calls) runs the A-S and GLFT formulas in **basis points of the
current mid** as the price unit: σ_bps = σ/(mid·1e-4), k_bps = k·mid·1e-4, so one ``gamma`` (per bp per
lot) means the same thing for BTC at 110,000 and XRP at 2.8. The formulas are homogeneous: scaling the
price unit by u and γ by 1/u leaves every quote unchanged, so this is a choice of units, not of model.

Sign conventions: bid = reservation − half_spread, ask = reservation + half_spread; a long
inventory (q > 0) lowers the reservation price, so both quotes move down (sell more eagerly).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from dataclasses import field

from botmm_nautilus.core.grid import PriceGrid
from botmm_nautilus.core.params import QuotingParams

BPS = 1e-4

# ---------------------------------------------------------------------------------------- dataclasses


@dataclass(slots=True)
class Quote:
    """One resting order: ``price`` (price units) and ``size`` (base units)."""

    price: float
    size: float


@dataclass(slots=True)
class QuotePair:
    """One bid/ask pair from a model. ``bid``/``ask`` are ``None`` when a side is suppressed.

    ``reservation_price``: the model's indifference price (midpoint of bid and ask before any gate);
    ``half_spread``: the model's half-spread in price units (distance from the reservation price).
    """

    bid: float | None
    ask: float | None
    reservation_price: float
    half_spread: float


@dataclass(slots=True)
class Ladder:
    """Desired orders per side: ``bids`` best first (descending), ``asks`` best first (ascending).

    ``reservation_price`` and ``half_spread`` (price units) are diagnostics from the model that built
    the ladder (NaN when not applicable).
    """

    bids: list[Quote] = field(default_factory=list)
    asks: list[Quote] = field(default_factory=list)
    reservation_price: float = math.nan
    half_spread: float = math.nan


def _check_positive(name: str, value: float) -> None:
    if not (value > 0.0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")


def _check_non_negative(name: str, value: float) -> None:
    if not (value >= 0.0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")


# ------------------------------------------------------------------------- Avellaneda & Stoikov (2008)


def as_reservation_price(s: float, q: float, gamma: float, sigma: float, time_left: float) -> float:
    """A-S reservation price r(s, q, t) = s − q·γ·σ²·(T − t)."""
    return s - q * gamma * sigma * sigma * time_left


def as_optimal_spread(gamma: float, sigma: float, k: float, time_left: float) -> float:
    """A-S optimal total spread δᵃ + δᵇ = γ·σ²·(T − t) + (2/γ)·ln(1 + γ/k)."""
    return gamma * sigma * sigma * time_left + (2.0 / gamma) * math.log1p(gamma / k)


def avellaneda_stoikov(mid: float, q: float, gamma: float, sigma: float, k: float, time_left: float) -> QuotePair:
    """Avellaneda & Stoikov (2008) quotes: bid/ask = r ∓ spread/2.

    Args (units as in the module docstring):
        mid: s, the mid (or fair) price, price units.
        q: inventory in lots (units of the quoted order size).
        gamma: γ > 0, risk aversion, 1/(price unit · lot).
        sigma: σ ≥ 0, price units per √second.
        k: k > 0, intensity decay, 1/price unit.
        time_left: T − t ≥ 0, seconds (a rolling horizon in practice).
    """
    _check_positive("gamma", gamma)
    _check_positive("k", k)
    _check_non_negative("sigma", sigma)
    _check_non_negative("time_left", time_left)
    r = as_reservation_price(mid, q, gamma, sigma, time_left)
    half = 0.5 * as_optimal_spread(gamma, sigma, k, time_left)
    return QuotePair(bid=r - half, ask=r + half, reservation_price=r, half_spread=half)


# ------------------------------------------------------------------ Guéant (2017) closed form ("GLFT")


def glft_coefficients(gamma: float, A: float, k: float, order_size: float = 1.0, xi: float | None = None) -> tuple[float, float]:
    """c₁, c₂ of Guéant (2017) eqs (4.6)/(4.7) as factored in hftbacktest's GLFT tutorial.

    c₁ = (1/(ξΔ))·ln(1 + ξΔ/k)
    c₂ = √( γ/(2·A·Δ·k) · (1 + ξΔ/k)^{k/(ξΔ) + 1} )

    ξ defaults to γ (CARA objective). ξ = 0 (risk-neutral objective with a running inventory
    penalty) is taken as the limit: c₁ = 1/k and (1 + ξΔ/k)^{k/(ξΔ)+1} → e.

    Units: c₁ in price units; c₂ in lots⁻¹·√second (so σ·c₂ is price per lot).
    """
    _check_positive("gamma", gamma)
    _check_positive("A", A)
    _check_positive("k", k)
    _check_positive("order_size", order_size)
    if xi is None:
        xi = gamma
    _check_non_negative("xi", xi)
    x = xi * order_size
    if x == 0.0:
        c1 = 1.0 / k
        growth = math.e
    else:
        c1 = math.log1p(x / k) / x
        growth = (1.0 + x / k) ** (k / x + 1.0)
    c2 = math.sqrt(gamma / (2.0 * A * order_size * k) * growth)
    return c1, c2


def glft_half_spread_and_skew(
    sigma: float,
    c1: float,
    c2: float,
    order_size: float = 1.0,
    adj_spread: float = 1.0,
    adj_skew: float = 1.0,
) -> tuple[float, float]:
    """half_spread = (c₁ + (Δ/2)·σ·c₂)·adj_spread, skew = σ·c₂·adj_skew (price units, skew per lot)."""
    return (c1 + 0.5 * order_size * sigma * c2) * adj_spread, sigma * c2 * adj_skew


def glft(
    mid: float,
    q: float,
    gamma: float,
    sigma: float,
    A: float,
    k: float,
    order_size: float = 1.0,
    xi: float | None = None,
    adj_spread: float = 1.0,
    adj_skew: float = 1.0,
) -> QuotePair:
    """Guéant (2017) asymptotic (T → ∞) quotes in hftbacktest's practitioner form.

    bid = fair − (half_spread + skew·q), ask = fair + (half_spread − skew·q),
    so the reservation price is fair − skew·q and the distance from it is half_spread.

    Args: ``mid`` = fair price (price units); ``q`` inventory in lots; ``gamma`` 1/(price·lot);
    ``sigma`` price/√s; ``A`` per second per side; ``k`` 1/price; ``order_size`` Δ in lots;
    ``xi`` ξ (defaults to γ); ``adj_spread``/``adj_skew`` hftbacktest's adj₁/adj₂ tuning factors.
    """
    _check_non_negative("sigma", sigma)
    c1, c2 = glft_coefficients(gamma, A, k, order_size, xi)
    half, skew = glft_half_spread_and_skew(sigma, c1, c2, order_size, adj_spread, adj_skew)
    r = mid - skew * q
    return QuotePair(bid=r - half, ask=r + half, reservation_price=r, half_spread=half)


# ------------------------------------------------------------------------------------------- fee gate


def min_profitable_half_spread_bps(maker_fee: float, expected_adverse_bps: float, buffer_bps: float = 0.0) -> float:
    """The smallest distance from the mid (bps) at which a maker fill is expected to break even.

    A passive fill at depth δ (bps from the mid) earns δ, pays the maker fee (``maker_fee`` is a
    fraction of notional, positive = cost, negative = rebate) and loses the expected adverse
    selection (the mid's expected move against the fill over the markout horizon), so

        δ_min = maker_fee·1e4 + expected_adverse_bps + buffer_bps.

    With a rebate larger than the adverse selection this can be ≤ 0 (any depth pays).
    Compare BotMM's gate, spread ≥ 2·|fee|·1e4, which ignores adverse selection and treats a
    rebate as a cost.
    """
    return maker_fee * 1e4 + expected_adverse_bps + buffer_bps


def apply_fee_gate(
    quotes: QuotePair,
    mid: float,
    maker_fee: float,
    expected_adverse_bps: float,
    buffer_bps: float = 0.0,
    mode: str = "widen",
) -> QuotePair:
    """Widen (``mode="widen"``) or drop (``"suppress"``) each side closer to ``mid`` than δ_min.

    Per side: bid depth = (mid − bid)/mid·1e4, ask depth = (ask − mid)/mid·1e4 (bps). A side whose
    depth is below ``min_profitable_half_spread_bps(maker_fee, expected_adverse_bps, buffer_bps)`` is
    moved to mid·(1 ∓ δ_min·1e-4) or set to ``None``. ``"off"`` returns the quotes unchanged. The gate
    is measured against the book mid (where markouts are measured), not the model's fair value, and
    applies to the inventory-reducing side too: no quote expected to lose money per fill is sent.
    """
    if mode == "off":
        return quotes
    if mode not in ("widen", "suppress"):
        raise ValueError(f"fee gate mode must be 'widen', 'suppress' or 'off', got {mode!r}")
    thr = min_profitable_half_spread_bps(maker_fee, expected_adverse_bps, buffer_bps)
    bid, ask = quotes.bid, quotes.ask
    min_bid = mid * (1.0 - thr * BPS)  # the highest acceptable bid
    max_ask_floor = mid * (1.0 + thr * BPS)  # the lowest acceptable ask
    if bid is not None and bid > min_bid:
        bid = min_bid if mode == "widen" else None
    if ask is not None and ask < max_ask_floor:
        ask = max_ask_floor if mode == "widen" else None
    return QuotePair(bid=bid, ask=ask, reservation_price=quotes.reservation_price, half_spread=quotes.half_spread)


# ------------------------------------------------------------------------------------- ladder builder


def _next_price_below(price: float, grid: PriceGrid) -> float:
    """The largest valid price strictly below ``price`` (0.0 when there is none)."""
    below = price * (1.0 - 1e-12)
    if not below > 0:
        return 0.0
    tick = grid.tick_size(below)
    p = price - tick
    if p <= 0:
        return 0.0
    return grid.round_price(p, "down")


def _next_price_above(price: float, grid: PriceGrid) -> float:
    """The smallest valid price strictly above ``price``."""
    tick = grid.tick_size(price)
    return grid.round_price(price + tick, "up")


@functools.lru_cache(maxsize=256)
def _normalised_weights_cached(weights: tuple, levels: int) -> tuple[float, ...]:
    return tuple(_normalised_weights_uncached(weights, levels))


def _normalised_weights(weights, levels: int):
    """``levels`` weights summing to one (cached for tuples)."""
    if isinstance(weights, tuple):
        return _normalised_weights_cached(weights, levels)
    return _normalised_weights_uncached(weights, levels)


def _normalised_weights_uncached(weights, levels: int) -> list[float]:
    """``levels`` weights summing to one; a short list is padded with its last weight (as BotMM does)."""
    if levels <= 0:
        return []
    w = list(weights[:levels])
    if not w:
        raise ValueError("size weights must not be empty")
    while len(w) < levels:
        w.append(w[-1])
    total = sum(w)
    if not total > 0 or any(x < 0 for x in w):
        raise ValueError(f"size weights must be >= 0 with a positive sum, got {w}")
    return [x / total for x in w]


def _finalize_side(
    raw_prices: list[float],
    raw_sizes: list[float],
    is_bid: bool,
    grid: PriceGrid,
) -> list[Quote]:
    """Round one side onto ``grid``.

    * prices: bids rounded down, asks up (never more aggressive than asked); a level that rounds onto
      or inside the previous one is pushed one valid price further out, so distances from the touch
      are strictly increasing and prices unique; a bid that would reach 0 ends the side;
    * sizes: cumulative sizes are rounded down to the lot and differenced, so the side's total is
      the requested total rounded down (no level loses more than rounding);
    * minimum value: a level below ``grid.min_value_usd`` is **merged** into the better-priced pending
      level (its size added, its price dropped) until the pending level reaches the minimum; a
      remainder that never reaches it is added to the deepest kept level; a side whose whole total is
      below the minimum is empty.
    """
    mode = "down" if is_bid else "up"
    round_price = grid.round_price
    scale = grid.lots_per_unit
    min_value = grid.min_value_usd - 1e-9  # the tolerance of HyperliquidGrid.meets_min_value
    out: list[Quote] = []
    prev = 0.0
    cum_raw = 0.0
    cum_lots = 0
    pend_price = 0.0
    pend_lots = 0
    pending = False
    for p, s in zip(raw_prices, raw_sizes):
        if not (p > 0.0 and p < math.inf):
            break
        rp = round_price(p, mode)
        if prev:
            if is_bid:
                if rp >= prev:
                    rp = _next_price_below(prev, grid)
                    if rp <= 0.0:
                        break
            elif rp <= prev:
                rp = _next_price_above(prev, grid)
        prev = rp
        # cumulative rounding in whole lots: the side's total is the requested total rounded down
        cum_raw += s
        c = math.floor(cum_raw * scale + 1e-9)
        lots = c - cum_lots
        cum_lots = c
        if pending:
            pend_lots += lots
        else:
            pend_price, pend_lots, pending = rp, lots, True
        if pend_lots > 0 and pend_price * pend_lots / scale >= min_value:
            out.append(Quote(pend_price, pend_lots / scale))
            pending = False
    if pending and pend_lots > 0 and out:
        last = out[-1]
        last.size = (round(last.size * scale) + pend_lots) / scale
    return out


def build_ladder(
    bid_price: float | None,
    ask_price: float | None,
    total_size_per_side: float,
    levels: int,
    level_spacing_bps: float,
    weights,
    grid: PriceGrid,
    skip_buy: bool = False,
    skip_sell: bool = False,
) -> Ladder:
    """A ladder on ``grid`` from the best bid/ask prices of a model.

    Level i (0-based) is placed at bid·(1 − i·s) and ask·(1 + i·s), s = ``level_spacing_bps``·1e-4,
    with size ``total_size_per_side``·wᵢ (base units; weights normalised over ``levels``). Rounding,
    de-duplication and the minimum order value as in ``_finalize_side``: bids rounded down, asks up, sizes
    down to the lot, levels below the minimum merged into the better-priced level. ``None`` for a
    price (a suppressed side) or ``skip_buy``/``skip_sell`` empties that side.

    Raises ``ValueError`` if both prices are given and bid ≥ ask (a caller bug: the models never
    produce it); after rounding the best bid is then always strictly below the best ask.
    """
    if bid_price is not None and ask_price is not None and not bid_price < ask_price:
        raise ValueError(f"bid {bid_price!r} must be below ask {ask_price!r}")
    if not (total_size_per_side >= 0 and math.isfinite(total_size_per_side)):
        raise ValueError(f"total_size_per_side must be a non-negative finite number, got {total_size_per_side!r}")
    w = _normalised_weights(weights, levels)
    sizes = [total_size_per_side * x for x in w]
    step = level_spacing_bps * BPS
    bids: list[Quote] = []
    asks: list[Quote] = []
    if bid_price is not None and not skip_buy:
        bids = _finalize_side([bid_price * (1.0 - i * step) for i in range(levels)], sizes, True, grid)
    if ask_price is not None and not skip_sell:
        asks = _finalize_side([ask_price * (1.0 + i * step) for i in range(levels)], sizes, False, grid)
    return Ladder(bids=bids, asks=asks)


# ------------------------------------------------------------------------- BotMM classic bps heuristic

CLASSIC_BASE_WEIGHTS = (0.50, 0.30, 0.15, 0.05)


def best_level_share(params: QuotingParams) -> float:
    """The share of a side's size the best level gets: ``size_weights`` (A-S, GLFT) or the classic
    model's own weights, normalised over ``levels``."""
    weights = CLASSIC_BASE_WEIGHTS if params.model == "classic" else params.size_weights
    return _normalised_weights(weights, params.levels)[0]


def classic_spread_bps(vol_frac: float, inventory_usd: float, max_position_usd: float, params: QuotingParams) -> float:
    """BotMM's total spread: clamp(base + vol·1e4·vol_multiplier + 2·|inv|/max(max_pos, 1), min, max) in bps
    (the ``classic_*`` fields of ``params``)."""
    inv_ratio = abs(inventory_usd) / max(max_position_usd, 1.0)
    spread = params.classic_base_spread_bps + vol_frac * 1e4 * params.classic_vol_multiplier + 2.0 * inv_ratio
    return max(params.classic_min_spread_bps, min(spread, params.classic_max_spread_bps))


def classic_skew_bps(inventory_usd: float, max_position_usd: float, vol_frac: float, skew_factor: float) -> float:
    """BotMM's inventory skew: (inv/max_pos)·skew_factor·vol·1e4, ×(1 + (|ratio| − 0.6)·1.5) above 60 %."""
    if max_position_usd == 0:
        return 0.0
    ratio = inventory_usd / max_position_usd
    skew = ratio * skew_factor * vol_frac * 1e4
    a = abs(ratio)
    if a > 0.6:
        skew *= 1.0 + (a - 0.6) * 1.5
    return skew


def classic_bps(
    mid: float,
    vol_frac: float,
    inventory_usd: float,
    max_position_usd: float,
    imbalance: float,
    bias: float,
    params: QuotingParams,
    maker_fee: float | None = None,
    level_count: int | None = None,
    skip_buy: bool = False,
    skip_sell: bool = False,
    grid: PriceGrid | None = None,
) -> Ladder:
    """BotMM's quote formula (the bot this project replaces), reproduced with its quirks, for comparison.

    ``params``: the ``classic_*`` fields, ``levels``, ``level_spacing_bps`` and ``order_size_usd``
    (``size_weights`` is not used: BotMM has its own weights). All in bps of ``effective_mid``
    unless stated:

    * effective_mid = mid·(1 + bias·vol·0.5)            (``vol_frac``: ATR as a fraction of price;
      ``bias``: the directional bias in [−1, 1], core/signals.py; BotMM's bias was half of it)
    * spread = clamp(base + vol·1e4·vol_mult + 2·|inv|/max(max_pos, 1), min, max)
    * fee gate, only when ``maker_fee`` is given and non-zero: spread = max(spread, 2·|fee|·1e4),
      applied after the clamp (so it can exceed ``max_spread_bps``); a rebate is treated as a cost;
    * skew = (inv/max_pos)·skew_factor·vol·1e4, amplified by 1 + (|ratio| − 0.6)·1.5 above 60 %;
    * imb_adj = imbalance·0.3·spread, **added to both bid and ask**: a price shift toward the heavy
      side, not the "widen the heavy side" BotMM's comment claims;
    * level ℓ: bid = eff·(1 − spread/2 − skew − ℓ·spacing + imb_adj),
               ask = eff·(1 + spread/2 − skew + ℓ·spacing + imb_adj)   (terms as fractions);
    * size per level = order_size_usd·w_ℓ / mid (raw mid, not effective mid), weights
      0.50/0.30/0.15/0.05 (padded with 0.05) normalised over the levels.

    Quirks kept: the model has no σ², γ, k or horizon; with hourly ATR it sits at the 20 bps cap;
    skew and bias are not bounded, so a large skew can push the bid above the mid. Differences from
    BotMM: it returns unrounded prices and sizes (``grid=None`` here does the same); with a
    ``grid`` the levels are rounded and merged like ``build_ladder``. Returns a ``Ladder``
    whose ``half_spread`` is spread/2 in price units of ``effective_mid`` and ``reservation_price``
    is the midpoint of level 0.
    """
    n = params.levels if level_count is None else level_count
    effective_mid = mid * (1.0 + bias * vol_frac * 0.5)
    spread_bps = classic_spread_bps(vol_frac, inventory_usd, max_position_usd, params)
    skew_bps = classic_skew_bps(inventory_usd, max_position_usd, vol_frac, params.classic_skew_factor)
    if maker_fee is not None:
        fee_bps = abs(maker_fee) * 1e4
        if fee_bps > 0:
            spread_bps = max(spread_bps, fee_bps * 2.0)
    imb_bps = imbalance * 0.3 * spread_bps
    spread = spread_bps * BPS
    skew = skew_bps * BPS
    imb = imb_bps * BPS
    w = _normalised_weights(CLASSIC_BASE_WEIGHTS, n) if n > 0 else []
    bid_prices = []
    ask_prices = []
    sizes = []
    for level in range(n):
        off = level * params.level_spacing_bps * BPS
        bid_prices.append(effective_mid * (1.0 - spread / 2.0 - skew - off + imb))
        ask_prices.append(effective_mid * (1.0 + spread / 2.0 - skew + off + imb))
        sizes.append(params.order_size_usd * w[level] / mid)
    reservation = effective_mid * (1.0 - skew + imb)
    half = effective_mid * spread / 2.0
    if grid is None:
        bids = [] if skip_buy else [Quote(p, s) for p, s in zip(bid_prices, sizes)]
        asks = [] if skip_sell else [Quote(p, s) for p, s in zip(ask_prices, sizes)]
    else:
        bids = [] if skip_buy else _finalize_side(bid_prices, sizes, True, grid)
        asks = [] if skip_sell else _finalize_side(ask_prices, sizes, False, grid)
        if bids and asks and bids[0].price >= asks[0].price:
            # Only reachable through BotMM's unbounded imbalance shift (never in practice: the
            # gap is spread > 0 before rounding). Keep the book sane: drop the crossing levels.
            bids = [q for q in bids if q.price < asks[0].price]
    return Ladder(bids=bids, asks=asks, reservation_price=reservation, half_spread=half)


# ------------------------------------------------------------------------------------------ dispatcher


@dataclass(slots=True)
class QuoteInputs:
    """Market state for one quote decision (all known before the quote is sent).

    mid: book mid (price units). fair_value: the price the A-S and GLFT quotes are centred on
    before the inventory skew (the decision core's signals set it: ``Signals.fair_value`` in
    core/signals.py); None = the mid. position_usd: signed position in USD. sigma: σ in price units
    per √s. A: arrivals per second per side. k: 1/price unit. vol_frac: volatility as a fraction of
    price for the classic model (BotMM used hourly ATR%). imbalance: book imbalance in [−1, 1]
    (+ = more bid size) and bias: directional bias in [−1, 1], both read by the classic model only
    (A-S and GLFT see them through ``fair_value``). time_left_s: A-S horizon T − t (None:
    ``QuotingParams.horizon_s``). best_bid/best_ask: optional touch; when given, a bid is kept
    strictly below the best ask and an ask strictly above the best bid (post-only safe).
    """

    mid: float
    fair_value: float | None = None
    position_usd: float = 0.0
    sigma: float = 0.0
    A: float = 1.0
    k: float = 1.0
    vol_frac: float = 0.0
    imbalance: float = 0.0
    bias: float = 0.0
    time_left_s: float | None = None
    best_bid: float | None = None
    best_ask: float | None = None
    skip_buy: bool = False
    skip_sell: bool = False


def compute_ladder(
    inputs: QuoteInputs,
    params: QuotingParams,
    *,
    grid: PriceGrid,
    maker_fee: float,
    max_position_usd: float,
) -> Ladder:
    """The desired ladder of ``params.model`` in {"as", "glft", "classic"}.

    Inputs the quoting section does not hold are passed explicitly: ``grid`` (the instrument's
    prices, lots and minimum order value), ``maker_fee`` (fraction of notional, + = cost) for the
    fee gates and ``max_position_usd`` for the classic model's inventory terms.

    A-S and GLFT, in bps of the mid (module docstring):
      1. fair = ``inputs.fair_value`` (the mid when None);
      2. q = position_usd / order_size_usd (lots), Δ = 1 lot; σ_bps = σ/(mid·1e-4), k_bps = k·mid·1e-4;
      3. the model's reservation price r and half-spread h; h clamped to [min, max]_half_spread_bps;
         bid = r − h, ask = r + h;
      4. fee gate (per side, against the mid), then the post-only clamp when the touch is known;
      5. ``build_ladder`` with total size order_size_usd/mid per side.
    "classic": ``classic_bps`` with the classic_* knobs, BotMM's weights and its own fee gate
    (given ``maker_fee`` unless fee_gate is "off"); prices rounded like ``build_ladder``.
    """
    model = params.model
    mid = inputs.mid
    _check_positive("mid", mid)
    if model == "classic":
        return classic_bps(
            mid,
            inputs.vol_frac,
            inputs.position_usd,
            max_position_usd,
            inputs.imbalance,
            inputs.bias,
            params,
            maker_fee=None if params.fee_gate == "off" else maker_fee,
            skip_buy=inputs.skip_buy,
            skip_sell=inputs.skip_sell,
            grid=grid,
        )

    _check_positive("order_size_usd", params.order_size_usd)
    u = mid * BPS  # price units per bp
    fair = mid if inputs.fair_value is None else inputs.fair_value
    q = inputs.position_usd / params.order_size_usd
    sigma_bps = inputs.sigma / u
    k_bps = inputs.k * u
    if model == "glft":
        pair = glft(0.0, q, params.gamma, sigma_bps, inputs.A, k_bps, 1.0, params.xi, params.adj_spread, params.adj_skew)
    elif model == "as":
        t_left = params.horizon_s if inputs.time_left_s is None else inputs.time_left_s
        pair = avellaneda_stoikov(0.0, q, params.gamma, sigma_bps, k_bps, t_left)
    else:
        raise ValueError(f"model must be 'as', 'glft' or 'classic', got {model!r}")
    # pair is in bps relative to the fair value (mid argument 0).
    half_bps = min(max(pair.half_spread, params.min_half_spread_bps), params.max_half_spread_bps)
    r = fair + pair.reservation_price * u
    half = half_bps * u
    bid: float | None = r - half
    ask: float | None = r + half
    if params.fee_gate != "off":
        gated = apply_fee_gate(
            QuotePair(bid, ask, r, half),
            mid,
            maker_fee,
            params.expected_adverse_bps,
            params.fee_gate_buffer_bps,
            params.fee_gate,
        )
        bid, ask = gated.bid, gated.ask
    if inputs.best_ask is not None and bid is not None and bid >= inputs.best_ask:
        bid = _next_price_below(grid.round_price(inputs.best_ask, "up"), grid) or None
    if inputs.best_bid is not None and ask is not None and ask <= inputs.best_bid:
        ask = _next_price_above(grid.round_price(inputs.best_bid, "down"), grid)
    if bid is not None and ask is not None and not bid < ask:
        # Only reachable through the post-only clamp on a crossed/locked input book.
        bid = None
    ladder = build_ladder(
        bid,
        ask,
        params.order_size_usd / mid,
        params.levels,
        params.level_spacing_bps,
        params.size_weights,
        grid,
        inputs.skip_buy,
        inputs.skip_sell,
    )
    ladder.reservation_price = r
    ladder.half_spread = half
    return ladder
