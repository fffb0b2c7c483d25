"""The table of plain requests: every client method that sends one request and parses its answer.

Each entry says, once, for a Python method: its wire method, which positional arguments (and which
attributes of the object it is called on) become which wire keys, which generated ``*Params`` model
accepts its snake_case keywords, how the answer is parsed, and its docstring. ``Codex`` / ``AsyncCodex``,
``Thread`` / ``AsyncThread``, ``TurnHandle`` / ``AsyncTurnHandle`` and the login handles are thin shells:
each method is ``return self._call(calls.NAME, ...)`` (``await`` in the async ones), where ``_call`` comes
from :class:`SyncCalls` or :class:`AsyncCalls` and only differs in how the request is sent. A test holds
both shells to this table (same methods, same signatures, nothing bypassing it).

Nothing here imports the generated models at import time (``import openai_codex`` stays fast).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from openai_codex._params import to_wire_params, to_wire_value
from openai_codex._rpc import parse_result
from openai_codex.errors import CodexError

if TYPE_CHECKING:
    from openai_codex.generated.protocol import GetAccountResponse, ThreadGoal
    from openai_codex.generated.protocol import Thread as ThreadModel
    from openai_codex.inputs import Input
    from openai_codex.types import ModelListResponse, ThreadListResponse

__all__ = ["CALLS", "AsyncCalls", "Call", "SyncCalls", "ThreadInfo", "shell", "thread_info", "turn_start_params"]

R = TypeVar("R")
ThreadInfo = dict[str, Any]
"""The raw ``thread`` object of a ``thread/*`` answer, from which the client builds its Thread."""

Owner = Literal["Codex", "Thread", "TurnHandle", "ChatgptLogin"]


class Call(Generic[R]):
    """One plain request; ``R`` is what ``_call`` returns for it. (A plain class, not a dataclass: it is
    built while ``from openai_codex import Codex`` runs, and a dataclass costs a millisecond more.)

    Attributes:
        owner: the sync class the method is on (the async twin is ``Async`` + this name).
        name: the Python method name (also the function named in a ``TypeError`` for a wrong keyword).
        method: the wire method.
        doc: the docstring of both the sync and the async method.
        args: wire keys of the positional arguments, in order (``input`` goes through ``to_wire_input``).
        bound: wire key -> attribute of the object the method is called on (``{"threadId": "id"}``).
        const: wire params the method always sends (``{"type": "apiKey"}``).
        keywords: the generated params model whose fields the method accepts as snake_case ``**keywords``.
        result: the generated model the answer is validated into (``None``: not validated).
        pick: the attribute of the validated answer to return (``None``: the whole answer).
        returns: ``none``: the method returns ``None``; ``thread``: the answer's thread (:data:`ThreadInfo`).
        tools: accepts ``tools=[...]``: client-defined tools, registered for the new thread (experimental).
        no_params: the wire method takes no params: none are sent (otherwise at least ``{}``).
    """

    __slots__ = (
        "args",
        "bound",
        "const",
        "doc",
        "keywords",
        "method",
        "name",
        "no_params",
        "owner",
        "pick",
        "result",
        "returns",
        "tools",
    )

    def __init__(
        self,
        owner: Owner,
        name: str,
        method: str,
        doc: str,
        *,
        args: tuple[str, ...] = (),
        bound: Mapping[str, str] | None = None,
        const: Mapping[str, Any] | None = None,
        keywords: str | None = None,
        result: str | None = None,
        pick: str | None = None,
        returns: Literal["value", "none", "thread"] = "value",
        tools: bool = False,
        no_params: bool = False,
    ) -> None:
        self.owner, self.name, self.method, self.doc = owner, name, method, doc
        self.args, self.bound, self.const, self.keywords = args, bound or {}, const or {}, keywords
        self.result, self.pick, self.returns, self.tools, self.no_params = result, pick, returns, tools, no_params

    def __repr__(self) -> str:
        return f"Call({self.owner}.{self.name} -> {self.method})"

    def prepare(self, owner: Any, args: tuple[Any, ...], keywords: dict[str, Any]) -> tuple[Any, Callable[[Any], R]]:
        """The wire params of a call on ``owner``, and the function that turns the answer into ``R``."""
        if len(args) != len(self.args):
            raise TypeError(f"{self.name}() takes {len(self.args)} positional arguments ({len(args)} given)")
        fixed: dict[str, Any] = dict(self.const)
        fixed.update((key, getattr(owner, attribute)) for key, attribute in self.bound.items())
        for key, value in zip(self.args, args, strict=True):
            if key == "input":
                from openai_codex.inputs import to_wire_input

                fixed[key] = to_wire_input(value)
            else:
                fixed[key] = to_wire_value(value)
        offered = keywords.pop("tools", None) if self.tools else None
        params: Any
        if self.keywords is not None:
            params = to_wire_params(self.name, self.keywords, keywords, fixed=fixed)
        elif keywords:
            raise TypeError(f"{self.name}() got an unexpected keyword argument {next(iter(keywords))!r}")
        else:  # None leaves a field out, as in codex.rpc
            params = None if self.no_params else {key: value for key, value in fixed.items() if value is not None}
        registry = None
        if offered is not None:
            from openai_codex import tools

            tools.require_experimental(owner.config.experimental_api)
            registry = tools.as_tools(offered)
            params["dynamicTools"] = [tool.spec() for tool in registry.values()]

        def finish(answer: Any) -> R:
            if self.returns == "thread":
                info = thread_info(answer)
                if registry is not None:
                    owner._transport.tools[info["id"]] = registry
                return info  # type: ignore[return-value]
            value = parse_result(self.result, answer)
            if self.returns == "none":
                return None  # type: ignore[return-value]
            return getattr(value, self.pick) if self.pick is not None else value  # type: ignore[no-any-return]

        return params, finish


class SyncCalls:
    """``_call`` for the blocking shells: they give ``_send`` (one request, blocking until answered)."""

    __slots__ = ()

    def _send(self, method: str, params: Any) -> Any:
        raise NotImplementedError

    def _call(self, call: Call[R], /, *args: Any, **keywords: Any) -> R:
        params, finish = call.prepare(self, args, keywords)
        return finish(self._send(call.method, params))


class AsyncCalls:
    """``_call`` for the asyncio shells: they give ``_send`` (a coroutine)."""

    __slots__ = ()

    async def _send(self, method: str, params: Any) -> Any:
        raise NotImplementedError

    async def _call(self, call: Call[R], /, *args: Any, **keywords: Any) -> R:
        params, finish = call.prepare(self, args, keywords)
        return finish(await self._send(call.method, params))


T = TypeVar("T", bound=type)


def shell(cls: T) -> T:
    """Class decorator of the shells: each method of ``cls`` that is in the table gets the table's docstring
    (``help()`` shows the same text for the sync and the async method)."""
    owner = cls.__name__.removeprefix("Async")
    for call in CALLS.values():
        if call.owner == owner:
            getattr(cls, call.name).__doc__ = call.doc
    return cls


def thread_info(answer: Any) -> ThreadInfo:
    """The ``thread`` object of a ``thread/start`` / ``resume`` / ``fork`` / ``unarchive`` answer."""
    thread = answer.get("thread") if isinstance(answer, dict) else None
    if not isinstance(thread, dict) or not isinstance(thread.get("id"), str):
        raise CodexError(f"the app-server returned no thread: {str(answer)[:200]}")
    return thread


def turn_start_params(function: str, thread_id: str, input: Input, params: Mapping[str, Any]) -> dict[str, Any]:
    """The ``turn/start`` params of ``Thread.turn`` / ``Thread.run`` (not a plain request: a sink is
    registered with it, so the drivers send it themselves)."""
    from openai_codex.inputs import to_wire_input

    return to_wire_params(
        function, "TurnStartParams", params, fixed={"threadId": thread_id, "input": to_wire_input(input)}
    )


_THREAD = {"threadId": "id"}

# ---------------------------------------------------------------- Codex / AsyncCodex
thread_start: Call[ThreadInfo] = Call(
    "Codex",
    "thread_start",
    "thread/start",
    """Start a new thread. Keywords are ``ThreadStartParams`` fields in snake_case (``model``, ``cwd``,
``approval_policy``, ``sandbox``, ``base_instructions``, ``developer_instructions``, ``config``, ...),
plus ``tools=[callable or Tool, ...]``: client-defined tools (experimental, see :mod:`openai_codex.tools`).""",
    keywords="ThreadStartParams",
    returns="thread",
    tools=True,
)
thread_resume: Call[ThreadInfo] = Call(
    "Codex",
    "thread_resume",
    "thread/resume",
    "Continue an existing thread (``ThreadResumeParams`` keywords, snake_case).",
    args=("threadId",),
    keywords="ThreadResumeParams",
    returns="thread",
)
thread_fork: Call[ThreadInfo] = Call(
    "Codex",
    "thread_fork",
    "thread/fork",
    "A new thread holding a copy of ``thread_id``'s history (``ThreadForkParams`` keywords).",
    args=("threadId",),
    keywords="ThreadForkParams",
    returns="thread",
)
thread_list: Call[ThreadListResponse] = Call(
    "Codex",
    "thread_list",
    "thread/list",
    """One page of stored threads (``ThreadListParams`` keywords: ``limit``, ``cursor``, ``sort_key``,
``model_providers``, ``source_kinds``, ``archived``, ``included_thread_ids`` / ``excluded_thread_ids``, ...).""",
    keywords="ThreadListParams",
    result="ThreadListResponse",
)
thread_archive: Call[None] = Call(
    "Codex",
    "thread_archive",
    "thread/archive",
    "Archive a thread (it leaves the default :meth:`thread_list`).",
    args=("threadId",),
    returns="none",
)
thread_unarchive: Call[ThreadInfo] = Call(
    "Codex",
    "thread_unarchive",
    "thread/unarchive",
    "Restore an archived thread.",
    args=("threadId",),
    returns="thread",
)
model_list: Call[ModelListResponse] = Call(
    "Codex",
    "model_list",
    "model/list",
    """One page of available models (``ModelListParams`` keywords: ``limit``, ``cursor``,
``include_hidden``, ``model_provider``).""",
    keywords="ModelListParams",
    result="ModelListResponse",
)
models: Call[ModelListResponse] = Call(
    "Codex",
    "models",
    "model/list",
    "The available models (upstream's name for :meth:`model_list`; same keywords).",
    keywords="ModelListParams",
    result="ModelListResponse",
)
login_api_key: Call[None] = Call(
    "Codex",
    "login_api_key",
    "account/login/start",
    "Sign in with an OpenAI API key (stored in ``CODEX_HOME`` by the runtime).",
    args=("apiKey",),
    const={"type": "apiKey"},
    result="LoginAccountResponse",
    returns="none",
)
account: Call[GetAccountResponse] = Call(
    "Codex",
    "account",
    "account/read",
    "The signed-in account (``account`` is ``None`` when signed out) and whether OpenAI auth is needed.",
    result="GetAccountResponse",
)
logout: Call[None] = Call(
    "Codex",
    "logout",
    "account/logout",
    "Sign out (the runtime removes the stored credentials).",
    returns="none",
    no_params=True,
)

# ---------------------------------------------------------------- Thread / AsyncThread
read: Call[ThreadModel] = Call(
    "Thread",
    "read",
    "thread/read",
    """The thread as the runtime stores it (typed ``Thread``: name, preview, status, ...), with its
``turns`` when ``include_turns``.""",
    args=("includeTurns",),
    bound=_THREAD,
    result="ThreadReadResponse",
    pick="thread",
)
set_name: Call[None] = Call(
    "Thread",
    "set_name",
    "thread/name/set",
    "Give the thread a name (shown by ``read()`` and ``thread_list``).",
    args=("name",),
    bound=_THREAD,
    result="ThreadSetNameResponse",
    returns="none",
)
compact: Call[None] = Call(
    "Thread",
    "compact",
    "thread/compact/start",
    "Start compacting the thread's history (it runs as a turn of its own on the runtime).",
    bound=_THREAD,
    result="ThreadCompactStartResponse",
    returns="none",
)
set_goal: Call[ThreadGoal] = Call(
    "Thread",
    "set_goal",
    "thread/goal/set",
    "Set the thread's goal (replacing any); its progress arrives as ``thread/goal/updated``.",
    args=("objective", "tokenBudget"),
    bound=_THREAD,
    result="ThreadGoalSetResponse",
    pick="goal",
)
goal: Call[ThreadGoal | None] = Call(
    "Thread",
    "goal",
    "thread/goal/get",
    "The thread's goal, or ``None``.",
    bound=_THREAD,
    result="ThreadGoalGetResponse",
    pick="goal",
)
clear_goal: Call[bool] = Call(
    "Thread",
    "clear_goal",
    "thread/goal/clear",
    "Remove the thread's goal; ``True`` if there was one.",
    bound=_THREAD,
    result="ThreadGoalClearResponse",
    pick="cleared",
)

# ---------------------------------------------------------------- TurnHandle / AsyncTurnHandle
interrupt: Call[None] = Call(
    "TurnHandle",
    "interrupt",
    "turn/interrupt",
    "Ask the app-server to stop the turn; it then completes with status ``interrupted``.",
    bound={"threadId": "thread_id", "turnId": "id"},
    returns="none",
)
steer: Call[None] = Call(
    "TurnHandle",
    "steer",
    "turn/steer",
    "Add input to the running turn (fails with a JsonRpcError once the turn is over).",
    args=("input",),
    bound={"threadId": "thread_id", "expectedTurnId": "id"},
    returns="none",
)

# ---------------------------------------------------------------- ChatgptLogin / AsyncChatgptLogin
cancel: Call[None] = Call(
    "ChatgptLogin",
    "cancel",
    "account/login/cancel",
    "Cancel the login (its local callback server stops; ``wait()`` then raises LoginError).",
    bound={"loginId": "login_id"},
    returns="none",
)

CALLS: dict[str, Call[Any]] = {
    call.name: call
    for call in globals().values()
    if isinstance(call, Call)  # every entry above
}
"""Every entry of the table, by Python name."""
