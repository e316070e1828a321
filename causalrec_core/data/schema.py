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

#: The purchase funnel, in order (the simulator's stages). Steps absent from a log are skipped.
FUNNEL: tuple[str, ...] = ("view", "click", "cart", "fav", "purchase")

#: The steps of the funnel a log's profile shows, in order: impressions, then the path to a purchase.
#: 'fav' is a side action (users favourite without buying and buy without favouriting), shown beside
#: the funnel: as a step it made the purchase rate one "of fav events" (117% on the sample).
PROFILE_FUNNEL: tuple[str, ...] = ("exposure", "view", "click", "cart", "purchase")
SIDE_ACTIONS: tuple[str, ...] = ("fav",)

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
