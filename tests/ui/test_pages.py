"""AppTest page tests: Home and Data, on a fresh workspace with the bundled sample project."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.ui.conftest import Upload, with_uploads

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


def _run(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    return at


def test_home_opens_sample_project(workspace):
    at = _run()
    assert not at.exception
    assert [t.value for t in at.title] == ["CausalRec Studio"]
    assert at.sidebar.selectbox(key="project_picker").value is not None
    assert any("Sample shop" in s.value for s in at.subheader)
    datasets = at.dataframe[0].value
    assert list(datasets["dataset"]) == ["events"]
    assert int(datasets["events kept"].iloc[0]) > 10_000
    # short metric labels (a long one is cut off at the default wide layout); the detail is in the help
    labels = [m.label for m in at.metric]
    assert labels == ["Datasets", "Events (all datasets)", "Saved objects", "Training runs"]
    assert all(len(label) <= 22 for label in labels)
    saved = next(m for m in at.metric if m.label == "Saved objects")
    assert "causal graphs, effect runs and reports" in saved.proto.help


def test_home_create_rename_and_bad_name(workspace):
    at = _run()
    at.text_input(key="new_project_name").input("  ")  # a blank name is refused with a readable error
    at.button(key="create_project_btn").click().run()
    assert not at.exception
    assert any("name" in e.value for e in at.error)
    at.text_input(key="new_project_name").input("<script>alert(1)</script>")
    at.button(key="create_project_btn").click().run()
    assert not at.exception
    assert any("created" in s.value for s in at.success)
    from causalrec_core.store import ProjectStore

    names = [p.name for p in ProjectStore(workspace).list_projects()]
    assert "<script>alert(1)</script>" in names  # stored verbatim, shown escaped


def test_data_page_shows_sample_profile(workspace):
    at = _run("pages/data.py")
    assert not at.exception
    assert [t.value for t in at.title] == ["Data"]
    assert any("Profile of" in s.value for s in at.subheader)
    labels = [m.label for m in at.metric]
    assert {"Rows read", "Rows kept", "Users", "Items"} <= set(labels)
    rows_kept = next(m for m in at.metric if m.label == "Rows kept").value
    assert int(rows_kept.replace(",", "")) > 10_000
    # the cleaning report lists every rule
    report = next(df.value for df in at.dataframe if "rule" in df.value.columns)
    assert "duplicate" in set(report["rule"])


def test_data_page_without_project(workspace):
    at = _run()
    from causalrec_core.store import ProjectStore

    store = ProjectStore(workspace)
    for p in store.list_projects():
        store.delete_project(p.id)
    at = _run("pages/data.py")
    assert not at.exception
    assert any("create a project" in i.value.lower() for i in at.info)


def _import_csv(store, project_id: int, name: str, path: Path, lines: list[str]) -> int:
    from causalrec_core.data.importer import import_dataset

    path.write_text("\n".join(["user,item,ts,event", *lines]) + "\n")
    return import_dataset(store, project_id, name, path, {"user": "user", "item": "item", "timestamp": "ts",
                                                          "event": "event"}).id


def test_data_page_offers_rejected_rows_only_when_there_are_some(workspace, tmp_path):
    from causalrec_core.sample import ensure_sample_project
    from causalrec_core.store import ProjectStore

    store = ProjectStore(workspace)
    project = ensure_sample_project(store)
    rows = [f"u{i % 7},i{i % 11},2024-01-{1 + i % 28:02d}T10:{i % 60:02d}:00Z,{('view', 'purchase')[i % 2]}"
            for i in range(60)]
    clean = _import_csv(store, project.id, "clean", tmp_path / "clean.csv", rows)
    dirty = _import_csv(store, project.id, "dirty", tmp_path / "dirty.csv", [*rows, ",i1,2024-01-02T10:00:00Z,view"])
    at = _run("pages/data.py")
    for ds_id, expect in ((clean, None), (dirty, "Download rejected rows (1) as CSV")):
        at.selectbox(key="dataset_picker").set_value(ds_id).run()
        assert not at.exception, at.exception
        labels = [b.proto.label for b in at.get("download_button")]
        if expect is None:
            assert not any("rejected" in x for x in labels), labels
            assert any(c.value == "No row was rejected." for c in at.caption)
        else:
            assert expect in labels, labels
            assert not any(c.value == "No row was rejected." for c in at.caption)


def test_data_page_empty_upload_shows_only_the_error(workspace, monkeypatch):
    with_uploads(monkeypatch, {"log_upload": Upload("empty.csv", b"")})
    at = _run("pages/data.py")
    assert not at.exception, at.exception
    errors = [e.value.replace("\\", "") for e in at.error]
    assert errors == ["Reading the file failed: The file 'empty.csv' is empty (0 bytes): there is nothing to read."], errors
    assert not [b.label for b in at.selectbox if b.label in ("Encoding", "Delimiter", "First line")]
    assert not any("Map the columns" in m.value for m in at.markdown)


def test_data_page_upload_shows_the_reading_options(workspace, monkeypatch):
    with_uploads(monkeypatch, {"log_upload": Upload("log.csv", b"user,item,ts\nu1,i1,2024-01-01T00:00:00Z\n"
                                                              b"u2,i2,2024-01-02T00:00:00Z\n")})
    at = _run("pages/data.py")
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert {"Encoding", "Delimiter", "First line"} <= {b.label for b in at.selectbox}
    assert any("Map the columns" in m.value for m in at.markdown)
