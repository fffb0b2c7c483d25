"""The pinned runtime: the single ``openai-codex-cli-bin==X`` dependency of ``sdk/pyproject.toml``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement

from codex_release.errors import ReleaseError
from codex_release.locations import repo_root
from codex_release.versions import CodexVersion, parse_codex_version

__all__ = [
    "RUNTIME_DISTRIBUTION",
    "SDK_DISTRIBUTION",
    "pinned_runtime_version",
    "runtime_dependency_index",
    "runtime_requirement",
]

RUNTIME_DISTRIBUTION = "openai-codex-cli-bin"
SDK_DISTRIBUTION = "openai-codex"


def runtime_dependency_index(dependencies: Sequence[object], where: str) -> int:
    """Where the one ``openai-codex-cli-bin`` requirement stands in a ``[project] dependencies`` list."""
    found: list[int] = []
    for index, entry in enumerate(dependencies):
        try:
            requirement = Requirement(str(entry))
        except InvalidRequirement as exc:
            raise ReleaseError(f"{where}: invalid dependency {entry!r}: {exc}") from None
        if requirement.name == RUNTIME_DISTRIBUTION:
            found.append(index)
    if len(found) != 1:
        raise ReleaseError(f"{where} must declare exactly one {RUNTIME_DISTRIBUTION}==X dependency, found {len(found)}")
    return found[0]


def runtime_requirement(pyproject: Path) -> Requirement:
    """The one ``openai-codex-cli-bin`` requirement of an SDK ``pyproject.toml``."""
    try:
        document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomlkit.exceptions.ParseError) as exc:
        raise ReleaseError(f"cannot read {pyproject}: {exc}") from None
    dependencies = document.get("project", {}).get("dependencies", [])
    return Requirement(str(dependencies[runtime_dependency_index(dependencies, str(pyproject))]))


def pinned_runtime_version(pyproject: Path | None = None) -> CodexVersion:
    """The Codex version pinned by ``sdk/pyproject.toml`` (the single source of truth)."""
    path = pyproject or repo_root() / "sdk" / "pyproject.toml"
    requirement = runtime_requirement(path)
    specifiers = list(requirement.specifier)
    if len(specifiers) != 1 or specifiers[0].operator != "==" or "*" in specifiers[0].version:
        raise ReleaseError(
            f"{path}: the {RUNTIME_DISTRIBUTION} dependency must be one exact pin (==X), not {requirement.specifier}"
        )
    return parse_codex_version(specifiers[0].version)
