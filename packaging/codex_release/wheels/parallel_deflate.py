"""Raw DEFLATE of whole files on every core, plus their CRC-32 and SHA-256, for the wheel writer.

Speed comes from libdeflate (PyPI ``deflate``), several times faster than zlib at level 6 (hatchling's
level) at about the same ratio; both release the GIL, so plain threads use every core.

A file is planned from its own size alone. Files of at least :data:`MIN_SPLIT_SIZE` (in a platform
package only the Codex executable, the critical path) get the fastest level that keeps the wheel no
larger than hatchling's, level 5; every other file gets level 6, which runs in the shadow of the
largest one on the other core and wins back what level 5 loses; files under 64 KiB get zlib 6 itself,
so their bytes are exactly hatchling's. The measurements behind these levels are in
docs/performance.md ("Compression levels").

libdeflate only compresses a whole buffer into a *final* DEFLATE stream, so the largest file alone
would keep one core busy long after the others ran dry. It is therefore split: a head, compressed by
zlib 6 in pieces that each end with a sync flush (a byte-aligned, non-final empty stored block, as
pigz does), and a tail compressed by libdeflate, whose final block ends the stream. A DEFLATE stream
is any run of non-final blocks followed by a final one, so head pieces and tail concatenate into one
valid stream. Each zlib piece is primed with the 32 KiB before it (``zdict``), so the cut costs only
a few bytes. The head is sized so that both workers finish at about the same time, from the
measured cost of each codec per byte (``*_COST``, relative to libdeflate level 5) and the share the
rest of a wheel has next to its largest file (:data:`OTHER_SHARE`, 0.25 to 0.32 in the six packages).

The cut depends on the file's size alone, never on the machine or on the other files: it is planned
for ``PLAN_WORKERS`` (two, the size of the release machines) whatever the pool size, so the bytes are
the same on every host that has the same libdeflate (pinned through the ``deflate`` package) and zlib
(the library hatchling's own wheels depend on), and the executable can be compressed while the rest
of its package is still being unpacked (:meth:`MemberCache.file_written`).

A :class:`MemberCache` carries what one staging run already knows about its files, keyed by file
identity (:func:`codex_release.file_digests.file_key`: device, inode, size, mtime): the CRC-32 and SHA-256
the archive reader took while it wrote them (so they are not read and hashed again); the compression of
each split-size file, started the moment the reader wrote it; and, when asked to keep them, the
compressed members of one wheel, which a second wheel of hard links to the same files (the lean aarch64
variant) reuses byte for byte instead of compressing them again.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import threading
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import deflate

from codex_release.file_digests import Digests, FileKey, file_key
from codex_release.wheels.zip_writer import Chunk

__all__ = [
    "LIBDEFLATE_LEVEL",
    "OTHER_LEVEL",
    "DeflatedFile",
    "MemberCache",
    "PendingFile",
    "Piece",
    "default_workers",
    "deflate_files",
    "deflate_small",
    "plan_file",
    "plan_pieces",
]

LIBDEFLATE_LEVEL = 5
"""libdeflate level of the tail of a split file, the critical path (see the module docstring)."""
OTHER_LEVEL = 6
"""libdeflate level of every file from ``SMALL_FILE_SIZE`` up to ``MIN_SPLIT_SIZE`` bytes."""
ZLIB_LEVEL = 6
"""zlib level of small files and of the head pieces of the largest file: hatchling's level."""
ZLIB_COST = 3.5
"""CPU time per byte of zlib 6 relative to libdeflate 5 (measured: 3.0 to 3.7)."""
OTHER_COST = 1.2
"""CPU time per byte of libdeflate 6 relative to libdeflate 5 (measured: 1.1 to 1.2)."""
HASH_COST = 0.12
"""CPU time per byte of reading + SHA-256 + CRC-32 relative to libdeflate 5."""
OTHER_SHARE = 0.27
"""The rest of a wheel's payload next to its largest file (0.25 to 0.32 in the six platform packages)."""
PLAN_WORKERS = 2
"""How many workers the cut of a split file is balanced for (fixed, so the output is too)."""
MIN_SPLIT_SIZE = 128 * 1024 * 1024
"""Files from this size on are split (head and tail) and get the tail level; in a platform package only
the Codex executable is this large."""
HEAD_PIECE_SIZE = 16 * 1024 * 1024
SMALL_FILE_SIZE = 64 * 1024
_WINDOW = 32 * 1024
_READ_SIZE = 8 * 1024 * 1024

Codec = Literal["zlib", "zlib-sync", "libdeflate"]


@dataclass(frozen=True)
class Piece:
    """Bytes ``[start, end)`` of a file and how they are compressed.

    ``zlib-sync`` pieces end with a sync flush and continue into the next piece; ``zlib`` (a whole
    small file) and ``libdeflate`` pieces end the stream.
    """

    start: int
    end: int
    codec: Codec
    level: int

    @property
    def final(self) -> bool:
        return self.codec != "zlib-sync"

    @property
    def cost(self) -> float:
        size = self.end - self.start
        if self.codec != "libdeflate":
            return size * ZLIB_COST
        return size * (1.0 if self.level <= LIBDEFLATE_LEVEL else OTHER_COST)


def plan_file(size: int, *, tail_level: int = LIBDEFLATE_LEVEL, workers: int = PLAN_WORKERS) -> list[Piece]:
    """How a file of ``size`` bytes is compressed, from its size alone (see the module docstring).

    With ``W`` workers, the rest of the wheel costing ``T = OTHER_SHARE * OTHER_COST * N`` and a file of
    ``N`` bytes whose first ``N - L`` bytes go to zlib, the total work is ``T + L + ZLIB_COST * (N - L)``;
    the makespan is smallest when the libdeflate tail ``L`` is an even share of it.
    """
    if size < SMALL_FILE_SIZE:
        return [Piece(0, size, "zlib", ZLIB_LEVEL)]
    if size < MIN_SPLIT_SIZE:
        return [Piece(0, size, "libdeflate", OTHER_LEVEL)]
    tail = [Piece(0, size, "libdeflate", tail_level)]
    if workers < 2:
        return tail
    other = OTHER_SHARE * OTHER_COST * size
    head = int(size - (other + ZLIB_COST * size) / (workers - 1 + ZLIB_COST))
    if head < HEAD_PIECE_SIZE // 4:
        return tail
    count = math.ceil(head / HEAD_PIECE_SIZE)
    bounds = [head * i // count for i in range(count + 1)]
    plan = [Piece(a, b, "zlib-sync", ZLIB_LEVEL) for a, b in itertools.pairwise(bounds)]
    plan.append(Piece(head, size, "libdeflate", tail_level))
    return plan


def plan_pieces(
    sizes: Sequence[int], *, tail_level: int = LIBDEFLATE_LEVEL, workers: int = PLAN_WORKERS
) -> list[list[Piece]]:
    """:func:`plan_file` for each size."""
    return [plan_file(size, tail_level=tail_level, workers=workers) for size in sizes]


@dataclass(frozen=True)
class DeflatedFile:
    """One file, compressed: its raw DEFLATE stream is ``b"".join(chunks)``."""

    size: int
    crc32: int
    sha256: bytes
    chunks: tuple[Chunk, ...]


class PendingFile:
    """The futures of one file's pieces and digests; :meth:`result` waits for all of them."""

    def __init__(
        self,
        size: int,
        pieces: list[Future[Chunk]],
        digests: Future[tuple[int, bytes]] | Digests,
        *,
        key: FileKey | None = None,
        done: DeflatedFile | None = None,
    ):
        self.size = size
        self.key = key
        self._pieces = pieces
        self._digests = digests
        self._done = done

    def result(self) -> DeflatedFile:
        if self._done is None:
            if isinstance(self._digests, Digests):
                crc, sha = self._digests.crc32, self._digests.sha256
            else:
                crc, sha = self._digests.result()
            self._done = DeflatedFile(self.size, crc, sha, tuple(piece.result() for piece in self._pieces))
        return self._done


@dataclass
class _Prefetched:
    level: int
    pieces: list[Future[Chunk]]


class MemberCache:
    """What one staging run knows about its files, by file identity (see the module docstring).

    It owns the pool every wheel of the run compresses on (``workers`` threads, default: the usable
    CPUs) and the descriptors of files compressed early; use it as a context manager. On exit after an
    error, queued work is dropped; a running libdeflate call cannot be interrupted and ends in the
    background.
    """

    def __init__(self, *, workers: int | None = None, prefetch: bool = True) -> None:
        self.workers = default_workers() if workers is None else workers
        self.prefetch = prefetch
        """Whether :meth:`file_written` starts compressing split-size files (only worth it when a wheel follows)."""
        self.digests: dict[FileKey, Digests] = {}
        """CRC-32 and SHA-256 taken when the files were written."""
        self.deflated: dict[FileKey, DeflatedFile] = {}
        """Compressed members kept for reuse (only with ``keep_deflated``: they hold a whole wheel in memory)."""
        self.keep_deflated = False
        self._prefetched: dict[FileKey, _Prefetched] = {}
        self._executor: ThreadPoolExecutor | None = None

    @property
    def executor(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="wheel-deflate")
        return self._executor

    def __enter__(self) -> MemberCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop queued work (each early descriptor closes once its last piece is done or dropped)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def known_digests(self, key: FileKey | None) -> Digests | None:
        if key is None:
            return None
        if key in self.deflated:
            done = self.deflated[key]
            return Digests(done.crc32, done.sha256)
        return self.digests.get(key)

    def file_written(self, path: Path, key: FileKey | None, size: int, digests: Digests) -> None:
        """Record a file the archive reader just wrote; start compressing it if it is split-size.

        The early start reads the file through a descriptor opened now (``os.pread``, so the reader may
        still move it into place); where the OS has no ``pread`` (Windows) the wheel writer compresses it
        later. The bytes are the same either way: the plan depends on the size alone.
        """
        if key is None:
            return
        self.digests[key] = digests
        if not self.prefetch or size < MIN_SPLIT_SIZE or not hasattr(os, "pread"):
            return
        plan = plan_file(size)
        fd = os.open(path, os.O_RDONLY)
        left = [len(plan)]
        lock = threading.Lock()

        def release(_: Future[Chunk]) -> None:  # runs when a piece is done, failed or dropped
            with lock:
                left[0] -= 1
                last = left[0] == 0
            if last:
                os.close(fd)

        futures: dict[int, Future[Chunk]] = {}
        try:
            for j in sorted(range(len(plan)), key=lambda j: -plan[j].cost):  # costliest first
                futures[j] = self.executor.submit(_compress, fd, plan[j], None)
        except BaseException:
            for future in futures.values():
                future.cancel()
            left[0] -= len(plan) - len(futures)
            if not futures:
                os.close(fd)
            raise
        finally:
            for future in futures.values():
                future.add_done_callback(release)
        self._prefetched[key] = _Prefetched(LIBDEFLATE_LEVEL, [futures[j] for j in range(len(plan))])

    def prefetched(self, key: FileKey | None, level: int) -> list[Future[Chunk]] | None:
        """The pieces of a file compressed early with tail level ``level``, if any."""
        found = self._prefetched.get(key) if key is not None else None
        return found.pieces if found is not None and found.level == level else None

    def remember(self, pending: PendingFile, done: DeflatedFile) -> None:
        """Keep a member just written, if this cache keeps members."""
        if self.keep_deflated and pending.key is not None:
            self.deflated[pending.key] = done


def default_workers() -> int:
    """The CPUs this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


Source = Path | int
"""A file to compress: its path, or a descriptor read with ``os.pread`` (POSIX)."""


def _read_range(source: Source, start: int, end: int) -> bytes:
    if isinstance(source, int):
        parts: list[bytes] = []
        offset = start
        while offset < end and (part := os.pread(source, end - offset, offset)):
            parts.append(part)
            offset += len(part)
        data = b"".join(parts) if len(parts) != 1 else parts[0]
    else:
        with source.open("rb") as stream:
            stream.seek(start)
            data = stream.read(end - start)
    if len(data) != end - start:
        raise OSError(f"{source} changed while the wheel was being written (expected {end} bytes)")
    return data


def _compress(path: Source, piece: Piece, on_progress: Callable[[int], None] | None) -> Chunk:
    result = _deflate(path, piece)
    if on_progress is not None:
        on_progress(piece.end - piece.start)
    return result


def deflate_small(data: bytes) -> bytes:
    """A whole small file as zlib level 6 compresses it (exactly hatchling's bytes for that member)."""
    compressor = zlib.compressobj(ZLIB_LEVEL, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def _deflate(path: Source, piece: Piece) -> Chunk:
    if piece.codec == "zlib":
        return deflate_small(_read_range(path, piece.start, piece.end))
    if piece.codec == "libdeflate":
        compressed: Chunk = deflate.deflate_compress(_read_range(path, piece.start, piece.end), piece.level)
        return compressed
    primed = max(0, piece.start - _WINDOW)
    data = _read_range(path, primed, piece.end)
    view = memoryview(data)
    if piece.start > primed:
        compressor = zlib.compressobj(piece.level, zlib.DEFLATED, -15, zdict=view[: piece.start - primed])
    else:
        compressor = zlib.compressobj(piece.level, zlib.DEFLATED, -15)
    return compressor.compress(view[piece.start - primed :]) + compressor.flush(zlib.Z_SYNC_FLUSH)


def _digests(path: Path, size: int) -> tuple[int, bytes]:
    crc, sha, total = 0, hashlib.sha256(), 0
    with path.open("rb") as stream:
        while block := stream.read(_READ_SIZE):
            crc = zlib.crc32(block, crc)
            sha.update(block)
            total += len(block)
    if total != size:
        raise OSError(f"{path} changed while the wheel was being written ({total} bytes, expected {size})")
    return crc, sha.digest()


def deflate_files(
    executor: Executor,
    files: Sequence[tuple[Path, int]],
    *,
    level: int = LIBDEFLATE_LEVEL,
    on_progress: Callable[[int], None] | None = None,
    cache: MemberCache | None = None,
) -> list[PendingFile]:
    """Start compressing and hashing ``files`` (path, size) on ``executor``; results come back in order.

    Tasks are submitted costliest first, so the pool runs them as a longest-processing-time
    schedule; how files are cut does not depend on the pool (see the module docstring). Each task
    reads only its own bytes, so memory holds at most one piece per worker plus the compressed
    output not yet written.

    With a ``cache``, a file whose compressed member it holds, or whose compression it started early,
    is not compressed again, and a file whose digests it knows is not hashed again. A member's bytes
    never depend on what the cache held.
    """
    keys = [file_key(path) if cache is not None else None for path, _ in files]
    reused = [cache.deflated.get(key) if cache is not None and key is not None else None for key in keys]
    early = [cache.prefetched(key, level) if cache is not None else None for key in keys]
    known = [cache.known_digests(key) if cache is not None else None for key in keys]
    plans = [plan_file(size, tail_level=level) for _, size in files]
    # (cost, file index, piece index or -1 for the digests of the file)
    tasks = [
        (piece.cost, i, j)
        for i, plan in enumerate(plans)
        if reused[i] is None and early[i] is None
        for j, piece in enumerate(plan)
    ]
    tasks += [(size * HASH_COST, i, -1) for i, (_, size) in enumerate(files) if known[i] is None]
    tasks.sort(key=lambda task: (-task[0], task[1], task[2]))
    pieces: dict[tuple[int, int], Future[Chunk]] = {}
    digests: dict[int, Future[tuple[int, bytes]] | Digests] = {
        i: digest for i, digest in enumerate(known) if digest is not None
    }
    for _, i, j in tasks:
        path, size = files[i]
        if j < 0:
            digests[i] = executor.submit(_digests, path, size)
        else:
            pieces[i, j] = executor.submit(_compress, path, plans[i][j], on_progress)
    pending: list[PendingFile] = []
    for i, (_, size) in enumerate(files):
        if reused[i] is not None or early[i] is not None:
            if on_progress is not None:
                on_progress(size)
            pending.append(PendingFile(size, early[i] or [], digests[i], key=keys[i], done=reused[i]))
        else:
            own = [pieces[i, j] for j in range(len(plans[i]))]
            pending.append(PendingFile(size, own, digests[i], key=keys[i]))
    return pending
