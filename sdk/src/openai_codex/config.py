"""``CodexConfig``: how to start ``codex app-server`` and how the client introduces itself."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openai_codex.approvals import ApprovalDecision, AsyncApprovalHandler

__all__ = ["DEFAULT_CLIENT_NAME", "ENV_CODEX_BIN", "ENV_CONFIG_OVERRIDES", "CodexConfig"]

DEFAULT_CLIENT_NAME = "openai_codex_python"


@dataclass(frozen=True)
class CodexConfig:
    """Settings for :class:`~openai_codex.Codex` and :class:`~openai_codex.AsyncCodex`.

    Attributes:
        codex_bin: the ``codex`` executable to run. Default: the one bundled in the
            ``openai-codex-cli-bin`` package (a dependency of this SDK), with its helper directory on PATH.
        config_overrides: ``key=value`` strings, each passed as ``--config key=value`` (the value is TOML,
            e.g. ``'model="gpt-5.1"'`` or ``"sandbox_mode=\\"read-only\\""``).
        env: variables merged over the caller's environment for the app-server (e.g. ``{"CODEX_HOME": "..."}``).
            The caller's environment is passed on without the variables a parent Codex sets for the
            commands it runs (:data:`openai_codex._runtime.NESTED_CODEX_VARIABLES`); ``env`` may set them
            again explicitly.
        api_key: an OpenAI API key for this client's runtime only: it signs the runtime in for the life of
            the process, in memory (``-c cli_auth_credentials_store="ephemeral"``, then
            ``account/login/start`` right after ``initialize``), so CODEX_HOME is neither read for
            credentials nor written. ``None``: whatever CODEX_HOME's login is.
        base_url: the OpenAI API base URL the runtime's built-in ``openai`` provider uses (passed as
            ``-c openai_base_url=...``), e.g. a proxy or gateway speaking the Responses API.
        cwd: working directory of the app-server process (threads default to it).
        client_name / client_title / client_version: the ``clientInfo`` sent in ``initialize`` (the
            version defaults to this SDK's version).
        approval_handler: answers approval requests: a decision (``"decline"``, the default, ``"accept"``,
            ``"accept_for_session"``, ``"cancel"``) or a callable; see :mod:`openai_codex.approvals`.
        server_request_handlers: per server-request method (``"item/tool/call"``, ...), a callable taking
            the :class:`~openai_codex.ApprovalRequest` and returning the JSON-RPC result (``dict``) or raising
            (a JSON-RPC error answer); with ``AsyncCodex`` it may be a coroutine function. Methods without
            an entry get the safe default of :data:`openai_codex.approvals.SERVER_REQUEST_DEFAULTS`.
        experimental_api: opt into the app-server's experimental methods and fields.
        max_in_flight_requests: how many requests may await their answer at once; more wait their turn
            in the client. The app-server's request queue is bounded (flooded, it answers ``-32001`` and
            may drop requests unanswered), so keep this well below its capacity (128).
        startup_timeout_s: how long start-up (spawn + ``initialize``) may take; after that the start fails
            within about half a second more, with nothing left running.
        shutdown_timeout_s: on close, how long to wait for a graceful exit (it takes well under 0.1 s)
            before terminating (then, half a second later, killing) the app-server and what it started.
        request_timeout_s: how long a request (other than a running turn, which has its own ``timeout=``)
            may wait for its answer before :class:`TimeoutError`; ``None`` waits as long as it takes.
    """

    codex_bin: str | os.PathLike[str] | None = None
    config_overrides: Sequence[str] = ()
    env: Mapping[str, str] | None = None
    cwd: str | os.PathLike[str] | None = None
    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    client_name: str = DEFAULT_CLIENT_NAME
    client_title: str | None = None
    client_version: str | None = None
    approval_handler: ApprovalDecision | AsyncApprovalHandler = "decline"
    server_request_handlers: Mapping[str, AsyncApprovalHandler] = field(default_factory=dict)
    experimental_api: bool = False
    max_in_flight_requests: int = 32
    startup_timeout_s: float = 60.0
    shutdown_timeout_s: float = 1.0
    request_timeout_s: float | None = 300.0

    def __post_init__(self) -> None:
        if isinstance(self.config_overrides, (str, bytes)):
            raise TypeError(
                "config_overrides must be a sequence of 'key=value' strings, not a single string: "
                f"use config_overrides=[{self.config_overrides!r}]"
            )
        overrides = tuple(self.config_overrides)
        for override in overrides:
            if not isinstance(override, str) or "=" not in override or not override.split("=", 1)[0].strip():
                raise ValueError(f"config override {override!r} is not of the form 'key=value' (e.g. 'model=\"o3\"')")
        object.__setattr__(self, "config_overrides", overrides)
        if self.env is not None:
            bad = [k for k, v in self.env.items() if not isinstance(k, str) or not isinstance(v, str)]
            if bad:
                raise TypeError(f"env values must be strings; fix the entries {bad!r}")
            object.__setattr__(self, "env", dict(self.env))
        for name in ("api_key", "base_url"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValueError(f"{name} must be a non-empty string (or None), got {value!r}")
        if isinstance(self.approval_handler, str):
            from openai_codex.approvals import DECISIONS

            if self.approval_handler not in DECISIONS:
                raise ValueError(
                    f"approval_handler {self.approval_handler!r} is not one of {sorted(DECISIONS)} or a callable"
                )
        elif not callable(self.approval_handler):
            raise TypeError("approval_handler must be a decision string or a callable taking an ApprovalRequest")
        handlers = dict(self.server_request_handlers)
        for method, handler in handlers.items():
            if not isinstance(method, str) or not callable(handler):
                raise TypeError(f"server_request_handlers[{method!r}] must be a callable taking an ApprovalRequest")
        object.__setattr__(self, "server_request_handlers", handlers)
        if isinstance(self.max_in_flight_requests, bool) or self.max_in_flight_requests < 1:
            raise ValueError(f"max_in_flight_requests must be >= 1, got {self.max_in_flight_requests!r}")
        if self.startup_timeout_s <= 0 or self.shutdown_timeout_s < 0:
            raise ValueError("startup_timeout_s must be > 0 and shutdown_timeout_s >= 0")
        if self.request_timeout_s is not None and self.request_timeout_s <= 0:
            raise ValueError("request_timeout_s must be > 0 (or None: no limit)")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **fields: Any) -> CodexConfig:
        """A config whose ``codex_bin`` and ``config_overrides`` may come from the environment.

        * ``OPENAI_CODEX_BIN``: the codex executable (default: the bundled one);
        * ``OPENAI_CODEX_CONFIG``: a JSON array of ``key=value`` override strings, e.g.
          ``'["model=\\"gpt-5.1\\"", "model_reasoning_effort=\\"high\\""]'``.

        Keyword arguments set any field and win over the environment. With neither set this is
        ``CodexConfig()``. (``CODEX_HOME`` and other variables codex reads itself need nothing here: the
        app-server inherits the environment.)
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        if env.get(ENV_CODEX_BIN):
            values["codex_bin"] = env[ENV_CODEX_BIN]
        raw = env.get(ENV_CONFIG_OVERRIDES)
        if raw:
            try:
                overrides = json.loads(raw)
            except ValueError as exc:
                raise ValueError(f"{ENV_CONFIG_OVERRIDES} is not valid JSON ({exc}): {_ENV_FORMAT}") from None
            if not isinstance(overrides, list) or not all(isinstance(item, str) for item in overrides):
                raise ValueError(f"{ENV_CONFIG_OVERRIDES} must be a JSON array of strings: {_ENV_FORMAT}")
            values["config_overrides"] = overrides
        return cls(**{**values, **fields})


ENV_CODEX_BIN = "OPENAI_CODEX_BIN"
ENV_CONFIG_OVERRIDES = "OPENAI_CODEX_CONFIG"
_ENV_FORMAT = 'e.g. OPENAI_CODEX_CONFIG=\'["model=\\"gpt-5.1\\""]\''
