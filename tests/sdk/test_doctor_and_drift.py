"""``python -m openai_codex doctor`` and the runtime drift warning."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from codex_release.checks.fake_responses import FakeResponsesServer
from openai_codex import AsyncCodex, Codex, CodexConfig, IncompatibleRuntimeError, RuntimeDriftWarning
from openai_codex.generated import CODEX_VERSION

MakeConfig = Callable[..., CodexConfig]


def _doctor(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openai_codex", "doctor", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
        check=False,
    )


@pytest.mark.runtime
def test_doctor_reports_a_working_runtime(
    real_codex_bin: Path, fake_model: FakeResponsesServer, codex_home: Path
) -> None:
    env = {
        "OPENAI_CODEX_BIN": str(real_codex_bin),
        "OPENAI_CODEX_CONFIG": json.dumps(fake_model.config_overrides()),
        "CODEX_HOME": str(codex_home),
    }
    done = _doctor("--json", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True
    assert report["runtime_path"] == str(real_codex_bin)
    assert report["runtime_version"] == CODEX_VERSION
    assert report["runtime_is_pinned"] is True
    assert report["runtime_sha256"] == hashlib.sha256(real_codex_bin.read_bytes()).hexdigest()
    assert report["codex_home"] == str(codex_home)
    assert report["auth"]["signed_in"] is False  # reported, not an error
    assert 0 < report["initialize_ms"] < 60_000
    text = _doctor(env=env)
    assert text.returncode == 0
    assert "status           ok" in text.stdout
    assert "not signed in" in text.stdout


def test_doctor_fails_when_the_runtime_is_missing(tmp_path: Path) -> None:
    done = _doctor("--json", env={"OPENAI_CODEX_BIN": str(tmp_path / "missing-codex")})
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert "missing-codex" in report["error"]


def test_doctor_fails_when_initialize_fails(fake_app_server: MakeConfig) -> None:
    launcher = fake_app_server("exit_on_start").codex_bin
    done = _doctor(env={"OPENAI_CODEX_BIN": str(launcher), "FAKE_SCENARIO": "exit_on_start"})
    assert done.returncode == 1
    assert "FAILED" in done.stdout
    assert "exited during start-up" in done.stdout


def test_a_runtime_other_than_the_pinned_one_warns_once(fake_app_server: MakeConfig) -> None:
    config = fake_app_server(fake_version="0.170.1")
    with pytest.warns(RuntimeDriftWarning, match=rf"codex 0\.170\.1, but this SDK was built for codex {CODEX_VERSION}"):
        Codex(config).close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Codex(config).close()  # once per runtime


async def test_drift_warning_async(fake_app_server: MakeConfig) -> None:
    major, minor, patch = CODEX_VERSION.split(".")
    newer = f"{major}.{minor}.{int(patch) + 1}"  # newer than the pin, whatever the pin is
    codex = AsyncCodex(fake_app_server(fake_version=newer))
    with pytest.warns(RuntimeDriftWarning, match=re.escape(f"codex {newer}, but")):
        await codex.start()
    await codex.close()


@pytest.mark.runtime
def test_the_pinned_runtime_does_not_warn(real_config: CodexConfig) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeDriftWarning)
        Codex(real_config).close()


def test_a_runtime_too_old_still_raises(fake_app_server: MakeConfig) -> None:
    with pytest.raises(IncompatibleRuntimeError):
        Codex(fake_app_server(fake_version="0.100.0"))
