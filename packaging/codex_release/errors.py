"""The toolkit's one error type: a one-line message that names the problem and the fix."""

from __future__ import annotations


class ReleaseError(Exception):
    """A user-facing failure. ``str(err)`` is a single line fit for a terminal."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))
