"""The gzip'd tarball reader (Codex platform packages, sdists): :func:`extract_tgz`, one pass, checked as it goes.

Only regular files and directories are unpacked: links, devices, FIFOs and sparse members are refused.
The gzip stream is read to its very end, its CRC-32 and length trailer checked, and anything after it (or
non-zero bytes after the tar end marker) refused.

Libraries, and why some hand-written code: :mod:`tarfile` parses the tar headers (ustar, GNU and pax long
names included) from a forward-only stream, so the archive is read once. Its gzip layer is not used: when
tarfile stops at the end-of-archive blocks it never reads the gzip trailer, so a flipped byte in a member
went unnoticed. A thread of its own (:class:`_GzipPump`) reads, SHA-512-hashes and inflates the file with
ISA-L (``isal``, faster than zlib; :mod:`zlib` where it has no wheels), which checks the CRC-32 and length
trailer, and reads it to its very end, while the calling thread writes the members; member data goes from
the inflated pieces straight to the files (:class:`_TarStream`), hashed on the way, so nothing is read
twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import shutil
import stat
import tarfile
import tempfile
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO, cast

from codex_release.archives._limits import Limits
from codex_release.archives._names import NEW_FILE, NameSet
from codex_release.errors import ArchiveRefused, DestinationRefused, ReleaseError
from codex_release.file_digests import Digests, FileKey, key_of

try:  # ISA-L inflates gzip twice as fast as zlib; it has no wheels for Windows on Arm, where zlib does it
    from isal import isal_zlib as _INFLATE
except ImportError:  # pragma: no cover - exercised by a test that hides isal
    _INFLATE = zlib  # type: ignore[misc]

__all__ = ["ExtractedTree", "extract_tgz"]

_CHUNK = 1 << 20
_OUT_CHUNK = 4 << 20
_QUEUE_CHUNKS = 8


class _Stopped(Exception):
    """The reader gave up: the inflating thread ends without delivering more."""


class _GzipPump(threading.Thread):
    """Reads the archive file, hashes it (SHA-512) and inflates it, in a thread of its own.

    The inflater (ISA-L through ``isal`` where it has wheels, else :mod:`zlib`; both release the GIL)
    parses the gzip header and checks the CRC-32 and length trailer at the end of the stream itself.
    Output goes into a bounded queue in pieces of at most :data:`_OUT_CHUNK` bytes, so the thread is
    never more than :data:`_QUEUE_CHUNKS` pieces ahead of the reader, whatever the compression ratio.
    The last item is ``None`` (the stream ended with a valid trailer and nothing after it) or the
    exception that stopped it: a :class:`ReleaseError`, or anything else (a ``MemoryError``, a bug), which
    the reading thread re-raises as it is, so no failure of this thread can leave the reader waiting.
    """

    def __init__(self, raw: BinaryIO, where: str) -> None:
        super().__init__(name="gzip-inflate", daemon=True)
        self._raw = raw
        self._where = where
        self.items: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=_QUEUE_CHUNKS)
        self.sha512 = hashlib.sha512()
        self.stop = threading.Event()

    def fail(self, why: str) -> ArchiveRefused:
        return ArchiveRefused(f"{self._where}: {why}: the file is corrupt or was tampered with; download it again")

    def _put(self, item: bytes | BaseException | None) -> None:
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
            item: BaseException | None = exc
        except OSError as exc:
            item = ArchiveRefused(f"cannot read {self._where}: {exc.strerror or exc}")
        except BaseException as exc:  # handed to the reading thread, which raises it
            item = exc
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
        if isinstance(item, BaseException):
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
                raise ArchiveRefused(f"{where} is cut short ({size - left} of {size} bytes): download it again")
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
    """The CRC-32 and SHA-256 of every file written, by its identity
    (:func:`~codex_release.file_digests.file_key`), taken while it was written: moving or hard-linking a
    file keeps it; any change to the file makes it miss."""

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
    fd = os.open(target, NEW_FILE, 0o755 if executable else 0o644)
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
            raise ArchiveRefused(f"cannot read {label}: {exc.strerror or exc}") from None
        with raw:
            if not stat.S_ISREG(os.fstat(raw.fileno()).st_mode):
                raise ArchiveRefused(f"{label} is not a regular file")
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
                                raise ArchiveRefused(
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
                    raise ArchiveRefused(f"{label}: not a readable .tar.gz ({exc}): download it again") from None
                stream.finish()
            finally:
                pump.stop.set()
                pump.join()
            digest_hex = pump.sha512.hexdigest()
    except OSError as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise DestinationRefused(f"cannot unpack {label}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return ExtractedTree(root, tuple(files), label, digest_hex, digests)
