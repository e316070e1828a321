"""Exposure propensities P(exposed | user, item) learned from a causal graph's adjustment set.

The causal log models (``sasrec-ips``, ``uplift``) weight by the inverse probability that the
logging recommender showed an item to a user. When the log carries that probability they use it;
otherwise it has to be learned, and *which* covariates it must be learned from is a causal
question the project's graph answers: the adjustment set of ``exposure -> purchase``.

* :func:`features_from_graph` — the graph's adjustment set for treatment -> outcome (optimal set
  where usable, else the smallest minimal backdoor set) mapped onto the data's covariate names
  (``meta['user_covariates']`` / ``meta['item_covariates']`` of
  :func:`~causalrec_core.models.logdata.log_data_from_frames`): a node maps to the covariate of
  its own name, else to its ``column`` binding, else to a known alias
  (:data:`~causalrec_core.graph.templates.COLUMN_ALIASES`). A set whose nodes do not all map is
  skipped; when none maps, a :class:`~causalrec_core.errors.GraphError` names the missing
  variable(s) and the set(s), and says the propensities cannot be adjusted for them.
* :class:`ExposurePropensity` — a logistic regression of ``Exposures.exposed`` on the chosen
  covariates (user covariates joined by user, item covariates by item): skewed non-negative
  counts log1p-transformed, numbers standardised (missing values at the mean plus a missing
  indicator), categories one-hot (first level the reference). Fitted by penalised Newton
  iterations (deterministic). ``fit_report_`` holds AUC and calibration on a seeded held-out 20%
  of the exposure rows (of a fit on the other 80%); the final coefficients use every row.
  Predictions are always clipped to ``clip``; ``clip_report_`` says how many fit rows were.

Note that in an event log the exposure rows are the (user, item) pairs with any event, so the
model estimates P(exposed | the pair has an event, covariates), not P(exposed | candidate pair);
it ranks pairs like the logging policy did but its level can differ from the logged propensity.

Without covariate tables in ``data.meta`` (a hand-built :class:`RecData`), ``user_activity`` and
``item_popularity`` are the users' and items' training-interaction counts.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from causalrec_core.errors import DataError, GraphError, NotFittedError, ParameterError, out_of_range
from causalrec_core.evaluate.metrics import auc_score
from causalrec_core.models.data import RecData
from causalrec_core.models.propensity import check_clip, ridge_logistic
from causalrec_core.params import ParamsMixin

__all__ = ["DEFAULT_FEATURES", "PROPENSITY_SOURCES", "ExposurePropensity", "clip_counts", "covariate_tables",
           "features_from_graph", "fit_graph_propensity"]

#: Where the causal log models (``sasrec-ips``, ``uplift``) take the exposure propensity from (``propensity=``).
PROPENSITY_SOURCES: tuple[str, ...] = ("auto", "logged", "graph", "popularity")
DEFAULT_FEATURES: tuple[str, ...] = ("user_activity", "item_popularity")
SKEW_THRESHOLD = 1.0


# ------------------------------------------------------------------------------------------
# covariates
# ------------------------------------------------------------------------------------------


def covariate_tables(data: RecData) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(user covariates, item covariates, source): the tables of ``data.meta`` when present, else the
    users' and items' training-interaction counts as ``user_activity`` / ``item_popularity``."""
    if not isinstance(data, RecData):
        raise ParameterError(f"data must be a RecData; got {type(data).__name__}.")
    ucov, icov = data.meta.get("user_covariates"), data.meta.get("item_covariates")
    if (isinstance(ucov, pd.DataFrame) and isinstance(icov, pd.DataFrame)
            and len(ucov) == data.n_users and len(icov) == data.n_items):
        return ucov, icov, "meta"
    idx_u, idx_i = pd.RangeIndex(data.n_users, name="user_idx"), pd.RangeIndex(data.n_items, name="item_idx")
    ucov = pd.DataFrame({"user_activity": np.bincount(data.train.user, minlength=data.n_users).astype(float)},
                        index=idx_u)
    icov = pd.DataFrame({"item_popularity": np.bincount(data.train.item, minlength=data.n_items).astype(float)},
                        index=idx_i)
    return ucov, icov, "train counts"


def _covariate_names(data: RecData) -> tuple[list[str], list[str]]:
    ucov, icov, _ = covariate_tables(data)
    return [str(c) for c in ucov.columns], [str(c) for c in icov.columns]


def clip_counts(raw: np.ndarray, low: float, high: float) -> dict:
    """The clipping report of propensities ``raw`` clipped to ``[low, high]``."""
    raw = np.asarray(raw, dtype=np.float64)
    n_low, n_high = int((raw < low).sum()), int((raw > high).sum())
    return {"min": float(low), "max": float(high), "n_clipped": n_low + n_high, "n_clipped_low": n_low,
            "n_clipped_high": n_high, "n": int(raw.size),
            "share_clipped": (n_low + n_high) / raw.size if raw.size else 0.0,
            "raw_min": float(raw.min()) if raw.size else float("nan"),
            "raw_max": float(raw.max()) if raw.size else float("nan")}


# ------------------------------------------------------------------------------------------
# the graph's adjustment set
# ------------------------------------------------------------------------------------------


def _as_graph(graph: Any) -> Any:
    import networkx as nx

    from causalrec_core.graph.model import from_dict

    if isinstance(graph, nx.DiGraph):
        return graph
    if isinstance(graph, (str, bytes)):
        try:
            graph = json.loads(graph)
        except ValueError as err:
            raise GraphError(f"graph is text but not the project's graph JSON: {err}") from None
    if isinstance(graph, Mapping):
        return from_dict(graph)
    raise ParameterError(f"graph must be a networkx DiGraph, the project's graph JSON or its dict; "
                         f"got {type(graph).__name__}.")


def _resolve_node(g: Any, name: Hashable, param: str, role: str, default: str) -> Hashable:
    if name in g:
        return name
    bound = [n for n, c in g.nodes(data="column") if c is not None and str(c) == str(name)]
    if len(bound) == 1:
        return bound[0]
    with_role = [n for n, r in g.nodes(data="role") if r == role]
    if name == default and len(with_role) == 1:
        return with_role[0]
    raise GraphError(f"{param}={name!r} is not a node of the graph and no single node is bound to a column of "
                     f"that name (nodes: {', '.join(map(repr, sorted(map(str, g.nodes))))}); the graph has no "
                     f"{role} node to take the propensity's adjustment set from.")


def _map_node(g: Any, node: Hashable, names: set[str]) -> str | None:
    from causalrec_core.graph.model import is_latent
    from causalrec_core.graph.templates import COLUMN_ALIASES

    if is_latent(g, node):
        return None
    col = g.nodes[node].get("column")
    cands = [str(node)] + ([str(col)] if col else []) + list(COLUMN_ALIASES.get(str(node), ()))
    cands += [f"{p}_{c}" for c in list(cands) for p in ("user", "item")]
    return next((c for c in cands if c in names), None)


def _fmt_set(nodes: Iterable[Hashable]) -> str:
    return "{" + ", ".join(sorted(map(str, nodes))) + "}"


def features_from_graph(graph: Any, data: RecData, treatment: Hashable = "exposure",
                        outcome: Hashable = "purchase") -> tuple[list[str], str]:
    """The propensity features a causal graph implies: its adjustment set for ``treatment ->
    outcome`` mapped onto the user / item covariates of ``data``. Returns (features, explanation).

    Parameters
    ----------
    graph : networkx.DiGraph, or the project's graph JSON (text or dict)
    data : RecData whose ``meta`` holds the covariate tables (see :func:`covariate_tables`)
    treatment, outcome : node names (or a column a node is bound to); with the defaults, the
        graph's single treatment / outcome node is used when it is named otherwise.

    Raises
    ------
    GraphError
        The graph lacks the treatment or outcome; the effect is not identifiable by adjustment; or
        no adjustment set can be formed from the covariates (the message names the missing node(s)
        and the set(s)).
    """
    from causalrec_core.graph.identify import identify

    g = _as_graph(graph)
    t = _resolve_node(g, treatment, "treatment", "treatment", "exposure")
    y = _resolve_node(g, outcome, "outcome", "outcome", "purchase")
    user_names, item_names = _covariate_names(data)
    names = set(user_names) | set(item_names)
    ident = identify(g, t, y)
    if not ident.identifiable or (ident.estimand != "backdoor" and not ident.effect_is_zero):
        why = ident.reason or "; ".join(ident.notes) or "no valid adjustment set exists"
        raise GraphError(f"the graph does not identify the effect of {t!r} on {y!r} by adjustment ({why}), so "
                         "propensities of exposure cannot be adjusted from it; fix the graph or use the logged "
                         "propensity.")
    candidates: list[tuple[list, str]] = []
    if ident.optimal_set is not None:
        candidates.append((list(ident.optimal_set), "optimal adjustment set"))
    for s in ident.backdoor_sets:
        if all(list(s) != list(c) for c, _ in candidates):
            candidates.append((list(s), "minimal backdoor set"))
    head = f"Adjustment sets of the graph for {t} → {y}: " + (
        "; ".join(_fmt_set(s) for s, _ in candidates) if candidates else "none") + "."
    skipped: list[str] = []
    for nodes, kind in candidates:
        mapping = {n: _map_node(g, n, names) for n in nodes}
        missing = [str(n) for n, c in mapping.items() if c is None]
        if missing:
            skipped.append(f"skipped {_fmt_set(nodes)}: no user/item covariate for {', '.join(map(repr, missing))}"
                           + (" (the logged propensity is what this model estimates, not a covariate)"
                              if any("propensity" in m.lower() for m in missing) else ""))
            continue
        feats = list(dict.fromkeys(mapping[n] for n in sorted(nodes, key=str)))
        if not feats:
            text = (f"{head} The graph has no confounders of {t} → {y} (the empty set blocks every backdoor path):"
                    " exposure depends on no covariate, so the propensity is the overall exposure rate.")
        else:
            text = (f"{head} Using the {kind} {_fmt_set(nodes)}, mapped to the covariates "
                    + ", ".join(f"{n} → {mapping[n]}" for n in sorted(nodes, key=str)) + ".")
        if skipped:
            text += " " + "; ".join(s[0].upper() + s[1:] for s in skipped) + "."
        if ident.effect_is_zero:
            text += f" Note: the graph has no directed path from {t} to {y} (it implies no effect)."
        return feats, text
    parts, missing_all = [], []
    for nodes, _ in candidates:
        miss = [str(n) for n in sorted(nodes, key=str) if _map_node(g, n, names) is None]
        missing_all += [m for m in miss if m not in missing_all]
        parts.append(f"the set {_fmt_set(nodes)} needs {', '.join(map(repr, miss))}")
    who = ", ".join(map(repr, missing_all))
    raise GraphError(
        f"no adjustment set of the graph for {t} → {y} can be formed from the data's covariates: "
        + "; ".join(parts) + f", and {who} {'has' if len(missing_all) == 1 else 'have'} no user or item covariate "
        f"(users: {user_names}; items: {item_names}). The propensities cannot be adjusted for {who}: bind the "
        "node's 'column' to one of these covariates or add the column to the users/items side table.")


# ------------------------------------------------------------------------------------------
# the propensity model
# ------------------------------------------------------------------------------------------


class ExposurePropensity(ParamsMixin):
    """Logistic regression of exposure on user / item covariates; see the module docstring.

    Parameters
    ----------
    features : list of covariate names (user or item covariates of the data), e.g. from
        :func:`features_from_graph`; None uses ``user_activity`` and ``item_popularity``.
    clip : (low, high) bounds every prediction is clipped to, 0 < low < high <= 1.
    l2 : ridge penalty of the coefficients (not the intercept).
    holdout : share of the exposure rows held out for ``fit_report_`` (0 for none).
    random_state : seed of the held-out split.
    """

    def __init__(self, *, features: Sequence[str] | None = None, clip: tuple[float, float] = (0.01, 0.99),
                 l2: float = 1.0, holdout: float = 0.2, random_state: int = 0) -> None:
        self.features = features
        self.clip = clip
        self.l2 = l2
        self.holdout = holdout
        self.random_state = random_state

    # -- checks ---------------------------------------------------------------------------
    def _check(self) -> tuple[float, float]:
        lo, hi = check_clip(self.clip)
        if not (isinstance(self.l2, (int, float)) and not isinstance(self.l2, bool) and self.l2 >= 0):
            raise out_of_range("l2", self.l2, "a number >= 0")
        if not (isinstance(self.holdout, (int, float)) and 0.0 <= float(self.holdout) < 0.5):
            raise out_of_range("holdout", self.holdout, "a number in [0, 0.5)")
        return lo, hi

    # -- design ---------------------------------------------------------------------------
    def _plan(self, ucov: pd.DataFrame, icov: pd.DataFrame) -> None:
        feats = list(DEFAULT_FEATURES) if self.features is None else self.features
        if isinstance(feats, str):
            feats = [feats]
        feats = [str(f) for f in feats]
        unames, inames = [str(c) for c in ucov.columns], [str(c) for c in icov.columns]
        unknown = [f for f in feats if f not in unames and f not in inames]
        if unknown:
            raise ParameterError(f"features={unknown} are not covariates of the data; available user covariates: "
                                 f"{unames}, item covariates: {inames}.")
        both = [f for f in feats if f in unames and f in inames]
        if both:
            raise ParameterError(f"features={both} name both a user and an item covariate; rename one.")
        plan = []
        for f in dict.fromkeys(feats):
            side, table = ("user", ucov) if f in unames else ("item", icov)
            col = table[[c for c in table.columns if str(c) == f][0]]
            if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
                v = pd.to_numeric(col, errors="coerce").astype("float64")
                log = bool(v.notna().sum() >= 3 and (v.dropna() >= 0).all() and float(v.skew()) > SKEW_THRESHOLD)
                plan.append({"name": f, "side": side, "kind": "numeric", "log1p": log,
                             "values": np.log1p(v.to_numpy()) if log else v.to_numpy()})
            else:
                cats = col.astype("category") if not isinstance(col.dtype, pd.CategoricalDtype) else col
                levels = [str(c) for c in cats.cat.categories]
                codes = cats.cat.codes.to_numpy()
                plan.append({"name": f, "side": side, "kind": "categorical", "levels": levels, "codes": codes})
        self.features_ = [p["name"] for p in plan]
        self._plan_ = plan

    def _raw(self, users: np.ndarray, items: np.ndarray) -> tuple[list[np.ndarray], list[str]]:
        cols, names = [], []
        for p in self._plan_:
            idx = users if p["side"] == "user" else items
            if p["kind"] == "numeric":
                cols.append(p["values"][idx])
                names.append(f"log1p({p['name']})" if p["log1p"] else p["name"])
            else:
                code = p["codes"][idx]
                for k, lev in enumerate(p["levels"][1:], start=1):
                    cols.append((code == k).astype(np.float64))
                    names.append(f"{p['name']}={lev}")
        return cols, names

    def _design(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        cols, _ = self._raw(users, items)
        out = [np.ones(len(users))]
        for x, (mu, sd, has_missing) in zip(cols, self._scale_, strict=True):
            miss = ~np.isfinite(x)
            out.append(np.where(miss, 0.0, (x - mu) / sd))
            if has_missing:
                out.append(miss.astype(np.float64))
        return np.column_stack(out)

    def _fit_scale(self, users: np.ndarray, items: np.ndarray) -> None:
        cols, names = self._raw(users, items)
        scale, design_names = [], []
        for x, nm in zip(cols, names, strict=True):
            ok = np.isfinite(x)
            mu = float(x[ok].mean()) if ok.any() else 0.0
            sd = float(x[ok].std()) if ok.any() else 1.0
            sd = sd if sd > 0 else 1.0
            scale.append((mu, sd, bool((~ok).any())))
            design_names.append(nm)
            if (~ok).any():
                design_names.append(f"{nm}:missing")
        self._scale_ = scale
        self.design_columns_ = design_names

    # -- fit / predict ----------------------------------------------------------------------
    def fit(self, data: RecData) -> ExposurePropensity:
        """Fit P(exposed | covariates) on ``data.exposures``; returns self."""
        lo, hi = self._check()
        if not isinstance(data, RecData):
            raise ParameterError(f"data must be a RecData; got {type(data).__name__}.")
        exp = data.exposures
        if exp is None or len(exp) == 0:
            raise DataError("learning exposure propensities needs logged exposures (which items were shown to "
                            "whom: 'exposure' events or an 'exposed' column in the log); this dataset has none.")
        ucov, icov, source = covariate_tables(data)
        self.covariate_source_ = source
        self._plan(ucov, icov)
        users = np.asarray(exp.user, dtype=np.int64)
        items = np.asarray(exp.item, dtype=np.int64)
        t = (np.asarray(exp.exposed, dtype=np.float64) > 0.5).astype(np.float64)
        n = len(t)
        rng = np.random.default_rng(int(self.random_state))
        n_hold = int(round(float(self.holdout) * n)) if n >= 20 else 0
        perm = rng.permutation(n)
        hold, fit_rows = np.sort(perm[:n_hold]), np.sort(perm[n_hold:])
        l2 = float(self.l2)
        report: dict[str, Any] = {"n": n, "n_fit": int(len(fit_rows)), "n_holdout": int(n_hold),
                                  "exposure_rate": float(t.mean()), "covariates": source}
        if n_hold and len(np.unique(t[fit_rows])) == 2:
            self._fit_scale(users[fit_rows], items[fit_rows])
            beta, _, _ = ridge_logistic(self._design(users[fit_rows], items[fit_rows]), t[fit_rows], l2)
            p = 1.0 / (1.0 + np.exp(-np.clip(self._design(users[hold], items[hold]) @ beta, -30, 30)))
            report.update(_summary(t[hold], p))
        # the final model: every row
        self._fit_scale(users, items)
        A = self._design(users, items)
        if len(np.unique(t)) == 2:
            beta, iters, converged = ridge_logistic(A, t, l2)
        else:
            beta, iters, converged = np.zeros(A.shape[1]), 0, True
            beta[0] = 30.0 if t.mean() > 0.5 else -30.0
            report["note"] = "every exposure row has the same exposed value: the propensity is constant."
        self._beta = beta
        self.intercept_ = float(beta[0])
        self.coef_ = {nm: float(b) for nm, b in zip(self.design_columns_, beta[1:], strict=True)}
        report.update({"iterations": iters, "converged": bool(converged)})
        self.fit_report_ = report
        raw = 1.0 / (1.0 + np.exp(-np.clip(A @ beta, -30, 30)))
        self.clip_report_ = clip_counts(raw, lo, hi)
        self.n_users_, self.n_items_ = data.n_users, data.n_items
        return self

    def predict(self, users: Any, items: Any, *, clipped: bool = True) -> np.ndarray:
        """P(exposed) per (user, item) index pair, clipped to ``clip`` (unless ``clipped=False``)."""
        if "_beta" not in self.__dict__:
            raise NotFittedError("ExposurePropensity is not fitted yet: call fit(data) first.")
        u = np.asarray(users, dtype=np.int64).reshape(-1)
        i = np.asarray(items, dtype=np.int64).reshape(-1)
        if len(u) != len(i):
            raise ParameterError(f"users and items must have one length; got {len(u)} and {len(i)}.")
        if len(u) and (u.min() < 0 or u.max() >= self.n_users_):
            raise out_of_range("users", int(u.max() if u.max() >= self.n_users_ else u.min()),
                               f"indexes in 0..{self.n_users_ - 1}")
        if len(i) and (i.min() < 0 or i.max() >= self.n_items_):
            raise out_of_range("items", int(i.max() if i.max() >= self.n_items_ else i.min()),
                               f"indexes in 0..{self.n_items_ - 1}")
        p = 1.0 / (1.0 + np.exp(-np.clip(self._design(u, i) @ self._beta, -30, 30)))
        if not clipped:
            return p
        lo, hi = (float(x) for x in self.clip)
        return np.clip(p, lo, hi)

    def summary(self) -> dict:
        """A JSON-friendly description of the fitted model (features, coefficients, reports)."""
        return {"features": list(self.features_), "intercept": self.intercept_, "coef": dict(self.coef_),
                "fit_report": dict(self.fit_report_), "clip_report": dict(self.clip_report_),
                "covariates": self.covariate_source_}


def _summary(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict:
    """AUC, Brier score, log loss and calibration (by deciles of the prediction) of ``p`` for 0/1 ``y``."""
    eps = 1e-12
    order = np.argsort(p, kind="stable")
    groups = np.array_split(order, min(bins, max(len(p), 1)))
    table, ece = [], 0.0
    for g in groups:
        if len(g) == 0:
            continue
        mp, ob = float(p[g].mean()), float(y[g].mean())
        table.append({"n": int(len(g)), "mean_predicted": mp, "observed": ob})
        ece += len(g) / len(p) * abs(mp - ob)
    return {"holdout_auc": auc_score(y, p), "holdout_brier": float(np.mean((p - y) ** 2)),
            "holdout_log_loss": float(-np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))),
            "holdout_ece": float(ece), "holdout_mean_predicted": float(p.mean()),
            "holdout_exposure_rate": float(y.mean()), "calibration": table}


def fit_graph_propensity(data: RecData, features: Any, clip: tuple[float, float],
                         random_state: int = 0) -> ExposurePropensity:
    """The ``propensity='graph'`` source of the causal log models: an :class:`ExposurePropensity` on
    ``features`` (the graph's adjustment set) fitted to ``data``, with errors that say what to pass."""
    if features is None:
        raise ParameterError("propensity='graph' needs propensity_features: pass the graph's adjustment set for "
                             "exposure -> purchase as covariate names (features_from_graph(graph, data) in "
                             "causalrec_core.models.exposure gives them), e.g. ['item_popularity', 'user_activity'].")
    if data.exposures is None or len(data.exposures) == 0:
        raise DataError("propensity='graph' learns P(exposed | covariates) from the logged exposures "
                        "(data.exposures), and this dataset has none; use propensity='popularity'.")
    return ExposurePropensity(features=features, clip=clip, random_state=random_state).fit(data)
