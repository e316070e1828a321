"""Tests for causalrec_core.graph.formats: JSON, DOT, GML and DAGitty read / write."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest

from causalrec_core.errors import GraphError, ParameterError
from causalrec_core.graph import formats as f
from causalrec_core.graph import model as m
from causalrec_core.graph import templates as t

XSS = "<img src=x onerror=alert(1)>"
WEIRD = ["x y", 'say "hi"', "ünïcødé 因果", XSS, "back\\slash", "trailing\\", "dag", "1st", "a-b", "{x}",
         "->", "a;b", "'single'", "#hash", "//slashes", "graph"]


def weird_graph() -> nx.DiGraph:
    """A chain over awkward names, with every attribute set somewhere."""
    g = m.new_graph()
    for i, name in enumerate(WEIRD):
        g = m.add_node(g, name, description=f'node {i}: "{name}"\nsecond line')
    g = m.set_role(m.set_role(g, WEIRD[0], "treatment"), WEIRD[-1], "outcome")
    g = m.set_role(g, XSS, "adjusted")
    g = m.update_node(g, "dag", latent=True)
    g = m.set_role(g, "dag", "latent")
    g = m.update_node(g, "1st", column="col \"1\"")
    g = m.set_position(g, "x y", 0.1, -2.75)
    g = m.set_position(g, XSS, 1e-7, 12345.5)
    for a, b in zip(WEIRD, WEIRD[1:], strict=False):
        g = m.add_edge(g, a, b, origin="learned", confidence=0.3333333333333333, note=f"{a} \\ {b}")
    return g


def plain_graph() -> nx.DiGraph:
    """Built by another module without any of our attributes."""
    return nx.DiGraph([("a", "b"), ("b", "c"), ("a", "c")])


def single_node() -> nx.DiGraph:
    return m.add_node(m.new_graph(), "only", role="outcome")


GRAPHS = {
    "funnel": lambda: m.set_position(t.build_template("click_purchase_funnel", ["exposed", "purchased"]),
                                     "exposure", 3, 4),
    "position_bias": lambda: t.build_template("position_bias"),
    "weird": weird_graph,
    "empty": m.new_graph,
    "single": single_node,
    "simulator": lambda: t.simulator_template(
        json.loads((Path(__file__).resolve().parents[2] / "sample_data" / "truth.json").read_text("utf-8"))),
}


def normalised(g: nx.DiGraph) -> nx.DiGraph:
    """``g`` with every node and edge attribute present (what a reader produces)."""
    return m.from_dict(m.to_dict(g))


# --- round trips ------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["json", "dot", "gml"])
@pytest.mark.parametrize("name", list(GRAPHS))
def test_full_round_trip(fmt, name):
    g = GRAPHS[name]()
    back = f.loads(f.dumps(g, fmt), fmt)
    assert m.graphs_equal(back, normalised(g))


@pytest.mark.parametrize("fmt", list(f.FORMATS))
def test_plain_networkx_graph_round_trip(fmt):
    back = f.loads(f.dumps(plain_graph(), fmt), fmt)
    assert list(back.nodes) == ["a", "b", "c"] and set(back.edges) == set(plain_graph().edges)
    assert all(r == "variable" for _, r in back.nodes(data="role"))


DAGITTY_ROLES = {"treatment": "treatment", "outcome": "outcome", "latent": "latent", "adjusted": "adjusted"}


@pytest.mark.parametrize("name", list(GRAPHS))
def test_dagitty_round_trip_keeps_structure_positions_and_four_roles(name):
    g = normalised(GRAPHS[name]())
    back = f.loads(f.dumps(g, "dagitty"), "dagitty")
    assert list(back.nodes) == list(g.nodes)
    assert set(back.edges) == set(g.edges)
    for node, data in g.nodes(data=True):
        got = back.nodes[node]
        assert got["role"] == DAGITTY_ROLES.get(data["role"], "latent" if data["latent"] else "variable"), node
        assert got["latent"] == m.is_latent(g, node)
        assert (got["x"], got["y"]) == (data["x"], data["y"])
        assert got["column"] is None and got["description"] == ""
    assert all(o == "expert" for _, _, o in back.edges(data="origin"))


def test_dagitty_output_quotes_only_what_it_must():
    text = f.dumps(weird_graph(), "dagitty")
    assert text.startswith("dag {\n") and text.endswith("}\n")
    assert '"x y" [exposure,pos="0.1,-2.75"]' in text
    assert '"dag" [latent]' in text  # a keyword is quoted
    assert "graph [outcome]" in text
    assert f'"{XSS}" [adjusted,' in text
    assert '"say \\"hi\\""' in text


def test_dot_output_is_quoted_and_carries_attributes():
    text = f.dumps(weird_graph(), "dot")
    assert text.startswith("digraph causalrec {")
    assert f'"{XSS}" [role="adjusted", latent="false"' in text
    assert '"dag" [role="latent", latent="true"' in text and 'style="dashed"' in text
    assert 'column="col \\"1\\""' in text
    assert 'origin="learned", confidence="0.3333333333333333"' in text
    assert '"say \\"hi\\"" -> "ünïcødé 因果"' in text


def test_gml_output_stringifies_none():
    text = f.dumps(single_node(), "gml")
    assert 'column ""' in text and "None" not in text
    assert "directed 1" in text


# --- files --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("ext", "fmt"), list(f.EXTENSIONS.items()))
def test_write_and_read_files_by_extension(tmp_path, ext, fmt):
    g = weird_graph()
    path = f.write_graph(g, tmp_path / "sub" / f"graph{ext}")
    assert path.exists() and [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left
    assert f.loads(path.read_text("utf-8"), fmt).number_of_edges() == g.number_of_edges()
    back = f.read_graph(path)
    assert list(back.nodes) == list(g.nodes) and set(back.edges) == set(g.edges)
    assert m.graphs_equal(f.read_graph(str(path)), back)
    if fmt != "dagitty":
        assert m.graphs_equal(back, g)


def test_explicit_format_overrides_extension(tmp_path):
    path = f.write_graph(single_node(), tmp_path / "graph.data", fmt="dot")
    assert path.read_text("utf-8").startswith("digraph")
    assert list(f.read_graph(path, fmt="gv").nodes) == ["only"]
    with pytest.raises(ParameterError, match="extension='.data' is not supported; choose one of: '.json'"):
        f.read_graph(path)
    with pytest.raises(ParameterError, match="extension='.data'"):
        f.write_graph(single_node(), tmp_path / "x.data")
    with pytest.raises(ParameterError, match="fmt='yaml' is not supported; choose one of: 'json', 'dot'"):
        f.write_graph(single_node(), tmp_path / "x.json", fmt="yaml")
    with pytest.raises(ParameterError, match="fmt='yaml'"):
        f.loads("{}", "yaml")


def test_write_refuses_cycles_and_leaves_old_file(tmp_path):
    path = f.write_graph(single_node(), tmp_path / "g.json")
    before = path.read_text("utf-8")
    with pytest.raises(GraphError, match="cycle a → b → a"):
        f.write_graph(nx.DiGraph([("a", "b"), ("b", "a")]), path)
    assert path.read_text("utf-8") == before


def test_read_errors(tmp_path):
    with pytest.raises(GraphError, match="path=.*missing.json' does not exist"):
        f.read_graph(tmp_path / "missing.json")
    with pytest.raises(GraphError, match="does not exist"):
        f.read_graph(str(tmp_path / "missing.dot"))
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe{")
    with pytest.raises(GraphError, match="cannot be read as UTF-8"):
        f.read_graph(bad)
    with pytest.raises(GraphError, match="text must be a string"):
        f.loads(b"dag {}")  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "fmt"), [
    ('{"nodes": []}', "json"),
    ("  // comment\n digraph { a -> b }", "dot"),
    ("strict digraph g { a }", "dot"),
    ("graph [\n directed 1\n]", "gml"),
    ("dag { A -> B }", "dagitty"),
    ("/* c */ dag {}", "dagitty"),
])
def test_read_graph_from_text_guesses_the_format(text, fmt):
    assert f.sniff_format(text) == fmt
    assert isinstance(f.read_graph(text), nx.DiGraph)


def test_unrecognised_text():
    with pytest.raises(GraphError, match="line 1: expected graph text starting with"):
        f.loads("hello world")


# --- DOT parsing ----------------------------------------------------------------------------------------

def test_plain_dot():
    g = f.loads('digraph { a -> b; "x y" -> z [label="why not"]; }', "dot")
    assert list(g.nodes) == ["a", "b", "x y", "z"]
    assert g.edges["x y", "z"] == {"origin": "expert", "confidence": None, "note": "why not"}
    assert g.nodes["a"]["role"] == "variable"


def test_dot_features():
    text = """
    /* a block
       comment */
    strict digraph "My graph" {
      graph [rankdir=LR]; rankdir = TB
      node [shape=box, role=confounder]
      c1; c2
      node [role=variable]
      a -> b -> c [origin=learned, confidence=0.75]  // chain
      # a preprocessor-style line
      a -> {d e}
      subgraph cluster_0 { label="inner"; f -> g }
      h:port:ne -> i
      "long" + " name" -> a
      b [role="mediator", pos="1,2!", column=bcol, latent=0, description="multi\\nline"]
      edge [note="default note"]
      j -> k
    }
    """
    g = f.loads(text, "dot")
    assert g.nodes["c1"]["role"] == "confounder" and g.nodes["a"]["role"] == "variable"
    assert g.edges["a", "b"]["confidence"] == 0.75 and g.edges["b", "c"]["origin"] == "learned"
    assert g.has_edge("a", "d") and g.has_edge("a", "e") and g.has_edge("f", "g")
    assert g.has_edge("h", "i") and g.has_edge("long name", "a")
    assert g.nodes["b"] == {"role": "mediator", "latent": False, "column": "bcol", "description": "multi\nline",
                            "x": 1.0, "y": 2.0}
    assert g.edges["j", "k"]["note"] == "default note" and g.edges["a", "d"]["note"] == ""
    assert "cluster_0" not in g and "label" not in g


def test_dot_duplicate_edges_merge():
    g = f.loads('digraph { a -> b [origin=template]; a -> b [note="n"] }', "dot")
    assert g.edges["a", "b"] == {"origin": "template", "confidence": None, "note": "n"}


@pytest.mark.parametrize(("text", "pattern"), [
    ("graph { a -- b }", "DOT line 1: expected 'digraph'"),
    ("digraph {\n a -- b }", r"DOT line 2: expected '->' between 'a' and 'b', found '--'"),
    ("digraph {\n a -> b\n c -> }", r"DOT line 3: expected a node name or '\{' after '->', found '\}'"),
    ("digraph {\n a -> b [role=x", r"DOT line 2: expected an attribute name or '\]', found the end of the text"),
    ("digraph {\n\n \"open -> b }", "DOT line 3: expected a closing '\"' for the string opened here"),
    ("digraph {\n /* never closed\n a }", r"DOT line 2: expected '\*/' to close the comment"),
    ("digraph { a }\n b", "DOT line 2: expected the end of the text after the closing '}', found 'b'"),
    ("digraph {\n a [role=boss] }", "DOT line 2: node 'a' has role='boss', which is not supported"),
    ("digraph {\n a -> b [origin=guess] }", "DOT line 2: edge 'a' -> 'b' has origin='guess'"),
    ("digraph {\n a -> b [confidence=2] }", r"DOT line 2: expected a confidence in \[0, 1\] for edge 'a' -> 'b'"),
    ("digraph {\n a [pos=\"1\"] }", "DOT line 2: expected pos=\"x,y\" with two finite numbers for node 'a'"),
    ("digraph {\n a [latent=maybe] }", "DOT line 2: expected true or false for latent of node 'a'"),
    ("digraph {\n a -> a }", "DOT line 2: expected an edge between two different nodes, found the self-loop"),
    ("digraph {\n a [label=<b>x</b>] }", "DOT line 2: HTML labels"),
    ("digraph {\n a -> b -> c -> a }", "DOT: The graph must be acyclic, but it has the cycle a → b → c → a"),
    ("digraph {\n \"\" -> b }", "DOT line 2: name='' is invalid"),
    ("digraph {\n {a b} [role=x] }", r"DOT line 2: expected an edge operator after a '\{...\}' group"),
    ("digraph {\n = }", r"DOT line 2: expected a node name, an edge or '\}', found '='"),
    ("digraph a b", r"DOT line 1: expected '\{' to open the graph body, found 'b'"),
    ("digraph {\n a ! b }", "DOT line 2: expected a name, a quoted string"),
])
def test_dot_errors(text, pattern):
    with pytest.raises(GraphError, match=pattern):
        f.loads(text, "dot")


# --- DAGitty parsing -----------------------------------------------------------------------------------

def test_dagitty_snippet_from_the_website():
    g = f.loads('dag { bb="0,0,1,1" A [exposure,pos="0.1,0.2"] Y [outcome] U [latent] A -> Y U -> A U -> Y }',
                "dagitty")
    assert list(g.nodes) == ["A", "Y", "U"]
    assert set(g.edges) == {("A", "Y"), ("U", "A"), ("U", "Y")}
    assert g.nodes["A"]["role"] == "treatment" and (g.nodes["A"]["x"], g.nodes["A"]["y"]) == (0.1, 0.2)
    assert g.nodes["Y"]["role"] == "outcome"
    assert g.nodes["U"]["role"] == "latent" and g.nodes["U"]["latent"] is True
    assert m.treatment_and_outcome(g) == ("A", "Y")


def test_dagitty_multiline_export():
    text = """dag {
bb="-4.5,-3.2,4.1,3.5"
"Smoking status" [exposure,pos="-2.1,0.4"]
"Lung cancer" [outcome,pos="1.7,0.4"]
Genotype [latent,pos="-0.2,-1.6"]
Age [adjusted,pos="0.1,1.9"]
Tar [pos="-0.2,0.4"]
Noise [selected]
"Smoking status" -> Tar [beta=0.5]
Tar -> "Lung cancer"
Genotype -> {"Smoking status" "Lung cancer"}
Age -> "Lung cancer" <- Noise
"Smoking status" <- Age
}
"""
    g = f.read_graph(text)
    assert g.nodes["Smoking status"]["role"] == "treatment"
    assert g.nodes["Age"]["role"] == "adjusted"
    assert g.nodes["Noise"]["role"] == "variable"  # 'selected' has no counterpart
    assert set(g.edges) == {("Smoking status", "Tar"), ("Tar", "Lung cancer"), ("Genotype", "Smoking status"),
                            ("Genotype", "Lung cancer"), ("Age", "Lung cancer"), ("Noise", "Lung cancer"),
                            ("Age", "Smoking status")}


@pytest.mark.parametrize("text", [
    "dag { U <- {X V}; S1 <- U; {Y V} -> W; S2 <- W}",
    "dag { S1 <- U <- {X V}; {Y V} -> W -> S2}",
    "dag { S1 <- U; U <- X; U <- V; Y -> W; V -> W -> S2}",
])
def test_dagitty_shortcuts_are_equivalent(text):
    g = f.loads(text, "dagitty")
    assert set(g.edges) == {("X", "U"), ("V", "U"), ("U", "S1"), ("Y", "W"), ("V", "W"), ("W", "S2")}


def test_dagitty_bidirected_edge_becomes_a_latent_parent():
    g = f.loads('dag { A [exposure] Y [outcome] A -> Y\nA <-> Y "x y" <-> A }', "dagitty")
    assert set(g.successors("U_A_Y")) == {"A", "Y"} and set(g.successors("U_x y_A")) == {"x y", "A"}
    assert g.nodes["U_A_Y"]["role"] == "latent" and g.nodes["U_A_Y"]["latent"] is True
    assert "A <-> Y" in g.nodes["U_A_Y"]["description"]
    g = f.loads("dag { U_A_B A <-> B }", "dagitty")  # the name is taken: a suffix is added
    assert set(g.successors("U_A_B_2")) == {"A", "B"} and g.nodes["U_A_B"]["role"] == "variable"


def test_dagitty_latent_with_another_role():
    g = f.loads("dag { E [latent, exposure] O [outcome;latent] }", "dagitty")
    assert g.nodes["E"]["role"] == "treatment" and g.nodes["E"]["latent"] is True
    assert g.nodes["O"]["role"] == "outcome" and m.is_latent(g, "O")
    back = f.loads(f.dumps(g, "dagitty"), "dagitty")
    assert m.graphs_equal(back, g)


@pytest.mark.parametrize(("text", "pattern"), [
    ("pdag { A -> B }", "DAGitty line 1: expected 'dag', found 'pdag'"),
    ("dag {\n A -- B }", r"DAGitty line 2: expected '->', '<-' or '<->' between 'A' and 'B', found '--'"),
    ("dag {\n\n A @-> B }", "DAGitty line 3: expected '->', '<-' or '<->' between 'A' and 'B', found '@->'"),
    ("dag {\n A -> B\n", r"DAGitty line 3: expected '\}' to close the graph body, found the end of the text"),
    ("dag {\n A -> }", r"DAGitty line 2: expected a node name or '\{' after '->', found '\}'"),
    ("dag {\n A [pos=\"x,1\"] }", "DAGitty line 2: expected pos=\"x,y\" with two finite numbers for node 'A'"),
    ("dag {\n A [pos=] }", "DAGitty line 2: expected a value for the attribute 'pos', found '\\]'"),
    ("dag {\n A -> A }", "DAGitty line 2: expected an edge between two different nodes"),
    ("A -> B", "DAGitty line 1: expected 'dag' or 'digraph' at the start, found 'A'"),
    ("dag { A -> B B -> A }", "DAGitty: The graph must be acyclic, but it has the cycle"),
    ('dag {\n "' + "x" * 81 + '" }', "DAGitty line 2: name=.* at most 80 characters"),
])
def test_dagitty_errors(text, pattern):
    with pytest.raises(GraphError, match=pattern):
        f.loads(text, "dagitty")


# --- GML and JSON errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "pattern"), [
    ('graph [\n directed 1\n node [ id 0 label "a" \n edge ]', r"GML line 4: expected .* \(column \d+\)"),
    ("graph [\n directed 1\n @ ]", r"GML line 3: cannot tokenize"),
    ('graph [ node [ id 0 label "a" ] ]', r"GML: expected a directed graph \('directed 1'\)"),
    ("graph [ directed 1 node [ id 0 ] ]", "GML: expected a graph .* node #0 has no 'label' attribute"),
    ('graph [ directed 1 node [ id 0 label "a" role "boss" ] ]', "GML: node 'a' has role='boss'"),
    ('graph [ directed 1 multigraph 1 node [ id 0 label "a" ] ]', "GML: expected at most one edge per pair"),
])
def test_gml_errors(text, pattern):
    with pytest.raises(GraphError, match=pattern):
        f.loads(text, "gml")


def test_gml_written_by_networkx():
    g = nx.DiGraph()
    g.add_node("x y", role="treatment", latent=0)
    g.add_node("z", role="outcome", x=1.5, y=2.0)
    g.add_edge("x y", "z", confidence=0.5)
    back = f.loads("\n".join(nx.generate_gml(g)), "gml")
    assert back.nodes["x y"]["role"] == "treatment" and back.nodes["z"]["x"] == 1.5
    assert back.edges["x y", "z"]["confidence"] == 0.5


@pytest.mark.parametrize(("text", "pattern"), [
    ('{"nodes": [\n  {"name": "a",}\n]}', r"JSON line 2: Expecting property name enclosed in double quotes"),
    ('{"nodes": [{"name": "a", "role": "boss"}]}', "JSON: node 'a' has role='boss'"),
    ('{"format": "causalrec-graph", "version": 1, "nodes": [{"name": "a"}], '
     '"edges": [{"source": "a", "target": "b"}]}', r"JSON: edges\[0\].target='b' is not a node"),
])
def test_json_errors(text, pattern):
    with pytest.raises(GraphError, match=pattern):
        f.loads(text, "json")


def test_crlf_text_and_line_continuations():
    g = f.loads('digraph {\r\n "ab\\\r\ncd" -> e\r\n}\r\n', "dot")
    assert list(g.nodes) == ["abcd", "e"]
    with pytest.raises(GraphError, match=r"DOT line 5: expected a node name or '\{' after '->'"):
        f.loads('digraph {\r\n "ab\\\r\ncd" -> e\r\n x -> \r\n }', "dot")
