"""Uploaded files are written under the workspace, named by their content hash (never by the
user's file name), so that the core's readers work on real paths and reruns reuse them."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import streamlit as st

from causalrec_core.data.io import FileFormat, preview, sniff
from causalrec_core.data.mapping import suggest_mapping


def save_upload(uploaded, root: Path) -> Path:
    data = uploaded.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    folder = root / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}.upload"
    if not path.exists():
        tmp = folder / f".{digest}.{os.getpid()}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, path)
    _prune(folder)
    return path


def _prune(folder: Path, max_age_s: float = 2 * 86400) -> None:
    now = time.time()
    for p in folder.glob("*.upload"):
        try:
            if now - p.stat().st_mtime > max_age_s:
                p.unlink()
        except OSError:
            pass


@st.cache_data(show_spinner=False, max_entries=16)
def detect(path: str, name: str, overrides: tuple) -> tuple[FileFormat, object, dict]:
    """(format, preview frame, suggested mapping) of an uploaded file; cached on its content (the
    stored copy's path is its hash). ``name`` is the user's file name: its extension counts for the
    format (a ``.json`` file is read as JSON lines)."""
    fmt = sniff(path, name=name, **dict(overrides))
    df = preview(path, fmt)
    sugg = {role: (s.column, s.reason) for role, s in suggest_mapping(df).items()}
    return fmt, df, sugg
