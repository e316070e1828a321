"""Train one model on one data source and evaluate it: the code path shared by the CLI, the
background worker and ``torchrun``.

A *data spec* names the data (JSON-serialisable, stored with every run):

* ``{"source": "coat", "path": DIR}`` — the Coat files (MNAR train, MAR test);
* ``{"source": "csv", "train": FILE, "test": FILE, "mar": FILE?}`` — ``user,item,rating`` files
  (``mar``: a small randomised sample for the naive-Bayes propensities);
* ``{"source": "log", "path": FILE, "items": FILE?}`` — a raw event log, read, mapped and cleaned
  by the product's ingestion, split by time;
* ``{"source": "dataset", "store": ROOT, "dataset_id": N}`` — a dataset in a project store.

Rating specs may add ``"threshold"`` (a rating above it is a positive) and ``"mar_fraction"`` (carve a
seeded fraction of the randomised test as the MAR sample, removed from the test; ``"mar_seed"``, default 0).

Evaluation protocols (stated in the README): rating data — rating > threshold is a positive,
AUC over all test pairs, NDCG@5 / Recall@5 per user (binary relevance), MSE on the 0/1 labels;
logs — NDCG@10, Recall@10, HR@10 over the whole catalogue with training items masked, plus
beyond-accuracy figures; every per-user mean comes with a 95% bootstrap interval over users.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from causalrec_core.errors import DataError, ParameterError, invalid_choice
from causalrec_core.models.base import TorchRecommender, TrainContext
from causalrec_core.models.data import RecData

__all__ = ["DATA_SOURCES", "RATING_NO_POSITIVE", "evaluate", "load_data", "load_trained", "parse_data_arg",
           "train_and_evaluate"]

DATA_SOURCES: tuple[str, ...] = ("coat", "csv", "log", "dataset")
#: users whose randomised test items hold no positive count as NDCG = Recall = 1, the convention of
#: the public evaluation code behind the published Coat figures; ``*_pos_users`` leave them out
RATING_NO_POSITIVE = "one"
WEIGHTS_NAME = "model.pt"
RESULT_NAME = "result.json"
TUNING_NAME = "tuning.json"  # the configuration chosen on the validation slice (a resumed run reuses it)


def parse_data_arg(data: str | None = None, train: str | None = None, test: str | None = None,
                   items: str | None = None, mar: str | None = None) -> dict:
    """CLI arguments -> data spec: ``coat:DIR``, ``--train F --test F [--mar F]`` or a log file."""
    if train or test:
        if not (train and test):
            raise ParameterError("--train and --test go together: give both files, or use --data.")
        if data:
            raise ParameterError("give either --data or --train/--test, not both.")
        spec = {"source": "csv", "train": str(train), "test": str(test)}
        if mar:
            spec["mar"] = str(mar)
        return spec
    if mar:
        raise ParameterError("--mar FILE goes with --train/--test rating files; for coat:DIR use --mar-fraction.")
    if not data:
        raise ParameterError("no data: give --data coat:DIR, --data LOGFILE or --train FILE --test FILE.")
    if data.startswith("coat:"):
        return {"source": "coat", "path": data[len("coat:"):]}
    if data.startswith("dataset:"):
        raise ParameterError("--data dataset:N needs a project store; use the Train page or train.jobs.")
    spec = {"source": "log", "path": data}
    if items:
        spec["items"] = items
    return spec


def _log_from_file(path: str, items: str | None, options: dict) -> RecData:
    import pandas as pd

    from causalrec_core.data.ingest import ingest
    from causalrec_core.data.io import preview, sniff
    from causalrec_core.data.mapping import suggest_mapping
    from causalrec_core.models.logdata import log_data_from_frames

    p = Path(path)
    if not p.is_file():
        raise DataError(f"data={path!r}: no such file.")
    fmt = sniff(p)
    mapping = {r: s.column for r, s in suggest_mapping(preview(p, fmt)).items() if s.column}
    with tempfile.TemporaryDirectory(prefix="causalrec-train-") as tmp:
        res = ingest(p, mapping, tmp, file_format=fmt, items_path=items)
        events = pd.read_parquet(res.tables["events"])
        items_key = "item_side" if "item_side" in res.tables else "items"  # the side table keeps cold items
        items_df = pd.read_parquet(res.tables[items_key]) if items_key in res.tables else None
    return log_data_from_frames(events, items_df, **options)


def _threshold(spec: dict) -> float:
    value = spec.get("threshold", 3.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise ParameterError(f"threshold={value!r} is invalid: it must be a number (a rating above it is a positive).")
    return float(value)


def load_data(spec: dict, options: dict | None = None) -> RecData:
    """Read the data a spec names (module docstring); ``options`` go to the log splitter."""
    if not isinstance(spec, dict) or "source" not in spec:
        raise ParameterError(f"data spec must be a dict with a 'source' key; got {spec!r}.")
    source = spec["source"]
    options = dict(options or {})
    if source in ("coat", "csv"):
        from causalrec_core.models.coat import load_coat, load_rating_csv, with_mar_sample

        if source == "coat":
            data = load_coat(spec["path"], threshold=_threshold(spec))
        else:
            data = load_rating_csv(spec["train"], spec["test"], threshold=_threshold(spec), mar_path=spec.get("mar"))
        if spec.get("mar_fraction") is not None:
            data = with_mar_sample(data, spec["mar_fraction"], seed=int(spec.get("mar_seed", 0)))
        return data
    if spec.get("mar_fraction") is not None:
        raise ParameterError(f"mar_fraction is for rating data (coat or csv) with a randomised test; source={source!r}.")
    if source == "log":
        return _log_from_file(spec["path"], spec.get("items"), options)
    if source == "dataset":
        from causalrec_core.models.logdata import log_data_from_dataset
        from causalrec_core.store import ProjectStore

        return log_data_from_dataset(ProjectStore(spec["store"]), int(spec["dataset_id"]), **options)
    raise invalid_choice("source", source, DATA_SOURCES)


def _with_validation(data: RecData, seed: int) -> RecData:
    """Rating data: carve the validation slice out of the biased train (never from the test)."""
    if data.valid is not None or data.kind != "rating":
        return data
    from causalrec_core.models.coat import validation_slice

    return validation_slice(data, fraction=0.1, seed=seed)


def evaluate(model: Any, data: RecData, *, seed: int = 0, ci: bool = True) -> dict:
    """Test-set metrics of a fitted model under the data kind's protocol (module docstring)."""
    from causalrec_core.evaluate.metrics import mean_ci, pairs_auc_ci, rating_metrics, ratio_ci, topk_metrics

    if data.test is None or len(data.test) == 0:
        raise DataError("the data has no test split to evaluate on.")
    t = data.test
    out: dict[str, Any] = {}
    intervals: dict[str, list[float]] = {}
    if data.kind == "rating":
        labels = (t.value > data.threshold).astype(np.float64)
        scores, preds = model.score(t.user, t.item), model.predict(t.user, t.item)
        m = rating_metrics(t.user, labels, scores, k=5, predictions=preds, no_positive=RATING_NO_POSITIVE, per_user=ci)
        out = {k: m[k] for k in ("auc", "ndcg@5", "recall@5", "mse")}
        pos = rating_metrics(t.user, labels, scores, k=5, no_positive="skip", per_user=ci)
        out["ndcg@5_pos_users"] = pos["ndcg@5"]
        out["recall@5_pos_users"] = pos["recall@5"]
        out["n_test_pairs"] = m["n_pairs"]
        out["n_test_users"] = m["n_users"]
        out["n_test_users_with_positive"] = pos["n_users"]
        out["positive"] = f"rating > {data.threshold:g}"
        # the floor to beat: a random ranking of each user's test items (mean of 20 seeded draws)
        rng = np.random.default_rng([seed, 20])
        draws = [rating_metrics(t.user, labels, rng.random(len(labels)), k=5, no_positive=RATING_NO_POSITIVE)
                 for _ in range(20)]
        out["ndcg@5_random"] = float(np.mean([d["ndcg@5"] for d in draws]))
        out["recall@5_random"] = float(np.mean([d["recall@5"] for d in draws]))
        if ci:  # every interval resamples test users (a user's pairs are not independent)
            for key in ("ndcg@5", "recall@5"):
                _, lo, hi = mean_ci(m["per_user"][key], seed=seed)
                intervals[key] = [lo, hi]
                _, lo, hi = mean_ci(pos["per_user"][key], seed=seed)
                intervals[f"{key}_pos_users"] = [lo, hi]
            intervals["auc"] = list(pairs_auc_ci(t.user, labels, scores, seed=seed)[1:])
            _, inv = np.unique(t.user, return_inverse=True)
            sq = (np.asarray(preds, dtype=np.float64) - labels) ** 2
            intervals["mse"] = list(ratio_ci(np.bincount(inv, weights=sq), np.bincount(inv).astype(np.float64),
                                             seed=seed)[1:])
    else:
        m = topk_metrics(model, t, exclude=data.train, k=10, per_user=True)
        out = {k: m[k] for k in ("ndcg@10", "recall@10", "hr@10")}
        out["n_test_users"] = m["n_users"]
        if ci:
            for key in ("ndcg@10", "recall@10", "hr@10"):
                _, lo, hi = mean_ci(m["per_user"][key], seed=seed)
                intervals[key] = [lo, hi]
        # unbiased (MNAR -> MAR) estimate: SNIPS-weighted by the propensity that a test positive was observed
        from causalrec_core.evaluate.unbiased import POPULARITY_LABEL, ips_topk_metrics, item_observation_propensity

        logged = t.propensity  # the log's propensity column on the test rows, else the exposures table's
        e = data.exposures
        if logged is None and e is not None and e.propensity is not None and len(e):
            ekey = e.user * data.n_items + e.item
            order = np.argsort(ekey, kind="stable")
            tkey = t.user * data.n_items + t.item
            pos = np.clip(np.searchsorted(ekey[order], tkey), 0, len(ekey) - 1)
            found = ekey[order][pos] == tkey
            logged = np.where(found, e.propensity[order][pos], np.nan)
        if logged is not None and not (np.all(np.isfinite(logged)) and np.all((logged > 0) & (logged <= 1))):
            logged = None  # some test pairs have no logged propensity: the popularity form for all of them
        if logged is not None:
            lookup = dict(zip((t.user * data.n_items + t.item).tolist(), logged.tolist(), strict=True))
            n = data.n_items
            propensity: Any = lambda users, items: np.array([lookup[k] for k in (users * n + items).tolist()])  # noqa: E731
            label = "logged"
        else:
            propensity, label = item_observation_propensity(data.train, data.n_items, eta=0.5), POPULARITY_LABEL
        ips = ips_topk_metrics(model, t, exclude=data.train, propensity=propensity, k=10, clip=0.05, per_user=ci)
        out["ndcg@10_ips"] = ips["ndcg@10_ips"]
        out["recall@10_ips"] = ips["recall@10_ips"]
        out["ips"] = {"propensity": label, "estimator": ips["estimator"], "clip": ips["clip"]["clip"],
                      "n_clipped": ips["clip"]["n_clipped"], "n_pairs": ips["n_pairs"]}
        if ci:  # resample users for the numerator and the SNIPS normaliser together
            pu = ips["per_user"]
            for key in ("ndcg@10_ips", "recall@10_ips"):
                _, lo, hi = ratio_ci(pu[key] * ips["normaliser"], pu["control"], seed=seed)
                intervals[key] = [lo, hi]
        from causalrec_core.evaluate.beyond import beyond_accuracy, recommendation_matrix

        recs = recommendation_matrix(model, m["per_user"]["user"], k=10, exclude=data.train)
        out["beyond"] = beyond_accuracy(recs, n_items=data.n_items, item_popularity=model.item_popularity_,
                                        item_features=data.item_category_features)
    if intervals:
        out["ci95"] = intervals
    return out


def train_and_evaluate(
    model_name: str,
    data_spec: dict,
    *,
    params: dict | None = None,
    seed: int = 0,
    device: str = "auto",
    run_dir: str | Path | None = None,
    resume: bool = False,
    on_progress: Callable[[dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    data: RecData | None = None,
    log_options: dict | None = None,
    tune: bool = False,
    tune_seed: int = 0,
    on_tune: Callable[[dict], None] | None = None,
    tune_criterion: str = "monitor",
) -> dict:
    """Fit ``model_name`` on the data, evaluate on its test split, save artefacts in ``run_dir``.

    Returns one JSON-ready dict: model, device, seed, epochs, seconds, metrics, history,
    best_epoch, data_hash, params (and ``tuning`` with ``tune``). Raises ``TrainingCancelled`` after a
    cancel request (the checkpoint in ``run_dir`` resumes it). ``tune`` first chooses the parameters on
    a validation slice of the training data (:func:`causalrec_core.train.tune.tune`; ``on_tune`` gets
    one event per configuration tried; ``tune_criterion`` is what a configuration is scored by, one of
    :data:`causalrec_core.train.tune.CRITERIA`); a resumed run reuses the choice saved in ``run_dir``.
    """
    from causalrec_core.models.registry import make_model

    params = dict(params or {})
    if "random_state" in params:
        raise ParameterError("set the seed with seed=..., not params['random_state'].")
    model = make_model(model_name, **params)
    from causalrec_core.models.param_check import require_valid_params

    require_valid_params(model_name, params)
    if data is None:
        data = load_data(data_spec, log_options)
    tuning = None
    tuning_file = Path(run_dir) / TUNING_NAME if run_dir is not None else None
    if tune:
        from causalrec_core.train.tune import DEFAULT_GRIDS
        from causalrec_core.train.tune import tune as run_tune

        if resume and tuning_file is not None and tuning_file.is_file():  # tuned before the cancel: reuse it
            tuning = json.loads(tuning_file.read_text())
        else:
            t_tune = time.perf_counter()
            chosen, rows = run_tune(model_name, _with_validation(data, tune_seed), params=params, tune_seed=tune_seed,
                                    device=device, on_config=on_tune, should_stop=should_stop, criterion=tune_criterion)
            scored_on = ("validation slice of the training data" if tune_criterion == "monitor" else
                         "within-user AUC of 5-fold cross-validated scores over the training data")
            tuning = {"grid": {k: v for k, v in DEFAULT_GRIDS.get(model_name, {}).items() if k not in params},
                      "chosen": chosen, "tune_seed": tune_seed, "criterion": tune_criterion, "scored_on": scored_on,
                      "rows": rows, "seconds": round(time.perf_counter() - t_tune, 3)}
            if tuning_file is not None and _rank() == 0:
                from causalrec_core.store.atomic import atomic_write_json

                Path(run_dir).mkdir(parents=True, exist_ok=True)
                atomic_write_json(tuning_file, _jsonable(tuning))
        model = make_model(model_name, **params, **tuning["chosen"])
    model.set_params(random_state=int(seed))
    data = _with_validation(data, seed)
    run_path = Path(run_dir) if run_dir is not None else None
    if run_path is not None:
        run_path.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if isinstance(model, TorchRecommender):
        ctx = TrainContext(device=device, run_dir=run_path, resume=resume, on_progress=on_progress,
                           should_stop=should_stop, checkpoint=run_path is not None)
        model.fit(data, ctx)
        device_used = model.device_
    else:
        if device == "cuda":
            raise ParameterError(f"model {model_name!r} has no GPU code path; use device='cpu' or 'auto'.")
        model.fit(data)
        device_used = "cpu"
    fit_seconds = time.perf_counter() - t0
    metrics = evaluate(model, data, seed=seed)
    history = list(getattr(model, "history_", []) or [])
    result = {
        "model": model_name,
        "device": device_used,
        "seed": int(seed),
        "epochs": len(history) if history else None,
        "best_epoch": getattr(model, "best_epoch_", None) if history else None,
        "seconds": round(fit_seconds, 3),
        "metrics": metrics,
        "params": model.get_params(),
        "data_hash": data.fingerprint(),
        "data": {"kind": data.kind, "n_users": data.n_users, "n_items": data.n_items,
                 "n_train": len(data.train), "n_valid": 0 if data.valid is None else len(data.valid),
                 "n_test": len(data.test), "name": data.name,
                 "n_mar_sample": 0 if data.mar_sample is None else len(data.mar_sample)},
        "history": history,
    }
    if tuning is not None:
        result["tuning"] = tuning
    clip = getattr(model, "clip_report_", None)
    if clip is not None:  # debiased models: how many propensities were clipped, and to what
        result["clip_report"] = clip
    if getattr(model, "propensity_method_", None) is not None:
        result["propensity_method"] = model.propensity_method_
    if run_path is not None and _rank() == 0:
        from causalrec_core.store.atomic import atomic_path, atomic_write_json

        if isinstance(model, TorchRecommender):
            import torch

            with atomic_path(run_path / WEIGHTS_NAME) as tmp:
                torch.save(model.state_dict(), tmp)
        atomic_write_json(run_path / RESULT_NAME, _jsonable(result))
    return _jsonable(result)


def _rank() -> int:
    import sys

    if "torch" not in sys.modules:
        return 0
    import torch.distributed as dist

    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def _jsonable(obj: Any) -> Any:
    """NaN/inf -> None, numpy scalars -> Python (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if np.isfinite(v) else None
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    return obj


def load_trained(run_dir: str | Path, data: RecData | None = None) -> Any:
    """Rebuild a fitted model from a finished run folder (``job.json`` + weights).

    PyTorch models get their saved weights (``torch.load(weights_only=True)``); the others are
    refitted with the same seed (they are deterministic and fast).
    """
    from causalrec_core.models.registry import make_model

    run_path = Path(run_dir)
    job_file = run_path / "job.json"
    if not job_file.is_file():
        raise DataError(f"run folder {str(run_path)!r} has no job.json: it is not a training run.")
    job = json.loads(job_file.read_text())
    params = dict(job.get("params", {}))
    result_file = run_path / RESULT_NAME
    if result_file.is_file():  # the parameters actually trained with (after tuning, if any)
        params = {k: v for k, v in json.loads(result_file.read_text()).get("params", {}).items()
                  if k != "random_state"}
    model = make_model(job["model"], **params)
    model.set_params(random_state=int(job.get("seed", 0)))
    if data is None:
        data = load_data(job["data"], job.get("log_options"))
    data = _with_validation(data, int(job.get("seed", 0)))
    if isinstance(model, TorchRecommender):
        import torch

        weights = run_path / WEIGHTS_NAME
        if not weights.is_file():
            raise DataError(f"run folder {str(run_path)!r} has no {WEIGHTS_NAME}: the run did not finish.")
        state = torch.load(weights, map_location="cpu", weights_only=True)
        model.load_weights(data, state)
    else:
        model.fit(data)
    return model
