"""Every file in sdk/examples/ runs as written, against the real runtime and the fake model.

The examples build their config with ``CodexConfig.from_env()``; the test sets ``OPENAI_CODEX_BIN``
(the pinned binary), ``OPENAI_CODEX_CONFIG`` (the fake model's overrides) and ``CODEX_HOME``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codex_release.checks.fake_responses import FakeResponsesServer, ShellCall, Text
from tests.sdk.scripts import run_python

pytestmark = pytest.mark.runtime

EXAMPLES = Path(__file__).resolve().parents[2] / "sdk" / "examples"

# example -> (replies the fake model gives, in order, then its default; text expected on stdout)
CASES: dict[str, tuple[list[object], str, list[str]]] = {
    "quickstart.py": ([], "A tidy little directory.", ["A tidy little directory.", "[completed;"]),
    "streaming.py": ([], "Pipes carry the stream", ["Pipes carry the stream", "[item completed: agentMessage]"]),
    "async_concurrent.py": ([], "Seven.", ["Name a prime number. -> Seven.", "Name a colour. -> Seven."]),
    "resume_thread.py": ([], "Plum.", ["resumed ", ": Plum."]),
    "approvals.py": (
        [ShellCall("ls"), ShellCall("rm -f biggest.bin")],
        "Listed; deletion was declined.",
        ["-c ls -> accept", "rm -f biggest.bin' -> decline", "Listed; deletion was declined."],
    ),
    "structured_output.py": ([], '{"language": "Python", "files": 12}', ["language=Python files=12"]),
    "retry_and_errors.py": ([], "Hi!", ["completed: Hi!"]),
}


def test_every_example_is_covered() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_example_runs(
    name: str, real_codex_bin: Path, fake_model: FakeResponsesServer, codex_home: Path, workdir: Path
) -> None:
    replies, default, expected = CASES[name]
    fake_model.enqueue(*replies)  # type: ignore[arg-type]
    fake_model.default_reply = Text(default, deltas=3)
    stdout = run_python(
        str(EXAMPLES / name),
        cwd=workdir,
        env={
            "OPENAI_CODEX_BIN": str(real_codex_bin),
            "OPENAI_CODEX_CONFIG": json.dumps(fake_model.config_overrides()),
            "CODEX_HOME": str(codex_home),
        },
    )
    for text in expected:
        assert text in stdout, stdout
