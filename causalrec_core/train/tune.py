"""Hyper-parameter choice on a validation slice of the *training* data — never on the test.

Rating data (e.g. Coat): the slice is a seeded 10% of the biased (MNAR) training ratings
(``validation_slice(data, 0.1, seed=tune_seed)``); each configuration of a small grid is fitted on
the rest and scored by its best validation monitor reached during early stopping (AUC for ratings —
the inverse-propensity-weighted AUC for the debiased models — and NDCG@10 for logs). The winner is then trained as usual. The test split plays no part.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from causalrec_core.errors import ParameterError
from causalrec_core.models.data import RecData

__all__ = ["DEFAULT_GRIDS", "grid_configs", "tune"]

_MF_GRID = {"dim": [4, 16], "lr": [0.01, 0.03], "weight_decay": [1e-4, 1e-3]}
_SEQ_GRID = {"hidden": [32, 64], "lr": [1e-3, 3e-3], "dropout": [0.2, 0.5]}

#: the grid searched for each model when ``tune=True`` (small on purpose: seconds on Coat)
DEFAULT_GRIDS: dict[str, dict[str, list]] = {
    "mf": _MF_GRID, "bpr": _MF_GRID, "mf-ips": _MF_GRID, "mf-snips": _MF_GRID, "dr-jl": _MF_GRID,
    "dr-jl-feat": _MF_GRID, "text-mf": {"dim": [16, 32], "lr": [0.003, 0.01]},
    "sasrec": _SEQ_GRID, "sasrec-ips": _SEQ_GRID, "item-knn": {"neighbours": [20, 50, 200]},
}


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


def tune(model_name: str, data: RecData, *, params: dict | None = None, grid: dict[str, list] | None = None,
         tune_seed: int = 0, device: str = "auto", on_config: Callable[[dict], None] | None = None,
         should_stop: Callable[[], bool] | None = None) -> tuple[dict, list[dict]]:
    """The grid configuration with the best validation score; returns (chosen, one row per config).

    ``data`` must carry a validation split (``data.valid``) carved from the training data.
    ``params`` are fixed for every configuration (a grid key overrides nothing in them: a
    parameter fixed by the user is not searched). ``on_config`` gets ``{"config": i, "n_configs": n,
    "params": ..., "score": ...}`` after each configuration; ``should_stop`` is asked before each one
    (and by the fits themselves) and a ``True`` raises ``TrainingCancelled``.
    """
    from causalrec_core.models.base import TorchRecommender, TrainContext, TrainingCancelled
    from causalrec_core.models.registry import make_model

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
        model = make_model(model_name, **fixed, **cfg)
        model.set_params(random_state=int(tune_seed))
        if isinstance(model, TorchRecommender):
            model.fit(data, TrainContext(device=device, checkpoint=False, should_stop=should_stop))
        else:
            model.fit(data)
        rows.append({"params": cfg, "score": _validation_score(model, data)})
        if on_config is not None:
            on_config({"config": i, "n_configs": len(configs), "params": cfg, "score": rows[-1]["score"]})
    scores = np.array([r["score"] if np.isfinite(r["score"]) else -np.inf for r in rows])
    chosen = rows[int(np.argmax(scores))]["params"]
    return chosen, rows
