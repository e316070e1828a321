"""The project store: one SQLite database per workspace plus Parquet/artefact folders beside it.

Layout of a workspace ``root``::

    <root>/causalrec.db                                   projects, datasets, objects, runs
    <root>/projects/<project_id>/.staging/<tmp>/          ingestion writes Parquet files here
    <root>/projects/<project_id>/datasets/<dir_name>/     committed datasets (<table>.parquet)
    <root>/projects/<project_id>/runs/<run_id>/           default folder of a training run
    <root>/.trash/                                        orphans being removed

Concurrency model
-----------------
Every public method opens its own short-lived connection, so one :class:`ProjectStore` may be
shared by Streamlit's script threads and the same workspace may be written by worker processes.
Write transactions start with ``BEGIN IMMEDIATE`` (they take SQLite's write lock up front, so a
read-then-write sequence can never fail half-way with ``SQLITE_BUSY``) and wait up to
``busy_timeout_s`` for a concurrent writer. The database runs in WAL mode: readers never block
writers and vice versa.

Crash safety
------------
* Datasets are staged in a private temp folder and moved into place with one ``os.replace``
  while the write lock is held; the row is committed right after. If the move fails the database
  is untouched; if the commit fails the folder is moved back.
* Folders are removed only *after* the transaction that forgot them has committed. A crash in
  between leaves an orphan folder, which :meth:`ProjectStore.cleanup_staging` sweeps (it runs at
  start-up) together with staging folders older than an hour.

Names
-----
Project, dataset and object names are validated (non-empty after stripping, at most
:data:`MAX_NAME_LENGTH` characters, no control characters) and stored exactly as given; any text,
HTML included, round-trips unchanged - rendering layers escape it. Uniqueness is checked on a
normalised key (NFKC, stripped, case-folded), so ``"Demo"`` and ``" demo"`` clash.
"""

from __future__ import annotations

import json
import logging
import numbers
import os
import re
import shutil
import sqlite3
import tempfile
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from causalrec_core.errors import ParameterError, StoreError, invalid_choice, out_of_range

from .atomic import fsync_dir

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "DB_FILENAME",
    "MAX_NAME_LENGTH",
    "OBJECT_KINDS",
    "RUN_STATUSES",
    "SCHEMA_VERSION",
    "TERMINAL_RUN_STATUSES",
    "DatasetInfo",
    "ObjectInfo",
    "Project",
    "ProjectStore",
    "RunInfo",
    "default_root",
]

log = logging.getLogger(__name__)

DB_FILENAME = "causalrec.db"
MAX_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 10_000
OBJECT_KINDS: tuple[str, ...] = ("graph", "effect_run", "report", "evaluation")
RUN_STATUSES: tuple[str, ...] = ("queued", "running", "completed", "failed", "cancelled")
TERMINAL_RUN_STATUSES: tuple[str, ...] = ("completed", "failed", "cancelled")
#: Fields of a run that :meth:`ProjectStore.update_run` may change (config, seed, model are
#: the record of what was run and stay fixed).
RUN_UPDATABLE_FIELDS: tuple[str, ...] = (
    "name",
    "status",
    "device",
    "data_hash",
    "metrics",
    "run_dir",
    "pid",
    "error",
)
DEFAULT_TABLE = "events"
STAGING_DIRNAME = ".staging"
TRASH_DIRNAME = ".trash"
_DATASET_DIR_RE = re.compile(r"^\d+(\.r\d+)?$")
_LIST_LIMIT = 20  # how many known names an "unknown id" message lists


def default_root() -> Path:
    """The workspace folder: ``$CAUSALREC_HOME`` if set and non-empty, else ``~/.causalrec``."""
    env = os.environ.get("CAUSALREC_HOME", "").strip()
    return Path(env).expanduser() if env else Path.home() / ".causalrec"


# --------------------------------------------------------------------------------------------
# records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Project:
    """A project: the unit that owns datasets, objects and runs."""

    id: int
    name: str
    description: str
    created_at: str
    updated_at: str
    n_datasets: int
    path: Path


@dataclass(frozen=True)
class DatasetInfo:
    """A committed dataset: metadata from the database plus the folder holding its tables."""

    id: int
    project_id: int
    name: str
    n_rows: int
    content_hash: str
    mapping: dict = field(hash=False)
    cleaning_report: dict = field(hash=False)
    profile: dict = field(hash=False)
    source: dict = field(hash=False)
    tables: list[str] = field(hash=False)
    path: Path
    created_at: str
    updated_at: str
    revision: int


@dataclass(frozen=True)
class ObjectInfo:
    """One version of a saved object; ``payload`` is ``None`` in listings."""

    id: int
    project_id: int
    kind: str
    name: str
    version: int
    created_at: str
    n_versions: int
    payload: dict | None = field(default=None, hash=False)


@dataclass(frozen=True)
class RunInfo:
    """A training run record."""

    id: int
    project_id: int
    name: str
    model: str
    config: dict = field(hash=False)
    seed: int
    status: str
    device: str
    data_hash: str
    metrics: dict = field(hash=False)
    run_dir: Path
    pid: int | None
    created_at: str
    updated_at: str
    error: str | None


# --------------------------------------------------------------------------------------------
# schema and migrations
# --------------------------------------------------------------------------------------------

_SCHEMA_V1: tuple[str, ...] = (
    """CREATE TABLE projects (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        name        TEXT NOT NULL,
        name_key    TEXT NOT NULL UNIQUE,
        description TEXT NOT NULL DEFAULT '',
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
    )""",
    """CREATE TABLE datasets (
        id                   INTEGER PRIMARY KEY AUTOINCREMENT,
        project_id           INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        name                 TEXT NOT NULL,
        name_key             TEXT NOT NULL,
        n_rows               INTEGER NOT NULL CHECK (n_rows >= 0),
        content_hash         TEXT NOT NULL,
        mapping_json         TEXT NOT NULL,
        cleaning_report_json TEXT NOT NULL,
        profile_json         TEXT NOT NULL,
        source_json          TEXT NOT NULL,
        tables_json          TEXT NOT NULL,
        dir_name             TEXT NOT NULL,
        revision             INTEGER NOT NULL DEFAULT 1,
        created_at           TEXT NOT NULL,
        updated_at           TEXT NOT NULL,
        UNIQUE (project_id, name_key)
    )""",
    """CREATE TABLE objects (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        kind         TEXT NOT NULL,
        name         TEXT NOT NULL,
        name_key     TEXT NOT NULL,
        version      INTEGER NOT NULL CHECK (version >= 1),
        payload_json TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        UNIQUE (project_id, kind, name_key, version)
    )""",
    # Version numbers are never reused, even after a version is deleted.
    """CREATE TABLE object_counters (
        project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        kind         TEXT NOT NULL,
        name_key     TEXT NOT NULL,
        last_version INTEGER NOT NULL,
        PRIMARY KEY (project_id, kind, name_key)
    )""",
    """CREATE TABLE runs (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        name         TEXT NOT NULL,
        model        TEXT NOT NULL,
        config_json  TEXT NOT NULL,
        seed         INTEGER NOT NULL,
        status       TEXT NOT NULL CHECK (status IN
                         ('queued', 'running', 'completed', 'failed', 'cancelled')),
        device       TEXT NOT NULL DEFAULT '',
        data_hash    TEXT NOT NULL DEFAULT '',
        metrics_json TEXT NOT NULL DEFAULT '{}',
        run_dir      TEXT NOT NULL,
        pid          INTEGER,
        created_at   TEXT NOT NULL,
        updated_at   TEXT NOT NULL,
        error        TEXT
    )""",
    "CREATE INDEX idx_datasets_project ON datasets(project_id)",
    "CREATE INDEX idx_objects_project_kind ON objects(project_id, kind, name_key)",
    "CREATE INDEX idx_runs_project ON runs(project_id)",
)


def _migrate_to_v1(conn: sqlite3.Connection) -> None:
    for stmt in _SCHEMA_V1:
        conn.execute(stmt)


#: version -> function that upgrades a database at ``version - 1`` to ``version``. Each runs
#: inside the start-up write transaction (never use ``executescript``: it commits).
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _migrate_to_v1}
SCHEMA_VERSION = max(MIGRATIONS)


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _check_name(param: str, value: object) -> str:
    if not isinstance(value, str):
        raise out_of_range(param, value, f"a string (got {type(value).__name__})")
    if not value.strip():
        raise out_of_range(param, value, "non-empty after stripping whitespace")
    if len(value) > MAX_NAME_LENGTH:
        raise out_of_range(param, value, f"at most {MAX_NAME_LENGTH} characters long (got {len(value)})")
    bad = sorted({c for c in value if unicodedata.category(c) in ("Cc", "Cs")})
    if bad:
        codes = ", ".join(f"U+{ord(c):04X}" for c in bad)
        raise out_of_range(param, value, f"free of control characters (found {codes})")
    return value


def _name_key(name: str) -> str:
    return unicodedata.normalize("NFKC", name.strip()).casefold()


def _check_id(param: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise out_of_range(param, value, "a positive integer id")
    return int(value)


def _check_text(param: str, value: object, max_len: int) -> str:
    if not isinstance(value, str):
        raise out_of_range(param, value, f"a string (got {type(value).__name__})")
    if len(value) > max_len:
        raise out_of_range(param, f"{value[:40]}...", f"at most {max_len} characters long")
    return value


def _json_default(obj: Any) -> Any:
    # numpy scalars and arrays (and anything array-like with .tolist()) become plain JSON.
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        return tolist()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _dump_json(param: str, value: object) -> str:
    if not isinstance(value, Mapping):
        raise out_of_range(param, value, f"a dict (got {type(value).__name__})")
    try:
        return json.dumps(dict(value), sort_keys=True, default=_json_default)
    except (TypeError, ValueError) as err:
        raise ParameterError(f"{param} is invalid: it must be JSON-serialisable with string keys ({err}).") from err


def _load_json(text: str | None) -> dict:
    return json.loads(text) if text else {}


def _fmt_names(names: list[str]) -> str:
    if not names:
        return "(none)"
    shown = ", ".join(repr(n) for n in names[:_LIST_LIMIT])
    more = len(names) - _LIST_LIMIT
    return shown + (f", ... and {more} more" if more > 0 else "")


def _newest_mtime(path: Path) -> float:
    """Newest modification time of a folder and its direct entries (0 if it vanished)."""
    try:
        newest = path.stat().st_mtime
    except OSError:
        return 0.0
    try:
        for entry in os.scandir(path):
            try:
                newest = max(newest, entry.stat(follow_symlinks=False).st_mtime)
            except OSError:
                continue
    except OSError:
        pass
    return newest


def _rmtree(path: Path) -> None:
    """Remove a folder tree or a file; failures are logged, never raised (cleanup retries)."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        pass
    except OSError as err:
        log.warning("could not remove %s: %s (it will be retried at the next cleanup)", path, err)


def _fsync_tree(path: Path) -> None:
    """Flush every file below ``path`` (and the folders) to disk before it is published."""
    for sub in sorted(path.rglob("*"), reverse=True):
        if sub.is_file() and not sub.is_symlink():
            with open(sub, "rb") as fh:
                os.fsync(fh.fileno())
        elif sub.is_dir():
            fsync_dir(sub)
    fsync_dir(path)


# --------------------------------------------------------------------------------------------
# the store
# --------------------------------------------------------------------------------------------


class ProjectStore:
    """Projects, datasets, versioned JSON objects and training runs in one workspace folder.

    Parameters
    ----------
    root : str or Path
        The workspace folder (see :func:`default_root`). Created, with the database schema,
        if missing; an older schema is migrated.
    busy_timeout_s : float, default 30
        How long an operation waits for another writer before failing with :class:`StoreError`.
    cleanup_max_age_s : float, default 3600
        Start-up cleanup removes staging folders not modified for this long (see
        :meth:`cleanup_staging`).

    Raises
    ------
    StoreError
        If the folder cannot be created or the database is corrupt or newer than this code.

    Examples
    --------
    >>> store = ProjectStore(tmp_path)                                  # doctest: +SKIP
    >>> demo = store.create_project("demo")                             # doctest: +SKIP
    >>> staged = store.stage_dataset_dir(demo.id)                       # doctest: +SKIP
    >>> events.to_parquet(staged / "events.parquet")                    # doctest: +SKIP
    >>> ds = store.commit_dataset(demo.id, "clicks", staged, mapping={}, cleaning_report={},
    ...                           profile={}, source={}, content_hash=h, n_rows=len(events))
    >>> store.load_table(ds.id).shape                                   # doctest: +SKIP
    """

    def __init__(
        self,
        root: str | Path,
        *,
        busy_timeout_s: float = 30.0,
        cleanup_max_age_s: float = 3600.0,
    ) -> None:
        if not isinstance(busy_timeout_s, (int, float)) or busy_timeout_s < 0:
            raise out_of_range("busy_timeout_s", busy_timeout_s, "a number of seconds >= 0")
        self.root = Path(root).expanduser()
        self.busy_timeout_s = float(busy_timeout_s)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.projects_dir.mkdir(exist_ok=True)
        except OSError as err:
            raise StoreError(f"cannot create the workspace folder {str(self.root)!r}: {err}") from err
        self._init_db()
        self.cleanup_staging(max_age_s=cleanup_max_age_s)

    def __repr__(self) -> str:
        return f"ProjectStore(root={str(self.root)!r})"

    # ---- paths --------------------------------------------------------------------------

    @property
    def db_path(self) -> Path:
        return self.root / DB_FILENAME

    @property
    def projects_dir(self) -> Path:
        return self.root / "projects"

    def project_dir(self, project_id: int) -> Path:
        """The folder of a project (it may not exist yet)."""
        return self.projects_dir / str(_check_id("project_id", project_id))

    def _staging_dir(self, project_id: int) -> Path:
        return self.projects_dir / str(project_id) / STAGING_DIRNAME

    def _datasets_dir(self, project_id: int) -> Path:
        return self.projects_dir / str(project_id) / "datasets"

    # ---- connections --------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        """A fresh connection in autocommit mode; transactions are opened explicitly."""
        conn = sqlite3.connect(self.db_path, timeout=self.busy_timeout_s, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = self._connect()
        except sqlite3.Error as err:
            raise StoreError(f"cannot open the project database {str(self.db_path)!r}: {err}") from err
        try:
            yield conn
        except sqlite3.Error as err:
            raise StoreError(f"project database error: {err}") from err
        finally:
            conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction; commits on success, rolls back on any exception."""
        try:
            conn = self._connect()
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            raise StoreError(
                f"cannot start a write on the project database {str(self.db_path)!r}: {err} "
                f"(waited up to {self.busy_timeout_s:g} s for other writers)"
            ) from err
        try:
            yield conn
            conn.commit()
        except BaseException as exc:
            try:
                conn.rollback()
            except sqlite3.Error:
                pass
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"project database error: {exc}") from exc
            raise
        finally:
            conn.close()

    def _init_db(self) -> None:
        fresh = not self.db_path.exists()
        try:
            conn = self._connect()
        except sqlite3.Error as err:
            raise StoreError(f"cannot open the project database {str(self.db_path)!r}: {err}") from err
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("SQLite refused WAL mode for %s (mode is %s)", self.db_path, mode)
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version ( version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
                )
                current = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
                if current > SCHEMA_VERSION:
                    raise StoreError(
                        f"the project database {str(self.db_path)!r} has schema version "
                        f"{current}, but this CausalRec only knows versions up to "
                        f"{SCHEMA_VERSION}; upgrade CausalRec Studio."
                    )
                if current == 0:
                    self._set_aside_stale_project_folders(fresh)
                for version in range(current + 1, SCHEMA_VERSION + 1):
                    MIGRATIONS[version](conn)
                    conn.execute(
                        "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                        (version, _now()),
                    )
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
        except sqlite3.DatabaseError as err:
            raise StoreError(f"the project database {str(self.db_path)!r} cannot be opened or upgraded: {err}") from err
        finally:
            conn.close()

    def _set_aside_stale_project_folders(self, fresh: bool) -> None:
        """A new database next to old project folders: move them aside instead of reusing ids."""
        try:
            stale = any(self.projects_dir.iterdir())
        except OSError:
            return
        if not stale:
            return
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        aside = self.root / f"projects.orphaned-{stamp}-{uuid.uuid4().hex[:6]}"
        os.replace(self.projects_dir, aside)
        self.projects_dir.mkdir()
        log.warning(
            "%s database: moved existing project folders to %s",
            "new" if fresh else "empty",
            aside,
        )

    # ---- cleanup ------------------------------------------------------------------------

    def cleanup_staging(self, max_age_s: float = 3600.0) -> list[Path]:
        """Remove crash leftovers; return the folders that were removed.

        * staging folders (``projects/<pid>/.staging/*``) not modified for ``max_age_s``
          seconds (younger ones may belong to an ingestion in progress);
        * project folders whose project no longer exists, and dataset folders no dataset row
          points to (left by a crash between a commit and the folder removal); these are
          found while holding the write lock, so no commit can be in flight;
        * anything left in ``<root>/.trash``.

        Called by ``__init__``; safe to call at any time from any thread or process.
        """
        if not isinstance(max_age_s, (int, float)) or max_age_s < 0:
            raise out_of_range("max_age_s", max_age_s, "a number of seconds >= 0")
        removed: list[Path] = []
        now = time.time()
        self.projects_dir.mkdir(parents=True, exist_ok=True)
        for staging in self.projects_dir.glob(f"*/{STAGING_DIRNAME}"):
            try:
                entries = list(staging.iterdir())
            except OSError:
                continue
            for entry in entries:
                if now - _newest_mtime(entry) >= max_age_s:
                    _rmtree(entry)
                    removed.append(entry)

        trash = self.root / TRASH_DIRNAME
        moved: list[Path] = []

        def to_trash(path: Path) -> None:
            try:
                self._move_to_trash(path, trash)
            except OSError as err:
                log.warning("could not move orphan %s to %s: %s", path, trash, err)
            else:
                moved.append(path)

        with self._write() as conn:
            project_ids = {r[0] for r in conn.execute("SELECT id FROM projects")}
            dataset_dirs = {(r[0], r[1]) for r in conn.execute("SELECT project_id, dir_name FROM datasets")}
            for pdir in self.projects_dir.iterdir():
                if not pdir.is_dir() or not pdir.name.isdigit():
                    continue  # not ours: leave it alone
                pid = int(pdir.name)
                if pid not in project_ids:
                    to_trash(pdir)
                    continue
                ddir = pdir / "datasets"
                if not ddir.is_dir():
                    continue
                for entry in ddir.iterdir():
                    if entry.is_dir() and _DATASET_DIR_RE.match(entry.name) and (pid, entry.name) not in dataset_dirs:
                        to_trash(entry)
        removed.extend(moved)
        if trash.is_dir():
            for entry in trash.iterdir():
                _rmtree(entry)
        if removed:
            log.info("store cleanup removed %d leftover folder(s) under %s", len(removed), self.root)
        return removed

    @staticmethod
    def _move_to_trash(path: Path, trash: Path) -> Path:
        trash.mkdir(exist_ok=True)
        target = trash / f"{path.parent.name}-{path.name}-{uuid.uuid4().hex[:8]}"
        os.replace(path, target)
        return target

    # ---- projects -----------------------------------------------------------------------

    _PROJECT_SQL = (
        "SELECT p.*, (SELECT COUNT(*) FROM datasets d WHERE d.project_id = p.id) AS n_datasets FROM projects p"
    )

    def _project_from_row(self, row: sqlite3.Row) -> Project:
        return Project(
            id=row["id"],
            name=row["name"],
            description=row["description"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            n_datasets=row["n_datasets"],
            path=self.projects_dir / str(row["id"]),
        )

    def _unknown_project(self, conn: sqlite3.Connection, project_id: int) -> StoreError:
        names = [r[0] for r in conn.execute("SELECT name FROM projects ORDER BY name_key")]
        return StoreError(f"project_id={project_id} is unknown; known projects: {_fmt_names(names)}.")

    def _require_project(self, conn: sqlite3.Connection, project_id: int) -> sqlite3.Row:
        row = conn.execute(f"{self._PROJECT_SQL} WHERE p.id = ?", (project_id,)).fetchone()
        if row is None:
            raise self._unknown_project(conn, project_id)
        return row

    def _check_project_name_free(self, conn: sqlite3.Connection, name: str, exclude_id: int | None = None) -> None:
        row = conn.execute(
            "SELECT id, name FROM projects WHERE name_key = ? AND id IS NOT ?",
            (_name_key(name), exclude_id),
        ).fetchone()
        if row is not None:
            raise StoreError(
                f"name={name!r} clashes with the existing project {row['name']!r} "
                f"(id {row['id']}); project names are unique, ignoring case."
            )

    def create_project(self, name: str, description: str = "") -> Project:
        """Create a project; ``StoreError`` if a project of that name (any case) exists."""
        _check_name("name", name)
        _check_text("description", description, MAX_DESCRIPTION_LENGTH)
        now = _now()
        with self._write() as conn:
            self._check_project_name_free(conn, name)
            cur = conn.execute(
                "INSERT INTO projects (name, name_key, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                (name, _name_key(name), description, now, now),
            )
            project = self._project_from_row(self._require_project(conn, cur.lastrowid))
        project.path.mkdir(parents=True, exist_ok=True)
        return project

    def list_projects(self) -> list[Project]:
        """All projects, sorted by name (ignoring case)."""
        with self._read() as conn:
            rows = conn.execute(f"{self._PROJECT_SQL} ORDER BY p.name_key, p.id").fetchall()
        return [self._project_from_row(r) for r in rows]

    def get_project(self, project_id: int) -> Project:
        """The project with this id; ``StoreError`` naming the id and the known projects."""
        pid = _check_id("project_id", project_id)
        with self._read() as conn:
            return self._project_from_row(self._require_project(conn, pid))

    def find_project(self, name: str) -> Project | None:
        """The project with this name (ignoring case), or ``None``."""
        _check_name("name", name)
        with self._read() as conn:
            row = conn.execute(f"{self._PROJECT_SQL} WHERE p.name_key = ?", (_name_key(name),)).fetchone()
        return None if row is None else self._project_from_row(row)

    def rename_project(self, project_id: int, new_name: str) -> Project:
        """Rename a project; ``StoreError`` if another project has that name."""
        pid = _check_id("project_id", project_id)
        _check_name("new_name", new_name)
        with self._write() as conn:
            self._require_project(conn, pid)
            self._check_project_name_free(conn, new_name, exclude_id=pid)
            conn.execute(
                "UPDATE projects SET name = ?, name_key = ?, updated_at = ? WHERE id = ?",
                (new_name, _name_key(new_name), _now(), pid),
            )
            return self._project_from_row(self._require_project(conn, pid))

    def set_project_description(self, project_id: int, description: str) -> Project:
        """Replace a project's description."""
        pid = _check_id("project_id", project_id)
        _check_text("description", description, MAX_DESCRIPTION_LENGTH)
        with self._write() as conn:
            self._require_project(conn, pid)
            conn.execute(
                "UPDATE projects SET description = ?, updated_at = ? WHERE id = ?",
                (description, _now(), pid),
            )
            return self._project_from_row(self._require_project(conn, pid))

    def delete_project(self, project_id: int) -> None:
        """Delete a project with all its datasets, objects and runs, then its folder."""
        pid = _check_id("project_id", project_id)
        with self._write() as conn:
            self._require_project(conn, pid)
            conn.execute("DELETE FROM projects WHERE id = ?", (pid,))
        _rmtree(self.projects_dir / str(pid))  # only after the commit

    # ---- datasets -----------------------------------------------------------------------

    def _dataset_from_row(self, row: sqlite3.Row) -> DatasetInfo:
        return DatasetInfo(
            id=row["id"],
            project_id=row["project_id"],
            name=row["name"],
            n_rows=row["n_rows"],
            content_hash=row["content_hash"],
            mapping=_load_json(row["mapping_json"]),
            cleaning_report=_load_json(row["cleaning_report_json"]),
            profile=_load_json(row["profile_json"]),
            source=_load_json(row["source_json"]),
            tables=list(json.loads(row["tables_json"])),
            path=self._datasets_dir(row["project_id"]) / row["dir_name"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            revision=row["revision"],
        )

    def _require_dataset(self, conn: sqlite3.Connection, dataset_id: int) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM datasets WHERE id = ?", (dataset_id,)).fetchone()
        if row is None:
            known = [
                f"{r['id']}: {r['name']!r}" for r in conn.execute("SELECT id, name FROM datasets ORDER BY id LIMIT 21")
            ]
            listing = ", ".join(known[:_LIST_LIMIT]) or "(none)"
            if len(known) > _LIST_LIMIT:
                listing += ", ..."
            raise StoreError(f"dataset_id={dataset_id} is unknown; known datasets: {listing}.")
        return row

    def _check_dataset_name_free(
        self, conn: sqlite3.Connection, project_id: int, name: str, exclude_id: int | None = None
    ) -> None:
        row = conn.execute(
            "SELECT id, name FROM datasets WHERE project_id = ? AND name_key = ? AND id IS NOT ?",
            (project_id, _name_key(name), exclude_id),
        ).fetchone()
        if row is not None:
            raise StoreError(
                f"name={name!r} clashes with the existing dataset {row['name']!r} (id {row['id']})"
                " in this project; choose another name or pass replace=True."
            )

    def stage_dataset_dir(self, project_id: int) -> Path:
        """A fresh, empty folder where ingestion writes ``<table>.parquet`` files before
        :meth:`commit_dataset`. Abandoned folders are removed by :meth:`cleanup_staging`."""
        pid = _check_id("project_id", project_id)
        with self._read() as conn:
            self._require_project(conn, pid)
        staging = self._staging_dir(pid)
        staging.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="ds-", dir=staging))

    def discard_staged_dir(self, staged_dir: str | Path) -> None:
        """Remove a staging folder that will not be committed (e.g. after a failed ingestion)."""
        path = self._check_staged_dir(None, staged_dir, must_exist=False)
        if path.exists():
            _rmtree(path)

    def _check_staged_dir(self, project_id: int | None, staged_dir: object, must_exist: bool = True) -> Path:
        if not isinstance(staged_dir, (str, Path)):
            raise out_of_range("staged_dir", staged_dir, "a path")
        path = Path(staged_dir).resolve()
        parent = path.parent
        pid_ok = project_id is None or parent == self._staging_dir(project_id).resolve()
        if parent.name != STAGING_DIRNAME or parent.parent.parent != self.projects_dir.resolve() or not pid_ok:
            where = (
                self._staging_dir(project_id)
                if project_id is not None
                else self.projects_dir / "<project_id>" / STAGING_DIRNAME
            )
            raise out_of_range(
                "staged_dir",
                str(staged_dir),
                f"a folder made by stage_dataset_dir() directly inside {str(where)!r}",
            )
        if must_exist and not path.is_dir():
            raise StoreError(
                f"staged_dir={str(staged_dir)!r} does not exist (it was already committed, "
                "discarded or cleaned up); stage the dataset again."
            )
        return path

    def commit_dataset(
        self,
        project_id: int,
        name: str,
        staged_dir: str | Path,
        *,
        mapping: dict,
        cleaning_report: dict,
        profile: dict,
        source: dict,
        content_hash: str,
        n_rows: int,
        replace: bool = False,
    ) -> DatasetInfo:
        """Move a staged folder into the project and record it, atomically.

        Parameters
        ----------
        project_id : int
        name : str
            Dataset name, unique within the project (ignoring case).
        staged_dir : Path
            A folder returned by :meth:`stage_dataset_dir` for this project; it must hold
            ``events.parquet`` and may hold more ``<table>.parquet`` files (users, items...).
        mapping, cleaning_report, profile, source : dict
            JSON-serialisable metadata, returned as-is by :meth:`get_dataset`.
        content_hash : str
            Hash of the canonical data (used to tie runs and reports to the exact data).
        n_rows : int
            Number of event rows.
        replace : bool, default False
            If a dataset of that name exists, replace its data and metadata, keeping its id
            (the revision number goes up). Without it a clash raises ``StoreError``.

        Returns
        -------
        DatasetInfo

        Raises
        ------
        ParameterError
            Invalid name, metadata, hash, row count or staging folder.
        StoreError
            Unknown project, name clash without ``replace``, staged folder missing or without
            ``events.parquet``, or the move / database write failed. In every case the
            store is left exactly as before (the staged folder stays where it was).
        """
        pid = _check_id("project_id", project_id)
        _check_name("name", name)
        payloads = {
            "mapping_json": _dump_json("mapping", mapping),
            "cleaning_report_json": _dump_json("cleaning_report", cleaning_report),
            "profile_json": _dump_json("profile", profile),
            "source_json": _dump_json("source", source),
        }
        if not isinstance(content_hash, str) or not content_hash.strip():
            raise out_of_range("content_hash", content_hash, "a non-empty string")
        if isinstance(n_rows, bool) or not isinstance(n_rows, numbers.Integral) or n_rows < 0:
            raise out_of_range("n_rows", n_rows, "an integer >= 0")
        staged = self._check_staged_dir(pid, staged_dir)
        tables = sorted(p.stem for p in staged.glob("*.parquet") if p.is_file())
        if DEFAULT_TABLE not in tables:
            raise StoreError(
                f"staged_dir={str(staged_dir)!r} holds no {DEFAULT_TABLE}.parquet "
                f"(tables found: {_fmt_names(tables)}); every dataset needs an events table."
            )

        try:
            _fsync_tree(staged)
        except OSError as err:
            raise StoreError(f"cannot flush the staged files in {str(staged)!r} to disk: {err}") from err
        now = _now()
        values = dict(
            payloads,
            name=name,
            name_key=_name_key(name),
            n_rows=int(n_rows),
            content_hash=content_hash,
            tables_json=json.dumps(tables),
            updated_at=now,
        )
        target: Path | None = None
        old_dir: Path | None = None
        stale: Path | None = None
        try:
            with self._write() as conn:
                self._require_project(conn, pid)
                existing = conn.execute(
                    "SELECT * FROM datasets WHERE project_id = ? AND name_key = ?",
                    (pid, _name_key(name)),
                ).fetchone()
                if existing is not None and not replace:
                    self._check_dataset_name_free(conn, pid, name)  # raises the clash error
                if existing is None:
                    cols = ", ".join(values) + ", project_id, dir_name, revision, created_at"
                    marks = ", ".join("?" for _ in range(len(values) + 4))
                    cur = conn.execute(
                        f"INSERT INTO datasets ({cols}) VALUES ({marks})",
                        (*values.values(), pid, "", 1, now),
                    )
                    dataset_id = cur.lastrowid
                    dir_name = str(dataset_id)
                    conn.execute("UPDATE datasets SET dir_name = ? WHERE id = ?", (dir_name, dataset_id))
                else:
                    dataset_id = existing["id"]
                    revision = existing["revision"] + 1
                    dir_name = f"{dataset_id}.r{revision}"
                    sets = ", ".join(f"{k} = ?" for k in values)
                    conn.execute(
                        f"UPDATE datasets SET {sets}, dir_name = ?, revision = ? WHERE id = ?",
                        (*values.values(), dir_name, revision, dataset_id),
                    )
                    old_dir = self._datasets_dir(pid) / existing["dir_name"]
                new_dir = self._datasets_dir(pid) / dir_name
                # We hold the write lock: a folder already at new_dir is a crash orphan.
                try:
                    if new_dir.exists():
                        stale = self._move_to_trash(new_dir, self.root / TRASH_DIRNAME)
                    new_dir.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(staged, new_dir)
                except OSError as err:
                    raise StoreError(f"could not move the staged dataset into {str(new_dir)!r}: {err}") from err
                target = new_dir
                fsync_dir(new_dir.parent)
                row = self._require_dataset(conn, dataset_id)
            # committed
        except BaseException:
            if target is not None:  # moved, but the row was not committed: undo the move
                try:
                    os.replace(target, staged)
                except OSError:
                    _rmtree(target)
            raise
        for leftover in (old_dir, stale):
            if leftover is not None:
                _rmtree(leftover)
        return self._dataset_from_row(row)

    def list_datasets(self, project_id: int) -> list[DatasetInfo]:
        """The project's datasets, sorted by name (ignoring case)."""
        pid = _check_id("project_id", project_id)
        with self._read() as conn:
            self._require_project(conn, pid)
            rows = conn.execute("SELECT * FROM datasets WHERE project_id = ? ORDER BY name_key, id", (pid,)).fetchall()
        return [self._dataset_from_row(r) for r in rows]

    def get_dataset(self, dataset_id: int) -> DatasetInfo:
        """The dataset with this id; ``StoreError`` naming the id and the known datasets."""
        did = _check_id("dataset_id", dataset_id)
        with self._read() as conn:
            return self._dataset_from_row(self._require_dataset(conn, did))

    def find_dataset(self, project_id: int, name: str) -> DatasetInfo | None:
        """The project's dataset with this name (ignoring case), or ``None``."""
        pid = _check_id("project_id", project_id)
        _check_name("name", name)
        with self._read() as conn:
            self._require_project(conn, pid)
            row = conn.execute(
                "SELECT * FROM datasets WHERE project_id = ? AND name_key = ?",
                (pid, _name_key(name)),
            ).fetchone()
        return None if row is None else self._dataset_from_row(row)

    def dataset_path(self, dataset_id: int, table: str = DEFAULT_TABLE) -> Path:
        """Path of ``<table>.parquet``; ``StoreError`` listing the tables if it is missing."""
        info = self.get_dataset(dataset_id)
        if table not in info.tables:
            raise StoreError(
                f"table={table!r} is not in dataset {info.id} ({info.name!r}); "
                f"available tables: {_fmt_names(info.tables)}."
            )
        path = info.path / f"{table}.parquet"
        if not path.is_file():
            raise StoreError(
                f"dataset {info.id} ({info.name!r}) is damaged: {str(path)!r} is missing; "
                "delete the dataset and import it again."
            )
        return path

    def load_table(self, dataset_id: int, table: str = DEFAULT_TABLE, columns: list[str] | None = None) -> pd.DataFrame:
        """Read one table of a dataset (optionally only some columns) into a DataFrame.

        Raises
        ------
        StoreError
            Unknown dataset or table, or missing file.
        ParameterError
            A requested column does not exist (the message lists the available ones).
        """
        import pandas as pd
        import pyarrow as pa
        import pyarrow.parquet as pq

        if columns is not None and (isinstance(columns, str) or not all(isinstance(c, str) for c in columns)):
            raise out_of_range("columns", columns, "a list of column names or None")
        path = self.dataset_path(dataset_id, table)
        try:
            if columns is not None:
                available = pq.read_schema(path).names
                missing = [c for c in columns if c not in available]
                if missing:
                    raise ParameterError(
                        f"columns={missing!r} are not in table {table!r}; available columns: {_fmt_names(available)}."
                    )
                columns = list(columns)
            return pd.read_parquet(path, columns=columns)
        except (OSError, pa.ArrowException) as err:
            raise StoreError(
                f"dataset {dataset_id} is damaged: {str(path)!r} cannot be read ({err}); "
                "delete the dataset and import it again."
            ) from err

    def rename_dataset(self, dataset_id: int, new_name: str) -> DatasetInfo:
        """Rename a dataset; ``StoreError`` if its project has another dataset of that name."""
        did = _check_id("dataset_id", dataset_id)
        _check_name("new_name", new_name)
        with self._write() as conn:
            row = self._require_dataset(conn, did)
            self._check_dataset_name_free(conn, row["project_id"], new_name, exclude_id=did)
            conn.execute(
                "UPDATE datasets SET name = ?, name_key = ?, updated_at = ? WHERE id = ?",
                (new_name, _name_key(new_name), _now(), did),
            )
            return self._dataset_from_row(self._require_dataset(conn, did))

    def delete_dataset(self, dataset_id: int) -> None:
        """Delete a dataset's row, then (after the commit) its folder."""
        did = _check_id("dataset_id", dataset_id)
        with self._write() as conn:
            row = self._require_dataset(conn, did)
            conn.execute("DELETE FROM datasets WHERE id = ?", (did,))
        _rmtree(self._datasets_dir(row["project_id"]) / row["dir_name"])

    # ---- versioned objects --------------------------------------------------------------

    @staticmethod
    def _check_kind(kind: object) -> str:
        if kind not in OBJECT_KINDS:
            raise invalid_choice("kind", kind, OBJECT_KINDS)
        return kind  # type: ignore[return-value]

    @staticmethod
    def _object_from_row(row: sqlite3.Row, with_payload: bool) -> ObjectInfo:
        keys = row.keys()
        return ObjectInfo(
            id=row["id"],
            project_id=row["project_id"],
            kind=row["kind"],
            name=row["name"],
            version=row["version"],
            created_at=row["created_at"],
            n_versions=row["n_versions"] if "n_versions" in keys else 1,
            payload=json.loads(row["payload_json"]) if with_payload else None,
        )

    def _object_versions(self, conn: sqlite3.Connection, pid: int, kind: str, name: str) -> list[int]:
        return [
            r[0]
            for r in conn.execute(
                "SELECT version FROM objects WHERE project_id = ? AND kind = ? AND name_key = ? ORDER BY version",
                (pid, kind, _name_key(name)),
            )
        ]

    def _unknown_object(
        self, conn: sqlite3.Connection, pid: int, kind: str, name: str, version: int | None
    ) -> StoreError:
        versions = self._object_versions(conn, pid, kind, name)
        if versions:
            return StoreError(
                f"version={version} of {kind} {name!r} does not exist; "
                f"available versions: {', '.join(map(str, versions))}."
            )
        names = [
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT name FROM objects WHERE project_id = ? AND kind = ? ORDER BY name_key",
                (pid, kind),
            )
        ]
        return StoreError(
            f"name={name!r} is not a saved {kind} in project {pid}; saved {kind} objects: {_fmt_names(names)}."
        )

    def save_object(self, project_id: int, kind: str, name: str, payload: dict) -> ObjectInfo:
        """Save ``payload`` as a new version of ``(project, kind, name)``: 1, 2, ...

        Version numbers are never reused, even after a version is deleted. NumPy scalars and
        arrays in the payload are stored as plain numbers and lists.
        """
        pid = _check_id("project_id", project_id)
        self._check_kind(kind)
        _check_name("name", name)
        payload_json = _dump_json("payload", payload)
        key = _name_key(name)
        with self._write() as conn:
            self._require_project(conn, pid)
            conn.execute(
                "INSERT INTO object_counters (project_id, kind, name_key, last_version)"
                " VALUES (?, ?, ?, 1) ON CONFLICT (project_id, kind, name_key)"
                " DO UPDATE SET last_version = last_version + 1",
                (pid, kind, key),
            )
            version = conn.execute(
                "SELECT last_version FROM object_counters WHERE project_id = ? AND kind = ? AND name_key = ?",
                (pid, kind, key),
            ).fetchone()[0]
            cur = conn.execute(
                "INSERT INTO objects (project_id, kind, name, name_key, version, payload_json,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (pid, kind, name, key, version, payload_json, _now()),
            )
            row = conn.execute(
                "SELECT *, (SELECT COUNT(*) FROM objects o2 WHERE o2.project_id = o.project_id"
                " AND o2.kind = o.kind AND o2.name_key = o.name_key) AS n_versions"
                " FROM objects o WHERE id = ?",
                (cur.lastrowid,),
            ).fetchone()
        return self._object_from_row(row, with_payload=True)

    def load_object(self, project_id: int, kind: str, name: str, version: int | None = None) -> ObjectInfo:
        """One version (the latest if ``version`` is None) of a saved object, with its payload."""
        pid = _check_id("project_id", project_id)
        self._check_kind(kind)
        _check_name("name", name)
        if version is not None:
            version = _check_id("version", version)
        sql = (
            "SELECT *, (SELECT COUNT(*) FROM objects o2 WHERE o2.project_id = o.project_id"
            " AND o2.kind = o.kind AND o2.name_key = o.name_key) AS n_versions"
            " FROM objects o WHERE project_id = ? AND kind = ? AND name_key = ?"
        )
        params: tuple = (pid, kind, _name_key(name))
        if version is None:
            sql += " ORDER BY version DESC LIMIT 1"
        else:
            sql += " AND version = ?"
            params += (version,)
        with self._read() as conn:
            self._require_project(conn, pid)
            row = conn.execute(sql, params).fetchone()
            if row is None:
                raise self._unknown_object(conn, pid, kind, name, version)
        return self._object_from_row(row, with_payload=True)

    def list_objects(self, project_id: int, kind: str | None = None) -> list[ObjectInfo]:
        """The latest version of each saved object (``payload`` is None; ``n_versions`` set),
        sorted by kind, then name (ignoring case)."""
        pid = _check_id("project_id", project_id)
        if kind is not None:
            self._check_kind(kind)
        where, params = "project_id = ?", [pid]
        if kind is not None:
            where += " AND kind = ?"
            params.append(kind)
        sql = (
            "SELECT o.id, o.project_id, o.kind, o.name, o.version, o.created_at, g.n_versions"
            " FROM objects o JOIN ("
            "   SELECT kind, name_key, MAX(version) AS v, COUNT(*) AS n_versions FROM objects"
            f"  WHERE {where} GROUP BY kind, name_key"
            " ) g ON o.kind = g.kind AND o.name_key = g.name_key AND o.version = g.v"
            " WHERE o.project_id = ? ORDER BY o.kind, o.name_key"
        )
        with self._read() as conn:
            self._require_project(conn, pid)
            rows = conn.execute(sql, (*params, pid)).fetchall()
        return [self._object_from_row(r, with_payload=False) for r in rows]

    def list_object_versions(self, project_id: int, kind: str, name: str) -> list[ObjectInfo]:
        """Every stored version of one object, oldest first (``payload`` is None)."""
        pid = _check_id("project_id", project_id)
        self._check_kind(kind)
        _check_name("name", name)
        with self._read() as conn:
            self._require_project(conn, pid)
            rows = conn.execute(
                "SELECT id, project_id, kind, name, version, created_at FROM objects"
                " WHERE project_id = ? AND kind = ? AND name_key = ? ORDER BY version",
                (pid, kind, _name_key(name)),
            ).fetchall()
            if not rows:
                raise self._unknown_object(conn, pid, kind, name, None)
        return [ObjectInfo(**dict(r), n_versions=len(rows)) for r in rows]

    def delete_object(self, project_id: int, kind: str, name: str, version: int | None = None) -> int:
        """Delete one version, or all versions if ``version`` is None; return how many.

        Raises ``StoreError`` if nothing matched."""
        pid = _check_id("project_id", project_id)
        self._check_kind(kind)
        _check_name("name", name)
        if version is not None:
            version = _check_id("version", version)
        sql = "DELETE FROM objects WHERE project_id = ? AND kind = ? AND name_key = ?"
        params: tuple = (pid, kind, _name_key(name))
        if version is not None:
            sql += " AND version = ?"
            params += (version,)
        with self._write() as conn:
            self._require_project(conn, pid)
            n = conn.execute(sql, params).rowcount
            if n == 0:
                raise self._unknown_object(conn, pid, kind, name, version)
        return n

    # ---- training runs ------------------------------------------------------------------

    def _run_from_row(self, row: sqlite3.Row) -> RunInfo:
        run_dir = Path(row["run_dir"])
        return RunInfo(
            id=row["id"],
            project_id=row["project_id"],
            name=row["name"],
            model=row["model"],
            config=_load_json(row["config_json"]),
            seed=row["seed"],
            status=row["status"],
            device=row["device"],
            data_hash=row["data_hash"],
            metrics=_load_json(row["metrics_json"]),
            run_dir=run_dir if run_dir.is_absolute() else self.root / run_dir,
            pid=row["pid"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            error=row["error"],
        )

    def _require_run(self, conn: sqlite3.Connection, run_id: int) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            ids = [str(r[0]) for r in conn.execute("SELECT id FROM runs ORDER BY id DESC LIMIT 20")]
            raise StoreError(f"run_id={run_id} is unknown; most recent run ids: {', '.join(ids) or '(none)'}.")
        return row

    @staticmethod
    def _check_run_field(field_name: str, value: object) -> tuple[str, object]:
        """Validate one updatable run field; return (column, SQL value)."""
        if field_name == "name":
            return "name", _check_name("name", value)
        if field_name == "status":
            if value not in RUN_STATUSES:
                raise invalid_choice("status", value, RUN_STATUSES)
            return "status", value
        if field_name in ("device", "data_hash"):
            return field_name, _check_text(field_name, value, 1000)
        if field_name == "metrics":
            return "metrics_json", _dump_json("metrics", value)
        if field_name == "run_dir":
            if not isinstance(value, (str, Path)) or not str(value).strip():
                raise out_of_range("run_dir", value, "a non-empty path")
            return "run_dir", str(value)
        if field_name == "pid":
            if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1):
                raise out_of_range("pid", value, "a positive integer process id or None")
            return "pid", None if value is None else int(value)
        if field_name == "error":
            if value is not None and not isinstance(value, str):
                raise out_of_range("error", value, "a string or None")
            return "error", value
        raise invalid_choice("field", field_name, RUN_UPDATABLE_FIELDS)

    def create_run(
        self,
        project_id: int,
        name: str,
        model: str,
        config: dict,
        seed: int,
        *,
        device: str = "",
        data_hash: str = "",
        run_dir: str | Path | None = None,
    ) -> RunInfo:
        """Record a new run with status ``'queued'``.

        ``run_dir`` defaults to ``<root>/projects/<pid>/runs/<run_id>/``, which is created
        (and removed with the run or the project).
        """
        pid = _check_id("project_id", project_id)
        _check_name("name", name)
        _check_name("model", model)
        config_json = _dump_json("config", config)
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise out_of_range("seed", seed, "an integer >= 0")
        _check_text("device", device, 1000)
        _check_text("data_hash", data_hash, 1000)
        if run_dir is not None:
            self._check_run_field("run_dir", run_dir)
        now = _now()
        with self._write() as conn:
            self._require_project(conn, pid)
            cur = conn.execute(
                "INSERT INTO runs (project_id, name, model, config_json, seed, status, device,"
                " data_hash, metrics_json, run_dir, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, '{}', ?, ?, ?)",
                (
                    pid,
                    name,
                    model,
                    config_json,
                    int(seed),
                    device,
                    data_hash,
                    "" if run_dir is None else str(run_dir),
                    now,
                    now,
                ),
            )
            run_id = cur.lastrowid
            if run_dir is None:
                rel = Path("projects", str(pid), "runs", str(run_id)).as_posix()
                conn.execute("UPDATE runs SET run_dir = ? WHERE id = ?", (rel, run_id))
            row = self._require_run(conn, run_id)
        info = self._run_from_row(row)
        if run_dir is None:
            info.run_dir.mkdir(parents=True, exist_ok=True)
        return info

    def update_run(self, run_id: int, **fields: Any) -> RunInfo:
        """Change some of :data:`RUN_UPDATABLE_FIELDS` and bump ``updated_at``.

        A run whose status is terminal (completed, failed, cancelled) cannot change status
        again (``StoreError``); its other fields (e.g. final metrics) may still be updated.
        """
        rid = _check_id("run_id", run_id)
        cols = dict(self._check_run_field(k, v) for k, v in fields.items())
        with self._write() as conn:
            row = self._require_run(conn, rid)
            new_status = cols.get("status")
            if new_status is not None and row["status"] in TERMINAL_RUN_STATUSES and new_status != row["status"]:
                raise StoreError(
                    f"status={new_status!r} is not allowed: run {rid} is already "
                    f"{row['status']!r}, a final status; start a new run instead."
                )
            cols["updated_at"] = _now()
            sets = ", ".join(f"{c} = ?" for c in cols)
            conn.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*cols.values(), rid))
            row = self._require_run(conn, rid)
        return self._run_from_row(row)

    def reopen_run(self, run_id: int) -> RunInfo:
        """Put a cancelled or failed run back to ``'queued'`` so that it can resume from its checkpoint.

        A completed run is final (``StoreError``: start a new run instead); so is a run that is
        still queued or running (nothing to reopen).
        """
        rid = _check_id("run_id", run_id)
        with self._write() as conn:
            row = self._require_run(conn, rid)
            if row["status"] not in ("cancelled", "failed"):
                raise StoreError(
                    f"run {rid} is {row['status']!r}; only a cancelled or failed run can be resumed."
                )
            conn.execute("UPDATE runs SET status = 'queued', error = NULL, pid = NULL, updated_at = ? WHERE id = ?",
                         (_now(), rid))
            row = self._require_run(conn, rid)
        return self._run_from_row(row)

    def get_run(self, run_id: int) -> RunInfo:
        """The run with this id; ``StoreError`` if unknown."""
        rid = _check_id("run_id", run_id)
        with self._read() as conn:
            return self._run_from_row(self._require_run(conn, rid))

    def list_runs(self, project_id: int, status: str | None = None) -> list[RunInfo]:
        """The project's runs in creation order, optionally only those with ``status``."""
        pid = _check_id("project_id", project_id)
        if status is not None and status not in RUN_STATUSES:
            raise invalid_choice("status", status, RUN_STATUSES)
        sql, params = "SELECT * FROM runs WHERE project_id = ?", [pid]
        if status is not None:
            sql += " AND status = ?"
            params.append(status)
        with self._read() as conn:
            self._require_project(conn, pid)
            rows = conn.execute(sql + " ORDER BY id", params).fetchall()
        return [self._run_from_row(r) for r in rows]

    def delete_run(self, run_id: int, *, force: bool = False) -> None:
        """Delete a run record and, if it lives inside the workspace, its folder.

        A queued or running run is refused (``StoreError``) unless ``force=True`` (e.g. for
        a run whose worker died without updating its status).
        """
        rid = _check_id("run_id", run_id)
        with self._write() as conn:
            row = self._require_run(conn, rid)
            if row["status"] not in TERMINAL_RUN_STATUSES and not force:
                raise StoreError(
                    f"run {rid} is {row['status']!r}; cancel it first, or pass force=True if its worker is gone."
                )
            conn.execute("DELETE FROM runs WHERE id = ?", (rid,))
        run_dir = self._run_from_row(row).run_dir
        project_dir = (self.projects_dir / str(row["project_id"])).resolve()
        if run_dir.resolve().is_relative_to(project_dir):
            _rmtree(run_dir)
