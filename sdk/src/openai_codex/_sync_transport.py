"""The threaded driver: ``codex app-server`` as a subprocess, read by one reader thread.

Threads: one reads stdout and feeds the :class:`ProtocolCore`, one drains stderr into a bounded tail, and
server-to-client requests are answered on short-lived threads (a handler may block, e.g. to ask a human,
without stalling the event stream), as are tool hooks. Callers block on ``concurrent.futures.Future`` objects
(requests), ``queue.SimpleQueue`` objects (one per running turn) and the bounded buffers of events subscriptions.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import queue
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeoutError
from functools import partial
from typing import IO, TYPE_CHECKING, Any, TypeAlias

from openai_codex import tools
from openai_codex._drivers import (
    COALESCE_BELOW,
    COALESCE_S,
    EVENTS_CAP,
    EventBuffer,
    completed_items,
    dispatch,
    encode_answer,
    end_process_tree,
    fail_all,
    hook_failure,
    input_closed_error,
    plan_answer,
    request_timeout_error,
)
from openai_codex._goals import INTERRUPT_WAIT_S
from openai_codex._protocol import Event, ProtocolCore, ServerRequest
from openai_codex._runtime import (
    StderrTail,
    api_key_login_params,
    check_initialize_result,
    closed_error,
    explain_startup_exit,
    initialize_params,
    kill_tree,
    launch_spec,
    popen_options,
    sdk_version,
    startup_timeout_error,
    wait_for_exit,
)
from openai_codex.config import CodexConfig
from openai_codex.errors import CodexError, RuntimeNotFoundError, TransportClosedError
from openai_codex.hooks import Hooks, judge
from openai_codex.notifications import Notification

if TYPE_CHECKING:
    from types import TracebackType

    from openai_codex._transport import Transport

__all__ = ["EventSubscription", "SyncTransport", "TurnSink"]

_log = logging.getLogger("openai_codex")
_READ_CHUNK = 1 << 16

Abandoned: TypeAlias = "Callable[[Any, TurnSink], None]"
"""Stops what a start request started, given its answer and sink (the client's turn or goal handle does)."""


class TurnSink:
    """The events of one turn, in order; ends with ``turn/completed`` or a :class:`CodexError`.

    The reader thread puts what one read delivered as one list (one queue operation, one wake-up of the
    consumer); the consumer takes a list at a time into :attr:`_taken` and hands its notifications out
    one by one. Only one thread consumes a turn (the handles hold a lock around it)."""

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[list[Notification] | CodexError] = queue.SimpleQueue()
        self._taken: deque[Notification] = deque()

    def get(self, timeout: float | None = None) -> Notification:
        """The next event (raises ``queue.Empty`` after ``timeout`` seconds without one)."""
        taken = self._taken
        if taken:
            return taken.popleft()
        item = self.queue.get(timeout=timeout)
        if isinstance(item, CodexError):
            self.queue.put(item)  # every later get() fails the same way
            raise item
        taken.extend(item)
        return taken.popleft()

    def put(self, item: Notification | CodexError) -> None:
        self.queue.put_nowait(item if isinstance(item, CodexError) else [item])

    def put_many(self, notes: list[Notification]) -> None:
        if notes:
            self.queue.put_nowait(notes)


class EventSubscription:
    """What ``codex.events()`` and ``thread.events()`` return: every notification no turn handle consumes.

    Subscribe, then receive: it gets what arrives after it was made, nothing from before (and nothing is
    kept while nobody subscribes). It holds at most ``max_buffered`` unread notifications (default
    1,000): when one more arrives the oldest is dropped and counted in :attr:`dropped` (the first drop logs
    one warning), so a subscriber that stops reading costs bounded memory. Iterate it (blocking), or call
    :meth:`get` with a timeout. Iteration ends (``StopIteration``) when the subscription or the client is
    closed; if the app-server dies it raises :class:`~openai_codex.TransportClosedError`. A context manager:
    leaving the ``with`` block closes it.
    """

    def __init__(self, transport: SyncTransport, thread_id: str | None = None, max_buffered: int = EVENTS_CAP) -> None:
        self._buffer = EventBuffer(max_buffered)
        self._ready = threading.Condition()
        self._transport = transport
        self.thread_id = thread_id
        """The thread whose events this receives (``None``: every thread's and the client-wide ones)."""
        transport.subscribe(self, thread_id)

    def __repr__(self) -> str:
        return f"EventSubscription(thread_id={self.thread_id!r}, dropped={self.dropped})"

    @property
    def dropped(self) -> int:
        """How many notifications were dropped, unread, because ``max_buffered`` were waiting."""
        return self._buffer.dropped

    def put(self, item: Notification | CodexError) -> None:
        with self._ready:
            self._buffer.push(item)
            self._ready.notify_all()

    def put_many(self, notes: list[Notification]) -> None:
        with self._ready:
            self._buffer.push_many(notes)
            self._ready.notify_all()

    def get(self, timeout: float | None = None) -> Notification | None:
        """The next notification, waiting up to ``timeout`` seconds (``None``: as long as it takes) and then
        raising :class:`TimeoutError`; ``None`` once the subscription has ended."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._ready:
            while not self._buffer.items and not self._buffer.ended:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"no event within {timeout:g}s")
                self._ready.wait(remaining)
            return self._buffer.pop(self._transport.closing)

    def __iter__(self) -> EventSubscription:
        return self

    def __next__(self) -> Notification:
        note = self.get()
        if note is None:
            raise StopIteration
        return note

    def close(self) -> None:
        """Stop receiving (what is unread is discarded); iteration ends. Idempotent."""
        self._transport.unsubscribe(self)
        with self._ready:
            self._buffer.close()
            self._ready.notify_all()

    def __enter__(self) -> EventSubscription:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _call_hook(hook: Any, argument: Any) -> object:
    """Call a hook in this (its own) thread; a coroutine runs on a private event loop. Returns the
    exception it raised instead of raising it."""
    try:
        outcome = hook(argument)
        if inspect.isawaitable(outcome):
            import asyncio

            async def _await(awaitable: Any) -> object:
                return await awaitable

            outcome = asyncio.run(_await(outcome))
        return outcome
    except Exception as exc:
        return exc


_UNSET: Any = object()


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    return True


class SyncTransport:
    """One running ``codex app-server`` and its connection; initialised when constructed."""

    def __init__(self, config: CodexConfig, hooks: Hooks | None = None) -> None:
        self._config = config
        self.hooks = hooks
        argv, env = launch_spec(config)
        self._argv, self._env = argv, env
        self.binary = argv[0]
        self._core: ProtocolCore[TurnSink | EventSubscription] = ProtocolCore()
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stderr = StderrTail()
        self._closing = False
        self._shutting_down = False
        self._close_lock = threading.Lock()
        self._connection_lost = threading.Event()
        self._lost = False
        self._slots = threading.Semaphore(config.max_in_flight_requests)
        self.runtime_version: str | None = None
        self.tools: dict[str, dict[str, tools.Tool]] = {}
        """Client-defined tools by thread id (experimental; see :mod:`openai_codex.tools`)."""
        self.initialize_result: dict[str, Any] = {}
        try:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=os.fspath(config.cwd) if config.cwd is not None else None,
                **popen_options(),
            )
        except OSError as exc:
            raise RuntimeNotFoundError(f"cannot run {self.binary!r}: {exc.strerror or exc}") from exc
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        assert self._proc.stderr is not None
        self._stdin: IO[bytes] = self._proc.stdin
        self._stderr_thread = threading.Thread(
            target=self._drain_stderr, args=(self._proc.stderr,), name="codex-stderr", daemon=True
        )
        self._reader = threading.Thread(target=self._read_loop, args=(self._proc.stdout,), name="codex-reader")
        self._reader.daemon = True
        self._watcher = threading.Thread(target=self._watch_exit, name="codex-exit-watcher", daemon=True)
        self._stderr_thread.start()
        self._reader.start()
        self._watcher.start()
        try:
            self._initialize()
        except BaseException:
            self._shutdown(grace=0.0)  # it failed to start: no graceful wait, the whole tree ends now
            raise

    # ------------------------------------------------------------------ start-up
    def _initialize(self) -> None:
        timeout = self._config.startup_timeout_s
        try:
            result = self.request("initialize", initialize_params(self._config, sdk_version()), timeout=timeout)
        except TransportClosedError as exc:
            raise explain_startup_exit(self._argv, self._env, exc.returncode, exc.stderr_tail) from None
        except TimeoutError:
            raise startup_timeout_error(timeout, self._stderr.text()) from None
        self.runtime_version = check_initialize_result(result, self.binary)
        self.initialize_result = result
        self.notify("initialized")
        login = api_key_login_params(self._config)
        if login is not None:  # CodexConfig(api_key=...): signed in, in memory, before any other request
            self.request("account/login/start", login, timeout=timeout)

    # ------------------------------------------------------------------ outgoing
    def _write(self, data: bytes) -> None:
        try:
            with self._write_lock:
                self._stdin.write(data)
                self._stdin.flush()
        except (OSError, ValueError):
            # The process is gone: let the reader observe EOF and build the error with the exit code.
            self._connection_lost.wait(timeout=5)
            raise input_closed_error(self._core.closed) from None

    def notify(self, method: str, params: Mapping[str, Any] | None = None) -> None:
        with self._lock:
            if self._core.closed is not None:
                raise self._core.closed
        self._write(ProtocolCore.notification(method, params))

    @contextlib.contextmanager
    def _slot(self) -> Iterator[None]:
        """One of ``max_in_flight_requests`` places for an unanswered request.

        The app-server's request queue is bounded: flooded, it answers -32001 and, worse, may drop
        requests without any answer. Capping what this client has in flight keeps it below that.
        """
        self._slots.acquire()
        try:
            if self._core.closed is not None:
                raise self._core.closed
            yield
        finally:
            self._slots.release()  # after connection loss this wakes the next waiter, which raises too

    def request(self, method: str, params: Mapping[str, Any] | None = None, *, timeout: float | None = _UNSET) -> Any:
        """Send a request and wait for its result (the contract: :mod:`openai_codex._transport`; this driver
        was started by its constructor, so there is nothing to start here).

        ``timeout`` defaults to ``CodexConfig.request_timeout_s``; ``None`` waits as long as it takes.
        """
        if timeout is _UNSET:
            timeout = self._config.request_timeout_s
        with self._slot():
            future: Future[Any] = Future()
            with self._lock:
                request_id, data = self._core.request(method, params, future)
            return self._send_and_wait(request_id, data, future, timeout)

    def start_turn(
        self, thread_id: str, params: Mapping[str, Any], *, abandoned: Abandoned | None = None
    ) -> tuple[Any, TurnSink]:
        """``turn/start``; the returned sink receives the turn's events (including any that raced ahead).

        ``abandoned(result, sink)`` stops the turn when Ctrl-C comes while the answer is on its way (see
        :meth:`_abandon_start`)."""
        with self._slot():
            sink = TurnSink()
            future: Future[Any] = Future()
            with self._lock:
                request_id, data = self._core.start_turn(thread_id, params, sink, future)
            on_interrupt = None if abandoned is None else partial(self._abandon_start, future, sink, abandoned)
            return self._send_and_wait(request_id, data, future, self._config.request_timeout_s, on_interrupt), sink

    def start_goal(
        self, thread_id: str, params: Mapping[str, Any], *, abandoned: Abandoned | None = None
    ) -> tuple[Any, TurnSink]:
        """``thread/goal/set``; the returned sink receives the goal run (every turn the runtime starts for it).
        ``abandoned`` as for :meth:`start_turn`."""
        with self._slot():
            sink = TurnSink()
            future: Future[Any] = Future()
            with self._lock:
                request_id, data = self._core.start_goal(thread_id, params, sink, future)
            on_interrupt = None if abandoned is None else partial(self._abandon_start, future, sink, abandoned)
            return self._send_and_wait(request_id, data, future, self._config.request_timeout_s, on_interrupt), sink

    def _abandon_start(self, future: Future[Any], sink: TurnSink, abandoned: Abandoned) -> None:
        """Ctrl-C came while the request that starts work (``turn/start``, ``thread/goal/set``) was on its way,
        so the runtime may be running it already: wait up to :data:`INTERRUPT_WAIT_S` for the answer, then
        let ``abandoned(result, sink)`` stop what it started (interrupt the turn, wait for it to end). A
        second Ctrl-C gives up the wait; the sink is released in any case."""
        try:
            with contextlib.suppress(FutureTimeoutError, CodexError, KeyboardInterrupt):
                result = future.result(INTERRUPT_WAIT_S)
                abandoned(result, sink)
        finally:
            self.release(sink)

    def goal_turn(self, sink: TurnSink) -> str | None:
        """The goal run's turn in progress, as read so far (``None``: none)."""
        with self._lock:
            return self._core.goal_turn(sink)

    def _send_and_wait(
        self,
        request_id: int,
        data: bytes,
        future: Future[Any],
        timeout: float | None,
        on_interrupt: Callable[[], None] | None = None,
    ) -> Any:
        """Write a request and wait for its answer; ``on_interrupt()`` runs first if Ctrl-C comes once it is
        written (the runtime may be acting on it)."""
        written = False
        try:
            self._write(data)
            written = True
            return future.result(timeout)
        except FutureTimeoutError:
            with self._lock:
                self._core.forget(request_id)
            raise request_timeout_error(timeout) from None
        except BaseException as exc:
            if written and on_interrupt is not None and isinstance(exc, KeyboardInterrupt):
                on_interrupt()
            with self._lock:
                self._core.forget(request_id)  # e.g. KeyboardInterrupt: stop routing to an abandoned turn
            raise

    def watch(self, method: str) -> TurnSink:
        """A sink that receives every ``method`` notification (until :meth:`unwatch`)."""
        sink = TurnSink()
        with self._lock:
            if self._core.closed is not None:
                raise self._core.closed
            self._core.watch(method, sink)
        return sink

    def unwatch(self, sink: TurnSink) -> None:
        with self._lock:
            self._core.unwatch(sink)

    def release(self, sink: TurnSink) -> None:
        """Stop routing events to ``sink``."""
        with self._lock:
            self._core.remove_sink(sink)

    def subscribe(self, subscription: EventSubscription, thread_id: str | None) -> None:
        """Route every notification no turn claims (of ``thread_id`` only, if given) to ``subscription``."""
        with self._lock:
            closed = self._core.closed
            if closed is None:
                self._core.subscribe(subscription, thread_id)
        if closed is not None:
            subscription.put(closed)

    def unsubscribe(self, subscription: EventSubscription) -> None:
        with self._lock:
            self._core.unsubscribe(subscription)

    @property
    def closing(self) -> bool:
        """Whether the client closed (or abandoned) the connection, as opposed to the app-server leaving."""
        return self._closing

    # ------------------------------------------------------------------ incoming
    def _read_loop(self, stdout: IO[bytes]) -> None:
        try:
            while True:
                data = stdout.read1(_READ_CHUNK)  # type: ignore[attr-defined]
                if not data:
                    break
                with self._lock:
                    events = self._core.receive_data(data)
                self._dispatch(events)
                if len(data) < COALESCE_BELOW:
                    time.sleep(COALESCE_S)
        except Exception:  # never let a bug here leave callers hanging
            _log.exception("codex reader thread failed")
        finally:
            self._on_eof()

    def _dispatch(self, events: list[Event[TurnSink | EventSubscription]]) -> None:
        dispatch(events, self._start_answer)
        if self.hooks is not None and self.hooks.any_after:
            for note in completed_items(events):
                found = self.hooks.after(note)
                if found is not None:
                    threading.Thread(target=self._after, args=(*found, note), name="codex-hook", daemon=True).start()

    def _after(self, name: str, hook: Any, note: Notification) -> None:
        outcome = _call_hook(hook, note.payload)
        if isinstance(outcome, BaseException):
            self._report(hook_failure(name, outcome, note.method, note.params))

    def _report(self, note: Notification) -> None:
        with self._lock:
            events = self._core.publish(note)
        dispatch(events, self._start_answer)

    def _start_answer(self, request: ServerRequest) -> None:
        threading.Thread(target=self._answer, args=(request,), name="codex-approval", daemon=True).start()

    def _answer(self, request: ServerRequest) -> None:
        if self.hooks is not None and self._answer_by_hook(request, self.hooks):
            return
        approval, tool, decision = plan_answer(request, self._config, self.tools)
        if tool is not None:
            decision = tools.run(tool, request.params)
        with contextlib.suppress(CodexError):
            self._write(encode_answer(request.request_id, approval, decision))

    def _answer_by_hook(self, request: ServerRequest, hooks: Hooks) -> bool:
        """Let a ``before_*`` hook decide ``request``; False when none did (no hook, or it returned None)."""
        approval = request.approval()
        found = hooks.before(approval)
        if found is None:
            return False
        name, hook = found
        verdict = judge(name, approval, _call_hook(hook, approval))
        if verdict is None:
            return False
        if verdict.failure is not None:
            self._report(hook_failure(name, verdict.failure, request.method, request.params))
        if verdict.steer is not None:  # the reason, for the model: the answer itself cannot carry one
            with contextlib.suppress(CodexError, TimeoutError):
                self.request("turn/steer", verdict.steer, timeout=10.0)
        with contextlib.suppress(CodexError):
            self._write(encode_answer(request.request_id, approval, verdict.decision))
        return True

    def _drain_stderr(self, stderr: IO[bytes]) -> None:
        try:
            while True:
                data = stderr.read1(_READ_CHUNK)  # type: ignore[attr-defined]
                if not data:
                    return
                self._stderr.feed(data)
        except (OSError, ValueError):
            return

    def _watch_exit(self) -> None:
        """Wake every waiter when the process exits, even if its pipes stay open (a straggling child)."""
        returncode = wait_for_exit(self._proc)
        if not self._connection_lost.wait(0.5):  # normally the reader has seen EOF by now
            self._lose_connection(returncode)

    def _on_eof(self) -> None:
        try:
            returncode: int | None = self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            returncode = None
        self._lose_connection(returncode)

    def _lose_connection(self, returncode: int | None) -> None:
        """Fail every pending request and running turn with one TransportClosedError. Idempotent."""
        with self._lock:
            if self._lost:
                return
            self._lost = True
        self._stderr_thread.join(timeout=0.5)  # the last lines, if they are coming
        if returncode is None:
            returncode = self._proc.poll()  # the exit watcher may have lost the race to the reaper
        error = closed_error(self._closing, returncode, self._stderr.text())
        with self._lock:
            waiters, sinks = self._core.connection_lost(error)
        fail_all(waiters, sinks, error)
        self._connection_lost.set()
        self._slots.release()  # wake callers waiting for a request slot: they raise the error above

    # ------------------------------------------------------------------ shutdown
    @property
    def closed(self) -> CodexError | None:
        return self._core.closed

    def close(self) -> None:
        """Stop the app-server and everything it started, and reap it. Idempotent.

        EOF on stdin, up to ``shutdown_timeout_s`` for a graceful exit, then SIGTERM (with SIGCONT, for a
        stopped process) and :data:`TERMINATE_GRACE_S`, then SIGKILL; whatever it left in its process
        group is killed in any case.
        """
        self._shutdown(grace=self._config.shutdown_timeout_s)

    def abandon(self) -> None:
        """Kill the whole process tree now, without waiting (the client was garbage-collected unclosed).

        The reader threads then see EOF, reap the process and end.
        """
        self._closing = True
        kill_tree(self._proc.pid, self._proc.kill)  # it leads its own session on POSIX: its helpers die too

    def _shutdown(self, grace: float) -> None:
        with self._close_lock:
            if self._shutting_down:
                return
            self._shutting_down = self._closing = True
        proc = self._proc
        with contextlib.suppress(OSError, ValueError):
            self._stdin.close()  # no write lock: a writer stuck on a frozen runtime's full pipe must not block this
        steps = end_process_tree(proc.pid, proc.terminate, proc.kill, grace)
        with contextlib.suppress(StopIteration):
            timeout = next(steps)
            while True:
                timeout = steps.send(_wait(proc, timeout))
        self._lose_connection(proc.returncode)  # wakes everyone now, even if a pipe is still held open
        deadline = time.monotonic() + 1.0  # EOF follows the exit at once, unless a grandchild holds a pipe
        for thread, stream in ((self._reader, proc.stdout), (self._stderr_thread, proc.stderr)):
            if thread is not threading.current_thread():
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
            # A reader still blocked (a leftover grandchild holds the pipe) owns the stream's lock:
            # closing it would block too, so it is left to the daemon thread.
            if stream is not None and not thread.is_alive():
                with contextlib.suppress(OSError):
                    stream.close()

    @property
    def pid(self) -> int:
        return self._proc.pid


if TYPE_CHECKING:  # mypy holds the driver to the one contract

    def _keeps_the_contract(transport: SyncTransport) -> Transport[Any, None]:
        return transport
