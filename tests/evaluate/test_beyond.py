"""Beyond-accuracy metrics on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import sparse

from causalrec_core.errors import DataError, ParameterError
from causalrec_core.evaluate.beyond import (
    average_popularity,
    beyond_accuracy,
    catalogue_coverage,
    category_diversity,
    gini_index,
    intra_list_diversity,
    novelty,
    personalisation,
    popularity_lift,
    recommendation_matrix,
)
from causalrec_core.models.data import Interactions

RECS = np.array([[0, 1], [0, 2], [0, 1]])
POP = np.array([4.0, 2.0, 1.0, 1.0, 0.0])
ONE_HOT = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [0, 0]], dtype=np.float32)  # item 4: no category


def test_coverage_and_gini():
    assert catalogue_coverage(RECS, 5) == pytest.approx(3 / 5)
    # counts [3, 2, 1, 0, 0] -> sorted [0, 0, 1, 2, 3]; G = sum((2i - n - 1) x_i) / (n sum x)
    assert gini_index(RECS, 5) == pytest.approx((0 * 1 + 2 * 2 + 4 * 3) / (5 * 6))
    assert gini_index(np.array([[0, 1], [2, 3]]), 4) == pytest.approx(0.0)  # everyone equally often
    assert gini_index(np.array([[0], [0]]), 4) == pytest.approx(3 / 4)  # one item takes every slot: (n-1)/n


def test_novelty_hand_value():
    p = (POP + 1) / (POP.sum() + 5)  # Laplace smoothing 1
    info = -np.log2(p)
    per_user = [(info[0] + info[1]) / 2, (info[0] + info[2]) / 2, (info[0] + info[1]) / 2]
    assert novelty(RECS, POP) == pytest.approx(np.mean(per_user))
    q = POP / POP.sum()
    assert novelty(np.array([[0], [1]]), POP, smoothing=0) == pytest.approx((-math.log2(q[0]) - math.log2(q[1])) / 2)
    assert novelty(np.array([[4]]), POP) > novelty(np.array([[0]]), POP)  # an unseen item is the most novel


def test_popularity_and_lift():
    assert average_popularity(RECS, POP) == pytest.approx((3.0 + 2.5 + 3.0) / 3)
    base = (POP ** 2).sum() / POP.sum()  # 22 / 8
    assert popularity_lift(RECS, POP) == pytest.approx((8.5 / 3) / base - 1)
    assert popularity_lift(np.array([[0]]), np.array([1.0, 1.0])) == pytest.approx(0.0)


def test_personalisation_hand_value():
    # Jaccard: (u0, u1) = 1/3, (u0, u2) = 1, (u1, u2) = 1/3
    assert personalisation(RECS) == pytest.approx(1 - (1 / 3 + 1 + 1 / 3) / 3)
    assert personalisation(np.array([[0, 1], [2, 3]])) == pytest.approx(1.0)
    assert personalisation(np.array([[0, 1], [1, 0]])) == pytest.approx(0.0)
    assert math.isnan(personalisation(np.array([[0, 1]])))
    big = np.random.default_rng(0).integers(0, 50, size=(300, 5))
    assert personalisation(big, max_users=40, seed=1) == personalisation(big, max_users=40, seed=1)


def test_intra_list_diversity_one_hot_and_dense():
    # u0: items 0, 1 share a category (cos 1) -> 0; u1: 0, 2 differ -> 1; u2 like u0
    assert intra_list_diversity(RECS, ONE_HOT) == pytest.approx(1 / 3)
    f = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    # pairs (0,1) = 1/sqrt2, (0,2) = 0, (1,2) = 1/sqrt2
    expected = 1 - (2 / math.sqrt(2)) / 3
    assert intra_list_diversity(np.array([[0, 1, 2]]), f) == pytest.approx(expected)
    assert intra_list_diversity(np.array([[0, 1, 2]]), sparse.csr_matrix(f)) == pytest.approx(expected)
    assert intra_list_diversity(np.array([[0, 1, 2]]), 5 * f) == pytest.approx(expected)  # scale-free
    # a zero vector (no category) is similar to nothing; a one-item (padded) list is left out
    assert intra_list_diversity(np.array([[0, 4], [0, -1]]), ONE_HOT) == pytest.approx(1.0)
    assert math.isnan(intra_list_diversity(np.array([[0, -1]]), ONE_HOT))


def test_category_diversity():
    cats = np.array([0, 0, 1, 1, -1])
    assert category_diversity(RECS, cats) == pytest.approx((1 + 2 + 1) / 3)
    assert category_diversity(np.array([[4, 0, -1]]), cats) == pytest.approx(1.0)  # unknown and padding not counted


def test_beyond_accuracy_collects_everything():
    out = beyond_accuracy(RECS, n_items=5, item_popularity=POP, item_features=ONE_HOT)
    assert out["coverage"] == pytest.approx(0.6)
    assert out["gini"] == pytest.approx(16 / 30)
    assert out["personalisation"] == pytest.approx(4 / 9)
    assert out["ild"] == pytest.approx(1 / 3)
    assert out["categories_per_list"] == pytest.approx(4 / 3)
    assert out["avg_popularity"] == pytest.approx(8.5 / 3)
    assert out["n_users"] == 3 and out["k"] == 2
    assert out["novelty"] == pytest.approx(novelty(RECS, POP))
    dense = beyond_accuracy(RECS, n_items=5, item_popularity=POP, item_features=np.eye(5) + 0.5)
    assert "ild" in dense and "categories_per_list" not in dense
    assert "ild" not in beyond_accuracy(RECS, n_items=5, item_popularity=POP)


def test_padding_is_ignored():
    padded = np.array([[0, 1, -1], [0, 2, -1], [0, 1, -1]])
    a = beyond_accuracy(RECS, n_items=5, item_popularity=POP, item_features=ONE_HOT)
    b = beyond_accuracy(padded, n_items=5, item_popularity=POP, item_features=ONE_HOT)
    assert {k: v for k, v in a.items() if k != "k"} == pytest.approx({k: v for k, v in b.items() if k != "k"})


def test_errors():
    with pytest.raises(ParameterError, match="2-d"):
        beyond_accuracy(np.array([0, 1]), n_items=5, item_popularity=POP)
    with pytest.raises(ParameterError, match="recs=5"):
        beyond_accuracy(np.array([[0, 5]]), n_items=5, item_popularity=POP)
    with pytest.raises(ParameterError, match="one entry per item"):
        beyond_accuracy(RECS, n_items=5, item_popularity=POP[:3])
    with pytest.raises(DataError, match=">= 0"):
        beyond_accuracy(RECS, n_items=5, item_popularity=-POP)
    with pytest.raises(ParameterError, match="n_items=0"):
        catalogue_coverage(RECS, 0)
    with pytest.raises(ParameterError, match="integer"):
        catalogue_coverage(RECS.astype(float), 5)


class _Fake:
    def __init__(self, scores):
        self.scores = np.asarray(scores, dtype=np.float64)

    def score_all(self, users):
        return self.scores[np.asarray(users)]


def test_recommendation_matrix_ties_exclusion_padding():
    scores = np.array([[1.0, 3.0, 3.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    out = recommendation_matrix(_Fake(scores), [0, 1], k=3, batch_users=1)
    assert out.tolist() == [[1, 2, 0], [0, 1, 2]]  # ties -> lower index first
    seen = Interactions(user=np.array([0, 0, 0]), item=np.array([1, 2, 3]), value=np.ones(3), n_users=2, n_items=4)
    out = recommendation_matrix(_Fake(scores), [0, 1], k=3, exclude=seen)
    assert out.tolist() == [[0, -1, -1], [0, 1, 2]]
    assert recommendation_matrix(_Fake(scores), [1], k=6).tolist() == [[0, 1, 2, 3, -1, -1]]
    with pytest.raises(ParameterError, match="k=0"):
        recommendation_matrix(_Fake(scores), [0], k=0)
