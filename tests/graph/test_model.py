"""Tests for causalrec_core.graph.model: editing functions, history, JSON dict format, edge table."""

from __future__ import annotations

import json
import math

import networkx as nx
import pandas as pd
import pytest

from causalrec_core.errors import GraphError, ParameterError
from causalrec_core.graph import model as m

XSS = "<img src=x onerror=alert(1)>"


def frozen(graph: nx.DiGraph) -> nx.DiGraph:
    """A read-only copy: any mutation by the function under test raises."""
    return nx.freeze(graph.copy())


@pytest.fixture
def abc() -> nx.DiGraph:
    """A → B → C, plus an isolated D; read-only."""
    g = m.new_graph()
    for n in "ABCD":
        g = m.add_node(g, n)
    g = m.add_edge(g, "A", "B", origin="learned", confidence=0.8, note="n1")
    g = m.add_edge(g, "B", "C")
    return frozen(g)


# --- existing helpers keep their behaviour -----------------------------------------------------

def test_existing_helpers(abc):
    assert m.cycle_through(abc) is None
    m.require_dag(abc)
    m.require_nodes(abc, ["A", "B"])
    with pytest.raises(GraphError, match="node='Z' is not a node"):
        m.require_nodes(abc, ["Z"])
    cyc = nx.DiGraph([("a", "b"), ("b", "a")])
    with pytest.raises(GraphError, match="cycle"):
        m.require_dag(cyc)
    assert m.check_role("mediator") == "mediator"
    with pytest.raises(ParameterError, match="role='boss'"):
        m.check_role("boss")
    with pytest.raises(ParameterError, match="origin='guess'"):
        m.check_origin("guess")
    g = m.add_node(m.set_role(abc, "A", "latent"), "H", latent=True)
    assert m.is_latent(g, "A") and m.is_latent(g, "H") and not m.is_latent(g, "B")
    assert m.observed_nodes(g) == {"B", "C", "D"}


# --- names ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["a", "x y", 'say "hi"', "ünïcødé → 因果", XSS, "a\\b", "x" * 80, "{", "->"])
def test_valid_names_are_stored_verbatim(name):
    g = m.add_node(m.new_graph(), name)
    assert list(g.nodes) == [name]
    assert m.check_name(name) == name


@pytest.mark.parametrize(("name", "pattern"), [
    ("", "must not be empty"),
    ("   ", "must not be empty"),
    ("x" * 81, "at most 80 characters"),
    ("a\nb", "control characters"),
    ("a\x00b", "control characters"),
    ("tab\there", "control characters"),
    (5, "must be a string"),
    (None, "must be a string"),
])
def test_invalid_names(name, pattern):
    with pytest.raises(GraphError, match=pattern):
        m.add_node(m.new_graph(), name)
    with pytest.raises(GraphError, match=f"^name=.*{pattern}"):
        m.check_name(name)


# --- nodes ---------------------------------------------------------------------------------------

def test_new_graph_is_empty():
    g = m.new_graph()
    assert isinstance(g, nx.DiGraph) and len(g) == 0


def test_add_node_sets_all_attributes_and_does_not_mutate():
    g0 = frozen(m.new_graph())
    g = m.add_node(g0, "exposure", role="treatment", column="exposed", description="shown")
    assert len(g0) == 0
    assert g.nodes["exposure"] == {"role": "treatment", "latent": False, "column": "exposed",
                                   "description": "shown", "x": None, "y": None}


def test_add_node_errors(abc):
    with pytest.raises(GraphError, match="name='A' is already a node"):
        m.add_node(abc, "A")
    with pytest.raises(ParameterError, match="role='boss' is not supported"):
        m.add_node(abc, "E", role="boss")
    with pytest.raises(GraphError, match="node 'E' is latent, so it cannot bind column='c'"):
        m.add_node(abc, "E", latent=True, column="c")
    with pytest.raises(GraphError, match="latent='yes' of node 'E'"):
        m.add_node(abc, "E", latent="yes")
    with pytest.raises(GraphError, match="column='' of node 'E'"):
        m.add_node(abc, "E", column="")
    with pytest.raises(GraphError, match="description=3 of node 'E'"):
        m.add_node(abc, "E", description=3)


def test_remove_node(abc):
    g = m.remove_node(abc, "B")
    assert set(g.nodes) == {"A", "C", "D"} and g.number_of_edges() == 0
    assert "B" in abc
    with pytest.raises(GraphError, match="node='Z' is not a node of the graph"):
        m.remove_node(abc, "Z")


def test_rename_node_keeps_edges_attributes_and_order(abc):
    g = m.set_position(m.set_role(abc, "B", "mediator"), "B", 1.0, 2.0)
    h = m.rename_node(g, "B", XSS)
    assert list(h.nodes) == ["A", XSS, "C", "D"]
    assert h.nodes[XSS]["role"] == "mediator" and (h.nodes[XSS]["x"], h.nodes[XSS]["y"]) == (1.0, 2.0)
    assert h.edges["A", XSS] == {"origin": "learned", "confidence": 0.8, "note": "n1"}
    assert h.has_edge(XSS, "C") and "B" in g
    assert m.graphs_equal(m.rename_node(abc, "A", "A"), abc)


def test_rename_node_errors(abc):
    with pytest.raises(GraphError, match="old='Z' is not a node"):
        m.rename_node(abc, "Z", "Y")
    with pytest.raises(GraphError, match="new='C' is already a node"):
        m.rename_node(abc, "A", "C")
    with pytest.raises(GraphError, match="new='' is invalid"):
        m.rename_node(abc, "A", "")


def test_set_role_and_treatment_and_outcome(abc):
    with pytest.raises(GraphError, match="no node with role 'treatment'"):
        m.treatment_and_outcome(abc)
    g = m.set_role(abc, "A", "treatment")
    with pytest.raises(GraphError, match="no node with role 'outcome'"):
        m.treatment_and_outcome(g)
    g = m.set_role(g, "C", "outcome")
    assert m.treatment_and_outcome(g) == ("A", "C")
    assert abc.nodes["A"]["role"] == "variable"
    g2 = m.set_role(g, "D", "treatment")  # several treatments are allowed while editing ...
    assert m.nodes_with_role(g2, "treatment") == ["A", "D"]
    with pytest.raises(GraphError, match=r"2 nodes with role 'treatment' \('A', 'D'\); keep exactly one"):
        m.treatment_and_outcome(g2)  # ... but not where exactly one is needed
    with pytest.raises(ParameterError, match="role='boss'"):
        m.set_role(abc, "A", "boss")
    with pytest.raises(GraphError, match="node='Z'"):
        m.set_role(abc, "Z", "outcome")
    with pytest.raises(ParameterError, match="role='boss'"):
        m.nodes_with_role(abc, "boss")


def test_set_role_latent_is_reversible(abc):
    g = m.set_role(abc, "A", "latent")
    assert m.is_latent(g, "A")
    assert not m.is_latent(m.set_role(g, "A", "variable"), "A")


def test_update_node(abc):
    g = m.update_node(abc, "A", column="col_a", description="d")
    assert g.nodes["A"]["column"] == "col_a" and g.nodes["A"]["description"] == "d"
    assert abc.nodes["A"]["column"] is None
    g = m.update_node(g, "A", column=None, latent=True)
    assert g.nodes["A"]["latent"] is True and g.nodes["A"]["column"] is None
    with pytest.raises(GraphError, match="node 'A' is latent, so it cannot bind column='c'"):
        m.update_node(g, "A", column="c")
    with pytest.raises(GraphError, match="node='Z'"):
        m.update_node(abc, "Z", description="x")


def test_set_position(abc):
    g = m.set_position(abc, "A", 1, -2.5)
    assert (g.nodes["A"]["x"], g.nodes["A"]["y"]) == (1.0, -2.5)
    assert abc.nodes["A"]["x"] is None
    cleared = m.set_position(g, "A", None, None)
    assert cleared.nodes["A"]["x"] is None
    with pytest.raises(GraphError, match="x=nan of node 'A'"):
        m.set_position(abc, "A", math.nan, 0)
    with pytest.raises(GraphError, match="y='1' of node 'A'"):
        m.set_position(abc, "A", 0, "1")
    with pytest.raises(GraphError, match="x and y must both"):
        m.set_position(abc, "A", 1, None)
    with pytest.raises(GraphError, match="node='Z'"):
        m.set_position(abc, "Z", 0, 0)


# --- edges ---------------------------------------------------------------------------------------

def test_add_edge_attributes_and_purity(abc):
    g = m.add_edge(abc, "A", "D", origin="template", confidence=1, note="why")
    assert g.edges["A", "D"] == {"origin": "template", "confidence": 1.0, "note": "why"}
    assert not abc.has_edge("A", "D")
    assert m.add_edge(abc, "C", "D").edges["C", "D"] == {"origin": "expert", "confidence": None, "note": ""}


def test_add_edge_refuses_cycles_and_names_them():
    g = m.new_graph()
    for n in "ABC":
        g = m.add_node(g, n)
    g = m.add_edge(m.add_edge(g, "B", "C"), "C", "A")
    with pytest.raises(GraphError, match="^adding A → B would create the cycle A → B → C → A.$"):
        m.add_edge(g, "A", "B")
    with pytest.raises(GraphError, match="adding A → C would create the cycle A → C → A"):
        m.add_edge(g, "A", "C")


def test_add_edge_errors(abc):
    with pytest.raises(GraphError, match="self-loop"):
        m.add_edge(abc, "A", "A")
    with pytest.raises(GraphError, match="source='Z' is not a node"):
        m.add_edge(abc, "Z", "A")
    with pytest.raises(GraphError, match="target='Z' is not a node"):
        m.add_edge(abc, "A", "Z")
    with pytest.raises(GraphError, match="the edge A → B is already in the graph"):
        m.add_edge(abc, "A", "B")
    with pytest.raises(ParameterError, match="origin='guess'"):
        m.add_edge(abc, "A", "D", origin="guess")
    with pytest.raises(ParameterError, match=r"confidence=1.5 is invalid: it must be a number in \[0, 1\]"):
        m.add_edge(abc, "A", "D", confidence=1.5)
    with pytest.raises(ParameterError, match="confidence=True"):
        m.add_edge(abc, "A", "D", confidence=True)


def test_update_edge(abc):
    g = m.update_edge(abc, "A", "B", origin="expert", confidence=None, note="checked")
    assert g.edges["A", "B"] == {"origin": "expert", "confidence": None, "note": "checked"}
    assert abc.edges["A", "B"]["origin"] == "learned"
    assert m.update_edge(abc, "A", "B", note="x").edges["A", "B"]["confidence"] == 0.8
    with pytest.raises(GraphError, match="no edge B → A"):
        m.update_edge(abc, "B", "A", note="x")
    with pytest.raises(ParameterError, match="confidence=-0.1"):
        m.update_edge(abc, "A", "B", confidence=-0.1)


def test_remove_edge(abc):
    g = m.remove_edge(abc, "A", "B")
    assert not g.has_edge("A", "B") and abc.has_edge("A", "B")
    with pytest.raises(GraphError, match=r"no edge B → A in the graph \(the edge points the other way\)"):
        m.remove_edge(abc, "B", "A")
    with pytest.raises(GraphError, match="no edge A → D"):
        m.remove_edge(abc, "A", "D")
    with pytest.raises(GraphError, match="source='Z'"):
        m.remove_edge(abc, "Z", "A")


def test_reverse_edge(abc):
    g = m.reverse_edge(abc, "A", "B")
    assert g.has_edge("B", "A") and not g.has_edge("A", "B")
    assert g.edges["B", "A"] == {"origin": "learned", "confidence": 0.8, "note": "n1"}
    assert abc.has_edge("A", "B")
    with pytest.raises(GraphError, match="no edge C → B"):
        m.reverse_edge(abc, "C", "B")
    shortcut = m.add_edge(abc, "A", "C")
    with pytest.raises(GraphError, match="^reversing A → C into C → A would create the cycle C → A → B → C.$"):
        m.reverse_edge(shortcut, "A", "C")


# --- history ---------------------------------------------------------------------------------------

def test_history_undo_redo_sequence(abc):
    h = m.GraphHistory(m.new_graph())
    assert len(h) == 1 and not h.can_undo and not h.can_redo
    g1 = m.add_node(h.current, "A")
    g2 = m.add_node(g1, "B")
    assert h.push(g1) and h.push(g2)
    assert list(h.current.nodes) == ["A", "B"]
    assert list(h.undo().nodes) == ["A"]
    assert list(h.undo().nodes) == []
    assert not h.can_undo and h.can_redo
    with pytest.raises(GraphError, match="nothing to undo"):
        h.undo()
    assert list(h.redo().nodes) == ["A"]
    assert h.can_undo and h.can_redo
    # a new edit after an undo drops the redo branch
    assert h.push(m.add_node(h.current, "C"))
    assert not h.can_redo
    with pytest.raises(GraphError, match="nothing to redo"):
        h.redo()
    assert list(h.current.nodes) == ["A", "C"]
    assert list(h.undo().nodes) == ["A"] and list(h.undo().nodes) == []


def test_history_skips_unchanged_graphs(abc):
    h = m.GraphHistory(abc)  # abc is frozen; what the history hands out is not
    h.current.add_node("Q")
    assert h.push(abc.copy()) is False
    assert len(h) == 1


def test_history_snapshots_are_immutable(abc):
    g = abc.copy()
    h = m.GraphHistory(g)
    g.nodes["A"]["role"] = "treatment"  # changing the pushed graph afterwards ...
    g.add_edge("C", "D")
    cur = h.current
    assert cur.nodes["A"]["role"] == "variable" and not cur.has_edge("C", "D")  # ... changes nothing
    cur.nodes["A"]["role"] = "outcome"  # nor does changing a graph handed out
    cur.add_node("Q")
    assert h.current.nodes["A"]["role"] == "variable" and "Q" not in h.current


def test_history_is_bounded():
    h = m.GraphHistory()
    assert h.current is None
    g = m.new_graph()
    for i in range(150):
        g = m.add_node(g, f"n{i}")
        h.push(g)
    assert len(h) == 100 and h.maxlen == 100
    undos = 0
    while h.can_undo:
        h.undo()
        undos += 1
    assert undos == 99
    assert len(h.current) == 51  # the oldest 50 snapshots were dropped


def test_history_errors():
    with pytest.raises(ParameterError, match="maxlen=0"):
        m.GraphHistory(maxlen=0)
    with pytest.raises(GraphError, match="graph must be a networkx DiGraph"):
        m.GraphHistory().push({"nodes": []})
    assert m.GraphHistory(maxlen=2).maxlen == 2


# --- dict format -----------------------------------------------------------------------------------

def rich_graph() -> nx.DiGraph:
    g = m.new_graph()
    g = m.add_node(g, "exposure", role="treatment", column="exposed", description="shown")
    g = m.add_node(g, "purchase", role="outcome", column="purchased")
    g = m.add_node(g, "quality", role="latent", latent=True)
    g = m.add_node(g, XSS, role="confounder", description='a "quoted"\nline')
    g = m.set_position(g, "exposure", 10.5, -3)
    g = m.add_edge(g, "exposure", "purchase", origin="template")
    g = m.add_edge(g, "quality", "purchase", origin="learned", confidence=0.25, note="boot")
    g = m.add_edge(g, XSS, "exposure")
    return frozen(g)


def test_to_dict_layout_and_round_trip():
    g = rich_graph()
    d = m.to_dict(g)
    assert d["format"] == "causalrec-graph" and d["version"] == 1
    assert d["nodes"][0] == {"name": "exposure", "role": "treatment", "latent": False, "column": "exposed",
                             "description": "shown", "x": 10.5, "y": -3.0}
    assert d["edges"][1] == {"source": "quality", "target": "purchase", "origin": "learned",
                             "confidence": 0.25, "note": "boot"}
    back = m.from_dict(json.loads(json.dumps(d)))
    assert m.graphs_equal(back, g)


def test_numpy_numbers_are_accepted_and_exported_as_floats(abc):
    np = pytest.importorskip("numpy")
    g = m.update_edge(m.set_position(abc, "A", np.float32(1.5), np.int64(2)), "A", "B", confidence=np.float32(0.5))
    d = m.to_dict(g)
    assert type(d["nodes"][0]["x"]) is float and type(d["edges"][0]["confidence"]) is float
    json.dumps(d)


def test_from_dict_defaults_and_unknown_keys():
    g = m.from_dict({"nodes": [{"name": "a", "colour": "red"}, {"name": "b"}],
                     "edges": [{"source": "a", "target": "b", "weight": 3}], "extra": 1})
    assert g.nodes["a"] == {"role": "variable", "latent": False, "column": None, "description": "",
                            "x": None, "y": None}
    assert g.edges["a", "b"] == {"origin": "expert", "confidence": None, "note": ""}


@pytest.mark.parametrize(("doc", "pattern"), [
    ([], "must be a JSON object"),
    ({"format": "other"}, "format='other' is not supported"),
    ({"version": 2}, "version=2 of the graph format is not supported"),
    ({"nodes": {}}, "'nodes' and 'edges' must be lists"),
    ({"nodes": [{"role": "variable"}]}, r"nodes\[0\] must be an object with a 'name'"),
    ({"nodes": [{"name": ""}]}, r"nodes\[0\].name='' is invalid"),
    ({"nodes": [{"name": "a"}, {"name": "a"}]}, r"node 'a' is listed twice \(nodes\[1\]\)"),
    ({"nodes": [{"name": "sales", "role": "boss"}]}, "node 'sales' has role='boss', which is not supported"),
    ({"nodes": [{"name": "a", "latent": "yes"}]}, "latent='yes' of node 'a'"),
    ({"nodes": [{"name": "a", "latent": 0}]}, "latent=0 of node 'a' is invalid: it must be true or false"),
    ({"nodes": [{"name": "a", "latent": True, "column": "c"}]}, "node 'a' is latent"),
    ({"nodes": [{"name": "a", "x": 1}]}, "node 'a': x and y must both"),
    ({"nodes": [{"name": "a", "x": "1", "y": 2}]}, "x='1' of node 'a'"),
    ({"nodes": [{"name": "a"}], "edges": [{"source": "a"}]}, r"edges\[0\] must be an object with 'source'"),
    ({"nodes": [{"name": "a"}], "edges": [{"source": "a", "target": "q"}]},
     r"edges\[0\].target='q' is not a node"),
    ({"nodes": [{"name": "a"}], "edges": [{"source": "a", "target": "a"}]}, r"edges\[0\] is a self-loop a → a"),
    ({"nodes": [{"name": "a"}, {"name": "b"}],
      "edges": [{"source": "a", "target": "b"}, {"source": "a", "target": "b"}]}, "edge a → b is listed twice"),
    ({"nodes": [{"name": "a"}, {"name": "b"}], "edges": [{"source": "a", "target": "b", "origin": "x"}]},
     "edge a → b has origin='x'"),
    ({"nodes": [{"name": "a"}, {"name": "b"}], "edges": [{"source": "a", "target": "b", "confidence": 2}]},
     "edge a → b: confidence=2"),
    ({"nodes": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
      "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "c"}, {"source": "c", "target": "a"}]},
     "cycle a → b → c → a"),
])
def test_from_dict_errors(doc, pattern):
    with pytest.raises(GraphError, match=pattern):
        m.from_dict(doc)


# --- edge table --------------------------------------------------------------------------------------

def test_edge_table_round_trip():
    g = rich_graph()
    df = m.edge_table(g)
    assert list(df.columns) == ["source", "target", "origin", "confidence", "note"]
    assert len(df) == 3 and df["confidence"].isna().sum() == 2
    back = m.graph_from_edge_table(g, df)
    assert m.graphs_equal(back, g)
    assert m.edge_table(m.new_graph()).empty


def test_edge_table_edits_and_blank_rows(abc):
    df = pd.DataFrame({"source": ["A", "C", None, "A"], "target": ["B", "D", None, "C"],
                       "origin": ["template", None, None, ""], "confidence": ["0.5", None, None, math.nan],
                       "note": [None, "x", None, math.nan]})
    g = m.graph_from_edge_table(abc, df)
    assert list(g.edges) == [("A", "B"), ("A", "C"), ("C", "D")]  # the blank third row is skipped
    assert g.edges["A", "B"] == {"origin": "template", "confidence": 0.5, "note": ""}
    assert g.edges["C", "D"] == {"origin": "expert", "confidence": None, "note": "x"}
    assert not abc.has_edge("C", "D")
    assert set(g.nodes) == set(abc.nodes)
    only_required = m.graph_from_edge_table(abc, pd.DataFrame({"source": ["D"], "target": ["A"]}))
    assert list(only_required.edges) == [("D", "A")]


def test_edge_table_add_missing_nodes(abc):
    df = pd.DataFrame({"source": ["A"], "target": ["New"]})
    with pytest.raises(GraphError, match=r"row 1 \(A → New\): target='New' is not a node"):
        m.graph_from_edge_table(abc, df)
    g = m.graph_from_edge_table(abc, df, add_missing_nodes=True)
    assert g.nodes["New"]["role"] == "variable" and g.has_edge("A", "New")


@pytest.mark.parametrize(("rows", "pattern"), [
    ([("A", "B"), ("Z", "C")], r"row 2 \(Z → C\): source='Z' is not a node"),
    ([("A", None)], r"row 1 \(A → \?\): target is empty"),
    ([("A", "A")], r"row 1 \(A → A\): .*self-loop"),
    ([("A", "B"), ("A", "B")], r"row 2 \(A → B\): the edge A → B is already in the graph"),
    ([("A", "B"), ("B", "C"), ("C", "A")], r"row 3 \(C → A\): adding C → A would create the cycle C → A → B → C"),
])
def test_edge_table_bad_rows(abc, rows, pattern):
    df = pd.DataFrame(rows, columns=["source", "target"])
    with pytest.raises(GraphError, match=pattern):
        m.graph_from_edge_table(abc, df)


def test_edge_table_bad_values(abc):
    df = pd.DataFrame({"source": ["A", "B"], "target": ["B", "C"], "origin": ["expert", "guess"]})
    with pytest.raises(GraphError, match=r"row 2 \(B → C\): origin='guess' is not supported"):
        m.graph_from_edge_table(abc, df)
    df = pd.DataFrame({"source": ["A"], "target": ["B"], "confidence": ["high"]})
    with pytest.raises(GraphError, match=r"row 1 \(A → B\): confidence='high' is invalid"):
        m.graph_from_edge_table(abc, df)
    with pytest.raises(GraphError, match=r"lacks the column\(s\) target; it needs source, target, origin"):
        m.graph_from_edge_table(abc, pd.DataFrame({"source": ["A"]}))
    with pytest.raises(GraphError, match="must be a pandas DataFrame"):
        m.graph_from_edge_table(abc, [("A", "B")])
