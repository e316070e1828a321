"""MF family on a small synthetic MNAR rating set (causalrec_core.models.mf)."""

from __future__ import annotations

import numpy as np
import pytest

from causalrec_core.errors import ParameterError
from causalrec_core.evaluate.metrics import rating_metrics
from causalrec_core.models.coat import validation_slice
from causalrec_core.models.data import Interactions, RecData
from causalrec_core.models.mf import BPRMF, DRJL, MF, MFIPS, MFSNIPS, DRJLFeatures

torch = pytest.importorskip("torch")


def make_mnar(seed: int = 0, n_users: int = 150, n_items: int = 80, n_test: int = 10) -> RecData:
    """Ratings 1..5 from a low-rank preference; positives and popular items are over-observed in train
    (true propensities logged), and a missing-at-random test of ``n_test`` random items per user."""
    rng = np.random.default_rng(seed)
    uf = np.eye(3)[rng.integers(0, 3, n_users)]
    itf = np.eye(4)[rng.integers(0, 4, n_items)]
    affinity = rng.normal(size=(3, 4))
    P, Q = rng.normal(size=(n_users, 3)), rng.normal(size=(n_items, 3))
    logit = 0.8 * (P @ Q.T) + uf @ affinity @ itf.T + rng.normal(0, 0.3, size=(n_users, n_items)) - 0.7
    rating = np.clip(np.round(3 + 1.2 * logit / logit.std()), 1, 5)
    pop = np.exp(rng.normal(0, 1.0, n_items))
    pop = pop / pop.mean()
    prop = np.clip(0.12 * pop[None, :] * np.where(rating >= 4, 4.0, 1.0), 0.005, 1.0)
    obs = rng.random((n_users, n_items)) < prop
    u, i = np.nonzero(obs)
    train = Interactions(u, i, rating[u, i], n_users, n_items, propensity=prop[u, i])
    tu = np.repeat(np.arange(n_users), n_test)
    ti = np.concatenate([rng.choice(n_items, n_test, replace=False) for _ in range(n_users)])
    test = Interactions(tu, ti, rating[tu, ti], n_users, n_items)
    return RecData("rating", train, np.arange(n_users), np.arange(n_items), test=test, threshold=3.0,
                   user_features=uf.astype(np.float32), item_features=itf.astype(np.float32), name="synthetic")


@pytest.fixture(scope="module")
def data() -> RecData:
    return validation_slice(make_mnar(), 0.1, seed=0)


def test_metrics(model, data: RecData) -> dict:
    te = data.test
    y = (te.value > data.threshold).astype(float)
    return rating_metrics(te.user, y, model.score(te.user, te.item), k=5,
                          predictions=model.predict(te.user, te.item), no_positive="one")


test_metrics.__test__ = False  # a helper, not a test

FAST = dict(epochs=15, patience=3, batch_size=256, lr=0.03, device="cpu")
ALL = [MF, BPRMF, MFIPS, MFSNIPS, DRJL, DRJLFeatures]


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.name)
def test_each_model_beats_random(cls, data):
    m = cls(random_state=0, **FAST).fit(data)
    res = test_metrics(m, data)
    assert res["auc"] > 0.6, res
    scores = m.score_all(np.arange(5))
    assert scores.shape == (5, data.n_items) and np.all(np.isfinite(scores))
    # score_all agrees with score
    assert np.allclose(scores[2], m.score(np.full(data.n_items, 2), np.arange(data.n_items)), atol=1e-4)
    assert m.history_ and m.best_epoch_ >= 1
    assert cls.name and cls.description and "rating" in cls.kinds
    assert cls.causal == (cls in (MFIPS, MFSNIPS, DRJL, DRJLFeatures))
    if cls.causal:
        assert set(m.clip_report_) >= {"low", "high", "n_clipped"}
    rec = m.recommend(3, k=4)
    assert len(rec) == 4 and not rec["cold_user"].any()
    assert len(m.recommend("nobody", k=3)) == 3


@pytest.mark.parametrize("cls", [MF, DRJL], ids=lambda c: c.name)
def test_same_seed_same_metrics(cls, data):
    a = test_metrics(cls(random_state=3, **FAST).fit(data), data)
    b = test_metrics(cls(random_state=3, **FAST).fit(data), data)
    assert a == b
    c = test_metrics(cls(random_state=4, **FAST).fit(data), data)
    assert c["auc"] != a["auc"]


def test_explicit_objective(data):
    m = MF(objective="explicit", random_state=0, **FAST).fit(data)
    assert test_metrics(m, data)["auc"] > 0.6
    p = m.predict(data.test.user, data.test.item)
    assert p.min() >= 0 and p.max() <= 1
    with pytest.raises(ParameterError, match="objective"):
        MF(objective="hinge", **FAST).fit(data)


def test_bad_params(data):
    with pytest.raises(ParameterError, match="dim"):
        MF(dim=0, **FAST).fit(data)
    with pytest.raises(ParameterError, match="sample_ratio"):
        DRJL(sample_ratio=0, **FAST).fit(data)
    with pytest.raises(ParameterError, match="clip"):
        MFIPS(clip=(0.5, 0.1), **FAST).fit(data)
    with pytest.raises(ParameterError, match="kind"):
        MF(**FAST).fit(RecData("log", data.train, data.user_ids, data.item_ids))


def test_ips_reduces_bias_on_mar_test():
    """Positives (and popular items) are over-observed: naive MF over-predicts the positive rate on the MAR
    test; MF-IPS and DR-JL with the logged (true) propensities are much closer. Fixed-seed run gave
    bias naive 0.235, IPS 0.049, DR-JL 0.084."""
    d = validation_slice(make_mnar(seed=1, n_users=200), 0.1, seed=0)
    y = (d.test.value > d.threshold).astype(float)
    kw = dict(epochs=20, patience=20, lr=0.03, weight_decay=1e-3, dim=8, batch_size=256, device="cpu",
              random_state=0)
    naive = MF(**kw).fit(d)
    ips = MFIPS(propensity="logged", clip=(0.005, 1.0), **kw).fit(d)
    dr = DRJL(propensity="logged", clip=(0.005, 1.0), **kw).fit(d)
    bias = {name: abs(m.predict(d.test.user, d.test.item).mean() - y.mean())
            for name, m in (("naive", naive), ("ips", ips), ("dr", dr))}
    assert ips.propensity_method_ == "logged" and dr.propensity_method_ == "logged"
    assert bias["naive"] > 0.15, bias
    assert bias["ips"] < bias["naive"] - 0.12, bias
    assert bias["dr"] < bias["naive"] - 0.1, bias


def test_unknown_test_user_still_scored():
    d = make_mnar(seed=2, n_users=60, n_items=40)
    # user 59 and item 39 have no training rows
    keep = (d.train.user != 59) & (d.train.item != 39)
    d2 = d.with_train(d.train.subset(keep))
    m = DRJLFeatures(random_state=0, **FAST).fit(d2)
    s = m.score(np.array([59, 0]), np.array([39, 39]))
    assert np.all(np.isfinite(s))


def test_bpr_learns_implicit_feedback_from_a_log():
    """BPR on log data (positives only): items co-liked within a user group rank above the rest."""
    rng = np.random.default_rng(0)
    n_users, n_items = 120, 40
    group = rng.integers(0, 2, n_users)
    users, items = [], []
    for u in range(n_users):
        liked = rng.choice(np.arange(20) + 20 * group[u], size=6, replace=False)
        users += [u] * 6
        items += list(liked)
    tr = Interactions(np.array(users), np.array(items), np.ones(len(users)), n_users, n_items)
    data = RecData("log", tr, np.arange(n_users), np.arange(n_items))
    m = BPRMF(dim=8, lr=0.05, epochs=30, random_state=0, device="cpu").fit(data)
    scores = m.score_all(np.arange(n_users))
    own = np.where(group[:, None] == 0, scores[:, :20].mean(1)[:, None], scores[:, 20:].mean(1)[:, None])[:, 0]
    other = np.where(group[:, None] == 0, scores[:, 20:].mean(1)[:, None], scores[:, :20].mean(1)[:, None])[:, 0]
    assert (own > other).mean() > 0.9
    recs = m.recommend(0, k=5)
    assert len(recs) == 5 and not set(recs["item_idx"]) & set(tr.item[tr.user == 0])


@pytest.mark.parametrize("cls", [MFIPS, MFSNIPS, DRJL, DRJLFeatures], ids=lambda c: c.name)
def test_debiased_models_early_stop_on_ips_auc(cls, data):
    """The debiased models validate with the inverse-propensity-weighted AUC of the validation slice (not the
    plain, biased AUC) and early-stop / report best_val_ (what tune() ranks by) on it."""
    m = cls(random_state=0, **FAST).fit(data)
    assert m.monitor_ == "ips_auc"
    h = m.history_
    assert all({"val_ips_auc", "val_ips_ndcg@5", "val_auc", "val_ndcg@5"} <= set(r) for r in h)
    ips = [r["val_ips_auc"] for r in h]
    assert m.best_val_ == pytest.approx(max(ips))
    assert m.best_epoch_ == h[int(np.argmax(ips))]["epoch"]
    # stopped patience epochs after the best ips_auc, unless it ran all epochs
    assert len(h) == FAST["epochs"] or len(h) == m.best_epoch_ + FAST["patience"]
    # weights are 1 / the clipped propensities of the same fitted model ('auto' -> logged here)
    v = data.valid
    assert m.propensity_method_ == "logged"
    expected = 1.0 / np.clip(v.propensity, *m.clip)
    assert np.allclose(m._valid_w, expected)
    from causalrec_core.evaluate.metrics import auc_score

    y = (v.value > data.threshold).astype(float)
    final = auc_score(y, m.score(v.user, v.item), weights=expected)
    assert final == pytest.approx(m.best_val_, abs=1e-6)  # the best weights are restored


def test_ips_validation_with_popularity_propensities(data):
    m = MFIPS(propensity="popularity", random_state=0, **FAST).fit(data)
    v = data.valid
    assert m.propensity_method_ == "popularity"
    assert np.allclose(m._valid_w, 1.0 / m.propensity_model_.predict(v.user, v.item))
    assert np.all(m._valid_w <= 1.0 / m.clip[0] + 1e-9)
    assert "val_ips_auc" in m.history_[0] and m.monitor_ == "ips_auc"


def test_naive_models_keep_plain_auc_monitor(data):
    m = MF(random_state=0, **FAST).fit(data)
    assert m.monitor_ == "auc" and "val_ips_auc" not in m.history_[0]


def test_cold_user_scores_cached_per_fitted_weights(data):
    m = MF(random_state=0, **FAST).fit(data)
    first = m.cold_user_scores()
    users = np.flatnonzero(np.diff(m.seen_.indptr) > 0)
    assert first == pytest.approx(m.score_all(users).mean(axis=0))
    first[:] = 0.0  # a caller changing the returned array does not change the cache
    again = m.cold_user_scores()
    assert again == pytest.approx(m.score_all(users).mean(axis=0))
    # refitting (new weights) recomputes: the cache never outlives the weights it came from
    m.set_params(random_state=1).fit(data)
    assert m.cold_user_scores() == pytest.approx(m.score_all(users).mean(axis=0))
    assert not np.allclose(m.cold_user_scores(), again)
