"""Beyond-accuracy metrics of a top-k recommendation matrix.

``recs`` is an ``(n_users, k)`` array of item indexes, one row per user, best first; a negative
entry is padding (a user with fewer than ``k`` recommendations) and is ignored everywhere.

* **coverage** — share of the catalogue recommended to at least one user.
* **gini** — Gini index of how often each item (all ``n_items``, zeros included) is recommended:
  0 = every item equally often, towards 1 = a few items take every slot.
* **novelty** — mean self-information ``-log2 p(i)`` of the recommended items, with ``p(i)`` the
  item's share of the training positives (Laplace-smoothed by ``smoothing`` so that an item with no
  training positive has a finite value); per user, then averaged over users.
* **ild** (intra-list diversity) — ``1 - mean pairwise cosine similarity`` of the item feature
  vectors within each list (an all-zero vector has similarity 0 to everything), averaged over users
  with at least two recommended items. **categories_per_list** — mean number of distinct categories
  per list when the features are a one-hot category encoding.
* **avg_popularity** — mean training popularity of the recommended items (per user, then over
  users); **popularity_lift** — ``avg_popularity / train_popularity - 1`` where
  ``train_popularity = sum(pop^2) / sum(pop)`` is the popularity of the item behind an average
  training positive: > 0 means the lists favour popular items more than the users' own history.
* **personalisation** — ``1 - mean Jaccard similarity`` between the lists of two different users
  (over all pairs of a seeded sample of at most ``max_users`` users): 0 = everyone gets one list.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from causalrec_core.errors import DataError, ParameterError, out_of_range

__all__ = [
    "average_popularity",
    "beyond_accuracy",
    "catalogue_coverage",
    "category_diversity",
    "gini_index",
    "intra_list_diversity",
    "novelty",
    "personalisation",
    "popularity_lift",
    "recommendation_matrix",
]


def _check_recs(recs: Any, n_items: int | None = None) -> np.ndarray:
    r = np.asarray(recs)
    if r.ndim != 2:
        raise ParameterError(f"recs must be a 2-d array (n_users x k) of item indexes; got shape {r.shape}.")
    if r.size and not np.issubdtype(r.dtype, np.integer):
        raise ParameterError(f"recs must hold integer item indexes; got dtype {r.dtype}.")
    r = r.astype(np.int64, copy=False)
    if n_items is not None and r.size and r.max() >= n_items:
        raise out_of_range("recs", int(r.max()), f"item indexes below n_items={n_items} (negative = padding)")
    return r


def _check_n_items(n_items: Any) -> int:
    if isinstance(n_items, bool) or not isinstance(n_items, (int, np.integer)) or n_items < 1:
        raise out_of_range("n_items", n_items, "an integer >= 1")
    return int(n_items)


def _check_popularity(item_popularity: Any, n_items: int) -> np.ndarray:
    pop = np.asarray(item_popularity, dtype=np.float64)
    if pop.shape != (n_items,):
        raise ParameterError(f"item_popularity must have one entry per item ({n_items}); got shape {pop.shape}.")
    if not np.all(np.isfinite(pop)) or (pop < 0).any():
        raise DataError("item_popularity must hold finite counts >= 0.")
    return pop


def _indicator(r: np.ndarray, n_items: int):
    """(n_users x n_items) sparse count matrix of the valid entries of ``r``."""
    from scipy import sparse

    valid = r >= 0
    rows = np.repeat(np.arange(r.shape[0]), valid.sum(axis=1))
    return sparse.csr_matrix((np.ones(int(valid.sum())), (rows, r[valid])), shape=(r.shape[0], n_items))


def _per_user_mean(r: np.ndarray, values: np.ndarray) -> float:
    """Mean over users (with at least one item) of the mean of ``values[item]`` over their list."""
    valid = r >= 0
    m = valid.sum(axis=1)
    sums = np.where(valid, values[np.where(valid, r, 0)], 0.0).sum(axis=1)
    ok = m > 0
    return float(np.mean(sums[ok] / m[ok])) if ok.any() else float("nan")


def catalogue_coverage(recs: Any, n_items: int) -> float:
    """Share of the ``n_items`` items that appear in at least one list."""
    n_items = _check_n_items(n_items)
    r = _check_recs(recs, n_items)
    return float(len(np.unique(r[r >= 0])) / n_items)


def gini_index(recs: Any, n_items: int) -> float:
    """Gini index of the recommendation counts over all ``n_items`` items (zeros included)."""
    n_items = _check_n_items(n_items)
    r = _check_recs(recs, n_items)
    counts = np.sort(np.bincount(r[r >= 0], minlength=n_items).astype(np.float64))
    total = counts.sum()
    if total == 0:
        return float("nan")
    idx = np.arange(1, n_items + 1)
    return float(((2 * idx - n_items - 1) * counts).sum() / (n_items * total))


def novelty(recs: Any, item_popularity: Any, *, smoothing: float = 1.0) -> float:
    """Mean self-information ``-log2 p(i)``, ``p(i) = (pop_i + smoothing) / (sum(pop) + smoothing * n_items)``."""
    pop = np.asarray(item_popularity, dtype=np.float64)
    n_items = len(pop)
    pop = _check_popularity(pop, n_items)
    if not isinstance(smoothing, (int, float)) or isinstance(smoothing, bool) or smoothing < 0:
        raise out_of_range("smoothing", smoothing, "a number >= 0")
    r = _check_recs(recs, n_items)
    denom = pop.sum() + smoothing * n_items
    if denom <= 0:
        raise DataError("item_popularity sums to 0 and smoothing=0: p(i) is undefined.")
    with np.errstate(divide="ignore"):
        info = -np.log2((pop + smoothing) / denom)
    return _per_user_mean(r, info)


def average_popularity(recs: Any, item_popularity: Any) -> float:
    """Mean training popularity of the recommended items (per user, then over users)."""
    pop = _check_popularity(item_popularity, len(np.asarray(item_popularity)))
    r = _check_recs(recs, len(pop))
    return _per_user_mean(r, pop)


def popularity_lift(recs: Any, item_popularity: Any) -> float:
    """``average_popularity / (sum(pop^2) / sum(pop)) - 1``: 0 = as popular as the average training positive."""
    pop = _check_popularity(item_popularity, len(np.asarray(item_popularity)))
    total = pop.sum()
    if total == 0:
        return float("nan")
    base = float((pop ** 2).sum() / total)
    return average_popularity(recs, pop) / base - 1.0


def intra_list_diversity(recs: Any, item_features: Any) -> float:
    """``1 - mean pairwise cosine similarity`` of the feature vectors in each list, averaged over users.

    Uses ``sum_{a != b} cos(a, b) = |sum_a f_a|^2 - sum_a |f_a|^2`` on unit-normalised rows, so it
    costs O(n_users * k * n_features) (dense or scipy sparse features)."""
    from scipy import sparse

    is_sparse = sparse.issparse(item_features)
    f = sparse.csr_matrix(item_features, dtype=np.float64) if is_sparse else np.asarray(item_features, np.float64)
    if f.ndim != 2:
        raise ParameterError(f"item_features must be a 2-d (n_items x n_features) array; got shape {f.shape}.")
    n_items = f.shape[0]
    r = _check_recs(recs, n_items)
    sq = np.asarray(f.multiply(f).sum(axis=1)).ravel() if is_sparse else (f * f).sum(axis=1)
    norm = np.sqrt(sq)
    scale = np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 0)
    fn = sparse.diags(scale) @ f if is_sparse else f * scale[:, None]
    unit = (norm > 0).astype(np.float64)
    a = _indicator(r, n_items)
    summed = a @ fn
    total_sq = np.asarray(summed.multiply(summed).sum(axis=1)).ravel() if sparse.issparse(summed) \
        else (summed * summed).sum(axis=1)
    self_sq = a @ unit
    m = np.asarray(a.sum(axis=1)).ravel()
    ok = m >= 2
    if not ok.any():
        return float("nan")
    mean_cos = (total_sq[ok] - self_sq[ok]) / (m[ok] * (m[ok] - 1))
    return float(np.mean(1.0 - mean_cos))


def category_diversity(recs: Any, item_categories: Any) -> float:
    """Mean number of distinct categories per list (``item_categories[i] < 0`` = unknown, not counted)."""
    cats = np.asarray(item_categories, dtype=np.int64)
    r = _check_recs(recs, len(cats))
    c = np.where(r >= 0, cats[np.where(r >= 0, r, 0)], -1)
    has = (r >= 0).any(axis=1)
    if not has.any():
        return float("nan")
    c = np.sort(c[has], axis=1)
    distinct = ((c[:, 1:] != c[:, :-1]) & (c[:, 1:] >= 0)).sum(axis=1) + (c[:, 0] >= 0)
    return float(np.mean(distinct))


def personalisation(recs: Any, *, max_users: int | None = 2000, seed: int = 0) -> float:
    """``1 - mean Jaccard(list_a, list_b)`` over all pairs of distinct users (a seeded sample of at
    most ``max_users`` users); NaN with fewer than two users."""
    r = _check_recs(recs)
    if max_users is not None and len(r) > max_users:
        r = r[np.sort(np.random.default_rng(seed).choice(len(r), size=max_users, replace=False))]
    n = len(r)
    if n < 2:
        return float("nan")
    n_items = int(r.max()) + 1 if (r >= 0).any() else 1
    a = _indicator(r, n_items)  # duplicates are summed: make it 0/1
    a.data[:] = 1.0
    size = np.asarray(a.sum(axis=1)).ravel()
    inter = (a @ a.T).toarray()
    union = size[:, None] + size[None, :] - inter
    jac = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    iu = np.triu_indices(n, 1)
    return float(1.0 - jac[iu].mean())


def _one_hot_categories(f: Any) -> np.ndarray | None:
    """Category index per item when ``f`` is a one-hot matrix (0/1, at most one 1 per row), else None."""
    from scipy import sparse

    dense = f.toarray() if sparse.issparse(f) else np.asarray(f, dtype=np.float64)
    if dense.ndim != 2 or not np.isin(dense, (0.0, 1.0)).all() or (dense.sum(axis=1) > 1).any():
        return None
    return np.where(dense.sum(axis=1) > 0, dense.argmax(axis=1), -1)


def beyond_accuracy(recs: Any, *, n_items: int, item_popularity: Any, item_features: Any = None,
                    max_users: int | None = 2000, seed: int = 0) -> dict:
    """All the metrics of the module docstring in one dict (``ild`` and ``categories_per_list``
    only with ``item_features``; the latter only when they are a one-hot category encoding)."""
    n_items = _check_n_items(n_items)
    r = _check_recs(recs, n_items)
    pop = _check_popularity(item_popularity, n_items)
    out = {
        "coverage": catalogue_coverage(r, n_items),
        "gini": gini_index(r, n_items),
        "novelty": novelty(r, pop),
        "avg_popularity": average_popularity(r, pop),
        "popularity_lift": popularity_lift(r, pop),
        "personalisation": personalisation(r, max_users=max_users, seed=seed),
        "n_users": int(r.shape[0]),
        "k": int(r.shape[1]),
    }
    if item_features is not None:
        if item_features.shape[0] != n_items:
            raise ParameterError(f"item_features has {item_features.shape[0]} rows; there are {n_items} items.")
        out["ild"] = intra_list_diversity(r, item_features)
        cats = _one_hot_categories(item_features)
        if cats is not None:
            out["categories_per_list"] = category_diversity(r, cats)
    return out


def recommendation_matrix(model: Any, users: Any, k: int = 10, *, exclude: Any = None,
                          batch_users: int = 512) -> np.ndarray:
    """``(len(users), k)`` top-k item indexes of a fitted model (``score_all``), best first, ties by
    the lower item index; items in ``exclude`` (interactions, e.g. train) are left out and rows
    with fewer than ``k`` candidates are padded with -1."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise out_of_range("k", k, "an integer >= 1")
    u = np.asarray(users, dtype=np.int64)
    seen = exclude.csr(binary=True) if exclude is not None else None
    out = np.full((len(u), k), -1, dtype=np.int64)
    for start in range(0, len(u), batch_users):
        ub = u[start:start + batch_users]
        scores = np.array(model.score_all(ub), dtype=np.float64)
        if seen is not None:
            sub = seen[ub]
            scores[np.repeat(np.arange(len(ub)), np.diff(sub.indptr)), sub.indices] = -np.inf
        kk = min(k, scores.shape[1])
        top = np.argsort(-scores, axis=1, kind="stable")[:, :kk]  # stable: ties by the lower index
        ok = np.isfinite(np.take_along_axis(scores, top, axis=1))
        out[start:start + len(ub), :kk] = np.where(ok, top, -1)
    return out
