"""Training on uploaded rating files in headless chromium: on the Train page choose 'rating files',
upload a small biased-train / randomised-test CSV pair, carve a share of the test for the naive-Bayes
propensities, train a short 'mf-ips' run and find it completed with its test AUC / NDCG@5 and
'naive-bayes' as its propensity source; a test file with a non-numeric rating is refused with the
uploaded file's name and line (no traceback); the Recommendations page shows the run's top-k."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from causalrec_core.store import ProjectStore
from tests.e2e.helpers import assert_no_traceback, choose, click_button, go_to, open_app, rerun, selectbox, set_number
from tests.train.conftest import write_rating_csvs

pytestmark = pytest.mark.browser

RUN_DONE = 90_000  # a few epochs of mf-ips on 60 x 40 ratings, on a shared CPU
EPOCHS = 3
RATING_MODE = "rating files (biased train, randomised test)"
CARVE = "carve a share of the randomised test"
TRAIN_LABEL = "Training ratings"
TEST_LABEL = "Test ratings"
#: an element of the current script run (a refresh leaves a stale copy in the DOM for a moment)
FRESH = '[data-testid="stElementContainer"]:not([data-stale="true"])'


def _shot(page, name: str) -> None:
    """A full-page screenshot under $CAUSALREC_E2E_SHOTS, when set (to look at the pages by eye)."""
    folder = os.environ.get("CAUSALREC_E2E_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        size = page.viewport_size
        # the app scrolls inside its main block, not the page: a tall window shows all of it
        page.set_viewport_size({"width": size["width"], "height": 4000})
        page.screenshot(path=str(Path(folder) / f"rating_{name}.png"), full_page=True)
        page.set_viewport_size(size)


def _uploader(page, label: str):
    return page.get_by_test_id("stFileUploader").filter(
        has=page.get_by_test_id("stWidgetLabel").filter(has_text=label))


def _set_file(page, label: str, path: Path) -> None:
    """Put ``path`` into the uploader whose label starts with ``label`` (replacing its file) and wait for
    the rerun that reads it."""
    uploader = _uploader(page, label)
    rerun(page, lambda: uploader.locator('input[type="file"]').set_input_files(str(path)))
    expect(uploader.get_by_test_id("stFileChipName")).to_have_text(path.name)


def _status_line(page, name: str):
    """The line above the shown run's buttons: name, model, status, seed, device."""
    return page.locator(f'{FRESH} [data-testid="stMarkdownContainer"]').filter(
        has_text=re.compile(f"^{re.escape(name)} · ")).last


def _bad_test_file(test: Path) -> Path:
    """The test file with a non-numeric rating on its 4th line (header included)."""
    lines = test.read_text().splitlines()
    user, item, _ = lines[3].split(",")
    lines[3] = f"{user},{item},five"
    bad = test.with_name("bad_test.csv")
    bad.write_text("\n".join(lines) + "\n")
    return bad


def test_train_on_uploaded_rating_files(app_server, page, tmp_path):
    files = tmp_path / "ratings"
    files.mkdir()
    train, test = write_rating_csvs(files, n_users=60, n_items=40, seed=1)
    n_train = len(train.read_text().splitlines()) - 1
    n_test = len(test.read_text().splitlines()) - 1

    open_app(page, app_server.url)
    go_to(page, "Train")
    rerun(page, page.get_by_test_id("stRadio").get_by_text(RATING_MODE, exact=True).click)
    page.get_by_text("Upload the training and the test ratings to train on them.").wait_for()
    _shot(page, "1_mode")

    _set_file(page, TRAIN_LABEL, train)
    _set_file(page, TEST_LABEL, test)
    expect(page.get_by_label("Positive when rating >", exact=True)).to_have_value("3")
    choose(page, "Randomised sample for the propensities", CARVE)
    expect(page.get_by_role("slider", name="Share of the test carved for the propensities")).to_have_attribute(
        "aria-valuetext", "5%")
    # the summary: all users and items, the training ratings, the test less the carved share (5%)
    summary = page.get_by_text(re.compile(r"^60 users × 40 items: "))
    expect(summary).to_have_count(1)
    m = re.search(r"([\d,]+) training and ([\d,]+) test ratings, ([\d,]+) in the randomised sample \(carved "
                  r"from the test\)\. Positive: rating > 3 \(",
                  summary.inner_text())
    assert m is not None, summary.inner_text()
    n_fit, n_eval, n_mar = (int(g.replace(",", "")) for g in m.groups())
    assert n_fit == n_train and n_eval + n_mar == n_test and 0 < n_mar < n_test * 0.1, summary.inner_text()
    assert_no_traceback(page)

    # only mf-ips, a few epochs
    expect(page.get_by_role("button", name="Remove mf-ips (causal)", exact=True)).to_have_count(1)
    rerun(page, page.get_by_role("button", name="Remove mf (traditional)", exact=True).click)
    expect(page.get_by_role("button", name="Remove mf (traditional)", exact=True)).to_have_count(0)
    expect(page.get_by_text("mf (traditional): parameters", exact=True)).to_have_count(0)
    page.get_by_text("mf-ips (causal): parameters", exact=True).wait_for()
    for label in ("Max epochs (epochs)", "Early-stopping patience (patience)"):
        set_number(page, label, EPOCHS)
    _shot(page, "2_ready")
    click_button(page, "Start training")
    page.get_by_text("Started 'mf-ips #1'.").wait_for()
    expect(_status_line(page, "mf-ips #1")).to_contain_text("✔ completed", timeout=RUN_DONE)
    page.get_by_text("Test metrics", exact=True).wait_for()
    assert_no_traceback(page)

    # the runs table: completed, with a test AUC and NDCG@5 (its cells are also an accessible table)
    table = page.get_by_test_id("stDataFrame").first
    for col in ("test AUC", "test NDCG@5"):  # all_inner_texts() does not wait for the table
        expect(table.locator("th").filter(has_text=re.compile(f"^{col}$"))).to_have_count(1)
    expect(table.locator("td").filter(has_text=re.compile("^mf-ips #1$"))).to_have_count(1)
    headers = [t.strip() for t in table.locator("th").all_inner_texts()]
    cells = [t.strip() for t in table.locator("td").all_inner_texts()]
    assert cells[:7] == ["mf-ips #1", "train.csv + test.csv", "mf-ips", "causal", "✔ completed", "cpu",
                         f"{EPOCHS}/{EPOCHS}"], cells
    for col in ("test AUC", "test NDCG@5"):
        value = float(cells[headers.index(col)])
        assert 0.0 <= value <= 1.0, (col, cells)
    # what a randomised test estimates, under the run's test metrics
    page.get_by_text(re.compile(r"^The test ratings are of items assigned to users at random")).wait_for()
    expander = page.get_by_test_id("stExpander").filter(has_text="Propensity clipping")
    expander.get_by_text(re.compile("^Propensity clipping")).click()  # opens in the browser, no rerun
    clip = expander.get_by_test_id("stDataFrame")
    expect(clip.locator("td").filter(has_text=re.compile("^naive-bayes$"))).to_have_count(1)
    clip_cells = [t.strip() for t in clip.locator("td").all_inner_texts()]
    assert clip_cells[clip_cells.index("naive-bayes") - 1] == "propensity source", clip_cells
    _shot(page, "3_run")

    store = ProjectStore(app_server.workspace)
    project = store.find_project("Sample shop (simulated)")
    (run,) = store.list_runs(project.id)
    assert run.status == "completed" and run.config["data"]["source"] == "csv"
    assert run.config["data"]["mar_fraction"] == pytest.approx(0.05)
    assert {"auc", "ndcg@5"} <= set(run.metrics)

    # a test file with a non-numeric rating: refused, naming the uploaded file and its line
    _set_file(page, TEST_LABEL, _bad_test_file(test))
    error = page.get_by_test_id("stAlertContentError")
    expect(error).to_have_count(1)
    expect(error).to_contain_text("Reading the rating files failed: bad_test.csv, line 4: rating 'five' is not a "
                                  "number")
    expect(page.get_by_text("mf-ips (causal): parameters", exact=True)).to_have_count(0)
    assert_no_traceback(page)
    _shot(page, "4_bad_file")

    # the Recommendations page: the rating run's top-k for an example user
    go_to(page, "Recommendations")
    # the only completed run is shown first; its label carries the rating run's headline metrics
    expect(selectbox(page, "Trained model (completed run)")).to_have_value(
        re.compile(r"^mf-ips #1 · mf-ips \(causal\) · test NDCG@5 0\.\d{4} · AUC 0\.\d{4}$"))
    user = selectbox(page, "Example user").input_value().split(" (")[0]
    page.get_by_role("heading", name=f"Top 10 for {user}", exact=True).wait_for()
    rows = page.get_by_test_id("stDataFrame").filter(has=page.locator("th", has_text="item_id")).locator("tbody tr")
    expect(rows).to_have_count(10)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)
    assert_no_traceback(page)
    _shot(page, "5_recommend")
