"""The one way the toolkit runs a child process: with a timeout, in its own process group, errors as one line.

Every ``npm``, ``node``, ``twine``, ``zizmor``, ``actionlint``, ``python -m build``, ``pip``, smoke program
and ``codex`` run of the toolkit goes through :func:`run` (or :func:`spawn` for the one long-lived child, the
loopback package index). What it guarantees:

* a hung child can never hang the pipeline: every call has a timeout, and at the timeout the child's whole
  process group is killed (``npm`` and ``python -m build`` start children of their own, which a plain
  ``Popen.kill`` would leave running, holding the output pipes open);
* a failure is a :class:`~codex_release.errors.ReleaseError` of one line naming the command, the exit status
  or the timeout, and the last lines of the child's stderr (trimmed: a failing ``pip`` prints pages);
* Ctrl-C or any other exception while waiting kills the group too (the child runs in its own session, so
  the terminal's SIGINT does not reach it).

The standard library's :func:`subprocess.run` is the model; it is not used as is because its timeout kills
only the direct child and then waits for the pipes, which a grandchild keeps open forever.

``CODEX_RELEASE_CHILD_TIMEOUT=SECONDS`` caps every timeout (tests use it to prove the kill path in a
second; an impatient CI job can use it too).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from codex_release.errors import InputRefused, ToolFailed

__all__ = ["TIMEOUT_ENV", "ChildTimeout", "converse", "describe", "kill_all", "run", "spawn", "stop", "tail"]

TIMEOUT_ENV = "CODEX_RELEASE_CHILD_TIMEOUT"
_TAIL_LINES = 6
_TAIL_CHARS = 500
_REAP_S = 10.0
_LIVE: set[subprocess.Popen[str]] = set()
"""Children started here and not reaped yet (any thread): what :func:`kill_all` stops on Ctrl-C."""
_LIVE_LOCK = threading.Lock()


class ChildTimeout(ToolFailed):
    """A child process did not finish within its timeout and was killed (with its process group)."""


def describe(command: Sequence[str | os.PathLike[str]]) -> str:
    """The command as an error names it: the program's base name and its arguments, shortened."""
    parts = [str(part) for part in command]
    if not parts:
        return "(empty command)"
    program = Path(parts[0]).name
    if program.startswith("python") and len(parts) > 2 and parts[1] == "-m":
        program = f"python -m {parts[2]}"
        parts = parts[2:]
    text = " ".join([program, *parts[1:]])
    return text if len(text) <= 160 else text[:157] + "..."


def tail(text: str | None, *, lines: int = _TAIL_LINES, chars: int = _TAIL_CHARS) -> str:
    """The last ``lines`` non-blank lines of ``text``, joined on one line, at most ``chars`` characters."""
    kept = [" ".join(line.split()) for line in (text or "").splitlines() if line.strip()][-lines:]
    joined = " | ".join(kept)
    return joined if len(joined) <= chars else "..." + joined[-(chars - 3) :]


def _effective_timeout(timeout: float) -> float:
    cap = os.environ.get(TIMEOUT_ENV, "").strip()
    if not cap:
        return timeout
    try:
        value = float(cap)
    except ValueError:
        raise InputRefused(f"{TIMEOUT_ENV}={cap!r} is not a number of seconds: unset it or set e.g. 60") from None
    if not value > 0:
        raise InputRefused(f"{TIMEOUT_ENV}={cap!r} must be a positive number of seconds")
    return min(timeout, value)


def _popen(
    command: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | None,
    env: Mapping[str, str] | None,
    stdin: int,
    stdout: int | IO[Any],
    stderr: int | IO[Any],
) -> subprocess.Popen[str]:
    windows = sys.platform == "win32"
    try:
        process = subprocess.Popen(
            [str(part) for part in command],
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            encoding="utf-8",
            errors="replace",
            start_new_session=not windows,
            creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0) if windows else 0,
        )
    except FileNotFoundError:
        raise ToolFailed(f"cannot run `{describe(command)}`: {command[0]} was not found: install it") from None
    except OSError as exc:
        raise ToolFailed(f"cannot run `{describe(command)}`: {exc.strerror or exc}") from None
    with _LIVE_LOCK:
        _LIVE.add(process)
    return process


def _forget(process: subprocess.Popen[str]) -> None:
    with _LIVE_LOCK:
        _LIVE.discard(process)


def kill_all() -> None:
    """SIGKILL the process group of every child of this process that is still running (any thread).

    The CLI calls it on Ctrl-C: a child waited for in a worker thread would otherwise keep that thread,
    and so the whole command, alive until its own timeout.
    """
    with _LIVE_LOCK:
        live = [process for process in _LIVE if process.returncode is None]
    for process in live:
        _kill_group(process)


def _signal_group(process: subprocess.Popen[str], signum: int) -> None:
    """Send ``signum`` to the child's process group (on Windows end the child itself); never raises.

    Only called while the child is not reaped yet, so its group id cannot have been reused.
    """
    try:
        if sys.platform == "win32":
            process.kill()  # TerminateProcess: Windows has no graceful signal for a console child
        else:
            os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_group(process: subprocess.Popen[str]) -> None:
    """SIGKILL the child's process group (the child itself on Windows); never raises."""
    _signal_group(process, getattr(signal, "SIGKILL", signal.SIGTERM))  # Windows has no SIGKILL


def _reap(process: subprocess.Popen[str]) -> tuple[str, str]:
    """Collect what the killed child wrote; give up on pipes a stray grandchild still holds."""
    try:
        out, err = process.communicate(timeout=_REAP_S)
    except subprocess.TimeoutExpired:
        for pipe in (process.stdout, process.stderr, process.stdin):
            if pipe is not None:
                pipe.close()
        process.wait()
        return "", ""
    return out or "", err or ""


def run(
    command: Sequence[str | os.PathLike[str]],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    check: bool = False,
    what: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` to completion, text mode, stdout and stderr captured, stdin closed unless ``input``.

    At ``timeout`` seconds (capped by ``CODEX_RELEASE_CHILD_TIMEOUT``) the process group is killed and
    :class:`ChildTimeout` raised. With ``check`` a non-zero exit is a :class:`ReleaseError` with the tail
    of stderr (stdout when stderr is empty). ``what`` replaces the command in messages.
    """
    limit = _effective_timeout(timeout)
    name = what or f"`{describe(command)}`"
    process = _popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = process.communicate(input, timeout=limit)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        out, err = _reap(process)
        detail = tail(err or out)
        raise ChildTimeout(
            f"{name} did not finish within {limit:g} s and was stopped{': ' + detail if detail else ''}"
        ) from None
    except BaseException:
        if process.returncode is None:
            _kill_group(process)
            _reap(process)
        raise
    finally:
        _forget(process)
    result = subprocess.CompletedProcess(process.args, process.returncode, out or "", err or "")
    if check and result.returncode != 0:
        detail = tail(result.stderr or result.stdout)
        raise ToolFailed(f"{name} failed (exit {result.returncode}){': ' + detail if detail else ''}")
    return result


def converse(
    command: Sequence[str | os.PathLike[str]],
    request: str,
    *,
    answered: Callable[[str], bool],
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Write ``request`` to a server's stdin and keep stdin open until a stdout line is ``answered``.

    For line protocols whose server stops at end of input, possibly before it answered (``codex
    app-server`` does, and a cold start under emulation makes the race likely): :func:`run` with
    ``input`` closes stdin at once. Returns the stdout read so far (up to and including the answer) and
    the stderr; the server's process group is then stopped. At ``timeout`` seconds without an answer
    :class:`ChildTimeout` is raised; an exit without one returns what was printed.
    """
    limit = _effective_timeout(timeout)
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errors:
        process = _popen(command, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors)
        lines: list[str] = []
        done = threading.Event()

        def read() -> None:
            assert process.stdout is not None
            try:
                for line in process.stdout:
                    lines.append(line)
                    if answered(line):
                        break
            finally:
                done.set()

        reader = threading.Thread(target=read, name="converse-reader", daemon=True)
        reader.start()
        try:
            assert process.stdin is not None
            with contextlib.suppress(OSError):
                process.stdin.write(request)
                process.stdin.flush()
            finished = done.wait(limit)
        finally:
            with contextlib.suppress(OSError):
                process.stdin.close()  # type: ignore[union-attr]
            stop(process, grace=5)
            reader.join(5)
        errors.seek(0)
        stderr = errors.read()
    if not finished:
        detail = tail(stderr)
        raise ChildTimeout(
            f"`{describe(command)}` did not answer within {limit:g} s and was stopped{': ' + detail if detail else ''}"
        )
    return subprocess.CompletedProcess(process.args, process.returncode, "".join(lines), stderr)


def spawn(
    command: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    log: IO[Any] | None = None,
) -> subprocess.Popen[str]:
    """Start a long-lived child (a server) in its own process group; end it with :func:`stop`.

    stdout and stderr go to ``log`` (an open file) or are discarded; stdin is closed.
    """
    sink: int | IO[Any] = log if log is not None else subprocess.DEVNULL
    return _popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink)


def stop(process: subprocess.Popen[str], *, grace: float = 10.0) -> None:
    """Terminate a child started by :func:`spawn`: SIGTERM to its group, SIGKILL after ``grace`` seconds."""
    if process.returncode is not None:
        _forget(process)
        return
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        process.wait()
    _forget(process)
