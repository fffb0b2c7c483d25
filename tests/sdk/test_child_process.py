"""What the app-server process gets: ``CodexConfig(api_key=..., base_url=...)`` (real runtime, sync and async:
the fake model sees the key, CODEX_HOME gets no credentials), the environment without a parent Codex's
variables, and no console window on Windows."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from codex_release.checks.fake_responses import OFFLINE_DISABLED_FEATURES, FakeResponsesServer, ShellCall, Text
from openai_codex import AsyncCodex, Codex, CodexConfig
from openai_codex._runtime import NESTED_CODEX_VARIABLES, child_environment, launch_spec, popen_options
from openai_codex.types import CommandExecutionThreadItem


def test_nested_codex_variables_are_removed_and_the_rest_passes(
    monkeypatch: pytest.MonkeyPatch, real_codex_bin: Path
) -> None:
    for name in NESTED_CODEX_VARIABLES:
        monkeypatch.setenv(name, "from-the-parent")
    monkeypatch.setenv("CODEX_HOME", "/somewhere/codex-home")
    monkeypatch.setenv("OPENAI_CODEX_TEST_KEEP", "kept")
    config = CodexConfig(codex_bin=real_codex_bin, env={"CODEX_THREAD_ID": "chosen", "EXTRA": "1"})
    _argv, env = launch_spec(config)
    assert not set(NESTED_CODEX_VARIABLES) - {"CODEX_THREAD_ID"} & set(env)
    assert env["CODEX_THREAD_ID"] == "chosen"  # set explicitly through CodexConfig.env: kept
    assert env["CODEX_HOME"] == "/somewhere/codex-home"  # the user's choice
    assert (env["OPENAI_CODEX_TEST_KEEP"], env["EXTRA"]) == ("kept", "1")
    assert "PATH" in env


def test_child_environment_is_a_copy() -> None:
    parent = {"CODEX_SANDBOX": "seatbelt", "HOME": "/home/me"}
    assert child_environment(parent, None) == {"HOME": "/home/me"}
    assert parent == {"CODEX_SANDBOX": "seatbelt", "HOME": "/home/me"}


def test_the_list_names_what_a_parent_codex_sets() -> None:
    assert {"CODEX_SANDBOX", "CODEX_SANDBOX_NETWORK_DISABLED", "CODEX_THREAD_ID"} <= set(NESTED_CODEX_VARIABLES)
    assert "CODEX_HOME" not in NESTED_CODEX_VARIABLES
    assert len(set(NESTED_CODEX_VARIABLES)) == len(NESTED_CODEX_VARIABLES)


def test_no_console_window_on_windows() -> None:
    windows = popen_options("win32")
    assert windows == {"creationflags": getattr(subprocess, "CREATE_NO_WINDOW", 0x08000000)}
    assert windows["creationflags"] == 0x08000000
    assert popen_options("linux") == popen_options("darwin") == {"start_new_session": True}


def test_the_blocking_driver_passes_them_to_popen(
    monkeypatch: pytest.MonkeyPatch, fake_app_server: Callable[..., CodexConfig]
) -> None:
    """What Popen gets on Windows (this test runs anywhere: the flag is recorded, then dropped off Windows)."""
    import openai_codex._sync_transport as sync_transport

    seen: dict[str, Any] = {}
    real_popen = subprocess.Popen

    def recording(*args: Any, **kwargs: Any) -> Any:
        seen.update(kwargs)
        if sys.platform != "win32":
            kwargs.pop("creationflags")
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(sync_transport, "popen_options", lambda: popen_options("win32"))
    monkeypatch.setattr(sync_transport.subprocess, "Popen", recording)
    with Codex(fake_app_server()):
        pass
    assert seen["creationflags"] == 0x08000000


async def test_the_asyncio_driver_passes_them_to_the_loop(
    monkeypatch: pytest.MonkeyPatch, fake_app_server: Callable[..., CodexConfig]
) -> None:
    import openai_codex._async_transport as async_transport

    seen: dict[str, Any] = {}
    real_spawn = async_transport._spawn

    async def recording(on_exit: Any, argv: list[str], **options: Any) -> Any:
        seen.update(options)
        if sys.platform != "win32":
            options.pop("creationflags")
        return await real_spawn(on_exit, argv, **options)

    monkeypatch.setattr(async_transport, "popen_options", lambda: popen_options("win32"))
    monkeypatch.setattr(async_transport, "_spawn", recording)
    async with AsyncCodex(fake_app_server()) as codex:
        await codex._transport.ensure_started()
    assert seen["creationflags"] == 0x08000000


def test_config_options_reach_the_command_line(real_codex_bin: Path) -> None:
    config = CodexConfig(codex_bin=real_codex_bin, api_key="sk-secret", base_url="http://127.0.0.1:9/v1")
    argv, _env = launch_spec(config)
    assert 'openai_base_url="http://127.0.0.1:9/v1"' in argv
    assert 'cli_auth_credentials_store="ephemeral"' in argv
    assert "sk-secret" not in " ".join(argv)  # the key goes over stdin, never on the command line
    assert "sk-secret" not in repr(config)
    with pytest.raises(ValueError, match="api_key"):
        CodexConfig(api_key="")


def _api_key_config(real_codex_bin: Path, fake: FakeResponsesServer, home: Path, work: Path) -> CodexConfig:
    # the built-in openai provider, pointed at the fake model by base_url (no `mock` provider here)
    return CodexConfig(
        codex_bin=real_codex_bin,
        api_key="sk-test-from-config",
        base_url=fake.base_url,
        config_overrides=[f"features.{name}=false" for name in OFFLINE_DISABLED_FEATURES],
        env={"CODEX_HOME": str(home)},
        cwd=work,
        shutdown_timeout_s=5.0,
    )


def _no_credentials_written(home: Path) -> None:
    assert not list(home.rglob("auth.json"))
    assert not any("sk-test-from-config" in p.read_text(errors="replace") for p in home.rglob("*.toml"))


@pytest.mark.runtime
def test_api_key_and_base_url_reach_the_model(
    real_codex_bin: Path, fake_model: FakeResponsesServer, codex_home: Path, workdir: Path
) -> None:
    fake_model.enqueue(Text("Keyed."))
    with Codex(_api_key_config(real_codex_bin, fake_model, codex_home, workdir)) as codex:
        assert type(codex.account().account).__name__ == "ApiKeyAccount"
        result = codex.thread_start().run("Hello.", timeout=60)
    assert result.final_response == "Keyed."
    request = fake_model.model_requests[-1]
    assert request.headers["authorization"] == "Bearer sk-test-from-config"
    _no_credentials_written(codex_home)


@pytest.mark.runtime
async def test_api_key_and_base_url_reach_the_model_async(
    real_codex_bin: Path, fake_model: FakeResponsesServer, codex_home: Path, workdir: Path
) -> None:
    fake_model.enqueue(Text("Keyed."))
    async with AsyncCodex(_api_key_config(real_codex_bin, fake_model, codex_home, workdir)) as codex:
        thread = await codex.thread_start()
        result = await thread.run("Hello.", timeout=60)
    assert result.final_response == "Keyed."
    assert fake_model.model_requests[-1].headers["authorization"] == "Bearer sk-test-from-config"
    _no_credentials_written(codex_home)


# -- a parent Codex's variables, on the real runtime --------------------------------------------------------

_PARENT = "from-the-parent"


def _as_if_inside_a_codex_turn(monkeypatch: pytest.MonkeyPatch, strip: bool) -> None:
    """The caller's environment as a program run by a Codex agent (or an IDE host's launcher) sees it."""
    if not strip:  # the control: what the app-server would get without the list
        import openai_codex._runtime as runtime

        monkeypatch.setattr(runtime, "_NESTED", frozenset())
    for name in NESTED_CODEX_VARIABLES:
        monkeypatch.setenv(name, _PARENT)
    monkeypatch.setenv("CODEX_INTERNAL_ORIGINATOR_OVERRIDE", "parent_ide")
    monkeypatch.setenv("OPENAI_CODEX_TEST_KEEP", "kept")


# The model runs ``env`` (a POSIX command; on Windows only the model requests are checked).
_SHOWS_ENV = sys.platform != "win32"


def _script(fake_model: FakeResponsesServer, workdir: Path) -> None:
    if _SHOWS_ENV:
        fake_model.enqueue(ShellCall("env", workdir=str(workdir)))
    fake_model.enqueue(Text("Seen."))


def _command_environment(items: list[Any]) -> dict[str, str] | None:
    if not _SHOWS_ENV:
        return None
    [command] = [item for item in items if isinstance(item, CommandExecutionThreadItem)]
    lines = (command.aggregated_output or "").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def _check_what_the_runtime_got(fake_model: FakeResponsesServer, seen: dict[str, str] | None, strip: bool) -> None:
    """Measured on 0.171.0: given a parent's variables, the runtime attributes its model requests to the
    parent's host and hands the parent's sandbox and launcher variables on to the commands it runs."""
    originators = {request.headers.get("originator") for request in fake_model.model_requests}
    assert ("parent_ide" not in originators) if strip else (originators == {"parent_ide"})
    if seen is None:
        return
    assert seen["OPENAI_CODEX_TEST_KEEP"] == "kept"  # everything else passes through
    leaked = {name for name, value in seen.items() if value == _PARENT}
    if not strip:
        assert {"CODEX_SANDBOX", "CODEX_MANAGED_BY_NPM", "CODEX_MANAGED_PACKAGE_ROOT"} <= leaked
        return
    assert not leaked, sorted(leaked)
    # Every CODEX_* variable this runtime sets on its commands is on the list (CODEX_HOME is the user's
    # choice): a variable a bumped runtime adds fails here until the list names it.
    assert {name for name in seen if name.startswith("CODEX_")} - {"CODEX_HOME"} <= set(NESTED_CODEX_VARIABLES)


@pytest.mark.runtime
@pytest.mark.parametrize("strip", [True, False], ids=["stripped", "control-inherited"])
def test_a_parent_codex_turn_does_not_reach_the_runtime(
    monkeypatch: pytest.MonkeyPatch,
    real_config: CodexConfig,
    fake_model: FakeResponsesServer,
    workdir: Path,
    strip: bool,
) -> None:
    _as_if_inside_a_codex_turn(monkeypatch, strip)
    _script(fake_model, workdir)
    with Codex(real_config) as codex:
        result = codex.thread_start(approval_policy="never").run("Show the environment.", timeout=60)
    _check_what_the_runtime_got(fake_model, _command_environment(result.items), strip)


@pytest.mark.runtime
async def test_a_parent_codex_turn_does_not_reach_the_runtime_async(
    monkeypatch: pytest.MonkeyPatch, real_config: CodexConfig, fake_model: FakeResponsesServer, workdir: Path
) -> None:
    _as_if_inside_a_codex_turn(monkeypatch, strip=True)
    _script(fake_model, workdir)
    async with AsyncCodex(real_config) as codex:
        thread = await codex.thread_start(approval_policy="never")
        result = await thread.run("Show the environment.", timeout=60)
    _check_what_the_runtime_got(fake_model, _command_environment(result.items), strip=True)
