"""Read a Codex runtime SOURCE safely: a bare binary, a platform package directory, or a tarball of one.

A platform package is the directory that holds ``codex-package.json`` next to ``bin/``,
``codex-path/`` and ``codex-resources/``. In the npm tarball it sits under
``package/vendor/<target>/``; a GitHub release asset may hold it at its root. Whatever the form,
only regular files and directories are accepted: symlinks, hard links, devices, FIFOs, absolute
names and ``..`` components are refused before anything is written.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from codex_release.errors import ReleaseError

__all__ = [
    "MANIFEST_NAME",
    "VOICE_DIR",
    "PackageManifest",
    "RuntimeSource",
    "copy_package",
    "open_source",
    "read_manifest",
]

MANIFEST_NAME = "codex-package.json"
VOICE_DIR = PurePosixPath("codex-resources/voice")
_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")
_MAX_MANIFEST_DEPTH = 4


@dataclass(frozen=True)
class PackageManifest:
    """The fields of ``codex-package.json`` that staging relies on."""

    version: str
    target: str
    entrypoint: str
    path_dir: str
    resources_dir: str
    raw: dict[str, Any]

    @classmethod
    def parse(cls, text: str, where: str) -> PackageManifest:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ReleaseError(f"{where}: not valid JSON ({exc}): use an unmodified Codex platform package") from None
        if not isinstance(data, dict):
            raise ReleaseError(f"{where}: expected a JSON object: use an unmodified Codex platform package")
        missing = [key for key in ("version", "target", "entrypoint") if not isinstance(data.get(key), str)]
        if missing:
            raise ReleaseError(f"{where}: missing {', '.join(missing)}: use an unmodified Codex platform package")
        if data.get("layoutVersion", 1) != 1:
            raise ReleaseError(
                f"{where}: unsupported layoutVersion {data.get('layoutVersion')!r} (this toolkit reads layout 1): "
                "update codex-release"
            )
        for key in ("entrypoint", "pathDir", "resourcesDir"):
            value = data.get(key)
            if isinstance(value, str) and not _is_safe_relative(value):
                raise ReleaseError(f"{where}: {key} {value!r} escapes the package: refusing it")
        return cls(
            version=data["version"],
            target=data["target"],
            entrypoint=data["entrypoint"],
            path_dir=str(data.get("pathDir") or "codex-path"),
            resources_dir=str(data.get("resourcesDir") or "codex-resources"),
            raw=data,
        )


def _is_safe_relative(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return bool(name) and not path.is_absolute() and ".." not in path.parts and ":" not in path.parts[0]


def read_manifest(package_dir: Path) -> PackageManifest:
    path = package_dir / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ReleaseError(f"cannot read {path}: {exc.strerror}") from None
    return PackageManifest.parse(text, str(path))


@dataclass(frozen=True)
class RuntimeSource:
    """A SOURCE argument of ``stage-runtime``, classified."""

    kind: Literal["binary", "directory", "archive"]
    path: Path
    package_root: PurePosixPath | None = None
    """For directories and archives: where ``codex-package.json`` sits, relative to ``path``."""


def open_source(source: Path) -> RuntimeSource:
    """Classify SOURCE and locate the platform package inside it (without writing anything)."""
    if source.is_symlink() and not source.exists():
        raise ReleaseError(f"SOURCE {source} is a dangling symlink: pass the real file or directory")
    if not source.exists():
        raise ReleaseError(f"SOURCE {source} does not exist: pass a codex binary, a platform package or its .tgz")
    if source.is_dir():
        return RuntimeSource("directory", source, _find_manifest_in_dir(source))
    if not source.is_file():
        raise ReleaseError(f"SOURCE {source} is not a regular file or directory")
    if source.name.endswith(_ARCHIVE_SUFFIXES):
        return RuntimeSource("archive", source, _find_manifest_in_archive(source))
    if tarfile.is_tarfile(source):
        raise ReleaseError(f"SOURCE {source} is a tar archive without a .tar.gz/.tgz name: rename it")
    return RuntimeSource("binary", source)


def _find_manifest_in_dir(root: Path) -> PurePosixPath:
    found: list[PurePosixPath] = []
    for dirpath, dirnames, filenames in os.walk(root):
        relative = PurePosixPath(Path(dirpath).relative_to(root).as_posix())
        depth = 0 if str(relative) == "." else len(relative.parts)
        if MANIFEST_NAME in filenames:
            found.append(relative)
        if depth >= _MAX_MANIFEST_DEPTH:
            dirnames[:] = []
        dirnames[:] = [name for name in dirnames if name not in ("node_modules", ".git")]
    return _one_manifest(found, root)


def _one_manifest(found: list[PurePosixPath], where: Path) -> PurePosixPath:
    if not found:
        raise ReleaseError(
            f"no {MANIFEST_NAME} in {where}: SOURCE must be a Codex platform package (or its .tgz), "
            "or a single codex binary"
        )
    if len(found) > 1:
        names = ", ".join(str(item / MANIFEST_NAME) for item in sorted(found))
        raise ReleaseError(f"{where} holds several platform packages ({names}): pass one of them")
    return found[0]


def _safe_member_path(name: str, archive: Path) -> PurePosixPath:
    if not _is_safe_relative(name) or name.startswith("/"):
        raise ReleaseError(f"{archive}: member {name!r} escapes the package (absolute or '..'): refusing the archive")
    return PurePosixPath(name)


def _find_manifest_in_archive(archive: Path) -> PurePosixPath:
    found: list[PurePosixPath] = []
    for member in _iter_members(archive):
        path = _safe_member_path(member.name, archive)
        if path.name == MANIFEST_NAME and len(path.parts) <= _MAX_MANIFEST_DEPTH + 1:
            found.append(path.parent)
    return _one_manifest(found, archive)


def _iter_members(archive: Path) -> Iterator[tarfile.TarInfo]:
    try:
        with tarfile.open(archive, "r:*") as tar:
            yield from tar
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ReleaseError(f"{archive}: not a readable .tar.gz ({exc}): download it again") from None


def _check_member_type(member: tarfile.TarInfo, archive: Path) -> None:
    if member.isfile() or member.isdir():
        return
    kind = (
        "symlink"
        if member.issym()
        else "hard link"
        if member.islnk()
        else "FIFO"
        if member.isfifo()
        else "device"
        if member.isdev()
        else "special file"
    )
    raise ReleaseError(f"{archive}: member {member.name!r} is a {kind}: platform packages hold only regular files")


def _wanted(relative: PurePosixPath, include_voice: bool) -> bool:
    return include_voice or not (relative == VOICE_DIR or VOICE_DIR in relative.parents)


def copy_package(source: RuntimeSource, dest: Path, *, include_voice: bool = False) -> None:
    """Write the platform package of SOURCE (not a bare binary) into the empty directory ``dest``.

    Every entry is checked before anything is written; executable bits are kept.
    """
    if source.kind == "archive":
        _extract_archive(source, dest, include_voice)
    elif source.kind == "directory":
        _copy_directory(source, dest, include_voice)
    else:  # pragma: no cover - callers handle bare binaries
        raise ValueError("copy_package takes a package directory or archive")


def _extract_archive(source: RuntimeSource, dest: Path, include_voice: bool) -> None:
    assert source.package_root is not None
    root = source.package_root
    selected: list[tuple[tarfile.TarInfo, PurePosixPath]] = []
    for member in _iter_members(source.path):
        path = _safe_member_path(member.name, source.path)
        if path != root and root not in path.parents:
            continue  # npm metadata next to vendor/ (package.json, README.md)
        _check_member_type(member, source.path)
        relative = path.relative_to(root)
        if str(relative) != "." and _wanted(relative, include_voice):
            selected.append((member, relative))
    try:
        with tarfile.open(source.path, "r:*") as tar:
            for member, relative in selected:
                target = dest.joinpath(*relative.parts)
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                extracted = tar.extractfile(member)
                if extracted is None:  # pragma: no cover - regular files always have data
                    raise ReleaseError(f"{source.path}: cannot read member {member.name!r}")
                with extracted, open(target, "wb") as out:
                    shutil.copyfileobj(extracted, out, 1 << 20)
                os.chmod(target, 0o755 if member.mode & 0o111 else 0o644)
    except (tarfile.TarError, EOFError) as exc:
        raise ReleaseError(f"{source.path}: truncated or corrupt archive ({exc}): download it again") from None


def _copy_directory(source: RuntimeSource, dest: Path, include_voice: bool) -> None:
    assert source.package_root is not None
    root = source.path.joinpath(*source.package_root.parts)
    entries: list[tuple[Path, PurePosixPath, bool]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            relative = PurePosixPath(path.relative_to(root).as_posix())
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                raise ReleaseError(f"{path} is a symlink: platform packages hold only regular files")
            if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
                raise ReleaseError(f"{path} is not a regular file (FIFO, socket or device): refusing it")
            if stat.S_ISREG(info.st_mode) and _wanted(relative, include_voice):
                entries.append((path, relative, bool(info.st_mode & 0o111)))
    for path, relative, executable in entries:
        target = dest.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        os.chmod(target, 0o755 if executable else 0o644)
