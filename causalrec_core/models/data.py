"""Data containers every recommender and metric in :mod:`causalrec_core.models` shares.

Users and items live in a dense index space (``0 .. n_users-1`` / ``0 .. n_items-1``);
``RecData.user_ids`` / ``item_ids`` map an index back to the original id.

Two kinds of data:

* ``kind='rating'`` — explicit ratings, e.g. Coat: a biased (MNAR) ``train`` and a randomised
  (MAR) ``test``; a rating ``> threshold`` is a positive.
* ``kind='log'`` — implicit feedback from an event log: ``train``/``valid``/``test`` hold the
  positive (user, item) events split by time; ``exposures`` holds the logged recommender
  exposures (and their propensities, when logged) for the causal models.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

import numpy as np

from causalrec_core.errors import DataError, invalid_choice

__all__ = ["DATA_KINDS", "Exposures", "Interactions", "RecData"]

DATA_KINDS: tuple[str, ...] = ("rating", "log")


def _as_index(name: str, values: object, upper: int) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise DataError(f"{name} must be a 1-d array of indexes; got shape {arr.shape}.")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise DataError(f"{name} must hold integer indexes; got dtype {arr.dtype}.")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and (arr.min() < 0 or arr.max() >= upper):
        raise DataError(f"{name} holds indexes outside 0..{upper - 1} (min {arr.min()}, max {arr.max()}).")
    return arr


@dataclass(frozen=True)
class Interactions:
    """(user, item, value) triples in index space, optionally with time and logged propensity."""

    user: np.ndarray
    item: np.ndarray
    value: np.ndarray
    n_users: int
    n_items: int
    timestamp: np.ndarray | None = None
    propensity: np.ndarray | None = None

    def __post_init__(self) -> None:
        user = _as_index("user", self.user, self.n_users)
        item = _as_index("item", self.item, self.n_items)
        value = np.asarray(self.value, dtype=np.float32)
        if not (len(user) == len(item) == len(value)):
            raise DataError(f"user, item and value must have one length; got {len(user)}, {len(item)}, {len(value)}.")
        object.__setattr__(self, "user", user)
        object.__setattr__(self, "item", item)
        object.__setattr__(self, "value", value)
        for name in ("timestamp", "propensity"):
            arr = getattr(self, name)
            if arr is not None:
                arr = np.asarray(arr, dtype=np.int64 if name == "timestamp" else np.float64)
                if len(arr) != len(user):
                    raise DataError(f"{name} has {len(arr)} rows; user has {len(user)}.")
                object.__setattr__(self, name, arr)

    def __len__(self) -> int:
        return len(self.user)

    def subset(self, mask_or_index: np.ndarray) -> Interactions:
        """Rows selected by a boolean mask or an index array (same index space)."""
        sel = np.asarray(mask_or_index)
        return Interactions(
            user=self.user[sel], item=self.item[sel], value=self.value[sel], n_users=self.n_users,
            n_items=self.n_items,
            timestamp=None if self.timestamp is None else self.timestamp[sel],
            propensity=None if self.propensity is None else self.propensity[sel],
        )

    def csr(self, binary: bool = False):
        """A ``scipy.sparse.csr_matrix`` (n_users x n_items); duplicates summed (or 1 if ``binary``)."""
        from scipy import sparse

        data = np.ones(len(self), dtype=np.float32) if binary else self.value
        m = sparse.csr_matrix((data, (self.user, self.item)), shape=(self.n_users, self.n_items))
        if binary:
            m.data[:] = 1.0
        return m

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for arr in (self.user, self.item, self.value):
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()[:16]


@dataclass(frozen=True)
class Exposures:
    """Logged recommender exposures over candidate (user, item) pairs.

    ``exposed`` is 0/1 (the logging recommender showed the item), ``outcome`` 0/1 (e.g. a
    purchase), ``propensity`` the logged P(exposed | user, item) where the log has it (else None).
    """

    user: np.ndarray
    item: np.ndarray
    exposed: np.ndarray
    outcome: np.ndarray
    propensity: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.user)


@dataclass
class RecData:
    """Everything ``Recommender.fit`` may use; see the module docstring."""

    kind: str
    train: Interactions
    user_ids: np.ndarray
    item_ids: np.ndarray
    valid: Interactions | None = None
    test: Interactions | None = None
    threshold: float = 3.0
    item_text: list[str] | None = None
    user_features: np.ndarray | None = None
    item_features: np.ndarray | None = None
    exposures: Exposures | None = None
    mar_sample: Interactions | None = None
    name: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in DATA_KINDS:
            raise invalid_choice("kind", self.kind, DATA_KINDS)
        self.user_ids = np.asarray(self.user_ids)
        self.item_ids = np.asarray(self.item_ids)
        if len(self.user_ids) != self.train.n_users or len(self.item_ids) != self.train.n_items:
            raise DataError(
                f"user_ids/item_ids have {len(self.user_ids)}/{len(self.item_ids)} entries; the interactions "
                f"index {self.train.n_users} users and {self.train.n_items} items."
            )
        if self.item_text is not None and len(self.item_text) != self.n_items:
            raise DataError(f"item_text has {len(self.item_text)} entries; there are {self.n_items} items.")

    @property
    def n_users(self) -> int:
        return self.train.n_users

    @property
    def n_items(self) -> int:
        return self.train.n_items

    @property
    def item_category_features(self) -> np.ndarray | None:
        """The one-hot category columns of ``item_features`` (logs put them first, then the numeric
        catalogue attributes: ``meta['item_n_category_features']`` says how many); all columns when the
        data does not say."""
        if self.item_features is None:
            return None
        n = self.meta.get("item_n_category_features")
        return self.item_features if n is None else self.item_features[:, : int(n)]

    def with_train(self, train: Interactions, valid: Interactions | None = None) -> RecData:
        """A copy with another train (and valid) part, e.g. a validation slice carved from train."""
        return replace(self, train=train, valid=valid)

    def fingerprint(self) -> str:
        """A short hash of the training data (stored with every run)."""
        parts = [self.kind, self.train.fingerprint()]
        if self.valid is not None:
            parts.append(self.valid.fingerprint())
        if self.mar_sample is not None:  # feeds the naive-Bayes propensities
            parts.append("mar:" + self.mar_sample.fingerprint())
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    def user_index(self) -> dict:
        return {u: i for i, u in enumerate(self.user_ids.tolist())}

    def item_index(self) -> dict:
        return {it: i for i, it in enumerate(self.item_ids.tolist())}
