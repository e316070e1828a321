"""Event log -> RecData(kind='log'): exact splits on hand-made logs, and the sample data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causalrec_core.errors import DataError, ParameterError
from causalrec_core.models.logdata import hold_out_items, log_data_from_dataset, log_data_from_frames

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
BASE = int(pd.Timestamp("2024-01-01T00:00:00Z").timestamp())

ROWS = [  # user, item, second, event
    ("u1", "a", 1, "click"),
    ("u1", "b", 2, "purchase"),
    ("u1", "a", 3, "purchase"),  # repeat of a train pair, inside the train window
    ("u2", "a", 4, "click"),
    ("u1", "b", 5, "fav"),  # repeat of a train pair inside the valid window
    ("u2", "c", 5, "view"),  # not a positive
    ("u1", "c", 6, "click"),
    ("u2", "b", 7, "cart"),
    ("u3", "a", 8, "exposure"),  # u3 has no positive at all
    ("u2", "d", 9, "purchase"),
    ("u1", "b", 10, "click"),  # repeat of a train pair inside the test window
]


def _events(rows=ROWS, **extra) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "sec", "event"])
    df["timestamp"] = [pd.Timestamp(BASE + s, unit="s", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ") for s in df["sec"]]
    for k, v in extra.items():
        df[k] = v
    return df.drop(columns="sec")


ITEMS = pd.DataFrame({
    "item_id": ["a", "b", "c", "e", "f"],
    "title": ["Apple", "Banana", None, "Eel", "Fig"],
    "category": ["fruit", "fruit", "tools", None, "fruit"],
    "price": [1.0, 2.0, 3.0, 4.0, 5.0],
})


def _pairs(inter, data):
    return sorted((str(data.user_ids[u]), str(data.item_ids[i])) for u, i in zip(inter.user, inter.item, strict=True))


def test_time_split_exact():
    d = log_data_from_frames(_events(), valid_fraction=0.2, test_fraction=0.2)
    assert d.kind == "log"
    assert d.user_ids.tolist() == ["u1", "u2", "u3"]
    assert d.item_ids.tolist() == ["a", "b", "c", "d"]
    # first positives in time: (u1,a,1) (u1,b,2) (u2,a,4) (u1,c,6) (u2,b,7) (u2,d,9); 20% of 6 -> 2 each
    assert _pairs(d.train, d) == [("u1", "a"), ("u1", "b")]
    assert _pairs(d.valid, d) == [("u1", "c"), ("u2", "a")]
    assert _pairs(d.test, d) == [("u2", "b"), ("u2", "d")]
    assert d.train.timestamp.tolist() == [BASE + 1, BASE + 2]  # epoch seconds, first positive time
    assert d.train.value.tolist() == [1.0, 1.0]
    m = d.meta
    assert (m["n_train"], m["n_valid"], m["n_test"]) == (2, 2, 2)
    assert m["n_positive_events"] == 9 and m["n_positive_pairs"] == 6 and m["n_duplicate_positives"] == 3
    assert m["dropped_repeats"] == {"valid": 1, "test": 1}
    assert m["time_cuts"] == {"valid_start": "2024-01-01T00:00:04+00:00", "test_start": "2024-01-01T00:00:07+00:00"}
    assert m["split"] == "time" and m["positive_events"] == ["click", "cart", "fav", "purchase"]
    assert m["timestamp_unit"] == "s"
    assert d.item_text is None and d.item_features is None


def test_time_cut_ties_go_to_the_later_part():
    rows = [("u1", "a", 1, "click"), ("u1", "b", 2, "click"), ("u2", "a", 2, "click"), ("u2", "b", 3, "click")]
    d = log_data_from_frames(_events(rows), valid_fraction=0.0, test_fraction=0.5)
    # the cut is t=2 (the 3rd of 4 positives): both positives at t=2 are test
    assert _pairs(d.train, d) == [("u1", "a")]
    assert _pairs(d.test, d) == [("u1", "b"), ("u2", "a"), ("u2", "b")]
    assert d.valid is None and d.meta["time_cuts"]["valid_start"] is None


def test_leave_last_split_exact():
    d = log_data_from_frames(_events(), split="leave-last")
    assert _pairs(d.train, d) == [("u1", "a"), ("u2", "a")]
    assert _pairs(d.valid, d) == [("u1", "b"), ("u2", "b")]
    assert _pairs(d.test, d) == [("u1", "c"), ("u2", "d")]
    # (u1,a,3) falls after u1's valid item (t=2); (u1,b,10) after u1's test item (t=6)
    assert d.meta["dropped_repeats"] == {"valid": 1, "test": 1}
    assert d.meta["time_cuts"] is None
    d0 = log_data_from_frames(_events(), split="leave-last", valid_fraction=0)
    assert d0.valid is None
    assert _pairs(d0.train, d0) == [("u1", "a"), ("u1", "b"), ("u2", "a"), ("u2", "b")]


def test_positive_events_and_min_user_events():
    d = log_data_from_frames(_events(), positive_events=["purchase"], split="leave-last", valid_fraction=0)
    # purchase pairs: (u1,b,2) (u1,a,3) (u2,d,9)
    assert _pairs(d.train, d) == [("u1", "b")]
    assert _pairs(d.test, d) == [("u1", "a"), ("u2", "d")]
    rows = [("u4", "c", 0, "click")] + ROWS
    d = log_data_from_frames(_events(rows), valid_fraction=0.2, test_fraction=0.2, min_user_events=2)
    assert d.meta["n_users_below_min"] == 1
    assert "u4" in d.user_ids.tolist()  # still in the index
    assert _pairs(d.train, d) == [("u1", "a"), ("u1", "b")]
    with pytest.raises(DataError, match="min_user_events=4"):
        log_data_from_frames(_events(), min_user_events=4)


def test_exposures_train_window_and_all():
    prop = [np.nan] * len(ROWS)
    prop[8] = 0.5  # the exposure of (u3, a)
    ev = _events(propensity=prop)
    d = log_data_from_frames(ev, valid_fraction=0.2, test_fraction=0.2, exposure_window="all")
    e = d.exposures
    got = [(str(d.user_ids[u]), str(d.item_ids[i]), int(x), int(y))
           for u, i, x, y in zip(e.user, e.item, e.exposed, e.outcome, strict=True)]
    assert got == [("u1", "a", 0, 1), ("u1", "b", 0, 1), ("u1", "c", 0, 0), ("u2", "a", 0, 0), ("u2", "b", 0, 0),
                   ("u2", "c", 0, 0), ("u2", "d", 0, 1), ("u3", "a", 1, 0)]
    assert np.isnan(e.propensity[:-1]).all() and e.propensity[-1] == 0.5
    assert d.meta["exposures"]["n_propensity_missing"] == 7
    assert d.train.propensity is None  # not logged for every pair
    # default: only events before the valid cut (t=4) -> no valid/test outcome leaks into training
    d = log_data_from_frames(ev, valid_fraction=0.2, test_fraction=0.2)
    assert len(d.exposures) == 2 and d.exposures.outcome.tolist() == [1, 1]
    assert d.meta["exposure_window"] == "train"


def test_exposed_flag_column_and_no_exposure_info():
    flags = ["1", "0", "0", "true", "0", "0", "0", "0", "0", "0", "0"]
    d = log_data_from_frames(_events(exposed=flags), exposure_window="all", positive_events=("click", "purchase"))
    e = d.exposures
    exposed = {(str(d.user_ids[u]), str(d.item_ids[i])) for u, i, x in zip(e.user, e.item, e.exposed, strict=True)
               if x}
    assert exposed == {("u1", "a"), ("u2", "a"), ("u3", "a")}
    rows = [r for r in ROWS if r[3] != "exposure"]
    d = log_data_from_frames(_events(rows))
    assert d.exposures is None and d.meta["exposures"] is None
    assert any("no exposure information" in w for w in d.meta["warnings"])


def test_items_table_text_features_and_cold_items():
    d = log_data_from_frames(_events(), ITEMS, valid_fraction=0.2, test_fraction=0.2)
    assert d.item_ids.tolist() == ["a", "b", "c", "d", "e", "f"]  # items of the log and of the table
    assert d.item_text == ["Apple. category: fruit", "Banana. category: fruit", "category: tools", "", "Eel",
                           "Fig. category: fruit"]
    # the category one-hot, then the numeric price (d is not in the table: missing -> 0, the mean)
    assert d.meta["item_feature_names"] == ["category=fruit", "category=tools", "price"]
    assert d.meta["item_n_category_features"] == 2
    assert d.item_features[:, :2].tolist() == [[1, 0], [1, 0], [0, 1], [0, 0], [0, 0], [1, 0]]
    z = (np.array([1.0, 2.0, 3.0, 4.0, 5.0]) - 3.0) / np.sqrt(2.0)
    np.testing.assert_allclose(d.item_features[:, 2], [z[0], z[1], z[2], 0.0, z[3], z[4]], rtol=1e-6)
    assert d.item_features.dtype == np.float32
    assert d.meta["item_numeric_columns"] == {"price": {"transform": "none", "mean": 3.0, "sd": pytest.approx(2 ** 0.5),
                                                        "n_missing": 1, "n_non_numeric": 0}}
    assert d.meta["item_numeric_skipped"] == {}
    assert d.meta["n_cold_items"] == 4  # only a and b have training positives
    assert d.meta["n_items"] == 6


def test_errors():
    only_views = _events([("u1", "a", 1, "view"), ("u2", "b", 2, "exposure")])
    with pytest.raises(DataError, match=r"no positive events.*click.*view \(1\)"):
        log_data_from_frames(only_views)
    same_time = _events([("u1", "a", 1, "click"), ("u2", "b", 1, "click")])
    with pytest.raises(DataError, match="empty train"):
        log_data_from_frames(same_time, valid_fraction=0)
    with pytest.raises(DataError, match="empty train"):
        log_data_from_frames(_events([("u1", "a", 1, "click"), ("u2", "b", 2, "click")]))
    with pytest.raises(DataError, match="empty train"):
        log_data_from_frames(_events([("u1", "a", 1, "click"), ("u2", "b", 2, "click")]), split="leave-last")
    with pytest.raises(DataError, match="lacks column"):
        log_data_from_frames(_events().drop(columns="event"))
    bad = _events()
    bad.loc[2, "timestamp"] = "not a time"
    with pytest.raises(DataError, match="not a time"):
        log_data_from_frames(bad)
    with pytest.raises(ParameterError, match="split='random'"):
        log_data_from_frames(_events(), split="random")
    with pytest.raises(ParameterError, match="test_fraction=0"):
        log_data_from_frames(_events(), test_fraction=0)
    with pytest.raises(ParameterError, match="exposure_window"):
        log_data_from_frames(_events(), exposure_window="test")
    with pytest.raises(DataError, match="item_id"):
        log_data_from_frames(_events(), ITEMS.rename(columns={"item_id": "sku"}))
    with pytest.raises(DataError, match="empty"):
        log_data_from_frames(_events().iloc[:0])


def test_numeric_ids_and_datetime_timestamps():
    ev = _events()
    ev["user_id"] = ev["user_id"].str[1:].astype(int)
    ev["timestamp"] = pd.to_datetime(ev["timestamp"], utc=True)
    d = log_data_from_frames(ev, valid_fraction=0.2, test_fraction=0.2)
    assert d.user_ids.tolist() == [1, 2, 3]
    assert d.train.timestamp.tolist() == [BASE + 1, BASE + 2]
    assert d.meta["n_test"] == 2
    # integer item ids in the log, text ids in the items table: both compared as text
    ev["item_id"] = ev["item_id"].map({"a": 1, "b": 2, "c": 3, "d": 4})
    d = log_data_from_frames(ev, pd.DataFrame({"item_id": ["1", "5"], "title": ["One", "Five"]}))
    assert d.item_ids.tolist() == ["1", "2", "3", "4", "5"]
    assert d.item_text == ["One", "", "", "", "Five"]


def test_outcome_event_absent_is_reported():
    d = log_data_from_frames(_events(), outcome_event="rating", exposure_window="all")
    assert d.exposures.outcome.sum() == 0
    assert any("outcome_event='rating'" in w for w in d.meta["warnings"])


def _sample():
    if not (SAMPLE / "events.csv").exists():
        pytest.skip(f"sample data not found: {SAMPLE / 'events.csv'}")
    return pd.read_csv(SAMPLE / "events.csv"), pd.read_csv(SAMPLE / "items.csv")


@pytest.mark.parametrize("split", ["time", "leave-last"])
def test_sample_data(split):
    events, items = _sample()
    d = log_data_from_frames(events, items, split=split)
    m = d.meta
    assert d.n_users == events["user_id"].nunique() == 2000
    assert d.n_items == 500 and events["item_id"].nunique() < 500  # cold items from items.csv
    n_pairs = len(d.train) + len(d.valid) + len(d.test)
    assert m["n_train"] + m["n_valid"] + m["n_test"] == m["n_positive_pairs"] == n_pairs
    keys = [set((p.user * d.n_items + p.item).tolist()) for p in (d.train, d.valid, d.test)]
    assert sum(map(len, keys)) == len(set.union(*keys))  # a pair is in one split only
    if split == "time":
        assert d.train.timestamp.max() < d.valid.timestamp.min() <= d.valid.timestamp.max() < d.test.timestamp.min()
        assert m["n_test"] == int(np.ceil(0.1 * m["n_positive_pairs"] - 1e-9))
    else:
        assert len(np.unique(d.test.user)) == len(d.test)  # one test item per user
    assert len(d.item_text) == 500 and all(isinstance(t, str) for t in d.item_text)
    n_cat = items["category"].nunique()
    assert d.item_features.shape == (500, n_cat + 2) and d.meta["item_n_category_features"] == n_cat
    assert (d.item_features[:, :n_cat].sum(axis=1) == 1).all()
    assert d.meta["item_feature_names"][n_cat:] == ["price", "popularity"]
    num = d.item_features[:, n_cat:].astype(np.float64)
    np.testing.assert_allclose(num.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(num.std(axis=0), 1.0, atol=1e-5)
    # both are right-skewed and non-negative: log1p before standardising
    assert {c: v["transform"] for c, v in d.meta["item_numeric_columns"].items()} == {"price": "log1p",
                                                                                      "popularity": "log1p"}
    x = np.log1p(items.set_index("item_id").loc[d.item_ids, "price"].to_numpy())
    np.testing.assert_allclose(num[:, 0], (x - x.mean()) / x.std(), atol=1e-5)
    assert d.exposures is not None and 0 < d.exposures.exposed.mean() < 1
    assert d.exposures.propensity is not None and np.isfinite(d.exposures.propensity).all()
    assert d.train.propensity is not None
    assert m["positive_events"] == ["click", "cart", "fav", "purchase"]


def test_hold_out_items_on_sample():
    events, items = _sample()
    d = log_data_from_frames(events, items)
    h = hold_out_items(d, 0.2, seed=3)
    held = np.asarray(h.meta["held_out_items"])
    n_candidates = len(np.unique(np.concatenate([d.train.item, d.valid.item, d.test.item])))
    assert len(held) == round(0.2 * n_candidates) == h.meta["n_held_out_items"]
    assert not np.isin(h.train.item, held).any() and not np.isin(h.valid.item, held).any()
    assert not np.isin(h.exposures.item, held).any()
    assert h.test is d.test and np.isin(d.test.item, held).sum() == h.meta["n_test_on_held_out"] > 0
    assert len(d.train) - len(h.train) == h.meta["n_removed_train"] > 0
    assert h.meta["held_out_items"] == hold_out_items(d, 0.2, seed=3).meta["held_out_items"]
    assert h.meta["held_out_items"] != hold_out_items(d, 0.2, seed=4).meta["held_out_items"]
    assert "held_out_items" not in d.meta  # the input is not changed
    with pytest.raises(ParameterError, match="fraction=1"):
        hold_out_items(d, 1)


def test_hold_out_items_small():
    d = log_data_from_frames(_events(), valid_fraction=0.2, test_fraction=0.2)
    h = hold_out_items(d, 0.25, seed=0)  # 1 of the 4 items with interactions
    assert h.meta["n_held_out_items"] == 1
    with pytest.raises(DataError, match="removes every training interaction"):
        hold_out_items(d, 0.99, seed=0)


def test_log_data_from_dataset(tmp_path):
    from causalrec_core.data.importer import import_dataset
    from causalrec_core.store.store import ProjectStore

    prop = [0.2] * len(ROWS)
    path = tmp_path / "log.csv"
    _events(propensity=prop).to_csv(path, index=False)
    items_path = tmp_path / "items.csv"
    ITEMS.to_csv(items_path, index=False)
    store = ProjectStore(tmp_path / "ws")
    project = store.create_project("p")
    mapping = {"user": "user_id", "item": "item_id", "timestamp": "timestamp", "event": "event",
               "propensity": "propensity"}
    info = import_dataset(store, project.id, "tiny", path, mapping, items_path=items_path)
    d = log_data_from_dataset(store, info.id, valid_fraction=0.2, test_fraction=0.2)
    ref = log_data_from_frames(_events(propensity=prop), ITEMS, valid_fraction=0.2, test_fraction=0.2)
    assert d.name == "tiny" and d.meta["dataset_id"] == info.id
    assert d.user_ids.tolist() == ref.user_ids.tolist() and d.item_ids.tolist() == ref.item_ids.tolist()
    for a, b in ((d.train, ref.train), (d.valid, ref.valid), (d.test, ref.test)):
        assert a.fingerprint() == b.fingerprint()
        assert a.timestamp.tolist() == b.timestamp.tolist()
    assert d.item_text == ref.item_text
    assert d.exposures.exposed.tolist() == ref.exposures.exposed.tolist()


# ------------------------------------------------------------------------------------------ covariate tables

USERS = pd.DataFrame({"user_id": ["u1", "u2", "u9"], "activity": [1.5, 0.5, 9.0], "segment": ["a", "b", "a"],
                      "item_popularity": [1, 2, 3], "note": ["x", "y", "z"]})


def test_covariate_tables_exact():
    d = log_data_from_frames(_events(), ITEMS, users=USERS, valid_fraction=0.2, test_fraction=0.2)
    uc, ic = d.meta["user_covariates"], d.meta["item_covariates"]
    assert len(uc) == d.n_users and len(ic) == d.n_items and d.user_ids.tolist() == ["u1", "u2", "u3"]
    # training window: events before the valid cut (t=4): u1 a@1 b@2 a@3 -> 3 events, u2/u3 none
    assert uc["user_activity"].tolist() == [3.0, 0.0, 0.0]
    assert dict(zip(d.item_ids.tolist(), ic["item_popularity"].tolist(), strict=True)) == {
        "a": 2.0, "b": 1.0, "c": 0.0, "d": 0.0, "e": 0.0, "f": 0.0}
    # side columns: numbers as floats, few-level text as categories; u9 (not in the log) ignored
    assert uc["activity"].tolist()[:2] == [1.5, 0.5] and np.isnan(uc["activity"].iloc[2])
    assert isinstance(uc["segment"].dtype, pd.CategoricalDtype) and uc["segment"].tolist()[:2] == ["a", "b"]
    assert "user_item_popularity" in uc.columns  # a side column named like a derived one is prefixed
    assert ic["price"].tolist()[:3] == [1.0, 2.0, 3.0] and ic["category"].tolist()[:3] == ["fruit", "fruit", "tools"]
    cov = d.meta["covariates"]
    assert cov["renamed"] == {"users.item_popularity": "user_item_popularity"}
    assert "items.title" in cov["skipped"] and "users.note" not in cov["skipped"]  # 3 levels: categorical
    assert cov["item"]["category"] == "categorical" and cov["window"] == "train"


def test_covariates_never_see_valid_or_test_events():
    base = log_data_from_frames(_events(), ITEMS, users=USERS, valid_fraction=0.2, test_fraction=0.2)
    # extra events in the valid and test windows (after the valid cut t=4)
    more = _events(ROWS + [("u2", "a", 9, "view"), ("u3", "c", 10, "exposure"), ("u1", "a", 10, "view")])
    d = log_data_from_frames(more, ITEMS, users=USERS, valid_fraction=0.2, test_fraction=0.2,
                             exposure_window="all")
    assert d.meta["time_cuts"] == base.meta["time_cuts"]
    pd.testing.assert_frame_equal(d.meta["user_covariates"], base.meta["user_covariates"])
    pd.testing.assert_frame_equal(d.meta["item_covariates"], base.meta["item_covariates"])
    # leave-last: per-user cuts
    a = log_data_from_frames(_events(), split="leave-last")
    b = log_data_from_frames(_events(ROWS + [("u1", "d", 11, "view")]), split="leave-last")
    pd.testing.assert_frame_equal(a.meta["user_covariates"], b.meta["user_covariates"])
    # held-out items lose their training popularity
    h = hold_out_items(log_data_from_frames(_events(), ITEMS, valid_fraction=0.2, test_fraction=0.2), 0.5, seed=0)
    held = h.meta["held_out_items"]
    assert (h.meta["item_covariates"]["item_popularity"].iloc[held] == 0).all()


def test_sample_covariates():
    events, items = _sample()
    users = pd.read_csv(SAMPLE / "users.csv")
    d = log_data_from_frames(events, items, users=users)
    uc, ic = d.meta["user_covariates"], d.meta["item_covariates"]
    assert list(uc.columns) == ["user_activity", "activity", "segment"]
    assert list(ic.columns) == ["item_popularity", "category", "price", "popularity"]
    # training-window counts only: fewer than the whole log's events
    assert uc["user_activity"].sum() == ic["item_popularity"].sum() < len(events)
    assert set(uc["segment"].cat.categories) == {"new", "casual", "loyal"}


def test_log_data_from_dataset_covariates(tmp_path):
    from causalrec_core.data.importer import import_dataset
    from causalrec_core.store.store import ProjectStore

    path, items_path, users_path = tmp_path / "log.csv", tmp_path / "items.csv", tmp_path / "users.csv"
    _events().to_csv(path, index=False)
    ITEMS.to_csv(items_path, index=False)
    USERS[["user_id", "activity", "segment"]].to_csv(users_path, index=False)
    store = ProjectStore(tmp_path / "ws")
    project = store.create_project("p")
    mapping = {"user": "user_id", "item": "item_id", "timestamp": "timestamp", "event": "event"}
    info = import_dataset(store, project.id, "tiny", path, mapping, items_path=items_path, users_path=users_path)
    d = log_data_from_dataset(store, info.id, valid_fraction=0.2, test_fraction=0.2)
    uc, ic = d.meta["user_covariates"], d.meta["item_covariates"]
    assert uc["user_activity"].tolist() == [3.0, 0.0, 0.0] and uc["activity"].tolist()[:2] == [1.5, 0.5]
    assert {"item_popularity", "category", "price"} <= set(ic.columns)
    # without side tables the store's whole-log aggregates never become covariates
    info2 = import_dataset(store, project.id, "bare", path, mapping)
    d2 = log_data_from_dataset(store, info2.id, valid_fraction=0.2, test_fraction=0.2)
    assert list(d2.meta["item_covariates"].columns) == ["item_popularity"]
    assert list(d2.meta["user_covariates"].columns) == ["user_activity"]
    assert d2.meta["item_covariates"]["item_popularity"].tolist() == ic["item_popularity"].tolist()[:d2.n_items]
    # ... nor item features (the store's items table holds only whole-log aggregates here)
    assert d2.item_features is None
    assert {"n_events", "n_users"} <= set(d2.meta["item_numeric_skipped"])
    assert d.meta["item_feature_names"][-1] == "price"


def test_store_aggregates_never_become_covariates():
    agg = ITEMS.assign(n_events=[9, 9, 9, 9, 9], n_users=[1, 2, 3, 4, 5], popularity_rank=[1, 2, 3, 4, 5])
    d = log_data_from_frames(_events(), agg, valid_fraction=0.2, test_fraction=0.2)
    assert not {"n_events", "n_users", "popularity_rank"} & set(d.meta["item_covariates"].columns)
    assert "whole-log aggregate" in d.meta["covariates"]["skipped"]["items.n_events"]


# ------------------------------------------------------------------------------------------ item features


def _item_features(items: pd.DataFrame):
    return log_data_from_frames(_events(), items, valid_fraction=0.2, test_fraction=0.2)


def test_numeric_item_features_skip_constant_missing_text_and_aggregates():
    items = ITEMS.assign(
        weight=[2.0, 2.0, 2.0, 2.0, 2.0],  # constant
        rating=[np.nan, np.nan, np.nan, np.nan, 4.0],  # 5 of 6 catalogue items missing
        colour=["red", "green", "red", "blue", "red"],  # text
        n_events=[9, 9, 9, 1, 9], popularity_rank=[1, 2, 3, 4, 5],  # store aggregates: would leak
        added=pd.to_datetime(["2024-01-01"] * 4 + ["2024-02-01"]),
        in_stock=[True, False, True, True, False],  # boolean -> 0/1, standardised
    )
    d = _item_features(items)
    assert d.meta["item_feature_names"] == ["category=fruit", "category=tools", "price", "in_stock"]
    skipped = d.meta["item_numeric_skipped"]
    assert skipped["weight"] == "constant over the catalogue"
    assert skipped["rating"].startswith("mostly missing (5 of 6 items")
    assert skipped["colour"] == "not numeric" and skipped["added"] == "a date/time column"
    assert "whole-log aggregate" in skipped["n_events"] and "whole-log aggregate" in skipped["popularity_rank"]
    assert "title" not in skipped and "category" not in skipped  # text / category columns are used elsewhere
    assert d.meta["item_numeric_columns"]["in_stock"]["transform"] == "none"  # two values: no log1p
    stock = d.item_features[:, 3]
    assert len(set(np.round(stock, 5))) == 3  # two levels and 0 for the item missing from the table
    # the features depend only on the items table, never on the log's events
    more = log_data_from_frames(_events(ROWS + [("u2", "e", 11, "purchase"), ("u3", "f", 12, "click")]), items,
                                valid_fraction=0.2, test_fraction=0.2)
    np.testing.assert_array_equal(more.item_features, d.item_features)


def test_numeric_item_features_without_category_and_skewed_column():
    items = pd.DataFrame({"item_id": list("abcdef"), "sales": [0.0, 1.0, 2.0, 3.0, 10.0, 1000.0],
                          "temp": [-5.0, -1.0, 0.0, 1.0, 2.0, 100.0]})
    d = _item_features(items)
    assert d.item_text is None and d.meta["item_feature_names"] == ["sales", "temp"]
    cols = d.meta["item_numeric_columns"]
    assert cols["sales"]["transform"] == "log1p"  # skewed, non-negative
    assert cols["temp"]["transform"] == "none"  # skewed but with negative values
    x = np.log1p(items["sales"].to_numpy())
    np.testing.assert_allclose(d.item_features[:, 0], (x - x.mean()) / x.std(), rtol=1e-5)
    assert d.meta["item_n_category_features"] == 0
    # no category and no usable numeric column: no features at all
    assert _item_features(pd.DataFrame({"item_id": list("ab"), "title": ["A", "B"]})).item_features is None


def test_junk_in_a_numeric_column_counts_as_missing_and_is_reported():
    # a CSV column read as text: 10 of its 11 non-empty values are numbers (>= MIN_NUMERIC_SHARE), one is
    # junk, and an empty one is just missing
    items = pd.DataFrame({"item_id": list("abcdefghijkl"),
                          "price": ["1.5", "2", " 3 ", "4", "5", "6", "7", "8", "9", "10", "about 9", ""]})
    d = _item_features(items)
    info = d.meta["item_numeric_columns"]["price"]
    assert info["n_non_numeric"] == 1 and info["n_missing"] == 2
    assert any("items.price: 1 value(s) are not numbers (examples: 'about 9')" in w for w in d.meta["warnings"])
    f = d.item_features[:, 0]
    assert np.isfinite(f).all() and f[10] == 0.0 and f[11] == 0.0
    assert f[0] < f[1] < f[2] < f[9]
    # mostly text: not a numeric column at all
    mostly = items.assign(price=["1", "cheap", "dear", "n/a", "x", "y", "z", "w", "v", "u", "t", "s"])
    d = _item_features(mostly)
    assert d.item_features is None and d.meta["item_numeric_skipped"]["price"] == "not numeric"
    # inf in a float column: missing, reported
    d = _item_features(pd.DataFrame({"item_id": list("abcd"), "price": [1.0, 2.0, np.inf, 3.0]}))
    assert d.meta["item_numeric_columns"]["price"]["n_non_numeric"] == 1 and np.isfinite(d.item_features).all()


def test_item_category_features_is_the_one_hot_block():
    from causalrec_core.models.data import Interactions, RecData

    tr = Interactions(user=np.array([0, 1]), item=np.array([0, 1]), value=np.ones(2, np.float32), n_users=2,
                      n_items=2)
    feats = np.array([[1, 0, 0.5], [0, 1, -0.5]], dtype=np.float32)
    d = RecData(kind="log", train=tr, user_ids=np.arange(2), item_ids=np.arange(2), item_features=feats,
                meta={"item_n_category_features": 2})
    assert d.item_category_features.tolist() == [[1, 0], [0, 1]]
    no_meta = RecData(kind="log", train=tr, user_ids=np.arange(2), item_ids=np.arange(2), item_features=feats)
    assert no_meta.item_category_features is feats
    assert RecData(kind="log", train=tr, user_ids=np.arange(2), item_ids=np.arange(2)).item_category_features is None
