"""Causality at strategy level: the future of the data cannot change the past of a run.

For book mode (the real Hyperliquid recording ws_2025-09-04, BTC) and candle mode (real BTC 5-minute
candles), the backtest runs once on the catalog and once on a COPY truncated at T (every record
stamped at or after T removed; see tests/support/causality.py for why a copy and not ``end=T``).
Every order event (submit, accept, modify, cancel, fill, with all fields), every fill of the tape,
every sample and every mid stamped before T must be identical.

The second test of each pair plants a look-ahead (a test-only ``MarketMaker`` subclass that reads
the catalog's future, tests/support/peeking.py) and asserts the same comparison catches it.
"""

from __future__ import annotations

import pandas as pd
import pytest
import support.peeking as peeking
from support.causality import differences_before
from support.causality import run_and_record
from support.causality import truncated_catalog_copy

from botmm_nautilus.config.asset import load_config
from botmm_nautilus.config.loader import override
from botmm_nautilus.data.candles import import_candles
from botmm_nautilus.data.hl_ws import import_hyperliquid_ws

BOOK_CUT = int(pd.Timestamp("2025-09-04T20:05:00Z").value)
CANDLE_FIRST = pd.Timestamp("2025-04-01T00:00:00Z")
CANDLE_DAYS = 3
CANDLE_CUT = int(pd.Timestamp("2025-04-02T12:00:00Z").value)  # a bar close: that bar and all later ones are cut


@pytest.fixture(scope="module")
def book_catalogs(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("causality_book")
    import_hyperliquid_ws(shared_data / "hyperliquid" / "ws_2025-09-04", str(root / "full"), coins=["BTC"], progress=False)
    truncated_catalog_copy(root / "full", root / "cut", BOOK_CUT)
    return root / "full", root / "cut"


@pytest.fixture(scope="module")
def candle_catalogs(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("causality_candles")
    frame = pd.read_feather(shared_data / "hyperliquid" / "candles" / "BTC_USDC_USDC-5m-futures.feather")
    frame = frame[(frame["date"] >= CANDLE_FIRST) & (frame["date"] < CANDLE_FIRST + pd.Timedelta(days=CANDLE_DAYS))]
    src = root / "BTC_USDC_USDC-5m-futures.csv"
    frame.to_csv(src, index=False)
    import_candles([src], "BTC", str(root / "full"), interval="5m")
    truncated_catalog_copy(root / "full", root / "cut", CANDLE_CUT)
    return root / "full", root / "cut"


@pytest.fixture(scope="module")
def btc_cfg(project_root):
    return load_config(project_root / "configs" / "btc.yaml")


def _compare(cfg, catalogs, mode, cut_ns, strategy_path=None):
    full_cat, cut_cat = catalogs
    peeking.CATALOG = str(full_cat)
    full = run_and_record(cfg, full_cat, mode, strategy_path=strategy_path)
    peeking.CATALOG = str(cut_cat)
    cut = run_and_record(cfg, cut_cat, mode, end_ns=cut_ns, strategy_path=strategy_path)
    return full, cut, differences_before(full, cut, cut_ns)


@pytest.fixture(scope="module")
def book_plain(btc_cfg, book_catalogs):
    """The shipped BTC config (signals off) on the full and the cut book catalogs, and their differences before T."""
    return _compare(btc_cfg, book_catalogs, "book", BOOK_CUT)


def test_book_mode_fills_before_t_do_not_depend_on_data_after_t(book_plain):
    full, cut, diffs = book_plain
    assert diffs == []
    before = full.fills[full.fills["ts_ns"] < BOOK_CUT]
    assert len(before) >= 10 and len(full.fills) > len(before), "the comparison needs fills on both sides of T"
    assert sum(1 for e in full.events if e[0] < BOOK_CUT) > 100


# every signal on: the bias on 30 s bars of the mid (the Kalman trend filter, σ-scaled strength),
# the depth-weighted imbalance, the microprice and the trade flow
ALL_SIGNALS = {
    "signals.use_bias": True, "signals.bias_bar_interval_s": 30.0, "signals.bias_kalman_model": "trend",
    "signals.bias_strength": 0.2, "signals.bias_horizon_s": 30.0, "signals.bias_weight_bps": 0.5,
    "signals.use_imbalance": True, "signals.imbalance_weight_bps": 1.0, "signals.imbalance_level_decay": 0.5,
    "signals.use_microprice": True, "signals.microprice_weight": 0.5,
    "signals.use_flow": True, "signals.flow_weight_bps": 1.0,
}


def test_book_mode_with_every_signal_on_is_causal(btc_cfg, book_catalogs, book_plain):
    cfg = override(btc_cfg, **ALL_SIGNALS)
    full, _, diffs = _compare(cfg, book_catalogs, "book", BOOK_CUT)
    assert diffs == []
    assert len(full.fills[full.fills["ts_ns"] < BOOK_CUT]) >= 10
    # the signals acted before T: the run differs there from the run with them off
    assert differences_before(full, book_plain[0], BOOK_CUT)


def test_book_mode_comparison_catches_a_strategy_reading_the_future(btc_cfg, book_catalogs):
    _, _, diffs = _compare(btc_cfg, book_catalogs, "book", BOOK_CUT, "support.peeking:FutureTradeMaker")
    assert diffs and diffs[0].startswith("order events differ"), diffs


def test_candle_mode_fills_before_t_do_not_depend_on_data_after_t(btc_cfg, candle_catalogs):
    full, cut, diffs = _compare(btc_cfg, candle_catalogs, "candles", CANDLE_CUT)
    assert diffs == []
    before = full.fills[full.fills["ts_ns"] < CANDLE_CUT]
    assert len(before) >= 10 and len(full.fills) > len(before), "the comparison needs fills on both sides of T"


def test_candle_mode_comparison_catches_a_next_bar_peek(btc_cfg, candle_catalogs):
    _, _, diffs = _compare(btc_cfg, candle_catalogs, "candles", CANDLE_CUT, "support.peeking:NextCloseMaker")
    assert diffs and diffs[0].startswith("order events differ"), diffs
