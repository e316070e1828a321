"""Per-user, per-item and per-pair feature tables, built in SQL over the cleaned events ``ev``.

``users``         user_id, n_events, n_items, n_<event> per canonical event, first_ts, last_ts,
                  active_days, recency_days (to the log's last time), conversion_rate
                  (purchases / views), side-table columns
``items``         item_id, n_events, n_users (popularity), n_<event>, conversion_rate,
                  popularity_rank (1 = most popular), side-table columns (category, price, title ...)
``interactions``  user_idx, item_idx (dense ids, sorted by id), user_id, item_id, n_events,
                  n_<event>, purchased, exposed, propensity, position, first_ts, last_ts
"""

from __future__ import annotations

from pathlib import Path

from causalrec_core.data.io import read_small
from causalrec_core.data.mapping import role_for_name
from causalrec_core.data.schema import CANONICAL_EVENTS
from causalrec_core.errors import DataError


def _q(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def load_side_table(con, path: Path, id_role: str, target: Path) -> str:
    """Read an item or user side table, find its id column, register it in DuckDB.

    Returns the name of the DuckDB table (``item_side`` / ``user_side``).
    """
    df = read_small(path)
    id_cols = [c for c in df.columns if role_for_name(c) == id_role]
    if not id_cols:
        raise DataError(
            f"The {id_role} side table {path.name!r} has no {id_role} id column; name one of its "
            f"columns {id_role}_id (columns: {', '.join(map(repr, df.columns))})."
        )
    key = id_cols[0]
    df = df.rename(columns={key: f"{id_role}_id"})
    df[f"{id_role}_id"] = df[f"{id_role}_id"].str.strip()
    dup = int(df[f"{id_role}_id"].duplicated().sum())
    if dup:
        raise DataError(f"The {id_role} side table {path.name!r} repeats {dup} ids in column {key!r}; "
                        "each id must appear once.")
    # numeric-looking columns become numbers (price, rating ...); the rest stay text
    import pandas as pd

    for c in df.columns:
        if c == f"{id_role}_id":
            continue
        num = pd.to_numeric(df[c], errors="coerce")
        if num.notna().sum() and num.notna().sum() == df[c].notna().sum():
            df[c] = num
    name = f"{id_role}_side"
    con.register(f"{name}_df", df)
    con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM {name}_df")
    con.unregister(f"{name}_df")
    tmp = target.with_suffix(".parquet.tmp")
    con.execute(f"COPY {name} TO '{str(tmp).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)")
    tmp.replace(target)
    return name


def _present_events(con) -> list[str]:
    got = {r[0] for r in con.execute("SELECT DISTINCT event FROM ev").fetchall()}
    return [e for e in CANONICAL_EVENTS if e in got]


def _side_cols(con, table: str, id_col: str) -> list[str]:
    cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    return [c for c in cols if c != id_col]


def build_features(con, has: dict[str, bool], side: dict[str, str]) -> None:
    """Create the temp tables ``users``, ``items`` and ``interactions`` from ``ev``.

    One GROUP BY over the events builds the pair table; users and items are aggregated from the
    (much smaller) pair table, so the events are scanned twice in all (pairs, active days).
    """
    events = _present_events(con)
    counts = ", ".join(f"(count(*) FILTER (event = '{e}'))::INTEGER AS n_{e}" for e in events)
    sums = ", ".join(f"sum(n_{e})::BIGINT AS n_{e}" for e in events)
    conv = ("CAST(sum(n_purchase) AS DOUBLE) / NULLIF(sum(n_view), 0)"
            if "purchase" in events and "view" in events else "CAST(NULL AS DOUBLE)")
    extra = []
    if has.get("exposed"):
        extra.append("bool_or(exposed) AS exposed")
    elif "exposure" in events:
        extra.append("count(*) FILTER (event = 'exposure') > 0 AS exposed")
    if has.get("propensity"):
        extra.append("max(propensity) AS propensity")
    if has.get("position"):
        extra.append("min(position) AS position")
    if has.get("value"):
        extra.append("avg(value) AS mean_value")
    purchased = "count(*) FILTER (event = 'purchase') > 0" if "purchase" in events else "false"
    con.execute(f"""
        CREATE TEMP TABLE _pairs AS
        SELECT user_id, item_id, count(*)::INTEGER AS n_events, {counts}, {purchased} AS purchased,
               {''.join(e + ', ' for e in extra)} min(timestamp) AS first_ts, max(timestamp) AS last_ts
        FROM ev GROUP BY user_id, item_id""")

    user_side = user_join = ""
    if "user_side" in side:
        sc = _side_cols(con, "user_side", "user_id")
        user_side = "".join(f", s.{_q(c)}" for c in sc if c not in ("n_events",))
        user_join = "LEFT JOIN user_side s USING (user_id)"
    con.execute(f"""
        CREATE TEMP TABLE users AS
        WITH a AS (
          SELECT user_id, sum(n_events)::BIGINT AS n_events, count(*) AS n_items, {sums},
                 min(first_ts) AS first_ts, max(last_ts) AS last_ts, {conv} AS conversion_rate
          FROM _pairs GROUP BY user_id),
        d AS (SELECT user_id, count(*) AS active_days
              FROM (SELECT DISTINCT user_id, CAST(timestamp AS DATE) FROM ev) GROUP BY user_id)
        SELECT a.user_id, a.n_events, a.n_items, {', '.join(f'a.n_{e}' for e in events)}, a.first_ts,
               a.last_ts, d.active_days, a.conversion_rate,
               date_diff('second', a.last_ts, (SELECT max(last_ts) FROM a)) / 86400.0 AS recency_days
               {user_side}
        FROM a JOIN d USING (user_id) {user_join} ORDER BY a.user_id""")

    item_side = item_join = ""
    if "item_side" in side:
        sc = _side_cols(con, "item_side", "item_id")
        item_side = "".join(f", s.{_q(c)}" for c in sc if c not in ("n_events", "n_users"))
        item_join = "LEFT JOIN item_side s USING (item_id)"
    con.execute(f"""
        CREATE TEMP TABLE items AS
        WITH a AS (
          SELECT item_id, sum(n_events)::BIGINT AS n_events, count(*) AS n_users, {sums},
                 {conv} AS conversion_rate
          FROM _pairs GROUP BY item_id)
        SELECT a.*, rank() OVER (ORDER BY a.n_events DESC) AS popularity_rank {item_side}
        FROM a {item_join} ORDER BY item_id""")
    con.execute("""
        CREATE TEMP TABLE interactions AS
        WITH ui AS (SELECT user_id, (row_number() OVER (ORDER BY user_id) - 1)::INTEGER AS user_idx FROM users),
             ii AS (SELECT item_id, (row_number() OVER (ORDER BY item_id) - 1)::INTEGER AS item_idx FROM items)
        SELECT ui.user_idx, ii.item_idx, p.* FROM _pairs p JOIN ui USING (user_id) JOIN ii USING (item_id)
        ORDER BY ui.user_idx, ii.item_idx""")
    con.execute("DROP TABLE _pairs")
