"""Reading the files a strategy loads at start: the fill / adverse-selection model (``fill_model.path``).

The decision core does no I/O: the strategy reads the file and gives the core the parsed model.
``botmm train-fill-model`` (botmm_nautilus/ml) writes these files and reads them back with the same
function. Errors name the file.
"""

from __future__ import annotations

import os
from pathlib import Path

from botmm_nautilus.core.fill_model import FillModel
from botmm_nautilus.core.fill_model import FillModelError
from botmm_nautilus.errors import DataError


def load_fill_model(path: str | os.PathLike) -> FillModel:
    """The model in ``path`` (``DataError`` naming the file when it is missing or not a model file)."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise DataError(f"fill model file {p}: cannot be read ({type(exc).__name__}: {exc})") from None
    try:
        return FillModel.from_json(text)
    except FillModelError as exc:
        raise DataError(f"fill model file {p}: {exc}") from None


__all__ = ["load_fill_model"]
