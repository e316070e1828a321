"""CSV escaping of every export, and all-or-nothing imports into the project store."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from causalrec_core.data.export import csv_safe_frame, escape_cell, to_csv_bytes
from causalrec_core.data.importer import import_dataset
from causalrec_core.errors import DataError, StoreError
from causalrec_core.sample import SAMPLE_PROJECT, ensure_sample_project, sample_data_dir
from causalrec_core.store import ProjectStore

MAPPING = {"user": "user_id", "item": "item_id", "timestamp": "timestamp", "event": "event"}


@pytest.mark.parametrize("cell", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx"])
def test_formula_cells_are_escaped(cell):
    assert escape_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["plain", "a=b", "", "<script>alert(1)</script>", 5, -3.5, None])
def test_other_cells_untouched(cell):
    assert escape_cell(cell) == cell


def test_csv_bytes_escape_text_but_not_numbers():
    df = pd.DataFrame({"user_id": ["=HYPERLINK(\"x\")", "u2"], "value": [-1.5, 2.0], "@col": ["a", "b"]})
    out = pd.read_csv(io.BytesIO(to_csv_bytes(df)), dtype={"user_id": str})
    assert out["user_id"].tolist() == ["'=HYPERLINK(\"x\")", "u2"]
    assert out["value"].tolist() == [-1.5, 2.0]  # numbers stay numbers
    assert list(out.columns) == ["user_id", "value", "'@col"]
    assert df["user_id"].iloc[0].startswith("=")  # the input frame is not modified
    csv_safe_frame(df)
    assert df["user_id"].iloc[0].startswith("=")


@pytest.fixture
def store(tmp_path):
    return ProjectStore(tmp_path / "ws")


def _log(tmp_path, text):
    p = tmp_path / "log.csv"
    p.write_text(text)
    return p


def test_import_then_reload_after_restart(store, tmp_path):
    project = store.create_project("p")
    path = _log(tmp_path, "user_id,item_id,timestamp,event\nu1,i1,1704067200,pv\nu1,i2,1704067300,buy\n")
    info = import_dataset(store, project.id, "log", path, MAPPING)
    assert info.n_rows == 2 and len(info.content_hash) == 64
    again = ProjectStore(store.root)  # a new store object on the same folder = an app restart
    got = again.get_dataset(info.id)
    assert got.mapping == MAPPING
    assert got.profile["events"] == {"view": 1, "purchase": 1}
    assert {r["rule"] for r in got.cleaning_report["rules"]} >= {"duplicate", "missing_user_id"}
    assert set(got.tables) >= {"events", "rejected", "users", "items", "interactions"}
    assert again.load_table(info.id)["event"].tolist() == ["view", "purchase"]


@pytest.mark.parametrize("text", ["", "user_id,item_id,timestamp,event\n",
                                  "user_id,item_id,timestamp,event\nu1,i1,never,pv\n"])
def test_failed_import_leaves_project_unchanged(store, tmp_path, text):
    project = store.create_project("p")
    good = _log(tmp_path, "user_id,item_id,timestamp,event\nu1,i1,1704067200,pv\n")
    import_dataset(store, project.id, "good", good, MAPPING)
    before = [(d.id, d.name, d.content_hash) for d in store.list_datasets(project.id)]
    files_before = sorted(p.relative_to(store.root) for p in store.project_dir(project.id).rglob("*"))
    bad = tmp_path / "bad.csv"
    bad.write_text(text)
    with pytest.raises(DataError):
        import_dataset(store, project.id, "bad", bad, MAPPING)
    assert [(d.id, d.name, d.content_hash) for d in store.list_datasets(project.id)] == before
    files_after = sorted(p.relative_to(store.root) for p in store.project_dir(project.id).rglob("*"))
    assert files_after == files_before


def test_name_clash_refused_before_any_work(store, tmp_path):
    project = store.create_project("p")
    path = _log(tmp_path, "user_id,item_id,timestamp,event\nu1,i1,1704067200,pv\n")
    import_dataset(store, project.id, "log", path, MAPPING)
    with pytest.raises(StoreError, match="name='log'"):
        import_dataset(store, project.id, "log", path, MAPPING)
    info = import_dataset(store, project.id, "log", path, MAPPING | {"event": None}, replace=True)
    assert info.profile["events"] == {"view": 1}


def test_sample_project_is_created_once(store):
    if not (sample_data_dir() / "events.csv").exists():
        pytest.fail("sample_data/events.csv is missing from the repository")
    p1 = ensure_sample_project(store)
    p2 = ensure_sample_project(store)
    assert p1.id == p2.id and p1.name == SAMPLE_PROJECT
    (ds,) = store.list_datasets(p1.id)
    assert {"truth.json", "pairs.parquet"} <= {p.name for p in ds.path.iterdir()}
    assert ds.profile["rows_in"] == ds.profile["rows_kept"] + sum(ds.profile["dropped"].values())
    assert set(ds.tables) >= {"item_side", "user_side"}
    items = store.load_table(ds.id, "items")
    assert {"category", "price", "title"} <= set(items.columns)
    assert pd.api.types.is_float_dtype(items["price"])
