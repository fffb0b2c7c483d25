"""Where the toolkit finds things outside its own package: the checkout it runs from and the user cache.

Two places, each with one answer for every module: :func:`repo_root` (the checkout holding ``sdk/`` and
``runtime/``, which staging, type generation and the output rules read) and :func:`cache_dir` (fetched
platform packages, the smoke tests' dependency wheelhouse, the workflow linters' tools).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from codex_release.errors import InputRefused

__all__ = ["cache_dir", "repo_root"]


def repo_root() -> Path:
    """The checkout this toolkit runs from (holds ``sdk/`` and ``runtime/``)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "sdk" / "pyproject.toml").is_file() and (parent / "runtime").is_dir():
            return parent
    raise InputRefused(
        f"cannot find the repository (sdk/ and runtime/) above {here}: run the toolkit from a checkout "
        "installed with `pip install -e .`"
    )


def cache_dir() -> Path:
    """Where fetched packages are kept: ``$CODEX_RELEASE_CACHE`` or the user cache directory."""
    override = os.environ.get("CODEX_RELEASE_CACHE")
    return Path(override) if override else Path(platformdirs.user_cache_dir("codex-release"))
