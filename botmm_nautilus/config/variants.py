"""The variants file of ``botmm ablate``: named changes applied on top of one per-asset YAML.

Layout (a YAML list; the first variant is the baseline the others are compared with)::

    - name: basic
      strategy: MarketMaker          # optional: the strategy class (default: the per-asset file's)
    - name: imbalance
      set:                           # optional: dotted keys of the per-asset schema (docs/CONFIG.md)
        signals.use_imbalance: true
        signals.imbalance_weight_bps: 2.0

Each variant is validated by applying it to the per-asset config with the config loader's own
``override`` (same checks as the YAML itself), so a bad key or value is one ``ConfigError`` that
names the variants file, the variant and the dotted key::

    configs/ablation.yaml: variant 'adaptive': adaptive.use_regime: no such section 'adaptive'
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from botmm_nautilus.config import loader
from botmm_nautilus.config.asset import AssetConfig
from botmm_nautilus.errors import ConfigError

VARIANT_KEYS = ("name", "strategy", "set")


@dataclass(frozen=True)
class Variant:
    name: str
    strategy: str | None = None
    set: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"name": self.name, "strategy": self.strategy, "set": dict(self.set)}


def parse_variants(raw: Any, source: str) -> list[Variant]:
    """The variants of YAML data ``raw`` (read from ``source``, named in messages); shape checks only."""
    if not isinstance(raw, list) or not raw:
        got = "an empty file" if raw is None else ("an empty list" if raw == [] else type(raw).__name__)
        raise ConfigError(
            f"{source}: must be a list of variants (- name: ..., strategy: ..., set: {{dotted.key: value}}), got {got}",
        )
    out: list[Variant] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        where = f"{source}: variant {i + 1}"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: must be a mapping with keys {', '.join(VARIANT_KEYS)}, got {type(item).__name__}")
        unknown = [k for k in item if k not in VARIANT_KEYS]
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(VARIANT_KEYS)}")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where}: name: must be a non-empty text, got {name!r}")
        name = name.strip()
        if name in seen:
            raise ConfigError(f"{where}: name: {name!r} is used by an earlier variant; names must be unique")
        seen.add(name)
        where = f"{source}: variant {name!r}"
        strategy = item.get("strategy")
        if strategy is not None and not isinstance(strategy, str):
            raise ConfigError(f"{where}: strategy: must be a strategy class name, got {strategy!r}")
        changes = item.get("set") or {}
        if not isinstance(changes, dict):
            raise ConfigError(f"{where}: set: must be a mapping of dotted keys to values, got {type(changes).__name__}")
        for key, value in changes.items():
            if not isinstance(key, str) or not key:
                raise ConfigError(f"{where}: set: key {key!r} is not a dotted setting name like quoting.gamma")
            if isinstance(value, dict):
                raise ConfigError(
                    f"{where}: {key}: give each setting as a dotted key (e.g. {key}.<setting>: value), not a whole section",
                )
        out.append(Variant(name=name, strategy=strategy, set=dict(changes)))
    return out


def apply_variant(cfg: AssetConfig, variant: Variant, source: str) -> AssetConfig:
    """``cfg`` with the variant's strategy and settings, validated like the YAML (``ConfigError``
    naming ``source``, the variant and the key)."""
    changes = dict(variant.set)
    if variant.strategy is not None:
        if "strategy" in changes:
            raise ConfigError(f"{source}: variant {variant.name!r}: strategy is given twice (as strategy and in set)")
        changes["strategy"] = variant.strategy
    return loader.override(cfg, source=f"{source}: variant {variant.name!r}", **changes)


def check_variants(raw: Any, source: str, coin: str = "BTC") -> list[Variant]:
    """The variants of YAML data ``raw``, each validated against a per-asset config of schema
    defaults for ``coin`` (what ``botmm config check`` does with a variants file)."""
    from botmm_nautilus.config.asset import config_from_dict

    variants = parse_variants(raw, source)
    base = config_from_dict({"coin": coin}, source)
    for v in variants:
        apply_variant(base, v, source)
    return variants


def format_variants(variants: list[Variant]) -> str:
    """The variants as YAML (one line per setting), as ``parse_variants`` reads them back."""
    lines = []
    for v in variants:
        lines.append(f"- name: {loader.yaml_scalar(v.name)}")
        if v.strategy is not None:
            lines.append(f"  strategy: {v.strategy}")
        if v.set:
            lines.append("  set:")
            lines.extend(f"    {key}: {loader.yaml_scalar(value)}" for key, value in v.set.items())
    return "\n".join(lines) + "\n"


def load_variants(path: str | Path, base: AssetConfig | None = None) -> list[Variant]:
    """Read and check a variants file; with ``base`` every variant is also applied to it (so every
    key and value is validated before any backtest starts)."""
    source = str(path)
    variants = parse_variants(loader.read_yaml(path), source)
    if base is not None:
        for v in variants:
            apply_variant(base, v, source)
    return variants
