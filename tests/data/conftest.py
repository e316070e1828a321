"""Shared fixtures for the data-pipeline tests: tiny logs written into ``tmp_path``.

Every ingestion made through :func:`run_ingest` also checks the accounting contract of the
cleaning step (see :func:`check_accounting`), so each test exercises it for free.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from causalrec_core.data.ingest import IngestResult, ingest

#: The mapping of a log whose columns already carry the canonical names.
STD_MAP = {"user": "user_id", "item": "item_id", "timestamp": "timestamp", "event": "event"}
HEADER = "user_id,item_id,timestamp,event\n"


@dataclass
class Ingested:
    """An :class:`IngestResult` with its main tables already read back."""

    result: IngestResult
    events: pd.DataFrame
    rejected: pd.DataFrame

    @property
    def profile(self) -> dict:
        return self.result.profile

    @property
    def rule_rows(self) -> dict[str, int]:
        """rule -> rows counted by that rule in the cleaning report."""
        return {r["rule"]: r["rows"] for r in self.result.report}

    def table(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(self.result.tables[name])


def check_accounting(ing: Ingested) -> None:
    """rows_in == rows_kept + sum(dropped); every dropped row is in 'rejected', once, with a reason;
    flagged counts match the 'flags' column of the kept rows."""
    p = ing.profile
    assert p["rows_in"] == p["rows_kept"] + sum(p["dropped"].values())
    assert p["rows_kept"] == len(ing.events) == ing.result.n_rows
    assert len(ing.rejected) == sum(p["dropped"].values())
    kept_ids, rej_ids = set(ing.events["row_id"]), set(ing.rejected["row_id"])
    assert len(kept_ids) == len(ing.events), "row_id repeats among kept rows"
    assert len(rej_ids) == len(ing.rejected), "row_id repeats among rejected rows"
    assert not kept_ids & rej_ids, "a row is both kept and rejected"
    assert ing.rejected["reason"].notna().all()
    assert ing.rejected["reason"].value_counts().to_dict() == p["dropped"]
    flags = ing.events["flags"].dropna().str.split(";").explode().value_counts().to_dict()
    assert flags == p["flagged"]
    by_rule = {r["rule"]: r for r in ing.result.report}
    for rule, n in p["dropped"].items():
        assert by_rule[rule]["rows"] == n and by_rule[rule]["dropped"]


@pytest.fixture
def write(tmp_path):
    """write(name, content, encoding='utf-8') -> Path; ``content`` may be str or bytes."""

    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return path

    return _write


@pytest.fixture
def run_ingest(tmp_path, write):
    """run_ingest(content_or_path, mapping=STD_MAP, name='log.csv', **ingest_kwargs) -> Ingested."""
    counter = itertools.count()

    def _run(source: str | bytes | Path, mapping: dict | None = None, name: str = "log.csv",
             **kwargs) -> Ingested:
        path = source if isinstance(source, Path) else write(name, source)
        res = ingest(path, STD_MAP if mapping is None else mapping, tmp_path / f"out{next(counter)}", **kwargs)
        ing = Ingested(res, pd.read_parquet(res.tables["events"]), pd.read_parquet(res.tables["rejected"]))
        check_accounting(ing)
        return ing

    return _run
