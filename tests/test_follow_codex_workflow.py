"""``follow-codex.yml``: a daily bump, tests before the pull request, least privilege, pinned actions.

The two scripts that talk to GitHub run here for real, with a stand-in ``gh`` on PATH and git's
``url.<base>.insteadOf`` pointing the push at a local bare repository: an open pull request of the same
version stops the run, the push never overwrites a commit it did not see, and CI is started on the branch.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from codex_release.cli import main
from tests.test_workflows import WORKFLOWS, load

FOLLOW = WORKFLOWS / "follow-codex.yml"
CHANGED = "steps.bump.outputs.changed == 'true'"
NOT_CURRENT = f"{CHANGED} && steps.open.outputs.current == 'false'"


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
    assert job()["permissions"] == {"contents": "write", "pull-requests": "write", "actions": "write"}
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
    open_index = names.index("open")
    assert bump_index < open_index < test_index
    assert steps[open_index].get("if") == CHANGED
    for step in steps[open_index + 1 :]:
        assert step.get("if") == NOT_CURRENT, f"{step.get('name')}: only when the pin moved past the open PR"
    pr = steps[pr_index]
    assert "--force-with-lease=" in pr["run"]
    assert "--force " not in pr["run"]
    assert pr["run"].rstrip().endswith('gh workflow run ci.yml --ref "$BRANCH"')
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


# ----------------------------------------------------------------- the GitHub-facing scripts, run here
_FAKE_GH = """\
import json, os, sys
from pathlib import Path

state = Path(os.environ["FAKE_GH_STATE"])
with open(state / "calls.log", "a", encoding="utf-8") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
args = sys.argv[1:]
title = (state / "title").read_text() if (state / "title").is_file() else ""
if args[:2] == ["pr", "list"]:
    field = args[args.index("--json") + 1]
    print(title if field == "title" else ("7" if title else ""))
elif args[:1] == ["api"]:
    head = os.environ.get("FAKE_GH_HEAD", "")
    if not head:
        print("gh: Not Found (HTTP 404)", file=sys.stderr)
        sys.exit(1)
    print(head)
elif args[:2] in (["pr", "create"], ["pr", "edit"]):
    (state / "title").write_text(args[args.index("--title") + 1])
"""


def _git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout.strip()


def _bump_the_tree(work: Path) -> None:
    """What `bump` leaves uncommitted: a moved pin and regenerated types."""
    (work / "sdk" / "pyproject.toml").write_text('version = "2"\n', encoding="utf-8")
    generated = work / "sdk" / "src" / "openai_codex" / "generated"
    generated.mkdir(parents=True, exist_ok=True)
    (generated / "v2.py").write_text("X = 2\n", encoding="utf-8")


@pytest.fixture
def github(tmp_path: Path) -> dict[str, Any]:
    """A checkout with a bump in its tree, a bare 'origin' the push lands in, and a stand-in gh."""
    origin = tmp_path / "origin.git"
    _git("init", "--quiet", "--bare", str(origin), cwd=tmp_path)
    work = tmp_path / "work"
    (work / "sdk" / "src" / "openai_codex" / "generated").mkdir(parents=True)
    (work / "sdk" / "pyproject.toml").write_text('version = "1"\n', encoding="utf-8")
    _git("init", "--quiet", "-b", "main", cwd=work)
    identity = ["-c", "user.name=t", "-c", "user.email=t@localhost"]
    _git("add", "-A", cwd=work)
    _git(*identity, "commit", "--quiet", "-m", "base", cwd=work)
    _bump_the_tree(work)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    state = tmp_path / "gh-state"
    state.mkdir()
    (bin_dir / "gh").write_text(f"#!{sys.executable}\n{_FAKE_GH}", encoding="utf-8")
    (bin_dir / "gh").chmod(0o755)
    (tmp_path / "temp").mkdir()
    (tmp_path / "temp" / "follow-codex.md").write_text("changes\n", encoding="utf-8")
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "FAKE_GH_STATE": str(state),
        "GH_TOKEN": "token",
        "GITHUB_REPOSITORY": "owner/repo",
        "RUNNER_TEMP": str(tmp_path / "temp"),
        "BRANCH": "follow-codex",
        "VERSION": "0.171.0",
        "BASE": "main",
        # the push's URL names github.com; git rewrites it to the local bare repository
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.{origin}.insteadOf",
        "GIT_CONFIG_VALUE_0": "https://x-access-token:token@github.com/owner/repo.git",
    }
    return {"work": work, "origin": origin, "state": state, "env": env, "tmp": tmp_path}


def _step_script(step_id_or_name: str) -> str:
    (step,) = [s for s in job()["steps"] if step_id_or_name in (s.get("id"), s.get("name"))]
    return str(step["run"])


def _run_step(
    script: str, github: dict[str, Any], **extra: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    output = github["tmp"] / "github_output"
    output.write_text("", encoding="utf-8")
    env = {**github["env"], **extra, "GITHUB_OUTPUT": str(output)}
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=github["work"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    pairs = dict(line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines() if "=" in line)
    return done, pairs


PUSH = "Push the branch, open or update the pull request, start CI on it"


def _calls(github: dict[str, Any]) -> list[list[str]]:
    import json

    log = github["state"] / "calls.log"
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.is_file() else []


def test_a_new_version_is_pushed_as_a_new_branch_with_a_pull_request_and_ci_started(github: dict[str, Any]) -> None:
    done, outputs = _run_step(_step_script("open"), github)
    assert done.returncode == 0, done.stderr
    assert outputs == {"head": "", "current": "false"}
    done, _ = _run_step(_step_script(PUSH), github, LEASE=outputs["head"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert _git("log", "-1", "--format=%s", "follow-codex", cwd=github["origin"]).startswith("Follow Codex 0.171.0")
    calls = _calls(github)
    assert calls[-2][:8] == [
        "pr",
        "create",
        "--base",
        "main",
        "--head",
        "follow-codex",
        "--title",
        "Follow Codex 0.171.0",
    ]
    assert calls[-1] == ["workflow", "run", "ci.yml", "--ref", "follow-codex"]


def test_an_open_pull_request_of_the_same_version_stops_the_run(github: dict[str, Any]) -> None:
    (github["state"] / "title").write_text("Follow Codex 0.171.0", encoding="utf-8")
    done, outputs = _run_step(_step_script("open"), github, FAKE_GH_HEAD="a" * 40)
    assert done.returncode == 0, done.stderr
    assert outputs == {"head": "a" * 40, "current": "true"}
    assert "already carries Codex 0.171.0" in done.stdout
    # control: an open pull request of an older version is updated, not skipped
    (github["state"] / "title").write_text("Follow Codex 0.170.0", encoding="utf-8")
    _, outputs = _run_step(_step_script("open"), github, FAKE_GH_HEAD="a" * 40)
    assert outputs["current"] == "false"


def test_the_push_never_overwrites_a_commit_it_did_not_see(github: dict[str, Any]) -> None:
    # someone pushed to the branch after the run looked (the run saw no branch at all)
    _git("push", "--quiet", str(github["origin"]), "HEAD:refs/heads/follow-codex", cwd=github["work"])
    theirs = _git("rev-parse", "follow-codex", cwd=github["origin"])
    done, _ = _run_step(_step_script(PUSH), github, LEASE="")
    assert done.returncode != 0
    assert "stale info" in done.stderr or "rejected" in done.stderr
    assert _git("rev-parse", "follow-codex", cwd=github["origin"]) == theirs
    assert not any(call[:2] == ["workflow", "run"] for call in _calls(github))
    # control: with the head it saw as the lease, the update goes through and the open PR is edited
    (github["state"] / "title").write_text("Follow Codex 0.170.0", encoding="utf-8")
    _git("checkout", "--quiet", "main", cwd=github["work"])
    _bump_the_tree(github["work"])
    done, _ = _run_step(_step_script(PUSH), github, LEASE=theirs)
    assert done.returncode == 0, done.stderr
    assert _git("rev-parse", "follow-codex", cwd=github["origin"]) != theirs
    assert any(call[:2] == ["pr", "edit"] for call in _calls(github))
