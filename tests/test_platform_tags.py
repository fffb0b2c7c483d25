"""Platform tags derived from the binaries, and requested tags checked against them."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.tags import mac_platforms

from codex_release.binaries import BinaryInfo, inspect_tree
from codex_release.core.platform_tags import (
    check_requested_tags,
    derive_platform_tags,
    expand_tag_set,
    pip_generates_macos_tag,
    pip_macos_version,
    tag_problem,
)
from codex_release.core.targets import TARGETS, Target, get_target
from codex_release.errors import InputRefused
from tests.synthetic_binaries import (
    make_elf,
    make_fat_macho,
    make_macho,
    make_pe,
    write_binary,
    write_platform_package,
)

LINUX_X64 = get_target("x86_64-unknown-linux-musl")
LINUX_ARM64 = get_target("aarch64-unknown-linux-musl")
MAC_X64 = get_target("x86_64-apple-darwin")
MAC_ARM64 = get_target("aarch64-apple-darwin")
WIN_X64 = get_target("x86_64-pc-windows-msvc")
WIN_ARM64 = get_target("aarch64-pc-windows-msvc")


def tree(root: Path, files: Mapping[str, bytes]) -> list[BinaryInfo]:
    for name, data in files.items():
        write_binary(root / name, data)
    return inspect_tree(root)


def glibc_elf(arch: str, *versions: str, kind: str = "executable") -> bytes:
    return make_elf(arch, static=False, libc="glibc", glibc_versions=versions, kind=kind)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------
# Synthetic platform packages of every target
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.triple)
def test_synthetic_package_earns_the_target_table_tags(tmp_path: Path, target: Target) -> None:
    infos = inspect_tree(write_platform_package(tmp_path, target.triple))
    assert derive_platform_tags(infos, target) == target.expected_tags


@pytest.mark.parametrize(
    ("triple", "expected"),
    [
        ("aarch64-apple-darwin", ("macosx_14_0_arm64",)),
        ("x86_64-apple-darwin", ("macosx_14_0_x86_64",)),
        ("aarch64-unknown-linux-musl", ("manylinux_2_28_aarch64",)),
        ("x86_64-unknown-linux-musl", ("manylinux_2_28_x86_64",)),
        ("aarch64-pc-windows-msvc", ("win_arm64",)),
        ("x86_64-pc-windows-msvc", ("win_amd64",)),
    ],
)
def test_voice_libraries_raise_the_tag(tmp_path: Path, triple: str, expected: tuple[str, ...]) -> None:
    infos = inspect_tree(write_platform_package(tmp_path, triple, voice=True))
    assert any(info.name.startswith("codex-resources/voice/lib") for info in infos) or triple.endswith("msvc")
    assert derive_platform_tags(infos, get_target(triple)) == expected


# ------------------------------------------------------------------------------------------
# Linux
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("pie", [False, True], ids=["static", "static-pie"])
def test_static_linux_binaries_earn_musllinux_and_manylinux(tmp_path: Path, pie: bool) -> None:
    infos = tree(tmp_path, {"bin/codex": make_elf("aarch64", pie=pie), "codex-path/rg": make_elf("aarch64")})
    assert derive_platform_tags(infos, LINUX_ARM64) == (
        "musllinux_1_1_aarch64",
        "manylinux_2_17_aarch64",
        "manylinux2014_aarch64",
    )


def test_dynamic_glibc_file_earns_manylinux_of_its_highest_glibc_only(tmp_path: Path) -> None:
    infos = tree(
        tmp_path,
        {
            "bin/codex": make_elf("x86_64"),
            "voice/bin/host": glibc_elf("x86_64", "2.17", "2.28"),
            "voice/lib/libz.so.1": glibc_elf("x86_64", "2.2.5", "2.14", kind="shared library"),
        },
    )
    assert derive_platform_tags(infos, LINUX_X64) == ("manylinux_2_28_x86_64",)


@pytest.mark.parametrize("versions", [("2.2.5", "2.14"), ("2.17",), ()], ids=["old", "exactly-2.17", "unversioned"])
def test_old_glibc_needs_are_raised_to_the_2_17_floor_with_its_alias(tmp_path: Path, versions: tuple[str, ...]) -> None:
    infos = tree(tmp_path, {"bin/codex": glibc_elf("aarch64", *versions)})
    assert derive_platform_tags(infos, LINUX_ARM64) == ("manylinux_2_17_aarch64", "manylinux2014_aarch64")


def test_dynamic_musl_file_earns_musllinux_only(tmp_path: Path) -> None:
    infos = tree(
        tmp_path, {"bin/codex": make_elf("x86_64"), "bin/helper": make_elf("x86_64", static=False, libc="musl")}
    )
    assert derive_platform_tags(infos, LINUX_X64) == ("musllinux_1_1_x86_64",)


def test_musl_and_glibc_files_cannot_share_a_wheel(tmp_path: Path) -> None:
    infos = tree(
        tmp_path,
        {"a/musl-tool": make_elf("x86_64", static=False, libc="musl"), "b/glibc-tool": glibc_elf("x86_64", "2.17")},
    )
    with pytest.raises(InputRefused, match=r"^a/musl-tool needs musl but b/glibc-tool needs glibc"):
        derive_platform_tags(infos, LINUX_X64)


def test_unknown_c_library_is_refused(tmp_path: Path) -> None:
    data = make_elf("aarch64", static=False, libc=None, interpreter="/system/bin/linker64")
    infos = tree(tmp_path, {"bin/codex": data})
    with pytest.raises(
        InputRefused, match=r"^bin/codex is an ELF aarch64 .*interpreter /system/bin/linker64.*C library"
    ):
        derive_platform_tags(infos, LINUX_ARM64)


# ------------------------------------------------------------------------------------------
# macOS
# ------------------------------------------------------------------------------------------


def test_x86_64_version_min_10_12_earns_10_12_not_10_9(tmp_path: Path) -> None:
    infos = tree(tmp_path, {"bin/codex": make_macho("x86_64", minos=(10, 12), cmd="version_min")})
    assert derive_platform_tags(infos, MAC_X64) == ("macosx_10_12_x86_64",)


def test_highest_minimum_over_every_macho_file_wins(tmp_path: Path) -> None:
    infos = tree(
        tmp_path,
        {
            "bin/codex": make_macho("aarch64", minos=(11, 0)),
            "voice/lib/libglib.dylib": make_macho("aarch64", minos=(14, 0), kind="shared library"),
            "voice/plugins/libgstopus.so": make_macho("aarch64", minos=(13, 0), kind="bundle"),
        },
    )
    assert derive_platform_tags(infos, MAC_ARM64) == ("macosx_14_0_arm64",)


@pytest.mark.parametrize(
    ("arch", "minos", "expected"),
    [
        ("aarch64", (10, 15), "macosx_11_0_arm64"),  # arm64 Macs start at 11.0
        ("aarch64", (14, 2), "macosx_15_0_arm64"),  # pip only generates X_0 from 11 on: round up
        ("x86_64", (14, 2), "macosx_15_0_x86_64"),
        ("x86_64", (11, 0), "macosx_11_0_x86_64"),
        ("x86_64", (10, 16), "macosx_11_0_x86_64"),  # 10.16 is macOS 11 seen by an old SDK
        ("x86_64", (10, 9), "macosx_10_9_x86_64"),
    ],
)
def test_macos_minimum_to_tag(tmp_path: Path, arch: str, minos: tuple[int, int], expected: str) -> None:
    infos = tree(tmp_path, {"bin/codex": make_macho(arch, minos=minos)})
    assert derive_platform_tags(infos, get_target(f"{arch}-apple-darwin")) == (expected,)


def test_universal_binary_with_the_target_slice_is_accepted(tmp_path: Path) -> None:
    fat = make_fat_macho([make_macho("x86_64", minos=(10, 13)), make_macho("aarch64", minos=(11, 0))])
    infos = tree(tmp_path, {"bin/codex": fat})
    assert derive_platform_tags(infos, MAC_X64) == ("macosx_11_0_x86_64",)  # max over all slices


def test_universal_binary_without_the_target_slice_is_refused(tmp_path: Path) -> None:
    fat = make_fat_macho([make_macho("x86_64", minos=(10, 13)), make_macho("arm64e", minos=(11, 0))])
    infos = tree(tmp_path, {"bin/codex": fat})
    with pytest.raises(InputRefused, match=r"^bin/codex is a universal Mach-O x86_64\+arm64e .* needs aarch64"):
        derive_platform_tags(infos, MAC_ARM64)


def test_macho_without_minimum_is_refused(tmp_path: Path) -> None:
    infos = tree(tmp_path, {"bin/codex": make_macho("x86_64", cmd=None)})
    with pytest.raises(InputRefused, match=r"^bin/codex .* records no minimum macOS"):
        derive_platform_tags(infos, MAC_X64)


_MACOS_RELEASES = [(10, minor) for minor in range(16)] + [
    (major, minor) for major in range(11, 31) for minor in range(10)
]


def _normalised(version: tuple[int, int]) -> tuple[int, int]:
    return (11, 0) if version[0] == 10 and version[1] >= 16 else version


@settings(max_examples=60, deadline=None)
@given(
    arch=st.sampled_from(["x86_64", "aarch64"]),
    minos=st.one_of(st.tuples(st.just(10), st.integers(0, 16)), st.tuples(st.integers(11, 30), st.integers(0, 9))),
)
def test_macos_tag_is_the_tightest_tag_pip_offers(arch: str, minos: tuple[int, int]) -> None:
    """Oracle: packaging.tags.mac_platforms, the tags pip offers on each macOS release."""
    info = BinaryInfo(Path("bin/codex"), "macho", "macos", (arch,), "executable", macos_min=minos)
    (tag,) = derive_platform_tags([info], get_target(f"{arch}-apple-darwin"))
    pip_arch = "arm64" if arch == "aarch64" else "x86_64"
    need = _normalised(max(minos, (11, 0) if arch == "aarch64" else (10, 4)))  # no pip tags below these
    rounded = pip_macos_version(need)
    for release in _MACOS_RELEASES:
        offered = [str(p) for p in mac_platforms(release, pip_arch)]
        if release < need:  # never installs where the binary cannot start
            assert tag not in offered
        elif release >= rounded:  # installs everywhere from the first release pip has a tag for
            assert tag in offered
        else:  # need <= release < rounded: pip offers nothing on this release that could say `need`
            versions = [tuple(int(x) for x in p.split("_")[1:3]) for p in offered]
            assert all(_normalised(v) < need for v in versions)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------
# Windows
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("target", "tag"), [(WIN_X64, "win_amd64"), (WIN_ARM64, "win_arm64")])
def test_windows_tags(tmp_path: Path, target: Target, tag: str) -> None:
    files = {"bin/codex.exe": make_pe(target.arch), "voice/bin/z.dll": make_pe(target.arch, kind="dll")}
    assert derive_platform_tags(tree(tmp_path, files), target) == (tag,)


# ------------------------------------------------------------------------------------------
# Wrong OS, wrong arch, nothing at all
# ------------------------------------------------------------------------------------------


def test_wrong_arch_is_refused_naming_file_found_and_needed(tmp_path: Path) -> None:
    infos = tree(tmp_path, {"bin/codex": make_elf("aarch64")})
    with pytest.raises(InputRefused) as caught:
        derive_platform_tags(infos, LINUX_X64)
    assert str(caught.value) == (
        "bin/codex is an ELF aarch64 executable but target x86_64-unknown-linux-musl "
        "needs x86_64: stage it for --target aarch64-unknown-linux-musl or use the right platform package"
    )


@pytest.mark.parametrize(
    ("files", "target", "pattern"),
    [
        ({"bin/codex": make_macho("x86_64")}, LINUX_X64, r"^bin/codex is a Mach-O x86_64 executable .*needs Linux"),
        ({"bin/codex.exe": make_pe("x86_64")}, MAC_X64, r"^bin/codex\.exe is a PE x86_64 executable but .*macOS"),
        ({"bin/codex": make_elf("x86_64")}, WIN_X64, r"^bin/codex is an ELF x86_64 .* needs Windows \(PE\)"),
        ({"bin/codex": make_elf("x86_64", osabi=9)}, LINUX_X64, r"^bin/codex is an ELF x86_64 executable for freebsd"),
        ({"bin/codex": make_macho("aarch64", platform="ios")}, MAC_ARM64, r"Mach-O aarch64 executable for ios"),
        ({"bin/codex.exe": make_pe("x86_64", subsystem=10)}, WIN_X64, r"PE x86_64 executable for uefi"),
        ({"bin/codex.exe": make_pe("i386")}, WIN_X64, r"^bin/codex\.exe is a PE i386 executable .* needs x86_64"),
        ({"bin/codex": make_macho("x86_64")}, MAC_ARM64, r"Mach-O x86_64 executable .* needs aarch64"),
    ],
    ids=["macho-on-linux", "pe-on-macos", "elf-on-windows", "freebsd", "ios", "uefi", "win32", "mac-arch"],
)
def test_binary_for_another_os_or_arch_is_refused(
    tmp_path: Path, files: dict[str, bytes], target: Target, pattern: str
) -> None:
    infos = tree(tmp_path, files)
    with pytest.raises(InputRefused, match=pattern):
        derive_platform_tags(infos, target)


def test_one_stray_file_for_another_arch_is_named(tmp_path: Path) -> None:
    infos = tree(tmp_path, {"bin/codex": make_elf("x86_64"), "codex-resources/bwrap": make_elf("aarch64")})
    with pytest.raises(InputRefused, match=r"^codex-resources/bwrap is an ELF aarch64"):
        derive_platform_tags(infos, LINUX_X64)


def test_no_binaries_is_refused() -> None:
    with pytest.raises(InputRefused, match="no ELF, Mach-O or PE file"):
        derive_platform_tags([], LINUX_X64)


# ------------------------------------------------------------------------------------------
# expand_tag_set
# ------------------------------------------------------------------------------------------


def test_expand_tag_set_keeps_order_and_drops_duplicates() -> None:
    assert expand_tag_set("musllinux_1_1_x86_64.manylinux_2_17_x86_64.musllinux_1_1_x86_64") == (
        "musllinux_1_1_x86_64",
        "manylinux_2_17_x86_64",
    )
    assert expand_tag_set("win_amd64") == ("win_amd64",)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty platform tag"),
        ("py3-none-win_amd64", "contains '-'"),
        ("manylinux_2_17_x86_64..win_amd64", "invalid part ''"),
        ("Win_AMD64", "invalid part 'Win_AMD64'"),
        ("macosx 11", "invalid part"),
    ],
)
def test_expand_tag_set_refuses_bad_syntax(value: str, message: str) -> None:
    with pytest.raises(InputRefused, match=message):
        expand_tag_set(value)


# ------------------------------------------------------------------------------------------
# check_requested_tags
# ------------------------------------------------------------------------------------------


@pytest.fixture
def static_linux(tmp_path: Path) -> list[BinaryInfo]:
    return tree(tmp_path / "linux", {"bin/codex": make_elf("x86_64", pie=True), "codex-path/rg": make_elf("x86_64")})


@pytest.mark.parametrize(
    "requested",
    [
        "manylinux_2_28_x86_64",
        "manylinux_2_17_x86_64.manylinux2014_x86_64",
        "musllinux_1_2_x86_64.manylinux_2_28_x86_64",
    ],
)
def test_static_linux_binaries_honour_any_libc_tag_from_the_floors(
    static_linux: list[BinaryInfo], requested: str
) -> None:
    assert check_requested_tags(requested, static_linux, LINUX_X64) == tuple(requested.split("."))


@pytest.mark.parametrize(
    ("requested", "floor"),
    [
        ("manylinux1_x86_64", "manylinux_2_17 (manylinux2014) floor"),
        ("manylinux2010_x86_64", "manylinux_2_17 (manylinux2014) floor"),
        ("manylinux_2_5_x86_64", "manylinux_2_17 (manylinux2014) floor"),
        ("manylinux_2_16_x86_64", "manylinux_2_17 (manylinux2014) floor"),
        ("musllinux_1_0_x86_64", "musllinux_1_1 floor"),
        ("musllinux_1_2_x86_64.manylinux_2_12_x86_64", "manylinux_2_17 (manylinux2014) floor"),
    ],
)
def test_tags_below_the_floors_are_refused_even_for_static_binaries(
    static_linux: list[BinaryInfo], requested: str, floor: str
) -> None:
    with pytest.raises(InputRefused, match=rf"cannot be used: .* below the {re.escape(floor)} the toolkit documents"):
        check_requested_tags(requested, static_linux, LINUX_X64)


def test_verify_and_stage_judge_a_tag_with_one_function(static_linux: list[BinaryInfo]) -> None:
    assert tag_problem("manylinux_2_17_x86_64", static_linux, LINUX_X64) is None
    problem = tag_problem("manylinux1_x86_64", static_linux, LINUX_X64)
    assert problem is not None
    with pytest.raises(InputRefused) as caught:
        check_requested_tags("manylinux1_x86_64", static_linux, LINUX_X64)
    assert problem in str(caught.value)


def test_macos_tags_below_the_arch_floor_are_refused(tmp_path: Path) -> None:
    infos = tree(tmp_path, {"bin/codex": make_macho("aarch64", minos=(10, 0), cmd="version_min")})
    problem = tag_problem("macosx_10_15_universal2", infos, MAC_ARM64)
    assert problem is not None
    assert "below the macOS 11.0 floor of aarch64" in problem


@pytest.mark.parametrize("fmt", ["x86_64", "arm64", "universal2", "intel", "i386", "fat64"])
def test_macos_compatibility_is_computed_exactly_as_pip_lists_it(fmt: str) -> None:
    for major in range(0, 40):
        for minor in range(0, 25):
            listed = f"macosx_{major}_{minor}_{fmt}" in {str(t) for t in mac_platforms((major, minor), fmt)}
            assert pip_generates_macos_tag((major, minor), fmt) == listed, (major, minor, fmt)


def test_a_huge_macos_version_is_judged_instantly(tmp_path: Path) -> None:
    infos = tree(tmp_path, {"bin/codex": make_macho("x86_64", minos=(10, 12), cmd="version_min")})
    started = time.monotonic()
    assert check_requested_tags("macosx_9999_0_x86_64", infos, MAC_X64) == ("macosx_9999_0_x86_64",)
    with pytest.raises(InputRefused, match="has a 8-digit number: no glibc, musl or macOS release"):
        check_requested_tags("macosx_99999999_0_x86_64", infos, MAC_X64)
    with pytest.raises(InputRefused, match=r"has a 900-digit number"):
        check_requested_tags(f"manylinux_2_{'7' * 900}_x86_64", infos, MAC_X64)
    with pytest.raises(InputRefused, match=r"has a 5000-digit number"):
        check_requested_tags(f"manylinux_2_{'7' * 5000}_x86_64", infos, MAC_X64)
    with pytest.raises(InputRefused, match=r"\(5000 characters\) is too long"):
        check_requested_tags("m" * 5000, infos, MAC_X64)
    assert time.monotonic() - started < 1.0


def test_requested_tags_are_refused_when_a_file_cannot_honour_them(tmp_path: Path) -> None:
    infos = tree(tmp_path, {"bin/codex": make_macho("x86_64", minos=(10, 12), cmd="version_min")})
    with pytest.raises(InputRefused) as caught:
        check_requested_tags("macosx_10_9_x86_64", infos, MAC_X64)
    assert str(caught.value) == (
        "--platform-tag macosx_10_9_x86_64 cannot be used: bin/codex is a Mach-O x86_64 executable (macOS 10.12+), "
        "which needs macOS 10.12 but macosx_10_9_x86_64 promises 10.9; the binaries earn macosx_10_12_x86_64"
    )


@pytest.mark.parametrize(
    ("files", "target", "requested", "pattern"),
    [
        (
            {"bin/codex.exe": make_pe("x86_64")},
            WIN_X64,
            "win_arm64",
            r"win_arm64 cannot be used: win_arm64 is for aarch64 but bin/codex\.exe is a PE x86_64 executable",
        ),
        ({"bin/codex.exe": make_pe("x86_64")}, WIN_X64, "win_amd64.manylinux_2_17_x86_64", r"is a Linux tag but"),
        ({"bin/codex": make_elf("x86_64")}, LINUX_X64, "garbage_tag", r"'garbage_tag' is not a platform tag"),
        ({"bin/codex": make_elf("x86_64")}, LINUX_X64, "any", r"holds platform binaries"),
        ({"bin/codex": make_elf("x86_64")}, LINUX_X64, "linux_x86_64", r"package indexes refuse"),
        ({"bin/codex": make_elf("x86_64")}, LINUX_X64, "manylinux_2_17_aarch64", r"is for aarch64 but bin/codex"),
        (
            {"bin/codex": make_elf("aarch64")},
            LINUX_ARM64,
            "manylinux1_aarch64",
            r"manylinux1 is not defined for aarch64",
        ),
        (
            {"bin/codex": make_elf("x86_64"), "voice/host": glibc_elf("x86_64", "2.28")},
            LINUX_X64,
            "manylinux_2_28_x86_64.musllinux_1_1_x86_64",
            r"musllinux_1_1_x86_64 cannot be used: voice/host is an ELF .*glibc 2\.28, "
            r"and a musllinux system has no glibc",
        ),
        (
            {"voice/host": glibc_elf("x86_64", "2.28")},
            LINUX_X64,
            "manylinux2014_x86_64",
            r"voice/host .*needs glibc 2\.28 but manylinux2014_x86_64 promises 2\.17; the binaries earn manylinux_2_28",
        ),
        (
            {"bin/helper": make_elf("x86_64", static=False, libc="musl")},
            LINUX_X64,
            "manylinux_2_35_x86_64",
            r"a manylinux system has no musl",
        ),
        (
            {"bin/codex": make_macho("aarch64", minos=(14, 2))},
            MAC_ARM64,
            "macosx_14_2_arm64",
            r"pip never generates macosx_14_2_arm64 .*use macosx_15_0_arm64",
        ),
        (
            {"bin/codex": make_macho("aarch64", minos=(14, 2))},
            MAC_ARM64,
            "macosx_14_0_arm64",
            r"needs macOS 14\.2 but macosx_14_0_arm64 promises 14\.0",
        ),
        (
            {"bin/codex": make_macho("aarch64", minos=(11, 0))},
            MAC_ARM64,
            "macosx_11_0_universal2",
            r"is for aarch64\+x86_64 but bin/codex is a Mach-O aarch64 executable .*\(no x86_64 slice\)",
        ),
        (
            {"bin/codex": make_macho("aarch64", minos=(11, 0))},
            MAC_ARM64,
            "macosx_11_0_x86_64",
            r"is for x86_64 but target aarch64-apple-darwin is aarch64",
        ),
        ({"bin/codex": make_macho("aarch64")}, MAC_ARM64, "macosx_11_0_ppc", r"architecture 'ppc'"),
    ],
    ids=[
        "win-arch",
        "win-with-linux-part",
        "garbage",
        "any",
        "plain-linux",
        "linux-arch",
        "manylinux1-aarch64",
        "musllinux-for-glibc",
        "manylinux-too-old",
        "manylinux-for-musl",
        "macos-minor-after-11",
        "macos-too-old",
        "universal2-thin",
        "macos-other-arch",
        "macos-unknown-arch",
    ],
)
def test_unhonourable_requested_tags_are_refused(
    tmp_path: Path, files: dict[str, bytes], target: Target, requested: str, pattern: str
) -> None:
    infos = tree(tmp_path, files)
    with pytest.raises(InputRefused, match=pattern) as caught:
        check_requested_tags(requested, infos, target)
    assert str(caught.value).startswith("--platform-tag ")


@pytest.mark.parametrize(
    ("files", "target", "requested"),
    [
        ({"bin/codex": make_macho("x86_64", minos=(10, 12))}, MAC_X64, "macosx_11_0_x86_64"),
        ({"bin/codex": make_macho("x86_64", minos=(11, 0))}, MAC_X64, "macosx_10_16_x86_64"),
        (
            {"bin/codex": make_fat_macho([make_macho("x86_64"), make_macho("aarch64")])},
            MAC_ARM64,
            "macosx_11_0_universal2",
        ),
        ({"voice/host": glibc_elf("aarch64", "2.28")}, LINUX_ARM64, "manylinux_2_31_aarch64"),
        ({"bin/helper": make_elf("x86_64", static=False, libc="musl")}, LINUX_X64, "musllinux_1_2_x86_64"),
        ({"bin/codex.exe": make_pe("aarch64")}, WIN_ARM64, "win_arm64"),
    ],
)
def test_honourable_requested_tags_are_accepted(
    tmp_path: Path, files: dict[str, bytes], target: Target, requested: str
) -> None:
    assert check_requested_tags(requested, tree(tmp_path, files), target) == (requested,)


def test_requested_tags_still_check_the_binaries_against_the_target(tmp_path: Path) -> None:
    infos = tree(tmp_path, {"bin/codex": make_elf("aarch64")})
    with pytest.raises(InputRefused, match=r"^bin/codex is an ELF aarch64 .* needs x86_64"):
        check_requested_tags("manylinux_2_17_aarch64", infos, LINUX_X64)


# ------------------------------------------------------------------------------------------
# The real pinned platform packages
# ------------------------------------------------------------------------------------------

VOICE = "codex-resources/voice/"

MEASURED_0_169_0: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # triple: (tags without the voice runtime, tags with it)
    "aarch64-apple-darwin": (("macosx_11_0_arm64",), ("macosx_14_0_arm64",)),
    "x86_64-apple-darwin": (("macosx_10_12_x86_64",), ("macosx_14_0_x86_64",)),
    "aarch64-unknown-linux-musl": (("manylinux_2_18_aarch64",), ("manylinux_2_28_aarch64",)),
    "x86_64-unknown-linux-musl": (
        ("musllinux_1_1_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"),
        ("manylinux_2_28_x86_64",),
    ),
    "aarch64-pc-windows-msvc": (("win_arm64",), ("win_arm64",)),
    "x86_64-pc-windows-msvc": (("win_amd64",), ("win_amd64",)),
}


@pytest.mark.runtime
@pytest.mark.parametrize("triple", sorted(MEASURED_0_169_0))
def test_real_package_tags_with_and_without_voice(real_package: Callable[[str], Path], triple: str) -> None:
    target = get_target(triple)
    infos = inspect_tree(real_package(triple))
    without_voice = [info for info in infos if not info.name.startswith(VOICE)]
    assert any(info.name.startswith(VOICE) for info in infos)
    assert {info.name for info in without_voice} >= {
        f"bin/{target.executable_name}",
        f"codex-path/rg{target.exe_suffix}",
    }
    expected_without, expected_with = MEASURED_0_169_0[triple]
    assert derive_platform_tags(without_voice, target) == expected_without
    assert derive_platform_tags(infos, target) == expected_with


@pytest.mark.runtime
def test_real_linux_arm64_rg_is_the_dynamic_glibc_file(real_package: Callable[[str], Path]) -> None:
    """Why aarch64 Linux earns manylinux_2_18 only: 0.169.0 ships codex-path/rg as a glibc executable
    (PT_INTERP /lib/ld-linux-aarch64.so.1, needs GLIBC_2.18); everything else outside voice is static."""
    infos = inspect_tree(real_package("aarch64-unknown-linux-musl"))
    dynamic = [info for info in infos if not info.static and not info.name.startswith(VOICE)]
    assert [(i.name, i.libc, i.glibc_version, i.interpreter) for i in dynamic] == [
        ("codex-path/rg", "glibc", (2, 18), "/lib/ld-linux-aarch64.so.1")
    ]


def _table_disagrees_with_measurement(triple: str) -> bool:
    return get_target(triple).expected_tags != MEASURED_0_169_0[triple][0]


@pytest.mark.runtime
@pytest.mark.parametrize(
    "triple",
    [t.triple for t in TARGETS],
)
def test_real_package_earns_the_target_table_tags(real_package: Callable[[str], Path], triple: str) -> None:
    target = get_target(triple)
    infos = [info for info in inspect_tree(real_package(triple)) if not info.name.startswith(VOICE)]
    assert derive_platform_tags(infos, target) == target.expected_tags
