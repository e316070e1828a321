"""Default columns of structure learning and the diagnosis of missing values
(``causalrec_core.graph.learn_inputs``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causalrec_core.errors import ParameterError
from causalrec_core.graph.learn_inputs import (
    default_learning_columns,
    diagnose_missing,
    ground_truth_column,
)

PAIRS = ["exposed", "position", "propensity", "p_view_treated", "p_view_control", "p_purchase_treated",
         "p_purchase_control", "uplift", "viewed", "clicked", "carted", "favourited", "purchased",
         "user_activity", "item_popularity"]


def test_pairs_defaults_are_treatment_outcome_and_covariates():
    choice = default_learning_columns(PAIRS, missing_share={"position": 0.788})
    assert choice.columns == ["exposed", "purchased", "user_activity", "item_popularity"]
    assert (choice.treatment, choice.outcome) == ("exposed", "purchased")
    assert choice.covariates == ["user_activity", "item_popularity"]
    assert not any(ground_truth_column(c) for c in choice.columns)
    assert choice.left_out["position"] == "79% of its values are missing"
    assert all("ground truth" in choice.left_out[c] for c in PAIRS if c.startswith("p_") or c == "uplift")
    notes = " ".join(choice.notes())
    assert "treatment exposed; outcome purchased; covariates user_activity, item_popularity" in notes
    assert "position (79% of its values are missing)" in notes


def test_interactions_defaults_skip_identifiers_and_mostly_missing_columns():
    cols = ["user_idx", "item_idx", "n_events", "n_view", "n_purchase", "purchased", "exposed", "propensity",
            "position", "user_activity", "item_popularity"]
    choice = default_learning_columns(cols, missing_share={"position": 0.6, "propensity": 0.1})
    assert choice.columns == ["purchased", "exposed", "user_activity", "item_popularity"]
    assert choice.left_out["user_idx"] == "an identifier" and "position" in choice.left_out
    assert "propensity" not in choice.left_out  # 10% missing: allowed, just not a default role


def test_the_open_graph_bound_columns_win_but_never_ground_truth_or_missing():
    choice = default_learning_columns(PAIRS, missing_share={"position": 0.8},
                                      graph_columns=["exposed", "purchased", "position", "p_view_treated", "segment"])
    assert choice.columns == ["exposed", "purchased"] and choice.source == "graph"
    # fewer than two usable bound columns: back to the names
    assert default_learning_columns(PAIRS, graph_columns=["p_view_treated", "exposed"]).source == "names"


def test_unrecognised_names_fall_back_to_the_first_usable_columns():
    choice = default_learning_columns(["id", "a", "b", "p_x", "c", "d", "e", "f", "g"])
    assert choice.source == "fallback" and choice.columns == ["a", "b", "c", "d", "e", "f"]
    with pytest.raises(ParameterError, match="max_missing"):
        default_learning_columns(["a"], max_missing=2)


def _pairs(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    exposed = rng.integers(0, 2, n)
    return pd.DataFrame({
        "exposed": exposed,
        "position": np.where(exposed == 1, rng.integers(1, 10, n), np.nan),  # only exposed pairs have a slot
        "user_activity": rng.lognormal(size=n),
        "purchased": rng.integers(0, 2, n),
    })


def test_missingness_that_selects_on_the_treatment_is_diagnosed():
    data = _pairs()
    report = diagnose_missing(data, ["exposed", "position", "purchased"])
    n_missing = int(data["position"].isna().sum())
    assert report.n_incomplete == n_missing and report.large and report.responsible == ["position"]
    assert report.selected_on == ["exposed"]
    (text,) = report.warnings()
    assert f"removes {n_missing:,} of 2,000 rows" in text
    assert "position is missing in every row with exposed = 0 and in no row with exposed = 1" in text
    assert "selected on exposed" in text and "Leave position out" in text


def test_no_warning_without_missing_values_or_for_a_small_random_drop():
    data = _pairs()
    assert diagnose_missing(data, ["exposed", "purchased", "user_activity"]).warnings() == []
    rng = np.random.default_rng(1)
    data["noisy"] = np.where(rng.random(len(data)) < 0.03, np.inf, rng.normal(size=len(data)))
    report = diagnose_missing(data, ["exposed", "noisy", "purchased"])
    assert report.n_incomplete > 0 and not report.large and report.warnings() == []


def test_a_large_drop_warns_even_when_missing_at_random():
    rng = np.random.default_rng(2)
    data = pd.DataFrame({"a": rng.normal(size=1000), "b": np.where(rng.random(1000) < 0.5, np.nan, 1.0)})
    data["b"] = data["b"] * rng.normal(size=1000)
    (text,) = diagnose_missing(data).warnings()
    assert "because of b (missing in" in text and "depends on" not in text


def test_diagnose_missing_refuses_unknown_columns():
    with pytest.raises(ParameterError, match="columns zzz are not in the data"):
        diagnose_missing(_pairs(), ["exposed", "zzz"])


def test_constant_columns_are_not_pre_selected_and_the_notes_say_why():
    # the reviewer's log: exposed is 1 in every row of the interactions table (only exposed pairs logged)
    cols = ["user_idx", "item_idx", "exposed", "purchased", "user_activity", "item_popularity"]
    choice = default_learning_columns(cols, constant=["exposed"])
    assert "exposed" not in choice.columns and choice.treatment is None
    assert choice.columns == ["purchased", "user_activity", "item_popularity"]
    assert choice.left_out["exposed"] == "the same value in every row of this table: it carries no information"
    notes = " ".join(choice.notes())
    assert "exposed (the same value in every row of this table" in notes
    assert "[" not in notes and "'" not in notes  # names written plainly, never a Python list
    # a constant column bound by the open graph is not pre-selected either
    assert "exposed" not in default_learning_columns(cols, constant=["exposed"],
                                                     graph_columns=["exposed", "purchased", "user_activity"]).columns
