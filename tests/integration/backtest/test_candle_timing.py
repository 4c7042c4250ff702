"""Candle mode timing and fill rule on a constructed bar series (the project's real candle venue).

Bars are 5 minutes, stamped at their close. A post-only limit sent at bar t's close with the
configured 60 ms latency must rest in the book during bar t+1 (it is built from close t, so bar
t+1's range is the first that may fill it), and by default a bar must trade THROUGH the limit by
at least one tick to fill it (``backtest.candle_fill: through``); ``touch`` fills at the price.
"""

from __future__ import annotations

import pytest
from support.candle_probe import bar_close_ns
from support.candle_probe import run_probe
from support.candle_probe import write_bar_catalog

from botmm_nautilus.config.asset import load_config
from botmm_nautilus.config.loader import override

START = "2025-01-01"
P = 100_000.0
QUIET = (P, P + 5, P - 5, P)
# index: (open, high, low, close)
BARS = [
    QUIET, QUIET, QUIET,
    QUIET,                                # 3: BUY limit at close - 50 = 99_950 sent at this close
    (P, P + 5, P - 100, P - 80),          # 4: trades 50 through the bid, closes below it
    (P - 80, P, P - 85, P),               # 5: back to 100_000
    QUIET,                                # 6: SELL limit at close + 50 = 100_050 sent at this close
    (P, P + 50, P - 5, P),                # 7: high exactly AT the ask (a touch)
    (P, P + 50, P - 5, P),                # 8: another touch
    (P, P + 50.1, P - 5, P),              # 9: one tick (0.1) through the ask
    QUIET, QUIET,
]
QTY = 0.002


@pytest.fixture(scope="module")
def bar_catalog(tmp_path_factory):
    cat = tmp_path_factory.mktemp("candle_timing")
    write_bar_catalog(cat, START, BARS)
    return cat


def _script():
    return [(bar_close_ns(START, 3), "BUY", -50.0, QTY, "LIMIT"), (bar_close_ns(START, 6), "SELL", +50.0, QTY, "LIMIT")]


def _cfg(project_root, candle_fill: str):
    return override(load_config(project_root / "configs" / "btc.yaml"), **{"backtest.candle_fill": candle_fill})


def test_quote_from_close_t_rests_during_bar_t_plus_1(bar_catalog, project_root):
    """Old engine timing: the BUY reached the book only after bar 4 was matched, at close 99_920,
    and was refused as post-only (it would have crossed); here it fills during bar 4."""
    record, _ = run_probe(_cfg(project_root, "through"), bar_catalog, _script())
    latency_ns = 60_000_000
    assert record.accepted[:2] == [bar_close_ns(START, 3) + latency_ns, bar_close_ns(START, 6) + latency_ns]
    assert record.rejects == []
    buys = [f for f in record.fills if f[1] == "BUY"]
    assert [(ts, px, qty) for ts, _, px, qty in buys] == [(bar_close_ns(START, 4), P - 50, QTY)]


def test_default_fill_rule_needs_a_trade_through_the_limit(bar_catalog, project_root):
    """Bars 7 and 8 only touch the ask: no fill; bar 9 trades one tick through it: the fill."""
    record, _ = run_probe(_cfg(project_root, "through"), bar_catalog, _script())
    sells = [f for f in record.fills if f[1] == "SELL"]
    assert [(ts, px, qty) for ts, _, px, qty in sells] == [(bar_close_ns(START, 9), P + 50, QTY)]


def test_touch_fill_rule_fills_at_the_price(bar_catalog, project_root):
    record, _ = run_probe(_cfg(project_root, "touch"), bar_catalog, _script())
    sells = [f for f in record.fills if f[1] == "SELL"]
    assert [(ts, px, qty) for ts, _, px, qty in sells] == [(bar_close_ns(START, 7), P + 50, QTY)]
