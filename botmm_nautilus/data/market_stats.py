"""Market statistics that the synthetic generator is calibrated to and checked against.

The measuring functions take plain numpy arrays (pure numpy/pandas, no Nautilus), so the same code
measures a real recording and a synthetic catalog:

* ``spread_stats``: touch spread in ticks (mean, median, share at one tick, distribution);
* ``depth_stats``: mean size per level 0..19 per side in base units and in USD, the normalised
  profile (pooled sides, sums to 1), the mean distance of each level from the touch in ticks, and
  the per-message update probability of each level;
* ``book_churn``: deltas per book message (levels added, deleted, size-updated) between
  consecutive snapshots, and the share of messages in which the mid moved;
* ``trade_arrival_stats``: prints per second, taker orders (prints sharing one exchange
  timestamp) per second, prints per order, and dispersion (variance/mean of 1 s counts);
* ``trade_size_stats``: mean, median, p90 of print sizes in base units and in USD;
* ``mid_vol_bps``: standard deviation of mid log returns on a regular grid (previous-tick
  resampling; 1 s and 5 m from a book), ``bar_stats`` for OHLCV bars (5 m vol from closes);
* ``funding_stats``: mean, std and lag-1 autocorrelation of hourly funding rates;
* ``tick_bps``: the tick relative to the price.

Loaders: ``stats_from_hl_ws_recording`` (Hyperliquid WebSocket recording folder),
``stats_from_candles`` (Feather candles), ``stats_from_funding`` (Feather funding) and, in the last
section (the only part that imports Nautilus), ``stats_from_catalog``, which replays a catalog's
deltas through a Nautilus ``OrderBook`` and samples the book at message boundaries (``F_LAST``).

Every result is a plain ``dict`` of floats and lists so it prints and compares easily;
``format_comparison`` renders a measured-vs-synthetic table.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from botmm_nautilus.venue import rules as hl_rules

NANOS_PER_SECOND = 1_000_000_000
BOOK_LEVELS = 20
SPREAD_MAX_TICKS = 10  # spread distribution: 1..9 ticks, and 10 = ten or more


# ---------------------------------------------------------------------------------- measures


def tick_bps(tick: float, price: float) -> float:
    """The tick as a fraction of the price, in basis points."""
    return float(tick) / float(price) * 1e4


def spread_stats(best_bid: np.ndarray, best_ask: np.ndarray, tick: float) -> dict:
    """Touch spread in ticks over book samples: ``mean``, ``median``, ``share_1tick`` and ``dist``
    (share of samples at 1..9 ticks and at ``SPREAD_MAX_TICKS`` or more)."""
    spread = np.rint((np.asarray(best_ask, float) - np.asarray(best_bid, float)) / tick)
    spread = spread[np.isfinite(spread)]
    capped = np.clip(spread, 1, SPREAD_MAX_TICKS).astype(int)
    dist = np.bincount(capped, minlength=SPREAD_MAX_TICKS + 1)[1:] / max(len(capped), 1)
    return {
        "spread_ticks_mean": float(spread.mean()),
        "spread_ticks_median": float(np.median(spread)),
        "spread_share_1tick": float(np.mean(spread == 1)),
        "spread_ticks_dist": [float(x) for x in dist],
    }


def depth_stats(
    bid_px: np.ndarray,
    bid_sz: np.ndarray,
    ask_px: np.ndarray,
    ask_sz: np.ndarray,
    tick: float,
) -> dict:
    """Depth profile from snapshots (rows = samples, columns = levels best first; NaN = no level).

    ``depth_{bid,ask}_base`` / ``_usd``: mean size per level; ``depth_profile``: pooled mean size
    per level divided by its sum; ``level_distance_ticks``: mean distance from the touch;
    ``touch_size_median_base``: median size at the touch (pooled sides).
    """
    bid_px, bid_sz, ask_px, ask_sz = (np.asarray(a, float) for a in (bid_px, bid_sz, ask_px, ask_sz))
    depth_bid = np.nanmean(bid_sz, axis=0)
    depth_ask = np.nanmean(ask_sz, axis=0)
    pooled = (depth_bid + depth_ask) / 2
    dist_bid = np.nanmean((bid_px[:, :1] - bid_px) / tick, axis=0)
    dist_ask = np.nanmean((ask_px - ask_px[:, :1]) / tick, axis=0)
    return {
        "depth_bid_base": depth_bid.tolist(),
        "depth_ask_base": depth_ask.tolist(),
        "depth_bid_usd": np.nanmean(bid_sz * bid_px, axis=0).tolist(),
        "depth_ask_usd": np.nanmean(ask_sz * ask_px, axis=0).tolist(),
        "depth_profile": (pooled / pooled.sum()).tolist(),
        "level_distance_ticks": ((dist_bid + dist_ask) / 2).tolist(),
        "touch_size_median_base": float(np.nanmedian(np.concatenate([bid_sz[:, 0], ask_sz[:, 0]]))),
    }


def book_churn(bid_px: np.ndarray, bid_sz: np.ndarray, ask_px: np.ndarray, ask_sz: np.ndarray) -> dict:
    """What changes between consecutive snapshots (as an incremental feed would send it).

    ``deltas_per_message`` = (adds + deletes + updates) per snapshot transition, each also given
    separately; ``level_update_prob``: per level index, the share of transitions in which a level
    that was already there (same price) changed size; ``mid_move_share``: share of transitions in
    which the mid changed.
    """
    n = len(bid_px)
    adds = deletes = updates = 0
    present = np.zeros(bid_px.shape[1])
    changed = np.zeros(bid_px.shape[1])
    for side_px, side_sz in ((bid_px, bid_sz), (ask_px, ask_sz)):
        prev = None
        for k in range(n):
            cur = {p: s for p, s in zip(side_px[k].tolist(), side_sz[k].tolist()) if p == p}
            if prev is not None:
                deletes += sum(1 for p in prev if p not in cur)
                for i, (p, s) in enumerate(cur.items()):
                    old = prev.get(p)
                    if old is None:
                        adds += 1
                    else:
                        present[i] += 1
                        if old != s:
                            updates += 1
                            changed[i] += 1
            prev = cur
    transitions = max(n - 1, 1)
    mid = (np.asarray(bid_px[:, 0], float) + np.asarray(ask_px[:, 0], float)) / 2
    return {
        "deltas_per_message": (adds + deletes + updates) / transitions,
        "adds_per_message": adds / transitions,
        "deletes_per_message": deletes / transitions,
        "updates_per_message": updates / transitions,
        "level_update_prob": (changed / np.maximum(present, 1)).tolist(),
        "mid_move_share": float(np.mean(np.diff(mid) != 0)) if n > 1 else 0.0,
    }


def mid_vol_bps(ts_ns: np.ndarray, mid: np.ndarray, interval_s: float = 1.0) -> float:
    """Standard deviation (bps) of mid log returns on a regular ``interval_s`` grid.

    The mid is resampled previous-tick: the value at a grid point is the last observation at or
    before it. Grid points before the first observation are skipped.
    """
    ts_ns = np.asarray(ts_ns, dtype=np.int64)
    log_mid = np.log(np.asarray(mid, float))
    step = int(round(interval_s * NANOS_PER_SECOND))
    grid = np.arange(ts_ns[0], ts_ns[-1] + 1, step, dtype=np.int64)
    idx = np.searchsorted(ts_ns, grid, side="right") - 1
    returns = np.diff(log_mid[idx])
    return float(returns.std() * 1e4) if len(returns) > 1 else float("nan")


def bar_stats(opens, highs, lows, closes, volumes) -> dict:
    """Statistics of consecutive OHLCV bars of one interval.

    ``bar_vol_bps``: std of close-to-close log returns; ``bar_mean_return_bps`` and
    ``bar_mean_return_se_bps`` (its standard error); ``bar_excess_kurtosis``;
    ``bar_range_to_vol``: mean log(high/low) over the return std; ``bar_volume_median`` (base
    units); ``bar_count``.
    """
    opens, highs, lows, closes, volumes = (np.asarray(a, float) for a in (opens, highs, lows, closes, volumes))
    returns = np.diff(np.log(closes))
    vol = returns.std()
    return {
        "bar_count": int(len(closes)),
        "bar_vol_bps": float(vol * 1e4),
        "bar_mean_return_bps": float(returns.mean() * 1e4),
        "bar_mean_return_se_bps": float(vol / np.sqrt(max(len(returns), 1)) * 1e4),
        "bar_excess_kurtosis": float(pd.Series(returns).kurt()),
        "bar_range_to_vol": float(np.mean(np.log(highs / lows)) / vol),
        "bar_volume_median": float(np.median(volumes)),
    }


def trade_arrival_stats(ts_ns: np.ndarray, span_s: float) -> dict:
    """Arrival statistics of trade prints over ``span_s`` seconds.

    Prints sharing one timestamp are one taker order (Hyperliquid prints one trade per maker fill).
    ``trade_rate_per_s`` (prints), ``taker_orders_per_s``, ``prints_per_order_mean``,
    ``prints_single_share`` (orders with one print), ``order_interarrival_cv`` (1 for Poisson) and
    ``trade_count_dispersion`` (variance/mean of prints per 1 s bucket; 1 for Poisson prints).
    """
    ts_ns = np.sort(np.asarray(ts_ns, dtype=np.int64))
    _, per_order = np.unique(ts_ns, return_counts=True)
    order_ts = np.unique(ts_ns)
    gaps = np.diff(order_ts).astype(float)
    buckets = np.bincount(((ts_ns - ts_ns[0]) // NANOS_PER_SECOND).astype(np.int64))
    return {
        "trade_rate_per_s": len(ts_ns) / span_s,
        "taker_orders_per_s": len(order_ts) / span_s,
        "prints_per_order_mean": float(per_order.mean()),
        "prints_single_share": float(np.mean(per_order == 1)),
        "order_interarrival_cv": float(gaps.std() / gaps.mean()) if len(gaps) > 1 else float("nan"),
        "trade_count_dispersion": float(buckets.var() / buckets.mean()) if buckets.mean() > 0 else float("nan"),
    }


def trade_size_stats(sizes: np.ndarray, prices: np.ndarray, is_buyer: np.ndarray | None = None) -> dict:
    """Print sizes: mean, median and p90 in base units and USD; ``buy_share`` when sides are given."""
    sizes = np.asarray(sizes, float)
    usd = sizes * np.asarray(prices, float)
    out = {
        "trade_size_mean_base": float(sizes.mean()),
        "trade_size_median_base": float(np.median(sizes)),
        "trade_size_p90_base": float(np.quantile(sizes, 0.9)),
        "trade_size_mean_usd": float(usd.mean()),
        "trade_size_median_usd": float(np.median(usd)),
        "trade_size_p90_usd": float(np.quantile(usd, 0.9)),
    }
    if is_buyer is not None:
        out["buy_share"] = float(np.mean(np.asarray(is_buyer, bool)))
    return out


def funding_stats(rates: np.ndarray) -> dict:
    """Hourly funding: ``funding_mean``, ``funding_std`` and ``funding_phi`` (lag-1 autocorrelation)."""
    rates = np.asarray(rates, float)
    return {
        "funding_mean": float(rates.mean()),
        "funding_std": float(rates.std()),
        "funding_phi": float(np.corrcoef(rates[1:], rates[:-1])[0, 1]),
        "funding_count": int(len(rates)),
    }


def book_stats(ts_ns, bid_px, bid_sz, ask_px, ask_sz, tick: float, churn: bool = True) -> dict:
    """All book statistics of a snapshot series (rows best-first levels; NaN where absent)."""
    ts_ns = np.asarray(ts_ns, dtype=np.int64)
    mid = (np.asarray(bid_px[:, 0], float) + np.asarray(ask_px[:, 0], float)) / 2
    price = float(np.mean(mid))
    out = {
        "book_samples": int(len(ts_ns)),
        "book_span_s": float((ts_ns[-1] - ts_ns[0]) / NANOS_PER_SECOND),
        "book_interval_s": float(np.mean(np.diff(ts_ns)) / NANOS_PER_SECOND),
        "price_mean": price,
        "tick": float(tick),
        "tick_bps": tick_bps(tick, price),
        "vol_1s_bps": mid_vol_bps(ts_ns, mid, 1.0),
        "vol_5m_mid_bps": mid_vol_bps(ts_ns, mid, 300.0),
    }
    out.update(spread_stats(bid_px[:, 0], ask_px[:, 0], tick))
    out.update(depth_stats(bid_px, bid_sz, ask_px, ask_sz, tick))
    if churn:
        out.update(book_churn(bid_px, bid_sz, ask_px, ask_sz))
    return out


def trade_stats(ts_ns, prices, sizes, is_buyer, span_s: float) -> dict:
    out = trade_arrival_stats(ts_ns, span_s)
    out.update(trade_size_stats(sizes, prices, is_buyer))
    return out


def effective_tick(price: float, sz_decimals: int) -> float:
    """Hyperliquid's tick at ``price`` (5 significant figures, capped by the decimal rule)."""
    return hl_rules.tick_size(price, sz_decimals)


# ----------------------------------------------------------------------------------- loaders


def read_ws_book(path: Path, levels: int = BOOK_LEVELS):
    """``(exchange ts_ns, bid_px, bid_sz, ask_px, ask_sz)`` of a recording's ``orderbooks_*.csv.gz``
    (arrays samples x levels, best level first, NaN where a level is absent)."""
    frame = pd.read_csv(path)
    ts_ns = frame["exchange_timestamp"].to_numpy(dtype=np.int64) * 1_000_000
    cols = {}
    for name in ("bid_price", "bid_size", "ask_price", "ask_size"):
        cols[name] = np.stack(
            [frame[f"{name}_{i}"].to_numpy(dtype=float) if f"{name}_{i}" in frame else np.full(len(frame), np.nan) for i in range(levels)],
            axis=1,
        )
    return ts_ns, cols["bid_price"], cols["bid_size"], cols["ask_price"], cols["ask_size"]


def stats_from_hl_ws_recording(directory: str | os.PathLike, coin: str) -> dict:
    """Book and trade statistics of one coin of a Hyperliquid WebSocket recording folder.

    Reads ``orderbooks_{COIN}.csv.gz`` and ``trades_{COIN}.csv.gz``. Times are exchange times.
    The first trade rows are the venue's recent-trades snapshot sent on subscribe (exchange time
    before the first book); they are dropped, and the trade span is the book span.
    """
    directory = Path(directory)
    coin = coin.upper()
    ts_ns, bid_px, bid_sz, ask_px, ask_sz = read_ws_book(directory / f"orderbooks_{coin}.csv.gz")
    sz_decimals = hl_rules.sz_decimals_for(coin)
    mid_mean = float(np.nanmean((bid_px[:, 0] + ask_px[:, 0]) / 2))
    tick = effective_tick(mid_mean, sz_decimals)
    out = {"coin": coin, "source": f"{directory.name} recording", "sz_decimals": sz_decimals}
    out.update(book_stats(ts_ns, bid_px, bid_sz, ask_px, ask_sz, tick))

    trades = pd.read_csv(directory / f"trades_{coin}.csv.gz")
    trade_ts = trades["exchange_timestamp"].to_numpy(dtype=np.int64) * 1_000_000
    keep = (trade_ts >= ts_ns[0]) & (trade_ts <= ts_ns[-1])
    trades = trades[keep]
    is_buyer = trades["side"].astype(str).str.lower().isin(["buy", "b"]).to_numpy()
    out.update(
        trade_stats(trade_ts[keep], trades["price"].to_numpy(float), trades["size"].to_numpy(float), is_buyer, out["book_span_s"]),
    )
    return out


def read_candles(feather_path: str | os.PathLike) -> pd.DataFrame:
    """Feather candles (``date, open, high, low, close, volume``) sorted by time."""
    return pd.read_feather(feather_path).sort_values("date").reset_index(drop=True)


def stats_from_candles(feather_path: str | os.PathLike, last_days: float | None = None) -> dict:
    """Bar statistics of a Feather candle file (``bar_stats``), optionally of its last ``last_days``.

    Also ``vol_daily_log_std`` and ``vol_daily_log_ac1``: the standard deviation and lag-1
    autocorrelation of the log of each UTC day's realised vol (vol clustering), and
    ``volume_log_mean``/``volume_log_std`` of bar volumes (base units, zero-volume bars excluded).
    """
    frame = read_candles(feather_path)
    if last_days is not None:
        frame = frame[frame["date"] >= frame["date"].iloc[-1] - pd.Timedelta(days=last_days)]
    out = {"source": Path(feather_path).name, "first": str(frame["date"].iloc[0]), "last": str(frame["date"].iloc[-1])}
    out.update(bar_stats(frame["open"], frame["high"], frame["low"], frame["close"], frame["volume"]))
    returns = np.diff(np.log(frame["close"].to_numpy(float)))
    days = frame["date"].iloc[1:].dt.floor("D").to_numpy()
    daily = pd.Series(returns).groupby(days).std().dropna()
    log_daily = np.log(daily[daily > 0].to_numpy())
    out["vol_daily_log_std"] = float(log_daily.std())
    out["vol_daily_log_ac1"] = float(np.corrcoef(log_daily[1:], log_daily[:-1])[0, 1])
    volume = frame["volume"].to_numpy(float)
    log_volume = np.log(volume[volume > 0])
    out["volume_log_mean"] = float(log_volume.mean())
    out["volume_log_std"] = float(log_volume.std())
    out["close_last"] = float(frame["close"].iloc[-1])
    return out


def stats_from_funding(feather_path: str | os.PathLike, last_days: float | None = 365) -> dict:
    """``funding_stats`` of a Feather funding file (rate in ``open``), by default of its last year."""
    frame = read_candles(feather_path)
    if last_days is not None:
        frame = frame[frame["date"] >= frame["date"].iloc[-1] - pd.Timedelta(days=last_days)]
    out = {"source": Path(feather_path).name}
    out.update(funding_stats(frame["open"].to_numpy(float)))
    return out


# ------------------------------------------------------------------------------- comparison


def format_comparison(rows: list[tuple], title: str = "") -> str:
    """A text table of ``(name, measured, synthetic, tolerance text, ok)`` rows."""

    def fmt(x) -> str:
        if isinstance(x, (bool, np.bool_)):
            return str(bool(x))
        if isinstance(x, (int, np.integer)):
            return str(int(x))
        if isinstance(x, (float, np.floating)):
            ax = abs(float(x))
            if ax != 0 and (ax >= 1e5 or ax < 1e-3):
                return f"{float(x):.3e}"
            return f"{float(x):.4g}"
        return str(x)

    header = f"{'statistic':<34} {'measured':>12} {'synthetic':>12}  {'tolerance':<22} ok"
    lines = [title, header, "-" * len(header)] if title else [header, "-" * len(header)]
    for name, measured, synthetic, tolerance, ok in rows:
        lines.append(f"{name:<34} {fmt(measured):>12} {fmt(synthetic):>12}  {tolerance:<22} {'yes' if ok else 'NO'}")
    return "\n".join(lines)


# ------------------------------------------------------------------- catalog (imports Nautilus)


class BookReplay:
    """An instrument's order book in a catalog, replayed through a Nautilus ``OrderBook`` (L2_MBP) one
    Parquet file at a time (memory stays flat for long catalogs).

    ``messages()`` yields ``(ts_event, book)`` at every message boundary (a delta with ``F_LAST``)
    whose ``ts_event`` is in [start_ns, end_ns]. The replay starts at the first file whatever
    ``start_ns`` is, so the book is whole at ``start_ns`` (an importer writes a snapshot only at the
    start and after gaps). ``deltas_in_period`` counts the deltas with ``ts_event`` in the period;
    ``log``, when given, gets one progress line per file of a multi-file book.
    """

    def __init__(self, catalog, catalog_path, instrument_id: str, start_ns: int | None = None,
                 end_ns: int | None = None, log=None) -> None:
        from botmm_nautilus.data.catalog_io import file_interval

        self.catalog = catalog
        self.instrument_id = str(instrument_id)
        folder = Path(catalog_path) / "data" / "order_book_deltas" / self.instrument_id
        files = sorted((iv, p) for p in folder.glob("*.parquet") if (iv := file_interval(p)) is not None)
        self.intervals = [iv for iv, _ in files if end_ns is None or iv[0] <= end_ns]
        self.start_ns = start_ns if start_ns is not None else -1
        self.end_ns = end_ns if end_ns is not None else 2**63 - 1
        self.log = log
        self.deltas_in_period = 0

    def messages(self):
        from nautilus_trader.model.book import OrderBook
        from nautilus_trader.model.enums import BookType
        from nautilus_trader.model.enums import RecordFlag
        from nautilus_trader.model.identifiers import InstrumentId

        book = OrderBook(InstrumentId.from_str(self.instrument_id), BookType.L2_MBP)
        f_last = int(RecordFlag.F_LAST)
        lo, hi = self.start_ns, self.end_ns
        read = 0
        for k, (f_start, f_end) in enumerate(self.intervals, 1):
            deltas = self.catalog.order_book_deltas(instrument_ids=[self.instrument_id], start=f_start, end=f_end)
            read += len(deltas)
            for delta in deltas:
                book.apply_delta(delta)
                ts = delta.ts_event
                if lo <= ts <= hi:
                    self.deltas_in_period += 1
                    if delta.flags & f_last:
                        yield ts, book
            if self.log is not None and len(self.intervals) > 1:
                self.log(f"{self.instrument_id}: book file {k}/{len(self.intervals)} read ({read:,} deltas)")


def stats_from_catalog(
    catalog_path: str | os.PathLike,
    instrument_id: str,
    sample_every: int = 1,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> dict:
    """Statistics of what a backtest reads from a catalog for one instrument.

    Deltas are applied to a Nautilus ``OrderBook`` (L2_MBP); at every ``sample_every``-th message
    boundary (a delta with ``F_LAST``) the top ``BOOK_LEVELS`` levels are sampled for the depth,
    spread and churn statistics; the best bid/ask is recorded at every boundary for the 1 s
    volatility. ``deltas_per_message`` is counted from the stream itself. ``book_crossed_messages``
    counts boundaries with best bid >= best ask. Trades, 5-minute and 1-hour bars and funding are
    read when present.
    """
    from nautilus_trader.model.data import FundingRateUpdate
    from nautilus_trader.model.enums import AggressorSide
    from nautilus_trader.model.identifiers import InstrumentId
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    catalog = ParquetDataCatalog(str(catalog_path))
    iid = InstrumentId.from_str(str(instrument_id))
    instrument = catalog.instruments(instrument_ids=[str(iid)])[0]
    sz_decimals = int(instrument.size_precision)
    out: dict = {"coin": str(iid).split("-")[0], "source": f"catalog {Path(catalog_path).name}", "sz_decimals": sz_decimals}

    replay = BookReplay(catalog, catalog_path, str(iid), start_ns, end_ns)
    top_ts: list[int] = []
    top_bid: list[float] = []
    top_ask: list[float] = []
    crossed = 0
    samples_ts: list[int] = []
    rows: list[list[float]] = []
    messages = 0
    nan_row = [np.nan] * BOOK_LEVELS
    for ts_event, book in replay.messages():
        messages += 1
        bid = book.best_bid_price()
        ask = book.best_ask_price()
        if bid is None or ask is None:
            continue
        bid_f, ask_f = bid.as_double(), ask.as_double()
        if bid_f >= ask_f:
            crossed += 1
        top_ts.append(ts_event)
        top_bid.append(bid_f)
        top_ask.append(ask_f)
        if messages % sample_every == 0:
            row = []
            for levels in (book.bids(), book.asks()):
                px = [lv.price.as_double() for lv in levels[:BOOK_LEVELS]]
                sz = [lv.size() for lv in levels[:BOOK_LEVELS]]
                pad = BOOK_LEVELS - len(px)
                row.append(px + nan_row[:pad])
                row.append(sz + nan_row[:pad])
            samples_ts.append(ts_event)
            rows.append(row)
    if rows:
        arr = np.asarray(rows, dtype=float)  # samples x 4 x levels (bid px, bid sz, ask px, ask sz)
        top_ts_arr = np.asarray(top_ts, dtype=np.int64)
        mid = (np.asarray(top_bid) + np.asarray(top_ask)) / 2
        tick = effective_tick(float(mid.mean()), sz_decimals)
        sample_ts = np.asarray(samples_ts, dtype=np.int64)
        out.update(book_stats(sample_ts, arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], tick, churn=sample_every == 1))
        # 1 s vol, mid-move share and spread from every message, not only the sampled ones
        out["vol_1s_bps"] = mid_vol_bps(top_ts_arr, mid, 1.0)
        out["vol_5m_mid_bps"] = mid_vol_bps(top_ts_arr, mid, 300.0)
        out["mid_move_share"] = float(np.mean(np.diff(mid) != 0))
        out.update(spread_stats(np.asarray(top_bid), np.asarray(top_ask), tick))
        out["book_messages"] = messages
        out["book_interval_s"] = float(np.mean(np.diff(top_ts_arr)) / NANOS_PER_SECOND)
        out["book_span_s"] = float((top_ts_arr[-1] - top_ts_arr[0]) / NANOS_PER_SECOND)
        out["deltas"] = replay.deltas_in_period
        out["deltas_per_message"] = replay.deltas_in_period / max(messages, 1)
        out["book_crossed_messages"] = crossed

    trades = catalog.trade_ticks(instrument_ids=[str(iid)], start=start_ns, end=end_ns)
    if trades:
        ts = np.fromiter((t.ts_event for t in trades), dtype=np.int64, count=len(trades))
        prices = np.fromiter((t.price.as_double() for t in trades), dtype=float, count=len(trades))
        sizes = np.fromiter((t.size.as_double() for t in trades), dtype=float, count=len(trades))
        buyer = np.fromiter((t.aggressor_side == AggressorSide.BUYER for t in trades), dtype=bool, count=len(trades))
        span_s = out.get("book_span_s") or (ts[-1] - ts[0]) / NANOS_PER_SECOND
        out.update(trade_stats(ts, prices, sizes, buyer, span_s))

    for label, spec in (("5m", "5-MINUTE"), ("1h", "1-HOUR")):
        bar_type = f"{iid}-{spec}-LAST-EXTERNAL"
        try:
            bars = catalog.bars(bar_types=[bar_type], start=start_ns, end=end_ns)
        except Exception:  # noqa: BLE001 - no such bar type in this catalog
            bars = []
        if bars:
            cols = [
                np.fromiter((getattr(b, f).as_double() for b in bars), dtype=float, count=len(bars))
                for f in ("open", "high", "low", "close", "volume")
            ]
            out.update({f"{key}_{label}": value for key, value in bar_stats(*cols).items()})

    try:
        funding = catalog.query(FundingRateUpdate, identifiers=[str(iid)], start=start_ns, end=end_ns)
    except Exception:  # noqa: BLE001 - no funding in this catalog
        funding = []
    if funding:
        out.update(funding_stats(np.array([float(u.rate) for u in funding])))
    return out
