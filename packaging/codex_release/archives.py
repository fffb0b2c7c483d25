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

* :mod:`tarfile` parses the tar headers (ustar, GNU and pax long names included) from a forward-only
  stream, so the archive is read once. Its gzip layer is not used: when tarfile stops at the end-of-archive
  blocks it never reads the gzip trailer, so a flipped byte in a member went unnoticed. A thread of its own
  (:class:`_GzipPump`) reads, SHA-512-hashes and inflates the file with ISA-L (``isal``, twice zlib's speed;
  :mod:`zlib` where it has no wheels), which checks the CRC-32 and length trailer, and reads it to its very
  end, while the calling thread writes the members; member data goes from the inflated pieces straight to
  the files (:class:`_TarStream`), hashed on the way, so nothing is read twice.
* :mod:`zipfile` parses a wheel's central directory. Member data is located from the local header and
  inflated with libdeflate (the ``deflate`` package, already used by the wheel writer), three to four times
  faster than :mod:`zipfile`'s zlib; the CRC-32 (libdeflate's too, six times zlib's) and size are checked
  here. This is what makes ``verify`` of a whole release take seconds. Reads take a lock per archive, so
  threads may read members of one wheel at once, and a caller may hand in the buffer the compressed bytes
  go to (:meth:`WheelArchive.raw`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import os
import queue
import re
import shutil
import stat
import struct
import tarfile
import tempfile
import threading
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import BinaryIO, cast

import deflate

from codex_release.errors import ReleaseError
from codex_release.file_digests import Digests, FileKey, key_of

try:  # ISA-L inflates gzip twice as fast as zlib; it has no wheels for Windows on Arm, where zlib does it
    from isal import isal_zlib as _INFLATE
except ImportError:  # pragma: no cover - exercised by a test that hides isal
    _INFLATE = zlib  # type: ignore[misc]

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
_OUT_CHUNK = 4 << 20
_QUEUE_CHUNKS = 8
_SMALL = 1 << 16
_SIZE_RE = re.compile(r"^\s*(\d{1,15})\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
"""How every member file is created: a new file, never through a link."""


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


class _Stopped(Exception):
    """The reader gave up: the inflating thread ends without delivering more."""


class _GzipPump(threading.Thread):
    """Reads the archive file, hashes it (SHA-512) and inflates it, in a thread of its own.

    The inflater (ISA-L through ``isal`` where it has wheels, else :mod:`zlib`; both release the GIL)
    parses the gzip header and checks the CRC-32 and length trailer at the end of the stream itself.
    Output goes into a bounded queue in pieces of at most :data:`_OUT_CHUNK` bytes, so the thread is
    never more than :data:`_QUEUE_CHUNKS` pieces ahead of the reader, whatever the compression ratio.
    The last item is ``None`` (the stream ended with a valid trailer and nothing after it) or the
    :class:`ReleaseError` that stopped it.
    """

    def __init__(self, raw: BinaryIO, where: str) -> None:
        super().__init__(name="gzip-inflate", daemon=True)
        self._raw = raw
        self._where = where
        self.items: queue.Queue[bytes | ReleaseError | None] = queue.Queue(maxsize=_QUEUE_CHUNKS)
        self.sha512 = hashlib.sha512()
        self.stop = threading.Event()

    def fail(self, why: str) -> ReleaseError:
        return ReleaseError(f"{self._where}: {why}: the file is corrupt or was tampered with; download it again")

    def _put(self, item: bytes | ReleaseError | None) -> None:
        while not self.stop.is_set():
            try:
                self.items.put(item, timeout=0.05)
                return
            except queue.Full:
                continue
        raise _Stopped

    def run(self) -> None:
        try:
            self._pump()
        except _Stopped:
            return
        except ReleaseError as exc:
            item: ReleaseError | None = exc
        except OSError as exc:
            item = ReleaseError(f"cannot read {self._where}: {exc.strerror or exc}")
        else:
            item = None
        with contextlib.suppress(_Stopped):
            self._put(item)

    def _pump(self) -> None:
        module = _INFLATE
        inflate = module.decompressobj(31)
        errors = (zlib.error, cast("type[BaseException]", module.error))
        while source := self._raw.read(_CHUNK):
            self.sha512.update(source)
            if inflate.eof:
                raise self.fail("data after the end of the gzip stream")
            while source:
                try:
                    out = inflate.decompress(source, _OUT_CHUNK)
                except errors as exc:
                    if "check" in str(exc).lower():  # zlib: incorrect data/length check; ISA-L: checksum
                        raise self.fail("its CRC-32 or length trailer does not match the data") from None
                    raise self.fail(f"not a valid gzip stream ({exc})") from None
                source = inflate.unconsumed_tail
                if out:
                    self._put(out)
                if inflate.eof:
                    if inflate.unused_data or source:
                        raise self.fail("data after the end of the gzip stream")
                    break
        if not inflate.eof:
            raise self.fail("the gzip stream is cut short (no CRC-32 and length trailer)")


class _TarStream:
    """The decompressed tar stream as a forward-only file for :mod:`tarfile` (``r:`` mode), fed by a
    :class:`_GzipPump`.

    tarfile reads the headers through :meth:`read` and moves between them with :meth:`seek` (always
    forward); member data never goes through tarfile: :meth:`copy_to` writes it straight from the
    inflated pieces to the destination file, taking its CRC-32 and SHA-256 on the way.
    """

    def __init__(self, pump: _GzipPump) -> None:
        self._pump = pump
        self._piece = memoryview(b"")
        self._ended = False
        self.position = 0

    def _next_piece(self) -> bool:
        if self._ended:
            return False
        item = self._pump.items.get()
        if isinstance(item, ReleaseError):
            self._ended = True
            raise item
        if item is None:
            self._ended = True
            return False
        self._piece = memoryview(item)
        return True

    def _take(self, size: int) -> memoryview | None:
        """At most ``size`` bytes from the current piece (the next one if it is used up); None at the end."""
        while not self._piece:
            if not self._next_piece():
                return None
        taken = self._piece[:size]
        self._piece = self._piece[size:]
        self.position += len(taken)
        return taken

    def read(self, size: int = -1) -> bytes:
        wanted = _OUT_CHUNK if size is None or size < 0 else size
        parts: list[memoryview] = []
        while wanted > 0 and (part := self._take(wanted)) is not None:
            parts.append(part)
            wanted -= len(part)
        return b"".join(parts)

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        target = offset if whence == os.SEEK_SET else self.position + offset
        if whence not in (os.SEEK_SET, os.SEEK_CUR) or target < self.position:
            raise tarfile.ReadError("the archive refers back to data it has passed")
        while self.position < target and self._take(target - self.position) is not None:
            pass
        return self.position

    def copy_to(self, fd: int, size: int, where: str) -> Digests:
        """Write the next ``size`` bytes to ``fd``; their CRC-32 and SHA-256."""
        crc, sha, left = 0, hashlib.sha256(), size
        while left > 0:
            part = self._take(min(left, _OUT_CHUNK))
            if part is None:
                raise ReleaseError(f"{where} is cut short ({size - left} of {size} bytes): download it again")
            left -= len(part)
            crc = zlib.crc32(part, crc)
            sha.update(part)
            while part:
                part = part[os.write(fd, part) :]
        return Digests(crc, sha.digest())

    def finish(self) -> None:
        """Read to the end of the gzip stream: after the tar end marker only zero bytes may follow."""
        while (part := self._take(_OUT_CHUNK)) is not None:
            if part.nbytes != bytes(part).count(0):
                raise self._pump.fail("data after the end of the tar archive")


@dataclass(frozen=True)
class ExtractedTree:
    """What :func:`extract_tgz` wrote: ``root`` (created by the reader) and the member names below it."""

    root: Path
    files: tuple[PurePosixPath, ...]
    where: str
    sha512: str = ""
    """Hex SHA-512 of the archive file, every byte of it, taken in the same single pass that unpacked it
    (for an npm tarball: the registry's integrity hash, which the fetch step checked)."""
    digests: dict[FileKey, Digests] = field(default_factory=dict)
    """The CRC-32 and SHA-256 of every file written, by its identity (:func:`file_key`), taken while it
    was written: moving or hard-linking a file keeps it; any change to the file makes it miss."""

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


def _write_member(
    target: Path, stream: _TarStream, declared: int, executable: bool, where: str
) -> tuple[FileKey | None, Digests]:
    fd = os.open(target, _NEW_FILE, 0o755 if executable else 0o644)
    try:
        digests = stream.copy_to(fd, declared, where)
        key = key_of(os.fstat(fd))
    finally:
        os.close(fd)
    return key, digests


def extract_tgz(
    archive: Path,
    scratch_parent: Path,
    *,
    limits: Limits | None = None,
    where: str | None = None,
    on_file: Callable[[Path, FileKey | None, int, Digests], None] | None = None,
) -> ExtractedTree:
    """Check and unpack the ``.tar.gz`` ``archive`` in one pass, into a new directory inside ``scratch_parent``.

    The new directory is removed again if anything is refused. Messages name ``where`` (default: the
    archive path) and the member. ``on_file(path, key, size, digests)`` is called for each file as soon
    as it is written and closed (the archive may still be refused later).
    """
    limits = limits or Limits.from_env()
    label = where or str(archive)
    names = NameSet(label)
    root = Path(tempfile.mkdtemp(dir=scratch_parent, prefix=".unpack-"))
    files: list[PurePosixPath] = []
    digests: dict[FileKey, Digests] = {}
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
            pump = _GzipPump(raw, label)
            stream = _TarStream(pump)
            pump.start()
            try:
                try:
                    with tarfile.open(  # type: ignore[call-overload]
                        fileobj=stream, mode="r:", encoding="utf-8", errors="surrogateescape"
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
                            stream.seek(member.offset_data)
                            key, digest = _write_member(
                                target, stream, member.size, bool(member.mode & 0o111), f"{label}:{path}"
                            )
                            if key is not None:
                                digests[key] = digest
                            files.append(path)
                            if on_file is not None:
                                on_file(target, key, member.size, digest)
                except (tarfile.TarError, EOFError) as exc:
                    raise ReleaseError(f"{label}: not a readable .tar.gz ({exc}): download it again") from None
                stream.finish()
            finally:
                pump.stop.set()
                pump.join()
            digest_hex = pump.sha512.hexdigest()
    except OSError as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise ReleaseError(f"cannot unpack {label}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return ExtractedTree(root, tuple(files), label, digest_hex, digests)


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

    def _member(self, member: WheelMember | str) -> WheelMember:
        if isinstance(member, WheelMember):
            return member
        found = self._by_name.get(member)
        if found is None:
            raise ReleaseError(f"{self.where} has no member {member!r}: rebuild it")
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
            raise ReleaseError(f"{where}: the local header is cut short: rebuild the wheel")
        fields = _LOCAL_HEADER.unpack_from(header)
        if fields[0] != _LOCAL_MAGIC:
            raise ReleaseError(f"{where}: bad local header: rebuild the wheel")
        name_len, extra_len = fields[9], fields[10]
        if name_len != len(name) or header[_LOCAL_HEADER.size :] != name:
            raise ReleaseError(f"{where}: the local header names another file: refusing the wheel")
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
            raise ReleaseError(f"{self.where}:{member.name}: member data is cut short: rebuild the wheel")
        return view

    def same_raw(self, member: WheelMember, raw: bytes | bytearray, size: int) -> bool:
        """Whether ``member``'s compressed bytes (its local header checked) equal ``raw[:size]``.

        Read in pieces of :data:`_OUT_CHUNK` bytes and compared as they come (``startswith`` at an offset is
        a ``memcmp``), so proving two 130 MB members equal costs neither a second large buffer nor a hash.
        """
        if member.compressed_size != size:
            return False
        offset = self._data_offset(member)
        piece = bytearray(min(_OUT_CHUNK, max(size, 1)))
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
                raise ReleaseError(f"{where}: stored member sizes disagree: rebuild the wheel")
            data: bytes | bytearray = bytes(raw)
        else:
            try:
                if member.size < _SMALL:  # libdeflate wants a non-empty output buffer
                    data = zlib.decompress(raw, -15, max(member.size, 1))
                else:
                    data = deflate.deflate_decompress(raw, member.size)
            except (deflate.DeflateError, zlib.error):
                raise ReleaseError(f"{where}: corrupt DEFLATE data or wrong size: rebuild the wheel") from None
        # libdeflate's CRC-32 (carry-less multiply) is six times zlib's: 15 ms instead of 90 for the codex binary
        if len(data) != member.size or deflate.crc32(data) != member.crc32:
            raise ReleaseError(f"{where}: CRC-32 or size mismatch: the wheel is corrupt; rebuild it")
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
                fd = os.open(target, _NEW_FILE, 0o755 if member.mode & 0o111 else 0o644)
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return root
