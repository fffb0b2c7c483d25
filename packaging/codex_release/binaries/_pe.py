"""PE: the machine, the kind (executable or DLL) and whether the image is for Windows or UEFI.

pefile with ``fast_load=True`` parses the DOS, COFF, optional and section headers. It is handed only
those bytes (located with three fields of the COFF header): given a file name it would map the whole
file, and closing it runs a full ``gc.collect()``, which costs tens of milliseconds per file inside a
large process. Its exceptions become :class:`~codex_release.binaries._reader.Malformed`.
"""

from __future__ import annotations

import struct
from pathlib import Path

from codex_release.binaries._info import BinaryInfo
from codex_release.binaries._reader import Malformed, Reader

__all__ = ["inspect_pe"]

_PE_MACHINES = {0x8664: "x86_64", 0xAA64: "aarch64", 0x14C: "i386", 0x1C4: "arm", 0xA641: "arm64ec", 0x200: "ia64"}
_PE_DLL = 0x2000
_PE_EFI_SUBSYSTEMS = {10, 11, 12, 13}


def inspect_pe(reader: Reader, path: Path) -> BinaryInfo:
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
        raise Malformed(f"{type(exc).__name__}: {exc}") from None
    if subsystem is None:
        raise Malformed("no optional header")
    for name, offset, size in sections:
        if size and offset + size > reader.size:
            label = name.rstrip(b"\0").decode("ascii", "replace")
            raise Malformed(
                f"section {label!r} ends at byte {offset + size}, past the end of the {reader.size}-byte file"
            )
    return BinaryInfo(
        path=path,
        format="pe",
        os="uefi" if subsystem in _PE_EFI_SUBSYSTEMS else "windows",
        archs=(_PE_MACHINES.get(machine, f"machine {machine:#06x}"),),
        kind="DLL" if characteristics & _PE_DLL else "executable",
    )
