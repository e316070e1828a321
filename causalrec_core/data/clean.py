"""Cleaning rules, their options, and the cleaning report.

Every rule counts the rows it affects and says what was done. Rules on required fields
(missing user or item id, unparseable timestamp, malformed lines) always drop the row, and the
dropped rows are saved beside the dataset (``rejected`` table) so nothing is lost. The other rules
flag rows, and the user chooses to keep (default) or drop them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from causalrec_core.errors import ParameterError, invalid_choice, out_of_range

ACTIONS = ("keep", "drop")

#: rule -> (description, configurable?)
RULES: dict[str, tuple[str, bool]] = {
    "malformed_line": ("line could not be split into the file's columns (wrong number of fields, "
                       "bad quoting)", False),
    "missing_user_id": ("user id is empty or missing", False),
    "missing_item_id": ("item id is empty or missing", False),
    "unparseable_timestamp": ("timestamp is empty or cannot be parsed", False),
    "duplicate": ("exact duplicate of an earlier row (every column equal)", True),
    "unknown_event": ("event label is not mapped to a canonical event (kept as 'other')", True),
    "out_of_range_value": ("value is not a number or is negative; position < 1; propensity outside "
                           "(0, 1]; exposed not a yes/no value (the bad field is set to missing)", True),
    "implausible_time": ("timestamp before 1990-01-01 or more than a day in the future", True),
    "bot_user": ("user's event count is far above everyone else's (bot-like activity)", True),
}


@dataclass(frozen=True)
class CleaningOptions:
    """What to do with flagged rows: 'keep' (flagged in the ``flags`` column) or 'drop'.

    ``bot_threshold``: users with more events than this are bot-like; ``None`` = automatic, relative to
    the data (above median + (z_N + 1.5) robust SDs of the log event counts, 10 × their 99th percentile,
    20 × their median and 50 events; see ``ingest._auto_bot_threshold``).
    ``time_zone``: the IANA zone of text timestamps written without an offset (local times); they are
    converted to UTC. Timestamps with an offset (``...+02:00``, ``...Z``) and epoch numbers are absolute
    and unaffected.
    """

    duplicate: str = "drop"
    unknown_event: str = "keep"
    out_of_range_value: str = "keep"
    implausible_time: str = "keep"
    bot_user: str = "keep"
    bot_threshold: int | None = None
    time_zone: str = "UTC"

    def __post_init__(self):
        for rule in ("duplicate", "unknown_event", "out_of_range_value", "implausible_time", "bot_user"):
            if getattr(self, rule) not in ACTIONS:
                raise invalid_choice(rule, getattr(self, rule), ACTIONS)
        if self.bot_threshold is not None and (not isinstance(self.bot_threshold, int)
                                               or self.bot_threshold < 1):
            raise out_of_range("bot_threshold", self.bot_threshold, "an integer >= 1 or None (automatic)")
        check_time_zone(self.time_zone)

    def to_dict(self) -> dict:
        return asdict(self)


def check_time_zone(name: object) -> str:
    """``name`` if it is an IANA time zone name (``'UTC'``, ``'Europe/Paris'`` …), else a ParameterError."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        if not isinstance(name, str) or not name.strip() or name != name.strip():
            raise ValueError
        ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        raise ParameterError(f"time_zone={name!r} is not a time zone name; use an IANA name such as 'UTC', "
                             "'Europe/Paris', 'America/New_York' or 'Asia/Tokyo'.") from None
    return name


def report_entry(rule: str, rows: int, dropped: bool, detail: str = "") -> dict:
    """One line of the cleaning report."""
    description, configurable = RULES[rule]
    if rows == 0:
        action = "nothing to do"
    elif dropped:
        action = "dropped (saved in the 'rejected' table)"
    else:
        action = "kept, flagged in the 'flags' column"
    return {"rule": rule, "description": description, "rows": int(rows), "action": action,
            "dropped": bool(dropped and rows > 0), "configurable": configurable, "detail": detail}


def summarise(report: list[dict]) -> tuple[dict[str, int], dict[str, int]]:
    """(dropped, flagged): reason -> row count, for rules that touched at least one row."""
    dropped = {r["rule"]: r["rows"] for r in report if r["rows"] and r["dropped"]}
    flagged = {r["rule"]: r["rows"] for r in report if r["rows"] and not r["dropped"]}
    return dropped, flagged
