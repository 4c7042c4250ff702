"""``AdaptiveMarketMaker``: the ``MarketMaker`` with adaptive features (``AdaptiveCore``, core/adaptive.py).

The same strategy in every respect (order management, risk, flatten, tape) except its decision
core: ``AdaptiveCore`` with the adjusters ``build_adjusters(config.adaptive)`` switches on. Our fills
go to the core as ``OwnFill`` with the mid before the fill. The features' logged state changes are
drained after every decision: each is an INFO log line and is kept, up to ``MAX_KEPT_CHANGES`` (the
oldest dropped), in ``changes`` for the report, with ``change_counts`` per feature over the run.
With every feature off the core quotes exactly as ``MarketMaker``'s.
"""

from __future__ import annotations

from collections import deque

from nautilus_trader.model.enums import LiquiditySide
from nautilus_trader.model.events import OrderFilled

from botmm_nautilus.core.adaptive import AdaptiveCore
from botmm_nautilus.core.adaptive import build_adjusters
from botmm_nautilus.core.adjust import OwnFill

from .config import AdaptiveMarketMakerConfig
from .market_maker import MarketMaker
from .model_files import load_fill_model

MAX_KEPT_CHANGES = 1_000


class AdaptiveMarketMaker(MarketMaker):
    def __init__(self, config: AdaptiveMarketMakerConfig) -> None:
        super().__init__(config)
        self.changes: deque = deque(maxlen=MAX_KEPT_CHANGES)
        self.change_counts: dict[str, int] = {}

    def _make_core(self) -> AdaptiveCore:
        c = self.config
        model = load_fill_model(c.fill_model.path) if c.fill_model.enabled else None
        adjusters = build_adjusters(c.adaptive, c.toxicity, c.autotune, c.sizing, c.fill_model, model=model,
                                    quoting=c.quoting, maker_fee_bps=c.maker_fee_bps)
        return super()._make_core(AdaptiveCore, adjusters=adjusters)

    def _on_own_fill(self, event: OrderFilled, is_buy: bool, price: float, qty: float) -> None:
        core = self.core
        core.on_fill(OwnFill(event.ts_event, is_buy, price, qty, core.mid, event.liquidity_side == LiquiditySide.MAKER))

    def _requote(self, ts: int) -> None:
        super()._requote(ts)
        self._drain_changes()

    def _drain_changes(self) -> None:
        core = self.core
        changes = core.drain_changes() if core is not None else None
        if changes:
            counts = self.change_counts
            for ch in changes:
                self.log.info(f"adaptive {ch.source}: {ch.text}")
                self.changes.append(ch)
                counts[ch.source] = counts.get(ch.source, 0) + 1

    def adaptive_report(self) -> dict:
        """For the backtest JSON: each feature's state, the number of logged changes per feature,
        and the last 20 logged changes (changes not yet logged are logged first)."""
        self._drain_changes()
        core = self.core
        return {
            "features": [a.name for a in core.adjusters] if core is not None else [],
            "state": core.adaptive_state() if core is not None else {},
            "changes_logged": dict(self.change_counts),
            "last_changes": [{"ts_ns": ch.ts_ns, "source": ch.source, "text": ch.text} for ch in list(self.changes)[-20:]],
        }


def adaptive_summary(strategy) -> dict | None:
    """An adaptive strategy's features (``AdaptiveMarketMaker.adaptive_report``: their state, the
    number of changes each logged and the last ones) for the backtest and live summaries; None for
    another strategy."""
    report = getattr(strategy, "adaptive_report", None)
    return report() if report is not None else None
