"""Column mapping, event labels and timestamp parsing."""

from __future__ import annotations

import pandas as pd
import pytest

from causalrec_core.data.mapping import (
    EVENT_SYNONYMS,
    UnmappedRoleError,
    canonical_event,
    detect_time_parse,
    parse_mapping_arg,
    role_for_name,
    suggest_event_map,
    suggest_mapping,
    validate_event_map,
    validate_mapping,
)
from causalrec_core.data.schema import CANONICAL_EVENTS, ROLES
from causalrec_core.errors import DataError, ParameterError

COLUMNS = ["user_id", "item_id", "timestamp", "event", "price"]


def _suggested(df: pd.DataFrame) -> dict[str, str]:
    return {role: s.column for role, s in suggest_mapping(df).items() if s.column}


# --- names ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, role", [
    ("user_id", "user"), ("UserID", "user"), ("visitorid", "user"), ("Customer ID", "user"), ("uid", "user"),
    ("用户id", "user"), ("item_id", "item"), ("ProductId", "item"), ("sku", "item"), ("asin", "item"),
    ("商品id", "item"), ("ts", "timestamp"), ("Event Time", "timestamp"), ("created_at", "timestamp"),
    ("时间", "timestamp"), ("behavior_type", "event"), ("action", "event"), ("行为", "event"),
    ("rating", "value"), ("price", "value"), ("is_exposed", "exposed"), ("pos", "position"),
    ("pscore", "propensity"), ("foo", None), ("", None), ("user_name", None),
])
def test_role_for_name(name, role):
    assert role_for_name(name) == role


@pytest.mark.parametrize("label, canon", [
    ("pv", "view"), ("PV", "view"), (" Buy ", "purchase"), ("cart", "cart"), ("add-to-cart", "cart"),
    ("AddToCart", "cart"), ("fav", "fav"), ("favorite", "fav"), ("impression", "exposure"), ("clk", "click"),
    ("浏览", "view"), ("购买", "purchase"), ("加入购物车", "cart"), ("收藏", "fav"), ("rate", "rating"),
    ("weird", None), ("", None), (None, None), (float("nan"), None),
])
def test_canonical_event(label, canon):
    assert canonical_event(label) == canon


@pytest.mark.parametrize("label, canon", [
    ("Détail", "view"), ("vue", "view"), ("Produktansicht", "view"), ("visualizzazione", "view"),
    ("panier", "cart"), ("Ajout au panier", "cart"), ("Warenkorb", "cart"), ("Añadir al carrito", "cart"),
    ("carrello", "cart"), ("achat", "purchase"), ("Commande", "purchase"), ("Bestellung", "purchase"),
    ("compra", "purchase"), ("acquisto", "purchase"), ("favoris", "fav"), ("Merkliste", "fav"),
    ("clic", "click"), ("Bewertung", "rating"), ("zorg", None),
])
def test_canonical_event_of_french_german_spanish_and_italian_labels(label, canon):
    # they silently became 'other' before
    assert canonical_event(label) == canon


def test_every_synonym_targets_a_canonical_event():
    assert set(EVENT_SYNONYMS.values()) <= set(CANONICAL_EVENTS)


def test_suggest_event_map_skips_empty_labels():
    assert suggest_event_map(["pv", "buy", "weird", "", None]) == {"pv": "view", "buy": "purchase", "weird": None}


def test_validate_event_map():
    assert validate_event_map({"weird": "click", "x": None}) == {"weird": "click", "x": None}
    with pytest.raises(ParameterError, match=r"event_map\['weird'\]='clicked' is not supported; choose one of"):
        validate_event_map({"weird": "clicked"})


# --- timestamps -----------------------------------------------------------------------------

@pytest.mark.parametrize("values, kind, unit, fmt", [
    (["1704067200", "1704153600", "1704240000"], "epoch", "s", None),
    (["1704067200.5", "1704153600.25"], "epoch", "s", None),
    (["1704067200000", "1704153600123"], "epoch", "ms", None),
    (["1704067200000000", "1704153600000000"], "epoch", "us", None),
    (["2024-01-05T10:00:00Z", "2024-01-06T10:00:00Z"], "text", None, None),
    (["2024-01-05T10:00:00+08:00", "2024-01-05 10:00:00-05:00"], "text", None, None),
    (["2024-01-05", "2024-01-06"], "text", None, None),
    (["2024/01/05 10:00", "2024/01/06 11:30"], "text", None, None),
    (["20240105", "20240106", "20231231"], "text", None, "%Y%m%d"),
    (["25/12/2024 10:00", "26/12/2024 11:30"], "text", None, "%d/%m/%Y %H:%M"),
    (["05.01.2024", "31.01.2024"], "text", None, "%d.%m.%Y"),
])
def test_detect_time_parse(values, kind, unit, fmt):
    tp = detect_time_parse(pd.Series(values))
    assert (tp.kind, tp.unit, tp.fmt) == (kind, unit, fmt)
    assert tp.parsed_share == 1.0
    assert tp.describe()


def test_detect_time_parse_of_garbage_and_empty():
    assert detect_time_parse(pd.Series(["yesterday", "soon"])).parsed_share == 0.0
    assert detect_time_parse(pd.Series(["", None, "  "])).parsed_share == 0.0


def test_time_parse_descriptions():
    assert detect_time_parse(pd.Series(["1704067200"])).describe() == "epoch seconds"
    assert detect_time_parse(pd.Series(["1704067200000"])).describe() == "epoch milliseconds"
    assert detect_time_parse(pd.Series(["2024-01-05T10:00:00Z"])).describe() == "ISO-8601 text"
    assert detect_time_parse(pd.Series(["20240105"])).describe() == "text in format %Y%m%d"


# --- suggestions ----------------------------------------------------------------------------

def test_suggest_mapping_from_names_covers_every_role():
    df = pd.DataFrame({c: ["1", "2"] for c in
                       ["visitorid", "productid", "event_time", "action", "rating", "shown", "slot", "pscore"]})
    s = suggest_mapping(df)
    assert set(s) == set(ROLES)
    assert {r: x.column for r, x in s.items()} == {
        "user": "visitorid", "item": "productid", "timestamp": "event_time", "event": "action",
        "value": "rating", "exposed": "shown", "position": "slot", "propensity": "pscore"}
    assert s["user"].reason == "column name 'visitorid'"


def test_first_matching_name_wins():
    df = pd.DataFrame({"user_id": ["a"], "uid": ["b"], "item_id": ["c"], "ts": ["1"]})
    assert _suggested(df)["user"] == "user_id"


def test_suggest_mapping_from_content():
    n = 30
    df = pd.DataFrame({
        "a": [f"u{i % 10}" for i in range(n)],
        "b": [f"p{i}" for i in range(n)],
        "c": [("pv", "buy", "cart")[i % 3] for i in range(n)],
        "d": [f"2024-01-{1 + i % 28:02d} 10:00:00" for i in range(n)],
    })
    s = suggest_mapping(df)
    assert {r: x.column for r, x in s.items() if x.column} == {"user": "a", "item": "b", "event": "c", "timestamp": "d"}
    assert "parse as times" in s["timestamp"].reason
    assert "known event labels" in s["event"].reason
    assert s["value"].column is None and s["value"].reason == "no matching column"


def test_content_guess_ignores_implausible_epochs():
    # small integers parse as epoch seconds in 1970: not a timestamp column
    df = pd.DataFrame({"a": [f"u{i}" for i in range(20)], "b": [str(i) for i in range(20)]})
    assert "timestamp" not in _suggested(df)


def test_content_guess_for_item_when_user_is_named():
    # the user id is found by name; the item id must be the first free id-like column, not the second
    df = pd.DataFrame({
        "user_id": ["u1", "u2", "u3", "u1"], "product_code": ["p1", "p2", "p3", "p4"],
        "when": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"], "note": ["a", "b", "c", "d"],
    })
    assert _suggested(df) == {"user": "user_id", "item": "product_code", "timestamp": "when"}


def test_no_id_like_columns_gives_no_user_or_item():
    df = pd.DataFrame({"timestamp": ["2024-01-01"] * 50, "flag": ["x"] * 50})
    got = _suggested(df)
    assert "user" not in got and "item" not in got


# --- validation -----------------------------------------------------------------------------

def test_validate_mapping_keeps_given_roles_and_skips_empty_ones():
    m = {"user": "user_id", "item": "item_id", "timestamp": "timestamp", "event": None, "value": ""}
    assert validate_mapping(m, COLUMNS) == {"user": "user_id", "item": "item_id", "timestamp": "timestamp"}


def test_validate_mapping_unknown_column_lists_columns():
    with pytest.raises(ParameterError) as exc:
        validate_mapping({"user": "uid", "item": "item_id", "timestamp": "timestamp"}, COLUMNS)
    msg = str(exc.value)
    assert "mapping['user']='uid' is not a column" in msg
    assert all(repr(c) in msg for c in COLUMNS)


def test_validate_mapping_same_column_twice():
    with pytest.raises(ParameterError, match="column 'user_id' for both 'user' and 'item'"):
        validate_mapping({"user": "user_id", "item": "user_id", "timestamp": "timestamp"}, COLUMNS)


def test_validate_mapping_unknown_role():
    with pytest.raises(ParameterError, match="mapping role='buyer' is not supported"):
        validate_mapping({"buyer": "user_id"}, COLUMNS)


@pytest.mark.parametrize("missing, what", [("user", "the user id"), ("item", "the item id"),
                                           ("timestamp", "the timestamp")])
def test_validate_mapping_missing_required_role_lists_columns(missing, what):
    m = {"user": "user_id", "item": "item_id", "timestamp": "timestamp"}
    del m[missing]
    with pytest.raises(DataError) as exc:
        validate_mapping(m, COLUMNS)
    msg = str(exc.value)
    assert f"No column is mapped to {what} (role {missing!r})" in msg
    assert "'user_id', 'item_id', 'timestamp', 'event', 'price'" in msg
    # neutral: the core does not assume the CLI (--map) or the Data page; the error carries the
    # role and the columns so that each front end can phrase its own remedy
    assert f"Map one of them to the role {missing!r}." in msg
    assert "--map" not in msg and "Data page" not in msg
    assert isinstance(exc.value, UnmappedRoleError)
    assert exc.value.role == missing and exc.value.columns == tuple(COLUMNS)


def test_event_role_is_optional():
    assert "event" not in validate_mapping({"user": "user_id", "item": "item_id", "timestamp": "timestamp"}, COLUMNS)


# --- --map argument -------------------------------------------------------------------------

def test_parse_mapping_arg():
    assert parse_mapping_arg("user=uid, item = sku,,timestamp=ts,event=") == {
        "user": "uid", "item": "sku", "timestamp": "ts", "event": ""}
    assert parse_mapping_arg("value=a=b") == {"value": "a=b"}
    assert parse_mapping_arg("") == {}


def test_parse_mapping_arg_errors():
    with pytest.raises(ParameterError, match=r"--map entry 'uid' is invalid: it must be ROLE=COLUMN"):
        parse_mapping_arg("uid")
    with pytest.raises(ParameterError, match=r"--map role='buyer' is not supported; choose one of: 'user'"):
        parse_mapping_arg("buyer=uid")


# --- event labels end to end ----------------------------------------------------------------

EVENTS = ("user_id,item_id,timestamp,event\n"
          "u1,i1,2024-01-05,view\nu1,i2,2024-01-05,Weird\nu2,i2,2024-01-06,buy\nu2,i1,2024-01-06,pv\n")


def test_default_event_map(run_ingest):
    ing = run_ingest(EVENTS)
    assert ing.result.event_map == {"buy": "purchase", "pv": "view", "view": "view", "weird": None}
    assert ing.events["event"].tolist() == ["view", "other", "purchase", "view"]


def test_user_overrides_of_event_labels(run_ingest):
    ing = run_ingest(EVENTS, event_map={"WEIRD": "click", "buy": "cart", "pv": None})
    assert ing.result.event_map == {"buy": "cart", "pv": None, "view": "view", "weird": "click"}
    assert ing.events["event"].tolist() == ["view", "click", "cart", "other"]
    assert ing.profile["flagged"] == {"unknown_event": 1}


def test_invalid_event_override(run_ingest):
    with pytest.raises(ParameterError, match=r"event_map\['buy'\]='bought'"):
        run_ingest(EVENTS, event_map={"buy": "bought"})


def test_without_event_column_every_row_is_the_default_event(run_ingest):
    m = {"user": "user_id", "item": "item_id", "timestamp": "timestamp"}
    assert run_ingest(EVENTS, m).events["event"].tolist() == ["view"] * 4
    assert run_ingest(EVENTS, m, default_event="click").events["event"].tolist() == ["click"] * 4
    with pytest.raises(ParameterError, match="default_event='glance' is not supported"):
        run_ingest(EVENTS, m, default_event="glance")


def test_an_id_column_as_event_column_is_refused(run_ingest):
    text = "user_id,item_id,timestamp,code\n" + "".join(f"u{i},i{i},2024-01-05,c{i}\n" for i in range(1002))
    with pytest.raises(DataError, match="'code' has more than 1000 distinct labels"):
        run_ingest(text, {"user": "user_id", "item": "item_id", "timestamp": "timestamp", "event": "code"})


def test_french_plurals_and_accented_verb_forms_are_recognised():
    from causalrec_core.data.mapping import canonical_event

    for label, event in (("clics", "click"), ("Achats", "purchase"), ("affichages", "exposure"),
                         ("affiché", "exposure"), ("consulté", "view"), ("achète", "purchase"),
                         ("paniers", "cart")):
        assert canonical_event(label) == event, label
