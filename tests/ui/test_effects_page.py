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
    assert set(table["status"]) <= {"pass", "warn"}
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
    errors = [_plain(e.value) for e in at.error]
    assert len(errors) == 1, errors
    assert errors[0].startswith("Estimating the effect failed: cannot fit the")
    assert "'user_activity' (every value 1.946) and 'item_popularity' (every value 2.079)" in errors[0]
    assert "constant on all 35 units" in errors[0] and "Remove the constant covariates" in errors[0]
    assert "LinAlgError" not in errors[0] and "unexpected error" not in errors[0]


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
