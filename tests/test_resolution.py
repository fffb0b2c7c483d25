"""Resolver dry runs: pip must pick exactly the runtime wheel whose binaries can run on each platform."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from codex_release.binaries import inspect_binary
from codex_release.checks.resolution import (
    USER_PLATFORMS,
    UserPlatform,
    check_resolution,
    glibc_platforms,
    musl_platforms,
    why_not_runs,
)
from codex_release.cli import main
from codex_release.core.versions import CodexVersion
from codex_release.errors import FaultFound
from tests.synthetic_binaries import make_elf, make_macho, make_pe, write_binary

PLATFORMS = {p.name: p for p in USER_PLATFORMS}


def write_runtime_wheel(dist: Path, version: str, platform_tag: str, binary: bytes, name: str = "codex") -> Path:
    """A runtime wheel tagged ``platform_tag`` by hand (whatever its binary says), as a buggy build would."""
    path = dist / f"openai_codex_cli_bin-{version}-py3-none-{platform_tag}.whl"
    info = f"openai_codex_cli_bin-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as archive:
        member = zipfile.ZipInfo(f"codex_cli_bin/vendor/bin/{name}")
        member.external_attr = 0o755 << 16
        archive.writestr(member, binary)
        archive.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: openai-codex-cli-bin\nVersion: {version}\n")
        archive.writestr(f"{info}/WHEEL", f"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: py3-none-{platform_tag}\n")
        archive.writestr(f"{info}/RECORD", "")
    return path


def _replace_runtime(dist: Path, pattern: str, new: Path) -> None:
    (old,) = [p for p in dist.glob(f"openai_codex_cli_bin-*{pattern}*.whl") if p != new]
    old.unlink()


# ------------------------------------------------------------------------------------------ tag lists
def test_glibc_tags_descend_to_2_5_with_the_legacy_aliases_where_they_exist() -> None:
    x86 = glibc_platforms(17, "x86_64")
    assert x86[0] == "manylinux_2_17_x86_64"
    assert x86[-1] == "linux_x86_64"
    assert {"manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "manylinux_2_5_x86_64"} <= set(x86)
    arm = glibc_platforms(28, "aarch64")
    assert "manylinux_2_28_aarch64" in arm
    assert "manylinux2014_aarch64" in arm
    assert not any(tag.startswith(("manylinux2010", "manylinux1_")) for tag in arm)
    assert "manylinux_2_29_aarch64" not in arm


def test_musl_tags_never_include_glibc_tags() -> None:
    assert musl_platforms(2, "aarch64") == (
        "musllinux_1_2_aarch64",
        "musllinux_1_1_aarch64",
        "musllinux_1_0_aarch64",
        "linux_aarch64",
    )


def test_the_platform_list_covers_the_issue() -> None:
    names = set(PLATFORMS)
    for arch in ("x86_64", "aarch64"):
        assert {f"glibc 2.17 {arch}", f"glibc 2.28 {arch}", f"glibc 2.39 {arch}"} <= names
        assert {f"musl 1.1 {arch}", f"musl 1.2 {arch}"} <= names
    assert {"macOS 10.12 x86_64", "macOS 11.0 x86_64", "macOS 14.0 x86_64"} <= names
    assert {"macOS 11.0 arm64", "macOS 14.0 arm64", "Windows amd64", "Windows arm64", "macOS 10.9 x86_64"} <= names


# ------------------------------------------------------------------------------ what a binary can run on
def test_a_static_elf_runs_on_every_linux_of_its_cpu(tmp_path: Path) -> None:
    info = inspect_binary(write_binary(tmp_path / "codex", make_elf("x86_64")))
    for name in ("glibc 2.17 x86_64", "musl 1.1 x86_64", "glibc 2.39 x86_64"):
        assert why_not_runs(info, PLATFORMS[name]) is None
    assert why_not_runs(info, PLATFORMS["glibc 2.28 aarch64"]) == f"{info.name} is for x86_64"
    assert why_not_runs(info, PLATFORMS["Windows amd64"]) == f"{info.name} is for linux"


def test_a_glibc_binary_needs_its_glibc_and_never_runs_on_musl(tmp_path: Path) -> None:
    data = make_elf("aarch64", static=False, libc="glibc", glibc_versions=("2.17", "2.18"))
    info = inspect_binary(write_binary(tmp_path / "rg", data), label="codex-path/rg")
    assert why_not_runs(info, PLATFORMS["glibc 2.17 aarch64"]) == "codex-path/rg needs glibc 2.18"
    assert why_not_runs(info, PLATFORMS["glibc 2.28 aarch64"]) is None
    assert why_not_runs(info, PLATFORMS["musl 1.2 aarch64"]) == "codex-path/rg needs glibc"


def test_a_macho_binary_needs_its_minimum_macos(tmp_path: Path) -> None:
    data = make_macho("x86_64", minos=(10, 12), cmd="version_min")
    info = inspect_binary(write_binary(tmp_path / "codex", data), label="bin/codex")
    assert why_not_runs(info, PLATFORMS["macOS 10.9 x86_64"]) == "bin/codex needs macOS 10.12"
    assert why_not_runs(info, PLATFORMS["macOS 10.12 x86_64"]) is None
    assert why_not_runs(info, PLATFORMS["macOS 14.0 arm64"]) == "bin/codex is for x86_64"


def test_a_pe_binary_needs_its_cpu(tmp_path: Path) -> None:
    info = inspect_binary(write_binary(tmp_path / "codex.exe", make_pe("aarch64")), label="bin/codex.exe")
    assert why_not_runs(info, PLATFORMS["Windows arm64"]) is None
    assert why_not_runs(info, PLATFORMS["Windows amd64"]) == "bin/codex.exe is for aarch64"


# ------------------------------------------------------------------------------- dry runs with real pip
SAMPLE = (
    "glibc 2.17 x86_64",
    "musl 1.1 x86_64",
    "glibc 2.28 aarch64",
    "macOS 10.12 x86_64",
    "macOS 14.0 arm64",
    "Windows arm64",
)
NOWHERE = {
    "macOS 10.9 x86_64": "codex_cli_bin/vendor/bin/codex needs macOS 10.12",
    "Windows 32-bit": "no release target for windows x86",
    "glibc 2.31 armv7l": "no release target for linux armv7l",
}
AARCH64_FULL = "manylinux_2_18_aarch64.whl"
AARCH64_LEAN = "musllinux_1_1_aarch64.manylinux_2_17_aarch64.manylinux2014_aarch64.whl"


def test_pip_picks_the_target_wheel_on_each_platform_and_none_where_nothing_runs(
    synthetic_dist: Path, pinned_version: CodexVersion
) -> None:
    platforms = [PLATFORMS[name] for name in (*SAMPLE, *NOWHERE)]
    results = {r.platform.name: r for r in check_resolution(synthetic_dist, pinned_version, platforms)}
    assert all(r.ok for r in results.values()), {n: r.detail for n, r in results.items()}
    picked = {name: str(results[name].picked.get("openai-codex-cli-bin")) for name in SAMPLE}
    assert picked["glibc 2.17 x86_64"].endswith("manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
    assert picked["musl 1.1 x86_64"] == picked["glibc 2.17 x86_64"]
    assert picked["glibc 2.28 aarch64"].endswith("manylinux_2_18_aarch64.whl")
    assert picked["macOS 10.12 x86_64"].endswith("macosx_10_12_x86_64.whl")
    assert picked["macOS 14.0 arm64"].endswith("macosx_11_0_arm64.whl")
    assert picked["Windows arm64"].endswith("win_arm64.whl")
    for name in SAMPLE:
        assert results[name].picked["openai-codex"] == f"openai_codex-{pinned_version}-py3-none-any.whl"
    for name, reason in NOWHERE.items():
        assert results[name].picked == {}
        assert results[name].detail == f"none installs, as expected ({reason})"


def test_aarch64_linux_gets_the_full_wheel_where_rg_runs_and_the_lean_one_elsewhere(
    synthetic_dist: Path, pinned_version: CodexVersion
) -> None:
    """As in the real 0.169.0 linux-arm64 package, the synthetic one's rg is glibc-linked (GLIBC_2.18) and its
    codex static: musl and glibc 2.17 get the lean wheel (without rg), glibc 2.18+ the full one."""
    lean_on = ("musl 1.1 aarch64", "musl 1.2 aarch64", "glibc 2.17 aarch64")
    full_on = ("glibc 2.28 aarch64", "glibc 2.39 aarch64")
    results = {
        r.platform.name: r
        for r in check_resolution(synthetic_dist, pinned_version, [PLATFORMS[n] for n in (*lean_on, *full_on)])
    }
    assert all(r.ok for r in results.values()), {n: r.detail for n, r in results.items()}
    for name in lean_on:
        assert results[name].picked["openai-codex-cli-bin"].endswith(AARCH64_LEAN), name
        assert results[name].detail.endswith(f"{AARCH64_LEAN} (without codex-path/rg)")
    for name in full_on:
        assert results[name].picked["openai-codex-cli-bin"].endswith(AARCH64_FULL), name
        assert results[name].detail.endswith(AARCH64_FULL)


def test_a_lean_wheel_that_keeps_a_glibc_helper_is_caught_on_musl(
    dist_copy: Path, pinned_version: CodexVersion
) -> None:
    """The expectation comes from each wheel's binaries: a musl-tagged wheel holding the glibc rg installs on
    Alpine, where that rg cannot start, so the musl row fails."""
    (lean,) = dist_copy.glob(f"*{AARCH64_LEAN}")
    rg = make_elf("aarch64", static=False, libc="glibc", glibc_versions=("2.17", "2.18"))
    lean.unlink()
    bad = write_runtime_wheel(dist_copy, pinned_version.pep440, AARCH64_LEAN.removesuffix(".whl"), rg, "codex")
    (result,) = check_resolution(dist_copy, pinned_version, [PLATFORMS["musl 1.1 aarch64"]])
    assert not result.ok
    assert result.detail.startswith(f"picked {bad.name}, but none may install (codex_cli_bin/vendor/")


def test_a_macos_wheel_tagged_below_its_binary_is_caught(dist_copy: Path, pinned_version: CodexVersion) -> None:
    """Upstream once published macosx_10_9 wheels of a 10.12 binary: they install where codex cannot start."""
    binary = make_macho("x86_64", minos=(10, 12), cmd="version_min")
    bad = write_runtime_wheel(dist_copy, pinned_version.pep440, "macosx_10_9_x86_64", binary)
    _replace_runtime(dist_copy, "macosx_10_12_x86_64", bad)
    (result,) = check_resolution(dist_copy, pinned_version, [PLATFORMS["macOS 10.9 x86_64"]])
    assert not result.ok
    assert (
        result.detail == f"picked {bad.name}, but none may install (codex_cli_bin/vendor/bin/codex needs macOS 10.12)"
    )


def test_a_musllinux_only_linux_wheel_fails_on_glibc(dist_copy: Path, pinned_version: CodexVersion) -> None:
    """A Linux wheel tagged only musllinux does not install on Debian and Ubuntu, though its binary would run."""
    bad = write_runtime_wheel(dist_copy, pinned_version.pep440, "musllinux_1_1_x86_64", make_elf("x86_64"))
    _replace_runtime(dist_copy, "manylinux_2_17_x86_64", bad)
    glibc, musl = check_resolution(
        dist_copy, pinned_version, [PLATFORMS["glibc 2.28 x86_64"], PLATFORMS["musl 1.1 x86_64"]]
    )
    assert not glibc.ok
    assert glibc.detail.startswith("pip found no solution")
    assert musl.ok


def test_a_missing_target_is_one_line_error(dist_copy: Path, pinned_version: CodexVersion) -> None:
    next(dist_copy.glob("*win_arm64.whl")).unlink()
    with pytest.raises(FaultFound, match=r"lacks the runtime wheel of aarch64-pc-windows-msvc"):
        check_resolution(dist_copy, pinned_version, [PLATFORMS["Windows amd64"]])


def test_an_sdk_pinning_another_runtime_is_refused(dist_copy: Path, pinned_version: CodexVersion) -> None:
    wheel = next(dist_copy.glob("openai_codex-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        entries = {i.filename: archive.read(i) for i in archive.infolist()}
    metadata_name = next(n for n in entries if n.endswith("dist-info/METADATA"))
    metadata = entries[metadata_name].decode()
    entries[metadata_name] = metadata.replace(
        f"openai-codex-cli-bin=={pinned_version}", "openai-codex-cli-bin>=0.1"
    ).encode()
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    with pytest.raises(FaultFound, match=r"must require exactly openai-codex-cli-bin==") as caught:
        check_resolution(dist_copy, pinned_version, [PLATFORMS["Windows amd64"]])
    assert "\n" not in str(caught.value)


@pytest.mark.slow
def test_smoke_cli_resolves_every_listed_platform(synthetic_dist: Path, pinned_version: CodexVersion) -> None:
    result = CliRunner().invoke(
        main,
        ["smoke", str(synthetic_dist), "--codex-version", pinned_version.tag, "--no-install", "--emulated", "off"],
    )
    assert result.exit_code == 0, result.output
    assert "resolution  macOS 10.9 x86_64" in result.output
    assert f"smoke: {len(USER_PLATFORMS)} passed, 0 failed, 0 skipped" in result.output


def test_user_platform_names_are_unique() -> None:
    assert len({p.name for p in USER_PLATFORMS}) == len(USER_PLATFORMS)
    assert all(isinstance(p, UserPlatform) and p.platforms for p in USER_PLATFORMS)
