"""Refuters and the E-value (causalrec_core.effects.refute) on data with a known effect."""

from __future__ import annotations

import math

import numpy as np
import pytest

from causalrec_core.effects import make_estimator
from causalrec_core.effects.refute import (
    data_subsets,
    e_value,
    placebo_treatment,
    random_common_cause,
    unobserved_confounder,
)
from causalrec_core.errors import ParameterError

TRUE_ATE = 1.0
KEYS = {"refuter", "estimate_before", "estimate_after", "passed", "verdict"}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    n = 3000
    X = rng.normal(size=(n, 2))
    t = (rng.random(n) < 1 / (1 + np.exp(-X[:, 0]))).astype(float)
    y = TRUE_ATE * t + X[:, 0] + 0.5 * X[:, 1] + rng.normal(size=n)
    for arr in (X, t, y):
        arr.setflags(write=False)
    return X, t, y


def _check_shape(res, name):
    assert KEYS <= set(res) and res["refuter"] == name
    assert isinstance(res["passed"], bool)
    assert isinstance(res["verdict"], str) and res["verdict"].endswith(".")


def test_placebo_treatment_passes_and_reports_a_small_p_value(data):
    X, t, y = data
    res = placebo_treatment("aipw", X, t, y, n_sims=8, seed=0)
    _check_shape(res, "placebo_treatment")
    assert res["passed"]
    assert abs(res["estimate_before"] - TRUE_ATE) < 0.15
    assert abs(res["estimate_after"]) < 3 * res["placebo_sd"] / math.sqrt(8) + 1e-12
    assert res["p_value"] == pytest.approx(1 / 9)  # no placebo comes near the real effect
    assert res["interval"][0] < 0 < res["interval"][1]


def test_placebo_verdict_reports_the_share_exceeded_and_the_p_value_floor(data):
    """The real effect (~1) is far above every placebo effect: the verdict must say 'than 3 of the 3
    placebo effects (100%)', not '75%' (1 - the p-value, whose floor is 1/(3+1) with 3 refits)."""
    X, t, y = data
    res = placebo_treatment("regression", X, t, y, n_sims=3, seed=0)
    assert res["share_exceeded"] == 1.0
    assert res["p_value"] == pytest.approx(0.25) and res["p_value_floor"] == pytest.approx(0.25)
    assert "than 3 of the 3 placebo effects (100%)" in res["verdict"]
    assert "75%" not in res["verdict"]
    assert "smallest possible p-value is 1/(3 + 1) = 0.25" in res["verdict"]


def test_placebo_share_counts_placebo_effects_larger_than_the_estimate():
    """With no effect at all, the real estimate exceeds only some placebo effects: the share is
    #{|placebo| < |estimate|} / n_sims, and the p-value is (1 + #{|placebo| >= |estimate|}) / (n + 1)."""
    rng = np.random.default_rng(3)
    n = 400
    X = rng.normal(size=(n, 1))
    t = (rng.random(n) < 0.5).astype(float)
    y = X[:, 0] + rng.normal(size=n)
    res = placebo_treatment("regression", X, t, y, n_sims=9, seed=0)
    k = round(res["share_exceeded"] * 9)
    assert res["p_value"] == pytest.approx((1 + 9 - k) / 10)
    assert f"than {k} of the 9 placebo effects ({k / 9:.0%})" in res["verdict"]


def test_placebo_treatment_accepts_a_factory_and_is_reproducible(data):
    X, t, y = data
    make = lambda: make_estimator("regression", seed=0)  # noqa: E731
    a = placebo_treatment(make, X, t, y, n_sims=4, seed=3)
    b = placebo_treatment(make, X, t, y, n_sims=4, seed=3)
    assert a == b


def test_random_common_cause_does_not_move_the_estimate(data):
    X, t, y = data
    res = random_common_cause("aipw", X, t, y, n_sims=3, seed=0)
    _check_shape(res, "random_common_cause")
    assert res["passed"]
    assert abs(res["estimate_after"] - res["estimate_before"]) <= res["se"]


def test_data_subsets_are_stable(data):
    X, t, y = data
    res = data_subsets("aipw", X, t, y, frac=0.8, n_sims=5, seed=0)
    _check_shape(res, "data_subsets")
    assert res["passed"]
    assert res["interval"][0] <= res["estimate_after"] <= res["interval"][1]
    with pytest.raises(ParameterError, match="frac=1.5"):
        data_subsets("aipw", X, t, y, frac=1.5)


def test_unobserved_confounder_strength_moves_the_estimate(data):
    X, t, y = data
    weak = unobserved_confounder("aipw", X, t, y, strength_t=0.0, strength_y=0.0, seed=0)
    strong = unobserved_confounder("aipw", X, t, y, strength_t=3.0, strength_y=3.0, seed=0)
    _check_shape(strong, "unobserved_confounder")
    assert abs(weak["shift"]) <= weak["se"]
    assert weak["passed"]
    # a strong confounder correlated with t and y absorbs much of the effect
    assert abs(strong["shift"]) > 5 * strong["se"]
    assert strong["estimate_after"] < strong["estimate_before"]


def test_unobserved_confounder_omitted_from_data_biases_the_estimate():
    # the confounder U is real here: leaving it out biases the estimate; adjusting recovers it
    rng = np.random.default_rng(11)
    n = 3000
    u = rng.normal(size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(-1.5 * u))).astype(float)
    y = 0.5 * t + 1.5 * u + rng.normal(size=n)
    x = rng.normal(size=(n, 1))
    without = make_estimator("aipw", seed=0).fit(x, t, y).ate_
    with_u = make_estimator("aipw", seed=0).fit(np.column_stack([x, u]), t, y).ate_
    assert abs(with_u - 0.5) < 0.15 < abs(without - 0.5)


def test_e_value_matches_hand_computation():
    # RD = 0.1 on a control risk of 0.2: RR = 1.5, E = 1.5 + sqrt(1.5 * 0.5)
    res = e_value(0.1, (0.05, 0.15), baseline_risk=0.2)
    assert res["risk_ratio"] == pytest.approx(1.5)
    assert res["e_value"] == pytest.approx(1.5 + math.sqrt(0.75))          # 2.3660
    assert res["e_value_ci"] == pytest.approx(1.25 + math.sqrt(1.25 * 0.25))  # lower limit RR 1.25
    assert res["passed"]
    # a protective effect uses 1 / RR; a CI crossing no effect has E-value 1
    prot = e_value(-0.1, (-0.15, 0.02), baseline_risk=0.2)
    assert prot["e_value"] == pytest.approx(2 + math.sqrt(2))
    assert prot["e_value_ci"] == 1.0 and not prot["passed"]
    # continuous outcome: RR = exp(0.91 * d)
    cont = e_value(0.5, outcome_sd=1.0)
    rr = math.exp(0.455)
    assert cont["e_value"] == pytest.approx(rr + math.sqrt(rr * (rr - 1)))
    assert cont["e_value_ci"] is None


def test_e_value_errors():
    with pytest.raises(ParameterError, match="exactly one"):
        e_value(0.1)
    with pytest.raises(ParameterError, match="baseline_risk"):
        e_value(0.1, baseline_risk=1.5)
    with pytest.raises(ParameterError, match="outside"):
        e_value(0.9, baseline_risk=0.2)


def test_refute_all_runs_every_refuter_and_tabulates(data):
    from causalrec_core.effects.refute import REFUTERS, refutation_table, refute_all

    X, t, y = data
    rows = refute_all("regression", X, t, y, n_sims=2, seed=1)
    assert [r["refuter"] for r in rows] == list(REFUTERS)
    assert all((r["status"] == "pass") == r["passed"] and r["status"] in ("pass", "warn", "fail") for r in rows)
    table = refutation_table(rows)
    assert list(table.columns) == ["refuter", "what is done", "original estimate", "new estimate", "E-value",
                                   "E-value (CI)", "p-value", "status", "verdict"]
    assert table.loc[0, "new estimate"] == pytest.approx(rows[0]["estimate_after"])
    # the E-value (a risk ratio, not an ATE) has its own column; its row has no 'new estimate'
    assert table.loc[4, "E-value"] == pytest.approx(rows[4]["e_value"])  # continuous outcome: E-value per SD
    assert table.loc[4, "E-value (CI)"] == pytest.approx(rows[4]["e_value_ci"])
    assert math.isnan(table.loc[4, "new estimate"])
    assert table["E-value"].iloc[:4].isna().all()
    assert table.loc[0, "p-value"] == pytest.approx(rows[0]["p_value"]) and table["p-value"].iloc[1:].isna().all()
    assert rows[0]["passed"] and rows[2]["passed"]  # placebo ~ 0; subsets stable
    yb = (y > np.median(y)).astype(float)
    rows_b = refute_all("regression", X, t, yb, n_sims=1, seed=1)
    assert rows_b[-1]["refuter"] == "e_value" and rows_b[-1]["e_value"] > 1


def test_refuters_on_constant_covariates_raise_a_clear_error():
    """Refuting on degenerate covariates is the estimator's EstimationError naming them (from a frame:
    the refits keep the covariates' names), never a raw LinAlgError."""
    import pandas as pd

    from causalrec_core.effects.refute import refute_all
    from causalrec_core.errors import EstimationError

    n = 40
    t = (np.arange(n) % 5 < 2).astype(float)
    y = np.random.default_rng(0).integers(0, 2, n).astype(float)
    X = pd.DataFrame({"user_activity": np.full(n, 2.0794), "item_popularity": np.full(n, 1.7918)})
    for method in ("regression", "ipw", "aipw", "matching"):
        with pytest.raises(EstimationError, match="'user_activity' .* constant"):
            refute_all(method, X, t, y, n_sims=2)


class _Fixed:
    """A fake estimator whose ATE is ``before`` on the original covariates and ``after`` once the
    refuter adds a column (SE 0.01, a 95% interval of +-0.0196)."""

    def __init__(self, before, after):
        self.before, self.after = before, after

    def fit(self, X, t, y, **_):
        self.p = np.asarray(X).shape[1]
        return self

    def result(self, estimand="ate"):
        from types import SimpleNamespace

        est = self.before if self.p == 1 else self.after
        return SimpleNamespace(estimate=est, se=0.01, ci_low=est - 0.0196, ci_high=est + 0.0196)


@pytest.mark.parametrize(("after", "status"), [(0.17, "pass"), (0.0728, "warn"), (0.14, "warn"), (-0.05, "fail"),
                                               (0.01, "fail")])
def test_unobserved_confounder_rule_warns_on_large_shifts_and_fails_on_a_changed_conclusion(after, status):
    """The browser review's case: 0.1737 -> 0.07278 (-5.8 standard errors, -58%) was called 'pass'
    because the interval still excluded 0. Now: warn beyond 2 SE or 25% of the estimate, fail when
    the sign flips or the interval comes to include 0; the verdict states the rule."""
    X, t, y = np.zeros((50, 1)), np.r_[np.zeros(25), np.ones(25)], np.zeros(50)
    res = unobserved_confounder(lambda: _Fixed(0.1737, after), X, t, y, seed=0)
    assert res["status"] == status and res["passed"] == (status == "pass")
    assert "Rule: fail when the sign flips or the conclusion changes, warn when the shift exceeds 2 standard " \
           "errors or 25% of the estimate, else pass." in res["verdict"]
    if status == "warn" and after < 0.1:
        assert "(-10.1 standard errors, -58% of the estimate); a large shift" in res["verdict"]


def test_refute_all_keeps_the_confounder_status_and_explains_a_zero_control_risk():
    from causalrec_core.effects.refute import binary_e_value, refute_all

    X, t = np.zeros((50, 1)), np.r_[np.zeros(25), np.ones(25)]
    y = np.r_[np.zeros(25), np.tile([0.0, 1.0], 12), 1.0]  # the outcome never occurs among the controls
    rows = refute_all(lambda: _Fixed(0.1737, 0.0728), X, t, y, n_sims=1)
    assert rows[3]["status"] == "warn"
    ev = rows[4]
    assert ev["status"] == "warn" and ev["e_value"] is None
    assert ev["verdict"].startswith("No E-value: the outcome never occurs among the controls (risk 0), so the risk "
                                    "ratio and its E-value are infinite (undefined): an unmeasured confounder would "
                                    "have to explain the whole difference")
    assert "risk 1" in binary_e_value(-0.1, (-0.2, 0.0), 1.0)["verdict"]
    assert "outside (0, 1]" in binary_e_value(0.5, (0.3, 0.7), 0.4)["verdict"]
