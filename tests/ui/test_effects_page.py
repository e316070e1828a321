"""The Effects page (AppTest, on a fresh workspace with the bundled sample project)."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from causalrec_core.store import ProjectStore

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "pages/effects.py"


def _effects_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


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

    charts = at.get("plotly_chart")
    assert len(charts) == 1
    fig = json.loads(charts[0].proto.spec)
    assert "true ATE (simulator)" in json.dumps(fig["layout"])

    table = next(df.value for df in at.dataframe if "estimator" in df.value.columns)
    assert list(table["estimator"]) == ["naive", "ipw", "aipw"]
    assert {"estimate", "SE", "CI method", "n"} <= set(table.columns)

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
