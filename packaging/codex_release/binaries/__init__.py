"""Read the few executable-header facts that decide a runtime wheel's platform tags.

For every ELF, Mach-O (thin or universal) and PE file this answers: which OS and CPU it is for,
what kind of file it is, and what it needs from the system that runs it (ELF: static or dynamic,
musl or glibc, the highest ``GLIBC_x.y`` symbol version; Mach-O: the minimum macOS). The tag
policy built on these facts lives in :mod:`codex_release.core.platform_tags`.

The bytes are untrusted (a downloaded package, a file a maintainer points us at), so every reader
here reads only the headers it needs, with every offset, size and count checked against the bytes
that are really there. Whatever the input, the only exception that leaves this package is
:class:`~codex_release.errors.ReleaseError`, naming the file; no read is larger than a few
megabytes and every loop is bounded by the bytes it walks. Inspecting the real 290 MB ``codex``
executable touches a few kilobytes and takes milliseconds.

This module holds the public API. Below it, and never importing it: :class:`BinaryInfo` in
:mod:`._info`, the one magic table that decides which reader a file goes to in :mod:`._magic`, and
one private module per format, each reading through the bounded reader of :mod:`._reader` (every
read checked against the file's size); each says which library it uses and why not more of it:

* :mod:`._elf`: pyelftools decodes the structures, the walk over them is ours;
* :mod:`._macho`: hand-written with :mod:`struct`, since macholib reads whole sections;
* :mod:`._pe`: pefile, handed only the header bytes.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from codex_release.binaries._elf import inspect_elf
from codex_release.binaries._info import _FORMAT_NAMES, BinaryFormat, BinaryInfo
from codex_release.binaries._macho import inspect_macho
from codex_release.binaries._magic import format_of
from codex_release.binaries._pe import inspect_pe
from codex_release.binaries._reader import BufferFile, Malformed, Reader
from codex_release.errors import ArchiveRefused

__all__ = [
    "BinaryFormat",
    "BinaryInfo",
    "format_of",
    "inspect_binary",
    "inspect_bytes",
    "inspect_tree",
    "needs_exec_bit",
    "sniff_format",
]

# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def sniff_format(path: Path) -> BinaryFormat | None:
    """``"elf"``, ``"macho"`` or ``"pe"`` from the file's magic bytes; ``None`` for anything else.

    Only the first eight bytes are read. A file with a known magic may still be corrupt;
    :func:`inspect_binary` says so.
    """
    try:
        with _open_regular(path, str(path)) as fh:
            head = fh.read(8)
    except OSError as exc:
        raise ArchiveRefused(f"cannot read {path}: {exc.strerror or exc}") from None
    return format_of(head)


def _open_regular(path: Path, name: str) -> BinaryIO:
    """Open a regular file for reading (a FIFO or device would block or never end)."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise ArchiveRefused(f"{name} is not a regular file: only plain files can be inspected")
    return open(path, "rb")


def inspect_binary(path: Path, *, label: str | None = None) -> BinaryInfo:
    """Read the headers of one ELF, Mach-O or PE file.

    A file without such a header, or with a truncated or corrupt one, is a :class:`ReleaseError`
    naming the file (``label`` if given, else ``path``).
    """
    name = label or str(path)
    try:
        with _open_regular(path, name) as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(8)
            info = _inspect(head, Reader(fh, size), path, name, ": point at the binary itself, not a script or archive")
    except OSError as exc:
        raise ArchiveRefused(f"cannot read {name}: {exc.strerror or exc}") from None
    return info if label is None else replace(info, label=label)


def _inspect(head: bytes, reader: Reader, path: Path, name: str, hint: str = "") -> BinaryInfo:
    """The reader that ``head`` (the first eight bytes) calls for, applied to ``reader``; a file without
    a known magic (the message ends with ``hint``) or with a corrupt header is a :class:`ReleaseError`
    naming ``name``."""
    fmt = format_of(head)
    if fmt is None:
        raise ArchiveRefused(f"{name} is not an executable (no ELF, Mach-O or PE header){hint}")
    try:
        return _inspect_format(fmt, reader, path)
    except Malformed as exc:
        raise ArchiveRefused(
            f"{name} has a truncated or corrupt {_FORMAT_NAMES[fmt]} header ({exc}): re-fetch or rebuild the file"
        ) from None


def _inspect_format(fmt: BinaryFormat, reader: Reader, path: Path) -> BinaryInfo:
    """The reader of ``fmt`` (a key of the one magic table) applied to ``reader``."""
    if fmt == "elf":
        return inspect_elf(reader, path)
    if fmt == "macho":
        return inspect_macho(reader, path)
    return inspect_pe(reader, path)


def needs_exec_bit(info: BinaryInfo) -> bool:
    """Whether the file must carry exec bits in a package or wheel: it is a program, not a library.

    ELF executables (PIE included), Mach-O ``MH_EXECUTE`` files (every slice of a universal one) and
    PE images that are not DLLs. Libraries (``.so``, ``.dylib``, bundles, ``.dll``) are mapped, never
    exec'd, so they need none. PE files are judged like the rest although Windows ignores the bits:
    the published win32 platform packages carry mode 0755 on every ``.exe`` and 0644 on the voice
    ``.dll`` files, so the rule refuses nothing real and keeps a wheel's modes honest everywhere.
    """
    return all(kind == "executable" for kind in info.kind.split("/"))


def inspect_bytes(data: bytes | bytearray, label: str) -> BinaryInfo:
    """:func:`inspect_binary` of bytes already in memory (e.g. a wheel member), named ``label``.

    Used by ``verify`` so that no file is ever written to a path taken from a member name.
    """
    info = _inspect(bytes(data[:8]), Reader(BufferFile(data), len(data)), Path(label), label)
    return replace(info, label=label)


def inspect_tree(root: Path) -> list[BinaryInfo]:
    """Every ELF, Mach-O and PE file below ``root``, sorted by path.

    Files are recognised by their magic bytes, not their names (so ``codex`` and ``libz.so.1`` are
    both found and ``README.md`` is skipped). Each is labelled with its path relative to ``root``.
    Symbolic links are neither followed nor reported (a wheel cannot hold them; staging refuses
    them).
    """
    if not root.is_dir():
        raise ArchiveRefused(f"{root} is not a directory")
    infos: list[BinaryInfo] = []
    for path in sorted(_regular_files(root)):
        if sniff_format(path) is not None:
            infos.append(inspect_binary(path, label=path.relative_to(root).as_posix()))
    return infos


def _regular_files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for filename in filenames:
            path = Path(dirpath, filename)
            if path.is_file() and not path.is_symlink():
                yield path
