"""Playwright helpers for the Streamlit UI: accessible selectors only (roles, exact labels,
data-testid), and waits on a specific element or on the end of a script run, never sleeps.

While a rerun is in flight, Streamlit keeps the previous run's elements in the DOM (marked
``data-stale="true"``) and may briefly render a widget twice. So every interaction that reruns
the script waits for *that* run to end: the server's ``script_finished`` message on the app's
websocket (read with Streamlit's own protobuf classes), then an idle, stale-free page. Watching
the DOM alone is not enough: a short run can go running -> notRunning within one React render.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from pathlib import Path

from google.protobuf.message import DecodeError
from playwright.sync_api import Locator, Page, WebSocket, expect
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

APP_READY = 120_000  # the first run of a fresh server imports the sample project

_SOCKETS: weakref.WeakKeyDictionary[Page, WebSocket] = weakref.WeakKeyDictionary()
_IDLE = ('[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
         '[data-test-script-state="notRunning"]')


def track_app_socket(page: Page) -> None:
    """Remember the page's Streamlit websocket (a new one after each navigation); call this
    before the first ``goto``."""
    def _opened(ws: WebSocket) -> None:
        if ws.url.endswith("/_stcore/stream"):
            _SOCKETS[page] = ws

    page.on("websocket", _opened)


def _run_finished(payload: str | bytes) -> bool:
    """True for a ForwardMsg that ends a script run (not one cut short by a rerun)."""
    if isinstance(payload, str):
        return False
    try:
        msg = ForwardMsg.FromString(payload)
    except DecodeError:
        return False
    return (msg.WhichOneof("type") == "script_finished"
            and msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN)


def wait_idle(page: Page, timeout: float = 60_000) -> None:
    """Wait until the app is connected, no script run is in progress and no stale element is left."""
    page.locator(_IDLE).wait_for(timeout=timeout)
    expect(page.locator('[data-stale="true"]')).to_have_count(0, timeout=timeout)


def rerun(page: Page, action: Callable[[], object], timeout: float = 60_000) -> None:
    """Do ``action`` (which must make the app rerun) and wait until that rerun has finished."""
    with _SOCKETS[page].expect_event("framereceived", predicate=_run_finished, timeout=timeout):
        action()
    wait_idle(page, timeout)


def open_app(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name="CausalRec Studio").first.wait_for(timeout=APP_READY)
    wait_idle(page, APP_READY)


def selectbox(page: Page, label: str) -> Locator:
    """The input of the ``st.selectbox`` whose label is exactly ``label``."""
    return page.get_by_role("combobox", name=label, exact=True)


def choose(page: Page, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox labelled ``label``, wait for the rerun it causes (if
    the value changed) and check that the selectbox shows it."""
    box = selectbox(page, label)
    if box.input_value() != option:
        box.click()
        expect(box).to_have_attribute("aria-expanded", "true")
        listbox = page.locator(f'[role="listbox"][id="{box.get_attribute("aria-controls")}"]')
        rerun(page, listbox.get_by_role("option", name=option, exact=True).click)
    expect(box).to_have_value(option)
    expect(box).to_have_attribute("aria-expanded", "false")


def set_number(page: Page, label: str, value: int) -> None:
    """Type ``value`` into the number input labelled ``label`` and wait for the rerun."""
    field = page.get_by_label(label, exact=True)

    def _type() -> None:
        field.fill(str(value))
        field.press("Enter")

    rerun(page, _type)
    expect(field).to_have_value(str(value))


def click_button(page: Page, name: str) -> None:
    """Click the button named ``name`` and wait for the rerun it causes."""
    rerun(page, page.get_by_role("button", name=name, exact=True).click)


def go_to(page: Page, title: str) -> None:
    """Open a page through the sidebar navigation and wait for its title."""
    link = page.get_by_test_id("stSidebarNavLink").filter(has=page.get_by_text(title, exact=True))
    rerun(page, link.click)
    page.get_by_role("heading", name=title, exact=True).first.wait_for()


def create_project(page: Page, name: str) -> None:
    page.get_by_label("Project name", exact=True).fill(name)
    click_button(page, "Create project")
    expect(selectbox(page, "Project")).to_have_value(name)
    # the Home page shows the project name (escaped) as the subheader
    page.get_by_role("heading", name=f"Project: {name}", exact=True).wait_for()


def _uploader(page: Page, label: str) -> Locator:
    return page.get_by_test_id("stFileUploader").filter(
        has=page.get_by_test_id("stWidgetLabel").filter(has_text=label))


def upload(page: Page, path: Path, label: str = "Upload a behaviour log") -> None:
    """Upload ``path`` through the file chooser of the uploader whose label starts with ``label``
    and wait for the rerun that reads it."""
    uploader = _uploader(page, label)
    # 'Upload' on an empty uploader, 'Add files' (replaces the file of a single-file one) otherwise
    button = uploader.get_by_role("button", name=re.compile(r"^(Upload|Add files)$"))

    def _choose_file() -> None:
        with page.expect_file_chooser() as fc:
            button.click()
        fc.value.set_files(str(path))

    rerun(page, _choose_file)
    expect(uploader.get_by_test_id("stFileChipName")).to_have_text(path.name)


def remove_upload(page: Page, label: str = "Upload a behaviour log") -> None:
    uploader = _uploader(page, label)
    rerun(page, uploader.get_by_test_id("stFileChipDeleteBtn").get_by_role("button").click)
    expect(uploader.get_by_test_id("stFileChip")).to_have_count(0)


def assert_no_traceback(page: Page) -> None:
    body = page.locator("body").inner_text()
    assert "Traceback" not in body, body[-2000:]
    assert 'File "' not in body, body[-2000:]
    expect(page.get_by_test_id("stException")).to_have_count(0)
