"""Tests of the effect estimators: the shared contract, hand-computed cases, and statistics on
simulated data with a known effect.

Statistical checks use tolerances derived from each estimator's own standard error (|est - truth|
< 4 SE) or from binomial Monte-Carlo error (coverage over 100 seeds); every seed is fixed.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from numpy.polynomial.hermite_e import hermegauss
from scipy import special

from causalrec_core.effects import (
    AIPW,
    ESTIMATORS,
    IPW,
    EffectResult,
    Matching,
    NaiveDifference,
    OutcomeRegression,
    balance,
    make_estimator,
)
from causalrec_core.effects import estimators as est_mod
from causalrec_core.errors import EstimationError, NotFittedError, ParameterError
from causalrec_core.simulate import simulate

ALL = sorted(ESTIMATORS)
ADJUSTED = ["regression", "ipw", "aipw", "matching"]


# ----------------------------------------------------------------------------- simulators

# confounded design: x ~ N(0, I_2); e(x) = sigma(-0.3 + 0.8 x1 - 0.5 x2)
_PROP = (-0.3, 0.8, -0.5)
# binary outcome: P(y=1 | x, t) = sigma(-1 + 0.8 t + x1 + 0.4 x2)
_OUT_BIN = (-1.0, 0.8, 1.0, 0.4)


def _true_binary_ate() -> float:
    """E[sigma(a + b + c x1 + d x2) - sigma(a + c x1 + d x2)] for x ~ N(0, I_2), by quadrature."""
    a, b, c, d = _OUT_BIN
    nodes, weights = hermegauss(80)
    weights = weights / weights.sum()
    x1, x2 = np.meshgrid(nodes, nodes, indexing="ij")
    w = np.outer(weights, weights)
    return float(np.sum(w * (special.expit(a + b + c * x1 + d * x2) - special.expit(a + c * x1 + d * x2))))


TRUE_BINARY_ATE = _true_binary_ate()
TRUE_CONT_ATE = 1.0  # continuous outcome: effect 1 + 0.5 x1 with E[x1] = 0


def confounded(n: int, seed: int, *, binary: bool) -> dict:
    """One draw of the confounded design; 'e' is the true propensity, 'att' the sample ATT."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    e = special.expit(_PROP[0] + _PROP[1] * X[:, 0] + _PROP[2] * X[:, 1])
    t = (rng.random(n) < e).astype(int)
    if binary:
        a, b, c, d = _OUT_BIN
        y = (rng.random(n) < special.expit(a + b * t + c * X[:, 0] + d * X[:, 1])).astype(int)
        ate = TRUE_BINARY_ATE
        att = float(np.mean((special.expit(a + b + c * X[:, 0] + d * X[:, 1])
                             - special.expit(a + c * X[:, 0] + d * X[:, 1]))[t == 1]))
    else:
        effect = 1.0 + 0.5 * X[:, 0]
        y = 2.0 + effect * t + X[:, 0] + 0.5 * X[:, 1] + rng.normal(size=n)
        ate, att = TRUE_CONT_ATE, float(effect[t == 1].mean())
    return {"X": X, "t": t, "y": y, "e": e, "ate": ate, "att": att}


@pytest.fixture(scope="module")
def small() -> dict:
    return confounded(600, 11, binary=True)


@pytest.fixture(scope="module")
def product() -> dict:
    """Product simulator (2000 users x 60 candidates = 120k pairs), seed 0: unit = candidate pair."""
    sim = simulate(n_users=2000, n_items=500, seed=0)
    p = sim.pairs
    return {
        "X": np.column_stack([np.log(p["user_activity"]), np.log(p["item_popularity"])]),
        "t": p["exposed"].to_numpy(), "y": p["purchased"].to_numpy(), "e": p["propensity"].to_numpy(),
        "ate": sim.truth["ate_exposure_purchase"], "att": sim.truth["att_exposure_purchase"],
    }


def _fast(name: str, **params) -> est_mod.EffectEstimator:
    """An estimator with a small bootstrap (contract tests)."""
    params.setdefault("n_bootstrap", 20)
    return make_estimator(name, **params)


# ----------------------------------------------------------------------------- contract


@pytest.mark.parametrize("name", ALL)
def test_init_only_stores_params_and_get_set_params(name: str) -> None:
    est = make_estimator(name, seed=3)
    assert vars(est) == est.get_params()
    assert est.get_params()["seed"] == 3
    assert est.set_params(seed=4) is est and est.seed == 4
    with pytest.raises(ParameterError, match="parameter='nope' is not supported"):
        est.set_params(nope=1)
    assert "seed=4" in repr(est)


@pytest.mark.parametrize("name", ALL)
def test_fit_returns_self_and_learned_attributes_end_in_underscore(name: str, small: dict) -> None:
    est = make_estimator(name)
    params = set(est.get_params())
    assert est.fit(small["X"], small["t"], small["y"]) is est
    learned = set(vars(est)) - params
    assert learned and all(k.endswith("_") and not k.startswith("_") for k in learned)
    for attr in ("ate_", "att_", "se_ate_", "se_att_", "ci_ate_", "ci_att_", "n_", "n_treated_"):
        assert attr in learned
    assert est.n_ == 600 and est.n_treated_ == int(small["t"].sum())
    assert est.outcome_type_ == "binary"
    assert est.ci_ate_[0] < est.ate_ < est.ci_ate_[1]
    assert est.se_ate_ > 0 and est.se_att_ > 0


@pytest.mark.parametrize("name", ALL)
def test_not_fitted_error_before_fit(name: str) -> None:
    est = make_estimator(name)
    with pytest.raises(NotFittedError, match="not fitted"):
        _ = est.ate_
    with pytest.raises(NotFittedError):
        est.result("ate")
    with pytest.raises(AttributeError):  # NotFittedError is an AttributeError: hasattr works
        _ = est.ci_att_
    assert not hasattr(est, "se_ate_")


@pytest.mark.parametrize("name", ALL)
def test_non_binary_t_is_a_parameter_error_naming_t_and_values(name: str, small: dict) -> None:
    t = small["t"].astype(float)
    t[:3] = [2.0, 0.5, 3.0]
    with pytest.raises(ParameterError, match=r"t must be a binary 0/1 treatment; found values: 0, 0.5, 1, 2, 3"):
        make_estimator(name).fit(small["X"], t, small["y"])


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("which", ["X", "t", "y", "sample_weight"])
def test_mismatched_lengths_are_parameter_errors(name: str, which: str, small: dict) -> None:
    args = {"X": small["X"], "t": small["t"], "y": small["y"], "sample_weight": np.ones(600)}
    args[which] = args[which][:-1]
    with pytest.raises(ParameterError, match="one row per unit; got lengths"):
        make_estimator(name).fit(args["X"], args["t"], args["y"], sample_weight=args["sample_weight"])


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("which", ["X", "t", "y"])
def test_nan_is_a_parameter_error(name: str, which: str, small: dict) -> None:
    args = {"X": small["X"].copy(), "t": small["t"].astype(float), "y": small["y"].astype(float)}
    if which == "X":
        args["X"][5, 1] = np.nan
    else:
        args[which][5] = np.nan
    with pytest.raises(ParameterError, match=rf"{which} has 1 missing or infinite values"):
        make_estimator(name).fit(args["X"], args["t"], args["y"])


@pytest.mark.parametrize("name", ALL)
def test_other_invalid_inputs(name: str, small: dict) -> None:
    X, t, y = small["X"], small["t"], small["y"]
    with pytest.raises(ParameterError, match="X is invalid: it must be 2-D"):
        make_estimator(name).fit(X[:, 0], t, y)
    with pytest.raises(ParameterError, match="sample_weight is invalid"):
        make_estimator(name).fit(X, t, y, sample_weight=-np.ones(600))
    with pytest.raises(ParameterError, match="non-numeric columns"):
        make_estimator(name).fit(pd.DataFrame({"a": ["x"] * 600}), t, y)
    with pytest.raises(EstimationError, match="no control units"):
        make_estimator(name).fit(X, np.ones(600), y)
    with pytest.raises(ParameterError, match="ci_method='wald' is not supported; choose one of: 'auto'"):
        make_estimator(name, ci_method="wald").fit(X, t, y)
    with pytest.raises(ParameterError, match="n_bootstrap=5 is invalid"):
        make_estimator(name, n_bootstrap=5).fit(X, t, y)
    with pytest.raises(ParameterError, match="level=95 is invalid"):
        make_estimator(name, level=95).fit(X, t, y)


@pytest.mark.parametrize("name", ["naive", "regression"])
def test_propensity_is_refused_by_estimators_that_do_not_use_it(name: str, small: dict) -> None:
    with pytest.raises(ParameterError, match="propensity is not used by"):
        make_estimator(name).fit(small["X"], small["t"], small["y"], propensity=small["e"])


def test_mahalanobis_matching_refuses_propensity(small: dict) -> None:
    with pytest.raises(ParameterError, match="propensity is not used by 'matching'"):
        Matching(distance="mahalanobis").fit(small["X"], small["t"], small["y"], propensity=small["e"])


@pytest.mark.parametrize("name", ALL)
def test_reproducible_from_seed_and_independent_of_n_jobs(name: str, small: dict) -> None:
    X, t, y = small["X"], small["t"], small["y"]
    a = _fast(name, ci_method="bootstrap", seed=5, n_jobs=1).fit(X, t, y)
    b = _fast(name, ci_method="bootstrap", seed=5, n_jobs=2).fit(X, t, y)
    c = _fast(name, ci_method="bootstrap", seed=6, n_jobs=1).fit(X, t, y)
    np.testing.assert_array_equal(a.bootstrap_draws_, b.bootstrap_draws_)
    assert (a.ate_, a.se_ate_, a.ci_ate_, a.ci_att_) == (b.ate_, b.se_ate_, b.ci_ate_, b.ci_att_)
    assert a.se_ate_ != c.se_ate_
    d = make_estimator(name, seed=5).fit(X, t, y)
    e = make_estimator(name, seed=5).fit(X, t, y)
    assert d.result("att") == e.result("att")


@pytest.mark.parametrize("name", ALL)
def test_result_object(name: str, small: dict) -> None:
    est = make_estimator(name).fit(small["X"], small["t"], small["y"])
    res = est.result("att")
    assert isinstance(res, EffectResult)
    assert (res.estimand, res.estimate, res.se, res.n, res.method) == ("att", est.att_, est.se_att_, 600, name)
    assert (res.ci_low, res.ci_high) == est.ci_att_
    assert res.ci_method == est.ci_method_ == est_mod.ESTIMATORS[name].ci_methods[0]
    assert res.assumptions and all(isinstance(a, str) for a in res.assumptions)
    assert any("confounding" in a for a in res.assumptions)
    d = res.to_dict()
    assert json.loads(json.dumps(d)) == d
    with pytest.raises(ParameterError, match="estimand='atc' is not supported; choose one of: 'ate', 'att'"):
        est.result("atc")


@pytest.mark.parametrize("name", ALL)
def test_dataframe_input_and_unit_weights(name: str, small: dict) -> None:
    X, t, y = small["X"], small["t"], small["y"]
    base = make_estimator(name).fit(X, t, y)
    frame = make_estimator(name).fit(pd.DataFrame(X, columns=["a", "b"]), pd.Series(t), pd.Series(y))
    weighted = make_estimator(name).fit(X, t.astype(bool), y, sample_weight=np.ones(600))
    assert frame.feature_names_in_ == ["a", "b"] and base.feature_names_in_ is None
    for other in (frame, weighted):
        assert other.ate_ == pytest.approx(base.ate_, rel=1e-9, abs=1e-12)
        assert other.se_att_ == pytest.approx(base.se_att_, rel=1e-9)


@pytest.mark.parametrize("name", ["naive", "regression", "ipw"])
def test_integer_weights_equal_duplicated_rows(name: str, small: dict) -> None:
    X, t, y = small["X"], small["t"], small["y"]
    reps = np.random.default_rng(0).integers(1, 4, len(t))
    idx = np.repeat(np.arange(len(t)), reps)
    weighted = make_estimator(name).fit(X, t, y, sample_weight=reps)
    duplicated = make_estimator(name).fit(X[idx], t[idx], y[idx])
    assert weighted.ate_ == pytest.approx(duplicated.ate_, abs=1e-9)
    assert weighted.att_ == pytest.approx(duplicated.att_, abs=1e-9)


def test_registry_and_make_estimator() -> None:
    assert set(ESTIMATORS) == {"naive", "regression", "ipw", "aipw", "matching"}
    assert isinstance(make_estimator("aipw", n_folds=3), AIPW)
    with pytest.raises(ParameterError, match="method='ipw2' is not supported; choose one of: 'naive', 'regression'"):
        make_estimator("ipw2")
    with pytest.raises(ParameterError, match="parameter='n_folds' is not supported"):
        make_estimator("ipw", n_folds=3)


@pytest.mark.parametrize(("name", "params", "match"), [
    ("regression", {"learner": "forest"}, "learner='forest' is not supported; choose one of: 'linear', 'gbm'"),
    ("aipw", {"n_folds": 1}, "n_folds=1 is invalid: it must be an integer >= 2"),
    ("aipw", {"propensity_learner": "svm"}, "propensity_learner='svm' is not supported"),
    ("ipw", {"clip": (0.6, 0.9)}, "clip=.* is invalid"),
    ("ipw", {"normalize": "yes"}, "normalize='yes' is invalid: it must be True or False"),
    ("ipw", {"propensity_learner": "gbm", "ci_method": "influence_function"}, "not available for 'ipw'"),
    ("regression", {"learner": "gbm", "ci_method": "analytic"}, "not available with learner='gbm'"),
    ("matching", {"distance": "euclid"}, "distance='euclid' is not supported"),
    ("matching", {"n_neighbors": 0}, "n_neighbors=0 is invalid"),
    ("aipw", {"bootstrap_refit": "exact"}, "bootstrap_refit='exact' is not supported"),
])
def test_invalid_parameters(name: str, params: dict, match: str, small: dict) -> None:
    with pytest.raises(ParameterError, match=match):
        make_estimator(name, **params).fit(small["X"], small["t"], small["y"])


# ----------------------------------------------------------------------------- hand-computed cases


def test_naive_welch_by_hand() -> None:
    X = np.zeros((7, 1))
    t = np.array([1, 1, 1, 0, 0, 0, 0])
    y = np.array([3.0, 5.0, 7.0, 1.0, 2.0, 2.0, 3.0])
    est = NaiveDifference().fit(X, t, y)
    v1, v0 = 4.0 / 3, (2 / 3) / 4  # s^2 / n per arm
    assert est.ate_ == pytest.approx(3.0) and est.att_ == est.ate_
    assert est.se_ate_ == pytest.approx(math.sqrt(v1 + v0))
    df = (v1 + v0) ** 2 / (v1**2 / 2 + v0**2 / 3)
    from scipy import stats

    half = stats.t.ppf(0.975, df) * math.sqrt(v1 + v0)
    assert est.ci_ate_ == pytest.approx((3.0 - half, 3.0 + half))
    assert est.ci_method_ == "analytic"


def test_ipw_hajek_and_horvitz_thompson_by_hand() -> None:
    X = np.zeros((4, 1))
    t = np.array([1, 1, 0, 0])
    y = np.array([1.0, 0.0, 1.0, 0.0])
    e = np.array([0.5, 0.25, 0.5, 0.75])
    hajek = IPW().fit(X, t, y, propensity=e)
    ht = IPW(normalize=False).fit(X, t, y, propensity=e)
    # Hajek: treated weights 2, 4 -> mu1 = 2/6; control weights 2, 4 -> mu0 = 2/6
    assert hajek.ate_ == pytest.approx(0.0)
    # HT: (1/4)(1/0.5 - 1/0.5) = 0 too; ATT: (1 - 1 * 0.5/0.5) / 2 = 0
    assert ht.ate_ == pytest.approx(0.0)
    y2 = np.array([1.0, 1.0, 0.0, 1.0])
    hajek = IPW().fit(X, t, y2, propensity=e)
    ht = IPW(normalize=False).fit(X, t, y2, propensity=e)
    assert hajek.ate_ == pytest.approx(1.0 - 4 / 6)
    assert ht.ate_ == pytest.approx((2 + 4 - 4) / 4)
    # ATT: control odds e/(1-e) = 1, 3 -> Hajek mu0 = 3/4; HT: (2 - 3) / 2
    assert hajek.att_ == pytest.approx(1.0 - 0.75)
    assert ht.att_ == pytest.approx(-0.5)
    # HT ATE influence function with known propensities: term - ate
    term = t * y2 / e - (1 - t) * y2 / (1 - e)
    assert ht.se_ate_ == pytest.approx(math.sqrt(np.sum((term - ht.ate_) ** 2)) / 4)
    assert "known" in " ".join(ht.assumptions_)


def test_ipw_clipping_stabilization_and_overlap() -> None:
    d = confounded(3000, 4, binary=True)
    e = d["e"].copy()
    e[:7] = 0.001
    est = IPW().fit(d["X"], d["t"], d["y"], propensity=e)
    assert est.n_clipped_ == 7
    assert "overlap: propensities clipped to [0.01, 0.99] (7 units affected)" in est.assumptions_
    assert est.propensity_.min() == pytest.approx(0.01)
    stab = IPW(stabilized=True).fit(d["X"], d["t"], d["y"], propensity=e)
    assert stab.ate_ == pytest.approx(est.ate_) and stab.se_ate_ == pytest.approx(est.se_ate_)
    assert not np.allclose(stab.weights_, est.weights_)
    pt = d["t"].mean()
    np.testing.assert_allclose(stab.weights_, np.where(d["t"] == 1, pt, 1 - pt) * est.weights_)
    e0 = e.copy()
    e0[np.flatnonzero(d["t"] == 1)[0]] = 0.0
    with pytest.raises(EstimationError, match="overlap is violated"):
        IPW(clip=None).fit(d["X"], d["t"], d["y"], propensity=e0)
    assert IPW(clip=None).fit(d["X"], d["t"], d["y"], propensity=d["e"]).n_clipped_ == 0


def test_matching_by_hand() -> None:
    X = np.array([[0.0], [0.0], [1.0], [1.0], [5.0]])
    t = np.array([0, 1, 0, 1, 0])
    y = np.array([1.0, 3.0, 2.0, 6.0, 10.0])
    est = Matching(distance="mahalanobis", bias_correction=False).fit(X, t, y)
    # unit 0 <-> 1 (effect 2), unit 2 <-> 3 (4), unit 4 (x=5) -> nearest treated unit 3: 6 - 10
    assert est.ate_ == pytest.approx((2 + 2 + 4 + 4 - 4) / 5)
    assert est.att_ == pytest.approx(3.0)
    np.testing.assert_allclose(est.match_counts_, [1, 1, 1, 2, 0])


def test_glm_solver_matches_scikit_learn() -> None:
    from sklearn.linear_model import LinearRegression, LogisticRegression

    d = confounded(2000, 3, binary=True)
    design = est_mod._DesignMatrix(d["X"])
    beta = est_mod._fit_glm(design.Z, d["t"].astype(float), np.ones(2000), binary=True, what="test")
    sk = LogisticRegression(C=1e6, max_iter=1000, tol=1e-10).fit(design.Z[:, 1:], d["t"])
    np.testing.assert_allclose(special.expit(design.Z @ beta), sk.predict_proba(design.Z[:, 1:])[:, 1], atol=1e-6)
    yc = confounded(2000, 3, binary=False)["y"]
    beta = est_mod._fit_glm(design.Z, yc, np.ones(2000), binary=False, what="test")
    lin = LinearRegression().fit(design.Z[:, 1:], yc)
    np.testing.assert_allclose(design.Z @ beta, lin.predict(design.Z[:, 1:]), atol=1e-6)


def test_constant_binary_outcome_in_an_arm_is_an_estimation_error(small: dict) -> None:
    y = small["y"].copy()
    y[small["t"] == 1] = 0
    with pytest.raises(EstimationError, match="binary target is constant"):
        OutcomeRegression().fit(small["X"], small["t"], y)


# ----------------------------------------------------------------------------- bootstrap


@pytest.mark.parametrize(("name", "extra"), [
    ("regression", "plain"), ("regression", "weights"), ("ipw", "plain"), ("ipw", "weights"),
    ("ipw", "propensity"), ("aipw", "plain"), ("aipw", "weights"), ("aipw", "propensity"),
])
@pytest.mark.parametrize("binary", [True, False])
def test_vectorised_bootstrap_equals_refitting_on_resampled_rows(name: str, binary: bool, extra: str) -> None:
    d = confounded(800, 21, binary=binary)
    kw = {}
    if extra == "weights":
        kw["sample_weight"] = np.random.default_rng(1).uniform(0.5, 2.0, 800)
    elif extra == "propensity":
        kw["propensity"] = d["e"]
    fast = make_estimator(name, ci_method="bootstrap", n_bootstrap=12, bootstrap_refit="newton")
    slow = make_estimator(name, ci_method="bootstrap", n_bootstrap=12, bootstrap_refit="newton")
    slow._fast_bootstrap = lambda *args: None  # force the row-resampling path
    fast.fit(d["X"], d["t"], d["y"], **kw)
    slow.fit(d["X"], d["t"], d["y"], **kw)
    assert "vectorised" in " ".join(fast.notes_) and "resampled units" in " ".join(slow.notes_)
    np.testing.assert_allclose(fast.bootstrap_draws_, slow.bootstrap_draws_, rtol=0, atol=1e-4 * fast.se_ate_)


def test_one_step_refit_is_close_to_newton_for_large_n() -> None:
    d = confounded(40_000, 8, binary=True)
    a = AIPW(ci_method="bootstrap", n_bootstrap=20, bootstrap_refit="one_step").fit(d["X"], d["t"], d["y"])
    b = AIPW(ci_method="bootstrap", n_bootstrap=20, bootstrap_refit="newton").fit(d["X"], d["t"], d["y"])
    assert np.max(np.abs(a.bootstrap_draws_ - b.bootstrap_draws_)) < 0.05 * b.se_ate_
    assert "one Newton step" in " ".join(a.notes_) and "iterated to convergence" in " ".join(b.notes_)


def test_gbm_learners_use_the_row_resampling_bootstrap(small: dict) -> None:
    X, t, y = small["X"][:200], small["t"][:200], small["y"][:200]
    est = AIPW(learner="gbm", propensity_learner="gbm", n_folds=2, ci_method="bootstrap", n_bootstrap=10).fit(X, t, y)
    assert "every nuisance model refitted on the resampled units" in " ".join(est.notes_)
    assert np.isfinite(est.bootstrap_draws_).all()
    assert AIPW(learner="gbm", n_folds=2).fit(X, t, y).ci_method_ == "influence_function"
    # no analytic / IF formula for boosted trees: 'auto' means the bootstrap
    assert OutcomeRegression(learner="gbm")._auto_ci(False) == "bootstrap"
    assert IPW(propensity_learner="gbm")._auto_ci(False) == "bootstrap"
    assert IPW(propensity_learner="gbm")._auto_ci(True) == "influence_function"  # known propensities


def test_matching_bootstrap_warns_it_is_not_consistent(small: dict) -> None:
    est = Matching(ci_method="bootstrap", n_bootstrap=10).fit(small["X"], small["t"], small["y"])
    assert any("Abadie and Imbens, 2008" in n for n in est.notes_)


# ----------------------------------------------------------------------------- statistics


@pytest.mark.parametrize("binary", [True, False])
def test_adjusted_estimators_recover_the_effect_and_naive_is_biased(binary: bool) -> None:
    d = confounded(6000, 2, binary=binary)
    naive = NaiveDifference().fit(d["X"], d["t"], d["y"])
    assert abs(naive.ate_ - d["ate"]) > 4 * naive.se_ate_
    for name in ADJUSTED:
        est = make_estimator(name).fit(d["X"], d["t"], d["y"])
        assert abs(est.ate_ - d["ate"]) < 4 * est.se_ate_, name
        assert abs(est.att_ - d["att"]) < 4 * est.se_att_, name
        if name in ("ipw", "aipw", "matching"):
            known = make_estimator(name).fit(d["X"], d["t"], d["y"], propensity=d["e"])
            assert abs(known.ate_ - d["ate"]) < 4 * known.se_ate_, name


def test_product_simulator_naive_is_biased_adjusted_estimators_are_not(product: dict) -> None:
    X, t, y, e = product["X"], product["t"], product["y"], product["e"]
    naive = NaiveDifference().fit(X, t, y)
    assert naive.ate_ - product["ate"] > 4 * naive.se_ate_
    for name in ADJUSTED:
        est = make_estimator(name).fit(X, t, y)
        assert abs(est.ate_ - product["ate"]) < 4 * est.se_ate_, name
        assert abs(est.att_ - product["att"]) < 4 * est.se_att_, name
    for name in ("ipw", "aipw"):
        est = make_estimator(name).fit(X, t, y, propensity=e)
        assert abs(est.ate_ - product["ate"]) < 4 * est.se_ate_, name
        assert any("known propensity" in a for a in est.assumptions_)


def test_product_simulator_aipw_bootstrap(product: dict) -> None:
    boot = AIPW(ci_method="bootstrap", n_bootstrap=100).fit(product["X"], product["t"], product["y"])
    infl = AIPW().fit(product["X"], product["t"], product["y"])
    assert boot.ate_ == infl.ate_
    assert abs(boot.ate_ - product["ate"]) < 4 * boot.se_ate_
    assert boot.se_ate_ == pytest.approx(infl.se_ate_, rel=0.25)
    assert "one Newton step" in " ".join(boot.notes_)  # 120k units: bootstrap_refit='auto' -> one_step


def test_aipw_interval_covers_the_truth_in_90_to_98_percent_of_100_seeds() -> None:
    hits, z = [], []
    for seed in range(100):
        d = confounded(2000, 1000 + seed, binary=True)
        est = AIPW(seed=seed).fit(d["X"], d["t"], d["y"])
        hits.append(est.ci_ate_[0] <= d["ate"] <= est.ci_ate_[1])
        z.append((est.ate_ - d["ate"]) / est.se_ate_)
    coverage = float(np.mean(hits))
    assert 0.90 <= coverage <= 0.98, coverage
    assert abs(np.mean(z)) < 4 / math.sqrt(100)  # no bias beyond Monte-Carlo error


def test_ipw_influence_function_accounts_for_propensity_estimation() -> None:
    """The M-estimation SE matches the Monte-Carlo SD of the estimate over 100 seeds, and is
    smaller than the SE that treats the fitted propensity as known."""
    estimates, ses = [], []
    for seed in range(100):
        d = confounded(1500, 5000 + seed, binary=False)
        est = IPW().fit(d["X"], d["t"], d["y"])
        estimates.append(est.ate_)
        ses.append(est.se_ate_)
        if seed == 0:
            naive_if = est_mod._ipw_if_known(d["t"].astype(float), d["y"], np.ones(1500), est.propensity_, True,
                                             est.ate_, est.att_)[0]
            assert est.se_ate_ < math.sqrt(np.sum(naive_if**2)) / 1500
    ratio = np.mean(ses) / np.std(estimates, ddof=1)
    assert 0.8 < ratio < 1.2, ratio


def test_weighting_balances_the_covariates() -> None:
    d = confounded(5000, 9, binary=True)
    est = IPW().fit(d["X"], d["t"], d["y"])
    table = balance(d["X"], d["t"], weights=est.weights_)
    assert table["smd"].abs().max() > 0.3
    assert table["smd_weighted"].abs().max() < 0.1
    assert not table["imbalanced"].any()


# ----------------------------------------------------------------------------- degenerate covariates


def _degenerate_frame(kind: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """A small frame like a tiny CSV import (40 pairs): 40% treated, a binary outcome, and covariates
    that are constant ('constant': the browser review's case), partly constant, or collinear."""
    rng = np.random.default_rng(0)
    n = 40
    t = (np.arange(n) % 5 < 2).astype(float)
    y = rng.integers(0, 2, n).astype(float)
    a = rng.normal(size=n)
    X = {
        "constant": pd.DataFrame({"user_activity": np.full(n, 2.0794), "item_popularity": np.full(n, 1.7918)}),
        "one_constant": pd.DataFrame({"user_activity": a, "item_popularity": np.full(n, 1.7918)}),
        "collinear": pd.DataFrame({"user_activity": a, "item_popularity": 2 * a + 1}),
    }[kind]
    return X, t, y


@pytest.mark.parametrize("ci", ["auto", "bootstrap"])
@pytest.mark.parametrize("method", ADJUSTED)
@pytest.mark.parametrize(("kind", "named", "says"), [
    ("constant", ["'user_activity' (every value 2.079)", "'item_popularity' (every value 1.792)"], "constant"),
    ("one_constant", ["'item_popularity' (every value 1.792)"], "constant"),
    ("collinear", ["the covariates user_activity, item_popularity are perfectly"], "perfectly collinear"),
])
def test_constant_or_collinear_covariates_raise_a_clear_estimation_error(method, ci, kind, named, says):
    """No raw LinAlgError ('Singular matrix') and no numbers from a singular fit: every adjusted
    estimator refuses the covariates with an EstimationError that names them and says what to do."""
    X, t, y = _degenerate_frame(kind)
    kw = {"ci_method": "bootstrap", "n_bootstrap": 20} if ci == "bootstrap" else {}
    with pytest.raises(EstimationError) as err:
        make_estimator(method, seed=0, **kw).fit(X, t, y)
    msg = str(err.value)
    assert says in msg and "all 40 units" in msg, msg
    for name in named:
        assert name in msg, msg
    assert "Remove" in msg and "adjustment set" in msg
    assert "Singular" not in msg


def test_naive_ignores_degenerate_covariates():
    X, t, y = _degenerate_frame("constant")
    assert make_estimator("naive").fit(X, t, y).ate_ == pytest.approx(y[t == 1].mean() - y[t == 0].mean())


def test_known_propensity_ipw_does_not_model_the_covariates():
    X, t, y = _degenerate_frame("constant")
    est = make_estimator("ipw").fit(X, t, y, propensity=np.full(len(t), 0.4))
    assert math.isfinite(est.ate_) and math.isfinite(est.se_ate_)


@pytest.mark.parametrize(("method", "what"), [("regression", "outcome model of the treated arm"),
                                              ("aipw", "outcome model of the treated arm"),
                                              ("matching", "bias-correction regression of the treated arm")])
def test_covariate_constant_within_one_arm_is_named(method, what):
    rng = np.random.default_rng(1)
    n = 60
    t = (np.arange(n) % 2).astype(float)
    y = rng.normal(size=n)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": np.where(t == 1, 1.0, rng.normal(size=n))})
    with pytest.raises(EstimationError, match=f"cannot fit the {what}: the covariate 'b' .* constant on the 30 "
                                              "treated units"):
        make_estimator(method, seed=0).fit(X, t, y)


def test_too_few_units_for_the_covariates():
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(4, 4)), columns=list("abcd"))
    with pytest.raises(EstimationError, match="only 4 units for 4 covariate"):
        make_estimator("ipw").fit(X, [0, 1, 0, 1], [0.0, 1.0, 1.0, 0.0])


def test_singular_influence_function_hessian_is_an_estimation_error():
    """The safety net of the M-estimation SEs: a singular Hessian is an EstimationError, not a LinAlgError."""
    Z = np.column_stack([np.ones(6), np.zeros(6)])
    with pytest.raises(EstimationError, match="Hessian of the propensity model is singular"):
        est_mod._logistic_if(Z, np.array([0, 1, 0, 1, 0, 1.0]), np.ones(6), np.full(6, 0.5))
    with pytest.raises(EstimationError, match="Hessian of the outcome model is singular"):
        est_mod._glm_if(Z, np.ones(6), np.ones(6), np.full(6, 0.5), np.ones(6), True)
