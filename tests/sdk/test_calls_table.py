"""The sync and the async client are held to one table of plain requests (``openai_codex._calls``).

Every entry has a blocking method and a coroutine twin with the same signature and docstring; each such
method is only ``self._call(calls.NAME, ...)``; no other public method of the shells sends a request of its
own; and both shells put the same params on the wire for each entry (checked without an app-server).
"""

from __future__ import annotations

import asyncio
import inspect
import re
from typing import Any

import pytest

from openai_codex import (
    AsyncCodex,
    AsyncThread,
    AsyncTurnHandle,
    Codex,
    Thread,
    TurnHandle,
    _async_client,
    _calls,
    _client,
    _login,
)
from openai_codex._login import AsyncChatgptLogin, ChatgptLogin
from openai_codex.inputs import to_wire_input

SHELLS: dict[str, tuple[type, type]] = {
    "Codex": (Codex, AsyncCodex),
    "Thread": (Thread, AsyncThread),
    "TurnHandle": (TurnHandle, AsyncTurnHandle),
    "ChatgptLogin": (ChatgptLogin, AsyncChatgptLogin),
}

# Public methods that are not plain requests (a lifecycle, a turn's stream, a login's outcome): the only
# ones allowed to do anything but ``_call``.
NOT_PLAIN: dict[str, set[str]] = {
    "Codex": {"close", "start", "login_chatgpt", "login_chatgpt_device_code"},
    "Thread": {"turn", "run"},
    "TurnHandle": {"stream", "run", "result"},
    "ChatgptLogin": {"wait"},
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


def _public_methods(cls: type) -> set[str]:
    return {
        name
        for name, value in vars(cls).items()
        if not name.startswith("_") and (inspect.isfunction(value) or inspect.isasyncgenfunction(value))
    }


def test_every_entry_has_a_sync_and_an_async_method_with_one_signature() -> None:
    assert set(_calls.CALLS) == {name for name, value in vars(_calls).items() if isinstance(value, _calls.Call)}
    for call in _calls.CALLS.values():
        sync_cls, async_cls = SHELLS[call.owner]
        sync, twin = getattr(sync_cls, call.name), getattr(async_cls, call.name)
        assert not inspect.iscoroutinefunction(sync), call.name
        assert inspect.iscoroutinefunction(twin), call.name
        sync_sig, async_sig = inspect.signature(sync), inspect.signature(twin)
        assert sync_sig.parameters == async_sig.parameters, call.name
        assert str(async_sig.return_annotation) in (
            str(sync_sig.return_annotation),
            f"Async{sync_sig.return_annotation}",
        ), call.name
        assert sync.__doc__ == twin.__doc__ == call.doc, call.name
        positional = [p for p in sync_sig.parameters.values() if p.kind is p.POSITIONAL_OR_KEYWORD][1:]
        assert len(positional) == len(call.args), call.name
        has_keywords = any(p.kind is p.VAR_KEYWORD for p in sync_sig.parameters.values())
        assert has_keywords == (call.keywords is not None), call.name


@pytest.mark.parametrize("owner", sorted(SHELLS))
def test_no_plain_request_bypasses_the_table(owner: str) -> None:
    sync_cls, async_cls = SHELLS[owner]
    in_table = {call.name for call in _calls.CALLS.values() if call.owner == owner}
    for cls in (sync_cls, async_cls):
        methods = _public_methods(cls)
        assert methods - NOT_PLAIN[owner] == in_table, cls.__name__
        for name in in_table:
            source = inspect.getsource(getattr(cls, name))
            body = source.split('"""')[-1] if '"""' in source else source.split(":\n", 1)[1]
            assert re.search(rf"self\._call\(calls\.{name}\b", body), f"{cls.__name__}.{name}"
            assert "_transport" not in body, f"{cls.__name__}.{name}"
    # The client modules name no wire method: those live in the table (or, for turn/start, the drivers).
    for module in (_client, _async_client):
        assert not re.findall(r"\"[a-z]+/[A-Za-z/]+\"", inspect.getsource(module)), module.__name__
        assert not re.search(r"self\.rpc\.\w+\(", inspect.getsource(module)), module.__name__


class _Sent(Exception):
    pass


def _owners() -> dict[str, tuple[Any, Any]]:
    codex, acodex = Codex.__new__(Codex), AsyncCodex.__new__(AsyncCodex)
    return {
        "Codex": (codex, acodex),
        "Thread": (Thread(codex, "thr_1"), AsyncThread(acodex, "thr_1")),
        "TurnHandle": (TurnHandle(codex, "thr_1", "turn_1", None), AsyncTurnHandle(acodex, "thr_1", "turn_1", None)),  # type: ignore[arg-type]
        "ChatgptLogin": (
            ChatgptLogin(None, None, {"loginId": "login_1"}),  # type: ignore[arg-type]
            AsyncChatgptLogin(None, None, {"loginId": "login_1"}),  # type: ignore[arg-type]
        ),
    }


@pytest.mark.parametrize("name", sorted(_calls.CALLS))
def test_sync_and_async_send_the_same_request(name: str) -> None:
    call = _calls.CALLS[name]
    owners = _owners()
    sync_owner, async_owner = owners[call.owner]
    sent: list[tuple[str, Any]] = []

    def send(method: str, params: Any) -> Any:
        sent.append((method, params))
        raise _Sent

    async def asend(method: str, params: Any) -> Any:
        return send(method, params)

    for codex, fake in ((owners["Codex"][0], send), (owners["Codex"][1], asend)):
        codex._send = fake
    if call.owner == "ChatgptLogin":
        sync_owner._send, async_owner._send = send, asend
    sig = inspect.signature(getattr(type(sync_owner), name))
    args = [SAMPLE_ARGS[p] for p in list(sig.parameters)[1:] if p in SAMPLE_ARGS]
    with pytest.raises(_Sent):
        getattr(sync_owner, name)(*args)
    with pytest.raises(_Sent):
        asyncio.run(getattr(async_owner, name)(*args))
    assert len(sent) == 2
    assert sent[0] == sent[1]
    assert sent[0][0] == call.method


def test_the_table_sends_what_the_methods_sent_before() -> None:
    """A few entries spelled out: the wire params the hand-written methods used to build."""
    codex = Codex.__new__(Codex)
    sent: list[tuple[str, Any]] = []

    def send(method: str, params: Any) -> Any:
        sent.append((method, params))
        raise _Sent

    codex._send = send  # type: ignore[method-assign]
    thread, handle = Thread(codex, "thr_1"), TurnHandle(codex, "thr_1", "turn_1", None)  # type: ignore[arg-type]
    for action in (
        lambda: codex.thread_resume("thr_1", model="m", cwd=None),
        lambda: codex.thread_archive("thr_1"),
        lambda: codex.login_api_key("sk-test"),
        codex.account,
        codex.logout,
        thread.read,
        lambda: thread.set_goal("ship it"),
        handle.interrupt,
        lambda: handle.steer("more"),
    ):
        with pytest.raises(_Sent):
            action()
    assert sent == [
        ("thread/resume", {"model": "m", "threadId": "thr_1"}),
        ("thread/archive", {"threadId": "thr_1"}),
        ("account/login/start", {"type": "apiKey", "apiKey": "sk-test"}),
        ("account/read", {}),
        ("account/logout", None),
        ("thread/read", {"threadId": "thr_1", "includeTurns": False}),
        ("thread/goal/set", {"threadId": "thr_1", "objective": "ship it"}),
        ("turn/interrupt", {"threadId": "thr_1", "turnId": "turn_1"}),
        ("turn/steer", {"threadId": "thr_1", "expectedTurnId": "turn_1", "input": to_wire_input("more")}),
    ]
    with pytest.raises(TypeError, match="snake_case"):
        codex.thread_list(sortKey="created_at")
    assert _login.START == "account/login/start"
