"""Structure learning: propose a causal graph from data, with bootstrap confidence.

Three searches from causal-learn, behind one front door :func:`discover`:

``pc``      constraint-based (Peter–Clark, order-independent "stable" skeleton), CI test Fisher-z
            (linear-Gaussian), chi-square or G-square (discrete). Output: a CPDAG.
``ges``     score-based greedy equivalence search, BIC (continuous) or BDeu (discrete). Output: a CPDAG.
``lingam``  DirectLiNGAM (linear, non-Gaussian noise). Output: a DAG.

How PC runs. The skeleton phase (which needs nearly all the CI tests) is ours: the same stable-PC
loop as causal-learn's ``skeleton_discovery`` (same conditioning sets, same ``p > alpha`` rule,
same separating sets), but with Fisher-z every test reads one correlation matrix and all the tests
of one depth are computed together in numpy, which makes it 10–50× faster than calling
causal-learn's test object one test at a time; for chi-square / G-square the tests are
causal-learn's own. The orientation phase is causal-learn's: ``orient_by_background_knowledge``,
``uc_sepset`` (priority 2, "prioritise existing colliders", causal-learn's default) and Meek's
rules. Without background knowledge the result equals ``causallearn.search.ConstraintBased.PC.pc``
on the same data (tests check this). For :func:`stability` the correlation matrix of each bootstrap
resample is computed from multinomial weights (weighted moments) without copying the data.

Background knowledge
    ``required``  pairs (a, b): the edge a → b must be in the graph.
    ``forbidden`` pairs (a, b): the edge a → b must not be (forbid both directions to forbid any
                  adjacency between a and b).
    ``tiers``     a list of lists of columns: a column cannot cause one in an earlier tier (edges
                  between tiers point forward in time). Columns in no tier are unconstrained.
    PC applies them through causal-learn's ``BackgroundKnowledge`` (and never tests a required
    pair, so that the skeleton keeps it). GES applies them after the search (reverse or drop edges
    that contradict them, add missing required edges, then Meek's rules). LiNGAM takes tiers and
    required edges as DirectLiNGAM's ``prior_knowledge`` (a path constraint) and drops forbidden
    edges afterwards. The result's ``notes`` say which was done.

Representation of the result (:class:`Discovery`)
    ``graph`` holds the columns as nodes and only the *oriented* edges, so it is always a candidate
    DAG that the graph editor can validate and accept as it is. Edges that the data cannot orient
    (the undirected edges of a CPDAG) are listed separately in ``undirected`` as frozensets
    ``{a, b}``; the ``edges`` table lists both kinds with a ``directed`` flag. :meth:`Discovery.cpdag`
    returns one DiGraph with each undirected edge as a pair of opposite edges flagged
    ``undirected=True`` (for drawing). We chose the separate list because a pair of opposite edges
    would make ``graph`` cyclic, and every consumer of a causal graph in the product requires a DAG.

Metrics: :func:`shd` (structural Hamming distance) and :func:`edge_precision_recall` (adjacency and
arrowhead precision / recall) compare a learned graph with a known one.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Literal

import networkx as nx
import numpy as np
import pandas as pd

from causalrec_core.errors import DataError, ParameterError, invalid_choice, out_of_range

__all__ = [
    "CI_TESTS",
    "METHODS",
    "SCORES",
    "Discovery",
    "dag_to_cpdag",
    "discover",
    "edge_precision_recall",
    "shd",
    "stability",
    "suggestions",
]

METHODS: tuple[str, ...] = ("pc", "ges", "lingam")
CI_TESTS: tuple[str, ...] = ("fisherz", "chisq", "gsq", "auto")
SCORES: tuple[str, ...] = ("auto", "bic", "bdeu")
MAX_DISCRETE_LEVELS = 20
"""A column counts as discrete when its values are integers with at most this many levels."""

Method = Literal["pc", "ges", "lingam"]
CITest = Literal["fisherz", "chisq", "gsq", "auto"]
Score = Literal["auto", "bic", "bdeu"]
Pair = tuple[str, str]


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Discovery:
    """The outcome of one structure search.

    Attributes
    ----------
    graph : nx.DiGraph
        Every usable column as a node (``role='variable'``, ``latent=False``, ``column=<name>``) and
        every *oriented* edge (``origin='learned'``, ``confidence=None``, ``note`` naming the method).
    undirected : list of frozenset
        Adjacencies the search could not orient (CPDAG edges), as ``frozenset({a, b})``.
    edges : DataFrame
        One row per adjacency: ``source``, ``target``, ``directed`` (bool), ``confidence`` (float,
        NaN for a single search; see :func:`stability`). Undirected rows list the pair in column order.
    method : str
    params : dict
        The resolved settings (``ci_test`` / ``score`` actually used, rows and columns used, ...).
    notes : list of str
        Everything the function did to the data or the knowledge that the user should know.
    seconds : float
        Wall time of the whole call.
    """

    graph: nx.DiGraph
    undirected: list[frozenset[str]]
    edges: pd.DataFrame
    method: str
    params: dict[str, Any]
    notes: list[str]
    seconds: float

    def cpdag(self) -> nx.DiGraph:
        """A copy of ``graph`` plus each undirected edge as two opposite edges with ``undirected=True``."""
        g = self.graph.copy()
        for pair in self.undirected:
            a, b = sorted(pair)
            for u, v in ((a, b), (b, a)):
                g.add_edge(u, v, origin="learned", confidence=None, note="undirected (not orientable)",
                           undirected=True)
        return g

    def adjacencies(self) -> set[frozenset[str]]:
        """Every learned adjacency, oriented or not."""
        return {frozenset(e) for e in self.graph.edges} | set(self.undirected)


# --------------------------------------------------------------------------------------------
# Validation and preparation
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Knowledge:
    """Background knowledge over column indices."""

    required: frozenset[tuple[int, int]] = frozenset()
    forbidden: frozenset[tuple[int, int]] = frozenset()
    tier: tuple[int, ...] = ()  # per column; -1 = in no tier

    @property
    def empty(self) -> bool:
        return not self.required and not self.forbidden and all(t < 0 for t in self.tier)

    def forbids(self, i: int, j: int) -> bool:
        """True when the edge i -> j is forbidden (explicitly or by the tiers)."""
        if (i, j) in self.forbidden:
            return True
        return bool(self.tier) and self.tier[i] >= 0 and self.tier[j] >= 0 and self.tier[i] > self.tier[j]


@dataclass
class _Prepared:
    X: np.ndarray  # float64, rows x columns, no NaN, no constant column
    columns: list[str]
    knowledge: _Knowledge
    discrete: bool
    notes: list[str] = field(default_factory=list)
    n_input_rows: int = 0
    corr: np.ndarray | None = None  # set by the collinearity check (Gaussian methods)


@dataclass(frozen=True)
class _Config:
    method: str
    alpha: float
    ci_test: str  # resolved ('fisherz' | 'chisq' | 'gsq'); used by PC only
    score: str  # resolved ('bic' | 'bdeu'); used by GES only
    seed: int


def _check_params(method: object, alpha: object, ci_test: object, score: object,
                  max_rows: object, seed: object) -> None:
    if method not in METHODS:
        raise invalid_choice("method", method, METHODS)
    if ci_test not in CI_TESTS:
        raise invalid_choice("ci_test", ci_test, CI_TESTS)
    if score not in SCORES:
        raise invalid_choice("score", score, SCORES)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < float(alpha) < 1:
        raise out_of_range("alpha", alpha, "a number strictly between 0 and 1")
    if isinstance(max_rows, bool) or not isinstance(max_rows, (int, np.integer)) or max_rows < 10:
        raise out_of_range("max_rows", max_rows, "an integer >= 10")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise out_of_range("seed", seed, "an integer >= 0")


def _min_rows(n_columns: int) -> int:
    return max(10, n_columns + 4)


def _numeric_matrix(data: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    if not isinstance(data, pd.DataFrame):
        raise ParameterError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
    columns = [str(c) for c in data.columns]
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise ParameterError(f"data has duplicate column names: {dupes}; rename them first.")
    bad: list[str] = []
    arrays = []
    for name, col in zip(columns, data.columns, strict=True):
        s = data[col]
        dtype = s.dtype
        if pd.api.types.is_bool_dtype(dtype):
            arrays.append(s.astype("float64").to_numpy())  # booleans -> 0/1 (NA -> NaN)
        elif pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
            arrays.append(s.to_numpy(dtype="float64", na_value=np.nan))
        else:
            bad.append(f"{name!r} ({dtype})")
    if bad:
        raise ParameterError(
            "Structure learning needs numeric columns; these are not: " + ", ".join(bad)
            + ". Drop them or encode them as numbers first (booleans are used as 0/1).")
    X = np.column_stack(arrays) if arrays else np.empty((len(data), 0))
    return X, columns


def _pairs(value: object, param: str) -> list[Pair]:
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        raise ParameterError(f"{param} must be a list of (source, target) pairs, got the string {value!r}.")
    out = []
    for item in value:  # type: ignore[union-attr]
        if isinstance(item, (str, bytes)) or not isinstance(item, Sequence) or len(item) != 2:
            raise ParameterError(f"{param} must be a list of (source, target) pairs; {item!r} is not a pair.")
        a, b = str(item[0]), str(item[1])
        if a == b:
            raise ParameterError(f"{param} contains the self-loop ({a!r}, {a!r}); a graph has no self-loops.")
        out.append((a, b))
    return out


def _knowledge(columns: list[str], all_columns: list[str], dropped: set[str], required: object,
               forbidden: object, tiers: object, notes: list[str]) -> _Knowledge:
    req, forb = _pairs(required, "required"), _pairs(forbidden, "forbidden")
    tier_lists: list[list[str]] = []
    if tiers is not None:
        if isinstance(tiers, (str, bytes)) or not isinstance(tiers, Sequence) or any(
                isinstance(t, (str, bytes)) or not isinstance(t, Iterable) for t in tiers):
            raise ParameterError(
                "tiers must be a list of lists of column names, e.g. [['user_activity'], ['exposed']]; "
                f"got {tiers!r}.")
        tier_lists = [[str(c) for c in t] for t in tiers]
    named = {c for p in req + forb for c in p} | {c for t in tier_lists for c in t}
    unknown = sorted(named - set(all_columns))
    if unknown:
        raise ParameterError(f"Background knowledge names unknown column(s) {', '.join(map(str, unknown))}; the "
                             "columns are: "
                             + ", ".join(repr(c) for c in all_columns) + ".")
    ignored = sorted(named & dropped)
    if ignored:
        notes.append(f"Background knowledge about dropped column(s) {', '.join(map(str, ignored))} was ignored.")
    index = {c: i for i, c in enumerate(columns)}
    tier = [-1] * len(columns)
    seen: dict[str, int] = {}
    for k, t in enumerate(tier_lists):
        for c in t:
            if c in seen and seen[c] != k:
                raise ParameterError(f"tiers: column {c!r} is in tier {seen[c]} and in tier {k}; "
                                     "a column belongs to one tier at most.")
            seen[c] = k
            if c in index:
                tier[index[c]] = k
    req_i = {(index[a], index[b]) for a, b in req if a in index and b in index}
    forb_i = {(index[a], index[b]) for a, b in forb if a in index and b in index}
    know = _Knowledge(frozenset(req_i), frozenset(forb_i), tuple(tier))
    for i, j in sorted(req_i):
        a, b = columns[i], columns[j]
        if (j, i) in req_i:
            raise ParameterError(f"required contains both ({a!r}, {b!r}) and ({b!r}, {a!r}); "
                                 "that would be a cycle.")
        if (i, j) in forb_i:
            raise ParameterError(f"The edge ({a!r}, {b!r}) is both required and forbidden.")
        if know.forbids(i, j):
            raise ParameterError(f"The required edge ({a!r}, {b!r}) points from tier {tier[i]} back to "
                                 f"tier {tier[j]}; tiers only allow edges forward.")
    return know


def _is_discrete(X: np.ndarray) -> bool:
    if X.size == 0:
        return False
    if not np.all(X == np.round(X)):
        return False
    return all(len(np.unique(X[:, j])) <= MAX_DISCRETE_LEVELS for j in range(X.shape[1]))


def _prepare(data: pd.DataFrame, *, max_rows: int, seed: int, required: object, forbidden: object,
             tiers: object) -> _Prepared:
    X, all_columns = _numeric_matrix(data)
    notes: list[str] = []
    n_input = X.shape[0]
    X = np.where(np.isfinite(X), X, np.nan)
    bad_rows = np.isnan(X).any(axis=1)
    if bad_rows.any():
        notes.append(f"Dropped {int(bad_rows.sum()):,} of {n_input:,} rows with missing or infinite values.")
        X = X[~bad_rows]
    if X.shape[0] > max_rows:
        rng = np.random.default_rng(seed)
        keep = np.sort(rng.choice(X.shape[0], size=max_rows, replace=False))
        notes.append(f"Used a random subsample of {max_rows:,} of {X.shape[0]:,} rows (max_rows={max_rows:,}, "
                     f"seed={seed}).")
        X = X[keep]
    constant = [j for j in range(X.shape[1]) if X.shape[0] == 0 or np.all(X[:, j] == X[0, j])]
    if constant:
        names = [all_columns[j] for j in constant]
        notes.append(f"Dropped constant column(s) {', '.join(map(str, names))}: a column with one value carries no "
                     "information.")
        X = np.delete(X, constant, axis=1)
    columns = [c for j, c in enumerate(all_columns) if j not in set(constant)]
    if len(columns) < 2:
        raise DataError(f"Structure learning needs at least 2 usable columns (numeric, not constant); "
                        f"got {len(columns)}: {columns}.")
    need = _min_rows(len(columns))
    if X.shape[0] < need:
        raise DataError(f"Structure learning on {len(columns)} columns needs at least {need} complete rows; "
                        f"got {X.shape[0]}.")
    know = _knowledge(columns, all_columns, {all_columns[j] for j in constant}, required, forbidden, tiers,
                      notes)
    return _Prepared(np.ascontiguousarray(X, dtype=np.float64), columns, know, _is_discrete(X), notes, n_input)


def _resolve(prep: _Prepared, method: str, alpha: float, ci_test: str, score: str, seed: int) -> _Config:
    if ci_test == "auto":
        ci_test = "gsq" if prep.discrete else "fisherz"
    if score == "auto":
        score = "bdeu" if prep.discrete else "bic"
    needs_discrete = (method == "pc" and ci_test in ("chisq", "gsq")) or (method == "ges" and score == "bdeu")
    if needs_discrete and not prep.discrete:
        what = f"ci_test={ci_test!r}" if method == "pc" else f"score={score!r}"
        bad = [c for j, c in enumerate(prep.columns)
               if not np.all(prep.X[:, j] == np.round(prep.X[:, j]))
               or len(np.unique(prep.X[:, j])) > MAX_DISCRETE_LEVELS]
        raise ParameterError(f"{what} needs discrete columns (integer values, at most {MAX_DISCRETE_LEVELS} "
                             f"levels), but {', '.join(map(str, bad))} are not; use ci_test='fisherz' / score='bic'.")
    if method != "pc" or ci_test == "fisherz":
        if method != "ges" or score == "bic":
            _check_collinear(prep)
    return _Config(method, float(alpha), ci_test, score, int(seed))


def _check_collinear(prep: _Prepared) -> None:
    C = np.corrcoef(prep.X, rowvar=False)
    prep.corr = C
    w, v = np.linalg.eigh(C)
    if w[0] < 1e-10:
        involved = [prep.columns[j] for j in np.flatnonzero(np.abs(v[:, 0]) > 1e-3)]
        raise DataError(f"Columns {', '.join(map(str, involved))} are perfectly collinear (one is a linear function of the others); "
                        "drop one of them before structure learning.")


# --------------------------------------------------------------------------------------------
# PC
# --------------------------------------------------------------------------------------------

def _weighted_corr(Xc: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Correlation matrix of the rows of the centred matrix ``Xc`` repeated ``w`` times (weighted moments).

    This is the correlation matrix of a bootstrap resample without building the resample. A
    column that is constant in the resample gets correlation 0 with every other column.
    """
    m = w.sum()
    mu = w @ Xc / m
    S = (Xc.T * w) @ Xc / m - np.outer(mu, mu)
    d = np.sqrt(np.clip(np.diag(S), 0.0, None))
    flat = d <= 1e-12 * max(1.0, float(d.max(initial=0.0)))
    d[flat] = 1.0
    C = S / np.outer(d, d)
    C[flat, :] = 0.0
    C[:, flat] = 0.0
    np.fill_diagonal(C, 1.0)
    return np.clip(C, -1.0, 1.0)


def _fisherz_batch(C: np.ndarray, n: float):
    """A batched Fisher-z test on correlation matrix ``C`` (``n`` rows), same formula as causal-learn."""
    from scipy.special import erfc

    eps = np.finfo(float).eps

    def chunk(tests: np.ndarray) -> np.ndarray:
        k = tests.shape[1] - 2
        sub = C[tests[:, :, None], tests[:, None, :]]
        try:
            inv = np.linalg.inv(sub)
        except np.linalg.LinAlgError:
            inv = np.linalg.pinv(sub)
        r = -inv[:, 0, 1] / np.sqrt(np.abs(inv[:, 0, 0] * inv[:, 1, 1]))
        r = np.clip(np.nan_to_num(r), -1.0 + eps, 1.0 - eps)
        stat = math.sqrt(max(n - k - 3, 1.0)) * np.abs(np.arctanh(r))
        return erfc(stat / math.sqrt(2.0))

    def pvalues(tests: np.ndarray) -> np.ndarray:
        step = max(1, 2_000_000 // tests.shape[1] ** 2)  # bounds the stacked sub-matrices to ~16 MB
        return np.concatenate([chunk(tests[s:s + step]) for s in range(0, len(tests), step)])

    return pvalues


def _causallearn_batch(X: np.ndarray, test: str):
    from causallearn.utils.cit import CIT

    cit = CIT(X, test)

    def pvalues(tests: np.ndarray) -> np.ndarray:
        return np.array([cit(int(t[0]), int(t[1]), [int(s) for s in t[2:]]) for t in tests], dtype=float)

    return pvalues


def _skeleton(p: int, pvalues, alpha: float, know: _Knowledge) -> tuple[np.ndarray, dict]:
    """Stable PC skeleton (as causal-learn's ``skeleton_discovery`` with ``stable=True``).

    Returns the adjacency matrix and the separating sets {(i, j): set} (union over every set that
    separated the pair, from both sides, as causal-learn records them).
    """
    adj = ~np.eye(p, dtype=bool)
    sepset: dict[tuple[int, int], set[int]] = {}
    keep = {frozenset(e) for e in know.required}
    for i, j in know.forbidden:
        if (j, i) in know.forbidden:  # no adjacency allowed; no collider evidence either
            adj[i, j] = adj[j, i] = False
            sepset[(min(i, j), max(i, j))] = set(range(p))
    depth = -1
    while adj.sum(axis=1).max() - 1 > depth:
        depth += 1
        neigh = [np.flatnonzero(adj[x]) for x in range(p)]
        keys: dict[tuple[int, ...], int] = {}
        owner: list[list[int]] = []  # per (x, y) candidate: the indices of its tests
        pairs: list[tuple[int, int]] = []
        for x in range(p):
            for y in neigh[x]:
                y = int(y)
                if frozenset((x, y)) in keep:
                    continue
                others = [int(s) for s in neigh[x] if s != y]
                idx = []
                for S in combinations(others, depth):
                    key = (min(x, y), max(x, y), *S)
                    if key not in keys:
                        keys[key] = len(keys)
                    idx.append(keys[key])
                if idx:
                    pairs.append((x, y))
                    owner.append(idx)
        if not keys:
            continue
        tests = np.array(list(keys), dtype=np.intp).reshape(len(keys), depth + 2)
        indep = pvalues(tests) > alpha
        removed = set()
        for (x, y), idx in zip(pairs, owner, strict=True):
            hits = [k for k in idx if indep[k]]
            if hits:
                key = (min(x, y), max(x, y))
                removed.add(key)
                sep = sepset.setdefault(key, set())
                for k in hits:
                    sep.update(int(s) for s in tests[k, 2:])
        for x, y in removed:
            adj[x, y] = adj[y, x] = False
    return adj, sepset


def _background(columns: list[str], nodes: list, know: _Knowledge):
    if know.empty:
        return None
    from causallearn.utils.PCUtils.BackgroundKnowledge import BackgroundKnowledge

    bk = BackgroundKnowledge()
    for i, j in sorted(know.forbidden):
        bk.add_forbidden_by_node(nodes[i], nodes[j])
    for i, j in sorted(know.required):
        bk.add_required_by_node(nodes[i], nodes[j])
    for i, t in enumerate(know.tier):
        if t >= 0:
            bk.add_node_to_tier(nodes[i], int(t))
    return bk


def _orient_pc(columns: list[str], adj: np.ndarray, sepset: dict, know: _Knowledge) -> np.ndarray:
    """causal-learn's PC orientation (background knowledge, uc_sepset priority 2, Meek)."""
    from causallearn.graph.GraphClass import CausalGraph
    from causallearn.utils.PCUtils import Meek, UCSepset
    from causallearn.utils.PCUtils.BackgroundKnowledgeOrientUtils import orient_by_background_knowledge

    p = len(columns)
    cg = CausalGraph(p, columns)  # complete undirected graph; no CI test attached (nothing to deep-copy)
    nodes = cg.G.nodes
    for i, j in zip(*np.nonzero(np.triu(~adj, 1)), strict=True):
        cg.G.remove_edge(cg.G.get_edge(nodes[i], nodes[j]))
    for (i, j), s in sepset.items():
        cg.sepset[i, j] = [tuple(sorted(s))]
        cg.sepset[j, i] = [tuple(sorted(s))]
    bk = _background(columns, cg.G.nodes, know)
    if bk is not None:
        orient_by_background_knowledge(cg, bk)
    cg = UCSepset.uc_sepset(cg, 2, background_knowledge=bk)
    cg = Meek.meek(cg, background_knowledge=bk)
    return np.asarray(cg.G.graph)


def _decode(G: np.ndarray) -> tuple[set[tuple[int, int]], set[tuple[int, int]], int]:
    """causal-learn endpoint matrix -> (directed i->j, undirected (i<j), bidirected count)."""
    directed, undirected, bidirected = set(), set(), 0
    p = G.shape[0]
    for i in range(p):
        for j in range(i + 1, p):
            a, b = G[i, j], G[j, i]
            if a == 0 and b == 0:
                continue
            if a == -1 and b == 1:
                directed.add((i, j))
            elif a == 1 and b == -1:
                directed.add((j, i))
            else:  # -1/-1 undirected; 1/1 bidirected (conflicting colliders), shown as undirected
                undirected.add((i, j))
                bidirected += int(a == 1 and b == 1)
    return directed, undirected, bidirected


@dataclass
class _Found:
    directed: set[tuple[int, int]]
    undirected: set[tuple[int, int]]  # (i, j) with i < j
    notes: list[str] = field(default_factory=list)


def _run_pc(prep: _Prepared, cfg: _Config, X: np.ndarray | None, C: np.ndarray | None, n: float) -> _Found:
    p = len(prep.columns)
    if cfg.ci_test == "fisherz":
        if C is None:
            C = np.corrcoef(X, rowvar=False)
        pvalues = _fisherz_batch(C, n)
    else:
        pvalues = _causallearn_batch(X, cfg.ci_test)
    adj, sepset = _skeleton(p, pvalues, cfg.alpha, prep.knowledge)
    G = _orient_pc(prep.columns, adj, sepset, prep.knowledge)
    directed, undirected, bidirected = _decode(G)
    notes = []
    if bidirected:
        notes.append(f"{bidirected} edge(s) got conflicting collider orientations; they are listed as undirected.")
    if not prep.knowledge.empty:
        notes.append("PC: background knowledge applied through causal-learn's BackgroundKnowledge (required "
                     "pairs are never tested, so the skeleton keeps them).")
    return _Found(directed, undirected, notes)


# --------------------------------------------------------------------------------------------
# GES and LiNGAM (+ knowledge as post-processing)
# --------------------------------------------------------------------------------------------

def _adjacent(f: _Found, i: int, j: int) -> bool:
    return (i, j) in f.directed or (j, i) in f.directed or (min(i, j), max(i, j)) in f.undirected


def _meek(f: _Found, p: int, know: _Knowledge) -> None:
    """Meek's rules R1-R3 on ``f`` (in place), never orienting an edge against the knowledge."""
    changed = True
    while changed:
        changed = False
        for i, j in sorted(f.undirected):
            for u, v in ((i, j), (j, i)):
                if know.forbids(u, v):
                    continue
                others = [w for w in range(p) if w not in (u, v)]
                r1 = any((w, u) in f.directed and not _adjacent(f, w, v) for w in others)
                r2 = any((u, w) in f.directed and (w, v) in f.directed for w in others)
                r3 = False
                if not (r1 or r2):
                    cand = [w for w in others if (min(u, w), max(u, w)) in f.undirected and (w, v) in f.directed]
                    r3 = any(not _adjacent(f, a, b) for a, b in combinations(cand, 2))
                if r1 or r2 or r3:
                    f.undirected.discard((i, j))
                    f.directed.add((u, v))
                    changed = True
                    break


def _apply_knowledge_after(f: _Found, p: int, know: _Knowledge, columns: list[str], method: str) -> None:
    if know.empty:
        return
    changed: list[str] = []
    for i, j in sorted(f.directed):
        if know.forbids(i, j):
            f.directed.discard((i, j))
            if know.forbids(j, i):
                changed.append(f"dropped {columns[i]} → {columns[j]}")
            else:
                f.directed.add((j, i))
                changed.append(f"reversed {columns[i]} → {columns[j]}")
    for i, j in sorted(f.undirected):
        fij, fji = know.forbids(i, j), know.forbids(j, i)
        if fij and fji:
            f.undirected.discard((i, j))
            changed.append(f"dropped {columns[i]} — {columns[j]}")
        elif fij or fji or (i, j) in know.required or (j, i) in know.required:
            f.undirected.discard((i, j))
            u, v = (j, i) if (fij or (j, i) in know.required) else (i, j)
            f.directed.add((u, v))
            changed.append(f"oriented {columns[u]} → {columns[v]}")
    for i, j in sorted(know.required):
        if (i, j) in f.directed:
            continue
        if (j, i) in f.directed:
            f.directed.discard((j, i))
            changed.append(f"reversed {columns[j]} → {columns[i]}")
        else:
            changed.append(f"added {columns[i]} → {columns[j]}")
        f.directed.add((i, j))
    before = set(f.directed)
    if method == "ges":
        _meek(f, p, know)
    oriented = len(f.directed - before)
    what = "; ".join(changed) if changed else "nothing to change"
    f.notes.append(f"{method.upper()}: background knowledge applied after the search ({what}"
                   + (f"; Meek's rules then oriented {oriented} more edge(s)" if oriented else "") + ").")


def _run_ges(prep: _Prepared, cfg: _Config, X: np.ndarray | None, C: np.ndarray | None, n: float) -> _Found:
    import warnings

    from causallearn.search.ScoreBased.GES import ges

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if cfg.score == "bic":
            if C is None:
                C = np.corrcoef(X, rowvar=False)
            rec = ges(None, score_func="local_score_BIC", cov=C, n=int(round(n)), node_names=prep.columns)
        else:
            rec = ges(X, score_func="local_score_BDeu", node_names=prep.columns)
    directed, undirected, _ = _decode(np.asarray(rec["G"].graph))
    f = _Found(directed, undirected)
    _apply_knowledge_after(f, len(prep.columns), prep.knowledge, prep.columns, "ges")
    return f


def _run_lingam(prep: _Prepared, cfg: _Config, X: np.ndarray, seed: int) -> _Found:
    from causallearn.search.FCMBased.lingam import DirectLiNGAM

    know, p = prep.knowledge, len(prep.columns)
    pk = None
    notes = ["LiNGAM assumes linear relations and non-Gaussian noise; with Gaussian noise its orientations "
             "are arbitrary."]
    if prep.discrete:
        notes.append("LiNGAM assumes continuous variables, but every column here is discrete.")
    tiers_used = any(t >= 0 for t in know.tier)
    if tiers_used or know.required:
        pk = -np.ones((p, p))
        for a in range(p):
            for b in range(p):
                if a != b and know.tier and know.tier[a] >= 0 and know.tier[b] >= 0 and know.tier[a] > know.tier[b]:
                    pk[b, a] = 0  # pk[to, from] = 0: no directed path from a to b
        for a, b in know.required:
            pk[b, a] = 1  # a directed path from a to b
        notes.append("LiNGAM: tiers and required edges given to DirectLiNGAM as prior_knowledge (no directed "
                     "path from a later tier to an earlier one; a path along each required edge).")
    model = DirectLiNGAM(random_state=seed, prior_knowledge=pk).fit(X)
    B = np.asarray(model.adjacency_matrix_)  # B[i, j] != 0: j -> i
    directed = {(int(j), int(i)) for i, j in zip(*np.nonzero(B), strict=True)}
    f = _Found(directed, set(), notes)
    _apply_knowledge_after(f, p, know, prep.columns, "lingam")
    return f


def _search(prep: _Prepared, cfg: _Config, *, X: np.ndarray | None = None, C: np.ndarray | None = None,
            n: float | None = None, seed: int = 0) -> _Found:
    """One search on ``X`` (rows) or, for the Gaussian methods, on correlation matrix ``C`` of ``n`` rows."""
    if n is None:
        n = float(X.shape[0])
    if cfg.method == "pc":
        return _run_pc(prep, cfg, X, C, n)
    if cfg.method == "ges":
        return _run_ges(prep, cfg, X, C, n)
    return _run_lingam(prep, cfg, X, seed)


def _uses_corr(cfg: _Config) -> bool:
    return (cfg.method == "pc" and cfg.ci_test == "fisherz") or (cfg.method == "ges" and cfg.score == "bic")


# --------------------------------------------------------------------------------------------
# Front door
# --------------------------------------------------------------------------------------------

def _setup(data, method, alpha, ci_test, score, required, forbidden, tiers, max_rows, seed):
    _check_params(method, alpha, ci_test, score, max_rows, seed)
    prep = _prepare(data, max_rows=int(max_rows), seed=int(seed), required=required, forbidden=forbidden,
                    tiers=tiers)
    cfg = _resolve(prep, method, alpha, ci_test, score, int(seed))
    return prep, cfg


def _params(prep: _Prepared, cfg: _Config, max_rows: int, required, forbidden, tiers) -> dict[str, Any]:
    params: dict[str, Any] = {"method": cfg.method}
    if cfg.method == "pc":
        params |= {"alpha": cfg.alpha, "ci_test": cfg.ci_test}
    if cfg.method == "ges":
        params["score"] = cfg.score
    params |= {
        "n_rows": int(prep.X.shape[0]), "n_input_rows": int(prep.n_input_rows), "columns": list(prep.columns),
        "max_rows": int(max_rows), "seed": cfg.seed,
        "required": [list(map(str, p)) for p in _pairs(required, "required")],
        "forbidden": [list(map(str, p)) for p in _pairs(forbidden, "forbidden")],
        "tiers": [[str(c) for c in t] for t in tiers] if tiers is not None else None,
    }
    return params


def _edge_note(cfg: _Config) -> str:
    if cfg.method == "pc":
        return f"learned by PC ({cfg.ci_test}, alpha={cfg.alpha:g})"
    if cfg.method == "ges":
        return f"learned by GES ({cfg.score.upper()})"
    return "learned by DirectLiNGAM"


def discover(
    data: pd.DataFrame,
    *,
    method: Method = "pc",
    alpha: float = 0.05,
    ci_test: CITest = "fisherz",
    score: Score = "auto",
    required: Iterable[Pair] = (),
    forbidden: Iterable[Pair] = (),
    tiers: Sequence[Sequence[str]] | None = None,
    max_rows: int = 100_000,
    seed: int = 0,
) -> Discovery:
    """Learn a causal graph over the numeric columns of ``data``.

    Parameters
    ----------
    data : DataFrame
        Numeric columns (booleans are used as 0/1). Rows with a missing or infinite value are
        dropped, constant columns are dropped, and above ``max_rows`` rows a random subsample is
        used; each is reported in ``notes``.
    method : {'pc', 'ges', 'lingam'}
    alpha : float in (0, 1)
        Significance level of PC's CI tests.
    ci_test : {'fisherz', 'chisq', 'gsq', 'auto'}
        PC's test. 'auto' picks 'gsq' when every column is discrete (integers, at most
        :data:`MAX_DISCRETE_LEVELS` levels), else 'fisherz'.
    score : {'auto', 'bic', 'bdeu'}
        GES's score; 'auto' picks 'bdeu' for all-discrete data, else 'bic'.
    required, forbidden : iterable of (source, target) column pairs
    tiers : list of lists of column names, optional
        Temporal tiers: no edge from a later tier to an earlier one.
    max_rows : int >= 10
    seed : int >= 0
        Seeds the row subsample and DirectLiNGAM.

    Returns
    -------
    Discovery

    Raises
    ------
    ParameterError
        Unknown ``method`` / ``ci_test`` / ``score``, ``alpha`` or ``max_rows`` out of range, a
        non-numeric column, a discrete test on continuous columns, malformed or contradictory
        background knowledge, or knowledge naming an unknown column.
    DataError
        Fewer than 2 usable columns, too few complete rows (at least ``max(10, columns + 4)``), or
        perfectly collinear columns (Fisher-z, BIC and LiNGAM need a non-singular correlation matrix).

    Examples
    --------
    >>> res = discover(df, method="pc", tiers=[["user_activity"], ["exposed"], ["purchased"]])  # doctest: +SKIP
    >>> res.edges  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    prep, cfg = _setup(data, method, alpha, ci_test, score, required, forbidden, tiers, max_rows, seed)
    found = _search(prep, cfg, X=prep.X, C=prep.corr if _uses_corr(cfg) else None, seed=cfg.seed)
    notes = prep.notes + found.notes
    graph = nx.DiGraph()
    for c in prep.columns:
        graph.add_node(c, role="variable", latent=False, column=c, description="")
    note = _edge_note(cfg)
    cols = prep.columns
    for i, j in sorted(found.directed):
        graph.add_edge(cols[i], cols[j], origin="learned", confidence=None, note=note)
    if not nx.is_directed_acyclic_graph(graph):
        cycle = [e[0] for e in nx.find_cycle(graph)]
        notes.append("The oriented edges contain a directed cycle (" + " → ".join(cycle + cycle[:1])
                     + "); orient or remove one of its edges before using the graph.")
    undirected = [frozenset((cols[i], cols[j])) for i, j in sorted(found.undirected)]
    rows = [(cols[i], cols[j], True) for i, j in found.directed] + [(cols[i], cols[j], False)
                                                                     for i, j in found.undirected]
    rows.sort(key=lambda r: (cols.index(r[0]), cols.index(r[1])))
    edges = pd.DataFrame(rows, columns=["source", "target", "directed"]).astype({"directed": bool})
    edges["confidence"] = np.nan
    return Discovery(graph, undirected, edges, cfg.method, _params(prep, cfg, max_rows, required, forbidden, tiers),
                     notes, time.perf_counter() - t0)


# --------------------------------------------------------------------------------------------
# Stability (bootstrap)
# --------------------------------------------------------------------------------------------

def _resample_run(prep: _Prepared, cfg: _Config, Xc: np.ndarray | None, m: int, replace: bool,
                  seed_seq: np.random.SeedSequence) -> tuple[set, set]:
    rng = np.random.default_rng(seed_seq)
    n = prep.X.shape[0]
    if replace:
        idx = rng.integers(0, n, size=m)
    else:
        idx = rng.choice(n, size=m, replace=False)
    if Xc is not None:  # Gaussian methods: only the correlation matrix of the resample is needed
        w = np.bincount(idx, minlength=n).astype(np.float64)
        found = _search(prep, cfg, C=_weighted_corr(Xc, w), n=float(m))
    else:
        found = _search(prep, cfg, X=prep.X[np.sort(idx)], seed=int(rng.integers(2**31)))
    return found.directed, found.undirected


def _resample_chunk(prep: _Prepared, cfg: _Config, Xc, m, replace, seeds) -> list[tuple[set, set]]:
    return [_resample_run(prep, cfg, Xc, m, replace, s) for s in seeds]


def stability(
    data: pd.DataFrame,
    *,
    method: Method = "pc",
    n_resamples: int = 50,
    sample_frac: float = 1.0,
    replace: bool | None = None,
    seed: int = 0,
    n_jobs: int = 1,
    **kw: Any,
) -> pd.DataFrame:
    """Edge frequencies of ``method`` over bootstrap resamples of ``data``.

    Parameters
    ----------
    data, method
        As in :func:`discover`; ``**kw`` takes :func:`discover`'s other keywords (``alpha``,
        ``ci_test``, ``score``, ``required``, ``forbidden``, ``tiers``, ``max_rows``).
    n_resamples : int >= 2
    sample_frac : float in (0, 1]
        Resample size as a fraction of the (prepared) rows.
    replace : bool, optional
        With replacement (bootstrap) or without (subsampling). Default: bootstrap when
        ``sample_frac == 1``, subsampling otherwise.
    seed : int
        Seeds the resamples (resample k uses child k of ``SeedSequence(seed)``), so the result does
        not depend on ``n_jobs``.
    n_jobs : int
        Worker processes (-1: all cores). PC with Fisher-z and GES with BIC only need each
        resample's correlation matrix and run fast in one process.

    Returns
    -------
    DataFrame
        One row per pair of columns that was adjacent in at least one resample: ``source``,
        ``target`` (oriented so that ``freq_directed >= freq_reverse``), ``freq_directed``
        (share of resamples with source → target), ``freq_reverse`` (target → source),
        ``freq_undirected`` (source — target), ``freq_any`` (adjacent at all; the sum of the
        three). Sorted by ``freq_any`` then ``freq_directed``, descending. ``attrs`` holds
        ``method``, ``params``, ``n_resamples``, ``resample_size``, ``replace``, ``notes``,
        ``seconds``.

    Raises
    ------
    ParameterError, DataError
        As :func:`discover`, and for ``n_resamples`` / ``sample_frac`` / ``n_jobs`` out of range.
    """
    t0 = time.perf_counter()
    allowed = {"alpha", "ci_test", "score", "required", "forbidden", "tiers", "max_rows"}
    unknown = sorted(set(kw) - allowed)
    if unknown:
        raise ParameterError(f"stability() got unknown keyword(s) {unknown}; it accepts: {sorted(allowed)}.")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 2:
        raise out_of_range("n_resamples", n_resamples, "an integer >= 2")
    if isinstance(sample_frac, bool) or not isinstance(sample_frac, (int, float)) or not 0 < sample_frac <= 1:
        raise out_of_range("sample_frac", sample_frac, "a number in (0, 1]")
    if replace is None:
        replace = sample_frac == 1
    if not replace and sample_frac == 1:
        raise out_of_range("sample_frac", sample_frac, "below 1 when replace=False (else every subsample is "
                                                       "the whole data)")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0 or n_jobs < -1:
        raise out_of_range("n_jobs", n_jobs, "an integer >= 1, or -1 for all cores")
    opts = {"alpha": 0.05, "ci_test": "fisherz", "score": "auto", "required": (), "forbidden": (), "tiers": None,
            "max_rows": 100_000} | kw
    prep, cfg = _setup(data, method, opts["alpha"], opts["ci_test"], opts["score"], opts["required"],
                       opts["forbidden"], opts["tiers"], opts["max_rows"], seed)
    n = prep.X.shape[0]
    m = int(round(sample_frac * n))
    if m < _min_rows(len(prep.columns)):
        raise DataError(f"A resample of {m} rows (sample_frac={sample_frac} of {n}) is too small; it needs at "
                        f"least {_min_rows(len(prep.columns))}.")
    Xc = prep.X - prep.X.mean(axis=0) if _uses_corr(cfg) else None
    seeds = np.random.SeedSequence(int(seed)).spawn(int(n_resamples))
    workers = (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)
    workers = max(1, min(workers, int(n_resamples)))
    if workers == 1:
        results = _resample_chunk(prep, cfg, Xc, m, replace, seeds)
    else:
        chunks = [seeds[k::workers] for k in range(workers)]
        with ProcessPoolExecutor(max_workers=workers) as ex:
            futures = [ex.submit(_resample_chunk, prep, cfg, Xc, m, replace, c) for c in chunks]
            parts = [f.result() for f in futures]
        results = [None] * int(n_resamples)
        for k, part in enumerate(parts):
            results[k::workers] = part
    p = len(prep.columns)
    fwd, und = np.zeros((p, p)), np.zeros((p, p))
    for directed, undirected in results:
        for i, j in directed:
            fwd[i, j] += 1  # fwd[i, j]: i -> j
        for i, j in undirected:
            und[i, j] += 1
    rows = []
    cols = prep.columns
    for i in range(p):
        for j in range(i + 1, p):
            a, b, u = fwd[i, j], fwd[j, i], und[i, j]
            if a + b + u == 0:
                continue
            s, t = (i, j) if a >= b else (j, i)
            rows.append((cols[s], cols[t], max(a, b), min(a, b), u, a + b + u))
    df = pd.DataFrame(rows, columns=["source", "target", "freq_directed", "freq_reverse", "freq_undirected",
                                     "freq_any"])
    for c in ("freq_directed", "freq_reverse", "freq_undirected", "freq_any"):
        df[c] = df[c].astype(float) / n_resamples
    df = df.sort_values(["freq_any", "freq_directed"], ascending=False, kind="stable").reset_index(drop=True)
    df.attrs.update({
        "method": cfg.method, "params": _params(prep, cfg, opts["max_rows"], opts["required"], opts["forbidden"],
                                                opts["tiers"]),
        "n_resamples": int(n_resamples), "resample_size": m, "replace": bool(replace), "notes": list(prep.notes),
        "seconds": time.perf_counter() - t0,
    })
    return df


def suggestions(stability_df: pd.DataFrame, threshold: float = 0.5) -> list[dict[str, Any]]:
    """Edges worth proposing to the user, from a :func:`stability` table.

    A pair is suggested when ``freq_any >= threshold``: as ``'directed'`` source → target with
    ``confidence = freq_directed`` when ``freq_directed >= threshold``, else as ``'undirected'`` with
    ``confidence = freq_any`` (the user picks the direction). Accepted suggestions become edges with
    ``origin='learned'`` and that confidence.

    Returns
    -------
    list of dict
        ``{source, target, confidence, orientation}``, by descending confidence.

    Raises
    ------
    ParameterError
        ``threshold`` outside (0, 1] or a table without the :func:`stability` columns.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
        raise out_of_range("threshold", threshold, "a number in (0, 1]")
    need = ["source", "target", "freq_directed", "freq_reverse", "freq_undirected", "freq_any"]
    if not isinstance(stability_df, pd.DataFrame) or any(c not in stability_df.columns for c in need):
        raise ParameterError("stability_df must be the DataFrame returned by stability(), with columns "
                             + ", ".join(need) + ".")
    out = []
    for r in stability_df.itertuples(index=False):
        if r.freq_any < threshold:
            continue
        if r.freq_directed >= threshold:
            out.append({"source": r.source, "target": r.target, "confidence": float(r.freq_directed),
                        "orientation": "directed"})
        else:
            out.append({"source": r.source, "target": r.target, "confidence": float(r.freq_any),
                        "orientation": "undirected"})
    out.sort(key=lambda d: -d["confidence"])
    return out


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------

def _states(graph: nx.DiGraph, undirected: Iterable[Iterable[str]], param: str) -> dict[frozenset, tuple | None]:
    """pair -> (u, v) for u -> v, or None for undirected. Opposite edge pairs count as undirected."""
    if not isinstance(graph, nx.DiGraph):
        raise ParameterError(f"{param} must be a networkx.DiGraph, got {type(graph).__name__}.")
    out: dict[frozenset, tuple | None] = {}
    for u, v in graph.edges:
        if u == v:
            continue
        key = frozenset((u, v))
        out[key] = None if graph.has_edge(v, u) else (u, v)
    for pair in undirected:
        key = frozenset(pair)
        if len(key) != 2:
            raise ParameterError(f"undirected edges must be pairs of two nodes; got {set(pair)!r}.")
        out[key] = None
    return out


def dag_to_cpdag(dag: nx.DiGraph) -> tuple[nx.DiGraph, list[frozenset[str]]]:
    """The CPDAG (essential graph) of ``dag``: its compelled edges and its reversible (undirected) ones.

    Returns ``(graph of the compelled edges, list of undirected pairs)``, the same representation as
    :class:`Discovery`. Raises ParameterError when ``dag`` has a directed cycle.
    """
    if not isinstance(dag, nx.DiGraph) or not nx.is_directed_acyclic_graph(dag):
        raise ParameterError("dag_to_cpdag needs an acyclic networkx.DiGraph.")
    nodes = list(dag.nodes)
    index = {v: k for k, v in enumerate(nodes)}
    p = len(nodes)
    f = _Found(set(), set())
    for u, v in dag.edges:
        i, j = index[u], index[v]
        f.undirected.add((min(i, j), max(i, j)))
    for v in dag.nodes:  # v-structures u -> v <- w with u, w not adjacent
        parents = list(dag.predecessors(v))
        for a, b in combinations(parents, 2):
            if not dag.has_edge(a, b) and not dag.has_edge(b, a):
                for u in (a, b):
                    i, j = index[u], index[v]
                    f.undirected.discard((min(i, j), max(i, j)))
                    f.directed.add((i, j))
    _meek(f, p, _Knowledge(tier=tuple([-1] * p)))
    g = nx.DiGraph()
    g.add_nodes_from(dag.nodes(data=True))
    g.add_edges_from((nodes[i], nodes[j], dag.edges[nodes[i], nodes[j]]) for i, j in sorted(f.directed))
    return g, [frozenset((nodes[i], nodes[j])) for i, j in sorted(f.undirected)]


def shd(learned: nx.DiGraph, truth: nx.DiGraph, *, undirected: Iterable[Iterable[str]] = (),
        truth_undirected: Iterable[Iterable[str]] = (), truth_as_cpdag: bool = False) -> int:
    """Structural Hamming distance: the number of node pairs whose edge differs.

    Each pair counts once, whether its edge is missing, extra, reversed, or directed in one graph
    and undirected in the other. ``undirected`` lists the learned graph's undirected edges
    (:attr:`Discovery.undirected`); a pair of opposite edges also counts as one undirected edge.
    With ``truth_as_cpdag=True`` a DAG ``truth`` is first replaced by its CPDAG (fair to PC and GES,
    which cannot orient reversible edges).

    >>> import networkx as nx
    >>> shd(nx.DiGraph([("a", "b")]), nx.DiGraph([("b", "a"), ("b", "c")]))
    2
    """
    if truth_as_cpdag:
        truth, truth_undirected = dag_to_cpdag(truth)
    a = _states(learned, undirected, "learned")
    b = _states(truth, truth_undirected, "truth")
    return sum(1 for k in set(a) | set(b) if k not in a or k not in b or a[k] != b[k])


def edge_precision_recall(learned: nx.DiGraph, truth: nx.DiGraph, *, undirected: Iterable[Iterable[str]] = (),
                          truth_undirected: Iterable[Iterable[str]] = ()) -> dict[str, float]:
    """Adjacency and arrowhead precision / recall of ``learned`` against ``truth``.

    Adjacency: a learned adjacency (directed or undirected) is correct when the two nodes are
    adjacent in ``truth``. Arrowhead: each directed edge u -> v puts an arrowhead at v; it is correct
    when ``truth`` has u -> v. Undirected edges carry no arrowhead. A ratio with a zero denominator
    is NaN.

    Returns
    -------
    dict
        ``adjacency_precision``, ``adjacency_recall``, ``arrowhead_precision``, ``arrowhead_recall``,
        and the counts ``learned_adjacencies``, ``true_adjacencies``, ``learned_arrowheads``,
        ``true_arrowheads``.
    """
    a = _states(learned, undirected, "learned")
    b = _states(truth, truth_undirected, "truth")
    adj_tp = len(set(a) & set(b))
    arr_a = {v for v in a.values() if v is not None}
    arr_b = {v for v in b.values() if v is not None}
    arr_tp = len(arr_a & arr_b)

    def ratio(x: int, y: int) -> float:
        return x / y if y else float("nan")

    return {
        "adjacency_precision": ratio(adj_tp, len(a)), "adjacency_recall": ratio(adj_tp, len(b)),
        "arrowhead_precision": ratio(arr_tp, len(arr_a)), "arrowhead_recall": ratio(arr_tp, len(arr_b)),
        "learned_adjacencies": len(a), "true_adjacencies": len(b),
        "learned_arrowheads": len(arr_a), "true_arrowheads": len(arr_b),
    }
