"""`causalrec graph adjust | discover | check | convert`: JSON output and clear errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from causalrec_core.cli import EXIT_BAD_INPUT, main
from causalrec_core.graph.formats import read_graph

DAGITTY = "dag {\n U [latent]\n T [exposure]\n Y [outcome]\n U -> T\n U -> Y\n T -> M\n M -> Y\n Z -> T\n}\n"


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def frontdoor_file(tmp_path):
    p = tmp_path / "g.dagitty"
    p.write_text(DAGITTY)
    return p


def test_adjust_frontdoor_json(capsys, frontdoor_file):
    out = _json(capsys, ["graph", "adjust", "--graph", str(frontdoor_file), "--treatment", "T",
                         "--outcome", "Y", "--json"])
    assert out["backdoor_sets"] == []
    assert out["frontdoor_sets"] == [["M"]]
    assert out["identifiable"] is True
    assert [i["instrument"] for i in out["instruments"]] == ["Z"]


def test_adjust_not_identifiable_says_why(capsys, tmp_path):
    p = tmp_path / "g.json"
    p.write_text(json.dumps({"format": "causalrec-graph", "version": 1,
                             "nodes": [{"name": "U", "latent": True, "role": "latent"}, {"name": "T"}, {"name": "Y"}],
                             "edges": [{"source": "U", "target": "T"}, {"source": "U", "target": "Y"},
                                       {"source": "T", "target": "Y"}]}))
    out = _json(capsys, ["graph", "adjust", "--graph", str(p), "--treatment", "T", "--outcome", "Y", "--json"])
    assert out["identifiable"] is False
    assert "U" in out["reason"]


@pytest.mark.parametrize("ext", ["json", "dot", "gml", "dagitty"])
def test_convert_round_trip(capsys, frontdoor_file, tmp_path, ext):
    target = tmp_path / f"out.{ext}"
    assert main(["graph", "convert", str(frontdoor_file), str(target)]) == 0
    g0, g1 = read_graph(frontdoor_file), read_graph(target)
    assert set(g0.edges) == set(g1.edges)
    assert g1.nodes["U"]["latent"] is True


def _units(tmp_path, n=4000, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = rng.normal(size=n)
    t = 0.8 * a + 0.5 * b + rng.normal(size=n)
    y = 0.7 * t + 0.6 * a + rng.normal(size=n)
    p = tmp_path / "units.csv"
    pd.DataFrame({"a": a, "b": b, "t": t, "y": y}).to_csv(p, index=False)
    return p


def test_discover_and_check(capsys, tmp_path):
    data = _units(tmp_path)
    out = _json(capsys, ["graph", "discover", "--data", str(data), "--method", "pc", "--tiers", "a,b;t;y",
                         "--stability", "5", "--out", str(tmp_path / "learned.json"), "--json"])
    pairs = {(e["source"], e["target"]) for e in out["edges"]}
    assert {("a", "t"), ("b", "t"), ("t", "y"), ("a", "y")} <= pairs
    assert all(0.0 <= s["freq_any"] <= 1.0 for s in out["stability"])
    learned = read_graph(tmp_path / "learned.json")
    assert set(learned.nodes) == {"a", "b", "t", "y"}
    # the learned graph is consistent with the data it came from
    check = _json(capsys, ["graph", "check", "--graph", str(tmp_path / "learned.json"), "--data", str(data), "--json"])
    assert check["verdict"]["verdict"] == "consistent"


def test_check_finds_a_wrong_graph(capsys, tmp_path):
    data = _units(tmp_path)
    wrong = tmp_path / "wrong.dagitty"
    wrong.write_text("dag { a -> t  b -> t  t -> y }")  # misses the strong a -> y edge
    check = _json(capsys, ["graph", "check", "--graph", str(wrong), "--data", str(data), "--json"])
    assert check["verdict"]["verdict"] == "inconsistent"
    assert any(r["rejected"] for r in check["tests"])


@pytest.mark.parametrize("argv,needle", [
    (["graph", "adjust", "--graph", "missing.json", "--treatment", "T", "--outcome", "Y"], "missing.json"),
    (["graph", "convert", "in.txt", "out.xyz"], "in.txt"),
])
def test_errors_are_one_line(capsys, tmp_path, monkeypatch, argv, needle):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("error:") and needle in err and "Traceback" not in err


def test_bad_node_and_bad_column(capsys, frontdoor_file, tmp_path):
    assert main(["graph", "adjust", "--graph", str(frontdoor_file), "--treatment", "nope", "--outcome", "Y"]) == 2
    assert "nope" in capsys.readouterr().err
    data = _units(tmp_path)
    assert main(["graph", "discover", "--data", str(data), "--columns", "a,zzz"]) == 2
    assert "zzz" in capsys.readouterr().err
