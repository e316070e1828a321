"""Uploaded rating files kept in the project folder (causalrec_core.train.rating_files)."""

from __future__ import annotations

import pytest

from causalrec_core.errors import DataError, ParameterError
from causalrec_core.train.rating_files import stage_rating_files
from causalrec_core.train.runner import load_data

from .conftest import write_rating_csvs


@pytest.fixture
def uploads(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    train, test = write_rating_csvs(src, n_users=40, n_items=30)
    return {"train": ("my_train.csv", train.read_bytes()), "test": ("my_test.csv", test.read_bytes())}


def test_stage_csv_gives_a_spec_every_run_can_read(tmp_path, uploads):
    staged = stage_rating_files(tmp_path / "ratings", uploads, threshold=3.0)
    assert staged.spec["source"] == "csv" and staged.spec["threshold"] == 3.0
    data = load_data(staged.spec)
    s = staged.summary
    assert (s["n_train"], s["n_test"], s["n_users"]) == (len(data.train), len(data.test), data.n_users)
    assert s["positive"] == "rating > 3" and 0 < s["positive_share_train"] < 1 and s["n_mar_sample"] == 0
    # the same bytes -> the same folder (no copies pile up)
    again = stage_rating_files(tmp_path / "ratings", uploads, threshold=3.0)
    assert again.folder == staged.folder and len(list((tmp_path / "ratings").iterdir())) == 1


def test_stage_csv_with_mar_fraction_or_file(tmp_path, uploads):
    staged = stage_rating_files(tmp_path / "r", uploads, mar_fraction=0.1)
    n_test = stage_rating_files(tmp_path / "r", uploads).summary["n_test"]
    assert staged.summary["n_mar_sample"] == round(0.1 * n_test)
    assert staged.summary["n_test"] == n_test - staged.summary["n_mar_sample"]
    mar = b"u0,i_new,4\nu1,i_new,1\n"
    with_file = stage_rating_files(tmp_path / "r", {**uploads, "mar": ("mar.csv", mar)})
    assert with_file.summary["n_mar_sample"] == 2 and with_file.spec["mar"].endswith("mar.csv")
    with pytest.raises(ParameterError, match="either a MAR file or mar_fraction"):
        stage_rating_files(tmp_path / "r", {**uploads, "mar": ("mar.csv", mar)}, mar_fraction=0.1)


def test_stage_matrix_format(tmp_path):
    files = {"train": ("train.ascii", b"0 4 1\n2 0 0\n3 0 5\n"), "test": ("test.ascii", b"5 0 0\n0 0 3\n0 2 0\n"),
             "item_features": ("item_features.ascii", b"1 0\n0 1\n1 0\n")}
    staged = stage_rating_files(tmp_path / "r", files, fmt="matrix")
    assert staged.spec["source"] == "coat"
    assert staged.summary["n_users"] == 3 and staged.summary["features"] == ["item"]


def test_bad_uploads_name_the_users_file_and_leave_nothing(tmp_path, uploads):
    folder = tmp_path / "r"
    bad = {**uploads, "test": ("march_test.csv", b"u1,i1,4\nu2,i2,great\n")}
    with pytest.raises(DataError, match=r"march_test.csv, line 2: rating 'great' is not a number"):
        stage_rating_files(folder, bad)
    assert not folder.exists() or not any(folder.iterdir())
    with pytest.raises(DataError, match="empty.csv: the file is empty"):
        stage_rating_files(folder, {**uploads, "train": ("empty.csv", b"  \n")})
    with pytest.raises(ParameterError, match="files\\['test'\\] is missing"):
        stage_rating_files(folder, {"train": uploads["train"]})
    with pytest.raises(ParameterError, match="fmt='xlsx' is not supported"):
        stage_rating_files(folder, uploads, fmt="xlsx")
    with pytest.raises(ParameterError, match="files='notes' is not supported"):
        stage_rating_files(folder, {**uploads, "notes": ("n.txt", b"x")})
    with pytest.raises(ParameterError, match="mar_fraction"):
        stage_rating_files(folder, uploads, mar_fraction=1.5)
    ragged = {"train": ("train.ascii", b"0 4 1\n2 0\n"), "test": ("test.ascii", b"5 0 0\n0 0 3\n")}
    with pytest.raises(DataError, match="train.ascii, line 2: 2 columns"):
        stage_rating_files(folder, ragged, fmt="matrix")
    assert not any(folder.iterdir())
