"""Identification of the effect of one treatment on one outcome in a causal DAG.

The DAG may contain unobserved (latent) nodes (see :func:`causalrec_core.graph.model.is_latent`).
An adjustment set may only contain observed nodes that are not descendants of the treatment
(the generalised backdoor criterion); with that restriction the backdoor criterion is complete
for single-treatment adjustment.

Functions
    :func:`backdoor_sets`           all minimal valid adjustment sets (bounded), sorted by size
    :func:`minimal_backdoor_set`    one minimal valid adjustment set (linear time)
    :func:`optimal_adjustment_set`  the O-set of Henckel, Perković & Maathuis (2022)
    :func:`is_backdoor_set`         whether a given set is a valid adjustment set
    :func:`frontdoor_sets`          sets satisfying Pearl's frontdoor criterion
    :func:`instruments`             (conditional) instrumental variables
    :func:`identify`                all of the above, summarised as an :class:`Identification`
    :func:`paths_for_drawing`       edges to highlight: causal paths and open backdoor paths

Every function validates its inputs first (nodes exist, treatment ≠ outcome, graph acyclic,
treatment and outcome observed), never mutates the graph and raises
:class:`~causalrec_core.errors.GraphError` or :class:`~causalrec_core.errors.ParameterError`.

Algorithms
    Minimal adjustment sets are the minimal T–Y separators, restricted to allowed nodes, in the
    moral graph of the ancestral set An(T ∪ Y) of the backdoor graph (T's out-edges removed).
    They are listed with polynomial delay by a Takata-style branching (van der Zander,
    Liśkiewicz & Textor 2019, "Separators and adjustment sets in causal graphs", AIJ): each
    branch fixes whether one vertex lies on the treatment's side, and a branch is entered only
    when the closest separator to that side is still compatible, so every leaf is an answer.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import networkx as nx

from causalrec_core.errors import GraphError, ParameterError, out_of_range
from causalrec_core.graph.model import is_latent, observed_nodes, require_dag, require_nodes

__all__ = [
    "Identification",
    "backdoor_sets",
    "minimal_backdoor_set",
    "optimal_adjustment_set",
    "is_backdoor_set",
    "frontdoor_sets",
    "instruments",
    "identify",
    "paths_for_drawing",
    "format_path",
]

Estimand = Literal["backdoor", "frontdoor", "iv"]

#: Enumeration bounds. The minimal sets are listed up to ``_ENUM_FACTOR * max_sets`` (at least
#: ``_ENUM_MIN``) before the smallest ``max_sets`` are returned, so the answer is exact (the
#: smallest sets) whenever the graph has at most that many minimal sets.
_ENUM_FACTOR = 5
_ENUM_MIN = 100
_MAX_PATHS = 50            # paths listed in an Identification
_MAX_PATH_STEPS = 20_000   # DFS steps spent listing paths
_MAX_FRONTDOOR_STEPS = 1_000  # candidate sets tried when listing frontdoor sets
_MAX_INSTRUMENTS = 20


# --------------------------------------------------------------------------------------------
# validation and shared per-(graph, T, Y) state
# --------------------------------------------------------------------------------------------

def _check_graph(g: Any) -> None:
    if not isinstance(g, nx.DiGraph):
        raise ParameterError(f"graph={type(g).__name__} is invalid: it must be a networkx.DiGraph.")


def _check_pair(g: nx.DiGraph, t: Hashable, y: Hashable) -> None:
    _check_graph(g)
    require_nodes(g, [t], "treatment")
    require_nodes(g, [y], "outcome")
    if t == y:
        raise ParameterError(f"treatment={t!r} and outcome={y!r} are the same node; they must differ.")
    require_dag(g)
    for param, node in (("treatment", t), ("outcome", y)):
        if is_latent(g, node):
            raise GraphError(f"{param}={node!r} is marked latent (unobserved); an effect can only be "
                             f"identified between observed nodes. Mark {node!r} as observed first.")


def _check_positive_int(param: str, value: Any, *, allow_zero: bool = False) -> None:
    low = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise out_of_range(param, value, f"an integer >= {low}")


def _name_key(node: Hashable) -> str:
    return str(node)


def _sorted(nodes: Iterable[Hashable]) -> list:
    return sorted(nodes, key=_name_key)


def _set_key(s: Iterable[Hashable]) -> tuple[int, tuple[str, ...]]:
    names = tuple(sorted(map(str, s)))
    return len(names), names


def _reach(succ: dict, sources: Iterable[Hashable]) -> set:
    """All nodes reachable from ``sources`` (inclusive) along ``succ``."""
    seen = set(sources)
    stack = list(seen)
    while stack:
        v = stack.pop()
        for w in succ[v]:
            if w not in seen:
                seen.add(w)
                stack.append(w)
    return seen


class _Adj:
    """Plain parent/child tuples of a DAG: what :func:`_d_connected` reads, without the
    overhead of networkx's adjacency views in tight loops."""

    def __init__(self, pred: dict, succ: dict) -> None:
        self.pred, self.succ = pred, succ

    @classmethod
    def of(cls, g: nx.DiGraph) -> _Adj:
        return cls({v: tuple(ps) for v, ps in g.pred.items()}, {v: tuple(cs) for v, cs in g.succ.items()})

    def without_out_edges(self, cut: Iterable[Hashable]) -> _Adj:
        cut = set(cut)
        pred, succ = dict(self.pred), dict(self.succ)
        for c in cut:
            for child in self.succ[c]:
                pred[child] = tuple(p for p in pred[child] if p not in cut)
            succ[c] = ()
        return _Adj(pred, succ)


def _d_connected(g: Any, sources: Iterable[Hashable], given: Iterable[Hashable],
                 target: Hashable | None = None) -> Any:
    """The nodes d-connected to some node of ``sources`` given ``given`` (the Bayes-ball
    reachability of Koller & Friedman, Algorithm 3.1), without the acyclicity check that
    ``nx.is_d_separator`` repeats on every call. With ``target``: whether it is d-connected."""
    given = set(given)
    anc_given = _reach(g.pred, given)
    pred, succ = g.pred, g.succ
    seen: set[tuple[Hashable, bool]] = set()
    reached: set = set()
    stack = [(s, True) for s in sources]          # (node, arrived from a child or is a source)
    while stack:
        v, up = stack.pop()
        if (v, up) in seen:
            continue
        seen.add((v, up))
        blocked = v in given
        if not blocked:
            if v == target:
                return True
            reached.add(v)
        if up:
            if not blocked:
                stack.extend((p, True) for p in pred[v])
                stack.extend((c, False) for c in succ[v])
        else:
            if not blocked:
                stack.extend((c, False) for c in succ[v])
            if v in anc_given:                     # an open collider (or a parent of one)
                stack.extend((p, True) for p in pred[v])
    return False if target is not None else reached


class _Ctx:
    """Quantities shared by the identification functions for one (graph, treatment, outcome)."""

    def __init__(self, g: nx.DiGraph, t: Hashable, y: Hashable) -> None:
        self.g, self.t, self.y = g, t, y

    @cached_property
    def observed(self) -> set:
        return observed_nodes(self.g)

    @cached_property
    def de_t(self) -> set:
        """Descendants of T, T included."""
        return _reach(self.g.succ, [self.t])

    @cached_property
    def an_y(self) -> set:
        """Ancestors of Y in G, Y included."""
        return _reach(self.g.pred, [self.y])

    @cached_property
    def t_causes_y(self) -> bool:
        return self.y in self.de_t

    @cached_property
    def bd(self) -> nx.DiGraph:
        """The backdoor graph: G without the edges out of T."""
        h = nx.DiGraph()
        h.add_nodes_from(self.g.nodes)
        h.add_edges_from((u, v) for u, v in self.g.edges if u != self.t)
        return h

    @cached_property
    def adj(self) -> _Adj:
        return _Adj.of(self.g)

    @cached_property
    def adj_bd(self) -> _Adj:
        return self.adj.without_out_edges([self.t])

    @cached_property
    def bitdag(self) -> _BitDag:
        return _BitDag(self.bd)

    @cached_property
    def allowed(self) -> set:
        """Nodes an adjustment set may contain: observed, not T, Y or a descendant of T."""
        return self.observed - self.de_t - {self.y}

    @cached_property
    def an_bd(self) -> set:
        return _reach(self.bd.pred, [self.t, self.y])

    @cached_property
    def canonical(self) -> frozenset:
        """An_bd(T ∪ Y) ∩ allowed: a valid adjustment set whenever any valid set exists."""
        return frozenset(self.an_bd & self.allowed)

    @cached_property
    def has_backdoor(self) -> bool:
        if self.g.has_edge(self.y, self.t):
            return False
        return not _d_connected(self.adj_bd, [self.t], self.canonical, target=self.y)

    def is_valid(self, z: Iterable[Hashable]) -> bool:
        z = set(z)
        return z <= self.allowed and not _d_connected(self.adj_bd, [self.t], z, target=self.y)


# --------------------------------------------------------------------------------------------
# minimal separators in an undirected graph, as bitmasks
# --------------------------------------------------------------------------------------------

class _BitDag:
    """A DAG with parent bitmasks over a fixed node order, to build moral ancestral graphs fast."""

    def __init__(self, dag: nx.DiGraph) -> None:
        self.nodes = _sorted(dag.nodes)
        self.index = {v: i for i, v in enumerate(self.nodes)}
        self.parents = [0] * len(self.nodes)
        for u, v in dag.edges:
            self.parents[self.index[v]] |= 1 << self.index[u]

    def moral_ancestral(self, sources: Iterable[Hashable]) -> _BitGraph:
        """The moral graph of the subgraph induced by the ancestors of ``sources``."""
        pa = self.parents
        anc = frontier = sum(1 << self.index[s] for s in set(sources))
        while frontier:
            acc = 0
            while frontier:
                low = frontier & -frontier
                acc |= pa[low.bit_length() - 1]
                frontier ^= low
            frontier = acc & ~anc
            anc |= frontier
        adj = [0] * len(self.nodes)
        rest = anc
        while rest:
            low = rest & -rest
            v = low.bit_length() - 1
            rest ^= low
            pv = pa[v]
            adj[v] |= pv
            ps = pv
            while ps:
                lp = ps & -ps
                adj[lp.bit_length() - 1] |= low | (pv ^ lp)   # the child and the co-parents
                ps ^= lp
        return _BitGraph(self.nodes, self.index, adj, anc)


class _BitGraph:
    """An undirected graph (adjacency bitmasks over the vertex set ``full``) for separators."""

    def __init__(self, nodes: list, index: dict, adj: list[int], full: int) -> None:
        self.nodes, self.index, self.adj, self.full = nodes, index, adj, full

    def mask(self, nodes: Iterable[Hashable]) -> int:
        m = 0
        for v in nodes:
            i = self.index.get(v)
            if i is not None:
                m |= 1 << i
        return m & self.full

    def unmask(self, m: int) -> frozenset:
        out = []
        while m:
            low = m & -m
            out.append(self.nodes[low.bit_length() - 1])
            m ^= low
        return frozenset(out)

    def neighbours(self, m: int) -> int:
        acc, rest, adj = 0, m, self.adj
        while rest:
            low = rest & -rest
            acc |= adj[low.bit_length() - 1]
            rest ^= low
        return acc & ~m

    def component(self, start: int, avail: int) -> int:
        comp = frontier = start
        adj = self.adj
        while frontier:
            acc = 0
            while frontier:
                low = frontier & -frontier
                acc |= adj[low.bit_length() - 1]
                frontier ^= low
            frontier = acc & avail & ~comp
            comp |= frontier
        return comp

    def _spread(self, m: int) -> int:
        """The union of the neighbourhoods of the vertices in ``m`` (``m`` itself not removed)."""
        acc, adj = 0, self.adj
        while m:
            low = m & -m
            acc |= adj[low.bit_length() - 1]
            m ^= low
        return acc

    def close_side(self, s: int, nb: int, t: int, x: int, y: int, allowed: int) -> tuple[int, int] | None:
        """The smallest x-side component C ⊇ s of a minimal x–y separator N(C) ⊆ allowed with
        C ∩ t = ∅, as (C, N(C)); None when there is none. ``nb`` is N(s); ``x``, ``y`` are
        single-bit masks."""
        while True:  # a neighbour of the x-side that may not be separated must join it
            bad = nb & ~allowed
            if not bad:
                break
            if bad & t:
                return None
            s |= bad
            nb = (nb | self._spread(bad)) & ~s
        d = self.component(y, self.full & ~s & ~nb)      # y's component beyond N(s)
        sep = self.neighbours(d)                          # the minimal separator closest to s
        c = self.component(x, self.full & ~sep)
        return None if c & t else (c, sep)

    def minimal_separators(self, x: Hashable, y: Hashable, allowed: Iterable[Hashable]) -> Iterator[frozenset]:
        """Yield every minimal x–y vertex separator contained in ``allowed``, with polynomial delay.

        A branch (S, N(S), T) stands for the separators whose x-component contains S and avoids
        T; ``close_side`` decides in linear time whether a branch is empty, so every leaf yields.
        """
        xb, yb = 1 << self.index[x], 1 << self.index[y]
        allowed_m = self.mask(allowed) & ~xb & ~yb
        start = self.close_side(xb, self.adj[self.index[x]] & ~xb, yb, xb, yb, allowed_m)
        if start is None:
            return
        stack = [(*start, yb)]
        while stack:
            s, sep, t = stack.pop()
            free = sep & ~t
            if not free:
                yield self.unmask(sep)
                continue
            v = free & -free
            stack.append((s, sep, t | v))                 # v separates
            s_v = s | v
            joined = self.close_side(s_v, (sep | self.adj[v.bit_length() - 1]) & ~s_v, t, xb, yb, allowed_m)
            if joined is not None:                        # v joins the x-side (explored first)
                stack.append((*joined, t))


# --------------------------------------------------------------------------------------------
# adjustment sets
# --------------------------------------------------------------------------------------------

def _enumerate_backdoor(ctx: _Ctx, max_sets: int, max_size: int | None) -> tuple[list[frozenset], str | None]:
    """(the smallest ``max_sets`` minimal sets, a note when more exist)."""
    if not ctx.has_backdoor:
        return [], None
    bg = ctx.bitdag.moral_ancestral([ctx.t, ctx.y])
    budget = max(_ENUM_MIN, _ENUM_FACTOR * max_sets)
    found: list[frozenset] = []
    exhausted = False
    for i, sep in enumerate(bg.minimal_separators(ctx.t, ctx.y, ctx.canonical)):
        if i >= budget:
            exhausted = True
            break
        if max_size is None or len(sep) <= max_size:
            found.append(sep)
    found.sort(key=_set_key)
    note = None
    if exhausted:
        note = (f"There are more than {budget} minimal adjustment sets; the {min(max_sets, len(found))} "
                f"smallest of the first {budget} found are listed.")
    elif len(found) > max_sets:
        note = f"There are {len(found)} minimal adjustment sets; the {max_sets} smallest are listed."
    return found[:max_sets], note


def backdoor_sets(g: nx.DiGraph, t: Hashable, y: Hashable, *, max_sets: int = 20,
                  max_size: int | None = None) -> list[frozenset]:
    """Return the minimal valid adjustment sets for the effect of ``t`` on ``y``.

    A set Z is valid when it holds only observed nodes, no descendant of ``t``, and blocks every
    backdoor path (d-separates ``t`` and ``y`` once the edges out of ``t`` are removed). Minimal
    means that no proper subset is valid.

    Parameters
    ----------
    g : networkx.DiGraph
        The causal DAG; nodes with ``latent=True`` (or role ``"latent"``) are unobserved.
    t, y : node
        Treatment and outcome (observed, distinct).
    max_sets : int
        At most this many sets are returned. The minimal sets are listed with polynomial delay up
        to ``max(100, 5 * max_sets)`` of them, and the smallest ``max_sets`` of those are kept.
    max_size : int or None
        Keep only sets with at most this many nodes.

    Returns
    -------
    list of frozenset
        Sorted by (size, names). ``[frozenset()]`` when no backdoor path is open;
        ``[]`` when no valid adjustment set exists.

    Raises
    ------
    GraphError
        Unknown node, cycle, or latent treatment/outcome.
    ParameterError
        ``t == y``, or ``max_sets``/``max_size`` out of range.

    Examples
    --------
    >>> g = nx.DiGraph([("Z", "T"), ("Z", "Y"), ("T", "Y")])
    >>> backdoor_sets(g, "T", "Y")
    [frozenset({'Z'})]
    """
    _check_pair(g, t, y)
    _check_positive_int("max_sets", max_sets)
    if max_size is not None:
        _check_positive_int("max_size", max_size, allow_zero=True)
    return _enumerate_backdoor(_Ctx(g, t, y), max_sets, max_size)[0]


def minimal_backdoor_set(g: nx.DiGraph, t: Hashable, y: Hashable) -> frozenset | None:
    """Return one minimal valid adjustment set (linear time), or None when none exists.

    Uses ``nx.find_minimal_d_separator`` on the backdoor graph, restricted to observed
    non-descendants of ``t``. Raises like :func:`backdoor_sets`.
    """
    _check_pair(g, t, y)
    ctx = _Ctx(g, t, y)
    if g.has_edge(y, t):
        return None
    z = nx.find_minimal_d_separator(ctx.bd, t, y, restricted=set(ctx.allowed))
    return None if z is None else frozenset(z)


def is_backdoor_set(g: nx.DiGraph, t: Hashable, y: Hashable, z: Iterable[Hashable]) -> bool:
    """True when ``z`` is a valid adjustment set: observed nodes only, no descendant of ``t``,
    and every backdoor path from ``t`` to ``y`` blocked. Raises GraphError for unknown nodes."""
    _check_pair(g, t, y)
    z = set(z)
    require_nodes(g, z, "adjustment")
    if {t, y} & z:
        raise ParameterError(f"adjustment={_sorted(z)!r} is invalid: it must not contain the "
                             f"treatment or the outcome.")
    return _Ctx(g, t, y).is_valid(z)


def _optimal(ctx: _Ctx) -> tuple[frozenset | None, str | None]:
    g, t = ctx.g, ctx.t
    if not ctx.t_causes_y:
        return None, (f"{t!r} has no directed path to {ctx.y!r}, so the optimal adjustment set "
                      f"is not defined (the effect is zero).")
    causal = (ctx.de_t & ctx.an_y) - {t}               # cn(T, Y)
    forbidden = _reach(g.succ, causal) | {t}            # forb(T, Y)
    o_set = frozenset(p for c in causal for p in g.pred[c]) - forbidden
    latent = _sorted(v for v in o_set if is_latent(g, v))
    if latent:
        return None, (f"the optimal adjustment set pa(cn(T, Y)) \\ forb(T, Y) contains the unobserved "
                      f"node(s) {', '.join(map(str, latent))}, so it cannot be used.")
    if not ctx.is_valid(o_set):
        return None, ("the optimal adjustment set pa(cn(T, Y)) \\ forb(T, Y) does not block every "
                      "backdoor path, so no valid adjustment set exists.")
    return o_set, None


def optimal_adjustment_set(g: nx.DiGraph, t: Hashable, y: Hashable) -> frozenset | None:
    """Return the O-set pa(cn(T,Y)) \\ forb(T,Y) of Henckel, Perković & Maathuis (2022), the valid
    adjustment set with the smallest asymptotic variance among valid sets in linear models.

    Returns None when ``t`` has no directed path to ``y``, when the O-set contains a latent node,
    or when it is not valid (then no valid adjustment set exists); :func:`identify` says which.
    Raises like :func:`backdoor_sets`.
    """
    _check_pair(g, t, y)
    return _optimal(_Ctx(g, t, y))[0]


# --------------------------------------------------------------------------------------------
# frontdoor and instruments
# --------------------------------------------------------------------------------------------

def _frontdoor(ctx: _Ctx, max_sets: int, budget: int = _MAX_FRONTDOOR_STEPS) -> list[frozenset]:
    g, t, y = ctx.g, ctx.t, ctx.y
    if not ctx.t_causes_y or g.has_edge(t, y):
        return []
    bd = ctx.bd
    # (ii) no open backdoor path T ... m given ∅: m shares no ancestor with T in the backdoor graph
    t_treks = _reach(bd.succ, _reach(bd.pred, [t]))
    cand = {v for v in ctx.an_y if v in ctx.observed and v not in t_treks} - {t, y}
    # (iii) fails for every M containing m when m is d-connected to Y given T even in the graph
    # without the out-edges of all candidates; drop such nodes until none is left: the largest
    # set meeting (ii) and (iii), which contains every frontdoor set
    while cand:
        bad = cand & _d_connected(ctx.adj.without_out_edges(cand), [y], {t})
        if not bad:
            break
        cand -= bad
    # (i) M intercepts every directed T→Y path: none exists unless cand intercepts them all
    sub = (ctx.de_t & ctx.an_y) | {t}
    succ = {v: [w for w in g.succ[v] if w in sub] for v in sub}

    def intercepts(m: frozenset | set) -> bool:
        return y not in _reach_avoiding(succ, t, m)

    if not intercepts(cand):
        return []

    def valid(m: frozenset) -> bool:
        return intercepts(m) and not _d_connected(ctx.adj.without_out_edges(m), m, {t}, target=y)

    found: list[frozenset] = []
    steps = 0
    pool = _sorted(cand)
    for k in range(1, len(pool) + 1):      # by increasing size; only sets with no valid subset
        for combo in itertools.combinations(pool, k):
            steps += 1
            if steps > budget or len(found) >= max_sets:
                break
            m = frozenset(combo)
            if not any(f <= m for f in found) and valid(m):
                found.append(m)
        else:
            continue
        break
    if not found:  # budget spent: shrink the (valid) candidate set greedily instead
        m = frozenset(cand)
        for v in pool:
            if len(m) > 1 and valid(m - {v}):
                m = m - {v}
        found.append(m)
    return sorted(found, key=_set_key)


def _reach_avoiding(succ: dict, source: Hashable, avoid: frozenset | set) -> set:
    seen = {source}
    stack = [source]
    while stack:
        for w in succ[stack.pop()]:
            if w not in seen and w not in avoid:
                seen.add(w)
                stack.append(w)
    return seen


def frontdoor_sets(g: nx.DiGraph, t: Hashable, y: Hashable, max_sets: int = 10) -> list[frozenset]:
    """Return inclusion-minimal sets M of observed nodes satisfying Pearl's frontdoor criterion.

    (i) M intercepts every directed path from ``t`` to ``y``; (ii) no backdoor path from ``t`` to
    M is open (given the empty set); (iii) every backdoor path from M to ``y`` is blocked by
    ``t``. Existence is decided exactly: candidates (observed ancestors of ``y``) that violate (ii)
    or (iii) for every set containing them are removed until none is left, and a frontdoor set
    exists iff the remaining candidates intercept every directed path. Subsets of them are then
    tried by increasing size (at most 1,000); only sets with no valid proper subset are
    returned, sorted by (size, names). Should that budget run out before one is found, the
    candidates are shrunk greedily to one valid set. Raises like :func:`backdoor_sets`.
    """
    _check_pair(g, t, y)
    _check_positive_int("max_sets", max_sets)
    return _frontdoor(_Ctx(g, t, y), max_sets)


def _instruments(ctx: _Ctx, limit: int = _MAX_INSTRUMENTS) -> list[dict]:
    g, t, y, bd = ctx.g, ctx.t, ctx.y, ctx.bd
    # Z ⟂̸ T given ∅ in G  <=>  Z is a descendant of an ancestor of T (they share a trek)
    t_treks = _reach(g.succ, _reach(g.pred, [t]))
    y_treks_bd = _reach(bd.succ, _reach(bd.pred, [y]))
    banned = ctx.de_t | _reach(g.succ, [y])
    candidates = _sorted(z for z in ctx.observed if z not in banned and z in t_treks)
    unconditional = [{"instrument": z, "conditioning_set": []} for z in candidates if z not in y_treks_bd]
    conditional: list[dict] = []
    base_allowed = ctx.observed - banned
    for z in candidates:
        if z not in y_treks_bd or bd.has_edge(z, y) or bd.has_edge(y, z):
            continue
        w = _conditioning_set(ctx, z, base_allowed - {z})
        if w is not None:
            conditional.append({"instrument": z, "conditioning_set": _sorted(w)})
    conditional.sort(key=lambda d: (len(d["conditioning_set"]), str(d["instrument"])))
    return (unconditional + conditional)[:limit]


def _conditioning_set(ctx: _Ctx, z: Hashable, allowed: set) -> frozenset | None:
    """A set W ⊆ allowed ∩ An(z, y) that d-separates z from y once T's out-edges are removed but
    leaves z d-connected to T in G, or None. Only the minimal separator closest to y needs to be
    tried: if any ancestral W works, it does (van der Zander, Textor & Liśkiewicz 2015)."""
    t, y = ctx.t, ctx.y
    bg = ctx.bitdag.moral_ancestral([z, y])
    zb, yb = 1 << bg.index[z], 1 << bg.index[y]
    side = bg.close_side(yb, bg.adj[bg.index[y]] & ~yb, zb, yb, zb, bg.mask(allowed) & ~zb & ~yb)
    if side is None:
        return None
    nearest = bg.unmask(side[1])
    return nearest if _d_connected(ctx.adj, [z], nearest, target=t) else None


def instruments(g: nx.DiGraph, t: Hashable, y: Hashable) -> list[dict]:
    """Return instrumental variables for the effect of ``t`` on ``y``.

    An observed Z (not a descendant of ``t`` or ``y``) is an instrument given a set W of observed
    non-descendants of ``t`` and ``y`` when Z is d-connected to ``t`` given W in G, and W
    d-separates Z from ``y`` once the edges out of ``t`` are removed. Unconditional instruments
    (W = ∅) come first, then conditional ones with their conditioning set: the minimal separator
    of Z and ``y`` closest to ``y``, which finds a W whenever one exists among the ancestors of Z
    and ``y`` (ancestral instruments, van der Zander, Textor & Liśkiewicz 2015). Only Z that
    share a common cause with, or cause, ``t`` are considered; at most 20 are returned.

    Returns
    -------
    list of dict
        ``{"instrument": Z, "conditioning_set": [sorted names]}``.
    """
    _check_pair(g, t, y)
    return _instruments(_Ctx(g, t, y))


# --------------------------------------------------------------------------------------------
# paths
# --------------------------------------------------------------------------------------------

def _open_paths(g: nx.DiGraph, start: Hashable, end: Hashable, given: set, *, into_start: bool,
                limit: int, max_steps: int) -> tuple[list[list], bool]:
    """Simple paths start … end that are d-connecting given ``given`` (the first edge pointing
    into ``start`` when ``into_start``); returns (paths sorted by length and names, truncated)."""
    relevant = _reach(g.pred, [start, end, *given])          # a d-connecting path stays here
    anc_given = _reach(g.pred, given)

    def moves(v: Hashable) -> list[tuple[Hashable, bool]]:   # (next node, edge points into v)
        out = [(p, True) for p in g.pred[v] if p in relevant]
        out += [(c, False) for c in g.succ[v] if c in relevant]
        out.sort(key=lambda m: _name_key(m[0]))
        return out

    first = [m for m in moves(start) if m[1] or not into_start]
    paths: list[list] = []
    path, on_path = [start], {start}
    stack: list[tuple[Hashable, bool, Iterator]] = [(start, False, iter(first))]
    steps, truncated = 0, False
    while stack:
        v, into_v, it = stack[-1]
        nxt = next(it, None)
        if nxt is None:
            stack.pop()
            on_path.discard(path.pop())
            continue
        steps += 1
        if steps > max_steps:
            truncated = True
            break
        w, points_into_v = nxt
        if w in on_path:
            continue
        if v != start:
            if into_v and points_into_v:       # v is a collider
                if v not in anc_given:
                    continue
            elif v in given:
                continue
        if w == end:
            paths.append([*path, w])
            if len(paths) >= limit:
                truncated = True
                break
            continue
        path.append(w)
        on_path.add(w)
        stack.append((w, not points_into_v, iter(moves(w))))
    paths.sort(key=lambda p: (len(p), [str(n) for n in p]))
    return paths, truncated


def _causal_paths(ctx: _Ctx, limit: int = _MAX_PATHS) -> list[list]:
    if not ctx.t_causes_y:
        return []
    sub = ctx.g.subgraph(ctx.de_t & ctx.an_y)
    paths = list(itertools.islice(nx.all_simple_paths(sub, ctx.t, ctx.y), limit))
    paths.sort(key=lambda p: (len(p), [str(n) for n in p]))
    return paths


def format_path(g: nx.DiGraph, path: list) -> str:
    """Render a path with its edge directions, e.g. ``exposure ← U → purchase``."""
    out = [str(path[0])]
    for a, b in itertools.pairwise(path):
        out.append(("→ " if g.has_edge(a, b) else "← ") + str(b))
    return " ".join(out)


def _edges_of(g: nx.DiGraph, paths: list[list]) -> set[tuple]:
    edges = set()
    for p in paths:
        for a, b in itertools.pairwise(p):
            edges.add((a, b) if g.has_edge(a, b) else (b, a))
    return edges


def paths_for_drawing(g: nx.DiGraph, t: Hashable, y: Hashable,
                      adjustment: Iterable[Hashable] | None = None) -> dict[str, Any]:
    """Edges to highlight when drawing the graph.

    Returns
    -------
    dict
        ``causal_edges``: the set of edges (u, v) on directed ``t``→``y`` paths (exact);
        ``open_backdoor_edges``: the set of edges on backdoor paths that are open given
        ``adjustment`` (from at most 200 such paths); ``truncated``: True when that bound or the
        search budget was reached, so more backdoor edges may be open.
    """
    _check_pair(g, t, y)
    given = set(adjustment or ())
    require_nodes(g, given, "adjustment")
    if {t, y} & given:
        raise ParameterError(f"adjustment={_sorted(given)!r} is invalid: it must not contain the "
                             f"treatment or the outcome.")
    ctx = _Ctx(g, t, y)
    causal = {(u, v) for u, v in g.edges if u in ctx.de_t and v in ctx.an_y} if ctx.t_causes_y else set()
    paths, truncated = _open_paths(g, t, y, given, into_start=True, limit=200, max_steps=10 * _MAX_PATH_STEPS)
    return {"causal_edges": causal, "open_backdoor_edges": _edges_of(g, paths), "truncated": truncated}


# --------------------------------------------------------------------------------------------
# the summary
# --------------------------------------------------------------------------------------------

def _jsonable(node: Hashable) -> Any:
    return node if isinstance(node, str | int | float | bool) else str(node)


@dataclass(frozen=True)
class Identification:
    """How (and whether) the effect of ``treatment`` on ``outcome`` is identified by the graph.

    ``estimand`` is the strategy to use: ``"backdoor"`` (adjust for ``optimal_set`` or one of
    ``backdoor_sets``), ``"frontdoor"`` (through ``frontdoor_sets[0]``), ``"iv"`` (instrumental
    variables; identifies the effect only under further assumptions such as linear effects, or
    the complier effect under monotonicity), or None. ``reason`` explains a failure; ``notes``
    carry everything else worth telling the user.
    """

    treatment: Hashable
    outcome: Hashable
    identifiable: bool
    estimand: Estimand | None
    backdoor_sets: list[list]
    optimal_set: list | None
    frontdoor_sets: list[list]
    instruments: list[dict]
    causal_paths: list[list]
    open_backdoor_paths: list[list]
    reason: str | None = None
    effect_is_zero: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (node names as str/int where they are not)."""
        def names(xs: Iterable[Hashable]) -> list:
            return [_jsonable(n) for n in xs]

        return {
            "treatment": _jsonable(self.treatment),
            "outcome": _jsonable(self.outcome),
            "identifiable": self.identifiable,
            "estimand": self.estimand,
            "effect_is_zero": self.effect_is_zero,
            "backdoor_sets": [names(s) for s in self.backdoor_sets],
            "optimal_set": None if self.optimal_set is None else names(self.optimal_set),
            "frontdoor_sets": [names(s) for s in self.frontdoor_sets],
            "instruments": [{"instrument": _jsonable(d["instrument"]),
                             "conditioning_set": names(d["conditioning_set"])} for d in self.instruments],
            "causal_paths": [names(p) for p in self.causal_paths],
            "open_backdoor_paths": [names(p) for p in self.open_backdoor_paths],
            "reason": self.reason,
            "notes": list(self.notes),
        }


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _blocking_failure(ctx: _Ctx) -> str:
    """Why no adjustment set works: a backdoor path left open by the largest allowed set."""
    g, t, y = ctx.g, ctx.t, ctx.y
    if g.has_edge(y, t):
        return f"the outcome {y!r} is a direct cause of the treatment {t!r}"
    paths, _ = _open_paths(g, t, y, set(ctx.canonical), into_start=True, limit=20, max_steps=_MAX_PATH_STEPS)
    if not paths:  # cannot happen when no valid set exists; kept as a safe fallback
        return "some backdoor path cannot be blocked by observed non-descendants of the treatment"
    path = paths[0]
    blockers = [v for v in path[1:-1] if v not in ctx.canonical]
    latent = [str(v) for v in blockers if is_latent(g, v)]
    parts = []
    if latent:
        parts.append(f"the unobserved node{'s' if len(latent) > 1 else ''} {_join(latent)}")
    desc = [str(v) for v in blockers if not is_latent(g, v) and v in ctx.de_t]
    if desc:
        parts.append(f"{_join(desc)}, which {'are descendants' if len(desc) > 1 else 'is a descendant'} "
                     f"of the treatment and must not be adjusted for")
    through = " and through ".join(parts) if parts else "nodes that cannot be adjusted for"
    return f"the backdoor path {format_path(g, path)} stays open through {through}"


def identify(g: nx.DiGraph, t: Hashable, y: Hashable, *, max_sets: int = 20) -> Identification:
    """Decide how the effect of ``t`` on ``y`` is identified: backdoor adjustment first, then the
    frontdoor criterion, then instrumental variables.

    When ``t`` is not an ancestor of ``y`` the effect is zero: ``identifiable`` is True,
    ``effect_is_zero`` is True and ``estimand`` is None. Path lists hold at most 50 paths. Where
    a backdoor set exists, frontdoor sets are listed for information only, with a quarter of the
    search budget of :func:`frontdoor_sets`.

    Raises
    ------
    GraphError
        Unknown node, cycle, or latent treatment/outcome.
    ParameterError
        ``t == y`` or ``max_sets`` out of range.

    Examples
    --------
    >>> g = nx.DiGraph([("U", "T"), ("U", "Y"), ("T", "Y")])
    >>> g.nodes["U"]["latent"] = True
    >>> identify(g, "T", "Y").identifiable
    False
    """
    _check_pair(g, t, y)
    _check_positive_int("max_sets", max_sets)
    ctx = _Ctx(g, t, y)
    notes: list[str] = []
    sets, sets_note = _enumerate_backdoor(ctx, max_sets, None)
    if sets_note:
        notes.append(sets_note)
    optimal, optimal_note = _optimal(ctx)
    if optimal_note and ctx.t_causes_y:
        notes.append("No optimal adjustment set: " + optimal_note)
    front = _frontdoor(ctx, 10, _MAX_FRONTDOOR_STEPS if not sets else _MAX_FRONTDOOR_STEPS // 4)
    ivs = _instruments(ctx)
    causal = _causal_paths(ctx)
    open_bd, truncated = _open_paths(g, t, y, set(), into_start=True, limit=_MAX_PATHS, max_steps=_MAX_PATH_STEPS)
    if truncated:
        notes.append(f"Only the first {len(open_bd)} open backdoor paths are listed.")

    estimand: Estimand | None = None
    reason = None
    zero = not ctx.t_causes_y
    if zero:
        identifiable = True
        notes.insert(0, f"{t!r} is not an ancestor of {y!r}: no directed path leads from the treatment to "
                        f"the outcome, so the causal effect is zero.")
    elif sets:
        identifiable, estimand = True, "backdoor"
    else:
        failure = _blocking_failure(ctx)
        if front:
            identifiable, estimand = True, "frontdoor"
            notes.append(f"No valid adjustment set ({failure}); the frontdoor criterion holds for "
                         f"{{{', '.join(map(str, _sorted(front[0])))}}}.")
        elif ivs:
            identifiable, estimand = True, "iv"
            notes.append(f"No valid adjustment set ({failure}) and no frontdoor set; instrumental variables "
                         f"identify the effect only under further assumptions (e.g. linear, homogeneous "
                         f"effects, or the complier effect under monotonicity).")
        else:
            identifiable = False
            reason = f"{failure[0].upper()}{failure[1:]}, and no frontdoor set or instrument exists."
    return Identification(
        treatment=t, outcome=y, identifiable=identifiable, estimand=estimand,
        backdoor_sets=[_sorted(s) for s in sets],
        optimal_set=None if optimal is None else _sorted(optimal),
        frontdoor_sets=[_sorted(s) for s in front],
        instruments=ivs, causal_paths=causal, open_backdoor_paths=open_bd,
        reason=reason, effect_is_zero=zero, notes=notes,
    )
