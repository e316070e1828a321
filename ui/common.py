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
