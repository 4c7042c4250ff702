"""Training and out-of-sample evaluation of the fill and adverse-selection models.

* Split (``time_split``): candidates ordered by decision time ``t``; the first ``train_frac`` of
  the time span is train, the next ``val_frac`` validation, the rest test. An embargo of
  ``embargo_s`` (at least the label span ``horizon_s + markout_s``) is cut before each boundary, so
  no train candidate's label window ``(t, t + span]`` reaches a validation or test decision time,
  and no validation label window reaches a test one.
* Models: scikit-learn ``HistGradientBoostingClassifier`` with fixed settings (``MODEL_SETTINGS``;
  no early stopping, whose random hold-out would mix times): ``p_fill`` on every candidate,
  ``p_adverse`` (given a fill) on the filled candidates, label ``adverse``.
* Report: base rates, AUC on train / validation / test, the test calibration table (deciles of the
  predicted probability: mean predicted vs observed rate), and the guard: the same model trained
  on shuffled train labels, scored on the true test labels (AUC near 0.5 when nothing leaks; the
  mean over 3 permutations, as one noise model can by chance correlate with a strong feature);
  the test AUC each feature carries (``importance_test``: AUC lost when its column is shuffled).
* Export: ``export_ensemble`` turns the fitted trees into the node arrays ``core.fill_model``
  evaluates without scikit-learn; ``model_document`` builds the model file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from botmm_nautilus.core.fill_features import FEATURE_NAMES
from botmm_nautilus.core.fill_model import FORMAT
from botmm_nautilus.ml.dataset import NANOS_PER_SECOND
from botmm_nautilus.ml.dataset import Dataset

MODEL_SETTINGS = {
    "max_iter": 150,
    "learning_rate": 0.05,
    "max_leaf_nodes": 15,
    "max_depth": 6,
    "min_samples_leaf": 100,
    "l2_regularization": 1.0,
    "early_stopping": False,
    "random_state": 0,
}


@dataclass(frozen=True)
class Split:
    train: np.ndarray  # boolean masks over the dataset rows
    val: np.ndarray
    test: np.ndarray
    boundaries_ns: tuple[int, int]
    embargo_ns: int


def time_split(ts_ns: np.ndarray, label_span_s: float, train_frac: float = 0.6, val_frac: float = 0.2,
               embargo_s: float | None = None) -> Split:
    """Time-ordered train / validation / test masks with an embargo (module doc)."""
    if not (0 < train_frac < 1 and 0 <= val_frac < 1 and train_frac + val_frac < 1):
        raise ValueError(f"train_frac {train_frac} and val_frac {val_frac}: need 0 < train, train + val < 1")
    embargo_s = label_span_s if embargo_s is None else embargo_s
    if embargo_s < label_span_s:
        raise ValueError(f"embargo_s: must be >= the label span ({label_span_s:g} s), got {embargo_s:g}")
    ts = np.asarray(ts_ns, dtype=np.int64)
    lo, hi = int(ts.min()), int(ts.max())
    b1 = lo + int((hi - lo) * train_frac)
    b2 = lo + int((hi - lo) * (train_frac + val_frac))
    emb = int(round(embargo_s * NANOS_PER_SECOND))
    train = ts < b1 - emb
    val = (ts >= b1) & (ts < b2 - emb)
    test = ts >= b2
    return Split(train, val, test, (b1, b2), emb)


def _hgb(settings: dict | None = None):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(**{**MODEL_SETTINGS, **(settings or {})})


def _fit(X: np.ndarray, y: np.ndarray, settings: dict | None):
    """A fitted model (the caller limits scikit-learn's threads: ``train_models``)."""
    return _hgb(settings).fit(X, y)


def _auc(y: np.ndarray, p: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y, dtype=bool)
    if y.all() or not y.any():
        return None
    return float(roc_auc_score(y, p))


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict]:
    """Deciles of ``p`` (equal-count bins): count, mean predicted, observed rate."""
    if len(p) == 0:
        return []
    order = np.argsort(p, kind="stable")
    out = []
    for k, idx in enumerate(np.array_split(order, bins)):
        if len(idx) == 0:
            continue
        out.append({"bin": k + 1, "n": int(len(idx)), "p_min": float(p[idx].min()), "p_max": float(p[idx].max()),
                    "predicted": float(p[idx].mean()), "observed": float(np.mean(y[idx]))})
    return out


def export_ensemble(model) -> dict:
    """The fitted binary ``HistGradientBoostingClassifier`` as ``core.fill_model`` node arrays."""
    if len(model.classes_) != 2:
        raise ValueError("export_ensemble: a binary classifier is needed")
    trees = []
    for predictors in model._predictors:  # one tree per iteration for a binary model
        nodes = predictors[0].nodes
        if np.any(nodes["is_categorical"]):
            raise ValueError("export_ensemble: categorical splits are not supported")
        trees.append({
            "feature": nodes["feature_idx"].astype(int).tolist(),
            "threshold": nodes["num_threshold"].astype(float).tolist(),
            "missing_left": nodes["missing_go_to_left"].astype(int).tolist(),
            "left": nodes["left"].astype(int).tolist(),
            "right": nodes["right"].astype(int).tolist(),
            "leaf": nodes["is_leaf"].astype(int).tolist(),
            "value": nodes["value"].astype(float).tolist(),
        })
    return {"baseline": float(np.ravel(model._baseline_prediction)[0]), "trees": trees}


def _fit_eval(name: str, X: np.ndarray, y: np.ndarray, split: Split, rows: np.ndarray, say,
              settings: dict | None = None, shuffles: int = 3) -> tuple[object, dict]:
    """Fit on the train rows (of ``rows``), score every part, fit the shuffled-label guard (``shuffles``
    permutations of the train labels; the mean of their test AUCs, and each)."""
    tr, va, te = split.train & rows, split.val & rows, split.test & rows
    say(f"{name}: fitting on {int(tr.sum()):,} train rows ({int(y[tr].sum()):,} positive)")
    t0 = time.perf_counter()
    model = _fit(X[tr], y[tr], settings)
    fit_s = time.perf_counter() - t0
    p_te = model.predict_proba(X[te])[:, 1] if te.any() else np.zeros(0)
    rep = {
        "rows": {"train": int(tr.sum()), "val": int(va.sum()), "test": int(te.sum())},
        "base_rate": {"train": _rate(y[tr]), "val": _rate(y[va]), "test": _rate(y[te])},
        "auc": {"train": _auc(y[tr], model.predict_proba(X[tr])[:, 1]),
                "val": _auc(y[va], model.predict_proba(X[va])[:, 1]) if va.any() else None,
                "test": _auc(y[te], p_te) if te.any() else None},
        "calibration_test": calibration_table(y[te], p_te),
        "fit_s": round(fit_s, 2),
    }
    rep["importance_test"] = permutation_importance(model, X[te], y[te])
    say(f"{name}: AUC train {_fmt(rep['auc']['train'])} val {_fmt(rep['auc']['val'])} test {_fmt(rep['auc']['test'])}; "
        "fitting the shuffled-label guard")
    rng = np.random.default_rng(12345)
    aucs = []
    for _ in range(shuffles):
        shuffled = _fit(X[tr], rng.permutation(y[tr]), settings)
        aucs.append(_auc(y[te], shuffled.predict_proba(X[te])[:, 1]) if te.any() else None)
    good = [a for a in aucs if a is not None]
    rep["shuffled_label_auc_test"] = float(np.mean(good)) if good else None
    rep["shuffled_label_auc_test_each"] = aucs
    say(f"{name}: shuffled-label AUC on test {_fmt(rep['shuffled_label_auc_test'])}")
    return model, rep


def permutation_importance(model, X: np.ndarray, y: np.ndarray, max_rows: int = 20_000, seed: int = 0) -> dict:
    """Test AUC lost when one feature's column is shuffled (on at most ``max_rows`` rows), per feature,
    largest first: which features the model's out-of-sample skill rests on."""
    base = _auc(y, model.predict_proba(X)[:, 1]) if len(y) else None
    if base is None:
        return {}
    rng = np.random.default_rng(seed)
    if len(y) > max_rows:
        idx = np.sort(rng.choice(len(y), max_rows, replace=False))
        X, y = X[idx], y[idx]
        base = _auc(y, model.predict_proba(X)[:, 1])
    drops = {}
    for j, name in enumerate(FEATURE_NAMES):
        Xp = X.copy()
        Xp[:, j] = rng.permutation(Xp[:, j])
        auc = _auc(y, model.predict_proba(Xp)[:, 1])
        drops[name] = round(base - auc, 4) if auc is not None else None
    return dict(sorted(drops.items(), key=lambda kv: -(kv[1] or 0)))


def _rate(y) -> float | None:
    return float(np.mean(y)) if len(y) else None


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def train_models(ds: Dataset, train_frac: float = 0.6, val_frac: float = 0.2, embargo_s: float | None = None,
                 say=None, model_settings: dict | None = None, threads: int = 1) -> tuple[dict, dict, dict]:
    """``(models {"p_fill": clf, "p_adverse": clf}, report, split info)`` on ``ds`` (module doc);
    ``model_settings`` override ``MODEL_SETTINGS`` keys."""
    say = say or (lambda _t: None)
    if len(ds) == 0:
        raise ValueError("the dataset is empty (no candidate had a complete label window)")
    split = time_split(ds.ts_ns, ds.settings.label_span_s, train_frac, val_frac, embargo_s)
    for part in ("train", "val", "test"):
        if not getattr(split, part).any():
            raise ValueError(f"the {part} part of the split is empty: the data span is too short for the embargo")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        all_rows = np.ones(len(ds), dtype=bool)
        fill_model, fill_rep = _fit_eval("p_fill", ds.X, ds.filled, split, all_rows, say, model_settings)
        filled = ds.filled & ~np.isnan(ds.markout_bps)
        adv_model, adv_rep = _fit_eval("p_adverse|fill", ds.X, ds.adverse, split, filled, say, model_settings)
        # AUC of the fill label by distance (the distance alone is not the whole story)
        te = split.test
        p_fill_te = fill_model.predict_proba(ds.X[te])[:, 1]
        by_dist = {}
        for k in np.unique(ds.distance_ticks[te]):
            m = ds.distance_ticks[te] == k
            by_dist[str(int(k))] = {"n": int(m.sum()), "fill_rate": _rate(ds.filled[te][m]),
                                    "p_fill_mean": float(p_fill_te[m].mean()), "auc": _auc(ds.filled[te][m], p_fill_te[m])}
    fill_rep["test_by_distance_ticks"] = by_dist
    info = {
        "boundaries_ns": list(split.boundaries_ns),
        "embargo_s": split.embargo_ns / NANOS_PER_SECOND,
        "label_span_s": ds.settings.label_span_s,
        "train_span_ns": _span(ds.ts_ns[split.train]),
        "val_span_ns": _span(ds.ts_ns[split.val]),
        "test_span_ns": _span(ds.ts_ns[split.test]),
    }
    return {"p_fill": fill_model, "p_adverse": adv_model}, {"p_fill": fill_rep, "p_adverse_given_fill": adv_rep}, info


def _span(ts: np.ndarray) -> list[int] | None:
    return [int(ts.min()), int(ts.max())] if len(ts) else None


def model_document(models: dict, ds: Dataset, meta: dict) -> dict:
    """The model file (``core.fill_model`` format) of the fitted models."""
    return {
        "format": FORMAT,
        "feature_names": list(FEATURE_NAMES),
        "feature_settings": ds.settings.feature_settings(),
        "book_levels": ds.settings.book_levels,
        "models": {key: export_ensemble(m) for key, m in models.items()},
        "meta": meta,
    }


__all__ = ["MODEL_SETTINGS", "Split", "calibration_table", "export_ensemble", "model_document", "time_split", "train_models"]


def train_fill_model(catalog, instrument_id: str, start_ns: int | None = None, end_ns: int | None = None,
                     settings=None, out=None, json_path=None, train_frac: float = 0.6, val_frac: float = 0.2,
                     embargo_s: float | None = None, progress: bool = False, say=None,
                     model_settings: dict | None = None, threads: int = 1) -> dict:
    """Read, build the dataset, train, export: the ``botmm train-fill-model`` command. Returns the
    report (also written to ``json_path``); the model file goes to ``out`` when given."""
    import json
    import os

    from botmm_nautilus.ml.dataset import DatasetSettings
    from botmm_nautilus.ml.dataset import build_dataset
    from botmm_nautilus.ml.dataset import read_market
    from botmm_nautilus.ml.model_file import write_fill_model

    say = say or (lambda _t: None)
    settings = settings or DatasetSettings()
    t0 = time.perf_counter()
    say(f"reading {instrument_id} from {catalog}")
    market = read_market(catalog, instrument_id, start_ns, end_ns)
    say(f"{len(market.d_ts):,} book deltas, {len(market.t_ts):,} trades; tick {market.tick_size:g}; building candidates")
    ds = build_dataset(market, settings, progress=progress)
    build_s = time.perf_counter() - t0
    say(f"{len(ds):,} candidates ({ds.filled.mean():.1%} filled) in {build_s:.1f} s; training")
    models, rep, split_info = train_models(ds, train_frac, val_frac, embargo_s, say=say, model_settings=model_settings,
                                            threads=threads)
    used_settings = {**MODEL_SETTINGS, **(model_settings or {})}
    meta = {
        "instrument_id": instrument_id,
        "catalog": os.fspath(catalog),
        "data_span_ns": [ds.info["first_ns"], ds.info["last_ns"]],
        "split": split_info,
        "dataset_settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.__dict__.items()},
        "tick_size": ds.tick_size,
        "model_settings": used_settings,
        "auc_test": {"p_fill": rep["p_fill"]["auc"]["test"], "p_adverse_given_fill": rep["p_adverse_given_fill"]["auc"]["test"]},
    }
    report = {
        "instrument_id": instrument_id,
        "catalog": os.fspath(catalog),
        "candidates": len(ds),
        "dataset": {**ds.info, "build_s": round(build_s, 2), "fill_rate": float(ds.filled.mean()),
                    "adverse_rate": float(ds.adverse.mean()),
                    "adverse_given_fill": float(ds.adverse[ds.filled].mean()) if ds.filled.any() else None,
                    "markout_bps_mean_filled": float(np.nanmean(ds.markout_bps)) if ds.filled.any() else None},
        "split": split_info,
        "models": rep,
        "settings": meta["dataset_settings"],
        "model_settings": used_settings,
    }
    if out:
        doc = model_document(models, ds, meta)
        write_fill_model(out, doc)
        report["model_file"] = os.fspath(out)
        say(f"model written to {out}")
    if json_path:
        from pathlib import Path

        p = Path(json_path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(report, indent=1))
        say(f"report written to {json_path}")
    return report


def evaluate_model(model, ds: Dataset) -> dict:
    """A trained ``core.fill_model.FillModel`` scored on every candidate of ``ds`` (data it was not
    trained on, e.g. another venue or a later period): AUC, base rates and calibration of ``p_fill``
    (all candidates) and ``p_adverse`` given a fill (filled candidates)."""
    p_fill, p_adv = model.predict_many(ds.X) if len(ds) else (np.zeros(0), np.zeros(0))
    filled = ds.filled & ~np.isnan(ds.markout_bps)
    out = {}
    for key, y, p, rows in (("p_fill", ds.filled, p_fill, np.ones(len(ds), dtype=bool)),
                            ("p_adverse_given_fill", ds.adverse, p_adv, filled)):
        out[key] = {"rows": int(rows.sum()), "base_rate": _rate(y[rows]), "predicted_mean": _rate(p[rows]),
                    "auc": _auc(y[rows], p[rows]), "calibration": calibration_table(y[rows], p[rows])}
    return out


def dataset_settings_of(model, sample_interval_s: float, distances_ticks: tuple[int, ...]):
    """The ``DatasetSettings`` a model was trained with (features and labels), sampled as asked."""
    from botmm_nautilus.ml.dataset import DatasetSettings

    trained = dict(model.meta.get("dataset_settings", {}))
    keep = {k: trained[k] for k in ("horizon_s", "markout_s", "adverse_threshold_bps", "fill_rule", "flow_window_s",
                                    "vol_window_s", "depth_levels", "max_book_age_s") if k in trained}
    keep.update({k: v for k, v in model.feature_settings.items() if k in ("horizon_s", "flow_window_s", "vol_window_s", "depth_levels")})
    return DatasetSettings(sample_interval_s=sample_interval_s, distances_ticks=tuple(distances_ticks),
                           book_levels=max(model.book_levels, max(distances_ticks) + 1), **keep)


def apply_fill_model(model_path, catalog, instrument_id: str, start_ns: int | None = None, end_ns: int | None = None,
                     sample_interval_s: float = 1.0, distances_ticks: tuple[int, ...] = (0, 1, 2, 5), json_path=None,
                     progress: bool = False, say=None) -> dict:
    """Score a saved model on a catalog's instrument (out of sample): the ``--apply-model`` command."""
    import json
    import os

    from botmm_nautilus.ml.dataset import build_dataset
    from botmm_nautilus.ml.dataset import read_market
    from botmm_nautilus.ml.model_file import load_fill_model

    say = say or (lambda _t: None)
    model = load_fill_model(model_path)
    settings = dataset_settings_of(model, sample_interval_s, distances_ticks)
    say(f"reading {instrument_id} from {catalog}")
    market = read_market(catalog, instrument_id, start_ns, end_ns)
    ds = build_dataset(market, settings, progress=progress)
    say(f"{len(ds):,} candidates; scoring the model of {model.meta.get('instrument_id', '?')}")
    report = {
        "model_file": os.fspath(model_path),
        "model_trained_on": {k: model.meta.get(k) for k in ("instrument_id", "catalog", "data_span_ns", "split")},
        "instrument_id": instrument_id,
        "catalog": os.fspath(catalog),
        "candidates": len(ds),
        "tick_size": ds.tick_size,
        "data_span_ns": [ds.info.get("first_ns"), ds.info.get("last_ns")],
        "out_of_sample": True,
        "models": evaluate_model(model, ds),
    }
    if json_path:
        from pathlib import Path

        p = Path(json_path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(report, indent=1))
    return report
