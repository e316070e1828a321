"""The causal graph model: a ``networkx.DiGraph`` with typed node and edge attributes.

Node attributes
    ``role``        one of :data:`NODE_ROLES` (default ``"variable"``)
    ``latent``      bool, True for unobserved variables (also implied by role ``"latent"``)
    ``column``      the dataset column the node binds to, or None
    ``description`` free text
    ``x``, ``y``    optional layout position (from the browser editor)

Edge attributes
    ``origin``      one of :data:`EDGE_ORIGINS`
    ``confidence``  float in [0, 1] for learned edges (bootstrap frequency), else None
    ``note``        free text

Functions here are pure: they validate their inputs first, never mutate the graph they are
given, and raise :class:`~causalrec_core.errors.GraphError` naming the offending nodes.

Contents
    checks      :func:`check_name`, :func:`check_role`, :func:`check_origin`, :func:`check_confidence`,
                :func:`require_nodes`, :func:`require_dag`, :func:`cycle_through`
    editing     :func:`new_graph`, :func:`add_node`, :func:`remove_node`, :func:`rename_node`,
                :func:`set_role`, :func:`update_node`, :func:`set_position`, :func:`add_edge`,
                :func:`update_edge`, :func:`remove_edge`, :func:`reverse_edge` (each returns a new
                graph; edges that would close a cycle are refused with the cycle named)
    queries     :func:`is_latent`, :func:`observed_nodes`, :func:`nodes_with_role`,
                :func:`treatment_and_outcome`, :func:`graphs_equal`
    history     :class:`GraphHistory` (bounded undo / redo over immutable snapshots)
    exchange    :func:`to_dict` / :func:`from_dict` (the project's JSON format),
                :func:`edge_table` / :func:`graph_from_edge_table` (the editable edge table)
"""

from __future__ import annotations

import copy
import math
import numbers
import unicodedata
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import networkx as nx

from causalrec_core.errors import GraphError, ParameterError, invalid_choice, out_of_range

if TYPE_CHECKING:  # pandas is imported inside the edge-table functions only
    import pandas as pd

NODE_ROLES: tuple[str, ...] = (
    "variable", "treatment", "outcome", "confounder", "mediator", "instrument", "collider",
    "latent", "adjusted",
)
EDGE_ORIGINS: tuple[str, ...] = ("template", "learned", "expert")


def is_latent(graph: nx.DiGraph, node: str) -> bool:
    """True when ``node`` is unobserved (``latent`` attribute or role ``"latent"``)."""
    data = graph.nodes[node]
    return bool(data.get("latent")) or data.get("role") == "latent"


def observed_nodes(graph: nx.DiGraph) -> set[str]:
    return {n for n in graph.nodes if not is_latent(graph, n)}


def require_nodes(graph: nx.DiGraph, nodes: Iterable[str], param: str = "node") -> None:
    """Raise GraphError naming every node of ``nodes`` that is not in ``graph``."""
    missing = sorted(str(n) for n in nodes if n not in graph)
    if missing:
        known = ", ".join(repr(n) for n in sorted(map(str, graph.nodes))) or "none"
        raise GraphError(f"{param}={missing[0]!r} is not a node of the graph"
                         + (f" (nor are {missing[1:]})" if len(missing) > 1 else "")
                         + f"; the nodes are: {known}.")


def cycle_through(graph: nx.DiGraph) -> list[str] | None:
    """A directed cycle as a node list ``[a, b, ..., a]``, or None when the graph is acyclic."""
    try:
        edges = nx.find_cycle(graph, orientation="original")
    except nx.NetworkXNoCycle:
        return None
    nodes = [e[0] for e in edges]
    return nodes + [nodes[0]]


def require_dag(graph: nx.DiGraph) -> None:
    """Raise GraphError naming a cycle when ``graph`` is not acyclic."""
    cyc = cycle_through(graph)
    if cyc:
        raise GraphError("The graph must be acyclic, but it has the cycle " + " → ".join(map(str, cyc)) + ".")


def check_role(role: str) -> str:
    if role not in NODE_ROLES:
        raise invalid_choice("role", role, NODE_ROLES)
    return role


def check_origin(origin: str) -> str:
    if origin not in EDGE_ORIGINS:
        raise invalid_choice("origin", origin, EDGE_ORIGINS)
    return origin


# ---------------------------------------------------------------------------------------------
# Node names and attribute checks
# ---------------------------------------------------------------------------------------------

MAX_NAME_LENGTH = 80
FORMAT_NAME = "causalrec-graph"
FORMAT_VERSION = 1
NODE_ATTRS: tuple[str, ...] = ("role", "latent", "column", "description", "x", "y")
EDGE_ATTRS: tuple[str, ...] = ("origin", "confidence", "note")
EDGE_TABLE_COLUMNS: tuple[str, ...] = ("source", "target", *EDGE_ATTRS)


def check_name(name: object, param: str = "name") -> str:
    """Return ``name`` unchanged when it is a valid node name, else raise GraphError.

    A valid name is a ``str`` of 1 to 80 characters that is not only whitespace and holds no
    control characters. Any other text (quotes, unicode, ``<img src=x onerror=alert(1)>``) is
    stored verbatim: escaping is the renderer's job.

    Raises
    ------
    GraphError
        Naming ``param``, the value and the rule it breaks.
    """
    if not isinstance(name, str):
        raise GraphError(f"{param}={name!r} is invalid: a node name must be a string, "
                         f"not {type(name).__name__}.")
    if not name.strip():
        raise GraphError(f"{param}={name!r} is invalid: a node name must not be empty or blank.")
    if len(name) > MAX_NAME_LENGTH:
        raise GraphError(f"{param}={name[:20]!r}... is invalid: a node name must be at most "
                         f"{MAX_NAME_LENGTH} characters long (it has {len(name)}).")
    bad = next((ch for ch in name if unicodedata.category(ch) in ("Cc", "Cs")), None)
    if bad is not None:
        raise GraphError(f"{param}={name!r} is invalid: a node name must not contain control "
                         f"characters (found {bad!r}).")
    return name


def _check_column(column: object, node: str) -> str | None:
    if column is None:
        return None
    if not isinstance(column, str) or not column.strip():
        raise GraphError(f"column={column!r} of node {node!r} is invalid: it must be a non-empty "
                         "column name or None.")
    return column


def _check_text(value: object, param: str, owner: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise GraphError(f"{param}={value!r} of {owner} is invalid: it must be a string.")
    return value


def _check_coord(value: object, param: str, node: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise GraphError(f"{param}={value!r} of node {node!r} is invalid: it must be a finite "
                         "number or None.")
    return float(value)


def check_confidence(confidence: object, param: str = "confidence") -> float | None:
    """Return ``confidence`` as a float in [0, 1], or None; raise ParameterError otherwise."""
    if confidence is None:
        return None
    if (isinstance(confidence, bool) or not isinstance(confidence, numbers.Real)
            or not 0.0 <= float(confidence) <= 1.0):
        raise out_of_range(param, confidence, "a number in [0, 1] or None")
    return float(confidence)


def _check_bool(value: object, param: str, node: str) -> bool:
    if not isinstance(value, bool):
        raise GraphError(f"{param}={value!r} of node {node!r} is invalid: it must be true or false.")
    return value


def _node_role(role: object, node: str) -> str:
    if role not in NODE_ROLES:
        choices = ", ".join(repr(r) for r in NODE_ROLES)
        raise GraphError(f"node {node!r} has role={role!r}, which is not supported; choose one of: "
                         f"{choices}.")
    return str(role)


def _edge_origin(origin: object, edge: str) -> str:
    if origin not in EDGE_ORIGINS:
        choices = ", ".join(repr(o) for o in EDGE_ORIGINS)
        raise GraphError(f"edge {edge} has origin={origin!r}, which is not supported; choose one "
                         f"of: {choices}.")
    return str(origin)


def _arrow(a: str, b: str) -> str:
    return f"{a} → {b}"


def _require_new(graph: nx.DiGraph, name: str, param: str = "name") -> None:
    if name in graph:
        raise GraphError(f"{param}={name!r} is already a node of the graph; node names must be unique.")


def _require_edge(graph: nx.DiGraph, a: str, b: str) -> None:
    require_nodes(graph, [a], "source")
    require_nodes(graph, [b], "target")
    if not graph.has_edge(a, b):
        hint = " (the edge points the other way)" if graph.has_edge(b, a) else ""
        raise GraphError(f"there is no edge {_arrow(a, b)} in the graph{hint}.")


# ---------------------------------------------------------------------------------------------
# Pure editing functions: each returns a new graph and leaves its input untouched
# ---------------------------------------------------------------------------------------------

def new_graph() -> nx.DiGraph:
    """An empty causal graph."""
    return nx.DiGraph()


def add_node(graph: nx.DiGraph, name: str, *, role: str = "variable", latent: bool = False,
             column: str | None = None, description: str = "") -> nx.DiGraph:
    """Return a copy of ``graph`` with the node ``name`` added.

    Parameters
    ----------
    name : str
        1 to 80 characters, no control characters (see :func:`check_name`).
    role : str
        One of :data:`NODE_ROLES`.
    latent : bool
        True for an unobserved variable. A latent node cannot bind a dataset column.
    column : str or None
        The dataset column the node stands for.
    description : str
        Free text.

    Raises
    ------
    GraphError
        The name is invalid or already taken, or a latent node is given a column.
    ParameterError
        ``role`` is not one of :data:`NODE_ROLES`.

    Examples
    --------
    >>> g = add_node(new_graph(), "exposure", role="treatment", column="exposed")
    >>> g.nodes["exposure"]["role"]
    'treatment'
    """
    check_name(name)
    check_role(role)
    _require_new(graph, name)
    latent = _check_bool(latent, "latent", name)
    column = _check_column(column, name)
    if latent and column is not None:
        raise GraphError(f"node {name!r} is latent, so it cannot bind column={column!r}.")
    out = graph.copy()
    out.add_node(name, role=role, latent=latent, column=column,
                 description=_check_text(description, "description", f"node {name!r}"), x=None, y=None)
    return out


def remove_node(graph: nx.DiGraph, node: str) -> nx.DiGraph:
    """Return a copy of ``graph`` without ``node`` and its edges.

    Raises
    ------
    GraphError
        ``node`` is not in the graph.
    """
    require_nodes(graph, [node])
    out = graph.copy()
    out.remove_node(node)
    return out


def rename_node(graph: nx.DiGraph, old: str, new: str) -> nx.DiGraph:
    """Return a copy of ``graph`` where ``old`` is called ``new``; edges, attributes and the node
    order are kept.

    Raises
    ------
    GraphError
        ``old`` is not in the graph, ``new`` is not a valid name or is already taken.
    """
    require_nodes(graph, [old], "old")
    check_name(new, "new")
    if new == old:
        return graph.copy()
    _require_new(graph, new, "new")
    return nx.relabel_nodes(graph, {old: new}, copy=True)


def set_role(graph: nx.DiGraph, node: str, role: str) -> nx.DiGraph:
    """Return a copy of ``graph`` where ``node`` has ``role``.

    Several nodes may hold the same role while a graph is being edited; the analyses that need
    exactly one treatment and one outcome call :func:`treatment_and_outcome`, which says when
    either is missing or ambiguous. Role ``"latent"`` marks the node unobserved (see
    :func:`is_latent`) without changing its ``latent`` flag, so the role can be changed back.

    Raises
    ------
    GraphError
        ``node`` is not in the graph.
    ParameterError
        ``role`` is not one of :data:`NODE_ROLES`.
    """
    require_nodes(graph, [node])
    check_role(role)
    out = graph.copy()
    out.nodes[node]["role"] = role
    return out


_KEEP = object()


def update_node(graph: nx.DiGraph, node: str, *, latent: object = _KEEP, column: object = _KEEP,
                description: object = _KEEP) -> nx.DiGraph:
    """Return a copy of ``graph`` with some of ``node``'s ``latent``, ``column`` and
    ``description`` attributes replaced (those not given are kept).

    Raises
    ------
    GraphError
        ``node`` is not in the graph, a value has the wrong type, or the node would be latent
        and bound to a column.
    """
    require_nodes(graph, [node])
    data = dict(graph.nodes[node])
    if latent is not _KEEP:
        data["latent"] = _check_bool(latent, "latent", node)
    if column is not _KEEP:
        data["column"] = _check_column(column, node)
    if description is not _KEEP:
        data["description"] = _check_text(description, "description", f"node {node!r}")
    if data.get("latent") and data.get("column") is not None:
        raise GraphError(f"node {node!r} is latent, so it cannot bind column={data['column']!r}.")
    out = graph.copy()
    out.nodes[node].update(data)
    return out


def set_position(graph: nx.DiGraph, node: str, x: float | None, y: float | None) -> nx.DiGraph:
    """Return a copy of ``graph`` with ``node`` drawn at (x, y); (None, None) clears it.

    Raises
    ------
    GraphError
        ``node`` is not in the graph, or x / y is not a finite number (or only one is None).
    """
    require_nodes(graph, [node])
    x = _check_coord(x, "x", node)
    y = _check_coord(y, "y", node)
    if (x is None) != (y is None):
        raise GraphError(f"node {node!r}: x and y must both be numbers or both be None.")
    out = graph.copy()
    out.nodes[node]["x"] = x
    out.nodes[node]["y"] = y
    return out


def _cycle_message(verb: str, a: str, b: str, path_back: list[str]) -> str:
    """``path_back`` runs b ⇝ a in the graph; the new edge a → b closes it."""
    cycle = [a, *path_back]
    return f"{verb} {_arrow(a, b)} would create the cycle " + " → ".join(cycle) + "."


def add_edge(graph: nx.DiGraph, a: str, b: str, *, origin: str = "expert",
             confidence: float | None = None, note: str = "") -> nx.DiGraph:
    """Return a copy of ``graph`` with the edge ``a → b``.

    Parameters
    ----------
    a, b : str
        Existing nodes, the cause and the effect.
    origin : str
        One of :data:`EDGE_ORIGINS`.
    confidence : float or None
        In [0, 1], e.g. a bootstrap frequency for a learned edge.
    note : str
        Free text.

    Raises
    ------
    GraphError
        A node is missing, ``a == b`` (self-loop), the edge exists already, or the edge would
        close a directed cycle; the message then names the cycle, e.g.
        ``adding A → B would create the cycle A → B → C → A.``
    ParameterError
        ``origin`` or ``confidence`` is invalid.

    Examples
    --------
    >>> g = add_node(add_node(new_graph(), "A"), "B")
    >>> list(add_edge(g, "A", "B").edges)
    [('A', 'B')]
    """
    require_nodes(graph, [a], "source")
    require_nodes(graph, [b], "target")
    check_origin(origin)
    confidence = check_confidence(confidence)
    note = _check_text(note, "note", f"edge {_arrow(a, b)}")
    if a == b:
        raise GraphError(f"adding {_arrow(a, b)} would create a self-loop; a node cannot cause itself.")
    if graph.has_edge(a, b):
        raise GraphError(f"the edge {_arrow(a, b)} is already in the graph.")
    if nx.has_path(graph, b, a):
        raise GraphError(_cycle_message("adding", a, b, nx.shortest_path(graph, b, a)))
    out = graph.copy()
    out.add_edge(a, b, origin=origin, confidence=confidence, note=note)
    return out


def update_edge(graph: nx.DiGraph, a: str, b: str, *, origin: object = _KEEP,
                confidence: object = _KEEP, note: object = _KEEP) -> nx.DiGraph:
    """Return a copy of ``graph`` with some attributes of the edge ``a → b`` replaced.

    Raises
    ------
    GraphError
        The edge is not in the graph.
    ParameterError
        ``origin`` or ``confidence`` is invalid.
    """
    _require_edge(graph, a, b)
    data = dict(graph.edges[a, b])
    if origin is not _KEEP:
        data["origin"] = check_origin(origin)  # type: ignore[arg-type]
    if confidence is not _KEEP:
        data["confidence"] = check_confidence(confidence)
    if note is not _KEEP:
        data["note"] = _check_text(note, "note", f"edge {_arrow(a, b)}")
    out = graph.copy()
    out.edges[a, b].update(data)
    return out


def remove_edge(graph: nx.DiGraph, a: str, b: str) -> nx.DiGraph:
    """Return a copy of ``graph`` without the edge ``a → b``.

    Raises
    ------
    GraphError
        A node or the edge is not in the graph.
    """
    _require_edge(graph, a, b)
    out = graph.copy()
    out.remove_edge(a, b)
    return out


def reverse_edge(graph: nx.DiGraph, a: str, b: str) -> nx.DiGraph:
    """Return a copy of ``graph`` where ``a → b`` became ``b → a`` (attributes kept).

    Raises
    ------
    GraphError
        The edge is not in the graph, or ``b → a`` would close a cycle through another path
        ``a ⇝ b``; the message names the cycle.
    """
    _require_edge(graph, a, b)
    out = graph.copy()
    data = dict(out.edges[a, b])
    out.remove_edge(a, b)
    if nx.has_path(out, a, b):
        raise GraphError(_cycle_message(f"reversing {_arrow(a, b)} into", b, a, nx.shortest_path(out, a, b)))
    out.add_edge(b, a, **data)
    return out


def nodes_with_role(graph: nx.DiGraph, role: str) -> list[str]:
    """The nodes whose role is ``role``, in graph order."""
    check_role(role)
    return [n for n, r in graph.nodes(data="role") if r == role]


def treatment_and_outcome(graph: nx.DiGraph) -> tuple[str, str]:
    """The graph's single treatment node and single outcome node.

    Raises
    ------
    GraphError
        No node, or more than one node, has role ``"treatment"`` (or ``"outcome"``).
    """
    found = []
    for role in ("treatment", "outcome"):
        nodes = nodes_with_role(graph, role)
        if not nodes:
            raise GraphError(f"the graph has no node with role {role!r}; give exactly one node that role.")
        if len(nodes) > 1:
            raise GraphError(f"the graph has {len(nodes)} nodes with role {role!r} "
                             f"({', '.join(map(repr, nodes))}); keep exactly one.")
        found.append(nodes[0])
    return found[0], found[1]


# ---------------------------------------------------------------------------------------------
# Undo / redo
# ---------------------------------------------------------------------------------------------

def graphs_equal(a: nx.DiGraph, b: nx.DiGraph) -> bool:
    """True when both graphs have the same nodes, edges and attributes, in the same order."""
    return (list(a.nodes(data=True)) == list(b.nodes(data=True))
            and list(a.edges(data=True)) == list(b.edges(data=True)) and a.graph == b.graph)


class GraphHistory:
    """Undo / redo over immutable graph snapshots.

    ``push`` stores a private deep copy, ``current``, ``undo`` and ``redo`` hand out fresh
    copies, so nothing a caller does to a graph can change the history. Pushing after an undo
    drops the redo branch; pushing a graph equal to the current one is a no-op. At most
    ``maxlen`` snapshots are kept (the oldest go first).

    Examples
    --------
    >>> h = GraphHistory(new_graph())
    >>> h.push(add_node(h.current, "A"))
    True
    >>> list(h.undo().nodes), h.can_redo
    ([], True)
    """

    def __init__(self, graph: nx.DiGraph | None = None, *, maxlen: int = 100) -> None:
        if isinstance(maxlen, bool) or not isinstance(maxlen, int) or maxlen < 1:
            raise out_of_range("maxlen", maxlen, "an integer >= 1")
        self.maxlen = maxlen
        self._snapshots: list[nx.DiGraph] = []
        self._index = -1
        if graph is not None:
            self.push(graph)

    def __len__(self) -> int:
        return len(self._snapshots)

    @property
    def current(self) -> nx.DiGraph | None:
        """A copy of the current graph, or None before the first push."""
        return copy.deepcopy(self._snapshots[self._index]) if self._snapshots else None

    @property
    def can_undo(self) -> bool:
        return self._index > 0

    @property
    def can_redo(self) -> bool:
        return 0 <= self._index < len(self._snapshots) - 1

    def push(self, graph: nx.DiGraph) -> bool:
        """Record ``graph`` as the new current state; False when it equals the current one."""
        if not isinstance(graph, nx.DiGraph):
            raise GraphError(f"graph must be a networkx DiGraph, not {type(graph).__name__}.")
        if self._snapshots and graphs_equal(graph, self._snapshots[self._index]):
            return False
        del self._snapshots[self._index + 1:]
        self._snapshots.append(copy.deepcopy(graph.copy() if nx.is_frozen(graph) else graph))
        if len(self._snapshots) > self.maxlen:
            del self._snapshots[: len(self._snapshots) - self.maxlen]
        self._index = len(self._snapshots) - 1
        return True

    def undo(self) -> nx.DiGraph:
        """Step back and return (a copy of) the previous graph.

        Raises
        ------
        GraphError
            There is nothing to undo.
        """
        if not self.can_undo:
            raise GraphError("there is nothing to undo.")
        self._index -= 1
        return self.current  # type: ignore[return-value]

    def redo(self) -> nx.DiGraph:
        """Step forward again after :meth:`undo` and return (a copy of) that graph.

        Raises
        ------
        GraphError
            There is nothing to redo.
        """
        if not self.can_redo:
            raise GraphError("there is nothing to redo.")
        self._index += 1
        return self.current  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# The project's JSON format
# ---------------------------------------------------------------------------------------------

def _float_or_none(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]  # numpy scalars -> float


def to_dict(graph: nx.DiGraph) -> dict[str, Any]:
    """The graph in the project's JSON format (plain dicts, lists and scalars).

    ``{"format": "causalrec-graph", "version": 1, "nodes": [{name, role, latent, column,
    description, x, y}], "edges": [{source, target, origin, confidence, note}]}``
    """
    nodes = []
    for name, data in graph.nodes(data=True):
        nodes.append({
            "name": name,
            "role": data.get("role", "variable"),
            "latent": bool(data.get("latent", False)),
            "column": data.get("column"),
            "description": data.get("description") or "",
            "x": _float_or_none(data.get("x")),
            "y": _float_or_none(data.get("y")),
        })
    edges = []
    for a, b, data in graph.edges(data=True):
        edges.append({
            "source": a,
            "target": b,
            "origin": data.get("origin", "expert"),
            "confidence": _float_or_none(data.get("confidence")),
            "note": data.get("note") or "",
        })
    return {"format": FORMAT_NAME, "version": FORMAT_VERSION, "nodes": nodes, "edges": edges}


def from_dict(data: Mapping[str, Any]) -> nx.DiGraph:
    """Build and validate a graph from the JSON format of :func:`to_dict`.

    Missing optional fields take their defaults (role ``"variable"``, origin ``"expert"``...);
    unknown keys are ignored.

    Raises
    ------
    GraphError
        The document is not a causalrec graph, a node or edge is malformed (the message names
        it and the offending field, e.g. an unknown role), an edge names an unknown node, a node
        or edge is duplicated, or the graph has a cycle (the message names it).
    """
    if not isinstance(data, Mapping):
        raise GraphError(f"a graph document must be a JSON object, not {type(data).__name__}.")
    fmt = data.get("format", FORMAT_NAME)
    if fmt != FORMAT_NAME:
        raise GraphError(f"format={fmt!r} is not supported; expected {FORMAT_NAME!r}.")
    version = data.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise GraphError(f"version={version!r} of the graph format is not supported; "
                         f"this version reads version {FORMAT_VERSION}.")
    nodes = data.get("nodes", [])
    edges = data.get("edges", [])
    if not isinstance(nodes, list) or not isinstance(edges, list):
        raise GraphError("'nodes' and 'edges' must be lists.")
    graph = nx.DiGraph()
    for i, item in enumerate(nodes):
        if not isinstance(item, Mapping) or "name" not in item:
            raise GraphError(f"nodes[{i}] must be an object with a 'name'; got {item!r}.")
        name = check_name(item["name"], f"nodes[{i}].name")
        if name in graph:
            raise GraphError(f"node {name!r} is listed twice (nodes[{i}]); node names must be unique.")
        role = _node_role(item.get("role", "variable") or "variable", name)
        latent = item.get("latent")
        latent = False if latent is None else _check_bool(latent, "latent", name)
        column = _check_column(item.get("column"), name)
        if latent and column is not None:
            raise GraphError(f"node {name!r} is latent, so it cannot bind column={column!r}.")
        x = _check_coord(item.get("x"), "x", name)
        y = _check_coord(item.get("y"), "y", name)
        if (x is None) != (y is None):
            raise GraphError(f"node {name!r}: x and y must both be numbers or both be null.")
        graph.add_node(name, role=role, latent=latent, column=column,
                       description=_check_text(item.get("description"), "description", f"node {name!r}"),
                       x=x, y=y)
    for i, item in enumerate(edges):
        if not isinstance(item, Mapping) or "source" not in item or "target" not in item:
            raise GraphError(f"edges[{i}] must be an object with 'source' and 'target'; got {item!r}.")
        a, b = item["source"], item["target"]
        for param, node in (("source", a), ("target", b)):
            if not isinstance(node, str) or node not in graph:
                raise GraphError(f"edges[{i}].{param}={node!r} is not a node of the graph.")
        edge = _arrow(a, b)
        if a == b:
            raise GraphError(f"edges[{i}] is a self-loop {edge}; a node cannot cause itself.")
        if graph.has_edge(a, b):
            raise GraphError(f"the edge {edge} is listed twice (edges[{i}]).")
        origin = _edge_origin(item.get("origin", "expert") or "expert", edge)
        try:
            confidence = check_confidence(item.get("confidence"))
        except ParameterError as exc:
            raise GraphError(f"edge {edge}: {exc}") from None
        graph.add_edge(a, b, origin=origin, confidence=confidence,
                       note=_check_text(item.get("note"), "note", f"edge {edge}"))
    require_dag(graph)
    return graph


# ---------------------------------------------------------------------------------------------
# Editable edge table (the accessible fallback of the browser editor)
# ---------------------------------------------------------------------------------------------

def edge_table(graph: nx.DiGraph) -> pd.DataFrame:
    """One row per edge: source, target, origin, confidence (NaN when unknown), note."""
    import pandas as pd

    rows = [(a, b, d.get("origin", "expert"), d.get("confidence"), d.get("note") or "")
            for a, b, d in graph.edges(data=True)]
    df = pd.DataFrame(rows, columns=list(EDGE_TABLE_COLUMNS), dtype=object)
    df["confidence"] = pd.to_numeric(df["confidence"], errors="coerce").astype(float)
    return df


def _blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    import pandas as pd

    if value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, str) and not value.strip()


def graph_from_edge_table(graph: nx.DiGraph, table: pd.DataFrame, *,
                          add_missing_nodes: bool = False) -> nx.DiGraph:
    """Return a copy of ``graph`` whose edges are replaced by the rows of ``table``.

    The nodes of ``graph`` and their attributes are kept. Rows are numbered from 1 in error
    messages, in table order. Completely empty rows (as an editable table appends) are skipped;
    a blank origin means ``"expert"``, a blank confidence None, a blank note "".

    Parameters
    ----------
    add_missing_nodes : bool
        Add nodes named in the table but missing from ``graph`` (role ``"variable"``) instead
        of refusing them.

    Raises
    ------
    GraphError
        A required column is missing, or a row is bad: blank or unknown node, self-loop,
        duplicate edge, invalid origin or confidence, or an edge that closes a cycle. The message
        starts with ``row N (source → target):``.
    """
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise GraphError(f"the edge table must be a pandas DataFrame, not {type(table).__name__}.")
    missing = [c for c in ("source", "target") if c not in table.columns]
    if missing:
        raise GraphError(f"the edge table lacks the column(s) {', '.join(missing)}; it needs "
                         f"{', '.join(EDGE_TABLE_COLUMNS)} ('origin', 'confidence', 'note' are optional).")
    out = graph.copy()
    out.remove_edges_from(list(out.edges))
    for pos, row in enumerate(table.to_dict("records"), start=1):
        values = [row.get(c) for c in EDGE_TABLE_COLUMNS]
        if all(_blank(v) for v in values):
            continue
        src, dst = row.get("source"), row.get("target")
        label = f"row {pos} ({'?' if _blank(src) else src} → {'?' if _blank(dst) else dst})"
        try:
            for param, node in (("source", src), ("target", dst)):
                if _blank(node):
                    raise GraphError(f"{param} is empty.")
                if node not in out:
                    if not add_missing_nodes:
                        require_nodes(out, [node], param)
                    out = add_node(out, node)
            origin = row.get("origin")
            confidence = row.get("confidence")
            note = row.get("note")
            out = add_edge(out, src, dst, origin="expert" if _blank(origin) else origin,
                           confidence=None if _blank(confidence) else _number(confidence),
                           note="" if _blank(note) else str(note))
        except (GraphError, ParameterError) as exc:
            raise GraphError(f"{label}: {exc}") from None
    return out


def _number(value: object) -> object:
    """Numbers typed into a table may arrive as strings; anything unparsable is returned as is
    so that :func:`check_confidence` can report it."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value
