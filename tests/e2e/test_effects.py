"""Effects journey in headless chromium on the sample project: estimate the ATE of exposed on
purchased, see the forest plot with the simulator's truth and the naive (biased) vs adjusted rows,
run the refuters and read their verdicts; no exception box anywhere."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import assert_no_traceback, go_to, open_app, rerun, selectbox

pytestmark = pytest.mark.browser

SLOW = 120_000  # fits on a busy 2-core machine (a cold estimate takes a few seconds)


def test_effects_estimate_forest_plot_and_refuters(app_server, page):
    open_app(page, app_server.url)
    go_to(page, "Effects")
    expect(selectbox(page, "Treatment (binary)")).to_have_value("exposed")
    expect(selectbox(page, "Outcome (binary)")).to_have_value("purchased")

    rerun(page, page.get_by_role("button", name="Estimate", exact=True).click, timeout=SLOW)
    page.get_by_role("heading", name="ATE of exposed on purchased", exact=True).wait_for()
    assert_no_traceback(page)

    # the forest plot: one row per estimator, the naive one marked unadjusted, and the truth line
    forest = page.get_by_test_id("stPlotlyChart").filter(
        has=page.get_by_text(re.compile(r"^true ATE \(simulator\) = 0\.0108$"))).first
    forest.locator("g.scatterlayer g.trace").first.wait_for()
    for row in ("naive (unadjusted)", "ipw", "aipw"):
        expect(forest.get_by_text(row, exact=True)).to_be_visible()

    # naive vs adjusted, each against the truth
    expect(page.get_by_text(re.compile(r"^naive \(unadjusted difference in means\): 0\.0\d+, .* above the true "
                                       r"ATE 0\.0108; .* excludes the truth"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"^aipw \(adjusted\): 0\.01\d+, .* the true ATE 0\.0108; .* covers the "
                                       r"truth\.$"))).to_be_visible()

    refute = page.get_by_role("button", name="Run refutation checks", exact=True)
    refute.scroll_into_view_if_needed()
    rerun(page, refute.click, timeout=SLOW)
    expect(page.get_by_text(re.compile(r"^\d of 5 checks pass"))).to_be_visible()
    for refuter in ("placebo_treatment", "random_common_cause", "data_subsets", "e_value"):
        expect(page.get_by_text(re.compile(rf"^{refuter} \((pass|warn)\): \S"))).to_be_visible()
    # the table has one row per refuter, with a status
    expect(page.get_by_test_id("stDataFrame").filter(has_text="placebo_treatment")).to_have_count(1)
    assert_no_traceback(page)
