"""Front door of the simulator: :func:`simulate`, :class:`Simulation` and
:func:`simulate_interventional`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from causalrec_core.data.schema import FUNNEL
from causalrec_core.errors import ParameterError, invalid_choice, out_of_range

from .config import SimulationConfig, resolve_config, start_seconds
from .scm import (
    EVENT_LABELS,
    EventArrays,
    FunnelInputs,
    Items,
    funnel_probabilities,
    generate_block,
    id_strings,
    id_width,
    make_items,
    n_blocks,
    sample_funnel,
)
from .truth import build_truth, sum_stats

__all__ = ["Simulation", "simulate", "simulate_interventional"]

#: Column order and Arrow types of the events log (also the CSV header).
EVENTS_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("item_id", pa.string()),
        ("timestamp", pa.string()),
        ("event", pa.string()),
        ("value", pa.float64()),
        ("exposed", pa.int8()),
        ("position", pa.int8()),
        ("propensity", pa.float64()),
    ]
)

_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_VALUE_CODES = (EVENT_LABELS.index("cart"), EVENT_LABELS.index("purchase"))


@dataclass(eq=False)
class Simulation:
    """One simulated log with its ground truth.

    Attributes
    ----------
    events : DataFrame
        One row per event, sorted by timestamp: user_id, item_id, timestamp (ISO-8601 UTC
        string), event, value (price on cart/purchase rows, NaN otherwise), exposed (0/1),
        position (Int64, <NA> when the pair was not exposed), propensity.
    users : DataFrame
        Observed user columns: user_id, activity (sessions per week), segment.
    items : DataFrame
        Observed item columns: item_id, category, price, title, popularity.
    pairs : DataFrame
        One row per (user, candidate item): observed covariates, exposure, the logged
        propensity, the closed-form potential outcomes and the realised funnel indicators.
    truth : dict
        JSON-serialisable ground truth (effects, rates, the true DAG); see ``truth.py``.
    config : SimulationConfig
        The configuration that produced it.
    latent : FunnelInputs or None
        Hidden per-pair funnel inputs, in ``pairs`` row order; used by
        :func:`simulate_interventional`. Never written to disk.
    """

    events: pd.DataFrame = field(repr=False)
    users: pd.DataFrame = field(repr=False)
    items: pd.DataFrame = field(repr=False)
    pairs: pd.DataFrame = field(repr=False)
    truth: dict[str, Any] = field(repr=False)
    config: SimulationConfig = field(default_factory=SimulationConfig)
    latent: FunnelInputs | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (
            f"Simulation(seed={self.config.seed}, users={len(self.users)}, "
            f"items={len(self.items)}, pairs={len(self.pairs)}, events={len(self.events)}, "
            f"ate={self.truth.get('ate_exposure_purchase')!r})"
        )


class EventFormatter:
    """Turns compact :class:`EventArrays` into the text-valued events table."""

    def __init__(self, cfg: SimulationConfig, items: Items) -> None:
        self._users = pa.array(id_strings("u", 0, cfg.n_users, id_width(cfg.n_users)), pa.string())
        self._items = pa.array(id_strings("i", 0, cfg.n_items, id_width(cfg.n_items)), pa.string())
        self._labels = pa.array(EVENT_LABELS, pa.string())
        self._price = items.price
        self._epoch = start_seconds(cfg.start)

    def table(self, ev: EventArrays) -> pa.Table:
        seconds = pa.array(ev.ts + self._epoch, pa.timestamp("s"))
        has_value = np.isin(ev.code, _VALUE_CODES)
        return pa.table(
            [
                self._users.take(pa.array(ev.user)),
                self._items.take(pa.array(ev.item)),
                pc.strftime(seconds, format=_TIMESTAMP_FORMAT),
                self._labels.take(pa.array(ev.code)),
                pa.array(self._price[ev.item], pa.float64(), mask=~has_value),
                pa.array(ev.exposed, pa.int8()),
                pa.array(ev.position, pa.int8(), mask=ev.exposed == 0),
                pa.array(ev.prop_micro / 1e6, pa.float64()),
            ],
            schema=EVENTS_SCHEMA,
        )


def _frame(table: pa.Table, nullable_ints: tuple[str, ...] = ()) -> pd.DataFrame:
    df = table.to_pandas()
    for col in table.column_names:
        if pa.types.is_integer(table.schema.field(col).type):
            df[col] = df[col].astype("Int64" if col in nullable_ints else "int64")
    return df


def simulate(
    n_users: int | None = None,
    n_items: int | None = None,
    *,
    seed: int | None = None,
    config: SimulationConfig | None = None,
    **overrides: Any,
) -> Simulation:
    """Simulate an e-commerce log with known causal ground truth, in memory.

    Parameters
    ----------
    n_users, n_items : int, optional
        Population sizes; default to ``config``'s (2000 users, 500 items).
    seed : int, optional
        Seed of all random draws; defaults to ``config.seed`` (0).
    config : SimulationConfig, optional
        Base configuration; defaults to ``SimulationConfig()``.
    **overrides
        Any other :class:`SimulationConfig` field, e.g. ``candidates_per_user=30``.

    Returns
    -------
    Simulation
        Events, observed user/item tables, the pair table with potential outcomes, and the
        ground-truth dict. The same arguments always give identical frames.

    Raises
    ------
    ParameterError
        For an unknown override or a value outside its documented range (the message names
        the parameter, the rule and the value).

    Examples
    --------
    >>> sim = simulate(200, 50, seed=1, candidates_per_user=20)
    >>> sorted(sim.truth["ate_by_segment"])
    ['casual', 'loyal', 'new']
    """
    cfg = resolve_config(n_users, n_items, seed, config, overrides)
    items = make_items(cfg)
    blocks = [generate_block(cfg, items, b, keep_latent=True) for b in range(n_blocks(cfg))]
    ev = EventArrays.concat([b.events for b in blocks])
    ev = ev.take(ev.sort_order())
    events = _frame(EventFormatter(cfg, items).table(ev), nullable_ints=("position",))
    users = _frame(pa.concat_tables([b.users for b in blocks]))
    pairs = _frame(pa.concat_tables([b.pairs for b in blocks]), nullable_ints=("position",))
    truth = build_truth(cfg, sum_stats([b.stats for b in blocks]), len(ev))
    latent = FunnelInputs.concat([b.latent for b in blocks if b.latent is not None])
    return Simulation(
        events=events,
        users=users,
        items=_frame(items.table(cfg)),
        pairs=pairs,
        truth=truth,
        config=cfg,
        latent=latent,
    )


def simulate_interventional(
    sim: Simulation,
    exposure: int,
    *,
    n_draws: int = 100,
    seed: int = 0,
    outcome: str = "purchase",
) -> np.ndarray:
    """Re-run the funnel for the same units with exposure forced: draws from do(E=exposure).

    Every candidate pair of ``sim`` keeps its latent state (interest, quality, activity,
    segment...); only the exposure is set and the funnel Bernoullis are redrawn step by step
    (view, click, cart, fav, purchase), exactly as the simulator does. The mean over draws
    and pairs converges to the closed-form truth, which is what the tests check.

    Parameters
    ----------
    sim : Simulation
        A simulation returned by :func:`simulate` (it carries ``latent``).
    exposure : {0, 1}
        The intervention value.
    n_draws : int
        Independent replications (>= 1).
    seed : int
        Seed of the replications (>= 0).
    outcome : str
        Funnel step to return: one of ``view, click, cart, fav, purchase``.

    Returns
    -------
    ndarray of int8, shape (n_draws, len(sim.pairs))
        1 where the pair reached ``outcome`` in that replication.

    Raises
    ------
    ParameterError
        For an invalid argument or a ``sim`` without latent state.
    """
    if not isinstance(sim, Simulation) or sim.latent is None:
        raise ParameterError(
            "sim is invalid: it must be a Simulation returned by simulate() (with latent state)."
        )
    if (
        not isinstance(exposure, (int, np.integer))
        or isinstance(exposure, (bool, np.bool_))
        or int(exposure) not in (0, 1)
    ):
        raise invalid_choice("exposure", exposure, (0, 1))
    if outcome not in FUNNEL:
        raise invalid_choice("outcome", outcome, FUNNEL)
    if not isinstance(n_draws, (int, np.integer)) or isinstance(n_draws, bool) or n_draws < 1:
        raise out_of_range("n_draws", n_draws, "an integer >= 1")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise out_of_range("seed", seed, "a non-negative integer")
    probs = funnel_probabilities(sim.latent, float(exposure), sim.config)
    rng = np.random.default_rng(seed)
    out = np.empty((int(n_draws), len(sim.latent.score)), dtype=np.int8)
    for k in range(int(n_draws)):  # loop over replications; each is vectorised over pairs
        out[k] = sample_funnel(probs, rng)[outcome]
    return out
