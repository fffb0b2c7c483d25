"""The toolkit's and the SDK's layers (docs/architecture.md) hold: import-linter's contract in pyproject.toml, run here
so the suite fails on an upward import, as ``make lint`` does."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import tomlkit

from tests.conftest import REPO_ROOT


def _lint_imports() -> str:
    script = Path(sys.executable).parent / "lint-imports"
    found = str(script) if script.is_file() else shutil.which("lint-imports")
    assert found, "lint-imports (import-linter, a dev dependency) is not installed: run make setup"
    return found


def test_the_layer_contract_is_kept() -> None:
    result = subprocess.run(
        [_lint_imports(), "--no-cache"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout  # the toolkit's and the SDK's


def test_the_contract_names_every_package_of_the_toolkit() -> None:
    """A new top-level package or module must get a place in the layers, or the contract cannot see it."""
    document = tomlkit.parse((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [c for c in document["tool"]["importlinter"]["contracts"] if c["name"].startswith("codex_release")]
    layered = {name.strip() for layer in contract["layers"] for name in str(layer).split("|")}
    package = REPO_ROOT / "packaging" / "codex_release"
    present = {
        f"codex_release.{path.stem}"
        for path in package.iterdir()
        if (path.is_dir() and (path / "__init__.py").is_file()) or (path.suffix == ".py" and path.stem[0] != "_")
    }
    assert present == layered, f"not in a layer: {sorted(present - layered)}; gone: {sorted(layered - present)}"
