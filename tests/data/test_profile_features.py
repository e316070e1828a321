"""Feature tables, side tables and the profile, on tiny logs computed by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from causalrec_core.data.profile import gini
from causalrec_core.errors import DataError

#: u1: i1 view -> cart -> buy on day 1, i2 view on day 2
#: u2: i1 view on day 2, i2 view + buy on day 3
#: u3: i3 view on day 4
HAND = ("user_id,item_id,timestamp,event\n"
        "u1,i1,2024-01-01T00:00:00Z,view\n"
        "u1,i1,2024-01-01T01:00:00Z,cart\n"
        "u1,i1,2024-01-01T02:00:00Z,buy\n"
        "u1,i2,2024-01-02T00:00:00Z,view\n"
        "u2,i1,2024-01-02T00:00:00Z,view\n"
        "u2,i2,2024-01-03T00:00:00Z,view\n"
        "u2,i2,2024-01-03T12:00:00Z,buy\n"
        "u3,i3,2024-01-04T00:00:00Z,view\n")
ITEMS = "item_id,category,price,title\ni1,shoes,19.90,Red shoe\ni2,hats,5,Blue hat\ni3,shoes,100.5,\"Big, boot\"\ni9,misc,1,unused\n"
USERS = "user_id,age,country\nu1,30,DE\nu2,41,FR\n"


def ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


@pytest.fixture
def hand(run_ingest, write):
    return run_ingest(HAND, items_path=write("items.csv", ITEMS), users_path=write("users.csv", USERS))


# --- features -------------------------------------------------------------------------------

def test_users_table(hand):
    users = hand.table("users").set_index("user_id")
    assert users.index.tolist() == ["u1", "u2", "u3"]
    assert users["n_events"].tolist() == [4, 3, 1]
    assert users["n_items"].tolist() == [2, 2, 1]
    assert users["n_view"].tolist() == [2, 2, 1]
    assert users["n_cart"].tolist() == [1, 0, 0]
    assert users["n_purchase"].tolist() == [1, 1, 0]
    assert "n_click" not in users.columns  # only events present in the log get a column
    assert users["conversion_rate"].tolist() == [0.5, 0.5, 0.0]
    assert users["first_ts"].tolist() == [ts("2024-01-01"), ts("2024-01-02"), ts("2024-01-04")]
    assert users["last_ts"].tolist() == [ts("2024-01-02"), ts("2024-01-03 12:00"), ts("2024-01-04")]
    assert users["active_days"].tolist() == [2, 2, 1]
    # days from the user's last event to the log's last event (2024-01-04 00:00)
    assert users["recency_days"].tolist() == [2.0, 0.5, 0.0]


def test_items_table(hand):
    items = hand.table("items").set_index("item_id")
    assert items.index.tolist() == ["i1", "i2", "i3"]
    assert items["n_events"].tolist() == [4, 3, 1]
    assert items["n_users"].tolist() == [2, 2, 1]
    assert items["n_view"].tolist() == [2, 2, 1]
    assert items["n_purchase"].tolist() == [1, 1, 0]
    assert items["conversion_rate"].tolist() == [0.5, 0.5, 0.0]
    assert items["popularity_rank"].tolist() == [1, 2, 3]


def test_interactions_table(hand):
    inter = hand.table("interactions")
    assert inter[["user_idx", "item_idx", "user_id", "item_id"]].values.tolist() == [
        [0, 0, "u1", "i1"], [0, 1, "u1", "i2"], [1, 0, "u2", "i1"], [1, 1, "u2", "i2"], [2, 2, "u3", "i3"]]
    assert inter["n_events"].tolist() == [3, 1, 1, 2, 1]
    assert inter["purchased"].tolist() == [True, False, False, True, False]
    assert inter["n_cart"].tolist() == [1, 0, 0, 0, 0]
    assert inter["first_ts"].iloc[0] == ts("2024-01-01") and inter["last_ts"].iloc[0] == ts("2024-01-01 02:00")
    # dense ids are 0..n-1 in id order
    assert sorted(inter["user_idx"].unique()) == [0, 1, 2]
    assert sorted(inter["item_idx"].unique()) == [0, 1, 2]


def test_popularity_rank_ties_share_a_rank(run_ingest):
    text = "user_id,item_id,timestamp,event\n" + "".join(
        f"u{k},{item},2024-01-0{1 + k},view\n" for k, item in enumerate(["a", "a", "b", "b", "c"]))
    items = run_ingest(text).table("items").set_index("item_id")
    assert items["popularity_rank"].to_dict() == {"a": 1, "b": 1, "c": 3}


def test_interactions_carry_exposure_propensity_position_and_value(run_ingest):
    text = ("user_id,item_id,timestamp,event,exposed,propensity,position,rating\n"
            "u1,i1,2024-01-05,view,1,0.2,3,4\n"
            "u1,i1,2024-01-06,view,0,0.4,1,2\n"
            "u2,i1,2024-01-06,view,0,0.5,2,\n")
    m = {"user": "user_id", "item": "item_id", "timestamp": "timestamp", "event": "event",
         "exposed": "exposed", "propensity": "propensity", "position": "position", "value": "rating"}
    inter = run_ingest(text, m).table("interactions")
    assert inter["exposed"].tolist() == [True, False]
    assert inter["propensity"].tolist() == [0.4, 0.5]
    assert inter["position"].tolist() == [1, 2]
    assert inter["mean_value"].iloc[0] == 3.0 and pd.isna(inter["mean_value"].iloc[1])


def test_exposure_events_make_the_exposed_column(run_ingest):
    text = ("user_id,item_id,timestamp,event\n"
            "u1,i1,2024-01-05,impression\nu1,i1,2024-01-05,click\nu1,i2,2024-01-06,click\n")
    inter = run_ingest(text).table("interactions")
    assert inter["exposed"].tolist() == [True, False]
    assert inter["purchased"].tolist() == [False, False]


def test_conversion_rate_is_missing_without_views_or_purchases(run_ingest):
    users = run_ingest("user_id,item_id,timestamp,event\nu1,i1,2024-01-05,click\n").table("users")
    assert pd.isna(users["conversion_rate"].iloc[0])


# --- side tables ----------------------------------------------------------------------------

def test_item_and_user_side_tables_are_joined(hand):
    assert {"item_side", "user_side"} <= set(hand.result.tables)
    items = hand.table("items").set_index("item_id")
    assert items["category"].tolist() == ["shoes", "hats", "shoes"]
    assert items["title"].tolist() == ["Red shoe", "Blue hat", "Big, boot"]
    assert items["price"].tolist() == [19.9, 5.0, 100.5]
    assert pd.api.types.is_float_dtype(items["price"])  # numeric text became a number
    users = hand.table("users").set_index("user_id")
    assert users.loc["u1", "country"] == "DE" and users.loc["u2", "age"] == 41
    assert pd.isna(users.loc["u3", "country"])  # a user missing from the side table
    side = hand.table("item_side")
    assert side["item_id"].tolist() == ["i1", "i2", "i3", "i9"]  # the side table itself is kept whole
    assert hand.result.source["items_file"] == "items.csv"


def test_side_table_id_found_by_synonym_and_stripped(run_ingest, write):
    side = write("catalog.csv", "SKU;brand\n i1 ;acme\ni2;zeta\n")
    items = run_ingest(HAND, items_path=side).table("items").set_index("item_id")
    assert items.loc["i1", "brand"] == "acme" and items.loc["i2", "brand"] == "zeta"
    assert pd.isna(items.loc["i3", "brand"])


def test_side_table_mixed_column_stays_text(run_ingest, write):
    side = write("items.csv", "item_id,size\ni1,42\ni2,XL\n")
    items = run_ingest(HAND, items_path=side).table("items").set_index("item_id")
    assert items.loc["i1", "size"] == "42" and items.loc["i2", "size"] == "XL"


def test_side_table_without_id_column(run_ingest, write):
    side = write("items.csv", "colour,weight\nred,1\nblue,2\n")
    with pytest.raises(DataError) as exc:
        run_ingest(HAND, items_path=side)
    msg = str(exc.value)
    assert "item side table 'items.csv' has no item id column" in msg and "'colour', 'weight'" in msg


def test_side_table_with_duplicate_ids(run_ingest, write):
    side = write("users.csv", "user_id,age\nu1,30\nu1,31\nu2,40\n")
    with pytest.raises(DataError, match="user side table 'users.csv' repeats 1 ids in column 'user_id'"):
        run_ingest(HAND, users_path=side)


def test_side_tables_change_the_content_hash(run_ingest, write):
    plain = run_ingest(HAND).result.content_hash
    with_side = run_ingest(HAND, items_path=write("items.csv", ITEMS)).result.content_hash
    assert plain != with_side


# --- profile --------------------------------------------------------------------------------

def test_profile_counts_and_time_range(hand):
    p = hand.profile
    assert (p["rows_in"], p["rows_kept"], p["users"], p["items"], p["pairs"]) == (8, 8, 3, 3, 5)
    assert p["events"] == {"view": 5, "cart": 1, "purchase": 2}
    assert list(p["events"]) == ["view", "cart", "purchase"]  # canonical order
    assert p["time_min"] == "2024-01-01T00:00:00Z" and p["time_max"] == "2024-01-04T00:00:00Z"
    assert p["time_span_days"] == 3.0


def test_profile_funnel(hand):
    # each step: events of the step / events of the previous step present in the log
    assert hand.profile["funnel"] == {"view": 1.0, "cart": pytest.approx(1 / 5), "purchase": 2.0}
    assert hand.profile["funnel_users"] == {"view": 3, "cart": 1, "purchase": 2}


def test_profile_long_tail(hand):
    p = hand.profile
    # item events 1, 3, 4: Gini = 2*(1*1 + 2*3 + 3*4) / (3*8) - 4/3 = 0.25
    assert p["gini_items"] == pytest.approx(0.25)
    assert p["top_share"] == {"top_1pct": 0.5, "top_10pct": 0.5, "top_20pct": 0.5}
    assert p["sparsity"] == pytest.approx(1 - 5 / 9)
    assert p["popularity_curve"] == [[1, 4], [2, 3], [3, 1]]
    assert p["lorenz"][0] == [0.0, 0.0] and p["lorenz"][-1] == [1.0, 1.0]


def test_profile_user_activity(hand):
    ua = hand.profile["user_activity"]
    assert ua["max"] == 4 and ua["mean"] == pytest.approx(8 / 3)
    assert ua["quantiles"]["p50"] == 3.0
    assert ua["histogram"] == [{"events_from": 1, "events_to": 1, "users": 1},
                               {"events_from": 2, "events_to": 3, "users": 1},
                               {"events_from": 4, "events_to": 7, "users": 1}]


def test_profile_events_over_time_hourly(hand):
    ot = hand.profile["events_over_time"]
    assert ot["unit"] == "hour"  # the log spans 3 days
    assert ot["rows"][:3] == [
        {"period": "2024-01-01T00:00:00Z", "event": "view", "events": 1},
        {"period": "2024-01-01T01:00:00Z", "event": "cart", "events": 1},
        {"period": "2024-01-01T02:00:00Z", "event": "purchase", "events": 1}]
    assert {"period": "2024-01-02T00:00:00Z", "event": "view", "events": 2} in ot["rows"]
    assert sum(r["events"] for r in ot["rows"]) == 8


def test_profile_events_over_time_daily(run_ingest):
    text = ("user_id,item_id,timestamp,event\n"
            "u1,i1,2024-01-01T05:00:00Z,view\nu2,i1,2024-01-01T23:00:00Z,view\nu1,i2,2024-01-10T00:00:00Z,buy\n")
    ot = run_ingest(text).profile["events_over_time"]
    assert ot == {"unit": "day", "rows": [
        {"period": "2024-01-01T00:00:00Z", "event": "view", "events": 2},
        {"period": "2024-01-10T00:00:00Z", "event": "purchase", "events": 1}]}


def test_uniform_popularity_has_zero_gini(run_ingest):
    text = "user_id,item_id,timestamp,event\n" + "".join(
        f"u{u},i{i},2024-01-0{1 + u},view\n" for u in range(3) for i in range(4))
    p = run_ingest(text).profile
    assert p["gini_items"] == pytest.approx(0.0)
    assert p["sparsity"] == pytest.approx(0.0)
    assert p["funnel"] == {"view": 1.0}


def test_profile_quality_and_flag_counts(run_ingest):
    text = "user_id,item_id,timestamp,event\nu1,i1,2024-01-05,view\nu1,i1,2024-01-05,weird\n"
    p = run_ingest(text).profile
    assert p["flagged"] == {"unknown_event": 1} and p["dropped"] == {}
    quality = {q["column"]: q for q in p["quality"]}
    assert "row_id" not in quality
    assert quality["flags"]["missing"] == 1 and quality["flags"]["missing_share"] == 0.5
    assert quality["user_id"]["missing"] == 0
    assert quality["timestamp"]["distinct"] == 1  # counted for the timestamp too (shown, never None)


@pytest.mark.parametrize("values, expected", [
    ([], 0.0), ([0, 0], 0.0), ([5, 5, 5], 0.0), ([1, 3, 4], 0.25), ([0, 0, 1], 2 / 3), ([0, 1], 0.5),
])
def test_gini(values, expected):
    assert gini(values) == pytest.approx(expected)


def test_profile_funnel_starts_at_exposures_and_keeps_fav_beside_it(run_ingest):
    rows = ([("u1", "i1", "exposure")] * 4 + [("u2", "i2", "exposure")] * 4 + [("u1", "i1", "view")] * 4
            + [("u1", "i1", "fav")] * 3 + [("u2", "i2", "cart")] * 2 + [("u2", "i2", "purchase")])
    text = "user_id,item_id,timestamp,event\n" + "".join(
        f"{u},{i},2024-01-01T00:{k:02d}:00Z,{e}\n" for k, (u, i, e) in enumerate(rows))
    p = run_ingest(text).profile
    assert list(p["funnel"]) == ["exposure", "view", "cart", "purchase"]
    assert p["funnel"] == {"exposure": 1.0, "view": 0.5, "cart": 0.5, "purchase": 0.5}  # not "of fav"
    assert p["funnel_from_first"]["purchase"] == pytest.approx(1 / 8)
    assert p["funnel_users"] == {"exposure": 2, "view": 1, "cart": 1, "purchase": 1}
    assert p["side_actions"] == {"fav": {"events": 3, "users": 1}}


def test_funnel_rates_from_counts_alone():
    from causalrec_core.data.profile import funnel_rates

    steps, rate, first = funnel_rates({"view": 10, "fav": 5, "purchase": 2, "other": 7})
    assert steps == ["view", "purchase"] and rate == {"view": 1.0, "purchase": 0.2}
    assert first == {"view": 1.0, "purchase": 0.2}
    assert funnel_rates({"fav": 3}) == ([], {}, {})


def test_quality_counts_distinct_values_exactly_on_small_logs(run_ingest):
    text = "user_id,item_id,timestamp,event\n" + "".join(
        f"u{k % 7},i{k % 11},2024-01-01T{k // 60:02d}:{k % 60:02d}:00Z,view\n" for k in range(200))
    q = {r["column"]: r for r in run_ingest(text).profile["quality"]}
    assert q["timestamp"]["distinct"] == 200 and q["timestamp"]["distinct_is_exact"] is True
    assert q["user_id"]["distinct"] == 7 and q["item_id"]["distinct"] == 11
