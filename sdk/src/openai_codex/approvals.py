"""Answering the app-server's requests to the client (approvals and the like).

While a turn runs, the app-server may ask the client to approve a command, a file change or extra
permissions, or to answer a question. The SDK always answers, so a turn never hangs on an unanswered
request. What it answers is decided by ``CodexConfig.approval_handler``:

* a decision string, applied to every request: ``"decline"`` (the default: nothing the agent asks for is
  run or written; the agent carries on without it), ``"accept"``, ``"accept_for_session"`` or
  ``"cancel"`` (decline and interrupt the turn);
* or a callable ``handler(request: ApprovalRequest)`` returning one of those strings, or a ``dict`` that
  is sent back verbatim as the JSON-RPC result (full control over the wire answer). With
  :class:`~openai_codex.AsyncCodex` the callable may also be a coroutine function.

A handler that raises is logged and the request is declined. Requests this SDK cannot serve (auth token
refresh, attestation, dynamic tool calls it never registered) are answered with a JSON-RPC error unless the
handler returns a ``dict`` for them.

Every server request of the protocol can also get its own handler: ``CodexConfig.server_request_handlers``
maps a method (``"item/tool/call"``, ``"account/chatgptAuthTokens/refresh"``, ...) to a callable taking the
:class:`ApprovalRequest` and returning the JSON-RPC result (a ``dict``; for approval methods a decision
string works too), or raising to send a JSON-RPC error. Without one, :data:`SERVER_REQUEST_DEFAULTS` says
what is answered. A request the SDK does not know at all gets a ``-32601`` error answer, never silence.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, get_args

if TYPE_CHECKING:
    from openai_codex.notifications import Notification
    from openai_codex.types import ThreadItem

__all__ = [
    "APPROVAL_METHODS",
    "ApprovalDecision",
    "ApprovalHandler",
    "ApprovalRequest",
    "AsyncApprovalHandler",
    "answer_for",
]

_log = logging.getLogger("openai_codex")

ApprovalDecision = Literal["accept", "accept_for_session", "decline", "cancel"]
DECISIONS: frozenset[str] = frozenset(get_args(ApprovalDecision))

APPROVAL_METHODS: frozenset[str] = frozenset(
    {
        "item/commandExecution/requestApproval",
        "item/fileChange/requestApproval",
        "item/permissions/requestApproval",
        "execCommandApproval",
        "applyPatchApproval",
        "mcpServer/elicitation/request",
        "item/tool/requestUserInput",
    }
)
"""The server requests an approval handler decides; every other server request gets an error answer."""


@dataclass(frozen=True)
class ApprovalRequest:
    """One request from the app-server: ``method`` (e.g. ``"item/commandExecution/requestApproval"``) and
    its raw ``params`` (see the matching ``*Params`` models in :mod:`openai_codex.types`)."""

    method: str
    params: Mapping[str, Any] = field(default_factory=dict)
    started: Notification | None = None
    """The ``item/started`` notification of the item this request is about, when the runtime sent one first."""

    @property
    def thread_id(self) -> str | None:
        value = self.params.get("threadId") or self.params.get("conversationId")
        return value if isinstance(value, str) else None

    @property
    def turn_id(self) -> str | None:
        value = self.params.get("turnId")
        return value if isinstance(value, str) else None

    @property
    def item(self) -> ThreadItem | None:
        """The item this request is about as the runtime started it, typed (``None`` when it sent none):
        for ``item/fileChange/requestApproval`` the :class:`~openai_codex.types.FileChangeThreadItem`
        whose ``changes`` hold each path, its kind and its diff (the request itself names only the item)."""
        from openai_codex.types import ItemStartedNotification

        payload = self.started.payload if self.started is not None else None
        return payload.item if isinstance(payload, ItemStartedNotification) else None

    @property
    def command(self) -> str | None:
        """The command line for command approvals (``None`` otherwise)."""
        value = self.params.get("command")
        if isinstance(value, list):
            return " ".join(str(part) for part in value)
        return value if isinstance(value, str) else None


Answer: TypeAlias = "str | Mapping[str, Any]"
"""What a handler returns: a decision (see :data:`ApprovalDecision`) or the raw JSON-RPC result."""
ApprovalHandler: TypeAlias = Callable[[ApprovalRequest], Answer]
AsyncApprovalHandler: TypeAlias = Callable[[ApprovalRequest], "Answer | Awaitable[Answer]"]

_V2_DECISION = {"accept": "accept", "accept_for_session": "acceptForSession", "decline": "decline", "cancel": "cancel"}
_LEGACY_DECISION: dict[str, Any] = {
    "accept": "approved",
    "accept_for_session": "approved_for_session",
    "decline": {"denied": {"rejection": "Declined by the client."}},
    "cancel": "abort",
}


class UnsupportedServerRequest(Exception):
    """This SDK has no answer for the request (sent back as a JSON-RPC error)."""


SERVER_REQUEST_DEFAULTS: dict[str, str] = {
    "item/commandExecution/requestApproval": "approval_handler (default: decline: the command is not run)",
    "item/fileChange/requestApproval": "approval_handler (default: decline: the change is not written)",
    "item/permissions/requestApproval": "approval_handler (default: decline: no permission granted)",
    "execCommandApproval": "approval_handler (default: decline)",
    "applyPatchApproval": "approval_handler (default: decline)",
    "mcpServer/elicitation/request": "approval_handler (default: decline the MCP server's request)",
    "item/tool/requestUserInput": "approval_handler (default: no answers)",
    "item/tool/call": "the thread's client-defined tools (experimental); otherwise a JSON-RPC error",
    "account/chatgptAuthTokens/refresh": "a JSON-RPC error (the SDK holds no external ChatGPT tokens)",
    "attestation/generate": "a JSON-RPC error (the SDK cannot attest)",
}
"""What each server request of the pinned protocol gets when no ``server_request_handlers`` entry is set
(a test holds this table against the generated ``SERVER_REQUEST_METHODS``)."""


def server_request_answer(
    handlers: Mapping[str, Callable[[ApprovalRequest], Any]], approval_handler: object, request: ApprovalRequest
) -> object:
    """Call the handler for ``request`` (its own, else the approval handler); may return an awaitable.

    An exception from a handler of ``server_request_handlers`` is returned, to become an error answer.
    """
    handler = handlers.get(request.method)
    if handler is None:
        return decide(approval_handler, request)
    try:
        return handler(request)
    except Exception as exc:
        _log.exception("server request handler for %s failed", request.method)
        return exc


def answer_for(request: ApprovalRequest, decision: str | Mapping[str, Any]) -> Any:
    """The JSON-RPC result for ``request`` given a handler's ``decision``.

    Raises :class:`UnsupportedServerRequest` for requests a decision string cannot answer.
    """
    if isinstance(decision, Mapping):
        return dict(decision)
    if decision not in DECISIONS:
        _log.warning("approval handler returned %r, not one of %s: declining", decision, sorted(DECISIONS))
        decision = "decline"
    method = request.method
    if method in ("item/commandExecution/requestApproval", "item/fileChange/requestApproval"):
        return {"decision": _V2_DECISION[decision]}
    if method in ("execCommandApproval", "applyPatchApproval"):
        return {"decision": _LEGACY_DECISION[decision]}
    if method == "item/permissions/requestApproval":
        if decision in ("accept", "accept_for_session"):
            requested = request.params.get("permissions")
            granted = {k: v for k, v in requested.items() if k in ("fileSystem", "network")} if requested else {}
            return {"permissions": granted, "scope": "session" if decision == "accept_for_session" else "turn"}
        return {"permissions": {}, "scope": "turn"}
    if method == "mcpServer/elicitation/request":
        action = {"accept": "accept", "accept_for_session": "accept", "decline": "decline", "cancel": "cancel"}
        answer: dict[str, Any] = {"action": action[decision], "content": None}
        meta = request.params.get("_meta")
        offered = meta.get("persist") if isinstance(meta, Mapping) else None
        if decision == "accept_for_session" and isinstance(offered, list) and "session" in offered:
            answer["_meta"] = {"persist": "session"}  # an MCP tool approval: not asked again this session
        return answer
    if method == "item/tool/requestUserInput":
        return {"answers": {}}
    raise UnsupportedServerRequest(f"{method} is not supported by the openai-codex SDK client")


def decide(handler: object, request: ApprovalRequest) -> object:
    """Call ``handler`` (a decision string or a callable); exceptions become ``"decline"`` (logged)."""
    if isinstance(handler, str):
        return handler
    try:
        return handler(request)  # type: ignore[operator]
    except Exception:
        _log.exception("approval handler failed on %s: declining", request.method)
        return "decline"
