"""Data: import a behaviour log (detect, map, clean) and profile the project's datasets."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import streamlit as st

from causalrec_core.data.clean import RULES, CleaningOptions
from causalrec_core.data.export import to_csv_bytes
from causalrec_core.data.importer import import_dataset
from causalrec_core.data.ingest import event_labels
from causalrec_core.data.io import DELIMITERS, ENCODINGS, sniff
from causalrec_core.data.mapping import canonical_event
from causalrec_core.data.profile import readable_utc, top_shares
from causalrec_core.data.schema import CANONICAL_EVENTS, ROLES
from ui import charts
from ui.common import dataset_picker, flash, md, user_errors
from ui.state import get_state, get_store
from ui.uploads import detect, save_upload

store = get_store()
state = get_state()
NONE = "— none —"
UNKNOWN = "(unknown)"
ROLE_HELP = {
    "user": "who acted (required)", "item": "on what (required)", "timestamp": "when (required)",
    "event": "view / click / cart / fav / purchase … (without it every row is a view)",
    "value": "rating, price, dwell time …", "exposed": "the logging system showed the item (yes/no)",
    "position": "slot where it was shown (1 = top)", "propensity": "probability that the logging policy showed it",
}
DELIM_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}

st.title("Data")
flash()
if state.project_id is None:
    st.info("Open or create a project on the Home page first.")
    st.stop()
project = store.get_project(state.project_id)
st.caption(f"Project: {md(project.name)}")

# ---------------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------------
datasets = store.list_datasets(project.id)
with st.expander("Import a behaviour log", expanded=not datasets):
    uploaded = st.file_uploader(
        "Upload a behaviour log (CSV, TSV, Parquet or JSON lines)",
        type=["csv", "tsv", "txt", "parquet", "pq", "jsonl", "json", "ndjson"], key="log_upload")
    if uploaded is not None:
        path = None
        with user_errors("Reading the upload"):
            path = save_upload(uploaded, store.root)
        if path is not None and path.stat().st_size == 0:
            # nothing to read: the core's empty-file error alone, without reading options that cannot help
            with user_errors("Reading the file", {path.name: uploaded.name}):
                sniff(path)
            path = None
        if path is not None:
            # Core messages name the stored copy ('<sha256>.upload'): show the user's file name.
            names = {path.name: uploaded.name}
            # The import widgets are keyed by the file's content (and the mapping ones by the
            # reading options too), so that another file starts from its own suggestions and
            # name instead of inheriting the previous file's choices.
            fkey = path.stem[:16]
            oc1, oc2, oc3 = st.columns(3)
            enc = oc1.selectbox("Encoding", ["detect", *ENCODINGS], key=f"imp_encoding_{fkey}")
            delim = oc2.selectbox("Delimiter", ["detect", *DELIMITERS], key=f"imp_delim_{fkey}",
                                  format_func=lambda d: DELIM_NAMES.get(d, d))
            header = oc3.selectbox("First line", ["detect", "column names", "data"], key=f"imp_header_{fkey}")
            overrides = {}
            if enc != "detect":
                overrides["encoding"] = enc
            if delim != "detect":
                overrides["delimiter"] = delim
            if header != "detect":
                overrides["has_header"] = header == "column names"
            mkey = f"{fkey}_{enc}_{DELIM_NAMES.get(delim, delim)}_{header}".replace(" ", "-")
            detected = None
            with user_errors("Reading the file", names):
                detected = detect(str(path), uploaded.name, tuple(sorted(overrides.items())))
            if detected is not None:
                fmt, prev, sugg = detected
                st.caption(
                    f"Detected: {fmt.kind}"
                    + (f", {fmt.encoding}, {DELIM_NAMES.get(fmt.delimiter, fmt.delimiter)}-separated, "
                       f"{'with' if fmt.has_header else 'without'} a header row" if fmt.kind == "csv" else "")
                )
                for note in fmt.notes:
                    st.warning(md(note))
                st.dataframe(prev.head(50), hide_index=True, width="stretch", height=220)

                st.markdown("**Map the columns** (suggestions are pre-selected; change any of them)")
                cols = list(prev.columns)
                mapping: dict[str, str | None] = {}
                grid = st.columns(4)
                for j, role in enumerate(ROLES):
                    col, reason = sugg[role]
                    options = [NONE, *cols]
                    choice = grid[j % 4].selectbox(
                        f"{role}", options, index=options.index(col) if col in cols else 0,
                        key=f"map_{role}_{mkey}", help=f"{ROLE_HELP[role]}. Suggestion: {reason}.")
                    mapping[role] = None if choice == NONE else choice

                event_map: dict[str, str | None] = {}
                if mapping.get("event"):
                    labels = []
                    with user_errors("Reading the event labels", names):
                        labels = event_labels(path, fmt, mapping["event"])
                    if labels:
                        st.markdown("**Event labels** → canonical events (unknown labels are kept as "
                                    "'other' or dropped, as chosen below)")
                        table = pd.DataFrame({"label": labels,
                                              "canonical event": [canonical_event(x) or UNKNOWN for x in labels]})
                        ekey = hashlib.sha1(mapping["event"].encode()).hexdigest()[:8]  # per event column
                        edited = st.data_editor(
                            table, hide_index=True, disabled=["label"], key=f"event_map_{mkey}_{ekey}",
                            column_config={"canonical event": st.column_config.SelectboxColumn(
                                options=[*CANONICAL_EVENTS, UNKNOWN], required=True)})
                        event_map = {r["label"]: (None if r["canonical event"] == UNKNOWN else r["canonical event"])
                                     for r in edited.to_dict("records")}
                        unknown = [lab for lab, ev in event_map.items() if ev is None]
                        if unknown:  # said before the import, so that the user can map them
                            shown = ", ".join(repr(x) for x in unknown[:20]) + (" …" if len(unknown) > 20 else "")
                            st.warning(md(
                                f"{len(unknown)} event label{'s are' if len(unknown) > 1 else ' is'} not recognised "
                                f"and will become 'other' (or be dropped, as the 'unknown event' choice below says): "
                                f"{shown}. Choose a canonical event for {'them' if len(unknown) > 1 else 'it'} "
                                "in the table above."))

                st.markdown("**Cleaning**: rows with missing ids, unparseable timestamps or malformed "
                            "lines are always dropped and saved in a 'rejected' table. For the rest:")
                ccols = st.columns(3)
                choices = {}
                for j, rule in enumerate(("duplicate", "unknown_event", "out_of_range_value",
                                          "implausible_time", "bot_user")):
                    default = CleaningOptions().__getattribute__(rule)
                    choices[rule] = ccols[j % 3].radio(
                        rule.replace("_", " "), ["keep", "drop"], index=["keep", "drop"].index(default),
                        horizontal=True, key=f"clean_{rule}", help=RULES[rule][0])
                bot_threshold = ccols[2].number_input(
                    "bot threshold (events per user; 0 = automatic)", min_value=0, value=0, step=100,
                    key="clean_bot_threshold")
                time_zone = ccols[0].text_input(
                    "Time zone of timestamps without an offset", value="UTC", key="clean_time_zone",
                    help="Local times such as '01/06/2024 02:02' are read in this IANA zone (e.g. Europe/Paris, "
                         "America/New_York) and converted to UTC; timestamps with an offset ('+02:00', 'Z') and "
                         "epoch numbers are absolute and not affected.").strip()
                sc1, sc2 = st.columns(2)
                items_up = sc1.file_uploader("Item side table (optional; joined on its item id)",
                                             type=["csv", "tsv", "txt", "parquet", "jsonl"], key="items_upload")
                users_up = sc2.file_uploader("User side table (optional; joined on its user id)",
                                             type=["csv", "tsv", "txt", "parquet", "jsonl"], key="users_upload")
                default_name = Path(uploaded.name).stem[:100] or "dataset"
                ds_name = st.text_input("Dataset name", value=default_name, max_chars=100, key=f"imp_name_{fkey}")
                replace = st.checkbox("Replace a dataset with the same name", key=f"imp_replace_{fkey}")
                if st.button("Import dataset", type="primary", key="imp_go"):
                    with user_errors("Importing the dataset", names), st.spinner("Reading, cleaning and profiling…"):
                        options = CleaningOptions(**choices, bot_threshold=int(bot_threshold) or None,
                                                  time_zone=time_zone)
                        items_path = save_upload(items_up, store.root) if items_up else None
                        users_path = save_upload(users_up, store.root) if users_up else None
                        for side_path, side_up in ((items_path, items_up), (users_path, users_up)):
                            if side_path is not None:
                                names[side_path.name] = side_up.name
                        info = import_dataset(
                            store, project.id, ds_name, path, mapping, file_format=fmt,
                            event_map=event_map or None, options=options, items_path=items_path,
                            users_path=users_path, replace=replace, source_name=uploaded.name)
                        state.dataset_id = info.id
                        state.flash = (f"Imported '{md(info.name)}': {info.n_rows:,} events kept of "
                                       f"{info.profile['rows_in']:,} read.")
                        st.rerun()

# ---------------------------------------------------------------------------------------------
# Profile of a dataset
# ---------------------------------------------------------------------------------------------
ds = dataset_picker(store, project.id, state, key="dataset_picker",
                    format_func=lambda d: f"{d.name} ({d.n_rows:,} events)")
if ds is None:
    st.info("No dataset in this project yet: import a log above.")
    st.stop()
p = ds.profile

st.subheader(f"Profile of {md(ds.name)}")
m = st.columns(6)
m[0].metric("Rows read", f"{p['rows_in']:,}")
n_dropped = p["rows_in"] - p["rows_kept"]
m[1].metric("Rows kept", f"{p['rows_kept']:,}", delta=f"-{n_dropped:,} dropped" if n_dropped else None,
            delta_color="off")
m[2].metric("Users", f"{p['users']:,}")
m[3].metric("Items", f"{p['items']:,}")
m[4].metric("Sparsity", charts.short_percent(p["sparsity"]),
            help="1 − (distinct user×item pairs) / (users × items)"
                 + (f" = {p['sparsity']:.6%}" if p["sparsity"] is not None else ""))
m[5].metric("Days covered", f"{p['time_span_days']:.1f}", help=f"{p['time_min']} → {p['time_max']} (UTC)")
st.caption(f"Time range (UTC): {p['time_min']} → {p['time_max']}. Source: {md(ds.source.get('file'))}; "
           f"content hash {ds.content_hash[:16]}…; saved {readable_utc(ds.created_at)}.")

tab_f, tab_t, tab_pop, tab_u, tab_q = st.tabs(
    ["Funnel", "Over time", "Popularity long tail", "User activity", "Data quality & cleaning"])
with tab_f:
    steps = charts.funnel_steps(p)
    if steps:
        st.plotly_chart(charts.funnel(p), width="stretch", key="chart_funnel")
        st.dataframe(charts.funnel_frame(p), hide_index=True, column_config={
            "events": st.column_config.NumberColumn(format="localized"),
            "users with this event": st.column_config.NumberColumn(
                format="localized", help="Users with at least one event of this step — not users who went "
                                         "through the earlier steps: the log does not link a purchase to a view."),
            "conversion from previous step": st.column_config.NumberColumn(format="percent"),
            f"share of {steps[0]} events": st.column_config.NumberColumn(format="percent")})
    else:
        st.info("No funnel events (exposure, view, click, cart, purchase) in this dataset.")
    side = charts.side_action_text(p)
    if side:
        st.caption(md(side))
    st.caption("Events per canonical type: " + ", ".join(f"{k} {v:,}" for k, v in charts.events_in_order(p)))
with tab_t:
    st.plotly_chart(charts.events_over_time(p), width="stretch", key="chart_time")
with tab_pop:
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.popularity_long_tail(p), width="stretch", key="chart_tail")
    c2.plotly_chart(charts.lorenz(p), width="stretch", key="chart_lorenz")
    shares = top_shares(p)  # by key: a stored profile's keys come back sorted (top_10pct, top_1pct, …)
    st.caption("Share of all events held by the top " + " / ".join(f"{pct}%" for pct, _ in shares) + " of items: "
               + " / ".join(f"{v:.1%}" for _, v in shares)
               + f". Gini coefficient of events per item: {p['gini_items']:.3f} (0 = uniform).")
with tab_u:
    st.plotly_chart(charts.user_activity(p), width="stretch", key="chart_users")
with tab_q:
    st.markdown("**Cleaning report** (every rule, the rows it touched and what was done)")
    # the detail (what was found, e.g. the bot threshold) before the long rule description, so it is in view
    rep = pd.DataFrame(ds.cleaning_report["rules"])[["rule", "rows", "action", "detail", "description"]]
    st.dataframe(rep, hide_index=True, width="stretch")
    # the bot rule's threshold sentence, in full under the table (a wide table cell cuts it off)
    bots = next((r for r in ds.cleaning_report["rules"] if r["rule"] == "bot_user" and r.get("detail")), None)
    if bots is not None:
        st.caption(f"Bot-like users: {md(bots['detail'])}.")
    st.caption(md(f"Timestamps parsed as {ds.cleaning_report.get('time_parse')}. "
                  + charts.options_text(ds.cleaning_report.get("options") or {})))
    st.markdown("**Columns of the cleaned events**")
    quality = pd.DataFrame(p["quality"])
    if "flags" in set(quality["column"]):  # the cleaning's own marker column: said, not listed as data
        quality = quality[quality["column"] != "flags"]
        st.caption("The cleaned table also has a `flags` column, set on the kept rows that a cleaning rule flagged "
                   "(see the report above); it is not part of the log.")
    st.dataframe(quality, hide_index=True, width="stretch", column_config={
        "missing_share": st.column_config.NumberColumn("missing share", format="percent"),
        "distinct_is_exact": st.column_config.CheckboxColumn(
            "distinct exact", help="Exact count; unticked: an estimate (HyperLogLog), used on logs of more than "
                                   "2 million events.")})
    roles = [r for r in ROLES if r in ds.mapping] + [r for r in ds.mapping if r not in ROLES]
    st.markdown("**Column mapping**: " + ", ".join(f"{r} ← {md(ds.mapping[r])}" for r in roles))
    d1, d2, d3 = st.columns(3)
    # the profile's count decides whether the table is read at all; the button shows only with rows to download
    rejected = store.load_table(ds.id, "rejected") if "rejected" in ds.tables and n_dropped else None
    if rejected is not None and len(rejected):
        d1.download_button(f"Download rejected rows ({len(rejected):,}) as CSV", to_csv_bytes(rejected),
                           file_name=f"{ds.name}-rejected.csv", mime="text/csv", key="dl_rejected")
    else:
        d1.caption("No row was rejected.")
    d2.download_button("Download the profile (JSON)", json.dumps(p, indent=2).encode(),
                       file_name=f"{ds.name}-profile.json", mime="application/json", key="dl_profile")
    confirm = d3.checkbox("Confirm deletion", key="confirm_ds_delete")
    if d3.button("Delete this dataset", disabled=not confirm, key="ds_delete"):
        with user_errors("Deleting the dataset"):
            store.delete_dataset(ds.id)
            state.dataset_id = None
            state.flash = f"Dataset '{md(ds.name)}' deleted."
            st.rerun()
