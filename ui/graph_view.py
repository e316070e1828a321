"""Pure helpers of the Causal graph page (``pages/graph.py``): graph files and templates, the
effect's roles, the identification's adjustment choices and the implication tests' marks on the
drawing. No streamlit here, so they are tested directly."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import networkx as nx

from causalrec_core.errors import GraphError
from causalrec_core.graph import formats, model, templates

MAX_GRAPH_FILE_BYTES = 5_000_000
FOCUS_ROLES = ("treatment", "outcome")
#: how each identification strategy identifies the effect, as the page says it
ESTIMAND_TEXT = {"backdoor": "by adjusting for confounders (backdoor criterion)",
                 "frontdoor": "through the mediators (frontdoor criterion)",
                 "iv": "with instrumental variables (under further assumptions)"}


def graph_from_file(name: str, data: bytes) -> tuple[nx.DiGraph, str]:
    """(graph, graph name) of an uploaded graph file ``name`` (format from its extension).

    Raises GraphError for a file over 5 MB, one that is not UTF-8 text, or one that does not parse.
    """
    if len(data) > MAX_GRAPH_FILE_BYTES:
        raise GraphError(f"{name!r} is {len(data) / 1e6:.1f} MB; a graph file must be at most 5 MB.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise GraphError(f"{name!r} is not UTF-8 text.") from None
    graph = formats.loads(text, formats.EXTENSIONS.get(Path(name).suffix.lower()))
    return graph, Path(name).stem[:100] or "imported_graph"


def truth_graph(truth_path: Path, dataset_name: str) -> nx.DiGraph:
    """The simulator's true graph from a simulated dataset's truth.json."""
    try:
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise GraphError(f"truth.json of dataset {dataset_name!r} cannot be read: {err}.") from None
    return templates.simulator_template(truth)


def focus_nodes(graph: nx.DiGraph) -> dict[str, str | None]:
    """{'treatment': node, 'outcome': node}: the first node holding each role (None without one)."""
    return {role: next(iter(model.nodes_with_role(graph, role)), None) for role in FOCUS_ROLES}


def with_focus(graph: nx.DiGraph, role: str, pick: str | None) -> nx.DiGraph:
    """``graph`` with ``pick`` as its only node of ``role`` (the others become plain variables);
    ``pick=None``: no node has the role."""
    for node in model.nodes_with_role(graph, role):
        if node != pick:
            graph = model.set_role(graph, node, "variable")
    if pick:
        graph = model.set_role(graph, pick, role)
    return graph


def adjustment_choices(ident: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Label -> adjustment set offered for highlighting the open backdoor paths: none, the optimal
    set, then every minimal backdoor set (an identification result's ``to_dict()``)."""
    choices: dict[str, tuple[str, ...]] = {"no adjustment": ()}
    if ident["optimal_set"]:
        choices[f"optimal set: {', '.join(ident['optimal_set'])}"] = tuple(ident["optimal_set"])
    for s in ident["backdoor_sets"]:
        choices.setdefault(f"{', '.join(s) or '(empty set)'}", tuple(s))
    return choices


def rejection_marks(records: Iterable[Mapping[str, Any]]) -> tuple[list[dict[str, str]], dict[str, str]]:
    """(hints, flags) for the drawing from the implication tests' rows: a dotted line between the
    two variables of every rejected independence, and a flag on each of them."""
    from causalrec_core.graph.implications import format_p_value

    hints, flags = [], {}
    for r in records:
        if r["rejected"]:
            given = f" | {r['given']}" if r["given"] else ""
            p = format_p_value(r["p_adjusted"], 2)
            p = f" {p}" if p.startswith("<") else f"={p}"
            hints.append({"a": r["x"], "b": r["y"], "label": f"dependent (p{p})",
                          "title": f"The data reject {r['x']} ⟂ {r['y']}{given} (adjusted p{p})."})
            for node in (r["x"], r["y"]):
                flags[node] = "involved in an implied independence the data reject"
    return hints, flags


def accepted_edges(records: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, float]]:
    """(source, target, confidence) of the accepted rows of the learned-edges table, reversed where
    the row asks to flip the edge."""
    return [(r["target"], r["source"], r["confidence"]) if r["flip"] else (r["source"], r["target"], r["confidence"])
            for r in records if r["accept"]]


P_VALUE_COLUMNS = ("p_value", "p_adjusted")


def tests_display_table(table):
    """The implication tests' table as the page shows it: p-values as text (3 significant digits,
    scientific notation when small, "< 1e-300" when they underflowed to 0, never a bare 0)."""
    from causalrec_core.graph.implications import format_p_value

    out = table.copy()
    for col in P_VALUE_COLUMNS:
        if col in out.columns:
            out[col] = [format_p_value(p) for p in out[col]]
    return out
