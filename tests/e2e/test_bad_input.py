"""Bad input in headless chromium: uploads that cannot be imported show a readable error (never a
traceback) and leave the project's datasets unchanged; a project name that is HTML stays text."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from causalrec_core.store import ProjectStore
from tests.e2e.helpers import (
    assert_no_traceback,
    click_button,
    create_project,
    go_to,
    open_app,
    remove_upload,
    selectbox,
    upload,
)

pytestmark = pytest.mark.browser

IMG_NAME = "<img src=x onerror=alert(1)>"


def _bad_files(folder):
    empty = folder / "empty_log.csv"
    empty.write_bytes(b"")
    binary = folder / "binary_log.csv"  # a .csv name, binary content (NUL and control bytes)
    binary.write_bytes(bytes(range(256)) * 16)
    bad_times = folder / "bad_times.csv"
    bad_times.write_text("user,item,ts,event\n" + "".join(
        f"u{i},i{i % 3},{when},view\n"
        for i, when in enumerate(["yesterday", "not a time", "32/13/2020 25:61", "soon", "??", "--"] * 3)))
    return empty, binary, bad_times


def _error(page):
    """The one st.error on the page."""
    alert = page.get_by_test_id("stAlertContentError")
    expect(alert).to_have_count(1)
    return alert


def _dataset_count(workspace, project_name: str) -> int:
    store = ProjectStore(workspace)
    project = store.find_project(project_name)
    assert project is not None
    return len(store.list_datasets(project.id))


def test_bad_uploads_show_readable_errors(app_server, page, tmp_path):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    empty, binary, bad_times = _bad_files(tmp_path)

    open_app(page, app_server.url)
    create_project(page, "Bad input")
    go_to(page, "Data")
    expect(page.get_by_text("No dataset in this project yet", exact=False)).to_be_visible()
    before = _dataset_count(app_server.workspace, "Bad input")
    assert before == 0

    # (a) an empty file and (b) a binary file: refused while reading, named as the user knows them
    for path, why in ((empty, re.compile(r"empty")), (binary, re.compile(r"binary"))):
        upload(page, path)
        alert = _error(page)
        expect(alert).to_contain_text("Reading the file failed")
        expect(alert).to_contain_text(f"'{path.name}'")
        expect(alert).to_contain_text(why)
        expect(alert).not_to_contain_text(".upload")  # not the stored copy's internal name
        expect(page.get_by_text("Map the columns")).to_have_count(0)
        assert_no_traceback(page)
        assert _dataset_count(app_server.workspace, "Bad input") == before
        remove_upload(page)
        expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)

    # (c) every timestamp unparseable: the file reads, the import is refused
    upload(page, bad_times)
    page.get_by_text("Map the columns").wait_for()
    expect(selectbox(page, "timestamp")).to_have_value("ts")
    click_button(page, "Import dataset")
    alert = _error(page)
    expect(alert).to_contain_text("Importing the dataset failed")
    expect(alert).to_contain_text(re.compile(r"timestamp", re.IGNORECASE))
    expect(alert).to_contain_text("'ts'")
    assert_no_traceback(page)
    assert _dataset_count(app_server.workspace, "Bad input") == before
    expect(page.get_by_text("No dataset in this project yet", exact=False)).to_be_visible()
    assert dialogs == []


def test_html_project_name_is_text(app_server, page):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    open_app(page, app_server.url)
    create_project(page, IMG_NAME)  # waits for the picker and the 'Project: …' heading, verbatim
    expect(page.get_by_test_id("stAlertContentSuccess")).to_have_text(f"Project '{IMG_NAME}' created.")
    go_to(page, "Data")
    expect(page.get_by_text(f"Project: {IMG_NAME}", exact=True)).to_be_visible()
    # the picker lists it as text too
    box = selectbox(page, "Project")
    box.click()
    listbox = page.locator(f'[role="listbox"][id="{box.get_attribute("aria-controls")}"]')
    expect(listbox.get_by_role("option", name=IMG_NAME, exact=True)).to_be_visible()
    box.press("Escape")

    assert page.locator('img[src="x"]').count() == 0
    assert_no_traceback(page)
    names = [p.name for p in ProjectStore(app_server.workspace).list_projects()]
    assert IMG_NAME in names  # stored verbatim
    assert dialogs == []
