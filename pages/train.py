"""Train: start recommender training runs in the background and watch them.

Each run is trained by its own worker process (``causalrec_core.train.jobs``), so the rest of the
app stays usable and a run outlives a restart of the app. The runs panel refreshes itself every
couple of seconds while a run is queued or running (``st.fragment(run_every=...)``) and reconciles
the store on every refresh, so a killed worker shows as failed.
"""

from __future__ import annotations

import streamlit as st

from causalrec_core.errors import ParameterError
from causalrec_core.models.base import DEVICES
from causalrec_core.models.explain import events_text
from causalrec_core.models.logdata import DEFAULT_POSITIVE_EVENTS
from causalrec_core.models.requirements import data_problems, log_offers
from causalrec_core.train import jobs
from ui import train_view as tv
from ui.common import dataset_picker, flash, md, user_errors
from ui.rating_upload import rating_data_picker
from ui.state import get_state, get_store, sticky

store = get_store()
state = get_state()
ss = st.session_state
REFRESH_S = 1.5
PICKER = "train_run_picker"
CONFIRM = "train_confirm_delete"
ACTIVE_SEEN = "train_active_seen"



def _data_name(run, dataset_names: dict[int, str]) -> str:
    """What a run was trained on, in words: the dataset's name (``dataset_names``: id -> name, read once
    per refresh), or the uploaded rating files."""
    data = (run.config or {}).get("data") or {}
    if data.get("source") == "dataset":
        did = str(data.get("dataset_id", ""))
        name = dataset_names.get(int(did)) if did.isdigit() else None
        # a deleted dataset: say so rather than fail the table
        return name if name is not None else f"dataset {data.get('dataset_id')} (deleted)"
    if data.get("source") in ("csv", "coat"):
        return str(data.get("label") or "rating files")
    return str(data.get("path") or data.get("source") or "")


st.title("Train")
flash()
if state.project_id is None:
    st.info("Open or create a project on the Home page first.")
    st.stop()
project = store.get_project(state.project_id)
st.caption(md(f"Project: {project.name}. Every run trains in a separate worker process: you can keep using the "
              "other pages, and runs survive a restart of the app."))

# ---------------------------------------------------------------------------------------------- new runs
st.subheader("New training runs")
SOURCES = {"log": "a behaviour log of this project", "ratings": "rating files (biased train, randomised test)"}
source = st.radio("Train on", list(SOURCES), format_func=SOURCES.get, **sticky("train_source"), horizontal=True,
                  help="Behaviour logs train the top-k recommenders (popularity, item-kNN, SASRec, uplift, TextMF). "
                       "Rating files — ratings users chose to give plus ratings of randomly assigned items, as in "
                       "Coat or Yahoo! R3 — train the rating models, including the debiased MF-IPS / DR-JL family.")
data_spec: dict | None = None
kind = "log"
intro = ""
if source == "log":
    ds = dataset_picker(store, project.id, state, key="train_dataset")
    if ds is None:
        st.info("This project has no dataset yet: import a behaviour log on the Data page.")
    elif "events" not in ds.tables:
        st.info("Training needs a behaviour log (an events table); this dataset has none. Import one on the Data page.")
    else:
        data_spec = {"source": "dataset", "dataset_id": ds.id}
        intro = (f"The log of '{ds.name}' is split by time: the last 10% of the positive events "
                 f"({events_text(DEFAULT_POSITIVE_EVENTS, 'and')}; views and exposures are not positives) is the "
                 "test part, the 10% before it the validation part (early stopping), the rest trains the model; "
                 "the causal models also read the exposures.")
else:
    staged = rating_data_picker(store, project.id)
    if staged is not None:
        data_spec, kind = staged.spec, "rating"
        intro = ("Evaluated on the randomised test ratings only: AUC over all test pairs, NDCG@5 / Recall@5 per "
                 "user, MSE. The causal models weight each training rating by 1 / P(rated), so that the loss "
                 "estimates the loss on randomly chosen items.")
if data_spec is not None:
    models = tv.models_for(kind)
    info = {m["name"]: m for m in models}
    names = list(info)
    st.caption(md(intro))
    models_key = "train_models" if kind == "log" else "train_models_rating"
    chosen = st.multiselect(
        "Models", names, **sticky(models_key, default=[n for n in (("popularity",) if kind == "log" else
                                                             ("mf", "mf-ips")) if n in names]),
        format_func=lambda n: f"{n} ({tv.tag(info[n])})",
        help="Causal models correct for the selection bias of the data (exposure or rating propensities, uplift); "
             "traditional ones learn from the observed behaviour as it is.")
    params: dict[str, dict] = {}
    problems: list[str] = []
    for name in chosen:
        m = info[name]
        with st.expander(f"{name} ({tv.tag(m)}): parameters", expanded=True):
            st.caption(md(m["description"]))
            params[name], bad = tv.param_widgets(m, "train_param")
            problems += bad or tv.check_params(name, params[name])
            if kind == "log":  # a model the log cannot feed is refused here, not in its worker
                problems += data_problems(name, params[name], log_offers(ds), ds.name)
    dev = tv.detected_device()
    c1, c2, c3 = st.columns([1, 1, 2])
    seed = int(c1.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, **sticky("train_seed", value=0),
                               help="Seeds every random step of training; on the CPU the same seed gives the "
                                    "same results."))
    device = c2.selectbox("Device", list(DEVICES), **sticky("train_device"),
                          help="auto: a CUDA GPU when one is present, else the CPU. The non-neural models "
                               "(popularity, item-knn) always run on the CPU.")
    c2.caption(md(f"Detected: {dev['name']}."))
    run_name = c3.text_input("Run name (optional)", **sticky("train_run_name"), max_chars=80,
                             help="Empty: '<model> #n'. With several models, the model is added to the name.")
    tune = st.checkbox(
        "Tune first: choose the parameters on the training data", **sticky("train_tune"),
        help="Before the run, each model tries a small grid of its main parameters (e.g. dim, lr, weight_decay), "
             "scored on the training data only — the validation part carved from it, or for rating files "
             "optionally a cross-validation over it (\"Tune for\") — never the test, and trains the best one. "
             "Parameters you changed from their defaults above keep your values and are not searched; the chosen "
             "values are shown with the run. Takes about one fit per grid point longer.")
    tune_criterion = "monitor"
    if tune and source == "ratings":
        TUNE_FOR = {"monitor": "AUC over all validation pairs (the early-stopping metric)",
                    "within-user": "ranking within each user (5-fold cross-validation, 5x the fits)"}
        tune_criterion = st.radio(
            "Tune for", list(TUNE_FOR), format_func=TUNE_FOR.get, horizontal=True, **sticky("train_tune_criterion"),
            help="What a setting is judged by. AUC over all pairs (IPS-weighted for the debiased models) also "
                 "rewards telling users apart; NDCG@5 and Recall@5 only rank each user's own items, which the "
                 "within-user AUC of cross-validated scores over the training ratings measures (a 10% slice "
                 "holds too few ratings per user for that). On Coat neither choice reliably finds the settings "
                 "with the best test NDCG@5 (BENCHMARKS.md, selection table).")
    if device == "cuda" and not dev["cuda"]:
        st.warning("No CUDA GPU is available here: runs with device 'cuda' would fail; choose auto or cpu.")
    for p in problems:
        st.error(md(p))
    if problems:
        st.caption("Correct the parameter values above (or leave out the models the data cannot feed) to start "
                   "training.")
    if st.button("Start training", key="train_start", type="primary", disabled=not chosen or bool(problems)):
        started = []
        with user_errors("Starting the training runs"):
            if problems:
                raise ParameterError(" ".join(problems))
            if device == "cuda" and not dev["cuda"]:
                raise ParameterError("device='cuda' was chosen, but no CUDA GPU is available; use 'auto' or "
                                     "'cpu'.")
            for name in chosen:
                run_device = device if info[name]["torch"] else "cpu"
                label = run_name.strip() or None
                if label and len(chosen) > 1:
                    label = f"{label} ({name})"
                # with tuning, only the values the user changed are fixed; the rest of the grid is searched
                fixed = {k: v for k, v in params[name].items() if not tune or v != info[name]["params"].get(k)}
                run = jobs.start_run(store, project.id, name, data=data_spec, tune=tune, tune_criterion=tune_criterion,
                                     params=fixed, seed=seed, device=run_device, name=label)
                started.append(run)
        if started:
            ss[PICKER] = started[-1].id
            state.flash = md("Started " + ", ".join(f"'{r.name}'" for r in started) + ".")
            st.rerun()

# ---------------------------------------------------------------------------------------------- runs
st.subheader("Runs")
with user_errors("Checking the training workers"):
    jobs.reconcile(store, project.id)
_runs = store.list_runs(project.id)
active_now = sorted(r.id for r in _runs if r.status in tv.ACTIVE)
ss[ACTIVE_SEEN] = active_now
_all_models = tv.models_for("log") + tv.models_for("rating")
causal = {m["name"]: m["causal"] for m in _all_models}
torch_model = {m["name"]: m["torch"] for m in _all_models}


# action: (button label, help, what the error message says was being done, flash message after it)
_RUN_ACTIONS = {
    "cancel": ("Cancel", "Stops the run after checkpointing; Resume continues it.", "Cancelling",
               "Asked '{}' to stop; it checkpoints first."),
    "resume": ("Resume", "Continues from the last checkpoint.", "Resuming", "Resumed '{}'."),
}


def _run_action_button(slot, run, action: str) -> None:
    """The Cancel / Resume button of ``run``: calls ``jobs.<action>_run`` and reruns the page with a message."""
    label, help_text, doing, done = _RUN_ACTIONS[action]
    if slot.button(label, key=f"train_{action}", help=help_text):
        with user_errors(f"{doing} '{run.name}'"):
            getattr(jobs, f"{action}_run")(store, run.id)
            state.flash = md(done.format(run.name))
            st.rerun()


def _show_run(run, progress: dict | None, data_name: str) -> None:
    st.markdown(f"**{md(run.name)}** · {md(run.model)} ({'causal' if causal.get(run.model) else 'traditional'}) · "
                f"{md(tv.STATUS_ICONS.get(run.status, run.status))} · seed {run.seed} · device "
                f"{md(tv.device_text(run))} · created {md(run.created_at[:19].replace('T', ' '))}")
    if run.status in tv.ACTIVE:
        frac, text = tv.progress_state(run, progress, epochs_expected=torch_model.get(run.model, True))
        st.progress(frac, text=md(text))
    actions = [a for a, ok in (("cancel", run.status in tv.ACTIVE), ("resume", jobs.can_resume(run)),
                               ("delete", run.status in tv.TERMINAL)) if ok]
    slots = dict(zip(actions, st.columns([1] * len(actions) + [6 - len(actions)])[:len(actions)], strict=True))
    for action in ("cancel", "resume"):
        if action in slots:
            _run_action_button(slots[action], run, action)
    if "delete" in slots and slots["delete"].button("Delete", key="train_delete",
                                                    help="Deletes the run record and its files."):
        ss[CONFIRM] = run.id
    if ss.get(CONFIRM) == run.id:
        st.warning(md(f"Delete the run '{run.name}' and its files (weights, logs)? This cannot be undone."))
        y, n, _ = st.columns([1, 1, 4])
        if y.button("Delete for good", key="train_delete_confirm", type="primary"):
            with user_errors(f"Deleting '{run.name}'"):
                store.delete_run(run.id)
                ss.pop(CONFIRM, None)
                ss.pop(PICKER, None)
                state.flash = md(f"Deleted the run '{run.name}'.")
                st.rerun()
        if n.button("Keep it", key="train_delete_keep"):
            ss.pop(CONFIRM, None)
            st.rerun()

    if run.status == "failed":
        st.error(md(f"The run failed: {tv.error_text(run.error)}"))
        if not jobs.can_resume(run):
            st.caption("It failed on its data or parameters, so a resume would fail the same way: start a new run "
                       "with other settings (the failed run can be deleted).")
        with st.expander("Last lines of the worker log (technical details)", expanded=False):
            st.code(tv.log_without_traceback(jobs.tail_log(run, 40)) or "(the log is empty)", language=None)
    elif run.status == "cancelled":
        done = len((progress or {}).get("history") or [])
        st.info(md(f"Cancelled after {done} finished epoch(s). Resume continues from the last checkpoint."))

    c1, c2 = st.columns(2)
    loss = tv.loss_chart(progress)
    val = tv.validation_chart(progress, run)
    if loss is not None:
        c1.plotly_chart(loss, key=f"train_loss_chart_{run.id}")
    if val is not None:
        c2.plotly_chart(val, key=f"train_val_chart_{run.id}")

    if run.status == "completed":
        table = tv.test_metrics_frame(run)
        if len(table):
            st.markdown("**Test metrics**")
            st.dataframe(table, hide_index=True, width="stretch", key=f"train_test_metrics_{run.id}",
                         column_config={c: st.column_config.NumberColumn(format="%.4f")
                                        for c in ("value", "95% CI low", "95% CI high")})
            key = tv.main_metric(run)
            if key in (run.metrics.get("ci95") or {}):
                st.caption(md(tv.metric_label(key, run)) + ": the interval is over resampled test users.")
            st.caption(md(tv.metrics_assumption(run)))
        tuning = run.metrics.get("tuning") or {}
        extra = [f"fit {tv.fmt_seconds(run.metrics.get('seconds'))}"]
        if tuning:
            extra.insert(0, f"tuning {tv.fmt_seconds(tuning.get('seconds'))} ({len(tuning.get('rows') or [])} "
                            "setting(s) tried)")
        if run.metrics.get("best_epoch"):
            extra.append(f"best epoch {run.metrics['best_epoch']} of {run.metrics.get('epochs')}")
        st.caption(md(" · ".join(extra)))
        if tuning:
            table = tv.tuning_frame(tuning)
            within = tuning.get("criterion") == "within-user"
            title = (f"Tuning: {len(table)} setting(s) tried "
                     + ("by cross-validation on the training data" if within else "on the validation slice")
                     + ", the best one trained"
                     if len(table) > 1 else "Tuning: nothing to tune (this model has no search grid, or every grid "
                                            "parameter was set by hand)")
            with st.expander(title):
                if len(table) > 1:
                    st.dataframe(table, hide_index=True, width="stretch", key=f"train_tuning_{run.id}",
                                 column_config={"validation score": st.column_config.NumberColumn(format="%.4f")})
                    st.caption("Validation score: the AUC within each user of scores from a 5-fold cross-validation "
                               "over the training ratings (IPS-weighted for the debiased models); the test data "
                               "played no part." if within else
                               "Validation score: the model's early-stopping metric on the validation slice carved "
                               "from the training data (the IPS-weighted AUC for the debiased rating models); the "
                               "test data played no part.")
        if causal.get(run.model):
            clip = tv.clip_report_frame(run)
            if len(clip):
                with st.expander("Propensity clipping (how much the debiasing weights were capped)"):
                    st.dataframe(clip, hide_index=True, width="stretch", key=f"train_clip_report_{run.id}")
            else:
                st.caption("This run did not store a propensity-clipping report, so how many inverse-propensity "
                           "weights were capped is not shown.")
        beyond = tv.beyond_frame(run)
        if len(beyond):
            with st.expander(md(tv.beyond_title(run))):
                st.dataframe(beyond, hide_index=True, width="stretch", key=f"train_beyond_{run.id}",
                             column_config={"value": st.column_config.NumberColumn(format="%.4f"),
                                            "what it measures": st.column_config.TextColumn(width="large")})
    with st.expander("Configuration"):
        st.dataframe(tv.config_frame(run, data_name), hide_index=True, width="stretch",
                     key=f"train_config_{run.id}")
        st.caption(md(f"Run folder (weights, checkpoint, log, result.json): {run.run_dir}"))


@st.fragment(run_every=REFRESH_S if active_now else None)
def runs_panel() -> None:
    with user_errors("Checking the training workers"):
        jobs.reconcile(store, project.id)
    runs = store.list_runs(project.id)
    active = sorted(r.id for r in runs if r.status in tv.ACTIVE)
    if active != ss.get(ACTIVE_SEEN):
        # a run started, finished or died: rerun the page so the refresh timer follows
        ss[ACTIVE_SEEN] = active
        st.rerun()
    if not runs:
        st.info("No training run yet: choose models above and press Start training.")
        return
    progress = {r.id: jobs.read_progress(r) for r in runs}
    groups = {kind: [r for r in runs if tv.is_rating_run(r) == (kind == "rating")] for kind in ("log", "rating")}
    groups = {kind: g for kind, g in groups.items() if g}
    dataset_names = {d.id: d.name for d in store.list_datasets(project.id)}
    names = {r.id: _data_name(r, dataset_names) for r in runs}
    for kind, group in groups.items():
        if len(groups) > 1:
            st.markdown("**Runs on behaviour logs**" if kind == "log" else "**Runs on rating files**")
        st.dataframe(tv.runs_frame(group, progress, causal, names), hide_index=True, width="stretch",
                     key="train_runs_table" if kind == "log" else "train_runs_table_rating",
                     column_config={"epoch": st.column_config.TextColumn(width=110),  # "tuning 12/16" while tuning
                                    **{c: st.column_config.NumberColumn(format="%.4f")
                                       for c in (f"test {v}" for v in tv.METRIC_NAMES.values())}})
    for kind, group in groups.items():  # what the test columns are computed on, per kind of data
        done = next((r for r in sorted(group, key=lambda r: r.id, reverse=True) if r.status == "completed"), None)
        if done is None:
            continue
        cols = "" if len(groups) == 1 else (" (ratings)" if kind == "rating" else " (logs)")
        st.caption(md(f"Test columns{cols}: computed on {tv.split_text(done)}, on each run's own data (see the data "
                      "column; the number of test users is in each run's details below); empty (None) until a run completes."))
    if active:
        st.caption(f"Refreshing every {REFRESH_S:g} s while {len(active)} run(s) are queued or running.")
    ids = [r.id for r in sorted(runs, key=lambda r: r.id, reverse=True)]
    by_id = {r.id: r for r in runs}
    if ss.get(PICKER) not in ids:
        ss[PICKER] = ids[0]
    run_id = st.selectbox("Run", ids, key=PICKER,
                          format_func=lambda i: f"{by_id[i].name} · {by_id[i].model}")
    shown = by_id[run_id]
    _show_run(shown, progress[run_id], names[run_id])
    same = [r for r in runs if r.status == "completed" and tv.data_key(r) == tv.data_key(shown)]
    options = [k for k in tv.METRIC_NAMES if any(isinstance(r.metrics.get(k), (int, float)) for r in same)
               and not k.endswith("_random")]
    key = tv.main_metric(shown)
    if len(options) > 1:
        key = st.selectbox("Compare runs on", options, index=options.index(key) if key in options else 0,
                           format_func=lambda k: f"test {tv.METRIC_NAMES[k]}", key="train_compare_metric",
                           help="Runs trained and tested on the same data as the run shown above.")
    chart = tv.comparison_chart(runs, causal, key=key, like=shown)
    if chart is not None:
        st.plotly_chart(chart, key="train_compare_chart")
        ref = next(r for r in runs if r.status == "completed" and tv.data_key(r) == tv.data_key(shown)
                   and key in r.metrics)
        st.caption(md(tv.metric_label(key, ref) + "; causal models in red. Only runs trained and tested on the same "
                      "data as the run shown above are compared."))


runs_panel()
