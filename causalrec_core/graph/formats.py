"""Read and write causal graphs as JSON, DOT (Graphviz), GML and DAGitty text.

==========  =================================  =============================================
format      extensions                         what survives a round trip
==========  =================================  =============================================
``json``    ``.json``                          everything (the :func:`~.model.to_dict` format)
``dot``     ``.dot``, ``.gv``                  everything: node attributes ``role``, ``latent``,
                                               ``column``, ``description``, ``pos="x,y"``; edge
                                               attributes ``origin``, ``confidence``, ``note``
``gml``     ``.gml``                           everything (None values are written as ""
                                               or left out, and read back as None)
``dagitty`` ``.dagitty``, ``.txt``             nodes, edges, positions and four roles only
==========  =================================  =============================================

DAGitty keeps only its own node attributes: ``[exposure]`` ↔ role ``treatment``,
``[outcome]`` ↔ ``outcome``, ``[latent]`` ↔ role ``latent`` (and the latent flag),
``[adjusted]`` ↔ ``adjusted``, plus ``pos="x,y"``. Other roles (confounder, mediator, ...),
columns, descriptions and edge attributes are *not* written to DAGitty, and read back as
role ``variable`` and origin ``expert``. When reading DAGitty, ``A <- B`` is ``B -> A``,
``A -> {B C}`` fans out, and a bidirected edge ``A <-> B`` becomes a latent common parent
``U_A_B`` (role ``latent``) with edges ``U_A_B -> A`` and ``U_A_B -> B``.

The DOT reader is a small parser of our own (no pydot or graphviz needed) for the subset this
module writes plus plain ``digraph { a -> b; "x y" -> z [label=...]; }`` files: comments, ``strict``,
``node``/``edge``/``graph`` defaults, ``a -> b -> c`` chains, ``{a b}`` groups and subgraphs.
An edge ``label`` becomes the ``note`` when there is no ``note``. Quoted strings use ``\\"`` for
a quote and ``\\\\`` for a backslash (any other backslash is kept as is).

Every parse error is a :class:`~causalrec_core.errors.GraphError` naming the format, the line
and what was expected, e.g. ``DOT line 3: expected a node name after '->', found ']'.``
Writing is atomic (:func:`~causalrec_core.store.atomic.atomic_write_text`).

Examples
--------
>>> g = loads('dag { A [exposure] Y [outcome] U [latent] A -> Y U -> {A Y} }', "dagitty")
>>> sorted(g.edges)
[('A', 'Y'), ('U', 'A'), ('U', 'Y')]
>>> loads(dumps(g, "dot"), "dot").nodes["A"]["role"]
'treatment'
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from causalrec_core.errors import GraphError, invalid_choice
from causalrec_core.graph.model import (
    EDGE_ORIGINS,
    NODE_ROLES,
    check_name,
    from_dict,
    is_latent,
    require_dag,
    to_dict,
)
from causalrec_core.store.atomic import atomic_write_text

__all__ = ["FORMATS", "EXTENSIONS", "dumps", "loads", "read_graph", "write_graph", "format_for_path"]

FORMATS: tuple[str, ...] = ("json", "dot", "gml", "dagitty")
EXTENSIONS: dict[str, str] = {".json": "json", ".dot": "dot", ".gv": "dot", ".gml": "gml",
                              ".dagitty": "dagitty", ".txt": "dagitty"}
_FORMAT_ALIASES = {"gv": "dot", "graphviz": "dot", "txt": "dagitty"}


def _check_format(fmt: str) -> str:
    key = fmt.lower().lstrip(".") if isinstance(fmt, str) else fmt
    key = _FORMAT_ALIASES.get(key, key)
    if key not in FORMATS:
        raise invalid_choice("fmt", fmt, FORMATS)
    return key


def format_for_path(path: str | Path) -> str:
    """The format implied by a file name's extension.

    Raises
    ------
    ParameterError
        The extension is not one of :data:`EXTENSIONS`.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSIONS:
        raise invalid_choice("extension", suffix or "(none)", EXTENSIONS)
    return EXTENSIONS[suffix]


# ---------------------------------------------------------------------------------------------
# Small shared helpers
# ---------------------------------------------------------------------------------------------

def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _num(value: float) -> str:
    """A float written exactly (``repr`` round-trips)."""
    return repr(float(value))


def _has_pos(data: dict[str, Any]) -> bool:
    return data.get("x") is not None and data.get("y") is not None


# ---------------------------------------------------------------------------------------------
# Tokenizer shared by DOT and DAGitty (DAGitty's syntax is a dialect of DOT)
# ---------------------------------------------------------------------------------------------

_ARROWS = ("<->", "@->", "<-@", "--@", "@-@", "@--", "->", "<-", "--")
_PUNCT = "{}[]=;,:+"
_BARE = re.compile(r"-?[0-9A-Za-z_.\u0080-\U0010ffff]+")


@dataclass(frozen=True)
class _Tok:
    kind: str  # "id" (bare word), "str" (quoted), "op" (punctuation or arrow), "eof"
    value: str
    line: int

    def show(self) -> str:
        if self.kind == "eof":
            return "the end of the text"
        if self.kind == "str":
            return _quote(self.value)
        return repr(self.value)


def _tokenize(text: str, fmt: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, line, n = 0, 1, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
            i += 1
        elif ch.isspace():
            i += 1
        elif text.startswith("//", i) or (ch == "#" and not text[text.rfind("\n", 0, i) + 1:i].strip()):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise GraphError(f"{fmt} line {line}: expected '*/' to close the comment opened here.")
            line += text.count("\n", i, j)
            i = j + 2
        elif ch == '"':
            start_line = line
            buf: list[str] = []
            i += 1
            while True:
                if i >= n:
                    raise GraphError(f"{fmt} line {start_line}: expected a closing '\"' for the string "
                                     "opened here.")
                c = text[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\" and i + 1 < n:
                    nxt = text[i + 1]
                    if nxt in '"\\':
                        buf.append(nxt)
                        i += 2
                        continue
                    if nxt == "n":
                        buf.append("\n")
                        i += 2
                        continue
                    if nxt in "\r\n":  # line continuation: backslash-newline is dropped
                        i += 3 if text.startswith("\r\n", i + 1) else 2
                        line += text[i - 1] == "\n"
                        continue
                if c == "\n":
                    line += 1
                buf.append(c)
                i += 1
            toks.append(_Tok("str", "".join(buf), start_line))
        elif ch == "<" and fmt == "DOT" and not text.startswith("<-", i):
            raise GraphError(f"{fmt} line {line}: HTML labels (<...>) are not supported; expected a "
                             "quoted string.")
        else:
            arrow = next((a for a in _ARROWS if text.startswith(a, i)), None)
            if arrow:
                toks.append(_Tok("op", arrow, line))
                i += len(arrow)
                continue
            if ch in _PUNCT:
                toks.append(_Tok("op", ch, line))
                i += 1
                continue
            m = _BARE.match(text, i)
            if not m:
                raise GraphError(f"{fmt} line {line}: expected a name, a quoted string or one of "
                                 f"{{ }} [ ] = ; , ->, found {ch!r}.")
            toks.append(_Tok("id", m.group(), line))
            i = m.end()
    toks.append(_Tok("eof", "", line))
    return toks


# ---------------------------------------------------------------------------------------------
# Parser shared by DOT and DAGitty: produces raw nodes, edges and attributes with line numbers
# ---------------------------------------------------------------------------------------------

Attrs = list[tuple[str, "str | None", int]]  # (key, value or None for a bare flag, line)


@dataclass
class _Raw:
    graph_type: str = ""
    nodes: dict[str, Attrs] = field(default_factory=dict)
    edges: list[tuple[str, str, str, Attrs, int]] = field(default_factory=list)  # (a, op, b, attrs, line)


class _Parser:
    """Recursive-descent parser for ``[strict] TYPE [id] { stmt* }``."""

    def __init__(self, text: str, fmt: str, graph_types: tuple[str, ...], keywords: bool) -> None:
        self.fmt = fmt
        self.toks = _tokenize(text, fmt)
        self.pos = 0
        self.graph_types = graph_types
        self.keywords = keywords  # DOT's node / edge / graph / subgraph statements
        self.raw = _Raw()
        self.node_defaults: Attrs = []
        self.edge_defaults: Attrs = []
        self.groups: list[list[str]] = []  # the nodes mentioned in each open {...} group

    # -- token helpers --
    @property
    def tok(self) -> _Tok:
        return self.toks[self.pos]

    def peek(self) -> _Tok:
        return self.toks[min(self.pos + 1, len(self.toks) - 1)]

    def next(self) -> _Tok:
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def error(self, expected: str) -> GraphError:
        return GraphError(f"{self.fmt} line {self.tok.line}: expected {expected}, found {self.tok.show()}.")

    def is_op(self, *values: str) -> bool:
        return self.tok.kind == "op" and self.tok.value in values

    def is_kw(self, *words: str) -> bool:
        return self.tok.kind == "id" and self.tok.value.lower() in words

    def expect_op(self, value: str, context: str) -> None:
        if not self.is_op(value):
            raise self.error(f"{value!r} {context}")
        self.next()

    def is_id(self) -> bool:
        return self.tok.kind in ("id", "str")

    def ident(self, what: str) -> str:
        if not self.is_id():
            raise self.error(what)
        value = self.next().value
        while self.is_op("+") and self.peek().kind == "str":  # "a" + "b"
            self.next()
            value += self.next().value
        return value

    # -- grammar --
    def parse(self) -> _Raw:
        if self.is_kw("strict"):
            self.next()
        if not self.is_kw(*self.graph_types):
            raise self.error(" or ".join(repr(t) for t in self.graph_types[:2]) + " at the start")
        self.raw.graph_type = self.next().value.lower()
        if self.is_id():
            self.next()  # the graph's name
        self.expect_op("{", "to open the graph body")
        self.stmt_list()
        self.expect_op("}", "to close the graph body")
        if self.tok.kind != "eof":
            raise self.error("the end of the text after the closing '}'")
        return self.raw

    def stmt_list(self) -> None:
        while not self.is_op("}") and self.tok.kind != "eof":
            self.stmt()
            while self.is_op(";", ","):
                self.next()

    def stmt(self) -> None:
        if self.keywords and self.is_kw("node", "edge", "graph") and self.tok.kind == "id":
            kind = self.next().value.lower()
            attrs = self.attr_list() if self.is_op("[") else []
            if kind == "node":
                self.node_defaults = self.node_defaults + attrs
            elif kind == "edge":
                self.edge_defaults = self.edge_defaults + attrs
            return
        if self.is_id() and self.peek().kind == "op" and self.peek().value == "=":
            self.next()
            self.next()
            self.ident("a value after '='")  # a graph attribute such as bb="0,0,1,1": not needed
            return
        if not (self.is_id() or self.is_op("{") or (self.keywords and self.is_kw("subgraph"))):
            raise self.error("a node name, an edge or '}'")
        left, is_group = self.operand()
        if self.is_op(*_ARROWS):
            chain = [left]
            ops: list[tuple[str, int]] = []
            while self.is_op(*_ARROWS):
                op_tok = self.next()
                ops.append((op_tok.value, op_tok.line))
                if not (self.is_id() or self.is_op("{") or (self.keywords and self.is_kw("subgraph"))):
                    raise self.error(f"a node name or '{{' after {op_tok.value!r}")
                chain.append(self.operand()[0])
            attrs = self.edge_defaults + (self.attr_list() if self.is_op("[") else [])
            for (op, line), sources, targets in zip(ops, chain[:-1], chain[1:], strict=True):
                for a in sources:
                    for b in targets:
                        self.raw.edges.append((a, op, b, attrs, line))
        elif self.is_op("["):
            if is_group:
                raise self.error("an edge operator after a '{...}' group")
            self.raw.nodes[left[0]] += self.attr_list()

    def operand(self) -> tuple[list[str], bool]:
        """A node id (declared on the way) or a ``{...}`` group / subgraph with every node in it."""
        if self.is_op("{") or (self.keywords and self.is_kw("subgraph")):
            if self.is_kw("subgraph"):
                self.next()
                if self.is_id():
                    self.next()
            self.expect_op("{", "to open the group")
            saved = (self.node_defaults, self.edge_defaults)
            self.groups.append([])
            self.stmt_list()
            members = self.groups.pop()
            self.node_defaults, self.edge_defaults = saved
            self.expect_op("}", "to close the group")
            if self.groups:  # nested groups count towards the outer ones too
                self.groups[-1].extend(members)
            return list(dict.fromkeys(members)), True
        line = self.tok.line
        name = self.ident("a node name")
        if self.is_op(":"):  # DOT port, e.g. a:n or a:p:ne
            self.next()
            self.ident("a port name after ':'")
            if self.is_op(":"):
                self.next()
                self.ident("a compass point after ':'")
        try:
            check_name(name)
        except GraphError as exc:
            raise GraphError(f"{self.fmt} line {line}: {exc}") from None
        if name not in self.raw.nodes:
            self.raw.nodes[name] = list(self.node_defaults)
        if self.groups:
            self.groups[-1].append(name)
        return [name], False

    def attr_list(self) -> Attrs:
        attrs: Attrs = []
        while self.is_op("["):
            self.next()
            while not self.is_op("]"):
                if not self.is_id():
                    raise self.error("an attribute name or ']'")
                key_tok = self.next()
                value: str | None = None
                if self.is_op("="):
                    self.next()
                    value = self.ident(f"a value for the attribute {key_tok.value!r}")
                attrs.append((key_tok.value, value, key_tok.line))
                while self.is_op(",", ";"):
                    self.next()
            self.next()
        return attrs


# ---------------------------------------------------------------------------------------------
# Value parsing with line numbers
# ---------------------------------------------------------------------------------------------

def _parse_bool(value: str | None, fmt: str, line: int, key: str, owner: str) -> bool:
    text = "true" if value is None else value.strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", ""):
        return False
    raise GraphError(f"{fmt} line {line}: expected true or false for {key} of {owner}, found {value!r}.")


def _parse_pos(value: str | None, fmt: str, line: int, owner: str) -> tuple[float, float]:
    parts = (value or "").strip().rstrip("!").split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        x, y = float(parts[0]), float(parts[1])
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError
    except ValueError:
        raise GraphError(f"{fmt} line {line}: expected pos=\"x,y\" with two finite numbers for {owner}, "
                         f"found {value!r}.") from None
    return x, y


def _build(fmt: str, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> nx.DiGraph:
    try:
        return from_dict({"nodes": nodes, "edges": edges})
    except GraphError as exc:
        raise GraphError(f"{fmt}: {exc}") from None


# ---------------------------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------------------------

def _dumps_json(graph: nx.DiGraph) -> str:
    return json.dumps(to_dict(graph), indent=2, ensure_ascii=False) + "\n"


def _loads_json(text: str) -> nx.DiGraph:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GraphError(f"JSON line {exc.lineno}: {exc.msg} (column {exc.colno}).") from None
    try:
        return from_dict(data)
    except GraphError as exc:
        raise GraphError(f"JSON: {exc}") from None


# ---------------------------------------------------------------------------------------------
# DOT
# ---------------------------------------------------------------------------------------------

def _dumps_dot(graph: nx.DiGraph) -> str:
    lines = ["digraph causalrec {"]
    for name, data in graph.nodes(data=True):
        attrs = [f"role={_quote(data.get('role', 'variable'))}",
                 f"latent={_quote('true' if data.get('latent') else 'false')}"]
        if data.get("column") is not None:
            attrs.append(f"column={_quote(data['column'])}")
        if data.get("description"):
            attrs.append(f"description={_quote(data['description'])}")
        if _has_pos(data):
            attrs.append(f"pos={_quote(_num(data['x']) + ',' + _num(data['y']))}")
        if is_latent(graph, name):
            attrs.append('style="dashed"')
        lines.append(f"  {_quote(name)} [{', '.join(attrs)}];")
    for a, b, data in graph.edges(data=True):
        attrs = [f"origin={_quote(data.get('origin', 'expert'))}"]
        if data.get("confidence") is not None:
            attrs.append(f"confidence={_quote(repr(float(data['confidence'])))}")
        if data.get("note"):
            attrs.append(f"note={_quote(data['note'])}")
        lines.append(f"  {_quote(a)} -> {_quote(b)} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _loads_dot(text: str) -> nx.DiGraph:
    fmt = "DOT"
    raw = _Parser(text, fmt, ("digraph", "graph"), keywords=True).parse()
    if raw.graph_type != "digraph":
        raise GraphError(f"{fmt} line 1: expected 'digraph' (a directed graph), found 'graph'.")
    nodes = []
    for name, attrs in raw.nodes.items():
        node: dict[str, Any] = {"name": name}
        owner = f"node {name!r}"
        for key, value, line in attrs:
            if key == "role":
                if value not in NODE_ROLES:
                    raise GraphError(f"{fmt} line {line}: {owner} has role={value!r}, which is not supported; "
                                     f"expected one of: {', '.join(map(repr, NODE_ROLES))}.")
                node["role"] = value
            elif key == "latent":
                node["latent"] = _parse_bool(value, fmt, line, key, owner)
            elif key == "column":
                node["column"] = value or None
            elif key == "description":
                node["description"] = value or ""
            elif key == "pos":
                node["x"], node["y"] = _parse_pos(value, fmt, line, owner)
        nodes.append(node)
    edges: dict[tuple[str, str], dict[str, Any]] = {}
    for a, op, b, attrs, line in raw.edges:
        if op != "->":
            raise GraphError(f"{fmt} line {line}: expected '->' between {a!r} and {b!r}, found {op!r}.")
        edge = edges.setdefault((a, b), {"source": a, "target": b})
        owner = f"edge {a!r} -> {b!r}"
        label = None
        for key, value, kline in attrs:
            if key == "origin":
                if value not in EDGE_ORIGINS:
                    raise GraphError(f"{fmt} line {kline}: {owner} has origin={value!r}, which is not "
                                     f"supported; expected one of: {', '.join(map(repr, EDGE_ORIGINS))}.")
                edge["origin"] = value
            elif key == "confidence":
                try:
                    conf = float(value or "")
                except ValueError:
                    conf = math.nan
                if not 0.0 <= conf <= 1.0:
                    raise GraphError(f"{fmt} line {kline}: expected a confidence in [0, 1] for {owner}, "
                                     f"found {value!r}.")
                edge["confidence"] = conf
            elif key == "note":
                edge["note"] = value or ""
            elif key == "label":
                label = value
        if label and not edge.get("note"):
            edge["note"] = label
    for (a, b), _edge in edges.items():
        if a == b:
            line = next(ln for x, _, y, _, ln in raw.edges if (x, y) == (a, b))
            raise GraphError(f"{fmt} line {line}: expected an edge between two different nodes, found the "
                             f"self-loop {a!r} -> {b!r}.")
    return _build(fmt, nodes, list(edges.values()))


# ---------------------------------------------------------------------------------------------
# GML
# ---------------------------------------------------------------------------------------------

def _dumps_gml(graph: nx.DiGraph) -> str:
    out = nx.DiGraph()
    for name, data in graph.nodes(data=True):
        attrs = {"role": data.get("role", "variable"), "latent": int(bool(data.get("latent"))),
                 "column": data.get("column") or "", "description": data.get("description") or ""}
        if _has_pos(data):
            attrs["x"], attrs["y"] = float(data["x"]), float(data["y"])
        out.add_node(name, **attrs)
    for a, b, data in graph.edges(data=True):
        attrs = {"origin": data.get("origin", "expert"), "note": data.get("note") or ""}
        if data.get("confidence") is not None:
            attrs["confidence"] = float(data["confidence"])
        out.add_edge(a, b, **attrs)
    return "\n".join(nx.generate_gml(out)) + "\n"


_GML_AT = re.compile(r"^(?P<msg>.*?),? at \((?P<line>\d+), (?P<col>\d+)\)$", re.S)


def _loads_gml(text: str) -> nx.DiGraph:
    fmt = "GML"
    try:
        parsed = nx.parse_gml(text, label="label")
    except (nx.NetworkXError, ValueError, KeyError) as exc:
        msg = str(exc).strip().rstrip(".")
        found = _GML_AT.match(msg)
        if found:  # networkx reports token errors "... at (line, column)"
            raise GraphError(f"{fmt} line {found['line']}: {found['msg']} (column {found['col']}).") from None
        raise GraphError(f"{fmt}: expected a graph [ node [ id .. label .. ] edge [ source .. target .. ] ]; "
                         f"{msg}.") from None
    if not parsed.is_directed():
        raise GraphError(f"{fmt}: expected a directed graph ('directed 1'), found an undirected one.")
    if parsed.is_multigraph():
        raise GraphError(f"{fmt}: expected at most one edge per pair of nodes ('multigraph 0').")
    nodes = []
    for name, data in parsed.nodes(data=True):
        latent = data.get("latent", 0)
        node = {"name": str(name), "role": data.get("role", "variable"),
                "latent": bool(latent) if isinstance(latent, (int, float)) else latent,
                "column": data.get("column") or None, "description": data.get("description") or "",
                "x": data.get("x"), "y": data.get("y")}
        nodes.append(node)
    edges = [{"source": str(a), "target": str(b), "origin": d.get("origin", "expert"),
              "confidence": d.get("confidence"), "note": d.get("note") or ""}
             for a, b, d in parsed.edges(data=True)]
    return _build(fmt, nodes, edges)


# ---------------------------------------------------------------------------------------------
# DAGitty
# ---------------------------------------------------------------------------------------------

_DAGITTY_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_DAGITTY_FLAGS = {"treatment": "exposure", "outcome": "outcome", "latent": "latent", "adjusted": "adjusted"}
_DAGITTY_ROLES = {v: k for k, v in _DAGITTY_FLAGS.items()}


def _dagitty_id(name: str) -> str:
    return name if _DAGITTY_BARE.fullmatch(name) and name.lower() not in ("dag", "strict") else _quote(name)


def _dumps_dagitty(graph: nx.DiGraph) -> str:
    lines = ["dag {"]
    for name, data in graph.nodes(data=True):
        flags = []
        flag = _DAGITTY_FLAGS.get(data.get("role", "variable"))
        if flag:
            flags.append(flag)
        if data.get("latent") and "latent" not in flags:
            flags.append("latent")
        if _has_pos(data):
            flags.append(f'pos="{_num(data["x"])},{_num(data["y"])}"')
        lines.append(f"{_dagitty_id(name)}" + (f" [{','.join(flags)}]" if flags else ""))
    for a, b in graph.edges:
        lines.append(f"{_dagitty_id(a)} -> {_dagitty_id(b)}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _latent_parent_name(a: str, b: str, taken: set[str]) -> str:
    base = f"U_{a}_{b}"
    if len(base) > 76:  # keep room for a "_k" suffix within the 80-character limit
        base = "U_latent"
    name, k = base, 2
    while name in taken:
        name = f"{base}_{k}"
        k += 1
    return name


def _loads_dagitty(text: str) -> nx.DiGraph:
    fmt = "DAGitty"
    raw = _Parser(text, fmt, ("dag", "digraph", "pdag", "mag", "pag", "graph"), keywords=False).parse()
    if raw.graph_type not in ("dag", "digraph"):
        raise GraphError(f"{fmt} line 1: expected 'dag', found {raw.graph_type!r} (only DAGs are supported).")
    nodes: dict[str, dict[str, Any]] = {}
    for name, attrs in raw.nodes.items():
        node: dict[str, Any] = {"name": name}
        for key, value, line in attrs:
            flag = key.lower()
            if flag in _DAGITTY_ROLES and value is None:
                role = _DAGITTY_ROLES[flag]
                if role == "latent":
                    node["latent"] = True
                    if node.get("role") in (None, "variable"):
                        node["role"] = "latent"
                else:
                    node["role"] = role
            elif flag == "pos":
                node["x"], node["y"] = _parse_pos(value, fmt, line, f"node {name!r}")
            # other DAGitty attributes (selected, label, ...) have no counterpart here
        nodes[name] = node
    edges: dict[tuple[str, str], dict[str, Any]] = {}
    for a, op, b, _attrs, line in raw.edges:
        if op == "->":
            pairs = [(a, b)]
        elif op == "<-":
            pairs = [(b, a)]
        elif op == "<->":
            u = _latent_parent_name(a, b, set(nodes))
            nodes[u] = {"name": u, "role": "latent", "latent": True,
                        "description": f"unobserved common cause of {a} and {b} (from {a} <-> {b})"}
            pairs = [(u, a), (u, b)]
        else:
            raise GraphError(f"{fmt} line {line}: expected '->', '<-' or '<->' between {a!r} and {b!r}, "
                             f"found {op!r} (a DAG has only directed and bidirected edges).")
        for x, y in pairs:
            if x == y:
                raise GraphError(f"{fmt} line {line}: expected an edge between two different nodes, found "
                                 f"the self-loop {x!r} -> {y!r}.")
            edges.setdefault((x, y), {"source": x, "target": y})
    return _build(fmt, list(nodes.values()), list(edges.values()))


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------

_DUMPERS: dict[str, Callable[[nx.DiGraph], str]] = {
    "json": _dumps_json, "dot": _dumps_dot, "gml": _dumps_gml, "dagitty": _dumps_dagitty}
_LOADERS: dict[str, Callable[[str], nx.DiGraph]] = {
    "json": _loads_json, "dot": _loads_dot, "gml": _loads_gml, "dagitty": _loads_dagitty}


def dumps(graph: nx.DiGraph, fmt: str) -> str:
    """The graph as text in ``fmt`` (one of :data:`FORMATS`; ``gv`` means ``dot``).

    Raises
    ------
    ParameterError
        ``fmt`` is not supported.
    GraphError
        The graph has a cycle (the message names it).
    """
    key = _check_format(fmt)
    require_dag(graph)
    return _DUMPERS[key](graph)


def sniff_format(text: str) -> str:
    """Guess the format of graph text from its first word.

    Raises
    ------
    GraphError
        The text does not start like any supported format.
    """
    stripped = re.sub(r"^(\s|//[^\n]*\n|/\*.*?\*/|#[^\n]*\n)*", "", text, flags=re.S)
    if stripped.startswith(("{", "[")):
        return "json"
    word = re.match(r"[A-Za-z]*", stripped).group().lower()  # type: ignore[union-attr]
    if word == "strict":
        word = re.match(r"strict\s+([A-Za-z]*)", stripped, flags=re.I)
        word = word.group(1).lower() if word else ""
    if word in ("digraph", "graph") and re.match(r"graph\s*\[", stripped, flags=re.I):
        return "gml"
    if word in ("digraph", "graph"):
        return "dot"
    if word in ("dag", "pdag", "mag", "pag"):
        return "dagitty"
    if word in ("creator", "version", "comment"):
        return "gml"
    raise GraphError("line 1: expected graph text starting with '{' (JSON), 'digraph' (DOT), 'graph [' (GML) "
                     f"or 'dag' (DAGitty), found {stripped[:20]!r}; pass fmt= to say which.")


def loads(text: str, fmt: str | None = None) -> nx.DiGraph:
    """Parse graph text in ``fmt`` (guessed from the first word when None) and validate it.

    Raises
    ------
    ParameterError
        ``fmt`` is not supported.
    GraphError
        The text does not parse (the message names the line and what was expected) or the graph
        is invalid (unknown role, cycle, ...).
    """
    if not isinstance(text, str):
        raise GraphError(f"text must be a string, not {type(text).__name__}.")
    key = sniff_format(text) if fmt is None else _check_format(fmt)
    return _LOADERS[key](text)


def _is_path(value: str | Path) -> bool:
    """A Path, an existing file, or a one-line string ending in a known extension."""
    if isinstance(value, Path):
        return True
    if not isinstance(value, str) or "\n" in value or "{" in value or "[" in value or len(value) > 4096:
        return False
    return Path(value).is_file() or Path(value).suffix.lower() in EXTENSIONS


def read_graph(path_or_text: str | Path, fmt: str | None = None) -> nx.DiGraph:
    """Read a graph from a file or from text.

    Parameters
    ----------
    path_or_text : str or Path
        A :class:`~pathlib.Path`, a string naming an existing file or ending in a known extension,
        or else the graph text itself.
    fmt : str, optional
        One of :data:`FORMATS`; by default taken from the file extension (:data:`EXTENSIONS`) or,
        for text, guessed from its first word.

    Raises
    ------
    GraphError
        The file cannot be read, or its content does not parse or is not a valid graph.
    ParameterError
        ``fmt`` or the file extension is not supported.
    """
    if _is_path(path_or_text):
        path = Path(path_or_text)
        key = _check_format(fmt) if fmt is not None else format_for_path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise GraphError(f"path={str(path)!r} does not exist.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise GraphError(f"path={str(path)!r} cannot be read as UTF-8 text: {exc}.") from None
        return loads(text, key)
    return loads(path_or_text, fmt)


def write_graph(graph: nx.DiGraph, path: str | Path, fmt: str | None = None) -> Path:
    """Write ``graph`` to ``path`` atomically, in ``fmt`` or the format of its extension.

    Returns
    -------
    Path
        The written path.

    Raises
    ------
    ParameterError
        ``fmt`` or the file extension is not supported.
    GraphError
        The graph has a cycle.
    """
    key = _check_format(fmt) if fmt is not None else format_for_path(path)
    return atomic_write_text(path, dumps(graph, key))
