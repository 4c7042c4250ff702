"""The fill / adverse-selection model evaluated without scikit-learn, and the adjuster that uses it.

``FillModel`` holds two boosted-tree ensembles exported from scikit-learn's
``HistGradientBoostingClassifier`` (``botmm_nautilus.ml.train``): ``p_fill`` (the candidate quote
fills within the horizon) and ``p_adverse`` (the fill is adverse, *given* that it fills: the
markout at the horizon is worse than the threshold). Both read the features of
``core.fill_features.FillFeatures``; the model carries the settings its features were computed
with (``feature_settings``, ``book_levels``), so a strategy builds the very tracker the model was
trained on.

The model document (``to_dict`` / ``from_dict``, JSON-able) is
``{"format": FORMAT, "feature_names": [...], "feature_settings": {...}, "book_levels": int,
"models": {"p_fill": ENSEMBLE, "p_adverse": ENSEMBLE}, "meta": {...}}`` with
``ENSEMBLE = {"baseline": float, "trees": [{"feature": [...], "threshold": [...], "missing_left": [...],
"left": [...], "right": [...], "leaf": [...], "value": [...]}, ...]}`` (node arrays, root = node 0;
a numeric split goes left when ``x <= threshold``, a missing value (NaN) goes left when
``missing_left``), exactly scikit-learn's rule, so predictions agree to float rounding.

Evaluation is vectorised over candidates and trees (numpy), a few tens of microseconds per call for
a whole ladder. Reading the file is the caller's job (the core does no I/O): ``FillModel.from_json(text)``.

``FillModelAdjuster`` (an ``Adjuster``): fed the mids and trades, at ``review`` it predicts
``p_adverse`` for every level of the final ladder and widens a level (its distance from the mid x
``widen_mult``) when ``p_adverse >= widen_threshold``, or pulls it when ``>= pull_threshold``.
"""

from __future__ import annotations

import json
import math

import numpy as np

from botmm_nautilus.core.adjust import Adjuster
from botmm_nautilus.core.adjust import QuoteContext
from botmm_nautilus.core.fill_features import FEATURE_NAMES
from botmm_nautilus.core.fill_features import FillFeatures

FORMAT = "botmm-fill-model/1"
MODEL_KEYS = ("p_fill", "p_adverse")
_NODE_KEYS = ("feature", "threshold", "missing_left", "left", "right", "leaf", "value")


class FillModelError(ValueError):
    """A model document that cannot be used (the message names the part)."""


class TreeEnsemble:
    """A binary-classification boosted-tree ensemble: ``p = sigmoid(baseline + Σ leaf values)``."""

    def __init__(self, baseline: float, trees: list[dict]) -> None:
        self.baseline = float(baseline)
        self.n_trees = len(trees)
        feat, thr, miss, left, right, value, roots = [], [], [], [], [], [], []
        depth = 0
        offset = 0
        for t, tree in enumerate(trees):
            try:
                cols = {k: list(tree[k]) for k in _NODE_KEYS}
            except (KeyError, TypeError) as exc:
                raise FillModelError(f"tree {t}: missing node array {exc}") from None
            n = len(cols["feature"])
            if n == 0 or any(len(v) != n for v in cols.values()):
                raise FillModelError(f"tree {t}: node arrays of different lengths or empty")
            roots.append(offset)
            for i in range(n):
                is_leaf = bool(cols["leaf"][i])
                feat.append(0 if is_leaf else int(cols["feature"][i]))
                thr.append(float(cols["threshold"][i]))
                miss.append(bool(cols["missing_left"][i]))
                # a leaf points to itself, so walking a fixed number of steps stays on it
                left.append(offset + i if is_leaf else offset + int(cols["left"][i]))
                right.append(offset + i if is_leaf else offset + int(cols["right"][i]))
                value.append(float(cols["value"][i]) if is_leaf else 0.0)
            depth = max(depth, _depth(cols))
            offset += n
        self.feature = np.asarray(feat, dtype=np.intp)
        self.threshold = np.asarray(thr, dtype=np.float64)
        self.missing_left = np.asarray(miss, dtype=bool)
        self.left = np.asarray(left, dtype=np.intp)
        self.right = np.asarray(right, dtype=np.intp)
        self.value = np.asarray(value, dtype=np.float64)
        self.roots = np.asarray(roots, dtype=np.intp)
        self.child = np.stack([self.right, self.left], axis=1).ravel()  # child[2·node + went_left]
        self.max_depth = depth
        self.n_features = int(self.feature.max()) + 1 if len(self.feature) else 0

    def raw(self, X: np.ndarray) -> np.ndarray:
        """The decision function (log-odds) of each row of ``X``."""
        X = np.asarray(X, dtype=np.float64)
        if self.n_trees == 0:
            return np.full(X.shape[0], self.baseline)
        return self.baseline + self.value[_walk(self, X)].sum(axis=1)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """P(label = 1) of each row of ``X``."""
        return 1.0 / (1.0 + np.exp(-self.raw(X)))


def _walk(nodes, X: np.ndarray) -> np.ndarray:
    """The leaf each row of ``X`` reaches in each tree: ``(rows, trees)`` node indices into ``nodes``'s
    arrays (``feature``, ``threshold``, ``missing_left``, ``child`` = (right, left) per node, ``roots``,
    ``max_depth``). Numeric split: left when ``x <= threshold``; NaN: left when ``missing_left``."""
    m, n_features = X.shape
    flat = np.ascontiguousarray(X).ravel()
    base = (np.arange(m) * n_features)[:, None]
    node = np.broadcast_to(nodes.roots, (m, len(nodes.roots)))
    feature, threshold, child = nodes.feature, nodes.threshold, nodes.child
    if not np.isnan(flat).any():
        for _ in range(nodes.max_depth):
            node = child[2 * node + (flat[base + feature[node]] <= threshold[node])]
        return node
    for _ in range(nodes.max_depth):
        x = flat[base + feature[node]]
        go_left = np.where(np.isnan(x), nodes.missing_left[node], x <= threshold[node])
        node = child[2 * node + go_left]
    return node


class _Forest:
    """Several ensembles' node arrays side by side, so one walk evaluates them all."""

    def __init__(self, ensembles: list[TreeEnsemble]) -> None:
        offsets = np.cumsum([0] + [len(e.feature) for e in ensembles])
        self.feature = np.concatenate([e.feature for e in ensembles])
        self.threshold = np.concatenate([e.threshold for e in ensembles])
        self.missing_left = np.concatenate([e.missing_left for e in ensembles])
        self.left = np.concatenate([e.left + o for e, o in zip(ensembles, offsets)])
        self.right = np.concatenate([e.right + o for e, o in zip(ensembles, offsets)])
        self.value = np.concatenate([e.value for e in ensembles])
        self.roots = np.concatenate([e.roots + o for e, o in zip(ensembles, offsets)])
        self.child = np.stack([self.right, self.left], axis=1).ravel()
        self.max_depth = max(e.max_depth for e in ensembles)
        self.bounds = np.cumsum([0] + [e.n_trees for e in ensembles])
        self.baselines = [e.baseline for e in ensembles]

    def predict(self, X: np.ndarray) -> list[np.ndarray]:
        """P(label = 1) of each row of ``X`` for each ensemble."""
        vals = self.value[_walk(self, X)] if len(self.roots) else np.zeros((X.shape[0], 0))
        out = []
        for k, base in enumerate(self.baselines):
            raw = base + vals[:, self.bounds[k]:self.bounds[k + 1]].sum(axis=1)
            out.append(1.0 / (1.0 + np.exp(-raw)))
        return out


def _depth(cols: dict) -> int:
    """Longest root-to-leaf path (in splits) of one tree's node arrays."""
    best = 0
    stack = [(0, 0)]
    n = len(cols["feature"])
    while stack:
        i, d = stack.pop()
        if i < 0 or i >= n:
            raise FillModelError(f"node index {i} out of range")
        if cols["leaf"][i]:
            best = max(best, d)
        else:
            if d > n:
                raise FillModelError("tree has a cycle")
            stack.append((int(cols["left"][i]), d + 1))
            stack.append((int(cols["right"][i]), d + 1))
    return best


class FillModel:
    """``p_fill`` and ``p_adverse`` (given a fill) of candidate quotes; see the module doc."""

    def __init__(self, document: dict) -> None:
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            got = document.get("format") if isinstance(document, dict) else type(document).__name__
            raise FillModelError(f"format: expected {FORMAT!r}, got {got!r}")
        names = tuple(document.get("feature_names", ()))
        if names != FEATURE_NAMES:
            raise FillModelError(f"feature_names: the model was trained on {list(names)}, this code computes "
                                 f"{list(FEATURE_NAMES)} (retrain it)")
        self.document = document
        self.feature_settings = dict(document.get("feature_settings", {}))
        self.book_levels = int(document.get("book_levels", 10))
        self.meta = dict(document.get("meta", {}))
        models = document.get("models", {})
        self.ensembles = {}
        for key in MODEL_KEYS:
            if key not in models:
                raise FillModelError(f"models.{key}: missing")
            try:
                ens = TreeEnsemble(models[key]["baseline"], models[key]["trees"])
            except FillModelError as exc:
                raise FillModelError(f"models.{key}: {exc}") from None
            except (KeyError, TypeError, ValueError) as exc:
                raise FillModelError(f"models.{key}: {type(exc).__name__}: {exc}") from None
            if ens.n_features > len(FEATURE_NAMES):
                raise FillModelError(f"models.{key}: uses feature {ens.n_features - 1}, only {len(FEATURE_NAMES)} exist")
            self.ensembles[key] = ens
        self._forest = _Forest([self.ensembles[k] for k in MODEL_KEYS])

    @classmethod
    def from_dict(cls, document: dict) -> FillModel:
        return cls(document)

    @classmethod
    def from_json(cls, text: str) -> FillModel:
        try:
            return cls(json.loads(text))
        except json.JSONDecodeError as exc:
            raise FillModelError(f"not valid JSON ({exc})") from None

    def new_features(self, tick_size: float) -> FillFeatures:
        """A ``FillFeatures`` with the settings the model was trained with."""
        return FillFeatures(tick_size, **self.feature_settings)

    def predict_many(self, X) -> tuple[np.ndarray, np.ndarray]:
        """``(p_fill, p_adverse)`` arrays for the rows of ``X`` (``FEATURE_NAMES`` columns)."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        p_fill, p_adverse = self._forest.predict(X)
        return p_fill, p_adverse

    def predict_adverse(self, X) -> np.ndarray:
        """``p_adverse`` (given a fill) only, for the rows of ``X``."""
        return self.ensembles["p_adverse"].predict(np.atleast_2d(np.asarray(X, dtype=np.float64)))

    def predict(self, features) -> tuple[float, float]:
        """``(p_fill, p_adverse)`` of one feature vector."""
        pf, pa = self.predict_many([features])
        return float(pf[0]), float(pa[0])


class FillModelAdjuster(Adjuster):
    """Widens or pulls ladder levels whose predicted adverse-selection probability is high.

    ``review``: for each level of the final ladder, ``p_adverse`` (given a fill) from the model; at
    or above ``pull_threshold`` the level is dropped, at or above ``widen_threshold`` its distance
    from the mid is multiplied by ``widen_mult`` (rounded away from the mid to the tick; levels that
    land on one price are merged). ``params``: a ``core.params.FillModelParams``.

    The book levels come from ``QuoteContext``: ``bid_sizes``/``ask_sizes`` with, when the caller
    provides them, ``bid_prices``/``ask_prices``; without prices the levels are taken one tick apart
    from the touch (counted in ``state()["levels_assumed_contiguous"]``). ``ctx.tick_size`` must be
    the price grid's tick at the mid (Hyperliquid: the 5-significant-figure tick), as in the dataset.
    The mids and trades reach the tracker through ``on_mid``/``on_trade``; those before the first
    review (the tick is not known yet) are kept and replayed into it then.
    """

    name = "fill_model"

    def __init__(self, params, model: FillModel) -> None:
        super().__init__()
        self.params = params
        self.model = model
        self.book_levels = model.book_levels
        self._features: FillFeatures | None = None
        self._pending: list[tuple] = []  # events before the tick size is known (the first review)
        self.reviews = 0
        self.levels_seen = 0
        self.widened = 0
        self.pulled = 0
        self.assumed_contiguous = 0
        self.last_p_adverse: dict[str, list[float]] = {"bids": [], "asks": []}

    def _tracker(self, tick_size: float | None = None) -> FillFeatures | None:
        if self._features is None and tick_size:
            self._features = self.model.new_features(tick_size)
            for kind, args in self._pending:
                getattr(self._features, kind)(*args)
            self._pending.clear()
        return self._features

    def on_mid(self, ts_ns: int, mid: float) -> None:
        f = self._features
        if f is None:
            self._pending.append(("on_mid", (ts_ns, mid)))
            self._trim()
        else:
            f.on_mid(ts_ns, mid)

    def on_trade(self, ts_ns: int, price: float, size: float, aggressor_is_buyer: bool) -> None:
        f = self._features
        if f is None:
            self._pending.append(("on_trade", (ts_ns, price, size, aggressor_is_buyer)))
            self._trim()
        else:
            f.on_trade(ts_ns, price, size, aggressor_is_buyer)

    def _trim(self) -> None:
        if len(self._pending) > 100_000:  # never reviewed: keep the recent past only
            del self._pending[:50_000]

    def review(self, ctx: QuoteContext, bids: list[tuple[float, float]], asks: list[tuple[float, float]]):
        if not self.params.enabled or (not bids and not asks):
            return bids, asks
        tick = ctx.tick_size
        f = self._tracker(tick)
        if f is None or not ctx.bid_sizes or not ctx.ask_sizes or not ctx.best_bid < ctx.best_ask:
            return bids, asks
        f.on_book(ctx.ts_ns, self._levels(ctx, True), self._levels(ctx, False))
        rows = [f.features(ctx.ts_ns, True, p) for p, _ in bids] + [f.features(ctx.ts_ns, False, p) for p, _ in asks]
        p_adv = self.model.predict_adverse(rows)  # p_fill is not needed for the decision: half the trees
        self.reviews += 1
        nb = len(bids)
        self.last_p_adverse = {"bids": p_adv[:nb].round(4).tolist(), "asks": p_adv[nb:].round(4).tolist()}
        mid = 0.5 * (ctx.best_bid + ctx.best_ask)
        return (self._apply(bids, p_adv[:nb], mid, tick, True), self._apply(asks, p_adv[nb:], mid, tick, False))

    def _levels(self, ctx: QuoteContext, is_bid: bool) -> list[tuple[float, float]]:
        sizes = ctx.bid_sizes if is_bid else ctx.ask_sizes
        prices = ctx.bid_prices if is_bid else ctx.ask_prices
        if len(prices) >= len(sizes):
            return list(zip(prices, sizes))
        self.assumed_contiguous += 1
        best, step = (ctx.best_bid, -ctx.tick_size) if is_bid else (ctx.best_ask, ctx.tick_size)
        return [(best + i * step, sz) for i, sz in enumerate(sizes)]

    def _apply(self, levels, p_adv, mid: float, tick: float, is_bid: bool):
        p = self.params
        out: dict[float, float] = {}
        for (price, size), pa in zip(levels, p_adv):
            self.levels_seen += 1
            if pa >= p.pull_threshold:
                self.pulled += 1
                continue
            if pa >= p.widen_threshold:
                self.widened += 1
                dist = abs(mid - price) * p.widen_mult
                if is_bid:  # rounded away from the mid to the tick (12 decimals: no float residue), never closer
                    price = min(price, round(math.floor((mid - dist) / tick + 1e-9) * tick, 12))
                else:
                    price = max(price, round(math.ceil((mid + dist) / tick - 1e-9) * tick, 12))
            out[price] = out.get(price, 0.0) + size
        return sorted(out.items(), key=lambda kv: -kv[0] if is_bid else kv[0])

    def state(self) -> dict:
        return {
            "reviews": self.reviews,
            "levels_seen": self.levels_seen,
            "levels_widened": self.widened,
            "levels_pulled": self.pulled,
            "levels_assumed_contiguous": self.assumed_contiguous,
            "last_p_adverse": self.last_p_adverse,
        }


__all__ = ["FORMAT", "FillModel", "FillModelAdjuster", "FillModelError", "TreeEnsemble"]
