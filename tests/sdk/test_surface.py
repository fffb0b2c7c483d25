"""The SDK's request methods: generated twins whose signatures are the pinned schema's params.

The named methods (``Codex.thread_start``, ``Thread.run``, ...) are written by ``generate-types`` from the
description in ``codex_release.steps.generate_types.surface``; ``codex.rpc`` from the protocol's method list. These
tests hold the result to the schema (every parameter is a field of the method's ``*Params`` model, and every
field is a parameter), hold the blocking and the coroutine twin to one signature and one docstring, written
in the source (nothing is attached at import time), and check that both twins put the same params on the wire.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
from pathlib import Path
from typing import Any

import pytest

from codex_release.steps.generate_types.surface import OWNERS, Request
from openai_codex import (
    AsyncCodex,
    AsyncGoalHandle,
    AsyncThread,
    AsyncTurnHandle,
    Codex,
    GoalHandle,
    Thread,
    TurnHandle,
)
from openai_codex._login import AsyncChatgptLogin, ChatgptLogin
from openai_codex.generated import api, protocol
from openai_codex.generated.rpc import AsyncRpc, Rpc
from openai_codex.generated.rpc_methods import CLIENT_REQUEST_PARAMS
from openai_codex.inputs import to_wire_input

CLASSES: dict[str, tuple[type, type]] = {
    "Codex": (Codex, AsyncCodex),
    "Thread": (Thread, AsyncThread),
    "TurnHandle": (TurnHandle, AsyncTurnHandle),
    "GoalHandle": (GoalHandle, AsyncGoalHandle),
    "ChatgptLogin": (ChatgptLogin, AsyncChatgptLogin),
}
REQUESTS = [(owner.name, request) for owner in OWNERS for request in owner.requests]
SDK_ONLY = {"self", "timeout", "tools"}
"""Parameters that are not fields of the params model: the SDK's own (a turn's timeout, client tools)."""


def _fields(model: str) -> set[str]:
    return set(getattr(protocol, model).model_fields)


@pytest.mark.parametrize(("owner", "request_"), REQUESTS, ids=[f"{o}.{r.name}" for o, r in REQUESTS])
def test_parameters_are_the_fields_of_the_params_model(owner: str, request_: Request) -> None:
    for cls in CLASSES[owner]:
        parameters = inspect.signature(getattr(cls, request_.name)).parameters
        taken = (set(parameters) - SDK_ONLY) | set(request_.bound)
        if request_.params is None:
            assert not taken, f"{cls.__name__}.{request_.name}"
            continue
        wire_set = {
            name
            for name, field in getattr(protocol, request_.params).model_fields.items()
            if (field.alias or name) in request_.const
        }
        expected = _fields(request_.params) - wire_set
        if request_.keywords:
            assert taken == expected, f"{cls.__name__}.{request_.name}"
        else:
            assert taken <= expected, f"{cls.__name__}.{request_.name}"
        keyword_only = {name for name, p in parameters.items() if p.kind is p.KEYWORD_ONLY}
        assert keyword_only == (
            expected - {a.name for a in request_.args} - set(request_.bound) if request_.keywords else set()
        ) | (set(parameters) & (SDK_ONLY - {"self"})) | {a.name for a in request_.args if a.keyword}


def test_every_rpc_method_takes_the_fields_of_its_params_model() -> None:
    from codex_release.steps.generate_types import rpc_method_name

    for method, model in CLIENT_REQUEST_PARAMS.items():
        for cls in (Rpc, AsyncRpc):
            parameters = set(inspect.signature(getattr(cls, rpc_method_name(method))).parameters) - {"self"}
            expected = set(model.model_fields) if hasattr(model, "model_fields") else {"params"}  # a union
            assert parameters == expected, f"{cls.__name__}.{rpc_method_name(method)}"


@pytest.mark.parametrize(("owner", "request_"), REQUESTS, ids=[f"{o}.{r.name}" for o, r in REQUESTS])
def test_twins_share_one_signature_and_a_docstring_written_in_the_source(owner: str, request_: Request) -> None:
    sync, twin = (getattr(cls, request_.name) for cls in CLASSES[owner])
    assert not inspect.iscoroutinefunction(sync)
    assert inspect.iscoroutinefunction(twin)
    sync_sig, async_sig = inspect.signature(sync), inspect.signature(twin)
    assert sync_sig.parameters == async_sig.parameters
    assert str(async_sig.return_annotation) in (str(sync_sig.return_annotation), f"Async{sync_sig.return_annotation}")
    assert sync.__doc__ == twin.__doc__
    assert request_.doc.strip().splitlines()[0] in (sync.__doc__ or "")
    source = ast.parse(Path(api.__file__).read_text(encoding="utf-8"))
    written = {
        f"{cls.name}.{node.name}": ast.get_docstring(node, clean=False)
        for cls in source.body
        if isinstance(cls, ast.ClassDef)
        for node in cls.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    assert written[f"{owner}Requests.{request_.name}"] == sync.__doc__


def test_every_public_method_of_the_mixins_is_described() -> None:
    for owner in OWNERS:
        for cls in CLASSES[owner.name]:
            mixin = getattr(api, f"{cls.__name__}Requests")
            assert issubclass(cls, mixin)
            generated = {name for name in vars(mixin) if not name.startswith("_")}
            assert generated == {r.name for r in owner.requests}, mixin.__name__


class _Sent(Exception):
    pass


def _objects() -> dict[str, tuple[Any, Any]]:
    codex, acodex = Codex.__new__(Codex), AsyncCodex.__new__(AsyncCodex)
    return {
        "Codex": (codex, acodex),
        "Thread": (Thread(codex, "thr_1"), AsyncThread(acodex, "thr_1")),
        "TurnHandle": (TurnHandle(codex, "thr_1", "turn_1", None), AsyncTurnHandle(acodex, "thr_1", "turn_1", None)),  # type: ignore[arg-type]
        "GoalHandle": (
            type("G", (GoalHandle,), {"turn_id": "turn_1"})(codex, "thr_1", {}, None),
            type("AG", (AsyncGoalHandle,), {"turn_id": "turn_1"})(acodex, "thr_1", {}, None),
        ),
        "ChatgptLogin": (
            ChatgptLogin(None, None, {"loginId": "login_1"}),  # type: ignore[arg-type]
            AsyncChatgptLogin(None, None, {"loginId": "login_1"}),  # type: ignore[arg-type]
        ),
    }


SAMPLE_ARGS: dict[str, Any] = {
    "thread_id": "thr_1",
    "include_turns": True,
    "name": "a name",
    "objective": "ship it",
    "token_budget": 1000,
    "input": "hello",
    "api_key": "sk-test",
}


def _capture(objects: dict[str, tuple[Any, Any]]) -> list[tuple[str, Any]]:
    """Every request sent through the primitives is recorded, then refused (nothing is running)."""
    sent: list[tuple[str, Any]] = []

    def send(method: str, params: Any, *rest: Any) -> Any:
        sent.append((method, params))
        raise _Sent

    async def asend(method: str, params: Any, *rest: Any) -> Any:
        return send(method, params)

    def turn(params: Any, *rest: Any) -> Any:
        return send("turn/start", params)

    async def aturn(params: Any, *rest: Any) -> Any:
        return send("turn/start", params)

    for sync, twin in objects.values():
        sync._request, twin._request = send, asend
    objects["Codex"][0]._open_thread, objects["Codex"][1]._open_thread = send, asend

    def goal(params: Any, *rest: Any) -> Any:
        return send("thread/goal/set", params)

    async def agoal(params: Any, *rest: Any) -> Any:
        return send("thread/goal/set", params)

    objects["Thread"][0]._start_turn = objects["Thread"][0]._run_turn = turn
    objects["Thread"][1]._start_turn = objects["Thread"][1]._run_turn = aturn
    objects["Thread"][0]._start_goal = objects["Thread"][0]._run_goal = goal
    objects["Thread"][1]._start_goal = objects["Thread"][1]._run_goal = agoal
    return sent


@pytest.mark.parametrize(("owner", "request_"), REQUESTS, ids=[f"{o}.{r.name}" for o, r in REQUESTS])
def test_sync_and_async_send_the_same_request(owner: str, request_: Request) -> None:
    objects = _objects()
    sent = _capture(objects)
    sync, twin = objects[owner]
    args = [SAMPLE_ARGS[a.name] for a in request_.args if not a.keyword]
    kwargs = {a.name: SAMPLE_ARGS[a.name] for a in request_.args if a.keyword}
    with pytest.raises(_Sent):
        getattr(sync, request_.name)(*args, **kwargs)
    with pytest.raises(_Sent):
        asyncio.run(getattr(twin, request_.name)(*args, **kwargs))
    assert len(sent) == 2
    assert sent[0] == sent[1]
    assert sent[0][0] == request_.method


def test_the_wire_params_spelled_out() -> None:
    """A few methods with the params they put on the wire (``None`` is left out, the SDK's own keys added)."""
    objects = _objects()
    sent = _capture(objects)
    codex, thread, handle = objects["Codex"][0], objects["Thread"][0], objects["TurnHandle"][0]
    for action in (
        lambda: codex.thread_resume("thr_1", model="m", cwd=None),
        lambda: codex.thread_start(approval_policy="never", sandbox=protocol.SandboxMode.read_only),
        lambda: codex.thread_archive("thr_1"),
        lambda: codex.thread_list(sort_key="created_at", source_kinds=["cli"], model_providers=[]),
        lambda: codex.login_api_key("sk-test"),
        codex.account,
        codex.logout,
        thread.read,
        lambda: thread.set_goal("ship it"),
        lambda: thread.start_goal("ship it", token_budget=500),
        objects["GoalHandle"][0].interrupt,
        lambda: thread.turn("go", effort="high", sandbox_policy={"type": "readOnly"}),
        handle.interrupt,
        lambda: handle.steer("more"),
    ):
        with pytest.raises(_Sent):
            action()
    assert sent == [
        ("thread/resume", {"model": "m", "threadId": "thr_1"}),
        ("thread/start", {"approvalPolicy": "never", "sandbox": "read-only"}),
        ("thread/archive", {"threadId": "thr_1"}),
        ("thread/list", {"sortKey": "created_at", "sourceKinds": ["cli"], "modelProviders": []}),
        ("account/login/start", {"type": "apiKey", "apiKey": "sk-test"}),
        ("account/read", {}),
        ("account/logout", None),
        ("thread/read", {"threadId": "thr_1", "includeTurns": False}),
        ("thread/goal/set", {"threadId": "thr_1", "objective": "ship it"}),
        ("thread/goal/set", {"threadId": "thr_1", "objective": "ship it", "tokenBudget": 500}),
        ("turn/interrupt", {"threadId": "thr_1", "turnId": "turn_1"}),
        (
            "turn/start",
            {
                "threadId": "thr_1",
                "input": to_wire_input("go"),
                "effort": "high",
                "sandboxPolicy": {"type": "readOnly"},
            },
        ),
        ("turn/interrupt", {"threadId": "thr_1", "turnId": "turn_1"}),
        ("turn/steer", {"threadId": "thr_1", "expectedTurnId": "turn_1", "input": to_wire_input("more")}),
    ]
    with pytest.raises(TypeError, match="unexpected keyword argument 'sortKey'"):
        codex.thread_list(sortKey="created_at")
    with pytest.raises(TypeError, match="unexpected keyword argument 'thread_id'"):
        thread.turn("x", thread_id="other")  # the SDK sets it: it is no parameter
