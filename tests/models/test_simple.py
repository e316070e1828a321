"""Popularity and ItemKNN on tiny hand-made data with exact expected scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from causalrec_core.errors import DataError, NotFittedError, ParameterError
from causalrec_core.models.data import Interactions, RecData
from causalrec_core.models.simple import ItemKNN, Popularity

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"

# users 0..4 (user 5 has no history), items 0..3 (item 3 is cold)
PAIRS = [(0, 0), (0, 1), (1, 0), (1, 2), (2, 0), (3, 1), (3, 2), (4, 1), (4, 2)]


def _log_data(pairs=PAIRS, n_users=6, n_items=4, timestamp=None) -> RecData:
    u, i = (np.array(x) for x in zip(*pairs, strict=True))
    train = Interactions(user=u, item=i, value=np.ones(len(u)), n_users=n_users, n_items=n_items,
                         timestamp=timestamp)
    return RecData(kind="log", train=train, user_ids=np.array([f"u{k}" for k in range(n_users)]),
                   item_ids=np.array([f"i{k}" for k in range(n_items)]))


def _rating_data() -> RecData:
    # the same positives (rating 5) plus negatives (rating 1..3) that must be ignored
    u, i = (list(x) for x in zip(*PAIRS, strict=True))
    v = [5] * len(u)
    u += [2, 2, 5, 0]
    i += [1, 3, 3, 3]
    v += [1, 2, 3, 3]
    train = Interactions(user=np.array(u), item=np.array(i), value=np.array(v, dtype=float), n_users=6, n_items=4)
    return RecData(kind="rating", train=train, user_ids=np.arange(6), item_ids=np.arange(4), threshold=3.0)


def _all_scores(model, n_users=6, n_items=4):
    return model.score_all(np.arange(n_users))


# -- Popularity ------------------------------------------------------------------------------

def test_popularity_exact_scores_and_recommend():
    m = Popularity().fit(_log_data())
    assert m.scores_.tolist() == [3.0, 3.0, 3.0, 0.0]
    assert np.array_equal(_all_scores(m), np.tile([3.0, 3.0, 3.0, 0.0], (6, 1)))
    assert m.score([0, 1], [1, 3]).tolist() == [3.0, 0.0]
    rec = m.recommend("u0", k=5)
    assert rec["item_id"].tolist() == ["i2", "i3"]  # seen items 0, 1 excluded
    assert rec["score"].tolist() == [3.0, 0.0]
    assert not rec["cold_user"].any()
    cold = m.recommend("stranger", k=2)
    assert cold["cold_user"].all() and cold["item_id"].tolist() == ["i0", "i1"]
    p = m.predict([0, 0], [0, 3])
    assert p.tolist() == pytest.approx([3 / 6, 0.0])


def test_popularity_rating_data_uses_threshold():
    m = Popularity().fit(_rating_data())
    assert m.scores_.tolist() == [3.0, 3.0, 3.0, 0.0]
    # P(positive) = (positives + 1) / (ratings + 2): item 1 has 3 positives in 4 ratings
    assert m.predict([0, 0], [1, 3]).tolist() == pytest.approx([4 / 6, 1 / 5])


def test_popularity_time_decay():
    day = 86400
    ts = np.array([0, 0, 10, 10, 10, 0, 10, 10, 10]) * day  # newest = day 10
    m = Popularity(half_life_days=10).fit(_log_data(timestamp=ts))
    # item 0: days 0, 10, 10 -> 0.5 + 1 + 1; item 1: days 0, 0, 10 -> 0.5 + 0.5 + 1; item 2: 10, 10, 10 -> 3
    assert m.scores_.tolist() == pytest.approx([2.5, 2.0, 3.0, 0.0])
    with pytest.raises(DataError, match="half_life_days"):
        Popularity(half_life_days=10).fit(_log_data())
    with pytest.raises(ParameterError, match="half_life_days=0"):
        Popularity(half_life_days=0).fit(_log_data(timestamp=ts))


# -- ItemKNN ---------------------------------------------------------------------------------

def test_item_knn_exact_scores():
    # |U_i| = 3 for items 0, 1, 2; co-occurrence (0,1) = 1, (0,2) = 1, (1,2) = 2
    m = ItemKNN(neighbours=100, shrinkage=1.0).fit(_log_data())
    s = _all_scores(m)
    q = 1 / (3 + 1)  # 1 / (sqrt(3) * sqrt(3) + shrinkage)
    assert s[1].tolist() == pytest.approx([q, 3 * q, q, 0.0])  # user 1 liked items 0, 2 (no self-similarity)
    assert s[2].tolist() == pytest.approx([0.0, q, q, 0.0])  # user 2 liked item 0 only
    assert m.similarity_.toarray() == pytest.approx(np.array([
        [0, q, q, 0], [q, 0, 2 * q, 0], [q, 2 * q, 0, 0], [0, 0, 0, 0]]))
    # score() agrees with score_all()
    uu, ii = np.repeat(np.arange(6), 4), np.tile(np.arange(4), 6)
    assert m.score(uu, ii) == pytest.approx(s.ravel())


def test_item_knn_neighbour_pruning():
    m = ItemKNN(neighbours=1, shrinkage=0.0).fit(_log_data())
    sim = m.similarity_.toarray()
    # target 0: sources 1 and 2 tie at 1/3 -> keeps the lower index 1; targets 1 and 2 keep each other (2/3)
    assert sim[:, 0].tolist() == pytest.approx([0, 1 / 3, 0, 0])
    assert sim[:, 1].tolist() == pytest.approx([0, 0, 2 / 3, 0])
    assert sim[:, 2].tolist() == pytest.approx([0, 2 / 3, 0, 0])
    assert _all_scores(m)[1].tolist() == pytest.approx([0.0, 2 / 3, 0.0, 0.0])


def test_item_knn_rating_data_ignores_negatives():
    a = ItemKNN(shrinkage=1.0).fit(_rating_data())
    b = ItemKNN(shrinkage=1.0).fit(_log_data())
    assert np.allclose(_all_scores(a), _all_scores(b))


def test_item_knn_recommend_cold_users_and_items():
    m = ItemKNN(shrinkage=1.0).fit(_log_data())
    rec = m.recommend("u1", k=10)
    assert rec["item_id"].tolist() == ["i1", "i3"]  # items 0 and 2 are seen
    assert rec["score"].tolist() == pytest.approx([0.75, 0.0])
    # a user in the index without history, and a user never seen: popularity
    assert _all_scores(m)[5].tolist() == [3.0, 3.0, 3.0, 0.0]
    stranger = m.recommend("nobody", k=2)
    assert stranger["cold_user"].all() and stranger["score"].tolist() == [3.0, 3.0]
    # u5 is in the index but has no training row: recommend() treats it as cold, like a stranger
    known_empty = m.recommend("u5", k=2)
    assert known_empty["cold_user"].all() and known_empty["item_id"].tolist() == stranger["item_id"].tolist()
    assert np.isfinite(_all_scores(m)).all()  # the cold item 3 included


@pytest.mark.parametrize("cls", [Popularity, ItemKNN])
def test_deterministic_and_sklearn_style(cls):
    data = _log_data()
    a, b = cls().fit(data), cls().fit(data)
    assert np.array_equal(_all_scores(a), _all_scores(b))
    assert a.recommend("u2", k=3).equals(b.recommend("u2", k=3))
    assert cls.name in ("popularity", "item-knn") and cls.description and cls.kinds == ("rating", "log")
    assert cls.causal is False
    assert "random_state" in cls().get_params()
    with pytest.raises(NotFittedError):
        _ = cls().item_popularity_


def test_item_knn_parameter_errors():
    with pytest.raises(ParameterError, match="neighbours=0"):
        ItemKNN(neighbours=0).fit(_log_data())
    with pytest.raises(ParameterError, match="shrinkage=-1"):
        ItemKNN(shrinkage=-1).fit(_log_data())
    with pytest.raises(ParameterError, match="RecData"):
        ItemKNN().fit("not data")


def test_both_on_sample_log():
    pd = pytest.importorskip("pandas")
    if not (SAMPLE / "events.csv").exists():
        pytest.skip(f"sample data not found: {SAMPLE / 'events.csv'}")
    from causalrec_core.evaluate.metrics import topk_metrics
    from causalrec_core.models.logdata import log_data_from_frames

    data = log_data_from_frames(pd.read_csv(SAMPLE / "events.csv"), pd.read_csv(SAMPLE / "items.csv"))
    for model in (Popularity(), ItemKNN(neighbours=50)):
        model.fit(data)
        s = model.score_all(np.arange(50))
        assert s.shape == (50, data.n_items) and np.isfinite(s).all()
        m = topk_metrics(model, data.test, exclude=data.train, k=10)
        assert m["hr@10"] > 0.1  # far better than random (10 of ~500 items)
