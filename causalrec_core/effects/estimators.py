r"""Average treatment effect estimators that share one scikit-learn-style contract.

Every estimator stores its keyword arguments in ``__init__`` and nothing else;
``fit(X, t, y, *, sample_weight=None, propensity=None)`` validates the data, estimates the ATE and
the ATT with standard errors and confidence intervals, and returns ``self``. Learned attributes end
in ``_`` (``ate_``, ``att_``, ``se_ate_``, ``ci_ate_``, ``n_``, ...); reading one before ``fit``
raises :class:`~causalrec_core.errors.NotFittedError`. ``result('ate' | 'att')`` packages one
estimate as an :class:`EffectResult` with its assumptions in plain language.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(2000, 2))
>>> t = (rng.random(2000) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
>>> y = 1.0 * t + X[:, 0] + rng.normal(size=2000)
>>> est = AIPW(seed=0).fit(X, t, y)
>>> abs(est.ate_ - 1.0) < 4 * est.se_ate_, est.result("ate").ci_method
(True, 'influence_function')

Estimators (registry :data:`ESTIMATORS`)
----------------------------------------
==============  ===========================================================  =====================
name            estimate                                                     intervals
==============  ===========================================================  =====================
``naive``       difference in (weighted) means, no adjustment                Welch (analytic) |
                                                                             bootstrap
``regression``  outcome regression / g-computation: one outcome model per    sandwich (analytic,
                arm (``learner='linear'``: OLS for continuous y, logistic     linear only) |
                for binary y; ``'gbm'``: histogram gradient boosting),        bootstrap
                averaged over the units of the estimand
``ipw``         inverse propensity weighting, Hajek (``normalize=True``) or   influence function
                Horvitz-Thompson; clipped propensities                       (M-estimation) |
                                                                             bootstrap
``aipw``        augmented IPW (doubly robust) with K-fold cross-fitting      influence function |
                                                                             bootstrap
``matching``    nearest-neighbour matching with replacement on the logit of   Abadie-Imbens
                the propensity score or on Mahalanobis distance, optional    (analytic) |
                regression bias correction                                    bootstrap
==============  ===========================================================  =====================

Units are rows; ``t`` is a 0/1 treatment; ``y`` is binary (0/1, detected automatically: logistic
outcome models) or continuous (linear outcome models). ``sample_weight`` are sampling (survey)
weights: every mean is a weighted mean and influence-function variances use
``sum(w_i^2 IF_i^2) / (sum w_i)^2``. ``propensity`` passes known (logged) treatment probabilities,
which are then used instead of a fitted propensity model (``ipw``, ``aipw``, ``matching`` on the
propensity score).

Nuisance models
---------------
``'linear'`` / ``'logistic'`` models are fitted by Newton-Raphson on standardised covariates with
an intercept and a ridge penalty of 1e-6 on the slopes (the same model as scikit-learn's
``LogisticRegression(C=1e6)`` / ``LinearRegression``; the tests check the agreement). The solver is
our own because the bootstrap refits thousands of them at once (below). ``'gbm'`` uses
scikit-learn's ``HistGradientBoostingClassifier`` / ``HistGradientBoostingRegressor`` with
``random_state`` derived from ``seed``.

Standard errors and intervals
-----------------------------
``ci_method='auto'`` picks the estimator's default (first in the table above).

* ``'influence_function'``: estimate +- z * SE with SE = sqrt(sum w^2 IF^2) / sum w. For IPW with a
  fitted logistic propensity the IF is the stacked M-estimation one: IF_tau + grad_beta(tau)' H^-1
  s_i, with s_i the propensity score equation of unit i and H its Hessian, so the estimation of the
  propensity is accounted for (it shrinks the SE of the Hajek ATE). With a ``'gbm'`` propensity no
  such IF exists and IPW requires the bootstrap. AIPW's IF ignores nuisance estimation, which is
  valid because of cross-fitting and the orthogonality of its score.
* ``'analytic'``: Welch (naive; t quantiles with Welch-Satterthwaite df), the sandwich of the
  g-formula with the outcome models' estimation accounted for (regression, linear learner), the
  Abadie-Imbens (2006) variance (matching).
* ``'bootstrap'``: nonparametric bootstrap of units with ``n_bootstrap`` replicates; SE = standard
  deviation of the replicates, percentile interval. EVERY nuisance model is refitted in EVERY
  replicate (no fitted model is reused across replicates); cross-fitting keeps each unit's fold,
  so the copies of a unit never sit on both sides of a split. Replicate b's resample is drawn from
  its own generator (``SeedSequence(seed)`` spawned), so results do not depend on ``n_jobs``.

  Fast path: when every nuisance model is linear/logistic (or the propensity is known), replicates
  are computed as weighted refits on the original rows (weight = times drawn), vectorised over
  blocks of replicates in float32 (sums in float64), in ``n_jobs`` threads. Each replicate's models
  are refitted by Newton's method warm-started at the full-sample fit: the first step for all
  replicates costs one matrix product (the gradient and Hessian at the warm start are linear in
  the replicate weights). ``bootstrap_refit='newton'`` iterates to convergence (largest
  standardised coefficient step < 1e-5; each further step is a full pass over the rows);
  ``'one_step'`` stops after that first step - the classical one-step bootstrap: Newton converges
  quadratically and the warm start is O(n^-1/2) away, so the coefficients are within O(1/n) of the
  converged refit (bench/bench_effects.py measures the difference: ~1e-4 SE on interval endpoints
  at 100,000 units, while at 3,000 units replicate estimates can differ by ~0.1 SE). The default
  ``'auto'`` is 'newton' below 100,000 units and 'one_step' from there. Linear outcome models are
  refitted exactly by either mode. Other learners (``'gbm'``) and ``naive`` / ``matching``
  refit on the resampled rows themselves (slow path; the same replicates as the fast path).
  Note that for nearest-neighbour matching with a fixed number of matches the bootstrap is not
  consistent (Abadie and Imbens, 2008); prefer its analytic SE.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import special, stats
from threadpoolctl import threadpool_limits

from causalrec_core.errors import EstimationError, ParameterError, invalid_choice, out_of_range
from causalrec_core.params import ParamsMixin

__all__ = [
    "AIPW",
    "CI_METHODS",
    "ESTIMATORS",
    "EffectEstimator",
    "EffectResult",
    "IPW",
    "Matching",
    "NaiveDifference",
    "OutcomeRegression",
    "make_estimator",
]

Estimand = Literal["ate", "att"]
ESTIMANDS: tuple[str, ...] = ("ate", "att")
CI_METHODS: tuple[str, ...] = ("influence_function", "bootstrap", "analytic")
LEARNERS: tuple[str, ...] = ("linear", "gbm")
PROPENSITY_LEARNERS: tuple[str, ...] = ("logistic", "gbm")
BOOTSTRAP_REFITS: tuple[str, ...] = ("auto", "newton", "one_step")

_RIDGE = 1e-6  # ridge on standardised slopes (LogisticRegression(C=1e6)); keeps Hessians definite
_POINT_TOL = 1e-10  # Newton tolerance (largest standardised coefficient step) of point fits
_BOOT_TOL = 1e-5  # the same for vectorised float32 bootstrap refits
_MAX_NEWTON = 100
_CHUNK_ROWS = 2048  # rows per kernel call in the vectorised bootstrap (keeps temporaries in cache)
_MAX_FAILED_SHARE = 0.1  # more failed bootstrap replicates than this is an error
_ONE_STEP_MIN_N = 100_000  # bootstrap_refit='auto' uses one Newton step from this many units on


# ============================================================================ result object


@dataclass(frozen=True)
class EffectResult:
    """One effect estimate with its uncertainty and the assumptions it rests on.

    Attributes
    ----------
    estimand : {'ate', 'att'}
        Average treatment effect over all units, or over the treated units.
    estimate, se : float
        Point estimate and its standard error.
    ci_low, ci_high : float
        Confidence interval at ``level``.
    ci_method : {'influence_function', 'bootstrap', 'analytic'}
        How ``se`` and the interval were computed.
    n : int
        Number of units (rows) used.
    method : str
        Registry name of the estimator (``'aipw'``, ...).
    assumptions : list of str
        Plain-language statements the estimate is causal under.
    notes : list of str
        What was done (clipping, folds, failed replicates, ...).
    level : float
        Confidence level of the interval.
    """

    estimand: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    ci_method: str
    n: int
    method: str
    assumptions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    level: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of every field."""
        return asdict(self)


# ============================================================================ validated data


@dataclass(frozen=True, eq=False)
class _Data:
    """Validated inputs as float64 arrays; ``folds`` is set by cross-fitting estimators."""

    X: np.ndarray
    t: np.ndarray
    y: np.ndarray
    w: np.ndarray
    e: np.ndarray | None
    binary: bool
    weighted: bool
    folds: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.t)

    def take(self, idx: np.ndarray) -> _Data:
        return _Data(
            self.X[idx], self.t[idx], self.y[idx], self.w[idx],
            None if self.e is None else self.e[idx], self.binary, self.weighted,
            None if self.folds is None else self.folds[idx],
        )

    def with_folds(self, folds: np.ndarray) -> _Data:
        return _Data(self.X, self.t, self.y, self.w, self.e, self.binary, self.weighted, folds)


def _finite_1d(name: str, values: Any) -> np.ndarray:
    if isinstance(values, (pd.Series, pd.Index)):
        values = values.to_numpy()
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ParameterError(f"{name} is invalid: it must be 1-D with one value per unit; got shape {arr.shape}.")
    if arr.dtype == bool:
        arr = arr.astype(np.float64)
    try:
        out = arr.astype(np.float64)
    except (TypeError, ValueError):
        found = ", ".join(repr(v) for v in pd.unique(arr)[:5])
        raise ParameterError(f"{name} is invalid: it must be numeric; found values: {found}.") from None
    bad = ~np.isfinite(out)
    if bad.any():
        raise ParameterError(
            f"{name} has {int(bad.sum())} missing or infinite values (first at row {int(np.argmax(bad))}); "
            "drop or impute them before fitting."
        )
    return out


def _validate_X(X: Any) -> tuple[np.ndarray, list[str] | None]:
    names = None
    if isinstance(X, pd.DataFrame):
        names = [str(c) for c in X.columns]
        bad = [str(c) for c in X.columns if not (pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c]))]
        if bad:
            raise ParameterError(
                f"X is invalid: every covariate must be numeric; non-numeric columns: {bad}. "
                "Encode categories (e.g. one-hot) first."
            )
        arr = X.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        arr = np.asarray(X)
        if arr.ndim != 2:
            raise ParameterError(
                f"X is invalid: it must be 2-D (units x covariates); got shape {arr.shape}. "
                "Use X.reshape(-1, 1) for a single covariate."
            )
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise ParameterError("X is invalid: every covariate must be numeric.") from None
    bad = ~np.isfinite(arr)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        where = names[col] if names else f"column {col}"
        raise ParameterError(
            f"X has {int(bad.sum())} missing or infinite values (first in {where}, row {int(row)}); "
            "drop or impute them before fitting."
        )
    return np.ascontiguousarray(arr), names


def _validate_data(X: Any, t: Any, y: Any, sample_weight: Any, propensity: Any) -> tuple[_Data, list[str] | None]:
    Xa, names = _validate_X(X)
    ta = _finite_1d("t", t)
    ya = _finite_1d("y", y)
    lengths = {"X": len(Xa), "t": len(ta), "y": len(ya)}
    wa = None if sample_weight is None else _finite_1d("sample_weight", sample_weight)
    ea = None if propensity is None else _finite_1d("propensity", propensity)
    if wa is not None:
        lengths["sample_weight"] = len(wa)
    if ea is not None:
        lengths["propensity"] = len(ea)
    if len(set(lengths.values())) > 1:
        got = ", ".join(f"{k}={v}" for k, v in lengths.items())
        raise ParameterError(f"X, t, y (and weights/propensities) must have one row per unit; got lengths {got}.")
    values = np.unique(ta)
    if not np.isin(values, (0.0, 1.0)).all():
        found = ", ".join(f"{v:g}" for v in values[:6]) + (", ..." if len(values) > 6 else "")
        raise ParameterError(f"t must be a binary 0/1 treatment; found values: {found}.")
    if wa is not None and ((wa < 0).any() or wa.sum() <= 0):
        raise ParameterError("sample_weight is invalid: it must be non-negative with a positive sum.")
    if ea is not None and ((ea < 0) | (ea > 1)).any():
        raise ParameterError(
            f"propensity is invalid: it must lie in [0, 1]; found range [{ea.min():g}, {ea.max():g}]."
        )
    w = np.ones(len(ta)) if wa is None else wa
    n1, n0 = float(w[ta == 1].sum()), float(w[ta == 0].sum())
    if n1 <= 0 or n0 <= 0:
        raise EstimationError(
            f"cannot estimate an effect: t has no {'treated' if n1 <= 0 else 'control'} units "
            "(with positive weight)."
        )
    binary = bool(np.isin(np.unique(ya), (0.0, 1.0)).all())
    return _Data(Xa, ta, ya, w, ea, binary, wa is not None), names


# ============================================================================ GLM nuisances


def _standardizer(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    center = X.mean(axis=0) if len(X) else np.zeros(X.shape[1])
    scale = X.std(axis=0) if len(X) else np.ones(X.shape[1])
    scale = np.where((scale > 0) & np.isfinite(scale), scale, 1.0)
    return center, scale


def _design(X: np.ndarray, center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    Z = np.empty((len(X), X.shape[1] + 1))
    Z[:, 0] = 1.0
    Z[:, 1:] = (X - center) / scale
    return Z


def _pairs(p: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(p)


def _unpack(hq: np.ndarray, p: int) -> np.ndarray:
    """Symmetric (..., p, p) matrices from their upper triangles (..., p(p+1)/2)."""
    iu = _pairs(p)
    H = np.zeros(hq.shape[:-1] + (p, p))
    H[..., iu[0], iu[1]] = hq
    H[..., iu[1], iu[0]] = hq
    return H


class _DesignMatrix:
    """Covariates of one data set: raw X, the standardisation, Z = [1, standardised X] and the
    pairwise products Q of Z's columns (so a weighted Hessian is one matrix-vector product)."""

    def __init__(self, X: np.ndarray) -> None:
        self.X = X
        self.std = _standardizer(X)
        self._Z: np.ndarray | None = None
        self._Q: np.ndarray | None = None

    @property
    def Z(self) -> np.ndarray:
        if self._Z is None:
            self._Z = _design(self.X, *self.std)
        return self._Z

    @property
    def Q(self) -> np.ndarray:
        if self._Q is None:
            iu = _pairs(self.Z.shape[1])
            self._Q = self.Z[:, iu[0]] * self.Z[:, iu[1]]
        return self._Q


def _ridge(p: int) -> np.ndarray:
    r = np.full(p, _RIDGE)
    r[0] = 0.0  # the intercept is not penalised
    return r


_Part = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # (Z, Q, y, w) rows of one fit


def _fit_glm(Z: np.ndarray, y: np.ndarray, w: np.ndarray, *, binary: bool, what: str,
             beta0: np.ndarray | None = None, Q: np.ndarray | None = None) -> np.ndarray:
    """Weighted linear (OLS) or logistic regression with an unpenalised intercept; coefficients.

    ``Q`` (pairwise products of Z's columns) speeds up the Hessians when given.
    Raises EstimationError when there are no rows, a binary target is constant, or Newton's method
    does not converge (perfect separation).
    """
    if Q is None:
        iu = _pairs(Z.shape[1])
        Q = Z[:, iu[0]] * Z[:, iu[1]]
    return _fit_glm_parts([(Z, Q, y, w)], binary=binary, what=what, beta0=beta0)


def _fit_glm_parts(parts: list[_Part], *, binary: bool, what: str, beta0: np.ndarray | None = None) -> np.ndarray:
    """:func:`_fit_glm` on the union of row blocks (views: cross-fitting needs no row copies)."""
    parts = [pt for pt in parts if len(pt[2])]
    if not parts:
        raise EstimationError(f"cannot fit the {what}: no units.")
    p = parts[0][0].shape[1]
    ridge = _ridge(p)
    sw = sum(float(w.sum()) for _, _, _, w in parts)
    if sw <= 0:
        raise EstimationError(f"cannot fit the {what}: no units with positive weight.")
    if not binary:
        A = sum(w @ Q for _, Q, _, w in parts)
        b = sum((w * y) @ Z for Z, _, y, w in parts)
        return np.linalg.solve(_unpack(A, p) + np.diag(ridge), b)
    ybar = sum(float(w @ y) for _, _, y, w in parts) / sw
    if ybar <= 0 or ybar >= 1:
        raise EstimationError(f"cannot fit the {what}: its binary target is constant ({ybar:g}) on its units.")
    if beta0 is None:
        beta = np.zeros(p)
        beta[0] = math.log(ybar / (1 - ybar))
    else:
        beta = np.array(beta0, dtype=np.float64)

    def loss(b: np.ndarray) -> float:
        total = 0.5 * float(ridge @ (b * b))
        for Z, _, y, w in parts:
            eta = Z @ b
            total += float(w @ (np.logaddexp(0.0, eta) - y * eta))
        return total

    for _ in range(_MAX_NEWTON):
        grad = -ridge * beta
        hq = np.zeros(p * (p + 1) // 2)
        for Z, Q, y, w in parts:
            mu = special.expit(Z @ beta)
            grad += (w * (y - mu)) @ Z
            mu *= 1 - mu
            mu *= w
            hq += mu @ Q
        try:
            step = np.linalg.solve(_unpack(hq, p) + np.diag(ridge), grad)
        except np.linalg.LinAlgError:
            raise EstimationError(f"cannot fit the {what}: singular Hessian.") from None
        size = 1.0
        if np.max(np.abs(step)) > 0.5:  # far from the optimum: step halving guards against overshoot
            current = loss(beta)
            while loss(beta + size * step) > current + 1e-12 * abs(current) and size > 1e-10:
                size /= 2
        beta = beta + size * step
        if np.max(np.abs(size * step)) < _POINT_TOL:
            return beta
    raise EstimationError(
        f"cannot fit the {what}: Newton's method did not converge in {_MAX_NEWTON} steps "
        "(perfect separation of the outcome by the covariates?)."
    )


def _mean_fn(eta: np.ndarray, binary: bool) -> np.ndarray:
    return special.expit(eta) if binary else eta


def _gbm(binary: bool, seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingClassifier if binary else HistGradientBoostingRegressor
    return cls(random_state=seed)


@dataclass
class _Nuisance:
    """One fitted nuisance model: GLM coefficients on the design's standardisation, or a sklearn model."""

    binary: bool
    beta: np.ndarray | None = None
    model: Any = None

    def predict(self, design: _DesignMatrix, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        if self.beta is not None:
            return _mean_fn(design.Z[rows] @ self.beta, self.binary)
        X = design.X[rows]
        if len(X) == 0:
            return np.empty(0)
        return self.model.predict_proba(X)[:, 1] if self.binary else self.model.predict(X)


def _fit_nuisance(kind: str, design: _DesignMatrix, target: np.ndarray, w: np.ndarray,
                  rows: np.ndarray | list[slice] | None, *, binary: bool, seed: int, what: str,
                  beta0: np.ndarray | None = None) -> _Nuisance:
    """Fit a nuisance model of ``kind`` ('linear'/'logistic' or 'gbm') on ``rows``: an index
    array, a list of slices (row blocks) or None (all rows)."""
    if rows is None:
        sels: list[Any] = [slice(None)]
    elif isinstance(rows, list):
        sels = rows
    else:
        sels = [rows]
    if kind == "gbm":
        sub_w = np.concatenate([w[s] for s in sels])
        sub_y = np.concatenate([target[s] for s in sels])
        if sub_w.sum() <= 0:
            raise EstimationError(f"cannot fit the {what}: no units with positive weight.")
        if binary and len(np.unique(sub_y[sub_w > 0])) < 2:
            raise EstimationError(f"cannot fit the {what}: its binary target is constant on its units.")
        X = np.concatenate([design.X[s] for s in sels])
        return _Nuisance(binary, model=_gbm(binary, seed).fit(X, sub_y, sample_weight=sub_w))
    parts = [(design.Z[s], design.Q[s], target[s], w[s]) for s in sels]
    return _Nuisance(binary, beta=_fit_glm_parts(parts, binary=binary, what=what, beta0=beta0))


_COLLINEAR_TOL = 1e-9  # singular values of the standardised covariates below this x the largest: collinear


def _covariate_problem(X: np.ndarray, names: list[str] | None, label: str, whole: bool) -> str | None:
    """Why a regression on [1, X] is not identified on these rows, in words, or None when it is.

    Checks, in this order: covariates that are constant on the rows (naming them and their value),
    fewer rows than coefficients, and perfectly collinear covariates (naming those that take part
    in an exact linear relation, found from the null space of the centred, standardised X).
    ``label`` says what the rows are ('units', 'treated units'); ``whole``: they are all the units.
    """
    n, p = X.shape
    if p == 0 or n == 0:
        return None
    units = f"{'all ' if whole else 'the '}{n} {label}"
    cols = names if names is not None else [f"column {j}" for j in range(p)]
    spread = X.max(axis=0) - X.min(axis=0)
    constant = np.flatnonzero(spread <= 1e-12 * np.maximum(np.abs(X).max(axis=0), 1.0))
    if constant.size:
        items = [f"{cols[j]!r} (every value {X[0, j]:.4g})" for j in constant]
        listed = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
        many = len(items) > 1
        why = "no information about the treatment or the outcome" if whole else "no information within this arm"
        return (f"the covariate{'s' if many else ''} {listed} {'are' if many else 'is'} constant on {units}"
                + (" (every covariate is)" if constant.size == p and p > 1 else "")
                + f", so {'they carry' if many else 'it carries'} {why} and "
                + ("their coefficients" if many else "its coefficient") + " cannot be estimated")
    if n < p + 1:
        return (f"there {'are' if n > 1 else 'is'} only {n} {label} for {p} covariate(s) plus an intercept, fewer "
                f"than the {p + 1} coefficients of the model")
    Zc = (X - X.mean(axis=0)) / X.std(axis=0)
    _, sv, vt = np.linalg.svd(Zc, full_matrices=False)
    null = vt[sv <= _COLLINEAR_TOL * sv[0]]
    if len(null):
        involved = [cols[j] for j in range(p) if np.abs(null[:, j]).max() > 1e-6]
        return (f"the covariates {', '.join(map(str, involved))} are perfectly collinear on {units} (one is an exact linear "
                "combination of the others), so their separate coefficients cannot be estimated")
    return None


def _check_covariates(X: np.ndarray, names: list[str] | None, w: np.ndarray,
                      fits: list[tuple[str, np.ndarray, str]]) -> None:
    """Raise EstimationError when a covariate model (``fits``: what it is, the mask of its rows, what
    its rows are) is not identified: constant or perfectly collinear covariates, or too few units."""
    for what, mask, label in fits:
        whole = bool(mask.all())
        problem = _covariate_problem(X[mask & (w > 0)], names, label, whole)
        if problem is None:
            continue
        if "constant" in problem:
            advice = ("Remove the constant covariates from the adjustment set (with no covariate left nothing is "
                      "adjusted for: regression and IPW then give the unadjusted difference in means), or use data in "
                      "which they vary." if whole else
                      "Remove that covariate from the adjustment set, or use data in which it varies within each arm.")
        elif "collinear" in problem:
            advice = "Remove one of the collinear covariates from the adjustment set."
        else:
            advice = "Choose fewer covariates or use more data."
        raise EstimationError(f"cannot fit the {what}: {problem}. {advice}")


def _solve_if(hess: np.ndarray, rhs: np.ndarray, what: str) -> np.ndarray:
    """H^-1 rhs for an influence function; EstimationError when H is (numerically) singular."""
    try:
        if np.linalg.cond(hess) > 1e12:
            raise np.linalg.LinAlgError
        return np.linalg.solve(hess, rhs)
    except np.linalg.LinAlgError:
        raise EstimationError(
            f"cannot compute the standard error: the Hessian of the {what} is singular (its covariates are "
            "constant or perfectly collinear on its units, or its fitted probabilities are all 0 or 1). "
            "Remove the constant or collinear covariates, or use ci_method='bootstrap'."
        ) from None


def _logistic_if(Z: np.ndarray, t: np.ndarray, w: np.ndarray, e_raw: np.ndarray) -> np.ndarray:
    """Influence functions (n, p) of logistic propensity coefficients: H^-1 (t_i - e_i) z_i."""
    hess = (Z * (w * e_raw * (1 - e_raw))[:, None]).T @ Z / w.sum()
    return _solve_if(hess, (Z * (t - e_raw)[:, None]).T, "propensity model").T


def _glm_if(Z: np.ndarray, y: np.ndarray, w: np.ndarray, mu: np.ndarray, arm: np.ndarray, binary: bool) -> np.ndarray:
    """Influence functions (n, p) of an outcome GLM's coefficients fitted on the rows ``arm`` == 1."""
    v = mu * (1 - mu) if binary else np.ones_like(mu)
    hess = (Z * (w * arm * v)[:, None]).T @ Z / w.sum()
    return _solve_if(hess, (Z * (arm * (y - mu))[:, None]).T, "outcome model").T


def _stratified_folds(t: np.ndarray, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    folds = np.empty(len(t), dtype=np.int64)
    for arm in (0.0, 1.0):
        idx = np.flatnonzero(t == arm)
        folds[idx[rng.permutation(len(idx))]] = np.arange(len(idx)) % n_folds
    return folds


def _wmean(a: np.ndarray, w: np.ndarray) -> float:
    return float(w @ a / w.sum())


def _if_se(infl: np.ndarray, w: np.ndarray) -> float:
    return float(np.sqrt(np.sum((w * infl) ** 2)) / w.sum())


def _clip_note(clip: tuple[float, float] | None, n_clipped: int) -> str:
    if clip is None:
        return "overlap: every unit has a propensity strictly between 0 and 1 (no clipping)"
    return f"overlap: propensities clipped to [{clip[0]:g}, {clip[1]:g}] ({n_clipped} units affected)"


# ============================================================================ estimate record


@dataclass
class _Estimate:
    """What one estimator computes on one data set (the full sample or a bootstrap resample)."""

    ate: float
    att: float
    if_ate: np.ndarray | None = None
    if_att: np.ndarray | None = None
    se_ate: float | None = None
    se_att: float | None = None
    df: float | None = None  # t quantiles (Welch) when set
    attrs: dict[str, Any] = field(default_factory=dict)
    assumptions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    families: list[_Family] = field(default_factory=list)  # GLM warm starts for the fast bootstrap

    def layout_design(self, layout: _Layout) -> np.ndarray:
        """Z = [1, standardised X] in ``layout`` order (for the vectorised bootstrap)."""
        if self.z_layout is not None:
            return self.z_layout
        return self.design.Z[layout.order]
    design: _DesignMatrix | None = None
    z_layout: np.ndarray | None = None  # the design in bootstrap layout order, when already at hand


# ============================================================================ vectorised bootstrap


@dataclass
class _Family:
    """A GLM nuisance fitted once per fold (or once): the warm start of its bootstrap refits.

    ``arms`` are the treatment arms whose rows train it; ``target`` is 't' or 'y'; ``beta`` has one
    row of standardised coefficients per fold (one row without cross-fitting).
    """

    name: str
    arms: tuple[int, ...]
    target: str
    binary: bool
    beta: np.ndarray


class _Layout:
    """Rows sorted by (fold, arm): every (fold, arm) block is a contiguous slice.

    Bootstrap draws are positions in this order (``order[u]`` are the rows drawn), so the
    vectorised path counts draws with one ``bincount`` and the row-resampling path takes
    ``order[u]``: both see the same replicates.
    """

    def __init__(self, t: np.ndarray, folds: np.ndarray | None, n_folds: int) -> None:
        self.crossfit = folds is not None
        self.K = n_folds if self.crossfit else 1
        fold = folds if folds is not None else np.zeros(len(t), dtype=np.int64)
        key = fold * 2 + t.astype(np.int64)
        self.order = np.argsort(key, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(np.bincount(key, minlength=2 * self.K))])
        self.blocks = [(j, a, int(bounds[2 * j + a]), int(bounds[2 * j + a + 1]))
                       for j in range(self.K) for a in (0, 1)]

    def trained_by(self, j: int) -> list[int]:
        """Fold models whose training set contains the rows of fold ``j``."""
        return [k for k in range(self.K) if k != j] if self.crossfit else [0]

    def evaluated_by(self, j: int) -> int:
        """The fold model that predicts the rows of fold ``j``."""
        return j if self.crossfit else 0


def _draws(ss: np.random.SeedSequence, n: int) -> np.ndarray:
    """One bootstrap replicate: n positions drawn with replacement (in layout order)."""
    return np.random.default_rng(ss).integers(0, n, n)


def _expit32(x: np.ndarray) -> np.ndarray:
    """In-place float32 logistic function, 1 / (1 + exp(-x)) = (1 + tanh(x / 2)) / 2."""
    x *= 0.5
    np.tanh(x, out=x)
    x *= 0.5
    x += 0.5
    return x


def _wsum(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Row sums of a * w (float32 within a chunk, returned as float64)."""
    return np.einsum("ij,ij->i", a, w).astype(np.float64)


#: (engine, W, refitted betas) -> (Rc, 2) array of (ate, att) per replicate of a block.
_Evaluate = Callable[["_BootstrapEngine", np.ndarray, dict[str, np.ndarray]], np.ndarray]


class _BootstrapEngine:
    """Refits GLM nuisance families for blocks of bootstrap replicates at once.

    A block of ``Rc`` replicates is a float32 matrix W (Rc x n) of weights (times drawn x sample
    weight) in layout order. For each family and fold model, the warm-start Newton step uses
    per-row gradient and Hessian terms F precomputed at the full-sample fit: one product W @ F
    gives every replicate's gradient and Hessian there. Further Newton steps
    (``refit='newton'``) evaluate each replicate's model row by row. ``evaluate``
    (estimator-specific) turns the refitted coefficients into (ate, att) per replicate.
    """

    def __init__(self, data: _Data, layout: _Layout, Z: np.ndarray,
                 families: list[_Family], refit: str, evaluate: _Evaluate) -> None:
        o = layout.order
        self.layout, self.families, self.refit, self.evaluate_fn = layout, families, refit, evaluate
        self.n = data.n
        self.p = Z.shape[1]
        self.iu = _pairs(self.p)
        self.q = len(self.iu[0])
        self.m = self.p + self.q + 2
        self.Zt = np.ascontiguousarray(Z.T, dtype=np.float32)  # (p, n): BLAS-friendly row slices
        self.Qt = np.ascontiguousarray((Z[:, self.iu[0]] * Z[:, self.iu[1]]).T, dtype=np.float32)
        self.y32 = data.y[o].astype(np.float32)
        self.t32 = data.t[o].astype(np.float32)
        self.w32 = data.w[o].astype(np.float32) if data.weighted else None
        self.e32 = None if data.e is None else data.e[o].astype(np.float32)
        self.F = {fam.name: self._warm_terms(fam, Z, data.t[o] if fam.target == "t" else data.y[o])
                  for fam in families}

    # -- warm start ------------------------------------------------------------------------------
    def _warm_terms(self, fam: _Family, Z: np.ndarray, target: np.ndarray) -> dict[tuple[int, int, int], np.ndarray]:
        """Per block, the (cols, rows) float32 terms z (y - mu), vech(z z') v, 1, y of each fold model."""
        p, q, m = self.p, self.q, self.m
        out = {}
        for j, a, s, e in self.layout.blocks:
            if a not in fam.arms or e == s:
                continue
            ks = self.layout.trained_by(j)
            Zt, Qt, yb = self.Zt[:, s:e], self.Qt[:, s:e], target[s:e]
            Ft = np.empty((len(ks) * m, e - s), dtype=np.float32)
            for i, k in enumerate(ks):
                mu = _mean_fn(Z[s:e] @ fam.beta[k], fam.binary)
                v = mu * (1 - mu) if fam.binary else np.ones_like(mu)
                np.multiply(Zt, (yb - mu).astype(np.float32), out=Ft[i * m:i * m + p])
                np.multiply(Qt, v.astype(np.float32), out=Ft[i * m + p:i * m + p + q])
                Ft[i * m + p + q] = 1.0
                Ft[i * m + p + q + 1] = yb
            out[(j, s, e)] = Ft
        return out

    def _hessian(self, Hq: np.ndarray, valid: np.ndarray) -> np.ndarray:
        H = _unpack(Hq, self.p) + np.diag(_ridge(self.p))
        H[:, ~valid] = np.eye(self.p)  # invalid replicates: any definite matrix (their steps are zeroed)
        return H

    @staticmethod
    def _newton_step(H: np.ndarray, grad: np.ndarray, valid: np.ndarray) -> np.ndarray:
        delta = np.linalg.solve(H, grad[..., None])[..., 0]
        delta[:, ~valid] = 0.0
        return delta

    def _refit(self, fam: _Family, W: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Refitted coefficients (K, Rc, p) of one family; marks replicates it cannot fit invalid."""
        K, p, q, m, Rc = self.layout.K, self.p, self.q, self.m, W.shape[0]
        S = np.zeros((K, Rc, m))
        for (j, s, e), Ft in self.F[fam.name].items():
            block = (Ft @ W[:, s:e].T).astype(np.float64)  # (cols, Rc)
            for i, k in enumerate(self.layout.trained_by(j)):
                S[k] += block[i * m:(i + 1) * m].T
        # a replicate whose training set lacks units (or, for a binary target, events) is invalid
        total, events = S[:, :, p + q], S[:, :, p + q + 1]
        ok = total > 0
        if fam.binary:
            ok &= (events > 0) & (events < total)
        valid &= ok.all(axis=0)
        ridge = _ridge(p)
        beta = np.repeat(fam.beta[:, None, :], Rc, axis=1)  # (K, Rc, p)
        beta = beta + self._newton_step(self._hessian(S[:, :, p:p + q], valid), S[:, :, :p] - ridge * beta, valid)
        if not fam.binary or self.refit == "one_step":
            return beta  # weighted least squares: one step from any start is exact
        target = self.t32 if fam.target == "t" else self.y32
        for _ in range(_MAX_NEWTON):
            g = np.zeros((K, Rc, p))
            Hq = np.zeros((K, Rc, q))
            b32 = beta.astype(np.float32)
            for j, _a, s, e in self.chunks(fam.arms):
                Zt, Qt, ys, Ws = self.Zt[:, s:e], self.Qt[:, s:e], target[s:e], W[:, s:e]
                for k in self.layout.trained_by(j):
                    mu = _expit32(b32[k] @ Zt)
                    v = 1 - mu
                    v *= mu
                    v *= Ws
                    np.subtract(ys, mu, out=mu)
                    mu *= Ws
                    g[k] += mu @ Zt.T
                    Hq[k] += v @ Qt.T
            delta = self._newton_step(self._hessian(Hq, valid), g - ridge * beta, valid)
            beta = beta + delta
            if np.max(np.abs(delta), initial=0.0) < _BOOT_TOL:
                return beta
        raise EstimationError("bootstrap refits did not converge (perfect separation in a resample?).")

    # -- helpers for evaluate functions ------------------------------------------------------------
    def chunks(self, arms: tuple[int, ...] = (0, 1)) -> Iterator[tuple[int, int, int, int]]:
        """(fold, arm, start, stop) row chunks in layout order."""
        for j, a, s, e in self.layout.blocks:
            if a in arms:
                for c in range(s, e, _CHUNK_ROWS):
                    yield j, a, c, min(e, c + _CHUNK_ROWS)

    def predict(self, betas: np.ndarray, fold: int, s: int, e: int, binary: bool) -> np.ndarray:
        """(Rc, rows) float32 predictions of the fold model that evaluates fold ``fold``."""
        eta = betas[self.layout.evaluated_by(fold)].astype(np.float32) @ self.Zt[:, s:e]
        return _expit32(eta) if binary else eta

    def propensity(self, betas: dict[str, np.ndarray], fold: int, s: int, e: int,
                   clip: tuple[float, float] | None, shape: tuple[int, int]) -> np.ndarray:
        """(Rc, rows) clipped propensities: the known ones, or the refitted model's."""
        lo, hi = clip if clip is not None else (0.0, 1.0)
        if self.e32 is not None:
            return np.broadcast_to(np.clip(self.e32[s:e], lo, hi), shape)
        return np.clip(self.predict(betas["propensity"], fold, s, e, True), lo, hi, out=None)

    def weighted_chunks(self, W: np.ndarray, betas: dict[str, np.ndarray], clip: tuple[float, float] | None,
                        ) -> Iterator[tuple[int, int, int, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """``chunks()`` plus what the IPW and AIPW evaluations use: (fold, arm, start, stop, Ws, ys, E, ws) with
        the (Rc, rows) weights Ws, outcomes ys, clipped propensities E and the weight sums ws (float64)."""
        for j, a, s, e in self.chunks():
            Ws = W[:, s:e]
            E = self.propensity(betas, j, s, e, clip, Ws.shape)
            yield j, a, s, e, Ws, self.y32[s:e], E, Ws.sum(axis=1, dtype=np.float64)

    # -- one block of replicates ---------------------------------------------------------------------
    def run(self, seeds: list[np.random.SeedSequence]) -> np.ndarray:
        Rc, n = len(seeds), self.n
        W = np.empty((Rc, n), dtype=np.float32)
        for r, ss in enumerate(seeds):
            W[r] = np.bincount(_draws(ss, n), minlength=n)
        if self.w32 is not None:
            W *= self.w32
        treated = sum((W[:, s:e].sum(axis=1, dtype=np.float64) for _j, a, s, e in self.layout.blocks if a == 1),
                      np.zeros(Rc))
        valid = (treated > 0) & (treated < W.sum(axis=1, dtype=np.float64))
        betas = {fam.name: self._refit(fam, W, valid) for fam in self.families}
        out = self.evaluate_fn(self, W, betas)
        out[~valid] = np.nan
        return out


def _replicate_seeds(seed: int, n_bootstrap: int) -> list[np.random.SeedSequence]:
    return np.random.SeedSequence([int(seed), 0xB007]).spawn(n_bootstrap)


def _n_workers(n_jobs: int | None) -> int:
    cpus = os.cpu_count() or 1
    if n_jobs is None or n_jobs == 0:
        return 1
    return max(1, cpus + 1 + n_jobs) if n_jobs < 0 else min(int(n_jobs), cpus)


def _run_parallel(fn: Callable[[Any], np.ndarray], tasks: list[Any], n_jobs: int | None) -> list[np.ndarray]:
    workers = min(_n_workers(n_jobs), len(tasks))
    if workers <= 1:
        return [fn(task) for task in tasks]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(fn, tasks))


# ============================================================================ base estimator


class EffectEstimator(ParamsMixin):
    """Base class: the contract shared by every effect estimator.

    Subclasses declare ``name``, ``ci_methods`` (the first is the default of ``ci_method='auto'``)
    and implement ``_estimate(data, *, need_se)``; the base class validates, runs the bootstrap and
    sets the learned attributes.

    Learned attributes
    ------------------
    ate_, att_ : float
        Estimates of the average effect over all units / over the treated.
    se_ate_, se_att_ : float
        Their standard errors.
    ci_ate_, ci_att_ : tuple of float
        (low, high) confidence intervals at ``level``.
    ci_method_ : str
        The interval method used.
    n_, n_treated_ : int
        Number of units and of treated units.
    outcome_type_ : {'binary', 'continuous'}
        Detected from ``y``.
    n_features_in_, feature_names_in_ : int, list of str or None
        Covariates seen in ``fit``.
    assumptions_, notes_ : list of str
    bootstrap_draws_ : ndarray (n_bootstrap, 2) or None
        (ate, att) per replicate (NaN where one failed) when ``ci_method='bootstrap'``.
    """

    name: ClassVar[str] = ""
    ci_methods: ClassVar[tuple[str, ...]] = ()

    # -- sklearn-style parameter handling ---------------------------------------------------------

    # -- validation shared by subclasses -------------------------------------------------------------
    def _check_common(self, known_propensity: bool) -> str:
        ci = self.ci_method
        if ci == "auto":
            ci = self._auto_ci(known_propensity)
        elif not isinstance(ci, str) or ci not in self.ci_methods:
            raise invalid_choice("ci_method", ci, ("auto",) + self.ci_methods)
        if not isinstance(self.n_bootstrap, (int, np.integer)) or isinstance(self.n_bootstrap, bool) or self.n_bootstrap < 10:
            raise out_of_range("n_bootstrap", self.n_bootstrap, "an integer >= 10")
        if not isinstance(self.level, (float, int)) or isinstance(self.level, bool) or not 0 < self.level < 1:
            raise out_of_range("level", self.level, "a number strictly between 0 and 1, e.g. 0.95")
        if not isinstance(self.seed, (int, np.integer)) or isinstance(self.seed, bool) or self.seed < 0:
            raise out_of_range("seed", self.seed, "a non-negative integer")
        if self.n_jobs is not None and (not isinstance(self.n_jobs, (int, np.integer)) or isinstance(self.n_jobs, bool)):
            raise out_of_range("n_jobs", self.n_jobs, "an integer (-1 = all cores) or None")
        return ci

    def _check_params(self) -> None:
        """Subclass-specific parameter checks."""

    def _auto_ci(self, known_propensity: bool) -> str:
        """The interval method of ``ci_method='auto'``."""
        return self.ci_methods[0]

    def _accepts_propensity(self) -> bool:
        return False

    def _prepare(self, data: _Data) -> _Data:
        """Hook run once on the full sample (cross-fitting draws its folds here)."""
        return data

    def _covariate_fits(self, data: _Data) -> list[tuple[str, np.ndarray, str]]:
        """The regressions on the covariates that need an identified design: (what, mask of its rows,
        what its rows are). Checked before fitting, so degenerate covariates fail with a clear message."""
        return []

    @staticmethod
    def _all_fit(data: _Data, what: str) -> list[tuple[str, np.ndarray, str]]:
        return [(what, np.ones(data.n, dtype=bool), "units")]

    @staticmethod
    def _arm_fits(data: _Data, what: str) -> list[tuple[str, np.ndarray, str]]:
        return [(f"{what} of the treated arm", data.t == 1, "treated units"),
                (f"{what} of the control arm", data.t == 0, "control units")]

    def _estimate(self, data: _Data, *, need_se: bool) -> _Estimate:  # pragma: no cover - abstract
        raise NotImplementedError

    def _fast_bootstrap(self, data: _Data, est: _Estimate, layout: _Layout, refit: str) -> _BootstrapEngine | None:
        """The vectorised bootstrap engine when every nuisance is a GLM, else None."""
        evaluate = self._bootstrap_evaluate(data, est)
        if evaluate is None:
            return None
        return _BootstrapEngine(data, layout, est.layout_design(layout), est.families, refit, evaluate)

    def _bootstrap_evaluate(self, data: _Data, est: _Estimate) -> _Evaluate | None:
        """The estimator's ``evaluate`` for :class:`_BootstrapEngine`, or None without a vectorised bootstrap."""
        return None

    def _resolved_refit(self, n: int) -> str:
        refit = getattr(self, "bootstrap_refit", "newton")
        if refit == "auto":
            return "newton" if n < _ONE_STEP_MIN_N else "one_step"
        return refit

    def _learner_seed(self) -> int:
        return int(np.random.SeedSequence([int(self.seed), 0x1EA2]).generate_state(1)[0] % (2**31 - 1))

    # -- fit -------------------------------------------------------------------------------------------
    def fit(self, X: Any, t: Any, y: Any, *, sample_weight: Any = None, propensity: Any = None) -> EffectEstimator:
        """Estimate the ATE and ATT of ``t`` on ``y`` adjusting for the covariates ``X``.

        Parameters
        ----------
        X : 2-D array or DataFrame (n_units, n_covariates)
            Numeric covariates (the adjustment set); no missing values.
        t : array (n_units,)
            Binary 0/1 treatment.
        y : array (n_units,)
            Outcome, binary 0/1 or continuous.
        sample_weight : array (n_units,), optional
            Non-negative sampling weights.
        propensity : array (n_units,), optional
            Known treatment probabilities (e.g. logged by the recommender), used instead of a
            fitted propensity model. Only for estimators that use one.

        Returns
        -------
        self

        Raises
        ------
        ParameterError
            Invalid parameters, non-binary ``t``, mismatched lengths, missing values, or
            ``propensity`` given to an estimator that does not use it.
        EstimationError
            No treated or no control units; covariates that a regression of the estimator (propensity
            or outcome model) cannot use - constant or perfectly collinear on its units, or more
            coefficients than units (the message names them and says what to change); a nuisance
            model that cannot be fitted; or too many failed bootstrap replicates.
        """
        self._check_params()
        ci_method = self._check_common(propensity is not None)
        if propensity is not None and not self._accepts_propensity():
            raise ParameterError(
                f"propensity is not used by {self.name!r} with these parameters; omit it or choose "
                "an estimator that weights or matches on the propensity ('ipw', 'aipw', 'matching')."
            )
        data, names = _validate_data(X, t, y, sample_weight, propensity)
        _check_covariates(data.X, names, data.w, self._covariate_fits(data))
        data = self._prepare(data)
        # the GLM nuisances multiply skinny matrices: multi-threaded BLAS only adds synchronisation
        with threadpool_limits(limits=1, user_api="blas"):
            est = self._estimate(data, need_se=ci_method != "bootstrap")
            draws = None
            if ci_method == "bootstrap":
                draws, boot_notes = self._bootstrap(data, est)
        z = stats.norm.ppf(0.5 + self.level / 2)
        notes = list(est.notes)
        if ci_method == "bootstrap":
            notes += boot_notes
            ok = draws[np.isfinite(draws).all(axis=1)]
            se_ate, se_att = (float(v) for v in ok.std(axis=0, ddof=1))
            lo, hi = np.quantile(ok, [(1 - self.level) / 2, (1 + self.level) / 2], axis=0)
            ci_ate, ci_att = (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))
        else:
            if ci_method == "influence_function":
                se_ate, se_att = _if_se(est.if_ate, data.w), _if_se(est.if_att, data.w)
            else:
                se_ate, se_att = float(est.se_ate), float(est.se_att)
            zq = float(stats.t.ppf(0.5 + self.level / 2, est.df)) if est.df else z
            ci_ate = (est.ate - zq * se_ate, est.ate + zq * se_ate)
            ci_att = (est.att - zq * se_att, est.att + zq * se_att)
        self.ate_, self.att_ = float(est.ate), float(est.att)
        self.se_ate_, self.se_att_ = se_ate, se_att
        self.ci_ate_, self.ci_att_ = ci_ate, ci_att
        self.ci_method_ = ci_method
        self.n_ = data.n
        self.n_treated_ = int((data.t == 1).sum())
        self.outcome_type_ = "binary" if data.binary else "continuous"
        self.n_features_in_ = data.X.shape[1]
        self.feature_names_in_ = names
        self.assumptions_ = list(est.assumptions)
        self.notes_ = notes
        self.bootstrap_draws_ = draws
        for key, value in est.attrs.items():
            setattr(self, key, value)
        return self

    def result(self, estimand: Estimand = "ate") -> EffectResult:
        """Package the fitted ``estimand`` ('ate' or 'att') as an :class:`EffectResult`."""
        if estimand not in ESTIMANDS:
            raise invalid_choice("estimand", estimand, ESTIMANDS)
        estimate = getattr(self, f"{estimand}_")
        ci = getattr(self, f"ci_{estimand}_")
        return EffectResult(
            estimand=estimand, estimate=estimate, se=getattr(self, f"se_{estimand}_"),
            ci_low=ci[0], ci_high=ci[1], ci_method=self.ci_method_, n=self.n_, method=self.name,
            assumptions=list(self.assumptions_), notes=list(self.notes_), level=float(self.level),
        )

    # -- bootstrap -------------------------------------------------------------------------------------
    def _bootstrap(self, data: _Data, est: _Estimate) -> tuple[np.ndarray, list[str]]:
        R = int(self.n_bootstrap)
        seeds = _replicate_seeds(self.seed, R)
        layout = _Layout(data.t, data.folds, int(getattr(self, "n_folds", 1)))
        refit = self._resolved_refit(data.n)
        engine = self._fast_bootstrap(data, est, layout, refit)
        if engine is not None:
            # fixed block size (a function of n only), so results do not depend on n_jobs
            rc = int(max(1, min(25, 2**26 // max(data.n, 1))))
            tasks = [seeds[i:i + rc] for i in range(0, R, rc)]
            draws = np.vstack(_run_parallel(engine.run, tasks, self.n_jobs))
            how = ("vectorised weighted refits of the GLM nuisances, Newton's method warm-started at the "
                   "full-sample fit, ")
            if engine.refit == "one_step" and any(f.binary for f in engine.families):
                how += ("one Newton step for logistic models (coefficients within O(1/n) of the converged refit; "
                        "meant for large n)")
            else:
                how += "iterated to convergence"
        else:
            def one(ss: np.random.SeedSequence) -> np.ndarray:
                sub = data.take(layout.order[_draws(ss, data.n)])
                if (sub.w[sub.t == 1].sum() <= 0) or (sub.w[sub.t == 0].sum() <= 0):
                    return np.array([np.nan, np.nan])
                try:
                    e = self._estimate(sub, need_se=False)
                except EstimationError:
                    return np.array([np.nan, np.nan])
                return np.array([e.ate, e.att])

            draws = np.vstack(_run_parallel(one, seeds, self.n_jobs))
            how = "every nuisance model refitted on the resampled units"
        failed = int((~np.isfinite(draws).all(axis=1)).sum())
        notes = [f"bootstrap: {R} resamples of units, percentile intervals; {how}"]
        if failed:
            if failed > _MAX_FAILED_SHARE * R:
                raise EstimationError(
                    f"{failed} of {R} bootstrap replicates failed (a resample without treated or control "
                    "units, or a nuisance model that could not be fitted); the data are too small or too "
                    "unbalanced for the bootstrap."
                )
            notes.append(f"{failed} of {R} bootstrap replicates failed and were dropped")
        return draws, notes


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in choices:
        raise invalid_choice(name, value, choices)


def _check_clip(clip: Any) -> None:
    if clip is None:
        return
    ok = isinstance(clip, (tuple, list)) and len(clip) == 2
    ok = ok and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in clip)
    if not ok or not 0 <= clip[0] < 0.5 < clip[1] <= 1:
        raise out_of_range("clip", clip, "None or a pair (low, high) with 0 <= low < 0.5 < high <= 1")


_NO_INTERFERENCE = ("consistency and no interference: a unit's outcome depends only on its own treatment "
                    "(SUTVA)")


def _unconfounded(names: str) -> str:
    return f"no unmeasured confounding given the adjustment set ({names})"


# ============================================================================ naive


class NaiveDifference(EffectEstimator):
    """Difference in (weighted) mean outcomes between treated and control units.

    No adjustment: this is causal only when treatment was randomised. Its standard error is Welch's
    (unequal variances; t quantiles with Welch-Satterthwaite degrees of freedom). The ATT equals
    the ATE here.

    Parameters
    ----------
    ci_method : {'auto', 'analytic', 'bootstrap'}
    n_bootstrap, level, seed, n_jobs : see :class:`AIPW`.
    """

    name = "naive"
    ci_methods = ("analytic", "bootstrap")

    def __init__(self, *, ci_method: str = "auto", n_bootstrap: int = 200, level: float = 0.95, seed: int = 0,
                 n_jobs: int | None = -1) -> None:
        self.ci_method = ci_method
        self.n_bootstrap = n_bootstrap
        self.level = level
        self.seed = seed
        self.n_jobs = n_jobs

    def _estimate(self, data: _Data, *, need_se: bool) -> _Estimate:
        parts = []
        for arm in (1.0, 0.0):
            sel = data.t == arm
            w, y = data.w[sel], data.y[sel]
            sw = w.sum()
            mean = float(w @ y / sw)
            n_a = int((w > 0).sum())
            # sandwich variance of a weighted mean, with the n/(n-1) correction (Welch's s^2/n at w=1)
            var = float(np.sum((w * (y - mean)) ** 2) / sw**2) * n_a / max(n_a - 1, 1)
            parts.append((mean, var, n_a))
        (m1, v1, n1), (m0, v0, n0) = parts
        se = math.sqrt(v1 + v0)
        denom = (v1**2 / max(n1 - 1, 1)) + (v0**2 / max(n0 - 1, 1))
        df = (v1 + v0) ** 2 / denom if denom > 0 else None
        return _Estimate(
            ate=m1 - m0, att=m1 - m0, se_ate=se, se_att=se, df=df,
            attrs={"mean_treated_": m1, "mean_control_": m0},
            assumptions=[
                "no confounding: treatment is as good as randomly assigned (no adjustment is made; the "
                "difference in means is causal only in a randomised experiment)",
                _NO_INTERFERENCE,
            ],
            notes=["unadjusted difference in means; the ATT is the same contrast as the ATE",
                   "Welch standard error (unequal variances), t quantiles with Welch-Satterthwaite df"],
        )


# ============================================================================ regression


class OutcomeRegression(EffectEstimator):
    """Outcome regression (g-computation): one outcome model per arm, averaged over the estimand.

    ATE = mean over all units of mu1(x) - mu0(x); ATT = the same mean over the treated.

    Parameters
    ----------
    learner : {'linear', 'gbm'}
        ``'linear'``: OLS for continuous y, logistic regression for binary y (with an intercept,
        main effects only; fit separately per arm, so effects may vary with x). ``'gbm'``:
        histogram gradient boosting per arm.
    ci_method : {'auto', 'analytic', 'bootstrap'}
        ``'analytic'`` (linear only, the default there): the sandwich (M-estimation) SE of the
        g-formula, which accounts for the estimation of both outcome models. ``'gbm'`` has no such
        formula and uses the bootstrap.
    bootstrap_refit : {'auto', 'newton', 'one_step'}
        How GLMs are refitted in bootstrap replicates (see the module docstring).
    n_bootstrap, level, seed, n_jobs : see :class:`AIPW`.
    """

    name = "regression"
    ci_methods = ("analytic", "bootstrap")

    def __init__(self, *, learner: str = "linear", ci_method: str = "auto", n_bootstrap: int = 200,
                 level: float = 0.95, seed: int = 0, bootstrap_refit: str = "auto",
                 n_jobs: int | None = -1) -> None:
        self.learner = learner
        self.ci_method = ci_method
        self.n_bootstrap = n_bootstrap
        self.level = level
        self.seed = seed
        self.bootstrap_refit = bootstrap_refit
        self.n_jobs = n_jobs

    def _auto_ci(self, known_propensity: bool) -> str:
        return "bootstrap" if self.learner == "gbm" else "analytic"

    def _check_params(self) -> None:
        _check_choice("learner", self.learner, LEARNERS)
        _check_choice("bootstrap_refit", self.bootstrap_refit, BOOTSTRAP_REFITS)
        if self.learner == "gbm" and self.ci_method == "analytic":
            raise ParameterError(
                "ci_method='analytic' is not available with learner='gbm' (no sandwich formula for boosted "
                "trees); use ci_method='bootstrap'."
            )

    def _covariate_fits(self, data: _Data) -> list[tuple[str, np.ndarray, str]]:
        if self.learner != "linear":
            return []
        return self._all_fit(data, "outcome model") + self._arm_fits(data, "outcome model")

    def _estimate(self, data: _Data, *, need_se: bool) -> _Estimate:
        design = _DesignMatrix(data.X)
        seed = self._learner_seed()
        models = {}
        for arm in (1, 0):
            rows = np.flatnonzero(data.t == arm)
            models[arm] = _fit_nuisance(self.learner, design, data.y, data.w, rows, binary=data.binary, seed=seed,
                                        what=f"outcome model of the {'treated' if arm else 'control'} arm")
        m1, m0 = models[1].predict(design), models[0].predict(design)
        w, t = data.w, data.t
        ate = _wmean(m1 - m0, w)
        att = float((w * t) @ (m1 - m0) / (w * t).sum())
        kind = "logistic" if data.binary else "linear"
        learner = f"{kind} regression of y on the covariates in each arm" if self.learner == "linear" else \
            "gradient-boosted trees in each arm"
        est = _Estimate(
            ate=ate, att=att,
            assumptions=[
                _unconfounded("the covariates X"),
                f"the outcome model is correct: E[y | x, t] is modelled by {learner}",
                "overlap: the outcome model extrapolates wherever treated and control covariates do not "
                "overlap (no propensity check is made; see diagnostics.propensity_overlap)",
                _NO_INTERFERENCE,
            ],
            notes=[f"g-computation with a {self.learner} outcome model per arm"],
            design=design,
        )
        if self.learner == "linear":
            est.families = [_Family("mu1", (1,), "y", data.binary, models[1].beta[None, :]),
                            _Family("mu0", (0,), "y", data.binary, models[0].beta[None, :])]
        if need_se:
            Z = design.Z
            sw = w.sum()
            p1 = float((w * t).sum() / sw)
            v1 = m1 * (1 - m1) if data.binary else np.ones_like(m1)
            v0 = m0 * (1 - m0) if data.binary else np.ones_like(m0)
            if1 = _glm_if(Z, data.y, w, m1, t, data.binary)
            if0 = _glm_if(Z, data.y, w, m0, 1 - t, data.binary)
            g1_ate, g0_ate = (Z * (w * v1)[:, None]).sum(0) / sw, (Z * (w * v0)[:, None]).sum(0) / sw
            wt = w * t
            g1_att, g0_att = (Z * (wt * v1)[:, None]).sum(0) / wt.sum(), (Z * (wt * v0)[:, None]).sum(0) / wt.sum()
            if_ate = (m1 - m0 - ate) + if1 @ g1_ate - if0 @ g0_ate
            if_att = t * (m1 - m0 - att) / p1 + if1 @ g1_att - if0 @ g0_att
            est.se_ate, est.se_att = _if_se(if_ate, w), _if_se(if_att, w)
            est.notes.append("sandwich (M-estimation) standard errors accounting for both outcome models")
        return est

    def _bootstrap_evaluate(self, data: _Data, est: _Estimate) -> _Evaluate | None:
        if self.learner != "linear":
            return None
        binary = data.binary

        def evaluate(eng: _BootstrapEngine, W: np.ndarray, betas: dict[str, np.ndarray]) -> np.ndarray:
            Rc = W.shape[0]
            diff_all, diff_t, w_all, w_t = (np.zeros(Rc) for _ in range(4))
            for j, a, s, e in eng.chunks():
                Ws = W[:, s:e]
                d = eng.predict(betas["mu1"], j, s, e, binary)
                d -= eng.predict(betas["mu0"], j, s, e, binary)
                ds = _wsum(d, Ws)
                ws = Ws.sum(axis=1, dtype=np.float64)
                diff_all += ds
                w_all += ws
                if a == 1:
                    diff_t += ds
                    w_t += ws
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.column_stack([diff_all / w_all, diff_t / w_t])

        return evaluate


# ============================================================================ propensity helpers


class _PropensityMixin:
    """Shared handling of known vs fitted propensities and clipping."""

    propensity_learner: str
    clip: tuple[float, float] | None

    def _accepts_propensity(self) -> bool:
        return True

    def _propensity_fits(self, data: _Data) -> list[tuple[str, np.ndarray, str]]:
        if data.e is not None or self.propensity_learner != "logistic":
            return []
        return EffectEstimator._all_fit(data, "propensity model")

    def _clip(self, e_raw: np.ndarray) -> tuple[np.ndarray, int]:
        if self.clip is None:
            return e_raw, 0
        lo, hi = self.clip
        return np.clip(e_raw, lo, hi), int(((e_raw < lo) | (e_raw > hi)).sum())

    def _propensity_assumption(self, data: _Data) -> str:
        if data.e is not None:
            return ("the supplied (logged) propensities are the true treatment probabilities given the "
                    "covariates (known propensity; no propensity model was fitted)")
        if self.propensity_learner == "logistic":
            return "the propensity model is correct: P(t=1 | x) is logistic-linear in the covariates"
        return "the propensity model (gradient-boosted trees) estimates P(t=1 | x) consistently"


def _check_overlap(e: np.ndarray, t: np.ndarray, what: str) -> None:
    if ((t == 1) & (e <= 0)).any() or ((t == 0) & (e >= 1)).any():
        raise EstimationError(
            f"overlap is violated: some units have a {what} of exactly 0 or 1 for the treatment they "
            "received; set clip=(0.01, 0.99) or trim those units."
        )


# ============================================================================ IPW


def _ipw_point(t: np.ndarray, y: np.ndarray, w: np.ndarray, e: np.ndarray, normalize: bool) -> tuple[float, float]:
    if normalize:
        a1, a0 = w * t / e, w * (1 - t) / (1 - e)
        b0 = w * (1 - t) * e / (1 - e)
        wt = w * t
        ate = a1 @ y / a1.sum() - a0 @ y / a0.sum()
        att = wt @ y / wt.sum() - b0 @ y / b0.sum()
        return float(ate), float(att)
    term = t * y / e - (1 - t) * y / (1 - e)
    att_term = t * y - (1 - t) * y * e / (1 - e)
    return float(w @ term / w.sum()), float(w @ att_term / (w * t).sum())


def _ipw_if_known(t: np.ndarray, y: np.ndarray, w: np.ndarray, e: np.ndarray, normalize: bool,
                  ate: float, att: float) -> tuple[np.ndarray, np.ndarray]:
    sw = w.sum()
    pt = float((w * t).sum() / sw)
    if normalize:
        a1, a0 = t / e, (1 - t) / (1 - e)
        r = (1 - t) * e / (1 - e)
        mu1, mu0 = float((w * a1) @ y / (w * a1).sum()), float((w * a0) @ y / (w * a0).sum())
        mu1t, mu0t = float((w * t) @ y / (w * t).sum()), float((w * r) @ y / (w * r).sum())
        if_ate = a1 * (y - mu1) / _wmean(a1, w) - a0 * (y - mu0) / _wmean(a0, w)
        if_att = t * (y - mu1t) / pt - r * (y - mu0t) / _wmean(r, w)
        return if_ate, if_att
    if_ate = t * y / e - (1 - t) * y / (1 - e) - ate
    if_att = (t * y - (1 - t) * y * e / (1 - e) - t * att) / pt
    return if_ate, if_att


class IPW(_PropensityMixin, EffectEstimator):
    """Inverse propensity weighting.

    ATE weights 1/e (treated) and 1/(1-e) (controls); ATT weights 1 (treated) and e/(1-e)
    (controls). ``normalize=True`` (Hajek) divides each arm's weighted sum by its sum of weights;
    ``normalize=False`` (Horvitz-Thompson) by the number of units (ATE) or treated units (ATT).

    Parameters
    ----------
    normalize : bool
        Hajek (self-normalised, default) or Horvitz-Thompson.
    stabilized : bool
        Multiply the weights by the marginal treatment shares (P(t=1) for treated, P(t=0) for
        controls). This lowers the spread of ``weights_``; the estimates and their SEs are
        invariant to it (Hajek normalises each arm; Horvitz-Thompson with stabilised weights
        normalised by arm sizes is the same estimator).
    clip : (low, high) or None
        Clip propensities to [low, high] (default (0.01, 0.99)); ``n_clipped_`` counts the units
        affected.
    propensity_learner : {'logistic', 'gbm'}
        Ignored when ``fit`` receives ``propensity``.
    ci_method : {'auto', 'influence_function', 'bootstrap'}
        The influence function (default) stacks the logistic propensity's score equations
        (M-estimation), so the propensity's estimation is accounted for; with known propensities
        it is the plain IF. A ``'gbm'`` propensity requires the bootstrap.
    bootstrap_refit, n_bootstrap, level, seed, n_jobs : see :class:`AIPW`.

    Learned attributes (besides the common ones): ``propensity_`` (clipped), ``weights_`` (ATE
    weights, stabilised if asked), ``n_clipped_``, ``propensity_coef_`` (standardised logistic
    coefficients, or None).
    """

    name = "ipw"
    ci_methods = ("influence_function", "bootstrap")

    def __init__(self, *, normalize: bool = True, stabilized: bool = False, clip: tuple[float, float] | None = (0.01, 0.99),
                 propensity_learner: str = "logistic", ci_method: str = "auto", n_bootstrap: int = 200,
                 level: float = 0.95, seed: int = 0, bootstrap_refit: str = "auto", n_jobs: int | None = -1) -> None:
        self.normalize = normalize
        self.stabilized = stabilized
        self.clip = clip
        self.propensity_learner = propensity_learner
        self.ci_method = ci_method
        self.n_bootstrap = n_bootstrap
        self.level = level
        self.seed = seed
        self.bootstrap_refit = bootstrap_refit
        self.n_jobs = n_jobs

    def _check_params(self) -> None:
        for name in ("normalize", "stabilized"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise out_of_range(name, getattr(self, name), "True or False")
        _check_clip(self.clip)
        _check_choice("propensity_learner", self.propensity_learner, PROPENSITY_LEARNERS)
        _check_choice("bootstrap_refit", self.bootstrap_refit, BOOTSTRAP_REFITS)

    def _auto_ci(self, known_propensity: bool) -> str:
        return "bootstrap" if self.propensity_learner == "gbm" and not known_propensity else "influence_function"

    def _check_common(self, known_propensity: bool) -> str:
        ci = super()._check_common(known_propensity)
        if ci == "influence_function" and self.propensity_learner == "gbm" and not known_propensity:
            raise ParameterError(
                "ci_method='influence_function' is not available for 'ipw' with propensity_learner='gbm' (the "
                "IF must account for the propensity's estimation, which needs a parametric model); use "
                "ci_method='bootstrap', propensity_learner='logistic', or known propensities."
            )
        return ci

    def _covariate_fits(self, data: _Data) -> list[tuple[str, np.ndarray, str]]:
        return self._propensity_fits(data)

    def _estimate(self, data: _Data, *, need_se: bool) -> _Estimate:
        design = _DesignMatrix(data.X)
        fam: list[_Family] = []
        beta = None
        if data.e is not None:
            e_raw = data.e
        else:
            model = _fit_nuisance(self.propensity_learner, design, data.t, data.w, None, binary=True,
                                  seed=self._learner_seed(), what="propensity model")
            e_raw = model.predict(design)
            beta = model.beta
            if beta is not None:
                fam = [_Family("propensity", (0, 1), "t", True, beta[None, :])]
        e, n_clipped = self._clip(e_raw)
        _check_overlap(e, data.t, "propensity")
        t, y, w = data.t, data.y, data.w
        ate, att = _ipw_point(t, y, w, e, self.normalize)
        weights = t / e + (1 - t) / (1 - e)
        if self.stabilized:
            pt = _wmean(t, w)
            weights = np.where(t == 1, pt, 1 - pt) * weights
        est = _Estimate(
            ate=ate, att=att,
            attrs={"propensity_": e, "weights_": weights, "n_clipped_": n_clipped, "propensity_coef_": beta},
            assumptions=[
                _unconfounded("the covariates X" if data.e is None else "the variables the logged propensity depends on"),
                self._propensity_assumption(data),
                _clip_note(self.clip, n_clipped),
                _NO_INTERFERENCE,
            ],
            notes=[("Hajek (self-normalised)" if self.normalize else "Horvitz-Thompson")
                   + (" inverse propensity weighting, stabilised weights" if self.stabilized
                      else " inverse propensity weighting")],
            families=fam, design=design,
        )
        if need_se:
            if_ate, if_att = _ipw_if_known(t, y, w, e, self.normalize, ate, att)
            if beta is not None:
                Z = design.Z
                if_beta = _logistic_if(Z, t, w, e_raw)
                grad = np.zeros((2, len(beta)))
                h = 1e-5
                for k in range(len(beta)):
                    db = np.zeros(len(beta))
                    db[k] = h
                    up = _ipw_point(t, y, w, self._clip(special.expit(Z @ (beta + db)))[0], self.normalize)
                    dn = _ipw_point(t, y, w, self._clip(special.expit(Z @ (beta - db)))[0], self.normalize)
                    grad[:, k] = (np.array(up) - np.array(dn)) / (2 * h)
                if_ate = if_ate + if_beta @ grad[0]
                if_att = if_att + if_beta @ grad[1]
                est.notes.append("influence-function SE stacks the logistic propensity's score equations "
                                 "(M-estimation), so its estimation is accounted for")
            elif data.e is not None:
                est.notes.append("influence-function SE with the propensities treated as known")
            est.if_ate, est.if_att = if_ate, if_att
        return est

    def _bootstrap_evaluate(self, data: _Data, est: _Estimate) -> _Evaluate | None:
        if data.e is None and self.propensity_learner != "logistic":
            return None
        clip, normalize = self.clip, self.normalize

        def evaluate(eng: _BootstrapEngine, W: np.ndarray, betas: dict[str, np.ndarray]) -> np.ndarray:
            Rc = W.shape[0]
            acc = {k: np.zeros(Rc) for k in ("w", "wt", "a1", "a1y", "a0", "a0y", "ty", "b0", "b0y")}
            for _j, a, _s, _e, Ws, ys, E, ws in eng.weighted_chunks(W, betas, clip):
                acc["w"] += ws
                if a == 1:
                    acc["wt"] += ws
                    acc["ty"] += (ys @ Ws.T).astype(np.float64)
                    inv = Ws / E
                    acc["a1"] += inv.sum(axis=1, dtype=np.float64)
                    acc["a1y"] += (ys @ inv.T).astype(np.float64)
                else:
                    inv = Ws / (1 - E)
                    acc["a0"] += inv.sum(axis=1, dtype=np.float64)
                    acc["a0y"] += (ys @ inv.T).astype(np.float64)
                    inv *= E
                    acc["b0"] += inv.sum(axis=1, dtype=np.float64)
                    acc["b0y"] += (ys @ inv.T).astype(np.float64)
            with np.errstate(invalid="ignore", divide="ignore"):
                if normalize:
                    ate = acc["a1y"] / acc["a1"] - acc["a0y"] / acc["a0"]
                    att = acc["ty"] / acc["wt"] - acc["b0y"] / acc["b0"]
                else:
                    ate = (acc["a1y"] - acc["a0y"]) / acc["w"]
                    att = (acc["ty"] - acc["b0y"]) / acc["wt"]
            return np.column_stack([ate, att])

        return evaluate


# ============================================================================ AIPW


class AIPW(_PropensityMixin, EffectEstimator):
    """Augmented inverse propensity weighting (doubly robust) with K-fold cross-fitting.

    Each fold's propensity and per-arm outcome models are fitted on the other folds (folds are
    stratified by treatment). With psi_i = mu1 - mu0 + t (y - mu1) / e - (1 - t)(y - mu0) / (1 - e),
    ATE = mean psi; ATT = sum[t (y - mu0) - (1 - t) e/(1-e) (y - mu0)] / sum t. Consistent if either
    the propensity or the outcome models are correct; the influence-function interval is valid when
    both converge fast enough (product of rates o(n^-1/2)).

    Parameters
    ----------
    n_folds : int
        Cross-fitting folds K >= 2 (default 5).
    learner : {'linear', 'gbm'}
        Outcome models: linear (OLS / logistic for binary y) or gradient boosting.
    propensity_learner : {'logistic', 'gbm'}
        Ignored when ``fit`` receives ``propensity``.
    clip : (low, high) or None
        Propensity clipping (default (0.01, 0.99)); ``n_clipped_`` counts the units affected.
    ci_method : {'auto', 'influence_function', 'bootstrap'}
        Influence function (default) or bootstrap.
    n_bootstrap : int
        Bootstrap replicates (>= 10; default 200).
    level : float
        Confidence level (default 0.95).
    seed : int
        Seeds the folds, the learners and the bootstrap; same seed, same result.
    bootstrap_refit : {'auto', 'newton', 'one_step'}
        GLM refits in bootstrap replicates: Newton to convergence, or one warm-started Newton step
        (faster; O(1/n) from convergence); 'auto' (default) = 'newton' below 100,000 units, else
        'one_step' (see the module docstring).
    n_jobs : int or None
        Threads for the bootstrap (-1 = all cores, None or 1 = one). Results do not depend on it.

    Learned attributes (besides the common ones): ``propensity_`` (cross-fitted, clipped),
    ``mu1_``, ``mu0_`` (cross-fitted outcome predictions), ``folds_``, ``n_clipped_``.
    """

    name = "aipw"
    ci_methods = ("influence_function", "bootstrap")

    def __init__(self, *, n_folds: int = 5, learner: str = "linear", propensity_learner: str = "logistic",
                 clip: tuple[float, float] | None = (0.01, 0.99), ci_method: str = "auto", n_bootstrap: int = 200,
                 level: float = 0.95, seed: int = 0, bootstrap_refit: str = "auto", n_jobs: int | None = -1) -> None:
        self.n_folds = n_folds
        self.learner = learner
        self.propensity_learner = propensity_learner
        self.clip = clip
        self.ci_method = ci_method
        self.n_bootstrap = n_bootstrap
        self.level = level
        self.seed = seed
        self.bootstrap_refit = bootstrap_refit
        self.n_jobs = n_jobs

    def _check_params(self) -> None:
        if not isinstance(self.n_folds, (int, np.integer)) or isinstance(self.n_folds, bool) or self.n_folds < 2:
            raise out_of_range("n_folds", self.n_folds, "an integer >= 2")
        _check_choice("learner", self.learner, LEARNERS)
        _check_choice("propensity_learner", self.propensity_learner, PROPENSITY_LEARNERS)
        _check_clip(self.clip)
        _check_choice("bootstrap_refit", self.bootstrap_refit, BOOTSTRAP_REFITS)

    def _covariate_fits(self, data: _Data) -> list[tuple[str, np.ndarray, str]]:
        outcome = self._arm_fits(data, "outcome model") if self.learner == "linear" else []
        return self._propensity_fits(data) + outcome

    def _prepare(self, data: _Data) -> _Data:
        counts = [int((data.t == arm).sum()) for arm in (0, 1)]
        if min(counts) < self.n_folds:
            raise EstimationError(
                f"cannot cross-fit with n_folds={self.n_folds}: only {min(counts)} "
                f"{'control' if counts[0] < counts[1] else 'treated'} units."
            )
        rng = np.random.default_rng(np.random.SeedSequence([int(self.seed), 0xF01D]))
        return data.with_folds(_stratified_folds(data.t, int(self.n_folds), rng))

    def _estimate(self, data: _Data, *, need_se: bool) -> _Estimate:
        K = int(self.n_folds)
        folds = data.folds
        # work on rows sorted by (fold, arm): every training set is a union of contiguous blocks
        layout = _Layout(data.t, folds, K)
        order = layout.order
        srt = data.take(order)
        design = _DesignMatrix(srt.X)
        seed = self._learner_seed()
        n = data.n
        e_s, mu1_s, mu0_s = np.empty(n), np.empty(n), np.empty(n)
        glm_out = self.learner == "linear"
        glm_prop = data.e is None and self.propensity_learner == "logistic"

        def blocks(arms: tuple[int, ...], skip: int | None = None) -> list[slice]:
            return [slice(s, e) for j, a, s, e in layout.blocks if a in arms and j != skip and e > s]

        betas: dict[str, list[np.ndarray]] = {"propensity": [], "mu1": [], "mu0": []}
        # full-sample GLM fits: warm starts of the fold fits (fewer Newton steps)
        warm: dict[str, np.ndarray | None] = {"propensity": None, "mu1": None, "mu0": None}
        arm_name = {1: "treated", 0: "control"}
        if glm_prop:
            warm["propensity"] = _fit_nuisance("logistic", design, srt.t, srt.w, None, binary=True, seed=seed,
                                               what="propensity model").beta
        if glm_out:
            for arm, key in ((1, "mu1"), (0, "mu0")):
                warm[key] = _fit_nuisance("linear", design, srt.y, srt.w, blocks((arm,)), binary=data.binary, seed=seed,
                                          what=f"outcome model of the {arm_name[arm]} arm").beta
        for k in range(K):
            test = slice(layout.blocks[2 * k][2], layout.blocks[2 * k + 1][3])  # fold k, both arms
            if test.stop == test.start:
                continue
            if data.e is None:
                m = _fit_nuisance(self.propensity_learner, design, srt.t, srt.w, blocks((0, 1), k), binary=True,
                                  seed=seed, what=f"propensity model (fold {k})", beta0=warm["propensity"])
                e_s[test] = m.predict(design, test)
                betas["propensity"].append(m.beta)
            for arm, key, out in ((1, "mu1", mu1_s), (0, "mu0", mu0_s)):
                m = _fit_nuisance(self.learner, design, srt.y, srt.w, blocks((arm,), k), binary=data.binary,
                                  seed=seed, what=f"outcome model of the {arm_name[arm]} arm (fold {k})",
                                  beta0=warm[key])
                out[test] = m.predict(design, test)
                betas[key].append(m.beta)
        e_raw, mu1, mu0 = np.empty(n), np.empty(n), np.empty(n)
        e_raw[order], mu1[order], mu0[order] = e_s, mu1_s, mu0_s
        if data.e is not None:
            e_raw = data.e
        e, n_clipped = self._clip(e_raw)
        _check_overlap(e, data.t, "propensity")
        t, y, w = data.t, data.y, data.w
        psi = mu1 - mu0 + t * (y - mu1) / e - (1 - t) * (y - mu0) / (1 - e)
        phi = t * (y - mu0) - (1 - t) * e / (1 - e) * (y - mu0)
        ate = _wmean(psi, w)
        pt = _wmean(t, w)
        att = _wmean(phi, w) / pt
        kind = "logistic" if data.binary else "linear"
        out_desc = f"{kind} regression per arm" if glm_out else "gradient-boosted trees per arm"
        prop_desc = "known (logged) propensities" if data.e is not None else (
            "logistic propensity model" if self.propensity_learner == "logistic" else "gradient-boosted propensity model")
        if data.e is None:
            robustness = ("double robustness: either the propensity model or the outcome model is correct "
                          f"({prop_desc}; outcome: {out_desc})")
        else:
            robustness = ("the supplied (logged) propensities are the true treatment probabilities given the "
                          "covariates (known propensity; no propensity model was fitted), so the estimate is "
                          "consistent whatever the outcome model")
        est = _Estimate(
            ate=ate, att=att,
            attrs={"propensity_": e, "mu1_": mu1, "mu0_": mu0, "folds_": folds, "n_clipped_": n_clipped},
            assumptions=[
                _unconfounded("the covariates X" if data.e is None else "the covariates X and the logged propensity"),
                robustness,
                _clip_note(self.clip, n_clipped),
                _NO_INTERFERENCE,
            ],
            notes=[f"AIPW with {K}-fold cross-fitting (folds stratified by treatment); {prop_desc}; outcome: {out_desc}"],
            design=design, z_layout=design.Z,
        )
        if need_se:
            est.if_ate = psi - ate
            est.if_att = (phi - t * att) / pt
            est.notes.append("influence-function SE (nuisance estimation is first-order negligible after "
                             "cross-fitting)")
        if glm_out and (glm_prop or data.e is not None):
            if glm_prop:
                est.families.append(_Family("propensity", (0, 1), "t", True, np.vstack(betas["propensity"])))
            est.families.append(_Family("mu1", (1,), "y", data.binary, np.vstack(betas["mu1"])))
            est.families.append(_Family("mu0", (0,), "y", data.binary, np.vstack(betas["mu0"])))
        return est

    def _bootstrap_evaluate(self, data: _Data, est: _Estimate) -> _Evaluate | None:
        if not est.families:
            return None
        clip, binary = self.clip, data.binary

        def evaluate(eng: _BootstrapEngine, W: np.ndarray, betas: dict[str, np.ndarray]) -> np.ndarray:
            Rc = W.shape[0]
            psi_sum, phi_sum, w_all, w_t = (np.zeros(Rc) for _ in range(4))
            for j, a, s, e, Ws, ys, E, ws in eng.weighted_chunks(W, betas, clip):
                M1 = eng.predict(betas["mu1"], j, s, e, binary)
                M0 = eng.predict(betas["mu0"], j, s, e, binary)
                w_all += ws
                if a == 1:  # psi = m1 - m0 + (y - m1) / e ; phi = y - m0
                    w_t += ws
                    res = ys - M1
                    res /= E
                    res += M1
                    res -= M0
                    psi_sum += _wsum(res, Ws)
                    np.subtract(ys, M0, out=M0)
                    phi_sum += _wsum(M0, Ws)
                else:  # psi = m1 - m0 - (y - m0) / (1 - e) ; phi = -e / (1 - e) (y - m0)
                    r0 = ys - M0
                    odds = 1 - E
                    np.divide(r0, odds, out=odds)
                    M1 -= M0
                    M1 -= odds
                    psi_sum += _wsum(M1, Ws)
                    odds *= E
                    phi_sum -= _wsum(odds, Ws)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.column_stack([psi_sum / w_all, phi_sum / w_t])

        return evaluate


# ============================================================================ matching


class Matching(_PropensityMixin, EffectEstimator):
    """Nearest-neighbour matching with replacement.

    Every unit is matched to its ``n_neighbors`` nearest units of the other arm; its missing
    potential outcome is their mean (plus, with ``bias_correction``, the difference of a linear
    regression of y on the covariates in that arm between the unit and its matches; Abadie and
    Imbens, 2011). ATE = mean of imputed differences over all units, ATT over the treated.

    Parameters
    ----------
    distance : {'propensity', 'mahalanobis'}
        Match on |logit e_i - logit e_j| (estimated logistic/gbm propensity, or the known one), or
        on the Mahalanobis distance of the covariates (their pooled covariance).
    n_neighbors : int
        Matches per unit M >= 1 (ties broken by row order).
    bias_correction : bool
        Regression bias adjustment of the imputed outcomes (default True).
    propensity_learner : {'logistic', 'gbm'}
        Used with ``distance='propensity'`` when no ``propensity`` is given.
    n_variance_neighbors : int
        Same-arm neighbours J used to estimate sigma^2(x) in the Abadie-Imbens variance.
    ci_method : {'auto', 'analytic', 'bootstrap'}
        ``'analytic'`` (default): the Abadie-Imbens (2006) variance, which treats the propensity
        score as known (for the ATE this is conservative when it was estimated: Abadie and Imbens,
        2016). ``'bootstrap'`` is available but not consistent for matching with a fixed number of
        matches (Abadie and Imbens, 2008).
    n_bootstrap, level, seed, n_jobs : see :class:`AIPW`.

    Sample weights weight the averages; the variance uses the weighted analogue of the
    Abadie-Imbens formula.
    """

    name = "matching"
    ci_methods = ("analytic", "bootstrap")
    clip = None  # matching does not divide by propensities

    def __init__(self, *, distance: str = "propensity", n_neighbors: int = 1, bias_correction: bool = True,
                 propensity_learner: str = "logistic", n_variance_neighbors: int = 2, ci_method: str = "auto",
                 n_bootstrap: int = 200, level: float = 0.95, seed: int = 0, n_jobs: int | None = -1) -> None:
        self.distance = distance
        self.n_neighbors = n_neighbors
        self.bias_correction = bias_correction
        self.propensity_learner = propensity_learner
        self.n_variance_neighbors = n_variance_neighbors
        self.ci_method = ci_method
        self.n_bootstrap = n_bootstrap
        self.level = level
        self.seed = seed
        self.n_jobs = n_jobs

    def _accepts_propensity(self) -> bool:
        return self.distance == "propensity"

    def _check_params(self) -> None:
        _check_choice("distance", self.distance, ("propensity", "mahalanobis"))
        _check_choice("propensity_learner", self.propensity_learner, PROPENSITY_LEARNERS)
        for name in ("n_neighbors", "n_variance_neighbors"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise out_of_range(name, v, "an integer >= 1")
        if not isinstance(self.bias_correction, (bool, np.bool_)):
            raise out_of_range("bias_correction", self.bias_correction, "True or False")

    def _space(self, data: _Data) -> np.ndarray:
        if self.distance == "mahalanobis":
            if data.X.shape[1] == 0:
                raise EstimationError("cannot match on Mahalanobis distance without covariates.")
            # whiten with the covariance's eigenvectors; constant / collinear directions are dropped
            vals, vecs = np.linalg.eigh(np.atleast_2d(np.cov(data.X, rowvar=False)))
            keep = vals > 1e-12 * max(float(vals.max()), 1e-300)
            return data.X @ (vecs[:, keep] / np.sqrt(vals[keep]))
        if data.e is not None:
            e = data.e
        else:
            design = _DesignMatrix(data.X)
            e = _fit_nuisance(self.propensity_learner, design, data.t, data.w, None, binary=True,
                              seed=self._learner_seed(), what="propensity model").predict(design)
        e = np.clip(e, 1e-12, 1 - 1e-12)
        return special.logit(e)[:, None]

    def _covariate_fits(self, data: _Data) -> list[tuple[str, np.ndarray, str]]:
        fits = self._propensity_fits(data) if self.distance == "propensity" else []
        return fits + (self._arm_fits(data, "bias-correction regression") if self.bias_correction else [])

    def _estimate(self, data: _Data, *, need_se: bool) -> _Estimate:
        from sklearn.neighbors import NearestNeighbors

        M = int(self.n_neighbors)
        t, y, w = data.t, data.y, data.w
        space = self._space(data)
        groups = {arm: np.flatnonzero(t == arm) for arm in (0, 1)}
        if min(len(g) for g in groups.values()) < M:
            raise EstimationError(f"cannot match with n_neighbors={M}: an arm has fewer units than that.")
        imputed = y.astype(np.float64).copy()  # the missing potential outcome of each unit
        k_w = np.zeros(data.n)   # sum of the weights of the units that use j as a match, / M
        k_w2 = np.zeros(data.n)  # the same with squared weights
        mu: dict[int, np.ndarray] = {}
        if self.bias_correction:
            design = _DesignMatrix(data.X)
            for arm, rows in groups.items():
                mu[arm] = _fit_nuisance("linear", design, y, w, rows, binary=False, seed=0,
                                        what="bias-correction regression").predict(design)
        for arm in (0, 1):
            donors, receivers = groups[arm], groups[1 - arm]
            nn = NearestNeighbors(n_neighbors=M).fit(space[donors])
            _, idx = nn.kneighbors(space[receivers])
            matches = donors[idx]  # (n_receivers, M)
            val = y[matches].mean(axis=1)
            if self.bias_correction:
                val = val + mu[arm][receivers] - mu[arm][matches].mean(axis=1)
            imputed[receivers] = val
            np.add.at(k_w, matches.ravel(), np.repeat(w[receivers], M) / M)
            np.add.at(k_w2, matches.ravel(), np.repeat(w[receivers] ** 2, M) / M)
        y1 = np.where(t == 1, y, imputed)
        y0 = np.where(t == 0, y, imputed)
        tau_i = y1 - y0
        ate = _wmean(tau_i, w)
        wt = w * t
        att = float(wt @ tau_i / wt.sum())
        est = _Estimate(
            ate=ate, att=att,
            attrs={"match_counts_": k_w},
            assumptions=[
                _unconfounded("the covariates X" if data.e is None else "the variables the logged propensity depends on"),
                ("matching on the propensity score balances the covariates: "
                 + self._propensity_assumption(data)) if self.distance == "propensity" else
                "matched units are close enough in the covariates for their outcomes to stand in for the missing "
                "potential outcomes" + (" (after the linear bias correction)" if self.bias_correction else ""),
                "overlap: every unit has comparable units in the other arm (matching with replacement "
                "never drops units; inspect match_counts_ for heavily reused matches)",
                _NO_INTERFERENCE,
            ],
            notes=[f"{M}-nearest-neighbour matching with replacement on "
                   + ("the logit of the propensity score" if self.distance == "propensity" else "Mahalanobis distance")
                   + ("; linear regression bias correction" if self.bias_correction else "; no bias correction")],
        )
        if need_se:
            J = int(self.n_variance_neighbors)
            sigma2 = np.zeros(data.n)
            for _arm, rows in groups.items():
                if len(rows) < 2:
                    continue
                jj = min(J, len(rows) - 1)
                _, idx = NearestNeighbors(n_neighbors=jj + 1).fit(space[rows]).kneighbors(space[rows])
                own = np.arange(len(rows))[:, None]
                # drop the unit itself (or, with exact duplicates, the farthest of the jj + 1)
                keep = idx != own
                drop_last = keep.all(axis=1)
                keep[drop_last, -1] = False
                neigh = rows[idx[keep].reshape(len(rows), jj)]
                sigma2[rows] = jj / (jj + 1) * (y[rows] - y[neigh].mean(axis=1)) ** 2
            sw = w.sum()
            corr_ate = (w + k_w) ** 2 - w**2 - k_w2 / M
            var_ate = (np.sum(w**2 * (tau_i - ate) ** 2) + np.sum(corr_ate * sigma2)) / sw**2
            corr_att = (1 - t) * (k_w**2 - k_w2 / M)
            var_att = (np.sum((wt * (tau_i - att)) ** 2) + np.sum(corr_att * sigma2)) / wt.sum() ** 2
            est.se_ate, est.se_att = math.sqrt(max(var_ate, 0.0)), math.sqrt(max(var_att, 0.0))
            est.notes.append(f"Abadie-Imbens (2006) variance, sigma^2(x) from {J} same-arm neighbours"
                             + ("; the estimated propensity is treated as known" if self.distance == "propensity"
                                and data.e is None else ""))
        return est

    def _bootstrap(self, data: _Data, est: _Estimate) -> tuple[np.ndarray, list[str]]:
        draws, notes = super()._bootstrap(data, est)
        notes.append("the bootstrap is not consistent for nearest-neighbour matching with a fixed number of "
                     "matches (Abadie and Imbens, 2008); prefer ci_method='analytic'")
        return draws, notes


# ============================================================================ registry


#: Estimator classes by registry name (an explicit dict; no dynamic imports).
ESTIMATORS: dict[str, type[EffectEstimator]] = {
    "naive": NaiveDifference,
    "regression": OutcomeRegression,
    "ipw": IPW,
    "aipw": AIPW,
    "matching": Matching,
}


def make_estimator(method: str, **params: Any) -> EffectEstimator:
    """Build the estimator registered as ``method`` with ``params``.

    Raises
    ------
    ParameterError
        For an unknown ``method`` (naming the choices) or a parameter it does not take.
    """
    if not isinstance(method, str) or method not in ESTIMATORS:
        raise invalid_choice("method", method, tuple(ESTIMATORS))
    cls = ESTIMATORS[method]
    names = cls._param_names()
    unknown = [k for k in params if k not in names]
    if unknown:
        raise invalid_choice("parameter", unknown[0], names)
    return cls(**params)
