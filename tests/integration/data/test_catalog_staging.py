"""Staging folders of killed imports: listed by ``botmm data info``, removed by the next import,
while a staging folder of an import that is still running is left alone."""

from __future__ import annotations

import os
import subprocess
import sys

from botmm_nautilus.apps.cli import main as cli_main
from botmm_nautilus.data.catalog_io import StagedCatalogWriter
from botmm_nautilus.data.catalog_io import stale_staging


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_killed_import_staging_is_reported_then_removed_but_a_live_one_is_kept(tmp_path, capsys):
    catalog = tmp_path / "cat"
    catalog.mkdir()
    dead = catalog / f".staging-{_dead_pid()}-deadbeef"
    (dead / "data").mkdir(parents=True)
    (dead / "data" / "part.parquet").write_bytes(b"half-written")
    live = catalog / f".staging-{os.getpid()}-0badcafe"  # this process is alive: an import in progress
    live.mkdir()

    assert stale_staging(catalog) == [dead]
    assert cli_main(["data", "info", "--catalog", str(catalog)]) == 0
    out = capsys.readouterr().out
    assert "1 staging folder(s) of killed imports" in out and dead.name in out and live.name not in out

    with StagedCatalogWriter(catalog) as writer:
        assert writer.stale_removed == [str(dead)]
        writer.commit()
    assert not dead.exists() and live.is_dir()
    assert stale_staging(catalog) == []
