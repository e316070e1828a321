"""Identification on textbook graphs with known answers, and the enumeration of minimal
adjustment sets cross-checked against brute force on random small DAGs."""

from __future__ import annotations

import itertools
import json
import random

import networkx as nx
import pytest

from causalrec_core.errors import GraphError, ParameterError
from causalrec_core.graph.identify import (
    Identification,
    backdoor_sets,
    format_path,
    frontdoor_sets,
    identify,
    instruments,
    is_backdoor_set,
    minimal_backdoor_set,
    optimal_adjustment_set,
    paths_for_drawing,
)


def graph(edges, latent=()):
    g = nx.DiGraph(edges)
    for u in latent:
        g.nodes[u]["latent"] = True
    return nx.freeze(g)


def fs(*names):
    return frozenset(names)


CONFOUNDER = graph([("Z", "T"), ("Z", "Y"), ("T", "Y")])
MEDIATOR = graph([("T", "M"), ("M", "Y")])
COLLIDER = graph([("T", "C"), ("Y", "C"), ("T", "Y")])
M_BIAS = graph([("A", "T"), ("A", "M"), ("B", "M"), ("B", "Y"), ("T", "Y")])
BUTTERFLY = graph([("A", "T"), ("A", "M"), ("B", "M"), ("B", "Y"), ("M", "T"), ("M", "Y"), ("T", "Y")])
FRONTDOOR = graph([("U", "T"), ("U", "Y"), ("T", "M"), ("M", "Y")], latent=["U"])
INSTRUMENT = graph([("Z", "T"), ("T", "Y"), ("U", "T"), ("U", "Y")], latent=["U"])
LATENT_CONFOUNDER = graph([("U", "T"), ("U", "Y"), ("T", "Y")], latent=["U"])
COND_INSTRUMENT = graph([("W", "Z"), ("Z", "T"), ("T", "Y"), ("W", "Y"), ("U", "T"), ("U", "Y")], latent=["U"])
NO_EFFECT = graph([("A", "T"), ("A", "Y")])

# graph, minimal sets (sorted by size, names), estimand, frontdoor sets, instruments
TEXTBOOK = {
    "confounder": (CONFOUNDER, [fs("Z")], "backdoor", [], []),
    "mediator": (MEDIATOR, [fs()], "backdoor", [fs("M")], []),
    "collider": (COLLIDER, [fs()], "backdoor", [], []),
    "m_bias": (M_BIAS, [fs()], "backdoor", [], ["A", "M"]),
    "butterfly": (BUTTERFLY, [fs("A", "M"), fs("B", "M")], "backdoor", [], ["A"]),
    "frontdoor": (FRONTDOOR, [], "frontdoor", [fs("M")], []),
    "instrument": (INSTRUMENT, [], "iv", [], ["Z"]),
    "latent_confounder": (LATENT_CONFOUNDER, [], None, [], []),
    "conditional_instrument": (COND_INSTRUMENT, [], "iv", [], ["Z"]),
}


@pytest.mark.parametrize("name", TEXTBOOK)
def test_textbook_graphs(name):
    g, sets, estimand, front, ivs = TEXTBOOK[name]
    assert backdoor_sets(g, "T", "Y") == sets
    assert frontdoor_sets(g, "T", "Y") == front
    assert [d["instrument"] for d in instruments(g, "T", "Y")] == ivs
    res = identify(g, "T", "Y")
    assert res.estimand == estimand
    assert res.identifiable is (estimand is not None)
    assert res.backdoor_sets == [sorted(s) for s in sets]
    assert not res.effect_is_zero
    assert ["T", "Y"] in res.causal_paths or ["T", "M", "Y"] in res.causal_paths


def test_invalid_sets_in_textbook_graphs():
    assert not is_backdoor_set(COLLIDER, "T", "Y", {"C"})          # a descendant of T
    assert not is_backdoor_set(M_BIAS, "T", "Y", {"M"})            # opens T ← A → M ← B → Y
    for valid in ({"A", "M"}, {"B", "M"}, {"A", "B", "M"}, {"A"}, set()):
        assert is_backdoor_set(M_BIAS, "T", "Y", valid)
    assert not is_backdoor_set(BUTTERFLY, "T", "Y", {"M"})
    assert is_backdoor_set(BUTTERFLY, "T", "Y", {"A", "B", "M"})
    assert not is_backdoor_set(FRONTDOOR, "T", "Y", set())


def test_latent_confounder_reason_names_the_open_path():
    res = identify(LATENT_CONFOUNDER, "T", "Y")
    assert not res.identifiable and res.estimand is None
    assert "T ← U → Y" in res.reason and "unobserved node U" in res.reason
    assert "no frontdoor set or instrument" in res.reason
    assert res.open_backdoor_paths == [["T", "U", "Y"]]


def test_descendant_blocker_is_named():
    # the only path T ← A → D → Y with D a child of T too: D cannot be adjusted, A is latent
    g = graph([("A", "T"), ("A", "D"), ("T", "D"), ("D", "Y"), ("T", "Y")], latent=["A"])
    res = identify(g, "T", "Y")
    assert not res.identifiable
    assert "unobserved node A" in res.reason and "D, which is a descendant of the treatment" in res.reason


def test_not_an_ancestor_means_zero_effect():
    res = identify(NO_EFFECT, "T", "Y")
    assert res.identifiable and res.effect_is_zero and res.estimand is None
    assert res.causal_paths == [] and "zero" in res.notes[0]
    reverse = identify(graph([("Y", "T")]), "T", "Y")
    assert reverse.identifiable and reverse.effect_is_zero and reverse.backdoor_sets == []


def test_minimal_and_optimal_sets():
    assert minimal_backdoor_set(CONFOUNDER, "T", "Y") == fs("Z")
    assert minimal_backdoor_set(BUTTERFLY, "T", "Y") in (fs("A", "M"), fs("B", "M"))
    assert minimal_backdoor_set(LATENT_CONFOUNDER, "T", "Y") is None
    # O-set = parents of the causal nodes minus forbidden: the outcome's other causes are kept
    g = graph([("Z", "T"), ("Z", "Y"), ("W", "Y"), ("T", "M"), ("M", "Y"), ("V", "M"), ("T", "Y")])
    assert optimal_adjustment_set(g, "T", "Y") == fs("V", "W", "Z")
    assert optimal_adjustment_set(BUTTERFLY, "T", "Y") == fs("B", "M")
    assert optimal_adjustment_set(M_BIAS, "T", "Y") == fs("B")
    assert optimal_adjustment_set(FRONTDOOR, "T", "Y") is None        # contains U
    assert optimal_adjustment_set(NO_EFFECT, "T", "Y") is None
    assert "unobserved" in " ".join(identify(FRONTDOOR, "T", "Y").notes)


def test_conditional_instrument_reports_its_conditioning_set():
    assert instruments(COND_INSTRUMENT, "T", "Y") == [{"instrument": "Z", "conditioning_set": ["W"]}]
    assert instruments(INSTRUMENT, "T", "Y") == [{"instrument": "Z", "conditioning_set": []}]


def test_frontdoor_needs_every_causal_path_intercepted():
    g = graph([("U", "T"), ("U", "Y"), ("T", "M"), ("M", "Y"), ("T", "Y")], latent=["U"])
    assert frontdoor_sets(g, "T", "Y") == []
    g2 = graph([("U", "T"), ("U", "Y"), ("T", "M1"), ("M1", "Y"), ("T", "M2"), ("M2", "Y")], latent=["U"])
    assert frontdoor_sets(g2, "T", "Y") == [fs("M1", "M2")]
    g3 = graph([("U", "T"), ("U", "Y"), ("T", "M"), ("M", "Y"), ("V", "M"), ("V", "Y")], latent=["U", "V"])
    assert frontdoor_sets(g3, "T", "Y") == []                         # M ← V → Y is not blocked by T


def test_to_dict_is_json_serialisable():
    res = identify(BUTTERFLY, "T", "Y")
    assert isinstance(res, Identification)
    d = json.loads(json.dumps(res.to_dict()))
    expected_keys = {"identifiable", "backdoor_sets", "optimal_set", "frontdoor_sets", "instruments", "reason",
                     "causal_paths", "open_backdoor_paths", "treatment", "outcome"}
    assert expected_keys <= set(d)
    assert d["backdoor_sets"] == [["A", "M"], ["B", "M"]] and d["optimal_set"] == ["B", "M"]
    assert d["treatment"] == "T" and d["reason"] is None
    assert ["T", "M", "Y"] in d["open_backdoor_paths"]


def test_paths_for_drawing():
    out = paths_for_drawing(BUTTERFLY, "T", "Y")
    assert out["causal_edges"] == {("T", "Y")}
    assert out["open_backdoor_edges"] == {("A", "T"), ("A", "M"), ("M", "T"), ("M", "Y"), ("B", "M"), ("B", "Y")}
    adjusted = paths_for_drawing(BUTTERFLY, "T", "Y", adjustment={"M"})
    assert adjusted["open_backdoor_edges"] == {("A", "T"), ("A", "M"), ("B", "M"), ("B", "Y")}
    assert paths_for_drawing(BUTTERFLY, "T", "Y", adjustment={"A", "M"})["open_backdoor_edges"] == set()
    assert paths_for_drawing(MEDIATOR, "T", "Y")["causal_edges"] == {("T", "M"), ("M", "Y")}
    assert format_path(FRONTDOOR, ["T", "U", "Y"]) == "T ← U → Y"


def test_functions_do_not_mutate_frozen_graphs():
    for g, *_ in TEXTBOOK.values():
        identify(g, "T", "Y")
        paths_for_drawing(g, "T", "Y")
        assert nx.is_frozen(g)


def test_bounds_on_enumeration():
    # T ← Ai → Bi → Y for 6 independent chains: 2^6 minimal sets (one of Ai, Bi from each chain)
    edges = [("T", "Y")]
    for i in range(6):
        edges += [(f"A{i}", "T"), (f"A{i}", f"B{i}"), (f"B{i}", "Y")]
    g = graph(edges)
    sets = backdoor_sets(g, "T", "Y", max_sets=1000)
    assert len(sets) == 64 and all(len(s) == 6 for s in sets)
    assert sets == sorted(sets, key=lambda s: sorted(s))
    assert len(backdoor_sets(g, "T", "Y", max_sets=5)) == 5
    assert backdoor_sets(g, "T", "Y", max_size=5) == []
    assert "64 minimal adjustment sets" in " ".join(identify(g, "T", "Y").notes)


@pytest.mark.parametrize("call", [
    lambda: identify(CONFOUNDER, "T", "missing"),
    lambda: identify(CONFOUNDER, "nope", "Y"),
    lambda: backdoor_sets(LATENT_CONFOUNDER, "U", "Y"),
    lambda: identify(graph([("T", "A"), ("A", "T"), ("A", "Y")]), "T", "Y"),
    lambda: paths_for_drawing(CONFOUNDER, "T", "Y", adjustment={"Q"}),
])
def test_graph_errors(call):
    with pytest.raises(GraphError):
        call()


@pytest.mark.parametrize("call", [
    lambda: identify(CONFOUNDER, "T", "T"),
    lambda: backdoor_sets(CONFOUNDER, "T", "Y", max_sets=0),
    lambda: backdoor_sets(CONFOUNDER, "T", "Y", max_size=-1),
    lambda: frontdoor_sets(CONFOUNDER, "T", "Y", max_sets=0),
    lambda: is_backdoor_set(CONFOUNDER, "T", "Y", {"T"}),
    lambda: paths_for_drawing(CONFOUNDER, "T", "Y", adjustment={"Y"}),
    lambda: identify([("T", "Y")], "T", "Y"),
])
def test_parameter_errors(call):
    with pytest.raises(ParameterError):
        call()


def test_error_messages_name_the_offence():
    with pytest.raises(GraphError, match="'missing'"):
        identify(CONFOUNDER, "T", "missing")
    with pytest.raises(GraphError, match="latent"):
        identify(LATENT_CONFOUNDER, "T", "U")
    with pytest.raises(GraphError, match="cycle"):
        identify(graph([("T", "A"), ("A", "T"), ("A", "Y")]), "T", "Y")


# --------------------------------------------------------------------------------------------
# brute-force cross-check on random small DAGs
# --------------------------------------------------------------------------------------------

def random_dag(rng: random.Random, n: int) -> nx.DiGraph:
    names = [f"v{i}" for i in range(n)]
    rng.shuffle(names)                               # names do not follow the topological order
    p, p_latent = rng.uniform(0.2, 0.5), rng.uniform(0.0, 0.3)
    g = nx.DiGraph()
    g.add_nodes_from(names)
    g.add_edges_from((names[i], names[j]) for i in range(n) for j in range(i + 1, n) if rng.random() < p)
    for v in names:
        if rng.random() < p_latent:
            g.nodes[v]["latent"] = True
    return nx.freeze(g)


def is_valid_independently(g, t, y, z):
    """Backdoor criterion checked with networkx only: observed, no descendants of t, and t, y
    d-separated by z once t's out-edges are removed."""
    if any(g.nodes[v].get("latent") for v in z) or set(z) & (nx.descendants(g, t) | {t, y}):
        return False
    bd = nx.DiGraph(g)
    bd.remove_edges_from(list(g.out_edges(t)))
    return nx.is_d_separator(bd, {t}, {y}, set(z))


def brute_force_minimal(g, t, y):
    observed = [v for v in g if not g.nodes[v].get("latent")]
    allowed = sorted(set(observed) - nx.descendants(g, t) - {t, y})
    valid = [frozenset(c) for k in range(len(allowed) + 1) for c in itertools.combinations(allowed, k)
             if is_valid_independently(g, t, y, c)]
    return {s for s in valid if not any(o < s for o in valid)}


def test_enumeration_matches_brute_force_on_random_dags():
    rng = random.Random(20240531)
    checked = nonempty = several = 0
    while checked < 500:
        g = random_dag(rng, rng.choice([2, 3, 4, 5, 6, 7, 8, 9, 9, 9]))
        observed = sorted(v for v in g if not g.nodes[v].get("latent"))
        if len(observed) < 2:
            continue
        t, y = rng.sample(observed, 2)
        expected = brute_force_minimal(g, t, y)
        got = backdoor_sets(g, t, y, max_sets=10_000)
        assert len(got) == len(set(got))
        assert set(got) == expected, (sorted(g.edges), t, y)
        assert got == sorted(got, key=lambda s: (len(s), sorted(s)))
        for s in got:                                # valid and minimal, checked independently
            assert is_valid_independently(g, t, y, s)
            assert not any(is_valid_independently(g, t, y, sub) for k in range(len(s))
                           for sub in itertools.combinations(s, k))
        one = minimal_backdoor_set(g, t, y)
        assert (one is None) == (not expected) and (one is None or one in expected)
        opt = optimal_adjustment_set(g, t, y)
        if opt is not None:
            assert is_valid_independently(g, t, y, opt)
        res = identify(g, t, y)
        assert res.identifiable or not expected
        checked += 1
        nonempty += bool(expected)
        several += len(expected) > 1
    assert nonempty > 200 and several > 15             # the sample exercises the interesting cases


def test_instruments_are_valid_on_random_dags():
    rng = random.Random(7)
    found = 0
    for _ in range(300):
        g = random_dag(rng, rng.randint(3, 9))
        observed = sorted(v for v in g if not g.nodes[v].get("latent"))
        if len(observed) < 2:
            continue
        t, y = rng.sample(observed, 2)
        bd = nx.DiGraph(g)
        bd.remove_edges_from(list(g.out_edges(t)))
        banned = nx.descendants(g, t) | nx.descendants(g, y) | {t, y}
        for d in instruments(g, t, y):
            z, w = d["instrument"], set(d["conditioning_set"])
            assert z not in banned and not w & banned and z not in w
            assert nx.is_d_separator(bd, {z}, {y}, w)
            assert not nx.is_d_separator(g, {z}, {t}, w)
            found += 1
        reported = {d["instrument"] for d in instruments(g, t, y)}
        t_treks = set().union(*(nx.descendants(g, a) | {a} for a in nx.ancestors(g, t) | {t}))
        observed = {v for v in g if not g.nodes[v].get("latent")}
        for z in sorted(observed - banned):                # complete for ancestral instruments
            if z not in t_treks:
                continue
            ancestral = sorted((observed - banned - {z}) & (nx.ancestors(bd, z) | nx.ancestors(bd, y)))
            exists = any(nx.is_d_separator(bd, {z}, {y}, set(w)) and not nx.is_d_separator(g, {z}, {t}, set(w))
                         for k in range(len(ancestral) + 1) for w in itertools.combinations(ancestral, k))
            assert exists == (z in reported), (sorted(g.edges), t, y, z)
        for m in frontdoor_sets(g, t, y):
            gm = nx.DiGraph(g)
            gm.remove_edges_from([e for e in g.edges if e[0] in m])
            assert not nx.has_path(nx.restricted_view(g, m, []), t, y)
            assert nx.is_d_separator(bd, {t}, set(m), set())
            assert nx.is_d_separator(gm, set(m), {y}, {t})
    assert found > 20


def is_frontdoor_independently(g, t, y, m):
    if nx.has_path(nx.restricted_view(g, m, []), t, y):
        return False
    bd = nx.DiGraph(g)
    bd.remove_edges_from(list(g.out_edges(t)))
    if not nx.is_d_separator(bd, {t}, set(m), set()):
        return False
    gm = nx.DiGraph(g)
    gm.remove_edges_from([e for e in g.edges if e[0] in m])
    return nx.is_d_separator(gm, set(m), {y}, {t})


def test_frontdoor_sets_match_brute_force_on_random_dags():
    rng = random.Random(3)
    checked = nonempty = 0
    while checked < 400:
        g = random_dag(rng, rng.randint(3, 10))
        observed = sorted(v for v in g if not g.nodes[v].get("latent"))
        if len(observed) < 2:
            continue
        t, y = rng.sample(observed, 2)
        if not nx.has_path(g, t, y):
            continue
        cand = sorted(set(observed) - {t, y})
        valid = [frozenset(c) for k in range(1, len(cand) + 1) for c in itertools.combinations(cand, k)
                 if is_frontdoor_independently(g, t, y, c)]
        expected = {v for v in valid if not any(o < v for o in valid)}
        assert set(frontdoor_sets(g, t, y, max_sets=1000)) == expected, (sorted(g.edges), t, y)
        checked += 1
        nonempty += bool(expected)
    assert nonempty >= 10
