"""The Effects page's cached computations: each one rebuilds its inputs from the (cached) unit table,
keyed by the dataset id and revision and by every parameter, and calls the core once.

Nothing here draws: ``pages/effects.py`` reads the widgets, calls these and shows the results.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from causalrec_core.effects.units import design_matrix, pair_units, simulator_units
from causalrec_core.errors import ParameterError
from ui.state import get_store

#: Units used by the ATE estimators, diagnostics and refuters (a seeded subsample above it).
MAX_ROWS = 200_000
#: Units the refuters refit on (each refuter refits several times).
MAX_REFUTE_ROWS = 60_000
#: Units a meta-learner is fitted on (gradient-boosted base learners are slow), and Qini units.
MAX_CATE_FIT = 20_000
MAX_CATE_EVAL = 50_000
PROPENSITY_COLUMN = "propensity"
#: The simulator's truth.json keys: (treatment, outcome) -> (overall ATE key, ATE-by-segment key).
TRUTH_KEYS = {("exposed", "purchased"): ("ate_exposure_purchase", "ate_by_segment"),
              ("exposed", "viewed"): ("ate_exposure_view", "ate_exposure_view_by_segment")}


@st.cache_data(show_spinner="Building the unit table…", max_entries=4)
def unit_table(root: str, dataset_id: int, revision: int) -> tuple[pd.DataFrame, str]:
    """The dataset's unit table: the simulator's pairs when present, else pairs from interactions."""
    store = get_store()
    ds = store.get_dataset(dataset_id)
    if "pairs" in ds.tables:
        return simulator_units(store.load_table(dataset_id, "pairs")), "pairs (simulator: every user × candidate item)"
    users = store.load_table(dataset_id, "users") if "users" in ds.tables else None
    items = store.load_table(dataset_id, "items") if "items" in ds.tables else None
    return pair_units(store.load_table(dataset_id, "interactions"), users, items), "interactions (user × item pairs)"


def truth(ds: Any) -> dict:
    """The dataset's simulator truth (``truth.json``), or {} when it has none or it is unreadable."""
    path = ds.path / "truth.json"
    if not path.is_file():
        return {}
    try:
        out = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return out if isinstance(out, dict) else {}


def true_ate(truth_: dict, treatment: str, outcome: str) -> float | None:
    """The simulator's true ATE of ``treatment`` on ``outcome`` when it records one."""
    key = TRUTH_KEYS.get((treatment, outcome))
    value = truth_.get(key[0]) if key else None
    return float(value) if isinstance(value, (int, float)) else None


def true_ate_by_segment(truth_: dict, treatment: str, outcome: str, segment_col: str) -> dict[str, float]:
    """The simulator's true ATE per user segment ({} unless the column is the simulator's ``segment``)."""
    key = TRUTH_KEYS.get((treatment, outcome))
    values = truth_.get(key[1]) if key and segment_col == "segment" else None
    if not isinstance(values, dict):
        return {}
    return {str(k): float(v) for k, v in values.items() if isinstance(v, (int, float))}


@dataclass(frozen=True)
class Design:
    """The arrays one analysis uses, and what was done to get them."""

    X: pd.DataFrame
    t: np.ndarray
    y: np.ndarray
    e: np.ndarray | None
    rows: pd.DataFrame  # the unit rows used (same order as X)
    notes: list[str]


def design(units: pd.DataFrame, treatment: str, outcome: str, covariates: tuple[str, ...], use_logged: bool,
           seed: int, max_rows: int = MAX_ROWS, extra: tuple[str, ...] = ()) -> Design:
    """Rows without missing values in the columns used, subsampled to ``max_rows`` (seeded), the
    design matrix (skewed pair covariates on the log scale), treatment, outcome and the logged
    propensity when asked."""
    if treatment == outcome:
        raise ParameterError("the treatment and the outcome must be different columns.")
    needed = [treatment, outcome, *covariates, *extra] + ([PROPENSITY_COLUMN] if use_logged else [])
    data = units.dropna(subset=list(dict.fromkeys(needed)))
    notes = []
    if len(data) < len(units):
        notes.append(f"{len(units) - len(data):,} rows with missing values were left out.")
    if use_logged:
        e = data[PROPENSITY_COLUMN].astype("float64")
        bad = ~((e > 0) & (e < 1))
        if bad.any():
            data = data.loc[~bad.to_numpy()]
            notes.append(f"{int(bad.sum()):,} rows with a logged propensity of 0 or 1 were left out (no overlap).")
    if len(data) > max_rows:
        data = data.sample(n=max_rows, random_state=seed)
        notes.append(f"A random subsample of {max_rows:,} rows (seed {seed}) was used.")
    if data.empty:
        raise ParameterError("no rows are left after dropping rows with missing values in the columns used.")
    X, design_notes = design_matrix(data, list(covariates), log_skewed_covariates=True)
    return Design(X=X, t=data[treatment].astype("float64").to_numpy(), y=data[outcome].astype("float64").to_numpy(),
                  e=data[PROPENSITY_COLUMN].astype("float64").to_numpy() if use_logged else None, rows=data,
                  notes=notes + design_notes)


def _accepts_propensity(est: Any) -> bool:
    check = getattr(est, "_accepts_propensity", None)
    return bool(check()) if callable(check) else False


@st.cache_data(show_spinner=False, max_entries=16)
def estimate(root: str, dataset_id: int, revision: int, treatment: str, outcome: str, covariates: tuple[str, ...],
             methods: tuple[str, ...], use_logged: bool, seed: int) -> dict:
    """Every chosen ATE estimator's result (dicts), the notes, and which used the logged propensity."""
    from causalrec_core.effects.estimators import make_estimator

    units, _ = unit_table(root, dataset_id, revision)
    d = design(units, treatment, outcome, covariates, use_logged, seed)
    results = []
    for m in methods:
        est = make_estimator(m, seed=seed)
        known = d.e is not None and _accepts_propensity(est)
        est = est.fit(d.X, d.t, d.y, propensity=d.e) if known else est.fit(d.X, d.t, d.y)
        res = est.result("ate").to_dict()
        res["propensity"] = "logged (known)" if known else ("fitted" if m in ("ipw", "aipw") else "not used")
        results.append(res)
    return {"results": results, "notes": d.notes}


@st.cache_data(show_spinner=False, max_entries=16)
def diagnostics(root: str, dataset_id: int, revision: int, treatment: str, outcome: str, covariates: tuple[str, ...],
                use_logged: bool, seed: int, trim: float) -> tuple[Any, list[str]]:
    """:func:`causalrec_core.effects.diagnostics.diagnose` of the design, and the design's notes."""
    from causalrec_core.effects.diagnostics import diagnose

    units, _ = unit_table(root, dataset_id, revision)
    d = design(units, treatment, outcome, covariates, use_logged, seed)
    return diagnose(d.X, d.t, propensity=d.e, trim=trim), d.notes


@st.cache_data(show_spinner=False, max_entries=8)
def refutations(root: str, dataset_id: int, revision: int, treatment: str, outcome: str, covariates: tuple[str, ...],
                method: str, use_logged: bool, seed: int, n_sims: int, strength: float) -> tuple[list[dict], list[str]]:
    """Every refuter of :func:`causalrec_core.effects.refute.refute_all` on ``method``."""
    from causalrec_core.effects.estimators import make_estimator
    from causalrec_core.effects.refute import refute_all

    units, _ = unit_table(root, dataset_id, revision)
    d = design(units, treatment, outcome, covariates, use_logged, seed, max_rows=MAX_REFUTE_ROWS)
    known = d.e is not None and _accepts_propensity(make_estimator(method, seed=seed))
    rows = refute_all(lambda: make_estimator(method, seed=seed), d.X, d.t, d.y, seed=seed, n_sims=n_sims,
                      propensity=d.e if known else None, strength_t=strength, strength_y=strength)
    notes = list(d.notes)
    if known:
        notes.append("The refits use the logged propensity (placebo and simulated-confounder refits do not: it "
                     "does not describe a permuted treatment or a new confounder).")
    return rows, notes


@st.cache_data(show_spinner=False, max_entries=8)
def heterogeneity(root: str, dataset_id: int, revision: int, treatment: str, outcome: str,
                  covariates: tuple[str, ...], segment_col: str, learner: str, use_logged: bool, seed: int) -> dict:
    """:func:`causalrec_core.effects.cate.segment_report` of the design, with its notes."""
    from causalrec_core.effects.cate import segment_report

    units, _ = unit_table(root, dataset_id, revision)
    d = design(units, treatment, outcome, covariates, use_logged, seed, extra=(segment_col,))
    if d.X.shape[1] == 0:
        raise ParameterError("effects by segment need at least one covariate for the learner to model.")
    out = segment_report(learner, d.X, d.t, d.y, d.rows[segment_col].astype(str), propensity=d.e,
                         max_fit=MAX_CATE_FIT, max_eval=MAX_CATE_EVAL, seed=seed)
    out["ate"] = out["ate"].to_dict()
    out["notes"] = d.notes + out["notes"]
    return out


def segment_columns(units: pd.DataFrame, exclude: tuple[str, ...] = ()) -> list[str]:
    """Columns that can split units into segments: text/categorical, or integers with 2–20 values."""
    out = []
    for col in units.columns:
        if col in exclude or col in ("user_id", "item_id"):
            continue
        s = units[col]
        if pd.api.types.is_float_dtype(s):
            continue
        if 2 <= s.nunique(dropna=True) <= 20:
            out.append(str(col))
    return out
