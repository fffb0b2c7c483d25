"""The wheel (zip) reader: :class:`WheelArchive`, members with names checked on opening and data checked on reading.

Libraries, and why some hand-written code: :mod:`zipfile` parses a wheel's central directory. Member data
is located from the local header and inflated with libdeflate (the ``deflate`` package, already used by
the wheel writer), much faster than :mod:`zipfile`'s zlib; the CRC-32 (libdeflate's too) and size are
checked here. This is what makes ``verify`` of a whole release fast. Reads take a lock per archive, so
threads may read members of one wheel at once, and a caller may hand in the buffer the compressed bytes go
to (:meth:`WheelArchive.raw`).
"""

from __future__ import annotations

import io
import itertools
import os
import shutil
import stat
import struct
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import cast

import deflate

from codex_release.archives._limits import Limits
from codex_release.archives._names import NEW_FILE, NameSet
from codex_release.errors import ArchiveRefused

__all__ = ["WheelArchive", "WheelMember"]

_COMPARE_CHUNK = 4 << 20
"""How many bytes :meth:`WheelArchive.same_raw` reads and compares at a time."""
_SMALL = 1 << 16

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class WheelMember:
    """One member of a wheel, as its central directory describes it."""

    index: int
    name: str
    is_dir: bool
    size: int
    mode: int
    """The Unix permission bits (``external_attr >> 16``, file type removed)."""
    crc32: int = 0
    compressed_size: int = 0
    method: int = zipfile.ZIP_STORED

    @property
    def content_key(self) -> tuple[int, int, int, int]:
        """Compression method, CRC-32, compressed and unpacked size: members whose compressed bytes are
        equal share it, so only members with equal keys can be byte-identical (:meth:`WheelArchive.same_raw`)."""
        return (self.method, self.crc32, self.compressed_size, self.size)


class WheelArchive:
    """A checked, read-only view of a wheel (or any zip): members by index, data with CRC-32 checked.

    Opening refuses what no wheel may hold: unsafe or duplicate names, symlinks and other non-regular
    members, encrypted or non-deflate members, overlapping or out-of-bounds member data, and more
    members or unpacked bytes than :class:`Limits` allows.
    """

    def __init__(self, path: Path, *, limits: Limits | None = None) -> None:
        self.path = path
        self.where = str(path.name)
        limits = limits or Limits.from_env()
        try:
            info = os.stat(path)
        except OSError as exc:
            raise ArchiveRefused(f"cannot read {path}: {exc.strerror or exc}") from None
        if not stat.S_ISREG(info.st_mode):
            raise ArchiveRefused(f"{path} is not a regular file")
        self._size = info.st_size
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            raise ArchiveRefused(f"{self.where} is not a readable zip archive ({exc}): rebuild it") from None
        try:
            self.members = self._check(limits)
        except BaseException:
            self._zip.close()
            raise
        self._by_name = {m.name: m for m in self.members}
        self._lock = threading.Lock()

    def _check(self, limits: Limits) -> tuple[WheelMember, ...]:
        infos = self._zip.infolist()
        limits.check_count(len(infos), self.where)
        names = NameSet(self.where)
        members: list[WheelMember] = []
        total = 0
        spans: list[tuple[int, int, str]] = []
        for index, info in enumerate(infos):
            unix = info.external_attr >> 16
            kind = stat.S_IFMT(unix)
            is_dir = info.filename.endswith("/")
            if kind == stat.S_IFLNK:
                raise ArchiveRefused(
                    f"{self.where}: member {info.filename!r} is a symlink: wheels hold only regular files"
                )
            if kind not in (0, stat.S_IFREG, stat.S_IFDIR) or (kind == stat.S_IFDIR and not is_dir):
                raise ArchiveRefused(
                    f"{self.where}: member {info.filename!r} is not a regular file: refusing the wheel"
                )
            if not info.flag_bits & 0x800 and not info.filename.isascii():
                raise ArchiveRefused(
                    f"{self.where}: member name {info.filename!r} is not marked UTF-8: refusing the wheel"
                )
            path = names.check(info.filename, is_dir=is_dir)
            if info.flag_bits & 0x1:
                raise ArchiveRefused(f"{self.where}: member {info.filename!r} is encrypted: refusing the wheel")
            if info.compress_type not in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED):
                raise ArchiveRefused(
                    f"{self.where}: member {info.filename!r} uses compression method {info.compress_type} "
                    "(wheels use deflate or stored): refusing the wheel"
                )
            total += info.file_size
            limits.check_bytes(total, self.where, info.filename)
            if info.header_offset < 0 or info.header_offset + 30 + info.compress_size > self._size:
                raise ArchiveRefused(f"{self.where}: member {info.filename!r} lies outside the file: rebuild it")
            spans.append(
                (
                    info.header_offset,
                    info.header_offset + 30 + len(info.orig_filename) + info.compress_size,
                    info.filename,
                )
            )
            members.append(
                WheelMember(
                    index,
                    str(path) + ("/" if is_dir else ""),
                    is_dir,
                    info.file_size,
                    stat.S_IMODE(unix),
                    info.CRC,
                    info.compress_size,
                    info.compress_type,
                )
            )
        spans.sort()
        for (_, end, name), (start, _, other) in itertools.pairwise(spans):
            if start < end:
                raise ArchiveRefused(
                    f"{self.where}: members {name!r} and {other!r} overlap (a zip bomb?): refusing the wheel"
                )
        return tuple(members)

    def __enter__(self) -> WheelArchive:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    def files(self) -> Iterator[WheelMember]:
        return (m for m in self.members if not m.is_dir)

    def get(self, name: str) -> WheelMember | None:
        return self._by_name.get(name)

    def _member(self, member: WheelMember | str) -> WheelMember:
        if isinstance(member, WheelMember):
            return member
        found = self._by_name.get(member)
        if found is None:
            raise ArchiveRefused(f"{self.where} has no member {member!r}: rebuild it")
        return found

    def _read_at(self, offset: int, into: memoryview) -> int:
        """Fill ``into`` from ``offset`` of the file; the byte count read (short at the end of the file).

        One lock per archive keeps seek and read together, so several threads may read members of one
        wheel at once (``verify`` schedules members, not wheels, on its pool).
        """
        fp = cast("io.BufferedIOBase", self._zip.fp)
        done = 0
        with self._lock:
            fp.seek(offset)
            while done < len(into) and (count := fp.readinto(into[done:])):
                done += count
        return done

    def _data_offset(self, member: WheelMember) -> int:
        """Where ``member``'s compressed bytes start, after checking its local header against the
        central directory (magic and name)."""
        info = self._zip.infolist()[member.index]
        where = f"{self.where}:{member.name}"
        name = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
        header = bytearray(_LOCAL_HEADER.size + len(name))
        if self._read_at(info.header_offset, memoryview(header)) < _LOCAL_HEADER.size:
            raise ArchiveRefused(f"{where}: the local header is cut short: rebuild the wheel")
        fields = _LOCAL_HEADER.unpack_from(header)
        if fields[0] != _LOCAL_MAGIC:
            raise ArchiveRefused(f"{where}: bad local header: rebuild the wheel")
        name_len, extra_len = fields[9], fields[10]
        if name_len != len(name) or header[_LOCAL_HEADER.size :] != name:
            raise ArchiveRefused(f"{where}: the local header names another file: refusing the wheel")
        return int(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)

    def raw(self, member: WheelMember | str, into: bytearray | None = None) -> memoryview:
        """``member``'s compressed bytes (its local header checked), read into ``into`` when it is large
        enough, else into a new buffer.

        A caller that reads many large members hands the same ``into`` every time: a fresh 130 MB buffer
        per member costs more in page faults than reading the data into it does.
        """
        member = self._member(member)
        offset = self._data_offset(member)
        size = member.compressed_size
        buffer = into if into is not None and len(into) >= size else bytearray(size)
        view = memoryview(buffer)[:size]
        if self._read_at(offset, view) != size:
            raise ArchiveRefused(f"{self.where}:{member.name}: member data is cut short: rebuild the wheel")
        return view

    def same_raw(self, member: WheelMember, raw: bytes | bytearray, size: int) -> bool:
        """Whether ``member``'s compressed bytes (its local header checked) equal ``raw[:size]``.

        Read in pieces of :data:`_COMPARE_CHUNK` bytes and compared as they come (``startswith`` at an offset is
        a ``memcmp``), so proving two 130 MB members equal costs neither a second large buffer nor a hash.
        """
        if member.compressed_size != size:
            return False
        offset = self._data_offset(member)
        piece = bytearray(min(_COMPARE_CHUNK, max(size, 1)))
        done = 0
        while done < size:
            view = memoryview(piece)[: min(len(piece), size - done)]
            count = self._read_at(offset + done, view)
            if count != len(view) or not raw.startswith(view, done, done + count):
                return False
            done += count
        return True

    def inflate(self, member: WheelMember | str, raw: memoryview | bytes) -> bytes | bytearray:
        """``member``'s bytes from its compressed bytes ``raw`` (:meth:`raw`): inflated with libdeflate and
        checked against its CRC-32 and size. A new buffer: ``raw`` may be reused afterwards."""
        member = self._member(member)
        where = f"{self.where}:{member.name}"
        if member.method == zipfile.ZIP_STORED:
            if member.compressed_size != member.size:
                raise ArchiveRefused(f"{where}: stored member sizes disagree: rebuild the wheel")
            data: bytes | bytearray = bytes(raw)
        else:
            try:
                if member.size < _SMALL:  # libdeflate wants a non-empty output buffer
                    # at most one byte past the declared size: a member that inflates to more (a bomb
                    # declaring 10 bytes) stops there and fails the size check, never filling memory
                    data = zlib.decompressobj(-15).decompress(raw, member.size + 1)
                else:
                    data = deflate.deflate_decompress(raw, member.size)
            except (deflate.DeflateError, zlib.error):
                raise ArchiveRefused(f"{where}: corrupt DEFLATE data or wrong size: rebuild the wheel") from None
        # libdeflate's CRC-32 (carry-less multiply) is much faster than zlib's (docs/performance.md)
        if len(data) != member.size or deflate.crc32(data) != member.crc32:
            raise ArchiveRefused(f"{where}: CRC-32 or size mismatch: the wheel is corrupt; rebuild it")
        return data

    def read(self, member: WheelMember | str) -> bytes | bytearray:
        """The bytes of one member, inflated with libdeflate and checked against its CRC-32 and size."""
        member = self._member(member)
        return self.inflate(member, self.raw(member))

    def extract(self, scratch_parent: Path, select: Callable[[WheelMember], PurePosixPath | None]) -> Path:
        """Write the members ``select`` maps to a relative path into a new directory inside ``scratch_parent``.

        Only checked names are used (``select`` gets members whose names passed), so nothing lands
        outside the returned directory. Exec bits are kept.
        """
        root = Path(tempfile.mkdtemp(dir=scratch_parent, prefix=".wheel-"))
        try:
            for member in self.files():
                relative = select(member)
                if relative is None:
                    continue
                target = root.joinpath(*relative.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                data = self.read(member)
                fd = os.open(target, NEW_FILE, 0o755 if member.mode & 0o111 else 0o644)
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return root
