"""A book-mode backtest on an instrument of another venue (``instrument=``): the Binance USD-M
capture in ../shared/data, quoted and settled in USDT. Before ``instrument=`` existed only
``{COIN}-USDC-PERP.HL`` could be backtested; a USDC account with a USDT instrument would also book
no PnL (Nautilus 1.231), and the strategy read its equity in USDC (0 -> the risk rules never let it
quote)."""

from __future__ import annotations

import pytest

from botmm_nautilus.backtest.runner import run_backtest
from botmm_nautilus.config.asset import load_config
from botmm_nautilus.data.binance import import_binance_raw
from botmm_nautilus.data.catalog_io import CatalogError

pytestmark = pytest.mark.shared_data

BINANCE_ID = "BTCUSDT-PERP.BINANCE"


@pytest.fixture(scope="module")
def binance_catalog(shared_data, tmp_path_factory):
    cat = tmp_path_factory.mktemp("binance_catalog")
    import_binance_raw(shared_data / "binance" / "raw_ws" / "usdm_btcusdt_20240808.gz", str(cat), progress=False)
    return cat


def test_backtest_runs_on_a_binance_instrument_and_books_pnl_in_its_currency(binance_catalog, project_root):
    cfg = load_config(project_root / "configs" / "btc.yaml")
    out = run_backtest(cfg, str(binance_catalog), instrument=BINANCE_ID, progress=False)
    s = out.summary
    assert s["instrument"] == BINANCE_ID
    assert s["venue_fills"] > 0, "six minutes of Binance BTC at 0.1 tick must fill the default quotes"
    # the engine booked fees and PnL: the balance moved by exactly the fees + realised PnL
    rec = s["reconciliation"]
    assert rec["ok"], rec
    assert s["fees_usd"] > 0
    assert abs(rec["engine_commissions_usd"]) == pytest.approx(s["fees_usd"], abs=0.01)
    assert s["final_balance_usd"] != pytest.approx(s["starting_balance_usd"], abs=1e-6)


def test_unknown_instrument_names_what_the_catalog_holds(binance_catalog, project_root):
    cfg = load_config(project_root / "configs" / "btc.yaml")
    with pytest.raises(CatalogError, match=r"no instrument ETHUSDT-PERP.BINANCE.*BTCUSDT-PERP.BINANCE"):
        run_backtest(cfg, str(binance_catalog), instrument="ETHUSDT-PERP.BINANCE", progress=False)
