"""User journey in headless chromium: create a project, upload a CSV through the file chooser,
map columns, see the funnel chart, restart the app and find the dataset still there."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


def _write_log(path):
    # 'product' comes before 'member', so the content-based guess maps them the wrong way round and
    # the user has to correct the mapping by hand.
    rows = ["product,member,ts,action"]
    labels = ["pv", "pv", "click", "cart", "buy"]
    for u in range(30):
        for k, lab in enumerate(labels[: 1 + u % 5]):
            rows.append(f"p{(u * 7 + k) % 11},m{u},{1704067200 + u * 3600 + k * 60},{lab}")
    rows.append("p1,<script>alert(1)</script>,1704067200,pv")
    path.write_text("\n".join(rows) + "\n")
    return path


def _choose(page, label: str, option: str) -> None:
    box = page.locator('[data-testid="stSelectbox"]').filter(
        has=page.get_by_text(label, exact=True))
    box.locator('[data-baseweb="select"]').click()
    page.locator('[role="option"]').filter(has_text=re.compile(f"^{re.escape(option)}$")).first.click()


def _open_project(page, url: str, name: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name="CausalRec Studio").first.wait_for(timeout=120_000)
    _choose(page, "Project", name)
    page.get_by_text(f"Project: {name}").wait_for()


def test_upload_map_profile_restart(app_server, page, tmp_path):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log = _write_log(tmp_path / "journey_log.csv")

    page.goto(app_server.url)
    page.get_by_role("heading", name="CausalRec Studio").first.wait_for(timeout=120_000)
    # the sample project is open by default
    page.get_by_text("Project: Sample shop (simulated)").wait_for()

    # create a project
    page.get_by_label("Project name").fill("Journey")
    page.get_by_role("button", name="Create project").click()
    page.get_by_text("Project: Journey").wait_for()

    # Data page: upload through the file chooser
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Data").click()
    page.get_by_role("heading", name="Data").first.wait_for()
    with page.expect_file_chooser() as fc:
        page.locator('[data-testid="stFileUploaderDropzone"]').first.locator(
            '[data-testid^="stBaseButton"]').click()
    fc.value.set_files(str(log))
    page.get_by_text("Map the columns").wait_for()

    # fix the mapping by hand
    _choose(page, "user", "member")
    _choose(page, "item", "product")
    page.get_by_role("button", name="Import dataset").click()
    page.get_by_text("Imported 'journey_log'").wait_for(timeout=60_000)

    # the funnel chart is drawn
    page.get_by_role("tab", name="Funnel").click()
    funnel = page.locator('[data-testid="stPlotlyChart"]').first
    funnel.wait_for()
    assert funnel.locator(".funnel").count() >= 1 or funnel.locator("svg").count() >= 1
    page.get_by_text("Funnel: events per step").first.wait_for()
    assert page.get_by_text("31", exact=True).count() >= 1  # 31 users (30 + the script one)

    # the <script> id is text, never executed
    assert dialogs == []

    # restart the app: the dataset is still there
    app_server.restart()
    _open_project(page, app_server.url, "Journey")
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Data").click()
    page.get_by_text("Profile of journey_log").wait_for(timeout=60_000)
    page.get_by_text("Funnel: events per step").first.wait_for()
    assert dialogs == []
