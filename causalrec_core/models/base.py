"""The recommender contract, and the one training loop every PyTorch recommender runs through.

Every model: ``__init__`` stores its hyper-parameters; ``fit(data, context=None)`` returns
``self``; ``score(users, items)`` gives one relevance score per (user, item) index pair (higher =
more relevant); ``predict(users, items)`` the probability of a positive where the model has one;
``recommend(user_id, k, exclude_seen=True)`` the top-k items of one user by original id.

Cold start: a user id never seen in training gets the model's ``cold_user_scores`` (popularity
among training positives unless the model knows better, e.g. from item text); an item with no
training interactions scores by whatever the model knows about it (its text, for the text-aware
models) — never an error.

:class:`TorchRecommender` subclasses implement ``_setup`` (build modules and optimisers),
``_train_epoch`` (one pass, through :class:`EpochContext` for batches, loss reporting and
cancellation) and ``_score_idx``; the loop here gives them, unchanged: device choice (CUDA when
present, bf16 autocast there), seeding, validation each epoch with early stopping that restores
the best weights, atomic checkpoints every epoch, resume, cancellation, progress callbacks and
DistributedDataParallel when run under ``torchrun``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from causalrec_core.errors import CausalRecError, NotFittedError, ParameterError, invalid_choice, out_of_range
from causalrec_core.models.data import RecData
from causalrec_core.params import ParamsMixin

__all__ = [
    "DEVICES",
    "EpochContext",
    "Recommender",
    "TorchRecommender",
    "TrainContext",
    "TrainingCancelled",
    "resolve_device",
    "top_k_frame",
]

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
CHECKPOINT_NAME = "checkpoint.pt"


class TrainingCancelled(CausalRecError):
    """Raised by ``fit`` after a cancel request; the last checkpoint is saved and resumable."""


def _check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise out_of_range("k", k, "an integer >= 1")
    return int(k)


def top_k_frame(item_ids: np.ndarray, scores: np.ndarray, k: int, cold: bool) -> pd.DataFrame:
    """The frame ``Recommender.recommend`` returns for a score vector (``-inf`` = excluded): the ``k``
    best items, ties broken by item index; columns item_id, item_idx, score, rank, cold_user."""
    k = min(k, int(np.isfinite(scores).sum()))
    if k == 0:
        return pd.DataFrame({"item_id": [], "item_idx": [], "score": [], "rank": [], "cold_user": []})
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.lexsort((top, -scores[top]))]
    return pd.DataFrame({"item_id": item_ids[top], "item_idx": top, "score": scores[top],
                         "rank": np.arange(1, k + 1), "cold_user": cold})


class Recommender(ParamsMixin):
    """Base class; see the module docstring for the contract."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: data kinds the model can be fitted on ('rating', 'log')
    kinds: ClassVar[tuple[str, ...]] = ("rating", "log")
    #: True for debiased / causal models (shown as such in tables and charts)
    causal: ClassVar[bool] = False

    # -- to implement ---------------------------------------------------------------------
    def fit(self, data: RecData, context: TrainContext | None = None) -> Recommender:  # pragma: no cover
        raise NotImplementedError

    def _score_idx(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------
    def _check_data(self, data: RecData) -> None:
        if not isinstance(data, RecData):
            raise ParameterError(f"data must be a RecData; got {type(data).__name__}.")
        if data.kind not in self.kinds:
            raise invalid_choice(f"data.kind (for model {self.name!r})", data.kind, self.kinds)
        if len(data.train) == 0:
            raise CausalRecError("data.train is empty: there is nothing to learn from.")

    def _remember(self, data: RecData) -> None:
        """Keep what recommend() and cold start need (call at the end of fit)."""
        train = data.train
        positive = train.value > data.threshold if data.kind == "rating" else np.ones(len(train), dtype=bool)
        self.n_users_ = data.n_users
        self.n_items_ = data.n_items
        self.user_ids_ = data.user_ids
        self.item_ids_ = data.item_ids
        self._user_pos = {u: i for i, u in enumerate(data.user_ids.tolist())}
        self.seen_ = train.csr(binary=True)
        pop = np.bincount(train.item[positive], minlength=data.n_items).astype(np.float64)
        self.item_popularity_ = pop

    def score(self, users: Any, items: Any) -> np.ndarray:
        """Scores of (users[i], items[i]) index pairs; arrays of one length."""
        u = np.asarray(users, dtype=np.int64)
        i = np.asarray(items, dtype=np.int64)
        if u.shape != i.shape or u.ndim != 1:
            raise ParameterError(f"users and items must be 1-d arrays of one length; got {u.shape} and {i.shape}.")
        if u.size and (u.min() < 0 or u.max() >= self.n_users_):
            raise out_of_range("users", int(u.max()), f"indexes in 0..{self.n_users_ - 1}")
        if i.size and (i.min() < 0 or i.max() >= self.n_items_):
            raise out_of_range("items", int(i.max()), f"indexes in 0..{self.n_items_ - 1}")
        return np.asarray(self._score_idx(u, i), dtype=np.float64)

    def predict(self, users: Any, items: Any) -> np.ndarray:
        """P(positive) per pair; the default squashes ``score`` with a sigmoid."""
        s = self.score(users, items)
        return 1.0 / (1.0 + np.exp(-np.clip(s, -30, 30)))

    def score_all(self, users: Any) -> np.ndarray:
        """(len(users), n_items) score matrix; override for speed."""
        u = np.asarray(users, dtype=np.int64)
        n = self.n_items_
        out = np.empty((len(u), n), dtype=np.float64)
        items = np.arange(n, dtype=np.int64)
        for r, uu in enumerate(u):
            out[r] = self.score(np.full(n, uu, dtype=np.int64), items)
        return out

    def cold_user_scores(self) -> np.ndarray:
        """Scores for a user never seen in training: item popularity among training positives."""
        return self.item_popularity_

    def recommend(self, user_id: Any, k: int = 10, exclude_seen: bool = True) -> pd.DataFrame:
        """Top-``k`` items for one user (original id): columns item_id, item_idx, score, rank, cold_user.

        A user unknown to the model, or known but without any training interaction (e.g. only in the
        test part), gets the model's cold-start scores (``cold_user`` True)."""
        k = _check_k(k)
        idx = self._user_pos.get(user_id)
        if idx is None and isinstance(user_id, str) and user_id.strip().lstrip("-").isdigit():
            idx = self._user_pos.get(int(user_id))
        if idx is not None and self.seen_.indptr[idx + 1] == self.seen_.indptr[idx]:
            idx = None  # known id, but nothing in training: the model learned nothing about this user
        if idx is None:
            scores = np.asarray(self.cold_user_scores(), dtype=np.float64).copy()
            cold = True
        else:
            scores = self.score_all(np.array([idx]))[0].astype(np.float64)
            cold = False
            if exclude_seen:
                row = self.seen_.getrow(idx)
                scores[row.indices] = -np.inf
        return top_k_frame(self.item_ids_, scores, k, cold)


# ------------------------------------------------------------------------------------------
# training loop
# ------------------------------------------------------------------------------------------


@dataclass
class TrainContext:
    """How a fit runs: device, where checkpoints go, progress and cancel hooks.

    ``on_progress`` gets dicts ``{"event": "step"|"epoch", "epoch", "epochs", "step",
    "steps_per_epoch", "loss", "elapsed_s", "eta_s", "val": {...}, "device"}``.
    ``should_stop`` is polled at most every ``check_every_s`` seconds during an epoch (and at
    each epoch's end). Step reports come at most every ``log_every_s`` seconds; ``None`` picks 0.1 s
    on the CPU and 1 s on a GPU (each report reads the running loss, which syncs the device).
    """

    device: str = "auto"
    run_dir: Path | str | None = None
    resume: bool = False
    on_progress: Callable[[dict], None] | None = None
    should_stop: Callable[[], bool] | None = None
    log_every_s: float | None = None
    check_every_s: float = 0.25
    amp: bool = True
    checkpoint: bool = True


def resolve_device(device: str, torch: Any, local_rank: int = 0) -> Any:
    if device not in DEVICES:
        raise invalid_choice("device", device, DEVICES)
    if device == "cuda" and not torch.cuda.is_available():
        raise ParameterError("device='cuda' was asked for, but no CUDA GPU is available; use 'auto' or 'cpu'.")
    if device in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda", local_rank % max(torch.cuda.device_count(), 1))
    return torch.device("cpu")


class EpochContext:
    """What ``_train_epoch`` uses: sharded batches, loss reporting, cancellation."""

    def __init__(self, *, torch: Any, device: Any, epoch: int, seed: int, rank: int, world: int,
                 ctx: TrainContext, on_step: Callable[[EpochContext], None]) -> None:
        self.torch = torch
        self.device = device
        self.epoch = epoch
        self.rank = rank
        self.world = world
        self.rng = np.random.default_rng([seed, epoch])
        self._ctx = ctx
        self._on_step = on_step
        self.steps = 0
        self.steps_per_epoch = 0
        self._loss_sum = None
        self._loss_n = 0
        self.cancelled = False
        self._last_check = time.perf_counter()
        self.amp = bool(ctx.amp) and device.type == "cuda"

    def autocast(self):
        """bf16 autocast on CUDA, a no-op on the CPU."""
        if self.amp:
            return self.torch.autocast("cuda", dtype=self.torch.bfloat16)
        import contextlib

        return contextlib.nullcontext()

    def batches(self, n: int, batch_size: int, shuffle: bool = True) -> Iterator[np.ndarray]:
        """Index batches over ``range(n)``; under DDP every rank gets its own equal share.

        The permutation depends on (seed, epoch) only, so it is the same on every rank; each
        rank takes ``batch_size // world`` rows of every global batch of ``batch_size`` rows,
        which makes N processes see the same global batches as one.
        """
        order = self.rng.permutation(n) if shuffle else np.arange(n)
        global_bs = max(batch_size // self.world, 1) * self.world
        if n < global_bs:  # one (smaller) global batch, split evenly over the ranks
            global_bs = max(n - n % self.world, self.world)
        per_rank = global_bs // self.world
        # the ragged tail is dropped (a different one each epoch), so that one process and N
        # processes take exactly the same optimisation steps
        n_batches = max(n // global_bs, 1) if n >= self.world else 0
        self.steps_per_epoch = max(n_batches, self.steps_per_epoch)
        for b in range(n_batches):
            chunk = order[b * global_bs:(b + 1) * global_bs]
            yield chunk[self.rank * per_rank:(self.rank + 1) * per_rank] if self.world > 1 else chunk
            if self.cancelled:
                return

    def report(self, loss: Any) -> None:
        """Record one optimisation step's loss (a 0-d tensor; synced to the host only occasionally)."""
        detached = loss.detach().float()
        self._loss_sum = detached if self._loss_sum is None else self._loss_sum + detached
        self._loss_n += 1
        self.steps += 1
        if self.world == 1 and self._ctx.should_stop is not None:
            now = time.perf_counter()  # poll the cancel request at most every check_every_s seconds
            if now - self._last_check >= self._ctx.check_every_s:
                self._last_check = now
                if self._ctx.should_stop():
                    self.cancelled = True
        self._on_step(self)

    def mean_loss(self) -> float:
        if self._loss_n == 0:
            return float("nan")
        return float(self._loss_sum.item()) / self._loss_n


def _dist_info(torch: Any) -> tuple[int, int, int]:
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        import os

        return dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0))
    return 0, 1, 0


class TorchRecommender(Recommender):
    """Base of the PyTorch models; subclasses implement ``_setup``, ``_train_epoch``, ``_score_idx``.

    Subclass ``__init__`` must store ``epochs``, ``batch_size``, ``patience``, ``random_state``
    and ``device`` (and may store ``monitor``); ``_setup`` must fill ``self.modules_`` (name ->
    nn.Module) and ``self.optimizers_`` (name -> optimiser).
    """

    #: validation metric for early stopping (higher is better); see _validate
    monitor: ClassVar[str] = "auto"

    # subclasses
    def _setup(self, data: RecData, torch: Any, device: Any) -> None:  # pragma: no cover
        raise NotImplementedError

    def _train_epoch(self, data: RecData, ec: EpochContext) -> dict:  # pragma: no cover
        """One pass; call ``ec.report(loss)`` after every optimiser step. Return extra stats."""
        raise NotImplementedError

    def net(self, name: str) -> Any:
        """The module to call in training: the DDP wrapper under torchrun, else the module."""
        return self._wrapped.get(name, self.modules_[name])

    # validation: rating data -> AUC on valid; log data -> NDCG@10 on valid
    def _validate(self, data: RecData) -> dict:
        if data.valid is None or len(data.valid) == 0:
            return {}
        from causalrec_core.evaluate.metrics import rating_metrics, topk_metrics

        self._inference_mode(True)
        try:
            if data.kind == "rating":
                v = data.valid
                labels = (v.value > data.threshold).astype(np.float64)
                m = rating_metrics(v.user, labels, self.score(v.user, v.item), k=5, predictions=None)
                return {"auc": m["auc"], "ndcg@5": m["ndcg@5"]}
            m = topk_metrics(self, data.valid, exclude=data.train, k=10, max_users=2000, seed=0)
            return {"ndcg@10": m["ndcg@10"], "recall@10": m["recall@10"]}
        finally:
            self._inference_mode(False)

    def _monitor_key(self, data: RecData) -> str:
        if self.monitor != "auto":
            return self.monitor
        return "auc" if data.kind == "rating" else "ndcg@10"

    def _inference_mode(self, flag: bool) -> None:
        self._cold_cache = None  # the weights may change between modes: cached cold-user scores are stale
        for m in getattr(self, "modules_", {}).values():
            m.train(not flag)

    # checkpointing
    def _state(self) -> dict:
        return {
            "modules": {k: {n: t.detach().cpu().clone() for n, t in m.state_dict().items()}
                        for k, m in self.modules_.items()},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers_.items()},
            "extra": self._extra_state(),
        }

    def _extra_state(self) -> dict:
        """Tensors/numbers besides modules and optimisers a subclass needs to resume."""
        return {}

    def _load_extra_state(self, state: dict) -> None:
        pass

    def _load_state(self, state: dict, with_optim: bool = True) -> None:
        for k, sd in state["modules"].items():
            self.modules_[k].load_state_dict(sd)
        if with_optim:
            for k, sd in state.get("optimizers", {}).items():
                self.optimizers_[k].load_state_dict(sd)
        self._load_extra_state(state.get("extra", {}))

    def fit(self, data: RecData, context: TrainContext | None = None) -> TorchRecommender:
        import torch

        self._check_data(data)
        ctx = context or TrainContext(device=getattr(self, "device", "auto"))
        if context is None:
            ctx.checkpoint = False
        for p in ("epochs", "batch_size"):
            v = getattr(self, p)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise out_of_range(p, v, "an integer >= 1")
        rank, world, local_rank = _dist_info(torch)
        device = resolve_device(ctx.device if context is not None else getattr(self, "device", "auto"), torch,
                                local_rank)
        seed = int(self.random_state)
        torch.manual_seed(seed)
        np.random.seed(seed % (2**32))
        self._remember(data)
        self.device_ = str(device)
        self._setup(data, torch, device)
        self._wrapped = {}
        if world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            for k, m in self.modules_.items():
                if any(p.requires_grad for p in m.parameters()):
                    self._wrapped[k] = DDP(m, device_ids=[device.index] if device.type == "cuda" else None)
        monitor = self._monitor_key(data)
        run_dir = Path(ctx.run_dir) if ctx.run_dir is not None else None
        ckpt_path = run_dir / CHECKPOINT_NAME if run_dir is not None else None
        history: list[dict] = []
        best_val = -math.inf
        best_state = None
        best_epoch = -1
        stale = 0
        start_epoch = 0
        if ctx.resume and ckpt_path is not None and ckpt_path.exists():
            saved = torch.load(ckpt_path, map_location="cpu", weights_only=True)
            self._load_state(saved["state"])
            start_epoch = int(saved["next_epoch"])
            history = list(saved["history"])
            best_val = float(saved["best_val"])
            best_epoch = int(saved["best_epoch"])
            stale = int(saved["stale"])
            best_state = saved.get("best_state")
            torch.set_rng_state(saved["torch_rng"])
        self.resumed_from_ = start_epoch if ctx.resume else None
        t_start = time.perf_counter()
        last_emit = [0.0]
        log_every = ctx.log_every_s if ctx.log_every_s is not None else (1.0 if device.type == "cuda" else 0.1)
        cancelled = False
        epochs = int(self.epochs)
        patience = getattr(self, "patience", None)

        def emit(payload: dict) -> None:
            if ctx.on_progress is not None and rank == 0:
                ctx.on_progress(payload)

        def save_ckpt(next_epoch: int) -> None:
            if ckpt_path is None or not ctx.checkpoint or rank != 0:
                return
            from causalrec_core.store.atomic import atomic_path

            payload = {"state": self._state(), "next_epoch": next_epoch, "history": history,
                       "best_val": best_val, "best_epoch": best_epoch, "stale": stale, "best_state": best_state,
                       "torch_rng": torch.get_rng_state()}
            ckpt_path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(ckpt_path) as tmp:
                torch.save(payload, tmp)

        for epoch in range(start_epoch, epochs):
            t0 = time.perf_counter()

            def on_step(e: EpochContext) -> None:
                now = time.perf_counter()
                if ctx.on_progress is None or now - last_emit[0] < log_every:
                    return
                last_emit[0] = now
                spe = max(e.steps_per_epoch, 1)
                done = (e.epoch - start_epoch) + min(e.steps / spe, 1.0)
                left = (epochs - start_epoch) - done
                el = now - t_start
                emit({"event": "step", "epoch": e.epoch + 1, "epochs": epochs, "step": e.steps,
                      "steps_per_epoch": spe, "loss": e.mean_loss(), "elapsed_s": el,
                      "eta_s": el / done * left if done > 0 else None, "device": self.device_,
                      "sample_every_s": log_every})

            ec = EpochContext(torch=torch, device=device, epoch=epoch, seed=seed, rank=rank, world=world, ctx=ctx,
                              on_step=on_step)
            self._inference_mode(False)
            extra = self._train_epoch(data, ec) or {}
            if ec.cancelled:
                cancelled = True
                save_ckpt(epoch)  # this epoch restarts from the current weights on resume
                break
            val = self._validate(data)
            score = val.get(monitor)
            improved = score is not None and np.isfinite(score) and score > best_val
            if improved:
                best_val = float(score)
                best_epoch = epoch
                stale = 0
                best_state = self._state()["modules"]
            elif score is not None:
                stale += 1
            secs = time.perf_counter() - t0
            row = {"epoch": epoch + 1, "loss": ec.mean_loss(), "seconds": secs, "steps": ec.steps, **extra,
                   **{f"val_{k}": v for k, v in val.items()}}
            history.append(row)
            el = time.perf_counter() - t_start
            done = epoch + 1 - start_epoch
            emit({"event": "epoch", "epoch": epoch + 1, "epochs": epochs, "step": ec.steps,
                  "steps_per_epoch": ec.steps_per_epoch, "loss": row["loss"], "elapsed_s": el,
                  "eta_s": el / done * (epochs - epoch - 1), "val": val, "monitor": monitor,
                  "best_epoch": best_epoch + 1, "device": self.device_, "history": history})
            stop_now = patience is not None and score is not None and stale >= int(patience)
            save_ckpt(epoch + 1)
            want_stop = ctx.should_stop() if ctx.should_stop is not None else False
            if world > 1:
                flag = torch.tensor([1.0 if want_stop else 0.0], device=device)
                torch.distributed.all_reduce(flag)
                want_stop = bool(flag.item() > 0)
            if want_stop and epoch + 1 < epochs:
                cancelled = True
                break
            if stop_now:
                break
        self.history_ = history
        self.best_epoch_ = best_epoch + 1 if best_epoch >= 0 else None
        self.monitor_ = monitor
        self.best_val_ = best_val if best_epoch >= 0 else None
        if cancelled:
            self._inference_mode(True)
            raise TrainingCancelled(
                f"training was cancelled after {len(history)} epoch(s); resume to continue from the checkpoint."
            )
        if best_state is not None:
            for k, sd in best_state.items():
                self.modules_[k].load_state_dict(sd)
        self._inference_mode(True)
        self._wrapped = {}
        self.seconds_ = time.perf_counter() - t_start
        return self

    def load_weights(self, data: RecData, state: dict, device: str = "cpu") -> TorchRecommender:
        """Make this (unfitted) model the fitted one whose ``state_dict()`` is ``state``."""
        import torch

        self._check_data(data)
        dev = resolve_device(device, torch)
        torch.manual_seed(int(self.random_state))
        self._remember(data)
        self.device_ = str(dev)
        self._setup(data, torch, dev)
        self._wrapped = {}
        for k, sd in state.items():
            self.modules_[k].load_state_dict(sd)
        self._inference_mode(True)
        return self

    def state_dict(self) -> dict:
        """Weights of the fitted model (tensors only; load with ``torch.load(weights_only=True)``)."""
        if not hasattr(self, "modules_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(data) first.")
        return self._state()["modules"]


@dataclass
class FitSummary:
    """What a run reports about a fit (used by the CLI and the worker)."""

    model: str
    device: str
    seconds: float
    epochs: int
    history: list = field(default_factory=list)
