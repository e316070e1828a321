"""AppTest checks of the Data page: the long-tail caption, the profile footer, and the messages of
imports that cannot work (a single-column file, invalid JSON lines, an unmapped role)."""

from __future__ import annotations

import re

from tests.ui.conftest import Upload, open_page, with_uploads


def _errors(at) -> list[str]:
    return [e.value.replace("\\", "") for e in at.error]


def test_long_tail_caption_puts_each_share_under_its_label(workspace):
    at = open_page("pages/data.py")
    from causalrec_core.store import ProjectStore

    store = ProjectStore(workspace)
    ds = store.get_dataset(at.selectbox(key="dataset_picker").value)
    shares = ds.profile["top_share"]
    # the profile went through the store: its keys come back sorted, not in 1 / 10 / 20 order
    assert list(shares) != ["top_1pct", "top_10pct", "top_20pct"]
    caption = next(c.value for c in at.caption if "Share of all events held by the top" in c.value)
    m = re.search(r"top 1% / 10% / 20% of items: ([\d.]+)% / ([\d.]+)% / ([\d.]+)%", caption)
    assert m, caption
    shown = [float(x) for x in m.groups()]
    assert shown == [round(100 * shares[k], 1) for k in ("top_1pct", "top_10pct", "top_20pct")], (caption, shares)
    assert shown[0] <= shown[1] <= shown[2]


def test_profile_footer_shows_a_readable_save_time(workspace):
    at = open_page("pages/data.py")
    footer = next(c.value for c in at.caption if "content hash" in c.value)
    assert re.search(r"saved \d{4}-\d\d-\d\d \d\d:\d\d UTC\.$", footer), footer
    assert "+00:00" not in footer


def test_single_column_upload_names_the_missing_columns(workspace, monkeypatch):
    with_uploads(monkeypatch, {"log_upload": Upload("onecol.csv", b"user_id\nu1\nu2\nu3\n")})
    at = open_page("pages/data.py")
    assert not at.error, _errors(at)
    assert any("single column" in w.value for w in at.warning), [w.value for w in at.warning]
    at.button(key="imp_go").click().run()
    assert not at.exception, at.exception
    errors = _errors(at)
    assert len(errors) == 1, errors
    assert "'onecol.csv' has a single column ('user_id')" in errors[0], errors
    assert "the item and timestamp columns are missing" in errors[0], errors
    assert "Choose the delimiter" not in errors[0] and "Only one column found" not in errors[0], errors


def test_invalid_json_upload_is_not_read_as_csv(workspace, monkeypatch):
    with_uploads(monkeypatch, {"log_upload": Upload("notcsv.json", b'{"a": 1,\n')})
    at = open_page("pages/data.py")
    errors = _errors(at)
    assert len(errors) == 1 and "'notcsv.json' is not valid JSON lines: line 1: " in errors[0], errors
    assert not any(c.value.startswith("Detected: csv") for c in at.caption)
    assert not any("Map the columns" in m.value for m in at.markdown)


def test_unmapped_role_error_has_no_cli_syntax(workspace, monkeypatch):
    data = b"user_id,item_id,timestamp\nu1,i1,2024-01-01T00:00:00Z\nu2,i2,2024-01-02T00:00:00Z\n"
    with_uploads(monkeypatch, {"log_upload": Upload("log.csv", data)})
    at = open_page("pages/data.py")
    item = next(s for s in at.selectbox if s.label == "item")
    assert item.value == "item_id"
    item.set_value("— none —").run()
    at.button(key="imp_go").click().run()
    assert not at.exception, at.exception
    errors = _errors(at)
    assert len(errors) == 1 and "No column is mapped to the item id (role 'item')" in errors[0], errors
    assert "--map" not in errors[0] and "Map one of them to the role 'item'." in errors[0], errors


def test_columns_table_has_no_internal_column_and_counts_timestamps(workspace):
    at = open_page("pages/data.py")
    quality = next(df.value for df in at.dataframe if "missing_share" in df.value.columns)
    assert "flags" not in set(quality["column"])
    assert any("`flags` column" in c.value or "flags column" in c.value.replace("`", "") for c in at.caption)
    assert quality.set_index("column").loc["timestamp", "distinct"] > 0
    report = next(df.value for df in at.dataframe if "rule" in df.value.columns and "detail" in df.value.columns)
    assert list(report.columns).index("detail") < list(report.columns).index("description")


def test_local_times_are_imported_in_the_time_zone_given(workspace, monkeypatch):
    log = b"user_id,item_id,timestamp,event\nu1,i1,01/06/2024 02:02,view\nu2,i2,02/06/2024 10:00,purchase\n"
    with_uploads(monkeypatch, {"log_upload": Upload("paris.csv", log)})
    at = open_page("pages/data.py")
    at.text_input(key="clean_time_zone").set_value("Mars/Olympus").run()
    at.button(key="imp_go").click().run()
    assert any("is not a time zone name" in e for e in _errors(at)), _errors(at)
    at.text_input(key="clean_time_zone").set_value("Europe/Paris").run()
    at.button(key="imp_go").click().run()
    assert not at.exception and not at.error, _errors(at)
    from causalrec_core.store import ProjectStore

    store = ProjectStore(workspace)
    ds = next(d for p in store.list_projects() for d in store.list_datasets(p.id) if d.name == "paris")
    assert ds.profile["time_min"].startswith("2024-06-01T00:02")  # 02:02 in Paris (summer) is 00:02 UTC
    assert ds.cleaning_report["time_parse"].endswith("read as Europe/Paris time and converted to UTC")


def test_bot_threshold_sentence_and_time_zone_note_are_in_view(workspace):
    at = open_page("pages/data.py")
    captions = [c.value.replace("\\", "") for c in at.caption]
    bots = next((c for c in captions if c.startswith("Bot-like users: ")), None)
    assert bots is not None, captions
    assert re.fullmatch(r"Bot-like users: [\d,]+ users? with more than [\d,]+ events \(automatic threshold: .+\)\.",
                        bots), bots
    parsed = next(c for c in captions if c.startswith("Timestamps parsed as"))
    assert "timestamps without an offset were read as UTC time" in parsed, parsed


def test_data_charts_have_short_titles_the_toolbar_cannot_cover(workspace):
    from causalrec_core.store import ProjectStore
    from ui import charts

    at = open_page("pages/data.py")
    p = ProjectStore(workspace).get_dataset(at.selectbox(key="dataset_picker").value).profile
    figs = {"funnel": charts.funnel(p), "time": charts.events_over_time(p), "tail": charts.popularity_long_tail(p),
            "lorenz": charts.lorenz(p), "users": charts.user_activity(p)}
    for name, fig in figs.items():
        assert len(fig.layout.title.text) <= 40, (name, fig.layout.title.text)
        if fig.layout.title.subtitle.text:  # a subtitle line needs room above the plot
            assert fig.layout.margin.t >= 70, name
    users = figs["users"].layout.title.subtitle.text
    q = p["user_activity"]["quantiles"]
    assert users == (f"median {q['p50']:,.0f}, 90th percentile {q['p90']:,.0f}, "
                     f"most active user {p['user_activity']['max']:,}")
    assert figs["tail"].layout.yaxis.dtick == 1 and figs["tail"].layout.yaxis.type == "log"


def test_non_english_event_labels_are_suggested_and_unknown_ones_named(workspace, monkeypatch):
    log = ("user_id,item_id,timestamp,event\nu1,i1,2024-06-01 10:00,Détail\nu1,i1,2024-06-01 10:01,panier\n"
           "u2,i2,2024-06-01 11:00,Warenkorb\nu2,i2,2024-06-01 11:05,compra\nu3,i3,2024-06-01 12:00,zorg\n")
    with_uploads(monkeypatch, {"log_upload": Upload("fr.csv", log.encode())})
    at = open_page("pages/data.py")
    assert not at.exception and not at.error, _errors(at)
    table = next(df.value for df in at.dataframe if "canonical event" in df.value.columns)  # the event map editor
    mapped = dict(zip(table["label"], table["canonical event"], strict=True))
    assert mapped == {"compra": "purchase", "détail": "view", "panier": "cart", "warenkorb": "cart",
                      "zorg": "(unknown)"}, mapped
    warnings = [w.value.replace("\\", "") for w in at.warning]
    assert any("1 event label is not recognised and will become 'other'" in w and "'zorg'" in w
               and "panier" not in w for w in warnings), warnings
