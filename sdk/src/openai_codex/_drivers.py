"""What the threaded and the asyncio driver do alike, written once: no I/O here.

The drivers (:mod:`._sync_transport`, :mod:`._async_transport`) only move bytes, wait and start threads or
tasks. Everything they decide the same way lives here: acting on the core's events, waking every waiter
when the connection ends, the answer to a server request (a client-defined tool, a handler, or the
default), a tool hook's verdict and the report of its failure, the bounded buffer of an events subscription,
the errors of a request that timed out or of input that can no longer be written, and the steps
of ending the app-server's process tree. (The start-up and connection-closed errors are in :mod:`._runtime`,
the answer a decision string stands for in :mod:`.approvals`.)
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from openai_codex import tools
from openai_codex._protocol import Deliver, Event, ProtocolCore, ProtocolViolation, Resolved, ServerRequest, Unrouted
from openai_codex._runtime import TERMINATE_GRACE_S, kill_tree, signal_tree
from openai_codex.approvals import ApprovalRequest, UnsupportedServerRequest, answer_for, server_request_answer
from openai_codex.errors import CodexError, TransportClosedError
from openai_codex.hooks import HOOK_FAILED, failure_params
from openai_codex.notifications import Notification

if TYPE_CHECKING:
    from openai_codex.config import CodexConfig

__all__ = [
    "COALESCE_BELOW",
    "COALESCE_S",
    "EVENTS_CAP",
    "EventBuffer",
    "Sink",
    "completed_items",
    "dispatch",
    "encode_answer",
    "end_process_tree",
    "fail_all",
    "handler_failed",
    "hook_failure",
    "input_closed_error",
    "plan_answer",
    "request_timeout_error",
]

COALESCE_BELOW = 16 << 10
COALESCE_S = 0.0005
"""After a read shorter than :data:`COALESCE_BELOW` bytes, both drivers let the pipe fill for
:data:`COALESCE_S` (half a millisecond) before reading again. A streaming turn writes a line every few
tens of microseconds; read as they come, every line or two costs a wake-up of the reader and of the
consumer, which is most of the SDK's CPU time on a long stream (docs/performance.md, ``bench-stream``).
Batched, one wake-up carries a few dozen lines, and no event waits more than half a millisecond longer."""

_log = logging.getLogger("openai_codex")


class Sink(Protocol):
    """A turn's (or a watcher's, a subscriber's) sink: neither method blocks."""

    def put(self, item: Notification | CodexError) -> None: ...

    def put_many(self, notes: list[Notification]) -> None:
        """Add ``notes`` in order, as one operation (one wake-up of the consumer). The list is the sink's."""


def _settle(waiter: Any, result: Any, error: BaseException | None) -> None:
    """Complete a request's future (``concurrent.futures`` and ``asyncio`` ones have the same API)."""
    done = getattr(waiter, "done", None)
    if done is None or done():
        return
    if error is not None:
        waiter.set_exception(error)
    else:
        waiter.set_result(result)


def dispatch(events: Iterable[Event[Any]], answer: Callable[[ServerRequest], None]) -> None:
    """Act on the core's events; ``answer`` starts answering a server request (on a thread or a task)."""
    for event in events:
        if event.__class__ is Deliver:
            event.sink.put_many(event.notes)
        elif isinstance(event, Resolved):
            _settle(event.waiter, event.result, event.error)
        elif isinstance(event, ServerRequest):
            answer(event)
        elif isinstance(event, Unrouted):
            _log.debug("unrouted notification %s", event.notification.method)
        elif isinstance(event, ProtocolViolation):
            _log.warning("ignoring a line from codex app-server: %s: %.200r", event.reason, event.line)


def completed_items(events: Iterable[Event[Any]]) -> list[Notification]:
    """The ``item/completed`` notifications among ``events``, each once (one may go to several sinks)."""
    found: list[Notification] = []
    for event in events:
        if isinstance(event, Deliver):
            notes = event.notes
        elif isinstance(event, Unrouted):
            notes = [event.notification]
        else:
            continue
        for note in notes:
            if note.method == "item/completed" and not any(note is seen for seen in found):
                found.append(note)
    return found


def hook_failure(name: str, error: BaseException, method: str, params: Mapping[str, Any]) -> Notification:
    """Log a hook's failure; the client-made notification that reports it to the events subscribers."""
    _log.error("the %s hook failed on %s", name, method, exc_info=error)
    return Notification(HOOK_FAILED, failure_params(name, error, method, params))


EVENTS_CAP = 1000
"""How many notifications an events subscription holds unread by default; beyond that the oldest is dropped."""


class EventBuffer:
    """The bounded buffer of one events subscription (``codex.events()``, ``thread.events()``); each driver
    adds its own waiting around it. Holds at most ``cap`` unread notifications: one more drops the oldest,
    counted in ``dropped`` (the first drop logs one warning). Ends with the connection's error, or when closed."""

    def __init__(self, cap: int) -> None:
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            raise ValueError(f"max_buffered must be an int >= 1, got {cap!r}")
        self.cap = cap
        self.items: deque[Notification] = deque()
        self.dropped = 0
        self.end: CodexError | None = None
        self.closed = False

    @property
    def ended(self) -> bool:
        return self.closed or self.end is not None

    def push(self, item: Notification | CodexError) -> None:
        if self.ended:
            return
        if isinstance(item, CodexError):
            self.end = item
            return
        if len(self.items) >= self.cap:
            self.items.popleft()
            self.dropped += 1
            if self.dropped == 1:
                _log.warning(
                    "an events subscription holds %d unread notifications: dropping the oldest from now on "
                    "(its `dropped` counts them; read faster or pass a larger max_buffered)",
                    self.cap,
                )
        self.items.append(item)

    def push_many(self, notes: list[Notification]) -> None:
        if self.ended:
            return
        if len(self.items) + len(notes) <= self.cap:
            self.items.extend(notes)
            return
        for note in notes:
            self.push(note)

    def pop(self, client_closed: bool) -> Notification | None:
        """The next notification; ``None`` once it has ended (closed, or the client was); the connection's
        error when the app-server went away on its own. Only when :attr:`items` or :attr:`ended`."""
        if self.items:
            return self.items.popleft()
        if self.end is not None and not self.closed and not client_closed:
            raise self.end
        return None

    def close(self) -> None:
        self.closed = True
        self.items.clear()


def fail_all(waiters: Iterable[Any], sinks: Iterable[Sink], error: CodexError) -> None:
    """Wake every pending request and every sink with ``error`` (the connection ended)."""
    for waiter in waiters:
        _settle(waiter, None, error)
    for sink in sinks:
        sink.put(error)


def plan_answer(
    request: ServerRequest, config: CodexConfig, registry: dict[str, dict[str, tools.Tool]]
) -> tuple[ApprovalRequest, tools.Tool | None, object]:
    """How to answer ``request``: the client-defined tool to run (the driver runs it), or else the handler's
    decision (which may be an awaitable for the asyncio driver)."""
    approval = request.approval()
    tool = tools.find(registry, request.params) if request.method == "item/tool/call" else None
    if tool is not None:
        return approval, tool, None
    return approval, None, server_request_answer(config.server_request_handlers, config.approval_handler, approval)


def encode_answer(request_id: Any, request: ApprovalRequest, decision: object) -> bytes:
    """The JSON-RPC response line for a handler's ``decision`` (a result, or an error answer)."""
    if isinstance(decision, BaseException):
        return ProtocolCore.error_response(request_id, -32603, f"the client's handler failed: {decision}")
    try:
        if not isinstance(decision, (str, Mapping)):
            raise TypeError(f"approval handler returned {decision!r}")
        return ProtocolCore.response(request_id, answer_for(request, decision))
    except UnsupportedServerRequest as exc:
        return ProtocolCore.error_response(request_id, -32601, str(exc))
    except Exception:
        _log.exception("cannot answer %s: declining", request.method)
        try:
            return ProtocolCore.response(request_id, answer_for(request, "decline"))
        except UnsupportedServerRequest as exc:
            return ProtocolCore.error_response(request_id, -32601, str(exc))


def handler_failed(config: CodexConfig, method: str, error: Exception) -> object:
    """The decision when an awaited handler raised: an error answer from a ``server_request_handlers``
    entry, ``"decline"`` from the approval handler (as :func:`~openai_codex.approvals.server_request_answer`
    and :func:`~openai_codex.approvals.decide` do for a plain function)."""
    _log.exception("handler failed on %s", method, exc_info=error)
    return error if method in config.server_request_handlers else "decline"


def request_timeout_error(timeout: float | None) -> TimeoutError:
    return TimeoutError(f"no response from codex app-server within {timeout:g}s (CodexConfig.request_timeout_s)")


def input_closed_error(closed: CodexError | None) -> CodexError:
    """What a failed write raises: the connection's error if it is known by now."""
    return closed or TransportClosedError("codex app-server is not accepting input")


def end_process_tree(
    pid: int, terminate: Callable[[], object], kill: Callable[[], object], grace: float
) -> Generator[float, bool, None]:
    """The steps of stopping the app-server once its stdin is closed. Yields how long to wait for it to exit
    and is sent whether it did: ``grace`` for a graceful exit, then SIGTERM (with SIGCONT, for a stopped
    process) and :data:`TERMINATE_GRACE_S`, then SIGKILL and up to 5 s; whatever it left in its process
    group is killed in any case."""
    import signal

    if not (yield grace):
        if not signal_tree(pid, signal.SIGTERM):
            with contextlib.suppress(OSError):
                terminate()
        if not (yield TERMINATE_GRACE_S):
            kill_tree(pid, kill)
            yield 5.0
    kill_tree(pid, kill)  # its helpers, if any are left in its process group
