"""``bench/queue_truncation.py`` end to end on the first 3 minutes of the real BTC capture: it builds
both catalogs, both backtests trade, it prints the side-by-side table and ends with the ratio line.
The ratio itself is what the bench measures; no value is asserted here."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from support.captures import write_capture_head

pytestmark = pytest.mark.shared_data


def test_bench_runs_both_books_and_ends_with_the_ratio_line(shared_data, project_root, tmp_path):
    capture = write_capture_head(shared_data / "binance" / "raw_ws" / "usdm_btcusdt_20240808.gz", tmp_path / "usdm_btcusdt_head.gz", 180)
    workdir = tmp_path / "work"
    proc = subprocess.run(
        [sys.executable, str(project_root / "bench" / "queue_truncation.py"), "--capture", str(capture), "--workdir", str(workdir)],
        capture_output=True, text=True, timeout=120, cwd=project_root,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert re.fullmatch(r"truncated/full fill-volume ratio: \d+\.\d{3}", lines[-1]), lines[-1]
    fills = next(line for line in lines if line.startswith("venue fills"))
    full_fills, window_fills = (int(x.replace(",", "")) for x in fills.split()[-2:])
    assert full_fills > 0 and window_fills > 0, fills
    volume = next(line for line in lines if line.startswith("filled volume (base)"))
    full_base, window_base = (float(x.replace(",", "")) for x in volume.split()[-2:])
    assert lines[-1].endswith(f"{window_base / full_base:.3f}")  # the ratio is B's volume over A's
    assert any(line.startswith("B window 20 lv: fills at a price its book showed no size") for line in lines)
    assert not (workdir / "full").exists() and not (workdir / "window").exists()  # removed without --keep
