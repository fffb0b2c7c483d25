"""One helper for the tests that run SDK code as a user would: a fresh interpreter, a bounded wait."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["run_python"]


def run_python(*args: str, cwd: Path, env: Mapping[str, str], unset: Iterable[str] = (), timeout: float = 60) -> str:
    """Run ``python *args`` in ``cwd`` with ``os.environ`` updated by ``env`` (minus ``unset``); assert it
    succeeded (its stderr is the failure message) and return its stdout."""
    environment = {**os.environ, **env}
    for name in unset:
        environment.pop(name, None)
    done = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
