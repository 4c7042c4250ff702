"""Checks of command-line option values, made before a command starts any work.

Each check raises a ``ConfigError`` whose message names the option (``--report reports/x.html is
an existing file; give a folder``); the ``botmm`` command line prints it as one ``error:`` line
and exits with status 2. Used by ``apps.cli`` and ``apps.live``.
"""

from __future__ import annotations

import os
from pathlib import Path

from botmm_nautilus.errors import ConfigError


def positive(value: float | None, option: str) -> None:
    """``value`` is ``None`` (not given) or > 0."""
    if value is not None and not value > 0:
        raise ConfigError(f"{option} must be > 0, got {value:g}")


def non_negative(value: float | None, option: str) -> None:
    """``value`` is ``None`` (not given) or >= 0."""
    if value is not None and not value >= 0:
        raise ConfigError(f"{option} must be >= 0, got {value:g}")


def input_file(path: str | os.PathLike | None, option: str) -> None:
    """``path`` is ``None`` or an existing regular file."""
    if path is None:
        return
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{option} {path} is a folder; give a file")
    if not p.is_file():
        raise ConfigError(f"{option} {path}: file not found")


def output_file(path: str | os.PathLike | None, option: str) -> None:
    """``path`` is ``None`` or a file that can be written: not a folder, no file where a folder of
    its path must be (missing folders are created when the file is written)."""
    if path is None:
        return
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{option} {path} is a folder; give a file name")
    _folders_creatable(p.parent, path, option)


def output_dir(path: str | os.PathLike | None, option: str) -> None:
    """``path`` is ``None``, an existing folder, or a folder that can be created."""
    if path is None:
        return
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ConfigError(f"{option} {path} is an existing file; give a folder")
    _folders_creatable(p, path, option)


def _folders_creatable(folder: Path, path, option: str) -> None:
    for ancestor in (folder, *folder.parents):
        if ancestor.exists():
            if not ancestor.is_dir():
                raise ConfigError(f"{option} {path}: {ancestor} is a file, not a folder")
            return
