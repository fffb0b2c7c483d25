"""What is known about a file's bytes: its identity within one run, and its CRC-32 and SHA-256.

The archive reader takes the digests of every file while it writes it; the SBOM and the wheel writer
look them up by identity (:func:`file_key`) instead of reading and hashing the file again. An identity is
device, inode, size and modification time: a rename or a hard link keeps it, and any write changes it,
so a stale digest is never used for changed bytes.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Digests", "FileKey", "file_hash", "file_key", "file_sha256", "key_of"]

FileKey = tuple[int, int, int, int]
"""A file's identity within one run: device, inode, size and modification time (ns)."""


@dataclass(frozen=True)
class Digests:
    """The CRC-32 and SHA-256 of a file's bytes."""

    crc32: int
    sha256: bytes


def key_of(info: os.stat_result) -> FileKey | None:
    """The identity in ``info`` (``None`` on a file system without inode numbers: nothing to go by)."""
    if not info.st_ino:
        return None
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def file_key(path: Path) -> FileKey | None:
    """The identity of the file at ``path`` (``None`` if it cannot be told)."""
    try:
        return key_of(os.stat(path))
    except OSError:
        return None


def file_hash(path: Path, algorithm: str) -> hashlib._Hash:
    """The ``algorithm`` (a :func:`hashlib.new` name) hash of the file at ``path``, read in 1 MiB blocks."""
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            hasher.update(chunk)
    return hasher


def file_sha256(path: Path) -> str:
    """The hex SHA-256 of the file at ``path``."""
    return file_hash(path, "sha256").hexdigest()
