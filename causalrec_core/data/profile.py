"""Profile of a cleaned log: counts, funnel, long tails, time range, sparsity, data quality.

Everything is computed in SQL over the temp tables ``ev``, ``users``, ``items`` and
``interactions`` and returned as one JSON-serialisable dict (stored with the dataset).

Definitions (stated in the UI next to each number):

- ``funnel[step]``: events of ``step`` / events of the previous funnel step present in the log
  (the first step is 1.0), over the steps of ``schema.PROFILE_FUNNEL`` (exposure, view, click, cart,
  purchase). Steps need not be sequential in a log (a purchase without a logged click), so a
  rate can exceed 1; ``funnel_from_first[step]``: events of ``step`` / events of the first step;
  ``funnel_users[step]``: distinct users with at least one ``step`` event. ``side_actions``: the
  events and users of actions that are not funnel steps (fav), see :func:`funnel_rates`.
- ``gini_items``: Gini coefficient of events per item (0 = every item equally popular).
- ``top_share``: share of all events held by the top 1%, 10% and 20% of items.
- ``sparsity``: 1 - (distinct user x item pairs) / (users x items).
"""

from __future__ import annotations

from datetime import datetime, timezone

from causalrec_core.data.schema import CANONICAL_EVENTS, PROFILE_FUNNEL, SIDE_ACTIONS

#: The item shares of ``top_share``, in percent (key ``top_{pct}pct``).
TOP_SHARE_PCTS: tuple[int, ...] = (1, 10, 20)



def funnel_rates(events: dict) -> tuple[list[str], dict, dict]:
    """(steps, rate of each step from the previous one, rate from the first step) for the counts of
    canonical ``events``, over the steps of :data:`~causalrec_core.data.schema.PROFILE_FUNNEL` present.

    Recomputed from the counts alone, so a profile stored by an older version (whose funnel had 'fav'
    as a step) is shown with today's steps. A rate is None when its denominator is 0.
    """
    steps = [s for s in PROFILE_FUNNEL if events.get(s)]
    prev_rate: dict[str, float | None] = {}
    for j, s in enumerate(steps):
        prev_rate[s] = 1.0 if j == 0 else events[s] / events[steps[j - 1]]
    first = events[steps[0]] if steps else 0
    return steps, prev_rate, {s: (events[s] / first if first else None) for s in steps}

def top_share_key(pct: int) -> str:
    """The key of ``profile['top_share']`` for the top ``pct`` % of items (``10`` -> ``'top_10pct'``)."""
    return f"top_{pct}pct"


def top_shares(profile: dict) -> list[tuple[int, float]]:
    """``(pct, share of all events held by the top pct % of items)``, in :data:`TOP_SHARE_PCTS` order.

    Read by key, never by the dict's order: a stored profile comes back with sorted keys
    (``top_10pct`` before ``top_1pct``).

    >>> top_shares({"top_share": {"top_10pct": 0.5, "top_1pct": 0.1, "top_20pct": 0.7}})
    [(1, 0.1), (10, 0.5), (20, 0.7)]
    """
    shares = profile["top_share"]
    return [(pct, float(shares[top_share_key(pct)])) for pct in TOP_SHARE_PCTS if top_share_key(pct) in shares]


def readable_utc(stamp: str | None) -> str:
    """An ISO-8601 time as ``'YYYY-MM-DD HH:MM UTC'`` (naive times are taken as UTC); other text as is.

    >>> readable_utc("2026-11-28T04:23:35.616201+00:00")
    '2026-11-28 04:23 UTC'
    >>> readable_utc("2026-11-28T05:23:35+01:00")
    '2026-11-28 04:23 UTC'
    """
    if not stamp:
        return "unknown"
    try:
        t = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return str(stamp)
    t = t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M UTC")


def _iso(ts) -> str | None:
    return None if ts is None else ts.isoformat().replace("+00:00", "Z")


def gini(sorted_counts: list[float]) -> float:
    """Gini coefficient of non-negative values given in ascending order."""
    n = len(sorted_counts)
    total = float(sum(sorted_counts))
    if n == 0 or total == 0:
        return 0.0
    cum = sum((i + 1) * v for i, v in enumerate(sorted_counts))
    return float((2 * cum) / (n * total) - (n + 1) / n)


def profile(con, *, rows_in: int, dropped: dict[str, int], flagged: dict[str, int]) -> dict:
    """The profile dict of the cleaned events held in ``ev``."""
    # Counts come from the (small) users and items tables rather than from the events again.
    rows_kept, n_users, tmin, tmax = con.execute(
        "SELECT sum(n_events), count(*), min(first_ts), max(last_ts) FROM users").fetchone()
    n_items = con.execute("SELECT count(*) FROM items").fetchone()[0]
    present = [e for e in CANONICAL_EVENTS
               if f"n_{e}" in {r[0] for r in con.execute("DESCRIBE users").fetchall()}]
    row = con.execute("SELECT " + ", ".join(
        f"sum(n_{e}), count(*) FILTER (n_{e} > 0)" for e in present) + " FROM users").fetchone() if present else ()
    events = {e: int(row[2 * j]) for j, e in enumerate(present) if row[2 * j]}
    users_per = {e: int(row[2 * j + 1]) for j, e in enumerate(present)}
    steps, funnel, funnel_from_first = funnel_rates(events)
    funnel_users = {s: int(users_per.get(s, 0)) for s in steps}
    side_actions = {s: {"events": events[s], "users": int(users_per.get(s, 0))} for s in SIDE_ACTIONS if s in events}
    n_pairs = con.execute("SELECT count(*) FROM interactions").fetchone()[0]

    item_counts = [float(r[0]) for r in con.execute("SELECT n_events FROM items ORDER BY n_events").fetchall()]
    total = sum(item_counts) or 1.0
    desc = item_counts[::-1]
    top_share = {}
    for pct in TOP_SHARE_PCTS:
        k = max(1, int(round(len(desc) * pct / 100)))
        top_share[top_share_key(pct)] = float(sum(desc[:k]) / total)
    # Lorenz curve at 101 points (share of items -> share of events), for the long-tail chart
    lorenz, cum, n = [], 0.0, len(item_counts)
    marks = {int(round(i * n / 100)) for i in range(101)}
    for i, v in enumerate([0.0] + item_counts):
        cum += v
        if i in marks:
            lorenz.append([i / n if n else 0.0, cum / total])
    pop_curve = [[i + 1, int(v)] for i, v in enumerate(desc[:2000])]

    uq = con.execute("""SELECT quantile_cont(n_events, [0.1, 0.25, 0.5, 0.75, 0.9, 0.99]), max(n_events), avg(n_events)
                        FROM users""").fetchone()
    hist = con.execute("""
        SELECT floor(log2(n_events))::INT AS b, count(*) FROM users GROUP BY b ORDER BY b""").fetchall()
    user_hist = [{"events_from": int(2 ** b), "events_to": int(2 ** (b + 1) - 1), "users": int(c)} for b, c in hist]
    span_days = (tmax - tmin).total_seconds() / 86400 if tmin is not None else 0.0
    unit = "hour" if span_days <= 3 else ("day" if span_days <= 730 else "week")
    over_time = [
        {"period": _iso(p), "event": e, "events": int(c)}
        for p, e, c in con.execute(
            f"SELECT date_trunc('{unit}', timestamp) AS p, event, count(*) FROM ev GROUP BY p, event ORDER BY p, event"
        ).fetchall()
    ]
    quality = _quality(con)
    return {
        "rows_in": int(rows_in),
        "rows_kept": int(rows_kept),
        "dropped": {k: int(v) for k, v in dropped.items()},
        "flagged": {k: int(v) for k, v in flagged.items()},
        "users": int(n_users),
        "items": int(n_items),
        "pairs": int(n_pairs),
        "events": events,
        "time_min": _iso(tmin),
        "time_max": _iso(tmax),
        "time_span_days": round(span_days, 4),
        "funnel": funnel,
        "funnel_users": funnel_users,
        "funnel_from_first": funnel_from_first,
        "side_actions": side_actions,
        "sparsity": float(1 - n_pairs / (n_users * n_items)) if n_users and n_items else None,
        "gini_items": gini(item_counts),
        "top_share": top_share,
        "lorenz": lorenz,
        "popularity_curve": pop_curve,
        "user_activity": {
            "quantiles": dict(zip(["p10", "p25", "p50", "p75", "p90", "p99"], [float(x) for x in uq[0]], strict=False)),
            "max": int(uq[1]),
            "mean": float(uq[2]),
            "histogram": user_hist,
        },
        "events_over_time": {"unit": unit, "rows": over_time},
        "quality": quality,
    }


#: up to this many events, every column's distinct values are counted exactly; above, estimated
EXACT_DISTINCT_ROWS = 2_000_000


def _quality(con) -> list[dict]:
    """Per column: type, missing values, distinct values (exact for the ids, from the users and
    items tables; exact for the other columns up to :data:`EXACT_DISTINCT_ROWS` events, else
    HyperLogLog estimates capped at the number of non-missing values)."""
    desc = con.execute("DESCRIBE ev").fetchall()
    types = {r[0]: str(r[1]) for r in desc}
    cols = [r[0] for r in desc if r[0] != "row_id"]
    exact = {"user_id": con.execute("SELECT count(*) FROM users").fetchone()[0],
             "item_id": con.execute("SELECT count(*) FROM items").fetchone()[0]}
    approx = [c for c in cols if c not in exact]
    small = con.execute("SELECT count(*) FROM ev").fetchone()[0] <= EXACT_DISTINCT_ROWS
    count = "count(DISTINCT \"{}\")" if small else "approx_count_distinct(\"{}\")"
    exprs = [f'count(*) FILTER ("{c}" IS NULL)' for c in cols]
    exprs += [count.format(c) for c in approx]
    row = con.execute(f"SELECT count(*), {', '.join(exprs)} FROM ev").fetchone()
    n = row[0] or 1
    missing = dict(zip(cols, row[1:1 + len(cols)], strict=True))
    distinct = dict(zip(approx, row[1 + len(cols):], strict=True))
    out = []
    for c in cols:
        d = exact.get(c, distinct.get(c))
        if d is not None and not small and c not in exact:  # an estimate never above the values there are
            d = min(int(d), int(row[0] - missing[c]))
        out.append({"column": c, "type": types[c], "missing": int(missing[c]),
                    "missing_share": float(missing[c] / n),
                    "distinct": None if d is None else int(d),
                    "distinct_is_exact": bool(small or c in exact)})
    return out
