"""The browser graph editor: a bidirectional Streamlit v2 component on the vis-network that the
pyvis wheel ships, plus the small pure helpers the Graph page needs around it.

How the component talks to Python
    Python → browser: :func:`editor_data` turns the current graph (and the identification and
    test overlays) into a JSON ``data`` payload: nodes with role, latent flag, bound column and a
    position, edges with origin, confidence and highlight flags, and "hint" lines for rejected
    independences. The browser draws exactly that; it never changes its own copy.

    Browser → Python: every user action is a trigger event, ``edit`` (``{op, ..., seq}``, see
    :data:`EDIT_OPS`) or ``image`` (``{png: data-URL, seq}``). The page passes callbacks
    (``on_edit_change`` / ``on_image_change``) that run before the next script run; they validate
    the event with :func:`apply_edit` / :func:`decode_png`, which call the core's pure edit
    functions (so a cycle is refused with the core's message), and the page redraws from the
    authoritative graph.

The JavaScript (``ui/graph_editor/editor.js``) and the vis-network bundle are read from local
files and passed inline: nothing is loaded from a CDN. Node names reach the browser as JSON and
are drawn as canvas text or set with ``textContent``, never as HTML.

The dataset helpers at the end are cache wrappers for the page (column names for binding, the
unit table the implications and structure learning run on).
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import streamlit as st

from causalrec_core.errors import CausalRecError, GraphError
from causalrec_core.graph import model

COMPONENT_NAME = "causalrec_graph_editor"
ASSETS = Path(__file__).with_name("graph_editor")
EDIT_OPS: tuple[str, ...] = ("add_edge", "remove_edge", "reverse_edge", "remove_node", "move")
MAX_PNG_BYTES = 20_000_000
LAYER_DX, LAYER_DY, NODE_DX = 230.0, 120.0, 190.0


# ---------------------------------------------------------------------------------------------
# The component
# ---------------------------------------------------------------------------------------------

def _vis_bundle() -> Path:
    """vis-network's UMD bundle inside the installed pyvis package."""
    try:
        import pyvis
    except ImportError:
        raise GraphError("The graph editor needs the pyvis package (it ships vis-network), which is not "
                         "installed; install requirements.txt.") from None
    lib = Path(pyvis.__file__).resolve().parent / "lib"
    found = sorted(lib.glob("vis-*/vis-network.min.js"))
    if not found:
        raise GraphError(f"The graph editor needs vis-network from the pyvis package, but {lib} has no "
                         "vis-*/vis-network.min.js; reinstall pyvis (requirements.txt).")
    return found[-1]


@functools.cache
def _script() -> str:
    """vis-network wrapped so that its UMD header fills a local ``module`` (no global, no CDN),
    followed by the editor module."""
    lib = _vis_bundle().read_text(encoding="utf-8")
    lib = re.sub(r"^//# sourceMappingURL=.*$", "", lib, flags=re.M)  # no .map request; keep the rest byte-exact
    prelude = ("const vis = (function () {\n  const module = { exports: {} };\n  const exports = module.exports;\n"
               "  const define = undefined;\n" + lib + "\n  ;return module.exports;\n}).call(globalThis);\n")
    return prelude + (ASSETS / "editor.js").read_text(encoding="utf-8")


@functools.cache
def _component() -> Callable[..., Any]:
    return st.components.v2.component(
        COMPONENT_NAME, js=_script(), css=(ASSETS / "editor.css").read_text(encoding="utf-8"),
        isolate_styles=True)


@dataclass(frozen=True)
class Overlay:
    """What to highlight on the drawing (all optional)."""

    treatment: str | None = None
    outcome: str | None = None
    adjustment: tuple[str, ...] = ()
    causal_edges: frozenset[tuple[str, str]] = frozenset()
    backdoor_edges: frozenset[tuple[str, str]] = frozenset()
    hints: tuple[dict[str, str], ...] = ()        # {a, b, label, title}: rejected independences
    flags: Mapping[str, str] = field(default_factory=dict)  # node -> short warning


def graph_editor(graph: nx.DiGraph, *, key: str, on_edit: Callable[[], None], on_image: Callable[[], None],
                 overlay: Overlay | None = None, graph_id: int = 0, rev: int = 0,
                 notice: Mapping[str, str] | None = None, ack: int | None = None, height: int = 520) -> Any:
    """Mount the editor for ``graph``; ``on_edit`` / ``on_image`` run when the user acts (read the
    event from ``st.session_state[key]["edit"]`` / ``["image"]``). ``ack`` is the ``seq`` of the
    last event handled, so that every answer (even a refusal that changes nothing) reaches the browser."""
    data = editor_data(graph, overlay, graph_id=graph_id, rev=rev, notice=notice, height=height)
    data["ack"] = ack
    return _component()(key=key, data=data, on_edit_change=on_edit, on_image_change=on_image,
                        width="stretch", height="content")


# ---------------------------------------------------------------------------------------------
# Python -> browser
# ---------------------------------------------------------------------------------------------

def _has_pos(data: Mapping[str, Any]) -> bool:
    x, y = data.get("x"), data.get("y")
    return x is not None and y is not None and math.isfinite(x) and math.isfinite(y)


def _layers(graph: nx.DiGraph) -> list[list[str]]:
    """Topological generations, each ordered by the mean place of the node's parents in the
    layers before (one barycentre sweep: fewer crossings), ties by graph order."""
    order = {n: i for i, n in enumerate(graph.nodes)}
    try:
        layers = [sorted(layer, key=order.__getitem__) for layer in nx.topological_generations(graph)]
    except nx.NetworkXUnfeasible:  # a cycle cannot happen in a validated graph; draw one column
        return [list(graph.nodes)]
    place: dict[str, float] = {}
    for i, layer in enumerate(layers):
        if i:
            def key(n: str) -> tuple[float, int]:
                parents = [place[p] for p in graph.predecessors(n) if p in place]
                return (sum(parents) / len(parents) if parents else float("inf"), order[n])
            layer.sort(key=key)
        for j, n in enumerate(layer):
            place[n] = j - (len(layer) - 1) / 2
    return layers


def layout_positions(graph: nx.DiGraph) -> dict[str, tuple[float, float]]:
    """A position for every node: the stored one when the node has it, else a layered layout
    when no node has a position (causes left of their effects, one column per topological
    generation; top to bottom instead when a long chain would make the left-to-right drawing tiny),
    else a fresh column to the right of the drawing for the nodes added since."""
    placed = {n: (float(d["x"]), float(d["y"])) for n, d in graph.nodes(data=True) if _has_pos(d)}
    missing = [n for n in graph.nodes if n not in placed]
    if not missing:
        return placed
    if not placed:
        layers = _layers(graph)
        depth, breadth = len(layers) - 1, max(len(layer) for layer in layers) - 1

        def scale(w: float, h: float) -> float:  # zoom that fits a w × h drawing in a ~550 × 520 canvas
            return min(550 / (w + 150), 520 / (h + 60))

        across = scale(depth * LAYER_DX, breadth * LAYER_DY)
        down = scale(breadth * NODE_DX, depth * LAYER_DY)
        vertical = across < 0.8 and down > 1.5 * across
        out = {}
        for i, layer in enumerate(layers):
            for j, node in enumerate(layer):
                k = j - (len(layer) - 1) / 2
                out[node] = (k * NODE_DX, i * LAYER_DY) if vertical else (i * LAYER_DX, k * LAYER_DY)
        return out
    x = max(p[0] for p in placed.values()) + LAYER_DX
    y0 = min(p[1] for p in placed.values())
    for j, node in enumerate(missing):
        placed[node] = (x, y0 + j * LAYER_DY)
    return placed


def with_layout(graph: nx.DiGraph) -> nx.DiGraph:
    """``graph`` with a stored position for every node (see :func:`layout_positions`), so that the
    drawing stays put when edges are added or removed; ``graph`` itself is unchanged."""
    out = graph
    for node, (x, y) in layout_positions(graph).items():
        if not _has_pos(graph.nodes[node]):
            out = model.set_position(out, node, round(x, 1), round(y, 1))
    return out


def _number(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def editor_data(graph: nx.DiGraph, overlay: Overlay | None = None, *, graph_id: int = 0, rev: int = 0,
                notice: Mapping[str, str] | None = None, height: int = 520) -> dict[str, Any]:
    """The JSON payload the browser draws (plain lists, strings, numbers and booleans)."""
    ov = overlay or Overlay()
    pos = layout_positions(graph)
    nodes = []
    for name, d in graph.nodes(data=True):
        x, y = pos[name]
        nodes.append({
            "name": str(name), "role": d.get("role", "variable"), "latent": model.is_latent(graph, name),
            "column": d.get("column"), "description": d.get("description") or "",
            "x": round(x, 1), "y": round(y, 1), "flag": ov.flags.get(name, ""),
        })
    edges = [{
        "source": str(a), "target": str(b), "origin": d.get("origin", "expert"),
        "confidence": _number(d.get("confidence")), "note": d.get("note") or "",
        "causal": (a, b) in ov.causal_edges, "backdoor": (a, b) in ov.backdoor_edges,
    } for a, b, d in graph.edges(data=True)]
    hints = [dict(h) for h in ov.hints if h.get("a") in graph and h.get("b") in graph]
    return {
        "graph_id": int(graph_id), "rev": int(rev), "height": int(height),
        "nodes": nodes, "edges": edges, "hints": hints,
        "treatment": ov.treatment, "outcome": ov.outcome, "adjustment": list(ov.adjustment),
        "notice": dict(notice) if notice else None,
    }


# ---------------------------------------------------------------------------------------------
# browser -> Python
# ---------------------------------------------------------------------------------------------

def _name(edit: Mapping[str, Any], field_name: str) -> str:
    value = edit.get(field_name)
    if not isinstance(value, str):
        raise GraphError(f"the editor sent {field_name}={value!r}; expected a node name.")
    return value


def apply_edit(graph: nx.DiGraph, edit: object) -> tuple[nx.DiGraph, str]:
    """Validate one editor event and apply it with the core's pure edit functions.

    Returns
    -------
    (graph, message)
        A new graph (``graph`` itself is never changed) and a one-line description of the edit.

    Raises
    ------
    GraphError
        The event is malformed, or the core refuses the edit (unknown node, cycle — the message
        names it —, duplicate edge, ...).
    """
    if not isinstance(edit, Mapping):
        raise GraphError(f"the editor sent {type(edit).__name__}; expected an edit object.")
    op = edit.get("op")
    if op not in EDIT_OPS:
        raise GraphError(f"the editor sent op={op!r}, which is not supported; choose one of: "
                         + ", ".join(repr(o) for o in EDIT_OPS) + ".")
    if op == "move":
        positions = edit.get("positions")
        if not isinstance(positions, Mapping) or len(positions) > max(graph.number_of_nodes(), 1):
            raise GraphError("the editor sent malformed node positions.")
        out = graph
        for node, xy in positions.items():
            if not isinstance(xy, (list, tuple)) or len(xy) != 2:
                raise GraphError(f"the editor sent a malformed position for node {node!r}.")
            out = model.set_position(out, node, _number(xy[0]), _number(xy[1]))
        return out, "Moved the nodes."
    if op == "remove_node":
        node = _name(edit, "node")
        return model.remove_node(graph, node), f"Deleted node {node} and its edges."
    a, b = _name(edit, "source"), _name(edit, "target")
    if op == "add_edge":
        return model.add_edge(graph, a, b, origin="expert"), f"Added the edge {a} → {b}."
    if op == "remove_edge":
        return model.remove_edge(graph, a, b), f"Deleted the edge {a} → {b}."
    return model.reverse_edge(graph, a, b), f"Reversed the edge into {b} → {a}."


def decode_png(value: object) -> bytes:
    """The PNG bytes of an ``image`` event (``{png: "data:image/png;base64,..."}``).

    Raises
    ------
    GraphError
        Not a base64 PNG data URL, or larger than 20 MB.
    """
    url = value.get("png") if isinstance(value, Mapping) else None
    prefix = "data:image/png;base64,"
    if not isinstance(url, str) or not url.startswith(prefix):
        raise GraphError("the editor did not send a PNG image.")
    if len(url) > MAX_PNG_BYTES * 4 // 3 + len(prefix) + 4:
        raise GraphError(f"the PNG image is larger than {MAX_PNG_BYTES // 1_000_000} MB.")
    try:
        png = base64.b64decode(url[len(prefix):], validate=True)
    except (binascii.Error, ValueError):
        raise GraphError("the editor sent an image that is not valid base64.") from None
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise GraphError("the editor sent an image that is not a PNG.")
    return png


# ---------------------------------------------------------------------------------------------
# Table edits and learned edges (the accessible fallback of the drawing, and structure learning)
# ---------------------------------------------------------------------------------------------

NODE_TABLE_COLUMNS: tuple[str, ...] = ("node", "role", "latent", "column", "description")


def node_table(graph: nx.DiGraph):
    """One row per node: node, role, latent, column (None when unbound), description."""
    import pandas as pd

    return pd.DataFrame([{"node": str(n), "role": d.get("role", "variable"), "latent": bool(d.get("latent")),
                          "column": d.get("column"), "description": d.get("description") or ""}
                         for n, d in graph.nodes(data=True)], columns=list(NODE_TABLE_COLUMNS))


def apply_node_table(graph: nx.DiGraph, table) -> nx.DiGraph:
    """Return a copy of ``graph`` with the roles, latent flags, columns and descriptions of an
    edited :func:`node_table` (rows matched by ``node``; a blank column unbinds the node).

    Raises
    ------
    GraphError, ParameterError
        An unknown node or role, or a latent node bound to a column (the core's messages).
    """
    out = graph
    for row in table.to_dict("records"):
        node = row.get("node")
        model.require_nodes(out, [node])
        role = row.get("role") or "variable"
        if role != out.nodes[node].get("role", "variable"):
            out = model.set_role(out, node, role)
        column = row.get("column") if isinstance(row.get("column"), str) and row["column"].strip() else None
        description = row.get("description") if isinstance(row.get("description"), str) else ""
        latent = bool(row.get("latent"))
        data = out.nodes[node]
        if (latent, column, description) != (bool(data.get("latent")), data.get("column"), data.get("description") or ""):
            out = model.update_node(out, node, latent=latent, column=column, description=description)
    return out


def node_for_column(graph: nx.DiGraph, column: str) -> str | None:
    """The node bound to ``column``, else the node named ``column``, else None."""
    bound = next((n for n, c in graph.nodes(data="column") if c == column), None)
    return bound if bound is not None else (column if column in graph else None)


def learned_edge_status(graph: nx.DiGraph | None, source: str, target: str) -> str:
    """Whether the suggested edge between two columns is already drawn: "yes", "reversed" or ""."""
    if graph is None:
        return ""
    a, b = node_for_column(graph, source), node_for_column(graph, target)
    if a is None or b is None:
        return ""
    return "yes" if graph.has_edge(a, b) else "reversed" if graph.has_edge(b, a) else ""


def add_learned_edges(graph: nx.DiGraph, edges: Iterable[tuple[str, str, float]],
                      note: str) -> tuple[nx.DiGraph, int, list[str]]:
    """Add learned edges between columns, as ``origin="learned"`` with their confidence.

    Each column maps to its node (:func:`node_for_column`); a column without one becomes a new
    node bound to it. An edge the core refuses (already there, would close a cycle, ...) is
    skipped and its message returned.

    Returns
    -------
    (graph, number added, refusal messages)
    """
    out, added, refused = graph, 0, []
    for source, target, confidence in edges:
        try:
            step = out
            for col in (source, target):
                if node_for_column(step, col) is None:
                    step = model.add_node(step, col, column=col)
            out = model.add_edge(step, node_for_column(step, source), node_for_column(step, target),
                                 origin="learned", confidence=float(confidence), note=note)
            added += 1
        except CausalRecError as err:
            refused.append(str(err))
    return out, added, refused


# ---------------------------------------------------------------------------------------------
# Dataset helpers for the page (cache wrappers)
# ---------------------------------------------------------------------------------------------

UNIT_TABLES: tuple[str, ...] = ("pairs", "interactions")
"""Unit tables the graph can be tested on: the simulator's ``pairs`` (every user × candidate item,
exposed or not) when the dataset has it, and ``interactions`` (pairs with events) joined with
``user_activity = users.n_events`` and ``item_popularity = items.n_users``."""


def _null_shares(meta) -> dict[str, float]:
    """column -> share of null values, from the parquet footer's statistics (no data is read);
    columns without statistics are left out."""
    n = meta.num_rows
    counts: dict[str, int] = {}
    unknown: set[str] = set()
    for g in range(meta.num_row_groups):
        rg = meta.row_group(g)
        for j in range(rg.num_columns):
            col = rg.column(j)
            name = col.path_in_schema
            stats = col.statistics
            if stats is None or not stats.has_null_count:
                unknown.add(name)
            else:
                counts[name] = counts.get(name, 0) + int(stats.null_count)
    return {c: k / n for c, k in counts.items() if c not in unknown} if n else {}


@st.cache_data(show_spinner=False, max_entries=32)
def _columns(root: str, dataset_id: int, revision: int,
             paths: tuple[tuple[str, str], ...]) -> dict[str, list[tuple[str, bool, float]]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def numeric(t: pa.DataType) -> bool:
        return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)

    out = {}
    for table, path in paths:
        try:
            pf = pq.ParquetFile(path)
            shares = _null_shares(pf.metadata)
            out[table] = [(f.name, numeric(f.type), shares.get(f.name, 0.0)) for f in pf.schema_arrow]
        except (OSError, pa.ArrowException):
            out[table] = []
    if "interactions" in out:
        out["interactions"] = out["interactions"] + [("user_activity", True, 0.0), ("item_popularity", True, 0.0)]
    return out


def _found_columns(store, dataset) -> dict[str, list[tuple[str, bool, float]]]:
    paths = tuple((t, str(dataset.path / f"{t}.parquet")) for t in ("events", "users", "items", *UNIT_TABLES)
                  if t in dataset.tables)
    return _columns(str(store.root), dataset.id, dataset.revision, paths)


def table_columns(store, dataset, *, numeric_only: bool = False) -> dict[str, list[str]]:
    """Column names per table of ``dataset`` (events, users, items, interactions, pairs), the
    interactions table listing the joined ``user_activity`` and ``item_popularity`` too;
    ``numeric_only`` keeps the integer, float and boolean columns."""
    found = _found_columns(store, dataset)
    return {t: [c for c, num, _ in cols if num or not numeric_only] for t, cols in found.items()}


def missing_shares(store, dataset) -> dict[str, dict[str, float]]:
    """table -> column -> share of its values that are missing (null), read from the parquet
    statistics of ``dataset`` (0 where the file has no statistics)."""
    return {t: {c: share for c, _, share in cols} for t, cols in _found_columns(store, dataset).items()}


@st.cache_data(show_spinner=False, max_entries=8)
def _constant(root: str, dataset_id: int, revision: int, paths: tuple[tuple[str, str], ...]) -> dict[str, list[str]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out: dict[str, list[str]] = {}
    for table, path in paths:
        try:
            meta = pq.ParquetFile(path).metadata
        except (OSError, pa.ArrowException):
            out[table] = []
            continue
        found = []
        for j in range(meta.num_columns):
            values, name = set(), None
            for g in range(meta.num_row_groups):
                col = meta.row_group(g).column(j)
                name = col.path_in_schema
                st_ = col.statistics
                if st_ is None or not st_.has_min_max or (st_.null_count or 0) > 0 or st_.min != st_.max:
                    values = None
                    break
                values.add(st_.min)
            if values is not None and len(values) == 1 and meta.num_rows > 0:
                found.append(name)
        out[table] = found
    return out


def constant_columns(store, dataset) -> dict[str, list[str]]:
    """table -> the columns with one value (and no missing one) in every row, read from the parquet
    statistics of ``dataset`` (a column without statistics is not reported)."""
    paths = tuple((t, str(dataset.path / f"{t}.parquet")) for t in UNIT_TABLES if t in dataset.tables)
    return _constant(str(store.root), dataset.id, dataset.revision, paths)


def binding_columns(columns_by_table: Mapping[str, Iterable[str]]) -> list[str]:
    """Every column name a node can bind to, unit-table columns first, without duplicates."""
    seen: dict[str, None] = {}
    for table in (*UNIT_TABLES, "events", "users", "items"):
        for col in columns_by_table.get(table, ()):
            seen.setdefault(col, None)
    return list(seen)


@st.cache_data(show_spinner="Loading the data…", max_entries=4)
def _unit_table(root: str, dataset_id: int, revision: int, table: str):
    from ui.state import get_store

    store = get_store()
    if table == "pairs":
        return store.load_table(dataset_id, "pairs")
    inter = store.load_table(dataset_id, "interactions")
    users = store.load_table(dataset_id, "users", ["user_id", "n_events"])
    items = store.load_table(dataset_id, "items", ["item_id", "n_users"])
    inter = inter.merge(users.rename(columns={"n_events": "user_activity"}), on="user_id", how="left")
    return inter.merge(items.rename(columns={"n_users": "item_popularity"}), on="item_id", how="left")


def unit_table(store, dataset, table: str):
    """The unit table ``table`` (one of :data:`UNIT_TABLES`) of ``dataset`` as a DataFrame (cached)."""
    if table not in UNIT_TABLES or (table == "pairs" and "pairs" not in dataset.tables):
        raise GraphError(f"table={table!r} is not available for dataset {dataset.name!r}; choose one of: "
                         + ", ".join(repr(t) for t in UNIT_TABLES if t != "pairs" or "pairs" in dataset.tables)
                         + ".")
    return _unit_table(str(store.root), dataset.id, dataset.revision, table)


def bound_column(graph: nx.DiGraph, node: str) -> str:
    """The column a node is tested on: its ``column``, else its own name (as the core does)."""
    return graph.nodes[node].get("column") or str(node)


def best_unit_table(graph: nx.DiGraph, columns_by_table: Mapping[str, Iterable[str]]) -> str | None:
    """The available unit table holding the most of the graph's bound columns (``pairs`` on ties)."""
    scores = []
    for rank, table in enumerate(UNIT_TABLES):
        if table not in columns_by_table:
            continue
        cols = set(columns_by_table[table])
        hits = sum(bound_column(graph, n) in cols for n in model.observed_nodes(graph))
        scores.append((hits, -rank, table))
    return max(scores)[2] if scores else None
