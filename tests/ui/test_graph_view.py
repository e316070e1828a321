"""The Causal graph page's pure helpers (``ui.graph_view``), without streamlit."""

from __future__ import annotations

from pathlib import Path

import pytest

from causalrec_core.errors import GraphError
from causalrec_core.graph import formats, model, templates
from ui import graph_view as gv

ROOT = Path(__file__).resolve().parents[2]


def _chain():
    g = model.new_graph()
    for n in ("A", "B", "C"):
        g = model.add_node(g, n)
    return model.add_edge(model.add_edge(g, "A", "B"), "B", "C")


def test_graph_from_file_reads_each_format_by_extension():
    g = _chain()
    for fmt, ext in (("json", ".json"), ("dot", ".gv"), ("gml", ".gml"), ("dagitty", ".txt")):
        graph, name = gv.graph_from_file(f"my graph{ext}", formats.dumps(g, fmt).encode("utf-8"))
        assert sorted(graph.edges) == [("A", "B"), ("B", "C")], fmt
        assert name == "my graph"
    assert gv.graph_from_file(".json", formats.dumps(g, "json").encode())[1] == ".json"
    assert gv.graph_from_file(f"{'x' * 150}.json", formats.dumps(g, "json").encode())[1] == "x" * 100


@pytest.mark.parametrize("name, data, match", [
    ("big.json", b" " * (gv.MAX_GRAPH_FILE_BYTES + 1), r"'big.json' is 5.0 MB; a graph file must be at most 5 MB"),
    ("latin.dot", "digraph { é -> b }".encode("latin-1"), r"'latin.dot' is not UTF-8 text"),
])
def test_graph_from_file_refuses_big_or_binary_files(name, data, match):
    with pytest.raises(GraphError, match=match):
        gv.graph_from_file(name, data)


def test_truth_graph_reads_the_simulator_truth(tmp_path):
    graph = gv.truth_graph(ROOT / "sample_data" / "truth.json", "events")
    assert gv.focus_nodes(graph) == {"treatment": "exposure", "outcome": "purchase"}
    with pytest.raises(GraphError, match=r"truth.json of dataset 'sim' cannot be read"):
        gv.truth_graph(tmp_path / "missing.json", "sim")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(GraphError, match=r"truth.json of dataset 'sim' cannot be read"):
        gv.truth_graph(tmp_path / "bad.json", "sim")


def test_with_focus_keeps_one_node_per_role():
    g = _chain()
    assert gv.focus_nodes(g) == {"treatment": None, "outcome": None}
    g = gv.with_focus(g, "treatment", "A")
    g = gv.with_focus(g, "outcome", "C")
    assert gv.focus_nodes(g) == {"treatment": "A", "outcome": "C"}
    moved = gv.with_focus(g, "treatment", "B")
    assert model.nodes_with_role(moved, "treatment") == ["B"]
    assert model.nodes_with_role(g, "treatment") == ["A"]  # the input graph is not changed
    assert gv.focus_nodes(gv.with_focus(moved, "treatment", None))["treatment"] is None
    assert gv.focus_nodes(gv.with_focus(moved, "treatment", None))["outcome"] == "C"


def test_adjustment_choices_list_none_optimal_and_minimal_sets():
    from causalrec_core.graph.identify import identify

    graph = templates.build_template("exposure_bias")
    focus = gv.focus_nodes(graph)
    ident = identify(graph, focus["treatment"], focus["outcome"]).to_dict()
    choices = gv.adjustment_choices(ident)
    assert list(choices)[0] == "no adjustment" and choices["no adjustment"] == ()
    assert choices[f"optimal set: {', '.join(ident['optimal_set'])}"] == tuple(ident["optimal_set"])
    assert {tuple(s) for s in ident["backdoor_sets"]} <= set(choices.values())
    hand = {"optimal_set": None, "backdoor_sets": [[], ["X"]]}
    assert gv.adjustment_choices(hand) == {"no adjustment": (), "(empty set)": (), "X": ("X",)}


def test_rejection_marks_draw_only_rejected_independences():
    rows = [{"x": "A", "y": "C", "given": "B", "rejected": True, "p_adjusted": 0.0012345},
            {"x": "A", "y": "D", "given": "", "rejected": False, "p_adjusted": 0.5}]
    hints, flags = gv.rejection_marks(rows)
    assert hints == [{"a": "A", "b": "C", "label": "dependent (p=0.0012)",
                      "title": "The data reject A ⟂ C | B (adjusted p=0.0012)."}]
    assert set(flags) == {"A", "C"}
    assert gv.rejection_marks(rows[1:]) == ([], {})


def test_accepted_edges_follow_accept_and_flip():
    rows = [{"accept": True, "flip": False, "source": "A", "target": "B", "confidence": 0.9},
            {"accept": True, "flip": True, "source": "C", "target": "D", "confidence": 0.6},
            {"accept": False, "flip": True, "source": "E", "target": "F", "confidence": 0.7}]
    assert gv.accepted_edges(rows) == [("A", "B", 0.9), ("D", "C", 0.6)]


def test_rejection_marks_and_the_tests_table_never_show_p_equal_zero():
    import pandas as pd

    rows = [{"x": "A", "y": "C", "given": "", "rejected": True, "p_adjusted": 0.0}]
    hints, _ = gv.rejection_marks(rows)
    assert hints[0]["label"] == "dependent (p < 1e-300)"
    table = pd.DataFrame({"x": ["A", "B"], "p_value": [0.0, 0.01234], "p_adjusted": [0.0, 0.02468]})
    shown = gv.tests_display_table(table)
    assert list(shown["p_value"]) == ["< 1e-300", "0.0123"] and list(shown["p_adjusted"]) == ["< 1e-300", "0.0247"]
    assert list(table["p_value"]) == [0.0, 0.01234]  # the results themselves are unchanged
