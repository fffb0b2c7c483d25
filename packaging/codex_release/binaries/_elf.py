"""ELF: the machine, OS, kind, interpreter, needed libraries and ``GLIBC_x.y`` versions of one file.

pyelftools identifies the file and decodes the header and the program-header, dynamic and
version-needed structures (class and byte order included). The walk over them is ours, because its
iterators trust counts taken from the file: ``GNUVerNeedSection.iter_versions`` loops ``sh_info``
times even when ``vn_next`` is 0 (a 4-byte edit makes it spin four billion times), ``DynamicSegment``
iterates tags up to the end of the file when ``DT_NULL`` is missing and scans every section header on
construction, and its C-string reader runs to the end of the file. We also read what the dynamic
loader reads (``PT_INTERP``, ``PT_DYNAMIC``, ``DT_VERNEED``), so stripped files without section headers
are handled.
"""

from __future__ import annotations

import io
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codex_release.binaries._info import BinaryInfo, Libc
from codex_release.binaries._reader import Malformed, Reader

__all__ = ["inspect_elf"]

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


def inspect_elf(reader: Reader, path: Path) -> BinaryInfo:
    from elftools.common.exceptions import ELFError

    try:
        return _read_elf(reader, path)
    except Malformed:
        raise
    except (ELFError, ValueError, OverflowError, struct.error) as exc:
        raise Malformed(str(exc) or type(exc).__name__) from None
    except Exception as exc:  # pyelftools/construct raise a zoo of types on bad bytes
        raise Malformed(f"{type(exc).__name__}: {exc}") from None


def _read_elf(reader: Reader, path: Path) -> BinaryInfo:
    from elftools.elf.elffile import ELFFile

    # pyelftools parses from a stream; give it an in-memory copy of the fixed-size file header so
    # that it can never wander into the rest of the file on its own.
    elf = ELFFile(_HeaderStream(reader))
    structs = elf.structs
    phdr_size = structs.Elf_Phdr.sizeof()
    phnum, phoff = elf["e_phnum"], elf["e_phoff"]
    if phnum and elf["e_phentsize"] != phdr_size:
        raise Malformed(f"e_phentsize {elf['e_phentsize']} does not match the {phdr_size}-byte program header")
    if phnum * phdr_size > _MAX_PHDR_TABLE:
        raise Malformed(f"{phnum} program headers is implausible")
    table = reader.read(phoff, phnum * phdr_size, "program header table") if phnum else b""
    segments = [structs.Elf_Phdr.parse(table[i * phdr_size : (i + 1) * phdr_size]) for i in range(phnum)]
    for index, seg in enumerate(segments):
        if seg["p_filesz"] and seg["p_offset"] + seg["p_filesz"] > reader.size:
            raise Malformed(
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
                raise Malformed(f"symbol version {version[:24]}... names no real glibc")
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

    def __init__(self, reader: Reader) -> None:
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
    raise Malformed(f"{what} address {vaddr:#x} is not inside any loaded segment")


def _read_dynamic(reader: Reader, structs: Any, seg: Any, loads: list[Any]) -> _DynamicInfo:
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
        raise Malformed("the dynamic section names libraries but has no string table")
    strsz = tags["DT_STRSZ"][0]
    strtab = _to_offset(tags["DT_STRTAB"][0], strsz, loads, "DT_STRTAB")

    def string(index: int, what: str) -> str:
        if index >= strsz:
            raise Malformed(f"{what} string index {index} is outside the {strsz}-byte string table")
        return reader.cstring(strtab + index, min(strsz - index, _MAX_NAME), what)

    needed = tuple(string(value, "DT_NEEDED") for value in tags.get("DT_NEEDED", []))
    versions: tuple[str, ...] = ()
    if "DT_VERNEED" in tags:
        vernum = tags.get("DT_VERNEEDNUM", [0])[0]
        offset = _to_offset(tags["DT_VERNEED"][0], structs.Elf_Verneed.sizeof(), loads, "DT_VERNEED")
        versions = tuple(_read_verneed(reader, structs, offset, vernum, string))
    return _DynamicInfo(needed, versions, tags.get("DT_FLAGS_1", [0])[0])


def _read_verneed(reader: Reader, structs: Any, offset: int, count: int, string: Any) -> list[str]:
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
                raise Malformed("the version-needed table is implausibly long")
            aux = vernaux.parse(reader.read(aux_offset, vernaux.sizeof(), "version-needed auxiliary entry"))
            names.append(string(aux["vna_name"], "version name"))
            if not aux["vna_next"]:
                break
            aux_offset += aux["vna_next"]
        if not need["vn_next"]:
            break
        offset += need["vn_next"]
    return names
