"""The Causal graph page (AppTest, on a fresh workspace with the bundled sample project) and the
pure helpers of the browser editor (``ui.graph_editor``)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from causalrec_core.errors import GraphError
from causalrec_core.graph import model, templates
from causalrec_core.sample import SAMPLE_PROJECT
from causalrec_core.store import ProjectStore
from ui import graph_editor as ge

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "pages/graph.py"
XSS = "<img src=x onerror=alert(1)>"


def _graph_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def _from_template(at: AppTest, name: str = "exposure_bias") -> AppTest:
    at.selectbox(key="graph_template").select(name)
    at.button(key="graph_create_template").click().run()
    assert not at.exception, at.exception
    return at


def _editor_data(at: AppTest) -> dict:
    """The JSON payload the page sent to the browser editor."""
    (el,) = at.get("bidi_component")
    assert el.proto.component_name == ge.COMPONENT_NAME
    return json.loads(el.proto.json or el.proto.mixed.json)


def _table(at: AppTest, column: str):
    return next(df.value for df in at.dataframe if column in df.value.columns)


def _edge_editor_key(at: AppTest) -> str:
    return next(k for k in (d.key for d in at.data_editor) if k and k.startswith("graph_edges_"))


def _texts(elements) -> str:
    """The elements' markdown with the escaping of ui.common.md undone."""
    return re.sub(r"\\(.)", r"\1", "\n".join(e.value for e in elements))


def _sample_project_id(workspace) -> int:
    return ProjectStore(workspace).find_project(SAMPLE_PROJECT).id


# ---------------------------------------------------------------------------------------------
# the page
# ---------------------------------------------------------------------------------------------

def test_page_loads_on_fresh_workspace(workspace):
    at = _graph_page()
    assert [t.value for t in at.title] == ["Causal graph"]
    assert "No graph is open" in _texts(at.info)
    assert at.selectbox(key="graph_template").options[:1] == ["exposure_bias"]
    # the sample dataset is simulated: its true graph is offered as a template
    assert any("simulator truth" in o for o in at.selectbox(key="graph_template").options)


def test_template_identification_and_highlights(workspace):
    at = _from_template(_graph_page())
    assert "New graph from the template 'exposure" in _texts(at.success)
    # treatment and outcome come from the roles; setting them again keeps them
    at.selectbox(key="graph_outcome").select("— none —").run()
    assert "Choose a treatment and an outcome" in _texts(at.info)
    at.selectbox(key="graph_treatment").select("exposure").run()
    at.selectbox(key="graph_outcome").select("purchase").run()
    assert not at.exception
    assert at.selectbox(key="graph_treatment").value == "exposure"
    assert at.selectbox(key="graph_outcome").value == "purchase"
    assert "Identifiable by adjusting for confounders" in _texts(at.success)
    sets = _table(at, "minimal adjustment set")
    assert list(sets["minimal adjustment set"]) == ["item_popularity, user_activity"]
    assert "optimal set" in _texts(at.markdown)

    data = _editor_data(at)
    assert data["treatment"] == "exposure" and data["outcome"] == "purchase"
    causal = {(e["source"], e["target"]) for e in data["edges"] if e["causal"]}
    backdoor = {(e["source"], e["target"]) for e in data["edges"] if e["backdoor"]}
    assert causal == {("exposure", "purchase")}
    assert ("user_activity", "exposure") in backdoor and ("item_popularity", "purchase") in backdoor
    # adjusting for the optimal set closes every backdoor path on the drawing
    choice = at.selectbox(key="graph_adjust_choice")
    choice.select(next(o for o in choice.options if o.startswith("optimal set"))).run()
    data = _editor_data(at)
    assert not any(e["backdoor"] for e in data["edges"])
    assert sorted(data["adjustment"]) == ["item_popularity", "user_activity"]
    # nodes are bound to the sample dataset's columns
    columns = {n["name"]: n["column"] for n in data["nodes"]}
    assert columns["exposure"] == "exposed" and columns["purchase"] == "purchased"


def test_save_and_reload_after_restart(workspace):
    at = _from_template(_graph_page())
    at.text_input(key="graph_name_input").input("my exposure graph")
    at.button(key="graph_save").click().run()
    assert not at.exception
    assert "Saved 'my exposure graph' as version 1" in _texts(at.success)
    at.button(key="graph_save").click().run()
    assert "as version 2" in _texts(at.success)

    store = ProjectStore(workspace)
    obj = store.load_object(_sample_project_id(workspace), "graph", "my exposure graph")
    assert obj.version == 2
    saved = model.from_dict(obj.payload)
    assert set(saved.edges) == set(templates.build_template("exposure_bias").edges)
    assert all(d["x"] is not None for _, d in saved.nodes(data=True))  # the layout is saved too

    # a new session (as after a restart) reopens the latest saved graph
    at2 = _graph_page()
    assert at2.text_input(key="graph_name_input").value == "my exposure graph"
    assert "saved graph 'my exposure graph', version 2" in _texts(at2.caption)
    assert at2.selectbox(key="graph_saved_name").value == "my exposure graph"
    assert _editor_data(at2)["edges"] and not at2.exception
    # an older version opens too
    at2.selectbox(key="graph_saved_version").select("1")
    at2.button(key="graph_open_saved").click().run()
    assert "Opened 'my exposure graph' (version 1 of 2)" in _texts(at2.success)


def test_cycle_through_edge_table_is_refused(workspace):
    at = _from_template(_graph_page())
    key = _edge_editor_key(at)
    at.session_state[key] = {"edited_rows": {}, "deleted_rows": [],
                             "added_rows": [{"source": "purchase", "target": "user_activity"}]}
    at.run()
    assert not at.exception
    errors = _texts(at.error)
    assert "The edge table was not applied" in errors
    assert "would create the cycle purchase → user_activity → purchase" in errors
    assert len(_editor_data(at)["edges"]) == 5  # the graph is unchanged


def test_edge_table_edit_applies_and_undo_redo(workspace):
    at = _from_template(_graph_page())
    key = _edge_editor_key(at)
    at.session_state[key] = {"edited_rows": {}, "deleted_rows": [],
                             "added_rows": [{"source": "user_activity", "target": "item_popularity"}]}
    at.run()
    assert not at.exception and not at.error
    edges = {(e["source"], e["target"]) for e in _editor_data(at)["edges"]}
    assert ("user_activity", "item_popularity") in edges
    assert _edge_editor_key(at) != key  # a fresh table for the new graph
    assert "Unsaved changes" in _texts(at.caption)
    at.button(key="graph_undo").click().run()
    assert len(_editor_data(at)["edges"]) == 5
    at.button(key="graph_redo").click().run()
    assert len(_editor_data(at)["edges"]) == 6
    # the new edge makes item_popularity a mediator of user_activity: still one minimal set
    assert list(_table(at, "minimal adjustment set")["minimal adjustment set"]) == ["item_popularity, user_activity"]


def test_nodes_add_rename_delete_and_escaping(workspace):
    at = _from_template(_graph_page())
    at.text_input(key="graph_add_name").input(XSS)
    at.selectbox(key="graph_add_role").select("confounder")
    at.button(key="FormSubmitter:graph_add_form-Add node").click().run()
    assert not at.exception
    names = [n["name"] for n in _editor_data(at)["nodes"]]
    assert XSS in names  # verbatim in the data; the browser draws it as text
    assert XSS in at.selectbox(key="graph_delete_node").options
    # messages escape the name for markdown (no HTML is ever enabled)
    assert f"Added node {XSS}." in _texts(at.success)
    assert any("\\<img" in s.value for s in at.success)  # escaped: shown as text, not markup
    at.selectbox(key="graph_rename_old").select(XSS)
    at.text_input(key="graph_rename_new").input("quality")
    at.button(key="FormSubmitter:graph_rename_form-Rename node").click().run()
    assert "quality" in [n["name"] for n in _editor_data(at)["nodes"]]
    at.selectbox(key="graph_delete_node").select("quality")
    at.button(key="FormSubmitter:graph_delete_form-Delete node").click().run()
    assert "quality" not in [n["name"] for n in _editor_data(at)["nodes"]]
    # a duplicate name is refused with the core's message
    at.text_input(key="graph_add_name").input("exposure")
    at.button(key="FormSubmitter:graph_add_form-Add node").click().run()
    assert "already a node of the graph" in _texts(at.error)


def test_node_table_sets_roles_and_binds_columns(workspace):
    at = _from_template(_graph_page())
    key = next(d.key for d in at.data_editor if d.key and d.key.startswith("graph_nodes_"))
    at.session_state[key] = {"edited_rows": {3: {"column": "viewed"}, 1: {"role": "variable"}},
                             "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception and not at.error, _texts(at.error)
    nodes = {n["name"]: n for n in _editor_data(at)["nodes"]}
    assert nodes["purchase"]["column"] == "viewed" and nodes["item_popularity"]["role"] == "variable"
    # a latent node cannot keep a column: the core refuses, the graph is unchanged
    key = next(d.key for d in at.data_editor if d.key and d.key.startswith("graph_nodes_"))
    at.session_state[key] = {"edited_rows": {0: {"latent": True}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert "is latent, so it cannot bind column='user_activity'" in _texts(at.error)
    assert not {n["name"]: n for n in _editor_data(at)["nodes"]}["user_activity"]["latent"]


def test_import_file_and_exports(workspace):
    at = _graph_page()
    text = 'dag { A [exposure] Y [outcome] U [latent] A -> Y U -> {A Y} }'
    at.file_uploader(key="graph_import_file").set_value(("confounded.dagitty", text.encode(), "text/plain"))
    at.run()
    at.button(key="graph_import_btn").click().run()
    assert not at.exception
    assert "Imported 'confounded.dagitty'" in _texts(at.success)
    assert "Not identifiable" in _texts(at.error)  # U is latent: no adjustment, frontdoor or instrument
    data = _editor_data(at)
    assert {n["name"]: n["latent"] for n in data["nodes"]} == {"A": False, "Y": False, "U": True}
    labels = {b.label for b in at.get("download_button")}
    assert {"JSON", "DOT (Graphviz)", "GML", "DAGitty"} <= labels
    # a broken file is refused with the line and what was expected
    at.file_uploader(key="graph_import_file").set_value(("bad.dot", b"digraph { a -> ; }", "text/plain"))
    at.run()
    at.button(key="graph_import_btn").click().run()
    assert "Importing the graph failed: DOT line 1" in _texts(at.error)


def test_simulator_truth_template_and_implication_tests(workspace):
    at = _from_template(_graph_page(), next(o for o in _graph_page().selectbox(key="graph_template").options
                                            if "simulator truth" in o))
    assert not at.exception
    data = _editor_data(at)
    assert data["treatment"] == "exposure" and data["outcome"] == "purchase"
    assert any(n["latent"] for n in data["nodes"])  # the simulator's unobserved interest and quality
    # the implied independences are tested on the simulator's pairs table
    at = _from_template(at, "exposure_bias")
    assert at.selectbox(key="graph_tests_table").value == "pairs"
    at.button(key="graph_tests_run").click().run()
    assert not at.exception
    tests = _table(at, "p_adjusted")
    assert list(tests[["x", "y"]].itertuples(index=False, name=None)) == [("item_popularity", "user_activity")]
    assert "consistent with the graph" in _texts(at.success)


def test_learn_from_data_adds_learned_edges(workspace):
    at = _graph_page()
    at.selectbox(key="graph_learn_table").select("pairs").run()
    cols_key = next(m.key for m in at.multiselect if m.key and m.key.startswith("graph_learn_cols_"))
    at.multiselect(key=cols_key).set_value(["user_activity", "item_popularity", "exposed", "purchased"])
    at.multiselect(key="graph_learn_tier0").set_value(["user_activity", "item_popularity"])
    at.multiselect(key="graph_learn_tier1").set_value(["exposed"])
    at.multiselect(key="graph_learn_tier2").set_value(["purchased"])
    at.number_input(key="graph_learn_resamples").set_value(5)
    at.button(key="graph_learn_btn").click().run()
    assert not at.exception and not at.error, _texts(at.error)
    suggestions = next(d.value for d in at.data_editor if "orientation" in d.value.columns)
    directed = suggestions[suggestions["orientation"] == "directed"]
    assert {("user_activity", "exposed"), ("item_popularity", "exposed")} <= set(
        directed[["source", "target"]].itertuples(index=False, name=None))
    assert directed["accept"].all()
    at.button(key="graph_learn_accept").click().run()
    assert not at.exception
    data = _editor_data(at)
    learned = [e for e in data["edges"] if e["origin"] == "learned"]
    assert len(learned) == len(directed)
    assert all(0 < e["confidence"] <= 1 for e in learned)
    assert {n["name"]: n["column"] for n in data["nodes"]}["exposed"] == "exposed"  # nodes bound to columns
    assert at.text_input(key="graph_name_input").value == "learned_pc"


def test_graph_survives_a_visit_to_another_page(workspace):
    at = _from_template(_graph_page())
    at.text_input(key="graph_name_input").input("kept").run()
    at.switch_page("pages/data.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.text_input(key="graph_name_input").value == "kept"
    assert len(_editor_data(at)["edges"]) == 5
    at.button(key="graph_save").click().run()
    assert "Saved 'kept' as version 1" in _texts(at.success)


# ---------------------------------------------------------------------------------------------
# the editor's pure helpers
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def chain():
    g = model.new_graph()
    for n in ("A", "B", "C"):
        g = model.add_node(g, n)
    return model.add_edge(model.add_edge(g, "A", "B"), "B", "C")


def test_apply_edit_uses_the_core_and_never_mutates(chain):
    before = model.to_dict(chain)
    g, msg = ge.apply_edit(chain, {"op": "add_edge", "source": "A", "target": "C", "seq": 1})
    assert ("A", "C") in g.edges and msg == "Added the edge A → C."
    with pytest.raises(GraphError, match="would create the cycle C → A → B → C"):
        ge.apply_edit(chain, {"op": "add_edge", "source": "C", "target": "A"})
    g, _ = ge.apply_edit(chain, {"op": "reverse_edge", "source": "B", "target": "C"})
    assert ("C", "B") in g.edges
    g, _ = ge.apply_edit(chain, {"op": "remove_node", "node": "B"})
    assert list(g.nodes) == ["A", "C"]
    g, _ = ge.apply_edit(chain, {"op": "move", "positions": {"A": [1, 2], "B": [3.5, -4]}})
    assert (g.nodes["A"]["x"], g.nodes["B"]["y"]) == (1.0, -4.0)
    assert model.to_dict(chain) == before


@pytest.mark.parametrize("edit, match", [
    ("add_edge", "expected an edit object"),
    ({"op": "eval", "source": "A"}, "op='eval', which is not supported"),
    ({"op": "add_edge", "source": ["A"], "target": "B"}, "expected a node name"),
    ({"op": "remove_edge", "source": "A", "target": "C"}, "there is no edge A → C"),
    ({"op": "remove_node", "node": "Z"}, "'Z' is not a node"),
    ({"op": "move", "positions": {"A": [1]}}, "malformed position"),
    ({"op": "move", "positions": {"A": ["x", 1]}}, "both be numbers or both be None"),
])
def test_apply_edit_refuses_malformed_events(chain, edit, match):
    with pytest.raises(GraphError, match=match):
        ge.apply_edit(chain, edit)


def test_add_learned_edges_maps_columns_to_nodes(chain):
    g = model.update_node(chain, "A", column="a_col")
    out, added, refused = ge.add_learned_edges(
        g, [("a_col", "C", 0.9), ("C", "a_col", 0.8), ("A", "B", 0.7), ("new_col", "B", 0.6)], note="pc")
    assert added == 2 and len(refused) == 2
    assert "would create the cycle" in refused[0] and "already in the graph" in refused[1]
    assert out.edges["A", "C"] == {"origin": "learned", "confidence": 0.9, "note": "pc"}
    assert out.nodes["new_col"]["column"] == "new_col" and out.has_edge("new_col", "B")
    assert ge.learned_edge_status(out, "a_col", "C") == "yes"
    assert ge.learned_edge_status(out, "C", "a_col") == "reversed"
    assert ge.learned_edge_status(None, "x", "y") == ""


def test_decode_png():
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    assert ge.decode_png({"png": "data:image/png;base64," + base64.b64encode(png).decode()}) == png
    for bad in (None, {"png": "javascript:alert(1)"}, {"png": "data:image/png;base64,@@@"},
                {"png": "data:image/png;base64," + base64.b64encode(b"GIF89a").decode()}):
        with pytest.raises(GraphError):
            ge.decode_png(bad)


def test_editor_data_is_plain_json_with_a_stable_layout(chain):
    g = model.add_node(chain, XSS, role="confounder")
    data = ge.editor_data(g, ge.Overlay(treatment="A", outcome="C", causal_edges=frozenset({("A", "B")})))
    json.dumps(data, allow_nan=False)
    assert [n["name"] for n in data["nodes"]] == ["A", "B", "C", XSS]  # names verbatim, never HTML
    xs = {n["name"]: n["x"] for n in data["nodes"]}
    assert xs["A"] < xs["B"] < xs["C"]  # causes to the left
    assert [e["causal"] for e in data["edges"]] == [True, False]
    placed = ge.with_layout(g)
    moved = model.add_node(placed, "D")
    pos = ge.layout_positions(moved)
    assert all(pos[n] == (placed.nodes[n]["x"], placed.nodes[n]["y"]) for n in placed.nodes)
    assert pos["D"][0] > max(x for x, _ in pos.values() if x != pos["D"][0])  # a new node goes right


def test_editor_script_is_local_and_wraps_vis():
    script = ge._script()
    assert script.startswith("const vis = (function ()")
    assert "export default function (component)" in script
    assert "sourceMappingURL" not in script
    assert "https://" not in script.split("export default")[-1]  # the editor code fetches nothing
