"""Member names: the checks every name passes before anything is written, and how a checked name becomes a file.

A name must be relative, without ``..``, backslash, drive or ``C:`` tricks, valid UTF-8, at most
:data:`MAX_COMPONENT` bytes per component and :data:`MAX_NAME` in all, unique also case-insensitively (the
wheels install on macOS and Windows), and never both a file and a directory. Files are created only at
paths built from checked names, and only as new files, never through a link (:data:`NEW_FILE`): nothing is
ever written to a path taken from a member name as it stands.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from codex_release.errors import ArchiveRefused

__all__ = ["MAX_COMPONENT", "MAX_NAME", "NEW_FILE", "NameSet"]

MAX_COMPONENT = 255
"""Bytes per path component (the limit of every common file system)."""
MAX_NAME = 1024
"""Bytes per member name."""

_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
"""How every member file is created: a new file, never through a link."""


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
            raise ArchiveRefused(f"{self.where} holds the member {str(path)!r} {detail}: refusing the archive")
        if key in self.dirs:
            self._clash(str(path))
        self.files[key] = str(path)
        return path

    def _clash(self, name: str) -> None:
        raise ArchiveRefused(f"{self.where} holds {name!r} both as a file and as a directory: refusing the archive")

    def _syntax(self, name: str, raw: str) -> PurePosixPath:
        def refuse(why: str) -> ArchiveRefused:
            shown = raw.encode("utf-8", "backslashreplace").decode("utf-8")
            if len(shown) > 80:
                shown = shown[:60] + "..." + shown[-12:]
            return ArchiveRefused(f"{self.where}: member name {shown!r} {why}: refusing the archive")

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
