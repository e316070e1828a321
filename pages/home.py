"""Home: pick, create, rename and delete projects; see what the current project holds."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from causalrec_core.data.profile import readable_utc
from ui.common import flash, md, user_errors
from ui.state import get_state, get_store

store = get_store()
state = get_state()

st.title("CausalRec Studio")
st.caption("Why do users do what they do, and what does a recommendation really cause? "
           "Upload a behaviour log on the Data page; every dataset is saved in the project store "
           f"(workspace: {md(store.root)}).")
flash()

left, right = st.columns([2, 1])
with right:
    with st.form("create_project", clear_on_submit=True):
        st.subheader("New project")
        name = st.text_input("Project name", max_chars=100, key="new_project_name")
        description = st.text_area("Description (optional)", height=68)
        if st.form_submit_button("Create project", type="primary", key="create_project_btn"):
            with user_errors("Creating the project"):
                project = store.create_project(name, description)
                state.project_id, state.dataset_id = project.id, None
                state.flash = f"Project '{md(project.name)}' created."
                st.rerun()

with left:
    if state.project_id is None:
        st.info("No project is open. Create one on the right.")
        st.stop()
    project = store.get_project(state.project_id)
    st.subheader(f"Project: {md(project.name)}")
    if project.description:
        st.text(project.description)
    datasets = store.list_datasets(project.id)
    objects = store.list_objects(project.id)
    runs = store.list_runs(project.id)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Datasets", len(datasets))
    c2.metric("Events (all datasets)", f"{sum(d.n_rows for d in datasets):,}")
    kinds = sorted({o.kind for o in objects})
    c3.metric("Saved objects", len(objects),
              help="Versions of the project's saved causal graphs, effect runs and reports"
                   + (f" (here: {', '.join(kinds)})." if kinds else "."))
    c4.metric("Training runs", len(runs))
    if datasets:
        st.dataframe(pd.DataFrame([{
            "dataset": d.name, "events kept": d.n_rows, "users": d.profile.get("users"),
            "items": d.profile.get("items"), "from": d.profile.get("time_min"), "to": d.profile.get("time_max"),
            "source file": d.source.get("file"), "content hash": d.content_hash[:12], "saved": readable_utc(d.created_at),
        } for d in datasets]), hide_index=True, width="stretch")
    else:
        st.info("This project has no dataset yet: import a log on the Data page.")
        st.page_link("pages/data.py", label="Go to the Data page", icon=":material/table_chart:")

    with st.expander("Rename or delete this project"):
        with st.form("rename_project"):
            new_name = st.text_input("New name", value=project.name, max_chars=100, key="rename_project_name")
            if st.form_submit_button("Rename"):
                with user_errors("Renaming the project"):
                    store.rename_project(project.id, new_name)
                    state.flash = "Project renamed."
                    st.rerun()
        confirm = st.checkbox(f"Yes, delete '{md(project.name)}' and all its datasets", key="confirm_delete")
        if st.button("Delete project", disabled=not confirm, type="secondary"):
            with user_errors("Deleting the project"):
                store.delete_project(project.id)
                state.project_id, state.dataset_id = None, None
                state.flash = f"Project '{md(project.name)}' deleted."
                st.rerun()
