"""Print the answer while it is being written: consume a turn's notifications as they arrive.

python streaming.py
"""

from openai_codex import Codex, CodexConfig

with Codex(CodexConfig.from_env()) as codex:
    thread = codex.thread_start()
    handle = thread.turn("Write a haiku about pipes.")
    for notification in handle.stream():
        if notification.method == "item/agentMessage/delta":
            print(notification.params["delta"], end="", flush=True)
        elif notification.method == "item/completed":
            item = notification.params["item"]
            print(f"\n[item completed: {item['type']}]")
    turn = handle.run()  # the stream has ended: returns the finished turn at once
    print(f"[turn {turn.id}: {turn.status.value}]")
