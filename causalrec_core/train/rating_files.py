"""Rating data uploaded for training: a biased train, a randomised test and, optionally, a small
randomised (MAR) sample, kept in the project folder so that runs can be repeated and resumed.

:func:`stage_rating_files` writes the uploaded bytes under ``<folder>/<content hash>/`` (atomic writes;
the same files give the same folder), reads them back with the loaders every run uses
(:func:`causalrec_core.train.runner.load_data`) so that bad files are refused before a run starts,
with the uploaded file's name in the message, and returns the data spec for
:func:`causalrec_core.train.jobs.start_run` and a summary of what was read. A refused upload leaves
nothing behind.

Formats: ``'csv'`` — ``user,item,rating`` rows (header optional), the form of
``causalrec train --train/--test/--mar``; ``'matrix'`` — Coat's dense whitespace matrices
(``train.ascii`` / ``test.ascii``, 0 = not rated, optional one-hot ``user_features.ascii`` /
``item_features.ascii``), the form of ``causalrec train --data coat:DIR``.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from causalrec_core.errors import CausalRecError, DataError, ParameterError, invalid_choice

__all__ = ["RATING_FORMATS", "StagedRatings", "stage_rating_files"]

RATING_FORMATS: tuple[str, ...] = ("csv", "matrix")
#: role -> file name inside the staged folder, per format
_NAMES = {
    "csv": {"train": "train.csv", "test": "test.csv", "mar": "mar.csv"},
    "matrix": {"train": "train.ascii", "test": "test.ascii", "user_features": "user_item_features/user_features.ascii",
               "item_features": "user_item_features/item_features.ascii"},
}
_REQUIRED = ("train", "test")


@dataclass(frozen=True)
class StagedRatings:
    """Where the files were kept, the data spec of a run on them, and what was read."""

    folder: Path
    spec: dict
    summary: dict = field(default_factory=dict)


def _as_bytes(role: str, upload: object) -> tuple[str, bytes]:
    """(shown name, content) of an upload given as ``(name, bytes)`` or plain bytes."""
    if isinstance(upload, tuple) and len(upload) == 2:
        name, content = upload
    else:
        name, content = role, upload
    if isinstance(content, str):
        content = content.encode()
    if not isinstance(content, (bytes, bytearray)):
        raise ParameterError(f"files[{role!r}] must be bytes or (name, bytes); got {type(content).__name__}.")
    if not bytes(content).strip():
        raise DataError(f"{name}: the file is empty; expected the {role} ratings.")
    return str(name), bytes(content)


def stage_rating_files(folder: str | Path, files: dict, *, fmt: str = "csv", threshold: float = 3.0,
                       mar_fraction: float | None = None) -> StagedRatings:
    """Keep uploaded rating files under ``folder`` and check that they read (module docstring).

    ``files`` maps a role (``train``, ``test``; ``mar`` for csv; ``user_features`` /
    ``item_features`` for matrix) to ``(uploaded name, bytes)``. ``mar_fraction`` carves that share
    of the randomised test as the MAR sample instead of a MAR file.
    """
    from causalrec_core.store.atomic import atomic_write_bytes
    from causalrec_core.train.runner import load_data

    if fmt not in RATING_FORMATS:
        raise invalid_choice("fmt", fmt, RATING_FORMATS)
    names = _NAMES[fmt]
    unknown = sorted(set(files) - set(names))
    if unknown:
        raise invalid_choice("files", unknown[0], tuple(names))
    for role in _REQUIRED:
        if files.get(role) is None:
            raise ParameterError(f"files[{role!r}] is missing: rating data needs a {_REQUIRED[0]} and a "
                                 f"{_REQUIRED[1]} file.")
    if files.get("mar") is not None and mar_fraction is not None:
        raise ParameterError("give either a MAR file or mar_fraction, not both.")
    uploads = {role: _as_bytes(role, up) for role, up in files.items() if up is not None}
    digest = hashlib.sha256(fmt.encode())
    for role in sorted(uploads):
        digest.update(role.encode() + b"\0" + hashlib.sha256(uploads[role][1]).digest())
    target = Path(folder) / digest.hexdigest()[:16]
    fresh = not target.exists()
    for role, (_, content) in uploads.items():
        path = target / names[role]
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            atomic_write_bytes(path, content)
    if fmt == "csv":
        spec: dict = {"source": "csv", "train": str(target / names["train"]), "test": str(target / names["test"])}
        if "mar" in uploads:
            spec["mar"] = str(target / names["mar"])
    else:
        spec = {"source": "coat", "path": str(target)}
    spec["threshold"] = float(threshold)
    spec["label"] = " + ".join(uploads[r][0] for r in ("train", "test", "mar") if r in uploads)
    if mar_fraction is not None:
        spec["mar_fraction"] = mar_fraction
    try:
        data = load_data(spec)
    except CausalRecError as err:
        if fresh:
            shutil.rmtree(target, ignore_errors=True)
        msg = str(err)
        for role, (shown, _) in uploads.items():  # name the user's file, not the staged copy
            msg = msg.replace(str(target / names[role]), shown)
        msg = msg.replace(str(target), "the uploaded files")
        raise type(err)(msg) from None
    return StagedRatings(folder=target, spec=spec, summary=_summary(data))


def _summary(data) -> dict:
    def share(part) -> float:
        return float(np.mean(part.value > data.threshold)) if part is not None and len(part) else float("nan")

    return {
        "n_users": data.n_users, "n_items": data.n_items, "n_train": len(data.train), "n_test": len(data.test),
        "n_mar_sample": 0 if data.mar_sample is None else len(data.mar_sample),
        "positive": f"rating > {data.threshold:g}", "positive_share_train": share(data.train),
        "positive_share_test": share(data.test), "cold_users": int(data.meta.get("cold_users", 0)),
        "cold_items": int(data.meta.get("cold_items", 0)),
        "features": [k for k, v in (("user", data.user_features), ("item", data.item_features)) if v is not None],
    }
