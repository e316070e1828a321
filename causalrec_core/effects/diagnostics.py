"""Diagnostics of the assumptions behind effect estimates: overlap, balance, effective sample size.

Pure functions over arrays: they validate their inputs, never modify them, and return plain
values, dataclasses or DataFrames ready to show.

>>> import numpy as np
>>> effective_sample_size(np.array([1.0, 1.0, 2.0]))
2.6666666666666665
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from causalrec_core.errors import ParameterError, out_of_range

__all__ = ["Diagnostics", "OverlapReport", "balance", "diagnose", "effective_sample_size", "propensity_overlap"]

#: |standardised mean difference| above which a covariate is flagged as imbalanced.
SMD_THRESHOLD = 0.1
#: A fitted propensity model whose propensities all lie within this range of each other has collapsed.
COLLAPSE_RANGE = 0.02


def _vector(name: str, values: Any) -> np.ndarray:
    arr = np.asarray(values.to_numpy() if isinstance(values, (pd.Series, pd.Index)) else values)
    if arr.ndim != 1:
        raise ParameterError(f"{name} is invalid: it must be 1-D; got shape {arr.shape}.")
    try:
        arr = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} is invalid: it must be numeric.") from None
    if not np.isfinite(arr).all():
        raise ParameterError(f"{name} has {int((~np.isfinite(arr)).sum())} missing or infinite values.")
    return arr


def _treatment(t: Any, n: int | None = None) -> np.ndarray:
    arr = _vector("t", t)
    values = np.unique(arr)
    if not np.isin(values, (0.0, 1.0)).all():
        found = ", ".join(f"{v:g}" for v in values[:6])
        raise ParameterError(f"t must be a binary 0/1 treatment; found values: {found}.")
    if n is not None and len(arr) != n:
        raise ParameterError(f"t must have one value per unit: got {len(arr)} values for {n} units.")
    return arr


def _weights(name: str, weights: Any, n: int | None = None) -> np.ndarray:
    w = _vector(name, weights)
    if n is not None and len(w) != n:
        raise ParameterError(f"{name} must have one value per unit: got {len(w)} values for {n} units.")
    if (w < 0).any() or w.sum() <= 0:
        raise ParameterError(f"{name} is invalid: it must be non-negative with a positive sum.")
    return w


# ============================================================================ ESS


def effective_sample_size(weights: Any) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2.

    Equals n for equal weights and shrinks as the weights spread out (IPW weights of units with
    extreme propensities).

    Raises
    ------
    ParameterError
        Weights that are not a 1-D finite non-negative array with a positive sum.

    Examples
    --------
    >>> effective_sample_size([2.0, 2.0, 2.0, 2.0])
    4.0
    """
    w = _weights("weights", weights)
    return float(w.sum() ** 2 / np.sum(w * w))


# ============================================================================ overlap


@dataclass(frozen=True)
class OverlapReport:
    """Overlap of the propensity distributions of treated and control units.

    Attributes
    ----------
    histogram : DataFrame
        One row per bin of [0, 1]: ``bin_left``, ``bin_right``, ``n_treated``, ``n_control`` and
        ``share_treated`` / ``share_control`` (each group's counts divided by its size).
    clip : (float, float)
        The clipping bounds checked.
    n_outside_clip, share_outside_clip : int, float
        Units (and their share) with a propensity outside ``clip``, i.e. those clipping changes.
    share_outside_clip_treated, share_outside_clip_control : float
        The same share within each group.
    trimming : DataFrame
        For each threshold a: ``n_removed`` (units with e < a or e > 1 - a, which trimming at a
        removes), ``share_removed``, ``n_treated_removed``, ``n_control_removed``.
    range_treated, range_control : (float, float)
        Smallest and largest propensity in each group.
    """

    histogram: pd.DataFrame
    clip: tuple[float, float]
    n_outside_clip: int
    share_outside_clip: float
    share_outside_clip_treated: float
    share_outside_clip_control: float
    trimming: pd.DataFrame
    range_treated: tuple[float, float]
    range_control: tuple[float, float]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (tables as lists of records)."""
        return {
            "histogram": self.histogram.to_dict(orient="records"),
            "clip": list(self.clip),
            "n_outside_clip": self.n_outside_clip,
            "share_outside_clip": self.share_outside_clip,
            "share_outside_clip_treated": self.share_outside_clip_treated,
            "share_outside_clip_control": self.share_outside_clip_control,
            "trimming": self.trimming.to_dict(orient="records"),
            "range_treated": list(self.range_treated),
            "range_control": list(self.range_control),
        }


def propensity_overlap(e: Any, t: Any, bins: int = 20, *, clip: tuple[float, float] = (0.01, 0.99),
                       thresholds: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1)) -> OverlapReport:
    """Summarise how well the propensity distributions of treated and control units overlap.

    Parameters
    ----------
    e : array (n,)
        Propensities P(t=1 | x) in [0, 1] (fitted or logged).
    t : array (n,)
        Binary 0/1 treatment.
    bins : int
        Number of equal-width histogram bins on [0, 1] (>= 1).
    clip : (low, high)
        Bounds whose exceedances are counted (the estimators' default clipping).
    thresholds : tuple of float
        Trimming thresholds a in (0, 0.5): trimming removes units with e < a or e > 1 - a.

    Returns
    -------
    OverlapReport

    Raises
    ------
    ParameterError
        Non-binary t, propensities outside [0, 1], mismatched lengths, or invalid ``bins``,
        ``clip`` or ``thresholds``.

    Examples
    --------
    >>> r = propensity_overlap([0.005, 0.5, 0.5, 0.995], [0, 0, 1, 1], bins=2)
    >>> r.n_outside_clip, r.histogram["n_treated"].tolist()
    (2, [0, 2])
    """
    ev = _vector("e", e)
    tv = _treatment(t, len(ev))
    if ((ev < 0) | (ev > 1)).any():
        raise ParameterError(f"e is invalid: propensities must lie in [0, 1]; found range [{ev.min():g}, {ev.max():g}].")
    if not isinstance(bins, (int, np.integer)) or isinstance(bins, bool) or bins < 1:
        raise out_of_range("bins", bins, "an integer >= 1")
    if not (isinstance(clip, (tuple, list)) and len(clip) == 2 and 0 <= clip[0] < clip[1] <= 1):
        raise out_of_range("clip", clip, "a pair (low, high) with 0 <= low < high <= 1")
    if any(not (0 < a < 0.5) for a in thresholds):
        raise out_of_range("thresholds", thresholds, "values strictly between 0 and 0.5")
    treated, control = ev[tv == 1], ev[tv == 0]
    edges = np.linspace(0.0, 1.0, int(bins) + 1)
    n_t = np.histogram(treated, bins=edges)[0]
    n_c = np.histogram(control, bins=edges)[0]
    hist = pd.DataFrame({
        "bin_left": edges[:-1], "bin_right": edges[1:], "n_treated": n_t, "n_control": n_c,
        "share_treated": n_t / max(len(treated), 1), "share_control": n_c / max(len(control), 1),
    })
    lo, hi = float(clip[0]), float(clip[1])
    outside = (ev < lo) | (ev > hi)
    rows = []
    for a in thresholds:
        removed = (ev < a) | (ev > 1 - a)
        rows.append({
            "threshold": float(a), "n_removed": int(removed.sum()), "share_removed": float(removed.mean()),
            "n_treated_removed": int((removed & (tv == 1)).sum()),
            "n_control_removed": int((removed & (tv == 0)).sum()),
        })

    def share(mask: np.ndarray, group: np.ndarray) -> float:
        return float(mask[group].mean()) if group.any() else 0.0

    def span(values: np.ndarray) -> tuple[float, float]:
        return (float(values.min()), float(values.max())) if len(values) else (float("nan"), float("nan"))

    return OverlapReport(
        histogram=hist, clip=(lo, hi), n_outside_clip=int(outside.sum()),
        share_outside_clip=float(outside.mean()) if len(ev) else 0.0,
        share_outside_clip_treated=share(outside, tv == 1), share_outside_clip_control=share(outside, tv == 0),
        trimming=pd.DataFrame(rows, columns=["threshold", "n_removed", "share_removed", "n_treated_removed",
                                             "n_control_removed"]),
        range_treated=span(treated), range_control=span(control),
    )


# ============================================================================ balance


def _covariates(X: Any) -> tuple[np.ndarray, list[str]]:
    if isinstance(X, pd.DataFrame):
        bad = [str(c) for c in X.columns if not (pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c]))]
        if bad:
            raise ParameterError(f"X is invalid: every covariate must be numeric; non-numeric columns: {bad}.")
        names = [str(c) for c in X.columns]
        arr = X.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        arr = np.asarray(X)
        if arr.ndim != 2:
            raise ParameterError(f"X is invalid: it must be 2-D (units x covariates); got shape {arr.shape}.")
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise ParameterError("X is invalid: every covariate must be numeric.") from None
        names = [f"x{i}" for i in range(arr.shape[1])]
    if not np.isfinite(arr).all():
        raise ParameterError(f"X has {int((~np.isfinite(arr)).sum())} missing or infinite values.")
    return arr, names


def _wmean_cols(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    return w @ X / w.sum()


def balance(X: Any, t: Any, weights: Any = None, *, threshold: float = SMD_THRESHOLD) -> pd.DataFrame:
    """Standardised mean differences (SMD) of each covariate between treated and controls.

    SMD = (mean_treated - mean_control) / sqrt((var_treated + var_control) / 2), with the variances
    of the unweighted groups as the common scale before and after weighting (so the two columns are
    comparable; Austin, 2009). A covariate that is constant in both groups has SMD 0 when the means
    agree and +-inf otherwise.

    Parameters
    ----------
    X : 2-D array or DataFrame (n, k)
        Numeric covariates; a DataFrame's column names label the rows of the result
        (``x0, x1, ...`` for arrays).
    t : array (n,)
        Binary 0/1 treatment.
    weights : array (n,), optional
        Unit weights (e.g. ``IPW().fit(...).weights_``); adds the after-weighting columns.
    threshold : float
        |SMD| above which ``imbalanced`` is True (default 0.1).

    Returns
    -------
    DataFrame indexed by covariate with ``mean_treated``, ``mean_control``, ``smd`` (before
    weighting) and, when ``weights`` are given, ``mean_treated_weighted``,
    ``mean_control_weighted``, ``smd_weighted``; ``imbalanced`` flags |SMD| > threshold (after
    weighting when weights are given).

    Raises
    ------
    ParameterError
        Non-binary t, a group without units, mismatched lengths, missing values, invalid weights.

    Examples
    --------
    >>> balance([[0.0], [2.0], [1.0], [3.0]], [0, 0, 1, 1])["smd"].round(4).tolist()
    [0.7071]
    """
    Xa, names = _covariates(X)
    tv = _treatment(t, len(Xa))
    if not (isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and threshold >= 0):
        raise out_of_range("threshold", threshold, "a non-negative number")
    g1, g0 = tv == 1, tv == 0
    if not g1.any() or not g0.any():
        raise ParameterError("t is invalid: balance needs both treated and control units.")
    ones = np.ones(len(Xa))
    m1, m0 = _wmean_cols(Xa[g1], ones[g1]), _wmean_cols(Xa[g0], ones[g0])
    v1 = Xa[g1].var(axis=0, ddof=1) if g1.sum() > 1 else np.zeros(Xa.shape[1])
    v0 = Xa[g0].var(axis=0, ddof=1) if g0.sum() > 1 else np.zeros(Xa.shape[1])
    scale = np.sqrt((v1 + v0) / 2)

    def smd(diff: np.ndarray) -> np.ndarray:
        out = np.zeros_like(diff)
        pos = scale > 0
        out[pos] = diff[pos] / scale[pos]
        degenerate = ~pos & ~np.isclose(diff, 0.0)
        out[degenerate] = np.copysign(np.inf, diff[degenerate])
        return out

    out = pd.DataFrame({"mean_treated": m1, "mean_control": m0, "smd": smd(m1 - m0)},
                       index=pd.Index(names, name="covariate"))
    if weights is not None:
        w = _weights("weights", weights, len(Xa))
        if w[g1].sum() <= 0 or w[g0].sum() <= 0:
            raise ParameterError("weights are invalid: each group needs a positive total weight.")
        mw1, mw0 = _wmean_cols(Xa[g1], w[g1]), _wmean_cols(Xa[g0], w[g0])
        out["mean_treated_weighted"] = mw1
        out["mean_control_weighted"] = mw0
        out["smd_weighted"] = smd(mw1 - mw0)
        out["imbalanced"] = out["smd_weighted"].abs() > threshold
    else:
        out["imbalanced"] = out["smd"].abs() > threshold
    return out


# ============================================================================ all at once


@dataclass(frozen=True)
class Diagnostics:
    """Overlap, balance and effective sample size of one design (see :func:`diagnose`).

    Attributes
    ----------
    overlap : OverlapReport
        Of the unclipped propensities.
    balance : DataFrame
        :func:`balance` before and after inverse-propensity weighting (ATE weights from the
        propensities clipped to ``clip``).
    ess, ess_treated, ess_control : float
        Kish's effective sample size of those weights, overall and per arm.
    n, n_treated : int
        Units and treated units.
    propensity_source : str
        ``'logged'`` (given) or ``'logistic model'`` (fitted on the covariates).
    trim : float
        The trimming threshold whose removals :attr:`n_trimmed` counts (e < trim or e > 1 - trim).
    n_trimmed : int
        Units trimming at ``trim`` would remove.
    clip : (float, float)
        Clipping bounds of the weights.
    warnings : list of str
        Problems of a fitted propensity model, in words: covariates that are constant or perfectly
        collinear (the estimators refuse them), and a collapsed model (every propensity within
        :data:`COLLAPSE_RANGE` of the others: the covariates carry no information about the
        treatment, so weighting adjusts for nothing). Empty when there is none.
    """

    overlap: OverlapReport
    balance: pd.DataFrame
    ess: float
    ess_treated: float
    ess_control: float
    n: int
    n_treated: int
    propensity_source: str
    trim: float
    n_trimmed: int
    clip: tuple[float, float]
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> list[str]:
        """Plain-language sentences on overlap, balance and the effective sample size."""
        bal = self.balance
        after = "smd_weighted" if "smd_weighted" in bal.columns else "smd"
        worst = bal[after].abs()
        lines = [
            f"Propensity ({self.propensity_source}): treated units range "
            f"{self.overlap.range_treated[0]:.3f}-{self.overlap.range_treated[1]:.3f}, controls "
            f"{self.overlap.range_control[0]:.3f}-{self.overlap.range_control[1]:.3f}; trimming at "
            f"{self.trim:g} (e < {self.trim:g} or e > {1 - self.trim:g}) would remove {self.n_trimmed:,} of "
            f"{self.n:,} units ({self.n_trimmed / max(self.n, 1):.1%}).",
            f"Balance: the largest |SMD| is {bal['smd'].abs().max():.3f} before and {worst.max():.3f} after "
            f"weighting; {int((worst > SMD_THRESHOLD).sum())} covariate(s) stay above {SMD_THRESHOLD:g}.",
            f"Effective sample size of the ATE weights: {self.ess:,.0f} of {self.n:,} units ({self.ess / max(self.n, 1):.1%}); "
            f"treated {self.ess_treated:,.0f} of {self.n_treated:,}, controls {self.ess_control:,.0f} of "
            f"{self.n - self.n_treated:,}.",
        ]
        return lines


def diagnose(X: Any, t: Any, *, propensity: Any = None, bins: int = 20, clip: tuple[float, float] = (0.01, 0.99),
             trim: float = 0.01) -> Diagnostics:
    """Overlap, covariate balance and effective sample size for covariates ``X`` and treatment ``t``.

    The propensity is ``propensity`` when given (logged, known), otherwise a logistic regression
    of ``t`` on ``X`` (the same model as the IPW / AIPW estimators' default). Balance and ESS use
    the ATE weights ``t / e + (1 - t) / (1 - e)`` with ``e`` clipped to ``clip`` (the estimators'
    default clipping).

    Raises
    ------
    ParameterError
        Invalid inputs (see :func:`propensity_overlap` and :func:`balance`).
    """
    from sklearn.linear_model import LogisticRegression

    Xa, names = _covariates(X)
    tv = _treatment(t, len(Xa))
    if not (isinstance(trim, (int, float)) and 0 < trim < 0.5):
        raise out_of_range("trim", trim, "a number strictly between 0 and 0.5")
    if propensity is not None:
        e = _vector("propensity", propensity)
        if len(e) != len(tv):
            raise ParameterError(f"propensity has {len(e)} values for {len(tv)} units.")
        source = "logged"
    else:
        if not ((tv == 1).any() and (tv == 0).any()):
            raise ParameterError("t is invalid: the propensity model needs both treated and control units.")
        if Xa.shape[1] == 0:
            e = np.full(len(tv), tv.mean())
        else:
            sd = Xa.std(axis=0)
            Z = (Xa - Xa.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
            e = LogisticRegression(C=1e6, max_iter=1000).fit(Z, tv).predict_proba(Z)[:, 1]
        source = "logistic model"
    warnings = [] if propensity is not None else _propensity_warnings(Xa, names, tv, e)
    overlap = propensity_overlap(e, tv, bins, clip=clip, thresholds=tuple(sorted({0.01, 0.05, float(trim)})))
    ec = np.clip(e, clip[0], clip[1])
    w = np.where(tv == 1, 1 / ec, 1 / (1 - ec))
    frame = pd.DataFrame(Xa, columns=names)
    bal = balance(frame, tv, w) if Xa.shape[1] else pd.DataFrame(
        columns=["mean_treated", "mean_control", "smd", "smd_weighted", "imbalanced"])
    removed = (e < trim) | (e > 1 - trim)
    return Diagnostics(
        overlap=overlap, balance=bal, ess=effective_sample_size(w), ess_treated=effective_sample_size(w[tv == 1]),
        ess_control=effective_sample_size(w[tv == 0]), n=len(tv), n_treated=int((tv == 1).sum()),
        propensity_source=source, trim=float(trim), n_trimmed=int(removed.sum()), clip=(float(clip[0]), float(clip[1])),
        warnings=warnings)


def _propensity_warnings(X: np.ndarray, names: list[str], t: np.ndarray, e: np.ndarray) -> list[str]:
    """What is wrong with a propensity model fitted on ``X`` (see :attr:`Diagnostics.warnings`)."""
    from causalrec_core.effects.estimators import _covariate_problem

    out = []
    problem = _covariate_problem(X, names, "units", True) if X.shape[1] else None
    if problem is not None:
        out.append(f"Covariates: {problem}. The adjusted estimators (regression, IPW, AIPW, matching) refuse "
                   "such covariates: remove them from the adjustment set.")
    lo, hi = float(e.min()), float(e.max())
    if hi - lo < COLLAPSE_RANGE:
        cause = ("there are no covariates" if X.shape[1] == 0 else
                 "the covariates carry no information about who is treated")
        out.append(f"The propensity model has collapsed: every unit's fitted propensity is about {float(e.mean()):.3f} "
                   f"(range {lo:.3f}-{hi:.3f}, the share of treated units is {float(t.mean()):.3f}), because {cause}. "
                   "Weighting by it adjusts for nothing: IPW reduces to the unadjusted difference in means and AIPW "
                   "relies on its outcome model alone. Unless the treatment was randomised, choose covariates that "
                   "explain who is treated.")
    return out
