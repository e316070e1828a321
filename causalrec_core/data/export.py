"""Safe exports: every CSV the product writes goes through :func:`to_csv_bytes`.

Text cells that start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return are prefixed
with a single quote, so that a spreadsheet shows them as text instead of running them as a
formula (CSV / formula injection). Numeric columns are left as numbers.
"""

from __future__ import annotations

import pandas as pd

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: object) -> object:
    """Prefix a text cell that a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(_DANGEROUS):
        return "'" + value
    return value


def csv_safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells are escaped (the input is not modified)."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
            out[col] = s.map(escape_cell, na_action="ignore")
    out.columns = [escape_cell(str(c)) for c in out.columns]
    return out


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 CSV of ``df`` with formula-injection escaping."""
    return csv_safe_frame(df).to_csv(index=False).encode("utf-8")
