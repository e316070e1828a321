"""User journey in headless chromium: create a project, upload a CSV through the file chooser,
map columns, see the funnel chart, restart the app and find the dataset still there."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from causalrec_core.store import ProjectStore
from tests.e2e.helpers import choose, click_button, create_project, go_to, open_app, selectbox, upload

pytestmark = pytest.mark.browser

SCRIPT_ID = "<script>alert(1)</script>"


def _write_log(path):
    # Column names that are not the canonical ones ('product', 'member', 'ts', 'action'), 'product'
    # first: the user sets the user and item columns by hand whatever the suggestion was.
    rows = ["product,member,ts,action"]
    labels = ["pv", "pv", "click", "cart", "buy"]
    for u in range(30):
        for k, lab in enumerate(labels[: 1 + u % 5]):
            rows.append(f"p{(u * 7 + k) % 11},m{u},{1704067200 + u * 3600 + k * 60},{lab}")
    rows.append(f"p1,{SCRIPT_ID},1704067200,pv")
    path.write_text("\n".join(rows) + "\n")
    return path


def _metric(page, label: str):
    return page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").filter(has_text=re.compile(f"^{re.escape(label)}$"))
    ).get_by_test_id("stMetricValue")


def _assert_profile(page) -> None:
    """The profile of journey_log: 31 users, and the funnel chart on the (default) Funnel tab."""
    page.get_by_role("heading", name="Profile of journey_log").wait_for(timeout=60_000)
    expect(_metric(page, "Users")).to_have_text("31")  # 30 + the <script> one
    expect(_metric(page, "Rows read")).to_have_text("91")
    page.get_by_role("tab", name="Funnel").click()
    funnel = page.get_by_test_id("stPlotlyChart").first
    funnel.locator("g.funnellayer g.trace").first.wait_for()  # plotly drew the funnel trace
    expect(funnel.get_by_text(re.compile("^Funnel: events per step"))).to_be_visible()
    # steps in funnel order, each rate relative to the previous step (55 views, 18 clicks, 12 carts)
    expect(funnel.get_by_text("click: 18 events (32.7% of view)", exact=True)).to_be_visible()
    expect(funnel.get_by_text("cart: 12 events (66.7% of click, 21.8% of view)", exact=True)).to_be_visible()


def _assert_not_executed(page, dialogs: list) -> None:
    assert dialogs == []
    # the id never reached the DOM as markup
    assert page.locator("script", has_text="alert(1)").count() == 0


def test_upload_map_profile_restart(app_server, page, tmp_path):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log = _write_log(tmp_path / "journey_log.csv")

    open_app(page, app_server.url)
    # the sample project is open by default
    expect(selectbox(page, "Project")).to_have_value("Sample shop (simulated)")
    page.get_by_role("heading", name="Project: Sample shop (simulated)").wait_for()

    create_project(page, "Journey")

    # Data page: upload through the file chooser
    go_to(page, "Data")
    expect(page.get_by_text("Project: Journey", exact=True)).to_be_visible()
    upload(page, log)
    page.get_by_text("Map the columns").wait_for()

    # fix the mapping by hand
    choose(page, "user", "member")
    choose(page, "item", "product")
    click_button(page, "Import dataset")  # saves, then st.rerun()s to show the profile
    page.get_by_text("Imported 'journey_log'").wait_for(timeout=60_000)

    # the profile and the funnel chart are drawn
    _assert_profile(page)
    page.get_by_role("tab", name="Data quality & cleaning").click()
    expect(page.get_by_test_id("stMarkdownContainer").filter(has_text="Column mapping")).to_have_text(
        "Column mapping: user ← member, item ← product, timestamp ← ts, event ← action")

    # the <script> id is text, never executed
    _assert_not_executed(page, dialogs)

    # restart the app: the dataset is still there
    app_server.restart()
    open_app(page, app_server.url)
    choose(page, "Project", "Journey")
    page.get_by_role("heading", name="Project: Journey").wait_for()
    go_to(page, "Data")
    _assert_profile(page)
    _assert_not_executed(page, dialogs)


def test_another_file_and_second_dataset(app_server, page, tmp_path):
    """A second file starts from its own suggestions and name (not the previous file's choices),
    and importing into a project that already has a dataset shows the new dataset's profile."""
    first = _write_log(tmp_path / "first_log.csv")
    second = tmp_path / "second_log.csv"
    second.write_text(first.read_text() + "p2,m99,1704070000,pv\n")

    open_app(page, app_server.url)  # the first run creates the sample project
    store = ProjectStore(app_server.workspace)
    events = store.find_dataset(store.find_project("Sample shop (simulated)").id, "events")
    go_to(page, "Data")
    page.get_by_role("heading", name="Profile of events").wait_for(timeout=60_000)
    page.get_by_test_id("stExpander").get_by_text("Import a behaviour log").click()

    upload(page, first)
    choose(page, "user", "ts")
    expect(page.get_by_label("Dataset name", exact=True)).to_have_value("first_log")
    upload(page, second)  # replaces the first file
    expect(selectbox(page, "user")).to_have_value("member")
    expect(page.get_by_label("Dataset name", exact=True)).to_have_value("second_log")

    click_button(page, "Import dataset")
    page.get_by_text("Imported 'second_log'").wait_for(timeout=60_000)
    page.get_by_role("heading", name="Profile of second_log").wait_for()
    expect(selectbox(page, "Dataset")).to_have_value("second_log (92 events)")
    expect(_metric(page, "Users")).to_have_text("32")

    # the picker still switches datasets
    choose(page, "Dataset", f"events ({events.n_rows:,} events)")
    page.get_by_role("heading", name="Profile of events").wait_for()
