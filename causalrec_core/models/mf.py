"""Matrix-factorisation recommenders for explicit ratings with a biased (MNAR) train.

All run through :class:`~causalrec_core.models.base.TorchRecommender`'s loop and share one scorer:
``score(u, i) = <p_u, q_i> + b + b_u + b_i`` (a logit), where, with ``use_features=True``, the user and
item one-hot features add a learned linear map to ``p_u`` / ``q_i`` and to the biases (so a user or item
never rated still scores by its features).

* :class:`MF` (``'mf'``) — naive MF on the observed ratings only: binary cross-entropy on
  ``rating > threshold`` (``objective='implicit'``, the naive baseline of the debiasing literature) or
  squared error on ratings scaled to 0..1 (``'explicit'``). Biased by self-selection.
* :class:`BPRMF` (``'bpr'``) — Bayesian personalised ranking: positives ranked above sampled items.
* :class:`MFIPS` (``'mf-ips'``) — the inverse-propensity-scored loss over all user-item pairs,
  ``1/|D| sum_{u,i} o_ui e_ui / p_ui``, an unbiased estimate of the loss on fully observed data
  when the propensities ``p_ui = P(O=1|u,i)`` are right. The unobserved terms are zero, so it is
  computed over the observed pairs and scaled by ``|O|/|D|``.
* :class:`MFSNIPS` (``'mf-snips'``) — self-normalised IPS: ``sum o e / p`` divided by ``sum o / p``
  (per batch), lower variance, slightly biased.
* :class:`DRJL` (``'dr-jl'``) — doubly robust joint learning (Wang et al. 2019): an imputation model
  predicts the error ``ê_ui`` on every pair; the prediction model minimises
  ``1/|D| sum_{u,i} [ê_ui + o_ui (e_ui - ê_ui) / p_ui]`` (unbiased if either the propensities or the
  imputed errors are right), and the imputation model minimises ``sum_O (e - ê)^2 / p``; the two are
  updated in turn on every batch. With ``use_features=True`` both models use the side features
  (:class:`DRJLFeatures`, ``'dr-jl-feat'``, has that on by default).

Propensities come from :class:`~causalrec_core.models.propensity.PropensityModel` (clipped;
``clip_report_`` after fit).

Validation of the debiased models: the validation slice is carved from the same biased (MNAR) ratings
as the train, so its plain AUC rewards fitting the selection bias (the "propensity contradiction",
Saito & Nomura 2021). The debiased models therefore early-stop (and are tuned) on ``'ips_auc'``: the
AUC over the validation pairs with each pair weighted by ``1 / p_ui`` from the same fitted, clipped
propensity model the loss uses (weighted Mann-Whitney, :func:`~causalrec_core.evaluate.metrics.auc_score`).
They also report ``'ips_ndcg@5'`` (per user, gains ``rel_ui / p_ui`` over the user's validation items,
normalised by the ideal order of those gains, averaged over users with a positive) and the plain
``'auc'`` / ``'ndcg@5'`` for comparison (history keys ``val_ips_auc``, ``val_auc``, ...).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from causalrec_core.errors import DataError, invalid_choice, out_of_range
from causalrec_core.models.base import EpochContext, TorchRecommender
from causalrec_core.models.data import Interactions, RecData

__all__ = ["BPRMF", "DRJL", "MF", "MFIPS", "MFSNIPS", "DRJLFeatures"]

OBJECTIVES: tuple[str, ...] = ("implicit", "explicit")


def _make_net(torch: Any, n_users: int, n_items: int, dim: int, bias: bool, uf: Any, itf: Any, seed: int) -> Any:
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            g = torch.Generator().manual_seed(seed)
            self.U = nn.Embedding(n_users, dim)
            self.V = nn.Embedding(n_items, dim)
            with torch.no_grad():
                self.U.weight.copy_(torch.randn(n_users, dim, generator=g) * 0.1)
                self.V.weight.copy_(torch.randn(n_items, dim, generator=g) * 0.1)
            self.bias = bias
            if bias:
                self.bu = nn.Embedding(n_users, 1)
                self.bi = nn.Embedding(n_items, 1)
                nn.init.zeros_(self.bu.weight)
                nn.init.zeros_(self.bi.weight)
                self.b0 = nn.Parameter(torch.zeros(1))
            self.has_uf = uf is not None
            self.has_if = itf is not None
            if self.has_uf:
                self.register_buffer("uf", uf)
                self.Wu = nn.Linear(uf.shape[1], dim, bias=False)
                self.wu = nn.Linear(uf.shape[1], 1, bias=False)
                with torch.no_grad():
                    self.Wu.weight.copy_(torch.randn(dim, uf.shape[1], generator=g) * 0.1)
                    self.wu.weight.zero_()
            if self.has_if:
                self.register_buffer("itf", itf)
                self.Wi = nn.Linear(itf.shape[1], dim, bias=False)
                self.wi = nn.Linear(itf.shape[1], 1, bias=False)
                with torch.no_grad():
                    self.Wi.weight.copy_(torch.randn(dim, itf.shape[1], generator=g) * 0.1)
                    self.wi.weight.zero_()

        def factors(self, u: Any, i: Any) -> tuple[Any, Any, Any]:
            p, q = self.U(u), self.V(i)
            b = torch.zeros(p.shape[0], device=p.device, dtype=p.dtype)
            if self.bias:
                b = b + self.b0 + self.bu(u).squeeze(-1) + self.bi(i).squeeze(-1)
            if self.has_uf:
                fu = self.uf[u]
                p = p + self.Wu(fu)
                b = b + self.wu(fu).squeeze(-1)
            if self.has_if:
                fi = self.itf[i]
                q = q + self.Wi(fi)
                b = b + self.wi(fi).squeeze(-1)
            return p, q, b

        def forward(self, u: Any, i: Any) -> Any:
            p, q, b = self.factors(u, i)
            return (p * q).sum(-1) + b

    return Net()


class _MFBase(TorchRecommender):
    """Shared setup, scoring and parameter checks of the MF family."""

    kinds: ClassVar[tuple[str, ...]] = ("rating",)
    _debiased: ClassVar[bool] = False
    _two_models: ClassVar[bool] = False

    def __init__(self, *, dim: int = 8, lr: float = 0.01, weight_decay: float = 1e-4, bias: bool = True,
                 use_features: bool = False, epochs: int = 60, batch_size: int = 256, patience: int = 5,
                 random_state: int = 0, device: str = "auto") -> None:
        self.dim = dim
        self.lr = lr
        self.weight_decay = weight_decay
        self.bias = bias
        self.use_features = use_features
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.random_state = random_state
        self.device = device

    # -- setup ---------------------------------------------------------------------------------
    def _check_params(self) -> None:
        if isinstance(self.dim, bool) or not isinstance(self.dim, (int, np.integer)) or self.dim < 1:
            raise out_of_range("dim", self.dim, "an integer >= 1")
        if not isinstance(self.lr, (int, float)) or not self.lr > 0:
            raise out_of_range("lr", self.lr, "a number > 0")
        if not isinstance(self.weight_decay, (int, float)) or self.weight_decay < 0:
            raise out_of_range("weight_decay", self.weight_decay, "a number >= 0")

    def _features(self, data: RecData, torch: Any, device: Any) -> tuple[Any, Any]:
        if not self.use_features:
            return None, None
        uf = None if data.user_features is None else torch.as_tensor(np.asarray(data.user_features, np.float32))
        itf = None if data.item_features is None else torch.as_tensor(np.asarray(data.item_features, np.float32))
        return uf, itf

    def _build(self, data: RecData, torch: Any, device: Any, name: str, seed_offset: int = 0) -> Any:
        uf, itf = self._features(data, torch, device)
        net = _make_net(torch, data.n_users, data.n_items, int(self.dim), bool(self.bias), uf, itf,
                        int(self.random_state) + seed_offset).to(device)
        self.modules_[name] = net
        self.optimizers_[name] = torch.optim.Adam(net.parameters(), lr=float(self.lr),
                                                  weight_decay=float(self.weight_decay))
        return net

    def _setup(self, data: RecData, torch: Any, device: Any) -> None:
        self._check_params()
        self._torch = torch
        self._dev = device
        self.modules_ = {}
        self.optimizers_ = {}
        self._build(data, torch, device, "net")
        tr = data.train
        self._u = torch.as_tensor(tr.user, device=device)
        self._i = torch.as_tensor(tr.item, device=device)
        positive = tr.value > data.threshold if data.kind == "rating" else np.ones(len(tr), dtype=bool)
        self._y = torch.as_tensor(positive.astype(np.float32), device=device)
        self._setup_extra(data, torch, device)

    def _setup_extra(self, data: RecData, torch: Any, device: Any) -> None:
        pass

    def _step(self, name: str, loss: Any) -> None:
        opt = self.optimizers_[name]
        opt.zero_grad()
        loss.backward()
        opt.step()

    # -- scoring -------------------------------------------------------------------------------
    def _score_idx(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        torch = self._torch
        net = self.modules_["net"]
        with torch.no_grad():
            out = net(torch.as_tensor(users, device=self._dev), torch.as_tensor(items, device=self._dev))
        return out.float().cpu().numpy()

    def score_all(self, users: Any) -> np.ndarray:
        torch = self._torch
        net = self.modules_["net"]
        u = torch.as_tensor(np.asarray(users, dtype=np.int64), device=self._dev)
        n_items = self.n_items_
        with torch.no_grad():
            items = torch.arange(n_items, device=self._dev)
            p, _, bu = net.factors(u, torch.zeros_like(u))
            _, q, bi = net.factors(torch.zeros(n_items, dtype=torch.long, device=self._dev), items)
            _, _, b00 = net.factors(torch.zeros(1, dtype=torch.long, device=self._dev),
                                    torch.zeros(1, dtype=torch.long, device=self._dev))
            # b(u, i) = b_user(u) + b_item(i) - b(0, 0) + ... is additive in u and i
            out = p @ q.T + bu[:, None] + bi[None, :] - b00
        return out.float().cpu().numpy().astype(np.float64)

    #: what ``cold_user_scores`` returns, in words (read by the explanations)
    cold_user_rule: ClassVar[str] = "average training user"

    def cold_user_scores(self) -> np.ndarray:
        """A user the model never saw: the model's own scores for the average training user (the mean of
        the scores over the users with a training rating, at most 5,000 of them, seeded) — for a debiased
        model these come from the debiased loss, unlike raw popularity counts."""
        cached = getattr(self, "_cold_cache", None)
        if cached is not None:
            return cached.copy()
        users = np.flatnonzero(np.diff(self.seen_.indptr) > 0)
        if len(users) == 0:
            return super().cold_user_scores()
        if len(users) > 5000:
            users = np.sort(np.random.default_rng(int(self.random_state)).choice(users, 5000, replace=False))
        total = np.zeros(self.n_items_)
        for start in range(0, len(users), 1000):
            total += self.score_all(users[start:start + 1000]).sum(axis=0)
        self._cold_cache = total / len(users)  # reset by _inference_mode whenever the weights may change
        return self._cold_cache.copy()


class _Propensities:
    """Mixin: fits the propensity model on the train part (in ``_setup_extra``)."""

    def _fit_propensity(self, data: RecData, torch: Any, device: Any) -> None:
        from causalrec_core.models.propensity import PropensityModel

        pm = PropensityModel(method=self.propensity, clip=self.clip, random_state=self.random_state).fit(data)
        self.propensity_model_ = pm
        self.propensity_method_ = pm.method_
        self.clip_report_ = pm.clip_report_
        self._w = torch.as_tensor(1.0 / pm.train_propensity_, dtype=torch.float32, device=device)
        self._obs_rate = len(data.train) / float(data.n_users * data.n_items)
        has_valid = data.valid is not None and len(data.valid) > 0
        self._valid_w = 1.0 / self._pair_propensity(data.valid) if has_valid else None

    def _pair_propensity(self, pairs: Interactions) -> np.ndarray:
        """Clipped propensities of other (user, item, rating) pairs from the fitted propensity model."""
        pm = self.propensity_model_
        if pm.method_ == "logged":
            if pairs.propensity is None:
                raise DataError("the validation pairs carry no logged propensities, which propensity='logged' "
                                "needs for the propensity-weighted validation metric; use 'popularity' or 'auto'.")
            lo, hi = (float(x) for x in pm.clip)
            return np.clip(np.asarray(pairs.propensity, dtype=np.float64), lo, hi)
        return pm.predict(pairs.user, pairs.item, values=pairs.value)


def _ips_ndcg(users: np.ndarray, labels: np.ndarray, scores: np.ndarray, weights: np.ndarray, k: int) -> float:
    """Mean over users with a positive of NDCG@k with gains ``label * weight`` over the user's pairs."""
    order = np.lexsort((-scores, users))  # by user, then score descending (as rating_metrics)
    u_s, g_s = users[order], (labels * weights)[order]
    starts = np.flatnonzero(np.r_[True, u_s[1:] != u_s[:-1]])
    ends = np.r_[starts[1:], len(u_s)]
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    vals = []
    for a, b in zip(starts, ends, strict=True):
        g = g_s[a:b]
        if not np.any(g > 0):
            continue
        top = g[:k]
        ideal = np.sort(g)[::-1][:k]
        vals.append(float((top * disc[: len(top)]).sum() / (ideal * disc[: len(ideal)]).sum()))
    return float(np.mean(vals)) if vals else float("nan")


class MF(_MFBase):
    name = "mf"
    description = ("Naive matrix factorisation on the observed (self-selected) ratings; predicts "
                   "P(rating > threshold) but inherits the selection bias.")
    causal = False

    def __init__(self, *, objective: str = "implicit", dim: int = 8, lr: float = 0.01, weight_decay: float = 1e-4,
                 bias: bool = True, use_features: bool = False, epochs: int = 60, batch_size: int = 256,
                 patience: int = 5, random_state: int = 0, device: str = "auto") -> None:
        super().__init__(dim=dim, lr=lr, weight_decay=weight_decay, bias=bias, use_features=use_features,
                         epochs=epochs, batch_size=batch_size, patience=patience, random_state=random_state,
                         device=device)
        self.objective = objective

    def _setup_extra(self, data: RecData, torch: Any, device: Any) -> None:
        if self.objective not in OBJECTIVES:
            raise invalid_choice("objective", self.objective, OBJECTIVES)
        v = data.train.value.astype(np.float64)
        lo, hi = float(v.min()), float(v.max())
        self.rating_range_ = (lo, hi)
        self._r = torch.as_tensor(((v - lo) / max(hi - lo, 1e-9)).astype(np.float32), device=device)

    def _train_epoch(self, data: RecData, ec: EpochContext) -> dict:
        F = self._torch.nn.functional
        for b in ec.batches(len(self._u), int(self.batch_size)):
            b = self._torch.as_tensor(b, device=self._dev)
            with ec.autocast():
                s = self.net("net")(self._u[b], self._i[b]).float()
            if self.objective == "implicit":
                loss = F.binary_cross_entropy_with_logits(s, self._y[b])
            else:
                loss = F.mse_loss(s, self._r[b])
            self._step("net", loss)
            ec.report(loss)
        return {}

    def predict(self, users: Any, items: Any) -> np.ndarray:
        if self.objective == "explicit":  # the predicted rating on the 0..1 scale
            return np.clip(self.score(users, items), 0.0, 1.0)
        return super().predict(users, items)


class BPRMF(_MFBase):
    name = "bpr"
    description = ("Bayesian personalised ranking MF (implicit feedback): ranks each user's positives (liked "
                   "ratings, or logged clicks/carts/purchases) above uniformly sampled items; not debiased.")
    causal = False
    kinds: ClassVar[tuple[str, ...]] = ("rating", "log")

    def _setup_extra(self, data: RecData, torch: Any, device: Any) -> None:
        pos = self._y > 0.5
        self._pu, self._pi = self._u[pos], self._i[pos]
        if len(self._pu) == 0:  # no positives: fall back to all observed ratings
            self._pu, self._pi = self._u, self._i

    def _train_epoch(self, data: RecData, ec: EpochContext) -> dict:
        torch = self._torch
        F = torch.nn.functional
        n_items = data.n_items
        for b in ec.batches(len(self._pu), int(self.batch_size)):
            neg = torch.as_tensor(ec.rng.integers(0, n_items, size=len(b)), device=self._dev)
            b = torch.as_tensor(b, device=self._dev)
            u = self._pu[b]
            with ec.autocast():
                s_pos = self.net("net")(u, self._pi[b]).float()
                s_neg = self.net("net")(u, neg).float()
            loss = -F.logsigmoid(s_pos - s_neg).mean()
            self._step("net", loss)
            ec.report(loss)
        return {}


class _DebiasedBase(_Propensities, _MFBase):
    causal = True
    #: early stopping and tuning follow the propensity-weighted validation AUC (module docstring)
    monitor: ClassVar[str] = "ips_auc"

    def __init__(self, *, propensity: str = "auto", clip: tuple[float, float] = (0.02, 1.0), dim: int = 8,
                 lr: float = 0.01, weight_decay: float = 1e-4, bias: bool = True, use_features: bool = False,
                 epochs: int = 60, batch_size: int = 256, patience: int = 5, random_state: int = 0,
                 device: str = "auto") -> None:
        super().__init__(dim=dim, lr=lr, weight_decay=weight_decay, bias=bias, use_features=use_features,
                         epochs=epochs, batch_size=batch_size, patience=patience, random_state=random_state,
                         device=device)
        self.propensity = propensity
        self.clip = clip

    def _setup_extra(self, data: RecData, torch: Any, device: Any) -> None:
        self._fit_propensity(data, torch, device)

    def _validate(self, data: RecData) -> dict:
        if data.valid is None or len(data.valid) == 0:
            return {}
        from causalrec_core.evaluate.metrics import auc_score, rating_metrics

        v = data.valid
        self._inference_mode(True)
        try:
            s = np.asarray(self.score(v.user, v.item), dtype=np.float64)
        finally:
            self._inference_mode(False)
        y = (v.value > data.threshold).astype(np.float64)
        w = self._valid_w
        plain = rating_metrics(v.user, y, s, k=5)
        return {"ips_auc": auc_score(y, s, weights=w), "ips_ndcg@5": _ips_ndcg(np.asarray(v.user), y, s, w, 5),
                "auc": plain["auc"], "ndcg@5": plain["ndcg@5"]}


class MFIPS(_DebiasedBase):
    name = "mf-ips"
    description = ("MF trained on the inverse-propensity-weighted loss over all user-item pairs: an unbiased "
                   "estimate of the loss on fully observed (missing-at-random) ratings.")
    #: divide by the batch's sum of weights (SNIPS) instead of scaling by the observation rate (IPS)
    _self_normalise: ClassVar[bool] = False

    def _train_epoch(self, data: RecData, ec: EpochContext) -> dict:
        F = self._torch.nn.functional
        for b in ec.batches(len(self._u), int(self.batch_size)):
            b = self._torch.as_tensor(b, device=self._dev)
            with ec.autocast():
                s = self.net("net")(self._u[b], self._i[b]).float()
            e = F.binary_cross_entropy_with_logits(s, self._y[b], reduction="none")
            w = self._w[b]
            loss = (e * w).sum() / w.sum() if self._self_normalise else (e * w).mean() * self._obs_rate
            self._step("net", loss)
            ec.report(loss)
        return {}


class MFSNIPS(MFIPS):
    name = "mf-snips"
    description = ("MF trained on the self-normalised inverse-propensity loss: IPS divided by the sum of "
                   "the weights, trading a little bias for much less variance.")
    _self_normalise = True


class DRJL(_DebiasedBase):
    name = "dr-jl"
    description = ("Doubly robust joint learning: a prediction MF trained on imputed errors over all pairs "
                   "corrected by propensity-weighted residuals on the observed ones, and an imputation MF "
                   "trained in turn; unbiased if either the propensities or the imputations are right.")

    def __init__(self, *, propensity: str = "auto", clip: tuple[float, float] = (0.02, 1.0),
                 sample_ratio: int = 4, imputation_weight_decay: float | None = None, dim: int = 8,
                 lr: float = 0.01, weight_decay: float = 1e-4, bias: bool = True, use_features: bool = False,
                 epochs: int = 60, batch_size: int = 256, patience: int = 5, random_state: int = 0,
                 device: str = "auto") -> None:
        super().__init__(propensity=propensity, clip=clip, dim=dim, lr=lr, weight_decay=weight_decay, bias=bias,
                         use_features=use_features, epochs=epochs, batch_size=batch_size, patience=patience,
                         random_state=random_state, device=device)
        self.sample_ratio = sample_ratio
        self.imputation_weight_decay = imputation_weight_decay

    def _setup_extra(self, data: RecData, torch: Any, device: Any) -> None:
        if isinstance(self.sample_ratio, bool) or not isinstance(self.sample_ratio, (int, np.integer)) \
                or self.sample_ratio < 1:
            raise out_of_range("sample_ratio", self.sample_ratio, "an integer >= 1")
        super()._setup_extra(data, torch, device)
        net = self._build(data, torch, device, "imputation", seed_offset=7919)
        wd = self.weight_decay if self.imputation_weight_decay is None else self.imputation_weight_decay
        self.optimizers_["imputation"] = torch.optim.Adam(net.parameters(), lr=float(self.lr), weight_decay=float(wd))

    def _train_epoch(self, data: RecData, ec: EpochContext) -> dict:
        torch = self._torch
        F = torch.nn.functional
        nu, ni = data.n_users, data.n_items
        ratio = int(self.sample_ratio)

        def xent(logit: Any, target: Any) -> Any:
            return F.binary_cross_entropy_with_logits(logit, target, reduction="none")

        imp_losses = []
        for b in ec.batches(len(self._u), int(self.batch_size)):
            flat = ec.rng.integers(0, nu * ni, size=len(b) * ratio)
            ua = torch.as_tensor(flat // ni, device=self._dev)
            ia = torch.as_tensor(flat % ni, device=self._dev)
            b = torch.as_tensor(b, device=self._dev)
            u, i, y, w = self._u[b], self._i[b], self._y[b], self._w[b]
            # 1) prediction model on the doubly robust loss, imputed labels fixed
            with torch.no_grad():
                g_obs = torch.sigmoid(self.modules_["imputation"](u, i).float())
                g_all = torch.sigmoid(self.modules_["imputation"](ua, ia).float())
            with ec.autocast():
                s_obs = self.net("net")(u, i).float()
                s_all = self.net("net")(ua, ia).float()
            e = xent(s_obs, y)
            e_hat = xent(s_obs, g_obs)
            loss = xent(s_all, g_all).mean() + ((e - e_hat) * w).mean() * self._obs_rate
            self._step("net", loss)
            ec.report(loss)
            # 2) imputation model: propensity-weighted squared error of the imputed error
            with torch.no_grad():
                s_obs = self.modules_["net"](u, i).float()
                e = xent(s_obs, y)
            with ec.autocast():
                g = torch.sigmoid(self.net("imputation")(u, i).float())
            e_hat = xent(s_obs, g)
            imp_loss = (((e - e_hat) ** 2) * w).mean()
            self._step("imputation", imp_loss)
            imp_losses.append(imp_loss.detach())
        return {"imputation_loss": float(torch.stack(imp_losses).mean()) if imp_losses else float("nan")}


class DRJLFeatures(DRJL):
    name = "dr-jl-feat"
    description = ("Doubly robust joint learning whose prediction and imputation MFs also use the one-hot "
                   "user and item features (linear maps into the factors and biases).")

    def __init__(self, *, propensity: str = "auto", clip: tuple[float, float] = (0.02, 1.0),
                 sample_ratio: int = 4, imputation_weight_decay: float | None = None, dim: int = 8,
                 lr: float = 0.01, weight_decay: float = 1e-4, bias: bool = True, use_features: bool = True,
                 epochs: int = 60, batch_size: int = 256, patience: int = 5, random_state: int = 0,
                 device: str = "auto") -> None:
        super().__init__(propensity=propensity, clip=clip, sample_ratio=sample_ratio,
                         imputation_weight_decay=imputation_weight_decay, dim=dim, lr=lr, weight_decay=weight_decay,
                         bias=bias, use_features=use_features, epochs=epochs, batch_size=batch_size,
                         patience=patience, random_state=random_state, device=device)
