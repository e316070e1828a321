"""Helpers of the Train and Recommendations pages: parameter widgets, the runs table, progress,
Plotly curves, test metrics with their intervals, and cached model loading.

Pure functions (dict/RunInfo -> text, frame or figure) except the widget and cache helpers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from causalrec_core.errors import ParameterError
from causalrec_core.models.param_check import check_params as param_checks
from causalrec_core.models.param_help import describe_param, param_label
from ui.charts import plot_text
from ui.state import sticky

ACTIVE = ("queued", "running")
TERMINAL = ("completed", "failed", "cancelled")
#: parameters set once for all models (the seed and device widgets), not per model
SHARED_PARAMS = ("random_state", "device")
METRIC_NAMES = {"ndcg@10": "NDCG@10", "recall@10": "Recall@10", "hr@10": "HR@10", "auc": "AUC",
                "ndcg@5": "NDCG@5", "ndcg@5_pos_users": "NDCG@5 (users with a positive)", "recall@5": "Recall@5",
                "recall@5_pos_users": "Recall@5 (users with a positive)", "mse": "MSE",
                "ndcg@5_random": "NDCG@5 of a random ranking", "recall@5_random": "Recall@5 of a random ranking",
                "ndcg@10_ips": "NDCG@10 (IPS-reweighted)", "recall@10_ips": "Recall@10 (IPS-reweighted)"}
#: the columns of the runs table, per kind of data (the rest are in each run's details)
RUN_COLUMNS = {"log": ("ndcg@10", "recall@10", "hr@10", "ndcg@10_ips", "recall@10_ips"),
               "rating": ("auc", "ndcg@5", "ndcg@5_pos_users", "recall@5", "mse")}
#: validation metrics (the val_* history columns) in words
VALIDATION_NAMES = {"auc": "AUC", "ips_auc": "AUC (IPS-weighted)", "ndcg@5": "NDCG@5", "ips_ndcg@5": "NDCG@5 (IPS-weighted)",
                    "ndcg@10": "NDCG@10", "recall@10": "Recall@10", "hr@10": "HR@10", "loss": "loss"}


def is_rating_run(run: Any) -> bool:
    """Trained on rating files (a biased train and a randomised test) rather than a behaviour log."""
    return ((getattr(run, "config", None) or {}).get("data") or {}).get("source") in ("coat", "csv")


def main_metric(run: Any) -> str:
    """The headline test metric of a run: NDCG@5 over each user's randomised test items for rating data,
    NDCG@10 over the catalogue for logs."""
    return "ndcg@5" if is_rating_run(run) else "ndcg@10"


def data_key(run: Any) -> str:
    """Runs with the same key were trained and tested on the same data (comparable test figures)."""
    import json

    return json.dumps((getattr(run, "config", None) or {}).get("data") or {}, sort_keys=True, default=str)
#: what the inverse-propensity-scored metrics estimate, and under which assumption (one line each)
IPS_HELP = ("estimates the metric under uniform exposure (as if every item had been equally likely to be observed): "
            "SNIPS-weighted by 1/propensity of each test positive ({propensity}, clipped at {clip}, {n_clipped} "
            "clipped); assumes every pair could be observed and the propensities are right")
STATUS_ICONS = {"queued": "◷ queued", "running": "▶ running", "completed": "✔ completed", "failed": "✖ failed",
                "cancelled": "■ cancelled"}


# ------------------------------------------------------------------------------------------ models & device


@st.cache_resource(show_spinner=False)
def detected_device() -> dict:
    """What torch sees: {'cuda': bool, 'name': str} (torch imported here only, once per process)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch ships with the product
        return {"cuda": False, "name": "CPU (PyTorch is not installed)"}
    if torch.cuda.is_available():
        return {"cuda": True, "name": f"CUDA GPU: {torch.cuda.get_device_name(0)}"}
    return {"cuda": False, "name": "CPU (no CUDA GPU detected)"}


@st.cache_data(show_spinner=False)
def models_for(kind: str) -> list[dict]:
    """The registry's models that fit data of ``kind``, in registry order."""
    from causalrec_core.models.registry import list_models

    return [m for m in list_models() if kind in m["kinds"]]


def tag(model: dict) -> str:
    return "causal" if model["causal"] else "traditional"


def _step(value: float) -> float:
    if value == 0:
        return 0.001
    return 10 ** math.floor(math.log10(abs(value))) / 10


def _parse_text(name: str, text: str, default: Any) -> Any:
    text = text.strip()
    if text == "":
        return None
    if isinstance(default, tuple):
        try:
            return tuple(float(p) for p in text.strip("()[]").split(","))
        except ValueError:
            raise ParameterError(f"parameter {name!r}: {text!r} is not a list of numbers such as "
                                 f"{', '.join(map(str, default))}.") from None
    if default is None:
        for cast in (int, float):
            try:
                return cast(text)
            except ValueError:
                continue
    return text


#: parameters whose value is a list of names (typed comma-separated; empty for none)
LIST_PARAMS = ("propensity_features",)


def param_choices(model_name: str, name: str) -> tuple[str, ...] | None:
    """The allowed values of a parameter that takes one of a few names (a selectbox), else None."""
    try:
        if name == "propensity" and model_name in ("sasrec-ips", "uplift"):
            from causalrec_core.models.exposure import PROPENSITY_SOURCES

            return tuple(PROPENSITY_SOURCES)
        if name == "propensity":
            from causalrec_core.models.propensity import PROPENSITY_METHODS

            return tuple(PROPENSITY_METHODS)
        if name == "objective":
            from causalrec_core.models.mf import OBJECTIVES

            return tuple(OBJECTIVES)
    except ImportError:  # pragma: no cover - a model family this build does not ship
        return None
    return None


def param_widgets(model: dict, key_prefix: str) -> tuple[dict, list[str]]:
    """One widget per hyper-parameter of ``model`` (defaults from the registry, help from
    PARAM_HELP); returns (params, problems) where problems are unparseable entries."""
    params: dict[str, Any] = {}
    problems: list[str] = []
    editable = {k: v for k, v in model["params"].items() if k not in SHARED_PARAMS}
    if not editable:
        st.caption("This model has no hyper-parameters to set.")
        return params, problems
    cols = st.columns(3)
    for n, (name, default) in enumerate(editable.items()):
        box = cols[n % 3]
        key = f"{key_prefix}_{model['name']}_{name}"
        help_text = describe_param(name, model["name"])
        label = param_label(name)
        choices = param_choices(model["name"], name) if isinstance(default, str) else None
        if choices and default in choices:
            params[name] = box.selectbox(label, list(choices), help=help_text,
                                         **sticky(key, index=list(choices).index(default)))
        elif name in LIST_PARAMS and (default is None or isinstance(default, (list, tuple))):
            text = box.text_input(label, help=help_text + " Names separated by commas; leave empty for none.",
                                  **sticky(key, value=", ".join(map(str, default or ()))))
            names = [t.strip() for t in text.split(",") if t.strip()]
            params[name] = names or None
        elif isinstance(default, bool):
            params[name] = box.checkbox(label, help=help_text, **sticky(key, value=default))
        elif isinstance(default, int):
            params[name] = int(box.number_input(label, step=1, help=help_text, **sticky(key, value=default)))
        elif isinstance(default, float):
            params[name] = float(box.number_input(label, step=_step(default), format="%g", help=help_text,
                                                  **sticky(key, value=default)))
        else:
            shown = "" if default is None else (", ".join(map(str, default)) if isinstance(default, tuple)
                                                else str(default))
            text = box.text_input(label, help=help_text + (" Leave empty for none." if default is None else ""),
                                  **sticky(key, value=shown))
            try:
                params[name] = _parse_text(name, text, default)
            except ParameterError as err:
                problems.append(str(err))
    return params, problems


#: hyper-parameter rules the models enforce when they fit (``causalrec_core.models``), checked here
#: before a run is started so that absurd values are refused with a clear message instead of a
#: failed run: name -> (kind, low, low inclusive?, high, high inclusive?, how to say it)
check_params = param_checks  # the core's rules, shown before a run starts


# ------------------------------------------------------------------------------------------ runs table


def best_validation(progress: dict | None) -> str:
    """'val ndcg@10 0.0867 (epoch 2)' from the run's per-epoch history, '' without one."""
    hist = (progress or {}).get("history") or []
    monitor = (progress or {}).get("monitor")
    keys = [k for k in (hist[0] if hist else {}) if k.startswith("val_")]
    if not keys:
        return ""
    key = f"val_{monitor}" if monitor and f"val_{monitor}" in keys else keys[0]
    vals = [(h.get(key), h.get("epoch")) for h in hist if isinstance(h.get(key), (int, float))]
    if not vals:
        return ""
    best, epoch = max(vals, key=lambda t: t[0])
    return f"{VALIDATION_NAMES.get(key[4:], key[4:])} {best:.4f} (epoch {epoch})"


def epoch_text(run: Any, progress: dict | None) -> str:
    p = progress or {}
    if p.get("epochs"):
        return f"{p.get('epoch', 0)}/{p['epochs']}"
    if run.status == "completed":
        return "one pass" if not run.metrics.get("epochs") else f"{run.metrics['epochs']}"
    tuning = p.get("tuning") or {}
    if tuning.get("n_configs"):
        return f"tuning {tuning.get('config', 0)}/{tuning['n_configs']}"
    return "—"


def score_format(values: Any, digits: int = 4) -> str:
    """A printf format giving every value of a score column the same decimals: ``digits`` significant
    digits for the largest magnitude (so 0.3561, 0.2710, 0.2700 — not 0.3561, 0.271, 0.27)."""
    v = np.abs(np.asarray(values, dtype=np.float64))
    v = v[np.isfinite(v) & (v > 0)]
    if not len(v):
        return "%.4f"
    decimals = digits - 1 - int(math.floor(math.log10(float(v.max()))))
    return f"%.{min(max(decimals, 0), 8)}f"


def device_text(run: Any) -> str:
    """The device a run trains on; 'auto' until its worker has chosen one."""
    if run.device in (None, "", "auto"):
        return "auto (chosen when it starts)" if run.status in ACTIVE else "auto (never chose one)"
    return str(run.device)


def runs_frame(runs: list, progress: dict[int, dict | None], causal: dict[str, bool],
               data_names: dict[int, str] | None = None) -> pd.DataFrame:
    """The runs table: one row per run, newest first; metric columns of the runs' kind of data
    (:data:`RUN_COLUMNS`), a ``data`` column when ``data_names`` (run id -> label) is given."""
    rows = []
    kinds = {"rating" if is_rating_run(r) else "log" for r in runs}
    wanted = [k for kind in ("log", "rating") if kind in kinds for k in RUN_COLUMNS[kind]]
    metric_keys = [k for k in wanted if any(k in r.metrics for r in runs)]
    for run in sorted(runs, key=lambda r: r.id, reverse=True):
        prog = progress.get(run.id)
        row = {"run": run.name, **({"data": data_names.get(run.id, "")} if data_names is not None else {}),
               "model": run.model,
               "causal?": "causal" if causal.get(run.model) else "traditional",
               "status": STATUS_ICONS.get(run.status, run.status), "device": device_text(run),
               "epoch": epoch_text(run, prog), "best validation": best_validation(prog)}
        for k in metric_keys:
            v = run.metrics.get(k)
            row[f"test {METRIC_NAMES[k]}"] = float(v) if isinstance(v, (int, float)) else None
        row["created"] = run.created_at.replace("T", " ")[:19]
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------ progress


def fmt_seconds(s: float | None) -> str:
    if s is None or not math.isfinite(s):
        return "—"
    s = int(round(s))
    if s < 60:
        return f"{s} s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


def progress_state(run: Any, progress: dict | None, epochs_expected: bool = True) -> tuple[float, str]:
    """(fraction done, text) for the progress bar of a queued or running run; ``epochs_expected``
    is False for the models that fit in one pass (no epochs to report)."""
    p = progress or {}
    if run.status == "queued" or not p:
        return 0.0, "Queued: waiting for the training worker to start…"
    epochs = p.get("epochs")
    tuning = p.get("tuning") or {}
    if not epochs and tuning.get("n_configs"):
        i, n = int(tuning.get("config") or 0), int(tuning["n_configs"])
        tried = ", ".join(f"{k}={v}" for k, v in (tuning.get("params") or {}).items())
        score = tuning.get("score")
        within = tuning.get("criterion") == "within-user"
        return i / (n + 1), (f"Tuning {'by 5-fold cross-validation' if within else 'on the validation slice'}: "
                             f"configuration {i} of {n} tried ({tried}"
                             + (f": {'within-user AUC' if within else 'validation'} {score:.4f}"
                                if isinstance(score, (int, float)) else "")
                             + ("); the best one is trained next." if i >= n else
                                "); the best of them is trained once all are tried."))
    if not epochs:
        if epochs_expected:
            return 0.0, "Running: reading the data and building the model (the first epoch starts next)…"
        return 0.0, "Running: reading the data and fitting (this model fits in one pass, without epochs)…"
    epoch = int(p.get("epoch") or 1)
    spe = max(int(p.get("steps_per_epoch") or 1), 1)
    step = int(p.get("step") or 0)
    done = ((epoch - 1) + min(step / spe, 1.0)) / epochs
    loss = p.get("loss")
    text = (f"Epoch {epoch}/{epochs} · step {step}/{spe}" + (f" · loss {loss:.4f}" if loss is not None else "")
            + f" · elapsed {fmt_seconds(p.get('elapsed_s'))} · ETA {fmt_seconds(p.get('eta_s'))}"
            + f" · {p.get('device') or run.device}")
    return min(max(done, 0.0), 1.0), text


def loss_chart(progress: dict | None) -> go.Figure | None:
    """Training loss: every reported step (fractional epoch) and the per-epoch mean."""
    p = progress or {}
    steps = p.get("steps") or []
    hist = p.get("history") or []
    if not steps and not hist:
        return None
    fig = go.Figure()
    if steps:
        # markers too: the first few reports of a run would otherwise draw nothing (a single point)
        secs = p.get("sample_every_s")
        every = f"{secs:g} s" if isinstance(secs, (int, float)) and secs != 1 else "second"
        fig.add_trace(go.Scatter(x=[s[0] for s in steps], y=[s[1] for s in steps],
                                 mode="lines+markers" if len(steps) < 30 else "lines",
                                 name=f"loss (epoch's running mean, sampled about every {every})",
                                 line={"width": 1}, marker={"size": 4}))
    if hist:
        fig.add_trace(go.Scatter(x=[h["epoch"] for h in hist], y=[h.get("loss") for h in hist], mode="lines+markers",
                                 name="loss (epoch mean)"))
    fig.update_layout(title="Training loss (lower is better)",
                      xaxis_title="epoch (fractional: steps within an epoch)", yaxis_title="training loss",
                      height=300, margin={"t": 40, "b": 40, "l": 50, "r": 10}, legend={"orientation": "h", "y": -0.3})
    fig.update_xaxes(rangemode="tozero")
    return fig


def validation_chart(progress: dict | None, run: Any = None) -> go.Figure | None:
    """Validation metrics per epoch (the val_* columns of the history); best epoch marked."""
    p = progress or {}
    hist = p.get("history") or []
    keys = sorted({k for h in hist for k in h if k.startswith("val_")})
    if not keys:
        return None
    same = set()  # an IPS-weighted series equal to its plain one (label-only propensities) is drawn once
    for k in keys:
        plain = k.replace("val_ips_", "val_")
        if k != plain and plain in keys:
            a = np.array([h.get(k) for h in hist], dtype=float)
            b = np.array([h.get(plain) for h in hist], dtype=float)
            if np.allclose(a, b, equal_nan=True):
                same.add(k)
    keys = [k for k in keys if k not in same]
    fig = go.Figure()
    for k in keys:
        name = VALIDATION_NAMES.get(k[4:], k[4:])
        if k.replace("val_", "val_ips_", 1) in same:
            name += " (= IPS-weighted)"
        fig.add_trace(go.Scatter(x=[h["epoch"] for h in hist], y=[h.get(k) for h in hist], mode="lines+markers",
                                 name=name))
    best = p.get("best_epoch")
    if best:
        fig.add_vline(x=best, line_dash="dot", annotation_text=f"best epoch {best}")
    where = ("a seeded 10% of the training ratings" if run is not None and is_rating_run(run)
             else "the 10% of the positive events before the test part")
    fig.update_layout(title=f"Validation ({where})", xaxis_title="epoch",
                      yaxis_title="validation metric (higher is better)", height=300, margin={"t": 40, "b": 40, "l": 50, "r": 10},
                      legend={"orientation": "h", "y": -0.3})
    return fig


# ------------------------------------------------------------------------------------------ test metrics


def split_text(run: Any) -> str:
    """How the test part was chosen, from the run's data spec and log options."""
    config = run.config or {}
    data = config.get("data", {})
    if data.get("source") in ("dataset", "log"):
        opts = config.get("log_options") or {}
        if opts.get("split") == "leave-last":
            return "each user's last item (leave-last split)"
        return f"the last {float(opts.get('test_fraction', 0.1)):.0%} of the positive events (temporal split)"
    if data.get("source") in ("coat", "csv"):
        carved = " (less the share kept for the propensities)" if data.get("mar_fraction") else ""
        return f"the randomised (missing-at-random) test ratings{carved}"
    return "the test file"


def _users_text(run: Any) -> str:
    n = (run.metrics or {}).get("n_test_users")
    return f"mean over {int(n):,} test users" if isinstance(n, (int, float)) and n > 0 else "mean over test users"


def metric_label(key: str, run: Any) -> str:
    name = METRIC_NAMES.get(key, key)
    m = run.metrics or {}
    if key in ("auc", "mse"):
        n = m.get("n_test_pairs")
        pairs = f"all {int(n):,} test pairs" if isinstance(n, (int, float)) else "all test pairs"
        what = "MSE of P(positive) against the 0/1 label" if key == "mse" else "AUC"
        return f"{what} on {split_text(run)}, over {pairs}, 95% CI resampling users"
    if key.endswith("_pos_users"):
        n = m.get("n_test_users_with_positive")
        users = f"the {int(n):,} test users" if isinstance(n, (int, float)) else "the test users"
        return f"{name.split(' (')[0]} on {split_text(run)}, mean over {users} with a positive test item, 95% bootstrap CI"
    if key.endswith("_random"):
        return (f"{name} on {split_text(run)}: what ranking each user's test items at random gives (mean of 20 seeded "
                "draws) — the floor a model must beat")
    if key.endswith("_ips"):
        ips = (run.metrics or {}).get("ips") or {}
        help_text = IPS_HELP.format(propensity=ips.get("propensity", "propensity"), clip=ips.get("clip", "?"),
                                    n_clipped=ips.get("n_clipped", "?"))
        return f"{name} on {split_text(run)}, {_users_text(run)}: {help_text}; 95% bootstrap CI"
    return f"{name} on {split_text(run)}, {_users_text(run)}, 95% bootstrap CI"


#: what the test metrics estimate, and under which assumption (shown under the test metrics)
METRICS_ASSUMPTION = (
    "The test part is the logged behaviour as it happened: these figures estimate how well the model predicts what "
    "users did next under the recommender that logged the data (observational, not debiased), assuming the test "
    "period behaves like the training period. A causal model's gain from debiasing may therefore not show fully "
    "here; the IPS-reweighted metrics of the run reweight the test positives towards uniform exposure to estimate "
    "it. Intervals: 95% percentile bootstrap over the test users (seeded by the run's seed). Items a user had in "
    "training are excluded from their top-10.")
#: the same for rating data whose test ratings are of randomly assigned items
RATING_METRICS_ASSUMPTION = (
    "The test ratings are of items assigned to users at random (missing at random), unlike the training ratings, "
    "which users chose to give: these figures estimate how well the model ranks and predicts items users did not "
    "pick themselves — what debiasing aims at — assuming the test items really were assigned at random. AUC and "
    "MSE are over all test pairs; NDCG@5 / Recall@5 rank each user's test items. A user without any positive "
    "test item counts as 1 (the convention of the published Coat figures), which flatters every model alike: the "
    "'users with a positive' rows leave them out, and the random-ranking rows give the floor to beat. Intervals: "
    "95% percentile bootstrap over the test users for every metric (a user's pairs move together; seeded by the "
    "run's seed).")


def metrics_assumption(run: Any) -> str:
    """What a run's test metrics estimate, and under which assumption."""
    source = ((run.config or {}).get("data") or {}).get("source")
    return RATING_METRICS_ASSUMPTION if source in ("coat", "csv") else METRICS_ASSUMPTION


def test_metrics_frame(run: Any) -> pd.DataFrame:
    """metric, value, 95% CI low/high and what it measures, for a completed run."""
    m = run.metrics or {}
    ci = m.get("ci95") or {}
    rows = []
    for key in METRIC_NAMES:
        if isinstance(m.get(key), (int, float)):
            lo, hi = (ci.get(key) or [None, None])[:2]
            rows.append({"metric": METRIC_NAMES[key], "value": float(m[key]), "95% CI low": lo, "95% CI high": hi,
                         "what it measures": metric_label(key, run) if key in ci or key.endswith("_random")
                         else f"{METRIC_NAMES[key]} on {split_text(run)}"})
    return pd.DataFrame(rows)


#: entries of the beyond-accuracy dict that describe the lists rather than measure them
BEYOND_META = ("k", "n_users")
#: what each beyond-accuracy figure measures (``causalrec_core.evaluate.beyond``)
BEYOND_HELP = {
    "coverage": "share of the catalogue recommended to at least one test user (higher: more of the catalogue used)",
    "gini": "inequality of how often items are recommended: 0 = all equally often, towards 1 = a few items take "
            "every slot",
    "novelty": "mean self-information -log2 p(item) of the recommended items, p = share of training positives "
               "(higher: less popular items)",
    "ild": "intra-list diversity: 1 - mean cosine similarity of the item features within a list",
    "categories_per_list": "mean number of distinct categories in a top-10 list",
    "avg_popularity": "mean number of training positives of the recommended items",
    "popularity_lift": "avg_popularity relative to the popularity behind an average training positive, minus 1 "
                       "(> 0: the lists favour popular items more than the users' own history)",
    "personalisation": "1 - mean overlap (Jaccard) of two users' lists, over a seeded sample of at most 2,000 "
                       "users (0: everyone gets the same list)",
}


#: beyond-accuracy figures in words
BEYOND_NAMES = {"coverage": "catalogue coverage", "gini": "Gini of exposure", "novelty": "novelty",
                "ild": "intra-list diversity", "categories_per_list": "categories per list",
                "avg_popularity": "average popularity", "popularity_lift": "popularity lift",
                "personalisation": "personalisation"}


def beyond_frame(run: Any) -> pd.DataFrame:
    beyond = (run.metrics or {}).get("beyond") or {}
    return pd.DataFrame([{"figure": BEYOND_NAMES.get(k, k.replace("_", " ")), "value": float(v),
                          "what it measures": BEYOND_HELP.get(k, "")}
                         for k, v in beyond.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
                         and k not in BEYOND_META])


def beyond_title(run: Any) -> str:
    """The title of the beyond-accuracy figures: the list length and how many users' lists."""
    beyond = (run.metrics or {}).get("beyond") or {}
    k, n = beyond.get("k", 10), beyond.get("n_users")
    users = f"the {int(n):,} test users" if isinstance(n, (int, float)) else "the test users"
    return f"Beyond accuracy (top-{int(k)} lists of {users})"


def clip_report_frame(run: Any, report: dict | None = None) -> pd.DataFrame:
    """The propensity clipping of a causal run: ``report`` (a fitted model's ``clip_report_``) or
    else ``clip_report`` in the run's metrics, when the run stored one; one row per figure, in
    plain words; empty without one."""
    rep = report or (run.metrics or {}).get("clip_report") or {}
    if not isinstance(rep, dict):
        return pd.DataFrame()
    words = {"min": "lower clipping bound", "max": "upper clipping bound", "n": "propensities used",
             "n_clipped": "propensities clipped", "n_clipped_low": "clipped up to the lower bound",
             "n_clipped_high": "clipped down to the upper bound", "share_clipped": "share clipped",
             "n_logged_propensity": "from the logged propensity", "n_popularity_propensity":
             "from the item-popularity estimate", "n_graph_propensity": "from the causal graph's exposure model",
             "mode": "propensity mode asked for", "weight_max": "largest inverse-propensity weight",
             "weight_mean": "mean inverse-propensity weight", "source": "propensity source",
             "low": "lower clipping bound", "high": "upper clipping bound", "raw_min": "smallest raw propensity",
             "raw_max": "largest raw propensity"}
    return pd.DataFrame([{"figure": words.get(k, k.replace("_", " ")),
                          "value": f"{v:.4g}" if isinstance(v, float) else str(v)}
                         for k, v in rep.items() if v is not None and not isinstance(v, (dict, list))])


def config_frame(run: Any, data_name: str) -> pd.DataFrame:
    """A run's configuration in words: the data, how it was split, the seed and device, whether it was
    tuned, and every model parameter it trained with (from result.json once finished, else as asked)."""
    import json
    from pathlib import Path

    config = run.config or {}
    data = config.get("data") or {}
    rows = [("data", data_name), ("test part", split_text(run))]
    if data.get("threshold") is not None:
        rows.append(("positive", f"rating > {float(data['threshold']):g}"))
    if data.get("mar_fraction"):
        rows.append(("randomised sample", f"{float(data['mar_fraction']):.0%} of the test, left out of the test"))
    elif data.get("mar"):
        rows.append(("randomised sample", "its own file"))
    rows += [("seed", str(run.seed)), ("device asked", str(config.get("device", "auto"))),
             ("device used", str(run.device or "—"))]
    tuned = (run.metrics or {}).get("tuned_params")
    within = config.get("tune_criterion") == "within-user"
    rows.append(("tuned by 5-fold cross-validation on the training data" if within else
                 "tuned on the validation slice", "no" if not config.get("tune") else
                 (", ".join(f"{k}={v}" for k, v in tuned.items()) or "nothing to tune") if tuned is not None
                 else "yes (running)"))
    params = dict(config.get("params") or {})
    source = "as asked"
    result = Path(run.run_dir) / "result.json" if getattr(run, "run_dir", None) else None
    if result is not None and result.is_file():
        try:
            params = json.loads(result.read_text()).get("params") or params
            source = "trained with"
        except (OSError, ValueError):
            pass
    rows += [(f"{param_label(k)}, {source}", json.dumps(v) if isinstance(v, (list, dict)) else str(v))
             for k, v in sorted(params.items()) if k not in ("device", "random_state")]
    return pd.DataFrame(rows, columns=["setting", "value"])


def tuning_frame(tuning: dict) -> pd.DataFrame:
    """The settings tried while tuning (one row each, best first) with their validation scores."""
    rows = [{"setting": ", ".join(f"{k}={v}" for k, v in (r.get("params") or {}).items()) or "(defaults)",
             "validation score": r.get("score")} for r in (tuning.get("rows") or [])]
    frame = pd.DataFrame(rows, columns=["setting", "validation score"])
    return frame.sort_values("validation score", ascending=False, na_position="last").reset_index(drop=True)


# ------------------------------------------------------------------------------------------ failures


def error_text(error: str | None) -> str:
    """The readable head of a failed run's error: no log lines, no Python exception class for the
    product's own errors (their messages are written for the user)."""
    head = (error or "the run failed without a message.").partition("\n--- last log lines ---\n")[0].strip()
    kind, sep, rest = head.partition(": ")
    if sep and kind.isidentifier() and kind in ("ParameterError", "DataError", "CausalRecError", "NotFittedError",
                                                "TrainingError", "ValueError"):
        head = rest
    return head or "the run failed without a message."


def log_without_traceback(text: str) -> str:
    """A worker log with its Python tracebacks folded to their last line (the error itself): the
    UI never shows a traceback; the full log stays in the run folder."""
    out: list[str] = []
    skipping = False
    for line in (text or "").splitlines():
        if line.startswith("Traceback (most recent call last):"):
            skipping = True
            out.append("[Python traceback left out: see worker.log in the run folder]")
            continue
        if skipping and (line.startswith("  ") or not line.strip() or line.startswith(("During handling",
                                                                                          "The above exception"))):
            continue
        skipping = False
        out.append(line)
    return "\n".join(out)


def comparison_chart(runs: list, causal: dict[str, bool], key: str = "ndcg@10", like: Any = None) -> go.Figure | None:
    """The main test metric of every completed run with its 95% interval, causal vs traditional; with
    ``like``, only the runs trained and tested on the same data as that run (others are not comparable)."""
    done = [r for r in runs if r.status == "completed" and isinstance(r.metrics.get(key), (int, float))
            and (like is None or data_key(r) == data_key(like))]
    if not done:
        return None
    fig = go.Figure()
    names = [r.name for r in done]  # a name two runs share gets the run id, so no two rows merge
    for flag, colour in ((False, "#1f77b4"), (True, "#d62728")):
        sel = [r for r in done if bool(causal.get(r.model)) == flag]
        if not sel:
            continue
        vals = [float(r.metrics[key]) for r in sel]
        ci = [(r.metrics.get("ci95") or {}).get(key) or [v, v] for r, v in zip(sel, vals, strict=True)]
        fig.add_trace(go.Scatter(
            x=vals, y=[plot_text(f"{r.name} (run {r.id})" if names.count(r.name) > 1 else r.name) for r in sel],
            mode="markers", name="causal" if flag else "traditional",
            marker={"color": colour, "size": 10},
            error_x={"type": "data", "symmetric": False, "array": [c[1] - v for c, v in zip(ci, vals, strict=True)],
                     "arrayminus": [v - c[0] for c, v in zip(ci, vals, strict=True)]}))
    label = METRIC_NAMES.get(key, key)
    same = f" — runs on the same data as '{plot_text(like.name)}'" if like is not None else ""
    fig.update_layout(title=f"Test {label} with 95% bootstrap intervals{same}", xaxis_title=f"test {label}",
                      yaxis_title="run",
                      height=120 + 40 * len(done), margin={"t": 40, "b": 40, "l": 10, "r": 10})
    return fig


# ------------------------------------------------------------------------------------------ recommendations


def run_files_stamp(run_dir: str) -> tuple[tuple[str, int, int], ...]:
    """(name, mtime in ns, size) of the files a trained model is rebuilt from (job.json, result, weights).

    Part of the cache key of :func:`load_run_model`: a rewritten file loads the model again.
    """
    from pathlib import Path

    from causalrec_core.train.runner import RESULT_NAME, WEIGHTS_NAME

    out = []
    for name in ("job.json", RESULT_NAME, WEIGHTS_NAME):
        try:
            info = (Path(run_dir) / name).stat()
        except OSError:  # not there (no weights for the non-neural models): nothing to key on
            continue
        out.append((name, info.st_mtime_ns, info.st_size))
    return tuple(out)


@st.cache_resource(show_spinner="Loading the trained model…", max_entries=4)
def load_run_model(run_id: int, run_dir: str, stamp: tuple = ()) -> tuple[Any, Any]:
    """(fitted model, the data it was fitted on) of a completed run.

    Cached per (run id, run folder, ``stamp``): pass ``run_files_stamp(run_dir)`` so that choosing
    another user or k reuses the loaded model, and a changed run folder is loaded again.
    """
    import json
    from pathlib import Path

    from causalrec_core.errors import DataError
    from causalrec_core.train import runner

    job_file = Path(run_dir) / "job.json"
    if not job_file.is_file():
        raise DataError(f"run {run_id} has no job.json in {run_dir!r}: it cannot be loaded.")
    job = json.loads(job_file.read_text())
    data = runner.load_data(job["data"], job.get("log_options"))
    model = runner.load_trained(run_dir, data)
    return model, data


@st.cache_data(show_spinner=False, max_entries=8)
def item_table(root: str, dataset_id: int, revision: int) -> pd.DataFrame | None:
    """item_id plus the title / category columns of the dataset's items table (None without one)."""
    from causalrec_core.store import ProjectStore

    store = ProjectStore(root)
    info = store.get_dataset(dataset_id)
    for table in ("item_side", "items"):
        if table in info.tables:
            items = store.load_table(dataset_id, table)
            keep = ["item_id"] + [c for c in ("title", "name", "category", "genre") if c in items.columns]
            if len(keep) == 1:
                return None
            out = items[keep].drop_duplicates("item_id")
            out["item_id"] = out["item_id"].astype(str)
            return out
    return None


def example_users(data: Any, n: int = 4) -> list[tuple[str, int]]:
    """(user id, training items) of some users: the most active, typical and least active ones."""
    import numpy as np

    counts = np.bincount(data.train.user, minlength=data.n_users)
    has = np.flatnonzero(counts > 0)
    if len(has) == 0:
        return []
    order = has[np.lexsort((has, -counts[has]))]
    mid = len(order) // 2
    picks = list(dict.fromkeys([*order[:n], *order[max(mid - n // 2, 0):mid + n - n // 2], *order[-n:]]))
    return [(str(data.user_ids[u]), int(counts[u])) for u in picks]
