"""Test-only ``MarketMaker`` subclasses with a planted look-ahead: they read the catalog's future.

Used to show that the causality and null tests can fail. ``CATALOG`` must be set to the catalog the
run reads before the run starts (the runs happen in-process).
"""

from __future__ import annotations

import bisect

from nautilus_trader.model.data import Bar
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from botmm_nautilus.strategies import MarketMaker

CATALOG: str | None = None
BOOK_PEEK_NS = 30_000_000_000  # the book peeker centres on the last trade price 30 s ahead


class NextCloseMaker(MarketMaker):
    """Candle mode: quotes from bar t are centred on bar t+1's close (read from the catalog)."""

    def on_start(self) -> None:
        super().on_start()
        bars = ParquetDataCatalog(CATALOG).bars(bar_types=[self.config.bar_type])
        self._next = {a.ts_init: b for a, b in zip(bars, bars[1:])}

    def on_bar(self, bar: Bar) -> None:
        nxt = self._next.get(bar.ts_init)
        if nxt is None:
            return super().on_bar(bar)
        close = nxt.close
        high = bar.high if bar.high >= close else close
        low = bar.low if bar.low <= close else close
        super().on_bar(Bar(bar.bar_type, bar.open, high, low, close, bar.volume, bar.ts_event, bar.ts_init))


class FutureTradeMaker(MarketMaker):
    """Book mode: every decision is centred on the last trade price ``BOOK_PEEK_NS`` ahead (from the catalog)."""

    def on_start(self) -> None:
        super().on_start()
        trades = ParquetDataCatalog(CATALOG).trade_ticks(instrument_ids=[str(self.config.instrument_id)])
        self._trade_ts = [t.ts_init for t in trades]
        self._trade_px = [t.price.as_double() for t in trades]

    def _requote(self, ts: int) -> None:
        i = bisect.bisect_right(self._trade_ts, ts + BOOK_PEEK_NS) - 1
        core = self.core
        if i < 0 or not core.mid == core.mid:
            return super()._requote(ts)
        shift = self._trade_px[i] - core.mid
        saved = core.mid, core.best_bid, core.best_ask
        core.mid, core.best_bid, core.best_ask = core.mid + shift, core.best_bid + shift, core.best_ask + shift
        try:
            super()._requote(ts)
        finally:
            core.mid, core.best_bid, core.best_ask = saved
