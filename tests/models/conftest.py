"""Shared fixtures of the model tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def one_torch_thread():
    """Run a test with one torch thread (the machines are small and shared), then restore."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
