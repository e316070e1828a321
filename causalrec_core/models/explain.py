"""Why an item was recommended: one short sentence per recommended item, computed from the fitted
model and its training data (never a canned phrase), plus the notes shared by all of a user's rows.

Each sentence starts with what is specific to its item; what every row of one user would repeat (the
user's recent items, the debiasing of the loss, the cold-start fallback) is in
:func:`explanation_notes`, to show once next to the rows. Ids are written ``item 'i1'`` and
``user 'u1'`` (a bare numeric id such as ``266`` would read as a count).

What each sentence says, by model:

* ``popularity`` — the item's number of training positives and its popularity rank;
* ``item-knn`` — the item the user interacted with that contributes most to the score (the most
  similar one among the item's neighbours), with the similarity;
* ``sasrec`` / ``sasrec-ips`` — how many training users went from one of the user's most recent items
  directly to this one (the recent items themselves are a note);
* ``text-mf`` — the item of the user's history whose title embedding is closest to this item's and,
  when the model uses the catalogue attributes, how much they add to the item's score against an
  average item (and the attribute that adds most);
* ``uplift`` — the estimated purchase probability with and without showing the item;
* the matrix-factorisation family (``mf``, ``bpr``, ``mf-ips``, ``mf-snips``, ``dr-jl``,
  ``dr-jl-feat``: any model whose ``modules_['net']`` has ``factors(u, i)``) — the item the user
  liked (rated above the threshold; any rated item when none is, or any item interacted with in a
  log) whose learned item vector is closest (cosine) to this item's, and the score split into the
  match of the user and item vectors, the item bias (its appeal to every user) and the user's offset;
  for the debiased ones a note says that the scores come from a loss reweighted by 1/propensity;
* any other model — the item's training positives; a note gives the user's most recent items (logs) or
  how many items they rated (ratings).

Rating data has no time order: no sentence speaks of recent items there, and every item the user
rated counts as their history (positives are the ratings above the threshold).

Every sentence also says when the item is *cold* (no training interactions). For a user the model
has never seen (or one without training history) each sentence gives the fallback's figure for the
item and a note says what the fallback's scores are (:func:`cold_scores_text`), and whether they are
debiased.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from causalrec_core.errors import ParameterError
from causalrec_core.models.base import _check_k, top_k_frame
from causalrec_core.models.data import RecData

__all__ = ["cold_scores_text", "events_text", "explain_recommendations", "explanation_notes", "item_ref", "mf_parts",
           "plural", "rated_items", "recommend", "user_history", "user_index_of", "user_ref"]

RECENT = 3
LABEL_CHARS = 40


def plural(count: Any, noun: str, many: str | None = None) -> str:
    """``'1 item'``, ``'2 items'``, ``'1,234 items'``, ``'2.5 items'``: the count and the noun, plural unless
    the count is 1 (``many``: an irregular plural)."""
    c = float(count)
    num = f"{int(c):,}" if c.is_integer() else f"{c:,.1f}"
    return f"{num} {noun if c == 1 else (many or noun + 's')}"


def item_ref(item_id: Any) -> str:
    """``item 'i1'``: an item id in running text (a bare ``266`` would read as a count)."""
    return f"item '{item_id}'"


def user_ref(user_id: Any) -> str:
    """``user 'u1'``: a user id in running text."""
    return f"user '{user_id}'"


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


def rated_items(data: RecData, user_idx: int | None) -> pd.DataFrame:
    """The user's training rows as item_idx, item_id, rating, positive: for rating data the items they
    rated, positives first (rating descending, then file order)."""
    cols = {"item_idx": np.zeros(0, dtype=np.int64), "item_id": np.zeros(0, dtype=object),
            "rating": np.zeros(0), "positive": np.zeros(0, dtype=bool)}
    if user_idx is None:
        return pd.DataFrame(cols)
    train = data.train
    rows = np.flatnonzero(train.user == user_idx)
    value = np.asarray(train.value[rows], dtype=np.float64)
    order = np.argsort(-value, kind="stable")
    rows, value = rows[order], value[order]
    item = train.item[rows].astype(np.int64)
    positive = value > data.threshold if data.kind == "rating" else np.ones(len(rows), dtype=bool)
    return pd.DataFrame({"item_idx": item, "item_id": data.item_ids[item].astype(str), "rating": value,
                         "positive": positive})


def recommend(model: Any, data: RecData, user_id: Any, k: int = 10) -> pd.DataFrame:
    """``model.recommend(user_id, k)``, made right for rating data.

    A model is fitted on the training ratings less the validation slice carved from them, so
    ``model.recommend`` would recommend again an item the user rated in that slice, and a user of the
    rating files without a training rating the model learned from (one only in the test file) would be
    scored by an untrained user vector. Here every item the user rated in ``data.train`` is left out,
    and such a user gets the model's cold-start fallback (``cold_user_scores``), marked ``cold_user``.
    Log data: exactly ``model.recommend``.
    """
    k = _check_k(k)
    u = user_index_of(data, user_id)
    if data.kind != "rating" or u is None or not hasattr(model, "seen_"):
        return model.recommend(user_id, k=k)
    rated = np.unique(data.train.item[data.train.user == u])
    if model.seen_.getrow(u).nnz == 0:
        scores = np.asarray(model.cold_user_scores(), dtype=np.float64).copy()
        scores[rated] = -np.inf
        return top_k_frame(model.item_ids_, scores, k, cold=True)
    extra = len(np.setdiff1d(rated, model.seen_.getrow(u).indices))
    recs = model.recommend(data.user_ids[u: u + 1].tolist()[0], k=k + extra)
    recs = recs[~recs["item_idx"].isin(rated)].head(k).reset_index(drop=True)
    recs["rank"] = np.arange(1, len(recs) + 1)
    return recs


def _label(data: RecData, idx: int) -> str:
    item_id = str(data.item_ids[idx])
    text = data.item_text[idx] if data.item_text is not None else ""
    title = str(text).split(". ")[0].strip() if text else ""
    if title.lower().startswith(("category:", "genre:")):
        title = ""
    if len(title) > LABEL_CHARS:
        title = title[: LABEL_CHARS - 1].rstrip() + "…"
    return f"'{title}' ({item_ref(item_id)})" if title else item_ref(item_id)


def _pop_rank(pop: np.ndarray, i: int) -> int:
    return int((pop > pop[i]).sum()) + 1


def _positive_rule(data: RecData) -> str:
    return f" (ratings > {data.threshold:g})" if data.kind == "rating" else ""


def _popularity_text(model: Any, data: RecData, pop: np.ndarray, i: int) -> str:
    weighted = getattr(model, "half_life_days", None) is not None and hasattr(model, "scores_")
    if weighted:
        w = np.asarray(model.scores_, dtype=np.float64)
        return (f"{plural(round(w[i], 1), 'time-weighted training positive')} (half-life "
                f"{model.half_life_days:g} days), #{_pop_rank(w, i)} of the model's {plural(len(w), 'catalogue item')}")
    return (f"{plural(pop[i], 'training positive')}{_positive_rule(data)}, #{_pop_rank(pop, i)} of the "
            f"model's {plural(len(pop), 'catalogue item')} by popularity")


def _yours(data: RecData, rating_of: dict, j: int) -> str:
    """'which you rated 4' (rating data) or 'which you interacted with' (logs)."""
    if data.kind == "rating" and j in rating_of:
        return f"which you rated {rating_of[j]:g}"
    return "which you interacted with"


def _knn_text(model: Any, data: RecData, hist: np.ndarray, i: int, rating_of: dict) -> str:
    sim = model.similarity_
    items = np.unique(hist)
    col = np.asarray(sim[items][:, [i]].todense()).ravel()
    hit = col > 0
    if not hit.any():
        return "none of your items is among its nearest neighbours (scored 0 by similarity)"
    best = int(np.argmax(col))
    return (f"similar to {_label(data, int(items[best]))}, {_yours(data, rating_of, int(items[best]))} "
            f"(similarity {col[best]:.2f}); {int(hit.sum())} of your "
            f"{plural(len(items), 'positively rated item' if data.kind == 'rating' else 'item')} "
            f"{'is' if int(hit.sum()) == 1 else 'are'} among its neighbours")


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


def _sequence_read(model: Any, hist: np.ndarray) -> np.ndarray:
    """The part of the history the next-item prediction reads (its last ``max_len`` items)."""
    max_len = int(getattr(model, "max_len_", getattr(model, "max_len", RECENT)) or RECENT)
    return hist[-max_len:]


def _sequence_note(model: Any, data: RecData, user_id: Any, hist: np.ndarray) -> str:
    read = _sequence_read(model, hist)
    recent = ", ".join(_label(data, int(j)) for j in read[::-1][:RECENT])
    more = f" and {plural(len(read) - RECENT, 'earlier item')}" if len(read) > RECENT else ""
    return f"Predicted as the next item of {user_ref(user_id)} from their most recent items, newest first: {recent}{more}"


def _sequence_text(model: Any, data: RecData, hist: np.ndarray, i: int, trans: tuple, pop: np.ndarray) -> str:
    recent = _sequence_read(model, hist)[::-1][:RECENT]
    prev, nxt = trans
    best, best_n = None, 0
    for j in recent:  # newest first: a tie goes to the most recent item
        n = int(((prev == j) & (nxt == i)).sum())
        if n > best_n:
            best, best_n = int(j), n
    if best is not None:
        return (f"{plural(best_n, 'training user')} went from {_label(data, best)} directly to it (of its "
                f"{plural(pop[i], 'training positive')})")
    return (f"{plural(pop[i], 'training positive')}; no training user went from your "
            f"{plural(len(recent), 'most recent item')} directly to it")


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


#: what the debiased MF models minimise, in words (the note on each of their explanations)
DEBIASED_LOSS = {
    "mf-ips": ("a loss reweighted by 1/propensity", ""),
    "mf-snips": ("a loss reweighted by 1/propensity", "self-normalised"),
    "dr-jl": ("a doubly robust loss", "imputed errors plus residuals reweighted by 1/propensity"),
    "dr-jl-feat": ("a doubly robust loss", "imputed errors plus residuals reweighted by 1/propensity"),
    "sasrec-ips": ("a next-item loss reweighted by 1/propensity", "self-normalised"),
}


def _debias_note(model: Any) -> str | None:
    """What a debiased model's scores were learned from (its loss and clipped propensities), or None."""
    name = getattr(model, "name", "")
    loss, detail = DEBIASED_LOSS.get(name, (None, ""))
    if loss is None and getattr(model, "causal", False) and hasattr(model, "propensity_method_"):
        loss = "a loss reweighted by 1/propensity"
    if loss is None:
        return None
    clip = getattr(model, "clip_report_", None) or {}
    method = getattr(model, "propensity_method_", None) or getattr(model, "propensity_source_", None)
    n_clipped, n = clip.get("n_clipped"), clip.get("n")
    props = ", ".join(h for h in (f"{method} propensities" if method else "",
                                  f"{n_clipped:,} of {n:,} clipped" if isinstance(n_clipped, (int, np.integer))
                                  and isinstance(n, (int, np.integer)) else "") if h)
    how = "; ".join(h for h in (detail, props) if h)
    return f"Scores learned from {loss}" + (f" ({how})" if how else "")


def _mf_net(model: Any) -> Any:
    """The scoring network of a matrix-factorisation model (one with ``factors(u, i)``), or None."""
    net = (getattr(model, "modules_", None) or {}).get("net")
    return net if callable(getattr(net, "factors", None)) else None


def mf_parts(model: Any, user_idx: int, items: Any) -> dict[str, np.ndarray]:
    """The learned vectors and the score split of an MF model for one user and some items.

    ``score = match + item_bias + offset`` per item, where ``match = <p_u, q_i>`` (the user and item
    vectors, side features included), ``item_bias`` the item's bias (its appeal to every user, side
    features included) and ``offset`` the global plus user bias (the same for every item). Keys: user
    (dim,), items (n, dim), match, item_bias, offset, score (n,).
    """
    import torch

    net = _mf_net(model)
    if net is None:
        raise ParameterError(f"model {getattr(model, 'name', type(model).__name__)!r} is not a matrix-factorisation "
                             "model (no modules_['net'] with factors()).")
    items = np.array(items, dtype=np.int64)  # a writable copy for torch
    try:
        dev = next(net.parameters()).device
    except StopIteration:
        dev = "cpu"
    with torch.no_grad():
        ii = torch.as_tensor(items, device=dev)
        p, q, b = net.factors(torch.full_like(ii, int(user_idx)), ii)
        item_bias = torch.zeros(len(items), device=dev)
        if getattr(net, "bias", False) and hasattr(net, "bi"):
            item_bias = item_bias + net.bi(ii).squeeze(-1).float()
        if getattr(net, "has_if", False):
            item_bias = item_bias + net.wi(net.itf[ii]).squeeze(-1).float()
    p, q, b, item_bias = (x.float().cpu().numpy().astype(np.float64) for x in (p, q, b, item_bias))
    match = (p * q).sum(axis=1)
    user = p[0] if len(p) else np.zeros(q.shape[1])
    return {"user": user, "items": q, "match": match, "item_bias": item_bias, "offset": b - item_bias,
            "score": match + b}


def _mf_texts(model: Any, data: RecData, u: int, items: np.ndarray, rated: pd.DataFrame,
              cold_items: np.ndarray) -> list[str]:
    """MF explanations of ``items`` for user ``u``, computed for all items at once (module docstring)."""
    liked = rated[rated["positive"]]
    basis = liked if len(liked) else rated
    cand, first = np.unique(basis["item_idx"].to_numpy(np.int64), return_index=True)
    cand_rating = basis["rating"].to_numpy(np.float64)[first]
    k = len(items)
    parts = mf_parts(model, u, np.r_[items, cand])
    q = parts["items"]
    qn = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    cos = qn[:k] @ qn[k:].T  # (k, len(cand))
    cos[items[:, None] == cand[None, :]] = -np.inf  # never the item itself
    match, bias, offset = parts["match"][:k], parts["item_bias"][:k], parts["offset"][:k]
    has_bias = bool(np.any(parts["item_bias"] != 0))
    rating_of = dict(zip(cand.tolist(), cand_rating.tolist(), strict=True))
    out = []
    for r in range(k):
        if cold_items[r] and not (getattr(model, "use_features", False) and data.item_features is not None):
            text = "its item vector is untrained, so it is not compared with your items"
        elif len(cand) and np.isfinite(cos[r]).any():
            j = int(np.argmax(cos[r]))
            text = (f"closest to {_label(data, int(cand[j]))}, {_yours(data, rating_of, int(cand[j]))} "
                    f"(cosine {cos[r, j]:.2f} of the learned item vectors)")
        else:
            text = "no other item of yours to compare its learned item vector with"
        score = match[r] + bias[r] + offset[r]
        text += f"; score {score:.2f} = {match[r]:+.2f} match of your and its learned vectors"
        if has_bias:
            size = abs(match[r]) + abs(bias[r])
            share = f", {abs(bias[r]) / size:.0%} of the item-dependent part" if size > 0 else ""
            text += f" {bias[r]:+.2f} item bias (its appeal to every user{share})"
        if has_bias or offset[r] != 0:
            text += f" {offset[r]:+.2f} your offset (the same for every item)"
        out.append(text)
    return out


def events_text(events: Any, conjunction: str = "or") -> str:
    """Event names in words: 'click, cart, fav or purchase'."""
    events = [str(e) for e in events]
    if len(events) <= 1:
        return "".join(events)
    return ", ".join(events[:-1]) + f" {conjunction} " + events[-1]


def _training_evidence(data: RecData) -> str:
    """What a model learned from, per item: 'training ratings', or the log's positive events by name
    (views and exposures are not positives, so an item can be shown and viewed and still have none)."""
    if data.kind == "rating":
        return "training ratings"
    events = list((data.meta or {}).get("positive_events") or [])
    return "training positives" + (f" ({events_text(events)})" if events else "")


def _cold_item_how(model: Any, data: RecData) -> str:
    name = getattr(model, "name", "")
    evidence = "rating" if data.kind == "rating" else "positive-interaction"
    if name == "text-mf":
        sides = [w for w, on in (("its title text", getattr(model, "use_text", False)),
                                 ("its catalogue attributes", getattr(model, "n_item_features_", 0))) if on]
        if sides:
            return "scored from " + " and ".join(sides)
    if _mf_net(model) is not None and getattr(model, "use_features", False) and data.item_features is not None:
        return "scored from its item features"
    return f"scored without any {evidence} evidence"




def _recent_note(data: RecData, user_id: Any, hist: np.ndarray, rated: pd.DataFrame) -> str:
    who = user_ref(user_id)
    if data.kind == "rating":  # no time order: no "recent" items
        return (f"Scored from the {plural(len(rated), 'item')} {who} rated "
                f"({int(rated['positive'].sum())} above {data.threshold:g})")
    recent = ", ".join(_label(data, int(j)) for j in hist[::-1][:RECENT])
    return f"Scored from the history of {who}; their most recent items, newest first: {recent}"


def _cold_user_text(model: Any, data: RecData, pop: np.ndarray, i: int, score: float) -> str:
    """A cold user's row: the fallback's figure for the item (what the fallback is: the notes)."""
    if getattr(model, "name", "") == "uplift":
        return f"estimated uplift {score:+.3f} averaged over the training users"
    if getattr(model, "cold_user_rule", None) == "average training user":
        return f"score {score:.3f} for an average training user; {_popularity_text(model, data, pop, i)}"
    return _popularity_text(model, data, pop, i)


def cold_scores_text(model: Any, data: RecData, recs: pd.DataFrame) -> tuple[str, bool | None]:
    """(what the scores of a cold user's ``recs`` are, whether they are debiased: None when not known).

    Read from the scores themselves (the values of ``model.cold_user_scores()``): the item's number
    of training positives (``item_popularity_``, or the time-weighted ``scores_`` of ``popularity``),
    text-mf's log-popularity of warm items ahead of the cold ones, or the uplift model's averaged
    uplift. Only the last comes from what a causal model learned; a causal model's popularity
    fallback is not debiased.
    """
    items = recs["item_idx"].astype(np.int64).to_numpy()
    s = recs["score"].astype(float).to_numpy()
    causal = bool(getattr(model, "causal", False))
    rule = _positive_rule(data)
    pop = getattr(model, "item_popularity_", None)
    pop = np.asarray(pop, dtype=np.float64) if pop is not None else None
    weighted = getattr(model, "scores_", None) if getattr(model, "half_life_days", None) is not None else None
    if weighted is not None and np.allclose(s, np.asarray(weighted, dtype=np.float64)[items]):
        return (f"time-weighted numbers of training positives{rule} (half-life {model.half_life_days:g} days)",
                False if causal else None)
    if pop is not None and np.allclose(s, pop[items]):
        return f"numbers of training positives{rule}", False if causal else None
    warm = getattr(model, "warm_items_", None)
    if pop is not None and warm is not None:
        w = np.asarray(warm, dtype=bool)[items]
        diff = s[w] - np.log1p(pop[items][w])
        if w.any() and np.allclose(diff, diff[0]) and (w.all() or s[w].min() > s[~w].max()):
            return (f"log(1 + number of training positives{rule}) plus a constant, with the items without training "
                    "data after them by the model's item bias (from their text and attributes)",
                    False if causal else None)
    if getattr(model, "name", "") == "uplift":
        return "estimated uplifts averaged over the training users", True
    if getattr(model, "cold_user_rule", None) == "average training user":
        return ("the model's scores for an average training user (the mean over its training users)",
                True if causal else None)
    return "the model's cold-start scores", None


def _context(model: Any, data: RecData, user_id: Any, recs: pd.DataFrame) -> dict[str, Any]:
    """What the rows and the notes of one user's explanations read."""
    if not isinstance(data, RecData):
        raise ParameterError(f"data must be a RecData; got {type(data).__name__}.")
    if not isinstance(recs, pd.DataFrame) or "item_idx" not in recs.columns:
        raise ParameterError("recs must be the DataFrame returned by model.recommend() (with an item_idx column).")
    name = getattr(model, "name", "")
    u = user_index_of(data, user_id)
    hist = user_history(data, u)
    rated = rated_items(data, u)
    mf = _mf_net(model) is not None
    # a user without training positives is ranked by the fallback, except by the uplift model, which
    # learns a vector for every user with logged exposures (purchases or not), and by a matrix
    # factorisation of ratings, which learns one from the low ratings too
    cold_user = u is None or (len(hist) == 0 and not (name == "uplift" or (mf and len(rated) > 0)))
    if "cold_user" in recs.columns and len(recs):
        cold_user = cold_user or bool(recs["cold_user"].iloc[0])
    return {"name": name, "u": u, "hist": hist, "rated": rated, "mf": mf, "cold_user": cold_user}


def explanation_notes(model: Any, data: RecData, user_id: Any, recs: pd.DataFrame) -> list[str]:
    """The sentences shared by every row of :func:`explain_recommendations` for this user, to show once
    next to the rows: the cold-start fallback and what its scores are; the user's most recent items
    (sequence models); the items an MF row compares with when the user rated none above the threshold;
    what a debiased model's loss reweights."""
    c = _context(model, data, user_id, recs)
    if len(recs) == 0:
        return []
    name, hist, rated = c["name"], c["hist"], c["rated"]
    if c["cold_user"]:
        what, debiased = cold_scores_text(model, data, recs)
        text = (f"{user_ref(user_id)[0].upper()}{user_ref(user_id)[1:]} has no training history the model learned "
                f"from, so every item is ranked by the cold-start fallback: the scores are {what}")
        if debiased is False:
            text += (f", not debiased ({name}'s reweighting by 1/propensity applies only to the scores it learned "
                     "for known users)")
        elif debiased:
            text += f", from what {name} learned"
        return [text + "."]
    notes = []
    if name.startswith("sasrec"):
        notes.append(_sequence_note(model, data, user_id, hist))
    elif c["mf"] and data.kind == "rating" and len(rated) and not rated["positive"].any():
        notes.append(f"{user_ref(user_id)[0].upper()}{user_ref(user_id)[1:]} rated no item above "
                     f"{data.threshold:g}: each row names the closest of all the items they rated")
    elif not c["mf"] and name not in ("popularity", "item-knn", "uplift"):
        notes.append(_recent_note(data, user_id, hist, rated))
    note = _debias_note(model)
    if note:
        notes.append(note)
    cold = _unlearned_items(model, data, recs)
    if cold:
        it, its = ("it", "its place is") if cold == 1 else ("them", "their places are")
        notes.append(f"{plural(cold, 'item')} of these {len(recs)} {'has' if cold == 1 else 'have'} no "
                     f"{_training_evidence(data)}: {name} scores {it} from item vectors that never saw a positive "
                     f"example of {it} (at most negative ones), so {its} close to arbitrary; a model with a "
                     "cold-item path (text-mf, or item features) ranks such items from evidence")
    return [n + "." for n in notes]


def _unlearned_items(model: Any, data: RecData, recs: pd.DataFrame) -> int:
    """How many of ``recs`` have no training evidence and are scored by a neural model without a cold-item
    path (text or item features), i.e. from item parameters that never saw a positive example (popularity
    and item-knn score such items 0, which their rows say)."""
    if (not hasattr(model, "modules_") or getattr(model, "name", "") in ("text-mf", "uplift")
            or getattr(model, "use_features", False)):
        return 0
    seen = getattr(model, "seen_", None)
    if seen is None:
        return 0
    n_rows = np.asarray(seen.sum(axis=0), dtype=np.float64).ravel()
    items = recs["item_idx"].astype(np.int64).to_numpy()
    return int((n_rows[items[(items >= 0) & (items < len(n_rows))]] == 0).sum())


def explain_recommendations(model: Any, data: RecData, user_id: Any, recs: pd.DataFrame) -> list[str]:
    """One sentence per row of ``recs`` (the frame of :func:`recommend` or ``model.recommend(user_id, k)``),
    starting with what is specific to the item; what all the rows share is in :func:`explanation_notes`.

    ``data`` is the data the model was fitted on (its train split and item index). See the module
    docstring for what each model's sentence says.
    """
    c = _context(model, data, user_id, recs)
    if len(recs) == 0:
        return []
    name, u, hist, rated, cold_user = c["name"], c["u"], c["hist"], c["rated"], c["cold_user"]
    pop = np.asarray(getattr(model, "item_popularity_", None) if hasattr(model, "item_popularity_") else
                     np.bincount(_positives(data).item, minlength=data.n_items), dtype=np.float64)
    seen = getattr(model, "seen_", None)  # what the model was fitted on (rating data: less the validation slice)
    n_rows = (np.asarray(seen.sum(axis=0), dtype=np.float64).ravel() if seen is not None and seen.shape[1] == len(pop)
              else np.bincount(data.train.item, minlength=data.n_items).astype(np.float64))
    items = recs["item_idx"].astype(np.int64).to_numpy()
    trans = _transitions(data) if name.startswith("sasrec") and not cold_user else None
    mf_texts = _mf_texts(model, data, u, items, rated, n_rows[items] == 0) if c["mf"] and not cold_user else None
    rating_of = dict(zip(rated["item_idx"].tolist(), rated["rating"].tolist(), strict=True))
    out = []
    for r, (i, score) in enumerate(zip(items.tolist(), recs["score"].astype(float).tolist(), strict=True)):
        if cold_user and name != "popularity":
            text = _cold_user_text(model, data, pop, i, score)
        elif name == "popularity":
            text = _popularity_text(model, data, pop, i)
        elif name == "item-knn" and hasattr(model, "similarity_"):
            text = _knn_text(model, data, hist, i, rating_of)
        elif name.startswith("sasrec"):
            text = _sequence_text(model, data, hist, i, trans, pop)
        elif name == "uplift" and hasattr(model, "predict_outcomes"):
            text = _uplift_text(model, u, i)
        elif mf_texts is not None:
            text = mf_texts[r]
        else:
            parts = [_text_similarity_text(model, data, hist, i) if name == "text-mf" else None,
                     _attribute_text(model, u, i) if name == "text-mf" else None]
            text = "; ".join(p for p in parts if p) or _popularity_text(model, data, pop, i)
        if n_rows[i] == 0:
            text = f"cold item (no {_training_evidence(data)}; {_cold_item_how(model, data)}); " + text
        out.append(text[0].upper() + text[1:] + ".")
    return out
