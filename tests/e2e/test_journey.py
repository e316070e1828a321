"""User journey in headless chromium: create a project, upload a CSV through the file chooser,
map columns, see the funnel chart, restart the app and find the dataset still there."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import choose, create_project, go_to, open_app, selectbox, upload, wait_idle

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
    funnel.locator(".funnel").first.wait_for()  # plotly drew the funnel trace
    expect(funnel.get_by_text(re.compile("^Funnel: events per step"))).to_be_visible()


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
    wait_idle(page)
    page.get_by_role("button", name="Import dataset").click()
    page.get_by_text("Imported 'journey_log'").wait_for(timeout=60_000)

    # the profile and the funnel chart are drawn
    _assert_profile(page)
    page.get_by_role("tab", name="Data quality & cleaning").click()
    expect(page.get_by_text(re.compile(r"Column mapping: .*user ← member, item ← product"))).to_be_visible()

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
