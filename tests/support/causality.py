"""Look-ahead checks: run the backtest on a catalog and on a copy truncated at T, and compare what
happened before T.

A truncated COPY of the catalog (not ``end=T`` on the full one) is what catches a strategy or a
component that reads the catalog or the engine beyond the simulated clock: with ``end=T`` the
files still hold the future. The truncated run is given ``end=T`` as well, only so that its engine
stops (cancels, final timers) at T rather than at its last data point; every event stamped before
T must then be identical, field by field (only the random event UUIDs are left out).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import msgspec
import pandas as pd
from nautilus_trader.config import ImportableStrategyConfig
from nautilus_trader.model.data import Bar
from nautilus_trader.model.data import FundingRateUpdate
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import TradeTick
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from botmm_nautilus.backtest.runner import build_node
from botmm_nautilus.backtest.runner import build_run_config
from botmm_nautilus.backtest.runner import check_catalog
from botmm_nautilus.backtest.runner import collect_artifacts
from botmm_nautilus.backtest.venue_models import FUNDING_TOPIC
from botmm_nautilus.data.catalog_io import StagedCatalogWriter

DATA_CLASSES = (OrderBookDelta, TradeTick, Bar, FundingRateUpdate)


def truncated_catalog_copy(src: str | Path, dst: str | Path, cut_ns: int) -> Path:
    """A new catalog at ``dst`` with the instruments of ``src`` and every record stamped (ts_init) before ``cut_ns``."""
    catalog = ParquetDataCatalog(str(src))
    kept = list(catalog.instruments())
    for cls in DATA_CLASSES:
        kept += [d for d in catalog.query(cls) if d.ts_init < cut_ns]
    with StagedCatalogWriter(dst) as writer:
        writer.write(kept)
        writer.commit()
    return Path(dst)


@dataclass
class RunRecord:
    events: list[tuple[int, str, tuple]]  # (ts_event, event class, every field but the event UUID)
    fills: pd.DataFrame  # the strategy's fills tape (every column)
    samples: pd.DataFrame
    mids: pd.DataFrame
    summary_fills: int


def _event_row(event) -> tuple[int, str, tuple]:
    d = type(event).to_dict(event)
    d.pop("event_id", None)
    return int(event.ts_event), type(event).__name__, tuple(sorted((k, repr(v)) for k, v in d.items()))


def run_and_record(
    cfg,
    catalog: str | Path,
    mode: str,
    end_ns: int | None = None,
    strategy_path: str | None = None,
    venue_overrides: dict | None = None,
) -> RunRecord:
    """Run the backtest (optionally with another ``MarketMaker`` subclass, or with fields of the
    simulated venue's config replaced) and record every order event."""
    info = check_catalog(str(catalog), cfg, mode)
    run_cfg = build_run_config(cfg, str(catalog), mode, None, end_ns)
    if venue_overrides:
        run_cfg = msgspec.structs.replace(run_cfg, venues=[msgspec.structs.replace(run_cfg.venues[0], **venue_overrides)])
    if strategy_path is not None:
        strat = run_cfg.engine.strategies[0]
        swapped = ImportableStrategyConfig(strategy_path=strategy_path, config_path=strat.config_path, config=strat.config)
        run_cfg = msgspec.structs.replace(run_cfg, engine=msgspec.structs.replace(run_cfg.engine, strategies=[swapped]))
    node = build_node(run_cfg)
    engine = node.get_engine(run_cfg.id)
    events: list = []
    funding: list = []
    engine.kernel.msgbus.subscribe(topic="events.order.*", handler=events.append)
    engine.kernel.msgbus.subscribe(topic=FUNDING_TOPIC, handler=funding.append)
    results = node.run()
    try:
        art = collect_artifacts(engine, cfg, info, mode, funding, 0.0, results[0])
    finally:
        node.dispose()
    return RunRecord([_event_row(e) for e in events], art.fills, art.samples, art.mids, len(art.fills))


def differences_before(full: RunRecord, cut: RunRecord, cut_ns: int) -> list[str]:
    """What differs between two runs before ``cut_ns``: order events, fills, samples and mids (empty = identical)."""
    out = []
    a = [e for e in full.events if e[0] < cut_ns]
    b = [e for e in cut.events if e[0] < cut_ns]
    if a != b:
        i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        out.append(f"order events differ from #{i} of {len(a)}/{len(b)}: {a[i] if i < len(a) else None} vs {b[i] if i < len(b) else None}")
    for name in ("fills", "samples", "mids"):
        fa = getattr(full, name)
        fb = getattr(cut, name)
        fa = fa[fa["ts_ns"] < cut_ns].reset_index(drop=True)
        fb = fb[fb["ts_ns"] < cut_ns].reset_index(drop=True)
        if not fa.equals(fb):
            out.append(f"{name} differ: {len(fa)} vs {len(fb)} rows before the cut")
    return out
