"""Writing fill-model files (JSON, ``core.fill_model`` format); reading them is the strategies' job
(strategies/model_files.py ``load_fill_model``, re-exported here), since a strategy loads its model at start."""

from __future__ import annotations

import json
import os
from pathlib import Path

from botmm_nautilus.core.fill_model import FillModel
from botmm_nautilus.strategies.model_files import load_fill_model


def write_fill_model(path: str | os.PathLike, document: dict) -> Path:
    """Write ``document`` (checked by loading it) to ``path``; returns the path."""
    FillModel.from_dict(document)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(document, separators=(",", ":")))
    return p


__all__ = ["load_fill_model", "write_fill_model"]
