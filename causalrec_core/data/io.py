"""Reading behaviour logs: format, encoding, delimiter and header detection.

Small pure functions over the first bytes of a file (:func:`sniff`) and a DuckDB reader that
turns CSV / TSV / Parquet / JSON-lines into a relation of text columns (:func:`register_raw`).
Non-UTF-8 text (GB18030/GBK, Latin-1, UTF-16) is transcoded to a UTF-8 temporary file first,
in a streaming way, so that DuckDB's fast reader can be used on every input.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from causalrec_core.errors import DataError, invalid_choice

FORMATS = ("csv", "parquet", "jsonl")
ENCODINGS = ("utf-8", "utf-8-sig", "gb18030", "gbk", "latin-1", "cp1252", "utf-16")
DELIMITERS = (",", "\t", ";", "|")
_SAMPLE_BYTES = 256 * 1024
_MAX_LINE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class FileFormat:
    """How a file is laid out. Detected by :func:`sniff`, any field may be overridden."""

    kind: str  # one of FORMATS
    encoding: str = "utf-8"
    delimiter: str = ","
    has_header: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        return asdict(self) | {"notes": list(self.notes)}


def file_sha256(path: str | Path, chunk: int = 8 * 1024 * 1024) -> str:
    """Content hash of a file (hex SHA-256), read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _check_path(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise DataError(f"path={str(p)!r} does not exist.")
    if not p.is_file():
        raise DataError(f"path={str(p)!r} is not a file.")
    if p.stat().st_size == 0:
        raise DataError(f"The file {p.name!r} is empty (0 bytes): there is nothing to read.")
    return p


def _looks_binary(sample: bytes) -> bool:
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if b"\x00" in sample[:8192]:
        return True
    ctrl = sum(1 for b in sample[:8192] if b < 9 or 13 < b < 32)
    return ctrl > 0.01 * min(len(sample), 8192)


def _cjk_share(text: str) -> float:
    non_ascii = [ch for ch in text if ord(ch) > 127]
    if not non_ascii:
        return 1.0
    cjk = sum(1 for ch in non_ascii if "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef")
    return cjk / len(non_ascii)


def detect_encoding(sample: bytes, *, complete: bool = False) -> str:
    """Guess the text encoding of ``sample``.

    UTF-8 (with or without BOM) and UTF-16 (with BOM) are recognised exactly; otherwise GB18030 is
    chosen when the sample decodes strictly and its non-ASCII characters are mostly CJK, and
    Latin-1 (cp1252) is the fallback that can decode anything.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    trimmed = sample if complete else sample[: max(len(sample) - 4, 0)] or sample
    try:
        trimmed.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = trimmed.decode("gb18030")
        if _cjk_share(text) >= 0.6:
            return "gb18030"
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _split_lines(text: str, n: int = 200) -> list[str]:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[:n]


def splitting_delimiters(lines: list[str]) -> list[str]:
    """The delimiters (of :data:`DELIMITERS`) that split at least one of ``lines`` into more than one column.

    >>> splitting_delimiters(["user_id", "u1"])
    []
    >>> splitting_delimiters(["a;b", "1;2"])
    [';']
    """
    return [d for d in DELIMITERS if any(len(r) > 1 for r in csv.reader(lines, delimiter=d))]


def detect_delimiter(lines: list[str]) -> str:
    """The delimiter whose count per line is most consistent (and non-zero) over ``lines``."""
    best, best_score = ",", -1.0
    for d in DELIMITERS:
        rows = list(csv.reader(lines, delimiter=d))
        counts = [len(r) for r in rows]
        if not counts or max(counts) <= 1:
            continue
        mode = max(set(counts), key=counts.count)
        consistency = counts.count(mode) / len(counts)
        score = consistency * 10 + min(mode, 50) / 50
        if score > best_score:
            best, best_score = d, score
    return best


_NUMBERISH = re.compile(r"^[\s+-]?(\d+([.,]\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")


def detect_header(lines: list[str], delimiter: str) -> bool:
    """True when the first line looks like column names rather than data."""
    from causalrec_core.data.mapping import role_for_name  # local: mapping imports io

    rows = list(csv.reader(lines[:50], delimiter=delimiter))
    if not rows:
        return False
    first = rows[0]
    if any(role_for_name(c) for c in first):
        return True
    if len(rows) == 1:
        return all(c.strip() and not _NUMBERISH.match(c) for c in first)
    # A column whose body is numeric but whose first cell is not => header.
    for j, cell in enumerate(first):
        body = [r[j] for r in rows[1:] if j < len(r) and r[j].strip()]
        if body and all(_NUMBERISH.match(v) for v in body) and not _NUMBERISH.match(cell):
            return True
    # Repeated first-row values in the body suggest the first row is data.
    for j, cell in enumerate(first):
        if any(j < len(r) and r[j] == cell for r in rows[1:]):
            return False
    return all(c.strip() and not _NUMBERISH.match(c) for c in first)


JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")


_JSON_KIND = {list: "a JSON array", str: "a JSON string", int: "a JSON number", float: "a JSON number",
              bool: "a JSON true/false", type(None): "JSON null"}


def check_json_lines(text: str, name: str) -> None:
    """Raise a :class:`DataError` naming the first line of ``text`` that is not a JSON object.

    Blank lines are skipped; line numbers count every line of the file (1 = the first).
    """
    # split on newlines only: str.splitlines() would also split inside strings (U+2028, form feed ...)
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as err:
            msg = f"{err.msg} (column {err.colno})" if isinstance(err, json.JSONDecodeError) else str(err)
            hint = (" (a JSON array or a multi-line JSON document is not JSON lines)"
                    if text.lstrip().startswith("[") or line.strip() in ("{", "[") else "")
            raise DataError(f"{name!r} is not valid JSON lines: line {n}: {msg}{hint}; each line must hold one "
                            "JSON object such as {\"user_id\": \"u1\", \"item_id\": \"i1\", ...}.") from None
        if not isinstance(value, dict):
            raise DataError(f"{name!r} is not valid JSON lines: line {n}: a JSON object {{...}} is expected, "
                            f"found {_JSON_KIND.get(type(value), 'a JSON value')}.")


def sniff(path: str | Path, *, name: str | None = None, **overrides) -> FileFormat:
    """Detect the layout of ``path``; keyword ``overrides`` (kind, encoding, delimiter,
    has_header) replace what was detected.

    ``name`` is the file's original name when ``path`` is a stored copy (an upload): its
    extension counts like the path's. A ``.json`` / ``.jsonl`` / ``.ndjson`` file is read as
    JSON lines, and its sampled lines must parse as JSON objects.

    Raises
    ------
    DataError
        The file is missing, empty, binary, holds no data line, or (as JSON lines) does not parse.
    """
    p = _check_path(path)
    for key in overrides:
        if key not in ("kind", "encoding", "delimiter", "has_header"):
            raise invalid_choice("override", key, ("kind", "encoding", "delimiter", "has_header"))
    with open(p, "rb") as f:
        sample = f.read(_SAMPLE_BYTES)
    complete = p.stat().st_size <= _SAMPLE_BYTES
    kind = overrides.get("kind")
    if kind is not None and kind not in FORMATS:
        raise invalid_choice("kind", kind, FORMATS)
    if overrides.get("has_header") not in (None, True, False):
        raise invalid_choice("has_header", overrides["has_header"], (True, False, None))
    if kind == "parquet" or (kind is None and sample[:4] == b"PAR1"):
        return FileFormat(kind="parquet", encoding="binary", delimiter="", has_header=True)
    if _looks_binary(sample):
        raise DataError(
            f"The file {p.name!r} looks binary (it contains NUL or control bytes) and is not Parquet: "
            "upload a CSV, TSV, Parquet or JSON-lines file."
        )
    encoding = overrides.get("encoding") or detect_encoding(sample, complete=complete)
    if encoding not in ENCODINGS:
        raise invalid_choice("encoding", encoding, ENCODINGS)
    cut = sample if complete else sample[: sample.rfind(b"\n") + 1] or sample
    try:
        text = cut.decode(encoding, errors="strict")
    except UnicodeDecodeError as err:
        raise DataError(
            f"encoding={encoding!r} cannot decode {p.name!r} (byte {err.start}); "
            f"choose one of: {', '.join(map(repr, ENCODINGS))}."
        ) from None
    text = text.lstrip("\ufeff")
    lines = _split_lines(text)
    if not lines:
        raise DataError(f"The file {p.name!r} holds only blank lines: there is nothing to read.")
    by_suffix = Path(name or p.name).suffix.lower() in JSON_SUFFIXES
    if kind == "jsonl" or (kind is None and (by_suffix or lines[0].lstrip().startswith("{"))):
        # a cut sample ends at its last newline, so every line checked is whole (a single line
        # longer than the sample is not checked here; the reader reports it)
        if complete or b"\n" in sample:
            check_json_lines(text, p.name)
        return FileFormat(kind="jsonl", encoding=encoding, delimiter="", has_header=True)
    delimiter = overrides.get("delimiter") or detect_delimiter(lines)
    if delimiter not in DELIMITERS:
        raise invalid_choice("delimiter", delimiter, DELIMITERS)
    has_header = overrides.get("has_header")
    if has_header is None:
        has_header = detect_header(lines, delimiter)
    notes = []
    n_cols = len(next(csv.reader([lines[0]], delimiter=delimiter)))
    if n_cols == 1:
        alt = other_delimiter(lines, delimiter)
        if alt is not None:
            notes.append(f"Only one column found with delimiter {delimiter!r}; the file seems to use {alt!r}.")
        else:
            notes.append(single_column_note())
    return FileFormat(kind="csv", encoding=encoding, delimiter=delimiter,
                      has_header=bool(has_header), notes=tuple(notes))


def other_delimiter(lines: list[str], delimiter: str) -> str | None:
    """A delimiter other than ``delimiter`` that splits ``lines`` into columns (the most consistent
    one), or None when no delimiter does (the file has a single column)."""
    alts = [d for d in splitting_delimiters(lines) if d != delimiter]
    if not alts:
        return None
    best = detect_delimiter(lines)
    return best if best in alts else alts[0]


def single_column_note() -> str:
    names = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}
    return ("The file has a single column: no delimiter (" + ", ".join(names[d] for d in DELIMITERS)
            + ") splits its lines; a behaviour log needs a user, an item and a timestamp column.")


def delimiter_for_single_column(path: str | Path, fmt: FileFormat) -> str | None:
    """For a CSV read as one column: the delimiter that would split it, or None when none would
    (the file really has a single column)."""
    p = _check_path(path)
    with open(p, "rb") as f:
        sample = f.read(_SAMPLE_BYTES)
    complete = p.stat().st_size <= _SAMPLE_BYTES
    cut = sample if complete else sample[: sample.rfind(b"\n") + 1] or sample
    lines = _split_lines(cut.decode(fmt.encoding, errors="replace").lstrip("\ufeff"))
    return other_delimiter(lines, fmt.delimiter)


def transcode_to_utf8(path: Path, encoding: str, out_path: Path, chunk: int = 16 * 1024 * 1024) -> None:
    """Stream ``path`` from ``encoding`` into UTF-8 at ``out_path`` (no BOM)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with open(path, "rb") as src, open(out_path, "w", encoding="utf-8", newline="") as dst:
        offset = 0
        while block := src.read(chunk):
            try:
                dst.write(decoder.decode(block))
            except UnicodeDecodeError as err:
                raise DataError(
                    f"encoding={encoding!r} cannot decode {path.name!r} at byte {offset + err.start}; "
                    f"choose another encoding, one of: {', '.join(map(repr, ENCODINGS))}."
                ) from None
            offset += len(block)
        dst.write(decoder.decode(b"", final=True))


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


class RawSource:
    """A file opened for DuckDB: holds the (possibly transcoded) path and the read expression.

    Use as a context manager so that a temporary UTF-8 copy is removed afterwards.
    """

    def __init__(self, path: str | Path, fmt: FileFormat, tmp_dir: str | Path | None = None):
        self.path = _check_path(path)
        self.fmt = fmt
        self._tmp: Path | None = None
        self._tmp_dir = tmp_dir

    def __enter__(self) -> RawSource:
        if self.fmt.kind != "parquet" and self.fmt.encoding not in ("utf-8", "utf-8-sig"):
            fd, name = tempfile.mkstemp(suffix=".csv", dir=self._tmp_dir)
            os.close(fd)
            self._tmp = Path(name)
            try:
                transcode_to_utf8(self.path, self.fmt.encoding, self._tmp)
            except BaseException:
                self._tmp.unlink(missing_ok=True)
                raise
        return self

    def __exit__(self, *exc) -> None:
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)

    @property
    def read_path(self) -> Path:
        return self._tmp or self.path

    def sql(self) -> str:
        """A DuckDB table expression reading every column as text (rejects are stored)."""
        p = _sql_str(str(self.read_path))
        if self.fmt.kind == "parquet":
            return f"read_parquet({p})"
        if self.fmt.kind == "jsonl":
            # Every value as plain text: a field whose type varies between lines is read as JSON,
            # and a bare cast would keep the JSON quotes ('"i1"').
            return (f"(SELECT json_extract_string(to_json(COLUMNS(*)), '$') FROM "
                    f"read_json({p}, format='newline_delimited', records=true, "
                    f"maximum_object_size={_MAX_LINE_BYTES}, ignore_errors=true))")
        return (
            f"read_csv({p}, delim={_sql_str(self.fmt.delimiter)}, header={str(self.fmt.has_header).lower()}, "
            f"quote='\"', escape='\"', all_varchar=true, ignore_errors=true, store_rejects=true, "
            f"max_line_size={_MAX_LINE_BYTES}, null_padding=false, "
            f"encoding='utf-8')"
        )


def preview(path: str | Path, fmt: FileFormat | None = None, n: int = 200) -> pd.DataFrame:
    """The first ``n`` rows of the file as a frame of strings (for mapping screens)."""
    import duckdb

    fmt = fmt or sniff(path)
    with RawSource(path, fmt) as src:
        con = duckdb.connect()
        try:
            rel = con.sql(f"SELECT * FROM {src.sql()} LIMIT {int(n)}")
            df = rel.df()
        except duckdb.Error as err:
            raise DataError(f"Cannot read {Path(path).name!r} as {fmt.kind}: {_first_line(err)}") from None
        finally:
            con.close()
    df.columns = normalise_column_names(list(df.columns), fmt.has_header)
    return df.astype("string")


def normalise_column_names(cols: list[str], has_header: bool) -> list[str]:
    """Readable, unique column names; headerless files get ``col_1, col_2, ...``."""
    out: list[str] = []
    seen: set[str] = set()
    for j, c in enumerate(cols, start=1):
        name = str(c).strip() if has_header else f"col_{j}"
        if not name or re.fullmatch(r"column\d+", name):
            name = f"col_{j}"
        base, k = name, 2
        while name in seen:
            name = f"{base}_{k}"
            k += 1
        seen.add(name)
        out.append(name)
    return out


def _first_line(err: BaseException) -> str:
    return str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__


def read_small(path: str | Path, **overrides) -> pd.DataFrame:
    """Read a whole (small) table, e.g. an item or user side table, as strings."""
    fmt = sniff(path, **overrides)
    if fmt.kind == "parquet":
        return pd.read_parquet(path).astype("string")
    raw = Path(path).read_bytes().decode(fmt.encoding)
    if fmt.kind == "jsonl":
        return pd.read_json(io.StringIO(raw), lines=True, dtype=False).astype("string")
    df = pd.read_csv(io.StringIO(raw.lstrip("\ufeff")), sep=fmt.delimiter, dtype=str,
                     header=0 if fmt.has_header else None, keep_default_na=False, na_values=[""])
    df.columns = normalise_column_names([str(c) for c in df.columns], fmt.has_header)
    return df.astype("string")


def read_table_file(path: str | Path, **overrides) -> pd.DataFrame:
    """Read a typed analysis table (a unit table, a pairs table): Parquet, CSV/TSV or JSON lines.

    Unlike :func:`read_small` the columns keep their types (numbers stay numbers).
    """
    fmt = sniff(path, **overrides)
    try:
        if fmt.kind == "parquet":
            return pd.read_parquet(path)
        if fmt.kind == "jsonl":
            return pd.read_json(path, lines=True, encoding=fmt.encoding)
        return pd.read_csv(path, sep=fmt.delimiter, header=0 if fmt.has_header else None,
                           encoding=fmt.encoding if fmt.encoding != "utf-8-sig" else "utf-8-sig")
    except (ValueError, OSError, UnicodeError) as err:
        raise DataError(f"Cannot read {Path(path).name!r} as a {fmt.kind} table: {_first_line(err)}") from None
