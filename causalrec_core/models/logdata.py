"""Event log -> :class:`~causalrec_core.models.data.RecData` (``kind='log'``) for the recommenders.

The input is the canonical events table of :mod:`causalrec_core.data.schema` (``user_id``,
``item_id``, ``timestamp``, ``event`` and optionally ``value``, ``exposed``, ``position``,
``propensity``) and, optionally, an items table (``item_id`` plus side columns such as
``category``, ``title``, ``name``, ``description``).

What is built:

* **Index spaces** — ``user_ids`` are every user seen anywhere in the log, ``item_ids`` every
  item seen in the log or in the items table (sorted), so items without interactions exist in
  the index (cold items) and every split shares one index space.
* **Positives** — the events whose name is in ``positive_events``, one row per (user, item): its
  first positive time. Later positives of the same pair (re-purchases, a click then a purchase)
  are dropped, so a pair appears in exactly one of train / valid / test; the pairs whose repeats
  fall in the valid or test window ("already seen in train") are counted in ``meta``.
* **Temporal split** — ``split='time'``: one global time cut; the last ``test_fraction`` of the
  time-ordered positives is test, the ``valid_fraction`` before it valid, the rest train. The cut
  is a point in time, so positives at exactly the cut time go to the later part.
  ``split='leave-last'``: each user's last positive item is test, the second last valid (none
  when ``valid_fraction == 0``), the rest train; ties in time keep the log's row order.
* **Exposures** — every (user, item) pair with any event: ``exposed = 1`` where the pair has an
  ``exposure`` event or a true ``exposed`` flag, ``outcome = 1`` where it has an
  ``outcome_event``, ``propensity`` the logged one (max over the pair's rows; NaN where a pair
  has none; ``None`` without a propensity column). By default only events of the training window
  count (``exposure_window='train'``), so the causal models never see a valid or test outcome;
  ``'all'`` uses the whole log (for effect estimation, not for training). ``None`` when the log
  has no exposure information at all.
* **Item side information** — ``item_text`` from title / name / description and category, and
  ``item_features`` = the one-hot encoding of the category (columns ``category=<level>``) followed by
  the items table's **numeric catalogue attributes** (e.g. ``price``, a catalogue ``popularity``),
  one column each, named after the column (``meta['item_feature_names']`` lists every column in
  order; ``meta['item_n_category_features']`` is the size of the leading one-hot block). A numeric
  attribute is any column other than ``item_id``, the text and category columns, and the store's
  whole-log aggregates (:data:`STORE_AGGREGATES`), whose dtype is numeric or boolean, or whose text
  parses as numbers in at least :data:`MIN_NUMERIC_SHARE` of its non-empty values (the rest, e.g.
  ``'n/a'``, count as missing and are reported in ``meta['warnings']``). A column missing for more
  than :data:`MAX_MISSING_SHARE` of the catalogue, or constant over it, is skipped. A non-negative
  column with sample skewness above :data:`SKEW_LOG1P` is log1p-transformed; every column is then
  standardised (mean 0, sd 1 over the catalogue: every indexed item with a value) and a missing
  value becomes 0 (the mean). ``meta['item_numeric_columns']`` records per used column its
  transform, mean, sd, number missing and number non-numeric; ``meta['item_numeric_skipped']`` each
  left-out column and why. These are **static catalogue attributes read from the items table**, never
  counts from the interaction log, so nothing of the valid or test interactions leaks into them (a
  column named like a store aggregate such as ``n_events`` is refused for that reason; a catalogue
  column that the user computed from the whole log would leak, and is the user's responsibility).
* **Covariate tables** (for propensity models, see :mod:`causalrec_core.models.exposure`) —
  ``meta['user_covariates']`` / ``meta['item_covariates']``: pandas DataFrames indexed by the dense
  user / item index (``0 .. n-1``) with

  - ``user_activity``: the user's events (of every kind) in the training window, and
    ``item_popularity``: the item's events in the training window. The training window is the one
    of the exposures (before each user's valid cut), whatever ``exposure_window`` is, so no valid
    or test event ever reaches them. Like the store's ``n_events`` they count exposure events too
    (a pair's own exposure adds 1 to the counts: the mild post-treatment contamination that is
    standard for logged data; without exposure events the counts track the logging policy's
    exposure of the user / item far less well);
  - every numeric (float) or categorical (pandas ``category``; text with 2 to
    :data:`MAX_CATEGORY_LEVELS` distinct values) column of the ``users`` / ``items`` side tables
    under its own name (ids, dates, free text such as ``title`` and the store's whole-log aggregates
    :data:`STORE_AGGREGATES` such as ``n_events`` are skipped); a name that both
    tables use, or that is a derived name, gets a ``user_`` / ``item_`` prefix. Users / items
    missing from a side table get NaN.

  ``meta['covariates']`` summarises them (JSON-friendly: names, kinds, what was skipped and why).

Interaction timestamps are epoch seconds (``meta['timestamp_unit'] == 's'``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from causalrec_core.data.schema import CANONICAL_EVENTS
from causalrec_core.errors import DataError, ParameterError, invalid_choice, out_of_range
from causalrec_core.models.data import Exposures, Interactions, RecData

__all__ = ["LOG_SPLITS", "MAX_CATEGORY_LEVELS", "MAX_MISSING_SHARE", "MIN_NUMERIC_SHARE", "SKEW_LOG1P",
           "hold_out_items", "log_data_from_dataset", "log_data_from_frames"]

LOG_SPLITS: tuple[str, ...] = ("time", "leave-last")
EXPOSURE_WINDOWS: tuple[str, ...] = ("train", "all")
DEFAULT_POSITIVE_EVENTS: tuple[str, ...] = ("click", "cart", "fav", "purchase")
TEXT_COLUMNS: tuple[str, ...] = ("title", "name", "description")
CATEGORY_COLUMNS: tuple[str, ...] = ("category", "genre")
REQUIRED_COLUMNS: tuple[str, ...] = ("user_id", "item_id", "timestamp", "event")

_TRUE = {"1", "true", "t", "yes", "y"}
#: A text column of a side table with at most this many distinct values is a categorical covariate.
MAX_CATEGORY_LEVELS = 50
#: Columns of the store's aggregated ``users`` / ``items`` tables (counted over the whole log, valid and
#: test windows included): never covariates, even when such a table is passed as a side table.
STORE_AGGREGATES: frozenset[str] = frozenset(
    {"n_events", "n_users", "n_items", "conversion_rate", "popularity_rank", "first_ts", "last_ts", "active_days",
     "recency_days"} | {f"n_{e}" for e in CANONICAL_EVENTS})
#: Covariates derived from the training-window events (never taken from a side table under these names).
DERIVED_COVARIATES: dict[str, str] = {
    "user_activity": "the user's events (of every kind) in the training window",
    "item_popularity": "the item's events (of every kind) in the training window",
}


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------


def _check_fraction(name: str, value: Any, *, allow_zero: bool) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    lo_ok = ok and (value >= 0 if allow_zero else value > 0)
    if not (ok and lo_ok and value < 1):
        raise out_of_range(name, value, f"a number in {'[0' if allow_zero else '(0'}, 1)")
    return float(value)


def _n_of(fraction: float, n: int) -> int:
    """ceil(fraction * n), robust to float noise (0.3 * 10 -> 3, not 4)."""
    return int(math.ceil(fraction * n - 1e-9))


def _iso(ns: int | None) -> str | None:
    if ns is None:
        return None
    return pd.Timestamp(int(ns), unit="ns", tz="UTC").isoformat()


def _to_ns(col: pd.Series) -> np.ndarray:
    """Timestamps (datetimes, ISO strings or epoch seconds) -> int64 nanoseconds since the epoch (UTC)."""
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        vals = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(vals)
        if bad.any():
            raise DataError(f"timestamp holds {int(bad.sum())} missing or non-numeric values.")
        return np.round(vals * 1e9).astype(np.int64)
    if isinstance(col.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(col):
        ts = pd.to_datetime(col, utc=True)
    else:
        try:
            ts = pd.to_datetime(col, utc=True, format="ISO8601", errors="coerce")
        except (ValueError, TypeError):  # pragma: no cover - pandas raises only for odd inputs
            ts = pd.to_datetime(col, utc=True, errors="coerce")
    bad = ts.isna().to_numpy()
    if bad.any():
        distinct = col[bad].drop_duplicates()
        examples = ", ".join(repr(v) for v in distinct.head(3).tolist())
        raise DataError(f"timestamp holds {int(bad.sum())} values that are not times ({len(distinct)} distinct; "
                        f"examples: {examples}); "
                        "use ISO-8601 strings, datetimes or epoch seconds.")
    return ts.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]").to_numpy().view(np.int64)


def _clean_ids(col: pd.Series, what: str) -> pd.Series:
    if col.isna().any():
        raise DataError(f"{what} holds {int(col.isna().sum())} missing values.")
    if pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col):
        return col.astype(str).str.strip()
    return col


def _factorize(*cols: pd.Series) -> tuple[np.ndarray, list[np.ndarray]]:
    """Sorted unique ids over ``cols`` and each column's codes into them (one hashing pass)."""
    allv = pd.concat([c.reset_index(drop=True) for c in cols], ignore_index=True) if len(cols) > 1 else cols[0]
    if pd.api.types.infer_dtype(allv, skipna=False).startswith("mixed"):
        allv = allv.astype(str)  # mixed types (e.g. ints in the log, text in the items table): compare as text
    codes, uniques = pd.factorize(allv, sort=True)
    ids = np.asarray(uniques)
    if ids.dtype == object:
        try:
            ids = np.asarray(ids.tolist())
        except (TypeError, ValueError):  # pragma: no cover - ragged objects stay objects
            pass
    bounds = np.cumsum([0] + [len(c) for c in cols])
    codes = codes.astype(np.int64)
    return ids, [codes[bounds[k]:bounds[k + 1]] for k in range(len(cols))]


def _codes(col: pd.Series, ids: np.ndarray) -> np.ndarray:
    values = col.astype(str) if ids.dtype.kind == "U" else col
    codes = pd.Index(ids).get_indexer(values)
    if (codes < 0).any():  # pragma: no cover - ids are built from these very columns
        raise RuntimeError("internal error: an id is missing from the index")
    return codes.astype(np.int64)


def _flag(col: pd.Series) -> np.ndarray:
    """An ``exposed`` column (bool, 0/1, 'true'/'false', NaN) -> bool array (NaN = False)."""
    if pd.api.types.is_bool_dtype(col):
        return col.fillna(False).to_numpy(dtype=bool)
    num = pd.to_numeric(col, errors="coerce")
    text = col.astype(str).str.strip().str.lower().isin(_TRUE).to_numpy()
    return np.where(num.notna().to_numpy(), num.fillna(0).to_numpy() > 0, text)


def _first_present(columns: Iterable[str], candidates: Iterable[str]) -> list[str]:
    lower = {str(c).lower(): c for c in columns}
    return [lower[c] for c in candidates if c in lower]


#: An items-table column with more than this share of the catalogue missing is not an item feature.
MAX_MISSING_SHARE = 0.5
#: A text column is read as numbers when at least this share of its non-empty values parse as numbers.
MIN_NUMERIC_SHARE = 0.9
#: A non-negative numeric column with a larger sample skewness is log1p-transformed before standardising.
SKEW_LOG1P = 1.0


def _numeric_values(s: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """``s`` as float64 with NaN for missing / non-numeric entries, and the mask of the non-numeric (given
    but unparseable or infinite) entries; None when ``s`` is not a numeric column (a text column whose
    non-empty values parse as numbers in under MIN_NUMERIC_SHARE of the cases)."""
    if pd.api.types.is_bool_dtype(s):
        vals = s.astype("float64").to_numpy(dtype=np.float64)
        return vals, np.zeros(len(s), dtype=bool)
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_complex_dtype(s):
        vals = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64)
        return np.where(np.isfinite(vals), vals, np.nan), ~np.isfinite(vals) & s.notna().to_numpy()
    if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
        return None
    text = s.astype(object).where(s.notna(), "").map(lambda v: str(v).strip())
    given = (text != "").to_numpy()
    if not given.any():
        return None
    vals = pd.to_numeric(text.where(text != "", None), errors="coerce").to_numpy(dtype=np.float64)
    ok = np.isfinite(vals) & given
    if ok.sum() < MIN_NUMERIC_SHARE * given.sum():
        return None
    return np.where(ok, vals, np.nan), given & ~ok


def _skewness(x: np.ndarray) -> float:
    sd = x.std()
    return float(((x - x.mean()) ** 3).mean() / sd ** 3) if sd > 0 else 0.0


def _numeric_item_features(it: pd.DataFrame, n: int, skip: set[str],
                           meta: dict) -> tuple[np.ndarray, list[str]]:
    """The standardised numeric catalogue attributes of the items table ``it`` (indexed by the dense item
    index): an (n, m) float32 block, its column names, and ``meta['item_numeric_columns']`` /
    ``meta['item_numeric_skipped']`` saying what was used, how, and what was left out and why."""
    used: dict[str, dict] = {}
    skipped: dict[str, str] = {}
    cols: list[np.ndarray] = []
    for col in it.columns:
        name = str(col)
        if col == "item_id" or name.lower() in skip:
            continue
        s = it[col]
        if name.lower() in STORE_AGGREGATES:
            skipped[name] = "a whole-log aggregate of the project store (would leak the valid and test windows)"
            continue
        if pd.api.types.is_datetime64_any_dtype(s) or isinstance(s.dtype, pd.DatetimeTZDtype):
            skipped[name] = "a date/time column"
            continue
        parsed = _numeric_values(s)
        if parsed is None:
            skipped[name] = "not numeric"
            continue
        raw, bad = parsed
        n_bad = int(bad.sum())
        vals = pd.Series(raw, index=it.index).reindex(range(n)).to_numpy(dtype=np.float64)
        present = np.isfinite(vals)
        n_missing = int(n - present.sum())
        if n_missing > MAX_MISSING_SHARE * n:
            skipped[name] = f"mostly missing ({n_missing} of {n} items)"
            continue
        x = vals[present]
        if len(np.unique(x)) < 2:
            skipped[name] = "constant over the catalogue"
            continue
        transform = "none"
        if x.min() >= 0 and len(np.unique(x)) > 2 and _skewness(x) > SKEW_LOG1P:
            transform = "log1p"
            x = np.log1p(x)
        mean, sd = float(x.mean()), float(x.std())
        z = np.zeros(n, dtype=np.float64)  # missing -> 0, the catalogue mean
        z[present] = (x - mean) / sd
        cols.append(z)
        used[name] = {"transform": transform, "mean": mean, "sd": sd, "n_missing": n_missing,
                      "n_non_numeric": n_bad}
        if n_bad:
            examples = ", ".join(repr(v) for v in s[bad].head(3).tolist())
            meta["warnings"].append(f"items.{name}: {n_bad} value(s) are not numbers (examples: {examples}); "
                                    "they count as missing (the catalogue mean) in item_features.")
    meta["item_numeric_columns"] = used
    meta["item_numeric_skipped"] = skipped
    block = np.stack(cols, axis=1).astype(np.float32) if cols else np.zeros((n, 0), dtype=np.float32)
    return block, list(used)


def _items_side(items: pd.DataFrame | None, item_ids: np.ndarray, meta: dict) -> tuple[Any, Any]:
    """item_text and item_features aligned to ``item_ids``.

    ``item_features`` = [one-hot of the category | standardised numeric catalogue attributes] (see the
    module docstring); ``meta['item_feature_names']`` names its columns in order,
    ``meta['item_n_category_features']`` says how many leading columns are the one-hot block.
    """
    if items is None:
        return None, None
    it = items.drop_duplicates("item_id", keep="first")
    it = it.assign(_idx=_codes(it["item_id"], item_ids)).set_index("_idx")
    n = len(item_ids)
    text_cols = _first_present(it.columns, TEXT_COLUMNS)
    cat_cols = _first_present(it.columns, CATEGORY_COLUMNS)
    cat_col = cat_cols[0] if cat_cols else None
    item_text = None
    if text_cols or cat_col:
        parts = pd.Series([""] * n, dtype=object)

        def add(values: pd.Series, prefix: str = "") -> None:
            vals = values.reindex(range(n))
            s = vals.astype(object).where(vals.notna(), "").map(lambda v: str(v).strip())
            s = s.where(s == "", prefix + s)
            nonlocal parts
            joined = np.where((parts != "") & (s != ""), parts + ". " + s, parts + s)
            parts = pd.Series(joined, dtype=object)

        for c in text_cols:
            add(it[c])
        if cat_col:
            add(it[cat_col], f"{cat_col}: ")
        item_text = [str(t) for t in parts.tolist()]
        meta["item_text_columns"] = [str(c) for c in text_cols] + ([str(cat_col)] if cat_col else [])
    blocks: list[np.ndarray] = []
    feature_names: list[str] = []
    if cat_col:
        cats = it[cat_col].reindex(range(n))
        present = cats.notna().to_numpy()
        labels = cats[present].astype(str).str.strip()
        names = sorted(set(labels.tolist()))
        one_hot = np.zeros((n, len(names)), dtype=np.float32)
        col_of = {c: j for j, c in enumerate(names)}
        rows = np.flatnonzero(present)
        one_hot[rows, [col_of[c] for c in labels.tolist()]] = 1.0
        blocks.append(one_hot)
        feature_names += [f"{cat_col}={c}" for c in names]
    meta["item_n_category_features"] = len(feature_names)
    meta.setdefault("warnings", [])
    skip = {c.lower() for c in TEXT_COLUMNS + CATEGORY_COLUMNS}
    numeric, numeric_names = _numeric_item_features(it, n, skip, meta)
    if numeric_names:
        blocks.append(numeric)
        feature_names += numeric_names
    if not blocks:
        return item_text, None
    meta["item_feature_names"] = feature_names
    return item_text, np.concatenate(blocks, axis=1) if len(blocks) > 1 else blocks[0]


def _side_columns(table: pd.DataFrame | None, id_col: str) -> tuple[dict[str, str], dict[str, str]]:
    """The usable covariate columns of a side table: ({column: 'numeric'|'categorical'}, {column: why skipped})."""
    kinds: dict[str, str] = {}
    skipped: dict[str, str] = {}
    if table is None:
        return kinds, skipped
    for col in table.columns:
        if col == id_col:
            continue
        s = table[col]
        name = str(col)
        if name.lower() in STORE_AGGREGATES:
            skipped[name] = "a whole-log aggregate of the project store (would leak the valid and test windows)"
        elif pd.api.types.is_bool_dtype(s) or (pd.api.types.is_numeric_dtype(s)
                                             and not pd.api.types.is_complex_dtype(s)):
            if pd.to_numeric(s, errors="coerce").notna().any():
                kinds[name] = "numeric"
            else:
                skipped[name] = "only missing values"
        elif pd.api.types.is_datetime64_any_dtype(s) or isinstance(s.dtype, pd.DatetimeTZDtype):
            skipped[name] = "a date/time column"
        elif name.lower() in TEXT_COLUMNS:
            skipped[name] = "free text"
        else:
            levels = s.dropna().astype(str).str.strip()
            k = int(levels[levels != ""].nunique())
            if 2 <= k <= MAX_CATEGORY_LEVELS:
                kinds[name] = "categorical"
            else:
                skipped[name] = (f"text with {k} distinct values (a categorical covariate needs 2 to "
                                 f"{MAX_CATEGORY_LEVELS})")
    return kinds, skipped


def _side_table(table: pd.DataFrame | None, id_col: str, ids: np.ndarray, kinds: dict[str, str],
                names: dict[str, str]) -> pd.DataFrame:
    """The side columns ``kinds`` aligned to the dense index of ``ids`` (rows of unknown ids dropped)."""
    n = len(ids)
    out = pd.DataFrame(index=pd.RangeIndex(n))
    if table is None or not kinds:
        return out
    t = table.drop_duplicates(id_col, keep="first")
    values = t[id_col].astype(str) if ids.dtype.kind == "U" else t[id_col]
    codes = pd.Index(ids).get_indexer(values)
    keep = codes >= 0
    t = t.loc[keep]
    codes = codes[keep]
    for col, kind in kinds.items():
        src = t[col] if col in t.columns else t[[c for c in t.columns if str(c) == col][0]]
        if kind == "numeric":
            vals = np.full(n, np.nan)
            vals[codes] = pd.to_numeric(src.astype("float64") if pd.api.types.is_bool_dtype(src) else src,
                                        errors="coerce").to_numpy(dtype=np.float64)
            out[names[col]] = vals
        else:
            present = src.notna().to_numpy()
            text = [str(v).strip() if ok else "" for v, ok in zip(src.tolist(), present, strict=True)]
            vals = np.full(n, None, dtype=object)
            vals[codes] = [v if v else None for v in text]
            levels = sorted({v for v in vals if isinstance(v, str)})
            out[names[col]] = pd.Categorical(vals, categories=levels)
    return out


def _covariates(u: np.ndarray, i: np.ndarray, in_train: np.ndarray, user_ids: np.ndarray,
                item_ids: np.ndarray, users: pd.DataFrame | None, items: pd.DataFrame | None,
                meta: dict) -> None:
    """Fill ``meta['user_covariates']``, ``meta['item_covariates']`` and ``meta['covariates']``."""
    activity = np.bincount(u[in_train], minlength=len(user_ids)).astype(np.float64)
    popularity = np.bincount(i[in_train], minlength=len(item_ids)).astype(np.float64)
    u_kinds, u_skipped = _side_columns(users, "user_id")
    i_kinds, i_skipped = _side_columns(items, "item_id")
    clash = (set(u_kinds) & set(i_kinds)) | set(DERIVED_COVARIATES)
    u_names = {c: (f"user_{c}" if c in clash else c) for c in u_kinds}
    i_names = {c: (f"item_{c}" if c in clash else c) for c in i_kinds}
    # a prefixed name may still collide with a derived or an unprefixed name: keep prefixing
    taken = set(DERIVED_COVARIATES)
    for names in (u_names, i_names):
        for c, nm in names.items():
            while nm in taken:
                nm = f"side_{nm}"
            names[c] = nm
            taken.add(nm)
    ucov = _side_table(users, "user_id", user_ids, u_kinds, u_names)
    icov = _side_table(items, "item_id", item_ids, i_kinds, i_names)
    ucov.insert(0, "user_activity", activity)
    icov.insert(0, "item_popularity", popularity)
    ucov.index.name, icov.index.name = "user_idx", "item_idx"
    meta["user_covariates"] = ucov
    meta["item_covariates"] = icov
    meta["covariates"] = {
        "user": {"user_activity": "numeric", **{u_names[c]: k for c, k in u_kinds.items()}},
        "item": {"item_popularity": "numeric", **{i_names[c]: k for c, k in i_kinds.items()}},
        "derived": dict(DERIVED_COVARIATES),
        "renamed": {**{f"users.{c}": nm for c, nm in u_names.items() if nm != c},
                    **{f"items.{c}": nm for c, nm in i_names.items() if nm != c}},
        "skipped": {**{f"users.{c}": why for c, why in u_skipped.items()},
                    **{f"items.{c}": why for c, why in i_skipped.items()}},
        "window": "train",
    }


# ------------------------------------------------------------------------------------------
# main entry points
# ------------------------------------------------------------------------------------------


def log_data_from_frames(
    events: pd.DataFrame,
    items: pd.DataFrame | None = None,
    *,
    users: pd.DataFrame | None = None,
    positive_events: Iterable[str] = DEFAULT_POSITIVE_EVENTS,
    outcome_event: str = "purchase",
    split: str = "time",
    valid_fraction: float = 0.1,
    test_fraction: float = 0.1,
    min_user_events: int = 1,
    exposure_window: str = "train",
    name: str = "",
) -> RecData:
    """Build the implicit-feedback :class:`RecData` of an event log (see the module docstring).

    Parameters
    ----------
    events : the canonical events table (``user_id``, ``item_id``, ``timestamp``, ``event`` ...).
    items : optional items table (``item_id`` plus side columns) for cold items, text, features and
        item covariates.
    users : optional users table (``user_id`` plus side columns such as ``activity``, ``segment``) for the
        user covariates; users absent from the log are ignored (the user index is the log's).
    positive_events : the events that count as a positive interaction.
    outcome_event : the event that is the outcome of an exposure.
    split : ``'time'`` (one global time cut) or ``'leave-last'`` (per user).
    valid_fraction, test_fraction : sizes of the valid/test parts for ``split='time'``;
        for ``'leave-last'`` only ``valid_fraction == 0`` matters (no valid part).
    min_user_events : users with fewer positive (user, item) pairs are left out of the splits
        (they stay in the index).
    exposure_window : ``'train'`` (events of the training window only) or ``'all'``.

    Raises
    ------
    DataError
        Missing columns, unparseable times, no positive events, an empty train or test part.
    ParameterError
        An invalid argument.
    """
    if not isinstance(events, pd.DataFrame):
        raise ParameterError(f"events must be a pandas DataFrame; got {type(events).__name__}.")
    if split not in LOG_SPLITS:
        raise invalid_choice("split", split, LOG_SPLITS)
    if exposure_window not in EXPOSURE_WINDOWS:
        raise invalid_choice("exposure_window", exposure_window, EXPOSURE_WINDOWS)
    if isinstance(positive_events, str):
        positive_events = (positive_events,)
    positive = tuple(dict.fromkeys(str(e).strip().lower() for e in positive_events))
    if not positive:
        raise out_of_range("positive_events", list(positive), "a non-empty list of event names")
    outcome_event = str(outcome_event).strip().lower()
    valid_fraction = _check_fraction("valid_fraction", valid_fraction, allow_zero=True)
    test_fraction = _check_fraction("test_fraction", test_fraction, allow_zero=False)
    if split == "time" and valid_fraction + test_fraction >= 1:
        raise out_of_range("valid_fraction + test_fraction", valid_fraction + test_fraction, "below 1")
    if isinstance(min_user_events, bool) or not isinstance(min_user_events, (int, np.integer)) or min_user_events < 1:
        raise out_of_range("min_user_events", min_user_events, "an integer >= 1")

    missing = [c for c in REQUIRED_COLUMNS if c not in events.columns]
    if missing:
        raise DataError(f"the events table lacks column(s) {missing}; it needs {list(REQUIRED_COLUMNS)} "
                        f"(columns: {[str(c) for c in events.columns]}).")
    if len(events) == 0:
        raise DataError("the events table is empty: there is nothing to learn from.")
    if items is not None:
        if not isinstance(items, pd.DataFrame):
            raise ParameterError(f"items must be a pandas DataFrame or None; got {type(items).__name__}.")
        if "item_id" not in items.columns:
            raise DataError(f"the items table has no 'item_id' column (columns: {[str(c) for c in items.columns]}).")
        items = items.assign(item_id=_clean_ids(items["item_id"], "items.item_id"))
    if users is not None:
        if not isinstance(users, pd.DataFrame):
            raise ParameterError(f"users must be a pandas DataFrame or None; got {type(users).__name__}.")
        if "user_id" not in users.columns:
            raise DataError(f"the users table has no 'user_id' column (columns: {[str(c) for c in users.columns]}).")
        users = users.assign(user_id=_clean_ids(users["user_id"], "users.user_id"))

    users_col = _clean_ids(events["user_id"], "user_id")
    items_col = _clean_ids(events["item_id"], "item_id")
    ev_name = events["event"].astype(str).str.strip().str.lower().to_numpy()
    ts = _to_ns(events["timestamp"])
    user_ids, (u,) = _factorize(users_col)
    item_ids, (i, *_) = _factorize(items_col, *([items["item_id"]] if items is not None else []))
    n_users, n_items = len(user_ids), len(item_ids)
    row = np.arange(len(events), dtype=np.int64)
    found = pd.Series(ev_name).value_counts()
    events_found = {str(k): int(v) for k, v in found.items()}
    meta: dict = {"source": "log", "split": split, "positive_events": list(positive), "outcome_event": outcome_event,
                  "valid_fraction": valid_fraction, "test_fraction": test_fraction,
                  "min_user_events": int(min_user_events), "timestamp_unit": "s", "n_events": int(len(events)),
                  "events_found": events_found, "warnings": []}

    # -- positives: first positive time per (user, item) -------------------------------------
    is_pos = np.isin(ev_name, np.asarray(positive))
    if not is_pos.any():
        raise DataError(f"the log has no positive events: positive_events={list(positive)} were asked for but the "
                        f"log holds only {', '.join(f'{k} ({v})' for k, v in events_found.items())}; "
                        "choose positive_events among those.")
    pos_idx = np.flatnonzero(is_pos)
    order = pos_idx[np.lexsort((row[pos_idx], ts[pos_idx]))]  # positives by time, then row order
    key = u[order] * n_items + i[order]
    _, first = np.unique(key, return_index=True)  # first occurrence in time order
    first_rows = order[first]
    first_rows = first_rows[np.lexsort((first_rows, ts[first_rows]))]
    pu, pi, pt = u[first_rows], i[first_rows], ts[first_rows]
    meta["n_positive_events"] = int(len(pos_idx))
    meta["n_positive_pairs"] = int(len(first_rows))
    meta["n_duplicate_positives"] = int(len(pos_idx) - len(first_rows))

    per_user = np.bincount(pu, minlength=n_users)
    keep = per_user[pu] >= min_user_events
    meta["n_users_below_min"] = int(((per_user > 0) & (per_user < min_user_events)).sum())
    if not keep.any():
        raise DataError(f"no user has min_user_events={min_user_events} positive items (the most any user has is "
                        f"{int(per_user.max())}); lower min_user_events.")
    pu, pi, pt, first_rows = pu[keep], pi[keep], pt[keep], first_rows[keep]
    n = len(pu)

    # -- split: part 0 train, 1 valid, 2 test; cut_valid/cut_test per user (ns; None = no cut) ---
    part = np.zeros(n, dtype=np.int8)
    inf = np.iinfo(np.int64).max
    cut_valid_u = np.full(n_users, inf, dtype=np.int64)  # start of the valid window per user
    cut_test_u = np.full(n_users, inf, dtype=np.int64)
    if split == "time":
        n_test = _n_of(test_fraction, n)
        t_test = int(pt[n - n_test])
        part[pt >= t_test] = 2
        t_valid = t_test
        if valid_fraction > 0:
            start = n - n_test - _n_of(valid_fraction, n)
            if start <= 0:
                raise DataError(f"split='time' leaves an empty train: {n} positive pairs are too few for "
                                f"valid_fraction={valid_fraction} and test_fraction={test_fraction}.")
            t_valid = int(pt[start])
            part[(pt >= t_valid) & (pt < t_test)] = 1
        cut_valid_u[:] = t_valid
        cut_test_u[:] = t_test
        meta["time_cuts"] = {"valid_start": _iso(t_valid) if valid_fraction > 0 else None, "test_start": _iso(t_test)}
    else:
        by_user = np.lexsort((first_rows, pt, pu))
        su = pu[by_user]
        ends = np.r_[np.flatnonzero(su[1:] != su[:-1]), len(su) - 1]
        last = by_user[ends]
        part[last] = 2
        cut_test_u[pu[last]] = pt[last]
        if valid_fraction > 0:
            starts = np.r_[0, ends[:-1] + 1]
            has2 = ends > starts
            second = by_user[ends[has2] - 1]
            part[second] = 1
            cut_valid_u[pu[second]] = pt[second]
        cut_valid_u = np.minimum(cut_valid_u, cut_test_u)
        meta["time_cuts"] = None
    counts = np.bincount(part, minlength=3)
    if counts[0] == 0:
        raise DataError(f"split={split!r} leaves an empty train ({n} positive pairs: {int(counts[1])} valid, "
                        f"{int(counts[2])} test); use more data, smaller fractions or split='time'.")
    if counts[2] == 0:  # pragma: no cover - each split puts at least one pair in test
        raise DataError(f"split={split!r} leaves an empty test; use larger test_fraction.")

    # pairs whose repeat positives fall in a later window: already seen, so not evaluated there
    all_pos = pos_idx[np.isin(u[pos_idx] * n_items + i[pos_idx], pu * n_items + pi)]
    pair_part = pd.Series(part, index=pu * n_items + pi)
    au, at = u[all_pos], ts[all_pos]
    window = np.where(at >= cut_test_u[au], 2, np.where(at >= cut_valid_u[au], 1, 0))
    later = window > pair_part.reindex(au * n_items + i[all_pos]).to_numpy()
    rep_keys = au[later] * n_items + i[all_pos][later]
    rep_win = window[later]
    meta["dropped_repeats"] = {
        "valid": int(len(np.unique(rep_keys[rep_win == 1]))),
        "test": int(len(np.unique(rep_keys[rep_win == 2]))),
    }

    # -- interactions ------------------------------------------------------------------------
    has_prop = "propensity" in events.columns
    prop_all = pd.to_numeric(events["propensity"], errors="coerce").to_numpy(dtype=np.float64) if has_prop else None
    pair_keys, pair_of_event = np.unique(u * n_items + i, return_inverse=True)  # every (user, item) with an event
    pair_prop = None
    if prop_all is not None:
        pp = np.full(len(pair_keys), np.nan)
        np.fmax.at(pp, pair_of_event, prop_all)  # max over the pair's rows, NaN ignored
        pair_prop = pp[np.searchsorted(pair_keys, pu * n_items + pi)]

    def interactions(mask: np.ndarray) -> Interactions:
        prop = None
        if pair_prop is not None and mask.any() and np.isfinite(pair_prop[mask]).all():
            prop = pair_prop[mask]
        return Interactions(user=pu[mask], item=pi[mask], value=np.ones(int(mask.sum()), dtype=np.float32),
                            n_users=n_users, n_items=n_items, timestamp=pt[mask] // 10**9, propensity=prop)

    train = interactions(part == 0)
    valid = interactions(part == 1) if valid_fraction > 0 else None
    test = interactions(part == 2)
    meta.update({"n_train": int(counts[0]), "n_valid": int(counts[1]), "n_test": int(counts[2]),
                 "n_users": int(n_users), "n_items": int(n_items),
                 "n_train_users": int(len(np.unique(train.user))),
                 "n_cold_items": int((np.bincount(train.item, minlength=n_items) == 0).sum()),
                 "time_range": {"first": _iso(int(ts.min())), "last": _iso(int(ts.max()))}})

    # -- exposures -----------------------------------------------------------------------------
    exposures = _exposures(events, ev_name, u, ts, pair_keys, pair_of_event, prop_all, n_items, outcome_event,
                           cut_valid_u if exposure_window == "train" else None, meta)
    meta["exposure_window"] = exposure_window
    if outcome_event not in events_found:
        meta["warnings"].append(f"outcome_event={outcome_event!r} never occurs in the log: "
                                "every exposure outcome is 0.")

    _covariates(u, i, ts < cut_valid_u[u], user_ids, item_ids, users, items, meta)
    item_text, item_features = _items_side(items, item_ids, meta)
    return RecData(kind="log", train=train, user_ids=user_ids, item_ids=item_ids, valid=valid, test=test,
                   item_text=item_text, item_features=item_features, exposures=exposures, name=name, meta=meta)


def _exposures(events: pd.DataFrame, ev_name: np.ndarray, u: np.ndarray, ts: np.ndarray, pair_keys: np.ndarray,
               pair_of_event: np.ndarray, prop_all: np.ndarray | None, n_items: int, outcome_event: str,
               cut_u: np.ndarray | None, meta: dict) -> Exposures | None:
    exposed_row = ev_name == "exposure"
    has_flag = "exposed" in events.columns
    if has_flag:
        exposed_row = exposed_row | _flag(events["exposed"])
    if not has_flag and not (ev_name == "exposure").any():
        meta["exposures"] = None
        meta["warnings"].append("the log has no exposure information ('exposure' events or an 'exposed' column): "
                                "data.exposures is None.")
        return None
    sel = np.ones(len(u), dtype=bool) if cut_u is None else ts < cut_u[u]
    pe = pair_of_event[sel]
    k = len(pair_keys)
    present = np.bincount(pe, minlength=k) > 0
    exposed = np.bincount(pe, weights=exposed_row[sel], minlength=k) > 0
    outcome = np.bincount(pe, weights=(ev_name[sel] == outcome_event), minlength=k) > 0
    prop = None
    if prop_all is not None:
        pp = np.full(k, np.nan)
        np.fmax.at(pp, pe, prop_all[sel])
        prop = pp[present]
    keys = pair_keys[present]
    exp = Exposures(user=keys // n_items, item=keys % n_items, exposed=exposed[present].astype(np.int8),
                    outcome=outcome[present].astype(np.int8), propensity=prop)
    meta["exposures"] = {
        "n_pairs": int(len(exp)), "n_exposed": int(exp.exposed.sum()), "n_outcome": int(exp.outcome.sum()),
        "propensity": "logged" if prop is not None else None,
        "n_propensity_missing": int(np.isnan(prop).sum()) if prop is not None else None,
    }
    return exp


def log_data_from_dataset(store: Any, dataset_id: int, **kw: Any) -> RecData:
    """:func:`log_data_from_frames` on a dataset of the project store (its ``events`` table,
    ``item_side`` table, else its ``items`` table, and ``user_side`` table, when present).

    The store's ``items`` table (used when there is no ``item_side``) and ``users`` table aggregate
    the whole log, valid and test windows included, so they never become covariates: only the
    side tables the user imported do (plus the training-window ``user_activity`` /
    ``item_popularity``)."""
    import pyarrow.parquet as pq

    info = store.get_dataset(dataset_id)
    available = pq.read_schema(store.dataset_path(dataset_id, "events")).names
    wanted = [c for c in ("user_id", "item_id", "timestamp", "event", "exposed", "propensity") if c in available]
    events = store.load_table(dataset_id, "events", columns=wanted)
    items = None
    item_table = None
    for table in ("item_side", "items"):
        if table in info.tables:
            items = store.load_table(dataset_id, table)
            item_table = table
            break
    if "user_side" in info.tables and "users" not in kw:
        kw["users"] = store.load_table(dataset_id, "user_side")
    kw.setdefault("name", info.name)
    data = log_data_from_frames(events, items, **kw)
    data.meta["dataset_id"] = int(dataset_id)
    if item_table == "items":  # whole-log aggregates: keep only the training-window popularity
        data.meta["item_covariates"] = data.meta["item_covariates"][["item_popularity"]]
        cov = data.meta["covariates"]
        cov["skipped"].update({f"items.{c}": "a whole-log aggregate of the store's items table (would leak the "
                               "valid and test windows)" for c in cov["item"] if c != "item_popularity"})
        cov["item"] = {"item_popularity": "numeric"}
    return data


def hold_out_items(data: RecData, fraction: float, seed: int = 0) -> RecData:
    """A copy of ``data`` in which a random ``fraction`` of the items with interactions has every
    train and valid interaction (and exposure) removed; their test interactions stay, so a model
    can be evaluated on items it never saw (cold-start). ``meta['held_out_items']`` lists them."""
    if not isinstance(data, RecData):
        raise ParameterError(f"data must be a RecData; got {type(data).__name__}.")
    fraction = _check_fraction("fraction", fraction, allow_zero=False)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise out_of_range("seed", seed, "an integer")
    parts = [p for p in (data.train, data.valid, data.test) if p is not None]
    candidates = np.unique(np.concatenate([p.item for p in parts]))
    if len(candidates) == 0:
        raise DataError("data has no interactions: there are no items to hold out.")
    n_out = max(1, int(round(fraction * len(candidates))))
    rng = np.random.default_rng(int(seed))
    held = np.sort(rng.choice(candidates, size=n_out, replace=False))
    train_keep = ~np.isin(data.train.item, held)
    if not train_keep.any():
        raise DataError(f"hold_out_items(fraction={fraction}) removes every training interaction; "
                        "use a smaller fraction.")
    train = data.train.subset(train_keep)
    valid = data.valid.subset(~np.isin(data.valid.item, held)) if data.valid is not None else None
    exposures = data.exposures
    if exposures is not None:
        k = ~np.isin(exposures.item, held)
        exposures = Exposures(user=exposures.user[k], item=exposures.item[k], exposed=exposures.exposed[k],
                              outcome=exposures.outcome[k],
                              propensity=None if exposures.propensity is None else exposures.propensity[k])
    meta = dict(data.meta)
    icov = meta.get("item_covariates")
    if isinstance(icov, pd.DataFrame) and "item_popularity" in icov.columns:
        icov = icov.copy()
        icov.loc[held, "item_popularity"] = 0.0  # their training events are gone
        meta["item_covariates"] = icov
    meta.update({
        "held_out_items": [int(x) for x in held], "n_held_out_items": int(n_out), "hold_out_fraction": fraction,
        "hold_out_seed": int(seed), "n_removed_train": int((~train_keep).sum()),
        "n_removed_valid": int(len(data.valid) - len(valid)) if data.valid is not None else 0,
        "n_test_on_held_out": int(np.isin(data.test.item, held).sum()) if data.test is not None else 0,
    })
    return replace(data, train=train, valid=valid, exposures=exposures, meta=meta)
