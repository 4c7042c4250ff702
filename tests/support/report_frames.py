"""Empty, correctly typed frames for hand-built ``BacktestArtifacts`` in the reports tests."""

from __future__ import annotations

import pandas as pd

from botmm_nautilus.reports.artifacts import FRAME_COLUMNS


def empty_frames() -> dict[str, pd.DataFrame]:
    """``{'fills', 'mids', 'samples', 'funding'}``, each empty with the columns and dtypes of ``FRAME_COLUMNS``."""
    return {name: pd.DataFrame({c: pd.Series([], dtype=t) for c, t in cols.items()}) for name, cols in FRAME_COLUMNS.items()}
