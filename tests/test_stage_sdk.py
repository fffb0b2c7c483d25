"""stage-sdk: version-locked copy of sdk/, build + twine check, and every refusal."""

from __future__ import annotations

import hashlib
import re
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from packaging.version import Version

from codex_release.cli import main
from codex_release.core.versions import CodexVersion, parse_codex_version
from codex_release.errors import DestinationRefused, FaultFound, InputRefused, ToolFailed
from codex_release.steps.stage_sdk import minimum_runtime_version, stage_sdk
from tests.checkout import CHECKOUT, pinned_runtime

REPO = Path(__file__).resolve().parent.parent
SDK = REPO / "sdk"
V = parse_codex_version
P = pinned_runtime()
"""The checkout's pin: the only version stage-sdk stages from its sdk/ (read, never assumed)."""
_MAJOR, _MINOR, _MICRO = P.version.release[:3]
NEXT = f"{_MAJOR}.{_MINOR + 1}.0"
"""A release after the pin (so above the SDK's minimum runtime), for copies of sdk/ moved to it."""
_GENERATED = re.compile(r'^CODEX_VERSION = "[^"]*"$', re.MULTILINE)


def _move_pin(sdk: Path, version: str) -> None:
    """Move a copy of sdk/ to ``version`` (as spelled) as ``bump`` would: pin, SDK version, generated types.

    The explicit way to stage a release other than the checkout's pin: stage-sdk stages only the pin of
    its source, whose generated types must come from that runtime.
    """
    pyproject = sdk / "pyproject.toml"
    text = pyproject.read_text()
    for old, new in ((f'version = "{P}"\n', f'version = "{version}"\n'), (f"-cli-bin=={P}", f"-cli-bin=={version}")):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    pyproject.write_text(text)
    init = sdk / "src" / "openai_codex" / "generated" / "__init__.py"
    init.write_text(_GENERATED.sub(f'CODEX_VERSION = "{V(version)}"', init.read_text(), count=1))


def _tree_digest(root: Path, *, skip_bytecode: bool = False) -> dict[str, str]:
    """Every file and directory under ``root`` with its content hash (directories: 'dir')."""
    digest = {}
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        if skip_bytecode and "__pycache__" in path.parts:
            continue  # other processes importing the SDK may write bytecode meanwhile
        digest[key] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return digest


@pytest.fixture
def sdk_copy(tmp_path: Path) -> Path:
    """A disposable copy of the real sdk/ (beside a fake runtime/ dir), polluted with caches."""
    repo = tmp_path / "repo"
    source = repo / "sdk"
    shutil.copytree(SDK, source, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    package = source / "src" / "openai_codex"
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "client.cpython-311.pyc").write_bytes(b"\0")
    (package / "stray.pyc").write_bytes(b"\0")
    for name in ("build", "dist", ".pytest_cache", "openai_codex.egg-info"):
        (source / name).mkdir()
        (source / name / "junk").write_text("junk")
    (package / "build").mkdir()  # a package directory that happens to be called "build" is content
    (package / "build" / "keep.txt").write_text("keep")
    return source


def test_stage_sets_version_and_pin_and_copies_everything_but_caches(sdk_copy: Path, tmp_path: Path) -> None:
    _move_pin(sdk_copy, f"{NEXT}-alpha.2")  # spelled as npm does: staging writes the PEP 440 form
    staging = tmp_path / "staging"
    result = stage_sdk(staging, codex_version=V(f"rust-v{NEXT}-alpha.2"), source=sdk_copy)

    assert (result.sdk_version, result.runtime_pin, result.artifacts) == (
        Version(f"{NEXT}a2"),
        Version(f"{NEXT}a2"),
        [],
    )
    original = (sdk_copy / "pyproject.toml").read_text().splitlines()
    staged = (staging / "pyproject.toml").read_text().splitlines()
    changed = [(a, b) for a, b in zip(original, staged, strict=True) if a != b]
    assert changed == [
        (f'version = "{NEXT}-alpha.2"', f'version = "{NEXT}a2"'),
        (f'  "openai-codex-cli-bin=={NEXT}-alpha.2",', f'  "openai-codex-cli-bin=={NEXT}a2",'),
    ]
    copied = set(_tree_digest(staging))
    assert "src/openai_codex/build/keep.txt" in copied
    assert "src/openai_codex/__init__.py" in copied
    assert not [name for name in copied if "__pycache__" in name or name.endswith(".pyc")]
    assert not [name for name in copied if name.split("/")[0] in {"build", "dist", ".pytest_cache"}]
    assert not [name for name in copied if ".egg-info" in name]
    source_files = {k for k in _tree_digest(sdk_copy) if k != "pyproject.toml"}
    assert {k for k in copied if k != "pyproject.toml"} == {
        k
        for k in source_files
        if "__pycache__" not in k
        and not k.endswith(".pyc")
        and k.split("/")[0] not in {"build", "dist", ".pytest_cache", "openai_codex.egg-info"}
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo", "staging"]  # no temporary left


def test_staging_never_touches_the_source_tree(tmp_path: Path) -> None:
    before = _tree_digest(SDK, skip_bytecode=True)
    stage_sdk(tmp_path / "staging", codex_version=P, dist_dir=tmp_path / "dist", source=CHECKOUT.sdk)
    assert _tree_digest(SDK, skip_bytecode=True) == before


def test_dist_dir_gets_a_checked_wheel_and_sdist_with_the_pin(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["stage-sdk", str(tmp_path / "staging"), "--codex-version", P.tag, "--dist-dir", str(tmp_path / "d")],
    )
    assert result.exit_code == 0, result.output
    wheel = tmp_path / "d" / f"openai_codex-{P}-py3-none-any.whl"
    sdist = tmp_path / "d" / f"openai_codex-{P}.tar.gz"
    assert sorted((tmp_path / "d").iterdir()) == [wheel, sdist]
    assert result.output.splitlines() == [
        f"Staged openai-codex {P} (openai-codex-cli-bin=={P}) in {tmp_path / 'staging'}",
        f"Built {sdist}",
        f"Built {wheel}",
    ]
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(f"openai_codex-{P}.dist-info/METADATA").decode()
    assert f"Requires-Dist: openai-codex-cli-bin=={P}" in metadata.splitlines()
    assert "openai_codex/generated/protocol.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    with tarfile.open(sdist) as archive:
        members = archive.getnames()
    assert f"openai_codex-{P}/pyproject.toml" in members
    assert not [n for n in members if "__pycache__" in n]


def test_the_minimum_runtime_comes_from_the_sdk_source() -> None:
    assert minimum_runtime_version(SDK) >= Version("0.169.0")


def test_a_runtime_below_the_minimum_is_refused(sdk_copy: Path, tmp_path: Path) -> None:
    minimum = minimum_runtime_version(sdk_copy)
    _move_pin(sdk_copy, "0.168.0")
    with pytest.raises(InputRefused, match=rf"older than the SDK's minimum runtime {re.escape(str(minimum))}"):
        stage_sdk(tmp_path / "staging", codex_version=V("0.168.0"), source=sdk_copy)
    assert not (tmp_path / "staging").exists()


def test_an_alpha_of_the_minimum_is_below_it(sdk_copy: Path, tmp_path: Path) -> None:
    alpha = f"{minimum_runtime_version(sdk_copy)}a3"
    _move_pin(sdk_copy, alpha)
    with pytest.raises(InputRefused, match="older than the SDK's minimum"):
        stage_sdk(tmp_path / "staging", codex_version=V(alpha), source=sdk_copy)


@pytest.mark.parametrize("sdk_version", [f"{_MAJOR}.{_MINOR}.{_MICRO + 1}", f"{P}.post1", NEXT])
def test_an_sdk_version_other_than_the_codex_version_is_refused(
    sdk_copy: Path, tmp_path: Path, sdk_version: str
) -> None:
    with pytest.raises(InputRefused, match=f"--sdk-version {sdk_version} differs from the Codex version {P}"):
        stage_sdk(tmp_path / "staging", codex_version=P, sdk_version=sdk_version, source=sdk_copy)
    assert not (tmp_path / "staging").exists()


def test_a_version_other_than_the_sources_pin_is_refused(sdk_copy: Path, tmp_path: Path) -> None:
    other = NEXT
    message = (
        f"--codex-version {other} is not the pinned runtime {P} ({sdk_copy / 'pyproject.toml'}): "
        f"run 'codex-release bump --codex-version {other}' to move the pin, or release {P}"
    )
    with pytest.raises(InputRefused, match=re.escape(message)):
        stage_sdk(tmp_path / "staging", codex_version=V(other), dist_dir=tmp_path / "dist", source=sdk_copy)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"]


def test_generated_types_of_another_runtime_are_refused(sdk_copy: Path, tmp_path: Path) -> None:
    init = sdk_copy / "src" / "openai_codex" / "generated" / "__init__.py"
    init.write_text(_GENERATED.sub('CODEX_VERSION = "0.1.0"', init.read_text(), count=1))
    message = (
        f"the SDK's generated types (sdk/src/openai_codex/generated/__init__.py) are from Codex 0.1.0, "
        f"not the pinned runtime {P}: run 'codex-release generate-types'"
    )
    with pytest.raises(FaultFound, match=re.escape(message)):
        stage_sdk(tmp_path / "staging", codex_version=P, dist_dir=tmp_path / "dist", source=sdk_copy)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"]


def test_cli_refuses_a_version_other_than_the_pin_in_one_line(tmp_path: Path) -> None:
    other = NEXT
    args = ["stage-sdk", str(tmp_path / "s"), "--codex-version", f"rust-v{other}", "--dist-dir", str(tmp_path / "d")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: --codex-version {other} is not the pinned runtime {P} (sdk/pyproject.toml): "
        f"run 'codex-release bump --codex-version {other}' to move the pin, or release {P}"
    ]
    assert list(tmp_path.iterdir()) == []


def test_the_same_sdk_version_in_another_spelling_is_accepted(sdk_copy: Path, tmp_path: Path) -> None:
    _move_pin(sdk_copy, f"{NEXT}rc1")
    result = stage_sdk(tmp_path / "s", codex_version=V(f"{NEXT}-rc.1"), sdk_version=f"{NEXT}-rc1", source=sdk_copy)
    assert result.sdk_version == Version(f"{NEXT}rc1")
    assert f'version = "{NEXT}rc1"' in (tmp_path / "s" / "pyproject.toml").read_text()


def test_an_invalid_sdk_version_is_refused(sdk_copy: Path, tmp_path: Path) -> None:
    with pytest.raises(InputRefused, match="--sdk-version 'latest' is not a PEP 440 version"):
        stage_sdk(tmp_path / "s", codex_version=P, sdk_version="latest", source=sdk_copy)


def test_a_non_empty_staging_dir_needs_overwrite(sdk_copy: Path, tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "old.txt").write_text("old")
    with pytest.raises(DestinationRefused, match="is not empty: pass --overwrite"):
        stage_sdk(staging, codex_version=P, source=sdk_copy)
    assert [p.name for p in staging.iterdir()] == ["old.txt"]

    stage_sdk(staging, codex_version=P, source=sdk_copy, overwrite=True)
    assert not (staging / "old.txt").exists()
    assert (staging / "pyproject.toml").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo", "staging"]


def test_an_empty_existing_staging_dir_is_fine(sdk_copy: Path, tmp_path: Path) -> None:
    (tmp_path / "staging").mkdir()
    stage_sdk(tmp_path / "staging", codex_version=P, source=sdk_copy)
    assert (tmp_path / "staging" / "pyproject.toml").is_file()


@pytest.mark.parametrize("where", ["repo/elsewhere", "repo/sdk/inner", "repo/sdk", "repo", "."])
def test_a_staging_dir_inside_or_around_the_repository_is_refused(sdk_copy: Path, tmp_path: Path, where: str) -> None:
    with pytest.raises(DestinationRefused, match="is inside the repository"):
        stage_sdk(tmp_path / where, codex_version=P, source=sdk_copy, overwrite=True)
    assert (sdk_copy / "pyproject.toml").is_file()


def test_the_real_repository_is_protected_too(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["stage-sdk", str(REPO / "staged"), "--codex-version", P.pep440])
    assert result.exit_code == 1
    assert "is inside the repository" in result.output
    assert not (REPO / "staged").exists()


@pytest.mark.parametrize("where", ["repo/sdk/dist", "staging/dist", "."])
def test_a_dist_dir_overlapping_the_source_or_staging_is_refused(sdk_copy: Path, tmp_path: Path, where: str) -> None:
    with pytest.raises(DestinationRefused, match=r"--dist-dir .* overlaps"):
        stage_sdk(tmp_path / "staging", codex_version=P, dist_dir=tmp_path / where, source=sdk_copy)


def test_file_paths_are_refused(sdk_copy: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(DestinationRefused, match=r"STAGING_DIR .* is a file"):
        stage_sdk(tmp_path / "file", codex_version=P, source=sdk_copy)
    with pytest.raises(DestinationRefused, match=r"--dist-dir .* is a file"):
        stage_sdk(tmp_path / "s", codex_version=P, dist_dir=tmp_path / "file", source=sdk_copy)


def test_a_source_with_two_runtime_pins_is_refused(sdk_copy: Path, tmp_path: Path) -> None:
    pyproject = sdk_copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('  "pydantic', '  "openai-codex-cli-bin>=0.1",\n  "pydantic'))
    with pytest.raises(InputRefused, match="exactly one openai-codex-cli-bin==X dependency, found 2"):
        stage_sdk(tmp_path / "s", codex_version=P, source=sdk_copy)
    assert not (tmp_path / "s").exists()


def test_a_source_without_a_static_version_is_refused(
    sdk_copy: Path, tmp_path: Path, pinned_version: CodexVersion
) -> None:
    pyproject = sdk_copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(f'version = "{P}"\n', 'dynamic = ["version"]\n'))
    with pytest.raises(InputRefused, match=r"must set a static \[project\] version"):
        stage_sdk(tmp_path / "s", codex_version=P, source=sdk_copy)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"]


def test_a_source_without_a_minimum_runtime_is_refused(sdk_copy: Path, tmp_path: Path) -> None:
    runtime = sdk_copy / "src" / "openai_codex" / "_runtime.py"
    runtime.write_text(runtime.read_text().replace("MINIMUM_RUNTIME_VERSION =", "OLDEST ="))
    with pytest.raises(InputRefused, match="does not define MINIMUM_RUNTIME_VERSION"):
        stage_sdk(tmp_path / "s", codex_version=P, source=sdk_copy)


def test_a_failed_build_leaves_no_staging_dir_and_no_artifacts(sdk_copy: Path, tmp_path: Path) -> None:
    pyproject = sdk_copy / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('requires = ["hatchling>=1.26"]', 'requires = ["hatchling>=99"]')
    )
    with pytest.raises(ToolFailed, match=r"python -m build --no-isolation .* failed .*hatchling>=99"):
        stage_sdk(tmp_path / "staging", codex_version=P, dist_dir=tmp_path / "dist", source=sdk_copy)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"]


def test_a_readme_that_twine_rejects_fails_the_stage(sdk_copy: Path, tmp_path: Path) -> None:
    pyproject = sdk_copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('readme = "README.md"', 'readme = "README.rst"'))
    (sdk_copy / "README.rst").write_text("Title\n=====\n\n.. broken-directive::\n\n`unclosed\n")
    text = pyproject.read_text()
    pyproject.write_text(
        text.replace('include = ["src/openai_codex", "README.md",', 'include = ["src/openai_codex", "README.rst",')
    )
    with pytest.raises(ToolFailed, match="twine check --strict failed"):
        stage_sdk(tmp_path / "staging", codex_version=P, dist_dir=tmp_path / "dist", source=sdk_copy)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"]


def test_cli_requires_a_codex_version(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["stage-sdk", str(tmp_path / "s")])
    assert result.exit_code == 2
    assert "Missing option '--codex-version'" in result.output


def test_cli_reports_refusals_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["stage-sdk", str(tmp_path / "s"), "--codex-version", P.pep440, "--sdk-version", "1.0.0"]
    )
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert result.output.startswith(f"Error: --sdk-version 1.0.0 differs from the Codex version {P}")
