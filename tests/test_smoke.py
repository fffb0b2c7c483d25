"""``smoke``: install from DIST only into a fresh venv, run a real turn, resolve, emulate aarch64."""

from __future__ import annotations

import os
import re
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from codex_release.checks.smoke import (
    SmokeReport,
    _extract_vendor,
    aarch64_launcher,
    check_emulated_aarch64,
    dependency_wheelhouse,
)
from codex_release.cli import main
from codex_release.core.dist import read_release_files
from codex_release.core.versions import CodexVersion
from codex_release.errors import InputRefused, ToolFailed

REPO_ROOT = Path(__file__).resolve().parent.parent
HAS_AARCH64 = aarch64_launcher() is not None


def smoke_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["smoke", *args])
    return result.exit_code, result.output


def table_rows(output: str) -> dict[str, tuple[str, str, str]]:
    """check -> (section, status, detail), from the report table."""
    rows = {}
    for line in output.splitlines():
        cells = re.split(r"\s{2,}", line.strip(), maxsplit=3)
        if len(cells) == 4 and cells[2] in {"ok", "FAIL", "skip"}:
            rows[cells[1]] = (cells[0], cells[2], cells[3])
    return rows


# ---------------------------------------------------------------------------------------- bad input
def test_a_missing_dist_dir_is_a_one_line_error(tmp_path: Path, pinned_version: CodexVersion) -> None:
    code, output = smoke_cli(str(tmp_path / "nowhere"), "--codex-version", pinned_version.pep440)
    assert code == 1
    assert output.splitlines() == [
        f"Error: dist directory {tmp_path / 'nowhere'} does not exist: build the release first (`make release`)"
    ]


def test_a_missing_sdk_wheel_is_a_one_line_error(dist_copy: Path, pinned_version: CodexVersion) -> None:
    next(dist_copy.glob("openai_codex-*.whl")).unlink()
    code, output = smoke_cli(str(dist_copy), "--codex-version", pinned_version.pep440)
    assert code == 1
    assert len(output.splitlines()) == 1
    assert output.startswith(f"Error: no SDK wheel openai_codex-{pinned_version}-py3-none-any.whl in {dist_copy}")


def test_a_version_other_than_the_pin_is_a_one_line_error(synthetic_dist: Path, pinned_version: CodexVersion) -> None:
    code, output = smoke_cli(str(synthetic_dist), "--codex-version", "rust-v0.1.0")
    assert code == 1
    assert output.splitlines() == [
        f"Error: --codex-version 0.1.0 is not the pinned runtime {pinned_version} (sdk/pyproject.toml): "
        f"run 'codex-release bump --codex-version 0.1.0' to move the pin, or release {pinned_version}"
    ]


def test_a_garbage_version_is_refused_by_the_option(synthetic_dist: Path) -> None:
    code, output = smoke_cli(str(synthetic_dist), "--codex-version", "latest")
    assert code == 1
    assert output.startswith("Error: --codex-version: not a Codex version: 'latest'")
    assert len(output.splitlines()) == 1


def test_no_runtime_wheel_for_this_machine_is_a_one_line_error(dist_copy: Path, pinned_version: CodexVersion) -> None:
    next(dist_copy.glob("*manylinux_2_17_x86_64*.whl")).unlink()
    code, output = smoke_cli(str(dist_copy), "--codex-version", pinned_version.pep440, "--no-resolution")
    assert code == 1
    assert len(output.splitlines()) == 1
    assert "has no runtime wheel that installs on this machine" in output


def test_a_runtime_sdist_in_dist_is_refused(dist_copy: Path, pinned_version: CodexVersion) -> None:
    (dist_copy / f"openai_codex_cli_bin-{pinned_version}.tar.gz").write_bytes(b"")
    code, output = smoke_cli(str(dist_copy), "--codex-version", pinned_version.pep440)
    assert code == 1
    assert "the runtime is published as platform wheels only, never as an sdist" in output


def test_nothing_to_check_is_an_error(synthetic_dist: Path, pinned_version: CodexVersion) -> None:
    code, output = smoke_cli(
        str(synthetic_dist),
        "--codex-version",
        pinned_version.pep440,
        "--no-install",
        "--no-resolution",
        "--emulated",
        "off",
    )
    assert code == 1
    assert output.strip() == "Error: nothing to check: enable --install, --resolution or --emulated"


# ------------------------------------------------------------------------------------------ the parts
def test_the_report_fails_on_any_failed_row_and_never_on_a_skip() -> None:
    report = SmokeReport()
    assert not report.ok
    report.add("install", "import openai_codex", True, "from the venv")
    report.add("aarch64 linux", "emulated runtime", None, "no launcher")
    assert report.ok
    report.add("resolution", "macOS 10.9 x86_64", False, "picked a wheel")
    assert not report.ok
    lines = report.table().splitlines()
    assert lines[0].split() == ["section", "check", "status", "detail"]
    assert lines[2].split()[-3:] == ["skip", "no", "launcher"]
    assert lines[-1] == "smoke: 1 passed, 1 failed, 1 skipped"


def test_the_wheelhouse_holds_only_third_party_wheels(
    synthetic_dist: Path, pinned_version: CodexVersion, tmp_path: Path
) -> None:
    files = read_release_files(synthetic_dist, pinned_version)
    house = dependency_wheelhouse(files)
    names = sorted(p.name for p in house.iterdir())
    assert any(name.startswith("pydantic-") for name in names)
    assert not any(name.startswith(("openai_codex", "openai-codex")) for name in names)
    poisoned = tmp_path / "house"
    shutil.copytree(house, poisoned)
    shutil.copy(next(synthetic_dist.glob("openai_codex-*.whl")), poisoned)
    with pytest.raises(InputRefused, match=r"holds openai_codex-.*only DIST may provide our files"):
        dependency_wheelhouse(files, poisoned)
    with pytest.raises(ToolFailed, match=r"lacks the SDK's dependencies"):
        dependency_wheelhouse(files, tmp_path / "empty")


def test_vendor_extraction_keeps_exec_bits(synthetic_dist: Path, tmp_path: Path) -> None:
    wheel = next(synthetic_dist.glob("*aarch64*.whl"))
    vendor = _extract_vendor(wheel, tmp_path / "vendor")
    codex = vendor / "bin" / "codex"
    assert codex.is_file()
    assert os.stat(codex).st_mode & stat.S_IXUSR
    assert (vendor / "codex-package.json").is_file()
    assert not (vendor / "codex_cli_bin").exists()


def test_aarch64_launcher_finds_qemu_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    qemu = tmp_path / "qemu-aarch64-static"
    qemu.write_text("#!/bin/sh\n")
    qemu.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert aarch64_launcher() == [str(qemu)]


def test_emulation_required_without_a_launcher_fails(
    synthetic_dist: Path, pinned_version: CodexVersion, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    if aarch64_launcher() is not None:
        pytest.skip("this machine runs aarch64 binaries natively or through binfmt, whatever PATH says")
    files = read_release_files(synthetic_dist, pinned_version)
    for mode, expected in (("auto", None), ("required", False)):
        report = SmokeReport()
        check_emulated_aarch64(files, report, mode)  # type: ignore[arg-type]
        (row,) = report.rows
        assert row.ok is expected
        assert "apt-get install qemu-user-static" in row.detail


@pytest.mark.skipif(not HAS_AARCH64, reason="needs qemu-user-static (.ci/run installs it)")
def test_an_aarch64_binary_that_cannot_start_fails_its_rows(synthetic_dist: Path, pinned_version: CodexVersion) -> None:
    files = read_release_files(synthetic_dist, pinned_version)
    report = SmokeReport()
    check_emulated_aarch64(files, report, "required")
    full, lean = "(manylinux_2_18_aarch64)", "(musllinux_1_1_aarch64.manylinux_2_17_aarch64.manylinux2014_aarch64)"
    assert [row.check for row in report.rows] == [
        f"codex --version {full}",
        f"app-server initialize {full}",
        f"codex --version {lean}",
        f"app-server initialize {lean}",
    ]
    assert all(row.ok is False for row in report.rows)


# ------------------------------------------------------------------------------ installs, for real
@pytest.mark.slow
def test_a_release_whose_binary_cannot_run_fails_the_smoke(synthetic_dist: Path, pinned_version: CodexVersion) -> None:
    code, output = smoke_cli(
        str(synthetic_dist),
        "--codex-version",
        pinned_version.pep440,
        "--no-resolution",
        "--emulated",
        "off",
        "--expect-target",
        "aarch64-unknown-linux-musl",
    )
    assert code == 1
    rows = table_rows(output)
    assert rows["runtime wheel for aarch64-unknown-linux-musl"][1] == "FAIL"
    assert rows[f"pip install openai-codex=={pinned_version}"][1] == "ok"
    assert rows["import codex_cli_bin"][1] == "ok"
    assert rows["bundled codex --version"][1] == "FAIL"
    assert rows["sync turn (Codex)"][1] == "FAIL"
    assert "Error: smoke failed: see the FAIL rows above" in output


@pytest.mark.slow
@pytest.mark.runtime
def test_smoke_passes_on_the_pinned_release(pinned_release: Path, pinned_version: CodexVersion) -> None:
    code, output = smoke_cli(
        str(pinned_release), "--codex-version", pinned_version.tag, "--expect-target", "x86_64-unknown-linux-musl"
    )
    assert code == 0, output
    rows = table_rows(output)
    ok_rows = {check for check, (_, status, _) in rows.items() if status == "ok"}
    for check in (
        "runtime wheel for x86_64-unknown-linux-musl",
        f"pip install openai-codex=={pinned_version}",
        "isolated venv",
        "import openai_codex",
        "import codex_cli_bin",
        "bundled codex --version",
        "sync turn (Codex)",
        "async turn (AsyncCodex)",
        "README quickstart as published",
        "fake model served the turns",
        "glibc 2.17 x86_64",
        "macOS 10.9 x86_64",
    ):
        assert check in ok_rows, output
    assert str(REPO_ROOT) not in rows["isolated venv"][2]
    assert f"codex-cli {pinned_version.semver}" in output
    # the aarch64 grid: musl and glibc 2.17 get the lean wheel (without rg), glibc 2.28+ the full one
    lean = "musllinux_1_1_aarch64.manylinux_2_17_aarch64.manylinux2014_aarch64"
    for name in ("musl 1.1 aarch64", "musl 1.2 aarch64", "glibc 2.17 aarch64"):
        assert name in ok_rows, output
        assert rows[name][2].endswith(f"{lean}.whl (without codex-path/rg)"), output
    for name in ("glibc 2.28 aarch64", "glibc 2.39 aarch64"):
        assert name in ok_rows, output
        assert rows[name][2].endswith("manylinux_2_18_aarch64.whl"), output
    if HAS_AARCH64:  # both aarch64 wheels' codex run under qemu, the lean (musl-tagged) one too
        for label in ("(manylinux_2_18_aarch64)", f"({lean})"):
            assert f"codex --version {label}" in ok_rows, output
            assert f"app-server initialize {label}" in ok_rows, output
        assert "aarch64)" in output
