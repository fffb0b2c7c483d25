"""Header reading: what each kind of executable says about the system it needs, and clear errors
for files that are not executables or whose headers are cut short or corrupt."""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from codex_release.binaries import BinaryInfo, inspect_binary, inspect_tree, sniff_format
from codex_release.errors import ArchiveRefused
from tests.synthetic_binaries import make_elf, make_fat_macho, make_macho, make_pe, write_binary


def _inspect(tmp_path: Path, data: bytes, name: str = "bin/codex") -> BinaryInfo:
    return inspect_binary(write_binary(tmp_path / name, data), label=name)


# ------------------------------------------------------------------------------------------
# sniff_format
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (make_elf("x86_64"), "elf"),
        (make_macho("aarch64"), "macho"),
        (make_macho("i386", cmd="version_min", minos=(10, 6)), "macho"),
        (make_fat_macho([make_macho("x86_64"), make_macho("aarch64")]), "macho"),
        (make_fat_macho([make_macho("aarch64")], wide=True), "macho"),
        (make_pe("x86_64"), "pe"),
        (b'#!/bin/sh\nexec codex "$@"\n', None),
        (b"", None),
        (b"\x7fEL", None),
        (b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + b"\0" * 64, None),  # a Java class file (version 52), not fat Mach-O
        (b"PK\x03\x04" + b"\0" * 64, None),
    ],
    ids=["elf", "macho", "macho32", "fat", "fat64", "pe", "script", "empty", "short", "java-class", "zip"],
)
def test_sniff_format(tmp_path: Path, data: bytes, expected: str | None) -> None:
    assert sniff_format(write_binary(tmp_path / "f", data)) == expected


def test_sniff_format_names_an_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ArchiveRefused, match=r"cannot read .*missing"):
        sniff_format(tmp_path / "missing")


# ------------------------------------------------------------------------------------------
# ELF
# ------------------------------------------------------------------------------------------


def test_elf_static_executable(tmp_path: Path) -> None:
    info = _inspect(tmp_path, make_elf("aarch64"))
    assert (info.format, info.os, info.archs, info.kind) == ("elf", "linux", ("aarch64",), "executable")
    assert (info.static, info.libc, info.glibc_version, info.interpreter) == (True, None, None, None)
    assert info.describe() == "ELF aarch64 executable, statically linked"
    assert info.name == "bin/codex"


def test_elf_static_pie_executable_is_static(tmp_path: Path) -> None:
    # Like the real x86_64 codex: ET_DYN with a dynamic section (DF_1_PIE) but no interpreter or DT_NEEDED.
    info = _inspect(tmp_path, make_elf("x86_64", pie=True))
    assert (info.static, info.kind, info.libc) == (True, "executable", None)


def test_elf_glibc_executable_reports_highest_glibc_version(tmp_path: Path) -> None:
    data = make_elf("x86_64", static=False, libc="glibc", glibc_versions=("2.2.5", "2.34", "2.17", "PRIVATE"))
    info = _inspect(tmp_path, data)
    assert (info.static, info.libc, info.glibc_version) == (False, "glibc", (2, 34))
    assert info.interpreter == "/lib64/ld-linux-x86-64.so.2"
    assert info.describe() == "ELF x86_64 executable, dynamically linked against glibc 2.34"


def test_elf_glibc_pie_without_section_headers(tmp_path: Path) -> None:
    # The loader's view (PT_DYNAMIC, DT_VERNEED) is read, so a file without section headers is fine.
    data = make_elf("aarch64", static=False, libc="glibc", glibc_versions=("2.18",), pie=True, section_headers=False)
    info = _inspect(tmp_path, data)
    assert (info.kind, info.libc, info.glibc_version) == ("executable", "glibc", (2, 18))


def test_elf_glibc_without_symbol_versions(tmp_path: Path) -> None:
    info = _inspect(tmp_path, make_elf("x86_64", static=False, libc="glibc"))
    assert (info.libc, info.glibc_version) == ("glibc", None)


def test_elf_musl_executable(tmp_path: Path) -> None:
    info = _inspect(tmp_path, make_elf("x86_64", static=False, libc="musl"))
    assert (info.static, info.libc, info.interpreter) == (False, "musl", "/lib/ld-musl-x86_64.so.1")


@pytest.mark.parametrize(
    ("libc", "versions", "expected_libc", "expected_version"),
    [("glibc", ("2.14", "2.28"), "glibc", (2, 28)), ("musl", (), "musl", None)],
)
def test_elf_shared_library_libc_from_needed_libraries(
    tmp_path: Path, libc: str, versions: tuple[str, ...], expected_libc: str, expected_version: tuple[int, int] | None
) -> None:
    data = make_elf("aarch64", kind="shared library", static=False, libc=libc, glibc_versions=versions)  # type: ignore[arg-type]
    info = _inspect(tmp_path, data, "voice/lib/libglib-2.0.so.0")
    assert (info.kind, info.static, info.libc, info.glibc_version, info.interpreter) == (
        "shared library",
        False,
        expected_libc,
        expected_version,
        None,
    )


def test_elf_unknown_interpreter_leaves_libc_unknown(tmp_path: Path) -> None:
    info = _inspect(tmp_path, make_elf("aarch64", static=False, libc=None, interpreter="/system/bin/linker64"))
    assert (info.static, info.libc) == (False, None)
    assert "unknown C library (interpreter /system/bin/linker64)" in info.describe()


@pytest.mark.parametrize(
    ("arch", "expected"),
    [("i386", "i386"), ("arm", "arm"), ("riscv64", "riscv"), ("ppc64le", "ppc64le"), ("s390x", "s390x")],
)
def test_elf_other_architectures(tmp_path: Path, arch: str, expected: str) -> None:
    assert _inspect(tmp_path, make_elf(arch)).archs == (expected,)


def test_elf_other_os_from_osabi(tmp_path: Path) -> None:
    info = _inspect(tmp_path, make_elf("x86_64", osabi=9))
    assert info.os == "freebsd"
    assert info.describe() == "ELF x86_64 executable for freebsd, statically linked"


# ------------------------------------------------------------------------------------------
# Mach-O
# ------------------------------------------------------------------------------------------


def test_macho_build_version(tmp_path: Path) -> None:
    info = _inspect(tmp_path, make_macho("aarch64", minos=(11, 0)))
    assert (info.format, info.os, info.archs, info.kind, info.macos_min) == (
        "macho",
        "macos",
        ("aarch64",),
        "executable",
        (11, 0),
    )
    assert info.describe() == "Mach-O aarch64 executable (macOS 11.0+)"


def test_macho_version_min_macosx(tmp_path: Path) -> None:
    info = _inspect(tmp_path, make_macho("x86_64", minos=(10, 12), cmd="version_min"))
    assert (info.archs, info.macos_min) == (("x86_64",), (10, 12))


def test_macho_patch_level_is_dropped(tmp_path: Path) -> None:
    assert _inspect(tmp_path, make_macho("x86_64", minos=(14, 2, 1))).macos_min == (14, 2)


def test_macho_shared_library_and_bundle(tmp_path: Path) -> None:
    assert _inspect(tmp_path, make_macho("x86_64", kind="shared library"), "a.dylib").kind == "shared library"
    assert _inspect(tmp_path, make_macho("x86_64", kind="bundle"), "a.so").kind == "bundle"


def test_macho_without_minimum_os(tmp_path: Path) -> None:
    info = _inspect(tmp_path, make_macho("x86_64", cmd=None))
    assert (info.os, info.macos_min) == ("macos", None)
    assert info.describe().endswith("(no minimum macOS recorded)")


@pytest.mark.parametrize("cmd", ["build_version", "version_min"])
def test_macho_for_ios_is_not_macos(tmp_path: Path, cmd: str) -> None:
    info = _inspect(tmp_path, make_macho("aarch64", platform="ios", minos=(15, 0), cmd=cmd))  # type: ignore[arg-type]
    assert (info.os, info.macos_min) == ("ios", None)


def test_macho_arm64e_is_its_own_arch(tmp_path: Path) -> None:
    assert _inspect(tmp_path, make_macho("arm64e")).archs == ("arm64e",)


@pytest.mark.parametrize("wide", [False, True], ids=["fat", "fat64"])
def test_universal_macho_lists_every_slice_and_takes_the_highest_minimum(tmp_path: Path, wide: bool) -> None:
    data = make_fat_macho(
        [make_macho("x86_64", minos=(10, 12), cmd="version_min"), make_macho("aarch64", minos=(11, 0))], wide=wide
    )
    info = _inspect(tmp_path, data)
    assert (info.archs, info.macos_min, info.kind) == (("x86_64", "aarch64"), (11, 0), "executable")
    assert info.describe() == "universal Mach-O x86_64+aarch64 executable (macOS 11.0+)"


# ------------------------------------------------------------------------------------------
# PE
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arch", "kind", "expected_arch", "expected_kind"),
    [
        ("x86_64", "executable", "x86_64", "executable"),
        ("aarch64", "dll", "aarch64", "DLL"),
        ("i386", "executable", "i386", "executable"),
        ("arm", "dll", "arm", "DLL"),
    ],
)
def test_pe(tmp_path: Path, arch: str, kind: str, expected_arch: str, expected_kind: str) -> None:
    info = _inspect(tmp_path, make_pe(arch, kind=kind), "bin/codex.exe")  # type: ignore[arg-type]
    assert (info.format, info.os, info.archs, info.kind) == ("pe", "windows", (expected_arch,), expected_kind)
    assert info.describe() == f"PE {expected_arch} {expected_kind}"


def test_pe_efi_application_is_not_windows(tmp_path: Path) -> None:
    assert _inspect(tmp_path, make_pe("x86_64", subsystem=10), "boot.efi").os == "uefi"


# ------------------------------------------------------------------------------------------
# Bad input
# ------------------------------------------------------------------------------------------


def test_non_executable_is_refused_with_the_file_named(tmp_path: Path) -> None:
    with pytest.raises(ArchiveRefused, match=r"^bin/codex is not an executable"):
        _inspect(tmp_path, b"#!/bin/sh\necho hi\n")


_VALID_SAMPLES = {  # name: (bytes, format name in messages)
    "elf-static": (make_elf("x86_64"), "ELF"),
    "elf-glibc": (make_elf("aarch64", static=False, libc="glibc", glibc_versions=("2.17", "2.28")), "ELF"),
    "elf32-glibc": (make_elf("i386", static=False, libc="glibc", glibc_versions=("2.0",)), "ELF"),
    "macho": (make_macho("aarch64"), "Mach-O"),
    "macho32": (make_macho("i386", minos=(10, 6), cmd="version_min"), "Mach-O"),
    "fat": (make_fat_macho([make_macho("x86_64"), make_macho("aarch64")]), "Mach-O"),
    "pe": (make_pe("x86_64"), "PE"),
}


@pytest.mark.parametrize("sample", sorted(_VALID_SAMPLES))
def test_truncated_headers_are_refused_with_the_file_named(tmp_path: Path, sample: str) -> None:
    data, fmt = _VALID_SAMPLES[sample]
    assert inspect_binary(write_binary(tmp_path / "whole", data)).format  # the uncut file is fine
    # Every cut that keeps the magic but loses part of the headers must be refused, naming the file.
    cuts = [cut for cut in (8, 20, 40, 60, 100, 200) if cut < len(data)]
    for cut in cuts:
        path = write_binary(tmp_path / f"cut{cut}", data[:cut])
        with pytest.raises(ArchiveRefused, match=rf"^cut{cut} has a truncated or corrupt {fmt} header"):
            inspect_binary(path, label=f"cut{cut}")
    assert len(cuts) >= 5


def _patched(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def _dyn_entry(data: bytes, tag: int) -> int:
    """Offset of the first 64-bit little-endian dynamic entry with ``tag`` in a synthetic ELF."""
    (phoff,) = struct.unpack_from("<Q", data, 32)
    for index in range(struct.unpack_from("<H", data, 56)[0]):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + 56 * index)
        if p_type == 2:  # PT_DYNAMIC
            for entry in range(p_offset, p_offset + p_filesz, 16):
                if struct.unpack_from("<q", data, entry)[0] == tag:
                    return entry
    raise AssertionError(f"no dynamic tag {tag}")


_ELF64 = make_elf("x86_64", static=False, libc="glibc", glibc_versions=("2.17",))
_ELF_PHOFF = struct.unpack_from("<Q", _ELF64, 32)[0]
_MACHO = make_macho("aarch64")
_FAT = make_fat_macho([make_macho("x86_64"), make_macho("aarch64")])
_PE = make_pe("x86_64")


@pytest.mark.parametrize(
    ("data", "fmt", "detail"),
    [
        (_patched(_ELF64, 4, "<B", 7), "ELF", "EI_CLASS"),
        (_patched(_ELF64, 54, "<H", 12), "ELF", "e_phentsize 12"),
        (_patched(_ELF64, 56, "<H", 0xFFFF), "ELF", "program headers is implausible"),
        (_patched(_ELF64, 32, "<Q", 1 << 40), "ELF", "program header table at offset"),
        (_patched(_ELF64, _ELF_PHOFF + 56 + 8, "<Q", 1 << 33), "ELF", "segment 1 (PT_INTERP) ends at byte"),
        (_patched(_MACHO, 20, "<I", 1 << 30), "Mach-O", "load commands"),  # sizeofcmds
        (_patched(_MACHO, 36, "<I", 0), "Mach-O", "impossible size 0"),  # first cmdsize
        (_patched(_MACHO, 16, "<I", 1000), "Mach-O", "load command 4 of 1000"),  # ncmds
        (_patched(_FAT, 16, ">I", 1 << 31), "Mach-O", "slice 0"),  # fat_arch[0].offset
        (_patched(_FAT, 8, ">i", 12), "Mach-O", "the fat table says CPU 0xc"),  # fat_arch[0].cputype
        (_patched(_PE, 0x3C, "<I", 1 << 30), "PE", "PE signature and COFF header at offset 1073741824"),
        (_patched(_PE, 0x80, "<I", 0x4551), "PE", "PEFormatError"),  # "PE\0\0" signature
        (_patched(_PE, 0x80 + 24 + 240 + 20, "<I", 1 << 20), "PE", "section '.text' ends at byte"),  # PointerToRawData
        (_patched(_ELF64, _dyn_entry(_ELF64, 5) + 8, "<Q", 1 << 40), "ELF", "DT_STRTAB address"),
        (
            _ELF64.replace(b"/lib64/ld-linux-x86-64.so.2\0", b"/lib64/ld-linux-x86-64.so.2!"),
            "ELF",
            "not NUL-terminated",
        ),
        (_patched(_MACHO, 32 + 48, "<Q", 1 << 20), "Mach-O", "segment of load command 0 ends at byte"),
    ],
    ids=[
        "elf-class",
        "elf-phentsize",
        "elf-phnum",
        "elf-phoff",
        "elf-interp-offset",
        "macho-sizeofcmds",
        "macho-cmdsize",
        "macho-ncmds",
        "fat-slice-offset",
        "fat-cputype",
        "pe-lfanew",
        "pe-signature",
        "pe-section-past-end",
        "elf-strtab-unmapped",
        "elf-interp-unterminated",
        "macho-segment-past-end",
    ],
)
def test_corrupt_headers_are_refused_with_the_file_named(tmp_path: Path, data: bytes, fmt: str, detail: str) -> None:
    with pytest.raises(ArchiveRefused) as caught:
        _inspect(tmp_path, data)
    message = str(caught.value)
    assert message.startswith(f"bin/codex has a truncated or corrupt {fmt} header (")
    assert detail in message
    assert "\n" not in message


def test_version_needed_counts_from_the_file_are_not_trusted(tmp_path: Path) -> None:
    # DT_VERNEEDNUM of four billion with vn_next = 0: pyelftools' iterator would spin; the loader (and we) stop.
    data = _patched(_ELF64, _dyn_entry(_ELF64, 0x6FFFFFFF) + 8, "<Q", 0xFFFFFFFF)
    start = time.perf_counter()
    assert _inspect(tmp_path, data).glibc_version == (2, 17)
    assert time.perf_counter() - start < 0.5


def test_dynamic_section_without_dt_null_stops_at_its_end(tmp_path: Path) -> None:
    data = _patched(_ELF64, _dyn_entry(_ELF64, 0), "<q", 0x7FFFFFFF)  # DT_NULL -> an unknown tag
    assert _inspect(tmp_path, data).libc == "glibc"


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ArchiveRefused, match=r"pipe is not a regular file"):
        sniff_format(tmp_path / "pipe")
    with pytest.raises(ArchiveRefused, match=r"^bin/pipe is not a regular file"):
        inspect_binary(tmp_path / "pipe", label="bin/pipe")
    assert inspect_tree(tmp_path) == []  # not followed into, not an error: staging refuses FIFOs itself


def test_inspect_binary_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ArchiveRefused, match=r"cannot read .*nope"):
        inspect_binary(tmp_path / "nope")


# ------------------------------------------------------------------------------------------
# Only the headers are read
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "builder",
    [
        lambda: make_elf("x86_64", static=False, libc="glibc", glibc_versions=("2.28",)),
        lambda: make_fat_macho([make_macho("x86_64"), make_macho("aarch64")]),
        lambda: make_pe("aarch64"),
    ],
    ids=["elf", "macho", "pe"],
)
def test_a_300_mb_file_is_inspected_from_its_headers(tmp_path: Path, builder: Callable[[], bytes]) -> None:
    path = write_binary(tmp_path / "big", builder())
    with open(path, "r+b") as fh:
        fh.truncate(300 * 1024 * 1024)  # sparse: reading it all would take seconds and 300 MB of memory
    start = time.perf_counter()
    inspect_binary(path)
    assert time.perf_counter() - start < 0.5


# ------------------------------------------------------------------------------------------
# inspect_tree
# ------------------------------------------------------------------------------------------


def test_inspect_tree_finds_every_binary_by_magic_sorted_and_relative(tmp_path: Path) -> None:
    write_binary(tmp_path / "codex-path" / "rg", make_elf("x86_64"))
    write_binary(tmp_path / "bin" / "codex", make_elf("x86_64", pie=True))
    write_binary(
        tmp_path / "codex-resources" / "voice" / "lib" / "libz.so.1", make_elf("x86_64", kind="shared library")
    )
    write_binary(tmp_path / "codex-resources" / "README.md", b"# not a binary\n", mode=0o644)
    write_binary(tmp_path / "codex-package.json", b"{}\n", mode=0o644)
    os.symlink(tmp_path / "bin" / "codex", tmp_path / "bin" / "codex-link")
    infos = inspect_tree(tmp_path)
    assert [info.name for info in infos] == ["bin/codex", "codex-path/rg", "codex-resources/voice/lib/libz.so.1"]
    assert infos[0].path == tmp_path / "bin" / "codex"
    assert infos[2].kind == "shared library"


def test_inspect_tree_refuses_a_corrupt_binary_by_its_relative_name(tmp_path: Path) -> None:
    write_binary(tmp_path / "bin" / "codex", make_elf("x86_64"))
    write_binary(tmp_path / "codex-resources" / "voice" / "lib" / "libz.so.1", make_elf("x86_64")[:40])
    with pytest.raises(ArchiveRefused, match=r"^codex-resources/voice/lib/libz\.so\.1 has a truncated or corrupt ELF"):
        inspect_tree(tmp_path)


def test_inspect_tree_needs_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ArchiveRefused, match="is not a directory"):
        inspect_tree(tmp_path / "missing")


# ------------------------------------------------------------------------------------------
# The real pinned runtime
# ------------------------------------------------------------------------------------------


@pytest.mark.runtime
def test_real_codex_binary_is_inspected_in_well_under_a_second(real_codex_bin: Path) -> None:
    assert real_codex_bin.stat().st_size > 100 * 1024 * 1024
    start = time.perf_counter()
    info = inspect_binary(real_codex_bin)
    elapsed = time.perf_counter() - start
    assert (info.format, info.os, info.archs, info.kind, info.static) == (
        "elf",
        "linux",
        ("x86_64",),
        "executable",
        True,
    )
    assert elapsed < 0.25
