"""Effects: estimate the average treatment effect (ATE) of a binary treatment on a binary outcome
with several estimators, compare them on a forest plot (against the simulator's true ATE when the
dataset has one), check the assumptions (overlap, balance, effective sample size), refute the
estimate, look at effects by segment, and save each run.

All the estimation is done by the core (``causalrec_core.effects``) through the cached wrappers of
``ui.effects_view``; this page only gathers the choices, calls them and shows the results.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import streamlit as st

from causalrec_core.data.profile import readable_utc
from causalrec_core.effects.cate import CATE_LEARNERS
from causalrec_core.effects.diagnostics import SMD_THRESHOLD
from causalrec_core.effects.estimators import ESTIMATORS
from causalrec_core.effects.refute import REFUTATION_COLUMNS, refutation_table
from causalrec_core.effects.units import (
    NotAdjustableError,
    covariates_from_graph,
    detect_kind,
    node_for_column,
    roles_from_graph,
    segment_options,
)
from causalrec_core.errors import ParameterError
from causalrec_core.graph import model
from ui import charts
from ui import effects_view as ev
from ui.common import dataset_picker, flash, md, user_errors
from ui.state import get_state, get_store

store = get_store()
state = get_state()
ss = st.session_state
RESULT = "effects_result"
REFUTE = "effects_refutations"
HETERO = "effects_heterogeneity"
DEFAULT_METHODS = ("naive", "ipw", "aipw")
ESTIMAND_TEXT = "ATE: average effect of the treatment on the outcome over all units"
LEARNER_LABELS = {"s_learner": "S-learner", "t_learner": "T-learner", "x_learner": "X-learner",
                  "dr_learner": "DR-learner"}
# The simulator's ground-truth columns (potential-outcome probabilities, uplift) are answers, not
# covariates, and `position` exists only for shown items (it comes after exposure): never offered.
NOT_COVARIATES = {"user_id", "item_id", "position", "uplift", "p_view_treated", "p_view_control",
                  "p_purchase_treated", "p_purchase_control"}


def _binary_columns(data: pd.DataFrame) -> list[str]:
    out = []
    for col in data.columns:
        try:
            if detect_kind(data[col]) == "binary":
                out.append(str(col))
        except ParameterError:
            continue
    return out


st.title("Effects")
flash()
if state.project_id is None:
    st.info("Open or create a project on the Home page first.")
    st.stop()
project = store.get_project(state.project_id)
def _clear_results() -> None:
    for key in (RESULT, REFUTE, HETERO):
        ss.pop(key, None)


ds = dataset_picker(store, project.id, state, key="effects_dataset_picker", on_pick=_clear_results)
if ds is None:
    st.info("This project has no dataset yet: import one on the Data page.")
    st.stop()
root = str(store.root)
st.caption(f"Project: {md(project.name)}. Each estimator estimates the ATE, the average change in the outcome if "
           "every unit were treated rather than none, adjusting for the chosen covariates.")
if "pairs" not in ds.tables and "interactions" not in ds.tables:
    st.info("Effect estimation needs a dataset with a pairs or an interactions table; import one on the Data page.")
    st.stop()

units = None
with user_errors("Building the unit table"):
    units, unit_source = ev.unit_table(root, ds.id, ds.revision)
if units is None:
    st.stop()
binary = _binary_columns(units)
if len(binary) < 2:
    st.info("The unit table needs at least two binary (0/1) columns: a treatment and an outcome.")
    st.stop()
st.caption(md(f"Units: {unit_source}, {len(units):,} rows."))
cols = [str(c) for c in units.columns]
truth = ev.truth(ds)

# ---------------------------------------------------------------- the saved graph: roles and adjustment set
graph, graph_name = None, None
graphs = store.list_objects(project.id, "graph")
if graphs:
    latest = max(graphs, key=lambda o: (o.created_at, o.id))
    with user_errors(f"Reading the saved graph '{latest.name}'"):
        graph = model.from_dict(store.load_object(project.id, "graph", latest.name).payload)
        graph_name = latest.name
roles = roles_from_graph(graph, cols) if graph is not None else {"treatment": None, "outcome": None}


def _default(options: list[str], *preferred: str | None) -> int:
    return next((options.index(p) for p in preferred if p in options), 0)


c1, c2 = st.columns(2)
t_default = binary[_default(binary, roles["treatment"], "exposed")]
ev.seed_widget("effects_treatment", t_default, lambda v: v in binary)
treatment = c1.selectbox("Treatment (binary)", binary, key="effects_treatment")
outcomes = [c for c in binary if c != treatment]
y_default = outcomes[_default(outcomes, roles["outcome"], "purchased")]
ev.seed_widget("effects_outcome", y_default, lambda v: v in outcomes)
outcome = c2.selectbox("Outcome (binary)", outcomes, key="effects_outcome")
if graph is not None and (roles["treatment"] or roles["outcome"]):
    st.caption(md(ev.graph_roles_caption(graph_name, roles, units, {"treatment": t_default, "outcome": y_default})))

has_logged = ev.PROPENSITY_COLUMN in cols
candidates = [c for c in cols if c not in (treatment, outcome) and c not in NOT_COVARIATES]
graph_choice = None
if graph is not None:
    try:
        graph_choice = covariates_from_graph(graph, node_for_column(graph, treatment, cols),
                                             node_for_column(graph, outcome, cols, param="outcome"), cols)
    except Exception:  # noqa: BLE001 - reported with its message below, where the set is checked
        graph_choice = None
default_covs = ([c for c in graph_choice.covariates if c in candidates]
                if graph_choice is not None and graph_choice.covariates else
                [c for c in ("user_activity", "item_popularity") if c in candidates])
ev.seed_widget("effects_covariates", default_covs, lambda v: all(c in candidates for c in v))
covariates = st.multiselect("Covariates (the adjustment set)", candidates, key="effects_covariates")

if graph is not None:
    with user_errors(f"Reading the adjustment set of the saved graph '{graph_name}'"):
        try:
            choice = covariates_from_graph(graph, node_for_column(graph, treatment, cols),
                                           node_for_column(graph, outcome, cols, param="outcome"), cols,
                                           chosen=covariates)
        except NotAdjustableError as e:  # the graph's finding, not a failure: the estimates rest on the covariates
            st.warning(md(f"The saved graph '{graph_name}' gives no adjustment set here: {e} The estimates below "
                          "assume that the chosen covariates remove all confounding, which this graph disputes."))
        else:
            st.caption(md(f"The saved graph '{graph_name}' implies the {choice.source} adjustment set: "
                          + (", ".join(choice.covariates) or "(empty)") + "."))
            for w in choice.warnings:
                st.warning(md(w))

c1, c2 = st.columns([3, 1])
ev.seed_widget("effects_methods", list(DEFAULT_METHODS), lambda v: all(m in ESTIMATORS for m in v))
methods = c1.multiselect("Estimators", list(ESTIMATORS), key="effects_methods")
ev.seed_widget("effects_seed", 0)
seed = int(c2.number_input("Seed", 0, 2**31 - 1, step=1, key="effects_seed",
                           help="Seeds every random step: subsamples, cross-fitting folds, bootstraps, refuters."))
use_logged = False
if has_logged:
    ev.seed_widget("effects_use_logged", True)
    use_logged = st.checkbox("Use the logged propensity (column 'propensity')", key="effects_use_logged",
                             help="The unit table has a logged propensity column (the logging policy's probability "
                                  "of showing the item). IPW and AIPW then use it as the known propensity instead "
                                  "of fitting a propensity model; so do the diagnostics and the meta-learners.")
cov_key = tuple(covariates)
assume_prop = ("IPW/AIPW use the logged propensity (column 'propensity') as the known treatment probability: this "
               "assumes it is the probability with which the logging policy really assigned the treatment."
               if use_logged else "IPW/AIPW fit a logistic propensity model on the covariates.")

if st.button("Estimate", key="effects_estimate", type="primary"):
    with user_errors("Estimating the effect"), st.spinner("Estimating…"):
        if not methods:
            raise ParameterError("choose at least one estimator.")
        out = ev.estimate(root, ds.id, ds.revision, treatment, outcome, cov_key, tuple(methods), use_logged, seed)
        run = {"dataset_id": ds.id, "dataset": ds.name, "units": unit_source, "treatment": treatment,
               "outcome": outcome, "covariates": list(covariates), "seed": seed, "notes": out["notes"],
               "use_logged_propensity": use_logged, "propensity_assumption": assume_prop,
               "truth_ate": ev.true_ate(truth, treatment, outcome), "results": out["results"],
               "errors": out["errors"],
               "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        saved = store.save_object(project.id, "effect_run", f"{treatment}_on_{outcome}", run)
        ss[RESULT] = run
        st.success(md(f"Saved as effect run '{saved.name}' (version {saved.version})."))

run = ss.get(RESULT)
if run and run.get("dataset_id") == ds.id:
    label = f"ATE of {run['treatment']} on {run['outcome']}"
    st.subheader(md(label))
    for note in run["notes"]:
        st.caption(md(note))
    for failed in run.get("errors", []):
        st.warning(md(f"{failed['method']} could not be estimated: {failed['error']}"))
    res = run["results"]
    st.plotly_chart(charts.forest_plot(res, label, run["outcome"], run.get("truth_ate")), key="effects_forest")
    truth_ate = run.get("truth_ate")
    table = pd.DataFrame([{
        "estimator": r["method"],
        "adjusted for": "nothing (unadjusted)" if r["method"] == "naive" else (", ".join(run["covariates"]) or "nothing"),
        "estimate": r["estimate"],
        f"CI low ({r['level']:.0%})": r["ci_low"], f"CI high ({r['level']:.0%})": r["ci_high"],
        "SE": r["se"], **({"estimate − true ATE": r["estimate"] - truth_ate,
                           "CI covers truth": bool(r["ci_low"] <= truth_ate <= r["ci_high"])}
                          if truth_ate is not None else {}),
        "CI method": r["ci_method"], "propensity": r.get("propensity", ""), "n": r["n"]}
        for r in res])
    num = st.column_config.NumberColumn(format="%.4f")
    st.dataframe(table, hide_index=True, width="stretch", key="effects_table",
                 column_config={c: num for c in table.columns
                                if c in ("estimate", "SE", "estimate − true ATE") or c.startswith("CI low")
                                or c.startswith("CI high")})
    st.caption(md(ESTIMAND_TEXT + (f"; the simulator's true ATE is {truth_ate:.4f}." if truth_ate is not None
                                   else ".")))
    lines = ev.truth_summary(res, truth_ate)
    if lines:
        st.markdown("\n".join("- " + md(line) for line in lines))
    st.markdown("**Assumptions of each estimate**")
    for r in res:
        with st.expander(md(f"{r['method']}: ATE {r['estimate']:.4f}"), expanded=False):
            st.markdown(md(f"Adjustment set: {', '.join(run['covariates']) or '(none)'}. Estimator: {r['method']}. "
                           f"Units: {r['n']:,}. Propensity: {r.get('propensity', 'n/a')}."))
            for a in r["assumptions"]:
                st.markdown("- " + md(a))
            for n in r["notes"]:
                st.caption(md(n))
    st.caption(md(run.get("propensity_assumption", "")))

# ---------------------------------------------------------------- diagnostics
st.subheader("Diagnostics: overlap, balance, effective sample size")
st.caption(md("Checks of the assumptions behind the adjusted estimates (positivity / overlap, and whether "
              "weighting balances the covariates). " + (
                  "Propensity: the logged one." if use_logged else
                  "Propensity: a logistic regression of the treatment on the covariates.")))
TRIMS = [0.01, 0.02, 0.05, 0.1]
ev.seed_widget("effects_trim", 0.01, lambda v: v in TRIMS)
trim = float(st.select_slider("Trimming threshold", options=TRIMS, key="effects_trim",
                              help="Trimming drops units with a propensity below a or above 1 − a."))
with user_errors("Computing the diagnostics"):
    if not covariates and not use_logged:
        st.info("Choose covariates (or use the logged propensity) to see the propensity diagnostics.")
    else:
        diag, _ = ev.diagnostics(root, ds.id, ds.revision, treatment, outcome, cov_key, use_logged, seed, trim)
        for warning in diag.warnings:
            st.warning(md(warning))
        st.plotly_chart(charts.propensity_overlap(diag.overlap.histogram, source=diag.propensity_source, trim=trim,
                                                  n_trimmed=diag.n_trimmed, n=diag.n), key="effects_overlap")
        if len(diag.balance):
            st.plotly_chart(charts.covariate_balance(diag.balance, SMD_THRESHOLD), key="effects_balance")
        m1, m2, m3 = st.columns(3)
        m1.metric("Effective sample size (ATE weights)", f"{diag.ess:,.0f}", help=f"Kish's ESS of the inverse-"
                  f"propensity weights, of {diag.n:,} units: how many equally weighted units they are worth.")
        m2.metric("ESS treated", f"{diag.ess_treated:,.0f}", help=f"of {diag.n_treated:,} treated units")
        m3.metric("Units trimming would remove", f"{diag.n_trimmed:,}",
                  help=f"propensity < {trim:g} or > {1 - trim:g}")
        for line in diag.summary():
            st.caption(md(line))

# ---------------------------------------------------------------- refutation
st.subheader("Refutation and sensitivity")
st.caption(md("Each check refits the estimator on altered data (several seconds; the time grows with the refits "
              "per refuter): a placebo treatment, an added random "
              "common cause, random subsets, a simulated unobserved confounder, and the E-value. 'pass' means the "
              "check found no sign of a problem (it cannot prove the estimate right); 'warn' means look closer; "
              "'fail' means the check contradicts the estimate's conclusion. On "
              f"more than {ev.MAX_REFUTE_ROWS:,} units the refits use a seeded random subsample of that size, so "
              "their 'original estimate' (the estimator on that subsample) can differ a little from the table above."))
c1, c2, c3 = st.columns(3)
last = ss.get(RESULT)
refute_methods = ev.refute_choices(methods, last if last and last.get("dataset_id") == ds.id
                                   and (last["treatment"], last["outcome"]) == (treatment, outcome) else None)
ev.seed_widget("effects_refute_method", refute_methods[_default(refute_methods, "aipw")],
               lambda v: v in refute_methods)
refute_method = c1.selectbox("Estimator to refute", refute_methods, key="effects_refute_method",
                             help="The chosen estimators other than naive that did not fail in the last Estimate "
                                  "(all of them when none is chosen).")
# 19 placebo refits make the smallest attainable permutation p-value 1/(19 + 1) = 0.05
ev.seed_widget("effects_refute_sims", 19)
n_sims = int(c2.number_input("Refits per refuter", 1, 20, key="effects_refute_sims",
                             help="Refits of the placebo and subset checks (half as many for the random common "
                                  "cause). The placebo check's permutation p-value cannot go below "
                                  "1 / (refits + 1): 0.05 with 19 refits, 0.25 with 3."))
c2.caption(md(f"Smallest attainable placebo p-value: 1/({n_sims} + 1) = {1 / (n_sims + 1):.3g}."))
ev.seed_widget("effects_refute_strength", 0.5)
strength = float(c3.number_input("Simulated confounder strength", 0.0, 2.0, step=0.1,
                                 key="effects_refute_strength",
                                 help="Association of the simulated confounder with treatment and outcome."))
refute_key = (ds.id, ds.revision, treatment, outcome, cov_key, refute_method, use_logged, seed, n_sims, strength)
if st.button("Run refutation checks", key="effects_refute"):
    with user_errors(f"Running the refutation checks of {refute_method}"), st.spinner("Refitting…"):
        rows, notes = ev.refutations(root, ds.id, ds.revision, treatment, outcome, cov_key, refute_method,
                                     use_logged, seed, n_sims, strength)
        ss[REFUTE] = {"key": refute_key, "rows": rows, "notes": notes}
ref = ss.get(REFUTE)
if ref and ref["key"] == refute_key:
    table = refutation_table(ref["rows"])
    fmt = {"original estimate": "%.4f", "new estimate": "%.4f", "E-value": "%.3f", "E-value (CI)": "%.3f",
           "p-value": "%.3g"}
    st.dataframe(table.drop(columns=["verdict"]), hide_index=True, width="stretch", key="effects_refute_table",
                 column_config={c: st.column_config.NumberColumn(format=f, help=REFUTATION_COLUMNS[c])
                                for c, f in fmt.items()})
    n_pass = int((table["status"] == "pass").sum())
    st.markdown(f"**{n_pass} of {len(table)} checks pass**"
                + ("." if n_pass == len(table) else "; look closer at: "
                   + md(", ".join(table.loc[table["status"] != "pass", "refuter"])) + "."))
    st.markdown("\n".join(f"- **{md(r['refuter'])}** ({md(r['status'])}): {md(r['verdict'])}"
                          for _, r in table.iterrows()))
    st.caption(md(f"Estimator: {refute_method}, ATE of {treatment} on {outcome}, adjusted for "
                  f"{', '.join(covariates) or '(nothing)'}. 'original estimate' and 'new estimate' are ATEs (before "
                  "and after the alteration; the mean over the refits where there are several). 'E-value' is not an "
                  "ATE but a risk ratio: how strongly an unmeasured confounder would need to be associated with both "
                  "treatment and outcome to explain the estimate away ('E-value (CI)': to make the interval include "
                  "no effect). 'p-value' is the placebo check's permutation p-value (at least "
                  f"1/({ref['rows'][0].get('n_sims', n_sims)} + 1) with its refits). Seed " + str(seed) + "."))
    for note in ref["notes"]:
        st.caption(md(note))
elif ref:
    st.caption("The choices changed since the last refutation run: press the button to rerun.")

# ---------------------------------------------------------------- heterogeneous effects
st.subheader("Heterogeneous effects")
seg_flags = dict(segment_options(units, treatment, outcome))
seg_options = list(seg_flags)
if not seg_options:
    st.info("The unit table has no column to split units into segments (text, integers with 2–20 values, or "
            "numbers split into quartiles) other than the treatment and the outcome.")
else:
    c1, c2 = st.columns(2)
    pre_options = [c for c in seg_options if not seg_flags[c]] or seg_options
    ev.seed_widget("effects_segment", pre_options[_default(pre_options, "segment")], lambda v: v in seg_options)
    segment_col = c1.selectbox("Segment column", seg_options, key="effects_segment",
                               format_func=lambda c: f"{c} ({seg_flags[c]})" if seg_flags[c] else c,
                               help="Pre-treatment columns first; numbers with many values are split into quartiles.")
    if seg_flags[segment_col]:
        st.warning(md(f"{segment_col} is {seg_flags[segment_col]}: {treatment} can change it, so its segments "
                      "compare different kinds of units, not the same units with and without the treatment."))
    learners = list(CATE_LEARNERS)
    ev.seed_widget("effects_learner", learners[_default(learners, "dr_learner")], lambda v: v in learners)
    learner = c2.selectbox("Meta-learner", learners, key="effects_learner",
                           format_func=lambda k: LEARNER_LABELS.get(k, k))
    st.caption(md(f"The learner (gradient-boosted base models) is fitted on at most {ev.MAX_CATE_FIT:,} randomly "
                  f"chosen units (seed {seed}) so that it runs in seconds; each segment's effect is the mean of its "
                  "cross-fitted doubly robust scores, with a 95% interval. It estimates the segment's ATE "
                  "(conditional on the segment) under the same assumptions as AIPW: no unmeasured confounding "
                  "given the covariates, overlap, no interference. The doubly robust scores come from the same "
                  "cross-fitted outcome and propensity models whichever meta-learner is chosen, so the segment ATEs "
                  "agree across learners; the learners differ in their per-unit effects ('mean model CATE') and "
                  "so in the Qini ranking."))
    hetero_key = (ds.id, ds.revision, treatment, outcome, cov_key, segment_col, learner, use_logged, seed)
    if st.button("Estimate effects by segment", key="effects_hetero"):
        with user_errors("Estimating the effects by segment"), st.spinner("Fitting the meta-learner…"):
            out = ev.heterogeneity(root, ds.id, ds.revision, treatment, outcome, cov_key, segment_col, learner,
                                   use_logged, seed)
            ss[HETERO] = {"key": hetero_key, **out}
    het = ss.get(HETERO)
    if het and het["key"] == hetero_key:
        seg_truth = ev.true_ate_by_segment(truth, treatment, outcome, segment_col)
        by = het["by_segment"]
        title = f"ATE of {treatment} on {outcome} by {segment_col} ({LEARNER_LABELS.get(learner, learner)})"
        st.plotly_chart(ev.segment_figure(by, title, seg_truth), key="effects_segment_chart")
        shown = by.rename(columns={"mean": "ATE estimate", "ci_low": "CI low (95%)", "ci_high": "CI high (95%)",
                                   "se": "SE", "mean_cate": "mean model CATE", "n_treated": "n treated",
                                   "n_control": "n control"})
        if seg_truth:
            shown["true ATE (simulator)"] = shown["segment"].map(seg_truth)
        st.dataframe(shown, hide_index=True, width="stretch", key="effects_segment_table",
                     column_config={c: st.column_config.NumberColumn(format="%.4f") for c in shown.columns
                                    if c not in ("segment", "n", "n treated", "n control", "flag")})
        st.markdown(md(ev.segment_summary(by)))
        for _, bad in by[by["flag"].astype(bool)].iterrows():
            st.warning(md(f"Segment {bad['segment']} of {segment_col}: estimate {bad['mean']:.4f} is {bad['flag']}."))
        st.caption(md(ev.learner_ate_caption(het)))
        if het["qini"] is not None:
            st.plotly_chart(charts.qini(het["qini"], het["auuc"]), key="effects_qini")
            st.caption(md(f"AUUC {het['auuc']:.4g}: area between the Qini curve and random targeting, per unit "
                          "(positive = the learner ranks units with larger effects first better than chance)."))
        for note in het["notes"]:
            st.caption(md(note))
    elif het:
        st.caption("The choices changed since the last run: press the button to rerun.")

# ---------------------------------------------------------------- saved runs
st.subheader("Saved effect runs")
with user_errors("Listing the saved runs"):
    saved_runs = store.list_objects(project.id, "effect_run")
    if not saved_runs:
        st.info("No saved effect run yet: press Estimate.")
    else:
        st.dataframe(pd.DataFrame([{"name": o.name, "versions": o.n_versions, "saved": readable_utc(o.created_at)}
                                   for o in saved_runs]), hide_index=True, width="stretch", key="effects_saved")

ev.remember_widgets("effects_treatment", "effects_outcome", "effects_covariates", "effects_methods", "effects_seed",
                    "effects_use_logged", "effects_trim", "effects_refute_method", "effects_refute_sims",
                    "effects_refute_strength", "effects_segment", "effects_learner")
