"""The configuration files the project reads, by kind: what ``botmm config show/check/docs`` work on.

``asset``: a per-asset YAML (``AssetConfig``, configs/btc.yaml ...); ``live``: the live node's
settings (``LiveConfig``, configs/live.yaml). ``load_any`` tells them apart by their keys (a
per-asset file has ``coin`` and mappings as sections; live.yaml names its venue with a string).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botmm_nautilus.config import loader
from botmm_nautilus.config.asset import AssetConfig
from botmm_nautilus.config.live import LiveConfig

SCHEMAS: dict[str, type] = {"asset": AssetConfig, "live": LiveConfig}

_ASSET_ONLY = {"coin", "strategy", "capital_usd", "quoting", "calibration", "signals", "risk", "backtest"}


def detect_kind(raw: Any) -> str:
    """``"asset"`` or ``"live"`` for the data of a YAML file."""
    if isinstance(raw, dict) and (_ASSET_ONLY & set(raw) or isinstance(raw.get("venue"), dict)):
        return "asset"
    return "live" if isinstance(raw, dict) else "asset"


def load_any(path: str | Path, kind: str | None = None) -> tuple[str, Any]:
    """(kind, validated config) of a YAML file; ``kind`` None = detect it."""
    raw = loader.read_yaml(path)
    kind = kind or detect_kind(raw)
    return kind, loader.convert(raw, SCHEMAS[kind], str(path))
