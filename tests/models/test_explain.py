"""Explanations of recommendations are computed from the model and its training data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causalrec_core.errors import ParameterError
from causalrec_core.models.data import Interactions, RecData
from causalrec_core.models.explain import explain_recommendations, user_history, user_index_of
from causalrec_core.models.registry import make_model

# users 0..5, items 0..6; item 6 has no training interaction (cold); user 'u5' has no history
ROWS = [  # (user, item, time)
    (0, 0, 1), (0, 1, 2), (0, 2, 3),
    (1, 0, 1), (1, 1, 2),
    (2, 0, 4), (2, 1, 5), (2, 3, 6),
    (3, 2, 1), (3, 3, 2), (3, 4, 3),
    (4, 1, 1), (4, 3, 2),
]


def _data() -> RecData:
    u, i, t = (np.array(c) for c in zip(*ROWS, strict=True))
    train = Interactions(user=u, item=i, value=np.ones(len(u)), n_users=6, n_items=7, timestamp=t)
    test = Interactions(user=np.array([0, 1]), item=np.array([5, 2]), value=np.ones(2), n_users=6, n_items=7,
                        timestamp=np.array([10, 10]))
    titles = [f"Title {k}. category: c{k % 2}" for k in range(7)]
    return RecData(kind="log", train=train, test=test, user_ids=np.array([f"u{k}" for k in range(6)]),
                   item_ids=np.array([f"i{k}" for k in range(7)]), item_text=titles)


def test_user_history_is_in_time_order():
    data = _data()
    assert user_history(data, 2).tolist() == [0, 1, 3]
    assert user_history(data, 5).tolist() == []
    assert user_history(data, None).tolist() == []


def test_user_index_of_matches_numeric_strings():
    data = _data()
    assert user_index_of(data, "u3") == 3 and user_index_of(data, " u3 ") == 3
    assert user_index_of(data, "nobody") is None
    numeric = RecData(kind="log", train=data.train, user_ids=np.arange(10, 16), item_ids=data.item_ids)
    assert user_index_of(numeric, "12") == 2 and user_index_of(numeric, 12) == 2


def test_item_knn_names_the_most_similar_history_item():
    data = _data()
    model = make_model("item-knn", shrinkage=0.0).fit(data)
    recs = model.recommend("u1", k=3)
    texts = explain_recommendations(model, data, "u1", recs)
    assert len(texts) == len(recs)
    hist = [0, 1]
    for item, text in zip(recs["item_idx"], texts, strict=True):
        sims = np.asarray(model.similarity_[hist][:, [item]].todense()).ravel()
        if sims.max() > 0:
            best = hist[int(np.argmax(sims))]
            assert f"(i{best})" in text and f"similarity {sims.max():.2f}" in text, text
        assert text.endswith(".")


def test_popularity_counts_and_cold_user():
    data = _data()
    model = make_model("popularity").fit(data)
    recs = model.recommend("nobody", k=2)
    assert bool(recs["cold_user"].iloc[0])
    texts = explain_recommendations(model, data, "nobody", recs)
    # items 0, 1 and 3 have 3, 4 and 3 positives: item 1 first
    assert recs["item_id"].tolist()[0] == "i1"
    assert texts[0].startswith("4 training positives, #1 of 7 items")


def test_cold_user_fallback_and_cold_item_are_said():
    data = _data()
    model = make_model("item-knn").fit(data)
    recs = model.recommend("u5", k=7)  # known id but no history: popularity fallback, item 6 last
    texts = explain_recommendations(model, data, "u5", recs)
    assert all("fallback for users without history" in t for t in texts)
    cold = texts[recs["item_idx"].tolist().index(6)]
    assert cold.startswith("Cold item (no training interactions")


def test_sequence_model_lists_recent_items_and_transitions():
    data = _data()

    class Seq:  # stands for a fitted SASRec: only what the explanation reads
        name = "sasrec"
        max_len_ = 2
        item_popularity_ = np.bincount(data.train.item, minlength=7).astype(float)

    recs = pd.DataFrame({"item_id": ["i3", "i5"], "item_idx": [3, 5], "score": [1.0, 0.5], "rank": [1, 2],
                         "cold_user": False})
    texts = explain_recommendations(Seq(), data, "u1", recs)
    assert "most recent items ('Title 1' (i1), 'Title 0' (i0))" in texts[0]
    # training users going from item 1 (u1's last) directly to item 3: u2 and u4
    assert "2 training users went from 'Title 1' (i1) directly to it" in texts[0]
    assert "no training user went from these items directly to it (0 training positives)" in texts[1]


def test_uplift_reports_both_probabilities():
    data = _data()

    class Up:
        name = "uplift"
        item_popularity_ = np.bincount(data.train.item, minlength=7).astype(float)

        def predict_outcomes(self, users, items):
            return np.full(len(items), 0.10), np.full(len(items), 0.25)

    recs = pd.DataFrame({"item_id": ["i2"], "item_idx": [2], "score": [0.15], "rank": [1], "cold_user": False})
    (text,) = explain_recommendations(Up(), data, "u0", recs)
    assert text.startswith("Estimated uplift +0.150: P(purchase) 0.250 if shown vs 0.100 if not shown")
    # a known user without training positives is still scored personally by the uplift model (it
    # learns from the logged exposures): no fallback sentence
    (text,) = explain_recommendations(Up(), data, "u5", recs)
    assert text.startswith("Estimated uplift +0.150: P(purchase) 0.250 if shown")
    # an unknown user is ranked by the averaged uplift
    cold = recs.assign(cold_user=True)
    (text,) = explain_recommendations(Up(), data, "someone-new", cold)
    assert text.startswith("Largest estimated uplift averaged over the training users (+0.150)")


def test_bad_inputs():
    data = _data()
    model = make_model("popularity").fit(data)
    with pytest.raises(ParameterError, match="RecData"):
        explain_recommendations(model, "data", "u0", model.recommend("u0", 2))
    with pytest.raises(ParameterError, match="item_idx"):
        explain_recommendations(model, data, "u0", pd.DataFrame({"x": [1]}))
    assert explain_recommendations(model, data, "u0", model.recommend("u0", 2).iloc[:0]) == []
