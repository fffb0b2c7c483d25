"""Named values for the settings most programs pass: the sandbox and when Codex asks for approval.

::

    from openai_codex import ApprovalMode, Codex, Sandbox

    with Codex() as codex:
        thread = codex.thread_start(sandbox=Sandbox.READ_ONLY, approval_policy=ApprovalMode.NEVER)

They are ``str`` enums whose values are the wire strings of the pinned protocol (``SandboxMode`` and
``AskForApproval`` in :mod:`openai_codex.types`; a test holds them equal), so they are accepted wherever
those are: ``thread_start`` / ``thread_resume`` / ``thread_fork`` (``sandbox``, ``approval_policy``),
``thread.turn`` / ``thread.run`` (``approval_policy``) and ``codex.rpc``. Plain strings work as before.

``ApprovalMode`` says *when* Codex asks; *what* the SDK answers is ``CodexConfig.approval_handler``, which
declines by default. (The pinned runtime has no ``on-failure`` policy, and its automatic reviewer is not an
approval policy but the separate ``approvals_reviewer`` setting.)
"""

from __future__ import annotations

from enum import Enum

__all__ = ["ApprovalMode", "Sandbox"]


class Sandbox(str, Enum):
    """Where the agent's commands may write and whether they reach the network (``sandbox=``)."""

    READ_ONLY = "read-only"
    """Commands may read anything and write nothing; no network."""
    WORKSPACE_WRITE = "workspace-write"
    """Commands may write inside the working directory (and temporary directories); no network by default."""
    DANGER_FULL_ACCESS = "danger-full-access"
    """No sandbox at all: only for an environment that is itself isolated."""

    def __str__(self) -> str:
        return self.value


class ApprovalMode(str, Enum):
    """When Codex stops to ask the client before acting (``approval_policy=``)."""

    UNTRUSTED = "untrusted"
    """Ask before any command that is not known to be safe (read-only commands run without asking)."""
    ON_REQUEST = "on-request"
    """The model decides when to ask (e.g. to run a command outside the sandbox)."""
    NEVER = "never"
    """Never ask: what the sandbox forbids fails and the model is told so."""

    def __str__(self) -> str:
        return self.value
