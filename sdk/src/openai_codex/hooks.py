"""Tool hooks: in-process callbacks around the agent's commands, file changes and MCP tool calls.

::

    from openai_codex import Codex, Deny, Hooks

    def guard(request):
        return Deny("no network tools here") if "curl" in (request.command or "") else None

    with Codex(hooks=Hooks(before_command=guard, after_command=lambda event: print(event.item))) as codex:
        codex.thread_start(approval_policy="untrusted").run("...")

* ``before_command``, ``before_file_change``, ``before_mcp_tool`` get the runtime's approval request (an
  :class:`~openai_codex.ApprovalRequest`: ``command``, ``thread_id``, ``turn_id``, the raw ``params``, and
  ``item``: the typed item the runtime started before asking, e.g. a file change's
  :class:`~openai_codex.types.FileChangeThreadItem` with each path, kind and diff in ``changes``). They
  see only what the runtime asks the client about, so the thread's ``approval_policy`` must ask
  (``"untrusted"`` asks before every command that is not known to be safe, ``"on-request"`` only when the
  agent wants to leave the sandbox; ``"never"`` asks nothing). MCP tool calls are asked about under both
  ``"untrusted"`` and ``"on-request"`` unless the tool is annotated ``readOnlyHint: true`` (those never
  reach ``before_mcp_tool``; under ``"never"`` the others fail without asking); the request's
  ``params["_meta"]`` holds ``tool_name``, ``tool_params`` and ``tool_annotations``. A hook returns :class:`Allow` (or
  ``"allow"``), :class:`Deny` (or ``"deny"``), or ``None``: the decision is then left to
  ``CodexConfig.approval_handler`` / ``server_request_handlers`` as without hooks (the default declines).
* ``after_command``, ``after_file_change``, ``after_mcp_tool`` get the typed ``item/completed`` notification
  (:class:`~openai_codex.types.ItemCompletedNotification`: ``item`` is the finished
  ``CommandExecutionThreadItem`` with its ``aggregated_output`` and ``exit_code``, the ``FileChangeThreadItem``,
  the ``McpToolCallThreadItem``; ``thread_id``, ``turn_id``), for every such item, asked about or not. They
  run off the event stream (a thread, or a task with ``AsyncCodex``), so one may still be running when the
  turn's ``turn/completed`` arrives. Their return value is ignored.

**The reason the model sees.** The pinned protocol's approval answers (``item/commandExecution/requestApproval``,
``item/fileChange/requestApproval``, an MCP elicitation) carry only a decision, no text: the model is told the
command was "rejected by user". So ``Deny(reason)`` declines and also adds the reason to the running turn
(``turn/steer``) before the answer goes out; the model reads it as a user message right after the tool's
output, in its next request. The legacy approval requests (``execCommandApproval``, ``applyPatchApproval``)
carry the reason in the answer itself.

**Sync or async.** A hook may be a plain function or a coroutine function, on either client. With
:class:`~openai_codex.Codex` a coroutine function runs on a private event loop in the hook's own thread
(so it cannot share asyncio objects with another loop); with :class:`~openai_codex.AsyncCodex` it runs on
the client's loop and a plain function runs in a worker thread (so a blocking one, e.g. asking a human,
stalls nothing).

**Failures.** A hook that raises (or returns something else) never ends the client: a ``before_*`` hook's
action is denied (the model is told the client's hook failed), an ``after_*`` hook's failure changes nothing;
either is logged (logger ``openai_codex``) and reported to the events subscribers (``codex.events()``,
``thread.events()``) as a client-made :class:`~openai_codex.Notification` whose method is
:data:`HOOK_FAILED` and whose ``params`` hold ``hook``, ``error``, ``method``, ``threadId``, ``turnId``.

Hooks are set per client (``Codex(hooks=...)``, ``AsyncCodex(hooks=...)``) and apply to all its threads;
filter on ``request.thread_id`` / ``event.thread_id`` to treat threads apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from openai_codex.approvals import ApprovalRequest

if TYPE_CHECKING:
    from openai_codex.notifications import Notification
    from openai_codex.types import ItemCompletedNotification

__all__ = ["HOOK_FAILED", "AfterHook", "Allow", "BeforeHook", "BeforeHookResult", "Deny", "Hooks"]

HOOK_FAILED = "openai_codex/hookFailed"
"""The method of the client-made notification that reports a hook's failure to the events subscribers."""


@dataclass(frozen=True)
class Allow:
    """A ``before_*`` hook's answer: run it (the approval is accepted for this once)."""


@dataclass(frozen=True)
class Deny:
    """A ``before_*`` hook's answer: do not run it; ``reason`` is added to the turn for the model to read."""

    reason: str = ""


BeforeHookResult: TypeAlias = Allow | Deny | Literal["allow", "deny"] | None
BeforeHook: TypeAlias = Callable[[ApprovalRequest], "BeforeHookResult | Awaitable[BeforeHookResult]"]
AfterHook: TypeAlias = Callable[["ItemCompletedNotification"], object]

_COMMAND_APPROVALS = frozenset({"item/commandExecution/requestApproval", "execCommandApproval"})
_FILE_CHANGE_APPROVALS = frozenset({"item/fileChange/requestApproval", "applyPatchApproval"})
_LEGACY_APPROVALS = frozenset({"execCommandApproval", "applyPatchApproval"})
_AFTER = {"commandExecution": "after_command", "fileChange": "after_file_change", "mcpToolCall": "after_mcp_tool"}
_WHAT = {"before_command": "command", "before_file_change": "file change", "before_mcp_tool": "MCP tool call"}


@dataclass(frozen=True)
class Hooks:
    """The callbacks of ``Codex(hooks=...)`` / ``AsyncCodex(hooks=...)``; each is optional (see the module)."""

    before_command: BeforeHook | None = None
    after_command: AfterHook | None = None
    before_file_change: BeforeHook | None = None
    after_file_change: AfterHook | None = None
    before_mcp_tool: BeforeHook | None = None
    after_mcp_tool: AfterHook | None = None

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            if value is not None and not callable(value):
                raise TypeError(f"Hooks.{spec.name} must be a function or a coroutine function, got {value!r}")

    @property
    def any_after(self) -> bool:
        return any(hook is not None for hook in (self.after_command, self.after_file_change, self.after_mcp_tool))

    def before(self, request: ApprovalRequest) -> tuple[str, BeforeHook] | None:
        """The ``before_*`` hook (name, callable) that decides ``request``, if one is set."""
        method = request.method
        if method in _COMMAND_APPROVALS:
            name = "before_command"
        elif method in _FILE_CHANGE_APPROVALS:
            name = "before_file_change"
        elif method == "mcpServer/elicitation/request" and _is_mcp_tool_approval(request.params):
            name = "before_mcp_tool"
        else:
            return None
        hook: BeforeHook | None = getattr(self, name)
        return None if hook is None else (name, hook)

    def after(self, note: Notification) -> tuple[str, AfterHook] | None:
        """The ``after_*`` hook (name, callable) for an ``item/completed`` notification, if one is set."""
        if note.method != "item/completed":
            return None
        item = note.params.get("item")
        kind = item.get("type") if isinstance(item, Mapping) else None
        name = _AFTER.get(kind) if isinstance(kind, str) else None
        hook: AfterHook | None = getattr(self, name) if name else None
        return None if hook is None or name is None else (name, hook)


def _is_mcp_tool_approval(params: Mapping[str, Any]) -> bool:
    meta = params.get("_meta")
    return isinstance(meta, Mapping) and meta.get("codex_approval_kind") == "mcp_tool_call"


@dataclass(frozen=True)
class Verdict:
    """What a ``before_*`` hook's outcome means on the wire: the ``decision`` for the approval answer,
    the ``turn/steer`` params that tell the model the reason (or ``None``), the failure to report (or ``None``)."""

    decision: str | Mapping[str, Any]
    steer: dict[str, Any] | None = None
    failure: BaseException | None = None


def judge(name: str, request: ApprovalRequest, outcome: object) -> Verdict | None:
    """The verdict for a ``before_*`` hook's ``outcome`` (its return value, or the exception it raised);
    ``None`` leaves the request to the approval handler."""
    if outcome is None:
        return None
    if outcome == "allow" or isinstance(outcome, Allow):
        return Verdict("accept")
    failure: BaseException | None = None
    if outcome == "deny":
        reason = ""
    elif isinstance(outcome, Deny):
        reason = outcome.reason
    else:
        failure = (
            outcome
            if isinstance(outcome, BaseException)
            else TypeError(f"{name} returned {outcome!r}, not Allow(), Deny(reason), 'allow', 'deny' or None")
        )
        reason = f"the client's {name} hook failed, so the {_WHAT[name]} was denied"
    return Verdict(_decline(request, reason), _steer(request, name, reason), failure)


def _decline(request: ApprovalRequest, reason: str) -> str | Mapping[str, Any]:
    if request.method in _LEGACY_APPROVALS:
        return {"decision": {"denied": {"rejection": reason or "Declined by the client."}}}
    return "decline"


def _steer(request: ApprovalRequest, name: str, reason: str) -> dict[str, Any] | None:
    if not reason or request.method in _LEGACY_APPROVALS or not (request.thread_id and request.turn_id):
        return None
    text = f"The client denied the {_WHAT[name]}: {reason}"
    return {"threadId": request.thread_id, "expectedTurnId": request.turn_id, "input": [{"type": "text", "text": text}]}


def failure_params(name: str, error: BaseException, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The ``params`` of the :data:`HOOK_FAILED` notification for ``name`` failing on ``method``."""
    report: dict[str, Any] = {"hook": name, "error": f"{type(error).__name__}: {error}", "method": method}
    item = params.get("item")
    for key, value in (
        ("threadId", params.get("threadId") or params.get("conversationId")),
        ("turnId", params.get("turnId")),
        ("itemId", params.get("itemId") or (item.get("id") if isinstance(item, Mapping) else None)),
    ):
        if isinstance(value, str):
            report[key] = value
    return report


def checked_hooks(hooks: object) -> Hooks | None:
    """``hooks=`` of the clients' constructors: a :class:`Hooks` or ``None`` (a ``TypeError`` otherwise)."""
    if hooks is not None and not isinstance(hooks, Hooks):
        raise TypeError(f"hooks must be an openai_codex.Hooks, got {type(hooks).__name__}")
    return hooks
