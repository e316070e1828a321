"""Shared fixtures of the AppTest page tests."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A fresh, empty workspace (CAUSALREC_HOME) and the repository as the working folder."""
    monkeypatch.setenv("CAUSALREC_HOME", str(tmp_path / "ws"))
    monkeypatch.chdir(ROOT)
    yield tmp_path / "ws"


APP = str(ROOT / "app.py")


def open_page(page: str, timeout: float = 180):
    """The app run once (sample project created), then switched to ``page`` (e.g. 'pages/train.py')."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=timeout)
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


class Upload:
    """What st.file_uploader returns, for a page test (AppTest cannot upload files)."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name, self._data, self.size = name, data, len(data)

    def getvalue(self) -> bytes:
        return self._data


def with_uploads(monkeypatch, uploads: dict) -> None:
    """Make ``st.file_uploader(key=K)`` return ``uploads[K]`` (an :class:`Upload`) for the keys given."""
    import streamlit as st

    real = st.file_uploader
    monkeypatch.setattr(st, "file_uploader",
                        lambda label, *a, key=None, **kw: uploads[key] if key in uploads else real(label, *a, key=key,
                                                                                                  **kw))
