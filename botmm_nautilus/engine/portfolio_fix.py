"""Work-arounds for measured Nautilus 1.231 costs, applied to a built engine or node.

``Portfolio`` records every closed position's realised PnL in its ``PortfolioAnalyzer`` with
``pd.concat`` of the whole history plus one row (``analysis/analyzer.py::_append_pnl_record``):
O(n^2) in the number of closed positions. A NETTING market maker closes a position every time
its inventory crosses zero (thousands of times a day), so over a year of bars this single call
took >10% of the run and grows without bound in a long live session. We never read Nautilus's
analyzer (our reports compute every statistic from the fills), so the analyzer instance gets a
``record_trade`` that appends to plain lists in O(1); ``recorded_trades()`` returns them.
"""

from __future__ import annotations

import types


def _record_trade(self, position_id, realized_pnl, ts_event=None) -> None:
    self._botmm_trades.append((position_id.value, realized_pnl.as_double(), str(realized_pnl.currency), ts_event))


def _recorded_trades(self) -> list[tuple]:
    return list(self._botmm_trades)


def make_trade_recording_cheap(portfolio) -> None:
    """Replace ``portfolio.analyzer.record_trade`` (quadratic pandas concat) by an O(1) append."""
    analyzer = portfolio.analyzer
    if getattr(analyzer, "_botmm_trades", None) is not None:
        return
    analyzer._botmm_trades = []
    analyzer.record_trade = types.MethodType(_record_trade, analyzer)
    analyzer.recorded_trades = types.MethodType(_recorded_trades, analyzer)
