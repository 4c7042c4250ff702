"""The installed distribution: one import root, every source package listed, nothing generic.

pyproject.toml lists the packages explicitly (adapters/ and strategies/ are mapped under
``botmm_nautilus``); a package added to the tree but not to the list would be missing from an
installed (non-editable) copy. This checks the list against the tree, that the installed names
resolve, and that the generic names do not import outside the checkout.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _declared() -> tuple[set[str], dict[str, str]]:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return set(cfg["packages"]), cfg["package-dir"]


def _tree_packages(package_dir: dict[str, str]) -> set[str]:
    found = set()
    for name, folder in package_dir.items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base).parts
            if "__pycache__" in rel:
                continue
            found.add(".".join((name, *rel)) if rel else name)
    return found


def test_every_source_package_is_listed_and_under_one_root():
    packages, package_dir = _declared()
    assert _tree_packages(package_dir) == packages
    assert {p.split(".")[0] for p in packages} == {"botmm_nautilus"}


def test_installed_names_resolve_and_generic_names_do_not(tmp_path):
    for name in _declared()[0]:
        importlib.import_module(name)
    # outside the checkout (no source tree on sys.path) the generic names must not import
    probe = "import importlib.util as u; print(u.find_spec('adapters') is None and u.find_spec('strategies') is None)"
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_version_has_one_source():
    import botmm_nautilus

    assert importlib.metadata.version("botmm-nautilus") == botmm_nautilus.__version__
