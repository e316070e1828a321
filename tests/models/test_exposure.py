"""Exposure propensities from a causal graph's adjustment set (causalrec_core.models.exposure).

Fixed-seed figures on sample_data (random_state=0; see the report of the change that added this file):
features_from_graph on the simulator's true DAG resolves to ['item_popularity', 'user_activity'] (the
training-window event counts); the fitted propensities correlate with the logged ``propensity`` column at
Pearson 0.748 / Spearman 0.785 over the 29,489 training-window exposure rows (held-out AUC 0.60, logged
propensity itself 0.65 on the same rows). On the side columns ``activity`` / ``popularity`` (the simulator's
true confounders): Pearson 0.952 / Spearman 0.992.
"""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from causalrec_core.errors import DataError, GraphError, NotFittedError, ParameterError
from causalrec_core.graph.model import from_dict, to_dict
from causalrec_core.graph.templates import build_template, simulator_template
from causalrec_core.models.data import Exposures, Interactions, RecData
from causalrec_core.models.exposure import (
    ExposurePropensity,
    clip_counts,
    covariate_tables,
    features_from_graph,
)
from causalrec_core.models.logdata import log_data_from_frames

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


@pytest.fixture(scope="module")
def sample() -> RecData:
    if not (SAMPLE / "events.csv").exists():
        pytest.skip(f"sample data not found: {SAMPLE / 'events.csv'}")
    return log_data_from_frames(pd.read_csv(SAMPLE / "events.csv"), pd.read_csv(SAMPLE / "items.csv"),
                                users=pd.read_csv(SAMPLE / "users.csv"))


@pytest.fixture(scope="module")
def truth_graph() -> nx.DiGraph:
    if not (SAMPLE / "truth.json").exists():
        pytest.skip(f"sample truth not found: {SAMPLE / 'truth.json'}")
    return simulator_template(json.loads((SAMPLE / "truth.json").read_text()))


def toy(n_users: int = 60, n_items: int = 30, seed: int = 0) -> tuple[RecData, np.ndarray]:
    """Every (user, item) pair a candidate; exposure ~ Bernoulli(sigmoid(a_u + b_i)); the true propensity."""
    rng = np.random.default_rng(seed)
    act = rng.lognormal(0, 1, n_users)
    pop = rng.lognormal(0, 1, n_items)
    u, i = np.meshgrid(np.arange(n_users), np.arange(n_items), indexing="ij")
    u, i = u.ravel(), i.ravel()
    true = 1 / (1 + np.exp(-(-1.0 + 0.8 * np.log(act[u]) + 0.8 * np.log(pop[i]))))
    t = (rng.random(len(u)) < true).astype(np.int8)
    y = (rng.random(len(u)) < 0.05 + 0.05 * t).astype(np.int8)
    train = Interactions(u[y == 1], i[y == 1], np.ones(int(y.sum())), n_users, n_items)
    seg = np.where(act > 1.5, "high", np.where(act > 0.7, "mid", "low"))
    meta = {"user_covariates": pd.DataFrame({"user_activity": act, "segment": pd.Categorical(seg)}),
            "item_covariates": pd.DataFrame({"item_popularity": pop})}
    data = RecData("log", train, np.arange(n_users), np.arange(n_items), exposures=Exposures(u, i, t, y, true),
                   meta=meta)
    return data, true


# ------------------------------------------------------------------------------------------ graph


def test_features_from_simulator_dag(sample, truth_graph) -> None:
    feats, why = features_from_graph(truth_graph, sample)
    assert feats == ["item_popularity", "user_activity"]
    assert "{propensity}" in why and "skipped" in why.lower()  # the {propensity} set is not a covariate
    assert "item_popularity → item_popularity" in why
    # the graph's JSON (as stored in the project) and a dict give the same answer
    assert features_from_graph(json.dumps(to_dict(truth_graph)), sample)[0] == feats
    assert features_from_graph(to_dict(truth_graph), sample)[0] == feats
    # treatment / outcome by their bound columns
    assert features_from_graph(truth_graph, sample, treatment="exposed", outcome="purchased")[0] == feats


def test_features_from_graph_column_binding_and_aliases(sample) -> None:
    g = build_template("exposure_bias")
    # exact names first
    assert features_from_graph(g, sample)[0] == ["item_popularity", "user_activity"]
    # a node bound to a side column
    g2 = nx.relabel_nodes(g, {"user_activity": "sessions", "item_popularity": "pop"})
    g2.nodes["sessions"]["column"] = "activity"
    g2.nodes["pop"]["column"] = "popularity"
    feats, why = features_from_graph(g2, sample)
    assert feats == ["popularity", "activity"] and "sessions → activity" in why
    # a segment node maps to the users' side column
    g3 = build_template("marketing_uplift")
    feats, _ = features_from_graph(g3, sample, treatment="treatment", outcome="outcome")
    assert feats == ["segment"]


def test_missing_adjustment_column_is_a_clear_error(sample) -> None:
    g = build_template("exposure_bias")
    g = nx.relabel_nodes(g, {"user_activity": "income"})
    with pytest.raises(GraphError) as err:
        features_from_graph(g, sample)
    msg = str(err.value)
    assert "'income'" in msg and "{income, item_popularity}" in msg
    assert "cannot be adjusted for 'income'" in msg and "user_activity" in msg  # lists the covariates


def test_graph_without_confounders_and_bad_nodes(sample) -> None:
    g = from_dict({"nodes": [{"name": "exposure", "role": "treatment"}, {"name": "purchase", "role": "outcome"}],
                   "edges": [{"source": "exposure", "target": "purchase"}]})
    feats, why = features_from_graph(g, sample)
    assert feats == [] and "no confounders" in why
    m = ExposurePropensity(features=feats).fit(sample)  # intercept only: the overall exposure rate
    p = m.predict([0, 1], [0, 1])
    assert p[0] == p[1] and abs(p[0] - sample.exposures.exposed.mean()) < 0.01
    g = from_dict({"nodes": [{"name": "shown", "role": "treatment"}, {"name": "bought", "role": "outcome"}],
                   "edges": [{"source": "shown", "target": "bought"}]})
    assert features_from_graph(g, sample)[0] == []  # the single treatment / outcome nodes
    with pytest.raises(GraphError, match="click"):
        features_from_graph(g, sample, outcome="click")
    with pytest.raises(GraphError, match="cannot be adjusted for 'ranker_score'"):  # a pair-level node
        features_from_graph(build_template("position_bias"), sample, treatment="position", outcome="click")
    with pytest.raises(ParameterError, match="graph"):
        features_from_graph(42, sample)


# ------------------------------------------------------------------------------------------ model


def test_recovers_logged_propensity_on_sample(sample, truth_graph) -> None:
    feats, _ = features_from_graph(truth_graph, sample)
    e = sample.exposures
    m = ExposurePropensity(features=feats, random_state=0).fit(sample)
    p = m.predict(e.user, e.item)
    r = np.corrcoef(p, e.propensity)[0, 1]
    assert r > 0.65, r  # measured 0.748 (seed 0)
    assert m.features_ == feats and len(m.coef_) == 2
    assert {k.removeprefix("log1p(").rstrip(")") for k in m.coef_} == set(feats)  # log1p only for skewed counts
    assert all(v > 0 for v in m.coef_.values())  # active users and popular items are exposed more
    rep = m.fit_report_
    assert rep["n_holdout"] == round(0.2 * len(e)) and 0.55 < rep["holdout_auc"] < 0.8
    assert rep["holdout_ece"] < 0.05 and len(rep["calibration"]) == 10 and rep["converged"]
    # the simulator's true confounders (side columns): a near-perfect match
    m2 = ExposurePropensity(features=["activity", "popularity"]).fit(sample)
    assert np.corrcoef(m2.predict(e.user, e.item), e.propensity)[0, 1] > 0.9  # measured 0.952


def test_toy_recovery_categoricals_and_clipping() -> None:
    data, true = toy()
    e = data.exposures
    m = ExposurePropensity(features=["user_activity", "item_popularity", "segment"], clip=(0.2, 0.8)).fit(data)
    raw = m.predict(e.user, e.item, clipped=False)
    assert np.corrcoef(raw, true)[0, 1] > 0.9
    p = m.predict(e.user, e.item)
    assert p.min() >= 0.2 and p.max() <= 0.8
    rep = m.clip_report_
    assert rep["n_clipped"] == int(((raw < 0.2) | (raw > 0.8)).sum()) > 0
    assert rep["n_clipped_low"] + rep["n_clipped_high"] == rep["n_clipped"] and rep["n"] == len(e)
    assert {"segment=low", "segment=mid"} <= set(m.coef_)  # one-hot, first level the reference
    assert clip_counts(np.array([0.0, 0.5, 1.0]), 0.1, 0.9)["n_clipped"] == 2


def test_deterministic_and_errors() -> None:
    data, _ = toy()
    a = ExposurePropensity(random_state=3).fit(data)
    b = ExposurePropensity(random_state=3).fit(data)
    assert a.coef_ == b.coef_ and a.fit_report_ == b.fit_report_
    assert a.features_ == ["user_activity", "item_popularity"]  # the default
    with pytest.raises(ParameterError, match="income"):
        ExposurePropensity(features=["income"]).fit(data)
    with pytest.raises(ParameterError, match="clip"):
        ExposurePropensity(clip=(0.5, 0.2)).fit(data)
    with pytest.raises(DataError, match="exposures"):
        ExposurePropensity().fit(RecData("log", data.train, data.user_ids, data.item_ids))
    with pytest.raises(NotFittedError):
        ExposurePropensity().predict([0], [0])
    with pytest.raises(ParameterError, match="items"):
        a.predict([0], [10**6])


def test_covariate_fallback_without_tables() -> None:
    data, _ = toy()
    bare = RecData("log", data.train, data.user_ids, data.item_ids, exposures=data.exposures)
    ucov, icov, source = covariate_tables(bare)
    assert source == "train counts" and list(ucov.columns) == ["user_activity"]
    np.testing.assert_array_equal(icov["item_popularity"].to_numpy(),
                                  np.bincount(data.train.item, minlength=data.n_items))
    m = ExposurePropensity().fit(bare)
    assert m.covariate_source_ == "train counts"


def test_causal_models_use_the_graph_on_sample(sample, truth_graph) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from causalrec_core.models.sequential import SASRecIPS
    from causalrec_core.models.uplift import UpliftRecommender

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        feats, _ = features_from_graph(truth_graph, sample)
        up = UpliftRecommender(epochs=1, random_state=0, device="cpu", propensity="graph",
                               propensity_features=feats).fit(sample)
        assert up.propensity_source_ == "graph" and up.clip_report_["n"] == len(sample.exposures)
        assert np.all(np.isfinite(up.score_all(np.arange(3))))
        seq = SASRecIPS(max_len=8, hidden=16, n_layers=1, n_heads=2, epochs=1, batch_size=256, device="cpu",
                        propensity="graph", propensity_features=feats).fit(sample)
        assert seq.propensity_source_ == "graph" and seq.clip_report_["n_graph_propensity"] == seq.clip_report_["n"]
        assert np.all(np.isfinite(seq.score_all(np.arange(3))))
    finally:
        torch.set_num_threads(old)
