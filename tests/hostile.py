"""The harness of the hostile-input corpus: one row per careless or hostile input, run as a user would.

A :class:`HostileCase` builds its inputs in a private workspace and names the ``codex-release`` command
to run on them. :func:`run_case` runs that command in a child process (as a user would: a real exit
code, real stderr, real signals), with ``TMPDIR``, ``HOME`` and the fetch cache pointed into the
workspace, and then checks the promises a release engineer relies on:

* a refusal (``message`` set) exits 1 with exactly one line on stderr that contains ``message``, and no
  traceback anywhere; a control (``message`` is ``None``) exits 0;
* for a refusal nothing changed: every file the case lists in ``unchanged`` (default: the whole
  workspace except ``TMPDIR``, ``HOME`` and the cache) is byte-for-byte as before, nothing appeared
  beside them, and ``TMPDIR`` is empty again (no scratch directory, no ``.part`` file);
* for both, the checkout (``git status``) is as it was, and nothing outside the workspace changed
  (the command only ever sees paths inside the workspace).

The rows live in ``tests/test_hostile_*.py``; each file holds a table ``CASES`` and one parametrized test
that calls :func:`run_case`.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

__all__ = ["REPO", "CaseContext", "HostileCase", "Outcome", "run_case", "snapshot"]


@dataclass
class CaseContext:
    """What a row's ``build`` gets: its private workspace and shared, read-only fixtures."""

    ws: Path
    """The workspace: build inputs here. ``ws / "tmp"``, ``ws / "home"`` and ``ws / "cache"`` are the child's
    TMPDIR, HOME and CODEX_RELEASE_CACHE."""
    fixtures: Mapping[str, Callable[[], Path]] = field(default_factory=dict)
    """Shared inputs built once per session (e.g. ``"synthetic_dist"``): copy them before damaging them."""
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment for the child (e.g. a fake ``npm`` first on ``PATH``)."""

    def fixture(self, name: str) -> Path:
        return self.fixtures[name]()


@dataclass(frozen=True)
class HostileCase:
    """One row: how the input is built, the command, and what it must say."""

    id: str
    build: Callable[[CaseContext], Sequence[str]]
    """Builds the inputs under ``ctx.ws`` and returns the ``codex-release`` arguments."""
    message: str | None
    """A substring of the one-line error; ``None`` for a control that must succeed."""
    unchanged: Callable[[CaseContext], Sequence[Path]] | None = None
    """For a refusal: the paths that must be untouched (default: the whole workspace)."""
    timeout: float = 120.0
    check: Callable[[CaseContext, Outcome], None] | None = None
    """Extra assertions after the run (e.g. for a control: what it wrote)."""
    limits: Mapping[int, int] = field(default_factory=dict)
    """Resource limits of the child only (``resource.RLIMIT_*`` -> soft limit), e.g. ``RLIMIT_FSIZE`` to
    make every write past that size fail with EFBIG, as a full disk would (POSIX only)."""


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str


Snapshot = dict[str, tuple[str, int, str]]


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def snapshot(root: Path, *, skip: Sequence[Path] = ()) -> Snapshot:
    """Every entry under ``root`` (without following links): kind, mode and content digest."""
    result: Snapshot = {}
    skipped = {p.resolve() for p in skip}
    if not root.exists() and not root.is_symlink():
        return result
    stack = [root]
    while stack:
        path = stack.pop()
        if path.resolve() in skipped and path != root:
            continue
        info = path.lstat()
        key = str(path.relative_to(root.parent)) if path != root else root.name
        if stat.S_ISDIR(info.st_mode):
            result[key] = ("dir", stat.S_IMODE(info.st_mode), "")
            stack.extend(sorted(path.iterdir()))
        elif stat.S_ISREG(info.st_mode):
            result[key] = ("file", stat.S_IMODE(info.st_mode), _digest(path))
        elif stat.S_ISLNK(info.st_mode):
            result[key] = ("link", 0, os.readlink(path))
        else:
            result[key] = ("special", stat.S_IFMT(info.st_mode), "")
    return result


def _git_status() -> str:
    done = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def _diff(before: Snapshot, after: Snapshot) -> list[str]:
    changes = [f"removed {k}" for k in before if k not in after]
    changes += [f"added {k}" for k in after if k not in before]
    changes += [f"changed {k}" for k in before if k in after and before[k] != after[k]]
    return sorted(changes)


def _limiter(limits: Mapping[int, int]) -> Callable[[], None]:
    import resource

    def apply() -> None:
        for which, soft in limits.items():
            _, hard = resource.getrlimit(which)
            resource.setrlimit(which, (soft, hard))

    return apply


def run_case(case: HostileCase, tmp_path: Path, fixtures: Mapping[str, Callable[[], Path]] | None = None) -> Outcome:
    """Build, run and check one row (see the module docstring). Returns the outcome for extra checks."""
    ws = tmp_path / "ws"
    for name in ("tmp", "home", "cache"):
        (ws / name).mkdir(parents=True)
    ctx = CaseContext(ws=ws, fixtures=fixtures or {})
    args = [str(a) for a in case.build(ctx)]
    private = [ws / "tmp", ws / "home", ws / "cache"]
    watched = list(case.unchanged(ctx)) if case.unchanged is not None else [ws]
    before = {str(p): snapshot(p, skip=private) for p in watched}
    status_before = _git_status()
    env = {
        **os.environ,
        "TMPDIR": str(ws / "tmp"),
        "HOME": str(ws / "home"),
        "CODEX_RELEASE_CACHE": str(ws / "cache"),
        "PYTHONPATH": os.pathsep.join(
            [str(REPO / "packaging"), str(REPO / "sdk" / "src"), os.environ.get("PYTHONPATH", "")]
        ),
        **ctx.env,
    }
    env.pop("NO_COLOR", None)
    done = subprocess.run(
        [sys.executable, "-m", "codex_release", *args],
        preexec_fn=_limiter(case.limits) if case.limits else None,
        cwd=ws,
        env=env,
        capture_output=True,
        text=True,
        timeout=case.timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    outcome = Outcome(done.returncode, done.stdout, done.stderr)
    where = (
        f"[{case.id}] codex-release {' '.join(args)}\nexit {done.returncode}\n"
        f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    )
    assert "Traceback" not in done.stdout + done.stderr, where
    if case.message is None:
        assert done.returncode == 0, where
    else:
        assert done.returncode == 1, where
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, f"the refusal must be one line\n{where}"
        assert case.message in lines[0], f"expected {case.message!r} in the error\n{where}"
        for path in watched:
            changes = _diff(before[str(path)], snapshot(path, skip=private))
            assert not changes, f"a refusal changed {path}: {changes}\n{where}"
    leftovers = sorted(p.name for p in (ws / "tmp").iterdir())
    assert not leftovers, f"scratch left in TMPDIR: {leftovers}\n{where}"
    assert _git_status() == status_before, f"the checkout changed\n{where}"
    if case.check is not None:
        case.check(ctx, outcome)
    return outcome
