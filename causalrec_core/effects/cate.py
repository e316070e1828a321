"""Conditional average treatment effects (CATE): meta-learners and uplift metrics.

Every learner follows one contract (see ``docs``/STYLE.md): ``__init__`` only stores its keyword
arguments; ``fit(X, t, y, *, propensity=None)`` validates, learns and returns ``self``;
``effect(X)`` returns one estimated effect per row; learned state ends in ``_``:

``cate_``
    In-sample CATE estimates (``effect`` on the fitted rows).
``ate_``
    Average effect: the mean of ``cate_`` (plug-in), except for :class:`DRLearner`, where it is
    the mean of the cross-fitted doubly robust pseudo-outcomes (the AIPW estimate).
``pseudo_outcomes_``
    Cross-fitted doubly robust (AIPW) scores ``mu1 - mu0 + t (y - mu1) / e - (1 - t)(y - mu0) / (1 - e)``
    built with the learner's own base learner; their mean is AIPW, their spread gives the CI.

``result()`` returns the :class:`~causalrec_core.effects.estimators.EffectResult` of the ATE with an
**influence-function** interval: ``se = sd(pseudo_outcomes_) / sqrt(n)`` (the AIPW efficient
influence function evaluated with cross-fitted nuisances), centred on ``ate_``.

Base learners: ``'gbm'`` (scikit-learn ``HistGradientBoostingRegressor``), ``'linear'``
(ordinary least squares) or ``'ridge'`` (standardised ridge with the penalty chosen by
leave-one-out CV). Outcomes, binary or continuous, are regressed on the probability/mean scale.

Uplift metrics (:func:`qini_curve`, :func:`auuc`) and :func:`effects_by_segment` are pure functions.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import threadpool_limits

from causalrec_core.effects.estimators import (
    EffectResult,
    _covariate_problem,
    _stratified_folds,
    _validate_data,
    _validate_X,
)
from causalrec_core.errors import NotFittedError, ParameterError, invalid_choice, out_of_range
from causalrec_core.params import ParamsMixin

__all__ = [
    "BASE_LEARNERS",
    "CATE_LEARNERS",
    "CateLearner",
    "DRLearner",
    "SLearner",
    "TLearner",
    "XLearner",
    "auuc",
    "effects_by_segment",
    "make_cate_learner",
    "qini_curve",
    "segment_report",
]

BASE_LEARNERS: tuple[str, ...] = ("gbm", "linear", "ridge")
PROPENSITY_LEARNERS: tuple[str, ...] = ("logistic", "gbm")

_ASSUMPTIONS = [
    "unconfoundedness: given X, treatment is as good as random",
    "overlap: every unit had a chance of either treatment (propensity strictly inside (0, 1))",
    "consistency and no interference: a unit's outcome depends only on its own treatment",
]


# ============================================================================ base learners


def _base_model(kind: str, seed: int) -> Any:
    if kind == "gbm":
        from sklearn.ensemble import HistGradientBoostingRegressor

        # early stopping on an internal validation split keeps noisy targets (pseudo-outcomes,
        # imputed effects) from being fitted to noise
        return HistGradientBoostingRegressor(random_state=seed, max_iter=300, learning_rate=0.05, min_samples_leaf=10,
                                             early_stopping=True, validation_fraction=0.15, n_iter_no_change=20)
    if kind == "linear":
        from sklearn.linear_model import LinearRegression

        return LinearRegression()
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))


def _fit_base(kind: str, seed: int, X: np.ndarray, y: np.ndarray) -> Any:
    return _base_model(kind, seed).fit(X, y)


def _fit_propensity(kind: str, seed: int, X: np.ndarray, t: np.ndarray) -> Any:
    if kind == "gbm":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(random_state=seed).fit(X, t)
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000)).fit(X, t)


def _folds(t: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Treatment-stratified fold labels 0..n_folds-1 (the folds of AIPW's cross-fitting, seeded by ``seed``)."""
    return _stratified_folds(t, n_folds, np.random.default_rng(seed))


def _cross_fit_nuisances(X: np.ndarray, t: np.ndarray, y: np.ndarray, e_known: np.ndarray | None, *,
                         base: str, propensity_learner: str, n_folds: int, seed: int,
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Out-of-fold mu0, mu1 and propensity (the known propensity where given)."""
    mu0, mu1, e = np.empty(len(t)), np.empty(len(t)), np.empty(len(t))
    folds = _folds(t, n_folds, seed)
    for k in range(n_folds):
        tr, te = folds != k, folds == k
        m0 = _fit_base(base, seed, X[tr & (t == 0)], y[tr & (t == 0)])
        m1 = _fit_base(base, seed, X[tr & (t == 1)], y[tr & (t == 1)])
        mu0[te], mu1[te] = m0.predict(X[te]), m1.predict(X[te])
        if e_known is None:
            e[te] = _fit_propensity(propensity_learner, seed, X[tr], t[tr]).predict_proba(X[te])[:, 1]
    if e_known is not None:
        e = e_known.copy()
    return mu0, mu1, e


def _dr_scores(t: np.ndarray, y: np.ndarray, mu0: np.ndarray, mu1: np.ndarray, e: np.ndarray) -> np.ndarray:
    return mu1 - mu0 + t * (y - mu1) / e - (1 - t) * (y - mu0) / (1 - e)


# ============================================================================ the contract


class CateLearner(ParamsMixin):
    """Base class of the CATE meta-learners (one contract; see the module docstring).

    Subclasses set ``name`` and implement ``_fit(X, t, y, e)`` (``e`` the clipped cross-fitted or
    known propensity) and ``_effect(X)``.
    """

    name: ClassVar[str] = ""

    def __init__(self, *, base_learner: str = "gbm", propensity_learner: str = "logistic", n_folds: int = 5,
                 clip: float = 0.01, level: float = 0.95, random_state: int = 0) -> None:
        self.base_learner = base_learner
        self.propensity_learner = propensity_learner
        self.n_folds = n_folds
        self.clip = clip
        self.level = level
        self.random_state = random_state

    # -- sklearn-style parameters -----------------------------------------------------------------

    # -- validation ------------------------------------------------------------------------------
    def _check_params(self) -> None:
        if self.base_learner not in BASE_LEARNERS:
            raise invalid_choice("base_learner", self.base_learner, BASE_LEARNERS)
        if self.propensity_learner not in PROPENSITY_LEARNERS:
            raise invalid_choice("propensity_learner", self.propensity_learner, PROPENSITY_LEARNERS)
        if not isinstance(self.n_folds, (int, np.integer)) or isinstance(self.n_folds, bool) or self.n_folds < 2:
            raise out_of_range("n_folds", self.n_folds, "an integer >= 2")
        if not isinstance(self.clip, (int, float)) or isinstance(self.clip, bool) or not 0 <= self.clip < 0.5:
            raise out_of_range("clip", self.clip, "a number in [0, 0.5), e.g. 0.01")
        if not isinstance(self.level, (int, float)) or isinstance(self.level, bool) or not 0 < self.level < 1:
            raise out_of_range("level", self.level, "a number strictly between 0 and 1, e.g. 0.95")
        rs = self.random_state
        if not isinstance(rs, (int, np.integer)) or isinstance(rs, bool) or rs < 0:
            raise out_of_range("random_state", rs, "a non-negative integer")

    # -- fit / effect -----------------------------------------------------------------------------
    def fit(self, X: Any, t: Any, y: Any, *, propensity: Any = None) -> CateLearner:
        """Learn the CATE from covariates ``X`` (n x p), binary treatment ``t`` and outcome ``y``.

        Parameters
        ----------
        propensity : array of P(t=1 | X) per unit, optional
            The known assignment probabilities (randomised or logged data); otherwise estimated by
            ``propensity_learner`` with cross-fitting.

        Raises
        ------
        ParameterError
            For invalid parameters or inputs (shape, non-binary ``t``, missing values...).
        EstimationError
            When one treatment arm is empty.
        """
        self._check_params()
        data, names = _validate_data(X, t, y, None, propensity)
        for arm, label in ((1.0, "treated"), (0.0, "control")):
            if (data.t == arm).sum() < 2 * self.n_folds:
                raise ParameterError(
                    f"t is invalid for n_folds={self.n_folds}: it has {int((data.t == arm).sum())} {label} "
                    f"units; at least {2 * self.n_folds} are needed."
                )
        with threadpool_limits(limits=1):  # small fits: OpenMP threads only add contention
            return self._fit_all(data, names)

    def _fit_all(self, data: Any, names: list[str] | None) -> CateLearner:
        Xa, ta, ya = data.X, data.t, data.y
        seed = int(self.random_state)
        mu0, mu1, e_raw = _cross_fit_nuisances(
            Xa, ta, ya, data.e, base=self.base_learner, propensity_learner=self.propensity_learner,
            n_folds=int(self.n_folds), seed=seed)
        e = np.clip(e_raw, self.clip, 1 - self.clip) if self.clip > 0 else e_raw
        if ((e <= 0) | (e >= 1)).any():
            raise ParameterError("propensity is invalid: with clip=0 every propensity must lie strictly inside (0, 1).")
        self.n_features_in_ = Xa.shape[1]
        self.feature_names_in_ = names
        self.n_ = len(ta)
        self.propensity_ = e
        self.pseudo_outcomes_ = _dr_scores(ta, ya, mu0, mu1, e)
        self._fit(Xa, ta, ya, e, (mu0, mu1))
        self.cate_ = self._effect(Xa)
        self.ate_ = float(np.mean(self._ate_scores()))
        self.notes_ = [
            f"CATE by {type(self).__name__} with base learner {self.base_learner!r}",
            "propensity " + ("given (known)" if data.e is not None else f"estimated by {self.propensity_learner!r}")
            + (f", clipped to [{self.clip:g}, {1 - self.clip:g}]" if self.clip > 0 else ""),
            f"CI: influence function of cross-fitted ({self.n_folds}-fold) AIPW scores, centred on ate_",
        ]
        problem = _covariate_problem(Xa, names, "units", True)
        if problem is not None:
            self.notes_.append(
                f"Covariates: {problem}. The base models here are regularised (or trees), so they still fit: "
                "constant covariates are ignored and collinear ones share one effect; the estimates use only the "
                "information the covariates carry.")
        return self

    def effect(self, X: Any) -> np.ndarray:
        """Estimated treatment effect of each row of ``X``."""
        if "cate_" not in self.__dict__:
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(X, t, y) before effect(X).")
        Xa, _ = _validate_X(X)
        if Xa.shape[1] != self.n_features_in_:
            raise ParameterError(
                f"X is invalid: it has {Xa.shape[1]} columns but the learner was fitted on {self.n_features_in_}."
            )
        with threadpool_limits(limits=1):
            return self._effect(Xa)

    def result(self) -> EffectResult:
        """The ATE with its influence-function interval at ``level``."""
        if "cate_" not in self.__dict__:
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(X, t, y) before result().")
        return _ate_result(self.ate_, self.pseudo_outcomes_, self.level, self.name, list(self.notes_))

    def _ate_scores(self) -> np.ndarray:
        return self.cate_

    def _fit(self, X: np.ndarray, t: np.ndarray, y: np.ndarray, e: np.ndarray,
             nuisances: tuple[np.ndarray, np.ndarray]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _effect(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


def _ate_result(ate: float, scores: np.ndarray, level: float, method: str, notes: list[str]) -> EffectResult:
    n = len(scores)
    se = float(np.std(scores, ddof=1) / np.sqrt(n))
    z = float(stats.norm.ppf(0.5 + level / 2))
    return EffectResult(estimand="ate", estimate=float(ate), se=se, ci_low=float(ate - z * se),
                        ci_high=float(ate + z * se), ci_method="influence_function", n=n, method=method,
                        assumptions=list(_ASSUMPTIONS), notes=notes, level=float(level))


class SLearner(CateLearner):
    """One outcome model on ``[X, t]``; the effect is ``f(x, 1) - f(x, 0)``.

    With a linear base the effect is constant (no interactions); it shrinks heterogeneity.
    """

    name = "s_learner"

    def _fit(self, X, t, y, e, nuisances):  # noqa: ANN001 - see base class
        self._model = _fit_base(self.base_learner, int(self.random_state), np.column_stack([X, t]), y)

    def _effect(self, X):  # noqa: ANN001
        ones, zeros = np.ones(len(X)), np.zeros(len(X))
        return self._model.predict(np.column_stack([X, ones])) - self._model.predict(np.column_stack([X, zeros]))


class TLearner(CateLearner):
    """Separate outcome models per arm; the effect is ``mu1(x) - mu0(x)``."""

    name = "t_learner"

    def _fit(self, X, t, y, e, nuisances):  # noqa: ANN001
        seed = int(self.random_state)
        self._m0 = _fit_base(self.base_learner, seed, X[t == 0], y[t == 0])
        self._m1 = _fit_base(self.base_learner, seed, X[t == 1], y[t == 1])

    def _effect(self, X):  # noqa: ANN001
        return self._m1.predict(X) - self._m0.predict(X)


class XLearner(CateLearner):
    """Künzel et al. (2019): impute individual effects with the other arm's model, regress them,
    and blend the two effect models with the propensity: ``e(x) tau0(x) + (1 - e(x)) tau1(x)``.

    The blending propensity is a model fitted on all rows (or 0.5 where a propensity was given,
    since a known propensity cannot be evaluated at new ``X``).
    """

    name = "x_learner"

    def _fit(self, X, t, y, e, nuisances):  # noqa: ANN001
        seed = int(self.random_state)
        m0 = _fit_base(self.base_learner, seed, X[t == 0], y[t == 0])
        m1 = _fit_base(self.base_learner, seed, X[t == 1], y[t == 1])
        d1 = y[t == 1] - m0.predict(X[t == 1])
        d0 = m1.predict(X[t == 0]) - y[t == 0]
        self._tau1 = _fit_base(self.base_learner, seed, X[t == 1], d1)
        self._tau0 = _fit_base(self.base_learner, seed, X[t == 0], d0)
        self._g = _fit_propensity(self.propensity_learner, seed, X, t)

    def _effect(self, X):  # noqa: ANN001
        g = np.clip(self._g.predict_proba(X)[:, 1], self.clip, 1 - self.clip)
        return g * self._tau0.predict(X) + (1 - g) * self._tau1.predict(X)


class DRLearner(CateLearner):
    """Kennedy (2023) DR-learner: regress the cross-fitted doubly robust pseudo-outcomes on ``X``.

    ``ate_`` is the mean of the pseudo-outcomes (the cross-fitted AIPW estimate).
    """

    name = "dr_learner"

    def _fit(self, X, t, y, e, nuisances):  # noqa: ANN001
        self._final = _fit_base(self.base_learner, int(self.random_state), X, self.pseudo_outcomes_)

    def _effect(self, X):  # noqa: ANN001
        return self._final.predict(X)

    def _ate_scores(self) -> np.ndarray:
        return self.pseudo_outcomes_


CATE_LEARNERS: dict[str, type[CateLearner]] = {
    "s_learner": SLearner,
    "t_learner": TLearner,
    "x_learner": XLearner,
    "dr_learner": DRLearner,
}


def make_cate_learner(method: str, **params: Any) -> CateLearner:
    """Build the learner registered as ``method`` (see :data:`CATE_LEARNERS`) with ``params``.

    Raises
    ------
    ParameterError
        For an unknown ``method`` (naming the choices) or a parameter it does not take.
    """
    if not isinstance(method, str) or method not in CATE_LEARNERS:
        raise invalid_choice("method", method, tuple(CATE_LEARNERS))
    cls = CATE_LEARNERS[method]
    names = cls._param_names()
    for k in params:
        if k not in names:
            raise invalid_choice("parameter", k, names)
    return cls(**params)


# ============================================================================ pure functions


def effects_by_segment(cate: Any, segments: Any, *, level: float = 0.95) -> pd.DataFrame:
    """Mean effect per segment with a normal-approximation interval.

    Parameters
    ----------
    cate : array (n,)
        Per-unit effects. Pass a learner's ``pseudo_outcomes_`` for a valid interval of each
        segment's average effect; with model CATEs (``cate_``) the interval reflects only their spread.
    segments : array (n,)
        Segment label of each unit.

    Returns
    -------
    DataFrame with columns ``segment, n, mean, se, ci_low, ci_high``, one row per segment (sorted).

    Raises
    ------
    ParameterError
        For mismatched lengths, non-finite effects, missing segment labels or an invalid ``level``.
    """
    c = np.asarray(cate, dtype=np.float64)
    s = pd.Series(np.asarray(segments, dtype=object) if not isinstance(segments, pd.Series) else segments.to_numpy())
    if c.ndim != 1 or len(c) != len(s):
        raise ParameterError(f"cate and segments must be 1-D of equal length; got shapes {c.shape} and {s.shape}.")
    if not np.isfinite(c).all():
        raise ParameterError("cate is invalid: it must be finite.")
    if s.isna().any():
        raise ParameterError(f"segments has {int(s.isna().sum())} missing labels; label or drop those units.")
    if not isinstance(level, (int, float)) or not 0 < level < 1:
        raise out_of_range("level", level, "a number strictly between 0 and 1, e.g. 0.95")
    z = float(stats.norm.ppf(0.5 + level / 2))
    frame = pd.DataFrame({"segment": s.to_numpy(), "cate": c})
    g = frame.groupby("segment", sort=True)["cate"]
    out = pd.DataFrame({"n": g.size(), "mean": g.mean(), "sd": g.std(ddof=1)})
    out["se"] = out["sd"].fillna(np.nan) / np.sqrt(out["n"])
    out["ci_low"] = out["mean"] - z * out["se"]
    out["ci_high"] = out["mean"] + z * out["se"]
    return out.drop(columns="sd").reset_index()


def _uplift_inputs(scores: Any, t: Any, y: Any, propensity: Any) -> tuple[np.ndarray, ...]:
    s = np.asarray(scores, dtype=np.float64)
    ta = np.asarray(t, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    if s.ndim != 1 or s.shape != ta.shape or s.shape != ya.shape:
        raise ParameterError(
            f"uplift_scores, t and y must be 1-D of equal length; got shapes {s.shape}, {ta.shape}, {ya.shape}."
        )
    if not (np.isfinite(s).all() and np.isfinite(ya).all()):
        raise ParameterError("uplift_scores and y must be finite.")
    if not np.isin(ta, (0.0, 1.0)).all():
        raise ParameterError("t must be a binary 0/1 treatment.")
    if propensity is None:
        if ta.sum() == 0 or ta.sum() == len(ta):
            raise ParameterError("t must contain both treated and control units.")
        return s, ta, ya, None
    e = np.asarray(propensity, dtype=np.float64)
    if e.shape != s.shape or not ((e > 0) & (e < 1)).all():
        raise ParameterError("propensity is invalid: it must have one value per unit, strictly inside (0, 1).")
    return s, ta, ya, e


def qini_curve(uplift_scores: Any, t: Any, y: Any, propensity: Any = None) -> pd.DataFrame:
    """Qini curve: cumulative incremental outcome when targeting units by decreasing uplift score.

    Without ``propensity`` (randomised data) it is Radcliffe's
    ``Q(k) = Y1(k) - Y0(k) N1(k) / N0(k)`` over the top-``k`` units (``Y1``/``N1`` treated outcome
    sum / count among them). With ``propensity`` it is the IPW estimate
    ``Q(k) = sum_top_k [t y / e - (1 - t) y / (1 - e)]``, unbiased for the top-``k`` total uplift.
    Tied scores are taken together (the curve is evaluated only between tie groups). Scale: Radcliffe's
    curve counts incremental outcomes among the *treated* units targeted; the IPW curve among *all*
    units targeted (so with a 50/50 randomisation the IPW curve is about twice Radcliffe's).

    Returns
    -------
    DataFrame with columns ``n`` (units targeted, starting at 0), ``fraction`` (n / N), ``qini``
    and ``random`` (the straight line from 0 to the final Qini value).

    Raises
    ------
    ParameterError
        For mismatched shapes, non-binary ``t``, non-finite values or propensities outside (0, 1).
    """
    s, ta, ya, e = _uplift_inputs(uplift_scores, t, y, propensity)
    order = np.argsort(-s, kind="stable")
    s, ta, ya = s[order], ta[order], ya[order]
    if e is None:
        n1, n0 = np.cumsum(ta), np.cumsum(1 - ta)
        y1, y0 = np.cumsum(ta * ya), np.cumsum((1 - ta) * ya)
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where(n0 > 0, y1 - y0 * n1 / np.maximum(n0, 1), y1)
    else:
        e = e[order]
        q = np.cumsum(ta * ya / e - (1 - ta) * ya / (1 - e))
    ends = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]
    n = np.r_[0, ends + 1]
    qini = np.r_[0.0, q[ends]]
    N = len(s)
    return pd.DataFrame({"n": n, "fraction": n / N, "qini": qini, "random": qini[-1] * n / N})


def auuc(uplift_scores: Any, t: Any, y: Any, propensity: Any = None, *, normalize: bool = True) -> float:
    """Area between the Qini curve and the random-targeting line (the Qini coefficient).

    The area is taken over the targeted fraction in [0, 1] by the trapezoid rule; with
    ``normalize=True`` it is divided by the number of units, i.e. expressed per unit of outcome.
    Positive: the scores rank high-uplift units first better than random; 0: no better than random.
    See :func:`qini_curve` for ``propensity``.
    """
    curve = qini_curve(uplift_scores, t, y, propensity)
    x = curve["fraction"].to_numpy()
    gap = (curve["qini"] - curve["random"]).to_numpy()
    area = float(np.sum((gap[1:] + gap[:-1]) / 2 * np.diff(x)))
    return area / len(np.asarray(t)) if normalize else area


# ============================================================================ report


#: A segment with fewer treated or control units than this has "too few units" in a flag.
MIN_ARM_UNITS = 30


def flag_segments(by: pd.DataFrame, t: np.ndarray, y: np.ndarray, segments: np.ndarray) -> pd.DataFrame:
    """``by`` (:func:`effects_by_segment`) with ``n_treated``, ``n_control`` and ``flag``: why a
    segment's estimate cannot be taken at face value, or '' when nothing is wrong. A segment with no
    treated or no control unit has no estimable effect; for a 0/1 outcome an effect (a difference in
    probabilities) outside [-1, 1] is impossible, and the flag says why the scores went there: too
    few units of an arm in the segment, else poor overlap (extreme propensity weights, extrapolation).
    """
    frame = pd.DataFrame({"segment": segments, "t": t})
    n_t = frame.groupby("segment")["t"].sum()
    n_all = frame.groupby("segment")["t"].size()
    out = by.copy()
    out["n_treated"] = out["segment"].map(n_t).astype(int).to_numpy()
    out["n_control"] = (out["segment"].map(n_all) - out["segment"].map(n_t)).astype(int).to_numpy()
    binary = bool(np.isin(np.unique(y), (0.0, 1.0)).all())
    flags = []
    for _, r in out.iterrows():
        small = [f"{int(r[f'n_{arm}'])} {arm}" for arm in ("treated", "control") if r[f"n_{arm}"] < MIN_ARM_UNITS]
        if r["n_treated"] == 0 or r["n_control"] == 0:
            arm = "treated" if r["n_treated"] == 0 else "control"
            flags.append(f"no {arm} unit in this segment: its effect cannot be estimated from the data")
        elif binary and not -1 <= r["mean"] <= 1:
            why = (f"too few units of an arm in the segment ({' and '.join(small)})" if small else
                   "poor overlap in the segment (extreme propensity weights, so the estimate extrapolates)")
            flags.append(f"outside [-1, 1], impossible for a difference in probabilities: {why}; "
                         "not a credible estimate")
        else:
            flags.append("")
    out["flag"] = flags
    return out


def segment_report(method: str, X: Any, t: Any, y: Any, segments: Any, *, propensity: Any = None,
                   base_learner: str = "gbm", max_fit: int = 20_000, max_eval: int = 50_000, seed: int = 0,
                   level: float = 0.95) -> dict[str, Any]:
    """Heterogeneous effects for a dashboard: a meta-learner's effect by segment and, with a known
    propensity, its Qini curve and AUUC.

    The learner ``method`` (a key of :data:`CATE_LEARNERS`) is fitted on a seeded random subsample
    of at most ``max_fit`` units (all units when there are fewer). Each segment's average effect is
    the mean of the learner's cross-fitted doubly robust scores (``pseudo_outcomes_``) of its
    fitted units, with a normal interval (:func:`effects_by_segment`); ``mean_cate`` is the mean of
    the learner's model CATE there. With ``propensity`` (known / logged), the Qini curve and AUUC
    (:func:`qini_curve`, :func:`auuc`, IPW form) rank up to ``max_eval`` units the learner was NOT
    fitted on; when every unit was used for fitting they are in-sample (optimistic) and a note says so.

    Returns
    -------
    dict with ``by_segment`` (DataFrame ``segment, n, mean, se, ci_low, ci_high, mean_cate,
    n_treated, n_control, flag``: see :func:`flag_segments`),
    ``qini`` (DataFrame or None), ``auuc`` (float or None), ``ate`` (the learner's
    :class:`~causalrec_core.effects.estimators.EffectResult` on the fitted units), ``n_fit``,
    ``n_eval``, ``n_total``, ``notes`` (list of str).

    Raises
    ------
    ParameterError
        Unknown method, mismatched lengths, missing segment labels, or invalid sizes.
    """
    Xa, names = _validate_X(X)
    ta = np.asarray(t, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    seg = np.asarray(segments.to_numpy() if isinstance(segments, pd.Series) else segments, dtype=object)
    n = len(ta)
    if not (len(Xa) == len(ya) == len(seg) == n):
        raise ParameterError(f"X, t, y and segments must have one row per unit; got {len(Xa)}, {n}, {len(ya)}, "
                             f"{len(seg)}.")
    e = None if propensity is None else np.asarray(propensity, dtype=np.float64)
    if e is not None and e.shape != (n,):
        raise ParameterError(f"propensity must have one value per unit; got shape {e.shape} for {n} units.")
    for name, v in (("max_fit", max_fit), ("max_eval", max_eval)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 100:
            raise out_of_range(name, v, "an integer >= 100")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5E6]))
    order = rng.permutation(n)
    fit_idx = np.sort(order[:max_fit]) if n > max_fit else np.arange(n)
    rest = np.sort(order[max_fit:max_fit + max_eval]) if n > max_fit else np.array([], dtype=int)
    notes: list[str] = []
    if n > max_fit:
        notes.append(f"The {method} learner was fitted on a random subsample of {len(fit_idx):,} of {n:,} units "
                     f"(seed {seed}) to keep the page responsive; the segment effects are estimated on those units.")
    learner = make_cate_learner(method, base_learner=base_learner, random_state=int(seed))
    ef = None if e is None else e[fit_idx]
    learner.fit(Xa[fit_idx] if names is None else pd.DataFrame(Xa[fit_idx], columns=names), ta[fit_idx],
                ya[fit_idx], propensity=ef)
    notes += [note for note in learner.notes_ if note.startswith("Covariates:")]
    by = effects_by_segment(learner.pseudo_outcomes_, seg[fit_idx], level=level)
    mc = pd.Series(learner.cate_).groupby(pd.Series(seg[fit_idx]).to_numpy()).mean()
    by["mean_cate"] = by["segment"].map(mc).to_numpy()
    by = flag_segments(by, ta[fit_idx], ya[fit_idx], seg[fit_idx])
    qini = score = None
    n_eval = 0
    if e is not None:
        if len(rest):
            idx, where = rest, "held-out"
        else:
            idx, where = fit_idx, "in-sample (the same units the learner was fitted on, so optimistic)"
        ev = np.clip(e[idx], 1e-6, 1 - 1e-6)
        scores = learner.effect(Xa[idx])
        qini = qini_curve(scores, ta[idx], ya[idx], ev)
        score = auuc(scores, ta[idx], ya[idx], ev)
        n_eval = len(idx)
        notes.append(f"Qini curve and AUUC on {n_eval:,} {where} units, with the logged propensities (IPW form).")
    else:
        notes.append("No Qini curve: it needs known (logged) propensities to be unbiased on observational data.")
    return {"by_segment": by, "qini": qini, "auuc": score, "ate": learner.result(), "n_fit": len(fit_idx),
            "n_eval": n_eval, "n_total": n, "notes": notes}
