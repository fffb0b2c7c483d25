"""The GitHub Actions workflows: linters clean, matrix from the CLI, publish order, least privilege, pins."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import click
import pytest
import yaml  # type: ignore[import-untyped,unused-ignore]
from click.testing import CliRunner

from codex_release.cli import main
from codex_release.targets import TARGETS
from codex_release.workflow_lint import lint_workflows, run_actionlint, run_zizmor

WORKFLOWS = Path(__file__).resolve().parent.parent / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
RELEASE = WORKFLOWS / "release.yml"
PUBLISH_ACTION = "pypa/gh-action-pypi-publish"
MATRIX_EXPRESSION = "${{ fromJSON(needs.plan.outputs.matrix) }}"


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    if True in data:  # YAML 1.1 reads the key `on` as a boolean
        data["on"] = data.pop(True)
    return data


def jobs(path: Path) -> dict[str, dict[str, Any]]:
    return dict(load(path)["jobs"])


def needs(job: dict[str, Any]) -> set[str]:
    value = job.get("needs", [])
    return {value} if isinstance(value, str) else set(value)


def ancestors(all_jobs: dict[str, dict[str, Any]], name: str) -> set[str]:
    seen: set[str] = set()
    todo = list(needs(all_jobs[name]))
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(needs(all_jobs[current]))
    return seen


def steps(path: Path) -> list[tuple[str, dict[str, Any]]]:
    return [(name, step) for name, job in jobs(path).items() for step in job.get("steps", [])]


# -------------------------------------------------------------------------------------------- linters
def test_actionlint_and_zizmor_report_nothing() -> None:
    results = lint_workflows([WORKFLOWS])
    assert [r.tool for r in results] == ["actionlint", "zizmor"]
    for result in results:
        assert result.ok, f"{result.tool}:\n{result.output}"


BAD_WORKFLOW = """\
on: push
jobs:
  build:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.head_commit.message }}"
  publish:
    needs: missing-job
    runs-on: ubuntu-24.04
    steps:
      - run: echo hi
"""


def test_the_linters_do_catch_a_broken_workflow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD_WORKFLOW, encoding="utf-8")
    actionlint = run_actionlint([bad])
    assert not actionlint.ok
    assert 'needs job "missing-job" which does not exist' in actionlint.output
    assert "potentially untrusted" in actionlint.output
    zizmor = run_zizmor([bad])
    assert not zizmor.ok
    assert "template-injection" in zizmor.output
    assert "unpinned-uses" in zizmor.output


def test_lint_workflows_command_exit_status(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD_WORKFLOW, encoding="utf-8")
    runner = CliRunner()
    failed = runner.invoke(main, ["lint-workflows", str(bad)])
    assert failed.exit_code == 1
    assert "actionlint: FINDINGS" in failed.output
    missing = runner.invoke(main, ["lint-workflows", str(tmp_path / "nope")])
    assert missing.exit_code == 1
    assert missing.output.strip().splitlines() == [
        f"Error: no workflow file or directory at {tmp_path / 'nope'}: pass .github/workflows or a workflow file"
    ]


# ------------------------------------------------------------------------------------ triggers and jobs
def test_ci_runs_lint_and_the_suite_on_every_supported_python() -> None:
    ci = load(CI)
    assert set(ci["on"]) == {"push", "pull_request"}
    test_job = ci["jobs"]["test"]
    assert test_job["strategy"]["matrix"]["python-version"] == ["3.10", "3.11", "3.12", "3.13"]
    runs = [step.get("run", "") for _, step in steps(CI)]
    assert "make test" in runs
    assert "make lint" in runs
    assert ".venv/bin/codex-release lint-workflows .github/workflows" in runs


def test_release_triggers_on_rust_tags_and_manual_dispatch_with_a_version() -> None:
    release = load(RELEASE)
    assert release["on"]["push"] == {"tags": ["rust-v*"]}
    version_input = release["on"]["workflow_dispatch"]["inputs"]["version"]
    assert version_input["required"] is True


def test_release_matrix_is_the_cli_target_table(tmp_path: Path) -> None:
    release_jobs = jobs(RELEASE)
    plan = release_jobs["plan"]
    assert plan["outputs"]["matrix"] == "${{ steps.plan.outputs.matrix }}"
    (plan_step,) = [s for s in plan["steps"] if s.get("id") == "plan"]
    assert plan_step["run"].startswith("codex-release plan --codex-version ")
    fanned = {name for name, job in release_jobs.items() if "strategy" in job}
    assert fanned == {"runtime-wheels", "smoke"}
    for name in fanned:
        assert release_jobs[name]["strategy"]["matrix"] == MATRIX_EXPRESSION
    assert release_jobs["smoke"]["runs-on"] == "${{ matrix.runner }}"

    output = tmp_path / "github_output"
    runner = CliRunner()
    planned = runner.invoke(main, ["plan", "--codex-version", "rust-v0.169.0", "--github-output", str(output)])
    assert planned.exit_code == 0, planned.output
    values = dict(line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines())
    assert values["version"] == "0.169.0"
    assert values["tag"] == "rust-v0.169.0"
    table = runner.invoke(main, ["matrix", "--json"])
    assert json.loads(values["matrix"]) == json.loads(table.output)
    assert [row["triple"] for row in json.loads(values["matrix"])["include"]] == [t.triple for t in TARGETS]


def test_no_target_or_runner_is_written_in_the_workflows() -> None:
    text = RELEASE.read_text(encoding="utf-8") + CI.read_text(encoding="utf-8")
    for target in TARGETS:
        assert target.triple not in text
        assert target.npm_suffix not in text
        if target.runner != "ubuntu-24.04":  # also the plain Linux runner of the non-matrix jobs
            assert re.search(rf"(?<![\w.-]){re.escape(target.runner)}(?![\w.-])", text) is None, target.runner


def test_publish_order_runtime_then_visible_then_sdk() -> None:
    release_jobs = jobs(RELEASE)
    assert {"smoke", "rehearse"} <= ancestors(release_jobs, "publish-runtime")
    assert "verify" in ancestors(release_jobs, "publish-runtime")
    assert "publish-runtime" in needs(release_jobs["runtime-visible"])
    assert {"publish-runtime", "runtime-visible"} <= needs(release_jobs["publish-sdk"])
    assert "publish-sdk" not in ancestors(release_jobs, "publish-runtime")
    (wait,) = [
        s["run"] for s in release_jobs["runtime-visible"]["steps"] if "run" in s and "wait-for-index" in s["run"]
    ]
    assert "--dist-dir dist" in wait


def _publish_jobs() -> dict[str, dict[str, Any]]:
    return {
        name: job
        for name, job in jobs(RELEASE).items()
        if any(str(step.get("uses", "")).startswith(PUBLISH_ACTION) for step in job.get("steps", []))
    }


def test_each_publish_job_uploads_only_its_batch() -> None:
    batches = {}
    for name, job in _publish_jobs().items():
        (download,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/download-artifact@")]
        batches[name] = download["with"]["name"]
        (publish,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith(PUBLISH_ACTION)]
        assert set(publish.get("with", {})) <= {"packages-dir"}, "trusted publishing only: no password, no URL"
        assert not any("run" in s for s in job["steps"]), f"{name} must run no repository code"
    assert batches == {"publish-runtime": "publish-runtime", "publish-sdk": "publish-sdk"}


def test_id_token_only_on_the_publish_jobs_and_least_privilege_elsewhere() -> None:
    release = load(RELEASE)
    assert release["permissions"] == {}
    publishers = set(_publish_jobs())
    for name, job in release["jobs"].items():
        permissions = job.get("permissions")
        assert permissions is not None, f"{name} declares no permissions"
        if name in publishers:
            assert permissions == {"id-token": "write"}
            assert job["environment"]["name"] == "pypi"
        else:
            assert permissions == {"contents": "read"}, name
    ci = load(CI)
    assert ci["permissions"] == {"contents": "read"}
    assert "id-token" not in CI.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------- supply chain
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$")


@pytest.mark.parametrize("path", [CI, RELEASE], ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version(path: Path) -> None:
    found = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        match = USES.match(line)
        if not match:
            continue
        found += 1
        ref, comment = match.groups()
        assert re.fullmatch(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}", ref), ref
        assert re.fullmatch(r"\s*# v\d+\.\d+\.\d+", comment), f"{ref}: add the version as a comment"
    assert found


def test_one_sha_per_action_across_the_workflows() -> None:
    pins: dict[str, set[str]] = {}
    for path in (CI, RELEASE):
        for _, step in steps(path):
            if "uses" in step:
                action, sha = str(step["uses"]).split("@")
                pins.setdefault(action, set()).add(sha)
    assert all(len(shas) == 1 for shas in pins.values()), pins


@pytest.mark.parametrize("path", [CI, RELEASE], ids=lambda p: p.name)
def test_checkouts_do_not_persist_credentials(path: Path) -> None:
    checkouts = [s for _, s in steps(path) if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert checkouts
    assert all(s["with"]["persist-credentials"] is False for s in checkouts)


@pytest.mark.parametrize("path", [CI, RELEASE], ids=lambda p: p.name)
def test_no_expression_is_expanded_inside_a_script(path: Path) -> None:
    for job, step in steps(path):
        assert "${{" not in step.get("run", ""), f"{job}: pass values through env:, not into the script"
        assert "secrets." not in json.dumps(step), f"{job} handles a secret"


# ------------------------------------------------------------------------------ every step is the CLI
ALLOWED_SETUP = (
    "python -m pip install -e .",
    'python -m pip install -e ".[dev]"',
    "sudo apt-get update && sudo apt-get install -y --no-install-recommends",
)


def _command_lines() -> list[tuple[str, str]]:
    lines = []
    for path in (CI, RELEASE):
        for job, step in steps(path):
            if "run" in step:
                lines.append((job, " ".join(step["run"].split())))
    return lines


def test_every_run_step_is_the_cli_a_make_target_or_an_install() -> None:
    for job, line in _command_lines():
        is_cli = line.startswith(("codex-release ", ".venv/bin/codex-release "))
        is_make = re.fullmatch(r"make [\w-]+", line) is not None
        assert is_cli or is_make or line.startswith(ALLOWED_SETUP), f"{job}: {line}"


ENV_VALUES = {
    "VERSION_SPEC": "rust-v0.169.0",
    "VERSION": "0.169.0",
    "TRIPLE": TARGETS[0].triple,
    "GITHUB_OUTPUT": "github_output",
    "RUNNER_TEMP": "runner-temp",
}


def test_every_cli_call_in_the_workflows_parses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each codex-release invocation names a real command, with options and values it accepts."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dist").mkdir()
    calls = [line for _, line in _command_lines() if "codex-release " in line]
    assert len(calls) >= 10
    for call in calls:
        line = call
        for variable, value in ENV_VALUES.items():
            line = line.replace(f"${variable}", value)
        assert "$" not in line, line
        argv = shlex.split(line.split("codex-release ", 1)[1])
        name, args = argv[0], argv[1:]
        assert name in main.commands, f"no such command: {name}"
        with click.Context(main) as parent:
            context = main.commands[name].make_context(name, args, parent=parent)
            assert context.params, line
