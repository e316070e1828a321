"""Autosaved drafts of an unsaved graph: work in progress that survives a browser reload.

The Causal graph page keeps the open graph in the browser session only; a reload or a lost
connection would drop every unsaved change. So while the open graph differs from its saved
version, the page writes it here, one draft per project, as ``<project folder>/graph_draft.json``
(written atomically: a reader sees the old draft or the new one, never half of either). A fresh
session finds the draft and offers to restore or discard it; saving the graph clears it.

The draft records the graph (:func:`causalrec_core.graph.model.to_dict`), its name, where it
came from, when it was written (UTC) and, when it was opened from a saved graph, that saved
version (``base``), so that a restored draft still shows "unsaved changes" against it.

Examples
--------
>>> path = draft_path(project_dir)                                  # doctest: +SKIP
>>> write_draft(path, graph, name="my_graph", origin="template 'exposure_bias'")  # doctest: +SKIP
>>> read_draft(path).describe()                                      # doctest: +SKIP
"'my_graph' (4 nodes, 5 edges, from 2026-11-28 04:38 UTC)"
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import networkx as nx

from causalrec_core.errors import CausalRecError, GraphError
from causalrec_core.graph import model
from causalrec_core.store.atomic import atomic_write_json

__all__ = ["DRAFT_FILENAME", "DRAFT_FORMAT", "GraphDraft", "discard_draft", "draft_path", "read_draft",
           "write_draft"]

DRAFT_FILENAME = "graph_draft.json"
DRAFT_FORMAT = "causalrec-graph-draft"
DRAFT_VERSION = 1
MAX_DRAFT_BYTES = 20_000_000


@dataclass(frozen=True)
class GraphDraft:
    """An autosaved, unsaved graph."""

    graph: nx.DiGraph
    name: str
    origin: str
    saved_at: datetime  # when the draft was written (timezone-aware, UTC)
    base: dict | None  # the saved graph (model.to_dict) it was edited from, None for a new graph

    def when(self) -> str:
        """The draft's time as the page shows it, e.g. ``2026-11-28 04:38 UTC``."""
        return self.saved_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    def describe(self) -> str:
        """``'<name>' (N nodes, M edges, from <time>)``."""
        n, m = self.graph.number_of_nodes(), self.graph.number_of_edges()
        return (f"'{self.name}' ({n} node{'s' * (n != 1)}, {m} edge{'s' * (m != 1)}, "
                f"from {self.when()})")


def draft_path(project_dir: str | Path) -> Path:
    """Where the draft of a project's open graph lives: ``<project_dir>/graph_draft.json``."""
    return Path(project_dir) / DRAFT_FILENAME


def draft_payload(graph: nx.DiGraph, *, name: str, origin: str, base: Mapping[str, Any] | None = None,
                  now: datetime | None = None) -> dict[str, Any]:
    """The JSON document :func:`write_draft` writes (validated: the graph must be a valid DAG)."""
    if not isinstance(name, str):
        raise GraphError(f"name must be a string, not {type(name).__name__}.")
    when = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return {"format": DRAFT_FORMAT, "version": DRAFT_VERSION, "name": name, "origin": str(origin or ""),
            "saved_at": when.isoformat(timespec="seconds"), "graph": model.to_dict(graph),
            "base": dict(base) if base is not None else None}


def write_draft(path: str | Path, graph: nx.DiGraph, *, name: str, origin: str,
                base: Mapping[str, Any] | None = None, now: datetime | None = None) -> Path:
    """Write the draft of ``graph`` to ``path`` atomically (the folder is created if needed).

    Raises
    ------
    GraphError
        The graph is not valid.
    OSError
        The file cannot be written; an earlier draft is then left as it was.
    """
    return atomic_write_json(path, draft_payload(graph, name=name, origin=origin, base=base, now=now),
                             indent=None)


def read_draft(path: str | Path) -> GraphDraft | None:
    """The draft at ``path``, or None when there is none.

    Raises
    ------
    GraphError
        The file exists but cannot be read or is not a valid draft (truncated, edited by hand,
        written by another program ...). The message names the file and what is wrong; the
        caller should offer to discard it.
    """
    p = Path(path)
    try:
        if not p.is_file():
            return None
        if p.stat().st_size > MAX_DRAFT_BYTES:
            raise GraphError(f"the draft file {str(p)!r} is {p.stat().st_size / 1e6:.1f} MB, more than a graph "
                             f"draft can be ({MAX_DRAFT_BYTES / 1e6:.0f} MB).")
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise GraphError(f"the draft file {str(p)!r} cannot be read: {err.strerror or err}.") from None
    except UnicodeDecodeError:
        raise GraphError(f"the draft file {str(p)!r} is not UTF-8 text.") from None
    try:
        doc = json.loads(text)
    except ValueError as err:
        raise GraphError(f"the draft file {str(p)!r} is not valid JSON ({err}).") from None
    if not isinstance(doc, dict) or doc.get("format") != DRAFT_FORMAT:
        raise GraphError(f"the draft file {str(p)!r} is not a graph draft (its 'format' must be "
                         f"{DRAFT_FORMAT!r}).")
    if doc.get("version") != DRAFT_VERSION:
        raise GraphError(f"the draft file {str(p)!r} has version={doc.get('version')!r}; this version of the "
                         f"program reads version {DRAFT_VERSION}.")
    name, origin, base = doc.get("name"), doc.get("origin", ""), doc.get("base")
    if not isinstance(name, str) or not isinstance(origin, str) or not (base is None or isinstance(base, dict)):
        raise GraphError(f"the draft file {str(p)!r} is malformed: 'name' and 'origin' must be strings and "
                         "'base' an object or null.")
    try:
        saved_at = datetime.fromisoformat(str(doc.get("saved_at")))
    except ValueError:
        raise GraphError(f"the draft file {str(p)!r} has saved_at={doc.get('saved_at')!r}, which is not an "
                         "ISO 8601 time.") from None
    if saved_at.tzinfo is None:
        saved_at = saved_at.replace(tzinfo=timezone.utc)
    try:
        graph = model.from_dict(doc.get("graph"))
    except (CausalRecError, TypeError, ValueError, KeyError, AttributeError) as err:
        raise GraphError(f"the graph in the draft file {str(p)!r} is not valid: {err}") from None
    return GraphDraft(graph=graph, name=name, origin=origin, saved_at=saved_at, base=base)


def discard_draft(path: str | Path) -> bool:
    """Delete the draft at ``path``; True if there was one."""
    try:
        Path(path).unlink()
    except FileNotFoundError:
        return False
    return True
