"""The facts of a release, gathered from DIST as fast as possible; the rules that judge them are in
:mod:`codex_release.checks.verify.rules`.

A release is 1 GB of wheels and 2.7 GB inflated. :func:`scan_wheels` opens every wheel first (central
directory checked by :class:`codex_release.archives.WheelArchive`), then reads every member on a pool of two
threads (inflating, hashing and reading release the GIL), largest first, so both stay busy to the end, each
thread reusing one buffer for compressed bytes. A member whose compressed bytes equal another's (the lean
aarch64 wheel reuses the full one's: 400 MB) is proven equal byte for byte and shares the first one's
digest instead of being inflated again. :func:`scan_release` runs ``twine check --strict`` with the
publisher's twine (:mod:`codex_release.checks.publisher_twine`, without the hashing it does for uploads)
in a side process meanwhile.

None of this changes a fact: ``tests/test_verify_scan_property.py`` holds :func:`scan_wheels` equal to a
plain read (one thread, every member inflated, nothing shared) on generated wheel sets with shared,
re-encoded and corrupted members.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from codex_release.archives import WheelArchive, WheelMember
from codex_release.binaries import BinaryInfo, format_of, inspect_bytes
from codex_release.checks.publisher_twine import Publisher, check_files, toolkit_twine
from codex_release.checks.verify.rules import (
    ContentFacts,
    MemberFacts,
    ReleaseFacts,
    SdistFacts,
    SortedDist,
    WheelFacts,
    keeps_bytes,
)
from codex_release.core.artifact_metadata import sdist_member, sdist_metadata
from codex_release.core.dist import DistFile
from codex_release.core.pins import GENERATED_INIT, RUNTIME_DISTRIBUTION, SDK_DISTRIBUTION
from codex_release.core.versions import CodexVersion
from codex_release.errors import ReleaseError

__all__ = ["scan_release", "scan_sdist", "scan_wheels", "twine_verdicts"]

_WORKERS = 2
"""Threads inflating and hashing (both release the GIL); each holds up to one inflated member (380 MB)."""
_raw_buffers = threading.local()


def _raw_buffer(size: int) -> bytearray:
    """A buffer of at least ``size`` bytes that this thread reuses for every member's compressed bytes.

    Reading each 130 MB member into a fresh buffer cost 32 000 page faults apiece (a quarter of the
    scan's system time); the pool schedules the largest members first, so the buffer is sized once.
    """
    buffer: bytearray | None = getattr(_raw_buffers, "buffer", None)
    if buffer is None or len(buffer) < size:
        buffer = _raw_buffers.buffer = bytearray(size)
    return buffer


@dataclass(frozen=True)
class _Open:
    """One wheel opened for the scan."""

    position: int
    project: str
    version: CodexVersion
    archive: WheelArchive


_Ref = tuple[int, WheelMember]
"""A member of the wheel at that position of the scan."""
_Outcome = dict[tuple[int, int], ContentFacts | str]
"""(wheel position, member index) -> the member's facts, or why its bytes could not be read."""


def _groups(wheels: Sequence[_Open]) -> list[list[_Ref]]:
    """Every file to read, in groups that may hold the same compressed bytes, largest first.

    Members of all the wheels with equal :attr:`~codex_release.archives.WheelMember.content_key` share a
    group: only they can be byte-identical (the lean aarch64 wheel reuses the full one's compressed
    members, 400 MB inflated and hashed twice otherwise). Largest first on the pool keeps the two workers
    busy to the end, whatever the wheels' sizes (one wheel per worker left one idle for a second).
    """
    groups: dict[tuple[int, int, int, int], list[_Ref]] = {}
    for wheel in wheels:
        for member in wheel.archive.files():
            groups.setdefault(member.content_key, []).append((wheel.position, member))
    return sorted(groups.values(), key=lambda group: group[0][1].size, reverse=True)


def _content(data: bytes | bytearray, digest: bytes, wheel: _Open, member: WheelMember) -> ContentFacts:
    """The facts of ``member``, whose bytes are ``data`` (checked against its CRC-32 and size)."""
    binary = format_of(bytes(data[:8])) is not None
    info: BinaryInfo | None = None
    fault: str | None = None
    if binary and wheel.project == RUNTIME_DISTRIBUTION:
        try:
            info = inspect_bytes(data, member.name)
        except ReleaseError as exc:  # a corrupt header: a fact, and the scan goes on
            fault = str(exc)
    kept = bytes(data) if keeps_bytes(member.name, wheel.project, wheel.version) else None
    return ContentFacts(digest, len(data), binary, info, fault, kept)


def _read_alone(wheel: _Open, member: WheelMember) -> ContentFacts | str:
    try:
        data = wheel.archive.read(member)
    except ReleaseError as exc:
        return str(exc)
    return _content(data, hashlib.sha256(data).digest(), wheel, member)


def _read_group(wheels: Sequence[_Open], group: list[_Ref]) -> _Outcome:
    """Inflate the group's first member; every other one is proven to hold byte-identical compressed bytes
    (same method, CRC-32 and sizes, then the bytes compared) and shares its digest, or is read on its own.

    Sound: equal compressed bytes inflate to equal bytes, so the CRC-32 and size check, the sha256 and the
    binary's headers come out the same; the headers are still read under each member's own name, and its
    local header is checked like any read's. When the first member fails to inflate, there are no bytes
    to share: each member is read on its own and fails, or not, with its own name.
    """
    (position, first), *others = group
    wheel = wheels[position]
    outcome: _Outcome = {}
    try:
        raw = wheel.archive.raw(first, _raw_buffer(first.compressed_size))
        data = wheel.archive.inflate(first, raw)
    except ReleaseError as exc:
        outcome[position, first.index] = str(exc)
        for other_position, other in others:
            outcome[other_position, other.index] = _read_alone(wheels[other_position], other)
        return outcome
    digest = hashlib.sha256(data).digest()
    outcome[position, first.index] = _content(data, digest, wheel, first)
    buffer = raw.obj
    assert isinstance(buffer, bytearray)
    for other_position, other in others:
        other_wheel = wheels[other_position]
        try:
            same = other_wheel.archive.same_raw(other, buffer, first.compressed_size)
        except ReleaseError as exc:
            outcome[other_position, other.index] = str(exc)
            continue
        found = _content(data, digest, other_wheel, other) if same else _read_alone(other_wheel, other)
        outcome[other_position, other.index] = found
    return outcome


def _member_facts(member: WheelMember, found: ContentFacts | str | None) -> MemberFacts:
    if isinstance(found, str):
        return MemberFacts(member.name, member.is_dir, member.mode, read_fault=found)
    return MemberFacts(member.name, member.is_dir, member.mode, content=found)


def scan_wheels(paths: Sequence[Path], project: str, version: CodexVersion) -> list[WheelFacts]:
    """The facts of every wheel of ``project`` in ``paths``: all central directories first, then every
    member on a pool of :data:`_WORKERS` threads, members with the same compressed bytes inflated once
    (:func:`_read_group`). Never raises for what a wheel holds: a refusal is a fact."""
    sizes = [path.stat().st_size for path in paths]
    with contextlib.ExitStack() as stack:
        opened: list[_Open] = []
        refused: dict[int, str] = {}
        for index, path in enumerate(paths):
            try:
                archive = stack.enter_context(WheelArchive(path))
            except ReleaseError as exc:
                refused[index] = str(exc)
                continue
            opened.append(_Open(len(opened), project, version, archive))
        outcome: _Outcome = {}
        with ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="verify-read") as pool:
            for found in pool.map(lambda group: _read_group(opened, group), _groups(opened)):
                outcome.update(found)
        wheels = iter(opened)
        facts: list[WheelFacts] = []
        for index, path in enumerate(paths):
            if index in refused:
                facts.append(WheelFacts(path.name, sizes[index], unreadable=refused[index]))
                continue
            wheel = next(wheels)
            members = tuple(
                _member_facts(member, outcome.get((wheel.position, member.index))) for member in wheel.archive.members
            )
            facts.append(WheelFacts(path.name, sizes[index], members))
    return facts


def scan_sdist(file: DistFile) -> SdistFacts:
    """The SDK sdist's ``PKG-INFO`` and generated types (:mod:`codex_release.core.artifact_metadata`)."""
    size = file.path.stat().st_size
    try:
        metadata = sdist_metadata(file.path)
        generated = sdist_member(file.path, f"src/{GENERATED_INIT}")
    except ReleaseError as exc:
        return SdistFacts(file.name, size, unreadable=str(exc))
    return SdistFacts(file.name, size, metadata, generated)


def twine_verdicts(files: Sequence[Path], publisher: Publisher) -> dict[str, str]:
    """``twine check --strict`` over ``files`` with the publisher's twine, without the upload hashing
    (:func:`codex_release.checks.publisher_twine.check_files`): file name -> failure text, ``"*"`` for the run."""
    return check_files(files, publisher)


def scan_release(dist: SortedDist, version: CodexVersion, publisher: Publisher | None = None) -> ReleaseFacts:
    """The facts of the files ``dist`` names: the runtime wheels in one scan while twine runs in its own
    process (``publisher``'s twine; without one, this toolkit's), then the SDK wheel and sdist."""
    tool = publisher or toolkit_twine()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="twine-check") as side:
        twine = side.submit(twine_verdicts, [file.path for file in dist.packaged], tool)
        runtime = scan_wheels([file.path for file in dist.runtime_wheels], RUNTIME_DISTRIBUTION, version)
        verdicts = twine.result()
    sdk_wheel = None if dist.sdk_wheel is None else scan_wheels([dist.sdk_wheel.path], SDK_DISTRIBUTION, version)[0]
    sdk_sdist = None if dist.sdk_sdist is None else scan_sdist(dist.sdk_sdist)
    return ReleaseFacts(tuple(runtime), sdk_wheel, sdk_sdist, verdicts, tool.describe())
