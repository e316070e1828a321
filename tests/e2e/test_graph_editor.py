"""The browser graph editor in headless chromium: load a template, add an edge with the mouse on
the vis-network canvas, see a cycle refused, drag a node, save, and find everything in the store;
a node named like an HTML tag is shown as text and runs nothing."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from causalrec_core.graph import model
from causalrec_core.sample import SAMPLE_PROJECT
from causalrec_core.store import ProjectStore
from tests.e2e.helpers import assert_no_traceback, choose, click_button, go_to, open_app, rerun

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"
ADD_EDGE = "Add edge"


def _editor(page: Page):
    """The editor's root element (inside the component's shadow root; CSS locators pierce it)."""
    return page.locator(".cr-graph[data-ready='1']")


def _node_point(page: Page, name: str) -> tuple[float, float]:
    """Page coordinates of a node's centre: the editor publishes each node's position relative to
    its canvas (vis-network's canvasToDOM) in ``data-positions``."""
    return tuple(_editor(page).evaluate(
        """(root, name) => {
            const box = root.querySelector('.cr-canvas canvas').getBoundingClientRect();
            const p = JSON.parse(root.dataset.positions)[name];
            return [box.x + p[0], box.y + p[1]];
        }""", name))


def _edit_on_canvas(page: Page, action) -> None:
    """Do a mouse action that sends an edit, wait for the rerun and for the redrawn editor."""
    before = _editor(page).get_attribute("data-rev")
    rerun(page, action)
    expect(_editor(page)).not_to_have_attribute("data-rev", before)


def _edge_rows(page: Page) -> list[list[str]]:
    """The cells of the edge table (the data grid renders an accessible table beside its canvas)."""
    grid = page.get_by_test_id("stDataFrame").filter(has_text="source (cause)")
    grid.locator("td").first.wait_for(state="attached")  # the accessible table is visually hidden
    return [[c.strip() for c in r.locator("td").all_text_contents()] for r in grid.locator("tr").all()
            if r.locator("td").count()]


def _open_template(page: Page, url: str) -> None:
    open_app(page, url)
    go_to(page, "Causal graph")
    page.get_by_role("tab", name="New from template").click()
    choose(page, "Template", "exposure_bias")
    click_button(page, "Create from template")
    _editor(page).wait_for()
    expect(_editor(page)).to_have_attribute("data-positions", re.compile('"purchase"'))


def test_add_edge_with_the_mouse_then_save(app_server, page):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _open_template(page, app_server.url)
    editor = _editor(page)
    status = editor.locator(".cr-status")

    # connect mode: click the cause, then the effect
    connect = editor.get_by_role("button", name=ADD_EDGE, exact=True)
    connect.click()
    expect(connect).to_have_attribute("aria-pressed", "true")
    page.mouse.click(*_node_point(page, "user_activity"))
    expect(status).to_contain_text("Add edge from user_activity")
    _edit_on_canvas(page, lambda: page.mouse.click(*_node_point(page, "item_popularity")))
    expect(status).to_contain_text("Added the edge user_activity → item_popularity.")
    expect(editor.locator(".cr-text-edges li")).to_have_count(6)
    assert ["user_activity", "item_popularity", "expert"] in [row[:3] for row in _edge_rows(page)]

    # an edge that closes a cycle is refused by Python, and the drawing keeps its 6 edges
    page.mouse.click(*_node_point(page, "purchase"))
    rerun(page, lambda: page.mouse.click(*_node_point(page, "user_activity")))
    expect(page.get_by_test_id("stAlert").filter(has_text="would create the cycle")).to_contain_text(
        "adding purchase → user_activity would create the cycle purchase → user_activity → purchase.")
    expect(status).to_contain_text("would create the cycle")
    expect(editor.locator(".cr-text-edges li")).to_have_count(6)
    connect.click()
    expect(connect).to_have_attribute("aria-pressed", "false")

    # drag a node: the new position comes back to Python
    x, y = _node_point(page, "purchase")

    def drag():
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + 40, y + 60, steps=8)
        page.mouse.up()

    _edit_on_canvas(page, drag)
    assert _node_point(page, "purchase")[1] > y + 30

    click_button(page, "Save")
    expect(page.get_by_test_id("stAlert").filter(has_text="Saved")).to_contain_text("Saved 'exposure_bias' as version 1")
    store = ProjectStore(app_server.workspace)
    pid = store.find_project(SAMPLE_PROJECT).id
    saved = model.from_dict(store.load_object(pid, "graph", "exposure_bias").payload)
    assert saved.has_edge("user_activity", "item_popularity")
    assert saved.edges["user_activity", "item_popularity"]["origin"] == "expert"
    assert not saved.has_edge("purchase", "user_activity")
    template_y = saved.nodes["exposure"]["y"]  # the dragged node moved off the treatment's row
    assert saved.nodes["purchase"]["y"] > template_y + 30
    assert dialogs == []
    assert_no_traceback(page)


def test_html_node_name_is_text_and_runs_nothing(app_server, page):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _open_template(page, app_server.url)
    page.get_by_role("tab", name="Nodes").click()
    page.get_by_label("New node name", exact=True).fill(XSS)
    before = _editor(page).get_attribute("data-rev")
    click_button(page, "Add node")
    expect(_editor(page)).not_to_have_attribute("data-rev", before)

    editor = _editor(page)
    names = editor.locator(".cr-text-nodes .cr-node-name").all_text_contents()
    assert XSS in names  # the accessible text view shows the name as text
    assert XSS in json.loads(editor.get_attribute("data-positions"))  # and the canvas draws it
    expect(page.get_by_test_id("stAlert").filter(has_text="Added node")).to_have_text(f"Added node {XSS}.")
    # nothing was parsed as markup, anywhere (CSS locators pierce the component's shadow root)
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("[onerror]").count() == 0
    # hovering the node shows its tooltip as text too
    editor.scroll_into_view_if_needed()
    page.mouse.move(*_node_point(page, XSS))
    tooltip = editor.locator(".vis-tooltip")
    expect(tooltip).to_contain_text(XSS)
    assert tooltip.locator("img").count() == 0
    assert dialogs == []
    assert_no_traceback(page)


def test_hover_card_goes_with_the_deleted_item(app_server, page):
    _open_template(page, app_server.url)
    editor = _editor(page)
    editor.scroll_into_view_if_needed()
    x, y = _node_point(page, "user_activity")
    page.mouse.move(x, y)
    tooltip = editor.locator(".vis-tooltip")
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text("user_activity")
    page.mouse.click(x, y)  # select it
    _edit_on_canvas(page, lambda: editor.get_by_role("button", name="Delete selected", exact=True).click())
    assert "user_activity" not in json.loads(_editor(page).get_attribute("data-positions"))
    expect(_editor(page).locator(".vis-tooltip")).not_to_be_visible()  # no card of a deleted node left behind
    assert_no_traceback(page)
