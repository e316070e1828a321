"""The project store: projects, datasets (Parquet), versioned JSON objects and training runs.

See :mod:`causalrec_core.store.store` for the layout, concurrency and crash-safety model and
:mod:`causalrec_core.store.atomic` for the atomic file helpers other modules use.
"""

from .atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from .store import (
    DB_FILENAME,
    MAX_NAME_LENGTH,
    OBJECT_KINDS,
    RUN_STATUSES,
    RUN_UPDATABLE_FIELDS,
    SCHEMA_VERSION,
    TERMINAL_RUN_STATUSES,
    DatasetInfo,
    ObjectInfo,
    Project,
    ProjectStore,
    RunInfo,
    default_root,
)

__all__ = [
    "DB_FILENAME",
    "MAX_NAME_LENGTH",
    "OBJECT_KINDS",
    "RUN_STATUSES",
    "RUN_UPDATABLE_FIELDS",
    "SCHEMA_VERSION",
    "TERMINAL_RUN_STATUSES",
    "DatasetInfo",
    "ObjectInfo",
    "Project",
    "ProjectStore",
    "RunInfo",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "default_root",
]
