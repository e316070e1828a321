"""Shared widgets: error display without tracebacks, safe text."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Mapping

import streamlit as st

from causalrec_core.errors import CausalRecError

log = logging.getLogger("causalrec.ui")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


def md(text: object) -> str:
    """Escape user text for st.markdown (no markdown, no HTML)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def _readable(message: str, file_names: Mapping[str, str] | None) -> str:
    """Replace internal file names (uploads are stored as '<sha256>.upload') by the user's."""
    for internal, shown in (file_names or {}).items():
        message = message.replace(internal, shown)
    return message


@contextlib.contextmanager
def user_errors(action: str, file_names: Mapping[str, str] | None = None):
    """Show a CausalRecError (or any failure) as a readable message, never a traceback.

    ``file_names`` maps internal file names (as the core names them in its messages) to the names
    the user knows, e.g. ``{path.name: uploaded.name}``.
    """
    try:
        yield
    except CausalRecError as err:
        # messages quote user values (file and column names): shown as text, not markdown
        st.error(md(f"{action} failed: {_readable(str(err), file_names)}"))
    except Exception as err:  # noqa: BLE001 - the UI must never show a traceback
        log.exception("unexpected error during %s", action)
        st.error(md(f"{action} failed because of an unexpected error ({type(err).__name__}: "
                    f"{_readable(str(err), file_names)[:300]}). Nothing was changed."))


def flash() -> None:
    from ui.state import get_state

    state = get_state()
    if state.flash:
        st.success(state.flash)
        state.flash = None


def dataset_picker(store, project_id: int, state, *, key: str, label: str = "Dataset", container=None,
                   on_pick=None, format_func=None):
    """The project's dataset selectbox, synced with the app state (the newest by default).

    The app state is the source of truth (an import selects the new dataset), so the widget is set
    from it on every run; picking another dataset updates the state and calls ``on_pick``.
    ``format_func`` gets a DatasetInfo and returns its label (default: the name).
    Returns the chosen DatasetInfo, or None when the project has no dataset.
    """
    datasets = store.list_datasets(project_id)
    if not datasets:
        return None
    ids = [d.id for d in datasets]
    if state.dataset_id not in ids:
        state.dataset_id = ids[-1]
    by_id = {d.id: d for d in datasets}

    def _picked() -> None:
        state.dataset_id = st.session_state[key]
        if on_pick is not None:
            on_pick()

    st.session_state[key] = state.dataset_id
    label_of = format_func or (lambda d: d.name)
    (container or st).selectbox(label, ids, key=key, on_change=_picked, format_func=lambda i: label_of(by_id[i]))
    return by_id[state.dataset_id]
