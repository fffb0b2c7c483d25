"""Exceptions raised by the SDK (all re-exported from :mod:`openai_codex`).

Hierarchy::

    CodexError
    ├── RuntimeNotFoundError        the codex executable cannot be found or run (constructor)
    ├── IncompatibleRuntimeError    the app-server is too old or does not speak this protocol (constructor)
    ├── TransportClosedError        the app-server exited or closed its output (exit code + stderr tail)
    ├── LoginError                  a login could not start or did not succeed (the client stays usable)
    └── JsonRpcError(code, message, data)
        ├── ParseError              -32700
        ├── InvalidRequestError     -32600
        ├── MethodNotFoundError     -32601
        ├── InvalidParamsError      -32602
        ├── InternalRpcError        -32603
        ├── ServerBusyError         -32001 "Server overloaded; retry later." (retryable)
        └── RetryLimitExceededError retry_on_overload gave up after max_attempts
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "OVERLOADED_ERROR_CODE",
    "CodexError",
    "IncompatibleRuntimeError",
    "InternalRpcError",
    "InvalidParamsError",
    "InvalidRequestError",
    "JsonRpcError",
    "LoginError",
    "MethodNotFoundError",
    "OutputParseError",
    "ParseError",
    "RetryLimitExceededError",
    "RuntimeDriftWarning",
    "RuntimeNotFoundError",
    "ServerBusyError",
    "TransportClosedError",
    "is_retryable_error",
    "jsonrpc_error",
]

OVERLOADED_ERROR_CODE = -32001
"""The JSON-RPC error code ``codex app-server`` answers with when its bounded request queue is full."""


class CodexError(Exception):
    """Base class of every error raised by this SDK."""


class RuntimeNotFoundError(CodexError, FileNotFoundError):
    """The ``codex`` executable cannot be found or is not executable.

    Raised by the constructors of :class:`~openai_codex.Codex` / :class:`~openai_codex.AsyncCodex`; the
    message names the path (or the missing ``openai-codex-cli-bin`` package) and how to fix it.
    """


class IncompatibleRuntimeError(CodexError):
    """The app-server is older than this SDK supports, or answered ``initialize`` in an unknown way."""

    def __init__(self, message: str, *, found: str | None = None, required: str | None = None) -> None:
        super().__init__(message)
        self.found = found
        self.required = required


class RuntimeDriftWarning(UserWarning):
    """The running ``codex`` is not the version this SDK pins (via ``codex_bin`` or ``OPENAI_CODEX_BIN``):
    warned once per version. A runtime too old to work raises :class:`IncompatibleRuntimeError` instead."""


class LoginError(CodexError):
    """A login could not start (e.g. the device-code flow needs a network this machine lacks) or ended
    without success. The client stays usable."""


class OutputParseError(CodexError, ValueError):
    """``TurnResult.parsed`` could not turn the final message into the ``output_schema``'s value: the message
    says why (the validation errors), ``raw_text`` is the message as the model wrote it (``None`` when the
    turn produced none), ``errors`` pydantic's error list (empty when the text was not JSON at all)."""

    def __init__(self, message: str, *, raw_text: str | None, errors: list[Any] | None = None) -> None:
        super().__init__(message)
        self.raw_text = raw_text
        self.errors = errors or []


class TransportClosedError(CodexError):
    """The app-server process exited or closed its output while the SDK still needed it.

    ``returncode`` is the process exit code (``None`` if it was still running), ``stderr_tail`` the last
    lines it wrote to stderr: both are part of the message.
    """

    def __init__(self, message: str, *, returncode: int | None = None, stderr_tail: str = "") -> None:
        super().__init__(message)
        self.returncode = returncode
        self.stderr_tail = stderr_tail


class JsonRpcError(CodexError):
    """The app-server answered a request with a JSON-RPC error object."""

    def __init__(self, code: int, message: str, data: Any = None, *, method: str | None = None) -> None:
        where = f" ({method})" if method else ""
        super().__init__(f"JSON-RPC error {code}{where}: {message}")
        self.code = code
        self.message = message
        self.data = data
        self.method = method

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.code, self.message, self.data, self.method))


def _rebuild(cls: type[JsonRpcError], code: int, message: str, data: Any, method: str | None) -> JsonRpcError:
    return cls(code, message, data, method=method)


class ParseError(JsonRpcError):
    """-32700: the server could not parse what it received."""


class InvalidRequestError(JsonRpcError):
    """-32600: the request was not valid (the app-server also uses it for unknown methods and bad params)."""


class MethodNotFoundError(JsonRpcError):
    """-32601: the method does not exist."""


class InvalidParamsError(JsonRpcError):
    """-32602: the parameters were not valid."""


class InternalRpcError(JsonRpcError):
    """-32603: the server failed internally."""


class ServerBusyError(JsonRpcError):
    """-32001 ``Server overloaded; retry later.``: the request was not admitted; retrying later is safe."""


class RetryLimitExceededError(JsonRpcError):
    """:func:`~openai_codex.retry_on_overload` gave up: every attempt was answered with an overload error.

    ``attempts`` is how many were made; ``last_error`` (also ``__cause__``) is the final
    :class:`ServerBusyError`.
    """

    def __init__(
        self,
        code: int,
        message: str,
        data: Any = None,
        *,
        method: str | None = None,
        attempts: int = 0,
        last_error: BaseException | None = None,
    ) -> None:
        super().__init__(code, message, data, method=method)
        self.attempts = attempts
        self.last_error = last_error


_BY_CODE: dict[int, type[JsonRpcError]] = {
    -32700: ParseError,
    -32600: InvalidRequestError,
    -32601: MethodNotFoundError,
    -32602: InvalidParamsError,
    -32603: InternalRpcError,
    OVERLOADED_ERROR_CODE: ServerBusyError,
}


def jsonrpc_error(code: int, message: str, data: Any = None, *, method: str | None = None) -> JsonRpcError:
    """The typed :class:`JsonRpcError` subclass for a wire error object."""
    cls = _BY_CODE.get(code, JsonRpcError)
    return cls(code, message, data, method=method)


def is_retryable_error(exc: BaseException) -> bool:
    """True for errors that :func:`~openai_codex.retry_on_overload` retries (server overload only)."""
    return isinstance(exc, ServerBusyError)
