"""Fresh virtual environments and pip runs that nothing on this machine can leak into.

A smoke install must prove what a user gets, so two things are kept out:

* the caller's Python environment: the child gets :func:`clean_env` (no ``PYTHONPATH``, ``PYTHONHOME``,
  ``VIRTUAL_ENV``, user site, ``CODEX_*``), runs from a temporary directory outside the checkout, and
  the venv is created by the standard library's :mod:`venv` without system site-packages;
* pip's own configuration when our two distributions are resolved: :func:`isolated_pip_env` ignores
  every pip config file and ``PIP_*`` variable, so an extra index or find-links of this machine can never
  supply ``openai-codex`` or ``openai-codex-cli-bin`` in place of the files under test.

pip is the toolkit's own (``python -m pip --python VENV_PYTHON``), so the venv needs no ``ensurepip``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from codex_release import processes
from codex_release.errors import DestinationRefused, ToolFailed

__all__ = ["FreshVenv", "clean_env", "isolated_pip_env", "run_pip"]

_DROPPED_PREFIXES = ("PYTHON", "PIP_", "VIRTUAL_ENV", "CONDA_", "CODEX_", "TWINE_", "__PYVENV")
_KEPT_PIP = ("PIP_CERT", "PIP_CLIENT_CERT")


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """``os.environ`` without anything that steers Python, pip, twine or codex, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_DROPPED_PREFIXES)}
    env["PYTHONNOUSERSITE"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    if extra:
        env.update(extra)
    return env


def isolated_pip_env() -> dict[str, str]:
    """An environment in which pip reads no config file and no ``PIP_*`` setting but certificates."""
    env = clean_env()
    env.update({k: os.environ[k] for k in _KEPT_PIP if k in os.environ})
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_NO_INPUT"] = "1"
    return env


def run_pip(
    args: Sequence[str], *, env: Mapping[str, str], cwd: Path | None = None, python: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m pip [--python PY] ARGS`` with this toolkit's pip; output captured, never raises on exit."""
    command = [sys.executable, "-m", "pip"]
    if python is not None:
        command += ["--python", str(python)]
    return processes.run([*command, *args], env=env, cwd=cwd, timeout=1800)


def pip_error(result: subprocess.CompletedProcess[str]) -> str:
    """The telling lines of a failed pip run, on one line."""
    lines = [line.strip() for line in (result.stderr or result.stdout).splitlines() if line.strip()]
    telling = [line for line in lines if line.startswith("ERROR") or "error" in line.lower()] or lines
    return " ".join(" | ".join(telling[-3:]).split())[-500:]


@dataclass(frozen=True)
class FreshVenv:
    """A new virtual environment at ``root`` (created by :meth:`create`)."""

    root: Path

    @classmethod
    def create(cls, root: Path) -> FreshVenv:
        if root.exists() and any(root.iterdir()):
            raise DestinationRefused(f"refusing to create a virtual environment in the non-empty directory {root}")
        try:
            venv.EnvBuilder(with_pip=False, system_site_packages=False, clear=True, symlinks=os.name != "nt").create(
                root
            )
        except (OSError, subprocess.CalledProcessError) as exc:
            raise DestinationRefused(f"cannot create a virtual environment at {root}: {exc}") from None
        fresh = cls(root)
        if not fresh.python.is_file():
            raise ToolFailed(f"the virtual environment at {root} has no interpreter at {fresh.python}")
        return fresh

    @property
    def python(self) -> Path:
        if os.name == "nt":
            return self.root / "Scripts" / "python.exe"
        return self.root / "bin" / "python"

    def pip(self, args: Sequence[str], *, env: Mapping[str, str], cwd: Path | None = None) -> None:
        """Run pip against this venv; a failure is a :class:`ReleaseError` carrying pip's error."""
        result = run_pip(args, env=env, cwd=cwd, python=self.python)
        if result.returncode != 0:
            raise ToolFailed(f"`pip {' '.join(args[:1])}` into {self.root} failed: {pip_error(result)}")
