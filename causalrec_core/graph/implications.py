"""Testable implications of a causal DAG: the conditional independences it implies among
observed variables, and statistical tests of those independences on a dataset.

- :func:`implied_independences` lists one independence statement per pair of non-adjacent
  observed nodes that the graph can separate.
- :func:`test_implications` tests them on a ``pandas.DataFrame`` (Fisher-z partial correlation
  for continuous variables, stratified chi-square or G² for discrete ones), corrects for
  multiple testing and gives a plain-language verdict.

A graph that passes is *consistent* with the data, not proven: other graphs may imply the same
independences, and a test with little data has little power.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import networkx as nx
import numpy as np
import pandas as pd
from scipy import stats

from causalrec_core.errors import ParameterError, invalid_choice, out_of_range
from causalrec_core.graph.model import observed_nodes, require_dag

__all__ = ["SELECTED_TABLES", "Implication", "ImplicationTests", "format_p_value", "implied_independences",
           "selection_caveat", "test_implications"]

Method = Literal["auto", "partial_correlation", "chi2", "g2"]
Correction = Literal["holm", "bh", "none"]
METHODS: tuple[str, ...] = ("auto", "partial_correlation", "chi2", "g2")
CORRECTIONS: tuple[str, ...] = ("holm", "bh", "none")
MAX_ROWS = 200_000          # larger data are subsampled (with the seed) to this many rows
MAX_DISCRETE_LEVELS = 10    # a column with at most this many distinct values counts as discrete
COLUMNS = ["x", "y", "given", "test", "statistic", "dof", "p_value", "p_adjusted", "rejected", "n", "note"]


@dataclass(frozen=True, order=True)
class Implication:
    """The statement ``x ⟂ y | given`` (``x`` sorts before ``y`` by name; ``given`` sorted)."""

    x: Hashable
    y: Hashable
    given: tuple = ()

    def __str__(self) -> str:
        cond = f" | {', '.join(map(str, self.given))}" if self.given else ""
        return f"{self.x} ⟂ {self.y}{cond}"


def _implication(a: Hashable, b: Hashable, given) -> Implication:
    a, b = sorted((a, b), key=str)
    return Implication(a, b, tuple(sorted(given, key=str)))


def implied_independences(g: nx.DiGraph) -> list[Implication]:
    """Return the conditional independences implied by ``g`` among its observed nodes.

    Without latent nodes this is the ordered local Markov property: for each pair of
    non-adjacent nodes, the later one (in a topological order that breaks ties by name) is
    independent of the earlier one given its parents. These statements together imply every
    other independence of the DAG. With latent nodes, each pair of non-adjacent observed nodes
    gets a minimal d-separating set of observed nodes when one exists
    (``nx.find_minimal_d_separator`` restricted to the observed nodes); pairs that no observed
    set separates (e.g. two children of a latent node) imply nothing.

    Returns
    -------
    list of Implication
        One statement per unordered pair, sorted by (x, y).

    Raises
    ------
    GraphError
        The graph has a cycle.

    Examples
    --------
    >>> [str(i) for i in implied_independences(nx.DiGraph([("A", "B"), ("B", "C")]))]
    ['A ⟂ C | B']
    """
    if not isinstance(g, nx.DiGraph):
        raise ParameterError(f"graph={type(g).__name__} is invalid: it must be a networkx.DiGraph.")
    require_dag(g)
    observed = observed_nodes(g)
    out: list[Implication] = []
    if len(observed) == g.number_of_nodes():
        order = list(nx.lexicographical_topological_sort(g, key=str))
        for i, later in enumerate(order):
            parents = set(g.pred[later])
            for earlier in order[:i]:
                if earlier not in parents and not g.has_edge(later, earlier):
                    out.append(_implication(earlier, later, parents))
    else:
        nodes = sorted(observed, key=str)
        for i, a in enumerate(nodes):
            for b in nodes[i + 1:]:
                if g.has_edge(a, b) or g.has_edge(b, a):
                    continue
                sep = nx.find_minimal_d_separator(g, a, b, restricted=observed - {a, b})
                if sep is not None:
                    out.append(_implication(a, b, sep))
    return sorted(out, key=lambda imp: (str(imp.x), str(imp.y)))


class ImplicationTests(NamedTuple):
    """The result of :func:`test_implications`: one row per test, and the overall verdict."""

    table: pd.DataFrame
    verdict: dict[str, Any]


# --------------------------------------------------------------------------------------------
# the tests
# --------------------------------------------------------------------------------------------

def _adjust(p: np.ndarray, correction: str) -> np.ndarray:
    """Holm (family-wise) or Benjamini–Hochberg (false discovery rate) adjusted p-values."""
    m = len(p)
    if m == 0 or correction == "none":
        return p.copy()
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if correction == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * ranked)
    else:  # bh
        adj = np.minimum.accumulate(m / np.arange(m, 0, -1) * ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


def _fisher_z(frame: pd.DataFrame) -> tuple[float, float, float, str]:
    """Partial correlation of the first two columns given the rest; (z, dof, p, note)."""
    values = frame.to_numpy(dtype=float)
    n, k = values.shape
    dof = n - (k - 2) - 3
    if dof < 1:
        raise _Skip(f"too few rows ({n}) for {k - 2} conditioning variables")
    sd = values.std(axis=0)
    if np.any(sd == 0):
        const = [str(c) for c, s in zip(frame.columns, sd, strict=True) if s == 0]
        raise _Skip(f"column(s) {', '.join(const)} are constant")
    corr = np.corrcoef(values, rowvar=False)
    prec = np.linalg.pinv(corr)
    r = -prec[0, 1] / math.sqrt(prec[0, 0] * prec[1, 1])
    r = min(max(r, -1 + 1e-12), 1 - 1e-12)
    z = math.sqrt(dof) * math.atanh(r)
    p = 2 * stats.norm.sf(abs(z))
    return z, float(dof), float(p), f"partial correlation {r:+.3f}"


def _stratified(codes: pd.DataFrame, kind: str) -> tuple[float, float, float, str]:
    """Chi-square or G² test of the first two (integer-coded) columns within each stratum of the
    rest, summed over strata; (statistic, dof, p, note)."""
    x = codes.iloc[:, 0].to_numpy()
    y = codes.iloc[:, 1].to_numpy()
    if codes.shape[1] > 2:
        s = codes.groupby(list(codes.columns[2:]), sort=False).ngroup().to_numpy()
    else:
        s = np.zeros(len(codes), dtype=np.int64)
    ni, nj, ns = int(x.max()) + 1, int(y.max()) + 1, int(s.max()) + 1
    counts = np.bincount((s * ni + x) * nj + y, minlength=ns * ni * nj).reshape(ns, ni, nj).astype(float)
    n_s = counts.sum(axis=(1, 2))
    rows, cols = counts.sum(axis=2), counts.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = rows[:, :, None] * cols[:, None, :] / n_s[:, None, None]
        if kind == "chi2":
            terms = np.where(expected > 0, (counts - expected) ** 2 / expected, 0.0)
        else:
            terms = np.where(counts > 0, 2.0 * counts * np.log(counts / expected), 0.0)
    stat = float(np.nansum(terms))
    dof = float(np.sum(np.maximum((rows > 0).sum(axis=1) - 1, 0) * np.maximum((cols > 0).sum(axis=1) - 1, 0)))
    p = float(stats.chi2.sf(stat, dof)) if dof > 0 else 1.0
    note = f"{ns} strata" if codes.shape[1] > 2 else ""
    if dof == 0:
        note = (note + "; " if note else "") + "no stratum has two levels of both variables"
    return stat, dof, p, note


def format_p_value(p: object, digits: int = 3) -> str:
    """A p-value as text: ``digits`` significant digits (scientific notation below 1e-4), and
    ``"< 1e-300"`` for one that underflowed to 0 (never a bare ``0``); "" when missing."""
    try:
        x = float(p)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    if math.isnan(x):
        return ""
    if x < 1e-300:
        return "< 1e-300"
    return f"{x:.{digits}g}"


def _fmt_p(p: float) -> str:
    text = format_p_value(p, 2)
    return f" {text}" if text.startswith("<") else f"={text}"


class _Skip(Exception):
    """Internal: an implication cannot be tested; the message says why."""


def _is_discrete(col: pd.Series) -> bool:
    if isinstance(col.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(col):
        return True
    if not pd.api.types.is_numeric_dtype(col):
        return True
    return col.nunique(dropna=True) <= MAX_DISCRETE_LEVELS


def _codes(col: pd.Series, bins: int | None) -> np.ndarray:
    if bins is not None:
        binned = pd.qcut(col.astype(float), bins, labels=False, duplicates="drop")
        if not binned.isna().any():  # (a column constant within the test's rows cannot be cut)
            return binned.to_numpy(dtype=np.int64)
    return pd.factorize(col, sort=True)[0].astype(np.int64)


def _run_test(frame: pd.DataFrame, names: list[str], discrete: dict[str, bool], method: str) -> dict:
    """One test on the complete rows of ``frame`` (columns x, y, given...)."""
    kinds = [discrete[c] for c in names]
    numeric = all(pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]) for c in names)
    notes: list[str] = []
    test = method
    if method == "auto":
        test = "chi2" if any(kinds) else "partial_correlation"
    if test == "partial_correlation":
        if not numeric:
            bad = [c for c in names if not pd.api.types.is_numeric_dtype(frame[c])]
            raise _Skip(f"partial correlation needs numeric columns; {', '.join(bad)} is not numeric")
        stat, dof, p, note = _fisher_z(frame.astype(float))
        return {"test": test, "statistic": stat, "dof": dof, "p_value": p, "note": note}
    binned = [c for c, d in zip(names, kinds, strict=True) if not d]
    levels = 1
    for c, d in zip(names[2:], kinds[2:], strict=True):
        levels *= frame[c].nunique() if d else 4
    bins = 2 if levels > max(len(frame) // 20, 1) else 4
    if binned:
        how = "binarised at the median" if bins == 2 else f"quantile-binned into {bins} bins"
        notes.append(f"continuous {', '.join(binned)} {how}" + (" (mixed data)" if method == "auto" else ""))
        if set(binned) & set(names[2:]):
            notes.append("a binned conditioning variable leaves residual dependence, so a rejection here is "
                         "weaker evidence")
    codes = pd.DataFrame({c: _codes(frame[c], None if d else bins) for c, d in zip(names, kinds, strict=True)})
    stat, dof, p, note = _stratified(codes, test)
    if note:
        notes.append(note)
    return {"test": test, "statistic": stat, "dof": dof, "p_value": p, "note": "; ".join(notes)}


def _column_of(g: nx.DiGraph, node: Hashable, columns: pd.Index) -> str | None:
    col = g.nodes[node].get("column")
    if col is not None:
        return col if col in columns else None
    return node if node in columns else None


#: unit tables whose rows exist only for user-item pairs with logged activity (selected, not sampled)
SELECTED_TABLES: dict[str, str] = {
    "interactions": "user-item pairs with at least one event",
    "pairs": "user-item pairs with at least one logged event (exposure included)",
}


def selection_caveat(table: str) -> str | None:
    """What a rejected independence may mean on ``table`` when its rows are selected by the activity
    they record (None for a table that is not): being in the table depends on how active the user is
    and how popular the item is, so conditioning on membership (a collider) can make such variables
    dependent although the graph is right."""
    rows = SELECTED_TABLES.get(str(table))
    if rows is None:
        return None
    return (f"The {table} table holds only {rows}: being in it depends on the user's activity and the item's "
            "popularity (and on anything else that drives activity), so within it such variables can be dependent "
            "even when the graph is right — selection on a common effect. A rejected independence between them "
            "may come from that selection rather than a missing edge; it is evidence against the graph only for "
            "variables that do not drive which pairs are logged.")


def test_implications(g: nx.DiGraph, data: pd.DataFrame, *, alpha: float = 0.05, method: Method = "auto",
                      correction: Correction = "holm", max_tests: int = 200, seed: int = 0) -> ImplicationTests:
    """Test the graph's implied conditional independences on ``data``.

    Each node binds to a column through its ``column`` attribute, else through its own name.
    Each implication whose variables are all bound is tested on the rows complete in its columns:
    Fisher-z partial correlation when all are continuous; a chi-square (``"chi2"``) or G²
    (``"g2"``) test of independence within each stratum of the conditioning variables when they
    are discrete. A column is discrete when it is boolean, categorical, text, or has at most
    10 distinct values. ``method="auto"`` picks partial correlation for all-continuous tests and
    chi-square otherwise; continuous columns in a chi-square/G² test are quantile-binned into 4
    bins (binarised at the median when the strata would be too thin), and the row says so.

    Parameters
    ----------
    g : networkx.DiGraph
        The causal DAG (latent nodes allowed; see :func:`implied_independences`).
    data : pandas.DataFrame
        The observations. More than 200,000 rows are subsampled with ``seed``.
    alpha : float
        Significance level for the adjusted p-values, in (0, 1).
    method : {'auto', 'partial_correlation', 'chi2', 'g2'}
    correction : {'holm', 'bh', 'none'}
        Holm controls the family-wise error rate, Benjamini–Hochberg the false discovery rate.
    max_tests : int
        Test at most this many implications (those with the smallest conditioning sets first).
    seed : int
        Seed of the subsample.

    Returns
    -------
    ImplicationTests
        ``table``: one row per test, columns x, y, given (names joined by ", "), test, statistic,
        dof, p_value, p_adjusted, rejected, n (complete rows used), note. ``verdict``: a dict
        with verdict ('consistent' | 'inconsistent' | 'untestable'), n_tests, n_rejected,
        alpha, correction, message (plain language), skipped (list of {implication, reason})
        and notes.

    Raises
    ------
    ParameterError
        Bad ``data``, ``alpha``, ``method``, ``correction``, ``max_tests`` or ``seed``.
    GraphError
        The graph has a cycle.
    """
    if not isinstance(data, pd.DataFrame):
        raise ParameterError(f"data={type(data).__name__} is invalid: it must be a pandas DataFrame.")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise out_of_range("alpha", alpha, "a number strictly between 0 and 1")
    if method not in METHODS:
        raise invalid_choice("method", method, METHODS)
    if correction not in CORRECTIONS:
        raise invalid_choice("correction", correction, CORRECTIONS)
    if isinstance(max_tests, bool) or not isinstance(max_tests, int) or max_tests < 1:
        raise out_of_range("max_tests", max_tests, "an integer >= 1")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise out_of_range("seed", seed, "an integer")
    implications = implied_independences(g)

    notes: list[str] = []
    if len(data) > MAX_ROWS:
        notes.append(f"The data have {len(data):,} rows; the tests use a random subsample of {MAX_ROWS:,} "
                     f"(seed={seed}).")
        data = data.sample(n=MAX_ROWS, random_state=seed)

    skipped: list[dict[str, str]] = []
    testable: list[tuple[Implication, list[str]]] = []
    for imp in implications:
        nodes = [imp.x, imp.y, *imp.given]
        cols = [_column_of(g, v, data.columns) for v in nodes]
        unbound = [str(v) for v, c in zip(nodes, cols, strict=True) if c is None]
        if unbound:
            skipped.append({"implication": str(imp),
                            "reason": f"no data column for {', '.join(unbound)}"})
        else:
            testable.append((imp, cols))
    testable.sort(key=lambda it: (len(it[0].given), str(it[0].x), str(it[0].y)))
    for imp, _ in testable[max_tests:]:
        skipped.append({"implication": str(imp), "reason": f"beyond max_tests={max_tests}"})
    testable = testable[:max_tests]

    discrete: dict[str, bool] = {}
    rows: list[dict[str, Any]] = []
    for imp, cols in testable:
        if len(set(cols)) < len(cols):
            skipped.append({"implication": str(imp), "reason": "two of its nodes bind to the same column"})
            continue
        frame = data[cols].dropna()
        for c in cols:
            if c not in discrete:
                discrete[c] = _is_discrete(data[c])
        try:
            if len(frame) < 5:
                raise _Skip(f"only {len(frame)} complete rows")
            result = _run_test(frame, cols, discrete, method)
        except _Skip as err:
            skipped.append({"implication": str(imp), "reason": str(err)})
            continue
        rows.append({"x": str(imp.x), "y": str(imp.y), "given": ", ".join(map(str, imp.given)),
                     **result, "n": len(frame)})

    table = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("p_adjusted", "rejected")])
    table["p_adjusted"] = _adjust(table["p_value"].to_numpy(dtype=float), correction)
    table["rejected"] = table["p_adjusted"] <= alpha
    table = table[COLUMNS].astype({"n": int, "rejected": bool})
    verdict = _verdict(table, implications, skipped, alpha, correction)
    verdict["notes"] = notes
    return ImplicationTests(table, verdict)


test_implications.__test__ = False  # not a pytest test, despite its name


def _verdict(table: pd.DataFrame, implications: list[Implication], skipped: list[dict], alpha: float,
             correction: str) -> dict[str, Any]:
    n_tests, n_rej = len(table), int(table["rejected"].sum())
    how = {"holm": "Holm-corrected", "bh": "Benjamini–Hochberg-corrected", "none": "uncorrected"}[correction]
    if n_tests == 0:
        verdict = "untestable"
        if not implications:
            message = ("The graph implies no conditional independence among its observed variables, so the "
                       "data cannot contradict it.")
        else:
            message = (f"None of the {len(implications)} implied independences could be tested "
                       f"({skipped[0]['reason'] if skipped else 'no usable data'}). Bind the graph's nodes "
                       f"to data columns to test them.")
    elif n_rej:
        verdict = "inconsistent"
        worst = table.sort_values("p_adjusted", kind="stable").iloc[0]
        stmt = f"{worst['x']} ⟂ {worst['y']}" + (f" | {worst['given']}" if worst["given"] else "")
        message = (f"The data contradict the graph: {n_rej} of {n_tests} implied independences are rejected "
                   f"at alpha={alpha:g} ({how}), most clearly {stmt} (adjusted p{_fmt_p(worst['p_adjusted'])}). "
                   f"The graph may be missing an edge or a common cause between those variables.")
    else:
        verdict = "consistent"
        message = (f"The data are consistent with the graph: none of the {n_tests} implied independences "
                   f"tested is rejected at alpha={alpha:g} ({how}). This does not prove the graph right: "
                   f"other graphs imply the same independences, and small samples have little power.")
    if skipped and n_tests:
        message += f" {len(skipped)} implication(s) could not be tested (see 'skipped')."
    return {"verdict": verdict, "n_tests": n_tests, "n_rejected": n_rej, "alpha": alpha,
            "correction": correction, "message": message, "skipped": skipped}
