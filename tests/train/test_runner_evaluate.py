"""runner.evaluate on an event log: observed and unbiased (SNIPS) top-k metrics with their intervals."""

from __future__ import annotations

import numpy as np

from causalrec_core.evaluate.metrics import mean_ci
from causalrec_core.models.data import Interactions, RecData
from causalrec_core.models.registry import make_model
from causalrec_core.train.runner import evaluate


def _log(seed: int = 0, n_users: int = 300, n_items: int = 60) -> RecData:
    rng = np.random.default_rng(seed)
    pop = rng.zipf(1.6, size=n_items).astype(float)
    p = pop / pop.sum()

    def part(n: int) -> Interactions:
        return Interactions(user=rng.integers(0, n_users, size=n), item=rng.choice(n_items, size=n, p=p),
                            value=np.ones(n, np.float32), n_users=n_users, n_items=n_items)

    return RecData(kind="log", train=part(3000), test=part(600), user_ids=np.arange(n_users),
                   item_ids=np.arange(n_items))


def test_snips_interval_brackets_the_estimate_and_resamples_the_normaliser():
    data = _log()
    model = make_model("popularity").fit(data)
    m = evaluate(model, data, seed=3)
    assert m["ips"]["estimator"] == "snips"
    for key in ("ndcg@10", "recall@10", "hr@10", "ndcg@10_ips", "recall@10_ips"):
        lo, hi = m["ci95"][key]
        assert lo <= m[key] <= hi, key
    # the SNIPS interval is not the one of the per-user values with the normaliser held fixed
    from causalrec_core.evaluate.unbiased import ips_topk_metrics, item_observation_propensity

    ips = ips_topk_metrics(model, data.test, exclude=data.train, clip=0.05, per_user=True,
                           propensity=item_observation_propensity(data.train, data.n_items, eta=0.5))
    assert ips["ndcg@10_ips"] == m["ndcg@10_ips"]
    fixed = mean_ci(ips["per_user"]["ndcg@10_ips"], seed=3)[1:]
    assert list(fixed) != m["ci95"]["ndcg@10_ips"]
    assert evaluate(model, data, seed=3) == m  # seeded


def test_beyond_accuracy_uses_the_category_block_not_the_numeric_attributes():
    data = _log(seed=1)
    rng = np.random.default_rng(0)
    onehot = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=data.n_items)]
    numeric = rng.normal(size=(data.n_items, 2)).astype(np.float32)
    from dataclasses import replace

    with_attrs = replace(data, item_features=np.hstack([onehot, numeric]), meta={"item_n_category_features": 4})
    only_cats = replace(data, item_features=onehot)
    model = make_model("popularity").fit(with_attrs)
    a = evaluate(model, with_attrs, ci=False)["beyond"]
    b = evaluate(model, only_cats, ci=False)["beyond"]
    assert "categories_per_list" in a and a == b


def test_rating_metrics_all_carry_user_resampled_intervals(tmp_path):
    from causalrec_core.models.coat import load_rating_csv, validation_slice

    from .conftest import write_rating_csvs

    train, test = write_rating_csvs(tmp_path, n_users=60, n_items=40)
    data = validation_slice(load_rating_csv(train, test), 0.1, seed=0)
    model = make_model("mf", epochs=2, device="cpu").fit(data)
    m = evaluate(model, data, seed=2)
    for key in ("auc", "ndcg@5", "recall@5", "mse", "ndcg@5_pos_users", "recall@5_pos_users"):
        lo, hi = m["ci95"][key]
        assert lo <= m[key] <= hi, key
    # users without a positive count as 1 in the headline: leaving them out can only lower it
    assert m["ndcg@5_pos_users"] <= m["ndcg@5"]
    assert 0 < m["ndcg@5_random"] < 1 and 0 < m["recall@5_random"] <= 1
    assert evaluate(model, data, seed=2) == m
