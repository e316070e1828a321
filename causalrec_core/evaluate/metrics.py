"""Accuracy metrics for recommenders, with per-user values for confidence intervals.

Rating protocol (Coat and any "biased train / randomised test" data): a rating above the
threshold is a positive; **AUC** over all test pairs; **NDCG@k** and **Recall@k** per user over
that user's test items with binary relevance, averaged over users; **MSE** of the predicted
probability against the 0/1 labels. A user whose test items hold no positive has no defined
NDCG/Recall; ``no_positive`` says what to do: ``'skip'`` (leave the user out) or ``'one'``
(count it as 1, the convention of the public code behind the published Coat figures).

Log protocol (top-k from the whole catalogue): for each test user, the model ranks every item
not seen in training; **HR@k** (any hit), **Recall@k** (hits / relevant items), **NDCG@k**
(binary relevance), averaged over users.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from causalrec_core.errors import DataError, ParameterError, invalid_choice, out_of_range

__all__ = ["NO_POSITIVE", "auc_score", "mean_ci", "pairs_auc_ci", "rating_metrics", "ratio_ci", "topk_metrics",
           "within_user_auc"]

NO_POSITIVE: tuple[str, ...] = ("skip", "one")


def auc_score(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None) -> float:
    """ROC AUC with ties counted one half (Mann-Whitney); NaN when only one class is present.

    ``weights`` (one non-negative weight per pair, e.g. inverse propensities) give the weighted
    Mann-Whitney statistic ``sum_{pos p, neg n} w_p w_n ([s_p > s_n] + [s_p == s_n] / 2)
    / (sum w_p * sum w_n)``; integer weights equal the AUC of the data with each row repeated that
    many times. NaN when either class has zero total weight.
    """
    labels = np.asarray(labels, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    pos = labels > 0.5
    if weights is not None:
        return _weighted_auc(pos, scores, weights)
    n_pos = int(pos.sum())
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(scores)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _weighted_auc(pos: np.ndarray, scores: np.ndarray, weights: Any) -> float:
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != scores.shape or pos.shape != scores.shape:
        raise ParameterError(f"labels, scores and weights must have one length; got {len(pos)}, {len(scores)}, "
                             f"{w.size}.")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        bad = int((~np.isfinite(w) | (w < 0)).sum())
        raise ParameterError(f"weights hold {bad} non-finite or negative values: they must be finite numbers >= 0.")
    w_pos, w_neg = float(w[pos].sum()), float(w[~pos].sum())
    if w_pos <= 0 or w_neg <= 0:
        return float("nan")
    uniq, group = np.unique(scores, return_inverse=True)
    neg_by = np.bincount(group, weights=np.where(pos, 0.0, w), minlength=len(uniq))
    pos_by = np.bincount(group, weights=np.where(pos, w, 0.0), minlength=len(uniq))
    neg_below = np.cumsum(neg_by) - neg_by  # negative weight with a strictly lower score
    return float((pos_by * (neg_below + 0.5 * neg_by)).sum() / (w_pos * w_neg))


def within_user_auc(users: Any, labels: Any, scores: Any, weights: Any = None) -> tuple[float, int]:
    """AUC of each user's own pairs (positives against that user's negatives), averaged over the users
    that have both classes, each weighted by its number of pairs; returns ``(value, n_users)``.

    Unlike :func:`auc_score` over all pairs, it ignores how users compare with each other (a user bias
    that lifts every score of one user changes nothing): it measures the within-user ranking that
    per-user metrics such as NDCG@k reward. ``weights`` (e.g. inverse propensities) weight the pairs
    inside each user as in :func:`auc_score`. NaN with 0 users when no user has both classes.
    """
    users = np.asarray(users)
    labels = np.asarray(labels, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if not (len(users) == len(labels) == len(scores)) or (weights is not None and len(weights) != len(users)):
        raise ParameterError(f"users, labels, scores (and weights) must have one length; got {len(users)}, "
                             f"{len(labels)}, {len(scores)}" + ("" if weights is None else f", {len(weights)}") + ".")
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    order = np.argsort(users, kind="stable")
    u_s = users[order]
    if len(u_s) == 0:
        return float("nan"), 0
    starts = np.flatnonzero(np.r_[True, u_s[1:] != u_s[:-1]])
    ends = np.r_[starts[1:], len(u_s)]
    vals, sizes = [], []
    for a, b in zip(starts, ends, strict=True):
        idx = order[a:b]
        y = labels[idx]
        if y.min() > 0.5 or y.max() <= 0.5:
            continue
        v = auc_score(y, scores[idx], None if w is None else w[idx])
        if np.isfinite(v):
            vals.append(v)
            sizes.append(b - a)
    if not vals:
        return float("nan"), 0
    return float(np.average(vals, weights=sizes)), len(vals)


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


def rating_metrics(users: Any, labels: Any, scores: Any, *, k: int = 5, predictions: Any = None,
                   no_positive: str = "skip", per_user: bool = False) -> dict:
    """Metrics of the rating protocol (module docstring). ``predictions`` (probabilities) feed the
    MSE; without them MSE is computed on ``sigmoid(scores)``."""
    if no_positive not in NO_POSITIVE:
        raise invalid_choice("no_positive", no_positive, NO_POSITIVE)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise out_of_range("k", k, "an integer >= 1")
    u = np.asarray(users, dtype=np.int64)
    y = np.asarray(labels, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    if not (len(u) == len(y) == len(s)):
        raise ParameterError(f"users, labels and scores must have one length; got {len(u)}, {len(y)}, {len(s)}.")
    if len(u) == 0:
        raise DataError("there are no test pairs to evaluate.")
    if not np.all(np.isfinite(s)):
        raise DataError(f"scores hold {int((~np.isfinite(s)).sum())} non-finite values.")
    p = (1.0 / (1.0 + np.exp(-np.clip(s, -30, 30)))) if predictions is None else np.asarray(predictions, float)
    order = np.lexsort((-s, u))  # by user, then score descending
    u_s, y_s = u[order], y[order]
    starts = np.flatnonzero(np.r_[True, u_s[1:] != u_s[:-1]])
    ends = np.r_[starts[1:], len(u_s)]
    disc = _discounts(k)
    ndcgs, recalls, user_list = [], [], []
    for a, b in zip(starts, ends, strict=True):
        rel = y_s[a:b]
        n_rel = rel.sum()
        if n_rel == 0:
            if no_positive == "skip":
                continue
            ndcgs.append(1.0)
            recalls.append(1.0)
            user_list.append(u_s[a])
            continue
        top = rel[:k]
        dcg = float((top * disc[: len(top)]).sum())
        ideal = float(disc[: int(min(n_rel, k))].sum())
        ndcgs.append(dcg / ideal)
        recalls.append(float(top.sum() / n_rel))
        user_list.append(u_s[a])
    out = {
        "auc": auc_score(y, s),
        f"ndcg@{k}": float(np.mean(ndcgs)) if ndcgs else float("nan"),
        f"recall@{k}": float(np.mean(recalls)) if recalls else float("nan"),
        "mse": float(np.mean((p - y) ** 2)),
        "n_pairs": int(len(u)),
        "n_users": int(len(ndcgs)),
    }
    if per_user:
        out["per_user"] = {"user": np.asarray(user_list), f"ndcg@{k}": np.asarray(ndcgs),
                           f"recall@{k}": np.asarray(recalls)}
    return out


def topk_metrics(model: Any, test: Any, *, exclude: Any = None, k: int = 10, max_users: int | None = None,
                 seed: int = 0, batch_users: int = 512, per_user: bool = False) -> dict:
    """Top-k metrics of the log protocol for a fitted recommender on ``test`` interactions.

    ``exclude`` (usually the training interactions) are masked out of each user's ranking.
    ``max_users`` evaluates a seeded random subset of test users (reported as ``n_users``).
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise out_of_range("k", k, "an integer >= 1")
    if len(test) == 0:
        raise DataError("the test split is empty: there is nothing to evaluate.")
    rel = test.csr(binary=True)
    users = np.flatnonzero(np.diff(rel.indptr) > 0)
    if max_users is not None and len(users) > max_users:
        users = np.sort(np.random.default_rng(seed).choice(users, size=max_users, replace=False))
    seen = exclude.csr(binary=True) if exclude is not None else None
    disc = _discounts(k)
    hr, rec, ndcg = [], [], []
    for start in range(0, len(users), batch_users):
        ub = users[start:start + batch_users]
        scores = np.asarray(model.score_all(ub), dtype=np.float64)
        if seen is not None:
            sub = seen[ub]
            rows = np.repeat(np.arange(len(ub)), np.diff(sub.indptr))
            scores[rows, sub.indices] = -np.inf
        kk = min(k, scores.shape[1])
        top = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        top_scores = np.take_along_axis(scores, top, axis=1)
        resort = np.argsort(-top_scores, axis=1, kind="stable")
        top = np.take_along_axis(top, resort, axis=1)
        rankable = np.isfinite(np.take_along_axis(top_scores, resort, axis=1))  # masked items never hit
        relb = rel[ub]
        for r in range(len(ub)):
            truth = relb.indices[relb.indptr[r]:relb.indptr[r + 1]]
            hits = (np.isin(top[r], truth) & rankable[r]).astype(np.float64)
            n_rel = len(truth)
            hr.append(float(hits.any()))
            rec.append(float(hits.sum() / n_rel))
            ndcg.append(float((hits * disc[:kk]).sum() / disc[: min(n_rel, kk)].sum()))
    out = {f"hr@{k}": float(np.mean(hr)), f"recall@{k}": float(np.mean(rec)), f"ndcg@{k}": float(np.mean(ndcg)),
           "n_users": int(len(users))}
    if per_user:
        out["per_user"] = {"user": users, f"hr@{k}": np.asarray(hr), f"recall@{k}": np.asarray(rec),
                           f"ndcg@{k}": np.asarray(ndcg)}
    return out


def _boot_rows(n: int, n_boot: int, seed: int, budget: int = 4_000_000):
    """Bootstrap index rows (``n_boot`` resamples of ``n`` units) in chunks of at most ``budget`` indexes,
    so that memory stays bounded for many users; the same draws as one ``integers(size=(n_boot, n))``."""
    rng = np.random.default_rng(seed)
    step = max(1, budget // max(n, 1))
    for start in range(0, n_boot, step):
        yield rng.integers(0, n, size=(min(step, n_boot - start), n))


def mean_ci(values: Any, *, level: float = 0.95, n_boot: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """Mean of per-user values with a percentile bootstrap interval over users."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return float("nan"), float("nan"), float("nan")
    means = np.concatenate([v[rows].mean(axis=1) for rows in _boot_rows(len(v), n_boot, seed)])
    a = (1 - level) / 2
    return float(v.mean()), float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


def ratio_ci(numerators: Any, denominators: Any, *, level: float = 0.95, n_boot: int = 1000,
             seed: int = 0) -> tuple[float, float, float]:
    """``sum(num) / sum(den)`` over users with a percentile bootstrap interval that resamples users and
    recomputes both sums — the interval of a self-normalised (SNIPS) estimate, whose normaliser is
    itself estimated from the same users (treating it as fixed would make the interval too narrow)."""
    num = np.asarray(numerators, dtype=np.float64)
    den = np.asarray(denominators, dtype=np.float64)
    if num.shape != den.shape:
        raise DataError(f"numerators and denominators differ in shape: {num.shape} vs {den.shape}.")
    ok = np.isfinite(num) & np.isfinite(den)
    num, den = num[ok], den[ok]
    if len(num) == 0 or den.sum() == 0:
        return float("nan"), float("nan"), float("nan")
    ratios = np.concatenate([num[rows].sum(axis=1) / den[rows].sum(axis=1)
                             for rows in _boot_rows(len(num), n_boot, seed)])
    a = (1 - level) / 2
    return float(num.sum() / den.sum()), float(np.nanquantile(ratios, a)), float(np.nanquantile(ratios, 1 - a))


def pairs_auc_ci(users: Any, labels: Any, scores: Any, *, level: float = 0.95, n_boot: int = 300,
                 seed: int = 0) -> tuple[float, float, float]:
    """AUC over all (user, item) pairs with a percentile bootstrap interval that resamples users (a
    user drawn k times weighs its pairs k times: the weighted Mann-Whitney AUC of :func:`auc_score`),
    so that the interval reflects that pairs of one user are not independent."""
    users = np.asarray(users)
    labels = np.asarray(labels, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if not (len(users) == len(labels) == len(scores)):
        raise DataError(f"users, labels and scores differ in length: {len(users)}, {len(labels)}, {len(scores)}.")
    est = auc_score(labels, scores)
    if len(users) == 0 or not np.isfinite(est):
        return est, float("nan"), float("nan")
    uniq, idx = np.unique(users, return_inverse=True)
    n = len(uniq)
    rng = np.random.default_rng(seed)
    boots = np.empty(n_boot)
    for b in range(n_boot):
        mult = np.bincount(rng.integers(0, n, size=n), minlength=n).astype(np.float64)
        boots[b] = auc_score(labels, scores, weights=mult[idx])
    a = (1 - level) / 2
    return est, float(np.nanquantile(boots, a)), float(np.nanquantile(boots, 1 - a))
