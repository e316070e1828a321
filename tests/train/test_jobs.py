"""Background training runs: a real worker process, progress, cancel, resume, dead workers."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from causalrec_core.errors import ParameterError, StoreError
from causalrec_core.store import ProjectStore
from causalrec_core.train import jobs
from tests.train.conftest import import_log_without_exposures


@pytest.fixture
def setup(tmp_path, rating_csvs):
    store = ProjectStore(tmp_path / "ws")
    project = store.create_project("train tests")
    train, test = rating_csvs
    spec = {"source": "csv", "train": str(train), "test": str(test)}
    return store, project.id, spec


def _wait_for(pred, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_run_completes_with_progress_and_metrics(setup):
    store, pid, spec = setup
    run = jobs.start_run(store, pid, "mf", data=spec, params={"epochs": 3}, seed=5, device="cpu")
    assert run.status == "queued" and run.pid
    done = jobs.wait_run(store, run.id, timeout=180)
    assert done.status == "completed", jobs.tail_log(done)
    assert done.device == "cpu" and done.pid is None and done.data_hash
    assert 0 <= done.metrics["auc"] <= 1 and done.metrics["epochs"] == 3
    prog = jobs.read_progress(done)
    assert prog["status"] == "completed" and prog["epoch"] == 3 and len(prog["history"]) == 3
    assert all("val_auc" in h for h in prog["history"])
    assert (done.run_dir / "model.pt").is_file()
    # survives a "restart": a fresh store object sees the same finished run
    again = ProjectStore(store.root).get_run(run.id)
    assert again.status == "completed" and again.metrics == done.metrics
    from causalrec_core.train.runner import load_trained

    model = load_trained(done.run_dir)
    recs = model.recommend(model.user_ids_[0], k=5)
    assert len(recs) == 5


def test_bad_requests_record_nothing(setup):
    store, pid, spec = setup
    with pytest.raises(ParameterError, match="model='nope'"):
        jobs.start_run(store, pid, "nope", data=spec)
    with pytest.raises(ParameterError, match="'dimension'"):
        jobs.start_run(store, pid, "mf", data=spec, params={"dimension": 4})
    with pytest.raises(ParameterError, match="epochs = -2 is not allowed"):
        jobs.start_run(store, pid, "mf", data=spec, params={"epochs": -2})
    with pytest.raises(ParameterError, match="device="):
        jobs.start_run(store, pid, "mf", data=spec, device="tpu")
    assert store.list_runs(pid) == []


def test_failed_worker_reports_error(setup, tmp_path):
    store, pid, spec = setup
    bad = dict(spec, train=str(tmp_path / "gone.csv"))
    run = jobs.start_run(store, pid, "mf", data=bad, params={"epochs": 2}, device="cpu")
    done = jobs.wait_run(store, run.id, timeout=120)
    assert done.status == "failed" and "gone.csv" in done.error


def test_cancel_then_resume_finishes(setup):
    store, pid, spec = setup
    run = jobs.start_run(store, pid, "mf", data=spec, device="cpu",
                         params={"epochs": 400, "patience": 1000, "batch_size": 16})
    _wait_for(lambda: (jobs.read_progress(store.get_run(run.id)) or {}).get("history"))
    jobs.cancel_run(store, run.id)
    cancelled = jobs.wait_run(store, run.id, timeout=120)
    assert cancelled.status == "cancelled"
    assert (cancelled.run_dir / "checkpoint.pt").is_file()
    done_epochs = len(jobs.read_progress(cancelled)["history"])
    assert 1 <= done_epochs < 400
    with pytest.raises(StoreError, match="only a queued or running run can be cancelled"):
        jobs.cancel_run(store, run.id)
    # resume with fewer remaining epochs: rewrite the job's epoch budget so the test stays short
    job_path = cancelled.run_dir / "job.json"
    job = json.loads(job_path.read_text())
    job["params"]["epochs"] = done_epochs + 2
    job_path.write_text(json.dumps(job))
    resumed = jobs.resume_run(store, run.id)
    assert resumed.status == "queued"
    final = jobs.wait_run(store, run.id, timeout=180)
    assert final.status == "completed", jobs.tail_log(final)
    hist = jobs.read_progress(final)["history"]
    assert [h["epoch"] for h in hist] == list(range(1, done_epochs + 3))


def test_killed_worker_shows_failed_with_log(setup):
    store, pid, spec = setup
    run = jobs.start_run(store, pid, "mf", data=spec, device="cpu",
                         params={"epochs": 400, "patience": 1000, "batch_size": 16})
    _wait_for(lambda: (jobs.read_progress(store.get_run(run.id)) or {}).get("history"))
    os.kill(run.pid, signal.SIGKILL)
    _wait_for(lambda: not jobs.is_alive(run.pid))
    assert jobs.reconcile(store, pid) == [run.id]
    dead = store.get_run(run.id)
    assert dead.status == "failed" and "stopped without reporting" in dead.error
    assert "worker pid" in dead.error  # the last log lines come with it


def test_a_tuned_run_records_the_choice(setup):
    from causalrec_core.train.tune import DEFAULT_GRIDS, grid_configs

    store, pid, spec = setup
    run = jobs.start_run(store, pid, "mf", data=spec, params={"epochs": 2, "weight_decay": 0.001}, seed=1,
                         device="cpu", tune=True)
    assert run.config["tune"] is True
    done = jobs.wait_run(store, run.id, timeout=240)
    assert done.status == "completed", jobs.tail_log(done)
    grid = {k: v for k, v in DEFAULT_GRIDS["mf"].items() if k != "weight_decay"}  # a fixed value is not searched
    assert done.metrics["tuned_params"] in grid_configs(grid)
    prog = jobs.read_progress(done)
    assert prog["tuning"]["n_configs"] == len(grid_configs(grid)) == prog["tuning"]["config"]
    with pytest.raises(ParameterError, match="tune"):
        jobs.start_run(store, pid, "mf", data=spec, tune="yes")
    with pytest.raises(ParameterError, match="tune_criterion.*within-user"):
        jobs.start_run(store, pid, "mf", data=spec, tune=True, tune_criterion="ndcg")


def test_resumed_curve_drops_the_discarded_partial_epoch(tmp_path):
    from causalrec_core.train.worker import ProgressWriter

    def step(writer, epoch, step_no, loss):
        writer({"event": "step", "epoch": epoch, "step": step_no, "steps_per_epoch": 10, "loss": loss})

    first = ProgressWriter(tmp_path)
    for n in (2, 5, 10):  # epoch 1 completes
        step(first, 1, n, 1.0)
    for n in (3, 8):  # epoch 2 is cancelled at step 8 of 10
        step(first, 2, n, 0.5)
    first.write(status="cancelled")  # what the worker writes on a cancel
    resumed = ProgressWriter(tmp_path)  # resume restarts epoch 2 from the end of epoch 1
    assert [s[0] for s in resumed.state["steps"]] == [0.2, 0.5, 1.0, 1.3, 1.8]
    step(resumed, 2, 2, 0.4)
    step(resumed, 2, 6, 0.3)
    resumed.write()
    xs = [s[0] for s in json.loads((tmp_path / "progress.json").read_text())["steps"]]
    assert xs == [0.2, 0.5, 1.0, 1.2, 1.6]  # never runs back over itself
    assert xs == sorted(xs)


def test_step_reports_are_kept_but_written_at_most_every_half_second(tmp_path, monkeypatch):
    from causalrec_core.train import worker

    clock = [100.0]
    monkeypatch.setattr(worker.time, "monotonic", lambda: clock[0])
    writer = worker.ProgressWriter(tmp_path)
    written = lambda: json.loads((tmp_path / "progress.json").read_text())  # noqa: E731
    ev = {"event": "step", "epoch": 1, "steps_per_epoch": 10, "loss": 1.0}
    writer({**ev, "step": 1})
    assert len(written()["steps"]) == 1  # the first report is written at once
    clock[0] += 0.1
    writer({**ev, "step": 2})
    assert len(written()["steps"]) == 1 and len(writer.state["steps"]) == 2  # kept, not yet written
    clock[0] += 0.5
    writer({**ev, "step": 3})
    assert len(written()["steps"]) == 3
    clock[0] += 0.1
    writer({"event": "epoch", "epoch": 1, "loss": 0.9, "history": [{"epoch": 1, "loss": 0.9}]})
    assert written()["history"] == [{"epoch": 1, "loss": 0.9}]  # an epoch's end is written at once


def test_a_run_the_log_cannot_feed_is_refused_before_it_starts(tmp_path):
    from causalrec_core.errors import DataError
    from causalrec_core.models.requirements import data_problems, log_offers

    store = ProjectStore(tmp_path / "ws")
    project = store.create_project("no exposures")
    info = import_log_without_exposures(store, project.id, tmp_path)
    assert log_offers(info) == {"exposures": False, "propensity": False}
    spec = {"source": "dataset", "dataset_id": info.id}
    with pytest.raises(DataError, match="uplift needs logged exposures .*'no exposures' has none"):
        jobs.start_run(store, project.id, "uplift", data=spec)
    with pytest.raises(DataError, match="propensity = logged needs logged exposure propensities"):
        jobs.start_run(store, project.id, "sasrec-ips", data=spec, params={"propensity": "logged"})
    assert store.list_runs(project.id) == []  # nothing recorded, no worker started
    offers = {"exposures": True, "propensity": True}
    assert data_problems("uplift", {"propensity": "logged"}, offers, "x") == []
    assert data_problems("sasrec-ips", {"propensity": "graph"}, {"exposures": False}, "x")[0].startswith(
        "sasrec-ips: propensity = graph learns P(exposed | covariates)")


def test_a_run_failed_on_its_data_is_not_offered_a_resume(setup):
    store, pid, spec = setup
    run = store.create_run(pid, "doomed", "mf", {"params": {}, "data": spec}, seed=0)
    (run.run_dir / jobs.JOB_NAME).write_text(json.dumps({"run_id": run.id}))
    failed = store.update_run(run.id, status="failed", error="DataError: the log has no exposures\n--- last log lines ---")
    assert not jobs.can_resume(failed)
    with pytest.raises(StoreError, match="failed on its data or parameters .*DataError: the log has no exposures"):
        jobs.resume_run(store, run.id)
    crashed = store.update_run(run.id, error="RuntimeError: CUDA out of memory")
    assert jobs.can_resume(crashed)  # an unexpected error or a killed worker can be resumed
    other = store.create_run(pid, "cancelled", "mf", {"params": {}, "data": spec}, seed=0)
    assert jobs.can_resume(store.update_run(other.id, status="cancelled"))
