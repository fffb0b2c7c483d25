"""Raw DEFLATE of whole files on every core, plus their CRC-32 and SHA-256, for the wheel writer.

Speed comes from libdeflate (PyPI ``deflate``): at level 5 it compresses the Codex executables about
three to four times faster than zlib at level 6 (what hatchling uses), and the result is still no
larger (measured on the 0.169.0 linux-x64 package: 147.4 MB for the whole payload against 147.5 MB
with zlib 6; level 4 is faster but 2.8 MB larger, level 6 is 20 % slower for 0.8 MB less). Both
libraries release the GIL, so plain threads use every core.

libdeflate only compresses a whole buffer into a *final* DEFLATE stream, so one file is one task, and
the largest file (the 294 MB ``codex`` binary, 80 % of the payload) would keep one core busy long
after the others ran dry. It is therefore split: a head, compressed by zlib in pieces that each end
with a sync flush (a byte-aligned, non-final empty stored block, as pigz does), and a tail compressed
by libdeflate, whose final block ends the stream. A DEFLATE stream is any run of non-final blocks
followed by a final one, so head pieces and tail concatenate into one valid stream. Each zlib piece
is primed with the 32 KiB before it (``zdict``), so splitting costs only a few bytes per piece. The
head is sized so that every worker finishes at about the same time, from the measured cost of zlib 6
per byte relative to libdeflate 5 (``ZLIB_COST``).

The cut depends on the file sizes alone, never on the machine: it is planned for ``PLAN_WORKERS``
(two, the size of the release machines) whatever the pool size, so the bytes are the same on every
host that has the same libdeflate (pinned through the ``deflate`` package) and zlib (the library
hatchling's own wheels depend on).
"""

from __future__ import annotations

import hashlib
import itertools
import math
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path

import deflate

from codex_release.zip_writer import Chunk

__all__ = [
    "LIBDEFLATE_LEVEL",
    "DeflatedFile",
    "PendingFile",
    "Piece",
    "deflate_files",
    "deflate_small",
    "plan_pieces",
]

LIBDEFLATE_LEVEL = 5
"""The fastest libdeflate level whose wheel is no larger than hatchling's (see the module docstring)."""
ZLIB_LEVEL = 6
"""zlib level of split-off head pieces: hatchling's level, so the head costs no size."""
ZLIB_COST = 3.5
"""CPU time per byte of zlib level 6 relative to libdeflate level 5 (measured: 3.0 to 3.7)."""
HASH_COST = 0.12
"""CPU time per byte of reading + SHA-256 + CRC-32 relative to libdeflate level 5."""
PLAN_WORKERS = 2
"""How many workers the cut of the largest file is balanced for (fixed, so the output is too)."""
MIN_SPLIT_SIZE = 32 * 1024 * 1024
HEAD_PIECE_SIZE = 16 * 1024 * 1024
SMALL_FILE_SIZE = 64 * 1024
"""Smaller files go to zlib 6: no time to save there, and libdeflate's stream can be a few bytes longer."""
_WINDOW = 32 * 1024
_READ_SIZE = 8 * 1024 * 1024


@dataclass(frozen=True)
class Piece:
    """Bytes ``[start, end)`` of a file; ``final`` pieces are libdeflate streams, others zlib sync-flushed."""

    start: int
    end: int
    final: bool

    @property
    def cost(self) -> float:
        return (self.end - self.start) * (1.0 if self.final else ZLIB_COST)


def plan_pieces(sizes: Sequence[int], workers: int = PLAN_WORKERS) -> list[list[Piece]]:
    """How each file is cut: one final piece each, except that the largest file may get a zlib head.

    With ``W`` workers, other work ``T`` (in libdeflate-byte units) and a largest file of ``N`` bytes
    whose first ``N - L`` bytes go to zlib, the total work is ``T + L + ZLIB_COST * (N - L)``; the
    makespan is smallest when the libdeflate tail ``L`` equals an even share of it.
    """
    plans = [[Piece(0, size, final=True)] for size in sizes]
    if workers < 2 or not sizes:
        return plans
    largest = max(range(len(sizes)), key=lambda i: sizes[i])
    n = sizes[largest]
    if n < MIN_SPLIT_SIZE:
        return plans
    other = sum(sizes) - n + HASH_COST * sum(sizes)
    tail = (other + ZLIB_COST * n) / (workers - 1 + ZLIB_COST)
    head = int(n - tail)
    if head < HEAD_PIECE_SIZE // 4:
        return plans
    count = math.ceil(head / HEAD_PIECE_SIZE)
    bounds = [head * i // count for i in range(count + 1)]
    plans[largest] = [Piece(a, b, final=False) for a, b in itertools.pairwise(bounds)]
    plans[largest].append(Piece(head, n, final=True))
    return plans


@dataclass(frozen=True)
class DeflatedFile:
    """One file, compressed: its raw DEFLATE stream is ``b"".join(chunks)``."""

    size: int
    crc32: int
    sha256: bytes
    chunks: tuple[Chunk, ...]


class PendingFile:
    """The futures of one file's pieces and digests; :meth:`result` waits for all of them."""

    def __init__(self, path: Path, size: int, pieces: list[Future[Chunk]], digests: Future[tuple[int, bytes]]):
        self.path = path
        self.size = size
        self._pieces = pieces
        self._digests = digests

    def result(self) -> DeflatedFile:
        crc, sha = self._digests.result()
        return DeflatedFile(self.size, crc, sha, tuple(piece.result() for piece in self._pieces))


def _read_range(path: Path, start: int, end: int) -> bytes:
    with path.open("rb") as stream:
        stream.seek(start)
        data = stream.read(end - start)
    if len(data) != end - start:
        raise OSError(f"{path} changed while the wheel was being written (expected {end} bytes)")
    return data


def _compress(path: Path, piece: Piece, level: int, on_progress: Callable[[int], None] | None) -> Chunk:
    result = _deflate(path, piece, level)
    if on_progress is not None:
        on_progress(piece.end - piece.start)
    return result


def deflate_small(data: bytes) -> bytes:
    """A whole small file as zlib level 6 compresses it (exactly hatchling's bytes for that member)."""
    compressor = zlib.compressobj(ZLIB_LEVEL, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def _deflate(path: Path, piece: Piece, level: int) -> Chunk:
    if piece.final and piece.start == 0 and piece.end < SMALL_FILE_SIZE:
        return deflate_small(_read_range(path, 0, piece.end))
    if piece.final:
        compressed: Chunk = deflate.deflate_compress(_read_range(path, piece.start, piece.end), level)
        return compressed
    primed = max(0, piece.start - _WINDOW)
    data = _read_range(path, primed, piece.end)
    view = memoryview(data)
    if piece.start > primed:
        compressor = zlib.compressobj(ZLIB_LEVEL, zlib.DEFLATED, -15, zdict=view[: piece.start - primed])
    else:
        compressor = zlib.compressobj(ZLIB_LEVEL, zlib.DEFLATED, -15)
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
) -> list[PendingFile]:
    """Start compressing and hashing ``files`` (path, size) on ``executor``; results come back in order.

    Tasks are submitted costliest first, so the pool runs them as a longest-processing-time
    schedule; how files are cut does not depend on the pool (see the module docstring). Each task
    reads only its own bytes, so memory holds at most one piece per worker plus the compressed
    output not yet written.
    """
    plans = plan_pieces([size for _, size in files])
    # (cost, file index, piece index or -1 for the digests of the file)
    tasks = [(piece.cost, i, j) for i, plan in enumerate(plans) for j, piece in enumerate(plan)]
    tasks += [(size * HASH_COST, i, -1) for i, (_, size) in enumerate(files)]
    tasks.sort(key=lambda task: (-task[0], task[1], task[2]))
    pieces: dict[tuple[int, int], Future[Chunk]] = {}
    digests: dict[int, Future[tuple[int, bytes]]] = {}
    for _, i, j in tasks:
        path, size = files[i]
        if j < 0:
            digests[i] = executor.submit(_digests, path, size)
        else:
            pieces[i, j] = executor.submit(_compress, path, plans[i][j], level, on_progress)
    return [
        PendingFile(path, size, [pieces[i, j] for j in range(len(plans[i]))], digests[i])
        for i, (path, size) in enumerate(files)
    ]
