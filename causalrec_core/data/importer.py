"""Import a log into a project: stage -> ingest -> commit, all or nothing.

If anything fails (unreadable file, bad mapping, a name clash) the staged folder is removed and
the project is exactly as it was before.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

from causalrec_core.data.clean import CleaningOptions
from causalrec_core.data.ingest import ingest
from causalrec_core.data.io import FileFormat


def import_dataset(
    store,
    project_id: int,
    name: str,
    path: str | Path,
    mapping: Mapping[str, str | None],
    *,
    file_format: FileFormat | None = None,
    event_map: Mapping[str, str | None] | None = None,
    options: CleaningOptions | None = None,
    items_path: str | Path | None = None,
    users_path: str | Path | None = None,
    extra_files: Mapping[str, str | Path] | None = None,
    replace: bool = False,
    source_name: str | None = None,
):
    """Ingest ``path`` and save it as dataset ``name`` of ``project_id``; returns its DatasetInfo.

    ``extra_files`` (target file name -> source path) are copied beside the tables, e.g. the
    simulator's ``truth.json`` and ``pairs.parquet``.
    """
    # Validate the name and the project before doing any heavy work.
    store.get_project(project_id)
    if not replace and store.find_dataset(project_id, name) is not None:
        from causalrec_core.errors import StoreError

        raise StoreError(f"name={name!r} is already used by a dataset of this project; choose another "
                         "name or replace the existing dataset.")
    staged = store.stage_dataset_dir(project_id)
    try:
        res = ingest(path, mapping, staged, file_format=file_format, event_map=event_map,
                     options=options, items_path=items_path, users_path=users_path)
        for target, src in (extra_files or {}).items():
            shutil.copyfile(src, staged / target)
        source = dict(res.source)
        if source_name:
            source["file"] = source_name
        return store.commit_dataset(
            project_id, name, staged, mapping=res.mapping, cleaning_report=res.cleaning_report(),
            profile=res.profile, source=source, content_hash=res.content_hash, n_rows=res.n_rows,
            replace=replace,
        )
    finally:
        if staged.exists():
            store.discard_staged_dir(staged)
