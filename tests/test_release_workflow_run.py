"""Run the Linux jobs of ``.github/workflows/release.yml`` step by step, exactly as written.

The YAML is parsed and each ``run:`` script is executed unchanged by :mod:`tests.workflow_runner`
(bash, each job in a fresh ``git clone`` of the code under test with its own ``RUNNER_TEMP``,
``GITHUB_OUTPUT``, ``GITHUB_ENV``, ``GITHUB_PATH``, ``GITHUB_STEP_SUMMARY`` and ``GITHUB_WORKSPACE``,
``${{ }}`` evaluated, ``needs`` outputs passed on, artifacts kept in directories). Any failing step fails
the test with the step's name, script and output. What is simulated, and why:

* the event is a push of the pinned version's tag (``rust-vX.Y.Z``);
* every ``uses:`` must be a row of the actions table (``codex_release.core.workflow_actions``), as every
  action must resolve on GitHub;
* ``actions/setup-python`` is one virtual environment created once for the session (from the test's own
  interpreter, whatever ``python-version`` says) and put first on ``PATH``; each job's own
  ``python -m pip install -e .`` still runs, into it, from that job's checkout;
* the npm registry is a stand-in ``npm`` on ``PATH`` (``view ... dist --json`` and ``pack``, the two
  calls ``fetch-runtime`` makes) that serves the real, integrity-checked x86_64 Linux platform package
  from the toolkit's user cache and small synthetic packages (real ELF/Mach-O/PE headers) for the five
  other targets, into a private ``CODEX_RELEASE_CACHE``: offline, and the release stays small while
  every command runs on a whole six-target set;
* jobs whose runner is not Linux (macOS and Windows smoke) or not this machine's CPU (the aarch64 Linux
  smoke) are skipped and reported; ``runtime-visible`` and ``index-check`` are skipped because they ask
  the real package index for files that the simulated publish never uploaded;
* ``pypa/gh-action-pypi-publish`` is never run: the publish jobs download their batch and the test checks
  the exact files the action would have uploaded;
* after the run, the jobs that upload artifacts are re-run (a new attempt of the same run, their first
  attempt's artifacts still there), as "Re-run jobs" does after a later job failed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import venv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from codex_release.core.targets import GITHUB_HOSTED_RUNNERS, TARGETS, get_target, host_target
from codex_release.core.versions import CodexVersion
from codex_release.core.workflow_actions import ACTIONS
from codex_release.steps.fetch import fetch_runtime
from tests import fake_npm
from tests.checkout import CHECKOUT
from tests.conftest import REPO_ROOT
from tests.synthetic_binaries import npm_tarball, write_platform_package
from tests.workflow_runner import Expressions, JobRun, WorkflowError, WorkflowRunner, load_workflow

RELEASE = REPO_ROOT / ".github" / "workflows" / "release.yml"
REAL_TRIPLE = "x86_64-unknown-linux-musl"
SKIPPED = {
    "runtime-visible": "it polls the real package index, and the simulated publish-runtime uploaded nothing",
    "index-check": "it downloads the release from the real package index, and the simulated publishes uploaded nothing",
}


# --------------------------------------------------------------------------------------------- helpers
def _git(*args: str, cwd: Path) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=300)
    return result.stdout


def clone_with_working_tree(repo: Path, dest: Path) -> str:
    """A clone of ``repo``'s HEAD with its working tree (uncommitted and untracked files) committed on top.

    Returns the commit the jobs check out, so the run tests the code as it is now, not as last committed.
    """
    subprocess.run(["git", "clone", "--quiet", str(repo), str(dest)], check=True, timeout=300)
    listed = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=repo).split("\0")
    for relative in filter(None, listed):
        source, target = repo / relative, dest / relative
        if source.is_file() or source.is_symlink():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)
            shutil.copy2(source, target, follow_symlinks=False)
        else:
            target.unlink(missing_ok=True)
    _git("add", "-A", cwd=dest)
    identity = ["-c", "user.name=workflow test", "-c", "user.email=workflow-test@localhost"]
    _git(*identity, "commit", "--quiet", "--allow-empty", "-m", "the working tree under test", cwd=dest)
    return _git("rev-parse", "HEAD", cwd=dest).strip()


@pytest.fixture(scope="session")
def stand_in_npm(
    tmp_path_factory: pytest.TempPathFactory, pinned_version: CodexVersion, real_package: Callable[[str], Path]
) -> Path:
    """A directory holding an ``npm`` that serves the six platform packages of the pinned version."""
    root = tmp_path_factory.mktemp("npm-registry")
    real_package(REAL_TRIPLE)  # fetched (integrity-checked) into the user cache once
    registry = root / "registry"
    bin_dir = fake_npm.install(root / "bin", registry)
    for target in TARGETS:
        if target.triple == REAL_TRIPLE:
            (tarball,) = fetch_runtime(pinned_version, [target], root / "real", checkout=CHECKOUT.root).values()
        else:
            package = write_platform_package(root / "src" / target.triple, target.triple, version=pinned_version.pep440)
            tarball = npm_tarball(package, target.triple, root / f"codex-{target.npm_suffix}.tgz")
        fake_npm.publish(registry, target.npm_spec(pinned_version.semver), tarball)
    return bin_dir


@pytest.fixture(scope="session")
def workflow_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository every job checks out: this working tree, committed in a clone."""
    source = tmp_path_factory.mktemp("workflow-source") / "repo"
    clone_with_working_tree(REPO_ROOT, source)
    return source


@pytest.fixture(scope="session")
def setup_python_env(tmp_path_factory: pytest.TempPathFactory, workflow_checkout: Path) -> Path:
    """The ``bin`` of the one virtual environment that stands in for ``actions/setup-python``.

    The toolkit's dependencies are installed once here; the jobs' own install steps then only re-point
    the editable install at their checkout.
    """
    env_dir = tmp_path_factory.mktemp("setup-python") / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    command = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["-e", str(workflow_checkout)]
    installed = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return env_dir / "bin"


def _base_env(npm_bin: Path, cache: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GITHUB_", "RUNNER_", "CODEX_", "PYTHON", "PIP_", "VIRTUAL_ENV"))
        and key not in {"CI", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"}
    }
    env["PATH"] = os.pathsep.join([str(npm_bin), os.environ.get("PATH", os.defpath)])
    env["CODEX_RELEASE_CACHE"] = str(cache)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _runner(
    workflow: Path, root: Path, source: Path, python_bin: Path, npm_bin: Path, version: CodexVersion
) -> WorkflowRunner:
    host = host_target()
    dispatch_inputs = (load_workflow(workflow)["on"].get("workflow_dispatch") or {}).get("inputs", {})
    return WorkflowRunner(
        workflow,
        source=source,
        root=root,
        python_bin=python_bin,
        runner_label=GITHUB_HOSTED_RUNNERS.get,
        host=(host.os, host.arch),
        github={
            "event_name": "push",
            "ref": f"refs/tags/{version.tag}",
            "ref_name": version.tag,
            "ref_type": "tag",
            "sha": _git("rev-parse", "HEAD", cwd=source).strip(),
        },
        inputs=dict.fromkeys(dispatch_inputs),  # a push event: every dispatch input is null
        base_env=_base_env(npm_bin, root / "toolkit-cache"),
        pinned=[row.uses for row in ACTIONS],
        skip_jobs=SKIPPED,
    )


def _files(runs: list[JobRun]) -> list[list[str]]:
    return [files for run in runs for files in run.published]


# ----------------------------------------------------------------------------------------- the full run
@pytest.mark.runtime
@pytest.mark.slow
def test_release_workflow_linux_jobs_run_as_written(
    tmp_path: Path,
    workflow_checkout: Path,
    setup_python_env: Path,
    stand_in_npm: Path,
    pinned_version: CodexVersion,
) -> None:
    if host_target().os != "linux":
        pytest.skip("the release workflow's Linux jobs run on Linux")
    runner = _runner(RELEASE, tmp_path, workflow_checkout, setup_python_env, stand_in_npm, pinned_version)
    started = time.monotonic()
    failure: WorkflowError | None = None
    try:
        results = runner.run_all()
    except WorkflowError as exc:
        failure = exc
    if failure is not None:
        pytest.fail(str(failure), pytrace=False)
    print(f"release.yml Linux jobs: {time.monotonic() - started:.0f} s")

    release_jobs = load_workflow(RELEASE)["jobs"]
    assert set(results) == set(release_jobs)
    assert results["plan"][0].outputs["version"] == pinned_version.pep440
    assert [run.matrix["triple"] for run in results["runtime-wheels"]] == [t.triple for t in TARGETS]
    assert all(run.skipped is None for run in results["runtime-wheels"])
    for job in ("plan", "sdk", "verify", "rehearse", "publish-runtime", "publish-sdk"):
        assert [run.skipped for run in results[job]] == [None], job
    assert results["runtime-visible"][0].skipped == SKIPPED["runtime-visible"]
    assert results["index-check"][0].skipped == SKIPPED["index-check"]
    # verify wrote the release record (an artifact for index-check) and the job summary
    record = runner.artifacts / "release-record"
    assert sorted(p.name for p in record.iterdir()) == ["SHA256SUMS", "manifest.json"]
    sums = (record / "SHA256SUMS").read_text(encoding="utf-8")
    summary = results["verify"][0].summary
    assert "verify OK" in summary
    assert sums in summary
    manifest = json.loads((record / "manifest.json").read_text(encoding="utf-8"))["artifacts"]
    assert {e["target"] for e in manifest if e["file"].startswith("openai_codex_cli_bin-")} == {
        t.triple for t in TARGETS
    }

    smoked = {run.matrix["triple"]: run.skipped for run in results["smoke"]}
    assert smoked.pop(host_target().triple) is None  # the one native Linux smoke ran
    for triple, reason in smoked.items():
        target = get_target(triple)
        assert reason is not None, triple
        assert ("not Linux" in reason) == (target.os != "linux"), reason

    version = pinned_version.pep440
    runtime_wheels = _files(results["publish-runtime"])
    assert len(runtime_wheels) == 1
    # one wheel per target, two for aarch64 Linux (full and lean): its one job uploads both
    assert len(runtime_wheels[0]) == sum(len(t.expected_wheels) for t in TARGETS) == len(TARGETS) + 1
    assert sum("aarch64" in name and "linux" in name for name in runtime_wheels[0]) == 2
    assert all(name.startswith(f"openai_codex_cli_bin-{version}-py3-none-") for name in runtime_wheels[0])
    assert _files(results["publish-sdk"]) == [
        [f"openai_codex-{version}-py3-none-any.whl", f"openai_codex-{version}.tar.gz"]
    ]
    # every artifact that is published was attested by the job that built it
    attested = [name for job in ("runtime-wheels", "sdk") for run in results[job] for name in run.attested]
    assert sorted(attested) == sorted([*runtime_wheels[0], *_files(results["publish-sdk"])[0]])

    # Re-run every job that uploads (as after a later failure): each upload replaces its artifact with
    # the same bytes, and the publish jobs after them see the same files.
    published_first = _files(results["publish-sdk"])
    stored = {p.relative_to(runner.artifacts): p.read_bytes() for p in runner.artifacts.rglob("*") if p.is_file()}
    for job in ("sdk", "verify", "publish-sdk"):
        try:
            reruns = runner.rerun(job)
        except WorkflowError as exc:
            pytest.fail(f"re-running {job}: {exc}", pytrace=False)
        assert [run.skipped for run in reruns] == [None], job
    assert runner.github["run_attempt"] == "4"
    again = {p.relative_to(runner.artifacts): p.read_bytes() for p in runner.artifacts.rglob("*") if p.is_file()}
    assert again == stored, "a re-run must upload byte-identical artifacts"
    assert _files(runner.results["publish-sdk"]) == published_first


# ----------------------------------------------------------------------- the runner itself (fast tests)
def test_expressions_of_the_subset_the_workflows_use() -> None:
    contexts: dict[str, Any] = {
        "inputs": {"version": None},
        "github": {"ref_name": "rust-v0.169.0"},
        "matrix": {"arch": "aarch64"},
        "needs": {"plan": {"outputs": {"matrix": '{"include": [{"triple": "t"}]}'}}},
    }
    expressions = Expressions(contexts)
    assert expressions.evaluate("inputs.version || github.ref_name") == "rust-v0.169.0"
    assert expressions.evaluate("matrix.arch == 'aarch64' && 'arm64' || 'x64'") == "arm64"
    assert expressions.evaluate("!(matrix.arch != 'AARCH64')") is True
    assert expressions.substitute("${{ fromJSON(needs.plan.outputs.matrix) }}") == {"include": [{"triple": "t"}]}
    assert expressions.substitute("run-${{ matrix.arch }}-${{ github.ref_name }}") == "run-aarch64-rust-v0.169.0"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("secrets.PYPI_TOKEN", "no context 'secrets'"),
        ("needs.plan.outputs.versoin", "needs.plan.outputs.versoin is not defined"),
        ("hashFiles('x')", "no function hashFiles()"),
        ("github.ref_name ~ 'x'", "unsupported syntax"),
        ("github.ref_name 'x'", "unexpected"),
    ],
)
def test_an_unknown_expression_fails_loudly(expression: str, message: str) -> None:
    expressions = Expressions({"github": {"ref_name": "x"}, "needs": {"plan": {"outputs": {"version": "1"}}}})
    with pytest.raises(WorkflowError, match=message.replace("(", r"\(").replace(")", r"\)")):
        expressions.evaluate(expression)


TOY = """\
name: Toy
on: push
defaults:
  run:
    shell: bash
jobs:
  first:
    runs-on: ubuntu-24.04
    outputs:
      word: ${{ steps.say.outputs.word }}
    steps:
      - uses: CHECKOUT
        with:
          persist-credentials: false
      - id: say
        run: |
          test -f marker.txt
          echo "word=hello" >> "$GITHUB_OUTPUT"
          echo "FROM_ENV=yes" >> "$GITHUB_ENV"
          mkdir -p "$RUNNER_TEMP/out" && echo payload > "$RUNNER_TEMP/out/file.txt"
      - run: test "$FROM_ENV" = yes && test "$GITHUB_WORKSPACE" = "$PWD"
      - uses: UPLOAD
        with:
          name: thing
          path: ${{ runner.temp }}/out/*
          if-no-files-found: error
          overwrite: OVERWRITE
  second:
    needs: first
    runs-on: ubuntu-24.04
    steps:
      - uses: DOWNLOAD
        with:
          pattern: thi*
          path: ${{ runner.temp }}/got
          merge-multiple: true
      - env:
          WORD: ${{ needs.first.outputs.word }}
        run: test "$WORD" = hello && grep -q payload "$RUNNER_TEMP/got/file.txt" && STEP_BODY
"""


def _pinned(action: str) -> str:
    return next(f"{row.uses} # {row.tag}" for row in ACTIONS if row.action == action)


def _toy_runner(
    tmp_path: Path, step_body: str, *, overwrite: bool = True, replace: tuple[str, str] = ("", "")
) -> WorkflowRunner:
    repo = tmp_path / "repo"
    repo.mkdir(parents=True)
    (repo / "marker.txt").write_text("x", encoding="utf-8")
    _git("init", "--quiet", cwd=repo)
    _git("add", "-A", cwd=repo)
    _git("-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "--quiet", "-m", "toy", cwd=repo)
    workflow = tmp_path / "toy.yml"
    text = TOY.replace("STEP_BODY", step_body).replace("OVERWRITE", "true" if overwrite else "false")
    for placeholder, action in (
        ("CHECKOUT", "checkout"),
        ("UPLOAD", "upload-artifact"),
        ("DOWNLOAD", "download-artifact"),
    ):
        text = text.replace(placeholder, _pinned(f"actions/{action}"))
    workflow.write_text(text.replace(*replace), encoding="utf-8")
    return WorkflowRunner(
        workflow,
        source=repo,
        root=tmp_path / "run",
        python_bin=Path(sys.executable).parent,
        runner_label=GITHUB_HOSTED_RUNNERS.get,
        host=("linux", "x86_64"),
        github={"ref_name": "main"},
        inputs={},
        base_env={"PATH": os.environ.get("PATH", os.defpath)},
        pinned=[row.uses for row in ACTIONS],
        log=lambda _line: None,
    )


def _toy_run(tmp_path: Path, step_body: str) -> dict[str, list[JobRun]]:
    return _toy_runner(tmp_path, step_body).run_all()


def test_the_runner_passes_outputs_env_and_artifacts_between_steps_and_jobs(tmp_path: Path) -> None:
    results = _toy_run(tmp_path, "true")
    assert results["first"][0].outputs == {"word": "hello"}
    assert results["second"][0].skipped is None


def test_a_failing_step_fails_the_run_with_its_name_and_output(tmp_path: Path) -> None:
    with pytest.raises(WorkflowError) as failure:
        _toy_run(tmp_path, "echo 'broken on purpose' >&2 && exit 3")
    message = str(failure.value)
    assert "job 'second'" in message
    assert "failed (exit 3)" in message
    assert "broken on purpose" in message


def test_an_action_not_in_the_actions_table_fails_its_job(tmp_path: Path) -> None:
    """A SHA that is not the table's (here one digit off, as a mistyped pin) does not resolve on GitHub."""
    checkout = _pinned("actions/checkout").split(" ")[0]
    wrong = checkout[:-1] + ("0" if checkout[-1] != "0" else "1")
    runner = _toy_runner(tmp_path, "true", replace=(checkout, wrong))
    with pytest.raises(WorkflowError, match=f"{re.escape(wrong)}: not in the actions table"):
        runner.run_all()
    control = _toy_runner(tmp_path / "control", "true")
    assert control.run_all()["second"][0].skipped is None


def test_a_job_that_uploaded_can_be_rerun_only_with_overwrite(tmp_path: Path) -> None:
    """Artifact names are per run, not per attempt: without overwrite, a re-run conflicts with itself."""
    runner = _toy_runner(tmp_path / "overwrite", "true")
    runner.run_all()
    assert runner.rerun("first")[0].outputs == {"word": "hello"}
    assert runner.rerun("second")[0].skipped is None
    assert runner.github["run_attempt"] == "3"

    once = _toy_runner(tmp_path / "once", "true", overwrite=False)
    once.run_all()
    with pytest.raises(WorkflowError, match="artifact named 'thing' was already uploaded in this run"):
        once.rerun("first")


def test_jobs_off_linux_or_off_this_cpu_are_skipped_and_say_why(tmp_path: Path) -> None:
    workflow = tmp_path / "w.yml"
    workflow.write_text(
        "on: push\njobs:\n"
        "  mac:\n    runs-on: macos-15\n    steps: [{run: 'false'}]\n"
        "  arm:\n    runs-on: ubuntu-24.04-arm\n    steps: [{run: 'false'}]\n"
        "  gone:\n    runs-on: macos-14\n    steps: [{run: 'false'}]\n",
        encoding="utf-8",
    )
    runner = WorkflowRunner(
        workflow,
        source=tmp_path,
        root=tmp_path / "run",
        python_bin=tmp_path,
        runner_label=GITHUB_HOSTED_RUNNERS.get,
        host=("linux", "x86_64"),
        github={},
        inputs={},
        base_env={"PATH": os.defpath},
        pinned=[],
        log=lambda _line: None,
    )
    assert runner.run_job("mac")[0].skipped == "runs on macos-15 (macos), not Linux"
    assert runner.run_job("arm")[0].skipped == "runs on ubuntu-24.04-arm (aarch64), not this machine's CPU (x86_64)"
    with pytest.raises(WorkflowError, match="'macos-14' is not a known GitHub-hosted runner"):
        runner.run_job("gone")
