"""Reading and writing fill-model files (JSON, ``core.fill_model`` format); errors name the file."""

from __future__ import annotations

import json
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


def write_fill_model(path: str | os.PathLike, document: dict) -> Path:
    """Write ``document`` (checked by loading it) to ``path``; returns the path."""
    FillModel.from_dict(document)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(document, separators=(",", ":")))
    return p


__all__ = ["load_fill_model", "write_fill_model"]
