"""Python SDK for Codex: drive ``codex app-server`` over JSON-RPC from sync or async code.

::

    from openai_codex import Codex

    with Codex() as codex:
        thread = codex.thread_start()
        result = thread.run("Describe this project in one sentence.")
        print(result.final_response)

``import openai_codex`` is cheap: every public name is loaded on first use (PEP 562), and the generated
pydantic models (:mod:`openai_codex.types`) only when a typed value is first needed.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `from typing import TYPE_CHECKING`: importing typing alone costs ~10 ms
if TYPE_CHECKING:
    from typing import Any

    from openai_codex._async_client import (
        AsyncCodex,
        AsyncEventSubscription,
        AsyncGoalHandle,
        AsyncThread,
        AsyncTurnHandle,
    )
    from openai_codex._client import Codex, EventSubscription, GoalHandle, Thread, TurnHandle
    from openai_codex._goals import INTERRUPT_WAIT_S, GoalResult
    from openai_codex._turns import TurnResult
    from openai_codex.approvals import ApprovalDecision, ApprovalHandler, ApprovalRequest
    from openai_codex.config import CodexConfig
    from openai_codex.errors import (
        CodexError,
        IncompatibleRuntimeError,
        InternalRpcError,
        InvalidParamsError,
        InvalidRequestError,
        JsonRpcError,
        LoginError,
        MethodNotFoundError,
        OutputParseError,
        ParseError,
        RetryLimitExceededError,
        RuntimeDriftWarning,
        RuntimeNotFoundError,
        ServerBusyError,
        TransportClosedError,
        is_retryable_error,
    )
    from openai_codex.hooks import Allow, Deny, Hooks
    from openai_codex.inputs import ImageInput, Input, InputItem, LocalImageInput, MentionInput, SkillInput, TextInput
    from openai_codex.notifications import Notification
    from openai_codex.presets import ApprovalMode, Sandbox
    from openai_codex.retry import retry_on_overload, retry_on_overload_async

__all__ = [
    "INTERRUPT_WAIT_S",
    "Allow",
    "ApprovalDecision",
    "ApprovalHandler",
    "ApprovalMode",
    "ApprovalRequest",
    "AsyncCodex",
    "AsyncEventSubscription",
    "AsyncGoalHandle",
    "AsyncThread",
    "AsyncTurnHandle",
    "Codex",
    "CodexConfig",
    "CodexError",
    "Deny",
    "EventSubscription",
    "GoalHandle",
    "GoalResult",
    "Hooks",
    "ImageInput",
    "IncompatibleRuntimeError",
    "Input",
    "InputItem",
    "InternalRpcError",
    "InvalidParamsError",
    "InvalidRequestError",
    "JsonRpcError",
    "LocalImageInput",
    "LoginError",
    "MentionInput",
    "MethodNotFoundError",
    "Notification",
    "OutputParseError",
    "ParseError",
    "RetryLimitExceededError",
    "RuntimeDriftWarning",
    "RuntimeNotFoundError",
    "Sandbox",
    "ServerBusyError",
    "SkillInput",
    "TextInput",
    "Thread",
    "TransportClosedError",
    "TurnHandle",
    "TurnResult",
    "__version__",
    "is_retryable_error",
    "retry_on_overload",
    "retry_on_overload_async",
]

_HOMES = (
    "openai_codex.config",
    "openai_codex.errors",
    "openai_codex.inputs",
    "openai_codex.notifications",
    "openai_codex.presets",
    "openai_codex.approvals",
    "openai_codex.hooks",
    "openai_codex._turns",
    "openai_codex._goals",
    "openai_codex._client",
    "openai_codex._async_client",
    "openai_codex.retry",
)
"""Where the names of ``__all__`` are defined, searched in this order (lightest first, and ``_client`` before
``_async_client``: ``Codex`` alone never imports asyncio). ``__all__`` is the one list of the public names; the
``if TYPE_CHECKING`` imports say the same to type checkers, which cannot follow a lazy lookup (a test holds
the two equal)."""


def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("openai-codex")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0"


def _module(name: str) -> Any:
    return __import__(name, fromlist=["__all__"])


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _installed_version()
    elif name in __all__:
        # __import__ with a fromlist returns the submodule itself (and, unlike importlib, costs no import)
        home = next(module for module in map(_module, _HOMES) if name in module.__all__)
        value = getattr(home, name)
    else:
        raise AttributeError(f"module 'openai_codex' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
