"""verify's scanner gives the facts a plain read gives: its shortcuts change nothing the rules see.

The scanner (:func:`codex_release.checks.verify.scan.scan_wheels`) reads members on a thread pool, reuses
one buffer per thread, groups members by content key across wheels and shares the digest and bytes of the
first member of a group with every member whose compressed bytes it proves equal. :func:`plain_facts`
below is the reference: one thread, every member of every wheel inflated on its own, nothing shared.

For generated sets of small wheels: members shared byte for byte between wheels, members with equal content
and equal content key but other compressed bytes (the padding bits of a stored DEFLATE block), members of
other compression levels, binaries with good and corrupt headers, programs with and without exec bits, and
members corrupted in their data or their local header, the two give equal facts (and so equal faults).

``VERIFY_SCAN_EXAMPLES`` sets the examples (default 50); ``make fuzz`` runs more.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import random
import struct
import tempfile
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from codex_release.archives import WheelArchive
from codex_release.binaries import format_of, inspect_bytes
from codex_release.checks.verify.rules import (
    PACKAGES,
    ContentFacts,
    MemberFacts,
    WheelFacts,
    dist_info,
    keeps_bytes,
    wheel_contents,
)
from codex_release.checks.verify.scan import scan_wheels
from codex_release.core.pins import RUNTIME_DISTRIBUTION, SDK_DISTRIBUTION
from codex_release.core.versions import CodexVersion, parse_codex_version
from codex_release.errors import ReleaseError
from tests.synthetic_binaries import make_elf, make_macho

V = parse_codex_version("0.169.0")
EXAMPLES = settings(
    max_examples=int(os.environ.get("VERIFY_SCAN_EXAMPLES", "50")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


def plain_facts(path: Path, project: str, version: CodexVersion) -> WheelFacts:
    """The reference reader: every member read and inflated on its own, in order, on this thread."""
    size = path.stat().st_size
    try:
        archive = WheelArchive(path)
    except ReleaseError as exc:
        return WheelFacts(path.name, size, unreadable=str(exc))
    members: list[MemberFacts] = []
    with archive:
        for member in archive.members:
            if member.is_dir:
                members.append(MemberFacts(member.name, True, member.mode))
                continue
            try:
                data = bytes(archive.read(member))
            except ReleaseError as exc:
                members.append(MemberFacts(member.name, False, member.mode, read_fault=str(exc)))
                continue
            binary = format_of(data[:8]) is not None
            info, fault = None, None
            if binary and project == RUNTIME_DISTRIBUTION:
                try:
                    info = inspect_bytes(data, member.name)
                except ReleaseError as exc:
                    fault = str(exc)
            kept = data if keeps_bytes(member.name, project, version) else None
            content = ContentFacts(hashlib.sha256(data).digest(), len(data), binary, info, fault, kept)
            members.append(MemberFacts(member.name, False, member.mode, content))
    return WheelFacts(path.name, size, tuple(members))


# ------------------------------------------------------------------------------------ the wheels


def _blob(kind: str, seed: int, large: bool) -> bytes:
    """Content: text, random bytes (above 64 KiB the reader inflates with libdeflate, below with zlib), a
    binary, or a binary whose header is cut (its inspection fails)."""
    rng = random.Random(seed)
    tail = rng.randbytes(70_000 if large else rng.randrange(0, 300))
    if kind == "text":
        return b"line of text\n" * rng.randrange(0, 50) + tail[:20]
    if kind == "elf":
        return make_elf(rng.choice(["x86_64", "aarch64"])) + tail
    if kind == "macho":
        return make_macho("aarch64") + tail
    if kind == "bad-elf":
        return make_elf()[:40]
    return tail


BLOBS = st.lists(
    st.tuples(st.sampled_from(["text", "random", "elf", "macho", "bad-elf"]), st.integers(0, 2**16), st.booleans()),
    min_size=1,
    max_size=4,
)
MEMBER = st.fixed_dictionaries(
    {
        "blob": st.integers(0, 3),
        "name": st.integers(0, 3),
        # 0: stored DEFLATE blocks; "padded": the same with other padding bits (same content key, other bytes)
        "encoding": st.sampled_from([0, 0, "padded", 1, 9]),
        "exec": st.booleans(),
        "damage": st.sampled_from([None, None, None, "data", "header"]),
    }
)
WHEELS = st.lists(st.lists(MEMBER, min_size=1, max_size=4), min_size=2, max_size=4)


def _data_offset(path: Path, name: str) -> tuple[int, int, int]:
    """(local header offset, data offset, compressed size) of ``name``."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    with open(path, "rb") as fh:
        fh.seek(info.header_offset)
        header = fh.read(30)
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    return info.header_offset, info.header_offset + 30 + name_len + extra_len, info.compress_size


def _patch(path: Path, offset: int, change: int) -> None:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)[0]
        fh.seek(offset)
        fh.write(bytes([byte ^ change]))


def _write(path: Path, project: str, members: dict[str, tuple[bytes, dict[str, object]]]) -> Path:
    """A wheel of ``project`` with ``members`` (name -> (bytes, spec)), METADATA, WHEEL and a true RECORD;
    then the damage and padding of each spec applied in place."""
    info = dist_info(project, V)
    metadata = f"Metadata-Version: 2.1\nName: {project}\nVersion: {V.pep440}\n".encode()
    wheel = b"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: py3-none-any\n"
    plain: dict[str, object] = {"encoding": 6, "exec": False, "damage": None}
    files = {**members, f"{info}/METADATA": (metadata, plain), f"{info}/WHEEL": (wheel, plain)}
    out = io.StringIO()
    rows = csv.writer(out, lineterminator="\n")
    for name, (data, _) in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.writerow((name, f"sha256={digest}", len(data)))
    rows.writerow((f"{info}/RECORD", "", ""))
    files[f"{info}/RECORD"] = (out.getvalue().encode(), plain)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, (data, spec) in files.items():
            entry = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            entry.external_attr = (0o100000 | (0o755 if spec["exec"] else 0o644)) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            level = spec["encoding"]
            zf.writestr(entry, data, compresslevel=0 if level == "padded" else int(str(level)))
    for name, (_, spec) in files.items():
        header, start, compressed = _data_offset(path, name)
        if spec["encoding"] == "padded":
            _patch(path, start, 0xF8)  # the five padding bits after a stored block's header: ignored
        if spec["damage"] == "data" and compressed:
            _patch(path, start + compressed // 2, 0x55)
        elif spec["damage"] == "header":
            _patch(path, header + 30, 0x01)  # the local header's name: no longer the central directory's
    return path


def _events(paths: list[Path]) -> None:
    """Which shortcuts this example exercises (``pytest --hypothesis-show-statistics`` counts them)."""
    raws: dict[tuple[int, int, int, int], list[bytes | None]] = {}
    for path in paths:
        with WheelArchive(path) as archive:
            for member in archive.files():
                try:
                    raw: bytes | None = bytes(archive.raw(member))
                except ReleaseError:
                    raw = None
                raws.setdefault(member.content_key, []).append(raw)
    for found in raws.values():
        if len(found) > 1 and len(set(found)) == 1:
            event("a member shared byte for byte")
        if len({raw for raw in found if raw is not None}) > 1:
            event("equal content key, other compressed bytes")
        if None in found and len(found) > 1:
            event("a damaged local header in a group")


@EXAMPLES
@given(project=st.sampled_from([RUNTIME_DISTRIBUTION, SDK_DISTRIBUTION]), blobs=BLOBS, wheels=WHEELS)
def test_the_scanners_shortcuts_give_the_facts_of_a_plain_read(
    project: str, blobs: list[tuple[str, int, bool]], wheels: list[list[dict[str, object]]]
) -> None:
    contents = [_blob(*spec) for spec in blobs]
    package = PACKAGES[project]
    with tempfile.TemporaryDirectory(prefix="verify-scan-property-") as tmp:
        paths = []
        for number, specs in enumerate(wheels):
            members: dict[str, tuple[bytes, dict[str, object]]] = {}
            for spec in specs:
                name = f"{package}/vendor/f{spec['name']}"
                members.setdefault(name, (contents[int(str(spec["blob"])) % len(contents)], spec))
            paths.append(_write(Path(tmp) / f"w{number}.whl", project, members))
        _events(paths)
        fast = scan_wheels(paths, project, V)
        plain = [plain_facts(path, project, V) for path in paths]
        assert fast == plain
        assert [wheel_contents(f, project, V)[1] for f in fast] == [wheel_contents(p, project, V)[1] for p in plain]
