"""Benchmark: the product's full ingest vs plain pandas and DuckDB on simulator logs.

For each size (events) the simulator writes a log once (``bench/out/``, git-ignored), then each
engine runs in a fresh Python process so that its peak memory (max RSS) is its own:

- ``product``: causalrec_core.data.ingest (read + map + clean + features + profile, Parquet out)
- ``pandas``:  pandas.read_csv (pyarrow engine) + a minimal profile
- ``duckdb``:  DuckDB read_csv_auto + the same minimal profile in SQL

Minimal profile = drop exact duplicates, counts per event, distinct users and items,
per-user and per-item counts. Times are wall seconds for the work inside the process (imports
excluded), the median of ``--repeat`` runs. Results are written to BENCHMARKS.md (section
"Ingestion") and bench/out/ingest.json.

Usage: .venv/bin/python bench/bench_ingest.py [--sizes 100000,1000000,10000000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import machine, replace_section

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
EVENTS_PER_USER = 34.0  # simulator: ~32-37 events per user, depending on the catalogue size


def make_log(n_events: int) -> Path:
    from causalrec_core.simulate import simulate_to_dir

    d = OUT / f"sim_{n_events}"
    if not (d / "events.csv").exists():
        n_users = max(100, int(round(n_events / EVENTS_PER_USER)))
        simulate_to_dir(d, n_users=n_users, n_items=max(500, min(20_000, n_users // 20)), seed=1)
    return d / "events.csv"


def run_product(path: str) -> dict:
    from causalrec_core.data.ingest import ingest
    from causalrec_core.data.io import preview, sniff
    from causalrec_core.data.mapping import suggest_mapping

    t0 = time.perf_counter()
    fmt = sniff(path)
    mapping = {r: s.column for r, s in suggest_mapping(preview(path, fmt)).items() if s.column}
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        res = ingest(path, mapping, tmp, file_format=fmt)
        secs = time.perf_counter() - t0
    return {"seconds": secs, "rows_kept": res.profile["rows_kept"], "users": res.profile["users"]}


def run_pandas(path: str) -> dict:
    import pandas as pd

    t0 = time.perf_counter()
    df = pd.read_csv(path, engine="pyarrow")
    df = df.drop_duplicates()
    df["event"].value_counts()
    nu, ni = df["user_id"].nunique(), df["item_id"].nunique()
    df.groupby("user_id").size()
    df.groupby("item_id").size()
    return {"seconds": time.perf_counter() - t0, "rows_kept": len(df), "users": int(nu), "items": int(ni)}


def run_duckdb(path: str) -> dict:
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT DISTINCT * FROM read_csv_auto('{path}')")
    con.execute("SELECT event, count(*) FROM t GROUP BY event").fetchall()
    nu, ni = con.execute("SELECT count(DISTINCT user_id), count(DISTINCT item_id) FROM t").fetchone()
    con.execute("SELECT user_id, count(*) FROM t GROUP BY user_id").fetchall()
    con.execute("SELECT item_id, count(*) FROM t GROUP BY item_id").fetchall()
    n = con.execute("SELECT count(*) FROM t").fetchone()[0]
    return {"seconds": time.perf_counter() - t0, "rows_kept": n, "users": nu, "items": ni}


ENGINES = {"product": run_product, "pandas": run_pandas, "duckdb": run_duckdb}


def child(engine: str, path: str) -> None:
    res = ENGINES[engine](path)
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(res))


def measure(engine: str, path: Path, repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, __file__, "--child", engine, str(path)],
                             capture_output=True, text=True, check=True, cwd=ROOT)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        r["process_seconds"] = time.perf_counter() - t0
        runs.append(r)
    best = dict(runs[0])
    best["seconds"] = statistics.median(r["seconds"] for r in runs)
    best["process_seconds"] = statistics.median(r["process_seconds"] for r in runs)
    best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    return best


def write_section(results: list[dict], machine_desc: str) -> None:
    lines = [
        "## Ingestion (issue: foundation)",
        "",
        f"Machine: {machine_desc}. Run: `bench/bench_ingest.py`, {time.strftime('%Y-%m-%d')}.",
        "Simulator logs (8 columns: ids, ISO timestamp, event, value, exposed, position, propensity).",
        "Seconds = work inside a fresh process, imports excluded; peak = max RSS of that process.",
        "",
        "| events | CSV MB | engine | seconds | events/s | peak RSS MB | vs DuckDB |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        duck = next(x for x in results if x["events"] == r["events"] and x["engine"] == "duckdb")
        lines.append(
            f"| {r['events']:,} | {r['csv_mb']:.0f} | {r['engine']} | {r['seconds']:.2f} | "
            f"{r['events'] / r['seconds']:,.0f} | {r['peak_rss_mb']:.0f} | {r['seconds'] / duck['seconds']:.2f}× |")
    for n in sorted({r["events"] for r in results}):
        prod = next((x for x in results if x["events"] == n and x["engine"] == "product"), None)
        duck = next((x for x in results if x["events"] == n and x["engine"] == "duckdb"), None)
        if prod and duck:
            ratio = prod["seconds"] / duck["seconds"]
            lines.append(f"Target (issue): product within 1.5× of DuckDB and ≤ 1.5 GB peak at 10M. At {n:,} events: "
                         f"{ratio:.1f}× ({'met' if ratio <= 1.5 else 'NOT met'}), peak {prod['peak_rss_mb']:.0f} MB.")
    lines += ["", "product = read + map + clean (9 rules) + features (users, items, interactions) + profile, "
              "Parquet written; pandas/duckdb = read + minimal profile (dedupe, counts per event, distinct "
              "users/items, per-user and per-item counts).", ""]
    replace_section("## Ingestion", "\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000,10000000")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--engines", default="product,duckdb,pandas")
    ap.add_argument("--child", nargs=2, metavar=("ENGINE", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    for n in (int(s) for s in args.sizes.split(",")):
        path = make_log(n)
        n_events = sum(1 for _ in open(path, "rb")) - 1
        for engine in args.engines.split(","):
            r = measure(engine, path, args.repeat)
            r |= {"events": n_events, "engine": engine, "csv_mb": path.stat().st_size / 2**20}
            print(json.dumps(r), flush=True)
            results.append(r)
    (OUT / "ingest.json").write_text(json.dumps(results, indent=2))
    write_section(results, machine(("pandas", "pyarrow", "duckdb")))


if __name__ == "__main__":
    main()
