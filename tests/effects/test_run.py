"""causalrec_core.effects.run: the design and ATE run shared by the Effects page and the CLI."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from causalrec_core.effects.estimators import make_estimator
from causalrec_core.effects.run import estimate_ate, prepare_design
from causalrec_core.errors import ParameterError


def _data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    act = rng.lognormal(1.0, 1.0, n)  # raw-scale, right-skewed
    e = 1 / (1 + np.exp(-(np.log1p(act) - 1.5)))
    t = (rng.random(n) < e).astype(int)
    y = (rng.random(n) < 0.1 + 0.1 * t + 0.05 * np.log1p(act) / 3).astype(int)
    return pd.DataFrame({"user_activity": act, "exposed": t, "purchased": y, "propensity": e})


def test_estimate_ate_equals_the_estimator_on_the_log_design():
    data = _data()
    out = estimate_ate(data, "exposed", "purchased", ["user_activity"], ["aipw"], seed=3)
    X = pd.DataFrame({"user_activity": np.log1p(data["user_activity"])})
    direct = make_estimator("aipw", seed=3).fit(X, data["exposed"].astype(float).to_numpy(),
                                                data["purchased"].astype(float).to_numpy()).result("ate")
    assert out["results"][0]["estimate"] == pytest.approx(direct.estimate, rel=1e-12)
    assert out["results"][0]["propensity"] == "fitted"
    assert any("log1p" in n for n in out["notes"])


def test_logged_propensity_rows_outside_0_1_dropped_and_subsample_noted():
    data = _data()
    data.loc[:4, "propensity"] = 1.0
    d = prepare_design(data, "exposed", "purchased", ["user_activity"], propensity_column="propensity",
                       seed=1, max_rows=300)
    assert len(d.t) == 300 and d.e is not None and ((d.e > 0) & (d.e < 1)).all()
    assert any("outside (0, 1)" in n for n in d.notes)
    assert any("random subsample of 300 of 600 rows (seed 1)" in n for n in d.notes)
    out = estimate_ate(data, "exposed", "purchased", ["user_activity"], ["ipw"], propensity_column="propensity")
    assert out["results"][0]["propensity"] == "logged (known)"


def test_bad_choices_are_parameter_errors():
    data = _data(100)
    with pytest.raises(ParameterError, match="different"):
        prepare_design(data, "exposed", "exposed", [])
    with pytest.raises(ParameterError, match=r"covariates nope are not columns"):
        prepare_design(data, "exposed", "purchased", ["nope"])
    with pytest.raises(ParameterError, match="at least one estimator"):
        estimate_ate(data, "exposed", "purchased", [], [])


def test_estimate_ate_on_constant_covariates_is_a_clear_error():
    """The browser review's case (a 40-row import whose covariates are constant): the page's core call
    raises an EstimationError naming the covariates, not numpy's 'LinAlgError: Singular matrix'."""
    from causalrec_core.errors import EstimationError

    rng = np.random.default_rng(0)
    n = 40
    data = pd.DataFrame({"viewed": (np.arange(n) % 5 < 2).astype(int), "purchased": rng.integers(0, 2, n),
                         "user_activity": np.full(n, 2.0794), "item_popularity": np.full(n, 1.7918)})
    for method in ("regression", "ipw", "aipw", "matching"):
        with pytest.raises(EstimationError, match="'user_activity' .* and 'item_popularity' .* are constant"):
            estimate_ate(data, "viewed", "purchased", ["user_activity", "item_popularity"], [method])
        # with naive alongside, naive is still estimated and the failure is reported with its estimator's name
        out = estimate_ate(data, "viewed", "purchased", ["user_activity", "item_popularity"], ["naive", method])
        assert [r["method"] for r in out["results"]] == ["naive"]
        assert [e["method"] for e in out["errors"]] == [method]
        assert re.search("'user_activity' .* and 'item_popularity' .* are constant", out["errors"][0]["error"])
    out = estimate_ate(data, "viewed", "purchased", [], ["naive", "regression", "ipw"])  # without them: no adjustment
    naive, regression, ipw = (r["estimate"] for r in out["results"])
    assert regression == pytest.approx(naive) and ipw == pytest.approx(naive)


def _view_before_purchase(n=800, seed=0):
    """A log where a purchase never happens without a view (the browser review's case): the outcome
    is constant (0) among the units not viewed."""
    rng = np.random.default_rng(seed)
    act, pop = rng.lognormal(1, 1, n), rng.lognormal(1, 1, n)
    viewed = (rng.random(n) < 1 / (1 + np.exp(-(np.log1p(act) - 1.5)))).astype(int)
    purchased = ((rng.random(n) < 0.3) & (viewed == 1)).astype(int)
    return pd.DataFrame({"user_activity": act, "item_popularity": pop, "viewed": viewed, "purchased": purchased})


def test_one_failing_estimator_does_not_wipe_out_the_others():
    data = _view_before_purchase()
    covs = ["user_activity", "item_popularity"]
    out = estimate_ate(data, "viewed", "purchased", covs, ["naive", "ipw", "aipw"], seed=0)
    assert [r["method"] for r in out["results"]] == ["naive", "ipw"]
    alone = estimate_ate(data, "viewed", "purchased", covs, ["naive", "ipw"], seed=0)
    assert [r["estimate"] for r in out["results"]] == [r["estimate"] for r in alone["results"]]
    assert alone["errors"] == []
    (err,) = out["errors"]
    n0 = int((data["viewed"] == 0).sum())
    assert err["method"] == "aipw"
    assert err["error"].startswith(f"purchased is always 0 among the {n0:,} units with viewed = 0 (not viewed), "
                                   "so the outcome model of that arm cannot be fitted")
    assert "naive difference and IPW do not need" in err["error"]


def test_every_estimator_failing_is_one_error_naming_each():
    from causalrec_core.errors import EstimationError

    data = _view_before_purchase()
    with pytest.raises(EstimationError, match=r"no estimator could be fitted: regression: purchased is always 0 .* "
                                              r"aipw: purchased is always 0"):
        estimate_ate(data, "viewed", "purchased", ["user_activity"], ["regression", "aipw"])
    with pytest.raises(ParameterError, match="nope"):  # an unknown estimator is still the caller's error
        estimate_ate(data, "viewed", "purchased", ["user_activity"], ["naive", "nope"])
