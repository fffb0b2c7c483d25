"""The repository checkout the suite runs in, passed explicitly to the library functions that read it.

Library code never finds the checkout (only the CLI does, :func:`codex_release.core.locations.find_checkout`);
tests pass this one, as the CLI passes the one it found.
"""

from __future__ import annotations

from pathlib import Path

from codex_release.core.locations import Checkout
from codex_release.core.pins import pinned_runtime_version
from codex_release.core.versions import CodexVersion

REPO_ROOT = Path(__file__).resolve().parent.parent
CHECKOUT = Checkout(REPO_ROOT)


def pinned_runtime() -> CodexVersion:
    """The Codex version pinned in this checkout's ``sdk/pyproject.toml``."""
    return pinned_runtime_version(CHECKOUT.sdk_pyproject)
