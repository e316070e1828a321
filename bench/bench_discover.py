"""Benchmark: structure learning (PC, Fisher-z) on random linear-Gaussian DAGs, 100,000 rows.

For 10 and 20 variables (a random DAG, seeded; each possible edge present with probability
3 / (p - 1), i.e. 3 neighbours per node on average; weights ±U(0.5, 1.5); unit Gaussian noise):

- ``discover``:    causalrec_core.graph.discover.discover(method='pc'), the whole call (validation,
                   cleaning, collinearity check, search); median of ``--repeat`` runs
- ``causal-learn``: causallearn.search.ConstraintBased.PC.pc(X, 0.05, 'fisherz') on the same matrix,
                   same process; median of ``--repeat`` runs; the two CPDAGs are compared
- ``stability``:   stability(method='pc', n_resamples=50) (bootstrap, n_jobs=1), one run
- ``naive bootstrap``: what stability would cost without the fast path: 50 × (copy a bootstrap
                   resample + causal-learn pc), one run

Imports (causal-learn takes ~2.7 s) and data generation are excluded; one warm-up call runs first.
Results go to BENCHMARKS.md (section "Structure learning (issue: graph)") and bench/out/discover.json.

Usage: .venv/bin/python bench/bench_discover.py [--vars 10,20] [--rows 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from benchlib import machine, replace_section

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

from causalrec_core.graph.discover import (  # noqa: E402
    dag_to_cpdag,
    discover,
    edge_precision_recall,
    shd,
    stability,
)

N_RESAMPLES = 50


def random_dag_data(p: int, n: int, seed: int) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    rng = np.random.default_rng(seed)
    A = np.triu(rng.random((p, p)) < 3.0 / (p - 1), 1)
    W = A * rng.uniform(0.5, 1.5, (p, p)) * rng.choice([-1.0, 1.0], (p, p))
    X = np.zeros((n, p))
    for j in range(p):
        X[:, j] = X @ W[:, j] + rng.standard_normal(n)
    names = [f"x{j:02d}" for j in range(p)]
    return pd.DataFrame(X, columns=names), [(names[i], names[j]) for i, j in zip(*np.nonzero(A), strict=True)]


def _timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _cl_cpdag(G: np.ndarray, names: list[str]) -> tuple[set, set]:
    directed, undirected = set(), set()
    for i in range(len(names)):
        for j in range(len(names)):
            if G[j, i] == 1 and G[i, j] == -1:
                directed.add((names[i], names[j]))
            elif i < j and G[i, j] == -1 and G[j, i] == -1:
                undirected.add(frozenset((names[i], names[j])))
    return directed, undirected


def run(p: int, n: int, repeat: int) -> dict:
    import networkx as nx
    from causallearn.search.ConstraintBased.PC import pc

    df, true_edges = random_dag_data(p, n, seed=p)
    X = df.to_numpy()
    names = list(df.columns)
    discover(df.iloc[:2000])  # warm-up (lazy imports)
    t_ours, res = _timed(lambda: discover(df, method="pc"), repeat)
    t_cl, cg = _timed(lambda: pc(X, 0.05, "fisherz", show_progress=False, node_names=names), repeat)
    identical = (set(res.graph.edges), set(res.undirected)) == _cl_cpdag(np.asarray(cg.G.graph), names)
    truth = nx.DiGraph(true_edges)
    truth.add_nodes_from(names)
    cp_graph, cp_und = dag_to_cpdag(truth)
    shd_cpdag = shd(res.graph, cp_graph, undirected=res.undirected, truth_undirected=cp_und)
    pr = edge_precision_recall(res.graph, cp_graph, undirected=res.undirected, truth_undirected=cp_und)

    t0 = time.perf_counter()
    stab = stability(df, method="pc", n_resamples=N_RESAMPLES, seed=0)
    t_stab = time.perf_counter() - t0

    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(N_RESAMPLES):
        Xb = X[rng.integers(0, n, n)]
        pc(Xb, 0.05, "fisherz", show_progress=False)
    t_naive = time.perf_counter() - t0
    strong = int((stab["freq_any"] >= 0.9).sum())
    return {
        "variables": p, "rows": n, "true_edges": len(true_edges), "learned_adjacencies": len(res.adjacencies()),
        "shd_to_true_cpdag": shd_cpdag, **{k: round(v, 3) for k, v in pr.items() if k.endswith(("precision", "recall"))},
        "discover_s": t_ours, "causallearn_pc_s": t_cl,
        "identical_cpdag": identical, "stability_s": t_stab, "naive_bootstrap_s": t_naive,
        "pairs_freq_ge_0_9": strong,
    }


def write_section(results: list[dict], machine_desc: str, repeat: int, load: float) -> None:
    lines = [
        "## Structure learning (issue: graph)",
        "",
        f"Machine: {machine_desc}. Run: `bench/bench_discover.py`, {time.strftime('%Y-%m-%d')}.",
        "Random linear-Gaussian DAGs (seeded; 3 neighbours per node on average, weights ±U(0.5, 1.5)), "
        f"{results[0]['rows']:,} rows. PC with Fisher-z, alpha 0.05. Wall seconds, imports excluded; "
        f"single searches are the median of {repeat} runs.",
        "",
        "| variables | true edges | discover PC s | causal-learn pc s | speed-up | same CPDAG | SHD to true CPDAG "
        f"| adjacency P / R | arrowhead P / R | stability ({N_RESAMPLES} bootstraps) s "
        "| naive bootstrap (copy + causal-learn pc) s |",
        "| ---: | ---: | ---: | ---: | ---: | --- | ---: | --- | --- | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['variables']} | {r['true_edges']} | {r['discover_s']:.3f} | {r['causallearn_pc_s']:.3f} | "
            f"{r['causallearn_pc_s'] / r['discover_s']:.1f}× | {'yes' if r['identical_cpdag'] else 'no'} | "
            f"{r['shd_to_true_cpdag']} | {r['adjacency_precision']:.2f} / {r['adjacency_recall']:.2f} | "
            f"{r['arrowhead_precision']:.2f} / {r['arrowhead_recall']:.2f} | {r['stability_s']:.2f} | "
            f"{r['naive_bootstrap_s']:.2f} |")
    lines += [
        "",
        "discover = the whole call (checks, cleaning, collinearity check, search). Our PC runs the stable-PC "
        "skeleton on the correlation matrix with all CI tests of a depth batched in numpy, then causal-learn's "
        "orientation (uc_sepset + Meek); its CPDAG equals causal-learn's. stability computes each bootstrap "
        "resample's correlation matrix from multinomial weights (no copy of the rows). Target (issue): PC "
        f"stability, {N_RESAMPLES} resamples, 20 variables × 100k rows in ≤ 30 s.",
        "",
        "Accuracy is PC's, not the implementation's (the CPDAG is causal-learn's): on the denser 20-variable DAG "
        "the skeleton is good but a few wrong colliders propagate through Meek's rules, so most of the SHD is "
        "orientation (see arrowhead P / R). Other jobs shared the machine: 1-minute load average "
        f"{load:.1f} on {os.cpu_count()} cores when the run started.",
        "",
    ]
    replace_section("## Structure learning (issue: graph)", "\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vars", default="10,20")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    results = []
    for p in (int(v) for v in args.vars.split(",")):
        r = run(p, args.rows, args.repeat)
        print(json.dumps(r), flush=True)
        results.append(r)
    (OUT / "discover.json").write_text(json.dumps(results, indent=2))
    write_section(results, machine(("causal-learn", "numpy", "scipy", "pandas", "networkx")), args.repeat, load)


if __name__ == "__main__":
    main()
