"""The training worker: ``python -m causalrec_core.train.worker RUN_DIR``.

Reads ``RUN_DIR/job.json`` (written by :func:`causalrec_core.train.jobs.start_run`), marks the
run ``running`` in the project store, trains through :func:`train_and_evaluate`, and writes
``RUN_DIR/progress.json`` atomically as it goes (epoch, step, loss, validation metrics, ETA,
device, the loss history). A cancel request (the file ``RUN_DIR/cancel`` or SIGTERM) makes the
trainer checkpoint and stop; the run is then ``cancelled`` and can be resumed. Any other error
marks the run ``failed`` with the error and the last log lines; the traceback is in
``RUN_DIR/worker.log``.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time
import traceback
from pathlib import Path

PROGRESS_NAME = "progress.json"
CANCEL_NAME = "cancel"
JOB_NAME = "job.json"
LOG_NAME = "worker.log"
MAX_STEP_POINTS = 2000
#: step reports are written to progress.json at most this often (epoch and status changes at once)
WRITE_EVERY_S = 0.5


def tail(path: Path, n: int = 15) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


class ProgressWriter:
    """Collects progress events and writes them atomically to ``progress.json``."""

    def __init__(self, run_dir: Path, on_device=None) -> None:
        self.path = run_dir / PROGRESS_NAME
        self.state: dict = {"status": "running", "started_at": time.time(), "steps": []}
        if self.path.exists():  # a resumed run keeps its earlier curve
            try:
                old = json.loads(self.path.read_text())
                self.state["steps"] = old.get("steps", [])
                if old.get("history"):
                    self.state["history"] = old["history"]
                if old.get("elapsed_s") is not None:
                    self.state["elapsed_s"] = old["elapsed_s"]
                self.state["started_at"] = old.get("started_at", self.state["started_at"])
            except (OSError, ValueError):
                pass
        self._on_device = on_device
        self._device_seen = False
        self._last_write = -math.inf

    def __call__(self, event: dict) -> None:
        ev = dict(event)
        if not self._device_seen and ev.get("device"):
            self._device_seen = True
            if self._on_device is not None:
                self._on_device(ev["device"])
        if ev.get("event") == "step" and ev.get("loss") is not None:
            spe = max(int(ev.get("steps_per_epoch") or 1), 1)
            x = (ev["epoch"] - 1) + min(ev["step"] / spe, 1.0)
            steps = self.state["steps"]
            if steps and x < steps[-1][0]:
                # a resumed run redoes the epoch it was cancelled in: the points of that discarded,
                # unfinished attempt go, so the curve never runs back over itself
                steps[:] = [s for s in steps if s[0] <= ev["epoch"] - 1]
            steps.append([round(x, 4), float(ev["loss"])])
            if len(steps) > MAX_STEP_POINTS:
                del steps[::2]
        hist = ev.pop("history", None)
        if hist is not None:
            self.state["history"] = hist
        self.state.update({k: v for k, v in ev.items() if k != "event"})
        now = time.monotonic()
        if ev.get("event") != "step" or now - self._last_write >= WRITE_EVERY_S:
            self.write()  # step points are kept and written with the next write: the file is not rewritten per step

    def write(self, **extra) -> None:
        from causalrec_core.store.atomic import atomic_write_json
        from causalrec_core.train.runner import _jsonable

        self.state.update(extra)
        self.state["updated_at"] = time.time()
        atomic_write_json(self.path, _jsonable(self.state), indent=None)
        self._last_write = time.monotonic()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m causalrec_core.train.worker RUN_DIR", file=sys.stderr)
        return 2
    run_dir = Path(argv[0])
    job = json.loads((run_dir / JOB_NAME).read_text())
    from causalrec_core.models.base import TrainingCancelled
    from causalrec_core.store import ProjectStore
    from causalrec_core.train.runner import train_and_evaluate

    store = ProjectStore(job["store"])
    run_id = int(job["run_id"])
    stop = {"flag": False}

    def on_term(signum, frame) -> None:  # noqa: ARG001
        stop["flag"] = True

    signal.signal(signal.SIGTERM, on_term)

    def should_stop() -> bool:
        return stop["flag"] or (run_dir / CANCEL_NAME).exists()

    store.update_run(run_id, status="running", pid=os.getpid())
    writer = ProgressWriter(run_dir, on_device=lambda d: store.update_run(run_id, device=d))
    writer.write(status="running", resumed=bool(job.get("resume")))
    print(f"worker pid {os.getpid()} run {run_id}: model {job['model']} seed {job['seed']} "
          f"device {job.get('device', 'auto')} resume {bool(job.get('resume'))}", flush=True)
    try:
        result = train_and_evaluate(
            job["model"], job["data"], params=job.get("params"), seed=int(job["seed"]),
            device=job.get("device", "auto"), run_dir=run_dir, resume=bool(job.get("resume")),
            on_progress=writer, should_stop=should_stop, log_options=job.get("log_options"),
            tune=bool(job.get("tune")), tune_criterion=job.get("tune_criterion", "monitor"), on_tune=lambda ev: writer.write(status="running", tuning=ev),
        )
    except TrainingCancelled as err:
        print(f"cancelled: {err}", flush=True)
        writer.write(status="cancelled")
        store.update_run(run_id, status="cancelled", pid=None, error=str(err))
        return 0
    except BaseException as err:  # noqa: BLE001 - every failure must reach the store
        traceback.print_exc()
        sys.stdout.flush()
        msg = f"{type(err).__name__}: {err}"
        writer.write(status="failed", error=msg)
        store.update_run(run_id, status="failed", pid=None,
                         error=msg + "\n--- last log lines ---\n" + tail(run_dir / LOG_NAME))
        return 1
    metrics = dict(result["metrics"])
    metrics.update({"seconds": result["seconds"], "epochs": result["epochs"], "best_epoch": result["best_epoch"]})
    if result.get("tuning") is not None:
        tuning = result["tuning"]
        metrics["tuned_params"] = tuning["chosen"]
        metrics["tuning"] = {"seconds": tuning.get("seconds"), "grid": tuning.get("grid"), "rows": tuning.get("rows"),
                             "criterion": tuning.get("criterion", "monitor"), "scored_on": tuning.get("scored_on")}
    if result.get("clip_report") is not None:
        metrics["clip_report"] = dict(result["clip_report"])
        if result.get("propensity_method"):
            metrics["clip_report"]["source"] = result["propensity_method"]
    writer.write(status="completed", metrics=result["metrics"])
    store.update_run(run_id, status="completed", pid=None, metrics=metrics, device=result["device"],
                     data_hash=result["data_hash"])
    print(f"completed in {result['seconds']:.1f} s: {json.dumps(result['metrics'])[:500]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
