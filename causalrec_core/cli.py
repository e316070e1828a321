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


def _print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, default=_json_default, ensure_ascii=False) + "\n")


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
