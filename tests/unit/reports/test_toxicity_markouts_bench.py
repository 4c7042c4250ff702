"""bench/toxicity_markouts.py ``replay``: a hand-made fills tape and mid tape through the Toxicity feature."""

from __future__ import annotations

import importlib.util

import pandas as pd
import pytest

S = 1_000_000_000


@pytest.fixture(scope="module")
def bench(project_root):
    spec = importlib.util.spec_from_file_location("toxicity_markouts", project_root / "bench" / "toxicity_markouts.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_replay_scores_and_groups_fills_by_band(bench):
    from botmm_nautilus.core.params import ToxicityParams

    mids = pd.DataFrame({"ts_ns": [0, 1 * S, 2 * S, 6 * S, 8 * S, 13 * S], "mid": [100.0, 100.0, 99.99, 99.98, 99.97, 100.02]})
    fills = pd.DataFrame({  # a CSV of `botmm backtest --fills`: side BUY/SELL
        "ts_ns": [1 * S, 1 * S, 7 * S], "side": ["BUY", "BUY", "SELL"], "price": [99.99, 99.99, 99.99],
        "qty": [0.5, 0.5, 1.0], "mid_at_fill": [100.0, 100.0, 99.98],
    })
    params = ToxicityParams(horizons_s=(1.0,), ema_alpha=1.0, decay_half_life_s=0, min_markouts=1, min_sigma_bps_per_sqrt_s=1.0)
    r = bench.replay(fills, mids, params, check_horizon_s=5.0)
    st = r["state"]
    # the buy (two parts, one fill) at 1 s: 1 s horizon at 2 s, adverse 0.01 / (1e-4·100·√1) = 1.0 > 0.8: a pause
    assert st["bid"]["markouts"] == 1 and st["bid"]["score"] == 1.0 and st["bid"]["pauses"] == 1
    # the sell at 7 s, mid 99.98: first mid at or after 8 s is 99.97, in our favour: score 0
    assert st["ask"]["markouts"] == 1 and st["ask"]["score"] == 0.0
    bands = r["bands"].set_index(["side", "band"])
    # both parts of the buy happened in warm-up; 5 s markout from the tape: first mid at or after 6 s = 99.98: −2 bps
    assert bands.loc[("bid", "warm-up"), "count"] == 2 and bands.loc[("bid", "warm-up"), "mean"] == pytest.approx(-2.0)
    # the sell: 99.98 -> first mid at or after 12 s = 100.02: −(0.04 / 99.98)·1e4 bps for a sell
    assert bands.loc[("ask", "warm-up"), "mean"] == pytest.approx(-0.04 / 99.98 * 1e4)  # −4.0008
    assert r["n_fills"] == 3 and r["n_mids"] == 6
