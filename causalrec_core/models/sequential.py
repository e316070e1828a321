"""Sequential next-item recommenders: SASRec on a GPT-2 (causal self-attention) backbone.

:class:`SASRec` ('sasrec') reads each user's training interactions in time order and predicts the
next item at every position with a full softmax over the catalogue (output weights tied to the
input item embedding). The transformer is a ``transformers.GPT2Model`` built from a
``GPT2Config`` and trained from scratch (nothing downloaded); items enter as ``inputs_embeds``
from our own item embedding (index 0 = padding, item ``i`` -> ``i + 1``), positions are GPT-2's
learned position embeddings. Sequences are right-padded: position 0 is always a user's first
kept item, and causal attention means padding after the last item never reaches a real position,
so a user's scores do not depend on how much padding its batch has.

Histories longer than ``max_len`` are cut into consecutive windows of ``max_len + 1`` items
(inputs = first ``max_len``, targets = the next ones) so that every training event is a target
once; scoring reads the last ``max_len`` items. A user with no training history scores by
popularity.

:class:`SASRecIPS` ('sasrec-ips') weights each target position's loss by the inverse propensity
of the target item's exposure — the logged propensity of the (user, item) pair where
``data.exposures`` has it, else an item-popularity propensity model
``p_i = (n_i / max n)^eta`` (eta 0.5; Yang et al. 2018, "Unbiased offline recommender evaluation
for missing-not-at-random implicit feedback") — clipped at ``clip_min`` and self-normalised
within each batch (sum(w * loss) / sum(w)). ``clip_report_`` says how many were clipped.

``propensity`` picks the source: ``'auto'`` (the default; logged where the log has it, else
popularity, as above), ``'logged'`` (the same, but an error when the log has no propensity),
``'popularity'`` (the popularity model for every target, ignoring logged ones) or ``'graph'``
(an :class:`~causalrec_core.models.exposure.ExposurePropensity` on ``propensity_features``, the
causal graph's adjustment set from :func:`~causalrec_core.models.exposure.features_from_graph`).
``propensity_source_`` (and ``clip_report_['source']``) says which was used.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from causalrec_core.errors import DataError, invalid_choice, out_of_range
from causalrec_core.models.base import EpochContext, TorchRecommender
from causalrec_core.models.data import RecData
from causalrec_core.models.exposure import PROPENSITY_SOURCES, fit_graph_propensity

__all__ = ["SASRec", "SASRecIPS", "item_popularity_propensity"]


def item_popularity_propensity(counts: np.ndarray, eta: float = 0.5) -> np.ndarray:
    """Yang et al. (2018) popularity propensity ``(n_i / max n)^eta`` (0 for items never seen)."""
    counts = np.asarray(counts, dtype=np.float64)
    top = counts.max() if counts.size else 0.0
    if top <= 0:
        return np.ones_like(counts)
    return (counts / top) ** float(eta)


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise out_of_range(name, value, f"an integer >= {low}")
    return int(value)


def _user_sequences(data: RecData) -> tuple[np.ndarray, np.ndarray]:
    """Train rows ordered by (user, timestamp, original row): (order, start offset per user)."""
    tr = data.train
    ts = tr.timestamp if tr.timestamp is not None else np.zeros(len(tr), dtype=np.int64)
    order = np.lexsort((np.arange(len(tr)), ts, tr.user))
    counts = np.bincount(tr.user, minlength=data.n_users)
    starts = np.r_[0, np.cumsum(counts)]
    return order, starts


class SASRec(TorchRecommender):
    """Self-attentive sequential recommendation (Kang & McAuley 2018) on a from-scratch GPT-2."""

    name: ClassVar[str] = "sasrec"
    description: ClassVar[str] = (
        "Transformer (SASRec on GPT-2 layers, trained from scratch) that predicts each user's next item "
        "from the order of their past items; full-softmax next-item loss.")
    kinds: ClassVar[tuple[str, ...]] = ("log",)
    causal: ClassVar[bool] = False

    def __init__(self, *, max_len: int = 50, hidden: int = 64, n_layers: int = 2, n_heads: int = 2,
                 dropout: float = 0.2, lr: float = 0.001, weight_decay: float = 0.0, epochs: int = 30,
                 batch_size: int = 256, patience: int = 5, random_state: int = 0, device: str = "auto") -> None:
        self.max_len = max_len
        self.hidden = hidden
        self.n_layers = n_layers
        self.n_heads = n_heads
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.random_state = random_state
        self.device = device

    # -- data -----------------------------------------------------------------------------
    def _windows(self, data: RecData) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Training windows: (inputs, targets, target row index into train or -1, user) arrays.

        Inputs/targets are (n_windows, max_len) with item index + 1 (0 = padding), right-padded.
        """
        L = self.max_len_
        order, starts = _user_sequences(data)
        items = data.train.item[order] + 1
        counts = np.diff(starts)
        # windows per user: the targets are positions 1..n-1 of the sequence, in chunks of L
        n_targets = np.maximum(counts - 1, 0)
        n_win = -(-n_targets // L)  # ceil
        users = np.repeat(np.arange(data.n_users), n_win)
        total = int(n_win.sum())
        inputs = np.zeros((total, L), dtype=np.int64)
        targets = np.zeros((total, L), dtype=np.int64)
        rows = np.full((total, L), -1, dtype=np.int64)
        if total == 0:
            return inputs, targets, rows, users
        # window k of a user covers targets k*L+1 .. min((k+1)*L, n-1) (sequence positions), counted
        # from the END so the last window is full-length when possible
        win_rank = np.arange(total) - np.repeat(np.cumsum(n_win) - n_win, n_win)  # 0 = last window
        n_u = counts[users]
        last_t = n_u - 1 - win_rank * L  # last target position of the window
        first_t = np.maximum(last_t - L + 1, 1)
        length = last_t - first_t + 1
        col = np.arange(L)[None, :]
        valid = col < length[:, None]
        tpos = first_t[:, None] + col  # target positions
        base = starts[users][:, None]
        src_t = np.where(valid, base + tpos, 0)
        src_i = np.where(valid, base + tpos - 1, 0)
        targets[valid] = items[src_t[valid]]
        inputs[valid] = items[src_i[valid]]
        rows[valid] = order[src_t[valid]]
        return inputs, targets, rows, users

    def _last_inputs(self, data: RecData) -> np.ndarray:
        """(n_users, max_len) right-padded last ``max_len`` items of each user (item + 1)."""
        L = self.max_len_
        order, starts = _user_sequences(data)
        items = data.train.item[order] + 1
        counts = np.diff(starts)
        length = np.minimum(counts, L)
        col = np.arange(L)[None, :]
        valid = col < length[:, None]
        src = starts[1:][:, None] - length[:, None] + col
        out = np.zeros((data.n_users, L), dtype=np.int64)
        out[valid] = items[src[valid]]
        return out

    # -- model ----------------------------------------------------------------------------
    def _build(self, data: RecData, torch: Any, device: Any) -> Any:
        from transformers import GPT2Config, GPT2Model
        from transformers.utils import logging as hf_logging

        nn = torch.nn
        hidden, L, n_items = self.hidden_, self.max_len_, data.n_items
        cfg = GPT2Config(vocab_size=1, n_positions=L, n_embd=hidden, n_layer=int(self.n_layers),
                         n_head=int(self.n_heads), n_inner=4 * hidden, resid_pdrop=float(self.dropout),
                         embd_pdrop=float(self.dropout), attn_pdrop=float(self.dropout), bos_token_id=0,
                         eos_token_id=0, pad_token_id=0, use_cache=False)
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        try:
            backbone = GPT2Model(cfg)
        finally:
            hf_logging.set_verbosity(verbosity)
        scale = float(hidden) ** 0.5

        class Net(nn.Module):
            def __init__(s) -> None:
                super().__init__()
                s.item = nn.Embedding(n_items + 1, hidden, padding_idx=0)
                nn.init.normal_(s.item.weight, std=0.02)
                with torch.no_grad():
                    s.item.weight[0].zero_()
                s.gpt = backbone

            def forward(s, seq: Any, logits: bool = True, positions: Any = None) -> Any:
                """Next-item logits (batch, len, n_items) of right-padded sequences, or the hidden states;
                with ``positions`` (flat indexes into batch x len) only the logits of those positions,
                (len(positions), n_items) — padding costs no output-layer work."""
                x = s.item(seq) * scale
                h = s.gpt(inputs_embeds=x).last_hidden_state
                if positions is not None:
                    h = h.reshape(-1, h.shape[-1]).index_select(0, positions)
                return s.logits(h) if logits else h

            def logits(s, h: Any) -> Any:
                return h @ s.item.weight[1:].T

        return Net().to(device)

    def _setup(self, data: RecData, torch: Any, device: Any) -> None:
        self.max_len_ = _check_int("max_len", self.max_len, 1)
        self.hidden_ = _check_int("hidden", self.hidden, 2)
        _check_int("n_layers", self.n_layers, 1)
        heads = _check_int("n_heads", self.n_heads, 1)
        if self.hidden_ % heads:
            raise out_of_range("hidden", self.hidden, f"a multiple of n_heads ({heads})")
        if not (0.0 <= float(self.dropout) < 1.0):
            raise out_of_range("dropout", self.dropout, "a number in [0, 1)")
        net = self._build(data, torch, device)
        self.modules_ = {"net": net}
        self.optimizers_ = {"net": torch.optim.AdamW(net.parameters(), lr=float(self.lr), betas=(0.9, 0.98),
                                                     weight_decay=float(self.weight_decay))}
        self._torch = torch
        self._dev = device
        inputs, targets, rows, users = self._windows(data)
        self.n_windows_ = len(inputs)
        self._inputs = torch.as_tensor(inputs, device=device)
        self._targets = torch.as_tensor(targets, device=device)
        self._valid = targets > 0  # host copies for batch shaping without device syncs
        self._lengths = self._valid.sum(axis=1)
        weights = self._target_weights(data, targets, rows, users)
        self._weights = None if weights is None else torch.as_tensor(weights, dtype=torch.float32, device=device)
        last = self._last_inputs(data)
        self.history_len_ = np.bincount(data.train.user, minlength=data.n_users)
        self._last = torch.as_tensor(last, device=device)

    def _target_weights(self, data: RecData, targets: np.ndarray, rows: np.ndarray,
                        users: np.ndarray) -> np.ndarray | None:
        return None

    def _train_epoch(self, data: RecData, ec: EpochContext) -> dict:
        torch = self._torch
        opt = self.optimizers_["net"]
        net = self.net("net")
        F = torch.nn.functional
        for b in ec.batches(self.n_windows_, int(self.batch_size)):
            # right-padded windows: cut the batch to its longest window (causal attention makes this
            # exact) and score only the real target positions; both worked out on the host from
            # numpy copies, so no device->host sync happens in the step
            width = max(int(self._lengths[b].max()), 1)
            flat = np.flatnonzero(self._valid[b, :width])
            idx = torch.as_tensor(b, device=self._dev)
            pos = torch.as_tensor(flat, device=self._dev)
            seq = self._inputs[idx, :width]
            tgt = self._targets[idx, :width].reshape(-1).index_select(0, pos) - 1
            with ec.autocast():
                logits = net(seq, positions=pos)
            ce = F.cross_entropy(logits.float(), tgt, reduction="none")
            if self._weights is None:
                loss = ce.mean()
            else:
                w = self._weights[idx, :width].reshape(-1).index_select(0, pos)
                loss = (ce * w).sum() / w.sum().clamp(min=1e-12)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            ec.report(loss)
        return {}

    # -- scoring --------------------------------------------------------------------------
    def _scores(self, users: np.ndarray, batch: int = 1024) -> np.ndarray:
        torch = self._torch
        net = self.modules_["net"]
        users = np.asarray(users, dtype=np.int64)
        out = np.empty((len(users), self.n_items_), dtype=np.float64)
        hist = self.history_len_[users]
        pop = np.log1p(self.item_popularity_)
        with torch.no_grad():
            for start in range(0, len(users), batch):
                ub = users[start:start + batch]
                lens = np.minimum(hist[start:start + batch], self.max_len_)
                has = lens > 0
                rows = out[start:start + batch]
                rows[~has] = pop
                if has.any():
                    u_t = torch.as_tensor(ub[has], device=self._dev)
                    width = int(lens[has].max())
                    seq = self._last[u_t][:, :width]
                    h = net(seq, logits=False)
                    pos = torch.as_tensor(lens[has] - 1, device=self._dev)
                    last = h[torch.arange(len(pos), device=self._dev), pos]
                    rows[has] = net.logits(last).float().cpu().numpy()
        return out

    def score_all(self, users: Any) -> np.ndarray:
        return self._scores(np.asarray(users, dtype=np.int64))

    def _score_idx(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        uniq, inv = np.unique(users, return_inverse=True)
        return self._scores(uniq)[inv, items]


class SASRecIPS(SASRec):
    """SASRec with each target's loss weighted by the inverse propensity of its exposure (clipped)."""

    name: ClassVar[str] = "sasrec-ips"
    description: ClassVar[str] = (
        "SASRec whose next-item loss weights each target by 1 / propensity of its exposure (logged, or "
        "item-popularity based), clipped and self-normalised, to undo the logging recommender's bias.")
    causal: ClassVar[bool] = True

    def __init__(self, *, max_len: int = 50, hidden: int = 64, n_layers: int = 2, n_heads: int = 2,
                 dropout: float = 0.2, lr: float = 0.001, weight_decay: float = 0.0, epochs: int = 30,
                 batch_size: int = 256, patience: int = 5, clip_min: float = 0.05, eta: float = 0.5,
                 propensity: str = "auto", propensity_features: list[str] | None = None,
                 random_state: int = 0, device: str = "auto") -> None:
        super().__init__(max_len=max_len, hidden=hidden, n_layers=n_layers, n_heads=n_heads, dropout=dropout,
                         lr=lr, weight_decay=weight_decay, epochs=epochs, batch_size=batch_size, patience=patience,
                         random_state=random_state, device=device)
        self.clip_min = clip_min
        self.eta = eta
        self.propensity = propensity
        self.propensity_features = propensity_features

    def _target_weights(self, data: RecData, targets: np.ndarray, rows: np.ndarray,
                        users: np.ndarray) -> np.ndarray:
        clip = float(self.clip_min)
        if not (0.0 < clip <= 1.0):
            raise out_of_range("clip_min", self.clip_min, "a number in (0, 1]")
        if not (float(self.eta) >= 0.0):
            raise out_of_range("eta", self.eta, "a number >= 0")
        mode = self.propensity
        if mode not in PROPENSITY_SOURCES:
            raise invalid_choice("propensity", mode, PROPENSITY_SOURCES)
        exp = data.exposures
        has_logged = exp is not None and exp.propensity is not None and len(exp) > 0 \
            and bool(np.any(np.isfinite(exp.propensity) & (np.asarray(exp.propensity) > 0)))
        if mode == "logged" and not has_logged:
            raise DataError("propensity='logged' needs logged exposure propensities (a 'propensity' column in the "
                            "event log); this dataset has none. Use 'graph' (with the graph's adjustment set as "
                            "propensity_features), 'popularity' or 'auto'.")
        valid = targets > 0
        item = np.where(valid, targets - 1, 0)
        user = np.broadcast_to(users[:, None], targets.shape)
        logged = np.zeros(targets.shape, dtype=bool)
        self.propensity_model_ = None
        if mode == "graph":
            model = fit_graph_propensity(data, self.propensity_features, (min(clip, 1 - 1e-6), 1.0),
                                         self.random_state)
            prop = np.ones(targets.shape, dtype=np.float64)
            prop[valid] = model.predict(user[valid], item[valid], clipped=False)
            self.propensity_model_ = model.summary()
            source = "graph"
        else:
            counts = np.bincount(data.train.item, minlength=data.n_items)
            prop = item_popularity_propensity(counts, float(self.eta))[item]
            source = "popularity"
        if mode in ("auto", "logged") and has_logged:
            p = np.asarray(exp.propensity, dtype=np.float64)
            ok = np.isfinite(p) & (p > 0)
            key = np.asarray(exp.user, np.int64)[ok] * data.n_items + np.asarray(exp.item, np.int64)[ok]
            p = p[ok]
            srt = np.argsort(key, kind="stable")
            key, p = key[srt], p[srt]
            q = user[valid] * data.n_items + item[valid]
            pos = np.clip(np.searchsorted(key, q), 0, max(len(key) - 1, 0))
            hit = (key[pos] == q) if len(key) else np.zeros(len(q), dtype=bool)
            vals = prop[valid]
            vals[hit] = p[pos[hit]]
            prop[valid] = vals
            logged[valid] = hit
            n_hit = int(hit.sum())
            source = "logged" if n_hit == len(hit) else ("logged+popularity" if n_hit else "popularity")
        pv = prop[valid]
        clipped = pv < clip
        pv = np.clip(pv, clip, 1.0)
        prop[valid] = pv
        w = np.divide(1.0, prop, out=np.zeros_like(prop, dtype=np.float64), where=valid)
        self.propensity_source_ = source
        n_logged = int(logged.sum())
        self.clip_report_ = {
            "min": clip, "max": 1.0, "n_clipped": int(clipped.sum()), "n": int(valid.sum()),
            "share_clipped": float(clipped.mean()) if clipped.size else 0.0,
            "n_logged_propensity": n_logged,
            "n_popularity_propensity": 0 if source == "graph" else int(valid.sum() - n_logged),
            "n_graph_propensity": int(valid.sum()) if source == "graph" else 0,
            "source": source, "mode": mode,
            "weight_max": float(w[valid].max()) if valid.any() else 1.0,
            "weight_mean": float(w[valid].mean()) if valid.any() else 1.0,
        }
        return w.astype(np.float32)

