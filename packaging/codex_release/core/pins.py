"""The pinned runtime: the single ``openai-codex-cli-bin==X`` dependency of ``sdk/pyproject.toml``."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from pathlib import Path

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement

from codex_release.core.versions import CodexVersion, parse_codex_version
from codex_release.errors import FaultFound, InputRefused, squeezed

__all__ = [
    "GENERATED_INIT",
    "RUNTIME_DISTRIBUTION",
    "SDK_DISTRIBUTION",
    "generated_codex_version",
    "pinned_runtime_version",
    "require_generated",
    "require_pinned",
    "runtime_dependency_index",
    "runtime_requirement",
]

RUNTIME_DISTRIBUTION = "openai-codex-cli-bin"
SDK_DISTRIBUTION = "openai-codex"
GENERATED_INIT = "openai_codex/generated/__init__.py"
"""The module of the SDK's generated types that records their runtime (``CODEX_VERSION``), relative to the
import root: ``sdk/src/`` in the checkout, the top of the wheel, ``<name>-<version>/src/`` in the sdist."""
_GENERATED_NAME = "CODEX_VERSION"


def runtime_dependency_index(dependencies: Sequence[object], where: str) -> int:
    """Where the one ``openai-codex-cli-bin`` requirement stands in a ``[project] dependencies`` list."""
    found: list[int] = []
    for index, entry in enumerate(dependencies):
        try:
            requirement = Requirement(str(entry))
        except InvalidRequirement as exc:
            raise InputRefused(f"{where}: invalid dependency {entry!r}: {squeezed(exc)}") from None
        if requirement.name == RUNTIME_DISTRIBUTION:
            found.append(index)
    if len(found) != 1:
        raise InputRefused(f"{where} must declare exactly one {RUNTIME_DISTRIBUTION}==X dependency, found {len(found)}")
    return found[0]


def runtime_requirement(pyproject: Path) -> Requirement:
    """The one ``openai-codex-cli-bin`` requirement of an SDK ``pyproject.toml``."""
    try:
        document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomlkit.exceptions.ParseError) as exc:
        raise InputRefused(f"cannot read {pyproject}: {exc}") from None
    dependencies = document.get("project", {}).get("dependencies", [])
    return Requirement(str(dependencies[runtime_dependency_index(dependencies, str(pyproject))]))


def pinned_runtime_version(pyproject: Path) -> CodexVersion:
    """The Codex version pinned by ``pyproject`` (a checkout's ``sdk/pyproject.toml``: the single source of truth)."""
    path = pyproject
    requirement = runtime_requirement(path)
    specifiers = list(requirement.specifier)
    if len(specifiers) != 1 or specifiers[0].operator != "==" or "*" in specifiers[0].version:
        raise InputRefused(
            f"{path}: the {RUNTIME_DISTRIBUTION} dependency must be one exact pin (==X), not {requirement.specifier}"
        )
    return parse_codex_version(specifiers[0].version)


def require_pinned(
    version: CodexVersion | None, pyproject: Path, *, given_as: str | None = None, shown: str | None = None
) -> CodexVersion:
    """The version a release command works on: the pin of ``pyproject`` (a checkout's
    ``sdk/pyproject.toml``), which ``version``, when given, must equal.

    The one rule, called by every command that releases, before anything is fetched or built. Why: the
    SDK's generated types, its tests and its smoke installs are made from the pinned runtime, so an SDK
    staged for another version would require that runtime while its types describe the pinned one; and
    the package index never lets a published file be replaced, so such a release could not be taken back.
    ``bump`` is the one way to move the pin (it regenerates the types with it). ``given_as`` names where
    the version came from in the refusal (default ``--codex-version V``), ``shown`` names ``pyproject``
    (default: its path; the CLI says ``sdk/pyproject.toml``).
    """
    pinned = pinned_runtime_version(pyproject)
    if version is None or version == pinned:
        return pinned
    raise InputRefused(
        f"{given_as or f'--codex-version {version}'} is not the pinned runtime {pinned} "
        f"({shown or pyproject}): "
        f"run 'codex-release bump --codex-version {version}' to move the pin, or release {pinned}"
    )


def generated_codex_version(source: str | bytes, where: str) -> CodexVersion:
    """``CODEX_VERSION`` of the SDK's generated ``__init__.py`` (its text), read without importing it.

    Read with :mod:`ast` because the text may come from an untrusted wheel or sdist (``verify``): nothing
    of it is executed. ``where`` names the file in errors.
    """
    try:
        tree = ast.parse(source, filename=where)
    except (SyntaxError, ValueError) as exc:
        raise FaultFound(f"{where} is not Python ({exc}): run 'codex-release generate-types'") from None
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == _GENERATED_NAME
        ):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                try:
                    return parse_codex_version(node.value.value)
                except InputRefused as exc:
                    raise FaultFound(f"{where}: {_GENERATED_NAME}: {exc}") from None
            break
    raise FaultFound(f"{where} does not set {_GENERATED_NAME} to a version string: run 'codex-release generate-types'")


def require_generated(version: CodexVersion, sdk: Path) -> None:
    """The SDK source ``sdk`` (``sdk/`` of the checkout) has generated types made from ``version``'s runtime.

    Why: staging rewrites the pin but never the types, so types generated from another runtime (a pin
    moved by hand, a forgotten ``generate-types``) would ship as the protocol of the pinned one.
    """
    init = sdk / "src" / GENERATED_INIT
    shown = f"{sdk.name}/src/{GENERATED_INIT}"
    try:
        text = init.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FaultFound(f"cannot read {shown} ({exc}): run 'codex-release generate-types'") from None
    generated = generated_codex_version(text, shown)
    if generated != version:
        raise FaultFound(
            f"the SDK's generated types ({shown}) are from Codex {generated}, not the pinned runtime {version}: "
            "run 'codex-release generate-types'"
        )
