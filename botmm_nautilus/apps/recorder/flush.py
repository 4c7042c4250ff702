"""Getting recorded rows into the catalog safely: per-coin lock files, the check against data
already stored, the writer thread that commits flushes atomically (``StagedCatalogWriter``: all or
nothing) and merges a finished part's flush files into one Parquet file per data type, the
repair of an interrupted merge, and the rescue catalog for rows that could not be committed."""

from __future__ import annotations

import concurrent.futures
import fcntl
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from botmm_nautilus.data.catalog_io import StagedCatalogWriter
from botmm_nautilus.data.catalog_io import file_interval
from botmm_nautilus.data.summary import format_ns

from .errors import RecorderError

log = logging.getLogger("botmm.recorder")

DELTAS_DIR = "order_book_deltas"  # Nautilus catalog folder names (data/<dir>/<instrument id>/)
TRADES_DIR = "trade_tick"
LOCKS_DIR = ".recorder-locks"


# ------------------------------------------------------------------------------------- locks
class CoinLocks:
    """``CAT/.recorder-locks/COIN.lock`` held (``flock``) for each recorded coin, so that two
    recorders never write the same coin into one catalog. The lock file holds the owner's pid."""

    def __init__(self, catalog_path: Path) -> None:
        self.catalog_path = catalog_path
        self._files: list = []

    def acquire(self, coins) -> None:
        """Lock every coin or none (a ``RecorderError`` naming the coin already locked)."""
        try:
            self.catalog_path.mkdir(parents=True, exist_ok=True)
            (self.catalog_path / LOCKS_DIR).mkdir(exist_ok=True)
        except OSError as exc:
            raise RecorderError(f"cannot use {self.catalog_path} as the catalog folder ({exc.strerror or exc})") from None
        lock_dir = self.catalog_path / LOCKS_DIR
        for coin in coins:
            path = lock_dir / f"{coin}.lock"
            fh = open(path, "a+")
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                fh.close()
                self.release()
                raise RecorderError(
                    f"another recorder is writing {coin} into {self.catalog_path} (lock {path} is held); "
                    "stop it or record into another catalog",
                ) from None
            fh.seek(0)
            fh.truncate()
            fh.write(f"{os.getpid()}\n")
            fh.flush()
            self._files.append(fh)

    def release(self) -> None:
        for fh in self._files:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
                fh.close()
            except OSError:
                pass
        self._files = []


# ------------------------------------------------------------------------------------- stored data
def stream_dirs(catalog_path: Path, instrument_id: str) -> list[Path]:
    """The catalog folders of one instrument's deltas and trades."""
    data = catalog_path / "data"
    return [data / DELTAS_DIR / instrument_id, data / TRADES_DIR / instrument_id]


def existing_data_floor(catalog_path: Path, coin_instruments: dict[str, str], now_ns: int, repaired: list[str]) -> int:
    """Newest ts_init already stored for the recorded coins (``{coin: instrument id}``; 0 if none),
    after removing the leftovers of interrupted merges (their paths appended to ``repaired``).
    A ``RecorderError`` when stored data reaches ``now_ns`` (new files would overlap it)."""
    floor = 0
    for coin, instrument_id in coin_instruments.items():
        for directory in stream_dirs(catalog_path, instrument_id):
            removed = repair_interrupted_merges(directory)
            if removed:
                log.warning(f"{directory}: removed {len(removed)} leftover file(s) of an interrupted merge: {removed}")
                repaired.extend(str(directory / name) for name in removed)
            if not directory.is_dir():
                continue
            for f in directory.glob("*.parquet"):
                iv = file_interval(f)
                if iv is None:
                    continue
                if iv[1] >= now_ns:
                    raise RecorderError(
                        f"catalog {catalog_path} already holds {coin} data up to {format_ns(iv[1])} "
                        f"({f.relative_to(catalog_path)}), which is after the local clock ({format_ns(now_ns)}); "
                        "recorded files would overlap it: record into another catalog",
                    )
                floor = max(floor, iv[1])
    return floor


def merge_part_files(files: list[Path]) -> Path:
    """Merge the flush files of one part (one data type and instrument, disjoint ts_init intervals)
    into one file ``<first start>_<last end>.parquet``; returns it. Written as ``.tmp`` and renamed
    before the pieces are removed (see :func:`repair_interrupted_merges`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted(files, key=lambda p: file_interval(p)[0])
    if len(files) == 1:
        return files[0]
    start_text = files[0].name[: -len(".parquet")].split("_", 1)[0]
    end_text = files[-1].name[: -len(".parquet")].split("_", 1)[1]
    target = files[0].parent / f"{start_text}_{end_text}.parquet"
    tmp = target.with_name(target.name + ".tmp")
    combined = pa.concat_tables([pq.read_table(f) for f in files])
    pq.write_table(combined, tmp)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    for f in files:
        if f != target:
            f.unlink()
    return target


def repair_interrupted_merges(directory: Path) -> list[str]:
    """Remove ``*.parquet.tmp`` files and files whose interval lies inside another file's interval
    (pieces left by a merge interrupted after its rename). Returns the removed names."""
    removed: list[str] = []
    if not directory.is_dir():
        return removed
    for tmp in directory.glob("*.parquet.tmp"):
        tmp.unlink()
        removed.append(tmp.name)
    files = [(file_interval(p), p) for p in directory.glob("*.parquet")]
    files = [(iv, p) for iv, p in files if iv is not None]
    for iv, p in files:
        if any(q != p and (q_iv[0] <= iv[0] and iv[1] <= q_iv[1]) and q_iv != iv for q_iv, q in files):
            p.unlink()
            removed.append(p.name)
    return removed


# ------------------------------------------------------------------------------------- writer thread
@dataclass
class FlushJob:
    """Rows to commit (``(coin, part, deltas, trades)`` chunks) and parts that are complete."""

    chunks: list
    finalize: list


class PartWriter:
    """The writer thread. Each job is one ``StagedCatalogWriter`` commit of everything pending
    (all-or-nothing; a conflict with existing files raises and writes nothing). A failed commit
    keeps its rows in memory and is retried with the next job; at :meth:`close` what still fails
    goes to a separate rescue catalog ``CAT/.recorder-rescue-*``. A complete part's files are
    merged into one file per data type once all its rows are committed.

    ``written[coin] = [deltas, trades]`` committed so far; the other counters describe the flushes."""

    def __init__(self, catalog_path: Path, coin_instruments: dict[str, str], clock_ns) -> None:
        self.catalog_path = catalog_path
        self._instrument_ids = dict(coin_instruments)
        self._clock_ns = clock_ns
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._futures: list[concurrent.futures.Future] = []
        # writer-thread state
        self._pending: dict[tuple[str, int], tuple[list, list]] = {}
        self._to_finalize: set[tuple[str, int]] = set()
        self._part_files: dict[tuple[str, int], list[Path]] = {}
        self.written: dict[str, list[int]] = {coin: [0, 0] for coin in coin_instruments}
        self.flushes = 0
        self.flush_failures = 0
        self.files_written = 0
        self.merges = 0
        self.last_flush_ns: int | None = None
        self.last_flush_files = 0
        self.last_flush_error: str | None = None
        self.rescue_path: str | None = None

    def start(self) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="botmm-record-writer")

    def submit(self, job: FlushJob) -> None:
        if self._executor is None:
            raise RuntimeError("Recorder.open() was not called")
        self._futures = [f for f in self._futures if not f.done()]
        self._futures.append(self._executor.submit(self._run_job, job))

    def wait(self) -> None:
        """Until every submitted job is done (re-raising a job's unexpected error)."""
        for fut in list(self._futures):
            fut.result()
        self._futures = [f for f in self._futures if not f.done()]

    def close(self, instruments: list) -> None:
        """Wait for the jobs, stop the thread; rows never committed go to a rescue catalog."""
        try:
            self.wait()
        finally:
            assert self._executor is not None
            self._executor.shutdown(wait=True)
            if self._pending:
                self._rescue(instruments)

    def parts_written(self, coin: str) -> int:
        return sum(1 for (c, _), files in self._part_files.items() if c == coin and files)

    def part_files(self) -> dict[tuple[str, int], list[Path]]:
        """``{(coin, part index): [files]}`` written in this run (part index = ts_event // part_ns)."""
        return {k: list(v) for k, v in self._part_files.items()}

    # ------------------------------------------------------------------ on the writer thread
    def _run_job(self, job: FlushJob) -> None:
        for coin, part, deltas, trades in job.chunks:
            pend = self._pending.setdefault((coin, part), ([], []))
            pend[0].extend(deltas)
            pend[1].extend(trades)
        self._to_finalize.update(job.finalize)
        if self._pending and not self._write_pending():
            return
        for key in sorted(self._to_finalize):
            if key in self._pending:
                continue
            self._to_finalize.discard(key)
            self._merge_part(key)

    def _write_pending(self) -> bool:
        starts: dict[tuple[str, int], tuple[str, int]] = {}
        try:
            with StagedCatalogWriter(self.catalog_path) as writer:
                for (coin, part), (deltas, trades) in self._pending.items():
                    iid = self._instrument_ids[coin]
                    for objs in (deltas, trades):
                        if objs:
                            writer.write(objs)
                            starts[(iid, objs[0].ts_init)] = (coin, part)
                report = writer.commit()
        except Exception as exc:  # noqa: BLE001 - keep the data, retry at the next flush
            self.flush_failures += 1
            self.last_flush_error = f"{type(exc).__name__}: {exc}"
            n = sum(len(d) + len(t) for d, t in self._pending.values())
            log.error(f"flush failed ({self.last_flush_error}); {n} rows kept in memory, retried at the next flush")
            return False
        for rel in report.files_added:
            path = self.catalog_path / rel
            iv = file_interval(path)
            key = starts.get((path.parent.name, iv[0])) if iv else None
            if key is not None:
                self._part_files.setdefault(key, []).append(path)
        for (coin, _part), (deltas, trades) in self._pending.items():
            counts = self.written[coin]
            counts[0] += len(deltas)
            counts[1] += len(trades)
        self._pending.clear()
        self.flushes += 1
        self.files_written += len(report.files_added)
        self.last_flush_ns = self._clock_ns()
        self.last_flush_files = len(report.files_added)
        return True

    def _merge_part(self, key: tuple[str, int]) -> None:
        files = self._part_files.get(key, [])
        by_dir: dict[Path, list[Path]] = {}
        for f in files:
            by_dir.setdefault(f.parent, []).append(f)
        merged = []
        for directory, group in by_dir.items():
            if len(group) < 2:
                merged.extend(group)
                continue
            try:
                merged.append(merge_part_files(group))
                self.merges += 1
            except Exception as exc:  # noqa: BLE001 - the pieces stay valid catalog files
                log.error(f"{directory}: merging {len(group)} files of part {key} failed ({type(exc).__name__}: {exc}); pieces kept")
                merged.extend(group)
        if files:
            self._part_files[key] = merged

    def _rescue(self, instruments: list) -> None:
        """Data that could not be committed: a separate catalog next to the target (never lost silently)."""
        from nautilus_trader.persistence.catalog import ParquetDataCatalog

        path = self.catalog_path / f".recorder-rescue-{os.getpid()}-{time.strftime('%Y%m%dT%H%M%S')}"
        try:
            catalog = ParquetDataCatalog(str(path))
            catalog.write_data(instruments)
            for deltas, trades in self._pending.values():
                for objs in (deltas, trades):
                    if objs:
                        catalog.write_data(objs)
            self.rescue_path = str(path)
            log.error(f"data that could not be written to {self.catalog_path} was saved in {path}")
        except Exception as exc:  # noqa: BLE001
            log.error(f"rescue write to {path} failed too ({type(exc).__name__}: {exc}); unwritten rows are lost")
