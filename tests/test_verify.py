from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from codex_release.checks.verify import verify_dist
from codex_release.cli import main
from codex_release.core.targets import TARGETS
from codex_release.steps.stage_runtime import stage_runtime
from tests.checkout import CHECKOUT, pinned_runtime
from tests.synthetic_binaries import make_elf, write_platform_package

V = pinned_runtime()  # the CLI verifies only the pinned release
LINUX_WHEEL = f"openai_codex_cli_bin-{V}-py3-none-musllinux_1_1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64.whl"


def _build(staging: Path, out: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), *args, str(staging)],
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def hatchling_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six full runtime wheels built by hatchling from synthetic platform packages (STAGING_DIR is the full
    variant), plus the lean aarch64 Linux wheel that only ``--wheel-dir`` writes."""
    root = tmp_path_factory.mktemp("dist-src")
    dist = root / "dist"
    for target in TARGETS:
        package = write_platform_package(root / "pkg" / target.triple, target.triple, version=V.pep440)
        staged = stage_runtime(
            root / "stage" / target.triple,
            package,
            V,
            wheel_dir=root / "ours" / target.triple,
            template=CHECKOUT.runtime_template,
            checkout=CHECKOUT.root,
        )
        _build(root / "stage" / target.triple, dist, "--wheel")
        for lean in staged.wheels[1:]:
            shutil.copyfile(lean, dist / lean.name)
    return dist


@pytest.fixture
def dist(hatchling_dist: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(hatchling_dist, tmp_path / "dist"))


def rewrite(wheel: Path, edit: Callable[[zipfile.ZipInfo, bytes], tuple[zipfile.ZipInfo, bytes] | None]) -> None:
    tmp = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            result = edit(info, src.read(info))
            if result is not None:
                dst.writestr(*result)
    tmp.replace(wheel)


def faults(dist: Path) -> list[str]:
    report = verify_dist(dist, V)
    return report.faults + [f for a in report.artifacts for f in a.faults]


def test_a_complete_dist_verifies(dist: Path) -> None:
    report = verify_dist(dist, V)
    assert report.ok, report.table()
    assert len(report.artifacts) == len(TARGETS) + 1  # aarch64 Linux: full and lean
    assert {a.target for a in report.artifacts} == {t.triple for t in TARGETS}
    assert "verify: OK" in report.table()


def test_missing_target_and_runtime_sdist_and_stray_version(dist: Path, tmp_path: Path) -> None:
    (dist / LINUX_WHEEL).unlink()
    (dist / f"openai_codex_cli_bin-{V}.tar.gz").write_bytes(b"")
    (dist / "openai_codex_cli_bin-0.168.0-py3-none-win_amd64.whl").write_bytes(b"")
    found = " | ".join(faults(dist))
    assert "no runtime wheel for x86_64-unknown-linux-musl" in found
    assert "a runtime sdist must never ship" in found
    assert f"is version 0.168.0, not {V}" in found


def test_record_mismatch_is_caught(dist: Path) -> None:
    rewrite(
        dist / LINUX_WHEEL,
        lambda info, data: (info, data + b"x" if info.filename.endswith("bin/codex") else data),
    )
    assert any("RECORD hash/size mismatch for codex_cli_bin/vendor/bin/codex" in f for f in faults(dist))


def test_missing_exec_bit_is_caught(dist: Path) -> None:
    def strip(info: zipfile.ZipInfo, data: bytes) -> tuple[zipfile.ZipInfo, bytes]:
        if info.filename.endswith("codex-path/rg"):
            info.external_attr = 0o100644 << 16
        return info, data

    rewrite(dist / LINUX_WHEEL, strip)
    assert any("codex-path/rg is a program without exec bits" in f for f in faults(dist))


def test_tags_that_the_binaries_do_not_earn(dist: Path) -> None:
    wrong = dist / LINUX_WHEEL.replace(
        "musllinux_1_1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64", "manylinux_2_17_x86_64"
    )

    def retag(info: zipfile.ZipInfo, data: bytes) -> tuple[zipfile.ZipInfo, bytes]:
        if info.filename.endswith("/WHEEL"):
            lines = [line for line in data.decode().splitlines() if "musllinux" not in line and "2014" not in line]
            data = ("\n".join(lines) + "\n").encode()
        return info, data

    (dist / LINUX_WHEEL).rename(wrong)
    rewrite(wrong, retag)
    assert any("but the binaries earn musllinux_1_1_x86_64" in f for f in faults(dist))


def test_a_binary_for_the_wrong_arch_inside_a_wheel(dist: Path) -> None:
    rewrite(
        dist / LINUX_WHEEL,
        lambda info, data: (info, make_elf("aarch64", static=True) if info.filename.endswith("bin/codex") else data),
    )
    assert any("aarch64" in f for f in faults(dist))


def test_cli_prints_a_table_and_fails(dist: Path) -> None:
    ok = CliRunner().invoke(main, ["verify", str(dist), "--codex-version", V.tag])
    assert ok.exit_code == 0, ok.output
    assert "verify: OK" in ok.output
    (dist / LINUX_WHEEL).unlink()
    bad = CliRunner().invoke(main, ["verify", str(dist), "--codex-version", V.pep440])
    assert bad.exit_code == 1
    assert "no runtime wheel for x86_64-unknown-linux-musl" in bad.output
    sdk = CliRunner().invoke(main, ["verify", str(dist), "--codex-version", V.pep440, "--require-sdk"])
    assert f"no SDK wheel for {V}" in sdk.output


def test_cli_verifies_the_pinned_release_only(dist: Path) -> None:
    """Without --codex-version verify checks the pin; any other version is refused before DIST is read."""
    pinned = CliRunner().invoke(main, ["verify", str(dist)])
    assert pinned.exit_code == 0, pinned.output
    assert "verify: OK" in pinned.output
    major, minor = V.version.release[:2]
    other = f"{major}.{minor + 1}.0"
    refused = CliRunner().invoke(main, ["verify", str(dist), "--codex-version", f"rust-v{other}"])
    assert refused.exit_code == 1
    assert refused.output.splitlines() == [
        f"Error: --codex-version {other} is not the pinned runtime {V} (sdk/pyproject.toml): "
        f"run 'codex-release bump --codex-version {other}' to move the pin, or release {V}"
    ]


# ------------------------------------------------------------------------- a target's full + lean pair
ARM_FULL = f"openai_codex_cli_bin-{V}-py3-none-manylinux_2_18_aarch64.whl"
ARM_LEAN = f"openai_codex_cli_bin-{V}-py3-none-musllinux_1_1_aarch64.manylinux_2_17_aarch64.manylinux2014_aarch64.whl"


def _retag(source: Path, dest: Path, platform_tag: str) -> None:
    """``source`` under another platform tag (file name and WHEEL), contents unchanged."""
    shutil.copyfile(source, dest)
    tag_lines = "".join(f"Tag: py3-none-{part}\n" for part in platform_tag.split("."))

    def edit(info: zipfile.ZipInfo, data: bytes) -> tuple[zipfile.ZipInfo, bytes]:
        if info.filename.endswith("/WHEEL"):
            kept = [line for line in data.decode().splitlines(keepends=True) if not line.startswith("Tag:")]
            data = ("".join(kept) + tag_lines).encode()
        return info, data

    rewrite(dest, edit)


def test_the_full_and_lean_pair_verifies(dist_copy: Path) -> None:
    report = verify_dist(dist_copy, V)
    assert report.ok, report.table()
    arm = sorted(a.file for a in report.artifacts if a.target == "aarch64-unknown-linux-musl")
    assert arm == [ARM_FULL, ARM_LEAN]


def test_a_missing_lean_wheel_is_a_fault(dist_copy: Path) -> None:
    (dist_copy / ARM_LEAN).unlink()
    found = " | ".join(faults(dist_copy))
    assert "no lean runtime wheel for aarch64-unknown-linux-musl" in found
    assert "holds codex-path/rg, which narrows its tags to manylinux_2_18_aarch64" in found


def test_a_lean_wheel_that_still_holds_the_helper_is_refused(dist_copy: Path) -> None:
    (dist_copy / ARM_LEAN).unlink()
    _retag(
        dist_copy / ARM_FULL, dist_copy / ARM_LEAN, "musllinux_1_1_aarch64.manylinux_2_17_aarch64.manylinux2014_aarch64"
    )
    found = " | ".join(faults(dist_copy))
    assert (
        f"{ARM_LEAN} is not the lean variant of {ARM_FULL}: it should hold everything but codex-path/rg and still "
        "holds codex-path/rg" in found
    )
    assert "tag musllinux_1_1_aarch64: codex_cli_bin/vendor/codex-path/rg is an ELF aarch64 executable" in found


def test_a_second_wheel_that_is_not_a_lean_variant_is_refused(dist_copy: Path) -> None:
    other = dist_copy / LINUX_WHEEL.replace(
        "musllinux_1_1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64", "manylinux_2_28_x86_64"
    )
    _retag(dist_copy / LINUX_WHEEL, other, "manylinux_2_28_x86_64")
    found = " | ".join(faults(dist_copy))
    assert (
        f"2 runtime wheels for x86_64-unknown-linux-musl ({other.name} and {LINUX_WHEEL}), but its binaries give one "
        "wheel (no optional helper narrows the tags)"
    ) in found


def test_a_lean_wheel_whose_helpers_file_lies_is_refused(dist_copy: Path) -> None:
    def edit(info: zipfile.ZipInfo, data: bytes) -> tuple[zipfile.ZipInfo, bytes]:
        if info.filename == "codex_cli_bin/bundled-helpers.json":
            data = data.replace(b'"lean"', b'"full"')
        return info, data

    rewrite(dist_copy / ARM_LEAN, edit)
    found = " | ".join(faults(dist_copy))
    assert "codex_cli_bin/bundled-helpers.json says variant 'full'" in found
