"""Neural CATE models: TARNet (Shalit et al., 2017) and Dragonnet (Shi et al., 2019).

Same contract as the meta-learners in :mod:`causalrec_core.effects.cate`: ``__init__`` stores,
``fit(X, t, y, *, propensity=None)`` returns ``self``, ``effect(X)``, ``cate_``, ``ate_`` (mean
of ``cate_``) and ``result()``. torch is imported inside ``fit``/``effect`` only.

Training: inputs and outcome standardised on the training rows; Adam with weight decay; a
treatment-stratified validation split (``val_fraction``) drives early stopping (``patience``
epochs without improvement of the validation factual-outcome MSE; the best weights are restored)
and, with ``lr_schedule='plateau'`` (default), halves the learning rate after ``patience // 3``
stalled epochs (``'constant'`` keeps it fixed). ``best_val_loss_`` is that validation MSE (original
outcome scale).
On CPU the run is deterministic for a given ``random_state``.

``result()`` gives an **influence-function** interval from the AIPW scores built with the
network's own (in-sample, not cross-fitted) ``mu0``, ``mu1`` and propensity — Dragonnet's
propensity head, or a logistic regression for TARNet; clipped to [0.01, 0.99].
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from causalrec_core.effects.cate import _ate_result, _dr_scores, _fit_propensity, _folds
from causalrec_core.effects.estimators import EffectResult, _validate_data, _validate_X
from causalrec_core.errors import NotFittedError, ParameterError, invalid_choice, out_of_range
from causalrec_core.params import ParamsMixin

__all__ = ["NEURAL_LEARNERS", "Dragonnet", "TARNet"]

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
LR_SCHEDULES: tuple[str, ...] = ("plateau", "constant")
_CLIP = 0.01


def _build_net(torch: Any, p: int, rep: int, head: int, with_propensity: bool) -> Any:
    nn = torch.nn

    class _Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rep = nn.Sequential(nn.Linear(p, rep), nn.ELU(), nn.Linear(rep, rep), nn.ELU(),
                                     nn.Linear(rep, rep), nn.ELU())
            self.h0 = nn.Sequential(nn.Linear(rep, head), nn.ELU(), nn.Linear(head, head), nn.ELU(),
                                    nn.Linear(head, 1))
            self.h1 = nn.Sequential(nn.Linear(rep, head), nn.ELU(), nn.Linear(head, head), nn.ELU(),
                                    nn.Linear(head, 1))
            self.g = nn.Linear(rep, 1) if with_propensity else None
            self.eps = nn.Parameter(torch.zeros(1))

        def forward(self, x: Any) -> tuple[Any, Any, Any]:
            z = self.rep(x)
            g = self.g(z).squeeze(-1) if self.g is not None else None
            return self.h0(z).squeeze(-1), self.h1(z).squeeze(-1), g

    return _Net()


class _NeuralCate(ParamsMixin):
    name: ClassVar[str] = ""
    _propensity_head: ClassVar[bool] = False

    def __init__(self, *, rep_units: int = 200, head_units: int = 100, epochs: int = 300, batch_size: int = 64,
                 learning_rate: float = 1e-3, weight_decay: float = 1e-4, val_fraction: float = 0.2,
                 patience: int = 30, alpha: float = 1.0, targeted_reg: bool = False, beta: float = 1.0,
                 device: str = "auto", level: float = 0.95, random_state: int = 0,
                 lr_schedule: str = "plateau") -> None:
        self.lr_schedule = lr_schedule
        self.rep_units = rep_units
        self.head_units = head_units
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.val_fraction = val_fraction
        self.patience = patience
        self.alpha = alpha
        self.targeted_reg = targeted_reg
        self.beta = beta
        self.device = device
        self.level = level
        self.random_state = random_state

    # -- sklearn-style parameters -----------------------------------------------------------------

    def _check_params(self) -> None:
        for name in ("rep_units", "head_units", "epochs", "batch_size", "patience"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise out_of_range(name, v, "an integer >= 1")
        for name in ("learning_rate",):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not v > 0:
                raise out_of_range(name, v, "a positive number")
        for name in ("weight_decay", "alpha", "beta"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                raise out_of_range(name, v, "a non-negative number")
        if not isinstance(self.val_fraction, (int, float)) or not 0 < self.val_fraction < 0.5:
            raise out_of_range("val_fraction", self.val_fraction, "a number strictly between 0 and 0.5, e.g. 0.2")
        if not isinstance(self.level, (int, float)) or isinstance(self.level, bool) or not 0 < self.level < 1:
            raise out_of_range("level", self.level, "a number strictly between 0 and 1, e.g. 0.95")
        if self.device not in DEVICES:
            raise invalid_choice("device", self.device, DEVICES)
        if self.lr_schedule not in LR_SCHEDULES:
            raise invalid_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        rs = self.random_state
        if not isinstance(rs, (int, np.integer)) or isinstance(rs, bool) or rs < 0:
            raise out_of_range("random_state", rs, "a non-negative integer")

    def _resolve_device(self, torch: Any) -> str:
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ParameterError("device='cuda' is invalid here: torch sees no CUDA device; use 'auto' or 'cpu'.")
        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        return str(self.device)

    # -- fit / effect -----------------------------------------------------------------------------
    def fit(self, X: Any, t: Any, y: Any, *, propensity: Any = None) -> _NeuralCate:
        """Train the network on covariates ``X``, binary treatment ``t`` and outcome ``y``.

        ``propensity`` (known P(t=1|X)), when given, is used only for ``result()``'s interval.

        Raises
        ------
        ParameterError
            For invalid parameters or inputs, or ``device='cuda'`` without CUDA.
        EstimationError
            When one treatment arm is empty.
        """
        import torch

        self._check_params()
        data, names = _validate_data(X, t, y, None, propensity)
        Xa, ta, ya = data.X, data.t, data.y
        if min((ta == 1).sum(), (ta == 0).sum()) < 4:
            raise ParameterError("t is invalid: each arm needs at least 4 units to train and validate.")
        dev = self._resolve_device(torch)
        seed = int(self.random_state)
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)

        self._x_mean, self._x_scale = Xa.mean(axis=0), Xa.std(axis=0)
        self._x_scale[self._x_scale == 0] = 1.0
        self._y_mean, self._y_scale = float(ya.mean()), float(ya.std()) or 1.0
        Z = (Xa - self._x_mean) / self._x_scale
        ys = (ya - self._y_mean) / self._y_scale

        n_val_folds = max(2, round(1 / self.val_fraction))
        val = _folds(ta, n_val_folds, seed) == 0
        tr = ~val
        as_t = lambda a: torch.as_tensor(a, dtype=torch.float32, device=dev)  # noqa: E731
        Xtr, Ttr, Ytr = as_t(Z[tr]), as_t(ta[tr]), as_t(ys[tr])
        Xv, Tv, Yv = as_t(Z[val]), as_t(ta[val]), as_t(ys[val])

        net = _build_net(torch, Z.shape[1], int(self.rep_units), int(self.head_units), self._propensity_head).to(dev)
        opt = torch.optim.Adam(net.parameters(), lr=float(self.learning_rate), weight_decay=float(self.weight_decay))
        # halve the step size when the validation loss stalls, well before early stopping triggers
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=max(1, int(self.patience) // 3))

        def loss_fn(xb: Any, tb: Any, yb: Any) -> tuple[Any, Any]:
            y0, y1, g = net(xb)
            yhat = tb * y1 + (1 - tb) * y0
            factual = torch.mean((yhat - yb) ** 2)
            total = factual
            if g is not None:
                total = total + float(self.alpha) * torch.nn.functional.binary_cross_entropy_with_logits(g, tb)
                if self.targeted_reg:
                    e = torch.sigmoid(g).clamp(_CLIP, 1 - _CLIP)
                    h = tb / e - (1 - tb) / (1 - e)
                    y_pert = yhat + net.eps * h
                    total = total + float(self.beta) * torch.mean((yb - y_pert) ** 2)
            return total, factual

        n_tr = Xtr.shape[0]
        best, best_state, wait, epochs_run = np.inf, None, 0, 0
        for _epoch in range(int(self.epochs)):
            net.train()
            perm = torch.randperm(n_tr, generator=gen).to(dev)
            for s in range(0, n_tr, int(self.batch_size)):
                idx = perm[s:s + int(self.batch_size)]
                opt.zero_grad()
                loss, _ = loss_fn(Xtr[idx], Ttr[idx], Ytr[idx])
                loss.backward()
                opt.step()
            epochs_run += 1
            net.eval()
            with torch.no_grad():
                vl = float(loss_fn(Xv, Tv, Yv)[1])  # factual outcome loss: the target of model selection
            if self.lr_schedule == "plateau":
                sched.step(vl)
            if vl < best - 1e-6:
                best, wait = vl, 0
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            else:
                wait += 1
                if wait >= int(self.patience):
                    break
        if best_state is not None:
            net.load_state_dict(best_state)
        net.eval()
        self._net = net
        self.device_ = dev
        self.epochs_run_ = epochs_run
        self.best_val_loss_ = float(best) * self._y_scale**2  # validation MSE of the factual outcome
        self.n_features_in_ = Xa.shape[1]
        self.feature_names_in_ = names
        self.n_ = len(ta)

        mu0, mu1, g = self._predict(Xa)
        self.cate_ = mu1 - mu0
        self.ate_ = float(np.mean(self.cate_))
        if data.e is not None:
            e, src = data.e, "given (known)"
        elif g is not None:
            e, src = g, "Dragonnet's propensity head"
        else:
            e, src = _fit_propensity("logistic", seed, Xa, ta).predict_proba(Xa)[:, 1], "logistic regression"
        e = np.clip(e, _CLIP, 1 - _CLIP)
        self.pseudo_outcomes_ = _dr_scores(ta, ya, mu0, mu1, e)
        self.notes_ = [
            f"{type(self).__name__} on {dev}; {epochs_run} epochs (early stopping, patience {self.patience}, "
            f"validation {self.val_fraction:g})",
            f"CI: influence function of in-sample AIPW scores (propensity from {src}, clipped to "
            f"[{_CLIP}, {1 - _CLIP}]), centred on ate_",
        ]
        return self

    def _predict(self, Xa: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        import torch

        Z = (Xa - self._x_mean) / self._x_scale
        with torch.no_grad():
            y0, y1, g = self._net(torch.as_tensor(Z, dtype=torch.float32, device=self.device_))
        mu0 = y0.cpu().double().numpy() * self._y_scale + self._y_mean
        mu1 = y1.cpu().double().numpy() * self._y_scale + self._y_mean
        return mu0, mu1, None if g is None else torch.sigmoid(g).cpu().double().numpy()

    def effect(self, X: Any) -> np.ndarray:
        """Estimated treatment effect of each row of ``X``."""
        if "cate_" not in self.__dict__:
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(X, t, y) before effect(X).")
        Xa, _ = _validate_X(X)
        if Xa.shape[1] != self.n_features_in_:
            raise ParameterError(
                f"X is invalid: it has {Xa.shape[1]} columns but the model was fitted on {self.n_features_in_}."
            )
        mu0, mu1, _ = self._predict(Xa)
        return mu1 - mu0

    def result(self) -> EffectResult:
        """The ATE (mean of ``cate_``) with its influence-function interval at ``level``."""
        if "cate_" not in self.__dict__:
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(X, t, y) before result().")
        return _ate_result(self.ate_, self.pseudo_outcomes_, self.level, self.name, list(self.notes_))


class TARNet(_NeuralCate):
    """Treatment-agnostic representation network: shared layers, one outcome head per arm."""

    name = "tarnet"


class Dragonnet(_NeuralCate):
    """TARNet plus a propensity head (weight ``alpha``); ``targeted_reg=True`` adds the targeted
    regularisation term (weight ``beta``) of Shi et al. (2019)."""

    name = "dragonnet"
    _propensity_head = True


NEURAL_LEARNERS: dict[str, type[_NeuralCate]] = {"tarnet": TARNet, "dragonnet": Dragonnet}
