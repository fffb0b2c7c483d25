"""Read the few executable-header facts that decide a runtime wheel's platform tags.

For every ELF, Mach-O (thin or universal) and PE file this answers: which OS and CPU it is for,
what kind of file it is, and what it needs from the system that runs it (ELF: static or dynamic,
musl or glibc, the highest ``GLIBC_x.y`` symbol version; Mach-O: the minimum macOS). The tag
policy built on these facts lives in :mod:`codex_release.platform_tags`.

The bytes are untrusted (a downloaded package, a file a maintainer points us at), so every reader
here reads only the headers it needs, with every offset, size and count checked against the bytes
that are really there. Whatever the input, the only exception that leaves this package is
:class:`~codex_release.errors.ReleaseError`, naming the file; no read is larger than a few
megabytes and every loop is bounded by the bytes it walks. Inspecting the real 290 MB ``codex``
executable touches a few kilobytes and takes milliseconds.

This module holds the public API, :class:`BinaryInfo` and the one magic table that decides which
reader a file goes to. One private module per format, each reading through the bounded reader of
:mod:`._reader` (every read checked against the file's size); each says which library it uses and why
not more of it:

* :mod:`._elf`: pyelftools decodes the structures, the walk over them is ours;
* :mod:`._macho`: hand-written with :mod:`struct`, since macholib reads whole sections;
* :mod:`._pe`: pefile, handed only the header bytes.
"""

from __future__ import annotations

import os
import stat
import struct
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO, Literal

from codex_release.binaries._reader import BufferFile, Malformed, Reader
from codex_release.errors import ReleaseError

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

BinaryFormat = Literal["elf", "macho", "pe"]
Libc = Literal["musl", "glibc"]

_ELF_MAGIC = b"\x7fELF"
_MACHO_THIN_MAGICS = {
    b"\xfe\xed\xfa\xce": (">", 32),
    b"\xce\xfa\xed\xfe": ("<", 32),
    b"\xfe\xed\xfa\xcf": (">", 64),
    b"\xcf\xfa\xed\xfe": ("<", 64),
}
_FAT_MAGIC = b"\xca\xfe\xba\xbe"
_FAT_MAGIC_64 = b"\xca\xfe\xba\xbf"
_PE_MAGIC = b"MZ"
_MAX_FAT_ARCHS = 32
"""A fat header's ``nfat_arch`` above this is not Mach-O: Java class files share the magic
``0xcafebabe`` and put their version (45 or more) where Mach-O keeps the slice count."""


@dataclass(frozen=True)
class BinaryInfo:
    """What one executable or library says about the system it needs."""

    path: Path
    format: BinaryFormat
    os: str
    """``linux``, ``macos`` or ``windows`` for the files a wheel can carry; another name (``freebsd``,
    ``ios``, ``uefi``, ...) when the header says the file is for something else."""
    archs: tuple[str, ...]
    """``x86_64`` / ``aarch64`` (or another CPU name such as ``i386``, ``arm``, ``arm64e``). A universal
    Mach-O file lists one entry per slice."""
    kind: str
    """``executable``, ``shared library``, ``bundle``, ``object file``, ..."""
    static: bool | None = None
    """ELF only: no ``PT_INTERP`` and no ``DT_NEEDED``, so it runs on any Linux C library."""
    libc: Libc | None = None
    """ELF dynamic only: from the ``PT_INTERP`` path (or, for a library, ``DT_NEEDED`` and the
    ``GLIBC_*`` versions it needs). ``None`` when static or unknown."""
    glibc_version: tuple[int, int] | None = None
    """ELF only: the highest ``GLIBC_x.y`` symbol version the file needs."""
    macos_min: tuple[int, int] | None = None
    """Mach-O only: the highest minimum macOS over all slices (``LC_BUILD_VERSION`` minos or
    ``LC_VERSION_MIN_MACOSX``); ``None`` when no slice records one."""
    interpreter: str | None = None
    """ELF only: the ``PT_INTERP`` path, if any."""
    label: str = ""
    """How messages name the file (a path relative to the inspected tree); defaults to ``path``."""

    @property
    def name(self) -> str:
        """The file as messages name it."""
        return self.label or str(self.path)

    def describe(self, *, detail: bool = True) -> str:
        """One short phrase, e.g. ``ELF x86_64 executable, statically linked``; with
        ``detail=False`` only format, CPU, kind and a foreign OS (``ELF x86_64 executable``)."""
        arch = "+".join(self.archs)
        if not detail:
            universal = "universal " if len(self.archs) > 1 else ""
            text = f"{universal}{_FORMAT_NAMES[self.format]} {arch} {self.kind}"
            return text if self.os == _NATIVE_OS[self.format] else f"{text} for {self.os}"
        if self.format == "elf":
            text = f"ELF {arch} {self.kind}"
            if self.os != "linux":
                text += f" for {self.os}"
            if self.static:
                return text + ", statically linked"
            if self.libc == "glibc":
                need = f" {_dotted(self.glibc_version)}" if self.glibc_version else ""
                return text + f", dynamically linked against glibc{need}"
            if self.libc == "musl":
                return text + ", dynamically linked against musl"
            via = f" (interpreter {self.interpreter})" if self.interpreter else ""
            return text + f", dynamically linked against an unknown C library{via}"
        if self.format == "macho":
            universal = "universal " if len(self.archs) > 1 else ""
            text = f"{universal}Mach-O {arch} {self.kind}"
            if self.os != "macos":
                return text + f" for {self.os}"
            if self.macos_min is not None:
                return text + f" (macOS {_dotted(self.macos_min)}+)"
            return text + " (no minimum macOS recorded)"
        text = f"PE {arch} {self.kind}"
        return text if self.os == "windows" else text + f" for {self.os}"


_FORMAT_NAMES = {"elf": "ELF", "macho": "Mach-O", "pe": "PE"}
_NATIVE_OS = {"elf": "linux", "macho": "macos", "pe": "windows"}


def _dotted(version: tuple[int, ...] | None) -> str:
    return ".".join(str(part) for part in version or ())


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
        raise ReleaseError(f"cannot read {path}: {exc.strerror or exc}") from None
    return format_of(head)


def _open_regular(path: Path, name: str) -> BinaryIO:
    """Open a regular file for reading (a FIFO or device would block or never end)."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise ReleaseError(f"{name} is not a regular file: only plain files can be inspected")
    return open(path, "rb")


def format_of(head: bytes) -> BinaryFormat | None:
    """The format a file's first eight bytes announce: the one magic table of the toolkit (ELF; thin
    Mach-O in both byte orders and word sizes; universal Mach-O, 32- and 64-bit; PE)."""
    if head.startswith(_ELF_MAGIC):
        return "elf"
    if head[:4] in _MACHO_THIN_MAGICS:
        return "macho"
    if head[:4] in (_FAT_MAGIC, _FAT_MAGIC_64) and len(head) >= 8:
        (nfat,) = struct.unpack(">I", head[4:8])
        return "macho" if 0 < nfat <= _MAX_FAT_ARCHS else None
    if head.startswith(_PE_MAGIC):
        return "pe"
    return None


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
        raise ReleaseError(f"cannot read {name}: {exc.strerror or exc}") from None
    return info if label is None else replace(info, label=label)


def _inspect(head: bytes, reader: Reader, path: Path, name: str, hint: str = "") -> BinaryInfo:
    """The reader that ``head`` (the first eight bytes) calls for, applied to ``reader``; a file without
    a known magic (the message ends with ``hint``) or with a corrupt header is a :class:`ReleaseError`
    naming ``name``."""
    fmt = format_of(head)
    if fmt is None:
        raise ReleaseError(f"{name} is not an executable (no ELF, Mach-O or PE header){hint}")
    try:
        return _inspect_format(fmt, reader, path)
    except Malformed as exc:
        raise ReleaseError(
            f"{name} has a truncated or corrupt {_FORMAT_NAMES[fmt]} header ({exc}): re-fetch or rebuild the file"
        ) from None


def _inspect_format(fmt: BinaryFormat, reader: Reader, path: Path) -> BinaryInfo:
    """The reader of ``fmt`` (a key of the one magic table) applied to ``reader``.

    The format modules are imported here, on first use: they import :class:`BinaryInfo` and the magic
    table from this module.
    """
    if fmt == "elf":
        from codex_release.binaries._elf import inspect_elf

        return inspect_elf(reader, path)
    if fmt == "macho":
        from codex_release.binaries._macho import inspect_macho

        return inspect_macho(reader, path)
    from codex_release.binaries._pe import inspect_pe

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
        raise ReleaseError(f"{root} is not a directory")
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
