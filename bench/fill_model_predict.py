"""Cost of the fill model at a quoting decision: features + prediction per ladder, without scikit-learn.

    python bench/fill_model_predict.py [--model FILE] [--levels 2] [--n 2000]

Without ``--model`` a model of ``ml.train.MODEL_SETTINGS`` size (150 trees per ensemble) is fitted on
random data first. Prints microseconds per ``FillModel.predict_many`` of one ladder (2 x levels rows)
per ``predict_adverse`` (the one the adjuster uses) and per ``FillModelAdjuster.review``
(features of every level + p_adverse + widen/pull); the
adjuster runs once per requote decision, not per market event.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _random_model():
    from threadpoolctl import threadpool_limits
    from sklearn.ensemble import HistGradientBoostingClassifier

    from botmm_nautilus.core.fill_features import FEATURE_NAMES
    from botmm_nautilus.core.fill_model import FORMAT
    from botmm_nautilus.core.fill_model import FillModel
    from botmm_nautilus.ml.train import MODEL_SETTINGS
    from botmm_nautilus.ml.train import export_ensemble

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, len(FEATURE_NAMES)))
    y1 = rng.random(len(X)) < 1 / (1 + np.exp(-X[:, 1] + X[:, 3] * X[:, 5]))
    y2 = rng.random(len(X)) < 1 / (1 + np.exp(-X[:, 7] * X[:, 9] + X[:, 10]))
    with threadpool_limits(limits=1):
        m1 = HistGradientBoostingClassifier(**MODEL_SETTINGS).fit(X, y1)
        m2 = HistGradientBoostingClassifier(**MODEL_SETTINGS).fit(X, y2)
    return FillModel.from_dict({"format": FORMAT, "feature_names": list(FEATURE_NAMES), "feature_settings": {},
                                "book_levels": 10, "models": {"p_fill": export_ensemble(m1), "p_adverse": export_ensemble(m2)}})


def main() -> int:
    from botmm_nautilus.core.adjust import QuoteContext
    from botmm_nautilus.core.fill_model import FillModelAdjuster
    from botmm_nautilus.core.params import FillModelParams

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--levels", type=int, default=2)
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    if args.model:
        from botmm_nautilus.ml.model_file import load_fill_model

        model = load_fill_model(args.model)
    else:
        model = _random_model()
    trees = {k: e.n_trees for k, e in model.ensembles.items()}
    depth = {k: e.max_depth for k, e in model.ensembles.items()}
    adj = FillModelAdjuster(FillModelParams(enabled=True, path="bench", widen_threshold=0.8, pull_threshold=0.95), model)
    rng = np.random.default_rng(1)
    mid = 100_000.0
    for i in range(2000):  # some history: mids and trades
        mid += rng.normal() * 2
        adj.on_mid(i * 50_000_000, mid)
        adj.on_trade(i * 50_000_000, mid, float(rng.exponential(0.05)), bool(rng.random() < 0.5))
    ts = 2000 * 50_000_000
    ctx = QuoteContext(ts_ns=ts, mid=mid, best_bid=mid - 0.5, best_ask=mid + 0.5, sigma_price=1.0, position_base=0.0,
                       max_position_usd=1e4, equity_usd=1e4, capital_usd=1e4, order_size_usd=150.0, tick_size=1.0,
                       bid_sizes=tuple(rng.uniform(0.1, 3, 10)), ask_sizes=tuple(rng.uniform(0.1, 3, 10)))
    bids = [(mid - 0.5 - k, 0.001) for k in range(args.levels)]
    asks = [(mid + 0.5 + k, 0.001) for k in range(args.levels)]
    adj.review(ctx, bids, asks)  # builds the tracker and feeds it the book
    f = adj._features
    rows = np.array([f.features(ts, True, p) for p, _ in bids] + [f.features(ts, False, p) for p, _ in asks])
    t0 = time.perf_counter()
    for _ in range(args.n):
        model.predict_many(rows)
    predict_us = (time.perf_counter() - t0) / args.n * 1e6
    t0 = time.perf_counter()
    for _ in range(args.n):
        model.predict_adverse(rows)
    adverse_us = (time.perf_counter() - t0) / args.n * 1e6
    t0 = time.perf_counter()
    for _ in range(args.n):
        adj.review(ctx, bids, asks)
    review_us = (time.perf_counter() - t0) / args.n * 1e6
    print(f"model: trees {trees}, max depth {depth}; ladder {args.levels} levels per side")
    print(f"predict_many({len(rows)} rows, both models): {predict_us:.0f} us")
    print(f"predict_adverse({len(rows)} rows, p_adverse only): {adverse_us:.0f} us")
    print(f"FillModelAdjuster.review (features + predict + widen/pull): {review_us:.0f} us per requote decision")
    return 0


if __name__ == "__main__":
    sys.exit(main())
