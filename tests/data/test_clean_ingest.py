"""Cleaning rules with exact counts, timestamps end to end, and ingest errors.

Every ``run_ingest`` call also checks (conftest.check_accounting) that
rows_in == rows_kept + sum(dropped) and that every dropped row is in ``rejected`` with a reason.
"""

from __future__ import annotations

import pandas as pd
import pytest

from causalrec_core.data.clean import RULES, CleaningOptions, report_entry, summarise
from causalrec_core.data.io import FileFormat
from causalrec_core.errors import DataError, ParameterError

HEADER = "user_id,item_id,timestamp,event\n"
FULL_MAP = {"user": "user_id", "item": "item_id", "timestamp": "timestamp", "event": "event",
            "value": "value", "propensity": "propensity", "position": "position", "exposed": "exposed"}


def _ts(i: int) -> str:
    return f"2024-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z"


def _log(n: int, *, skip_user=(), skip_item=(), bad_ts=()) -> str:
    """n rows u{i%7},i{i},...; 1-based row numbers in skip_user / skip_item / bad_ts are broken."""
    lines = []
    for r in range(1, n + 1):
        user = "" if r in skip_user else f"u{r % 7}"
        item = "" if r in skip_item else f"i{r}"
        ts = "not a time" if r in bad_ts else _ts(r)
        lines.append(f"{user},{item},{ts},view\n")
    return HEADER + "".join(lines)


# --- options and report helpers -------------------------------------------------------------

def test_cleaning_options_defaults_and_dict():
    o = CleaningOptions()
    assert o.to_dict() == {"duplicate": "drop", "unknown_event": "keep", "out_of_range_value": "keep",
                           "implausible_time": "keep", "bot_user": "keep", "bot_threshold": None,
                           "time_zone": "UTC"}


@pytest.mark.parametrize("kwargs, param", [
    ({"duplicate": "maybe"}, "duplicate"), ({"unknown_event": "Keep"}, "unknown_event"),
    ({"out_of_range_value": "flag"}, "out_of_range_value"), ({"implausible_time": ""}, "implausible_time"),
    ({"bot_user": None}, "bot_user"), ({"bot_threshold": 0}, "bot_threshold"),
    ({"bot_threshold": 2.5}, "bot_threshold"), ({"bot_threshold": "10"}, "bot_threshold"),
])
def test_cleaning_options_validate(kwargs, param):
    with pytest.raises(ParameterError) as exc:
        CleaningOptions(**kwargs)
    assert str(exc.value).startswith(f"{param}=")


def test_report_entry_and_summarise():
    assert set(RULES) == {"malformed_line", "missing_user_id", "missing_item_id", "unparseable_timestamp",
                          "duplicate", "unknown_event", "out_of_range_value", "implausible_time", "bot_user"}
    a = report_entry("duplicate", 3, True)
    b = report_entry("bot_user", 2, False, "detail")
    c = report_entry("unknown_event", 0, True)
    assert a["dropped"] and "dropped" in a["action"] and a["configurable"]
    assert not b["dropped"] and "flagged" in b["action"] and b["detail"] == "detail"
    assert not c["dropped"] and c["action"] == "nothing to do"
    assert summarise([a, b, c]) == ({"duplicate": 3}, {"bot_user": 2})


# --- required fields ------------------------------------------------------------------------

def test_ten_percent_missing_user_ids_are_dropped_and_saved(run_ingest):
    missing = {5, 15, 25, 35, 45}
    ing = run_ingest(_log(50, skip_user=missing))
    assert ing.profile["rows_in"] == 50 and ing.profile["rows_kept"] == 45
    assert ing.profile["dropped"] == {"missing_user_id": 5}
    assert set(ing.rejected["row_id"]) == missing
    assert (ing.rejected["reason"] == "missing_user_id").all()
    assert ing.rejected["item_id"].tolist() == [f"i{r}" for r in sorted(missing)]
    assert not set(ing.events["row_id"]) & missing
    assert ing.rule_rows["missing_user_id"] == 5


def test_missing_item_ids_and_whitespace_only_ids(run_ingest):
    text = HEADER + "u1,i1,2024-01-05,view\nu2,,2024-01-05,view\nu3,   ,2024-01-05,view\n  ,i4,2024-01-05,view\n"
    ing = run_ingest(text)
    assert ing.profile["dropped"] == {"missing_item_id": 2, "missing_user_id": 1}
    assert dict(zip(ing.rejected["row_id"], ing.rejected["reason"], strict=True)) == {
        2: "missing_item_id", 3: "missing_item_id", 4: "missing_user_id"}


def test_unparseable_timestamps(run_ingest):
    ing = run_ingest(_log(10, bad_ts={3, 7}))
    assert ing.profile["dropped"] == {"unparseable_timestamp": 2}
    assert ing.rejected["row_id"].tolist() == [3, 7]
    assert ing.rejected["timestamp_raw"].tolist() == ["not a time", "not a time"]
    assert "ISO-8601" in next(r["detail"] for r in ing.result.report if r["rule"] == "unparseable_timestamp")


def test_empty_timestamp_cell_is_unparseable(run_ingest):
    ing = run_ingest(HEADER + "u1,i1,2024-01-05,view\nu2,i2,,view\n")
    assert ing.profile["dropped"] == {"unparseable_timestamp": 1}
    assert ing.rejected["row_id"].tolist() == [2]


def test_malformed_lines_are_counted_once_and_saved(run_ingest):
    text = (HEADER + "u1,i1,2024-01-05,view\n"
            "u2,i2,2024-01-05,view,extra\n"          # one field too many
            "u3,i3,2024-01-06,buy\n"
            "u5,i5,2024-01-06,buy,1,2\n"             # two fields too many (two parser errors)
            "u6,i6\n"                                # two fields missing
            "u7,i7,2024-01-07,view\n")
    ing = run_ingest(text)
    assert ing.profile["rows_in"] == 6 and ing.profile["rows_kept"] == 3
    assert ing.profile["dropped"] == {"malformed_line": 3}
    assert ing.rejected["raw_line"].tolist() == ["u2,i2,2024-01-05,view,extra", "u5,i5,2024-01-06,buy,1,2", "u6,i6"]
    # row ids are the data line numbers, unique over kept and rejected rows
    assert ing.rejected["row_id"].tolist() == [2, 4, 5]
    assert ing.events["row_id"].tolist() == [1, 3, 6]
    assert ing.events["user_id"].tolist() == ["u1", "u3", "u7"]


def test_malformed_line_in_headerless_file(run_ingest):
    text = "u1,i1,2024-01-05,view\nu2,i2,2024-01-05,view,extra\nu3,i3,2024-01-06,buy\n"
    ing = run_ingest(text, {"user": "col_1", "item": "col_2", "timestamp": "col_3", "event": "col_4"},
                     file_format=FileFormat(kind="csv", has_header=False))
    assert ing.rejected["row_id"].tolist() == [2]
    assert ing.events["row_id"].tolist() == [1, 3]


def test_quoted_fields_are_not_malformed(run_ingest):
    text = HEADER + 'u1,"item, with comma",2024-01-05,view\n"u""2",i2,2024-01-06,buy\n'
    ing = run_ingest(text)
    assert ing.profile["dropped"] == {}
    assert ing.events["item_id"].tolist() == ["item, with comma", "i2"]
    assert ing.events["user_id"].tolist() == ["u1", 'u"2']


# --- configurable rules ---------------------------------------------------------------------

DUPS = HEADER + ("u1,i1,2024-01-05,view\n" * 3) + "u1,i1,2024-01-05,buy\nu2,i2,2024-01-06,buy\nu2,i2,2024-01-06,buy\n"


def test_duplicates_dropped_by_default(run_ingest):
    ing = run_ingest(DUPS)
    assert ing.profile["dropped"] == {"duplicate": 3}
    assert ing.rejected["row_id"].tolist() == [2, 3, 6]
    assert ing.events["row_id"].tolist() == [1, 4, 5]
    assert ing.events["flags"].isna().all()


def test_duplicates_kept_are_flagged(run_ingest):
    ing = run_ingest(DUPS, options=CleaningOptions(duplicate="keep"))
    assert ing.profile["rows_kept"] == 6 and ing.profile["dropped"] == {}
    assert ing.profile["flagged"] == {"duplicate": 3}
    assert ing.events["flags"].fillna("").tolist() == ["", "duplicate", "duplicate", "", "", "duplicate"]


def test_rows_differing_in_an_extra_column_are_not_duplicates(run_ingest):
    text = "user_id,item_id,timestamp,event,note\nu1,i1,2024-01-05,view,a\nu1,i1,2024-01-05,view,b\n"
    assert run_ingest(text).profile["dropped"] == {}


UNKNOWN = HEADER + "u1,i1,2024-01-05,view\nu1,i2,2024-01-05,weird\nu2,i2,2024-01-06,buy\nu3,i3,2024-01-06,\n"


def test_unknown_events_kept_as_other(run_ingest):
    ing = run_ingest(UNKNOWN)
    assert ing.events["event"].tolist() == ["view", "other", "purchase", "other"]
    assert ing.profile["flagged"] == {"unknown_event": 2}
    assert ing.events["flags"].fillna("").tolist() == ["", "unknown_event", "", "unknown_event"]
    assert ing.profile["events"] == {"view": 1, "purchase": 1, "other": 2}
    detail = next(r["detail"] for r in ing.result.report if r["rule"] == "unknown_event")
    assert detail == "weird"


def test_unknown_events_dropped(run_ingest):
    ing = run_ingest(UNKNOWN, options=CleaningOptions(unknown_event="drop"))
    assert ing.profile["dropped"] == {"unknown_event": 2}
    assert ing.rejected["row_id"].tolist() == [2, 4]
    assert ing.rejected["event_raw"].tolist()[0] == "weird"
    assert ing.events["event"].tolist() == ["view", "purchase"]


OOR = ("user_id,item_id,timestamp,event,value,propensity,position,exposed\n"
       "u1,i1,2024-01-05,view,1.5,0.5,1,yes\n"     # clean
       "u1,i2,2024-01-05,view,-2,0.5,1,yes\n"      # negative value
       "u2,i1,2024-01-05,view,3,0,1,no\n"          # propensity 0
       "u2,i2,2024-01-05,view,3,1.5,1,1\n"         # propensity 1.5
       "u3,i1,2024-01-05,view,3,0.2,0,0\n"         # position 0
       "u3,i2,2024-01-05,view,3,0.2,2,maybe\n"     # exposed 'maybe'
       "u4,i1,2024-01-05,view,abc,1,3,true\n"      # value not a number
       "u4,i2,2024-01-05,view,,,,\n")              # all optional fields empty: fine


def test_out_of_range_values_kept_flagged_and_blanked(run_ingest):
    ing = run_ingest(OOR, FULL_MAP)
    ev = ing.events.set_index("row_id")
    assert ing.profile["flagged"] == {"out_of_range_value": 6}
    assert ev["flags"].fillna("").tolist() == ["", *["out_of_range_value"] * 6, ""]
    assert ev.loc[1, ["value", "propensity", "position"]].tolist() == [1.5, 0.5, 1]
    assert bool(ev.loc[1, "exposed"]) is True
    assert pd.isna(ev.loc[2, "value"])                      # negative value -> missing
    assert pd.isna(ev.loc[3, "propensity"]) and pd.isna(ev.loc[4, "propensity"])
    assert pd.isna(ev.loc[5, "position"])
    assert pd.isna(ev.loc[6, "exposed"]) and bool(ev.loc[5, "exposed"]) is False
    assert pd.isna(ev.loc[7, "value"]) and ev.loc[7, "propensity"] == 1.0
    assert ev.loc[8, ["value", "propensity", "position", "exposed"]].isna().all()


def test_out_of_range_values_dropped(run_ingest):
    ing = run_ingest(OOR, FULL_MAP, options=CleaningOptions(out_of_range_value="drop"))
    assert ing.profile["dropped"] == {"out_of_range_value": 6}
    assert ing.rejected["row_id"].tolist() == [2, 3, 4, 5, 6, 7]
    assert ing.events["row_id"].tolist() == [1, 8]


IMPLAUSIBLE = HEADER + "u1,i1,1970-01-01T00:00:05Z,view\nu2,i2,2100-01-01,view\nu3,i3,2024-01-01,view\n"


def test_implausible_times_flagged(run_ingest):
    ing = run_ingest(IMPLAUSIBLE)
    assert ing.profile["flagged"] == {"implausible_time": 2}
    assert ing.events["flags"].fillna("").tolist() == ["implausible_time", "implausible_time", ""]
    assert ing.events["timestamp"].tolist()[:2] == [pd.Timestamp("1970-01-01 00:00:05", tz="UTC"),
                                                    pd.Timestamp("2100-01-01", tz="UTC")]


def test_implausible_times_dropped(run_ingest):
    ing = run_ingest(IMPLAUSIBLE, options=CleaningOptions(implausible_time="drop"))
    assert ing.profile["dropped"] == {"implausible_time": 2}
    # a time that parsed is kept parsed (the raw text is kept only where it did not parse)
    assert ing.rejected["timestamp"].tolist() == [pd.Timestamp("1970-01-01 00:00:05", tz="UTC"),
                                                  pd.Timestamp("2100-01-01", tz="UTC")]
    assert ing.rejected["timestamp_raw"].isna().all()


def test_implausible_epoch_times(run_ingest):
    text = HEADER + "u1,i1,5,view\nu2,i2,4102444800,view\nu3,i3,1704067200,view\nu4,i4,1704067300,view\n"
    ing = run_ingest(text)
    assert ing.result.time_parse.describe() == "epoch seconds"
    assert ing.profile["flagged"] == {"implausible_time": 2}


def _bot_log(n_users: int, per_user: int, bot_events: int) -> str:
    rows = [f"u{u},i{(u + k) % 40},{1704067200 + 3600 * u + k},view\n" for u in range(n_users) for k in range(per_user)]
    rows += [f"bot,i{k % 40},{1704067200 + k},view\n" for k in range(bot_events)]
    return HEADER + "".join(rows)


def test_bot_users_with_explicit_threshold(run_ingest):
    text = _bot_log(20, 1, 10)
    ing = run_ingest(text, options=CleaningOptions(bot_threshold=5))
    assert ing.profile["flagged"] == {"bot_user": 10}
    flagged = ing.events[ing.events["flags"] == "bot_user"]
    assert set(flagged["user_id"]) == {"bot"}
    detail = next(r["detail"] for r in ing.result.report if r["rule"] == "bot_user")
    assert detail == "1 user with more than 5 events"
    dropped = run_ingest(text, options=CleaningOptions(bot_threshold=5, bot_user="drop"))
    assert dropped.profile["dropped"] == {"bot_user": 10}
    assert dropped.rejected["row_id"].tolist() == list(range(21, 31))
    assert "bot" not in set(dropped.events["user_id"])


def test_bot_threshold_is_exclusive(run_ingest):
    ing = run_ingest(_bot_log(5, 1, 5), options=CleaningOptions(bot_threshold=5))
    assert ing.profile["flagged"] == {}


def test_bot_users_with_automatic_threshold(run_ingest):
    ing = run_ingest(_bot_log(100, 2, 600), options=CleaningOptions(bot_user="drop"))
    assert ing.profile["dropped"] == {"bot_user": 600}
    assert ing.profile["users"] == 100
    detail = next(r["detail"] for r in ing.result.report if r["rule"] == "bot_user")
    # everyone else has 2 events (MAD 0): the floor relative to the data, 20 x the median, or 50 events
    assert detail == "1 user with more than 50 events (automatic threshold: at least 50 events)"


def test_automatic_threshold_is_relative_to_the_shop_not_an_absolute_500(run_ingest):
    # median 5 events, nobody above 6: a 400-event user is a crawler there (the old floor of 500 let it through)
    rows = [f"u{u},i{k},{1704067200 + 3600 * u + k},view\n" for u in range(200) for k in range(3 + u % 4)]
    rows += [f"bot,i{k % 40},{1704067200 + k},view\n" for k in range(400)]
    ing = run_ingest(HEADER + "".join(rows))
    assert ing.profile["flagged"] == {"bot_user": 400}
    detail = next(r["detail"] for r in ing.result.report if r["rule"] == "bot_user")
    assert detail == "1 user with more than 100 events (automatic threshold: 20 × the median events per user (5))"


def test_automatic_threshold_spares_ordinary_heavy_users(run_ingest):
    ing = run_ingest(_bot_log(100, 2, 40))  # 20 x the median is not bot-like
    assert ing.profile["flagged"] == {}


def _lognormal_counts(n_users: int, median: float, sigma: float, seed: int) -> list[int]:
    import math
    import random

    rng = random.Random(seed)
    return [max(1, round(median * math.exp(rng.gauss(0, sigma)))) for _ in range(n_users)]


@pytest.mark.parametrize("sigma", [1.0, 1.2])
def test_automatic_threshold_spares_a_long_tailed_lognormal_shop(sigma):
    # the rule alone on per-user counts (a realistic long tail, 20,000 users): nobody is flagged
    import duckdb

    from causalrec_core.data.ingest import _auto_bot_threshold

    counts = _lognormal_counts(20_000, 10, sigma, seed=int(sigma * 10))
    con = duckdb.connect()
    con.execute("CREATE TABLE n AS SELECT unnest(?::BIGINT[]) AS k", [counts])
    con.execute("CREATE TABLE t AS SELECT n.rowid AS user_id FROM n, range(n.k)")
    threshold, why = _auto_bot_threshold(con)
    assert max(counts) < threshold / 2, (max(counts), threshold, why)
    counts.append(5 * threshold)  # and a crawler far above them all is still caught
    con.execute("INSERT INTO t SELECT -1 FROM range(?)", [5 * threshold])
    assert _auto_bot_threshold(con)[0] < 5 * threshold


def test_automatic_threshold_flags_nobody_on_the_bundled_sample(run_ingest):
    from pathlib import Path

    sample = Path(__file__).resolve().parents[2] / "sample_data" / "events.csv"
    mapping = {"user": "user_id", "item": "item_id", "timestamp": "timestamp", "event": "event"}
    ing = run_ingest(sample, mapping)
    assert "bot_user" not in ing.profile["flagged"]
    detail = next(r["detail"] for r in ing.result.report if r["rule"] == "bot_user")
    assert detail.startswith("0 users with more than 780 events (automatic threshold: 10 × the 99th percentile")


# --- a row broken in several ways counts once -----------------------------------------------

def test_row_dropped_for_two_reasons_counts_once(run_ingest):
    text = HEADER + "u1,i1,2024-01-05,view\n,i2,2024-01-05,weird\nu2,i2,2024-01-06,buy\n"
    ing = run_ingest(text, options=CleaningOptions(unknown_event="drop"))
    assert ing.profile["dropped"] == {"missing_user_id": 1}
    assert ing.rule_rows["unknown_event"] == 0


def test_duplicate_of_a_dropped_row_counts_once(run_ingest):
    text = HEADER + "u1,i1,2024-01-05,weird\nu1,i1,2024-01-05,weird\nu2,i2,2024-01-06,buy\n"
    ing = run_ingest(text, options=CleaningOptions(unknown_event="drop"))
    assert ing.profile["dropped"] == {"unknown_event": 1, "duplicate": 1}
    assert dict(zip(ing.rejected["row_id"], ing.rejected["reason"], strict=True)) == {1: "unknown_event", 2: "duplicate"}


def test_flags_are_counted_on_kept_rows_only(run_ingest):
    # a row with a missing user and an unknown label is dropped: it is not also 'flagged'
    ing = run_ingest(HEADER + "u1,i1,2024-01-05,view\n,i2,2024-01-05,weird\n")
    assert ing.profile["dropped"] == {"missing_user_id": 1}
    assert ing.profile["flagged"] == {}


def test_several_flags_on_one_kept_row(run_ingest):
    text = ("user_id,item_id,timestamp,event,value\n"
            "u1,i1,2024-01-05,weird,-1\nu1,i1,2024-01-05,weird,-1\nu2,i2,1980-01-01,view,1\n")
    m = {"user": "user_id", "item": "item_id", "timestamp": "timestamp", "event": "event", "value": "value"}
    ing = run_ingest(text, m, options=CleaningOptions(duplicate="keep"))
    assert ing.events["flags"].tolist() == ["unknown_event;out_of_range_value",
                                            "duplicate;unknown_event;out_of_range_value", "implausible_time"]
    assert ing.profile["flagged"] == {"duplicate": 1, "unknown_event": 2, "out_of_range_value": 2,
                                      "implausible_time": 1}


def test_everything_at_once_with_all_rules_dropping(run_ingest):
    text = ("user_id,item_id,timestamp,event,value\n"
            "u1,i1,2024-01-05,view,1\n"             # 1 kept
            ",i1,2024-01-05,view,1\n"               # 2 missing user
            "u1,,2024-01-05,view,1\n"               # 3 missing item
            "u1,i1,never,view,1\n"                  # 4 bad time
            "u1,i1,2024-01-05,view,1\n"             # 5 duplicate of 1
            "u2,i2,2024-01-05,weird,1\n"            # 6 unknown event
            "u2,i2,2024-01-05,view,-5\n"            # 7 negative value
            "u2,i3,1975-01-01,view,1\n"             # 8 implausible time
            "u3,i3,2024-01-05,view,1,oops\n"        # 9 malformed
            "u2,i4,2024-01-06,buy,2\n")             # 10 kept
    options = CleaningOptions(duplicate="drop", unknown_event="drop", out_of_range_value="drop",
                              implausible_time="drop", bot_user="drop")
    m = {"user": "user_id", "item": "item_id", "timestamp": "timestamp", "event": "event", "value": "value"}
    ing = run_ingest(text, m, options=options)
    assert ing.profile["rows_in"] == 10 and ing.profile["rows_kept"] == 2
    assert ing.profile["dropped"] == {
        "malformed_line": 1, "missing_user_id": 1, "missing_item_id": 1, "unparseable_timestamp": 1,
        "duplicate": 1, "unknown_event": 1, "out_of_range_value": 1, "implausible_time": 1}
    assert dict(zip(ing.rejected["row_id"], ing.rejected["reason"], strict=True)) == {
        2: "missing_user_id", 3: "missing_item_id", 4: "unparseable_timestamp", 5: "duplicate",
        6: "unknown_event", 7: "out_of_range_value", 8: "implausible_time", 9: "malformed_line"}
    assert ing.events["row_id"].tolist() == [1, 10]


# --- timestamps end to end ------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    (["1704448800", "1704535200"], ["2024-01-05 10:00", "2024-01-06 10:00"]),
    (["1704448800000", "1704535200500"], ["2024-01-05 10:00", "2024-01-06 10:00:00.500"]),
    (["2024-01-05T10:00:00Z", "2024-01-06T10:00:00Z"], ["2024-01-05 10:00", "2024-01-06 10:00"]),
    (["2024-01-05T10:00:00+08:00", "2024-01-05T10:00:00-02:30"], ["2024-01-05 02:00", "2024-01-05 12:30"]),
    (["2024-01-05 10:00:00+08:00", "2024-01-06 10:00:00"], ["2024-01-05 02:00", "2024-01-06 10:00"]),
    (["2024-01-05", "2024-01-06"], ["2024-01-05", "2024-01-06"]),
    (["2024/01/05 10:00", "2024/01/06 23:59"], ["2024-01-05 10:00", "2024-01-06 23:59"]),
    (["20240105", "20240106"], ["2024-01-05", "2024-01-06"]),
    (["25/12/2024 10:00", "26/12/2024 11:30"], ["2024-12-25 10:00", "2024-12-26 11:30"]),
], ids=["epoch-s", "epoch-ms", "iso-z", "iso-offsets", "iso-mixed", "date", "slashes", "yyyymmdd", "dmy"])
def test_timestamps_are_parsed_to_utc(run_ingest, raw, expected):
    text = HEADER + "".join(f"u{i},i{i},{v},view\n" for i, v in enumerate(raw))
    ing = run_ingest(text)
    assert ing.profile["dropped"] == {}
    assert ing.events["timestamp"].tolist() == [pd.Timestamp(e, tz="UTC") for e in expected]
    assert str(ing.events["timestamp"].dtype).endswith("UTC]")


@pytest.mark.parametrize("raw, expected", [
    (["01/06/2024 02:02", "15/01/2024 10:00"], ["2024-06-01 00:02", "2024-01-15 09:00"]),  # summer +2, winter +1
    (["2024-06-01 02:02:00", "2024-06-01T02:02:00+02:00"], ["2024-06-01 00:02", "2024-06-01 00:02"]),
    (["2024-06-01T02:02:00Z", "2024-06-01 02:02:00"], ["2024-06-01 02:02", "2024-06-01 00:02"]),
    (["1717200120", "1717200180"], ["2024-06-01 00:02", "2024-06-01 00:03"]),  # epochs are absolute
], ids=["dmy-local", "iso-local-and-offset", "iso-z-and-local", "epoch"])
def test_local_times_are_read_in_the_time_zone_given(run_ingest, raw, expected):
    text = HEADER + "".join(f"u{i},i{i},{v},view\n" for i, v in enumerate(raw))
    ing = run_ingest(text, options=CleaningOptions(time_zone="Europe/Paris"))
    assert ing.profile["dropped"] == {}
    assert ing.events["timestamp"].tolist() == [pd.Timestamp(e, tz="UTC") for e in expected]
    parse = ing.result.cleaning_report()["time_parse"]
    epoch = ing.result.time_parse.kind == "epoch"
    assert parse.endswith("read as Europe/Paris time and converted to UTC") != epoch, parse


def test_report_says_text_timestamps_without_an_offset_were_read_as_utc_by_default(run_ingest):
    ing = run_ingest(HEADER + "u1,i1,01/06/2024 02:02,view\nu2,i2,02/06/2024 10:00,view\n")
    assert ing.events["timestamp"].iloc[0] == pd.Timestamp("2024-06-01 02:02", tz="UTC")
    assert ing.result.cleaning_report()["time_parse"] == (
        "text in format %d/%m/%Y %H:%M; timestamps without an offset were read as UTC time")
    assert ing.result.source["time_zone"] == "UTC"
    epoch = run_ingest(HEADER + "u1,i1,1717200120,view\n", options=CleaningOptions(time_zone="Europe/Paris"))
    assert epoch.result.cleaning_report()["time_parse"] == "epoch seconds"  # absolute: nothing assumed
    assert epoch.result.source["time_zone"] == "Europe/Paris"


@pytest.mark.parametrize("bad", ["Paris", "", " UTC", "Mars/Olympus", 3])
def test_unknown_time_zone_is_refused_with_examples(bad):
    with pytest.raises(ParameterError, match=r"is not a time zone name; use an IANA name such as 'UTC', 'Europe/Paris'"):
        CleaningOptions(time_zone=bad)


def test_timestamps_in_json_lines_with_offsets(write, run_ingest):
    path = write("log.jsonl", '{"user_id": "u1", "item_id": "i1", "timestamp": "2024-01-05T10:00:00+08:00"}\n'
                              '{"user_id": "u2", "item_id": 7, "timestamp": "2024-01-05T10:00:00Z"}\n')
    ing = run_ingest(path, {"user": "user_id", "item": "item_id", "timestamp": "timestamp"})
    assert ing.events["timestamp"].tolist() == [pd.Timestamp("2024-01-05 02:00", tz="UTC"),
                                                pd.Timestamp("2024-01-05 10:00", tz="UTC")]
    assert ing.events["item_id"].tolist() == ["i1", "7"]


# --- ingest as a whole ----------------------------------------------------------------------

SMALL = HEADER + "u1,i1,2024-01-05,view\nu1,i2,2024-01-05,buy\nu2,i1,2024-01-06,view\n"


def test_ingest_writes_every_table_and_describes_itself(run_ingest):
    ing = run_ingest(SMALL)
    res = ing.result
    assert set(res.tables) == {"events", "rejected", "users", "items", "interactions"}
    assert all(p.exists() and p.suffix == ".parquet" for p in res.tables.values())
    assert list(ing.events.columns) == ["row_id", "user_id", "item_id", "timestamp", "event", "flags"]
    assert list(ing.rejected.columns) == ["row_id", "user_id", "item_id", "timestamp", "timestamp_raw", "event_raw",
                                          "reason", "raw_line"]
    assert res.mapping == {"user": "user_id", "item": "item_id", "timestamp": "timestamp", "event": "event"}
    assert res.source["file"] == "log.csv"
    assert len(res.content_hash) == 64 and len(res.source_hash) == 64
    rep = res.cleaning_report()
    assert [r["rule"] for r in rep["rules"]] == list(RULES)
    assert rep["time_parse"] == "ISO-8601 text; timestamps without an offset were read as UTC time"
    assert not list(res.out_dir.glob("*.tmp")) and not (res.out_dir / ".spill").exists()


def test_content_hash_is_stable_and_depends_on_options(run_ingest):
    a = run_ingest(SMALL).result.content_hash
    assert run_ingest(SMALL).result.content_hash == a
    assert run_ingest(SMALL, options=CleaningOptions(duplicate="keep")).result.content_hash != a
    assert run_ingest(SMALL + "u3,i3,2024-01-07,view\n").result.content_hash != a


# --- bad input ------------------------------------------------------------------------------

def test_header_only_file(run_ingest):
    with pytest.raises(DataError, match="has no data rows"):
        run_ingest(HEADER)


def test_every_timestamp_unparseable(run_ingest):
    with pytest.raises(DataError) as exc:
        run_ingest(HEADER + "u1,i1,yesterday,view\nu2,i2,tomorrow,buy\n")
    msg = str(exc.value)
    assert "No value of the timestamp column 'timestamp' can be parsed" in msg
    assert "'yesterday'" in msg and "epoch seconds" in msg


def test_timestamp_column_empty_everywhere(run_ingest):
    with pytest.raises(DataError, match="is empty in every row"):
        run_ingest(HEADER + "u1,i1,,view\nu2,i2,,buy\n")


def test_no_column_for_the_user(run_ingest):
    with pytest.raises(DataError, match="No column is mapped to the user id"):
        run_ingest("timestamp,event\n2024-01-05,view\n", {"timestamp": "timestamp", "event": "event"})


def test_mapping_to_a_column_that_is_not_there(run_ingest):
    with pytest.raises(ParameterError, match="mapping\\['item'\\]='sku' is not a column"):
        run_ingest(SMALL, {"user": "user_id", "item": "sku", "timestamp": "timestamp"})


def test_forced_wrong_delimiter(write, run_ingest):
    from causalrec_core.data.io import sniff

    path = write("comma.csv", SMALL)
    with pytest.raises(DataError) as exc:
        run_ingest(path, {"user": "user_id,item_id,timestamp,event", "item": "x", "timestamp": "y"},
                   file_format=sniff(path, delimiter=";"))
    msg = str(exc.value)
    assert "Only one column found with delimiter ';'" in msg and "seems to use ','" in msg


def test_nothing_left_after_cleaning(run_ingest):
    with pytest.raises(DataError, match="No row of 'log.csv' is left after cleaning") as exc:
        run_ingest(HEADER + ",i1,2024-01-05,view\nu2,i2,2024-01-06,weird\n",
                   options=CleaningOptions(unknown_event="drop"))
    assert "missing_user_id=1" in str(exc.value) and "unknown_event=1" in str(exc.value)


def test_automatic_threshold_catches_a_crawler_the_mad_bound_let_through(run_ingest):
    # 300 shoppers with 5-60 events (a long tail) and one crawler with 3,000: median + 8 MADs of the log
    # counts lies far above 3,000 here; ten times the 99th percentile does not
    import math
    import random

    rng = random.Random(0)
    lines = ["user_id,item_id,timestamp,event"]
    for u in range(300):
        n = int(math.exp(rng.uniform(math.log(5), math.log(60))))
        lines += [f"u{u},i{k},2024-01-01T{k // 60:02d}:{k % 60:02d}:00,view" for k in range(n)]
    lines += [f"crawler,i{k % 120},2024-01-02T{k // 3600:02d}:{(k // 60) % 60:02d}:{k % 60:02d},view" for k in range(3000)]
    ing = run_ingest("\n".join(lines) + "\n", options=CleaningOptions(bot_user="drop"))
    assert ing.profile["dropped"].get("bot_user") == 3000
    assert ing.profile["users"] == 300
