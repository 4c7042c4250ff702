"""The configuration files the project reads, by kind: what ``botmm config show/check/docs`` work on.

``asset``: a per-asset YAML (``AssetConfig``, configs/btc.yaml ...); ``live``: the live node's
settings (``LiveConfig``, configs/live.yaml); ``variants``: an ablation variants file (a list,
configs/ablation*.yaml, ``config/variants.py``), checked by applying each variant to a per-asset
config of schema defaults. ``load_any`` tells them apart by their keys (a per-asset file has ``coin``
and mappings as sections; live.yaml names its venue with a string; a variants file is a list).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botmm_nautilus.config import loader
from botmm_nautilus.config.asset import AssetConfig
from botmm_nautilus.config.live import LiveConfig
from botmm_nautilus.config.variants import check_variants

SCHEMAS: dict[str, type] = {"asset": AssetConfig, "live": LiveConfig}
KINDS = (*SCHEMAS, "variants")

_ASSET_ONLY = {"coin", "strategy", "capital_usd", "quoting", "calibration", "signals", "risk", "backtest"}


def detect_kind(raw: Any) -> str:
    """``"asset"``, ``"live"`` or ``"variants"`` for the data of a YAML file."""
    if isinstance(raw, list):
        return "variants"
    if isinstance(raw, dict) and (_ASSET_ONLY & set(raw) or isinstance(raw.get("venue"), dict)):
        return "asset"
    return "live" if isinstance(raw, dict) else "asset"


def load_any(path: str | Path, kind: str | None = None) -> tuple[str, Any]:
    """(kind, validated config) of a YAML file; ``kind`` None = detect it."""
    raw = loader.read_yaml(path)
    kind = kind or detect_kind(raw)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind == "variants":
        return kind, check_variants(raw, str(path))
    return kind, loader.convert(raw, SCHEMAS[kind], str(path))
