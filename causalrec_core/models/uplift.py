"""Uplift recommendation: rank items by the causal effect of recommending them.

:class:`UpliftRecommender` ('uplift') learns, from the logged exposures (``data.exposures``), two
outcome models sharing user/item embeddings and an MLP trunk: head 0 estimates
P(purchase | do(not exposed)), head 1 P(purchase | do(exposed)). Each logged pair's loss on the
head of the arm it was in is weighted by the inverse probability of that arm
(``1 / e`` if exposed, ``1 / (1 - e)`` if not), so that both heads are fitted to the whole
candidate population rather than to the pairs the logging recommender happened to favour.
``e`` is the logged propensity where the log has it, else a logistic regression of exposure on
log user activity and log item popularity (training-interaction counts); it is clipped to
``[clip, 1 - clip]`` and the clipping is reported in ``clip_report_``.

``propensity`` picks the source of ``e``: ``'auto'`` (the default, as above), ``'logged'`` (the
same, but an error when the log has no propensity), ``'popularity'`` (the logistic regression on
log activity and popularity for every pair, ignoring logged ones) or ``'graph'`` (an
:class:`~causalrec_core.models.exposure.ExposurePropensity` on ``propensity_features``, the causal
graph's adjustment set from :func:`~causalrec_core.models.exposure.features_from_graph`).
``propensity_source_`` (and ``clip_report_['source']``) says which was used: ``'logged'``,
``'fitted'``, ``'logged+fitted'`` or ``'graph'``.

``score`` (and :meth:`UpliftRecommender.predict_uplift`) is the estimated uplift
head 1 - head 0; ``predict`` is P(purchase | exposed). Optional ``data.user_features`` and the item
category one-hot (``data.item_category_features``) enter the trunk, standardised.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from causalrec_core.errors import DataError, invalid_choice, out_of_range
from causalrec_core.models.base import EpochContext, TorchRecommender
from causalrec_core.models.data import RecData
from causalrec_core.models.exposure import PROPENSITY_SOURCES, fit_graph_propensity

__all__ = ["UpliftRecommender"]


def _standardise(x: np.ndarray | None, n: int) -> np.ndarray:
    if x is None:
        return np.zeros((n, 0), dtype=np.float32)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if len(x) != n:
        raise DataError(f"feature matrix has {len(x)} rows; expected {n}.")
    x = np.where(np.isfinite(x), x, np.nan)
    mu = np.nanmean(x, axis=0) if len(x) else np.zeros(x.shape[1])
    sd = np.nanstd(x, axis=0) if len(x) else np.ones(x.shape[1])
    mu = np.where(np.isfinite(mu), mu, 0.0)
    sd = np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)
    return np.nan_to_num((x - mu) / sd).astype(np.float32)


class UpliftRecommender(TorchRecommender):
    """Two-head (control / treated) outcome model trained with inverse-propensity weights."""

    name: ClassVar[str] = "uplift"
    description: ClassVar[str] = (
        "Ranks items by the estimated causal effect of recommending them (uplift = P(purchase | shown) - "
        "P(purchase | not shown)), from a two-head outcome model trained on logged exposures with "
        "inverse-propensity weights.")
    kinds: ClassVar[tuple[str, ...]] = ("log",)
    causal: ClassVar[bool] = True
    monitor: ClassVar[str] = "neg_ipw_logloss"

    def __init__(self, *, dim: int = 8, hidden: int = 64, epochs: int = 30, batch_size: int = 1024,
                 lr: float = 0.001, weight_decay: float = 1e-3, clip: float = 0.02, valid_share: float = 0.1,
                 patience: int = 5, propensity: str = "auto", propensity_features: list[str] | None = None,
                 random_state: int = 0, device: str = "auto") -> None:
        self.dim = dim
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.clip = clip
        self.valid_share = valid_share
        self.patience = patience
        self.propensity = propensity
        self.propensity_features = propensity_features
        self.random_state = random_state
        self.device = device

    # -- propensity -----------------------------------------------------------------------
    def _propensity(self, data: RecData) -> np.ndarray:
        mode = self.propensity
        if mode not in PROPENSITY_SOURCES:
            raise invalid_choice("propensity", mode, PROPENSITY_SOURCES)
        exp = data.exposures
        t = np.asarray(exp.exposed, dtype=np.float64)
        p = np.full(len(exp), np.nan) if exp.propensity is None else np.asarray(exp.propensity, dtype=np.float64)
        p = np.where(np.isfinite(p) & (p > 0) & (p < 1 + 1e-9), p, np.nan)
        if mode == "logged" and not np.isfinite(p).any():
            raise DataError("propensity='logged' needs logged exposure propensities (a 'propensity' column in the "
                            "event log); this dataset has none. Use 'graph' (with the graph's adjustment set as "
                            "propensity_features), 'popularity' or 'auto'.")
        if mode in ("graph", "popularity"):
            p = np.full(len(exp), np.nan)
        missing = ~np.isfinite(p)
        source = "logged"
        if mode == "graph":
            c = float(self.clip)
            model = fit_graph_propensity(data, self.propensity_features, (c, 1 - c), self.random_state)
            p = model.predict(exp.user, exp.item, clipped=False)
            self.propensity_model_ = model.summary()
            source = "graph"
        elif missing.any():
            from sklearn.linear_model import LogisticRegression

            act = np.log1p(np.bincount(data.train.user, minlength=data.n_users))
            pop = np.log1p(np.bincount(data.train.item, minlength=data.n_items))
            X = np.c_[act[exp.user], pop[exp.item]]
            if len(np.unique(t)) == 2:
                lr = LogisticRegression(C=1.0).fit(X, t)
                fitted = lr.predict_proba(X)[:, 1]
                self.propensity_model_ = {"coef": lr.coef_[0].tolist(), "intercept": float(lr.intercept_[0]),
                                          "features": ["log1p(user train count)", "log1p(item train count)"]}
            else:
                fitted = np.full(len(t), t.mean())
                self.propensity_model_ = {"constant": float(t.mean())}
            p[missing] = fitted[missing]
            source = "fitted" if missing.all() else "logged+fitted"
        c = float(self.clip)
        low, high = p < c, p > 1 - c
        self.clip_report_ = {"min": c, "max": 1 - c, "n_clipped": int(low.sum() + high.sum()),
                             "n_clipped_low": int(low.sum()), "n_clipped_high": int(high.sum()), "n": int(len(p)),
                             "share_clipped": float((low | high).mean()) if len(p) else 0.0, "source": source,
                             "mode": mode}
        self.propensity_source_ = source
        return np.clip(p, c, 1 - c)

    # -- model ----------------------------------------------------------------------------
    def _setup(self, data: RecData, torch: Any, device: Any) -> None:
        exp = data.exposures
        if exp is None or len(exp) == 0:
            raise DataError("The uplift model needs logged exposures (which candidate items were shown to whom: "
                            "'exposure' events or an 'exposed' column in the log); this dataset has none.")
        for nm in ("dim", "hidden"):
            v = getattr(self, nm)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise out_of_range(nm, v, "an integer >= 1")
        if not (0.0 < float(self.clip) < 0.5):
            raise out_of_range("clip", self.clip, "a number in (0, 0.5)")
        if not (0.0 <= float(self.valid_share) < 0.5):
            raise out_of_range("valid_share", self.valid_share, "a number in [0, 0.5)")
        e = self._propensity(data)
        t = np.asarray(exp.exposed, dtype=np.float32)
        y = np.asarray(exp.outcome, dtype=np.float32)
        w = np.where(t > 0.5, 1.0 / e, 1.0 / (1.0 - e)).astype(np.float32)
        n = len(t)
        rng = np.random.default_rng(int(self.random_state))
        n_val = int(round(float(self.valid_share) * n)) if n >= 50 else 0
        perm = rng.permutation(n)
        val, fit = np.sort(perm[:n_val]), np.sort(perm[n_val:])
        uf = _standardise(data.user_features, data.n_users)
        itf = _standardise(data.item_category_features, data.n_items)
        nn = torch.nn
        dim, hid = int(self.dim), int(self.hidden)
        n_in = 3 * dim + uf.shape[1] + itf.shape[1]

        class Net(nn.Module):
            def __init__(s) -> None:
                super().__init__()
                s.user = nn.Embedding(data.n_users, dim)
                s.item = nn.Embedding(data.n_items, dim)
                nn.init.normal_(s.user.weight, std=0.05)
                nn.init.normal_(s.item.weight, std=0.05)
                s.register_buffer("uf", torch.as_tensor(uf))
                s.register_buffer("itf", torch.as_tensor(itf))
                s.trunk = nn.Sequential(nn.Linear(n_in, hid), nn.ReLU(), nn.Linear(hid, hid), nn.ReLU())
                s.head = nn.Linear(hid, 2)

            def forward(s, u: Any, i: Any) -> Any:
                """(batch, 2) logits: column 0 not exposed, column 1 exposed."""
                pu, qi = s.user(u), s.item(i)
                x = torch.cat([pu, qi, pu * qi, s.uf[u], s.itf[i]], dim=1)
                return s.head(s.trunk(x))

        net = Net().to(device)
        self.modules_ = {"net": net}
        self.optimizers_ = {"net": torch.optim.Adam(net.parameters(), lr=float(self.lr),
                                                    weight_decay=float(self.weight_decay))}
        self._torch = torch
        self._dev = device

        def tens(a: np.ndarray, idx: np.ndarray) -> Any:
            return torch.as_tensor(np.ascontiguousarray(a[idx]), device=device)

        u = np.asarray(exp.user, dtype=np.int64)
        i = np.asarray(exp.item, dtype=np.int64)
        self._fit = {k: tens(a, fit) for k, a in (("u", u), ("i", i), ("t", t), ("y", y), ("w", w))}
        self._val = {k: tens(a, val) for k, a in (("u", u), ("i", i), ("t", t), ("y", y), ("w", w))}
        self.n_fit_, self.n_valid_ = len(fit), len(val)

    def _loss(self, net: Any, b: dict, idx: Any = None) -> Any:
        torch = self._torch
        sel = (lambda a: a) if idx is None else (lambda a: a[idx])
        logits = net(sel(b["u"]), sel(b["i"])).float()
        t = sel(b["t"])
        z = torch.where(t > 0.5, logits[:, 1], logits[:, 0])
        bce = torch.nn.functional.binary_cross_entropy_with_logits(z, sel(b["y"]), reduction="none")
        w = sel(b["w"])
        return (bce * w).sum() / w.sum().clamp(min=1e-12)

    def _train_epoch(self, data: RecData, ec: EpochContext) -> dict:
        torch = self._torch
        opt = self.optimizers_["net"]
        net = self.net("net")
        for b in ec.batches(self.n_fit_, int(self.batch_size)):
            idx = torch.as_tensor(b, device=self._dev)
            with ec.autocast():
                loss = self._loss(net, self._fit, idx)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            ec.report(loss)
        return {}

    def _validate(self, data: RecData) -> dict:
        if self.n_valid_ == 0:
            return {}
        torch = self._torch
        self._inference_mode(True)
        try:
            with torch.no_grad():
                loss = float(self._loss(self.modules_["net"], self._val).item())
        finally:
            self._inference_mode(False)
        return {"neg_ipw_logloss": -loss}

    # -- prediction -----------------------------------------------------------------------
    def _outcomes(self, users: np.ndarray, items: np.ndarray, chunk: int = 262_144) -> np.ndarray:
        """(n, 2) estimated P(purchase | not exposed), P(purchase | exposed)."""
        torch = self._torch
        net = self.modules_["net"]
        out = np.empty((len(users), 2), dtype=np.float64)
        with torch.no_grad():
            for s in range(0, len(users), chunk):
                u = torch.as_tensor(np.asarray(users[s:s + chunk], dtype=np.int64), device=self._dev)
                i = torch.as_tensor(np.asarray(items[s:s + chunk], dtype=np.int64), device=self._dev)
                out[s:s + chunk] = torch.sigmoid(net(u, i).float()).cpu().numpy()
        return out

    def _score_idx(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        p = self._outcomes(users, items)
        return p[:, 1] - p[:, 0]

    def score_all(self, users: Any) -> np.ndarray:
        u = np.asarray(users, dtype=np.int64)
        n = self.n_items_
        out = np.empty((len(u), n), dtype=np.float64)
        step = max(1, 1_048_576 // max(n, 1))  # ~1M pairs per chunk
        items = np.arange(n, dtype=np.int64)
        for s in range(0, len(u), step):
            ub = u[s:s + step]
            p = self._outcomes(np.repeat(ub, n), np.tile(items, len(ub)))
            out[s:s + step] = (p[:, 1] - p[:, 0]).reshape(len(ub), n)
        return out

    def predict_uplift(self, users: Any, items: Any) -> np.ndarray:
        """Estimated uplift P(purchase | exposed) - P(purchase | not exposed) per (user, item) index pair."""
        return self.score(users, items)

    def predict_outcomes(self, users: Any, items: Any) -> tuple[np.ndarray, np.ndarray]:
        """(P(purchase | not exposed), P(purchase | exposed)) per (user, item) index pair."""
        self.score(users, items)  # validates the indexes
        p = self._outcomes(np.asarray(users, dtype=np.int64), np.asarray(items, dtype=np.int64))
        return p[:, 0], p[:, 1]

    def predict(self, users: Any, items: Any) -> np.ndarray:
        """P(purchase | exposed) per pair (the treated head)."""
        return self.predict_outcomes(users, items)[1]

    def cold_user_scores(self) -> np.ndarray:
        """A new user: each item's uplift averaged over (up to 1000) training users."""
        users = np.arange(self.n_users_)
        if len(users) > 1000:
            users = np.random.default_rng(0).choice(users, 1000, replace=False)
        total = np.zeros(self.n_items_, dtype=np.float64)
        for s in range(0, len(users), 256):
            total += self.score_all(users[s:s + 256]).sum(axis=0)
        return total / len(users)
