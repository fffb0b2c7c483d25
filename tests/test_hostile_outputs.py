"""Hostile-input rows for the output discipline (issue 8, mechanism 3; see ``tests/hostile.py``).

Every command that writes (``release``, ``stage-runtime`` and its ``--wheel-dir``, ``stage-sdk``,
``generate-types``, ``fetch-runtime``) is pointed at places it must refuse: ``/``, the home directory or
a directory containing it, SOURCE or a path inside or around it, the checkout and its tracked
directories, a path under a file, a non-empty directory an earlier release did not write. Rows that
aim at the checkout run the toolkit of a throwaway copy of the checkout (its own git repository, the
child's ``PYTHONPATH`` points at it and the row checks that the toolkit finds the copy from outside it), so a wrong
answer can only destroy the copy. Controls show that the allowed places still work: an empty directory,
the git-ignored ``dist/`` of the checkout, a release's own earlier output without ``--overwrite``.

``release`` runs for real on six small synthetic platform packages served by a fake ``npm`` on ``PATH``
(``npm view`` and ``npm pack``, the only two calls the fetcher makes), without the SDK and smoke.

Two tests are not table rows: two ``stage-runtime`` processes into one STAGING_DIR at once (issue 8
row 4, repeated), and SIGTERM/SIGKILL in the middle of a run followed by a second run that sweeps
(row 13) are rows whose ``build`` starts, signals and reaps the first process.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from codex_release.core.targets import TARGETS
from tests import fake_npm
from tests.checkout import pinned_runtime
from tests.hostile import REPO, CaseContext, HostileCase, Outcome, run_case, snapshot
from tests.synthetic_binaries import npm_tarball, write_platform_package

V = pinned_runtime().pep440
"""The pin: the only version the commands that release accept (read, so the rows follow a moved pin)."""
_MAJOR, _MINOR = pinned_runtime().version.release[:2]
OTHER = f"{_MAJOR}.{_MINOR + 1}.0"
"""A release after the pin: what issue 14 tried to stage (the SDK pin and its generated types disagreed)."""
NOT_PINNED = (
    f"--codex-version {OTHER} is not the pinned runtime {V} (sdk/pyproject.toml): "
    f"run 'codex-release bump --codex-version {OTHER}' to move the pin, or release {V}"
)
LINUX = "x86_64-unknown-linux-musl"
LINUX_ARM = "aarch64-unknown-linux-musl"
TRIPLES = (
    "aarch64-apple-darwin",
    "x86_64-apple-darwin",
    "aarch64-unknown-linux-musl",
    "x86_64-unknown-linux-musl",
    "aarch64-pc-windows-msvc",
    "x86_64-pc-windows-msvc",
)
NPM_SUFFIX = {
    "aarch64-apple-darwin": "darwin-arm64",
    "x86_64-apple-darwin": "darwin-x64",
    "aarch64-unknown-linux-musl": "linux-arm64",
    "x86_64-unknown-linux-musl": "linux-x64",
    "aarch64-pc-windows-msvc": "win32-arm64",
    "x86_64-pc-windows-msvc": "win32-x64",
}


# -- inputs ------------------------------------------------------------------------------------------------


def _package(ctx: CaseContext, triple: str = LINUX, name: str = "pkg") -> Path:
    return write_platform_package(ctx.ws / name, triple, version=V)


def _stage(ctx: CaseContext, staging: Path, source: Path, *extra: str) -> list[str]:
    return ["stage-runtime", str(staging), str(source), "--codex-version", V, "-q", *extra]


def _a_file(ctx: CaseContext) -> Path:
    blocker = ctx.ws / "a-file"
    blocker.write_text("a file, not a directory\n")
    return blocker


def _checkout(ctx: CaseContext) -> Path:
    """A throwaway git checkout with the working tree's tracked files; the child runs its toolkit."""
    clone = ctx.ws / "checkout"
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, timeout=60
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        relative = raw.decode()
        source = REPO / relative
        if source.is_file():
            (clone / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / relative)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "init.defaultBranch=main"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "copy"]):
        subprocess.run([*git, *args], cwd=clone, check=True, capture_output=True, timeout=60)
    ctx.env["PYTHONPATH"] = os.pathsep.join([str(clone / "packaging"), str(clone / "sdk" / "src")])
    probe = subprocess.run(
        [sys.executable, "-c", "from codex_release.core.locations import find_checkout; print(find_checkout().root)"],
        env={**os.environ, "PYTHONPATH": ctx.env["PYTHONPATH"]},
        cwd=ctx.ws,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert Path(probe.stdout.strip()) == clone.resolve(), "the child must run the copy's toolkit, not the checkout's"
    return clone


def _clone_untouched(ctx: CaseContext) -> Sequence[Path]:
    return [ctx.ws / "checkout"]


# -- a fake npm serving synthetic platform packages -------------------------------------------------------


def _fake_npm(ctx: CaseContext) -> None:
    """Put an ``npm`` first on the child's PATH that serves the six synthetic packages of ``V``."""
    root = ctx.ws / "npm"
    registry = root / "registry"
    fake_npm.install(root / "bin", registry)
    for triple in TRIPLES:
        package = write_platform_package(root / "packages" / triple, triple, version=V)
        tarball = npm_tarball(package, triple, root / f"codex-{NPM_SUFFIX[triple]}-{V}.tgz")
        fake_npm.publish(registry, f"@openai/codex@{V}-{NPM_SUFFIX[triple]}", tarball)
    ctx.env["PATH"] = f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}"


def _release(ctx: CaseContext, dist: Path | str, *extra: str) -> list[str]:
    return ["release", "--codex-version", V, "--dist-dir", str(dist), "--no-sdk", "--no-smoke", "-q", *extra]


def _released(ctx: CaseContext, dist: Path) -> Path:
    """``dist`` as an earlier ``release`` wrote it (run once here, through the same child setup)."""
    env = {
        **os.environ,
        "TMPDIR": str(ctx.ws / "tmp"),
        "HOME": str(ctx.ws / "home"),
        "CODEX_RELEASE_CACHE": str(ctx.ws / "cache"),
        "PYTHONPATH": os.pathsep.join([str(REPO / "packaging"), str(REPO / "sdk" / "src")]),
        **ctx.env,
    }
    done = subprocess.run(
        [sys.executable, "-m", "codex_release", *_release(ctx, dist)],
        cwd=ctx.ws,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return dist


def _with_npm(build: Callable[[CaseContext], Sequence[str]]) -> Callable[[CaseContext], Sequence[str]]:
    def wrapped(ctx: CaseContext) -> Sequence[str]:
        _fake_npm(ctx)
        return build(ctx)

    return wrapped


def _holds_release(dist_of: Callable[[CaseContext], Path], *extra: str) -> Callable[[CaseContext, Outcome], None]:
    def check(ctx: CaseContext, outcome: Outcome) -> None:
        dist = dist_of(ctx)
        names = sorted(p.name for p in dist.iterdir())
        wheels = [n for n in names if n.endswith(".whl")]
        assert len(wheels) == sum(len(t.expected_wheels) for t in TARGETS), names  # aarch64 Linux: full + lean
        assert {"manifest.json", "SHA256SUMS"} <= set(names)
        assert set(names) - set(wheels) - {"manifest.json", "SHA256SUMS"} == set(extra), names
        leftovers = [p.name for p in dist.parent.iterdir() if p.name.startswith(f".{dist.name}.")]
        assert not leftovers, f"scratch or lock left beside {dist}: {leftovers}"

    return check


def _earlier_plus(name: str, content: str) -> Callable[[CaseContext], Sequence[str]]:
    def build(ctx: CaseContext) -> Sequence[str]:
        dist = _released(ctx, ctx.ws / "dist")
        (dist / name).write_text(content)
        return _release(ctx, dist)

    return build


def _web_app(ctx: CaseContext) -> Sequence[str]:
    site = ctx.ws / "site"
    site.mkdir()
    (site / "manifest.json").write_text('{"name": "my web app", "icons": []}\n')
    (site / "index.html").write_text("<!doctype html>\n")
    return _release(ctx, site)


def _unrelated(ctx: CaseContext) -> Sequence[str]:
    mine = ctx.ws / "my-files"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work\n")
    return _release(ctx, mine)


def _empty_dist(ctx: CaseContext) -> Sequence[str]:
    (ctx.ws / "dist").mkdir()
    return _release(ctx, ctx.ws / "dist")


def _dist(ctx: CaseContext) -> Path:
    return ctx.ws / "dist"


def _tracked_in_ignored(ctx: CaseContext) -> Sequence[str]:
    clone = _checkout(ctx)
    (clone / "build" / "keep").mkdir(parents=True)  # build/ is ignored; force one tracked file into it
    (clone / "build" / "keep" / "README").write_text("tracked on purpose\n")
    subprocess.run(["git", "add", "-f", "build/keep/README"], cwd=clone, check=True, capture_output=True, timeout=60)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "tracked"],
        cwd=clone,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return _release(ctx, clone / "build", "--overwrite")


RELEASE_CASES = [
    HostileCase("release control: into an empty directory", _with_npm(_empty_dist), None, check=_holds_release(_dist)),
    HostileCase(
        "release control: into its own earlier output, without --overwrite",
        _with_npm(lambda ctx: _release(ctx, _released(ctx, ctx.ws / "dist"))),
        None,
        check=_holds_release(_dist),
    ),
    HostileCase(
        "release control: into the checkout's git-ignored dist/",
        _with_npm(lambda ctx: _release(ctx, _checkout(ctx) / "dist")),
        None,
        check=_holds_release(lambda ctx: ctx.ws / "checkout" / "dist"),
    ),
    HostileCase(
        "release: an unrelated non-empty directory needs --overwrite",
        _unrelated,
        "holds no manifest.json written by an earlier release: pass --overwrite",
    ),
    HostileCase(
        "release: a directory with someone else's manifest.json needs --overwrite",
        _web_app,
        "was not written by a release: pass --overwrite",
    ),
    HostileCase(
        "release: an earlier release plus a file of the user needs --overwrite",
        _with_npm(_earlier_plus("notes.txt", "mine\n")),
        "holds 'notes.txt', which no earlier release wrote: pass --overwrite",
    ),
    HostileCase(
        "release control: --overwrite replaces an earlier release plus a file of the user",
        _with_npm(lambda ctx: [*_earlier_plus("notes.txt", "mine\n")(ctx), "--overwrite"]),
        None,
        check=_holds_release(_dist),
    ),
    HostileCase(
        "release: docs/ of the checkout",
        lambda ctx: _release(ctx, _checkout(ctx) / "docs"),
        "is not a git-ignored output directory",
        unchanged=_clone_untouched,
    ),
    HostileCase(
        "release: docs/ of the checkout, even with --overwrite",
        lambda ctx: _release(ctx, _checkout(ctx) / "docs", "--overwrite"),
        "is not a git-ignored output directory",
        unchanged=_clone_untouched,
    ),
    HostileCase(
        "release: . at the checkout root, with --overwrite",
        lambda ctx: _release(ctx, f"{_checkout(ctx)}/.", "--overwrite"),
        "is inside the repository",
        unchanged=_clone_untouched,
    ),
    HostileCase(
        "release: sdk/ of the checkout",
        lambda ctx: _release(ctx, _checkout(ctx) / "sdk", "--overwrite"),
        "is not a git-ignored output directory",
        unchanged=_clone_untouched,
    ),
    HostileCase(
        "release: a new directory of the checkout git does not ignore",
        lambda ctx: _release(ctx, _checkout(ctx) / "out"),
        "is not a git-ignored output directory",
        unchanged=_clone_untouched,
    ),
    HostileCase(
        "release: an ignored directory that holds a tracked file",
        _tracked_in_ignored,
        "is not a git-ignored output directory",
        unchanged=_clone_untouched,
    ),
    HostileCase(
        "release: the home directory",
        lambda ctx: _release(ctx, ctx.ws / "home", "--overwrite"),
        "is the home directory",
    ),
    HostileCase(
        "release: a directory that contains the home directory",
        lambda ctx: _release(ctx, ctx.ws, "--overwrite"),
        "is the home directory",
    ),
    HostileCase("release: /", lambda ctx: _release(ctx, "/", "--overwrite"), "is the file system root"),
    HostileCase("release: under a file", lambda ctx: _release(ctx, _a_file(ctx) / "dist"), "which is a file"),
]


# -- stage-runtime, --wheel-dir, stage-sdk, fetch-runtime, generate-types ------------------------------------


def _wheel_in(directory: Callable[[CaseContext], Path], triple: str = LINUX) -> Callable[[CaseContext, Outcome], None]:
    platform = {"x86_64-unknown-linux-musl": "x86_64", "aarch64-unknown-linux-musl": "aarch64"}[triple]

    def check(ctx: CaseContext, outcome: Outcome) -> None:
        where = directory(ctx)
        wheels = sorted(where.glob("*.whl"))
        assert len(wheels) == 1, wheels
        assert platform in wheels[0].name, wheels
        with zipfile.ZipFile(wheels[0]) as archive:
            assert not [n for n in archive.namelist() if n.endswith(".whl")], "an old wheel was staged into the new"
        assert not [p.name for p in where.iterdir() if p.name.startswith(".")], "a .part or lock file was left"

    return check


def _stage_twice_into_one_wheel_dir(ctx: CaseContext) -> Sequence[str]:
    package = _package(ctx)
    first = _stage(ctx, ctx.ws / "s1", package, "--wheel-dir", str(ctx.ws / "wheels"))
    env = {**os.environ, "TMPDIR": str(ctx.ws / "tmp"), "HOME": str(ctx.ws / "home")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "packaging"), str(REPO / "sdk" / "src")])
    subprocess.run([sys.executable, "-m", "codex_release", *first], env=env, check=True, timeout=120, cwd=ctx.ws)
    return _stage(ctx, ctx.ws / "s2", package, "--wheel-dir", str(ctx.ws / "wheels"))


_FAKE_CODEX = "#!/bin/sh\necho 'codex-cli 0.169.0'\n"


def _fake_codex(ctx: CaseContext) -> Path:
    codex = ctx.ws / "codex"
    codex.write_text(_FAKE_CODEX)
    codex.chmod(0o755)
    return codex


def _generate(ctx: CaseContext, out: Path | str) -> list[str]:
    return ["generate-types", "--codex-bin", str(_fake_codex(ctx)), "--out", str(out)]


def _fetch(dest: Path | str) -> list[str]:
    return ["fetch-runtime", "--codex-version", V, "--target", LINUX, "--dest", str(dest)]


_HOLDER = """
import sys, time
from pathlib import Path
from codex_release.core.staging import hold
with hold(Path(sys.argv[1]), label="STAGING_DIR"):
    print("held", flush=True)
    time.sleep(20)
"""
_holders: dict[Path, subprocess.Popen[str]] = {}


def _held_by_another_run(ctx: CaseContext) -> Sequence[str]:
    staging = ctx.ws / "out" / "staging"
    package = _package(ctx)
    env = {**_child_env(ctx), "PYTHONPATH": str(REPO / "packaging")}
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(staging)], env=env, stdout=subprocess.PIPE, text=True)
    _holders[ctx.ws] = holder
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    ctx.env["CODEX_RELEASE_LOCK_WAIT"] = "0.5"
    return _stage(ctx, staging, package)


def _stop_holder(ctx: CaseContext, outcome: Outcome) -> None:
    holder = _holders.pop(ctx.ws)
    assert str(holder.pid) in outcome.stderr
    holder.kill()
    holder.wait()


OTHER_CASES = [
    HostileCase(
        "stage-runtime: STAGING_DIR held by another run is refused after a short wait, naming its PID",
        _held_by_another_run,
        "is being written by another codex-release run (pid",
        check=_stop_holder,
    ),
    HostileCase(
        "stage-runtime: a lock wait that is not a number",
        lambda ctx: (ctx.env.update(CODEX_RELEASE_LOCK_WAIT="soon"), _stage(ctx, ctx.ws / "s", _package(ctx)))[1],
        "CODEX_RELEASE_LOCK_WAIT='soon' is not a number of seconds",
    ),
    HostileCase(
        "stage-runtime control: STAGING_DIR and --wheel-dir in fresh directories",
        lambda ctx: _stage(ctx, ctx.ws / "staging", _package(ctx), "--wheel-dir", str(ctx.ws / "wheels")),
        None,
        check=_wheel_in(lambda ctx: ctx.ws / "wheels"),
    ),
    HostileCase(
        "stage-runtime control: a second stage into the same --wheel-dir holds one wheel, not nested",
        _stage_twice_into_one_wheel_dir,
        None,
        check=_wheel_in(lambda ctx: ctx.ws / "wheels"),
    ),
    HostileCase(
        "stage-runtime control: --wheel-dir in the checkout's git-ignored dist/",
        lambda ctx: _stage(ctx, ctx.ws / "staging", _package(ctx), "--wheel-dir", str(_checkout(ctx) / "dist")),
        None,
        check=_wheel_in(lambda ctx: ctx.ws / "checkout" / "dist"),
    ),
    HostileCase(
        "stage-runtime: --wheel-dir is SOURCE",
        lambda ctx: _stage(ctx, ctx.ws / "staging", (p := _package(ctx)), "--wheel-dir", str(p)),
        "overlaps SOURCE",
    ),
    HostileCase(
        "stage-runtime: --wheel-dir inside SOURCE",
        lambda ctx: _stage(ctx, ctx.ws / "staging", (p := _package(ctx)), "--wheel-dir", str(p / "bin")),
        "overlaps SOURCE",
    ),
    HostileCase(
        "stage-runtime: --wheel-dir contains SOURCE",
        lambda ctx: _stage(ctx, ctx.ws / "staging", _package(ctx, name="src/pkg"), "--wheel-dir", str(ctx.ws / "src")),
        "overlaps SOURCE",
    ),
    HostileCase(
        "stage-runtime: --wheel-dir inside STAGING_DIR",
        lambda ctx: _stage(ctx, ctx.ws / "staging", _package(ctx), "--wheel-dir", str(ctx.ws / "staging" / "w")),
        "overlaps STAGING_DIR",
    ),
    HostileCase(
        "stage-runtime: --wheel-dir in a tracked directory of the checkout",
        lambda ctx: _stage(ctx, ctx.ws / "staging", _package(ctx), "--wheel-dir", str(_checkout(ctx) / "runtime")),
        "is not a git-ignored output directory",
        unchanged=_clone_untouched,
    ),
    HostileCase(
        "stage-runtime: --wheel-dir at the checkout root",
        lambda ctx: _stage(ctx, ctx.ws / "staging", _package(ctx), "--wheel-dir", str(_checkout(ctx))),
        "is inside the repository",
        unchanged=_clone_untouched,
    ),
    HostileCase(
        "stage-runtime: --wheel-dir is the home directory",
        lambda ctx: _stage(ctx, ctx.ws / "staging", _package(ctx), "--wheel-dir", str(ctx.ws / "home")),
        "is the home directory",
    ),
    HostileCase(
        "stage-runtime: --wheel-dir is /",
        lambda ctx: _stage(ctx, ctx.ws / "staging", _package(ctx), "--wheel-dir", "/"),
        "is the file system root",
    ),
    HostileCase(
        "stage-runtime: --wheel-dir under a file",
        lambda ctx: _stage(ctx, ctx.ws / "staging", _package(ctx), "--wheel-dir", str(_a_file(ctx) / "w")),
        "which is a file",
    ),
    HostileCase(
        "stage-runtime: STAGING_DIR under a file",
        lambda ctx: _stage(ctx, _a_file(ctx) / "staging", _package(ctx)),
        "which is a file",
    ),
    HostileCase(
        "stage-runtime: STAGING_DIR two levels under a file",
        lambda ctx: _stage(ctx, _a_file(ctx) / "x" / "staging", _package(ctx)),
        "which is a file",
    ),
    HostileCase(
        "stage-runtime: STAGING_DIR is SOURCE",
        lambda ctx: _stage(ctx, (p := _package(ctx)), p, "--overwrite"),
        "overlaps SOURCE",
    ),
    HostileCase(
        "stage-runtime: STAGING_DIR contains SOURCE",
        lambda ctx: _stage(ctx, ctx.ws, _package(ctx), "--overwrite"),
        "is the home directory",  # the workspace holds HOME too, which is checked first
    ),
    HostileCase(
        "stage-runtime: STAGING_DIR contains SOURCE (no home inside)",
        lambda ctx: _stage(ctx, ctx.ws / "src", _package(ctx, name="src/pkg"), "--overwrite"),
        "overlaps SOURCE",
    ),
    HostileCase(
        "stage-runtime: STAGING_DIR is the home directory",
        lambda ctx: _stage(ctx, ctx.ws / "home", _package(ctx), "--overwrite"),
        "is the home directory",
    ),
    HostileCase(
        "stage-runtime: STAGING_DIR is /",
        lambda ctx: _stage(ctx, Path("/"), _package(ctx), "--overwrite"),
        "is the file system root",
    ),
    HostileCase(
        "stage-runtime: STAGING_DIR in the checkout's ignored dist/ (staging trees never go in the checkout)",
        lambda ctx: _stage(ctx, _checkout(ctx) / "dist" / "staging", _package(ctx)),
        "is inside the repository",
        unchanged=_clone_untouched,
    ),
    HostileCase(
        "stage-sdk: STAGING_DIR under a file",
        lambda ctx: ["stage-sdk", str(_a_file(ctx) / "s"), "--codex-version", V],
        "which is a file",
    ),
    HostileCase(
        "stage-sdk: STAGING_DIR is the home directory",
        lambda ctx: ["stage-sdk", str(ctx.ws / "home"), "--codex-version", V, "--overwrite"],
        "is the home directory",
    ),
    HostileCase(
        "stage-sdk: --dist-dir is /",
        lambda ctx: ["stage-sdk", str(ctx.ws / "s"), "--codex-version", V, "--dist-dir", "/"],
        "is the file system root",
    ),
    HostileCase(
        "stage-sdk: --dist-dir in a tracked directory of the checkout",
        lambda ctx: ["stage-sdk", str(ctx.ws / "s"), "--codex-version", V, "--dist-dir", str(_checkout(ctx) / "sdk")],
        "overlaps SOURCE",
        unchanged=_clone_untouched,
    ),
    HostileCase(
        "stage-sdk: --dist-dir in docs/ of the checkout",
        lambda ctx: ["stage-sdk", str(ctx.ws / "s"), "--codex-version", V, "--dist-dir", str(_checkout(ctx) / "docs")],
        "is not a git-ignored output directory",
        unchanged=_clone_untouched,
    ),
    HostileCase("fetch-runtime: --dest under a file", lambda ctx: _fetch(_a_file(ctx) / "fetched"), "which is a file"),
    HostileCase("fetch-runtime: --dest is the home directory", lambda ctx: _fetch(ctx.ws / "home"), "home directory"),
    HostileCase("fetch-runtime: --dest is /", lambda ctx: _fetch("/"), "is the file system root"),
    HostileCase(
        "fetch-runtime: --dest in a tracked directory of the checkout",
        lambda ctx: _fetch(_checkout(ctx) / "docs"),
        "is not a git-ignored output directory",
        unchanged=_clone_untouched,
    ),
    HostileCase(
        "fetch-runtime control: --dest a fresh directory",
        _with_npm(lambda ctx: _fetch(ctx.ws / "fetched")),
        None,
        check=lambda ctx, _o: _only(ctx.ws / "fetched", [f"codex-{V}-{LINUX}.tgz"]),
    ),
    HostileCase(
        "generate-types: --out is the home directory",
        lambda ctx: _generate(ctx, ctx.ws / "home"),
        "is the home directory",
    ),
    HostileCase("generate-types: --out is /", lambda ctx: _generate(ctx, "/"), "is the file system root"),
    HostileCase(
        "generate-types: --out a directory of the checkout other than the generated package",
        lambda ctx: _generate(ctx, _checkout(ctx) / "sdk" / "src" / "openai_codex"),
        "the only directory of the checkout generate-types writes is sdk/src/openai_codex/generated",
        unchanged=_clone_untouched,
    ),
    HostileCase(
        "generate-types: --out a non-empty directory it did not write",
        lambda ctx: _generate(ctx, _unrelated_dir(ctx)),
        "is not a package generate-types wrote",
    ),
]


def _publish(ctx: CaseContext, out: Path | str) -> list[str]:
    pinned = str(pinned_runtime())  # the version of the suite's synthetic release
    return ["stage-publish", str(ctx.fixture("synthetic_dist")), "--codex-version", pinned, "--out", str(out)]


PUBLISH_CASES = [
    HostileCase(
        "stage-publish control: --out a fresh directory",
        lambda ctx: _publish(ctx, ctx.ws / "publish"),
        None,
        check=lambda ctx, _o: _only(ctx.ws / "publish", ["runtime", "sdk"]),
    ),
    HostileCase(
        "stage-publish: --out inside DIST_DIR",
        lambda ctx: _publish(ctx, ctx.fixture("synthetic_dist") / "publish"),
        "overlaps DIST_DIR",
    ),
    HostileCase(
        "stage-publish: --out in a tracked directory of the checkout",
        lambda ctx: _publish(ctx, _checkout(ctx) / "docs"),
        "is not a git-ignored output directory",
        unchanged=_clone_untouched,
    ),
    HostileCase("stage-publish: --out is /", lambda ctx: _publish(ctx, "/"), "is the file system root"),
    HostileCase(
        "stage-publish: --out a non-empty directory",
        lambda ctx: _publish(ctx, _unrelated_dir(ctx)),
        "is not empty: pass a new directory for the publish batches",
    ),
]


def _unrelated_dir(ctx: CaseContext) -> Path:
    mine = ctx.ws / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine\n")
    return mine


def _only(directory: Path, names: list[str]) -> None:
    assert sorted(p.name for p in directory.iterdir()) == sorted(names)


def _nothing_in(*names: str) -> Callable[[CaseContext, Outcome], None]:
    def check(ctx: CaseContext, outcome: Outcome) -> None:
        assert not [name for name in names if (ctx.ws / name).exists()], outcome.stderr

    return check


def _sdk_built(ctx: CaseContext, outcome: Outcome) -> None:
    _only(ctx.ws / "d", [f"openai_codex-{V}-py3-none-any.whl", f"openai_codex-{V}.tar.gz"])


# Issue 14 item 3: every command that releases takes the pinned version only, refused before anything is
# fetched, built or written; ``bump`` is the one way to move the pin. Each refusal beside a control.
PIN_CASES = [
    HostileCase("pin control: plan of the pinned tag", lambda ctx: ["plan", "--codex-version", f"rust-v{V}"], None),
    HostileCase(
        "plan: a tag other than the pin", lambda ctx: ["plan", "--codex-version", f"rust-v{OTHER}"], NOT_PINNED
    ),
    HostileCase(
        "pin control: stage-sdk of the pin with --dist-dir",
        lambda ctx: ["stage-sdk", str(ctx.ws / "s"), "--codex-version", V, "--dist-dir", str(ctx.ws / "d")],
        None,
        check=_sdk_built,
    ),
    HostileCase(
        "stage-sdk: a version other than the pin",
        lambda ctx: [
            "stage-sdk",
            str(ctx.ws / "s"),
            "--codex-version",
            f"rust-v{OTHER}",
            "--dist-dir",
            str(ctx.ws / "d"),
        ],
        NOT_PINNED,
        check=_nothing_in("s", "d"),
    ),
    # the release control is "release control: into an empty directory" above (same command, the pin)
    HostileCase(
        "release: a version other than the pin (with the SDK, before any fetch)",
        lambda ctx: ["release", "--codex-version", OTHER, "--dist-dir", str(ctx.ws / "dist"), "--no-smoke", "-q"],
        NOT_PINNED,
        check=_nothing_in("dist"),
    ),
    HostileCase(
        "release: a version other than the pin, runtime only",
        lambda ctx: ["release", "--codex-version", OTHER, "--dist-dir", str(ctx.ws / "dist"), "--no-sdk", "-q"],
        NOT_PINNED,
        check=_nothing_in("dist"),
    ),
    HostileCase(
        "pin control: stage-publish of the pin (verify's own rows are in test_hostile_archives)",
        lambda ctx: _publish(ctx, ctx.ws / "publish"),
        None,
    ),
    HostileCase(
        "stage-publish: a version other than the pin",
        lambda ctx: [
            "stage-publish",
            str(ctx.fixture("synthetic_dist")),
            "--codex-version",
            OTHER,
            "--out",
            str(ctx.ws / "publish"),
        ],
        NOT_PINNED,
        check=_nothing_in("publish"),
    ),
]

CASES = RELEASE_CASES + OTHER_CASES + PUBLISH_CASES + PIN_CASES


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_outputs(case: HostileCase, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    run_case(case, tmp_path, {"synthetic_dist": lambda: request.getfixturevalue("synthetic_dist")})


# -- issue 8 row 13: SIGTERM / SIGKILL in the middle of a run, then a second run -------------------------------


def _child_env(ctx: CaseContext) -> dict[str, str]:
    """The environment :func:`tests.hostile.run_case` gives its child, for a first run started by hand."""
    return {
        **os.environ,
        "TMPDIR": str(ctx.ws / "tmp"),
        "HOME": str(ctx.ws / "home"),
        "CODEX_RELEASE_CACHE": str(ctx.ws / "cache"),
        "PYTHONPATH": os.pathsep.join([str(REPO / "packaging"), str(REPO / "sdk" / "src")]),
        **ctx.env,
    }


def _big_package(ctx: CaseContext, megabytes: int) -> Path:
    package = _package(ctx)
    (package / "codex-resources" / "big.bin").write_bytes(os.urandom(megabytes << 20))  # incompressible
    return package


def _stray(ws: Path) -> list[str]:
    """Scratch directories, partial files and lock files anywhere in the workspace."""
    found = []
    for path in ws.rglob(".*"):
        if ".new-" in path.name or path.name.endswith((".part", ".lock")):
            found.append(str(path.relative_to(ws)))
    return sorted(found)


def _interrupted(signum: int, phase: str) -> Callable[[CaseContext], Sequence[str]]:
    """Start ``stage-runtime --wheel-dir``, send ``signum`` once ``phase`` ("staging": the scratch tree
    exists; "wheel": the partial wheel exists) is reached, reap it, and return the second run's args."""

    def build(ctx: CaseContext) -> Sequence[str]:
        staging, wheels = ctx.ws / "out" / "staging", ctx.ws / "out" / "wheels"
        previous = _stage(ctx, staging, _package(ctx, LINUX_ARM, "previous"))
        subprocess.run(
            [sys.executable, "-m", "codex_release", *previous], env=_child_env(ctx), cwd=ctx.ws, check=True, timeout=120
        )
        before = snapshot(staging)
        for megabytes in (48, 160, 400):
            if (ctx.ws / "pkg").exists():
                shutil.rmtree(ctx.ws / "pkg")
            args = _stage(ctx, staging, _big_package(ctx, megabytes), "--wheel-dir", str(wheels), "--overwrite")
            child = subprocess.Popen(
                [sys.executable, "-m", "codex_release", *args],
                env=_child_env(ctx),
                cwd=ctx.ws,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            caught = False
            while child.poll() is None:
                if phase == "staging":
                    caught = any((ctx.ws / "out").glob(".staging.new-*/new/src"))
                else:
                    caught = any(wheels.glob(".*.part"))
                if caught:
                    child.send_signal(signum)
                    break
                time.sleep(0.002)
            _, stderr = child.communicate(timeout=120)
            if caught:
                assert "Traceback" not in stderr, stderr
                assert child.returncode != 0, f"the interrupted run exited 0: {stderr}"
                stray = _stray(ctx.ws)
                if signum == signal.SIGKILL:
                    assert stray, "a SIGKILL mid-run should leave scratch for the next run to sweep"
                else:
                    assert child.returncode == 128 + signum, stderr  # as a shell reports a signal
                    assert not stderr.strip(), stderr
                    assert not stray, f"{signal.Signals(signum).name} left {stray}"
                    assert not list((ctx.ws / "tmp").iterdir())
                    assert not list(wheels.glob("*.whl")), "an interrupted run left a wheel"
                    assert snapshot(staging) == before, "an interrupted run changed the previous STAGING_DIR"
                return args
        pytest.fail(f"never caught stage-runtime in its {phase} phase")

    return build


def _nothing_stray(ctx: CaseContext, outcome: Outcome) -> None:
    assert not _stray(ctx.ws), _stray(ctx.ws)
    assert len(list((ctx.ws / "out" / "wheels").glob("*.whl"))) == 1


SIGNAL_CASES = [
    HostileCase(
        f"{signal.Signals(signum).name} while {phase}, then a second run sweeps and succeeds",
        _interrupted(signum, phase),
        None,
        check=_nothing_stray,
        timeout=300,
    )
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL)
    for phase in ("staging", "wheel")
]


@pytest.mark.parametrize("case", SIGNAL_CASES, ids=[c.id for c in SIGNAL_CASES])
def test_interrupted_runs_leave_nothing_or_are_swept(case: HostileCase, tmp_path: Path) -> None:
    run_case(case, tmp_path)


# -- issue 8 row 4: two stage-runtime runs into one STAGING_DIR at once -----------------------------------------

_TRIES = 6


def _wheel_binary(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        return archive.read("codex_cli_bin/vendor/bin/codex")


@pytest.mark.parametrize("overwrite", [False, True], ids=["without --overwrite", "with --overwrite"])
def test_two_stage_runtime_runs_into_one_staging_dir_never_write_a_wrong_wheel(tmp_path: Path, overwrite: bool) -> None:
    ctx = CaseContext(ws=tmp_path)
    for name in ("tmp", "home", "cache"):
        (tmp_path / name).mkdir()
    packages = {LINUX: _package(ctx, LINUX, "x86"), LINUX_ARM: _package(ctx, LINUX_ARM, "arm")}
    binaries = {triple: (package / "bin" / "codex").read_bytes() for triple, package in packages.items()}
    platforms = {LINUX: "x86_64", LINUX_ARM: "aarch64"}
    outcomes: list[tuple[int, int]] = []
    for attempt in range(_TRIES):
        staging, wheels = tmp_path / f"staging-{attempt}", tmp_path / f"wheels-{attempt}"
        extra = ["--wheel-dir", str(wheels), *(["--overwrite"] if overwrite else [])]
        children = {
            triple: subprocess.Popen(
                [sys.executable, "-m", "codex_release", *_stage(ctx, staging, package, *extra)],
                env=_child_env(ctx),
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for triple, package in packages.items()
        }
        succeeded = []
        for triple, child in children.items():
            stdout, stderr = child.communicate(timeout=120)
            where = f"try {attempt}, {triple}: exit {child.returncode}\n{stdout}\n{stderr}"
            assert "Traceback" not in stdout + stderr, where
            if child.returncode == 0:
                # "wrote WHEEL (variant...)": one line per wheel of the target (aarch64: full and lean)
                written = [
                    Path(line[len("wrote ") :].rsplit(" (", 1)[0])
                    for line in stdout.splitlines()
                    if line.startswith("wrote ")
                ]
                assert written, where
                for wheel in written:
                    assert platforms[triple] in wheel.name, f"wrote another target's wheel\n{where}"
                    assert _wheel_binary(wheel) == binaries[triple], f"the wheel holds another target's codex\n{where}"
                succeeded.append(triple)
            else:
                assert child.returncode == 1, where
                lines = [line for line in stderr.splitlines() if line.strip()]
                assert len(lines) == 1, where
                assert "is not empty: pass --overwrite" in lines[0] or "being written by another" in lines[0], where
        manifest = json.loads((staging / "src/codex_cli_bin/vendor/codex-package.json").read_text())
        assert manifest["target"] in succeeded
        assert not _stray(tmp_path), _stray(tmp_path)
        assert not list((tmp_path / "tmp").iterdir())
        # each success wrote its target's wheels: x86_64 one, aarch64 two (full and lean)
        expected_wheels = sum({LINUX: 1, LINUX_ARM: 2}[triple] for triple in succeeded)
        outcomes.append((len(succeeded), len(list(wheels.glob("*.whl"))) == expected_wheels))
    if overwrite:
        assert outcomes == [(2, True)] * _TRIES  # the second waited for the first, then replaced its tree
    else:
        assert outcomes == [(1, True)] * _TRIES  # the second waited, then found STAGING_DIR taken
