"""The Effects page's cached computations: each one rebuilds its inputs from the (cached) unit table,
keyed by the dataset id and revision and by every parameter, and calls the core once.

Nothing here draws: ``pages/effects.py`` reads the widgets, calls these and shows the results.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from causalrec_core.effects.run import Design, accepts_propensity, estimate_ate, explain_failure, prepare_design
from causalrec_core.effects.units import pair_units, segment_labels, simulator_units
from causalrec_core.errors import EstimationError, ParameterError
from ui.state import get_store

#: Units used by the ATE estimators, diagnostics and refuters (a seeded subsample above it).
MAX_ROWS = 200_000
#: Units the refuters refit on (each refuter refits several times).
MAX_REFUTE_ROWS = 60_000
#: Units a meta-learner is fitted on (gradient-boosted base learners are slow), and Qini units.
MAX_CATE_FIT = 20_000
MAX_CATE_EVAL = 50_000
PROPENSITY_COLUMN = "propensity"
#: The simulator's truth.json keys: (treatment, outcome) -> (overall ATE key, ATE-by-segment key).
TRUTH_KEYS = {("exposed", "purchased"): ("ate_exposure_purchase", "ate_by_segment"),
              ("exposed", "viewed"): ("ate_exposure_view", "ate_exposure_view_by_segment")}


@st.cache_data(show_spinner="Building the unit table…", max_entries=4)
def unit_table(root: str, dataset_id: int, revision: int) -> tuple[pd.DataFrame, str]:
    """The dataset's unit table: the simulator's pairs when present, else pairs from interactions."""
    store = get_store()
    ds = store.get_dataset(dataset_id)
    if "pairs" in ds.tables:
        return simulator_units(store.load_table(dataset_id, "pairs")), "pairs (simulator: every user × candidate item)"
    users = store.load_table(dataset_id, "users") if "users" in ds.tables else None
    items = store.load_table(dataset_id, "items") if "items" in ds.tables else None
    return pair_units(store.load_table(dataset_id, "interactions"), users, items), "interactions (user × item pairs)"


def truth(ds: Any) -> dict:
    """The dataset's simulator truth (``truth.json``), or {} when it has none or it is unreadable."""
    path = ds.path / "truth.json"
    if not path.is_file():
        return {}
    try:
        out = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return out if isinstance(out, dict) else {}


def true_ate(truth_: dict, treatment: str, outcome: str) -> float | None:
    """The simulator's true ATE of ``treatment`` on ``outcome`` when it records one."""
    key = TRUTH_KEYS.get((treatment, outcome))
    value = truth_.get(key[0]) if key else None
    return float(value) if isinstance(value, (int, float)) else None


def true_ate_by_segment(truth_: dict, treatment: str, outcome: str, segment_col: str) -> dict[str, float]:
    """The simulator's true ATE per user segment ({} unless the column is the simulator's ``segment``)."""
    key = TRUTH_KEYS.get((treatment, outcome))
    values = truth_.get(key[1]) if key and segment_col == "segment" else None
    if not isinstance(values, dict):
        return {}
    return {str(k): float(v) for k, v in values.items() if isinstance(v, (int, float))}


def design(units: pd.DataFrame, treatment: str, outcome: str, covariates: tuple[str, ...], use_logged: bool,
           seed: int, max_rows: int = MAX_ROWS, extra: tuple[str, ...] = ()) -> Design:
    """:func:`causalrec_core.effects.run.prepare_design` with the page's settings: the logged
    propensity column when asked, skewed pair covariates on the log scale, at most ``max_rows`` rows."""
    return prepare_design(units, treatment, outcome, covariates, propensity_column=PROPENSITY_COLUMN if use_logged
                          else None, seed=seed, max_rows=max_rows, extra=extra, log_skewed_covariates=True)


@st.cache_data(show_spinner=False, max_entries=16)
def estimate(root: str, dataset_id: int, revision: int, treatment: str, outcome: str, covariates: tuple[str, ...],
             methods: tuple[str, ...], use_logged: bool, seed: int) -> dict:
    """:func:`causalrec_core.effects.run.estimate_ate` on the unit table: every chosen estimator's
    result (dicts) and the notes (the same function and numbers as ``causalrec effect``)."""
    units, _ = unit_table(root, dataset_id, revision)
    return estimate_ate(units, treatment, outcome, covariates, methods,
                        propensity_column=PROPENSITY_COLUMN if use_logged else None, seed=seed, max_rows=MAX_ROWS,
                        log_skewed_covariates=True)


@st.cache_data(show_spinner=False, max_entries=16)
def diagnostics(root: str, dataset_id: int, revision: int, treatment: str, outcome: str, covariates: tuple[str, ...],
                use_logged: bool, seed: int, trim: float) -> tuple[Any, list[str]]:
    """:func:`causalrec_core.effects.diagnostics.diagnose` of the design, and the design's notes."""
    from causalrec_core.effects.diagnostics import diagnose

    units, _ = unit_table(root, dataset_id, revision)
    d = design(units, treatment, outcome, covariates, use_logged, seed)
    return diagnose(d.X, d.t, propensity=d.e, trim=trim), d.notes


@st.cache_data(show_spinner=False, max_entries=8)
def refutations(root: str, dataset_id: int, revision: int, treatment: str, outcome: str, covariates: tuple[str, ...],
                method: str, use_logged: bool, seed: int, n_sims: int, strength: float) -> tuple[list[dict], list[str]]:
    """Every refuter of :func:`causalrec_core.effects.refute.refute_all` on ``method``."""
    from causalrec_core.effects.estimators import make_estimator
    from causalrec_core.effects.refute import refute_all

    units, _ = unit_table(root, dataset_id, revision)
    d = design(units, treatment, outcome, covariates, use_logged, seed, max_rows=MAX_REFUTE_ROWS)
    known = d.e is not None and accepts_propensity(make_estimator(method, seed=seed))
    try:
        rows = refute_all(lambda: make_estimator(method, seed=seed), d.X, d.t, d.y, seed=seed, n_sims=n_sims,
                          propensity=d.e if known else None, strength_t=strength, strength_y=strength)
    except EstimationError as e:  # say which estimator failed and why, in the words of the Estimate table
        raise EstimationError(f"{method} could not be fitted: {explain_failure(method, e, d, treatment, outcome)}"
                              ) from e
    notes = list(d.notes)
    if known:
        notes.append("The refits use the logged propensity (placebo and simulated-confounder refits do not: it "
                     "does not describe a permuted treatment or a new confounder).")
    return rows, notes


@st.cache_data(show_spinner=False, max_entries=8)
def heterogeneity(root: str, dataset_id: int, revision: int, treatment: str, outcome: str,
                  covariates: tuple[str, ...], segment_col: str, learner: str, use_logged: bool, seed: int) -> dict:
    """:func:`causalrec_core.effects.cate.segment_report` of the design, with its notes."""
    from causalrec_core.effects.cate import segment_report

    units, _ = unit_table(root, dataset_id, revision)
    d = design(units, treatment, outcome, covariates, use_logged, seed, extra=(segment_col,))
    if d.X.shape[1] == 0:
        raise ParameterError("effects by segment need at least one covariate for the learner to model.")
    out = segment_report(learner, d.X, d.t, d.y, segment_labels(d.rows[segment_col]), propensity=d.e,
                         max_fit=MAX_CATE_FIT, max_eval=MAX_CATE_EVAL, seed=seed)
    out["ate"] = out["ate"].to_dict()
    out["notes"] = d.notes + out["notes"]
    return out


def graph_roles_caption(graph_name: str, roles: dict[str, str | None], units: pd.DataFrame,
                        defaults: dict[str, str]) -> str:
    """What the saved graph's treatment and outcome nodes made the default choices, naming only the
    defaults really used: a role whose column cannot be used (e.g. ``exposed`` is 1 for every unit)
    says why and which column is the default instead."""
    from causalrec_core.effects.units import treatment_problem

    used, unusable = [], []
    for role in ("treatment", "outcome"):
        col, default = roles.get(role), defaults[role]
        if col is None:
            used.append(f"{role} {default} (no node of the graph is bound to a column for it)")
        elif col == default:
            used.append(f"{role} {col}")
        else:
            why = (treatment_problem(units[col], col) if col in units.columns else
                   f"{col} is not a column of the unit table")
            if role == "outcome" and why:
                why = why.replace("a treatment", "an outcome")
            why = why or f"{col} is the treatment"
            unusable.append(f"its {role} {col} cannot be used: {why}; the {role} defaults to {default}")
    return (f"Defaults from the saved graph '{graph_name}' (node roles and column bindings): "
            + "; ".join(used + unusable) + ". Choose others to override.")


def refute_choices(methods: list[str] | tuple[str, ...], last_run: dict | None) -> list[str]:
    """The estimators offered for refutation: the chosen ones other than naive (which adjusts for
    nothing), less those that failed in ``last_run`` (the page's last Estimate for the same treatment
    and outcome); every adjusting estimator that did not fail when that leaves none."""
    from causalrec_core.effects.estimators import ESTIMATORS

    failed = {e["method"] for e in (last_run or {}).get("errors", [])}
    chosen = [m for m in methods if m in ESTIMATORS and m != "naive" and m not in failed]
    return chosen or [m for m in ESTIMATORS if m != "naive" and m not in failed] or \
        [m for m in ESTIMATORS if m != "naive"]


def segment_figure(by_segment: pd.DataFrame, title: str, truth_: dict[str, float] | None = None) -> Any:
    """:func:`ui.charts.segment_effects` with the segment labels as categories (labels such as 0 / 1
    are names of segments, not positions on a number line)."""
    from ui import charts

    fig = charts.segment_effects(by_segment, title, truth_)
    fig.update_xaxes(type="category", categoryorder="array",
                     categoryarray=[charts.plot_text(str(s)) for s in by_segment["segment"]])
    return fig


def learner_ate_caption(het: dict) -> str:
    """What the meta-learner's overall ATE is and on which units (a subsample only when it is one)."""
    ate, n_fit, n_total = het["ate"], het["n_fit"], het.get("n_total", het["n_fit"])
    units = (f"a random subsample of {n_fit:,} of the {n_total:,} units, so it can differ from the ATE table above"
             if n_fit < n_total else f"all {n_fit:,} units")
    return (f"The learner's overall ATE ({units}): {ate['estimate']:.4f} "
            f"(95% CI {ate['ci_low']:.4f} to {ate['ci_high']:.4f}).")


# ---------------------------------------------------------------- wording of the results

def truth_summary(results: list[dict], truth_ate: float | None) -> list[str]:
    """One line per estimate: how far it is from the simulator's true ATE and whether its interval
    covers it (nothing when there is no truth)."""
    if truth_ate is None:
        return []
    out = []
    for r in results:
        gap = r["estimate"] - truth_ate
        covers = r["ci_low"] <= truth_ate <= r["ci_high"]
        what = "unadjusted difference in means" if r["method"] == "naive" else "adjusted"
        out.append(f"{r['method']} ({what}): {r['estimate']:.4f}, {abs(gap):.4f} {'above' if gap > 0 else 'below'} "
                   f"the true ATE {truth_ate:.4f}; its {r['level']:.0%} interval ({r['ci_low']:.4f} to "
                   f"{r['ci_high']:.4f}) " + ("covers the truth." if covers else
                                              "excludes the truth: this estimate is biased here."))
    return out


def segment_summary(by_segment: pd.DataFrame) -> str:
    """Which segment has the largest estimated effect, and whether the intervals separate it from the
    others. Flagged segments (``flag``, :func:`causalrec_core.effects.cate.flag_segments`) are listed
    with their reason and never ranked."""
    if by_segment.empty:
        return ""
    flagged = by_segment[by_segment["flag"].astype(bool)] if "flag" in by_segment else by_segment.iloc[:0]
    warn = "".join(f" Segment {s} ({m:.4f}) is flagged: {f}." for s, m, f in
                   zip(flagged["segment"], flagged["mean"], flagged["flag"], strict=True))
    by = by_segment.drop(index=flagged.index).sort_values("mean", ascending=False)
    if by.empty:
        return "No segment has a credible estimate." + warn
    top = by.iloc[0]
    ranking = " > ".join(f"{s} ({m:.4f})" for s, m in zip(by["segment"], by["mean"], strict=True))
    if len(by) == 1:
        return f"One segment{' without a flag' if warn else ''}: {top['segment']} ({top['mean']:.4f})." + warn
    others = by.iloc[1:]
    separated = bool((top["ci_low"] > others["ci_high"]).all())
    return (f"Estimated gain by segment, largest first{' (flagged segments left out)' if warn else ''}: {ranking}. "
            + (f"{top['segment']}'s interval lies above every other segment's: it gains most."
               if separated else
               f"{top['segment']} has the largest estimate, but the intervals overlap, so the data do not "
               "establish which segment gains most.") + warn)


# ---------------------------------------------------------------- widget values across pages

_KEEP = "_effects_keep_"


def seed_widget(key: str, default: Any, valid: Any = None) -> None:
    """Before the widget ``key`` is drawn: keep its current value when valid, else the value it had
    when the page was last shown (Streamlit drops a widget's state once another page is open) unless
    that was just the default of then, else ``default`` (which may have changed, e.g. a newly saved
    graph). Draw the widget without a default value (the session state holds it)."""
    ok = valid if valid is not None else (lambda _v: True)
    ss = st.session_state
    old_default, ss[_KEEP + key + ":default"] = ss.get(_KEEP + key + ":default"), default
    if key in ss and ok(ss[key]):
        return
    kept = ss.get(_KEEP + key)
    if kept is None or not ok(kept) or kept == old_default:  # never chosen: follow the (maybe new) default
        kept = default
    ss[key] = kept


def remember_widgets(*keys: str) -> None:
    """Remember the current values of these widgets for the next visit (see :func:`seed_widget`)."""
    ss = st.session_state
    for key in keys:
        if key in ss:
            ss[_KEEP + key] = ss[key]
