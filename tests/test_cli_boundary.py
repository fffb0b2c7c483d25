"""The CLI's one error boundary (codex_release.cli.boundary), on the real ``codex-release`` group."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from codex_release.cli import main
from codex_release.cli.boundary import describe_os_error
from codex_release.errors import InputRefused
from tests import fake_npm
from tests.hostile import REPO
from tests.test_runtime_source import make_tgz


@pytest.fixture
def command() -> Iterator[Callable[[BaseException], None]]:
    """Register a ``boom`` command on the real group that raises the given exception."""
    raised: list[BaseException] = []

    @click.command("boom")
    @click.option("--out", type=click.Path(path_type=Path), default=Path("some/out"))
    def boom(out: Path) -> None:
        raise raised[0]

    main.add_command(boom)
    try:
        yield raised.append
    finally:
        main.commands.pop("boom")


def _invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_release_error_is_one_line_and_exit_1(command: Callable[[BaseException], None]) -> None:
    command(InputRefused("the thing is wrong:\nfix it"))
    assert _invoke("boom") == (1, "", "Error: the thing is wrong: fix it\n")


def test_a_bug_is_one_line_naming_type_and_message(command: Callable[[BaseException], None]) -> None:
    command(KeyError("missing"))
    code, out, err = _invoke("boom")
    assert (code, out) == (1, "")
    assert err == (
        "Error: internal error (a bug in codex-release): KeyError: 'missing'; rerun with --debug "
        "(or CODEX_RELEASE_DEBUG=1) for the traceback and report it\n"
    )


@pytest.mark.parametrize("how", ["option", "env"])
def test_debug_shows_the_traceback(command: Callable[[BaseException], None], how: str) -> None:
    command(ZeroDivisionError("division by zero"))
    args, env = (["--debug", "boom"], None) if how == "option" else (["boom"], {"CODEX_RELEASE_DEBUG": "1"})
    code, _, err = _invoke(*args, env=env)
    assert code == 1
    assert "Traceback (most recent call last)" in err
    assert (
        err.rstrip().splitlines()[-1]
        == "Error: internal error (a bug in codex-release): ZeroDivisionError: division by zero"
    )


def test_keyboard_interrupt_exits_130_quietly(command: Callable[[BaseException], None]) -> None:
    command(KeyboardInterrupt())
    assert _invoke("boom") == (130, "", "")


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            OSError(errno.ENOSPC, "No space left on device"),
            "Error: no space left on the device (ENOSPC): while writing (the command's paths: --out some/out): "
            "free some space there (or write elsewhere) and run again; temporary files go to",
        ),
        (
            PermissionError(errno.EACCES, "Permission denied", "/etc/x"),
            "Error: permission denied (EACCES): /etc/x: fix the permissions or choose another path",
        ),
        (
            OSError(errno.EFBIG, "File too large", "big.whl"),
            "Error: file too large (the filesystem's or the process's file size limit, `ulimit -f`) (EFBIG): big.whl",
        ),
    ],
)
def test_filesystem_errors_are_one_line_with_the_path_and_the_fix(
    command: Callable[[BaseException], None], exc: OSError, expected: str
) -> None:
    command(exc)
    code, _, err = _invoke("boom")
    assert code == 1
    assert err.startswith(expected), err
    assert err.count("\n") == 1


def test_a_file_in_the_way_is_named(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    message = describe_os_error(NotADirectoryError(errno.ENOTDIR, "Not a directory", str(tmp_path / "f" / "a" / "b")))
    assert message.startswith(f"{tmp_path / 'f'} is a file where a directory is needed (for {tmp_path}/f/a/b)")


def test_bad_codex_version_is_a_one_line_refusal_not_a_usage_error() -> None:
    code, _, err = _invoke("verify", ".", "--codex-version", "banana")
    assert code == 1
    assert err.startswith("Error: --codex-version: not a Codex version: 'banana'")
    assert err.count("\n") == 1


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_during_a_child_exits_130_and_stops_the_child(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    fake_npm.install(tmp_path / "bin", registry)
    fake_npm.publish(registry, "@openai/codex@0.169.0-linux-x64", make_tgz(tmp_path / "p.tgz"))
    env = {
        **os.environ,
        "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "FAKE_NPM_SLEEP": "300",
        "CODEX_RELEASE_CACHE": str(tmp_path / "cache"),
        "PYTHONPATH": str(REPO / "packaging"),
    }
    args = ["fetch-runtime", "--codex-version", "0.169.0", "--target", "x86_64-unknown-linux-musl"]
    child = subprocess.Popen(
        [sys.executable, "-m", "codex_release", *args, "--dest", str(tmp_path / "d")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not fake_npm.calls(registry) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake_npm.calls(registry), "npm was never called"
    pgrep = ["pgrep", "-f", str(tmp_path / "bin" / "npm")]
    npm_pids = subprocess.run(pgrep, capture_output=True, text=True, check=False).stdout
    assert npm_pids.split(), "the fake npm is not running"
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=30)
    assert (child.returncode, out, err) == (130, "", "")
    for pid in map(int, npm_pids.split()):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"the fake npm {pid} outlived Ctrl-C")
