"""Explanations of recommendations are computed from the model and its training data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causalrec_core.errors import ParameterError
from causalrec_core.models.data import Interactions, RecData
from causalrec_core.models.explain import (
    cold_scores_text,
    explain_recommendations,
    explanation_notes,
    item_ref,
    mf_parts,
    plural,
    rated_items,
    recommend,
    user_history,
    user_index_of,
)
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
            assert text.startswith(f"Similar to 'Title {best}' (item 'i{best}'), which you interacted with "
                                   f"(similarity {sims.max():.2f})"), text
        assert text.endswith(".")
    assert explanation_notes(model, data, "u1", recs) == []  # nothing shared: every row names its own item


def test_plural_and_id_references():
    assert plural(1, "item") == "1 item" and plural(2, "item") == "2 items" and plural(0, "item") == "0 items"
    assert plural(1.0, "training positive") == "1 training positive" and plural(1234, "user") == "1,234 users"
    assert plural(2.5, "positive") == "2.5 positives" and plural(3, "query", "queries") == "3 queries"
    assert item_ref(266) == "item '266'"


def test_popularity_counts_and_cold_user():
    data = _data()
    model = make_model("popularity").fit(data)
    recs = model.recommend("nobody", k=2)
    assert bool(recs["cold_user"].iloc[0])
    texts = explain_recommendations(model, data, "nobody", recs)
    # items 0, 1 and 3 have 3, 4 and 3 positives: item 1 first
    assert recs["item_id"].tolist()[0] == "i1"
    assert texts[0] == "4 training positives, #1 of the model's 7 catalogue items by popularity."
    assert texts[1].startswith("3 training positives, #2 of the model's 7 catalogue items")
    assert explanation_notes(model, data, "nobody", recs) == [
        "User 'nobody' has no training history the model learned from, so every item is ranked by the cold-start "
        "fallback: the scores are numbers of training positives."]


def test_cold_user_fallback_and_cold_item_are_said():
    data = _data()
    model = make_model("item-knn").fit(data)
    recs = model.recommend("u5", k=7)  # known id but no history: popularity fallback, item 6 last
    texts = explain_recommendations(model, data, "u5", recs)
    # each row: the item's figure of the popularity fallback; the fallback itself is said once, in the notes
    pop = np.bincount(data.train.item, minlength=7)
    for item, score, text in zip(recs["item_idx"], recs["score"], texts, strict=True):
        assert score == pop[item] and f"{plural(pop[item], 'training positive')}, #" in text, text
    (note,) = explanation_notes(model, data, "u5", recs)
    assert "cold-start fallback: the scores are numbers of training positives." in note and "debiased" not in note
    cold = texts[recs["item_idx"].tolist().index(6)]
    assert cold.startswith("Cold item (no training positives")


def test_sequence_model_lists_recent_items_and_transitions():
    data = _data()

    class Seq:  # stands for a fitted SASRec: only what the explanation reads
        name = "sasrec"
        max_len_ = 2
        item_popularity_ = np.bincount(data.train.item, minlength=7).astype(float)

    recs = pd.DataFrame({"item_id": ["i3", "i5"], "item_idx": [3, 5], "score": [1.0, 0.5], "rank": [1, 2],
                         "cold_user": False})
    texts = explain_recommendations(Seq(), data, "u1", recs)
    # the item-specific part first: training users going from item 1 (u1's last) directly to item 3: u2 and u4
    assert texts[0] == "2 training users went from 'Title 1' (item 'i1') directly to it (of its 3 training positives)."
    assert texts[1] == ("Cold item (no training positives; scored without any positive-interaction evidence); 0 training "
                        "positives; no training user went from your 2 most recent items directly to it."), texts[1]
    # the recent items, the same for every row, are said once
    assert explanation_notes(Seq(), data, "u1", recs) == [
        "Predicted as the next item of user 'u1' from their most recent items, newest first: 'Title 1' (item 'i1'), "
        "'Title 0' (item 'i0')."]
    assert not any("recent items, newest first" in t for t in texts)


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
    assert text == "Estimated uplift +0.150 averaged over the training users."
    assert cold_scores_text(Up(), data, cold) == ("estimated uplifts averaged over the training users", True)


def test_bad_inputs():
    data = _data()
    model = make_model("popularity").fit(data)
    with pytest.raises(ParameterError, match="RecData"):
        explain_recommendations(model, "data", "u0", model.recommend("u0", 2))
    with pytest.raises(ParameterError, match="item_idx"):
        explain_recommendations(model, data, "u0", pd.DataFrame({"x": [1]}))
    assert explain_recommendations(model, data, "u0", model.recommend("u0", 2).iloc[:0]) == []


# ------------------------------------------------------------------------------------------ rating data

# users 0..3, items 0..5, threshold 3; u0 liked i0 (5) and i1 (4), disliked i2 (1); u1 rated i3, i4 and
# i5; u2 rated only low (2, 1); u3 is in the test file only (never seen in train)
RATINGS = [(0, 0, 5), (0, 1, 4), (0, 2, 1), (1, 3, 4), (1, 4, 2), (1, 5, 5), (2, 0, 2), (2, 5, 1)]


def _rating_data(valid=None) -> RecData:
    u, i, r = (np.array(c) for c in zip(*RATINGS, strict=True))
    train = Interactions(user=u, item=i, value=r.astype(float), n_users=4, n_items=6)
    test = Interactions(user=np.array([3, 3, 0]), item=np.array([0, 3, 4]), value=np.array([4.0, 2.0, 5.0]),
                        n_users=4, n_items=6)
    return RecData(kind="rating", train=train, test=test, valid=valid, threshold=3.0,
                   user_ids=np.array([f"u{k}" for k in range(4)]), item_ids=np.array([f"i{k}" for k in range(6)]))


def _hand_set_mf(name: str, **params):
    """A fitted MF model whose learned vectors and biases are set by hand (dim 2)."""
    import torch

    data = _rating_data()
    model = make_model(name, dim=2, epochs=1, device="cpu", **params).fit(data)
    net = model.modules_["net"]
    with torch.no_grad():
        # item vectors: i2 (disliked by u0) is the nearest to i3, but only liked items count
        net.V.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.05], [0.9, 0.1], [0.1, 0.9], [-1.0, 0.0]]))
        net.U.weight.copy_(torch.tensor([[1.0, 2.0], [0.0, 0.0], [0.5, 0.5], [0.0, 0.0]]))
        net.b0.fill_(0.5)
        net.bu.weight.copy_(torch.tensor([[-0.25], [0.0], [0.1], [0.0]]))
        net.bi.weight.copy_(torch.tensor([[0.0], [0.0], [0.0], [0.3], [-0.1], [0.0]]))
    return model, data


def test_rated_items_are_positives_first_with_their_ratings():
    data = _rating_data()
    frame = rated_items(data, 0)
    assert frame["item_id"].tolist() == ["i0", "i1", "i2"]
    assert frame["rating"].tolist() == [5.0, 4.0, 1.0] and frame["positive"].tolist() == [True, True, False]
    assert rated_items(data, 3).empty and rated_items(data, None).empty


def test_mf_names_the_nearest_liked_item_and_splits_the_score():
    model, data = _hand_set_mf("mf")
    recs = recommend(model, data, "u0", k=3)
    # u0's scores: i3 0.9 + 0.2 + 0.3 + 0.25 = 1.65, i4 0.1 + 1.8 - 0.1 + 0.25 = 2.05, i5 -1 + 0.25 = -0.75
    assert recs["item_id"].tolist() == ["i4", "i3", "i5"]
    np.testing.assert_allclose(recs["score"], [2.05, 1.65, -0.75], atol=1e-6)
    texts = explain_recommendations(model, data, "u0", recs)
    # i4 = (0.1, 0.9): nearest liked item i1 = (0, 1), cosine 0.9/|i4| = 0.99
    assert texts[0] == ("Closest to item 'i1', which you rated 4 (cosine 0.99 of the learned item vectors); "
                        "score 2.05 = +1.90 match of your and its learned vectors -0.10 item bias (its appeal to every "
                        "user, 5% of the item-dependent part) +0.25 your offset (the same for every item).")
    # i3 = (0.9, 0.1): the disliked i2 = (1, 0.05) is nearer (cosine 0.998) than the liked i0 (0.994): i0 is named
    assert texts[1].startswith("Closest to item 'i0', which you rated 5 (cosine 0.99 of the learned item vectors); "
                               "score 1.65 = +1.10 match of your and its learned vectors +0.30 item bias (its appeal "
                               "to every user, 21% of the item-dependent part) +0.25 your offset"), texts[1]
    assert "i2" not in texts[1]
    assert not any("recent" in t for t in texts)
    assert explanation_notes(model, data, "u0", recs) == []  # plain MF: nothing shared by the rows
    parts = mf_parts(model, 0, recs["item_idx"])
    np.testing.assert_allclose(parts["score"], recs["score"], atol=1e-6)
    np.testing.assert_allclose(parts["match"] + parts["item_bias"] + parts["offset"], recs["score"], atol=1e-6)


def test_mf_user_without_a_liked_item_is_compared_with_all_rated_items():
    model, data = _hand_set_mf("bpr")
    recs = recommend(model, data, "u2", k=2)  # u2 rated i0 (2) and i5 (1) only
    assert not recs["cold_user"].any() and not set(recs["item_id"]) & {"i0", "i5"}
    texts = explain_recommendations(model, data, "u2", recs)
    # i1 = (0, 1) and i2 = (1, 0.05): nearest of i0 = (1, 0) and i5 = (-1, 0) is i0 for both
    assert all(t.startswith("Closest to item 'i0', which you rated 2 (cosine ") for t in texts), texts
    assert explanation_notes(model, data, "u2", recs) == [
        "User 'u2' rated no item above 3: each row names the closest of all the items they rated."]


def test_debiased_mf_says_its_loss_is_reweighted():
    model, data = _hand_set_mf("mf-ips", propensity="popularity")
    recs = recommend(model, data, "u0", k=2)
    texts = explain_recommendations(model, data, "u0", recs)
    rep = model.clip_report_
    note = (f"Scores learned from a loss reweighted by 1/propensity ({model.propensity_method_} propensities, "
            f"{rep['n_clipped']:,} of {rep['n']:,} clipped).")
    # the note is the same for every row: said once, not in the rows
    assert explanation_notes(model, data, "u0", recs) == [note]
    assert not any("propensit" in t for t in texts), texts
    assert texts[0].startswith("Closest to item 'i1', which you rated 4")
    # a cold user gets the model's own scores for an average training user: learned under the debiased loss
    cold = recommend(model, data, "nobody", k=2)
    avg = np.mean(model.score_all(np.flatnonzero(np.diff(model.seen_.indptr) > 0)), axis=0)
    assert cold["score"].tolist() == pytest.approx(sorted(avg, reverse=True)[:2])
    assert cold_scores_text(model, data, cold) == (
        "the model's scores for an average training user (the mean over its training users)", True)
    (cold_note,) = explanation_notes(model, data, "nobody", cold)
    assert cold_note.startswith("User 'nobody' has no training history the model learned from, so every item is "
                                "ranked by the cold-start fallback: the scores are the model's scores for an average "
                                "training user (the mean over its training users), from what mf-ips learned."), cold_note


def test_rating_test_only_user_gets_the_fallback():
    model, data = _hand_set_mf("mf")
    recs = recommend(model, data, "u3", k=3)  # u3 has an index (test file) but no training rating
    assert recs["cold_user"].all()
    avg = model.cold_user_scores()
    assert recs["score"].tolist() == pytest.approx(sorted(avg, reverse=True)[:3])
    texts = explain_recommendations(model, data, "u3", recs)
    assert all(t.startswith(f"Score {sc:.3f} for an average training user; ")
               for t, sc in zip(texts, recs["score"], strict=True)), texts
    assert cold_scores_text(model, data, recs) == (
        "the model's scores for an average training user (the mean over its training users)", None)
    unknown = recommend(model, data, "nobody", k=3)
    assert unknown["cold_user"].all()
    assert explain_recommendations(model, data, "nobody", unknown) == texts


def test_rating_recommend_leaves_out_items_rated_in_the_validation_slice():
    # fitted on the train less a validation slice holding u0's rating of i1: model.recommend would offer i1
    full = _rating_data()
    keep = ~((full.train.user == 0) & (full.train.item == 1))
    fit = full.with_train(full.train.subset(keep), full.train.subset(~keep))
    model = make_model("mf", dim=2, epochs=1, device="cpu").fit(fit)
    assert "i1" in model.recommend("u0", k=6)["item_id"].tolist()
    recs = recommend(model, full, "u0", k=6)
    assert recs["item_id"].tolist() == [i for i in model.recommend("u0", k=6)["item_id"] if i != "i1"]
    assert recs["rank"].tolist() == list(range(1, len(recs) + 1))
    # an item without training ratings is a cold item, whose untrained vector is not compared
    texts = explain_recommendations(model, full, "u0", recs)
    assert all("which you rated" in t or "untrained" in t for t in texts)


def test_rating_cold_item_is_said():
    model, data = _hand_set_mf("mf")
    one = data.with_train(data.train.subset(data.train.item != 4))  # i4 has no training rating
    model = make_model("mf", dim=2, epochs=1, device="cpu").fit(one)
    recs = pd.DataFrame({"item_id": ["i4", "i3"], "item_idx": [4, 3], "score": [0.0, 0.0], "rank": [1, 2],
                         "cold_user": False})
    texts = explain_recommendations(model, one, "u0", recs)
    assert texts[0].startswith("Cold item (no training ratings; scored without any rating evidence); its item "
                               "vector is untrained, so it is not compared with your items; score ")
    assert not texts[1].startswith("Cold item")


def test_popularity_and_knn_on_ratings_speak_of_ratings():
    data = _rating_data()
    pop = make_model("popularity").fit(data)
    (text,) = explain_recommendations(pop, data, "u0", pop.recommend("u0", k=1))
    assert text.startswith("1 training positive (ratings > 3), #1 of the model's 6 catalogue items by popularity")
    # u1 also liked i0: i3 and i5 (u1's other liked items) are neighbours of u0's i0
    tr = data.train
    more = Interactions(user=np.r_[tr.user, 1], item=np.r_[tr.item, 0], value=np.r_[tr.value, 5.0], n_users=4,
                        n_items=6)
    data = data.with_train(more)
    knn = make_model("item-knn", shrinkage=0.0).fit(data)
    recs = knn.recommend("u0", k=2)
    assert sorted(recs["item_id"]) == ["i3", "i5"]
    texts = explain_recommendations(knn, data, "u0", recs)
    assert all(t.startswith("Similar to item 'i0', which you rated 5 (similarity ") and
               t.endswith("1 of your 2 positively rated items is among its neighbours.") for t in texts), texts


def test_bpr_on_a_log_names_the_nearest_item_interacted_with():
    data = _data()
    model = make_model("bpr", dim=4, epochs=2, device="cpu").fit(data)
    recs = model.recommend("u1", k=3)
    texts = explain_recommendations(model, data, "u1", recs)
    q = mf_parts(model, 1, np.arange(7))["items"]
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    for item, text in zip(recs["item_idx"], texts, strict=True):
        if item == 6:  # the cold item's vector is not compared
            assert text.startswith("Cold item (no training positives; scored without any positive-interaction evidence)")
            continue
        best = [0, 1][int(np.argmax(q[[0, 1]] @ q[item]))]  # u1 interacted with i0 and i1
        assert text.startswith(f"Closest to 'Title {best}' (item 'i{best}'), which you interacted with (cosine "), text
        assert "recent" not in text


def test_items_without_evidence_in_a_neural_models_list_are_counted_in_the_notes():
    data = _data()
    model = make_model("bpr", dim=4, epochs=2, device="cpu").fit(data)
    recs = model.recommend("u1", k=5)  # every item u1 has not seen: item 6 (no training positive) among them
    assert 6 in recs["item_idx"].tolist()
    n_cold = int((np.diff(model.seen_.tocsc().indptr)[recs["item_idx"]] == 0).sum())
    assert n_cold >= 1
    notes = explanation_notes(model, data, "u1", recs)
    assert notes[-1].startswith(f"{plural(n_cold, 'item')} of these 5 ha"), notes
    assert "never saw a positive example of" in notes[-1] and "close to arbitrary" in notes[-1]
    one = recs[recs["item_idx"] == 6]
    assert explanation_notes(model, data, "u1", one)[-1].startswith(
        "1 item of these 1 has no training positives: bpr scores it from item vectors that never saw a positive "
        "example of it (at most negative ones), so its place is close to arbitrary")
    # the popularity fallback and item-knn score such items 0 and say so per row: no note
    knn = make_model("item-knn").fit(data)
    assert not any("close to arbitrary" in n for n in explanation_notes(knn, data, "u1", knn.recommend("u1", k=5)))


def test_cold_item_names_the_logs_positive_events():
    from dataclasses import replace

    data = _data()
    data = replace(data, meta={**(data.meta or {}), "positive_events": ["click", "cart", "purchase"]})
    model = make_model("bpr", dim=4, epochs=2, device="cpu").fit(data)
    recs = model.recommend("u1", k=5)
    texts = explain_recommendations(model, data, "u1", recs)
    cold = texts[recs["item_idx"].tolist().index(6)]
    assert cold.startswith("Cold item (no training positives (click, cart or purchase); scored without any "
                           "positive-interaction evidence)"), cold
