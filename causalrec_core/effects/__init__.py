"""Effect estimation: average treatment effects (ATE, ATT) of a binary treatment with uncertainty.

``estimators`` holds the estimators (one scikit-learn-style contract: ``fit(X, t, y)`` then
``ate_``, ``att_``, ``result()``), registered by name in :data:`ESTIMATORS`; ``diagnostics``
holds pure functions that check the assumptions (propensity overlap, covariate balance, effective
sample size).

>>> from causalrec_core.effects import make_estimator
>>> est = make_estimator("aipw", n_folds=5, seed=0)   # doctest: +SKIP
>>> est.fit(X, t, y).result("ate").to_dict()          # doctest: +SKIP
"""

from __future__ import annotations

from .diagnostics import OverlapReport, balance, effective_sample_size, propensity_overlap
from .estimators import (
    AIPW,
    CI_METHODS,
    ESTIMATORS,
    IPW,
    EffectEstimator,
    EffectResult,
    Matching,
    NaiveDifference,
    OutcomeRegression,
    make_estimator,
)

__all__ = [
    "AIPW",
    "CI_METHODS",
    "ESTIMATORS",
    "IPW",
    "EffectEstimator",
    "EffectResult",
    "Matching",
    "NaiveDifference",
    "OutcomeRegression",
    "OverlapReport",
    "balance",
    "effective_sample_size",
    "make_estimator",
    "propensity_overlap",
]
