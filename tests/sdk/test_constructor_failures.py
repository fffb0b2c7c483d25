"""Every way start-up can fail names the cause and the fix, raises from the constructor (or the first
await), and leaves no process behind."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from codex_release.core.versions import CodexVersion
from openai_codex import (
    AsyncCodex,
    Codex,
    CodexConfig,
    CodexError,
    IncompatibleRuntimeError,
    RuntimeDriftWarning,
    RuntimeNotFoundError,
    TransportClosedError,
)
from openai_codex._runtime import MINIMUM_RUNTIME_VERSION
from openai_codex.generated import CODEX_VERSION
from tests.sdk.conftest import RUNTIME_SOURCE, process_alive

MakeConfig = Callable[..., CodexConfig]


def _no_runtime_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "codex_cli_bin", None)  # `import codex_cli_bin` raises ImportError


def test_runtime_package_not_installed(monkeypatch: pytest.MonkeyPatch, pinned_version: CodexVersion) -> None:
    _no_runtime_package(monkeypatch)
    with pytest.raises(RuntimeNotFoundError) as caught:
        Codex()
    message = str(caught.value)
    assert "'openai-codex-cli-bin' is not installed" in message
    assert f"pip install openai-codex-cli-bin=={pinned_version}" in message  # the SDK's version is the pin
    assert "codex_bin" in message


async def test_runtime_package_not_installed_async(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_runtime_package(monkeypatch)
    codex = AsyncCodex()  # lazy: nothing happens yet
    with pytest.raises(RuntimeNotFoundError, match="openai-codex-cli-bin"):
        await codex.thread_start()


def _use_runtime_site(monkeypatch: pytest.MonkeyPatch, site: Path) -> None:
    """Make ``import codex_cli_bin`` find the runtime package in ``site`` (and nowhere else)."""
    monkeypatch.delitem(sys.modules, "codex_cli_bin", raising=False)
    monkeypatch.syspath_prepend(str(site))


@pytest.mark.runtime
def test_bundled_runtime_is_used_with_its_helpers_on_path(
    monkeypatch: pytest.MonkeyPatch, bundled_runtime_site: Path, real_config: CodexConfig, pinned_version: CodexVersion
) -> None:
    _use_runtime_site(monkeypatch, bundled_runtime_site)
    import codex_cli_bin
    from openai_codex._runtime import launch_spec

    config = replace(real_config, codex_bin=None)
    argv, env = launch_spec(config)
    assert argv[:2] == [str(codex_cli_bin.bundled_codex_path()), "app-server"]
    assert env["PATH"].split(os.pathsep)[0] == str(codex_cli_bin.bundled_path_dir())
    assert env["CODEX_HOME"] == (real_config.env or {})["CODEX_HOME"]  # CodexConfig.env is merged in too
    with Codex(config) as codex:
        assert codex.runtime_version == codex_cli_bin.bundled_version() == str(pinned_version)
        assert codex.thread_start().run("Hi.").final_response is not None


def test_bundled_runtime_damaged(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    package = tmp_path / "site" / "codex_cli_bin"
    shutil.copytree(RUNTIME_SOURCE, package, ignore=shutil.ignore_patterns("__pycache__", "vendor"))
    (package / "vendor").mkdir()  # an install whose platform package is gone
    _use_runtime_site(monkeypatch, tmp_path / "site")
    with pytest.raises(RuntimeNotFoundError, match="bundled Codex runtime is not usable: no Codex platform package"):
        Codex()


def test_codex_bin_missing(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "codex"
    with pytest.raises(RuntimeNotFoundError, match="does not exist") as caught:
        Codex(CodexConfig(codex_bin=missing))
    assert str(missing) in str(caught.value)


def test_codex_bin_not_executable(tmp_path: Path) -> None:
    binary = tmp_path / "codex"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(stat.S_IRUSR | stat.S_IWUSR)
    with pytest.raises(RuntimeNotFoundError, match="is not executable") as caught:
        Codex(CodexConfig(codex_bin=binary))
    assert f"chmod +x {binary}" in str(caught.value)


def test_codex_bin_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(RuntimeNotFoundError, match="is a directory"):
        Codex(CodexConfig(codex_bin=tmp_path))


def test_codex_bin_not_a_program(tmp_path: Path) -> None:
    binary = tmp_path / "codex"
    binary.write_bytes(b"\x00\x01 not an executable format")
    binary.chmod(0o755)
    with pytest.raises(RuntimeNotFoundError, match="cannot run") as caught:
        Codex(CodexConfig(codex_bin=binary))
    assert str(binary) in str(caught.value)


def _pid(record: Path) -> int:
    return int(json.loads(record.read_text())["pid"])


def test_runtime_too_old(fake_app_server: MakeConfig, tmp_path: Path) -> None:
    record = tmp_path / "argv.json"
    with pytest.raises(IncompatibleRuntimeError) as caught:
        Codex(fake_app_server("", fake_version="0.100.0", fake_argv_file=str(record)))
    error = caught.value
    assert (error.found, error.required) == ("0.100.0", MINIMUM_RUNTIME_VERSION)
    assert "codex 0.100.0" in str(error)
    assert f"needs codex >= {MINIMUM_RUNTIME_VERSION}" in str(error)
    assert "pip install -U openai-codex-cli-bin" in str(error)
    assert not process_alive(_pid(record))


async def test_runtime_too_old_async(fake_app_server: MakeConfig, tmp_path: Path) -> None:
    record = tmp_path / "argv.json"
    with pytest.raises(IncompatibleRuntimeError, match=r"0\.100\.0"):
        async with AsyncCodex(fake_app_server("", fake_version="0.100.0", fake_argv_file=str(record))):
            pass
    assert not process_alive(_pid(record))


def test_newer_and_prerelease_runtimes_are_accepted(fake_app_server: MakeConfig) -> None:
    major, minor, _patch = CODEX_VERSION.split(".")
    for version in (f"{major}.{int(minor) + 1}.0", "1.0.0-alpha.3", MINIMUM_RUNTIME_VERSION):
        if version == CODEX_VERSION:
            continue  # the floor is the pin itself: no drift to warn about
        # Accepted, with a warning that this is not the runtime the SDK's types were generated from.
        with pytest.warns(RuntimeDriftWarning, match=re.escape(f"is codex {version}, but this SDK was built for")):
            codex = Codex(fake_app_server("", fake_version=version))
        with codex:
            assert codex.runtime_version == version
    with pytest.raises(IncompatibleRuntimeError, match=re.escape(f"{MINIMUM_RUNTIME_VERSION}-alpha.2")):
        Codex(fake_app_server("", fake_version=f"{MINIMUM_RUNTIME_VERSION}-alpha.2"))


def test_binary_without_app_server(fake_app_server: MakeConfig) -> None:
    with pytest.raises(IncompatibleRuntimeError) as caught:
        Codex(fake_app_server("unrecognized", fake_version="0.1.0"))
    message = str(caught.value)
    assert "codex 0.1.0" in message
    assert "does not support `codex app-server`" in message
    assert "unrecognized subcommand" in message
    assert caught.value.found == "0.1.0"


def test_binary_that_does_not_speak_the_protocol(fake_app_server: MakeConfig) -> None:
    with pytest.raises(IncompatibleRuntimeError, match="not the app-server protocol"):
        Codex(fake_app_server("not_app_server"))


def test_exit_during_startup(fake_app_server: MakeConfig) -> None:
    with pytest.raises(TransportClosedError) as caught:
        Codex(fake_app_server("exit_on_start"))
    error = caught.value
    assert error.returncode == 3
    assert "exited during start-up (exit code 3)" in str(error)
    assert "bad configuration value for model_provider" in str(error)
    assert "bad configuration value" in error.stderr_tail


async def test_exit_during_startup_async(fake_app_server: MakeConfig) -> None:
    with pytest.raises(TransportClosedError, match="exit code 3"):
        await AsyncCodex(fake_app_server("exit_on_start")).start()


def test_startup_timeout(fake_app_server: MakeConfig, tmp_path: Path) -> None:
    record = tmp_path / "argv.json"
    config = replace(fake_app_server("silent_initialize", fake_argv_file=str(record)), startup_timeout_s=0.5)
    with pytest.raises(TransportClosedError, match=r"did not answer initialize within 0.5s"):
        Codex(config)
    assert not process_alive(_pid(record))


@pytest.mark.runtime
def test_real_runtime_rejecting_its_configuration(real_config: CodexConfig) -> None:
    config = replace(real_config, config_overrides=[*real_config.config_overrides, 'sandbox_mode="bogus"'])
    with pytest.raises(TransportClosedError) as caught:
        Codex(config)
    assert caught.value.returncode == 1
    assert "unknown variant `bogus`" in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"config_overrides": 'model="o3"'}, TypeError, "not a single string"),
        ({"config_overrides": ["model"]}, ValueError, "not of the form 'key=value'"),
        ({"config_overrides": ["=x"]}, ValueError, "not of the form"),
        ({"approval_handler": "yes"}, ValueError, "not one of"),
        ({"approval_handler": 42}, TypeError, "decision string or a callable"),
        ({"env": {"A": 1}}, TypeError, "env values must be strings"),
        ({"startup_timeout_s": 0}, ValueError, "startup_timeout_s"),
        ({"max_in_flight_requests": 0}, ValueError, "max_in_flight_requests"),
    ],
)
def test_invalid_config_is_refused_before_starting(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        CodexConfig(**kwargs)  # type: ignore[arg-type]


def test_constructor_errors_are_codex_errors() -> None:
    for cls in (RuntimeNotFoundError, IncompatibleRuntimeError, TransportClosedError):
        assert issubclass(cls, CodexError)
    assert issubclass(RuntimeNotFoundError, FileNotFoundError)


async def test_a_failed_async_start_is_final_and_starts_nothing_again(
    fake_app_server: MakeConfig, tmp_path: Path
) -> None:
    """A lazy client whose start failed after the app-server was spawned raises that failure again on
    every later call, without spawning (and leaving behind) another app-server."""
    record = tmp_path / "argv.json"
    codex = AsyncCodex(fake_app_server("", fake_version="0.100.0", fake_argv_file=str(record)))
    with pytest.raises(IncompatibleRuntimeError, match=r"0\.100\.0"):
        await codex.start()
    first = _pid(record)
    record.unlink()
    for call in (codex.start, codex.models):
        with pytest.raises(IncompatibleRuntimeError, match=r"0\.100\.0"):
            await call()
    assert not record.exists()  # nothing was spawned again
    assert not process_alive(first)
    await codex.close()
