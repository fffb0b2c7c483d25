"""sdk/README.md: every Python block compiles, and the quickstart runs as written against the real runtime
(installed the way the runtime wheel lays it out) and the fake model configured through CODEX_HOME."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from codex_release.checks.fake_responses import FakeResponsesServer, Text

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
    env = {**os.environ, "CODEX_HOME": str(codex_home), "PYTHONPATH": str(bundled_runtime_site)}
    env.pop("OPENAI_CODEX_BIN", None)
    done = subprocess.run(
        [sys.executable, "-c", python_blocks()[block]],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "This directory holds one tidy project.\n"
    assert "Describe this directory" in str(fake_model.model_requests[0].body["input"])
