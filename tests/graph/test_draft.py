"""Autosaved drafts of an unsaved graph (``causalrec_core.graph.draft``)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from causalrec_core.errors import GraphError
from causalrec_core.graph import draft, model, templates


def test_write_read_round_trip(tmp_path):
    g = templates.build_template("exposure_bias")
    base = model.to_dict(g)
    g2 = model.remove_edge(g, "exposure", "purchase")
    path = draft.draft_path(tmp_path / "projects" / "1")
    assert path.name == draft.DRAFT_FILENAME
    when = datetime(2026, 11, 28, 4, 38, 5, tzinfo=timezone.utc)
    draft.write_draft(path, g2, name="my graph", origin="file 'ex.dot'", base=base, now=when)
    assert not list(path.parent.glob(".*.tmp"))  # written atomically: no temporary file left
    got = draft.read_draft(path)
    assert model.graphs_equal(got.graph, g2) and got.name == "my graph" and got.origin == "file 'ex.dot'"
    assert got.base == base and got.saved_at == when
    assert got.describe() == "'my graph' (4 nodes, 4 edges, from 2026-11-28 04:38 UTC)"


def test_no_draft_and_discard(tmp_path):
    path = draft.draft_path(tmp_path)
    assert draft.read_draft(path) is None
    assert draft.discard_draft(path) is False
    draft.write_draft(path, model.new_graph(), name="g", origin="")
    assert draft.read_draft(path).describe().startswith("'g' (0 nodes, 0 edges, from ")
    assert draft.discard_draft(path) is True and not path.exists()


@pytest.mark.parametrize(("content", "match"), [
    (b'{"format": "causalrec-graph-draft", "vers', "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b'{"hello": 1}', "is not a graph draft"),
    (b'{"format": "causalrec-graph-draft", "version": 99}', "version=99"),
    (b'{"format": "causalrec-graph-draft", "version": 1, "name": "g", "saved_at": "yesterday", "graph": {}}',
     "not an ISO 8601 time"),
    (b'{"format": "causalrec-graph-draft", "version": 1, "name": "g", "saved_at": "2026-01-01T00:00:00",'
     b' "graph": {"nodes": [{"name": "a"}], "edges": [{"source": "a", "target": "b"}]}}', "graph in the draft"),
])
def test_a_corrupted_draft_is_reported_with_the_file_name(tmp_path, content, match):
    path = draft.draft_path(tmp_path)
    path.write_bytes(content)
    with pytest.raises(GraphError, match=match) as info:
        draft.read_draft(path)
    assert str(path) in str(info.value)


def test_the_payload_is_plain_json(tmp_path):
    g = templates.build_template("exposure_bias")
    path = draft.write_draft(draft.draft_path(tmp_path), g, name="x", origin="template")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["format"] == draft.DRAFT_FORMAT and doc["base"] is None and doc["graph"] == model.to_dict(g)
