"""The public surface: every exported name, inputs, kwargs mapping, notifications, approvals, errors,
``__version__`` and a light ``import openai_codex``."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import pytest

import openai_codex
from codex_release.core.versions import CodexVersion
from openai_codex import (
    ApprovalRequest,
    AsyncCodex,
    Codex,
    CodexConfig,
    ImageInput,
    InputItem,
    InternalRpcError,
    InvalidParamsError,
    InvalidRequestError,
    JsonRpcError,
    LocalImageInput,
    MentionInput,
    MethodNotFoundError,
    Notification,
    ParseError,
    ServerBusyError,
    SkillInput,
    TextInput,
)
from openai_codex.approvals import answer_for
from openai_codex.errors import jsonrpc_error
from openai_codex.inputs import to_wire_input

MakeConfig = Callable[..., CodexConfig]


def test_every_public_name_resolves() -> None:
    for name in openai_codex.__all__:
        assert getattr(openai_codex, name) is not None, name
    assert set(openai_codex.__all__) <= set(dir(openai_codex))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = openai_codex.nope


def test_version_comes_from_installed_metadata() -> None:
    assert openai_codex.__version__ == version("openai-codex")


def test_types_reexport_generated_models(pinned_version: CodexVersion) -> None:
    from openai_codex import types
    from openai_codex.generated import protocol

    for name in types.__all__:
        if name != "CODEX_VERSION":
            assert getattr(types, name) is getattr(protocol, name), name
    assert str(pinned_version) == types.CODEX_VERSION  # generated from the pinned runtime
    assert types.TurnStatus("interrupted") is protocol.TurnStatus.interrupted
    assert types.ThreadSourceKind is protocol.ThreadSourceKind  # any generated name, through __getattr__
    with pytest.raises(AttributeError):
        _ = types.NoSuchModel


def _imported_after(code: str) -> set[str]:
    probe = f"import sys; {code}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_import_is_light() -> None:
    loaded = _imported_after("import openai_codex")
    assert not {m for m in loaded if m.startswith(("pydantic", "asyncio", "openai_codex.", "subprocess"))}
    loaded = _imported_after("from openai_codex import Codex, CodexConfig")
    assert "openai_codex._client" in loaded
    # the generated request methods come along (their annotations are strings); the ~900 models do not
    assert "openai_codex.generated.api" in loaded
    assert not {m for m in loaded if m.startswith(("pydantic", "openai_codex.generated.protocol", "asyncio"))}
    assert not {m for m in loaded if m.startswith(("openai_codex.generated.rpc", "openai_codex.generated.notif"))}


def test_inputs_to_wire(tmp_path: Path) -> None:
    assert to_wire_input("hi") == [{"type": "text", "text": "hi", "text_elements": []}]
    wire = to_wire_input(
        [
            TextInput("look"),
            ImageInput("https://example.invalid/a.png"),
            ImageInput("https://example.invalid/b.png", detail="high"),
            LocalImageInput(tmp_path / "c.png"),
            SkillInput("deploy", tmp_path / "SKILL.md"),
            MentionInput("Docs", "app://docs"),
            "tail",
        ]
    )
    assert wire == [
        {"type": "text", "text": "look", "text_elements": []},
        {"type": "image", "url": "https://example.invalid/a.png"},
        {"type": "image", "url": "https://example.invalid/b.png", "detail": "high"},
        {"type": "localImage", "path": str(tmp_path / "c.png")},
        {"type": "skill", "name": "deploy", "path": str(tmp_path / "SKILL.md")},
        {"type": "mention", "name": "Docs", "path": "app://docs"},
        {"type": "text", "text": "tail", "text_elements": []},
    ]
    assert to_wire_input(SkillInput("s", "p")) == [{"type": "skill", "name": "s", "path": "p"}]
    with pytest.raises(TypeError, match="not int"):
        to_wire_input(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        to_wire_input([])


def test_inputs_validate_against_the_generated_user_input_model() -> None:
    from pydantic import TypeAdapter

    from openai_codex.types import UserInput

    adapter = TypeAdapter(list[UserInput])
    items: list[InputItem] = [TextInput("t"), ImageInput("u", detail="low"), LocalImageInput("p"), SkillInput("n", "p")]
    parsed = adapter.validate_python(to_wire_input([*items, MentionInput("n", "app://x")]))
    assert [getattr(p, "type", None) for p in parsed] == ["text", "image", "localImage", "skill", "mention"]


def test_unknown_keywords_fail_before_anything_is_sent(fake_app_server: MakeConfig, tmp_path: Path) -> None:
    """The parameters are explicit: a wrong keyword is Python's own TypeError (and mypy's error)."""
    log = tmp_path / "received.jsonl"
    with Codex(fake_app_server("", fake_log=str(log))) as codex:
        with pytest.raises(TypeError, match=r"thread_start\(\) got an unexpected keyword argument 'colour'"):
            codex.thread_start(colour="blue")  # type: ignore[call-arg]
        thread = codex.thread_start(model="m")
        with pytest.raises(TypeError, match="unexpected keyword argument 'approvalPolicy'"):
            thread.turn("x", approvalPolicy="never")  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="model_list"):
            codex.model_list(include_hiden=True)  # type: ignore[call-arg]
        sent = log.read_text().splitlines()
    methods = [json.loads(line).get("method") for line in sent]
    assert methods == ["initialize", "initialized", "thread/start"]
    assert json.loads(sent[-1])["params"] == {"model": "m"}


async def test_unknown_keywords_fail_before_the_async_client_even_starts(tmp_path: Path) -> None:
    codex = AsyncCodex(CodexConfig(codex_bin=tmp_path / "missing-codex"))
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        await codex.thread_start(colour="blue")  # type: ignore[call-arg]


def test_notification_payloads() -> None:
    from openai_codex.types import AgentMessageDeltaNotification

    delta = Notification("item/agentMessage/delta", {"threadId": "t", "turnId": "u", "itemId": "i", "delta": "d"})
    assert (delta.method, delta.thread_id, delta.turn_id) == ("item/agentMessage/delta", "t", "u")
    assert isinstance(delta.payload, AgentMessageDeltaNotification)
    assert delta.payload.delta == "d"
    assert delta.payload is delta.payload  # parsed once
    started = Notification("turn/started", {"threadId": "t", "turn": {"id": "u", "items": [], "status": "inProgress"}})
    assert started.turn_id == "u"
    future = Notification("brand/newMethod", {"threadId": "t", "x": 1})
    assert future.payload == {"threadId": "t", "x": 1}  # unknown methods come through untyped
    broken = Notification("item/agentMessage/delta", {"threadId": "t"})  # does not match its model
    assert broken.payload == {"threadId": "t"}
    assert "item/agentMessage/delta" in repr(delta)
    # thread/search/partial (Codex 0.171.0): typed like its siblings; it names no thread (its rows do), so it is
    # a client-wide event that no turn's stream receives
    search = Notification("thread/search/partial", {"requestId": 7, "data": []})
    assert type(search.payload).__name__ == "ThreadSearchPartialNotification"
    assert (search.thread_id, search.turn_id) == (None, None)


def test_approval_answers_per_method() -> None:
    def answer(method: str, decision: str, **params: object) -> object:
        return answer_for(ApprovalRequest(method, params), decision)

    assert answer("item/commandExecution/requestApproval", "accept_for_session") == {"decision": "acceptForSession"}
    assert answer("item/fileChange/requestApproval", "cancel") == {"decision": "cancel"}
    assert answer("execCommandApproval", "accept") == {"decision": "approved"}
    assert answer("applyPatchApproval", "decline") == {"decision": {"denied": {"rejection": "Declined by the client."}}}
    permissions = {"network": {"enabled": True}}
    assert answer("item/permissions/requestApproval", "accept", permissions=permissions) == {
        "permissions": permissions,
        "scope": "turn",
    }
    assert answer("item/permissions/requestApproval", "decline", permissions=permissions) == {
        "permissions": {},
        "scope": "turn",
    }
    assert answer("mcpServer/elicitation/request", "decline") == {"action": "decline", "content": None}
    offered = {"_meta": {"codex_approval_kind": "mcp_tool_call", "persist": ["session", "always"]}}
    assert answer("mcpServer/elicitation/request", "accept_for_session", **offered) == {
        "action": "accept",
        "content": None,
        "_meta": {"persist": "session"},  # the runtime's key for "do not ask again for this tool this session"
    }
    assert answer("mcpServer/elicitation/request", "accept_for_session") == {"action": "accept", "content": None}
    assert answer("item/tool/requestUserInput", "accept") == {"answers": {}}
    assert answer("item/fileChange/requestApproval", "bogus") == {"decision": "decline"}
    assert answer("anything", {"custom": True}) == {"custom": True}  # type: ignore[arg-type]
    from openai_codex.approvals import UnsupportedServerRequest

    with pytest.raises(UnsupportedServerRequest, match="account/chatgptAuthTokens/refresh"):
        answer("account/chatgptAuthTokens/refresh", "accept")
    request = ApprovalRequest("item/commandExecution/requestApproval", {"command": ["ls", "-la"], "threadId": "t"})
    assert (request.command, request.thread_id, request.turn_id) == ("ls -la", "t", None)


def test_approval_answers_validate_against_the_generated_response_models() -> None:
    from openai_codex.types import CommandExecutionRequestApprovalResponse, FileChangeRequestApprovalResponse

    for decision in ("accept", "accept_for_session", "decline", "cancel"):
        request = ApprovalRequest("item/commandExecution/requestApproval", {})
        CommandExecutionRequestApprovalResponse.model_validate(answer_for(request, decision))
        request = ApprovalRequest("item/fileChange/requestApproval", {})
        FileChangeRequestApprovalResponse.model_validate(answer_for(request, decision))


def test_json_rpc_errors_are_typed_and_picklable() -> None:
    cases = {
        -32700: ParseError,
        -32600: InvalidRequestError,
        -32601: MethodNotFoundError,
        -32602: InvalidParamsError,
        -32603: InternalRpcError,
        -32001: ServerBusyError,
        -32099: JsonRpcError,
    }
    for code, cls in cases.items():
        error = jsonrpc_error(code, "msg", {"k": 1}, method="m")
        assert type(error) is cls
        assert (error.code, error.message, error.data, error.method) == (code, "msg", {"k": 1}, "m")
        assert str(error) == f"JSON-RPC error {code} (m): msg"
        copy = pickle.loads(pickle.dumps(error))
        assert (type(copy), copy.code, copy.data) == (cls, code, {"k": 1})


def test_config_defaults() -> None:
    config = CodexConfig(config_overrides=["a=1"], env={"X": "y"})
    assert config.config_overrides == ("a=1",)
    assert config.approval_handler == "decline"
    assert config.client_name == "openai_codex_python"


def test_the_public_names_are_listed_once_and_typed_alike() -> None:
    """``__all__`` is the list; each name is found in one of ``_HOMES``; the imports type checkers read
    name exactly the same names from the same modules."""
    import ast
    import importlib

    tree = ast.parse(Path(openai_codex.__file__).read_text(encoding="utf-8"))
    typed = {
        (node.module, alias.name)
        for block in tree.body
        if isinstance(block, ast.If) and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
        for node in block.body
        if isinstance(node, ast.ImportFrom) and node.module != "typing"
        for alias in node.names
    }
    homes = {
        (module, name)
        for module in openai_codex._HOMES
        for name in importlib.import_module(module).__all__
        if name in openai_codex.__all__
    }
    assert typed == homes
    assert {name for _, name in homes} == set(openai_codex.__all__) - {"__version__"}
    assert len(homes) == len(openai_codex.__all__) - 1  # each name has one home
