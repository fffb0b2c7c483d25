"""The asyncio driver: ``codex app-server`` through ``asyncio.create_subprocess_exec`` streams.

No threads: one task reads stdout in chunks (so line length is unbounded, unlike
``StreamReader.readline``'s limit) and feeds the :class:`ProtocolCore`, one drains stderr, and each
server-to-client request is answered in its own task, as is each tool hook. Callers await ``asyncio.Future``
objects (requests), ``asyncio.Queue`` objects (one per running turn) and the bounded buffers of events
subscriptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import subprocess
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, TypeAlias

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
    handler_failed,
    hook_failure,
    input_closed_error,
    plan_answer,
    request_timeout_error,
)
from openai_codex._goals import INTERRUPT_WAIT_S
from openai_codex._protocol import ProtocolCore, ServerRequest
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
)
from openai_codex.config import CodexConfig
from openai_codex.errors import CodexError, RuntimeNotFoundError, TransportClosedError
from openai_codex.hooks import Hooks, judge
from openai_codex.notifications import Notification

if TYPE_CHECKING:
    from types import TracebackType

    from openai_codex._transport import Transport

__all__ = ["Abandoned", "AsyncEventSubscription", "AsyncTransport", "AsyncTurnSink", "finish_despite_cancellation"]

_log = logging.getLogger("openai_codex")
_READ_CHUNK = 1 << 16

Abandoned: TypeAlias = "Callable[[Any, AsyncTurnSink], Awaitable[None]]"
"""Stops what a start request started, given its answer and sink (the client's turn or goal handle does)."""


async def finish_despite_cancellation(stop: Awaitable[None]) -> None:
    """Await ``stop`` (bounded by its own timeouts) to its end even if this task is cancelled meanwhile: once,
    or at every await as an anyio cancel scope does; the caller re-raises the cancellation afterwards."""
    task = asyncio.ensure_future(stop)
    while not task.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait({task})
    task.result()


class AsyncTurnSink:
    """The events of one turn, in order; ends with ``turn/completed`` or a :class:`CodexError`.

    A deque and the futures of whoever awaits it: what one read delivered is added at once and wakes the
    consumer once (:meth:`put_many`); the consumer takes what is there without awaiting (:meth:`get_nowait`)."""

    def __init__(self) -> None:
        self._items: deque[Notification] = deque()
        self._error: CodexError | None = None
        self._waiters: list[asyncio.Future[None]] = []

    def get_nowait(self) -> Notification | None:
        """The next notification if one is here (``None``: await :meth:`get`)."""
        items = self._items
        return items.popleft() if items else None

    async def get(self) -> Notification:
        while not self._items:
            if self._error is not None:
                raise self._error  # every later get() fails the same way
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
        return self._items.popleft()

    def _wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    def put(self, item: Notification | CodexError) -> None:
        if isinstance(item, CodexError):
            if self._error is None:
                self._error = item
        elif self._error is None:
            self._items.append(item)
        self._wake()

    def put_many(self, notes: list[Notification]) -> None:
        if self._error is None:
            self._items.extend(notes)
        self._wake()


class AsyncEventSubscription:
    """What ``AsyncCodex.events()`` and ``AsyncThread.events()`` return: every notification no turn handle
    consumes, as an async iterator (``async for note in codex.events()``).

    The same contract as :class:`~openai_codex.EventSubscription`: subscribe, then receive (nothing from
    before it was made; nothing kept while nobody subscribes); at most ``max_buffered`` unread (default
    1,000), the oldest dropped beyond that and counted in :attr:`dropped`; iteration ends
    (``StopAsyncIteration``) when the subscription or the client is closed, and raises
    :class:`~openai_codex.TransportClosedError` if the app-server dies. ``with`` or ``async with`` closes it.
    """

    def __init__(self, transport: AsyncTransport, thread_id: str | None = None, max_buffered: int = EVENTS_CAP) -> None:
        self._buffer = EventBuffer(max_buffered)
        self._wakeup: asyncio.Event | None = None
        self._transport = transport
        self.thread_id = thread_id
        """The thread whose events this receives (``None``: every thread's and the client-wide ones)."""
        transport.subscribe(self, thread_id)

    def __repr__(self) -> str:
        return f"AsyncEventSubscription(thread_id={self.thread_id!r}, dropped={self.dropped})"

    @property
    def dropped(self) -> int:
        """How many notifications were dropped, unread, because ``max_buffered`` were waiting."""
        return self._buffer.dropped

    def put(self, item: Notification | CodexError) -> None:
        self._buffer.push(item)
        if self._wakeup is not None:
            self._wakeup.set()

    def put_many(self, notes: list[Notification]) -> None:
        self._buffer.push_many(notes)
        if self._wakeup is not None:
            self._wakeup.set()

    async def get(self, timeout: float | None = None) -> Notification | None:
        """The next notification, waiting up to ``timeout`` seconds (``None``: as long as it takes) and then
        raising :class:`TimeoutError`; ``None`` once the subscription has ended."""
        if timeout is not None:
            try:
                return await asyncio.wait_for(self.get(), timeout)
            except asyncio.TimeoutError:
                raise TimeoutError(f"no event within {timeout:g}s") from None
        while not self._buffer.items and not self._buffer.ended:
            if self._wakeup is None:
                self._wakeup = asyncio.Event()
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._buffer.pop(self._transport.closing)

    def __aiter__(self) -> AsyncEventSubscription:
        return self

    async def __anext__(self) -> Notification:
        note = await self.get()
        if note is None:
            raise StopAsyncIteration
        return note

    def close(self) -> None:
        """Stop receiving (what is unread is discarded); iteration ends. Idempotent."""
        self._transport.unsubscribe(self)
        self._buffer.close()
        if self._wakeup is not None:
            self._wakeup.set()

    def __enter__(self) -> AsyncEventSubscription:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def __aenter__(self) -> AsyncEventSubscription:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


async def _call_hook(hook: Any, argument: Any) -> object:
    """Call a hook: a coroutine function on this loop, a plain function in a worker thread. Returns the
    exception it raised instead of raising it."""
    try:
        if inspect.iscoroutinefunction(hook):
            return await hook(argument)
        outcome = await asyncio.to_thread(hook, argument)
        if inspect.isawaitable(outcome):
            outcome = await outcome
        return outcome
    except Exception as exc:
        return exc


_UNSET: Any = object()


def _resume(pipe: asyncio.ReadTransport) -> None:
    if not pipe.is_closing():
        with contextlib.suppress(RuntimeError):
            pipe.resume_reading()


class _ExitNotingProtocol(asyncio.subprocess.SubprocessStreamProtocol):
    """asyncio's subprocess protocol, plus a callback when the event loop's child watcher sees the exit.

    That notice comes when the process exits, even if a straggling grandchild keeps its pipes open (from
    Python 3.11 ``Process.wait()`` also waits for the pipes, so it cannot tell), with no thread and no
    ``os.waitid`` (missing on macOS before Python 3.13), on every OS. The callback is held weakly so a
    dropped client can still be collected.

    Its stdout goes straight to ``on_stdout`` (the transport's core and dispatch) from the loop's read
    callback, without the ``StreamReader`` buffer and without a wake-up of the reader task per read; the
    ``stdout`` stream then only carries the EOF to the reader task.
    If ``on_stdout`` fails (a bug) the failure is logged and the stream reports EOF: the connection ends.
    """

    def __init__(
        self,
        on_exit: weakref.WeakMethod[Any],
        loop: asyncio.AbstractEventLoop,
        on_stdout: weakref.WeakMethod[Any] | None = None,
    ) -> None:
        super().__init__(limit=_READ_CHUNK, loop=loop)
        self._on_exit = on_exit
        self._on_stdout = on_stdout
        self._event_loop = loop
        self._process_transport: asyncio.SubprocessTransport | None = None

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        handler = self._on_stdout() if fd == 1 and self._on_stdout is not None else None
        if handler is None:
            super().pipe_data_received(fd, data)
            return
        try:
            handler(data)
        except Exception:  # never let a bug here leave callers hanging
            _log.exception("codex reader failed")
            self._on_stdout = None
            if self.stdout is not None:
                self.stdout.feed_eof()
            return
        if len(data) < COALESCE_BELOW:
            self._coalesce()

    def _coalesce(self) -> None:
        """Let the pipe fill for :data:`COALESCE_S` before the next read (see the sync driver's reader): a
        streaming turn then costs one loop wake-up per batch of lines instead of one per line or two."""
        pipe = self._process_transport.get_pipe_transport(1) if self._process_transport is not None else None
        if not isinstance(pipe, asyncio.ReadTransport) or pipe.is_closing():
            return
        try:
            pipe.pause_reading()
        except (RuntimeError, NotImplementedError):  # a transport that cannot pause: read as it comes
            return
        self._event_loop.call_later(COALESCE_S, _resume, pipe)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if isinstance(transport, asyncio.SubprocessTransport):
            self._process_transport = transport

    def process_exited(self) -> None:
        super().process_exited()
        callback = self._on_exit()
        if callback is not None and self._process_transport is not None:
            callback(self._process_transport.get_returncode())


async def _spawn(
    on_exit: weakref.WeakMethod[Any],
    argv: list[str],
    *,
    on_stdout: weakref.WeakMethod[Any] | None = None,
    **options: Any,
) -> asyncio.subprocess.Process:
    """``asyncio.create_subprocess_exec`` with :class:`_ExitNotingProtocol`."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.subprocess_exec(
        lambda: _ExitNotingProtocol(on_exit, loop, on_stdout), *argv, **options
    )
    return asyncio.subprocess.Process(transport, protocol, loop)


class AsyncTransport:
    """One running ``codex app-server`` and its connection, driven by the running event loop."""

    def __init__(self, config: CodexConfig, hooks: Hooks | None = None) -> None:
        self._config = config
        self.hooks = hooks
        self._core: ProtocolCore[AsyncTurnSink | AsyncEventSubscription] = ProtocolCore()
        self._stderr = StderrTail()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False
        self._shutting_down = False
        self._start_lock: asyncio.Lock | None = None
        self._started = False
        self._closed_by_user = False
        self._start_error: CodexError | None = None
        self._closed_event: asyncio.Event | None = None
        self._write_lock: asyncio.Lock | None = None
        self._slots: asyncio.Semaphore | None = None
        self._exited: asyncio.Future[int | None] | None = None
        self._lost = False
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._stderr_task: asyncio.Task[None] | None = None
        self.binary = ""
        self.runtime_version: str | None = None
        self.tools: dict[str, dict[str, tools.Tool]] = {}
        """Client-defined tools by thread id (experimental; see :mod:`openai_codex.tools`)."""
        self.initialize_result: dict[str, Any] = {}

    async def ensure_started(self) -> AsyncTransport:
        """Start (once, however many callers race here) unless the client was closed.

        A failed start is final: every later call raises its error again and spawns nothing (the failed
        start's app-server is gone and its connection closed; a second one would have no one to end it).
        """
        if self._started:
            return self
        if self._closed_by_user:
            raise TransportClosedError("this AsyncCodex is closed: create a new one")
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self._start_error is not None:
                raise self._start_error
            if not self._started:
                try:
                    await self.start()
                except BaseException as exc:
                    self._start_error = (
                        exc
                        if isinstance(exc, CodexError)
                        else CodexError("the start of this AsyncCodex was interrupted: create a new AsyncCodex")
                    )
                    raise
                self._started = True
        return self

    async def start(self) -> None:
        """Spawn the app-server and complete ``initialize``; on failure everything is cleaned up."""
        argv, env = launch_spec(self._config)
        self.binary = argv[0]
        self._closed_event = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(self._config.max_in_flight_requests)
        self._exited = asyncio.get_running_loop().create_future()
        try:
            self._proc = await _spawn(
                weakref.WeakMethod(self._set_exited),
                argv,
                on_stdout=weakref.WeakMethod(self._receive),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=os.fspath(self._config.cwd) if self._config.cwd is not None else None,
                **popen_options(),
            )
        except OSError as exc:
            raise RuntimeNotFoundError(f"cannot run {self.binary!r}: {exc.strerror or exc}") from exc
        assert self._proc.stdout is not None
        assert self._proc.stderr is not None
        self._stderr_task = asyncio.create_task(self._drain_stderr(self._proc.stderr), name="codex-stderr")
        self._reader = asyncio.create_task(self._read_loop(self._proc.stdout), name="codex-reader")
        try:
            await self._initialize(argv, env)
        except BaseException:
            await self._shutdown(grace=0.0)  # it failed to start: no graceful wait, the whole tree ends now
            raise

    async def _initialize(self, argv: list[str], env: dict[str, str]) -> None:
        timeout = self._config.startup_timeout_s
        try:
            params = initialize_params(self._config, sdk_version())
            result = await self._exchange("initialize", params, timeout)
        except TransportClosedError as exc:
            error = await asyncio.to_thread(explain_startup_exit, argv, env, exc.returncode, exc.stderr_tail)
            raise error from None
        except TimeoutError:
            raise startup_timeout_error(timeout, self._stderr.text()) from None
        self.runtime_version = check_initialize_result(result, self.binary)
        self.initialize_result = result
        await self.notify("initialized")
        login = api_key_login_params(self._config)
        if login is not None:  # CodexConfig(api_key=...): signed in, in memory, before any other request
            await self._exchange("account/login/start", login, timeout)

    # ------------------------------------------------------------------ outgoing
    async def _write(self, data: bytes) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None or self._write_lock is None:  # only reached through a start
            raise TransportClosedError("the app-server is not running")
        try:
            async with self._write_lock:
                proc.stdin.write(data)
                await proc.stdin.drain()
        except (OSError, RuntimeError):
            assert self._closed_event is not None
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._closed_event.wait(), timeout=5)
            raise input_closed_error(self._core.closed) from None

    async def notify(self, method: str, params: Mapping[str, Any] | None = None) -> None:
        """Send a notification (the connection must be started: only ``initialized`` is sent so)."""
        if self._core.closed is not None:
            raise self._core.closed
        await self._write(ProtocolCore.notification(method, params))

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        """One of ``max_in_flight_requests`` places for an unanswered request (see the sync driver)."""
        if self._slots is None:
            raise TransportClosedError("the app-server is not running")
        async with self._slots:
            if self._core.closed is not None:
                raise self._core.closed
            yield

    async def request(
        self, method: str, params: Mapping[str, Any] | None = None, *, timeout: float | None = _UNSET
    ) -> Any:
        """Start if needed, send a request and await its result (the contract: :mod:`openai_codex._transport`).

        ``timeout`` defaults to ``CodexConfig.request_timeout_s``; ``None`` waits as long as it takes.
        """
        await self.ensure_started()
        return await self._exchange(method, params, self._config.request_timeout_s if timeout is _UNSET else timeout)

    async def _exchange(self, method: str, params: Mapping[str, Any] | None, timeout: float | None) -> Any:
        """One request of a started connection (``initialize`` goes here directly: it is part of the start)."""
        async with self._slot():
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            request_id, data = self._core.request(method, params, future)
            return await self._send_and_wait(request_id, data, future, timeout)

    async def start_turn(
        self, thread_id: str, params: Mapping[str, Any], *, abandoned: Abandoned | None = None
    ) -> tuple[Any, AsyncTurnSink]:
        """``turn/start`` (starting if needed); the returned sink receives the turn's events.

        ``abandoned(result, sink)`` stops the turn when the caller is cancelled while the answer is on its
        way (see :meth:`_abandon_start`)."""
        await self.ensure_started()
        async with self._slot():
            sink = AsyncTurnSink()
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            request_id, data = self._core.start_turn(thread_id, params, sink, future)
            on_cancel = None if abandoned is None else partial(self._abandon_start, future, sink, abandoned)
            return await self._send_and_wait(request_id, data, future, self._config.request_timeout_s, on_cancel), sink

    async def start_goal(
        self, thread_id: str, params: Mapping[str, Any], *, abandoned: Abandoned | None = None
    ) -> tuple[Any, AsyncTurnSink]:
        """``thread/goal/set`` (starting if needed); the returned sink receives the goal run. ``abandoned`` as
        for :meth:`start_turn`."""
        await self.ensure_started()
        async with self._slot():
            sink = AsyncTurnSink()
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            request_id, data = self._core.start_goal(thread_id, params, sink, future)
            on_cancel = None if abandoned is None else partial(self._abandon_start, future, sink, abandoned)
            return await self._send_and_wait(request_id, data, future, self._config.request_timeout_s, on_cancel), sink

    async def _abandon_start(self, future: asyncio.Future[Any], sink: AsyncTurnSink, abandoned: Abandoned) -> None:
        """The caller was cancelled while the request that starts work (``turn/start``, ``thread/goal/set``)
        was on its way, so the runtime may be running it already: wait up to :data:`INTERRUPT_WAIT_S` for the
        answer, then let ``abandoned(result, sink)`` stop what it started (interrupt the turn, wait for it to
        end). Run through :func:`finish_despite_cancellation`; the sink is released in any case."""
        try:
            with contextlib.suppress(CodexError, asyncio.TimeoutError):
                result = await asyncio.wait_for(asyncio.shield(future), INTERRUPT_WAIT_S)
                await abandoned(result, sink)
        finally:
            self.release(sink)

    def goal_turn(self, sink: AsyncTurnSink) -> str | None:
        """The goal run's turn in progress, as read so far (``None``: none)."""
        return self._core.goal_turn(sink)

    async def _send_and_wait(
        self,
        request_id: int,
        data: bytes,
        future: asyncio.Future[Any],
        timeout: float | None,
        on_cancel: Callable[[], Awaitable[None]] | None = None,
    ) -> Any:
        """Write a request and await its answer; if the caller is cancelled once it is written (the runtime
        may be acting on it), ``on_cancel()`` runs to its end before the cancellation goes on."""
        written = False
        try:
            await self._write(data)
            written = True
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except asyncio.TimeoutError:
            self._core.forget(request_id)
            raise request_timeout_error(timeout) from None
        except asyncio.CancelledError:
            if written and on_cancel is not None:
                await finish_despite_cancellation(on_cancel())
            raise
        finally:
            if not future.done():
                future.cancel()
                self._core.forget(request_id)

    def watch(self, method: str) -> AsyncTurnSink:
        """A sink that receives every ``method`` notification (until :meth:`unwatch`)."""
        if self._core.closed is not None:
            raise self._core.closed
        sink = AsyncTurnSink()
        self._core.watch(method, sink)
        return sink

    def unwatch(self, sink: AsyncTurnSink) -> None:
        self._core.unwatch(sink)

    def release(self, sink: AsyncTurnSink) -> None:
        self._core.remove_sink(sink)

    def subscribe(self, subscription: AsyncEventSubscription, thread_id: str | None) -> None:
        """Route every notification no turn claims (of ``thread_id`` only, if given) to ``subscription``
        (before the start too: it then sees the start-up's notifications)."""
        closed = self._core.closed
        if closed is None and self._closed_by_user:
            closed = TransportClosedError("the Codex client is closed")
        if closed is not None:
            subscription.put(closed)
        else:
            self._core.subscribe(subscription, thread_id)

    def unsubscribe(self, subscription: AsyncEventSubscription) -> None:
        self._core.unsubscribe(subscription)

    @property
    def closing(self) -> bool:
        """Whether the client closed (or abandoned) the connection, as opposed to the app-server leaving."""
        return self._closing or self._closed_by_user

    # ------------------------------------------------------------------ incoming
    def _receive(self, data: bytes) -> None:
        """What the app-server wrote, as the event loop read it (see :class:`_ExitNotingProtocol`)."""
        self._dispatch(self._core.receive_data(data))

    async def _read_loop(self, stdout: asyncio.StreamReader) -> None:
        """Wait for the end of stdout (its data goes to :meth:`_receive` as it is read; anything in the
        stream itself is handled here all the same) and then wake every waiter."""
        try:
            while True:
                data = await stdout.read(_READ_CHUNK)
                if not data:
                    break
                self._receive(data)
        except asyncio.CancelledError:
            if not self._closing:
                # Cancelled while the client is open: the event loop is ending (asyncio.run returning, or
                # failing) with this client never closed. Nothing may be awaited now; end the runtime.
                self.abandon()
                self._close_pipes()  # while the loop still runs: never later, from a closed loop
            raise
        except Exception:
            _log.exception("codex reader task failed")
        await self._on_eof()

    def _dispatch(self, events: list[Any]) -> None:
        dispatch(events, self._start_answer)
        if self.hooks is not None and self.hooks.any_after:
            for note in completed_items(events):
                found = self.hooks.after(note)
                if found is not None:
                    self._start_task(self._after(*found, note), "codex-hook")

    def _start_task(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _after(self, name: str, hook: Any, note: Notification) -> None:
        outcome = await _call_hook(hook, note.payload)
        if isinstance(outcome, BaseException):
            self._report(hook_failure(name, outcome, note.method, note.params))

    def _report(self, note: Notification) -> None:
        dispatch(self._core.publish(note), self._start_answer)

    def _start_answer(self, request: ServerRequest) -> None:
        self._start_task(self._answer(request), f"codex-{request.method}")

    async def _answer_by_hook(self, request: ServerRequest, hooks: Hooks) -> bool:
        """Let a ``before_*`` hook decide ``request``; False when none did (no hook, or it returned None)."""
        approval = request.approval()
        found = hooks.before(approval)
        if found is None:
            return False
        name, hook = found
        verdict = judge(name, approval, await _call_hook(hook, approval))
        if verdict is None:
            return False
        if verdict.failure is not None:
            self._report(hook_failure(name, verdict.failure, request.method, request.params))
        if verdict.steer is not None:  # the reason, for the model: the answer itself cannot carry one
            with contextlib.suppress(CodexError, TimeoutError):
                await self._exchange("turn/steer", verdict.steer, 10.0)
        with contextlib.suppress(CodexError):
            await self._write(encode_answer(request.request_id, approval, verdict.decision))
        return True

    async def _answer(self, request: ServerRequest) -> None:
        if self.hooks is not None and await self._answer_by_hook(request, self.hooks):
            return
        approval, tool, decision = plan_answer(request, self._config, self.tools)
        if tool is not None:
            decision = await tools.run_async(tool, request.params)
        elif inspect.isawaitable(decision):
            try:
                decision = await decision
            except Exception as exc:
                decision = handler_failed(self._config, request.method, exc)
        with contextlib.suppress(CodexError):
            await self._write(encode_answer(request.request_id, approval, decision))

    async def _drain_stderr(self, stderr: asyncio.StreamReader) -> None:
        with contextlib.suppress(OSError):
            while True:
                data = await stderr.read(_READ_CHUNK)
                if not data:
                    return
                self._stderr.feed(data)

    def _set_exited(self, returncode: int | None) -> None:
        if self._exited is None or self._exited.done():
            return
        self._exited.set_result(returncode)
        if self._lost or self._closing:
            # close() loses the connection itself, and an abandoned client's loop is ending: a task that
            # waits here would outlive it ("Task was destroyed but it is pending")
            return
        task = asyncio.create_task(self._after_exit(returncode), name="codex-after-exit")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _after_exit(self, returncode: int | None) -> None:
        assert self._closed_event is not None
        try:
            await asyncio.wait_for(self._closed_event.wait(), timeout=0.5)  # normally EOF came already
        except asyncio.TimeoutError:
            await self._lose_connection(returncode)

    async def _on_eof(self) -> None:
        returncode: int | None = None
        if self._exited is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                returncode = await asyncio.wait_for(asyncio.shield(self._exited), timeout=5)
        await self._lose_connection(returncode)

    async def _lose_connection(self, returncode: int | None) -> None:
        """Fail every pending request and running turn with one TransportClosedError. Idempotent."""
        if self._lost:
            return
        self._lost = True
        if self._stderr_task is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._stderr_task), timeout=0.5)  # the last lines
        if returncode is None and self._proc is not None:
            returncode = self._proc.returncode  # the exit watcher may have lost the race to the reaper
        error = closed_error(self._closing, returncode, self._stderr.text())
        waiters, sinks = self._core.connection_lost(error)
        fail_all(waiters, sinks, error)
        if self._closed_event is not None:
            self._closed_event.set()
        if self._slots is not None:
            self._slots.release()  # wake callers waiting for a request slot: they raise the error above

    # ------------------------------------------------------------------ shutdown
    @property
    def closed(self) -> CodexError | None:
        return self._core.closed

    @property
    def pid(self) -> int:
        """Process id of the app-server (:class:`TransportClosedError` before it was started)."""
        if self._proc is None:
            raise TransportClosedError("the app-server has not been started: await AsyncCodex.start() first")
        return self._proc.pid

    def abandon(self) -> None:
        """Kill the whole process tree now, without awaiting anything (the client was dropped unclosed, or
        its event loop is ending). The reader then sees EOF, if the loop still runs."""
        self._closing = True
        if self._proc is not None:
            kill_tree(self._proc.pid, self._proc.kill)  # it leads its own session on POSIX: its helpers die too

    def _close_pipes(self) -> None:
        """Close the pipes from this end (the only handle on them is the Process's subprocess transport)."""
        transport = getattr(self._proc, "_transport", None)
        if transport is not None:
            with contextlib.suppress(Exception):
                transport.close()

    async def close(self) -> None:
        """Stop the app-server and everything it started, and reap it; no start after this. Idempotent
        (see the sync driver)."""
        self._closed_by_user = True
        if self._started:
            await self._shutdown(grace=self._config.shutdown_timeout_s)
        elif self._proc is None and not self._lost:  # never spawned: still end the events subscriptions
            self._closing = True
            await self._lose_connection(None)

    async def _shutdown(self, grace: float) -> None:
        if self._shutting_down:
            return
        self._shutting_down = self._closing = True
        proc = self._proc
        if proc is None:
            return
        if proc.stdin is not None:
            with contextlib.suppress(OSError, RuntimeError):
                proc.stdin.close()
        exited = self._exited
        assert exited is not None

        async def wait(timeout: float) -> bool:
            try:
                await asyncio.wait_for(asyncio.shield(exited), timeout=timeout)
            except asyncio.TimeoutError:
                return False
            return True

        steps = end_process_tree(proc.pid, proc.terminate, proc.kill, grace)
        with contextlib.suppress(StopIteration):
            timeout = next(steps)
            while True:
                timeout = steps.send(await wait(timeout))
        await self._lose_connection(exited.result() if exited.done() else None)
        tasks = [t for t in (self._reader, self._stderr_task) if t is not None and t is not asyncio.current_task()]
        if tasks:
            # EOF follows the exit at once, unless a leftover grandchild holds a pipe open: then the pipes
            # are closed from this end (the only handle on them is the Process's subprocess transport).
            _done, pending = await asyncio.wait(tasks, timeout=1.0)
            if pending:
                self._close_pipes()
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


if TYPE_CHECKING:  # mypy holds the driver to the one contract

    def _keeps_the_contract(transport: AsyncTransport) -> Transport[Awaitable[Any], Awaitable[None]]:
        return transport
