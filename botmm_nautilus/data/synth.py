"""Deterministic, seeded synthetic Hyperliquid market: L2 book deltas, trades, bars and funding.

The project's embedded default data (``make run`` builds it on first use with
``write_synthetic_catalog``). Every number the models use comes from ``synth_params`` (measured
on real Hyperliquid data); ``tests/integration/data/test_synth_stats.py`` measures the output the way a backtest
reads it and compares it with the real data.

L2 book model (``generate_l2_day``), one instrument, Hyperliquid's diffed-snapshot shape:

* Book messages arrive every ~0.55 s (lognormal intervals with the measured mean and coefficient
  of variation, whole milliseconds). The first message is CLEAR + one ADD per level (all
  ``F_SNAPSHOT``, ``F_LAST`` on the last); every later message holds only the differences from
  the previous one: DELETEs first (so no intermediate book is crossed), then ADDs and UPDATEs,
  ``F_LAST`` on the last delta of the message (``buffer_deltas=True`` groups them).
* Fair price: a latent log mid that is a driftless compound-Poisson random walk. In each message
  it jumps by K ticks (K = 1 + geometric, random sign) with probability ``mid_move_share`` less
  the share of messages whose mid moves only because the spread changed; the jump scale makes
  the 1 s variance equal to the measured ``vol_1s_bps``. Jumps give the heavy tails of real 1 s
  returns (kurtosis 8-44 in the recording). The tick is Hyperliquid's tick at the start price
  and stays fixed for the run (a price that drifts across a power of ten keeps that grid).
* Touch: the spread s (ticks) is drawn per message from the measured distribution; the best bid
  is the tick ``floor(mid - s/2 + 1/2)`` and the best ask is ``bid + s`` (s >= 1: never crossed
  or locked). Twenty levels a side: levels better than the new touch are removed, the new touch
  and the ticks between it and the old front are filled, and the ladder is extended to 20 levels
  with gaps of 1 + geometric ticks (measured mean gap per level).
* Sizes: a new level's size is drawn from its level's measured distribution (mean per level,
  normalised shape for the touch, levels 1-4 and levels 5-19, inverse-CDF tables); a touch
  that is overtaken by a better price is resized as the level it has become. Between
  messages a level is redrawn (an UPDATE) with the measured per-level probability for the touch
  and ``depth_update_scale`` times the measured probability for the other levels (real books
  change ~60 % of their levels every message, ~26 deltas per message; the default scale keeps a
  day near 8 deltas per message so that generation and backtests stay fast, while the touch,
  where queue position lives, keeps its real update rate).
* Trades: taker orders arrive as a Poisson process at the measured rate; an order prints once
  with the measured probability, else 2 + geometric prints (measured mean), all at the same
  timestamp, sizes drawn i.i.d. from the measured print-size distribution (above its
  ``CAPPED_PRINT_SHARE`` quantile, see there). A BUYER order lifts the best ask (trade price =
  best ask), a SELLER hits the best bid (aggressors 50/50). Prints consume the visible touch: a
  print is capped by the level's remaining size, an exhausted level disappears and the next
  print goes to the next level. The next book message shows the depleted sizes
  (UPDATE) or the missing levels (DELETE), and when a touch level was exhausted the latent mid
  moves to at least (at most, for sellers) the post-trade mid, so the price moves when the
  touch is consumed. Queue-position fill simulation therefore sees trades that really drain
  the queue at the touch.

Bars (``generate_bars``): the log price follows a random walk at 30 s substeps with
stochastic volatility (an AR(1) log-vol with the measured day-to-day std and autocorrelation,
normalised so the mean variance is the measured 5-minute variance) and Student-t (5 degrees of
freedom) innovations; ``drift`` is an annual log drift (0 = driftless). Minute OHLC come from the
substeps, bars aggregate minutes, prices are rounded to Hyperliquid's tick at each price, volume
is lognormal and higher when vol is high. ``ts_event = ts_init`` = the bar's close time.

Fine-step lattice walk (``lattice_walk_bars``): for null tests. A driftless symmetric random walk
that moves exactly one tick (Hyperliquid's tick at the start price) every substep, aggregated into
bars of ``bar_seconds``. On a lattice a price level is reached exactly (no overshoot), so a limit
order filled when the path touches its price is filled at the price the market is at: a causal
quoter's fills have zero expected markout and its expected PnL without fees is exactly zero.

Funding (``generate_funding``): hourly AR(1) with the measured mean, std and persistence, at the
top of each hour.

Determinism: every random draw comes from ``numpy.random.default_rng(SeedSequence([seed,
crc32(coin), stream, block]))``; the L2 stream is drawn in one-hour blocks, so the same seed
gives identical objects whether a span is generated at once or block by block, and different
coins and streams are independent.
"""

from __future__ import annotations

import math
import time
import zlib
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd
from nautilus_trader.model.data import Bar
from nautilus_trader.model.data import BarType
from nautilus_trader.model.data import FundingRateUpdate
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.objects import FIXED_PRECISION

from botmm_nautilus.adapters.hyperliquid import instrument_id_for
from botmm_nautilus.adapters.hyperliquid import make_perpetual
from botmm_nautilus.data._common import CatalogBatcher
from botmm_nautilus.data._common import progress_bar
from botmm_nautilus.data.catalog_io import StagedCatalogWriter
from botmm_nautilus.data.summary import ImportSummary
from botmm_nautilus.data.synth_params import COINS
from botmm_nautilus.data.synth_params import NEAR_LEVELS
from botmm_nautilus.data.synth_params import SIZE_QUANTILE_PROBS
from botmm_nautilus.data.synth_params import CoinSynthParams
from botmm_nautilus.data.synth_params import params_for
from botmm_nautilus.times import parse_time_ns
from botmm_nautilus.errors import ConfigError
from botmm_nautilus.venue import rules as hl_rules

NANOS_PER_SECOND = 1_000_000_000
NANOS_PER_MINUTE = 60 * NANOS_PER_SECOND
NANOS_PER_HOUR = 3600 * NANOS_PER_SECOND
BOOK_LEVELS = 20
L2_BLOCK_S = 3600  # random draws are made per block of this many seconds
DEFAULT_DEPTH_UPDATE_SCALE = 0.1
BAR_SUBSTEP_S = 30  # bar random-walk step (30 s: 10 points per 5-minute bar)
STUDENT_T_DOF = 5.0
# Share of prints the generator itself caps at a small (dust or depleted) level: 5-8 % for BTC,
# ETH, SOL. The measured print sizes already contain such fills, so print sizes are drawn from the
# measured distribution above this quantile; after capping the printed sizes match the measured.
CAPPED_PRINT_SHARE = 0.06
WRITE_BATCH = 500_000  # objects per catalog file

STREAM_L2 = 1
STREAM_BARS = 2
STREAM_FUNDING = 3

F_LAST = int(RecordFlag.F_LAST)
F_SNAPSHOT = int(RecordFlag.F_SNAPSHOT)
_ADD = BookAction.ADD
_UPDATE = BookAction.UPDATE
_DELETE = BookAction.DELETE
_SIDES = (OrderSide.BUY, OrderSide.SELL)
_BUYER = AggressorSide.BUYER
_SELLER = AggressorSide.SELLER


def stream_rng(seed: int, coin: str, stream: int, block: int = 0) -> np.random.Generator:
    """The random generator of one (seed, coin, stream, block): independent across all four."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(coin.upper().encode()), stream, block]))


class QuantileSampler:
    """Draws from a distribution given by log quantiles at ``SIZE_QUANTILE_PROBS`` (inverse CDF,
    linear in log space between quantiles). With ``unit_mean`` the draws are rescaled so that the
    tabulated distribution has mean exactly 1."""

    def __init__(self, log_quantiles, unit_mean: bool = False) -> None:
        self.probs = np.asarray(SIZE_QUANTILE_PROBS, float)
        self.log_q = np.asarray(log_quantiles, float)
        self.scale = 1.0
        if unit_mean:
            u = (np.arange(200_000) + 0.5) / 200_000
            self.scale = 1.0 / float(np.exp(np.interp(u, self.probs, self.log_q)).mean())

    def sample(self, uniforms: np.ndarray) -> np.ndarray:
        return np.exp(np.interp(uniforms, self.probs, self.log_q)) * self.scale


def _geometric_q_for_second_moment(second_moment: float) -> float:
    """q such that K = 1 + Geometric (P(K=k) = (1-q) q^(k-1)) has E[K^2] = ``second_moment`` (>= 1)."""
    v = second_moment
    return ((2 * v + 1) - math.sqrt(8 * v + 1)) / (2 * v)


@dataclass
class L2Block:
    """One block of generated L2 data (objects plus the trade arrays the bar builder needs)."""

    deltas: list
    trades: list
    trade_ts_ns: np.ndarray
    trade_price_ticks: np.ndarray
    trade_lots: np.ndarray
    messages: int


class L2Simulator:
    """Stateful L2 + trade generator for one coin (see the module docstring for the model).

    ``blocks(duration_s)`` yields ``L2Block`` objects hour by hour; the state (book, latent mid,
    sequence numbers) carries from block to block.
    """

    def __init__(
        self,
        coin: str,
        start_ns: int,
        seed: int,
        params: CoinSynthParams | None = None,
        depth_update_scale: float = DEFAULT_DEPTH_UPDATE_SCALE,
    ) -> None:
        self.coin = coin.upper()
        self.params = p = params or params_for(self.coin)
        self.seed = int(seed)
        self.start_ns = int(start_ns)
        self.instrument_id = instrument_id_for(self.coin)
        self.tick = hl_rules.tick_size(p.price_usd, p.sz_decimals)
        tick_exp = round(math.log10(self.tick))
        self.price_precision = hl_rules.price_decimals(p.sz_decimals)
        self.size_precision = p.sz_decimals
        self.raw_per_tick = 10 ** (FIXED_PRECISION + tick_exp)
        self.raw_per_lot = 10 ** (FIXED_PRECISION - p.sz_decimals)
        self.lots_per_base = 10**p.sz_decimals

        # latent mid: log price, jumps of K ticks (in log units of the start price's tick)
        self.log_mid = math.log(p.price_usd)
        self.jump_log = self.tick / p.price_usd
        # The measured share of messages whose mid moves includes moves caused by the spread
        # changing (i.i.d. spread draws change it with probability 2 P(1 tick) (1 - P(1 tick)));
        # the jumps supply the rest, and all of the 1 s variance.
        share_1tick = p.spread_ticks_probs[0] / sum(p.spread_ticks_probs)
        spread_change_share = 2 * share_1tick * (1 - share_1tick)
        jump_share = max(p.mid_move_share - spread_change_share, p.mid_move_share / 2)
        var_per_message = (p.vol_1s_bps * 1e-4) ** 2 * p.book_interval_s
        second_moment = var_per_message / (jump_share * self.jump_log**2)
        if second_moment >= 1.0:
            self.move_prob = jump_share
            self.jump_q = _geometric_q_for_second_moment(second_moment)
        else:  # vol too small for that share at one tick per move: move less often
            self.move_prob = var_per_message / self.jump_log**2
            self.jump_q = 0.0

        # level sizes: (unit-mean shape, mean lots) per level index
        means_lots = np.asarray(p.level_size_mean_base) * self.lots_per_base
        touch_shape = QuantileSampler(p.touch_size_log_q, unit_mean=True)
        near_shape = QuantileSampler(p.near_size_log_q, unit_mean=True)
        deep_shape = QuantileSampler(p.deep_size_log_q, unit_mean=True)
        self.level_size_samplers = [
            (touch_shape if level == 0 else near_shape if level in NEAR_LEVELS else deep_shape, float(means_lots[level]))
            for level in range(BOOK_LEVELS)
        ]
        # gap after level i (i = 0..19) = 1 + geometric extra ticks with mean (measured gap - 1)
        gaps = np.asarray(p.level_gap_ticks + (p.level_gap_ticks[-1],))
        self.gap_q = np.clip((gaps - 1.0) / gaps, 0.0, 0.95)
        prob = np.asarray(p.level_update_prob, float)
        self.update_prob = np.concatenate([prob[:1], prob[1:] * depth_update_scale])
        self.spread_cdf = np.cumsum(np.asarray(p.spread_ticks_probs, float) / sum(p.spread_ticks_probs))
        self.trade_size_sampler = QuantileSampler(p.trade_size_log_q)
        self.prints_extra_mean = max((p.prints_per_order_mean - p.prints_single_share) / (1 - p.prints_single_share) - 2.0, 0.0)

        # state
        self.levels: list[list[list[int]]] = [[], []]  # per side, best first: [key, lots]; bid key = tick, ask key = -tick
        self.published: list[dict[int, int]] | None = None
        self.next_msg_ns = self.start_ns
        self.sequence = 0
        self.trade_count = 0
        self.block_index = 0

    # ------------------------------------------------------------------------------- drawing

    def _draw_block(self, rng: np.random.Generator, block_start_ns: int):
        """Every random number one block needs, as Python lists (fast to index in the loop)."""
        p = self.params
        n_cap = int(L2_BLOCK_S / p.book_interval_s * 2) + 64
        sigma2 = math.log(1 + p.book_interval_cv**2)
        intervals_ms = np.maximum(
            np.rint(1000 * p.book_interval_s * rng.lognormal(-sigma2 / 2, math.sqrt(sigma2), n_cap)), 200,
        ).astype(np.int64)
        msg_ns = self.next_msg_ns + np.concatenate(([0], np.cumsum(intervals_ms[:-1]) * 1_000_000))
        block_end_ns = block_start_ns + L2_BLOCK_S * NANOS_PER_SECOND
        n_msgs = int(np.searchsorted(msg_ns, block_end_ns))
        if n_msgs >= n_cap:
            raise RuntimeError("message interval draws exhausted (book_interval_s too small for the block)")

        moves = rng.random(n_msgs) < self.move_prob
        if self.jump_q > 0:
            jump_ticks = rng.geometric(1 - self.jump_q, n_msgs)
        else:
            jump_ticks = np.ones(n_msgs, dtype=np.int64)
        signs = np.where(rng.random(n_msgs) < 0.5, -1, 1)
        jumps = np.where(moves, signs * jump_ticks, 0)
        spreads = np.minimum(np.searchsorted(self.spread_cdf, rng.random(n_msgs), side="right") + 1, len(self.spread_cdf))

        shape = (n_msgs, 2, BOOK_LEVELS)
        uniforms = rng.random(shape)
        sizes_lots = np.empty(shape, dtype=np.int64)
        for level, (sampler, mean_lots) in enumerate(self.level_size_samplers):
            sizes_lots[:, :, level] = np.maximum(np.rint(sampler.sample(uniforms[:, :, level]) * mean_lots), 1)
        extra = np.floor(np.log1p(-rng.random(shape)) / np.log(np.where(self.gap_q > 0, self.gap_q, 0.5)))
        gaps = (1 + np.where(self.gap_q > 0, extra, 0)).astype(np.int64)
        update = rng.random(shape) < self.update_prob
        k_idx, side_idx, level_idx = np.nonzero(update)
        updates: list[tuple[list[int], list[int]]] = [([], []) for _ in range(n_msgs)]
        for k, s, lv in zip(k_idx.tolist(), side_idx.tolist(), level_idx.tolist()):
            updates[k][s].append(lv)

        n_orders = int(rng.poisson(p.taker_orders_per_s * L2_BLOCK_S))
        # odd nanoseconds: a trade never shares its timestamp with a book message (whole ms)
        order_ns = np.sort(block_start_ns + rng.integers(0, L2_BLOCK_S * NANOS_PER_SECOND, n_orders)) | 1
        order_buyer = rng.random(n_orders) < 0.5
        single = rng.random(n_orders) < p.prints_single_share
        if self.prints_extra_mean > 0:
            extra_prints = rng.geometric(1 / (1 + self.prints_extra_mean), n_orders) - 1
        else:
            extra_prints = np.zeros(n_orders, dtype=np.int64)
        prints = np.where(single, 1, 2 + extra_prints)
        size_uniforms = CAPPED_PRINT_SHARE + (1 - CAPPED_PRINT_SHARE) * rng.random(int(prints.sum()))
        print_lots = np.maximum(np.rint(self.trade_size_sampler.sample(size_uniforms) * self.lots_per_base), 1)
        return (
            msg_ns[: n_msgs + 1].tolist(),
            n_msgs,
            jumps.tolist(),
            spreads.tolist(),
            sizes_lots.tolist(),
            gaps.tolist(),
            updates,
            order_ns.tolist(),
            order_buyer.tolist(),
            prints.tolist(),
            print_lots.astype(np.int64).tolist(),
        )

    # ------------------------------------------------------------------------------ the book

    @staticmethod
    def _shape_side(levels: list, target: int, sizes: list[int], gaps: list[int], updates: list[int]) -> None:
        """Make ``levels`` (best first, keys descending) a 20-level side whose best key is ``target``."""
        drop = 0
        n = len(levels)
        while drop < n and levels[drop][0] > target:
            drop += 1
        if drop:
            del levels[:drop]
        if not levels:
            levels.append([target, sizes[0]])
        elif levels[0][0] < target:
            front = levels[0][0]
            new = []
            key = target
            j = 0
            while key > front and j < BOOK_LEVELS:
                new.append([key, sizes[j]])
                key -= gaps[j]
                j += 1
            if j < BOOK_LEVELS:  # the old touch, now level j, resized to a level-j size
                levels[0][1] = sizes[j]
            levels[:0] = new
        while len(levels) < BOOK_LEVELS:
            idx = len(levels)
            levels.append([levels[-1][0] - gaps[idx - 1], sizes[idx]])
        if len(levels) > BOOK_LEVELS:
            del levels[BOOK_LEVELS:]
        for idx in updates:
            levels[idx][1] = sizes[idx]

    def _emit_message(self, ts: int, out: list) -> bool:
        """Append the deltas of one book message (diff against the last published book)."""
        iid = self.instrument_id
        pp, sp = self.price_precision, self.size_precision
        rpt, rpl = self.raw_per_tick, self.raw_per_lot
        make = OrderBookDelta.from_raw
        new_books = [dict(self.levels[0]), dict(self.levels[1])]
        if self.published is None:
            self.sequence += 1
            out.append(make(iid, BookAction.CLEAR, OrderSide.NO_ORDER_SIDE, 0, pp, 0, sp, 0, F_SNAPSHOT, self.sequence, ts, ts))
            items = [(0, key, lots) for key, lots in self.levels[0]] + [(1, key, lots) for key, lots in self.levels[1]]
            last = len(items) - 1
            for i, (side, key, lots) in enumerate(items):
                self.sequence += 1
                tick = key if side == 0 else -key
                flags = F_SNAPSHOT | (F_LAST if i == last else 0)
                out.append(make(iid, _ADD, _SIDES[side], tick * rpt, pp, lots * rpl, sp, 0, flags, self.sequence, ts, ts))
            self.published = new_books
            return True
        # set differences (deterministic order: int keys hash to themselves)
        ops = []
        for side in (0, 1):
            old, new = self.published[side], new_books[side]
            ops.extend((_DELETE, side, key, 0) for key in old.keys() - new.keys())
        for side in (0, 1):
            old, new = self.published[side], new_books[side]
            ops.extend((_UPDATE if key in old else _ADD, side, key, lots) for key, lots in new.items() - old.items())
        self.published = new_books
        if not ops:
            return False
        last = len(ops) - 1
        seq = self.sequence
        for i, (action, side, key, lots) in enumerate(ops):
            seq += 1
            tick = key if side == 0 else -key
            out.append(make(iid, action, _SIDES[side], tick * rpt, pp, lots * rpl, sp, 0, F_LAST if i == last else 0, seq, ts, ts))
        self.sequence = seq
        return True

    def _mid_ticks(self) -> float:
        return (self.levels[0][0][0] - self.levels[1][0][0]) / 2

    # ----------------------------------------------------------------------------- the loop

    def blocks(self, duration_s: float):
        """Yield ``L2Block`` objects covering ``[start_ns, start_ns + duration_s)``."""
        end_ns = self.start_ns + int(round(duration_s * NANOS_PER_SECOND))
        iid = self.instrument_id
        pp, sp = self.price_precision, self.size_precision
        rpt, rpl = self.raw_per_tick, self.raw_per_lot
        make_trade = TradeTick.from_raw
        tick = self.tick
        while True:
            block_start_ns = self.start_ns + self.block_index * L2_BLOCK_S * NANOS_PER_SECOND
            if block_start_ns >= end_ns:
                return
            rng = stream_rng(self.seed, self.coin, STREAM_L2, self.block_index)
            drawn = self._draw_block(rng, block_start_ns)
            msg_ns, n_msgs, jumps, spreads, sizes, gaps, updates, order_ns, order_buyer, prints, print_lots = drawn
            self.block_index += 1
            block_end_ns = min(block_start_ns + L2_BLOCK_S * NANOS_PER_SECOND, end_ns)
            deltas: list = []
            trades: list = []
            trade_ts: list[int] = []
            trade_px: list[int] = []
            trade_lots: list[int] = []
            levels = self.levels
            n_orders = len(order_ns)
            oi = 0
            pi = 0
            messages = 0
            for k in range(n_msgs + 1):
                next_event_ns = min(msg_ns[k], block_end_ns)  # msg_ns[n_msgs] lies past the block
                # taker orders before the next book message, against the current book
                while oi < n_orders and order_ns[oi] < next_event_ns:
                    ts = order_ns[oi]
                    buyer = order_buyer[oi]
                    book = levels[1] if buyer else levels[0]
                    exhausted = False
                    first_print = pi
                    pi += prints[oi]
                    for j in range(first_print, pi):
                        if not book:
                            break
                        level = book[0]
                        lots = min(print_lots[j], level[1])
                        price_ticks = -level[0] if buyer else level[0]
                        self.trade_count += 1
                        aggressor = _BUYER if buyer else _SELLER
                        trade_id = TradeId(str(self.trade_count))
                        trades.append(make_trade(iid, price_ticks * rpt, pp, lots * rpl, sp, aggressor, trade_id, ts, ts))
                        trade_ts.append(ts)
                        trade_px.append(price_ticks)
                        trade_lots.append(lots)
                        level[1] -= lots
                        if level[1] == 0:
                            book.pop(0)
                            exhausted = True
                    if exhausted and levels[0] and levels[1]:
                        latent = math.exp(self.log_mid) / tick
                        mid = self._mid_ticks()
                        latent = max(latent, mid) if buyer else min(latent, mid)
                        self.log_mid = math.log(latent * tick)
                    oi += 1
                if k == n_msgs or msg_ns[k] >= end_ns:
                    break
                ts = msg_ns[k]
                if jumps[k]:
                    self.log_mid += jumps[k] * self.jump_log
                spread = spreads[k]
                bid = math.floor(math.exp(self.log_mid) / tick - spread / 2 + 0.5)
                row_sizes, row_gaps, row_updates = sizes[k], gaps[k], updates[k]
                self._shape_side(levels[0], bid, row_sizes[0], row_gaps[0], row_updates[0])
                self._shape_side(levels[1], -(bid + spread), row_sizes[1], row_gaps[1], row_updates[1])
                if self._emit_message(ts, deltas):
                    messages += 1
            self.next_msg_ns = msg_ns[n_msgs]
            yield L2Block(
                deltas=deltas,
                trades=trades,
                trade_ts_ns=np.asarray(trade_ts, dtype=np.int64),
                trade_price_ticks=np.asarray(trade_px, dtype=np.int64),
                trade_lots=np.asarray(trade_lots, dtype=np.int64),
                messages=messages,
            )
            if block_end_ns >= end_ns:
                return


def generate_l2_day(
    coin: str,
    start_ns: int,
    duration_s: float,
    seed: int,
    params: CoinSynthParams | None = None,
    depth_update_scale: float = DEFAULT_DEPTH_UPDATE_SCALE,
) -> tuple[list[OrderBookDelta], list[TradeTick]]:
    """``(deltas, trades)`` of ``duration_s`` seconds of synthetic L2 for ``coin`` from ``start_ns``.

    Instrument ``{COIN}-USDC-PERP.HL`` (``instruments.make_perpetual``); ts_event = ts_init.
    """
    sim = L2Simulator(coin, start_ns, seed, params, depth_update_scale)
    deltas: list = []
    trades: list = []
    for block in sim.blocks(duration_s):
        deltas.extend(block.deltas)
        trades.extend(block.trades)
    return deltas, trades


# ------------------------------------------------------------------------------------- bars


@dataclass
class BarArrays:
    """OHLCV of consecutive bars as float arrays (prices in USD, volume in base units) and close times."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    close_ns: np.ndarray

    def __len__(self) -> int:
        return len(self.close)

    @staticmethod
    def concat(parts: list["BarArrays"]) -> "BarArrays":
        parts = [p for p in parts if len(p)]
        return BarArrays(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("open", "high", "low", "close", "volume", "close_ns")))

    def aggregate(self, factor: int) -> "BarArrays":
        """Bars of ``factor`` consecutive bars (an incomplete tail is dropped)."""
        n = len(self) // factor * factor
        shape = (-1, factor)
        return BarArrays(
            self.open[:n].reshape(shape)[:, 0],
            self.high[:n].reshape(shape).max(axis=1),
            self.low[:n].reshape(shape).min(axis=1),
            self.close[:n].reshape(shape)[:, -1],
            self.volume[:n].reshape(shape).sum(axis=1),
            self.close_ns[:n].reshape(shape)[:, -1],
        )


def _ar1(rng: np.random.Generator, n: int, phi: float, std: float) -> np.ndarray:
    """A stationary zero-mean AR(1) path ``x[t] = phi x[t-1] + e[t]`` of length ``n`` with std ``std``.

    Vectorised in blocks: inside a block, ``x[b+j] = phi^j (phi x[b-1] + sum_{s<=j} phi^-s e[b+s])``,
    the block short enough that ``phi^-j`` stays below e^50.
    """
    phi = min(max(phi, 1e-6), 1 - 1e-9)
    shocks = rng.standard_normal(n) * std * math.sqrt(1 - phi**2)
    previous = rng.standard_normal() * std
    block = max(1, min(n, int(50 / -math.log(phi))))
    powers = phi ** np.arange(block, dtype=float)
    inverse = 1.0 / powers
    out = np.empty(n)
    for b in range(0, n, block):
        e = shocks[b : b + block]
        m = len(e)
        out[b : b + m] = powers[:m] * (phi * previous + np.cumsum(e * inverse[:m]))
        previous = out[b + m - 1]
    return out


def simulate_minute_bars(
    coin: str,
    start_ns: int,
    minutes: int,
    seed: int,
    drift: float = 0.0,
    params: CoinSynthParams | None = None,
    start_price: float | None = None,
) -> BarArrays:
    """One-minute OHLCV of the bar random walk (see the module docstring), close times from
    ``start_ns + 1 min``. ``drift`` is the annual drift of the log price."""
    p = params or params_for(coin)
    rng = stream_rng(seed, coin, STREAM_BARS)
    steps_per_minute = 60 // BAR_SUBSTEP_S
    n_steps = minutes * steps_per_minute
    steps_per_day = 86400 // BAR_SUBSTEP_S
    phi = max(p.vol_daily_log_ac1, 1e-3) ** (1.0 / steps_per_day)
    log_vol = _ar1(rng, n_steps, phi, p.vol_daily_log_std)
    var_h = p.vol_daily_log_std**2
    sigma_step = p.vol_5m_bps * 1e-4 / math.sqrt(300 / BAR_SUBSTEP_S)
    t_scale = math.sqrt((STUDENT_T_DOF - 2) / STUDENT_T_DOF)
    shocks = rng.standard_t(STUDENT_T_DOF, n_steps) * t_scale
    drift_step = drift * BAR_SUBSTEP_S / (365 * 86400)
    returns = sigma_step * np.exp(log_vol - var_h) * shocks + drift_step
    log_open = math.log(start_price if start_price is not None else p.price_usd)
    path = log_open + np.cumsum(returns).reshape(minutes, steps_per_minute)
    opens = np.concatenate(([log_open], path[:-1, -1]))
    highs = np.maximum(path.max(axis=1), opens)
    lows = np.minimum(path.min(axis=1), opens)
    # volume: lognormal, scaled by the vol state; mean = the measured mean 5-minute volume / 5
    # (one noise draw per 5 minutes, its variance net of the vol state's, so that 5-minute volumes
    # have about the measured log mean and log std)
    mean_minute_volume = math.exp(p.volume_5m_log_mean + p.volume_5m_log_std**2 / 2) / 5
    vol_state = log_vol.reshape(minutes, steps_per_minute).mean(axis=1)
    noise_std = math.sqrt(max(p.volume_5m_log_std**2 - var_h, 0.01))
    noise = np.repeat(rng.standard_normal(-(-minutes // 5)) * noise_std, 5)[:minutes]
    volume = mean_minute_volume * np.exp(vol_state - var_h / 2 + noise - noise_std**2 / 2)
    close_ns = int(start_ns) + NANOS_PER_MINUTE * np.arange(1, minutes + 1, dtype=np.int64)
    return BarArrays(np.exp(opens), np.exp(highs), np.exp(lows), np.exp(path[:, -1]), volume, close_ns)


def bar_type_for(coin: str, interval_minutes: int) -> BarType:
    """``{COIN}-USDC-PERP.HL-5-MINUTE-LAST-EXTERNAL`` (``1-HOUR`` for 60 minutes)."""
    spec = f"{interval_minutes // 60}-HOUR" if interval_minutes % 60 == 0 else f"{interval_minutes}-MINUTE"
    return BarType.from_str(f"{instrument_id_for(coin)}-{spec}-LAST-EXTERNAL")


def lattice_walk_bars(
    coin: str,
    start_ns: int,
    n_bars: int,
    seed: int,
    bar_seconds: int = 1,
    steps_per_bar: int = 100,
    start_price: float | None = None,
) -> list[Bar]:
    """``n_bars`` bars of ``bar_seconds`` (``1-SECOND`` bars by default) of a +-1-tick random walk
    with ``steps_per_bar`` steps per bar (module docstring). Per-bar volatility is
    ``sqrt(steps_per_bar)`` ticks: 10 ticks for the defaults, 1 bp of BTC at 100,000 USD.

    The first bar opens at ``start_price`` (default: the coin's synthetic price) rounded to the
    tick; bar i closes at ``start_ns + (i + 1) * bar_seconds``; ``ts_event = ts_init`` = that close.
    """
    p = params_for(coin)
    sz_decimals = p.sz_decimals
    price = float(start_price if start_price is not None else p.price_usd)
    pp = hl_rules.price_decimals(sz_decimals)
    start_units = int(_hl_price_units(np.array([price]), sz_decimals)[0])  # the start price in 10**-pp units
    tick_exp = min(max(math.floor(math.log10(price)) - (hl_rules.MAX_SIG_FIGS - 1), -pp), 0)
    tick = 10 ** (tick_exp + pp)  # one tick in 10**-pp units
    rng = stream_rng(seed, coin, STREAM_BARS, block=bar_seconds)
    steps = rng.integers(0, 2, size=(n_bars, steps_per_bar), dtype=np.int64) * 2 - 1
    path = start_units + tick * np.cumsum(steps.reshape(-1)).reshape(n_bars, steps_per_bar)
    opens = np.concatenate(([start_units], path[:-1, -1]))
    highs = np.maximum(path.max(axis=1), opens)
    lows = np.minimum(path.min(axis=1), opens)
    if lows.min() <= 0:
        raise ConfigError(f"lattice_walk_bars: the walk reached a price <= 0 (start {price}, {n_bars} bars); raise start_price")
    bar_type = BarType.from_str(f"{instrument_id_for(coin)}-{bar_seconds}-SECOND-LAST-EXTERNAL")
    raw_price = 10 ** (FIXED_PRECISION - pp)
    raw_lot = 10 ** (FIXED_PRECISION - sz_decimals)
    close_ns = int(start_ns) + int(bar_seconds) * NANOS_PER_SECOND * np.arange(1, n_bars + 1, dtype=np.int64)
    volume = steps_per_bar * raw_lot  # nominal: one lot per step
    return [
        Bar.from_raw(bar_type, o * raw_price, h * raw_price, lo * raw_price, c * raw_price, pp, volume, sz_decimals, ts, ts)
        for o, h, lo, c, ts in zip(opens.tolist(), highs.tolist(), lows.tolist(), path[:, -1].tolist(), close_ns.tolist())
    ]


def _hl_price_units(prices: np.ndarray, sz_decimals: int) -> np.ndarray:
    """Prices rounded to Hyperliquid's tick at each price, in units of 10**-price_decimals (int64)."""
    price_decimals = hl_rules.price_decimals(sz_decimals)
    tick_exp = np.clip(np.floor(np.log10(prices)) - (hl_rules.MAX_SIG_FIGS - 1), -price_decimals, 0).astype(np.int64)
    step_units = 10 ** (tick_exp + price_decimals)
    return np.maximum(np.rint(prices * 10.0**price_decimals / step_units), 1).astype(np.int64) * step_units


def bars_to_objects(coin: str, bars: BarArrays, interval_minutes: int, sz_decimals: int | None = None) -> list[Bar]:
    """Nautilus ``Bar`` objects (ts_event = ts_init = close time) on Hyperliquid's price grid."""
    if sz_decimals is None:
        sz_decimals = hl_rules.sz_decimals_for(coin)
    bar_type = bar_type_for(coin, interval_minutes)
    pp = hl_rules.price_decimals(sz_decimals)
    o, h, lo, c = (_hl_price_units(a, sz_decimals) for a in (bars.open, bars.high, bars.low, bars.close))
    h = np.maximum(h, np.maximum(o, c))
    lo = np.minimum(lo, np.minimum(o, c))
    lots = np.rint(bars.volume * 10**sz_decimals).astype(np.int64)
    raw_price = 10 ** (FIXED_PRECISION - pp)
    raw_lot = 10 ** (FIXED_PRECISION - sz_decimals)
    make = Bar.from_raw
    return [
        make(bar_type, oo * raw_price, hh * raw_price, ll * raw_price, cc * raw_price, pp, vv * raw_lot, sz_decimals, ts, ts)
        for oo, hh, ll, cc, vv, ts in zip(o.tolist(), h.tolist(), lo.tolist(), c.tolist(), lots.tolist(), bars.close_ns.tolist())
    ]


def generate_bars(
    coin: str,
    start_ns: int,
    days: float,
    seed: int,
    interval_minutes: int = 5,
    drift: float = 0.0,
    params: CoinSynthParams | None = None,
    start_price: float | None = None,
) -> list[Bar]:
    """Bars of ``interval_minutes`` (5 -> ``5-MINUTE``, 60 -> ``1-HOUR``) over ``days`` from ``start_ns``.

    The same seed gives the same underlying path whatever the interval, so 1-hour bars aggregate
    the 5-minute ones exactly. ``drift``: annual log drift (0 = driftless).
    """
    p = params or params_for(coin)
    minutes = int(round(days * 1440)) // interval_minutes * interval_minutes
    minute_bars = simulate_minute_bars(coin, start_ns, minutes, seed, drift, p, start_price)
    return bars_to_objects(coin, minute_bars.aggregate(interval_minutes), interval_minutes, p.sz_decimals)


def bars_from_trades(
    trade_ts_ns: np.ndarray,
    trade_prices: np.ndarray,
    trade_sizes: np.ndarray,
    start_ns: int,
    n_bars: int,
    interval_ns: int,
    opening_price: float,
) -> BarArrays:
    """LAST bars aggregated from trades; a bar without trades is flat at the previous close."""
    bar_index = (np.asarray(trade_ts_ns, dtype=np.int64) - start_ns) // interval_ns
    inside = (bar_index >= 0) & (bar_index < n_bars)
    bar_index, prices, sizes = bar_index[inside], np.asarray(trade_prices, float)[inside], np.asarray(trade_sizes, float)[inside]
    frame = pd.DataFrame({"bar": bar_index, "price": prices, "size": sizes})
    grouped = frame.groupby("bar")
    agg = pd.DataFrame(
        {
            "open": grouped["price"].first(),
            "high": grouped["price"].max(),
            "low": grouped["price"].min(),
            "close": grouped["price"].last(),
            "volume": grouped["size"].sum(),
        },
    ).reindex(range(n_bars))
    close = agg["close"].ffill().fillna(opening_price).to_numpy()
    previous_close = np.concatenate(([opening_price], close[:-1]))
    flat = agg["open"].isna().to_numpy()
    opens = np.where(flat, previous_close, agg["open"].to_numpy())
    highs = np.where(flat, previous_close, agg["high"].to_numpy())
    lows = np.where(flat, previous_close, agg["low"].to_numpy())
    volume = agg["volume"].fillna(0.0).to_numpy()
    close_ns = start_ns + interval_ns * np.arange(1, n_bars + 1, dtype=np.int64)
    return BarArrays(opens, highs, lows, close, volume, close_ns)


# ---------------------------------------------------------------------------------- funding


def generate_funding(
    coin: str,
    start_ns: int,
    hours: int,
    seed: int,
    params: CoinSynthParams | None = None,
) -> list[FundingRateUpdate]:
    """Hourly funding rates at every top of the hour in ``(start_ns, start_ns + hours h]``:
    a stationary AR(1) with the measured mean, std and hour-to-hour persistence (interval 60)."""
    p = params or params_for(coin)
    rng = stream_rng(seed, coin, STREAM_FUNDING)
    first_ns = (int(start_ns) // NANOS_PER_HOUR + 1) * NANOS_PER_HOUR
    count = (int(start_ns) + int(hours) * NANOS_PER_HOUR - first_ns) // NANOS_PER_HOUR + 1
    times = first_ns + NANOS_PER_HOUR * np.arange(count, dtype=np.int64)
    rates = p.funding_mean + _ar1(rng, len(times), p.funding_phi, p.funding_std)
    iid = instrument_id_for(coin)
    return [
        FundingRateUpdate(iid, Decimal(f"{rate:.10f}"), ts_event=ts, ts_init=ts, interval=60, next_funding_ns=None)
        for rate, ts in zip(rates.tolist(), times.tolist())
    ]


# ---------------------------------------------------------------------------------- catalog


def start_time_ns(start: str | int, name: str = "start") -> int:
    """The synthetic market's first time (ISO time or unix ns) as unix ns; a ``ConfigError``
    naming ``name`` unless it is a time on a whole hour (UTC)."""
    start_ns = parse_time_ns(start, name)
    if start_ns is None or start_ns % NANOS_PER_HOUR:
        raise ConfigError(f"{name} {start!r} must be a time on a whole hour (UTC)")
    return start_ns


def write_synthetic_catalog(
    catalog_path,
    coins=COINS,
    l2_hours: float = 24,
    bar_days: float = 365,
    seed: int = 7,
    start: str = "2025-01-01",
    progress: bool = True,
    replace: bool = False,
    depth_update_scale: float = DEFAULT_DEPTH_UPDATE_SCALE,
) -> ImportSummary:
    """Write the synthetic market of ``coins`` into a Parquet catalog (all-or-nothing).

    Per coin: the instrument (``make_perpetual``); L2 deltas and trades for ``l2_hours`` from
    ``start``; 5-minute and 1-hour bars for ``bar_days`` from ``start``; hourly funding over the
    longer of the two spans. Bars and book tell one price history: bars over the L2 window are
    aggregated from its trades, and the bar random walk continues from the last L2 trade.
    ``start`` (ISO time or unix ns) must fall on a whole hour (UTC). Bad arguments (an unknown
    coin, a negative span or seed, a start that is not a time) raise ``ConfigError``.
    """
    t0 = time.perf_counter()
    start_ns = start_time_ns(start)
    for name, value in (("l2_hours", l2_hours), ("bar_days", bar_days), ("seed", seed)):
        if not value >= 0:
            raise ConfigError(f"{name} must be >= 0, got {value!r}")
    coins = tuple(c.upper() for c in coins)
    for coin in coins:
        params_for(coin)  # a clear error for unknown coins before anything is written
    l2_s = float(l2_hours) * 3600
    bar_interval_ns = 5 * NANOS_PER_MINUTE
    n_bars_5m = int(round(float(bar_days) * 288))
    n_l2_bars = min(math.ceil(l2_s * NANOS_PER_SECOND / bar_interval_ns), n_bars_5m)
    funding_hours = math.ceil(max(l2_s / 3600, n_bars_5m / 12))
    summary = ImportSummary(source=f"synthetic market (seed {seed})", catalog_path=str(catalog_path))
    n_blocks = math.ceil(l2_s / L2_BLOCK_S)
    bar = progress_bar("synthetic market", "block", progress, total=len(coins) * (n_blocks + 1))
    with bar, StagedCatalogWriter(catalog_path, replace=replace) as writer:
        for coin in coins:
            p = params_for(coin)
            instrument = make_perpetual(coin)
            writer.write([instrument])
            counts = summary.counts(instrument.id)
            sim = L2Simulator(coin, start_ns, seed, p, depth_update_scale)
            deltas_out = CatalogBatcher(writer, WRITE_BATCH)
            trades_out = CatalogBatcher(writer, WRITE_BATCH)
            trade_parts = []
            for block in sim.blocks(l2_s):
                deltas_out.extend(block.deltas)
                trades_out.extend(block.trades)
                counts.deltas += len(block.deltas)
                counts.trades += len(block.trades)
                counts.book_messages += block.messages
                trade_parts.append((block.trade_ts_ns, block.trade_price_ticks, block.trade_lots))
                bar.update(1)
            deltas_out.flush()
            trades_out.flush()
            if counts.deltas:
                counts.snapshots = 1
                counts.observe(deltas_out.first_ts_init, deltas_out.last_ts_init)

            # bars: the L2 window aggregated from its trades, then the bar random walk
            parts = []
            opening_price = p.price_usd
            if n_l2_bars:
                ts = np.concatenate([t[0] for t in trade_parts]) if trade_parts else np.zeros(0, np.int64)
                prices = np.concatenate([t[1] for t in trade_parts]) * sim.tick if trade_parts else np.zeros(0)
                sizes = np.concatenate([t[2] for t in trade_parts]) / sim.lots_per_base if trade_parts else np.zeros(0)
                parts.append(bars_from_trades(ts, prices, sizes, start_ns, n_l2_bars, bar_interval_ns, p.price_usd))
                opening_price = float(parts[0].close[-1])
            walk_minutes = (n_bars_5m - n_l2_bars) * 5
            if walk_minutes > 0:
                walk_start_ns = start_ns + n_l2_bars * bar_interval_ns
                minute_bars = simulate_minute_bars(coin, walk_start_ns, walk_minutes, seed, 0.0, p, opening_price)
                parts.append(minute_bars.aggregate(5))
            if parts:
                bars_5m = BarArrays.concat(parts)
                for interval, arrays in ((5, bars_5m), (60, bars_5m.aggregate(12))):
                    objs = bars_to_objects(coin, arrays, interval, p.sz_decimals)
                    writer.write(objs)
                    counts.bars += len(objs)
                counts.observe(int(bars_5m.close_ns[0]), int(bars_5m.close_ns[-1]))

            funding = generate_funding(coin, start_ns, funding_hours, seed, p)
            writer.write(funding)
            counts.funding += len(funding)
            if funding:
                counts.observe(funding[0].ts_init, funding[-1].ts_init)
            bar.update(1)
        report = writer.commit()
    summary.files_added = report.files_added
    summary.files_replaced = report.files_replaced
    summary.notes.append(
        f"L2 {l2_hours:g} h, bars {bar_days:g} d (5-minute and 1-hour), funding {funding_hours} h from {start}; "
        f"seed {seed}, depth_update_scale {depth_update_scale:g}",
    )
    summary.elapsed_s = time.perf_counter() - t0
    return summary
