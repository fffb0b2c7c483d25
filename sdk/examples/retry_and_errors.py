"""Retry requests the app-server refuses while overloaded, and tell errors apart.

python retry_and_errors.py
"""

from openai_codex import (
    Codex,
    CodexConfig,
    JsonRpcError,
    RetryLimitExceededError,
    TransportClosedError,
    retry_on_overload,
)

with Codex(CodexConfig.from_env()) as codex:
    try:
        thread = retry_on_overload(codex.thread_start, max_attempts=5)
        result = thread.run("Say hi.")
        print(f"{result.status}: {result.final_response}")
    except RetryLimitExceededError as exc:
        print(f"still overloaded after {exc.attempts} attempts; try again later")
    except TransportClosedError as exc:
        print(f"codex stopped (exit code {exc.returncode}):\n{exc.stderr_tail}")
    except JsonRpcError as exc:
        print(f"request refused: {exc.code} {exc.message}")
