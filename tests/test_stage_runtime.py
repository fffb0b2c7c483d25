from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import tomlkit
from click.testing import CliRunner

from codex_release.cli import main
from codex_release.core.sbom import check_sbom
from codex_release.core.targets import TARGETS, get_target
from codex_release.core.versions import CodexVersion, parse_codex_version
from codex_release.errors import ArchiveRefused, DestinationRefused, InputRefused, ReleaseError
from codex_release.steps.stage_runtime import VENDOR, stage_runtime
from tests.checkout import CHECKOUT
from tests.synthetic_binaries import make_elf, make_macho, write_binary, write_platform_package

V = parse_codex_version("0.169.0")
LINUX = "x86_64-unknown-linux-musl"
REPO = Path(__file__).resolve().parent.parent


SBOM = "sboms/codex-runtime.cdx.json"


def staged_tag(staging: Path) -> str:
    document = tomlkit.parse((staging / "pyproject.toml").read_text())
    return str(document["tool"]["hatch"]["build"]["hooks"]["custom"]["platform-tag"])  # type: ignore[index]


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("triple", [t.triple for t in TARGETS])
def test_each_target_is_staged_with_tags_from_its_binaries(tmp_path: Path, triple: str) -> None:
    package = write_platform_package(tmp_path / "pkg", triple)
    staged = stage_runtime(tmp_path / "stage", package, V, template=CHECKOUT.runtime_template, checkout=CHECKOUT.root)
    target = get_target(triple)
    assert staged.target == target
    assert staged.platform_tags == target.expected_tags
    assert staged_tag(tmp_path / "stage") == ".".join(target.expected_tags)
    document = tomlkit.parse((tmp_path / "stage" / "pyproject.toml").read_text())
    assert document["project"]["version"] == "0.169.0"  # type: ignore[index]
    vendor = tmp_path / "stage" / VENDOR
    assert (vendor / "codex-package.json").is_file()
    assert os.access(vendor / f"bin/codex{target.exe_suffix}", os.X_OK)
    assert {b.path for b in staged.binaries} <= set(vendor.rglob("*"))
    assert leftovers(tmp_path) == []


def test_hatchling_builds_the_staged_dir_and_refuses_an_sdist(tmp_path: Path) -> None:
    package = write_platform_package(tmp_path / "pkg", LINUX)
    stage_runtime(tmp_path / "stage", package, V, template=CHECKOUT.runtime_template, checkout=CHECKOUT.root)
    out = tmp_path / "out"
    build = [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out)]
    subprocess.run([*build, "--wheel", str(tmp_path / "stage")], check=True, capture_output=True)
    (wheel,) = out.glob("*.whl")
    assert wheel.name == (
        "openai_codex_cli_bin-0.169.0-py3-none-musllinux_1_1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    )
    with zipfile.ZipFile(wheel) as zf:
        wheel_meta = zf.read("openai_codex_cli_bin-0.169.0.dist-info/WHEEL").decode()
        assert "Root-Is-Purelib: false" in wheel_meta
        assert "Tag: py3-none-manylinux2014_x86_64" in wheel_meta
        mode = zf.getinfo("codex_cli_bin/vendor/bin/codex").external_attr >> 16
        assert mode & 0o111
        # PEP 770: hatchling put the staged SBOM in .dist-info/sboms/, and it lists exactly the payload
        assert [n for n in zf.namelist() if "/sboms/" in n] == [f"openai_codex_cli_bin-0.169.0.dist-info/{SBOM}"]
        assert check_sbom(zf.read(f"openai_codex_cli_bin-0.169.0.dist-info/{SBOM}"), "0.169.0", payload_of(zf)) == []
    sdist = subprocess.run([*build, "--sdist", str(tmp_path / "stage")], check=False, capture_output=True, text=True)
    assert sdist.returncode != 0
    assert "platform wheels only" in sdist.stdout + sdist.stderr
    assert not list(out.glob("*.tar.gz"))


def test_npm_tarball_source(tmp_path: Path) -> None:
    package = write_platform_package(tmp_path / "pkg", "aarch64-apple-darwin")
    archive = tmp_path / "codex.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(package, arcname="package/vendor/aarch64-apple-darwin")
    staged = stage_runtime(tmp_path / "stage", archive, V, template=CHECKOUT.runtime_template, checkout=CHECKOUT.root)
    assert staged.platform_tags == ("macosx_11_0_arm64",)
    # the SBOM names the npm package of the target table with the tarball's SHA-512 (npm's integrity)
    npm = embedded_package(tmp_path / "stage")
    assert npm["purl"] == "pkg:npm/%40openai/codex@0.169.0-darwin-arm64"
    assert npm["hashes"] == [{"alg": "SHA-512", "content": hashlib.sha512(archive.read_bytes()).hexdigest()}]


def payload_of(archive: zipfile.ZipFile) -> dict[str, str]:
    return {
        name: hashlib.sha256(archive.read(name)).hexdigest() for name in archive.namelist() if ".dist-info/" not in name
    }


def embedded_package(staging: Path) -> dict[str, object]:
    document = json.loads((staging / "sboms" / "codex-runtime.cdx.json").read_bytes())
    (npm,) = [c for c in document["components"] if c["type"] == "application"]
    return dict(npm)


def test_a_directory_or_binary_source_records_no_integrity_and_the_wheel_carries_the_sbom(tmp_path: Path) -> None:
    package = write_platform_package(tmp_path / "pkg", LINUX)
    staged = stage_runtime(
        tmp_path / "stage",
        package,
        V,
        wheel_dir=tmp_path / "wheels",
        template=CHECKOUT.runtime_template,
        checkout=CHECKOUT.root,
    )
    npm = embedded_package(tmp_path / "stage")
    assert npm["purl"] == "pkg:npm/%40openai/codex@0.169.0-linux-x64"
    assert "hashes" not in npm  # no published file to name: a hash of our own copy would mislead
    assert staged.wheel is not None
    with zipfile.ZipFile(staged.wheel) as zf:
        assert check_sbom(zf.read(f"openai_codex_cli_bin-0.169.0.dist-info/{SBOM}"), "0.169.0", payload_of(zf)) == []
        files = json.loads(zf.read(f"openai_codex_cli_bin-0.169.0.dist-info/{SBOM}"))["components"]
    assert "codex_cli_bin/vendor/bin/codex" in {c["name"] for c in files}
    assert "codex_cli_bin/__init__.py" in {c["name"] for c in files}
    binary = write_binary(tmp_path / "codex", make_elf("x86_64", static=True))
    stage_runtime(tmp_path / "bare", binary, V, template=CHECKOUT.runtime_template, checkout=CHECKOUT.root)
    assert "hashes" not in embedded_package(tmp_path / "bare")


def test_bare_binary_source(tmp_path: Path) -> None:
    binary = write_binary(tmp_path / "codex", make_elf("aarch64", static=True))
    staged = stage_runtime(tmp_path / "stage", binary, V, template=CHECKOUT.runtime_template, checkout=CHECKOUT.root)
    assert staged.target.triple == "aarch64-unknown-linux-musl"
    manifest = json.loads((tmp_path / "stage" / VENDOR / "codex-package.json").read_text())
    assert manifest["version"] == "0.169.0"
    assert manifest["target"] == "aarch64-unknown-linux-musl"
    assert manifest["entrypoint"] == "bin/codex"
    with pytest.raises(InputRefused, match="aarch64"):
        stage_runtime(
            tmp_path / "other", binary, V, target=LINUX, template=CHECKOUT.runtime_template, checkout=CHECKOUT.root
        )
    assert not (tmp_path / "other").exists()


def test_voice_is_left_out_unless_asked_and_then_raises_the_floor(tmp_path: Path) -> None:
    package = write_platform_package(tmp_path / "pkg", "x86_64-apple-darwin", voice=True)
    default = stage_runtime(tmp_path / "a", package, V, template=CHECKOUT.runtime_template, checkout=CHECKOUT.root)
    assert default.platform_tags == ("macosx_10_12_x86_64",)
    assert not (tmp_path / "a" / VENDOR / "codex-resources" / "voice").exists()
    voiced = stage_runtime(
        tmp_path / "b", package, V, include_voice=True, template=CHECKOUT.runtime_template, checkout=CHECKOUT.root
    )
    assert voiced.platform_tags == ("macosx_14_0_x86_64",)
    assert (tmp_path / "b" / VENDOR / "codex-resources" / "voice").is_dir()


def _bad(
    tmp_path: Path,
    kind: type[ReleaseError],
    fragment: str,
    source: Path,
    staging: Path | None = None,
    **kwargs: object,
) -> None:
    staging = staging or tmp_path / "stage"
    before = sorted(p.name for p in staging.parent.iterdir())
    with pytest.raises(kind, match=fragment) as info:
        stage_runtime(
            staging,
            source,
            kwargs.pop("version", V),  # type: ignore[arg-type]
            template=CHECKOUT.runtime_template,
            checkout=CHECKOUT.root,
            **kwargs,  # type: ignore[arg-type]
        )
    assert "\n" not in str(info.value)
    assert sorted(p.name for p in staging.parent.iterdir()) == before


def test_version_mismatch(tmp_path: Path) -> None:
    package = write_platform_package(tmp_path / "pkg", LINUX, version="0.168.0")
    _bad(tmp_path, InputRefused, "says version '0.168.0' but --codex-version is 0.169.0", package)


def test_target_disagreement(tmp_path: Path) -> None:
    package = write_platform_package(tmp_path / "pkg", LINUX)
    _bad(
        tmp_path,
        InputRefused,
        "--target aarch64-apple-darwin disagrees with codex-package.json",
        package,
        target="aarch64-apple-darwin",
    )


def test_wrong_arch_binary_inside_a_package(tmp_path: Path) -> None:
    package = write_platform_package(tmp_path / "pkg", LINUX)
    write_binary(package / "codex-path" / "rg", make_elf("aarch64", static=True))
    _bad(tmp_path, InputRefused, "rg", package)


def test_wrong_os_binary_inside_a_package(tmp_path: Path) -> None:
    package = write_platform_package(tmp_path / "pkg", LINUX)
    write_binary(package / "bin" / "codex", make_macho("x86_64", minos=(11, 0)))
    _bad(tmp_path, InputRefused, "codex", package)


def test_entrypoint_not_an_executable(tmp_path: Path) -> None:
    package = write_platform_package(tmp_path / "pkg", LINUX)
    (package / "bin" / "codex").write_text("#!/bin/sh\necho hi\n")
    _bad(tmp_path, ArchiveRefused, "bin/codex is not an executable", package)


def test_unhonourable_platform_tag(tmp_path: Path) -> None:
    package = write_platform_package(tmp_path / "pkg", "x86_64-apple-darwin")
    _bad(tmp_path, InputRefused, "macosx_10_9_x86_64", package, platform_tag="macosx_10_9_x86_64")
    staged = stage_runtime(
        tmp_path / "ok",
        package,
        V,
        platform_tag="macosx_11_0_x86_64",
        template=CHECKOUT.runtime_template,
        checkout=CHECKOUT.root,
    )
    assert staged.platform_tags == ("macosx_11_0_x86_64",)


def test_staging_dir_rules(tmp_path: Path) -> None:
    package = write_platform_package(tmp_path / "pkg", LINUX)
    _bad(tmp_path, DestinationRefused, "overlaps SOURCE", package, staging=package / "stage")
    _bad(tmp_path, DestinationRefused, "inside the repository", package, staging=REPO / "stage-test")
    assert not (REPO / "stage-test").exists()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    _bad(tmp_path, DestinationRefused, "is not empty: pass --overwrite", package, staging=busy)
    assert (busy / "keep.txt").read_text() == "mine"
    stage_runtime(busy, package, V, overwrite=True, template=CHECKOUT.runtime_template, checkout=CHECKOUT.root)
    assert not (busy / "keep.txt").exists()
    assert (busy / "pyproject.toml").is_file()


def test_source_tree_is_never_modified(tmp_path: Path) -> None:
    def snapshot() -> dict[str, bytes]:
        return {str(p): p.read_bytes() for p in (REPO / "runtime").rglob("*") if p.is_file()}

    before = snapshot()
    stage_runtime(
        tmp_path / "stage",
        write_platform_package(tmp_path / "pkg", LINUX),
        V,
        template=CHECKOUT.runtime_template,
        checkout=CHECKOUT.root,
    )
    assert snapshot() == before


def test_cli_stage_runtime_and_one_line_errors(tmp_path: Path) -> None:
    package = write_platform_package(tmp_path / "pkg", LINUX)
    runner = CliRunner()
    ok = runner.invoke(main, ["stage-runtime", str(tmp_path / "s"), str(package), "--codex-version", "rust-v0.169.0"])
    assert ok.exit_code == 0, ok.output
    assert "py3-none-musllinux_1_1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64" in ok.output
    bad = runner.invoke(main, ["stage-runtime", str(tmp_path / "t"), str(package), "--codex-version", "0.1.0"])
    assert bad.exit_code == 1
    assert bad.output.count("\n") == 1
    assert bad.output.startswith("Error: ")
    missing = runner.invoke(
        main, ["stage-runtime", str(tmp_path / "u"), str(tmp_path / "nope"), "--codex-version", "0.169.0"]
    )
    assert missing.exit_code == 1
    assert "does not exist" in missing.output


@pytest.mark.runtime
@pytest.mark.parametrize("triple", [t.triple for t in TARGETS])
def test_real_packages_get_their_expected_tags(
    tmp_path: Path, real_package: Callable[[str], Path], pinned_version: CodexVersion, triple: str
) -> None:
    staged = stage_runtime(
        tmp_path / "stage",
        real_package(triple),
        pinned_version,
        template=CHECKOUT.runtime_template,
        checkout=CHECKOUT.root,
    )
    assert staged.platform_tags == get_target(triple).expected_tags
    # the real aarch64 package gives a lean wheel too (its rg needs glibc 2.18), every other target one
    assert [(v.name, v.tags) for v in staged.variants] == list(get_target(triple).expected_wheels)
    names = {b.path.relative_to(tmp_path / "stage" / VENDOR).as_posix() for b in staged.binaries}
    suffix = get_target(triple).exe_suffix
    assert {f"bin/codex{suffix}", f"bin/codex-code-mode-host{suffix}", f"codex-path/rg{suffix}"} <= names
    assert not any(name.startswith("codex-resources/voice/") for name in names)
