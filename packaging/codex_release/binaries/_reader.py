"""Bounded reads from an untrusted file: every offset and length is checked against the file's size.

Every format reader of :mod:`codex_release.binaries` reads through :class:`Reader` and raises
:class:`Malformed` for a truncated or inconsistent header; :func:`codex_release.binaries.inspect_binary`
turns that into a :class:`~codex_release.errors.ReleaseError` naming the file.
"""

from __future__ import annotations

from typing import BinaryIO

__all__ = ["Malformed", "Reader"]


class Malformed(Exception):
    """The header is truncated or inconsistent (turned into :class:`ReleaseError`)."""


class Reader:
    """Bounded reads from an open file: every read is checked against the file's size."""

    MAX_READ = 32 * 1024 * 1024

    def __init__(self, fh: BinaryIO, size: int) -> None:
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
