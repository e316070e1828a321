"""scikit-learn-style parameter handling shared by every estimator and learner.

``__init__`` only stores its keyword arguments; :class:`ParamsMixin` derives ``get_params`` /
``set_params`` / ``repr`` from the constructor's signature, and turns a learned attribute
(``name_``) read before ``fit`` into a :class:`~causalrec_core.errors.NotFittedError`.
"""

from __future__ import annotations

import inspect
from typing import Any

from causalrec_core.errors import NotFittedError, invalid_choice


class ParamsMixin:
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.name != "self" and p.kind != p.VAR_KEYWORD]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments, as stored."""
        return {k: getattr(self, k) for k in self._param_names()}

    def set_params(self, **params: Any):
        """Set constructor arguments (validated at the next ``fit``); returns self."""
        names = self._param_names()
        for k, v in params.items():
            if k not in names:
                raise invalid_choice("parameter", k, names)
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults.get(k))
        return f"{type(self).__name__}({args})"

    def __getattr__(self, item: str) -> Any:
        # only reached when normal lookup fails: a learned attribute before fit
        if item.endswith("_") and not item.startswith("_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: '{item}' is available after fit(X, t, y).")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {item!r}")
