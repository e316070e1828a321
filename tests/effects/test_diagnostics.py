"""Tests of the effect diagnostics on hand-computed cases: effective sample size, balance, overlap."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from causalrec_core.effects import OverlapReport, balance, effective_sample_size, propensity_overlap
from causalrec_core.errors import ParameterError

# ----------------------------------------------------------------------------- effective sample size


@pytest.mark.parametrize(("weights", "expected"), [
    ([1.0, 1.0, 1.0, 1.0], 4.0),
    ([3.0, 3.0], 2.0),
    ([1.0, 0.0, 0.0, 0.0], 1.0),
    ([1.0, 1.0, 2.0], 16 / 6),
    (np.array([1, 2, 3, 4]), 100 / 30),
])
def test_effective_sample_size_by_hand(weights, expected) -> None:
    assert effective_sample_size(weights) == pytest.approx(expected)


@pytest.mark.parametrize(("weights", "match"), [
    ([1.0, -1.0], "non-negative"),
    ([0.0, 0.0], "positive sum"),
    ([1.0, np.nan], "missing or infinite"),
    ([[1.0, 2.0]], "1-D"),
    (["a", "b"], "numeric"),
])
def test_effective_sample_size_errors(weights, match) -> None:
    with pytest.raises(ParameterError, match=match):
        effective_sample_size(weights)


# ----------------------------------------------------------------------------- balance


def test_balance_by_hand() -> None:
    X = pd.DataFrame({"age": [0.0, 2.0, 1.0, 3.0], "flag": [1.0, 1.0, 1.0, 1.0]})
    t = np.array([0, 0, 1, 1])
    table = balance(X, t)
    assert list(table.index) == ["age", "flag"] and table.index.name == "covariate"
    # age: means 2 vs 1, variances 2 and 2 -> SMD 1 / sqrt(2)
    assert table.loc["age", "mean_treated"] == 2.0 and table.loc["age", "mean_control"] == 1.0
    assert table.loc["age", "smd"] == pytest.approx(1 / math.sqrt(2))
    assert table.loc["flag", "smd"] == 0.0  # constant in both groups, equal means
    assert table["imbalanced"].tolist() == [True, False]
    assert "smd_weighted" not in table


def test_balance_after_weighting_uses_the_unweighted_scale() -> None:
    X = np.array([[0.0], [2.0], [1.0], [3.0]])
    t = [0, 0, 1, 1]
    # weights that move the control mean to 1.5 and the treated mean to 1.5
    w = np.array([1.0, 3.0, 3.0, 1.0])
    table = balance(X, t, weights=w)
    assert table.loc["x0", "mean_control_weighted"] == pytest.approx(1.5)
    assert table.loc["x0", "mean_treated_weighted"] == pytest.approx(1.5)
    assert table.loc["x0", "smd"] == pytest.approx(1 / math.sqrt(2))
    assert table.loc["x0", "smd_weighted"] == pytest.approx(0.0)
    assert not table.loc["x0", "imbalanced"]
    w2 = np.array([1.0, 1.0, 1.0, 2.0])  # treated mean 7/3; SMD (7/3 - 1) / sqrt(2)
    assert balance(X, t, weights=w2).loc["x0", "smd_weighted"] == pytest.approx((4 / 3) / math.sqrt(2))


def test_balance_constant_covariate_with_different_means_is_infinite() -> None:
    table = balance(np.array([[0.0], [0.0], [1.0], [1.0]]), [0, 0, 1, 1])
    assert table.loc["x0", "smd"] == np.inf and table.loc["x0", "imbalanced"]


def test_balance_does_not_mutate_inputs() -> None:
    X = np.array([[0.0], [2.0], [1.0], [3.0]])
    t = np.array([0, 0, 1, 1])
    w = np.array([1.0, 3.0, 3.0, 1.0])
    before = (X.copy(), t.copy(), w.copy())
    balance(X, t, weights=w)
    for a, b in zip(before, (X, t, w), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("args", "match"), [
    (([[0.0], [1.0]], [0, 2]), "binary 0/1"),
    (([[0.0], [1.0]], [1, 1]), "both treated and control"),
    (([[0.0], [1.0]], [0, 1, 1]), "one value per unit"),
    (([0.0, 1.0], [0, 1]), "2-D"),
    (([[0.0], [np.nan]], [0, 1]), "missing or infinite"),
    ((pd.DataFrame({"c": ["a", "b"]}), [0, 1]), "non-numeric"),
])
def test_balance_errors(args, match) -> None:
    with pytest.raises(ParameterError, match=match):
        balance(*args)
    with pytest.raises(ParameterError, match="weights"):
        balance([[0.0], [1.0]], [0, 1], weights=[1.0, -1.0])


# ----------------------------------------------------------------------------- overlap


def test_propensity_overlap_by_hand() -> None:
    e = np.array([0.005, 0.04, 0.3, 0.5, 0.5, 0.7, 0.97, 0.995])
    t = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    r = propensity_overlap(e, t, bins=4, thresholds=(0.01, 0.05))
    assert isinstance(r, OverlapReport)
    assert r.histogram["n_control"].tolist() == [2, 1, 1, 0]
    assert r.histogram["n_treated"].tolist() == [0, 0, 2, 2]
    assert r.histogram["share_treated"].tolist() == [0.0, 0.0, 0.5, 0.5]
    assert r.histogram["bin_left"].tolist() == [0.0, 0.25, 0.5, 0.75]
    assert r.n_outside_clip == 2 and r.share_outside_clip == 0.25
    assert r.share_outside_clip_treated == 0.25 and r.share_outside_clip_control == 0.25
    trim = r.trimming.set_index("threshold")
    assert trim.loc[0.01, "n_removed"] == 2
    assert trim.loc[0.05, "n_removed"] == 4
    assert trim.loc[0.05, "n_treated_removed"] == 2 and trim.loc[0.05, "n_control_removed"] == 2
    assert trim.loc[0.05, "share_removed"] == 0.5
    assert r.range_treated == (0.5, 0.995) and r.range_control == (0.005, 0.5)
    assert json.loads(json.dumps(r.to_dict()))["n_outside_clip"] == 2


def test_propensity_overlap_custom_clip() -> None:
    r = propensity_overlap([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], clip=(0.15, 0.85))
    assert r.n_outside_clip == 2 and r.clip == (0.15, 0.85)
    assert r.histogram["n_treated"].sum() == 2 and len(r.histogram) == 20


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"e": [0.5, 1.5], "t": [0, 1]}, "must lie in"),
    ({"e": [0.5, 0.5], "t": [0, 3]}, "binary 0/1"),
    ({"e": [0.5, 0.5, 0.5], "t": [0, 1]}, "one value per unit"),
    ({"e": [0.5, 0.5], "t": [0, 1], "bins": 0}, "bins=0 is invalid"),
    ({"e": [0.5, 0.5], "t": [0, 1], "clip": (0.9, 0.1)}, "clip=.* is invalid"),
    ({"e": [0.5, 0.5], "t": [0, 1], "thresholds": (0.6,)}, "thresholds=.* is invalid"),
])
def test_propensity_overlap_errors(kwargs, match) -> None:
    with pytest.raises(ParameterError, match=match):
        propensity_overlap(**kwargs)


# ----------------------------------------------------------------------------- diagnose


def test_diagnose_fitted_and_logged_propensity() -> None:
    from causalrec_core.effects.diagnostics import diagnose

    rng = np.random.default_rng(0)
    n = 4000
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    e = 1 / (1 + np.exp(-1.5 * X["a"].to_numpy()))
    t = (rng.random(n) < e).astype(float)
    d = diagnose(X, t, trim=0.05)
    assert d.propensity_source == "logistic model" and d.n == n and d.n_treated == int(t.sum())
    assert list(d.balance.index) == ["a", "b"]
    assert abs(d.balance.loc["a", "smd"]) > 0.5 and abs(d.balance.loc["a", "smd_weighted"]) < 0.1
    assert 0 < d.ess < n and d.ess_treated <= d.n_treated
    assert d.n_trimmed == int(d.overlap.trimming.set_index("threshold").loc[0.05, "n_removed"])
    assert len(d.summary()) == 3 and "trimming at 0.05" in d.summary()[0]
    logged = diagnose(X, t, propensity=e, trim=0.05)
    assert logged.propensity_source == "logged"
    assert logged.n_trimmed == int(((e < 0.05) | (e > 0.95)).sum())
    with pytest.raises(ParameterError, match="trim"):
        diagnose(X, t, trim=0.6)


# ----------------------------------------------------------------------------- a collapsed propensity model


def test_diagnose_flags_a_collapsed_propensity_model_and_constant_covariates() -> None:
    """The browser review's case: constant covariates make every fitted propensity equal (0.400):
    the diagnostics must say so (warnings), not just print the range."""
    from causalrec_core.effects.diagnostics import diagnose

    n = 40
    t = (np.arange(n) % 5 < 2).astype(float)
    X = pd.DataFrame({"user_activity": np.full(n, 2.0794), "item_popularity": np.full(n, 1.7918)})
    diag = diagnose(X, t)
    text = " ".join(diag.warnings)
    assert len(diag.warnings) == 2, diag.warnings
    assert "'user_activity' (every value 2.079) and 'item_popularity' (every value 1.792) are constant" in text
    assert "propensity model has collapsed" in text and "about 0.400 (range 0.400-0.400" in text
    assert "carry no information about who is treated" in text


def test_diagnose_flags_uninformative_covariates_but_not_informative_ones() -> None:
    from causalrec_core.effects.diagnostics import diagnose

    n = 40
    t = (np.arange(n) % 5 < 2).astype(float)
    # varies, but is balanced across the arms: the model collapses without any constant covariate
    balanced = pd.DataFrame({"x": np.where(np.arange(n) % 2 == 0, 0.0, 1.0)})
    diag = diagnose(balanced, t)
    assert any("collapsed" in w for w in diag.warnings), (diag.overlap.range_treated, diag.warnings)
    assert not any("constant" in w for w in diag.warnings)
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    t2 = (rng.random(400) < 1 / (1 + np.exp(-x))).astype(float)
    assert diagnose(pd.DataFrame({"x": x}), t2).warnings == []
    # a logged (known) propensity that is the same for every unit is a randomised design, not a problem
    assert diagnose(pd.DataFrame({"x": x}), t2, propensity=np.full(400, 0.5)).warnings == []
