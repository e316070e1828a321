"""Why an item was recommended: one short sentence per recommended item, computed from the fitted
model and its training data (never a canned phrase).

What each sentence says, by model:

* ``popularity`` — the item's number of training positives and its popularity rank;
* ``item-knn`` — the item the user interacted with that contributes most to the score (the most
  similar one among the item's neighbours), with the similarity;
* ``sasrec`` / ``sasrec-ips`` — the user's most recent items (what the next-item prediction reads)
  and how many training users went from the user's last item directly to this one;
* ``text-mf`` — the item of the user's history whose title embedding is closest to this item's and,
  when the model uses the catalogue attributes, how much they add to the item's score against an
  average item (and the attribute that adds most);
* ``uplift`` — the estimated purchase probability with and without showing the item;
* any other model — the user's most recent items.

Every sentence also says when the item is *cold* (no training interactions) and, for a user the
model has never seen (or one without training history), which fallback ranked the items.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from causalrec_core.errors import ParameterError
from causalrec_core.models.data import RecData

__all__ = ["explain_recommendations", "user_history", "user_index_of"]

RECENT = 3
LABEL_CHARS = 40


def user_index_of(data: RecData, user_id: Any) -> int | None:
    """The index of ``user_id`` in ``data`` (a numeric string also matches an integer id), or None."""
    pos = data.user_index()
    idx = pos.get(user_id)
    if idx is None and isinstance(user_id, str):
        s = user_id.strip()
        idx = pos.get(s)
        if idx is None and s.lstrip("-").isdigit():
            idx = pos.get(int(s))
    return idx


def _positives(data: RecData) -> Any:
    train = data.train
    if data.kind == "rating":
        return train.subset(train.value > data.threshold)
    return train


def user_history(data: RecData, user_idx: int | None) -> np.ndarray:
    """The item indexes of the user's training positives, oldest first (time order where known)."""
    if user_idx is None:
        return np.zeros(0, dtype=np.int64)
    pos = _positives(data)
    rows = np.flatnonzero(pos.user == user_idx)
    if pos.timestamp is not None and len(rows):
        rows = rows[np.argsort(pos.timestamp[rows], kind="stable")]
    return pos.item[rows].astype(np.int64)


def _label(data: RecData, idx: int) -> str:
    item_id = str(data.item_ids[idx])
    text = data.item_text[idx] if data.item_text is not None else ""
    title = str(text).split(". ")[0].strip() if text else ""
    if title.lower().startswith(("category:", "genre:")):
        title = ""
    if len(title) > LABEL_CHARS:
        title = title[: LABEL_CHARS - 1].rstrip() + "…"
    return f"'{title}' ({item_id})" if title else item_id


def _pop_rank(pop: np.ndarray, i: int) -> int:
    return int((pop > pop[i]).sum()) + 1


def _popularity_text(model: Any, pop: np.ndarray, i: int) -> str:
    weighted = getattr(model, "half_life_days", None) is not None and hasattr(model, "scores_")
    if weighted:
        w = np.asarray(model.scores_, dtype=np.float64)
        return (f"{w[i]:.1f} time-weighted training positives (half-life {model.half_life_days:g} days), "
                f"#{_pop_rank(w, i)} of {len(w)} items")
    return f"{pop[i]:g} training positives, #{_pop_rank(pop, i)} of {len(pop)} items by popularity"


def _knn_text(model: Any, data: RecData, hist: np.ndarray, i: int) -> str:
    sim = model.similarity_
    items = np.unique(hist)
    col = np.asarray(sim[items][:, [i]].todense()).ravel()
    hit = col > 0
    if not hit.any():
        return "none of your items is among its nearest neighbours (scored 0 by similarity)"
    best = int(np.argmax(col))
    return (f"similar to {_label(data, int(items[best]))}, which you interacted with (similarity {col[best]:.2f}); "
            f"{int(hit.sum())} of your {len(items)} items are among its neighbours")


def _transitions(data: RecData) -> tuple[np.ndarray, np.ndarray]:
    """(previous item, next item) pairs of consecutive training positives of each user."""
    pos = _positives(data)
    if len(pos) < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if pos.timestamp is not None:
        order = np.lexsort((np.arange(len(pos)), pos.timestamp, pos.user))  # by user, then time, then row
    else:
        order = np.argsort(pos.user, kind="stable")
    u, it = pos.user[order], pos.item[order]
    same = u[1:] == u[:-1]
    return it[:-1][same], it[1:][same]


def _sequence_text(model: Any, data: RecData, hist: np.ndarray, i: int, trans: tuple, pop: np.ndarray) -> str:
    max_len = int(getattr(model, "max_len_", getattr(model, "max_len", RECENT)) or RECENT)
    read = hist[-max_len:]
    recent = ", ".join(_label(data, int(j)) for j in read[::-1][:RECENT])
    text = f"predicted as your next item from your most recent items ({recent}"
    text += f" and {len(read) - RECENT} earlier)" if len(read) > RECENT else ")"
    prev, nxt = trans
    best, best_n = None, 0
    for j in read[::-1][:RECENT]:  # newest first: a tie goes to the most recent item
        n = int(((prev == j) & (nxt == i)).sum())
        if n > best_n:
            best, best_n = int(j), n
    if best is not None:
        text += (f"; {best_n} training user{'s' if best_n != 1 else ''} went from {_label(data, best)} "
                 "directly to it")
    else:
        text += f"; no training user went from these items directly to it ({pop[i]:g} training positives)"
    return text


def _text_similarity_text(model: Any, data: RecData, hist: np.ndarray, i: int) -> str | None:
    emb = getattr(model, "text_embeddings_", None)
    if emb is None or not getattr(model, "use_text", True) or len(hist) == 0:
        return None
    emb = np.asarray(emb, dtype=np.float64)
    items = np.unique(hist)
    norms = np.linalg.norm(emb[items], axis=1) * np.linalg.norm(emb[i])
    if not np.any(norms > 0):
        return None
    cos = np.where(norms > 0, emb[items] @ emb[i] / np.where(norms > 0, norms, 1.0), -np.inf)
    best = int(np.argmax(cos))
    return f"its title is closest to {_label(data, int(items[best]))} from your history (cosine {cos[best]:.2f})"


def _attribute_text(model: Any, u: int | None, i: int) -> str | None:
    """text-mf: the catalogue attributes' share of the score (``TextMF.feature_contributions``)."""
    contrib = getattr(model, "feature_contributions", None)
    names = list(getattr(model, "item_feature_names_", None) or [])
    if contrib is None or not names or u is None:
        return None
    c = np.asarray(contrib(u, i), dtype=np.float64)
    if len(c) != len(names) or not np.any(c):
        return None
    j = int(np.argmax(np.abs(c)))
    return (f"its catalogue attributes add {c.sum():+.2f} to its score against an average item "
            f"(most: {names[j]}, {c[j]:+.2f})")


def _uplift_text(model: Any, u: int, i: int) -> str:
    p0, p1 = model.predict_outcomes(np.array([u]), np.array([i]))
    return (f"estimated uplift {p1[0] - p0[0]:+.3f}: P(purchase) {p1[0]:.3f} if shown vs "
            f"{p0[0]:.3f} if not shown")


def _recent_text(data: RecData, hist: np.ndarray) -> str:
    recent = ", ".join(_label(data, int(j)) for j in hist[::-1][:RECENT])
    return f"scored from your history; your most recent items: {recent}"


def _cold_user_text(model: Any, pop: np.ndarray, i: int, score: float) -> str:
    name = getattr(model, "name", "")
    if name == "uplift":
        return f"largest estimated uplift averaged over the training users ({score:+.3f})"
    return "ranked by the fallback for users without history: " + _popularity_text(model, pop, i)


def explain_recommendations(model: Any, data: RecData, user_id: Any, recs: pd.DataFrame) -> list[str]:
    """One sentence per row of ``recs`` (the frame of ``model.recommend(user_id, k)``).

    ``data`` is the data the model was fitted on (its train split and item index). See the module
    docstring for what each model's sentence says.
    """
    if not isinstance(data, RecData):
        raise ParameterError(f"data must be a RecData; got {type(data).__name__}.")
    if not isinstance(recs, pd.DataFrame) or "item_idx" not in recs.columns:
        raise ParameterError("recs must be the DataFrame returned by model.recommend() (with an item_idx column).")
    if len(recs) == 0:
        return []
    name = getattr(model, "name", "")
    u = user_index_of(data, user_id)
    hist = user_history(data, u)
    pop = np.asarray(getattr(model, "item_popularity_", None) if hasattr(model, "item_popularity_") else
                     np.bincount(_positives(data).item, minlength=data.n_items), dtype=np.float64)
    # a user without training positives is ranked by the fallback, except by the uplift model, which
    # learns a vector for every user with logged exposures (purchases or not)
    cold_user = u is None or (len(hist) == 0 and name != "uplift")
    if "cold_user" in recs.columns and len(recs):
        cold_user = cold_user or bool(recs["cold_user"].iloc[0])
    trans = _transitions(data) if name.startswith("sasrec") and not cold_user else None
    out = []
    for i, score in zip(recs["item_idx"].astype(np.int64).tolist(), recs["score"].astype(float).tolist(),
                        strict=True):
        if cold_user and name != "popularity":
            text = _cold_user_text(model, pop, i, score)
        elif name == "popularity":
            text = _popularity_text(model, pop, i)
        elif name == "item-knn" and hasattr(model, "similarity_"):
            text = _knn_text(model, data, hist, i)
        elif name.startswith("sasrec"):
            text = _sequence_text(model, data, hist, i, trans, pop)
        elif name == "uplift" and hasattr(model, "predict_outcomes"):
            text = _uplift_text(model, u, i)
        else:
            text = (_text_similarity_text(model, data, hist, i) if name == "text-mf" else None) \
                or _recent_text(data, hist)
            attrs = _attribute_text(model, u, i) if name == "text-mf" else None
            if attrs:
                text += "; " + attrs
        if pop[i] == 0:
            how = "scored without any interaction evidence"
            if name == "text-mf":
                sides = [w for w, on in (("its title text", getattr(model, "use_text", False)),
                                         ("its catalogue attributes", getattr(model, "n_item_features_", 0)))
                         if on]
                how = "scored from " + " and ".join(sides) if sides else how
            text = f"cold item (no training interactions; {how}); " + text
        out.append(text[0].upper() + text[1:] + ".")
    return out
