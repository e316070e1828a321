"""The canonical event schema every later stage consumes.

| column       | type                 | required | meaning                                     |
|--------------|----------------------|----------|---------------------------------------------|
| user_id      | string               | yes      | who acted                                   |
| item_id      | string               | yes      | on what                                     |
| timestamp    | timestamp (UTC)      | yes      | when                                        |
| event        | string (canonical)   | yes      | one of CANONICAL_EVENTS                     |
| value        | float                | no       | rating, price, dwell time ...               |
| exposed      | bool                 | no       | the logging recommender showed the item     |
| position     | int                  | no       | slot in which it was shown (1 = top)        |
| propensity   | float in (0, 1]      | no       | probability the logging policy showed it    |
"""

from __future__ import annotations

#: Canonical event names, in funnel order where they belong to the funnel.
CANONICAL_EVENTS: tuple[str, ...] = (
    "exposure", "view", "click", "cart", "fav", "purchase", "rating", "other",
)

#: The purchase funnel, in order. Steps absent from a log are skipped when profiling.
FUNNEL: tuple[str, ...] = ("view", "click", "cart", "fav", "purchase")

#: Canonical column roles. Required first.
REQUIRED_ROLES: tuple[str, ...] = ("user", "item", "timestamp", "event")
OPTIONAL_ROLES: tuple[str, ...] = ("value", "exposed", "position", "propensity")
ROLES: tuple[str, ...] = REQUIRED_ROLES + OPTIONAL_ROLES

#: Name of the canonical column each role maps to.
ROLE_COLUMN: dict[str, str] = {
    "user": "user_id",
    "item": "item_id",
    "timestamp": "timestamp",
    "event": "event",
    "value": "value",
    "exposed": "exposed",
    "position": "position",
    "propensity": "propensity",
}
