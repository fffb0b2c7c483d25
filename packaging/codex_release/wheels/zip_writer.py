"""A minimal, deterministic ZIP writer for members whose DEFLATE data is already compressed.

Why not :mod:`zipfile`: it compresses every member itself, with zlib, on the calling thread. The
runtime wheels are about 370 MB of executables; zlib at hatchling's level spends most of the build in
one core. :mod:`codex_release.wheels.parallel_deflate` compresses the members on every core with libdeflate
and hands the raw DEFLATE bytes over, and :mod:`zipfile` has no way to store bytes that are already
compressed. The container around them is small and fully specified (PKWARE APPNOTE 6.3.x, sections
4.3 and 4.5.3), so it is written here: one local header per member (sizes and CRC known up front, so
no data descriptors), the central directory, and the ZIP64 end records when a size, an offset or the
member count no longer fits the classic fields. Nothing variable goes in: no extra fields but ZIP64,
no comments, one timestamp for every member, the caller's order of members. Reading and verifying
is left to :mod:`zipfile` (the tests do exactly that).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

__all__ = ["ZIP64_LIMIT", "Chunk", "DateTime", "ZipWriter", "dos_date_time"]

DateTime = tuple[int, int, int, int, int, int]
Chunk = bytes | bytearray | memoryview

ZIP64_LIMIT = 0xFFFFFFFF
"""Sizes and offsets at or above this need ZIP64 fields (the classic fields are 32-bit)."""
_MAX_ENTRIES = 0xFFFF

_DEFLATED = 8
_VERSION_DEFAULT = 20  # 2.0: DEFLATE
_VERSION_ZIP64 = 45  # 4.5: ZIP64 extensions
_MADE_BY_UNIX = 3 << 8  # upper byte of "version made by": external attributes hold a Unix mode
_FLAG_UTF8 = 0x800

_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_END64 = struct.Struct("<4sQHHIIQQQQ")
_LOCATOR64 = struct.Struct("<4sIQI")
_END = struct.Struct("<4sHHHHIIH")
_ZIP64_EXTRA = 0x0001


def dos_date_time(date_time: DateTime) -> tuple[int, int]:
    """(DOS time, DOS date) of a timestamp in 1980..2107 (two-second resolution, as zipfile does)."""
    year, month, day, hour, minute, second = date_time
    if not 1980 <= year <= 2107:
        raise ValueError(f"ZIP timestamps cover 1980..2107, not {year}")
    return (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day


@dataclass(frozen=True)
class _Entry:
    name: bytes
    flags: int
    crc32: int
    size: int
    compressed_size: int
    offset: int
    mode: int


class ZipWriter:
    """Append pre-deflated members to ``out`` (a fresh, writable binary stream), then :meth:`finish`.

    ``zip64_limit`` exists so that tests can exercise the ZIP64 records without 4 GiB of data.
    """

    def __init__(self, out: BinaryIO, *, date_time: DateTime, zip64_limit: int = ZIP64_LIMIT) -> None:
        self._out = out
        self._time, self._date = dos_date_time(date_time)
        self._limit = min(zip64_limit, ZIP64_LIMIT)
        self._entries: list[_Entry] = []
        self._names: set[bytes] = set()
        self._offset = 0
        self._finished = False

    def _write(self, data: Chunk) -> None:
        self._offset += self._out.write(data)

    def add_deflated(self, name: str, *, mode: int, crc32: int, size: int, chunks: Iterable[Chunk]) -> None:
        """Add member ``name`` whose raw DEFLATE stream is the concatenation of ``chunks``.

        ``mode`` goes to the upper half of the external attributes (a Unix ``st_mode``, as zipfile and
        pip read it); ``crc32`` and ``size`` describe the uncompressed data.
        """
        if self._finished:
            raise ValueError("the archive is already finished")
        encoded, flags = _encode_name(name)
        if encoded in self._names:
            raise ValueError(f"duplicate archive member {name!r}")
        parts = [memoryview(chunk).cast("B") for chunk in chunks]
        compressed_size = sum(part.nbytes for part in parts)
        entry = _Entry(encoded, flags, crc32, size, compressed_size, self._offset, mode)
        zip64 = size >= self._limit or compressed_size >= self._limit
        extra = struct.pack("<HHQQ", _ZIP64_EXTRA, 16, size, compressed_size) if zip64 else b""
        header = _LOCAL.pack(
            b"PK\x03\x04",
            _VERSION_ZIP64 if zip64 else _VERSION_DEFAULT,
            flags,
            _DEFLATED,
            self._time,
            self._date,
            crc32,
            ZIP64_LIMIT if zip64 else compressed_size,
            ZIP64_LIMIT if zip64 else size,
            len(encoded),
            len(extra),
        )
        self._write(header + encoded + extra)
        for part in parts:
            self._write(part)
        self._entries.append(entry)
        self._names.add(encoded)

    def finish(self) -> None:
        """Write the central directory and the end records. The stream is left open."""
        if self._finished:
            return
        self._finished = True
        start = self._offset
        for entry in self._entries:
            self._write(self._central_header(entry))
        count, cd_size = len(self._entries), self._offset - start
        if count >= _MAX_ENTRIES or cd_size >= self._limit or start >= self._limit:
            end64 = self._offset
            self._write(
                _END64.pack(
                    b"PK\x06\x06",
                    _END64.size - 12,
                    _MADE_BY_UNIX | _VERSION_ZIP64,
                    _VERSION_ZIP64,
                    0,
                    0,
                    count,
                    count,
                    cd_size,
                    start,
                )
            )
            self._write(_LOCATOR64.pack(b"PK\x06\x07", 0, end64, 1))
        entries16 = min(count, _MAX_ENTRIES)
        self._write(
            _END.pack(
                b"PK\x05\x06",
                0,
                0,
                entries16,
                entries16,
                ZIP64_LIMIT if cd_size >= self._limit else cd_size,
                ZIP64_LIMIT if start >= self._limit else start,
                0,
            )
        )

    def _central_header(self, entry: _Entry) -> bytes:
        fields: list[int] = []
        size, compressed_size, offset = entry.size, entry.compressed_size, entry.offset
        if size >= self._limit:
            fields.append(size)
            size = ZIP64_LIMIT
        if compressed_size >= self._limit:
            fields.append(compressed_size)
            compressed_size = ZIP64_LIMIT
        if offset >= self._limit:
            fields.append(offset)
            offset = ZIP64_LIMIT
        extra = struct.pack(f"<HH{len(fields)}Q", _ZIP64_EXTRA, 8 * len(fields), *fields) if fields else b""
        version = _VERSION_ZIP64 if fields else _VERSION_DEFAULT
        header = _CENTRAL.pack(
            b"PK\x01\x02",
            _MADE_BY_UNIX | version,
            version,
            entry.flags,
            _DEFLATED,
            self._time,
            self._date,
            entry.crc32,
            compressed_size,
            size,
            len(entry.name),
            len(extra),
            0,  # comment length
            0,  # disk number start
            0,  # internal attributes
            (entry.mode & 0xFFFF) << 16,
            offset,
        )
        return header + entry.name + extra


def _encode_name(name: str) -> tuple[bytes, int]:
    if not name or name.startswith("/") or "\\" in name:
        raise ValueError(f"not a relative POSIX archive name: {name!r}")
    try:
        return name.encode("ascii"), 0
    except UnicodeEncodeError:
        return name.encode("utf-8"), _FLAG_UTF8
