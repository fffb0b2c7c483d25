"""``follow-codex.yml``: a daily bump, tests before the pull request, least privilege, pinned actions."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

from codex_release.cli import main
from tests.test_workflows import WORKFLOWS, load

FOLLOW = WORKFLOWS / "follow-codex.yml"
CHANGED = "steps.bump.outputs.changed == 'true'"


def job() -> dict[str, Any]:
    jobs = load(FOLLOW)["jobs"]
    assert list(jobs) == ["bump"]
    return dict(jobs["bump"])


def test_runs_daily_and_by_hand() -> None:
    triggers = load(FOLLOW)["on"]
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    (entry,) = triggers["schedule"]
    minute, hour, *rest = entry["cron"].split()
    assert minute.isdigit()
    assert hour.isdigit()
    assert rest == ["*", "*", "*"], "once a day"


def test_write_permissions_only_in_the_bump_job() -> None:
    workflow = load(FOLLOW)
    assert workflow["permissions"] == {}
    assert job()["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert "id-token" not in FOLLOW.read_text(encoding="utf-8")


def test_actions_are_sha_pinned_and_checkout_keeps_no_credentials() -> None:
    uses = [step for step in job()["steps"] if "uses" in step]
    assert uses
    text = FOLLOW.read_text(encoding="utf-8")
    for step in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
        assert re.search(re.escape(step["uses"]) + r" # v\d", text), f"{step['uses']} has no version comment"
    checkout = next(step for step in uses if step["uses"].startswith("actions/checkout@"))
    assert checkout["with"]["persist-credentials"] is False


def test_bump_first_then_tests_then_the_pull_request_only_when_the_pin_moved() -> None:
    steps = job()["steps"]
    names = [step.get("id") or step.get("name") for step in steps]
    bump_index = names.index("bump")
    runs = [step.get("run", "") for step in steps]
    test_index = runs.index("make test")
    pr_index = next(i for i, run in enumerate(runs) if "gh pr create" in run)
    assert bump_index < test_index < pr_index
    for step in steps[bump_index + 1 :]:
        assert step.get("if") == CHANGED, f"{step.get('name')} must run only when the pin moved"
    pr = steps[pr_index]
    assert "gh pr edit" in pr["run"], "an open pull request is updated, not duplicated"
    assert "${{" not in pr["run"], "expressions reach the script only through env"


def test_the_bump_command_line_parses(tmp_path: Path) -> None:
    (step,) = [step for step in job()["steps"] if step.get("id") == "bump"]
    words = shlex.split(step["run"].replace("$RUNNER_TEMP", str(tmp_path)).replace("$GITHUB_OUTPUT", "out"))
    assert words[0] == ".venv/bin/codex-release"
    assert words[1:3] == ["bump", "--latest"]
    with main.make_context("codex-release", words[1:], resilient_parsing=False) as ctx:
        command = main.get_command(ctx, words[1])
        assert command is not None
        parsed = command.make_context("bump", words[2:], parent=ctx)
        assert parsed.params["latest"] is True
        assert parsed.params["github_output"] == Path("out")
        assert parsed.params["summary_file"] == tmp_path / "follow-codex.md"
