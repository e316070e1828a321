"""Loaders of explicit-rating data with a biased (MNAR) train and a randomised (MAR) test.

* :func:`load_coat` — the Coat shopping data set (Schnabel et al. 2016): ``train.ascii`` holds the
  ratings of items the 290 users chose themselves (missing not at random), ``test.ascii`` the
  ratings of 16 items each user was shown at random (missing at random); both are dense 290 x 300
  matrices where 0 means "not rated". ``user_item_features/`` holds one-hot user and item features.
* :func:`load_rating_csv` — any ``user,item,rating`` CSV pair (header optional, ids any strings).
* :func:`validation_slice` — a validation part carved out of the biased train, for tuning; the
  test set is never used to choose anything.
* :func:`with_mar_sample` — a small randomised (MAR) sample for the naive-Bayes propensities: given
  as its own file, or carved as a seeded fraction out of the randomised test, in which case those
  pairs leave the test set (they are never both used for the propensities and evaluated on).
"""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import numpy as np

from causalrec_core.errors import DataError, out_of_range
from causalrec_core.models.data import Interactions, RecData

__all__ = ["load_coat", "load_rating_csv", "validation_slice", "with_mar_sample"]


def _read_matrix(path: Path, shape: tuple[int, int] | None = None, what: str = "numbers") -> np.ndarray:
    if not path.exists():
        raise DataError(f"{path} not found: expected a whitespace-separated matrix of {what}.")
    rows = []
    width = None
    with path.open() as fh:
        for lineno, line in enumerate(fh, start=1):
            parts = line.split()
            if not parts:
                continue
            try:
                row = [float(x) for x in parts]
            except ValueError:
                bad = next(x for x in parts if not _is_number(x))
                raise DataError(f"{path}, line {lineno}: {bad!r} is not a number; expected {what}.") from None
            if width is None:
                width = len(row)
            elif len(row) != width:
                raise DataError(f"{path}, line {lineno}: {len(row)} columns; expected {width} like line 1.")
            rows.append(row)
    if not rows:
        raise DataError(f"{path} is empty: expected a whitespace-separated matrix of {what}.")
    mat = np.asarray(rows, dtype=np.float64)
    if shape is not None:
        if mat.shape[0] != shape[0] or (shape[1] > 0 and mat.shape[1] != shape[1]):
            raise DataError(f"{path} is {mat.shape[0]} x {mat.shape[1]}; expected {shape[0]} rows"
                            + (f" x {shape[1]} columns" if shape[1] > 0 else "") + ".")
    return mat


def _is_number(x: str) -> bool:
    try:
        float(x)
    except ValueError:
        return False
    return True


def _dense_to_interactions(mat: np.ndarray) -> Interactions:
    u, i = np.nonzero(mat)
    return Interactions(user=u, item=i, value=mat[u, i].astype(np.float32), n_users=mat.shape[0],
                        n_items=mat.shape[1])


def load_coat(directory: str | Path, *, threshold: float = 3.0) -> RecData:
    """The Coat data set from ``directory`` (``train.ascii``, ``test.ascii`` and, when present,
    ``user_item_features/{user,item}_features.ascii``) as ``RecData(kind='rating')``.

    A rating ``> threshold`` (default 3, i.e. 4 or 5 stars) is a positive. ``valid`` is not set:
    carve one from the biased train with :func:`validation_slice`.
    """
    d = Path(directory)
    if not d.is_dir():
        raise DataError(f"{d} not found: expected the Coat directory holding train.ascii and test.ascii.")
    train = _read_matrix(d / "train.ascii", what="ratings 0..5 (0 = not rated)")
    test = _read_matrix(d / "test.ascii", shape=train.shape, what="ratings 0..5 (0 = not rated)")
    for name, m in (("train.ascii", train), ("test.ascii", test)):
        if m.min() < 0:
            raise DataError(f"{d / name} holds a negative rating ({m.min():g}); expected 0 (missing) or 1..5.")
    n_users, n_items = train.shape
    uf = itf = None
    feat = d / "user_item_features"
    if (feat / "user_features.ascii").exists():
        uf = _read_matrix(feat / "user_features.ascii", shape=(n_users, 0), what="one-hot user features")
    if (feat / "item_features.ascii").exists():
        itf = _read_matrix(feat / "item_features.ascii", shape=(n_items, 0), what="one-hot item features")
    tr = _dense_to_interactions(train)
    te = _dense_to_interactions(test)
    return RecData(kind="rating", train=tr, test=te, user_ids=np.arange(n_users), item_ids=np.arange(n_items),
                   threshold=threshold,
                   user_features=None if uf is None else uf.astype(np.float32),
                   item_features=None if itf is None else itf.astype(np.float32),
                   name="coat", meta={"source": str(d), "train_protocol": "MNAR (self-selected)",
                                      "test_protocol": "MAR (random items)"})


def _read_rating_csv(path: Path) -> list[tuple[str, str, float, int]]:
    if not path.exists():
        raise DataError(f"{path} not found: expected a CSV file with columns user,item,rating.")
    rows: list[tuple[str, str, float, int]] = []
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        for lineno, rec in enumerate(reader, start=1):
            if not rec or all(not c.strip() for c in rec):
                continue
            if len(rec) < 3:
                raise DataError(f"{path}, line {lineno}: {len(rec)} field(s) {rec!r}; expected user,item,rating.")
            user, item, rating = rec[0].strip(), rec[1].strip(), rec[2].strip()
            try:
                value = float(rating)
            except ValueError:
                if not rows and lineno == 1:
                    continue  # a header row
                raise DataError(f"{path}, line {lineno}: rating {rating!r} is not a number; "
                                "expected user,item,rating with a numeric rating.") from None
            if not np.isfinite(value):
                raise DataError(f"{path}, line {lineno}: rating {rating!r} is not finite.")
            if not user or not item:
                raise DataError(f"{path}, line {lineno}: empty user or item id; expected user,item,rating.")
            rows.append((user, item, value, lineno))
    if not rows:
        raise DataError(f"{path} holds no rating rows: expected a CSV file with columns user,item,rating.")
    return rows


def load_rating_csv(train_path: str | Path, test_path: str | Path | None = None, *,
                    threshold: float = 3.0, name: str = "", mar_path: str | Path | None = None) -> RecData:
    """Ratings from ``user,item,rating`` CSV files (header row optional; ids are kept as strings).

    Users and items are indexed in order of first appearance, train first; test users or items
    never seen in train get indexes too (``meta['cold_users']`` / ``meta['cold_items']`` count them)
    and every model still scores them. A (user, item) pair repeated within a file keeps its last
    rating. ``mar_path`` names a third file of the same form: ratings of randomly chosen items
    (missing at random), kept as ``mar_sample`` for the naive-Bayes propensities; a pair that is
    also in the test file is refused (it would be both fitted on and evaluated on).
    """
    train_rows = _read_rating_csv(Path(train_path))
    test_rows = _read_rating_csv(Path(test_path)) if test_path is not None else []
    mar_rows = _read_rating_csv(Path(mar_path)) if mar_path is not None else []
    users: dict[str, int] = {}
    items: dict[str, int] = {}
    for u, i, _, _ in train_rows:
        users.setdefault(u, len(users))
        items.setdefault(i, len(items))
    n_train_users, n_train_items = len(users), len(items)
    for u, i, _, _ in (*test_rows, *mar_rows):
        users.setdefault(u, len(users))
        items.setdefault(i, len(items))
    if mar_rows and test_rows:
        test_pairs = {(u, i) for u, i, _, _ in test_rows}
        both = [(u, i, line) for u, i, _, line in mar_rows if (u, i) in test_pairs]
        if both:
            u, i, line = both[0]
            raise DataError(f"{mar_path}, line {line}: the pair (user {u!r}, item {i!r}) is also in the test file "
                            f"{test_path} ({len(both)} such pairs); the MAR sample must be disjoint from the test.")

    def build(rows: list) -> Interactions:
        last = {(users[u], items[i]): v for u, i, v, _ in rows}
        keys = np.array(list(last.keys()), dtype=np.int64).reshape(-1, 2)
        return Interactions(user=keys[:, 0], item=keys[:, 1], value=np.array(list(last.values()), np.float32),
                            n_users=len(users), n_items=len(items))

    tr = build(train_rows)
    te = build(test_rows) if test_rows else None
    mar = build(mar_rows) if mar_rows else None
    return RecData(kind="rating", train=tr, test=te, user_ids=np.array(list(users), dtype=object),
                   item_ids=np.array(list(items), dtype=object), threshold=threshold, mar_sample=mar,
                   name=name or Path(train_path).stem,
                   meta={"source": str(train_path), "cold_users": len(users) - n_train_users,
                         "cold_items": len(items) - n_train_items})


def _carve(n: int, fraction: object, seed: int, *, param: str, rule: str, what: str, parts: str) -> np.ndarray:
    """A seeded random mask of ``round(fraction * n)`` of ``n`` rows, refusing a fraction that leaves
    either side empty (``parts`` names the two sides in the message)."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0.0 < fraction < 1.0:
        raise out_of_range(param, fraction, rule)
    k = int(round(fraction * n))
    if k < 1 or k >= n:
        raise DataError(f"{param}={fraction} of {n} {what} leaves {parts}.")
    mask = np.zeros(n, dtype=bool)
    mask[np.random.default_rng(seed).permutation(n)[:k]] = True
    return mask


def validation_slice(data: RecData, fraction: float = 0.1, seed: int = 0) -> RecData:
    """A copy whose ``valid`` is a seeded random ``fraction`` of the (biased) training ratings and whose
    ``train`` is the rest; ``test`` is untouched and plays no part."""
    mask = _carve(len(data.train), fraction, seed, param="fraction", rule="a number strictly between 0 and 1",
                  what="training ratings", parts="no validation or no training rows")
    return data.with_train(data.train.subset(~mask), data.train.subset(mask))


def with_mar_sample(data: RecData, fraction: float, seed: int = 0) -> RecData:
    """A copy whose ``mar_sample`` is a seeded random ``fraction`` of the randomised test ratings and
    whose ``test`` is the rest (the protocol of the public Coat code uses 5%; there the sample stays in
    the test set, here it leaves it). Only for data whose test set is a randomised (MAR) sample."""
    if data.test is None or len(data.test) == 0:
        raise DataError("mar_fraction needs a randomised test set to carve the MAR sample from; the data has none.")
    if data.mar_sample is not None and len(data.mar_sample) > 0:
        raise DataError(f"the data already holds a MAR sample of {len(data.mar_sample)} ratings; give either a "
                        "MAR file or mar_fraction, not both.")
    n = len(data.test)
    mask = _carve(n, fraction, seed, param="mar_fraction", rule="a number strictly between 0 and 1 (e.g. 0.05)",
                  what="test ratings", parts="no MAR sample or no test rows")
    meta = {**data.meta, "mar_sample": f"{int(mask.sum())} of {n} randomised test ratings (seed {seed}), removed "
                                       "from the test"}
    return replace(data, test=data.test.subset(~mask), mar_sample=data.test.subset(mask), meta=meta)
