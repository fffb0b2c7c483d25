"""How much one archive may unpack to: a cap on the member count and one on the total unpacked size.

Both readers check each member's declared size against the caps before it is written and count the bytes
as they are written, so no archive expands beyond them, whatever its headers claim. The defaults fit every
real package; ``CODEX_RELEASE_MAX_UNPACKED`` and ``CODEX_RELEASE_MAX_MEMBERS`` raise them for a genuine
larger one without a code change.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from codex_release.errors import ArchiveRefused, InputRefused

__all__ = ["Limits"]

_GIB = 1 << 30
_DEFAULT_MAX_BYTES = 4 * _GIB
_DEFAULT_MAX_MEMBERS = 10_000
_MAX_BYTES_ENV = "CODEX_RELEASE_MAX_UNPACKED"
_MAX_MEMBERS_ENV = "CODEX_RELEASE_MAX_MEMBERS"
_SIZE_RE = re.compile(r"^\s*(\d{1,15})\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def _parse_size(text: str, variable: str) -> int:
    match = _SIZE_RE.match(text)
    if match is None:
        raise InputRefused(f"{variable}={text!r} is not a size: use bytes or a number with K, M, G or T (e.g. 8G)")
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
            raise ArchiveRefused(
                f"{where} holds more than {self.max_members} members: refusing it (raise the cap with "
                f"{_MAX_MEMBERS_ENV} if it is genuine)"
            )

    def check_bytes(self, total: int, where: str, member: str) -> None:
        if total > self.max_bytes:
            raise ArchiveRefused(
                f"{where}: member {member!r} brings the unpacked size above the cap of {self.max_bytes} bytes: "
                f"refusing the archive (raise the cap with {_MAX_BYTES_ENV}, e.g. 8G, if it is genuine)"
            )
