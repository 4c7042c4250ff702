"""All-or-nothing writes into a Nautilus ``ParquetDataCatalog``.

Importers write into a private staging catalog next to the target (``CAT/.staging-*``); only when
the whole input has been parsed and written does ``commit()`` move the Parquet files into the
target catalog. Any error before that removes the staging folder, so nothing half-written is left
in the catalog.

Before moving, ``commit()`` checks every new file against the target's existing files of the same
data type and instrument: overlapping time intervals raise ``CatalogConflictError`` (naming both
files) unless ``replace=True``, in which case the overlapping old files are removed. Instrument
definitions are always replaced by the newest import.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from nautilus_trader.persistence.catalog import ParquetDataCatalog

from botmm_nautilus.errors import DataError

INSTRUMENT_DIRS = {
    "crypto_perpetual",
    "crypto_future",
    "currency_pair",
    "equity",
    "futures_contract",
    "options_contract",
    "binary_option",
}

_TS_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{9})Z$")


class CatalogError(DataError):
    """A problem with the catalog a user pointed us at."""


class CatalogConflictError(CatalogError):
    """New data overlaps data already in the catalog (and ``replace`` was not given)."""


def _parse_ts(text: str) -> int:
    import calendar

    m = _TS_RE.match(text)
    if not m:
        raise ValueError(text)
    y, mo, d, h, mi, s, ns = (int(g) for g in m.groups())
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) * 1_000_000_000 + ns


def file_interval(path: Path) -> tuple[int, int] | None:
    """``(start_ns, end_ns)`` from a catalog file name ``<start>_<end>.parquet``, or None."""
    stem = path.name[: -len(".parquet")] if path.name.endswith(".parquet") else None
    if stem is None or "_" not in stem:
        return None
    a, b = stem.split("_", 1)
    try:
        return _parse_ts(a), _parse_ts(b)
    except ValueError:
        return None


@dataclass
class CommitReport:
    files_added: list[str] = field(default_factory=list)
    files_replaced: list[str] = field(default_factory=list)


class StagedCatalogWriter:
    """Context manager: ``with StagedCatalogWriter(path) as w: w.write(objs); ...; w.commit()``.

    Leaving the block without ``commit()`` (normally or by an exception) discards everything.
    """

    def __init__(self, catalog_path: str | os.PathLike, replace: bool = False) -> None:
        self.target = Path(catalog_path)
        self.replace = replace
        if self.target.exists() and not self.target.is_dir():
            raise CatalogError(f"catalog {self.target} is a file; give a folder")
        try:
            self.target.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a parent is a file, no permission, read-only file system
            raise CatalogError(f"catalog {self.target}: cannot create the folder ({exc.strerror or exc})") from None
        self.stale_removed = remove_stale_staging(self.target)  # leftovers of killed imports
        self.staging = self.target / f".staging-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.staging.mkdir()
        self.catalog = ParquetDataCatalog(str(self.staging))
        self.count = 0
        self._committed = False

    def write(self, objs) -> None:
        objs = list(objs)
        if not objs:
            return
        self.catalog.write_data(objs)
        self.count += len(objs)

    def _plan(self) -> tuple[list[tuple[Path, Path]], list[Path]]:
        moves: list[tuple[Path, Path]] = []
        to_remove: list[Path] = []
        for src in sorted(self.staging.rglob("*")):
            if not src.is_file():
                continue
            rel = src.relative_to(self.staging)
            dst = self.target / rel
            parts = rel.parts
            is_instrument = len(parts) >= 2 and parts[0] == "data" and parts[1] in INSTRUMENT_DIRS
            if is_instrument:
                # newest definition wins: drop every older file of this instrument
                if dst.parent.exists():
                    to_remove.extend(p for p in dst.parent.glob("*.parquet"))
            else:
                new_iv = file_interval(src)
                if new_iv is not None and dst.parent.exists():
                    for old in dst.parent.glob("*.parquet"):
                        old_iv = file_interval(old)
                        if old_iv is None:
                            continue
                        if old_iv[0] <= new_iv[1] and new_iv[0] <= old_iv[1]:
                            if not self.replace:
                                raise CatalogConflictError(
                                    f"catalog {self.target} already holds {old.relative_to(self.target)} "
                                    f"overlapping the imported {rel} in time; nothing was written "
                                    "(use --replace to overwrite the overlapping data)",
                                )
                            to_remove.append(old)
            moves.append((src, dst))
        return moves, to_remove

    def commit(self) -> CommitReport:
        report = CommitReport()
        moves, to_remove = self._plan()
        for old in sorted(set(to_remove)):
            report.files_replaced.append(str(old.relative_to(self.target)))
            old.unlink()
        for src, dst in moves:
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
            report.files_added.append(str(dst.relative_to(self.target)))
        self._committed = True
        self.discard()
        return report

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)

    def __enter__(self) -> "StagedCatalogWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.discard()


_STAGING_RE = re.compile(r"^\.staging-(\d+)-[0-9a-f]+$")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def stale_staging(catalog_path: str | os.PathLike) -> list[Path]:
    """Staging folders of imports whose process is gone (killed before it could clean up).

    A staging folder is named ``.staging-<pid>-<random>`` by the process that writes it; it is
    stale when no process with that id runs any more. Readers of the catalog never see staging
    folders (Nautilus reads ``data/`` only); they only take disk space.
    """
    root = Path(catalog_path)
    if not root.is_dir():
        return []
    out = []
    for p in sorted(root.glob(".staging-*")):
        m = _STAGING_RE.match(p.name)
        if m is not None and p.is_dir() and not _process_alive(int(m.group(1))):
            out.append(p)
    return out


def remove_stale_staging(catalog_path: str | os.PathLike) -> list[str]:
    """Remove the staging folders of killed imports (``stale_staging``); an import running in
    another process keeps its own. Called by every new ``StagedCatalogWriter``."""
    removed = []
    for p in stale_staging(catalog_path):
        shutil.rmtree(p, ignore_errors=True)
        removed.append(str(p))
    return removed
