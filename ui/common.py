"""Shared widgets: error display without tracebacks, safe text."""

from __future__ import annotations

import contextlib
import logging
import re

import streamlit as st

from causalrec_core.errors import CausalRecError

log = logging.getLogger("causalrec.ui")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


def md(text: object) -> str:
    """Escape user text for st.markdown (no markdown, no HTML)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


@contextlib.contextmanager
def user_errors(action: str):
    """Show a CausalRecError (or any failure) as a readable message, never a traceback."""
    try:
        yield
    except CausalRecError as err:
        st.error(f"{action} failed: {err}")
    except Exception as err:  # noqa: BLE001 - the UI must never show a traceback
        log.exception("unexpected error during %s", action)
        st.error(f"{action} failed because of an unexpected error ({type(err).__name__}: "
                 f"{str(err)[:300]}). Nothing was changed.")


def flash() -> None:
    from ui.state import get_state

    state = get_state()
    if state.flash:
        st.success(state.flash)
        state.flash = None
