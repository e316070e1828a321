"""The Train page (AppTest, on a fresh workspace with the bundled sample project): models from the
registry, a real background run that completes and shows its metrics, the buttons of each status,
a failed run's error."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from streamlit.testing.v1 import AppTest

from causalrec_core.models.param_help import describe_param
from causalrec_core.models.registry import list_models
from causalrec_core.store import ProjectStore
from causalrec_core.train import jobs
from tests.train.conftest import import_log_without_exposures
from tests.ui.conftest import Upload, open_page, with_uploads
from ui import train_view as tv

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "pages/train.py"


def _train_page() -> AppTest:
    return open_page(PAGE)


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
    n_users = store.get_run(run.id).metrics["n_test_users"]
    assert n_users > 0
    assert row["what it measures"] == (f"NDCG@10 on the last 10% of the positive events (temporal split), mean over {n_users:,} "
                                       "test users, 95% bootstrap CI")
    captions = [c.value.replace("\\", "") for c in at.caption]
    assert any("observational, not debiased" in c for c in captions), captions
    assert any(c.startswith("Test columns: computed on the last 10% of the positive events") for c in captions), captions
    assert not any("propensity-clipping" in c for c in captions)  # a traditional model has no clipping
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


def test_cancel_and_resume_call_the_jobs_and_say_so(workspace, monkeypatch):
    calls = []
    monkeypatch.setattr(jobs, "cancel_run", lambda store, run_id: calls.append(("cancel", run_id)))
    monkeypatch.setattr(jobs, "resume_run", lambda store, run_id: calls.append(("resume", run_id)))
    at = _train_page()
    store, project, _ = _project(workspace)
    runs = {s: _fake_run(store, project, s) for s in ("queued", "cancelled")}
    at.run()
    for status, label, action, said in (("queued", "Cancel", "cancel", "Asked 'fake queued' to stop; it checkpoints "
                                         "first."), ("cancelled", "Resume", "resume", "Resumed 'fake cancelled'.")):
        at.selectbox(key="train_run_picker").set_value(runs[status].id).run()
        button = at.button(key=f"train_{action}")
        assert button.label == label
        button.click().run()
        assert not at.exception, at.exception
        assert calls[-1] == (action, runs[status].id)
        assert any(m.value.replace("\\", "") == said for m in at.success), [m.value for m in at.success]
    assert len(calls) == 2


def test_absurd_parameters_are_refused_before_a_run_starts(workspace):
    at = _train_page()
    at.multiselect(key="train_models").select("sasrec").run()
    for name, value in (("epochs", -3), ("batch_size", 0), ("dropout", 1.5), ("hidden", 30), ("n_heads", 4)):
        at.number_input(key=f"train_param_sasrec_{name}").set_value(value).run()
    at.text_input(key="train_param_popularity_half_life_days").input("-3").run()
    assert not at.exception, at.exception
    errors = [e.value.replace("\\", "") for e in at.error]
    for text in ("epochs = -3 is not allowed", "batch_size = 0 is not allowed", "dropout = 1.5 is not allowed",
                 "hidden = 30 is not a multiple of n_heads = 4", "half_life_days = -3 is not allowed"):
        assert any(text in e for e in errors), (text, errors)
    assert at.button(key="train_start").disabled
    store, project, _ = _project(workspace)
    assert store.list_runs(project.id) == []
    # corrected values: the errors go and the button comes back
    for name, value in (("epochs", 2), ("batch_size", 64), ("dropout", 0.1), ("hidden", 32)):
        at.number_input(key=f"train_param_sasrec_{name}").set_value(value).run()
    at.text_input(key="train_param_popularity_half_life_days").input("").run()
    assert not at.error, [e.value for e in at.error]
    assert not at.button(key="train_start").disabled


def test_check_params_explains_each_rule():
    assert tv.check_params("sasrec", {"epochs": 3, "hidden": 64, "n_heads": 2, "dropout": 0.2, "lr": 0.001}) == []
    (msg,) = tv.check_params("sasrec", {"lr": 0.0})
    assert msg == "sasrec: lr = 0 is not allowed; it must be a number above 0."
    (msg,) = tv.check_params("sasrec-ips", {"hidden": 30, "n_heads": 4})
    assert "not a multiple of n_heads = 4" in msg and "hidden = 28" in msg and "n_heads = 3" in msg
    assert tv.check_params("uplift", {"clip": 0.6})[0].startswith("uplift: clip = 0.6 is not allowed")
    assert tv.check_params("sasrec-ips", {"clip_min": 1.0, "eta": 0.0}) == []
    assert tv.check_params("popularity", {"half_life_days": None}) == []
    assert tv.check_params("sasrec", {"epochs": float("nan")})


def test_a_failed_run_shows_a_readable_error_without_traceback(workspace):
    at = _train_page()
    store, project, ds = _project(workspace)
    # data that vanish before the worker reads them: the worker's failure must still read well
    gone = workspace / "gone.csv"
    run = jobs.start_run(store, project.id, "popularity", data={"source": "csv", "train": str(gone),
                                                                "test": str(gone)}, device="cpu")
    done = jobs.wait_run(store, run.id, timeout=240)
    assert done.status == "failed"
    assert "Traceback" in jobs.tail_log(done, 40)  # the worker log has one...
    at.run()
    assert not at.exception, at.exception
    assert "failed" in _runs_table(at)["status"].iloc[0]
    errors = [e.value.replace("\\", "") for e in at.error]
    assert any(e.startswith("The run failed: ") and "gone.csv" in e for e in errors), errors
    # ...the page does not: the log is shown with the traceback folded to its last line
    logs = [c.value for c in at.code]
    assert logs and not any("Traceback" in c or 'File "' in c for c in logs), logs
    assert any("gone.csv" in c for c in logs)
    # it failed on its data: a resume would fail the same way, so a new run is suggested instead
    assert "Delete" in _buttons(at) and not {"Resume", "Cancel"} & _buttons(at)
    assert any(c.value.startswith("It failed on its data or parameters") for c in at.caption)


def test_log_without_traceback_keeps_the_error_line():
    log = ("worker pid 1 run 2\nTraceback (most recent call last):\n  File \"x.py\", line 3, in f\n    g()\n"
           "causalrec_core.errors.ParameterError: bad\ndone")
    out = tv.log_without_traceback(log)
    assert "Traceback" not in out and 'File "' not in out
    assert out.splitlines()[0] == "worker pid 1 run 2"
    assert "causalrec_core.errors.ParameterError: bad" in out and out.endswith("done")
    assert tv.error_text("ParameterError: x is bad\n--- last log lines ---\nTraceback ...") == "x is bad"
    assert tv.error_text("RuntimeError: CUDA out of memory") == "RuntimeError: CUDA out of memory"
    assert tv.error_text(None) == "the run failed without a message."


def test_metric_labels_say_what_they_estimate():
    run = SimpleNamespace(metrics={"ndcg@10": 0.1, "n_test_users": 1234, "ci95": {"ndcg@10": [0.09, 0.11]},
                                   "clip_report": {"min": 0.05, "n_clipped": 3, "share_clipped": 0.25}},
                          config={"data": {"source": "dataset"}})
    assert tv.metric_label("ndcg@10", run) == ("NDCG@10 on the last 10% of the positive events (temporal split), mean over 1,234 "
                                               "test users, 95% bootstrap CI")
    clip = tv.clip_report_frame(run)
    assert clip["figure"].tolist() == ["lower clipping bound", "propensities clipped", "share clipped"]
    assert tv.clip_report_frame(SimpleNamespace(metrics={}, config={})).empty
    beyond_run = SimpleNamespace(metrics={"beyond": {"coverage": 0.5, "gini": 0.3, "k": 10, "n_users": 1500}})
    beyond = tv.beyond_frame(beyond_run)
    assert beyond["figure"].tolist() == ["catalogue coverage", "Gini of exposure"]
    assert beyond["what it measures"].str.len().gt(20).all()
    assert tv.beyond_title(beyond_run) == "Beyond accuracy (top-10 lists of the 1,500 test users)"
    fig = tv.comparison_chart([SimpleNamespace(status="completed", metrics=run.metrics, name="a", model="m")],
                              {"m": False})
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    loss = tv.loss_chart({"steps": [[0.2, 1.0]]})
    assert loss.data[0].mode == "lines+markers"  # a single early point is visible
    assert loss.layout.xaxis.title.text and loss.layout.yaxis.title.text
    assert loss.data[0].name.endswith("sampled about every second)")
    cpu = tv.loss_chart({"steps": [[0.2, 1.0]], "sample_every_s": 0.1})
    assert cpu.data[0].name.endswith("sampled about every 0.1 s)")  # what the trainer used, not a fixed text


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


def test_causal_propensity_source_is_a_choice_and_graph_needs_features(workspace):
    at = _train_page()
    at.multiselect(key="train_models").select("sasrec-ips").run()
    box = at.selectbox(key="train_param_sasrec-ips_propensity")
    assert box.value == "auto" and {"auto", "logged", "graph", "popularity"} == set(box.options)
    assert box.help == describe_param("propensity", "sasrec-ips")
    box.set_value("graph").run()
    assert not at.exception, at.exception
    errors = [e.value.replace("\\", "") for e in at.error]
    assert any("propensity = graph needs propensity_features" in e for e in errors), errors
    assert at.button(key="train_start").disabled
    at.text_input(key="train_param_sasrec-ips_propensity_features").input("item_popularity, user_activity").run()
    assert not at.error, [e.value for e in at.error]
    assert not at.button(key="train_start").disabled
    assert tv.check_params("uplift", {"propensity": "graph", "propensity_features": ["item_popularity"]}) == []


def test_rating_files_train_a_debiased_model_with_a_mar_share(workspace, monkeypatch, tmp_path):
    from tests.train.conftest import write_rating_csvs

    train, test = write_rating_csvs(tmp_path, n_users=60, n_items=40)
    with_uploads(monkeypatch, {"train_ratings_train_csv": Upload("biased.csv", train.read_bytes()),
                               "train_ratings_test_csv": Upload("random.csv", test.read_bytes())})
    at = _train_page()
    at.radio(key="train_source").set_value("ratings").run()
    assert not at.exception, at.exception
    at.selectbox(key="train_ratings_mar_csv").set_value("fraction").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    captions = [c.value.replace("\\", "") for c in at.caption]
    assert any("60 users × 40 items" in c and "in the randomised sample" in c for c in captions), captions
    rating_models = [m for m in list_models() if "rating" in m["kinds"]]
    box = at.multiselect(key="train_models_rating")
    assert len(box.options) == len(rating_models) and box.value == ["mf", "mf-ips"]
    box.set_value(["mf-ips"]).run()
    at.number_input(key="train_param_mf-ips_epochs").set_value(2).run()
    assert "train_tune_criterion" not in [r.key for r in at.radio]  # only with "Tune first"
    at.checkbox(key="train_tune").check().run()
    at.radio(key="train_tune_criterion").set_value("within-user").run()
    for name, value in (("dim", 4), ("lr", 0.03)):  # changed, so fixed: weight_decay is searched (2 settings x 5 folds)
        at.number_input(key=f"train_param_mf-ips_{name}").set_value(value).run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    store, project, _ = _project(workspace)
    (run,) = store.list_runs(project.id)
    assert run.model == "mf-ips" and run.config["data"]["source"] == "csv"
    assert run.config["data"]["mar_fraction"] == 0.05
    assert Path(run.config["data"]["train"]).is_relative_to(store.project_dir(project.id) / "ratings")
    done = jobs.wait_run(store, run.id, timeout=240)
    assert done.status == "completed", jobs.tail_log(done)
    result = json.loads((done.run_dir / "result.json").read_text())
    assert result["propensity_method"] == "naive-bayes" and result["data"]["n_mar_sample"] > 0
    assert run.config["tune_criterion"] == "within-user" and result["tuning"]["criterion"] == "within-user"
    at.run()
    assert not at.exception, at.exception
    assert "completed" in _runs_table(at)["status"].iloc[0]
    assert {"test AUC", "test NDCG@5"} <= set(_runs_table(at).columns)
    metrics = next(df.value for df in at.dataframe if "95% CI low" in df.value.columns).set_index("metric")
    assert metrics.loc["NDCG@5", "what it measures"].startswith(
        "NDCG@5 on the randomised (missing-at-random) test ratings (less the share kept for the propensities)")
    captions = [c.value.replace("\\", "") for c in at.caption]
    assert any(c.startswith("The test ratings are of items assigned to users at random") for c in captions), captions
    assert not any("observational, not debiased" in c for c in captions)
    assert any(c.startswith("Test columns: computed on the randomised (missing-at-random) test ratings") for c in captions)
    assert "AUC (IPS-weighted)" in _runs_table(at)["best validation"].iloc[0]
    assert _runs_table(at)["data"].iloc[0] == "biased.csv + random.csv"
    config = next(df.value for df in at.dataframe if "setting" in df.value.columns and "value" in df.value.columns
                  and "data" in df.value["setting"].tolist()).set_index("setting")["value"]
    assert config["data"] == "biased.csv + random.csv" and config["positive"] == "rating > 3"
    assert config["randomised sample"] == "5% of the test, left out of the test"
    assert config["Vector size (dim), trained with"] and "/projects/" not in " ".join(config.tolist())  # no internal paths
    pos = metrics.loc["NDCG@5 (users with a positive)"]
    assert pos["95% CI low"] <= pos["value"] <= pos["95% CI high"] and "with a positive test item" in pos[
        "what it measures"]
    floor = metrics.loc["NDCG@5 of a random ranking", "what it measures"]
    assert "the floor a model must beat" in floor
    assert metrics.loc["AUC", "what it measures"].startswith("AUC on the randomised")
    assert "test pairs, 95% CI resampling users" in metrics.loc["MSE", "what it measures"]
    for key in ("AUC", "MSE"):  # every rating metric has its interval
        assert metrics.loc[key, "95% CI low"] <= metrics.loc[key, "value"] <= metrics.loc[key, "95% CI high"]
    clip = next(df.value for df in at.dataframe if "figure" in df.value.columns).set_index("figure")["value"]
    assert clip["propensity source"] == "naive-bayes" and clip["lower clipping bound"] == "0.02"


def test_bad_rating_file_is_refused_with_its_name(workspace, monkeypatch):
    with_uploads(monkeypatch, {"train_ratings_train_csv": Upload("biased.csv", b"u1,i1,5\nu2,i1,4\n"),
                               "train_ratings_test_csv": Upload("random.csv", b"u1,i2,4\nu2,i3,lots\n")})
    at = _train_page()
    at.radio(key="train_source").set_value("ratings").run()
    assert not at.exception, at.exception
    errors = [e.value.replace("\\", "") for e in at.error]
    assert any("random.csv, line 2: rating 'lots' is not a number" in e for e in errors), errors
    assert not [b for b in at.button if b.key == "train_start"]


def test_views_follow_the_kind_of_data():
    rating = SimpleNamespace(config={"data": {"source": "csv", "train": "a", "test": "b"}}, name="r", model="mf-ips",
                             status="completed", metrics={"ndcg@5": 0.6, "ci95": {"ndcg@5": [0.5, 0.7]}})
    log = SimpleNamespace(config={"data": {"source": "dataset", "dataset_id": 1}}, name="l", model="sasrec",
                          status="completed", metrics={"ndcg@10": 0.1})
    assert (tv.main_metric(rating), tv.main_metric(log)) == ("ndcg@5", "ndcg@10")
    fig = tv.validation_chart({"history": [{"epoch": 1, "val_ips_auc": 0.7}]}, rating)
    assert "a seeded 10% of the training ratings" in fig.layout.title.text
    assert fig.data[0].name == "AUC (IPS-weighted)"
    assert "the 10% of the positive events before the test part" in tv.validation_chart({"history": [{"epoch": 1, "val_ndcg@10": 0.1}]},
                                                                         log).layout.title.text
    other = SimpleNamespace(**{**vars(rating), "name": "r2", "config": {"data": {"source": "csv", "train": "c",
                                                                                 "test": "d"}}})
    chart = tv.comparison_chart([rating, other, log], {"mf-ips": True}, key="ndcg@5", like=rating)
    assert [y for trace in chart.data for y in trace.y] == ["r"]  # other data is not compared
    assert "same data as 'r'" in chart.layout.title.text


def test_tune_first_passes_only_the_changed_parameters(workspace):
    at = _train_page()
    at.multiselect(key="train_models").set_value(["item-knn"]).run()
    default = at.number_input(key="train_param_item-knn_neighbours").value
    at.checkbox(key="train_tune").check().run()
    at.button(key="train_start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    store, project, _ = _project(workspace)
    (run,) = store.list_runs(project.id)
    assert run.config["tune"] is True
    assert "neighbours" not in run.config["params"]  # left at its default: searched
    assert default is not None
    done = jobs.wait_run(store, run.id, timeout=240)
    assert done.status == "completed", jobs.tail_log(done)
    assert done.metrics["tuned_params"]["neighbours"] in (20, 50, 200)


def test_progress_text_while_tuning():
    run = SimpleNamespace(status="running", device="cpu")
    frac, text = tv.progress_state(run, {"tuning": {"config": 2, "n_configs": 8, "params": {"dim": 4},
                                                    "score": 0.71}})
    assert 0 < frac < 1
    assert text == ("Tuning on the validation slice: configuration 2 of 8 tried (dim=4: validation 0.7100); the "
                    "best of them is trained once all are tried.")
    assert tv.epoch_text(run, {"tuning": {"config": 2, "n_configs": 8}}) == "tuning 2/8"
    _, text = tv.progress_state(run, {"tuning": {"config": 1, "n_configs": 4, "params": {"dim": 4}, "score": 0.6,
                                                 "criterion": "within-user"}})
    assert text.startswith("Tuning by 5-fold cross-validation: configuration 1 of 4 tried (dim=4: within-user AUC "
                           "0.6000)")


def test_tuning_frame_lists_the_settings_best_first():
    frame = tv.tuning_frame({"rows": [{"params": {"dim": 4}, "score": 0.6}, {"params": {"dim": 16}, "score": 0.7},
                                      {"params": {}, "score": None}]})
    assert frame["setting"].tolist() == ["dim=16", "dim=4", "(defaults)"]
    assert tv.tuning_frame({}).empty


def test_runs_table_names_the_dataset_and_a_deleted_one(workspace):
    at = _train_page()
    at.run()  # the first start creates the sample project
    store, project, dataset = _project(workspace)
    kept = store.create_run(project.id, "on the sample", "popularity",
                            {"params": {}, "data": {"source": "dataset", "dataset_id": dataset.id}}, seed=0)
    gone = store.create_run(project.id, "on a deleted one", "popularity",
                            {"params": {}, "data": {"source": "dataset", "dataset_id": 987654}}, seed=0)
    for run in (kept, gone):
        store.update_run(run.id, status="completed")
    at.run()
    assert not at.exception, at.exception
    table = _runs_table(at).set_index("run")
    assert table.loc["on the sample", "data"] == dataset.name
    assert table.loc["on a deleted one", "data"] == "dataset 987654 (deleted)"


def test_the_form_survives_a_visit_to_another_page(workspace):
    at = _train_page()
    at.multiselect(key="train_models").select("sasrec").run()
    at.number_input(key="train_param_sasrec_epochs").set_value(3).run()
    at.number_input(key="train_seed").set_value(7).run()
    at.checkbox(key="train_tune").check().run()
    at.switch_page("pages/data.py")
    at.run()
    assert not at.exception, at.exception
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    assert at.multiselect(key="train_models").value == ["popularity", "sasrec"]
    assert at.number_input(key="train_param_sasrec_epochs").value == 3
    assert at.number_input(key="train_seed").value == 7
    assert at.checkbox(key="train_tune").value is True
    assert not at.warning, [w.value for w in at.warning]  # no "value set twice" warning from Streamlit
    # a model taken out and put back keeps its edited values too
    at.multiselect(key="train_models").unselect("sasrec").run()
    at.multiselect(key="train_models").select("sasrec").run()
    assert at.number_input(key="train_param_sasrec_epochs").value == 3


def test_a_model_the_log_cannot_feed_is_refused_on_the_page(workspace, tmp_path):
    at = _train_page()
    store, project, _ = _project(workspace)
    info = import_log_without_exposures(store, project.id, tmp_path)
    at.run()
    at.selectbox(key="train_dataset").set_value(info.id).run()
    at.multiselect(key="train_models").select("uplift").run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert any(e.startswith("uplift needs logged exposures") and "'no exposures' has none" in e for e in errors), errors
    assert at.button(key="train_start").disabled
    at.multiselect(key="train_models").unselect("uplift").run()
    assert not at.button(key="train_start").disabled


def test_uploaded_rating_files_are_kept_across_page_visits(workspace, monkeypatch, tmp_path):
    from tests.train.conftest import write_rating_csvs

    train, test = write_rating_csvs(tmp_path, n_users=60, n_items=40)
    uploads = {"train_ratings_train_csv": Upload("biased.csv", train.read_bytes()),
               "train_ratings_test_csv": Upload("random.csv", test.read_bytes())}
    with_uploads(monkeypatch, uploads)
    at = _train_page()
    at.radio(key="train_source").set_value("ratings").run()
    at.number_input(key="train_ratings_threshold").set_value(2.5).run()
    assert any("60 users × 40 items" in c.value for c in at.caption)
    uploads.clear()  # Streamlit drops the uploads while the user is on another page
    at.switch_page("pages/data.py")
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    assert at.radio(key="train_source").value == "ratings"
    assert at.number_input(key="train_ratings_threshold").value == 2.5
    captions = [c.value.replace("\\", "") for c in at.caption]
    assert any(c.startswith("Using the files uploaded earlier in this session: biased.csv + random.csv") for c in
               captions), captions
    assert any("60 users × 40 items" in c for c in captions)
    assert not at.button(key="train_start").disabled
    at.button(key="train_ratings_forget").click().run()
    assert any(i.value.startswith("Upload the training and the test ratings") for i in at.info)


def test_config_frame_names_the_tuning_criterion():
    base = {"params": {}, "data": {"source": "csv", "threshold": 3.0}, "device": "cpu", "tune": True}
    for criterion, label in (("monitor", "tuned on the validation slice"),
                             ("within-user", "tuned by 5-fold cross-validation on the training data")):
        run = SimpleNamespace(config={**base, "tune_criterion": criterion}, seed=0, device="cpu", run_dir=None,
                              metrics={"tuned_params": {"dim": 4}}, model="mf")
        frame = tv.config_frame(run, "biased.csv + random.csv")
        row = frame[frame.iloc[:, 0] == label]
        assert len(row) == 1 and row.iloc[0, 1] == "dim=4", frame
