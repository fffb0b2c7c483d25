"""The one reader of untrusted archives: gzip'd tarballs (Codex platform packages, sdists) and wheels.

Every archive the toolkit opens is untrusted (a download, a file someone points us at, a wheel about to
be published), so every one goes through this module, which promises:

* **Names** are checked before anything is written: relative, no ``..``, no backslash, no drive or
  ``C:`` tricks, valid UTF-8, at most :data:`MAX_COMPONENT` bytes per component and :data:`MAX_NAME` in
  all, unique also case-insensitively (the wheels install on macOS and Windows), and never a file and a
  directory of one name. Only regular files and directories: links, devices, FIFOs, sparse members are
  refused.
* **Bounded expansion**: the member count and the total unpacked size are capped (:class:`Limits`,
  defaults a few times the largest real package, overridable through ``CODEX_RELEASE_MAX_UNPACKED`` and
  ``CODEX_RELEASE_MAX_MEMBERS``). Declared sizes are checked before a member is written, and the bytes
  are counted while they are written.
* **Checksums**: a gzip stream is read to its very end, its CRC-32 and length trailer checked, and
  anything after it (or non-zero bytes after the tar end marker) refused. A wheel member's bytes are
  checked against its CRC-32 and size.
* **Writes** go only below a directory the reader created itself, to paths built from checked names, with
  ``O_EXCL | O_NOFOLLOW``: nothing is ever written to a path taken from a member name as it stands.

Libraries, and why some hand-written code:

* :mod:`tarfile` parses the tar headers (ustar, GNU and pax long names included), in stream mode so the
  archive is read once. Its gzip layer is not used: when tarfile stops at the end-of-archive blocks it
  never reads the gzip trailer, so a flipped byte in a member went unnoticed. :class:`_CheckedGzip` feeds
  it through :func:`zlib.decompressobj` (which checks CRC-32 and ISIZE itself once the stream's end is
  reached) and :func:`extract_tgz` drains the stream to its end afterwards.
* :mod:`zipfile` parses a wheel's central directory. Member data is located from the local header and
  inflated with libdeflate (the ``deflate`` package, already used by the wheel writer), three to four times
  faster than :mod:`zipfile`'s zlib; the CRC-32 and size are checked here. This is what makes ``verify``
  of a whole release take seconds.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import shutil
import stat
import struct
import tarfile
import tempfile
import unicodedata
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import BinaryIO

import deflate

from codex_release.errors import ReleaseError

__all__ = [
    "MAX_COMPONENT",
    "MAX_NAME",
    "ExtractedTree",
    "Limits",
    "NameSet",
    "WheelArchive",
    "WheelMember",
    "extract_tgz",
]

MAX_COMPONENT = 255
"""Bytes per path component (the limit of every common file system)."""
MAX_NAME = 1024
"""Bytes per member name."""

_GIB = 1 << 30
_DEFAULT_MAX_BYTES = 4 * _GIB
_DEFAULT_MAX_MEMBERS = 10_000
_MAX_BYTES_ENV = "CODEX_RELEASE_MAX_UNPACKED"
_MAX_MEMBERS_ENV = "CODEX_RELEASE_MAX_MEMBERS"
_CHUNK = 1 << 20
_SMALL = 1 << 16
_SIZE_RE = re.compile(r"^\s*(\d{1,15})\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)


def _parse_size(text: str, variable: str) -> int:
    match = _SIZE_RE.match(text)
    if match is None:
        raise ReleaseError(f"{variable}={text!r} is not a size: use bytes or a number with K, M, G or T (e.g. 8G)")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


@dataclass(frozen=True)
class Limits:
    """How much one archive may unpack to.

    The defaults are a few times the largest real Codex platform package (0.47 GB in under 50 members)
    and far above the SDK's distributions. ``CODEX_RELEASE_MAX_UNPACKED`` (bytes, or e.g. ``8G``) and
    ``CODEX_RELEASE_MAX_MEMBERS`` override them (see :meth:`from_env`).
    """

    max_bytes: int = _DEFAULT_MAX_BYTES
    max_members: int = _DEFAULT_MAX_MEMBERS

    @classmethod
    def from_env(cls) -> Limits:
        """The defaults, overridden by ``CODEX_RELEASE_MAX_UNPACKED`` / ``CODEX_RELEASE_MAX_MEMBERS``."""
        max_bytes = _DEFAULT_MAX_BYTES
        max_members = _DEFAULT_MAX_MEMBERS
        if raw := os.environ.get(_MAX_BYTES_ENV):
            max_bytes = _parse_size(raw, _MAX_BYTES_ENV)
        if raw := os.environ.get(_MAX_MEMBERS_ENV):
            max_members = _parse_size(raw, _MAX_MEMBERS_ENV)
        return cls(max_bytes, max_members)

    def check_count(self, count: int, where: str) -> None:
        if count > self.max_members:
            raise ReleaseError(
                f"{where} holds more than {self.max_members} members: refusing it (raise the cap with "
                f"{_MAX_MEMBERS_ENV} if it is genuine)"
            )

    def check_bytes(self, total: int, where: str, member: str) -> None:
        if total > self.max_bytes:
            raise ReleaseError(
                f"{where}: member {member!r} brings the unpacked size above the cap of {self.max_bytes} bytes: "
                f"refusing the archive (raise the cap with {_MAX_BYTES_ENV}, e.g. 8G, if it is genuine)"
            )


def _fold(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


@dataclass
class NameSet:
    """Checks member names one by one: syntax, length, uniqueness (also case-insensitive), file/dir clashes."""

    where: str
    files: dict[str, str] = field(default_factory=dict)
    """case-folded name -> name, for regular files"""
    dirs: dict[str, str] = field(default_factory=dict)
    """case-folded name -> name, for directories (explicit or implied by a file below them)"""

    def check(self, raw: str, *, is_dir: bool = False) -> PurePosixPath:
        """Validate one member name and record it; return it as a relative path."""
        name = raw[:-1] if is_dir and raw.endswith("/") else raw
        path = self._syntax(name, raw)
        folded_parts = [_fold(part) for part in path.parts]
        for depth in range(1, len(folded_parts)):
            parent = "/".join(folded_parts[:depth])
            if parent in self.files:
                self._clash(self.files[parent])
            self.dirs.setdefault(parent, "/".join(path.parts[:depth]))
        key = "/".join(folded_parts)
        if is_dir:
            if key in self.files:
                self._clash(self.files[key])
            self.dirs.setdefault(key, str(path))
            return path
        if key in self.files:
            other = self.files[key]
            detail = (
                "twice" if other == str(path) else f"twice, as {other!r} and {str(path)!r} (names differ only in case)"
            )
            raise ReleaseError(f"{self.where} holds the member {str(path)!r} {detail}: refusing the archive")
        if key in self.dirs:
            self._clash(str(path))
        self.files[key] = str(path)
        return path

    def _clash(self, name: str) -> None:
        raise ReleaseError(f"{self.where} holds {name!r} both as a file and as a directory: refusing the archive")

    def _syntax(self, name: str, raw: str) -> PurePosixPath:
        def refuse(why: str) -> ReleaseError:
            shown = raw.encode("utf-8", "backslashreplace").decode("utf-8")
            if len(shown) > 80:
                shown = shown[:60] + "..." + shown[-12:]
            return ReleaseError(f"{self.where}: member name {shown!r} {why}: refusing the archive")

        try:
            encoded = name.encode("utf-8")
        except UnicodeEncodeError:
            raise refuse("is not valid UTF-8") from None
        if not name:
            raise refuse("is empty")
        if len(encoded) > MAX_NAME:
            raise refuse(f"is {len(encoded)} bytes long (at most {MAX_NAME})")
        if "\\" in name:
            raise refuse("holds a backslash")
        if "\0" in name or any(ord(c) < 32 for c in name):
            raise refuse("holds control characters")
        if name.startswith("/"):
            raise refuse("is absolute")
        parts = name.split("/")
        for part in parts:
            if part in ("", ".", ".."):
                raise refuse("holds an empty, '.' or '..' component")
            if len(part.encode("utf-8")) > MAX_COMPONENT:
                raise refuse(f"has a component longer than {MAX_COMPONENT} bytes")
            if ":" in part:
                raise refuse("holds a ':' (a drive letter or stream name on Windows)")
            if part.endswith((" ", ".")) or _WINDOWS_RESERVED.match(part):
                raise refuse("holds a component Windows cannot create")
        return PurePosixPath(*parts)


# ---------------------------------------------------------------------------------------------
# gzip'd tarballs
# ---------------------------------------------------------------------------------------------


class _HashingReader:
    """The raw archive file, hashed as it is read (the gzip reader reads it to its very end)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.sha512 = hashlib.sha512()

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.sha512.update(data)
        return data


class _CheckedGzip:
    """A read-only stream of the decompressed bytes of a gzip file, with the trailer checked.

    :func:`zlib.decompressobj` with ``wbits=31`` parses the gzip header and, at the end of the stream,
    checks the CRC-32 and the length itself (raising :class:`zlib.error`). :meth:`finish` reads the rest
    of the file and refuses a stream that did not end, or anything after it.
    """

    def __init__(self, raw: BinaryIO | _HashingReader, where: str) -> None:
        self._raw = raw
        self._where = where
        self._inflate = zlib.decompressobj(31)
        self._buffer = b""
        self._offset = 0
        self._recent: deque[bytes] = deque(maxlen=4)
        self.delivered = 0

    def _fail(self, why: str) -> ReleaseError:
        return ReleaseError(f"{self._where}: {why}: the file is corrupt or was tampered with; download it again")

    def _fill(self, wanted: int) -> None:
        while len(self._buffer) - self._offset < wanted:
            if self._inflate.unconsumed_tail:
                source = self._inflate.unconsumed_tail
            elif self._inflate.eof:
                if self._inflate.unused_data or self._raw.read(1):
                    raise self._fail("data after the end of the gzip stream")
                return
            else:
                source = self._raw.read(_CHUNK)
                if not source:
                    raise self._fail("the gzip stream is cut short (no CRC-32 and length trailer)")
            try:
                out = self._inflate.decompress(source, 4 * _CHUNK)
            except zlib.error as exc:
                raise self._fail(f"not a valid gzip stream ({exc})") from None
            self._buffer = self._buffer[self._offset :] + out
            self._offset = 0

    def read(self, size: int = -1) -> bytes:
        wanted = _CHUNK if size is None or size < 0 else size
        self._fill(wanted)
        data = self._buffer[self._offset : self._offset + wanted]
        self._offset += len(data)
        self._recent.append(data)
        self.delivered += len(data)
        return data

    def check_zeros_after(self, offset: int) -> None:
        """The bytes already delivered beyond ``offset`` (where the tar end marker starts) must be zeros.

        tarfile reads ahead into its own buffer, so they are checked here, from the last few reads kept.
        """
        extra = self.delivered - offset
        tail = b"".join(self._recent)
        if extra > len(tail):  # pragma: no cover - tarfile never reads that far ahead
            raise self._fail("tar end marker not found where expected")
        if extra > 0 and tail[len(tail) - extra :].count(0) != extra:
            raise self._fail("data after the end of the tar archive")

    def finish(self) -> None:
        """Read to the end of the gzip stream; anything but zero padding after the tar end is refused."""
        while True:
            data = self.read(_CHUNK)
            if not data:
                break
            if data.count(0) != len(data):
                raise self._fail("data after the end of the tar archive")
        # _fill raised if the stream did not end with a valid trailer or had data after it.


@dataclass(frozen=True)
class ExtractedTree:
    """What :func:`extract_tgz` wrote: ``root`` (created by the reader) and the member names below it."""

    root: Path
    files: tuple[PurePosixPath, ...]
    where: str
    sha512: str = ""
    """Hex SHA-512 of the archive file, every byte of it, taken in the same single pass that unpacked it
    (for an npm tarball: the registry's integrity hash, which the fetch step checked)."""

    def member(self, path: PurePosixPath) -> str:
        """How messages name a member: ``ARCHIVE:member``."""
        return f"{self.where}:{path}"


def _tar_kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return "symlink"
    if member.islnk():
        return "hard link"
    if member.isfifo():
        return "FIFO"
    if member.isdev():
        return "device"
    if member.issparse():
        return "sparse file"
    return f"special member (type {member.type!r})"


def _write_member(target: Path, source: BinaryIO, declared: int, executable: bool, where: str) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(target, flags, 0o755 if executable else 0o644)
    written = 0
    with os.fdopen(fd, "wb") as out:
        while chunk := source.read(min(_CHUNK, declared - written + 1)):
            written += len(chunk)
            if written > declared:
                raise ReleaseError(f"{where} holds more bytes than it declares: refusing the archive")
            out.write(chunk)
    if written != declared:
        raise ReleaseError(f"{where} is cut short ({written} of {declared} bytes): download it again")
    return written


def extract_tgz(
    archive: Path,
    scratch_parent: Path,
    *,
    limits: Limits | None = None,
    where: str | None = None,
) -> ExtractedTree:
    """Check and unpack the ``.tar.gz`` ``archive`` in one pass, into a new directory inside ``scratch_parent``.

    The new directory is removed again if anything is refused. Messages name ``where`` (default: the
    archive path) and the member.
    """
    limits = limits or Limits.from_env()
    label = where or str(archive)
    names = NameSet(label)
    root = Path(tempfile.mkdtemp(dir=scratch_parent, prefix=".unpack-"))
    files: list[PurePosixPath] = []
    total = 0
    count = 0
    try:
        try:
            raw = open(archive, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise ReleaseError(f"cannot read {label}: {exc.strerror or exc}") from None
        with raw:
            if not stat.S_ISREG(os.fstat(raw.fileno()).st_mode):
                raise ReleaseError(f"{label} is not a regular file")
            hashed = _HashingReader(raw)
            stream = _CheckedGzip(hashed, label)
            try:
                with tarfile.open(  # type: ignore[call-overload]
                    fileobj=stream,
                    mode="r|",
                    bufsize=_CHUNK,
                    encoding="utf-8",
                    errors="surrogateescape",
                ) as tar:
                    for member in tar:
                        count += 1
                        limits.check_count(count, label)
                        is_dir = member.isdir()
                        if not is_dir and member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
                            raise ReleaseError(
                                f"{label}: member {member.name!r} is a {_tar_kind(member)}: "
                                "platform packages hold only regular files and directories"
                            )
                        path = names.check(member.name, is_dir=is_dir)
                        target = root.joinpath(*path.parts)
                        if is_dir:
                            target.mkdir(parents=True, exist_ok=True)
                            continue
                        total += member.size
                        limits.check_bytes(total, label, str(path))
                        target.parent.mkdir(parents=True, exist_ok=True)
                        body = tar.extractfile(member)
                        assert body is not None  # regular members always have data
                        _write_member(target, body, member.size, bool(member.mode & 0o111), f"{label}:{path}")
                        files.append(path)
            except (tarfile.TarError, EOFError) as exc:
                raise ReleaseError(f"{label}: not a readable .tar.gz ({exc}): download it again") from None
            stream.check_zeros_after(tar.offset)
            stream.finish()
            digest = hashed.sha512.hexdigest()
    except OSError as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise ReleaseError(f"cannot unpack {label}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return ExtractedTree(root, tuple(files), label, digest)


# ---------------------------------------------------------------------------------------------
# wheels (zip)
# ---------------------------------------------------------------------------------------------

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
            raise ReleaseError(f"cannot read {path}: {exc.strerror or exc}") from None
        if not stat.S_ISREG(info.st_mode):
            raise ReleaseError(f"{path} is not a regular file")
        self._size = info.st_size
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            raise ReleaseError(f"{self.where} is not a readable zip archive ({exc}): rebuild it") from None
        try:
            self.members = self._check(limits)
        except BaseException:
            self._zip.close()
            raise
        self._by_name = {m.name: m for m in self.members}

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
                raise ReleaseError(
                    f"{self.where}: member {info.filename!r} is a symlink: wheels hold only regular files"
                )
            if kind not in (0, stat.S_IFREG, stat.S_IFDIR) or (kind == stat.S_IFDIR and not is_dir):
                raise ReleaseError(f"{self.where}: member {info.filename!r} is not a regular file: refusing the wheel")
            if not info.flag_bits & 0x800 and not info.filename.isascii():
                raise ReleaseError(
                    f"{self.where}: member name {info.filename!r} is not marked UTF-8: refusing the wheel"
                )
            path = names.check(info.filename, is_dir=is_dir)
            if info.flag_bits & 0x1:
                raise ReleaseError(f"{self.where}: member {info.filename!r} is encrypted: refusing the wheel")
            if info.compress_type not in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED):
                raise ReleaseError(
                    f"{self.where}: member {info.filename!r} uses compression method {info.compress_type} "
                    "(wheels use deflate or stored): refusing the wheel"
                )
            total += info.file_size
            limits.check_bytes(total, self.where, info.filename)
            if info.header_offset < 0 or info.header_offset + 30 + info.compress_size > self._size:
                raise ReleaseError(f"{self.where}: member {info.filename!r} lies outside the file: rebuild it")
            spans.append(
                (
                    info.header_offset,
                    info.header_offset + 30 + len(info.orig_filename) + info.compress_size,
                    info.filename,
                )
            )
            members.append(
                WheelMember(index, str(path) + ("/" if is_dir else ""), is_dir, info.file_size, stat.S_IMODE(unix))
            )
        spans.sort()
        for (_, end, name), (start, _, other) in itertools.pairwise(spans):
            if start < end:
                raise ReleaseError(
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

    def read(self, member: WheelMember | str) -> bytes | bytearray:
        """The bytes of one member, inflated with libdeflate and checked against its CRC-32 and size."""
        if isinstance(member, str):
            found = self._by_name.get(member)
            if found is None:
                raise ReleaseError(f"{self.where} has no member {member!r}: rebuild it")
            member = found
        info = self._zip.infolist()[member.index]
        where = f"{self.where}:{member.name}"
        fp = self._zip.fp
        assert fp is not None
        fp.seek(info.header_offset)
        header = fp.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size:
            raise ReleaseError(f"{where}: the local header is cut short: rebuild the wheel")
        fields = _LOCAL_HEADER.unpack(header)
        if fields[0] != _LOCAL_MAGIC:
            raise ReleaseError(f"{where}: bad local header: rebuild the wheel")
        name_len, extra_len = fields[9], fields[10]
        local_name = fp.read(name_len)
        if local_name != info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437"):
            raise ReleaseError(f"{where}: the local header names another file: refusing the wheel")
        fp.seek(extra_len, os.SEEK_CUR)
        raw = fp.read(info.compress_size)
        if len(raw) != info.compress_size:
            raise ReleaseError(f"{where}: member data is cut short: rebuild the wheel")
        if info.compress_type == zipfile.ZIP_STORED:
            if info.compress_size != info.file_size:
                raise ReleaseError(f"{where}: stored member sizes disagree: rebuild the wheel")
            data: bytes | bytearray = raw
        else:
            try:
                if info.file_size < _SMALL:  # libdeflate wants a non-empty output buffer
                    data = zlib.decompress(raw, -15, max(info.file_size, 1))
                else:
                    data = deflate.deflate_decompress(raw, info.file_size)
            except (deflate.DeflateError, zlib.error):
                raise ReleaseError(f"{where}: corrupt DEFLATE data or wrong size: rebuild the wheel") from None
        if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
            raise ReleaseError(f"{where}: CRC-32 or size mismatch: the wheel is corrupt; rebuild it")
        return data

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
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
                fd = os.open(target, flags, 0o755 if member.mode & 0o111 else 0o644)
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return root
