"""Hyper-parameter values checked before a run starts (the Train page, ``jobs.start_run`` and
``causalrec train`` all use these rules), so that a bad value is refused with a plain message
instead of failing inside a worker.

Each rule is a :class:`Rule` (kind, low, low inclusive, high, high inclusive, text); ``MODEL_PARAM_RULES`` holds
the model-specific exceptions (``"model.param"``).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from causalrec_core.errors import ParameterError

__all__ = ["MODEL_PARAM_RULES", "PARAM_RULES", "Rule", "check_params", "require_valid_params"]


class Rule(NamedTuple):
    """A range rule: ``kind`` 'int' or 'float', the bounds (``None`` = open) and whether each is
    included, and the rule in words (it ends the refusal message)."""

    kind: str
    low: float | None
    low_in: bool
    high: float | None
    high_in: bool
    text: str


def _whole_at_least(n: int) -> Rule:
    return Rule("int", n, True, None, False, f"a whole number of at least {n}")


def _at_least_zero(suffix: str = "") -> Rule:
    return Rule("float", 0, True, None, False, "a number of at least 0" + suffix)


def _share_below(high: float) -> Rule:
    return Rule("float", 0, True, high, False, f"a number from 0 up to (not including) {high:g}")


PARAM_RULES: dict[str, Rule] = {
    **{p: _whole_at_least(1) for p in ("epochs", "batch_size", "patience", "max_len", "n_layers", "n_heads", "dim",
                                       "neighbours", "sample_ratio", "text_batch_size")},
    "hidden": _whole_at_least(2),
    "dropout": _share_below(1),
    "id_dropout": _share_below(1),
    "lr": Rule("float", 0, False, None, False, "a number above 0"),
    **{p: _at_least_zero() for p in ("weight_decay", "text_weight_decay", "shrinkage", "eta")},
    "imputation_weight_decay": _at_least_zero(" (or empty)"),
    "half_life_days": Rule("float", 0, False, None, False, "a number of days above 0 (or empty)"),
    "clip_min": Rule("float", 0, False, 1, True, "a number above 0 and at most 1"),
    "valid_share": _share_below(0.5),
}
#: rules whose meaning differs between models ("<model>.<param>")
MODEL_PARAM_RULES: dict[str, Rule] = {
    "uplift.clip": Rule("float", 0, False, 0.5, False, "a number strictly between 0 and 0.5"),
    "uplift.hidden": _whole_at_least(1),
}


def _fmt_value(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def check_params(model_name: str, params: dict[str, Any]) -> list[str]:
    """Plain-language problems of the hyper-parameter values ``params`` of ``model_name`` (empty
    when they are all acceptable): the ranges the model enforces when it fits, checked up front."""
    problems: list[str] = []
    for name, value in params.items():
        rule = MODEL_PARAM_RULES.get(f"{model_name}.{name}") or PARAM_RULES.get(name)
        if rule is None or value is None:
            continue
        kind, low, low_in, high, high_in, text = rule
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok = number and math.isfinite(value) and (kind != "int" or float(value).is_integer())
        if ok and low is not None:
            ok = value >= low if low_in else value > low
        if ok and high is not None:
            ok = value <= high if high_in else value < high
        if not ok:
            problems.append(f"{model_name}: {name} = {_fmt_value(value)} is not allowed; it must be {text}.")
    hidden, heads = params.get("hidden"), params.get("n_heads")
    if (model_name.startswith("sasrec") and isinstance(hidden, int) and isinstance(heads, int) and hidden >= 2
            and heads >= 1 and hidden % heads):
        problems.append(f"{model_name}: hidden = {hidden} is not a multiple of n_heads = {heads}; each attention "
                        f"head gets an equal share of the hidden width, so choose e.g. hidden = "
                        f"{max(heads, hidden - hidden % heads)} or n_heads = "
                        f"{max(d for d in range(1, heads + 1) if hidden % d == 0)}.")
    if params.get("propensity") == "graph" and not params.get("propensity_features"):
        problems.append(f"{model_name}: propensity = graph needs propensity_features: the covariate names of the "
                        "causal graph's adjustment set for exposure -> purchase, such as item_popularity, "
                        "user_activity.")
    clip = params.get("clip")
    if isinstance(clip, tuple):
        if len(clip) != 2 or not all(math.isfinite(c) for c in clip) or not 0 < clip[0] <= clip[1] <= 1:
            problems.append(f"{model_name}: clip = {', '.join(map(_fmt_value, clip))} is not allowed; it must be "
                            "two numbers low, high with 0 < low <= high <= 1 (such as 0.02, 1).")
    return problems


def require_valid_params(model_name: str, params: dict[str, Any]) -> None:
    """Raise one ParameterError listing every problem :func:`check_params` finds."""
    problems = check_params(model_name, params)
    if problems:
        raise ParameterError(" ".join(problems))
