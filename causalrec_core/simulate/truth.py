"""Ground truth of a simulation: the true DAG and the closed-form effects, as JSON-ready dicts."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .config import SimulationConfig
from .scm import EVENT_LABELS, SEGMENTS

__all__ = ["build_dag", "build_truth", "sum_stats"]

_STEP_NAMES = ("exposure", "view", "click", "cart", "fav", "purchase")


def build_dag(cfg: SimulationConfig) -> dict[str, Any]:
    """The true causal DAG of ``cfg``'s structural model.

    Nodes carry ``name``, ``role`` (treatment, outcome, confounder, mediator, effect_modifier,
    covariate, latent), ``observed``, ``column`` (the column of ``pairs`` / ``users`` /
    ``items`` that measures it, or None) and ``description``. An edge is present only when its
    coefficient in ``cfg`` is non-zero, so e.g. ``alpha_interest=0`` removes the unobserved
    back-door path through ``interest``.
    """
    nodes = [
        ("exposure", "treatment", True, "exposed",
         "E_ui: the logging recommender showed item i to user u (Bernoulli(propensity))"),
        ("purchase", "outcome", True, "purchased", "the user bought the item"),
        ("user_activity", "confounder", True, "user_activity",
         "a_u, sessions per week (users.activity); raises exposure, viewing and buying"),
        ("item_popularity", "confounder", True, "item_popularity",
         "pi_i, intrinsic popularity (items.popularity); raises exposure and viewing"),
        ("propensity", "covariate", True, "propensity",
         "e_ui, the logged exposure probability; a function of activity, popularity and "
         "interest, hence a sufficient balancing score"),
        ("segment", "effect_modifier", True, "segment",
         "new / casual / loyal, from the activity tercile plus noise; sets the exposure "
         "effect tau and the price sensitivity"),
        ("item_category", "covariate", True, "category", "the item's category"),
        ("item_price", "covariate", True, "price", "the item's price"),
        ("interest", "latent", False, None,
         "<theta_u, phi_i> / sqrt(d), the user's affinity for the item"),
        ("quality", "latent", False, None, "q_i, the item's quality"),
        ("price_sensitivity", "latent", False, None, "beta_price(u), segment-dependent"),
        ("view", "mediator", True, "viewed", "the user viewed the item"),
        ("click", "mediator", True, "clicked", "the user clicked through (requires a view)"),
        ("cart", "mediator", True, "carted", "the user added it to the cart (requires a click)"),
        ("fav", "mediator", True, "favourited", "the user saved it (requires a cart)"),
    ]
    score_parents = ["interest", "price_sensitivity", "item_price"]
    if cfg.beta_quality != 0:
        score_parents.append("quality")
    score_children = ["click", "cart", "purchase"]
    if cfg.gamma_score != 0:
        score_children.append("view")
    if cfg.eta_score != 0:
        score_children.append("fav")
    taus = (cfg.tau_new, cfg.tau_casual, cfg.tau_loyal)
    conditional = [
        ("user_activity", "segment", True),
        ("user_activity", "propensity", cfg.alpha_act != 0),
        ("user_activity", "view", cfg.gamma_act != 0),
        ("user_activity", "purchase", cfg.rho_act != 0),
        ("item_popularity", "propensity", cfg.alpha_pop != 0),
        ("item_popularity", "view", cfg.gamma_pop != 0),
        ("quality", "item_popularity", cfg.popularity_quality != 0),
        ("interest", "propensity", cfg.alpha_interest != 0),
        ("item_category", "interest", cfg.category_weight != 0),
        ("item_category", "item_price", True),
        ("segment", "price_sensitivity", True),
        ("segment", "view", len(set(taus)) > 1),
        ("propensity", "exposure", True),
        ("exposure", "view", any(t != 0 for t in taus)),
        ("view", "click", True),
        ("click", "cart", True),
        ("cart", "fav", True),
        ("cart", "purchase", True),
        ("fav", "purchase", cfg.rho_fav != 0),
    ]
    edges = [[a, b] for a, b, keep in conditional if keep]
    edges += [[a, b] for a in score_parents for b in score_children]
    return {
        "nodes": [
            {"name": n, "role": r, "observed": o, "column": col, "description": desc}
            for n, r, o, col, desc in nodes
        ],
        "edges": edges,
        "treatment": "exposure",
        "outcome": "purchase",
    }


def sum_stats(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Add up per-block sufficient statistics, in block order (deterministic)."""
    total = {k: np.zeros_like(v, dtype=float) for k, v in parts[0].items()}
    for part in parts:
        for k, v in part.items():
            total[k] = total[k] + v
    return total


def _ratio(num: float, den: float) -> float | None:
    return float(num / den) if den > 0 else None


def build_truth(
    cfg: SimulationConfig, stats: dict[str, np.ndarray], n_events: int
) -> dict[str, Any]:
    """Assemble the JSON-serialisable ground-truth dict from summed block statistics."""
    n = float(stats["n_pairs"])
    n1 = float(stats["n_exposed"])
    n0 = n - n1
    p1 = _ratio(float(stats["purchased_exposed"]), n1)
    p0 = _ratio(float(stats["purchased_unexposed"]), n0)
    naive = naive_se = None
    if p1 is not None and p0 is not None:
        naive = p1 - p0
        naive_se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    e1 = _ratio(float(stats["p_obs_exposed"]), n1)
    e0 = _ratio(float(stats["p_obs_unexposed"]), n0)
    naive_expected = e1 - e0 if e1 is not None and e0 is not None else None
    ate = _ratio(float(stats["sum_uplift"]), n)
    rates = {name: float(v / n) for name, v in zip(_STEP_NAMES, stats["steps"], strict=True)}
    adjustment = [["propensity"]]
    if cfg.alpha_interest == 0:
        adjustment.append(["item_popularity", "user_activity"])
    return {
        "seed": int(cfg.seed),
        "config": cfg.to_dict(),
        "n_users": int(cfg.n_users),
        "n_items": int(cfg.n_items),
        "n_pairs": int(n),
        "n_events": int(n_events),
        "events_by_type": {
            label: int(v) for label, v in zip(EVENT_LABELS, stats["events"], strict=True)
        },
        "rates": rates,
        "ate_exposure_purchase": ate,
        "att_exposure_purchase": _ratio(float(stats["sum_uplift_exposed"]), n1),
        "atc_exposure_purchase": _ratio(
            float(stats["sum_uplift"] - stats["sum_uplift_exposed"]), n0
        ),
        "ate_by_segment": {
            seg: _ratio(float(stats["seg_uplift"][k]), float(stats["seg_n"][k]))
            for k, seg in enumerate(SEGMENTS)
        },
        "ate_exposure_view": _ratio(float(stats["sum_view_uplift"]), n),
        "ate_exposure_view_by_segment": {
            seg: _ratio(float(stats["seg_view_uplift"][k]), float(stats["seg_n"][k]))
            for k, seg in enumerate(SEGMENTS)
        },
        "pairs_by_segment": {seg: int(stats["seg_n"][k]) for k, seg in enumerate(SEGMENTS)},
        "purchase_rate_exposed": p1,
        "purchase_rate_unexposed": p0,
        "naive_difference": naive,
        "naive_difference_se": naive_se,
        "naive_difference_expected": naive_expected,
        "naive_to_ate_ratio": (naive / ate) if naive is not None and ate else None,
        "valid_adjustment_sets": adjustment,
        "dag": build_dag(cfg),
        "description": {
            "ate_exposure_purchase": (
                "True average effect of exposure on purchase over all candidate pairs: "
                "mean of P(purchase | do(E=1)) - P(purchase | do(E=0)), computed in closed form."
            ),
            "att_exposure_purchase": "The same mean over the pairs that were exposed (ATT).",
            "atc_exposure_purchase": "The same mean over the pairs that were not exposed (ATC).",
            "ate_by_segment": "True ATE on purchase within each user segment.",
            "ate_exposure_view": "True average effect of exposure on viewing (closed form).",
            "naive_difference": (
                "Observed purchase rate of exposed pairs minus that of unexposed pairs in this "
                "sample; biased upwards because popularity, activity and interest drive both "
                "exposure and purchase."
            ),
            "naive_difference_se": "Two-sample binomial standard error of naive_difference.",
            "naive_difference_expected": (
                "The naive contrast without sampling noise (mean purchase probability of "
                "exposed minus unexposed pairs)."
            ),
            "valid_adjustment_sets": (
                "Sets of observed columns that block every back-door path from exposure to "
                "purchase. The logged propensity always does; user_activity + item_popularity "
                "only when alpha_interest == 0, because the latent user-item interest also "
                "drives exposure."
            ),
            "rates": "Share of candidate pairs reaching each step (exposure or funnel step).",
            "dag": "The true causal graph; latent nodes have observed=false and column=null.",
        },
    }
