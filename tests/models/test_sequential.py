"""SASRec / SASRecIPS: shapes, determinism, padding, windows, a learnable sequential pattern, IPS weights."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from causalrec_core.errors import ParameterError  # noqa: E402
from causalrec_core.evaluate.metrics import topk_metrics  # noqa: E402
from causalrec_core.models.data import Exposures, Interactions, RecData  # noqa: E402
from causalrec_core.models.sequential import SASRec, SASRecIPS, item_popularity_propensity  # noqa: E402

N_USERS, N_ITEMS = 240, 30
SMALL = dict(max_len=12, hidden=16, n_layers=1, n_heads=2, dropout=0.1, lr=0.01, batch_size=64, device="cpu")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def successor_data(seed: int = 0, cold_items: int = 2, cold_users: int = 3) -> RecData:
    """Each user walks i -> i+1 (mod the warm items) from a random start; the last step is the test item.

    Item popularity is skewed (starts are drawn from a Zipf-like law) so popularity is a real baseline;
    the last ``cold_items`` items and ``cold_users`` users have no training interactions.
    """
    rng = np.random.default_rng(seed)
    warm = N_ITEMS - cold_items
    start_p = 1.0 / np.arange(1, warm + 1)
    start_p /= start_p.sum()
    u, i, t, tu, ti = [], [], [], [], []
    for user in range(N_USERS - cold_users):
        s = rng.choice(warm, p=start_p)
        length = int(rng.integers(4, 30))
        seq = [(s + k) % warm for k in range(length)]
        # rows shuffled, order only in the timestamps: the model must sort by time, not by row
        for k in rng.permutation(length - 1):
            u.append(user)
            i.append(seq[k])
            t.append(int(k) * 10 + 1000)
        tu.append(user)
        ti.append(seq[-1])
    train = Interactions(np.array(u), np.array(i), np.ones(len(u)), N_USERS, N_ITEMS, timestamp=np.array(t))
    test = Interactions(np.array(tu), np.array(ti), np.ones(len(tu)), N_USERS, N_ITEMS,
                        timestamp=np.full(len(tu), 10**6))
    return RecData("log", train, np.arange(N_USERS), np.arange(N_ITEMS), test=test,
                   item_text=[f"item {k}" for k in range(N_ITEMS)])


class _Popularity:
    def __init__(self, pop: np.ndarray) -> None:
        self.pop = pop

    def score_all(self, users: np.ndarray) -> np.ndarray:
        return np.tile(self.pop, (len(users), 1))


@pytest.fixture(scope="module")
def data() -> RecData:
    return successor_data()


@pytest.fixture(scope="module")
def fitted(data: RecData) -> SASRec:
    torch.set_num_threads(1)
    return SASRec(epochs=12, random_state=0, **SMALL).fit(data)


def test_windows_cover_every_target_once(data: RecData) -> None:
    m = SASRec(**SMALL)
    m.max_len_ = 5
    inputs, targets, rows, users = m._windows(data)
    tr = data.train
    valid = targets > 0
    # every training row except each user's first (in time) is a target exactly once
    counts = np.bincount(tr.user, minlength=data.n_users)
    assert valid.sum() == int(np.maximum(counts - 1, 0).sum())
    assert len(np.unique(rows[valid])) == valid.sum()
    assert np.array_equal(targets[valid] - 1, tr.item[rows[valid]])
    assert np.array_equal(users[:, None].repeat(5, 1)[valid], tr.user[rows[valid]])
    # the input before each target is the previous item in time: here always target - 1 (mod warm)
    warm = N_ITEMS - 2
    assert np.array_equal((inputs[valid] - 1 + 1) % warm, targets[valid] - 1)
    # right padding: once a row hits padding it stays padding
    assert np.all(np.diff(valid.astype(int), axis=1) <= 0)


def test_shapes_cold_users_and_items(fitted: SASRec, data: RecData) -> None:
    users = np.arange(N_USERS)
    s = fitted.score_all(users)
    assert s.shape == (N_USERS, N_ITEMS)
    assert np.all(np.isfinite(s))
    # cold users (no history) get popularity; cold items get finite scores
    cold_user = N_USERS - 1
    np.testing.assert_allclose(s[cold_user], np.log1p(fitted.item_popularity_))
    assert np.all(np.isfinite(s[:, -2:]))
    pair = fitted.score(np.array([0, 1, cold_user]), np.array([N_ITEMS - 1, 3, 4]))
    assert pair.shape == (3,)
    np.testing.assert_allclose(pair, s[[0, 1, cold_user], [N_ITEMS - 1, 3, 4]], rtol=1e-5, atol=1e-5)
    rec = fitted.recommend("nobody", k=5)
    assert rec["cold_user"].all() and len(rec) == 5
    rec = fitted.recommend(0, k=5)
    assert len(rec) == 5 and not rec["cold_user"].any()


def test_beats_popularity_on_successor_pattern(fitted: SASRec, data: RecData) -> None:
    sas = topk_metrics(fitted, data.test, exclude=None, k=5)
    pop = topk_metrics(_Popularity(fitted.item_popularity_), data.test, exclude=None, k=5)
    # fixed-seed figures: SASRec hr@5 1.0, ndcg@5 1.0; popularity hr@5 0.11, ndcg@5 0.07
    assert sas["hr@5"] > pop["hr@5"] + 0.4, (sas, pop)
    assert sas["ndcg@5"] > pop["ndcg@5"] + 0.4, (sas, pop)
    assert fitted.history_[-1]["loss"] < fitted.history_[0]["loss"]


def test_scores_do_not_depend_on_padding(fitted: SASRec, data: RecData) -> None:
    hist = np.bincount(data.train.user, minlength=N_USERS)
    short = int(np.flatnonzero((hist > 0) & (hist < 6))[0])
    long = int(np.argmax(hist))
    alone = fitted.score_all(np.array([short]))[0]
    batched = fitted.score_all(np.array([long, short, N_USERS - 1]))[1]  # padded to the long user's length
    np.testing.assert_allclose(alone, batched, rtol=1e-5, atol=1e-5)
    # and the same through the pairwise path
    np.testing.assert_allclose(fitted.score(np.full(N_ITEMS, short), np.arange(N_ITEMS)), alone, rtol=1e-5,
                               atol=1e-5)


def test_same_seed_same_scores(data: RecData) -> None:
    kw = dict(SMALL, epochs=2, random_state=3)
    a = SASRec(**kw).fit(data).score_all(np.arange(20))
    b = SASRec(**kw).fit(data).score_all(np.arange(20))
    np.testing.assert_array_equal(a, b)
    c = SASRec(**dict(kw, random_state=4)).fit(data).score_all(np.arange(20))
    assert not np.allclose(a, c)


def test_invalid_parameters(data: RecData) -> None:
    with pytest.raises(ParameterError, match="n_heads"):
        SASRec(**dict(SMALL, hidden=15, n_heads=2, epochs=1)).fit(data)
    with pytest.raises(ParameterError, match="max_len"):
        SASRec(**dict(SMALL, max_len=0, epochs=1)).fit(data)
    with pytest.raises(ParameterError, match="clip_min"):
        SASRecIPS(**dict(SMALL, clip_min=0.0, epochs=1)).fit(data)


def test_popularity_propensity() -> None:
    p = item_popularity_propensity(np.array([0, 1, 4, 16]), eta=0.5)
    np.testing.assert_allclose(p, [0.0, 0.25, 0.5, 1.0])


def test_ips_weights_clipped_and_reported(data: RecData) -> None:
    # logged propensities for a third of the training pairs, some tiny (to be clipped)
    tr = data.train
    rng = np.random.default_rng(1)
    sel = rng.random(len(tr)) < 1 / 3
    prop = np.where(rng.random(sel.sum()) < 0.3, 0.001, 0.5)
    exp = Exposures(tr.user[sel], tr.item[sel], np.ones(sel.sum()), np.zeros(sel.sum()), prop)
    d = RecData("log", tr, data.user_ids, data.item_ids, test=data.test, exposures=exp)
    m = SASRecIPS(**dict(SMALL, epochs=1, clip_min=0.05)).fit(d)
    rep = m.clip_report_
    assert rep["min"] == 0.05 and rep["max"] == 1.0
    assert rep["n_clipped"] > 0
    assert rep["weight_max"] <= 1 / 0.05 + 1e-9
    assert rep["n_logged_propensity"] > 0 and rep["n_popularity_propensity"] > 0
    assert rep["n"] == rep["n_logged_propensity"] + rep["n_popularity_propensity"]
    w = m._weights.numpy()
    assert w.max() <= 20.0 + 1e-4 and np.all(w[m._targets.numpy() == 0] == 0)
    assert np.all(np.isfinite(m.score_all(np.arange(N_USERS))))
    # without exposures: popularity propensities only
    m2 = SASRecIPS(**dict(SMALL, epochs=1, clip_min=0.99)).fit(data)
    assert m2.clip_report_["n_logged_propensity"] == 0 and m2.clip_report_["n_clipped"] > 0
    assert SASRecIPS.causal and not SASRec.causal


def test_registry_names() -> None:
    from causalrec_core.models.registry import model_class

    assert model_class("sasrec") is SASRec
    assert model_class("sasrec-ips") is SASRecIPS


def test_on_sample_log() -> None:
    from pathlib import Path

    import pandas as pd

    logdata = pytest.importorskip("causalrec_core.models.logdata")
    root = Path(__file__).resolve().parents[2] / "sample_data"
    if not (root / "events.csv").exists():
        pytest.skip(f"sample data not found: {root / 'events.csv'}")
    events = pd.read_csv(root / "events.csv", nrows=15000)
    d = logdata.log_data_from_frames(events, pd.read_csv(root / "items.csv"))
    m = SASRecIPS(**dict(SMALL, epochs=1)).fit(d)
    s = m.score_all(np.arange(min(50, d.n_users)))
    assert s.shape == (min(50, d.n_users), d.n_items) and np.all(np.isfinite(s))
    assert m.clip_report_["n_logged_propensity"] > 0


def _with_exposures(data: RecData, logged: bool) -> RecData:
    """Train pairs (exposed, outcome 1) plus random unexposed pairs, with or without logged propensities."""
    tr = data.train
    rng = np.random.default_rng(2)
    nu, ni = rng.integers(0, N_USERS, 400), rng.integers(0, N_ITEMS, 400)
    u, i = np.r_[tr.user, nu], np.r_[tr.item, ni]
    t = np.r_[np.ones(len(tr)), (rng.random(400) < 0.2)].astype(np.int8)
    prop = rng.uniform(0.1, 0.9, len(u)) if logged else None
    exp = Exposures(u, i, t, np.r_[np.ones(len(tr)), np.zeros(400)].astype(np.int8), prop)
    return RecData("log", tr, data.user_ids, data.item_ids, test=data.test, exposures=exp)


def test_propensity_sources(data: RecData) -> None:
    from causalrec_core.errors import DataError

    kw = dict(SMALL, epochs=1, random_state=0)
    logged, bare = _with_exposures(data, True), _with_exposures(data, False)
    feats = ["user_activity", "item_popularity"]
    # default 'auto': logged where present (unchanged behaviour)
    m = SASRecIPS(**kw).fit(logged)
    assert m.propensity_source_ == "logged" and m.clip_report_["source"] == "logged"
    assert m.clip_report_["n_logged_propensity"] == m.clip_report_["n"]
    assert SASRecIPS(**kw).fit(data).propensity_source_ == "popularity"  # no exposures
    # 'graph': the exposure model on the adjustment-set covariates, for every target
    g = SASRecIPS(**kw, propensity="graph", propensity_features=feats).fit(logged)
    rep = g.clip_report_
    assert g.propensity_source_ == "graph" and rep["n_graph_propensity"] == rep["n"] and rep["n_logged_propensity"] == 0
    assert g.propensity_model_["features"] == feats and "holdout_auc" in g.propensity_model_["fit_report"]
    w = g._weights.numpy()
    assert np.all(np.isfinite(w)) and w.max() <= 1 / 0.05 + 1e-4
    g2 = SASRecIPS(**kw, propensity="graph", propensity_features=feats).fit(logged)
    np.testing.assert_array_equal(w, g2._weights.numpy())
    np.testing.assert_array_equal(g.score_all(np.arange(10)), g2.score_all(np.arange(10)))
    # 'popularity' ignores the logged propensities
    p = SASRecIPS(**kw, propensity="popularity").fit(logged)
    assert p.propensity_source_ == "popularity" and p.clip_report_["n_logged_propensity"] == 0
    # errors
    with pytest.raises(DataError, match="propensity='logged'"):
        SASRecIPS(**kw, propensity="logged").fit(bare)
    with pytest.raises(ParameterError, match="adjustment set"):
        SASRecIPS(**kw, propensity="graph").fit(logged)
    with pytest.raises(DataError, match="exposures"):
        SASRecIPS(**kw, propensity="graph", propensity_features=feats).fit(data)
    with pytest.raises(ParameterError, match="propensity"):
        SASRecIPS(**kw, propensity="magic").fit(logged)
