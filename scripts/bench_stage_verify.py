"""Stage all six targets with ``stage-runtime --wheel-dir`` and ``verify`` the wheels: a baseline commit vs this tree.

Both run in one session on the same fetched platform packages of the pinned release (fetched once,
through the toolkit's cache), as child processes exactly as a user runs them: the baseline from a
``git worktree`` of ``--baseline`` (default ``c0ef306``, the commit before the archive reader) put on
``PYTHONPATH``, the current tree from ``packaging/``. Runs alternate (baseline, current, baseline, ...)
so a busy machine slows both alike. Exits non-zero when the current tree takes more than ``--target``
(default 0.5) of the baseline's time.

    python scripts/bench_stage_verify.py [--baseline REV] [--repeat N] [--target 0.5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from codex_release.core.pins import pinned_runtime_version
from codex_release.core.targets import TARGETS

REPO = Path(__file__).resolve().parent.parent

TIMEOUT = 900
_PROJECT_LIMIT = ["--max-file-size", "project"]


def _run(args: list[str], pythonpath: Path, cwd: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "codex_release", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"`codex-release {' '.join(args)}` failed ({pythonpath}):\n{done.stdout}\n{done.stderr}")
    return elapsed


def _one_release(
    label: str, pythonpath: Path, sources: dict[str, Path], work: Path, version: str, verify_extra: list[str]
) -> dict[str, float]:
    root = work / label
    shutil.rmtree(root, ignore_errors=True)
    wheels = root / "wheels"
    times: dict[str, float] = {}
    for triple, source in sources.items():
        staging = root / "staging" / triple
        times[triple] = _run(
            ["stage-runtime", str(staging), str(source), "--codex-version", version, "--wheel-dir", str(wheels), "-q"],
            pythonpath,
            work,
        )
    times["verify"] = _run(["verify", str(wheels), "--codex-version", version, *verify_extra], pythonpath, work)
    shutil.rmtree(root, ignore_errors=True)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="c0ef306", help="the git revision to compare against")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--target", type=float, default=0.5, help="the largest acceptable ratio current/baseline")
    options = parser.parse_args()
    version = str(pinned_runtime_version(REPO / "sdk" / "pyproject.toml"))
    with tempfile.TemporaryDirectory(prefix="bench-stage-") as tmp:
        work = Path(tmp)
        baseline = work / "baseline-tree"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(baseline), options.baseline],
            cwd=REPO,
            check=True,
            capture_output=True,
            timeout=120,
        )
        try:
            fetched = work / "fetched"
            _run(
                ["fetch-runtime", "--codex-version", version, "--all", "--dest", str(fetched)], REPO / "packaging", work
            )
            sources = {t.triple: fetched / f"codex-{version}-{t.triple}.tgz" for t in TARGETS}
            runs: dict[str, list[dict[str, float]]] = {"baseline": [], "current": []}
            for _ in range(options.repeat):
                runs["baseline"].append(_one_release("baseline", baseline / "packaging", sources, work, version, []))
                # the real wheels are above the index's default 100 MiB: judge them as `make release` does
                current = _one_release("current", REPO / "packaging", sources, work, version, _PROJECT_LIMIT)
                runs["current"].append(current)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(baseline)], cwd=REPO, check=False, timeout=120)
    steps = [*sources, "verify"]
    med = {label: {s: statistics.median(r[s] for r in runs[label]) for s in steps} for label in runs}
    total = {label: sum(med[label].values()) for label in med}
    print(f"stage-runtime --wheel-dir x6 + verify, Codex {version}, median of {options.repeat} run(s)")
    print(f"{'step':30} {options.baseline:>10} {'current':>10} {'ratio':>7}")
    for step in steps:
        b, c = med["baseline"][step], med["current"][step]
        print(f"{step:30} {b:9.2f}s {c:9.2f}s {c / b:7.2f}")
    ratio = total["current"] / total["baseline"]
    print(f"{'total':30} {total['baseline']:9.2f}s {total['current']:9.2f}s {ratio:7.2f}")
    if ratio > options.target:
        print(f"target missed: {ratio:.2f} > {options.target}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
