"""Messages of a failed import (single-column files, invalid JSON lines, unparseable timestamps) and
the profile's key-based readers (a stored profile comes back with sorted keys)."""

from __future__ import annotations

import json

import pytest

from causalrec_core.data.ingest import ingest
from causalrec_core.data.io import delimiter_for_single_column, sniff, splitting_delimiters
from causalrec_core.data.profile import readable_utc, top_shares
from causalrec_core.errors import DataError

from .conftest import HEADER, STD_MAP

# --- a file with a single column ----------------------------------------------------------------


def test_single_column_file_names_the_missing_columns_not_the_delimiter(write, tmp_path):
    path = write("onecol.csv", "user_id\nu1\nu2\nu3\n")
    fmt = sniff(path)
    assert len(fmt.notes) == 1 and "single column" in fmt.notes[0] and "Only one column found" not in fmt.notes[0]
    assert delimiter_for_single_column(path, fmt) is None
    with pytest.raises(DataError) as exc:
        ingest(path, {"user": "user_id"}, tmp_path / "out", file_format=fmt)
    msg = str(exc.value)
    assert "'onecol.csv' has a single column ('user_id')" in msg
    assert "no delimiter (comma, tab, semicolon or pipe) splits its lines" in msg
    assert "the item and timestamp columns are missing" in msg and "'item' and 'timestamp'" in msg
    assert "Choose the delimiter" not in msg and "Only one column found" not in msg


def test_single_column_file_without_any_mapping_lists_all_three(write, tmp_path):
    path = write("ids.csv", "x\n1\n2\n")
    with pytest.raises(DataError, match="the user, item and timestamp columns are missing"):
        ingest(path, {}, tmp_path / "out")


def test_wrong_delimiter_is_still_blamed_when_another_one_splits(write, tmp_path):
    path = write("semi.csv", "user_id;item_id;timestamp\nu1;i1;2024-01-05\n")
    fmt = sniff(path, delimiter=",")
    assert delimiter_for_single_column(path, fmt) == ";"
    with pytest.raises(DataError, match="Only one column found with delimiter ','; the file seems to use ';'"):
        ingest(path, {"user": "user_id;item_id;timestamp"}, tmp_path / "out", file_format=fmt)


def test_splitting_delimiters():
    assert splitting_delimiters(["user_id", "u1"]) == []
    assert splitting_delimiters(["a|b", "1|2"]) == ["|"]


# --- JSON lines by extension ------------------------------------------------------------------


@pytest.mark.parametrize("content, line, detail", [
    ('{"a": 1,\n', 1, "Expecting property name enclosed in double quotes"),
    ("not json at all\n", 1, "Expecting value"),
    ('{"user_id": "u1"}\n\n{"user_id": "u2"\n', 3, "Expecting ',' delimiter"),
    ('"u1"\n', 1, "a JSON object {...} is expected, found a JSON string"),
    ('[{"user_id": "u1"}]\n', 1, "a JSON object {...} is expected, found a JSON array"),
])
@pytest.mark.parametrize("name", ["notcsv.json", "log.jsonl", "log.ndjson"])
def test_invalid_json_file_says_so_with_the_line(write, name, content, line, detail):
    with pytest.raises(DataError) as exc:
        sniff(write(name, content))
    msg = str(exc.value)
    assert f"{name!r} is not valid JSON lines: line {line}: " in msg and detail in msg
    assert "Only one column" not in msg and "Choose the delimiter" not in msg


def test_pretty_printed_json_is_told_apart_from_json_lines(write):
    with pytest.raises(DataError) as exc:
        sniff(write("export.json", '[\n  {"user_id": "u1", "item_id": "i1"}\n]\n'))
    msg = str(exc.value)
    assert "'export.json' is not valid JSON lines: line 1: Expecting value" in msg
    assert "a JSON array or a multi-line JSON document is not JSON lines" in msg


def test_upload_copy_uses_the_original_names_extension(write):
    stored = write("0123abcd.upload", "not json at all\n")
    assert sniff(stored).kind == "csv"  # no name: the content decides
    with pytest.raises(DataError, match="not valid JSON lines: line 1: Expecting value"):
        sniff(stored, name="notcsv.json")
    good = write("4567.upload", json.dumps({"user_id": "u1", "item_id": "i1", "timestamp": 1704067200}) + "\n")
    assert sniff(good, name="log.json").kind == "jsonl"


def test_valid_json_lines_file_is_read(write, run_ingest):
    text = "".join(json.dumps({"user_id": f"u{i}", "item_id": f"i{i}", "timestamp": 1704067200 + i,
                               "event": "view"}) + "\n" for i in range(5))
    assert sniff(write("log.json", text)).kind == "jsonl"
    assert run_ingest(text, name="log.json").profile["rows_kept"] == 5


# --- unparseable timestamps -------------------------------------------------------------------


def test_unparseable_timestamps_show_distinct_examples_and_the_count(run_ingest):
    rows = "".join(f"u{i},i{i},yesterday-ish,view\n" for i in range(5)) + "u9,i9,soon,view\n"
    with pytest.raises(DataError) as exc:
        run_ingest(HEADER + rows)
    msg = str(exc.value)
    assert "(6 rows; 2 distinct values: 'yesterday-ish', 'soon')" in msg, msg
    assert msg.count("'yesterday-ish'") == 1


def test_unparseable_timestamps_with_many_values_show_three(run_ingest):
    rows = "".join(f"u{i},i{i},later-{i % 5},view\n" for i in range(10))
    with pytest.raises(DataError) as exc:
        run_ingest(HEADER + rows, mapping=STD_MAP)
    assert "(10 rows; 5 distinct values, e.g. 'later-0', 'later-1', 'later-2')" in str(exc.value)


# --- profile readers --------------------------------------------------------------------------


def test_top_shares_read_by_key_from_a_stored_profile(run_ingest):
    rows = "".join(f"u{i % 9},i{min(i, 40) if i % 3 else 0},2024-01-{1 + i % 28:02d},view\n" for i in range(300))
    profile = run_ingest(HEADER + rows).profile
    stored = json.loads(json.dumps(profile, sort_keys=True))  # as the project store writes it
    assert list(stored["top_share"]) == ["top_10pct", "top_1pct", "top_20pct"]
    shares = top_shares(stored)
    assert [pct for pct, _ in shares] == [1, 10, 20]
    assert [v for _, v in shares] == [profile["top_share"][k] for k in ("top_1pct", "top_10pct", "top_20pct")]
    assert shares[0][1] < shares[1][1] < shares[2][1]


@pytest.mark.parametrize("stamp, shown", [
    ("2026-11-28T04:23:35.616201+00:00", "2026-11-28 04:23 UTC"),
    ("2026-11-28T04:23:35Z", "2026-11-28 04:23 UTC"),
    ("2026-11-28T06:23:35+02:00", "2026-11-28 04:23 UTC"),
    ("2026-11-28 04:23:35", "2026-11-28 04:23 UTC"),
    ("not a time", "not a time"),
    (None, "unknown"),
])
def test_readable_utc(stamp, shown):
    assert readable_utc(stamp) == shown
