"""Codex release tags <-> one canonical PEP 440 version.

A Codex release is tagged ``rust-vX.Y.Z[-alpha.N[.M]|-beta.N[.M]|-rc.N[.M]]``; the npm platform
packages carry the same semver without the ``rust-v`` prefix. Both Python distributions of a release
use the PEP 440 form:

====================================  ======================
tag / npm version                     PEP 440
====================================  ======================
``rust-v0.163.0``, ``v0.163.0``       ``0.163.0``
``0.154.0-alpha.1``                   ``0.154.0a1``
``0.154.0-alpha.1.2`` (hotfix)        ``0.154.0a1.post2``
``0.154.0-beta.3`` / ``-rc.2``        ``0.154.0b3`` / ``0.154.0rc2``
====================================  ======================

A PEP 440 version passes through when the mapping can carry it back to a tag.

Inputs are bounded before anything converts them: a version is at most :data:`MAX_VERSION_CHARS`
characters and each number in it at most ``2**53 - 1`` (npm's limit for semver numbers), so a
5000-digit number is a one-line refusal rather than Python's integer-conversion ``ValueError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from codex_release.errors import InputRefused

__all__ = [
    "MAX_VERSION_CHARS",
    "CodexVersion",
    "check_version_bounds",
    "parse_codex_version",
    "parse_pep440",
    "version_of_ref",
]

_TAG_RE = re.compile(
    r"""
    ^(?:rust-v|v)?
    (?P<release>(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*))
    (?:-(?P<pre>alpha|beta|rc)\.(?P<pre_n>0|[1-9][0-9]*)(?:\.(?P<post>0|[1-9][0-9]*))?)?$
    """,
    re.VERBOSE,
)
MAX_VERSION_CHARS = 64
_MAX_NUMBER = 2**53 - 1
_MAX_NUMBER_DIGITS = len(str(_MAX_NUMBER))
_DIGITS = re.compile(r"[0-9]+")
_PRE_TO_PEP440 = {"alpha": "a", "beta": "b", "rc": "rc"}
_PEP440_TO_PRE = {v: k for k, v in _PRE_TO_PEP440.items()}
_EXPECTED = (
    "expected a Codex release tag such as rust-v0.169.0, 0.154.0-alpha.1 or 0.154.0-alpha.1.2, "
    "or a PEP 440 version such as 0.154.0a1"
)


@dataclass(frozen=True, order=True)
class CodexVersion:
    """One Codex release, viewed as PEP 440 version, git tag and npm version."""

    version: Version

    @property
    def pep440(self) -> str:
        """The canonical PEP 440 string used by both Python distributions."""
        return str(self.version)

    @property
    def semver(self) -> str:
        """The npm/semver spelling, e.g. ``0.154.0-alpha.1.2``."""
        release = ".".join(str(part) for part in self.version.release)
        if self.version.pre is None:
            return release
        letter, number = self.version.pre
        text = f"{release}-{_PEP440_TO_PRE[letter]}.{number}"
        if self.version.post is not None:
            text += f".{self.version.post}"
        return text

    @property
    def tag(self) -> str:
        """The git tag of the Codex release, e.g. ``rust-v0.169.0``."""
        return f"rust-v{self.semver}"

    def __str__(self) -> str:
        return self.pep440


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 40 else f"{text[:24]!r}... ({len(text)} characters)"


def check_version_bounds(text: str, what: str = "version") -> None:
    """Refuse a version with a number above ``2**53 - 1`` (npm's limit) or more than
    :data:`MAX_VERSION_CHARS` characters, before anything converts its numbers."""
    for run in _DIGITS.findall(text):
        if len(run) > _MAX_NUMBER_DIGITS or int(run) > _MAX_NUMBER:
            raise InputRefused(
                f"{what} {_shown(text)} has a {len(run)}-digit number: version numbers are at most 2^53-1 "
                f"(npm's limit); {_EXPECTED}"
            )
    if len(text) > MAX_VERSION_CHARS:
        raise InputRefused(f"{what} {_shown(text)} is longer than {MAX_VERSION_CHARS} characters: {_EXPECTED}")


def parse_pep440(text: str, what: str = "version") -> Version:
    """A bounded :class:`packaging.version.Version`: anything invalid or oversized is a :class:`ReleaseError`."""
    check_version_bounds(text.strip(), what)
    try:
        return Version(text)
    except InvalidVersion:
        raise InputRefused(f"{what} {_shown(text)} is not a PEP 440 version") from None


def parse_codex_version(text: str) -> CodexVersion:
    """Map a Codex tag, an npm version or a PEP 440 version to a :class:`CodexVersion`.

    Raises :class:`ReleaseError` for anything that is neither.
    """
    raw = text.strip()
    if not raw:
        raise InputRefused(f"empty Codex version: {_EXPECTED}")
    check_version_bounds(raw, "Codex version")
    match = _TAG_RE.match(raw)
    if match:
        pep440 = match["release"]
        if match["pre"]:
            pep440 += f"{_PRE_TO_PEP440[match['pre']]}{match['pre_n']}"
            if match["post"] is not None:
                pep440 += f".post{match['post']}"
        return CodexVersion(Version(pep440))
    if raw.startswith(("rust-v", "v")) or "-" in raw:
        raise InputRefused(f"malformed Codex release tag {_shown(raw)}: {_EXPECTED}")
    try:
        version = Version(raw)
    except InvalidVersion:
        raise InputRefused(f"not a Codex version: {_shown(raw)}: {_EXPECTED}") from None
    problems = []
    if len(version.release) != 3:
        problems.append("it needs exactly three release numbers (X.Y.Z)")
    if version.epoch:
        problems.append("it has an epoch")
    if version.dev is not None or version.local is not None:
        problems.append("dev and local versions are not releases")
    if version.post is not None and version.pre is None:
        problems.append("only pre-releases have hotfix (.postN) versions")
    if problems:
        raise InputRefused(f"PEP 440 version {raw!r} has no Codex tag form: {'; '.join(problems)}")
    return CodexVersion(version)


_TAG_REF = "refs/tags/"


def version_of_ref(ref: str) -> CodexVersion:
    """The Codex release of a git ref that must be its release tag, ``refs/tags/rust-vX.Y.Z[-pre]``.

    The release workflow runs only on such a ref (pushed, or chosen under "Use workflow from"): the
    ``pypi`` environment deploys only ``rust-v*`` tags, so a run on a branch could build everything and
    then be refused at the upload; and a tag run and a manual run of one version share this ref, which
    keys the workflow's concurrency group.
    """
    shown = _shown(ref)
    if not ref.startswith(_TAG_REF):
        raise InputRefused(
            f"release runs only on a release tag, not {shown}: push the tag rust-vX.Y.Z, or choose it under "
            "'Use workflow from' when running the workflow by hand"
        )
    name = ref[len(_TAG_REF) :]
    version = parse_codex_version(name)
    if name != version.tag:
        raise InputRefused(f"tag {_shown(name)} is not spelled as the Codex release tag {version.tag}: use that tag")
    return version
