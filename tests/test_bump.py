"""``bump``: choosing the release, comparing protocols, moving the pin (fake npm and the real runtimes)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from codex_release.core.targets import TARGETS
from codex_release.core.versions import CodexVersion, parse_codex_version
from codex_release.errors import InputRefused
from codex_release.steps.bump import Delta, diff_protocol, latest_complete_release, rewrite_pins
from tests import fake_npm as npm_registry

REPO = Path(__file__).resolve().parent.parent
SUFFIXES = [t.npm_suffix for t in TARGETS]


def complete(version: str) -> list[str]:
    return [version, *(f"{version}-{suffix}" for suffix in SUFFIXES)]


# ------------------------------------------------------------------------------------ which release
def test_latest_is_the_newest_stable_release_with_every_platform_package() -> None:
    versions = [
        *complete("0.9.0"),
        *complete("0.10.0"),  # numerically newer than 0.9.0 (not a string comparison)
        *complete("0.11.0-alpha.2"),  # a pre-release is never "latest"
        *complete("0.11.0")[:-1],  # published without its last platform package: not out yet
        "0.12.0",  # the main package alone
        "not-a-version",
    ]
    assert latest_complete_release(versions) == parse_codex_version("0.10.0")


def test_no_complete_release_is_a_clear_error() -> None:
    with pytest.raises(InputRefused, match="no stable @openai/codex release"):
        latest_complete_release(["0.1.0", "0.1.0-linux-x64", "0.2.0-alpha.1"])


# ------------------------------------------------------------------------------------ the pyproject
PYPROJECT = """\
[project]
name = "openai-codex"
version = "0.163.0"  # the Codex version
dependencies = [
  "openai-codex-cli-bin==0.163.0",
  # pydantic floor: see the generated models
  "pydantic>=2.10,<3",
]
"""


def test_rewrite_pins_moves_pin_and_version_and_keeps_comments() -> None:
    text = rewrite_pins(PYPROJECT, parse_codex_version("rust-v0.169.0"), "pyproject.toml")
    assert text == PYPROJECT.replace("0.163.0", "0.169.0")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[project\n", "not valid TOML"),
        ("[tool.x]\n", r"no \[project\] dependencies"),
        ('[project]\ndependencies = ["pydantic"]\n', "exactly one openai-codex-cli-bin==X"),
    ],
)
def test_rewrite_pins_refuses_what_is_not_the_sdk_pyproject(text: str, message: str) -> None:
    with pytest.raises(InputRefused, match=message):
        rewrite_pins(text, parse_codex_version("0.169.0"), "pyproject.toml")


# ------------------------------------------------------------------------------------ what changed
def bundle(client: list[str], notifications: list[str], types: dict[str, Any]) -> dict[str, Any]:
    def envelope(methods: list[str]) -> dict[str, Any]:
        return {"oneOf": [{"properties": {"method": {"enum": [m]}}} for m in methods]}

    return {
        "definitions": {
            "ClientRequest": envelope(client),
            "ServerRequest": envelope(["item/tool/call"]),
            "ServerNotification": envelope(notifications),
            "ClientNotification": envelope(["initialized"]),
            **types,
            "v2": {},
        }
    }


def test_diff_protocol_names_methods_notifications_and_types() -> None:
    old = bundle(
        ["thread/start", "thread/old"],
        ["turn/completed"],
        {"Kept": {"type": "string"}, "Changed": {"type": "string"}, "Gone": {"type": "integer"}},
    )
    new = bundle(
        ["thread/start", "thread/goal/get"],
        ["turn/completed", "thread/goal/updated"],
        {"Kept": {"type": "string"}, "Changed": {"type": "integer"}, "Added": {"type": "boolean"}},
    )
    changes = diff_protocol(old, new, parse_codex_version("0.1.0"), parse_codex_version("0.2.0"))
    assert changes.client_requests == Delta(added=("thread/goal/get",), removed=("thread/old",))
    assert changes.notifications == Delta(added=("thread/goal/updated",))
    assert not changes.server_requests
    assert not changes.client_notifications
    assert changes.types == Delta(added=("Added",), removed=("Gone",))
    assert changes.types_changed == ("Changed",)
    text = changes.text()
    assert "client methods: 1 added, 1 removed" in text
    assert "    + thread/goal/get" in text
    assert "    ~ Changed" in text
    markdown = changes.markdown()
    assert markdown.startswith("## Codex 0.1.0 → 0.2.0")
    assert "| client methods | 1 | 1 |  |" in markdown
    assert "- **removed** `thread/old`" in markdown
    same = diff_protocol(old, old, parse_codex_version("0.1.0"), parse_codex_version("0.2.0"))
    assert not same
    assert "did not change" in same.markdown()


def test_diff_protocol_names_the_fields_and_enum_values_a_changed_type_gained_or_lost() -> None:
    """A renamed field, a new enum value and a field of one variant of a union: what the hand-written SDK
    may have to follow, so the summary names them; a change elsewhere (a description) is only marked."""
    old = bundle(
        ["thread/start"],
        ["turn/completed"],
        {
            "Renamed": {"properties": {"position": {"type": "integer"}, "name": {"type": "string"}}},
            "Choice": {"enum": ["a", "b"]},
            "Union": {"oneOf": [{"properties": {"type": {"enum": ["x"]}}}]},
            "Described": {"description": "old", "type": "string"},
        },
    )
    new = bundle(
        ["thread/start"],
        ["turn/completed"],
        {
            "Renamed": {"properties": {"rank": {"type": "integer"}, "name": {"type": "string"}}},
            "Choice": {"enum": ["a", "c"]},
            "Union": {"oneOf": [{"properties": {"type": {"enum": ["x"]}, "environmentId": {"type": "string"}}}]},
            "Described": {"description": "new", "type": "string"},
        },
    )
    changes = diff_protocol(old, new, parse_codex_version("0.1.0"), parse_codex_version("0.2.0"))
    assert changes.types_changed == ("Choice", "Described", "Renamed", "Union")
    assert dict(changes.fields_changed) == {
        "Choice": Delta(added=('"c"',), removed=('"b"',)),
        "Renamed": Delta(added=("rank",), removed=("position",)),
        "Union": Delta(added=("environmentId",)),
    }
    text = changes.text()
    assert "    ~ Renamed (+rank -position)" in text
    assert '    ~ Choice (+"c" -"b")' in text
    assert "    ~ Described\n" in text
    assert "- changed `Union`: +`environmentId`" in changes.markdown()


# ------------------------------------------------------------------------------------ the command
def fake_npm(bin_dir: Path, versions: list[str]) -> dict[str, str]:
    """The suite's fake ``npm`` first on PATH, listing ``versions`` for ``npm view @openai/codex versions``."""
    registry = bin_dir.parent / "registry"
    npm_registry.publish_versions(registry, versions)
    npm_registry.install(bin_dir, registry)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def run_bump(checkout: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**env, "PYTHONPATH": str(checkout / "packaging")}
    return subprocess.run(
        [sys.executable, "-m", "codex_release", "bump", *args],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def throwaway_clone(tmp_path: Path) -> Path:
    """A clone of this repository with the working tree's toolkit over it (so it tests the code as it is)."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(REPO), str(clone)], check=True, timeout=120)
    shutil.rmtree(clone / "packaging")
    shutil.copytree(REPO / "packaging", clone / "packaging", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO / "sdk" / "pyproject.toml", clone / "sdk" / "pyproject.toml")
    return clone


def sdk_state(checkout: Path) -> dict[str, bytes]:
    sdk = checkout / "sdk"
    files = [sdk / "pyproject.toml", *sorted((sdk / "src" / "openai_codex" / "generated").rglob("*.py"))]
    return {str(p.relative_to(checkout)): p.read_bytes() for p in files}


def test_latest_equal_to_the_pin_writes_nothing(
    throwaway_clone: Path, tmp_path: Path, pinned_version: CodexVersion
) -> None:
    env = fake_npm(tmp_path / "bin", [*complete(pinned_version.semver), *complete("0.1.0")])
    before = sdk_state(throwaway_clone)
    output = tmp_path / "github-output"
    done = run_bump(throwaway_clone, env, "--latest", "--github-output", str(output))
    assert done.returncode == 0, done.stderr
    assert f"already pins Codex {pinned_version}" in done.stdout
    assert output.read_text() == f"changed=false\nversion={pinned_version}\ntag={pinned_version.tag}\n"
    assert sdk_state(throwaway_clone) == before


def test_an_older_release_is_refused_unless_told(
    throwaway_clone: Path, tmp_path: Path, pinned_version: CodexVersion
) -> None:
    env = fake_npm(tmp_path / "bin", complete("0.1.0"))  # the newest complete release is older than the pin
    before = sdk_state(throwaway_clone)
    for args in (["--latest"], ["--codex-version", "rust-v0.1.0"]):
        done = run_bump(throwaway_clone, env, *args)
        assert done.returncode == 1, done
        assert done.stderr.strip() == (
            f"Error: Codex 0.1.0 is older than the pinned {pinned_version}: "
            "pass --allow-downgrade to move the pin back anyway"
        )
    assert sdk_state(throwaway_clone) == before


def test_bad_arguments_are_one_line_refusals(throwaway_clone: Path, tmp_path: Path) -> None:
    env = fake_npm(tmp_path / "bin", ["garbage"])
    for args, message in (
        ([], "pass either --codex-version V or --latest"),
        (["--latest", "--codex-version", "0.169.0"], "pass either --codex-version V or --latest"),
        (["--latest"], "no stable @openai/codex release has all 6 platform packages"),
        (["--codex-version", "banana"], "expected a Codex release tag"),
    ):
        done = run_bump(throwaway_clone, env, *args)
        assert done.returncode != 0
        assert message in done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.runtime
@pytest.mark.slow
def test_bump_from_a_real_older_release_reproduces_the_checked_in_sdk(
    throwaway_clone: Path, tmp_path: Path, pinned_version: CodexVersion
) -> None:
    """In a clone pinned back to 0.163.0, ``bump`` to the pin regenerates exactly what is checked in."""
    older = "0.163.0"
    expected = sdk_state(REPO)
    pyproject = throwaway_clone / "sdk" / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(pinned_version.pep440, older), encoding="utf-8")
    summary, output = tmp_path / "summary.md", tmp_path / "github-output"
    done = run_bump(
        throwaway_clone,
        dict(os.environ),
        "--codex-version",
        pinned_version.tag,
        "--summary",
        str(summary),
        "--github-output",
        str(output),
    )
    assert done.returncode == 0, done.stderr
    assert sdk_state(throwaway_clone) == expected  # pin, SDK version and every generated file
    assert f"moved the SDK from Codex {older} to {pinned_version}" in done.stdout
    assert f"protocol changes from Codex {older} to {pinned_version}:" in done.stdout
    assert "client methods: " in done.stdout
    body = summary.read_text(encoding="utf-8")
    assert body.startswith(f"## Codex {older} → {pinned_version}")
    assert "| client methods |" in body
    assert output.read_text() == f"changed=true\nversion={pinned_version}\ntag={pinned_version.tag}\n"
