"""One exception hierarchy for the whole product.

Every message names the parameter, the rule that was broken, the offending value and, where
there is a closed set, the valid choices, e.g.::

    method='ipw2' is not supported; choose one of: 'naive', 'regression', 'ipw'.

The UI and the CLI catch :class:`CausalRecError` and show ``str(err)`` as a one-line message;
anything else is a bug.
"""

from __future__ import annotations

from collections.abc import Iterable


class CausalRecError(Exception):
    """Base class of every error the product raises on purpose."""


class ParameterError(CausalRecError, ValueError):
    """A function or estimator was called with an invalid argument."""


class DataError(CausalRecError, ValueError):
    """An input file or table cannot be used as asked (unreadable, unmappable, empty...)."""


class StoreError(CausalRecError):
    """The project store refused an operation (unknown project, name clash, corrupt entry...)."""


class GraphError(CausalRecError, ValueError):
    """A causal graph is invalid for the operation (cycle, unknown node, ...)."""


class EstimationError(CausalRecError):
    """An estimator could not produce an estimate (no overlap, degenerate data, ...)."""


class NotFittedError(CausalRecError, AttributeError):
    """An estimator or model was used before ``fit``."""


def _fmt(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def invalid_choice(param: str, value: object, choices: Iterable[object]) -> ParameterError:
    """Build the standard 'not supported; choose one of' error."""
    opts = ", ".join(_fmt(c) for c in choices)
    return ParameterError(f"{param}={_fmt(value)} is not supported; choose one of: {opts}.")


def out_of_range(param: str, value: object, rule: str) -> ParameterError:
    """Build the standard 'must be ...' error, e.g. ``out_of_range('k', 0, 'an integer >= 1')``."""
    return ParameterError(f"{param}={_fmt(value)} is invalid: it must be {rule}.")
