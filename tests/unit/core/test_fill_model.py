"""The fill-model features (hand-computed), the sklearn-free tree evaluation and the adjuster."""

from __future__ import annotations

import math

import numpy as np
import pytest

from botmm_nautilus.core.adjust import QuoteContext
from botmm_nautilus.core.fill_features import FEATURE_NAMES
from botmm_nautilus.core.fill_features import QUEUE_FLOW_CAP_S
from botmm_nautilus.core.fill_features import FillFeatures
from botmm_nautilus.core.fill_model import FORMAT
from botmm_nautilus.core.fill_model import FillModel
from botmm_nautilus.core.fill_model import FillModelAdjuster
from botmm_nautilus.core.fill_model import FillModelError
from botmm_nautilus.core.params import FillModelParams

S = 1_000_000_000
F = {name: i for i, name in enumerate(FEATURE_NAMES)}


def _tracker() -> FillFeatures:
    f = FillFeatures(tick_size=1.0, horizon_s=4.0, flow_window_s=10.0, vol_window_s=100.0, depth_levels=2)
    f.on_mid(0, 100.0)
    f.on_mid(1 * S, 101.0)
    f.on_mid(2 * S, 100.0)
    f.on_trade(3 * S, 99.0, 2.0, False)  # a seller hit the bid
    f.on_trade(4 * S, 101.0, 1.0, True)  # a buyer lifted the ask
    f.on_book(5 * S, [(99.5, 3.0), (98.5, 1.0), (97.5, 4.0)], [(100.5, 1.0), (101.5, 5.0)])
    return f


def test_features_of_a_bid_by_hand():
    x = _tracker().features(int(11.5 * S), True, 98.5)
    vol_bps = math.sqrt(2 * math.log(1.01) ** 2 / 100) * 1e4  # two returns of ±ln(1.01) over a 100 s window: 14.07
    assert x[F["is_bid"]] == 1.0
    assert x[F["dist_ticks"]] == pytest.approx(1.5)  # mid 100 - 98.5, tick 1
    assert x[F["vol_bps"]] == pytest.approx(vol_bps)
    assert x[F["dist_vol"]] == pytest.approx(1.5 / (vol_bps * 1e-4 * 100 * 2))  # 1.5 / (σ·mid·√4) = 5.33
    assert x[F["queue_ahead"]] == pytest.approx(4.0)  # 3 at 99.5 + 1 at 98.5
    assert x[F["queue_ahead_flow_s"]] == pytest.approx(20.0)  # 4 / (2 sold in 10 s)
    assert x[F["imbalance"]] == pytest.approx(-0.2)  # (3+1 - (1+5)) / 10
    assert x[F["touch_imbalance"]] == pytest.approx(0.5)  # (3 - 1) / 4
    assert x[F["flow_toward"]] == pytest.approx(1 / 3)  # (2 sold - 1 bought) / 3
    assert x[F["trade_rate_per_s"]] == pytest.approx(0.2)  # 2 trades / 10 s
    assert x[F["mid_ret_bps"]] == pytest.approx((101 - 100) / 101 * 1e4)  # mid 101 at the window start (1.5 s) -> 100: +99 bps toward a bid
    assert x[F["spread_ticks"]] == pytest.approx(1.0)
    assert x[F["spread_bps"]] == pytest.approx(100.0)  # 1 / 100 x 1e4
    assert x[F["since_trade_s"]] == pytest.approx(7.5)  # 11.5 - 4


def test_features_of_an_ask_by_hand_and_window_expiry():
    f = _tracker()
    x = f.features(int(11.5 * S), False, 101.5)
    assert x[F["is_bid"]] == 0.0
    assert x[F["dist_ticks"]] == pytest.approx(1.5)
    assert x[F["queue_ahead"]] == pytest.approx(6.0)  # 1 at 100.5 + 5 at 101.5
    assert x[F["queue_ahead_flow_s"]] == pytest.approx(60.0)  # 6 / (1 bought in 10 s)
    assert x[F["imbalance"]] == pytest.approx(0.2)
    assert x[F["touch_imbalance"]] == pytest.approx(-0.5)
    assert x[F["flow_toward"]] == pytest.approx(-1 / 3)
    assert x[F["mid_ret_bps"]] == pytest.approx(-(101 - 100) / 101 * 1e4)
    # at 14.5 s both trades (3 s, 4 s) are older than the 10 s window
    y = f.features(int(14.5 * S), False, 101.5)
    assert y[F["trade_rate_per_s"]] == 0.0 and y[F["flow_toward"]] == 0.0
    assert y[F["queue_ahead_flow_s"]] == QUEUE_FLOW_CAP_S
    assert y[F["since_trade_s"]] == pytest.approx(10.5)


def test_feature_tracker_rejects_bad_settings():
    with pytest.raises(ValueError, match="tick_size"):
        FillFeatures(0.0)
    with pytest.raises(ValueError, match="flow_window_s"):
        FillFeatures(1.0, flow_window_s=0)


# ------------------------------------------------------------------------------ tree evaluation


def _sklearn_pair(seed: int = 0):
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(seed)
    n = 3000
    X = rng.normal(size=(n, len(FEATURE_NAMES)))
    X[rng.random(n) < 0.1, 3] = np.nan  # missing values take the learned branch
    logit = 1.5 * X[:, 1] - X[:, 5] + np.where(np.isnan(X[:, 3]), 1.0, 0.3 * np.nan_to_num(X[:, 3]))
    y1 = rng.random(n) < 1 / (1 + np.exp(-logit))
    y2 = rng.random(n) < 1 / (1 + np.exp(logit * 0.5 - X[:, 7]))
    from threadpoolctl import threadpool_limits

    kw = {"max_iter": 15, "max_leaf_nodes": 15, "max_depth": 6, "early_stopping": False, "random_state": 0}
    with threadpool_limits(limits=1):  # contended OpenMP threads are many times slower on a shared machine
        return X, HistGradientBoostingClassifier(**kw).fit(X, y1), HistGradientBoostingClassifier(**kw).fit(X, y2)


def test_exported_trees_equal_sklearn_predict_proba():
    from botmm_nautilus.ml.train import export_ensemble

    X, m1, m2 = _sklearn_pair()
    doc = {"format": FORMAT, "feature_names": list(FEATURE_NAMES), "feature_settings": {}, "book_levels": 10,
           "models": {"p_fill": export_ensemble(m1), "p_adverse": export_ensemble(m2)}}
    model = FillModel.from_dict(doc)
    Xt = np.random.default_rng(1).normal(size=(500, len(FEATURE_NAMES)))
    Xt[::7, 3] = np.nan
    from threadpoolctl import threadpool_limits

    pf, pa = model.predict_many(Xt)
    with threadpool_limits(limits=1):
        assert np.max(np.abs(pf - m1.predict_proba(Xt)[:, 1])) < 1e-9
        assert np.max(np.abs(pa - m2.predict_proba(Xt)[:, 1])) < 1e-9
        full = np.nan_to_num(Xt)  # the walk without missing values takes its own path
        assert np.max(np.abs(model.predict_adverse(full) - m2.predict_proba(full)[:, 1])) < 1e-9
    assert model.predict(Xt[0]) == pytest.approx((pf[0], pa[0]), abs=1e-12)


def _stump_doc(p_close: float, p_far: float) -> dict:
    """p_adverse = p_close when dist_ticks <= 1, else p_far (one split); p_fill = 0.5 (one leaf)."""
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    stump = {"feature": [F["dist_ticks"], 0, 0], "threshold": [1.0, 0, 0], "missing_left": [0, 0, 0],
             "left": [1, 0, 0], "right": [2, 0, 0], "leaf": [0, 1, 1], "value": [0.0, logit(p_close), logit(p_far)]}
    leaf = {"feature": [0], "threshold": [0], "missing_left": [0], "left": [0], "right": [0], "leaf": [1], "value": [0.0]}
    return {"format": FORMAT, "feature_names": list(FEATURE_NAMES),
            "feature_settings": {"horizon_s": 5.0, "flow_window_s": 10.0, "vol_window_s": 60.0, "depth_levels": 2},
            "book_levels": 3, "models": {"p_fill": {"baseline": 0.0, "trees": [leaf]},
                                          "p_adverse": {"baseline": 0.0, "trees": [stump]}}}


def test_model_document_errors_name_the_part():
    doc = _stump_doc(0.9, 0.5)
    with pytest.raises(FillModelError, match="feature_names"):
        FillModel.from_dict({**doc, "feature_names": ["x"]})
    with pytest.raises(FillModelError, match="format"):
        FillModel.from_dict({**doc, "format": "other"})
    with pytest.raises(FillModelError, match="models.p_adverse"):
        FillModel.from_dict({**doc, "models": {"p_fill": doc["models"]["p_fill"]}})
    with pytest.raises(FillModelError, match="JSON"):
        FillModel.from_json("{not json")


# ---------------------------------------------------------------------------------- adjuster


def _ctx(**kw) -> QuoteContext:
    base = dict(ts_ns=10 * S, mid=100.0, best_bid=99.5, best_ask=100.5, sigma_price=0.1, position_base=0.0,
                max_position_usd=1e4, equity_usd=1e4, capital_usd=1e4, order_size_usd=100.0, tick_size=0.5,
                bid_sizes=(2.0, 1.0, 1.0), ask_sizes=(1.0, 1.0, 3.0))
    base.update(kw)
    return QuoteContext(**base)


def test_adjuster_widens_close_levels_with_high_p_adverse():
    # dist_ticks of 99.5 = (100 - 99.5)/0.5 = 1 <= 1 -> p_adverse 0.9 >= widen 0.8: distance 0.5 x 2 = 1.0 -> 99.0;
    # 98.0 is 4 ticks away -> 0.5, kept; the ask 100.5 -> 101.0
    adj = FillModelAdjuster(FillModelParams(enabled=True, path="m.json", widen_threshold=0.8, pull_threshold=0.95,
                                            widen_mult=2.0), FillModel.from_dict(_stump_doc(0.9, 0.5)))
    adj.on_mid(1 * S, 100.0)
    bids, asks = adj.review(_ctx(), [(99.5, 1.0), (98.0, 2.0)], [(100.5, 1.0), (102.0, 2.0)])
    assert bids == [(99.0, 1.0), (98.0, 2.0)]
    assert asks == [(101.0, 1.0), (102.0, 2.0)]
    st = adj.state()
    assert (st["levels_widened"], st["levels_pulled"], st["levels_seen"]) == (2, 0, 4)
    assert st["last_p_adverse"] == {"bids": [0.9, 0.5], "asks": [0.9, 0.5]}
    assert st["levels_assumed_contiguous"] == 2  # no level prices in the context: one tick apart


def test_adjuster_pulls_and_merges_and_is_inert_when_disabled():
    model = FillModel.from_dict(_stump_doc(0.97, 0.5))
    adj = FillModelAdjuster(FillModelParams(enabled=True, path="m.json", widen_threshold=0.8, pull_threshold=0.95), model)
    bids, asks = adj.review(_ctx(), [(99.5, 1.0), (98.0, 2.0)], [(100.5, 1.0)])
    assert bids == [(98.0, 2.0)] and asks == []
    assert adj.state()["levels_pulled"] == 2
    off = FillModelAdjuster(FillModelParams(), model)
    assert off.review(_ctx(), [(99.5, 1.0)], [(100.5, 1.0)]) == ([(99.5, 1.0)], [(100.5, 1.0)])
    assert off.state()["reviews"] == 0
    # a widened level landing on a deeper level's price is merged with it: 99.5 x 2 -> 99.0
    adj2 = FillModelAdjuster(FillModelParams(enabled=True, path="m.json", widen_threshold=0.8, pull_threshold=0.99,
                                             widen_mult=2.0), model)
    assert adj2.review(_ctx(), [(99.5, 1.0), (99.0, 2.0)], [])[0] == [(99.0, 3.0)]


def test_fill_model_params_checks():
    assert FillModelParams().enabled is False
    with pytest.raises(ValueError, match="path"):
        FillModelParams(enabled=True)
    with pytest.raises(ValueError, match="pull_threshold"):
        FillModelParams(widen_threshold=0.9, pull_threshold=0.5)
    with pytest.raises(ValueError, match="widen_mult"):
        FillModelParams(widen_mult=0.5)
