"""CausalRec Studio: the frame. Page config, project picker, navigation."""

from __future__ import annotations

import streamlit as st

from causalrec_core.errors import CausalRecError
from causalrec_core.sample import SAMPLE_PROJECT, ensure_sample_project
from ui.common import md
from ui.state import get_state, get_store

st.set_page_config(page_title="CausalRec Studio", page_icon=":material/hub:", layout="wide")


@st.cache_resource(show_spinner="Preparing the sample project…")
def _sample_ready(root: str) -> str | None:
    """Import the bundled sample project once per workspace; returns an error message or None."""
    try:
        ensure_sample_project(get_store())
    except CausalRecError as err:
        return str(err)
    return None


store = get_store()
state = get_state()
problem = _sample_ready(str(store.root))
if problem:
    st.sidebar.warning(md(f"Sample project unavailable: {problem}"))

projects = store.list_projects()
with st.sidebar:
    st.markdown("### CausalRec Studio")
    if projects:
        ids = [p.id for p in projects]
        if state.project_id not in ids:
            sample = next((p for p in projects if p.name == SAMPLE_PROJECT), projects[0])
            state.project_id = sample.id
        names = {p.id: p.name for p in projects}

        def _picked() -> None:
            state.project_id = st.session_state["project_picker"]
            state.dataset_id = None

        # The app state is the source of truth (pages change the project too): sync the widget to it.
        st.session_state["project_picker"] = state.project_id
        st.selectbox("Project", ids, format_func=lambda i: names[i], key="project_picker",
                     on_change=_picked)
    else:
        state.project_id = None
        st.info("No project yet: create one on the Home page.")

pages = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/data.py", title="Data", icon=":material/table_chart:"),
    st.Page("pages/graph.py", title="Causal graph", icon=":material/account_tree:"),
    st.Page("pages/effects.py", title="Effects", icon=":material/insights:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/recommend.py", title="Recommendations", icon=":material/recommend:"),
]
st.navigation(pages).run()
