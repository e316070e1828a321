"""Background training runs: start, watch, cancel, resume, and notice dead workers.

A run is a row in the project store plus a folder (``job.json``, ``progress.json``,
``worker.log``, ``checkpoint.pt``, ``model.pt``, ``result.json``). Its worker is a separate
process (:mod:`causalrec_core.train.worker`) in its own session, so it outlives a restart of
the app; :func:`reconcile` turns a run whose worker is gone without a final status into
``failed`` with its last log lines — never "running" forever.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from causalrec_core.errors import DataError, ParameterError, StoreError, out_of_range
from causalrec_core.models.base import DEVICES
from causalrec_core.store.atomic import atomic_write_json
from causalrec_core.train.worker import CANCEL_NAME, JOB_NAME, LOG_NAME, PROGRESS_NAME, tail

__all__ = ["cancel_run", "is_alive", "read_progress", "reconcile", "resume_run", "start_run", "tail_log",
           "wait_run"]

#: a queued run whose worker has not reported within this many seconds is considered dead
START_GRACE_S = 120.0
_CHILDREN: dict[int, subprocess.Popen] = {}


def is_alive(pid: int | None) -> bool:
    """True if ``pid`` is a live (not zombie) training worker process."""
    if not pid:
        return False
    proc = _CHILDREN.get(pid)
    if proc is not None and proc.poll() is not None:  # reaps our own finished children
        _CHILDREN.pop(pid, None)
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return False
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, IndexError):
            return False
        return b"causalrec_core.train.worker" in cmd  # a reused pid is not our worker
    return True


def _spawn(run_dir: Path) -> int:
    log = open(run_dir / LOG_NAME, "ab")  # noqa: SIM115 - handed to the child
    try:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        proc = subprocess.Popen(
            [sys.executable, "-m", "causalrec_core.train.worker", str(run_dir)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, env=env,
            cwd=str(Path(__file__).resolve().parents[2]),
        )
    finally:
        log.close()
    _CHILDREN[proc.pid] = proc
    return proc.pid


def start_run(store: Any, project_id: int, model: str, *, data: dict, params: dict | None = None, seed: int = 0,
              device: str = "auto", name: str | None = None, log_options: dict | None = None,
              tune: bool = False, tune_criterion: str = "monitor") -> Any:
    """Validate, record and start a training run in the background; returns its RunInfo.

    ``data`` is a data spec (see :mod:`causalrec_core.train.runner`); for a dataset of this
    store use ``{"source": "dataset", "dataset_id": N}`` (the store root is filled in). ``tune``: choose
    the parameters not given in ``params`` on a validation slice of the training data first (the
    model's default grid, :data:`causalrec_core.train.tune.DEFAULT_GRIDS`), scoring each configuration
    by ``tune_criterion`` (:data:`causalrec_core.train.tune.CRITERIA`).
    """
    from causalrec_core.models.registry import make_model

    params = dict(params or {})
    from causalrec_core.models.param_check import require_valid_params

    effective = make_model(model, **params).get_params()  # unknown model / parameter -> ParameterError now
    require_valid_params(model, params)  # and so does a value out of its range
    if device not in DEVICES:
        from causalrec_core.errors import invalid_choice

        raise invalid_choice("device", device, DEVICES)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise out_of_range("seed", seed, "an integer >= 0")
    if not isinstance(tune, bool):
        raise out_of_range("tune", tune, "True or False")
    from causalrec_core.train.tune import CRITERIA

    if tune_criterion not in CRITERIA:
        from causalrec_core.errors import invalid_choice

        raise invalid_choice("tune_criterion", tune_criterion, CRITERIA)
    if not isinstance(data, dict) or "source" not in data:
        raise ParameterError(f"data must be a data spec dict with a 'source'; got {data!r}.")
    spec = dict(data)
    if spec["source"] == "dataset":
        from causalrec_core.models.requirements import data_problems, log_offers

        info = store.get_dataset(int(spec["dataset_id"]))  # unknown dataset -> StoreError now
        problems = data_problems(model, effective, log_offers(info), info.name)
        if problems:  # a run that would fail in its worker is not started
            raise DataError(" ".join(problems))
        spec["store"] = str(store.root)
    existing = store.list_runs(project_id)
    run_name = name or f"{model} #{len(existing) + 1}"
    config = {"params": params, "data": spec, "device": device, "log_options": log_options or {}, "tune": tune}
    if tune:
        config["tune_criterion"] = tune_criterion
    run = store.create_run(project_id, run_name, model, config, seed=seed, device=device)
    job = {"run_id": run.id, "store": str(store.root), "model": model, "params": params, "seed": seed,
           "device": device, "data": spec, "log_options": log_options or {}, "resume": False, "tune": tune,
           "tune_criterion": tune_criterion}
    atomic_write_json(run.run_dir / JOB_NAME, job)
    pid = _spawn(run.run_dir)
    return store.update_run(run.id, pid=pid)


def cancel_run(store: Any, run_id: int) -> Any:
    """Ask a queued or running run to stop (it checkpoints first); returns the RunInfo."""
    run = store.get_run(run_id)
    if run.status not in ("queued", "running"):
        raise StoreError(f"run {run_id} is {run.status!r}; only a queued or running run can be cancelled.")
    (run.run_dir / CANCEL_NAME).write_text(str(time.time()))
    if is_alive(run.pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(run.pid, signal.SIGTERM)
    else:
        reconcile(store, run.project_id)
    return store.get_run(run_id)


#: a run that failed with one of these failed on its data or parameters: a resume would fail the same way
DETERMINISTIC_FAILURES = ("DataError:", "ParameterError:")


def can_resume(run: Any) -> bool:
    """True for a cancelled run, and for a failed one unless it failed on its data or parameters
    (:data:`DETERMINISTIC_FAILURES`: the same job would fail again); a crash, a killed worker or an
    unexpected error can be resumed."""
    if run.status == "cancelled":
        return True
    return run.status == "failed" and not str(run.error or "").startswith(DETERMINISTIC_FAILURES)


def resume_run(store: Any, run_id: int) -> Any:
    """Restart a cancelled or failed run from its last checkpoint, in a new worker."""
    run = store.get_run(run_id)
    if run.status in ("queued", "running") and is_alive(run.pid):
        raise StoreError(f"run {run_id} is still {run.status!r}; cancel it before resuming.")
    if run.status == "failed" and not can_resume(run):
        raise StoreError(f"run {run_id} failed on its data or parameters ({str(run.error).splitlines()[0]}); "
                         "resuming would fail the same way: start a new run with other settings.")
    job_path = run.run_dir / JOB_NAME
    if not job_path.is_file():
        raise StoreError(f"run {run_id} has no {JOB_NAME} in {str(run.run_dir)!r}: it cannot be resumed.")
    run = store.reopen_run(run_id)
    job = json.loads(job_path.read_text())
    job["resume"] = True
    atomic_write_json(job_path, job)
    with contextlib.suppress(FileNotFoundError):
        (run.run_dir / CANCEL_NAME).unlink()
    pid = _spawn(run.run_dir)
    return store.update_run(run_id, pid=pid)


def reconcile(store: Any, project_id: int) -> list[int]:
    """Mark queued/running runs whose worker is gone as failed; returns their ids."""
    changed = []
    for run in store.list_runs(project_id):
        if run.status not in ("queued", "running"):
            continue
        if is_alive(run.pid):
            continue
        if run.pid is None and run.status == "queued":
            age = time.time() - _mtime(run.run_dir / JOB_NAME)
            if age < START_GRACE_S:
                continue
        latest = store.get_run(run.id)  # the worker may have just finished
        if latest.status not in ("queued", "running"):
            continue
        msg = "the training worker stopped without reporting a result (killed or crashed)."
        last = tail(run.run_dir / LOG_NAME)
        store.update_run(run.id, status="failed", pid=None,
                         error=msg + ("\n--- last log lines ---\n" + last if last else ""))
        changed.append(run.id)
    return changed


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def read_progress(run: Any) -> dict | None:
    """The run's latest progress.json, or None before the worker's first write."""
    path = Path(run.run_dir) / PROGRESS_NAME
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def tail_log(run: Any, n: int = 20) -> str:
    return tail(Path(run.run_dir) / LOG_NAME, n)


def wait_run(store: Any, run_id: int, timeout: float = 300.0, poll: float = 0.2) -> Any:
    """Block until the run reaches a final status (or reconcile says its worker died)."""
    deadline = time.monotonic() + timeout
    while True:
        run = store.get_run(run_id)
        if run.status in ("completed", "failed", "cancelled"):
            return run
        if run.pid is not None and not is_alive(run.pid):
            time.sleep(poll)  # let a just-finished worker's final write land
            reconcile(store, run.project_id)
            run = store.get_run(run_id)
            if run.status in ("completed", "failed", "cancelled"):
                return run
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} still {run.status!r} after {timeout:.0f} s")
        time.sleep(poll)
