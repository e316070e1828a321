"""Tests of the project store (causalrec_core.store)."""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import causalrec_core.store.store as store_mod
from causalrec_core.errors import ParameterError, StoreError
from causalrec_core.store import (
    OBJECT_KINDS,
    SCHEMA_VERSION,
    DatasetInfo,
    ObjectInfo,
    ProjectStore,
    RunInfo,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    default_root,
)

HTML_NAME = "<script>alert(\"x\")</script> & <b>bold</b> 'q'"

# ---------------------------------------------------------------------------- helpers


@pytest.fixture
def store(tmp_path: Path) -> ProjectStore:
    return ProjectStore(tmp_path / "ws")


@pytest.fixture
def pid(store: ProjectStore) -> int:
    return store.create_project("demo", "a demo project").id


def _events(n: int = 5, offset: int = 0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": [f"u{i % 2}" for i in range(n)],
            "item_id": [f"i{i + offset}" for i in range(n)],
            "timestamp": pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC"),
            "event": ["view"] * n,
            "value": np.arange(n, dtype=float) + offset,
        }
    )


def _stage(store: ProjectStore, pid: int, df: pd.DataFrame | None = None, **extra) -> Path:
    staged = store.stage_dataset_dir(pid)
    (df if df is not None else _events()).to_parquet(staged / "events.parquet")
    for table, frame in extra.items():
        frame.to_parquet(staged / f"{table}.parquet")
    return staged


def _commit(store: ProjectStore, pid: int, name: str = "clicks", df=None, *, replace=False, staged=None, **extra):
    df = _events() if df is None else df
    staged = staged if staged is not None else _stage(store, pid, df, **extra)
    return store.commit_dataset(
        pid,
        name,
        staged,
        mapping={"user": "user_id"},
        cleaning_report={"dropped": 0},
        profile={"n_users": int(df["user_id"].nunique())},
        source={"file": "clicks.csv"},
        content_hash=f"hash-{len(df)}-{df['value'].sum()}",
        n_rows=len(df),
        replace=replace,
    )


def _snapshot(store: ProjectStore) -> tuple:
    """Everything observable: listings of every kind plus every file under the root."""
    files = sorted(
        str(p.relative_to(store.root)) for p in store.root.rglob("*") if not p.name.startswith("causalrec.db")
    )
    projects = store.list_projects()
    per_project = [(store.list_datasets(p.id), store.list_objects(p.id), store.list_runs(p.id)) for p in projects]
    return files, projects, per_project


def _db_count(store: ProjectStore, table: str) -> int:
    with sqlite3.connect(store.db_path) as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


# ---------------------------------------------------------------------------- setup & schema


def test_default_root_env(monkeypatch, tmp_path):
    monkeypatch.setenv("CAUSALREC_HOME", str(tmp_path / "home"))
    assert default_root() == tmp_path / "home"
    monkeypatch.delenv("CAUSALREC_HOME")
    assert default_root() == Path.home() / ".causalrec"
    monkeypatch.setenv("CAUSALREC_HOME", "  ")
    assert default_root() == Path.home() / ".causalrec"


def test_init_creates_db_wal_and_schema_version(store):
    assert store.db_path.is_file()
    assert (store.root / "projects").is_dir()
    with sqlite3.connect(store.db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    conn = store._connect()
    try:
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
    finally:
        conn.close()


def test_reopen_is_idempotent_and_persistent(tmp_path):
    root = tmp_path / "ws"
    s1 = ProjectStore(root)
    p = s1.create_project("alpha")
    ds = _commit(s1, p.id)
    s1.save_object(p.id, "graph", "g", {"edges": [["a", "b"]]})
    run = s1.create_run(p.id, "r1", "mf", {"dim": 8}, seed=1)
    before = _snapshot(s1)
    s2 = ProjectStore(root)  # simulated app restart
    assert _snapshot(s2) == before
    assert s2.get_dataset(ds.id) == ds
    assert s2.load_table(ds.id).equals(_events())
    assert s2.load_object(p.id, "graph", "g").payload == {"edges": [["a", "b"]]}
    assert s2.get_run(run.id) == run
    with sqlite3.connect(s2.db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == SCHEMA_VERSION


def test_newer_schema_is_refused(tmp_path):
    root = tmp_path / "ws"
    ProjectStore(root)
    with sqlite3.connect(root / "causalrec.db") as conn:
        conn.execute("INSERT INTO schema_version VALUES (?, 'x')", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="schema version"):
        ProjectStore(root)


def test_corrupt_db_raises_store_error(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    (root / "causalrec.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="causalrec.db"):
        ProjectStore(root)


def test_new_db_sets_aside_stale_project_folders(tmp_path):
    root = tmp_path / "ws"
    s = ProjectStore(root)
    p = s.create_project("old")
    _commit(s, p.id)
    for f in root.glob("causalrec.db*"):
        f.unlink()
    s2 = ProjectStore(root)
    assert s2.list_projects() == []
    aside = list(root.glob("projects.orphaned-*"))
    assert len(aside) == 1 and (aside[0] / "1" / "datasets" / "1" / "events.parquet").is_file()
    p2 = s2.create_project("new")
    assert p2.id == 1 and _commit(s2, p2.id).n_rows == 5


# ---------------------------------------------------------------------------- projects


def test_project_crud(store):
    b = store.create_project("beta", "second")
    a = store.create_project("Alpha")
    assert [p.name for p in store.list_projects()] == ["Alpha", "beta"]
    assert store.get_project(b.id) == b
    assert b.description == "second" and b.n_datasets == 0 and b.path.is_dir()
    assert b.created_at.endswith("+00:00") and b.created_at == b.updated_at
    assert store.find_project("ALPHA") == a
    assert store.find_project("gamma") is None
    r = store.rename_project(a.id, "gamma")
    assert r.name == "gamma" and r.id == a.id and r.updated_at >= a.updated_at
    assert store.find_project("alpha") is None
    assert store.set_project_description(r.id, "x").description == "x"
    store.delete_project(b.id)
    assert [p.name for p in store.list_projects()] == ["gamma"]


def test_project_name_clash_is_case_insensitive(store, pid):
    with pytest.raises(StoreError, match="'DEMO'.*'demo'"):
        store.create_project("DEMO")
    with pytest.raises(StoreError, match="clashes"):
        store.create_project(" demo ")
    other = store.create_project("other")
    with pytest.raises(StoreError, match="new_name|clashes with the existing project 'demo'"):
        store.rename_project(other.id, "Demo")
    assert store.get_project(other.id).name == "other"
    assert store.rename_project(pid, "DEMO").name == "DEMO"  # own name, other case: fine


@pytest.mark.parametrize("name", [HTML_NAME, "Café ☕ 数据", "x" * 100, "a/b\\c;DROP TABLE projects;--"])
def test_any_printable_name_round_trips(tmp_path, name):
    s = ProjectStore(tmp_path / "ws")
    p = s.create_project(name)
    assert p.name == name
    reopened = ProjectStore(tmp_path / "ws")
    assert reopened.get_project(p.id).name == name
    assert reopened.find_project(name).id == p.id
    assert [q.name for q in reopened.list_projects()] == [name]


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("", "non-empty"),
        ("   ", "non-empty"),
        ("x" * 101, "at most 100"),
        ("a\x00b", "control"),
        ("line\nbreak", "control"),
        ("tab\there", "control"),
        ("del\x7f", "control"),
        (42, "a string"),
        (None, "a string"),
    ],
)
def test_invalid_names_are_rejected(store, pid, value, rule):
    with pytest.raises(ParameterError, match=rf"^name=.*{rule}"):
        store.create_project(value)
    with pytest.raises(ParameterError, match=rf"^new_name=.*{rule}"):
        store.rename_project(pid, value)
    with pytest.raises(ParameterError, match=rf"^name=.*{rule}"):
        store.save_object(pid, "graph", value, {})
    with pytest.raises(ParameterError, match=rf"^name=.*{rule}"):
        store.create_run(pid, value, "mf", {}, seed=0)
    assert [p.name for p in store.list_projects()] == ["demo"]


def test_unknown_project_ids(store, pid):
    store.create_project("zeta")
    with pytest.raises(StoreError, match=r"project_id=999 is unknown; known projects: 'demo', 'zeta'"):
        store.get_project(999)
    for call in (
        lambda: store.rename_project(999, "x"),
        lambda: store.delete_project(999),
        lambda: store.stage_dataset_dir(999),
        lambda: store.list_datasets(999),
        lambda: store.save_object(999, "graph", "g", {}),
        lambda: store.list_objects(999),
        lambda: store.create_run(999, "r", "mf", {}, seed=0),
        lambda: store.list_runs(999),
    ):
        with pytest.raises(StoreError, match="project_id=999"):
            call()


@pytest.mark.parametrize("bad", ["1", 0, -3, 1.0, True, None])
def test_invalid_ids_are_parameter_errors(store, bad):
    with pytest.raises(ParameterError, match="^project_id="):
        store.get_project(bad)
    with pytest.raises(ParameterError, match="^dataset_id="):
        store.get_dataset(bad)
    with pytest.raises(ParameterError, match="^run_id="):
        store.get_run(bad)


def test_numpy_integer_ids_are_accepted(store, pid):
    assert store.get_project(np.int64(pid)).id == pid


def test_delete_project_cascades_rows_and_files(store, pid):
    keep = store.create_project("keep")
    _commit(store, keep.id)
    ds = _commit(store, pid)
    store.save_object(pid, "report", "r", {"a": 1})
    run = store.create_run(pid, "r", "mf", {}, seed=0)
    staged = store.stage_dataset_dir(pid)
    assert ds.path.is_dir() and run.run_dir.is_dir() and staged.is_dir()
    store.delete_project(pid)
    assert not (store.root / "projects" / str(pid)).exists()
    assert _db_count(store, "datasets") == 1  # only "keep"'s
    assert _db_count(store, "objects") == 0
    assert _db_count(store, "runs") == 0
    assert _db_count(store, "object_counters") == 0
    with pytest.raises(StoreError, match=f"project_id={pid} is unknown"):
        store.get_project(pid)
    with pytest.raises(StoreError, match=f"dataset_id={ds.id} is unknown"):
        store.get_dataset(ds.id)
    assert store.list_datasets(keep.id)[0].path.is_dir()
    assert store.create_project("demo").id != pid  # ids are never reused


def test_delete_project_keeps_folder_if_db_delete_fails(store, pid, monkeypatch):
    ds = _commit(store, pid)
    _fail_commits(monkeypatch)
    with pytest.raises(StoreError, match="simulated"):
        store.delete_project(pid)
    monkeypatch.undo()
    assert store.get_project(pid).n_datasets == 1
    assert store.load_table(ds.id).shape == (5, 5)


# ---------------------------------------------------------------------------- datasets


def test_dataset_commit_list_get_load(store, pid):
    users = pd.DataFrame({"user_id": ["u0", "u1"], "age": [30, 40]})
    ds = _commit(store, pid, users=users)
    assert isinstance(ds, DatasetInfo)
    assert ds.project_id == pid and ds.name == "clicks" and ds.n_rows == 5 and ds.revision == 1
    assert ds.tables == ["events", "users"]
    assert ds.mapping == {"user": "user_id"} and ds.cleaning_report == {"dropped": 0}
    assert ds.profile == {"n_users": 2} and ds.source == {"file": "clicks.csv"}
    assert ds.path == store.root / "projects" / str(pid) / "datasets" / str(ds.id)
    assert store.get_dataset(ds.id) == ds
    assert store.list_datasets(pid) == [ds]
    assert store.find_dataset(pid, "CLICKS") == ds
    assert store.find_dataset(pid, "nope") is None
    assert store.get_project(pid).n_datasets == 1
    assert store.dataset_path(ds.id) == ds.path / "events.parquet"
    assert store.dataset_path(ds.id, "users") == ds.path / "users.parquet"
    pd.testing.assert_frame_equal(store.load_table(ds.id), _events())
    pd.testing.assert_frame_equal(store.load_table(ds.id, "users"), users)
    part = store.load_table(ds.id, columns=["item_id", "value"])
    assert list(part.columns) == ["item_id", "value"]
    # the staging folder is gone (moved), and nothing is left in .staging
    assert list((store.root / "projects" / str(pid) / ".staging").iterdir()) == []


def test_dataset_unknown_table_and_column(store, pid):
    ds = _commit(store, pid)
    with pytest.raises(StoreError, match=r"table='items'.*available tables: 'events'"):
        store.dataset_path(ds.id, "items")
    with pytest.raises(StoreError, match="available tables"):
        store.load_table(ds.id, "../../causalrec")
    with pytest.raises(ParameterError, match=r"columns=\['nope'\].*available columns: 'user_id'"):
        store.load_table(ds.id, columns=["user_id", "nope"])
    with pytest.raises(ParameterError, match="^columns="):
        store.load_table(ds.id, columns="user_id")


def test_damaged_dataset_is_reported(store, pid):
    ds = _commit(store, pid, users=pd.DataFrame({"user_id": ["u0"]}))
    (ds.path / "events.parquet").unlink()
    with pytest.raises(StoreError, match="damaged.*missing"):
        store.load_table(ds.id)
    (ds.path / "users.parquet").write_bytes(b"PAR1 truncated garbage")
    with pytest.raises(StoreError, match="damaged.*cannot be read"):
        store.load_table(ds.id, "users")
    with pytest.raises(StoreError, match="damaged.*cannot be read"):
        store.load_table(ds.id, "users", columns=["user_id"])


def test_unknown_dataset_id(store, pid):
    ds = _commit(store, pid)
    with pytest.raises(StoreError, match=rf"dataset_id=999 is unknown; known datasets: {ds.id}: 'clicks'"):
        store.get_dataset(999)
    for call in (
        lambda: store.dataset_path(999),
        lambda: store.load_table(999),
        lambda: store.rename_dataset(999, "x"),
        lambda: store.delete_dataset(999),
    ):
        with pytest.raises(StoreError, match="dataset_id=999"):
            call()


def test_dataset_rename_and_clash(store, pid):
    a = _commit(store, pid, "a")
    b = _commit(store, pid, "b")
    renamed = store.rename_dataset(a.id, HTML_NAME)
    assert renamed.name == HTML_NAME and renamed.path == a.path
    with pytest.raises(StoreError, match="clashes with the existing dataset"):
        store.rename_dataset(b.id, HTML_NAME.upper())
    with pytest.raises(ParameterError, match="^new_name="):
        store.rename_dataset(b.id, "")
    assert [d.name for d in store.list_datasets(pid)] == sorted([HTML_NAME, "b"], key=str.casefold)
    # same name in another project is fine
    other = store.create_project("other")
    assert _commit(store, other.id, "b").name == "b"


def test_dataset_delete_removes_files(store, pid):
    ds = _commit(store, pid)
    keep = _commit(store, pid, "keep")
    store.delete_dataset(ds.id)
    assert not ds.path.exists()
    assert store.list_datasets(pid) == [keep]
    assert store.get_project(pid).n_datasets == 1
    with pytest.raises(StoreError, match=f"dataset_id={ds.id} is unknown"):
        store.get_dataset(ds.id)


def test_dataset_replace_keeps_id_and_swaps_data(store, pid):
    old = _commit(store, pid, "clicks")
    new_df = _events(8, offset=100)
    new = _commit(store, pid, "Clicks", new_df, replace=True)
    assert new.id == old.id and new.revision == 2 and new.name == "Clicks"
    assert new.n_rows == 8 and new.content_hash != old.content_hash
    assert new.created_at == old.created_at and new.updated_at > old.updated_at
    assert new.path != old.path and not old.path.exists() and new.path.is_dir()
    pd.testing.assert_frame_equal(store.load_table(new.id), new_df)
    assert store.list_datasets(pid) == [new]
    third = _commit(store, pid, "clicks", _events(3), replace=True)
    assert third.revision == 3 and not new.path.exists()
    assert sorted(p.name for p in (store.root / "projects" / str(pid) / "datasets").iterdir()) == [third.path.name]
    # replace=True with a new name simply creates it
    assert _commit(store, pid, "fresh", replace=True).revision == 1


def test_commit_validates_arguments(store, pid, tmp_path):
    staged = _stage(store, pid)
    good = dict(mapping={}, cleaning_report={}, profile={}, source={}, content_hash="h", n_rows=1)
    cases = [
        ("name", dict(name="")),
        ("mapping", dict(mapping=[1, 2])),
        ("profile", dict(profile={"x": object()})),
        ("content_hash", dict(content_hash="")),
        ("n_rows", dict(n_rows=-1)),
        ("n_rows", dict(n_rows=True)),
    ]
    other = store.create_project("other")
    before = _snapshot(store)
    for param, override in cases:
        kwargs = dict(good, **override)
        name = kwargs.pop("name", "ok")
        with pytest.raises(ParameterError, match=f"^{param}"):
            store.commit_dataset(pid, name, staged, **kwargs)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "events.parquet").write_bytes(b"x")
    with pytest.raises(ParameterError, match="^staged_dir=.*stage_dataset_dir"):
        store.commit_dataset(pid, "ok", outside, **good)
    with pytest.raises(ParameterError, match="^staged_dir="):
        store.commit_dataset(other.id, "ok", staged, **good)
    assert outside.is_dir() and staged.is_dir()
    assert _snapshot(store) == before


def test_commit_numpy_metadata_is_stored_as_plain_json(store, pid):
    staged = _stage(store, pid)
    ds = store.commit_dataset(
        pid,
        "np",
        staged,
        mapping={},
        cleaning_report={"n": np.int64(3)},
        profile={"hist": np.array([1.5, 2.0])},
        source={},
        content_hash="h",
        n_rows=np.int64(5),
    )
    assert ds.cleaning_report == {"n": 3} and ds.profile == {"hist": [1.5, 2.0]} and ds.n_rows == 5


def test_staging_is_invisible_and_discardable(store, pid):
    ds = _commit(store, pid)
    staged = _stage(store, pid)
    assert staged.parent == store.root / "projects" / str(pid) / ".staging"
    assert store.list_datasets(pid) == [ds]
    assert store.get_project(pid).n_datasets == 1
    store.discard_staged_dir(staged)
    assert not staged.exists()
    with pytest.raises(ParameterError, match="^staged_dir="):
        store.discard_staged_dir(store.root)


# -- failed commits leave the store exactly as before


def test_failed_commit_missing_staged_dir(store, pid):
    _commit(store, pid, "existing")
    staged = store.stage_dataset_dir(pid)
    staged.rmdir()
    before = _snapshot(store)
    with pytest.raises(StoreError, match="does not exist"):
        _commit(store, pid, "new", staged=staged)
    assert _snapshot(store) == before


def test_failed_commit_without_events_table(store, pid):
    staged = store.stage_dataset_dir(pid)
    _events().to_parquet(staged / "clicks.parquet")
    before = _snapshot(store)
    with pytest.raises(StoreError, match=r"no events\.parquet.*'clicks'"):
        _commit(store, pid, "new", staged=staged)
    assert _snapshot(store) == before


def test_failed_commit_name_clash(store, pid):
    _commit(store, pid, "clicks")
    staged = _stage(store, pid, _events(7))
    before = _snapshot(store)
    with pytest.raises(StoreError, match="'CLICKS' clashes with the existing dataset 'clicks'.*replace=True"):
        _commit(store, pid, "CLICKS", staged=staged)
    assert _snapshot(store) == before
    assert staged.is_dir()  # still there: the caller may retry with another name
    assert _commit(store, pid, "clicks-2", staged=staged).n_rows == 5


def test_failed_move_leaves_db_untouched(store, pid, monkeypatch):
    _commit(store, pid, "existing")
    staged = _stage(store, pid)
    before = _snapshot(store)
    real_replace = os.replace

    def failing_replace(src, dst):
        if Path(src) == staged:
            raise OSError(28, "No space left on device (simulated)")
        return real_replace(src, dst)

    monkeypatch.setattr(store_mod.os, "replace", failing_replace)
    with pytest.raises(StoreError, match="could not move.*simulated"):
        _commit(store, pid, "new", staged=staged)
    with pytest.raises(StoreError, match="could not move"):
        _commit(store, pid, "existing", staged=staged, replace=True)
    monkeypatch.undo()
    assert _snapshot(store) == before
    assert _db_count(store, "datasets") == 1


class _FailingCommitConnection:
    """Wraps a sqlite3 connection; COMMIT fails as if the disk died."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __getattr__(self, name):
        return getattr(self._conn, name)

    def commit(self):
        raise sqlite3.OperationalError("disk I/O error (simulated)")


def _fail_commits(monkeypatch) -> None:
    real_connect = ProjectStore._connect
    monkeypatch.setattr(ProjectStore, "_connect", lambda self: _FailingCommitConnection(real_connect(self)))


def test_failed_insert_moves_folder_back(store, pid, monkeypatch):
    _commit(store, pid, "existing")
    staged = _stage(store, pid)
    before = _snapshot(store)
    _fail_commits(monkeypatch)
    with pytest.raises(StoreError, match="simulated"):
        _commit(store, pid, "new", staged=staged)
    monkeypatch.undo()
    assert _snapshot(store) == before
    assert staged.is_dir() and (staged / "events.parquet").is_file()


def test_failed_replace_keeps_old_dataset(store, pid, monkeypatch):
    old = _commit(store, pid, "clicks")
    staged = _stage(store, pid, _events(9))
    before = _snapshot(store)
    _fail_commits(monkeypatch)
    with pytest.raises(StoreError, match="simulated"):
        _commit(store, pid, "clicks", staged=staged, replace=True)
    monkeypatch.undo()
    assert _snapshot(store) == before
    assert store.get_dataset(old.id) == old
    pd.testing.assert_frame_equal(store.load_table(old.id), _events())


# ---------------------------------------------------------------------------- cleanup


def _age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    for p in [path, *path.rglob("*")]:
        os.utime(p, (t, t))


def test_cleanup_removes_old_staging_only(tmp_path):
    root = tmp_path / "ws"
    s = ProjectStore(root)
    pid = s.create_project("p").id
    old = _stage(s, pid)
    young = _stage(s, pid)
    _age(old, 2 * 3600)
    ProjectStore(root)  # start-up cleanup, default max age of one hour
    assert not old.exists() and young.is_dir()
    removed = s.cleanup_staging(max_age_s=0)
    assert young in removed and not young.exists()


def test_cleanup_removes_orphans_from_crashes(store, pid):
    ds = _commit(store, pid)
    orphan_ds = ds.path.parent / "77"
    orphan_ds.mkdir()
    (orphan_ds / "events.parquet").write_bytes(b"x")
    orphan_project = store.root / "projects" / "999"
    (orphan_project / "datasets" / "5").mkdir(parents=True)
    foreign = store.root / "projects" / "notes"  # not ours: left alone
    foreign.mkdir()
    removed = store.cleanup_staging()
    assert set(removed) == {orphan_ds, orphan_project}
    assert not orphan_ds.exists() and not orphan_project.exists() and foreign.is_dir()
    assert not any((store.root / ".trash").iterdir())
    assert store.load_table(ds.id).shape == (5, 5)


def test_commit_over_crash_orphan_at_target(store, pid):
    # a crash after the move but before the COMMIT leaves datasets/<id> behind, and the id
    # is handed out again; the next commit must not trip over it.
    ds = _commit(store, pid, "a")
    orphan = ds.path.parent / str(ds.id + 1)
    orphan.mkdir()
    (orphan / "stale.txt").write_text("stale")
    new = _commit(store, pid, "b")
    assert new.path == orphan and not (new.path / "stale.txt").exists()
    assert not any((store.root / ".trash").iterdir())
    assert store.load_table(new.id).shape == (5, 5)


# ---------------------------------------------------------------------------- objects


def test_object_versioning(store, pid):
    v1 = store.save_object(pid, "graph", "main", {"edges": [], "n": 1})
    v2 = store.save_object(pid, "graph", "main", {"edges": [["a", "b"]], "n": 2})
    assert isinstance(v1, ObjectInfo)
    assert (v1.version, v2.version) == (1, 2) and v2.n_versions == 2
    assert v2.payload == {"edges": [["a", "b"]], "n": 2}
    assert store.load_object(pid, "graph", "main").version == 2
    assert store.load_object(pid, "graph", "MAIN", version=1).payload == {"edges": [], "n": 1}
    store.save_object(pid, "graph", "alt", {})
    store.save_object(pid, "report", "main", {"html": HTML_NAME})
    listing = store.list_objects(pid)
    assert [(o.kind, o.name, o.version, o.n_versions) for o in listing] == [
        ("graph", "alt", 1, 1),
        ("graph", "main", 2, 2),
        ("report", "main", 1, 1),
    ]
    assert all(o.payload is None for o in listing)
    assert [o.name for o in store.list_objects(pid, "report")] == ["main"]
    assert store.load_object(pid, "report", "main").payload == {"html": HTML_NAME}
    assert [o.version for o in store.list_object_versions(pid, "graph", "main")] == [1, 2]
    other = store.create_project("other")
    assert store.list_objects(other.id) == []
    assert store.save_object(other.id, "graph", "main", {}).version == 1


def test_object_delete_and_versions_are_not_reused(store, pid):
    for i in range(3):
        store.save_object(pid, "effect_run", "ate", {"i": i})
    assert store.delete_object(pid, "effect_run", "ate", version=3) == 1
    assert store.load_object(pid, "effect_run", "ate").version == 2
    assert store.save_object(pid, "effect_run", "ate", {"i": 9}).version == 4
    with pytest.raises(StoreError, match="version=3 .*available versions: 1, 2, 4"):
        store.load_object(pid, "effect_run", "ate", version=3)
    assert store.delete_object(pid, "effect_run", "ate") == 3
    assert store.list_objects(pid) == []
    with pytest.raises(StoreError, match="name='ate' is not a saved effect_run"):
        store.delete_object(pid, "effect_run", "ate")
    assert store.save_object(pid, "effect_run", "ate", {}).version == 5


def test_object_errors(store, pid):
    store.save_object(pid, "graph", "g1", {})
    with pytest.raises(ParameterError, match=r"^kind='model' is not supported; choose one of: 'graph'"):
        store.save_object(pid, "model", "x", {})
    with pytest.raises(ParameterError, match="^kind="):
        store.list_objects(pid, "nope")
    with pytest.raises(ParameterError, match="^payload"):
        store.save_object(pid, "graph", "x", {"bad": {1, 2}})
    with pytest.raises(ParameterError, match="^payload"):
        store.save_object(pid, "graph", "x", [1, 2])
    with pytest.raises(StoreError, match="name='nope' is not a saved graph.*'g1'"):
        store.load_object(pid, "graph", "nope")
    with pytest.raises(ParameterError, match="^version="):
        store.load_object(pid, "graph", "g1", version=0)
    assert set(OBJECT_KINDS) == {"graph", "effect_run", "report", "evaluation"}
    assert [o.version for o in store.list_object_versions(pid, "graph", "g1")] == [1]


def test_object_payload_numpy_and_nan(store, pid):
    info = store.save_object(
        pid, "evaluation", "e", {"auc": np.float64(0.75), "curve": np.arange(3), "ci": float("nan")}
    )
    loaded = store.load_object(pid, "evaluation", "e").payload
    assert loaded["auc"] == 0.75 and loaded["curve"] == [0, 1, 2] and np.isnan(loaded["ci"])
    assert info.payload["curve"] == [0, 1, 2]


# ---------------------------------------------------------------------------- runs


def test_run_lifecycle(store, pid):
    run = store.create_run(pid, "mf-1", "mf", {"dim": 16, "lr": 0.01}, seed=7, data_hash="abc")
    assert isinstance(run, RunInfo)
    assert run.status == "queued" and run.seed == 7 and run.config == {"dim": 16, "lr": 0.01}
    assert run.metrics == {} and run.pid is None and run.error is None and run.device == ""
    assert run.run_dir == store.root / "projects" / str(pid) / "runs" / str(run.id)
    assert run.run_dir.is_dir()
    running = store.update_run(run.id, status="running", pid=os.getpid(), device="cpu")
    assert running.status == "running" and running.pid == os.getpid() and running.device == "cpu"
    assert running.updated_at >= run.updated_at and running.created_at == run.created_at
    done = store.update_run(run.id, status="completed", metrics={"ndcg@10": 0.31}, pid=None)
    assert done.metrics == {"ndcg@10": 0.31} and done.pid is None
    assert store.get_run(run.id) == done
    with pytest.raises(StoreError, match="already 'completed'"):
        store.update_run(run.id, status="running")
    assert store.update_run(run.id, metrics={"ndcg@10": 0.32}).metrics == {"ndcg@10": 0.32}
    second = store.create_run(pid, "mf-2", "mf", {}, seed=8, run_dir="/tmp/elsewhere-never-created")
    assert second.run_dir == Path("/tmp/elsewhere-never-created")
    assert [r.id for r in store.list_runs(pid)] == [run.id, second.id]
    assert [r.id for r in store.list_runs(pid, status="queued")] == [second.id]


def test_run_errors(store, pid):
    run = store.create_run(pid, "r", "mf", {}, seed=0)
    with pytest.raises(ParameterError, match=r"^status='done' is not supported; choose one of: 'queued'"):
        store.update_run(run.id, status="done")
    with pytest.raises(ParameterError, match=r"^field='seed' is not supported"):
        store.update_run(run.id, seed=3)
    with pytest.raises(ParameterError, match="^metrics"):
        store.update_run(run.id, metrics="good")
    with pytest.raises(ParameterError, match="^pid="):
        store.update_run(run.id, pid=-1)
    with pytest.raises(ParameterError, match="^seed="):
        store.create_run(pid, "r", "mf", {}, seed=-1)
    with pytest.raises(ParameterError, match="^config"):
        store.create_run(pid, "r", "mf", None, seed=0)
    with pytest.raises(ParameterError, match="^model="):
        store.create_run(pid, "r", "", {}, seed=0)
    with pytest.raises(ParameterError, match="^status="):
        store.list_runs(pid, status="nope")
    with pytest.raises(StoreError, match=rf"run_id=999 is unknown; most recent run ids: {run.id}"):
        store.get_run(999)
    with pytest.raises(StoreError, match="run_id=999"):
        store.update_run(999, status="running")
    assert store.get_run(run.id) == run  # nothing above changed it


def test_delete_run(store, pid):
    run = store.create_run(pid, "r", "mf", {}, seed=0)
    (run.run_dir / "progress.json").write_text("{}")
    with pytest.raises(StoreError, match="cancel it first"):
        store.delete_run(run.id)
    store.update_run(run.id, status="cancelled")
    store.delete_run(run.id)
    assert not run.run_dir.exists()
    with pytest.raises(StoreError, match=f"run_id={run.id} is unknown"):
        store.get_run(run.id)
    stuck = store.create_run(pid, "stuck", "mf", {}, seed=0)
    store.update_run(stuck.id, status="running")
    store.delete_run(stuck.id, force=True)
    assert store.list_runs(pid) == []


def test_reopen_run(store, pid):
    run = store.create_run(pid, "r", "mf", {}, seed=0)
    with pytest.raises(StoreError, match="only a cancelled or failed run can be resumed"):
        store.reopen_run(run.id)
    store.update_run(run.id, status="failed", error="boom", pid=4242)
    again = store.reopen_run(run.id)
    assert again.status == "queued" and again.error is None and again.pid is None
    store.update_run(run.id, status="completed")
    with pytest.raises(StoreError, match="'completed'; only a cancelled or failed"):
        store.reopen_run(run.id)


# ---------------------------------------------------------------------------- concurrency


def test_concurrent_threads(store, pid):
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def work(tag: str) -> None:
        try:
            barrier.wait()
            for i in range(25):
                store.save_object(pid, "graph", "shared", {"tag": tag, "i": i})
                store.save_object(pid, "report", f"{tag}-{i}", {})
        except BaseException as err:  # noqa: BLE001 - collected and re-raised below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(t,)) for t in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    versions = [o.version for o in store.list_object_versions(pid, "graph", "shared")]
    assert versions == list(range(1, 51))
    assert len(store.list_objects(pid, "report")) == 50


def test_concurrent_project_creation_has_one_winner(store):
    results: list[object] = []
    barrier = threading.Barrier(4)

    def work() -> None:
        barrier.wait()
        try:
            results.append(store.create_project("race"))
        except StoreError as err:
            results.append(err)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(r, StoreError) for r in results) == 3
    assert [p.name for p in store.list_projects()] == ["race"]


def _process_worker(root: str, pid: int, tag: str, n: int) -> list[int]:
    s = ProjectStore(root)
    versions = []
    for i in range(n):
        versions.append(s.save_object(pid, "graph", "shared", {"tag": tag, "i": i}).version)
        s.save_object(pid, "evaluation", f"{tag}-{i}", {"i": i})
    run = s.create_run(pid, f"run-{tag}", "mf", {}, seed=0)
    s.update_run(run.id, status="running", pid=os.getpid())
    return versions


def test_concurrent_processes(store, pid):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = pool.starmap(_process_worker, [(str(store.root), pid, t, 20) for t in ("a", "b")])
    assert sorted(results[0] + results[1]) == list(range(1, 41))
    assert len(store.list_objects(pid, "evaluation")) == 40
    assert {r.status for r in store.list_runs(pid)} == {"running"}


# ---------------------------------------------------------------------------- atomic writes


def test_atomic_writes(tmp_path):
    target = tmp_path / "sub" / "f.json"
    assert atomic_write_json(target, {"b": 1, "a": [1, 2]}) == target
    assert json.loads(target.read_text()) == {"a": [1, 2], "b": 1}
    atomic_write_text(target, "héllo")
    assert target.read_text(encoding="utf-8") == "héllo"
    atomic_write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert [p.name for p in target.parent.iterdir()] == ["f.json"]  # no temp files left


def test_atomic_write_failure_keeps_old_content(tmp_path, monkeypatch):
    target = tmp_path / "f.json"
    atomic_write_json(target, {"ok": True})
    with pytest.raises(TypeError):
        atomic_write_json(target, {"bad": object()})
    with pytest.raises(TypeError):
        atomic_write_bytes(target, "not bytes")

    def boom(src, dst):
        raise OSError("simulated")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="simulated"):
        atomic_write_text(target, "new")
    monkeypatch.undo()
    assert json.loads(target.read_text()) == {"ok": True}
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]
