"""sdk/README.md: every Python block compiles, and the quickstart runs as written against the real runtime
(installed the way the runtime wheel lays it out) and the fake model configured through CODEX_HOME."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codex_release.checks.fake_responses import FakeResponsesServer, ShellCall, Text
from tests.sdk.scripts import run_python

README = Path(__file__).resolve().parents[2] / "sdk" / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_python_blocks_compile() -> None:
    blocks = python_blocks()
    assert len(blocks) >= 4
    for index, block in enumerate(blocks):
        compile(block, f"README.md block {index}", "exec")


@pytest.mark.runtime
@pytest.mark.parametrize("block", [0, 1], ids=["sync quickstart", "async quickstart"])
def test_quickstart_runs_as_written(
    block: int, bundled_runtime_site: Path, fake_model: FakeResponsesServer, codex_home: Path, workdir: Path
) -> None:
    fake_model.default_reply = Text("This directory holds one tidy project.", deltas=3)
    # codex reads its provider from CODEX_HOME/config.toml: the quickstart itself needs no configuration
    (codex_home / "config.toml").write_text("\n".join(fake_model.config_overrides()) + "\n", encoding="utf-8")
    stdout = run_python(
        "-c",
        python_blocks()[block],
        cwd=workdir,
        env={"CODEX_HOME": str(codex_home), "PYTHONPATH": str(bundled_runtime_site)},
        unset=["OPENAI_CODEX_BIN"],
    )
    assert stdout == "This directory holds one tidy project.\n"
    assert "Describe this directory" in str(fake_model.model_requests[0].body["input"])


def _block_with(marker: str) -> str:
    [block] = [block for block in python_blocks() if marker in block]
    return block


@pytest.mark.runtime
@pytest.mark.parametrize("marker", ["hooks=Hooks(", "codex.events()"], ids=["tool hooks", "every event"])
def test_hooks_and_events_snippets_run_as_written(
    marker: str, bundled_runtime_site: Path, fake_model: FakeResponsesServer, codex_home: Path, workdir: Path
) -> None:
    patches = [
        ShellCall(f"apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: {name}\n+x\n*** End Patch\nEOF\n")
        for name in ("notes.txt", ".env")
    ]
    fake_model.enqueue(ShellCall("echo hooked > note.txt"), *patches, Text("Printed it."))
    (codex_home / "config.toml").write_text("\n".join(fake_model.config_overrides()) + "\n", encoding="utf-8")
    stdout = run_python(
        "-c",
        _block_with(marker),
        cwd=workdir,
        env={"CODEX_HOME": str(codex_home), "PYTHONPATH": str(bundled_runtime_site)},
        unset=["OPENAI_CODEX_BIN"],
    )
    if marker == "hooks=Hooks(":
        [ran] = [line for line in stdout.splitlines() if line.startswith("ran:")]
        assert "echo hooked > note.txt" in ran
        assert ran.endswith("-> 0")
        assert stdout.endswith("Printed it.\n")
        assert (workdir / "note.txt").exists()
        assert (workdir / "notes.txt").exists()  # protect allowed it
        assert not (workdir / ".env").exists()  # protect denied it
    else:
        assert "event: thread/name/updated" in stdout
        assert "Notification(method='thread/name/updated'" in stdout
        assert "dropped: 0" in stdout


@pytest.mark.runtime
def test_goal_run_snippet_runs_as_written(
    bundled_runtime_site: Path, fake_model: FakeResponsesServer, codex_home: Path, workdir: Path
) -> None:
    from codex_release.checks.fake_responses import ToolCall

    (block,) = [b for b in python_blocks() if "run_goal(" in b]
    fake_model.enqueue(Text("Fixed one test."), ToolCall("update_goal", {"status": "complete"}), Text("All pass."))
    (codex_home / "config.toml").write_text("\n".join(fake_model.config_overrides()) + "\n", encoding="utf-8")
    stdout = run_python(
        "-c",
        block,
        cwd=workdir,
        env={"CODEX_HOME": str(codex_home), "PYTHONPATH": str(bundled_runtime_site)},
        unset=["OPENAI_CODEX_BIN"],
    )
    assert stdout == "complete 2 All pass.\n"
