"""Decide yourself which commands Codex may run.

With ``approval_policy="untrusted"`` Codex asks before running commands; the handler below accepts
read-only commands and declines everything else. (Without a handler every request is declined.)

    python approvals.py
"""

from openai_codex import ApprovalRequest, Codex, CodexConfig

SAFE = ("ls", "cat", "git status", "git diff")


def approve(request: ApprovalRequest) -> str:
    command = request.command or ""
    decision = "accept" if command.split(" -c ")[-1].strip("'\"").startswith(SAFE) else "decline"
    print(f"[{request.method}] {command or request.params} -> {decision}")
    return decision


with Codex(CodexConfig.from_env(approval_handler=approve)) as codex:
    thread = codex.thread_start(approval_policy="untrusted", sandbox="workspace-write")
    result = thread.run("List the files here, then delete the largest one.")
    print(result.final_response)
