"""Tests for causalrec_core.graph.templates."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import networkx as nx
import pytest

from causalrec_core.errors import GraphError, ParameterError
from causalrec_core.graph import model as m
from causalrec_core.graph import templates as t

TRUTH_PATH = Path(__file__).resolve().parents[2] / "sample_data" / "truth.json"


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads(TRUTH_PATH.read_text(encoding="utf-8"))


def test_registry_is_read_only_and_complete():
    assert t.template_names() == ["exposure_bias", "position_bias", "popularity_conformity",
                                  "click_purchase_funnel", "marketing_uplift"]
    with pytest.raises(TypeError):
        t.TEMPLATES["mine"] = ("x", m.new_graph)  # type: ignore[index]
    for description, builder in t.TEMPLATES.values():
        assert isinstance(description, str) and description and callable(builder)


@pytest.mark.parametrize("name", list(t.TEMPLATES))
def test_every_template_is_a_valid_dag_with_one_treatment_and_one_outcome(name):
    g = t.build_template(name)
    assert nx.is_directed_acyclic_graph(g)
    treatment, outcome = m.treatment_and_outcome(g)
    assert nx.has_path(g, treatment, outcome)
    for node, data in g.nodes(data=True):
        assert data["role"] in m.NODE_ROLES
        assert data["description"], node
        assert data["column"] is None  # no columns given, nothing bound
        if data["role"] == "latent":
            assert data["latent"] is True
    assert all(o == "template" for _, _, o in g.edges(data="origin"))
    assert m.graphs_equal(m.from_dict(m.to_dict(g)), g)


@pytest.mark.parametrize("name", list(t.TEMPLATES))
def test_build_template_returns_a_fresh_graph(name):
    g = t.build_template(name)
    g.add_node("scribble")
    assert "scribble" not in t.build_template(name)


def test_template_structures():
    eb = t.build_template("exposure_bias")
    assert set(eb.edges) == {("user_activity", "exposure"), ("user_activity", "purchase"),
                             ("item_popularity", "exposure"), ("item_popularity", "purchase"),
                             ("exposure", "purchase")}
    assert eb.nodes["user_activity"]["role"] == "confounder"
    pb = t.build_template("position_bias")
    assert m.treatment_and_outcome(pb) == ("position", "click")
    assert m.is_latent(pb, "relevance") and pb.has_edge("relevance", "click")
    assert nx.has_path(pb, "relevance", "position")  # via the ranker
    assert pb.has_edge("position", "examination") and pb.has_edge("examination", "click")
    pc = t.build_template("popularity_conformity")
    assert m.is_latent(pc, "item_quality")
    assert {("item_quality", "item_popularity"), ("item_quality", "purchase"), ("item_popularity", "exposure"),
            ("item_popularity", "purchase")} <= set(pc.edges)
    assert "conformity" in pc.edges["item_popularity", "purchase"]["note"]
    fn = t.build_template("click_purchase_funnel")
    assert list(nx.all_simple_paths(fn, "exposure", "purchase")) == [["exposure", "view", "click", "cart",
                                                                      "purchase"]]
    assert all(fn.has_edge(a, b) for a, b in [("exposure", "view"), ("view", "click"), ("click", "cart"),
                                               ("cart", "purchase")])
    assert m.is_latent(fn, "user_interest")
    assert [n for n in fn if fn.nodes[n]["role"] == "mediator"] == ["view", "click", "cart"]
    mu = t.build_template("marketing_uplift")
    assert set(mu.edges) == {("segment", "treatment"), ("segment", "outcome"), ("treatment", "outcome")}


@pytest.mark.parametrize(("name", "columns", "expected"), [
    ("exposure_bias", ["user_id", "exposed", "purchased", "n_events", "n_users"],
     {"exposure": "exposed", "purchase": "purchased", "user_activity": "n_events", "item_popularity": "n_users"}),
    ("exposure_bias", ["Exposed", "PURCHASE", "activity", "Popularity"],
     {"exposure": "Exposed", "purchase": "PURCHASE", "user_activity": "activity", "item_popularity": "Popularity"}),
    ("exposure_bias", ["user activity", "item-popularity"],
     {"user_activity": "user activity", "item_popularity": "item-popularity", "exposure": None, "purchase": None}),
    ("position_bias", ["position", "clicked", "score"],
     {"position": "position", "click": "clicked", "ranker_score": "score", "relevance": None, "examination": None}),
    ("popularity_conformity", ["popularity", "exposed", "purchased", "item_quality"],
     {"item_popularity": "popularity", "exposure": "exposed", "purchase": "purchased", "item_quality": None}),
    ("click_purchase_funnel", ["exposed", "viewed", "clicked", "carted", "purchased", "user_activity",
                               "item_popularity", "user_interest"],
     {"exposure": "exposed", "view": "viewed", "click": "clicked", "cart": "carted", "purchase": "purchased",
      "user_activity": "user_activity", "item_popularity": "item_popularity", "user_interest": None}),
    ("marketing_uplift", ["segment", "treated", "converted"],
     {"segment": "segment", "treatment": "treated", "outcome": "converted"}),
])
def test_build_template_binds_matching_columns(name, columns, expected):
    g = t.build_template(name, columns)
    assert {n: g.nodes[n]["column"] for n in expected} == expected
    assert not any(g.nodes[n]["column"] for n in g if m.is_latent(g, n))  # latent nodes never bind


def test_binding_prefers_the_node_name_and_uses_each_column_once():
    g = t.build_template("exposure_bias", ["exposed", "exposure", "n_events"])
    assert g.nodes["exposure"]["column"] == "exposure"
    g = t.build_template("exposure_bias", [])
    assert all(c is None for _, c in g.nodes(data="column"))
    g = t.bind_columns(t.build_template("exposure_bias"), ["n_events"])
    assert [n for n, c in g.nodes(data="column") if c] == ["user_activity"]


def test_unknown_template():
    with pytest.raises(ParameterError, match="template='nope' is not supported; choose one of: 'exposure_bias'"):
        t.build_template("nope")


def test_simulator_template_from_truth(truth):
    g = t.simulator_template(truth)
    dag = truth["dag"]
    assert set(g.nodes) == {n["name"] for n in dag["nodes"]}
    assert set(g.edges) == {tuple(e) for e in dag["edges"]}
    assert m.treatment_and_outcome(g) == (dag["treatment"], dag["outcome"]) == ("exposure", "purchase")
    assert nx.is_directed_acyclic_graph(g)
    for node in dag["nodes"]:
        data = g.nodes[node["name"]]
        assert data["latent"] is (not node["observed"])
        assert data["column"] == node["column"]
        assert data["description"] == node["description"]
    assert {n for n in g if m.is_latent(g, n)} == {"interest", "quality", "price_sensitivity"}
    assert g.nodes["exposure"]["column"] == "exposed" and g.nodes["purchase"]["column"] == "purchased"
    assert g.nodes["segment"]["role"] == "variable"  # effect_modifier has no counterpart
    assert g.nodes["item_category"]["role"] == "variable"  # nor has covariate
    assert all(o == "template" for _, _, o in g.edges(data="origin"))
    assert m.graphs_equal(t.simulator_template(dag), g)  # the dag entry alone works too


def test_simulator_template_errors(truth):
    with pytest.raises(GraphError, match="truth must be the simulator's truth.json"):
        t.simulator_template({"config": {}})
    with pytest.raises(GraphError, match="truth must be"):
        t.simulator_template([])  # type: ignore[arg-type]
    bad = copy.deepcopy(truth)
    bad["dag"]["nodes"][0]["role"] = "boss"
    with pytest.raises(GraphError, match="node 'exposure' of the simulator dag has role='boss'"):
        t.simulator_template(bad)
    bad = copy.deepcopy(truth)
    bad["dag"]["treatment"] = "purchase"
    with pytest.raises(GraphError, match="names treatment='purchase', but that node does not have role"):
        t.simulator_template(bad)
    bad = copy.deepcopy(truth)
    bad["dag"]["edges"].append(["purchase", "exposure"])
    with pytest.raises(GraphError, match="cycle"):
        t.simulator_template(bad)
    bad = copy.deepcopy(truth)
    bad["dag"]["edges"].append(["purchase"])
    with pytest.raises(GraphError, match=r"dag.edges\[38\] must be a \[source, target\] pair"):
        t.simulator_template(bad)
    bad = copy.deepcopy(truth)
    bad["dag"]["nodes"].append({"role": "mediator"})
    with pytest.raises(GraphError, match=r"dag.nodes\[15\] must be an object with a 'name'"):
        t.simulator_template(bad)
