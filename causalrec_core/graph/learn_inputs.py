"""What structure learning should look at: the default columns, and what dropping incomplete rows does.

Structure learning (:mod:`causalrec_core.graph.discover`) drops every row with a missing or
infinite value and every constant column. Two things go wrong with a naive choice of columns:

* a simulated ``pairs`` table carries the simulator's ground truth (``p_view_treated``,
  ``p_purchase_control``, ``uplift`` ...): deterministic functions of the true model, not
  observable in real logs; learning on them "finds" the simulator's formulas, not the causal
  structure between the treatment, the outcome and the confounders;
* a column that is only filled for some rows (``position`` exists only for exposed pairs)
  makes the row drop keep just those rows: the search then runs on a selected sample (on the
  treatment itself: ``exposed`` becomes constant and is dropped).

:func:`default_learning_columns` picks the treatment, the outcome and the covariate columns of a
table by name (or the columns the open graph binds), and leaves out ground-truth columns,
identifiers and columns with many missing values, saying why. :func:`diagnose_missing` tells
how many rows the drop would remove, because of which columns, and whether the missingness of a
column depends on another selected column.

Examples
--------
>>> choice = default_learning_columns(["exposed", "position", "p_view_treated", "purchased",
...                                    "user_activity", "item_popularity"], missing_share={"position": 0.79})
>>> choice.columns
['exposed', 'purchased', 'user_activity', 'item_popularity']
>>> choice.left_out["position"]
'79% of its values are missing'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from causalrec_core.errors import ParameterError, out_of_range

__all__ = ["LearningColumns", "MissingnessReport", "default_learning_columns", "diagnose_missing",
           "ground_truth_column", "MAX_MISSING_SHARE", "LARGE_DROP_SHARE"]

#: a column with a larger share of missing values is not chosen by default
MAX_MISSING_SHARE = 0.2
#: dropping a larger share of the rows gets a warning
LARGE_DROP_SHARE = 0.2
#: columns named like these are the treatment, the outcome, the covariates (in order of preference)
TREATMENT_NAMES: tuple[str, ...] = ("exposed", "exposure", "is_exposed", "shown", "impression", "treatment",
                                    "treated", "campaign")
OUTCOME_NAMES: tuple[str, ...] = ("purchased", "purchase", "n_purchase", "bought", "converted", "conversion",
                                  "outcome", "clicked", "click", "n_click")
COVARIATE_NAMES: tuple[str, ...] = ("user_activity", "activity", "item_popularity", "popularity", "n_users",
                                    "price", "age", "income")
_GROUND_TRUTH = re.compile(r"^(p_|true_|potential_|tau_)|(_true|_truth)$|^(uplift|ite|cate|tau|true_effect)$",
                           re.IGNORECASE)
_IDENTIFIER = re.compile(r"(^|_)(id|idx|index)$", re.IGNORECASE)
_MAX_LEVELS = 10  # a column with at most this many values is treated as discrete in the diagnosis
_FALLBACK = 6  # without recognisable names: this many usable columns


def _norm(name: str) -> str:
    return "_".join(str(name).strip().lower().replace("-", " ").split())


def ground_truth_column(name: str) -> bool:
    """True for the simulator's ground-truth columns (true potential-outcome probabilities
    ``p_*``, ``uplift``, true effects): not observable in real data, never learned on by default."""
    return bool(_GROUND_TRUTH.search(_norm(name)))


@dataclass(frozen=True)
class LearningColumns:
    """The default columns for structure learning, and why the others were left out."""

    columns: list[str]
    treatment: str | None = None
    outcome: str | None = None
    covariates: list[str] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)  # column -> reason (flagged columns only)
    source: str = "names"  # "graph": the open graph's bound columns; "names": by name; "fallback"

    def notes(self) -> list[str]:
        """One sentence per fact the page shows under the column choice."""
        out = []
        if self.source == "graph":
            out.append("Pre-selected: the columns the open graph's nodes are bound to.")
        elif self.source == "names":
            parts = [f"treatment {self.treatment}" if self.treatment else "",
                     f"outcome {self.outcome}" if self.outcome else "",
                     ("covariates " + ", ".join(self.covariates)) if self.covariates else ""]
            out.append("Pre-selected by name: " + "; ".join(p for p in parts if p) + ".")
        else:
            out.append("No treatment or outcome column was recognised by name; pre-selected the first usable "
                       "columns.")
        if self.left_out:
            by_reason: dict[str, list[str]] = {}
            for col, why in self.left_out.items():
                by_reason.setdefault(why, []).append(col)
            out.append("Not pre-selected: " + "; ".join(f"{', '.join(cols)} ({why})" for why, cols in by_reason.items())
                       + ".")
        return out


def _first(names: Sequence[str], by_norm: Mapping[str, str], taken: set[str]) -> str | None:
    for cand in names:
        col = by_norm.get(cand)
        if col is not None and col not in taken:
            return col
    return None


def default_learning_columns(columns: Iterable[str], *, missing_share: Mapping[str, float] | None = None,
                             graph_columns: Iterable[str] | None = None,
                             constant: Iterable[str] | None = None,
                             max_missing: float = MAX_MISSING_SHARE) -> LearningColumns:
    """The columns structure learning starts from, for a table with numeric ``columns``.

    Parameters
    ----------
    columns : list of str
        The table's numeric columns, in table order.
    missing_share : dict, optional
        column -> share (0..1) of its values that are missing (unknown columns count as complete).
    graph_columns : list of str, optional
        The columns the open graph binds; when at least two of them are usable they are the
        default (in table order).
    constant : list of str, optional
        Columns with a single value in every row of the table: never chosen (structure learning
        would drop them as carrying no information).
    max_missing : float
        Columns with a larger share of missing values are not chosen (default 0.2).

    Returns
    -------
    LearningColumns
        ``columns`` (in table order), the treatment / outcome / covariates recognised by name,
        and ``left_out``: every ground-truth column, identifier or mostly-missing column of the
        table, every constant column, with the reason.
    """
    if not isinstance(max_missing, (int, float)) or not 0 <= max_missing <= 1:
        raise out_of_range("max_missing", max_missing, "a share between 0 and 1")
    cols = [str(c) for c in columns]
    shares = dict(missing_share or {})
    left_out: dict[str, str] = {}
    single = {str(c) for c in constant or ()}
    for c in cols:
        share = float(shares.get(c, 0.0) or 0.0)
        if ground_truth_column(c):
            left_out[c] = "simulator ground truth, not observable in real data"
        elif _IDENTIFIER.search(_norm(c)):
            left_out[c] = "an identifier"
        elif share > max_missing:
            left_out[c] = f"{share:.0%} of its values are missing"
        elif c in single:
            left_out[c] = "the same value in every row of this table: it carries no information"
    usable = [c for c in cols if c not in left_out]
    in_graph = {str(c) for c in graph_columns or ()}
    bound = [c for c in usable if c in in_graph]
    if len(bound) >= 2:
        return LearningColumns(bound, left_out=left_out, source="graph")
    by_norm: dict[str, str] = {}
    for c in usable:
        by_norm.setdefault(_norm(c), c)
    taken: set[str] = set()
    treatment = _first(TREATMENT_NAMES, by_norm, taken)
    taken |= {treatment} if treatment else set()
    outcome = _first(OUTCOME_NAMES, by_norm, taken)
    taken |= {outcome} if outcome else set()
    covariates = []
    for name in COVARIATE_NAMES:
        col = _first((name,), by_norm, taken)
        if col is not None:
            covariates.append(col)
            taken.add(col)
    if treatment is None and outcome is None:
        return LearningColumns(usable[:_FALLBACK], left_out=left_out, source="fallback")
    chosen = [c for c in usable if c in taken]  # table order
    return LearningColumns(chosen, treatment=treatment, outcome=outcome,
                           covariates=[c for c in chosen if c in covariates], left_out=left_out)


# ---------------------------------------------------------------------------------------------
# missingness
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MissingnessReport:
    """What dropping the rows with a missing or infinite value in the chosen columns does."""

    n_rows: int
    n_incomplete: int  # rows with at least one missing or infinite value (the rows the drop removes)
    missing: dict[str, int]  # column -> rows where it is missing (columns with any missing only)
    dependencies: list[str]  # sentences: "position is missing in 100% of the rows with exposed = 0 ..."
    responsible: list[str]  # the columns whose missing values cause the drop, most missing first
    selected_on: list[str]  # columns left with one value by the drop (the search selects on them)
    threshold: float = LARGE_DROP_SHARE

    @property
    def share(self) -> float:
        """The share of the rows the drop removes."""
        return self.n_incomplete / self.n_rows if self.n_rows else 0.0

    @property
    def large(self) -> bool:
        return self.share > self.threshold

    def warnings(self) -> list[str]:
        """The warnings to show before learning (empty when the drop is harmless)."""
        if not self.n_incomplete or not (self.large or self.dependencies):
            return []
        why = ", ".join(f"{c} (missing in {self.missing[c]:,} rows, {self.missing[c] / self.n_rows:.0%})"
                        for c in self.responsible)
        text = (f"Dropping the rows with missing or infinite values removes {self.n_incomplete:,} of "
                f"{self.n_rows:,} rows ({self.share:.0%}), because of {why}.")
        if self.dependencies:
            text += " " + " ".join(self.dependencies)
        if self.selected_on:
            text += (f" The rows kept all have the same {', '.join(self.selected_on)}: the search would run on a "
                     f"sample selected on {', '.join(self.selected_on)}, which it then drops as constant.")
        text += (f" Leave {', '.join(self.responsible)} out of the columns to learn from all the rows.")
        return [text]


def _missing_mask(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        x = s.to_numpy(dtype="float64", na_value=np.nan)
        return ~np.isfinite(x)
    return s.isna().to_numpy()


def _level(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _dependency(col: str, miss: np.ndarray, other: str, s: pd.Series, other_miss: np.ndarray) -> str | None:
    """A sentence when the missingness of ``col`` depends strongly on ``other``, else None."""
    ok = ~other_miss
    if ok.sum() < 2:
        return None
    values = s[ok]
    m = miss[ok]
    levels = pd.unique(values)
    if len(levels) < 2:
        return None
    if len(levels) <= _MAX_LEVELS:
        rates = pd.Series(m).groupby(values.to_numpy()).mean().sort_values()
        lo, hi = rates.index[0], rates.index[-1]
        if rates.iloc[-1] - rates.iloc[0] < 0.5:
            return None

        def pct(r: float) -> str:
            return "every row" if r >= 1 else "no row" if r <= 0 else f"{r:.0%} of the rows"

        return (f"{col} is missing in {pct(rates.iloc[-1])} with {other} = {_level(hi)} and in "
                f"{pct(rates.iloc[0])} with {other} = {_level(lo)}: its missingness depends on {other}.")
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
    if not np.all(np.isfinite(x)) or np.std(x) == 0 or np.std(m) == 0:
        return None
    r = float(np.corrcoef(m.astype(float), x)[0, 1])
    if abs(r) < 0.3:
        return None
    return (f"{col} is missing more often where {other} is {'higher' if r > 0 else 'lower'} (correlation "
            f"{r:+.2f} between {other} and '{col} is missing'): its missingness depends on {other}.")


def diagnose_missing(data: pd.DataFrame, columns: Iterable[str] | None = None, *,
                     threshold: float = LARGE_DROP_SHARE) -> MissingnessReport:
    """What dropping the incomplete rows of ``data[columns]`` would remove, and why.

    Parameters
    ----------
    data : DataFrame
        The table structure learning reads.
    columns : list of str, optional
        The chosen columns (default: all of ``data``'s columns).
    threshold : float
        A drop of more than this share of the rows is ``large`` (default 0.2).

    Raises
    ------
    ParameterError
        ``data`` is not a DataFrame or a column is not in it.
    """
    if not isinstance(data, pd.DataFrame):
        raise ParameterError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
    if not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        raise out_of_range("threshold", threshold, "a share between 0 and 1")
    cols = [str(c) for c in (data.columns if columns is None else columns)]
    unknown = [c for c in cols if c not in data.columns]
    if unknown:
        raise ParameterError(f"columns {', '.join(unknown)} are not in the data; its columns are: "
                             + ", ".join(repr(str(c)) for c in data.columns) + ".")
    masks = {c: _missing_mask(data[c]) for c in cols}
    n = len(data)
    any_missing = np.zeros(n, dtype=bool)
    for m in masks.values():
        any_missing |= m
    missing = {c: int(m.sum()) for c, m in masks.items() if m.any()}
    responsible = sorted(missing, key=lambda c: (-missing[c], cols.index(c)))
    dependencies = []
    for c in responsible:
        if missing[c] == n:
            continue
        for other in cols:
            if other == c:
                continue
            sentence = _dependency(c, masks[c], other, data[other], masks[other])
            if sentence:
                dependencies.append(sentence)
    kept = ~any_missing
    selected_on = []
    if any_missing.any() and kept.any():
        for c in cols:
            before = data[c][~masks[c]]
            after = data[c][kept]
            if before.nunique() > 1 and after.nunique() == 1:
                selected_on.append(c)
    return MissingnessReport(n_rows=n, n_incomplete=int(any_missing.sum()), missing=missing,
                             dependencies=dependencies, responsible=responsible, selected_on=selected_on,
                             threshold=float(threshold))
