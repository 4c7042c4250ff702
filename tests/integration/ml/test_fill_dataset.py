"""The fill-model dataset, split, training and command on the real Hyperliquid recording (BTC, 35 min).

The catalog is imported into a temporary folder from ../shared/data/hyperliquid/ws_2025-09-04 with the
project's own importer.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from botmm_nautilus.core.fill_features import FEATURE_NAMES
from botmm_nautilus.ml.dataset import DatasetSettings
from botmm_nautilus.ml.dataset import build_dataset
from botmm_nautilus.ml.dataset import read_market
from botmm_nautilus.ml.train import time_split

BTC = "BTC-USDC-PERP.HL"
S = 1_000_000_000
SETTINGS = DatasetSettings(sample_interval_s=1.0, distances_ticks=(0, 1, 2, 5), horizon_s=5.0, markout_s=5.0)


@pytest.fixture(scope="module")
def market(btc_catalog):
    return read_market(btc_catalog, BTC)


@pytest.fixture(scope="module")
def dataset(market):
    return build_dataset(market, SETTINGS)


def _perturbed_after(m, cut_ns: int, seed: int):
    """A copy of the market whose every book delta and trade stamped after ``cut_ns`` is changed:
    sizes rescaled, prices moved by a few ticks, trade sides flipped at random; earlier events untouched."""
    rng = np.random.default_rng(seed)
    tick = int(round(m.tick_size * 10**m.px_dp))
    d_after, t_after = m.d_ts > cut_ns, m.t_ts > cut_ns
    nd, nt = int(d_after.sum()), int(t_after.sum())
    d_sz, d_px = m.d_sz.copy(), m.d_px.copy()
    d_sz[d_after] = (d_sz[d_after] * rng.uniform(0.2, 3.0, nd)).astype(np.int64) + 1
    d_px[d_after] += rng.integers(-2, 3, nd) * tick
    t_px, t_sz, t_buyer = m.t_px.copy(), m.t_sz.copy(), m.t_buyer.copy()
    t_px[t_after] += rng.integers(-3, 4, nt) * tick
    t_sz[t_after] = (t_sz[t_after] * rng.uniform(0.2, 3.0, nt)).astype(np.int64) + 1
    t_buyer[t_after] = rng.random(nt) < 0.5
    return replace(m, d_sz=d_sz, d_px=d_px, t_px=t_px, t_sz=t_sz, t_buyer=t_buyer)


def _rows_upto(ds, t_ns: int):
    return ds.ts_ns <= t_ns


def _same_candidates_upto(base, pert, cut: int) -> bool:
    """The candidates decided at or before ``cut`` are the same rows with the same features in both."""
    a, b = _rows_upto(base, cut), _rows_upto(pert, cut)
    return bool(a.sum() == b.sum() > 0 and np.array_equal(base.ts_ns[a], pert.ts_ns[b])
                and np.array_equal(base.price[a], pert.price[b]) and np.array_equal(base.X[a], pert.X[b]))


def test_features_do_not_see_events_after_the_decision_time(market):
    """Leak test: events after each cut are perturbed; every candidate decided at or before the cut keeps
    its features exactly, while its labels (measured after the decision) change, and candidates decided
    just after the cut do see the change (so the comparison would catch a feature that reads ahead)."""
    m = market.window(None, int(market.d_ts[0] + 12 * 60 * S))  # the first 12 minutes
    base = build_dataset(m, SETTINGS)
    grid = np.unique(base.ts_ns)
    for k, cut in enumerate(grid[[60, 250, 400, 600]]):  # cuts ON sample times: events at t itself are known at t
        pert = build_dataset(_perturbed_after(m, int(cut), seed=k), SETTINGS)
        assert _same_candidates_upto(base, pert, cut), f"a feature read data after its decision time (cut {cut})"
        a, b = _rows_upto(base, cut), _rows_upto(pert, cut)
        # the labels of candidates whose window (t, t + 10 s] crosses the cut do change
        near = base.ts_ns[a] > cut - 10 * S
        changed = (base.filled[a] != pert.filled[b]) | ~np.isclose(np.nan_to_num(base.markout_bps[a], nan=-999),
                                                                  np.nan_to_num(pert.markout_bps[b], nan=-999))
        assert changed[near].any(), "the perturbation did not reach the labels: the test could not fail"
        assert not changed[~near].any()  # labels ending before the cut are untouched
        # candidates decided within 3 s after the cut read perturbed events: a reader would notice
        assert not _same_candidates_upto(base, pert, cut + 3 * S)


def test_the_leak_test_catches_a_builder_that_reads_one_second_ahead(market):
    """The same invariance check fails for a builder whose features at t read the events up to t + 1 s
    (simulated by replaying every event 1 s early: an event of time e is seen by the candidates of
    t >= e - 1 s): the test has teeth."""
    m = market.window(None, int(market.d_ts[0] + 6 * 60 * S))

    def leaky(mk):
        return build_dataset(replace(mk, d_ts=mk.d_ts - S, t_ts=mk.t_ts - S), SETTINGS)

    base = leaky(m)
    cut = int(np.unique(base.ts_ns)[200])
    pert = leaky(_perturbed_after(m, cut, seed=7))
    assert not _same_candidates_upto(base, pert, cut)
    # the honest builder on the same data and cut passes
    assert _same_candidates_upto(build_dataset(m, SETTINGS), build_dataset(_perturbed_after(m, cut, seed=7), SETTINGS), cut)


def test_labels_follow_the_fill_rule(dataset, market):
    """Every filled candidate has a trade in (t, t + H] at or through its price; the first such trade
    of a 'touch' fill is its fill time; queue fills are a subset of touch fills."""
    ds = dataset
    px_scale = 10.0 ** -market.px_dp
    t_px = market.t_px * px_scale
    rng = np.random.default_rng(0)
    for r in rng.choice(np.flatnonzero(ds.filled), 200, replace=False):
        w = (market.t_ts > ds.ts_ns[r]) & (market.t_ts <= ds.ts_ns[r] + 5 * S)
        hits = (t_px[w] <= ds.price[r] + 1e-9) if ds.is_bid[r] else (t_px[w] >= ds.price[r] - 1e-9)
        assert hits.any()
        assert ds.fill_ts_ns[r] in market.t_ts[w][hits]
    touch = build_dataset(market.window(None, int(market.d_ts[0] + 5 * 60 * S)), replace(SETTINGS, fill_rule="touch"))
    queue = build_dataset(market.window(None, int(market.d_ts[0] + 5 * 60 * S)), SETTINGS)
    assert np.array_equal(touch.ts_ns, queue.ts_ns)
    assert not (queue.filled & ~touch.filled).any() and (touch.filled & ~queue.filled).any()
    # a fill's markout is (price - mid later)/price x 1e4 for a bid, against us: recompute one by hand
    r = int(np.flatnonzero(ds.filled & ds.is_bid)[0])
    assert np.isfinite(ds.markout_bps[r])
    assert ds.adverse[r] == (ds.markout_bps[r] > 0)
    assert ds.X.shape == (len(ds), len(FEATURE_NAMES))


def test_time_split_has_an_embargo_at_least_the_label_span(dataset):
    span = SETTINGS.label_span_s * S
    sp = time_split(dataset.ts_ns, SETTINGS.label_span_s)
    tr, va, te = dataset.ts_ns[sp.train], dataset.ts_ns[sp.val], dataset.ts_ns[sp.test]
    assert len(tr) and len(va) and len(te)
    assert tr.max() + span < va.min() and va.max() + span < te.min()  # no label window reaches the next part
    assert not (sp.train & sp.val).any() and not (sp.val & sp.test).any()
    with pytest.raises(ValueError, match="embargo_s"):
        time_split(dataset.ts_ns, SETTINGS.label_span_s, embargo_s=1.0)


def test_training_guards_and_sklearn_free_predictions(dataset):
    from threadpoolctl import threadpool_limits

    from botmm_nautilus.core.fill_model import FillModel
    from botmm_nautilus.ml.train import model_document
    from botmm_nautilus.ml.train import train_models

    models, rep, info = train_models(dataset, model_settings={"max_iter": 20})
    fill, adv = rep["p_fill"], rep["p_adverse_given_fill"]
    # shuffled train labels carry no information: AUC on the true test labels near 0.5 (mean of 3 permutations)
    assert 0.4 <= fill["shuffled_label_auc_test"] <= 0.6
    assert 0.4 <= adv["shuffled_label_auc_test"] <= 0.6
    # the real labels do carry some (the candidates at the touch fill more often than 5 ticks away)
    assert fill["auc"]["test"] > 0.6
    assert sum(b["n"] for b in fill["calibration_test"]) == fill["rows"]["test"]
    assert set(fill["importance_test"]) == set(FEATURE_NAMES)
    doc = json.loads(json.dumps(model_document(models, dataset, {})))  # through JSON, as in the file
    model = FillModel.from_dict(doc)
    sp = time_split(dataset.ts_ns, SETTINGS.label_span_s)
    X = dataset.X[sp.test]
    pf, pa = model.predict_many(X)
    with threadpool_limits(limits=1):
        assert np.max(np.abs(pf - models["p_fill"].predict_proba(X)[:, 1])) < 1e-9
        assert np.max(np.abs(pa - models["p_adverse"].predict_proba(X)[:, 1])) < 1e-9


def test_train_fill_model_command(btc_catalog, tmp_path, capsys):
    from botmm_nautilus.apps.cli import main
    from botmm_nautilus.ml.model_file import load_fill_model

    out, js = tmp_path / "m.json", tmp_path / "r.json"
    rc = main(["train-fill-model", "--instrument", BTC, "--catalog", str(btc_catalog), "--end", "2025-09-04T20:05:00Z",
               "--sample-interval-s", "2", "--max-iter", "15", "--out", str(out), "--json", str(js), "--quiet"])
    assert rc == 0
    report = json.loads(js.read_text())
    assert report["instrument_id"] == BTC and report["split"]["embargo_s"] >= 10.0
    assert set(report["models"]) == {"p_fill", "p_adverse_given_fill"}
    model = load_fill_model(out)
    assert model.meta["instrument_id"] == BTC and model.book_levels == 10
    head = json.loads(capsys.readouterr().out)
    assert head["candidates"] == report["candidates"]
    # the saved model scored on a later period it never saw
    applied = tmp_path / "applied.json"
    assert main(["train-fill-model", "--apply-model", str(out), "--instrument", BTC, "--catalog", str(btc_catalog),
                 "--start", "2025-09-04T20:06:00Z", "--end", "2025-09-04T20:12:00Z", "--sample-interval-s", "2",
                 "--json", str(applied), "--quiet"]) == 0
    scored = json.loads(applied.read_text())
    assert scored["model_trained_on"]["instrument_id"] == BTC and scored["data_span_ns"][0] > report["split"]["test_span_ns"][1]
    assert scored["models"]["p_fill"]["rows"] == scored["candidates"] > 0
    assert 0 < scored["models"]["p_fill"]["predicted_mean"] < 1
    capsys.readouterr()
    # user errors name the option / value
    assert main(["train-fill-model", "--instrument", "ETH-USDC-PERP.HL", "--catalog", str(btc_catalog)]) == 2
    assert "ETH-USDC-PERP.HL" in capsys.readouterr().err
    assert main(["train-fill-model", "--instrument", BTC, "--catalog", str(tmp_path / "nope")]) == 2
    assert "--catalog" in capsys.readouterr().err
    assert main(["train-fill-model", "--instrument", BTC, "--catalog", str(btc_catalog), "--distances", "0,x"]) == 2
    assert "--distances" in capsys.readouterr().err


def test_the_adjuster_serves_exactly_the_features_the_dataset_was_built_with(market, monkeypatch):
    """One feature definition: the events the dataset builder fed its tracker, replayed into the
    strategy's ``FillModelAdjuster`` (mids and trades as hooks, the book through ``QuoteContext``),
    give the model the very rows of the dataset at every decision time."""
    from dataclasses import dataclass

    from botmm_nautilus.core.adjust import QuoteContext
    from botmm_nautilus.core.fill_features import FillFeatures
    from botmm_nautilus.core.fill_model import FORMAT
    from botmm_nautilus.core.fill_model import FillModel
    from botmm_nautilus.core.fill_model import FillModelAdjuster
    from botmm_nautilus.core.params import FillModelParams
    from botmm_nautilus.ml import dataset as dataset_module

    calls = []

    class Recording(FillFeatures):
        def on_mid(self, ts_ns, mid):
            calls.append(("mid", ts_ns, mid))
            super().on_mid(ts_ns, mid)

        def on_trade(self, ts_ns, price, size, aggressor_is_buyer):
            calls.append(("trade", ts_ns, price, size, aggressor_is_buyer))
            super().on_trade(ts_ns, price, size, aggressor_is_buyer)

        def on_book(self, ts_ns, bids, asks):
            calls.append(("book", ts_ns, list(bids), list(asks)))
            super().on_book(ts_ns, bids, asks)

    monkeypatch.setattr(dataset_module, "FillFeatures", Recording)
    m = market.window(None, int(market.d_ts[0] + 4 * 60 * S))
    ds = build_dataset(m, SETTINGS)

    @dataclass(slots=True)
    class PricedContext(QuoteContext):
        bid_prices: tuple = ()
        ask_prices: tuple = ()

    leaf = {"feature": [0], "threshold": [0], "missing_left": [0], "left": [0], "right": [0], "leaf": [1], "value": [0.0]}
    model = FillModel.from_dict({"format": FORMAT, "feature_names": list(FEATURE_NAMES),
                                 "feature_settings": SETTINGS.feature_settings(), "book_levels": SETTINGS.book_levels,
                                 "models": {"p_fill": {"baseline": 0.0, "trees": [leaf]},
                                            "p_adverse": {"baseline": 0.0, "trees": [leaf]}}})
    served = []
    predict = model.predict_adverse
    model.predict_adverse = lambda X: (served.append(np.asarray(X)), predict(X))[1]
    adj = FillModelAdjuster(FillModelParams(enabled=True, path="m.json", widen_threshold=1.0, pull_threshold=1.0), model)
    n_checked = 0
    for call in calls:
        if call[0] == "mid":
            adj.on_mid(call[1], call[2])
        elif call[0] == "trade":
            adj.on_trade(*call[1:])
        else:
            _, t, bids, asks = call
            rows = ds.ts_ns == t
            bid_px, ask_px = ds.price[rows & ds.is_bid], ds.price[rows & ~ds.is_bid]
            ctx = PricedContext(ts_ns=t, mid=0.5 * (bids[0][0] + asks[0][0]), best_bid=bids[0][0], best_ask=asks[0][0],
                                sigma_price=0.0, position_base=0.0, max_position_usd=1e4, equity_usd=1e4, capital_usd=1e4,
                                order_size_usd=100.0, tick_size=m.tick_size, bid_sizes=tuple(s for _, s in bids),
                                ask_sizes=tuple(s for _, s in asks), bid_prices=tuple(p for p, _ in bids),
                                ask_prices=tuple(p for p, _ in asks))
            adj.review(ctx, [(p, 1.0) for p in bid_px], [(p, 1.0) for p in ask_px])
            expected = np.vstack([ds.X[rows & ds.is_bid], ds.X[rows & ~ds.is_bid]])
            assert np.array_equal(served[-1], expected), f"served features differ from the dataset's at t={t}"
            n_checked += 1
    assert n_checked == len(np.unique(ds.ts_ns)) > 200
    assert adj.state()["levels_assumed_contiguous"] == 0
