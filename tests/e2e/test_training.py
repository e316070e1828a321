"""Training in headless chromium: on the sample project start a short causal transformer run
('sasrec-ips') and a traditional 'popularity' run from the Train page, watch the progress refresh
by itself, cancel the sasrec-ips run, resume it, restart the app server and find both runs with
their final statuses and labelled test metrics."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from causalrec_core.store import ProjectStore
from tests.e2e.helpers import assert_no_traceback, choose, click_button, go_to, open_app, rerun, selectbox, set_number

pytestmark = pytest.mark.browser

RUN_DONE = 180_000  # a few epochs of a small sasrec-ips on a shared CPU
#: an epoch of this small sasrec-ips takes about 0.6 s on an idle 2-core machine: with 10 epochs the run could
#: finish between the progress text the test reads (refreshed every 1.5 s) and its Cancel click landing
EPOCHS = 60
#: an element of the current script run (a refresh leaves a stale copy in the DOM for a moment)
FRESH = '[data-testid="stElementContainer"]:not([data-stale="true"])'


def _add_model(page, label: str) -> None:
    box = page.get_by_role("combobox", name="Models", exact=True)
    box.click()
    option = page.get_by_role("option", name=label, exact=True)
    rerun(page, option.click)
    page.keyboard.press("Escape")
    page.get_by_text(f"{label}: parameters", exact=True).wait_for()


def _progress(page):
    """The progress bar of the shown run (not a stale copy a refresh leaves for a moment)."""
    return page.locator(f'{FRESH} [data-testid="stProgress"]').last


def _status_line(page, name: str):
    """The line above the shown run's progress and buttons: name, model, status, seed, device."""
    return page.locator(f'{FRESH} [data-testid="stMarkdownContainer"]').filter(
        has_text=re.compile(f"^{re.escape(name)} · ")).last


def _run_options(page) -> list[str]:
    box = selectbox(page, "Run")
    for attempt in range(4):  # a rerun that lands with the click can close the list again: click anew
        box.click()
        try:
            expect(box).to_have_attribute("aria-expanded", "true", timeout=3000)
            break
        except AssertionError:
            if attempt == 3:
                raise
    listbox = page.locator(f'[role="listbox"][id="{box.get_attribute("aria-controls")}"]')
    listbox.get_by_role("option").first.wait_for()  # all_inner_texts() does not wait for the options
    texts = listbox.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    expect(box).to_have_attribute("aria-expanded", "false")
    return sorted(t.strip() for t in texts)


def test_train_cancel_resume_restart(app_server, page):
    open_app(page, app_server.url)
    go_to(page, "Train")
    expect(selectbox(page, "Dataset")).to_have_value("events")
    _add_model(page, "sasrec-ips (causal)")
    # enough epochs (no early stop) that the Cancel click lands while it runs; still a short run
    for label, value in (("Max epochs (epochs)", EPOCHS), ("Early-stopping patience (patience)", EPOCHS),
                         ("Hidden width (hidden)", 16), ("Transformer layers (n_layers)", 1),
                         ("History length (max_len)", 10)):
        set_number(page, label, value)
    set_number(page, "Seed", 3)
    click_button(page, "Start training")
    page.get_by_text("Started 'popularity #1', 'sasrec-ips #2'.").wait_for()

    # the sasrec-ips run (started last) is shown; its progress bar refreshes without any click
    expect(selectbox(page, "Run")).to_have_value("sasrec-ips #2 · sasrec-ips")
    # (it showed 'Queued' when started: reaching an epoch means the panel refreshed by itself)
    progress = _progress(page)
    expect(progress).to_contain_text(re.compile(rf"Epoch \d+/{EPOCHS} · step \d+/\d+"), timeout=RUN_DONE)
    assert_no_traceback(page)

    # cancel: the worker checkpoints at the end of the epoch and stops
    rerun(page, page.get_by_role("button", name="Cancel", exact=True).click)
    page.get_by_text(re.compile(r"^Cancelled after \d+ finished epoch")).wait_for(timeout=RUN_DONE)
    expect(_status_line(page, "sasrec-ips #2")).to_contain_text("■ cancelled")

    # resume: it continues from the checkpoint and completes
    click_button(page, "Resume")
    page.get_by_text("Resumed 'sasrec-ips #2'.").wait_for()
    expect(_status_line(page, "sasrec-ips #2")).to_contain_text("✔ completed", timeout=RUN_DONE)
    page.get_by_text("Test metrics", exact=True).wait_for()
    assert_no_traceback(page)

    # restart the app: both runs are still there with their final statuses
    app_server.restart()
    open_app(page, app_server.url)
    go_to(page, "Train")
    assert _run_options(page) == ["popularity #1 · popularity", "sasrec-ips #2 · sasrec-ips"]
    # the runs table (its cells are also rendered as an accessible table): name, data, model, tag, status, device,
    # epoch
    cells = page.get_by_test_id("stDataFrame").first.locator("td")
    expect(cells.filter(has_text=re.compile("^sasrec-ips #2$"))).to_have_count(1)
    texts = [t.strip() for t in cells.all_inner_texts()]
    sample = ProjectStore(app_server.workspace)
    dataset = sample.list_datasets(sample.find_project("Sample shop (simulated)").id)[-1].name
    for name, model, tag, epoch in (("sasrec-ips #2", "sasrec-ips", "causal", f"{EPOCHS}/{EPOCHS}"),
                                    ("popularity #1", "popularity", "traditional", "one pass")):
        i = texts.index(name)
        assert texts[i:i + 7] == [name, dataset, model, tag, "✔ completed", "cpu", epoch], texts
    # the test columns say what they are computed on
    page.get_by_text(re.compile(r"^Test columns: computed on the last 10% of the positive events \(temporal split\), "
                                r"on each run's own data")).wait_for()
    expect(_status_line(page, "sasrec-ips #2")).to_contain_text("✔ completed")
    choose(page, "Run", "popularity #1 · popularity")
    expect(_status_line(page, "popularity #1")).to_contain_text("✔ completed")
    store = ProjectStore(app_server.workspace)
    project = store.find_project("Sample shop (simulated)")
    runs = {r.name: r for r in store.list_runs(project.id)}
    assert {n: r.status for n, r in runs.items()} == {"popularity #1": "completed", "sasrec-ips #2": "completed"}
    ips = runs["sasrec-ips #2"]
    assert ips.metrics["epochs"] == EPOCHS and ips.config["params"]["hidden"] == 16 and ips.seed == 3
    assert_no_traceback(page)
