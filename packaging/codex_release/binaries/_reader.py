"""Bounded reads from an untrusted file: every offset and length is checked against the file's size.

Every format reader of :mod:`codex_release.binaries` reads through :class:`Reader` and raises
:class:`Malformed` for a truncated or inconsistent header; :func:`codex_release.binaries.inspect_binary`
turns that into a :class:`~codex_release.errors.ReleaseError` naming the file.
"""

from __future__ import annotations

from typing import BinaryIO

__all__ = ["BufferFile", "Malformed", "Reader"]


class Malformed(Exception):
    """The header is truncated or inconsistent (turned into :class:`ReleaseError`)."""


class BufferFile:
    """``seek``/``read`` over bytes already in memory without copying them (``io.BytesIO`` of a
    ``bytearray`` copies the whole buffer: 290 MB for the codex binary). Each read copies only what it
    returns."""

    def __init__(self, data: bytes | bytearray) -> None:
        self._view = memoryview(data)
        self._pos = 0

    def seek(self, offset: int, whence: int = 0) -> int:
        self._pos = offset if whence == 0 else (self._pos + offset if whence == 1 else len(self._view) + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, length: int = -1) -> bytes:
        end = len(self._view) if length < 0 else min(len(self._view), self._pos + length)
        data = bytes(self._view[self._pos : end])
        self._pos = max(self._pos, end)
        return data


class Reader:
    """Bounded reads from an open file: every read is checked against the file's size."""

    MAX_READ = 32 * 1024 * 1024

    def __init__(self, fh: BinaryIO | BufferFile, size: int) -> None:
        self.fh = fh
        self.size = size

    def read(self, offset: int, length: int, what: str) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise Malformed(f"{what} at offset {offset} runs past the end of the {self.size}-byte file")
        if length > self.MAX_READ:
            raise Malformed(f"{what} claims an implausible {length} bytes")
        self.fh.seek(offset)
        data = self.fh.read(length)
        if len(data) != length:
            raise Malformed(f"{what} at offset {offset} is cut short")
        return data

    def cstring(self, offset: int, limit: int, what: str) -> str:
        """A NUL-terminated string of at most ``limit`` bytes starting at ``offset``."""
        if offset < 0 or offset >= self.size:
            raise Malformed(f"{what} at offset {offset} lies outside the {self.size}-byte file")
        data = self.read(offset, min(limit, self.size - offset), what)
        text, nul, _ = data.partition(b"\0")
        if not nul:
            raise Malformed(f"{what} at offset {offset} is not NUL-terminated")
        return text.decode("utf-8", "replace")
