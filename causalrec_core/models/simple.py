"""Two non-neural baselines every comparison needs: item popularity and item-based kNN.

Both fit in seconds on a CPU (NumPy / SciPy sparse, no torch) and work on rating data (a
positive is a rating ``> data.threshold``) and on log data (every training row is a positive).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from causalrec_core.errors import DataError, out_of_range
from causalrec_core.models.base import Recommender, TrainContext
from causalrec_core.models.data import RecData

__all__ = ["ItemKNN", "Popularity"]

_SECONDS_PER_DAY = 86400.0


def _positive_mask(data: RecData) -> np.ndarray:
    train = data.train
    if data.kind == "rating":
        return train.value > data.threshold
    return np.ones(len(train), dtype=bool)


def _check_number(name: str, value: Any, *, low: float, strict: bool, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    ok = ok and np.isfinite(value) and (value > low if strict else value >= low)
    if not ok:
        rule = f"a number {'>' if strict else '>='} {low:g}" + (" or None" if allow_none else "")
        raise out_of_range(name, value, rule)


class Popularity(Recommender):
    """Recommends the items with the most training positives (optionally time-decayed)."""

    name: ClassVar[str] = "popularity"
    description: ClassVar[str] = ("Non-personalised baseline: ranks items by how many training positives they have "
                                  "(optionally with recent ones weighted more).")
    kinds: ClassVar[tuple[str, ...]] = ("rating", "log")
    causal: ClassVar[bool] = False

    def __init__(self, *, half_life_days: float | None = None, random_state: int = 0) -> None:
        self.half_life_days = half_life_days
        self.random_state = random_state

    def fit(self, data: RecData, context: TrainContext | None = None) -> Popularity:
        """Count the training positives of each item; with ``half_life_days`` a positive ``d`` days
        older than the newest training event counts ``0.5 ** (d / half_life_days)``."""
        self._check_data(data)
        _check_number("half_life_days", self.half_life_days, low=0, strict=True, allow_none=True)
        train = data.train
        pos = _positive_mask(data)
        weights = np.ones(len(train), dtype=np.float64)
        if self.half_life_days is not None:
            if train.timestamp is None:
                raise DataError(f"half_life_days={self.half_life_days} needs timestamps, but data.train has none; "
                                "set half_life_days=None.")
            age_days = (train.timestamp.max() - train.timestamp.astype(np.float64)) / _SECONDS_PER_DAY
            weights = 0.5 ** (age_days / float(self.half_life_days))
        n = data.n_items
        self.scores_ = np.bincount(train.item[pos], weights=weights[pos], minlength=n).astype(np.float64)
        # P(positive): rating data -> the item's (weighted) share of positive ratings, Laplace-smoothed;
        # log data -> the (weighted) share of users with a positive on the item
        if data.kind == "rating":
            n_rated = np.bincount(train.item, weights=weights, minlength=n).astype(np.float64)
            self.probability_ = (self.scores_ + 1.0) / (n_rated + 2.0)
        else:
            self.probability_ = np.clip(self.scores_ / max(data.n_users, 1), 0.0, 1.0)
        self._remember(data)
        return self

    def _score_idx(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.scores_[items]

    def score_all(self, users: Any) -> np.ndarray:
        u = np.asarray(users, dtype=np.int64)
        return np.tile(self.scores_, (len(u), 1))

    def predict(self, users: Any, items: Any) -> np.ndarray:
        self.score(users, items)  # validates the indexes
        return self.probability_[np.asarray(items, dtype=np.int64)]

    def cold_user_scores(self) -> np.ndarray:
        return self.scores_


class ItemKNN(Recommender):
    """Item-based collaborative filtering with shrunk cosine similarity on the binary user-item matrix."""

    name: ClassVar[str] = "item-knn"
    description: ClassVar[str] = ("Item-based k-nearest-neighbours: scores an item by its (shrunk cosine) similarity "
                                  "to the items the user liked; users without history get popularity.")
    kinds: ClassVar[tuple[str, ...]] = ("rating", "log")
    causal: ClassVar[bool] = False

    def __init__(self, *, neighbours: int = 100, shrinkage: float = 10.0, random_state: int = 0) -> None:
        self.neighbours = neighbours
        self.shrinkage = shrinkage
        self.random_state = random_state

    def fit(self, data: RecData, context: TrainContext | None = None) -> ItemKNN:
        """``sim(j, i) = |U_j & U_i| / (sqrt(|U_j|) * sqrt(|U_i|) + shrinkage)`` over the users with a
        training positive, without self-similarity; each target item ``i`` keeps its ``neighbours``
        most similar items (ties: lower item index). ``score(u, i) = sum of sim(j, i)`` over the
        items ``j`` user ``u`` liked."""
        from scipy import sparse

        self._check_data(data)
        if isinstance(self.neighbours, bool) or not isinstance(self.neighbours, (int, np.integer)) \
                or self.neighbours < 1:
            raise out_of_range("neighbours", self.neighbours, "an integer >= 1")
        _check_number("shrinkage", self.shrinkage, low=0, strict=False)
        train = data.train
        pos = _positive_mask(data)
        x = train.subset(pos).csr(binary=True).astype(np.float64)  # users x items, 0/1
        counts = np.asarray(x.sum(axis=0)).ravel()
        co = (x.T @ x).tocoo()  # items x items co-occurrence
        off = co.row != co.col
        rows, cols, inter = co.row[off], co.col[off], co.data[off]
        sim = inter / (np.sqrt(counts[rows]) * np.sqrt(counts[cols]) + float(self.shrinkage))
        keep = sim > 0
        rows, cols, sim = rows[keep], cols[keep], sim[keep]
        # top-`neighbours` sources j for each target item i (column), ties by the lower j
        order = np.lexsort((rows, -sim, cols))
        rows, cols, sim = rows[order], cols[order], sim[order]
        starts = np.r_[0, np.flatnonzero(cols[1:] != cols[:-1]) + 1] if len(cols) else np.zeros(0, dtype=np.int64)
        rank = np.arange(len(cols)) - np.repeat(starts, np.diff(np.r_[starts, len(cols)]))
        top = rank < int(self.neighbours)
        n = data.n_items
        self.similarity_ = sparse.csr_matrix((sim[top], (rows[top], cols[top])), shape=(n, n))
        self.user_items_ = x.tocsr()
        self._remember(data)
        self._sim_csc = self.similarity_.tocsc()
        self._has_history = np.diff(self.user_items_.indptr) > 0
        return self

    def _score_idx(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        hist = self.user_items_[users]
        cols = self._sim_csc[:, items].T.tocsr()
        out = np.asarray(hist.multiply(cols).sum(axis=1), dtype=np.float64).ravel()
        cold = ~self._has_history[users]
        out[cold] = self.item_popularity_[items[cold]]
        return out

    def score_all(self, users: Any) -> np.ndarray:
        u = np.asarray(users, dtype=np.int64)
        out = np.asarray((self.user_items_[u] @ self.similarity_).todense(), dtype=np.float64)
        cold = ~self._has_history[u]
        if cold.any():
            out[cold] = self.item_popularity_
        return out
