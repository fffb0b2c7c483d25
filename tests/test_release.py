"""The main job end to end, on the real pinned release (slow: six full-size wheels, twice)."""

from __future__ import annotations

import json
import os
import subprocess
import venv
from pathlib import Path

import pytest
from click.testing import CliRunner

from codex_release.checks.index_limits import SizeLimits
from codex_release.cli import main
from codex_release.core.record import MANIFEST_FILE, SUMS_FILE
from codex_release.core.targets import TARGETS
from codex_release.core.versions import CodexVersion
from codex_release.steps.release import build_release
from tests.checkout import CHECKOUT

pytestmark = [pytest.mark.runtime, pytest.mark.slow]

PROJECT_LIMITS = SizeLimits.resolve("project")


@pytest.fixture(scope="module")
def first_release(tmp_path_factory: pytest.TempPathFactory, pinned_version: CodexVersion) -> Path:
    dist = tmp_path_factory.mktemp("first") / "dist"
    # as `make release` does: the real runtime wheels are above the index's default 100 MiB per file
    result = build_release(
        pinned_version, dist, echo=lambda _line: None, progress=False, limits=PROJECT_LIMITS, checkout=CHECKOUT
    )
    assert result.report.ok
    return dist


def test_release_holds_the_whole_verified_set(first_release: Path, pinned_version: CodexVersion) -> None:
    names = sorted(p.name for p in first_release.iterdir())
    v = pinned_version.pep440
    assert f"openai_codex-{v}-py3-none-any.whl" in names
    assert f"openai_codex-{v}.tar.gz" in names
    assert SUMS_FILE in names
    assert MANIFEST_FILE in names
    runtime = [n for n in names if n.startswith("openai_codex_cli_bin-")]
    assert len(runtime) == sum(len(t.expected_wheels) for t in TARGETS)  # aarch64 Linux: full + lean
    assert not any(n.endswith(".tar.gz") for n in runtime)
    manifest = json.loads((first_release / MANIFEST_FILE).read_text())["artifacts"]
    assert {e["target"] for e in manifest if e["target"]} == {t.triple for t in TARGETS}
    sums = dict(reversed(line.split("  ")) for line in (first_release / SUMS_FILE).read_text().splitlines())
    assert set(sums) == {e["file"] for e in manifest}
    assert all(sums[e["file"]] == e["sha256"] for e in manifest)
    for target in TARGETS:
        entries = {e["variant"]: e for e in manifest if e["target"] == target.triple}
        assert set(entries) == {name for name, _ in target.expected_wheels}
        for variant, tags in target.expected_wheels:  # the full wheel, and the lean one where there is one
            assert {tag.split("-")[-1] for tag in entries[variant]["tags"]} == set(tags)


def test_second_run_uses_only_the_cache_and_is_byte_identical(
    first_release: Path, pinned_version: CodexVersion, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    npm = fake_bin / "npm"
    npm.write_text("#!/bin/sh\necho 'npm must not be called on a cached run' >&2\nexit 97\n")
    npm.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    second = tmp_path / "dist"
    build_release(
        pinned_version,
        second,
        run_smoke=False,
        echo=lambda _line: None,
        progress=False,
        limits=PROJECT_LIMITS,
        checkout=CHECKOUT,
    )
    assert (second / SUMS_FILE).read_text() == (first_release / SUMS_FILE).read_text()


def test_x86_64_linux_wheel_runs_from_a_fresh_venv(
    first_release: Path, pinned_version: CodexVersion, tmp_path: Path
) -> None:
    (wheel,) = first_release.glob("openai_codex_cli_bin-*x86_64*linux*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV"))}
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-index", str(wheel)], check=True, env=clean, cwd=tmp_path
    )
    out = subprocess.run(
        [python, "-m", "codex_cli_bin", "--version"],
        check=True,
        capture_output=True,
        text=True,
        env=clean,
        cwd=tmp_path,
    )
    assert out.stdout.strip() == f"codex-cli {pinned_version.semver}"
    where = subprocess.run(
        [python, "-c", "import codex_cli_bin; print(codex_cli_bin.bundled_codex_path())"],
        check=True,
        capture_output=True,
        text=True,
        env=clean,
        cwd=tmp_path,
    )
    assert Path(where.stdout.strip()).is_relative_to(env_dir)


def test_failed_release_leaves_dist_untouched(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "keep.txt").write_text("previous release")
    result = CliRunner().invoke(
        main, ["release", "--codex-version", "0.0.1", "--dist-dir", str(dist), "--no-smoke", "-q"]
    )
    assert result.exit_code == 1
    assert (dist / "keep.txt").read_text() == "previous release"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dist"]
