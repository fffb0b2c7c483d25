"""The SDK's named request methods, described once; ``generate-types`` writes them for sync and async alike.

Each :class:`Request` is one public method that sends one request: its Python name and wire method, which
fields of its ``*Params`` model it takes positionally, whether the rest become keyword-only parameters, which
wire keys come from the object it is called on, and how the answer is returned. From this and the pinned
schema, :mod:`codex_release.steps.generate_types.methods` writes ``openai_codex/generated/api.py``: a blocking and a
coroutine mixin per owner, with explicit typed parameters and these docstrings. The hand-written classes
(``Codex``, ``AsyncCodex``, ``Thread``, ...) inherit the mixins and give the few primitives their bodies call
(``_request``, ``_open_thread``, ``_start_turn``, ``_run_turn``). A runtime bump that changes a params model
changes the signatures with it, and ``generate-types --check`` fails until they are regenerated.

To add a method: add a :class:`Request` here, run ``make generate-types``, and document it in the SDK README.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["OWNERS", "PRESETS", "Arg", "Owner", "Request"]

Returns = Literal["value", "none", "thread", "turn", "run", "goal", "run_goal"]


@dataclass(frozen=True)
class Arg:
    """A field of the params model taken positionally."""

    name: str
    """Its snake_case field name (also the parameter's name)."""
    annotation: str | None = None
    """The parameter's type when it differs from the field's (``None``: the field's type)."""
    default: str | None = None
    """Source of its default (``None``: required)."""
    convert: str | None = None
    """A function of ``openai_codex.inputs`` applied before it goes on the wire."""
    keyword: bool = False
    """Keyword-only (after ``*``) instead of positional."""


@dataclass(frozen=True)
class Request:
    """One public method that sends one request (see the module docstring)."""

    name: str
    method: str
    doc: str
    params: str | None = None
    """The generated params model whose fields the method's parameters are (``None``: it sends no params)."""
    args: tuple[Arg, ...] = ()
    keywords: bool = False
    """Every field not taken otherwise becomes a keyword-only parameter (default ``None``: left out)."""
    bound: Mapping[str, str] = field(default_factory=dict)
    """Field name -> attribute of the object the method is called on (``{"thread_id": "id"}``)."""
    const: Mapping[str, Any] = field(default_factory=dict)
    """Wire key -> the JSON value the method always sends."""
    result: str | None = None
    """The generated model the answer is validated into (``None``: not validated)."""
    pick: str | None = None
    """The field of the validated answer the method returns (``None``: the whole answer)."""
    returns: Returns = "value"
    """``value``: the (picked) answer; ``none``: nothing; ``thread``: a new Thread of the SDK (the answer's
    ``thread``, built by ``_open_thread``); ``turn`` / ``run``: the params go to ``_start_turn`` / ``_run_turn``;
    ``goal`` / ``run_goal``: to ``_start_goal`` / ``_run_goal`` (a goal run: every turn of the goal)."""
    tools: bool = False
    """Also takes ``tools=[...]``: client-defined tools for the new thread (experimental)."""


@dataclass(frozen=True)
class Owner:
    """A hand-written SDK class pair and the request methods its generated mixins give it."""

    name: str
    """The sync class (``Codex``); the async one is ``Async`` + this name; the mixins ``<class>Requests``."""
    requests: tuple[Request, ...]


_THREAD = {"thread_id": "id"}
_KEYWORDS_DOC = "Keyword arguments are the fields of ``{params}`` in snake_case; ``None`` leaves one out."

OWNERS: tuple[Owner, ...] = (
    Owner(
        "Codex",
        (
            Request(
                "thread_start",
                "thread/start",
                """Start a new thread and return it.

``tools`` offers Python callables (or :class:`~openai_codex.tools.Tool` objects) to the model as
client-defined tools; it needs ``CodexConfig(experimental_api=True)``.""",
                params="ThreadStartParams",
                keywords=True,
                returns="thread",
                tools=True,
            ),
            Request(
                "thread_resume",
                "thread/resume",
                "Continue a stored thread: it is loaded into this app-server and returned.",
                params="ThreadResumeParams",
                args=(Arg("thread_id"),),
                keywords=True,
                returns="thread",
            ),
            Request(
                "thread_fork",
                "thread/fork",
                "A new thread holding a copy of ``thread_id``'s history (the original is left as it is).",
                params="ThreadForkParams",
                args=(Arg("thread_id"),),
                keywords=True,
                returns="thread",
            ),
            Request(
                "thread_list",
                "thread/list",
                "One page of stored threads; pass the answer's ``next_cursor`` as ``cursor`` for the next.",
                params="ThreadListParams",
                keywords=True,
                result="ThreadListResponse",
            ),
            Request(
                "thread_archive",
                "thread/archive",
                "Archive a thread: it leaves the default :meth:`thread_list` (``archived=True`` lists it).",
                params="ThreadArchiveParams",
                args=(Arg("thread_id"),),
                returns="none",
            ),
            Request(
                "thread_unarchive",
                "thread/unarchive",
                "Restore an archived thread and return it.",
                params="ThreadUnarchiveParams",
                args=(Arg("thread_id"),),
                returns="thread",
            ),
            Request(
                "model_list",
                "model/list",
                "One page of the models this runtime can use.",
                params="ModelListParams",
                keywords=True,
                result="ModelListResponse",
            ),
            Request(
                "models",
                "model/list",
                "The models this runtime can use (upstream's name for :meth:`model_list`).",
                params="ModelListParams",
                keywords=True,
                result="ModelListResponse",
            ),
            Request(
                "login_api_key",
                "account/login/start",
                "Sign in with an OpenAI API key; the runtime stores it in ``CODEX_HOME``.",
                params="ApiKeyv2LoginAccountParams",
                args=(Arg("api_key"),),
                const={"type": "apiKey"},
                result="LoginAccountResponse",
                returns="none",
            ),
            Request(
                "account",
                "account/read",
                "The signed-in account (``account`` is ``None`` when signed out) and whether OpenAI auth is needed.",
                params="GetAccountParams",
                result="GetAccountResponse",
            ),
            Request(
                "logout",
                "account/logout",
                "Sign out: the runtime removes the stored credentials.",
                returns="none",
            ),
        ),
    ),
    Owner(
        "Thread",
        (
            Request(
                "read",
                "thread/read",
                "The thread as the runtime stores it (name, preview, status, ...), with its ``turns`` if asked.",
                params="ThreadReadParams",
                args=(Arg("include_turns", "bool", "False"),),
                bound=_THREAD,
                result="ThreadReadResponse",
                pick="thread",
            ),
            Request(
                "set_name",
                "thread/name/set",
                "Give the thread a name (``read()`` and ``thread_list`` show it).",
                params="ThreadSetNameParams",
                args=(Arg("name"),),
                bound=_THREAD,
                result="ThreadSetNameResponse",
                returns="none",
            ),
            Request(
                "compact",
                "thread/compact/start",
                "Start compacting the thread's history; the runtime runs it as a turn of its own.",
                params="ThreadCompactStartParams",
                bound=_THREAD,
                result="ThreadCompactStartResponse",
                returns="none",
            ),
            Request(
                "set_goal",
                "thread/goal/set",
                "Set the thread's goal, replacing any; its progress arrives as ``thread/goal/updated``.",
                params="ThreadGoalSetParams",
                args=(Arg("objective", "str"), Arg("token_budget", default="None")),
                bound=_THREAD,
                result="ThreadGoalSetResponse",
                pick="goal",
            ),
            Request(
                "goal",
                "thread/goal/get",
                "The thread's goal, or ``None``.",
                params="ThreadGoalGetParams",
                bound=_THREAD,
                result="ThreadGoalGetResponse",
                pick="goal",
            ),
            Request(
                "clear_goal",
                "thread/goal/clear",
                "Remove the thread's goal; ``True`` if there was one.",
                params="ThreadGoalClearParams",
                bound=_THREAD,
                result="ThreadGoalClearResponse",
                pick="cleared",
            ),
            Request(
                "turn",
                "turn/start",
                """Start a turn and return at once; consume it with the handle's ``stream()`` or ``run()``.

The keyword arguments apply to this turn and the thread's next ones.""",
                params="TurnStartParams",
                args=(Arg("input", "Input", convert="to_wire_input"),),
                keywords=True,
                bound=_THREAD,
                returns="turn",
            ),
            Request(
                "run",
                "turn/start",
                """Run a turn to completion: ``final_response``, ``items``, ``usage`` and the finished ``turn``.

With ``timeout``, a turn still running after that many seconds is interrupted and :class:`TimeoutError`
raised (e.g. while the runtime keeps retrying an unreachable model).""",
                params="TurnStartParams",
                args=(Arg("input", "Input", convert="to_wire_input"),),
                keywords=True,
                bound=_THREAD,
                returns="run",
            ),
            Request(
                "start_goal",
                "thread/goal/set",
                """Set the thread's goal and return a handle on its run: every turn the runtime runs for it.

The run ends when the goal is complete, cleared, out of its token budget or blocked, or when its turn is
interrupted; consume it with the handle's ``stream()`` or ``run()``.""",
                params="ThreadGoalSetParams",
                args=(Arg("objective", "str"), Arg("token_budget", default="None", keyword=True)),
                bound=_THREAD,
                returns="goal",
            ),
            Request(
                "run_goal",
                "thread/goal/set",
                """Set the thread's goal and wait for its run to end: the result lists every turn it took.

With ``timeout``, a goal still running after that many seconds has its turn interrupted (the runtime then
starts no other; the goal stays set) and :class:`TimeoutError` is raised.""",
                params="ThreadGoalSetParams",
                args=(Arg("objective", "str"), Arg("token_budget", default="None", keyword=True)),
                bound=_THREAD,
                returns="run_goal",
            ),
        ),
    ),
    Owner(
        "TurnHandle",
        (
            Request(
                "interrupt",
                "turn/interrupt",
                "Ask the app-server to stop the turn; it then completes with status ``interrupted``.",
                params="TurnInterruptParams",
                bound={"thread_id": "thread_id", "turn_id": "id"},
                returns="none",
            ),
            Request(
                "steer",
                "turn/steer",
                "Add input to the running turn (a :class:`~openai_codex.JsonRpcError` once the turn is over).",
                params="TurnSteerParams",
                args=(Arg("input", "Input", convert="to_wire_input"),),
                bound={"thread_id": "thread_id", "expected_turn_id": "id"},
                returns="none",
            ),
        ),
    ),
    Owner(
        "GoalHandle",
        (
            Request(
                "interrupt",
                "turn/interrupt",
                """Stop the goal's turn in progress; it completes ``interrupted`` and the runtime starts no other (the
goal stays set). :class:`~openai_codex.CodexError` when no turn of the goal is in progress.""",
                params="TurnInterruptParams",
                bound={"thread_id": "thread_id", "turn_id": "turn_id"},
                returns="none",
            ),
            Request(
                "steer",
                "turn/steer",
                """Add input to the goal's turn in progress (:class:`~openai_codex.CodexError` when none is).""",
                params="TurnSteerParams",
                args=(Arg("input", "Input", convert="to_wire_input"),),
                bound={"thread_id": "thread_id", "expected_turn_id": "turn_id"},
                returns="none",
            ),
        ),
    ),
    Owner(
        "ChatgptLogin",
        (
            Request(
                "cancel",
                "account/login/cancel",
                "Cancel the login: its local callback server stops and ``wait()`` raises LoginError.",
                params="CancelLoginAccountParams",
                bound={"login_id": "login_id"},
                returns="none",
            ),
        ),
    ),
)
"""Every named request method of the SDK, by the class that has it."""

PRESETS: Mapping[str, str] = {"SandboxMode": "Sandbox", "AskForApproval": "ApprovalMode"}
"""Protocol type -> the ``str`` enum of ``openai_codex.presets`` a parameter of that type also accepts (its
values are the type's wire strings: ``tests/sdk/test_presets.py`` holds them equal)."""
