"""Tests of causalrec_core.evaluate.metrics against sklearn and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from causalrec_core.errors import DataError, ParameterError
from causalrec_core.evaluate.metrics import auc_score, mean_ci, rating_metrics, ratio_ci, topk_metrics
from causalrec_core.models.data import Interactions

L2 = math.log2


class FakeModel:
    """Anything with ``score_all(users) -> (len(users), n_items)`` can be evaluated."""

    def __init__(self, scores):
        self.scores = np.asarray(scores, dtype=np.float64)
        self.calls = []

    def score_all(self, users):
        users = np.asarray(users)
        self.calls.append(users.copy())
        return self.scores[users].copy()


def _inter(pairs, n_users, n_items):
    u, i = zip(*pairs, strict=True)
    return Interactions(user=np.array(u), item=np.array(i), value=np.ones(len(u)), n_users=n_users, n_items=n_items)


# -- auc ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_auc_matches_sklearn_continuous(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 500)
    s = rng.normal(size=500) + y
    assert auc_score(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_matches_sklearn_with_many_ties(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 400)
    s = rng.integers(0, 4, 400).astype(float) + 0.5 * y  # few distinct values: ties everywhere
    assert auc_score(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_auc_hand_values_and_one_class():
    assert auc_score([0, 1], [0.1, 0.9]) == 1.0
    assert auc_score([0, 1], [0.9, 0.1]) == 0.0
    assert auc_score([0, 1, 1], [0.5, 0.5, 0.5]) == 0.5  # ties count one half
    assert auc_score([0, 0, 1, 1], [1, 2, 2, 3]) == pytest.approx(roc_auc_score([0, 0, 1, 1], [1, 2, 2, 3]))
    assert math.isnan(auc_score([1, 1, 1], [0.1, 0.2, 0.3]))
    assert math.isnan(auc_score([0, 0], [0.1, 0.2]))


# -- rating_metrics --------------------------------------------------------------------------

def _rating_case():
    # user 0: items scored 0.9 (neg), 0.8 (pos), 0.1 (pos); user 1: 0.7 (pos), 0.2 (neg); user 2: no positive
    users = [0, 0, 0, 1, 1, 2, 2]
    labels = [0, 1, 1, 1, 0, 0, 0]
    scores = [0.9, 0.8, 0.1, 0.7, 0.2, 0.5, 0.4]
    return users, labels, scores


def test_rating_metrics_hand_computed_skip():
    users, labels, scores = _rating_case()
    m = rating_metrics(users, labels, scores, k=2, no_positive="skip", per_user=True)
    # user 0, k=2: top = [neg, pos] -> DCG = 1/log2(3); IDCG = 1 + 1/log2(3); recall = 1/2
    nd0 = (1 / L2(3)) / (1 + 1 / L2(3))
    # user 1: top = [pos, neg] -> NDCG 1, recall 1
    assert m["ndcg@2"] == pytest.approx((nd0 + 1.0) / 2)
    assert m["recall@2"] == pytest.approx((0.5 + 1.0) / 2)
    assert m["n_users"] == 2
    assert m["n_pairs"] == 7
    assert list(m["per_user"]["user"]) == [0, 1]
    assert m["auc"] == pytest.approx(roc_auc_score(labels, scores))
    p = 1 / (1 + np.exp(-np.asarray(scores)))
    assert m["mse"] == pytest.approx(np.mean((p - np.asarray(labels)) ** 2))


def test_rating_metrics_hand_computed_one():
    users, labels, scores = _rating_case()
    m = rating_metrics(users, labels, scores, k=2, no_positive="one")
    nd0 = (1 / L2(3)) / (1 + 1 / L2(3))
    assert m["ndcg@2"] == pytest.approx((nd0 + 1.0 + 1.0) / 3)  # user 2 counts as 1
    assert m["recall@2"] == pytest.approx((0.5 + 1.0 + 1.0) / 3)
    assert m["n_users"] == 3


def test_rating_metrics_k1_and_predictions_feed_mse():
    users, labels, scores = _rating_case()
    pred = np.full(7, 0.5)
    m = rating_metrics(users, labels, scores, k=1, predictions=pred)
    assert m["ndcg@1"] == pytest.approx(0.5)  # user 0 top is negative, user 1 top positive
    assert m["recall@1"] == pytest.approx((0.0 + 1.0) / 2)
    assert m["mse"] == pytest.approx(0.25)


def test_rating_metrics_order_of_rows_does_not_matter():
    users, labels, scores = _rating_case()
    perm = np.random.default_rng(0).permutation(7)
    a = rating_metrics(users, labels, scores, k=2)
    b = rating_metrics(np.asarray(users)[perm], np.asarray(labels)[perm], np.asarray(scores)[perm], k=2)
    for key in ("auc", "ndcg@2", "recall@2", "mse"):
        assert a[key] == pytest.approx(b[key])


def test_rating_metrics_errors():
    users, labels, scores = _rating_case()
    with pytest.raises(ParameterError, match="no_positive"):
        rating_metrics(users, labels, scores, no_positive="zero")
    with pytest.raises(ParameterError, match="k=0"):
        rating_metrics(users, labels, scores, k=0)
    with pytest.raises(ParameterError, match="one length"):
        rating_metrics(users[:3], labels, scores)
    with pytest.raises(DataError, match="non-finite"):
        rating_metrics(users, labels, [np.nan] + scores[1:])
    with pytest.raises(DataError, match="no test pairs"):
        rating_metrics([], [], [])


# -- topk_metrics ----------------------------------------------------------------------------

def test_topk_metrics_hand_computed():
    # 3 users x 5 items; train (excluded) and test by hand
    scores = np.array([
        [5.0, 4.0, 3.0, 2.0, 1.0],
        [1.0, 2.0, 3.0, 4.0, 5.0],
        [0.0, 0.0, 9.0, 0.0, 8.0],
    ])
    train = _inter([(0, 0), (1, 4), (2, 2)], 3, 5)
    test = _inter([(0, 2), (0, 4), (1, 0), (2, 4)], 3, 5)
    m = topk_metrics(FakeModel(scores), test, exclude=train, k=2, per_user=True)
    # user 0: ranking without item 0 -> [1, 2]: hit at rank 2 (item 2); 2 relevant
    u0 = {"hr": 1.0, "rec": 0.5, "ndcg": (1 / L2(3)) / (1 + 1 / L2(3))}
    # user 1: ranking without item 4 -> [3, 2]: no hit
    u1 = {"hr": 0.0, "rec": 0.0, "ndcg": 0.0}
    # user 2: ranking without item 2 -> [4, ...]: hit at rank 1
    u2 = {"hr": 1.0, "rec": 1.0, "ndcg": 1.0}
    for key, name in (("hr", "hr@2"), ("rec", "recall@2"), ("ndcg", "ndcg@2")):
        assert m[name] == pytest.approx(np.mean([u0[key], u1[key], u2[key]]))
    assert m["n_users"] == 3
    assert list(m["per_user"]["user"]) == [0, 1, 2]
    # without exclusion user 0 ranks [0, 1]: no hit
    m2 = topk_metrics(FakeModel(scores), test, k=2, per_user=True)
    assert m2["per_user"]["hr@2"][0] == 0.0


def test_topk_metrics_only_test_users_and_sampling():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(50, 30))
    test = _inter([(u, int(rng.integers(30))) for u in range(0, 50, 2)], 50, 30)
    model = FakeModel(scores)
    full = topk_metrics(model, test, k=5, batch_users=7)
    assert full["n_users"] == 25
    assert set(np.concatenate(model.calls).tolist()) == set(range(0, 50, 2))
    a = topk_metrics(FakeModel(scores), test, k=5, max_users=10, seed=3)
    b = topk_metrics(FakeModel(scores), test, k=5, max_users=10, seed=3)
    assert a == b and a["n_users"] == 10


def test_topk_metrics_k_larger_than_catalogue_and_errors():
    scores = np.array([[1.0, 2.0, 3.0]])
    test = _inter([(0, 0)], 1, 3)
    m = topk_metrics(FakeModel(scores), test, k=10)
    assert m["hr@10"] == 1.0 and m["recall@10"] == 1.0
    assert m["ndcg@10"] == pytest.approx(1 / L2(4))  # item 0 is ranked third
    with pytest.raises(ParameterError, match="k=0"):
        topk_metrics(FakeModel(scores), test, k=0)
    with pytest.raises(DataError, match="empty"):
        topk_metrics(FakeModel(scores), test.subset(np.zeros(1, dtype=bool)), k=1)


def test_topk_metrics_excluded_items_never_count_as_hits():
    scores = np.array([[3.0, 2.0, 1.0]])
    train = _inter([(0, 0), (0, 1)], 1, 3)
    test = _inter([(0, 1), (0, 2)], 1, 3)  # item 1 is both seen in train and in test
    m = topk_metrics(FakeModel(scores), test, exclude=train, k=3)
    assert m["hr@3"] == 1.0
    assert m["recall@3"] == pytest.approx(0.5)  # only item 2 can be recommended


# -- mean_ci ---------------------------------------------------------------------------------

def test_mean_ci_contains_mean_and_is_seeded():
    v = np.random.default_rng(0).exponential(size=200)
    mean, lo, hi = mean_ci(v, seed=1)
    assert mean == pytest.approx(v.mean())
    assert lo < mean < hi
    assert mean_ci(v, seed=1) == (mean, lo, hi)
    assert mean_ci(v, seed=2) != (mean, lo, hi)
    wide = mean_ci(v, level=0.99, seed=1)
    assert wide[1] <= lo and wide[2] >= hi


def test_mean_ci_ignores_nan_and_handles_empty():
    mean, lo, hi = mean_ci([1.0, np.nan, 3.0], seed=0)
    assert mean == 2.0 and 1.0 <= lo <= hi <= 3.0
    assert all(math.isnan(x) for x in mean_ci([np.nan]))
    assert mean_ci([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)


# -- weighted auc --------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1])
def test_weighted_auc_unit_weights_equal_unweighted(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300)
    s = rng.integers(0, 6, 300).astype(float) + 0.3 * y  # with ties
    assert auc_score(y, s, weights=np.ones(300)) == pytest.approx(auc_score(y, s), abs=1e-12)
    assert auc_score(y, s, weights=np.full(300, 2.5)) == pytest.approx(auc_score(y, s), abs=1e-12)
    assert auc_score(y, s, weights=None) == auc_score(y, s)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weighted_auc_equals_auc_of_duplicated_rows(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 200)
    s = rng.integers(0, 5, 200).astype(float) + 0.5 * y
    w = rng.integers(0, 4, 200)  # 0 drops the row
    rep = np.repeat(np.arange(200), w)
    assert auc_score(y, s, weights=w) == pytest.approx(auc_score(y[rep], s[rep]), abs=1e-12)
    assert auc_score(y, s, weights=w) == pytest.approx(roc_auc_score(y, s, sample_weight=w), abs=1e-12)


def test_weighted_auc_hand_value_and_errors():
    # pos 0.9 (w=1), pos 0.2 (w=3); neg 0.5 (w=2), neg 0.2 (w=1): (1*3 + 3*0.5) / (4*3)
    assert auc_score([1, 1, 0, 0], [0.9, 0.2, 0.5, 0.2], weights=[1, 3, 2, 1]) == pytest.approx(4.5 / 12)
    assert math.isnan(auc_score([1, 0], [0.3, 0.1], weights=[1, 0]))
    with pytest.raises(ParameterError, match="weights"):
        auc_score([1, 0], [0.3, 0.1], weights=[1, -1])
    with pytest.raises(ParameterError, match="weights"):
        auc_score([1, 0], [0.3, 0.1], weights=[1, np.nan])
    with pytest.raises(ParameterError, match="one length"):
        auc_score([1, 0], [0.3, 0.1], weights=[1, 1, 1])


def test_mean_ci_chunked_resampling_equals_the_direct_formula():
    v = np.random.default_rng(1).normal(size=5003)  # 1000 x 5003 indexes: several chunks
    rows = np.random.default_rng(4).integers(0, len(v), size=(1000, len(v)))
    means = v[rows].mean(axis=1)
    _, lo, hi = mean_ci(v, seed=4)
    assert (lo, hi) == pytest.approx((np.quantile(means, 0.025), np.quantile(means, 0.975)), rel=1e-12)


def test_ratio_ci_point_estimate_and_unit_denominators():
    rng = np.random.default_rng(0)
    num = rng.exponential(size=400)
    est, lo, hi = ratio_ci(num, np.ones(400), seed=3)
    assert est == pytest.approx(num.mean())
    assert (lo, hi) == pytest.approx(mean_ci(num, seed=3)[1:])  # same resamples, same interval
    den = rng.uniform(0.5, 2.0, size=400)
    est, lo, hi = ratio_ci(num, den, seed=3)
    assert est == pytest.approx(num.sum() / den.sum()) and lo < est < hi


def test_ratio_ci_counts_the_normaliser_variance():
    # num = value * den, den heavy-tailed: holding sum(den) fixed understates the spread
    rng = np.random.default_rng(2)
    den = rng.pareto(2.5, size=300) + 0.2
    num = den * rng.binomial(1, 0.3, size=300)
    est, lo, hi = ratio_ci(num, den, seed=0)
    fixed = num / den.mean()
    _, flo, fhi = mean_ci(fixed, seed=0)
    assert mean_ci(fixed, seed=0)[0] == pytest.approx(est)
    assert hi - lo != pytest.approx(fhi - flo)
    # coverage check by simulation: the ratio interval covers the population ratio about 95% of the time
    covered = 0
    for r in range(200):
        g = np.random.default_rng(100 + r)
        d = g.pareto(2.5, size=300) + 0.2
        n = d * g.binomial(1, 0.3, size=300)
        _, a, b = ratio_ci(n, d, n_boot=400, seed=r)
        covered += a <= 0.3 <= b
    assert covered >= 176  # >= 88% of 200 (binomial sd of a 95% rate is 1.5 points)


def test_ratio_ci_errors_and_empty():
    with pytest.raises(DataError, match="differ in shape"):
        ratio_ci([1.0, 2.0], [1.0])
    assert all(math.isnan(x) for x in ratio_ci([], []))
    assert all(math.isnan(x) for x in ratio_ci([1.0], [0.0]))
    est, _, _ = ratio_ci([1.0, np.nan, 3.0], [1.0, 1.0, 1.0])
    assert est == 2.0


def test_pairs_auc_ci_brackets_the_auc_and_resamples_users():
    from causalrec_core.evaluate.metrics import pairs_auc_ci

    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(80), 12)
    taste = rng.normal(size=80)[users]  # pairs of one user share a shift: clustered
    labels = (rng.random(len(users)) < 0.4).astype(float)
    scores = labels * 0.8 + taste + rng.normal(size=len(users))
    est, lo, hi = pairs_auc_ci(users, labels, scores, seed=1)
    assert est == pytest.approx(roc_auc_score(labels, scores))
    assert lo < est < hi
    assert pairs_auc_ci(users, labels, scores, seed=1) == (est, lo, hi)  # seeded
    with pytest.raises(DataError, match="differ in length"):
        pairs_auc_ci(users[:-1], labels, scores)
    est1, lo1, hi1 = pairs_auc_ci([0, 0], [1.0, 1.0], [0.2, 0.3])
    assert math.isnan(est1) and math.isnan(lo1) and math.isnan(hi1)


def test_within_user_auc_hand_value_ignores_user_offsets():
    from causalrec_core.evaluate.metrics import within_user_auc

    users = np.array(["a", "a", "a", "b", "b", "c"])
    labels = np.array([1, 0, 0, 1, 0, 1])
    scores = np.array([0.9, 0.5, 0.95, 0.1, 0.0, 0.3])
    # a: positive 0.9 beats 0.5, loses to 0.95 -> 1/2 (3 pairs); b: 1.0 (2 pairs); c has one class only
    value, n = within_user_auc(users, labels, scores)
    assert n == 2 and value == pytest.approx((0.5 * 3 + 1.0 * 2) / 5)
    # adding a constant per user changes nothing, while the pooled AUC moves
    shifted = scores + np.where(users == "c", 10.0, 0.0)
    assert within_user_auc(users, labels, shifted)[0] == pytest.approx(value)
    assert auc_score(labels, shifted) != pytest.approx(auc_score(labels, scores))


def test_within_user_auc_weights_and_edge_cases():
    from causalrec_core.evaluate.metrics import within_user_auc

    users = np.array([1, 1, 1])
    labels = np.array([1, 0, 0])
    scores = np.array([0.5, 0.9, 0.1])
    assert within_user_auc(users, labels, scores)[0] == pytest.approx(0.5)
    # the negative above the positive weighs 3: 1 of 4 units of negative weight below
    assert within_user_auc(users, labels, scores, np.array([1.0, 3.0, 1.0]))[0] == pytest.approx(0.25)
    assert np.isnan(within_user_auc([1, 2], [1, 0], [0.3, 0.2])[0])
    assert within_user_auc([], [], [])[1] == 0
    with pytest.raises(ParameterError, match="one length"):
        within_user_auc([1, 1], [1, 0], [0.3])
