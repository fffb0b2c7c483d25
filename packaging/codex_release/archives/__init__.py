"""The one reader of untrusted archives: gzip'd tarballs (Codex platform packages, sdists) and wheels.

Every archive the toolkit opens is untrusted (a download, a file someone points us at, a wheel about to be
published), so every one is read here, and every reader promises: member names are checked before anything
is written, and only regular files and directories are accepted; expansion is bounded (:class:`Limits`);
checksums are checked (a gzip stream's CRC-32 and length trailer, read to its very end; a wheel member's
CRC-32 and size); and files are written only below a directory the reader made itself.

Names and how a checked name becomes a file: :mod:`._names`; the caps: :mod:`._limits`; ``.tar.gz``:
:mod:`._tar` (:func:`extract_tgz`); wheels and other zips: :mod:`._wheel` (:class:`WheelArchive`).
"""

from __future__ import annotations

from codex_release.archives._limits import Limits
from codex_release.archives._names import MAX_COMPONENT, MAX_NAME, NameSet
from codex_release.archives._tar import ExtractedTree, extract_tgz
from codex_release.archives._wheel import WheelArchive, WheelMember

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
