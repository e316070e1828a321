"""Plotly figures show users' strings as written (Plotly renders a few HTML tags in labels); small view helpers."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from ui import train_view as tv
from ui.charts import plot_text, segment_effects


def test_plot_text_escapes_the_tags_plotly_would_render():
    assert plot_text("<b>bold</b> & co") == "&lt;b&gt;bold&lt;/b&gt; &amp; co"
    assert plot_text(3) == "3"


def _run(i, name, model="m"):
    return SimpleNamespace(id=i, status="completed", metrics={"ndcg@10": 0.1 * i}, name=name, model=model,
                           config={"data": {"source": "dataset", "dataset_id": 1}})


def test_comparison_chart_escapes_run_names_and_keeps_runs_that_share_a_name_apart():
    runs = [_run(1, "<b>bold</b> run"), _run(2, "same"), _run(3, "same")]
    fig = tv.comparison_chart(runs, {}, key="ndcg@10", like=runs[0])
    ticks = [y for trace in fig.data for y in trace.y]
    assert ticks == ["&lt;b&gt;bold&lt;/b&gt; run", "same (run 2)", "same (run 3)"]
    assert "'&lt;b&gt;bold&lt;/b&gt; run'" in fig.layout.title.text


def test_segment_chart_escapes_segment_names_but_finds_their_truth():
    by = pd.DataFrame({"segment": ["<i>a</i>", "b"], "mean": [0.1, 0.2], "ci_low": [0.0, 0.1], "ci_high": [0.2, 0.3]})
    fig = segment_effects(by, "ATE by <segment>", truth={"<i>a</i>": 0.15, "b": 0.25})
    assert list(fig.data[0].x) == ["&lt;i&gt;a&lt;/i&gt;", "b"]
    assert list(fig.data[1].y) == [0.15, 0.25]
    assert fig.layout.title.text == "ATE by &lt;segment&gt;"


def test_device_says_auto_is_not_a_device_yet():
    assert tv.device_text(SimpleNamespace(device="auto", status="running")) == "auto (chosen when it starts)"
    assert tv.device_text(SimpleNamespace(device="auto", status="failed")) == "auto (never chose one)"
    assert tv.device_text(SimpleNamespace(device="cuda", status="running")) == "cuda"


def test_score_format_gives_one_number_of_decimals_per_column():
    assert tv.score_format([0.3561, 0.271, 0.27]) == "%.4f"
    assert tv.score_format([1234.5, 3.0]) == "%.0f"
    assert tv.score_format([0.00012, -0.00003]) == "%.7f"
    assert tv.score_format([0.0, float("nan")]) == "%.4f"


def test_long_tail_title_is_short_and_log_axes_label_powers_of_ten():
    from ui.charts import popularity_long_tail

    profile = {"popularity_curve": [[1, 500], [2, 120], [10, 30], [100, 2]], "gini_items": 0.5471,
               "top_share": {"top_10pct": 0.532}}
    fig = popularity_long_tail(profile)
    assert fig.layout.title.text == "Item popularity long tail"
    assert fig.layout.title.subtitle.text == "Gini 0.547; the top 10% of items hold 53.2% of the events"
    assert fig.layout.xaxis.dtick == 1 and fig.layout.yaxis.dtick == 1


def test_funnel_of_a_profile_stored_with_fav_as_a_step_is_read_with_todays_steps():
    from ui import charts

    # as an older version stored it: sorted keys, fav a step, purchase's rate "of fav"
    old = {"events": {"cart": 50, "fav": 40, "purchase": 46, "view": 200},
           "funnel": {"cart": 0.25, "fav": 0.8, "purchase": 1.15, "view": 1.0},
           "funnel_users": {"cart": 20, "fav": 15, "purchase": 18, "view": 60}}
    assert charts.funnel_steps(old) == ["view", "cart", "purchase"]
    frame = charts.funnel_frame(old)
    assert frame["conversion from previous step"].tolist() == [1.0, 0.25, 0.92]  # purchase of cart, not of fav
    assert frame["users with this event"].tolist() == [60, 20, 18]
    fig = charts.funnel(old)
    assert list(fig.data[0].y) == ["view", "cart", "purchase"]
    assert "92.0% of cart, 23.0% of view" in fig.data[0].text[2]
    assert charts.side_action_text(old) == ("Not a funnel step (a favourite is not on the way to a purchase): "
                                            "fav: 40 events by 15 users (20.0% of view events).")
    assert [e for e, _ in charts.events_in_order(old)] == ["view", "cart", "purchase", "fav"]
    one = {"events": {"view": 1, "fav": 1}, "side_actions": {"fav": {"events": 1, "users": 1}}}
    assert charts.funnel(one).data[0].text[0] == "view: 1 event"
    assert charts.side_action_text(one).endswith("fav: 1 event by 1 user (100.0% of view events).")
    new = {"events": {"exposure": 100, "view": 20}, "funnel_users": {"exposure": 9, "view": 5}, "side_actions": {}}
    assert charts.funnel_frame(new)["share of exposure events"].tolist() == [1.0, 0.2]
    assert charts.side_action_text(new) == ""


def test_cleaning_options_in_words():
    from ui import charts

    assert charts.options_text({"bot_threshold": None}).startswith("Bot threshold: automatic;")
    assert charts.options_text({"bot_threshold": 1500}).startswith("Bot threshold: 1,500 events per user, set by hand;")
