"""The one magic table: which reader a file goes to, from its first eight bytes (:func:`format_of`).

Kept apart from the readers so that :mod:`._macho` checks the same magic numbers that sent the file to it.
"""

from __future__ import annotations

import struct

from codex_release.binaries._info import BinaryFormat

__all__ = ["format_of"]

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
