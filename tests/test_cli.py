"""The ``causalrec`` command line: profile output, overrides, help, and one-line errors."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from causalrec_core.cli import EXIT_BAD_INPUT, main

REPO = Path(__file__).resolve().parents[1]

SMALL = ("user_id,item_id,timestamp,event\n"
         "u1,i1,2024-01-01T00:00:00Z,view\n"
         "u1,i1,2024-01-01T01:00:00Z,cart\n"
         "u1,i1,2024-01-01T02:00:00Z,buy\n"
         "u1,i2,2024-01-02T00:00:00Z,view\n"
         "u2,i1,2024-01-02T00:00:00Z,view\n"
         "u2,i2,2024-01-03T00:00:00Z,view\n"
         "u2,i2,2024-01-03T12:00:00Z,buy\n"
         "u3,i3,2024-01-04T00:00:00Z,view\n"
         "u3,i3,2024-01-04T00:00:00Z,view\n")     # exact duplicate: dropped by default

PROFILE_KEYS = {"rows_in", "rows_kept", "dropped", "flagged", "users", "items", "events", "time_min",
                "time_max", "funnel"}


@pytest.fixture
def write(tmp_path):
    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> str:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return str(path)

    return _write


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def profile_json(capsys, *argv: str) -> dict:
    rc, out, err = run_cli(capsys, "profile", *argv, "--json")
    assert rc == 0, err
    assert err == ""
    assert out.count("\n") == 1  # one JSON object on one line
    return json.loads(out)


def assert_one_line_error(rc: int, err: str) -> str:
    assert rc == EXIT_BAD_INPUT
    assert "Traceback" not in err
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


# --- profile --------------------------------------------------------------------------------

def test_profile_json_keys_and_values(capsys, write):
    res = profile_json(capsys, write("log.csv", SMALL))
    assert PROFILE_KEYS <= set(res)
    assert res["rows_in"] == 9 and res["rows_kept"] == 8
    assert res["dropped"] == {"duplicate": 1} and res["flagged"] == {}
    assert res["users"] == 3 and res["items"] == 3
    assert res["events"] == {"view": 5, "cart": 1, "purchase": 2}
    assert res["time_min"] == "2024-01-01T00:00:00Z" and res["time_max"] == "2024-01-04T00:00:00Z"
    assert res["funnel"] == {"view": 1.0, "cart": pytest.approx(0.2), "purchase": 2.0}
    assert res["funnel_users"] == {"view": 3, "cart": 1, "purchase": 2}
    assert res["pairs"] == 5 and res["sparsity"] == pytest.approx(4 / 9)
    assert res["gini_items"] == pytest.approx(0.25)
    assert res["mapping"] == {"user": "user_id", "item": "item_id", "timestamp": "timestamp", "event": "event"}
    assert res["format"]["delimiter"] == "," and res["format"]["has_header"] is True
    assert res["time_parse"] == "ISO-8601 text; timestamps without an offset were read as UTC time"
    assert {r["rule"]: r["rows"] for r in res["cleaning"]}["duplicate"] == 1
    assert len(res["content_hash"]) == 64
    assert "tables" not in res


def test_profile_cleaning_flags(capsys, write):
    path = write("log.csv", SMALL)
    res = profile_json(capsys, path, "--duplicates", "keep")
    assert res["rows_kept"] == 9 and res["dropped"] == {} and res["flagged"] == {"duplicate": 1}
    res = profile_json(capsys, path, "--bot-threshold", "3", "--bots", "drop")
    assert res["dropped"] == {"duplicate": 1, "bot_user": 4}
    assert res["users"] == 2


def test_profile_map_override(capsys, write):
    text = ("user_id,account,item_id,timestamp,event\n"
            "u1,a1,i1,2024-01-05,view\nu1,a2,i2,2024-01-05,view\nu2,a3,i1,2024-01-06,buy\n")
    path = write("log.csv", text)
    assert profile_json(capsys, path)["users"] == 2
    res = profile_json(capsys, path, "--map", "user=account")
    assert res["mapping"]["user"] == "account" and res["mapping"]["item"] == "item_id"
    assert res["users"] == 3


def test_profile_map_for_unnamed_columns(capsys, write):
    text = "a|b|c|d\nx1|p1|1704067200|view\nx2|p2|1704153600|buy\n"
    res = profile_json(capsys, write("log.psv", text), "--map", "user=a,item=b,timestamp=c,event=d")
    assert res["mapping"] == {"user": "a", "item": "b", "timestamp": "c", "event": "d"}
    assert res["events"] == {"view": 1, "purchase": 1}
    assert res["time_parse"] == "epoch seconds"


def test_profile_headerless_taobao_log(capsys, write):
    labels = ["pv", "buy", "cart", "fav"]
    text = "".join(f"{100 + i % 7},{2000 + i},{5000 + i % 3},{labels[i % 4]},{1511544070 + 60 * i}\n"
                   for i in range(40))
    res = profile_json(capsys, write("UserBehavior.csv", text))
    assert res["mapping"] == {"user": "col_1", "item": "col_2", "event": "col_4", "timestamp": "col_5"}
    assert res["format"]["has_header"] is False
    assert res["events"] == {"view": 10, "cart": 10, "fav": 10, "purchase": 10}


def test_profile_gb18030_and_delimiter_names(capsys, write):
    text = "用户id\t商品id\t时间\t行为\n用户1\t商品1\t2024-01-05 10:00:00\t浏览\n用户2\t商品2\t2024-01-06 10:00:00\t购买\n"
    path = write("zh.tsv", text, encoding="gb18030")
    res = profile_json(capsys, path, "--delimiter", "tab", "--encoding", "gb18030")
    assert res["format"]["encoding"] == "gb18030" and res["format"]["delimiter"] == "\t"
    assert res["events"] == {"view": 1, "purchase": 1}
    assert res["mapping"]["user"] == "用户id"


def test_profile_no_header_flag(capsys, write):
    text = "u1,i1,2024-01-05T00:00:00Z,view\nu2,i2,2024-01-06T00:00:00Z,buy\n"
    res = profile_json(capsys, write("log.csv", text), "--no-header",
                       "--map", "user=col_1,item=col_2,timestamp=col_3,event=col_4")
    assert res["rows_in"] == 2 and res["format"]["has_header"] is False


def test_profile_out_keeps_tables_and_ids_verbatim(capsys, write, tmp_path):
    script = "<script>alert(1)</script>"
    text = f"user_id,item_id,timestamp,event\n{script},=1+2,2024-01-05,view\n@u2,-i2,2024-01-06,buy\n"
    out = tmp_path / "tables"
    res = profile_json(capsys, write("log.csv", text), "--out", str(out))
    assert set(res["tables"]) == {"events", "rejected", "users", "items", "interactions"}
    events = pd.read_parquet(out / "events.parquet")
    assert events["user_id"].tolist() == [script, "@u2"]
    assert events["item_id"].tolist() == ["=1+2", "-i2"]


def test_profile_with_item_side_table(capsys, write, tmp_path):
    items = write("items.csv", "item_id,category,price\ni1,shoes,9.5\ni2,hats,3\ni3,bags,12\n")
    out = tmp_path / "tables"
    res = profile_json(capsys, write("log.csv", SMALL), "--items", items, "--out", str(out))
    assert "item_side" in res["tables"]
    joined = pd.read_parquet(out / "items.parquet").set_index("item_id")
    assert joined["price"].tolist() == [9.5, 3.0, 12.0]


def test_profile_human_output(capsys, write):
    rc, out, err = run_cli(capsys, "profile", write("log.csv", SMALL))
    assert rc == 0 and err == ""
    assert "csv, utf-8, delimiter ','" in out
    assert "mapping: user=user_id, item=item_id, timestamp=timestamp, event=event" in out
    assert "rows read 9, kept 8; users 3, items 3" in out
    assert "events: view 5, cart 1, purchase 2" in out
    assert "view 100.00% -> cart 20.00% -> purchase 200.00%" in out
    assert "duplicate: 1 rows, dropped" in out


def test_hundred_kilobyte_cell(capsys, write):
    big = "y" * 100_000
    text = f"user_id,item_id,timestamp,event,note\nu1,i1,2024-01-05,view,{big}\nu2,i2,2024-01-06,buy,ok\n"
    res = profile_json(capsys, write("big.csv", text))
    assert res["rows_kept"] == 2


# --- help -----------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, words", [
    (["--help"], ["simulate", "profile"]),
    (["profile", "--help"], ["--map", "--delimiter", "--encoding", "--no-header", "--json", "--bot-threshold"]),
    (["simulate", "--help"], ["--users", "--items", "--seed", "--out"]),
])
def test_help_exits_zero(capsys, argv, words):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: causalrec")
    assert all(w in out for w in words)


def test_bad_choice_is_an_argparse_error(capsys, write):
    with pytest.raises(SystemExit) as exc:
        main(["profile", write("log.csv", SMALL), "--duplicates", "maybe"])
    assert exc.value.code == 2
    assert "invalid choice: 'maybe'" in capsys.readouterr().err


# --- bad input: exit 2, one 'error:' line, no traceback ---------------------------------------

HEADER = "user_id,item_id,timestamp,event\n"
BAD_INPUTS = {
    "empty": (b"", [], "is empty"),
    "header-only": (HEADER, [], "has no data rows"),
    "binary": (random.Random(1).randbytes(3000) + b"\x00" * 8, [], "looks binary"),
    "wrong-delimiter": (SMALL, ["--delimiter", ";"], "Only one column found with delimiter ';'; the file seems to use ','"),
    "no-id-columns": ("timestamp,event\n2024-01-05,view\n2024-01-06,buy\n", [], "No column is mapped to the user id"),
    "unparseable-times": (HEADER + "u1,i1,yesterday,view\nu2,i2,tomorrow,buy\n", [], "can be parsed as a time"),
    "unknown-map-column": (SMALL, ["--map", "user=nope"], "mapping['user']='nope' is not a column"),
    "map-no-equals": (SMALL, ["--map", "user"], "--map entry 'user' is invalid"),
    "map-unknown-role": (SMALL, ["--map", "buyer=user_id"], "--map role='buyer' is not supported"),
    "map-same-column": (SMALL, ["--map", "item=user_id"], "for both 'user' and 'item'"),
    "bad-encoding": (SMALL, ["--encoding", "utf16"], "encoding='utf16' is not supported"),
    "bad-delimiter": (SMALL, ["--delimiter", "::"], "delimiter='::' is not supported"),
    "bad-bot-threshold": (SMALL, ["--bot-threshold", "0"], "bot_threshold=0 is invalid"),
    "side-duplicate-ids": (SMALL, ["--items", "ITEMS"], "repeats 1 ids"),
    "nothing-left": (HEADER + ",i1,2024-01-05,view\n", [], "is left after cleaning"),
}


@pytest.mark.parametrize("content, extra, message", list(BAD_INPUTS.values()), ids=list(BAD_INPUTS))
def test_bad_input_gives_one_error_line(capsys, write, content, extra, message):
    path = write("input.csv", content)
    extra = [write("items.csv", "item_id,x\ni1,1\ni1,2\n") if a == "ITEMS" else a for a in extra]
    rc, out, err = run_cli(capsys, "profile", path, *extra)
    line = assert_one_line_error(rc, err)
    assert message in line
    assert out == ""


def test_unmapped_role_error_says_the_cli_remedy(capsys, write):
    path = write("input.csv", "timestamp,event\n2024-01-05,view\n2024-01-06,buy\n")
    line = assert_one_line_error(*run_cli(capsys, "profile", path)[::2])
    assert line.rstrip().endswith("Use --map user=COLUMN.")


def test_missing_file(capsys, tmp_path):
    rc, _, err = run_cli(capsys, "profile", str(tmp_path / "nope.csv"), "--json")
    assert "does not exist" in assert_one_line_error(rc, err)


# --- as a real process ----------------------------------------------------------------------

def _subprocess(*argv: str) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "causalrec_core", *argv], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=120)


def test_subprocess_profile_json(write):
    proc = _subprocess("profile", write("log.csv", SMALL), "--json")
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    assert PROFILE_KEYS <= set(res)
    assert (res["rows_in"], res["rows_kept"], res["users"], res["items"]) == (9, 8, 3, 3)


def test_subprocess_bad_input(write):
    proc = _subprocess("profile", write("empty.csv", b""))
    assert proc.returncode == EXIT_BAD_INPUT
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1


def test_sample_data_is_reproduced_by_the_cli(tmp_path):
    """sample_data/ is exactly what `causalrec simulate --users 2000 --items 500 --seed 7` writes."""
    from causalrec_core.sample import SAMPLE_ITEMS, SAMPLE_SEED, SAMPLE_USERS, sample_data_dir

    out = tmp_path / "sample"
    assert main(["simulate", "--users", str(SAMPLE_USERS), "--items", str(SAMPLE_ITEMS),
                 "--seed", str(SAMPLE_SEED), "--out", str(out), "--json"]) == 0
    for name in ("events.csv", "users.csv", "items.csv", "truth.json", "README.md"):
        assert (out / name).read_bytes() == (sample_data_dir() / name).read_bytes(), name


def test_profile_reads_local_times_in_the_time_zone_given(capsys, write):
    path = write("input.csv", "user_id,item_id,timestamp,event\nu1,i1,2024-06-01 02:02:00,view\n"
                              "u2,i2,2024-06-02 10:00:00,view\n")
    res = profile_json(capsys, path, "--time-zone", "Europe/Paris")
    assert res["time_min"].startswith("2024-06-01T00:02")
    rc, _, err = run_cli(capsys, "profile", path, "--time-zone", "Paris")
    assert "is not a time zone name" in assert_one_line_error(rc, err)


def test_profile_reports_favourites_beside_the_funnel(capsys, write):
    text = ("user_id,item_id,timestamp,event\n" + "u1,i1,2024-01-01,view\n" * 1 + "u1,i2,2024-01-02,view\n"
            + "u1,i1,2024-01-03,fav\nu2,i1,2024-01-04,fav\nu2,i2,2024-01-05,purchase\n")
    rc, out, _ = run_cli(capsys, "profile", write("log.csv", text))
    assert rc == 0
    assert "view 100.00% -> purchase 50.00%" in out  # of the views, not of the favourites
    assert "beside the funnel: fav 2 events by 2 users, 100.0% of view events" in out
    res = profile_json(capsys, write("log2.csv", text))
    assert res["side_actions"] == {"fav": {"events": 2, "users": 2}} and "fav" not in res["funnel"]
