"""Start Codex, open a thread, run one turn, print the answer.

    python quickstart.py ["your prompt"]

Uses the bundled runtime (``openai-codex-cli-bin``) and your Codex login. Set ``OPENAI_CODEX_BIN`` to use
another ``codex`` and ``OPENAI_CODEX_CONFIG`` (a JSON array of ``key=value`` strings) to override its
configuration.
"""

import sys

from openai_codex import Codex, CodexConfig

prompt = sys.argv[1] if len(sys.argv) > 1 else "Describe this directory in one sentence."

with Codex(CodexConfig.from_env()) as codex:
    thread = codex.thread_start()
    result = thread.run(prompt)
    print(result.final_response)
    if result.usage is not None:
        print(f"[{result.status}; {result.usage.total.total_tokens} tokens; thread {thread.id}]")
