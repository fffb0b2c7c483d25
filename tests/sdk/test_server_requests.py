"""Every server request of the protocol is answered: by its ``server_request_handlers`` hook, else by a
safe default; a request the SDK does not know gets a JSON-RPC error answer, never silence."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from openai_codex import ApprovalRequest, AsyncCodex, Codex, CodexConfig
from openai_codex.approvals import SERVER_REQUEST_DEFAULTS
from openai_codex.generated.rpc_methods import SERVER_REQUEST_METHODS

MakeConfig = Callable[..., CodexConfig]


def _answer(config: CodexConfig) -> dict[str, Any]:
    """The fake app-server sends one server request during the turn and echoes our answer as the text."""
    with Codex(config) as codex:
        result = codex.thread_start().run("go", timeout=20)
    answer: dict[str, Any] = json.loads(result.final_response or "")
    return answer


def test_every_server_request_of_the_schema_has_a_default() -> None:
    assert set(SERVER_REQUEST_DEFAULTS) == set(SERVER_REQUEST_METHODS)


@pytest.mark.parametrize("method", sorted(SERVER_REQUEST_METHODS))
def test_every_server_request_gets_an_answer_by_default(fake_app_server: MakeConfig, method: str) -> None:
    answer = _answer(fake_app_server("server_request", fake_server_request=method))
    assert answer["id"] == "srv-1"
    assert ("result" in answer) != ("error" in answer)
    if method in ("item/tool/call", "account/chatgptAuthTokens/refresh", "attestation/generate"):
        assert answer["error"]["code"] == -32601
    else:
        assert "result" in answer  # approvals: declined


def test_an_unknown_server_request_gets_an_error_answer(fake_app_server: MakeConfig) -> None:
    answer = _answer(fake_app_server("server_request", fake_server_request="future/newThing"))
    assert answer["error"]["code"] == -32601
    assert "future/newThing" in answer["error"]["message"]


def test_a_hook_answers_its_method(fake_app_server: MakeConfig) -> None:
    seen: list[ApprovalRequest] = []

    def refresh(request: ApprovalRequest) -> dict[str, Any]:
        seen.append(request)
        return {"accessToken": "token", "chatgptAccountId": "acct"}

    config = replace(
        fake_app_server("server_request", fake_server_request="account/chatgptAuthTokens/refresh"),
        server_request_handlers={"account/chatgptAuthTokens/refresh": refresh},
    )
    answer = _answer(config)
    assert answer["result"] == {"accessToken": "token", "chatgptAccountId": "acct"}
    assert [r.method for r in seen] == ["account/chatgptAuthTokens/refresh"]


def test_a_hook_overrides_the_approval_handler(fake_app_server: MakeConfig) -> None:
    config = replace(
        fake_app_server("server_request"),
        approval_handler="decline",
        server_request_handlers={"item/commandExecution/requestApproval": lambda request: "accept"},
    )
    assert _answer(config)["result"] == {"decision": "accept"}


def test_a_failing_hook_sends_an_error(fake_app_server: MakeConfig) -> None:
    def broken(request: ApprovalRequest) -> dict[str, Any]:
        raise RuntimeError("no tokens here")

    config = replace(
        fake_app_server("server_request", fake_server_request="attestation/generate"),
        server_request_handlers={"attestation/generate": broken},
    )
    error = _answer(config)["error"]
    assert error["code"] == -32603
    assert "no tokens here" in error["message"]


async def test_an_async_hook(fake_app_server: MakeConfig) -> None:
    async def attest(request: ApprovalRequest) -> dict[str, Any]:
        return {"token": "attested"}

    config = replace(
        fake_app_server("server_request", fake_server_request="attestation/generate"),
        server_request_handlers={"attestation/generate": attest},
    )
    async with AsyncCodex(config) as codex:
        result = await (await codex.thread_start()).run("go", timeout=20)
    assert json.loads(result.final_response or "")["result"] == {"token": "attested"}


def test_a_hook_must_be_callable() -> None:
    with pytest.raises(TypeError, match="server_request_handlers"):
        CodexConfig(server_request_handlers={"item/tool/call": "accept"})  # type: ignore[dict-item]
