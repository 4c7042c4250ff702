"""One loader for every YAML configuration: YAML text -> plain data -> a typed, frozen msgspec struct.

* ``read_yaml``: the file's data; a syntax error or a duplicate key is a ``ConfigError`` naming the
  file, line and column. ``1e-4`` reads as a number (plain PyYAML reads it as a string).
* ``convert``: plain data -> the schema class with ``msgspec.convert`` (strict: no string-to-number
  guessing). msgspec's error (``Expected `float`, got `str` - at `$.quoting.gamma```) becomes
  ``configs/btc.yaml: quoting.gamma: must be a number > 0 and <= 1e+06, got 'abc'``: the file, the
  dotted field and what is allowed, from the field's own annotation (core/params.py). An empty
  section (``risk:`` with every key commented out) means "all defaults".
* ``override``: a copy with dotted-path changes, validated the same way.
* ``dump_yaml``: every setting with its effective value, units as comments; ``read_yaml`` +
  ``convert`` accept the text back.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from typing import TypeVar

import msgspec
import yaml

from botmm_nautilus.core.params import FieldSpec
from botmm_nautilus.core.params import field_problem
from botmm_nautilus.core.params import field_specs
from botmm_nautilus.errors import ConfigError

T = TypeVar("T")


# ------------------------------------------------------------------------------------------- YAML


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses duplicate keys and reads ``1e-4`` as a float."""

    def construct_mapping(self, node, deep=False):
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: let PyYAML report it
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def read_yaml(path: str | Path) -> Any:
    """The data of a YAML file; a missing file or bad YAML is a ``ConfigError`` naming file, line and column."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: config file not found")
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read: {exc}") from None
    return parse_yaml(text, str(p))


def parse_yaml(text: str, source: str) -> Any:
    """The data of YAML ``text`` read from ``source`` (for messages)."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        pos = f" line {mark.line + 1} column {mark.column + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{source}:{pos} invalid YAML: {problem}") from None


# ------------------------------------------------------------------------------------ conversion


def convert(raw: Any, cls: type[T], source: str) -> T:
    """``raw`` (YAML data) as a ``cls`` struct; a ``ConfigError`` ``source: dotted.field: message`` otherwise."""
    if not isinstance(raw, dict):
        got = "an empty file" if raw is None else type(raw).__name__
        raise ConfigError(f"{source}: the top level must be a mapping of settings, got {got}")
    data = _drop_empty_sections(raw, cls)
    try:
        return msgspec.convert(data, cls, strict=True)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{source}: {_explain(exc, data, cls)}") from None


def _drop_empty_sections(raw: dict, cls: type) -> dict:
    """A section given as null (a YAML key with nothing under it) is a section of defaults."""
    out = dict(raw)
    for spec in field_specs(cls):
        if spec.kind != "section" or spec.name not in out:
            continue
        value = out[spec.name]
        if value is None:
            del out[spec.name]
        elif isinstance(value, dict):
            out[spec.name] = _drop_empty_sections(value, spec.section)
    return out


_AT = re.compile(r"^(?P<text>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_POST_INIT = re.compile(r"^(?P<name>\w+)(?P<index>(?:\[\d+\])?): (?P<msg>.*)$", re.S)


def _explain(exc: msgspec.ValidationError, data: Any, cls: type) -> str:
    """``dotted.field: message`` for a msgspec validation error of ``data`` converted to ``cls``."""
    m = _AT.match(str(exc))
    text = m.group("text")
    parts = [name if name else int(index) for name, index in _PART.findall(m.group("path") or "")]
    dotted = _dotted(parts)
    spec, owner, value = _resolve(cls, data, parts)

    unknown = re.match(r"Object contains unknown field `(.+)`", text)
    if unknown:
        allowed = ", ".join(s.name for s in field_specs(owner)) if owner is not None else ""
        return f"{_join(dotted, unknown.group(1))}: unknown setting; allowed: {allowed}"
    missing = re.match(r"Object missing required field `(.+)`", text)
    if missing:
        return f"{_join(dotted, missing.group(1))}: missing (required)"
    if owner is not None and spec is None:
        # a rule across fields (``_check``) of the section at ``dotted``: "field: message"
        pi = _POST_INIT.match(text)
        if pi and pi.group("name") in {s.name for s in field_specs(owner)}:
            return f"{_join(dotted, pi.group('name'))}{pi.group('index')}: {pi.group('msg')}"
        return f"{dotted or '(top level)'}: {text}"
    if spec is not None:
        problem = field_problem(spec, value, dotted)
        if problem is not None:
            return problem
        pi = _POST_INIT.match(text)  # a section's own rule raised while decoding the section itself
        if spec.kind == "section" and pi and pi.group("name") in {s.name for s in field_specs(spec.section)}:
            return f"{_join(dotted, pi.group('name'))}{pi.group('index')}: {pi.group('msg')}"
    return f"{dotted or '(top level)'}: {text[:1].lower() + text[1:]}"


def _resolve(cls: type, data: Any, parts: list) -> tuple[FieldSpec | None, type | None, Any]:
    """(the field's spec, the section class when the path names a section, the raw value) at ``parts``."""
    owner: type | None = cls
    spec: FieldSpec | None = None
    value = data
    for part in parts:
        if isinstance(part, int):
            if spec is None or spec.item is None:
                return None, None, None
            spec = spec.item
            value = value[part] if isinstance(value, list) and part < len(value) else None
            owner = spec.section if spec.kind == "section" else None
            continue
        if owner is None:
            return None, None, None
        spec = next((s for s in field_specs(owner) if s.name == part), None)
        if spec is None:
            return None, None, None
        value = value.get(part) if isinstance(value, dict) else None
        owner = spec.section if spec.kind == "section" else None
    if spec is not None and spec.kind == "section" and isinstance(value, dict):
        return None, spec.section, value
    return spec, owner, value


def _dotted(parts: list) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


# --------------------------------------------------------------------------------- files, changes


def load_file(path: str | Path, cls: type[T]) -> T:
    """Read and validate one YAML file as ``cls``."""
    return convert(read_yaml(path), cls, str(path))


def override(obj: T, source: str = "override", **changes: Any) -> T:
    """A validated copy of ``obj`` with dotted-path changes, e.g. ``override(cfg, **{"quoting.gamma": 0.1})``."""
    raw = msgspec.to_builtins(obj)
    for dotted, value in changes.items():
        node = raw
        parts = dotted.split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                raise ConfigError(f"{source}: {dotted}: no such section {part!r}")
            node = node[part]
        if parts[-1] not in node:
            raise ConfigError(f"{source}: {dotted}: no such setting")
        node[parts[-1]] = value
    return convert(raw, type(obj), source)


def dump_yaml(obj: Any) -> str:
    """Every setting of ``obj`` (defaults included) as YAML, the unit of each value as a comment."""
    lines: list[str] = []
    _emit(obj, "", lines)
    return "\n".join(lines) + "\n"


def _emit(obj: Any, pad: str, lines: list[str]) -> None:
    for spec in field_specs(type(obj)):
        value = getattr(obj, spec.name)
        if spec.kind == "section":
            lines.append(f"{pad}{spec.name}:")
            _emit(value, pad + "  ", lines)
            continue
        text = yaml_scalar(value)
        unit = f"  # {spec.unit}" if spec.unit and spec.unit != "-" else ""
        lines.append(f"{pad}{spec.name}: {text}{unit}")


def yaml_scalar(value: Any) -> str:
    """``value`` as one line of YAML (flow style): ``0.05``, ``null``, ``[0.625, 0.375]``, ``5-MINUTE``."""
    return yaml.safe_dump([msgspec.to_builtins(value)], default_flow_style=True, width=1 << 30).strip()[1:-1]
