"""Continue a conversation later, from another process: keep the thread id, then thread_resume it.

python resume_thread.py
"""

from openai_codex import Codex, CodexConfig

config = CodexConfig.from_env()

with Codex(config) as codex:
    thread = codex.thread_start()
    thread.run("My favourite fruit is the plum. Just say OK.")
    saved_id = thread.id  # store it anywhere: threads persist in CODEX_HOME

with Codex(config) as codex:  # a fresh app-server
    thread = codex.thread_resume(saved_id)
    result = thread.run("What is my favourite fruit?")
    print(f"resumed {thread.id}: {result.final_response}")
