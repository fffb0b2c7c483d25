"""Fixtures of the SDK tests: the real pinned ``codex`` against the toolkit's fake Responses-API model,
and a small fake app-server script for protocol edge cases."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from codex_release.checks.fake_responses import FakeResponsesServer
from codex_release.core.targets import host_target
from openai_codex import CodexConfig
from tests.checkout import pinned_runtime
from tests.conftest import REPO_ROOT

FAKE_APP_SERVER = Path(__file__).with_name("fake_app_server.py")

WITHOUT_WAITID_ENV = "OPENAI_CODEX_TEST_WITHOUT_WAITID"
"""Set to 1 (``make test`` runs tests/sdk a second time so) to run the SDK as on macOS with Python < 3.13,
which has no ``os.waitid``: the exit watcher must then use its fallback. ``select.kqueue`` (macOS's
non-reaping exit notification) is removed too where it exists, so the last-resort fallback runs."""

if os.environ.get(WITHOUT_WAITID_ENV) == "1":
    import select

    for _module, _name in ((os, "waitid"), (select, "kqueue")):
        if hasattr(_module, _name):
            delattr(_module, _name)


def pytest_report_header() -> str:
    mode = "removed" if os.environ.get(WITHOUT_WAITID_ENV) == "1" else "as the platform has it"
    return f"openai_codex SDK tests: os.waitid {mode}"


RUNTIME_SOURCE = REPO_ROOT / "runtime" / "src" / "codex_cli_bin"


@pytest.fixture
def fake_model() -> Iterator[FakeResponsesServer]:
    """A scripted Responses-API model on loopback (default answer: a short text in 3 deltas)."""
    with FakeResponsesServer() as server:
        yield server


@pytest.fixture
def codex_home(tmp_path: Path) -> Path:
    home = tmp_path / "codex-home"
    home.mkdir()
    return home


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    return work


@pytest.fixture
def real_config(real_codex_bin: Path, fake_model: FakeResponsesServer, codex_home: Path, workdir: Path) -> CodexConfig:
    """The real pinned codex, an empty CODEX_HOME, the fake model: no account, no network."""
    return CodexConfig(
        codex_bin=real_codex_bin,
        config_overrides=fake_model.config_overrides(),
        env={"CODEX_HOME": str(codex_home)},
        cwd=workdir,
        shutdown_timeout_s=5.0,
    )


@pytest.fixture
def fake_app_server(tmp_path: Path) -> Callable[..., CodexConfig]:
    """``make(scenario, **env)`` -> a CodexConfig running tests/sdk/fake_app_server.py as ``codex``."""
    launcher = tmp_path / "fake-codex"
    # Unless a test names another version, the fake is the pinned runtime (no drift warning), so a bump of the
    # pin needs no edit here.
    script = (
        f"import os, runpy\nos.environ.setdefault('FAKE_VERSION', {str(pinned_runtime())!r})\n"
        f"runpy.run_path({str(FAKE_APP_SERVER)!r}, run_name='__main__')\n"
    )
    launcher.write_text(f"#!{sys.executable}\n{script}")
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR)

    def make(scenario: str = "", **env: str) -> CodexConfig:
        variables = {"FAKE_SCENARIO": scenario, **{k.upper(): str(v) for k, v in env.items()}}
        return CodexConfig(codex_bin=launcher, env=variables, startup_timeout_s=20, shutdown_timeout_s=2)

    return make


def process_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (Linux: /proc; macOS: ps; Windows: the process handle)."""
    if sys.platform == "win32":
        return _windows_process_alive(pid)
    if os.path.isdir("/proc/self"):
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
                return handle.read().split(")", 1)[1].split()[0] != "Z"
        except FileNotFoundError:
            return False
        except OSError:
            return os.path.exists(f"/proc/{pid}")
    state = subprocess.run(
        ["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True, check=False, timeout=30
    )
    return state.returncode == 0 and bool(state.stdout.strip()) and not state.stdout.strip().startswith("Z")


def _windows_process_alive(pid: int) -> bool:
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return False
    try:
        code = ctypes.c_ulong()
        kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        return bool(code.value == 259)  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def kill_hard(pid: int) -> int:
    """Kill ``pid`` at once (SIGKILL; TerminateProcess on Windows) and return the exit code Popen will report."""
    if sys.platform == "win32":
        os.kill(pid, signal.SIGTERM)  # TerminateProcess with exit code 15
        return int(signal.SIGTERM)
    os.kill(pid, signal.SIGKILL)
    return -int(signal.SIGKILL)


def gone_within(pid: int, seconds: float = 2.0) -> bool:
    """True once ``pid`` has ended (a SIGKILL takes a moment to land), False if it still runs after ``seconds``."""
    deadline = time.monotonic() + seconds
    while process_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def bundled_runtime_site(tmp_path: Path, real_package: Callable[[str], Path]) -> Path:
    """A directory to put on ``sys.path`` that holds ``codex_cli_bin`` as the runtime wheel installs it:
    the package's own source (runtime/src/codex_cli_bin) with the real pinned platform package as ``vendor``."""
    site = tmp_path / "runtime-site"
    package = site / "codex_cli_bin"
    shutil.copytree(RUNTIME_SOURCE, package, ignore=shutil.ignore_patterns("__pycache__", "vendor"))
    try:
        (package / "vendor").symlink_to(real_package(host_target().triple), target_is_directory=True)
    except OSError:  # Windows without the symlink privilege
        shutil.copytree(real_package(host_target().triple), package / "vendor")
    return site
