"""The Recommendations page (AppTest): k items with computed explanations for a known user, a
cold-start note for an unknown one; runs on behaviour logs and on rating files."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from causalrec_core.sample import ensure_sample_project
from causalrec_core.store import ProjectStore
from causalrec_core.train import jobs
from tests.train.conftest import write_rating_csvs
from tests.ui.conftest import open_page

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "pages/recommend.py"


def _page() -> AppTest:
    return open_page(PAGE)


@pytest.fixture
def trained(workspace):
    store = ProjectStore(workspace)
    project = ensure_sample_project(store)
    ds = store.list_datasets(project.id)[-1]
    run = jobs.start_run(store, project.id, "item-knn", data={"source": "dataset", "dataset_id": ds.id},
                         device="cpu")
    done = jobs.wait_run(store, run.id, timeout=240)
    assert done.status == "completed", jobs.tail_log(done)
    return store, done


def _table(at):
    return next(df.value for df in at.dataframe if "why" in df.value.columns)


def test_no_completed_run_says_where_to_train(workspace):
    at = _page()
    assert [t.value for t in at.title] == ["Recommendations"]
    assert any("Train page" in i.value for i in at.info)


def test_known_user_gets_k_explained_items(trained):
    at = _page()
    assert at.selectbox(key="rec_run").value == trained[1].id
    user = at.selectbox(key="rec_user_example").value
    at.number_input(key="rec_k").set_value(7).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    table = _table(at)
    assert len(table) == 7
    assert table["rank"].tolist() == list(range(1, 8))
    assert {"item_id", "title", "category", "score"} <= set(table.columns)
    assert table["title"].notna().all()
    assert table["score"].is_monotonic_decreasing
    # item-knn: the most similar item of the user's history, with the similarity
    assert all(w.startswith(("Similar to", "None of your items")) for w in table["why"]), list(table["why"])
    assert any("similarity" in w for w in table["why"])
    assert any(f"'{user}' has" in c.value.replace("\\", "") for c in at.caption)
    assert not any("cold-start" in i.value.replace("\\", "") for i in at.info)


def test_unknown_user_is_a_cold_start_user(trained):
    at = _page()
    at.text_input(key="rec_user_text").input("someone-new").run()
    assert not at.exception, at.exception
    assert any("cold-start user" in i.value.replace("\\", "") for i in at.info)
    table = _table(at)
    assert len(table) == 10
    assert all("fallback for users without history" in w for w in table["why"])


def test_causal_model_shows_its_metric_label_and_clipping(workspace):
    store = ProjectStore(workspace)
    project = ensure_sample_project(store)
    ds = store.list_datasets(project.id)[-1]
    run = jobs.start_run(store, project.id, "sasrec-ips", data={"source": "dataset", "dataset_id": ds.id},
                         params={"epochs": 2, "hidden": 16, "n_layers": 1, "max_len": 10}, device="cpu", seed=1)
    done = jobs.wait_run(store, run.id, timeout=240)
    assert done.status == "completed", jobs.tail_log(done)
    at = _page()
    assert not at.error, [e.value for e in at.error]
    captions = [c.value.replace("\\", "") for c in at.caption]
    n = done.metrics["n_test_users"]
    assert any(c.startswith(f"Test NDCG@10 {done.metrics['ndcg@10']:.4f} (95% CI ") and f"mean over {n:,} test users"
               in c and "not debiased" in c for c in captions), captions
    clip = next(df.value for df in at.dataframe if "figure" in df.value.columns)
    figures = dict(zip(clip["figure"], clip["value"], strict=True))
    assert figures["lower clipping bound"] == "0.05" and int(figures["propensities clipped"]) >= 0
    table = _table(at)
    assert all(w.startswith("Predicted as your next item") for w in table["why"]), list(table["why"])
    at.text_input(key="rec_user_text").input("someone-new").run()
    assert not at.exception, at.exception
    assert all(w.startswith("Ranked by the fallback for users without history") for w in _table(at)["why"])


def test_switching_user_or_k_reuses_the_loaded_model(trained, monkeypatch):
    import os

    from causalrec_core.train import runner
    from ui import train_view as tv

    loads = []
    real = runner.load_trained
    monkeypatch.setattr(runner, "load_trained", lambda *a, **kw: loads.append(a[0]) or real(*a, **kw))
    tv.load_run_model.clear()
    at = _page()
    assert len(loads) == 1
    at.number_input(key="rec_k").set_value(4).run()
    at.text_input(key="rec_user_text").input("someone-new").run()
    at.text_input(key="rec_user_text").input("").run()
    examples = at.selectbox(key="rec_user_example").options
    at.selectbox(key="rec_user_example").set_value(examples[-1]).run()
    assert not at.exception, at.exception
    assert len(_table(at)) == 4
    assert len(loads) == 1, loads
    # a rewritten run file (here job.json, newer by a second) is a new cache key: the model is loaded again
    job = trained[1].run_dir / "job.json"
    mtime = job.stat().st_mtime_ns + 10**9
    os.utime(job, ns=(mtime, mtime))
    at.run()
    assert not at.exception, at.exception
    assert len(loads) == 2, loads


@pytest.fixture
def rating_run(workspace, tmp_path):
    """A completed mf-ips run on rating files; 'newbie' is a user of the test file only."""
    store = ProjectStore(workspace)
    project = ensure_sample_project(store)
    train, test = write_rating_csvs(tmp_path, n_users=60, n_items=40)
    with test.open("a") as f:
        f.write("newbie,i1,4\nnewbie,i2,2\n")
    run = jobs.start_run(store, project.id, "mf-ips",
                         data={"source": "csv", "train": str(train), "test": str(test), "threshold": 3.0},
                         params={"epochs": 2}, seed=0, device="cpu")
    done = jobs.wait_run(store, run.id, timeout=240)
    assert done.status == "completed", jobs.tail_log(done)
    ratings = {}  # user -> {item: rating} of the training file
    for line in train.read_text().splitlines()[1:]:
        u, i, r = line.split(",")
        ratings.setdefault(u, {})[i] = float(r)
    return done, ratings


def _clean(texts):
    return [t.replace("\\", "") for t in texts]


def test_rating_run_speaks_of_ratings(rating_run):
    import re

    done, ratings = rating_run
    at = _page()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    m = done.metrics
    box = at.selectbox(key="rec_run")
    assert box.value == done.id
    assert box.options == [f"{done.name} · mf-ips (causal) · test NDCG@5 {m['ndcg@5']:.4f} · AUC {m['auc']:.4f}"]
    captions = _clean(c.value for c in at.caption)
    head = next(c for c in captions if c.startswith("Test NDCG@5"))
    assert head.startswith(f"Test NDCG@5 {m['ndcg@5']:.4f} (95% CI "), head
    assert f"; AUC {m['auc']:.4f} (95% CI " in head and "over all test pairs" in head
    assert "assigned to users at random" in head and "logged behaviour" not in head and "not debiased" not in head

    # the user picker and the caption count the same rated items, and say how many are positive
    user = at.selectbox(key="rec_user_example").value
    rated = ratings[user]
    n_pos = sum(r > 3 for r in rated.values())
    assert f"{user} ({len(rated)} rated items)" in at.selectbox(key="rec_user_example").options
    assert (f"'{user}' rated {len(rated)} items in the training data ({n_pos} positive, rating > 3); items they "
            "already rated are not recommended again.") in captions, captions
    table = _table(at)
    assert len(table) == 10 and not set(table["item_id"]) & set(rated)

    # explanations: computed from the learned factors, per user and item, never about "recent" items
    why = table["why"].tolist()
    assert len(set(why)) == len(why), why
    for text in why:
        assert "recent" not in text.lower(), text
        assert "1/propensity" in text, text
        named = re.match(r"Its learned item vector is closest to that of (i\d+), which you rated (\d)", text)
        assert named, text
        assert ratings[user][named[1]] == float(named[2]) > 3, text  # one of the user's positives
        score = float(re.search(r"score (-?[0-9.]+) =", text)[1])
        assert abs(score - table.loc[table["why"] == text, "score"].iloc[0]) < 0.006, text

    # the history: every rated item with its rating, positives first
    assert [e.label for e in at.expander if "rated" in e.label] == [f"Training items {user} rated"]
    history = next(df.value for df in at.dataframe if "rating" in df.value.columns)
    assert dict(zip(history["item_id"], history["rating"], strict=True)) == rated
    assert history["rating"].is_monotonic_decreasing
    assert history["positive"].tolist() == sorted((r > 3 for r in rated.values()), reverse=True)
    assert not any("Recent training items" in e.label for e in at.expander)

    # another user gets other explanations
    other = next(o for o in at.selectbox(key="rec_user_example").options if not o.startswith(f"{user} "))
    at.selectbox(key="rec_user_example").set_value(other.split(" (")[0]).run()
    assert not at.exception, at.exception
    assert not set(_table(at)["why"]) & set(why)


def test_rating_run_cold_start_user(rating_run):
    at = _page()
    for user in ("newbie", "someone-new"):  # a user of the test file only, an unknown id
        at.text_input(key="rec_user_text").input(user).run()
        assert not at.exception, at.exception
        assert any(f"'{user}' is not a user of the training data: a cold-start user" in i
                   for i in _clean(i.value for i in at.info)), [i.value for i in at.info]
        table = _table(at)
        assert len(table) == 10
        assert all(w.startswith("Ranked by the fallback for users without history: ") and "(ratings > 3)" in w
                   for w in table["why"]), list(table["why"])
        assert not any(e.label.startswith("Training items") for e in at.expander)
