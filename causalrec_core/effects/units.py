r"""Unit tables for effect estimation, built from a dataset's tables, and the choice of covariates.

Pure functions over DataFrames: they validate their inputs, never modify them and return new
frames (definitions of every column below).

Unit tables
-----------
:func:`pair_units`       one row per user x item pair of ``interactions`` (the dataset's pair table)
:func:`user_units`       one row per user: early treatment event -> later outcome event
:func:`simulator_units`  the simulator's ``pairs.parquet`` with log-transformed activity/popularity

Pair units (:func:`pair_units`), from ``interactions`` joined with ``users`` and ``items``:

==================  =====================================================================
column              definition
==================  =====================================================================
user_id, item_id    the pair
exposed             1 when the logging recommender showed the item (``interactions.exposed``)
viewed / clicked /  1 when the pair has >= 1 view / click / cart event (``n_view > 0``, ...)
carted
purchased           1 when the pair has >= 1 purchase event
user_activity       log1p(users.n_events): the user's number of events in the whole log
item_popularity     log1p(items.n_users): the number of distinct users of the item
position            the best (smallest) slot the item was shown in (missing when not shown)
propensity          the logged probability that the logging policy showed the item
segment             the user's segment, from the user side table (``segment`` or
                    ``user_segment``)
==================  =====================================================================

A column appears only when its source column exists. ``user_activity`` and ``item_popularity``
count events of the whole log, including the pair's own events (a mild post-treatment
contamination that is standard for logged data; use :func:`user_units` for a clean time split).
``position`` is only defined for shown items, so it is a consequence of exposure and must not be
used as a covariate for the effect of exposure.

User units (:func:`user_units`): the log's time span [t_min, t_max] is split at its midpoint
t_mid = t_min + (t_max - t_min) / 2 (the index date, the same for every user):

==================  =====================================================================
treated             1 when the user has >= 1 ``treatment_event`` event at a time < t_mid
outcome             1 when the user has >= 1 ``outcome_event`` event in
                    [t_mid, t_mid + window_days days)
user_activity       log1p(number of the user's events before t_mid, not counting
                    ``treatment_event`` events)
prior_outcome       1 when the user has an ``outcome_event`` event before t_mid
segment             from ``users`` when it has a ``segment`` column
==================  =====================================================================

Every user of ``users`` (or, without ``users``, of ``events``) is a unit; users without events
before t_mid are untreated with activity 0. Covariates only use the time before t_mid, so they
cannot be affected by the treatment. A window that runs past the end of the log censors the
outcome equally for both arms; the frame's ``attrs["notes"]`` says so.

Covariates
----------
:func:`covariates_from_graph` maps a graph's optimal (else smallest minimal) adjustment set to
data columns and warns when a hand-chosen covariate set differs from it; :func:`detect_kind`
says whether a column is a binary or a continuous variable.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import networkx as nx
import numpy as np
import pandas as pd

from causalrec_core.errors import GraphError, ParameterError, out_of_range

__all__ = [
    "CovariateChoice",
    "NotAdjustableError",
    "covariates_from_graph",
    "SKEWED_COVARIATES",
    "design_matrix",
    "detect_kind",
    "log_skewed",
    "roles_from_graph",
    "node_columns",
    "node_for_column",
    "post_treatment_columns",
    "treatment_problem",
    "segment_labels",
    "segment_options",
    "pair_units",
    "simulator_units",
    "user_units",
]

Kind = Literal["binary", "continuous"]

_PAIR_FLAGS = (("viewed", "n_view"), ("clicked", "n_click"), ("carted", "n_cart"))
_SEGMENT_COLUMNS = ("segment", "user_segment")
#: The funnel flags of a unit table in the order the events happen: a flag after the treatment's
#: stage can be affected by the treatment (a mediator or a later outcome).
FUNNEL: tuple[str, ...] = ("exposed", "viewed", "clicked", "carted", "purchased")
#: Columns that are never segments: ids, and the simulator's answers (potential outcomes, uplift)
#: and ``position`` (defined only for shown items, so it comes after exposure).
NOT_SEGMENTS = frozenset({"user_id", "item_id", "position", "propensity", "uplift", "p_view_treated",
                          "p_view_control", "p_purchase_treated", "p_purchase_control"})
#: Numeric columns with more distinct values than this are split into quartiles to segment on.
MAX_SEGMENT_GROUPS = 20
POST_TREATMENT_FLAG = "post-treatment: segmenting on it is not a causal comparison"


# ============================================================================ helpers


def _require_frame(name: str, df: Any, columns: Iterable[str]) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise ParameterError(f"{name} is invalid: it must be a pandas DataFrame; got {type(df).__name__}.")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ParameterError(
            f"{name} lacks the column(s) {missing}; it has: {', '.join(map(str, df.columns))}."
        )
    return df


def _flag(series: pd.Series) -> pd.Series:
    """0/1 as Int8, keeping missing values missing."""
    return series.astype("boolean").astype("Int8")


def _log1p(series: pd.Series) -> pd.Series:
    return np.log1p(pd.to_numeric(series, errors="coerce").astype("float64"))


# ============================================================================ kinds


def detect_kind(series: pd.Series) -> Kind:
    """Whether ``series`` is a ``'binary'`` (only 0/1 or True/False) or a ``'continuous'`` variable.

    Missing values are ignored. Two-valued columns other than 0/1 (e.g. 1/2) are continuous:
    recode them to 0/1 to use them as a treatment.

    Raises
    ------
    ParameterError
        The column is not numeric or boolean, has only missing values, or is constant; the message
        names the column.

    Examples
    --------
    >>> detect_kind(pd.Series([0, 1, 1], name="exposed"))
    'binary'
    >>> detect_kind(pd.Series([0.5, 2.0], name="spend"))
    'continuous'
    """
    if not isinstance(series, pd.Series):
        raise ParameterError(f"series is invalid: it must be a pandas Series; got {type(series).__name__}.")
    name = series.name if series.name is not None else "column"
    if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
        found = ", ".join(repr(v) for v in pd.unique(series.dropna())[:5])
        raise ParameterError(f"column {name!r} is not numeric (values such as {found}); "
                             "encode it as 0/1 or as numbers first.")
    values = series.dropna()
    if values.empty:
        raise ParameterError(f"column {name!r} has only missing values.")
    uniq = pd.unique(values.astype("float64"))
    if len(uniq) < 2:
        raise ParameterError(f"column {name!r} is constant (every value is {uniq[0]:g}); it carries no "
                             "information.")
    return "binary" if np.isin(uniq, (0.0, 1.0)).all() else "continuous"


# ============================================================================ unit tables


def pair_units(interactions: pd.DataFrame, users: pd.DataFrame | None = None,
               items: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per user x item pair with treatment, outcome and covariate candidates.

    Parameters
    ----------
    interactions : DataFrame
        The dataset's pair table (``user_id``, ``item_id``, ``n_<event>``, ``purchased``,
        optionally ``exposed``, ``position``, ``propensity``).
    users : DataFrame, optional
        The user table (``user_id``, ``n_events``, optional ``segment``).
    items : DataFrame, optional
        The item table (``item_id``, ``n_users``).

    Returns
    -------
    DataFrame
        The columns of the module's table (those whose sources exist), in ``interactions`` order.

    Raises
    ------
    ParameterError
        A table is not a DataFrame or lacks its id column(s), or a side table repeats an id.

    Examples
    --------
    >>> inter = pd.DataFrame({"user_id": ["u1", "u2"], "item_id": ["i1", "i1"], "n_click": [0, 2],
    ...                       "purchased": [False, True], "exposed": [True, False]})
    >>> pair_units(inter)[["clicked", "purchased", "exposed"]].to_numpy().tolist()
    [[0, 0, 1], [1, 1, 0]]
    """
    _require_frame("interactions", interactions, ("user_id", "item_id"))
    out = interactions[["user_id", "item_id"]].copy()
    if "exposed" in interactions.columns:
        out["exposed"] = _flag(interactions["exposed"])
    for flag, count in _PAIR_FLAGS:
        if count in interactions.columns:
            out[flag] = _flag(pd.to_numeric(interactions[count], errors="coerce") > 0)
    if "purchased" in interactions.columns:
        out["purchased"] = _flag(interactions["purchased"])
    elif "n_purchase" in interactions.columns:
        out["purchased"] = _flag(pd.to_numeric(interactions["n_purchase"], errors="coerce") > 0)
    if users is not None:
        _require_frame("users", users, ("user_id",))
        if users["user_id"].duplicated().any():
            raise ParameterError("users repeats user ids; each user must appear once.")
        keep = {"user_id": users["user_id"]}
        if "n_events" in users.columns:
            keep["user_activity"] = _log1p(users["n_events"])
        seg = next((c for c in _SEGMENT_COLUMNS if c in users.columns), None)
        if seg is not None:
            keep["segment"] = users[seg]
        if len(keep) > 1:
            out = out.merge(pd.DataFrame(keep), on="user_id", how="left", validate="many_to_one")
    if items is not None:
        _require_frame("items", items, ("item_id",))
        if items["item_id"].duplicated().any():
            raise ParameterError("items repeats item ids; each item must appear once.")
        if "n_users" in items.columns:
            side = pd.DataFrame({"item_id": items["item_id"], "item_popularity": _log1p(items["n_users"])})
            out = out.merge(side, on="item_id", how="left", validate="many_to_one")
    for col in ("position", "propensity"):
        if col in interactions.columns:
            out[col] = pd.to_numeric(interactions[col], errors="coerce").to_numpy()
    return out.reset_index(drop=True)


def user_units(events: pd.DataFrame, users: pd.DataFrame | None = None, *, treatment_event: str = "exposure",
               outcome_event: str = "purchase", window_days: float = 14.0) -> pd.DataFrame:
    """One row per user: ``treatment_event`` before the log's midpoint -> ``outcome_event`` after it.

    See the module docstring for the exact definitions (index date t_mid = the midpoint of the
    log's time span; outcome window [t_mid, t_mid + window_days)).

    Parameters
    ----------
    events : DataFrame
        Cleaned events with ``user_id``, ``timestamp`` and ``event``.
    users : DataFrame, optional
        The user table; its users are the units and its ``segment`` column is kept.
    treatment_event, outcome_event : str
        Event labels (e.g. ``'exposure'``, ``'purchase'``).
    window_days : float
        Length of the outcome window in days (> 0).

    Returns
    -------
    DataFrame
        ``user_id, treated, outcome, user_activity, prior_outcome`` (+ ``segment``), sorted by
        user id; ``attrs`` holds ``t_mid`` (ISO time) and ``notes``.

    Raises
    ------
    ParameterError
        Missing columns, unknown event labels, a non-positive window or an unusable time span.
    """
    _require_frame("events", events, ("user_id", "timestamp", "event"))
    if not isinstance(window_days, (int, float)) or isinstance(window_days, bool) or not window_days > 0:
        raise out_of_range("window_days", window_days, "a number of days > 0")
    labels = set(events["event"].dropna().unique())
    for param, label in (("treatment_event", treatment_event), ("outcome_event", outcome_event)):
        if label not in labels:
            raise ParameterError(f"{param}={label!r} is not an event of the log; choose one of: "
                                 + ", ".join(repr(x) for x in sorted(map(str, labels))) + ".")
    ts = pd.to_datetime(events["timestamp"], utc=True, errors="coerce")
    if ts.isna().all():
        raise ParameterError("events has no parseable timestamps.")
    t_min, t_max = ts.min(), ts.max()
    if t_max <= t_min:
        raise ParameterError("events span a single instant; a before/after split needs a time span.")
    t_mid = t_min + (t_max - t_min) / 2
    t_end = t_mid + pd.Timedelta(days=float(window_days))
    ev = events["event"]
    before = ts < t_mid
    uid = events["user_id"]

    def users_where(mask: pd.Series) -> set:
        return set(uid[mask.fillna(False)].unique())

    treated = users_where(before & (ev == treatment_event))
    outcome = users_where((ts >= t_mid) & (ts < t_end) & (ev == outcome_event))
    prior = users_where(before & (ev == outcome_event))
    activity = uid[(before & (ev != treatment_event)).fillna(False)].value_counts()
    if users is not None:
        _require_frame("users", users, ("user_id",))
        ids = pd.Series(pd.unique(users["user_id"]))
    else:
        ids = pd.Series(pd.unique(uid.dropna()))
    ids = ids.sort_values(ignore_index=True)
    out = pd.DataFrame({
        "user_id": ids,
        "treated": ids.isin(treated).astype("int8"),
        "outcome": ids.isin(outcome).astype("int8"),
        "user_activity": np.log1p(ids.map(activity).fillna(0).astype("float64")),
        "prior_outcome": ids.isin(prior).astype("int8"),
    })
    if users is not None:
        seg = next((c for c in _SEGMENT_COLUMNS if c in users.columns), None)
        if seg is not None:
            out = out.merge(users[["user_id", seg]].drop_duplicates("user_id")
                            .rename(columns={seg: "segment"}), on="user_id", how="left")
    notes = [f"index date t_mid = {t_mid.isoformat()}: treatment = any {treatment_event!r} before it; "
             f"outcome = any {outcome_event!r} in the {window_days:g} days from it"]
    if t_end > t_max:
        notes.append(f"the outcome window ends after the log ({t_max.isoformat()}), so the outcome is "
                     f"observed over {(t_max - t_mid) / pd.Timedelta(days=1):.1f} days only (both arms alike)")
    out.attrs["t_mid"] = t_mid.isoformat()
    out.attrs["notes"] = notes
    return out


def simulator_units(pairs: pd.DataFrame) -> pd.DataFrame:
    """The simulator's ``pairs`` table as a unit table: a copy with ``user_activity`` and
    ``item_popularity`` replaced by their log1p (both are heavy-tailed; the simulator's SCM uses
    their logarithms). Every other column is kept as it is.

    Raises
    ------
    ParameterError
        ``pairs`` lacks ``user_activity`` or ``item_popularity``.
    """
    _require_frame("pairs", pairs, ("user_activity", "item_popularity"))
    out = pairs.copy()
    for col in ("user_activity", "item_popularity"):
        out[col] = _log1p(pairs[col])
    return out


# ============================================================================ covariates


#: Heavy-tailed pair covariates (counts / rates) that nuisance models should see on the log scale.
SKEWED_COVARIATES: tuple[str, ...] = ("user_activity", "item_popularity")
#: Sample skewness above which a listed covariate is taken to be on the raw (un-logged) scale.
SKEW_THRESHOLD = 1.0


def log_skewed(data: pd.DataFrame, covariates: Sequence[str], *,
               candidates: Sequence[str] = SKEWED_COVARIATES,
               threshold: float = SKEW_THRESHOLD) -> tuple[pd.DataFrame, list[str]]:
    """Replace the raw-scale skewed covariates of ``data`` by their log1p, for fitting nuisance models.

    A covariate is transformed when it is in ``covariates`` and ``candidates`` (by default
    ``user_activity`` and ``item_popularity``), numeric, non-negative and right-skewed (sample
    skewness > ``threshold``). Columns already on the log scale (as :func:`pair_units` and
    :func:`simulator_units` build them; their skewness is well below 1) are left alone, so the
    transform is not applied twice. The skewness test is a heuristic: a log-scale column that is
    still very skewed (skewness > ``threshold``) would be transformed again, so pass raw counts, or
    turn the option off (``causalrec effect --raw-covariates``) for such data. Returns (a copy of
    ``data`` when anything changed, notes).

    Examples
    --------
    >>> df = pd.DataFrame({"user_activity": [1.0, 1, 1, 2, 1, 1, 1, 1, 1, 500]})
    >>> out, notes = log_skewed(df, ["user_activity"])
    >>> round(float(out["user_activity"].max()), 3), len(notes)
    (6.217, 1)
    """
    changed: list[str] = []
    out = data
    for col in covariates:
        if col not in candidates or col not in data.columns:
            continue
        s = data[col]
        if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
            continue
        v = pd.to_numeric(s, errors="coerce").astype("float64")
        if v.notna().sum() < 3 or (v < 0).any() or not float(v.skew()) > threshold:
            continue
        if out is data:
            out = data.copy()
        out[col] = np.log1p(v)
        changed.append(col)
    notes = ([f"The skewed covariate{'s' if len(changed) > 1 else ''} {', '.join(map(str, changed))} "
              f"{'were' if len(changed) > 1 else 'was'} log1p-transformed before fitting the nuisance models "
              f"(sample skewness > {threshold:g} on the raw scale)"] if changed else [])
    return out, notes


def design_matrix(data: pd.DataFrame, covariates: Sequence[str], *,
                  log_skewed_covariates: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """Numeric covariate matrix for ``covariates``: numbers and booleans as they are, text or
    categorical columns one-hot encoded (first level dropped). Returns (matrix, notes).

    With ``log_skewed_covariates=True`` the raw-scale skewed pair covariates (``user_activity``,
    ``item_popularity``) are log1p-transformed first (see :func:`log_skewed`; a note says so).

    Raises
    ------
    ParameterError
        A covariate that is not a column (naming the available ones).
    """
    missing = [c for c in covariates if c not in data.columns]
    if missing:
        raise ParameterError(f"covariates {', '.join(map(str, missing))} are not columns of the data; available columns: "
                             + ", ".join(map(str, data.columns)) + ".")
    parts, notes = [], []
    if log_skewed_covariates:
        data, notes = log_skewed(data, covariates)
    for col in covariates:
        s = data[col]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            parts.append(pd.to_numeric(s.astype("float64") if pd.api.types.is_bool_dtype(s) else s)
                         .astype("float64").rename(col))
        else:
            dummies = pd.get_dummies(s.astype("string"), prefix=col, drop_first=True, dtype="float64")
            if s.isna().any():
                dummies.loc[s.isna().to_numpy()] = np.nan
            notes.append(f"covariate {col!r} is categorical: one-hot encoded into {dummies.shape[1]} "
                         f"indicator(s) (first level {sorted(s.dropna().astype(str).unique())[0]!r} is the "
                         "reference)" if s.notna().any() else f"covariate {col!r} has only missing values")
            parts.append(dummies)
    X = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=data.index)
    return X, notes


#: The event count a unit table's 0/1 flag is made from (``viewed`` is ``n_view > 0`` ...).
FLAG_SOURCES: dict[str, str] = {**dict(_PAIR_FLAGS), "purchased": "n_purchase"}


def _unit_column(col: str, have: set[str]) -> str:
    """``col`` as a column of the unit table: itself when the table has it, else the flag made from
    it (a node bound to the event count ``n_view`` stands for the unit flag ``viewed``)."""
    if col in have:
        return col
    return next((flag for flag, count in FLAG_SOURCES.items() if count == col and flag in have), col)


def node_columns(g: nx.DiGraph, columns: Iterable[str]) -> dict[Hashable, str | None]:
    """The data column of every node: its ``column`` attribute, else its own name when that is a
    column, else the first of its :data:`~causalrec_core.graph.templates.COLUMN_ALIASES` found in
    ``columns``; None for latent nodes and nodes with no column. A ``column`` attribute naming an
    event count that is not in ``columns`` maps to the unit flag made from it (:data:`FLAG_SOURCES`:
    ``n_view`` -> ``viewed``, ``n_cart`` -> ``carted`` ...) when that flag is."""
    from causalrec_core.graph.model import is_latent
    from causalrec_core.graph.templates import bind_columns

    cols = [str(c) for c in columns]
    have = set(cols)
    out: dict[Hashable, str | None] = {}
    for node, data in g.nodes(data=True):
        col = data.get("column")
        if is_latent(g, node):
            out[node] = None
        elif col:
            out[node] = _unit_column(str(col), have)
        elif str(node) in have:
            out[node] = str(node)
        else:
            out[node] = None
    taken = {c for c in out.values() if c}
    free = [c for c in cols if c not in taken]
    unbound = [n for n, c in out.items() if c is None and not is_latent(g, n)]
    if unbound and free:
        bound = bind_columns(g.subgraph(unbound).copy(), free)
        for n in unbound:
            out[n] = bound.nodes[n].get("column")
    return out


def node_for_column(g: nx.DiGraph, column: str, columns: Iterable[str], *, param: str = "treatment") -> Hashable:
    """The graph node bound to data column ``column`` (see :func:`node_columns`); a node named
    ``column`` is accepted too.

    Raises
    ------
    GraphError
        No node, or several nodes, bind to ``column``.
    """
    mapping = node_columns(g, columns)
    hits = [n for n, c in mapping.items() if c == column]
    if not hits and column in g:
        return column
    if len(hits) == 1:
        return hits[0]
    shown = ", ".join(f"{n}={c}" if c else f"{n} (no column)" for n, c in mapping.items())
    if not hits:
        raise GraphError(f"{param}={column!r}: no node of the graph is bound to this column; nodes and "
                         f"their columns: {shown}. Set the node's 'column' attribute or rename the node.")
    raise GraphError(f"{param}={column!r}: several nodes are bound to this column ({hits}); bind it to one.")


def roles_from_graph(g: nx.DiGraph, columns: Iterable[str]) -> dict[str, str | None]:
    """The data columns of the graph's treatment and outcome nodes, for default choices.

    The treatment is the node with role ``'treatment'`` (else a node named ``exposure``), the
    outcome the node with role ``'outcome'``; each is mapped to its column by :func:`node_columns`
    (its ``column`` binding, its own name, or a known alias). A role held by no node or by several,
    or a node without a column among ``columns``, gives None for that role (never an error).

    Examples
    --------
    >>> from causalrec_core.graph.templates import build_template
    >>> roles_from_graph(build_template("exposure_bias"), ["exposed", "purchased", "user_activity"])
    {'treatment': 'exposed', 'outcome': 'purchased'}
    """
    cols = [str(c) for c in columns]
    have = set(cols)
    mapping = node_columns(g, cols)
    out: dict[str, str | None] = {}
    for role, fallback in (("treatment", "exposure"), ("outcome", None)):
        nodes = [n for n, r in g.nodes(data="role") if r == role]
        if not nodes and fallback is not None and fallback in g:
            nodes = [fallback]
        col = mapping.get(nodes[0]) if len(nodes) == 1 else None
        out[role] = col if col in have else None
    if out["treatment"] is not None and out["treatment"] == out["outcome"]:
        out["outcome"] = None
    return out


class NotAdjustableError(GraphError):
    """The graph is valid, but no adjustment set of it identifies the effect (e.g. a latent confounder
    of treatment and outcome), or none can be formed from the data's columns: a finding about the
    graph to report beside the estimates, not a failure of the user's input."""


@dataclass(frozen=True)
class CovariateChoice:
    """The adjustment set a graph implies, as data columns.

    Attributes
    ----------
    covariates : list of str
        The data columns to adjust for.
    nodes : list
        The graph nodes they come from.
    source : {'optimal', 'minimal'}
        The optimal (O-)set, or the smallest minimal set whose nodes all have columns.
    warnings : list of str
        Differences between a hand-chosen set and the graph's, and other cautions.
    """

    covariates: list[str]
    nodes: list
    source: str
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return {"covariates": list(self.covariates), "nodes": [str(n) for n in self.nodes],
                "source": self.source, "warnings": list(self.warnings)}


def covariates_from_graph(g: nx.DiGraph, treatment_node: Hashable, outcome_node: Hashable,
                          columns: Iterable[str], *, chosen: Iterable[str] | None = None) -> CovariateChoice:
    """The graph's adjustment set for ``treatment_node -> outcome_node`` mapped to ``columns``.

    The optimal set is used when it exists and all its nodes have columns; otherwise the smallest
    minimal backdoor set whose nodes all have columns. With ``chosen`` (a hand-picked list of
    columns), ``warnings`` say whether it differs from that set and whether it is a valid
    adjustment set of the graph.

    Raises
    ------
    GraphError
        Unknown nodes or a cyclic graph; the effect is not identifiable by adjustment (the
        message carries the graph's reason); or no valid set has all its nodes bound to columns.

    Examples
    --------
    >>> from causalrec_core.graph.templates import build_template
    >>> g = build_template("exposure_bias")
    >>> covariates_from_graph(g, "exposure", "purchase", ["user_activity", "item_popularity"]).covariates
    ['item_popularity', 'user_activity']
    """
    from causalrec_core.graph.identify import identify, is_backdoor_set

    cols = [str(c) for c in columns]
    ident = identify(g, treatment_node, outcome_node)
    info = ident.to_dict()
    warnings: list[str] = []
    if not ident.identifiable or (ident.estimand != "backdoor" and not ident.effect_is_zero):
        why = ident.reason or "; ".join(ident.notes) or "no valid adjustment set exists"
        raise NotAdjustableError(f"the effect of {treatment_node!r} on {outcome_node!r} is not identifiable by "
                         f"covariate adjustment in this graph: {why}")
    mapping = node_columns(g, cols)
    have = set(cols)

    def mapped(nodes: Iterable[Hashable]) -> list[str] | None:
        out = [mapping.get(n) for n in nodes]
        return None if any(c is None or c not in have for c in out) else out

    pick: tuple[list, list[str], str] | None = None
    if ident.optimal_set is not None and mapped(ident.optimal_set) is not None:
        pick = (list(ident.optimal_set), mapped(ident.optimal_set), "optimal")
    else:
        for s in ident.backdoor_sets:
            m = mapped(s)
            if m is not None:
                pick = (list(s), m, "minimal")
                break
    if pick is None:
        unmapped = sorted({str(n) for s in ident.backdoor_sets + [ident.optimal_set or []] for n in s
                           if mapping.get(n) not in have})
        raise NotAdjustableError(f"no valid adjustment set of the graph can be formed from the data's columns: the "
                         f"node(s) {unmapped} have no column in the data (sets: {info['backdoor_sets']}); "
                         "bind them with the node's 'column' attribute.")
    nodes, covs, source = pick
    if ident.effect_is_zero:
        warnings.append(f"the graph has no directed path from {treatment_node!r} to {outcome_node!r}: it "
                        "implies the effect is zero.")
    if source == "minimal" and ident.optimal_set is None:
        warnings.append("the graph has no usable optimal adjustment set; using the smallest minimal set "
                        f"{covs}.")
    if chosen is not None:
        chosen = [str(c) for c in chosen]
        if sorted(chosen) != sorted(covs):
            by_col = {c: n for n, c in mapping.items() if c}
            outside = [c for c in chosen if c not in by_col]
            inside = [by_col[c] for c in chosen if c in by_col]
            msg = f"the chosen covariates {chosen} differ from the graph's {source} adjustment set {covs}"
            try:
                valid = not outside and is_backdoor_set(g, treatment_node, outcome_node, inside)
            except (GraphError, ParameterError):
                valid = False
            if outside:
                msg += f"; {outside} are not nodes of the graph"
            msg += ("; the chosen set is also valid in the graph (but may be less efficient)" if valid
                    else "; according to the graph the chosen set does NOT block every backdoor path or "
                         "adjusts for a descendant of the treatment, so the estimate may be biased")
            warnings.append(msg + ".")
    return CovariateChoice(covariates=list(covs), nodes=nodes, source=source, warnings=warnings)


# ============================================================================ segments


def post_treatment_columns(columns: Iterable[str], treatment: str, outcome: str) -> list[str]:
    """The columns that are (or may be) affected by ``treatment``: the outcome and the funnel flags
    (:data:`FUNNEL`) of the stages after the treatment's (all later stages when the treatment is a
    funnel flag; only the outcome otherwise), in ``columns`` order.

    >>> post_treatment_columns(["exposed", "viewed", "carted", "purchased", "segment"], "viewed", "purchased")
    ['carted', 'purchased']
    """
    after: set[str] = {outcome}
    if treatment in FUNNEL:
        after |= set(FUNNEL[FUNNEL.index(treatment) + 1:])
    return [str(c) for c in columns if str(c) in after and str(c) != treatment]


def _binned(series: pd.Series) -> bool:
    """Whether a column is segmented by its quartiles: numbers with more than MAX_SEGMENT_GROUPS
    values, or non-integer numbers (e.g. log counts) with more than 4."""
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return False
    n_values = series.nunique(dropna=True)
    if n_values > MAX_SEGMENT_GROUPS:
        return True
    values = pd.to_numeric(series, errors="coerce").dropna().to_numpy(dtype=float)
    return n_values > 4 and bool((values != np.round(values)).any())


def segment_options(data: pd.DataFrame, treatment: str, outcome: str) -> list[tuple[str, str | None]]:
    """The columns that can split the units into segments, each with None or why it is flagged.

    Text / categorical columns and integer columns with 2-20 values are used as they are; numeric
    columns with more values, and non-integer ones with more than 4, are split into quartiles
    (:func:`segment_labels`). Pre-treatment columns come first
    (in table order); the columns the treatment may affect (:func:`post_treatment_columns`: a mediator
    such as ``carted`` after ``viewed``, or the outcome itself) come last, flagged with
    :data:`POST_TREATMENT_FLAG`. Ids, the treatment and the simulator's answers are never offered.
    """
    post = set(post_treatment_columns(data.columns, treatment, outcome))
    pre, late = [], []
    for col in data.columns:
        name = str(col)
        if name in NOT_SEGMENTS or name in (treatment, outcome):
            continue
        n_values = data[col].nunique(dropna=True)
        if n_values < 2 or (n_values > MAX_SEGMENT_GROUPS and not _binned(data[col])):
            continue
        (late if name in post else pre).append((name, POST_TREATMENT_FLAG if name in post else None))
    return pre + late


def segment_labels(series: pd.Series) -> pd.Series:
    """Segment labels (text) of a column: its values, or for a numeric column with more than
    :data:`MAX_SEGMENT_GROUPS` values (a non-integer one with more than 4) its quartile, labelled ``'Q1: 0.693 to 1.79'`` (fewer groups
    when values repeat). Missing values stay missing.

    >>> segment_labels(pd.Series(range(100))).value_counts().sort_index().to_dict()
    {'Q1: 0 to 24.8': 25, 'Q2: 24.8 to 49.5': 25, 'Q3: 49.5 to 74.2': 25, 'Q4: 74.2 to 99': 25}
    """
    if not _binned(series):
        return series.astype(object).where(series.isna(), series.astype(str))
    codes, edges = pd.qcut(pd.to_numeric(series, errors="coerce"), 4, labels=False, retbins=True, duplicates="drop")
    labels = {k: f"Q{k + 1}: {edges[k]:.3g} to {edges[k + 1]:.3g}" for k in range(len(edges) - 1)}
    return codes.map(labels).astype(object)


def treatment_problem(series: pd.Series, name: str) -> str | None:
    """Why column ``name`` cannot be a binary treatment (or outcome) of the unit table, in words, or
    None when it can: it takes one value for every unit, or it is not a 0/1 column.

    >>> treatment_problem(pd.Series([1, 1, 1]), "exposed")
    'exposed is 1 for every unit, so it cannot be a treatment here (nothing to compare it with)'
    """
    values = series.dropna().unique()
    if len(values) == 1:
        v = values[0]
        shown = int(v) if isinstance(v, (bool, np.bool_)) else v
        return f"{name} is {shown} for every unit, so it cannot be a treatment here (nothing to compare it with)"
    try:
        if detect_kind(series) == "binary":
            return None
    except ParameterError:
        pass
    return f"{name} is not a binary 0/1 column, so it cannot be a treatment here"
