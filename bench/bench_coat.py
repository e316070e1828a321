"""Coat: debiased recommenders trained on self-selected (MNAR) ratings, evaluated on random (MAR) ratings.

Protocol (the one of the public DR-JL / ESCM² code behind the published Coat figures):

* train = ``train.ascii`` (6960 self-selected ratings), test = ``test.ascii`` (4640 ratings of 16
  random items per user); a rating is a positive when it is **>= 3** — the public code binarises with
  ``binarize(y, thres=3)``: ``y[y < 3] = 0; y[y >= 3] = 1`` — i.e. ``RecData.threshold = 2.5`` on
  integer ratings. (A second table repeats every model with positive = rating > 3.)
* AUC over all test pairs; NDCG@5 and Recall@5 per user over that user's 16 test items with binary
  relevance, averaged over users, with a user whose test items hold no positive counted as **1** —
  the public ``ndcg_func`` sets ``ndcg_k = 1`` when ``np.sum(best_dcg_k) == 0``
  (``metrics.rating_metrics(no_positive='one')``); MSE of the predicted probability on the 0/1 labels.
* Hyper-parameters are chosen ONLY on a validation slice of the biased train
  (``validation_slice(fraction=0.1, seed=0)``): every model family runs a small grid (``causalrec_core.train.tune.DEFAULT_GRIDS``),
  model seed 0, and keeps the configuration with the best validation monitor (AUC; IPS-weighted AUC for
  the debiased models). The test set plays no part
  in choosing anything. Each of the 10 seeds then trains the chosen configuration on its own
  validation slice (``validation_slice(seed=s)``; the slice drives early stopping) with model seed s.

    .venv/bin/python bench/bench_coat.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import ROOT, machine, replace_section  # noqa: E402

from causalrec_core.train.tune import DEFAULT_GRIDS  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "coat"
HEADING = "## Coat (MNAR train, MAR test)"
SEEDS = tuple(range(10))

#: label -> (registry name, fixed parameters); each is tuned with causalrec_core.train.tune's default
#: grid on the validation slice only — the same code path as `causalrec train --tune`
MODELS: dict[str, tuple[str, dict]] = {
    "MF (naive, BCE)": ("mf", {}),
    "MF (naive, explicit MSE)": ("mf", {"objective": "explicit"}),
    "MF + features (naive)": ("mf", {"use_features": True}),
    "BPR-MF": ("bpr", {}),
    "MF-IPS": ("mf-ips", {}),
    "MF-SNIPS": ("mf-snips", {}),
    "MF-IPS + features": ("mf-ips", {"use_features": True}),
    "DR-JL": ("dr-jl", {}),
    "DR-JL + features (dr-jl-feat)": ("dr-jl-feat", {}),
}

#: the naive-Bayes (MAR sample) protocol: share of the randomised test used as the MAR sample, and its models
MAR_FRACTION = 0.05
MAR_MODELS = {k: MODELS[k] for k in ("MF (naive, BCE)", "MF-IPS", "MF-SNIPS", "DR-JL")}
#: the diagnostic, test-informed configuration (see the section it writes); never used for acceptance
FIXED_CONFIG = {"dim": 64, "lr": 0.01, "weight_decay": 0.0001}
FIXED_MODELS = {k: MODELS[k] for k in ("MF (naive, BCE)", "MF-IPS", "DR-JL")}
#: the selection check: a wider grid, each configuration's validation monitor set against its test metrics
SELECTION_GRID = {"dim": [4, 16, 64], "lr": [0.01, 0.03], "weight_decay": [1e-4, 1e-3, 1e-2]}

#: published rows (AUC, NDCG@5) as quoted in issue 5
PUBLISHED: dict[str, tuple[float, float]] = {
    "MF (naive)": (0.7429, 0.6173),
    "MF-IPS": (0.7539, 0.6496),
    "DR-JL": (0.7574, 0.6496),
    "D-DR": (0.7804, 0.6671),
}


def _test_metrics(model, data) -> dict:
    from causalrec_core.evaluate.metrics import rating_metrics

    te = data.test
    y = (te.value > data.threshold).astype(np.float64)
    s = model.score(te.user, te.item)
    m = rating_metrics(te.user, y, s, k=5, predictions=model.predict(te.user, te.item), no_positive="one")
    skip = rating_metrics(te.user, y, s, k=5, no_positive="skip")
    return {"auc": m["auc"], "ndcg@5": m["ndcg@5"], "recall@5": m["recall@5"], "mse": m["mse"],
            "ndcg@5 skip": skip["ndcg@5"]}


def tune(name: str, fixed: dict, data) -> tuple[dict, list]:
    """Best grid configuration by the model's validation monitor on the biased validation slice (test
    unused): AUC for the naive models, the inverse-propensity-weighted AUC for the debiased ones."""
    from causalrec_core.models.coat import validation_slice
    from causalrec_core.train.tune import tune as core_tune

    return core_tune(name, validation_slice(data, 0.1, seed=0), params=fixed, tune_seed=0, device="cpu")


def selection_check(threshold: float = 2.5) -> list[dict]:
    """For MF, MF-IPS and DR-JL: every configuration of :data:`SELECTION_GRID` (seed 0), its validation
    monitor on the biased slice (what tuning sees) and its test AUC / NDCG@5 (what tuning must not see);
    the Spearman correlation between the two tells whether the slice can pick what does well on the test."""
    from scipy.stats import spearmanr

    from causalrec_core.models.coat import load_coat, validation_slice
    from causalrec_core.models.registry import model_class
    from causalrec_core.train.tune import tune as core_tune

    data = load_coat(DATA, threshold=threshold)
    fit_on = validation_slice(data, 0.1, seed=0)
    out = []
    for label, (name, fixed) in FIXED_MODELS.items():
        chosen, scored = core_tune(name, fit_on, params=fixed, grid=SELECTION_GRID, tune_seed=0, device="cpu")
        chosen_cv, scored_cv = core_tune(name, fit_on, params=fixed, grid=SELECTION_GRID, tune_seed=0, device="cpu",
                                         criterion="within-user")
        rows = []
        for r, r_cv in zip(scored, scored_cv, strict=True):
            m = model_class(name)(random_state=0, device="cpu", **fixed, **r["params"]).fit(fit_on)
            rows.append({"params": r["params"], "val": r["score"], "cv": r_cv["score"], **_test_metrics(m, data)})
        val = np.array([r["val"] for r in rows])
        cv = np.array([r["cv"] for r in rows])
        ndcg = np.array([r["ndcg@5"] for r in rows])
        best_val, best_test = rows[int(np.argmax(val))], rows[int(np.argmax(ndcg))]
        best_cv = rows[int(np.argmax(cv))]
        out.append({"label": label, "n": len(rows), "rho_ndcg": float(spearmanr(val, ndcg).statistic),
                    "rho_auc": float(spearmanr(val, [r["auc"] for r in rows]).statistic),
                    "chosen": chosen, "chosen_ndcg": best_val["ndcg@5"], "chosen_auc": best_val["auc"],
                    "best": best_test["params"], "best_ndcg": best_test["ndcg@5"], "best_val": best_test["val"],
                    "chosen_val": best_val["val"], "rho_cv_ndcg": float(spearmanr(cv, ndcg).statistic),
                    "rho_cv_auc": float(spearmanr(cv, [r["auc"] for r in rows]).statistic),
                    "chosen_cv": chosen_cv, "chosen_cv_ndcg": best_cv["ndcg@5"], "chosen_cv_auc": best_cv["auc"]})
        print(f"[selection] {out[-1]}", flush=True)
    return out


#: tuning seeds (fold split and model seed) of the within-user criterion's stability check
CV_SEEDS = tuple(range(5))


def cv_stability(threshold: float = 2.5) -> list[dict]:
    """The within-user criterion's choice over :data:`SELECTION_GRID` under different tuning seeds (each
    re-draws the 5 folds and the model seed): how stable is what it picks? Uses the training data only."""
    from scipy.stats import spearmanr

    from causalrec_core.models.coat import load_coat, validation_slice
    from causalrec_core.train.tune import tune as core_tune

    fit_on = validation_slice(load_coat(DATA, threshold=threshold), 0.1, seed=0)
    out = []
    for label, (name, fixed) in FIXED_MODELS.items():
        choices, scores = [], []
        for s in CV_SEEDS:
            chosen, rows = core_tune(name, fit_on, params=fixed, grid=SELECTION_GRID, tune_seed=s, device="cpu",
                                     criterion="within-user")
            choices.append(chosen)
            scores.append([r["score"] for r in rows])
        a = np.array(scores)
        rhos = [float(spearmanr(a[i], a[j]).statistic) for i in range(len(a)) for j in range(i + 1, len(a))]
        top2 = np.sort(a, axis=1)[:, -2:]
        out.append({"label": label, "choices": choices, "n_distinct": len({_cfg(c) for c in choices}),
                    "rho_min": min(rhos), "rho_max": max(rhos), "gap": float(np.mean(top2[:, 1] - top2[:, 0])),
                    "spread": float(np.mean(a.std(axis=0, ddof=1)))})
        print(f"[cv stability] {out[-1]}", flush=True)
    return out


def _stability_words(stab: list[dict]) -> list[str]:
    moved = [r["label"] for r in stab if r["n_distinct"] > 1]
    close = [r["label"] for r in stab if r["gap"] < r["spread"]]
    if not moved:
        return [f"The choice is the same under every seed for all {len(stab)} models."]
    return [f"The choice changes with the tuning seed for {len(moved)} of {len(stab)} models ({', '.join(moved)}); "
            f"for {len(close)} of them the best setting leads the second by less than a setting's own spread over "
            "seeds, so the fold split, not the data, decides. The product therefore keeps the cheaper validation "
            "monitor as the default criterion and offers the within-user one as an option."]


def selection_lines(sel: list[dict]) -> list[str]:
    """The selection check's table and what it says, in words computed from ``sel``."""
    def span(key: str) -> str:
        vals = [r[key] for r in sel]
        return f"{min(vals):+.2f} to {max(vals):+.2f}" if key.startswith("rho") else f"{min(vals):.4f}–{max(vals):.4f}"

    return [
        "Can the biased validation slice find such configurations? Every configuration of "
        + "; ".join(f"{k} ∈ {{{', '.join(str(v) for v in vs)}}}" for k, vs in SELECTION_GRID.items())
        + " (model seed 0), its validation monitor (what tuning sees) against its test metrics (what",
        "tuning must not see); ρ is the Spearman correlation over the configurations:", "",
        "| model | configs | ρ(validation, test NDCG@5) | ρ(validation, test AUC) | chosen on validation → test NDCG@5 "
        "| best on test → its validation monitor, test NDCG@5 |",
        "| --- | --- | --- | --- | --- | --- |",
        *[f"| {r['label']} | {r['n']} | {r['rho_ndcg']:+.2f} | {r['rho_auc']:+.2f} | {_cfg(r['chosen'])} → "
          f"{r['chosen_ndcg']:.4f} (validation {r['chosen_val']:.4f}) | {_cfg(r['best'])} → {r['best_val']:.4f}, "
          f"{r['best_ndcg']:.4f} |" for r in sel], "",
        f"The validation monitor follows the test AUC (ρ {span('rho_auc')}) but hardly the test NDCG@5 "
        f"(ρ {span('rho_ndcg')}): the configurations that rank each user's randomised test items best have "
        f"validation monitors of {span('best_val')}, below the {span('chosen_val')} of the ones the slice chooses. "
        "So the slice tunes for AUC, as its monitor measures; reaching the published debiased NDCG@5 would "
        "take choosing on the test (not done).", "",
        "A criterion closer to NDCG@5, still without the test: `tune(criterion='within-user')` (CLI "
        "`--tune-criterion within-user`, the Train page's \"Tune for\") scores a configuration by the AUC within each "
        "user (`within_user_auc`, IPS-weighted for the debiased models) of out-of-fold scores from a 5-fold "
        "cross-validation over all the training ratings — per-user ranking, as NDCG@5 measures, which a 10% "
        "slice (about 2 ratings per user) cannot. Same configurations:", "",
        "| model | ρ(within-user CV, test NDCG@5) | ρ(within-user CV, test AUC) | chosen by it → test AUC / NDCG@5 (seed 0) |",
        "| --- | --- | --- | --- |",
        *[f"| {r['label']} | {r['rho_cv_ndcg']:+.2f} | {r['rho_cv_auc']:+.2f} | {_cfg(r['chosen_cv'])} → "
          f"{r['chosen_cv_auc']:.4f} / {r['chosen_cv_ndcg']:.4f} |" for r in sel], "",
    ]


def _cfg(c: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in c.items())


def run_protocol(threshold: float, configs: dict | None = None, *, models: dict | None = None,
                 mar_fraction: float | None = None, tag: str = "") -> tuple[list, dict]:
    """Every model over :data:`SEEDS`; tuned on the validation slice unless ``configs`` (label -> config)
    are given. ``mar_fraction``: a seeded share of the randomised test becomes the MAR sample (naive-Bayes
    propensities) and leaves the test set."""
    from causalrec_core.models.coat import load_coat, validation_slice, with_mar_sample
    from causalrec_core.models.registry import model_class

    data = load_coat(DATA, threshold=threshold)
    if mar_fraction is not None:
        data = with_mar_sample(data, mar_fraction, seed=0)
    rows, chosen = [], {}
    for label, (name, fixed) in (models or MODELS).items():
        cls = model_class(name)
        t0 = time.perf_counter()
        if configs is None:
            cfg, scored = tune(name, fixed, data)
            chosen[label] = cfg
        else:
            cfg = configs[label]
        t_tune = time.perf_counter() - t0
        res, secs, clip = [], [], None
        for seed in SEEDS:
            t1 = time.perf_counter()
            m = cls(random_state=seed, device="cpu", **fixed, **cfg).fit(validation_slice(data, 0.1, seed=seed))
            secs.append(time.perf_counter() - t1)
            res.append(_test_metrics(m, data))
            clip = getattr(m, "clip_report_", None) if clip is None else clip
        keys = list(res[0])
        arr = np.array([[r[k] for k in keys] for r in res])
        mean, sd = dict(zip(keys, arr.mean(0), strict=True)), dict(zip(keys, arr.std(0, ddof=1), strict=True))
        rows.append({"label": label, "causal": cls.causal, "mean": mean, "sd": sd, "secs": float(np.mean(secs)),
                     "tune_s": t_tune, "cfg": cfg, "clip": clip, "n_test": len(data.test),
                     "n_mar": 0 if data.mar_sample is None else len(data.mar_sample)})
        print(f"[>{threshold:g}{tag}] {label:32s} " + "  ".join(f"{k}={mean[k]:.4f}±{sd[k]:.4f}" for k in keys)
              + f"  fit {np.mean(secs):.2f}s  tune {t_tune:.0f}s  cfg={cfg}", flush=True)
    return rows, chosen


def _table(rows: list, published: bool, cfg_header: str = "chosen on validation") -> list[str]:
    lines = ["| model | causal | AUC | NDCG@5 | Recall@5 | MSE | NDCG@5 (skip) | s / fit | " + cfg_header + " |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        m, s = r["mean"], r["sd"]
        cells = [f"{m[k]:.4f} ± {s[k]:.4f}" for k in ("auc", "ndcg@5", "recall@5", "mse", "ndcg@5 skip")]
        cfg = ", ".join(f"{k}={v}" for k, v in r["cfg"].items())
        lines.append(f"| {r['label']} | {'yes' if r['causal'] else 'no'} | " + " | ".join(cells)
                     + f" | {r['secs']:.2f} | {cfg} |")
    if published:
        for name, (auc, ndcg) in PUBLISHED.items():
            lines.append(f"| *published {name}* | | {auc:.4f} | {ndcg:.4f} | – | – | – | | |")
    return lines


def verdicts(rows: list) -> list[str]:
    by = {r["label"]: r["mean"] for r in rows}
    out = []

    def line(ok: bool, text: str) -> None:
        out.append(f"- {'MET' if ok else 'NOT MET'}: {text}")

    mfm = by["MF (naive, BCE)"]
    pa, pn = PUBLISHED["MF (naive)"]
    line(abs(mfm["auc"] - pa) <= 0.03 and abs(mfm["ndcg@5"] - pn) <= 0.03,
         f"naive MF within 0.03 of published AUC {pa} / NDCG@5 {pn}: {mfm['auc']:.4f} / {mfm['ndcg@5']:.4f}")
    for label, pub in (("MF-IPS", "MF-IPS"), ("DR-JL", "DR-JL")):
        a, n = PUBLISHED[pub]
        line(by[label]["auc"] >= a and by[label]["ndcg@5"] >= n,
             f"{label} at or above published {a} / {n}: {by[label]['auc']:.4f} / {by[label]['ndcg@5']:.4f}")
    causal = [r for r in rows if r["causal"]]
    best = max(causal, key=lambda r: r["mean"]["auc"])
    line(best["mean"]["auc"] >= 0.78 and best["mean"]["ndcg@5"] >= 0.667,
         f"best causal model ({best['label']}) at AUC >= 0.78 and NDCG@5 >= 0.667 (above D-DR 0.7804 / 0.6671): "
         f"{best['mean']['auc']:.4f} / {best['mean']['ndcg@5']:.4f}")
    return out


def main() -> None:
    import torch

    torch.set_num_threads(1)
    if not DATA.exists():
        raise SystemExit(f"{DATA} not found: the Coat benchmark needs ../shared/data/coat")
    t0 = time.perf_counter()
    rows, chosen = run_protocol(2.5)
    rows_gt3, _ = run_protocol(3.0, configs=chosen)
    rows_mar, _ = run_protocol(2.5, models=MAR_MODELS, mar_fraction=MAR_FRACTION, tag=" mar")
    rows_fixed, _ = run_protocol(2.5, configs={k: dict(FIXED_CONFIG) for k in FIXED_MODELS}, models=FIXED_MODELS,
                                 tag=" fixed")
    sel = selection_check(2.5)
    cv_configs = {r["label"]: r["chosen_cv"] for r in sel}
    rows_cv, _ = run_protocol(2.5, configs=cv_configs, models=FIXED_MODELS, tag=" within-user")
    by_cv = {r["label"]: r["mean"] for r in rows_cv}
    stab = cv_stability(2.5)
    total = time.perf_counter() - t0
    by_mar = {r["label"]: r["mean"] for r in rows_mar}
    by_fixed = {r["label"]: r["mean"] for r in rows_fixed}
    nb_clip = next((r["clip"] for r in rows_mar if r["clip"]), None)
    clip = next((r["clip"] for r in rows if r["clip"]), None)
    grid = "; ".join(f"{k} ∈ {{{', '.join(str(v) for v in vs)}}}" for k, vs in DEFAULT_GRIDS['mf'].items())
    lines = [
        HEADING, "",
        "Coat (`../shared/data/coat`): train = 6960 self-selected ratings (MNAR), test = 4640 ratings of 16",
        "random items per user (MAR). Protocol of the public DR-JL / ESCM² code behind the published figures:",
        "positive = rating **>= 3** (its `binarize(y, thres=3)` sets `y[y >= 3] = 1`; `RecData.threshold=2.5`);",
        "AUC over all test pairs; NDCG@5 / Recall@5 per user over the user's 16 test items with binary",
        "relevance, a user without any positive test item counted as 1 (its `ndcg_func` sets `ndcg_k = 1`",
        "when the ideal DCG is 0: `rating_metrics(no_positive='one')`; the column *NDCG@5 (skip)* leaves such",
        "users out instead); MSE of the predicted probability on the 0/1 labels. Mean ± sd over 10 seeds.",
        "",
        "Tuning uses the biased train only: each family runs the grid " + grid + " on",
        "`validation_slice(fraction=0.1, seed=0)` (model seed 0) and keeps the best validation monitor — AUC for",
        "the naive models, and for the debiased ones the AUC weighted by 1/p from their own clipped propensity",
        "model (`ips_auc`: selecting a debiased model with a biased metric would undo it); the test",
        "set is never looked at while choosing. Seed s then trains the chosen configuration on",
        "`validation_slice(seed=s)` (its 10% slice drives early stopping, patience 5) with model seed s.",
        "Debiased models use `PropensityModel(method='auto')` → 'popularity' (logistic regression of",
        "observed/not on log user activity and log item popularity over all 290 × 300 pairs; there is no MAR",
        "sample in these two tables, so the label-dependent selection is not modelled; the third table adds one), clipped to",
        f"[0.02, 1]: {clip['n_clipped'] if clip else '?'} of {clip['n'] if clip else '?'} training propensities "
        f"clipped (raw min {clip['raw_min']:.4f}, max {clip['raw_max']:.4f})." if clip else "",
        "`dr-jl-feat` is DR-JL whose prediction and imputation MFs also take the one-hot user/item features",
        "(a linear map added to each factor and bias); *MF-IPS + features* is `MFIPS(use_features=True)`;",
        "*MF + features (naive)* is the same scorer without debiasing, to separate the effect of the features",
        "from that of the debiased loss.", "",
        "The same figures from the command line (one seed): `causalrec train --model mf-ips --param",
        "use_features=true --data coat:../shared/data/coat --threshold 2.5 --tune --seed S --json` (the CLI's",
        "default `--threshold 3` is the issue's rating > 3 labelling, the second table below).", "",
        "### Positive = rating >= 3 (public-code protocol)", "",
        *_table(rows, published=True), "",
        "Published rows: as quoted in issue 5 (AUC, NDCG@5 only).", "",
        "Acceptance (means over the 10 seeds, this protocol):", "", *verdicts(rows), "",
        "### Positive = rating > 3 (the labelling stated in issue 5)", "",
        "Same models and the configurations chosen above on the validation slice (not re-tuned).", "",
        *_table(rows_gt3, published=False), "",
        "Acceptance under this labelling:", "", *verdicts(rows_gt3), "",
        f"### With a {MAR_FRACTION:.0%} randomised sample: naive-Bayes propensities (positive = rating >= 3)", "",
        f"The public code estimates P(O=1 | y) by naive Bayes with P(y) from {MAR_FRACTION:.0%} of the randomised test",
        "(`y_ips`) and evaluates on the whole test. Here the same seeded share",
        f"(`with_mar_sample(data, {MAR_FRACTION}, seed=0)`, {rows_mar[0]['n_mar']} ratings) becomes `RecData.mar_sample`"
        f" and leaves the test set, so every model below, the naive one included, is evaluated on the other",
        f"{rows_mar[0]['n_test']} ratings. Tuning as above (biased validation slice only; the debiased models' `ips_auc`",
        "now weighted by the naive-Bayes propensities). `causalrec train --data coat:DIR --threshold 2.5",
        f"--mar-fraction {MAR_FRACTION} --model mf-ips --tune` runs one seed of it."
        + (f" Naive-Bayes propensities P(O=1 | y) range {nb_clip['raw_min']:.4f}–{nb_clip['raw_max']:.4f} "
           f"({nb_clip['n_clipped']} clipped)." if nb_clip else ""), "",
        *_table(rows_mar, published=False), "",
        f"- MF-IPS − naive MF on this test: AUC {by_mar['MF-IPS']['auc'] - by_mar['MF (naive, BCE)']['auc']:+.4f}, "
        f"NDCG@5 {by_mar['MF-IPS']['ndcg@5'] - by_mar['MF (naive, BCE)']['ndcg@5']:+.4f}; DR-JL − naive MF: AUC "
        f"{by_mar['DR-JL']['auc'] - by_mar['MF (naive, BCE)']['auc']:+.4f}, NDCG@5 "
        f"{by_mar['DR-JL']['ndcg@5'] - by_mar['MF (naive, BCE)']['ndcg@5']:+.4f}.",
        *[f"- {'MET' if by_mar[lab]['auc'] >= PUBLISHED[lab][0] and by_mar[lab]['ndcg@5'] >= PUBLISHED[lab][1] else 'NOT MET'}: "
          f"{lab} at or above published {PUBLISHED[lab][0]} / {PUBLISHED[lab][1]}: "
          f"{by_mar[lab]['auc']:.4f} / {by_mar[lab]['ndcg@5']:.4f}" for lab in ("MF-IPS", "DR-JL")], "",
        "### Diagnostic only (test-informed): where the published MF-IPS / DR-JL rows come from", "",
        "NOT an acceptance result: this configuration was found by scanning a grid and looking at the TEST",
        "metrics (dim ∈ {4, 16, 64} × lr × weight_decay, 3 seeds), which the protocol forbids for choosing. It is",
        "shown because it explains the gap: a wide, lightly regularised MF ("
        + ", ".join(f"{k}={v}" for k, v in FIXED_CONFIG.items()) + ") reaches the published debiased rows —",
        "and so does the naive MF. The validation slice of the biased train prefers smaller, more regularised",
        "models (their biased validation AUC is higher), which rank the MAR test's items a little worse within",
        "each user.", "",
        *_table(rows_fixed, published=False, cfg_header="fixed configuration (test-informed)"), "",
        f"- naive MF {by_fixed['MF (naive, BCE)']['auc']:.4f} / {by_fixed['MF (naive, BCE)']['ndcg@5']:.4f}, "
        f"MF-IPS {by_fixed['MF-IPS']['auc']:.4f} / {by_fixed['MF-IPS']['ndcg@5']:.4f}, DR-JL "
        f"{by_fixed['DR-JL']['auc']:.4f} / {by_fixed['DR-JL']['ndcg@5']:.4f} (AUC / NDCG@5): at this capacity the",
        "debiased losses add no clear gain over naive MF on NDCG@5 beyond the seed spread.", "",
        *selection_lines(sel),
        "The configurations it chooses, over the 10 seeds (chosen on the training data only, so a legitimate "
        "alternative protocol; the grid is the wider one above):", "",
        *_table(rows_cv, published=False, cfg_header="chosen by the within-user criterion"), "",
        *[f"- {'MET' if by_cv[lab]['auc'] >= PUBLISHED[lab][0] and by_cv[lab]['ndcg@5'] >= PUBLISHED[lab][1] else 'NOT MET'}: "
          f"{lab} at or above published {PUBLISHED[lab][0]} / {PUBLISHED[lab][1]}: "
          f"{by_cv[lab]['auc']:.4f} / {by_cv[lab]['ndcg@5']:.4f}" for lab in ("MF-IPS", "DR-JL")],
        f"- naive MF under the same criterion: {by_cv['MF (naive, BCE)']['auc']:.4f} / "
        f"{by_cv['MF (naive, BCE)']['ndcg@5']:.4f}.", "",
        f"How stable is that choice? The same criterion under tuning seeds {', '.join(map(str, CV_SEEDS))} (each "
        "re-draws the folds and the model seed; training data only):", "",
        "| model | settings chosen (one per seed) | distinct | ρ between seeds' scores | best − second best "
        "| sd of a setting's score over seeds |",
        "| --- | --- | --- | --- | --- | --- |",
        *[f"| {r['label']} | {'; '.join(_cfg(c) for c in r['choices'])} | {r['n_distinct']} of {len(CV_SEEDS)} | "
          f"{r['rho_min']:+.2f} to {r['rho_max']:+.2f} | {r['gap']:.4f} | {r['spread']:.4f} |" for r in stab], "",
        *_stability_words(stab), "",
        f"Whole benchmark (tuning + 2 × 10 seeds × {len(MODELS)} models, the MAR, diagnostic, selection, within-user and stability tables): {total:.0f} s,"
        " one CPU thread;",
        "*s / fit* is the mean wall time of one fit (propensity model included; the machine is shared).",
        f"Machine: {machine(('numpy', 'scikit-learn', 'torch'))}.", "",
    ]
    text = "\n".join(lines)
    print(text)
    replace_section(HEADING, text)


if __name__ == "__main__":
    main()
