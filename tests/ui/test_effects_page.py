"""The Effects page (AppTest, on a fresh workspace with the bundled sample project)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from causalrec_core.store import ProjectStore
from tests.ui.conftest import open_page
from ui.common import md

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "pages/effects.py"


def _effects_page() -> AppTest:
    return open_page(PAGE)


def test_effects_page_loads_with_defaults(workspace):
    at = _effects_page()
    assert [t.value for t in at.title] == ["Effects"]
    assert at.selectbox(key="effects_treatment").value == "exposed"
    assert at.selectbox(key="effects_outcome").value == "purchased"
    assert set(at.multiselect(key="effects_covariates").value) == {"user_activity", "item_popularity"}
    assert at.multiselect(key="effects_methods").value == ["naive", "ipw", "aipw"]
    assert not at.error


def test_estimate_shows_forest_plot_table_and_saves_run(workspace):
    at = _effects_page()
    at.button(key="effects_estimate").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]

    charts = [c for c in at.get("plotly_chart") if c.key == "effects_forest"]
    assert len(charts) == 1
    fig = json.loads(charts[0].proto.spec)
    assert any(str(t.get("name", "")).startswith("true ATE (simulator) = 0.0108") for t in fig["data"])
    assert [str(y) for y in fig["data"][0]["y"]] == ["naive (unadjusted)", "ipw", "aipw"]

    table = next(df.value for df in at.dataframe if "estimator" in df.value.columns)
    assert list(table["estimator"]) == ["naive", "ipw", "aipw"]
    assert {"estimate", "SE", "CI method", "n", "estimate − true ATE", "CI covers truth"} <= set(table.columns)
    covers = dict(zip(table["estimator"], table["CI covers truth"], strict=True))
    assert covers == {"naive": False, "ipw": True, "aipw": True}  # the naive estimate is biased on the sample

    store = ProjectStore(workspace)
    project = store.list_projects()[0]
    ds = store.list_datasets(project.id)[-1]
    truth = json.loads((ds.path / "truth.json").read_text(encoding="utf-8"))["ate_exposure_purchase"]
    est = dict(zip(table["estimator"], table["estimate"], strict=True))
    assert abs(est["naive"] - truth) > abs(est["aipw"] - truth)

    runs = store.list_objects(project.id, "effect_run")
    assert len(runs) == 1
    payload = store.load_object(project.id, "effect_run", runs[0].name).payload
    assert [r["method"] for r in payload["results"]] == ["naive", "ipw", "aipw"]
    assert payload["covariates"] == ["user_activity", "item_popularity"]


def test_saved_graph_adjustment_set_and_warning(workspace):
    at = _effects_page()  # imports the sample project
    from causalrec_core.graph import model, templates

    store = ProjectStore(workspace)
    project = store.list_projects()[0]
    ds = store.list_datasets(project.id)[-1]
    truth = json.loads((ds.path / "truth.json").read_text(encoding="utf-8"))
    store.save_object(project.id, "graph", "simulator_truth", model.to_dict(templates.simulator_template(truth)))
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("adjustment set" in c.value for c in at.caption)
    at.multiselect(key="effects_covariates").unselect("item_popularity").run()
    assert not at.exception, at.exception
    assert any("differ" in w.value for w in at.warning)


def _figures(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _figure_with(at: AppTest, text: str) -> dict:
    hits = [f for f in _figures(at) if text in json.dumps(f["layout"].get("title", ""))]
    assert hits, [f["layout"].get("title") for f in _figures(at)]
    return hits[0]


def test_treatment_and_outcome_default_from_the_saved_graph_roles(workspace):
    from causalrec_core.graph import model

    at = AppTest.from_file(APP, default_timeout=180)
    at.run()  # imports the sample project
    store = ProjectStore(workspace)
    project = store.list_projects()[0]
    g = model.new_graph()
    g = model.add_node(g, "click", role="treatment", column="clicked")
    g = model.add_node(g, "buy", role="outcome", column="purchased")
    g = model.add_node(g, "user_activity", role="confounder", column="user_activity")
    for a, b in (("user_activity", "click"), ("user_activity", "buy"), ("click", "buy")):
        g = model.add_edge(g, a, b)
    store.save_object(project.id, "graph", "click_graph", model.to_dict(g))
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="effects_treatment").value == "clicked"
    assert at.selectbox(key="effects_outcome").value == "purchased"
    assert at.multiselect(key="effects_covariates").value == ["user_activity"]  # the graph's adjustment set
    assert any("Defaults from the saved graph" in c.value for c in at.caption)
    at.selectbox(key="effects_treatment").select("exposed").run()  # the user can override
    assert not at.exception, at.exception
    assert at.selectbox(key="effects_treatment").value == "exposed"


def test_logged_propensity_is_offered_and_used(workspace):
    at = _effects_page()
    assert at.checkbox(key="effects_use_logged").value is True
    at.button(key="effects_estimate").click().run()
    assert not at.exception, at.exception
    table = next(df.value for df in at.dataframe if "estimator" in df.value.columns)
    prop = dict(zip(table["estimator"], table["propensity"], strict=True))
    assert prop == {"naive": "not used", "ipw": "logged (known)", "aipw": "logged (known)"}
    assert any("logged propensity" in m.value for m in [*at.markdown, *at.caption])
    at.checkbox(key="effects_use_logged").uncheck().run()
    at.button(key="effects_estimate").click().run()
    table = next(df.value for df in at.dataframe if "estimator" in df.value.columns)
    assert dict(zip(table["estimator"], table["propensity"], strict=True))["aipw"] == "fitted"


def test_diagnostics_render_overlap_balance_and_ess(workspace):
    at = _effects_page()
    assert not at.error, [e.value for e in at.error]
    overlap = _figure_with(at, "Propensity overlap")
    assert "would remove" in json.dumps(overlap["layout"]["title"])
    assert {d["name"] for d in overlap["data"]} == {"treated", "control"}
    balance = _figure_with(at, "Covariate balance")
    assert {d["name"] for d in balance["data"]} == {"before weighting", "after weighting"}
    assert "0.1" in json.dumps(balance["layout"])  # the |SMD| = 0.1 line
    labels = [m.label for m in at.metric]
    assert "Effective sample size (ATE weights)" in labels and "Units trimming would remove" in labels
    assert any("Effective sample size of the ATE weights" in c.value for c in at.caption)


def test_refuters_table(workspace):
    at = _effects_page()
    at.number_input(key="effects_refute_sims").set_value(1)
    at.button(key="effects_refute").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    table = next(df.value for df in at.dataframe if "refuter" in df.value.columns)
    assert list(table["refuter"]) == ["placebo_treatment", "random_common_cause", "data_subsets",
                                      "unobserved_confounder", "e_value"]
    assert set(table["status"]) <= {"pass", "warn", "fail"}
    # ATEs in 'new estimate'; the E-value (a risk ratio) in its own column, the placebo p-value in its own
    assert table["new estimate"].iloc[:4].notna().all() and pd.isna(table["new estimate"].iloc[4])
    assert table["E-value"].iloc[:4].isna().all() and table["E-value"].iloc[4] >= 1
    assert table["p-value"].iloc[0] == pytest.approx(0.5)  # 1 refit: the smallest possible p-value is 1/2
    assert any(md("Smallest attainable placebo p-value: 1/(1 + 1) = 0.5") in c.value for c in at.caption)
    # the verdicts are written out in full below the table (too long for a table cell)
    verdicts = "\n".join(m.value for m in at.markdown)
    for refuter, status in zip(table["refuter"], table["status"], strict=True):
        name = re.escape(md(refuter))  # the page escapes the names (an underscore gets a backslash)
        assert re.search(rf"- \*\*{name}\*\* \({status}\): \S.{{20,}}", verdicts), refuter
    n_pass = int((table["status"] == "pass").sum())
    assert any(m.value.startswith(f"**{n_pass} of 5 checks pass**") for m in at.markdown)
    # the placebo sentence reports the share of placebo effects the estimate exceeds and the p-value floor
    assert re.search(r"larger in absolute value than [01] of the 1 placebo effects \\\((0|100)%\\\)", verdicts), verdicts
    assert md("the smallest possible p-value is 1/(1 + 1) = 0.5") in verdicts


def test_refits_default_to_19_with_the_p_value_floor_shown(workspace):
    at = _effects_page()
    assert at.number_input(key="effects_refute_sims").value == 19
    assert any(md("Smallest attainable placebo p-value: 1/(19 + 1) = 0.05") in c.value for c in at.caption)


def _plain(text: str) -> str:
    """Text without the markdown escapes of ui.common.md."""
    return re.sub(r"\\(.)", r"\1", text)


def test_constant_covariates_are_flagged_and_refused_with_a_clear_message(workspace, tmp_path):
    """The browser review's case: a tiny import (7 users, 5 items) whose user_activity and
    item_popularity are constant. The diagnostics warn that the propensity model collapsed (all
    0.400), and Estimate says which covariates are constant and what to do: no 'LinAlgError'."""
    from causalrec_core.data.importer import import_dataset

    at = _effects_page()
    store = ProjectStore(workspace)
    project = store.list_projects()[0]
    lines = []
    for u in range(7):  # every user has 6 events and every item 7 distinct users: both covariates constant
        lines += [f"u{u},i{i},2024-01-{1 + i + u:02d}T10:00:00,{'view' if (u + i) % 5 < 2 else 'click'}"
                  for i in range(5)]
        lines.append(f"u{u},i{(2 * u) % 5},2024-01-{20 + u:02d}T10:00:00,purchase")
    csv = tmp_path / "tiny.csv"
    csv.write_text("\n".join(["user,item,ts,event", *lines]) + "\n")
    info = import_dataset(store, project.id, "tiny", csv, {"user": "user", "item": "item", "timestamp": "ts",
                                                          "event": "event"})
    at.run()
    at.selectbox(key="effects_dataset_picker").set_value(info.id).run()
    at.selectbox(key="effects_treatment").set_value("viewed").run()
    at.selectbox(key="effects_outcome").set_value("purchased").run()
    assert set(at.multiselect(key="effects_covariates").value) == {"user_activity", "item_popularity"}
    assert not at.exception, at.exception
    warnings = _plain(" ".join(w.value for w in at.warning))
    assert "propensity model has collapsed" in warnings and "0.400" in warnings, warnings
    assert "are constant on all 35 units" in warnings, warnings
    at.button(key="effects_estimate").click().run()
    assert not at.exception, at.exception
    # naive (which adjusts for nothing) is still estimated; ipw and aipw each say why they could not be
    assert not at.error, [e.value for e in at.error]
    table = next(df.value for df in at.dataframe if "estimator" in df.value.columns)
    assert list(table["estimator"]) == ["naive"]
    errors = [_plain(w.value) for w in at.warning if "could not be estimated" in w.value]
    assert [e.split(" ")[0] for e in errors] == ["ipw", "aipw"], errors
    for error in errors:
        assert " could not be estimated: cannot fit the" in error
        assert "'user_activity' (every value 1.946) and 'item_popularity' (every value 2.079)" in error
        assert "constant on all 35 units" in error and "Remove the constant covariates" in error
        assert "LinAlgError" not in error and "unexpected error" not in error
    # with only adjusted estimators, all failing: one error naming each
    at.multiselect(key="effects_methods").set_value(["ipw", "aipw"]).run()
    at.button(key="effects_estimate").click().run()
    (error,) = [_plain(e.value) for e in at.error]
    assert error.startswith("Estimating the effect failed: no estimator could be fitted: ipw: cannot fit the")
    assert " aipw: cannot fit the" in error


def test_segment_chart_with_truth_and_qini(workspace):
    at = _effects_page()
    assert at.selectbox(key="effects_segment").value == "segment"
    assert at.selectbox(key="effects_learner").value == "dr_learner"
    at.button(key="effects_hetero").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    seg = _figure_with(at, "by segment")
    assert {d["name"] for d in seg["data"]} == {"estimate (95% CI)", "true ATE (simulator)"}
    table = next(df.value for df in at.dataframe if "segment" in df.value.columns)
    assert sorted(table["segment"]) == ["casual", "loyal", "new"]
    assert {"ATE estimate", "CI low (95%)", "CI high (95%)", "true ATE (simulator)"} <= set(table.columns)
    assert "AUUC" in json.dumps(_figure_with(at, "Qini")["layout"]["title"])
    assert any("random subsample of 20,000" in c.value for c in at.caption)


def test_page_and_cli_give_the_same_aipw_estimate(workspace, capsys):
    """The page (fitted propensity, seed 5, user_activity + item_popularity) and ``causalrec effect``
    on the dataset's pairs table with the same settings give the same AIPW estimate and interval:
    both call causalrec_core.effects.run (the page's unit table holds log1p covariates, the CLI
    log1p-transforms the raw ones; the sample has 120,000 < MAX_ROWS rows, so no subsample)."""
    from causalrec_core.cli import main

    at = _effects_page()
    at.checkbox(key="effects_use_logged").uncheck().run()
    at.number_input(key="effects_seed").set_value(5).run()
    at.multiselect(key="effects_methods").set_value(["aipw"]).run()
    at.button(key="effects_estimate").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    store = ProjectStore(workspace)
    project = store.list_projects()[0]
    ds = store.list_datasets(project.id)[-1]
    run = store.load_object(project.id, "effect_run", "exposed_on_purchased").payload
    assert (run["seed"], run["use_logged_propensity"]) == (5, False)
    page = run["results"][0]
    assert page["propensity"] == "fitted"

    capsys.readouterr()
    assert main(["effect", "--data", str(ds.path / "pairs.parquet"), "--treatment", "exposed", "--outcome",
                 "purchased", "--covariates", "user_activity,item_popularity", "--method", "aipw", "--seed", "5",
                 "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    for k in ("estimate", "ci_low", "ci_high", "se", "n"):
        assert cli[k] == pytest.approx(page[k], rel=1e-9, abs=1e-12), k


# ---------------------------------------------------------------- the browser review of an imported funnel log

def _funnel_log(tmp_path) -> Path:
    """An imported event log like the reviewer's: every pair is exposed; a cart and an order only ever
    follow a view of the same item (so purchased is always 0 among the units not viewed)."""
    import numpy as np

    rng = np.random.default_rng(0)
    lines = []
    for u in range(60):
        activity = rng.normal()
        for i in range(15):
            if rng.random() > 0.3 + 0.04 * i:  # popular items are shown to more users
                continue
            day = f"2024-01-{1 + (u + i) % 27:02d}"
            lines.append(f"u{u},i{i},{day}T08:00:00,impression")
            if rng.random() < 1 / (1 + np.exp(-(activity + 0.1 * i - 1))):
                lines.append(f"u{u},i{i},{day}T09:00:00,detail_view")
                if rng.random() < 0.4:
                    lines.append(f"u{u},i{i},{day}T10:00:00,add_to_cart")
                if rng.random() < 0.3:
                    lines.append(f"u{u},i{i},{day}T11:00:00,order")
    csv = tmp_path / "funnel.csv"
    csv.write_text("\n".join(["user,item,ts,event", *lines]) + "\n")
    return csv


def _import_funnel(at: AppTest, workspace, tmp_path):
    from causalrec_core.data.importer import import_dataset

    store = ProjectStore(workspace)
    project = store.list_projects()[0]
    info = import_dataset(store, project.id, "funnel", _funnel_log(tmp_path),
                          {"user": "user", "item": "item", "timestamp": "ts", "event": "event"},
                          event_map={"impression": "exposure", "detail_view": "view", "add_to_cart": "cart",
                                     "order": "purchase"})
    at.run()
    at.selectbox(key="effects_dataset_picker").set_value(info.id).run()
    return store, project, info


def test_a_failing_estimator_leaves_the_others_and_the_refute_default_is_one_that_succeeded(workspace, tmp_path):
    """H2: viewed -> purchased with naive + ipw + aipw on a log where no order happens without a view.
    aipw cannot fit the control arm's outcome model; naive and ipw are still shown and saved, the failure
    is named with a plain reason, and the estimator to refute defaults to ipw (not the failed aipw)."""
    at = _effects_page()
    store, project, _ = _import_funnel(at, workspace, tmp_path)
    at.selectbox(key="effects_treatment").set_value("viewed").run()
    at.selectbox(key="effects_outcome").set_value("purchased").run()
    assert at.multiselect(key="effects_methods").value == ["naive", "ipw", "aipw"]
    at.button(key="effects_estimate").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    table = next(df.value for df in at.dataframe if "estimator" in df.value.columns)
    assert list(table["estimator"]) == ["naive", "ipw"]
    warnings = [_plain(w.value) for w in at.warning]
    failed = [w for w in warnings if w.startswith("aipw could not be estimated: ")]
    assert len(failed) == 1, warnings
    assert "purchased is always 0 among the" in failed[0] and "with viewed = 0 (not viewed)" in failed[0]
    assert "the naive difference and IPW do not need an outcome model" in failed[0]
    run = store.load_object(project.id, "effect_run", "viewed_on_purchased").payload
    assert [r["method"] for r in run["results"]] == ["naive", "ipw"]
    assert [e["method"] for e in run["errors"]] == ["aipw"]
    assert at.selectbox(key="effects_refute_method").value == "ipw"
    assert "aipw" not in at.selectbox(key="effects_refute_method").options
    # the saved runs list a readable time, not the raw ISO stamp
    saved = next(df.value for df in at.dataframe if "versions" in df.value.columns)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", saved["saved"].iloc[0]), saved["saved"].iloc[0]
    # the log1p note lists the covariates plainly, not as a Python list
    notes = " ".join(_plain(c.value) for c in at.caption)
    assert "[" not in notes.split("log1p-transformed")[0][-80:], notes
    # refuting ipw works; the E-value row explains the zero control risk in words
    at.number_input(key="effects_refute_sims").set_value(1)
    at.button(key="effects_refute").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    verdicts = _plain("\n".join(m.value for m in at.markdown))
    assert "the outcome never occurs among the controls (risk 0)" in verdicts
    assert "Rule: fail when the sign flips" in verdicts
    # effects by segment on the default (pre-treatment, numeric: quartiles) column
    at.button(key="effects_hetero").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    seg_table = next(df.value for df in at.dataframe if "ATE estimate" in df.value.columns)
    assert all(str(s).startswith("Q") for s in seg_table["segment"]), seg_table["segment"]


def test_segments_default_to_a_pre_treatment_column_and_flag_post_treatment_ones(workspace, tmp_path):
    """H1: with treatment viewed, carted (a mediator) is never the default segment column; it is offered
    last with a flag and a warning when chosen; its segment without control units is flagged, not ranked;
    the learner caption says 'all units' when no subsample was taken; the chart's x axis is categorical."""
    at = _effects_page()
    _import_funnel(at, workspace, tmp_path)
    at.selectbox(key="effects_treatment").set_value("viewed").run()
    at.selectbox(key="effects_outcome").set_value("purchased").run()
    seg = at.selectbox(key="effects_segment")
    assert seg.value in ("user_activity", "item_popularity"), seg.value
    assert seg.options[-1].startswith("carted (post-treatment: segmenting on it is not a causal comparison)")
    at.selectbox(key="effects_segment").set_value("carted").run()
    assert any("carted is post-treatment" in _plain(w.value) for w in at.warning)
    at.button(key="effects_hetero").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    table = next(df.value for df in at.dataframe if "ATE estimate" in df.value.columns).set_index("segment")
    assert table.loc["1", "n control"] == 0 and table.loc["1", "flag"].startswith("no control unit")
    summary = " ".join(_plain(m.value) for m in at.markdown)
    assert "gains most" not in summary and "One segment without a flag: 0 (" in summary
    assert "Segment 1 (" in summary and "is flagged: no control unit" in summary
    assert any("Segment 1 of carted" in _plain(w.value) for w in at.warning)
    caps = " ".join(_plain(c.value) for c in at.caption)
    assert "The learner's overall ATE (all " in caps and "subsample" not in caps.split("The learner's overall ATE")[1][:60]
    fig = _figure_with(at, "by carted")
    assert fig["layout"]["xaxis"]["type"] == "category"


def test_funnel_graph_hand_off_maps_unit_flags_to_count_bound_nodes(workspace, tmp_path):
    """M1: the click_purchase_funnel template binds view=n_view, cart=n_cart and exposure=exposed (1 for
    every pair). The caption says why exposed is not the treatment and names the one used; choosing
    viewed reads the graph's adjustment set (its view node) without a red error."""
    from causalrec_core.graph import model, templates

    at = _effects_page()
    store, project, info = _import_funnel(at, workspace, tmp_path)
    inter = store.load_table(info.id, "interactions")
    g = templates.build_template("click_purchase_funnel", columns=[str(c) for c in inter.columns])
    assert g.nodes["view"]["column"] == "n_view" and g.nodes["exposure"]["column"] == "exposed"
    store.save_object(project.id, "graph", "funnel_graph", model.to_dict(g))
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    treatment = at.selectbox(key="effects_treatment").value
    cap = next(_plain(c.value) for c in at.caption if "Defaults from the saved graph" in c.value)
    assert "its treatment exposed cannot be used: exposed is 1 for every unit, so it cannot be a treatment here" in cap
    assert f"the treatment defaults to {treatment}" in cap and "outcome purchased" in cap
    at.selectbox(key="effects_treatment").set_value("viewed").run()
    assert not at.error, [e.value for e in at.error]
    # the view node is found; the graph's latent user_interest confounds view and purchase: a warning, not an error
    warnings = " ".join(_plain(w.value) for w in at.warning)
    assert "gives no adjustment set here: the effect of 'view' on 'purchase' is not identifiable" in warnings
    at.selectbox(key="effects_treatment").set_value("carted").run()  # cart -> purchase: also found via n_cart
    assert not at.error, [e.value for e in at.error]


def test_view_wording_helpers():
    from ui import effects_view as ev

    by = pd.DataFrame({"segment": ["0", "1"], "n": [4000, 380], "mean": [0.0529, 1.4344], "se": [0.01, 0.17],
                       "ci_low": [0.03, 1.0977], "ci_high": [0.07, 1.7712], "flag": ["", "outside [-1, 1]: x"]})
    text = ev.segment_summary(by)
    assert "gains most" not in text and text.startswith("One segment without a flag: 0 (0.0529).")
    assert "Segment 1 (1.4344) is flagged: outside [-1, 1]: x." in text
    het = {"ate": {"estimate": 0.2, "ci_low": 0.1, "ci_high": 0.3}, "n_fit": 4542, "n_total": 4542}
    assert "(all 4,542 units)" in ev.learner_ate_caption(het)
    assert "a random subsample of 20,000 of the 120,000 units" in ev.learner_ate_caption(
        {**het, "n_fit": 20_000, "n_total": 120_000})
    fig = ev.segment_figure(by, "t", None)
    assert fig.layout.xaxis.type == "category" and list(fig.layout.xaxis.categoryarray) == ["0", "1"]
    assert ev.refute_choices(["naive", "ipw", "aipw"], {"errors": [{"method": "aipw", "error": "x"}]}) == ["ipw"]
    assert ev.refute_choices(["naive"], None)[0] != "naive"
