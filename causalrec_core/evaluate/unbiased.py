"""Unbiased (MNAR -> MAR) top-k evaluation of a recommender on logged implicit feedback.

The log protocol of :func:`causalrec_core.evaluate.metrics.topk_metrics` scores a model on the
positives users happened to produce. Those are missing not at random (MNAR): a pair can only be
observed as a positive if the item was exposed to (or found by) the user, and the logging
recommender exposes popular items far more often. The observed metric therefore rewards models
that imitate the logging policy (a popularity recommender looks better than it is).

**Estimand.** The top-k metric under *uniform exposure*: the Recall@k / NDCG@k the model would
get if every relevant (user, item) pair had been equally likely to be observed, i.e. computed
on all of each user's relevant items rather than on the logged ones (missing at random, MAR).

**Estimator** (Yang et al., RecSys 2018, "Unbiased offline recommender evaluation for
missing-not-at-random implicit feedback"; Schnabel et al., ICML 2016, "Recommendations as
treatments"). Both metrics are per-user averages of a per-item gain ``g(u, i)`` over the user's
relevant items (Recall: ``1[rank <= k]``; NDCG: ``1[rank <= k] / log2(rank + 1)`` times the
ideal-DCG normaliser). Each observed test positive ``(u, i)`` contributes its gain weighted by
``1 / P(u, i)``, ``P`` the propensity that the pair was observed (exposed), clipped below at
``clip``:

Per user ``u`` with observed test positives ``S_u`` (``n_u`` of them, Yang et al.'s stand-in
for the unknown number of relevant items), the IPS term is ``(1/n_u) sum_{i in S_u} g_i / P_i``.

* ``self_normalise=False`` (IPS): the mean of the per-user IPS terms. On the metric's scale only
  when ``P`` are absolute probabilities (logged propensities); with relative (popularity)
  propensities it is off by their unknown scale. Per-user values can exceed 1.
* ``self_normalise=True`` (SNIPS, the default; Swaminathan & Joachims 2015, as in Yang et al.):
  the same divided by the control variate ``mean_u (1/n_u) sum_{i in S_u} 1 / P_i`` (expectation 1
  for exact propensities; reported as ``normaliser``). Invariant to the scale of ``P``, far lower
  variance, consistent. The normaliser is global, not per user: with one or two test positives per
  user (the usual case of a temporal split) a per-user normaliser would cancel the weights and
  give back the observed metric.

With equal propensities both reduce exactly to the observed metric of ``topk_metrics``. The NDCG
ideal-DCG normaliser uses the user's number of observed test positives ``n_u`` (the true number of
relevant items is not identified from relative propensities), as the observed metric does. HR@k
("any hit") is not a sum of per-item gains, so it has no IPS form here.

**Assumptions.** (1) Positivity: every relevant pair has a non-zero chance of being observed
(pairs with ``P < clip`` are clipped, which trades bias for variance; their count is reported);
(2) the propensity model is right (logged exposure propensities, or Yang et al.'s popularity
form ``P_i = (n_i / max_n) ** eta`` which assumes observation depends on the item's popularity
only); (3) relevance is independent of observation given the propensity (no unmeasured
confounding of exposure and relevance); (4) the test period's relevance is the training period's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from causalrec_core.errors import DataError, ParameterError, out_of_range

__all__ = ["POPULARITY_LABEL", "ips_topk_metrics", "item_observation_propensity"]

#: how the popularity form is described in reports
POPULARITY_LABEL = "item popularity^0.5 (Yang et al. 2018)"


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise out_of_range(name, value, f"an integer >= {low}")
    return int(value)


def _check_number(name: str, value: Any, rule: str, ok: Callable[[float], bool]) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or not ok(float(value)):
        raise out_of_range(name, value, rule)
    return float(value)


def item_observation_propensity(train_interactions: Any, n_items: int | None = None, *, eta: float = 0.5) -> np.ndarray:
    """Yang et al.'s popularity propensity of an item's positives being observed:
    ``P_i = (n_i / max_n) ** eta``, ``n_i`` the item's number of distinct training positives
    (users). Items without training positives get 0 (clipped later by the estimator).

    ``train_interactions`` is an :class:`~causalrec_core.models.data.Interactions` or a 1-d array
    of item indexes; ``n_items`` defaults to the interactions' ``n_items``.
    """
    eta = _check_number("eta", eta, "a number > 0", lambda v: v > 0)
    if hasattr(train_interactions, "item") and hasattr(train_interactions, "n_items"):
        items = np.asarray(train_interactions.item, dtype=np.int64)
        users = np.asarray(train_interactions.user, dtype=np.int64)
        if n_items is None:
            n_items = int(train_interactions.n_items)
        if len(items):  # distinct (user, item) pairs
            key = np.unique(users * (int(items.max()) + 1) + items)
            items = key % (int(items.max()) + 1)
    else:
        items = np.asarray(train_interactions)
        if items.ndim != 1 or (items.size and not np.issubdtype(items.dtype, np.integer)):
            raise ParameterError("train_interactions must be an Interactions or a 1-d array of integer item indexes; "
                                 f"got {type(train_interactions).__name__} with shape {items.shape}.")
        items = items.astype(np.int64)
        if n_items is None:
            n_items = int(items.max()) + 1 if items.size else 0
    n_items = _check_int("n_items", n_items, 1)
    if items.size and (items.min() < 0 or items.max() >= n_items):
        raise DataError(f"train_interactions hold item indexes outside 0..{n_items - 1}.")
    counts = np.bincount(items, minlength=n_items).astype(np.float64)
    top = counts.max() if counts.size else 0.0
    if top <= 0:
        raise DataError("train_interactions hold no positives: the popularity propensity is undefined.")
    return (counts / top) ** eta


def _propensities(propensity: Any, users: np.ndarray, items: np.ndarray, n_items: int) -> np.ndarray:
    if callable(propensity):
        p = np.asarray(propensity(users, items), dtype=np.float64)
        if p.shape != users.shape:
            raise DataError(f"propensity(users, items) returned shape {p.shape}; expected {users.shape} "
                            "(one propensity per test pair).")
        bad = ~np.isfinite(p) | (p < 0) | (p > 1)
        if bad.any():
            raise DataError(f"propensity(users, items) returned {int(bad.sum())} values that are not probabilities "
                            "in [0, 1] (or NaN).")
        return p
    if isinstance(propensity, (str, bytes)) or propensity is None:
        raise ParameterError(f"propensity={propensity!r} is invalid: it must be an array of {n_items} item "
                             "propensities or a callable (users, items) -> propensities.")
    arr = np.asarray(propensity)
    if arr.ndim != 1 or arr.shape[0] != n_items or not np.issubdtype(arr.dtype, np.number):
        raise ParameterError(f"propensity is invalid: it must be a 1-d array of {n_items} item propensities (one per "
                             f"item) or a callable (users, items) -> propensities; got shape {arr.shape}.")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr) | (arr < 0) | (arr > 1)
    if bad.any():
        raise ParameterError(f"propensity is invalid: it must hold probabilities in [0, 1]; {int(bad.sum())} of "
                             f"{n_items} values are not (e.g. {arr[np.flatnonzero(bad)[0]]!r}).")
    return arr[items]


def ips_topk_metrics(model: Any, test: Any, *, exclude: Any, propensity: Any, k: int = 10, clip: float = 0.05,
                     self_normalise: bool = True, max_users: int | None = None, seed: int = 0,
                     per_user: bool = False, batch_users: int = 512) -> dict:
    """Inverse-propensity-scored Recall@k and NDCG@k of a fitted recommender (module docstring).

    ``test`` holds the observed test positives, ``exclude`` (usually the training interactions,
    or None) is masked out of each user's ranking of the whole catalogue, as in ``topk_metrics``.
    ``propensity``: an array of per-item observation propensities (e.g.
    :func:`item_observation_propensity`) or a callable ``(users, items) -> propensities`` over the
    test pairs (e.g. logged exposure propensities). Propensities below ``clip`` are raised to it.

    Returns ``ndcg@k_ips``, ``recall@k_ips``, ``n_users``, ``n_pairs``, ``estimator``
    ('snips' | 'ips'), ``normaliser`` (the SNIPS control variate, 1.0 for IPS), ``clip`` ({'clip',
    'n_clipped', 'share_clipped', 'min', 'max'} of the raw propensities) and, with ``per_user``,
    ``per_user`` arrays (``user``, the two metrics and ``control``, each user's term of the SNIPS
    normaliser) for :func:`causalrec_core.evaluate.metrics.ratio_ci` — an interval that resamples users
    for the numerator and the normaliser together.
    """
    k = _check_int("k", k, 1)
    clip = _check_number("clip", clip, "a number in (0, 1]", lambda v: 0 < v <= 1)
    if not isinstance(self_normalise, (bool, np.bool_)):
        raise out_of_range("self_normalise", self_normalise, "True or False")
    if max_users is not None:
        max_users = _check_int("max_users", max_users, 1)
    batch_users = _check_int("batch_users", batch_users, 1)
    if test is None or len(test) == 0:
        raise DataError("the test split is empty: there is nothing to evaluate.")
    rel = test.csr(binary=True)
    rel.sum_duplicates()
    rel.sort_indices()
    n_items = rel.shape[1]
    users = np.flatnonzero(np.diff(rel.indptr) > 0)
    if max_users is not None and len(users) > max_users:
        users = np.sort(np.random.default_rng(seed).choice(users, size=max_users, replace=False))
    sub = rel[users]
    n_pos = np.diff(sub.indptr)
    pair_user = np.repeat(users, n_pos)
    pair_item = sub.indices.astype(np.int64)
    raw = _propensities(propensity, pair_user, pair_item, n_items)
    clipped = raw < clip
    w = 1.0 / np.maximum(raw, clip)
    seen = exclude.csr(binary=True) if exclude is not None else None
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    hit_gain = np.zeros(len(pair_item))  # 1 if the pair is in the user's top-k
    dcg_gain = np.zeros(len(pair_item))  # 1 / log2(rank + 1) if it is
    for start in range(0, len(users), batch_users):
        ub = users[start:start + batch_users]
        scores = np.asarray(model.score_all(ub), dtype=np.float64)
        if scores.shape != (len(ub), n_items):
            raise DataError(f"model.score_all returned shape {scores.shape}; expected {(len(ub), n_items)}.")
        if seen is not None:
            s = seen[ub]
            scores[np.repeat(np.arange(len(ub)), np.diff(s.indptr)), s.indices] = -np.inf
        kk = min(k, n_items)
        top = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        top_scores = np.take_along_axis(scores, top, axis=1)
        resort = np.argsort(-top_scores, axis=1, kind="stable")
        top = np.take_along_axis(top, resort, axis=1)
        rankable = np.isfinite(np.take_along_axis(top_scores, resort, axis=1))  # masked items never hit
        rank_of = np.full((len(ub), n_items), -1, dtype=np.int64)
        rows = np.repeat(np.arange(len(ub)), kk)
        rank_of[rows, top.ravel()] = np.where(rankable.ravel(), np.tile(np.arange(kk), len(ub)), -1)
        a, b = sub.indptr[start], sub.indptr[start + len(ub)]
        r = rank_of[np.repeat(np.arange(len(ub)), n_pos[start:start + len(ub)]), pair_item[a:b]]
        hit = r >= 0
        hit_gain[a:b] = hit
        dcg_gain[a:b] = np.where(hit, disc[np.maximum(r, 0)], 0.0)
    seg = sub.indptr[:-1]
    ideal = np.cumsum(disc)[np.minimum(n_pos, k) - 1]
    # per-user means over the observed positives of the weighted gains (Yang et al.'s |S_u| for |S_u*|)
    recall = np.add.reduceat(w * hit_gain, seg) / n_pos
    ndcg = np.add.reduceat(w * dcg_gain, seg) / ideal
    norm = 1.0
    if self_normalise:  # the control variate: E[mean_u (1/n_u) sum_i O_ui / P_ui] = 1 for exact propensities
        norm = float((np.add.reduceat(w, seg) / n_pos).mean())
        recall, ndcg = recall / norm, ndcg / norm
    tag = f"@{k}_ips"
    out = {
        f"ndcg{tag}": float(ndcg.mean()),
        f"recall{tag}": float(recall.mean()),
        "n_users": int(len(users)),
        "n_pairs": int(len(pair_item)),
        "estimator": "snips" if self_normalise else "ips",
        "normaliser": norm,
        "clip": {"clip": clip, "n_clipped": int(clipped.sum()), "share_clipped": float(clipped.mean()),
                 "min": float(raw.min()), "max": float(raw.max())},
    }
    if per_user:  # ``control``: each user's term of the SNIPS normaliser (1 for IPS), for ratio_ci
        control = np.add.reduceat(w, seg) / n_pos if self_normalise else np.ones(len(users))
        out["per_user"] = {"user": users, f"ndcg{tag}": ndcg, f"recall{tag}": recall, "control": control}
    return out
