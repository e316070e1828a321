"""The Recommendations page (AppTest): k items with computed explanations for a known user (the
item-specific part first, what all rows share in one caption), a cold-start note for an unknown one
saying what the fallback's scores are; runs on behaviour logs and on rating files."""

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


def _captions(at):
    return [c.value.replace("\\", "") for c in at.caption]


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
    captions = _captions(at)
    assert any(c.startswith(f"User '{user}' has ") and "item(s)" not in c for c in captions), captions
    # which events count: the log's positives by name, and that views and exposures do not
    assert any(c.startswith(f"User '{user}' has ") and "with a training positive (click, cart, fav or purchase; "
               "views and exposures are not positives); those items are not recommended again." in c
               for c in captions), captions
    assert [h.value.replace("\\", "") for h in at.subheader] == [f"Top 7 for user '{user}'"]
    assert not any(c.startswith("For every row") for c in captions)  # item-knn: every row names its own item
    assert any(c.startswith("Scores are the model's (item-knn) ranking scores") for c in captions)
    assert not any("cold-start" in i.value.replace("\\", "") for i in at.info)


def test_unknown_user_is_a_cold_start_user(trained):
    at = _page()
    at.text_input(key="rec_user_text").input("someone-new").run()
    assert not at.exception, at.exception
    assert any("User 'someone-new' is not a user of the training data: a cold-start user" in i.value.replace("\\", "")
               for i in at.info)
    table = _table(at)
    assert len(table) == 10
    # each row: the item's own figure; the fallback and what its scores are: once, above and below the table
    for score, text in zip(table["score"], table["why"], strict=True):
        assert text.startswith(f"{score:,.0f} training positive"), text
    captions = _captions(at)
    assert any(c.startswith("For every row: User 'someone-new' has no training history the model learned from, so "
                            "every item is ranked by the cold-start fallback: the scores are numbers of training "
                            "positives.") for c in captions), captions
    assert any(c.startswith("Scores are numbers of training positives: the cold-start fallback of item-knn.")
               for c in captions), captions
    # item-knn is not causal: nothing to say about debiasing (the test-metric caption speaks of the model)
    assert not any("ranking scores" in c or ("debiased" in c and not c.startswith("Test ")) for c in captions), captions


def test_causal_model_shows_its_metric_label_and_clipping(workspace):
    import re

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
    # the Train page's table: the same rows in the same order, from the clipping the run stored
    from ui import train_view as tv

    assert figures["propensity source"] == done.metrics["clip_report"]["source"]
    assert clip.to_dict("list") == tv.clip_report_frame(done).to_dict("list")
    # rows: the item-specific part first (the transitions into the item, or its training positives)
    table = _table(at)
    for text in table["why"]:
        assert re.match(r"(Cold item \(.*\); )?(\d[\d,]* training users? went from .* directly to it \(of its "
                        r"[\d,]+ training positives?\)|[\d,]+ training positives?; no training user went from your "
                        r"\d most recent items? directly to it)\.$", text), text
        assert "most recent items, newest first" not in text and "propensity" not in text, text
    # what every row shares: the user's recent items and the debiased loss, once
    user = at.selectbox(key="rec_user_example").value
    note = next(c for c in _captions(at) if c.startswith("For every row: "))
    assert note.startswith(f"For every row: Predicted as the next item of user '{user}' from their most recent "
                           "items, newest first: "), note
    assert "Scores learned from a next-item loss reweighted by 1/propensity (self-normalised; " in note, note
    at.text_input(key="rec_user_text").input("someone-new").run()
    assert not at.exception, at.exception
    table = _table(at)
    for score, text in zip(table["score"], table["why"], strict=True):
        assert text.startswith(f"{score:,.0f} training positive"), text
    captions = _captions(at)
    assert any(c.startswith("Scores are numbers of training positives: the cold-start fallback of sasrec-ips, not "
                            "debiased.") for c in captions), captions
    assert any("the scores are numbers of training positives, not debiased (sasrec-ips's reweighting by "
               "1/propensity applies only" in c for c in captions), captions
    assert not any("ranking scores" in c for c in captions), captions


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
    items = "1 item" if len(rated) == 1 else f"{len(rated)} items"
    assert f"user '{user}' ({len(rated)} rated {items.split(' ')[1]})" in at.selectbox(key="rec_user_example").options
    assert (f"User '{user}' rated {items} in the training data ({n_pos} positive, rating > 3); items they "
            "already rated are not recommended again.") in captions, captions
    table = _table(at)
    assert len(table) == 10 and not set(table["item_id"]) & set(rated)

    # explanations: computed from the learned factors, per user and item, never about "recent" items; the
    # item-specific part first, the debiasing note (the same for every row) once above the table
    why = table["why"].tolist()
    assert len(set(why)) == len(why), why
    note = next(c for c in captions if c.startswith("For every row: "))
    assert note.startswith("For every row: Scores learned from a loss reweighted by 1/propensity ("), note
    for text in why:
        assert "recent" not in text.lower(), text
        assert "1/propensity" not in text, text
        named = re.match(r"Closest to item '(i\d+)', which you rated (\d) \(cosine ", text)
        assert named, text
        assert ratings[user][named[1]] == float(named[2]) > 3, text  # one of the user's positives
        score = float(re.search(r"score (-?[0-9.]+) =", text)[1])
        assert abs(score - table.loc[table["why"] == text, "score"].iloc[0]) < 0.006, text

    # the history: every rated item with its rating, positives first
    assert [e.label for e in at.expander if "rated" in e.label] == [f"Training items rated by user '{user}'"]
    history = next(df.value for df in at.dataframe if "rating" in df.value.columns)
    assert dict(zip(history["item_id"], history["rating"], strict=True)) == rated
    assert history["rating"].is_monotonic_decreasing
    assert history["positive"].tolist() == sorted((r > 3 for r in rated.values()), reverse=True)
    assert not any("Recent training items" in e.label for e in at.expander)

    # another user gets other explanations
    box = at.selectbox(key="rec_user_example")
    other = next(i for i, o in enumerate(box.options) if not o.startswith(f"user '{user}' "))
    box.select_index(other).run()
    assert at.selectbox(key="rec_user_example").value != user
    assert not at.exception, at.exception
    assert not set(_table(at)["why"]) & set(why)


def test_rating_run_cold_start_user(rating_run):
    at = _page()
    for user in ("newbie", "someone-new"):  # a user of the test file only, an unknown id
        at.text_input(key="rec_user_text").input(user).run()
        assert not at.exception, at.exception
        assert any(f"User '{user}' is not a user of the training data: a cold-start user" in i
                   for i in _clean(i.value for i in at.info)), [i.value for i in at.info]
        table = _table(at)
        assert len(table) == 10
        for score, text in zip(table["score"], table["why"], strict=True):
            assert text.startswith(f"Score {score:.3f} for an average training user; "), text
            assert "training positive" in text and "by popularity" in text
        captions = _clean(c.value for c in at.caption)
        assert any(c.startswith("Scores are the model's scores for an average training user (the mean over its "
                                "training users): the cold-start fallback of mf-ips, learned under its debiased "
                                "loss.") for c in captions), captions
        assert not any("ranking scores" in c for c in captions), captions
        assert not any(e.label.startswith("Training items") for e in at.expander)
