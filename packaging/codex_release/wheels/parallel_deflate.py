"""Raw DEFLATE of whole files on every core, plus their CRC-32 and SHA-256, for the wheel writer.

Speed comes from libdeflate (PyPI ``deflate``), which compresses the Codex executables three to four
times faster than zlib at level 6 (hatchling's level) at about the same ratio. Both libraries release
the GIL, so plain threads use every core.

Levels, chosen by measurement on the six 0.169.0 platform packages (payload without the voice
runtime; MB of compressed members):

=============  =======  ============  ============
package        zlib 6   libdeflate 5  libdeflate 6
=============  =======  ============  ============
linux-x64      147.41   147.36        146.44
linux-arm64    149.44   149.09        148.53
darwin-arm64   140.54   140.19        139.61
darwin-x64     152.47   152.15        151.34
win32-arm64    160.12   159.89        159.11
win32-x64      172.59   172.74        171.43
=============  =======  ============  ============

The largest file (``codex``, 80 % of the payload) is the critical path, so it gets the fastest level
that keeps the wheel no larger than hatchling's: level 5 (level 4 is 15 % faster but 2.8 MB larger on
linux-x64 alone; level 6 is 15-20 % slower). Level 5 everywhere would still lose to zlib on win32-x64
(``codex.exe`` +270 KB), so every other file gets level 6, which runs in the shadow of the largest
one on the other core and wins back more than that (-370 KB there). Files under 64 KiB get zlib 6
itself: nothing to gain, and then their bytes are exactly hatchling's.

libdeflate only compresses a whole buffer into a *final* DEFLATE stream, so the largest file alone
would keep one core busy long after the others ran dry. It is therefore split: a head, compressed by
zlib 6 in pieces that each end with a sync flush (a byte-aligned, non-final empty stored block, as
pigz does), and a tail compressed by libdeflate, whose final block ends the stream. A DEFLATE stream
is any run of non-final blocks followed by a final one, so head pieces and tail concatenate into one
valid stream. Each zlib piece is primed with the 32 KiB before it (``zdict``), so the cut costs only
a few bytes. The head is sized so that both workers finish at about the same time, from the
measured cost of each codec per byte (``*_COST``, relative to libdeflate level 5).

The cut depends on the file sizes alone, never on the machine: it is planned for ``PLAN_WORKERS``
(two, the size of the release machines) whatever the pool size, so the bytes are the same on every
host that has the same libdeflate (pinned through the ``deflate`` package) and zlib (the library
hatchling's own wheels depend on).

A :class:`MemberCache` carries what one staging run already knows about its files, keyed by file
identity (:func:`codex_release.archives.file_key`: device, inode, size, mtime): the CRC-32 and SHA-256
the archive reader took while it wrote them (so they are not read and hashed again), and, when asked to
keep them, the compressed members of one wheel, which a second wheel of hard links to the same files (the
lean aarch64 variant) reuses byte for byte instead of compressing them again.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import deflate

from codex_release.archives import Digests, FileKey, file_key
from codex_release.wheels.zip_writer import Chunk

__all__ = [
    "LIBDEFLATE_LEVEL",
    "OTHER_LEVEL",
    "DeflatedFile",
    "MemberCache",
    "PendingFile",
    "Piece",
    "deflate_files",
    "deflate_small",
    "plan_pieces",
]

LIBDEFLATE_LEVEL = 5
"""libdeflate level of the largest file, the critical path (see the module docstring)."""
OTHER_LEVEL = 6
"""libdeflate level of every other file of at least ``SMALL_FILE_SIZE`` bytes."""
ZLIB_LEVEL = 6
"""zlib level of small files and of the head pieces of the largest file: hatchling's level."""
ZLIB_COST = 3.5
"""CPU time per byte of zlib 6 relative to libdeflate 5 (measured: 3.0 to 3.7)."""
OTHER_COST = 1.2
"""CPU time per byte of libdeflate 6 relative to libdeflate 5 (measured: 1.1 to 1.2)."""
HASH_COST = 0.12
"""CPU time per byte of reading + SHA-256 + CRC-32 relative to libdeflate 5."""
PLAN_WORKERS = 2
"""How many workers the cut of the largest file is balanced for (fixed, so the output is too)."""
MIN_SPLIT_SIZE = 32 * 1024 * 1024
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


def plan_pieces(
    sizes: Sequence[int], *, tail_level: int = LIBDEFLATE_LEVEL, workers: int = PLAN_WORKERS
) -> list[list[Piece]]:
    """How each file is compressed: one piece each, except that the largest file may get a zlib head.

    With ``W`` workers, other work ``T`` and a largest file of ``N`` bytes whose first ``N - L`` bytes
    go to zlib, the total work is ``T + L + ZLIB_COST * (N - L)``; the makespan is smallest when the
    libdeflate tail ``L`` is an even share of it.
    """
    largest = max(range(len(sizes)), key=lambda i: sizes[i], default=-1)
    plans: list[list[Piece]] = []
    for index, size in enumerate(sizes):
        if size < SMALL_FILE_SIZE:
            plans.append([Piece(0, size, "zlib", ZLIB_LEVEL)])
        else:
            plans.append([Piece(0, size, "libdeflate", tail_level if index == largest else OTHER_LEVEL)])
    if workers < 2 or largest < 0 or sizes[largest] < MIN_SPLIT_SIZE:
        return plans
    n = sizes[largest]
    other = sum(piece.cost for i, plan in enumerate(plans) if i != largest for piece in plan)
    other += HASH_COST * sum(sizes)
    head = int(n - (other + ZLIB_COST * n) / (workers - 1 + ZLIB_COST))
    if head < HEAD_PIECE_SIZE // 4:
        return plans
    count = math.ceil(head / HEAD_PIECE_SIZE)
    bounds = [head * i // count for i in range(count + 1)]
    plans[largest] = [Piece(a, b, "zlib-sync", ZLIB_LEVEL) for a, b in itertools.pairwise(bounds)]
    plans[largest].append(Piece(head, n, "libdeflate", tail_level))
    return plans


@dataclass(frozen=True)
class DeflatedFile:
    """One file, compressed: its raw DEFLATE stream is ``b"".join(chunks)``."""

    size: int
    crc32: int
    sha256: bytes
    chunks: tuple[Chunk, ...]


@dataclass
class MemberCache:
    """What one staging run knows about its files, by file identity (see the module docstring).

    ``digests``: CRC-32 and SHA-256 taken when the files were written. ``deflated``: compressed members
    kept for reuse, filled by :func:`deflate_files` only when ``keep_deflated`` is set (they hold the
    whole compressed wheel in memory until the cache goes).
    """

    digests: dict[FileKey, Digests] = field(default_factory=dict)
    deflated: dict[FileKey, DeflatedFile] = field(default_factory=dict)
    keep_deflated: bool = False

    def known_digests(self, key: FileKey | None) -> Digests | None:
        if key is None:
            return None
        if key in self.deflated:
            done = self.deflated[key]
            return Digests(done.crc32, done.sha256)
        return self.digests.get(key)


class PendingFile:
    """The futures of one file's pieces and digests; :meth:`result` waits for all of them."""

    def __init__(
        self,
        path: Path,
        size: int,
        pieces: list[Future[Chunk]],
        digests: Future[tuple[int, bytes]] | Digests,
        *,
        done: DeflatedFile | None = None,
        keep: Callable[[DeflatedFile], None] | None = None,
    ):
        self.path = path
        self.size = size
        self._pieces = pieces
        self._digests = digests
        self._done = done
        self._keep = keep

    def result(self) -> DeflatedFile:
        if self._done is not None:
            return self._done
        if isinstance(self._digests, Digests):
            crc, sha = self._digests.crc32, self._digests.sha256
        else:
            crc, sha = self._digests.result()
        done = DeflatedFile(self.size, crc, sha, tuple(piece.result() for piece in self._pieces))
        if self._keep is not None:
            self._keep(done)
        return done


def _read_range(path: Path, start: int, end: int) -> bytes:
    with path.open("rb") as stream:
        stream.seek(start)
        data = stream.read(end - start)
    if len(data) != end - start:
        raise OSError(f"{path} changed while the wheel was being written (expected {end} bytes)")
    return data


def _compress(path: Path, piece: Piece, on_progress: Callable[[int], None] | None) -> Chunk:
    result = _deflate(path, piece)
    if on_progress is not None:
        on_progress(piece.end - piece.start)
    return result


def deflate_small(data: bytes) -> bytes:
    """A whole small file as zlib level 6 compresses it (exactly hatchling's bytes for that member)."""
    compressor = zlib.compressobj(ZLIB_LEVEL, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def _deflate(path: Path, piece: Piece) -> Chunk:
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

    With a ``cache``, a file whose compressed member it holds is not compressed again, a file whose
    digests it knows is not hashed again, and (with ``keep_deflated``) every member compressed here is
    kept in it. The cut of the largest file is planned from all the sizes either way, so a member's
    bytes never depend on what the cache held.
    """
    plans = plan_pieces([size for _, size in files], tail_level=level)
    keys = [file_key(path) if cache is not None else None for path, _ in files]
    reused = [cache.deflated.get(key) if cache is not None and key is not None else None for key in keys]
    known = [cache.known_digests(key) if cache is not None else None for key in keys]
    for (_, size), done in zip(files, reused, strict=True):
        if done is not None and on_progress is not None:
            on_progress(size)
    # (cost, file index, piece index or -1 for the digests of the file)
    tasks = [(piece.cost, i, j) for i, plan in enumerate(plans) if reused[i] is None for j, piece in enumerate(plan)]
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
    for i, (path, size) in enumerate(files):
        key = keys[i]
        keep = None
        if cache is not None and cache.keep_deflated and key is not None:
            keep = functools.partial(cache.deflated.__setitem__, key)
        if reused[i] is not None:
            pending.append(PendingFile(path, size, [], digests[i], done=reused[i]))
        else:
            pending.append(PendingFile(path, size, [pieces[i, j] for j in range(len(plans[i]))], digests[i], keep=keep))
    return pending
