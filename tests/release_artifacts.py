"""Release directories for the smoke, resolution and publish tests, built with the toolkit itself.

* :func:`synthetic_release`: six small runtime wheels staged from synthetic platform packages (real
  ELF/Mach-O/PE headers, see ``synthetic_binaries``), plus the SDK wheel and sdist. Their binaries do not
  run, so installs and resolutions work but a turn cannot.
* :func:`mixed_release`: the same, with the real x86_64 and aarch64 Linux runtime wheels of the pinned
  version in place of the synthetic ones. This machine installs the real x86_64 wheel (so the smoke
  program runs a real turn) and qemu can run the real aarch64 one; the other four targets stay small,
  which keeps the tests minutes shorter than a full release while every code path is the same. The full
  six-target release is smoked by the main job (`make release`).

Builds are cached per pytest process, so several test modules share one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import tomlkit

from codex_release.core.targets import TARGETS
from codex_release.core.versions import CodexVersion
from codex_release.steps.stage_runtime import stage_runtime
from tests.checkout import CHECKOUT
from tests.synthetic_binaries import write_platform_package

REAL_TRIPLES = ("x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl")
_BUILT: dict[tuple[str, str], Path] = {}


def build_sdk(version: CodexVersion, out: Path) -> None:
    """The SDK wheel and sdist of the checked-in ``sdk/`` (whose version is the pinned runtime's)."""
    project = tomlkit.parse((CHECKOUT.sdk_pyproject).read_text(encoding="utf-8"))
    declared = str(project["project"]["version"])  # type: ignore[index,unused-ignore]
    assert declared == version.pep440, f"sdk/pyproject.toml is {declared}, the tests need {version}"
    command = [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(CHECKOUT.sdk)]
    subprocess.run(command, check=True, capture_output=True)


def _stage(root: Path, triple: str, source: Path, version: CodexVersion, dist: Path) -> None:
    stage_runtime(
        root / "staging" / triple,
        source,
        version,
        target=triple,
        wheel_dir=dist,
        progress=False,
        template=CHECKOUT.runtime_template,
        checkout=CHECKOUT.root,
    )


def synthetic_release(root: Path, version: CodexVersion) -> Path:
    """``root/dist`` with six synthetic runtime wheels and the SDK (built once per process)."""
    key = ("synthetic", version.pep440)
    if key not in _BUILT:
        dist = root / "dist"
        dist.mkdir(parents=True)
        for target in TARGETS:
            package = write_platform_package(root / "packages" / target.triple, target.triple, version=version.pep440)
            _stage(root, target.triple, package, version, dist)
        build_sdk(version, dist)
        shutil.rmtree(root / "staging", ignore_errors=True)
        _BUILT[key] = dist
    return _BUILT[key]


def mixed_release(root: Path, version: CodexVersion, real_package: Callable[[str], Path]) -> Path:
    """``root/dist``: real Linux runtime wheels (x86_64, aarch64), four synthetic ones, and the SDK."""
    key = ("mixed", version.pep440)
    if key not in _BUILT:
        dist = root / "dist"
        dist.mkdir(parents=True)
        for target in TARGETS:
            if target.triple in REAL_TRIPLES:
                source = real_package(target.triple)
            else:
                source = write_platform_package(
                    root / "packages" / target.triple, target.triple, version=version.pep440
                )
            _stage(root, target.triple, source, version, dist)
        build_sdk(version, dist)
        shutil.rmtree(root / "staging", ignore_errors=True)
        _BUILT[key] = dist
    return _BUILT[key]
