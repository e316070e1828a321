"""One typed app state behind :func:`get_state`, and the cached project store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from causalrec_core.store import ProjectStore, default_root


@dataclass
class AppState:
    project_id: int | None = None
    dataset_id: int | None = None
    flash: str | None = None  # a success message to show once after a rerun


_STICKY = "_sticky_widgets"


def _keep(key: str) -> None:
    st.session_state[_STICKY][key] = st.session_state[key]


def sticky(key: str, **default: Any) -> dict[str, Any]:
    """Widget keyword arguments (``key``, ``on_change``, and ``default`` — e.g. ``value=0`` — unless the
    widget already has a value) that make the widget keep its value across visits to other pages.

    Streamlit drops the state of a widget that a run does not draw (any other page), so a form would
    come back reset: every change is copied aside here, and a dropped value is put back before the
    widget is drawn (without its default then, or Streamlit warns that the value was set twice).
    """
    shadow = st.session_state.setdefault(_STICKY, {})
    if key not in st.session_state and key in shadow:
        st.session_state[key] = shadow[key]
    kwargs: dict[str, Any] = {"key": key, "on_change": _keep, "args": (key,)}
    return kwargs if key in st.session_state else {**kwargs, **default}


def get_state() -> AppState:
    return st.session_state.setdefault("_causalrec_state", AppState())


@st.cache_resource(show_spinner=False)
def _store(root: str) -> ProjectStore:
    # ProjectStore opens a connection per call, so one instance is safe to share across sessions.
    return ProjectStore(root)


def get_store() -> ProjectStore:
    return _store(str(default_root()))
