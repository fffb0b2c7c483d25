"""Session fixtures shared by the whole suite: the real pinned Codex platform packages.

They are fetched through the toolkit itself (npm, integrity-checked) into the user cache, never into
the repository; a second session reuses the cache.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from codex_release.core.runtime_source import read_manifest
from codex_release.core.targets import get_target, host_target
from codex_release.core.versions import CodexVersion
from codex_release.steps.fetch import fetched_package_dir
from tests.checkout import REPO_ROOT, pinned_runtime
from tests.release_artifacts import mixed_release, synthetic_release

__all__ = ["REPO_ROOT"]


@pytest.fixture(scope="session")
def pinned_version() -> CodexVersion:
    """The Codex version pinned in sdk/pyproject.toml."""
    return pinned_runtime()


@pytest.fixture(scope="session")
def real_package(pinned_version: CodexVersion) -> Callable[[str], Path]:
    """``real_package(triple)``: the unpacked platform package (with voice) of the pinned version."""
    cache: dict[str, Path] = {}

    def get(triple: str) -> Path:
        if triple not in cache:
            cache[triple] = fetched_package_dir(pinned_version, get_target(triple))
        return cache[triple]

    return get


@pytest.fixture(scope="session")
def real_codex_bin(real_package: Callable[[str], Path]) -> Path:
    """The ``codex`` executable of the pinned version that runs on this machine."""
    package = real_package(host_target().triple)
    return package / read_manifest(package).entrypoint


@pytest.fixture(scope="session")
def synthetic_dist(tmp_path_factory: pytest.TempPathFactory, pinned_version: CodexVersion) -> Path:
    """A whole release of the pinned version built from synthetic platform packages (small, fast)."""
    return synthetic_release(tmp_path_factory.mktemp("synthetic-release"), pinned_version)


@pytest.fixture
def dist_copy(synthetic_dist: Path, tmp_path: Path) -> Path:
    """A private copy of :func:`synthetic_dist` that a test may damage."""
    copy = tmp_path / "dist"
    shutil.copytree(synthetic_dist, copy)
    return copy


@pytest.fixture(scope="session")
def pinned_release(
    tmp_path_factory: pytest.TempPathFactory, pinned_version: CodexVersion, real_package: Callable[[str], Path]
) -> Path:
    """A release with the real x86_64 and aarch64 Linux runtime wheels (synthetic for the other targets)."""
    return mixed_release(tmp_path_factory.mktemp("mixed-release"), pinned_version, real_package)
