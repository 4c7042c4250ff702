"""The input of the reporting layer: everything one backtest run produced, as plain frames and numbers.

The backtest runner fills a ``BacktestArtifacts`` from a Nautilus run; the reports (``metrics``,
``attribution``, ``html``) read only this object, so they can be tested on hand-built scenarios and
never import Nautilus.

Sign conventions (used everywhere in ``botmm_nautilus.reports``):

- ``side``: +1 = we bought, -1 = we sold;
- ``qty``: base units, always > 0 (the sign lives in ``side``);
- ``fee_usd``: positive = a cost we paid, negative = a rebate we received;
- ``payment_usd`` (funding): positive = received, negative = paid;
- ``position_base``: signed, + = long.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

import numpy as np
import pandas as pd

FILL_COLUMNS: dict[str, str] = {
    "ts_ns": "int64",
    "side": "int8",
    "price": "float64",
    "qty": "float64",
    "fee_usd": "float64",
    "liquidity": "object",  # 'MAKER' | 'TAKER' (anything else is counted as unknown, not as maker)
    "mid_at_fill": "float64",
}
# optional fill columns (the backtest runner records them; hand-built artifacts may leave them out):
# the client order id, the venue's order id ('' when unknown) and the engine's trade id
FILL_ID_COLUMNS: tuple[str, ...] = ("order_id", "venue_order_id", "trade_id")
MID_COLUMNS: dict[str, str] = {"ts_ns": "int64", "mid": "float64"}
SAMPLE_COLUMNS: dict[str, str] = {
    "ts_ns": "int64",
    "equity_usd": "float64",
    "position_base": "float64",
    "mid": "float64",
    "bid_quote": "float64",
    "ask_quote": "float64",
    "quoting": "bool",
}
FUNDING_COLUMNS: dict[str, str] = {
    "ts_ns": "int64",
    "rate": "float64",
    "position_base": "float64",
    "price": "float64",
    "payment_usd": "float64",
}
FRAME_COLUMNS: dict[str, dict[str, str]] = {
    "fills": FILL_COLUMNS,
    "mids": MID_COLUMNS,
    "samples": SAMPLE_COLUMNS,
    "funding": FUNDING_COLUMNS,
}

MODES = ("book", "candles")
SAMPLE_LABELS = ("in-sample", "out-of-sample", "n/a")
LIQUIDITY = ("MAKER", "TAKER")


class ArtifactsError(ValueError):
    """The artifacts handed to the reports are malformed (missing column, bad label, ...)."""


@dataclass
class BacktestArtifacts:
    """Everything the reports need from one backtest run (see the module docstring for signs)."""

    fills: pd.DataFrame  # ts_ns, side, price, qty, fee_usd, liquidity, mid_at_fill (+ optional FILL_ID_COLUMNS)
    mids: pd.DataFrame  # ts_ns, mid: every change of the book mid
    samples: pd.DataFrame  # ts_ns, equity_usd, position_base, mid, bid_quote, ask_quote, quoting (~1 s)
    funding: pd.DataFrame  # ts_ns, rate, position_base, price, payment_usd
    starting_balance_usd: float
    final_balance_usd: float  # cash balance at the end: includes realised PnL, fees and funding
    final_position_base: float
    final_mid: float
    engine_realized_pnl_usd: float  # Nautilus position realised PnL: after fees (commissions included), no funding
    engine_unrealized_pnl_usd: float  # the engine's open position at final_mid vs its average entry (before exit fees)
    engine_commissions_usd: float
    instrument: str
    coin: str
    start_ns: int
    end_ns: int
    mode: str  # 'book' | 'candles'
    data_description: str  # e.g. "synthetic seed 7", "Hyperliquid WS recording 2025-09-04"
    sample_label: str  # 'in-sample' | 'out-of-sample' | 'n/a'
    config: dict = field(default_factory=dict)
    orders_submitted: int = 0
    orders_modified: int = 0
    orders_canceled: int = 0
    post_only_rejects: int = 0
    wall_seconds: float = float("nan")
    events_processed: int = 0
    final_market_spread: float = float("nan")  # best ask - best bid of the book at the end; NaN when unknown (candles)
    taker_fee_frac: float = float("nan")  # the simulated venue's taker fee (fraction of notional); NaN when unknown
    maker_fee_frac: float = float("nan")  # the simulated venue's maker fee (fraction, + = a cost); NaN when unknown
    final_best_bid: float = float("nan")  # the book's touch at the end (book mode); NaN when unknown (candles)
    final_best_ask: float = float("nan")
    has_trades: bool | None = None  # book mode: whether the catalog holds trade ticks for the instrument; None = unknown
    estimators: dict | None = None  # which estimators were fitted (``sigma_fitted``, ``intensity_fitted``); None = unknown

    def validate(self) -> "BacktestArtifacts":
        """Check columns and labels; raise ``ArtifactsError`` naming the frame and column."""
        for name, cols in FRAME_COLUMNS.items():
            frame = getattr(self, name)
            if not isinstance(frame, pd.DataFrame):
                raise ArtifactsError(f"BacktestArtifacts.{name}: must be a pandas DataFrame, got {type(frame).__name__}")
            missing = [c for c in cols if c not in frame.columns]
            if missing:
                raise ArtifactsError(
                    f"BacktestArtifacts.{name}: missing column(s) {', '.join(missing)}; expected {', '.join(cols)}",
                )
        if self.mode not in MODES:
            raise ArtifactsError(f"BacktestArtifacts.mode: {self.mode!r} is not one of {', '.join(map(repr, MODES))}")
        if self.sample_label not in SAMPLE_LABELS:
            raise ArtifactsError(
                f"BacktestArtifacts.sample_label: {self.sample_label!r} is not one of {', '.join(map(repr, SAMPLE_LABELS))}",
            )
        fills = self.fills
        if len(fills):
            side = fills["side"].to_numpy()
            if not np.isin(side, (1, -1)).all():
                raise ArtifactsError("BacktestArtifacts.fills.side: must be +1 (buy) or -1 (sell)")
            if not (fills["qty"].to_numpy(dtype=float) > 0).all():
                raise ArtifactsError("BacktestArtifacts.fills.qty: must be > 0 (the sign lives in side)")
        return self
