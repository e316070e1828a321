"""Small biased-train / randomised-test rating files for the training tests."""

from __future__ import annotations

import numpy as np
import pytest


def write_rating_csvs(folder, *, n_users=120, n_items=80, seed=0, header=True):
    """MNAR train (high ratings observed more often) and a MAR test, as user,item,rating CSVs."""
    rng = np.random.default_rng(seed)
    U = rng.normal(size=(n_users, 3))
    V = rng.normal(size=(n_items, 3))
    latent = U @ V.T + rng.normal(scale=0.5, size=(n_users, n_items))
    ratings = np.clip(np.round(3 + latent), 1, 5).astype(int)
    p_obs = 0.04 + 0.06 * (ratings - 1)  # self-selection: liked items are rated more often
    observed = rng.random((n_users, n_items)) < p_obs
    train = [(f"u{u}", f"i{i}", ratings[u, i]) for u, i in zip(*np.nonzero(observed), strict=True)]
    test = []
    for u in range(n_users):
        for i in rng.choice(np.flatnonzero(~observed[u]), size=6, replace=False):
            test.append((f"u{u}", f"i{i}", ratings[u, i]))
    paths = []
    for name, rows in (("train.csv", train), ("test.csv", test)):
        p = folder / name
        lines = (["user,item,rating"] if header else []) + [f"{a},{b},{c}" for a, b, c in rows]
        p.write_text("\n".join(lines) + "\n")
        paths.append(p)
    return paths


@pytest.fixture
def rating_csvs(tmp_path):
    return write_rating_csvs(tmp_path)


def import_log_without_exposures(store, project_id: int, folder, name: str = "no exposures"):
    """A tiny behaviour log (views and purchases, no exposure events or column) imported as a dataset."""
    from causalrec_core.data.importer import import_dataset

    csv = folder / "log.csv"
    csv.write_text("user,item,event,timestamp\n" + "".join(
        f"u{u},i{(u * 3 + k) % 7},{'purchase' if k % 3 == 0 else 'view'},2024-01-{1 + k:02d}\n"
        for u in range(8) for k in range(6)))
    return import_dataset(store, project_id, name, csv,
                          {"user": "user", "item": "item", "event": "event", "timestamp": "timestamp"})
