"""``stage-sdk``: a copy of ``sdk/`` locked to one Codex release, optionally built and checked.

The staged copy differs from the source in exactly two TOML values, edited with tomlkit so every other
byte (comments, layout) is kept: ``[project] version`` and the single ``openai-codex-cli-bin==X``
dependency. The source tree is only ever read.

Version policy: the SDK and the runtime published for release X are both version X (a post-release
of the SDK alone would pair one SDK version with another's runtime, so ``--sdk-version`` only accepts
X itself). X must be the runtime the source pins, and its generated types must come from X
(:func:`check_sdk_source`): the types are never rewritten, so any other X would ship the protocol of one
runtime under a pin on another; ``bump`` moves the pin and the types together. A runtime older than the
SDK's minimum (``MINIMUM_RUNTIME_VERSION`` in
``src/openai_codex/_runtime.py``, the one place the SDK defines it) is refused.

Builds run ``python -m build --no-isolation`` with this environment's hatchling (a dependency of the
toolkit that satisfies the SDK's ``build-system.requires``): no package index and no network are needed,
and the backend version is the one the toolkit's own tests ran with. ``python -m build`` builds the sdist
first and the wheel from the unpacked sdist, so an incomplete sdist fails here, not for a user.

Nothing is left behind on failure: the copy is made (and built) in a temporary sibling of STAGING_DIR
and renamed into place only when everything succeeded.
"""

from __future__ import annotations

import ast
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

import tomlkit
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from codex_release import processes
from codex_release.core.artifact_metadata import runtime_pins, sdist_metadata, wheel_metadata
from codex_release.core.pins import (
    RUNTIME_DISTRIBUTION,
    SDK_DISTRIBUTION,
    require_generated,
    require_pinned,
    runtime_requirement,
)
from codex_release.core.staging import check_place, check_replaceable, hold, replace_when_done
from codex_release.core.versions import CodexVersion, parse_pep440
from codex_release.errors import InputRefused, ToolFailed, squeezed

__all__ = [
    "MINIMUM_RUNTIME_FILE",
    "StagedSdk",
    "build_and_check",
    "check_sdk_source",
    "minimum_runtime_version",
    "stage_sdk",
]

MINIMUM_RUNTIME_FILE = Path("src/openai_codex/_runtime.py")
"""Where the SDK defines ``MINIMUM_RUNTIME_VERSION`` (relative to ``sdk/``)."""
_MINIMUM_RUNTIME_NAME = "MINIMUM_RUNTIME_VERSION"

_CACHE_NAMES = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis"})
_CACHE_SUFFIXES = (".pyc", ".pyo", ".egg-info")
_TOP_LEVEL_OUTPUTS = frozenset({"build", "dist", ".venv", ".tox", ".nox"})


@dataclass(frozen=True)
class StagedSdk:
    """What ``stage-sdk`` produced."""

    staging_dir: Path
    sdk_version: Version
    runtime_pin: Version
    artifacts: list[Path] = field(default_factory=list)


def minimum_runtime_version(sdk_dir: Path) -> Version:
    """``MINIMUM_RUNTIME_VERSION`` of the SDK in ``sdk_dir``, read without importing the SDK."""
    path = sdk_dir / MINIMUM_RUNTIME_FILE
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError) as exc:
        raise InputRefused(f"cannot read the SDK's minimum runtime from {path}: {exc}") from None
    for node in tree.body:
        target: ast.expr
        value: ast.expr | None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id == _MINIMUM_RUNTIME_NAME:
            if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
                raise InputRefused(f"{path}: {_MINIMUM_RUNTIME_NAME} must be a string literal such as '0.169.0'")
            return parse_pep440(value.value, f"{path}: {_MINIMUM_RUNTIME_NAME}")
    raise InputRefused(f"{path} does not define {_MINIMUM_RUNTIME_NAME}: the SDK must declare its oldest runtime")


def _ignore_caches(root: Path) -> Callable[[str, list[str]], set[str]]:
    """A ``copytree`` filter: caches anywhere, build outputs and environments at the top level."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        ignored = {n for n in names if n in _CACHE_NAMES or n.endswith(_CACHE_SUFFIXES)}
        if Path(directory) == root:
            ignored |= {n for n in names if n in _TOP_LEVEL_OUTPUTS}
        return ignored

    return ignore


def _check_versions(codex_version: CodexVersion, sdk_version: str | None, minimum: Version) -> Version:
    runtime = codex_version.version
    if runtime < minimum:
        raise InputRefused(
            f"Codex {codex_version} is older than the SDK's minimum runtime {minimum} "
            f"({_MINIMUM_RUNTIME_NAME} in sdk/{MINIMUM_RUNTIME_FILE.as_posix()}): stage a newer Codex release"
        )
    if sdk_version is None:
        return runtime
    wanted = parse_pep440(sdk_version, "--sdk-version")
    if wanted != runtime:
        raise InputRefused(
            f"--sdk-version {sdk_version} differs from the Codex version {codex_version}: the SDK and runtime "
            f"of one release share its version; drop --sdk-version or pass {codex_version}"
        )
    return wanted


def _rewrite_pyproject(pyproject: Path, sdk_version: Version, runtime: Version) -> None:
    """Set ``[project] version`` and the runtime pin, keeping every other byte."""
    requirement = runtime_requirement(pyproject)  # exactly one runtime dependency, or a ReleaseError
    document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    project = document.get("project")
    if project is None or "version" not in project:
        raise InputRefused(f"{pyproject} must set a static [project] version for stage-sdk to replace")
    if str(project.get("name")) != SDK_DISTRIBUTION:
        raise InputRefused(f"{pyproject} is not the {SDK_DISTRIBUTION} project (name {project.get('name')!r})")
    project["version"] = str(sdk_version)
    dependencies = project["dependencies"]
    pinned = Requirement(str(requirement))
    pinned.specifier = SpecifierSet(f"=={runtime}")
    for index, entry in enumerate(list(dependencies)):
        if canonicalize_name(Requirement(str(entry)).name) == canonicalize_name(RUNTIME_DISTRIBUTION):
            dependencies[index] = str(pinned)
    pyproject.write_text(tomlkit.dumps(document), encoding="utf-8")


def _run(args: list[str], what: str) -> None:
    env = {**os.environ, "PIP_NO_INPUT": "1"}
    result = processes.run(args, env=env, timeout=900, what=what)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        tail = " | ".join(squeezed(line) for line in output[-6:] if line.strip())
        raise ToolFailed(f"{what} failed (exit status {result.returncode}): {tail}")


def _check_metadata(message: Message, where: Path, sdk_version: Version, runtime: Version) -> None:
    pins = runtime_pins(message)
    if Version(message["Version"]) != sdk_version or [str(p.specifier) for p in pins] != [f"=={runtime}"]:
        raise ToolFailed(
            f"{where.name} carries version {message['Version']} and runtime pins {[str(p) for p in pins]}, not "
            f"{sdk_version} and =={runtime}: the build backend did not use the staged pyproject.toml"
        )


def build_and_check(project: Path, out_dir: Path, sdk_version: Version, runtime: Version) -> list[Path]:
    """Build sdist + wheel of ``project`` into the empty ``out_dir``; check them with twine and metadata."""
    _run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out_dir), str(project)],
        "python -m build --no-isolation (the build needs this environment's hatchling: run `make setup`)",
    )
    wheels, sdists = sorted(out_dir.glob("*.whl")), sorted(out_dir.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        raise ToolFailed(f"the build produced {[p.name for p in out_dir.iterdir()]}, not one wheel and one sdist")
    artifacts = [sdists[0], wheels[0]]
    _run([sys.executable, "-m", "twine", "check", "--strict", *map(str, artifacts)], "twine check --strict")
    _check_metadata(wheel_metadata(wheels[0]), wheels[0], sdk_version, runtime)
    _check_metadata(sdist_metadata(sdists[0]), sdists[0], sdk_version, runtime)
    return artifacts


def check_sdk_source(codex_version: CodexVersion, source: Path) -> Path:
    """The SDK source ``source`` (a checkout's ``sdk/``), resolved, once it is fit to stage ``codex_version``.

    Its ``openai-codex-cli-bin`` pin must be ``codex_version`` and its generated types made from that
    runtime: staging rewrites the pin but never the types, so staging any other version would ship types
    of one runtime under a pin on another. ``release`` calls this before fetching anything.
    """
    sdk = source.resolve()
    if not (sdk / "pyproject.toml").is_file():
        raise InputRefused(f"{sdk} has no pyproject.toml: point stage-sdk at the SDK source (sdk/)")
    runtime_requirement(sdk / "pyproject.toml")  # fail on a malformed source before copying anything
    require_pinned(codex_version, sdk / "pyproject.toml")
    require_generated(codex_version, sdk)
    return sdk


def stage_sdk(
    staging_dir: Path,
    codex_version: CodexVersion,
    *,
    source: Path,
    sdk_version: str | None = None,
    dist_dir: Path | None = None,
    overwrite: bool = False,
) -> StagedSdk:
    """Stage ``source`` (a checkout's ``sdk/``) into ``staging_dir`` for ``codex_version``.

    Output rules (:mod:`codex_release.core.staging`): STAGING_DIR lies outside the checkout that holds the
    SDK source; ``dist_dir`` lies apart from the source and STAGING_DIR and, inside the checkout, only in
    a git-ignored output directory. Both are locked while written. ``codex_version`` must be the source's
    pinned runtime (:func:`check_sdk_source`); to stage another, move the pin of a copy first.
    """
    sdk = check_sdk_source(codex_version, source)
    checkout = sdk.parent
    staging = check_place(staging_dir, label="STAGING_DIR", checkout=checkout)
    dist = (
        check_place(
            dist_dir,
            label="--dist-dir",
            sources={"SOURCE": sdk, "STAGING_DIR": staging},
            checkout=checkout,
            in_checkout="ignored",
        )
        if dist_dir is not None
        else None
    )

    version = _check_versions(codex_version, sdk_version, minimum_runtime_version(sdk))
    runtime = codex_version.version

    artifacts: list[Path] = []
    with hold(staging, label="STAGING_DIR"):
        check_replaceable(staging, label="STAGING_DIR", overwrite=overwrite)
        with replace_when_done(staging) as new:
            shutil.copytree(sdk, new, symlinks=True, ignore=_ignore_caches(sdk), dirs_exist_ok=True)
            _rewrite_pyproject(new / "pyproject.toml", version, runtime)
            if dist is not None:
                built = new.parent / "build"  # inside the scratch directory: removed with it
                built.mkdir()
                built_artifacts = build_and_check(new, built, version, runtime)
                with hold(dist, label="--dist-dir"):
                    dist.mkdir(exist_ok=True)
                    for artifact in built_artifacts:
                        os.replace(artifact, dist / artifact.name)
                        artifacts.append(dist / artifact.name)
    return StagedSdk(staging, version, runtime, artifacts)
