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
