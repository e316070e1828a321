"""Shared helpers of the benchmark scripts: the machine's description and BENCHMARKS.md sections."""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def machine(packages: tuple[str, ...] = ()) -> str:
    """CPU model, cores, RAM, Python and the given packages' versions, in one line."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    libs = []
    for name in packages:
        try:
            libs.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            libs.append(f"{name} (not installed)")
    return (f"{cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB RAM; Python {platform.python_version()}"
            + ("".join(", " + x for x in libs)))


def replace_section(heading: str, body: str) -> None:
    """Replace (or append) the section starting with ``heading`` in BENCHMARKS.md, atomically."""
    import sys

    sys.path.insert(0, str(ROOT))
    from causalrec_core.store.atomic import atomic_write_text

    path = ROOT / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n\nFigures written by the scripts in `bench/`.\n"
    start = text.find(heading)
    if start == -1:
        text = text.rstrip() + "\n\n" + body
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + body + ("" if end == -1 else text[end:])
    atomic_write_text(path, text.rstrip() + "\n")
