"""Hyper-parameter choice on a validation slice of the *training* data — never on the test.

Rating data (e.g. Coat): the slice is a seeded 10% of the biased (MNAR) training ratings
(``validation_slice(data, 0.1, seed=tune_seed)``); each configuration of a small grid is fitted on
the rest and scored by its best validation monitor reached during early stopping (AUC for ratings —
the inverse-propensity-weighted AUC for the debiased models — and NDCG@10 for logs). The winner is then trained as usual. The test split plays no part.

``criterion='within-user'`` (rating data only) scores a configuration instead by the AUC *within each
user* (:func:`~causalrec_core.evaluate.metrics.within_user_auc`, inverse-propensity weighted for the
debiased models) of out-of-fold scores from a ``folds``-fold cross-validation over all the training
ratings: per-user metrics such as NDCG@5 reward ranking each user's items, which the pooled AUC mixes
with how users compare with each other, and a 10% slice holds too few ratings per user (about 2 on
Coat) to measure it. It costs ``folds`` fits per configuration.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from causalrec_core.errors import ParameterError
from causalrec_core.models.data import RecData

__all__ = ["CRITERIA", "DEFAULT_GRIDS", "grid_configs", "tune"]

_MF_GRID = {"dim": [4, 16], "lr": [0.01, 0.03], "weight_decay": [1e-4, 1e-3]}
_SEQ_GRID = {"hidden": [32, 64], "lr": [1e-3, 3e-3], "dropout": [0.2, 0.5]}

#: the grid searched for each model when ``tune=True`` (small on purpose: seconds on Coat)
DEFAULT_GRIDS: dict[str, dict[str, list]] = {
    "mf": _MF_GRID, "bpr": _MF_GRID, "mf-ips": _MF_GRID, "mf-snips": _MF_GRID, "dr-jl": _MF_GRID,
    "dr-jl-feat": _MF_GRID, "text-mf": {"dim": [16, 32], "lr": [0.003, 0.01]},
    "sasrec": _SEQ_GRID, "sasrec-ips": _SEQ_GRID, "item-knn": {"neighbours": [20, 50, 200]},
}


#: what a configuration is scored by: its validation monitor on the slice, or the cross-validated
#: within-user AUC (module docstring)
CRITERIA: tuple[str, ...] = ("monitor", "within-user")


def grid_configs(grid: dict[str, list]) -> list[dict]:
    keys = list(grid)
    return [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*(grid[k] for k in keys))]


def _validation_score(model: Any, data: RecData) -> float:
    best = getattr(model, "best_val_", None)
    if best is not None:
        return float(best)
    val = model._validate(data) if hasattr(model, "_validate") else {}
    if not val:
        from causalrec_core.evaluate.metrics import rating_metrics, topk_metrics

        v = data.valid
        if data.kind == "rating":
            labels = (v.value > data.threshold).astype(np.float64)
            return float(rating_metrics(v.user, labels, model.score(v.user, v.item), k=5)["auc"])
        return float(topk_metrics(model, v, exclude=data.train, k=10, max_users=2000, seed=0)["ndcg@10"])
    return float(next(iter(val.values())))


def _fit(model_name: str, params: dict, data: RecData, seed: int, device: str,
         should_stop: Callable[[], bool] | None) -> Any:
    from causalrec_core.models.base import TorchRecommender, TrainContext
    from causalrec_core.models.registry import make_model

    model = make_model(model_name, **params)
    model.set_params(random_state=int(seed))
    if isinstance(model, TorchRecommender):
        model.fit(data, TrainContext(device=device, checkpoint=False, should_stop=should_stop))
    else:
        model.fit(data)
    return model


def _within_user_cv(model_name: str, params: dict, data: RecData, *, folds: int, seed: int, device: str,
                    should_stop: Callable[[], bool] | None) -> float:
    """Within-user AUC of out-of-fold scores over all the training ratings (train + validation slice);
    each fold's model early-stops on its own held-out fold and weighs its pairs by its own clipped
    inverse propensities when it is a debiased model."""
    from causalrec_core.evaluate.metrics import within_user_auc
    from causalrec_core.models.data import Interactions

    parts = [data.train] + ([data.valid] if data.valid is not None and len(data.valid) else [])
    def joined(name: str) -> np.ndarray | None:
        cols = [getattr(p, name) for p in parts]
        return None if any(c is None for c in cols) else np.concatenate(cols)

    pool = parts[0] if len(parts) == 1 else Interactions(
        user=joined("user"), item=joined("item"), value=joined("value"), n_users=data.train.n_users,
        n_items=data.train.n_items, timestamp=joined("timestamp"), propensity=joined("propensity"))
    n = len(pool)
    if n < 2 * folds:
        raise ParameterError(f"criterion='within-user' needs at least {2 * folds} training ratings for "
                             f"{folds} folds; the data has {n}.")
    fold = np.random.default_rng(seed).permutation(n) % folds
    oof = np.zeros(n)
    w = np.ones(n)
    for k in range(folds):
        held = fold == k
        model = _fit(model_name, params, data.with_train(pool.subset(~held), pool.subset(held)), seed, device,
                     should_stop)
        oof[held] = model.score(pool.user[held], pool.item[held])
        fold_w = getattr(model, "_valid_w", None)
        if fold_w is not None:
            w[held] = fold_w
    labels = (np.asarray(pool.value, dtype=np.float64) > data.threshold).astype(np.float64)
    return within_user_auc(pool.user, labels, oof, w)[0]


def tune(model_name: str, data: RecData, *, params: dict | None = None, grid: dict[str, list] | None = None,
         tune_seed: int = 0, device: str = "auto", on_config: Callable[[dict], None] | None = None,
         should_stop: Callable[[], bool] | None = None, criterion: str = "monitor",
         folds: int = 5) -> tuple[dict, list[dict]]:
    """The grid configuration with the best validation score; returns (chosen, one row per config).

    ``data`` must carry a validation split (``data.valid``) carved from the training data.
    ``params`` are fixed for every configuration (a grid key overrides nothing in them: a
    parameter fixed by the user is not searched). ``on_config`` gets ``{"config": i, "n_configs": n,
    "params": ..., "score": ..., "criterion": ...}`` after each configuration; ``should_stop`` is asked before each one
    (and by the fits themselves) and a ``True`` raises ``TrainingCancelled``. ``criterion`` is one of
    :data:`CRITERIA` (module docstring); ``folds`` the number of folds of ``'within-user'``.
    """
    from causalrec_core.errors import invalid_choice, out_of_range
    from causalrec_core.models.base import TrainingCancelled

    if criterion not in CRITERIA:
        raise invalid_choice("criterion", criterion, CRITERIA)
    if criterion == "within-user":
        if data.kind != "rating":
            raise ParameterError(f"criterion='within-user' is for rating data (a per-user AUC over each user's "
                                 f"rated items); this data is a {data.kind!r}: use criterion='monitor'.")
        if isinstance(folds, bool) or not isinstance(folds, int) or not 2 <= folds <= 20:
            raise out_of_range("folds", folds, "an integer from 2 to 20")
    if data.valid is None or len(data.valid) == 0:
        raise ParameterError("tuning needs a validation split carved from the training data; data.valid is empty.")
    fixed = dict(params or {})
    grid = dict(grid if grid is not None else DEFAULT_GRIDS.get(model_name, {}))
    grid = {k: v for k, v in grid.items() if k not in fixed}
    configs = grid_configs(grid) if grid else [{}]
    rows = []
    for i, cfg in enumerate(configs, start=1):
        if should_stop is not None and should_stop():
            raise TrainingCancelled(f"tuning was cancelled before configuration {i} of {len(configs)}.")
        if criterion == "within-user":
            score = _within_user_cv(model_name, {**fixed, **cfg}, data, folds=folds, seed=tune_seed, device=device,
                                    should_stop=should_stop)
        else:
            score = _validation_score(_fit(model_name, {**fixed, **cfg}, data, tune_seed, device, should_stop), data)
        rows.append({"params": cfg, "score": score})
        if on_config is not None:
            on_config({"config": i, "n_configs": len(configs), "params": cfg, "score": rows[-1]["score"],
                       "criterion": criterion})
    scores = np.array([r["score"] if np.isfinite(r["score"]) else -np.inf for r in rows])
    chosen = rows[int(np.argmax(scores))]["params"]
    return chosen, rows
