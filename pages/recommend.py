"""Recommendations: the top-k items a trained model recommends to one user, each with a short
explanation computed from the model and its training data (``causalrec_core.models.explain``).

Each explanation starts with what is specific to its item; what all the rows share (the user's recent
items, the debiasing of the loss, the cold-start fallback) is one caption above the table. A user id
the model has never seen is a cold-start user: the model's fallback ranks the items, and the page says
what its scores are (and, for a causal model, that they are not debiased). Ids in running text are
quoted (user '0', item '266'). Runs on rating files (data source 'csv' or 'coat': a biased train of explicit
ratings, a randomised test, no time order) speak of rated items and their ratings and show NDCG@5 /
AUC; runs on behaviour logs of training items in time order and NDCG@10.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from causalrec_core.models.explain import (
    cold_scores_text,
    events_text,
    explain_recommendations,
    explanation_notes,
    item_ref,
    plural,
    rated_items,
    recommend,
    user_history,
    user_index_of,
    user_ref,
)
from ui import train_view as tv
from ui.common import flash, md, user_errors
from ui.state import get_state, get_store

store = get_store()
state = get_state()
ss = st.session_state

st.title("Recommendations")
flash()
if state.project_id is None:
    st.info("Open or create a project on the Home page first.")
    st.stop()
project = store.get_project(state.project_id)
runs = sorted(store.list_runs(project.id, status="completed"), key=lambda r: r.id, reverse=True)
if not runs:
    st.info("This project has no completed training run yet: train a model on the Train page first.")
    st.page_link("pages/train.py", label="Go to the Train page", icon=":material/model_training:")
    st.stop()
causal = {m["name"]: m["causal"] for kind in ("log", "rating") for m in tv.models_for(kind)}
by_id = {r.id: r for r in runs}


def _headline(r) -> list[tuple[str, str, float]]:
    """(key, name, value) of the run's headline test metrics: NDCG@5 and AUC over the randomised test
    ratings of a rating run, NDCG@10 of a log run."""
    keys = ("ndcg@5", "auc") if tv.is_rating_run(r) else ("ndcg@10",)
    m = r.metrics or {}
    return [(k, tv.METRIC_NAMES.get(k, k), float(m[k])) for k in keys if isinstance(m.get(k), (int, float))]


def _run_label(i: int) -> str:
    r = by_id[i]
    score = " · ".join(f"{name} {v:.4f}" for _, name, v in _headline(r))
    label = f"{r.name} · {r.model} ({'causal' if causal.get(r.model) else 'traditional'})"
    return f"{label} · test {score}" if score else label


if ss.get("rec_run") not in by_id:
    ss["rec_run"] = runs[0].id
run_id = st.selectbox("Trained model (completed run)", list(by_id), key="rec_run", format_func=_run_label)
run = by_id[run_id]
rating = tv.is_rating_run(run)
figures = []
for key, name, value in _headline(run):
    lo, hi = (((run.metrics or {}).get("ci95") or {}).get(key) or [None, None])[:2]
    ci = f" (95% CI {lo:.4f} to {hi:.4f})" if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) else ""
    what = "over all test pairs" if key == "auc" else tv.metric_label(key, run)
    figures.append(f"{name} {value:.4f}{ci}: {what}")
if figures:
    st.caption(md("Test " + "; ".join(figures) + ". " + tv.metrics_assumption(run)))

loaded = None
with user_errors(f"Loading the model of '{run.name}'"):
    loaded = tv.load_run_model(run.id, str(run.run_dir), tv.run_files_stamp(str(run.run_dir)))
if loaded is None:
    st.stop()
model, data = loaded
if causal.get(run.model):
    # the Train page's table, from the same input: the clipping the run stored (with its propensity source);
    # the loaded model's only for a run that stored none
    clip = tv.clip_report_frame(run)
    if not len(clip):
        clip = tv.clip_report_frame(run, getattr(model, "clip_report_", None))
    if len(clip):
        with st.expander("Propensity clipping of this causal model (how much its debiasing weights were capped)"):
            st.dataframe(clip, hide_index=True, width="stretch", key="rec_clip_report")
            st.caption(f"Inverse-propensity weights assume every item had a non-zero chance of being "
                       f"{'rated' if rating else 'shown'} (positivity) and that the propensities are right; clipping "
                       "trades a little bias for less variance.")

examples = tv.example_users(data)  # (user, training rows): a rating run's rated items
c1, c2, c3 = st.columns([2, 2, 1])
n_rows_of, row_noun = dict(examples), "rated item" if rating else "training item"
example = c1.selectbox("Example user", [u for u, _ in examples], key="rec_user_example",
                       format_func=lambda u: f"{user_ref(u)} ({plural(n_rows_of[u], row_noun)})",
                       help="The most active, typical and least active users of the training data.")
typed = c2.text_input("Or type a user id", key="rec_user_text", max_chars=200,
                      help="Any id: one the model has never seen gets the cold-start recommendations.")
k = int(c3.number_input("k (items)", min_value=1, max_value=100, value=10, step=1, key="rec_k"))
user_id = typed.strip() or example
if not user_id:
    st.info("Type a user id or choose an example user.")
    st.stop()

recs = None
who = user_ref(user_id)
who_cap = who[0].upper() + who[1:]
with user_errors(f"Recommending for {who}"):
    recs = recommend(model, data, user_id, k=k)
    why = explain_recommendations(model, data, user_id, recs)
    notes = explanation_notes(model, data, user_id, recs)
if recs is None:
    st.stop()

user_idx = user_index_of(data, user_id)
known = user_idx is not None
rated = rated_items(data, user_idx)  # a rating run's history: the items the user rated, positives first
cold = bool(len(recs) and recs["cold_user"].iloc[0])
if cold:
    why_cold = (f"{who_cap} is not a user of the training data" if not (rating and len(rated)) else
                f"{who_cap} rated {plural(len(rated), 'item')} in the training data, all in the validation slice the "
                "model was not fitted on")
    st.info(md(f"{why_cold}: a cold-start user. The model ranks the items with its fallback for unknown users (see "
               "the note above the table), not from a personal history."))
elif rating:
    st.caption(md(f"{who_cap} rated {plural(len(rated), 'item')} in the training data "
                  f"({int(rated['positive'].sum())} positive, rating > {data.threshold:g}); items they already rated "
                  "are not recommended again."))
else:
    hist = user_history(data, user_idx)
    if known and len(hist) == 0 and run.model == "uplift":
        st.caption(md(f"{who_cap} has no purchase in the training data; the uplift model still scores them "
                      "from their logged exposures."))
    elif known and len(hist) == 0:
        st.info(md(f"{who_cap} has no training history (their events fall in the validation or test time): a "
                   "cold-start user for this model."))
    else:
        positives = (data.meta or {}).get("positive_events") or []
        st.caption(md(f"{who_cap} has {plural(len(hist), 'item')} with a training positive"
                      + (f" ({events_text(positives)}; views and exposures are not positives)" if positives else "")
                      + "; those items are not recommended again."))

table = pd.DataFrame({"rank": recs["rank"].astype(int), "item_id": recs["item_id"].astype(str),
                      "score": recs["score"].astype(float), "why": why})
items = None
ds_id = (run.config or {}).get("data", {}).get("dataset_id")
if ds_id is not None:
    with user_errors("Reading the items table"):
        ds = store.get_dataset(int(ds_id))
        items = tv.item_table(str(store.root), ds.id, ds.revision)
if items is not None:
    table = table.merge(items, on="item_id", how="left")
    table = table[["rank", "item_id", *[c for c in items.columns if c != "item_id"], "score", "why"]]
st.subheader(md(f"Top {len(table)} for {who}"))
if notes:  # what every row's explanation shares, said once
    st.caption(md(("For every row: " if len(table) > 1 else "") + " ".join(notes)))
st.dataframe(table, hide_index=True, width="stretch", key="rec_table",
             column_config={"score": st.column_config.NumberColumn(format=tv.score_format(table["score"])),
                            "why": st.column_config.TextColumn("why (computed from the model)", width="large")})
if cold:  # the fallback's scores, said from what they are (the note above the table)
    what, debiased = cold_scores_text(model, data, recs)
    st.caption(md(f"Scores are {what}: the cold-start fallback of {run.model}"
                  + (", not debiased" if debiased is False else ", learned under its debiased loss" if debiased
                     else "") + ". The full explanations are under 'Why "
                  "these items'."))
elif run.model == "uplift":
    st.caption(md("Scores are estimated uplifts, P(purchase | shown) - P(purchase | not shown), from the "
                  "inverse-propensity-weighted outcome model. The full explanations are under 'Why these items'."))
else:
    st.caption(md(f"Scores are the model's ({run.model}) ranking scores: only their order matters, and their scale "
                  "differs between models. The full explanations are under 'Why these items'."))
with st.expander("Why these items", expanded=False):
    titles = dict(zip(table["item_id"], table["title"], strict=True)) if "title" in table.columns else {}
    for r, item, text in zip(table["rank"], table["item_id"], table["why"], strict=True):
        name = f"{titles[item]} ({item_ref(item)})" if isinstance(titles.get(item), str) else item_ref(item)
        st.markdown(f"{r}. **{md(name)}**: {md(text)}")

if known and len(recs) and not cold:
    if rating:  # no time order: every rated item with its rating, positives first
        title, history = f"Training items rated by {who}", rated[["item_id", "rating", "positive"]]
    else:
        title = f"Recent training items of {who} (newest first)"
        history = pd.DataFrame({"item_id": [str(data.item_ids[i]) for i in user_history(data, user_idx)[::-1][:10]]})
    if len(history):
        with st.expander(md(title)):
            if items is not None:
                history = history.merge(items, on="item_id", how="left")
            st.dataframe(history, hide_index=True, width="stretch", key="rec_history")
