"""Unit tables, kind detection and graph-based covariate choice (causalrec_core.effects.units)."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from causalrec_core.effects.units import (
    covariates_from_graph,
    design_matrix,
    detect_kind,
    log_skewed,
    node_columns,
    node_for_column,
    pair_units,
    roles_from_graph,
    simulator_units,
    user_units,
)
from causalrec_core.errors import GraphError, ParameterError
from causalrec_core.graph.templates import build_template

# ----------------------------------------------------------------------------- tiny tables


@pytest.fixture
def tables():
    inter = pd.DataFrame({
        "user_idx": [0, 0, 1], "item_idx": [0, 1, 0],
        "user_id": ["u1", "u1", "u2"], "item_id": ["i1", "i2", "i1"],
        "n_events": [3, 1, 2], "n_view": [1, 1, 0], "n_click": [1, 0, 0], "n_cart": [1, 0, 0],
        "n_purchase": [1, 0, 0], "purchased": [True, False, False], "exposed": [True, False, True],
        "propensity": [0.5, 0.1, 0.3], "position": [1.0, np.nan, 2.0],
    })
    users = pd.DataFrame({"user_id": ["u1", "u2"], "n_events": [4, 2], "segment": ["loyal", "new"]})
    items = pd.DataFrame({"item_id": ["i1", "i2"], "n_users": [2, 1]})
    return inter, users, items


def _frozen(*frames):
    return [f.copy(deep=True) for f in frames]


def test_pair_units_columns_and_values(tables):
    inter, users, items = tables
    before = _frozen(inter, users, items)
    out = pair_units(inter, users, items)
    for a, b in zip(before, (inter, users, items), strict=True):
        pd.testing.assert_frame_equal(a, b)  # inputs not mutated
    assert list(out["user_id"]) == ["u1", "u1", "u2"] and list(out["item_id"]) == ["i1", "i2", "i1"]
    assert out["exposed"].tolist() == [1, 0, 1]
    assert out["clicked"].tolist() == [1, 0, 0]
    assert out["viewed"].tolist() == [1, 1, 0]
    assert out["carted"].tolist() == [1, 0, 0]
    assert out["purchased"].tolist() == [1, 0, 0]
    assert out["user_activity"].tolist() == pytest.approx([math.log1p(4), math.log1p(4), math.log1p(2)])
    assert out["item_popularity"].tolist() == pytest.approx([math.log1p(2), math.log1p(1), math.log1p(2)])
    assert out["segment"].tolist() == ["loyal", "loyal", "new"]
    assert out["propensity"].tolist() == [0.5, 0.1, 0.3]
    assert out["position"].isna().tolist() == [False, True, False]


def test_pair_units_without_side_tables_or_optional_columns():
    inter = pd.DataFrame({"user_id": ["u1"], "item_id": ["i1"], "n_purchase": [2]})
    out = pair_units(inter)
    assert list(out.columns) == ["user_id", "item_id", "purchased"]
    assert out["purchased"].tolist() == [1]


def test_pair_units_errors(tables):
    inter, users, items = tables
    with pytest.raises(ParameterError, match="item_id"):
        pair_units(inter.drop(columns="item_id"))
    with pytest.raises(ParameterError, match="repeats user ids"):
        pair_units(inter, pd.concat([users, users]))


@pytest.fixture
def events():
    t = pd.Timestamp("2024-01-01", tz="UTC")
    day = pd.Timedelta(days=1)
    rows = [  # the log spans days 0..20, so t_mid = day 10
        ("u1", "exposure", t + 1 * day), ("u1", "view", t + 2 * day), ("u1", "purchase", t + 12 * day),
        ("u2", "view", t + 3 * day), ("u2", "purchase", t + 4 * day), ("u2", "purchase", t + 18 * day),
        ("u3", "exposure", t + 11 * day), ("u3", "purchase", t + 13 * day),
        ("u4", "view", t + 20 * day),
        ("u1", "view", t),
    ]
    return pd.DataFrame(rows, columns=["user_id", "event", "timestamp"])


def test_user_units_definitions(events):
    users = pd.DataFrame({"user_id": ["u4", "u3", "u2", "u1", "u5"], "segment": ["a", "b", "c", "d", "e"]})
    before = _frozen(events, users)
    out = user_units(events, users, treatment_event="exposure", outcome_event="purchase", window_days=5)
    pd.testing.assert_frame_equal(before[0], events)
    pd.testing.assert_frame_equal(before[1], users)
    assert out["user_id"].tolist() == ["u1", "u2", "u3", "u4", "u5"]
    # u1: exposed on day 1 (< day 10), bought on day 12 (in [10, 15)); u3 exposed only after t_mid
    assert out["treated"].tolist() == [1, 0, 0, 0, 0]
    # u2 bought on day 18 (outside the 5-day window); u3 on day 13
    assert out["outcome"].tolist() == [1, 0, 1, 0, 0]
    assert out["prior_outcome"].tolist() == [0, 1, 0, 0, 0]
    # activity before t_mid, exposures excluded: u1 has 2 views, u2 a view and a purchase
    assert out["user_activity"].tolist() == pytest.approx([math.log1p(2), math.log1p(2), 0, 0, 0])
    assert out["segment"].tolist() == ["d", "c", "b", "a", "e"]
    assert out.attrs["t_mid"].startswith("2024-01-11")


def test_user_units_window_past_end_is_noted(events):
    out = user_units(events, window_days=30)
    assert out["outcome"].tolist() == [1, 1, 1, 0]
    assert any("ends after the log" in n for n in out.attrs["notes"])


def test_user_units_errors(events):
    with pytest.raises(ParameterError, match="treatment_event='impression'"):
        user_units(events, treatment_event="impression")
    with pytest.raises(ParameterError, match="window_days"):
        user_units(events, window_days=0)
    with pytest.raises(ParameterError, match="timestamp"):
        user_units(events.drop(columns="timestamp"))


def test_simulator_units_logs_activity_and_popularity():
    pairs = pd.DataFrame({"user_activity": [0.0, 3.0], "item_popularity": [1.0, 9.0], "exposed": [0, 1]})
    before = pairs.copy()
    out = simulator_units(pairs)
    pd.testing.assert_frame_equal(before, pairs)
    assert out["user_activity"].tolist() == pytest.approx([0.0, math.log(4)])
    assert out["item_popularity"].tolist() == pytest.approx([math.log(2), math.log(10)])
    assert out["exposed"].tolist() == [0, 1]


# ----------------------------------------------------------------------------- kinds


@pytest.mark.parametrize("values, kind", [
    ([0, 1, 1, None], "binary"), ([True, False], "binary"), ([0.0, 1.0], "binary"),
    ([1, 2, 2], "continuous"), ([0.1, 3.5, 2.0], "continuous"),
])
def test_detect_kind(values, kind):
    assert detect_kind(pd.Series(values, name="x", dtype=None if None not in values else "float64")) == kind


@pytest.mark.parametrize("series, match", [
    (pd.Series([1, 1, 1], name="flat"), "'flat' is constant"),
    (pd.Series(["a", "b"], name="label"), "'label' is not numeric"),
    (pd.Series([np.nan, np.nan], name="gone"), "'gone' has only missing values"),
])
def test_detect_kind_errors_name_the_column(series, match):
    with pytest.raises(ParameterError, match=match):
        detect_kind(series)


def test_design_matrix_one_hot_encodes_text():
    df = pd.DataFrame({"a": [1, 2, 3], "seg": ["x", "y", "x"], "flag": [True, False, True]})
    X, notes = design_matrix(df, ["a", "seg", "flag"])
    assert list(X.columns) == ["a", "seg_y", "flag"]
    assert X["seg_y"].tolist() == [0.0, 1.0, 0.0]
    assert notes and "one-hot" in notes[0]
    with pytest.raises(ParameterError, match="nope"):
        design_matrix(df, ["nope"])


# ----------------------------------------------------------------------------- graph covariates


@pytest.fixture
def exposure_bias():
    g = build_template("exposure_bias", ["exposed", "purchased", "n_events", "n_users"])
    return nx.freeze(g)


def test_covariates_from_graph_maps_optimal_set_to_columns(exposure_bias):
    cols = ["exposed", "purchased", "n_events", "n_users"]
    choice = covariates_from_graph(exposure_bias, "exposure", "purchase", cols)
    assert choice.source == "optimal"
    assert sorted(choice.covariates) == ["n_events", "n_users"]
    assert sorted(choice.nodes) == ["item_popularity", "user_activity"]
    assert choice.warnings == []
    assert choice.to_dict()["source"] == "optimal"


def test_covariates_from_graph_warns_about_a_different_hand_chosen_set(exposure_bias):
    cols = ["exposed", "purchased", "n_events", "n_users", "price"]
    same = covariates_from_graph(exposure_bias, "exposure", "purchase", cols, chosen=["n_users", "n_events"])
    assert same.warnings == []
    partial = covariates_from_graph(exposure_bias, "exposure", "purchase", cols, chosen=["n_events"])
    assert len(partial.warnings) == 1 and "does NOT block" in partial.warnings[0]
    extra = covariates_from_graph(exposure_bias, "exposure", "purchase", cols,
                                  chosen=["n_events", "n_users", "price"])
    assert "['price'] are not nodes of the graph" in extra.warnings[0]


def test_covariates_from_graph_binds_unbound_nodes_by_name_and_alias():
    g = build_template("exposure_bias")  # no columns bound
    for n in g.nodes:
        g.nodes[n]["column"] = None
    cols = ["exposed", "purchased", "user_activity", "n_users"]
    mapping = node_columns(g, cols)
    assert mapping == {"user_activity": "user_activity", "item_popularity": "n_users",
                       "exposure": "exposed", "purchase": "purchased"}
    assert node_for_column(g, "exposed", cols) == "exposure"
    choice = covariates_from_graph(g, "exposure", "purchase", cols)
    assert sorted(choice.covariates) == ["n_users", "user_activity"]


def test_covariates_from_graph_errors(exposure_bias):
    with pytest.raises(GraphError, match="item_popularity"):
        covariates_from_graph(exposure_bias, "exposure", "purchase", ["exposed", "purchased", "n_events"])
    g = nx.DiGraph([("U", "T"), ("U", "Y"), ("T", "Y")])
    g.nodes["U"]["latent"] = True
    with pytest.raises(GraphError, match="not identifiable by covariate adjustment.*unobserved node"):
        covariates_from_graph(g, "T", "Y", ["T", "Y"])
    with pytest.raises(GraphError, match="no node of the graph is bound"):
        node_for_column(exposure_bias, "clicks", ["clicks"])


def test_log_skewed_logs_raw_scale_skewed_covariates_once():
    rng = np.random.default_rng(0)
    raw = pd.DataFrame({"user_activity": rng.lognormal(1, 1.0, 2000), "item_popularity": rng.lognormal(2, 0.8, 2000),
                        "other": rng.lognormal(0, 1.5, 2000)})
    out, notes = log_skewed(raw, ["user_activity", "item_popularity", "other"])
    assert np.allclose(out["user_activity"], np.log1p(raw["user_activity"]))
    assert np.allclose(out["item_popularity"], np.log1p(raw["item_popularity"]))
    assert out["other"].equals(raw["other"])  # not a known pair covariate
    assert len(notes) == 1 and "log1p" in notes[0]
    assert raw["user_activity"].max() > out["user_activity"].max()  # input untouched (a copy)
    again, notes2 = log_skewed(out, ["user_activity", "item_popularity"])
    assert again is out and notes2 == []  # already on the log scale: left alone
    X, dm_notes = design_matrix(raw, ["user_activity"], log_skewed_covariates=True)
    assert np.allclose(X["user_activity"], np.log1p(raw["user_activity"])) and any("log1p" in n for n in dm_notes)
    X, dm_notes = design_matrix(raw, ["user_activity"])
    assert X["user_activity"].equals(raw["user_activity"]) and dm_notes == []


def test_roles_from_graph_maps_treatment_and_outcome_to_columns(exposure_bias):
    cols = ["user_id", "exposed", "purchased", "user_activity", "item_popularity"]
    assert roles_from_graph(exposure_bias, cols) == {"treatment": "exposed", "outcome": "purchased"}
    g = exposure_bias.copy()
    g.nodes["purchase"]["column"] = "clicked"
    assert roles_from_graph(g, cols + ["clicked"])["outcome"] == "clicked"
    g.nodes["purchase"]["role"] = "variable"
    assert roles_from_graph(g, cols) == {"treatment": "exposed", "outcome": None}
    assert roles_from_graph(exposure_bias, ["user_activity"]) == {"treatment": None, "outcome": None}


def test_post_treatment_columns_are_offered_last_and_flagged_as_segments():
    from causalrec_core.effects.units import POST_TREATMENT_FLAG, post_treatment_columns, segment_options

    rng = np.random.default_rng(0)
    n = 200
    units = pd.DataFrame({"user_id": np.arange(n), "item_id": np.arange(n) % 7, "exposed": 1,
                          "viewed": rng.integers(0, 2, n), "carted": rng.integers(0, 2, n),
                          "purchased": rng.integers(0, 2, n), "user_activity": rng.lognormal(size=n),
                          "item_popularity": rng.lognormal(size=n), "category": rng.choice(["a", "b"], n),
                          "propensity": rng.random(n)})
    assert post_treatment_columns(units.columns, "viewed", "purchased") == ["carted", "purchased"]
    assert post_treatment_columns(units.columns, "exposed", "purchased") == ["viewed", "carted", "purchased"]
    assert post_treatment_columns(units.columns, "other", "purchased") == ["purchased"]
    opts = segment_options(units, "viewed", "purchased")
    # 'exposed' is constant, ids/propensity never segments; numbers with many values are offered (as quartiles)
    assert opts == [("user_activity", None), ("item_popularity", None), ("category", None),
                    ("carted", POST_TREATMENT_FLAG)]
    assert opts[0][0] != "carted"  # the default (the first option) is never post-treatment


def test_segment_labels_are_quartiles_of_many_valued_numbers_and_text_otherwise():
    from causalrec_core.effects.units import segment_labels

    labels = segment_labels(pd.Series(np.arange(100, dtype=float)))
    assert sorted(labels.unique()) == ["Q1: 0 to 24.8", "Q2: 24.8 to 49.5", "Q3: 49.5 to 74.2", "Q4: 74.2 to 99"]
    assert segment_labels(pd.Series([0, 1, 1])).tolist() == ["0", "1", "1"]
    # a log count with a few distinct values is still a number to split, not 6 labels such as '2.0794415416798357'
    logs = pd.Series(np.log1p(np.repeat([7, 8, 9, 10, 11, 12], 10)))
    assert segment_labels(logs).str.startswith("Q").all()


def test_unit_flags_map_to_the_nodes_bound_to_their_event_counts():
    """The graph page binds funnel nodes to event counts (view=n_view, cart=n_cart); the unit table
    has the flags made from them (viewed = n_view > 0): a flag finds its count's node."""
    from causalrec_core.effects.units import treatment_problem
    from causalrec_core.graph.templates import build_template

    g = build_template("click_purchase_funnel", columns=["user_id", "item_id", "exposed", "n_view", "n_cart",
                                                         "purchased", "n_events"])
    unit_cols = ["user_id", "item_id", "exposed", "viewed", "carted", "purchased", "user_activity"]
    assert node_for_column(g, "viewed", unit_cols) == "view"
    assert node_for_column(g, "carted", unit_cols) == "cart"
    assert node_columns(g, unit_cols)["view"] == "viewed"
    assert roles_from_graph(g, unit_cols) == {"treatment": "exposed", "outcome": "purchased"}
    # where the data has the count itself (the CLI on the raw pair table), the count is the column
    assert node_columns(g, ["exposed", "n_view", "purchased"])["view"] == "n_view"
    assert treatment_problem(pd.Series([1] * 5), "exposed").startswith("exposed is 1 for every unit")
    assert treatment_problem(pd.Series([0, 1, 1]), "viewed") is None
    assert "not a binary" in treatment_problem(pd.Series([0.5, 1.5, 2.0]), "x")
