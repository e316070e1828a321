"""Tests of causalrec_core.evaluate.unbiased: the IPS / SNIPS top-k estimate recovers the
missing-at-random metric on a simulation where every pair's relevance is known."""

from __future__ import annotations

import numpy as np
import pytest

from causalrec_core.errors import DataError, ParameterError
from causalrec_core.evaluate.metrics import mean_ci, topk_metrics
from causalrec_core.evaluate.unbiased import ips_topk_metrics, item_observation_propensity
from causalrec_core.models.data import Interactions


class FakeModel:
    def __init__(self, scores):
        self.scores = np.asarray(scores, dtype=np.float64)

    def score_all(self, users):
        return self.scores[np.asarray(users)].copy()


def _inter(mask):
    u, i = np.nonzero(mask)
    return Interactions(user=u, item=i, value=np.ones(len(u)), n_users=mask.shape[0], n_items=mask.shape[1])


@pytest.fixture(scope="module")
def mnar():
    """Relevance for ALL pairs (latent factors, mildly favouring popular items), then positives
    observed with a popularity-dependent probability, split at random into train and test; the
    MAR reference observes the relevant non-train pairs uniformly at the same overall rate."""
    rng = np.random.default_rng(0)
    n_users, n_items = 3000, 200
    pop = np.sort(rng.pareto(1.0, n_items) + 0.05)[::-1]
    pop = pop / pop.max()
    p_obs = np.clip(pop, 0.02, 1) ** 0.5 * 0.8
    logit = rng.normal(size=(n_users, 6)) @ rng.normal(size=(n_items, 6)).T / 2 - 4.0 + 0.3 * np.log(pop)[None, :]
    p_rel = 1 / (1 + np.exp(-logit))
    relevant = rng.random((n_users, n_items)) < p_rel
    observed = relevant & (rng.random((n_users, n_items)) < p_obs[None, :])
    train = observed & (rng.random((n_users, n_items)) < 0.5)
    test = observed & ~train
    rate = test.sum() / (relevant & ~train).sum()
    mar = relevant & ~train & (rng.random((n_users, n_items)) < rate)
    # P(a relevant pair is a test positive | it is not a training positive)
    p_test = p_obs * 0.5 / (1 - 0.5 * p_obs)
    return {"train": _inter(train), "test": _inter(test), "mar": _inter(mar), "p_test": p_test,
            "popularity": FakeModel(np.tile(train.sum(0).astype(float), (n_users, 1))), "oracle": FakeModel(p_rel)}


@pytest.mark.parametrize("name", ["popularity", "oracle"])
def test_ips_is_closer_to_the_mar_metric_than_the_naive_one(mnar, name):
    model, tr = mnar[name], mnar["train"]
    ref = topk_metrics(model, mnar["mar"], exclude=tr)
    naive = topk_metrics(model, mnar["test"], exclude=tr)
    ips = ips_topk_metrics(model, mnar["test"], exclude=tr, propensity=mnar["p_test"])
    for metric in ("ndcg@10", "recall@10"):
        err_naive = abs(naive[metric] - ref[metric])
        err_ips = abs(ips[f"{metric}_ips"] - ref[metric])
        # fixed seed 0: errors naive/IPS are ndcg .142/.009, recall .177/.012 (popularity) and
        # ndcg .071/.022, recall .116/.051 (oracle)
        assert naive[metric] > ref[metric]  # the observed metric flatters both under popularity-driven MNAR
        assert err_ips < 0.6 * err_naive, (metric, ref[metric], naive[metric], ips[f"{metric}_ips"])


def test_popularity_propensity_corrects_the_popularity_recommender(mnar):
    model, tr = mnar["popularity"], mnar["train"]
    prop = item_observation_propensity(tr, eta=0.5)
    assert prop.shape == (200,) and prop.max() == 1.0 and prop.min() >= 0
    ref = topk_metrics(model, mnar["mar"], exclude=tr)
    naive = topk_metrics(model, mnar["test"], exclude=tr)
    ips = ips_topk_metrics(model, mnar["test"], exclude=tr, propensity=prop, clip=0.05)
    assert abs(ips["ndcg@10_ips"] - ref["ndcg@10"]) < 0.5 * abs(naive["ndcg@10"] - ref["ndcg@10"])
    assert ips["clip"]["n_clipped"] > 0  # the rare items fall under the clip, and it says so
    assert ips["clip"]["clip"] == 0.05 and ips["clip"]["min"] < 0.05
    assert 0 < ips["clip"]["share_clipped"] < 1


def test_equal_propensities_give_back_the_observed_metric(mnar):
    model, tr, te = mnar["oracle"], mnar["train"], mnar["test"]
    naive = topk_metrics(model, te, exclude=tr, per_user=True)
    for sn in (True, False):
        ips = ips_topk_metrics(model, te, exclude=tr, propensity=np.full(200, 1.0), self_normalise=sn, per_user=True)
        assert ips["ndcg@10_ips"] == pytest.approx(naive["ndcg@10"], rel=1e-12)
        assert ips["recall@10_ips"] == pytest.approx(naive["recall@10"], rel=1e-12)
        np.testing.assert_array_equal(ips["per_user"]["user"], naive["per_user"]["user"])
        np.testing.assert_allclose(ips["per_user"]["ndcg@10_ips"], naive["per_user"]["ndcg@10"], rtol=1e-12)


def test_snips_and_ips_both_finite_and_per_user_gives_intervals(mnar):
    model, tr, te = mnar["popularity"], mnar["train"], mnar["test"]
    prop = item_observation_propensity(tr)
    snips = ips_topk_metrics(model, te, exclude=tr, propensity=prop, per_user=True)
    ips = ips_topk_metrics(model, te, exclude=tr, propensity=prop, self_normalise=False, per_user=True)
    assert snips["estimator"] == "snips" and ips["estimator"] == "ips"
    for res in (snips, ips):
        assert np.isfinite(res["ndcg@10_ips"]) and np.isfinite(res["recall@10_ips"])
        assert res["n_users"] == len(res["per_user"]["user"]) > 0
        mean, lo, hi = mean_ci(res["per_user"]["ndcg@10_ips"])
        assert lo <= mean <= hi and mean == pytest.approx(res["ndcg@10_ips"])
    assert snips["ndcg@10_ips"] == pytest.approx(ips["ndcg@10_ips"] / snips["normaliser"])


def test_callable_propensity_matches_item_array_and_max_users(mnar):
    model, tr, te, p = mnar["oracle"], mnar["train"], mnar["test"], mnar["p_test"]
    a = ips_topk_metrics(model, te, exclude=tr, propensity=p, max_users=300, seed=3)
    b = ips_topk_metrics(model, te, exclude=tr, propensity=lambda u, i: p[i], max_users=300, seed=3)
    assert a["n_users"] == 300
    assert a["ndcg@10_ips"] == b["ndcg@10_ips"] and a["recall@10_ips"] == b["recall@10_ips"]


def test_item_observation_propensity_counts_distinct_pairs():
    tr = Interactions(user=np.array([0, 0, 1, 2, 2]), item=np.array([0, 0, 0, 1, 0]), value=np.ones(5),
                      n_users=3, n_items=4)
    np.testing.assert_allclose(item_observation_propensity(tr, eta=0.5), [1.0, (1 / 3) ** 0.5, 0.0, 0.0])
    np.testing.assert_allclose(item_observation_propensity(np.array([0, 0, 1]), 3, eta=1.0), [1.0, 0.5, 0.0])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"k": 0}, "k=0 is invalid: it must be an integer >= 1."),
    ({"clip": 0.0}, "clip=0.0 is invalid: it must be a number in (0, 1]."),
    ({"clip": 1.5}, "clip=1.5 is invalid: it must be a number in (0, 1]."),
    ({"self_normalise": "yes"}, "self_normalise='yes' is invalid: it must be True or False."),
    ({"max_users": 0}, "max_users=0 is invalid: it must be an integer >= 1."),
    ({"propensity": np.full(3, 0.5)}, "propensity is invalid: it must be a 1-d array of 4 item propensities"),
    ({"propensity": np.array([0.5, 0.5, np.nan, 0.5])}, "propensity is invalid: it must hold probabilities in [0, 1]"),
    ({"propensity": np.array([0.5, 0.5, 2.0, 0.5])}, "propensity is invalid: it must hold probabilities in [0, 1]"),
    ({"propensity": "popularity"}, "propensity='popularity' is invalid"),
])
def test_invalid_inputs_raise_parameter_error(kwargs, message):
    te = Interactions(user=np.array([0, 1]), item=np.array([1, 2]), value=np.ones(2), n_users=2, n_items=4)
    args = {"exclude": None, "propensity": np.full(4, 0.5), **kwargs}
    with pytest.raises(ParameterError) as err:
        ips_topk_metrics(FakeModel(np.zeros((2, 4))), te, **args)
    assert message in str(err.value)
    with pytest.raises(ParameterError, match=r"eta=0 is invalid: it must be a number > 0\."):
        item_observation_propensity(te, eta=0)


def test_bad_callable_output_and_empty_test_raise_data_error():
    te = Interactions(user=np.array([0, 1]), item=np.array([1, 2]), value=np.ones(2), n_users=2, n_items=4)
    model = FakeModel(np.zeros((2, 4)))
    with pytest.raises(DataError, match="not probabilities"):
        ips_topk_metrics(model, te, exclude=None, propensity=lambda u, i: np.full(len(u), -1.0))
    with pytest.raises(DataError, match="one propensity per test pair"):
        ips_topk_metrics(model, te, exclude=None, propensity=lambda u, i: np.ones(5))
    with pytest.raises(DataError, match="empty"):
        ips_topk_metrics(model, te.subset(np.zeros(2, dtype=bool)), exclude=None, propensity=np.ones(4))
