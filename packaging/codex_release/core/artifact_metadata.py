"""Core metadata inside built distributions: a wheel's ``*.dist-info/METADATA`` (or ``WHEEL``) and an
sdist's ``PKG-INFO``, and the runtime pin they carry."""

from __future__ import annotations

import tarfile
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path, PurePosixPath

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from codex_release.archives import WheelArchive
from codex_release.core.pins import RUNTIME_DISTRIBUTION
from codex_release.errors import ArchiveRefused

__all__ = ["parse_metadata", "runtime_pins", "sdist_member", "sdist_metadata", "wheel_metadata"]

_MAX_SDIST_MEMBER = 1 << 20
"""The most :func:`sdist_member` reads of one file: it is for small text files of an untrusted sdist."""


def parse_metadata(data: bytes, where: str) -> Message:
    """Core metadata (or WHEEL) bytes, parsed; ``where`` names them in errors."""
    try:
        return HeaderParser().parsestr(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ArchiveRefused(f"{where} is not UTF-8 ({exc}): rebuild the distribution") from None


def wheel_metadata(wheel: Path | WheelArchive, member: str = "METADATA") -> Message:
    """``<name>.dist-info/<member>`` of ``wheel`` (a path or an open, checked archive), parsed."""
    archive = wheel if isinstance(wheel, WheelArchive) else WheelArchive(wheel)
    try:
        names = [m.name for m in archive.files() if m.name.count("/") == 1 and m.name.endswith(f".dist-info/{member}")]
        if len(names) != 1:
            raise ArchiveRefused(f"{archive.where} holds {len(names)} .dist-info/{member} files, not one: rebuild it")
        return parse_metadata(bytes(archive.read(names[0])), f"{archive.where}:{names[0]}")
    finally:
        if archive is not wheel:
            archive.close()


def sdist_metadata(sdist: Path) -> Message:
    """``<name>-<version>/PKG-INFO`` of ``sdist``, parsed."""
    try:
        with tarfile.open(sdist) as archive:
            for info in archive:
                if info.isfile() and PurePosixPath(info.name).parts[1:] == ("PKG-INFO",):
                    handle = archive.extractfile(info)
                    if handle is not None:
                        return parse_metadata(handle.read(), f"{sdist}:{info.name}")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ArchiveRefused(f"{sdist} is not a readable sdist ({exc}): rebuild it") from None
    raise ArchiveRefused(f"{sdist} has no top-level PKG-INFO: rebuild it")


def sdist_member(sdist: Path, name: str) -> bytes | None:
    """The bytes of ``<name>-<version>/<name>`` of ``sdist``, or ``None`` when it holds no such regular file.

    The sdist is untrusted: only a regular member whose path below the top directory is exactly ``name``
    is read, and one larger than 1 MiB is refused rather than read.
    """
    wanted = PurePosixPath(name).parts
    try:
        with tarfile.open(sdist) as archive:
            for info in archive:
                if info.isfile() and PurePosixPath(info.name).parts[1:] == wanted:
                    if info.size > _MAX_SDIST_MEMBER:
                        raise ArchiveRefused(f"{sdist}:{info.name} is {info.size} bytes, too large: rebuild it")
                    handle = archive.extractfile(info)
                    return None if handle is None else handle.read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ArchiveRefused(f"{sdist} is not a readable sdist ({exc}): rebuild it") from None
    return None


def runtime_pins(metadata: Message) -> list[Requirement]:
    """Every ``Requires-Dist`` of ``metadata`` that names ``openai-codex-cli-bin`` (invalid lines skipped)."""
    pins = []
    for line in metadata.get_all("Requires-Dist") or []:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if canonicalize_name(requirement.name) == RUNTIME_DISTRIBUTION:
            pins.append(requirement)
    return pins
