"""Finding the ``codex`` executable, building its command line, checking its version.

Shared by both drivers. Every failure here is a constructor failure whose message names the cause and
the fix.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from openai_codex.config import CodexConfig
from openai_codex.errors import (
    CodexError,
    IncompatibleRuntimeError,
    RuntimeDriftWarning,
    RuntimeNotFoundError,
    TransportClosedError,
)

__all__ = [
    "MINIMUM_RUNTIME_VERSION",
    "NESTED_CODEX_VARIABLES",
    "RUNTIME_DISTRIBUTION",
    "StderrTail",
    "api_key_login_params",
    "check_runtime_version",
    "child_environment",
    "launch_spec",
    "popen_options",
    "version_from_user_agent",
]

RUNTIME_DISTRIBUTION = "openai-codex-cli-bin"
MINIMUM_RUNTIME_VERSION = "0.169.0"
"""The oldest ``codex`` whose app-server protocol this SDK speaks. The typed models are generated from the
pinned runtime (``openai_codex.generated.CODEX_VERSION``), which may be newer: this floor is the oldest release
the hand-written client was tested against, and it moves only when the client comes to need something an
older runtime lacks. Between the two, a runtime works with one ``RuntimeDriftWarning``; a method it does not
have yet answers with a JSON-RPC error."""


NESTED_CODEX_VARIABLES: tuple[str, ...] = (
    # Set by Codex on every command its agent runs (read back from such a command's environment, Codex
    # 0.171.0), so a program using the SDK from inside a Codex turn inherits them; they describe that turn,
    # not the runtime this SDK starts:
    "CODEX_SANDBOX",  # "seatbelt" under the macOS sandbox: a nested runtime would believe it is sandboxed
    "CODEX_SANDBOX_NETWORK_DISABLED",  # "1" when the parent's sandbox has no network: the same for network
    "CODEX_THREAD_ID",  # the parent's thread: the nested runtime's own threads are not it
    "CODEX_SESSION_ID",  # the parent's session: likewise
    "CODEX_TOOL_CALL_ID",  # the parent's tool call that ran the program
    "CODEX_VERSION",  # the parent's version, which need not be the runtime started here
    "CODEX_CI",  # the parent marks its commands non-interactive; the runtime here is not one of them
    "CODEX_APPLY_PATCH_PRESERVE_LINE_ENDINGS",  # the parent's apply_patch setting for its commands
    "CODEX_PERMISSION_PROFILE",  # the parent turn's permission profile (":read-only", ...), not this runtime's
    # Set by a parent's launcher or host for its own runtime:
    "CODEX_INTERNAL_ORIGINATOR_OVERRIDE",  # an IDE host's originator: requests would be attributed to it
    "CODEX_MANAGED_BY_NPM",  # the npm / bun / pnpm / vite+ launchers: the runtime here is not managed by them
    "CODEX_MANAGED_BY_BUN",  # (update hints and the package root would point at the parent's installation)
    "CODEX_MANAGED_BY_PNPM",
    "CODEX_MANAGED_BY_VITE_PLUS",
    "CODEX_MANAGED_PACKAGE_ROOT",
)
"""Variables of the caller's environment that the app-server does not get (``CodexConfig.env`` may still set
them). Everything else passes through, ``CODEX_HOME`` and ``PATH`` included: those are the user's choice."""


def child_environment(environ: Mapping[str, str], extra: Mapping[str, str] | None) -> dict[str, str]:
    """The app-server's environment: ``environ`` without :data:`NESTED_CODEX_VARIABLES`, then ``extra``."""
    env = {key: value for key, value in environ.items() if key.upper() not in _NESTED}
    env.update(extra or {})
    return env


_NESTED = frozenset(NESTED_CODEX_VARIABLES)


def popen_options(platform: str = sys.platform) -> dict[str, Any]:
    """How the app-server process is started, beside its pipes: its own session on POSIX (so its whole tree
    can be signalled); on Windows no console window (a GUI host would otherwise flash one up)."""
    if platform == "win32":
        return {"creationflags": getattr(subprocess, "CREATE_NO_WINDOW", 0x08000000)}
    return {"start_new_session": True}


def api_key_login_params(config: CodexConfig) -> dict[str, str] | None:
    """The ``account/login/start`` params that sign the runtime in with ``config.api_key`` (``None``: none)."""
    if config.api_key is None:
        return None
    return {"type": "apiKey", "apiKey": config.api_key}


class StderrTail:
    """The last lines the app-server wrote to stderr (bounded: the stream itself is always drained)."""

    def __init__(self, max_lines: int = 40, max_line_chars: int = 2000) -> None:
        self._lines: deque[str] = deque(maxlen=max_lines)
        self._max_line_chars = max_line_chars
        self._partial = b""

    def feed(self, data: bytes) -> None:
        data = self._partial + data
        *complete, self._partial = data.split(b"\n")
        if len(self._partial) > self._max_line_chars * 4:
            complete.append(self._partial)
            self._partial = b""
        for raw in complete:
            self._lines.append(raw.decode("utf-8", "replace").rstrip()[: self._max_line_chars])

    def text(self) -> str:
        lines = list(self._lines)
        if self._partial:
            lines.append(self._partial.decode("utf-8", "replace").rstrip()[: self._max_line_chars])
        return _strip_ansi("\n".join(line for line in lines if line))


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def _resolve_binary(config: CodexConfig) -> tuple[Path, Mapping[str, str] | None]:
    """The codex executable and, for the bundled one, the env that puts its helper directory on PATH."""
    if config.codex_bin is not None:
        path = Path(config.codex_bin).expanduser()
        if not path.exists():
            raise RuntimeNotFoundError(
                f"codex_bin {str(path)!r} does not exist: point CodexConfig(codex_bin=...) at a codex executable, "
                f"or leave it unset to use the bundled runtime from {RUNTIME_DISTRIBUTION}"
            )
        if path.is_dir():
            raise RuntimeNotFoundError(f"codex_bin {str(path)!r} is a directory, not the codex executable")
        if sys.platform != "win32" and not os.access(path, os.X_OK):
            raise RuntimeNotFoundError(f"codex_bin {str(path)!r} is not executable: fix it with `chmod +x {path}`")
        return path, None
    try:
        import codex_cli_bin
    except ImportError:
        version = sdk_version()
        pin = f"=={version}" if version != "0.0.0" else ""  # runtime and SDK releases share version numbers
        raise RuntimeNotFoundError(
            f"the Codex runtime package {RUNTIME_DISTRIBUTION!r} is not installed: install it with "
            f"`pip install {RUNTIME_DISTRIBUTION}{pin}` (or pass CodexConfig(codex_bin=...))"
        ) from None
    try:
        path = codex_cli_bin.bundled_codex_path()
    except FileNotFoundError as exc:  # codex_cli_bin.BundledRuntimeError
        raise RuntimeNotFoundError(f"the bundled Codex runtime is not usable: {exc}") from None
    return path, codex_cli_bin.bundled_env(child_environment(os.environ, config.env))


def launch_spec(config: CodexConfig) -> tuple[list[str], dict[str, str]]:
    """``argv`` and ``env`` of ``codex app-server`` for ``config`` (raises RuntimeNotFoundError, or
    CodexError naming the directory when ``config.cwd`` is not one)."""
    if config.cwd is not None and not Path(config.cwd).is_dir():
        what = "is not a directory" if Path(config.cwd).exists() else "does not exist"
        raise CodexError(
            f"cwd {os.fspath(config.cwd)!r} {what}: point CodexConfig(cwd=...) at an existing directory "
            "(the app-server runs there and threads default to it)"
        )
    binary, bundled_env = _resolve_binary(config)
    argv = [str(binary), "app-server"]
    overrides = list(config.config_overrides)
    if config.base_url is not None:
        overrides.append(f"openai_base_url={json.dumps(config.base_url)}")  # a JSON string is a TOML string
    if config.api_key is not None:  # held in memory, never written to CODEX_HOME (see api_key_login_params)
        overrides.append('cli_auth_credentials_store="ephemeral"')
    for override in overrides:
        argv += ["--config", override]
    env = dict(bundled_env) if bundled_env is not None else child_environment(os.environ, config.env)
    return argv, env


_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)(?:[-.]?(alpha|beta|rc|a|b)\.?(\d+))?")
_PRE_RANK = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "rc": 2}


def _version_key(text: str) -> tuple[int, int, int, int, int] | None:
    match = _VERSION.search(text)
    if match is None:
        return None
    major, minor, patch, pre, pre_n = match.groups()
    if pre is None:
        return int(major), int(minor), int(patch), 3, 0
    return int(major), int(minor), int(patch), _PRE_RANK[pre], int(pre_n)


def version_from_user_agent(user_agent: str) -> str | None:
    """``"0.169.0"`` from an initialize ``userAgent`` such as ``"my_app/0.169.0 (Debian 12; x86_64) ..."``."""
    head = user_agent.split(" ", 1)[0]
    if "/" not in head:
        return None
    version = head.split("/", 1)[1]
    return version if _version_key(version) is not None else None


def check_runtime_version(found: str | None, binary: str) -> None:
    """Raise IncompatibleRuntimeError when ``found`` is older than :data:`MINIMUM_RUNTIME_VERSION`.

    Development builds report ``0.0.0``; they are accepted (they are built from current sources).
    """
    if found is None:
        return
    key = _version_key(found)
    minimum = _version_key(MINIMUM_RUNTIME_VERSION)
    if key is None or minimum is None or key[:3] == (0, 0, 0):
        return
    if key < minimum:
        raise IncompatibleRuntimeError(
            f"{binary} is codex {found}, but this SDK needs codex >= {MINIMUM_RUNTIME_VERSION}: upgrade it "
            f"(`pip install -U {RUNTIME_DISTRIBUTION}`) or point CodexConfig(codex_bin=...) at a newer codex",
            found=found,
            required=MINIMUM_RUNTIME_VERSION,
        )


def probe_version(binary: str, env: Mapping[str, str]) -> str | None:
    """``codex --version`` (for error messages when the app-server itself would not start)."""
    try:
        done = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=10, env=dict(env), check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(done.stdout)
    return match.group(0) if match else None


def explain_startup_exit(argv: list[str], env: Mapping[str, str], returncode: int | None, stderr: str) -> Exception:
    """The error for an app-server that exited before ``initialize`` completed."""
    lowered = stderr.lower()
    if "unrecognized subcommand" in lowered or "unexpected argument" in lowered:
        found = probe_version(argv[0], env)
        return IncompatibleRuntimeError(
            f"{argv[0]} (codex {found or 'of unknown version'}) does not support `codex app-server` as this SDK "
            f"runs it; this SDK needs codex >= {MINIMUM_RUNTIME_VERSION}: upgrade it "
            f"(`pip install -U {RUNTIME_DISTRIBUTION}`) or point CodexConfig(codex_bin=...) at a newer codex. "
            f"stderr:\n{stderr}",
            found=found,
            required=MINIMUM_RUNTIME_VERSION,
        )
    tail = stderr or "(nothing on stderr)"
    return TransportClosedError(
        f"codex app-server exited during start-up (exit code {returncode}); check CodexConfig.config_overrides "
        f"and the environment. stderr tail:\n{tail}",
        returncode=returncode,
        stderr_tail=stderr,
    )


def initialize_params(config: CodexConfig, sdk_version: str) -> dict[str, object]:
    """The ``initialize`` request params for ``config``."""
    client_info: dict[str, object] = {"name": config.client_name, "version": config.client_version or sdk_version}
    if config.client_title is not None:
        client_info["title"] = config.client_title
    params: dict[str, object] = {"clientInfo": client_info}
    if config.experimental_api:
        params["capabilities"] = {"experimentalApi": True}
    return params


def check_initialize_result(result: object, binary: str) -> str | None:
    """Validate the ``initialize`` result; return the runtime version it reports (if it does)."""
    if not isinstance(result, dict) or not isinstance(result.get("userAgent"), str):
        raise IncompatibleRuntimeError(
            f"{binary} answered initialize with {str(result)[:200]!r}, not the app-server protocol this SDK speaks "
            f"(codex >= {MINIMUM_RUNTIME_VERSION}): point CodexConfig(codex_bin=...) at a supported codex",
            required=MINIMUM_RUNTIME_VERSION,
        )
    found = version_from_user_agent(result["userAgent"])
    check_runtime_version(found, binary)
    warn_on_drift(found, binary)
    return found


def pinned_version() -> str:
    """The Codex version this SDK release pins (its protocol types are generated from it)."""
    from openai_codex.generated import CODEX_VERSION

    return CODEX_VERSION


_warned: set[tuple[str, str]] = set()


def warn_on_drift(found: str | None, binary: str) -> None:
    """One :class:`~openai_codex.errors.RuntimeDriftWarning` per runtime version other than the pinned one."""
    pinned = pinned_version()
    if found is None or found == pinned or (found, binary) in _warned:
        return
    _warned.add((found, binary))
    import warnings

    warnings.warn(
        f"{binary} is codex {found}, but this SDK was built for codex {pinned} (the pinned runtime): methods "
        f"and fields may differ. Unset codex_bin / OPENAI_CODEX_BIN to use the bundled runtime, or install "
        f"the matching SDK",
        RuntimeDriftWarning,
        stacklevel=2,
    )


def closed_error(closing: bool, returncode: int | None, stderr_tail: str) -> TransportClosedError:
    """The TransportClosedError every waiter gets when the connection ends (both drivers)."""
    if closing:
        return TransportClosedError("the Codex client is closed", returncode=returncode, stderr_tail=stderr_tail)
    return TransportClosedError(
        f"codex app-server exited unexpectedly (exit code {returncode}). stderr tail:\n{stderr_tail or '(empty)'}",
        returncode=returncode,
        stderr_tail=stderr_tail,
    )


def startup_timeout_error(timeout: float, stderr_tail: str) -> TransportClosedError:
    """The error of an app-server that did not answer ``initialize`` in time (both drivers)."""
    return TransportClosedError(
        f"codex app-server did not answer initialize within {timeout:g}s (raise CodexConfig.startup_timeout_s "
        f"if the machine is slow). stderr tail:\n{stderr_tail}",
        stderr_tail=stderr_tail,
    )


TERMINATE_GRACE_S = 0.5
"""After SIGTERM (or the Windows equivalent), how long the app-server gets before it is killed."""


def signal_tree(pid: int, sig: int) -> bool:
    """Send ``sig`` to the app-server's process group (it leads its own session on POSIX), reaching its
    helpers too, even after it has exited itself. False where there is no group (Windows, or all gone)."""
    if sys.platform == "win32":
        return False
    import signal

    try:
        os.killpg(pid, sig)
        if sig == signal.SIGTERM:
            os.killpg(pid, signal.SIGCONT)  # a stopped process handles its SIGTERM only once continued
    except OSError:
        return False
    return True


def kill_tree(pid: int, kill_leader: Callable[[], object]) -> None:
    """SIGKILL the app-server and everything it started. ``kill_leader`` kills the process itself, for
    Windows (where ``taskkill /T`` reaches its children first) or when the group is already gone."""
    if sys.platform == "win32":
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                ["taskkill", "/F", "/T", "/PID", str(pid)],
                capture_output=True,
                timeout=5,
                check=False,
            )
    else:
        import signal

        signal_tree(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        kill_leader()


def sdk_version() -> str:
    """This SDK's version, from its installed metadata."""
    import openai_codex

    return str(openai_codex.__version__)


def wait_for_exit(proc: subprocess.Popen[bytes]) -> int | None:
    """Block until ``proc`` exits; return its ``Popen``-style return code, or ``None`` when the exit is
    known but its code is left for ``Popen.poll()`` to collect.

    Never returns while the process runs, on any OS, and notices the exit even while a grandchild still
    holds the app-server's pipes open (then no EOF comes). Where it can, it does not reap the process, so
    it runs beside ``Popen.wait``: macOS uses a kqueue exit note (``os.waitid`` is missing there before
    Python 3.13), other POSIX systems ``waitid(WNOWAIT)``. Elsewhere (Windows, or a POSIX without either)
    it falls back to ``Popen.wait()``, which reaps; that is safe beside the other ``wait()``/``poll()``
    calls on the same ``Popen`` (they share its lock: the one that reaps records the code for all).
    """
    if _kqueue_wait_for_exit(proc.pid):
        return None
    waitid = getattr(os, "waitid", None)
    if waitid is not None and sys.platform != "win32":
        while True:
            try:
                info = waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
            except InterruptedError:
                continue
            except ChildProcessError:  # already reaped (by a Popen.wait elsewhere): it has exited
                return proc.returncode
            if info is None:
                continue
            if info.si_code == os.CLD_EXITED:
                return int(info.si_status)
            return -int(info.si_status)  # killed or dumped core: -signal, as Popen reports it
    return proc.wait()


def _kqueue_wait_for_exit(pid: int) -> bool:
    """Block on a kqueue ``NOTE_EXIT`` for ``pid`` (does not reap); False when kqueue cannot watch it."""
    if sys.platform != "darwin":  # (also keeps type checkers on other platforms out of what follows)
        return False
    import select

    if not hasattr(select, "kqueue"):
        return False
    try:
        queue = select.kqueue()
    except OSError:
        return False
    try:
        event = select.kevent(
            pid,
            filter=select.KQ_FILTER_PROC,
            flags=select.KQ_EV_ADD | select.KQ_EV_ONESHOT,
            fflags=select.KQ_NOTE_EXIT,
        )
        try:
            queue.control([event], 0, 0)
        except ProcessLookupError:  # ESRCH: it has exited already
            return True
        except OSError:
            return False
        while not queue.control(None, 1, None):  # PEP 475: EINTR is retried by control() itself
            pass
        return True
    finally:
        queue.close()
