"""The one reader of a dist folder: which files are our artifacts, what each one is, and which file of a
release is which.

``verify``, ``smoke``, the resolver dry runs, the publish steps and the release record
(:mod:`codex_release.core.record`) all list DIST through :func:`list_dist` and open wheels through
:class:`codex_release.archives.WheelArchive`. Listing never opens a file: an entry named like an artifact
that is not a regular file (a FIFO ``x.whl`` would block a reader forever, a symlink could point anywhere)
is reported as a fault from ``lstat`` alone.

:func:`read_release_files` sorts one release's files into what gets installed and published (for the
smoke install, the resolver dry runs and the publish steps) and refuses what must never be uploaded;
``verify`` judges the artifacts in depth.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from packaging.requirements import Requirement
from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from codex_release.core.artifact_metadata import runtime_pins, wheel_metadata
from codex_release.core.pins import RUNTIME_DISTRIBUTION, SDK_DISTRIBUTION
from codex_release.core.targets import TARGETS, Target
from codex_release.core.versions import CodexVersion
from codex_release.errors import FaultFound, InputRefused

__all__ = [
    "ArtifactName",
    "DistFile",
    "DistListing",
    "ReleaseFiles",
    "list_dist",
    "parse_artifact_name",
    "read_release_files",
    "target_of_platform_tags",
]


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
        raise InputRefused(
            f"dist directory {dist_dir} does not exist: build the release first (`make release`)"
        ) from None
    except OSError as exc:
        raise InputRefused(f"cannot list {dist_dir}: {exc.strerror or exc}") from None
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


# ------------------------------------------------------------------ which file of a release is which
_MAX_WHEELS_PER_TARGET = 2


def target_of_platform_tags(platforms: set[str]) -> Target | None:
    """The release target a runtime wheel's platform tags are for (``None`` when they disagree or fit none)."""
    found: set[Target] = set()
    for platform in platforms:
        if platform.startswith("macosx_"):
            os_name = "macos"
        elif platform.startswith("win"):
            os_name = "windows"
        elif platform.startswith(("manylinux", "musllinux", "linux")):
            os_name = "linux"
        else:
            return None
        if platform.endswith(("_x86_64", "_amd64")):
            arch = "x86_64"
        elif platform.endswith(("_aarch64", "_arm64")):
            arch = "aarch64"
        else:
            return None
        matches = [t for t in TARGETS if t.os == os_name and t.arch == arch]
        if len(matches) != 1:
            return None
        found.add(matches[0])
    return found.pop() if len(found) == 1 else None


@dataclass(frozen=True)
class ReleaseFiles:
    """One release's files in ``dist_dir``."""

    dist_dir: Path
    version: CodexVersion
    runtime_wheels: dict[Target, tuple[Path, ...]]
    """Each target's runtime wheels, sorted by name: one, or two where a lean variant leaves out an optional
    helper (:mod:`codex_release.core.variants`; ``verify`` judges whether a pair really is full + lean)."""
    sdk_wheel: Path | None
    sdk_sdist: Path | None

    def require_sdk_wheel(self) -> Path:
        if self.sdk_wheel is None:
            raise FaultFound(
                f"no SDK wheel openai_codex-{self.version}-py3-none-any.whl in {self.dist_dir}: "
                "build it with `codex-release stage-sdk STAGING --dist-dir DIST` (or `codex-release release`)"
            )
        return self.sdk_wheel

    def all_runtime_wheels(self) -> tuple[Path, ...]:
        """Every runtime wheel, sorted by name."""
        return tuple(sorted(path for paths in self.runtime_wheels.values() for path in paths))

    def require_all_runtime_wheels(self) -> dict[Target, tuple[Path, ...]]:
        missing = [t.triple for t in TARGETS if t not in self.runtime_wheels]
        if missing:
            raise FaultFound(
                f"{self.dist_dir} lacks the runtime wheel of {', '.join(missing)} for {self.version}: "
                "stage it with `codex-release stage-runtime --wheel-dir` (or run `codex-release release`)"
            )
        return self.runtime_wheels

    def sdk_runtime_requirement(self) -> Requirement:
        """The ``openai-codex-cli-bin`` requirement inside the SDK wheel's METADATA; it must pin this version."""
        wheel = self.require_sdk_wheel()
        found = runtime_pins(wheel_metadata(wheel))
        pins = [str(s) for r in found for s in r.specifier]
        if len(found) != 1 or pins != [f"=={self.version}"]:
            raise FaultFound(
                f"{wheel.name} must require exactly {RUNTIME_DISTRIBUTION}=={self.version}, "
                f"found {[str(r) for r in found]}: rebuild it with stage-sdk --codex-version {self.version}"
            )
        return found[0]

    def sdk_other_requirements(self) -> list[str]:
        """The SDK's third-party dependencies (everything but the runtime), as written in its METADATA."""
        ours = {RUNTIME_DISTRIBUTION, SDK_DISTRIBUTION}
        return [
            line
            for line in wheel_metadata(self.require_sdk_wheel()).get_all("Requires-Dist") or []
            if canonicalize_name(Requirement(line).name) not in ours
        ]


def read_release_files(dist_dir: Path, version: CodexVersion) -> ReleaseFiles:
    """Sort the release files of ``version`` in ``dist_dir``.

    Refused: a missing directory, a runtime sdist (the runtime is wheel-only), more than two runtime wheels
    for one target (full and lean are the most a target gives; whether two are really full and lean is
    ``verify``'s judgement), files of our two distributions at another version (a stale dist would test
    the wrong thing), an entry named like an artifact that is not a regular file. Files of other projects and
    non-package files (``SHA256SUMS``, ``manifest.json``) are ignored.
    """
    listing = list_dist(dist_dir)
    if listing.faults:
        raise FaultFound(f"{dist_dir}: {listing.faults[0]}")
    runtime: dict[Target, list[Path]] = {}
    sdk_wheel: Path | None = None
    sdk_sdist: Path | None = None
    for file in listing.files:
        path, name, ver, tags = file.path, file.project, file.version, file.tags
        if name not in {RUNTIME_DISTRIBUTION, SDK_DISTRIBUTION}:
            continue
        if str(ver) != version.pep440:
            raise FaultFound(
                f"{path.name} in {dist_dir} is version {ver}, not {version}: rebuild {dist_dir} for {version}"
            )
        if name == RUNTIME_DISTRIBUTION:
            if file.kind == "sdist":
                raise FaultFound(
                    f"{path.name}: the runtime is published as platform wheels only, never as an sdist: delete it"
                )
            target = target_of_platform_tags({t.platform for t in tags})
            if target is None:
                raise FaultFound(f"{path.name} is tagged for no single release target: rebuild it with stage-runtime")
            found = runtime.setdefault(target, [])
            if len(found) == _MAX_WHEELS_PER_TARGET:
                names = ", ".join(p.name for p in (*found, path))
                raise FaultFound(
                    f"more than {_MAX_WHEELS_PER_TARGET} runtime wheels for {target.triple} ({names}): a target "
                    f"gives a full and at most one lean wheel; delete the stray ones or rebuild {dist_dir}"
                )
            found.append(path)
        elif file.kind == "wheel":
            sdk_wheel = path
        else:
            sdk_sdist = path
    wheels = {target: tuple(sorted(paths)) for target, paths in runtime.items()}
    return ReleaseFiles(dist_dir, version, wheels, sdk_wheel, sdk_sdist)
