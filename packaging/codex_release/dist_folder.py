"""The one reader of a dist folder: which files are our artifacts, and what each one is.

``verify``, ``smoke``, the resolver dry runs, the publish steps and the release record (``SHA256SUMS`` and
``manifest.json``, :func:`codex_release.release.checksum_texts`) all list DIST through :func:`list_dist`
and open wheels through :class:`codex_release.archives.WheelArchive`. Listing never
opens a file: an entry named like an artifact that is not a regular file (a FIFO ``x.whl`` would block a
reader forever, a symlink could point anywhere) is reported as a fault from ``lstat`` alone.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from codex_release.errors import ReleaseError

__all__ = ["DistFile", "DistListing", "list_dist"]


@dataclass(frozen=True)
class DistFile:
    """A regular file in DIST whose name is a valid wheel or sdist name."""

    path: Path
    kind: Literal["wheel", "sdist"]
    project: NormalizedName
    version: Version
    tags: frozenset[Tag]

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class DistListing:
    dist_dir: Path
    files: tuple[DistFile, ...]
    faults: tuple[str, ...]
    """Entries named like artifacts that are not regular files or whose names do not parse."""


def _kind_of(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device or special file"


def list_dist(dist_dir: Path) -> DistListing:
    """The artifacts in ``dist_dir`` (sorted by name), never opening any of them."""
    try:
        entries = sorted(os.scandir(dist_dir), key=lambda e: e.name)
    except FileNotFoundError:
        raise ReleaseError(
            f"dist directory {dist_dir} does not exist: build the release first (`make release`)"
        ) from None
    except OSError as exc:
        raise ReleaseError(f"cannot list {dist_dir}: {exc.strerror or exc}") from None
    files: list[DistFile] = []
    faults: list[str] = []
    for entry in entries:
        is_wheel = entry.name.endswith(".whl")
        if not (is_wheel or entry.name.endswith(".tar.gz")):
            continue
        mode = entry.stat(follow_symlinks=False).st_mode
        if not stat.S_ISREG(mode):
            faults.append(f"{entry.name} is a {_kind_of(mode)}, not a regular file: remove it from {dist_dir}")
            continue
        path = Path(dist_dir) / entry.name
        if is_wheel:
            try:
                project, version, _, tags = parse_wheel_filename(entry.name)
            except InvalidWheelFilename:
                faults.append(f"{entry.name} is not a valid wheel file name")
                continue
            files.append(DistFile(path, "wheel", project, version, tags))
        else:
            try:
                project, version = parse_sdist_filename(entry.name)
            except InvalidSdistFilename:
                faults.append(f"{entry.name} is not a valid sdist file name")
                continue
            files.append(DistFile(path, "sdist", project, version, frozenset()))
    return DistListing(Path(dist_dir), tuple(files), tuple(faults))
