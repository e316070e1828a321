"""Reading behaviour logs: formats, delimiters, encodings, header detection, overrides, bad files."""

from __future__ import annotations

import codecs
import hashlib
import random

import pandas as pd
import pytest

from causalrec_core.data.io import (
    FileFormat,
    RawSource,
    detect_delimiter,
    detect_encoding,
    detect_header,
    file_sha256,
    normalise_column_names,
    preview,
    read_small,
    sniff,
)
from causalrec_core.data.mapping import suggest_mapping
from causalrec_core.errors import DataError, ParameterError

ROWS = [
    ("u1", "i1", "2024-01-05T10:00:00Z", "view"),
    ("u1", "i2", "2024-01-05T11:00:00Z", "buy"),
    ("u2", "i1", "2024-01-06T09:30:00Z", "pv"),
]
COLS = ["user_id", "item_id", "timestamp", "event"]
HEADER_ONLY = "user_id,item_id,timestamp,event\n"


def _delimited(delim: str, rows=ROWS, header=COLS) -> str:
    lines = ([delim.join(header)] if header else []) + [delim.join(r) for r in rows]
    return "\n".join(lines) + "\n"


def _suggested(df: pd.DataFrame) -> dict[str, str]:
    return {role: s.column for role, s in suggest_mapping(df).items() if s.column}


# --- formats and delimiters -----------------------------------------------------------------

@pytest.mark.parametrize("delim, name", [(",", "log.csv"), ("\t", "log.tsv"), (";", "log.csv"), ("|", "log.txt")])
def test_delimited_text_is_sniffed_and_previewed(write, delim, name):
    path = write(name, _delimited(delim))
    fmt = sniff(path)
    assert (fmt.kind, fmt.encoding, fmt.delimiter, fmt.has_header) == ("csv", "utf-8", delim, True)
    assert fmt.notes == ()
    df = preview(path, fmt)
    assert list(df.columns) == COLS
    assert df.values.tolist() == [list(r) for r in ROWS]
    assert all(str(t) == "string" for t in df.dtypes)


@pytest.mark.parametrize("delim", [",", "\t", ";", "|"])
def test_delimited_text_ingests(run_ingest, delim):
    ing = run_ingest(_delimited(delim))
    assert ing.events["user_id"].tolist() == ["u1", "u1", "u2"]
    assert ing.events["event"].tolist() == ["view", "purchase", "view"]


def test_parquet_written_by_pandas(tmp_path, run_ingest):
    path = tmp_path / "log.parquet"
    pd.DataFrame({
        "user_id": [1, 2, 2], "item_id": ["a", "b", "a"],
        "timestamp": [1704067200, 1704153600, 1704157200], "event": ["view", "buy", "cart"],
        "price": [1.5, 2.0, 3.25],
    }).to_parquet(path)
    fmt = sniff(path)
    assert fmt.kind == "parquet"
    df = preview(path, fmt)
    assert list(df.columns) == ["user_id", "item_id", "timestamp", "event", "price"]
    assert df["user_id"].tolist() == ["1", "2", "2"]
    assert _suggested(df)["user"] == "user_id"
    ing = run_ingest(path)
    assert ing.events["user_id"].tolist() == ["1", "2", "2"]
    assert ing.events["timestamp"].iloc[0] == pd.Timestamp("2024-01-01", tz="UTC")
    assert ing.events["event"].tolist() == ["view", "purchase", "cart"]
    assert ing.events["price"].tolist() == [1.5, 2.0, 3.25]


def test_parquet_with_datetime_column(tmp_path, run_ingest):
    path = tmp_path / "typed.parquet"
    pd.DataFrame({
        "user_id": ["a", "b"], "item_id": ["x", "y"],
        "timestamp": pd.to_datetime(["2024-01-05 10:00:00", "2024-01-06 00:00:00"], utc=True),
        "event": ["view", "buy"],
    }).to_parquet(path)
    ing = run_ingest(path)
    assert ing.events["timestamp"].tolist() == [pd.Timestamp("2024-01-05 10:00", tz="UTC"),
                                                pd.Timestamp("2024-01-06", tz="UTC")]


def test_json_lines(write, run_ingest):
    text = ('{"user_id": "u1", "item_id": "i1", "timestamp": "2024-01-05T10:00:00Z", "event": "view"}\n'
            '{"user_id": "u2", "item_id": 7, "timestamp": "2024-01-06T10:00:00Z", "event": "buy"}\n')
    path = write("log.jsonl", text)
    fmt = sniff(path)
    assert fmt.kind == "jsonl"
    df = preview(path, fmt)
    assert list(df.columns) == COLS
    assert df["item_id"].tolist() == ["i1", "7"]
    ing = run_ingest(path)
    assert ing.events["item_id"].tolist() == ["i1", "7"]
    assert ing.events["event"].tolist() == ["view", "purchase"]


# --- header detection -----------------------------------------------------------------------

TAOBAO_LABELS = ["pv", "buy", "cart", "fav"]


def _taobao(n: int = 40) -> str:
    return "".join(f"{100 + i % 7},{2000 + i},{5000 + i % 3},{TAOBAO_LABELS[i % 4]},{1511544070 + 60 * i}\n"
                   for i in range(n))


def test_headerless_taobao_log_is_detected_and_mapped(write, run_ingest):
    path = write("UserBehavior.csv", _taobao())
    fmt = sniff(path)
    assert (fmt.kind, fmt.delimiter, fmt.has_header) == ("csv", ",", False)
    df = preview(path, fmt)
    assert list(df.columns) == ["col_1", "col_2", "col_3", "col_4", "col_5"]
    assert df.iloc[0].tolist() == ["100", "2000", "5000", "pv", "1511544070"]
    mapping = _suggested(df)
    assert mapping == {"user": "col_1", "item": "col_2", "event": "col_4", "timestamp": "col_5"}
    ing = run_ingest(path, mapping, file_format=fmt)
    assert ing.profile["rows_in"] == 40
    assert ing.profile["events"] == {"view": 10, "cart": 10, "fav": 10, "purchase": 10}
    assert ing.events["timestamp"].iloc[0] == pd.Timestamp(1511544070, unit="s", tz="UTC")
    assert "col_3" in ing.events.columns  # the unmapped category column is kept as an extra


def test_header_detected_from_synonym_names(write):
    assert sniff(write("a.csv", _delimited(","))).has_header is True


def test_header_detected_from_numeric_body_under_text_names(write):
    text = "alpha,beta\n" + "".join(f"{i},{i * 3}\n" for i in range(10))
    assert sniff(write("a.csv", text)).has_header is True


def test_detect_header_rules():
    assert detect_header(["user_id,item_id", "1,2"], ",") is True
    assert detect_header(["a,b", "1,2", "3,4"], ",") is True
    assert detect_header(["1,2", "3,4"], ",") is False
    # a first-row value repeated in the body means the first row is data
    assert detect_header(["u1,x", "u1,y", "u2,z"], ",") is False
    assert detect_header([], ",") is False


def test_detect_delimiter_prefers_the_consistent_one():
    assert detect_delimiter(["a;b,c;d", "1;2,3;4", "5;6,7;8"]) == ";"
    assert detect_delimiter(["a\tb", "1\t2"]) == "\t"
    assert detect_delimiter(["single", "column"]) == ","  # nothing better: the default


# --- encodings ------------------------------------------------------------------------------

ZH_TEXT = ("用户id,商品id,时间,行为\n"
           "用户1,商品1,2024-01-05 10:00:00,浏览\n"
           "用户1,商品1,2024-01-05 11:00:00,购买\n"
           "用户2,商品2,2024-01-06 10:00:00,浏览\n")
ZH_MAP = {"user": "用户id", "item": "商品id", "timestamp": "时间", "event": "行为"}
LATIN_TEXT = ("user_id,item_id,timestamp,event\n"
              "José,Crème brûlée,2024-01-05,view\n"
              "Zoë,Café,2024-01-06,buy\n")


@pytest.mark.parametrize("data, expected, text", [
    (LATIN_TEXT.encode("utf-8"), {"utf-8"}, LATIN_TEXT),
    (codecs.BOM_UTF8 + LATIN_TEXT.encode("utf-8"), {"utf-8-sig"}, LATIN_TEXT),
    (ZH_TEXT.encode("gb18030"), {"gb18030"}, ZH_TEXT),
    (ZH_TEXT.encode("gbk"), {"gb18030", "gbk"}, ZH_TEXT),
    (LATIN_TEXT.encode("latin-1"), {"latin-1", "cp1252"}, LATIN_TEXT),
    (ZH_TEXT.encode("utf-16"), {"utf-16"}, ZH_TEXT),
    (LATIN_TEXT.encode("utf-16"), {"utf-16"}, LATIN_TEXT),
], ids=["utf8", "utf8-bom", "gb18030", "gbk", "latin1", "utf16-zh", "utf16-latin"])
def test_encodings_are_detected_and_decoded(write, data, expected, text):
    path = write("log.csv", data)
    fmt = sniff(path)
    assert fmt.encoding in expected
    assert (fmt.delimiter, fmt.has_header) == (",", True)
    df = preview(path, fmt)
    lines = text.strip().split("\n")
    assert list(df.columns) == lines[0].split(",")
    assert df.values.tolist() == [ln.split(",") for ln in lines[1:]]


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-16"])
def test_chinese_log_ingests_with_events_mapped(write, run_ingest, encoding):
    path = write("zh.csv", ZH_TEXT, encoding=encoding)
    df = preview(path)
    assert _suggested(df) == ZH_MAP
    ing = run_ingest(path, ZH_MAP)
    assert ing.events["user_id"].tolist() == ["用户1", "用户1", "用户2"]
    assert ing.events["item_id"].tolist() == ["商品1", "商品1", "商品2"]
    assert ing.events["event"].tolist() == ["view", "purchase", "view"]
    assert ing.events["timestamp"].iloc[0] == pd.Timestamp("2024-01-05 10:00", tz="UTC")


def test_latin1_names_survive_ingestion(write, run_ingest):
    ing = run_ingest(write("lat.csv", LATIN_TEXT, encoding="latin-1"))
    assert ing.events["user_id"].tolist() == ["José", "Zoë"]
    assert ing.events["item_id"].tolist() == ["Crème brûlée", "Café"]


def test_bom_is_not_part_of_the_first_column_name(write, run_ingest):
    path = write("bom.csv", codecs.BOM_UTF8 + _delimited(",").encode())
    assert list(preview(path).columns) == COLS
    assert run_ingest(path).events["user_id"].tolist() == ["u1", "u1", "u2"]


def test_detect_encoding_unit():
    assert detect_encoding(b"plain ascii", complete=True) == "utf-8"
    assert detect_encoding(codecs.BOM_UTF8 + b"x", complete=True) == "utf-8-sig"
    assert detect_encoding("x".encode("utf-16"), complete=True) == "utf-16"
    assert detect_encoding("用户,商品,浏览".encode("gb18030"), complete=True) == "gb18030"
    assert detect_encoding("José".encode("latin-1"), complete=True) in ("cp1252", "latin-1")


def test_transcoded_temporary_copy_is_removed(tmp_path, write):
    path = write("zh.csv", ZH_TEXT, encoding="gb18030")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with RawSource(path, sniff(path), tmp_dir=scratch) as src:
        assert src.read_path != path and src.read_path.parent == scratch
        assert src.read_path.read_text(encoding="utf-8") == ZH_TEXT
    assert list(scratch.iterdir()) == []


# --- overrides ------------------------------------------------------------------------------

def test_override_delimiter_header_encoding_kind(write):
    pipe = write("pipe.csv", _delimited("|"))
    assert sniff(pipe, delimiter="|").delimiter == "|"
    no_header = sniff(pipe, has_header=False)
    assert no_header.has_header is False
    df = preview(pipe, no_header)
    assert list(df.columns) == ["col_1", "col_2", "col_3", "col_4"]
    assert df.iloc[0].tolist() == COLS
    zh = write("zh.csv", ZH_TEXT, encoding="gbk")
    fmt = sniff(zh, encoding="gbk")
    assert fmt.encoding == "gbk"
    assert preview(zh, fmt).columns[0] == "用户id"
    jl = write("events.txt", '{"user_id": "u1", "item_id": "i1", "timestamp": 1704067200}\n')
    assert sniff(jl, kind="jsonl").kind == "jsonl"


def test_forced_wrong_delimiter_is_noted(write):
    fmt = sniff(write("comma.csv", _delimited(",")), delimiter=";")
    assert fmt.delimiter == ";"
    assert len(fmt.notes) == 1
    assert "Only one column" in fmt.notes[0] and "','" in fmt.notes[0]


@pytest.mark.parametrize("override, param", [
    ({"kind": "xlsx"}, "kind"),
    ({"encoding": "ebcdic"}, "encoding"),
    ({"delimiter": "::"}, "delimiter"),
    ({"has_header": "maybe"}, "has_header"),
    ({"quote": "'"}, "override"),
])
def test_invalid_override_raises_parameter_error_naming_it(write, override, param):
    path = write("log.csv", _delimited(","))
    with pytest.raises(ParameterError) as exc:
        sniff(path, **override)
    msg = str(exc.value)
    assert msg.startswith(f"{param}=") and "choose one of" in msg


def test_encoding_override_that_cannot_decode(write):
    path = write("zh.csv", ZH_TEXT, encoding="gb18030")
    with pytest.raises(DataError, match="encoding='utf-8' cannot decode"):
        sniff(path, encoding="utf-8")


# --- bad files ------------------------------------------------------------------------------

def test_empty_file(write):
    with pytest.raises(DataError, match="empty"):
        sniff(write("empty.csv", b""))


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        sniff(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is not a file"):
        sniff(tmp_path)


def test_blank_lines_only(write):
    with pytest.raises(DataError, match="only blank lines"):
        sniff(write("blank.csv", "\n\n   \n"))


def test_binary_file(write):
    data = random.Random(0).randbytes(4096) + b"\x00\x00\x00"
    with pytest.raises(DataError, match="looks binary"):
        sniff(write("blob.bin", data))


def test_header_only_file_previews_empty(write):
    path = write("header.csv", HEADER_ONLY)
    fmt = sniff(path)
    assert fmt.has_header is True
    df = preview(path, fmt)
    assert list(df.columns) == COLS and len(df) == 0



def test_hundred_kilobyte_cell_is_read(write, run_ingest):
    big = "x" * 100_000
    text = "user_id,item_id,timestamp,event,note\n" + f"u1,i1,2024-01-05,view,{big}\nu2,i2,2024-01-06,buy,small\n"
    path = write("big.csv", text)
    df = preview(path)
    assert len(df) == 2 and len(df["note"].iloc[0]) == 100_000
    ing = run_ingest(path)
    assert ing.profile["rows_kept"] == 2
    assert ing.events["note"].tolist() == [big, "small"]


def test_script_ids_are_kept_verbatim(write, run_ingest):
    script = "<script>alert(1)</script>"
    text = HEADER_ONLY + f"{script},i1,2024-01-05,view\nu2,<b>i2</b>,2024-01-06,buy\n"
    df = preview(write("xss.csv", text))
    assert df["user_id"].iloc[0] == script
    ing = run_ingest(text)
    assert ing.events["user_id"].tolist() == [script, "u2"]
    assert ing.events["item_id"].tolist() == ["i1", "<b>i2</b>"]
    assert ing.table("users")["user_id"].tolist() == sorted([script, "u2"])


def test_formula_like_cells_are_kept_verbatim(run_ingest):
    text = HEADER_ONLY + "=1+2,+i1,2024-01-05,view\n-u2,@i2,2024-01-06,buy\n@u3,=HYPERLINK(1),2024-01-07,view\n"
    ing = run_ingest(text)
    assert ing.events["user_id"].tolist() == ["=1+2", "-u2", "@u3"]
    assert ing.events["item_id"].tolist() == ["+i1", "@i2", "=HYPERLINK(1)"]


# --- small helpers --------------------------------------------------------------------------

def test_read_small_csv_utf16_jsonl_parquet(tmp_path, write):
    csv = read_small(write("items.csv", "item_id,price\ni1,1.5\ni2,\n"))
    assert csv["item_id"].tolist() == ["i1", "i2"]
    assert csv["price"].iloc[0] == "1.5" and pd.isna(csv["price"].iloc[1])
    u16 = read_small(write("items16.csv", "item_id;title\ni1;Café\n", encoding="utf-16"))
    assert u16.to_dict("list") == {"item_id": ["i1"], "title": ["Café"]}
    jl = read_small(write("items.jsonl", '{"item_id": "i1", "price": 2}\n'))
    assert jl["item_id"].tolist() == ["i1"]
    pq = tmp_path / "items.parquet"
    pd.DataFrame({"item_id": ["i1"], "price": [3.0]}).to_parquet(pq)
    assert read_small(pq)["price"].tolist() == ["3.0"]


def test_normalise_column_names():
    assert normalise_column_names(["a", "a", " ", "column3", "b"], True) == ["a", "a_2", "col_3", "col_4", "b"]
    assert normalise_column_names(["x", "y"], False) == ["col_1", "col_2"]


def test_file_sha256(write):
    path = write("x.bin", b"abc" * 1000)
    assert file_sha256(path, chunk=7) == hashlib.sha256(b"abc" * 1000).hexdigest()


def test_file_format_to_dict():
    d = FileFormat(kind="csv", notes=("n",)).to_dict()
    assert d == {"kind": "csv", "encoding": "utf-8", "delimiter": ",", "has_header": True, "notes": ["n"]}
