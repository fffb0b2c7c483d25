"""The CLI's one error boundary: whatever a command raises, the user sees one line and a clear exit status.

* :class:`~codex_release.errors.ReleaseError` (any of its kinds): ``Error: <message>``, exit 1; the message is
  printed verbatim (runs of spaces kept), with any line break turned into a space.
* :class:`OSError` from the filesystem (disk full, a path component that is a file, permission denied,
  ...): ``Error: <what>: <path>: <fix>``, exit 1. The error names its path when the operating system
  gave one; a failed ``write`` names none, so the message then lists the command's own paths.
* anything else is a bug in the toolkit: ``Error: internal error (a bug in codex-release): <type>:
  <message>``, exit 1, with the hint to rerun with ``--debug``.
* Ctrl-C: exit 130, nothing printed; every running child process group is killed first
  (:func:`codex_release.processes.kill_all`), also those waited for in worker threads.

``--debug`` (or ``CODEX_RELEASE_DEBUG=1``) prints the traceback before the line. Click's own usage errors
keep click's format and exit status 2.

Applied once, by :class:`ReleaseGroup` (the ``codex-release`` group), to every command.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
import traceback
from pathlib import Path
from types import FrameType
from typing import Any

import click

from codex_release.errors import ReleaseError, one_line

__all__ = ["DEBUG_ENV", "ReleaseGroup", "describe_os_error"]

DEBUG_ENV = "CODEX_RELEASE_DEBUG"
_META_KEY = "codex_release.command_context"

_OS_ERRORS: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("no space left on the device", "free some space there (or write elsewhere) and run again"),
    errno.EDQUOT: ("disk quota exceeded", "free some space within your quota (or write elsewhere) and run again"),
    errno.EFBIG: (
        "file too large (the filesystem's or the process's file size limit, `ulimit -f`)",
        "raise the limit or write to another filesystem and run again",
    ),
    errno.ENOTDIR: (
        "a component of the path is a file, not a directory",
        "choose a path whose parents are directories (or move that file away)",
    ),
    errno.EISDIR: ("it is a directory", "pass a file there, or remove the directory"),
    errno.EACCES: ("permission denied", "fix the permissions or choose another path"),
    errno.EPERM: ("operation not permitted", "fix the permissions or choose another path"),
    errno.EROFS: ("read-only file system", "choose a writable location"),
    errno.ENAMETOOLONG: ("file name too long", "choose a shorter path"),
    errno.ENOENT: ("no such file or directory", "check the path"),
    errno.EEXIST: ("it already exists", "remove it or choose another path"),
    errno.ENOTEMPTY: ("the directory is not empty", "empty it or choose another path"),
    errno.EMFILE: ("too many open files", "raise the open-file limit (`ulimit -n`) and run again"),
    errno.EIO: ("input/output error", "check the disk and run again"),
}


def describe_os_error(exc: OSError, paths: dict[str, Path] | None = None) -> str:
    """One line for an :class:`OSError`: what happened, the path(s) it names, and the fix.

    ``paths`` (label -> path) are named when the error carries no file name (a failed ``write``).
    """
    names = [str(name) for name in (exc.filename, exc.filename2) if name is not None]
    if exc.errno in (errno.EEXIST, errno.ENOTDIR) and names:
        blocker = _file_in_the_way(Path(names[0]))
        if blocker is not None:
            wanted = "" if str(blocker) == names[0] else f" (for {names[0]})"
            return (
                f"{blocker} is a file where a directory is needed{wanted}: "
                "choose a path whose parents are directories, or move that file away"
            )
    what, fix = _OS_ERRORS.get(exc.errno or -1, (exc.strerror or type(exc).__name__, "check the path and run again"))
    code = errno.errorcode.get(exc.errno or -1)
    what = f"{what} ({code})" if code else what
    if names:
        where = " -> ".join(names)
    elif paths:
        where = "while writing (the command's paths: " + ", ".join(f"{k} {v}" for k, v in paths.items()) + ")"
    else:
        where = "while writing"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) and not names:
        fix += f"; temporary files go to {os.environ.get('TMPDIR') or '/tmp'}"
    return f"{what}: {where}: {fix}"


def _file_in_the_way(path: Path) -> Path | None:
    """The path itself or its nearest existing ancestor, when that is not a directory."""
    for candidate in (path, *path.parents):
        try:
            if candidate.is_dir():
                return None
            if candidate.exists() or candidate.is_symlink():
                return candidate
        except OSError:
            return None
    return None


class _BoundaryContext(click.Context):
    """The context of each subcommand: remembers itself in the shared ``meta`` so the boundary can name
    the command's paths in a filesystem error that carries none."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.meta[_META_KEY] = self


def _command_paths(ctx: click.Context) -> dict[str, Path]:
    sub = ctx.meta.get(_META_KEY)
    if not isinstance(sub, click.Context):
        return {}
    found: dict[str, Path] = {}
    for param in sub.command.params:
        value = sub.params.get(param.name or "")
        label = param.opts[0] if isinstance(param, click.Option) else (param.name or "").upper()
        if isinstance(value, Path):
            found[label] = value
    return found


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # Children are only ever started by codex_release.processes: if no command loaded it, there are none,
    # and a CLI start (--help, matrix, plan) need not import subprocess and tempfile for this handler.
    processes = sys.modules.get("codex_release.processes")
    if processes is not None:
        processes.kill_all()
    raise KeyboardInterrupt


class ReleaseGroup(click.Group):
    """A :class:`click.Group` whose :meth:`invoke` is the error boundary of every command."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        cmd.context_class = _BoundaryContext
        super().add_command(cmd, name)

    def invoke(self, ctx: click.Context) -> Any:
        debug = bool(ctx.params.get("debug"))
        main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, _interrupt) if main_thread else None
        try:
            return self._invoke(ctx, debug)
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def _invoke(self, ctx: click.Context, debug: bool) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt as exc:
            if debug:
                traceback.print_exc()
            # 128 + the signal, as a shell reports it: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP
            ctx.exit(128 + int(getattr(exc, "signum", signal.SIGINT)))
        except ReleaseError as exc:
            self._fail(ctx, str(exc), debug)
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise  # the reader of our output went away (`... | head -1`): click exits quietly
            self._fail(ctx, describe_os_error(exc, _command_paths(ctx)), debug)
        except Exception as exc:
            detail = " ".join(str(exc).split())
            if len(detail) > 300:
                detail = detail[:297] + "..."
            message = f"internal error (a bug in codex-release): {type(exc).__name__}: {detail}"
            if not debug:
                message += f"; rerun with --debug (or {DEBUG_ENV}=1) for the traceback and report it"
            self._fail(ctx, message, debug)
        return None

    @staticmethod
    def _fail(ctx: click.Context, message: str, debug: bool) -> None:
        if debug:
            traceback.print_exc()
        click.echo(f"Error: {one_line(message)}", err=True)
        ctx.exit(1)
