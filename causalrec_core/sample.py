"""The bundled sample project: a small simulator log (``sample_data/``) that the app opens first.

``sample_data/`` is produced by ``causalrec simulate --users 2000 --items 500 --seed 7 --out
sample_data`` and holds events, user and item side tables and the simulator's recorded truth.
"""

from __future__ import annotations

from pathlib import Path

SAMPLE_PROJECT = "Sample shop (simulated)"
SAMPLE_DATASET = "events"
SAMPLE_SEED = 7
SAMPLE_USERS = 2000
SAMPLE_ITEMS = 500


def sample_data_dir() -> Path:
    """The repository's ``sample_data`` folder."""
    return Path(__file__).resolve().parents[1] / "sample_data"


def ensure_sample_project(store, data_dir: str | Path | None = None):
    """Create the sample project from ``sample_data/`` unless it exists; return the Project.

    Idempotent: a second call returns the existing project without re-importing.
    """
    from causalrec_core.data.importer import import_dataset
    from causalrec_core.data.io import preview, sniff
    from causalrec_core.data.mapping import suggest_mapping
    from causalrec_core.errors import DataError

    project = store.find_project(SAMPLE_PROJECT)
    if project is not None and store.find_dataset(project.id, SAMPLE_DATASET) is not None:
        return project
    d = Path(data_dir) if data_dir else sample_data_dir()
    events = d / "events.csv"
    if not events.exists():
        raise DataError(f"The sample data is missing: {events} does not exist; regenerate it with "
                        f"'causalrec simulate --users {SAMPLE_USERS} --items {SAMPLE_ITEMS} "
                        f"--seed {SAMPLE_SEED} --out sample_data'.")
    if project is None:
        project = store.create_project(
            SAMPLE_PROJECT,
            "Simulated e-commerce log with known causal truth (see sample_data/README.md).")
    fmt = sniff(events)
    mapping = {r: s.column for r, s in suggest_mapping(preview(events, fmt)).items() if s.column}
    extra = {name: d / name for name in ("truth.json", "pairs.parquet") if (d / name).exists()}
    import_dataset(store, project.id, SAMPLE_DATASET, events, mapping, file_format=fmt,
                   items_path=d / "items.csv" if (d / "items.csv").exists() else None,
                   users_path=d / "users.csv" if (d / "users.csv").exists() else None,
                   extra_files=extra)
    return store.get_project(project.id)
