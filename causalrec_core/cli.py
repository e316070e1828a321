"""``causalrec`` command line: the same core as the dashboard, without a browser.

Every subcommand has ``--help``; ``--json`` prints one JSON object on stdout. Bad input exits
with status 2 and a one-line ``error: ...`` on stderr (no traceback; ``--debug`` shows one).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from causalrec_core.errors import CausalRecError

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 1


def _json_default(o):
    if hasattr(o, "isoformat"):
        return o.isoformat()
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "item"):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _finite(obj):
    """Replace NaN / infinities (not valid JSON) by None, recursively."""
    if isinstance(obj, float):
        return obj if obj == obj and obj not in (float("inf"), float("-inf")) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        try:
            return _finite(obj.item())
        except (ValueError, TypeError):
            return obj
    return obj


def _print_json(obj) -> None:
    text = json.dumps(_finite(obj), default=_json_default, ensure_ascii=False, allow_nan=False)
    sys.stdout.write(text + "\n")


# --- simulate ---------------------------------------------------------------------------

def _cmd_simulate(args) -> int:
    from causalrec_core.simulate import simulate_to_dir

    # Streams block by block (memory ~24 bytes per event), so 10M-event logs are fine too;
    # the output is identical to simulate() + write_simulation() for the same arguments.
    paths = simulate_to_dir(args.out, n_users=args.users, n_items=args.items, seed=args.seed)
    truth = json.loads(Path(paths["truth"]).read_text())
    summary = {
        "out": str(Path(args.out)),
        "files": {k: str(v) for k, v in paths.items()},
        "events": truth.get("n_events"),
        "users": args.users,
        "items": args.items,
        "seed": args.seed,
        "true_ate_exposure_purchase": truth.get("ate_exposure_purchase"),
        "true_att_exposure_purchase": truth.get("att_exposure_purchase"),
        "true_ate_by_segment": truth.get("ate_by_segment"),
        "naive_difference": truth.get("naive_difference"),
    }
    if args.json:
        _print_json(summary)
    else:
        print(f"Wrote {summary['events']:,} events for {args.users:,} users and {args.items:,} items "
              f"to {summary['out']}")
        print(f"True ATE of exposure on purchase: {summary['true_ate_exposure_purchase']:.5f} "
              f"(naive exposed-vs-unexposed difference: {summary['naive_difference']:.5f})")
    return 0


# --- profile ----------------------------------------------------------------------------

def _cmd_profile(args) -> int:
    from causalrec_core.data.clean import CleaningOptions
    from causalrec_core.data.ingest import ingest
    from causalrec_core.data.io import preview, sniff
    from causalrec_core.data.mapping import parse_mapping_arg, suggest_mapping

    overrides = {}
    if args.delimiter:
        overrides["delimiter"] = {"tab": "\t", "\\t": "\t"}.get(args.delimiter, args.delimiter)
    if args.encoding:
        overrides["encoding"] = args.encoding
    if args.no_header:
        overrides["has_header"] = False
    fmt = sniff(args.file, **overrides)
    suggested = {r: s.column for r, s in suggest_mapping(preview(args.file, fmt)).items() if s.column}
    user_map = parse_mapping_arg(args.map) if args.map else {}
    mapping = suggested | user_map
    options = CleaningOptions(
        duplicate=args.duplicates, unknown_event=args.unknown_events,
        out_of_range_value=args.out_of_range, implausible_time=args.implausible_time,
        bot_user=args.bots, bot_threshold=args.bot_threshold,
    )
    with tempfile.TemporaryDirectory(prefix="causalrec-profile-") as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        res = ingest(args.file, mapping, out, file_format=fmt, options=options,
                     items_path=args.items, users_path=args.users)
    p = res.profile
    result = {k: p[k] for k in ("rows_in", "rows_kept", "dropped", "flagged", "users", "items",
                                 "events", "time_min", "time_max", "funnel")}
    result |= {
        "pairs": p["pairs"], "sparsity": p["sparsity"], "gini_items": p["gini_items"],
        "top_share": p["top_share"], "funnel_users": p["funnel_users"],
        "user_activity": {k: v for k, v in p["user_activity"].items() if k != "histogram"},
        "mapping": res.mapping, "event_map": res.event_map, "format": fmt.to_dict(),
        "time_parse": res.time_parse.describe(), "cleaning": res.report,
        "content_hash": res.content_hash,
    }
    if args.out:
        result["tables"] = {k: str(v) for k, v in res.tables.items()}
    if args.json:
        _print_json(result)
        return 0
    print(f"{args.file}: {fmt.kind}, {fmt.encoding}, delimiter {fmt.delimiter!r}, "
          f"header {'yes' if fmt.has_header else 'no'}; time parsed as {res.time_parse.describe()}")
    print("mapping: " + ", ".join(f"{k}={v}" for k, v in res.mapping.items()))
    print(f"rows read {p['rows_in']:,}, kept {p['rows_kept']:,}; users {p['users']:,}, items {p['items']:,}; "
          f"{p['time_min']} .. {p['time_max']}")
    print("events: " + ", ".join(f"{k} {v:,}" for k, v in p["events"].items()))
    print("funnel (events of a step / events of the previous step): "
          + " -> ".join(f"{k} {v:.2%}" if v is not None else f"{k} n/a" for k, v in p["funnel"].items()))
    print(f"sparsity {p['sparsity']:.5f}; Gini of item popularity {p['gini_items']:.3f}; "
          f"top 10% of items hold {p['top_share']['top_10pct']:.1%} of events")
    for r in res.report:
        if r["rows"]:
            print(f"  {r['rule']}: {r['rows']:,} rows, {r['action']}")
    return 0



# --- graph ------------------------------------------------------------------------------

def _split_list(text: str | None) -> list[str]:
    return [x.strip() for x in (text or "").split(",") if x.strip()]


def _edge_list(text: str | None, param: str) -> list[tuple[str, str]]:
    from causalrec_core.errors import ParameterError

    edges = []
    for part in _split_list(text):
        if ">" not in part:
            raise ParameterError(f"{param} entry {part!r} is invalid: it must be SOURCE>TARGET.")
        a, b = (x.strip() for x in part.split(">", 1))
        edges.append((a, b))
    return edges


def _cmd_graph_adjust(args) -> int:
    from causalrec_core.graph.formats import read_graph
    from causalrec_core.graph.identify import identify

    g = read_graph(Path(args.graph))
    result = identify(g, args.treatment, args.outcome, max_sets=args.max_sets).to_dict()
    if args.json:
        _print_json(result)
        return 0
    print(f"{args.treatment} -> {args.outcome}: "
          + ("identifiable" if result["identifiable"] else "NOT identifiable"))
    for key in ("backdoor_sets", "optimal_set", "frontdoor_sets", "instruments"):
        print(f"  {key}: {result.get(key)}")
    if result.get("reason"):
        print(f"  reason: {result['reason']}")
    return 0


def _cmd_graph_discover(args) -> int:
    from causalrec_core.data.io import read_table_file
    from causalrec_core.graph.discover import discover, stability, suggestions
    from causalrec_core.graph.formats import write_graph

    data = read_table_file(args.data)
    cols = _split_list(args.columns)
    if cols:
        from causalrec_core.errors import ParameterError

        missing = [c for c in cols if c not in data.columns]
        if missing:
            raise ParameterError(f"--columns names {missing} that are not columns of {Path(args.data).name!r}; "
                                 f"choose from: {', '.join(map(str, data.columns))}.")
        data = data[cols]
    tiers = [_split_list(t) for t in args.tiers.split(";")] if args.tiers else None
    kw = dict(method=args.method, alpha=args.alpha, ci_test=args.ci_test, tiers=tiers,
              required=_edge_list(args.require, "--require"), forbidden=_edge_list(args.forbid, "--forbid"),
              seed=args.seed)
    res = discover(data, **kw)
    out = {
        "method": res.method, "params": res.params, "notes": res.notes, "seconds": res.seconds,
        "edges": res.edges.to_dict("records"),
    }
    if args.stability:
        stab = stability(data, n_resamples=args.stability, **kw)
        out["stability"] = stab.to_dict("records")
        out["suggestions"] = suggestions(stab, threshold=args.threshold)
    if args.out:
        write_graph(res.graph, args.out)
        out["graph_file"] = args.out
    if args.json:
        _print_json(out)
        return 0
    print(f"{res.method}: {len(res.edges)} edges in {res.seconds:.2f} s")
    for e in out["edges"]:
        print(f"  {e['source']} {'->' if e['directed'] else '--'} {e['target']}")
    for n in res.notes:
        print(f"  note: {n}")
    return 0


def _cmd_graph_check(args) -> int:
    from causalrec_core.data.io import read_table_file
    from causalrec_core.graph.formats import read_graph
    from causalrec_core.graph.implications import test_implications

    g = read_graph(Path(args.graph))
    data = read_table_file(args.data)
    res = test_implications(g, data, alpha=args.alpha, method=args.method, correction=args.correction,
                            seed=args.seed)
    table = res.table.astype(object).where(res.table.notna(), None)
    out = {"verdict": res.verdict, "tests": table.to_dict("records")}
    if args.json:
        _print_json(out)
        return 0
    print(res.verdict.get("message", res.verdict.get("verdict")))
    print(res.table.to_string(index=False))
    return 0


def _cmd_graph_convert(args) -> int:
    from causalrec_core.graph.formats import read_graph, write_graph

    g = read_graph(Path(args.input))
    path = write_graph(g, args.output)
    print(f"Wrote {g.number_of_nodes()} nodes and {g.number_of_edges()} edges to {path}")
    return 0


# --- parser -----------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="causalrec",
        description="CausalRec Studio from the command line: simulate logs, profile logs, ...",
    )
    parser.add_argument("--debug", action="store_true", help="show a traceback on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("simulate", help="generate a ground-truth e-commerce log (simulator)",
                       description="Generate events, side tables and the recorded causal truth "
                                   "(true DAG, true effect of exposure on purchase) into DIR.")
    p.add_argument("--users", type=int, default=2000, help="number of users (default 2000)")
    p.add_argument("--items", type=int, default=500, help="number of items (default 500)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser("profile", help="read, map, clean and profile a behaviour log",
                       description="Read a CSV/TSV/Parquet/JSON-lines log, map its columns (automatic "
                                   "suggestions, --map overrides), clean it and print its profile.")
    p.add_argument("file", help="the log file")
    p.add_argument("--map", help="role=COLUMN pairs, e.g. user=uid,item=sku,timestamp=ts,event=action "
                                 "(roles: user,item,timestamp,event,value,exposed,position,propensity)")
    p.add_argument("--delimiter", help="field delimiter (',', ';', '|', 'tab'); detected by default")
    p.add_argument("--encoding", help="text encoding (utf-8, gb18030, gbk, latin-1, cp1252, utf-16); detected by default")
    p.add_argument("--no-header", action="store_true", help="the first line is data, not column names")
    p.add_argument("--items", help="optional item side table (joined on its item id column)")
    p.add_argument("--users", help="optional user side table (joined on its user id column)")
    for flag, dest, default, what in (
        ("--duplicates", "duplicates", "drop", "exact duplicate rows"),
        ("--unknown-events", "unknown_events", "keep", "rows with unmapped event labels (kept as 'other')"),
        ("--out-of-range", "out_of_range", "keep", "rows with out-of-range values"),
        ("--implausible-time", "implausible_time", "keep", "rows with timestamps before 1990 or in the future"),
        ("--bots", "bots", "keep", "rows of bot-like users"),
    ):
        p.add_argument(flag, dest=dest, choices=("keep", "drop"), default=default,
                       help=f"keep (flagged) or drop {what} (default {default})")
    p.add_argument("--bot-threshold", type=int, default=None,
                   help="events above which a user is bot-like (default: automatic)")
    p.add_argument("--out", help="also keep the cleaned Parquet tables in this folder")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_profile)

    g = sub.add_parser("graph", help="causal graphs: adjustment sets, discovery, checks, conversion",
                       description="Work with causal graphs (.json, .dot, .gml, .dagitty files).")
    gsub = g.add_subparsers(dest="graph_command", required=True, metavar="ACTION")
    p = gsub.add_parser("adjust", help="identify an effect: backdoor, frontdoor and instrument sets",
                        description="Find adjustment sets for TREATMENT -> OUTCOME in a causal graph.")
    p.add_argument("--graph", required=True, help="graph file (.json, .dot, .gml, .dagitty)")
    p.add_argument("--treatment", required=True, help="treatment node")
    p.add_argument("--outcome", required=True, help="outcome node")
    p.add_argument("--max-sets", type=int, default=20, help="at most this many minimal sets (default 20)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_graph_adjust)

    p = gsub.add_parser("discover", help="learn a graph from a table (PC, GES, LiNGAM)",
                        description="Learn a causal graph from the numeric columns of a table.")
    p.add_argument("--data", required=True, help="table file (.csv, .tsv, .parquet, .jsonl)")
    p.add_argument("--method", default="pc", choices=("pc", "ges", "lingam"), help="algorithm (default pc)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level of the CI tests (default 0.05)")
    p.add_argument("--ci-test", default="fisherz", choices=("fisherz", "chisq", "gsq", "auto"),
                   help="conditional-independence test for PC (default fisherz)")
    p.add_argument("--columns", help="comma-separated columns to use (default: all numeric)")
    p.add_argument("--tiers", help="background knowledge: tiers separated by ';', columns by ',', "
                                   "earliest first, e.g. 'activity,popularity;exposed;purchased'")
    p.add_argument("--require", help="required edges, e.g. a>b,c>d")
    p.add_argument("--forbid", help="forbidden edges, e.g. purchased>exposed")
    p.add_argument("--stability", type=int, default=0, help="bootstrap resamples for edge stability (0 = none)")
    p.add_argument("--threshold", type=float, default=0.5, help="suggestion threshold on edge frequency")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--out", help="also write the learned graph to this file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_graph_discover)

    p = gsub.add_parser("check", help="test the graph's implied independences on data",
                        description="Test the conditional independences the graph implies on a table.")
    p.add_argument("--graph", required=True, help="graph file")
    p.add_argument("--data", required=True, help="table file whose columns the nodes bind to")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    p.add_argument("--method", default="auto", choices=("auto", "partial_correlation", "chi2", "g2"))
    p.add_argument("--correction", default="holm", choices=("holm", "bh", "none"),
                   help="multiple-testing correction (default holm)")
    p.add_argument("--seed", type=int, default=0, help="random seed for subsampling")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_graph_check)

    p = gsub.add_parser("convert", help="convert a graph between formats (by file extension)",
                        description="Convert IN to OUT; formats from the extensions "
                                    "(.json, .dot/.gv, .gml, .dagitty).")
    p.add_argument("input", help="input graph file")
    p.add_argument("output", help="output graph file")
    p.set_defaults(func=_cmd_graph_convert)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CausalRecError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (OSError, UnicodeError) as err:
        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a bug: say so in one line, keep the traceback for --debug
        if args.debug:
            raise
        print(f"error: internal error ({type(err).__name__}: {err}); rerun with --debug for details",
              file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
