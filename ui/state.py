"""One typed app state behind :func:`get_state`, and the cached project store."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from causalrec_core.store import ProjectStore, default_root


@dataclass
class AppState:
    project_id: int | None = None
    dataset_id: int | None = None
    flash: str | None = None  # a success message to show once after a rerun


def get_state() -> AppState:
    return st.session_state.setdefault("_causalrec_state", AppState())


@st.cache_resource(show_spinner=False)
def _store(root: str) -> ProjectStore:
    # ProjectStore opens a connection per call, so one instance is safe to share across sessions.
    return ProjectStore(root)


def get_store() -> ProjectStore:
    return _store(str(default_root()))
