"""The Codex CLI binary for this platform, as shipped in the ``openai-codex-cli-bin`` wheel.

The Codex platform package sits under ``vendor/`` inside this package: ``codex-package.json``,
``bin/codex[.exe]``, ``codex-path/`` (helpers that must be on ``PATH``, such as ``rg``) and
``codex-resources/``.

A wheel may leave out an optional helper of ``codex-path/`` when that helper needs more than ``codex``
itself (the aarch64 Linux ``rg`` needs glibc 2.18 while ``codex`` is static): that *lean* wheel serves
musl and older glibc, and Codex uses the ``rg`` on the system's ``PATH`` instead. :func:`bundled_helpers`
and :func:`omitted_helpers` say which helpers this install has and lacks (and why), from
``bundled-helpers.json`` written by the release toolkit beside this file.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "BundledRuntimeError",
    "bundled_codex_path",
    "bundled_env",
    "bundled_helpers",
    "bundled_manifest",
    "bundled_package_dir",
    "bundled_path_dir",
    "bundled_resources_dir",
    "bundled_variant",
    "bundled_version",
    "omitted_helpers",
]

_VENDOR = Path(__file__).resolve().parent / "vendor"
_HELPERS = Path(__file__).resolve().parent / "bundled-helpers.json"
_REINSTALL = "reinstall it with `pip install --force-reinstall openai-codex-cli-bin`"


class BundledRuntimeError(FileNotFoundError):
    """The bundled Codex runtime is missing or damaged."""


def bundled_package_dir() -> Path:
    """The directory of the bundled Codex platform package (holds ``codex-package.json``)."""
    if not (_VENDOR / "codex-package.json").is_file():
        raise BundledRuntimeError(
            f"no Codex platform package in {_VENDOR} (this openai-codex-cli-bin install is incomplete): {_REINSTALL}"
        )
    return _VENDOR


@lru_cache(maxsize=1)
def bundled_manifest() -> Mapping[str, Any]:
    """The parsed ``codex-package.json`` of the bundled platform package."""
    return _json_object(bundled_package_dir() / "codex-package.json")


def _json_object(path: Path) -> dict[str, Any]:
    """A JSON object file of the wheel (a missing or broken one means a broken install)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BundledRuntimeError(f"cannot read {path}: {exc}: {_REINSTALL}") from None
    if not isinstance(data, dict):
        raise BundledRuntimeError(f"{path} is not a JSON object: {_REINSTALL}")
    return data


def bundled_version() -> str:
    """The Codex version of the bundled binary (as its platform package states it)."""
    return str(bundled_manifest()["version"])


def _member(key: str, default: str) -> Path:
    relative = str(bundled_manifest().get(key) or default)
    return bundled_package_dir() / relative


def bundled_codex_path() -> Path:
    """Absolute path of the bundled ``codex`` executable."""
    exe = "codex.exe" if sys.platform == "win32" else "codex"
    path = _member("entrypoint", f"bin/{exe}")
    if not path.is_file():
        raise BundledRuntimeError(f"the bundled codex executable is missing at {path}: {_REINSTALL}")
    if sys.platform != "win32" and not os.access(path, os.X_OK):
        raise BundledRuntimeError(f"the bundled codex at {path} is not executable: {_REINSTALL}")
    return path


def bundled_path_dir() -> Path:
    """Directory of helper executables (``rg``) that codex expects on ``PATH``."""
    path = _member("pathDir", "codex-path")
    if not path.is_dir():
        raise BundledRuntimeError(f"the bundled helper directory is missing at {path}: {_REINSTALL}")
    return path


def bundled_resources_dir() -> Path:
    """Directory of codex's runtime resources (sandbox helpers, optional voice runtime)."""
    path = _member("resourcesDir", "codex-resources")
    if not path.is_dir():
        raise BundledRuntimeError(f"the bundled resources directory is missing at {path}: {_REINSTALL}")
    return path


@lru_cache(maxsize=1)
def _helpers_document() -> Mapping[str, Any]:
    if not _HELPERS.exists():
        return {}  # built without the toolkit's staging: what is on disk is all there is to say
    return _json_object(_HELPERS)


def bundled_variant() -> str:
    """``"full"`` (every helper of the platform package) or ``"lean"`` (some optional helper left out)."""
    return str(_helpers_document().get("variant") or "full")


def bundled_helpers() -> tuple[str, ...]:
    """Names of the helper programs this wheel puts on ``PATH`` for codex (``("rg",)``; ``()`` in a lean wheel).

    Read from the helper directory itself, so it is what is actually installed.
    """
    try:
        directory = bundled_path_dir()
    except BundledRuntimeError:
        return ()
    return tuple(sorted(entry.name for entry in directory.iterdir() if entry.is_file()))


def omitted_helpers() -> dict[str, str]:
    """Helpers of the Codex platform package this wheel leaves out: name -> why.

    Empty for a full wheel. In the lean aarch64 Linux wheel: ``{"rg": "... needs glibc 2.18 ..."}``;
    codex then runs the ``rg`` it finds on the system's ``PATH`` (install ripgrep to give it one).
    """
    omitted = _helpers_document().get("omitted") or {}
    if not isinstance(omitted, dict):
        raise BundledRuntimeError(f"{_HELPERS} has no valid 'omitted' table: {_REINSTALL}")
    return {Path(str(name)).name: str(why) for name, why in sorted(omitted.items())}


def bundled_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default ``os.environ``) with the bundled helper directory first on ``PATH``.

    This is what the official launcher does, so that codex finds its own ``rg``. A wheel without that
    directory (the lean aarch64 Linux wheel, see :func:`omitted_helpers`) leaves ``PATH`` as it is, so
    codex finds the system's ``rg``.
    """
    env = dict(os.environ if base is None else base)
    try:
        helpers = str(bundled_path_dir())
    except BundledRuntimeError:
        return env
    current = env.get("PATH", "")
    env["PATH"] = helpers + (os.pathsep + current if current else "")
    return env
