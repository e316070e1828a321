"""Implied independences of textbook graphs, and their tests on data simulated from known DAGs."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from causalrec_core.errors import GraphError, ParameterError
from causalrec_core.graph import implications as imp
from causalrec_core.graph.implications import Implication, implied_independences


def graph(edges, latent=(), nodes=()):
    g = nx.DiGraph(edges)
    g.add_nodes_from(nodes)
    for u in latent:
        g.nodes[u]["latent"] = True
    return nx.freeze(g)


DIAMOND = graph([("A", "B"), ("A", "C"), ("B", "D"), ("C", "D"), ("D", "E")])


def strs(g):
    return [str(i) for i in implied_independences(g)]


@pytest.mark.parametrize(("g", "expected"), [
    (graph([("A", "B"), ("B", "C")]), ["A ⟂ C | B"]),
    (graph([("A", "C"), ("B", "C")]), ["A ⟂ B"]),
    (graph([("B", "A"), ("B", "C")]), ["A ⟂ C | B"]),
    (graph([("A", "B"), ("B", "C"), ("A", "C")]), []),
    (DIAMOND, ["A ⟂ D | B, C", "A ⟂ E | D", "B ⟂ C | A", "B ⟂ E | D", "C ⟂ E | D"]),
    # latent common cause of A and B: they stay dependent; C ⟂ A | B only holds through B
    (graph([("U", "A"), ("U", "B"), ("B", "C")], latent=["U"]), ["A ⟂ C | B"]),
    # latent on a chain: A → U → C, A ⟂ C cannot be separated by observed nodes, B is isolated
    (graph([("A", "U"), ("U", "C")], latent=["U"], nodes=["B"]), ["A ⟂ B", "B ⟂ C"]),
])
def test_implied_independences(g, expected):
    assert strs(g) == expected


def test_one_statement_per_pair():
    got = implied_independences(DIAMOND)
    pairs = [frozenset((i.x, i.y)) for i in got]
    assert len(pairs) == len(set(pairs))
    assert all(isinstance(i, Implication) and str(i.x) < str(i.y) for i in got)


def test_implications_hold_by_d_separation():
    g = graph([("A", "B"), ("A", "C"), ("B", "D"), ("C", "D"), ("U", "C"), ("U", "E"), ("D", "E")], latent=["U"])
    got = implied_independences(g)
    assert got
    for i in got:
        assert nx.is_d_separator(g, {i.x}, {i.y}, set(i.given))
        assert not any(g.nodes[v].get("latent") for v in (i.x, i.y, *i.given))


def linear_gaussian(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = 0.8 * a + rng.normal(size=n)
    c = 0.8 * a + rng.normal(size=n)
    d = 0.8 * b + 0.8 * c + rng.normal(size=n)
    e = 0.8 * d + rng.normal(size=n)
    return pd.DataFrame({"A": a, "B": b, "C": c, "D": d, "E": e})


def discrete_data(n=4000, seed=1):
    rng = np.random.default_rng(seed)

    def bern(p):
        return (rng.random(n) < p).astype(int)

    a = bern(0.5)
    b = bern(0.2 + 0.6 * a)
    c = np.where(a == 1, rng.choice(3, size=n, p=[0.6, 0.3, 0.1]), rng.choice(3, size=n, p=[0.1, 0.3, 0.6]))
    d = bern(0.1 + 0.5 * b + 0.15 * c)
    return pd.DataFrame({"A": a, "B": b, "C": pd.Categorical(np.array(["lo", "mid", "hi"])[c]), "D": d})


DISCRETE = graph([("A", "B"), ("A", "C"), ("B", "D"), ("C", "D")])


def test_true_linear_graph_is_consistent_and_a_wrong_one_is_not():
    data = linear_gaussian()
    res = imp.test_implications(DIAMOND, data, alpha=0.01, correction="holm")
    assert res.verdict["verdict"] == "consistent", res.table
    assert res.verdict["n_tests"] == 5 and res.verdict["n_rejected"] == 0
    assert set(res.table["test"]) == {"partial_correlation"}
    assert list(res.table.columns[:10]) == ["x", "y", "given", "test", "statistic", "dof", "p_value",
                                             "p_adjusted", "rejected", "n"]
    wrong = nx.DiGraph(DIAMOND)
    wrong.remove_edge("B", "D")                     # a strong edge is missing
    res = imp.test_implications(wrong, data, alpha=0.01, correction="holm")
    assert res.verdict["verdict"] == "inconsistent"
    rejected = res.table[res.table["rejected"]]
    assert ("B", "D") in set(zip(rejected["x"], rejected["y"], strict=True))
    assert "B ⟂ D" in res.verdict["message"]


@pytest.mark.parametrize("method", ["auto", "chi2", "g2"])
def test_discrete_tests(method):
    data = discrete_data()
    res = imp.test_implications(DISCRETE, data, alpha=0.01, method=method)
    assert res.verdict["verdict"] == "consistent", res.table
    assert set(res.table["test"]) == {"g2" if method == "g2" else "chi2"}
    row = res.table.set_index(["x", "y"]).loc[("B", "C")]
    assert row["given"] == "A" and row["dof"] == 4          # 2 strata × (2-1)(3-1)
    wrong = nx.DiGraph(DISCRETE)
    wrong.remove_edge("A", "B")
    assert imp.test_implications(wrong, data, alpha=0.01, method=method).verdict["verdict"] == "inconsistent"


def test_chi2_matches_scipy_without_conditioning():
    from scipy.stats import chi2_contingency

    data = discrete_data()
    g = graph([("A", "C"), ("B", "C")])
    row = imp.test_implications(g, data[["A", "B", "C"]], method="chi2").table.iloc[0]
    stat, p, dof, _ = chi2_contingency(pd.crosstab(data["A"], data["B"]), correction=False)
    assert row["statistic"] == pytest.approx(stat) and row["p_value"] == pytest.approx(p) and row["dof"] == dof
    g2 = imp.test_implications(g, data[["A", "B", "C"]], method="g2").table.iloc[0]
    ref = chi2_contingency(pd.crosstab(data["A"], data["B"]), correction=False, lambda_="log-likelihood")
    assert g2["statistic"] == pytest.approx(ref[0])


def test_corrections():
    p = np.array([0.01, 0.04, 0.03, 0.5])
    assert np.allclose(imp._adjust(p, "holm"), [0.04, 0.09, 0.09, 0.5])
    assert np.allclose(imp._adjust(p, "bh"), [0.04, 0.0533333, 0.0533333, 0.5])
    assert np.allclose(imp._adjust(p, "none"), p)


def test_mixed_data_is_binned_and_said_so():
    data = linear_gaussian()
    data["B"] = (data["B"] > 0).astype(int)
    res = imp.test_implications(DIAMOND, data, alpha=0.01)
    assert set(res.table["test"]) <= {"chi2", "partial_correlation"}
    mixed = res.table[res.table["test"] == "chi2"]
    assert len(mixed) and mixed["note"].str.contains("binned|binarised").all()


def test_column_binding_nan_rows_and_skips():
    data = linear_gaussian().rename(columns={"A": "a_col"})
    data.loc[:99, "E"] = np.nan
    g = nx.DiGraph(DIAMOND)
    g.nodes["A"]["column"] = "a_col"
    g.nodes["C"]["column"] = "no_such_column"
    res = imp.test_implications(g, data, alpha=0.01)
    table = res.table.set_index(["x", "y"])
    assert table.loc[("A", "E"), "n"] == len(data) - 100          # rows with NaN dropped per test
    skipped = {s["implication"]: s["reason"] for s in res.verdict["skipped"]}
    assert skipped == {"B ⟂ C | A": "no data column for C", "C ⟂ E | D": "no data column for C",
                       "A ⟂ D | B, C": "no data column for C"}
    assert res.verdict["n_tests"] == 2 and "could not be tested" in res.verdict["message"]


def test_untestable_and_limits():
    complete = graph([("A", "B"), ("B", "C"), ("A", "C")])
    res = imp.test_implications(complete, linear_gaussian()[["A", "B", "C"]])
    assert res.verdict["verdict"] == "untestable" and res.table.empty
    assert "implies no conditional independence" in res.verdict["message"]
    res = imp.test_implications(DIAMOND, pd.DataFrame({"Q": [1.0, 2.0]}))
    assert res.verdict["verdict"] == "untestable" and len(res.verdict["skipped"]) == 5
    res = imp.test_implications(DIAMOND, linear_gaussian(), max_tests=2)
    assert res.verdict["n_tests"] == 2
    assert sum("max_tests" in s["reason"] for s in res.verdict["skipped"]) == 3


def test_large_data_is_subsampled():
    data = linear_gaussian(n=200_050)
    res = imp.test_implications(DIAMOND, data, alpha=0.01)
    assert res.table["n"].max() == 200_000
    assert "subsample" in res.verdict["notes"][0]


@pytest.mark.parametrize("kwargs", [
    {"alpha": 0}, {"alpha": 1.5}, {"alpha": "0.05"}, {"method": "spearman"}, {"correction": "bonferroni"},
    {"max_tests": 0}, {"seed": 1.5},
])
def test_parameter_errors(kwargs):
    with pytest.raises(ParameterError):
        imp.test_implications(DIAMOND, linear_gaussian(n=50), **kwargs)


def test_bad_inputs():
    with pytest.raises(ParameterError, match="DataFrame"):
        imp.test_implications(DIAMOND, {"A": [1]})
    with pytest.raises(GraphError, match="cycle"):
        implied_independences(nx.DiGraph([("A", "B"), ("B", "A")]))
    with pytest.raises(ParameterError, match="method='spearman' is not supported"):
        imp.test_implications(DIAMOND, linear_gaussian(n=50), method="spearman")


@pytest.mark.parametrize(("p", "text"), [
    (0.0, "< 1e-300"), (1e-320, "< 1e-300"), (3.2e-12, "3.2e-12"), (0.04567, "0.0457"), (1.0, "1"),
    (float("nan"), ""), (None, ""),
])
def test_format_p_value_never_shows_a_bare_zero(p, text):
    assert imp.format_p_value(p) == text


def test_selection_caveat_for_tables_of_logged_pairs_only():
    from causalrec_core.graph.implications import selection_caveat

    text = selection_caveat("interactions")
    assert text.startswith("The interactions table holds only user-item pairs with at least one event")
    assert "selection on a common effect" in text and "rather than a missing edge" in text
    assert selection_caveat("users") is None
