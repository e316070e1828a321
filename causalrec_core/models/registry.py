"""Every recommender the product offers, by name.

Model modules are imported on first use (they import torch/transformers only inside their
methods, so listing the models stays cheap).
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from causalrec_core.errors import ParameterError, invalid_choice
from causalrec_core.models.base import Recommender, TorchRecommender

__all__ = ["MODEL_MODULES", "list_models", "make_model", "model_class", "model_classes"]

MODEL_MODULES: tuple[str, ...] = (
    "causalrec_core.models.simple",
    "causalrec_core.models.mf",
    "causalrec_core.models.sequential",
    "causalrec_core.models.uplift",
    "causalrec_core.models.text",
)

_CACHE: dict[str, type[Recommender]] | None = None


def model_classes() -> dict[str, type[Recommender]]:
    """name -> class, in module order (traditional first within each module as declared)."""
    global _CACHE
    if _CACHE is None:
        found: dict[str, type[Recommender]] = {}
        for mod_name in MODEL_MODULES:
            try:
                mod = importlib.import_module(mod_name)
            except ModuleNotFoundError as err:
                if err.name == mod_name:
                    continue  # a model family this build does not ship
                raise
            for _, obj in inspect.getmembers(mod, inspect.isclass):
                if issubclass(obj, Recommender) and obj.__module__ == mod_name and obj.name:
                    found.setdefault(obj.name, obj)
        _CACHE = found
    return dict(_CACHE)


def model_class(name: str) -> type[Recommender]:
    classes = model_classes()
    if name not in classes:
        raise invalid_choice("model", name, sorted(classes))
    return classes[name]


def _defaults(cls: type[Recommender]) -> dict[str, Any]:
    sig = inspect.signature(cls.__init__)
    return {p.name: p.default for p in sig.parameters.values()
            if p.name != "self" and p.default is not inspect.Parameter.empty}


def make_model(name: str, **params: Any) -> Recommender:
    """An unfitted model; unknown parameters are refused with the valid names listed."""
    cls = model_class(name)
    allowed = list(_defaults(cls))
    for k in params:
        if k not in allowed:
            raise ParameterError(
                f"parameter {k!r} is not a parameter of model {name!r}; choose from: {', '.join(allowed)}."
            )
    return cls(**params)


def list_models() -> list[dict]:
    """One row per model: name, description, kinds, causal, torch, default parameters."""
    rows = []
    for name, cls in model_classes().items():
        rows.append({
            "name": name,
            "description": cls.description,
            "kinds": list(cls.kinds),
            "causal": bool(cls.causal),
            "torch": issubclass(cls, TorchRecommender),
            "params": _defaults(cls),
        })
    return rows
