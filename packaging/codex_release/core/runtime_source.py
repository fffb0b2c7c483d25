"""Read a Codex runtime SOURCE safely: a bare binary, a platform package directory, or a tarball of one.

A platform package is the directory that holds ``codex-package.json`` next to ``bin/``,
``codex-path/`` and ``codex-resources/``. In the npm tarball it sits under
``package/vendor/<target>/``; a GitHub release asset may hold it at its root. Whatever the form,
only regular files and directories are accepted: symlinks, hard links, devices, FIFOs, absolute
names and ``..`` components are refused before anything is written.

A tarball is read exactly once, by :func:`codex_release.archives.extract_tgz` (names, types, size caps
and the gzip CRC-32 all checked in that one pass), into a scratch directory inside the caller's own
scratch; the package root is located in that tree and moved into place. Messages name SOURCE and the
member (``pkg.tgz:package/vendor/.../codex-package.json``), never the scratch path.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from codex_release.archives import NameSet, extract_tgz
from codex_release.errors import ArchiveRefused, InputRefused, Unsupported
from codex_release.file_digests import Digests, FileKey

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
    archive_sha512: str | None = None
    """Set by :func:`copy_package` for a tarball SOURCE: the hex SHA-512 of the whole file, taken in the one
    pass that unpacked it (for an unmodified npm tarball, the registry's published integrity)."""

    @classmethod
    def parse(cls, text: str, where: str) -> PackageManifest:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ArchiveRefused(f"{where}: not valid JSON ({exc}): use an unmodified Codex platform package") from None
        if not isinstance(data, dict):
            raise ArchiveRefused(f"{where}: expected a JSON object: use an unmodified Codex platform package")
        missing = [key for key in ("version", "target", "entrypoint") if not isinstance(data.get(key), str)]
        if missing:
            raise ArchiveRefused(f"{where}: missing {', '.join(missing)}: use an unmodified Codex platform package")
        if data.get("layoutVersion", 1) != 1:
            raise Unsupported(
                f"{where}: unsupported layoutVersion {data.get('layoutVersion')!r} (this toolkit reads layout 1): "
                "update codex-release"
            )
        for key in ("entrypoint", "pathDir", "resourcesDir"):
            value = data.get(key)
            if isinstance(value, str) and not _is_safe_relative(value):
                raise ArchiveRefused(f"{where}: {key} {value!r} escapes the package: refusing it")
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


def read_manifest(package_dir: Path, *, where: str | None = None) -> PackageManifest:
    """Parse ``package_dir/codex-package.json``; messages name ``where`` (default: its path)."""
    path = package_dir / MANIFEST_NAME
    label = where or str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArchiveRefused(f"cannot read {label}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ArchiveRefused(f"{label}: not valid UTF-8: use an unmodified Codex platform package") from None
    return PackageManifest.parse(text, label)


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
        raise InputRefused(f"SOURCE {source} is a dangling symlink: pass the real file or directory")
    if not source.exists():
        raise InputRefused(f"SOURCE {source} does not exist: pass a codex binary, a platform package or its .tgz")
    if source.is_dir():
        return RuntimeSource("directory", source, _find_manifest_in_dir(source))
    if not source.is_file():
        raise InputRefused(f"SOURCE {source} is not a regular file or directory")
    if source.name.endswith(_ARCHIVE_SUFFIXES):
        return RuntimeSource("archive", source)  # read once, by copy_package
    if tarfile.is_tarfile(source):
        raise InputRefused(f"SOURCE {source} is a tar archive without a .tar.gz/.tgz name: rename it")
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
        raise InputRefused(
            f"no {MANIFEST_NAME} in {where}: SOURCE must be a Codex platform package (or its .tgz), "
            "or a single codex binary"
        )
    if len(found) > 1:
        names = ", ".join(str(item / MANIFEST_NAME) for item in sorted(found))
        raise InputRefused(f"{where} holds several platform packages ({names}): pass one of them")
    return found[0]


def _wanted(relative: PurePosixPath, include_voice: bool) -> bool:
    return include_voice or not (relative == VOICE_DIR or VOICE_DIR in relative.parents)


def copy_package(
    source: RuntimeSource,
    dest: Path,
    *,
    include_voice: bool = False,
    on_file: Callable[[Path, FileKey | None, int, Digests], None] | None = None,
) -> PackageManifest:
    """Write the platform package of SOURCE (not a bare binary) into the empty directory ``dest``.

    Every entry is checked before it is written; executable bits are kept. Returns the package's
    manifest, parsed (its errors name SOURCE, not ``dest``). For a tarball, ``on_file`` (if given) hears
    of every file as the reader writes it, with its CRC-32 and SHA-256
    (:func:`~codex_release.archives.extract_tgz`); moving it into ``dest`` keeps its identity.
    """
    if source.kind == "archive":
        return _extract_archive(source, dest, include_voice, on_file)
    if source.kind == "directory":
        return _copy_directory(source, dest, include_voice)
    raise ValueError("copy_package takes a package directory or archive")  # pragma: no cover


def _extract_archive(
    source: RuntimeSource,
    dest: Path,
    include_voice: bool,
    on_file: Callable[[Path, FileKey | None, int, Digests], None] | None,
) -> PackageManifest:
    tree = extract_tgz(source.path, dest.parent, where=str(source.path), on_file=on_file)
    try:
        found = [p.parent for p in tree.files if p.name == MANIFEST_NAME and len(p.parts) <= _MAX_MANIFEST_DEPTH + 1]
        root = _one_manifest(found, source.path)
        package = tree.root.joinpath(*root.parts)
        manifest = read_manifest(package, where=tree.member(root / MANIFEST_NAME))
        if not include_voice:
            shutil.rmtree(package.joinpath(*VOICE_DIR.parts), ignore_errors=True)
        for entry in sorted(package.iterdir()):
            os.replace(entry, dest / entry.name)
    finally:
        shutil.rmtree(tree.root, ignore_errors=True)
    return dataclasses.replace(manifest, archive_sha512=tree.sha512)


def _copy_directory(source: RuntimeSource, dest: Path, include_voice: bool) -> PackageManifest:
    assert source.package_root is not None
    root = source.path.joinpath(*source.package_root.parts)
    manifest = read_manifest(root)
    names = NameSet(str(root))
    entries: list[tuple[Path, PurePosixPath, bool]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            relative = names.check(Path(os.path.relpath(path, root)).as_posix(), is_dir=name in dirnames)
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                raise ArchiveRefused(f"{path} is a symlink: platform packages hold only regular files")
            if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
                raise ArchiveRefused(f"{path} is not a regular file (FIFO, socket or device): refusing it")
            if stat.S_ISREG(info.st_mode) and _wanted(relative, include_voice):
                entries.append((path, relative, bool(info.st_mode & 0o111)))
    for path, relative, executable in entries:
        target = dest.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        os.chmod(target, 0o755 if executable else 0o644)
    return manifest
