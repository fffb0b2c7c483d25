"""Fuzzing the header readers: whatever the bytes, only a BinaryInfo or a ReleaseError comes out,
quickly (no hang, no huge allocation), and tag derivation on the result behaves the same way."""

from __future__ import annotations

import struct
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codex_release.binaries import BinaryInfo, inspect_binary, sniff_format
from codex_release.core.platform_tags import check_requested_tags, derive_platform_tags
from codex_release.core.targets import TARGETS
from codex_release.errors import ReleaseError
from tests.synthetic_binaries import make_elf, make_fat_macho, make_macho, make_pe

SEEDS: dict[str, bytes] = {
    "elf-static": make_elf("x86_64"),
    "elf-static-pie": make_elf("x86_64", pie=True),
    "elf-glibc": make_elf("aarch64", static=False, libc="glibc", glibc_versions=("2.17", "2.18", "2.28")),
    "elf-glibc-nosections": make_elf(
        "x86_64", static=False, libc="glibc", glibc_versions=("2.34",), section_headers=False
    ),
    "elf-musl": make_elf("x86_64", static=False, libc="musl"),
    "elf-so": make_elf("x86_64", kind="shared library", static=False, libc="glibc", glibc_versions=("2.14",)),
    "elf32": make_elf("i386", static=False, libc="glibc", glibc_versions=("2.0",)),
    "elf-be": make_elf("s390x"),
    "macho": make_macho("aarch64", minos=(11, 0)),
    "macho-version-min": make_macho("x86_64", minos=(10, 12), cmd="version_min", kind="shared library"),
    "macho32": make_macho("i386", minos=(10, 6), cmd="version_min"),
    "macho-be": make_macho("ppc", minos=(10, 4), cmd="version_min"),
    "fat": make_fat_macho([make_macho("x86_64"), make_macho("aarch64")]),
    "fat64": make_fat_macho([make_macho("x86_64"), make_macho("aarch64")], wide=True),
    "pe": make_pe("x86_64"),
    "pe-dll": make_pe("aarch64", kind="dll"),
    "pe32": make_pe("i386"),
}
MAGICS = [b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xca\xfe\xba\xbe", b"MZ"]
INTERESTING = [0, 1, 2, 7, 8, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 2**63, 2**64 - 1]
TIME_LIMIT = 1.0  # seconds per input; the real 290 MB codex takes about a millisecond

FUZZ = settings(
    max_examples=200,
    deadline=None,  # timing is asserted explicitly, with a limit that tolerates a busy 2-core machine
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fuzz-binaries-") as tmp:
        yield Path(tmp)


def check_bytes(scratch: Path, data: bytes) -> None:
    """The property: a result or a ReleaseError naming the file, for reading and for tagging."""
    path = scratch / "candidate"
    path.write_bytes(data)
    start = time.perf_counter()
    try:
        fmt = sniff_format(path)
        info = inspect_binary(path, label="fuzzed/bin")
    except ReleaseError as exc:
        message = str(exc)
        assert "fuzzed/bin" in message or "candidate" in message
        assert "\n" not in message
    else:
        assert isinstance(info, BinaryInfo)
        assert info.format == fmt
        assert info.archs
        info.describe()
        check_tagging(info)
    assert time.perf_counter() - start < TIME_LIMIT


def check_tagging(info: BinaryInfo) -> None:
    for target in TARGETS:
        try:
            tags = derive_platform_tags([info], target)
        except ReleaseError:
            continue
        assert tags
        assert check_requested_tags(".".join(tags), [info], target) == tags


@FUZZ
@given(data=st.one_of(st.binary(max_size=2048), st.tuples(st.sampled_from(MAGICS), st.binary(max_size=2048))))
def test_random_bytes(scratch: Path, data: bytes | tuple[bytes, bytes]) -> None:
    check_bytes(scratch, data if isinstance(data, bytes) else data[0] + data[1])


@FUZZ
@given(
    seed=st.sampled_from(sorted(SEEDS)),
    edits=st.lists(st.tuples(st.integers(0, 4095), st.integers(0, 255)), min_size=1, max_size=8),
)
def test_byte_flips_in_valid_headers(scratch: Path, seed: str, edits: list[tuple[int, int]]) -> None:
    data = bytearray(SEEDS[seed])
    for offset, value in edits:
        data[offset % len(data)] = value
    check_bytes(scratch, bytes(data))


@FUZZ
@given(
    seed=st.sampled_from(sorted(SEEDS)),
    edits=st.lists(
        st.tuples(
            st.integers(0, 1023),
            st.sampled_from([("<", 4), (">", 4), ("<", 8), (">", 8), ("<", 2)]),
            st.sampled_from(INTERESTING),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_interesting_values_in_header_fields(
    scratch: Path, seed: str, edits: list[tuple[int, tuple[str, int], int]]
) -> None:
    """Counts, offsets and sizes set to 0, 1, all-ones, sign bits ...: the values that break readers."""
    data = bytearray(SEEDS[seed])
    for offset, (endian, width), value in edits:
        position = (offset // width * width) % max(1, len(data) - width)
        fmt = endian + {2: "H", 4: "I", 8: "Q"}[width]
        struct.pack_into(fmt, data, position, value & ((1 << (8 * width)) - 1))
    check_bytes(scratch, bytes(data))


@FUZZ
@given(seed=st.sampled_from(sorted(SEEDS)), cut=st.integers(0, 5000), tail=st.binary(max_size=64))
def test_truncated_and_extended_files(scratch: Path, seed: str, cut: int, tail: bytes) -> None:
    check_bytes(scratch, SEEDS[seed][:cut] + tail)


def test_every_seed_is_valid(scratch: Path) -> None:
    for name, data in SEEDS.items():
        (scratch / name).write_bytes(data)
        assert inspect_binary(scratch / name).archs, name
