r"""Refutation tests and sensitivity analysis for an effect estimate.

Each refuter refits an estimator on altered data and returns one JSON-serialisable dict::

    {"refuter": str, "estimate_before": float, "estimate_after": float,
     "interval" or "p_value": ..., "passed": bool, "verdict": "<one plain-language sentence>", ...}

``estimator`` is a registry name (``'aipw'``, see
:data:`~causalrec_core.effects.estimators.ESTIMATORS`) or a zero-argument callable returning a
fresh, unfitted estimator (e.g. ``lambda: make_estimator('aipw', seed=0)``; a CATE learner of
:mod:`causalrec_core.effects.cate` works too). All refuters estimate the ATE. Defaults are sized for the dashboard: with AIPW each refuter takes a few
seconds on 100,000 units (about 0.3 s per refit).

==========================  ==========================================================  =================
refuter                     what is done                                                passes when
==========================  ==========================================================  =================
:func:`placebo_treatment`   t is randomly permuted ``n_sims`` times and refitted         |mean placebo
                                                                                        effect| < 3 x its
                                                                                        Monte-Carlo SE
:func:`random_common_cause` an independent N(0, 1) covariate is added, ``n_sims`` times  |shift| <= SE
:func:`data_subsets`        refits on random subsets of ``frac`` of the units            |shift| <= SE
:func:`unobserved_confounder` a simulated confounder U correlated with t and y is        the shift is
                            adjusted for                                                within 2 SE and
                                                                                        25 % of the
                                                                                        estimate (warn
                                                                                        beyond; fail when
                                                                                        the sign or the
                                                                                        conclusion
                                                                                        changes)
:func:`e_value`             VanderWeele & Ding (2017) E-value of the estimate and CI     the CI excludes
                                                                                        no effect
==========================  ==========================================================  =================

The simulated confounder of :func:`unobserved_confounder` is
``U = strength_t * (t - mean t) + strength_y * (y - mean y) / sd(y) + N(0, 1)``: its association
with t is ``strength_t`` (a mean difference of U between arms, in SDs of the noise, which is about
the log-odds coefficient of t on U for small strengths) and with y ``strength_y`` (per SD of y, the
linear scale). Adjusting for U shows how far a confounder of that strength would move the
estimate (a sensitivity analysis in the spirit of DoWhy's ``add_unobserved_common_cause``).

E-value for a risk difference RD of a binary outcome with control risk p0 (the control mean):
RR = (p0 + RD) / p0, then E = RR + sqrt(RR (RR - 1)) for RR >= 1 (use 1 / RR when RR < 1); the
E-value of the CI uses the limit closer to 1 (1 when the CI crosses 1). For a continuous outcome
the standardised difference d = estimate / sd(y) is converted with RR ~ exp(0.91 d)
(VanderWeele & Ding 2017; VanderWeele 2017).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from causalrec_core.effects.estimators import EffectEstimator, make_estimator
from causalrec_core.errors import ParameterError, out_of_range

__all__ = [
    "CONFOUNDER_MAX_SE",
    "CONFOUNDER_MAX_SHARE",
    "binary_e_value",
    "REFUTATION_COLUMNS",
    "REFUTERS",
    "data_subsets",
    "e_value",
    "placebo_treatment",
    "random_common_cause",
    "refutation_table",
    "refute_all",
    "unobserved_confounder",
]

EstimatorSpec = str | Callable[[], EffectEstimator]


# ============================================================================ helpers


def _factory(estimator: EstimatorSpec, seed: int) -> Callable[[], EffectEstimator]:
    if isinstance(estimator, str):
        return lambda: make_estimator(estimator, seed=seed)
    if callable(estimator):
        return estimator
    raise ParameterError(f"estimator={estimator!r} is invalid: it must be a registry name such as 'aipw' "
                         "or a callable returning a fresh estimator.")


def _as_X(X: Any) -> np.ndarray:
    arr = X.to_numpy(dtype=np.float64) if isinstance(X, pd.DataFrame) else np.asarray(X, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ParameterError(f"X is invalid: it must be 2-D (units x covariates); got shape {arr.shape}.")
    return arr


def _vec(name: str, v: Any) -> np.ndarray:
    arr = np.asarray(v.to_numpy() if isinstance(v, (pd.Series, pd.Index)) else v, dtype=np.float64)
    if arr.ndim != 1:
        raise ParameterError(f"{name} is invalid: it must be 1-D; got shape {arr.shape}.")
    return arr


def _check_sims(n_sims: Any) -> int:
    if not isinstance(n_sims, (int, np.integer)) or isinstance(n_sims, bool) or n_sims < 1:
        raise out_of_range("n_sims", n_sims, "an integer >= 1")
    return int(n_sims)


def _fit(make: Callable[[], EffectEstimator], X: np.ndarray, t: np.ndarray, y: np.ndarray,
         propensity: np.ndarray | None = None, names: list[str] | None = None) -> EffectEstimator:
    """A fresh estimator fitted on X (as a frame with the covariates' ``names`` when known, so its
    messages name them; extra columns a refuter added are named after it)."""
    est = make()
    if names is not None:
        extra = [f"added by the refuter ({k})" for k in range(X.shape[1] - len(names))]
        X = pd.DataFrame(X, columns=[*names, *extra])
    if propensity is not None:
        return est.fit(X, t, y, propensity=propensity)
    return est.fit(X, t, y)


def _prepare(estimator: EstimatorSpec, X: Any, t: Any, y: Any, seed: int, propensity: Any
             ) -> tuple[Callable[[], EffectEstimator], np.ndarray, np.ndarray, np.ndarray, np.ndarray | None,
                        EffectEstimator, list[str] | None]:
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise out_of_range("seed", seed, "a non-negative integer")
    make = _factory(estimator, int(seed))
    Xa, ta, ya = _as_X(X), _vec("t", t), _vec("y", y)
    e = None if propensity is None else _vec("propensity", propensity)
    names = [str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else None
    base = _fit(make, Xa, ta, ya, e, names)
    return make, Xa, ta, ya, e, base, names


def _summary(est: Any) -> tuple[float, float, tuple[float, float]]:
    """(ATE, SE, CI) of a fitted estimator: registry estimators and CATE learners alike."""
    try:
        res = est.result("ate")
    except TypeError:  # CATE learners: result() takes no estimand (always the ATE)
        res = est.result()
    return float(res.estimate), float(res.se), (float(res.ci_low), float(res.ci_high))


def _g(x: float) -> str:
    return f"{x:.4g}"


# ============================================================================ refuters


def placebo_treatment(estimator: EstimatorSpec, X: Any, t: Any, y: Any, *, n_sims: int = 20, seed: int = 0,
                      propensity: Any = None) -> dict[str, Any]:
    """Replace the treatment by random permutations of itself: the effect should vanish.

    A permuted treatment is independent of everything, so its estimated effect should be zero up
    to noise. Known propensities are not passed to placebo fits (they do not describe a permuted
    treatment). ``share_exceeded`` is the share of placebo effects whose absolute value the real
    estimate's exceeds; ``p_value`` is the permutation p-value of the real estimate,
    (1 + #{|placebo| >= |estimate|}) / (n_sims + 1), which cannot go below ``p_value_floor`` =
    1 / (n_sims + 1) (0.25 with 3 refits): the verdict states both.

    Returns
    -------
    dict
        ``refuter, estimate_before, estimate_after`` (mean placebo effect), ``placebo_sd``,
        ``interval`` (2.5 % and 97.5 % quantiles of the placebo effects), ``share_exceeded``,
        ``p_value``, ``p_value_floor``, ``n_sims``, ``passed``, ``verdict``.
    """
    n_sims = _check_sims(n_sims)
    make, Xa, ta, ya, _, base, names = _prepare(estimator, X, t, y, seed, propensity)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x91AC]))
    draws = np.array([_summary(_fit(make, Xa, rng.permutation(ta), ya, names=names))[0] for _ in range(n_sims)])
    before, se, _ = _summary(base)
    after = float(draws.mean())
    sd = float(draws.std(ddof=1)) if n_sims > 1 else se
    mc_se = sd / math.sqrt(n_sims)
    passed = abs(after) < 3 * max(mc_se, 1e-12)
    n_exceeded = int(np.sum(abs(before) > np.abs(draws)))
    share = n_exceeded / n_sims
    p_value = float((1 + np.sum(np.abs(draws) >= abs(before))) / (n_sims + 1))
    p_floor = 1 / (n_sims + 1)
    verdict = (f"With a randomly permuted treatment the estimated effect is {_g(after)} on average "
               f"(SD {_g(sd)} over {n_sims} refit{'s' if n_sims > 1 else ''}), "
               + ("consistent with zero as it should be"
                  if passed else "not zero, so the estimator finds effects where there are none")
               + f"; the real estimate {_g(before)} is larger in absolute value than {n_exceeded} of the {n_sims} "
               f"placebo effects ({share:.0%}). Permutation p-value {p_value:.3g}: with {n_sims} refit"
               f"{'s' if n_sims > 1 else ''} the smallest possible p-value is 1/({n_sims} + 1) = {p_floor:.3g}"
               + (" (reached: no placebo effect is as large as the real one)." if n_exceeded == n_sims else "."))
    return {"refuter": "placebo_treatment", "estimate_before": before, "estimate_after": after,
            "placebo_sd": sd, "interval": [float(np.quantile(draws, 0.025)), float(np.quantile(draws, 0.975))],
            "share_exceeded": share, "p_value": p_value, "p_value_floor": p_floor, "n_sims": n_sims,
            "passed": bool(passed), "verdict": verdict}


def random_common_cause(estimator: EstimatorSpec, X: Any, t: Any, y: Any, *, n_sims: int = 10, seed: int = 0,
                        propensity: Any = None) -> dict[str, Any]:
    """Add an independent random covariate: the estimate should not move beyond its SE.

    Returns
    -------
    dict
        ``refuter, estimate_before, estimate_after`` (mean over ``n_sims`` refits), ``se``,
        ``interval`` (min and max of the refits), ``n_sims``, ``passed``, ``verdict``.
    """
    n_sims = _check_sims(n_sims)
    make, Xa, ta, ya, e, base, names = _prepare(estimator, X, t, y, seed, propensity)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x4C0C]))
    draws = np.array([_summary(_fit(make, np.column_stack([Xa, rng.standard_normal(len(ta))]), ta, ya, e,
                                    names))[0]
                      for _ in range(n_sims)])
    before, se, _ = _summary(base)
    after = float(draws.mean())
    passed = abs(after - before) <= se
    verdict = (f"Adding a random covariate moves the estimate from {_g(before)} to {_g(after)} on average, "
               + ("within one standard error, as it should." if passed
                  else f"more than one standard error ({_g(se)}): the estimate is unstable."))
    return {"refuter": "random_common_cause", "estimate_before": before, "estimate_after": after, "se": se,
            "interval": [float(draws.min()), float(draws.max())], "n_sims": n_sims, "passed": bool(passed),
            "verdict": verdict}


def data_subsets(estimator: EstimatorSpec, X: Any, t: Any, y: Any, *, frac: float = 0.8, n_sims: int = 20,
                 seed: int = 0, propensity: Any = None) -> dict[str, Any]:
    """Refit on random subsets of ``frac`` of the units: the estimates should stay near the original.

    Returns
    -------
    dict
        ``refuter, estimate_before, estimate_after`` (mean over subsets), ``subset_sd``, ``se``,
        ``interval`` (2.5 % and 97.5 % quantiles), ``frac``, ``n_sims``, ``passed``, ``verdict``.
    """
    n_sims = _check_sims(n_sims)
    if not isinstance(frac, (int, float)) or isinstance(frac, bool) or not 0 < frac < 1:
        raise out_of_range("frac", frac, "a number strictly between 0 and 1, e.g. 0.8")
    make, Xa, ta, ya, e, base, names = _prepare(estimator, X, t, y, seed, propensity)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5B5E]))
    n, m = len(ta), max(2, int(round(frac * len(ta))))
    draws = []
    for _ in range(n_sims):
        idx = np.sort(rng.choice(n, size=m, replace=False))
        draws.append(_summary(_fit(make, Xa[idx], ta[idx], ya[idx], None if e is None else e[idx], names))[0])
    arr = np.array(draws)
    before, se, _ = _summary(base)
    after = float(arr.mean())
    passed = abs(after - before) <= se
    verdict = (f"On random {frac:.0%} subsets the estimate averages {_g(after)} (original {_g(before)}), "
               + ("within one standard error: it is stable." if passed
                  else f"more than one standard error ({_g(se)}) away: it depends on a few units."))
    return {"refuter": "data_subsets", "estimate_before": before, "estimate_after": after,
            "subset_sd": float(arr.std(ddof=1)) if n_sims > 1 else 0.0, "se": se,
            "interval": [float(np.quantile(arr, 0.025)), float(np.quantile(arr, 0.975))], "frac": float(frac),
            "n_sims": n_sims, "passed": bool(passed), "verdict": verdict}


#: unobserved_confounder warns when the shift exceeds this many standard errors ...
CONFOUNDER_MAX_SE = 2.0
#: ... or this share of the estimate (and fails when the sign or the conclusion changes).
CONFOUNDER_MAX_SHARE = 0.25


def unobserved_confounder(estimator: EstimatorSpec, X: Any, t: Any, y: Any, *, strength_t: float = 0.5,
                          strength_y: float = 0.5, seed: int = 0, propensity: Any = None) -> dict[str, Any]:
    """How far would adjusting for a confounder of the given strength move the estimate?

    Simulates ``U = strength_t (t - mean t) + strength_y (y - mean y) / sd(y) + N(0, 1)`` (see the
    module docstring) and refits with U added to the covariates. Known propensities are not used
    (a confounder outside them contradicts them).

    Returns
    -------
    dict
        ``refuter, estimate_before, estimate_after, shift, shift_in_se, se, interval`` (the CI after),
        ``strength_t, strength_y, status`` ('fail' when the sign flips or the conclusion - whether
        the interval excludes 0 - changes; 'warn' when the shift exceeds :data:`CONFOUNDER_MAX_SE`
        standard errors or :data:`CONFOUNDER_MAX_SHARE` of the estimate; else 'pass'), ``passed``
        (status == 'pass'), ``verdict`` (stating the rule).
    """
    for name, v in (("strength_t", strength_t), ("strength_y", strength_y)):
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            raise out_of_range(name, v, "a finite number")
    make, Xa, ta, ya, _, base, names = _prepare(estimator, X, t, y, seed, propensity)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xC0F0]))
    sd_y = float(ya.std()) or 1.0
    u = strength_t * (ta - ta.mean()) + strength_y * (ya - ya.mean()) / sd_y + rng.standard_normal(len(ta))
    before, se, (lo0, hi0) = _summary(base)
    after, _, (lo1, hi1) = _summary(_fit(make, np.column_stack([Xa, u]), ta, ya, names=names))

    def conclusion(lo: float, hi: float) -> int:
        return 1 if lo > 0 else (-1 if hi < 0 else 0)

    shift = after - before
    shift_se = abs(shift) / se if se > 0 else float("inf")
    rel = abs(shift) / abs(before) if before != 0 else float("inf")
    flipped = before * after < 0
    changed = flipped or conclusion(lo0, hi0) != conclusion(lo1, hi1)
    large = shift_se > CONFOUNDER_MAX_SE or rel > CONFOUNDER_MAX_SHARE
    status = "fail" if changed else ("warn" if large else "pass")
    verdict = (f"Adjusting for a simulated unobserved confounder (strength {strength_t:g} on the treatment, "
               f"{strength_y:g} on the outcome) moves the estimate from {_g(before)} to {_g(after)} "
               f"({shift / se if se > 0 else float('inf'):+.1f} standard errors, {shift / before if before else 0:+.0%}"
               " of the estimate); "
               + ("its sign flips" if flipped else
                  "the conclusion (whether the interval excludes 0) changes" if changed else
                  "a large shift, though the conclusion stays the same" if large else
                  "a small shift, and the conclusion stays the same")
               + f". Rule: fail when the sign flips or the conclusion changes, warn when the shift exceeds "
               f"{CONFOUNDER_MAX_SE:g} standard errors or {CONFOUNDER_MAX_SHARE:.0%} of the estimate, else pass.")
    return {"refuter": "unobserved_confounder", "estimate_before": before, "estimate_after": after,
            "shift": shift, "shift_in_se": shift / se if se > 0 else None, "se": se,
            "interval": [float(lo1), float(hi1)], "strength_t": float(strength_t),
            "strength_y": float(strength_y), "passed": status == "pass", "status": status, "verdict": verdict}


# ============================================================================ E-value


def _e(rr: float) -> float:
    rr = 1 / rr if rr < 1 else rr
    return rr + math.sqrt(rr * (rr - 1))


def e_value(estimate: float, ci: tuple[float, float] | None = None, *, baseline_risk: float | None = None,
            outcome_sd: float | None = None) -> dict[str, Any]:
    """VanderWeele & Ding (2017) E-value of a difference estimate (and of its CI).

    Parameters
    ----------
    estimate : float
        The effect as a difference: a risk difference (binary outcome) or a mean difference.
    ci : (low, high), optional
        Its confidence interval.
    baseline_risk : float in (0, 1), optional
        Binary outcome: the control arm's risk p0, for RR = (p0 + RD) / p0.
    outcome_sd : float > 0, optional
        Continuous outcome: the SD of the outcome, for RR ~ exp(0.91 estimate / sd).
        Exactly one of ``baseline_risk`` and ``outcome_sd`` must be given.

    Returns
    -------
    dict
        ``refuter='e_value', estimate_before, estimate_after=None, risk_ratio, e_value,
        e_value_ci`` (None without ``ci``), ``interval`` (the CI as risk ratios), ``passed`` (the CI
        excludes no effect), ``verdict``.

    Raises
    ------
    ParameterError
        Neither or both of ``baseline_risk`` / ``outcome_sd``, values out of range, or a risk
        difference that makes the treated risk leave [0, 1].

    Examples
    --------
    >>> round(e_value(0.1, baseline_risk=0.2)["e_value"], 4)
    2.366
    """
    if not isinstance(estimate, (int, float, np.floating)) or not math.isfinite(estimate):
        raise out_of_range("estimate", estimate, "a finite number")
    if (baseline_risk is None) == (outcome_sd is None):
        raise ParameterError("e_value needs exactly one of baseline_risk (binary outcome: the control risk) and "
                             "outcome_sd (continuous outcome: the outcome's SD).")
    if baseline_risk is not None:
        if not 0 < float(baseline_risk) < 1:
            raise out_of_range("baseline_risk", baseline_risk, "a probability strictly between 0 and 1")
        p0 = float(baseline_risk)

        def to_rr(d: float) -> float:
            p1 = p0 + d
            if not 0 < p1 <= 1:
                raise ParameterError(f"a risk difference of {d:g} with baseline_risk={p0:g} gives a treated risk "
                                     f"of {p1:g}, outside (0, 1].")
            return p1 / p0
        scale = f"risk ratio (control risk {p0:.4g})"
    else:
        if not float(outcome_sd) > 0:
            raise out_of_range("outcome_sd", outcome_sd, "a number > 0")

        def to_rr(d: float) -> float:
            return math.exp(0.91 * d / float(outcome_sd))
        scale = "approximate risk ratio exp(0.91 d) of the standardised difference d"
    rr = to_rr(float(estimate))
    ev = _e(rr)
    ev_ci, interval = None, None
    if ci is not None:
        lo, hi = (float(v) for v in ci)
        if lo > hi:
            raise ParameterError(f"ci={ci!r} is invalid: the low end must not exceed the high end.")
        interval = [to_rr(lo), to_rr(hi)]
        ev_ci = 1.0 if interval[0] <= 1 <= interval[1] else _e(interval[0] if rr >= 1 else interval[1])
    passed = ev_ci is not None and ev_ci > 1
    verdict = (f"To explain away the estimate ({scale} {rr:.3g}), an unmeasured confounder would need a risk "
               f"ratio of at least {ev:.3g} with both the treatment and the outcome, beyond the measured covariates"
               + (f"; to make the interval include no effect, at least {ev_ci:.3g}." if ev_ci is not None else ".")
               + ("" if ev_ci is None or passed else " The interval already includes no effect."))
    return {"refuter": "e_value", "estimate_before": float(estimate), "estimate_after": None, "risk_ratio": rr,
            "e_value": ev, "e_value_ci": ev_ci, "interval": interval, "passed": bool(passed), "verdict": verdict}


# ============================================================================ all at once

#: Refuter name -> what it does, in one line (for tables).
REFUTERS: dict[str, str] = {
    "placebo_treatment": "treatment replaced by random permutations of itself",
    "random_common_cause": "an independent random covariate added",
    "data_subsets": "refitted on random 80% subsets",
    "unobserved_confounder": "adjusted for a simulated unobserved confounder",
    "e_value": "confounding strength needed to explain the estimate away",
}


def refute_all(estimator: EstimatorSpec, X: Any, t: Any, y: Any, *, seed: int = 0, n_sims: int = 5,
               propensity: Any = None, strength_t: float = 0.5, strength_y: float = 0.5) -> list[dict[str, Any]]:
    """Run every refuter of this module on one estimator and design; one dict per refuter.

    ``placebo_treatment`` and ``data_subsets`` use ``n_sims`` refits, ``random_common_cause``
    ``max(1, n_sims // 2)``; the E-value uses the estimator's own estimate and CI (on the risk scale
    with the control risk for a 0/1 outcome, else per SD of the outcome). When the E-value cannot be
    computed (a control risk of 0 or 1, or an interval that leaves (0, 1) on the risk scale) its row
    says so and does not pass (:func:`binary_e_value`). Each dict carries a ``status``: ``'pass'`` or
    ``'warn'`` (``'fail'`` too for :func:`unobserved_confounder`).
    """
    n_sims = _check_sims(n_sims)
    kw = dict(seed=seed, propensity=propensity)
    out = [
        placebo_treatment(estimator, X, t, y, n_sims=n_sims, **kw),
        random_common_cause(estimator, X, t, y, n_sims=max(1, n_sims // 2), **kw),
        data_subsets(estimator, X, t, y, n_sims=n_sims, **kw),
        unobserved_confounder(estimator, X, t, y, strength_t=strength_t, strength_y=strength_y, **kw),
    ]
    _, _, ta, ya, _, base, _ = _prepare(estimator, X, t, y, seed, propensity)
    est, _, ci = _summary(base)
    binary = bool(np.isin(np.unique(ya), (0.0, 1.0)).all())
    if binary:
        p0 = float(ya[ta == 0].mean()) if (ta == 0).any() else float("nan")
        out.append(binary_e_value(est, ci, p0))
    else:
        out.append(e_value(est, ci, outcome_sd=float(ya.std()) or 1.0))
    for r in out:
        r.setdefault("status", "pass" if r["passed"] else "warn")
    return out


def binary_e_value(estimate: float, ci: tuple[float, float], control_risk: float) -> dict[str, Any]:
    """The E-value row of a 0/1 outcome (:func:`e_value` on the risk scale), or, when it cannot be
    computed, a row that does not pass and says why in words: the outcome never (or always) occurs
    among the controls, or the estimate or its interval gives a treated risk outside (0, 1]."""
    p0 = control_risk
    if 0 < p0 < 1 and 0 < p0 + estimate <= 1 and 0 < p0 + ci[0] and p0 + ci[1] <= 1:
        return e_value(estimate, ci, baseline_risk=p0)
    if p0 == 0:
        why = ("the outcome never occurs among the controls (risk 0), so the risk ratio and its E-value are "
               "infinite (undefined): an unmeasured confounder would have to explain the whole difference, every "
               "treated outcome. When the outcome cannot happen without the treatment (e.g. no purchase without a "
               "view) this is by construction, not evidence against confounding.")
    elif p0 == 1:
        why = ("the outcome occurs for every control (risk 1), so the treated risk cannot be higher and the risk "
               "ratio is undefined.")
    elif math.isnan(p0):
        why = "there is no control unit, so there is no control risk to compare with."
    else:
        why = (f"with the control risk {p0:.4g}, the estimate or its interval ({ci[0]:.4g} to {ci[1]:.4g}) gives a "
               "treated risk outside (0, 1], so it cannot be written as a risk ratio.")
    return {"refuter": "e_value", "estimate_before": estimate, "estimate_after": None, "e_value": None,
            "e_value_ci": None, "passed": False, "verdict": "No E-value: " + why}


#: Columns of :func:`refutation_table` -> what their numbers are (for column headers' help).
REFUTATION_COLUMNS: dict[str, str] = {
    "refuter": "the check",
    "what is done": "how the data are altered",
    "original estimate": "the estimator's ATE on the unaltered data",
    "new estimate": "the ATE after the alteration (the mean over the refits for placebo_treatment, "
                    "random_common_cause and data_subsets); empty for the E-value, which refits nothing",
    "E-value": "e_value only: the risk ratio an unmeasured confounder would need with both the treatment and the "
               "outcome to explain the estimate away (a ratio >= 1, not an ATE)",
    "E-value (CI)": "e_value only: the same for moving the confidence interval to include no effect "
                    "(1 when it already does)",
    "p-value": "placebo_treatment only: the permutation p-value of the real estimate (at least 1 / (refits + 1))",
    "status": "pass, warn (look closer) or fail (the check contradicts the estimate)",
    "verdict": "the result in words",
}


def refutation_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The results of :func:`refute_all` as a table, one row per refuter, with the columns of
    :data:`REFUTATION_COLUMNS`: ATEs in 'original estimate' / 'new estimate', the E-values (risk
    ratios) and the placebo p-value each in their own column (empty where they do not apply)."""
    return pd.DataFrame([{
        "refuter": r["refuter"], "what is done": REFUTERS.get(r["refuter"], ""),
        "original estimate": r.get("estimate_before"),
        "new estimate": None if r["refuter"] == "e_value" else r.get("estimate_after"),
        "E-value": r.get("e_value"), "E-value (CI)": r.get("e_value_ci"), "p-value": r.get("p_value"),
        "status": r.get("status", "pass" if r.get("passed") else "warn"), "verdict": r.get("verdict", ""),
    } for r in rows], columns=list(REFUTATION_COLUMNS)).astype(
        {c: "float64" for c in ("original estimate", "new estimate", "E-value", "E-value (CI)", "p-value")})
