"""One ATE analysis of a unit table, as the dashboard's Effects page runs it: pick the rows and
build the design (:func:`prepare_design`), then fit each estimator (:func:`estimate_ate`).

The page calls these through ``ui.effects_view`` (cached); ``causalrec effect`` computes the same
numbers for the same table, covariates, propensity column, covariate transformation and seed
(``tests/ui/test_effects_page.py`` pins page == CLI on the sample project).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=400)
>>> t = (rng.random(400) < 1 / (1 + np.exp(-x))).astype(int)
>>> y = (rng.random(400) < 0.2 + 0.1 * t + 0.1 * (x > 0)).astype(int)
>>> data = pd.DataFrame({"x": x, "t": t, "y": y})
>>> out = estimate_ate(data, "t", "y", ["x"], ["naive", "aipw"], seed=0)
>>> [r["method"] for r in out["results"]], out["results"][1]["propensity"]
(['naive', 'aipw'], 'fitted')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from causalrec_core.errors import ParameterError

from .units import design_matrix


@dataclass(frozen=True)
class Design:
    """The arrays one analysis uses, and what was done to get them."""

    X: pd.DataFrame
    t: np.ndarray
    y: np.ndarray
    e: np.ndarray | None
    rows: pd.DataFrame  # the unit rows used (same order as X)
    notes: list[str]


def prepare_design(data: pd.DataFrame, treatment: str, outcome: str, covariates: Sequence[str], *,
                   propensity_column: str | None = None, seed: int = 0, max_rows: int | None = None,
                   extra: Sequence[str] = (), log_skewed_covariates: bool = True) -> Design:
    """Rows without missing values in the columns used (and, with ``propensity_column``, with a
    logged propensity strictly inside (0, 1)), a seeded random subsample of ``max_rows`` of them when
    there are more, the design matrix (skewed pair covariates log1p-transformed unless
    ``log_skewed_covariates=False``), treatment, outcome and the logged propensity.

    Raises
    ------
    ParameterError
        The treatment is the outcome, or no row is left.
    """
    if treatment == outcome:
        raise ParameterError("the treatment and the outcome must be different columns.")
    covariates = list(covariates)
    needed = [treatment, outcome, *covariates, *extra] + ([propensity_column] if propensity_column else [])
    missing_cov = [c for c in covariates if c not in data.columns]
    if missing_cov:
        raise ParameterError(f"covariates {missing_cov} are not columns of the data; available columns: "
                             + ", ".join(map(str, data.columns)) + ".")
    missing = [c for c in dict.fromkeys(needed) if c not in data.columns]
    if missing:
        raise ParameterError(f"columns {missing} are not in the data; available columns: "
                             + ", ".join(map(str, data.columns)) + ".")
    rows = data.dropna(subset=list(dict.fromkeys(needed)))
    notes = []
    if len(rows) < len(data):
        notes.append(f"{len(data) - len(rows):,} rows with missing values were left out.")
    if propensity_column:
        e = pd.to_numeric(rows[propensity_column], errors="coerce").astype("float64")
        bad = ~((e > 0) & (e < 1))
        if bad.any():
            rows = rows.loc[~bad.to_numpy()]
            notes.append(f"{int(bad.sum()):,} rows with a logged propensity outside (0, 1) were left out "
                         "(no overlap).")
    if max_rows is not None and len(rows) > max_rows:
        rows = rows.sample(n=max_rows, random_state=seed)
        notes.append(f"A random subsample of {max_rows:,} of {len(data):,} rows (seed {seed}) was used.")
    if rows.empty:
        raise ParameterError("no rows are left after dropping rows with missing values in the columns used.")
    X, design_notes = design_matrix(rows, covariates, log_skewed_covariates=log_skewed_covariates)
    e = (pd.to_numeric(rows[propensity_column], errors="coerce").astype("float64").to_numpy()
         if propensity_column else None)
    return Design(X=X, t=rows[treatment].astype("float64").to_numpy(), y=rows[outcome].astype("float64").to_numpy(),
                  e=e, rows=rows, notes=notes + design_notes)


def accepts_propensity(est: Any) -> bool:
    """Whether an estimator can use a known (logged) propensity."""
    check = getattr(est, "_accepts_propensity", None)
    return bool(check()) if callable(check) else False


def fit_ate(method: str, d: Design, seed: int) -> dict:
    """Fit ``method`` on the design (with the logged propensity when it has one and the estimator
    takes it); its ATE result as a dict, with ``propensity`` saying which propensity it used."""
    from .estimators import make_estimator

    est = make_estimator(method, seed=seed)
    known = d.e is not None and accepts_propensity(est)
    est = est.fit(d.X, d.t, d.y, propensity=d.e) if known else est.fit(d.X, d.t, d.y)
    res = est.result("ate").to_dict()
    res["propensity"] = "logged (known)" if known else ("fitted" if method in ("ipw", "aipw") else "not used")
    return res


def estimate_ate(data: pd.DataFrame, treatment: str, outcome: str, covariates: Sequence[str],
                 methods: Sequence[str], *, propensity_column: str | None = None, seed: int = 0,
                 max_rows: int | None = None, log_skewed_covariates: bool = True) -> dict:
    """Every estimator's ATE of ``treatment`` on ``outcome`` (a list of result dicts, in the order
    of ``methods``) on one design (:func:`prepare_design`), and the design's notes."""
    if not methods:
        raise ParameterError("choose at least one estimator.")
    d = prepare_design(data, treatment, outcome, covariates, propensity_column=propensity_column, seed=seed,
                       max_rows=max_rows, log_skewed_covariates=log_skewed_covariates)
    return {"results": [fit_ate(m, d, seed) for m in methods], "notes": d.notes, "n": len(d.t)}
