"""Cold-start items: does the title encoder (MiniLM) let TextMF rank items it never saw in training?

Protocol: the product simulator (``causalrec_core.simulate``, 3000 users x 600 items, seed 7) ->
``log_data_from_frames`` (positives = click/cart/fav/purchase, first time per pair; time split
80/10/10; item text = "<title>. category: <category>"). For each hold-out seed, 20% of the items
with interactions are removed from training entirely: ALL their interactions (train, valid and
test) form the cold evaluation set, and the models are trained on the rest. Each user with a cold
interaction ranks the cold items only (warm items masked out); NDCG@10 / Recall@10 / HR@10 of the
user's cold items, averaged over users, then mean ± std over the hold-out seeds.

Compared: TextMF (title + category text), TextMF on the title alone (the items table without the
category column), TextMF with the text path disabled (pure MF: every cold item scores 0, ties
broken by index, i.e. arbitrary), the user's share of training items per category (the category
column used directly: what the titles can carry at best), observed catalogue popularity (the simulator's
``items.popularity``, which also drives candidate sampling: side information available for new
items too), and random (seeded). Training popularity is not a baseline: cold items have none.

Whether text can help at all: in the simulator, an item's latent vector is
phi_i = 0.8 * mu_{category} + 0.6 * noise (``category_weight``/``item_noise_sd``), and interest
<theta_u, phi_i> drives the funnel, so user preference does depend on category (about 64% of an
item's latent variance); titles are drawn from the category's word lists, so a title carries the
category but nothing of the item-level noise, quality or price.

    .venv/bin/python bench/bench_coldstart.py [--seeds 3] [--epochs 30] [--device cpu]
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

    methods = ["TextMF (title + category)", "TextMF (title only)", "TextMF, text disabled (pure MF)",
               "Category affinity (user's train category shares)", "Catalogue popularity", "Random"]
    res: dict[str, list[dict]] = {m: [] for m in methods}
    secs: dict[str, float] = {m: 0.0 for m in methods}
    info = {}
    for seed in range(args.seeds):
        d, ev, cold = split_cold(data, seed)
        dt = replace(data_title, train=d.train, valid=d.valid, test=None, exposures=None)
        users = np.arange(data.n_users)
        info[seed] = {"n_cold_items": int(cold.sum()), "n_cold_interactions": int(len(ev)),
                      "n_train": int(len(d.train))}
        for name, dd, kw in ((methods[0], d, {}), (methods[1], dt, {}), (methods[2], d, {"use_text": False})):
            t = time.perf_counter()
            m = TextMF(epochs=args.epochs, random_state=seed, device=args.device, **kw).fit(dd)
            scores = m.score_all(users)
            secs[name] += time.perf_counter() - t
            res[name].append(evaluate(scores, ev, cold))
        feats = np.asarray(data.item_features, dtype=np.float64)
        counts = np.asarray(d.train.csr(binary=True) @ feats)
        shares = (counts + 0.1) / (counts.sum(axis=1, keepdims=True) + 0.1 * feats.shape[1])
        res[methods[3]].append(evaluate(shares @ feats.T, ev, cold))
        res[methods[4]].append(evaluate(np.tile(catalogue_pop, (data.n_users, 1)), ev, cold))
        res[methods[5]].append(evaluate(np.random.default_rng(100 + seed).random((data.n_users, data.n_items)),
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
    n_cold = np.mean([v["n_cold_items"] for v in info.values()])
    n_int = np.mean([v["n_cold_interactions"] for v in info.values()])
    lines = [
        HEADING, "",
        f"`bench/bench_coldstart.py`: product simulator ({N_USERS} users x {N_ITEMS} items, seed {SIM_SEED}) through "
        "`log_data_from_frames` (positives = click/cart/fav/purchase; item text = title + \". category: <c>\").",
        f"Per hold-out seed ({args.seeds} seeds), {HOLD_OUT:.0%} of the items with interactions (~{n_cold:.0f} items) are "
        f"removed from training entirely; all their interactions (~{n_int:.0f}, from every split) are the evaluation "
        f"set, and each such user ranks the cold items only. NDCG@{K} / Recall@{K} / HR@{K} averaged over users, "
        f"mean ± std over the seeds. TextMF: dim 64, full softmax, item-id dropout 0.3, {args.epochs} epochs max, "
        f"early stopping on warm NDCG@10 of the time-split valid part; device {args.device}, 1 thread.", "",
        f"| method | NDCG@{K} | Recall@{K} | HR@{K} | fit+score s (all seeds) |",
        "|---|---|---|---|---|",
    ]
    for m in methods:
        s = summary[m]
        cells = " | ".join(f"{s[k][0]:.4f} ± {s[k][1]:.4f}" for k in (f"ndcg@{K}", f"recall@{K}", f"hr@{K}"))
        lines.append(f"| {m} | {cells} | {secs[m]:.0f} |" if secs[m] else f"| {m} | {cells} | – |")
    best = summary[methods[0]][f"ndcg@{K}"][0]
    base = {m: summary[m][f"ndcg@{K}"][0] for m in methods[1:]}
    lines += [
        "",
        "Does text help? " + (
            f"Yes: on items never seen in training TextMF reaches NDCG@{K} {best:.4f} vs {base[methods[2]]:.4f} "
            f"with the text path disabled and {base[methods[5]]:.4f} random"
            if best > max(base[methods[2]], base[methods[5]]) else
            f"No: TextMF reaches NDCG@{K} {best:.4f} vs {base[methods[2]]:.4f} text disabled and "
            f"{base[methods[5]]:.4f} random")
        + f"; title only: {base[methods[1]]:.4f}; ranking by the user's category shares (the category column "
        f"used directly, a ceiling for what the titles carry): {base[methods[3]]:.4f}; catalogue popularity: "
        f"{base[methods[4]]:.4f}"
        + (" — popularity is by far the stronger cold-start signal here, and the gain from text is small."
           if base[methods[4]] > best else " (text beats catalogue popularity)."),
        "The simulator makes this possible: user interest is <theta_u, phi_i> with phi_i = 0.8 * category centre "
        "+ 0.6 * noise, so preference depends on the category (about 64% of an item's latent variance), and "
        "titles are drawn from the category's word lists; a title carries nothing of the item-level noise, quality "
        "or price, and the simulator's candidate sampling (and so what users can interact with) follows the "
        "catalogue popularity, which text does not see.",
        "",
        f"Machine: {machine(('numpy', 'torch', 'transformers'))}.",
    ]
    replace_section(HEADING, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
