"""Upstream's API under upstream's names (login, account, logout, models, thread read / name / compact),
goals, and ``codex.rpc``: on the real runtime against the fake model, sync and async."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from codex_release.checks.fake_responses import FakeResponsesServer, Text
from openai_codex import AsyncCodex, Codex, CodexConfig, CodexError, InvalidRequestError, LoginError
from openai_codex._login import AsyncChatgptLogin, ChatgptLogin
from openai_codex.generated.rpc_methods import CLIENT_REQUEST_METHODS
from openai_codex.types import ModelListResponse, TurnStatus

pytestmark = pytest.mark.runtime


@pytest.fixture
def openai_config(real_config: CodexConfig, fake_model: FakeResponsesServer) -> CodexConfig:
    """The fake model's overrides but the runtime's default (OpenAI) provider, whose auth the account
    methods report. Nothing reaches the network: no turn runs with it."""
    overrides = [o for o in fake_model.config_overrides() if not o.startswith("model_provider=")]
    return replace(real_config, config_overrides=overrides)


def test_api_key_login_account_and_logout(openai_config: CodexConfig) -> None:
    with Codex(openai_config) as codex:
        assert codex.account().account is None
        codex.login_api_key("sk-test-not-a-real-key")
        account = codex.account()
        assert account.account is not None
        assert account.account.type == "apiKey"
        codex.logout()
        assert codex.account().account is None


async def test_api_key_login_account_and_logout_async(openai_config: CodexConfig) -> None:
    async with AsyncCodex(openai_config) as codex:
        await codex.login_api_key("sk-test-not-a-real-key")
        account = await codex.account()
        assert account.account is not None
        assert account.account.type == "apiKey"
        await codex.logout()
        assert (await codex.account()).account is None


def test_chatgpt_login_handle_and_cancel(openai_config: CodexConfig) -> None:
    with Codex(openai_config) as codex:
        login = codex.login_chatgpt()
        assert isinstance(login, ChatgptLogin)
        assert login.login_id
        assert login.auth_url.startswith("https://")
        assert "code_challenge=" in login.auth_url  # a real PKCE authorisation URL, served by the runtime
        with pytest.raises(TimeoutError, match=r"has not completed within 0\.2s"):
            login.wait(timeout=0.2)
        login.cancel()
        with pytest.raises(LoginError, match="did not succeed"):
            login.wait(timeout=10)
        assert codex.account().account is None  # still usable


async def test_chatgpt_login_handle_and_cancel_async(openai_config: CodexConfig) -> None:
    async with AsyncCodex(openai_config) as codex:
        login = await codex.login_chatgpt()
        assert isinstance(login, AsyncChatgptLogin)
        assert login.auth_url.startswith("https://")
        with pytest.raises(TimeoutError):
            await login.wait(timeout=0.2)
        await login.cancel()
        with pytest.raises(LoginError):
            await login.wait(timeout=10)


def test_device_code_login_fails_fast_without_a_network(openai_config: CodexConfig) -> None:
    with Codex(openai_config) as codex:
        started = time.monotonic()
        with pytest.raises(LoginError, match="device-code login could not start") as caught:
            codex.login_chatgpt_device_code()
        assert time.monotonic() - started < 10
        assert isinstance(caught.value, CodexError)
        assert codex.account().account is None  # the client stays usable
        assert codex.thread_start().id


async def test_device_code_login_fails_fast_without_a_network_async(openai_config: CodexConfig) -> None:
    async with AsyncCodex(openai_config) as codex:
        with pytest.raises(LoginError):
            await codex.login_chatgpt_device_code()
        assert (await codex.thread_start()).id


def test_models_is_model_list(real_config: CodexConfig) -> None:
    with Codex(real_config) as codex:
        models = codex.models()
        assert isinstance(models, ModelListResponse)
        assert models.data
        assert [m.id for m in models.data] == [m.id for m in codex.model_list().data]
        with pytest.raises(TypeError, match=r"(^|\.)models\(\) got an unexpected keyword argument"):
            codex.models(bogus=1)


def test_thread_read_set_name_and_compact(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    fake_model.enqueue(Text("First answer."))
    with Codex(real_config) as codex:
        thread = codex.thread_start()
        thread.run("Hello.")
        bare = thread.read()
        assert bare.id == thread.id
        assert bare.turns == []
        full = thread.read(include_turns=True)
        assert [turn.status for turn in full.turns] == [TurnStatus.completed]
        thread.set_name("Release checklist")
        assert thread.read().name == "Release checklist"
        fake_model.enqueue(Text("A summary of the conversation."))
        thread.compact()
        deadline = time.monotonic() + 10
        while len(thread.read(include_turns=True).turns) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(thread.read(include_turns=True).turns) == 2  # the compaction ran as a turn of its own


async def test_thread_read_set_name_and_compact_async(real_config: CodexConfig) -> None:
    async with AsyncCodex(real_config) as codex:
        thread = await codex.thread_start()
        await thread.run("Hello.")
        await thread.set_name("Named")
        read = await thread.read(include_turns=True)
        assert read.name == "Named"
        assert len(read.turns) == 1
        await thread.compact()


def test_goals(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    with Codex(real_config) as codex:
        thread = codex.thread_start()
        assert thread.goal() is None
        goal = thread.set_goal("Ship the release", token_budget=50_000)
        assert (goal.objective, goal.token_budget, goal.thread_id) == ("Ship the release", 50_000, thread.id)
        got = thread.goal()
        assert got is not None
        assert got.objective == "Ship the release"
        fake_model.enqueue(Text("Working on it."))
        methods = [n.method for n in thread.turn("Go.").stream()]
        assert "thread/goal/updated" in methods  # the goal's progress is part of the turn's stream
        assert thread.clear_goal() is True
        assert thread.goal() is None
        assert thread.clear_goal() is False


async def test_goals_async(real_config: CodexConfig) -> None:
    async with AsyncCodex(real_config) as codex:
        thread = await codex.thread_start()
        goal = await thread.set_goal("Tidy up")
        assert goal.token_budget is None
        assert (await thread.goal()) is not None
        handle = await thread.turn("Go.")
        methods = [n.method async for n in handle.stream()]
        assert "thread/goal/updated" in methods
        assert await thread.clear_goal()


def test_rpc_has_every_client_request_typed(real_config: CodexConfig) -> None:
    from openai_codex.generated.protocol import ModelListResponse as Generated
    from openai_codex.generated.protocol import ThreadGoalGetResponse
    from openai_codex.generated.rpc import AsyncRpc, Rpc

    for cls in (Rpc, AsyncRpc):
        names = {name for name in vars(cls) if not name.startswith("_")}
        assert len(names) == len(CLIENT_REQUEST_METHODS)
    assert "thread_goal_get" in vars(Rpc)
    assert "account_rate_limits_read" in vars(Rpc)
    with Codex(real_config) as codex:
        thread = codex.thread_start()
        assert isinstance(codex.rpc.model_list(limit=1), Generated)
        answer = codex.rpc.thread_goal_get(thread_id=thread.id)
        assert isinstance(answer, ThreadGoalGetResponse)
        assert answer.goal is None
        with pytest.raises(TypeError):
            codex.rpc.thread_goal_get(threadId=thread.id)  # type: ignore[call-arg]


def test_rpc_default_model_provider(real_config: CodexConfig, codex_home: Path) -> None:
    """``modelProvider/default/set`` (Codex 0.171.0) under upstream's name. Its schema names no result type,
    so ``codex.rpc`` returns the raw answer: the runtime's config-write answer (``ConfigWriteResponse``)."""
    from openai_codex.types import ConfigWriteResponse

    with Codex(real_config) as codex:
        assert codex.rpc.model_provider_list().default_provider_id == "mock"  # from the session's overrides
        answer = ConfigWriteResponse.model_validate(codex.rpc.model_provider_default_set(provider_id="openai"))
        assert answer.status == "okOverridden"  # written to config.toml, but the session's -c flag still wins
        assert 'model_provider = "openai"' in (codex_home / "config.toml").read_text()
        with pytest.raises(InvalidRequestError, match="not configured"):
            codex.rpc.model_provider_default_set(provider_id="no-such-provider")


async def test_rpc_async(real_config: CodexConfig) -> None:
    codex = AsyncCodex(real_config)
    try:
        thread = await codex.thread_start()
        goal = (await codex.rpc.thread_goal_set(thread_id=thread.id, objective="x", token_budget=10)).goal
        assert goal.token_budget == 10
        models = await codex.rpc.model_list()
        assert models.data
    finally:
        await codex.close()


async def test_rpc_starts_a_lazy_client(real_config: CodexConfig) -> None:
    codex = AsyncCodex(real_config)
    try:
        assert codex.runtime_version is None
        assert (await codex.rpc.model_list()).data  # the first call starts the app-server
        assert codex.runtime_version is not None
    finally:
        await codex.close()
