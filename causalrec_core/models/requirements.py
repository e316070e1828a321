"""What a model needs from a behaviour log, checked before a run starts (the Train page, ``jobs.start_run``
and ``causalrec train`` use it), so that a run that cannot work is refused with a plain message instead of
failing in its worker — and a failed run is never offered a resume that would fail the same way.

:func:`log_offers` reads what a dataset of the project store offers from its metadata (no table is
loaded); :func:`data_problems` lists what a model with its parameters would miss.
"""

from __future__ import annotations

from typing import Any

__all__ = ["data_problems", "log_offers"]

_EXPOSURES = ("logged exposures (which candidate items were shown to whom: 'exposure' events or an "
              "'exposed' column mapped on the Data page)")
_PROPENSITY = "logged exposure propensities (a 'propensity' column mapped on the Data page)"


def log_offers(info: Any) -> dict[str, bool]:
    """{'exposures': ..., 'propensity': ...} of a stored dataset (``DatasetInfo``), from its column mapping
    and profile: an ``exposure`` event or a mapped ``exposed`` column, a mapped ``propensity`` column."""
    mapping = dict(getattr(info, "mapping", None) or {})
    events = dict((getattr(info, "profile", None) or {}).get("events") or {})
    return {"exposures": bool(events.get("exposure")) or bool(mapping.get("exposed")),
            "propensity": bool(mapping.get("propensity"))}


def data_problems(model_name: str, params: dict[str, Any], offers: dict[str, bool], dataset: str) -> list[str]:
    """Plain-language reasons why ``model_name`` with ``params`` cannot train on a log offering ``offers``
    (see :func:`log_offers`); empty when it can. ``dataset`` names the data in the messages."""
    problems = []
    propensity = params.get("propensity", "auto")
    if model_name == "uplift" and not offers.get("exposures"):
        problems.append(f"uplift needs {_EXPOSURES}: it learns the outcome with and without exposure; "
                        f"'{dataset}' has none.")
    elif model_name in ("uplift", "sasrec-ips") and propensity == "graph" and not offers.get("exposures"):
        problems.append(f"{model_name}: propensity = graph learns P(exposed | covariates) from {_EXPOSURES}; "
                        f"'{dataset}' has none. Use propensity = popularity or auto.")
    if model_name in ("uplift", "sasrec-ips") and propensity == "logged" and not offers.get("propensity"):
        problems.append(f"{model_name}: propensity = logged needs {_PROPENSITY}; '{dataset}' has none. Use "
                        "propensity = auto, popularity or graph.")
    return problems
