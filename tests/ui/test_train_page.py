"""The Train page (AppTest, on a fresh workspace with the bundled sample project): models from the
registry, a real background run that completes and shows its metrics, the buttons of each status,
a failed run's error."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from causalrec_core.models.param_help import describe_param
from causalrec_core.models.registry import list_models
from causalrec_core.store import ProjectStore
from causalrec_core.train import jobs

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "pages/train.py"


def _train_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def _project(workspace):
    store = ProjectStore(workspace)
    project = store.list_projects()[0]
    return store, project, store.list_datasets(project.id)[-1]


def _runs_table(at):
    return next(df.value for df in at.dataframe if "status" in df.value.columns and "run" in df.value.columns)


def _buttons(at) -> set[str]:
    return {b.label for b in at.button}


def test_page_lists_the_log_models_of_the_registry_with_help(workspace):
    at = _train_page()
    assert [t.value for t in at.title] == ["Train"]
    log_models = [m for m in list_models() if "log" in m["kinds"]]
    box = at.multiselect(key="train_models")
    assert len(box.options) == len(log_models)
    for m in log_models:
        assert f"{m['name']} ({'causal' if m['causal'] else 'traditional'})" in box.options
    assert box.value == ["popularity"]
    assert not any(m["name"] == "mf" for m in log_models)  # a rating-only model is not offered
    at.multiselect(key="train_models").select("sasrec").run()
    assert not at.exception, at.exception
    epochs = at.number_input(key="train_param_sasrec_epochs")
    assert epochs.value == next(m for m in log_models if m["name"] == "sasrec")["params"]["epochs"]
    assert epochs.help == describe_param("epochs", "sasrec")
    assert at.selectbox(key="train_device").options == ["auto", "cpu", "cuda"]
    assert any(c.value.startswith("Detected: ") for c in at.caption)
    assert any("No training run yet" in i.value for i in at.info)


def test_start_popularity_run_completes_and_shows_metrics(workspace):
    at = _train_page()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    store, project, _ = _project(workspace)
    (run,) = store.list_runs(project.id)
    assert run.model == "popularity" and run.name == "popularity #1"
    done = jobs.wait_run(store, run.id, timeout=240)
    assert done.status == "completed", jobs.tail_log(done)

    at.run()
    assert not at.exception, at.exception
    table = _runs_table(at)
    assert table["run"].tolist() == ["popularity #1"]
    assert "completed" in table["status"].iloc[0]
    assert table["causal?"].iloc[0] == "traditional"
    assert table["device"].iloc[0] == "cpu"
    assert 0 < table["test NDCG@10"].iloc[0] <= 1
    metrics = next(df.value for df in at.dataframe if "95% CI low" in df.value.columns)
    row = metrics.set_index("metric").loc["NDCG@10"]
    assert row["95% CI low"] <= row["value"] <= row["95% CI high"]
    assert row["what it measures"] == ("NDCG@10 on the last 10% of time (temporal split), mean over test users, "
                                       "95% bootstrap CI")
    assert {"Delete"} <= _buttons(at) and not {"Cancel", "Resume"} & _buttons(at)

    at.button(key="train_delete").click().run()
    at.button(key="train_delete_confirm").click().run()
    assert not at.exception, at.exception
    assert store.list_runs(project.id) == []


def _fake_run(store, project, status: str, **fields):
    run = store.create_run(project.id, f"fake {status}", "sasrec", {"params": {}}, seed=0)
    (run.run_dir / "job.json").write_text(json.dumps({"run_id": run.id}))  # fresh: within the start grace
    if status != "queued":
        store.update_run(run.id, status=status, **fields)
    return run


def test_buttons_follow_the_status(workspace):
    at = _train_page()
    store, project, _ = _project(workspace)
    runs = {s: _fake_run(store, project, s) for s in ("queued", "cancelled", "completed")}
    expected = {"queued": ({"Cancel"}, {"Resume", "Delete"}), "cancelled": ({"Resume", "Delete"}, {"Cancel"}),
                "completed": ({"Delete"}, {"Cancel", "Resume"})}
    at.run()
    for status, run in runs.items():
        at.selectbox(key="train_run_picker").set_value(run.id).run()
        assert not at.exception, at.exception
        present, absent = expected[status]
        assert present <= _buttons(at), (status, _buttons(at))
        assert not absent & _buttons(at), (status, _buttons(at))
        if status == "queued":
            assert any("Queued" in p.proto.text for p in at.get("progress"))


def test_a_failed_run_shows_its_error_and_log(workspace):
    at = _train_page()
    at.text_input(key="train_param_popularity_half_life_days").input("-3").run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    store, project, _ = _project(workspace)
    (run,) = store.list_runs(project.id)
    done = jobs.wait_run(store, run.id, timeout=240)
    assert done.status == "failed"
    at.run()
    assert not at.exception, at.exception
    assert "failed" in _runs_table(at)["status"].iloc[0]
    errors = [e.value for e in at.error]
    assert any("half\\_life\\_days" in e and "-3" in e for e in errors), errors
    assert any("Traceback" in c.value or "half_life_days" in c.value for c in at.code)
    assert {"Resume", "Delete"} <= _buttons(at) and "Cancel" not in _buttons(at)


def test_a_dead_worker_shows_as_failed(workspace):
    at = _train_page()
    store, project, _ = _project(workspace)
    run = store.create_run(project.id, "ghost", "sasrec", {"params": {}}, seed=0)
    store.update_run(run.id, status="running", pid=2**22 + 12345)  # no such process
    (run.run_dir / "worker.log").write_text("epoch 1 ...\nKilled\n")
    at.run()
    assert not at.exception, at.exception
    assert store.get_run(run.id).status == "failed"
    assert any("stopped without reporting" in e.value for e in at.error)
