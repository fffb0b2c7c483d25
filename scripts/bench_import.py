"""Import time of this SDK vs the published ``openai-codex`` 0.163.0, side by side in one run.

    python scripts/bench_import.py [--repeat 15] [--baseline-venv DIR] [--target 0.25]

The published release is installed into a temporary virtual environment with ``pip install --no-deps
openai-codex==0.163.0`` plus its import-time dependencies (``pydantic`` at the version this environment
uses, and ``packaging``, which 0.163.0 imports at start-up); ``--baseline-venv`` reuses such an
environment instead. This SDK is measured in the current interpreter's environment, where it must be
installed.

Each sample is a fresh interpreter that times the import statement itself with ``perf_counter`` (so
interpreter start-up is excluded and lazily loaded names are included), alternating between the two
packages so that machine load affects both alike. Two statements are measured:

* ``import openai_codex`` - the target of the product card (ratio <= ``--target``);
* ``from openai_codex import Codex, CodexConfig`` - what a program actually needs before its first call
  (reported, not gated).

Prints medians, the ratios and whether the target is met; exits 1 when it is not.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import venv
from importlib.metadata import version
from pathlib import Path

BASELINE = "openai-codex==0.163.0"
STATEMENTS = {
    "import openai_codex": "import openai_codex",
    "from openai_codex import Codex, CodexConfig": "from openai_codex import Codex, CodexConfig",
}
_PROBE = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"


def _python(venv_dir: Path) -> Path:
    scripts = "Scripts" if sys.platform == "win32" else "bin"
    return venv_dir / scripts / ("python.exe" if sys.platform == "win32" else "python")


def make_baseline_venv(directory: Path) -> Path:
    """A venv holding the published SDK (no runtime package: importing does not need it)."""
    venv.EnvBuilder(with_pip=True, clear=True).create(directory)
    python = _python(directory)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--no-deps", BASELINE], check=True)
    subprocess.run([*pip, f"pydantic=={version('pydantic')}", "packaging"], check=True)
    return python


def sample(python: Path | str, statement: str, cwd: Path) -> float:
    """Seconds one fresh interpreter spends executing ``statement``."""
    done = subprocess.run(
        [str(python), "-c", _PROBE.format(stmt=statement)], capture_output=True, text=True, cwd=cwd, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"error: {python} cannot run {statement!r}:\n{done.stderr.strip()}")
    return float(done.stdout.strip())


def measure(ours: Path | str, theirs: Path, repeat: int, cwd: Path) -> dict[str, tuple[list[float], list[float]]]:
    results: dict[str, tuple[list[float], list[float]]] = {}
    for label, statement in STATEMENTS.items():
        sample(ours, statement, cwd)  # warm the bytecode caches of both before timing
        sample(theirs, statement, cwd)
        mine: list[float] = []
        published: list[float] = []
        for _ in range(repeat):
            mine.append(sample(ours, statement, cwd))
            published.append(sample(theirs, statement, cwd))
        results[label] = (mine, published)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15, help="fresh interpreters per package and statement")
    parser.add_argument("--baseline-venv", type=Path, help="reuse a venv that already has openai-codex 0.163.0")
    parser.add_argument("--target", type=float, default=0.25, help="maximum ratio ours/published (default 0.25)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        cwd = Path(tmp)  # never the source tree: a checkout on sys.path would shadow the installed packages
        if args.baseline_venv is not None:
            theirs = _python(args.baseline_venv)
            if not theirs.exists():
                parser.error(f"--baseline-venv {args.baseline_venv} has no {theirs.name} interpreter")
        else:
            print(f"installing {BASELINE} into a temporary venv ...", file=sys.stderr)
            theirs = make_baseline_venv(cwd / "baseline")
        results = measure(sys.executable, theirs, args.repeat, cwd)

    print(f"openai_codex import time, median of {args.repeat} fresh interpreters each (ms)")
    print(f"{'statement':<46} {'this SDK':>10} {'0.163.0':>10} {'ratio':>8}")
    ratio_of: dict[str, float] = {}
    for label, (mine, published) in results.items():
        ours_ms, theirs_ms = statistics.median(mine) * 1000, statistics.median(published) * 1000
        ratio_of[label] = ours_ms / theirs_ms
        print(f"{label:<46} {ours_ms:>10.2f} {theirs_ms:>10.2f} {ratio_of[label]:>8.4f}")
    ratio = ratio_of["import openai_codex"]
    met = ratio <= args.target
    print(f"ratio (import openai_codex) = {ratio:.4f}; target <= {args.target}: {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
