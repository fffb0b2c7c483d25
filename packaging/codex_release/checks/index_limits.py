"""The package index's upload size limits, checked by ``verify`` before anything is published.

The index refuses a file above its per-file limit (100 MiB unless it raised the project's limit) and a
project whose files together pass its total limit (10 GiB unless raised). A refused upload in the middle
of publishing leaves a half-published release: some runtime wheels on the index, the rest and the SDK
not. So ``verify`` checks every file against the per-file limit and the release's total against the
total limit, and a file over the limit is a fault: the release fails before the first upload.

The index's defaults are the default settings; the project's raised limits live in one place, here
(:data:`INDEX_FILE_LIMIT`, :data:`INDEX_TOTAL_LIMIT`), and are chosen with ``--max-file-size project``
(``make release`` and ``release.yml`` do). The release total is only this release's share of the project
total: the index counts every release ever uploaded.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from codex_release.errors import InputRefused

__all__ = [
    "DEFAULT_FILE_LIMIT",
    "DEFAULT_TOTAL_LIMIT",
    "FILE_LIMIT_ENV",
    "INDEX_FILE_LIMIT",
    "INDEX_TOTAL_LIMIT",
    "TOTAL_LIMIT_ENV",
    "SizeLimits",
    "mib",
    "parse_limit",
]

_MIB = 1 << 20
_GIB = 1 << 30

DEFAULT_FILE_LIMIT = 100 * _MIB
"""The index's per-file upload limit for a project that has not been granted more."""
DEFAULT_TOTAL_LIMIT = 10 * _GIB
"""The index's limit on a project's total size (every file of every release) unless raised."""

INDEX_FILE_LIMIT = 300 * _MIB
"""This project's raised per-file limit: the value to ask the index for, and, once granted, what it
granted; change it only together with the index's setting. The runtime wheels embed a whole Codex
platform package (0.169.0: win_amd64 about 172 MB, the others 120 to 160 MB), so the default 100 MiB
cannot hold them. Selected by ``--max-file-size project``."""
INDEX_TOTAL_LIMIT = DEFAULT_TOTAL_LIMIT
"""This project's total limit (not raised yet). Selected by ``--max-total-size project``."""

FILE_LIMIT_ENV = "CODEX_RELEASE_MAX_FILE_SIZE"
TOTAL_LIMIT_ENV = "CODEX_RELEASE_MAX_TOTAL_SIZE"

_SIZE = re.compile(r"^\s*(\d{1,15}(?:\.\d{1,6})?)\s*(|b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)\s*$", re.IGNORECASE)
_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "k": 1 << 10,
    "kib": 1 << 10,
    "m": _MIB,
    "mib": _MIB,
    "g": _GIB,
    "gib": _GIB,
    "t": 1 << 40,
    "tib": 1 << 40,
}


def mib(size: int) -> str:
    """A size for the table: MiB with one decimal (the unit the index states its limits in)."""
    return f"{size / _MIB:.1f} MiB"


def parse_limit(text: str, *, option: str, project: int, default: int) -> int:
    """A limit given as ``project`` (this project's raised limit), ``default`` (the index's), or a size:
    bytes, or a number with ``KB``/``MB``/``GB`` (powers of 10) or ``K``/``M``/``G``/``MiB``/``GiB`` (powers
    of 2), e.g. ``100MiB`` or ``300M``."""
    value = text.strip().lower()
    if value == "project":
        return project
    if value == "default":
        return default
    match = _SIZE.match(value)
    if match is None or float(match.group(1)) <= 0:
        raise InputRefused(
            f"{option} {text!r} is not a size: use 'project', 'default', bytes or a number with a unit "
            "(e.g. 100MiB, 300M, 1.5GB)"
        )
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


@dataclass(frozen=True)
class SizeLimits:
    """The per-file and the total limit a release is checked against."""

    max_file: int = DEFAULT_FILE_LIMIT
    max_total: int = DEFAULT_TOTAL_LIMIT

    @classmethod
    def resolve(cls, max_file: str | None = None, max_total: str | None = None) -> SizeLimits:
        """The given settings, else ``$CODEX_RELEASE_MAX_FILE_SIZE`` / ``$CODEX_RELEASE_MAX_TOTAL_SIZE``, else the
        index's defaults."""
        file_text = max_file if max_file is not None else os.environ.get(FILE_LIMIT_ENV, "").strip() or "default"
        total_text = max_total if max_total is not None else os.environ.get(TOTAL_LIMIT_ENV, "").strip() or "default"
        return cls(
            parse_limit(
                file_text,
                option="--max-file-size" if max_file is not None else FILE_LIMIT_ENV,
                project=INDEX_FILE_LIMIT,
                default=DEFAULT_FILE_LIMIT,
            ),
            parse_limit(
                total_text,
                option="--max-total-size" if max_total is not None else TOTAL_LIMIT_ENV,
                project=INDEX_TOTAL_LIMIT,
                default=DEFAULT_TOTAL_LIMIT,
            ),
        )

    def file_fault(self, size: int) -> str | None:
        if size <= self.max_file:
            return None
        hint = (
            "if the index raised this project's limit, pass --max-file-size project"
            if self.max_file < INDEX_FILE_LIMIT
            else "ask the index for a higher limit, then raise INDEX_FILE_LIMIT in codex_release.checks.index_limits"
        )
        return (
            f"{mib(size)} is above the index's per-file upload limit of {mib(self.max_file)}: the upload would be "
            f"refused ({hint})"
        )

    def total_fault(self, total: int) -> str | None:
        if total <= self.max_total:
            return None
        return (
            f"the release's files total {mib(total)}, above the project limit of {mib(self.max_total)}: the index "
            "would refuse the last uploads (ask the index for a higher project limit, or delete old releases)"
        )

    def summary(self, sizes: dict[str, int]) -> str:
        """One line for the verify table: the largest file and the total against their limits."""
        if not sizes:
            return f"sizes: no files (limits: {mib(self.max_file)} per file, {mib(self.max_total)} in all)"
        largest = max(sizes, key=lambda name: (sizes[name], name))
        return (
            f"sizes: largest {mib(sizes[largest])} ({largest}) of the per-file limit {mib(self.max_file)}; "
            f"release total {mib(sum(sizes.values()))} of {mib(self.max_total)}"
        )
