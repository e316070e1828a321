"""Tests of causalrec_core.graph.discover: structure learning, stability, metrics.

Data come from known DAGs with fixed seeds; tolerances were measured first (see the comments)
and set with a margin.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from causalrec_core.errors import DataError, ParameterError
from causalrec_core.graph.discover import (
    Discovery,
    dag_to_cpdag,
    discover,
    edge_precision_recall,
    shd,
    stability,
    suggestions,
)

# --------------------------------------------------------------------------------------------
# Known graphs and data
# --------------------------------------------------------------------------------------------

# 8 nodes, 9 edges, colliders at c, f and h; weights chosen away from path cancellation (with
# f -> g negative, the paths c <- a -> h and c -> d -> f -> g -> h nearly cancel given b and PC
# then, correctly for the sample, misses a separating set).
GAUSS_EDGES = [("a", "c", 0.9), ("b", "c", -0.8), ("c", "d", 1.0), ("d", "f", 0.7), ("e", "f", 0.8),
               ("b", "e", 0.9), ("f", "g", 0.9), ("a", "h", 0.8), ("g", "h", 0.6)]
GAUSS_NODES = list("abcdefgh")
DISCRETE_EDGES = [("a", "c"), ("b", "c"), ("c", "d"), ("d", "e"), ("b", "f")]


def _graph(edges) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_edges_from((e[0], e[1]) for e in edges)
    nx.freeze(g)
    return g


GAUSS_DAG = _graph(GAUSS_EDGES)
DISCRETE_DAG = _graph(DISCRETE_EDGES)


def linear_data(n: int, seed: int, noise: str = "gauss", edges=GAUSS_EDGES, nodes=GAUSS_NODES) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    for v in nodes:
        e = rng.standard_normal(n) if noise == "gauss" else rng.uniform(-1.7, 1.7, n)
        cols[v] = e + sum(w * cols[a] for a, b, w in edges if b == v)
    return pd.DataFrame(cols)


def discrete_data(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    for v in "abcdef":
        parents = [a for a, b in DISCRETE_EDGES if b == v]
        logit = -0.3 + sum(2.2 * (cols[a] - 0.5) * (1 if k == 0 else -1) for k, a in enumerate(parents))
        cols[v] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(cols)


def chain_data(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """a -> b -> c (a Markov equivalence class of three DAGs: PC cannot orient it)."""
    return linear_data(n, seed, edges=[("a", "b", 0.8), ("b", "c", 0.8)], nodes=["a", "b", "c"])


@pytest.fixture(scope="module")
def gauss5000() -> pd.DataFrame:
    return linear_data(5000, 0)


def _metrics(res: Discovery, truth: nx.DiGraph) -> dict[str, float]:
    return edge_precision_recall(res.graph, truth, undirected=res.undirected)


# --------------------------------------------------------------------------------------------
# Recovery of known graphs
# --------------------------------------------------------------------------------------------

def test_pc_fisherz_recovers_gaussian_dag(gauss5000):
    res = discover(gauss5000, method="pc", ci_test="fisherz")
    m = _metrics(res, GAUSS_DAG)
    assert m["adjacency_precision"] >= 0.9 and m["adjacency_recall"] >= 0.9
    # measured: SHD 0 to the true CPDAG and 1 to the DAG (b - e is not orientable) on seeds 0-4
    assert shd(res.graph, GAUSS_DAG, undirected=res.undirected, truth_as_cpdag=True) <= 2
    assert shd(res.graph, GAUSS_DAG, undirected=res.undirected) <= 3
    assert res.params["ci_test"] == "fisherz" and res.method == "pc"


def test_ges_bic_recovers_gaussian_dag(gauss5000):
    # causal-learn's GES stops at a worse-scoring graph on some seeds of this DAG (2, 16, 17 of
    # 0-19); seed 0 is a typical one (SHD 0 to the CPDAG).
    res = discover(gauss5000, method="ges")
    m = _metrics(res, GAUSS_DAG)
    assert res.params["score"] == "bic"
    assert m["adjacency_precision"] >= 0.9 and m["adjacency_recall"] >= 0.9
    assert shd(res.graph, GAUSS_DAG, undirected=res.undirected, truth_as_cpdag=True) <= 2


def test_lingam_orients_non_gaussian_dag():
    df = linear_data(5000, 0, noise="uniform")
    res = discover(df, method="lingam")
    m = _metrics(res, GAUSS_DAG)
    # measured: every edge found and correctly oriented on seeds 0-4
    assert m["arrowhead_precision"] >= 0.9 and m["arrowhead_recall"] >= 0.9
    assert res.undirected == []
    assert shd(res.graph, GAUSS_DAG) <= 1
    assert any("non-Gaussian" in n for n in res.notes)


@pytest.mark.parametrize("test", ["chisq", "gsq"])
def test_pc_discrete_tests(test):
    df = discrete_data(5000, 0)
    res = discover(df, method="pc", ci_test=test)
    m = _metrics(res, DISCRETE_DAG)
    assert m["adjacency_precision"] == 1.0 and m["adjacency_recall"] == 1.0
    assert shd(res.graph, DISCRETE_DAG, undirected=res.undirected, truth_as_cpdag=True) <= 1
    assert res.params["ci_test"] == test


def test_auto_picks_gsq_and_bdeu_for_discrete_data():
    df = discrete_data(3000, 1)
    assert discover(df, ci_test="auto").params["ci_test"] == "gsq"
    res = discover(df, method="ges")
    assert res.params["score"] == "bdeu"
    assert shd(res.graph, DISCRETE_DAG, undirected=res.undirected, truth_as_cpdag=True) <= 1
    assert discover(linear_data(500, 0), ci_test="auto").params["ci_test"] == "fisherz"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pc_equals_causallearn_pc(seed):
    """Our fast skeleton + causal-learn's orientation gives exactly causal-learn's pc()."""
    from causallearn.search.ConstraintBased.PC import pc

    rng = np.random.default_rng(100 + seed)
    p = 7 + seed
    A = np.triu(rng.random((p, p)) < 0.35, 1) * rng.uniform(0.3, 1.2, (p, p)) * rng.choice([-1, 1], (p, p))
    X = np.zeros((400 + 300 * seed, p))
    for j in range(p):
        X[:, j] = X @ A[:, j] + rng.standard_normal(X.shape[0])
    names = [f"x{j}" for j in range(p)]
    ours = discover(pd.DataFrame(X, columns=names))
    cg = pc(X, 0.05, "fisherz", show_progress=False, node_names=names)
    theirs = cg.G.graph
    for i in range(p):
        for j in range(p):
            if theirs[j, i] == 1 and theirs[i, j] == -1:
                assert ours.graph.has_edge(names[i], names[j])
            elif i < j and theirs[i, j] == -1 and theirs[j, i] == -1:
                assert frozenset((names[i], names[j])) in ours.undirected
            elif i < j and theirs[i, j] == 0:
                assert frozenset((names[i], names[j])) not in ours.adjacencies()


def test_pc_chisq_equals_causallearn_pc():
    from causallearn.search.ConstraintBased.PC import pc

    df = discrete_data(2000, 3)
    ours = discover(df, ci_test="chisq")
    cg = pc(df.to_numpy().astype(float), 0.05, "chisq", show_progress=False, node_names=list(df.columns))
    theirs = {(df.columns[i], df.columns[j]) for i in range(6) for j in range(6)
              if cg.G.graph[j, i] == 1 and cg.G.graph[i, j] == -1}
    assert set(ours.graph.edges) == theirs
    assert len(ours.adjacencies()) == int((np.triu(cg.G.graph != 0)).sum())


# --------------------------------------------------------------------------------------------
# The product simulator
# --------------------------------------------------------------------------------------------

SIM_COLUMNS = {  # truth-DAG node -> column of sim.pairs
    "user_activity": "user_activity", "item_popularity": "item_popularity", "exposure": "exposed",
    "view": "viewed", "click": "clicked", "cart": "carted", "purchase": "purchased",
}
SIM_TIERS = [["user_activity", "item_popularity"], ["exposed"], ["viewed"], ["clicked"], ["carted"], ["purchased"]]


def _projected_truth(dag: dict, keep: dict[str, str]) -> nx.DiGraph:
    """The simulator's DAG over the kept nodes: every directed path through a dropped node
    (propensity, segment, price, latent score inputs, fav) becomes a direct edge."""
    g = nx.DiGraph()
    g.add_nodes_from(n["name"] for n in dag["nodes"])
    g.add_edges_from(tuple(e) for e in dag["edges"])
    for v in [v for v in nx.topological_sort(g) if v not in keep]:
        g.add_edges_from((a, b) for a in g.predecessors(v) for b in g.successors(v))
        g.remove_node(v)
    return nx.relabel_nodes(g, keep)


@pytest.fixture(scope="module")
def sim_tables():
    from causalrec_core.simulate import simulate

    out = []
    for seed in (0, 1, 2):
        sim = simulate(n_users=1500, seed=seed)
        df = pd.DataFrame({col: sim.pairs[col] for col in SIM_COLUMNS.values()})
        df["user_activity"] = np.log(df["user_activity"])
        df["item_popularity"] = np.log(df["item_popularity"])
        out.append((seed, df, _projected_truth(sim.truth["dag"], SIM_COLUMNS)))
    return out


# Measured over simulator seeds 0-9 (n_users=1500, 90,000 candidate pairs, these columns and tiers):
#   PC (Fisher-z):  SHD 2-4, adjacency precision 0.77-1.00, recall 0.82-0.91 (seeds 0-2: 3, 0.90, 0.82)
#   GES (BIC):      SHD 1-5, adjacency precision 0.71-1.00, recall 0.91-1.00 (seeds 0-2: 2/1/3)
# Misses: the weak activity -> click / cart / purchase effects (through segment and price
# sensitivity); extras: item_popularity or exposure with a late funnel step (the latent quality
# and interest confound popularity and the funnel, which no DAG over these columns can express).
# The logged propensity is left out: it is a deterministic non-linear function of activity and
# popularity, which linear tests cannot separate from them (measured: 2 extra edges per seed).
SIM_BOUNDS = {"pc": (5, 0.75, 0.75), "ges": (5, 0.7, 0.8)}  # max SHD, min precision, min recall
FUNNEL = [("exposed", "viewed"), ("viewed", "clicked"), ("clicked", "carted"), ("carted", "purchased"),
          ("user_activity", "exposed"), ("item_popularity", "exposed")]


@pytest.mark.parametrize("method", ["pc", "ges"])
def test_recovers_simulator_graph(sim_tables, method):
    max_shd, min_prec, min_rec = SIM_BOUNDS[method]
    for seed, df, truth in sim_tables:
        res = discover(df, method=method, tiers=SIM_TIERS)
        m = _metrics(res, truth)
        d = shd(res.graph, truth, undirected=res.undirected)
        print(f"{method} seed {seed}: SHD {d}, precision {m['adjacency_precision']:.3f}, "
              f"recall {m['adjacency_recall']:.3f}")
        assert d <= max_shd, (seed, d)
        assert m["adjacency_precision"] >= min_prec, (seed, m)
        assert m["adjacency_recall"] >= min_rec, (seed, m)
        for edge in FUNNEL:
            assert res.graph.has_edge(*edge), (seed, edge)
        assert nx.is_directed_acyclic_graph(res.graph)


# --------------------------------------------------------------------------------------------
# Background knowledge
# --------------------------------------------------------------------------------------------

def test_pc_chain_is_unoriented_without_knowledge_and_oriented_by_tiers():
    df = chain_data()
    plain = discover(df)
    assert plain.graph.number_of_edges() == 0
    assert set(plain.undirected) == {frozenset("ab"), frozenset("bc")}
    fwd = discover(df, tiers=[["a"], ["b"], ["c"]])
    assert set(fwd.graph.edges) == {("a", "b"), ("b", "c")} and fwd.undirected == []
    back = discover(df, tiers=[["c"], ["b"], ["a"]])
    assert set(back.graph.edges) == {("c", "b"), ("b", "a")}
    assert any("BackgroundKnowledge" in n for n in fwd.notes)


@pytest.mark.parametrize("method", ["pc", "ges", "lingam"])
def test_forbidden_and_required_edges_are_honoured(method):
    df = chain_data() if method != "lingam" else linear_data(
        3000, 0, noise="uniform", edges=[("a", "b", 0.8), ("b", "c", 0.8)], nodes=["a", "b", "c"])
    res = discover(df, method=method, forbidden=[("a", "b"), ("b", "a")], required=[("a", "c")])
    assert frozenset("ab") not in res.adjacencies()  # true edge, forbidden both ways
    assert res.graph.has_edge("a", "c")  # a and c are independent given b, but required
    if method != "pc":
        assert any("after the search" in n for n in res.notes)


def test_forbidden_one_direction_orients_the_edge():
    res = discover(chain_data(), forbidden=[("b", "a")])
    assert res.graph.has_edge("a", "b") and not res.graph.has_edge("b", "a")


@pytest.mark.parametrize("method", ["ges", "lingam"])
def test_tiers_orient_ges_and_lingam(method):
    # reversed tiers on a -> b -> c: the knowledge, not the data, decides the direction
    noise = "uniform" if method == "lingam" else "gauss"
    df = linear_data(3000, 0, noise=noise, edges=[("a", "b", 0.8), ("b", "c", 0.8)], nodes=["a", "b", "c"])
    res = discover(df, method=method, tiers=[["c"], ["b"], ["a"]])
    assert set(res.graph.edges) == {("c", "b"), ("b", "a")}
    assert res.undirected == []
    if method == "lingam":
        assert any("prior_knowledge" in n for n in res.notes)


def test_knowledge_errors():
    df = chain_data(200)
    with pytest.raises(ParameterError, match="unknown column"):
        discover(df, required=[("a", "zz")])
    with pytest.raises(ParameterError, match="both required and forbidden"):
        discover(df, required=[("a", "b")], forbidden=[("a", "b")])
    with pytest.raises(ParameterError, match="tier"):
        discover(df, required=[("c", "a")], tiers=[["a"], ["c"]])
    with pytest.raises(ParameterError, match="one tier"):
        discover(df, tiers=[["a"], ["a", "b"]])
    with pytest.raises(ParameterError, match="tiers must be"):
        discover(df, tiers="abc")
    with pytest.raises(ParameterError, match="self-loop"):
        discover(df, forbidden=[("a", "a")])
    with pytest.raises(ParameterError, match="pair"):
        discover(df, required=["ab"])


# --------------------------------------------------------------------------------------------
# The result object and data handling
# --------------------------------------------------------------------------------------------

def test_result_representation(gauss5000):
    res = discover(gauss5000)
    assert isinstance(res, Discovery) and res.seconds > 0
    assert set(res.graph.nodes) == set(GAUSS_NODES)
    assert nx.is_directed_acyclic_graph(res.graph)
    for _, data in res.graph.nodes(data=True):
        assert data["role"] == "variable" and data["latent"] is False and data["column"]
    for _, _, data in res.graph.edges(data=True):
        assert data["origin"] == "learned" and data["confidence"] is None and "PC" in data["note"]
    assert list(res.edges.columns) == ["source", "target", "directed", "confidence"]
    assert res.edges["directed"].dtype == bool
    assert res.edges["directed"].sum() == res.graph.number_of_edges()
    assert (~res.edges["directed"]).sum() == len(res.undirected) == 1  # b - e
    cp = res.cpdag()
    assert cp.has_edge("b", "e") and cp.has_edge("e", "b") and cp.edges["b", "e"]["undirected"] is True
    assert not res.graph.has_edge("b", "e")


def test_data_cleaning_is_reported():
    df = linear_data(600, 1).iloc[:, :4].copy()
    df["flag"] = df["a"] > 0  # boolean -> 0/1
    df["const"] = 3.0
    df.loc[[1, 5, 9], "b"] = np.nan
    df.loc[11, "c"] = np.inf
    res = discover(df, max_rows=500, seed=3)
    assert "const" not in res.graph and "flag" in res.graph
    notes = " ".join(res.notes)
    assert "Dropped 4 of 600 rows" in notes
    assert "Dropped constant column(s) const: " in notes  # names written plainly, not as a Python list
    assert "subsample of 500 of 596 rows" in notes
    assert res.params["n_rows"] == 500 and res.params["n_input_rows"] == 600
    # the subsample is fixed by the seed
    assert discover(df, max_rows=500, seed=3).edges.equals(res.edges)


def test_nullable_integer_column():
    df = discrete_data(400, 0)
    df["a"] = df["a"].astype("Int64")
    df.loc[0, "a"] = pd.NA
    res = discover(df, ci_test="gsq")
    assert any("Dropped 1 of 400" in n for n in res.notes)


# --------------------------------------------------------------------------------------------
# Stability
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stab_gauss() -> pd.DataFrame:
    return stability(linear_data(2000, 0), method="pc", n_resamples=30, seed=7)


def test_stability_frequencies(stab_gauss):
    s = stab_gauss
    assert list(s.columns) == ["source", "target", "freq_directed", "freq_reverse", "freq_undirected", "freq_any"]
    f = s[["freq_directed", "freq_reverse", "freq_undirected", "freq_any"]]
    assert ((f >= 0) & (f <= 1)).all().all()
    assert np.allclose(s["freq_any"], s["freq_directed"] + s["freq_reverse"] + s["freq_undirected"])
    assert (s["freq_directed"] >= s["freq_reverse"]).all()
    assert (s["freq_any"] > 0).all()
    row = s[(s.source == "c") & (s.target == "d")]  # strong true edge c -> d (weight 1.0)
    assert len(row) == 1 and row["freq_any"].iloc[0] >= 0.9 and row["freq_directed"].iloc[0] >= 0.9
    for a, b, _ in GAUSS_EDGES:  # every true adjacency is found in >= 90 % of resamples
        pair = s[((s.source == a) & (s.target == b)) | ((s.source == b) & (s.target == a))]
        assert pair["freq_any"].iloc[0] >= 0.9, (a, b)
    assert s.attrs["n_resamples"] == 30 and s.attrs["replace"] is True and s.attrs["resample_size"] == 2000


def test_bootstrap_correlation_from_weights_equals_the_resample():
    """stability()'s fast path: the weighted moments give the resample's correlation matrix."""
    from causalrec_core.graph.discover import _weighted_corr

    X = linear_data(500, 0).to_numpy()
    idx = np.random.default_rng(0).integers(0, 500, 500)
    w = np.bincount(idx, minlength=500).astype(float)
    assert np.allclose(_weighted_corr(X - X.mean(axis=0), w), np.corrcoef(X[idx], rowvar=False), atol=1e-12)


def test_stability_is_deterministic(stab_gauss):
    again = stability(linear_data(2000, 0), method="pc", n_resamples=30, seed=7)
    pd.testing.assert_frame_equal(again, stab_gauss)


def test_stability_parallel_equals_serial():
    df = discrete_data(800, 2)
    serial = stability(df, method="pc", ci_test="gsq", n_resamples=6, seed=1)
    parallel = stability(df, method="pc", ci_test="gsq", n_resamples=6, seed=1, n_jobs=2)
    pd.testing.assert_frame_equal(serial, parallel)


def test_stability_subsample_and_other_methods():
    df = linear_data(1000, 2)
    sub = stability(df, method="ges", n_resamples=5, sample_frac=0.5, seed=0)
    assert sub.attrs["replace"] is False and sub.attrs["resample_size"] == 500
    lin = stability(linear_data(600, 0, noise="uniform"), method="lingam", n_resamples=3, seed=0)
    assert ((lin["freq_undirected"]) == 0).all()


def test_suggestions_threshold(stab_gauss):
    for threshold in (0.3, 0.5, 0.9):
        sugg = suggestions(stab_gauss, threshold=threshold)
        assert sugg and all(s["confidence"] >= threshold for s in sugg)
        assert {s["orientation"] for s in sugg} <= {"directed", "undirected"}
        assert all(set(s) == {"source", "target", "confidence", "orientation"} for s in sugg)
        kept = {frozenset((s["source"], s["target"])) for s in sugg}
        expected = {frozenset((r.source, r.target)) for r in stab_gauss.itertuples() if r.freq_any >= threshold}
        assert kept == expected
        assert [s["confidence"] for s in sugg] == sorted((s["confidence"] for s in sugg), reverse=True)
    strict = suggestions(stab_gauss, threshold=0.9)
    cd = next(s for s in strict if {s["source"], s["target"]} == {"c", "d"})
    assert cd["orientation"] == "directed" and (cd["source"], cd["target"]) == ("c", "d")
    be = next(s for s in strict if {s["source"], s["target"]} == {"b", "e"})  # not orientable
    assert be["orientation"] == "undirected"
    with pytest.raises(ParameterError, match="threshold"):
        suggestions(stab_gauss, threshold=0)
    with pytest.raises(ParameterError, match="stability"):
        suggestions(pd.DataFrame({"x": [1]}))


def test_stability_errors():
    df = linear_data(200, 0)
    with pytest.raises(ParameterError, match="n_resamples"):
        stability(df, n_resamples=1)
    with pytest.raises(ParameterError, match="sample_frac"):
        stability(df, sample_frac=1.5)
    with pytest.raises(ParameterError, match="replace=False"):
        stability(df, sample_frac=1.0, replace=False)
    with pytest.raises(ParameterError, match="n_jobs"):
        stability(df, n_jobs=0)
    with pytest.raises(ParameterError, match="unknown keyword"):
        stability(df, alfa=0.1)
    with pytest.raises(DataError, match="too small"):
        stability(df, sample_frac=0.01)


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------

def test_unknown_method_and_ci_test():
    df = linear_data(100, 0)
    with pytest.raises(ParameterError, match=r"method='fci' is not supported; choose one of: 'pc', 'ges', 'lingam'"):
        discover(df, method="fci")
    with pytest.raises(ParameterError, match=r"ci_test='kci' is not supported; choose one of: 'fisherz'"):
        discover(df, ci_test="kci")
    with pytest.raises(ParameterError, match="score="):
        discover(df, method="ges", score="aic")
    with pytest.raises(ParameterError, match="alpha"):
        discover(df, alpha=1.5)
    with pytest.raises(ParameterError, match="max_rows"):
        discover(df, max_rows=5)


def test_non_numeric_column():
    df = linear_data(100, 0)
    df["user_id"] = "u1"
    df["when"] = pd.Timestamp("2024-01-01")
    with pytest.raises(ParameterError, match=r"'user_id' \(.*\), 'when'"):
        discover(df)
    with pytest.raises(ParameterError, match="DataFrame"):
        discover(df.to_numpy())


def test_fewer_than_two_usable_columns():
    with pytest.raises(DataError, match="at least 2 usable columns"):
        discover(pd.DataFrame({"x": np.arange(50.0), "k": 1.0}))


def test_too_few_rows():
    with pytest.raises(DataError, match="complete rows"):
        discover(linear_data(8, 0))
    df = linear_data(30, 0)
    df.iloc[:25, 0] = np.nan
    with pytest.raises(DataError, match="needs at least 12 complete rows; got 5"):
        discover(df)


def test_discrete_test_on_continuous_columns():
    with pytest.raises(ParameterError, match="needs discrete columns"):
        discover(linear_data(200, 0), ci_test="chisq")


def test_collinear_columns():
    df = linear_data(200, 0).iloc[:, :3].copy()
    df["a2"] = 2 * df["a"] + 1
    with pytest.raises(DataError, match="collinear") as err:
        discover(df)
    assert str(err.value).startswith("Columns a, a2 are perfectly collinear")  # plain names, not a Python list


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------

def test_shd_counts_each_pair_once():
    truth = _graph([("a", "b"), ("b", "c"), ("c", "d")])
    assert shd(truth, truth) == 0
    learned = _graph([("b", "a"), ("b", "c"), ("a", "d")])  # reversed a-b, missing c-d, extra a-d
    assert shd(learned, truth) == 3
    assert shd(_graph([("b", "c"), ("c", "d")]), truth, undirected=[("a", "b")]) == 1
    both = nx.DiGraph([("a", "b"), ("b", "a"), ("b", "c"), ("c", "d")])  # opposite pair = undirected
    assert shd(both, truth) == 1
    # the chain's CPDAG is fully undirected
    assert shd(nx.DiGraph(), truth, undirected=[("a", "b"), ("b", "c"), ("c", "d")], truth_as_cpdag=True) == 0


def test_edge_precision_recall():
    truth = _graph([("a", "b"), ("b", "c"), ("c", "d")])
    learned = _graph([("b", "a"), ("b", "c"), ("a", "d")])
    m = edge_precision_recall(learned, truth, undirected=[("c", "d")])
    assert m["adjacency_precision"] == pytest.approx(3 / 4) and m["adjacency_recall"] == 1.0
    assert m["arrowhead_precision"] == pytest.approx(1 / 3) and m["arrowhead_recall"] == pytest.approx(1 / 3)
    empty = edge_precision_recall(nx.DiGraph(), truth)
    assert np.isnan(empty["adjacency_precision"]) and empty["adjacency_recall"] == 0.0
    with pytest.raises(ParameterError, match="DiGraph"):
        edge_precision_recall([("a", "b")], truth)


def test_dag_to_cpdag():
    g, und = dag_to_cpdag(_graph([("a", "c"), ("b", "c"), ("c", "d")]))  # v-structure then R1
    assert set(g.edges) == {("a", "c"), ("b", "c"), ("c", "d")} and und == []
    g, und = dag_to_cpdag(_graph([("a", "b"), ("b", "c")]))
    assert g.number_of_edges() == 0 and set(und) == {frozenset("ab"), frozenset("bc")}
    g, und = dag_to_cpdag(GAUSS_DAG)
    assert und == [frozenset("be")] and g.number_of_edges() == 8
    with pytest.raises(ParameterError, match="acyclic"):
        dag_to_cpdag(nx.DiGraph([("a", "b"), ("b", "a")]))
