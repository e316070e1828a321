"""Tests of the ground-truth simulator: determinism, closed-form truth, confounding, schema, I/O.

Statistical checks use tolerances of 4 standard errors computed from the sample itself.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from causalrec_core.data.schema import CANONICAL_EVENTS
from causalrec_core.errors import ParameterError
from causalrec_core.simulate import (
    CATEGORY_NAMES,
    SEGMENTS,
    Simulation,
    SimulationConfig,
    simulate,
    simulate_interventional,
    simulate_to_dir,
    write_simulation,
)
from causalrec_core.simulate.catalog import CATEGORIES

EVENT_COLUMNS = [
    "user_id", "item_id", "timestamp", "event", "value", "exposed", "position", "propensity",
]
TINY = {"n_users": 60, "n_items": 40, "candidates_per_user": 15}


@pytest.fixture(scope="module")
def sim() -> Simulation:
    """The default-size simulation (2000 users, 500 items, 60 candidates), seed 0."""
    return simulate(seed=0)


@pytest.fixture(scope="module")
def pair_times(sim: Simulation) -> pd.DataFrame:
    """First timestamp of each event kind per (user, item) pair, one column per event kind."""
    ev = sim.events.assign(ts=pd.to_datetime(sim.events["timestamp"], utc=True))
    return ev.groupby(["user_id", "item_id", "event"])["ts"].min().unstack("event")


# ----------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_frames() -> None:
    a = simulate(seed=7, **TINY)
    b = simulate(seed=7, **TINY)
    for name in ("events", "users", "items", "pairs"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert json.dumps(a.truth, sort_keys=True) == json.dumps(b.truth, sort_keys=True)


def test_different_seed_gives_different_data() -> None:
    a = simulate(seed=7, **TINY)
    b = simulate(seed=8, **TINY)
    assert not a.events.equals(b.events)
    assert not a.pairs["propensity"].equals(b.pairs["propensity"])
    assert a.truth["ate_exposure_purchase"] != b.truth["ate_exposure_purchase"]


def test_config_object_and_overrides_agree() -> None:
    cfg = SimulationConfig(seed=7, **TINY)
    a = simulate(config=cfg)
    b = simulate(TINY["n_users"], TINY["n_items"], seed=7, candidates_per_user=15)
    pd.testing.assert_frame_equal(a.events, b.events)
    assert a.config == b.config == cfg


# ------------------------------------------------------------------------- closed-form truth


def _mc_mean(draws: np.ndarray) -> tuple[float, float]:
    """Mean over pairs and draws, with its SE from the spread of the per-draw means."""
    per_draw = draws.mean(axis=1)
    return float(per_draw.mean()), float(per_draw.std(ddof=1) / math.sqrt(len(per_draw)))


@pytest.mark.parametrize("outcome", ["purchase", "view"])
def test_closed_form_matches_interventional_monte_carlo(sim: Simulation, outcome: str) -> None:
    y1 = simulate_interventional(sim, 1, n_draws=60, seed=11, outcome=outcome)
    y0 = simulate_interventional(sim, 0, n_draws=60, seed=12, outcome=outcome)
    m1, se1 = _mc_mean(y1)
    m0, se0 = _mc_mean(y0)
    p = sim.pairs
    # each arm's level checks the product formula (and the exact marginalisation of fav) ...
    assert abs(m1 - p[f"p_{outcome}_treated"].mean()) < 4 * se1
    assert abs(m0 - p[f"p_{outcome}_control"].mean()) < 4 * se0
    # ... and the difference checks the reported ATE
    truth = sim.truth["ate_exposure_purchase" if outcome == "purchase" else "ate_exposure_view"]
    assert abs((m1 - m0) - truth) < 4 * math.hypot(se1, se0)


def test_ate_by_segment_matches_monte_carlo(sim: Simulation) -> None:
    y1 = simulate_interventional(sim, 1, n_draws=60, seed=21)
    y0 = simulate_interventional(sim, 0, n_draws=60, seed=22)
    segment = sim.pairs["segment"].to_numpy()
    for seg in SEGMENTS:
        mask = segment == seg
        m1, se1 = _mc_mean(y1[:, mask])
        m0, se0 = _mc_mean(y0[:, mask])
        assert abs((m1 - m0) - sim.truth["ate_by_segment"][seg]) < 4 * math.hypot(se1, se0)


def test_truth_aggregates_are_consistent_with_pairs(sim: Simulation) -> None:
    p, t = sim.pairs, sim.truth
    np.testing.assert_allclose(p["uplift"], p["p_purchase_treated"] - p["p_purchase_control"])
    assert t["ate_exposure_purchase"] == pytest.approx(p["uplift"].mean(), rel=1e-9)
    assert t["att_exposure_purchase"] == pytest.approx(
        p.loc[p["exposed"] == 1, "uplift"].mean(), rel=1e-9
    )
    by_seg = p.groupby("segment")["uplift"].mean()
    for seg in SEGMENTS:
        assert t["ate_by_segment"][seg] == pytest.approx(by_seg[seg], rel=1e-9)
    assert t["ate_exposure_view"] == pytest.approx(
        (p["p_view_treated"] - p["p_view_control"]).mean(), rel=1e-9
    )
    assert (p["uplift"] > 0).all()  # exposure only ever raises the chance of viewing


def test_naive_difference_is_confounded(sim: Simulation) -> None:
    p, t = sim.pairs, sim.truth
    y1 = p.loc[p["exposed"] == 1, "purchased"]
    y0 = p.loc[p["exposed"] == 0, "purchased"]
    naive = y1.mean() - y0.mean()
    se = math.sqrt(y1.var(ddof=1) / len(y1) + y0.var(ddof=1) / len(y0))
    assert naive == pytest.approx(t["naive_difference"], rel=1e-9)
    assert naive - t["ate_exposure_purchase"] > 4 * se
    assert naive >= 1.5 * t["ate_exposure_purchase"]


def test_default_rates_are_in_the_tuned_ranges(sim: Simulation) -> None:
    rates = sim.truth["rates"]
    assert 0.15 <= rates["exposure"] <= 0.30
    assert 0.10 <= rates["view"] <= 0.25
    assert 0.01 <= rates["purchase"] <= 0.03


def test_ate_differs_by_segment(sim: Simulation) -> None:
    ate = sim.truth["ate_by_segment"]
    assert set(ate) == set(SEGMENTS)
    assert ate["new"] > ate["casual"] > ate["loyal"] > 0
    assert ate["new"] > 1.5 * ate["loyal"]


def test_truth_is_json_serialisable(sim: Simulation) -> None:
    text = json.dumps(sim.truth, allow_nan=False, sort_keys=True)
    back = json.loads(text)
    assert back["seed"] == 0
    assert back["config"]["n_users"] == 2000
    for key in (
        "ate_exposure_purchase", "att_exposure_purchase", "ate_by_segment", "ate_exposure_view",
        "naive_difference", "dag", "description",
    ):
        assert key in back


def test_numpy_scalar_arguments_keep_truth_json_serialisable() -> None:
    s = simulate(np.int64(60), np.int32(40), seed=np.int64(2), candidates_per_user=np.int64(15))
    assert isinstance(s.config.n_users, int)
    json.dumps(s.truth, allow_nan=False)


# ---------------------------------------------------------------------------------- the DAG


def _graph(truth: dict) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(n["name"] for n in truth["dag"]["nodes"])
    g.add_edges_from(truth["dag"]["edges"])
    return g


def test_dag_is_acyclic_with_treatment_and_outcome(sim: Simulation) -> None:
    dag = sim.truth["dag"]
    g = _graph(sim.truth)
    assert len(g) == len(dag["nodes"])  # edges name known nodes only
    assert nx.is_directed_acyclic_graph(g)
    roles = {n["name"]: n["role"] for n in dag["nodes"]}
    assert roles["exposure"] == "treatment"
    assert roles["purchase"] == "outcome"
    assert roles["user_activity"] == roles["item_popularity"] == "confounder"
    assert {roles[m] for m in ("view", "click", "cart")} == {"mediator"}
    assert nx.has_path(g, "exposure", "purchase")


def test_dag_columns_exist_and_latent_nodes_have_none(sim: Simulation) -> None:
    columns = set(sim.pairs.columns) | set(sim.users.columns) | set(sim.items.columns)
    for node in sim.truth["dag"]["nodes"]:
        if node["observed"]:
            assert node["column"] in columns, node
        else:
            assert node["column"] is None
    latent = {n["name"] for n in sim.truth["dag"]["nodes"] if not n["observed"]}
    assert {"interest", "quality"} <= latent


def _is_backdoor_set(g: nx.DiGraph, z: set[str]) -> bool:
    if z & nx.descendants(g, "exposure"):
        return False
    cut = g.copy()
    cut.remove_edges_from(list(g.out_edges("exposure")))
    return nx.is_d_separator(cut, {"exposure"}, {"purchase"}, z)


def test_valid_adjustment_sets_satisfy_the_backdoor_criterion(sim: Simulation) -> None:
    g = _graph(sim.truth)
    sets = [set(s) for s in sim.truth["valid_adjustment_sets"]]
    assert {"user_activity", "item_popularity"} in sets
    assert all(_is_backdoor_set(g, z) for z in sets)
    assert not _is_backdoor_set(g, set())  # the naive comparison is confounded


def test_latent_interest_makes_observed_confounders_insufficient() -> None:
    t = simulate(seed=1, alpha_interest=0.3, **TINY).truth
    g = _graph(t)
    assert g.has_edge("interest", "propensity")
    assert not _is_backdoor_set(g, {"user_activity", "item_popularity"})
    assert t["valid_adjustment_sets"] == [["propensity"]]
    assert _is_backdoor_set(g, {"propensity"})


# ------------------------------------------------------------------------------ events log


def test_events_columns_labels_and_types(sim: Simulation) -> None:
    ev = sim.events
    assert list(ev.columns) == EVENT_COLUMNS
    assert set(ev["event"]) <= set(CANONICAL_EVENTS)
    assert set(ev["event"]) == {"exposure", "view", "click", "cart", "fav", "purchase"}
    assert ev["user_id"].str.fullmatch(r"u\d{5}").all()
    assert ev["item_id"].str.fullmatch(r"i\d{5}").all()
    assert ((ev["propensity"] > 0) & (ev["propensity"] <= 1)).all()
    assert set(ev["exposed"].unique()) <= {0, 1}
    assert not ev.duplicated().any()


def test_timestamps_parse_are_sorted_and_lie_in_the_window(sim: Simulation) -> None:
    ts = sim.events["timestamp"]
    assert ts.str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
    parsed = pd.to_datetime(ts, format="%Y-%m-%dT%H:%M:%SZ", utc=True)
    assert parsed.notna().all()
    assert parsed.is_monotonic_increasing
    start = pd.Timestamp("2024-01-01", tz="UTC")
    assert parsed.min() >= start
    assert parsed.max() < start + pd.Timedelta(days=31)  # 30 days + the last session's tail


def test_value_and_position_columns(sim: Simulation) -> None:
    ev = sim.events
    has_value = ev["event"].isin(["cart", "purchase"])
    assert ev["value"].notna().eq(has_value).all()
    price = sim.items.set_index("item_id")["price"]
    np.testing.assert_array_equal(
        ev.loc[has_value, "value"].to_numpy(), price.loc[ev.loc[has_value, "item_id"]].to_numpy()
    )
    assert ev["position"].notna().eq(ev["exposed"] == 1).all()
    assert ev["position"].dropna().between(1, sim.config.slate_size).all()


def test_exposure_rows_exist_exactly_for_exposed_pairs(sim: Simulation) -> None:
    ev, p = sim.events, sim.pairs
    exp_rows = ev[ev["event"] == "exposure"]
    assert not exp_rows.duplicated(["user_id", "item_id"]).any()
    shown = set(zip(exp_rows["user_id"], exp_rows["item_id"], strict=True))
    exposed = p[p["exposed"] == 1]
    assert shown == set(zip(exposed["user_id"], exposed["item_id"], strict=True))
    # the exposed flag and the propensity on every row agree with the pair table
    merged = ev.merge(p[["user_id", "item_id", "exposed", "propensity"]], on=["user_id", "item_id"],
                      suffixes=("", "_pair"), validate="many_to_one")
    assert len(merged) == len(ev)
    assert (merged["exposed"] == merged["exposed_pair"]).all()
    np.testing.assert_array_equal(merged["propensity"], merged["propensity_pair"])


def test_funnel_order_per_pair(pair_times: pd.DataFrame) -> None:
    has = pair_times.notna()
    assert (~has["purchase"] | has["cart"]).all()
    assert (~has["fav"] | has["cart"]).all()
    assert (~has["cart"] | has["click"]).all()
    assert (~has["click"] | has["view"]).all()

    def before(a: str, b: str) -> None:
        both = has[a] & has[b]
        assert both.any()
        assert (pair_times.loc[both, a] < pair_times.loc[both, b]).all(), (a, b)

    for a, b in [("exposure", "view"), ("view", "click"), ("click", "cart"), ("cart", "fav"),
                 ("cart", "purchase"), ("fav", "purchase")]:
        before(a, b)


def test_pair_indicators_match_the_events(sim: Simulation, pair_times: pd.DataFrame) -> None:
    p = sim.pairs.set_index(["user_id", "item_id"])
    steps = {"viewed": "view", "clicked": "click", "carted": "cart", "favourited": "fav",
             "purchased": "purchase"}
    for column, event in steps.items():
        logged = pair_times[event].notna().reindex(p.index, fill_value=False)
        assert (logged.astype(int) == p[column]).all(), column


def test_repeat_views_and_activity_driven_sessions(sim: Simulation) -> None:
    views = sim.events[sim.events["event"] == "view"]
    assert views.duplicated(["user_id", "item_id"]).any()  # organic repeat views exist
    ev = sim.events.assign(day=sim.events["timestamp"].str[:10])
    days = ev.groupby("user_id")["day"].nunique()
    activity = sim.users.set_index("user_id")["activity"].reindex(days.index)
    assert days.corr(activity, method="spearman") > 0.3


def test_users_items_and_pairs_tables(sim: Simulation) -> None:
    assert list(sim.users.columns) == ["user_id", "activity", "segment"]
    assert set(sim.users["segment"]) == set(SEGMENTS)
    assert (sim.users["activity"] > 0).all()
    assert list(sim.items.columns) == ["item_id", "category", "price", "title", "popularity"]
    assert set(sim.items["category"]) <= set(CATEGORY_NAMES[: sim.config.n_categories])
    nouns = {c.name: c.nouns for c in CATEGORIES}
    for category, title in zip(sim.items["category"], sim.items["title"], strict=True):
        assert title.endswith(nouns[category]), (category, title)
    p = sim.pairs
    assert len(p) == sim.config.n_users * sim.config.candidates_per_user
    assert not p.duplicated(["user_id", "item_id"]).any()
    for col in ("user_id", "item_id", "segment", "exposed", "propensity", "p_purchase_treated",
                "p_purchase_control", "uplift", "purchased", "user_activity", "item_popularity"):
        assert col in p.columns


def test_more_than_one_block_and_custom_sizes() -> None:
    s = simulate(2100, 30, seed=5, candidates_per_user=5, days=3, n_categories=4)
    assert len(s.users) == 2100
    assert s.users["user_id"].is_unique
    assert s.pairs.groupby("user_id").size().eq(5).all()
    parsed = pd.to_datetime(s.events["timestamp"], utc=True)
    assert parsed.max() < pd.Timestamp("2024-01-04", tz="UTC") + pd.Timedelta(hours=8)


# ------------------------------------------------------------------------------------- I/O


def test_write_simulation_files_round_trip(tmp_path: Path) -> None:
    s = simulate(seed=3, **TINY)
    paths = write_simulation(s, tmp_path / "out")
    assert set(paths) == {"events", "users", "items", "pairs", "truth", "readme"}
    assert all(p.is_file() for p in paths.values())
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.endswith(".tmp")]
    back = pd.read_csv(paths["events"], dtype={"position": "Int64", "exposed": "int64"})
    pd.testing.assert_frame_equal(back, s.events, check_dtype=False)
    text = paths["truth"].read_text()
    assert text == json.dumps(s.truth, indent=2, sort_keys=True) + "\n"
    pd.testing.assert_frame_equal(pd.read_parquet(paths["pairs"]), s.pairs, check_dtype=False)
    pd.testing.assert_frame_equal(pd.read_csv(paths["items"]), s.items, check_dtype=False)
    assert "ATE" in paths["readme"].read_text()


def test_simulate_to_dir_matches_simulate_and_write(tmp_path: Path) -> None:
    args = {"n_users": 2100, "n_items": 30, "seed": 4, "candidates_per_user": 5}
    a = write_simulation(simulate(**args), tmp_path / "a")
    seen: list[tuple[int, int]] = []
    b = simulate_to_dir(tmp_path / "b", progress=lambda done, total: seen.append((done, total)),
                        **args)
    assert seen == [(1, 2), (2, 2)]
    for key in ("events", "users", "items", "truth", "readme"):
        assert a[key].read_bytes() == b[key].read_bytes(), key
    pd.testing.assert_frame_equal(pd.read_parquet(a["pairs"]), pd.read_parquet(b["pairs"]))


# ----------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"n_users": 5}, "n_users"),
        ({"n_items": 9}, "n_items"),
        ({"n_items": 20, "candidates_per_user": 21}, "candidates_per_user"),
        ({"candidates_per_user": 0}, "candidates_per_user"),
        ({"days": 0}, "days"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"seed": "0"}, "seed"),
        ({"n_users": True}, "n_users"),
        ({"n_categories": 99}, "n_categories"),
        ({"propensity_min": 0.0}, "propensity_min"),
        ({"activity_log_sd": -1.0}, "activity_log_sd"),
        ({"start": "yesterday"}, "start"),
        ({"not_a_field": 1}, "not_a_field"),
    ],
)
def test_bad_arguments_raise_parameter_error(kwargs: dict, param: str) -> None:
    with pytest.raises(ParameterError, match=param):
        simulate(**kwargs)


def test_bad_config_type_raises() -> None:
    with pytest.raises(ParameterError, match="config"):
        simulate(config={"n_users": 10})


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"exposure": 2}, "exposure"),
        ({"exposure": 1, "outcome": "rating"}, "outcome"),
        ({"exposure": 1, "n_draws": 0}, "n_draws"),
        ({"exposure": 1, "seed": -3}, "seed"),
    ],
)
def test_bad_interventional_arguments(kwargs: dict, param: str) -> None:
    s = simulate(seed=0, **TINY)
    with pytest.raises(ParameterError, match=param):
        simulate_interventional(s, **kwargs)


def test_write_simulation_rejects_a_file_as_folder(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(ParameterError, match="out_dir"):
        write_simulation(simulate(seed=0, **TINY), target)
    with pytest.raises(ParameterError, match="sim"):
        write_simulation("not a simulation", tmp_path / "x")  # type: ignore[arg-type]
