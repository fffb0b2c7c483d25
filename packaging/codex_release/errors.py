"""The toolkit's error types: one base, :class:`ReleaseError`, and one subclass per kind of failure.

Every message is one line that names the problem and the fix. The CLI's boundary (``cli/boundary.py``)
prints it as ``Error: <message>`` and exits 1, whatever the kind; a library user can catch a kind::

    try:
        stage_runtime(...)
    except ArchiveRefused as exc:  # the package was refused: fetch it again
        ...

Each raise site chooses a kind (``tests/test_errors.py`` refuses a bare ``ReleaseError``):

* :class:`InputRefused`: what the user gave is wrong;
* :class:`ArchiveRefused`: an untrusted archive, binary or download is refused;
* :class:`DestinationRefused`: where the command would write is refused, or cannot be written;
* :class:`ToolFailed`: a tool the command runs is missing, failed or timed out;
* :class:`FaultFound`: a check found the release (or the index, or the checkout's generated files) at fault;
* :class:`Unsupported`: the input is well formed but this version of the toolkit cannot handle it.

This module is the bottom layer: it imports nothing from the package.
"""

from __future__ import annotations

import re

__all__ = [
    "ArchiveRefused",
    "DestinationRefused",
    "FaultFound",
    "InputRefused",
    "ReleaseError",
    "ToolFailed",
    "Unsupported",
    "one_line",
    "squeezed",
]

_LINE_BREAK = re.compile(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
"""What :meth:`str.splitlines` splits on (``\\r\\n`` is one break)."""


def one_line(text: str) -> str:
    """``text`` with each line break turned into one space; everything else (runs of spaces too) verbatim."""
    return _LINE_BREAK.sub(" ", text)


def squeezed(text: object) -> str:
    """Another program's text (a child's stderr, a library's multi-line exception) on one line, each run of
    whitespace one space: for quoting it inside a message, whose own words stay verbatim."""
    return " ".join(str(text).split())


class ReleaseError(Exception):
    """A user-facing failure; the base of every kind below. ``str(err)`` is a single line fit for a terminal.

    The message is kept verbatim (a path ``out/my  dir`` keeps its two spaces); only line breaks become
    spaces, so that it stays one line. Raise one of the subclasses, never this class itself.
    """

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


class InputRefused(ReleaseError):
    """Something the user gave is refused: an option's value, a version, a tag, a target, a package spec, an
    environment variable, or the content of a file they point the command at (``pyproject.toml``, a lock
    file, a staging directory, the SOURCE of ``stage-runtime``). The fix is to give something else."""


class ArchiveRefused(ReleaseError):
    """An untrusted archive, member or binary is refused: a member's name, type or size, the archive's
    limits, a checksum or integrity that does not match, a format that cannot be read (``archives/``,
    ``binaries/``, ``core/runtime_source.py``, the artifact readers, the downloads of ``fetch``). The fix is to
    fetch or build the file again."""


class DestinationRefused(ReleaseError):
    """Where a command would write is refused or cannot be written: a path inside the checkout, the home
    directory or the file system root, a non-empty directory it would replace, overlapping destinations, a
    destination locked by another run, a directory that cannot be created or written
    (``core/staging.py``). Nothing was written there; the fix is another destination."""


class ToolFailed(ReleaseError):
    """A tool the command runs is missing, failed, timed out or printed what it should not: a child process
    (``processes.py``) and the places that report a tool's failure (``npm``, ``node``, ``pip``, ``twine``,
    ``git``, ``python -m build``, ``codex``, ``pypiserver``, ``datamodel-code-generator``). The message ends
    with the tail of what the tool printed."""


class FaultFound(ReleaseError):
    """A check found the release at fault: its artifacts (verify, smoke, the publish rehearsal, resolution,
    the release record), the package index (verify-index), or the checkout's generated types against the
    pin. The message names what is wrong and how to rebuild."""


class Unsupported(ReleaseError):
    """The input is well formed but this version of the toolkit cannot handle it: a runtime's protocol
    schema that ``generate-types`` cannot translate, a platform package layout, an npm package layout or a
    hatch build option the toolkit does not know. The fix is to update the toolkit, not the input."""
