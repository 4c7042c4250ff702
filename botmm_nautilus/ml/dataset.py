"""The fill / adverse-selection dataset: candidate quotes with features known at t and labels after t.

``read_market(catalog, instrument_id)`` reads one instrument's order book deltas and trades from a
Nautilus ``ParquetDataCatalog`` as columns (pyarrow; no Nautilus object per row) in replay order:
``ts_init``, the order a backtest sees them, trades before book deltas at equal ``ts_init``.

``build_dataset(market, settings)`` replays them in that order through a book and one
``core.fill_features.FillFeatures`` (the class the strategy's adjuster uses) and, every
``sample_interval_s`` of replay time ``t``, emits for each side and each distance in
``distances_ticks`` (0 = at the touch, k = k ticks behind it) a candidate quote with

* features: ``FillFeatures.features(t, side, price)`` after every event stamped ``<= t`` and none
  later (the book's first ``book_levels`` levels, the mids and trades so far);
* labels, from events stamped strictly after ``t`` only:

  - ``filled`` (``fill_rule="queue"``, the default): within ``(t, t + horizon_s]`` a trade prints
    strictly through the price (bid: below it; ask: above it), or the size printed AT the price
    since ``t`` exceeds the size displayed at that price at ``t`` (we would have joined the back of
    that level; cancellations ahead of us are ignored, so this errs towards fewer fills).
    ``fill_rule="touch"``: any trade at or through the price within ``(t, t + horizon_s]``.
    ``fill_ts`` is the time of the trade that completes the rule.
  - ``markout_bps``: for a filled candidate, the move of the mid from the quote price to the mid
    at ``fill_ts + markout_s`` (the last mid at or before it), signed against us (bid, we bought:
    ``(price - mid_later)/price``; ask: ``(mid_later - price)/price``; x1e4); + = a loss.
  - ``adverse``: filled and ``markout_bps > adverse_threshold_bps``.

  A candidate is kept only when its whole label window ``(t, t + horizon_s + markout_s]`` lies
  inside the data, when the book is two-sided and not crossed at ``t``, and when the book was
  updated within ``max_book_age_s`` before ``t`` (no samples across recording gaps).

Progress: a tqdm bar on stderr over the events when ``progress`` is on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import numpy as np

from botmm_nautilus.core.fill_features import FEATURE_NAMES
from botmm_nautilus.core.fill_features import FillFeatures
from botmm_nautilus.data._common import progress_bar
from botmm_nautilus.errors import DataError
from botmm_nautilus.fixed_point import decode_fixed_point
from botmm_nautilus.venue import rules as hl_rules

NANOS_PER_SECOND = 1_000_000_000
FILL_RULES = ("queue", "touch")

# Nautilus enum values as stored in the Parquet columns
_ADD, _UPDATE, _DELETE, _CLEAR = 1, 2, 3, 4
_BUY, _SELL = 1, 2
_BUYER = 1
_F_LAST = 128


@dataclass(frozen=True)
class DatasetSettings:
    """How candidates are sampled and labelled (see the module doc); ``features`` settings go to ``FillFeatures``."""

    sample_interval_s: float = 1.0
    distances_ticks: tuple[int, ...] = (0, 1, 2, 5)
    horizon_s: float = 5.0
    markout_s: float = 5.0
    adverse_threshold_bps: float = 0.0
    fill_rule: str = "queue"
    book_levels: int = 10
    flow_window_s: float = 10.0
    vol_window_s: float = 60.0
    depth_levels: int = 5
    max_book_age_s: float = 30.0

    def __post_init__(self) -> None:
        for name in ("sample_interval_s", "horizon_s", "markout_s", "flow_window_s", "vol_window_s", "max_book_age_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be > 0, got {getattr(self, name)!r}")
        if self.fill_rule not in FILL_RULES:
            raise ValueError(f"fill_rule: {self.fill_rule!r} is not one of {', '.join(FILL_RULES)}")
        if not self.distances_ticks or any(int(d) != d or d < 0 for d in self.distances_ticks):
            raise ValueError(f"distances_ticks: must be whole numbers >= 0, got {self.distances_ticks!r}")
        if self.book_levels < max(self.depth_levels, max(self.distances_ticks) + 1):
            raise ValueError(f"book_levels: must be >= depth_levels and > the largest distance, got {self.book_levels}")

    @property
    def label_span_s(self) -> float:
        """How far after ``t`` a label may look: ``horizon_s + markout_s``."""
        return self.horizon_s + self.markout_s

    def feature_settings(self) -> dict:
        return {"horizon_s": self.horizon_s, "flow_window_s": self.flow_window_s,
                "vol_window_s": self.vol_window_s, "depth_levels": self.depth_levels}


@dataclass
class Market:
    """One instrument's book deltas and trades as columns (integer prices/sizes with ``px_dp``/``sz_dp`` decimals)."""

    instrument_id: str
    tick_size: float
    px_dp: int
    sz_dp: int
    # book deltas in replay order
    d_ts: np.ndarray
    d_action: np.ndarray
    d_side: np.ndarray
    d_px: np.ndarray
    d_sz: np.ndarray
    d_last: np.ndarray  # bool: the last delta of a book message
    # trades in replay order
    t_ts: np.ndarray
    t_px: np.ndarray
    t_sz: np.ndarray
    t_buyer: np.ndarray  # bool: aggressor was the buyer

    def window(self, start_ns: int | None, end_ns: int | None) -> Market:
        """The rows with ``start_ns <= ts <= end_ns``."""
        lo = -(2**62) if start_ns is None else start_ns
        hi = 2**62 if end_ns is None else end_ns
        d = (self.d_ts >= lo) & (self.d_ts <= hi)
        t = (self.t_ts >= lo) & (self.t_ts <= hi)
        return Market(self.instrument_id, self.tick_size, self.px_dp, self.sz_dp, self.d_ts[d], self.d_action[d],
                      self.d_side[d], self.d_px[d], self.d_sz[d], self.d_last[d], self.t_ts[t], self.t_px[t],
                      self.t_sz[t], self.t_buyer[t])


@dataclass
class Dataset:
    """Candidates (rows) with features ``X`` (``FEATURE_NAMES`` columns) and labels; see the module doc."""

    instrument_id: str
    tick_size: float
    settings: DatasetSettings
    ts_ns: np.ndarray
    is_bid: np.ndarray
    distance_ticks: np.ndarray
    price: np.ndarray
    X: np.ndarray
    filled: np.ndarray
    fill_ts_ns: np.ndarray
    markout_bps: np.ndarray
    adverse: np.ndarray
    feature_names: tuple = FEATURE_NAMES
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ts_ns)


# ------------------------------------------------------------------------------------ reading


def _parquet_files(catalog: Path, kind: str, instrument_id: str) -> list[Path]:
    folder = catalog / "data" / kind / instrument_id
    return sorted(folder.glob("*.parquet")) if folder.is_dir() else []


def _read(file: Path, columns: list[str]):
    import pyarrow.parquet as pq

    try:
        return pq.read_table(file, columns=columns)
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign file
        raise DataError(f"catalog file {file}: cannot be read as Nautilus data ({exc})") from None


def _precision(table, key: str, file: Path) -> int:
    raw = (table.schema.metadata or {}).get(key.encode())
    if raw is None:
        raise DataError(f"catalog file {file}: no {key} in the Parquet metadata")
    return int(raw)


def _tick_size(catalog: Path, instrument_id: str, px_dp: int, sz_dp: int, first_mid: float | None) -> float:
    """The instrument's price increment; on Hyperliquid (``.HL``) its effective tick at the first mid
    (5 significant figures) when that is coarser."""
    tick = 10.0 ** -px_dp
    try:
        from nautilus_trader.persistence.catalog import ParquetDataCatalog

        for inst in ParquetDataCatalog(os.fspath(catalog)).instruments(instrument_ids=[instrument_id]):
            tick = float(inst.price_increment)
    except Exception:  # noqa: BLE001 - no instrument file: the price precision
        pass
    if instrument_id.endswith(".HL") and first_mid:
        tick = max(tick, hl_rules.tick_size(first_mid, sz_dp))
    return tick


def read_market(catalog: str | os.PathLike, instrument_id: str, start_ns: int | None = None,
                end_ns: int | None = None) -> Market:
    """``instrument_id``'s deltas and trades with ``start_ns <= ts_init <= end_ns`` (``DataError`` naming the catalog when none)."""
    cat = Path(catalog)
    if not cat.is_dir():
        raise DataError(f"catalog folder not found: {cat}")
    delta_files = _parquet_files(cat, "order_book_deltas", instrument_id)
    trade_files = _parquet_files(cat, "trade_tick", instrument_id)
    if not delta_files or not trade_files:
        have = sorted(p.name for p in (cat / "data" / "order_book_deltas").glob("*")) if (cat / "data").is_dir() else []
        raise DataError(f"catalog {cat}: no order book deltas and trades for --instrument {instrument_id}"
                        + (f" (instruments with book data: {', '.join(have)})" if have else ""))
    lo = -(2**62) if start_ns is None else start_ns
    hi = 2**62 if end_ns is None else end_ns
    parts_d, parts_t = [], []
    px_dp = sz_dp = None
    for file in delta_files:
        table = _read(file, ["action", "side", "price", "size", "flags", "ts_init"])
        ts = table.column("ts_init").to_numpy().astype(np.int64)
        keep = (ts >= lo) & (ts <= hi)
        if not keep.any():
            continue
        px_dp, sz_dp = _precision(table, "price_precision", file), _precision(table, "size_precision", file)
        parts_d.append((ts[keep], table.column("action").to_numpy()[keep], table.column("side").to_numpy()[keep],
                        decode_fixed_point(table.column("price"), px_dp, str(file))[keep],
                        decode_fixed_point(table.column("size"), sz_dp, str(file))[keep],
                        (table.column("flags").to_numpy()[keep] & _F_LAST) != 0))
    for file in trade_files:
        table = _read(file, ["price", "size", "aggressor_side", "ts_init"])
        ts = table.column("ts_init").to_numpy().astype(np.int64)
        keep = (ts >= lo) & (ts <= hi)
        if not keep.any():
            continue
        t_px_dp, t_sz_dp = _precision(table, "price_precision", file), _precision(table, "size_precision", file)
        if px_dp is not None and (t_px_dp, t_sz_dp) != (px_dp, sz_dp):
            raise DataError(f"catalog file {file}: precision {t_px_dp}/{t_sz_dp} differs from the book's {px_dp}/{sz_dp}")
        parts_t.append((ts[keep], decode_fixed_point(table.column("price"), t_px_dp, str(file))[keep],
                        decode_fixed_point(table.column("size"), t_sz_dp, str(file))[keep],
                        table.column("aggressor_side").to_numpy()[keep] == _BUYER))
    if not parts_d or not parts_t:
        raise DataError(f"catalog {cat}: no order book deltas and trades for {instrument_id} in the requested time range")
    d = [np.concatenate(c) for c in zip(*parts_d)]
    t = [np.concatenate(c) for c in zip(*parts_t)]
    od = np.argsort(d[0], kind="stable")
    ot = np.argsort(t[0], kind="stable")
    d = [c[od] for c in d]
    t = [c[ot] for c in t]
    first_mid = _first_mid(d, px_dp)
    tick = _tick_size(cat, instrument_id, px_dp, sz_dp, first_mid)
    return Market(instrument_id, tick, px_dp, sz_dp, *d, *t)


def _first_mid(d, px_dp: int) -> float | None:
    """Rough mid of the first book message (to pick Hyperliquid's effective tick)."""
    ts, action, side, px = d[0], d[1], d[2], d[3]
    n = min(len(ts), 5000)
    bids = px[:n][(side[:n] == _BUY) & (action[:n] != _DELETE)]
    asks = px[:n][(side[:n] == _SELL) & (action[:n] != _DELETE)]
    if not len(bids) or not len(asks):
        return None
    return 0.5 * (bids.max() + asks.min()) / 10**px_dp


# ----------------------------------------------------------------------------------- building


def build_dataset(market: Market, settings: DatasetSettings = DatasetSettings(), progress: bool = False) -> Dataset:
    """Candidates every ``sample_interval_s`` with features at ``t`` and labels after ``t`` (module doc)."""
    s = settings
    px_scale = 10.0 ** -market.px_dp
    sz_scale = 10.0 ** -market.sz_dp
    tick_int = int(round(market.tick_size / px_scale))
    feats = FillFeatures(market.tick_size, **s.feature_settings())
    step = int(round(s.sample_interval_s * NANOS_PER_SECOND))
    max_age = int(s.max_book_age_s * NANOS_PER_SECOND)
    n_levels = s.book_levels
    dists = [int(k) for k in s.distances_ticks]

    # merged event stream: trades first at equal ts_init (stable sort of trades-then-deltas)
    nt, nd = len(market.t_ts), len(market.d_ts)
    ts_all = np.concatenate([market.t_ts, market.d_ts])
    order = np.argsort(ts_all, kind="stable")
    if nt + nd == 0:
        raise DataError(f"{market.instrument_id}: no events")
    ts_l = ts_all[order].tolist()
    idx_l = order.tolist()
    t_px, t_sz, t_buyer = market.t_px.tolist(), market.t_sz.tolist(), market.t_buyer.tolist()
    d_action, d_side, d_px, d_sz = market.d_action.tolist(), market.d_side.tolist(), market.d_px.tolist(), market.d_sz.tolist()
    d_last = market.d_last.tolist()
    if nd and not any(d_last):  # no message flags: every delta closes a message
        d_last = [True] * nd

    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    mid_ts: list[int] = []
    mid_val: list[float] = []
    last_mid = None
    last_book_ns = None
    end_ns = int(ts_all.max())
    first_ns = int(ts_all.min())
    next_sample = (first_ns // step + 1) * step
    last_sample = end_ns - int(s.label_span_s * NANOS_PER_SECOND)

    rows_ts: list[int] = []
    rows_bid: list[bool] = []
    rows_dist: list[int] = []
    rows_px: list[int] = []
    rows_at_px: list[int] = []  # size displayed at exactly the price at t (queue rule)
    rows_x: list[list[float]] = []

    def emit(t: int) -> None:
        if not bids or not asks or last_book_ns is None or t - last_book_ns > max_age:
            return
        top_b = sorted(bids, reverse=True)[:n_levels]
        top_a = sorted(asks)[:n_levels]
        if top_b[0] >= top_a[0]:
            return
        feats.on_book(t, [(p * px_scale, bids[p] * sz_scale) for p in top_b],
                      [(p * px_scale, asks[p] * sz_scale) for p in top_a])
        for is_bid, best, book in ((True, top_b[0], bids), (False, top_a[0], asks)):
            for k in dists:
                p = best - k * tick_int if is_bid else best + k * tick_int
                rows_ts.append(t)
                rows_bid.append(is_bid)
                rows_dist.append(k)
                rows_px.append(p)
                rows_at_px.append(book.get(p, 0))
                rows_x.append(feats.features(t, is_bid, p * px_scale))

    bar = progress_bar(f"{market.instrument_id} events", "ev", progress, total=len(ts_l))
    for n, (ts, i) in enumerate(zip(ts_l, idx_l)):
        if ts > next_sample:
            while (next_sample < ts and next_sample <= last_sample and last_book_ns is not None
                   and next_sample - last_book_ns <= max_age):
                emit(next_sample)
                next_sample += step
            if next_sample < ts:  # the rest is stale (a gap), before the first book, or past the last sample
                next_sample = ((ts - 1) // step + 1) * step
        if i < nt:
            feats.on_trade(ts, t_px[i] * px_scale, t_sz[i] * sz_scale, t_buyer[i])
        else:
            j = i - nt
            a = d_action[j]
            if a == _CLEAR:
                bids.clear()
                asks.clear()
            else:
                book = bids if d_side[j] == _BUY else asks if d_side[j] == _SELL else None
                if book is not None:
                    if a == _DELETE or d_sz[j] == 0:
                        book.pop(d_px[j], None)
                    else:
                        book[d_px[j]] = d_sz[j]
            if d_last[j]:
                last_book_ns = ts
                if bids and asks:
                    bb, ba = max(bids), min(asks)
                    if bb < ba:
                        mid = 0.5 * (bb + ba) * px_scale
                        if mid != last_mid:
                            feats.on_mid(ts, mid)
                            mid_ts.append(ts)
                            mid_val.append(mid)
                            last_mid = mid
        if n and n % 65536 == 0:
            bar.update(65536)
    bar.close()

    ts_arr = np.asarray(rows_ts, dtype=np.int64)
    is_bid = np.asarray(rows_bid, dtype=bool)
    px_arr = np.asarray(rows_px, dtype=np.int64)
    X = np.asarray(rows_x, dtype=np.float64).reshape(len(rows_x), len(FEATURE_NAMES))
    filled, fill_ts = label_fills(market, ts_arr, is_bid, px_arr, np.asarray(rows_at_px, dtype=np.int64), s)
    markout = markout_bps(np.asarray(mid_ts, dtype=np.int64), np.asarray(mid_val), fill_ts, filled, is_bid,
                          px_arr * px_scale, s.markout_s)
    adverse = filled & (markout > s.adverse_threshold_bps)
    return Dataset(market.instrument_id, market.tick_size, s, ts_arr, is_bid, np.asarray(rows_dist, dtype=np.int64),
                   px_arr * px_scale, X, filled, fill_ts, markout, adverse,
                   info={"events": nt + nd, "trades": nt, "deltas": nd, "mids": len(mid_ts),
                         "first_ns": first_ns, "last_ns": end_ns})


def label_fills(market: Market, ts: np.ndarray, is_bid: np.ndarray, px: np.ndarray, at_px: np.ndarray,
                s: DatasetSettings) -> tuple[np.ndarray, np.ndarray]:
    """``(filled, fill_ts_ns)`` by ``s.fill_rule`` from the trades in ``(t, t + horizon_s]`` (module doc);
    ``fill_ts_ns`` is -1 where not filled. Integer prices and sizes as in ``market``."""
    n = len(ts)
    filled = np.zeros(n, dtype=bool)
    fill_ts = np.full(n, -1, dtype=np.int64)
    if n == 0 or len(market.t_ts) == 0:
        return filled, fill_ts
    horizon = int(round(s.horizon_s * NANOS_PER_SECOND))
    lo = np.searchsorted(market.t_ts, ts, side="right")  # strictly after t
    hi = np.searchsorted(market.t_ts, ts + horizon, side="right")  # up to t + H inclusive
    t_ts, t_px, t_sz = market.t_ts, market.t_px, market.t_sz
    queue = s.fill_rule == "queue"
    for r in np.flatnonzero(hi > lo):
        a, b, p = lo[r], hi[r], px[r]
        w = t_px[a:b]
        if is_bid[r]:
            through, at = w < p, w == p
        else:
            through, at = w > p, w == p
        if queue:
            cum = np.cumsum(np.where(at, t_sz[a:b], 0))
            hit = through | (cum > at_px[r])
        else:
            hit = through | at
        k = int(np.argmax(hit))
        if hit[k]:
            filled[r] = True
            fill_ts[r] = t_ts[a + k]
    return filled, fill_ts


def markout_bps(mid_ts: np.ndarray, mid_val: np.ndarray, fill_ts: np.ndarray, filled: np.ndarray, is_bid: np.ndarray,
                price: np.ndarray, markout_s: float) -> np.ndarray:
    """Markout against us (bps) at ``fill_ts + markout_s`` (the last mid at or before it); NaN where not filled."""
    out = np.full(len(fill_ts), np.nan)
    if not filled.any() or len(mid_ts) == 0:
        return out
    at = fill_ts[filled] + int(round(markout_s * NANOS_PER_SECOND))
    k = np.searchsorted(mid_ts, at, side="right") - 1
    later = mid_val[np.maximum(k, 0)]
    p = price[filled]
    sign = np.where(is_bid[filled], 1.0, -1.0)
    out[filled] = np.where(k >= 0, sign * (p - later) / p * 1e4, np.nan)
    return out


__all__ = ["FILL_RULES", "Dataset", "DatasetSettings", "Market", "build_dataset", "label_fills", "markout_bps", "read_market"]
