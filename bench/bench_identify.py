"""Benchmark: identification on random 100-node DAGs (target: any pair in <= 0.1 s).

For ``--graphs`` random DAGs (``--nodes`` nodes, ``--edges`` edges, ``--latent`` share of latent
nodes, seeded) it times, for ``--pairs`` (treatment, outcome) pairs of observed nodes per graph
(half drawn at random, half drawn so that the treatment is an ancestor of the outcome):

- ``identify``: the full :func:`causalrec_core.graph.identify.identify` (bounded enumeration of
  the minimal adjustment sets, O-set, frontdoor sets, instruments, causal and open backdoor paths)
- ``backdoor_sets``: the bounded enumeration of minimal adjustment sets alone (max_sets=20)
- ``minimal_backdoor_set``: one minimal set via ``nx.find_minimal_d_separator``

and, only when DoWhy is importable, DoWhy's ``identify_effect`` on a few pairs (else it prints a
skip note). Wall-clock time per pair (``time.perf_counter``, the fastest of ``--repeat`` calls,
plus the slowest single call), median / p95 / max. Results go to BENCHMARKS.md (section
"Identification (issue: graph)", other sections kept).

Usage: .venv/bin/python bench/bench_identify.py [--graphs 20] [--pairs 50] [--repeat 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import networkx as nx
from benchlib import machine, replace_section

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from causalrec_core.graph.identify import (  # noqa: E402
    backdoor_sets,
    identify,
    minimal_backdoor_set,
)

HEADING = "## Identification (issue: graph)"
TARGET_S = 0.1


def random_dag(rng: random.Random, n: int, m: int, latent: float) -> nx.DiGraph:
    """A DAG with n nodes and m edges between random pairs of a random order; names hide it."""
    names = [f"v{i:03d}" for i in range(n)]
    rng.shuffle(names)
    g = nx.DiGraph()
    g.add_nodes_from(names)
    while g.number_of_edges() < m:
        i, j = sorted(rng.sample(range(n), 2))
        g.add_edge(names[i], names[j])
    for v in names:
        if rng.random() < latent:
            g.nodes[v]["latent"] = True
    return nx.freeze(g)


def draw_pairs(rng: random.Random, g: nx.DiGraph, k: int) -> list[tuple[str, str, bool]]:
    observed = sorted(v for v in g if not g.nodes[v].get("latent"))
    below = {v: sorted(set(observed) & nx.descendants(g, v)) for v in observed}
    causes = [v for v in observed if below[v]]
    pairs = []
    for i in range(k):
        if i % 2 == 0 or not causes:
            t, y = rng.sample(observed, 2)
        else:  # a pair with a causal path
            t = rng.choice(causes)
            y = rng.choice(below[t])
        pairs.append((t, y, y in below[t]))
    return pairs


def timed(fn, *args, repeat: int = 1, **kwargs) -> tuple[float, float, object]:
    """(fastest, slowest) of ``repeat`` calls, and the result."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        times.append(time.perf_counter() - t0)
    return min(times), max(times), out


def summary(xs: list[float], worst: list[float] | None = None) -> dict:
    xs = sorted(xs)
    return {"n": len(xs), "median": statistics.median(xs), "p95": xs[min(len(xs) - 1, int(0.95 * len(xs)))],
            "max": xs[-1], "over_target": sum(x > TARGET_S for x in xs), "worst_run": max(worst or xs)}


def dowhy_times(graphs: list[tuple[nx.DiGraph, list]], k: int) -> tuple[str, dict | None]:
    try:
        import dowhy  # noqa: F401
        from dowhy import CausalModel
    except ImportError:
        return "DoWhy is not installed: comparison skipped.", None
    import pandas as pd

    times, failures = [], 0
    for g, pairs in graphs:
        observed = sorted(v for v in g if not g.nodes[v].get("latent"))
        data = pd.DataFrame({v: [0.0, 1.0] for v in observed})
        gml = "\n".join(nx.generate_gml(nx.DiGraph(g.edges)))
        for t, y, _ in pairs[:k]:
            try:
                model = CausalModel(data=data, treatment=t, outcome=y, graph=gml)
                dt, _, _ = timed(model.identify_effect, proceed_when_unidentifiable=True)
                times.append(dt)
            except Exception:  # noqa: BLE001 - any DoWhy failure is counted, not fatal
                failures += 1
        if len(times) + failures >= k:
            break
    import dowhy as _dw

    note = f"DoWhy {_dw.__version__} identify_effect on {len(times)} pairs ({failures} failed)."
    return note, summary(times) if times else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graphs", type=int, default=20)
    ap.add_argument("--pairs", type=int, default=50)
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--edges", type=int, default=150)
    ap.add_argument("--latent", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dowhy-pairs", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3, help="calls per pair; the fastest is kept")
    ap.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = ap.parse_args()

    load_before = " / ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "n/a"
    rng = random.Random(args.seed)
    graphs = []
    for _ in range(args.graphs):
        g = random_dag(rng, args.nodes, args.edges, args.latent)
        graphs.append((g, draw_pairs(rng, g, args.pairs)))
    g0, p0 = graphs[0]
    for t, y, _ in p0[:5]:  # warm-up
        identify(g0, t, y)

    t_ident, t_ident_causal, t_sets, t_min = [], [], [], []
    w_ident, w_ident_causal, w_sets, w_min = [], [], [], []
    n_sets, outcomes = [], {"backdoor": 0, "frontdoor": 0, "iv": 0, None: 0, "zero": 0}
    r = args.repeat
    for g, pairs in graphs:
        for t, y, causal in pairs:
            dt, worst, res = timed(identify, g, t, y, repeat=r)
            t_ident.append(dt)
            w_ident.append(worst)
            if causal:
                t_ident_causal.append(dt)
                w_ident_causal.append(worst)
            outcomes["zero" if res.effect_is_zero else res.estimand] += 1
            dt, worst, sets = timed(backdoor_sets, g, t, y, max_sets=20, repeat=r)
            t_sets.append(dt)
            w_sets.append(worst)
            n_sets.append(len(sets))
            dt, worst, _ = timed(minimal_backdoor_set, g, t, y, repeat=r)
            t_min.append(dt)
            w_min.append(worst)

    rows = [("identify, all pairs", summary(t_ident, w_ident)),
            ("identify, pairs with a causal path", summary(t_ident_causal, w_ident_causal)),
            ("backdoor_sets (max_sets=20)", summary(t_sets, w_sets)),
            ("minimal_backdoor_set (networkx)", summary(t_min, w_min))]
    dowhy_note, dowhy_row = dowhy_times(graphs, args.dowhy_pairs)
    if dowhy_row:
        rows.append(("DoWhy identify_effect", dowhy_row))
    print(dowhy_note)

    mdesc = machine(("networkx",))
    lines = [
        HEADING,
        "",
        f"Machine: {mdesc}. Run: `bench/bench_identify.py --graphs {args.graphs} --pairs {args.pairs} "
        f"--seed {args.seed} --repeat {args.repeat}`, {time.strftime('%Y-%m-%d')}; load average before the "
        f"run {load_before}.",
        f"{args.graphs} random DAGs with {args.nodes} nodes and {args.edges} edges, {args.latent:.0%} of the "
        f"nodes latent; {args.pairs} (treatment, outcome) pairs of observed nodes per graph, half of them "
        f"with a causal path. Wall-clock milliseconds per pair, one process, warm; each call is repeated "
        f"{args.repeat}× and the fastest run kept (the machine is shared with other jobs), the slowest single "
        f"run is shown too. Target: {TARGET_S * 1000:.0f} ms per pair.",
        "",
        "| operation | pairs | median ms | p95 ms | max ms | pairs over target | slowest single run ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, s in rows:
        lines.append(f"| {name} | {s['n']} | {s['median'] * 1e3:.1f} | {s['p95'] * 1e3:.1f} | "
                     f"{s['max'] * 1e3:.1f} | {s['over_target']} | {s['worst_run'] * 1e3:.1f} |")
    total = sum(outcomes.values())
    lines += [
        "",
        f"Outcomes over {total} pairs: backdoor {outcomes['backdoor']}, frontdoor {outcomes['frontdoor']}, "
        f"iv {outcomes['iv']}, not identifiable {outcomes[None]}, zero effect (no causal path) "
        f"{outcomes['zero']}. Minimal adjustment sets returned per pair: median "
        f"{statistics.median(n_sets):.0f}, max {max(n_sets)} (capped at 20).",
        f"{dowhy_note}",
        "",
    ]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        replace_section(HEADING, body)


if __name__ == "__main__":
    main()
