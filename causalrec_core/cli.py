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
    from causalrec_core.data.mapping import UnmappedRoleError, parse_mapping_arg, suggest_mapping
    from causalrec_core.errors import DataError

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
        bot_user=args.bots, bot_threshold=args.bot_threshold, time_zone=args.time_zone,
    )
    with tempfile.TemporaryDirectory(prefix="causalrec-profile-") as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        try:
            res = ingest(args.file, mapping, out, file_format=fmt, options=options,
                         items_path=args.items, users_path=args.users)
        except UnmappedRoleError as err:  # the remedy, in the CLI's own words
            raise DataError(f"{err} Use --map {err.role}=COLUMN.") from None
    p = res.profile
    result = {k: p[k] for k in ("rows_in", "rows_kept", "dropped", "flagged", "users", "items",
                                 "events", "time_min", "time_max", "funnel")}
    result |= {
        "pairs": p["pairs"], "sparsity": p["sparsity"], "gini_items": p["gini_items"],
        "top_share": p["top_share"], "funnel_users": p["funnel_users"], "side_actions": p["side_actions"],
        "user_activity": {k: v for k, v in p["user_activity"].items() if k != "histogram"},
        "mapping": res.mapping, "event_map": res.event_map, "format": fmt.to_dict(),
        "time_parse": res.cleaning_report()["time_parse"], "cleaning": res.report,
        "content_hash": res.content_hash,
    }
    if args.out:
        result["tables"] = {k: str(v) for k, v in res.tables.items()}
    if args.json:
        _print_json(result)
        return 0
    print(f"{args.file}: {fmt.kind}, {fmt.encoding}, delimiter {fmt.delimiter!r}, "
          f"header {'yes' if fmt.has_header else 'no'}; time parsed as {res.cleaning_report()['time_parse']}")
    print("mapping: " + ", ".join(f"{k}={v}" for k, v in res.mapping.items()))
    print(f"rows read {p['rows_in']:,}, kept {p['rows_kept']:,}; users {p['users']:,}, items {p['items']:,}; "
          f"{p['time_min']} .. {p['time_max']}")
    print("events: " + ", ".join(f"{k} {v:,}" for k, v in p["events"].items()))
    print("funnel (events of a step / events of the previous step): "
          + " -> ".join(f"{k} {v:.2%}" if v is not None else f"{k} n/a" for k, v in p["funnel"].items()))
    for action, counts in p["side_actions"].items():  # not funnel steps (a fav is not on the way to a purchase)
        per_view = (f", {counts['events'] / p['events']['view']:.1%} of view events" if p["events"].get("view")
                    else "")
        print(f"beside the funnel: {action} {counts['events']:,} events by {counts['users']:,} users{per_view}")
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


# --- effect -----------------------------------------------------------------------------

#: --method choices: the ATE estimators of the registry, then CATE learners (lazy imports).
EFFECT_METHODS: tuple[str, ...] = ("naive", "regression", "ipw", "aipw", "matching", "s-learner", "t-learner",
                                   "x-learner", "dr-learner", "dragonnet")
_CATE_METHODS = {"s-learner": "s_learner", "t-learner": "t_learner", "x-learner": "x_learner",
                 "dr-learner": "dr_learner"}


def _effect_learner(method: str, seed: int, base_learner: str | None = None):
    """A fresh, unfitted estimator for ``method`` (CATE modules are imported here, lazily)."""
    from causalrec_core.effects.estimators import ESTIMATORS, make_estimator
    from causalrec_core.errors import CausalRecError as _Err
    from causalrec_core.errors import ParameterError

    if base_learner is not None and method not in _CATE_METHODS:
        raise ParameterError(f"--base-learner applies to the meta-learners only "
                             f"({', '.join(repr(m) for m in _CATE_METHODS)}), not to method={method!r}.")
    if method in ESTIMATORS:
        return make_estimator(method, seed=seed)
    if method in _CATE_METHODS:
        module = "causalrec_core.effects.cate"
        try:
            from causalrec_core.effects import cate
            cls = cate.CATE_LEARNERS[_CATE_METHODS[method]]
        except (ImportError, AttributeError, KeyError):
            raise _Err(f"method={method!r} needs {module}, which is not available.") from None
        return cls(random_state=seed) if base_learner is None else cls(random_state=seed, base_learner=base_learner)
    if method == "dragonnet":
        module = "causalrec_core.effects.neural"
        try:
            from causalrec_core.effects import neural
            cls = neural.NEURAL_LEARNERS["dragonnet"]
        except (ImportError, AttributeError, KeyError):
            raise _Err(f"method={method!r} needs {module}, which is not available.") from None
        return cls(random_state=seed)
    from causalrec_core.errors import invalid_choice

    raise invalid_choice("method", method, EFFECT_METHODS)


def _effect_result(est, estimand: str):
    from causalrec_core.errors import ParameterError

    try:
        return est.result(estimand)
    except TypeError:  # CATE learners: result() is the ATE
        if estimand != "ate":
            raise ParameterError(f"estimand={estimand!r} is not supported by {type(est).__name__}; "
                                 "choose 'ate'.") from None
        return est.result()


def _unit_cate(est, method: str):
    """Per-unit effect estimates of a fitted estimator, or None when it has none."""
    if "cate_" in vars(est):
        return est.cate_
    if method == "aipw":  # cross-fitted outcome models: mu1(x) - mu0(x)
        return est.mu1_ - est.mu0_
    return None


def _cmd_effect(args) -> int:
    import numpy as np
    import pandas as pd

    from causalrec_core.data.io import read_table_file
    from causalrec_core.effects.units import covariates_from_graph, detect_kind, node_for_column
    from causalrec_core.errors import ParameterError

    data = read_table_file(args.data)
    name = Path(args.data).name
    for flag, col in (("--treatment", args.treatment), ("--outcome", args.outcome),
                      ("--propensity-column", args.propensity_column)):
        if col is not None and col not in data.columns:
            raise ParameterError(f"{flag}={col!r} is not a column of {name!r}; choose from: "
                                 + ", ".join(map(str, data.columns)) + ".")
    if args.treatment == args.outcome:
        raise ParameterError(f"--treatment and --outcome are both {args.treatment!r}; they must differ.")
    t_kind = detect_kind(data[args.treatment])
    if t_kind != "binary":
        vals = pd.unique(data[args.treatment].dropna())
        shown = ", ".join(f"{v:g}" if isinstance(v, (int, float, np.number)) else repr(v) for v in vals[:6])
        raise ParameterError(f"--treatment={args.treatment!r} must be a binary 0/1 column; found values: {shown}"
                             + (", ..." if len(vals) > 6 else "") + ".")
    y_kind = detect_kind(data[args.outcome])
    if args.graph is None and args.covariates is None:
        raise ParameterError("give --graph FILE (use its adjustment set) or --covariates a,b,c "
                             "(an empty --covariates '' means no adjustment).")
    warnings: list[str] = []
    chosen = _split_list(args.covariates) if args.covariates is not None else None
    if args.graph:
        from causalrec_core.graph.formats import read_graph

        g = read_graph(Path(args.graph))
        cols = [str(c) for c in data.columns]
        t_node = node_for_column(g, args.treatment, cols, param="--treatment")
        y_node = node_for_column(g, args.outcome, cols, param="--outcome")
        choice = covariates_from_graph(g, t_node, y_node, cols, chosen=chosen)
        warnings += choice.warnings
        covariates = chosen if chosen is not None else choice.covariates
        source = "user (checked against the graph)" if chosen is not None else f"graph ({choice.source} set)"
    else:
        covariates, source = chosen or [], "user"
        if not covariates:
            warnings.append("no covariates: the estimate is not adjusted for any confounder.")
    bad = [c for c in covariates if c in (args.treatment, args.outcome)]
    if bad:
        raise ParameterError(f"--covariates must not contain the treatment or the outcome; found {bad}.")
    from causalrec_core.effects.run import prepare_design

    # the same rows and design as the Effects page (rows with a missing value, or a logged
    # propensity outside (0, 1), are left out and counted in the notes)
    design = prepare_design(data, args.treatment, args.outcome, covariates, propensity_column=args.propensity_column,
                            seed=args.seed, log_skewed_covariates=not args.raw_covariates)
    warnings += [n for n in design.notes if "left out" in n]
    enc_notes = [n for n in design.notes if "left out" not in n]
    Xk, t, y, e = design.X, design.t, design.y, design.e
    keep = data.index.isin(design.rows.index)
    est = _effect_learner(args.method, args.seed, args.base_learner)
    if e is not None:
        est.fit(Xk, t, y, propensity=e)
    else:
        est.fit(Xk, t, y)
    res = _effect_result(est, args.estimand)
    out = {
        "estimand": res.estimand, "estimate": res.estimate, "se": res.se, "ci_low": res.ci_low,
        "ci_high": res.ci_high, "ci_method": res.ci_method, "level": res.level, "n": res.n, "method": args.method,
        "treatment": args.treatment, "outcome": args.outcome, "treatment_kind": t_kind, "outcome_kind": y_kind,
        "adjustment_set": list(covariates), "adjustment_source": source, "covariate_columns": list(Xk.columns),
        "propensity_column": args.propensity_column, "seed": args.seed,
        "assumptions": list(res.assumptions), "notes": list(res.notes) + enc_notes, "warnings": warnings,
    }
    if args.cate_out:
        from causalrec_core.data.export import to_csv_bytes
        from causalrec_core.store.atomic import atomic_write_bytes

        cate = _unit_cate(est, args.method)
        if cate is None:
            raise ParameterError(f"--cate-out needs unit-level effects, which method={args.method!r} does not "
                                 "estimate; choose one of: 'aipw', 's-learner', 't-learner', 'x-learner', "
                                 "'dr-learner', 'dragonnet'.")
        ids = [c for c in ("user_id", "item_id") if c in data.columns]
        table = data.loc[keep, ids].reset_index(drop=True) if ids else pd.DataFrame(
            {"row": np.flatnonzero(keep)})
        table[args.treatment] = data.loc[keep, args.treatment].to_numpy()
        table[args.outcome] = data.loc[keep, args.outcome].to_numpy()
        table["cate"] = np.asarray(cate, dtype=float)
        atomic_write_bytes(args.cate_out, to_csv_bytes(table))
        out["cate_out"] = str(args.cate_out)
        out["cate_rows"] = len(table)
    if args.refute:
        from causalrec_core.effects import refute as rf

        def factory():
            return _effect_learner(args.method, args.seed, args.base_learner)

        kw = dict(seed=args.seed, propensity=e)
        out["refutations"] = [
            rf.placebo_treatment(factory, Xk, t, y, n_sims=args.refute_sims, **kw),
            rf.random_common_cause(factory, Xk, t, y, n_sims=max(1, args.refute_sims // 2), **kw),
            rf.data_subsets(factory, Xk, t, y, n_sims=args.refute_sims, **kw),
        ]
        if y_kind == "binary":
            p0 = float(y[t == 0].mean()) if (t == 0).any() else float("nan")
            out["refutations"].append(rf.binary_e_value(res.estimate, (res.ci_low, res.ci_high), p0))
        else:
            out["refutations"].append(rf.e_value(res.estimate, (res.ci_low, res.ci_high),
                                                 outcome_sd=float(y.std()) or 1.0))
    if args.json:
        _print_json(out)
        return 0
    print(f"{args.method} {res.estimand.upper()} of {args.treatment} on {args.outcome}: {res.estimate:.6g} "
          f"({res.level:.0%} CI {res.ci_low:.6g} .. {res.ci_high:.6g}, {res.ci_method}; n={res.n:,})")
    print(f"  adjustment set ({source}): {', '.join(covariates) or 'none'}")
    for w in warnings:
        print(f"  warning: {w}")
    for r in out.get("refutations", []):
        print(f"  {r['refuter']}: {'passed' if r['passed'] else 'FAILED'} - {r['verdict']}")
    if args.cate_out:
        print(f"  wrote {out['cate_rows']:,} unit effects to {args.cate_out}")
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
    p.add_argument("--time-zone", default="UTC", metavar="ZONE",
                   help="IANA time zone of text timestamps without an offset (e.g. Europe/Paris); they are "
                        "converted to UTC. Timestamps with an offset and epoch numbers are not affected.")
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

    p = sub.add_parser("effect", help="estimate the average effect of a binary treatment on an outcome",
                       description="Estimate the ATE (or ATT) of TREATMENT on OUTCOME in a unit table, "
                                   "adjusting for --covariates or for the adjustment set of --graph.")
    p.add_argument("--data", required=True, help="unit table (.csv, .tsv, .parquet, .jsonl)")
    p.add_argument("--treatment", required=True, help="binary 0/1 treatment column")
    p.add_argument("--outcome", required=True, help="outcome column (binary or continuous)")
    p.add_argument("--graph", help="causal graph file; its optimal (else minimal) adjustment set is used")
    p.add_argument("--covariates", help="comma-separated covariate columns (with --graph: checked against it)")
    p.add_argument("--method", default="aipw", choices=EFFECT_METHODS, help="estimator (default aipw)")
    p.add_argument("--base-learner", choices=("gbm", "linear", "ridge"),
                   help="base learner of the meta-learners (default: the learner's own, gbm)")
    p.add_argument("--estimand", default="ate", choices=("ate", "att"), help="ate (default) or att")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--propensity-column", help="column of known (logged) treatment probabilities")
    p.add_argument("--raw-covariates", action="store_true",
                   help="do not log1p-transform the skewed pair covariates (user_activity, item_popularity) "
                        "before fitting the nuisance models (default: transform them when raw-scale)")
    p.add_argument("--cate-out", help="write one row per unit with its estimated effect (CSV)")
    p.add_argument("--refute", action="store_true", help="also run placebo, random-cause, subset checks "
                                                          "and the E-value")
    p.add_argument("--refute-sims", type=int, default=5, help="refits per refuter (default 5)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_effect)

    from causalrec_core.train.cli import add_train_parser

    add_train_parser(sub)
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
