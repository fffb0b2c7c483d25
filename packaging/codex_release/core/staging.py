"""One output discipline for every command that writes: where outputs may go, one writer at a time, and
nothing stray left behind.

Every writer goes through this module: ``stage-runtime`` (STAGING_DIR and ``--wheel-dir``), ``stage-sdk``
(STAGING_DIR and ``--dist-dir``), ``release`` (``--dist-dir``), ``generate-types`` (``--out``) and
``fetch-runtime`` (``--dest``).

**Where** (:func:`check_place`, before anything is written). A destination is never:

* ``/``, the home directory, or a directory that contains the home directory. (Release engineers work
  *under* their home, so "inside home" is allowed; "is or contains" is what destroys it.)
* SOURCE (the command's inputs), inside SOURCE, or a directory that contains SOURCE.
* a path that runs through a file (``STAGING`` under a file), or an existing file.
* the checkout, a directory that contains it, or a path inside it, with two exceptions chosen per
  destination by ``in_checkout``:

  - ``"ignored"``, for directories that only receive finished artifacts (``release --dist-dir``,
    ``stage-sdk --dist-dir``, ``stage-runtime --wheel-dir``, ``fetch-runtime --dest``): a path that
    git ignores and that holds no tracked file, such as the README's ``dist/``. This is the one rule
    that lets ``make release`` write ``dist/`` in the checkout while ``.``, ``docs/``, ``sdk/``, any
    tracked directory, anything holding tracked files and any new directory git would show as untracked
    are refused: what git ignores is by the project's own declaration not source. Without a usable git
    (an unpacked source archive) only ``<checkout>/dist`` itself is allowed.
  - ``"generated"``, for ``generate-types``: only ``sdk/src/openai_codex/generated``, which is replaced
    whole and atomically.

  Staging trees (STAGING_DIR) are never inside the checkout: they are projects that a build could pick
  up, and staging must not modify the source tree.

**What may be replaced** (:func:`check_replaceable`, under the lock): an absent or empty directory, one
that ``ours`` recognises (``release`` recognises its own earlier output by its ``manifest.json``), or
anything with ``--overwrite``. Checked under the lock, so a run that waited sees what the other wrote.

**One writer at a time** (:func:`hold`): an exclusive ``filelock`` lock on ``.<name>.lock`` beside the
destination (files such as a wheel are locked one by one, so parallel runs writing different wheels into
one ``--wheel-dir`` do not contend). A second run waits up to ``CODEX_RELEASE_LOCK_WAIT`` seconds
(default 10), then refuses naming the holder's PID. The lock file lives beside the destination, not in
a cache, so every process that can write the destination, whatever its environment, meets the same
lock; it is removed by its holder before unlocking, so a finished run leaves nothing. Removing a lock
file that others may wait on is safe with ``filelock``: a waiter that wins the lock of an unlinked file
notices (link count 0) and retries on the path. A lock file left by a killed run is not locked by
anyone; the next run locks it, uses it and removes it.

**Nothing stray**: scratch directories (``.<name>.new-<pid>-*``), partial files (``.<file>.<pid>-*.part``)
and private temporary directories (``codex-release-<what>-<pid>-*``) carry their owner's PID. While a
destination is held, SIGTERM and SIGHUP raise :class:`Terminated` (a ``KeyboardInterrupt``, as SIGINT
raises) so cleanup runs on the way out, and the handlers are restored afterwards; the swap and the cleanup
themselves run with these signals deferred, so a signal never leaves half a swap. A run killed outright
(SIGKILL) leaves its scratch behind: the next run sweeps every scratch whose owner process is gone (a PID
now used by another process is left alone, never a live run's work). A failure after staging leaves the
previous destination as it was: the new content is swapped in only at the very end.

Why hand-written: the rules are this project's policy; the lock itself is ``filelock``'s.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import Any, Literal

from codex_release.core.locations import Checkout
from codex_release.errors import DestinationRefused, InputRefused, ToolFailed

__all__ = [
    "LOCK_WAIT_ENV",
    "Terminated",
    "check_place",
    "check_replaceable",
    "deferred_signals",
    "hold",
    "overlaps",
    "part_prefix",
    "private_tempdir",
    "replace_when_done",
    "sweep_stale",
]

LOCK_WAIT_ENV = "CODEX_RELEASE_LOCK_WAIT"
_DEFAULT_LOCK_WAIT = 10.0
_GIT_TIMEOUT = 30.0

InCheckout = Literal["refuse", "ignored", "generated"]


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived while a destination was held; raised so cleanup runs on the way out."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by {signal.Signals(signum).name}")
        self.signum = signum


def overlaps(a: Path, b: Path) -> bool:
    """Whether one of two resolved paths is, or lies inside, the other."""
    return a == b or a in b.parents or b in a.parents


_own_scratch: set[Path] = set()
"""Scratch directories of destinations this process has checked and holds (see :func:`replace_when_done`)."""

# -- where ------------------------------------------------------------------------------------------------


def _git(checkout: Path, *args: str) -> subprocess.CompletedProcess[str] | None:
    """``git -C checkout ARGS`` through the one subprocess helper; ``None`` when git is missing or fails to run."""
    from codex_release import processes

    git = shutil.which("git")
    if git is None or not (checkout / ".git").exists():
        return None
    try:
        return processes.run([git, "-C", str(checkout), *args], timeout=_GIT_TIMEOUT)
    except ToolFailed:
        return None


def _ignored_output(checkout: Path, path: Path) -> bool:
    """Whether ``path`` (inside ``checkout``) is a directory git ignores that holds no tracked file."""
    relative = path.relative_to(checkout)
    if ".git" in relative.parts:
        return False
    ignored = _git(checkout, "check-ignore", "-q", "--", f"{relative.as_posix()}/")
    if ignored is None or ignored.returncode not in (0, 1):
        return path == checkout / "dist"  # no usable git: only the README's default output directory
    if ignored.returncode != 0:
        return False
    tracked = _git(checkout, "ls-files", "-z", "--cached", "--", relative.as_posix())
    return tracked is not None and tracked.returncode == 0 and not tracked.stdout


def _through_a_file(resolved: Path) -> Path | None:
    for parent in reversed(resolved.parents):
        if parent.exists() and not parent.is_dir():
            return parent
    return None


def check_place(
    dest: Path,
    *,
    label: str,
    checkout: Path,
    sources: Mapping[str, Path] | None = None,
    in_checkout: InCheckout = "refuse",
) -> Path:
    """Check where ``dest`` (named ``label`` in messages) lies and return it resolved (see the module doc).

    ``checkout`` is the root of the checkout the command works on (the CLI's ``Checkout.root``);
    ``sources`` maps names to the command's inputs.
    """
    resolved = dest.absolute().resolve()
    if resolved == Path(resolved.anchor):
        raise DestinationRefused(f"{label} {dest} is the file system root: pass a directory of its own")
    home = Path.home().absolute().resolve()
    if resolved == home or resolved in home.parents:
        raise DestinationRefused(
            f"{label} {dest} is the home directory {home} or contains it: pass a directory of its own, e.g. {home}/dist"
        )
    for name, other in (sources or {}).items():
        if overlaps(resolved, other.absolute().resolve()):
            raise DestinationRefused(f"{label} {dest} overlaps {name} {other}: choose a separate directory")
    if any(scratch in resolved.parents for scratch in _own_scratch):
        # Inside the scratch of a destination this process already checked and holds (release writes its
        # wheels into the new tree of --dist-dir, which may be the checkout's ignored dist/).
        return resolved
    repo = checkout.absolute().resolve()
    inside = repo in resolved.parents
    if resolved == repo or resolved in repo.parents or (inside and in_checkout == "refuse"):
        raise DestinationRefused(
            f"{label} {dest} is inside the repository {repo} (or contains it): write outside the checkout, "
            "e.g. in a temporary directory"
        )
    if inside and in_checkout == "generated" and resolved != (generated := Checkout(repo).generated):
        raise DestinationRefused(
            f"{label} {dest} is inside the repository {repo}: the only directory of the checkout "
            f"generate-types writes is {generated.relative_to(repo).as_posix()}; pass that or a directory outside"
        )
    if inside and in_checkout == "ignored" and not _ignored_output(repo, resolved):
        raise DestinationRefused(
            f"{label} {dest} is inside the repository {repo} and is not a git-ignored output directory "
            "(it is tracked, holds tracked files or is not ignored): use dist/ or a directory outside"
        )
    blocker = _through_a_file(resolved)
    if blocker is not None:
        raise DestinationRefused(
            f"{label} {dest} lies under {blocker}, which is a file: pass a path through directories"
        )
    if resolved.exists() and not resolved.is_dir():
        raise DestinationRefused(f"{label} {dest} is a file: pass a directory")
    return resolved


def check_replaceable(
    dest: Path,
    *,
    label: str,
    overwrite: bool,
    ours: Callable[[Path], str | None] | None = None,
    fix: str = "pass --overwrite to replace it or choose another",
) -> None:
    """Refuse to replace a non-empty ``dest`` unless ``overwrite`` or ``ours(dest)`` recognises it.

    ``ours`` returns ``None`` for content an earlier run of the same command wrote, else why it is not.
    Call it while holding ``dest`` (:func:`hold`), so what another run just wrote counts.
    """
    if overwrite or not dest.is_dir():
        return
    if not any(dest.iterdir()):
        return
    if ours is None:
        raise DestinationRefused(f"{label} {dest} is not empty: {fix}")
    reason = ours(dest)
    if reason is not None:
        raise DestinationRefused(f"{label} {dest} is not empty and {reason}: {fix}")


# -- signals ----------------------------------------------------------------------------------------------

_TERMINATING = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None)
_signal_state: dict[str, Any] = {"holds": 0, "previous": {}, "critical": 0, "pending": None}
_signal_lock = threading.RLock()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if _signal_state["critical"]:
        if _signal_state["pending"] is None:
            _signal_state["pending"] = signum
        return
    _raise_for(signum)


def _raise_for(signum: int) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


@contextmanager
def _signals_as_exceptions() -> Iterator[None]:
    """SIGTERM/SIGHUP (and SIGINT) raise in the main thread while at least one destination is held."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with _signal_lock:
        if _signal_state["holds"] == 0:
            previous: dict[int, Any] = {}
            for signum in _TERMINATING:
                if signal.getsignal(signum) == signal.SIG_DFL:
                    previous[signum] = signal.signal(signum, _on_signal)
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                previous[signal.SIGINT] = signal.signal(signal.SIGINT, _on_signal)
            _signal_state["previous"] = previous
        _signal_state["holds"] += 1
    try:
        yield
    finally:
        with _signal_lock:
            _signal_state["holds"] -= 1
            if _signal_state["holds"] == 0:
                for signum, handler in _signal_state["previous"].items():
                    signal.signal(signum, handler)
                _signal_state["previous"] = {}


@contextmanager
def deferred_signals() -> Iterator[None]:
    """Run a swap or a cleanup to its end: a signal that arrives meanwhile is raised right after."""
    _signal_state["critical"] += 1
    try:
        yield
    finally:
        _signal_state["critical"] -= 1
        pending = _signal_state["pending"]
        if not _signal_state["critical"] and pending is not None:
            _signal_state["pending"] = None
            _raise_for(pending)


# -- stale scratch ----------------------------------------------------------------------------------------

_SCRATCH = re.compile(r"^\.(?P<name>.+)\.new-(?P<pid>\d+)-[^/]*$")
_PART = re.compile(r"^\..+\.(?P<pid>\d+)-[^/.]*\.part$")
_PRIVATE = re.compile(r"^codex-release-[a-z-]+?-(?P<pid>\d+)-[^/]*$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our PID on a leftover: it belonged to an earlier process that had the same number
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with suppress(OSError):
            path.unlink()


def sweep_stale(directory: Path, name: str | None = None) -> list[Path]:
    """Remove the scratch (of ``name``, or of any destination), ``.part`` files and private temporary
    directories in ``directory`` whose owner process is gone. Returns what was removed."""
    removed: list[Path] = []
    try:
        entries = list(directory.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _SCRATCH.match(entry.name)
        if match is not None and name is not None and match["name"] != name:
            match = None
        match = match or _PART.match(entry.name) or _PRIVATE.match(entry.name)
        if match is not None and not _alive(int(match["pid"])):
            with deferred_signals():
                _remove(entry)
            removed.append(entry)
    return removed


def part_prefix(filename: str) -> str:
    """The prefix of a partial file of ``filename``: ``.<filename>.<pid>-`` (then random, then ``.part``)."""
    return f".{filename}.{os.getpid()}-"


@contextmanager
def private_tempdir(what: str) -> Iterator[Path]:
    """A temporary directory ``codex-release-<what>-<pid>-*`` in TMPDIR, removed on the way out; those of
    dead processes are swept first."""
    root = Path(tempfile.gettempdir())
    sweep_stale(root)
    path = Path(tempfile.mkdtemp(prefix=f"codex-release-{what}-{os.getpid()}-"))
    try:
        yield path
    finally:
        with deferred_signals():
            shutil.rmtree(path, ignore_errors=True)


# -- one writer at a time ---------------------------------------------------------------------------------


def _lock_wait(wait: float | None) -> float:
    if wait is not None:
        return wait
    raw = os.environ.get(LOCK_WAIT_ENV, "").strip()
    try:
        return float(raw) if raw else _DEFAULT_LOCK_WAIT
    except ValueError:
        raise InputRefused(
            f"{LOCK_WAIT_ENV}={raw!r} is not a number of seconds: set it to e.g. 30 or unset it"
        ) from None


def _write_pid(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)


def _holder(lock_path: Path) -> str:
    try:
        text = lock_path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (pid {text})" if text.isdigit() else ""


def _make_parents(directory: Path) -> list[Path]:
    missing = [p for p in (directory, *directory.parents) if not p.exists()]
    missing.reverse()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DestinationRefused(
            f"cannot create {directory}: {exc.strerror or exc}: choose a writable directory"
        ) from None
    return missing


@contextmanager
def hold(dest: Path, *, label: str, wait: float | None = None) -> Iterator[Path]:
    """Hold the exclusive lock of ``dest`` (a resolved path from :func:`check_place`) and yield it.

    While held: SIGTERM/SIGHUP unwind as :class:`Terminated`; stale scratch of ``dest`` is swept first.
    Parent directories this call had to create are removed again if the body fails and they are empty.
    """
    from filelock import FileLock, Timeout

    created = _make_parents(dest.parent)
    lock_path = dest.parent / f".{dest.name}.lock"
    lock = FileLock(lock_path, timeout=_lock_wait(wait), thread_local=False, on_acquired=_write_pid)
    try:
        with _signals_as_exceptions():
            try:
                lock.acquire()
            except Timeout:
                raise DestinationRefused(
                    f"{label} {dest} is being written by another codex-release run{_holder(lock_path)}: wait for it "
                    f"to finish (or raise {LOCK_WAIT_ENV}) or choose another destination"
                ) from None
            except OSError as exc:
                raise DestinationRefused(
                    f"cannot lock {label} {dest} ({lock_path}: {exc.strerror or exc}): choose a writable directory"
                ) from None
            try:
                sweep_stale(dest.parent, dest.name)
                yield dest
            finally:
                with deferred_signals():
                    with suppress(OSError):
                        lock_path.unlink()
                    lock.release()
    except BaseException:
        for directory in reversed(created):
            with suppress(OSError):
                directory.rmdir()
        raise


@contextmanager
def replace_when_done(dest: Path, *, keep_if: Callable[[Path], bool] | None = None) -> Iterator[Path]:
    """Yield a fresh empty directory beside ``dest``; on success it becomes ``dest``, on failure it is removed.

    Call it while holding ``dest``. The scratch directory ``.<name>.new-<pid>-*`` holds the new tree and,
    during the swap, the previous one, and is removed as a unit. ``keep_if(new)`` true keeps the previous
    ``dest`` (e.g. nothing changed). The swap and the cleanup run with signals deferred.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.new-{os.getpid()}-")).resolve()
    new = scratch / "new"
    new.mkdir()
    _own_scratch.add(scratch)
    try:
        yield new
        with deferred_signals():
            if keep_if is None or not keep_if(new):
                if dest.exists():
                    os.replace(dest, scratch / "old")
                os.replace(new, dest)
    finally:
        with deferred_signals():
            _own_scratch.discard(scratch)
            shutil.rmtree(scratch, ignore_errors=True)


def write_text_files(directory: Path, texts: Mapping[str, str], *, label: str) -> None:
    """Write small text files into ``directory`` (checked and held by the caller): each through a partial
    file ``.<name>.<pid>-*.part`` renamed into place, so a reader sees the old file or the new one, never
    half of one, and a failure leaves no partial file."""
    for name, text in texts.items():
        try:
            fd, temporary = tempfile.mkstemp(dir=directory, prefix=part_prefix(name), suffix=".part")
        except OSError as exc:
            raise DestinationRefused(f"cannot write {label} {directory / name}: {exc.strerror or exc}") from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            os.chmod(temporary, 0o644)
            with deferred_signals():
                os.replace(temporary, directory / name)
        except OSError as exc:
            Path(temporary).unlink(missing_ok=True)
            raise DestinationRefused(f"cannot write {label} {directory / name}: {exc.strerror or exc}") from None
        except BaseException:
            with deferred_signals():
                Path(temporary).unlink(missing_ok=True)
            raise
