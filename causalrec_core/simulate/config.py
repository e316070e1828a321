"""The simulator's configuration: sizes, seed and every constant of the structural causal model.

All constants have defaults tuned so that, at the default sizes, about 21% of candidate pairs are
exposed, about 16% viewed and about 2% purchased, and the naive exposed-vs-unexposed purchase
difference is 2-2.7x the true average treatment effect (see the package docstring).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from causalrec_core.errors import ParameterError, invalid_choice, out_of_range

from .catalog import CATEGORY_NAMES

__all__ = ["SimulationConfig", "resolve_config"]


@dataclass(frozen=True)
class SimulationConfig:
    """Sizes, seed and structural constants of one simulated e-commerce log.

    Sizes and time
    --------------
    n_users, n_items : int
        Population sizes (each >= 10).
    n_categories : int
        Number of item categories, 2 .. ``len(CATEGORY_NAMES)`` (12).
    candidates_per_user : int
        Size C of each user's candidate set (1 .. n_items); one row of ``pairs`` per candidate.
    days : int
        Length of the logging window in days (>= 1); sessions start inside it.
    seed : int
        Seed of every random draw (>= 0). Same seed and config: byte-identical output.
    start : str
        ISO-8601 UTC start of the window, e.g. ``"2024-01-01T00:00:00Z"``.

    Users
    -----
    latent_dim : d, the dimension of the interest vectors theta_u and item vectors phi_i.
    activity_median, activity_log_sd : activity a_u (sessions per week) is lognormal with this
        median and log-sd; it is observed (``users.activity``, ``pairs.user_activity``).
    segment_noise_sd : noise added to z(log a_u) before cutting it at its terciles into
        new / casual / loyal.
    price_sensitivity_{new,casual,loyal}, price_sensitivity_log_sd : latent price sensitivity
        beta_price(u) = base(segment) * exp(N(0, sd)).

    Items
    -----
    category_weight, item_noise_sd : phi_i = category_weight * mu_c + item_noise_sd * N(0, I).
    popularity_log_sd, popularity_quality : log pi_i = popularity_quality * q_i + sd * N(0, 1).
    price_log_sd : log-sd of a price around its category's median price.

    Logging recommender (exposure)
    ------------------------------
    alpha0, alpha_pop, alpha_act, alpha_interest : logit of the exposure propensity.
        ``alpha_interest`` defaults to 0: with it > 0 the latent user-item interest also drives
        exposure, an unobserved confounder that only the logged propensity adjusts for (with
        0.3, adjusting for user_activity and item_popularity alone is as biased as naive).
    propensity_min, propensity_max : clip bounds of the propensity.
    slate_size : exposed items are shown in slates of this size; position = 1 .. slate_size.

    Funnel
    ------
    beta_quality : weight of q_i in the linear score r_ui.
    gamma0, gamma_act, gamma_pop, gamma_score : view logit intercept and weights.
    tau_new, tau_casual, tau_loyal : effect of exposure on the view logit, by segment.
    delta0 : click | view intercept.  kappa0 : cart | click intercept.
    eta0, eta_score : fav | cart logit = eta0 + eta_score * r_ui.
    rho0, rho_act, rho_fav : purchase | cart logit = rho0 + r_ui + rho_act * z(log a_u)
        + rho_fav * fav.

    Event log
    ---------
    repeat_view_rate : share of viewed pairs that get one more organic "view" row later.
    """

    # sizes and time
    n_users: int = 2000
    n_items: int = 500
    n_categories: int = 10
    candidates_per_user: int = 60
    days: int = 30
    seed: int = 0
    start: str = "2024-01-01T00:00:00Z"
    # users
    latent_dim: int = 8
    activity_median: float = 2.0
    activity_log_sd: float = 0.8
    segment_noise_sd: float = 0.5
    price_sensitivity_new: float = 0.8
    price_sensitivity_casual: float = 0.5
    price_sensitivity_loyal: float = 0.3
    price_sensitivity_log_sd: float = 0.2
    # items
    category_weight: float = 0.8
    item_noise_sd: float = 0.6
    popularity_log_sd: float = 1.2
    popularity_quality: float = 0.5
    price_log_sd: float = 0.5
    # logging recommender
    alpha0: float = -1.7
    alpha_pop: float = 1.0
    alpha_act: float = 0.8
    alpha_interest: float = 0.0
    propensity_min: float = 0.02
    propensity_max: float = 0.98
    slate_size: int = 10
    # funnel
    beta_quality: float = 0.5
    gamma0: float = -2.5
    gamma_act: float = 0.6
    gamma_pop: float = 0.6
    gamma_score: float = 0.8
    tau_new: float = 1.2
    tau_casual: float = 0.8
    tau_loyal: float = 0.4
    delta0: float = -1.2
    kappa0: float = -1.4
    eta0: float = -1.0
    eta_score: float = 0.5
    rho0: float = -2.0
    rho_act: float = 0.3
    rho_fav: float = 0.5
    # event log
    repeat_view_rate: float = 0.08

    def __post_init__(self) -> None:
        _validate(self)
        # store plain Python numbers (numpy scalars are accepted but not JSON-serialisable)
        for f in dataclasses.fields(self):
            if f.type in ("int", int):
                object.__setattr__(self, f.name, int(getattr(self, f.name)))
            elif f.type in ("float", float):
                object.__setattr__(self, f.name, float(getattr(self, f.name)))

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration as a JSON-serialisable dict."""
        return dataclasses.asdict(self)


_INT_FIELDS = {
    "n_users": (10, "an integer >= 10"),
    "n_items": (10, "an integer >= 10"),
    "days": (1, "an integer >= 1"),
    "seed": (0, "a non-negative integer"),
    "latent_dim": (1, "an integer >= 1"),
    "slate_size": (1, "an integer >= 1"),
}

_POSITIVE_FIELDS = (
    "activity_median",
    "activity_log_sd",
    "item_noise_sd",
    "popularity_log_sd",
    "price_log_sd",
)

_NON_NEGATIVE_FIELDS = (
    "segment_noise_sd",
    "price_sensitivity_new",
    "price_sensitivity_casual",
    "price_sensitivity_loyal",
    "price_sensitivity_log_sd",
    "category_weight",
)


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: object) -> bool:
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, (bool, np.bool_))
        and math.isfinite(float(value))
    )


def _validate(cfg: SimulationConfig) -> None:
    for name, (low, rule) in _INT_FIELDS.items():
        value = getattr(cfg, name)
        if not _is_int(value) or int(value) < low:
            raise out_of_range(name, value, rule)
    n_cat = cfg.n_categories
    if not _is_int(n_cat) or not 2 <= int(n_cat) <= len(CATEGORY_NAMES):
        raise out_of_range("n_categories", n_cat, f"an integer in [2, {len(CATEGORY_NAMES)}]")
    c = cfg.candidates_per_user
    if not _is_int(c) or not 1 <= int(c) <= int(cfg.n_items):
        raise out_of_range(
            "candidates_per_user", c, f"an integer in [1, n_items={cfg.n_items}]"
        )
    if int(cfg.days) > 10_000:
        raise out_of_range("days", cfg.days, "an integer in [1, 10000]")
    for f in dataclasses.fields(cfg):
        if f.type in ("float", float):
            value = getattr(cfg, f.name)
            if not _is_real(value):
                raise out_of_range(f.name, value, "a finite real number")
    for name in _POSITIVE_FIELDS:
        if getattr(cfg, name) <= 0:
            raise out_of_range(name, getattr(cfg, name), "a number > 0")
    for name in _NON_NEGATIVE_FIELDS:
        if getattr(cfg, name) < 0:
            raise out_of_range(name, getattr(cfg, name), "a number >= 0")
    if not 0 < cfg.propensity_min < cfg.propensity_max <= 1:
        raise out_of_range(
            "propensity_min",
            cfg.propensity_min,
            f"in (0, propensity_max={cfg.propensity_max}) with propensity_max <= 1",
        )
    if not 0 <= cfg.repeat_view_rate <= 1:
        raise out_of_range("repeat_view_rate", cfg.repeat_view_rate, "in [0, 1]")
    if not isinstance(cfg.start, str):
        raise out_of_range("start", cfg.start, "an ISO-8601 UTC string like '2024-01-01T00:00:00Z'")
    try:
        start_seconds(cfg.start)
    except ValueError:
        raise out_of_range(
            "start", cfg.start, "an ISO-8601 UTC string like '2024-01-01T00:00:00Z'"
        ) from None


def start_seconds(start: str) -> int:
    """Seconds since the Unix epoch of an ISO-8601 UTC string (a trailing ``Z`` is allowed)."""
    text = start.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1]
    elif text.endswith("+00:00"):
        text = text[:-6]
    return int(np.datetime64(text, "s").astype(np.int64))


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(SimulationConfig))


def resolve_config(
    n_users: int | None,
    n_items: int | None,
    seed: int | None,
    config: SimulationConfig | None,
    overrides: dict[str, Any],
) -> SimulationConfig:
    """Merge ``config`` (or the defaults) with explicit sizes, seed and keyword overrides.

    Raises
    ------
    ParameterError
        For an unknown override name or any value that breaks a rule of
        :class:`SimulationConfig`.
    """
    if config is None:
        config = SimulationConfig()
    elif not isinstance(config, SimulationConfig):
        raise ParameterError(
            f"config={type(config).__name__} is invalid: it must be a SimulationConfig or None."
        )
    for key in overrides:
        if key not in _FIELD_NAMES:
            raise invalid_choice("parameter", key, _FIELD_NAMES)
    changes = dict(overrides)
    for name, value in (("n_users", n_users), ("n_items", n_items), ("seed", seed)):
        if value is not None:
            changes[name] = value
    if not changes:
        return config
    return dataclasses.replace(config, **changes)
