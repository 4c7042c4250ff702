"""The backtest's fills (Nautilus engine + QueueFillModule) on the shared constructed fill-rule cases.

Every case of tests/support/fill_cases.py is written to a catalog exactly as an importer would
(snapshots through SnapshotDiffer), run through the real backtest venue setup
(``runner.build_run_config``: latency 0, no fees) with a strategy that places the case's orders
after the first book, and its OrderFilled events must equal the rules' fills. The old setup
(Nautilus's own ``queue_position``) fails these cases: it puts no queue ahead of an order beyond
the window, resets the queue when a level leaves the window, and fills a print-through completely.
"""

from __future__ import annotations

import msgspec
import pytest
from nautilus_trader.config import ImportableStrategyConfig

from botmm_nautilus.backtest.runner import build_node
from botmm_nautilus.backtest.runner import build_run_config
from botmm_nautilus.config.asset import load_config
from botmm_nautilus.config.loader import override
from botmm_nautilus.data.catalog_io import StagedCatalogWriter
from support.fill_case_data import case_data
from support.fill_case_data import case_instrument
from support.fill_case_data import expected_fills
from support.fill_cases import CASES


def run_case_backtest(case, catalog, project_root):
    instrument = case_instrument()
    with StagedCatalogWriter(catalog) as writer:
        writer.write([instrument])
        data = case_data(case)
        writer.write([d for d in data if type(d).__name__ == "OrderBookDelta"])
        writer.write([d for d in data if type(d).__name__ == "TradeTick"])
        writer.commit()
    cfg = override(
        load_config(project_root / "configs" / "btc.yaml"),
        **{"venue.latency_ms": 0, "venue.maker_fee_bps": 0.0, "venue.taker_fee_bps": 0.0},
    )
    run_cfg = build_run_config(cfg, str(catalog), "book")
    strategy = ImportableStrategyConfig(
        strategy_path="support.scripted_orders:ScriptedOrders",
        config_path="support.scripted_orders:ScriptedOrdersConfig",
        config={"instrument_id": str(instrument.id), "orders": [[s, str(p), str(q)] for s, p, q in case.orders]},
    )
    run_cfg = msgspec.structs.replace(run_cfg, engine=msgspec.structs.replace(run_cfg.engine, strategies=[strategy]))
    node = build_node(run_cfg)
    try:
        node.run()
        engine = node.get_engine(run_cfg.id)
        return list(engine.trader.strategies()[0].fills)
    finally:
        node.dispose()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_backtest_fill_case(case, tmp_path, project_root):
    assert run_case_backtest(case, tmp_path / "cat", project_root) == expected_fills(case), f"{case.rule}: {case.note}"
