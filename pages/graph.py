"""Causal graph: open, draw and edit a causal DAG; see how the effect is identified and whether the
data contradict the graph.

The graph lives in ``st.session_state["graph_history"]`` (a core ``GraphHistory``): every change,
from the drawing, the tables or the forms, goes through a core edit function and is pushed there.
Identification, implication tests and structure learning are imported lazily.

While the open graph has unsaved changes it is autosaved as a draft in the project's folder
(``causalrec_core.graph.draft``); a fresh session (a browser reload) offers to restore or discard
it, and saving the graph clears it.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from causalrec_core.errors import CausalRecError, GraphError
from causalrec_core.graph import draft as drafts
from causalrec_core.graph import formats, learn_inputs, model, templates
from ui import graph_editor as ge
from ui import graph_view as gv
from ui.common import dataset_picker, flash, md, user_errors
from ui.state import get_state, get_store

store = get_store()
state = get_state()

EDITOR = "graph_editor"
HIST, NAME, PROJECT, SAVED, REV, GID = "graph_history", "graph_name", "graph_project", "graph_saved", "graph_rev", "graph_id"
NOTICES, PNG, TESTS, LEARN, ORIGIN = "graph_notices", "graph_png", "graph_tests", "graph_learn", "graph_origin"
EDITOR_NOTICE, EDITOR_ACK = "graph_editor_notice", "graph_editor_ack"
DRAFT_OFFER, DRAFT_SIG, LEARN_WARN = "graph_draft_offer", "graph_draft_sig", "graph_learn_warnings"
SIM_TRUTH = "simulator truth (truth.json)"
NONE = "— none —"
EXPORTS = {"json": ("JSON", "application/json"), "dot": ("DOT (Graphviz)", "text/vnd.graphviz"),
           "gml": ("GML", "text/plain"), "dagitty": ("DAGitty", "text/plain")}
ss = st.session_state
for k, v in ((REV, 0), (GID, 0), (NOTICES, [])):
    ss.setdefault(k, v)


# ---------------------------------------------------------------------------------------------
# state helpers (no logic: they only move graphs between the core and the session)
# ---------------------------------------------------------------------------------------------

def _graph():
    hist = ss.get(HIST)
    return None if hist is None else hist.current


def _notice(kind: str, text: str) -> None:
    ss[NOTICES] = [*ss.get(NOTICES, []), {"kind": kind, "text": text}]


def _load(graph, name: str, origin: str, saved: bool = False) -> None:
    graph = ge.with_layout(graph)  # stored positions: the drawing does not jump when edges change
    ss[HIST] = model.GraphHistory(graph)
    ss[NAME] = ss["graph_name_input"] = name
    ss[SAVED] = model.to_dict(graph) if saved else None
    ss[ORIGIN] = origin
    ss[GID] += 1
    ss[REV] += 1
    for k in (PNG, TESTS):
        ss.pop(k, None)


def _push(graph, message: str | None = None) -> None:
    if ss[HIST].push(ge.with_layout(graph)):
        ss[REV] += 1
        if message:
            _notice("success", message)


def _guard(action: str, fn, *args) -> None:
    """Run a callback's work; a refusal becomes a notice, never a traceback."""
    try:
        fn(*args)
    except CausalRecError as err:
        _notice("error", f"{action} failed: {err}")
    except Exception as err:  # noqa: BLE001 - the UI must never show a traceback
        _notice("error", f"{action} failed because of an unexpected error ({type(err).__name__}: {str(err)[:300]}). "
                         "Nothing was changed.")


# ---------------------------------------------------------------------------------------------
# Page frame
# ---------------------------------------------------------------------------------------------

st.title("Causal graph")
top_msgs = st.container()  # messages live in containers, so that the editor keeps its place in the page
with top_msgs:
    flash()
if state.project_id is None:
    st.info("Open or create a project on the Home page first.")
    st.stop()
project = store.get_project(state.project_id)

draft_file = drafts.draft_path(store.project_dir(project.id))

if ss.get(PROJECT) != project.id:  # another project (or a fresh session): its own graph and draft
    for k in (HIST, SAVED, PNG, TESTS, LEARN, ORIGIN, DRAFT_OFFER, DRAFT_SIG, LEARN_WARN):
        ss.pop(k, None)
    ss[PROJECT] = project.id
    # unsaved work autosaved by an earlier session (a reload, a lost connection): offer it back
    try:
        found = drafts.read_draft(draft_file)
    except GraphError as err:
        ss[DRAFT_OFFER] = {"error": str(err)}
    else:
        if found is not None:
            ss[DRAFT_OFFER] = {"text": found.describe()}
    saved = store.list_objects(project.id, "graph")
    if saved:
        latest = max(saved, key=lambda o: (o.created_at, o.id))
        with top_msgs, user_errors(f"Opening the saved graph '{md(latest.name)}'"):
            obj = store.load_object(project.id, "graph", latest.name)
            _load(model.from_dict(obj.payload), obj.name, f"saved graph '{obj.name}', version {obj.version}", True)


def _restore_draft() -> None:
    found = drafts.read_draft(draft_file)
    if found is None:
        ss.pop(DRAFT_OFFER, None)
        raise GraphError("the draft is gone (another session restored or discarded it).")
    _load(found.graph, found.name, found.origin or "an autosaved draft")
    ss[SAVED] = found.base  # still "unsaved changes" against the saved graph it was edited from
    ss.pop(DRAFT_OFFER, None)
    _notice("success", f"Restored the unsaved draft of {found.describe()}. Save it to keep it in the project.")


def _discard_draft() -> None:
    drafts.discard_draft(draft_file)
    ss.pop(DRAFT_OFFER, None)
    ss[DRAFT_SIG] = None
    _notice("success", "Discarded the unsaved draft.")


offer = ss.get(DRAFT_OFFER)
if offer:
    with top_msgs:
        if "error" in offer:
            st.warning(md(f"An unsaved graph draft was found, but it cannot be restored: {offer['error']}")
                       + " Discard it to go on: until then the open graph is not autosaved.")
            st.button("Discard it", key="graph_draft_discard", on_click=_guard,
                      args=("Discarding the draft", _discard_draft))
        else:
            open_graph = ss.get(HIST).current if ss.get(HIST) is not None else None
            replaces = ""
            if open_graph is not None and ss.get(SAVED) != model.to_dict(open_graph):
                replaces = (f" Restoring replaces the open graph '{ss.get(NAME)}' and its unsaved changes: save it "
                            "first to keep them.")
            st.warning(md(f"Unsaved work from an earlier session was found: a draft of {offer['text']}.{replaces}")
                       + " Until you restore or discard it, the open graph is not autosaved.")
            c1, c2 = st.columns([3, 1])
            c1.button(md(f"Restore the unsaved draft of {offer['text']}"), key="graph_draft_restore", type="primary",
                      on_click=_guard, args=("Restoring the draft", _restore_draft))
            c2.button("Discard it", key="graph_draft_discard", on_click=_guard,
                      args=("Discarding the draft", _discard_draft))

top = st.columns([2, 3])
ds = dataset_picker(store, project.id, state, key="graph_dataset_picker", container=top[0],
                    label="Dataset (columns to bind, data to test)", on_pick=lambda: ss.pop(TESTS, None))
top[1].caption(f"Project: {md(project.name)}. A causal graph says which variable causes which; the page "
               "checks it is acyclic, finds how the effect of the treatment on the outcome is identified, "
               "and tests what the graph implies against the data.")

columns_by_table: dict[str, list[str]] = {}
numeric_by_table: dict[str, list[str]] = {}
missing_by_table: dict[str, dict[str, float]] = {}
constant_by_table: dict[str, list[str]] = {}
if ds is not None:
    with top_msgs, user_errors("Reading the dataset's columns"):
        columns_by_table = ge.table_columns(store, ds)
        numeric_by_table = ge.table_columns(store, ds, numeric_only=True)
        missing_by_table = ge.missing_shares(store, ds)
        constant_by_table = ge.constant_columns(store, ds)
columns = ge.binding_columns(columns_by_table)
truth_path = ds.path / "truth.json" if ds is not None and (ds.path / "truth.json").is_file() else None


# ---------------------------------------------------------------------------------------------
# Open, create, learn, import
# ---------------------------------------------------------------------------------------------

def _open_saved() -> None:
    name, version = ss.get("graph_saved_name"), ss.get("graph_saved_version")
    obj = store.load_object(project.id, "graph", name, None if version == "latest" else int(version))
    _load(model.from_dict(obj.payload), obj.name, f"saved graph '{obj.name}', version {obj.version}", True)
    _notice("success", f"Opened '{obj.name}' (version {obj.version} of {obj.n_versions}).")


def _from_template() -> None:
    name = ss.get("graph_template")
    if name == SIM_TRUTH:
        if truth_path is None:
            raise GraphError("this dataset has no truth.json (only simulated datasets have one).")
        graph, gname = gv.truth_graph(truth_path, ds.name), "simulator_truth"
    else:
        graph, gname = templates.build_template(name, columns), name
    _load(graph, gname, f"template '{name}'")
    bound = sum(1 for _, c in graph.nodes(data="column") if c)
    _notice("success", f"New graph from the template '{name}': {graph.number_of_nodes()} nodes, "
                       f"{graph.number_of_edges()} edges, {bound} bound to dataset columns.")


def _new_empty() -> None:
    _load(model.new_graph(), "my_graph", "empty graph")


def _import_file() -> None:
    up = ss.get("graph_import_file")
    if up is None:
        raise GraphError("choose a file first.")
    graph, name = gv.graph_from_file(up.name, up.getvalue())
    _load(graph, name, f"file '{up.name}'")
    _notice("success", f"Imported '{up.name}': {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges.")


current = _graph()
with st.expander("Open, create, learn or import a graph", expanded=current is None):
    t_tmpl, t_saved, t_learn, t_import = st.tabs(["New from template", "Saved graphs", "Learn from data", "Import a file"])
    with t_saved:
        saved = store.list_objects(project.id, "graph")
        if not saved:
            st.info("No saved graph in this project yet: start from a template, learn one from data or import a file, "
                    "then save it.")
        else:
            c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
            names = [o.name for o in saved]
            pick = c1.selectbox("Saved graph", names, key="graph_saved_name",
                                format_func=lambda n: f"{n} ({next(o.n_versions for o in saved if o.name == n)} versions)")
            versions = ["latest"]
            with user_errors("Listing the versions"):
                versions += [str(v.version) for v in reversed(store.list_object_versions(project.id, "graph", pick))]
            c2.selectbox("Version", versions, key="graph_saved_version")
            c3.button("Open", key="graph_open_saved", on_click=_guard, args=("Opening the graph", _open_saved))
    with t_tmpl:
        options = templates.template_names() + ([SIM_TRUTH] if truth_path is not None else [])
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        tmpl = c1.selectbox("Template", options, key="graph_template")
        c2.button("Create from template", key="graph_create_template", type="primary",
                  on_click=_guard, args=("Creating the graph", _from_template))
        if tmpl in templates.TEMPLATES:
            st.caption(md(templates.TEMPLATES[tmpl][0]) + (" Nodes are bound to the dataset's columns where the "
                                                         "names fit." if columns else ""))
        else:
            st.caption("The true causal graph the simulator generated this dataset from.")
        st.button("New empty graph", key="graph_new_empty", on_click=_guard, args=("Creating the graph", _new_empty))
    with t_import:
        st.file_uploader("Graph file (JSON, DOT, GML or DAGitty)", key="graph_import_file",
                         type=["json", "dot", "gv", "gml", "dagitty", "txt"])
        st.button("Import", key="graph_import_btn", on_click=_guard, args=("Importing the graph", _import_file))
    with t_learn:
        learn_box = st.container()  # filled below, once the helpers it uses are defined

# ---------------------------------------------------------------------------------------------
# Learn from data (structure learning with bootstrap stability)
# ---------------------------------------------------------------------------------------------


with learn_box:
    unit_names = [t for t in ge.UNIT_TABLES if t in columns_by_table]
    if not unit_names:
        st.info("Structure learning needs a dataset with an interactions or pairs table; import one on the Data page.")
    else:
        c1, c2, c3 = st.columns(3)
        learn_table = c1.selectbox("Data", unit_names, key="graph_learn_table",
                                   help="pairs: every user × candidate item (simulated data); interactions: "
                                        "user × item pairs with events, joined with user activity and item popularity.")
        method = c2.selectbox("Method", ["pc", "ges", "lingam"], key="graph_learn_method",
                              help="pc: conditional-independence tests; ges: score search; lingam: linear non-Gaussian.")
        alpha = c3.number_input("Significance level (pc)", 0.001, 0.5, 0.05, step=0.01, format="%.3f",
                                key="graph_learn_alpha")
        table_cols = numeric_by_table.get(learn_table, [])
        bound = [ge.bound_column(current, n) for n in model.observed_nodes(current)] if current is not None else []
        choice = learn_inputs.default_learning_columns(table_cols, missing_share=missing_by_table.get(learn_table),
                                                       graph_columns=bound,
                                                       constant=constant_by_table.get(learn_table))
        # keyed by the open graph and table: the pre-selection follows the graph's bound columns
        learn_cols = st.multiselect("Columns (numeric)", table_cols, default=choice.columns,
                                    key=f"graph_learn_cols_{ss[GID]}_{learn_table}",
                                    help="Pre-selected: the treatment, the outcome and the covariates; never the "
                                         "simulator's ground truth (p_*, uplift), columns with many missing values, "
                                         "nor columns with one value in every row.")
        for note in choice.notes():
            st.caption(md(note))
        c1, c2, c3 = st.columns(3)
        tiers = [c.multiselect(f"Tier {i + 1}" + (" (earliest)" if i == 0 else ""), learn_cols,
                               key=f"graph_learn_tier{i}") for i, c in enumerate((c1, c2, c3))]
        pairs = {f"{a} → {b}": (a, b) for a in learn_cols for b in learn_cols if a != b}
        forbidden = st.multiselect("Forbidden edges", list(pairs), key="graph_learn_forbidden",
                                   help="Edges the search must not add. Tiers: no edge from a later tier to an earlier one.")
        c1, c2, c3 = st.columns(3)
        resamples = c1.number_input("Stability resamples (bootstrap)", 2, 200, 20, key="graph_learn_resamples")
        threshold = c2.slider("Suggest edges found in at least", 0.1, 1.0, 0.5, 0.05, key="graph_learn_threshold",
                              help="Share of the resamples in which the edge appeared.")
        max_rows = c3.number_input("Rows used at most", 100, 200_000, 20_000, step=1000, key="graph_learn_rows")
        if st.button("Learn the graph", key="graph_learn_btn", type="primary"):
            with user_errors("Learning the graph"), st.spinner("Searching the structure on resampled data…"):
                from causalrec_core.graph import discover as disc

                data = ge.unit_table(store, ds, learn_table)
                kw = {"alpha": float(alpha), "max_rows": int(max_rows),
                      "tiers": [t for t in tiers if t] or None,
                      "forbidden": [pairs[p] for p in forbidden]}
                missing = [c for c in learn_cols if c not in data.columns]
                if missing:
                    raise GraphError(f"columns {missing} are not in the {learn_table} table.")
                ss[LEARN_WARN] = learn_inputs.diagnose_missing(data, learn_cols).warnings()
                ss.pop(LEARN, None)
                stab = disc.stability(data[learn_cols], method=method, n_resamples=int(resamples), **kw)
                sugg = disc.suggestions(stab, threshold=float(threshold))
                ss[LEARN] = {"suggestions": sugg, "notes": list(stab.attrs.get("notes", [])), "method": method,
                             "resamples": int(resamples), "table": learn_table, "seconds": stab.attrs.get("seconds")}
        for warning in ss.get(LEARN_WARN) or []:
            st.warning(md(warning))
        learned = ss.get(LEARN)
        if learned:
            st.markdown(f"**Suggested edges** ({learned['method']}, {learned['resamples']} resamples of the "
                        f"{learned['table']} table; confidence = share of resamples with the edge)")
            for note in learned["notes"]:
                st.caption(md(note))
            if not learned["suggestions"]:
                st.info("No edge reached the threshold: lower it, or add columns.")
            else:
                sug = pd.DataFrame([{**s, "in graph": ge.learned_edge_status(current, s["source"], s["target"]),
                                     "flip": False} for s in learned["suggestions"]])
                sug["accept"] = (sug["orientation"] == "directed") & (sug["in graph"] == "")
                edited = st.data_editor(
                    sug[["accept", "source", "target", "flip", "orientation", "confidence", "in graph"]],
                    hide_index=True, key=f"graph_learn_editor_{ss[REV]}",
                    disabled=["source", "target", "orientation", "confidence", "in graph"],
                    column_config={
                        "accept": st.column_config.CheckboxColumn("accept"),
                        "flip": st.column_config.CheckboxColumn("reverse", help="Add target → source instead "
                                                                "(undirected suggestions: the data cannot tell)."),
                        "confidence": st.column_config.ProgressColumn("confidence", min_value=0.0, max_value=1.0,
                                                                      format="%.2f")})
                label = "Add the accepted edges to the graph" if current is not None else "Start a graph from the accepted edges"
                if st.button(label, key="graph_learn_accept"):
                    graph, added, refused = ge.add_learned_edges(
                        current if current is not None else model.new_graph(), gv.accepted_edges(edited.to_dict("records")),
                        note=f"learned ({learned['method']}, stability)")
                    if current is None:
                        _load(graph, f"learned_{learned['method']}", f"structure learning ({learned['method']})")
                    else:
                        _push(graph)
                    _notice("success", f"Added {added} learned edge(s).")
                    for msg in refused:
                        _notice("error", f"Not added: {msg}")
                    st.rerun()

current = _graph()
if current is None:
    for n in ss[NOTICES]:
        (st.error if n["kind"] == "error" else st.success)(md(n["text"]))
    ss[NOTICES] = []
    st.info("No graph is open. Start from a template (e.g. exposure_bias), open a saved graph, learn one from data "
            "or import a file.")
    st.stop()

# ---------------------------------------------------------------------------------------------
# Editing callbacks
# ---------------------------------------------------------------------------------------------


def _on_edit() -> None:
    """An edit on the drawing: validated by the core; the result is shown in the editor's status
    line, and a refusal also on the page, right under the drawing."""
    edit = (ss.get(EDITOR) or {}).get("edit")
    if edit is None:
        return
    ss[EDITOR_ACK] = edit.get("seq") if isinstance(edit, dict) and isinstance(edit.get("seq"), int) else None
    try:
        graph, message = ge.apply_edit(_graph(), edit)
    except CausalRecError as err:
        ss[EDITOR_NOTICE] = {"kind": "error", "text": f"The edit on the drawing was refused: {err}"}
        return
    except Exception as err:  # noqa: BLE001 - the UI must never show a traceback
        ss[EDITOR_NOTICE] = {"kind": "error", "text": f"The edit on the drawing failed unexpectedly "
                                                      f"({type(err).__name__}: {str(err)[:300]})."}
        return
    if ss[HIST].push(ge.with_layout(graph)):
        ss[REV] += 1
    ss[EDITOR_NOTICE] = None if edit.get("op") == "move" else {"kind": "success", "text": message}


def _on_image() -> None:
    value = (ss.get(EDITOR) or {}).get("image")
    if value is None:
        return
    ss[EDITOR_ACK] = value.get("seq") if isinstance(value, dict) and isinstance(value.get("seq"), int) else None

    def work():
        ss[PNG] = ge.decode_png(value)
        _notice("success", "The drawing is ready: download it as PNG from the Export menu.")

    _guard("Exporting the image", work)


def _step(direction: str) -> None:
    def work():
        getattr(ss[HIST], direction)()
        ss[REV] += 1

    _guard(direction.capitalize(), work)


def _save() -> None:
    def work():
        name = (ss.get("graph_name_input") or "").strip()
        graph = _graph()
        obj = store.save_object(project.id, "graph", name, model.to_dict(graph))
        ss[NAME], ss[SAVED] = obj.name, model.to_dict(graph)
        first = ss.get(ORIGIN) or "an earlier session"
        if not first.startswith("saved graph "):  # the status says what is open now, and where it began
            first = f"saved graph '{obj.name}', version {obj.version}; first opened from {first}"
        else:
            first = f"saved graph '{obj.name}', version {obj.version}"
        ss[ORIGIN] = first
        _notice("success", f"Saved '{obj.name}' as version {obj.version}.")
        if not ss.get(DRAFT_OFFER):  # a pending draft of an earlier session is the user's to restore or discard
            drafts.discard_draft(draft_file)
            ss[DRAFT_SIG] = None

    _guard("Saving the graph", work)


def _set_focus(role: str) -> None:
    def work():
        pick = ss.get(f"graph_{role}")
        pick = None if pick == NONE else pick
        _push(gv.with_focus(_graph(), role, pick), f"{pick} is the {role}." if pick else f"No {role} now.")

    _guard(f"Setting the {role}", work)


def _add_node() -> None:
    def work():
        name = ss.get("graph_add_name") or ""
        role = ss.get("graph_add_role", "variable")
        latent = bool(ss.get("graph_add_latent"))
        col = ss.get("graph_add_column")
        _push(model.add_node(_graph(), name, role=role, latent=latent, column=None if col in (None, NONE) else col),
              f"Added node {name}.")

    _guard("Adding the node", work)


def _rename_node() -> None:
    def work():
        old, new = ss.get("graph_rename_old"), ss.get("graph_rename_new") or ""
        _push(model.rename_node(_graph(), old, new), f"Renamed {old} to {new}.")

    _guard("Renaming the node", work)


def _delete_node() -> None:
    def work():
        node = ss.get("graph_delete_node")
        _push(model.remove_node(_graph(), node), f"Deleted node {node} and its edges.")

    _guard("Deleting the node", work)


# ---------------------------------------------------------------------------------------------
# Toolbar: name, save, undo / redo, export
# ---------------------------------------------------------------------------------------------

graph = _graph()
hist = ss[HIST]
dirty = ss.get(SAVED) != model.to_dict(graph)
bar = st.columns([3, 1, 1, 1, 1.3], vertical_alignment="bottom")
ss.setdefault("graph_name_input", ss.get(NAME) or "")  # widget state is dropped while on other pages
bar[0].text_input("Graph name", key="graph_name_input", max_chars=100,
                  on_change=lambda: ss.__setitem__(NAME, ss["graph_name_input"]))
bar[1].button("Save", key="graph_save", type="primary", on_click=_save, width="stretch",
              help="Save a new version of the graph in the project.")
bar[2].button("Undo", key="graph_undo", on_click=_step, args=("undo",), disabled=not hist.can_undo, width="stretch",
              icon=":material/undo:")
bar[3].button("Redo", key="graph_redo", on_click=_step, args=("redo",), disabled=not hist.can_redo, width="stretch",
              icon=":material/redo:")
with bar[4].popover("Export", width="stretch", icon=":material/download:"):
    base = (ss.get(NAME) or "graph").replace("/", "_")
    for fmt, (label, mime) in EXPORTS.items():
        with user_errors(f"Exporting {label}"):
            st.download_button(label, formats.dumps(graph, fmt).encode("utf-8"), key=f"graph_dl_{fmt}",
                               file_name=f"{base}.{'dagitty' if fmt == 'dagitty' else fmt}", mime=mime,
                               width="stretch", on_click="ignore")
    if ss.get(PNG):
        st.download_button("Drawing (PNG)", ss[PNG], file_name=f"{base}.png", mime="image/png",
                           key="graph_dl_png", width="stretch", on_click="ignore")
    else:
        st.caption("PNG: click 'Export PNG' in the editor's toolbar first.")
draft_note = ""
if ss.get(DRAFT_OFFER):
    draft_note = " Not autosaved until the draft above is restored or discarded."
elif dirty:  # autosave: the unsaved graph survives a reload (written only when it changed)
    sig = json.dumps([ss.get(NAME), ss.get(ORIGIN), model.to_dict(graph)], sort_keys=True, default=str)
    if sig != ss.get(DRAFT_SIG):
        try:
            drafts.write_draft(draft_file, graph, name=ss.get(NAME) or "graph", origin=ss.get(ORIGIN) or "",
                               base=ss.get(SAVED))
            ss[DRAFT_SIG] = sig
        except (OSError, CausalRecError) as err:
            st.warning(md(f"The unsaved graph could not be autosaved to {draft_file} ({err}): a reload would lose "
                          "the changes, so save the graph."))
    if ss.get(DRAFT_SIG) == sig:
        draft_note = " A draft is autosaved: it survives a reload."
elif ss.get(DRAFT_SIG):  # back to the saved version (undo): this session's draft is no longer needed
    try:
        drafts.discard_draft(draft_file)
    except OSError:
        pass
    ss[DRAFT_SIG] = None
origin = ss.get(ORIGIN) or "an earlier session"
st.caption(("Open: " if origin.startswith("saved graph ") else "Opened from ") + f"{md(origin)}. "
           + ("**Unsaved changes.**" if dirty else "Saved.")
           + f" {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges." + draft_note)

with st.container():
    for n in ss[NOTICES]:
        (st.error if n["kind"] == "error" else st.success)(md(n["text"]))
ss[NOTICES] = []

# ---------------------------------------------------------------------------------------------
# Identification (computed before drawing, so that the drawing can show it)
# ---------------------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=64)
def _identify(graph_json: str, t: str, y: str) -> dict:
    from causalrec_core.graph.identify import identify

    return identify(model.from_dict(json.loads(graph_json)), t, y).to_dict()


@st.cache_data(show_spinner=False, max_entries=64)
def _paths(graph_json: str, t: str, y: str, adjustment: tuple[str, ...]) -> dict:
    from causalrec_core.graph.identify import paths_for_drawing

    out = paths_for_drawing(model.from_dict(json.loads(graph_json)), t, y, adjustment)
    return {"causal": sorted(out["causal_edges"]), "backdoor": sorted(out["open_backdoor_edges"]),
            "truncated": out["truncated"]}


graph_json = json.dumps(model.to_dict(graph), sort_keys=True)
observed = [n for n in graph.nodes if n in model.observed_nodes(graph)]
focus = gv.focus_nodes(graph)
t_node, y_node = focus["treatment"], focus["outcome"]

ident, ident_error, draw_paths, adjust_for = None, None, None, ()
side_err = None
if t_node and y_node and t_node != y_node:
    try:
        ident = _identify(graph_json, t_node, y_node)
    except ImportError:
        side_err = "Identification is not available in this version (causalrec_core.graph.identify is missing)."
    except CausalRecError as err:
        ident_error = str(err)

with st.container():
    left, right = st.columns([3, 2], gap="medium")

with right:
    st.subheader("Effect of interest")
    c1, c2 = st.columns(2)
    for col, role in ((c1, "treatment"), (c2, "outcome")):
        opts = [NONE, *observed]
        ss[f"graph_{role}"] = focus[role] if focus[role] in observed else NONE
        col.selectbox(role.capitalize(), opts, key=f"graph_{role}", on_change=_set_focus, args=(role,),
                      help=f"Sets the node's role to '{role}' (the previous {role} becomes a plain variable).")
    for role in ("treatment", "outcome"):
        holders = model.nodes_with_role(graph, role)
        if len(holders) > 1:
            st.warning(md(f"{len(holders)} nodes have the role {role} ({', '.join(holders)}); the first is used. "
                          f"Pick one above."))
    if side_err:
        st.info(side_err)
    elif ident_error:
        st.error(md(f"Identification failed: {ident_error}"))
    elif ident is None:
        st.info("Choose a treatment and an outcome to see how their causal effect is identified.")
    else:
        estimand = gv.ESTIMAND_TEXT.get(ident["estimand"] or "", "")
        if ident["effect_is_zero"]:
            st.info(md(f"{t_node} has no directed path to {y_node}: the graph says its effect is zero."))
        elif ident["identifiable"]:
            st.success(md(f"Identifiable {estimand}."))
        else:
            st.error(md(f"Not identifiable: {ident['reason']}"))
        if ident["optimal_set"] is not None and ident["estimand"] == "backdoor":
            st.markdown("**Adjust for (optimal set):** " + (md(", ".join(ident["optimal_set"])) or "nothing — "
                                                            "no confounding path"))
        sets = ident["backdoor_sets"]
        if sets:
            st.dataframe(pd.DataFrame({"minimal adjustment set": [", ".join(s) or "(empty set)" for s in sets],
                                       "size": [len(s) for s in sets]}), hide_index=True, width="stretch",
                         key="graph_backdoor_sets")
        if ident["frontdoor_sets"]:
            st.dataframe(pd.DataFrame({"frontdoor set": [", ".join(s) for s in ident["frontdoor_sets"]]}),
                         hide_index=True, width="stretch")
        if ident["instruments"]:
            st.dataframe(pd.DataFrame({"instrument": [d["instrument"] for d in ident["instruments"]],
                                       "given": [", ".join(d["conditioning_set"]) or "—" for d in ident["instruments"]]}),
                         hide_index=True, width="stretch")
        for note in ident["notes"]:
            st.caption(md(note))
        choices = gv.adjustment_choices(ident)
        shown = st.selectbox("Show the backdoor paths left open when adjusting for", list(choices),
                             key="graph_adjust_choice")
        adjust_for = choices.get(shown, ())
        try:
            draw_paths = _paths(graph_json, t_node, y_node, adjust_for)
        except CausalRecError as err:
            st.error(md(f"Highlighting the paths failed: {err}"))
        with st.expander(f"Paths ({len(ident['causal_paths'])} causal, {len(ident['open_backdoor_paths'])} open backdoor)"):
            from causalrec_core.graph.identify import format_path

            st.markdown("**Causal paths** (green on the drawing)")
            st.text("\n".join(format_path(graph, p) for p in ident["causal_paths"]) or "none")
            st.markdown("**Backdoor paths open without adjustment** (red when left open)")
            st.text("\n".join(format_path(graph, p) for p in ident["open_backdoor_paths"]) or "none")

# ---------------------------------------------------------------------------------------------
# The drawing
# ---------------------------------------------------------------------------------------------

tests = ss.get(TESTS)
tests_current = bool(tests) and tests.get("graph") == graph_json
hints, flags = [], {}
if tests_current and ss.get("graph_tests_on_drawing", True):
    hints, flags = gv.rejection_marks(tests["table"].to_dict("records"))
overlay = ge.Overlay(
    treatment=t_node, outcome=y_node, adjustment=tuple(adjust_for),
    causal_edges=frozenset(map(tuple, draw_paths["causal"])) if draw_paths else frozenset(),
    backdoor_edges=frozenset(map(tuple, draw_paths["backdoor"])) if draw_paths else frozenset(),
    hints=tuple(hints), flags=flags)
editor_notice = ss.pop(EDITOR_NOTICE, None)
with left:
    try:
        ge.graph_editor(graph, key=EDITOR, on_edit=_on_edit, on_image=_on_image, overlay=overlay,
                        graph_id=ss[GID], rev=ss[REV], notice=editor_notice, ack=ss.get(EDITOR_ACK),
                        height=520 if graph.number_of_nodes() <= 10 else 680)
    except CausalRecError as err:
        st.warning(md(f"The drawing is unavailable ({err}); edit the graph with the tables below."))
    if editor_notice and editor_notice["kind"] == "error":  # under the drawing: the drawing does not move
        st.error(md(editor_notice["text"]))

# ---------------------------------------------------------------------------------------------
# Tables and forms: the accessible way to edit, plus the implication tests
# ---------------------------------------------------------------------------------------------

tab_edges, tab_nodes, tab_tests = st.tabs(["Edges", "Nodes", "Testable implications"])
with tab_edges:
    st.caption("Each row is an edge cause → effect. Add a row at the bottom, edit a cell, or select rows and delete "
               "them; every change is checked (known nodes, no cycle) before it is applied.")
    nodes = [str(n) for n in graph.nodes]
    edited = st.data_editor(
        model.edge_table(graph), key=f"graph_edges_{ss[REV]}", num_rows="dynamic", hide_index=True, width="stretch",
        placeholder="—",  # an empty cell (a template or expert edge has no confidence), never "None"
        column_config={
            "source": st.column_config.SelectboxColumn("source (cause)", options=nodes, required=True),
            "target": st.column_config.SelectboxColumn("target (effect)", options=nodes, required=True),
            "origin": st.column_config.SelectboxColumn("origin", options=list(model.EDGE_ORIGINS)),
            "confidence": st.column_config.NumberColumn(
                "confidence", min_value=0.0, max_value=1.0, format="%.2f",
                help="Learned edges only: the share of the bootstrap resamples of structure learning in which the "
                     "edge appeared (0 to 1). Template and expert edges have none (—)."),
            "note": st.column_config.TextColumn("note"),
        })
    complete = edited.dropna(subset=["source", "target"])  # a row being added counts once both ends are set
    if len(complete) < len(edited.dropna(how="all")):
        st.caption("Rows without a source and a target are ignored until both are set.")
    try:
        new = model.graph_from_edge_table(graph, complete)
    except CausalRecError as err:
        st.error(md(f"The edge table was not applied: {err}"))
        if st.button("Discard the table edits", key="graph_edges_discard"):
            ss[REV] += 1
            st.rerun()
    else:
        if not model.graphs_equal(new, graph):
            _push(new, "Applied the edge table.")
            st.rerun()

with tab_nodes:
    roles = list(model.NODE_ROLES)
    col_opts = list(dict.fromkeys([*columns, *[c for _, c in graph.nodes(data="column") if c]]))
    node_edit = st.data_editor(
        ge.node_table(graph), key=f"graph_nodes_{ss[REV]}", num_rows="fixed", hide_index=True, width="stretch",
        disabled=["node"], placeholder="—",  # an unbound node's column is empty, never "None"
        column_config={
            "role": st.column_config.SelectboxColumn("role", options=roles, required=True),
            "latent": st.column_config.CheckboxColumn("unobserved", help="Latent: not in the data."),
            "column": st.column_config.SelectboxColumn("dataset column", options=col_opts,
                                                       help="The column of the dataset this node stands for; empty "
                                                            "(—) when it has none: a latent node, or one not bound "
                                                            "yet (then matched by its name)."),
            "description": st.column_config.TextColumn("description"),
        })
    try:
        new = ge.apply_node_table(graph, node_edit)
    except CausalRecError as err:
        st.error(md(f"The node table was not applied: {err}"))
    else:
        if not model.graphs_equal(new, graph):
            _push(new, "Applied the node table.")
            st.rerun()

    c1, c2, c3 = st.columns(3)
    with c1.form("graph_add_form", clear_on_submit=True, border=True):
        st.markdown("**Add a node**")
        st.text_input("New node name", key="graph_add_name", max_chars=model.MAX_NAME_LENGTH)
        st.selectbox("Role", roles, key="graph_add_role")
        st.selectbox("Dataset column", [NONE, *columns], key="graph_add_column")
        st.checkbox("Unobserved (latent)", key="graph_add_latent")
        st.form_submit_button("Add node", on_click=_add_node)
    with c2.form("graph_rename_form", clear_on_submit=True, border=True):
        st.markdown("**Rename a node**")
        st.selectbox("Node to rename", nodes, key="graph_rename_old")
        st.text_input("New name", key="graph_rename_new", max_chars=model.MAX_NAME_LENGTH)
        st.form_submit_button("Rename node", on_click=_rename_node, disabled=not nodes)
    with c3.form("graph_delete_form", border=True):
        st.markdown("**Delete a node** (and its edges)")
        st.selectbox("Node to delete", nodes, key="graph_delete_node")
        st.form_submit_button("Delete node", on_click=_delete_node, disabled=not nodes)

with tab_tests:
    st.caption("A DAG implies that some variables are independent given others. Each implication is tested on the "
               "data; a rejected one means the graph misses an edge or a common cause between those variables. "
               "Passing does not prove the graph right.")
    unit_names = [t for t in ge.UNIT_TABLES if t in columns_by_table]
    if ds is None or not unit_names:
        st.info("The tests need a dataset with an interactions or pairs table; import one on the Data page.")
    else:
        best = ge.best_unit_table(graph, columns_by_table) or unit_names[0]
        c1, c2, c3, c4 = st.columns(4)
        table_name = c1.selectbox("Test on", unit_names, index=unit_names.index(best), key="graph_tests_table",
                                  help="The table whose columns the nodes are bound to (pre-selected: the one holding "
                                       "the most bound columns).")
        t_alpha = c2.number_input("Significance level", 0.001, 0.5, 0.05, step=0.01, format="%.3f",
                                  key="graph_tests_alpha")
        correction = c3.selectbox("Multiple-testing correction", ["holm", "bh", "none"], key="graph_tests_corr")
        t_method = c4.selectbox("Test", ["auto", "partial_correlation", "chi2", "g2"], key="graph_tests_method")
        have = set(columns_by_table.get(table_name, []))
        unbound = [n for n in observed if ge.bound_column(graph, n) not in have]
        if unbound:
            st.caption(md(f"Not in the {table_name} table (bind them on the Nodes tab to test them): "
                          + ", ".join(unbound)))
        if st.button("Run the tests", key="graph_tests_run", type="primary"):
            with user_errors("Testing the implications"), st.spinner("Testing the implied independences…"):
                from causalrec_core.graph.implications import test_implications

                data = ge.unit_table(store, ds, table_name)
                result = test_implications(graph, data, alpha=float(t_alpha), correction=correction, method=t_method)
                ss[TESTS] = {"graph": graph_json, "table": result.table, "verdict": result.verdict,
                             "data": table_name}
                st.rerun()
        if tests:
            v = tests["verdict"]
            if not tests_current:
                st.warning("These results are for an earlier version of the graph: run the tests again.")
            show = {"consistent": st.success, "inconsistent": st.error}.get(v["verdict"], st.info)
            show(md(v["message"]))
            st.caption(f"On the {tests['data']} table: {v['n_tests']} tests, {v['n_rejected']} rejected at "
                       f"alpha={v['alpha']:g} ({v['correction']}).")
            from causalrec_core.graph.implications import selection_caveat

            caveat = selection_caveat(tests["data"]) if v["n_rejected"] else None
            if caveat:
                st.caption(md(caveat))
            if len(tests["table"]):
                p_help = ("{}: 3 significant digits; '< 1e-300' when it is below the smallest number the test can "
                          "represent (it underflowed to 0).")
                st.dataframe(gv.tests_display_table(tests["table"]), hide_index=True, width="stretch",
                             key="graph_tests_table_view",
                             column_config={"p_value": st.column_config.TextColumn(
                                                "p_value", help=p_help.format("p-value of the test")),
                                            "p_adjusted": st.column_config.TextColumn(
                                                "p_adjusted", help=p_help.format(
                                                    f"p-value after the {v['correction']} correction")),
                                            "statistic": st.column_config.NumberColumn(format="%.3f")})
                st.checkbox("Show rejected independences on the drawing (red dotted lines, ⚠ on the nodes)",
                            value=True, key="graph_tests_on_drawing")
            if v.get("skipped"):
                with st.expander(f"{len(v['skipped'])} implication(s) not tested"):
                    st.dataframe(pd.DataFrame(v["skipped"]), hide_index=True, width="stretch")
            for note in v.get("notes", []):
                st.caption(md(note))
