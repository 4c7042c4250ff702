"""The features of a candidate passive quote, known at its decision time: ONE definition.

``FillFeatures`` is a streaming tracker fed in time order with the book's first levels
(``on_book``), every mid change (``on_mid``) and every market trade (``on_trade``). At a decision
time ``t`` it returns, for a candidate quote (side, price), the feature vector of ``FEATURE_NAMES``
computed only from what it was fed up to ``t`` (events stamped at or before ``t``). The dataset
builder (``botmm_nautilus.ml.dataset``) and the strategy's adjuster
(``core.fill_model.FillModelAdjuster``) both use this class, so the model is served exactly the
features it was trained on.

Features (``side_sign`` = +1 for a bid, -1 for an ask; "toward our side" = the direction that
fills us):

* ``is_bid``: 1 for a bid, 0 for an ask.
* ``dist_ticks``: distance of the price from the mid away from the market, in ticks
  (bid: (mid - price)/tick; ask: (price - mid)/tick); half a spread at the touch.
* ``dist_vol``: the same distance in units of the mid's volatility over ``horizon_s``
  (dist / (sigma_per_sqrt_s·√horizon_s)); ``DIST_VOL_CAP`` when the volatility is still 0.
* ``queue_ahead``: displayed size (base units) at prices at or better than ours on our side
  (bid: levels with price >= ours; ask: price <= ours), over the levels fed.
* ``queue_ahead_flow_s``: ``queue_ahead`` / (size traded against our side per second over
  ``flow_window_s``), capped at ``QUEUE_FLOW_CAP_S``: seconds of recent flow the queue represents.
* ``imbalance``: (our side - other side) / (sum) of the sizes of the first ``depth_levels`` levels.
* ``touch_imbalance``: the same for the touch level only.
* ``flow_toward``: (size of trades hitting our side - size hitting the other side) / (total),
  over ``flow_window_s`` (0 without trades): +1 = all aggressors trade toward us.
* ``trade_rate_per_s``: trades per second over ``flow_window_s``.
* ``mid_ret_bps``: mid change over ``flow_window_s`` toward our side, in bps (bid: down = +).
* ``vol_bps``: volatility of the mid, bps per √s: √(Σ r² / vol_window_s) over mid log returns in
  the trailing ``vol_window_s``.
* ``spread_ticks``, ``spread_bps``: touch spread.
* ``since_trade_s``: seconds since the last market trade (``SINCE_TRADE_CAP_S`` before the first).

Causality: every input is an event the caller has already seen; nothing is read ahead.
Pure Python (no Nautilus, no I/O).
"""

from __future__ import annotations

import math
from collections import deque

FEATURE_NAMES = (
    "is_bid",
    "dist_ticks",
    "dist_vol",
    "queue_ahead",
    "queue_ahead_flow_s",
    "imbalance",
    "touch_imbalance",
    "flow_toward",
    "trade_rate_per_s",
    "mid_ret_bps",
    "vol_bps",
    "spread_ticks",
    "spread_bps",
    "since_trade_s",
)

DIST_VOL_CAP = 1_000.0
QUEUE_FLOW_CAP_S = 3_600.0
SINCE_TRADE_CAP_S = 3_600.0
NANOS_PER_SECOND = 1_000_000_000


class FillFeatures:
    """Streaming feature tracker (see the module doc). ``tick_size`` in price units."""

    def __init__(self, tick_size: float, horizon_s: float = 5.0, flow_window_s: float = 10.0,
                 vol_window_s: float = 60.0, depth_levels: int = 5) -> None:
        if not tick_size > 0:
            raise ValueError(f"tick_size: must be > 0, got {tick_size!r}")
        for name, value in (("horizon_s", horizon_s), ("flow_window_s", flow_window_s), ("vol_window_s", vol_window_s)):
            if not value > 0:
                raise ValueError(f"{name}: must be > 0, got {value!r}")
        if depth_levels < 1:
            raise ValueError(f"depth_levels: must be >= 1, got {depth_levels!r}")
        self.tick_size = float(tick_size)
        self.horizon_s = float(horizon_s)
        self.depth_levels = int(depth_levels)
        self._flow_ns = int(flow_window_s * NANOS_PER_SECOND)
        self._flow_s = float(flow_window_s)
        self._vol_ns = int(vol_window_s * NANOS_PER_SECOND)
        self._vol_s = float(vol_window_s)
        self.bids: tuple = ()  # ((price, size), ...) best first
        self.asks: tuple = ()
        # trades in the flow window: (ts, size, aggressor_is_buyer); running sums
        self._trades: deque = deque()
        self._buy_vol = 0.0
        self._sell_vol = 0.0
        self._last_trade_ns: int | None = None
        # mid returns in the vol window: (ts, r²); mids in the flow window: (ts, mid)
        self._rets: deque = deque()
        self._sum_r2 = 0.0
        self._mids: deque = deque()
        self._mid: float | None = None

    # ------------------------------------------------------------------------------- events

    def on_book(self, ts_ns: int, bids, asks) -> None:
        """The book's first levels, ``(price, size)`` best first, as of ``ts_ns``."""
        self.bids = tuple(bids)
        self.asks = tuple(asks)

    def on_mid(self, ts_ns: int, mid: float) -> None:
        """The mid changed to ``mid`` at ``ts_ns``."""
        if not mid > 0:
            return
        prev = self._mid
        if prev is not None and mid != prev:
            r = math.log(mid / prev)
            self._rets.append((ts_ns, r * r))
            self._sum_r2 += r * r
        self._mid = mid
        self._mids.append((ts_ns, mid))
        self._expire(ts_ns)

    def on_trade(self, ts_ns: int, price: float, size: float, aggressor_is_buyer: bool) -> None:
        """A market trade (``aggressor_is_buyer``: the buyer lifted the ask)."""
        self._trades.append((ts_ns, size, aggressor_is_buyer))
        if aggressor_is_buyer:
            self._buy_vol += size
        else:
            self._sell_vol += size
        self._last_trade_ns = ts_ns
        self._expire(ts_ns)

    def _expire(self, now_ns: int) -> None:
        flow_cut = now_ns - self._flow_ns
        trades = self._trades
        while trades and trades[0][0] <= flow_cut:
            _, size, buyer = trades.popleft()
            if buyer:
                self._buy_vol -= size
            else:
                self._sell_vol -= size
        rets = self._rets
        vol_cut = now_ns - self._vol_ns
        while rets and rets[0][0] <= vol_cut:
            self._sum_r2 -= rets.popleft()[1]
        mids = self._mids
        while len(mids) > 1 and mids[1][0] <= flow_cut:  # keep the last mid at or before the window start
            mids.popleft()
        if not trades:
            self._buy_vol = self._sell_vol = 0.0  # no drift from float subtraction
        if not rets:
            self._sum_r2 = 0.0

    # ----------------------------------------------------------------------------- readings

    @property
    def ready(self) -> bool:
        """Both sides of the book known and not crossed."""
        return bool(self.bids) and bool(self.asks) and self.bids[0][0] < self.asks[0][0]

    def vol_bps(self) -> float:
        """Volatility of the mid in bps per √s over the trailing ``vol_window_s``."""
        return math.sqrt(max(self._sum_r2, 0.0) / self._vol_s) * 1e4

    def features(self, ts_ns: int, is_bid: bool, price: float) -> list[float]:
        """The feature vector (``FEATURE_NAMES`` order) of a quote at ``price`` on a side, at ``ts_ns``.

        ``ts_ns`` must not be before the last event fed; the book must be ``ready``."""
        self._expire(ts_ns)
        bids, asks = self.bids, self.asks
        best_bid, best_ask = bids[0][0], asks[0][0]
        mid = 0.5 * (best_bid + best_ask)
        tick = self.tick_size
        sign = 1.0 if is_bid else -1.0
        dist_px = (mid - price) * sign
        sigma_px = self.vol_bps() * 1e-4 * mid * math.sqrt(self.horizon_s)
        dist_vol = dist_px / sigma_px if sigma_px > 0 else math.copysign(DIST_VOL_CAP, dist_px or 1.0)
        dist_vol = max(-DIST_VOL_CAP, min(DIST_VOL_CAP, dist_vol))
        ours, other = (bids, asks) if is_bid else (asks, bids)
        queue = 0.0
        for px, sz in ours:
            if (px >= price) if is_bid else (px <= price):
                queue += sz
            else:
                break
        # trades that fill our side: sellers hit bids, buyers lift asks
        toward = self._sell_vol if is_bid else self._buy_vol
        away = self._buy_vol if is_bid else self._sell_vol
        total = toward + away
        flow_toward = (toward - away) / total if total > 0 else 0.0
        rate_toward = toward / self._flow_s
        queue_flow = min(queue / rate_toward, QUEUE_FLOW_CAP_S) if rate_toward > 0 else (0.0 if queue <= 0 else QUEUE_FLOW_CAP_S)
        n = self.depth_levels
        own_depth = sum(sz for _, sz in ours[:n])
        other_depth = sum(sz for _, sz in other[:n])
        depth = own_depth + other_depth
        imbalance = (own_depth - other_depth) / depth if depth > 0 else 0.0
        own_touch, other_touch = ours[0][1], other[0][1]
        touch = own_touch + other_touch
        touch_imbalance = (own_touch - other_touch) / touch if touch > 0 else 0.0
        mid_then = self._mids[0][1] if self._mids else mid
        mid_ret_bps = -sign * (mid - mid_then) / mid_then * 1e4 if mid_then > 0 else 0.0
        spread = best_ask - best_bid
        since = (ts_ns - self._last_trade_ns) / NANOS_PER_SECOND if self._last_trade_ns is not None else SINCE_TRADE_CAP_S
        return [
            1.0 if is_bid else 0.0,
            dist_px / tick,
            dist_vol,
            queue,
            queue_flow,
            imbalance,
            touch_imbalance,
            flow_toward,
            len(self._trades) / self._flow_s,
            mid_ret_bps,
            self.vol_bps(),
            spread / tick,
            spread / mid * 1e4,
            min(since, SINCE_TRADE_CAP_S),
        ]


__all__ = ["FEATURE_NAMES", "FillFeatures"]
