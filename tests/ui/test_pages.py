"""AppTest page tests: Home and Data, on a fresh workspace with the bundled sample project."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

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
