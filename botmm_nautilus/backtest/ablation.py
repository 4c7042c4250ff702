"""Run an ablation: one backtest per (variant, window), each in a fresh worker process.

``run_ablation`` applies every variant of a variants file (``config/variants.py``) to one per-asset
config, checks every window against the catalog before any work starts, and runs the backtests in a
``ProcessPoolExecutor`` with the ``spawn`` start method and ``max_tasks_per_child=1``: each backtest
gets a new interpreter (no Nautilus engine, Rust logger or module state is shared or reused between
runs, and a crash in one run cannot corrupt the next). A worker returns a compact record (summary
figures, attribution, the equity tape); ``reports.ablation.build_ablation_table`` builds the table.

Windows are ``NAME=START..END`` (ISO 8601 UTC): ``in`` / ``in-...`` windows are in-sample,
``out`` / ``out-...`` out-of-sample; each run's ``backtest.sample_label`` is set from its window so
its own report says the same.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import time
from concurrent.futures import FIRST_COMPLETED
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import wait
from dataclasses import dataclass
from dataclasses import replace
from pathlib import Path
from typing import Callable

import msgspec
import numpy as np
import pandas as pd

from botmm_nautilus.config import loader
from botmm_nautilus.config.asset import AssetConfig
from botmm_nautilus.config.asset import config_from_dict
from botmm_nautilus.config.variants import Variant
from botmm_nautilus.config.variants import apply_variant
from botmm_nautilus.config.variants import load_variants
from botmm_nautilus.data.catalog_io import CatalogError
from botmm_nautilus.errors import BotmmError
from botmm_nautilus.errors import ConfigError
from botmm_nautilus.reports.ablation import build_ablation_table
from botmm_nautilus.reports.bootstrap import DEFAULT_RESAMPLES
from botmm_nautilus.reports.bootstrap import DEFAULT_SEED
from botmm_nautilus.times import parse_period_ns

SAMPLE_LABELS = {"in": "in-sample", "out": "out-of-sample"}
# the summary keys a worker sends back (the rest of a summary, e.g. the config, stays in the worker)
_RECORD_SUMMARY_KEYS = (
    "label", "start", "end", "start_ns", "end_ns", "duration_hours", "sample_label", "instrument", "mode",
    "net_pnl_usd", "net_pnl_liquidation_adjusted_usd", "starting_balance_usd", "final_equity_usd", "fees_usd", "funding_usd",
    "venue_fills", "order_filled_events", "volume_usd", "avg_captured_spread_bps",
    "markout_1s_bps", "markout_10s_bps", "markout_60s_bps", "adverse_1s_bps", "adverse_10s_bps", "adverse_60s_bps",
    "max_drawdown_usd", "final_position_base", "time_quoted_both_frac", "orders_submitted", "wall_seconds",
    "breakeven_maker_fee_bps", "warnings", "attribution",
)


@dataclass(frozen=True)
class Window:
    name: str
    sample_label: str
    start: str
    end: str
    start_ns: int
    end_ns: int
    clipped: bool = False  # cut to the catalog's data range (``clipped_to``)

    def as_dict(self) -> dict:
        return {"name": self.name, "sample_label": self.sample_label, "start": self.start, "end": self.end,
                "start_ns": self.start_ns, "end_ns": self.end_ns, "clipped_to_data": self.clipped}

    def clipped_to(self, lo_ns: int, hi_ns: int) -> Window:
        """This window cut to the data range [lo_ns, hi_ns], so that the confidence interval's PnL
        buckets cover only time with market data (a bucket without data would add a zero increment
        and narrow the interval)."""
        start, end = max(self.start_ns, lo_ns), min(self.end_ns, hi_ns)
        if (start, end) == (self.start_ns, self.end_ns):
            return self
        return replace(self, start=_iso(start), end=_iso(end), start_ns=start, end_ns=end, clipped=True)


def parse_window(text: str, option: str = "--window") -> Window:
    """``in=2026-01-05T23:00:00Z..2026-01-07T00:00:00Z`` as a ``Window`` (a ``ConfigError`` naming
    ``option`` otherwise). The name is ``in`` or ``out``, optionally followed by ``-SUFFIX``."""
    name, sep, period = str(text).partition("=")
    start, dots, end = period.partition("..")
    if not sep or not dots or not name:
        raise ConfigError(f"{option} {text!r}: use NAME=START..END, e.g. in=2025-09-04T19:46:00Z..2025-09-04T20:04:00Z")
    kind = name.split("-", 1)[0].lower()
    if kind not in SAMPLE_LABELS or not re.fullmatch(r"[A-Za-z][\w-]*", name):
        raise ConfigError(f"{option} {text!r}: the name must be 'in' or 'out' (optionally in-SUFFIX / out-SUFFIX) "
                          f"so the window is labelled in-sample or out-of-sample, got {name!r}")
    start_ns, end_ns = parse_period_ns(start.strip(), end.strip(), (f"{option} {name} start", f"{option} {name} end"))
    if start_ns is None or end_ns is None:
        raise ConfigError(f"{option} {text!r}: give both a start and an end")
    return Window(name, SAMPLE_LABELS[kind], _iso(start_ns), _iso(end_ns), start_ns, end_ns)


def _iso(ns: int) -> str:
    return pd.Timestamp(ns, tz="UTC").isoformat().replace("+00:00", "Z")


def parse_windows(texts: list[str], option: str = "--window") -> list[Window]:
    windows = [parse_window(t, option) for t in texts or []]
    if not windows:
        raise ConfigError(f"{option}: give at least one window, e.g. {option} in=START..END {option} out=START..END")
    names = [w.name for w in windows]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise ConfigError(f"{option}: window name {dup!r} is given twice; names must be unique")
    return windows


@dataclass(frozen=True)
class RunSpec:
    """One backtest of the ablation, as plain data (it crosses the process boundary)."""

    variant: str
    window: str
    config: dict  # AssetConfig as builtins (variant applied, sample label set)
    catalog: str
    start_ns: int
    end_ns: int
    mode: str
    instrument: str | None
    description: str
    json_path: str | None = None  # the run's own backtest JSON (``--runs-dir``)


def run_one(spec: RunSpec) -> dict:
    """Worker: run one backtest in this (fresh) process and return its compact record."""
    import warnings

    warnings.filterwarnings("ignore")
    from botmm_nautilus.backtest.runner import run_backtest

    cfg = config_from_dict(spec.config, f"variant {spec.variant!r}")
    t0 = time.perf_counter()
    out = run_backtest(cfg, spec.catalog, spec.start_ns, spec.end_ns, mode=spec.mode, progress=False,
                       instrument=spec.instrument, data_description=spec.description, json_path=spec.json_path)
    samples = out.artifacts.samples
    return {
        "variant": spec.variant,
        "window": spec.window,
        "summary": {k: out.summary[k] for k in _RECORD_SUMMARY_KEYS if k in out.summary} | {"strategy": cfg.strategy},
        "sample_ts_ns": samples["ts_ns"].to_numpy(dtype=np.int64),
        "equity_usd": samples["equity_usd"].to_numpy(dtype=np.float64),
        "wall_seconds": time.perf_counter() - t0,
        "pid": os.getpid(),
    }


def plan_runs(
    cfg: AssetConfig,
    variants: list[Variant],
    windows: list[Window],
    catalog: str,
    *,
    variants_source: str,
    mode: str = "book",
    instrument: str | None = None,
    runs_dir: str | Path | None = None,
) -> tuple[list[RunSpec], list[Window]]:
    """Every (window, variant) run, each checked against the catalog before any starts, and the
    windows cut to the catalog's data range (``Window.clipped_to``); with ``runs_dir`` each run
    also writes its backtest JSON there (``{variant}__{window}.json``)."""
    from botmm_nautilus.backtest.runner import check_catalog

    specs = []
    configs = {v.name: apply_variant(cfg, v, variants_source) for v in variants}
    info = check_catalog(catalog, cfg, mode, instrument)
    lo, hi = info["range"]
    for w in windows:
        if w.start_ns > hi or w.end_ns < lo:
            raise CatalogError(
                f"--window {w.name}={w.start}..{w.end} does not overlap the catalog's data for {info['instrument_id']} "
                f"[{pd.Timestamp(lo, tz='UTC')}, {pd.Timestamp(hi, tz='UTC')}]",
            )
        for v in variants:
            vc = loader.override(
                configs[v.name], source=f"{variants_source}: variant {v.name!r}", **{"backtest.sample_label": w.sample_label},
            )
            specs.append(RunSpec(
                variant=v.name, window=w.name, config=msgspec.to_builtins(vc), catalog=str(catalog),
                start_ns=w.start_ns, end_ns=w.end_ns, mode=mode, instrument=instrument,
                description=f"catalog {catalog}, ablation window {w.name} ({w.sample_label}), variant {v.name}",
                json_path=None if runs_dir is None else str(Path(runs_dir) / f"{_file_name(v.name)}__{w.name}.json"),
            ))
    return specs, [w.clipped_to(lo, hi) for w in windows]


def _file_name(name: str) -> str:
    """``name`` with every character other than letters, digits, ``-``, ``_``, ``.``, ``+`` as ``_``."""
    return re.sub(r"[^\w.+-]", "_", name)


def execute(specs: list[RunSpec], jobs: int, progress: Callable[[str], None] | None = print) -> list[dict]:
    """Run ``specs`` in fresh worker processes (``jobs`` at a time); one progress line per finished
    run. The first failing run stops the ablation (pending runs are cancelled) and its error is
    raised with the variant and window named (a ``BotmmError`` when the run met a user error)."""
    if jobs < 1:
        raise ConfigError(f"--jobs must be >= 1, got {jobs}")
    ctx = multiprocessing.get_context("spawn")
    t0 = time.perf_counter()
    records: list[dict] = []
    with ProcessPoolExecutor(max_workers=min(jobs, len(specs)), mp_context=ctx, max_tasks_per_child=1) as pool:
        futures = {pool.submit(run_one, s): s for s in specs}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                spec = futures[fut]
                exc = fut.exception()
                if exc is not None:
                    for p in pending:
                        p.cancel()
                    if isinstance(exc, BotmmError):  # a user error met inside the run: one line naming the run
                        raise BotmmError(f"ablation run variant {spec.variant!r}, window {spec.window!r}: {exc}") from None
                    raise RuntimeError(f"ablation run variant {spec.variant!r}, window {spec.window!r} failed: {exc!r}") from exc
                rec = fut.result()
                records.append(rec)
                if progress is not None:
                    s = rec["summary"]
                    progress(
                        f"[{len(records)}/{len(specs)}] {spec.variant} | {spec.window}: net {s['net_pnl_usd']:+,.2f} USD, "
                        f"{s.get('venue_fills', 0)} fills, run {rec['wall_seconds']:.1f} s "
                        f"(elapsed {time.perf_counter() - t0:.1f} s)",
                    )
    return records


def run_ablation(
    config_path: str | Path,
    catalog: str,
    variants_path: str | Path,
    windows: list[str] | list[Window],
    *,
    instrument: str | None = None,
    mode: str = "book",
    jobs: int = 2,
    bucket_s: float | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    runs_dir: str | Path | None = None,
    progress: Callable[[str], None] | None = print,
) -> dict:
    """The ablation result (``reports.ablation``) of every variant on every window, with ``data``
    naming the config, catalog, instrument and variants file, ``wall_seconds`` the total time and
    ``runs`` each backtest's time and worker process id."""
    from botmm_nautilus.config.asset import load_config

    wins = [w if isinstance(w, Window) else parse_window(w) for w in windows]
    if not wins:
        raise ConfigError("--window: give at least one window")
    cfg = load_config(config_path)
    variants = load_variants(variants_path)  # plan_runs applies (and so checks) each one before any run
    specs, data_windows = plan_runs(cfg, variants, wins, str(catalog), variants_source=str(variants_path), mode=mode, instrument=instrument,
                      runs_dir=runs_dir)
    t0 = time.perf_counter()
    records = execute(specs, jobs, progress)
    wall = time.perf_counter() - t0
    result = build_ablation_table(
        records, [v.as_dict() for v in variants], [w.as_dict() for w in data_windows],
        bucket_s=bucket_s, resamples=resamples, seed=seed,
    )
    from botmm_nautilus.backtest.runner import resolve_instrument_id

    result["data"] = {
        "config": str(config_path),
        "catalog": str(catalog),
        "instrument": str(resolve_instrument_id(cfg, instrument)),
        "mode": mode,
        "variants_file": str(variants_path),
    }
    result["wall_seconds"] = round(wall, 3)
    result["jobs"] = jobs
    # each run's own time and the worker process it ran in (one fresh process per run)
    result["runs"] = [
        {"variant": r["variant"], "window": r["window"], "pid": r["pid"], "wall_seconds": round(r["wall_seconds"], 3)} for r in records
    ]
    return result

