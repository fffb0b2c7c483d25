"""Fuzzing the archive and wheel reader: whatever the bytes of a real-shaped ``.tgz`` or wheel, only a
result or the toolkit's own :class:`ReleaseError` comes out, and a refused tarball leaves no scratch.

``make fuzz`` runs the same properties much longer: ``ARCHIVE_FUZZ_EXAMPLES`` sets the examples per test.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codex_release.archives import Limits, WheelArchive, extract_tgz
from codex_release.checks.verify.rules import wheel_contents
from codex_release.checks.verify.scan import scan_wheels
from codex_release.core.versions import parse_codex_version
from codex_release.errors import ReleaseError
from tests.synthetic_binaries import write_platform_package

TRIPLE = "x86_64-unknown-linux-musl"
VERSION = parse_codex_version("0.169.0")
LIMITS = Limits(max_bytes=8 << 20, max_members=200)
FUZZ = settings(
    max_examples=int(os.environ.get("ARCHIVE_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
    database=None,
)


@pytest.fixture(scope="module")
def seeds() -> Iterator[tuple[Path, bytes, bytes, bytes]]:
    """(scratch, tar bytes, tgz bytes, wheel bytes) of a small synthetic platform package."""
    with tempfile.TemporaryDirectory(prefix="fuzz-archives-") as tmp:
        root = Path(tmp)
        package = write_platform_package(root / "pkg", TRIPLE)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
            tar.add(package, arcname=f"package/vendor/{TRIPLE}")
        raw = buffer.getvalue()
        wheel = io.BytesIO()
        with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(p for p in package.rglob("*") if p.is_file()):
                zf.write(path, "codex_cli_bin/vendor/" + path.relative_to(package).as_posix())
            zf.writestr("openai_codex_cli_bin-0.169.0.dist-info/RECORD", "")
        scratch = root / "scratch"
        scratch.mkdir()
        yield scratch, raw, gzip.compress(raw, mtime=0), wheel.getvalue()


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    out = bytearray(data)
    for position, value in edits:
        out[position % len(out)] = value
    return bytes(out[: cut % (len(out) + 1)] if cut is not None else out)


EDITS = st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=8)
CUTS = st.one_of(st.none(), st.integers(0, 1 << 20))


def _check_tgz(scratch: Path, data: bytes) -> None:
    path = scratch / "candidate.tgz"
    path.write_bytes(data)
    work = scratch / "work"
    work.mkdir()
    try:
        tree = extract_tgz(path, work, limits=LIMITS)
    except ReleaseError as exc:
        message = str(exc)
        assert "\n" not in message
        assert list(work.iterdir()) == []  # nothing left behind
    else:
        assert all(not p.is_symlink() for p in tree.root.rglob("*"))
        for name in tree.files:
            assert (tree.root / name).resolve().is_relative_to(tree.root.resolve())
    finally:
        shutil.rmtree(work)


@FUZZ
@given(edits=EDITS, cut=CUTS)
def test_mutated_gzip_bytes(
    seeds: tuple[Path, bytes, bytes, bytes], edits: list[tuple[int, int]], cut: int | None
) -> None:
    scratch, _, tgz, _ = seeds
    _check_tgz(scratch, _mutate(tgz, edits, cut))


@FUZZ
@given(edits=EDITS, cut=CUTS)
def test_mutated_tar_headers(
    seeds: tuple[Path, bytes, bytes, bytes], edits: list[tuple[int, int]], cut: int | None
) -> None:
    """Mutations of the tar stream itself (valid gzip around it): headers, sizes, names, types."""
    scratch, raw, _, _ = seeds
    header_edits = [(position % 4096, value) for position, value in edits]  # where the headers are
    _check_tgz(scratch, gzip.compress(_mutate(raw, header_edits, cut), compresslevel=1, mtime=0))


@FUZZ
@given(edits=EDITS, cut=CUTS)
def test_mutated_wheels(seeds: tuple[Path, bytes, bytes, bytes], edits: list[tuple[int, int]], cut: int | None) -> None:
    scratch, _, _, wheel = seeds
    path = scratch / "openai_codex_cli_bin-0.169.0-py3-none-any.whl"
    path.write_bytes(_mutate(wheel, edits, cut))
    try:
        with WheelArchive(path, limits=LIMITS) as archive:
            for member in archive.files():
                assert len(archive.read(member)) == member.size
    except ReleaseError as exc:
        message = str(exc)
        assert "\n" not in message
    (facts,) = scan_wheels([path], "openai-codex-cli-bin", VERSION)  # facts, never an exception
    _, faults = wheel_contents(facts, "openai-codex-cli-bin", VERSION)  # faults, never an exception
    assert all(isinstance(fault, str) for fault in faults)
