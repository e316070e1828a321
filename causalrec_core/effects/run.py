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
>>> [r["method"] for r in out["results"]], out["results"][1]["propensity"], out["errors"]
(['naive', 'aipw'], 'fitted', [])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from causalrec_core.errors import CausalRecError, EstimationError, ParameterError

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
        raise ParameterError(f"covariates {', '.join(map(str, missing_cov))} are not columns of the data; available columns: "
                             + ", ".join(map(str, data.columns)) + ".")
    missing = [c for c in dict.fromkeys(needed) if c not in data.columns]
    if missing:
        raise ParameterError(f"columns {', '.join(map(str, missing))} are not in the data; available columns: "
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


def constant_outcome_arms(d: Design) -> list[tuple[int, float, int]]:
    """The arms (0 = control, 1 = treated) in which the outcome takes one value only: (arm, that
    value, number of units) for each, in arm order."""
    out = []
    for arm in (0, 1):
        ys = d.y[d.t == arm]
        if len(ys) and np.all(ys == ys[0]):
            out.append((arm, float(ys[0]), len(ys)))
    return out


def explain_failure(method: str, error: Exception, d: Design, treatment: str, outcome: str) -> str:
    """Why ``method`` could not be fitted, in words. A binary outcome that is constant within an arm
    (e.g. no purchase ever happens without a view) gets a plain explanation naming the columns and
    the estimators that do not need an outcome model; other errors keep their own message."""
    message = str(error)
    arms = constant_outcome_arms(d)
    if "target is constant" in message and "outcome model" in message and arms:
        arm, value, n = arms[0]
        units = f"the {n:,} units with {treatment} = {arm} ({'not ' if arm == 0 else ''}{treatment})"
        return (f"{outcome} is always {value:g} among {units}, so the outcome model of that arm cannot be fitted "
                f"and {method} needs it; the naive difference and IPW do not need an outcome model.")
    return message


def estimate_ate(data: pd.DataFrame, treatment: str, outcome: str, covariates: Sequence[str],
                 methods: Sequence[str], *, propensity_column: str | None = None, seed: int = 0,
                 max_rows: int | None = None, log_skewed_covariates: bool = True) -> dict:
    """Every estimator's ATE of ``treatment`` on ``outcome`` on one design (:func:`prepare_design`).

    Each estimator succeeds or fails on its own: ``results`` holds the result dicts of those that
    succeeded (in the order of ``methods``), ``errors`` one ``{"method", "error"}`` dict per estimator
    that could not be fitted (the reason in words, :func:`explain_failure`); also the design's
    ``notes`` and ``n``.

    Raises
    ------
    ParameterError
        No estimator chosen, or a bad design (see :func:`prepare_design`).
    EstimationError
        Every estimator failed (the message names each one and its reason).
    """
    if not methods:
        raise ParameterError("choose at least one estimator.")
    d = prepare_design(data, treatment, outcome, covariates, propensity_column=propensity_column, seed=seed,
                       max_rows=max_rows, log_skewed_covariates=log_skewed_covariates)
    from .estimators import make_estimator

    methods = list(dict.fromkeys(methods))
    for m in methods:  # an unknown estimator is the caller's error, raised before any fit
        make_estimator(m, seed=seed)
    results, errors = [], []
    for m in methods:
        try:
            results.append(fit_ate(m, d, seed))
        except CausalRecError as e:
            errors.append({"method": m, "error": explain_failure(m, e, d, treatment, outcome)})
    if not results:
        raise EstimationError("no estimator could be fitted: " + " ".join(
            f"{e['method']}: {e['error']}" for e in errors))
    return {"results": results, "errors": errors, "notes": d.notes, "n": len(d.t)}
