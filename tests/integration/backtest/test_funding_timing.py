"""Funding is paid at the funding time, on the position held then, at the last close at or before it.

Constructed 5-minute bars (each stamped at its close) and funding rates; a scripted strategy sends
market orders at given bar closes (they reach the venue 60 ms later). The expected payments are
computed here from the raw inputs (order quantities, bar closes, rates), not from the module's
records: payment = -position * price * rate (positive rate: longs pay shorts).
"""

from __future__ import annotations

import pandas as pd
import pytest
from support.candle_probe import bar_close_ns
from support.candle_probe import run_probe
from support.candle_probe import write_bar_catalog

from botmm_nautilus.config.asset import load_config

START = "2025-01-01"
N_BARS = 48  # 00:00 .. 04:00


def _close(i: int) -> float:
    # every bar closes at a different price, so a payment at the wrong bar's close is visible
    return 100_000.0 + 10.0 * i


def _bars():
    out = []
    for i in range(N_BARS):
        o = _close(i - 1) if i else _close(0)
        c = _close(i)
        out.append((o, max(o, c) + 1.0, min(o, c) - 1.0, c))
    return out


def _ts(hhmm: str, ms: int = 0) -> int:
    return int(pd.Timestamp(f"{START}T{hhmm}:00Z").value) + ms * 1_000_000


def _bar_index_closing_at(ts_ns: int) -> int:
    return (ts_ns - bar_close_ns(START, 0)) // (300 * 10**9)


F1 = (_ts("01:00", 48), "0.001")   # Hyperliquid's archive stamps funding a few ms after the hour
F2 = (_ts("02:00", 48), "0.002")
F3 = (_ts("03:00"), "-0.0005")     # exactly on a bar close: that bar's close is "at or before"


@pytest.fixture(scope="module")
def funding_run(tmp_path_factory, project_root):
    cat = tmp_path_factory.mktemp("funding_timing")
    bars = write_bar_catalog(cat, START, _bars(), funding=[F1, F2, F3])
    script = [
        (_ts("00:30"), "BUY", 0.0, 0.01, "MARKET"),   # long 0.01 from 00:30:00.060, held over F1
        (_ts("01:30"), "SELL", 0.0, 0.01, "MARKET"),  # flat from 01:30:00.060
        (_ts("02:00"), "BUY", 0.0, 0.02, "MARKET"),   # long 0.02 from 02:00:00.060: AFTER F2, held over F3
    ]
    cfg = load_config(project_root / "configs" / "btc.yaml")
    record, funding = run_probe(cfg, cat, script)
    return bars, record, funding


def _last_close_at_or_before(bars, ts_ns: int) -> float:
    return [b.close.as_double() for b in bars if b.ts_init <= ts_ns][-1]


def test_position_opened_after_the_funding_time_does_not_pay_it(funding_run):
    bars, record, funding = funding_run
    assert len(record.fills) == 3 and all(ts == t + 60_000_000 for (ts, *_), t in zip(record.fills, (_ts("00:30"), _ts("01:30"), _ts("02:00"))))
    paid_at = [r["ts_ns"] for r in funding]
    assert F2[0] not in paid_at, "flat at 02:00:00.048 (the 02:00 buy reaches the venue at .060): no payment for F2"
    assert paid_at == [F1[0], F3[0]]


def test_payment_uses_the_position_and_last_close_at_the_funding_time(funding_run):
    bars, _, funding = funding_run
    by_ts = {r["ts_ns"]: r for r in funding}
    for (ts, rate), position in ((F1, 0.01), (F3, 0.02)):
        price = _last_close_at_or_before(bars, ts)
        assert price == _close(_bar_index_closing_at(ts))  # the bar ending at HH:00, not HH:05
        expected = -position * price * float(rate)
        row = by_ts[ts]
        assert row["position_base"] == pytest.approx(position, abs=1e-12)
        assert row["price"] == pytest.approx(price, abs=1e-9)
        assert row["payment_usd"] == pytest.approx(expected, rel=1e-12)
