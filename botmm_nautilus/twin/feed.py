"""Market pushes: ``bbo`` at once when the touch changes; ``l2Book``, ``activeAssetCtx`` and ``allMids`` throttled.

The venue pushes ``l2Book`` on change but at least 0.5 s apart per coin; the twin does the same
with ``l2_book_min_interval_ms`` and also spaces ``allMids``/``activeAssetCtx`` by
``market_push_interval_ms`` (both 500 ms by default). Changes are marked with
:meth:`MarketFeed.coin_changed`; :meth:`MarketFeed.flush` pushes each marked view whose interval
has passed since its last push.
"""

from __future__ import annotations

from . import views
from .state import TwinState

_NEVER = -(10**15)


class MarketFeed:
    """Which market views changed since their last push, and when each was last pushed."""

    def __init__(self, state: TwinState) -> None:
        self.state = state
        self._l2_dirty: set[str] = set()
        self._l2_last_push: dict[str, int] = {}
        self._ctx_dirty: set[str] = set()
        self._ctx_last_push: dict[str, int] = {}
        self._mids_dirty = False
        self._mids_last_push = _NEVER
        self._last_bbo: dict[str, tuple] = {}

    def coin_changed(self, coin: str, now_ms: int) -> None:
        """A coin's displayed book may have changed: bbo now, l2Book/allMids/ctx at the next flush."""
        state = self.state
        bbo = views.bbo_tuple(state, coin)
        if bbo != self._last_bbo.get(coin):
            self._last_bbo[coin] = bbo
            state.emit(("bbo", coin), views.bbo_wire(state, coin, now_ms))
        self._l2_dirty.add(coin)
        self._ctx_dirty.add(coin)
        self._mids_dirty = True

    def flush(self, now_ms: int) -> None:
        """Push the changed views whose interval has passed."""
        state = self.state
        cfg = state.config
        for coin in list(self._l2_dirty):
            if now_ms - self._l2_last_push.get(coin, _NEVER) >= cfg.l2_book_min_interval_ms:
                self._l2_dirty.discard(coin)
                self._l2_last_push[coin] = now_ms
                state.emit(("l2Book", coin), views.l2_book_wire(state, coin, now_ms))
        for coin in list(self._ctx_dirty):
            if now_ms - self._ctx_last_push.get(coin, _NEVER) >= cfg.market_push_interval_ms:
                self._ctx_dirty.discard(coin)
                self._ctx_last_push[coin] = now_ms
                state.emit(("activeAssetCtx", coin), views.active_asset_ctx_wire(state, coin, now_ms))
        if self._mids_dirty and now_ms - self._mids_last_push >= cfg.market_push_interval_ms:
            self._mids_dirty = False
            self._mids_last_push = now_ms
            state.emit(("allMids",), {"mids": views.all_mids(state)})
