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
from codex_release.core.targets import FIXED_RUNNERS, GITHUB_HOSTED_RUNNERS, RUNNERS_CHECKED, TARGETS
from codex_release.core.workflow_actions import ACTIONS, PinnedAction, pin_faults, uses_lines
from codex_release.steps.workflow_lint import lint_workflows, run_actionlint, run_zizmor
from tests.checkout import pinned_runtime

WORKFLOWS = Path(__file__).resolve().parent.parent / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
RELEASE = WORKFLOWS / "release.yml"
FOLLOW = WORKFLOWS / "follow-codex.yml"
ALL_WORKFLOWS = (CI, RELEASE, FOLLOW)
PUBLISH_ACTION = "pypa/gh-action-pypi-publish"
ATTEST_ACTION = "actions/attest"
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
    assert [r.tool for r in results] == ["actions table", "actionlint", "zizmor"]
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
    assert "actions table: FINDINGS" in failed.output
    assert "bad.yml:6: actions/checkout@v4 is not in the actions table" in failed.output
    missing = runner.invoke(main, ["lint-workflows", str(tmp_path / "nope")])
    assert missing.exit_code == 1
    assert missing.output.strip().splitlines() == [
        f"Error: no workflow file or directory at {tmp_path / 'nope'}: pass .github/workflows or a workflow file"
    ]


# ------------------------------------------------------------------------------------ triggers and jobs
def test_ci_runs_lint_and_the_suite_on_every_supported_python() -> None:
    ci = load(CI)
    assert set(ci["on"]) == {"push", "pull_request", "workflow_dispatch"}  # dispatch: follow-codex.yml
    test_job = ci["jobs"]["test"]
    assert test_job["strategy"]["matrix"]["python-version"] == ["3.10", "3.11", "3.12", "3.13", "3.14"]
    runs = [step.get("run", "") for _, step in steps(CI)]
    assert "make test" in runs
    assert "make lint" in runs
    (online,) = [step for _, step in steps(CI) if "lint-workflows" in step.get("run", "")]
    assert online["run"] == ".venv/bin/codex-release lint-workflows --online .github/workflows"
    assert online["env"] == {"GH_TOKEN": "${{ github.token }}"}, "zizmor asks GitHub whether each SHA is its tag's"


def test_release_runs_on_a_rust_tag_pushed_or_dispatched_in_one_group_per_version() -> None:
    """A tag push and a manual run of that tag share github.ref: one concurrency group per version."""
    release = load(RELEASE)
    assert release["on"]["push"] == {"tags": ["rust-v*"]}
    assert release["on"]["workflow_dispatch"] is None, "no inputs: the version is the tag the run is on"
    assert release["concurrency"] == {"group": "release-${{ github.ref }}", "cancel-in-progress": False}
    (plan_step,) = [s for s in jobs(RELEASE)["plan"]["steps"] if s.get("id") == "plan"]
    assert plan_step["run"] == 'codex-release plan --github-ref "$GITHUB_REF" --github-output "$GITHUB_OUTPUT"'


_PIN = pinned_runtime()
_NEXT = f"{_PIN.semver.split('.')[0]}.{int(_PIN.semver.split('.')[1]) + 1}.0"


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("refs/heads/main", "release runs only on a release tag, not 'refs/heads/main'"),
        (f"refs/tags/v{_PIN.semver}", f"tag 'v{_PIN.semver}' is not spelled as the Codex release tag {_PIN.tag}"),
        (f"refs/tags/{_PIN.semver}", f"tag '{_PIN.semver}' is not spelled as the Codex release tag {_PIN.tag}"),
        ("refs/tags/rust-v0.169", "malformed Codex release tag 'rust-v0.169'"),
        # a tag pushed before `bump` moved the pin
        (f"refs/tags/rust-v{_NEXT}", f"tag rust-v{_NEXT} is not the pinned runtime {_PIN.pep440}"),
    ],
)
def test_plan_refuses_a_run_that_is_not_on_the_pinned_release_tag(ref: str, message: str, tmp_path: Path) -> None:
    output = tmp_path / "github_output"
    result = CliRunner().invoke(main, ["plan", "--github-ref", ref, "--github-output", str(output)])
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"Error: {message}"), line
    assert not output.exists()
    control = CliRunner().invoke(main, ["plan", "--github-ref", f"refs/tags/{_PIN.tag}"])
    assert control.exit_code == 0, control.output
    assert f"version={_PIN.pep440}" in control.output.splitlines()


def test_every_upload_can_be_rerun() -> None:
    """Artifact names are per run, not per attempt: a re-run's upload needs overwrite (contents reproducible)."""
    uploads = [s for path in ALL_WORKFLOWS for _, s in steps(path) if "upload-artifact@" in str(s.get("uses", ""))]
    assert uploads
    for step in uploads:
        assert step["with"].get("overwrite") is True, step["with"]["name"]


def test_release_matrix_is_the_cli_target_table(tmp_path: Path) -> None:
    release_jobs = jobs(RELEASE)
    plan = release_jobs["plan"]
    assert plan["outputs"]["matrix"] == "${{ steps.plan.outputs.matrix }}"
    (plan_step,) = [s for s in plan["steps"] if s.get("id") == "plan"]
    assert plan_step["run"].startswith("codex-release plan --github-ref ")
    fanned = {name for name, job in release_jobs.items() if "strategy" in job}
    assert fanned == {"runtime-wheels", "smoke"}
    for name in fanned:
        assert release_jobs[name]["strategy"]["matrix"] == MATRIX_EXPRESSION
    assert release_jobs["smoke"]["runs-on"] == "${{ matrix.runner }}"

    output = tmp_path / "github_output"
    runner = CliRunner()
    pinned = pinned_runtime()  # plan refuses any other tag
    planned = runner.invoke(main, ["plan", "--codex-version", pinned.tag, "--github-output", str(output)])
    assert planned.exit_code == 0, planned.output
    values = dict(line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines())
    assert values["version"] == pinned.pep440
    assert values["tag"] == pinned.tag
    table = runner.invoke(main, ["matrix", "--json"])
    assert json.loads(values["matrix"]) == json.loads(table.output)
    assert [row["triple"] for row in json.loads(values["matrix"])["include"]] == [t.triple for t in TARGETS]


def test_no_target_or_runner_is_written_in_the_workflows() -> None:
    release = RELEASE.read_text(encoding="utf-8")
    for target in TARGETS:
        for text in (release, CI.read_text(encoding="utf-8")):
            assert target.triple not in text
            assert target.npm_suffix not in text
        if target.runner != FIXED_RUNNERS["linux"]:  # also the plain Linux runner of the non-matrix jobs
            assert re.search(rf"(?<![\w.-]){re.escape(target.runner)}(?![\w.-])", release) is None, target.runner


# ------------------------------------------------------------------------------------------ runners
def _runs_on_labels(path: Path) -> list[tuple[str, str, bool]]:
    """(job, label, from_target_table) for every runner a workflow can ask for, matrix entries expanded."""
    labels: list[tuple[str, str, bool]] = []
    for name, job in jobs(path).items():
        runs_on = job["runs-on"]
        assert isinstance(runs_on, str), f"{name}: one runner label, not {runs_on!r}"
        if runs_on == "${{ matrix.runner }}":
            matrix = job["strategy"]["matrix"]
            if matrix == MATRIX_EXPRESSION:  # the target table, through `codex-release plan`
                labels.extend((name, target.runner, True) for target in TARGETS)
            else:
                labels.extend((name, entry["runner"], False) for entry in matrix["include"])
        else:
            assert "${{" not in runs_on, f"{name}: runs-on {runs_on} is not one the tests can check"
            labels.append((name, runs_on, False))
    return labels


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_every_runner_label_is_a_current_github_hosted_image(path: Path) -> None:
    labels = _runs_on_labels(path)
    assert labels
    for job, label, _ in labels:
        assert label in GITHUB_HOSTED_RUNNERS, (
            f"{path.name} job {job}: {label} is not a current GitHub-hosted runner "
            f"(table checked {RUNNERS_CHECKED}): use a current image"
        )


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_runner_labels_written_in_a_workflow_are_the_fixed_runners(path: Path) -> None:
    """A label is either the target table's (release matrix) or one of FIXED_RUNNERS, never a third source."""
    for job, label, from_targets in _runs_on_labels(path):
        if not from_targets:
            assert label in FIXED_RUNNERS.values(), f"{path.name} job {job}: {label} is not in FIXED_RUNNERS"


def test_each_target_smokes_on_a_runner_of_its_own_os_and_cpu() -> None:
    for target in TARGETS:
        assert GITHUB_HOSTED_RUNNERS.get(target.runner) == (target.os, target.arch), target.triple
    for role, label in FIXED_RUNNERS.items():
        assert GITHUB_HOSTED_RUNNERS[label][0] == role, label


def test_the_hosted_runner_table_is_dated_and_holds_no_retired_image() -> None:
    assert re.fullmatch(r"20\d\d-[01]\d-[0-3]\d", RUNNERS_CHECKED)
    retired = {"macos-11", "macos-12", "macos-13", "macos-14", "ubuntu-18.04", "ubuntu-20.04", "windows-2019"}
    assert not retired & set(GITHUB_HOSTED_RUNNERS)
    assert {"ubuntu-24.04", "ubuntu-24.04-arm", "macos-15", "macos-15-intel", "windows-2022", "windows-11-arm"} <= set(
        GITHUB_HOSTED_RUNNERS
    )


def _python(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_ci_runs_the_sdk_real_runtime_tests_on_macos_with_and_without_waitid_and_on_windows() -> None:
    job = jobs(CI)["sdk-native"]
    entries = {(entry["runner"], entry["python-version"]) for entry in job["strategy"]["matrix"]["include"]}
    macos = {python for runner, python in entries if GITHUB_HOSTED_RUNNERS[runner][0] == "macos"}
    windows = {python for runner, python in entries if GITHUB_HOSTED_RUNNERS[runner][0] == "windows"}
    assert any(_python(p) < (3, 13) for p in macos), "a macOS job on CPython < 3.13 (no os.waitid there)"
    assert any(_python(p) >= (3, 13) for p in macos), "a macOS job on CPython >= 3.13 (os.waitid)"
    assert windows
    assert [s.get("run") for s in job["steps"]][-1] == "python -m pytest tests/sdk -m runtime"


# -------------------------------------------------------------------------------- outputs off the checkout
def test_release_jobs_that_run_the_toolkit_keep_artifacts_under_runner_temp() -> None:
    """The toolkit refuses destinations inside the checkout: what it reads or writes lives in $RUNNER_TEMP."""
    for name, job in jobs(RELEASE).items():
        runs_toolkit = any("codex-release " in step.get("run", "") for step in job["steps"])
        for step in job["steps"]:
            uses = str(step.get("uses", ""))
            if uses.startswith(("actions/upload-artifact@", "actions/download-artifact@")) and runs_toolkit:
                assert str(step["with"]["path"]).startswith("${{ runner.temp }}/"), f"{name}: {step}"


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
    assert '--dist-dir "$RUNNER_TEMP/dist"' in wait


def test_verify_records_the_release_and_the_index_is_checked_after_publishing() -> None:
    release_jobs = jobs(RELEASE)
    verify = release_jobs["verify"]
    (step,) = [s["run"] for s in verify["steps"] if "run" in s and "codex-release verify " in s["run"]]
    for option in ("--write-checksums", '--summary "$GITHUB_STEP_SUMMARY"', "--max-file-size project"):
        assert option in step
    (record,) = [s["with"] for s in verify["steps"] if s.get("with", {}).get("name") == "release-record"]
    assert sorted(Path(line.strip()).name for line in record["path"].splitlines() if line.strip()) == [
        "SHA256SUMS",
        "manifest.json",
    ]
    check = release_jobs["index-check"]
    assert "publish-sdk" in needs(check)
    assert check["permissions"] == {"contents": "read"}
    downloads = [s["with"] for s in check["steps"] if str(s.get("uses", "")).startswith("actions/download-artifact")]
    assert downloads == [{"name": "release-record", "path": "${{ runner.temp }}/record"}]
    (run,) = [s["run"] for s in check["steps"] if "run" in s and "verify-index" in s["run"]]
    assert '--codex-version "$VERSION" --dist-dir "$RUNNER_TEMP/record"' in run
    assert run.endswith(" --timeout 600"), "retry while the index catches up, for a bounded time"


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
        attests = any(str(step.get("uses", "")).startswith(ATTEST_ACTION) for step in job.get("steps", []))
        if name in publishers:
            assert permissions == {"id-token": "write"}
            assert job["environment"]["name"] == "pypi"
        elif attests:
            assert permissions == {"contents": "read", "id-token": "write", "attestations": "write"}, name
        else:
            assert permissions == {"contents": "read"}, name


def test_the_jobs_that_build_artifacts_attest_them_and_no_other_job_does() -> None:
    attesting = {
        name
        for name, job in jobs(RELEASE).items()
        if any(str(step.get("uses", "")).startswith(ATTEST_ACTION) for step in job.get("steps", []))
    }
    assert attesting == {"runtime-wheels", "sdk"}
    for name in attesting:
        steps_ = jobs(RELEASE)[name]["steps"]
        uses = [str(step.get("uses", "")).split("@")[0] for step in steps_]
        assert uses.index(ATTEST_ACTION) < uses.index("actions/upload-artifact"), "attest what is uploaded"
        attest = steps_[uses.index(ATTEST_ACTION)]
        upload = steps_[uses.index("actions/upload-artifact")]
        assert attest["with"]["subject-path"] == upload["with"]["path"], name
    ci = load(CI)
    assert ci["permissions"] == {"contents": "read"}
    assert "id-token" not in CI.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------- supply chain
def test_every_uses_of_every_workflow_is_a_row_of_the_actions_table() -> None:
    """The table is the one claim about other repositories; Dependabot's pull requests must update it."""
    assert sorted(p.name for p in WORKFLOWS.iterdir()) == sorted(p.name for p in ALL_WORKFLOWS)
    assert pin_faults(ALL_WORKFLOWS) == []
    used = {ref for path in ALL_WORKFLOWS for _, ref, _ in uses_lines(path.read_text(encoding="utf-8"))}
    assert used == {row.uses for row in ACTIONS}, "a row no workflow uses is a claim nobody checks: remove it"


def test_the_actions_table_is_full_shas_tags_dates_and_sources() -> None:
    assert len({row.action for row in ACTIONS}) == len(ACTIONS), "one release per action"
    for row in ACTIONS:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+(/[\w./-]+)?", row.action), row
        assert re.fullmatch(r"[0-9a-f]{40}", row.sha), row
        assert re.fullmatch(r"v\d+\.\d+\.\d+", row.tag), row
        assert re.fullmatch(r"20\d\d-\d\d-\d\d", row.checked), row
        assert row.source.strip(), row


PINNED_CHECKOUT = next(row for row in ACTIONS if row.action == "actions/checkout")


@pytest.mark.parametrize(
    ("line", "fault"),
    [
        # the first release's failure: a SHA that no commit of the action has (one digit off here)
        (
            f"actions/checkout@{PINNED_CHECKOUT.sha[:-1]}0 # {PINNED_CHECKOUT.tag}",
            f"actions/checkout@{PINNED_CHECKOUT.sha[:-1]}0 is not in the actions table "
            f"(the table has {PINNED_CHECKOUT.uses} # {PINNED_CHECKOUT.tag})",
        ),
        ("actions/checkout@v6", "actions/checkout@v6 is not in the actions table"),
        (
            f"{PINNED_CHECKOUT.uses} # v0.0.1",
            f"must carry the comment '# {PINNED_CHECKOUT.tag}' (its row's tag), not 'v0.0.1'",
        ),
        (f"{PINNED_CHECKOUT.uses}", f"must carry the comment '# {PINNED_CHECKOUT.tag}' (its row's tag), not ''"),
        ("someone/else@" + "a" * 40 + " # v1.0.0", "someone/else@" + "a" * 40 + " is not in the actions table"),
        ("./.github/actions/local", "./.github/actions/local is not in the actions table"),
    ],
)
def test_a_uses_that_is_not_its_row_is_refused(tmp_path: Path, line: str, fault: str) -> None:
    workflow = tmp_path / "w.yml"
    good = f"      - uses: {PINNED_CHECKOUT.uses} # {PINNED_CHECKOUT.tag}\n"
    workflow.write_text(f"jobs:\n  a:\n    steps:\n{good}      - uses: {line}\n", encoding="utf-8")
    (found,) = pin_faults([workflow])
    assert found.startswith("w.yml:5: ")
    assert fault in found
    assert "codex_release/core/workflow_actions.py" in found or "its row's tag" in found
    control = tmp_path / "control.yml"
    control.write_text(f"jobs:\n  a:\n    steps:\n{good}", encoding="utf-8")
    assert pin_faults([control]) == []
    other = PinnedAction("actions/checkout", "v6.0.2", "d" * 40, "2026-01-01", "a test")
    assert pin_faults([control], [other]) != [], "the table decides, not the workflow"


def test_one_sha_per_action_across_the_workflows() -> None:
    pins: dict[str, set[str]] = {}
    for path in ALL_WORKFLOWS:
        for _, step in steps(path):
            if "uses" in step:
                action, sha = str(step["uses"]).split("@")
                pins.setdefault(action, set()).add(sha)
    assert all(len(shas) == 1 for shas in pins.values()), pins


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_checkouts_do_not_persist_credentials(path: Path) -> None:
    checkouts = [s for _, s in steps(path) if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert checkouts
    assert all(s["with"]["persist-credentials"] is False for s in checkouts)


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_no_expression_is_expanded_inside_a_script(path: Path) -> None:
    for job, step in steps(path):
        assert "${{" not in step.get("run", ""), f"{job}: pass values through env:, not into the script"
        assert "secrets." not in json.dumps(step), f"{job} handles a secret"


# ------------------------------------------------------------------------------ every step is the CLI
LOCKED_INSTALLS = (
    "python -m pip install --require-hashes -r requirements/release.txt && python -m pip install --no-deps -e .",
    "python -m pip install --require-hashes -r requirements/dev.txt",
    "python -m pip install --no-deps -e . -e sdk",
)
APT_INSTALL = "sudo apt-get update && sudo apt-get install -y --no-install-recommends"
TEST_RUNNER = "python -m pytest tests/"


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
        is_test_runner = line.startswith(TEST_RUNNER) and "&" not in line and ";" not in line
        is_setup = line in LOCKED_INSTALLS or (line.startswith(APT_INSTALL) and "&" not in line[len(APT_INSTALL) :])
        assert is_cli or is_make or is_test_runner or is_setup, f"{job}: {line}"


def test_every_pip_install_takes_its_dependencies_from_a_hash_locked_file() -> None:
    installs = [line for _, line in _command_lines() if "pip install" in line]
    assert installs
    for line in installs:
        for command in line.split("&&"):
            words = command.split()
            assert "--require-hashes" in words or "--no-deps" in words, f"unlocked install: {line}"


ENV_VALUES = {
    "GITHUB_REF": "refs/tags/rust-v0.169.0",
    "VERSION": "0.169.0",
    "TRIPLE": TARGETS[0].triple,
    "GITHUB_OUTPUT": "github_output",
    "GITHUB_STEP_SUMMARY": "github_step_summary",
    "RUNNER_TEMP": "runner-temp",
}


def test_every_cli_call_in_the_workflows_parses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each codex-release invocation names a real command, with options and values it accepts."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runner-temp" / "dist").mkdir(parents=True)
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
