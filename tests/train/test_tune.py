"""Hyper-parameters are chosen on a validation slice of the training data, never on the test."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from causalrec_core.errors import ParameterError
from causalrec_core.models.coat import load_rating_csv, validation_slice
from causalrec_core.models.data import Interactions
from causalrec_core.train.runner import train_and_evaluate
from causalrec_core.train.tune import grid_configs, tune


def test_grid_configs_is_the_product():
    assert grid_configs({"a": [1, 2], "b": ["x"]}) == [{"a": 1, "b": "x"}, {"a": 2, "b": "x"}]


def test_tune_ignores_the_test_split(rating_csvs):
    data = load_rating_csv(*rating_csvs)
    grid = {"dim": [2, 8], "lr": [0.01, 0.05]}
    sliced = validation_slice(data, 0.1, seed=0)
    chosen, rows = tune("mf", sliced, params={"epochs": 4}, grid=grid, device="cpu")
    assert chosen in grid_configs(grid) and len(rows) == 4
    assert all(np.isfinite(r["score"]) for r in rows)
    t = data.test
    scrambled = Interactions(t.user, t.item, 6 - t.value, t.n_users, t.n_items)  # the opposite test labels
    chosen2, rows2 = tune("mf", replace(sliced, test=scrambled), params={"epochs": 4}, grid=grid, device="cpu")
    assert chosen2 == chosen and [r["score"] for r in rows2] == [r["score"] for r in rows]


def test_fixed_params_are_not_searched(rating_csvs):
    data = validation_slice(load_rating_csv(*rating_csvs), 0.1, seed=0)
    chosen, rows = tune("mf", data, params={"epochs": 2, "dim": 3}, grid={"dim": [2, 8], "lr": [0.01]}, device="cpu")
    assert chosen == {"lr": 0.01} and len(rows) == 1


def test_tune_needs_a_validation_split(rating_csvs):
    with pytest.raises(ParameterError, match="validation split"):
        tune("mf", load_rating_csv(*rating_csvs), grid={"dim": [2]})


def test_train_with_tune_reports_the_choice(rating_csvs):
    train, test = rating_csvs
    res = train_and_evaluate("mf", {"source": "csv", "train": str(train), "test": str(test)},
                             params={"epochs": 2}, seed=1, device="cpu", tune=True)
    assert res["tuning"]["chosen"] in grid_configs(res["tuning"]["grid"])
    assert res["tuning"]["scored_on"] == "validation slice of the training data"
    for k, v in res["tuning"]["chosen"].items():
        assert res["params"][k] == v


def test_tune_reports_each_configuration_and_can_be_cancelled(rating_csvs):
    from causalrec_core.models.base import TrainingCancelled

    sliced = validation_slice(load_rating_csv(*rating_csvs), 0.1, seed=0)
    grid = {"dim": [2, 4], "lr": [0.01]}
    events = []
    chosen, rows = tune("mf", sliced, params={"epochs": 2}, grid=grid, device="cpu", on_config=events.append)
    assert [(e["config"], e["n_configs"]) for e in events] == [(1, 2), (2, 2)]
    assert [e["params"] for e in events] == grid_configs(grid)
    assert [e["score"] for e in events] == [r["score"] for r in rows]
    calls = []

    def stop_after_first() -> bool:
        calls.append(1)
        return len(events) >= 3  # the first configuration of this second search has reported

    with pytest.raises(TrainingCancelled, match="before configuration 2 of 2"):
        tune("mf", sliced, params={"epochs": 2}, grid=grid, device="cpu", on_config=events.append,
             should_stop=stop_after_first)
    assert len(events) == 3 and calls


def test_a_resumed_tuned_run_reuses_the_saved_choice(rating_csvs, tmp_path, monkeypatch):
    spec = {"source": "csv", "train": str(rating_csvs[0]), "test": str(rating_csvs[1])}
    seen = []
    first = train_and_evaluate("mf", spec, params={"epochs": 2}, seed=0, device="cpu", run_dir=tmp_path / "run",
                               tune=True, on_tune=seen.append)
    assert seen and seen[-1]["config"] == seen[-1]["n_configs"]
    assert (tmp_path / "run" / "tuning.json").is_file()

    def no_tuning(*a, **kw):
        raise AssertionError("a resumed run must not tune again")

    monkeypatch.setattr("causalrec_core.train.tune.tune", no_tuning)
    again = train_and_evaluate("mf", spec, params={"epochs": 2}, seed=0, device="cpu", run_dir=tmp_path / "run",
                               tune=True, resume=True)
    assert again["tuning"]["chosen"] == first["tuning"]["chosen"]
    assert again["params"] == first["params"]


def test_within_user_criterion_cross_validates_on_the_training_data_only(rating_csvs):
    from causalrec_core.evaluate.metrics import within_user_auc
    from causalrec_core.train.tune import _within_user_cv

    data = load_rating_csv(*rating_csvs)
    sliced = validation_slice(data, 0.1, seed=0)
    grid = {"dim": [2, 8]}
    chosen, rows = tune("mf", sliced, params={"epochs": 3}, grid=grid, device="cpu", criterion="within-user", folds=3)
    assert chosen in grid_configs(grid) and all(0 < r["score"] < 1 for r in rows)
    assert rows[int(np.argmax([r["score"] for r in rows]))]["params"] == chosen
    t = data.test
    scrambled = Interactions(t.user, t.item, 6 - t.value, t.n_users, t.n_items)
    _, rows2 = tune("mf", replace(sliced, test=scrambled), params={"epochs": 3}, grid=grid, device="cpu",
                    criterion="within-user", folds=3)
    assert [r["score"] for r in rows2] == [r["score"] for r in rows]  # the test plays no part
    # the score is the within-user AUC over every training rating (slice included), each scored once out of fold
    seen = []
    import causalrec_core.evaluate.metrics as metrics

    def spy(users, labels, scores, weights=None):
        seen.append((np.asarray(users), np.asarray(labels), np.asarray(scores)))
        return within_user_auc(users, labels, scores, weights)

    orig = metrics.within_user_auc
    metrics.within_user_auc = spy
    try:
        value = _within_user_cv("mf", {"epochs": 3, "dim": 2}, sliced, folds=3, seed=0, device="cpu", should_stop=None)
    finally:
        metrics.within_user_auc = orig
    (users, labels, scores), = seen
    assert len(users) == len(sliced.train) + len(sliced.valid) == len(data.train)
    assert np.all(scores != 0) and value == pytest.approx(within_user_auc(users, labels, scores)[0])


def test_within_user_criterion_is_for_ratings_and_checks_its_folds(rating_csvs):
    sliced = validation_slice(load_rating_csv(*rating_csvs), 0.1, seed=0)
    with pytest.raises(ParameterError, match="criterion"):
        tune("mf", sliced, grid={"dim": [2]}, criterion="ndcg")
    with pytest.raises(ParameterError, match="folds"):
        tune("mf", sliced, grid={"dim": [2]}, criterion="within-user", folds=1)
    log = replace(sliced, kind="log")
    with pytest.raises(ParameterError, match="rating data"):
        tune("popularity", log, criterion="within-user")


def test_train_with_the_within_user_criterion_says_so(rating_csvs):
    train, test = rating_csvs
    res = train_and_evaluate("mf", {"source": "csv", "train": str(train), "test": str(test)},
                             params={"epochs": 2, "lr": 0.01, "weight_decay": 0.001}, seed=1, device="cpu", tune=True,
                             tune_criterion="within-user")
    assert res["tuning"]["criterion"] == "within-user"
    assert res["tuning"]["scored_on"].startswith("within-user AUC of 5-fold cross-validated scores")
    assert res["tuning"]["chosen"] in grid_configs({"dim": [4, 16]})
