"""Observation propensities P(O=1 | user, item) for the debiased rating recommenders.

A rating is *observed* (O=1) when the user chose to rate the item; on self-selected (MNAR) data
popular items and positive ratings are over-observed. The debiased losses weight each observed
rating by ``1 / propensity``. Methods:

* ``'logged'`` — the propensities the data carries (``Interactions.propensity`` of the train part).
* ``'popularity'`` — a logistic regression of O on log user activity and log item popularity (and, with
  ``features=True``, the one-hot user / item features where the data has them), fitted over all
  user-item pairs (a seeded sample of pairs on large catalogues). Fits are cached per training data.
* ``'naive-bayes'`` — P(O=1 | Y=y) = P(Y=y | O=1) P(O=1) / P(Y=y) with P(Y=y) from a small
  missing-at-random sample (``RecData.mar_sample``); only when the data holds one — a MAR file of its
  own, or a share carved out of a randomised test that then leaves the test set
  (:func:`~causalrec_core.models.coat.with_mar_sample`). ``y`` is the binary label (rating > threshold).
* ``'auto'`` — ``'logged'`` when the train part has propensities, else ``'naive-bayes'`` when there is
  a MAR sample, else ``'popularity'``.

Propensities are always clipped to ``clip = (low, high)``; ``clip_report_`` says how many were.
"""

from __future__ import annotations

import numpy as np

from causalrec_core.errors import DataError, NotFittedError, invalid_choice, out_of_range
from causalrec_core.models.data import RecData
from causalrec_core.params import ParamsMixin

__all__ = ["PROPENSITY_METHODS", "PropensityModel"]

PROPENSITY_METHODS: tuple[str, ...] = ("auto", "logged", "popularity", "naive-bayes")
MAX_PAIRS = 2_000_000
_CACHE: dict = {}  # fitted popularity regressions by (training data, settings); small, FIFO


def ridge_logistic(A: np.ndarray, y: np.ndarray, l2: float, *, w: np.ndarray | None = None,
                   iters: int = 100, tol: float = 1e-8) -> tuple[np.ndarray, int, bool]:
    """Weighted L2-penalised logistic regression by Newton's method.

    ``A`` holds the intercept column first (not penalised); the penalty is ``l2 / sum(w)``
    per coefficient. Returns (coefficients, Newton steps taken, converged).
    """
    n, d = A.shape
    w = np.ones(n) if w is None else np.asarray(w, dtype=np.float64)
    total = max(float(w.sum()), 1e-12)
    beta = np.zeros(d)
    pbar = float(np.average(y, weights=w)) if n else 0.5
    beta[0] = np.log(pbar / (1 - pbar)) if 0 < pbar < 1 else 0.0
    pen = np.full(d, l2 / total)
    pen[0] = 0.0
    for it in range(1, iters + 1):
        p = 1.0 / (1.0 + np.exp(-np.clip(A @ beta, -30, 30)))
        grad = A.T @ (w * (p - y)) / total + pen * beta
        H = (A * (w * p * (1 - p))[:, None]).T @ A / total + np.diag(pen) + 1e-9 * np.eye(d)
        step = np.linalg.solve(H, grad)
        beta -= step
        if np.max(np.abs(step)) < tol:
            return beta, it, True
    return beta, iters, False


def check_clip(clip: object, param: str = "clip") -> tuple[float, float]:
    """A propensity clipping range (low, high) with 0 < low < high <= 1, as floats."""
    try:
        lo, hi = (float(x) for x in clip)
    except (TypeError, ValueError):
        raise out_of_range(param, clip, "a pair (low, high) with 0 < low < high <= 1") from None
    if not 0.0 < lo < hi <= 1.0:
        raise out_of_range(param, clip, "a pair (low, high) with 0 < low < high <= 1")
    return lo, hi


class PropensityModel(ParamsMixin):
    """Estimates and clips P(O=1 | u, i); see the module docstring for the methods."""

    def __init__(self, *, method: str = "auto", clip: tuple[float, float] = (0.02, 1.0), features: bool = False,
                 C: float = 1.0, random_state: int = 0) -> None:
        self.method = method
        self.clip = clip
        self.features = features
        self.C = C
        self.random_state = random_state

    # -- fit -------------------------------------------------------------------------------
    def _check(self) -> tuple[float, float]:
        if self.method not in PROPENSITY_METHODS:
            raise invalid_choice("method", self.method, PROPENSITY_METHODS)
        lo, hi = check_clip(self.clip)
        return lo, hi

    def fit(self, data: RecData) -> PropensityModel:
        lo, hi = self._check()
        method = self.method
        if method == "auto":
            if data.train.propensity is not None:
                method = "logged"
            elif data.mar_sample is not None and len(data.mar_sample) > 0:
                method = "naive-bayes"
            else:
                method = "popularity"
        self.method_ = method
        self.threshold_ = float(data.threshold)
        tr = data.train
        self.obs_rate_ = len(tr) / float(data.n_users * data.n_items)
        if method == "logged":
            if tr.propensity is None:
                raise DataError("method='logged' needs logged propensities (train.propensity); the data has none. "
                                "Use 'popularity' or 'auto'.")
            raw = np.asarray(tr.propensity, dtype=np.float64)
            if not np.all(np.isfinite(raw)):
                raise DataError(f"train.propensity holds {int((~np.isfinite(raw)).sum())} non-finite values.")
        elif method == "naive-bayes":
            self._fit_naive_bayes(data)
            raw = self._nb_lookup((tr.value > data.threshold).astype(int))
        else:
            self._fit_popularity(data)
            raw = self._popularity_raw(tr.user, tr.item)
        self.train_propensity_ = self._clip(raw, lo, hi, report=True)
        return self

    def _clip(self, raw: np.ndarray, lo: float, hi: float, report: bool = False) -> np.ndarray:
        raw = np.asarray(raw, dtype=np.float64)
        if report:
            n_low, n_high = int((raw < lo).sum()), int((raw > hi).sum())
            self.clip_report_ = {
                "low": lo, "high": hi, "raw_min": float(raw.min()) if raw.size else float("nan"),
                "raw_max": float(raw.max()) if raw.size else float("nan"),
                "n_clipped_low": n_low, "n_clipped_high": n_high, "n_clipped": n_low + n_high,
                "share_clipped": (n_low + n_high) / max(len(raw), 1), "n": int(len(raw)),
            }
        return np.clip(raw, lo, hi)

    # naive Bayes with a MAR sample
    def _fit_naive_bayes(self, data: RecData) -> None:
        mar = data.mar_sample
        if mar is None or len(mar) == 0:
            raise DataError("method='naive-bayes' needs a missing-at-random sample (RecData.mar_sample); the data "
                            "has none. Give a MAR file (--mar) or carve one from a randomised test (--mar-fraction), "
                            "or use 'popularity' or 'auto'.")
        y_obs = (data.train.value > data.threshold).astype(int)
        y_mar = (mar.value > data.threshold).astype(int)
        p_obs = np.array([(y_obs == k).mean() for k in (0, 1)])
        # add-one smoothing keeps the rare class finite
        p_mar = np.array([((y_mar == k).sum() + 1.0) / (len(y_mar) + 2.0) for k in (0, 1)])
        self.nb_table_ = p_obs * self.obs_rate_ / p_mar

    def _nb_lookup(self, y: np.ndarray) -> np.ndarray:
        return self.nb_table_[np.asarray(y, dtype=int)]

    # logistic regression on activity / popularity / features
    def _design(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        cols = [self._log_ucount[users][:, None], self._log_icount[items][:, None]]
        if self._uf is not None:
            cols.append(self._uf[users])
        if self._if is not None:
            cols.append(self._if[items])
        return np.hstack(cols).astype(np.float64)

    def _fit_popularity(self, data: RecData) -> None:
        tr = data.train
        nu, ni = data.n_users, data.n_items
        self._log_ucount = np.log1p(np.bincount(tr.user, minlength=nu).astype(np.float64))
        self._log_icount = np.log1p(np.bincount(tr.item, minlength=ni).astype(np.float64))
        use = bool(self.features)
        self._uf = None if data.user_features is None or not use else np.asarray(data.user_features, np.float64)
        self._if = None if data.item_features is None or not use else np.asarray(data.item_features, np.float64)
        key = (data.fingerprint(), nu, ni, use, float(self.C), int(self.random_state))
        if key in _CACHE:
            self._coef = _CACHE[key]
            return
        n_pairs = nu * ni
        observed = np.zeros(n_pairs, dtype=bool)
        observed[tr.user * ni + tr.item] = True
        n_obs = int(observed.sum())
        if n_pairs <= MAX_PAIRS:
            flat = np.arange(n_pairs)
            weight = np.ones(n_pairs)
        else:  # every observed pair plus a seeded uniform sample of the rest, re-weighted
            rng = np.random.default_rng(self.random_state)
            neg = rng.integers(0, n_pairs, size=MAX_PAIRS - n_obs)
            neg = neg[~observed[neg]]
            flat = np.r_[np.flatnonzero(observed), neg]
            weight = np.r_[np.ones(n_obs), np.full(len(neg), (n_pairs - n_obs) / max(len(neg), 1))]
        X = self._design(flat // ni, flat % ni)
        o = observed[flat].astype(np.float64)
        self._coef = ridge_logistic(np.hstack([np.ones((len(X), 1)), X]), o, 1.0 / float(self.C) if self.C > 0 else 0.0,
                                    w=weight, iters=50)[0]
        _CACHE[key] = self._coef
        while len(_CACHE) > 16:
            _CACHE.pop(next(iter(_CACHE)))

    def _popularity_raw(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        X = self._design(users, items)
        z = self._coef[0] + X @ self._coef[1:]
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    # -- use -------------------------------------------------------------------------------
    def predict(self, users: np.ndarray, items: np.ndarray, values: np.ndarray | None = None) -> np.ndarray:
        """Clipped propensities of (users[k], items[k]); ``values`` (ratings) are needed by 'naive-bayes'."""
        if not hasattr(self, "method_"):
            raise NotFittedError("PropensityModel is not fitted: call fit(data) first.")
        lo, hi = self._check()
        if self.method_ == "naive-bayes":
            if values is None:
                raise DataError("naive-bayes propensities depend on the rating: pass values.")
            raw = self._nb_lookup((np.asarray(values) > self.threshold_).astype(int))
        elif self.method_ == "popularity":
            raw = self._popularity_raw(np.asarray(users, dtype=np.int64), np.asarray(items, dtype=np.int64))
        else:
            raise DataError("logged propensities exist only for the logged (train) pairs: use train_propensity_.")
        return self._clip(raw, lo, hi)
