"""Read + map + clean + features + profile, in one DuckDB pass per stage.

The engine is DuckDB (chosen by measurement, see ``bench/bench_ingest.py`` and BENCHMARKS.md):
its CSV reader is the fastest here, and it keeps peak memory bounded on 10M-event logs by
spilling to disk. Pandas frames appear only at the edges (previews, small side tables).

Output, written into ``out_dir`` (the project store moves it into place atomically):

``events.parquet``        canonical events (row_id, user_id, item_id, timestamp UTC, event, value,
                          exposed, position, propensity, extra columns, flags)
``rejected.parquet``      every dropped row with its reason (nothing is dropped silently)
``users.parquet``         per-user features       ``items.parquet``  per-item features
``interactions.parquet``  per user x item pair with dense ids (user_idx, item_idx), exposure, propensity
``user_side.parquet`` / ``item_side.parquet``  side tables, when given
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from causalrec_core.data import features as feat
from causalrec_core.data import profile as prof
from causalrec_core.data.clean import CleaningOptions, report_entry, summarise
from causalrec_core.data.io import (
    FileFormat,
    RawSource,
    _first_line,
    delimiter_for_single_column,
    file_sha256,
    normalise_column_names,
    sniff,
)
from causalrec_core.data.mapping import (
    MAPPING_REQUIRED,
    TimeParse,
    UnmappedRoleError,
    canonical_event,
    detect_time_parse,
    validate_event_map,
    validate_mapping,
)
from causalrec_core.data.schema import ROLE_COLUMN
from causalrec_core.errors import DataError

_MAX_EVENT_LABELS = 1000


def q(name: str) -> str:
    """Quote an SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def lit(value: str) -> str:
    """Quote an SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


@dataclass
class IngestResult:
    """What :func:`ingest` produced: table paths, the cleaning report and the profile."""

    out_dir: Path
    tables: dict[str, Path]
    mapping: dict[str, str]
    event_map: dict[str, str | None]
    file_format: FileFormat
    time_parse: TimeParse
    options: CleaningOptions
    report: list[dict]
    profile: dict
    source_hash: str
    content_hash: str
    n_rows: int
    source: dict = field(default_factory=dict)

    def cleaning_report(self) -> dict:
        parse = self.time_parse.describe()
        if self.time_parse.kind != "epoch":  # epochs are absolute; text may lack an offset: say what was assumed
            tz = self.options.time_zone
            parse += (f"; timestamps without an offset were read as {tz} time"
                      + ("" if tz == "UTC" else " and converted to UTC"))
        return {"rules": self.report, "options": self.options.to_dict(), "time_parse": parse,
                "event_map": self.event_map}


def connect(tmp_dir: Path | None = None, memory_limit: str | None = None):
    """A DuckDB connection set up for ingestion (UTC, bounded memory, spill folder)."""
    import duckdb

    con = duckdb.connect(config={"threads": max(os.cpu_count() or 1, 1)})
    con.execute("SET TimeZone='UTC'")
    con.execute(f"SET memory_limit={lit(memory_limit or os.environ.get('CAUSALREC_DUCKDB_MEMORY', '1GB'))}")
    if tmp_dir is not None:
        con.execute(f"SET temp_directory={lit(str(tmp_dir))}")
    con.execute("SET preserve_insertion_order=true")
    return con


#: a text timestamp that carries its own offset ('Z', '+02:00', '-0500'): absolute, whatever the time zone option
_HAS_OFFSET = r"(Z|[+-]\d\d(:?\d\d)?)$"


def _time_expr(col: str, tp: TimeParse, *, text_ready: bool = False, time_zone: str = "UTC") -> str:
    """SQL for the UTC instant of a timestamp column; text without an offset is read as ``time_zone``."""
    x = col if text_ready else f"NULLIF(trim(CAST({q(col)} AS VARCHAR)), '')"
    if tp.kind == "epoch":
        scale = {"s": 1, "ms": 1e3, "us": 1e6}[tp.unit]
        d = f"(TRY_CAST({x} AS DOUBLE) / {scale})"
        return f"CASE WHEN {d} BETWEEN -2e10 AND 2e10 THEN to_timestamp({d}) END"
    if tp.fmt is None:
        if time_zone == "UTC":
            return f"TRY_CAST({x} AS TIMESTAMPTZ)"
        return (f"CASE WHEN regexp_matches({x}, {lit(_HAS_OFFSET)}) THEN TRY_CAST({x} AS TIMESTAMPTZ) "
                f"ELSE timezone({lit(time_zone)}, TRY_CAST({x} AS TIMESTAMP)) END")
    if time_zone == "UTC" or any(d in tp.fmt for d in ("%z", "%Z")):
        return f"CAST(try_strptime({x}, {lit(tp.fmt)}) AS TIMESTAMPTZ)"
    return f"timezone({lit(time_zone)}, CAST(try_strptime({x}, {lit(tp.fmt)}) AS TIMESTAMP))"


def _raw_columns(con, src_sql: str, fmt: FileFormat) -> tuple[list[str], list[str]]:
    try:
        desc = con.execute(f"DESCRIBE SELECT * FROM {src_sql}").fetchall()
    except Exception as err:  # duckdb.Error subclasses vary by version
        raise DataError(f"Cannot read the file as {fmt.kind}: {_first_line(err)}") from None
    raw = [r[0] for r in desc]
    return raw, normalise_column_names(raw, fmt.has_header)


def _event_labels(con, src_sql: str, raw_col: str) -> list[str]:
    rows = con.execute(
        f"SELECT DISTINCT lower(trim(CAST({q(raw_col)} AS VARCHAR))) FROM {src_sql} "
        f"LIMIT {_MAX_EVENT_LABELS + 1}"
    ).fetchall()
    labels = [r[0] for r in rows if r[0] not in (None, "")]
    if len(labels) > _MAX_EVENT_LABELS:
        raise DataError(
            f"The event column {raw_col!r} has more than {_MAX_EVENT_LABELS} distinct labels: "
            "it is probably not the event column; map another one or none."
        )
    return sorted(labels)


def event_labels(path: str | Path, fmt: FileFormat, column: str) -> list[str]:
    """Distinct (lower-cased, trimmed) labels of ``column`` over the whole file, for the event map."""
    con = connect()
    try:
        with RawSource(path, fmt) as src:
            raw, cols = _raw_columns(con, src.sql(), fmt)
            if column not in cols:
                from causalrec_core.errors import ParameterError

                raise ParameterError(f"column={column!r} is not a column of the file; choose one of: "
                                     + ", ".join(map(repr, cols)) + ".")
            return _event_labels(con, src.sql(), raw[cols.index(column)])
    finally:
        con.close()


def ingest(
    path: str | Path,
    mapping: Mapping[str, str | None],
    out_dir: str | Path,
    *,
    file_format: FileFormat | None = None,
    event_map: Mapping[str, str | None] | None = None,
    options: CleaningOptions | None = None,
    default_event: str = "view",
    items_path: str | Path | None = None,
    users_path: str | Path | None = None,
    memory_limit: str | None = None,
) -> IngestResult:
    """Read ``path``, map it to the canonical schema, clean it, build features and profile it.

    Parameters
    ----------
    mapping : role -> column name (as in :func:`causalrec_core.data.io.preview`); roles
        ``user``, ``item`` and ``timestamp`` are required, ``event`` is optional (every row is
        ``default_event`` without it).
    event_map : raw label -> canonical event (None = unknown). Missing labels are suggested.
    options : what to do with flagged rows.

    Raises
    ------
    DataError
        Unreadable file, no data rows, no usable timestamps, or nothing left after cleaning.
    """
    path = Path(path)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    options = options or CleaningOptions()
    fmt = file_format or sniff(path)
    if canonical_event(default_event) is None:
        from causalrec_core.data.schema import CANONICAL_EVENTS
        from causalrec_core.errors import invalid_choice

        raise invalid_choice("default_event", default_event, CANONICAL_EVENTS)
    spill = out_dir / ".spill"
    con = connect(spill, memory_limit)
    try:
        with RawSource(path, fmt, tmp_dir=out_dir) as src:
            result = _ingest(con, src, path, fmt, mapping, out_dir, event_map, options,
                             canonical_event(default_event), items_path, users_path)
    finally:
        con.close()
        if spill.exists():
            import shutil

            shutil.rmtree(spill, ignore_errors=True)
    return result


def _check_single_column(path: Path, fmt: FileFormat, mapping: Mapping[str, str | None], cols: list[str]) -> None:
    """A file read as one column: blame the delimiter when another one would split the lines,
    otherwise say that the file has a single column and which required columns it lacks."""
    why = ""
    if fmt.kind == "csv":
        alt = delimiter_for_single_column(path, fmt)
        if alt is not None:
            raise DataError(f"{path.name!r}: Only one column found with delimiter {fmt.delimiter!r}; the file seems "
                            f"to use {alt!r}. Choose the delimiter by hand.")
        why = ": no delimiter (comma, tab, semicolon or pipe) splits its lines"
    try:
        validate_mapping(mapping, cols)
    except UnmappedRoleError:
        missing = [r for r in MAPPING_REQUIRED if not mapping.get(r)]
        names = " and ".join([", ".join(missing[:-1]), missing[-1]] if len(missing) > 1 else missing)
        raise DataError(
            f"{path.name!r} has a single column ({cols[0]!r}){why}. A behaviour log needs a user, an item and a "
            f"timestamp column: the {names} column{'s are' if len(missing) > 1 else ' is'} missing (no column to "
            f"map to the role{'s' if len(missing) > 1 else ''} {' and '.join(map(repr, missing))})."
        ) from None


def _ingest(con, src, path, fmt, mapping, out_dir, event_map, options, default_event,
            items_path, users_path) -> IngestResult:
    src_sql = src.sql()
    raw_cols, cols = _raw_columns(con, src_sql, fmt)
    if len(cols) == 1:
        _check_single_column(path, fmt, mapping, cols)
    m = validate_mapping(mapping, cols)
    by_name = dict(zip(cols, raw_cols, strict=False))
    rc = {role: by_name[col] for role, col in m.items()}  # role -> raw (DuckDB) column name

    # -- timestamp format from a sample -------------------------------------------------------
    sample = con.execute(
        f"SELECT CAST({q(rc['timestamp'])} AS VARCHAR) FROM {src_sql} "
        f"WHERE {q(rc['timestamp'])} IS NOT NULL LIMIT 2000"
    ).fetchall()
    if not sample:
        n = con.execute(f"SELECT count(*) FROM {src_sql}").fetchone()[0]
        if n == 0:
            raise DataError(f"{path.name!r} has no data rows (only a header, or nothing readable).")
        raise DataError(f"The timestamp column {m['timestamp']!r} is empty in every row.")
    tp = detect_time_parse(pd.Series([s[0] for s in sample]))

    extras = [(c, by_name[c]) for c in cols if c not in m.values()
              and c not in ("row_id", "flags", *ROLE_COLUMN.values())]
    # Three layers, each computing an expression once: (1) trimmed text, (2) parsed values,
    # (3) 'bad value' flags and the raw timestamp text, kept only where it did not parse.
    def text(col: str) -> str:
        return f"NULLIF(trim(CAST({q(col)} AS VARCHAR)), '')"

    layer1 = [f"{text(rc['user'])} AS user_id", f"{text(rc['item'])} AS item_id",
              f"{text(rc['timestamp'])} AS _ts_s",
              (f"lower({text(rc['event'])}) AS _event_raw" if "event" in rc
               else "CAST(NULL AS VARCHAR) AS _event_raw")]
    ts_expr = _time_expr("_ts_s", tp, text_ready=True, time_zone=options.time_zone)
    layer2 = ["user_id", "item_id", f"{ts_expr} AS timestamp", "_ts_s", "_event_raw"]
    layer3 = ["user_id", "item_id", "timestamp", "CASE WHEN timestamp IS NULL THEN _ts_s END AS _ts_raw",
              "_event_raw"]
    parsers = {
        "value": "TRY_CAST(_value_s AS DOUBLE)",
        "exposed": ("CASE WHEN _exposed_s IN ('1','true','t','yes','y','1.0') THEN true "
                    "WHEN _exposed_s IN ('0','false','f','no','n','0.0') THEN false END"),
        "position": "TRY_CAST(TRY_CAST(_position_s AS DOUBLE) AS INTEGER)",
        "propensity": "TRY_CAST(_propensity_s AS DOUBLE)",
    }
    for role, parse in parsers.items():
        if role in rc:
            raw_text = f"lower({text(rc[role])})" if role == "exposed" else text(rc[role])
            layer1.append(f"{raw_text} AS _{role}_s")
            layer2 += [f"{parse} AS {role}", f"_{role}_s IS NOT NULL AS _{role}_present"]
            layer3 += [role, f"_{role}_present AND {role} IS NULL AS _{role}_bad"]
    layer1 += [f"{q(raw)} AS {q(name)}" for name, raw in extras]
    layer2 += [q(name) for name, _ in extras]
    layer3 += [q(name) for name, _ in extras]
    try:
        con.execute(f"CREATE TEMP TABLE t AS SELECT {', '.join(layer3)} FROM ("
                    f"SELECT {', '.join(layer2)} FROM (SELECT {', '.join(layer1)} FROM {src_sql}))")
    except Exception as err:
        raise DataError(f"Cannot read {path.name!r}: {_first_line(err)}") from None

    rows_read = con.execute("SELECT count(*) FROM t").fetchone()[0]
    malformed = _malformed(con, fmt)
    rows_in = rows_read + len(malformed)
    # t keeps the file's order (preserve_insertion_order), so rowid + 1 is the data-row number.
    # Malformed lines keep their line number as row_id; the rows that were read take the numbers
    # left free (row k -> k-th number not used by a malformed line), so every row_id is unique.
    row_id = "(t.rowid + 1)"
    if malformed:
        gaps = [line - j for j, (line, _, _) in enumerate(malformed, start=1)]
        con.execute("CREATE TEMP TABLE _gap AS SELECT unnest(?::BIGINT[]) AS g", [gaps])
        row_id = "(t.rowid + 1 + (SELECT count(*) FROM _gap WHERE g < t.rowid + 1))"
    if rows_in == 0:
        raise DataError(f"{path.name!r} has no data rows (only a header, or nothing readable).")

    # -- event labels -> canonical events (from the loaded table: no second read of the file) ----
    labels = []
    if "event" in rc:
        labels = sorted(r[0] for r in con.execute(
            f"SELECT DISTINCT _event_raw FROM t WHERE _event_raw IS NOT NULL LIMIT {_MAX_EVENT_LABELS + 1}"
        ).fetchall())
        if len(labels) > _MAX_EVENT_LABELS:
            raise DataError(
                f"The event column {m['event']!r} has more than {_MAX_EVENT_LABELS} distinct labels: "
                "it is probably not the event column; map another one or none.")
    emap = {lab: canonical_event(lab) for lab in labels}
    if event_map:
        emap.update({str(k).strip().lower(): v for k, v in validate_event_map(event_map).items()})
    if labels:
        cases = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in emap.items() if v)
        event_expr = f"(CASE t._event_raw {cases} ELSE NULL END)" if cases else "CAST(NULL AS VARCHAR)"
    else:
        event_expr = lit(default_event)

    # -- rule flags ---------------------------------------------------------------------------
    has = {role: role in rc for role in ("value", "exposed", "position", "propensity")}
    bad_value = ["_value_bad", "value < 0"] if has["value"] else []
    if has["exposed"]:
        bad_value.append("_exposed_bad")
    if has["position"]:
        bad_value += ["_position_bad", "position < 1"]
    if has["propensity"]:
        bad_value += ["_propensity_bad", "propensity <= 0", "propensity > 1"]
    oor = " OR ".join(f"coalesce({b}, false)" for b in bad_value) or "false"
    dup_cols = ["user_id", "item_id", "timestamp", "_ts_raw", "_event_raw"] + [
        c for c in ("value", "exposed", "position", "propensity") if has.get(c)] + [q(n) for n, _ in extras]
    # Exact duplicates: rows whose 64-bit hash repeats are candidates; the exact comparison of
    # every column runs only on them (a hash collision can never drop a row).
    dup_list = ", ".join(dup_cols)
    con.execute(f"""
        CREATE TEMP TABLE dups AS
        WITH k AS (SELECT hash({dup_list}) AS h FROM t GROUP BY h HAVING count(*) > 1),
             c AS (SELECT rowid AS rid, row_number() OVER (PARTITION BY {dup_list} ORDER BY rowid) AS rn
                   FROM t WHERE hash({dup_list}) IN (SELECT h FROM k))
        SELECT rid FROM c WHERE rn > 1""")
    bot_threshold, bot_why = ((options.bot_threshold, "") if options.bot_threshold
                              else _auto_bot_threshold(con))
    con.execute(f"""
        CREATE TEMP TABLE bots AS
        SELECT user_id, count(*) AS n FROM t WHERE user_id IS NOT NULL
        GROUP BY user_id HAVING count(*) > {int(bot_threshold)}""")
    con.execute(f"""
        CREATE TEMP TABLE f AS SELECT t.rowid AS rid, {event_expr} AS event,
          user_id IS NULL AS r_missing_user,
          item_id IS NULL AND user_id IS NOT NULL AS r_missing_item,
          timestamp IS NULL AND user_id IS NOT NULL AND item_id IS NOT NULL AS r_bad_ts,
          t.rowid IN (SELECT rid FROM dups) AS r_dup,
          {event_expr} IS NULL AND {lit(str(bool(labels)))} = 'True' AS r_unknown,
          ({oor}) AS r_oor,
          (timestamp < TIMESTAMPTZ '1990-01-01' OR timestamp > now() + INTERVAL 1 DAY) AS r_time,
          user_id IN (SELECT user_id FROM bots) AS r_bot
        FROM t""")
    drop = {"duplicate": options.duplicate == "drop", "unknown_event": options.unknown_event == "drop",
            "out_of_range_value": options.out_of_range_value == "drop",
            "implausible_time": options.implausible_time == "drop", "bot_user": options.bot_user == "drop"}
    # A row counts once: a dropped row under its first reason (as in 'rejected'), a flag only on kept
    # rows, so that rows_in == rows_kept + sum(dropped) and flagged counts match the 'flags' column.
    rule_conds = [("duplicate", "r_dup"), ("unknown_event", "r_unknown"), ("out_of_range_value", "r_oor"),
                  ("implausible_time", "r_time"), ("bot_user", "r_bot")]
    earlier = ["r_missing_user", "r_missing_item", "r_bad_ts"]
    dropping = " OR ".join(f"coalesce({c}, false)" for c in earlier + [c for r, c in rule_conds if drop[r]])
    rule_counts = []
    for rule, c in rule_conds:
        before = " OR ".join(f"coalesce({e}, false)" for e in earlier)
        rule_counts.append(f"count(*) FILTER (coalesce({c}, false) AND NOT ({before if drop[rule] else dropping}))")
        if drop[rule]:
            earlier.append(c)
    counts = con.execute("SELECT count(*) FILTER (r_missing_user), count(*) FILTER (r_missing_item), "
                         f"count(*) FILTER (r_bad_ts), {', '.join(rule_counts)} FROM f").fetchone()
    n_miss_u, n_miss_i, n_bad_ts, n_dup, n_unknown, n_oor, n_time, n_bot = counts
    n_bot_users = con.execute("SELECT count(*) FROM bots").fetchone()[0]
    if n_bad_ts and n_bad_ts == rows_read - n_miss_u - n_miss_i:
        # distinct values, in the order they first appear in the file
        has_ids = "user_id IS NOT NULL AND item_id IS NOT NULL"
        ex = con.execute(f"SELECT _ts_raw FROM t WHERE _ts_raw IS NOT NULL AND {has_ids} GROUP BY _ts_raw "
                         "ORDER BY min(rowid) LIMIT 3").fetchall()
        n_distinct = con.execute(f"SELECT count(DISTINCT _ts_raw) FROM t WHERE {has_ids}").fetchone()[0]
        shown = ", ".join(repr(e[0]) for e in ex)
        examples = (f"{n_distinct:,} distinct value{'s' if n_distinct != 1 else ''}"
                    + (", e.g. " if n_distinct > len(ex) else ": ") + shown if ex else "all of them empty")
        raise DataError(
            f"No value of the timestamp column {m['timestamp']!r} can be parsed as a time "
            f"({n_bad_ts:,} row{'s' if n_bad_ts != 1 else ''}; {examples}); "
            "map another column as the timestamp, or convert it to epoch seconds, epoch milliseconds or ISO-8601."
        )

    report = [
        report_entry("malformed_line", len(malformed), True,
                     "; ".join(sorted({e for _, _, e in malformed}))[:300]),
        report_entry("missing_user_id", n_miss_u, True),
        report_entry("missing_item_id", n_miss_i, True),
        report_entry("unparseable_timestamp", n_bad_ts, True, f"parsed as {tp.describe()}"),
        report_entry("duplicate", n_dup, drop["duplicate"]),
        report_entry("unknown_event", n_unknown, drop["unknown_event"],
                     ", ".join(sorted(k for k, v in emap.items() if v is None))[:300]),
        report_entry("out_of_range_value", n_oor, drop["out_of_range_value"]),
        report_entry("implausible_time", n_time, drop["implausible_time"]),
        report_entry("bot_user", n_bot, drop["bot_user"],
                     f"{n_bot_users:,} user{'' if n_bot_users == 1 else 's'} with more than "
                     f"{int(bot_threshold):,} events"
                     + (f" (automatic threshold: {bot_why})" if options.bot_threshold is None else "")),
    ]
    required_bad = "(f.r_missing_user OR f.r_missing_item OR f.r_bad_ts)"
    reason = (
        "CASE WHEN f.r_missing_user THEN 'missing_user_id' WHEN f.r_missing_item THEN 'missing_item_id' "
        "WHEN f.r_bad_ts THEN 'unparseable_timestamp' "
        + "".join(f"WHEN {cond} THEN '{rule}' " for rule, cond in (
            ("duplicate", "f.r_dup"), ("unknown_event", "f.r_unknown"), ("out_of_range_value", "f.r_oor"),
            ("implausible_time", "coalesce(f.r_time, false)"), ("bot_user", "f.r_bot")) if drop[rule])
        + "END"
    )
    drop_cond = " OR ".join([required_bad] + [c for rule, c in (
        ("duplicate", "f.r_dup"), ("unknown_event", "f.r_unknown"), ("out_of_range_value", "f.r_oor"),
        ("implausible_time", "coalesce(f.r_time, false)"), ("bot_user", "f.r_bot")) if drop[rule]])
    flags = ("NULLIF(concat_ws(';', " + ", ".join(
        f"CASE WHEN {c} THEN '{rule}' END" for rule, c in (
            ("duplicate", "f.r_dup"), ("unknown_event", "f.r_unknown"), ("out_of_range_value", "f.r_oor"),
            ("implausible_time", "coalesce(f.r_time, false)"), ("bot_user", "f.r_bot"))) + "), '')")

    def clean_col(name: str, bad: str) -> str:
        return f"CASE WHEN {bad} THEN NULL ELSE t.{name} END AS {name}"

    out_cols = [f"{row_id} AS row_id", "t.user_id", "t.item_id", "t.timestamp",
                "coalesce(f.event, 'other') AS event"]
    if has["value"]:
        out_cols.append(clean_col("value", "coalesce(t.value < 0, false)"))
    if has["exposed"]:
        out_cols.append("t.exposed")
    if has["position"]:
        out_cols.append(clean_col("position", "coalesce(t.position < 1, false)"))
    if has["propensity"]:
        out_cols.append(clean_col("propensity", "coalesce(t.propensity <= 0 OR t.propensity > 1, false)"))
    out_cols += [f"t.{q(n)}" for n, _ in extras]
    out_cols.append(f"{flags} AS flags")
    tables: dict[str, Path] = {}
    n_dropped = n_miss_u + n_miss_i + n_bad_ts + sum(
        n for rule, n in (("duplicate", n_dup), ("unknown_event", n_unknown), ("out_of_range_value", n_oor),
                          ("implausible_time", n_time), ("bot_user", n_bot)) if drop[rule])
    rows_kept = rows_read - n_dropped
    if rows_kept == 0:
        raise DataError(
            f"No row of {path.name!r} is left after cleaning ({rows_in} read): "
            + ", ".join(f"{r['rule']}={r['rows']}" for r in report if r["rows"])
            + ". Check the column mapping and the cleaning options."
        )
    # The events go straight to Parquet (f was built from t in t's order, so the positional join
    # keeps the file order without a sort); later stages read that file back (a fast scan) instead
    # of holding a second copy of the events in memory.
    tables["events"] = _copy(con, f"SELECT {', '.join(out_cols)} FROM t POSITIONAL JOIN f WHERE NOT ({drop_cond})",
                             out_dir / "events.parquet")
    con.execute(f"CREATE TEMP VIEW ev AS SELECT * FROM read_parquet({lit(str(tables['events']))})")
    written = con.execute("SELECT count(*) FROM ev").fetchone()[0]
    if written != rows_kept:  # the counts above and the rows written must agree exactly
        raise RuntimeError(f"internal error: {written} events written but {rows_kept} expected")

    # rejected rows: required-field failures, rows dropped by choice, malformed lines
    rej_cols = [f"{row_id} AS row_id", "t.user_id", "t.item_id", "t.timestamp",
                "t._ts_raw AS timestamp_raw", "t._event_raw AS event_raw"]
    con.execute(f"CREATE TEMP TABLE rej AS SELECT {', '.join(rej_cols)}, {reason} AS reason, "
                "CAST(NULL AS VARCHAR) AS raw_line FROM t POSITIONAL JOIN f "
                f"WHERE {drop_cond if n_dropped else 'false'}")
    if malformed:
        con.executemany("INSERT INTO rej VALUES (?, NULL, NULL, NULL, NULL, NULL, 'malformed_line', ?)",
                        [(int(line), raw) for line, raw, _ in malformed])
    tables["rejected"] = _copy(con, "SELECT * FROM rej ORDER BY row_id", out_dir / "rejected.parquet")
    con.execute("DROP TABLE t")
    con.execute("DROP TABLE f")

    # -- side tables and features -------------------------------------------------------------------
    side = {}
    for key, side_path, id_role in (("item_side", items_path, "item"), ("user_side", users_path, "user")):
        if side_path is not None:
            side[key] = feat.load_side_table(con, Path(side_path), id_role, out_dir / f"{key}.parquet")
            tables[key] = out_dir / f"{key}.parquet"
    feat.build_features(con, has, side)
    for name in ("users", "items", "interactions"):
        tables[name] = _copy(con, f"SELECT * FROM {name}", out_dir / f"{name}.parquet")

    dropped, flagged = summarise(report)
    profile = prof.profile(con, rows_in=rows_in, dropped=dropped, flagged=flagged)
    source_hash = file_sha256(path)
    content_hash = hashlib.sha256(json.dumps(
        {"source": source_hash, "mapping": m, "event_map": emap, "options": options.to_dict(),
         "format": fmt.to_dict(), "default_event": default_event,
         "side": {k: file_sha256(p) for k, p in (("items", items_path), ("users", users_path)) if p}},
        sort_keys=True).encode()).hexdigest()
    return IngestResult(
        out_dir=out_dir, tables=tables, mapping=m, event_map=emap, file_format=fmt, time_parse=tp,
        options=options, report=report, profile=profile, source_hash=source_hash,
        content_hash=content_hash, n_rows=int(rows_kept),
        source={"file": path.name, "size_bytes": path.stat().st_size, "format": fmt.to_dict(),
                "time_zone": options.time_zone,
                "items_file": Path(items_path).name if items_path else None,
                "users_file": Path(users_path).name if users_path else None},
    )


def _copy(con, query: str, target: Path) -> Path:
    tmp = target.with_suffix(".parquet.tmp")
    con.execute(f"COPY ({query}) TO {lit(str(tmp))} (FORMAT parquet, COMPRESSION snappy)")
    os.replace(tmp, target)
    return target


def _malformed(con, fmt: FileFormat) -> list[tuple[int, str, str]]:
    if fmt.kind != "csv":
        return []
    try:
        # one line can report several errors (one per extra or missing column): count it once
        rows = con.execute("SELECT line, any_value(csv_line), string_agg(DISTINCT error_type, ', ') "
                           "FROM reject_errors WHERE scan_id = (SELECT max(scan_id) FROM reject_scans) "
                           "GROUP BY line ORDER BY line").fetchall()
    except Exception:  # no rejects table when nothing was rejected
        return []
    offset = 1 if fmt.has_header else 0
    return [(int(r[0]) - offset, str(r[1]), str(r[2])) for r in rows]


#: no user with at most this many events is called bot-like by the automatic rule (a person can do that much)
_BOT_MIN_EVENTS = 50


def _auto_bot_threshold(con) -> tuple[int, str]:
    """Events per user above which a user is bot-like, and which bound set it (for the report).

    A user is flagged when their count exceeds *all* of these bounds, each relative to the data:

    * **robust z on the log counts**: median + (z_N + 1.5) robust SDs (1.4826 MAD) of ln(count), where
      z_N = Phi^-1(1 - 1/N) is where the largest of N lognormal users is expected (2.7 SDs for 300 users,
      4.8 for a million), so the bound grows with the number of users as the real maximum does, and
      1.5 SDs more is the margin (beyond it the maximum falls well under 1% of the time). The median
      and MAD ignore a few extreme users, so bots do not raise it. (A fixed multiplier or ratio does not
      scale with N: 10 × the 99th percentile alone flagged a dozen ordinary users among a million with
      sigma = 1.2.)
    * **10 × the 99th percentile** of the per-user counts: a user ten times as active as the top 1%.
      It keeps heavy-tailed (power-law-like) shops, whose MAD understates the tail, from having their
      top customers flagged. Bots are assumed to be far fewer than 1% of users; when they are more,
      the 99th percentile is a bot and the user must set the threshold by hand (the report says which
      bound was used).
    * **20 × the median** count and at least ``_BOT_MIN_EVENTS`` events: for degenerate logs where
      the MAD is 0 (everyone has the same count), so that 2 or 3 events are never "bot-like".

    The old rule (median + 8 MADs, never below an absolute 500 events) let a 3,000-event crawler
    through in a shop with a median of 27 events and a top shopper at 60 (its bound was 3,829); here
    the threshold is 10 × the 99th percentile, about 600. On the bundled sample (2,000 users, median 32,
    max 106) it is 780 and nobody is flagged; on simulated lognormal activity (median 10, sigma 1.0-1.5,
    300 to a million users, 20 draws each for sigma 1.0 and 1.2) nobody was flagged either, the
    threshold staying 3-6 times above the most active user.
    """
    row = con.execute("""
        WITH n AS (SELECT count(*) AS k FROM t WHERE user_id IS NOT NULL GROUP BY user_id),
             c AS (SELECT ln(k) AS l FROM n),
             m AS (SELECT median(l) AS med FROM c)
        SELECT (SELECT med FROM m), (SELECT median(abs(l - (SELECT med FROM m))) FROM c),
               (SELECT quantile_cont(k, 0.99) FROM n), (SELECT count(*) FROM n)""").fetchone()
    if row[0] is None:
        return _BOT_MIN_EVENTS, f"at least {_BOT_MIN_EVENTS} events"
    import math
    from statistics import NormalDist

    med, mad, p99, n_users = float(row[0]), float(row[1] or 0.0), float(row[2]), int(row[3])
    z = NormalDist().inv_cdf(1 - 1 / max(n_users, 2)) + 1.5
    bounds = [
        (math.exp(med + z * 1.4826 * mad), f"median + {z:.1f} robust SDs of the log event counts"),
        (10 * p99, f"10 × the 99th percentile of events per user ({p99:,.0f})"),
        (20 * math.exp(med), f"20 × the median events per user ({math.exp(med):,.0f})"),
        (float(_BOT_MIN_EVENTS), f"at least {_BOT_MIN_EVENTS} events"),
    ]
    value, why = max(bounds, key=lambda b: b[0])
    return int(round(value)), why
