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

__all__ = ["ArtifactName", "DistFile", "DistListing", "list_dist", "parse_artifact_name"]


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


@dataclass(frozen=True)
class ArtifactName:
    """What a wheel or sdist file name says: kind, project, version and (for a wheel) tags."""

    kind: Literal["wheel", "sdist"]
    project: NormalizedName
    version: Version
    tags: frozenset[Tag]


def parse_artifact_name(name: str) -> ArtifactName | None:
    """The parts of a wheel or sdist file name; ``None`` for another kind of file.

    Raises :class:`ValueError` (naming the problem) for a ``.whl``/``.tar.gz`` name that does not parse.
    """
    if name.endswith(".whl"):
        try:
            project, version, _, tags = parse_wheel_filename(name)
        except InvalidWheelFilename:
            raise ValueError(f"{name} is not a valid wheel file name") from None
        return ArtifactName("wheel", project, version, tags)
    if name.endswith(".tar.gz"):
        try:
            project, version = parse_sdist_filename(name)
        except InvalidSdistFilename:
            raise ValueError(f"{name} is not a valid sdist file name") from None
        return ArtifactName("sdist", project, version, frozenset())
    return None


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
        if not entry.name.endswith((".whl", ".tar.gz")):
            continue
        mode = entry.stat(follow_symlinks=False).st_mode
        if not stat.S_ISREG(mode):
            faults.append(f"{entry.name} is a {_kind_of(mode)}, not a regular file: remove it from {dist_dir}")
            continue
        try:
            parsed = parse_artifact_name(entry.name)
        except ValueError as exc:
            faults.append(str(exc))
            continue
        assert parsed is not None
        files.append(DistFile(Path(dist_dir) / entry.name, parsed.kind, parsed.project, parsed.version, parsed.tags))
    return DistListing(Path(dist_dir), tuple(files), tuple(faults))
