"""Effects: estimate the average treatment effect (ATE) of a binary treatment on a binary outcome
with several estimators, compare them on a forest plot (against the simulator's true ATE when the
dataset has one) and save each run.

All the estimation is done by the core (``causalrec_core.effects``); this page only gathers the
choices, calls it and shows the results.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from causalrec_core.effects.estimators import ESTIMATORS, make_estimator
from causalrec_core.effects.units import (
    covariates_from_graph,
    design_matrix,
    detect_kind,
    node_for_column,
    pair_units,
    simulator_units,
)
from causalrec_core.errors import ParameterError
from causalrec_core.graph import model
from ui.common import flash, md, user_errors
from ui.state import get_state, get_store

store = get_store()
state = get_state()
ss = st.session_state
RESULT = "effects_result"
MAX_ROWS = 200_000
DEFAULT_METHODS = ("naive", "ipw", "aipw")
ESTIMAND_TEXT = "ATE: average effect of the treatment on the outcome over all units"


@st.cache_data(show_spinner="Building the unit table…", max_entries=4)
def _units(root: str, dataset_id: int, revision: int) -> tuple[pd.DataFrame, str]:
    """The dataset's unit table: the simulator's pairs when present, else pairs from interactions."""
    ds = store.get_dataset(dataset_id)
    if "pairs" in ds.tables:
        return simulator_units(store.load_table(dataset_id, "pairs")), "pairs (simulator: every user × candidate item)"
    users = store.load_table(dataset_id, "users") if "users" in ds.tables else None
    items = store.load_table(dataset_id, "items") if "items" in ds.tables else None
    return pair_units(store.load_table(dataset_id, "interactions"), users, items), "interactions (user × item pairs)"


def _binary_columns(data: pd.DataFrame) -> list[str]:
    out = []
    for col in data.columns:
        try:
            if detect_kind(data[col]) == "binary":
                out.append(str(col))
        except ParameterError:
            continue
    return out


def _truth(ds) -> float | None:
    path = ds.path / "truth.json"
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("ate_exposure_purchase")
    except (OSError, ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, (int, float)) else None


st.title("Effects")
flash()
if state.project_id is None:
    st.info("Open or create a project on the Home page first.")
    st.stop()
project = store.get_project(state.project_id)
datasets = store.list_datasets(project.id)
if not datasets:
    st.info("This project has no dataset yet: import one on the Data page.")
    st.stop()
ids = [d.id for d in datasets]
if state.dataset_id not in ids:
    state.dataset_id = ids[-1]
by_id = {d.id: d for d in datasets}


def _picked_dataset() -> None:
    state.dataset_id = ss["effects_dataset_picker"]
    ss.pop(RESULT, None)


ss["effects_dataset_picker"] = state.dataset_id
st.selectbox("Dataset", ids, key="effects_dataset_picker", format_func=lambda i: by_id[i].name,
             on_change=_picked_dataset)
ds = by_id[state.dataset_id]
st.caption(f"Project: {md(project.name)}. Each estimator estimates the ATE, the average change in the outcome if "
           "every unit were treated rather than none, adjusting for the chosen covariates.")
if "pairs" not in ds.tables and "interactions" not in ds.tables:
    st.info("Effect estimation needs a dataset with a pairs or an interactions table; import one on the Data page.")
    st.stop()

units = None
with user_errors("Building the unit table"):
    units, unit_source = _units(str(store.root), ds.id, ds.revision)
if units is None:
    st.stop()
binary = _binary_columns(units)
if len(binary) < 2:
    st.info("The unit table needs at least two binary (0/1) columns: a treatment and an outcome.")
    st.stop()
st.caption(md(f"Units: {unit_source}, {len(units):,} rows."))

c1, c2 = st.columns(2)
treatment = c1.selectbox("Treatment (binary)", binary, key="effects_treatment",
                         index=binary.index("exposed") if "exposed" in binary else 0)
outcomes = [c for c in binary if c != treatment]
outcome = c2.selectbox("Outcome (binary)", outcomes, key="effects_outcome",
                       index=outcomes.index("purchased") if "purchased" in outcomes else 0)
# The simulator's ground-truth columns (potential-outcome probabilities, uplift) are answers, not
# covariates, and `position` exists only for shown items (it comes after exposure): never offered.
NOT_COVARIATES = {"user_id", "item_id", "position", "uplift", "p_view_treated", "p_view_control",
                  "p_purchase_treated", "p_purchase_control"}
candidates = [str(c) for c in units.columns if c not in (treatment, outcome) and str(c) not in NOT_COVARIATES]
default_covs = [c for c in ("user_activity", "item_popularity") if c in candidates]
covariates = st.multiselect("Covariates (the adjustment set)", candidates, default=default_covs,
                            key="effects_covariates")

graphs = store.list_objects(project.id, "graph")
if graphs:
    latest = max(graphs, key=lambda o: (o.created_at, o.id))
    with user_errors(f"Reading the adjustment set of the saved graph '{latest.name}'"):
        g = model.from_dict(store.load_object(project.id, "graph", latest.name).payload)
        cols = [str(c) for c in units.columns]
        choice = covariates_from_graph(g, node_for_column(g, treatment, cols),
                                       node_for_column(g, outcome, cols, param="outcome"), cols,
                                       chosen=covariates)
        st.caption(md(f"The saved graph '{latest.name}' implies the {choice.source} adjustment set: "
                      + (", ".join(choice.covariates) or "(empty)") + "."))
        for w in choice.warnings:
            st.warning(md(w))

c1, c2 = st.columns([3, 1])
methods = c1.multiselect("Estimators", list(ESTIMATORS), default=list(DEFAULT_METHODS), key="effects_methods")
seed = int(c2.number_input("Seed", 0, 2**31 - 1, 0, step=1, key="effects_seed"))

if st.button("Estimate", key="effects_estimate", type="primary"):
    with user_errors("Estimating the effect"), st.spinner("Estimating…"):
        if not methods:
            raise ParameterError("choose at least one estimator.")
        data = units.dropna(subset=[treatment, outcome, *covariates])
        notes = []
        if len(data) < len(units):
            notes.append(f"{len(units) - len(data):,} rows with missing values were left out.")
        if len(data) > MAX_ROWS:
            data = data.sample(n=MAX_ROWS, random_state=seed)
            notes.append(f"A random subsample of {MAX_ROWS:,} rows (seed {seed}) was used.")
        X, design_notes = design_matrix(data, covariates)
        t = data[treatment].astype("float64").to_numpy()
        y = data[outcome].astype("float64").to_numpy()
        results = []
        for m in methods:
            results.append(make_estimator(m, seed=seed).fit(X, t, y).result("ate").to_dict())
        run = {"dataset_id": ds.id, "dataset": ds.name, "units": unit_source, "treatment": treatment,
               "outcome": outcome, "covariates": list(covariates), "seed": seed, "notes": notes + design_notes,
               "truth_ate": _truth(ds), "results": results,
               "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        name = f"{treatment}_on_{outcome}"
        saved = store.save_object(project.id, "effect_run", name, run)
        ss[RESULT] = run
        st.success(md(f"Saved as effect run '{saved.name}' (version {saved.version})."))

run = ss.get(RESULT)
if run and run.get("dataset_id") == ds.id:
    label = f"ATE of {run['treatment']} on {run['outcome']}"
    st.subheader(md(label))
    for note in run["notes"]:
        st.caption(md(note))
    res = run["results"]
    fig = go.Figure(go.Scatter(
        x=[r["estimate"] for r in res], y=[r["method"] for r in res], mode="markers", name="estimate (95% CI)",
        error_x={"type": "data", "symmetric": False, "array": [r["ci_high"] - r["estimate"] for r in res],
                 "arrayminus": [r["estimate"] - r["ci_low"] for r in res]}))
    if run.get("truth_ate") is not None:
        fig.add_vline(x=run["truth_ate"], line_dash="dash", line_color="green",
                      annotation_text="true ATE (simulator)")
    fig.add_vline(x=0, line_color="grey", line_width=1)
    fig.update_layout(xaxis_title=f"{label} (difference in P({run['outcome']}=1))", yaxis_title="estimator",
                      height=120 + 60 * len(res), margin={"t": 30})
    st.plotly_chart(fig, key="effects_forest")
    table = pd.DataFrame([{
        "estimator": r["method"], "estimand": r["estimand"].upper(), "estimate": r["estimate"],
        f"CI low ({r['level']:.0%})": r["ci_low"], f"CI high ({r['level']:.0%})": r["ci_high"],
        "SE": r["se"], "CI method": r["ci_method"], "n": r["n"]} for r in res])
    st.dataframe(table, hide_index=True, width="stretch", key="effects_table")
    st.caption(md(ESTIMAND_TEXT + (f"; the simulator's true ATE is {run['truth_ate']:.4f}."
                                   if run.get("truth_ate") is not None else ".")))
    st.markdown("**Assumptions of each estimate**")
    for r in res:
        with st.expander(md(f"{r['method']}: ATE {r['estimate']:.4f}"), expanded=False):
            st.markdown(md(f"Adjustment set: {', '.join(run['covariates']) or '(none)'}. Estimator: {r['method']}. "
                           f"Units: {r['n']:,}."))
            for a in r["assumptions"]:
                st.markdown("- " + md(a))
            for n in r["notes"]:
                st.caption(md(n))

st.subheader("Saved effect runs")
with user_errors("Listing the saved runs"):
    saved_runs = store.list_objects(project.id, "effect_run")
    if not saved_runs:
        st.info("No saved effect run yet: press Estimate.")
    else:
        st.dataframe(pd.DataFrame([{"name": o.name, "versions": o.n_versions, "saved": str(o.created_at)}
                                   for o in saved_runs]), hide_index=True, width="stretch", key="effects_saved")
