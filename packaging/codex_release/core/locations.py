"""Where the toolkit's inputs are: the checkout it works on (:class:`Checkout`) and the user cache.

Library code takes the checkout's paths as parameters (as ``build.ProjectBuilder(source_dir)`` takes its
source); only the CLI finds the checkout, once, with :func:`find_checkout`: ``--checkout DIR``
(``CODEX_RELEASE_CHECKOUT``), else the nearest directory at or above the current one that holds
``sdk/pyproject.toml`` and ``runtime/`` (as git finds its repository), else the checkout an editable
install was loaded from. :func:`cache_dir` is the user cache (fetched platform packages, the smoke
tests' dependency wheelhouse, the workflow linters' tools).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from codex_release.core.workflow_actions import PUBLISHER_BUNDLE
from codex_release.errors import InputRefused

__all__ = ["CHECKOUT_ENV", "Checkout", "cache_dir", "find_checkout", "is_checkout"]

CHECKOUT_ENV = "CODEX_RELEASE_CHECKOUT"
_PACKAGE_DIR = Path(__file__).resolve().parent.parent
"""``codex_release/`` as loaded: ``<checkout>/packaging/codex_release`` for an editable install."""


def is_checkout(root: Path) -> bool:
    """``root`` holds ``sdk/pyproject.toml`` and ``runtime/``: the top of a checkout of this repository."""
    return (root / "sdk" / "pyproject.toml").is_file() and (root / "runtime").is_dir()


@dataclass(frozen=True)
class Checkout:
    """A checkout of the repository: the paths the toolkit reads from it (and the place it protects)."""

    root: Path

    @property
    def sdk(self) -> Path:
        """The SDK source, ``sdk/`` (staged by ``stage-sdk``, moved by ``bump``)."""
        return self.root / "sdk"

    @property
    def sdk_pyproject(self) -> Path:
        """``sdk/pyproject.toml``: its ``openai-codex-cli-bin==X`` is the pinned runtime."""
        return self.sdk / "pyproject.toml"

    @property
    def generated(self) -> Path:
        """The SDK's generated types, ``sdk/src/openai_codex/generated`` (written by ``generate-types``)."""
        return self.sdk / "src" / "openai_codex" / "generated"

    @property
    def runtime_template(self) -> Path:
        """The ``openai-codex-cli-bin`` project template, ``runtime/`` (copied by ``stage-runtime``)."""
        return self.root / "runtime"

    @property
    def publisher_lock(self) -> Path:
        """The hash-locked twine the pinned publish action bundles (``requirements/publish-action.txt``)."""
        return self.root / PUBLISHER_BUNDLE.lock


def _loaded_from(package_dir: Path | None) -> Path | None:
    """The checkout ``package_dir`` (``codex_release/``) lies in, when it is ``<checkout>/packaging/...``."""
    if package_dir is None or package_dir.parent.name != "packaging":
        return None
    root = package_dir.parent.parent
    return root if is_checkout(root) else None


def find_checkout(
    given: Path | None = None,
    *,
    given_as: str = "--checkout",
    cwd: Path | None = None,
    package_dir: Path | None = _PACKAGE_DIR,
) -> Checkout:
    """The checkout the CLI works on; called by the CLI only, once per run.

    ``given`` (``--checkout DIR`` or ``$CODEX_RELEASE_CHECKOUT``, named ``given_as`` in errors) must be
    a checkout's top directory. Otherwise: the nearest directory at or above ``cwd`` (default: the current
    directory) that is one, then the checkout ``package_dir`` was loaded from (an editable install;
    ``None`` for none). Nothing found is one line naming the fix.
    """
    if given is not None:
        root = given.absolute().resolve()
        if not is_checkout(root):
            raise InputRefused(
                f"{given_as} {given} is not a checkout of the Codex Python SDK (no sdk/pyproject.toml and runtime/ "
                "there): pass the repository's top directory"
            )
        return Checkout(root)
    start = (cwd or Path.cwd()).absolute().resolve()
    for candidate in (start, *start.parents):
        if is_checkout(candidate):
            return Checkout(candidate)
    loaded = _loaded_from(package_dir)
    if loaded is not None:
        return Checkout(loaded)
    raise InputRefused(
        f"no checkout of the Codex Python SDK (sdk/pyproject.toml and runtime/) at or above {start}: run "
        f"codex-release inside the repository, or pass --checkout DIR (or set {CHECKOUT_ENV})"
    )


def cache_dir() -> Path:
    """Where fetched packages are kept: ``$CODEX_RELEASE_CACHE`` or the user cache directory."""
    override = os.environ.get("CODEX_RELEASE_CACHE")
    return Path(override) if override else Path(platformdirs.user_cache_dir("codex-release"))
