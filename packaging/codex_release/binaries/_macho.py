"""Mach-O, thin or universal: the CPU of every slice, the kind of file and the minimum macOS.

Hand-written (about a hundred lines of :mod:`struct`). macholib reads the contents of every section
into memory while loading (the whole 290 MB ``codex``, 0.3-0.5 s per file) and reads to the end of the
file for a load command whose ``cmdsize`` is below 8. Only the fat header, the mach header and the load
commands are needed here. The magic numbers are those of the one magic table in
:mod:`codex_release.binaries._magic`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from codex_release.binaries._info import BinaryInfo
from codex_release.binaries._magic import _FAT_MAGIC, _FAT_MAGIC_64, _MACHO_THIN_MAGICS, _MAX_FAT_ARCHS
from codex_release.binaries._reader import Malformed, Reader

__all__ = ["inspect_macho"]

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


def inspect_macho(reader: Reader, path: Path) -> BinaryInfo:
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


def _read_fat(reader: Reader, *, wide: bool) -> list[_Slice]:
    (nfat,) = struct.unpack(">I", reader.read(4, 4, "fat header"))
    if not 0 < nfat <= _MAX_FAT_ARCHS:
        raise Malformed(f"a universal file with {nfat} slices is implausible")
    entry_format = ">iiQQII" if wide else ">iiIII"
    entry_size = struct.calcsize(entry_format)
    table = reader.read(8, nfat * entry_size, "fat architecture table")
    slices = []
    for i in range(nfat):
        cputype, cpusubtype, offset, size, *_ = struct.unpack_from(entry_format, table, i * entry_size)
        if offset < 8 + nfat * entry_size or size <= 0 or offset + size > reader.size:
            raise Malformed(f"slice {i} ({offset=}, {size=}) lies outside the {reader.size}-byte file")
        slices.append(_read_thin(reader, offset, size, (cputype, cpusubtype)))
    return slices


def _read_thin(reader: Reader, start: int, size: int, fat_cpu: tuple[int, int] | None) -> _Slice:
    magic = reader.read(start, 4, "Mach-O header")
    if magic not in _MACHO_THIN_MAGICS:
        raise Malformed(f"slice at offset {start} has no Mach-O header (magic {magic.hex()})")
    endian, bits = _MACHO_THIN_MAGICS[magic]
    header_size = 32 if bits == 64 else 28
    if size < header_size:
        raise Malformed(f"slice at offset {start} is only {size} bytes")
    cputype, cpusubtype, filetype, ncmds, sizeofcmds, _flags = struct.unpack(
        endian + "iIIIII", reader.read(start + 4, 24, "Mach-O header")
    )
    if fat_cpu is not None and fat_cpu[0] != cputype:
        raise Malformed(f"the fat table says CPU {fat_cpu[0]:#x} but the slice says {cputype:#x}")
    if sizeofcmds > min(size - header_size, _MAX_LOAD_COMMANDS_BYTES):
        raise Malformed(f"load commands ({sizeofcmds} bytes) do not fit the {size}-byte slice")
    commands = reader.read(start + header_size, sizeofcmds, "load commands")

    arch = _MACHO_CPUS.get(cputype & 0xFFFFFFFF, f"cpu {cputype & 0xFFFFFFFF:#x}")
    if arch == "aarch64" and cpusubtype & ~_CPU_SUBTYPE_MASK == _CPU_SUBTYPE_ARM64E:
        arch = "arm64e"

    platforms: dict[str, tuple[int, int] | None] = {}
    pos = 0
    for index in range(ncmds):
        if pos + 8 > sizeofcmds:
            raise Malformed(f"load command {index} of {ncmds} lies past the {sizeofcmds} bytes of load commands")
        cmd, cmdsize = struct.unpack_from(endian + "II", commands, pos)
        if cmdsize < 8 or pos + cmdsize > sizeofcmds:
            raise Malformed(f"load command {index} has an impossible size {cmdsize}")
        if cmd in _LC_SEGMENTS and cmdsize >= _LC_SEGMENTS[cmd][0]:
            _, layout, field_offset = _LC_SEGMENTS[cmd]
            fileoff, filesize = struct.unpack_from(endian + layout, commands, pos + field_offset)
            if filesize and fileoff + filesize > size:
                raise Malformed(
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
