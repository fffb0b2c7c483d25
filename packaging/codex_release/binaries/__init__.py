"""Read the few executable-header facts that decide a runtime wheel's platform tags.

For every ELF, Mach-O (thin or universal) and PE file this answers: which OS and CPU it is for,
what kind of file it is, and what it needs from the system that runs it (ELF: static or dynamic,
musl or glibc, the highest ``GLIBC_x.y`` symbol version; Mach-O: the minimum macOS). The tag
policy built on these facts lives in :mod:`codex_release.platform_tags`.

The bytes are untrusted (a downloaded package, a file a maintainer points us at), so every reader
here reads only the headers it needs, with every offset, size and count checked against the bytes
that are really there. Whatever the input, the only exception that leaves this module is
:class:`~codex_release.errors.ReleaseError`, naming the file; no read is larger than a few
megabytes and every loop is bounded by the bytes it walks. Inspecting the real 290 MB ``codex``
executable touches a few kilobytes and takes milliseconds.

Libraries used, and why not more of them:

* ELF: pyelftools identifies the file and decodes the header and the program-header, dynamic and
  version-needed structures (class and byte order included). The walk over them is ours, because
  its iterators trust counts taken from the file: ``GNUVerNeedSection.iter_versions`` loops
  ``sh_info`` times even when ``vn_next`` is 0 (a 4-byte edit makes it spin four billion times),
  ``DynamicSegment`` iterates tags up to the end of the file when ``DT_NULL`` is missing and scans
  every section header on construction, and its C-string reader runs to the end of the file. We
  also read what the dynamic loader reads (``PT_INTERP``, ``PT_DYNAMIC``, ``DT_VERNEED``), so
  stripped files without section headers are handled.
* Mach-O: hand-written (about a hundred lines of :mod:`struct`). macholib reads the contents of
  every section into memory while loading (the whole 290 MB ``codex``, 0.3-0.5 s per file) and
  reads to the end of the file for a load command whose ``cmdsize`` is below 8. Only the fat
  header, the mach header and the load commands are needed here.
* PE: pefile with ``fast_load=True`` parses the DOS, COFF, optional and section headers. It is
  handed only those bytes (located with three fields of the COFF header): given a file name it
  would map the whole file, and closing it runs a full ``gc.collect()``, which costs tens of
  milliseconds per file inside a large process. Its exceptions become :class:`ReleaseError`.
"""

from __future__ import annotations

import io
import os
import re
import stat
import struct
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO, Literal

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


class _Malformed(Exception):
    """Internal: the header is truncated or inconsistent (turned into :class:`ReleaseError`)."""


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
    return _format_of(head)


def _open_regular(path: Path, name: str) -> BinaryIO:
    """Open a regular file for reading (a FIFO or device would block or never end)."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise ReleaseError(f"{name} is not a regular file: only plain files can be inspected")
    return open(path, "rb")


def format_of(head: bytes) -> BinaryFormat | None:
    """The format a file's first eight bytes announce: the one magic table of the toolkit (ELF; thin
    Mach-O in both byte orders and word sizes; universal Mach-O, 32- and 64-bit; PE)."""
    return _format_of(head)


def _format_of(head: bytes) -> BinaryFormat | None:
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
    fmt: BinaryFormat | None = None
    try:
        with _open_regular(path, name) as fh:
            size = os.fstat(fh.fileno()).st_size
            fmt = _format_of(fh.read(8))
            if fmt is None:
                raise ReleaseError(
                    f"{name} is not an executable (no ELF, Mach-O or PE header): "
                    "point at the binary itself, not a script or archive"
                )
            info = _inspect_format(fmt, _Reader(fh, size), path)
    except OSError as exc:
        raise ReleaseError(f"cannot read {name}: {exc.strerror or exc}") from None
    except _Malformed as exc:
        kind = _FORMAT_NAMES.get(fmt or "", "executable")
        raise ReleaseError(
            f"{name} has a truncated or corrupt {kind} header ({exc}): re-fetch or rebuild the file"
        ) from None
    return info if label is None else replace(info, label=label)


def _inspect_format(fmt: str, reader: _Reader, path: Path) -> BinaryInfo:
    """The reader of ``fmt`` (a key of the one magic table) applied to ``reader``."""
    if fmt == "elf":
        return _inspect_elf(reader, path)
    if fmt == "macho":
        return _inspect_macho(reader, path)
    return _inspect_pe(reader, path)


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
    fmt = _format_of(bytes(data[:8]))
    if fmt is None:
        raise ReleaseError(f"{label} is not an executable (no ELF, Mach-O or PE header)")
    try:
        info = _inspect_format(fmt, _Reader(io.BytesIO(data), len(data)), Path(label))
    except _Malformed as exc:
        raise ReleaseError(
            f"{label} has a truncated or corrupt {_FORMAT_NAMES[fmt]} header ({exc}): re-fetch or rebuild the file"
        ) from None
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


class _Reader:
    """Bounded reads from an open file: every read is checked against the file's size."""

    MAX_READ = 32 * 1024 * 1024

    def __init__(self, fh: BinaryIO, size: int) -> None:
        self.fh = fh
        self.size = size

    def read(self, offset: int, length: int, what: str) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise _Malformed(f"{what} at offset {offset} runs past the end of the {self.size}-byte file")
        if length > self.MAX_READ:
            raise _Malformed(f"{what} claims an implausible {length} bytes")
        self.fh.seek(offset)
        data = self.fh.read(length)
        if len(data) != length:
            raise _Malformed(f"{what} at offset {offset} is cut short")
        return data

    def cstring(self, offset: int, limit: int, what: str) -> str:
        """A NUL-terminated string of at most ``limit`` bytes starting at ``offset``."""
        if offset < 0 or offset >= self.size:
            raise _Malformed(f"{what} at offset {offset} lies outside the {self.size}-byte file")
        data = self.read(offset, min(limit, self.size - offset), what)
        text, nul, _ = data.partition(b"\0")
        if not nul:
            raise _Malformed(f"{what} at offset {offset} is not NUL-terminated")
        return text.decode("utf-8", "replace")


# --------------------------------------------------------------------------------------------
# ELF
# --------------------------------------------------------------------------------------------

_ELF_MACHINES = {
    "EM_X86_64": "x86_64",
    "EM_AARCH64": "aarch64",
    "EM_386": "i386",
    "EM_ARM": "arm",
    "EM_RISCV": "riscv",
    "EM_PPC64": "ppc64",
    "EM_PPC": "ppc",
    "EM_S390": "s390x",
    "EM_MIPS": "mips",
    "EM_LOONGARCH": "loongarch",
    "EM_SPARCV9": "sparcv9",
}
_ELF_OSABI = {
    "ELFOSABI_SYSV": "linux",
    "ELFOSABI_LINUX": "linux",
    "ELFOSABI_FREEBSD": "freebsd",
    "ELFOSABI_NETBSD": "netbsd",
    "ELFOSABI_OPENBSD": "openbsd",
    "ELFOSABI_SOLARIS": "solaris",
}
_ELF_KINDS = {"ET_EXEC": "executable", "ET_REL": "object file", "ET_CORE": "core dump"}
_DF_1_PIE = 0x08000000
_MAX_PHDR_TABLE = 65536  # the Linux kernel refuses larger program-header tables
_MAX_DYNAMIC_ENTRIES = 65536
_MAX_VERSION_ENTRIES = 65536
_MAX_NAME = 4096
_GLIBC_VERSION = re.compile(r"GLIBC_(\d+)\.(\d+)(?:\.\d+)*")


def _inspect_elf(reader: _Reader, path: Path) -> BinaryInfo:
    from elftools.common.exceptions import ELFError

    try:
        return _read_elf(reader, path)
    except _Malformed:
        raise
    except (ELFError, ValueError, OverflowError, struct.error) as exc:
        raise _Malformed(str(exc) or type(exc).__name__) from None
    except Exception as exc:  # pyelftools/construct raise a zoo of types on bad bytes
        raise _Malformed(f"{type(exc).__name__}: {exc}") from None


def _read_elf(reader: _Reader, path: Path) -> BinaryInfo:
    from elftools.elf.elffile import ELFFile

    # pyelftools parses from a stream; give it an in-memory copy of the fixed-size file header so
    # that it can never wander into the rest of the file on its own.
    elf = ELFFile(_HeaderStream(reader))
    structs = elf.structs
    phdr_size = structs.Elf_Phdr.sizeof()
    phnum, phoff = elf["e_phnum"], elf["e_phoff"]
    if phnum and elf["e_phentsize"] != phdr_size:
        raise _Malformed(f"e_phentsize {elf['e_phentsize']} does not match the {phdr_size}-byte program header")
    if phnum * phdr_size > _MAX_PHDR_TABLE:
        raise _Malformed(f"{phnum} program headers is implausible")
    table = reader.read(phoff, phnum * phdr_size, "program header table") if phnum else b""
    segments = [structs.Elf_Phdr.parse(table[i * phdr_size : (i + 1) * phdr_size]) for i in range(phnum)]
    for index, seg in enumerate(segments):
        if seg["p_filesz"] and seg["p_offset"] + seg["p_filesz"] > reader.size:
            raise _Malformed(
                f"segment {index} ({seg['p_type']}) ends at byte {seg['p_offset'] + seg['p_filesz']}, past the end "
                f"of the {reader.size}-byte file"
            )
    loads = [seg for seg in segments if seg["p_type"] == "PT_LOAD"]

    machine = _enum_name(elf["e_machine"], _ELF_MACHINES, "EM_", "machine")
    if machine == "x86_64" and elf.elfclass == 32:
        machine = "x32"
    if machine == "aarch64" and not elf.little_endian:
        machine = "aarch64_be"
    if machine == "ppc64" and elf.little_endian:
        machine = "ppc64le"
    os_name = _enum_name(elf["e_ident"]["EI_OSABI"], _ELF_OSABI, "ELFOSABI_", "EI_OSABI")

    interpreter: str | None = None
    for seg in segments:
        if seg["p_type"] == "PT_INTERP":
            interpreter = reader.cstring(seg["p_offset"], min(seg["p_filesz"], _MAX_NAME), "PT_INTERP path")
            break

    dynamic = _DynamicInfo()
    for seg in segments:
        if seg["p_type"] == "PT_DYNAMIC":
            dynamic = _read_dynamic(reader, structs, seg, loads)
            break

    e_type = str(elf["e_type"])
    if e_type == "ET_DYN":
        is_exe = interpreter is not None or bool(dynamic.flags_1 & _DF_1_PIE)
        kind = "executable" if is_exe else "shared library"
    else:
        kind = _enum_name(elf["e_type"], _ELF_KINDS, "ET_", "file type")

    static = interpreter is None and not dynamic.needed
    glibc_versions: list[tuple[int, int]] = []
    for version in dynamic.versions:
        if m := _GLIBC_VERSION.fullmatch(version):
            if len(m.group(1)) > 4 or len(m.group(2)) > 4:
                raise _Malformed(f"symbol version {version[:24]}... names no real glibc")
            glibc_versions.append((int(m.group(1)), int(m.group(2))))
    return BinaryInfo(
        path=path,
        format="elf",
        os=os_name,
        archs=(machine,),
        kind=kind,
        static=static,
        libc=None if static else _elf_libc(interpreter, dynamic.needed, bool(glibc_versions)),
        glibc_version=max(glibc_versions) if glibc_versions else None,
        interpreter=interpreter,
    )


def _enum_name(value: object, names: dict[str, str], prefix: str, what: str) -> str:
    """Our name for a pyelftools enum value (a string it knows, or the bare number it does not)."""
    if isinstance(value, int):
        return f"{what} {value}"
    return names.get(str(value), str(value).removeprefix(prefix).lower())


def _elf_libc(interpreter: str | None, needed: tuple[str, ...], needs_glibc_versions: bool) -> Libc | None:
    if interpreter is not None:
        base = interpreter.rsplit("/", 1)[-1]
        if base.startswith("ld-musl-"):
            return "musl"
        if base.startswith("ld-linux") or base.startswith("ld64.so."):
            return "glibc"
        return None
    if any(name.startswith("libc.musl-") or name == "libc.so" for name in needed):
        return "musl"
    if "libc.so.6" in needed or needs_glibc_versions:
        return "glibc"
    return None


class _HeaderStream(io.BytesIO):
    """The first bytes of the file (enough for any ELF file header) as a stream for pyelftools."""

    def __init__(self, reader: _Reader) -> None:
        super().__init__(reader.read(0, min(reader.size, 64), "ELF header"))


@dataclass(frozen=True)
class _DynamicInfo:
    needed: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()
    flags_1: int = 0


def _to_offset(vaddr: int, size: int, loads: list[Any], what: str) -> int:
    """Map a virtual address to a file offset through the PT_LOAD segments, as the loader does."""
    for seg in loads:
        if seg["p_vaddr"] <= vaddr and vaddr + size <= seg["p_vaddr"] + seg["p_filesz"]:
            return int(vaddr - seg["p_vaddr"] + seg["p_offset"])
    raise _Malformed(f"{what} address {vaddr:#x} is not inside any loaded segment")


def _read_dynamic(reader: _Reader, structs: Any, seg: Any, loads: list[Any]) -> _DynamicInfo:
    entry_size = structs.Elf_Dyn.sizeof()
    count = min(seg["p_filesz"] // entry_size, _MAX_DYNAMIC_ENTRIES)
    table = reader.read(seg["p_offset"], count * entry_size, "dynamic section")
    tags: dict[str, list[int]] = {}
    for i in range(count):
        entry = structs.Elf_Dyn.parse(table[i * entry_size : (i + 1) * entry_size])
        tag = str(entry["d_tag"])
        if tag == "DT_NULL":
            break
        tags.setdefault(tag, []).append(int(entry["d_val"]))
    if not tags.get("DT_NEEDED") and not tags.get("DT_VERNEED"):
        return _DynamicInfo(flags_1=tags.get("DT_FLAGS_1", [0])[0])
    if "DT_STRTAB" not in tags or "DT_STRSZ" not in tags:
        raise _Malformed("the dynamic section names libraries but has no string table")
    strsz = tags["DT_STRSZ"][0]
    strtab = _to_offset(tags["DT_STRTAB"][0], strsz, loads, "DT_STRTAB")

    def string(index: int, what: str) -> str:
        if index >= strsz:
            raise _Malformed(f"{what} string index {index} is outside the {strsz}-byte string table")
        return reader.cstring(strtab + index, min(strsz - index, _MAX_NAME), what)

    needed = tuple(string(value, "DT_NEEDED") for value in tags.get("DT_NEEDED", []))
    versions: tuple[str, ...] = ()
    if "DT_VERNEED" in tags:
        vernum = tags.get("DT_VERNEEDNUM", [0])[0]
        offset = _to_offset(tags["DT_VERNEED"][0], structs.Elf_Verneed.sizeof(), loads, "DT_VERNEED")
        versions = tuple(_read_verneed(reader, structs, offset, vernum, string))
    return _DynamicInfo(needed, versions, tags.get("DT_FLAGS_1", [0])[0])


def _read_verneed(reader: _Reader, structs: Any, offset: int, count: int, string: Any) -> list[str]:
    """The version names of the ``Elf_Verneed`` chain, walked the way glibc's loader walks it."""
    verneed, vernaux = structs.Elf_Verneed, structs.Elf_Vernaux
    names: list[str] = []
    budget = _MAX_VERSION_ENTRIES
    for _ in range(min(count, _MAX_VERSION_ENTRIES)):
        need = verneed.parse(reader.read(offset, verneed.sizeof(), "version-needed entry"))
        aux_offset = offset + need["vn_aux"]
        for _ in range(need["vn_cnt"]):
            budget -= 1
            if budget < 0:
                raise _Malformed("the version-needed table is implausibly long")
            aux = vernaux.parse(reader.read(aux_offset, vernaux.sizeof(), "version-needed auxiliary entry"))
            names.append(string(aux["vna_name"], "version name"))
            if not aux["vna_next"]:
                break
            aux_offset += aux["vna_next"]
        if not need["vn_next"]:
            break
        offset += need["vn_next"]
    return names


# --------------------------------------------------------------------------------------------
# Mach-O
# --------------------------------------------------------------------------------------------

_CPU_ABI64 = 0x01000000
_CPU_ABI64_32 = 0x02000000
_CPU_SUBTYPE_MASK = 0xFF000000
_CPU_SUBTYPE_ARM64E = 2
_MACHO_CPUS = {
    7 | _CPU_ABI64: "x86_64",
    12 | _CPU_ABI64: "aarch64",
    7: "i386",
    12: "arm",
    12 | _CPU_ABI64_32: "arm64_32",
    18: "ppc",
    18 | _CPU_ABI64: "ppc64",
}
_MACHO_FILETYPES = {
    1: "object file",
    2: "executable",
    6: "shared library",
    7: "dynamic linker",
    8: "bundle",
    10: "debug symbols",
    11: "kernel extension",
}
_LC_VERSION_MIN = {0x24: "macos", 0x25: "ios", 0x2F: "tvos", 0x30: "watchos"}
_LC_BUILD_VERSION = 0x32
_LC_SEGMENTS = {0x1: (56, "II", 32), 0x19: (72, "QQ", 40)}
"""LC_SEGMENT / LC_SEGMENT_64: minimum size, format and offset of (fileoff, filesize)."""
_BUILD_PLATFORMS = {
    1: "macos",
    2: "ios",
    3: "tvos",
    4: "watchos",
    5: "bridgeos",
    6: "maccatalyst",
    7: "ios-simulator",
    8: "tvos-simulator",
    9: "watchos-simulator",
    10: "driverkit",
    11: "visionos",
    12: "visionos-simulator",
}
_MAX_LOAD_COMMANDS_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class _Slice:
    arch: str
    kind: str
    os: str
    macos_min: tuple[int, int] | None


def _inspect_macho(reader: _Reader, path: Path) -> BinaryInfo:
    magic = reader.read(0, 4, "Mach-O magic")
    if magic in (_FAT_MAGIC, _FAT_MAGIC_64):
        slices = _read_fat(reader, wide=magic == _FAT_MAGIC_64)
    else:
        slices = [_read_thin(reader, 0, reader.size, None)]
    oses = sorted({s.os for s in slices})
    os_name = oses[0] if len(oses) == 1 else "+".join(o for o in oses if o != "macos")
    kinds = sorted({s.kind for s in slices})
    mins = [s.macos_min for s in slices if s.macos_min is not None]
    return BinaryInfo(
        path=path,
        format="macho",
        os=os_name,
        archs=tuple(s.arch for s in slices),
        kind="/".join(kinds),
        macos_min=max(mins) if mins else None,
    )


def _read_fat(reader: _Reader, *, wide: bool) -> list[_Slice]:
    (nfat,) = struct.unpack(">I", reader.read(4, 4, "fat header"))
    if not 0 < nfat <= _MAX_FAT_ARCHS:
        raise _Malformed(f"a universal file with {nfat} slices is implausible")
    entry_format = ">iiQQII" if wide else ">iiIII"
    entry_size = struct.calcsize(entry_format)
    table = reader.read(8, nfat * entry_size, "fat architecture table")
    slices = []
    for i in range(nfat):
        cputype, cpusubtype, offset, size, *_ = struct.unpack_from(entry_format, table, i * entry_size)
        if offset < 8 + nfat * entry_size or size <= 0 or offset + size > reader.size:
            raise _Malformed(f"slice {i} ({offset=}, {size=}) lies outside the {reader.size}-byte file")
        slices.append(_read_thin(reader, offset, size, (cputype, cpusubtype)))
    return slices


def _read_thin(reader: _Reader, start: int, size: int, fat_cpu: tuple[int, int] | None) -> _Slice:
    magic = reader.read(start, 4, "Mach-O header")
    if magic not in _MACHO_THIN_MAGICS:
        raise _Malformed(f"slice at offset {start} has no Mach-O header (magic {magic.hex()})")
    endian, bits = _MACHO_THIN_MAGICS[magic]
    header_size = 32 if bits == 64 else 28
    if size < header_size:
        raise _Malformed(f"slice at offset {start} is only {size} bytes")
    cputype, cpusubtype, filetype, ncmds, sizeofcmds, _flags = struct.unpack(
        endian + "iIIIII", reader.read(start + 4, 24, "Mach-O header")
    )
    if fat_cpu is not None and fat_cpu[0] != cputype:
        raise _Malformed(f"the fat table says CPU {fat_cpu[0]:#x} but the slice says {cputype:#x}")
    if sizeofcmds > min(size - header_size, _MAX_LOAD_COMMANDS_BYTES):
        raise _Malformed(f"load commands ({sizeofcmds} bytes) do not fit the {size}-byte slice")
    commands = reader.read(start + header_size, sizeofcmds, "load commands")

    arch = _MACHO_CPUS.get(cputype & 0xFFFFFFFF, f"cpu {cputype & 0xFFFFFFFF:#x}")
    if arch == "aarch64" and cpusubtype & ~_CPU_SUBTYPE_MASK == _CPU_SUBTYPE_ARM64E:
        arch = "arm64e"

    platforms: dict[str, tuple[int, int] | None] = {}
    pos = 0
    for index in range(ncmds):
        if pos + 8 > sizeofcmds:
            raise _Malformed(f"load command {index} of {ncmds} lies past the {sizeofcmds} bytes of load commands")
        cmd, cmdsize = struct.unpack_from(endian + "II", commands, pos)
        if cmdsize < 8 or pos + cmdsize > sizeofcmds:
            raise _Malformed(f"load command {index} has an impossible size {cmdsize}")
        if cmd in _LC_SEGMENTS and cmdsize >= _LC_SEGMENTS[cmd][0]:
            _, layout, field_offset = _LC_SEGMENTS[cmd]
            fileoff, filesize = struct.unpack_from(endian + layout, commands, pos + field_offset)
            if filesize and fileoff + filesize > size:
                raise _Malformed(
                    f"segment of load command {index} ends at byte {fileoff + filesize}, past the end of the "
                    f"{size}-byte {'slice' if fat_cpu else 'file'}"
                )
        elif cmd == _LC_BUILD_VERSION and cmdsize >= 24:
            platform, minos = struct.unpack_from(endian + "II", commands, pos + 8)
            name = _BUILD_PLATFORMS.get(platform, f"platform {platform}")
            platforms.setdefault(name, _macho_version(minos))
        elif cmd in _LC_VERSION_MIN and cmdsize >= 16:
            (version,) = struct.unpack_from(endian + "I", commands, pos + 8)
            platforms.setdefault(_LC_VERSION_MIN[cmd], _macho_version(version))
        pos += cmdsize

    if "macos" in platforms or not platforms:
        os_name, macos_min = "macos", platforms.get("macos")
    else:
        os_name, macos_min = "+".join(sorted(platforms)), None
    kind = _MACHO_FILETYPES.get(filetype, f"file type {filetype}")
    return _Slice(arch, kind, os_name, macos_min)


def _macho_version(packed: int) -> tuple[int, int]:
    """``xxxx.yy.zz`` nibbles to ``(major, minor)``."""
    return packed >> 16, (packed >> 8) & 0xFF


# --------------------------------------------------------------------------------------------
# PE
# --------------------------------------------------------------------------------------------

_PE_MACHINES = {0x8664: "x86_64", 0xAA64: "aarch64", 0x14C: "i386", 0x1C4: "arm", 0xA641: "arm64ec", 0x200: "ia64"}
_PE_DLL = 0x2000
_PE_EFI_SUBSYSTEMS = {10, 11, 12, 13}


def _inspect_pe(reader: _Reader, path: Path) -> BinaryInfo:
    import pefile

    # pefile gets the headers as bytes, not the file: given a file name it maps the whole file, and
    # its close() runs a full gc.collect() (tens of milliseconds per file in a large process).
    dos = reader.read(0, 64, "DOS header")
    (lfanew,) = struct.unpack_from("<I", dos, 0x3C)
    coff = reader.read(lfanew, 24, "PE signature and COFF header")
    (nsections,) = struct.unpack_from("<H", coff, 6)
    (optional_size,) = struct.unpack_from("<H", coff, 20)
    headers = reader.read(0, lfanew + 24 + optional_size + 40 * nsections, "PE headers and section table")
    try:
        pe = pefile.PE(data=headers, fast_load=True)
        machine = int(pe.FILE_HEADER.Machine)
        characteristics = int(pe.FILE_HEADER.Characteristics)
        optional = getattr(pe, "OPTIONAL_HEADER", None)
        subsystem = int(optional.Subsystem) if optional is not None else None
        sections = [
            (bytes(section.Name), int(section.PointerToRawData), int(section.SizeOfRawData)) for section in pe.sections
        ]
    except Exception as exc:  # pefile raises PEFormatError and, on odd bytes, other types too
        raise _Malformed(f"{type(exc).__name__}: {exc}") from None
    if subsystem is None:
        raise _Malformed("no optional header")
    for name, offset, size in sections:
        if size and offset + size > reader.size:
            label = name.rstrip(b"\0").decode("ascii", "replace")
            raise _Malformed(
                f"section {label!r} ends at byte {offset + size}, past the end of the {reader.size}-byte file"
            )
    return BinaryInfo(
        path=path,
        format="pe",
        os="uefi" if subsystem in _PE_EFI_SUBSYSTEMS else "windows",
        archs=(_PE_MACHINES.get(machine, f"machine {machine:#06x}"),),
        kind="DLL" if characteristics & _PE_DLL else "executable",
    )
